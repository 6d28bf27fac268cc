/* Unit tests for the store's typed operations, on the engine
 * AUTHD_TEST_ENGINE names: every record kind round-trips, an account's
 * sessions and logins stay apart from the next account's, a token naming
 * another account finds nothing, and damaged values are reported as
 * corrupt instead of being half-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "lmdb-internal.h"
#include "unit_store.h"

static struct account g_acct;

static int put_account(struct store_txn *txn, void *arg)
{
	(void)arg;
	return store_account_put(txn, &g_acct);
}

static void test_account(void **state)
{
	struct account back;
	uint8_t id[AUTHD_ID_LEN];

	(void)state;
	memset(&g_acct, 0, sizeof(g_acct));
	memset(g_acct.id, 0x11, AUTHD_ID_LEN);
	memset(g_acct.org_id, 0x22, AUTHD_ID_LEN);
	snprintf(g_acct.email, sizeof(g_acct.email), "ann@example.com");
	snprintf(g_acct.name, sizeof(g_acct.name), "Ann \"Quote\" \xc3\xa9");
	snprintf(g_acct.pw_hash, sizeof(g_acct.pw_hash),
		 "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
	g_acct.created_at = 1700000000;
	g_acct.password_changed_at = 1700000001;
	assert_int_equal(unit_write(put_account, NULL), 0);
	assert_int_equal(unit_get(UNIT_EMAIL, "ann@example.com", id), 0);
	assert_memory_equal(id, g_acct.id, AUTHD_ID_LEN);
	assert_int_equal(unit_get(UNIT_ACCOUNT, id, &back), 0);
	assert_memory_equal(&back, &g_acct, sizeof(g_acct));
	assert_int_equal(unit_get(UNIT_EMAIL, "bob@example.com", id), STORE_E_NOTFOUND);
	/* A new email moves the account's entry: the old one finds nothing. */
	snprintf(g_acct.email, sizeof(g_acct.email), "ann2@example.com");
	assert_int_equal(unit_write(put_account, NULL), 0);
	assert_int_equal(unit_get(UNIT_EMAIL, "ann2@example.com", id), 0);
	assert_memory_equal(id, g_acct.id, AUTHD_ID_LEN);
	assert_int_equal(unit_get(UNIT_ACCOUNT, id, &back), 0);
	assert_memory_equal(&back, &g_acct, sizeof(g_acct));
}

struct sess_arg {
	struct token_ref refs[3];
	struct token_ref other; /* another account's session */
	struct session s, s_other;
	int op;
};

static int sess_write(struct store_txn *txn, void *arg)
{
	struct sess_arg *a = arg;
	int rc = 0;

	if (a->op == 0) {
		for (int i = 0; i < 3 && rc == 0; i++)
			rc = store_session_put(txn, &a->refs[i], &a->s);
		if (rc == 0)
			rc = store_session_put(txn, &a->other, &a->s_other);
	} else {
		rc = store_session_del_all(txn, a->s.account_id, &a->refs[1]);
	}
	return rc;
}

static void test_sessions(void **state)
{
	struct sess_arg a;
	struct session back;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(a.s.account_id, 0x33, AUTHD_ID_LEN);
	for (int i = 0; i < 3; i++) {
		memcpy(a.refs[i].account_id, a.s.account_id, AUTHD_ID_LEN);
		memset(a.refs[i].hash, 0xa0 + i, AUTHD_HASH_LEN);
	}
	a.s.aal = AAL_SECOND_FACTOR;
	a.s.created_at = 10;
	a.s.last_seen = 20;
	a.s.expires_at = 30;
	a.s.second_factor_at = 15;
	a.s.flags = SESSION_F_LOGIN_REPLACED;
	/* The next account id, whose keys sort right after the first's. */
	a.s_other = a.s;
	memset(a.s_other.account_id, 0x34, AUTHD_ID_LEN);
	memcpy(a.other.account_id, a.s_other.account_id, AUTHD_ID_LEN);
	memset(a.other.hash, 0xa0, AUTHD_HASH_LEN);
	assert_int_equal(unit_write(sess_write, &a), 0);
	assert_int_equal(unit_get(UNIT_SESSION, &a.refs[2], &back), 0);
	assert_memory_equal(&back, &a.s, sizeof(back));
	/* Delete all but the middle one: the other account keeps its own. */
	a.op = 1;
	assert_int_equal(unit_write(sess_write, &a), 0);
	assert_int_equal(unit_get(UNIT_SESSION, &a.refs[0], &back), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_SESSION, &a.refs[1], &back), 0);
	assert_int_equal(unit_get(UNIT_SESSION, &a.refs[2], &back), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_SESSION, &a.other, &back), 0);
	assert_memory_equal(&back, &a.s_other, sizeof(back));
	/* A token that names another account finds nothing. */
	memcpy(a.refs[1].account_id, a.s_other.account_id, AUTHD_ID_LEN);
	assert_int_equal(unit_get(UNIT_SESSION, &a.refs[1], &back), STORE_E_NOTFOUND);
}

static struct totp_rec totp_in;
static struct backup_rec backup_in;
static struct login login_in;

static struct token_ref login_ref(const uint8_t id[AUTHD_ID_LEN], int fill)
{
	struct token_ref ref;

	memcpy(ref.account_id, id, AUTHD_ID_LEN);
	memset(ref.hash, fill, sizeof(ref.hash));
	return ref;
}

static int put_factor_records(struct store_txn *txn, void *arg)
{
	const uint8_t *id = arg;
	struct token_ref ref = login_ref(id, 0x77);
	struct token_ref ref2 = login_ref(id, 0x78);
	int rc;

	if ((rc = store_totp_put(txn, id, &totp_in)) != 0 ||
	    (rc = store_backup_put(txn, id, &backup_in)) != 0 ||
	    (rc = store_login_put(txn, &ref2, &login_in)) != 0)
		return rc;
	return store_login_put(txn, &ref, &login_in);
}

static int del_logins(struct store_txn *txn, void *arg)
{
	return store_login_del_all(txn, arg);
}

