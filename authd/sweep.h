/*
 * The sweeper: every few minutes a write job deletes expired sessions and
 * pending logins, a bounded slice at a time, resuming where the last slice
 * stopped so that no single commit holds the writer for long.
 */
#ifndef AUTHD_SWEEP_H
#define AUTHD_SWEEP_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

struct lws_context;

/* Starts the periodic sweep on the loop (call once the writer runs). */
void sweep_start(struct lws_context *ctx);
/* Cancels the timer before the context goes away. */
void sweep_stop(void);

/*
 * One slice in txn: looks at up to `budget` sessions and `budget` logins
 * after the saved positions, deletes those expired at `now`, and counts the
 * deletions in *deleted. Returns 0 or STORE_E_*. Exposed for tests.
 */
int sweep_slice(MDB_txn *txn, int64_t now, size_t budget, size_t *deleted);

#endif
