/*
 * The PostgreSQL engine: its connection threads and how a job becomes a
 * transaction. A few threads, each with its own PGconn, take read and
 * write jobs from one FIFO queue; the loop thread never waits on a round
 * trip. A write job runs in a SERIALIZABLE transaction and is run again,
 * after a short random pause, when it loses a race (serialization failure,
 * deadlock, a unique key a concurrent transaction inserted); a read job's
 * statements see one snapshot (txn.c says how). A thread takes a batch of
 * read jobs that say what they read first and fetches those reads in one
 * round trip. done() goes back through the completion function given to
 * store_open, after COMMIT returned: a job reported as done with
 * store_rc == 0 is durable on the server.
 *
 * When the server cannot be reached, jobs fail at once with
 * STORE_E_UNAVAILABLE (connect_timeout, TCP keepalives and
 * tcp_user_timeout bound every wait), and each thread reconnects by itself
 * with a backoff of 100 ms doubling to 2 s, so service resumes when the
 * server does. A COMMIT whose answer is lost is reported as a failure,
 * never a success.
 */
#include "pg-internal.h"

#include <log.h>
#include <openssl/crypto.h>
#include <util.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONNECTIONS_DEFAULT 4
#define CONNECTIONS_MAX	    64
#define ATTEMPTS_MAX	    30 /* runs of one write job that lost races */
#define UNIQUE_RETRIES_MAX  3  /* a unique key still taken after this is not a race */
#define BACKOFF_MIN_MS	    100
#define BACKOFF_MAX_MS	    2000
#define PREFETCH_MAX	    16 /* read jobs whose first reads share a round trip */
#define PREFETCH_MIN	    8  /* ... when the queue holds that many */
#define GROUP_MAX	    16 /* write jobs one transaction commits together */
#define BATCH_MAX	    16 /* the larger of the two */
_Static_assert(BATCH_MAX >= PREFETCH_MAX && BATCH_MAX >= GROUP_MAX, "BATCH_MAX");

/* While queued, a job's store_rc says which kind it is (the store owns the
 * field until done()). */
#define QUEUED_WRITE 0
#define QUEUED_READ  1

struct worker {
	pthread_t thread;
	unsigned index;
	PGconn *conn;
	int64_t next_connect_ms; /* no attempt before this while disconnected */
	int64_t down_since_ms;	 /* when its last attempt failed */
	int64_t backoff_ms;
	bool down_logged;
	unsigned seed; /* rand_r state for retry pauses */
};

static char *url;
static unsigned n_workers;
static struct worker *workers;
static void (*complete)(struct job *job);

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond;
static struct job *q_head, *q_tail;
static unsigned q_len;
static bool q_running, q_stopping;

/* When a thread last connected: a thread whose own attempt failed before
 * this tries again at once, without waiting out its backoff (the server is
 * back), so no job fails on a thread that has not noticed yet. */
static _Atomic int64_t server_up_ms;

static atomic_ulong stat_commits, stat_jobs, stat_work_us, stat_sync_us, stat_retries;
static atomic_ulong stat_prefetch_jobs, stat_prefetch_trips, stat_groups, stat_grouped;

/* --- connections --------------------------------------------------------------- */

/* Copies libpq's message without its trailing newline into out. */
static void message_of(const char *msg, char *out, size_t size)
{
	size_t n;

	snprintf(out, size, "%s", msg ? msg : "");
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\n' || out[i] == '\t')
			out[i] = ' ';
}

/* Server notices (a connection ended by a shutdown, "already exists,
 * skipping") are for debugging, not for stderr as libpq would print them. */
static void on_notice(void *arg, const char *message)
{
	char msg[256];

	(void)arg;
	message_of(message, msg, sizeof(msg));
	log_debug("postgresql: %s", msg);
}

/* Whether the url parses, checked before any connection: libpq's parse
 * errors quote the text, which may hold the password, so they are never
 * logged; this says only that it does not parse. */
