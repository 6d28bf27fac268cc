/* Test helpers: a temporary store with its threads, a synchronous write
 * that waits for its job's commit, and a read transaction. Jobs complete
 * into a list the waiting test drains itself (there is no event loop). */
#ifndef AUTHD_UNIT_STORE_H
#define AUTHD_UNIT_STORE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <store.h>
#include <string.h>
#include <unistd.h>

struct unit_write_job {
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

static int unit_write_txn(struct job *job, struct store_txn *txn)
{
	struct unit_write_job *j = (struct unit_write_job *)job;

	return j->fn(txn, j->arg);
}

static void unit_write_done(struct job *job)
{
	((struct unit_write_job *)job)->done = 1;
}

/* Runs fn in a write transaction and waits for the commit; returns the
 * job's store_rc. */
static inline int unit_write(int (*fn)(struct store_txn *txn, void *arg), void *arg)
{
	struct unit_write_job j;
	int done = 0;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.job.txn_work = unit_write_txn;
	j.job.done = unit_write_done;
	store_write(&j.job);
	while (!done) {
		usleep(200);
		pthread_mutex_lock(&unit_lock);
		done = j.done;
		pthread_mutex_unlock(&unit_lock);
	}
	return j.job.store_rc;
}

static char unit_dir[64];

/* Opens the store in unit_dir (which must exist) without starting it. */
static inline int unit_store_reopen(void)
{
	struct store_options o = {
	    .engine = STORE_ENGINE_LMDB,
	    .data_dir = unit_dir,
	    .map_size_mb = 16,
	    .complete = unit_complete,
	};

	return store_open(&o);
}

static inline void unit_store_open(void)
{
	snprintf(unit_dir, sizeof(unit_dir), "/tmp/authd-unit-XXXXXX");
	if (mkdtemp(unit_dir) == NULL || unit_store_reopen() != 0 || store_start() != 0)
		abort();
}

static inline void unit_store_close(void)
{
	char cmd[128];

	store_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
	if (system(cmd) != 0)
		abort();
}

#endif
