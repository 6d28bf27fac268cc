/* Unit tests for core/factors.c's TOTP pre-check: deciding a code from a
 * pre-check made before the write (core_totp_apply) gives exactly what the
 * write's own check (core_totp_check) gives, for every code in and around
 * the window and every last used step; and a pre-check of a seed the record
 * no longer holds decides nothing. A seed sealed with a key generation the
 * keys lack is told apart from an altered one. Links only the core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define NOW    1795461062
#define PERIOD 30

static const uint8_t account[AUTHD_ID_LEN] = {7, 7, 7};
static uint8_t totp_key[32], backup_key[32];
static struct core_keyring totp_ring = {.key = {[1] = totp_key}, .current = 1};
static const struct core_keys keys = {&totp_ring, backup_key};

static void make_record(struct totp_rec *t, uint8_t fill)
{
	uint8_t seed[20];

	memset(t, 0, sizeof(*t));
	memset(seed, fill, sizeof(seed));
	t->enabled = true;
	t->alg = OTP_ALG_SHA1;
	t->digits = 6;
	t->period = PERIOD;
	t->last_step = -1;
	uint8_t nonce[SEAL_NONCE] = {fill};

	assert_int_equal(
	    core_seal(&totp_ring, nonce, account, sizeof(account), seed, sizeof(seed), t->seed), 0);
	t->seed_len = sizeof(seed) + SEAL_OVERHEAD;
}

static void code_at(uint8_t fill, int64_t at, char out[OTP_DIGITS_MAX + 1])
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[20];

	memset(seed, fill, sizeof(seed));
	assert_int_equal(otp_totp(seed, sizeof(seed), &p, (uint64_t)at, out), 0);
}

static void test_apply_matches_check(void **state)
{
	const int64_t step = NOW / PERIOD;
	int accepted = 0, replayed = 0, invalid = 0;

	(void)state;
	/* Codes from 3 steps before to 3 after; last used step from none to
	 * 2 steps ahead; plus a malformed code. */
	for (int off = -3; off <= 4; off++) {
		for (int64_t last = -1; last <= 3; last++) {
			struct totp_rec a, b;
			struct core_totp_precheck pre;
			char code[OTP_DIGITS_MAX + 1];
			enum core_verdict err_check = CORE_DAMAGED, err_apply = CORE_DAMAGED;

			make_record(&a, 0x42);
			if (off == 4)
				snprintf(code, sizeof(code), "12a456");
			else
				code_at(0x42, NOW + off * PERIOD, code);
			a.last_step = last < 0 ? -1 : step - 2 + last;
			b = a;
			core_totp_precheck(&pre, &b, &keys, account, code, strlen(code), NOW);
			assert_true(pre.done);
			err_check =
			    core_totp_check(&a, &keys, account, false, code, strlen(code), NOW);
			assert_true(core_totp_apply(&b, &pre, &err_apply));
			assert_int_equal(err_apply, err_check);
			assert_int_equal(b.last_step, a.last_step);
			accepted += err_check == CORE_OK;
			replayed += err_check == CORE_CODE_REUSED;
			invalid += err_check == CORE_INVALID_CODE;
		}
	}
	/* The grid covers every outcome. */
	assert_true(accepted > 0 && replayed > 0 && invalid > 0);
}

static void test_changed_seed_decides_nothing(void **state)
{
	struct totp_rec seen, now;
	struct core_totp_precheck pre;
	char code[OTP_DIGITS_MAX + 1];
	enum core_verdict err = CORE_DAMAGED;

	(void)state;
	make_record(&seen, 0x42);
	code_at(0x42, NOW, code);
	core_totp_precheck(&pre, &seen, &keys, account, code, strlen(code), NOW);
	/* Re-enrolled meanwhile: another seed in the record. */
	make_record(&now, 0x43);
	assert_false(core_totp_apply(&now, &pre, &err));
	assert_int_equal(now.last_step, -1);
	/* Same seed, other parameters (a code of other digits or period). */
	make_record(&now, 0x42);
	now.seed_len = seen.seed_len;
	memcpy(now.seed, seen.seed, seen.seed_len);
	assert_true(core_totp_apply(&now, &pre, &err));
	now.last_step = -1;
	now.digits = 8;
	assert_false(core_totp_apply(&now, &pre, &err));
	now.digits = seen.digits;
	now.period = 60;
	assert_false(core_totp_apply(&now, &pre, &err));
	now.period = seen.period;
	now.alg = OTP_ALG_SHA256;
	assert_false(core_totp_apply(&now, &pre, &err));
	/* A pre-check that could not open the seed is never used either. */
	make_record(&seen, 0x42);
	seen.seed[5] ^= 1;
	core_totp_precheck(&pre, &seen, &keys, account, code, strlen(code), NOW);
	assert_false(pre.done);
	assert_false(core_totp_apply(&seen, &pre, &err));
}

