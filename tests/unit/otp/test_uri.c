/*
 * Unit tests for otp/uri.c: the exact URI built for Google's documented
 * example, percent-encoding, build-then-parse round trips over algorithms,
 * digits, periods and key lengths, the parser's defaults and tolerance
 * (parameter order, case, padding, unknown parameters), a table of URIs it
 * must refuse, and a deterministic mutation loop whose only assertion is that
 * the parser neither crashes nor writes *out on failure (ASan/UBSan catch the
 * rest). malloc is wrapped at link time so a test can reach OTP_E_NOMEM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otp.h"

/* snprintf into an array, which must not truncate. */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static int fail_malloc;

void *__wrap_malloc(size_t size)
{
	if (fail_malloc)
		return NULL;
	return __real_malloc(size);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

/* "Hello!\xde\xad\xbe\xef" is JBSWY3DPEHPK3PXP, the secret of Google's Key-Uri-Format page. */
static const uint8_t hello_key[] = {'H', 'e', 'l', 'l', 'o', '!', 0xde, 0xad, 0xbe, 0xef};

static uint64_t prng_state = 0x00c0ffee00c0ffeeu;

/* splitmix64: reproducible test data, not randomness. */
static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static int parse_str(const char *s, struct otp_uri *u)
{
	return otp_uri_parse(s, strlen(s), u);
}

static void test_build_exact(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char *uri = NULL;

	(void)state;
	assert_int_equal(
	    otp_uri_build("Example", "alice@google.com", hello_key, sizeof(hello_key), &p, &uri),
	    OTP_OK);
	assert_string_equal(uri, "otpauth://totp/Example:alice%40google.com?secret=JBSWY3DPEHPK3PXP"
				 "&issuer=Example&algorithm=SHA1&digits=6&period=30");
	free(uri);
}

static void test_percent_encoding(void **state)
{
	const struct otp_totp_params p = {OTP_ALG_SHA256, 8, 60, 1};
	char *uri = NULL;
	struct otp_uri u;

	(void)state;
	assert_int_equal(
	    otp_uri_build("a b@c:d", "a b@c:d", hello_key, sizeof(hello_key), &p, &uri), OTP_OK);
	assert_string_equal(uri,
			    "otpauth://totp/a%20b%40c%3Ad:a%20b%40c%3Ad?secret=JBSWY3DPEHPK3PXP"
			    "&issuer=a%20b%40c%3Ad&algorithm=SHA256&digits=8&period=60");
	assert_int_equal(parse_str(uri, &u), OTP_OK);
	assert_string_equal(u.issuer, "a b@c:d");
	assert_string_equal(u.account, "a b@c:d");
	free(uri);

	/* Unreserved characters stay; everything else, UTF-8 included, is escaped. */
	assert_int_equal(
	    otp_uri_build("Az09-._~", "\xc3\xa9/?#&=%+", hello_key, sizeof(hello_key), &p, &uri),
	    OTP_OK);
	assert_string_equal(uri,
			    "otpauth://totp/Az09-._~:%C3%A9%2F%3F%23%26%3D%25%2B?secret="
			    "JBSWY3DPEHPK3PXP&issuer=Az09-._~&algorithm=SHA256&digits=8&period=60");
	assert_int_equal(parse_str(uri, &u), OTP_OK);
	assert_string_equal(u.issuer, "Az09-._~");
	assert_string_equal(u.account, "\xc3\xa9/?#&=%+");
	free(uri);
}

static void test_round_trips(void **state)
{
	uint8_t key[OTP_KEY_MAX];
	char issuer[128], account[256];
	struct otp_uri u;

	(void)state;
	for (size_t len = 1; len <= OTP_KEY_MAX; len++) {
		struct otp_totp_params p;
		char *uri = NULL;
		size_t ilen = 1 + (size_t)(prng() % (sizeof(issuer) - 1));
		size_t alen = 1 + (size_t)(prng() % (sizeof(account) - 1));

		for (size_t i = 0; i < len; i++)
			key[i] = (uint8_t)prng();
		/* Any byte but controls, so the longest fields are tried too. */
		for (size_t i = 0; i < ilen; i++)
			issuer[i] = (char)(0x20 + prng() % 0x5f + (prng() % 2) * 0x80);
		issuer[ilen] = '\0';
		for (size_t i = 0; i < alen; i++)
			account[i] = (char)(0x20 + prng() % 0x5f + (prng() % 2) * 0x80);
		account[alen] = '\0';
		if (len == OTP_KEY_MAX) {
			memset(issuer, 'i', sizeof(issuer) - 1);
			issuer[sizeof(issuer) - 1] = '\0';
			memset(account, ':', sizeof(account) - 1);
			account[sizeof(account) - 1] = '\0';
		}
		p.alg = (enum otp_alg)(len % 3);
		p.digits = 6 + (unsigned)(len % 3);
		p.period = 1 + (unsigned)(prng() % 300);
		p.window = 1;
		assert_int_equal(otp_uri_build(issuer, account, key, len, &p, &uri), OTP_OK);
		memset(&u, 0, sizeof(u));
		assert_int_equal(parse_str(uri, &u), OTP_OK);
		assert_string_equal(u.issuer, issuer);
		assert_string_equal(u.account, account);
		assert_int_equal(u.key_len, len);
		assert_memory_equal(u.key, key, len);
		assert_int_equal(u.params.alg, p.alg);
		assert_int_equal(u.params.digits, p.digits);
		assert_int_equal(u.params.period, p.period);
		assert_int_equal(u.params.window, 1);
		free(uri);
	}
}

static void test_parse_defaults_and_tolerance(void **state)
{
	struct otp_uri u;

	(void)state;
	/* Only the secret: RFC 6238 defaults, no issuer. */
	assert_int_equal(parse_str("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP", &u), OTP_OK);
	assert_string_equal(u.issuer, "");
	assert_string_equal(u.account, "alice");
	assert_int_equal(u.key_len, sizeof(hello_key));
	assert_memory_equal(u.key, hello_key, sizeof(hello_key));
	assert_int_equal(u.params.alg, OTP_ALG_SHA1);
	assert_int_equal(u.params.digits, 6);
	assert_int_equal(u.params.period, 30);
	assert_int_equal(u.params.window, 1);

	/* Any order, unknown and empty parameters, case, padding, escapes. */
	assert_int_equal(
	    parse_str("OTPAUTH://TOTP/Ex:bob?period=60&image=https%3A%2F%2Fx&&digits=8"
		      "&algorithm=sha512&issuer=Ex&secret=mzxw6ytboi%3D%3D%3D%3D%3D%3D&",
		      &u),
	    OTP_OK);
	assert_string_equal(u.issuer, "Ex");
	assert_string_equal(u.account, "bob");
	assert_int_equal(u.key_len, 6);
	assert_memory_equal(u.key, "foobar", 6);
	assert_int_equal(u.params.alg, OTP_ALG_SHA512);
	assert_int_equal(u.params.digits, 8);
	assert_int_equal(u.params.period, 60);

	/* The issuer from the parameter alone, and from the label alone. */
	assert_int_equal(parse_str("otpauth://totp/bob?issuer=Ex%20Co&secret=MZXW6YTB", &u),
			 OTP_OK);
	assert_string_equal(u.issuer, "Ex Co");
	assert_string_equal(u.account, "bob");
	assert_int_equal(parse_str("otpauth://totp/Ex%20Co:bob?secret=MZXW6YTB", &u), OTP_OK);
	assert_string_equal(u.issuer, "Ex Co");
	/* Lower-case hex in escapes. */
	assert_int_equal(parse_str("otpauth://totp/Ex:b%c3%a9?secret=MZXW6YTB", &u), OTP_OK);
	assert_string_equal(u.account, "b\xc3\xa9");
	/* A raw padded secret: '=' after the first one belongs to the value. */
	assert_int_equal(parse_str("otpauth://totp/Ex:b?secret=MY======", &u), OTP_OK);
	assert_int_equal(u.key_len, 1);
	assert_int_equal(u.key[0], 'f');
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "otpauth://totp/",
	    "otpauth://totp/alice",
	    "otpauth://hotp/alice?secret=MZXW6YTB&counter=1",
	    "http://totp/alice?secret=MZXW6YTB",
	    "otpauth:/totp/alice?secret=MZXW6YTB",
	    "otpauth://totp/?secret=MZXW6YTB",
	    "otpauth://totp/Ex:?secret=MZXW6YTB",
	    "otpauth://totp/:alice?secret=MZXW6YTB",
	    "otpauth://totp/a:b:c?secret=MZXW6YTB",
	    "otpauth://totp/alice?issuer=Ex",
	    "otpauth://totp/alice?secret=",
	    "otpauth://totp/alice?secret",
	    "otpauth://totp/alice?secret=MZXW6YTB&secret=MZXW6YTB",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=6&digits=6",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=5",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=9",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=six",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=-6",
	    "otpauth://totp/alice?secret=MZXW6YTB&digits=0006",
	    "otpauth://totp/alice?secret=MZXW6YTB&period=0",
	    "otpauth://totp/alice?secret=MZXW6YTB&period=301",
	    "otpauth://totp/alice?secret=MZXW6YTB&period=99999999999999999999",
	    "otpauth://totp/alice?secret=MZXW6YTB&algorithm=MD5",
	    "otpauth://totp/alice?secret=MZXW6YTB&algorithm=SHA1xx",
	    "otpauth://totp/alice?secret=MZXW6YTB&algorithm=",
	    "otpauth://totp/alice?secret=MZXW6YTB&issuer=",
	    "otpauth://totp/Ex:alice?secret=MZXW6YTB&issuer=Other",
	    "otpauth://totp/alice?secret=MZXW6YTB&issuer=a&issuer=a",
	    "otpauth://totp/al%ice?secret=MZXW6YTB",
	    "otpauth://totp/alice%4?secret=MZXW6YTB",
	    "otpauth://totp/alice%?secret=MZXW6YTB",
	    "otpauth://totp/al%00ice?secret=MZXW6YTB",
	    "otpauth://totp/al%0Aice?secret=MZXW6YTB",
	    "otpauth://totp/al%7Fice?secret=MZXW6YTB",
	    "otpauth://totp/al ice?secret=MZXW6YTB",
	    "otpauth://totp/alice?secret=MZXW6YTB#frag",
	    "otpauth://totp/alice?secret=MZXW6YTB&issuer=%",
	    "otpauth://totp/alice?secret=MZXW6YTB&x",
	    "otpauth://totp/al\xc3\xa9?secret=MZXW6YTB",
	    "otpauth://totp/alice?secret=MZXW6YTB\t",
	};
	/* Too-long fields: 128-byte issuer, 256-byte account, 65-byte key. */
	char field[800], uri[1024];
	struct otp_uri u, before;

	(void)state;
	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = before;
		assert_int_equal(parse_str(bad[i], &u), OTP_E_INVALID);
		assert_memory_equal(&u, &before, sizeof(u));
	}
	/* 128 bytes of issuer is one too many; 127 fit. */
	memset(field, 'i', 128);
	field[128] = '\0';
	FMT(uri, "otpauth://totp/%s:alice?secret=MZXW6YTB", field);
	assert_int_equal(parse_str(uri, &u), OTP_E_INVALID);
	FMT(uri, "otpauth://totp/%s:alice?secret=MZXW6YTB", field + 1);
	assert_int_equal(parse_str(uri, &u), OTP_OK);
	assert_int_equal(strlen(u.issuer), 127);
	FMT(uri, "otpauth://totp/alice?secret=MZXW6YTB&issuer=%s", field);
	assert_int_equal(parse_str(uri, &u), OTP_E_INVALID);

	/* 256 bytes of account, even spelled as escapes, is one too many. */
	for (size_t i = 0; i < 256; i++) {
		field[3 * i] = '%';
		field[3 * i + 1] = '4';
		field[3 * i + 2] = '1';
	}
	field[(size_t)3 * 256] = '\0';
	FMT(uri, "otpauth://totp/Ex:%s?secret=MZXW6YTB", field);
	assert_int_equal(parse_str(uri, &u), OTP_E_INVALID);
	FMT(uri, "otpauth://totp/Ex:%s?secret=MZXW6YTB", field + 3);
	assert_int_equal(parse_str(uri, &u), OTP_OK);
	assert_int_equal(strlen(u.account), 255);

	/* 65 bytes of key is 104 base32 characters; 64 bytes is 103. */
	memset(field, 'A', 104);
	field[104] = '\0';
	FMT(uri, "otpauth://totp/Ex:a?secret=%s", field);
	assert_int_equal(parse_str(uri, &u), OTP_E_INVALID);
	FMT(uri, "otpauth://totp/Ex:a?secret=%s", field + 1);
	assert_int_equal(parse_str(uri, &u), OTP_OK);
	assert_int_equal(u.key_len, OTP_KEY_MAX);

	/* Bad base32 is its own error. */
	u = before;
	assert_int_equal(parse_str("otpauth://totp/a?secret=MZXW6YT1", &u), OTP_E_BASE32);
	assert_int_equal(parse_str("otpauth://totp/a?secret=MZX", &u), OTP_E_BASE32);
	assert_int_equal(parse_str("otpauth://totp/a?secret=%3D%3D%3D%3D%3D%3D%3D%3D", &u),
			 OTP_E_BASE32);
	assert_memory_equal(&u, &before, sizeof(u));

	/* Length governs, not NUL: an embedded NUL and a length past it. */
	assert_int_equal(otp_uri_parse("otpauth://totp/a?secret=MZXW6YTB\0x", 34, &u),
			 OTP_E_INVALID);
	assert_int_equal(otp_uri_parse("otpauth://totp/a?secret=MZXW6YTBxx", 32, &u), OTP_OK);
	assert_int_equal(u.key_len, 5);
	assert_int_equal(otp_uri_parse(NULL, 0, &u), OTP_E_INVALID);
	assert_int_equal(parse_str("otpauth://totp/a?secret=MZXW6YTB", NULL), OTP_E_INVALID);
}

