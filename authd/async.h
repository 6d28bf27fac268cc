/*
 * Work that must not run on the lws service thread, and the way its result
 * comes back. A job runs either on the worker pool (job->work: argon2id and
 * other CPU-heavy work) or in the store (job->txn_work, see store.h); either way job->done then
 * runs on the loop thread, woken through the wake callback (lws_cancel_service in the server).
 *
 * Ownership: the submitter owns the job; between submit and done() no other
 * thread but the one running it touches it.
 */
#ifndef AUTHD_ASYNC_H
#define AUTHD_ASYNC_H

#include <store.h> /* struct job */

/*
 * Starts `workers` pool threads whose queue holds at most queue_max jobs
 * (0: no bound); wake(arg) is called from any thread after a job completes.
 * Returns 0 or -1.
 */
int async_start(unsigned workers, unsigned queue_max, void (*wake)(void *arg), void *arg);
/* Stops and joins the pool; jobs still queued are completed with done(). */
void async_stop(void);

/* Queues job->work on the pool; false (nothing queued) when the queue is
 * full: the caller answers 503 overloaded. Thread-safe. */
bool async_run(struct job *job) __attribute__((warn_unused_result));

/* Hands a finished job to the loop (called by pool and writer threads). */
void async_complete(struct job *job);

/* Runs done() of every completed job. Loop thread only. */
void async_drain(void);
/* Drains until nothing is left, including jobs completed by done()s. */
void async_drain_all(void);

#endif
