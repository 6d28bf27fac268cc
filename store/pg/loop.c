/*
 * The loop's own connection: read jobs that say what they read first
 * (job.first), submitted by the loop thread in one pass, are sent from the
 * loop on a non-blocking connection in pipeline mode, one Sync per pass,
 * and answered there when their rows arrive: txn_work runs on the loop
 * against the row fetched ahead, without a thread hand-off or a wake-up.
 * The loop never waits: it sends what libpq can send, is told when the
 * socket is readable (or writable, when libpq holds unsent bytes) through
 * store_loop_fd() / store_loop_ready(), and reads only what has arrived.
 *
 * A job that asks for anything but its row fetched ahead (a second
 * statement) is handed to the connection threads, where it runs again from
 * the start as any read job does; so is every job in flight when the
 * connection fails. The connection is made by a connection thread (a
 * connect waits on the network) and taken over by the loop when ready.
 *
 * The same connection LISTENs for the notes other nodes send
 * (store_notify): they arrive with whatever else the socket brings and go
 * to store_options.notified at the end of each read. A new connection may
 * have missed some, which the loop is told (notified(NULL)) after the pass
 * that took it over.
 */
#include "pg-internal.h"

#include <log.h>
#include <openssl/crypto.h>
#include <util.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Jobs in flight on the loop connection at most; past it, the threads. */
#define INFLIGHT_MAX 512
/* No more than one connection attempt per this many milliseconds. */
#define RECONNECT_MS 1000

/* What comes back, in order: a job's result, or the end of a pass. */
struct slot {
	struct job *job; /* NULL: a sync point */
	PGresult *res;	 /* its row, once read */
	bool answered;	 /* its result (or failure) was read */
};

/* Loop thread only. */
static bool serviced; /* someone calls pg_loop_fd() and pg_loop_ready() */
static PGconn *conn;
static unsigned generation; /* of conn, for the loop's watcher */
static struct slot ring[INFLIGHT_MAX + INFLIGHT_MAX / 2];
static unsigned head, count;
static struct job *unsent[INFLIGHT_MAX];
static unsigned n_unsent;
static bool want_write;
static int64_t last_request_ms;
static void (*notified)(const char *note);
static bool missed; /* a new connection: notes may have been missed */

/* A connection a thread made for the loop, and whether one is wanted. */
static _Atomic(PGconn *) fresh;
static atomic_bool wanted;

static unsigned ring_size(void)
{
	return (unsigned)(sizeof(ring) / sizeof(ring[0]));
}

void pg_loop_set_notified(void (*fn)(const char *note))
{
	notified = fn;
}

static bool listen_notes(PGconn *c)
{
	PGresult *res = PQexec(c, "LISTEN " PG_NOTE_CHANNEL);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok;
}

/* Hands the notes that arrived to the loop's handler. */
static void deliver_notes(void)
{
	PGnotify *n;

	while (conn && (n = PQnotifies(conn)) != NULL) {
		if (notified && strcmp(n->relname, PG_NOTE_CHANNEL) == 0)
			notified(n->extra);
		PQfreemem(n);
	}
}

bool pg_loop_wanted(void)
{
	return atomic_load(&wanted);
}

void pg_loop_connect(const char *url)
{
	PGconn *c;

	if (!atomic_exchange(&wanted, false))
		return;
	c = pg_connect(url, true);
	if (c && (pg_prepare_all(c) != 0 || !listen_notes(c) || PQsetnonblocking(c, 1) != 0 ||
		  !PQenterPipelineMode(c))) {
		PQfinish(c);
		c = NULL;
	}
	if (c == NULL)
		return; /* the loop asks again later */
	pg_server_up();
	c = atomic_exchange(&fresh, c);
	if (c)
		PQfinish(c);
}

/* Asks the threads for a connection, at most once a second. */
static void request(void)
{
	int64_t now = authd_mono_ms();

	if (now - last_request_ms < RECONNECT_MS)
		return;
	last_request_ms = now;
	atomic_store(&wanted, true);
	pg_wake_threads();
}

/* The loop's connection, taking over one a thread made. */
static PGconn *loop_conn(void)
{
	PGconn *c;

	if (conn == NULL && (c = atomic_exchange(&fresh, NULL)) != NULL) {
		conn = c;
		generation++;
		want_write = false;
		missed = true;
	}
	if (conn == NULL)
		request();
	return conn;
}

/* Takes every job in flight or not sent yet out of the loop's hands into
 * jobs (room for 2 * INFLIGHT_MAX); returns how many. */
static int take_all(struct job **jobs)
{
	int n = 0;

	for (; count > 0; count--, head = (head + 1) % ring_size()) {
		struct slot *s = &ring[head];

		pg_clear(s->res);
		if (s->job)
			jobs[n++] = s->job;
		*s = (struct slot){NULL, NULL, false};
	}
	for (unsigned i = 0; i < n_unsent; i++)
		jobs[n++] = unsent[i];
	n_unsent = 0;
	return n;
}

