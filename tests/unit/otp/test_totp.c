/*
 * Unit tests for otp/totp.c: RFC 6238 Appendix B (8 digits, with the 20-,
 * 32- and 64-byte seeds of the RFC's reference code) and the derived 6-digit
 * values as data, the time step with 64-bit times, the verification window,
 * replay refusal (including a code that matches two steps of one window),
 * malformed codes, agreement with liboath and the oathtool program, and
 * OpenSSL failure through a link-time wrap of EVP_MAC_fetch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <openssl/evp.h>

#include "otp.h"

/* snprintf into an array, which must not truncate. */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
EVP_MAC *__real_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);
EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);

static int fail_mac_fetch;

EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties)
{
	if (fail_mac_fetch)
		return NULL;
	return __real_EVP_MAC_fetch(libctx, algorithm, properties);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

/* RFC 6238 Appendix A seeds: the SHA-256 and SHA-512 seeds are 32 and 64 bytes. */
static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

static const uint8_t *seed_for(enum otp_alg alg, size_t *len)
{
	switch (alg) {
	case OTP_ALG_SHA256:
		*len = 32;
		return seed32;
	case OTP_ALG_SHA512:
		*len = 64;
		return seed64;
	default:
		*len = 20;
		return seed20;
	}
}

/* RFC 6238 Appendix B, and the 6-digit values of SECURITY.md Appendix C. */
static const struct {
	uint64_t time;
	uint64_t step;
	enum otp_alg alg;
	const char *totp8;
	const char *totp6;
} rfc6238[] = {
    {59, 0x1, OTP_ALG_SHA1, "94287082", "287082"},
    {59, 0x1, OTP_ALG_SHA256, "46119246", "119246"},
    {59, 0x1, OTP_ALG_SHA512, "90693936", "693936"},
    {1111111109, 0x23523EC, OTP_ALG_SHA1, "07081804", "081804"},
    {1111111109, 0x23523EC, OTP_ALG_SHA256, "68084774", "084774"},
    {1111111109, 0x23523EC, OTP_ALG_SHA512, "25091201", "091201"},
    {1111111111, 0x23523ED, OTP_ALG_SHA1, "14050471", "050471"},
    {1111111111, 0x23523ED, OTP_ALG_SHA256, "67062674", "062674"},
    {1111111111, 0x23523ED, OTP_ALG_SHA512, "99943326", "943326"},
    {1234567890, 0x273EF07, OTP_ALG_SHA1, "89005924", "005924"},
    {1234567890, 0x273EF07, OTP_ALG_SHA256, "91819424", "819424"},
    {1234567890, 0x273EF07, OTP_ALG_SHA512, "93441116", "441116"},
    {2000000000, 0x3F940AA, OTP_ALG_SHA1, "69279037", "279037"},
    {2000000000, 0x3F940AA, OTP_ALG_SHA256, "90698825", "698825"},
    {2000000000, 0x3F940AA, OTP_ALG_SHA512, "38618901", "618901"},
    {20000000000u, 0x27BC86AA, OTP_ALG_SHA1, "65353130", "353130"},
    {20000000000u, 0x27BC86AA, OTP_ALG_SHA256, "77737706", "737706"},
    {20000000000u, 0x27BC86AA, OTP_ALG_SHA512, "47863826", "863826"},
};
#define N_RFC6238 (sizeof(rfc6238) / sizeof(rfc6238[0]))

/*
 * With seed20, SHA-1 and 6 digits, steps 153567 and 153569 share the code
 * 468457 (found by search; step 153568 differs). At a time in step 153568
 * with window 1 the code matches two steps of the window.
 */
#define TWIN_LO	  153567u
#define TWIN_HI	  153569u
#define TWIN_CODE "468457"

static uint64_t prng_state = 0xfedcba9876543210u;

/* splitmix64: reproducible test data, not randomness. */
static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Whether name is an executable file in a directory of $PATH. */
static int have_program(const char *name)
{
	const char *dir = getenv("PATH");
	char path[4096];
	int found = 0;

	while (!found && dir != NULL && *dir != '\0') {
		size_t len = strcspn(dir, ":");

		if (len > 0 && len + strlen(name) + 2 <= sizeof(path)) {
			FMT(path, "%.*s/%s", (int)len, dir, name);
			found = access(path, X_OK) == 0;
		}
		dir += len;
		if (*dir == ':')
			dir++;
	}
	return found;
}

static int setup(void **state)
{
	(void)state;
	return otp_global_init() == OTP_OK ? 0 : -1;
}

/* The code of `step` under seed20, SHA-1, `digits` digits. */
static void code_at(uint64_t step, unsigned digits, char out[OTP_DIGITS_MAX + 1])
{
	assert_int_equal(otp_hotp(seed20, 20, OTP_ALG_SHA1, step, digits, out), OTP_OK);
}

static void test_rfc6238_eight_digits(void **state)
{
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	for (size_t i = 0; i < N_RFC6238; i++) {
		struct otp_totp_params p = {rfc6238[i].alg, 8, 30, 1};
		size_t len;
		const uint8_t *seed = seed_for(rfc6238[i].alg, &len);

		assert_int_equal(otp_totp(seed, len, &p, rfc6238[i].time, out), OTP_OK);
		assert_string_equal(out, rfc6238[i].totp8);
	}
}

static void test_rfc6238_six_digits(void **state)
{
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	for (size_t i = 0; i < N_RFC6238; i++) {
		struct otp_totp_params p = {rfc6238[i].alg, 6, 30, 1};
		size_t len;
		const uint8_t *seed = seed_for(rfc6238[i].alg, &len);

		assert_int_equal(otp_totp(seed, len, &p, rfc6238[i].time, out), OTP_OK);
		assert_string_equal(out, rfc6238[i].totp6);
	}
}

/* The erratum's symptom: a 20-byte seed with SHA-256 gives a different code. */
static void test_wrong_seed_symptom(void **state)
{
	struct otp_totp_params p = {OTP_ALG_SHA256, 8, 30, 1};
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	assert_int_equal(otp_totp(seed20, 20, &p, 59, out), OTP_OK);
	assert_string_equal(out, "32247374");
}

static void test_step(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_RFC6238; i++)
		assert_int_equal(otp_totp_step(rfc6238[i].time, 30), rfc6238[i].step);
	assert_int_equal(otp_totp_step(0, 30), 0);
	assert_int_equal(otp_totp_step(29, 30), 0);
	assert_int_equal(otp_totp_step(30, 30), 1);
	assert_int_equal(otp_totp_step(119, 60), 1);
	assert_true(otp_totp_step(UINT64_MAX, 1) == UINT64_MAX);
	/* No error channel: a zero period must not divide by zero. */
	assert_int_equal(otp_totp_step(12345, 0), 0);
}

