/* Unit tests for recovery/recovery.c: phone numbers normalized and masked;
 * a new option counts only once its code came back, the old one staying
 * until then; wrong codes count, stop checks at RECOVERY_FAILS_MAX, are not
 * cleared by a resend, and are forgotten after a quiet day; sends are
 * capped per hour; a reset's code and link die together on first use and
 * give a grant that expires and is used once; SMS as a second factor needs
 * a verified number, follows it, and its sign-in codes are bound to one
 * pending login, capped per login, and used once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "recovery.h"

#include <stdio.h>
#include <string.h>

#define NOW 1795461062

static void hash_of(uint8_t h[RECOVERY_HASH_LEN], uint8_t v)
{
	memset(h, v, RECOVERY_HASH_LEN);
}

static void test_phone(void **state)
{
	char out[RECOVERY_PHONE_MAX + 1], mask[64];

	(void)state;
	assert_int_equal(recovery_phone_normalize("+41 79 123 45 67", out), 0);
	assert_string_equal(out, "+41791234567");
	assert_int_equal(recovery_phone_normalize(" +1 (415) 555-0100", out), 0);
	assert_string_equal(out, "+14155550100");
	assert_int_equal(recovery_phone_normalize("+123456789012345", out), 0);
	assert_int_equal(recovery_phone_normalize("+1234567890123456", out), -1); /* 16 digits */
	assert_int_equal(recovery_phone_normalize("+1234567", out), -1);	  /* 7 digits */
	assert_int_equal(recovery_phone_normalize("0791234567", out), -1);	  /* no + */
	assert_int_equal(recovery_phone_normalize("+041791234567", out), -1);
	assert_int_equal(recovery_phone_normalize("+41 79 123 45 6x", out), -1);
	assert_int_equal(recovery_phone_normalize("+41\n791234567", out), -1);
	recovery_phone_mask("+41791234567", mask, sizeof(mask));
	assert_string_equal(mask, "+41••••67");
	recovery_email_mask("ann@example.com", mask, sizeof(mask));
	assert_string_equal(mask, "a•••@example.com");
}

static void test_option_verified_by_its_code(void **state)
{
	struct recovery_rec r;
	uint8_t h1[RECOVERY_HASH_LEN], h2[RECOVERY_HASH_LEN], bad[RECOVERY_HASH_LEN];
	enum recovery_kind kind = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(h1, 1);
	hash_of(h2, 2);
	hash_of(bad, 9);
	assert_true(recovery_is_empty(&r));
	assert_int_equal(recovery_option_begin(&r, RECOVERY_PHONE, "+41791234567", h1, NOW),
			 RECOVERY_OK);
	assert_string_equal(r.phone, ""); /* not before its code */
	assert_int_equal(recovery_option_confirm(&r, bad, NOW + 1, &kind), RECOVERY_E_INVALID);
	assert_int_equal(r.option_fails, 1);
	assert_int_equal(recovery_option_confirm(&r, h1, NOW + 2, &kind), RECOVERY_OK);
	assert_int_equal(kind, RECOVERY_PHONE);
	assert_string_equal(r.phone, "+41791234567");
	assert_true(r.phone_verified);
	assert_int_equal(r.option_fails, 0);
	/* Used: a second confirmation finds nothing pending. */
	assert_int_equal(recovery_option_confirm(&r, h1, NOW + 3, &kind), RECOVERY_E_EXPIRED);
	/* A change keeps the old number until the new one is verified. */
	assert_int_equal(recovery_option_begin(&r, RECOVERY_PHONE, "+41790000000", h2, NOW + 4),
			 RECOVERY_OK);
	assert_string_equal(r.phone, "+41791234567");
	assert_int_equal(recovery_option_confirm(&r, h2, NOW + 4 + RECOVERY_CODE_TTL, &kind),
			 RECOVERY_E_EXPIRED);
	assert_string_equal(r.phone, "+41791234567");
	/* An email the same way; removing it drops it and its pending. */
	assert_int_equal(recovery_option_begin(&r, RECOVERY_EMAIL, "me@example.org", h2, NOW + 5),
			 RECOVERY_OK);
	assert_int_equal(recovery_option_confirm(&r, h2, NOW + 6, &kind), RECOVERY_OK);
	assert_int_equal(kind, RECOVERY_EMAIL);
	assert_string_equal(r.email, "me@example.org");
	recovery_option_remove(&r, RECOVERY_EMAIL);
	assert_string_equal(r.email, "");
	assert_false(r.email_verified);
	assert_string_equal(r.phone, "+41791234567");
}