/* A seed of a generation the ring lacks is CORE_KEY_MISSING (another node
 * opens it); one that is altered, or sealed by another secret under a held
 * number, is CORE_DAMAGED; neither decides the code nor moves the step. */
static void test_generation_not_held_is_told_apart(void **state)
{
	uint8_t other_key[32];
	struct core_keyring g2 = {.key = {[1] = totp_key, [2] = other_key}, .current = 2};
	struct core_keyring wrong = {.key = {[1] = other_key}, .current = 1};
	const struct core_keys k2 = {&g2, backup_key}, kw = {&wrong, backup_key};
	uint8_t nonce[SEAL_NONCE] = {9}, seed[20];
	struct core_device_totp d;
	char code[OTP_DIGITS_MAX + 1];
	struct totp_rec t;

	(void)state;
	memset(other_key, 0x5a, sizeof(other_key));
	memset(seed, 3, sizeof(seed));
	make_record(&t, 3);
	code_at(3, NOW, code);
	assert_int_equal(core_totp_check(&t, &keys, account, false, code, 6, NOW), CORE_OK);
	t.last_step = -1;
	/* Sealed again with generation 2, which `keys` lacks. */
	assert_int_equal(
	    core_seal(&g2, nonce, account, sizeof(account), seed, sizeof(seed), t.seed), 0);
	assert_int_equal(core_totp_check(&t, &keys, account, false, code, 6, NOW),
			 CORE_KEY_MISSING);
	assert_int_equal(t.last_step, -1);
	assert_true(core_verdict_unopened(CORE_KEY_MISSING));
	assert_int_equal(core_totp_check(&t, &k2, account, false, code, 6, NOW), CORE_OK);
	/* Generation 1 under another secret: held by number, but it does not open. */
	make_record(&t, 3);
	assert_int_equal(core_totp_check(&t, &kw, account, false, code, 6, NOW), CORE_DAMAGED);
	assert_true(core_verdict_unopened(CORE_DAMAGED));
	assert_false(core_verdict_unopened(CORE_INVALID_CODE));
	/* Generation 0, or too short to be a seal: damaged, not "held elsewhere". */
	make_record(&t, 3);
	t.seed[0] = 0;
	assert_int_equal(core_totp_check(&t, &keys, account, false, code, 6, NOW), CORE_DAMAGED);
	t.seed_len = SEAL_OVERHEAD - 1;
	assert_int_equal(core_totp_check(&t, &keys, account, false, code, 6, NOW), CORE_DAMAGED);
	/* A device's seed: the same. */
	memset(&d, 0, sizeof(d));
	d.last_step = -1;
	assert_int_equal(core_seal(&g2, nonce, d.aad, sizeof(d.aad), seed, sizeof(seed), d.seed),
			 0);
	d.seed_len = sizeof(seed) + SEAL_OVERHEAD;
	assert_int_equal(core_device_totp_check(&d, &keys, code, 6, NOW), CORE_KEY_MISSING);
	assert_int_equal(core_device_totp_check(&d, &k2, code, 6, NOW), CORE_OK);
	OPENSSL_cleanse(other_key, sizeof(other_key));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_matches_check),
	    cmocka_unit_test(test_changed_seed_decides_nothing),
	    cmocka_unit_test(test_generation_not_held_is_told_apart),
	};

	memset(totp_key, 0x5c, sizeof(totp_key));
	memset(backup_key, 0x3a, sizeof(backup_key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
