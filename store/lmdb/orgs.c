/*
 * Organizations' memberships and audit trails on LMDB.
 *
 * A membership is keyed organization id || account id in DB_MEMBERS (an
 * organization's people are one range); its value is packed (every
 * organization request reads it): version 2, role (1), rights and contacts
 * (4 each), since (8), big-endian. Version 1, a JSON object {"role",
 * "rights"?, "contacts"?, "since"?}, still reads. DB_ACCOUNT_ORGS (account
 * id || organization id -> "") finds an account's memberships: written and
 * deleted with each (layout 5; lmdb_member_index_build makes it for data
 * of layout 4).
 *
 * An invitation is keyed organization id || invitation id in DB_INVITES
 * (a version byte and JSON), with DB_INVITE_TOKENS mapping its token's
 * SHA-256 to that key.
 *
 * An audit record is keyed organization id || time (big-endian) || a
 * 4-byte sequence number (one more than the organization's last record of
 * that second) in DB_AUDIT, its value a version byte and a JSON object;
 * listed newest first from the end of the organization's range.
 */
#include "lmdb-internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <util.h>

#define MEMBER_V1     1
#define MEMBER_V2     2
#define MEMBER_V2_LEN (1 + 1 + 4 + 4 + 8)
#define INVITE_V1     1
#define AUDIT_V1      1
#define AUDIT_KEY_LEN (AUTHD_ID_LEN + 8 + 4)

/* --- memberships --------------------------------------------------------------------- */

int lmdb_member_decode(const MDB_val *k, const MDB_val *v, struct member *m)
{
	const char *p = v->mv_data;
	json_t *o = NULL;
	const char *role = NULL;
	json_int_t rights = 0, contacts = 0, since = 0;
	int rc = STORE_E_CORRUPT;

	if (k->mv_size != 2 * AUTHD_ID_LEN || v->mv_size < 2)
		return STORE_E_CORRUPT;
	if (p[0] == MEMBER_V2) {
		const uint8_t *q = v->mv_data;

		if (v->mv_size != MEMBER_V2_LEN || q[1] < ROLE_LEGAL_REPRESENTATIVE ||
		    q[1] > ROLE_EXTERNAL || authd_get_be32(q + 6) > CONTACT__ALL)
			return STORE_E_CORRUPT;
		memset(m, 0, sizeof(*m));
		memcpy(m->org_id, k->mv_data, AUTHD_ID_LEN);
		memcpy(m->account_id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
		m->role = (enum org_role)q[1];
		m->rights = authd_get_be32(q + 2);
		m->contacts = authd_get_be32(q + 6);
		m->since = (int64_t)authd_get_be64(q + 10);
		return 0;
	}
	if (p[0] != MEMBER_V1)
		return STORE_E_CORRUPT;
	o = json_loadb(p + 1, v->mv_size - 1, 0, NULL);
	if (json_unpack(o, "{s:s, s?I, s?I, s?I}", "role", &role, "rights", &rights, "contacts",
			&contacts, "since", &since) != 0)
		goto out;
	memset(m, 0, sizeof(*m));
	memcpy(m->org_id, k->mv_data, AUTHD_ID_LEN);
	memcpy(m->account_id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
	if ((m->role = core_role_parse(role)) == 0 || rights < 0 || contacts < 0 ||
	    contacts > CONTACT__ALL)
		goto out;
	m->rights = (unsigned)rights;
	m->contacts = (unsigned)contacts;
	m->since = (int64_t)since;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static void member_key(uint8_t key[2 * AUTHD_ID_LEN], const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN])
{
	memcpy(key, org_id, AUTHD_ID_LEN);
	memcpy(key + AUTHD_ID_LEN, account_id, AUTHD_ID_LEN);
}

int lmdb_member_put(struct store_txn *t, const struct member *m)
{
	uint8_t key[2 * AUTHD_ID_LEN], val[MEMBER_V2_LEN];
	int rc;

	if (*core_role_name(m->role) == '\0')
		return STORE_E_IO;
	val[0] = MEMBER_V2;
	val[1] = (uint8_t)m->role;
	authd_put_be32(val + 2, m->rights);
	authd_put_be32(val + 6, m->contacts);
	authd_put_be64(val + 10, (uint64_t)m->since);
	member_key(key, m->org_id, m->account_id);
	if ((rc = lmdb_put(lmdb_of(t), DB_MEMBERS, key, sizeof(key), val, sizeof(val))) != 0)
		return rc;
	member_key(key, m->account_id, m->org_id);
	return lmdb_put(lmdb_of(t), DB_ACCOUNT_ORGS, key, sizeof(key), "", 0);
}

int lmdb_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t account_id[AUTHD_ID_LEN], struct member *m)
{
	uint8_t key[2 * AUTHD_ID_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	member_key(key, org_id, account_id);
	if ((rc = lmdb_get(lmdb_of(t), DB_MEMBERS, key, sizeof(key), &v)) != 0)
		return rc;
	return lmdb_member_decode(&k, &v, m);
}

int lmdb_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t account_id[AUTHD_ID_LEN])
{
	uint8_t key[2 * AUTHD_ID_LEN];
	int rc;

	member_key(key, org_id, account_id);
	rc = lmdb_del(lmdb_of(t), DB_MEMBERS, key, sizeof(key));
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	member_key(key, account_id, org_id);
	rc = lmdb_del(lmdb_of(t), DB_ACCOUNT_ORGS, key, sizeof(key));
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

struct members {
	const uint8_t *account; /* by account: only its memberships */
	int (*fn)(void *arg, const struct member *m);
	void *arg;
	int rc;
};

static int member_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct members *ms = arg;
	struct member m;

	(void)txn;
	if (k->mv_size != 2 * AUTHD_ID_LEN ||
	    (ms->account &&
	     memcmp((const uint8_t *)k->mv_data + AUTHD_ID_LEN, ms->account, AUTHD_ID_LEN) != 0))
		return 0;
	if ((ms->rc = lmdb_member_decode(k, v, &m)) == 0)
		ms->rc = ms->fn(ms->arg, &m);
	return ms->rc;
}

/* An index entry (account || org): that membership. */
static int membership_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct members *ms = arg;
	uint8_t key[2 * AUTHD_ID_LEN];
	MDB_val mk = {sizeof(key), key}, mv;

	(void)v;
	if (k->mv_size != 2 * AUTHD_ID_LEN) {
		ms->rc = STORE_E_CORRUPT;
		return 1;
	}
	member_key(key, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, k->mv_data);
	if ((ms->rc = lmdb_get(txn, DB_MEMBERS, key, sizeof(key), &mv)) == STORE_E_NOTFOUND)
		ms->rc = STORE_E_CORRUPT; /* an index entry without its membership */
	return ms->rc ? 1 : member_one(txn, &mk, &mv, arg);
}