static int del_factors(struct store_txn *txn, void *arg)
{
	struct token_ref ref = login_ref(arg, 0x77);
	int rc;

	if ((rc = store_totp_del(txn, arg)) != 0 || (rc = store_backup_del(txn, arg)) != 0 ||
	    (rc = store_login_del(txn, &ref)) != 0)
		return rc;
	return store_session_del(txn, &ref);
}

static int put_garbage(struct store_txn *txn, void *arg)
{
	(void)arg;
	uint8_t key[AUTHD_ID_LEN + 1];

	memset(key, 0x99, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN] = KIND_TOTP;
	return lmdb_put(lmdb_of(txn), DB_CLUSTER, key, sizeof(key), "\x01short", 6);
}

/* A TOTP record that cannot decode, for account 0x99..: a short LMDB
 * value, or a PostgreSQL row whose sealed seed is longer than any. */
static void store_garbage(void)
{
	if (unit_engine == STORE_ENGINE_LMDB) {
		assert_int_equal(unit_write(put_garbage, NULL), 0);
		return;
	}
	assert_int_equal(
	    unit_sql("INSERT INTO totp_credentials VALUES (decode(repeat('99', 16), 'hex'), true, "
		     "1, 6, 30, -1, 0, decode(repeat('00', 200), 'hex'), decode(repeat('00', "
		     "16), 'hex'), 0, '')",
		     NULL, 0),
	    0);
}

static void test_factor_records(void **state)
{
	uint8_t id[AUTHD_ID_LEN];
	struct token_ref ref;
	struct totp_rec t;
	struct backup_rec b;
	struct login l;

	(void)state;
	memset(id, 0x44, sizeof(id));
	ref = login_ref(id, 0x77);
	memset(&totp_in, 0, sizeof(totp_in));
	totp_in.enabled = true;
	totp_in.alg = 2;
	totp_in.digits = 8;
	totp_in.period = 30;
	totp_in.last_step = 666666666666;
	totp_in.seed_len = 49;
	memset(totp_in.seed, 0x5a, 49);
	totp_in.pending_expires_at = -1;
	memset(&backup_in, 0, sizeof(backup_in));
	backup_in.created_at = 5;
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		memset(backup_in.salt[i], i, OTP_BACKUP_SALT_LEN);
		memset(backup_in.hash[i], 100 + i, OTP_BACKUP_HASH_LEN);
	}
	backup_in.used_at[3] = 99;
	memset(&login_in, 0, sizeof(login_in));
	memcpy(login_in.account_id, id, AUTHD_ID_LEN);
	login_in.created_at = 1;
	login_in.expires_at = 301;
	login_in.attempts = 4;
	assert_int_equal(unit_write(put_factor_records, id), 0);
	store_garbage();
	assert_int_equal(unit_get(UNIT_TOTP, id, &t), 0);
	assert_memory_equal(&t, &totp_in, sizeof(t));
	assert_int_equal(unit_get(UNIT_BACKUP, id, &b), 0);
	assert_memory_equal(&b, &backup_in, sizeof(b));
	assert_int_equal(backup_remaining(&b), 9);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), 0);
	assert_memory_equal(&l, &login_in, sizeof(l));
	/* A login that names another account finds nothing. */
	memset(ref.account_id, 0x45, AUTHD_ID_LEN);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), STORE_E_NOTFOUND);
	ref = login_ref(id, 0x77);
	/* A password change drops every pending login and nothing else. */
	assert_int_equal(unit_write(del_logins, id), 0);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), STORE_E_NOTFOUND);
	ref = login_ref(id, 0x78);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_TOTP, id, &t), 0);
	assert_int_equal(unit_get(UNIT_BACKUP, id, &b), 0);
	/* Deleting the factors leaves nothing; deleting again is no error. */
	assert_int_equal(unit_write(del_factors, id), 0);
	assert_int_equal(unit_write(del_factors, id), 0);
	assert_int_equal(unit_get(UNIT_TOTP, id, &t), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_BACKUP, id, &b), STORE_E_NOTFOUND);
	memset(id, 0x99, sizeof(id));
	/* A record that does not decode leaves the caller's struct as it was
	 * (getters write their output only on success). */
	memset(&t, 0x5a, sizeof(t));
	totp_in = t;
	assert_int_equal(unit_get(UNIT_TOTP, id, &t), STORE_E_CORRUPT);
	assert_memory_equal(&t, &totp_in, sizeof(t));
}

struct org_arg {
	struct member m;
	struct member got;
	int get_rc;
	unsigned listed, listed_by_account;
	struct audit_rec audit[4];
	size_t n_audit;
	struct event_cursor before;
	bool has_before;
};

static int put_org(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;
	struct org o;
	int rc;

	memset(&o, 0, sizeof(o));
	memcpy(o.id, a->m.org_id, AUTHD_ID_LEN);
	snprintf(o.name, sizeof(o.name), "Ann's \"org\"");
	o.created_at = 1700000000;
	if ((rc = store_org_put(txn, &o)) != 0)
		return rc;
	return store_member_put(txn, &a->m);
}

static int count_listed(void *arg, const struct member *m)
{
	struct org_arg *a = arg;

	a->listed += memcmp(m->account_id, a->m.account_id, AUTHD_ID_LEN) == 0;
	return 0;
}

static int count_listed_by_account(void *arg, const struct member *m)
{
	struct org_arg *a = arg;

	a->listed_by_account += memcmp(m->org_id, a->m.org_id, AUTHD_ID_LEN) == 0;
	return 0;
}

static int get_member(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;
	int rc;

	a->listed = a->listed_by_account = 0;
	memset(&a->got, 0, sizeof(a->got));
	a->get_rc = store_member_get(txn, a->m.org_id, a->m.account_id, &a->got);
	if ((rc = store_members_list(txn, a->m.org_id, count_listed, a)) != 0)
		return rc;
	return store_memberships_list(txn, a->m.account_id, count_listed_by_account, a);
}

static int del_member(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;

	return store_member_del(txn, a->m.org_id, a->m.account_id);
}

