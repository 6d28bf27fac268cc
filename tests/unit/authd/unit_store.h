/* Test helpers: a temporary LMDB store with its writer thread, and a
 * synchronous write that waits for its job's commit. */
#ifndef AUTHD_UNIT_STORE_H
#define AUTHD_UNIT_STORE_H

#include "async.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct unit_write_job {
	struct job job;
	int (*fn)(MDB_txn *txn, void *arg);
	void *arg;
	int done;
};

static int unit_write_txn(struct job *job, MDB_txn *txn)
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
static inline int unit_write(int (*fn)(MDB_txn *txn, void *arg), void *arg)
{
	struct unit_write_job j;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	j.job.txn_work = unit_write_txn;
	j.job.done = unit_write_done;
	store_submit(&j.job);
	while (!j.done) {
		usleep(200);
		async_drain();
	}
	return j.job.store_rc;
}

static char unit_dir[64];

static inline void unit_store_open(void)
{
	snprintf(unit_dir, sizeof(unit_dir), "/tmp/authd-unit-XXXXXX");
	if (mkdtemp(unit_dir) == NULL || store_open(unit_dir, 16) != 0 ||
	    async_start(1, NULL, NULL) != 0 || store_start_writer() != 0)
		abort();
}

static inline void unit_store_close(void)
{
	char cmd[128];

	store_close();
	async_drain();
	async_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
	if (system(cmd) != 0)
		abort();
}

#endif
