/*
 * API tokens on LMDB. A token is keyed by the SHA-256 of its text in
 * DB_TOKENS (the lookup every token request makes), with DB_TOKEN_IDS
 * mapping account id || token id to that hash (the account's list, and
 * revocation by id).
 *
 * Record version 2, packed (every token request rewrites it: its rate
 * ring): version, id, account id, organization id, creator's account id,
 * scopes (4), created, expires, last used (8 each, big-endian), ring head
 * and count (1 each), API_TOKEN_RATE times (8 each), name length (1) and
 * name. Version 1 (still read) has no creator: the account made it.
 */
#include "lmdb-internal.h"

#include <stdlib.h>
#include <string.h>
#include <util.h>

#define TOKEN_V1 1
#define TOKEN_V2 2
/* The bytes before the name, with ids ids. */
#define TOKEN_FIXED(ids) ((size_t)(1 + (ids)*AUTHD_ID_LEN + 4 + 3 * 8 + 2 + API_TOKEN_RATE * 8 + 1))
#define TOKEN_VAL_MAX	 (TOKEN_FIXED(4) + API_TOKEN_NAME_MAX)

static size_t token_encode(const struct api_token *tok, uint8_t out[TOKEN_VAL_MAX])
{
	size_t n = 0, nlen = strnlen(tok->name, API_TOKEN_NAME_MAX);

	out[n++] = TOKEN_V2;
	memcpy(out + n, tok->id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(out + n, tok->account_id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(out + n, tok->org_id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(out + n, tok->created_by, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	authd_put_be32(out + n, tok->scopes);
	n += 4;
	authd_put_be64(out + n, (uint64_t)tok->created_at);
	authd_put_be64(out + n + 8, (uint64_t)tok->expires_at);
	authd_put_be64(out + n + 16, (uint64_t)tok->last_used_at);
	n += 24;
	out[n++] = tok->head;
	out[n++] = tok->count;
	for (int i = 0; i < API_TOKEN_RATE; i++, n += 8)
		authd_put_be64(out + n, (uint64_t)tok->hits[i]);
	out[n++] = (uint8_t)nlen;
	memcpy(out + n, tok->name, nlen);
	return n + nlen;
}

static int token_decode(const uint8_t hash[AUTHD_HASH_LEN], const MDB_val *v, struct api_token *tok)
{
	const uint8_t *p = v->mv_data;
	size_t n = 1, fixed;

	if (v->mv_size < 1 || (p[0] != TOKEN_V1 && p[0] != TOKEN_V2))
		return STORE_E_CORRUPT;
	fixed = p[0] == TOKEN_V1 ? TOKEN_FIXED(3) : TOKEN_FIXED(4);
	if (v->mv_size < fixed || v->mv_size != fixed + p[fixed - 1] ||
	    p[fixed - 1] > API_TOKEN_NAME_MAX)
		return STORE_E_CORRUPT;
	memset(tok, 0, sizeof(*tok));
	memcpy(tok->hash, hash, AUTHD_HASH_LEN);
	memcpy(tok->id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(tok->account_id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(tok->org_id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	if (p[0] == TOKEN_V1) {
		memcpy(tok->created_by, tok->account_id, AUTHD_ID_LEN);
	} else {
		memcpy(tok->created_by, p + n, AUTHD_ID_LEN);
		n += AUTHD_ID_LEN;
	}
	tok->scopes = authd_get_be32(p + n);
	n += 4;
	tok->created_at = (int64_t)authd_get_be64(p + n);
	tok->expires_at = (int64_t)authd_get_be64(p + n + 8);
	tok->last_used_at = (int64_t)authd_get_be64(p + n + 16);
	n += 24;
	tok->head = p[n++];
	tok->count = p[n++];
	for (int i = 0; i < API_TOKEN_RATE; i++, n += 8)
		tok->hits[i] = (int64_t)authd_get_be64(p + n);
	memcpy(tok->name, p + n + 1, p[n]);
	if (tok->head >= API_TOKEN_RATE || tok->count > API_TOKEN_RATE)
		return STORE_E_CORRUPT;
	return 0;
}

int lmdb_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok)
{
	MDB_val v;
	struct api_token tmp;
	int rc = lmdb_get(lmdb_of(t), DB_TOKENS, hash, AUTHD_HASH_LEN, &v);

	if (rc != 0 || (rc = token_decode(hash, &v, &tmp)) != 0)
		return rc;
	*tok = tmp;
	return 0;
}

static void id_key(uint8_t key[2 * AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	memcpy(key, account_id, AUTHD_ID_LEN);
	memcpy(key + AUTHD_ID_LEN, id, AUTHD_ID_LEN);
}

int lmdb_token_put(struct store_txn *t, const struct api_token *tok)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t val[TOKEN_VAL_MAX], key[2 * AUTHD_ID_LEN];
	MDB_val old;
	size_t n = token_encode(tok, val);
	int rc;

	/* The index entry is written once, with the token. */
	id_key(key, tok->account_id, tok->id);
	if ((rc = lmdb_get(txn, DB_TOKEN_IDS, key, sizeof(key), &old)) == STORE_E_NOTFOUND)
		rc = lmdb_put(txn, DB_TOKEN_IDS, key, sizeof(key), tok->hash, AUTHD_HASH_LEN);
	if (rc != 0)
		return rc;
	return lmdb_put(txn, DB_TOKENS, tok->hash, AUTHD_HASH_LEN, val, n);
}

int lmdb_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[2 * AUTHD_ID_LEN], hash[AUTHD_HASH_LEN];
	MDB_val v;
	int rc;

	id_key(key, account_id, id);
	if ((rc = lmdb_get(txn, DB_TOKEN_IDS, key, sizeof(key), &v)) != 0)
		return rc;
	if (v.mv_size != AUTHD_HASH_LEN)
		return STORE_E_CORRUPT;
	memcpy(hash, v.mv_data, AUTHD_HASH_LEN);
	if ((rc = lmdb_del(txn, DB_TOKEN_IDS, key, sizeof(key))) != 0)
		return rc;
	rc = lmdb_del(txn, DB_TOKENS, hash, AUTHD_HASH_LEN);
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

int lmdb_token_update(struct store_txn *t, const struct api_token *tok)
{
	uint8_t val[TOKEN_VAL_MAX];
	MDB_val old;
	size_t n = token_encode(tok, val);
	int rc = lmdb_get(lmdb_of(t), DB_TOKENS, tok->hash, AUTHD_HASH_LEN, &old);

	if (rc != 0)
		return rc;
	return lmdb_put(lmdb_of(t), DB_TOKENS, tok->hash, AUTHD_HASH_LEN, val, n);
}

struct token_keys {
	uint8_t (*k)[2 * AUTHD_ID_LEN + AUTHD_HASH_LEN]; /* id key, then the hash */
	size_t n, cap;
	int rc;
};

static int token_key_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct token_keys *ks = arg;

	(void)txn;
	if (k->mv_size != 2 * AUTHD_ID_LEN || v->mv_size != AUTHD_HASH_LEN)
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 16;
		void *p = realloc(ks->k, cap * sizeof(*ks->k));

		if (p == NULL)
			return (ks->rc = STORE_E_IO);
		ks->k = p;
		ks->cap = cap;
	}
	memcpy(ks->k[ks->n], k->mv_data, 2 * AUTHD_ID_LEN);
	memcpy(ks->k[ks->n++] + 2 * AUTHD_ID_LEN, v->mv_data, AUTHD_HASH_LEN);
	return 0;
}

int lmdb_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	struct token_keys ks = {0};
	int rc = lmdb_walk(txn, DB_TOKEN_IDS, account_id, AUTHD_ID_LEN, AUTHD_ID_LEN, token_key_one,
			   &ks);

	if (rc == 0)
		rc = ks.rc;
	for (size_t i = 0; rc == 0 && i < ks.n; i++) {
		if ((rc = lmdb_del(txn, DB_TOKEN_IDS, ks.k[i], 2 * AUTHD_ID_LEN)) == 0 &&
		    (rc = lmdb_del(txn, DB_TOKENS, ks.k[i] + 2 * AUTHD_ID_LEN, AUTHD_HASH_LEN)) ==
			STORE_E_NOTFOUND)
			rc = 0;
	}
	free(ks.k);
	return rc;
}

struct tokens {
	int (*fn)(void *arg, const struct api_token *tok);
	void *arg;
	int rc;
};

static int token_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct tokens *ts = arg;
	struct api_token tok;
	MDB_val rec;

	(void)k;
	if (v->mv_size != AUTHD_HASH_LEN) {
		ts->rc = STORE_E_CORRUPT;
		return 1;
	}
	if ((ts->rc = lmdb_get(txn, DB_TOKENS, v->mv_data, AUTHD_HASH_LEN, &rec)) == 0 &&
	    (ts->rc = token_decode(v->mv_data, &rec, &tok)) == 0)
		ts->rc = ts->fn(ts->arg, &tok);
	return ts->rc;
}

int lmdb_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct api_token *tok), void *arg)
{
	struct tokens ts = {fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_TOKEN_IDS, account_id, AUTHD_ID_LEN, AUTHD_ID_LEN,
			   token_one, &ts);

	return rc != 0 ? rc : ts.rc;
}
