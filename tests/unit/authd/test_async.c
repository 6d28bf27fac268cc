/* Unit tests for authd/async.c's short jobs: async_run_short() hands a job
 * to a pool thread only when one is free (never behind a long job), and the
 * job then runs and completes like any other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "async.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

struct test_job {
	struct job job;
	atomic_int started, release, done;
};

static void blocking_work(struct job *job)
{
	struct test_job *t = (struct test_job *)job;

	atomic_store(&t->started, 1);
	while (!atomic_load(&t->release))
		usleep(100);
}

static void quick_work(struct job *job)
{
	atomic_store(&((struct test_job *)job)->started, 1);
}

static void mark_done(struct job *job)
{
	atomic_store(&((struct test_job *)job)->done, 1);
}

static void wait_done(struct test_job *t)
{
	for (int i = 0; i < 20000 && !atomic_load(&t->done); i++) {
		async_drain();
		usleep(100);
	}
	assert_true(atomic_load(&t->done));
}

static void test_short_jobs_never_wait_behind_long_ones(void **state)
{
	struct test_job longj, queued, fast, later;
	bool ran = false;

	(void)state;
	memset(&longj, 0, sizeof(longj));
	memset(&queued, 0, sizeof(queued));
	memset(&fast, 0, sizeof(fast));
	memset(&later, 0, sizeof(later));
	longj.job.work = blocking_work;
	queued.job.work = quick_work;
	fast.job.work = quick_work;
	later.job.work = quick_work;
	longj.job.done = queued.job.done = fast.job.done = later.job.done = mark_done;
	assert_int_equal(async_start(1, NULL, NULL), 0);

	async_run(&longj.job);
	while (!atomic_load(&longj.started))
		usleep(100);
	/* The only thread is busy: refused, nothing queued. */
	assert_false(async_run_short(&fast.job));
	async_run(&queued.job);
	assert_false(async_run_short(&fast.job));
	usleep(20000);
	assert_false(atomic_load(&fast.started));

	atomic_store(&longj.release, 1);
	wait_done(&longj);
	wait_done(&queued);
	/* Free again: taken, run and completed. */
	for (int i = 0; i < 20000 && !ran; i++) {
		ran = async_run_short(&later.job);
		if (!ran)
			usleep(100);
	}
	assert_true(ran);
	wait_done(&later);
	assert_true(atomic_load(&later.started));
	async_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_jobs_never_wait_behind_long_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
