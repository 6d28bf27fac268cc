/*
 * Security events on LMDB: one database keyed by account id, the time
 * (big-endian, so keys sort by time) and a 4-byte sequence number (one
 * more than the account's last event of that second: events of one second
 * stay apart, in the order they were written); listed
 * newest first with a cursor walking back from the end of the account's
 * range, or from just before a given event.
 *
 * Record version 2: version, kind (2), ip length and ip, method, outcome,
 * browser length and browser. Version 1 (kind and ip) still reads.
 */
#include "lmdb-internal.h"

#include <stdlib.h>
#include <string.h>
#include <util.h>

#define EVENT_V1      1
#define EVENT_V2      2
#define EVENT_KEY_LEN LMDB_EVENT_KEY_LEN
#define EVENT_VAL_MAX (1 + 2 + 1 + EVENT_IP_MAX + 2 + 1 + EVENT_BROWSER_MAX)

static void event_key(uint8_t key[EVENT_KEY_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		      int64_t at, uint32_t seq)
{
	uint64_t t = (uint64_t)at;

	memcpy(key, account_id, AUTHD_ID_LEN);
	for (int i = 0; i < 8; i++)
		key[AUTHD_ID_LEN + i] = (uint8_t)(t >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		key[AUTHD_ID_LEN + 8 + i] = (uint8_t)(seq >> (24 - 8 * i));
}

/* The sequence number of a new event of the account at `at`: one more
 * than the last one of that second (writes are serialized: no two jobs
 * pick the same). */
static int next_seq(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t at, uint32_t *seq)
{
	MDB_cursor *cur = NULL;
	uint8_t key[EVENT_KEY_LEN];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	event_key(key, account_id, at, UINT32_MAX);
	*seq = 0;
	if (mdb_cursor_open(txn, lmdb_dbi(DB_EVENTS), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == EVENT_KEY_LEN && memcmp(k.mv_data, key, EVENT_KEY_LEN) == 0)
		rc = MDB_KEYEXIST; /* UINT32_MAX taken: the second is full */
	else
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
			     : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == EVENT_KEY_LEN &&
	    memcmp(k.mv_data, key, AUTHD_ID_LEN + 8) == 0) {
		const uint8_t *p = (const uint8_t *)k.mv_data + AUTHD_ID_LEN + 8;

		*seq =
		    ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]) + 1;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_KEYEXIST)
		return STORE_E_FULL;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_E_IO;
}

int lmdb_event_add(struct store_txn *t, const struct security_event *e)
{
	uint8_t key[EVENT_KEY_LEN], val[EVENT_VAL_MAX];
	size_t iplen = strnlen(e->ip, EVENT_IP_MAX);
	size_t blen = strnlen(e->browser, EVENT_BROWSER_MAX);
	size_t n = 0;
	uint32_t seq;
	int rc;

	if ((rc = next_seq(lmdb_of(t), e->account_id, e->at, &seq)) != 0)
		return rc;
	event_key(key, e->account_id, e->at, seq);
	val[n++] = EVENT_V2;
	val[n++] = (uint8_t)(e->kind >> 8);
	val[n++] = (uint8_t)e->kind;
	val[n++] = (uint8_t)iplen;
	memcpy(val + n, e->ip, iplen);
	n += iplen;
	val[n++] = e->method;
	val[n++] = e->outcome;
	val[n++] = (uint8_t)blen;
	memcpy(val + n, e->browser, blen);
	n += blen;
	return lmdb_put(lmdb_of(t), DB_EVENTS, key, sizeof(key), val, n);
}

int lmdb_event_decode(const MDB_val *k, const MDB_val *v, struct security_event *e)
{
	const uint8_t *p = k->mv_data, *q = v->mv_data;
	uint64_t at = 0;
	size_t n;

	if (k->mv_size != EVENT_KEY_LEN || v->mv_size < 4 ||
	    (q[0] != EVENT_V1 && q[0] != EVENT_V2) || q[3] > EVENT_IP_MAX || v->mv_size < 4u + q[3])
		return STORE_E_CORRUPT;
	memset(e, 0, sizeof(*e));
	memcpy(e->account_id, p, AUTHD_ID_LEN);
	for (int i = 0; i < 8; i++)
		at = at << 8 | p[AUTHD_ID_LEN + i];
	e->at = (int64_t)at;
	for (int i = 0; i < 4; i++)
		e->seq = e->seq << 8 | p[AUTHD_ID_LEN + 8 + i];
	e->kind = (uint16_t)(q[1] << 8 | q[2]);
	memcpy(e->ip, q + 4, q[3]);
	n = 4u + q[3];
	if (q[0] == EVENT_V1)
		return v->mv_size == n ? 0 : STORE_E_CORRUPT;
	if (v->mv_size < n + 3 || q[n + 2] > EVENT_BROWSER_MAX || v->mv_size != n + 3 + q[n + 2])
		return STORE_E_CORRUPT;
	e->method = q[n];
	e->outcome = q[n + 1];
	memcpy(e->browser, q + n + 3, q[n + 2]);
	return 0;
}

