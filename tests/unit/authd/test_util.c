/* Unit tests for authd/util.c: encodings, UTF-8 checks, email rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"

#include <string.h>

static void test_b64url(void **state)
{
	uint8_t raw[32], back[40];
	char text[64];

	(void)state;
	for (size_t len = 0; len <= 32; len++) {
		for (size_t i = 0; i < len; i++)
			raw[i] = (uint8_t)(i * 37 + len);
		size_t n = authd_b64url(raw, len, text);
		assert_int_equal(n, (len * 4 + 2) / 3);
		assert_int_equal(authd_unb64url(text, n, back, sizeof(back)), (long)len);
		assert_memory_equal(raw, back, len);
	}
	assert_int_equal(authd_unb64url("a", 1, back, sizeof(back)), -1);
	assert_int_equal(authd_unb64url("ab=c", 4, back, sizeof(back)), -1);
	assert_int_equal(authd_unb64url("ab+c", 4, back, sizeof(back)), -1);
	/* Non-zero leftover bits: a second spelling of the same bytes. */
	assert_int_equal(authd_unb64url("AB", 2, back, sizeof(back)), -1);
	assert_int_equal(authd_unb64url("AA", 2, back, sizeof(back)), 1);
	assert_int_equal(authd_unb64url("AAAA", 4, back, 2), -1);
}

static void test_hex(void **state)
{
	uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
	char text[7];

	(void)state;
	authd_hex(in, 3, text);
	assert_string_equal(text, "00abff");
	assert_int_equal(authd_unhex("00ABff", 6, out, 3), 0);
	assert_memory_equal(in, out, 3);
	assert_int_equal(authd_unhex("00abf", 5, out, 3), -1);
	assert_int_equal(authd_unhex("00abfg", 6, out, 3), -1);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(authd_utf8_printable("hello", 5));
	assert_true(authd_utf8_printable("caf\xc3\xa9 \xf0\x9f\x94\x91", 10));
	assert_false(authd_utf8_printable("a\x00z", 3));
	assert_false(authd_utf8_printable("tab\t", 4));
	assert_false(authd_utf8_printable("\x7f", 1));
	assert_false(authd_utf8_printable("\xc3", 1));		   /* truncated */
	assert_false(authd_utf8_printable("\xc0\xaf", 2));	   /* overlong */
	assert_false(authd_utf8_printable("\xed\xa0\x80", 3));	   /* surrogate */
	assert_false(authd_utf8_printable("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(authd_utf8_printable("\xff", 1));
	assert_int_equal(authd_utf8_count("caf\xc3\xa9", 5), 4);
	/* Valid UTF-8 takes control characters; the rest is refused alike. */
	assert_true(authd_utf8_valid("tab\t\x00\x7f", 6));
	assert_true(authd_utf8_valid("", 0));
	assert_true(authd_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_false(authd_utf8_valid("ok\xc3", 3));	      /* cut at the end */
	assert_false(authd_utf8_valid("\xe2\x82", 2));
	assert_false(authd_utf8_valid("\xc0\xaf", 2));
	assert_false(authd_utf8_valid("\xed\xa0\x80", 3));
	assert_false(authd_utf8_valid("\x80", 1));
	assert_false(authd_utf8_valid("\xfe", 1));
}

static void test_email(void **state)
{
	char out[255];

	(void)state;
	assert_int_equal(authd_email_normalize("Ann@Example.COM", 15, out), 0);
	assert_string_equal(out, "ann@example.com");
	const char *bad[] = {
	    "",	       "a@b",	"ab",	 "no-at.example", "a@@b.co",	   "a b@c.co",
	    "a@b.co.", "a@.co", "@b.co", "a\"b@c.co",	  "a@b\xc3\xa9.co"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(authd_email_normalize(bad[i], strlen(bad[i]), out), -1);
	char long_local[80];
	memset(long_local, 'x', 65);
	memcpy(long_local + 65, "@b.co", 6);
	assert_int_equal(authd_email_normalize(long_local, strlen(long_local), out), -1);
}

static void test_time_and_clock(void **state)
{
	char s[21];
	int64_t before;

	(void)state;
	authd_time_str(0, s);
	assert_string_equal(s, "1970-01-01T00:00:00Z");
	authd_time_str(20000000000LL, s);
	assert_string_equal(s, "2603-10-11T11:33:20Z");
	assert_true(authd_test_build());
	before = authd_now();
	authd_clock_advance(3600);
	assert_true(authd_now() - before >= 3600);
	authd_clock_advance(-5); /* ignored: the clock never goes back */
	assert_true(authd_now() - before >= 3600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),	   cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_utf8),	   cmocka_unit_test(test_email),
	    cmocka_unit_test(test_time_and_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
