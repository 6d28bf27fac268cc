/* Unit tests for the PostgreSQL engine alone (store/pg/), on a server of
 * its own (the postgresql_private fixture: these tests stop and restart
 * it): the schema version check and migration, a failed statement ending
 * its transaction, one sweeper at a time, and a server that goes away and
 * comes back while the store stays open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "unit_store.h"

/* A new database without a schema; unit_url and unit_db name it. */
static void new_database(void)
{
	unit_engine = STORE_ENGINE_POSTGRESQL;
	assert_int_equal(unit_harness("createdb", unit_url, sizeof(unit_url)), 0);
	snprintf(unit_db, sizeof(unit_db), "%s", strrchr(unit_url, '/') + 1);
}

static void drop_database(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "dropdb '%s'", unit_db);
	assert_int_equal(unit_harness(cmd, NULL, 0), 0);
}

static void test_schema_versions(void **state)
{
	struct store_options o;
	char out[64];

	(void)state;
	new_database();
	unit_options(&o);
	assert_int_equal(store_open(&o), -1); /* no schema yet */
	assert_int_equal(store_migrate(&o), 0);
	assert_int_equal(store_migrate(&o), 0); /* nothing left to do */
	assert_int_equal(
	    unit_sql("SELECT count(*) || ' ' || max(version) FROM authd_schema", out, sizeof(out)),
	    0);
	assert_string_equal(out, "1 16");
	assert_int_equal(store_open(&o), 0);
	store_close();
	/* A schema of another version is refused, and not migrated down. */
	assert_int_equal(unit_sql("UPDATE authd_schema SET version = 17", NULL, 0), 0);
	assert_int_equal(store_open(&o), -1);
	assert_int_equal(store_migrate(&o), -1);
	/* A version 1 schema (as before devices) is refused, then upgraded. */
	assert_int_equal(
	    unit_sql("DROP TABLE devices; DROP TABLE device_links; DROP TABLE push_challenges; "
		     "DROP TABLE push_accounts; DROP TABLE outbox; DROP TABLE known_places; "
		     "DROP TABLE recovery; DROP TABLE verification_cases; DROP TABLE "
		     "verification_documents; DROP TABLE org_audit; DROP TABLE invitations; DROP "
		     "TABLE api_tokens; DROP TABLE products; DROP TABLE grants; "
		     "DROP TABLE teams; DROP TABLE team_members; DROP TABLE partners; "
		     "DROP TABLE support_grants; DROP TABLE billing_addresses; "
		     "DROP TABLE billing_balances; DROP TABLE ledger; DROP TABLE payments; "
		     "DROP TABLE invoices; DROP SEQUENCE seq_invoice; DROP TABLE vouchers; "
		     "DROP TABLE settings; "
		     "ALTER TABLE memberships DROP COLUMN rights, DROP COLUMN contacts, "
		     "DROP COLUMN since; "
		     "ALTER TABLE accounts DROP COLUMN locked_at; "
		     "ALTER TABLE sessions DROP COLUMN ip, DROP COLUMN browser, DROP COLUMN flags; "
		     "ALTER TABLE security_events DROP COLUMN method, DROP COLUMN outcome, "
		     "DROP COLUMN browser; DROP INDEX security_events_at; "
		     "UPDATE authd_schema SET version = 1",
		     NULL, 0),
	    0);
	assert_int_equal(store_open(&o), -1);
	assert_int_equal(store_migrate(&o), 0);
	assert_int_equal(
	    unit_sql("SELECT count(*) || ' ' || max(version) FROM authd_schema", out, sizeof(out)),
	    0);
	assert_string_equal(out, "1 16");
	assert_int_equal(unit_sql("SELECT count(*) FROM devices, device_links, push_challenges, "
				  "push_accounts, outbox, known_places, recovery",
				  out, sizeof(out)),
			 0);
	assert_string_equal(out, "0");
	/* Version 4 gave devices their wake token. */
	assert_int_equal(unit_sql("SELECT count(*) FROM information_schema.columns WHERE "
				  "table_name = 'devices' AND column_name = 'wake_token'",
				  out, sizeof(out)),
			 0);
	assert_string_equal(out, "1");
	assert_int_equal(store_open(&o), 0);
	store_close();
	/* Version 8: a token of version 7 was made by its account. */
	assert_int_equal(
	    unit_sql("ALTER TABLE api_tokens DROP COLUMN created_by; DROP TABLE support_grants; "
		     "DROP TABLE billing_addresses; DROP TABLE billing_balances; DROP TABLE "
		     "ledger; DROP TABLE payments; DROP TABLE invoices; DROP SEQUENCE seq_invoice; "
		     "DROP TABLE vouchers; DROP TABLE settings; DROP INDEX products_due; ALTER "
		     "TABLE products DROP "
		     "COLUMN renew_tried, DROP "
		     "COLUMN blocked_at, DROP COLUMN "
		     "renewal_months, DROP COLUMN auto_renew; INSERT INTO api_tokens "
		     "VALUES (sha256('t'), '\\x01', '\\xaa', '\\xbb', 'n', 1, 0, 0, 0, 0, 0, "
		     "''); UPDATE authd_schema SET version = 7",
		     NULL, 0),
	    0);
	assert_int_equal(store_open(&o), -1);
	assert_int_equal(store_migrate(&o), 0);
	assert_int_equal(
	    unit_sql("SELECT encode(created_by, 'hex') FROM api_tokens", out, sizeof(out)), 0);
	assert_string_equal(out, "aa");
	assert_int_equal(store_open(&o), 0);
	store_close();
	/* A server that is not there. */
	snprintf(unit_url, sizeof(unit_url), "postgresql://postgres@127.0.0.1:1/nothing");
	unit_options(&o);
	assert_int_equal(store_open(&o), -1);
	assert_int_equal(store_migrate(&o), -1);
	drop_database();
}

