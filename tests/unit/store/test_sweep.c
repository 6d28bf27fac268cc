/* Unit tests for store_sweep on the engine AUTHD_TEST_ENGINE names:
 * expired sessions (idle or absolute) and logins are deleted, live ones
 * kept, and small budgets go on slice after slice until everything
 * expired is gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lmdb-internal.h"
#include <stdlib.h>
#include "unit_store.h"

#define N 50

/* The key of throttle subjects (a server secret in authd). */
static const uint8_t unit_hkey[32] = {1, 2, 3};

/* Record i belongs to account i % 3. */
static struct token_ref ref_of(int i)
{
	struct token_ref ref;

	memset(&ref, 0, sizeof(ref));
	ref.account_id[0] = (uint8_t)(i % 3);
	ref.hash[0] = (uint8_t)i;
	return ref;
}

static int fill(struct store_txn *txn, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; i < N && rc == 0; i++) {
		struct token_ref ref = ref_of(i);
		struct session s;
		struct login l;

		memset(&s, 0, sizeof(s));
		memcpy(s.account_id, ref.account_id, AUTHD_ID_LEN);
		s.created_at = 0;
		/* Even: idle since t=0 (expired at 1000); odd: seen at 900. */
		s.last_seen = i % 2 ? 900 : 0;
		s.expires_at = i % 5 == 1 ? 950 : 100000; /* some absolute ends */
		rc = store_session_put(txn, &ref, &s);
		memset(&l, 0, sizeof(l));
		memcpy(l.account_id, ref.account_id, AUTHD_ID_LEN);
		l.expires_at = i % 2 ? 2000 : 500;
		if (rc == 0)
			rc = store_login_put(txn, &ref, &l);
	}
	/* The accounts' TOTP credentials, which never expire. */
	for (int i = 0; i < 3 && rc == 0; i++) {
		struct totp_rec t;
		struct token_ref ref = ref_of(i);

		memset(&t, 0, sizeof(t));
		t.enabled = true;
		rc = store_totp_put(txn, ref.account_id, &t);
	}
	/* Throttle histories: one quiet for over an hour, one recent. */
	for (int i = 0; i < 2 && rc == 0; i++) {
		uint8_t tkey[THROTTLE_KEY_LEN];
		struct throttle_rec t;

		memset(&t, 0, sizeof(t));
		throttle_record_failure(&t, &throttle_account_policy, i ? 4990 : 1);
		throttle_key_email(tkey, unit_hkey, i ? "recent@example.com" : "old@example.com");
		rc = store_throttle_put(txn, tkey, &t);
	}
	return rc;
}

struct slice {
	int64_t now;
	size_t budget, deleted;
	struct store_sweep_pos pos;
};

static int run_slice(struct store_txn *txn, void *arg)
{
	struct slice *s = arg;
	struct store_sweep_pos next;
	int rc;

	s->deleted = 0;
	rc = store_sweep(txn, s->now, 1000, s->budget, &s->pos, &next, &s->deleted);

	if (rc == 0)
		s->pos = next;
	return rc;
}

/* How many of the N sessions (or logins) are left. */
struct counts {
	int sessions, logins, totps;
	int bad; /* a getter answered neither 0 nor STORE_E_NOTFOUND */
};

static int count_txn(struct store_txn *txn, void *arg)
{
	struct counts *c = arg;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < N; i++) {
		struct token_ref ref = ref_of(i);
		struct session s;
		struct login l;
		int rs = store_session_get(txn, &ref, &s);
		int rl = store_login_get(txn, &ref, &l);

		c->bad += (rs != 0 && rs != STORE_E_NOTFOUND) + (rl != 0 && rl != STORE_E_NOTFOUND);
		c->sessions += rs == 0;
		c->logins += rl == 0;
	}
	for (int i = 0; i < 3; i++) {
		struct token_ref ref = ref_of(i);
		struct totp_rec t;

		c->totps += store_totp_get(txn, ref.account_id, &t) == 0;
	}
	return 0;
}

