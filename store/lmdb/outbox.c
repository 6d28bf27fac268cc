/*
 * The outbox on LMDB: each message under its id (DB_OUTBOX), and an index
 * of time || id keys beside it, one of two: DB_OUTBOX_DUE for pending
 * messages by when they are due, DB_OUTBOX_DONE for sent or failed ones by
 * when they were done (the sweeper's order). A claim walks the due index
 * from its start and stops at the first message not yet due.
 *
 * Record (version 1): version, account id, channel, state, attempts (2),
 * created_at, next_at, done_at (8 each, big-endian), sealed length (2),
 * sealed text.
 */
#include "lmdb-internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_V	 1
#define OUTBOX_HEAD	 (1 + AUTHD_ID_LEN + 1 + 1 + 2 + 8 * 3 + 2)
#define OUTBOX_INDEX_LEN (8 + AUTHD_ID_LEN)
#define CLAIM_MAX	 256

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void index_key(uint8_t key[OUTBOX_INDEX_LEN], int64_t at, const uint8_t id[AUTHD_ID_LEN])
{
	put_u64(key, (uint64_t)at);
	memcpy(key + 8, id, AUTHD_ID_LEN);
}

static int decode(const MDB_val *v, struct outbox_msg *m)
{
	const uint8_t *p = v->mv_data;
	size_t sealed_len;

	if (v->mv_size < OUTBOX_HEAD || p[0] != OUTBOX_V)
		return STORE_E_CORRUPT;
	sealed_len = (size_t)p[OUTBOX_HEAD - 2] << 8 | p[OUTBOX_HEAD - 1];
	if (sealed_len > OUTBOX_SEALED_MAX || v->mv_size != OUTBOX_HEAD + sealed_len)
		return STORE_E_CORRUPT;
	p++;
	memcpy(m->account_id, p, AUTHD_ID_LEN);
	p += AUTHD_ID_LEN;
	m->channel = p[0];
	m->state = p[1];
	m->attempts = (uint16_t)(p[2] << 8 | p[3]);
	p += 4;
	m->created_at = (int64_t)get_u64(p);
	m->next_at = (int64_t)get_u64(p + 8);
	m->done_at = (int64_t)get_u64(p + 16);
	m->sealed_len = (uint16_t)sealed_len;
	memcpy(m->sealed, p + 26, sealed_len);
	if (m->state < OUTBOX_PENDING || m->state > OUTBOX_FAILED ||
	    (m->channel != OUTBOX_EMAIL && m->channel != OUTBOX_SMS))
		return STORE_E_CORRUPT;
	return 0;
}

static int put_record(MDB_txn *txn, const struct outbox_msg *m)
{
	uint8_t *v = malloc(OUTBOX_HEAD + m->sealed_len), *p;
	int rc;

	if (v == NULL)
		return STORE_E_IO;
	p = v;
	*p++ = OUTBOX_V;
	memcpy(p, m->account_id, AUTHD_ID_LEN);
	p += AUTHD_ID_LEN;
	*p++ = m->channel;
	*p++ = m->state;
	*p++ = (uint8_t)(m->attempts >> 8);
	*p++ = (uint8_t)m->attempts;
	put_u64(p, (uint64_t)m->created_at);
	put_u64(p + 8, (uint64_t)m->next_at);
	put_u64(p + 16, (uint64_t)m->done_at);
	p += 24;
	*p++ = (uint8_t)(m->sealed_len >> 8);
	*p++ = (uint8_t)m->sealed_len;
	memcpy(p, m->sealed, m->sealed_len);
	rc = lmdb_put(txn, DB_OUTBOX, m->id, AUTHD_ID_LEN, v, OUTBOX_HEAD + m->sealed_len);
	/* The sealed text is no secret without the key, but it is the
	 * message: leave no copy on the heap. */
	OPENSSL_cleanse(v, OUTBOX_HEAD + m->sealed_len);
	free(v);
	return rc;
}

/* Writes m and its index key (due or done, by its state). */
static int put_indexed(MDB_txn *txn, const struct outbox_msg *m)
{
	uint8_t key[OUTBOX_INDEX_LEN];
	bool pending = m->state == OUTBOX_PENDING;
	int rc;

	if (m->sealed_len > OUTBOX_SEALED_MAX)
		return STORE_E_CORRUPT;
	if ((rc = put_record(txn, m)) != 0)
		return rc;
	index_key(key, pending ? m->next_at : m->done_at, m->id);
	return lmdb_put(txn, pending ? DB_OUTBOX_DUE : DB_OUTBOX_DONE, key, sizeof(key), "", 0);
}

int lmdb_outbox_rewrite(struct store_txn *t, const struct outbox_msg *m)
{
	if (m->sealed_len > OUTBOX_SEALED_MAX)
		return STORE_E_CORRUPT;
	return put_record(lmdb_of(t), m);
}

int lmdb_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m)
{
	MDB_val v;
	int rc;

	if ((rc = lmdb_get(lmdb_of(t), DB_OUTBOX, id, AUTHD_ID_LEN, &v)) != 0)
		return rc;
	if ((rc = decode(&v, m)) != 0)
		return rc;
	memcpy(m->id, id, AUTHD_ID_LEN);
	return 0;
}

int lmdb_outbox_add(struct store_txn *t, const struct outbox_msg *m)
{
	return put_indexed(lmdb_of(t), m);
}

struct due {
	int64_t now;
	size_t limit, n;
	uint8_t (*keys)[OUTBOX_INDEX_LEN];
};