/* The connection failed: every job still in flight goes to the threads. */
static void lose(const char *why)
{
	struct job *jobs[2 * INFLIGHT_MAX];
	int n;

	log_warn("postgresql: the loop's connection %s; its reads go to the threads", why);
	n = take_all(jobs);
	PQfinish(conn);
	conn = NULL;
	want_write = false;
	pg_queue_reads(jobs, n);
}

bool pg_loop_take(struct job *job)
{
	if (!serviced || n_unsent >= INFLIGHT_MAX || count + n_unsent + 1 >= INFLIGHT_MAX ||
	    loop_conn() == NULL)
		return false;
	unsent[n_unsent++] = job;
	return true;
}

static void push(struct job *job)
{
	ring[(head + count) % ring_size()] = (struct slot){job, NULL, false};
	count++;
}

void pg_loop_send(void)
{
	unsigned sent = 0;
	int rc;

	if (n_unsent == 0)
		return;
	if (conn == NULL) {
		pg_queue_reads(unsent, (int)n_unsent);
		n_unsent = 0;
		return;
	}
	for (; sent < n_unsent; sent++) {
		struct job *job = unsent[sent];
		struct pg_params p = {0};
		uint8_t keys[2][THROTTLE_KEY_LEN];
		enum pg_stmt st = pg_first_stmt(job, &p, keys);

		if (!PQsendQueryPrepared(conn, pg_stmts[st].name, p.n, p.values, p.lengths,
					 p.formats, 1))
			break;
		push(job);
	}
	if (sent < n_unsent) {
		/* Those not sent go to the threads; the rest follow the sync. */
		pg_queue_reads(unsent + sent, (int)(n_unsent - sent));
	}
	n_unsent = 0;
	if (sent == 0 && PQstatus(conn) != CONNECTION_OK) {
		lose("is gone");
		return;
	}
	if (!PQpipelineSync(conn)) {
		lose("cannot send");
		return;
	}
	push(NULL);
	rc = PQflush(conn);
	if (rc < 0)
		lose("cannot send");
	else
		want_write = rc == 1;
}

/* A job's row arrived: its txn_work runs here, or the threads take it. */
static void answer(struct job *job, PGresult *res)
{
	struct pg_txn t;
	int rc;

	if (res == NULL) {
		pg_queue_reads(&job, 1);
		return;
	}
	pg_txn_init(&t, NULL, PG_LOOP);
	pg_txn_give(&t, job, res);
	rc = job->txn_work(job, &t.base);
	pg_txn_give(&t, NULL, NULL);
	if (t.err != 0)
		rc = t.err;
	if (t.cluster.loaded)
		OPENSSL_cleanse(&t.cluster, sizeof(t.cluster));
	if (rc == STORE_E_REDO) {
		/* It wants more than its first read: from the start, there. */
		pg_queue_reads(&job, 1);
		return;
	}
	job->store_rc = rc;
	pg_job_complete(job);
}

void pg_loop_ready(void)
{
	if (conn == NULL)
		return;
	if (want_write) {
		int rc = PQflush(conn);

		if (rc < 0) {
			lose("cannot send");
			return;
		}
		want_write = rc == 1;
	}
	if (!PQconsumeInput(conn)) {
		lose("is gone");
		return;
	}
	while (count > 0 && !PQisBusy(conn)) {
		struct slot *s = &ring[head];
		PGresult *res = PQgetResult(conn);

		if (s->job == NULL) {
			/* A sync point: its own result, no end mark. */
			if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
				pg_clear(res);
				lose("is out of step");
				return;
			}
			pg_clear(res);
			head = (head + 1) % ring_size();
			count--;
			continue;
		}
		if (res != NULL) {
			/* The job's result; its end mark comes next. */
			if (s->answered) {
				pg_clear(res);
				lose("is out of step");
				return;
			}
			s->answered = true;
			if (PQresultStatus(res) == PGRES_TUPLES_OK)
				s->res = res;
			else
				pg_clear(res); /* the threads read it again */
			continue;
		}
		if (!s->answered) {
			lose("is out of step");
			return;
		}
		/* The end mark: the job is answered. */
		struct job *job = s->job;
		PGresult *row = s->res;

		*s = (struct slot){NULL, NULL, false};
		head = (head + 1) % ring_size();
		count--;
		answer(job, row);
		if (conn == NULL)
			return;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		lose("is gone");
		return;
	}
	deliver_notes();
}

int pg_loop_fd(unsigned *gen, bool *write)
{
	serviced = true;
	loop_conn();
	if (missed && conn) {
		missed = false;
		if (notified)
			notified(NULL);
	}
	*gen = generation;
	*write = want_write;
	return conn ? PQsocket(conn) : -1;
}

void pg_loop_stop(void)
{
	struct job *jobs[2 * INFLIGHT_MAX];
	PGconn *c;
	/* The threads finish what the loop had in flight. */
	int n = take_all(jobs);

	if (n > 0)
		pg_queue_reads(jobs, n);
	if (conn) {
		PQfinish(conn);
		conn = NULL;
	}
	if ((c = atomic_exchange(&fresh, NULL)) != NULL)
		PQfinish(c);
	atomic_store(&wanted, false);
	last_request_ms = 0;
	serviced = false;
}
