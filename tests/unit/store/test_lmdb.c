/* Unit tests for authd/store.c's layout marker: a new environment gets this
 * authd's layout, which it then opens again; data of another layout, or
 * accounts without a marker, make store_open refuse rather than misread;
 * layout 3 (security events in a database of their own) is upgraded, its
 * events moved into their accounts' clusters; layout 4 (an account's
 * memberships found by walking them all) gets its index by account. */
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

/* Layout 4 as it was: memberships with no index entry, and the marker 4. */
static int put_layout_4(struct store_txn *txn, void *arg)
{
	static const uint8_t four[4] = {4, 0, 0, 0};
	struct member m = {.role = ROLE_COLLABORATOR, .since = 5};
	int rc = 0;

	(void)arg;
	for (int org = 1; rc == 0 && org <= 3; org++)
		for (int acc = 0x31; rc == 0 && acc <= 0x32; acc++) {
			uint8_t key[2 * AUTHD_ID_LEN];

			memset(m.org_id, org, AUTHD_ID_LEN);
			memset(m.account_id, acc, AUTHD_ID_LEN);
			memcpy(key, m.account_id, AUTHD_ID_LEN);
			memcpy(key + AUTHD_ID_LEN, m.org_id, AUTHD_ID_LEN);
			if ((rc = store_member_put(txn, &m)) == 0)
				rc = lmdb_del(lmdb_of(txn), DB_ACCOUNT_ORGS, key, sizeof(key));
		}
	if (rc != 0)
		return rc;
	return lmdb_put(lmdb_of(txn), DB_META, "format", 6, four, sizeof(four));
}

struct orgs_of {
	size_t n;
	uint8_t last_org;
};

static int org_of_one(void *arg, const struct member *m)
{
	struct orgs_of *o = arg;

	o->n++;
	o->last_org = m->org_id[0];
	return m->account_id[0] == 0x31 && m->role == ROLE_COLLABORATOR ? 0 : STORE_E_CORRUPT;
}

static int list_31(struct store_txn *txn, void *arg)
{
	uint8_t id[AUTHD_ID_LEN];

	memset(id, 0x31, sizeof(id));
	return store_memberships_list(txn, id, org_of_one, arg);
}

static int leave_org_2(struct store_txn *txn, void *arg)
{
	uint8_t org[AUTHD_ID_LEN], id[AUTHD_ID_LEN];

	(void)arg;
	memset(org, 2, sizeof(org));
	memset(id, 0x31, sizeof(id));
	return store_member_del(txn, org, id);
}

static void test_upgrades_layout_4(void **state)
{
	struct orgs_of o = {0};

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_layout_4, NULL), 0);
	assert_int_equal(unit_read(list_31, &o), 0);
	assert_int_equal(o.n, 0); /* no index yet */
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	assert_int_equal(unit_read(list_31, &o), 0);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.last_org, 3);
	/* Kept with each change. */
	assert_int_equal(store_start(), 0);
	assert_int_equal(unit_write(leave_org_2, NULL), 0);
	o.n = 0;
	assert_int_equal(unit_read(list_31, &o), 0);
	assert_int_equal(o.n, 2);
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	unit_store_close();
}

/* Layout 5 as it was: products (one without expiry) with no entry in the
 * scheduler's index, and the marker 5. */
static int put_layout_5(struct store_txn *txn, void *arg)
{
	static const uint8_t five[4] = {5, 0, 0, 0};
	struct product p = {.kind = PRODUCT_MAIL, .renewal_months = 12, .name = "p"};
	int rc = 0;

	(void)arg;
	memset(p.org_id, 7, AUTHD_ID_LEN);
	for (int i = 0; rc == 0 && i < 3; i++) {
		uint8_t key[8 + 2 * AUTHD_ID_LEN];

		memset(p.id, 0x40 + i, AUTHD_ID_LEN);
		p.expires_at = i == 0 ? 0 : 1000 * i;
		authd_put_be64(key, (uint64_t)p.expires_at);
		memcpy(key + 8, p.org_id, AUTHD_ID_LEN);
		memcpy(key + 8 + AUTHD_ID_LEN, p.id, AUTHD_ID_LEN);
		if ((rc = store_product_put(txn, &p)) == 0 && p.expires_at)
			rc = lmdb_del(lmdb_of(txn), DB_PRODUCT_DUE, key, sizeof(key));
	}
	if (rc != 0)
		return rc;
	return lmdb_put(lmdb_of(txn), DB_META, "format", 6, five, sizeof(five));
}

static int due_one(void *arg, const struct product *p)
{
	int64_t *last = arg;

	if (p->expires_at <= *last)
		return STORE_E_CORRUPT; /* in the order of expiry */
	*last = p->expires_at;
	return 0;
}

static int due_walk(struct store_txn *txn, void *arg)
{
	int64_t *last = arg;

	*last = 0;
	return store_products_due(txn, 5000, NULL, 10, due_one, last);
}

static void test_upgrades_layout_5(void **state)
{
	int64_t last = 0;

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_layout_5, NULL), 0);
	assert_int_equal(unit_read(due_walk, &last), 0);
	assert_int_equal(last, 0); /* no index yet */
	store_close();
	assert_int_equal(unit_store_reopen(), 0);
	assert_int_equal(unit_read(due_walk, &last), 0);
	assert_int_equal(last, 2000); /* both with an expiry, in its order */
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
	    cmocka_unit_test(test_upgrades_layout_4),
	    cmocka_unit_test(test_upgrades_layout_5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
