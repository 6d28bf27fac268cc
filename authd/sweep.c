/*
 * Expired records do no harm (every read checks expiry) but they take
 * space: the sweeper removes them. It runs as an ordinary write job on the
 * writer thread, driven by an lws timer on the loop, and walks each
 * database from where the previous slice stopped.
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
static bool running; /* a slice is queued or being written */

/* Where the next slice starts, per database (empty: from the top). */
static uint8_t resume_session[AUTHD_HASH_LEN];
static bool have_resume_session;
static uint8_t resume_login[AUTHD_HASH_LEN];
static bool have_resume_login;

struct sweep_job {
	struct job job;
	int64_t now;
	size_t deleted;
};

struct walk {
	enum store_db db;
	int64_t now;
	size_t budget, seen;
	uint8_t (*expired)[AUTHD_HASH_LEN];
	uint8_t (*owners)[AUTHD_ID_LEN];
	size_t n;
	uint8_t last[AUTHD_HASH_LEN];
	bool done;
};

static int visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct walk *w = arg;
	int rc;

	(void)v;
	if (w->seen++ >= w->budget)
		return 1;
	if (k->mv_size != AUTHD_HASH_LEN)
		return 0;
	memcpy(w->last, k->mv_data, AUTHD_HASH_LEN);
	if (w->db == DB_SESSIONS) {
		struct session s;

		rc = session_get(txn, k->mv_data, &s);
		if (rc != 0 || w->now < session_expires(&s))
			return 0;
		memcpy(w->owners[w->n], s.account_id, AUTHD_ID_LEN);
	} else {
		struct login l;

		rc = login_get(txn, k->mv_data, &l);
		if (rc != 0 || w->now < l.expires_at)
			return 0;
	}
	memcpy(w->expired[w->n++], k->mv_data, AUTHD_HASH_LEN);
	return 0;
}

static int sweep_db(MDB_txn *txn, enum store_db db, int64_t now, size_t budget, uint8_t *resume,
		    bool *have_resume, size_t *deleted)
{
	struct walk w = {.db = db, .now = now, .budget = budget};
	int rc;

	w.expired = calloc(budget + 1, AUTHD_HASH_LEN);
	w.owners = calloc(budget + 1, AUTHD_ID_LEN);
	if (w.expired == NULL || w.owners == NULL) {
		rc = STORE_E_IO;
		goto out;
	}
	/* An empty prefix walks from the resume key (or the top) onwards. */
	rc = store_each_from(txn, db, *have_resume ? resume : NULL, AUTHD_HASH_LEN, visit, &w);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < w.n && rc == 0; i++)
		rc = db == DB_SESSIONS ? session_del(txn, w.expired[i], w.owners[i])
				       : login_del(txn, w.expired[i]);
	if (rc != 0)
		goto out;
	*deleted += w.n;
	/* Went past the budget: resume after the last key seen; else wrap. */
	*have_resume = w.seen > budget;
	if (*have_resume)
		memcpy(resume, w.last, AUTHD_HASH_LEN);
out:
	free(w.expired);
	free(w.owners);
	return rc;
}

int sweep_slice(MDB_txn *txn, int64_t now, size_t budget, size_t *deleted)
{
	int rc;

	*deleted = 0;
	rc = sweep_db(txn, DB_SESSIONS, now, budget, resume_session, &have_resume_session, deleted);
	if (rc == 0)
		rc = sweep_db(txn, DB_LOGINS, now, budget, resume_login, &have_resume_login,
			      deleted);
	return rc;
}

static int sweep_txn(struct job *job, MDB_txn *txn)
{
	struct sweep_job *j = (struct sweep_job *)job;

	return sweep_slice(txn, j->now, SWEEP_BUDGET, &j->deleted);
}

static void sweep_done(struct job *job)
{
	struct sweep_job *j = (struct sweep_job *)job;

	if (job->store_rc != 0)
		log_warn("sweep failed: store error %d", job->store_rc);
	else if (j->deleted)
		log_info("sweep deleted %zu expired sessions and logins", j->deleted);
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
