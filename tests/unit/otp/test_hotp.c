/*
 * Unit tests for otp/hotp.c: RFC 4226 Appendix D as data, 7- and 8-digit
 * truncation, agreement with liboath and with the oathtool program, argument
 * checks, the error strings and algorithm names. EVP_MAC_fetch is wrapped at
 * link time (-Wl,--wrap) so a test can make OpenSSL fail and reach
 * OTP_E_INTERNAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
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

static const uint8_t rfc_key[] = "12345678901234567890";
#define RFC_KEY_LEN 20

/* RFC 4226 Appendix D: count, truncated decimal, HOTP (6 digits). */
static const struct {
	uint64_t count;
	uint32_t truncated;
	const char *hotp;
} rfc4226[] = {
    {0, 1284755224, "755224"}, {1, 1094287082, "287082"}, {2, 137359152, "359152"},
    {3, 1726969429, "969429"}, {4, 1640338314, "338314"}, {5, 868254676, "254676"},
    {6, 1918287922, "287922"}, {7, 82162583, "162583"},	  {8, 673399871, "399871"},
    {9, 645520489, "520489"},
};
#define N_RFC4226 (sizeof(rfc4226) / sizeof(rfc4226[0]))

static uint64_t prng_state = 0x0123456789abcdefu;

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

static void test_rfc4226_vectors(void **state)
{
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	for (size_t i = 0; i < N_RFC4226; i++) {
		assert_int_equal(
		    otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, rfc4226[i].count, 6, out), OTP_OK);
		assert_string_equal(out, rfc4226[i].hotp);
	}
}

static void test_seven_and_eight_digits(void **state)
{
	char out[OTP_DIGITS_MAX + 1], want[16];

	(void)state;
	for (size_t i = 0; i < N_RFC4226; i++) {
		assert_int_equal(
		    otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, rfc4226[i].count, 7, out), OTP_OK);
		FMT(want, "%07u", (unsigned)(rfc4226[i].truncated % 10000000u));
		assert_string_equal(out, want);
		assert_int_equal(
		    otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, rfc4226[i].count, 8, out), OTP_OK);
		FMT(want, "%08u", (unsigned)(rfc4226[i].truncated % 100000000u));
		assert_string_equal(out, want);
	}
}

/* liboath is an independent implementation: every key length, wide counters. */
static void test_agrees_with_liboath(void **state)
{
	static const uint64_t counters[] = {
	    0, 1, 255, 256, 0xffffffffu, 0x100000000u, (uint64_t)INT64_MAX, UINT64_MAX};
	uint8_t key[OTP_KEY_MAX];
	char out[OTP_DIGITS_MAX + 1], want[OTP_DIGITS_MAX + 1];

	(void)state;
	for (size_t len = 1; len <= OTP_KEY_MAX; len++) {
		for (size_t i = 0; i < len; i++)
			key[i] = (uint8_t)prng();
		/* The fixed counters, then one drawn at random. */
		for (size_t c = 0; c <= sizeof(counters) / sizeof(counters[0]); c++) {
			uint64_t counter =
			    c < sizeof(counters) / sizeof(counters[0]) ? counters[c] : prng();

			for (unsigned digits = 6; digits <= 8; digits++) {

				assert_int_equal(
				    otp_hotp(key, len, OTP_ALG_SHA1, counter, digits, out), OTP_OK);
				assert_int_equal(
				    oath_hotp_generate((const char *)key, len, counter, digits,
						       false, OATH_HOTP_DYNAMIC_TRUNCATION, want),
				    OATH_OK);
				assert_string_equal(out, want);
			}
		}
	}
}

/* The oathtool program, where installed, agrees on the RFC vectors. */
static void test_agrees_with_oathtool(void **state)
{
	char cmd[256], line[64], out[OTP_DIGITS_MAX + 1];

	(void)state;
	if (!have_program("oathtool"))
		skip();
	for (size_t i = 0; i < N_RFC4226; i++) {
		FILE *p;

		FMT(cmd, "oathtool --hotp -d 8 -c %llu 3132333435363738393031323334353637383930",
		    (unsigned long long)rfc4226[i].count);
		/* NOLINTNEXTLINE(cert-env33-c): running the reference tool is the point */
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(line, sizeof(line), p));
		assert_int_equal(pclose(p), 0);
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(
		    otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, rfc4226[i].count, 8, out), OTP_OK);
		assert_string_equal(out, line);
	}
}

