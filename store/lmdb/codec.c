/*
 * The LMDB engine's records: how each kind is keyed and packed. Decoders
 * check every length and the version byte, so a damaged or foreign value
 * is reported as STORE_E_CORRUPT instead of being half-read; getters write
 * their output only once the whole record decoded.
 */
#include "lmdb-internal.h"

#include <log.h>
#include <openssl/crypto.h>

#include <endian.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_V1 1

/* --- packing helpers ------------------------------------------------------ */

struct pack {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

static void put_bytes(struct pack *w, const void *src, size_t n)
{
	if (w->len + n > w->cap) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct pack *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

/* Little-endian on disk; one store on the hosts we run on. */
static void put_i64(struct pack *w, int64_t v)
{
	uint64_t le = htole64((uint64_t)v);

	put_bytes(w, &le, 8);
}

static void get_bytes(struct pack *r, void *dst, size_t n)
{
	if (r->len + n > r->cap) {
		r->bad = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->len, n);
	r->len += n;
}

static uint8_t get_u8(struct pack *r)
{
	uint8_t v = 0;

	get_bytes(r, &v, 1);
	return v;
}

static int64_t get_i64(struct pack *r)
{
	uint64_t le = 0;

	get_bytes(r, &le, 8);
	return (int64_t)le64toh(le);
}

static struct pack reader(const MDB_val *v)
{
	struct pack r = {v->mv_data, 0, v->mv_size, false};

	return r;
}

/* Reads and checks a whole packed record; 0 or STORE_E_CORRUPT. */
static int finish_read(struct pack *r)
{
	return r->bad || r->len != r->cap ? STORE_E_CORRUPT : 0;
}

/* --- JSON records ----------------------------------------------------------- */

static int put_json(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	size_t len;
	uint8_t *buf;
	int rc;

	if (text == NULL)
		return STORE_E_IO;
	len = strlen(text);
	buf = malloc(len + 1);
	if (buf == NULL) {
		authd_strfreezero(text);
		return STORE_E_IO;
	}
	buf[0] = REC_V1;
	memcpy(buf + 1, text, len);
	rc = lmdb_put(txn, db, key, klen, buf, len + 1);
	authd_freezero(buf, len + 1);
	authd_strfreezero(text);
	return rc;
}

/*
 * Accounts are read on every session check, so they are packed rather than
 * JSON: version 3, org id, times, then three length-prefixed strings, then
 * when it was locked (version 2 records: never).
 */
#define ACCOUNT_V1 2
#define ACCOUNT_V  3

static void put_str(struct pack *w, const char *str)
{
	size_t n = strlen(str);
	uint8_t len[2] = {(uint8_t)(n & 0xff), (uint8_t)(n >> 8)};

	put_bytes(w, len, 2);
	put_bytes(w, str, n);
}

static void get_str(struct pack *r, char *dst, size_t size)
{
	uint8_t len[2];
	size_t n;

	get_bytes(r, len, 2);
	n = (size_t)len[0] | (size_t)len[1] << 8;
	if (r->bad || n >= size) {
		r->bad = true;
		dst[0] = '\0';
		return;
	}
	get_bytes(r, dst, n);
	dst[n] = '\0';
	if (memchr(dst, '\0', n) != NULL)
		r->bad = true;
}

int lmdb_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct account tmp;
	struct account *a = &tmp;
	struct pack r;
	uint8_t version;
	int rc = lmdb_get(txn, DB_ACCOUNTS, id, AUTHD_ID_LEN, &v);

	if (rc != 0)
		return rc;
	r = reader(&v);
	version = get_u8(&r);
	if (version != ACCOUNT_V1 && version != ACCOUNT_V)
		return STORE_E_CORRUPT;
	memcpy(a->id, id, AUTHD_ID_LEN);
	get_bytes(&r, a->org_id, AUTHD_ID_LEN);
	a->created_at = get_i64(&r);
	a->password_changed_at = get_i64(&r);
	get_str(&r, a->email, sizeof(a->email));
	get_str(&r, a->name, sizeof(a->name));
	get_str(&r, a->pw_hash, sizeof(a->pw_hash));
	a->locked_at = version == ACCOUNT_V ? get_i64(&r) : 0;
	if (finish_read(&r) != 0) {
		log_err("corrupt account record");
		rc = STORE_E_CORRUPT;
	} else {
		*out = tmp;
	}
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
}

int lmdb_account_put(struct store_txn *t, const struct account *a)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[1 + AUTHD_ID_LEN + 16 + 3 * 2 + sizeof(a->email) + sizeof(a->name) +
		    sizeof(a->pw_hash) + 8];
	struct pack w = {buf, 0, sizeof(buf), false};
	struct account old;
	int rc;

	put_u8(&w, ACCOUNT_V);
	put_bytes(&w, a->org_id, AUTHD_ID_LEN);
	put_i64(&w, a->created_at);
	put_i64(&w, a->password_changed_at);
	put_str(&w, a->email);
	put_str(&w, a->name);
	put_str(&w, a->pw_hash);
	put_i64(&w, a->locked_at);
	if (w.bad)
		AUTHD_BUG("account record size");
	/* A new email: the old one no longer finds the account. */
	if ((rc = lmdb_account_get(t, a->id, &old)) == 0 && strcmp(old.email, a->email) != 0 &&
	    (rc = lmdb_del(txn, DB_EMAILS, old.email, strlen(old.email))) == STORE_E_NOTFOUND)
		rc = 0;
	OPENSSL_cleanse(&old, sizeof(old));
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	rc = lmdb_put(txn, DB_ACCOUNTS, a->id, AUTHD_ID_LEN, buf, w.len);
	if (rc == 0)
		rc = lmdb_put(txn, DB_EMAILS, a->email, strlen(a->email), a->id, AUTHD_ID_LEN);
	return rc;
}

int lmdb_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	int rc = lmdb_get(txn, DB_EMAILS, email, strlen(email), &v);

	if (rc != 0)
		return rc;
	if (v.mv_size != AUTHD_ID_LEN)
		return STORE_E_CORRUPT;
	memcpy(id, v.mv_data, AUTHD_ID_LEN);
	return 0;
}

