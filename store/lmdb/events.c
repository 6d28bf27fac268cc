/*
 * Security events on LMDB: in the account's cluster (kind 'E'), keyed by
 * account id, 'E', the time (big-endian, so keys sort by time) and a
 * 4-byte sequence number (one more than the account's last event of that
 * second: events of one second stay apart, in the order they were
 * written). In the cluster, a sign-in's event lands on the pages its other
 * writes (the pending login, the session) already dirty: a tree of its
 * own cost every TOTP step a page more to write and sync. Listed
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
#define EVENT_T	      (AUTHD_ID_LEN + 1) /* where the time starts in a key */
#define EVENT_VAL_MAX (1 + 2 + 1 + EVENT_IP_MAX + 2 + 1 + EVENT_BROWSER_MAX)

static void event_key(uint8_t key[EVENT_KEY_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		      int64_t at, uint32_t seq)
{
	uint64_t t = (uint64_t)at;

	memcpy(key, account_id, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN] = KIND_EVENT;
	for (int i = 0; i < 8; i++)
		key[EVENT_T + i] = (uint8_t)(t >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		key[EVENT_T + 8 + i] = (uint8_t)(seq >> (24 - 8 * i));
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
	if (mdb_cursor_open(txn, lmdb_dbi(DB_CLUSTER), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == EVENT_KEY_LEN && memcmp(k.mv_data, key, EVENT_KEY_LEN) == 0)
		rc = MDB_KEYEXIST; /* UINT32_MAX taken: the second is full */
	else
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
			     : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == EVENT_KEY_LEN && memcmp(k.mv_data, key, EVENT_T + 8) == 0) {
		const uint8_t *p = (const uint8_t *)k.mv_data + EVENT_T + 8;

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
	return lmdb_put(lmdb_of(t), DB_CLUSTER, key, sizeof(key), val, n);
}

int lmdb_event_decode(const MDB_val *k, const MDB_val *v, struct security_event *e)
{
	const uint8_t *p = k->mv_data, *q = v->mv_data;
	size_t n;

	if (!lmdb_is_event_key(k) || v->mv_size < 4 || (q[0] != EVENT_V1 && q[0] != EVENT_V2) ||
	    q[3] > EVENT_IP_MAX || v->mv_size < 4u + q[3])
		return STORE_E_CORRUPT;
	memset(e, 0, sizeof(*e));
	memcpy(e->account_id, p, AUTHD_ID_LEN);
	e->at = lmdb_event_key_time(k);
	for (int i = 0; i < 4; i++)
		e->seq = e->seq << 8 | p[EVENT_T + 8 + i];
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

	if (before && (before->seq > UINT32_MAX || before->at < 0))
		return 0; /* no event is before a cursor no listing gave */
	if (before) {
		/* The cursor's own key: the walk starts just before it. */
		event_key(end, account_id, before->at, (uint32_t)before->seq);
		k = (MDB_val){EVENT_KEY_LEN, end};
	} else {
		/* Just past the account's events: its id, 'E' + 1, then back. */
		memcpy(end, account_id, AUTHD_ID_LEN);
		end[AUTHD_ID_LEN] = KIND_EVENT + 1;
		k = (MDB_val){AUTHD_ID_LEN + 1, end};
	}
	if (mdb_cursor_open(lmdb_of(t), lmdb_dbi(DB_CLUSTER), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc =
	    rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && n < limit && k.mv_size > AUTHD_ID_LEN &&
	       memcmp(k.mv_data, account_id, AUTHD_ID_LEN) == 0 &&
	       ((const uint8_t *)k.mv_data)[AUTHD_ID_LEN] == KIND_EVENT) {
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

bool lmdb_is_event_key(const MDB_val *k)
{
	return k->mv_size == EVENT_KEY_LEN &&
	       ((const uint8_t *)k->mv_data)[AUTHD_ID_LEN] == KIND_EVENT;
}

int64_t lmdb_event_key_time(const MDB_val *k)
{
	const uint8_t *p = k->mv_data;
	uint64_t at = 0;

	for (int i = 0; i < 8; i++)
		at = at << 8 | p[EVENT_T + i];
	return (int64_t)at;
}

int lmdb_events_migrate(MDB_txn *txn, size_t *moved)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*moved = 0;
	if ((rc = mdb_cursor_open(txn, lmdb_dbi(DB_EVENTS), &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = k.mv_data;
		uint8_t key[EVENT_KEY_LEN];
		MDB_val nk = {sizeof(key), key};
		uint32_t seq;

		if (k.mv_size != AUTHD_ID_LEN + 8 + 4)
			continue; /* not an event of the old layout */
		seq = (uint32_t)p[AUTHD_ID_LEN + 8] << 24 | (uint32_t)p[AUTHD_ID_LEN + 9] << 16 |
		      (uint32_t)p[AUTHD_ID_LEN + 10] << 8 | p[AUTHD_ID_LEN + 11];
		uint64_t at = 0;

		for (int i = 0; i < 8; i++)
			at = at << 8 | p[AUTHD_ID_LEN + i];
		event_key(key, p, (int64_t)at, seq);
		if ((rc = mdb_put(txn, lmdb_dbi(DB_CLUSTER), &nk, &v, 0)) != 0)
			break;
		(*moved)++;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	return mdb_drop(txn, lmdb_dbi(DB_EVENTS), 0);
}