static bool url_parses(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);

	if (err)
		PQfreemem(err);
	if (opts == NULL) {
		log_err("[storage] url does not parse as a libpq conninfo or postgresql:// URI "
			"(not shown: it may hold a password)");
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

PGconn *pg_connect(const char *conninfo, bool quiet)
{
	/* Defaults first: expand_dbname lets the URL's own settings (later in
	 * the list) override them. tcp_user_timeout bounds a write the peer
	 * never acknowledges; keepalives a read the peer never answers. */
	static const char *const keys[] = {
	    "connect_timeout",	   "keepalives",       "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "application_name",	   "dbname",	       NULL};
	const char *vals[] = {"3", "1", "5", "2", "3", "10000", "authd", conninfo, NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	char msg[256];

	if (conn == NULL) {
		if (!quiet)
			log_err("cannot connect to postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		if (!quiet) {
			message_of(PQerrorMessage(conn), msg, sizeof(msg));
			log_err("cannot connect to postgresql: %s", msg);
		}
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, on_notice, NULL);
	return conn;
}

int pg_result_error(PGconn *conn, const PGresult *res, const char *what, enum pg_fail *fail)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	if (PQstatus(conn) != CONNECTION_OK ||
	    (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))) {
		*fail = PG_FAIL_LOST;
		return STORE_E_UNAVAILABLE;
	}
	if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
		*fail = PG_FAIL_CONFLICT;
		return STORE_E_RETRY;
	}
	if (state && strcmp(state, "23505") == 0) {
		*fail = PG_FAIL_UNIQUE;
		return STORE_E_RETRY;
	}
	*fail = PG_FAIL_OTHER;
	/* The primary message only: a DETAIL may quote a row's values. */
	message_of(res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		       ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
		       : PQerrorMessage(conn),
		   msg, sizeof(msg));
	log_err("%s: %s (%s)", what, msg, state ? state : "no sqlstate");
	/* 53xxx: insufficient resources (disk full, out of memory, too many
	 * connections): the same answer as a full LMDB map. */
	return state && strncmp(state, "53", 2) == 0 ? STORE_E_FULL : STORE_E_IO;
}