static int add_audit(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;
	int rc = 0;

	/* Three records, two in one second. */
	for (int i = 0; rc == 0 && i < 3; i++) {
		struct audit_rec r = {.at = 1700000000 + (i > 0), .via = AUDIT_VIA_SESSION};

		memcpy(r.org_id, a->m.org_id, AUTHD_ID_LEN);
		memset(r.actor, 0x60 + i, AUTHD_ID_LEN);
		memcpy(r.subject, a->m.account_id, AUTHD_ID_LEN);
		r.action = (uint16_t)(i == 2 ? AUDIT_MEMBER_REMOVED : AUDIT_MEMBER_CHANGED);
		snprintf(r.detail, sizeof(r.detail), "{\"n\":%d}", i);
		snprintf(r.ip, sizeof(r.ip), "127.0.0.%d", i + 1);
		rc = store_audit_add(txn, &r);
	}
	return rc;
}

static int take_audit(void *arg, const struct audit_rec *r)
{
	struct org_arg *a = arg;

	if (a->n_audit < 4)
		a->audit[a->n_audit++] = *r;
	return 0;
}

static int list_audit(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;

	a->n_audit = 0;
	return store_audit_list(txn, a->m.org_id, a->has_before ? &a->before : NULL, 2, take_audit,
				a);
}

static int del_org(struct store_txn *txn, void *arg)
{
	struct org_arg *a = arg;

	return store_org_del(txn, a->m.org_id);
}

/* A membership round trip (written again in place, read, listed both
 * ways, deleted), and an organization's audit trail paged newest first
 * and gone with the organization. */
static void test_org_member(void **state)
{
	struct org_arg a = {.m = {.role = ROLE_LEGAL_REPRESENTATIVE, .since = 1700000000}};

	(void)state;
	memset(a.m.org_id, 0x55, AUTHD_ID_LEN);
	memset(a.m.account_id, 0x56, AUTHD_ID_LEN);
	assert_int_equal(unit_write(put_org, &a), 0);
	a.m.role = ROLE_ADMINISTRATOR;
	a.m.rights = MEMBER_R_BILLING;
	a.m.contacts = CONTACT_BILLING | CONTACT_SECURITY;
	assert_int_equal(unit_write(put_org, &a), 0);
	assert_int_equal(unit_read(get_member, &a), 0);
	assert_int_equal(a.get_rc, 0);
	assert_memory_equal(&a.got, &a.m, sizeof(a.m));
	assert_int_equal(a.listed, 1);
	assert_int_equal(a.listed_by_account, 1);

	assert_int_equal(unit_write(add_audit, &a), 0);
	assert_int_equal(unit_read(list_audit, &a), 0);
	assert_int_equal(a.n_audit, 2);
	assert_int_equal(a.audit[0].action, AUDIT_MEMBER_REMOVED);
	assert_string_equal(a.audit[0].detail, "{\"n\":2}");
	assert_string_equal(a.audit[0].ip, "127.0.0.3");
	assert_int_equal(a.audit[0].via, AUDIT_VIA_SESSION);
	assert_memory_equal(a.audit[0].subject, a.m.account_id, AUTHD_ID_LEN);
	assert_int_equal(a.audit[1].at, 1700000001);
	assert_string_equal(a.audit[1].detail, "{\"n\":1}");
	a.before = (struct event_cursor){a.audit[1].at, a.audit[1].seq};
	a.has_before = true;
	assert_int_equal(unit_read(list_audit, &a), 0);
	assert_int_equal(a.n_audit, 1);
	assert_int_equal(a.audit[0].at, 1700000000);
	assert_int_equal(a.audit[0].actor[0], 0x60);

	assert_int_equal(unit_write(del_member, &a), 0);
	assert_int_equal(unit_read(get_member, &a), 0);
	assert_int_equal(a.get_rc, STORE_E_NOTFOUND);
	assert_int_equal(a.listed + a.listed_by_account, 0);
	assert_int_equal(unit_write(del_org, &a), 0);
	a.has_before = false;
	assert_int_equal(unit_read(list_audit, &a), 0);
	assert_int_equal(a.n_audit, 0);
}

/* Support grants: by id, by organization in the order made, changed,
 * deleted, and gone with their organization. */
struct support_arg {
	struct support_grant g[2], got;
	int get_rc;
	size_t n;
	uint8_t listed[4][AUTHD_ID_LEN];
};

static int put_support(struct store_txn *txn, void *arg)
{
	struct support_arg *a = arg;
	int rc = store_support_put(txn, &a->g[0]);

	return rc ? rc : store_support_put(txn, &a->g[1]);
}

static int support_one(void *arg, const struct support_grant *g)
{
	struct support_arg *a = arg;

	if (a->n < 4)
		memcpy(a->listed[a->n], g->id, AUTHD_ID_LEN);
	a->n++;
	return 0;
}

static int get_support(struct store_txn *txn, void *arg)
{
	struct support_arg *a = arg;

	a->n = 0;
	a->get_rc = store_support_get(txn, a->g[0].id, &a->got);
	return store_support_list(txn, a->g[0].org_id, support_one, a);
}

static int del_support(struct store_txn *txn, void *arg)
{
	struct support_arg *a = arg;

	return store_support_del(txn, &a->g[0]);
}

static int del_support_org(struct store_txn *txn, void *arg)
{
	struct support_arg *a = arg;

	return store_org_del(txn, a->g[1].org_id);
}

static void test_support_grants(void **state)
{
	static struct support_arg a;

	(void)state;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 2; i++) {
		memset(a.g[i].id, 0x71 + i, AUTHD_ID_LEN);
		memset(a.g[i].org_id, 0x70, AUTHD_ID_LEN);
		memset(a.g[i].created_by, 0x6f, AUTHD_ID_LEN);
		a.g[i].kind = (uint8_t)(SUPPORT_MAIL + i);
		a.g[i].created_at = 1700000000 + 10 * (1 - i); /* the second is older */
		a.g[i].expires_at = a.g[i].created_at + SUPPORT_GRANT_TTL;
	}
	snprintf(a.g[0].request, sizeof(a.g[0].request), "SR-%d", 77);
	assert_int_equal(unit_write(put_support, &a), 0);
	assert_int_equal(unit_read(get_support, &a), 0);
	assert_int_equal(a.get_rc, 0);
	assert_memory_equal(&a.got, &a.g[0], sizeof(a.got));
	assert_int_equal(a.n, 2);
	assert_memory_equal(a.listed[0], a.g[1].id, AUTHD_ID_LEN); /* made first */
	/* Changed: revoked, with assignees. */
	a.g[0].revoked_at = 1700000100;
	core_support_assign(&a.g[0], a.g[1].created_by);
	memset(a.g[0].assignees[1], 0x33, AUTHD_ID_LEN);
	a.g[0].n_assignees = 2;
	assert_int_equal(unit_write(put_support, &a), 0);
	assert_int_equal(unit_read(get_support, &a), 0);
	assert_memory_equal(&a.got, &a.g[0], sizeof(a.got));
	assert_int_equal(a.n, 2);
	assert_int_equal(unit_write(del_support, &a), 0);
	assert_int_equal(unit_read(get_support, &a), 0);
	assert_int_equal(a.get_rc, STORE_E_NOTFOUND);
	assert_int_equal(a.n, 1);
	assert_int_equal(unit_write(del_support_org, &a), 0);
	assert_int_equal(unit_read(get_support, &a), 0);
	assert_int_equal(a.n, 0);
}

