/*
 * The sweeper: every few minutes a write job deletes expired sessions,
 * pending logins and throttle histories older than an hour, a bounded slice
 * at a time (store_sweep), resuming where the last slice stopped so that
 * no single commit holds the writer for long.
 */
#ifndef AUTHD_SWEEP_H
#define AUTHD_SWEEP_H

#include <stdint.h>

struct lws_context;

/* Starts the periodic sweep on the loop (call once the store runs);
 * sessions unused for session_idle_s seconds are over. */
void sweep_start(struct lws_context *ctx, int64_t session_idle_s);
/* Cancels the timer before the context goes away. */
void sweep_stop(void);

#endif