static void *migrate_main(void *arg)
{
	struct store_options o;

	unit_options(&o);
	*(int *)arg = store_migrate(&o);
	return NULL;
}

/* Nodes started at once migrate one after the other. */
static void test_concurrent_migrate(void **state)
{
	pthread_t threads[4];
	int rc[4];
	struct store_options o;
	char out[64];

	(void)state;
	new_database();
	for (int i = 0; i < 4; i++) {
		rc[i] = -2;
		assert_int_equal(pthread_create(&threads[i], NULL, migrate_main, &rc[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(rc[i], 0);
	}
	assert_int_equal(unit_sql("SELECT count(*) FROM authd_schema", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	unit_options(&o);
	assert_int_equal(store_open(&o), 0);
	store_close();
	drop_database();
}

/* --- a failed statement ends its transaction ------------------------------------------- */

struct sticky {
	int org_rc, read_rc, session_rc;
};

static int sticky_txn(struct store_txn *txn, void *arg)
{
	struct sticky *s = arg;
	struct account a;
	struct org o;
	struct session sess;
	struct token_ref ref;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(a.id, 0x21, AUTHD_ID_LEN);
	snprintf(a.email, sizeof(a.email), "sticky@example.com");
	if ((rc = store_account_put(txn, &a)) != 0)
		return rc;
	memset(&o, 0, sizeof(o));
	memset(o.id, 0x22, AUTHD_ID_LEN);
	snprintf(o.name, sizeof(o.name), "refused");
	/* Writes are queued: the failure shows at the next read (or at
	 * commit)... */
	s->org_rc = store_org_put(txn, &o);
	s->read_rc = store_account_get(txn, a.id, &a);
	/* ...and a txn_work that ignores it: the next statement must not
	 * run, and the job must fail anyway. */
	memset(&sess, 0, sizeof(sess));
	memcpy(sess.account_id, a.id, AUTHD_ID_LEN);
	memcpy(ref.account_id, a.id, AUTHD_ID_LEN);
	memset(ref.hash, 0x23, AUTHD_HASH_LEN);
	s->session_rc = store_session_put(txn, &ref, &sess);
	return 0;
}

static void test_failed_statement_is_sticky(void **state)
{
	struct sticky s = {-1, 0, 0};
	uint8_t id[AUTHD_ID_LEN];
	char out[64];

	(void)state;
	unit_store_open();
	assert_int_equal(
	    unit_sql("ALTER TABLE organizations ADD CHECK (name <> 'refused')", NULL, 0), 0);
	assert_int_equal(unit_write(sticky_txn, &s), STORE_E_IO);
	assert_int_equal(s.org_rc, 0);
	assert_int_equal(s.read_rc, STORE_E_IO);
	assert_int_equal(s.session_rc, STORE_E_IO);
	assert_int_equal(unit_get(UNIT_EMAIL, "sticky@example.com", id), STORE_E_NOTFOUND);
	assert_int_equal(
	    unit_sql("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM sessions)",
		     out, sizeof(out)),
	    0);
	assert_string_equal(out, "0");
	unit_store_close();
}

/* --- a step at REPEATABLE READ meets a deletion ------------------------------------------ */

static const uint8_t rr_id[AUTHD_ID_LEN] = {0x52, 0x52};

static struct token_ref rr_ref(void)
{
	struct token_ref ref;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.account_id, rr_id, AUTHD_ID_LEN);
	ref.hash[0] = 0x77;
	return ref;
}

static int put_rr_login(struct store_txn *txn, void *arg)
{
	struct token_ref ref = rr_ref();
	struct login l;

	(void)arg;
	memset(&l, 0, sizeof(l));
	memcpy(l.account_id, rr_id, AUTHD_ID_LEN);
	l.expires_at = 1000;
	return store_login_put(txn, &ref, &l);
}

/* A password change's part: every pending login of the account goes. */
static int delete_rr_logins(struct store_txn *txn, void *arg)
{
	(void)arg;
	return store_login_del_all(txn, rr_id);
}

static void *deleter_main(void *arg)
{
	*(int *)arg = unit_write(delete_rr_logins, NULL);
	return NULL;
}

/* A wrong code: the step counts an attempt on the pending login it read,
 * and on its first run a password change deletes that login meanwhile. */
static int rr_step_txn(struct store_txn *txn, void *arg)
{
	int *runs = arg;
	struct token_ref ref = rr_ref();
	struct login l;
	int rc = store_login_get(txn, &ref, &l);

	if (++*runs == 1) {
		pthread_t t;
		int drc = -1;

		pthread_create(&t, NULL, deleter_main, &drc);
		pthread_join(t, NULL);
		if (drc != 0)
			return STORE_E_IO;
	}
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	l.attempts++;
	return store_login_put(txn, &ref, &l);
}

static void test_step_at_repeatable_read_meets_a_deletion(void **state)
{
	struct token_ref ref = rr_ref();
	struct login l;
	int runs = 0;

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_rr_login, NULL), 0);
	/* The login is not brought back: the attempt's write is an UPDATE of
	 * the row read, which the deletion makes fail, and the second run
	 * finds no login. */
	assert_int_equal(unit_write_own(rr_step_txn, &runs), 0);
	assert_true(runs >= 2);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), STORE_E_NOTFOUND);
	unit_store_close();
}