static void test_fails_survive_resends(void **state)
{
	struct recovery_rec r;
	uint8_t h[RECOVERY_HASH_LEN], bad[RECOVERY_HASH_LEN];
	enum recovery_kind kind;

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(h, 1);
	hash_of(bad, 9);
	assert_int_equal(recovery_option_begin(&r, RECOVERY_EMAIL, "a@b.example", h, NOW),
			 RECOVERY_OK);
	for (int i = 0; i < RECOVERY_FAILS_MAX - 1; i++)
		assert_int_equal(recovery_option_confirm(&r, bad, NOW, &kind), RECOVERY_E_INVALID);
	/* A resend (a new code) does not give the count back. */
	assert_int_equal(recovery_option_begin(&r, RECOVERY_EMAIL, "a@b.example", h, NOW + 60),
			 RECOVERY_OK);
	assert_int_equal(recovery_option_confirm(&r, bad, NOW + 61, &kind), RECOVERY_E_INVALID);
	assert_int_equal(r.option_fails, RECOVERY_FAILS_MAX);
	/* Now even the right code is not looked at. */
	assert_int_equal(recovery_option_confirm(&r, h, NOW + 62, &kind), RECOVERY_E_LOCKED);
	/* A quiet day forgets them (the code has expired by then). */
	assert_int_equal(recovery_option_confirm(&r, h, NOW + 61 + RECOVERY_FAIL_QUIET_S, &kind),
			 RECOVERY_E_EXPIRED);
	assert_int_equal(r.option_fails, 0);
}

static void test_sends_capped_per_hour(void **state)
{
	struct recovery_rec r;
	uint8_t h[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(h, 1);
	for (int i = 0; i < RECOVERY_SENDS_MAX; i++)
		assert_int_equal(recovery_reset_begin(&r, h, NULL, NOW + i), RECOVERY_OK);
	assert_int_equal(recovery_reset_begin(&r, h, NULL, NOW + 10), RECOVERY_E_THROTTLED);
	assert_int_equal(recovery_option_begin(&r, RECOVERY_EMAIL, "x@y.example", h, NOW + 10),
			 RECOVERY_E_THROTTLED);
	/* The first send leaves the hour at NOW + RECOVERY_SEND_WINDOW. */
	assert_false(recovery_send_allowed(&r, NOW + RECOVERY_SEND_WINDOW - 1));
	assert_true(recovery_send_allowed(&r, NOW + RECOVERY_SEND_WINDOW));
	assert_int_equal(recovery_reset_begin(&r, h, NULL, NOW + RECOVERY_SEND_WINDOW),
			 RECOVERY_OK);
	assert_false(recovery_send_allowed(&r, NOW + RECOVERY_SEND_WINDOW));
}

static void test_reset_code_link_and_grant(void **state)
{
	struct recovery_rec r;
	uint8_t code[RECOVERY_HASH_LEN], link[RECOVERY_HASH_LEN], grant[RECOVERY_HASH_LEN],
	    bad[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(code, 1);
	hash_of(link, 2);
	hash_of(grant, 3);
	hash_of(bad, 9);
	assert_int_equal(recovery_reset_begin(&r, code, link, NOW), RECOVERY_OK);
	/* A code is no link and a link no code. */
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_EMAIL, code, grant, NOW + 1),
			 RECOVERY_E_INVALID);
	/* The SMS code: 10 minutes. */
	assert_int_equal(
	    recovery_reset_verify(&r, RECOVERY_PHONE, code, grant, NOW + RECOVERY_CODE_TTL),
	    RECOVERY_E_EXPIRED);
	/* The link: 24 hours; its use kills the code too. */
	assert_int_equal(
	    recovery_reset_verify(&r, RECOVERY_EMAIL, link, grant, NOW + RECOVERY_LINK_TTL - 1),
	    RECOVERY_OK);
	assert_int_equal(r.fails, 0);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_EMAIL, link, grant, NOW + 2),
			 RECOVERY_E_EXPIRED);
	int64_t t = NOW + RECOVERY_LINK_TTL - 1;

	assert_int_equal(recovery_grant_check(&r, bad, t), RECOVERY_E_INVALID);
	assert_int_equal(recovery_grant_check(&r, grant, t + RECOVERY_GRANT_TTL - 1), RECOVERY_OK);
	assert_int_equal(recovery_grant_check(&r, grant, t + RECOVERY_GRANT_TTL),
			 RECOVERY_E_EXPIRED);
	recovery_grant_used(&r);
	assert_int_equal(recovery_grant_check(&r, grant, t), RECOVERY_E_EXPIRED);
	/* Only an SMS code (no recovery email): no link to verify. */
	assert_int_equal(recovery_reset_begin(&r, code, NULL, NOW), RECOVERY_OK);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_EMAIL, link, grant, NOW + 1),
			 RECOVERY_E_EXPIRED);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, code, grant, NOW + 1),
			 RECOVERY_OK);
}

