/*
 * How a job's statements travel: every connection stays in libpq's
 * pipeline mode, so a statement whose rows are not needed yet (a write) is
 * only queued, BEGIN leaves with the job's first statement, and COMMIT
 * with the last writes: a TOTP step is three round trips where one per
 * statement made it fifteen. A read job runs its first statement alone in
 * an implicit transaction (one statement sees one snapshot) and sends
 * Sync with it: a session check is one round trip. Should the job then
 * ask for a second statement, it is run again from the start in a
 * REPEATABLE READ READ ONLY transaction (STORE_E_REDO; jobs may run more
 * than once).
 *
 * Errors are sticky (pg-internal.h): after the first failure nothing more
 * is sent, and pg_txn_finish() reads what is still in flight, brings the
 * connection back to idle and rolls back. A connection whose protocol
 * state cannot be accounted for is reported lost, so the thread drops it
 * and connects again.
 */
#include "pg-internal.h"

#include <log.h>
#include <openssl/crypto.h>

#include <stddef.h>
#include <string.h>

/* At most this many results wait to be read; past it the queue is read. */
#define PENDING_MAX 32

static void fail(struct pg_txn *t, int rc, enum pg_fail f)
{
	if (t->err == 0) {
		t->err = rc;
		t->fail = f;
	}
}

/* libpq could not send (or flush): the connection is gone, or out of
 * memory. */
static void send_failed(struct pg_txn *t, const char *what)
{
	enum pg_fail f;
	int rc = pg_result_error(t->conn, NULL, what, &f);

	fail(t, rc, f);
}

/* The protocol is not where the engine thinks: drop the connection. */
static void out_of_step(struct pg_txn *t, const char *what)
{
	log_err("postgresql: %s: the connection is out of step; reconnecting", what);
	fail(t, STORE_E_IO, PG_FAIL_LOST);
	t->fail = PG_FAIL_LOST;
}

static bool lost(struct pg_txn *t)
{
	return t->fail == PG_FAIL_LOST;
}

/*
 * Reads the outcome of the oldest statement in flight: its result (into
 * *out when out is not NULL and it succeeded; the caller pg_clear()s it)
 * and the NULL that ends it. Returns 0 or the failure (also recorded in t).
 */
static int read_one(struct pg_txn *t, const char *what, PGresult **out)
{
	PGresult *res = PQgetResult(t->conn), *extra;
	ExecStatusType st;
	enum pg_fail f = PG_FAIL_NONE;
	int rc = 0;

	if (out)
		*out = NULL;
	if (res == NULL) {
		if (PQstatus(t->conn) != CONNECTION_OK)
			send_failed(t, what);
		else
			out_of_step(t, what);
		return t->err;
	}
	while ((extra = PQgetResult(t->conn)) != NULL) {
		ExecStatusType xs = PQresultStatus(extra);

		pg_clear(extra);
		if (xs == PGRES_PIPELINE_SYNC) {
			/* A statement answered without its end mark. */
			pg_clear(res);
			out_of_step(t, what);
			return t->err;
		}
	}
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		if (out)
			*out = res;
		else
			pg_clear(res);
		return 0;
	}
	if (st == PGRES_PIPELINE_ABORTED) {
		/* An earlier statement failed; that failure is the one to report. */
		pg_clear(res);
		if (t->err == 0)
			out_of_step(t, what);
		return t->err;
	}
	rc = pg_result_error(t->conn, res, what, &f);
	fail(t, rc, f);
	pg_clear(res);
	return t->err;
}

/* Reads the statements in flight (their rows are not wanted). */
static int drain(struct pg_txn *t)
{
	while (t->pending > 0 && t->err == 0) {
		const char *what = t->pending_what[t->pending_head];

		t->pending_head = (t->pending_head + 1) % PG_PENDING_RING;
		t->pending--;
		read_one(t, what, NULL);
	}
	return t->err;
}

static void push_pending(struct pg_txn *t, const char *what)
{
	t->pending_what[(t->pending_head + t->pending) % PG_PENDING_RING] = what;
	t->pending++;
}

/* Asks the server to send what it has and sends what libpq holds. */
static int flush(struct pg_txn *t, const char *what)
{
	if (!PQsendFlushRequest(t->conn) || PQflush(t->conn) != 0)
		send_failed(t, what);
	return t->err;
}

static int sync(struct pg_txn *t, const char *what)
{
	if (!PQpipelineSync(t->conn)) {
		send_failed(t, what);
		return t->err;
	}
	t->syncs++;
	t->sent_since_sync = false;
	return 0;
}

