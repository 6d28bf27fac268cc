/* Unit tests for the outbox operations on the engine AUTHD_TEST_ENGINE
 * names: a claim takes only due messages, earliest first, and moves them
 * to the lease's end; threads claiming at once take each message once; a
 * settle applies only to the claim it names (a lease that ran out and was
 * claimed again is not settled twice); the count of pending messages; and
 * the sweeper deletes done messages a week after they were done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_store.h"

#include <stdatomic.h>

#define NOW	 1795461062
#define N	 40
#define THREADS	 4
#define PER_TAKE 3

static void msg_of(struct outbox_msg *m, int i, int64_t due)
{
	memset(m, 0, sizeof(*m));
	m->id[0] = 0x0b;
	m->id[1] = (uint8_t)i;
	m->account_id[0] = 7;
	m->channel = i % 2 ? OUTBOX_SMS : OUTBOX_EMAIL;
	m->state = OUTBOX_PENDING;
	m->created_at = NOW;
	m->next_at = due;
	m->sealed_len = (uint16_t)(50 + i);
	memset(m->sealed, 0x40 + i, m->sealed_len);
}

struct fill {
	int n;
	int64_t first_due; /* message i is due at first_due + i */
};

static int fill_txn(struct store_txn *txn, void *arg)
{
	const struct fill *f = arg;
	struct outbox_msg *m = malloc(sizeof(*m));
	int rc = 0;

	for (int i = 0; i < f->n && rc == 0; i++) {
		msg_of(m, i, f->first_due + i);
		rc = store_outbox_add(txn, m);
	}
	free(m);
	return rc;
}

struct claim {
	int64_t now, until;
	size_t limit;
	int n;
	int ids[N];
	uint16_t attempts[N];
	int64_t next_at[N];
	bool text_ok;
};

static int claimed(void *arg, const struct outbox_msg *m)
{
	struct claim *c = arg;
	struct outbox_msg want;

	if (c->n < N) {
		c->ids[c->n] = m->id[1];
		c->attempts[c->n] = m->attempts;
		c->next_at[c->n] = m->next_at;
		c->n++;
	}
	msg_of(&want, m->id[1], 0);
	if (m->sealed_len != want.sealed_len ||
	    memcmp(m->sealed, want.sealed, want.sealed_len) != 0 || m->channel != want.channel)
		c->text_ok = false;
	return 0;
}

static int claim_txn(struct store_txn *txn, void *arg)
{
	struct claim *c = arg;

	c->n = 0;
	c->text_ok = true;
	return store_outbox_claim(txn, c->now, c->until, c->limit, claimed, c);
}

struct pending {
	uint64_t n;
	int64_t earliest;
};

static int pending_txn(struct store_txn *txn, void *arg)
{
	struct pending *p = arg;

	return store_outbox_pending(txn, &p->n, &p->earliest);
}

static uint64_t count_pending(void)
{
	struct pending p = {0};

	assert_int_equal(unit_read(pending_txn, &p), 0);
	return p.n;
}

/* The earliest next_at among pending messages (0: none). */
static int64_t earliest_pending(void)
{
	struct pending p = {0};

	assert_int_equal(unit_read(pending_txn, &p), 0);
	return p.earliest;
}

static void test_claim_takes_due_in_order(void **state)
{
	struct fill f = {10, NOW};
	struct claim c = {.now = NOW + 4, .until = NOW + 4 + OUTBOX_LEASE_S, .limit = 3};

	(void)state;
	assert_int_equal(earliest_pending(), 0);
	assert_int_equal(unit_write(fill_txn, &f), 0);
	assert_int_equal(count_pending(), 10);
	assert_int_equal(earliest_pending(), NOW);
	/* Five are due (NOW..NOW+4); the limit takes the first three. */
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 3);
	assert_true(c.text_ok);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c.ids[i], i);
		assert_int_equal(c.attempts[i], 1);
		assert_int_equal(c.next_at[i], c.until);
	}
	c.limit = 100;
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], 3);
	assert_int_equal(c.ids[1], 4);
	/* Nothing else is due now; claimed ones are still pending. */
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(count_pending(), 10);
	/* The claimed five are due at the lease's end: the earliest is now
	 * the first unclaimed one. */
	assert_int_equal(earliest_pending(), NOW + 5);
	/* At the lease's end the first five are due again, with the rest. */
	c.now = NOW + 4 + OUTBOX_LEASE_S;
	c.until = c.now + OUTBOX_LEASE_S;
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(c.attempts[i], c.ids[i] < 5 ? 2 : 1);
}

struct settle {
	int i;
	int64_t claimed_until;
	enum outbox_outcome outcome;
	int64_t now;
	struct outbox_msg m;
};

static int settle_txn(struct store_txn *txn, void *arg)
{
	struct settle *s = arg;
	struct outbox_msg *m = malloc(sizeof(*m));
	uint8_t id[AUTHD_ID_LEN] = {0x0b, (uint8_t)s->i};
	int rc;

	if ((rc = store_outbox_get(txn, id, m)) == 0) {
		core_outbox_settle(m, s->outcome, s->now);
		rc = store_outbox_settle(txn, m, s->claimed_until);
		s->m = *m;
	}
	free(m);
	return rc;
}

static int get_txn(struct store_txn *txn, void *arg)
{
	struct settle *s = arg;
	uint8_t id[AUTHD_ID_LEN] = {0x0b, (uint8_t)s->i};

	return store_outbox_get(txn, id, &s->m);
}