int lmdb_org_put(struct store_txn *t, const struct org *o)
{
	MDB_txn *txn = lmdb_of(t);
	json_t *obj =
	    json_pack("{s:s, s:I}", "name", o->name, "created", (json_int_t)o->created_at);
	int rc;

	if (obj == NULL)
		return STORE_E_IO;
	rc = put_json(txn, DB_ORGS, o->id, AUTHD_ID_LEN, obj);
	json_decref(obj);
	return rc;
}

/* Reads a JSON record (version byte, then the object); NULL if damaged. */
static json_t *get_json(const MDB_val *v)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < 2 || p[0] != REC_V1)
		return NULL;
	return json_loadb((const char *)p + 1, v->mv_size - 1, 0, NULL);
}

int lmdb_org_decode(const MDB_val *key, const MDB_val *val, struct org *o)
{
	json_t *obj = get_json(val);
	const char *name;
	int rc = STORE_E_CORRUPT;

	if (obj == NULL || key->mv_size != AUTHD_ID_LEN)
		goto out;
	name = json_string_value(json_object_get(obj, "name"));
	if (name == NULL || strlen(name) >= sizeof(o->name) ||
	    !json_is_integer(json_object_get(obj, "created")))
		goto out;
	memset(o, 0, sizeof(*o));
	memcpy(o->id, key->mv_data, AUTHD_ID_LEN);
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->created_at = (int64_t)json_integer_value(json_object_get(obj, "created"));
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* --- the account's cluster ------------------------------------------------- */

/*
 * An account's TOTP credential, sessions and pending logins share one
 * database under keys that start with the account id, so the
 * records one request writes sit together, mostly on one page: a TOTP login
 * step dirties about one leaf instead of one per database.
 */
static size_t cluster_key(uint8_t out[CLUSTER_KEY_MAX], const uint8_t account_id[AUTHD_ID_LEN],
			  enum cluster_kind kind, const uint8_t *hash)
{
	memcpy(out, account_id, AUTHD_ID_LEN);
	out[AUTHD_ID_LEN] = (uint8_t)kind;
	if (hash == NULL)
		return AUTHD_ID_LEN + 1;
	memcpy(out + AUTHD_ID_LEN + 1, hash, CLUSTER_HASH_LEN);
	return CLUSTER_KEY_MAX;
}

static int cluster_get(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], enum cluster_kind kind,
		       const uint8_t *hash, MDB_val *v)
{
	uint8_t key[CLUSTER_KEY_MAX];
	size_t klen = cluster_key(key, account_id, kind, hash);

	return lmdb_get(txn, DB_CLUSTER, key, klen, v);
}

static int cluster_put(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], enum cluster_kind kind,
		       const uint8_t *hash, const struct pack *w)
{
	uint8_t key[CLUSTER_KEY_MAX];
	size_t klen = cluster_key(key, account_id, kind, hash);

	return lmdb_put(txn, DB_CLUSTER, key, klen, w->p, w->len);
}

/* Deleting what is not there is not an error. */
static int cluster_del(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], enum cluster_kind kind,
		       const uint8_t *hash)
{
	uint8_t key[CLUSTER_KEY_MAX];
	size_t klen = cluster_key(key, account_id, kind, hash);
	int rc = lmdb_del(txn, DB_CLUSTER, key, klen);

	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

int lmdb_cluster_key_kind(const MDB_val *k, struct token_ref *ref)
{
	const uint8_t *p = k->mv_data;

	if (k->mv_size == AUTHD_ID_LEN + 1 && p[AUTHD_ID_LEN] == KIND_TOTP)
		return KIND_TOTP;
	if (k->mv_size != CLUSTER_KEY_MAX ||
	    (p[AUTHD_ID_LEN] != KIND_SESSION && p[AUTHD_ID_LEN] != KIND_LOGIN &&
	     p[AUTHD_ID_LEN] != KIND_LINK && p[AUTHD_ID_LEN] != KIND_DEVICE &&
	     p[AUTHD_ID_LEN] != KIND_CHALLENGE))
		return 0;
	memcpy(ref->account_id, p, AUTHD_ID_LEN);
	memset(ref->hash, 0, sizeof(ref->hash));
	memcpy(ref->hash, p + AUTHD_ID_LEN + 1, CLUSTER_HASH_LEN);
	return p[AUTHD_ID_LEN];
}

struct collect_ctx {
	uint8_t (*hashes)[CLUSTER_HASH_LEN];
	size_t n, cap;
	bool oom;
};

static int collect_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct collect_ctx *ctx = arg;

	(void)txn;
	(void)v;
	if (k->mv_size != CLUSTER_KEY_MAX)
		return 0;
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? 2 * ctx->cap : 16;
		void *p = realloc(ctx->hashes, cap * CLUSTER_HASH_LEN);

		if (p == NULL) {
			ctx->oom = true;
			return 1;
		}
		ctx->hashes = p;
		ctx->cap = cap;
	}
	memcpy(ctx->hashes[ctx->n++], (const uint8_t *)k->mv_data + AUTHD_ID_LEN + 1,
	       CLUSTER_HASH_LEN);
	return 0;
}

/* Deletes every record of one kind of the account except `keep` (NULL: all). */
static int cluster_del_kind(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			    enum cluster_kind kind, const uint8_t *keep)
{
	uint8_t prefix[CLUSTER_KEY_MAX];
	size_t plen = cluster_key(prefix, account_id, kind, NULL);
	struct collect_ctx ctx = {NULL, 0, 0, false};
	int rc;

	/* Collect first, delete after: the cursor never walks a changing tree. */
	rc = lmdb_walk(txn, DB_CLUSTER, prefix, plen, plen, collect_one, &ctx);
	if (rc == 0 && ctx.oom)
		rc = STORE_E_IO;
	for (size_t i = 0; rc == 0 && i < ctx.n; i++) {
		if (keep && memcmp(ctx.hashes[i], keep, CLUSTER_HASH_LEN) == 0)
			continue;
		rc = cluster_del(txn, account_id, kind, ctx.hashes[i]);
	}
	free(ctx.hashes);
	return rc;
}

/* --- sessions -------------------------------------------------------------- */

/* Version 2 adds who began the session (ip, browser); version 1 records
 * read with both empty. Version 3 adds its flags (0 before). */
