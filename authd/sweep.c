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
#define KEY_MAX	       AUTHD_HASH_LEN

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
	size_t klen;
	int64_t now;
	size_t budget, seen;
	uint8_t (*dead)[KEY_MAX];
	uint8_t (*owners)[AUTHD_ID_LEN];
	size_t n;
	uint8_t last[KEY_MAX];
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

static int visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct walk *w = arg;
	bool dead = false;

	(void)v;
	if (w->seen++ >= w->budget)
		return 1;
	if (k->mv_size != w->klen)
		return 0;
	memcpy(w->last, k->mv_data, w->klen);
	if (w->db == DB_SESSIONS) {
		struct session s;

		dead = session_get(txn, k->mv_data, &s) == 0 && w->now >= session_expires(&s);
		if (dead)
			memcpy(w->owners[w->n], s.account_id, AUTHD_ID_LEN);
	} else if (w->db == DB_LOGINS) {
		struct login l;

		dead = login_get(txn, k->mv_data, &l) == 0 && w->now >= l.expires_at;
	} else {
		dead = throttle_dead(txn, k->mv_data, w->now);
	}
	if (dead)
		memcpy(w->dead[w->n++], k->mv_data, w->klen);
	return 0;
}

static int sweep_db(MDB_txn *txn, enum store_db db, size_t klen, int64_t now, size_t budget,
		    const uint8_t *from, bool have_from, uint8_t *to, bool *have_to,
		    size_t *deleted)
{
	struct walk w = {.db = db, .klen = klen, .now = now, .budget = budget};
	int rc;

	w.dead = calloc(budget + 1, KEY_MAX);
	w.owners = calloc(budget + 1, AUTHD_ID_LEN);
	if (w.dead == NULL || w.owners == NULL) {
		rc = STORE_E_IO;
		goto out;
	}
	rc = store_each_from(txn, db, have_from ? from : NULL, klen, visit, &w);
	for (size_t i = 0; i < w.n && rc == 0; i++) {
		if (db == DB_SESSIONS)
			rc = session_del(txn, w.dead[i], w.owners[i]);
		else if (db == DB_LOGINS)
			rc = login_del(txn, w.dead[i]);
		else
			rc = store_del(txn, db, w.dead[i], klen);
	}
	if (rc != 0)
		goto out;
	*deleted += w.n;
	/* Stopped at the budget: the next slice resumes there; else wrap. */
	*have_to = w.seen > budget;
	if (*have_to)
		memcpy(to, w.last, klen);
out:
	free(w.dead);
	free(w.owners);
	return rc;
}

int sweep_slice(MDB_txn *txn, int64_t now, size_t budget, const struct sweep_pos *from,
		struct sweep_pos *to, size_t *deleted)
{
	int rc;

	*deleted = 0;
	memset(to, 0, sizeof(*to));
	rc = sweep_db(txn, DB_SESSIONS, AUTHD_HASH_LEN, now, budget, from->session,
		      from->have_session, to->session, &to->have_session, deleted);
	if (rc == 0)
		rc = sweep_db(txn, DB_LOGINS, AUTHD_HASH_LEN, now, budget, from->login,
			      from->have_login, to->login, &to->have_login, deleted);
	if (rc == 0)
		rc = sweep_db(txn, DB_THROTTLE, THROTTLE_KEY_LEN, now, budget, from->throttle,
			      from->have_throttle, to->throttle, &to->have_throttle, deleted);
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