int pg_prepare_all(PGconn *conn)
{
	for (int i = 0; i < ST__COUNT; i++) {
		PGresult *res = PQprepare(conn, pg_stmts[i].name, pg_stmts[i].sql, 0, NULL);
		int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok) {
			enum pg_fail fail;

			pg_result_error(conn, res, pg_stmts[i].name, &fail);
		}
		pg_clear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

static void drop_conn(struct worker *w)
{
	if (w->conn) {
		PQfinish(w->conn);
		w->conn = NULL;
	}
}

/* Connects w unless its backoff forbids it yet (force: try regardless).
 * Returns whether w has a connection. */
static bool worker_connect(struct worker *w, bool force)
{
	int64_t now = authd_mono_ms();

	if (w->conn)
		return true;
	if (!force && now < w->next_connect_ms && atomic_load(&server_up_ms) <= w->down_since_ms)
		return false;
	w->conn = pg_connect(url, w->down_logged);
	if (w->conn && (pg_prepare_all(w->conn) != 0 || !PQenterPipelineMode(w->conn)))
		drop_conn(w);
	if (w->conn == NULL) {
		if (!w->down_logged)
			log_warn("postgresql connection %u down; retrying every %d ms at most",
				 w->index, BACKOFF_MAX_MS);
		w->down_logged = true;
		w->down_since_ms = authd_mono_ms();
		w->next_connect_ms = w->down_since_ms + w->backoff_ms;
		w->backoff_ms =
		    w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
		return false;
	}
	atomic_store(&server_up_ms, authd_mono_ms());
	if (w->down_logged)
		log_info("postgresql connection %u back", w->index);
	w->down_logged = false;
	w->backoff_ms = BACKOFF_MIN_MS;
	return true;
}

/* --- transactions ---------------------------------------------------------------- */

/*
 * Ends t, whose txn_work returned rc: commits when nothing failed (a
 * failed statement decides, whatever txn_work made of its code), else
 * rolls back; wipes what it read, and drops a lost connection. Returns 0
 * or the failure.
 */
static int end_txn(struct worker *w, struct pg_txn *t, int rc)
{
	if (t->err != 0)
		rc = t->err;
	if (rc == 0) {
		rc = pg_txn_commit(t);
	} else if (t->err == 0) {
		/* txn_work's own failure: nothing of it is kept. */
		t->err = rc;
		t->fail = PG_FAIL_OTHER;
	}
	pg_txn_finish(t);
	if (t->cluster.loaded)
		OPENSSL_cleanse(&t->cluster, sizeof(t->cluster));
	if (t->fail == PG_FAIL_LOST)
		drop_conn(w);
	return rc;
}

/*
 * Runs job once on w's connection (txn.c says how). Returns 0 (committed),
 * STORE_E_RETRY (rolled back, run again), STORE_E_REDO (a read to run
 * again in a transaction block), or the job's failure. *commit_sent tells
 * whether a failure may have come after COMMIT left.
 */
static int run_txn(struct worker *w, struct job *job, enum pg_mode mode, PGresult *prefetched,
		   bool *commit_sent, enum pg_fail *fail)
{
	struct pg_txn t;
	int64_t t0, t1;
	int rc;

	pg_txn_init(&t, w->conn, mode);
	pg_txn_give(&t, job, prefetched);
	t0 = authd_mono_us();
	rc = job->txn_work(job, &t.base);
	t1 = authd_mono_us();
	pg_txn_give(&t, NULL, NULL); /* what was not asked for */
	if (mode == PG_WRITE || mode == PG_WRITE_RR)
		atomic_fetch_add(&stat_work_us, (unsigned long)(t1 - t0));
	rc = end_txn(w, &t, rc);
	if (mode == PG_WRITE || mode == PG_WRITE_RR)
		atomic_fetch_add(&stat_sync_us, (unsigned long)(authd_mono_us() - t1));
	*commit_sent = t.commit_sent;
	*fail = t.fail;
	return rc;
}

/* A short random pause before attempt n + 1, growing with n (at most
 * ~20 ms), so racing transactions stop meeting each other. */
static void retry_pause(struct worker *w, int n)
{
	long cap_us = 200L << (n < 7 ? n : 7);
	long us = 50 + rand_r(&w->seed) % cap_us;
	struct timespec ts = {0, us * 1000};

	nanosleep(&ts, NULL);
}

/* Runs job to its end (retries included); prefetched: its first read,
 * fetched ahead (run_job frees it). */
static int run_job(struct worker *w, struct job *job, bool read_only, PGresult *prefetched)
{
	enum pg_mode mode = read_only			 ? PG_READ_ONE
			    : job->decides_on_own_writes ? PG_WRITE_RR
							 : PG_WRITE;
	bool reconnected = false;
	int unique = 0;

	for (int attempt = 0;; attempt++) {
		bool commit_sent = false;
		enum pg_fail fail = PG_FAIL_NONE;
		int rc;

		if (!worker_connect(w, reconnected)) {
			pg_clear(prefetched);
			return STORE_E_UNAVAILABLE;
		}
		rc = run_txn(w, job, mode, prefetched, &commit_sent, &fail);
		prefetched = NULL;
		if (rc == 0)
			return 0;
		if (rc == STORE_E_REDO && mode == PG_READ_ONE) {
			mode = PG_READ;
			continue;
		}
		if (rc == STORE_E_RETRY) {
			if (fail == PG_FAIL_UNIQUE && ++unique > UNIQUE_RETRIES_MAX) {
				log_err("a unique key stays taken after %d runs; failing the job",
					unique);
				return STORE_E_IO;
			}
			if (attempt + 1 >= ATTEMPTS_MAX) {
				log_err("a write job lost %d races in a row; failing it",
					ATTEMPTS_MAX);
				return STORE_E_IO;
			}
			atomic_fetch_add(&stat_retries, 1);
			retry_pause(w, attempt);
			continue;
		}
		/* The connection died before COMMIT: nothing happened, so the
		 * job may run again once on a new connection (the server may
		 * have restarted since this one was opened). */
		if (fail == PG_FAIL_LOST && !commit_sent && !reconnected) {
			reconnected = true;
			continue;
		}
		if (fail == PG_FAIL_LOST && commit_sent)
			log_err(
			    "connection lost during COMMIT: the outcome is unknown, reporting a "
			    "failure");
		return rc == STORE_E_RETRY ? STORE_E_IO : rc;
	}
}

/*
 * Group commit: queued write jobs run one after the other in one
 * SERIALIZABLE transaction, their first reads fetched together after
 * BEGIN, and one COMMIT (one WAL flush) makes them all durable. Each job
 * reads what the ones before it wrote (a row fetched ahead for an account
 * an earlier job wrote is read again). If anything fails, nothing of the
 * group is kept: a group that lost a race runs again as two halves (a
 * larger transaction meets more of the others' predicate locks), any other
 * failure runs each job alone (run_job), as the contract allows; a COMMIT
 * whose answer was lost fails them all (the outcome is unknown).
 */
/* Sorts a group by its jobs' keys (insertion sort: a group is small; the
 * order of jobs of one key is kept). Concurrent requests may commit in any
 * order. */
static void order_by_key(struct job **jobs, int n)
{
	for (int i = 1; i < n; i++) {
		struct job *j = jobs[i];
		int k = i;

		while (k > 0 && memcmp(jobs[k - 1]->group_key, j->group_key, AUTHD_ID_LEN) > 0) {
			jobs[k] = jobs[k - 1];
			k--;
		}
		jobs[k] = j;
	}
}

static void run_group(struct worker *w, struct job **jobs, int n)
{
	PGresult *pre[GROUP_MAX];
	struct pg_txn t;
	int rc = 0, i;

	order_by_key(jobs, n);
	if (!worker_connect(w, false))
		goto alone;
	/* Grouped jobs all say decides_on_own_writes, or none does. */
	pg_txn_init(&t, w->conn, jobs[0]->decides_on_own_writes ? PG_WRITE_RR : PG_WRITE);
	pg_txn_prefetch(&t, jobs, n, pre);
	for (i = 0; i < n && rc == 0 && t.err == 0; i++) {
		pg_txn_give(&t, jobs[i], pre[i]);
		pre[i] = NULL;
		rc = jobs[i]->txn_work(jobs[i], &t.base);
		pg_txn_give(&t, NULL, NULL);
	}
	for (int k = 0; k < n; k++)
		pg_clear(pre[k]);
	rc = end_txn(w, &t, rc);
	if (rc == 0 || (t.commit_sent && t.fail == PG_FAIL_LOST)) {
		if (rc != 0)
			log_err(
			    "connection lost during COMMIT: the outcome is unknown, reporting a "
			    "failure");
		atomic_fetch_add(&stat_jobs, (unsigned long)n);
		if (rc == 0)
			atomic_fetch_add(&stat_commits, 1);
		atomic_fetch_add(&stat_groups, 1);
		atomic_fetch_add(&stat_grouped, (unsigned long)n);
		for (i = 0; i < n; i++) {
			jobs[i]->store_rc = rc == 0 ? 0 : STORE_E_UNAVAILABLE;
			complete(jobs[i]);
		}
		return;
	}
	if (rc == STORE_E_RETRY) {
		atomic_fetch_add(&stat_retries, 1);
		if (n >= 4) {
			retry_pause(w, 0);
			run_group(w, jobs, n / 2);
			run_group(w, jobs + n / 2, n - n / 2);
			return;
		}
	}
alone:
	for (i = 0; i < n; i++) {
		jobs[i]->store_rc = run_job(w, jobs[i], false, NULL);
		atomic_fetch_add(&stat_jobs, 1);
		if (jobs[i]->store_rc == 0)
			atomic_fetch_add(&stat_commits, 1);
		complete(jobs[i]);
	}
}

/* --- the connection threads ------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "authd-pg-%u", w->index);
	pthread_setname_np(pthread_self(), name);
	worker_connect(w, true);
	for (;;) {
		struct job *job, *batch[BATCH_MAX];
		PGresult *prefetched[PREFETCH_MAX];
		bool read_only;
		int n, max;

		pthread_mutex_lock(&q_lock);
		while (q_head == NULL && !q_stopping) {
			if (pg_loop_wanted()) {
				pthread_mutex_unlock(&q_lock);
				pg_loop_connect(url);
				pthread_mutex_lock(&q_lock);
				continue;
			}
			if (w->conn) {
				pthread_cond_wait(&q_cond, &q_lock);
				continue;
			}
			/* Disconnected and idle: wake for the next attempt. */
			int64_t at = w->next_connect_ms;
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t wait_ms = at - authd_mono_ms();
			if (wait_ms > 0) {
				ts.tv_sec += wait_ms / 1000;
				ts.tv_nsec += (wait_ms % 1000) * 1000000;
				if (ts.tv_nsec >= 1000000000) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000;
				}
				pthread_cond_timedwait(&q_cond, &q_lock, &ts);
			}
			if (q_head == NULL && !q_stopping &&
			    authd_mono_ms() >= w->next_connect_ms) {
				pthread_mutex_unlock(&q_lock);
				worker_connect(w, false);
				pthread_mutex_lock(&q_lock);
			}
		}
		if (q_head == NULL) {
			pthread_mutex_unlock(&q_lock);
			break;
		}
		/* A read job that says what it reads first takes along the
		 * queued ones behind it that do too: one round trip for all
		 * their first reads. */
		/* At least a few each, at most its share of the queue. */
		max = (int)((q_len + n_workers - 1) / n_workers);
		max = max < PREFETCH_MIN ? PREFETCH_MIN : max > PREFETCH_MAX ? PREFETCH_MAX : max;
		n = 0;
		do {
			batch[n++] = job = q_head;
			q_head = job->next;
			q_len--;
		} while (
		    q_head &&
		    ((job->store_rc == QUEUED_READ && job->first != STORE_FIRST_UNSAID && n < max &&
		      q_head->store_rc == QUEUED_READ && q_head->first != STORE_FIRST_UNSAID) ||
		     (job->store_rc == QUEUED_WRITE && n < GROUP_MAX &&
		      q_head->store_rc == QUEUED_WRITE &&
		      q_head->decides_on_own_writes == job->decides_on_own_writes)));
		if (q_head == NULL)
			q_tail = NULL;
		pthread_mutex_unlock(&q_lock);

		/* Under load the queue is never empty: make the loop's
		 * connection between batches too. */
		if (pg_loop_wanted())
			pg_loop_connect(url);
		if (batch[0]->store_rc == QUEUED_WRITE && n > 1) {
			run_group(w, batch, n);
			continue;
		}
		for (int i = 0; i < n; i++)
			prefetched[i] = NULL;
		if (batch[0]->store_rc == QUEUED_READ && batch[0]->first != STORE_FIRST_UNSAID &&
		    worker_connect(w, false)) {
			if (pg_prefetch(w->conn, batch, n, prefetched) != 0)
				drop_conn(w);
			atomic_fetch_add(&stat_prefetch_jobs, (unsigned long)n);
			atomic_fetch_add(&stat_prefetch_trips, 1);
		}
		for (int i = 0; i < n; i++) {
			job = batch[i];
			job->next = NULL;
			read_only = job->store_rc == QUEUED_READ;
			job->store_rc = run_job(w, job, read_only, prefetched[i]);
			if (!read_only) {
				atomic_fetch_add(&stat_jobs, 1);
				if (job->store_rc == 0)
					atomic_fetch_add(&stat_commits, 1);
			}
			complete(job);
		}
	}
	drop_conn(w);
	return NULL;
}