/* A stranger's wrong codes lock the SMS code, never the email link; the
 * grant dies at the fifth wrong second-factor code. */
static void test_link_never_locked_and_grant_fails(void **state)
{
	struct recovery_rec r;
	uint8_t code[RECOVERY_HASH_LEN], link[RECOVERY_HASH_LEN], grant[RECOVERY_HASH_LEN],
	    bad[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(code, 1);
	hash_of(link, 2);
	hash_of(grant, 3);
	hash_of(bad, 9);
	assert_int_equal(recovery_reset_begin(&r, code, link, NOW), RECOVERY_OK);
	for (int i = 0; i < RECOVERY_FAILS_MAX; i++)
		assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, bad, grant, NOW + i),
				 RECOVERY_E_INVALID);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, code, grant, NOW + 9),
			 RECOVERY_E_LOCKED);
	/* Wrong links count nothing; the right one still works. */
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_EMAIL, bad, grant, NOW + 10),
			 RECOVERY_E_INVALID);
	assert_int_equal(r.fails, RECOVERY_FAILS_MAX);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_EMAIL, link, grant, NOW + 11),
			 RECOVERY_OK);
	/* The reset codes' failures are not the options' either. */
	assert_int_equal(r.option_fails, 0);
	for (int i = 1; i < RECOVERY_FAILS_MAX; i++)
		assert_true(recovery_grant_failed(&r));
	assert_int_equal(recovery_grant_check(&r, grant, NOW + 12), RECOVERY_OK);
	assert_false(recovery_grant_failed(&r));
	assert_int_equal(recovery_grant_check(&r, grant, NOW + 12), RECOVERY_E_EXPIRED);
}

static void test_reset_fails_lock(void **state)
{
	struct recovery_rec r;
	uint8_t code[RECOVERY_HASH_LEN], grant[RECOVERY_HASH_LEN], bad[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(code, 1);
	hash_of(grant, 3);
	hash_of(bad, 9);
	assert_int_equal(recovery_reset_begin(&r, code, NULL, NOW), RECOVERY_OK);
	for (int i = 0; i < RECOVERY_FAILS_MAX; i++)
		assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, bad, grant, NOW + i),
				 RECOVERY_E_INVALID);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, code, grant, NOW + 9),
			 RECOVERY_E_LOCKED);
	assert_int_equal(recovery_reset_begin(&r, code, NULL, NOW + 10), RECOVERY_OK);
	assert_int_equal(recovery_reset_verify(&r, RECOVERY_PHONE, code, grant, NOW + 11),
			 RECOVERY_E_LOCKED);
}

