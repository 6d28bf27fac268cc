/*
 * Identity-verification cases on LMDB: each case under its id (DB_CASES: a
 * version byte, then the JSON of store.c's codec), its documents sealed
 * under (case id, n) (DB_DOCS), and two indexes the sweeper walks in time
 * order: documents by upload time (DB_DOCS_DUE), cases by when they go
 * (DB_CASES_DONE: recovery_case_drop_at, which a decision moves).
 */
#include "lmdb-internal.h"

#include <stdlib.h>
#include <string.h>

#define CASE_V	     1
#define DOC_KEY_LEN  (AUTHD_ID_LEN + 1)
#define DUE_KEY_LEN  (8 + DOC_KEY_LEN)
#define DONE_KEY_LEN (8 + AUTHD_ID_LEN)
#define LIST_MAX     1000

static void put_be(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

static int64_t get_be(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static int decode(const uint8_t id[AUTHD_ID_LEN], const MDB_val *v, struct case_rec *c)
{
	const char *p = v->mv_data;

	memset(c, 0, sizeof(*c));
	if (v->mv_size < 2 || (uint8_t)p[0] != CASE_V ||
	    store_case_parse(p + 1, v->mv_size - 1, c) != 0)
		return STORE_E_CORRUPT;
	memcpy(c->id, id, AUTHD_ID_LEN);
	return 0;
}

int lmdb_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c)
{
	MDB_val v;
	int rc = lmdb_get(lmdb_of(t), DB_CASES, id, AUTHD_ID_LEN, &v);

	return rc != 0 ? rc : decode(id, &v, c);
}

int lmdb_case_put(struct store_txn *t, const struct case_rec *c)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t done[DONE_KEY_LEN];
	struct case_rec old;
	char *json = store_case_json(c);
	size_t len = json ? strlen(json) : 0;
	uint8_t *buf = json ? malloc(len + 2) : NULL;
	int rc;

	if (buf == NULL) {
		free(json);
		return STORE_E_IO;
	}
	buf[0] = CASE_V;
	memcpy(buf + 1, json, len + 1); /* the NUL is not stored */
	free(json);
	/* The sweeper's index follows the case's end (a decision moves it). */
	rc = lmdb_case_get(t, c->id, &old);
	if (rc == 0) {
		put_be(done, recovery_case_drop_at(&old));
		memcpy(done + 8, c->id, AUTHD_ID_LEN);
		if ((rc = lmdb_del(txn, DB_CASES_DONE, done, sizeof(done))) == STORE_E_NOTFOUND)
			rc = 0;
	} else if (rc == STORE_E_NOTFOUND) {
		rc = 0;
	}
	if (rc == 0)
		rc = lmdb_put(txn, DB_CASES, c->id, AUTHD_ID_LEN, buf, len + 1);
	if (rc == 0) {
		put_be(done, recovery_case_drop_at(c));
		memcpy(done + 8, c->id, AUTHD_ID_LEN);
		rc = lmdb_put(txn, DB_CASES_DONE, done, sizeof(done), "", 0);
	}
	free(buf);
	return rc;
}

struct listing {
	bool all;
	size_t limit;
	/* open ones (oldest first) and decided ones (newest first) */
	struct case_rec *open, *done;
	size_t n_open, n_done, cap;
};

static int list_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct listing *l = arg;
	struct case_rec c;

	(void)txn;
	if (k->mv_size != AUTHD_ID_LEN || decode(k->mv_data, v, &c) != 0)
		return 0; /* a damaged record is not listed */
	if (c.state == CASE_OPEN && l->n_open < l->cap)
		l->open[l->n_open++] = c;
	else if (c.state != CASE_OPEN && l->all && l->n_done < l->cap)
		l->done[l->n_done++] = c;
	return 0;
}

static int by_opened(const void *a, const void *b)
{
	const struct case_rec *x = a, *y = b;

	return x->opened_at < y->opened_at ? -1 : x->opened_at > y->opened_at;
}

static int by_decided_desc(const void *a, const void *b)
{
	const struct case_rec *x = a, *y = b;

	return x->decided_at < y->decided_at ? 1 : x->decided_at > y->decided_at ? -1 : 0;
}

int lmdb_cases_list(struct store_txn *t, bool all, size_t limit,
		    int (*fn)(void *arg, const struct case_rec *c), void *arg)
{
	struct listing l = {.all = all, .limit = limit, .cap = LIST_MAX};
	size_t sent = 0;
	int rc;

	l.open = calloc(LIST_MAX, sizeof(*l.open));
	l.done = all ? calloc(LIST_MAX, sizeof(*l.done)) : NULL;
	if (l.open == NULL || (all && l.done == NULL)) {
		free(l.open);
		free(l.done);
		return STORE_E_IO;
	}
	rc = lmdb_walk(lmdb_of(t), DB_CASES, NULL, 0, 0, list_one, &l);
	qsort(l.open, l.n_open, sizeof(*l.open), by_opened);
	if (all)
		qsort(l.done, l.n_done, sizeof(*l.done), by_decided_desc);
	for (size_t i = 0; rc == 0 && i < l.n_open && sent < limit; i++, sent++)
		rc = fn(arg, &l.open[i]);
	for (size_t i = 0; rc == 0 && i < l.n_done && sent < limit; i++, sent++)
		rc = fn(arg, &l.done[i]);
	free(l.open);
	free(l.done);
	return rc;
}

