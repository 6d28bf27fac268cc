/*
 * Support grants on LMDB. A grant is keyed by its id in DB_SUPPORT (an
 * agent's request names only the id); DB_SUPPORT_ORG (organization id ||
 * created, big-endian || grant id -> "") lists an organization's in the
 * order they were made.
 *
 * Record version 1, packed: version, id, organization id, kind (1),
 * maker's account id, created, expires, revoked (8 each, big-endian),
 * assignee count (1) and ids, request length (1) and text.
 */
#include "lmdb-internal.h"

#include <stdlib.h>
#include <string.h>
#include <util.h>

#define SUPPORT_V1    1
#define SUPPORT_FIXED ((size_t)(1 + 3 * AUTHD_ID_LEN + 1 + 3 * 8 + 1))
#define SUPPORT_VAL_MAX                                                                            \
	(SUPPORT_FIXED + SUPPORT_ASSIGNEES_MAX * AUTHD_ID_LEN + 1 + SUPPORT_REQUEST_MAX)
#define SUPPORT_ORG_KEY (2 * AUTHD_ID_LEN + 8)

static size_t encode(const struct support_grant *g, uint8_t out[SUPPORT_VAL_MAX])
{
	size_t n = 0, rlen = strnlen(g->request, SUPPORT_REQUEST_MAX);
	unsigned na =
	    g->n_assignees < SUPPORT_ASSIGNEES_MAX ? g->n_assignees : SUPPORT_ASSIGNEES_MAX;

	out[n++] = SUPPORT_V1;
	memcpy(out + n, g->id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(out + n, g->org_id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	out[n++] = g->kind;
	memcpy(out + n, g->created_by, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	authd_put_be64(out + n, (uint64_t)g->created_at);
	authd_put_be64(out + n + 8, (uint64_t)g->expires_at);
	authd_put_be64(out + n + 16, (uint64_t)g->revoked_at);
	n += 24;
	out[n++] = (uint8_t)na;
	memcpy(out + n, g->assignees, (size_t)na * AUTHD_ID_LEN);
	n += (size_t)na * AUTHD_ID_LEN;
	out[n++] = (uint8_t)rlen;
	memcpy(out + n, g->request, rlen);
	return n + rlen;
}

static int decode(const MDB_val *v, struct support_grant *g)
{
	const uint8_t *p = v->mv_data;
	size_t n = 1, na, rlen;

	if (v->mv_size < SUPPORT_FIXED || p[0] != SUPPORT_V1)
		return STORE_E_CORRUPT;
	memset(g, 0, sizeof(*g));
	memcpy(g->id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	memcpy(g->org_id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	g->kind = p[n++];
	memcpy(g->created_by, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	g->created_at = (int64_t)authd_get_be64(p + n);
	g->expires_at = (int64_t)authd_get_be64(p + n + 8);
	g->revoked_at = (int64_t)authd_get_be64(p + n + 16);
	n += 24;
	na = p[n++];
	if (na > SUPPORT_ASSIGNEES_MAX || v->mv_size < n + na * AUTHD_ID_LEN + 1)
		return STORE_E_CORRUPT;
	g->n_assignees = (unsigned)na;
	memcpy(g->assignees, p + n, na * AUTHD_ID_LEN);
	n += na * AUTHD_ID_LEN;
	rlen = p[n++];
	if (rlen > SUPPORT_REQUEST_MAX || v->mv_size != n + rlen ||
	    *core_support_kind_name((enum support_kind)g->kind) == '\0')
		return STORE_E_CORRUPT;
	memcpy(g->request, p + n, rlen);
	return 0;
}

static void org_key(uint8_t key[SUPPORT_ORG_KEY], const struct support_grant *g)
{
	memcpy(key, g->org_id, AUTHD_ID_LEN);
	authd_put_be64(key + AUTHD_ID_LEN, (uint64_t)g->created_at);
	memcpy(key + AUTHD_ID_LEN + 8, g->id, AUTHD_ID_LEN);
}

int lmdb_support_put(struct store_txn *t, const struct support_grant *g)
{
	uint8_t val[SUPPORT_VAL_MAX], key[SUPPORT_ORG_KEY];
	size_t n = encode(g, val);
	int rc;

	org_key(key, g);
	if ((rc = lmdb_put(lmdb_of(t), DB_SUPPORT_ORG, key, sizeof(key), "", 0)) != 0)
		return rc;
	return lmdb_put(lmdb_of(t), DB_SUPPORT, g->id, AUTHD_ID_LEN, val, n);
}

int lmdb_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g)
{
	struct support_grant tmp;
	MDB_val v;
	int rc = lmdb_get(lmdb_of(t), DB_SUPPORT, id, AUTHD_ID_LEN, &v);

	if (rc != 0 || (rc = decode(&v, &tmp)) != 0)
		return rc;
	*g = tmp;
	return 0;
}

int lmdb_support_del(struct store_txn *t, const struct support_grant *g)
{
	uint8_t key[SUPPORT_ORG_KEY];
	int rc;

	org_key(key, g);
	if ((rc = lmdb_del(lmdb_of(t), DB_SUPPORT_ORG, key, sizeof(key))) != 0 &&
	    rc != STORE_E_NOTFOUND)
		return rc;
	rc = lmdb_del(lmdb_of(t), DB_SUPPORT, g->id, AUTHD_ID_LEN);
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

struct walk {
	int (*fn)(void *arg, const struct support_grant *g);
	void *arg;
	struct support_grant *got; /* collected (org deletion), or NULL */
	size_t n, cap;
	int rc;
};

static int one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct walk *w = arg;
	struct support_grant g;
	MDB_val rec;

	(void)v;
	if (k->mv_size != SUPPORT_ORG_KEY) {
		w->rc = STORE_E_CORRUPT;
		return 1;
	}
	if ((w->rc = lmdb_get(txn, DB_SUPPORT, (const uint8_t *)k->mv_data + AUTHD_ID_LEN + 8,
			      AUTHD_ID_LEN, &rec)) != 0 ||
	    (w->rc = decode(&rec, &g)) != 0)
		return 1;
	if (w->fn)
		w->rc = w->fn(w->arg, &g);
	else if (w->n < w->cap)
		w->got[w->n++] = g;
	else {
		void *p = realloc(w->got, (w->cap ? 2 * w->cap : 16) * sizeof(g));

		if (p == NULL) {
			w->rc = STORE_E_IO;
			return 1;
		}
		w->got = p;
		w->cap = w->cap ? 2 * w->cap : 16;
		w->got[w->n++] = g;
	}
	return w->rc;
}

int lmdb_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	struct walk w = {fn, arg, NULL, 0, 0, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_SUPPORT_ORG, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, one, &w);

	return rc != 0 ? rc : w.rc;
}

int lmdb_org_support_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	struct walk w = {NULL, NULL, NULL, 0, 0, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_SUPPORT_ORG, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, one, &w);

	if (rc == 0)
		rc = w.rc;
	for (size_t i = 0; rc == 0 && i < w.n; i++)
		rc = lmdb_support_del(t, &w.got[i]);
	free(w.got);
	return rc;
}

struct live {
	int64_t now;
	int (*fn)(void *arg, const struct support_grant *g);
	void *arg;
	int rc;
};

static int live_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct live *l = arg;
	struct support_grant g;

	(void)txn;
	(void)k;
	if ((l->rc = decode(v, &g)) != 0)
		return 1;
	if (core_support_live(&g, l->now))
		l->rc = l->fn(l->arg, &g);
	return l->rc;
}

int lmdb_support_live(struct store_txn *t, int64_t now,
		      int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	struct live l = {now, fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_SUPPORT, NULL, 0, 0, live_one, &l);

	return rc != 0 ? rc : l.rc;
}