static int put_rec(struct store_txn *txn, void *arg)
{
	struct throttle_rec *r = arg;
	uint8_t key[THROTTLE_KEY_LEN];
	uint8_t id[AUTHD_ID_LEN] = {9};

	throttle_key_account(key, id);
	return store_throttle_put(txn, key, r);
}

static void test_throttle_round_trip(void **state)
{
	uint8_t key[THROTTLE_KEY_LEN];
	uint8_t id[AUTHD_ID_LEN] = {9};
	struct throttle_rec in, out;

	(void)state;
	throttle_key_account(key, id);
	memset(&out, 0xff, sizeof(out));
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &out), 0); /* missing reads as zero */
	assert_int_equal(out.count, 0);
	assert_int_equal(out.consecutive, 0);
	assert_int_equal(out.ring[THROTTLE_RING - 1], 0);
	memset(&in, 0, sizeof(in));
	for (int i = 0; i < 150; i++)
		throttle_record_failure(&in, &throttle_account_policy, 1000 + i);
	assert_int_equal(in.count, THROTTLE_RING);
	assert_int_equal(unit_write(put_rec, &in), 0);
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* A history shorter than the ring round-trips too. */
	memset(&in, 0, sizeof(in));
	throttle_record_failure(&in, &throttle_account_policy, 77);
	assert_int_equal(unit_write(put_rec, &in), 0);
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

/* Security events: listed newest first, at most the limit, per account. */
static int put_events(struct store_txn *txn, void *arg)
{
	static const struct {
		uint8_t account;
		int64_t at;
		enum security_event_kind kind;
		const char *ip;
	} evs[] = {
	    {1, 100, EVENT_TOTP_ENABLED, "192.0.2.1"},
	    {1, 300, EVENT_PASSWORD_CHANGED, "2001:db8::7"},
	    {1, 200, EVENT_BACKUP_CODES_REGENERATED, ""},
	    {1, 300, EVENT_SECOND_FACTOR_LOCKED, "192.0.2.9"}, /* the same second */
	    {2, 250, EVENT_TOTP_REMOVED, "192.0.2.2"},
	};
	int rc = 0;

	(void)arg;
	for (size_t i = 0; rc == 0 && i < sizeof(evs) / sizeof(evs[0]); i++) {
		struct security_event e;

		memset(&e, 0, sizeof(e));
		memset(e.account_id, evs[i].account, AUTHD_ID_LEN);
		e.at = evs[i].at;
		e.kind = (uint16_t)evs[i].kind;
		snprintf(e.ip, sizeof(e.ip), "%s", evs[i].ip);
		rc = store_event_add(txn, &e);
	}
	return rc;
}

struct event_list {
	uint8_t account;
	size_t limit, n;
	struct security_event got[8];
	bool has_before;
	struct event_cursor before;
};

static int collect_event(void *arg, const struct security_event *e)
{
	struct event_list *l = arg;

	if (l->n == 8)
		return -99;
	l->got[l->n++] = *e;
	return 0;
}

static int list_events(struct store_txn *txn, void *arg)
{
	struct event_list *l = arg;
	uint8_t id[AUTHD_ID_LEN];

	memset(id, l->account, sizeof(id));
	l->n = 0;
	return store_events_list(txn, id, l->has_before ? &l->before : NULL, l->limit,
				 collect_event, l);
}

static void test_security_events(void **state)
{
	struct event_list l = {.account = 1, .limit = 10};

	(void)state;
	assert_int_equal(unit_write(put_events, NULL), 0);
	assert_int_equal(unit_read(list_events, &l), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.got[0].at, 300);
	assert_int_equal(l.got[1].at, 300);
	assert_int_equal(l.got[2].at, 200);
	assert_int_equal(l.got[2].kind, EVENT_BACKUP_CODES_REGENERATED);
	assert_string_equal(l.got[2].ip, "");
	assert_int_equal(l.got[3].at, 100);
	assert_string_equal(l.got[3].ip, "192.0.2.1");
	assert_int_equal(l.got[3].kind, EVENT_TOTP_ENABLED);
	l.limit = 2;
	assert_int_equal(unit_read(list_events, &l), 0);
	assert_int_equal(l.n, 2);
	l.account = 2;
	l.limit = 10;
	assert_int_equal(unit_read(list_events, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.got[0].kind, EVENT_TOTP_REMOVED);
	l.account = 3; /* none */
	assert_int_equal(unit_read(list_events, &l), 0);
	assert_int_equal(l.n, 0);
}

/* Sign-ins are events with a method, an outcome and a browser; a list goes
 * on from a cursor (two events of one second included, none twice); the
 * sweeper deletes events older than EVENT_KEEP_S. */
static int put_logins(struct store_txn *txn, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; rc == 0 && i < 7; i++) {
		struct security_event e;

		memset(&e, 0, sizeof(e));
		memset(e.account_id, 4, AUTHD_ID_LEN);
		e.at = i < 2 ? 1000 : 5000 + i / 2; /* pairs in one second */
		e.kind = EVENT_LOGIN;
		e.method = (uint8_t)(i % 2 ? EVENT_M_PASSWORD : EVENT_M_TOTP);
		e.outcome = (uint8_t)(i % 3 ? EVENT_O_SUCCESS : EVENT_O_FAILURE);
		snprintf(e.ip, sizeof(e.ip), "198.51.100.%d", i);
		snprintf(e.browser, sizeof(e.browser), "Firefox %d on Linux", 120 + i);
		rc = store_event_add(txn, &e);
	}
	return rc;
}