int lmdb_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct event_cursor *before, size_t limit,
		     int (*fn)(void *arg, const struct security_event *e), void *arg)
{
	MDB_cursor *cur = NULL;
	uint8_t end[EVENT_KEY_LEN];
	MDB_val k, v;
	struct security_event e;
	size_t n = 0;
	int rc;

	if (before) {
		/* The cursor's own key: the walk starts just before it. */
		event_key(end, account_id, before->at, (uint32_t)before->seq);
		k = (MDB_val){EVENT_KEY_LEN, end};
	} else {
		/* Just past the account's range: its id and 0xff, then walk back. */
		memcpy(end, account_id, AUTHD_ID_LEN);
		end[AUTHD_ID_LEN] = 0xff;
		k = (MDB_val){AUTHD_ID_LEN + 1, end};
	}
	if (before && (before->seq > UINT32_MAX || before->at < 0))
		return 0; /* no event is before a cursor no listing gave */
	if (mdb_cursor_open(lmdb_of(t), lmdb_dbi(DB_EVENTS), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc =
	    rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && n < limit && k.mv_size >= AUTHD_ID_LEN &&
	       memcmp(k.mv_data, account_id, AUTHD_ID_LEN) == 0) {
		if ((rc = lmdb_event_decode(&k, &v, &e)) != 0 || (rc = fn(arg, &e)) != 0)
			break;
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	/* The end of the database or of the account's range is no error; a
	 * decoder's or fn's answer is returned as is; LMDB's own errors are
	 * positive. */
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc > 0 ? STORE_E_IO : rc;
}

struct old_events {
	int64_t before;
	size_t budget, seen, n;
	uint8_t (*dead)[EVENT_KEY_LEN];
	uint8_t last[EVENT_KEY_LEN];
	bool stopped;
};

static int visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct old_events *w = arg;
	uint64_t at = 0;

	(void)txn;
	(void)v;
	if (w->seen++ >= w->budget) {
		w->stopped = true;
		return 1;
	}
	if (k->mv_size != EVENT_KEY_LEN)
		return 0;
	memcpy(w->last, k->mv_data, EVENT_KEY_LEN);
	for (int i = 0; i < 8; i++)
		at = at << 8 | ((const uint8_t *)k->mv_data)[AUTHD_ID_LEN + i];
	if ((int64_t)at < w->before)
		memcpy(w->dead[w->n++], k->mv_data, EVENT_KEY_LEN);
	return 0;
}

int lmdb_events_sweep(struct store_txn *t, int64_t before, size_t budget, const uint8_t *from,
		      size_t from_len, uint8_t to[LMDB_EVENT_KEY_LEN], size_t *to_len,
		      size_t *deleted)
{
	struct old_events w = {.before = before, .budget = budget};
	int rc;

	*to_len = 0;
	if ((w.dead = calloc(budget + 1, EVENT_KEY_LEN)) == NULL)
		return STORE_E_IO;
	rc = lmdb_walk(lmdb_of(t), DB_EVENTS, from_len ? from : NULL, from_len, 0, visit, &w);
	for (size_t i = 0; i < w.n && rc == 0; i++) {
		rc = lmdb_del(lmdb_of(t), DB_EVENTS, w.dead[i], EVENT_KEY_LEN);
		if (rc == STORE_E_NOTFOUND)
			rc = 0;
	}
	if (rc == 0) {
		*deleted += w.n;
		if (w.stopped) {
			memcpy(to, w.last, EVENT_KEY_LEN);
			*to_len = EVENT_KEY_LEN;
		}
	}
	free(w.dead);
	return rc;
}
