/*
 * The LMDB sweeper: walks the account cluster and the throttle database
 * from where the previous slice stopped, at most `budget` keys of each,
 * and deletes sessions, pending logins and device link offers that are
 * over and throttle histories quiet for an hour.
 */
#include "lmdb-internal.h"

#include <stdlib.h>
#include <string.h>

/* What store_sweep_pos holds on this engine. */
struct lmdb_sweep_pos {
	uint8_t cluster[CLUSTER_KEY_MAX];
	uint8_t cluster_len;
	uint8_t throttle[THROTTLE_KEY_LEN];
	bool have_cluster, have_throttle;
};

_Static_assert(sizeof(struct lmdb_sweep_pos) <= sizeof(struct store_sweep_pos),
	       "the sweep position fits the seam's");

struct walk {
	struct store_txn *t;
	enum lmdb_db db;
	int64_t now, idle_s;
	size_t budget, seen;
	/* Dead records: cluster references (kind and ref) or throttle keys. */
	struct dead {
		int kind;
		struct token_ref ref;
		uint8_t key[LMDB_EVENT_KEY_LEN]; /* a throttle subject, or an event */
	} * dead;
	size_t n;
	uint8_t last[CLUSTER_KEY_MAX];
	size_t last_len;
};

/* True when the cluster record under ref (a session, a login or a link
 * offer) is over. */
static bool cluster_dead(struct walk *w, int kind, const struct token_ref *ref)
{
	struct session s;
	struct login l;
	struct push_link k;
	struct push_challenge c;

	if (kind == KIND_SESSION) {
		int64_t idle_end;

		if (lmdb_session_get(w->t, ref, &s) != 0)
			return false;
		idle_end = s.last_seen + w->idle_s;
		return w->now >= (idle_end < s.expires_at ? idle_end : s.expires_at);
	}
	if (kind == KIND_LOGIN)
		return lmdb_login_get(w->t, ref, &l) == 0 && w->now >= l.expires_at;
	if (kind == KIND_LINK)
		return lmdb_link_get(w->t, ref, &k) == 0 && w->now >= k.expires_at;
	/* A challenge's hash slot is its id (16 bytes, all of it). */
	if (kind == KIND_CHALLENGE)
		return lmdb_challenge_get(w->t, ref->account_id, ref->hash, &c) == 0 &&
		       w->now >= c.expires_at + PUSH_KEEP_AFTER;
	return false; /* TOTP credentials and devices do not expire */
}

static int visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct walk *w = arg;
	struct dead *d;
	struct throttle_rec tr;

	(void)txn;
	(void)v;
	if (w->seen++ >= w->budget)
		return 1;
	if (k->mv_size > sizeof(w->last))
		return 0;
	memcpy(w->last, k->mv_data, k->mv_size);
	w->last_len = k->mv_size;
	d = &w->dead[w->n];
	if (w->db == DB_CLUSTER && lmdb_is_event_key(k)) {
		d->kind = KIND_EVENT;
		memcpy(d->key, k->mv_data, LMDB_EVENT_KEY_LEN);
		if (lmdb_event_key_time(k) < w->now - EVENT_KEEP_S)
			w->n++;
	} else if (w->db == DB_CLUSTER) {
		d->kind = lmdb_cluster_key_kind(k, &d->ref);
		if (cluster_dead(w, d->kind, &d->ref))
			w->n++;
	} else if (k->mv_size == THROTTLE_KEY_LEN &&
		   lmdb_throttle_get(w->t, k->mv_data, &tr) == 0 &&
		   throttle_subject_is_quiet(k->mv_data, &tr, w->now)) {
		memcpy(d->key, k->mv_data, THROTTLE_KEY_LEN);
		w->n++;
	}
	return 0;
}

static int sweep_db(struct walk *w, const uint8_t *from, size_t from_len, uint8_t *to,
		    size_t to_cap, size_t *to_len, size_t *deleted)
{
	MDB_txn *txn = lmdb_of(w->t);
	int rc;

	w->dead = calloc(w->budget + 1, sizeof(*w->dead));
	if (w->dead == NULL)
		return STORE_E_IO;
	rc = lmdb_walk(txn, w->db, from_len ? from : NULL, from_len, 0, visit, w);
	for (size_t i = 0; i < w->n && rc == 0; i++) {
		const struct dead *d = &w->dead[i];

		if (w->db == DB_THROTTLE) {
			rc = lmdb_del(txn, w->db, d->key, THROTTLE_KEY_LEN);
			if (rc == STORE_E_NOTFOUND)
				rc = 0;
		} else if (d->kind == KIND_EVENT) {
			rc = lmdb_del(txn, DB_CLUSTER, d->key, LMDB_EVENT_KEY_LEN);
			if (rc == STORE_E_NOTFOUND)
				rc = 0;
		} else if (d->kind == KIND_SESSION) {
			rc = lmdb_session_del(w->t, &d->ref);
		} else if (d->kind == KIND_LINK) {
			rc = lmdb_link_del(w->t, &d->ref);
		} else if (d->kind == KIND_CHALLENGE) {
			rc = lmdb_challenge_del(w->t, d->ref.account_id, d->ref.hash);
		} else {
			rc = lmdb_login_del(w->t, &d->ref);
		}
	}
	if (rc == 0) {
		*deleted += w->n;
		/* Stopped at the budget: the next slice resumes there; else wrap. */
		*to_len = w->seen > w->budget ? w->last_len : 0;
		/* A foreign key longer than the kind's own is cut: resuming from
		 * a prefix only looks at a few keys again. */
		if (*to_len > to_cap)
			*to_len = to_cap;
		memcpy(to, w->last, *to_len);
	}
	free(w->dead);
	w->dead = NULL;
	return rc;
}

int lmdb_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
	       const struct store_sweep_pos *from_pos, struct store_sweep_pos *to_pos,
	       size_t *deleted)
{
	struct lmdb_sweep_pos from, to;
	struct walk w = {.t = t, .now = now, .idle_s = idle_s, .budget = budget};
	size_t clen = 0, tlen = 0;
	int rc;

	lmdb_readers_check();
	memcpy(&from, from_pos->bytes, sizeof(from));
	memset(&to, 0, sizeof(to));
	if (from.cluster_len > CLUSTER_KEY_MAX)
		from.have_cluster = false;
	w.db = DB_CLUSTER;
	rc = sweep_db(&w, from.cluster, from.have_cluster ? from.cluster_len : 0, to.cluster,
		      sizeof(to.cluster), &clen, deleted);
	to.cluster_len = (uint8_t)clen;
	to.have_cluster = clen > 0;
	if (rc == 0) {
		w.db = DB_THROTTLE;
		w.seen = w.n = 0;
		rc = sweep_db(&w, from.throttle, from.have_throttle ? THROTTLE_KEY_LEN : 0,
			      to.throttle, sizeof(to.throttle), &tlen, deleted);
	}
	to.have_throttle = tlen > 0;
	if (rc == 0)
		rc = lmdb_outbox_sweep(t, now - OUTBOX_KEEP_S, budget, deleted);
	if (rc == 0)
		rc = lmdb_cases_sweep(t, now - CASE_DOC_KEEP_S, now, budget, deleted);
	memset(to_pos, 0, sizeof(*to_pos));
	memcpy(to_pos->bytes, &to, sizeof(to));
	return rc;
}