static int sweep_events(struct store_txn *txn, void *arg)
{
	struct store_sweep_pos from, to;
	size_t deleted = 0;

	(void)arg;
	memset(&from, 0, sizeof(from));
	return store_sweep(txn, 1000 + EVENT_KEEP_S + 1, 1800, 1000, &from, &to, &deleted);
}

static void test_login_events_paged_and_swept(void **state)
{
	struct event_list l = {.account = 4, .limit = 3};
	bool seen[7] = {false};
	size_t total = 0;

	(void)state;
	assert_int_equal(unit_write(put_logins, NULL), 0);
	for (int page = 0; page < 4; page++) {
		assert_int_equal(unit_read(list_events, &l), 0);
		for (size_t i = 0; i < l.n; i++) {
			int ip = atoi(strrchr(l.got[i].ip, '.') + 1);
			char browser[64];

			assert_true(ip >= 0 && ip < 7);
			assert_false(seen[ip]);
			seen[ip] = true;
			assert_int_equal(l.got[i].kind, EVENT_LOGIN);
			assert_int_equal(l.got[i].method, ip % 2 ? EVENT_M_PASSWORD : EVENT_M_TOTP);
			assert_int_equal(l.got[i].outcome,
					 ip % 3 ? EVENT_O_SUCCESS : EVENT_O_FAILURE);
			snprintf(browser, sizeof(browser), "Firefox %d on Linux", 120 + ip);
			assert_string_equal(l.got[i].browser, browser);
			if (i > 0)
				assert_true(l.got[i].at <= l.got[i - 1].at);
		}
		total += l.n;
		if (l.n < l.limit)
			break;
		l.has_before = true;
		l.before.at = l.got[l.n - 1].at;
		l.before.seq = l.got[l.n - 1].seq;
	}
	assert_int_equal(total, 7);
	/* Past the keeping time of the two at 1000, the rest kept. */
	assert_int_equal(unit_write(sweep_events, NULL), 0);
	l.has_before = false;
	l.limit = 8;
	assert_int_equal(unit_read(list_events, &l), 0);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.got[i].at >= 5000);
}

/* A recovery record comes back as it went in; an empty one is deleted. */
struct rec_arg {
	struct recovery_rec in, out;
	bool empty;
	const char *ask; /* a number to look up after the write */
	unsigned found;
};

static int found_one(void *arg, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct rec_arg *a = arg;

	a->found += account_id[0] == 0x55 ? 1 : 100;
	return 0;
}

static int recovery_round_txn(struct store_txn *txn, void *arg)
{
	struct rec_arg *a = arg;
	uint8_t id[AUTHD_ID_LEN];
	int rc;

	memset(id, 0x55, sizeof(id));
	if ((rc = store_recovery_put(txn, id, a->empty ? &(struct recovery_rec){0} : &a->in)) != 0)
		return rc;
	a->found = 0;
	if (a->ask && (rc = store_recovery_by_phone(txn, a->ask, 10, found_one, a)) != 0)
		return rc;
	return store_recovery_get(txn, id, &a->out);
}

static void test_recovery_round_trip(void **state)
{
	static struct rec_arg a;
	struct recovery_rec zero;

	(void)state;
	memset(&a, 0, sizeof(a));
	snprintf(a.in.email, sizeof(a.in.email), "backup@example.org");
	snprintf(a.in.phone, sizeof(a.in.phone), "+41791234567");
	a.in.email_verified = true;
	a.in.pending = RECOVERY_PHONE;
	snprintf(a.in.pending_to, sizeof(a.in.pending_to), "+41790000000");
	memset(a.in.pending_hash, 1, RECOVERY_HASH_LEN);
	a.in.pending_expires = 1700000600;
	memset(a.in.reset_code, 2, RECOVERY_HASH_LEN);
	a.in.reset_code_expires = 1700000601;
	memset(a.in.reset_link, 3, RECOVERY_HASH_LEN);
	a.in.reset_link_expires = 1700086400;
	memset(a.in.grant, 4, RECOVERY_HASH_LEN);
	a.in.grant_expires = 1700000900;
	a.in.fails = 3;
	a.in.last_fail = 1700000123;
	a.in.n_sends = 2;
	a.in.sends_pos = 2;
	a.in.sends[0] = 1700000001;
	a.in.sends[1] = 1700000002;
	a.in.sms_factor_at = 1699990000;
	memset(a.in.sms_login, 5, AUTHD_HASH_LEN);
	memset(a.in.sms_code, 6, RECOVERY_HASH_LEN);
	a.in.sms_code_expires = 1700000300;
	a.in.sms_sends = 2;
	memset(a.in.close_hash, 7, RECOVERY_HASH_LEN);
	a.in.close_expires = 1700086400;
	a.in.reset_proofed = true;
	a.ask = "+41791234567";
	assert_int_equal(unit_write(recovery_round_txn, &a), 0);
	assert_memory_equal(&a.out, &a.in, sizeof(a.in));
	assert_int_equal(a.found, 0); /* not verified: not found by it */
	a.in.phone_verified = true;
	assert_int_equal(unit_write(recovery_round_txn, &a), 0);
	assert_int_equal(a.found, 1);
	snprintf(a.in.phone, sizeof(a.in.phone), "+41790000000");
	assert_int_equal(unit_write(recovery_round_txn, &a), 0);
	assert_int_equal(a.found, 0); /* the old number no longer finds it */
	a.ask = "+41790000000";
	assert_int_equal(unit_write(recovery_round_txn, &a), 0);
	assert_int_equal(a.found, 1);
	a.empty = true;
	assert_int_equal(unit_write(recovery_round_txn, &a), 0);
	assert_int_equal(a.found, 0);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&a.out, &zero, sizeof(zero));
}

/* --- devices and link offers --- */

