/* Unit tests for authd/throttle.c: the delay schedule, the hourly cap, the
 * quiet reset, in-flight attempts, and the stored record round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The key of throttle subjects (a server secret in authd). */
static const uint8_t unit_hkey[32] = {1, 2, 3};

static void test_free_then_doubling(void **state)
{
	struct throttle_rec r;
	const struct throttle_policy *p = &throttle_account_policy;
	int64_t now = 1000000;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < p->free_failures; i++) {
		assert_int_equal(throttle_retry_after(&r, p, now, 0), 0);
		throttle_record_failure(&r, p, now);
	}
	assert_int_equal(throttle_retry_after(&r, p, now, 0), 0);
	throttle_record_failure(&r, p, now); /* 4th */
	assert_int_equal(throttle_retry_after(&r, p, now, 0), 5);
	assert_int_equal(throttle_retry_after(&r, p, now + 4, 0), 1);
	assert_int_equal(throttle_retry_after(&r, p, now + 5, 0), 0);
	throttle_record_failure(&r, p, now + 5); /* 5th */
	assert_int_equal(throttle_retry_after(&r, p, now + 5, 0), 10);
	for (int i = 0; i < 30; i++)
		throttle_record_failure(&r, p, now + 6);
	/* Capped: never more than max_delay from the last failure (the hourly
	 * cap may add more, see below). */
	assert_true(throttle_retry_after(&r, p, now + 6, 0) >= p->max_delay);
	throttle_record_success(&r);
	assert_int_equal(r.consecutive, 0);
}

static void test_hourly_cap(void **state)
{
	struct throttle_policy p = {.free_failures = 1000,
				    .base_delay = 1,
				    .max_delay = 1,
				    .hourly_cap = 100,
				    .quiet_reset = 1 << 30};
	struct throttle_rec r;
	int64_t t0 = 5000000;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 99; i++)
		throttle_record_failure(&r, &p, t0 + i);
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 99, 0), 0);
	/* One in flight makes the hundredth: the next must wait. */
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 99, 1), 3600 - 99);
	throttle_record_failure(&r, &p, t0 + 99);
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 100, 0), 3600 - 100);
	/* When the oldest leaves the hour, one more is allowed. */
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 3600, 0), 0);
	throttle_record_failure(&r, &p, t0 + 3600);
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 3600, 0), 1);
	/* The account policy has the cap of 100 (ASVS 2.2.1): a history of 100
	 * failures in the hour blocks even with no consecutive failures. */
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 99; i++)
		throttle_record_hourly(&r, t0);
	assert_int_equal(throttle_retry_after(&r, &throttle_account_policy, t0 + 60, 0), 0);
	throttle_record_hourly(&r, t0);
	assert_int_equal(throttle_retry_after(&r, &throttle_account_policy, t0 + 60, 0), 3540);
	assert_int_equal(throttle_account_policy.hourly_cap, 100);
	/* Hourly-only entries count toward the cap, not the delay. */
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 100; i++)
		throttle_record_hourly(&r, t0);
	assert_int_equal(r.consecutive, 0);
	assert_int_equal(throttle_retry_after(&r, &p, t0 + 10, 0), 3590);
}

static void test_quiet_reset(void **state)
{
	const struct throttle_policy *p = &throttle_ip_policy;
	struct throttle_rec r;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < p->free_failures + 3; i++)
		throttle_record_failure(&r, p, 100);
	assert_true(throttle_retry_after(&r, p, 100, 0) > 0);
	assert_int_equal(throttle_retry_after(&r, p, 100 + p->quiet_reset, 0), 0);
	throttle_record_failure(&r, p, 100 + p->quiet_reset);
	assert_int_equal(r.consecutive, 1);
}