static void test_params_checked(void **state)
{
	static const struct otp_totp_params bad[] = {
	    {(enum otp_alg)3, 6, 30, 1}, {OTP_ALG_SHA1, 5, 30, 1},  {OTP_ALG_SHA1, 9, 30, 1},
	    {OTP_ALG_SHA1, 6, 0, 1},	 {OTP_ALG_SHA1, 6, 301, 1}, {OTP_ALG_SHA1, 6, 30, 11},
	};
	struct otp_totp_params ok = {OTP_ALG_SHA1, 6, 300, 10};
	char out[OTP_DIGITS_MAX + 1];
	uint64_t matched = 77;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(otp_totp(seed20, 20, &bad[i], 59, out), OTP_E_INVALID);
		assert_string_equal(out, "");
		assert_int_equal(
		    otp_totp_verify(seed20, 20, &bad[i], 59, "123456", 6, -1, &matched),
		    OTP_E_INVALID);
		assert_int_equal(matched, 77);
	}
	assert_int_equal(otp_totp(seed20, 20, NULL, 59, out), OTP_E_INVALID);
	assert_int_equal(otp_totp(seed20, 20, &ok, 59, out), OTP_OK);
	assert_int_equal(otp_totp(seed20, 0, &ok, 59, out), OTP_E_INVALID);
	assert_int_equal(otp_totp(seed20, 20, &ok, 59, NULL), OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(seed20, 20, NULL, 59, "123456", 6, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(NULL, 20, &ok, 59, "123456", 6, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(
	    otp_totp_verify(seed20, OTP_KEY_MAX + 1, &ok, 59, "123456", 6, -1, &matched),
	    OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(seed20, 20, &ok, 59, "123456", 6, -1, NULL),
			 OTP_E_INVALID);
	assert_int_equal(matched, 77);
}

/* Window 1 accepts T-1, T, T+1 and refuses T-2, T+2; window 0 and 2 likewise. */
static void test_verify_window(void **state)
{
	const uint64_t t = 1111111111, step = t / 30;
	char code[OTP_DIGITS_MAX + 1];
	uint64_t matched;

	(void)state;
	for (unsigned window = 0; window <= 2; window++) {
		struct otp_totp_params p = {OTP_ALG_SHA1, 6, 30, window};

		for (int d = -3; d <= 3; d++) {
			uint64_t s = step + (uint64_t)(int64_t)d;
			int want = (unsigned)abs(d) <= window ? OTP_OK : OTP_E_MISMATCH;

			code_at(s, 6, code);
			matched = 0;
			assert_int_equal(otp_totp_verify(seed20, 20, &p, t, code, 6, -1, &matched),
					 want);
			assert_int_equal(matched, want == OTP_OK ? s : 0);
		}
	}
}

static void test_verify_replay(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	const uint64_t t = 2000000000, step = t / 30;
	char now_code[OTP_DIGITS_MAX + 1], prev_code[OTP_DIGITS_MAX + 1];
	char next_code[OTP_DIGITS_MAX + 1], wrong[OTP_DIGITS_MAX + 1];
	uint64_t matched = 0;

	(void)state;
	code_at(step, 6, now_code);
	code_at(step - 1, 6, prev_code);
	code_at(step + 1, 6, next_code);

	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, now_code, 6, -1, &matched), OTP_OK);
	assert_int_equal(matched, step);
	/* The same code twice in its step. */
	matched = 1;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, now_code, 6, (int64_t)step, &matched),
			 OTP_E_REPLAYED);
	assert_int_equal(matched, 1);
	/* An earlier step's code after a later one was accepted. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, prev_code, 6, (int64_t)step, &matched),
			 OTP_E_REPLAYED);
	assert_int_equal(
	    otp_totp_verify(seed20, 20, &p, t + 30, now_code, 6, (int64_t)step, &matched),
	    OTP_E_REPLAYED);
	assert_int_equal(matched, 1);
	/* A later step is still fresh. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, next_code, 6, (int64_t)step, &matched),
			 OTP_OK);
	assert_int_equal(matched, step + 1);
	/* After the client ran ahead, its current code is refused until time catches up. */
	assert_int_equal(
	    otp_totp_verify(seed20, 20, &p, t, now_code, 6, (int64_t)step + 1, &matched),
	    OTP_E_REPLAYED);
	assert_int_equal(
	    otp_totp_verify(seed20, 20, &p, t, next_code, 6, (int64_t)step + 1, &matched),
	    OTP_E_REPLAYED);
	/* A wrong code stays a mismatch whatever last_step is. */
	memcpy(wrong, now_code, sizeof(wrong));
	wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1);
	assert_string_not_equal(wrong, prev_code);
	assert_string_not_equal(wrong, next_code);
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, wrong, 6, INT64_MAX, &matched),
			 OTP_E_MISMATCH);
	/* Every step is at or before INT64_MAX: nothing is ever fresh. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, now_code, 6, INT64_MAX, &matched),
			 OTP_E_REPLAYED);
	/* Any negative last_step means none used yet. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, now_code, 6, INT64_MIN, &matched),
			 OTP_OK);
	assert_int_equal(matched, step);
}

/* One code matching two steps: the highest fresh one is accepted, never a used one. */
static void test_verify_code_matching_two_steps(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	const uint64_t t = (TWIN_LO + 1) * 30 + 7;
	char code[OTP_DIGITS_MAX + 1];
	uint64_t matched = 0;

	(void)state;
	code_at(TWIN_LO, 6, code);
	assert_string_equal(code, TWIN_CODE);
	code_at(TWIN_HI, 6, code);
	assert_string_equal(code, TWIN_CODE);
	code_at(TWIN_LO + 1, 6, code);
	assert_string_not_equal(code, TWIN_CODE);

	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, TWIN_CODE, 6, -1, &matched), OTP_OK);
	assert_int_equal(matched, TWIN_HI);
	/* The lower step was used: the higher one is still accepted. */
	matched = 0;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, TWIN_CODE, 6, TWIN_LO, &matched),
			 OTP_OK);
	assert_int_equal(matched, TWIN_HI);
	matched = 0;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, TWIN_CODE, 6, TWIN_LO + 1, &matched),
			 OTP_OK);
	assert_int_equal(matched, TWIN_HI);
	/* Both steps used: replayed, and nothing is accepted. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, t, TWIN_CODE, 6, TWIN_HI, &matched),
			 OTP_E_REPLAYED);
	assert_int_equal(matched, TWIN_HI);
}

static void test_verify_malformed_codes(void **state)
{
	static const char *const bad6[] = {
	    "",	       "12345",	 "1234567", "123456789", "12345a", "a12345",
	    " 12345",  "12345 ", "+12345",  "-12345",	 "12 345", "\xd9\xa1\xd9\xa2\xd9\xa3",
	    "12\n456", "abcdef"};
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	const struct otp_totp_params p8 = {OTP_ALG_SHA1, 8, 30, 1};
	char code[OTP_DIGITS_MAX + 1];
	uint64_t matched = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++)
		assert_int_equal(
		    otp_totp_verify(seed20, 20, &p, 59, bad6[i], strlen(bad6[i]), -1, &matched),
		    OTP_E_INVALID);
	/* The right digits with an embedded NUL, and a length that does not match. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59,
					 "287\0"
					 "82",
					 6, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, "2870829", 6, -1, &matched), OTP_OK);
	assert_int_equal(matched, 1);
	matched = 99;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, "287082", 5, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, NULL, 6, -1, &matched), OTP_E_INVALID);
	/* A 6-digit code where 8 are expected, and the reverse. */
	assert_int_equal(otp_totp_verify(seed20, 20, &p8, 59, "287082", 6, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, "94287082", 8, -1, &matched),
			 OTP_E_INVALID);
	assert_int_equal(matched, 99);
	assert_int_equal(otp_totp_verify(seed20, 20, &p8, 59, "94287082", 8, -1, &matched), OTP_OK);
	assert_int_equal(matched, 1);
	/* Well formed but wrong. */
	code_at(1, 6, code);
	code[5] = (char)(code[5] == '9' ? '0' : code[5] + 1);
	matched = 99;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, code, 6, -1, &matched),
			 OTP_E_MISMATCH);
	assert_int_equal(matched, 99);
}