static void sample_device(struct push_device *d, uint8_t account, uint8_t id)
{
	memset(d, 0, sizeof(*d));
	memset(d->account_id, account, AUTHD_ID_LEN);
	memset(d->id, id, AUTHD_ID_LEN);
	memset(d->public_key, id ^ 0x5a, MP_KEY_LEN);
	snprintf(d->name, sizeof(d->name), "Phone %02x \xc3\xa9", id);
	d->created_at = 1700000000 + id;
	d->last_seen = id == 0x31 ? 0 : 1700000100;
	snprintf(d->last_ip, sizeof(d->last_ip), "2001:db8::%x", id);
	snprintf(d->last_location, sizeof(d->last_location), "%s", id == 0x31 ? "" : "Zurich, CH");
	d->seed_len = PUSH_SEED_LEN + SEAL_OVERHEAD;
	memset(d->seed, id, d->seed_len);
	d->last_step = id == 0x31 ? -1 : 56666666;
}

struct dev_arg {
	int op;
	struct push_device d[3];
	struct push_link link;
	struct token_ref ref, other_ref;
	/* results */
	int rc_get[3], rc_del_foreign, rc_del, rc_link, rc_link_other;
	struct push_device got[3];
	struct push_link link_got;
	struct push_device listed[4];
	size_t n_listed;
};

static int collect_device(void *arg, const struct push_device *d)
{
	struct dev_arg *a = arg;

	if (a->n_listed < 4)
		a->listed[a->n_listed] = *d;
	a->n_listed++;
	return 0;
}

static int devices_txn(struct store_txn *txn, void *arg)
{
	struct dev_arg *a = arg;
	int rc = 0;

	switch (a->op) {
	case 0: /* file them */
		for (int i = 0; i < 3 && rc == 0; i++)
			rc = store_device_put(txn, &a->d[i]);
		if (rc == 0)
			rc = store_link_put(txn, &a->ref, &a->link);
		return rc;
	case 1: /* read them back */
		for (int i = 0; i < 3; i++)
			a->rc_get[i] = store_device_get(txn, a->d[i].id, &a->got[i]);
		a->n_listed = 0;
		if ((rc = store_devices_list(txn, a->d[0].account_id, collect_device, a)) != 0)
			return rc;
		a->rc_link = store_link_get(txn, &a->ref, &a->link_got);
		a->rc_link_other = store_link_get(txn, &a->other_ref, &a->link_got);
		return 0;
	case 2: /* delete: another account's id, then the account's own */
		a->rc_del_foreign = store_device_del(txn, a->d[2].account_id, a->d[0].id);
		a->rc_del = store_device_del(txn, a->d[0].account_id, a->d[0].id);
		return store_link_del(txn, &a->ref);
	case 3: { /* two offers of the account, one of another, then all the account's go */
		struct push_link other = a->link;
		struct token_ref r2 = a->ref;

		r2.hash[0] ^= 1;
		memcpy(other.account_id, a->other_ref.account_id, AUTHD_ID_LEN);
		if ((rc = store_link_put(txn, &a->ref, &a->link)) != 0 ||
		    (rc = store_link_put(txn, &r2, &a->link)) != 0 ||
		    (rc = store_link_put(txn, &a->other_ref, &other)) != 0)
			return rc;
		return store_link_del_all(txn, a->ref.account_id);
	}
	case 4: { /* which of those are left */
		struct token_ref r2 = a->ref;
		struct push_link l;

		r2.hash[0] ^= 1;
		a->rc_link = store_link_get(txn, &a->ref, &l);
		a->rc_del = store_link_get(txn, &r2, &l);
		a->rc_link_other = store_link_get(txn, &a->other_ref, &l);
		return 0;
	}
	default:
		return STORE_E_IO;
	}
}

static void test_devices(void **state)
{
	struct dev_arg a;

	(void)state;
	memset(&a, 0, sizeof(a));
	sample_device(&a.d[0], 0x71, 0x32);
	sample_device(&a.d[1], 0x71, 0x31); /* listed first: ids order the list */
	sample_device(&a.d[2], 0x72, 0x33);
	/* One with a wake token, the longest there is. */
	memset(a.d[2].wake_token, 'w', MP_WAKE_TOKEN_MAX);
	memset(a.ref.account_id, 0x71, AUTHD_ID_LEN);
	memset(a.ref.hash, 0xab, AUTHD_HASH_LEN);
	a.other_ref = a.ref;
	memset(a.other_ref.account_id, 0x72, AUTHD_ID_LEN); /* the same hash, another account */
	memcpy(a.link.account_id, a.ref.account_id, AUTHD_ID_LEN);
	memset(a.link.device_id, 0x34, AUTHD_ID_LEN);
	a.link.created_at = 1700000000;
	a.link.expires_at = 1700000600;
	a.link.seed_len = PUSH_SEED_LEN + SEAL_OVERHEAD;
	memset(a.link.seed, 0x99, a.link.seed_len);
	assert_int_equal(unit_write(devices_txn, &a), 0);
	/* Filing twice changes nothing (an update, not a second row). */
	assert_int_equal(unit_write(devices_txn, &a), 0);
	a.op = 1;
	assert_int_equal(unit_read(devices_txn, &a), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(a.rc_get[i], 0);
		assert_memory_equal(&a.got[i], &a.d[i], sizeof(a.d[i]));
	}
	assert_int_equal(a.n_listed, 2);
	assert_memory_equal(&a.listed[0], &a.d[1], sizeof(a.d[1]));
	assert_memory_equal(&a.listed[1], &a.d[0], sizeof(a.d[0]));
	assert_int_equal(a.rc_link, 0);
	assert_int_equal(a.rc_link_other, STORE_E_NOTFOUND);
	a.op = 2;
	assert_int_equal(unit_write(devices_txn, &a), 0);
	assert_int_equal(a.rc_del_foreign, STORE_E_NOTFOUND);
	assert_int_equal(a.rc_del, 0);
	a.op = 1;
	assert_int_equal(unit_read(devices_txn, &a), 0);
	assert_int_equal(a.rc_get[0], STORE_E_NOTFOUND);
	assert_int_equal(a.rc_get[1], 0);
	assert_int_equal(a.n_listed, 1);
	assert_int_equal(a.rc_link, STORE_E_NOTFOUND);
	/* A password change takes every offer of the account, no other's. */
	a.op = 3;
	assert_int_equal(unit_write(devices_txn, &a), 0);
	a.op = 4;
	assert_int_equal(unit_read(devices_txn, &a), 0);
	assert_int_equal(a.rc_link, STORE_E_NOTFOUND);
	assert_int_equal(a.rc_del, STORE_E_NOTFOUND);
	assert_int_equal(a.rc_link_other, 0);
}