static void test_build_refuses(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	const struct otp_totp_params bad_p = {OTP_ALG_SHA1, 5, 30, 1};
	char long_issuer[129], long_account[257];
	uint8_t key[OTP_KEY_MAX + 1] = {1};
	char *uri = (char *)1;

	(void)state;
	memset(long_issuer, 'i', 128);
	long_issuer[128] = '\0';
	memset(long_account, 'a', 256);
	long_account[256] = '\0';
	assert_int_equal(otp_uri_build(NULL, "a", key, 20, &p, &uri), OTP_E_INVALID);
	assert_null(uri);
	assert_int_equal(otp_uri_build("Ex", NULL, key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("", "a", key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "", key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build(long_issuer, "a", key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", long_account, key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex\n", "a", key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a\x7f", key, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a", NULL, 20, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a", key, 0, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a", key, OTP_KEY_MAX + 1, &p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a", key, 20, &bad_p, &uri), OTP_E_INVALID);
	assert_int_equal(otp_uri_build("Ex", "a", key, 20, NULL, &uri), OTP_E_INVALID);
	assert_null(uri);
	assert_int_equal(otp_uri_build("Ex", "a", key, 20, &p, NULL), OTP_E_INVALID);
	long_issuer[127] = '\0';
	long_account[255] = '\0';
	assert_int_equal(otp_uri_build(long_issuer, long_account, key, OTP_KEY_MAX, &p, &uri),
			 OTP_OK);
	free(uri);
}

static void test_build_out_of_memory(void **state)
{
	const struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char *uri = (char *)1;

	(void)state;
	fail_malloc = 1;
	assert_int_equal(otp_uri_build("Ex", "a", hello_key, sizeof(hello_key), &p, &uri),
			 OTP_E_NOMEM);
	fail_malloc = 0;
	assert_null(uri);
}

/* Random edits of a valid URI, and random bytes: no crash, *out untouched on failure. */
static void test_parse_mutations(void **state)
{
	static const char alphabet[] = "otpauth:/?&=%:#AZaz27\x00\x7f\x80\xff 0123456789";
	static const char valid[] = "otpauth://totp/Ex%20Co:a%40b?secret=JBSWY3DPEHPK3PXP&issuer="
				    "Ex%20Co&algorithm=SHA256&digits=8&period=60";
	char buf[256];
	struct otp_uri u, before;
	int ok = 0;

	(void)state;
	memset(&before, 0x77, sizeof(before));
	for (int round = 0; round < 20000; round++) {
		size_t len = sizeof(valid) - 1;
		int edits = 1 + (int)(prng() % 4);
		int r;

		memcpy(buf, valid, len);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = (size_t)(prng() % len);

			switch (prng() % 4) {
			case 0: /* replace */
				buf[at] = alphabet[prng() % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			case 2: /* insert */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = alphabet[prng() % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			default: /* truncate */
				len = at + 1;
				break;
			}
		}
		u = before;
		r = otp_uri_parse(buf, len, &u);
		assert_true(r == OTP_OK || r == OTP_E_INVALID || r == OTP_E_BASE32);
		if (r == OTP_OK) {
			ok++;
			assert_true(u.key_len >= 1 && u.key_len <= OTP_KEY_MAX);
			assert_true(strlen(u.account) > 0 && strlen(u.account) < sizeof(u.account));
			assert_true(strlen(u.issuer) < sizeof(u.issuer));
		} else {
			assert_memory_equal(&u, &before, sizeof(u));
		}
	}
	/* Some edits (in unknown places) leave a valid URI: the loop did parse. */
	assert_true(ok > 0);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(prng() % sizeof(buf));

		for (size_t i = 0; i < len; i++)
			buf[i] = (char)prng();
		/* Half of them behind a valid prefix, to get past the first check. */
		if (len > 15 && round % 2 == 0)
			memcpy(buf, valid, 15);
		u = before;
		if (otp_uri_parse(buf, len, &u) != OTP_OK)
			assert_memory_equal(&u, &before, sizeof(u));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_exact),
	    cmocka_unit_test(test_percent_encoding),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_parse_defaults_and_tolerance),
	    cmocka_unit_test(test_parse_refuses),
	    cmocka_unit_test(test_build_refuses),
	    cmocka_unit_test(test_build_out_of_memory),
	    cmocka_unit_test(test_parse_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
