/*
 * GET /1/health, and the test-only routes (only when a test build runs with
 * test_clock on): POST /1/_test/clock moves authd's clock forward and
 * GET /1/_test/stats tells the benchmark how the writer grouped commits;
 * POST /1/_test/stall keeps the loop busy for a while, between two polls,
 * so that a test can deliver a signal exactly there; POST /1/_test/fail_writes
 * makes the next writes fail after they decided, as a failed commit would.
 */
#include "outbox.h"
#include "flow.h"
#include "http.h"
#include "keys.h"
#include "metrics.h"
#include "renewal.h"

#include "session.h"

#include <store.h>
#include <util.h>

#include <errno.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <time.h>

void http_health(struct req *r)
{
	reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", AUTHD_VERSION));
}

struct clock_job {
	struct job job;
	struct req *req;
	int64_t advance;
	bool freeze;
};

static int barrier_txn(struct job *job, struct store_txn *txn)
{
	(void)job;
	(void)txn;
	return 0;
}

/* When this job completes, every write submitted before it is durable, so
 * moving the clock cannot overtake one: LMDB's writer runs jobs in order,
 * and the job is submitted only after the session refreshes under way (the
 * writes no response waits for) finished, for PostgreSQL's threads,
 * which finish jobs in any order. */
static void clock_done(struct job *job)
{
	struct clock_job *j = (struct clock_job *)job;

	if (req_resume(j->req)) {
		if (job->store_rc != 0) {
			reply_error(j->req, api_error_from_store(job->store_rc));
			free(j);
			return;
		}
		if (j->freeze)
			authd_clock_freeze();
		authd_clock_advance(j->advance);
		reply_json(j->req, 200, json_pack("{s:I}", "now", (json_int_t)authd_now()));
	}
	free(j);
}

void http_test_clock(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"advance", JSON_INTEGER, true, 0},
	    {"freeze", JSON_TRUE, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	json_int_t s;
	bool freeze;

	if (body == NULL)
		return;
	s = json_integer_value(json_object_get(body, "advance"));
	freeze = json_is_true(json_object_get(body, "freeze"));
	json_decref(body);
	if (s < 0 || s > 100LL * 365 * 86400) {
		reply_field_error(r, E_INVALID_FIELD, "advance",
				  "must be 0 to 100 years of seconds");
		return;
	}
	struct clock_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->req = r;
	j->advance = s;
	j->freeze = freeze;
	j->job.txn_work = barrier_txn;
	j->job.done = clock_done;
	req_hold(r);
	session_write_after_touches(&j->job);
}

void http_test_stats(struct req *r)
{
	struct store_stats st;
	struct outbox_counters oc;

	store_stats(&st);
	outbox_counters(&oc);
	reply_json(r, 200,
		   json_pack("{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}}", "commits",
			     (json_int_t)st.commits, "jobs", (json_int_t)st.jobs, "work_started",
			     (json_int_t)flow_work_started(), "work_us", (json_int_t)st.work_us,
			     "sync_us", (json_int_t)st.sync_us, "outbox", "claimed",
			     (json_int_t)oc.claimed, "delivered", (json_int_t)oc.delivered,
			     "retried", (json_int_t)oc.retried, "failed", (json_int_t)oc.failed));
}

void http_test_fail_writes(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"count", JSON_INTEGER, true, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	json_int_t n;

	if (body == NULL)
		return;
	n = json_integer_value(json_object_get(body, "count"));
	json_decref(body);
	if (n < 0 || n > 1000) {
		reply_field_error(r, E_INVALID_FIELD, "count", "must be 0 to 1000");
		return;
	}
	flow_test_fail_writes((int)n);
	reply_empty(r, 204);
}

static lws_sorted_usec_list_t stall_sul;
static long stall_ms; /* loop thread only */

/* Runs inside a pass of the loop, as a timer: sleeps the whole time, even
 * when a signal interrupts the sleep. */
