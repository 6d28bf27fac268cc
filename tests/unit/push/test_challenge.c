/* Unit tests for push/challenge.c as tables of cases: a challenge's life
 * (pending, answered, expired, cancelled, used once), number matching,
 * the pending and hourly caps, and the pause after "not me" or three
 * denials in a row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "push.h"

#include <string.h>

#define NOW 1796536800

static const uint8_t account[AUTHD_ID_LEN] = {7};
static const uint8_t login[AUTHD_HASH_LEN] = {9, 9, 9};
static const uint8_t device[AUTHD_ID_LEN] = {0xd};

static const struct push_context ctx = {
    .ip = "203.0.113.7",
    .location = "Zurich, Switzerland",
    .browser = "Firefox 128",
    .os = "Linux",
    .application = "Example console",
};

static void rnd_fill(uint8_t rnd[PUSH_CHALLENGE_RANDOM], uint8_t base)
{
	for (size_t i = 0; i < PUSH_CHALLENGE_RANDOM; i++)
		rnd[i] = (uint8_t)(base + 3 * i);
}

static void new_challenge(struct push_challenge *c, struct push_account *a, int64_t now)
{
	uint8_t rnd[PUSH_CHALLENGE_RANDOM];
	int64_t retry = -1;

	rnd_fill(rnd, (uint8_t)now);
	assert_int_equal(push_challenge_new(c, a, 0, 0, account, login, &ctx, rnd, PUSH_TTL_DEFAULT,
					    now, &retry),
			 0);
	assert_int_equal(retry, 0);
}

static void test_new(void **state)
{
	struct push_challenge c;
	struct push_account a = {0};
	uint8_t rnd[PUSH_CHALLENGE_RANDOM];
	bool seen[100] = {false};
	int64_t retry;

	(void)state;
	new_challenge(&c, &a, NOW);
	rnd_fill(rnd, (uint8_t)NOW);
	assert_memory_equal(c.id, rnd, AUTHD_ID_LEN);
	assert_memory_equal(c.nonce, rnd + AUTHD_ID_LEN, MP_NONCE_LEN);
	assert_memory_equal(c.account_id, account, AUTHD_ID_LEN);
	assert_memory_equal(c.login_hash, login, AUTHD_HASH_LEN);
	assert_int_equal(c.state, PUSH_PENDING);
	assert_int_equal(c.created_at, NOW);
	assert_int_equal(c.expires_at, NOW + 120);
	assert_int_equal(c.answered_at, 0);
	assert_string_equal(c.ctx.location, "Zurich, Switzerland");
	assert_int_equal(a.n_sent, 1);
	/* Every two-digit number comes out of some random bytes, no other. */
	for (unsigned i = 0; i < 20000; i++) {
		struct push_account fresh = {0};

		memset(rnd, 0, sizeof(rnd));
		rnd[PUSH_CHALLENGE_RANDOM - 1] = (uint8_t)i;
		rnd[PUSH_CHALLENGE_RANDOM - 2] = (uint8_t)(i >> 8);
		assert_int_equal(push_challenge_new(&c, &fresh, 0, 0, account, login, &ctx, rnd, 60,
						    NOW, &retry),
				 0);
		assert_true(c.number >= 10 && c.number <= 99);
		seen[c.number] = true;
	}
	for (int n = 10; n <= 99; n++)
		assert_true(seen[n]);
	/* The time to live: 1..600 seconds. */
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 0, NOW, &retry),
	    PUSH_E_INVALID);
	assert_int_equal(push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd,
					    PUSH_TTL_MAX + 1, NOW, &retry),
			 PUSH_E_INVALID);
}

