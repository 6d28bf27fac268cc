/*
 * The sweeper: every few minutes a write job deletes expired sessions,
 * pending logins and throttle histories older than an hour, a bounded slice
 * at a time, resuming where the last slice stopped so that no single commit
 * holds the writer for long.
 */
#ifndef AUTHD_SWEEP_H
#define AUTHD_SWEEP_H

#include "records.h"
#include "throttle.h"
#include "util.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws_context;

/* Where a slice starts in each database (have_* false: at the first key). */
struct sweep_pos {
	uint8_t cluster[CLUSTER_KEY_MAX];
	size_t cluster_len;
	uint8_t throttle[THROTTLE_KEY_LEN];
	bool have_cluster, have_throttle;
};

/* Starts the periodic sweep on the loop (call once the writer runs). */
void sweep_start(struct lws_context *ctx);
/* Cancels the timer before the context goes away. */
void sweep_stop(void);

/*
 * One slice in txn: looks at up to `budget` records of each kind from the
 * positions in *from, deletes those dead at `now`, writes where the next
 * slice starts into *to and the number deleted into *deleted. Depends only
 * on its arguments and the txn, so it can run again after an abort.
 * Returns 0 or STORE_E_*.
 */
int sweep_slice(MDB_txn *txn, int64_t now, size_t budget, const struct sweep_pos *from,
		struct sweep_pos *to, size_t *deleted);

#endif
