/*
 * Key rotation's view of LMDB: every sealed value (TOTP seeds, device
 * seeds, queued messages, identity documents) walked kind by kind in key
 * order, each written back when the walker reseals it; and the shared
 * figures under DB_META "set:<name>" (8 bytes, big-endian).
 */
#include "lmdb-internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setting_key(const char *name, char key[64], size_t *klen)
{
	int n = snprintf(key, 64, "set:%s", name);

	if (n < 0 || n >= 64)
		return STORE_E_IO;
	*klen = (size_t)n;
	return 0;
}

int lmdb_setting_get(struct store_txn *t, const char *name, uint64_t *value)
{
	char key[64];
	size_t klen;
	MDB_val v;
	int rc;

	*value = 0;
	if ((rc = setting_key(name, key, &klen)) != 0)
		return rc;
	rc = lmdb_get(lmdb_of(t), DB_META, key, klen, &v);
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return STORE_E_CORRUPT;
	*value = authd_get_be64(v.mv_data);
	return 0;
}

int lmdb_setting_put(struct store_txn *t, const char *name, uint64_t value)
{
	char key[64];
	uint8_t val[8];
	size_t klen;
	int rc;

	if ((rc = setting_key(name, key, &klen)) != 0)
		return rc;
	authd_put_be64(val, value);
	return lmdb_put(lmdb_of(t), DB_META, key, klen, val, sizeof(val));
}

struct list_walk {
	int (*fn)(void *arg, const char *name, uint64_t value);
	void *arg;
	int rc; /* lmdb_walk stops on a non-zero answer without returning it */
};

static int list_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct list_walk *w = arg;
	char name[64];

	(void)txn;
	if (v->mv_size != 8 || k->mv_size - 4 >= sizeof(name)) {
		w->rc = STORE_E_CORRUPT;
		return 1;
	}
	memcpy(name, (const char *)k->mv_data + 4, k->mv_size - 4);
	name[k->mv_size - 4] = '\0';
	w->rc = w->fn(w->arg, name, authd_get_be64(v->mv_data));
	return w->rc;
}