/* A link offer reads back field for field. */
static int link_txn(struct store_txn *txn, void *arg)
{
	struct dev_arg *a = arg;

	if (a->op == 0)
		return store_link_put(txn, &a->ref, &a->link);
	a->rc_link = store_link_get(txn, &a->ref, &a->link_got);
	return 0;
}

static void test_link_round_trip(void **state)
{
	struct dev_arg a;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(a.ref.account_id, 0x75, AUTHD_ID_LEN);
	memset(a.ref.hash, 0xcd, AUTHD_HASH_LEN);
	memcpy(a.link.account_id, a.ref.account_id, AUTHD_ID_LEN);
	memset(a.link.device_id, 0x36, AUTHD_ID_LEN);
	a.link.created_at = 1700000000;
	a.link.expires_at = 1700000600;
	a.link.linked_at = 1700000042;
	a.link.seed_len = PUSH_SEED_LEN + SEAL_OVERHEAD;
	memset(a.link.seed, 0x98, a.link.seed_len);
	assert_int_equal(unit_write(link_txn, &a), 0);
	a.op = 1;
	assert_int_equal(unit_read(link_txn, &a), 0);
	assert_int_equal(a.rc_link, 0);
	assert_memory_equal(&a.link_got, &a.link, sizeof(a.link));
}

/* A challenge and an account's push history read back field for field;
 * challenges list by account. */
struct push_arg {
	int op;
	struct push_challenge c[2];
	struct push_account acct;
	/* results */
	int rc_get, rc_other;
	struct push_challenge got;
	struct push_account acct_got, none;
	unsigned listed;
	unsigned pending[4]; /* store_challenges_pending at four (since, now) */
};

static int count_pending(void *arg, const struct push_challenge *c)
{
	unsigned *n = arg;
	uint8_t mine[AUTHD_ID_LEN];

	memset(mine, 0x77, sizeof(mine));
	if (memcmp(c->account_id, mine, AUTHD_ID_LEN) == 0)
		(*n)++;
	return 0;
}

static int list_challenge(void *arg, const struct push_challenge *c)
{
	struct push_arg *a = arg;

	(void)c;
	a->listed++;
	return 0;
}

static int push_txn(struct store_txn *txn, void *arg)
{
	struct push_arg *a = arg;
	uint8_t other[AUTHD_ID_LEN];
	int rc;

	memset(other, 0x7f, sizeof(other));
	if (a->op == 0) {
		if ((rc = store_challenge_put(txn, &a->c[0])) != 0 ||
		    (rc = store_challenge_put(txn, &a->c[1])) != 0)
			return rc;
		return store_push_account_put(txn, a->c[0].account_id, &a->acct);
	}
	a->rc_get = store_challenge_get(txn, a->c[0].account_id, a->c[0].id, &a->got);
	a->rc_other = store_challenge_get(txn, other, a->c[0].id, &a->got);
	a->listed = 0;
	if ((rc = store_challenges_list(txn, a->c[0].account_id, list_challenge, a)) != 0 ||
	    (rc = store_push_account_get(txn, a->c[0].account_id, &a->acct_got)) != 0)
		return rc;
	if ((rc = store_challenge_get(txn, a->c[0].account_id, a->c[0].id, &a->got)) != 0)
		return rc;
	/* Pending: c[0] from its creation until it expires; c[1] never. */
	memset(a->pending, 0, sizeof(a->pending));
	if ((rc = store_challenges_pending(txn, 1700000000, 1700000060, 1000, count_pending,
					   &a->pending[0])) != 0 ||
	    (rc = store_challenges_pending(txn, 1700000001, 1700000060, 1000, count_pending,
					   &a->pending[1])) != 0 ||
	    (rc = store_challenges_pending(txn, 1600000000, 1700000120, 1000, count_pending,
					   &a->pending[2])) != 0 ||
	    (rc = store_challenges_pending(txn, 1600000000, 1700000119, 0, count_pending,
					   &a->pending[3])) != 0)
		return rc;
	return store_push_account_get(txn, other, &a->none);
}

static void test_push_records(void **state)
{
	struct push_arg a;
	struct push_account zero;

	(void)state;
	memset(&a, 0, sizeof(a));
	for (int i = 0; i < 2; i++) {
		struct push_challenge *c = &a.c[i];

		memset(c->id, 0x41 + i, AUTHD_ID_LEN);
		memset(c->account_id, 0x77, AUTHD_ID_LEN);
		memset(c->login_hash, 0x99, AUTHD_HASH_LEN);
		memset(c->nonce, 0x55, MP_NONCE_LEN);
		c->number = (uint8_t)(42 + i);
		c->state = i ? PUSH_APPROVED : PUSH_PENDING;
		c->created_at = 1700000000;
		c->expires_at = 1700000120;
		c->answered_at = i ? 1700000010 : 0;
		memset(c->answered_by, i ? 0xd : 0, AUTHD_ID_LEN);
		snprintf(c->ctx.ip, sizeof(c->ctx.ip), "2001:db8::7");
		snprintf(c->ctx.location, sizeof(c->ctx.location), "Z\xc3\xbcrich, CH");
		snprintf(c->ctx.browser, sizeof(c->ctx.browser), "Firefox 128");
		snprintf(c->ctx.os, sizeof(c->ctx.os), "Linux");
		snprintf(c->ctx.application, sizeof(c->ctx.application), "console");
	}
	a.acct.n_sent = 3;
	a.acct.pos = 3;
	a.acct.sent[0] = 1700000000;
	a.acct.sent[1] = 1700000060;
	a.acct.sent[2] = 1700000120;
	a.acct.denials = 2;
	a.acct.paused_at = 1700000200;
	assert_int_equal(unit_write(push_txn, &a), 0);
	a.op = 1;
	assert_int_equal(unit_read(push_txn, &a), 0);
	assert_int_equal(a.rc_get, 0);
	assert_int_equal(a.rc_other, STORE_E_NOTFOUND);
	assert_memory_equal(&a.got, &a.c[0], sizeof(a.c[0]));
	assert_int_equal(a.listed, 2);
	assert_int_equal(a.pending[0], 1);
	assert_int_equal(a.pending[1], 0); /* created before `since` */
	assert_int_equal(a.pending[2], 0); /* expired */
	assert_int_equal(a.pending[3], 0); /* limit 0 */
	assert_memory_equal(&a.acct_got, &a.acct, sizeof(a.acct));
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&a.none, &zero, sizeof(zero)); /* no history reads as none */
}