/* Reads results up to and including the next sync point. */
static int read_sync(struct pg_txn *t, const char *what)
{
	int nulls = 0;

	while (t->syncs > 0) {
		PGresult *res = PQgetResult(t->conn);

		if (res == NULL) {
			if (PQstatus(t->conn) != CONNECTION_OK) {
				send_failed(t, what);
				return t->err;
			}
			/* One NULL ends each statement; two in a row: nothing is
			 * in flight, yet a sync point is awaited. */
			if (++nulls >= 2) {
				out_of_step(t, what);
				return t->err;
			}
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
			t->syncs--;
		pg_clear(res);
	}
	return t->err;
}

/* Sends a statement of transaction control (no parameters, no rows). */
static int send_control(struct pg_txn *t, enum pg_stmt st)
{
	if (!PQsendQueryPrepared(t->conn, pg_stmts[st].name, 0, NULL, NULL, NULL, 1))
		send_failed(t, pg_stmts[st].name);
	else
		t->sent_since_sync = true;
	return t->err;
}

/* Queues BEGIN before the job's first statement (not in a one-statement
 * read). */
static int begin(struct pg_txn *t)
{
	if (t->begun || t->mode == PG_READ_ONE)
		return 0;
	t->begun = true;
	if (send_control(t, t->mode == PG_WRITE	     ? ST_BEGIN_WRITE
			    : t->mode == PG_WRITE_RR ? ST_BEGIN_WRITE_RR
						     : ST_BEGIN_READ) != 0)
		return t->err;
	push_pending(t, "BEGIN");
	return 0;
}

static int send_stmt(struct pg_txn *t, enum pg_stmt st, const struct pg_params *p)
{
	if (begin(t) != 0)
		return t->err;
	if (!PQsendQueryPrepared(t->conn, pg_stmts[st].name, p->n, p->values, p->lengths,
				 p->formats, 1)) {
		send_failed(t, pg_stmts[st].name);
		return t->err;
	}
	t->sent_since_sync = true;
	t->statements++;
	return 0;
}

PGresult *pg_exec(struct pg_txn *t, enum pg_stmt st, const struct pg_params *p)
{
	PGresult *res = NULL;

	if (t->err != 0)
		return NULL;
	if (t->mode == PG_LOOP) {
		/* Nothing but the row fetched ahead on the loop: the threads. */
		fail(t, STORE_E_REDO, PG_FAIL_NONE);
		return NULL;
	}
	if (t->mode == PG_READ_ONE) {
		if (t->statements > 0) {
			/* A second statement would see another snapshot. */
			fail(t, STORE_E_REDO, PG_FAIL_NONE);
			return NULL;
		}
		if (send_stmt(t, st, p) != 0 || sync(t, pg_stmts[st].name) != 0)
			return NULL;
		read_one(t, pg_stmts[st].name, &res);
		if (read_sync(t, pg_stmts[st].name) != 0) {
			pg_clear(res);
			return NULL;
		}
		return res;
	}
	if (send_stmt(t, st, p) != 0 || flush(t, pg_stmts[st].name) != 0 || drain(t) != 0)
		return NULL;
	read_one(t, pg_stmts[st].name, &res);
	return res;
}

int pg_send(struct pg_txn *t, enum pg_stmt st, const struct pg_params *p)
{
	if (t->err != 0)
		return t->err;
	if (t->mode == PG_LOOP) {
		fail(t, STORE_E_REDO, PG_FAIL_NONE); /* the threads will say */
		return t->err;
	}
	if (t->mode != PG_WRITE && t->mode != PG_WRITE_RR) {
		log_err("%s in a read job", pg_stmts[st].name);
		fail(t, STORE_E_IO, PG_FAIL_OTHER);
		return t->err;
	}
	if (t->pending >= PENDING_MAX && (flush(t, pg_stmts[st].name) != 0 || drain(t) != 0))
		return t->err;
	if (send_stmt(t, st, p) != 0)
		return t->err;
	push_pending(t, pg_stmts[st].name);
	return 0;
}

void pg_txn_init(struct pg_txn *t, PGconn *conn, enum pg_mode mode)
{
	/* All but the cluster (4 KB, wiped when used): nothing is known yet. */
	memset(t, 0, offsetof(struct pg_txn, cluster));
	t->cluster.loaded = false;
	t->prefetched = NULL;
	t->prefetched_for = NULL;
	t->facts = NULL;
	t->n_dirty = 0;
	t->dirty_overflow = false;
	t->login_read = false;
	t->base.ops = &store_pg_engine;
	t->conn = conn;
	t->mode = mode;
}

int pg_txn_commit(struct pg_txn *t)
{
	PGresult *res = NULL;

	if (t->err != 0)
		return t->err;
	if (!t->begun)
		return 0; /* nothing sent, or a one-statement read already over */
	if (send_control(t, ST_COMMIT) != 0)
		return t->err; /* nothing of it left */
	t->commit_sent = true;
	if (sync(t, "COMMIT") != 0)
		return t->err;
	/* BEGIN and the writes, then COMMIT itself, whose tag says whether
	 * it did. */
	if (drain(t) != 0)
		return t->err;
	if (read_one(t, "COMMIT", &res) == 0) {
		if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			log_err("COMMIT answered %.32s", PQcmdStatus(res));
			fail(t, STORE_E_IO, PG_FAIL_OTHER);
		}
		pg_clear(res);
	}
	if (t->err != 0)
		return t->err;
	t->begun = false;
	/* Committed: a connection lost after that is dropped, the job is
	 * done. */
	if (read_sync(t, "COMMIT") != 0) {
		t->err = 0;
		t->fail = PG_FAIL_LOST;
	}
	return 0;
}