#define SESSION_V2 2
#define SESSION_V  3
#define SESSION_LEN                                                                                \
	(1 + 2 * AUTHD_ID_LEN + 1 + 4 * 8 + 2 + SESSION_IP_MAX + 2 + SESSION_BROWSER_MAX + 1)

int lmdb_session_get(struct store_txn *t, const struct token_ref *ref, struct session *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct session tmp;
	struct session *s = &tmp;
	struct pack r;
	uint8_t version;
	int rc = cluster_get(txn, ref->account_id, KIND_SESSION, ref->hash, &v);

	if (rc != 0)
		return rc;
	r = reader(&v);
	version = get_u8(&r);
	if (version != REC_V1 && version != SESSION_V2 && version != SESSION_V)
		return STORE_E_CORRUPT;
	get_bytes(&r, s->account_id, AUTHD_ID_LEN);
	get_bytes(&r, s->org_id, AUTHD_ID_LEN);
	s->aal = get_u8(&r);
	s->created_at = get_i64(&r);
	s->last_seen = get_i64(&r);
	s->expires_at = get_i64(&r);
	s->second_factor_at = get_i64(&r);
	s->ip[0] = s->browser[0] = '\0';
	s->flags = 0;
	if (version >= SESSION_V2) {
		get_str(&r, s->ip, sizeof(s->ip));
		get_str(&r, s->browser, sizeof(s->browser));
	}
	if (version == SESSION_V)
		s->flags = get_u8(&r);
	if (memcmp(s->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		return STORE_E_CORRUPT;
	if ((rc = finish_read(&r)) == 0)
		*out = tmp;
	return rc;
}

struct session_refs {
	struct token_ref refs[256];
	size_t n;
};

static int session_ref_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct session_refs *c = arg;

	(void)txn;
	(void)v;
	if (c->n < sizeof(c->refs) / sizeof(c->refs[0]) &&
	    lmdb_cluster_key_kind(k, &c->refs[c->n]) == KIND_SESSION)
		c->n++;
	return 0;
}

int lmdb_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
		       void *arg)
{
	uint8_t prefix[CLUSTER_KEY_MAX];
	size_t plen = cluster_key(prefix, account_id, KIND_SESSION, NULL);
	struct session_refs *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return STORE_E_IO;
	/* References first (the records are read by them, as a getter does);
	 * an account has a few sessions, never hundreds. */
	rc = lmdb_walk(lmdb_of(t), DB_CLUSTER, prefix, plen, plen, session_ref_one, c);
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		struct session s;

		if ((rc = lmdb_session_get(t, &c->refs[i], &s)) == 0)
			rc = fn(arg, &c->refs[i], &s);
	}
	free(c);
	return rc;
}

int lmdb_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[SESSION_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	if (memcmp(s->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		AUTHD_BUG("session filed under another account");
	put_u8(&w, SESSION_V);
	put_bytes(&w, s->account_id, AUTHD_ID_LEN);
	put_bytes(&w, s->org_id, AUTHD_ID_LEN);
	put_u8(&w, s->aal);
	put_i64(&w, s->created_at);
	put_i64(&w, s->last_seen);
	put_i64(&w, s->expires_at);
	put_i64(&w, s->second_factor_at);
	put_str(&w, s->ip);
	put_str(&w, s->browser);
	put_u8(&w, s->flags);
	if (w.bad)
		AUTHD_BUG("session record size");
	return cluster_put(txn, ref->account_id, KIND_SESSION, ref->hash, &w);
}

int lmdb_session_del(struct store_txn *t, const struct token_ref *ref)
{
	MDB_txn *txn = lmdb_of(t);
	return cluster_del(txn, ref->account_id, KIND_SESSION, ref->hash);
}

int lmdb_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			 const struct token_ref *keep)
{
	MDB_txn *txn = lmdb_of(t);
	return cluster_del_kind(txn, account_id, KIND_SESSION, keep ? keep->hash : NULL);
}

/* --- pending logins ---------------------------------------------------------- */

#define LOGIN_LEN (1 + AUTHD_ID_LEN + 2 * 8 + 1)

int lmdb_login_get(struct store_txn *t, const struct token_ref *ref, struct login *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct login tmp;
	struct login *l = &tmp;
	struct pack r;
	int rc = cluster_get(txn, ref->account_id, KIND_LOGIN, ref->hash, &v);

	if (rc != 0)
		return rc;
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	get_bytes(&r, l->account_id, AUTHD_ID_LEN);
	l->created_at = get_i64(&r);
	l->expires_at = get_i64(&r);
	l->attempts = get_u8(&r);
	if (memcmp(l->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		return STORE_E_CORRUPT;
	if ((rc = finish_read(&r)) == 0)
		*out = tmp;
	return rc;
}

int lmdb_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[LOGIN_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	if (memcmp(l->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		AUTHD_BUG("login filed under another account");
	put_u8(&w, REC_V1);
	put_bytes(&w, l->account_id, AUTHD_ID_LEN);
	put_i64(&w, l->created_at);
	put_i64(&w, l->expires_at);
	put_u8(&w, l->attempts);
	if (w.bad)
		AUTHD_BUG("login record size");
	return cluster_put(txn, ref->account_id, KIND_LOGIN, ref->hash, &w);
}

int lmdb_login_del(struct store_txn *t, const struct token_ref *ref)
{
	MDB_txn *txn = lmdb_of(t);
	return cluster_del(txn, ref->account_id, KIND_LOGIN, ref->hash);
}

int lmdb_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	return cluster_del_kind(txn, account_id, KIND_LOGIN, NULL);
}

/* --- TOTP ------------------------------------------------------------------------ */

#define TOTP_LEN (1 + 1 + 3 + 8 + 8 + 1 + SEALED_SEED_MAX + AUTHD_ID_LEN + 8 + 1 + SEALED_SEED_MAX)

int lmdb_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], struct totp_rec *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct pack r;
	struct totp_rec tmp;
	struct totp_rec *rec = &tmp;
	int rc = cluster_get(txn, account_id, KIND_TOTP, NULL, &v);

	if (rc != 0)
		return rc;
	memset(rec, 0, sizeof(*rec));
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		goto corrupt;
	rec->enabled = get_u8(&r) != 0;
	rec->alg = get_u8(&r);
	rec->digits = get_u8(&r);
	rec->period = get_u8(&r);
	rec->last_step = get_i64(&r);
	rec->enabled_at = get_i64(&r);
	rec->seed_len = get_u8(&r);
	if (rec->seed_len > SEALED_SEED_MAX)
		goto corrupt;
	get_bytes(&r, rec->seed, rec->seed_len);
	get_bytes(&r, rec->pending_id, AUTHD_ID_LEN);
	rec->pending_expires_at = get_i64(&r);
	rec->pending_seed_len = get_u8(&r);
	if (rec->pending_seed_len > SEALED_SEED_MAX)
		goto corrupt;
	get_bytes(&r, rec->pending_seed, rec->pending_seed_len);
	if ((rc = finish_read(&r)) == 0)
		*out = tmp;
out:
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
corrupt:
	rc = STORE_E_CORRUPT;
	goto out;
}

int lmdb_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct totp_rec *rec)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[TOTP_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	put_u8(&w, REC_V1);
	put_u8(&w, rec->enabled);
	put_u8(&w, rec->alg);
	put_u8(&w, rec->digits);
	put_u8(&w, rec->period);
	put_i64(&w, rec->last_step);
	put_i64(&w, rec->enabled_at);
	/* Seeds are stored at their length: a smaller record keeps more of
	 * an account's cluster on one page. */
	put_u8(&w, rec->seed_len);
	put_bytes(&w, rec->seed, rec->seed_len);
	put_bytes(&w, rec->pending_id, AUTHD_ID_LEN);
	put_i64(&w, rec->pending_expires_at);
	put_u8(&w, rec->pending_seed_len);
	put_bytes(&w, rec->pending_seed, rec->pending_seed_len);
	if (w.bad)
		AUTHD_BUG("totp record size");
	return cluster_put(txn, account_id, KIND_TOTP, NULL, &w);
}

int lmdb_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	return cluster_del(txn, account_id, KIND_TOTP, NULL);
}

