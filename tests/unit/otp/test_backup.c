/*
 * Unit tests for otp/backup.c: the display format against hand-computed
 * Crockford vectors, normalizing what people type (dashes, spaces, upper
 * case, i/l/o look-alikes; too short, too long, characters outside the
 * alphabet), format-then-normalize round trips, and the stored hash against
 * an HMAC-SHA-256 vector computed with Python's hmac module, plus its
 * sensitivity to key, salt and code. EVP_MAC_fetch is wrapped at link time to
 * reach OTP_E_INTERNAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/evp.h>

#include "otp.h"

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

/* Ten bytes and the code they show as; the first two spell the whole alphabet. */
static const struct {
	uint8_t random[OTP_BACKUP_RANDOM_LEN];
	const char *text;
} formats[] = {
    {{0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf}, "0123-4567-89ab-cdef"},
    {{0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf}, "ghjk-mnpq-rstv-wxyz"},
    {{0x3c, 0xc5, 0x44, 0xde, 0xdd, 0xc1, 0x1b, 0xf0, 0x71, 0xea}, "7k2m-9qpx-r4dz-0wfa"},
    {{0}, "0000-0000-0000-0000"},
    {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "zzzz-zzzz-zzzz-zzzz"},
};

/* HMAC-SHA-256(key = 00..1f, 40..4f || "7k2m9qpxr4dz0wfa"), by Python's hmac. */
static const uint8_t hash_vector[OTP_BACKUP_HASH_LEN] = {
    0xab, 0x0a, 0x68, 0x2c, 0x94, 0x3e, 0xa0, 0xbc, 0x7d, 0xec, 0xa3, 0x8f, 0x55, 0xb9, 0x1e, 0xe0,
    0x71, 0x72, 0x1d, 0xc7, 0xec, 0x2e, 0x78, 0x46, 0x7f, 0x42, 0xcf, 0x78, 0xb9, 0x20, 0xf2, 0x5e,
};

static uint64_t prng_state = 0xbac0bac0bac0bac0u;

/* splitmix64: reproducible test data, not randomness. */
static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static int normalize_str(const char *s, char out[OTP_BACKUP_CHARS + 1])
{
	return otp_backup_normalize(s, strlen(s), out);
}

static void test_format_vectors(void **state)
{
	char out[OTP_BACKUP_TEXT_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(out, 'x', sizeof(out));
		otp_backup_format(formats[i].random, out);
		assert_int_equal(strlen(out), OTP_BACKUP_TEXT_LEN);
		assert_string_equal(out, formats[i].text);
	}
	memset(out, 'x', sizeof(out));
	otp_backup_format(NULL, out);
	assert_string_equal(out, "");
	otp_backup_format(formats[0].random, NULL);
}

static void test_normalize_accepts(void **state)
{
	static const char *const typed[] = {
	    "7k2m-9qpx-r4dz-0wfa",
	    "7k2m9qpxr4dz0wfa",
	    "7K2M-9QPX-R4DZ-0WFA",
	    "7k2m 9qpx r4dz 0wfa",
	    " 7k2m - 9qpx - r4dz - 0wfa ",
	    "7k2m-9qpx-r4dz-Owfa",
	    "7k2m-9qpx-r4dz-owfa",
	    "--7k2m9qpxr4dz0wfa--",
	    "7 k 2 m 9 q p x r 4 d z 0 w f a",
	};
	char out[OTP_BACKUP_CHARS + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_int_equal(normalize_str(typed[i], out), OTP_OK);
		assert_string_equal(out, "7k2m9qpxr4dz0wfa");
	}
	/* i and l read as 1, o as 0, in either case. */
	assert_int_equal(normalize_str("iIlL-oO11-0000-abcd", out), OTP_OK);
	assert_string_equal(out, "111100110000abcd");
	/* Exactly the 64-byte limit, padded with dashes. */
	{
		char in[65];

		memset(in, '-', 64);
		memcpy(in + 20, "0123456789abcdef", 16);
		in[64] = '\0';
		assert_int_equal(otp_backup_normalize(in, 64, out), OTP_OK);
		assert_string_equal(out, "0123456789abcdef");
	}
}