/* Set on a thread between store_batch_begin() and store_batch_end(). */
static _Thread_local bool holding;
static _Thread_local unsigned held;

static void pg_batch(bool begin)
{
	if (begin) {
		holding = true;
		return;
	}
	holding = false;
	pg_loop_send();
	if (held == 0)
		return;
	/* A thread for every few jobs: each takes a batch (worker_main). */
	pthread_mutex_lock(&q_lock);
	if (held >= PREFETCH_MIN * n_workers)
		pthread_cond_broadcast(&q_cond);
	else
		for (unsigned i = 0; i < (held + PREFETCH_MIN - 1) / PREFETCH_MIN; i++)
			pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
	held = 0;
}

void pg_server_up(void)
{
	atomic_store(&server_up_ms, authd_mono_ms());
}

void pg_job_complete(struct job *job)
{
	complete(job);
}

void pg_wake_threads(void)
{
	pthread_mutex_lock(&q_lock);
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

/* Appends job to the queue, as kind; under q_lock. */
static void q_push(struct job *job, int kind)
{
	job->next = NULL;
	job->store_rc = kind;
	if (q_tail)
		q_tail->next = job;
	else
		q_head = job;
	q_tail = job;
	q_len++;
}

void pg_queue_reads(struct job **jobs, int n)
{
	bool refused;

	if (n <= 0)
		return;
	pthread_mutex_lock(&q_lock);
	refused = !q_running || q_stopping;
	for (int i = 0; i < n && !refused; i++)
		q_push(jobs[i], QUEUED_READ);
	if (!refused)
		pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	for (int i = 0; i < n && refused; i++) {
		jobs[i]->store_rc = STORE_E_IO;
		complete(jobs[i]);
	}
}

static void enqueue(struct job *job, int kind)
{
	job->next = NULL;
	job->store_rc = kind;
	/* A read the loop says it reads first, in one of its passes: the
	 * loop's own connection sends it (loop.c). */
	if (holding && kind == QUEUED_READ && job->first != STORE_FIRST_UNSAID && pg_loop_take(job))
		return;
	pthread_mutex_lock(&q_lock);
	if (!q_running || q_stopping) {
		pthread_mutex_unlock(&q_lock);
		job->store_rc = STORE_E_IO;
		complete(job);
		return;
	}
	q_push(job, kind);
	if (holding)
		held++;
	else
		pthread_cond_signal(&q_cond);
	pthread_mutex_unlock(&q_lock);
}

static void pg_write(struct job *job)
{
	enqueue(job, QUEUED_WRITE);
}

static void pg_read(struct job *job)
{
	enqueue(job, QUEUED_READ);
}

/* --- lifecycle -------------------------------------------------------------------- */

static int pg_migrate(const struct store_options *o)
{
	PGconn *conn;
	int rc;

	if (o->url == NULL || o->url[0] == '\0') {
		log_err("the postgresql engine needs a url");
		return -1;
	}
	if (!url_parses(o->url) || (conn = pg_connect(o->url, false)) == NULL)
		return -1;
	rc = pg_schema_migrate(conn);
	PQfinish(conn);
	return rc;
}

static void pg_close(void);

static int pg_open(const struct store_options *o)
{
	PGconn *conn;
	int version = 0;

	if (o->url == NULL || o->url[0] == '\0') {
		log_err("the postgresql engine needs a url");
		return -1;
	}
	if (!url_parses(o->url) || (conn = pg_connect(o->url, false)) == NULL)
		return -1;
	if (pg_schema_version(conn, &version) != 0) {
		PQfinish(conn);
		return -1;
	}
	PQfinish(conn);
	if (version != PG_SCHEMA_VERSION) {
		if (version == 0)
			log_err("the database holds no authd schema; migrate it first");
		else
			log_err("the database schema is version %d, this authd's is %d; refusing "
				"to start",
				version, PG_SCHEMA_VERSION);
		return -1;
	}
	n_workers = o->connections ? o->connections : CONNECTIONS_DEFAULT;
	if (n_workers > CONNECTIONS_MAX)
		n_workers = CONNECTIONS_MAX;
	url = strdup(o->url);
	workers = calloc(n_workers, sizeof(*workers));
	if (url == NULL || workers == NULL) {
		log_err("out of memory");
		pg_close();
		return -1;
	}
	complete = o->complete;
	pg_loop_set_notified(o->notified);
	return 0;
}

static int pg_start(void)
{
	pthread_condattr_t attr;
	unsigned started = 0;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q_cond, &attr);
	pthread_condattr_destroy(&attr);
	/* store_stats counts since start. */
	atomic_store(&stat_commits, 0);
	atomic_store(&stat_jobs, 0);
	atomic_store(&stat_work_us, 0);
	atomic_store(&stat_sync_us, 0);
	atomic_store(&stat_retries, 0);
	atomic_store(&stat_prefetch_jobs, 0);
	atomic_store(&stat_groups, 0);
	atomic_store(&stat_grouped, 0);
	atomic_store(&stat_prefetch_trips, 0);
	pthread_mutex_lock(&q_lock);
	q_stopping = false;
	q_running = true;
	pthread_mutex_unlock(&q_lock);
	for (; started < n_workers; started++) {
		struct worker *w = &workers[started];
		unsigned seed = 0;

		authd_random(&seed, sizeof(seed));
		memset(w, 0, sizeof(*w));
		w->index = started;
		w->backoff_ms = BACKOFF_MIN_MS;
		w->seed = seed;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			break;
	}
	if (started == n_workers)
		return 0;
	log_err("cannot start the postgresql connection threads");
	pthread_mutex_lock(&q_lock);
	q_stopping = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_mutex_lock(&q_lock);
	q_running = false;
	pthread_mutex_unlock(&q_lock);
	pthread_cond_destroy(&q_cond);
	return -1;
}