/* --- backup codes ------------------------------------------------------------------ */

#define BACKUP_LEN (1 + 8 + OTP_BACKUP_COUNT * (OTP_BACKUP_SALT_LEN + OTP_BACKUP_HASH_LEN + 8))

int lmdb_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct backup_rec *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct backup_rec tmp;
	struct backup_rec *b = &tmp;
	struct pack r;
	int rc = lmdb_get(txn, DB_BACKUP, account_id, AUTHD_ID_LEN, &v);

	if (rc != 0)
		return rc;
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	b->created_at = get_i64(&r);
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		get_bytes(&r, b->salt[i], OTP_BACKUP_SALT_LEN);
		get_bytes(&r, b->hash[i], OTP_BACKUP_HASH_LEN);
		b->used_at[i] = get_i64(&r);
	}
	if ((rc = finish_read(&r)) == 0)
		*out = tmp;
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
}

int lmdb_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct backup_rec *b)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[BACKUP_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	put_u8(&w, REC_V1);
	put_i64(&w, b->created_at);
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		put_bytes(&w, b->salt[i], OTP_BACKUP_SALT_LEN);
		put_bytes(&w, b->hash[i], OTP_BACKUP_HASH_LEN);
		put_i64(&w, b->used_at[i]);
	}
	if (w.bad)
		AUTHD_BUG("backup record size");
	return lmdb_put(txn, DB_BACKUP, account_id, AUTHD_ID_LEN, buf, w.len);
}

int lmdb_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	int rc = lmdb_del(txn, DB_BACKUP, account_id, AUTHD_ID_LEN);

	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

/* --- throttles ------------------------------------------------------------------- */

#define THROTTLE_LEN (1 + 4 + 8 + 1 + 1 + THROTTLE_RING * 8)

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int lmdb_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		      struct throttle_rec *out)
{
	MDB_val v;
	const uint8_t *p;
	struct throttle_rec r;
	int rc = lmdb_get(lmdb_of(t), DB_THROTTLE, key, THROTTLE_KEY_LEN, &v);

	memset(&r, 0, sizeof(r));
	if (rc == STORE_E_NOTFOUND) {
		*out = r;
		return 0;
	}
	if (rc != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size != THROTTLE_LEN || p[0] != 1)
		return STORE_E_CORRUPT;
	r.consecutive = (uint32_t)get_le(p + 1, 4);
	r.last_failure = (int64_t)get_le(p + 5, 8);
	r.count = p[13];
	r.pos = p[14];
	if (r.count > THROTTLE_RING || r.pos >= THROTTLE_RING)
		return STORE_E_CORRUPT;
	for (int i = 0; i < THROTTLE_RING; i++)
		r.ring[i] = (int64_t)get_le(p + 15 + 8 * i, 8);
	*out = r;
	return 0;
}

int lmdb_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		      const struct throttle_rec *r)
{
	uint8_t buf[THROTTLE_LEN];

	buf[0] = 1;
	put_le(buf + 1, r->consecutive, 4);
	put_le(buf + 5, (uint64_t)r->last_failure, 8);
	buf[13] = r->count;
	buf[14] = r->pos;
	for (int i = 0; i < THROTTLE_RING; i++)
		put_le(buf + 15 + 8 * i, (uint64_t)r->ring[i], 8);
	return lmdb_put(lmdb_of(t), DB_THROTTLE, key, THROTTLE_KEY_LEN, buf, sizeof(buf));
}

/* --- device link offers -------------------------------------------------------------- */

#define LINK_LEN (1 + 2 * AUTHD_ID_LEN + 3 * 8 + 1 + SEALED_SEED_MAX)