static void test_settle_only_its_claim(void **state)
{
	struct fill f = {3, NOW};
	struct claim c = {.now = NOW + 10, .until = NOW + 10 + OUTBOX_LEASE_S, .limit = 10};
	struct settle s = {.i = 0, .outcome = OUTBOX_DELIVERED, .now = NOW + 11};

	(void)state;
	assert_int_equal(unit_write(fill_txn, &f), 0);
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 3);
	/* A settle naming another claim finds nothing to settle. */
	s.claimed_until = c.until + 1;
	assert_int_equal(unit_write(settle_txn, &s), STORE_E_NOTFOUND);
	s.claimed_until = c.until;
	assert_int_equal(unit_write(settle_txn, &s), 0);
	assert_int_equal(s.m.state, OUTBOX_SENT);
	/* Read back: sent, its text gone; never claimed again. */
	assert_int_equal(unit_read(get_txn, &s), 0);
	assert_int_equal(s.m.state, OUTBOX_SENT);
	assert_int_equal(s.m.sealed_len, 0);
	assert_int_equal(s.m.done_at, NOW + 11);
	assert_int_equal(s.m.attempts, 1);
	/* Settled twice (a second node whose lease ran out): refused. */
	assert_int_equal(unit_write(settle_txn, &s), STORE_E_NOTFOUND);

	/* Message 1 fails for now: due again after the backoff. */
	s.i = 1;
	s.outcome = OUTBOX_TRY_AGAIN;
	assert_int_equal(unit_write(settle_txn, &s), 0);
	assert_int_equal(s.m.state, OUTBOX_PENDING);
	assert_int_equal(s.m.next_at, NOW + 11 + core_outbox_backoff(1));
	/* Message 2 is refused for good. */
	s.i = 2;
	s.outcome = OUTBOX_REJECTED;
	assert_int_equal(unit_write(settle_txn, &s), 0);
	assert_int_equal(s.m.state, OUTBOX_FAILED);
	assert_int_equal(count_pending(), 1);

	/* Only message 1 is claimed again, when its backoff is over. */
	c.now = NOW + 11 + core_outbox_backoff(1) - 1;
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 0);
	c.now++;
	c.until = c.now + OUTBOX_LEASE_S;
	assert_int_equal(unit_write(claim_txn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], 1);
	assert_int_equal(c.attempts[0], 2);
}

/* Threads claiming at once: every message is taken exactly once. */
struct racer {
	pthread_barrier_t *go;
	int taken[N];
	int failed;
};

static atomic_int taken_total;

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	for (int round = 0; round < N; round++) {
		struct claim c = {
		    .now = NOW + N, .until = NOW + N + OUTBOX_LEASE_S, .limit = PER_TAKE};

		if (unit_write_own(claim_txn, &c) != 0) {
			r->failed++;
			continue;
		}
		for (int i = 0; i < c.n; i++)
			r->taken[c.ids[i]]++;
		atomic_fetch_add(&taken_total, c.n);
		if (c.n == 0 && atomic_load(&taken_total) >= N)
			break;
	}
	return NULL;
}

static void test_racing_claims_take_each_once(void **state)
{
	struct fill f = {N, NOW};
	static struct racer racers[THREADS];
	pthread_t threads[THREADS];
	pthread_barrier_t go;

	(void)state;
	assert_int_equal(unit_write(fill_txn, &f), 0);
	memset(racers, 0, sizeof(racers));
	atomic_store(&taken_total, 0);
	pthread_barrier_init(&go, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		racers[i].go = &go;
		assert_int_equal(pthread_create(&threads[i], NULL, racer_main, &racers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&go);
	for (int m = 0; m < N; m++) {
		int n = 0;

		for (int i = 0; i < THREADS; i++)
			n += racers[i].taken[m];
		assert_int_equal(n, 1);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(racers[i].failed, 0);
}

struct sweep {
	int64_t now;
	size_t deleted;
};

static int sweep_txn(struct store_txn *txn, void *arg)
{
	struct sweep *s = arg;
	struct store_sweep_pos from, to;

	memset(&from, 0, sizeof(from));
	s->deleted = 0;
	return store_sweep(txn, s->now, 1800, 1000, &from, &to, &s->deleted);
}

static void test_sweep_keeps_done_a_week(void **state)
{
	struct fill f = {2, NOW};
	struct claim c = {.now = NOW + 5, .until = NOW + 5 + OUTBOX_LEASE_S, .limit = 10};
	struct settle s = {.i = 0, .outcome = OUTBOX_DELIVERED, .now = NOW + 6};
	struct sweep w = {.now = NOW + 6 + OUTBOX_KEEP_S - 1};

	(void)state;
	assert_int_equal(unit_write(fill_txn, &f), 0);
	assert_int_equal(unit_write(claim_txn, &c), 0);
	s.claimed_until = c.until;
	assert_int_equal(unit_write(settle_txn, &s), 0);
	assert_int_equal(unit_write(sweep_txn, &w), 0);
	assert_int_equal(unit_read(get_txn, &s), 0);
	w.now++;
	assert_int_equal(unit_write(sweep_txn, &w), 0);
	assert_int_equal(w.deleted, 1);
	assert_int_equal(unit_read(get_txn, &s), STORE_E_NOTFOUND);
	/* The pending one stays, however old. */
	s.i = 1;
	assert_int_equal(unit_read(get_txn, &s), 0);
	assert_int_equal(count_pending(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_claim_takes_due_in_order, unit_setup,
					    unit_teardown),
	    cmocka_unit_test_setup_teardown(test_settle_only_its_claim, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_racing_claims_take_each_once, unit_setup,
					    unit_teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_keeps_done_a_week, unit_setup,
					    unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