/* 64-bit times, the start of time, and the int64_t ceiling on steps. */
static void test_verify_time_edges(void **state)
{
	const struct otp_totp_params p512 = {OTP_ALG_SHA512, 8, 30, 1};
	const struct otp_totp_params p1 = {OTP_ALG_SHA1, 6, 1, 1};
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char code[OTP_DIGITS_MAX + 1], at_max[OTP_DIGITS_MAX + 1];
	char below_max[OTP_DIGITS_MAX + 1];
	uint64_t matched = 0;

	(void)state;
	assert_int_equal(
	    otp_totp_verify(seed64, 64, &p512, 20000000000u, "47863826", 8, -1, &matched), OTP_OK);
	assert_int_equal(matched, 0x27BC86AAu);

	code_at(0, 6, code);
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 0, code, 6, -1, &matched), OTP_OK);
	assert_int_equal(matched, 0);

	/* Step INT64_MAX is the last one ever accepted; the window is cut there. */
	code_at((uint64_t)INT64_MAX, 6, code);
	assert_int_equal(
	    otp_totp_verify(seed20, 20, &p1, (uint64_t)INT64_MAX, code, 6, -1, &matched), OTP_OK);
	assert_true(matched == (uint64_t)INT64_MAX);
	code_at((uint64_t)INT64_MAX + 1, 6, code);
	code_at((uint64_t)INT64_MAX, 6, at_max);
	code_at((uint64_t)INT64_MAX - 1, 6, below_max);
	assert_string_not_equal(code, at_max);
	assert_string_not_equal(code, below_max);
	assert_int_equal(
	    otp_totp_verify(seed20, 20, &p1, (uint64_t)INT64_MAX, code, 6, -1, &matched),
	    OTP_E_MISMATCH);
	/* Near the end of uint64_t time nothing overflows, and nothing is accepted. */
	code_at(UINT64_MAX, 6, code);
	assert_int_equal(otp_totp_verify(seed20, 20, &p1, UINT64_MAX, code, 6, -1, &matched),
			 OTP_E_MISMATCH);
	assert_int_equal(otp_totp(seed20, 20, &p1, UINT64_MAX, code), OTP_OK);
}

