/*
 * store_bench: what group commit buys. It opens a throw-away LMDB through
 * authd's own store (store_open, the writer thread, store_submit) and counts
 * durable writes per second two ways: (a) several producer threads keep many
 * one-put jobs in flight, so the writer folds whatever queued meanwhile into
 * one transaction and one fsync; (b) one job at a time, each waiting for its
 * commit: one fsync per write. Completions come back as they do in authd:
 * async_complete() wakes the "loop" (here the main thread, through a
 * condition variable) and the loop runs async_drain(). Prints one JSON line
 * and asserts nothing.
 */
#include "async.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN	  12 /* producer id || sequence number: never repeats */
#define VALUE_LEN 64

struct producer;

struct write_job {
	struct job job; /* first: the store hands back a struct job * */
	struct producer *owner;
	struct write_job *free_next;
	uint8_t key[KEY_LEN];
};

struct producer {
	pthread_t thread;
	uint32_t id;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct write_job *jobs;	     /* in_flight of them, owned here */
	struct write_job *free_list; /* the ones not submitted */
	unsigned inflight;
	uint64_t seq;
	unsigned long written, failed; /* updated by the loop only */
};

static unsigned n_producers = 4;
static unsigned in_flight = 256;
static double duration = 5;
static size_t map_mb = 1024;
static uint8_t value[VALUE_LEN];
static atomic_bool producers_stop;

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loop_cond;
static bool loop_woken;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Runs on the writer thread, maybe more than once (see store.h): it derives
 * everything from the job. A session record (66 bytes, binary: the write
 * every login makes), filed under the job's key; nothing reads it back. */
static int write_txn(struct job *job, struct store_txn *txn)
{
	struct write_job *w = (struct write_job *)job;
	struct token_ref ref;
	struct session s;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.account_id, w->key, sizeof(w->key));
	memcpy(ref.hash, value, sizeof(ref.hash));
	memset(&s, 0, sizeof(s));
	memcpy(s.account_id, ref.account_id, AUTHD_ID_LEN);
	s.aal = 1;
	s.created_at = s.last_seen = 1;
	s.expires_at = INT64_MAX;
	return store_session_put(txn, &ref, &s);
}

/* --- the loop ---------------------------------------------------------------- */

static void loop_wake(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&loop_lock);
	loop_woken = true;
	pthread_cond_signal(&loop_cond);
	pthread_mutex_unlock(&loop_lock);
}

/* Sleeps until a completion arrives (or the monotonic time `until`, when not
 * 0), then runs the done() of every finished job. */
static void loop_run_once(double until)
{
	pthread_mutex_lock(&loop_lock);
	while (!loop_woken) {
		if (until > 0) {
			struct timespec ts = {.tv_sec = (time_t)until};

			ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
			if (pthread_cond_timedwait(&loop_cond, &loop_lock, &ts) == ETIMEDOUT)
				break;
		} else {
			pthread_cond_wait(&loop_cond, &loop_lock);
		}
	}
	loop_woken = false;
	pthread_mutex_unlock(&loop_lock);
	async_drain();
}

/* --- (a) group commit: producers with many jobs in flight ---------------------- */

static void group_done(struct job *job)
{
	struct write_job *w = (struct write_job *)job;
	struct producer *p = w->owner;

	pthread_mutex_lock(&p->lock);
	if (job->store_rc == 0)
		p->written++;
	else
		p->failed++;
	w->free_next = p->free_list;
	p->free_list = w;
	p->inflight--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (;;) {
		struct write_job *w;
		bool stop;

		pthread_mutex_lock(&p->lock);
		while (!(stop = atomic_load(&producers_stop)) && p->free_list == NULL)
			pthread_cond_wait(&p->cond, &p->lock);
		if (stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		w = p->free_list;
		p->free_list = w->free_next;
		p->inflight++;
		pthread_mutex_unlock(&p->lock);
		put_be(w->key, p->id, 4);
		put_be(w->key + 4, p->seq++, 8);
		w->job.txn_work = write_txn;
		w->job.done = group_done;
		store_write(&w->job);
	}
}

static int producer_init(struct producer *p, uint32_t id)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->jobs = calloc(in_flight, sizeof(*p->jobs));
	if (p->jobs == NULL)
		return -1;
	for (unsigned i = 0; i < in_flight; i++) {
		p->jobs[i].owner = p;
		p->jobs[i].free_next = p->free_list;
		p->free_list = &p->jobs[i];
	}
	return 0;
}

static void producer_release(struct producer *p)
{
	free(p->jobs);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}

static unsigned producers_inflight(struct producer *ps)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_producers; i++) {
		pthread_mutex_lock(&ps[i].lock);
		n += ps[i].inflight;
		pthread_mutex_unlock(&ps[i].lock);
	}
	return n;
}

struct result {
	unsigned long writes, failed, commits, jobs;
	double seconds;
};