int lmdb_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  int (*fn)(void *arg, const struct member *m), void *arg)
{
	struct members ms = {account_id, fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_ACCOUNT_ORGS, account_id, AUTHD_ID_LEN, AUTHD_ID_LEN,
			   membership_one, &ms);

	return rc != 0 ? rc : ms.rc;
}

struct index_build {
	size_t n;
	int rc;
};

/* One membership's index entry (the layout 4 upgrade). */
static int index_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct index_build *b = arg;
	uint8_t key[2 * AUTHD_ID_LEN];

	(void)v;
	if (k->mv_size != 2 * AUTHD_ID_LEN) {
		b->rc = STORE_E_CORRUPT;
		return 1;
	}
	member_key(key, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, k->mv_data);
	b->n++;
	b->rc = lmdb_put(txn, DB_ACCOUNT_ORGS, key, sizeof(key), "", 0);
	return b->rc;
}

int lmdb_member_index_build(MDB_txn *txn, size_t *n)
{
	struct index_build b = {0, 0};
	int rc = lmdb_walk(txn, DB_MEMBERS, NULL, 0, 0, index_one, &b);

	*n = b.n;
	return rc != 0 ? rc : b.rc;
}

int lmdb_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct member *m), void *arg)
{
	struct members ms = {NULL, fn, arg, 0};
	int rc =
	    lmdb_walk(lmdb_of(t), DB_MEMBERS, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, member_one, &ms);

	return rc != 0 ? rc : ms.rc;
}

/* --- invitations ---------------------------------------------------------------------- */