/* liboath's TOTP, all three hashes, several periods and key lengths. */
static void test_agrees_with_liboath(void **state)
{
	static const unsigned periods[] = {1, 30, 60, 300};
	static const int flags[] = {[OTP_ALG_SHA1] = 0,
				    [OTP_ALG_SHA256] = OATH_TOTP_HMAC_SHA256,
				    [OTP_ALG_SHA512] = OATH_TOTP_HMAC_SHA512};
	uint8_t key[OTP_KEY_MAX];
	char out[OTP_DIGITS_MAX + 1], want[OTP_DIGITS_MAX + 1];

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t len = 1 + (size_t)(prng() % OTP_KEY_MAX);
		struct otp_totp_params p;
		/* liboath takes a time_t: stay within int64_t. */
		uint64_t now = prng() % 40000000000u;

		for (size_t i = 0; i < len; i++)
			key[i] = (uint8_t)prng();
		p.alg = (enum otp_alg)(prng() % 3);
		p.digits = 6 + (unsigned)(prng() % 3);
		p.period = periods[prng() % 4];
		p.window = 1;
		assert_int_equal(otp_totp(key, len, &p, now, out), OTP_OK);
		assert_int_equal(oath_totp_generate2((const char *)key, len, (time_t)now, p.period,
						     0, p.digits, flags[p.alg], want),
				 OATH_OK);
		assert_string_equal(out, want);
	}
}