static void doc_key(uint8_t key[DOC_KEY_LEN], const uint8_t case_id[AUTHD_ID_LEN], unsigned n)
{
	memcpy(key, case_id, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN] = (uint8_t)n;
}

int lmdb_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		 int64_t uploaded_at, const uint8_t *sealed, size_t len)
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[DOC_KEY_LEN], due[DUE_KEY_LEN];
	int rc;

	doc_key(key, case_id, n);
	put_be(due, uploaded_at);
	memcpy(due + 8, key, DOC_KEY_LEN);
	if ((rc = lmdb_put(txn, DB_DOCS, key, sizeof(key), sealed, len)) != 0)
		return rc;
	return lmdb_put(txn, DB_DOCS_DUE, due, sizeof(due), "", 0);
}

int lmdb_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		 uint8_t **out, size_t *len)
{
	uint8_t key[DOC_KEY_LEN];
	MDB_val v;
	int rc;

	*out = NULL;
	*len = 0;
	doc_key(key, case_id, n);
	if ((rc = lmdb_get(lmdb_of(t), DB_DOCS, key, sizeof(key), &v)) != 0)
		return rc;
	if ((*out = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
		return STORE_E_IO;
	memcpy(*out, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return 0;
}

/* Deletes document key (DOC_KEY_LEN bytes) and its due entry (at). */
static int doc_del(MDB_txn *txn, const uint8_t *key, int64_t at)
{
	uint8_t due[DUE_KEY_LEN];
	int rc;

	put_be(due, at);
	memcpy(due + 8, key, DOC_KEY_LEN);
	if ((rc = lmdb_del(txn, DB_DOCS, key, DOC_KEY_LEN)) == STORE_E_NOTFOUND)
		rc = 0;
	if (rc == 0 && (rc = lmdb_del(txn, DB_DOCS_DUE, due, sizeof(due))) == STORE_E_NOTFOUND)
		rc = 0;
	return rc;
}

int lmdb_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	uint8_t key[DOC_KEY_LEN];
	struct case_rec c;
	int rc = lmdb_case_get(t, case_id, &c);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	for (unsigned n = 0; rc == 0 && n < c.n_docs; n++) {
		doc_key(key, case_id, n);
		rc = doc_del(txn, key, c.docs[n].uploaded_at);
	}
	return rc;
}

struct due {
	int64_t before;
	size_t limit, n;
	uint8_t (*keys)[DUE_KEY_LEN];
	size_t key_len;
};

static int collect(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct due *d = arg;

	(void)txn;
	(void)v;
	if (k->mv_size != d->key_len || get_be(k->mv_data) > d->before || d->n == d->limit)
		return 1; /* the index is in time order: the rest is later */
	memcpy(d->keys[d->n++], k->mv_data, d->key_len);
	return 0;
}

int lmdb_cases_sweep(struct store_txn *t, int64_t docs_before, int64_t now, size_t budget,
		     size_t *deleted)
{
	MDB_txn *txn = lmdb_of(t);
	struct due d = {
	    .before = docs_before, .limit = budget ? budget : 1, .key_len = DUE_KEY_LEN};
	int rc;

	if ((d.keys = calloc(d.limit, DUE_KEY_LEN)) == NULL)
		return STORE_E_IO;
	rc = lmdb_walk(txn, DB_DOCS_DUE, NULL, 0, 0, collect, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++)
		rc = doc_del(txn, d.keys[i] + 8, get_be(d.keys[i]));
	if (rc == 0)
		*deleted += d.n;
	/* Cases past their end: the record, and any document left. */
	d.before = now;
	d.key_len = DONE_KEY_LEN;
	d.n = 0;
	if (rc == 0)
		rc = lmdb_walk(txn, DB_CASES_DONE, NULL, 0, 0, collect, &d);
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		const uint8_t *id = d.keys[i] + 8;

		if ((rc = lmdb_docs_del(t, id)) == 0 &&
		    (rc = lmdb_del(txn, DB_CASES, id, AUTHD_ID_LEN)) == STORE_E_NOTFOUND)
			rc = 0;
		if (rc == 0 && (rc = lmdb_del(txn, DB_CASES_DONE, d.keys[i], DONE_KEY_LEN)) ==
				   STORE_E_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		*deleted += d.n;
	free(d.keys);
	return rc;
}