static void test_keys_and_slots(void **state)
{
	uint8_t id[AUTHD_ID_LEN] = {1, 2, 3};
	uint8_t a[THROTTLE_KEY_LEN], f[THROTTLE_KEY_LEN], e1[THROTTLE_KEY_LEN],
	    e2[THROTTLE_KEY_LEN];

	(void)state;
	throttle_key_account(a, id);
	throttle_key_factor(f, id);
	throttle_key_email(e1, unit_hkey, "a@example.com");
	throttle_key_email(e2, unit_hkey, "b@example.com");
	assert_memory_not_equal(a, f, THROTTLE_KEY_LEN);
	assert_memory_not_equal(e1, e2, THROTTLE_KEY_LEN);
	/* Keyed: the plain hash of an email (anyone can compute it) is not
	 * its key, and another server key gives another key. */
	{
		uint8_t h[AUTHD_HASH_LEN], other[32] = {9}, e3[THROTTLE_KEY_LEN];

		authd_sha256("a@example.com", 13, h);
		assert_memory_not_equal(e1 + 1, h, AUTHD_ID_LEN);
		throttle_key_email(e3, other, "a@example.com");
		assert_memory_not_equal(e1, e3, THROTTLE_KEY_LEN);
	}
	assert_ptr_equal(throttle_slot_ip("127.0.0.1"), throttle_slot_ip("127.0.0.1"));
	assert_ptr_not_equal(throttle_slot_ip("127.0.0.1"), throttle_slot_ip("127.0.0.2"));
	(*throttle_slot_inflight(throttle_slot_subject(a)))++;
	assert_int_equal(*throttle_slot_inflight(throttle_slot_subject(a)), 1);
	/* Many addresses cannot grow memory or evict a slot with work in flight. */
	for (int i = 0; i < 100000; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		throttle_record_failure(throttle_slot_rec(throttle_slot_ip(ip)),
					&throttle_ip_policy, i);
	}
	assert_int_equal(*throttle_slot_inflight(throttle_slot_subject(a)), 1);
}

/* Thousands of clients with attempts under way at once still leave room
 * for the next: with half of the table's 8192 slots busy, 2000 new clients
 * all get a slot (with 8 probes per key, 22 of them did not). */
static void test_busy_table_has_room(void **state)
{
	char ip[32];
	int refused = 0;

	(void)state;
	for (int i = 0; i < 4096; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		throttle_inflight_ip(ip, +1);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(ip, sizeof(ip), "10.200.%d.%d", i / 256, i % 256);
		refused += throttle_slot_ip(ip) == NULL;
	}
	for (int i = 0; i < 4096; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		throttle_inflight_ip(ip, -1);
	}
	assert_int_equal(refused, 0);
}

/* Second factors: quiet time forgets nothing, 100 failures lock, and the
 * sweeper keeps such a record however quiet it is. */
static void test_factor_policy(void **state)
{
	struct throttle_rec r;
	uint8_t id[AUTHD_ID_LEN] = {1}, fkey[THROTTLE_KEY_LEN], akey[THROTTLE_KEY_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 10; i++)
		throttle_record_failure(&r, &throttle_factor_policy, 1000 + i);
	/* A day later: still delayed (the account policy would have forgotten). */
	assert_true(throttle_retry_after(&r, &throttle_factor_policy, 1000 + 86400, 1) > 0);
	assert_int_equal(throttle_retry_after(&r, &throttle_account_policy, 1000 + 86400, 0), 0);
	assert_false(throttle_factor_locked(&r));
	for (int i = 10; i < THROTTLE_FACTOR_LOCK; i++)
		throttle_record_failure(&r, &throttle_factor_policy, 100000 + i);
	assert_true(throttle_factor_locked(&r));
	throttle_key_factor(fkey, id);
	throttle_key_account(akey, id);
	assert_false(throttle_subject_is_quiet(fkey, &r, 10000000));
	assert_true(throttle_subject_is_quiet(akey, &r, 10000000));
	throttle_record_success(&r);
	assert_false(throttle_factor_locked(&r));
	assert_true(throttle_subject_is_quiet(fkey, &r, 10000000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_free_then_doubling),	cmocka_unit_test(test_hourly_cap),
	    cmocka_unit_test(test_quiet_reset),		cmocka_unit_test(test_keys_and_slots),
	    cmocka_unit_test(test_busy_table_has_room), cmocka_unit_test(test_factor_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