static void pg_stop(void)
{
	bool was_running;

	pg_loop_stop(); /* what the loop had in flight goes to the threads */
	pthread_mutex_lock(&q_lock);
	was_running = q_running && !q_stopping;
	q_stopping = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	if (!was_running)
		return;
	/* The threads finish the queue, then leave. */
	for (unsigned i = 0; i < n_workers; i++)
		pthread_join(workers[i].thread, NULL);
	/* A thread may have made a connection for the loop meanwhile. */
	pg_loop_stop();
	pthread_mutex_lock(&q_lock);
	q_running = false;
	pthread_mutex_unlock(&q_lock);
	pthread_cond_destroy(&q_cond);
	log_info("postgresql: %lu write jobs, %lu committed, %lu retries after lost races; "
		 "%lu write jobs in %lu groups; %lu first reads of read jobs in %lu round trips",
		 atomic_load(&stat_jobs), atomic_load(&stat_commits), atomic_load(&stat_retries),
		 atomic_load(&stat_grouped), atomic_load(&stat_groups),
		 atomic_load(&stat_prefetch_jobs), atomic_load(&stat_prefetch_trips));
}

static void pg_close(void)
{
	pg_stop();
	free(workers);
	workers = NULL;
	n_workers = 0;
	if (url) {
		authd_strfreezero(url); /* may hold a password */
		url = NULL;
	}
}

