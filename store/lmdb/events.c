/*
 * Security events on LMDB: one database keyed by account id, the time
 * (big-endian, so keys sort by time) and 4 random bytes (two events in one
 * second stay apart); listed newest first with a cursor walking back from
 * the end of the account's range.
 */
#include "lmdb-internal.h"

#include <string.h>
#include <util.h>

#define EVENT_V	      1
#define EVENT_KEY_LEN (AUTHD_ID_LEN + 8 + 4)

int lmdb_event_add(struct store_txn *t, const struct security_event *e)
{
	uint8_t key[EVENT_KEY_LEN], val[1 + 2 + 1 + EVENT_IP_MAX];
	uint64_t at = (uint64_t)e->at;
	size_t iplen = strnlen(e->ip, EVENT_IP_MAX);

	memcpy(key, e->account_id, AUTHD_ID_LEN);
	for (int i = 0; i < 8; i++)
		key[AUTHD_ID_LEN + i] = (uint8_t)(at >> (56 - 8 * i));
	authd_random(key + AUTHD_ID_LEN + 8, 4);
	val[0] = EVENT_V;
	val[1] = (uint8_t)(e->kind >> 8);
	val[2] = (uint8_t)e->kind;
	val[3] = (uint8_t)iplen;
	memcpy(val + 4, e->ip, iplen);
	return lmdb_put(lmdb_of(t), DB_EVENTS, key, sizeof(key), val, 4 + iplen);
}

int lmdb_event_decode(const MDB_val *k, const MDB_val *v, struct security_event *e)
{
	const uint8_t *p = k->mv_data, *q = v->mv_data;
	uint64_t at = 0;

	if (k->mv_size != EVENT_KEY_LEN || v->mv_size < 4 || q[0] != EVENT_V ||
	    v->mv_size != 4u + q[3] || q[3] > EVENT_IP_MAX)
		return STORE_E_CORRUPT;
	memset(e, 0, sizeof(*e));
	memcpy(e->account_id, p, AUTHD_ID_LEN);
	for (int i = 0; i < 8; i++)
		at = at << 8 | p[AUTHD_ID_LEN + i];
	e->at = (int64_t)at;
	e->kind = (uint16_t)(q[1] << 8 | q[2]);
	memcpy(e->ip, q + 4, q[3]);
	return 0;
}

int lmdb_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct security_event *e), void *arg)
{
	MDB_cursor *cur = NULL;
	uint8_t end[AUTHD_ID_LEN + 1];
	MDB_val k = {sizeof(end), end}, v;
	struct security_event e;
	size_t n = 0;
	int rc;

	/* Just past the account's range: its id and 0xff, then walk back. */
	memcpy(end, account_id, AUTHD_ID_LEN);
	end[AUTHD_ID_LEN] = 0xff;
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