int lmdb_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *out)
{
	MDB_val v;
	struct push_link l;
	struct pack r;
	int rc = cluster_get(lmdb_of(t), ref->account_id, KIND_LINK, ref->hash, &v);

	if (rc != 0)
		return rc;
	memset(&l, 0, sizeof(l));
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	get_bytes(&r, l.account_id, AUTHD_ID_LEN);
	get_bytes(&r, l.device_id, AUTHD_ID_LEN);
	l.created_at = get_i64(&r);
	l.expires_at = get_i64(&r);
	l.linked_at = get_i64(&r);
	l.seed_len = get_u8(&r);
	if (l.seed_len > SEALED_SEED_MAX)
		return STORE_E_CORRUPT;
	get_bytes(&r, l.seed, l.seed_len);
	if (memcmp(l.account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		return STORE_E_CORRUPT;
	if ((rc = finish_read(&r)) == 0)
		*out = l;
	return rc;
}

int lmdb_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l)
{
	uint8_t buf[LINK_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	if (memcmp(l->account_id, ref->account_id, AUTHD_ID_LEN) != 0 ||
	    l->seed_len > SEALED_SEED_MAX)
		AUTHD_BUG("link offer filed under another account, or its seed too long");
	put_u8(&w, REC_V1);
	put_bytes(&w, l->account_id, AUTHD_ID_LEN);
	put_bytes(&w, l->device_id, AUTHD_ID_LEN);
	put_i64(&w, l->created_at);
	put_i64(&w, l->expires_at);
	put_i64(&w, l->linked_at);
	put_u8(&w, l->seed_len);
	put_bytes(&w, l->seed, l->seed_len);
	if (w.bad)
		AUTHD_BUG("link record size");
	return cluster_put(lmdb_of(t), ref->account_id, KIND_LINK, ref->hash, &w);
}

int lmdb_link_del(struct store_txn *t, const struct token_ref *ref)
{
	return cluster_del(lmdb_of(t), ref->account_id, KIND_LINK, ref->hash);
}

int lmdb_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return cluster_del_kind(lmdb_of(t), account_id, KIND_LINK, NULL);
}

/* --- devices ------------------------------------------------------------------------- */

/*
 * A device lives in its account's cluster ('D' || device id), and
 * DB_DEVICES maps its id to the account, for its channel, which names only
 * the device.
 */
#define DEVICE_LEN                                                                                 \
	(1 + 2 * AUTHD_ID_LEN + MP_KEY_LEN + 2 + PUSH_NAME_MAX + 2 * 8 + 2 + EVENT_IP_MAX + 2 +    \
	 PUSH_LOCATION_MAX + 1 + SEALED_SEED_MAX + 8 + 2 + MP_WAKE_TOKEN_MAX)
/* Version 2 adds the wake token at the end; version 1 reads as none. */
#define DEVICE_V2 2

static int device_decode(const MDB_val *v, struct push_device *out)
{
	struct push_device d;
	struct pack r = reader(v);
	uint8_t version;
	int rc;

	memset(&d, 0, sizeof(d));
	version = get_u8(&r);
	if (version != REC_V1 && version != DEVICE_V2)
		return STORE_E_CORRUPT;
	get_bytes(&r, d.id, AUTHD_ID_LEN);
	get_bytes(&r, d.account_id, AUTHD_ID_LEN);
	get_bytes(&r, d.public_key, MP_KEY_LEN);
	get_str(&r, d.name, sizeof(d.name));
	d.created_at = get_i64(&r);
	d.last_seen = get_i64(&r);
	get_str(&r, d.last_ip, sizeof(d.last_ip));
	get_str(&r, d.last_location, sizeof(d.last_location));
	d.seed_len = get_u8(&r);
	if (d.seed_len > SEALED_SEED_MAX)
		return STORE_E_CORRUPT;
	get_bytes(&r, d.seed, d.seed_len);
	d.last_step = get_i64(&r);
	if (version == DEVICE_V2)
		get_str(&r, d.wake_token, sizeof(d.wake_token));
	if ((rc = finish_read(&r)) == 0)
		*out = d;
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

int lmdb_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *out)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	struct push_device d;
	int rc = lmdb_get(txn, DB_DEVICES, id, AUTHD_ID_LEN, &v);

	if (rc != 0)
		return rc;
	if (v.mv_size != AUTHD_ID_LEN)
		return STORE_E_CORRUPT;
	if ((rc = cluster_get(txn, v.mv_data, KIND_DEVICE, id, &v)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_CORRUPT
					      : rc; /* an index without its device */
	if ((rc = device_decode(&v, &d)) != 0)
		return rc;
	if (memcmp(d.id, id, AUTHD_ID_LEN) != 0)
		rc = STORE_E_CORRUPT;
	else
		*out = d;
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

int lmdb_device_put(struct store_txn *t, const struct push_device *d)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t buf[DEVICE_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};
	int rc;

	if (d->seed_len > SEALED_SEED_MAX)
		AUTHD_BUG("device seed too long");
	put_u8(&w, DEVICE_V2);
	put_bytes(&w, d->id, AUTHD_ID_LEN);
	put_bytes(&w, d->account_id, AUTHD_ID_LEN);
	put_bytes(&w, d->public_key, MP_KEY_LEN);
	put_str(&w, d->name);
	put_i64(&w, d->created_at);
	put_i64(&w, d->last_seen);
	put_str(&w, d->last_ip);
	put_str(&w, d->last_location);
	put_u8(&w, d->seed_len);
	put_bytes(&w, d->seed, d->seed_len);
	put_i64(&w, d->last_step);
	put_str(&w, d->wake_token);
	if (w.bad)
		AUTHD_BUG("device record size");
	rc = cluster_put(txn, d->account_id, KIND_DEVICE, d->id, &w);
	if (rc == 0)
		rc = lmdb_put(txn, DB_DEVICES, d->id, AUTHD_ID_LEN, d->account_id, AUTHD_ID_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int lmdb_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], int64_t last_step)
{
	struct push_device d;
	int rc = lmdb_device_get(t, id, &d);

	if (rc == 0 && memcmp(d.account_id, account_id, AUTHD_ID_LEN) != 0)
		rc = STORE_E_NOTFOUND;
	if (rc == 0) {
		d.last_step = last_step;
		rc = lmdb_device_put(t, &d);
	}
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

int lmdb_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	MDB_val v;
	int rc = lmdb_get(txn, DB_DEVICES, id, AUTHD_ID_LEN, &v);

	if (rc != 0)
		return rc;
	if (v.mv_size != AUTHD_ID_LEN || memcmp(v.mv_data, account_id, AUTHD_ID_LEN) != 0)
		return STORE_E_NOTFOUND; /* another account's */
	if ((rc = lmdb_del(txn, DB_DEVICES, id, AUTHD_ID_LEN)) != 0)
		return rc;
	return cluster_del(txn, account_id, KIND_DEVICE, id);
}

struct list_ctx {
	int (*fn)(void *arg, const struct push_device *d);
	void *arg;
	int rc;
};

static int list_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct list_ctx *ctx = arg;
	struct push_device d;

	(void)txn;
	if (k->mv_size != CLUSTER_KEY_MAX)
		return 0;
	if ((ctx->rc = device_decode(v, &d)) == 0)
		ctx->rc = ctx->fn(ctx->arg, &d);
	OPENSSL_cleanse(&d, sizeof(d));
	return ctx->rc != 0;
}

int lmdb_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct push_device *d), void *arg)
{
	uint8_t prefix[CLUSTER_KEY_MAX];
	size_t plen = cluster_key(prefix, account_id, KIND_DEVICE, NULL);
	struct list_ctx ctx = {fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_CLUSTER, prefix, plen, plen, list_one, &ctx);

	return rc != 0 ? rc : ctx.rc;
}