static void test_caps(void **state)
{
	struct push_challenge c;
	struct push_account a = {0};
	uint8_t rnd[PUSH_CHALLENGE_RANDOM];
	int64_t retry;

	(void)state;
	rnd_fill(rnd, 1);
	/* Three waiting: the fourth waits for the first to end. */
	assert_int_equal(
	    push_challenge_new(&c, &a, 3, NOW + 40, account, login, &ctx, rnd, 120, NOW, &retry),
	    PUSH_E_THROTTLED);
	assert_int_equal(retry, 40);
	assert_int_equal(a.n_sent, 0); /* a refusal is not a sending */
	/* Ten in an hour, one a minute: the eleventh waits for the first to
	 * be an hour old. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120,
						    NOW + 60 * i, &retry),
				 0);
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 600, &retry),
	    PUSH_E_THROTTLED);
	assert_int_equal(retry, 3000);
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 3599, &retry),
	    PUSH_E_THROTTLED);
	assert_int_equal(retry, 1);
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 3600, &retry),
	    0);
	/* The next one waits for the second of the first ten. */
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 3601, &retry),
	    PUSH_E_THROTTLED);
	assert_int_equal(retry, 59);
	/* Paused: nothing goes out, however quiet, for an hour. */
	a.paused_at = NOW + 89000;
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 90000, &retry),
	    PUSH_E_PAUSED);
	assert_true(push_paused(&a, NOW + 89000 + PUSH_PAUSE_S - 1));
	assert_false(push_paused(&a, NOW + 89000 + PUSH_PAUSE_S));
}

static void test_answers(void **state)
{
	static const struct {
		enum mp_decision d;
		int number_delta; /* 0: the number shown */
		int64_t at;	  /* seconds after sending */
		int rc;
		enum push_state after;
		uint8_t denials_after;
	} cases[] = {
	    {MP_APPROVE, 0, 5, 0, PUSH_APPROVED, 0},
	    {MP_APPROVE, 1, 5, 0, PUSH_WRONG_NUMBER, 1},
	    {MP_DENY, 0, 5, 0, PUSH_DENIED, 2},
	    {MP_APPROVE, 0, 119, 0, PUSH_APPROVED, 0},
	    {MP_APPROVE, 0, 120, PUSH_E_EXPIRED, PUSH_EXPIRED, 1},
	    {MP_DENY, 0, 120, PUSH_E_EXPIRED, PUSH_EXPIRED, 1},
	    {(enum mp_decision)9, 0, 5, PUSH_E_INVALID, PUSH_PENDING, 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct push_challenge c;
		struct push_account a = {.denials = 1};
		bool paused = true;
		unsigned number;
		int rc;

		new_challenge(&c, &a, NOW);
		number = (unsigned)(c.number + cases[i].number_delta);
		rc = push_answer(&c, &a, device, cases[i].d, cases[i].d == MP_APPROVE ? number : 0,
				 NOW + cases[i].at, &paused);
		if (rc != cases[i].rc || c.state != cases[i].after ||
		    a.denials != cases[i].denials_after || paused || a.paused_at)
			fail_msg("case %zu: rc %d state %d denials %u paused %d", i, rc, c.state,
				 a.denials, paused);
		if (rc == 0) {
			assert_int_equal(c.answered_at, NOW + cases[i].at);
			assert_memory_equal(c.answered_by, device, AUTHD_ID_LEN);
		}
		/* Answered once: a second answer changes nothing. */
		if (rc == 0) {
			assert_int_equal(push_answer(&c, &a, device, MP_APPROVE, c.number,
						     NOW + cases[i].at, &paused),
					 PUSH_E_ANSWERED);
			assert_int_equal(c.state, cases[i].after);
		}
	}
}

static void test_pause(void **state)
{
	struct push_challenge c, other;
	struct push_account a = {0};
	bool paused;
	int64_t retry;
	uint8_t rnd[PUSH_CHALLENGE_RANDOM];

	(void)state;
	rnd_fill(rnd, 2);
	/* Three denials in a row: the third pauses push, once. */
	for (int i = 0; i < 3; i++) {
		new_challenge(&c, &a, NOW + i);
		assert_int_equal(push_answer(&c, &a, device, MP_DENY, 0, NOW + i, &paused), 0);
		assert_int_equal(paused, i == 2);
	}
	assert_int_equal(a.paused_at, NOW + 2);
	assert_int_equal(
	    push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120, NOW + 3, &retry),
	    PUSH_E_PAUSED);
	/* Another factor proves the owner: push resumes, denials forgotten. */
	push_account_resume(&a);
	assert_int_equal(a.paused_at, 0);
	assert_int_equal(a.denials, 0);
	/* An approval between denials restarts the count. */
	new_challenge(&c, &a, NOW + 10);
	assert_int_equal(push_answer(&c, &a, device, MP_DENY, 0, NOW + 10, &paused), 0);
	new_challenge(&c, &a, NOW + 11);
	assert_int_equal(push_answer(&c, &a, device, MP_APPROVE, c.number, NOW + 11, &paused), 0);
	new_challenge(&c, &a, NOW + 12);
	assert_int_equal(push_answer(&c, &a, device, MP_DENY, 0, NOW + 12, &paused), 0);
	assert_false(paused);
	assert_int_equal(a.denials, 1);
	/* "Not me" pauses at once. */
	new_challenge(&other, &a, NOW + 13);
	new_challenge(&c, &a, NOW + 13);
	assert_int_equal(push_answer(&c, &a, device, MP_NOT_ME, 0, NOW + 13, &paused), 0);
	assert_true(paused);
	assert_int_equal(c.state, PUSH_NOT_ME);
	assert_int_equal(a.paused_at, NOW + 13);
	/* While paused, no other challenge of the account logs anyone in. */
	assert_int_equal(
	    push_answer(&other, &a, device, MP_APPROVE, other.number, NOW + 14, &paused),
	    PUSH_E_PAUSED);
	assert_int_equal(other.state, PUSH_CANCELLED);
	assert_false(paused);
	/* An hour on, the pause is over by itself, denials forgotten. */
	assert_int_equal(push_challenge_new(&c, &a, 0, 0, account, login, &ctx, rnd, 120,
					    NOW + 13 + PUSH_PAUSE_S, &retry),
			 0);
	assert_int_equal(a.paused_at, 0);
	assert_int_equal(a.denials, 0);
}