void pg_txn_finish(struct pg_txn *t)
{
	int err = t->err;

	if (lost(t))
		return;
	/* Whatever is in flight ends at a sync point; then, if a transaction
	 * block was opened, ROLLBACK (a failed block stays open past Sync). */
	if (t->sent_since_sync && !PQpipelineSync(t->conn)) {
		t->fail = PG_FAIL_LOST;
		return;
	}
	if (t->sent_since_sync)
		t->syncs++;
	if (t->begun) {
		if (!PQsendQueryPrepared(t->conn, pg_stmts[ST_ROLLBACK].name, 0, NULL, NULL, NULL,
					 1) ||
		    !PQpipelineSync(t->conn)) {
			t->fail = PG_FAIL_LOST;
			return;
		}
		t->syncs++;
		t->begun = false;
	}
	t->sent_since_sync = false;
	t->pending = 0;
	if (t->syncs == 0)
		return;
	/* Read with a clean slate, then put back the job's own failure. */
	t->err = 0;
	read_sync(t, "ROLLBACK");
	if (t->err != 0)
		t->fail = PG_FAIL_LOST; /* cannot account for the protocol: drop it */
	t->err = err;
}

int pg_prefetch(PGconn *conn, struct job *const *jobs, int n, PGresult **out)
{
	struct pg_txn t;

	/* One statement each and one Sync for all, outside a transaction
	 * block: each row is its own read (its own snapshot). A failure leaves
	 * every out[i] NULL, and the jobs read for themselves. */
	pg_txn_init(&t, conn, PG_READ_ONE);
	if (pg_txn_prefetch(&t, jobs, n, out) != 0)
		pg_txn_finish(&t);
	return t.fail == PG_FAIL_LOST || PQstatus(conn) != CONNECTION_OK ? STORE_E_UNAVAILABLE : 0;
}

void pg_mark_dirty(struct pg_txn *t, const uint8_t id[AUTHD_ID_LEN])
{
	if (pg_is_dirty(t, id))
		return;
	if (t->n_dirty >= PG_DIRTY_MAX) {
		t->dirty_overflow = true;
		return;
	}
	memcpy(t->dirty[t->n_dirty++], id, AUTHD_ID_LEN);
}

bool pg_is_dirty(const struct pg_txn *t, const uint8_t id[AUTHD_ID_LEN])
{
	if (t->dirty_overflow)
		return true;
	for (unsigned i = 0; i < t->n_dirty; i++)
		if (memcmp(t->dirty[i], id, AUTHD_ID_LEN) == 0)
			return true;
	return false;
}

int pg_txn_prefetch(struct pg_txn *t, struct job *const *jobs, int n, PGresult **out)
{
	const char *what = "prefetch";
	int sent[PG_PENDING_RING];
	int n_sent = 0;

	for (int i = 0; i < n; i++)
		out[i] = NULL;
	for (int i = 0; i < n && n_sent < PG_PENDING_RING / 2; i++) {
		struct pg_params p = {0};
		uint8_t keys[2][THROTTLE_KEY_LEN];
		enum pg_stmt st;

		if (jobs[i]->first == STORE_FIRST_UNSAID)
			continue;
		st = pg_first_stmt(jobs[i], &p, keys);
		if (send_stmt(t, st, &p) != 0)
			break;
		sent[n_sent++] = i;
	}
	/* In a transaction, a flush request; outside one (PG_READ_ONE), the
	 * Sync that ends the reads goes with them. */
	if (t->err == 0 && n_sent > 0 &&
	    (t->mode == PG_READ_ONE ? sync(t, what) : flush(t, what)) == 0 && drain(t) == 0)
		for (int k = 0; k < n_sent && t->err == 0; k++)
			read_one(t, what, &out[sent[k]]);
	if (t->err == 0 && t->mode == PG_READ_ONE)
		read_sync(t, what);
	if (t->err == 0)
		return 0;
	for (int i = 0; i < n; i++) {
		pg_clear(out[i]);
		out[i] = NULL;
	}
	return t->err;
}

void pg_txn_give(struct pg_txn *t, const struct job *job, PGresult *res)
{
	pg_clear(t->prefetched);
	pg_clear(t->facts);
	t->facts = NULL;
	t->prefetched = res;
	t->prefetched_for = job;
}

void pg_clear(PGresult *res)
{
	if (res == NULL)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		for (int c = 0; c < PQnfields(res); c++)
			OPENSSL_cleanse(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
	PQclear(res);
}