static void test_key_length_bounds(void **state)
{
	uint8_t key[OTP_KEY_MAX + 1] = {0};
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	assert_int_equal(otp_hotp(key, 1, OTP_ALG_SHA1, 0, 6, out), OTP_OK);
	assert_int_equal(otp_hotp(key, OTP_KEY_MAX, OTP_ALG_SHA512, 0, 6, out), OTP_OK);
	assert_int_equal(otp_hotp(key, 0, OTP_ALG_SHA1, 0, 6, out), OTP_E_INVALID);
	assert_int_equal(otp_hotp(key, OTP_KEY_MAX + 1, OTP_ALG_SHA1, 0, 6, out), OTP_E_INVALID);
	assert_int_equal(otp_hotp(NULL, 20, OTP_ALG_SHA1, 0, 6, out), OTP_E_INVALID);
}

static void test_invalid_arguments_clear_output(void **state)
{
	static const unsigned bad_digits[] = {0, 5, 9, 10, UINT_MAX};
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_digits) / sizeof(bad_digits[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(
		    otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, 0, bad_digits[i], out),
		    OTP_E_INVALID);
		assert_string_equal(out, "");
	}
	memset(out, 'x', sizeof(out));
	assert_int_equal(otp_hotp(rfc_key, RFC_KEY_LEN, (enum otp_alg)3, 0, 6, out), OTP_E_INVALID);
	assert_string_equal(out, "");
	assert_int_equal(otp_hotp(rfc_key, RFC_KEY_LEN, (enum otp_alg) - 1, 0, 6, out),
			 OTP_E_INVALID);
	assert_int_equal(otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, 0, 6, NULL), OTP_E_INVALID);
}

static void test_openssl_failure_is_internal(void **state)
{
	char out[OTP_DIGITS_MAX + 1];

	(void)state;
	fail_mac_fetch = 1;
	memset(out, 'x', sizeof(out));
	assert_int_equal(otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, 0, 6, out), OTP_E_INTERNAL);
	assert_string_equal(out, "");
	assert_int_equal(otp_global_init(), OTP_E_INTERNAL);
	fail_mac_fetch = 0;
	assert_int_equal(otp_global_init(), OTP_OK);
	assert_int_equal(otp_hotp(rfc_key, RFC_KEY_LEN, OTP_ALG_SHA1, 0, 6, out), OTP_OK);
	assert_string_equal(out, "755224");
}

static void test_strerror_every_code(void **state)
{
	static const int codes[] = {OTP_OK,	 OTP_E_INVALID,	 OTP_E_MISMATCH, OTP_E_REPLAYED,
				    OTP_E_NOMEM, OTP_E_INTERNAL, OTP_E_BASE32,	 OTP_E_SPACE};
	const size_t n = sizeof(codes) / sizeof(codes[0]);
	const char *unknown = otp_strerror(-1000);

	(void)state;
	assert_non_null(unknown);
	for (size_t i = 0; i < n; i++) {
		const char *s = otp_strerror(codes[i]);
		size_t len;

		assert_non_null(s);
		len = strlen(s);
		assert_true(len > 0);
		/* House style: lower case, no trailing period. */
		for (size_t k = 0; k < len; k++)
			assert_false(isupper((unsigned char)s[k]));
		assert_true(s[len - 1] != '.');
		assert_string_not_equal(s, unknown);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(s, otp_strerror(codes[j]));
	}
	assert_string_equal(otp_strerror(1), unknown);
	assert_string_equal(otp_strerror(-8), unknown);
	assert_string_equal(otp_strerror(INT_MIN), unknown);
}

static void test_alg_names(void **state)
{
	(void)state;
	assert_string_equal(otp_alg_name(OTP_ALG_SHA1), "SHA1");
	assert_string_equal(otp_alg_name(OTP_ALG_SHA256), "SHA256");
	assert_string_equal(otp_alg_name(OTP_ALG_SHA512), "SHA512");
	assert_null(otp_alg_name((enum otp_alg)3));
	assert_null(otp_alg_name((enum otp_alg) - 1));
}

static void test_global_init_twice(void **state)
{
	(void)state;
	assert_int_equal(otp_global_init(), OTP_OK);
	assert_int_equal(otp_global_init(), OTP_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4226_vectors),
	    cmocka_unit_test(test_seven_and_eight_digits),
	    cmocka_unit_test(test_agrees_with_liboath),
	    cmocka_unit_test(test_agrees_with_oathtool),
	    cmocka_unit_test(test_key_length_bounds),
	    cmocka_unit_test(test_invalid_arguments_clear_output),
	    cmocka_unit_test(test_openssl_failure_is_internal),
	    cmocka_unit_test(test_strerror_every_code),
	    cmocka_unit_test(test_alg_names),
	    cmocka_unit_test(test_global_init_twice),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