int lmdb_invite_put(struct store_txn *t, const struct invite *inv)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[2 * AUTHD_ID_LEN];
	char inviter[AUTHD_ID_HEX + 1], account[AUTHD_ID_HEX + 1], token[2 * AUTHD_HASH_LEN + 1];
	json_t *o;
	char *text = NULL;
	uint8_t *val = NULL;
	size_t len;
	int rc;

	authd_hex(inv->inviter, AUTHD_ID_LEN, inviter);
	authd_hex(inv->account_id, AUTHD_ID_LEN, account);
	authd_hex(inv->token_hash, AUTHD_HASH_LEN, token);
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:i, s:I, s:s}", "token", token, "email",
		      inv->email, "role", core_role_name(inv->role), "rights",
		      (json_int_t)inv->rights, "inviter", inviter, "created",
		      (json_int_t)inv->created_at, "expires", (json_int_t)inv->expires_at, "state",
		      (int)inv->state, "ended", (json_int_t)inv->ended_at, "account", account);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL ||
	    (val = malloc((len = strlen(text)) + 1)) == NULL) {
		rc = STORE_E_IO;
		goto out;
	}
	val[0] = INVITE_V1;
	memcpy(val + 1, text, len);
	member_key(key, inv->org_id, inv->id);
	if ((rc = lmdb_put(txn, DB_INVITES, key, sizeof(key), val, len + 1)) == 0)
		rc = lmdb_put(txn, DB_INVITE_TOKENS, inv->token_hash, AUTHD_HASH_LEN, key,
			      sizeof(key));
out:
	free(val);
	free(text);
	json_decref(o);
	return rc;
}

/* The invitation under key k (organization id || id). */
static int invite_decode(const MDB_val *k, const MDB_val *v, struct invite *inv)
{
	const char *p = v->mv_data;
	const char *token, *email, *role, *inviter, *account;
	json_int_t rights, created, expires, ended;
	int state;
	json_t *o = NULL;
	int rc = STORE_E_CORRUPT;

	if (k->mv_size != 2 * AUTHD_ID_LEN || v->mv_size < 2 || p[0] != INVITE_V1)
		return STORE_E_CORRUPT;
	o = json_loadb(p + 1, v->mv_size - 1, 0, NULL);
	if (json_unpack(o, "{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:i, s:I, s:s}", "token", &token,
			"email", &email, "role", &role, "rights", &rights, "inviter", &inviter,
			"created", &created, "expires", &expires, "state", &state, "ended", &ended,
			"account", &account) != 0 ||
	    strlen(email) > EMAIL_MAX)
		goto out;
	memset(inv, 0, sizeof(*inv));
	memcpy(inv->org_id, k->mv_data, AUTHD_ID_LEN);
	memcpy(inv->id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
	snprintf(inv->email, sizeof(inv->email), "%s", email);
	inv->role = core_role_parse(role);
	inv->rights = (unsigned)rights;
	inv->created_at = (int64_t)created;
	inv->expires_at = (int64_t)expires;
	inv->state = (uint8_t)state;
	inv->ended_at = (int64_t)ended;
	if (inv->role == 0 || rights < 0 || state < INVITE_PENDING || state > INVITE_REVOKED ||
	    authd_unhex(token, strlen(token), inv->token_hash, AUTHD_HASH_LEN) != 0 ||
	    authd_unhex(inviter, strlen(inviter), inv->inviter, AUTHD_ID_LEN) != 0 ||
	    authd_unhex(account, strlen(account), inv->account_id, AUTHD_ID_LEN) != 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int lmdb_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN], struct invite *inv)
{
	uint8_t key[2 * AUTHD_ID_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	member_key(key, org_id, id);
	if ((rc = lmdb_get(lmdb_of(t), DB_INVITES, key, sizeof(key), &v)) != 0)
		return rc;
	return invite_decode(&k, &v, inv);
}

int lmdb_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
			 struct invite *inv)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val key, v;
	int rc = lmdb_get(txn, DB_INVITE_TOKENS, token_hash, AUTHD_HASH_LEN, &key);

	if (rc != 0)
		return rc;
	if (key.mv_size != 2 * AUTHD_ID_LEN)
		return STORE_E_CORRUPT;
	if ((rc = lmdb_get(txn, DB_INVITES, key.mv_data, key.mv_size, &v)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_CORRUPT : rc;
	return invite_decode(&key, &v, inv);
}

int lmdb_invite_del(struct store_txn *t, const struct invite *inv)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[2 * AUTHD_ID_LEN];
	int rc;

	member_key(key, inv->org_id, inv->id);
	if ((rc = lmdb_del(txn, DB_INVITES, key, sizeof(key))) != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	rc = lmdb_del(txn, DB_INVITE_TOKENS, inv->token_hash, AUTHD_HASH_LEN);
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

struct invites {
	int (*fn)(void *arg, const struct invite *inv);
	void *arg;
	int rc;
};

static int invite_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct invites *is = arg;
	struct invite inv;

	(void)txn;
	if ((is->rc = invite_decode(k, v, &inv)) == 0)
		is->rc = is->fn(is->arg, &inv);
	return is->rc;
}

int lmdb_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct invite *inv), void *arg)
{
	struct invites is = {fn, arg, 0};
	int rc =
	    lmdb_walk(lmdb_of(t), DB_INVITES, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, invite_one, &is);

	return rc != 0 ? rc : is.rc;
}

