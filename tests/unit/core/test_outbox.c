/* Unit tests for core/outbox.c: the backoff between tries, a claim's lease,
 * and how each delivery outcome settles a message (sent and failed ones
 * lose their text; a message gives up after its attempts or its age; one
 * sealed with a key generation the node lacks costs no attempt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

#include <string.h>

#define NOW 1795461062

static void fresh(struct outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->channel = OUTBOX_EMAIL;
	m->state = OUTBOX_PENDING;
	m->created_at = NOW;
	m->next_at = NOW;
	m->sealed_len = 100;
	memset(m->sealed, 0xab, m->sealed_len);
}

static void test_backoff_doubles_to_an_hour(void **state)
{
	(void)state;
	assert_int_equal(core_outbox_backoff(0), 10);
	assert_int_equal(core_outbox_backoff(1), 10);
	assert_int_equal(core_outbox_backoff(2), 20);
	assert_int_equal(core_outbox_backoff(3), 40);
	assert_int_equal(core_outbox_backoff(9), 2560);
	assert_int_equal(core_outbox_backoff(10), 3600);
	assert_int_equal(core_outbox_backoff(50), 3600);
	assert_int_equal(core_outbox_backoff(UINT16_MAX), 3600);
}

static void test_claim_moves_to_the_lease_end(void **state)
{
	struct outbox_msg m;

	(void)state;
	fresh(&m);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(m.attempts, 1);
	assert_int_equal(m.next_at, NOW + OUTBOX_LEASE_S);
	assert_int_equal(m.state, OUTBOX_PENDING);
	m.attempts = UINT16_MAX;
	core_outbox_claim(&m, NOW + 1);
	assert_int_equal(m.attempts, UINT16_MAX);
}

static void test_delivered_is_sent_and_erased(void **state)
{
	struct outbox_msg m;
	uint8_t zero[100] = {0};

	(void)state;
	fresh(&m);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_DELIVERED, NOW + 3), OUTBOX_SENT);
	assert_int_equal(m.done_at, NOW + 3);
	assert_int_equal(m.next_at, 0);
	assert_int_equal(m.sealed_len, 0);
	assert_memory_equal(m.sealed, zero, sizeof(zero));
}

static void test_try_again_backs_off(void **state)
{
	struct outbox_msg m;

	(void)state;
	fresh(&m);
	for (unsigned i = 1; i <= 4; i++) {
		core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
		assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW), OUTBOX_PENDING);
		assert_int_equal(m.next_at, NOW + core_outbox_backoff(i));
		assert_int_equal(m.sealed_len, 100);
		assert_int_equal(m.done_at, 0);
	}
}

static void test_rejected_fails_at_once(void **state)
{
	struct outbox_msg m;

	(void)state;
	fresh(&m);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_REJECTED, NOW + 1), OUTBOX_FAILED);
	assert_int_equal(m.done_at, NOW + 1);
	assert_int_equal(m.sealed_len, 0);
}

static void test_gives_up_after_attempts_or_age(void **state)
{
	struct outbox_msg m;

	(void)state;
	fresh(&m);
	m.attempts = OUTBOX_ATTEMPTS_MAX - 2;
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW), OUTBOX_PENDING);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW), OUTBOX_FAILED);

	fresh(&m);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW + OUTBOX_GIVE_UP_S - 1),
			 OUTBOX_PENDING);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW + OUTBOX_GIVE_UP_S),
			 OUTBOX_FAILED);
	assert_int_equal(m.sealed_len, 0);
}

static void test_not_held_costs_no_attempt(void **state)
{
	struct outbox_msg m;

	(void)state;
	fresh(&m);
	m.attempts = 3;
	/* However often a node that cannot open it claims it. */
	for (int i = 0; i < 2 * OUTBOX_ATTEMPTS_MAX; i++) {
		core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
		assert_int_equal(core_outbox_settle(&m, OUTBOX_NOT_HELD, NOW + i), OUTBOX_PENDING);
		assert_int_equal(m.attempts, 3);
		assert_int_equal(m.next_at, NOW + i + OUTBOX_NOT_HELD_S);
		assert_int_equal(m.sealed_len, 100);
	}
	/* Then a node that holds the key tries: the backoff goes on from there. */
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_TRY_AGAIN, NOW), OUTBOX_PENDING);
	assert_int_equal(m.next_at, NOW + core_outbox_backoff(4));
	/* Its age still gives up on it. */
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_NOT_HELD, NOW + OUTBOX_GIVE_UP_S - 1),
			 OUTBOX_PENDING);
	core_outbox_claim(&m, NOW + OUTBOX_LEASE_S);
	assert_int_equal(core_outbox_settle(&m, OUTBOX_NOT_HELD, NOW + OUTBOX_GIVE_UP_S),
			 OUTBOX_FAILED);
	assert_int_equal(m.sealed_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_doubles_to_an_hour),
	    cmocka_unit_test(test_claim_moves_to_the_lease_end),
	    cmocka_unit_test(test_delivered_is_sent_and_erased),
	    cmocka_unit_test(test_try_again_backs_off),
	    cmocka_unit_test(test_rejected_fails_at_once),
	    cmocka_unit_test(test_gives_up_after_attempts_or_age),
	    cmocka_unit_test(test_not_held_costs_no_attempt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