/* --- push challenges and an account's push history ------------------------------------ */

#define CHALLENGE_LEN                                                                              \
	(1 + 3 * AUTHD_ID_LEN + AUTHD_HASH_LEN + MP_NONCE_LEN + 2 + 3 * 8 + 5 * 2 + EVENT_IP_MAX + \
	 PUSH_LOCATION_MAX + PUSH_BROWSER_MAX + PUSH_OS_MAX + PUSH_APPLICATION_MAX)

static int challenge_decode(const MDB_val *v, struct push_challenge *out)
{
	struct push_challenge c;
	struct pack r = reader(v);
	int rc;

	memset(&c, 0, sizeof(c));
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	get_bytes(&r, c.id, AUTHD_ID_LEN);
	get_bytes(&r, c.account_id, AUTHD_ID_LEN);
	get_bytes(&r, c.login_hash, AUTHD_HASH_LEN);
	get_bytes(&r, c.nonce, MP_NONCE_LEN);
	c.number = get_u8(&r);
	c.state = get_u8(&r);
	c.created_at = get_i64(&r);
	c.expires_at = get_i64(&r);
	c.answered_at = get_i64(&r);
	get_bytes(&r, c.answered_by, AUTHD_ID_LEN);
	get_str(&r, c.ctx.ip, sizeof(c.ctx.ip));
	get_str(&r, c.ctx.location, sizeof(c.ctx.location));
	get_str(&r, c.ctx.browser, sizeof(c.ctx.browser));
	get_str(&r, c.ctx.os, sizeof(c.ctx.os));
	get_str(&r, c.ctx.application, sizeof(c.ctx.application));
	if (c.number < 10 || c.number > 99)
		return STORE_E_CORRUPT;
	if ((rc = finish_read(&r)) == 0)
		*out = c;
	return rc;
}

int lmdb_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t id[AUTHD_ID_LEN], struct push_challenge *out)
{
	MDB_val v;
	struct push_challenge c;
	int rc = cluster_get(lmdb_of(t), account_id, KIND_CHALLENGE, id, &v);

	if (rc != 0)
		return rc;
	if ((rc = challenge_decode(&v, &c)) != 0)
		return rc;
	if (memcmp(c.account_id, account_id, AUTHD_ID_LEN) != 0 ||
	    memcmp(c.id, id, AUTHD_ID_LEN) != 0)
		return STORE_E_CORRUPT;
	*out = c;
	return 0;
}

int lmdb_challenge_put(struct store_txn *t, const struct push_challenge *c)
{
	uint8_t buf[CHALLENGE_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	put_u8(&w, REC_V1);
	put_bytes(&w, c->id, AUTHD_ID_LEN);
	put_bytes(&w, c->account_id, AUTHD_ID_LEN);
	put_bytes(&w, c->login_hash, AUTHD_HASH_LEN);
	put_bytes(&w, c->nonce, MP_NONCE_LEN);
	put_u8(&w, c->number);
	put_u8(&w, c->state);
	put_i64(&w, c->created_at);
	put_i64(&w, c->expires_at);
	put_i64(&w, c->answered_at);
	put_bytes(&w, c->answered_by, AUTHD_ID_LEN);
	put_str(&w, c->ctx.ip);
	put_str(&w, c->ctx.location);
	put_str(&w, c->ctx.browser);
	put_str(&w, c->ctx.os);
	put_str(&w, c->ctx.application);
	if (w.bad)
		AUTHD_BUG("challenge record size");
	return cluster_put(lmdb_of(t), c->account_id, KIND_CHALLENGE, c->id, &w);
}

int lmdb_challenge_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t id[AUTHD_ID_LEN])
{
	return cluster_del(lmdb_of(t), account_id, KIND_CHALLENGE, id);
}

struct challenge_list_ctx {
	int (*fn)(void *arg, const struct push_challenge *c);
	void *arg;
	int rc;
};

static int challenge_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct challenge_list_ctx *ctx = arg;
	struct push_challenge c;

	(void)txn;
	if (k->mv_size != CLUSTER_KEY_MAX)
		return 0;
	if ((ctx->rc = challenge_decode(v, &c)) == 0)
		ctx->rc = ctx->fn(ctx->arg, &c);
	return ctx->rc != 0;
}

int lmdb_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	uint8_t prefix[CLUSTER_KEY_MAX];
	size_t plen = cluster_key(prefix, account_id, KIND_CHALLENGE, NULL);
	struct challenge_list_ctx ctx = {fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_CLUSTER, prefix, plen, plen, challenge_one, &ctx);

	return rc != 0 ? rc : ctx.rc;
}

struct challenge_pending_ctx {
	int64_t since, now;
	size_t left;
	int (*fn)(void *arg, const struct push_challenge *c);
	void *arg;
	int rc;
};

static int challenge_pending_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct challenge_pending_ctx *ctx = arg;
	struct push_challenge c;

	(void)txn;
	if (k->mv_size != CLUSTER_KEY_MAX ||
	    ((const uint8_t *)k->mv_data)[AUTHD_ID_LEN] != KIND_CHALLENGE)
		return 0;
	if ((ctx->rc = challenge_decode(v, &c)) != 0)
		return 1;
	if (c.created_at < ctx->since || push_challenge_state(&c, ctx->now) != PUSH_PENDING)
		return 0;
	if (ctx->left == 0)
		return 1;
	ctx->left--;
	ctx->rc = ctx->fn(ctx->arg, &c);
	return ctx->rc != 0;
}