/* --- organizations --------------------------------------------------------------------- */

int lmdb_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o)
{
	MDB_val k = {AUTHD_ID_LEN, (void *)org_id}, v;
	int rc = lmdb_get(lmdb_of(t), DB_ORGS, org_id, AUTHD_ID_LEN, &v);

	return rc != 0 ? rc : lmdb_org_decode(&k, &v, o);
}

/* Collects an organization's audit keys (fixed length) to delete. */
struct audit_keys {
	uint8_t (*k)[AUDIT_KEY_LEN];
	size_t n, cap;
	int rc;
};

static int audit_key_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct audit_keys *ks = arg;

	(void)txn;
	(void)v;
	if (k->mv_size != AUDIT_KEY_LEN)
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 64;
		void *p = realloc(ks->k, cap * sizeof(*ks->k));

		if (p == NULL)
			return (ks->rc = STORE_E_IO);
		ks->k = p;
		ks->cap = cap;
	}
	memcpy(ks->k[ks->n++], k->mv_data, AUDIT_KEY_LEN);
	return 0;
}

/* Collects an organization's invitations to delete. */
struct invite_keys {
	struct invite *k;
	size_t n, cap;
};

static int invite_key_one(void *arg, const struct invite *inv)
{
	struct invite_keys *ks = arg;

	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 16;
		void *p = realloc(ks->k, cap * sizeof(*ks->k));

		if (p == NULL)
			return STORE_E_IO;
		ks->k = p;
		ks->cap = cap;
	}
	ks->k[ks->n++] = *inv;
	return 0;
}

int lmdb_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	struct audit_keys ks = {0};
	struct invite_keys is = {0};
	int rc = lmdb_del(txn, DB_ORGS, org_id, AUTHD_ID_LEN);

	if (rc == STORE_E_NOTFOUND)
		rc = 0;
	/* Its audit trail, products, teams, invitations, tokens, support
	 * grants and billing go with it. */
	if (rc == 0 && (rc = lmdb_walk(txn, DB_AUDIT, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN,
				       audit_key_one, &ks)) == 0)
		rc = ks.rc;
	for (size_t i = 0; rc == 0 && i < ks.n; i++)
		rc = lmdb_del(txn, DB_AUDIT, ks.k[i], AUDIT_KEY_LEN);
	if (rc == 0)
		rc = lmdb_org_products_del(t, org_id);
	if (rc == 0)
		rc = lmdb_invites_list(t, org_id, invite_key_one, &is);
	for (size_t i = 0; rc == 0 && i < is.n; i++)
		rc = lmdb_invite_del(t, &is.k[i]);
	if (rc == 0)
		rc = lmdb_tokens_del_account(t, org_id);
	if (rc == 0)
		rc = lmdb_org_support_del(t, org_id);
	if (rc == 0)
		rc = lmdb_org_billing_del(t, org_id);
	free(ks.k);
	free(is.k);
	return rc;
}

/* --- the audit trail ------------------------------------------------------------------- */

static void audit_key(uint8_t key[AUDIT_KEY_LEN], const uint8_t org_id[AUTHD_ID_LEN], int64_t at,
		      uint32_t seq)
{
	memcpy(key, org_id, AUTHD_ID_LEN);
	authd_put_be64(key + AUTHD_ID_LEN, (uint64_t)at);
	authd_put_be32(key + AUTHD_ID_LEN + 8, seq);
}

/* One more than the organization's last record of that second (writes
 * are serialized: no two jobs pick the same). */