/* --- one sweeper at a time ----------------------------------------------------------------- */

struct sweep_arg {
	int hold_ms;
	size_t deleted;
};

static int put_dead_sessions(struct store_txn *txn, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; i < 5 && rc == 0; i++) {
		struct token_ref ref;
		struct session s;

		memset(&ref, 0, sizeof(ref));
		ref.account_id[0] = 0x31;
		ref.hash[0] = (uint8_t)i;
		memset(&s, 0, sizeof(s));
		memcpy(s.account_id, ref.account_id, AUTHD_ID_LEN);
		s.expires_at = 10;
		rc = store_session_put(txn, &ref, &s);
	}
	return rc;
}

static int sweep_txn(struct store_txn *txn, void *arg)
{
	struct sweep_arg *a = arg;
	struct store_sweep_pos from, to;
	int rc;

	memset(&from, 0, sizeof(from));
	a->deleted = 0;
	rc = store_sweep(txn, 1000, 600, 100, &from, &to, &a->deleted);
	if (a->hold_ms)
		usleep((useconds_t)a->hold_ms * 1000); /* keep the lock a while */
	return rc;
}

static void *sweep_main(void *arg)
{
	unit_write(sweep_txn, arg);
	return NULL;
}

static void test_one_sweeper(void **state)
{
	struct sweep_arg first = {1500, 0}, second = {0, 0};
	pthread_t thread;

	(void)state;
	unit_store_open();
	assert_int_equal(unit_write(put_dead_sessions, NULL), 0);
	assert_int_equal(pthread_create(&thread, NULL, sweep_main, &first), 0);
	usleep(500 * 1000);
	/* The first holds the lock: the second does nothing and succeeds. */
	assert_int_equal(unit_write(sweep_txn, &second), 0);
	assert_int_equal(second.deleted, 0);
	pthread_join(thread, NULL);
	assert_int_equal(first.deleted, 5);
	unit_store_close();
}

