/* Test helpers: a temporary store with its threads, on the engine the
 * environment names (AUTHD_TEST_ENGINE=lmdb, the default, or postgresql),
 * a synchronous write and read that wait for their job, and getters that
 * each run one read job. Jobs complete into a flag the waiting test polls
 * (there is no event loop); txn_work runs on the store's threads, so it
 * never asserts: it leaves results in its argument for the test thread.
 *
 * On PostgreSQL each unit_store_open() gets a new database on the server
 * of the CTest fixture (tests/lib/pg_harness.py, whose state file
 * AUTHD_TEST_PG_STATE names; AUTHD_PG_HARNESS is the script and
 * AUTHD_PYTHON the interpreter), migrated, and unit_store_close() drops
 * it. */
#ifndef AUTHD_UNIT_STORE_H
#define AUTHD_UNIT_STORE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct unit_job {
	struct job job;
	int (*fn)(struct store_txn *txn, void *arg);
	void *arg;
	int done;
};

static pthread_mutex_t unit_lock = PTHREAD_MUTEX_INITIALIZER;

static void unit_complete(struct job *job)
{
	pthread_mutex_lock(&unit_lock);
	job->done(job);
	pthread_mutex_unlock(&unit_lock);
}

static int unit_job_txn(struct job *job, struct store_txn *txn)
{
	struct unit_job *j = (struct unit_job *)job;

	return j->fn(txn, j->arg);
}

static void unit_job_done(struct job *job)
{
	((struct unit_job *)job)->done = 1;
}

/* Runs fn in a write (or read-only) transaction and waits for its job;
 * returns the job's store_rc. Any thread may call it. */
static inline int unit_run_own(int (*fn)(struct store_txn *txn, void *arg), void *arg, int write,
			       bool own)
{
	struct unit_job j;
	int done = 0;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.job.txn_work = unit_job_txn;
	j.job.done = unit_job_done;
	j.job.decides_on_own_writes = own;
	if (write)
		store_write(&j.job);
	else
		store_read(&j.job);
	for (;;) {
		pthread_mutex_lock(&unit_lock);
		done = j.done;
		pthread_mutex_unlock(&unit_lock);
		if (done)
			break;
		usleep(200);
	}
	return j.job.store_rc;
}

static inline int unit_run(int (*fn)(struct store_txn *txn, void *arg), void *arg, int write)
{
	return unit_run_own(fn, arg, write, false);
}

/* A write job that says it writes every record it decides on (store.h). */
static inline int unit_write_own(int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	return unit_run_own(fn, arg, 1, true);
}

static inline int unit_write(int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	return unit_run(fn, arg, 1);
}

static inline int unit_read(int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	return unit_run(fn, arg, 0);
}

/* --- one getter per read job ------------------------------------------------------- */

enum unit_get_kind {
	UNIT_ACCOUNT,
	UNIT_EMAIL,
	UNIT_SESSION,
	UNIT_LOGIN,
	UNIT_TOTP,
	UNIT_BACKUP,
	UNIT_THROTTLE,
};

struct unit_get {
	enum unit_get_kind kind;
	const void *key;
	void *out;
	int rc;
};

static int unit_get_txn(struct store_txn *txn, void *arg)
{
	struct unit_get *g = arg;

	switch (g->kind) {
	case UNIT_ACCOUNT:
		g->rc = store_account_get(txn, g->key, g->out);
		break;
	case UNIT_EMAIL:
		g->rc = store_account_by_email(txn, g->key, g->out);
		break;
	case UNIT_SESSION:
		g->rc = store_session_get(txn, g->key, g->out);
		break;
	case UNIT_LOGIN:
		g->rc = store_login_get(txn, g->key, g->out);
		break;
	case UNIT_TOTP:
		g->rc = store_totp_get(txn, g->key, g->out);
		break;
	case UNIT_BACKUP:
		g->rc = store_backup_get(txn, g->key, g->out);
		break;
	case UNIT_THROTTLE:
		g->rc = store_throttle_get(txn, g->key, g->out);
		break;
	}
	return 0; /* the getter's answer is the output; the read itself worked */
}

/* Runs one getter in its own read job: its return code, or the job's
 * failure (which makes the caller's assertion fail). */