static void test_sms_factor(void **state)
{
	struct recovery_rec r;
	uint8_t login_a[AUTHD_HASH_LEN], login_b[AUTHD_HASH_LEN], code[RECOVERY_HASH_LEN],
	    other[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(login_a, 0xa, sizeof(login_a));
	memset(login_b, 0xb, sizeof(login_b));
	hash_of(code, 1);
	hash_of(other, 2);
	/* Only a verified number can be a factor. */
	assert_int_equal(recovery_sms_factor_on(&r, NOW), RECOVERY_E_EXPIRED);
	snprintf(r.phone, sizeof(r.phone), "+41791234567");
	assert_int_equal(recovery_sms_factor_on(&r, NOW), RECOVERY_E_EXPIRED);
	r.phone_verified = true;
	assert_int_equal(recovery_sms_factor_on(&r, NOW), RECOVERY_OK);
	assert_true(recovery_sms_factor_is_on(&r));
	assert_int_equal(recovery_sms_factor_on(&r, NOW + 5), RECOVERY_OK);
	assert_int_equal(r.sms_factor_at, NOW); /* on since the first time */
	/* No code sent yet: nothing matches. */
	assert_int_equal(recovery_sms_login_check(&r, login_a, code, NOW), RECOVERY_E_EXPIRED);
	/* Three codes per pending login; the latest is the one that counts. */
	assert_int_equal(recovery_sms_sends_left(&r, login_a), RECOVERY_SMS_SENDS);
	assert_int_equal(recovery_sms_login_begin(&r, login_a, other, NOW + 300), RECOVERY_OK);
	assert_int_equal(recovery_sms_login_begin(&r, login_a, other, NOW + 300), RECOVERY_OK);
	assert_int_equal(recovery_sms_login_begin(&r, login_a, code, NOW + 300), RECOVERY_OK);
	assert_int_equal(recovery_sms_sends_left(&r, login_a), 0);
	assert_int_equal(recovery_sms_login_begin(&r, login_a, other, NOW + 300),
			 RECOVERY_E_THROTTLED);
	assert_int_equal(recovery_sms_login_check(&r, login_a, other, NOW), RECOVERY_E_INVALID);
	assert_int_equal(recovery_sms_login_check(&r, login_b, code, NOW), RECOVERY_E_EXPIRED);
	assert_int_equal(recovery_sms_login_check(&r, login_a, code, NOW + 300),
			 RECOVERY_E_EXPIRED);
	assert_int_equal(recovery_sms_login_check(&r, login_a, code, NOW + 299), RECOVERY_OK);
	/* Used once. */
	recovery_sms_login_used(&r);
	assert_int_equal(recovery_sms_login_check(&r, login_a, code, NOW), RECOVERY_E_EXPIRED);
	/* Another login starts its own count, and the first login's code dies. */
	assert_int_equal(recovery_sms_login_begin(&r, login_a, code, NOW + 300),
			 RECOVERY_E_THROTTLED);
	assert_int_equal(recovery_sms_login_begin(&r, login_b, code, NOW + 300), RECOVERY_OK);
	assert_int_equal(recovery_sms_sends_left(&r, login_b), RECOVERY_SMS_SENDS - 1);
	assert_int_equal(recovery_sms_login_check(&r, login_a, code, NOW), RECOVERY_E_EXPIRED);
	/* A new verified number carries the factor; removing the number ends it. */
	assert_int_equal(recovery_option_begin(&r, RECOVERY_PHONE, "+41790000000", other, NOW),
			 RECOVERY_OK);
	assert_true(recovery_sms_factor_is_on(&r)); /* the old number, until verified */
	enum recovery_kind kind;

	assert_int_equal(recovery_option_confirm(&r, other, NOW + 1, &kind), RECOVERY_OK);
	assert_string_equal(r.phone, "+41790000000");
	assert_true(recovery_sms_factor_is_on(&r));
	recovery_option_remove(&r, RECOVERY_PHONE);
	assert_false(recovery_sms_factor_is_on(&r));
	assert_int_equal(r.sms_factor_at, 0);
	assert_int_equal(recovery_sms_login_check(&r, login_b, code, NOW), RECOVERY_E_EXPIRED);
	assert_int_equal(recovery_sms_login_begin(&r, login_b, code, NOW + 300),
			 RECOVERY_E_EXPIRED);
	/* Off explicitly: the number stays. */
	snprintf(r.phone, sizeof(r.phone), "+41791234567");
	r.phone_verified = true;
	assert_int_equal(recovery_sms_factor_on(&r, NOW), RECOVERY_OK);
	recovery_sms_factor_off(&r);
	assert_false(recovery_sms_factor_is_on(&r));
	assert_string_equal(r.phone, "+41791234567");
}

/* A reviewer's approval marks the reset it begins; any other reset, or the
 * grant used, clears the mark. */
static void test_reset_proofed(void **state)
{
	struct recovery_rec r;
	uint8_t link[RECOVERY_HASH_LEN];

	(void)state;
	memset(&r, 0, sizeof(r));
	hash_of(link, 3);
	assert_int_equal(recovery_reset_begin(&r, NULL, link, NOW), RECOVERY_OK);
	assert_false(r.reset_proofed);
	recovery_reset_proofed(&r);
	assert_true(r.reset_proofed);
	recovery_grant_used(&r);
	assert_false(r.reset_proofed);
	recovery_reset_proofed(&r);
	assert_int_equal(recovery_reset_begin(&r, NULL, link, NOW + 1), RECOVERY_OK);
	assert_false(r.reset_proofed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phone),
	    cmocka_unit_test(test_option_verified_by_its_code),
	    cmocka_unit_test(test_fails_survive_resends),
	    cmocka_unit_test(test_sends_capped_per_hour),
	    cmocka_unit_test(test_reset_code_link_and_grant),
	    cmocka_unit_test(test_reset_fails_lock),
	    cmocka_unit_test(test_link_never_locked_and_grant_fails),
	    cmocka_unit_test(test_sms_factor),
	    cmocka_unit_test(test_reset_proofed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
