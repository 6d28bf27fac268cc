/* Unit tests for authd/proxy.c: CIDR lists, and the client address behind
 * trusted proxies as a table of (peer, X-Forwarded-For) -> client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy.h"

#include <string.h>

static void test_parse(void **state)
{
	struct proxy_list l;

	(void)state;
	assert_int_equal(proxy_list_parse(&l, ""), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(proxy_list_parse(&l, "10.0.0.0/8, 192.168.1.7 ,::1,fd00::/8"), 0);
	assert_int_equal(l.n, 4);
	assert_true(proxy_trusted(&l, "10.1.2.3"));
	assert_true(proxy_trusted(&l, "::ffff:10.1.2.3")); /* mapped is the same */
	assert_true(proxy_trusted(&l, "192.168.1.7"));
	assert_false(proxy_trusted(&l, "192.168.1.8"));
	assert_true(proxy_trusted(&l, "::1"));
	assert_true(proxy_trusted(&l, "fd12::5"));
	assert_false(proxy_trusted(&l, "fe80::1"));
	assert_false(proxy_trusted(&l, "11.0.0.1"));
	assert_false(proxy_trusted(&l, "garbage"));
	assert_int_equal(proxy_list_parse(&l, "127.0.0.0/31"), 0);
	assert_true(proxy_trusted(&l, "127.0.0.1"));
	assert_false(proxy_trusted(&l, "127.0.0.2"));
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.0/33", "::/129",	   "10.0.0.0/",	 "10.0.0/8", "a,,b",
	    "10.0.0.0/8x", "host.example", "10.0.0.1,,", "/8",	     "10.0.0.0/-1",
	};
	struct proxy_list l;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (proxy_list_parse(&l, bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
	char many[1024] = "";
	for (int i = 0; i <= PROXY_MAX_NETS; i++)
		strcat(many, "10.0.0.1,");
	assert_int_equal(proxy_list_parse(&l, many), -1);
}

static void test_client_ip(void **state)
{
	static const struct {
		const char *peer, *xff, *want;
	} cases[] = {
	    /* No trusted proxy in the way: the peer, whatever the header says. */
	    {"203.0.113.9", "1.2.3.4", "203.0.113.9"},
	    {"203.0.113.9", NULL, "203.0.113.9"},
	    /* Behind one proxy: the hop it appended. */
	    {"10.0.0.2", "198.51.100.7", "198.51.100.7"},
	    /* A client forging hops: only the rightmost untrusted one counts. */
	    {"10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"},
	    /* Two proxies of ours. */
	    {"10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"},
	    /* Every hop trusted: the leftmost. */
	    {"10.0.0.2", "10.0.0.9, 10.0.0.3", "10.0.0.9"},
	    /* Garbage in the chain stops the walk at the last good hop. */
	    {"10.0.0.2", "198.51.100.7, junk, 10.0.0.3", "10.0.0.3"},
	    {"10.0.0.2", "junk", "10.0.0.2"},
	    {"10.0.0.2", "", "10.0.0.2"},
	    {"::ffff:10.0.0.2", "2001:db8::1", "2001:db8::1"},
	    {"10.0.0.2", "::ffff:198.51.100.7", "198.51.100.7"},
	};
	struct proxy_list l;
	char out[48];

	(void)state;
	assert_int_equal(proxy_list_parse(&l, "10.0.0.0/8"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		proxy_client_ip(&l, cases[i].peer, cases[i].xff, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, out, cases[i].want);
	}
	/* Without trusted proxies the header never matters. */
	assert_int_equal(proxy_list_parse(&l, ""), 0);
	proxy_client_ip(&l, "10.0.0.2", "198.51.100.7", out, sizeof(out));
	assert_string_equal(out, "10.0.0.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_client_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