/* LMDB is never shared, so nothing asks this often: a walk of every
 * cluster, the challenges picked by their kind byte. */
int lmdb_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			    int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	struct challenge_pending_ctx ctx = {since, now, limit, fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_CLUSTER, NULL, 0, 0, challenge_pending_one, &ctx);

	return rc != 0 ? rc : ctx.rc;
}

#define PUSH_ACCOUNT_LEN (1 + 3 + 8 + 8 * PUSH_HOURLY_MAX)

int lmdb_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  struct push_account *out)
{
	MDB_val v;
	struct push_account a;
	struct pack r;
	int rc = cluster_get(lmdb_of(t), account_id, KIND_PUSH, NULL, &v);

	memset(&a, 0, sizeof(a));
	if (rc == STORE_E_NOTFOUND) {
		*out = a;
		return 0;
	}
	if (rc != 0)
		return rc;
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	a.n_sent = get_u8(&r);
	a.pos = get_u8(&r);
	a.denials = get_u8(&r);
	a.paused_at = get_i64(&r);
	for (int i = 0; i < PUSH_HOURLY_MAX; i++)
		a.sent[i] = get_i64(&r);
	if (a.n_sent > PUSH_HOURLY_MAX || a.pos >= PUSH_HOURLY_MAX)
		return STORE_E_CORRUPT;
	if ((rc = finish_read(&r)) == 0)
		*out = a;
	return rc;
}

int lmdb_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct push_account *a)
{
	uint8_t buf[PUSH_ACCOUNT_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};

	put_u8(&w, REC_V1);
	put_u8(&w, a->n_sent);
	put_u8(&w, a->pos);
	put_u8(&w, a->denials);
	put_i64(&w, a->paused_at);
	for (int i = 0; i < PUSH_HOURLY_MAX; i++)
		put_i64(&w, a->sent[i]);
	if (w.bad)
		AUTHD_BUG("push account record size");
	return cluster_put(lmdb_of(t), account_id, KIND_PUSH, NULL, &w);
}

/* --- where an account signs in from ------------------------------------------------- */

#define PLACES_LEN (1 + 1 + 16 * PLACES_MAX)

int lmdb_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct places_rec *out)
{
	MDB_val v;
	struct places_rec p;
	struct pack r;
	int rc = cluster_get(lmdb_of(t), account_id, KIND_PLACES, NULL, &v);

	memset(&p, 0, sizeof(p));
	if (rc == STORE_E_NOTFOUND) {
		*out = p;
		return 0;
	}
	if (rc != 0)
		return rc;
	r = reader(&v);
	if (get_u8(&r) != REC_V1)
		return STORE_E_CORRUPT;
	p.n = get_u8(&r);
	if (p.n > PLACES_MAX)
		return STORE_E_CORRUPT;
	for (int i = 0; i < p.n; i++) {
		p.net[i] = (uint64_t)get_i64(&r);
		p.seen[i] = get_i64(&r);
	}
	if ((rc = finish_read(&r)) == 0)
		*out = p;
	return rc;
}

int lmdb_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct places_rec *p)
{
	uint8_t buf[PLACES_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};
	uint8_t n = p->n > PLACES_MAX ? PLACES_MAX : p->n;

	put_u8(&w, REC_V1);
	put_u8(&w, n);
	for (int i = 0; i < n; i++) {
		put_i64(&w, (int64_t)p->net[i]);
		put_i64(&w, p->seen[i]);
	}
	if (w.bad)
		AUTHD_BUG("places record size");
	return cluster_put(lmdb_of(t), account_id, KIND_PLACES, NULL, &w);
}

/* --- recovery options -------------------------------------------------------------- */

/* Version 2 adds SMS as a second factor and a pending closing at the end
 * (recovery.h). */
#define RECOVERY_V2 2
#define RECOVERY_LEN                                                                               \
	(1 + 2 + EMAIL_MAX + 2 + RECOVERY_PHONE_MAX + 3 + 2 + EMAIL_MAX + 4 * RECOVERY_HASH_LEN +  \
	 4 * 8 + 1 + 1 + 8 + 1 + 8 + 2 + 8 * RECOVERY_SENDS_MAX + 8 + AUTHD_HASH_LEN +             \
	 RECOVERY_HASH_LEN + 8 + 1 + RECOVERY_HASH_LEN + 8 + 1)

int lmdb_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      struct recovery_rec *out)
{
	MDB_val v;
	struct recovery_rec r;
	struct pack p;
	uint8_t version;
	int rc = cluster_get(lmdb_of(t), account_id, KIND_RECOVERY, NULL, &v);

	memset(&r, 0, sizeof(r));
	if (rc == STORE_E_NOTFOUND) {
		*out = r;
		return 0;
	}
	if (rc != 0)
		return rc;
	p = reader(&v);
	version = get_u8(&p);
	if (version != REC_V1 && version != RECOVERY_V2)
		return STORE_E_CORRUPT;
	get_str(&p, r.email, sizeof(r.email));
	get_str(&p, r.phone, sizeof(r.phone));
	r.email_verified = get_u8(&p) != 0;
	r.phone_verified = get_u8(&p) != 0;
	r.pending = get_u8(&p);
	get_str(&p, r.pending_to, sizeof(r.pending_to));
	get_bytes(&p, r.pending_hash, RECOVERY_HASH_LEN);
	r.pending_expires = get_i64(&p);
	get_bytes(&p, r.reset_code, RECOVERY_HASH_LEN);
	r.reset_code_expires = get_i64(&p);
	get_bytes(&p, r.reset_link, RECOVERY_HASH_LEN);
	r.reset_link_expires = get_i64(&p);
	get_bytes(&p, r.grant, RECOVERY_HASH_LEN);
	r.grant_expires = get_i64(&p);
	r.grant_fails = get_u8(&p);
	r.fails = get_u8(&p);
	r.last_fail = get_i64(&p);
	r.option_fails = get_u8(&p);
	r.option_last_fail = get_i64(&p);
	r.n_sends = get_u8(&p);
	r.sends_pos = get_u8(&p);
	if (r.n_sends > RECOVERY_SENDS_MAX || r.sends_pos >= RECOVERY_SENDS_MAX || r.pending > 3)
		return STORE_E_CORRUPT;
	for (int i = 0; i < r.n_sends; i++)
		r.sends[i] = get_i64(&p);
	if (version == RECOVERY_V2) {
		r.sms_factor_at = get_i64(&p);
		get_bytes(&p, r.sms_login, AUTHD_HASH_LEN);
		get_bytes(&p, r.sms_code, RECOVERY_HASH_LEN);
		r.sms_code_expires = get_i64(&p);
		r.sms_sends = get_u8(&p);
		get_bytes(&p, r.close_hash, RECOVERY_HASH_LEN);
		r.close_expires = get_i64(&p);
		r.reset_proofed = get_u8(&p) != 0;
	}
	if ((rc = finish_read(&p)) == 0)
		*out = r;
	OPENSSL_cleanse(&r, sizeof(r));
	return rc;
}