static int audit_next_seq(MDB_txn *txn, const uint8_t org_id[AUTHD_ID_LEN], int64_t at,
			  uint32_t *seq)
{
	MDB_cursor *cur = NULL;
	uint8_t key[AUDIT_KEY_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	audit_key(key, org_id, at + 1, 0);
	*seq = 0;
	if (mdb_cursor_open(txn, lmdb_dbi(DB_AUDIT), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc =
	    rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == AUDIT_KEY_LEN && memcmp(k.mv_data, org_id, AUTHD_ID_LEN) == 0 &&
	    authd_get_be64((const uint8_t *)k.mv_data + AUTHD_ID_LEN) == (uint64_t)at) {
		uint32_t last = authd_get_be32((const uint8_t *)k.mv_data + AUTHD_ID_LEN + 8);

		if (last == UINT32_MAX)
			rc = MDB_KEYEXIST; /* the second is full */
		*seq = last + 1;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_KEYEXIST)
		return STORE_E_FULL;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_E_IO;
}

int lmdb_audit_add(struct store_txn *t, const struct audit_rec *a)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[AUDIT_KEY_LEN];
	char actor[AUTHD_ID_HEX + 1], subject[AUTHD_ID_HEX + 1];
	json_t *o;
	char *text = NULL;
	uint8_t *val = NULL;
	size_t len;
	uint32_t seq;
	int rc;

	if (a->at < 0)
		return STORE_E_IO;
	if ((rc = audit_next_seq(txn, a->org_id, a->at, &seq)) != 0)
		return rc;
	authd_hex(a->actor, AUTHD_ID_LEN, actor);
	authd_hex(a->subject, AUTHD_ID_LEN, subject);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "actor", actor, "via",
		      core_audit_via_name((enum audit_via)a->via), "action",
		      core_audit_name((enum audit_action)a->action), "subject", subject, "detail",
		      a->detail, "ip", a->ip);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL ||
	    (val = malloc((len = strlen(text)) + 1)) == NULL) {
		rc = STORE_E_IO;
		goto out;
	}
	val[0] = AUDIT_V1;
	memcpy(val + 1, text, len);
	audit_key(key, a->org_id, a->at, seq);
	rc = lmdb_put(txn, DB_AUDIT, key, sizeof(key), val, len + 1);
out:
	free(val);
	free(text);
	json_decref(o);
	return rc;
}

static int audit_decode(const MDB_val *k, const MDB_val *v, struct audit_rec *a)
{
	const uint8_t *p = k->mv_data;
	const char *q = v->mv_data;
	const char *actor, *via, *action, *subject, *detail, *ip;
	json_t *o = NULL;
	int rc = STORE_E_CORRUPT;

	if (k->mv_size != AUDIT_KEY_LEN || v->mv_size < 2 || q[0] != AUDIT_V1)
		return STORE_E_CORRUPT;
	o = json_loadb(q + 1, v->mv_size - 1, 0, NULL);
	if (json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s:s}", "actor", &actor, "via", &via, "action",
			&action, "subject", &subject, "detail", &detail, "ip", &ip) != 0)
		goto out;
	memset(a, 0, sizeof(*a));
	memcpy(a->org_id, p, AUTHD_ID_LEN);
	a->at = (int64_t)authd_get_be64(p + AUTHD_ID_LEN);
	a->seq = authd_get_be32(p + AUTHD_ID_LEN + 8);
	a->via = (uint8_t)core_audit_via_parse(via);
	a->action = (uint16_t)core_audit_parse(action);
	if (authd_unhex(actor, strlen(actor), a->actor, AUTHD_ID_LEN) != 0 ||
	    authd_unhex(subject, strlen(subject), a->subject, AUTHD_ID_LEN) != 0 ||
	    strlen(detail) > AUDIT_DETAIL_MAX || strlen(ip) > EVENT_IP_MAX)
		goto out;
	snprintf(a->detail, sizeof(a->detail), "%s", detail);
	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int lmdb_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const struct event_cursor *before, size_t limit,
		    int (*fn)(void *arg, const struct audit_rec *a), void *arg)
{
	MDB_cursor *cur = NULL;
	uint8_t end[AUDIT_KEY_LEN];
	MDB_val k = {AUDIT_KEY_LEN, end}, v;
	struct audit_rec a;
	size_t n = 0;
	int rc;

	if (before && (before->seq > UINT32_MAX || before->at < 0))
		return 0; /* no record is before a cursor no listing gave */
	if (before)
		audit_key(end, org_id, before->at, (uint32_t)before->seq);
	else
		audit_key(end, org_id, INT64_MAX, UINT32_MAX); /* past every time */
	if (mdb_cursor_open(lmdb_of(t), lmdb_dbi(DB_AUDIT), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc =
	    rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && n < limit && k.mv_size == AUDIT_KEY_LEN &&
	       memcmp(k.mv_data, org_id, AUTHD_ID_LEN) == 0) {
		if ((rc = audit_decode(&k, &v, &a)) != 0 || (rc = fn(arg, &a)) != 0)
			break;
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc > 0 ? STORE_E_IO : rc;
}