int lmdb_settings_list(struct store_txn *t, const char *prefix,
		       int (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	struct list_walk w = {fn, arg, 0};
	char key[64];
	size_t klen;
	int rc;

	if ((rc = setting_key(prefix, key, &klen)) != 0)
		return rc;
	rc = lmdb_walk(lmdb_of(t), DB_META, key, klen, klen, list_one, &w);
	return rc != 0 ? rc : w.rc;
}

/* The keys of up to `limit` records of db after pos's key, collected first
 * so that writing back never moves a cursor under the walk. */
struct keys {
	uint8_t (*key)[AUTHD_ID_LEN + 1];
	size_t n;
};

static int collect(MDB_txn *txn, enum lmdb_db db, size_t key_len, const struct store_seal_pos *pos,
		   size_t limit, struct keys *out)
{
	MDB_cursor *cur = NULL;
	MDB_val k = {pos->key_len, (void *)pos->key}, v;
	int rc;

	out->n = 0;
	if ((out->key = calloc(limit ? limit : 1, sizeof(*out->key))) == NULL)
		return STORE_E_IO;
	if (mdb_cursor_open(txn, lmdb_dbi(db), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, pos->key_len ? MDB_SET_RANGE : MDB_FIRST);
	/* SET_RANGE lands on the key itself when it is still there. */
	if (rc == 0 && pos->key_len && k.mv_size == pos->key_len &&
	    memcmp(k.mv_data, pos->key, pos->key_len) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	while (rc == 0 && out->n < limit) {
		if (k.mv_size == key_len)
			memcpy(out->key[out->n++], k.mv_data, key_len);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_E_IO;
}

static int visit_totp(struct store_txn *t, const uint8_t *id,
		      int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	struct totp_rec rec;
	struct store_seal s = {STORE_SEAL_TOTP, id, NULL, 0, NULL, 0};
	bool changed = false;
	int rc = lmdb_totp_get(t, id, &rec);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	for (unsigned n = 0; n < 2 && rc >= 0; n++) {
		s.n = n;
		s.sealed = n == 0 ? rec.seed : rec.pending_seed;
		s.len = n == 0 ? rec.seed_len : rec.pending_seed_len;
		if (s.len == 0)
			continue;
		rc = fn(arg, &s);
		changed |= rc == 1;
	}
	if (rc >= 0 && changed)
		rc = lmdb_totp_put(t, id, &rec);
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc < 0 ? rc : 0;
}

static int visit_device(struct store_txn *t, const uint8_t *id,
			int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	struct push_device d;
	struct store_seal s = {STORE_SEAL_DEVICE, id, d.account_id, 0, d.seed, 0};
	int rc = lmdb_device_get(t, id, &d);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc == 0 && d.seed_len > 0) {
		s.len = d.seed_len;
		rc = fn(arg, &s);
		if (rc == 1)
			rc = lmdb_device_put(t, &d);
	}
	OPENSSL_cleanse(&d, sizeof(d));
	return rc < 0 ? rc : 0;
}

static int visit_outbox(struct store_txn *t, const uint8_t *id,
			int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	struct outbox_msg *m = malloc(sizeof(*m));
	struct store_seal s = {STORE_SEAL_OUTBOX, id, NULL, 0, NULL, 0};
	int rc;

	if (m == NULL)
		return STORE_E_IO;
	rc = lmdb_outbox_get(t, id, m);
	if (rc == 0 && m->sealed_len > 0) {
		s.sealed = m->sealed;
		s.len = m->sealed_len;
		rc = fn(arg, &s);
		if (rc == 1)
			rc = lmdb_outbox_rewrite(t, m);
	}
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	if (rc == STORE_E_NOTFOUND)
		return 0;
	return rc < 0 ? rc : 0;
}

static int visit_doc(struct store_txn *t, const uint8_t *key,
		     int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	struct store_seal s = {STORE_SEAL_DOC, key, NULL, key[AUTHD_ID_LEN], NULL, 0};
	MDB_val v;
	int rc = lmdb_get(lmdb_of(t), DB_DOCS, key, AUTHD_ID_LEN + 1, &v);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if ((s.sealed = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
		return STORE_E_IO;
	memcpy(s.sealed, v.mv_data, v.mv_size);
	s.len = v.mv_size;
	rc = fn(arg, &s);
	if (rc == 1)
		rc = lmdb_put(lmdb_of(t), DB_DOCS, key, AUTHD_ID_LEN + 1, s.sealed, s.len);
	free(s.sealed);
	return rc < 0 ? rc : 0;
}

int lmdb_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		    int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	static const struct {
		enum lmdb_db db;
		size_t key_len;
		int (*visit)(struct store_txn *t, const uint8_t *key,
			     int (*fn)(void *arg, struct store_seal *s), void *arg);
	} kinds[STORE_SEAL__COUNT] = {
	    [STORE_SEAL_TOTP] = {DB_ACCOUNTS, AUTHD_ID_LEN, visit_totp},
	    [STORE_SEAL_DEVICE] = {DB_DEVICES, AUTHD_ID_LEN, visit_device},
	    [STORE_SEAL_OUTBOX] = {DB_OUTBOX, AUTHD_ID_LEN, visit_outbox},
	    [STORE_SEAL_DOC] = {DB_DOCS, AUTHD_ID_LEN + 1, visit_doc},
	};
	struct keys k = {NULL, 0};
	size_t left = limit;
	int rc = 0;

	while (!pos->done && left > 0 && rc == 0) {
		if (pos->kind >= STORE_SEAL__COUNT) {
			pos->done = true;
			break;
		}
		free(k.key);
		k.key = NULL;
		if ((rc = collect(lmdb_of(t), kinds[pos->kind].db, kinds[pos->kind].key_len, pos,
				  left, &k)) != 0)
			break;
		for (size_t i = 0; i < k.n && rc == 0; i++) {
			rc = kinds[pos->kind].visit(t, k.key[i], fn, arg);
			memcpy(pos->key, k.key[i], kinds[pos->kind].key_len);
			pos->key_len = (uint8_t)kinds[pos->kind].key_len;
		}
		left -= k.n;
		if (rc == 0 && left > 0) {
			/* This kind is done: the next from its start. */
			pos->kind++;
			pos->key_len = 0;
			pos->done = pos->kind >= STORE_SEAL__COUNT;
		}
	}
	free(k.key);
	return rc;
}