static void test_claim_and_cancel(void **state)
{
	struct push_challenge c;
	struct push_account a = {0};
	uint8_t other[AUTHD_HASH_LEN] = {1};
	bool paused;

	(void)state;
	new_challenge(&c, &a, NOW);
	assert_int_equal(push_claim(&c, login, NOW + 1), PUSH_E_ANSWERED); /* still pending */
	assert_int_equal(push_answer(&c, &a, device, MP_APPROVE, c.number, NOW + 2, &paused), 0);
	assert_int_equal(push_claim(&c, other, NOW + 3), PUSH_E_INVALID);
	assert_int_equal(push_claim(&c, login, NOW + 3), 0);
	assert_int_equal(c.state, PUSH_USED);
	assert_int_equal(push_claim(&c, login, NOW + 4), PUSH_E_ANSWERED); /* once */
	assert_false(push_cancel(&c, NOW + 5));
	/* A denied challenge logs nobody in. */
	new_challenge(&c, &a, NOW);
	assert_int_equal(push_answer(&c, &a, device, MP_DENY, 0, NOW + 2, &paused), 0);
	assert_int_equal(push_claim(&c, login, NOW + 3), PUSH_E_ANSWERED);
	/* Cancelled while pending; an expired one is not cancelled. */
	new_challenge(&c, &a, NOW);
	assert_true(push_cancel(&c, NOW + 1));
	assert_int_equal(c.state, PUSH_CANCELLED);
	assert_int_equal(push_answer(&c, &a, device, MP_APPROVE, c.number, NOW + 2, &paused),
			 PUSH_E_ANSWERED);
	new_challenge(&c, &a, NOW);
	assert_false(push_cancel(&c, NOW + 120));
	assert_int_equal(push_challenge_state(&c, NOW + 120), PUSH_EXPIRED);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(push_state_name(PUSH_PENDING), "pending");
	assert_string_equal(push_state_name(PUSH_NOT_ME), "not_me");
	assert_string_equal(push_state_name(PUSH_USED), "used");
	assert_string_equal(push_state_name((enum push_state)0), "");
	assert_string_equal(push_state_name((enum push_state)42), "");
	for (int e = PUSH_E_PAUSED; e >= PUSH_E_ANSWERED; e--)
		assert_string_not_equal(push_strerror(e), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_pause),
	    cmocka_unit_test(test_claim_and_cancel),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