/* The phones index key of (phone, account): phone, a 0, the account id. */
static size_t phone_key(uint8_t out[RECOVERY_PHONE_MAX + 1 + AUTHD_ID_LEN], const char *phone,
			const uint8_t account_id[AUTHD_ID_LEN])
{
	size_t n = strnlen(phone, RECOVERY_PHONE_MAX);

	memcpy(out, phone, n);
	out[n] = 0;
	memcpy(out + n + 1, account_id, AUTHD_ID_LEN);
	return n + 1 + AUTHD_ID_LEN;
}

/* Keeps the phones index in step: the old verified number's key goes, the
 * new one's comes. */
static int phone_index(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		       const struct recovery_rec *old, const struct recovery_rec *r)
{
	uint8_t key[RECOVERY_PHONE_MAX + 1 + AUTHD_ID_LEN];
	bool had = old->phone[0] && old->phone_verified, has = r->phone[0] && r->phone_verified;
	int rc;

	if (had == has && (!had || strcmp(old->phone, r->phone) == 0))
		return 0;
	if (had &&
	    (rc = lmdb_del(txn, DB_PHONES, key, phone_key(key, old->phone, account_id))) != 0 &&
	    rc != STORE_E_NOTFOUND)
		return rc;
	return has ? lmdb_put(txn, DB_PHONES, key, phone_key(key, r->phone, account_id), "", 0) : 0;
}

struct by_phone {
	size_t prefix_len, limit, n;
	uint8_t (*ids)[AUTHD_ID_LEN];
};

static int phone_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct by_phone *b = arg;

	(void)txn;
	(void)v;
	if (b->n == b->limit)
		return 1;
	if (k->mv_size == b->prefix_len + AUTHD_ID_LEN)
		memcpy(b->ids[b->n++], (const uint8_t *)k->mv_data + b->prefix_len, AUTHD_ID_LEN);
	return 0;
}

int lmdb_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			   int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	uint8_t key[RECOVERY_PHONE_MAX + 1 + AUTHD_ID_LEN], zero[AUTHD_ID_LEN] = {0};
	struct by_phone b = {.limit = limit < 64 ? limit : 64};
	int rc;

	b.prefix_len = phone_key(key, phone, zero) - AUTHD_ID_LEN;
	if ((b.ids = calloc(b.limit ? b.limit : 1, AUTHD_ID_LEN)) == NULL)
		return STORE_E_IO;
	rc = lmdb_walk(lmdb_of(t), DB_PHONES, key, b.prefix_len, b.prefix_len, phone_one, &b);
	for (size_t i = 0; rc == 0 && i < b.n; i++)
		rc = fn(arg, b.ids[i]);
	free(b.ids);
	return rc;
}

int lmdb_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct recovery_rec *r)
{
	uint8_t buf[RECOVERY_LEN];
	struct pack w = {buf, 0, sizeof(buf), false};
	uint8_t n = r->n_sends > RECOVERY_SENDS_MAX ? RECOVERY_SENDS_MAX : r->n_sends;
	struct recovery_rec old;
	int rc;

	if ((rc = lmdb_recovery_get(t, account_id, &old)) != 0 ||
	    (rc = phone_index(lmdb_of(t), account_id, &old, r)) != 0)
		return rc;
	OPENSSL_cleanse(&old, sizeof(old));
	if (recovery_is_empty(r))
		return cluster_del(lmdb_of(t), account_id, KIND_RECOVERY, NULL);
	put_u8(&w, RECOVERY_V2);
	put_str(&w, r->email);
	put_str(&w, r->phone);
	put_u8(&w, r->email_verified);
	put_u8(&w, r->phone_verified);
	put_u8(&w, r->pending);
	put_str(&w, r->pending_to);
	put_bytes(&w, r->pending_hash, RECOVERY_HASH_LEN);
	put_i64(&w, r->pending_expires);
	put_bytes(&w, r->reset_code, RECOVERY_HASH_LEN);
	put_i64(&w, r->reset_code_expires);
	put_bytes(&w, r->reset_link, RECOVERY_HASH_LEN);
	put_i64(&w, r->reset_link_expires);
	put_bytes(&w, r->grant, RECOVERY_HASH_LEN);
	put_i64(&w, r->grant_expires);
	put_u8(&w, r->grant_fails);
	put_u8(&w, r->fails);
	put_i64(&w, r->last_fail);
	put_u8(&w, r->option_fails);
	put_i64(&w, r->option_last_fail);
	put_u8(&w, n);
	put_u8(&w, r->sends_pos);
	for (int i = 0; i < n; i++)
		put_i64(&w, r->sends[i]);
	put_i64(&w, r->sms_factor_at);
	put_bytes(&w, r->sms_login, AUTHD_HASH_LEN);
	put_bytes(&w, r->sms_code, RECOVERY_HASH_LEN);
	put_i64(&w, r->sms_code_expires);
	put_u8(&w, r->sms_sends);
	put_bytes(&w, r->close_hash, RECOVERY_HASH_LEN);
	put_i64(&w, r->close_expires);
	put_u8(&w, r->reset_proofed);
	if (w.bad)
		AUTHD_BUG("recovery record size");
	rc = cluster_put(lmdb_of(t), account_id, KIND_RECOVERY, NULL, &w);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}