static inline int unit_get(enum unit_get_kind kind, const void *key, void *out)
{
	struct unit_get g = {kind, key, out, 0};
	int rc = unit_read(unit_get_txn, &g);

	return rc != 0 ? 1000 + rc : g.rc;
}

/* The monotonic clock in milliseconds. */
static inline int64_t unit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the store under test ------------------------------------------------------------- */

static enum store_engine unit_engine = STORE_ENGINE_LMDB;
static char unit_dir[64];
static char unit_url[256];
static char unit_db[128];

static inline void unit_engine_init(void)
{
	const char *e = getenv("AUTHD_TEST_ENGINE");

	if (e && store_engine_parse(e, &unit_engine) != 0) {
		fprintf(stderr, "AUTHD_TEST_ENGINE=%s: want lmdb or postgresql\n", e);
		abort();
	}
}

/* Runs pg_harness.py with args; the first line it prints goes into out
 * (if out). Returns its exit status (0: success). */
static inline int unit_harness(const char *args, char *out, size_t size)
{
	const char *py = getenv("AUTHD_PYTHON");
	const char *harness = getenv("AUTHD_PG_HARNESS");
	char cmd[4096];
	FILE *f;
	int rc;

	if (harness == NULL) {
		fprintf(stderr, "set AUTHD_PG_HARNESS to tests/lib/pg_harness.py\n");
		abort();
	}
	snprintf(cmd, sizeof(cmd), "'%s' '%s' %s", py ? py : "python3", harness, args);
	if ((f = popen(cmd, "r")) == NULL)
		abort();
	if (out) {
		out[0] = '\0';
		if (fgets(out, (int)size, f) != NULL)
			out[strcspn(out, "\n")] = '\0';
	}
	while (fgetc(f) != EOF)
		;
	rc = pclose(f);
	return rc;
}

/* Runs SQL in the test's PostgreSQL database (sql goes to the shell in
 * double quotes: no ", $, ` or \ in it). Returns 0 on success; the first
 * row into out. */
static inline int unit_sql(const char *sql, char *out, size_t size)
{
	char args[2048];

	snprintf(args, sizeof(args), "sql '%s' \"%s\"", unit_db, sql);
	return unit_harness(args, out, size);
}

static inline void unit_options(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->engine = unit_engine;
	o->data_dir = unit_dir;
	o->map_size_mb = 16;
	o->url = unit_url;
	o->complete = unit_complete;
}

/* Opens the store created by unit_store_open() again, without starting it. */
static inline int unit_store_reopen(void)
{
	struct store_options o;

	unit_options(&o);
	return store_open(&o);
}

/* A new empty store (directory or database), opened and started. */
static inline void unit_store_open(void)
{
	unit_engine_init();
	if (unit_engine == STORE_ENGINE_LMDB) {
		snprintf(unit_dir, sizeof(unit_dir), "/tmp/authd-unit-XXXXXX");
		if (mkdtemp(unit_dir) == NULL)
			abort();
	} else {
		struct store_options o;

		if (unit_harness("createdb", unit_url, sizeof(unit_url)) != 0 ||
		    unit_url[0] == '\0') {
			fprintf(stderr, "cannot create a test database\n");
			abort();
		}
		snprintf(unit_db, sizeof(unit_db), "%s", strrchr(unit_url, '/') + 1);
		unit_options(&o);
		if (store_migrate(&o) != 0)
			abort();
	}
	if (unit_store_reopen() != 0 || store_start() != 0)
		abort();
}

static inline void unit_store_close(void)
{
	char cmd[256];

	store_close();
	if (unit_engine == STORE_ENGINE_LMDB) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
		if (system(cmd) != 0)
			abort();
	} else {
		snprintf(cmd, sizeof(cmd), "dropdb '%s'", unit_db);
		if (unit_harness(cmd, NULL, 0) != 0)
			abort();
	}
}

/* cmocka group (or per-test) set-up and tear-down: a fresh store. */
static inline int unit_setup(void **state)
{
	(void)state;
	unit_store_open();
	return 0;
}

static inline int unit_teardown(void **state)
{
	(void)state;
	unit_store_close();
	return 0;
}

#endif