static void test_normalize_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "----",
	    "7k2m-9qpx-r4dz-0wf",   /* 15 characters */
	    "7k2m-9qpx-r4dz-0wfa0", /* 17 */
	    "7k2m-9qpx-r4dz-0wfa-7k2m",
	    "7k2m-9qpx-r4dz-0wfu", /* u is not in the alphabet */
	    "7k2m-9qpx-r4dz-0wfU",
	    "7k2m_9qpx_r4dz_0wfa",
	    "7k2m.9qpx.r4dz.0wfa",
	    "7k2m-9qpx-r4dz-0wf!",
	    "7k2m\t9qpx-r4dz-0wfa",
	    "7k2m\n9qpx-r4dz-0wfa",
	    "7k2m-9qpx-r4dz-0wf\xc3\xa1",
	    "7k2m-9qpx-r4dz-0wf\x80",
	};
	char out[OTP_BACKUP_CHARS + 1] = "untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(normalize_str(bad[i], out), OTP_E_INVALID);
		assert_string_equal(out, "untouched");
	}
	/* An embedded NUL is a character, not an end. */
	assert_int_equal(otp_backup_normalize("7k2m-9qpx-r4dz-0wf\0a", 20, out), OTP_E_INVALID);
	/* Longer than 64 bytes, even if it would normalize to 16 characters. */
	{
		char in[66];

		memset(in, '-', 65);
		memcpy(in + 20, "0123456789abcdef", 16);
		in[65] = '\0';
		assert_int_equal(otp_backup_normalize(in, 65, out), OTP_E_INVALID);
	}
	assert_int_equal(otp_backup_normalize(NULL, 0, out), OTP_E_INVALID);
	assert_int_equal(otp_backup_normalize("7k2m9qpxr4dz0wfa", 16, NULL), OTP_E_INVALID);
	assert_string_equal(out, "untouched");
}

static void test_format_then_normalize(void **state)
{
	uint8_t random[OTP_BACKUP_RANDOM_LEN];
	char text[OTP_BACKUP_TEXT_LEN + 1], norm[OTP_BACKUP_CHARS + 1];
	char upper[OTP_BACKUP_TEXT_LEN + 1];

	(void)state;
	for (int round = 0; round < 1000; round++) {
		for (size_t i = 0; i < sizeof(random); i++)
			random[i] = (uint8_t)prng();
		otp_backup_format(random, text);
		assert_int_equal(strlen(text), OTP_BACKUP_TEXT_LEN);
		assert_true(text[4] == '-' && text[9] == '-' && text[14] == '-');
		assert_int_equal(normalize_str(text, norm), OTP_OK);
		for (size_t i = 0, k = 0; i < OTP_BACKUP_TEXT_LEN; i++)
			if (text[i] != '-')
				assert_int_equal(norm[k++], text[i]);
		for (size_t i = 0; i <= OTP_BACKUP_TEXT_LEN; i++)
			upper[i] =
			    (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i]);
		assert_int_equal(normalize_str(upper, text), OTP_OK);
		assert_string_equal(text, norm);
	}
}

static void test_hash(void **state)
{
	uint8_t key[32], salt[OTP_BACKUP_SALT_LEN], out[OTP_BACKUP_HASH_LEN];
	uint8_t again[OTP_BACKUP_HASH_LEN];
	char code[OTP_BACKUP_CHARS + 1] = "7k2m9qpxr4dz0wfa";

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0x40 + i);
	assert_int_equal(otp_backup_hash(key, salt, code, out), OTP_OK);
	assert_memory_equal(out, hash_vector, sizeof(out));
	/* Deterministic. */
	assert_int_equal(otp_backup_hash(key, salt, code, again), OTP_OK);
	assert_memory_equal(again, out, sizeof(out));
	/* One bit of salt, key or code changes the hash. */
	salt[15] ^= 1;
	assert_int_equal(otp_backup_hash(key, salt, code, again), OTP_OK);
	assert_memory_not_equal(again, out, sizeof(out));
	salt[15] ^= 1;
	key[0] ^= 0x80;
	assert_int_equal(otp_backup_hash(key, salt, code, again), OTP_OK);
	assert_memory_not_equal(again, out, sizeof(out));
	key[0] ^= 0x80;
	code[15] = 'b';
	assert_int_equal(otp_backup_hash(key, salt, code, again), OTP_OK);
	assert_memory_not_equal(again, out, sizeof(out));
	/* Only the 16 characters count: what follows them is not read. */
	code[15] = 'a';
	code[16] = 'X';
	assert_int_equal(otp_backup_hash(key, salt, code, again), OTP_OK);
	assert_memory_equal(again, out, sizeof(out));
}

static void test_hash_failures(void **state)
{
	const uint8_t key[32] = {0}, salt[OTP_BACKUP_SALT_LEN] = {0};
	uint8_t out[OTP_BACKUP_HASH_LEN], zero[OTP_BACKUP_HASH_LEN] = {0};

	(void)state;
	fail_mac_fetch = 1;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(otp_backup_hash(key, salt, "0000000000000000", out), OTP_E_INTERNAL);
	assert_memory_equal(out, zero, sizeof(out));
	fail_mac_fetch = 0;
	assert_int_equal(otp_backup_hash(NULL, salt, "0000000000000000", out), OTP_E_INVALID);
	assert_int_equal(otp_backup_hash(key, NULL, "0000000000000000", out), OTP_E_INVALID);
	assert_int_equal(otp_backup_hash(key, salt, NULL, out), OTP_E_INVALID);
	assert_int_equal(otp_backup_hash(key, salt, "0000000000000000", NULL), OTP_E_INVALID);
	assert_int_equal(otp_backup_hash(key, salt, "0000000000000000", out), OTP_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_vectors),
	    cmocka_unit_test(test_normalize_accepts),
	    cmocka_unit_test(test_normalize_refuses),
	    cmocka_unit_test(test_format_then_normalize),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_hash_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