static int run_group(struct result *res)
{
	struct producer *ps = calloc(n_producers, sizeof(*ps));
	struct store_stats s0, s1;
	unsigned started = 0;
	double t0, end;
	int rc = -1;

	if (ps == NULL)
		goto out;
	for (unsigned i = 0; i < n_producers; i++)
		if (producer_init(&ps[i], i) != 0)
			goto out;
	store_stats(&s0);
	t0 = now_s();
	end = t0 + duration;
	for (; started < n_producers; started++)
		if (pthread_create(&ps[started].thread, NULL, producer_main, &ps[started]) != 0)
			goto stop;
	while (now_s() < end)
		loop_run_once(end);
	/* The count stops here; jobs still in flight finish uncounted. The loop
	 * is this thread, so no done() runs between these lines. */
	res->seconds = now_s() - t0;
	store_stats(&s1);
	res->commits = s1.commits - s0.commits;
	res->jobs = s1.jobs - s0.jobs;
	for (unsigned i = 0; i < n_producers; i++) {
		res->writes += ps[i].written;
		res->failed += ps[i].failed;
	}
	rc = 0;
stop:
	atomic_store(&producers_stop, true);
	for (unsigned i = 0; i < n_producers; i++) {
		pthread_mutex_lock(&ps[i].lock);
		pthread_cond_broadcast(&ps[i].cond);
		pthread_mutex_unlock(&ps[i].lock);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(ps[i].thread, NULL);
	/* The jobs belong to the producers: wait for every one before freeing. */
	while (producers_inflight(ps) > 0)
		loop_run_once(now_s() + 0.1);
out:
	if (ps) {
		for (unsigned i = 0; i < n_producers; i++)
			producer_release(&ps[i]);
	}
	free(ps);
	return rc;
}

/* --- (b) one fsync per write: one job at a time ----------------------------------- */

static bool serial_finished;

static void serial_done(struct job *job)
{
	(void)job;
	serial_finished = true;
}

static void run_serial(struct result *res)
{
	struct write_job w;
	struct store_stats s0, s1;
	uint64_t seq = 0;
	double t0;

	memset(&w, 0, sizeof(w));
	store_stats(&s0);
	t0 = now_s();
	while (now_s() - t0 < duration) {
		put_be(w.key, 0xffffffffu, 4);
		put_be(w.key + 4, seq++, 8);
		w.job.txn_work = write_txn;
		w.job.done = serial_done;
		serial_finished = false;
		store_write(&w.job);
		while (!serial_finished)
			loop_run_once(0);
		if (w.job.store_rc == 0)
			res->writes++;
		else
			res->failed++;
	}
	res->seconds = now_s() - t0;
	store_stats(&s1);
	res->commits = s1.commits - s0.commits;
}

/* --- setup ------------------------------------------------------------------------ */

static void remove_store(const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: store_bench [-D PARENT_DIR] [-n PRODUCERS] [-i IN_FLIGHT_EACH] "
		"[-d SECONDS] [-M MAP_MB]\n"
		"  the store is created in a fresh folder under PARENT_DIR (default $TMPDIR "
		"or /tmp)\n"
		"  and removed afterwards; put it on the disk authd would use\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *parent = getenv("TMPDIR");
	char dir[4096];
	struct result group = {0}, serial = {0};
	pthread_condattr_t attr;
	bool opened = false, started = false;
	int ch;
	int rc = 1;

	while ((ch = getopt(argc, argv, "D:n:i:d:M:")) != -1) {
		switch (ch) {
		case 'D':
			parent = optarg;
			break;
		case 'n':
			n_producers = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			in_flight = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'M':
			map_mb = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (n_producers == 0 || in_flight == 0 || duration <= 0 || map_mb == 0)
		usage();
	if (parent == NULL || parent[0] == '\0')
		parent = "/tmp";
	snprintf(dir, sizeof(dir), "%s/authd-store-bench-XXXXXX", parent);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "store_bench: cannot create a folder under %s: %s\n", parent,
			strerror(errno));
		return 1;
	}
	/* Timed waits use the monotonic clock, like every other time here. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&loop_cond, &attr);
	pthread_condattr_destroy(&attr);
	memset(value, 'a', sizeof(value)); /* the token hash's bytes */
	log_set_level(LOG_LVL_WARN);
	struct store_options so = {
	    .engine = STORE_ENGINE_LMDB,
	    .data_dir = dir,
	    .map_size_mb = map_mb,
	    .complete = async_complete,
	};
	if (store_open(&so) != 0)
		goto out;
	opened = true;
	/* One pool thread that stays idle: only the writer completes jobs here. */
	if (async_start(1, 0, loop_wake, NULL) != 0)
		goto out;
	started = true;
	if (store_start() != 0)
		goto out;
	if (run_group(&group) != 0)
		goto out;
	run_serial(&serial);
	printf("{\"dir\":\"%s\",\"record\":\"session\","
	       "\"group_commit\":{\"producers\":%u,\"in_flight_each\":%u,\"writes\":%lu,"
	       "\"failed\":%lu,\"seconds\":%.3f,\"writes_per_s\":%.1f,\"commits\":%lu,"
	       "\"jobs_per_commit\":%.1f},"
	       "\"one_fsync_per_write\":{\"writes\":%lu,\"failed\":%lu,\"seconds\":%.3f,"
	       "\"writes_per_s\":%.1f,\"commits\":%lu,\"ms_per_write\":%.3f}}\n",
	       dir, n_producers, in_flight, group.writes, group.failed, group.seconds,
	       group.writes / group.seconds, group.commits,
	       group.commits ? (double)group.jobs / (double)group.commits : 0.0, serial.writes,
	       serial.failed, serial.seconds, serial.writes / serial.seconds, serial.commits,
	       serial.writes ? 1000.0 * serial.seconds / (double)serial.writes : 0.0);
	rc = 0;
out:
	if (opened)
		store_close(); /* commits what is queued, then closes LMDB */
	if (started) {
		async_drain();
		async_stop();
	}
	remove_store(dir);
	pthread_cond_destroy(&loop_cond);
	return rc;
}