/* How many of the N sessions (or logins) are left. */
static int count(enum cluster_kind kind)
{
	struct counts c;

	assert_int_equal(unit_read(count_txn, &c), 0);
	assert_int_equal(c.bad, 0);
	return kind == KIND_SESSION ? c.sessions : c.logins;
}

static int count_totp(void)
{
	struct counts c;

	assert_int_equal(unit_read(count_txn, &c), 0);
	return c.totps;
}

/* LMDB only: the throttle record under key is gone from its database
 * (0), not merely empty. */
static int lmdb_throttle_missing(struct store_txn *txn, void *key)
{
	MDB_val v;

	return lmdb_get(lmdb_of(txn), DB_THROTTLE, key, THROTTLE_KEY_LEN, &v) == STORE_E_NOTFOUND
		   ? 0
		   : STORE_E_IO;
}

static void test_sweep(void **state)
{
	struct slice s = {.now = 1000, .budget = 7};
	size_t total = 0;

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(fill, NULL), 0);
	assert_int_equal(count(KIND_SESSION), N);
	assert_int_equal(count(KIND_LOGIN), N);
	/* Small slices: each looks at 7 of each kind; repeat until a full
	 * pass finds nothing more. */
	for (int pass = 0; pass < 40; pass++) {
		assert_int_equal(unit_write(run_slice, &s), 0);
		total += s.deleted;
	}
	/* Sessions kept: odd i (seen at 900, idle until 1900) unless their
	 * absolute end (i % 5 == 1) passed. Logins kept: odd i. */
	int live = 0;
	for (int i = 0; i < N; i++)
		live += (i % 2 == 1 && i % 5 != 1);
	assert_int_equal(count(KIND_SESSION), live);
	assert_int_equal(count(KIND_LOGIN), N / 2);
	assert_int_equal(count_totp(), 3);
	assert_int_equal(total, (size_t)(N - live) + N / 2);
	/* An hour later the first throttle history is dead, the other not. */
	s.now = 5000;
	assert_int_equal(unit_write(run_slice, &s), 0);
	{
		uint8_t tkey[THROTTLE_KEY_LEN];
		struct throttle_rec t;
		char out[32];

		throttle_key_email(tkey, unit_hkey, "old@example.com");
		assert_int_equal(unit_get(UNIT_THROTTLE, tkey, &t), 0);
		assert_int_equal(t.count, 0); /* reads as no history: gone */
		if (unit_engine == STORE_ENGINE_LMDB) {
			assert_int_equal(unit_read(lmdb_throttle_missing, tkey), 0);
		} else {
			assert_int_equal(
			    unit_sql("SELECT count(*) FROM throttles", out, sizeof(out)), 0);
			assert_string_equal(out, "1");
		}
		throttle_key_email(tkey, unit_hkey, "recent@example.com");
		assert_int_equal(unit_get(UNIT_THROTTLE, tkey, &t), 0);
		assert_int_equal(t.consecutive, 1);
	}
	unit_store_close();
}

/* --- identity-verification cases ------------------------------------------------ */

struct case_arg {
	struct case_rec c;
	int doc_rc[2];
	size_t listed;
	uint8_t doc[3];
};

static int case_fill(struct store_txn *txn, void *arg)
{
	struct case_arg *a = arg;
	static const uint8_t bytes[3] = {7, 8, 9};
	int rc;

	/* Documents uploaded at 100 and 200. */
	if ((rc = recovery_case_doc_add(&a->c, 3, "image/png", 100)) != 0 ||
	    (rc = recovery_case_doc_add(&a->c, 3, "application/pdf", 200)) != 1)
		return STORE_E_IO;
	if ((rc = store_doc_put(txn, a->c.id, 0, 100, bytes, 3)) != 0 ||
	    (rc = store_doc_put(txn, a->c.id, 1, 200, bytes, 3)) != 0)
		return rc;
	return store_case_put(txn, &a->c);
}

