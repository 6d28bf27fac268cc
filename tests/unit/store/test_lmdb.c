/* Unit tests for authd/store.c's layout marker: a new environment gets this
 * authd's layout, which it then opens again; data of another layout, or
 * accounts without a marker, make store_open refuse rather than misread;
 * layout 3 (security events in a database of their own) is upgraded, its
 * events moved into their accounts' clusters. */
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

/* Layout 3 as it was: an event keyed account || time || 4 bytes in
 * DB_EVENTS, and the marker 3. */
static int put_layout_3(struct store_txn *txn, void *arg)
{
	static const uint8_t three[4] = {3, 0, 0, 0};
	uint8_t key[AUTHD_ID_LEN + 8 + 4] = {0}, val[4 + 9] = {1, 0, EVENT_TOTP_ENABLED, 9};
	int rc;

	(void)arg;
	memset(key, 0x22, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN + 7] = 100; /* at 100 */
	key[AUTHD_ID_LEN + 11] = 7;  /* its 4 random bytes */
	memcpy(val + 4, "192.0.2.9", 9);
	if ((rc = lmdb_put(lmdb_of(txn), DB_EVENTS, key, sizeof(key), val, sizeof(val))) != 0)
		return rc;
	return lmdb_put(lmdb_of(txn), DB_META, "format", 6, three, sizeof(three));
}

struct listed {
	size_t n;
	struct security_event e;
	uint64_t left;
};

static int one_event(void *arg, const struct security_event *e)
{
	struct listed *l = arg;

	l->n++;
	l->e = *e;
	return 0;
}

static int list_22(struct store_txn *txn, void *arg)
{
	struct listed *l = arg;
	uint8_t id[AUTHD_ID_LEN];
	MDB_stat st;

	memset(id, 0x22, sizeof(id));
	if (mdb_stat(lmdb_of(txn), lmdb_dbi(DB_EVENTS), &st) != 0)
		return STORE_E_IO;
	l->left = st.ms_entries;
	return store_events_list(txn, id, NULL, 10, one_event, l);
}

static void test_upgrades_layout_3(void **state)
{
	struct listed l = {0};

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_layout_3, NULL), 0);
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	assert_int_equal(unit_read(list_22, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.left, 0);
	assert_int_equal(l.e.at, 100);
	assert_int_equal(l.e.kind, EVENT_TOTP_ENABLED);
	assert_string_equal(l.e.ip, "192.0.2.9");
	assert_int_equal(l.e.seq, 7);
	/* And it is layout 4 now: it opens again as it is. */
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	unit_store_close();
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
	    cmocka_unit_test(test_upgrades_layout_3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