static void stall_now(lws_sorted_usec_list_t *sul)
{
	struct timespec left = {stall_ms / 1000, (stall_ms % 1000) * 1000000L};

	(void)sul;
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

void http_test_stall(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"ms", JSON_INTEGER, true, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	json_int_t ms;

	if (body == NULL)
		return;
	ms = json_integer_value(json_object_get(body, "ms"));
	json_decref(body);
	if (ms < 1 || ms > 10000) {
		reply_field_error(r, E_INVALID_FIELD, "ms", "must be 1 to 10000");
		return;
	}
	if (r->wsi == NULL) {
		reply_error(r, E_INTERNAL);
		return;
	}
	/* 50 ms on, so that this answer has been written by then. */
	stall_ms = (long)ms;
	lws_sul_schedule(lws_get_context(r->wsi), 0, &stall_sul, stall_now, 50 * LWS_US_PER_MS);
	reply_json(r, 200, json_pack("{s:I}", "ms", ms));
}

static void pass_done(void *arg, const struct renewal_stats *st)
{
	struct req *r = arg;

	if (!req_resume(r))
		return; /* the client has gone */
	if (st->store_rc != 0) {
		reply_error(r, api_error_from_store(st->store_rc));
		return;
	}
	reply_json(r, 200,
		   json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "walked",
			     (json_int_t)st->walked, "ordered", (json_int_t)st->ordered, "renewed",
			     (json_int_t)st->renewed, "blocked", (json_int_t)st->blocked,
			     "terminated", (json_int_t)st->terminated, "slices",
			     (json_int_t)st->slices, "elsewhere", st->elsewhere, "ms",
			     (json_int_t)st->ms));
}

/* POST /1/_test/billing_pass: a renewal pass now, answered when it ends. */
void http_test_billing_pass(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);

	if (body == NULL)
		return;
	json_decref(body);
	if (!renewal_pass(pass_done, r)) {
		reply_error(r, E_OVERLOADED); /* one runs already */
		return;
	}
	req_hold(r);
}

void http_test_hooks_stop(void)
{
	lws_sul_cancel(&stall_sul);
}

/* --- GET /1/ready: readiness --------------------------------------------------- */

/*
 * Liveness (/1/health) says the process answers; readiness says it can
 * serve: a read of the store (on PostgreSQL a query on a connection)
 * answers, and the key file holds the generation the store says every node
 * seals with. A store that fails answers 503 store_unavailable; a key file
 * that lacks that generation (a node not given the new file after a
 * rotation elsewhere) answers 503 key_generation_missing: the TOTP seeds
 * and messages the other nodes seal would not open here. Either way a load
 * balancer takes the node out until it can serve again.
 */
static int ready_read(struct flow *f, struct store_txn *txn)
{
	static const uint8_t nobody[AUTHD_ID_LEN];
	struct account a;
	int rc = store_account_get(txn, nobody, &a);

	(void)f;
	OPENSSL_cleanse(&a, sizeof(a));
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static void ready_reply(struct flow *f, struct req *r)
{
	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (keys_wanted_missing()) {
		reply_error(r, E_KEY_GENERATION_MISSING);
		return;
	}
	reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

static const struct flow_ops ready_ops = {
    .read = ready_read,
    .reply = ready_reply,
    .release = flow_bare_release,
};

void http_ready(struct req *r)
{
	flow_start_bare(r, &ready_ops);
}

/* --- GET /metrics: Prometheus' scrape -------------------------------------------- */

struct metrics_flow {
	struct flow f;
	struct metrics_store_view view;
};

/* The outbox's depth is every node's: the store's. */
static int metrics_read(struct flow *f, struct store_txn *txn)
{
	struct metrics_flow *m = (struct metrics_flow *)f;
	uint64_t n = 0;
	int64_t earliest = 0;
	int rc = store_outbox_pending(txn, &n, &earliest);

	m->view.store_read = rc == 0;
	m->view.outbox_pending = n;
	m->view.outbox_earliest = earliest;
	m->view.now = f->now;
	return 0; /* a store that fails is a figure too, not a failed scrape */
}

static void metrics_reply(struct flow *f, struct req *r)
{
	struct metrics_flow *m = (struct metrics_flow *)f;
	size_t len = 0;
	char *text;

	/* A store that does not answer (the read step never ran, or failed)
	 * leaves out the store's figures; every other one is this node's. */
	if (f->err != E_OK)
		m->view.store_read = false;
	m->view.key_sealing = keys_seals()->totp.current;
	m->view.key_missing = keys_wanted_missing();
	text = metrics_text(&m->view, &len);
	if (text == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_bytes(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

static const struct flow_ops metrics_ops = {
    .read = metrics_read,
    .reply = metrics_reply,
    .release = flow_bare_release,
    .reply_on_read_failure = true,
};

void http_metrics(struct req *r)
{
	flow_start_sized(r, &metrics_ops, sizeof(struct metrics_flow));
}
