/*
 * The worker pool and the completion queue. Both queues are intrusive
 * singly linked FIFO lists under a mutex; completions are drained all at once
 * so a burst of finished jobs costs one wake-up of the loop.
 */
#include "async.h"

#include <log.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct fifo {
	struct job *head, *tail;
};

static void fifo_push(struct fifo *q, struct job *job)
{
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
}

static struct job *fifo_pop(struct fifo *q)
{
	struct job *job = q->head;

	if (job) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return job;
}

static struct job *fifo_take_all(struct fifo *q)
{
	struct job *all = q->head;

	q->head = q->tail = NULL;
	return all;
}

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct fifo pool_queue;
static unsigned pool_queued, pool_queue_max;
static bool pool_stopping;
static pthread_t *pool_threads;
static unsigned pool_count;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fifo done_queue;
static void (*wake_fn)(void *arg);
static void *wake_arg;

static void *pool_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "authd-pool"); /* for top -H and perf */
	for (;;) {
		struct job *job;

		pthread_mutex_lock(&pool_lock);
		while (pool_queue.head == NULL && !pool_stopping)
			pthread_cond_wait(&pool_cond, &pool_lock);
		job = fifo_pop(&pool_queue);
		if (job)
			pool_queued--;
		pthread_mutex_unlock(&pool_lock);
		if (job == NULL)
			return NULL;
		job->work(job);
		async_complete(job);
	}
}

int async_start(unsigned workers, unsigned queue_max, void (*wake)(void *arg), void *arg)
{
	pool_queue_max = queue_max;
	pool_queued = 0;
	wake_fn = wake;
	wake_arg = arg;
	pool_stopping = false;
	pool_threads = calloc(workers, sizeof(*pool_threads));
	if (pool_threads == NULL)
		return -1;
	for (pool_count = 0; pool_count < workers; pool_count++) {
		if (pthread_create(&pool_threads[pool_count], NULL, pool_main, NULL) != 0) {
			log_err("cannot start worker thread");
			async_stop();
			return -1;
		}
	}
	return 0;
}

void async_stop(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_stopping = true;
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	for (unsigned i = 0; i < pool_count; i++)
		pthread_join(pool_threads[i], NULL);
	free(pool_threads);
	pool_threads = NULL;
	pool_count = 0;
}

bool async_run(struct job *job)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_queue_max && pool_queued >= pool_queue_max) {
		pthread_mutex_unlock(&pool_lock);
		return false;
	}
	fifo_push(&pool_queue, job);
	pool_queued++;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	return true;
}

void async_complete(struct job *job)
{
	bool first;

	pthread_mutex_lock(&done_lock);
	first = done_queue.head == NULL;
	fifo_push(&done_queue, job);
	pthread_mutex_unlock(&done_lock);
	/* One wake per empty-to-non-empty transition is enough: the loop drains
	 * everything queued by the time it runs. */
	if (first && wake_fn)
		wake_fn(wake_arg);
}

void async_drain(void)
{
	struct job *job;

	pthread_mutex_lock(&done_lock);
	job = fifo_take_all(&done_queue);
	pthread_mutex_unlock(&done_lock);
	while (job) {
		struct job *next = job->next;

		job->done(job);
		job = next;
	}
}

void async_drain_all(void)
{
	for (;;) {
		bool empty;

		pthread_mutex_lock(&done_lock);
		empty = done_queue.head == NULL;
		pthread_mutex_unlock(&done_lock);
		if (empty)
			return;
		async_drain();
	}
}