/* --- the server goes away and comes back ---------------------------------------------------- */

static int put_account_n(struct store_txn *txn, void *arg)
{
	const int *n = arg;
	struct account a;

	memset(&a, 0, sizeof(a));
	a.id[0] = 0x41;
	a.id[1] = (uint8_t)(*n >> 8);
	a.id[2] = (uint8_t)*n;
	snprintf(a.email, sizeof(a.email), "n%d@example.com", *n);
	a.created_at = *n;
	return store_account_put(txn, &a);
}

static int get_account_n(int n)
{
	uint8_t id[AUTHD_ID_LEN];
	struct account a;
	int rc;

	memset(id, 0, sizeof(id));
	id[0] = 0x41;
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)n;
	rc = unit_get(UNIT_ACCOUNT, id, &a);
	if (rc == 0 && a.created_at != n)
		rc = STORE_E_CORRUPT;
	return rc;
}

static void test_server_down_and_back(void **state)
{
	struct store_stats st;
	int64_t t0;
	int rc = -1;

	(void)state;
	unit_store_open();
	for (int n = 0; n < 30; n++)
		assert_int_equal(unit_write(put_account_n, &n), 0);
	store_stats(&st);
	assert_int_equal(st.commits, 30);
	assert_int_equal(unit_harness("kill", NULL, 0), 0);
	/* Every job fails soon, on every connection, and says why. */
	for (int n = 100; n < 110; n++) {
		t0 = unit_now_ms();
		assert_int_equal(unit_write(put_account_n, &n), STORE_E_UNAVAILABLE);
		assert_int_equal(get_account_n(0), 1000 + STORE_E_UNAVAILABLE);
		assert_true(unit_now_ms() - t0 < 5000);
	}
	assert_int_equal(unit_harness("restart", NULL, 0), 0);
	/* Back without reopening the store: within the reconnect backoff. */
	t0 = unit_now_ms();
	for (int n = 200; rc != 0 && unit_now_ms() - t0 < 20000; usleep(50 * 1000))
		rc = unit_write(put_account_n, &n);
	assert_int_equal(rc, 0);
	printf("# service back %lld ms after the restart\n", (long long)(unit_now_ms() - t0));
	/* Every connection thread reconnects within its backoff (2 s at most). */
	usleep(2500 * 1000);
	for (int n = 201; n < 221; n++)
		assert_int_equal(unit_write(put_account_n, &n), 0);
	/* What was committed before the crash is all there; what failed is not. */
	for (int n = 0; n < 30; n++)
		assert_int_equal(get_account_n(n), 0);
	for (int n = 100; n < 110; n++)
		assert_int_equal(get_account_n(n), STORE_E_NOTFOUND);
	for (int n = 200; n < 221; n++)
		assert_int_equal(get_account_n(n), 0);
	unit_store_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schema_versions),
	    cmocka_unit_test(test_concurrent_migrate),
	    cmocka_unit_test(test_failed_statement_is_sticky),
	    cmocka_unit_test(test_step_at_repeatable_read_meets_a_deletion),
	    cmocka_unit_test(test_one_sweeper),
	    cmocka_unit_test(test_server_down_and_back),
	};

	unit_engine_init();
	if (unit_engine != STORE_ENGINE_POSTGRESQL) {
		fprintf(stderr, "test_store_pg runs on postgresql only\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
