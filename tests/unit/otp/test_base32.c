/*
 * Unit tests for otp/base32.c: the RFC 4648 section 10 vectors both ways,
 * case and optional padding on input, round trips of every length up to
 * OTP_KEY_MAX and of every byte value, characters outside the alphabet
 * (including bytes whose case-fold lands on a valid character), wrong
 * padding, impossible lengths, non-zero unused bits and buffers too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "otp.h"

/* RFC 4648 section 10; the padded form is what the RFC prints. */
static const struct {
	const char *plain;
	const char *encoded;
	const char *padded;
} rfc4648[] = {
    {"", "", ""},
    {"f", "MY", "MY======"},
    {"fo", "MZXQ", "MZXQ===="},
    {"foo", "MZXW6", "MZXW6==="},
    {"foob", "MZXW6YQ", "MZXW6YQ="},
    {"fooba", "MZXW6YTB", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
};
#define N_RFC4648 (sizeof(rfc4648) / sizeof(rfc4648[0]))

static uint64_t prng_state = 0x5eed5eed5eed5eedu;

/* splitmix64: reproducible test data, not randomness. */
static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static int decode_str(const char *s, uint8_t *out, size_t out_size, size_t *out_len)
{
	return otp_base32_decode(s, strlen(s), out, out_size, out_len);
}

static void test_rfc4648_encode(void **state)
{
	char out[32];

	(void)state;
	for (size_t i = 0; i < N_RFC4648; i++) {
		const char *plain = rfc4648[i].plain;

		assert_int_equal(
		    otp_base32_encode((const uint8_t *)plain, strlen(plain), out, sizeof(out)),
		    OTP_OK);
		assert_string_equal(out, rfc4648[i].encoded);
	}
}

static void test_rfc4648_decode(void **state)
{
	uint8_t out[32];
	size_t len;

	(void)state;
	for (size_t i = 0; i < N_RFC4648; i++) {
		const char *forms[3] = {rfc4648[i].encoded, rfc4648[i].padded, NULL};
		char lower[32];

		for (size_t k = 0; k <= strlen(rfc4648[i].padded); k++) {
			char c = rfc4648[i].padded[k];

			lower[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		forms[2] = lower;
		for (size_t f = 0; f < 3; f++) {
			len = 99;
			assert_int_equal(decode_str(forms[f], out, sizeof(out), &len), OTP_OK);
			assert_int_equal(len, strlen(rfc4648[i].plain));
			assert_memory_equal(out, rfc4648[i].plain, len);
		}
	}
	/* Mixed case. */
	assert_int_equal(decode_str("mZxW6yTbOi", out, sizeof(out), &len), OTP_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "foobar", 6);
}

static void test_encoded_len(void **state)
{
	static const size_t want[] = {0, 2, 4, 5, 7, 8, 10, 12, 13, 15, 16};

	(void)state;
	for (size_t len = 0; len < sizeof(want) / sizeof(want[0]); len++)
		assert_int_equal(otp_base32_encoded_len(len), want[len]);
	assert_int_equal(otp_base32_encoded_len(20), 32);
	assert_int_equal(otp_base32_encoded_len(OTP_KEY_MAX), 103);
	/* Saturates instead of wrapping. */
	assert_true(otp_base32_encoded_len(SIZE_MAX) == SIZE_MAX);
	assert_true(otp_base32_encoded_len(SIZE_MAX / 8 * 5) == SIZE_MAX);
}

static void test_round_trips(void **state)
{
	uint8_t in[256], back[256];
	char text[512];
	size_t len;

	(void)state;
	for (size_t n = 0; n <= OTP_KEY_MAX; n++) {
		for (int round = 0; round < 8; round++) {
			for (size_t i = 0; i < n; i++)
				in[i] = (uint8_t)prng();
			assert_int_equal(otp_base32_encode(in, n, text, sizeof(text)), OTP_OK);
			assert_int_equal(strlen(text), otp_base32_encoded_len(n));
			assert_int_equal(decode_str(text, back, n, &len), OTP_OK);
			assert_int_equal(len, n);
			assert_memory_equal(back, in, n);
		}
	}
	/* Every byte value, so every character of the alphabet is produced. */
	for (size_t i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(otp_base32_encode(in, 256, text, sizeof(text)), OTP_OK);
	for (const char *c = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; *c != '\0'; c++)
		assert_non_null(strchr(text, *c));
	assert_int_equal(decode_str(text, back, sizeof(back), &len), OTP_OK);
	assert_int_equal(len, 256);
	assert_memory_equal(back, in, 256);
}

/* Each byte outside the alphabet, at the start and at the end of a valid string. */
static void test_invalid_characters(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz234567";
	uint8_t out[16];
	size_t len;

	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		char s[9] = "MZXW6YTB";

		if (c != 0 && strchr(alphabet, (int)c) != NULL)
			continue;
		s[0] = (char)c;
		len = 99;
		assert_int_equal(otp_base32_decode(s, 8, out, sizeof(out), &len), OTP_E_BASE32);
		assert_int_equal(len, 0);
		memcpy(s, "MZXW6YTB", sizeof(s));
		s[7] = (char)c;
		if (c == '=')
			continue; /* "MZXW6YT=" is valid padding */
		assert_int_equal(otp_base32_decode(s, 8, out, sizeof(out), &len), OTP_E_BASE32);
	}
	/* Spaces and separators people paste are refused, not skipped. */
	assert_int_equal(decode_str("MZXW 6YTB", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str("MZXW-6YTB", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str("MZXW6YTB\n", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str(" MZXW6YTB", out, sizeof(out), &len), OTP_E_BASE32);
	/* Digits outside 2..7, and bytes that fold into 2..7 or a..z under | 0x20. */
	assert_int_equal(decode_str("MZXW6YT1", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str("MZXW6YT8", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str("MZXW6YT\x12", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(decode_str("MZXW6YT\xc1", out, sizeof(out), &len), OTP_E_BASE32);
	assert_int_equal(otp_base32_decode("MZXW6YT\0", 8, out, sizeof(out), &len), OTP_E_BASE32);
}

static void test_bad_padding_and_lengths(void **state)
{
	static const char *const bad[] = {
	    "M",
	    "MZX",
	    "MZXW6Y",
	    "MZXW6YTBO", /* 1, 3, 6, 9 characters */
	    "M=======",
	    "MZX=====",
	    "MZXW6Y==", /* padded impossible lengths */
	    "MY=",
	    "MY=====",
	    "MY=======", /* too little or too much padding */
	    "MZXQ===",
	    "MZXQ=====",
	    "MZXW6YQ==",
	    "MZXW6YTB========",
	    "========",
	    "=",
	    "MZXW6=YQ",
	    "MZ=XW6YQ", /* padding in the middle */
	    "MZXW6YQ=MZXW",
	    "MZ",
	    "MZXR",
	    "MZXW7", /* unused bits not zero */
	    "MZXW6YR",
	    "MZXW6YTBOJ",
	};
	uint8_t out[16];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 99;
		assert_int_equal(decode_str(bad[i], out, sizeof(out), &len), OTP_E_BASE32);
		assert_int_equal(len, 0);
	}
}

static void test_output_space(void **state)
{
	const uint8_t in[] = "foobar";
	char text[16];
	uint8_t out[8];
	size_t len = 99;

	(void)state;
	/* "MZXW6YTBOI" needs 11 bytes with its NUL. */
	memset(text, 'x', sizeof(text));
	assert_int_equal(otp_base32_encode(in, 6, text, 10), OTP_E_SPACE);
	assert_string_equal(text, "");
	assert_int_equal(otp_base32_encode(in, 6, text, 11), OTP_OK);
	assert_string_equal(text, "MZXW6YTBOI");
	assert_int_equal(otp_base32_encode(in, 6, NULL, 0), OTP_E_SPACE);
	assert_int_equal(otp_base32_encode(in, 0, text, 0), OTP_E_SPACE);
	assert_int_equal(otp_base32_encode(in, 0, text, 1), OTP_OK);
	assert_string_equal(text, "");

	/* Decoding never writes past out_size, nor anything at all on failure. */
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(decode_str("MZXW6YTBOI", out, 5, &len), OTP_E_SPACE);
	assert_int_equal(len, 0);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xa5);
	assert_int_equal(decode_str("MZXW6YTBOI", out, 6, &len), OTP_OK);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(out[6], 0xa5);
	assert_int_equal(decode_str("MZXW6YTBOI", NULL, 0, &len), OTP_E_SPACE);
	assert_int_equal(decode_str("", NULL, 0, &len), OTP_OK);
	assert_int_equal(len, 0);
}

static void test_null_arguments(void **state)
{
	char text[8];
	uint8_t out[8];
	size_t len = 99;

	(void)state;
	assert_int_equal(otp_base32_encode(NULL, 0, text, sizeof(text)), OTP_OK);
	assert_string_equal(text, "");
	assert_int_equal(otp_base32_encode(NULL, 1, text, sizeof(text)), OTP_E_INVALID);
	assert_int_equal(otp_base32_decode(NULL, 0, out, sizeof(out), &len), OTP_OK);
	assert_int_equal(len, 0);
	assert_int_equal(otp_base32_decode(NULL, 2, out, sizeof(out), &len), OTP_E_INVALID);
	assert_int_equal(otp_base32_decode("MY", 2, out, sizeof(out), NULL), OTP_E_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_encode),
	    cmocka_unit_test(test_rfc4648_decode),
	    cmocka_unit_test(test_encoded_len),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_invalid_characters),
	    cmocka_unit_test(test_bad_padding_and_lengths),
	    cmocka_unit_test(test_output_space),
	    cmocka_unit_test(test_null_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
