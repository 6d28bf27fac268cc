/*
 * Expired records do no harm (every read checks expiry) but they take
 * space, and throttle histories of unknown emails would grow without bound:
 * the sweeper removes them. It runs as an ordinary write job on the writer
 * thread, driven by an lws timer on the loop, and walks each database from
 * where the previous slice stopped. Positions are published only after a
 * slice commits.
 */
#include "sweep.h"

#include <log.h>
#include <store.h>

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_EVERY_US (5LL * 60 * LWS_US_PER_SEC)
/* The first pass comes soon after a start: what fell due while authd was
 * down (identity documents past their 72 hours) goes then, not 5 minutes
 * later. */
#define SWEEP_FIRST_US (10LL * LWS_US_PER_SEC)
#define SWEEP_BUDGET   5000

static lws_sorted_usec_list_t timer;
static struct lws_context *sweep_ctx;
static int64_t idle_s;			/* a session unused this long is over */
static bool running;			/* a slice is queued or being written */
static struct store_sweep_pos next_pos; /* loop thread only */

struct sweep_job {
	struct job job;
	int64_t now;
	struct store_sweep_pos from;
	struct store_sweep_pos to;
	size_t deleted;
};

static int sweep_txn(struct job *job, struct store_txn *txn)
{
	struct sweep_job *j = (struct sweep_job *)job;

	j->deleted = 0;
	return store_sweep(txn, j->now, idle_s, SWEEP_BUDGET, &j->from, &j->to, &j->deleted);
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
		store_write(&j->job);
	}
	lws_sul_schedule(sweep_ctx, 0, &timer, on_timer, SWEEP_EVERY_US);
}

void sweep_start(struct lws_context *ctx, int64_t session_idle_s)
{
	idle_s = session_idle_s;
	sweep_ctx = ctx;
	lws_sul_schedule(ctx, 0, &timer, on_timer, SWEEP_FIRST_US);
}

void sweep_stop(void)
{
	if (sweep_ctx)
		lws_sul_cancel(&timer);
	sweep_ctx = NULL;
}