static int listed_one(void *arg, const struct case_rec *c)
{
	struct case_arg *a = arg;

	if (memcmp(c, &a->c, sizeof(*c)) == 0)
		a->listed++;
	return 0;
}

static int case_look(struct store_txn *txn, void *arg)
{
	struct case_arg *a = arg;
	struct case_rec back;
	int rc = store_case_get(txn, a->c.id, &back);

	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	a->listed = 0;
	if (rc == 0 && memcmp(&back, &a->c, sizeof(back)) != 0)
		return STORE_E_CORRUPT; /* not as it went in */
	for (unsigned n = 0; n < 2; n++) {
		uint8_t *doc = NULL;
		size_t len = 0;

		a->doc_rc[n] = store_doc_get(txn, a->c.id, n, &doc, &len);
		if (a->doc_rc[n] == 0 && (len != 3 || doc[2] != 9))
			a->doc_rc[n] = STORE_E_CORRUPT;
		free(doc);
	}
	return store_cases_list(txn, true, 10, listed_one, a);
}

static int case_decide(struct store_txn *txn, void *arg)
{
	struct case_arg *a = arg;
	uint8_t reviewer[AUTHD_ID_LEN] = {5};
	int rc;

	if (recovery_case_decide(&a->c, false, reviewer, "unreadable", 300) != RECOVERY_OK)
		return STORE_E_IO;
	if ((rc = store_docs_del(txn, a->c.id)) != 0)
		return rc;
	return store_case_put(txn, &a->c);
}

/* A case and its documents come back as they went in; the sweeper deletes
 * a document CASE_DOC_KEEP_S after its upload, and a decided case (with
 * anything left of it) CASE_KEEP_S after its decision; deciding deletes
 * the documents at once. */
static void test_cases(void **state)
{
	struct case_arg a;
	struct slice s = {.budget = 10};
	uint8_t id[AUTHD_ID_LEN] = {0xca, 0x5e}, account[AUTHD_ID_LEN] = {1},
		token[AUTHD_HASH_LEN] = {2};

	(void)state;
	unit_store_open();
	memset(&a, 0, sizeof(a));
	recovery_case_open(&a.c, id, account, CASE_PASSWORD, token, "ann@example.com",
			   "ann.private@example.org", "Ann, born 1980 \"quoted\"", 50);
	assert_int_equal(unit_write(case_fill, &a), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.doc_rc[0], 0);
	assert_int_equal(a.doc_rc[1], 0);
	assert_int_equal(a.listed, 1);
	/* 72 hours after the first upload: that one goes, the other stays. */
	s.now = 100 + CASE_DOC_KEEP_S - 1;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.doc_rc[0], 0);
	s.now = 100 + CASE_DOC_KEEP_S;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.doc_rc[0], STORE_E_NOTFOUND);
	assert_int_equal(a.doc_rc[1], 0);
	/* Decided: the rest goes with the decision; the record stays a while. */
	assert_int_equal(unit_write(case_decide, &a), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.doc_rc[1], STORE_E_NOTFOUND);
	assert_int_equal(a.listed, 1);
	s.now = 300 + CASE_KEEP_S - 1;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.listed, 1);
	s.now = 300 + CASE_KEEP_S;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.listed, 0);
	/* A case nobody decides goes 30 days after it was opened. */
	id[0] = 0xcb;
	recovery_case_open(&a.c, id, account, CASE_UNLOCK, token, "bob@example.com",
			   "bob@example.org", "", s.now);
	assert_int_equal(unit_write(case_fill, &a), 0);
	s.now += CASE_OPEN_KEEP_S - 1;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.listed, 1);
	s.now += 1;
	assert_int_equal(unit_write(run_slice, &s), 0);
	assert_int_equal(unit_read(case_look, &a), 0);
	assert_int_equal(a.listed, 0);
	unit_store_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