/* --- memberships, and closing an account --- */

struct close_arg {
	uint8_t ann[AUTHD_ID_LEN], bob[AUTHD_ID_LEN], org[AUTHD_ID_LEN];
	int n_memberships, n_members, reps;
	int account_rc, session_rc, recovery_phone, del_rc;
};

static int count_membership(void *arg, const struct member *m)
{
	struct close_arg *a = arg;

	a->n_memberships++;
	a->reps += m->role == ROLE_LEGAL_REPRESENTATIVE;
	return 0;
}

static int count_member(void *arg, const struct member *m)
{
	struct close_arg *a = arg;

	(void)m;
	a->n_members++;
	return 0;
}

static int phone_found(void *arg, const uint8_t id[AUTHD_ID_LEN])
{
	struct close_arg *a = arg;

	(void)id;
	a->recovery_phone++;
	return 0;
}

static int close_fill(struct store_txn *txn, void *arg)
{
	struct close_arg *a = arg;
	struct token_ref ref;
	struct session s;
	struct recovery_rec rec;
	struct org o;
	int rc = 0;

	memset(&o, 0, sizeof(o));
	memcpy(o.id, a->org, AUTHD_ID_LEN);
	snprintf(o.name, sizeof(o.name), "Shared");
	for (int i = 0; i < 2 && rc == 0; i++) {
		struct account acc;
		struct member m = {.role = i ? ROLE_COLLABORATOR : ROLE_LEGAL_REPRESENTATIVE};

		memset(&acc, 0, sizeof(acc));
		memcpy(acc.id, i ? a->bob : a->ann, AUTHD_ID_LEN);
		memcpy(acc.org_id, a->org, AUTHD_ID_LEN);
		snprintf(acc.email, sizeof(acc.email), i ? "bob@example.com" : "ann@example.com");
		memcpy(m.org_id, a->org, AUTHD_ID_LEN);
		memcpy(m.account_id, acc.id, AUTHD_ID_LEN);
		if ((rc = store_account_put(txn, &acc)) == 0)
			rc = store_member_put(txn, &m);
	}
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.account_id, a->ann, AUTHD_ID_LEN);
	memset(&s, 0, sizeof(s));
	memcpy(s.account_id, a->ann, AUTHD_ID_LEN);
	s.expires_at = 100;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.phone, sizeof(rec.phone), "+41790000001");
	rec.phone_verified = true;
	if (rc == 0 && (rc = store_org_put(txn, &o)) == 0 &&
	    (rc = store_session_put(txn, &ref, &s)) == 0)
		rc = store_recovery_put(txn, a->ann, &rec);
	return rc;
}

static int close_look(struct store_txn *txn, void *arg)
{
	struct close_arg *a = arg;
	struct token_ref ref;
	struct session s;
	struct account acc;
	int rc;

	a->n_memberships = a->n_members = a->reps = a->recovery_phone = 0;
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.account_id, a->ann, AUTHD_ID_LEN);
	a->account_rc = store_account_get(txn, a->ann, &acc);
	a->session_rc = store_session_get(txn, &ref, &s);
	if ((rc = store_memberships_list(txn, a->ann, count_membership, a)) != 0 ||
	    (rc = store_members_list(txn, a->org, count_member, a)) != 0)
		return rc;
	return store_recovery_by_phone(txn, "+41790000001", 10, phone_found, a);
}

static int close_ann(struct store_txn *txn, void *arg)
{
	struct close_arg *a = arg;

	a->del_rc = store_account_delete(txn, a->ann);
	return a->del_rc == STORE_E_NOTFOUND ? 0 : a->del_rc;
}

static void test_close_account(void **state)
{
	static struct close_arg a;
	uint8_t id[AUTHD_ID_LEN];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(a.ann, 0x51, AUTHD_ID_LEN);
	memset(a.bob, 0x52, AUTHD_ID_LEN);
	memset(a.org, 0x53, AUTHD_ID_LEN);
	assert_int_equal(unit_write(close_fill, &a), 0);
	assert_int_equal(unit_read(close_look, &a), 0);
	assert_int_equal(a.account_rc, 0);
	assert_int_equal(a.session_rc, 0);
	assert_int_equal(a.n_memberships, 1);
	assert_int_equal(a.reps, 1);
	assert_int_equal(a.n_members, 2);
	assert_int_equal(a.recovery_phone, 1);
	assert_int_equal(unit_write(close_ann, &a), 0);
	assert_int_equal(a.del_rc, 0);
	assert_int_equal(unit_read(close_look, &a), 0);
	assert_int_equal(a.account_rc, STORE_E_NOTFOUND);
	assert_int_equal(a.session_rc, STORE_E_NOTFOUND);
	assert_int_equal(a.n_memberships, 0);
	assert_int_equal(a.n_members, 1); /* bob stays */
	assert_int_equal(a.recovery_phone, 0);
	assert_int_equal(unit_get(UNIT_EMAIL, "ann@example.com", id), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_EMAIL, "bob@example.com", id), 0);
	assert_int_equal(unit_write(close_ann, &a), 0);
	assert_int_equal(a.del_rc, STORE_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_security_events),
	    cmocka_unit_test(test_throttle_round_trip),
	    cmocka_unit_test(test_account),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_factor_records),
	    cmocka_unit_test(test_org_member),
	    cmocka_unit_test(test_support_grants),
	    cmocka_unit_test(test_devices),
	    cmocka_unit_test(test_link_round_trip),
	    cmocka_unit_test(test_push_records),
	    cmocka_unit_test(test_login_events_paged_and_swept),
	    cmocka_unit_test(test_recovery_round_trip),
	    cmocka_unit_test(test_close_account),
	};

	return cmocka_run_group_tests(tests, unit_setup, unit_teardown);
}
