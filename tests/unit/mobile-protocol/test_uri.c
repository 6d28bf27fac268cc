/* Unit tests for mobile-protocol/uri.c: the linking URI is built in one
 * spelling, parses back, and a table of damaged URIs is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mp.h"

#include <stdio.h>
#include <string.h>

#define SECRET_B64                                                                                 \
	"gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp-goaKjpKWmp6ipqqusra6v" /* bytes 0x80..0xaf */
#define OTPAUTH                                                                                    \
	"otpauth://totp/authd:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=authd&algorithm=" \
	"SHA1&digits=6&period=30"
#define EXPECTED                                                                                   \
	"authd://link?v=1&server=https%3A%2F%2Fauth.example.com&secret=" SECRET_B64                \
	"&totp=otpauth%3A%2F%2Ftotp%2Fauthd%3Aalice%2540example.com%3Fsecret%3DJBSWY3DPEHPK3PXP%"  \
	"26issuer%3Dauthd%26algorithm%3DSHA1%26digits%3D6%26period%3D30"

static void sample(struct mp_link_uri *u)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->server, sizeof(u->server), "https://auth.example.com");
	for (size_t i = 0; i < MP_SECRET_LEN; i++)
		u->secret[i] = (uint8_t)(0x80 + i);
	snprintf(u->otpauth, sizeof(u->otpauth), "%s", OTPAUTH);
}

static void test_build_and_parse(void **state)
{
	struct mp_link_uri u, back;
	char out[MP_LINK_URI_MAX + 1];

	(void)state;
	sample(&u);
	assert_int_equal(mp_link_uri_build(&u, out, sizeof(out)), 0);
	assert_string_equal(out, EXPECTED);
	assert_int_equal(mp_link_uri_parse(out, &back), 0);
	assert_string_equal(back.server, u.server);
	assert_string_equal(back.otpauth, u.otpauth);
	assert_memory_equal(back.secret, u.secret, MP_SECRET_LEN);
	/* Any order, unknown names ignored. */
	assert_int_equal(
	    mp_link_uri_parse("authd://link?totp=otpauth%3A%2F%2Ftotp%2Fx%3Fsecret%3DAA"
			      "&future=1&secret=" SECRET_B64
			      "&server=http%3A%2F%2F127.0.0.1%3A8080&v=1",
			      &back),
	    0);
	assert_string_equal(back.server, "http://127.0.0.1:8080");
	assert_string_equal(back.otpauth, "otpauth://totp/x?secret=AA");
}

static void test_build_refusals(void **state)
{
	struct mp_link_uri u;
	char out[MP_LINK_URI_MAX + 1];

	(void)state;
	sample(&u);
	assert_int_equal(mp_link_uri_build(&u, out, 40), MP_E_SPACE);
	snprintf(u.server, sizeof(u.server), "ftp://auth.example.com");
	assert_int_equal(mp_link_uri_build(&u, out, sizeof(out)), MP_E_INVALID);
	sample(&u);
	snprintf(u.otpauth, sizeof(u.otpauth), "otpauth://hotp/x?secret=AA&counter=0");
	assert_int_equal(mp_link_uri_build(&u, out, sizeof(out)), MP_E_INVALID);
}

/* The longest server URL and otpauth URI, escaped throughout, build
 * within the limit and parse back; a URI over the limit is refused even
 * when what takes it over is a name the parser ignores. */
static void test_longest_uri(void **state)
{
	struct mp_link_uri u, back;
	char out[MP_LINK_URI_MAX + 2];
	size_t n;

	(void)state;
	sample(&u);
	n = strlen("https://");
	memset(u.server + n, '/', MP_URL_MAX - n);
	u.server[MP_URL_MAX] = '\0';
	n = strlen("otpauth://totp/");
	memcpy(u.otpauth, "otpauth://totp/", n);
	memset(u.otpauth + n, ':', MP_OTPAUTH_MAX - n);
	u.otpauth[MP_OTPAUTH_MAX] = '\0';
	assert_int_equal(mp_link_uri_build(&u, out, MP_LINK_URI_MAX + 1), 0);
	n = strlen(out);
	assert_true(n <= MP_LINK_URI_MAX && n > MP_LINK_URI_MAX - 64);
	assert_int_equal(mp_link_uri_parse(out, &back), 0);
	assert_memory_equal(&back, &u, sizeof(u));
	assert_int_equal(mp_link_uri_build(&u, out, n), MP_E_SPACE);

	assert_int_equal(mp_link_uri_build(&u, out, sizeof(out)), 0);
	memcpy(out + n, "&x=", 3);
	memset(out + n + 3, 'a', MP_LINK_URI_MAX - n - 3);
	out[MP_LINK_URI_MAX] = '\0';
	assert_int_equal(mp_link_uri_parse(out, &back), 0);
	memcpy(out + MP_LINK_URI_MAX, "a", 2);
	assert_int_equal(mp_link_uri_parse(out, &back), MP_E_INVALID);
}

static void test_parse_refusals(void **state)
{
	static const struct {
		const char *uri;
		int rc;
	} bad[] = {
	    {"authd://link?", MP_E_INVALID},
	    {"https://link?v=1", MP_E_INVALID},
	    {"authd://link?v=2&server=x", MP_E_VERSION},
	    {"authd://link?server=garbage&v=10", MP_E_VERSION},
	    {"authd://link?v=&server=x", MP_E_VERSION},
	    {"authd://link?v=1&secret=" SECRET_B64 "&totp=otpauth%3A%2F%2Ftotp%2Fx", MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&totp=otpauth%3A%2F%2Ftotp%2Fx", MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&secret=" SECRET_B64, MP_E_INVALID},
	    {"authd://link?v=1&v=1&server=https%3A%2F%2Fa&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&secret=gIGC&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa%2&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa%0A&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa+b&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx&",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&secret=" SECRET_B64 "&totp", MP_E_INVALID},
	    /* Raw bytes the builder would have escaped. */
	    {"authd://link?v=1&server=https://a&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2Fa&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx%3Fa=b",
	     MP_E_INVALID},
	    {"authd://link?v=1&server=https%3A%2F%2F\xc3\xa9&secret=" SECRET_B64
	     "&totp=otpauth%3A%2F%2Ftotp%2Fx",
	     MP_E_INVALID},
	};
	struct mp_link_uri u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		memset(&u, 0x5a, sizeof(u));
		rc = mp_link_uri_parse(bad[i].uri, &u);
		if (rc != bad[i].rc)
			fail_msg("case %zu: got %d, want %d: %s", i, rc, bad[i].rc, bad[i].uri);
		assert_int_equal(u.server[0], 0); /* cleared */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_and_parse),
	    cmocka_unit_test(test_build_refusals),
	    cmocka_unit_test(test_longest_uri),
	    cmocka_unit_test(test_parse_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