static int collect_due(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct due *d = arg;

	(void)txn;
	(void)v;
	if (d->n >= d->limit || k->mv_size != OUTBOX_INDEX_LEN ||
	    (int64_t)get_u64(k->mv_data) > d->now)
		return 1;
	memcpy(d->keys[d->n++], k->mv_data, OUTBOX_INDEX_LEN);
	return 0;
}

int lmdb_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		      int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	MDB_txn *txn = lmdb_of(t);
	struct due d = {.now = now, .limit = limit < CLAIM_MAX ? limit : CLAIM_MAX};
	struct outbox_msg *m = NULL;
	int rc;

	/* Keys first, then the writes: the walk's cursor never meets them. */
	d.keys = calloc(d.limit ? d.limit : 1, OUTBOX_INDEX_LEN);
	m = malloc(sizeof(*m));
	if (d.keys == NULL || m == NULL) {
		rc = STORE_E_IO;
		goto out;
	}
	if ((rc = lmdb_walk(txn, DB_OUTBOX_DUE, NULL, 0, 0, collect_due, &d)) != 0)
		goto out;
	for (size_t i = 0; i < d.n; i++) {
		if ((rc = lmdb_del(txn, DB_OUTBOX_DUE, d.keys[i], OUTBOX_INDEX_LEN)) != 0 ||
		    (rc = lmdb_outbox_get(t, d.keys[i] + 8, m)) != 0)
			goto out;
		if (m->state != OUTBOX_PENDING) {
			rc = STORE_E_CORRUPT; /* indexed as due, stored as done */
			goto out;
		}
		core_outbox_claim(m, until);
		if ((rc = put_indexed(txn, m)) != 0)
			goto out;
		fn(arg, m);
	}
out:
	if (m)
		OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	free(d.keys);
	return rc;
}

int lmdb_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until)
{
	MDB_txn *txn = lmdb_of(t);
	struct outbox_msg *now = malloc(sizeof(*now));
	uint8_t key[OUTBOX_INDEX_LEN];
	int rc;

	if (now == NULL)
		return STORE_E_IO;
	if ((rc = lmdb_outbox_get(t, m->id, now)) != 0)
		goto out;
	if (now->state != OUTBOX_PENDING || now->next_at != claimed_until) {
		rc = STORE_E_NOTFOUND;
		goto out;
	}
	index_key(key, claimed_until, m->id);
	if ((rc = lmdb_del(txn, DB_OUTBOX_DUE, key, sizeof(key))) != 0)
		goto out;
	rc = put_indexed(txn, m);
out:
	OPENSSL_cleanse(now, sizeof(*now));
	free(now);
	return rc;
}

/* The first key of the due index is the earliest (next_at, id). */
static int first_due(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg)
{
	(void)txn;
	(void)val;
	if (key->mv_size == OUTBOX_INDEX_LEN)
		*(int64_t *)arg = (int64_t)get_u64(key->mv_data);
	return 1; /* the first is enough */
}

int lmdb_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest)
{
	MDB_txn *txn = lmdb_of(t);
	MDB_stat st;
	int64_t at = 0;
	int rc;

	if (mdb_stat(txn, lmdb_dbi(DB_OUTBOX_DUE), &st) != 0)
		return STORE_E_IO;
	rc = lmdb_walk(txn, DB_OUTBOX_DUE, NULL, 0, 0, first_due, &at);
	if (rc < 0)
		return rc;
	*n = st.ms_entries;
	*earliest = at;
	return 0;
}

int lmdb_outbox_sweep(struct store_txn *t, int64_t before, size_t budget, size_t *deleted)
{
	MDB_txn *txn = lmdb_of(t);
	struct due d = {.now = before, .limit = budget < CLAIM_MAX ? budget : CLAIM_MAX};
	int rc;

	d.keys = calloc(d.limit ? d.limit : 1, OUTBOX_INDEX_LEN);
	if (d.keys == NULL)
		return STORE_E_IO;
	rc = lmdb_walk(txn, DB_OUTBOX_DONE, NULL, 0, 0, collect_due, &d);
	for (size_t i = 0; i < d.n && rc == 0; i++) {
		if ((rc = lmdb_del(txn, DB_OUTBOX_DONE, d.keys[i], OUTBOX_INDEX_LEN)) == 0)
			rc = lmdb_del(txn, DB_OUTBOX, d.keys[i] + 8, AUTHD_ID_LEN);
		if (rc == STORE_E_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		*deleted += d.n;
	free(d.keys);
	return rc;
}

/* The done index backwards (latest first), looking at no more than this
 * many done messages for the failed ones among them. */
#define FAILURES_SCAN_MAX 100000

int lmdb_outbox_failures(struct store_txn *t, size_t limit,
			 int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	MDB_txn *txn = lmdb_of(t);
	struct outbox_msg *m = malloc(sizeof(*m));
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t found = 0, scanned = 0;
	int rc;

	if (m == NULL)
		return STORE_E_IO;
	if (mdb_cursor_open(txn, lmdb_dbi(DB_OUTBOX_DONE), &cur) != 0) {
		free(m);
		return STORE_E_IO;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && found < limit && scanned++ < FAILURES_SCAN_MAX) {
		if (k.mv_size != OUTBOX_INDEX_LEN) {
			rc = STORE_E_CORRUPT;
			break;
		}
		rc = lmdb_outbox_get(t, (const uint8_t *)k.mv_data + 8, m);
		if (rc == 0 && m->state == OUTBOX_FAILED) {
			found++;
			if ((rc = fn(arg, m)) != 0)
				break;
		}
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