/* The oathtool program, where installed, agrees on every Appendix B row. */
static void test_agrees_with_oathtool(void **state)
{
	static const char *const hex20 = "3132333435363738393031323334353637383930";
	char cmd[512], line[64], out[OTP_DIGITS_MAX + 1], hex[2 * OTP_KEY_MAX + 1];

	(void)state;
	if (!have_program("oathtool"))
		skip();
	for (size_t i = 0; i < N_RFC6238; i++) {
		struct otp_totp_params p = {rfc6238[i].alg, 8, 30, 1};
		size_t len;
		const uint8_t *seed = seed_for(rfc6238[i].alg, &len);
		FILE *pipe;

		for (size_t k = 0; k < len; k++)
			assert_int_equal(snprintf(hex + 2 * k, 3, "%02x", seed[k]), 2);
		FMT(cmd, "oathtool --totp=%s -d 8 -N @%llu %s", otp_alg_name(rfc6238[i].alg),
		    (unsigned long long)rfc6238[i].time, hex);
		/* NOLINTNEXTLINE(cert-env33-c): running the reference tool is the point */
		pipe = popen(cmd, "r");
		assert_non_null(pipe);
		assert_non_null(fgets(line, sizeof(line), pipe));
		assert_int_equal(pclose(pipe), 0);
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(otp_totp(seed, len, &p, rfc6238[i].time, out), OTP_OK);
		assert_string_equal(out, line);
		assert_string_equal(line, rfc6238[i].totp8);
	}
	/* A 60-second period, 7 digits. */
	{
		struct otp_totp_params p = {OTP_ALG_SHA1, 7, 60, 1};
		FILE *pipe;

		FMT(cmd, "oathtool --totp -s 60s -d 7 -N @1234567890 %s", hex20);
		/* NOLINTNEXTLINE(cert-env33-c): running the reference tool is the point */
		pipe = popen(cmd, "r");
		assert_non_null(pipe);
		assert_non_null(fgets(line, sizeof(line), pipe));
		assert_int_equal(pclose(pipe), 0);
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(otp_totp(seed20, 20, &p, 1234567890, out), OTP_OK);
		assert_string_equal(out, line);
	}
}

static void test_openssl_failure_is_internal(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char out[OTP_DIGITS_MAX + 1];
	uint64_t matched = 5;

	(void)state;
	fail_mac_fetch = 1;
	memset(out, 'x', sizeof(out));
	assert_int_equal(otp_totp(seed20, 20, &p, 59, out), OTP_E_INTERNAL);
	assert_string_equal(out, "");
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, "287082", 6, -1, &matched),
			 OTP_E_INTERNAL);
	assert_int_equal(matched, 5);
	fail_mac_fetch = 0;
	assert_int_equal(otp_totp_verify(seed20, 20, &p, 59, "287082", 6, -1, &matched), OTP_OK);
	assert_int_equal(matched, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_eight_digits),
	    cmocka_unit_test(test_rfc6238_six_digits),
	    cmocka_unit_test(test_wrong_seed_symptom),
	    cmocka_unit_test(test_step),
	    cmocka_unit_test(test_params_checked),
	    cmocka_unit_test(test_verify_window),
	    cmocka_unit_test(test_verify_replay),
	    cmocka_unit_test(test_verify_code_matching_two_steps),
	    cmocka_unit_test(test_verify_malformed_codes),
	    cmocka_unit_test(test_verify_time_edges),
	    cmocka_unit_test(test_agrees_with_liboath),
	    cmocka_unit_test(test_agrees_with_oathtool),
	    cmocka_unit_test(test_openssl_failure_is_internal),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