static int pg_is_empty(bool *empty)
{
	PGconn *conn = pg_connect(url, false);
	PGresult *res;
	int rc = 0;

	if (conn == NULL)
		return STORE_E_UNAVAILABLE;
	res = PQexec(conn, "SELECT NOT EXISTS (SELECT 1 FROM accounts)");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	} else {
		enum pg_fail fail;

		rc = pg_result_error(conn, res, "counting accounts", &fail);
	}
	pg_clear(res);
	PQfinish(conn);
	return rc;
}

static int pg_setting_read(const char *name, uint64_t *value)
{
	PGconn *conn = pg_connect(url, false);
	const char *params[1] = {name};
	PGresult *res;
	int rc = 0;

	*value = 0;
	if (conn == NULL)
		return STORE_E_UNAVAILABLE;
	res = PQexecParams(conn, "SELECT value FROM settings WHERE name = $1::text", 1, NULL,
			   params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) <= 1) {
		if (PQntuples(res) == 1) /* as text: the bigint's 64 bits, signed */
			*value = (uint64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	} else {
		enum pg_fail fail;

		rc = pg_result_error(conn, res, "reading a setting", &fail);
	}
	pg_clear(res);
	PQfinish(conn);
	return rc;
}

/* The loop's synchronous read transaction is LMDB's alone. */
static void pg_stats(struct store_stats *st)
{
	st->commits = atomic_load(&stat_commits);
	st->jobs = atomic_load(&stat_jobs);
	st->work_us = atomic_load(&stat_work_us);
	st->sync_us = atomic_load(&stat_sync_us);
}

