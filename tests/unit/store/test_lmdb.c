/* Unit tests for authd/store.c's layout marker: a new environment gets this
 * authd's layout, which it then opens again; data of another layout, or
 * accounts without a marker, make store_open refuse rather than misread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lmdb-internal.h"
#include "unit_store.h"

static int put_foreign_layout(struct store_txn *txn, void *arg)
{
	static const uint8_t other[4] = {1, 0, 0, 0};

	(void)arg;
	return lmdb_put(lmdb_of(txn), DB_META, "format", 6, other, sizeof(other));
}

static int put_account_without_marker(struct store_txn *txn, void *arg)
{
	struct account a;
	int rc;

	(void)arg;
	memset(&a, 0, sizeof(a));
	memset(a.id, 0x11, AUTHD_ID_LEN);
	snprintf(a.email, sizeof(a.email), "ann@example.com");
	if ((rc = store_account_put(txn, &a)) != 0)
		return rc;
	return lmdb_del(lmdb_of(txn), DB_META, "format", 6);
}

static void test_reopen_own_layout(void **state)
{
	(void)state;
	unit_store_open();
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	unit_store_close();
}

static void test_refuses_foreign_layout(void **state)
{
	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_foreign_layout, NULL), 0);
	store_close();
	assert_int_equal(unit_store_reopen(), -1);
	unit_store_close();
}

static void test_refuses_accounts_without_marker(void **state)
{
	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_account_without_marker, NULL), 0);
	store_close();
	assert_int_equal(unit_store_reopen(), -1);
	unit_store_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reopen_own_layout),
	    cmocka_unit_test(test_refuses_foreign_layout),
	    cmocka_unit_test(test_refuses_accounts_without_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
