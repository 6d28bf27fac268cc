/*
 * Expired records do no harm (every read checks expiry) but they take
 * space, and throttle histories of unknown emails would grow without bound:
 * the sweeper removes them. It runs as an ordinary write job on the writer
 * thread, driven by an lws timer on the loop, and walks each database from
 * where the previous slice stopped. Positions are published only after a
 * slice commits.
 */
#include "sweep.h"

#include "async.h"
#include "http.h"
#include "log.h"
#include "records.h"
#include "session.h"
#include "store.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_EVERY_US (5LL * 60 * LWS_US_PER_SEC)
#define SWEEP_BUDGET   5000

static lws_sorted_usec_list_t timer;
static struct lws_context *sweep_ctx;
static bool running;		  /* a slice is queued or being written */
static struct sweep_pos next_pos; /* loop thread only */

struct sweep_job {
	struct job job;
	int64_t now;
	struct sweep_pos from;
	struct sweep_pos to;
	size_t deleted;
};

struct walk {
	enum store_db db;
	int64_t now;
	size_t budget, seen;
	/* Dead records: cluster references (kind and ref) or throttle keys. */
	struct dead {
		int kind;
		struct token_ref ref;
		uint8_t key[THROTTLE_KEY_LEN];
	} * dead;
	size_t n;
	uint8_t last[CLUSTER_KEY_MAX];
	size_t last_len;
};

static bool throttle_dead(MDB_txn *txn, const uint8_t *key, int64_t now)
{
	struct throttle_rec t;

	if (throttle_get(txn, key, &t) != 0)
		return false;
	/* Nothing in the last hour: it reads exactly like no record at all. */
	if (t.last_failure > now - 3600)
		return false;
	for (unsigned i = 0; i < t.count; i++)
		if (t.ring[i] > now - 3600)
			return false;
	return true;
}

/* True when the cluster record under ref (a session or a login) is over. */
static bool cluster_dead(MDB_txn *txn, int kind, const struct token_ref *ref, int64_t now)
{
	struct session s;
	struct login l;

	if (kind == KIND_SESSION)
		return session_get(txn, ref, &s) == 0 && now >= session_expires(&s);
	if (kind == KIND_LOGIN)
		return login_get(txn, ref, &l) == 0 && now >= l.expires_at;
	return false; /* TOTP and backup codes do not expire */
}

static int visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct walk *w = arg;
	struct dead *d;

	(void)v;
	if (w->seen++ >= w->budget)
		return 1;
	if (k->mv_size > sizeof(w->last))
		return 0;
	memcpy(w->last, k->mv_data, k->mv_size);
	w->last_len = k->mv_size;
	d = &w->dead[w->n];
	if (w->db == DB_CLUSTER) {
		d->kind = cluster_key_kind(k, &d->ref);
		if (cluster_dead(txn, d->kind, &d->ref, w->now))
			w->n++;
	} else if (k->mv_size == THROTTLE_KEY_LEN && throttle_dead(txn, k->mv_data, w->now)) {
		memcpy(d->key, k->mv_data, THROTTLE_KEY_LEN);
		w->n++;
	}
	return 0;
}

static int sweep_db(MDB_txn *txn, enum store_db db, int64_t now, size_t budget, const uint8_t *from,
		    size_t from_len, uint8_t *to, size_t to_cap, size_t *to_len, size_t *deleted)
{
	struct walk w = {.db = db, .now = now, .budget = budget};
	int rc;

	w.dead = calloc(budget + 1, sizeof(*w.dead));
	if (w.dead == NULL)
		return STORE_E_IO;
	rc = store_each_from(txn, db, from_len ? from : NULL, from_len, visit, &w);
	for (size_t i = 0; i < w.n && rc == 0; i++) {
		const struct dead *d = &w.dead[i];

		if (db == DB_THROTTLE)
			rc = store_del(txn, db, d->key, THROTTLE_KEY_LEN);
		else if (d->kind == KIND_SESSION)
			rc = session_del(txn, &d->ref);
		else
			rc = login_del(txn, &d->ref);
	}
	if (rc == 0) {
		*deleted += w.n;
		/* Stopped at the budget: the next slice resumes there; else wrap. */
		*to_len = w.seen > budget ? w.last_len : 0;
		/* A foreign key longer than the kind's own is cut: resuming from
		 * a prefix only looks at a few keys again. */
		if (*to_len > to_cap)
			*to_len = to_cap;
		memcpy(to, w.last, *to_len);
	}
	free(w.dead);
	return rc;
}

int sweep_slice(MDB_txn *txn, int64_t now, size_t budget, const struct sweep_pos *from,
		struct sweep_pos *to, size_t *deleted)
{
	size_t tlen = 0;
	int rc;

	*deleted = 0;
	memset(to, 0, sizeof(*to));
	rc = sweep_db(txn, DB_CLUSTER, now, budget, from->cluster,
		      from->have_cluster ? from->cluster_len : 0, to->cluster, sizeof(to->cluster),
		      &to->cluster_len, deleted);
	to->have_cluster = to->cluster_len > 0;
	if (rc == 0)
		rc = sweep_db(txn, DB_THROTTLE, now, budget, from->throttle,
			      from->have_throttle ? THROTTLE_KEY_LEN : 0, to->throttle,
			      sizeof(to->throttle), &tlen, deleted);
	to->have_throttle = tlen > 0;
	return rc;
}

static int sweep_txn(struct job *job, MDB_txn *txn)
{
	struct sweep_job *j = (struct sweep_job *)job;

	return sweep_slice(txn, j->now, SWEEP_BUDGET, &j->from, &j->to, &j->deleted);
}

static void sweep_done(struct job *job)
{
	struct sweep_job *j = (struct sweep_job *)job;

	if (job->store_rc != 0) {
		log_warn("sweep failed: store error %d", job->store_rc);
	} else {
		next_pos = j->to;
		if (j->deleted)
			log_info("sweep deleted %zu expired records", j->deleted);
	}
	running = false;
	free(j);
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	struct sweep_job *j;

	(void)sul;
	if (!running && (j = calloc(1, sizeof(*j))) != NULL) {
		running = true;
		j->now = authd_now();
		j->from = next_pos;
		j->job.txn_work = sweep_txn;
		j->job.done = sweep_done;
		store_submit(&j->job);
	}
	lws_sul_schedule(sweep_ctx, 0, &timer, on_timer, SWEEP_EVERY_US);
}

void sweep_start(struct lws_context *ctx)
{
	sweep_ctx = ctx;
	lws_sul_schedule(ctx, 0, &timer, on_timer, SWEEP_EVERY_US);
}

void sweep_stop(void)
{
	if (sweep_ctx)
		lws_sul_cancel(&timer);
	sweep_ctx = NULL;
}