const struct store_engine_ops store_pg_engine = {
    .name = "postgresql",
    .shared = true,
    .open = pg_open,
    .migrate = pg_migrate,
    .start = pg_start,
    .stop = pg_stop,
    .close = pg_close,
    .is_empty = pg_is_empty,
    .setting_read = pg_setting_read,
    .write = pg_write,
    .read = pg_read,
    .batch = pg_batch,
    .loop_fd = pg_loop_fd,
    .loop_ready = pg_loop_ready,
    .stats = pg_stats,
    .account_get = pg_account_get,
    .account_put = pg_account_put,
    .account_by_email = pg_account_by_email,
    .org_put = pg_org_put,
    .member_put = pg_member_put,
    .member_get = pg_member_get,
    .member_del = pg_member_del,
    .audit_add = pg_audit_add,
    .product_put = pg_product_put,
    .product_get = pg_product_get,
    .product_del = pg_product_del,
    .products_list = pg_products_list,
    .grant_put = pg_grant_put,
    .grant_get = pg_grant_get,
    .grant_del = pg_grant_del,
    .grants_list = pg_grants_list,
    .grants_del_subject = pg_grants_del_subject,
    .team_put = pg_team_put,
    .team_get = pg_team_get,
    .team_del = pg_team_del,
    .teams_list = pg_teams_list,
    .team_member_put = pg_team_member_put,
    .team_member_del = pg_team_member_del,
    .team_members_list = pg_team_members_list,
    .member_teams_list = pg_member_teams_list,
    .balance_get = pg_balance_get,
    .balance_put = pg_balance_put,
    .ledger_add = pg_ledger_add,
    .ledger_list = pg_ledger_list,
    .payment_put = pg_payment_put,
    .payment_get = pg_payment_get,
    .payments_list = pg_payments_list,
    .product_update = pg_product_update,
    .cluster_lock = pg_cluster_lock,
    .products_due = pg_products_due,
    .invoice_put = pg_invoice_put,
    .invoice_get = pg_invoice_get,
    .invoices_list = pg_invoices_list,
    .counter_next = pg_counter_next,
    .setting_get = pg_setting_get,
    .setting_put = pg_setting_put,
    .settings_list = pg_settings_list,
    .seals_walk = pg_seals_walk,
    .voucher_put = pg_voucher_put,
    .voucher_get = pg_voucher_get,
    .vouchers_list = pg_vouchers_list,
    .address_put = pg_address_put,
    .address_del = pg_address_del,
    .addresses_list = pg_addresses_list,
    .support_put = pg_support_put,
    .support_get = pg_support_get,
    .support_del = pg_support_del,
    .support_live = pg_support_live,
    .support_list = pg_support_list,
    .partner_put = pg_partner_put,
    .partner_get = pg_partner_get,
    .partner_del = pg_partner_del,
    .partners_list = pg_partners_list,
    .token_get = pg_token_get,
    .access_facts = pg_access_facts,
    .token_update = pg_token_update,
    .tokens_del_account = pg_tokens_del_account,
    .token_put = pg_token_put,
    .token_del = pg_token_del,
    .tokens_list = pg_tokens_list,
    .invite_put = pg_invite_put,
    .invite_get = pg_invite_get,
    .invite_by_token = pg_invite_by_token,
    .invites_list = pg_invites_list,
    .invite_del = pg_invite_del,
    .audit_list = pg_audit_list,
    .session_get = pg_session_get,
    .session_put = pg_session_put,
    .session_del = pg_session_del,
    .session_del_all = pg_session_del_all,
    .login_get = pg_login_get,
    .login_put = pg_login_put,
    .login_del = pg_login_del,
    .login_del_all = pg_login_del_all,
    .totp_get = pg_totp_get,
    .totp_put = pg_totp_put,
    .totp_del = pg_totp_del,
    .backup_get = pg_backup_get,
    .backup_put = pg_backup_put,
    .backup_del = pg_backup_del,
    .throttle_get = pg_throttle_get,
    .throttle_put = pg_throttle_put,
    .link_get = pg_link_get,
    .link_put = pg_link_put,
    .link_del = pg_link_del,
    .link_del_all = pg_link_del_all,
    .device_get = pg_device_get,
    .device_put = pg_device_put,
    .device_step = pg_device_step,
    .device_del = pg_device_del,
    .devices_list = pg_devices_list,
    .challenge_get = pg_challenge_get,
    .challenge_put = pg_challenge_put,
    .challenges_list = pg_challenges_list,
    .challenges_pending = pg_challenges_pending,
    .notify = pg_notify,
    .push_account_get = pg_push_account_get,
    .push_account_put = pg_push_account_put,
    .sessions_list = pg_sessions_list,
    .recovery_get = pg_recovery_get,
    .recovery_put = pg_recovery_put,
    .recovery_by_phone = pg_recovery_by_phone,
    .places_get = pg_places_get,
    .places_put = pg_places_put,
    .outbox_add = pg_outbox_add,
    .outbox_claim = pg_outbox_claim,
    .outbox_settle = pg_outbox_settle,
    .outbox_get = pg_outbox_get,
    .outbox_failures = pg_outbox_failures,
    .org_del = pg_org_del,
    .org_get = pg_org_get,
    .memberships_list = pg_memberships_list,
    .members_list = pg_members_list,
    .account_delete = pg_account_delete,
    .case_get = pg_case_get,
    .case_put = pg_case_put,
    .cases_list = pg_cases_list,
    .doc_put = pg_doc_put,
    .doc_get = pg_doc_get,
    .docs_del = pg_docs_del,
    .outbox_pending = pg_outbox_pending,
    .event_add = pg_event_add,
    .events_list = pg_events_list,
    .sweep = pg_sweep,
};
