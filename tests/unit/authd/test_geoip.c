/* Unit tests for authd/geoip.c against a small database the build writes
 * (tests/lib/make_mmdb.pl): city and country, country alone, addresses
 * not in it, no database, bad text in names, and cuts to the buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "geoip.h"

#include <string.h>

static void test_locate(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(geoip_open(TEST_GEOIP_DB), 0);
	geoip_locate("127.0.0.2", out, sizeof(out));
	assert_string_equal(out, "Zurich, Switzerland");
	geoip_locate("127.0.0.3", out, sizeof(out));
	assert_string_equal(out, "Germany"); /* no city in the record */
	geoip_locate("2001:db8::7", out, sizeof(out));
	assert_string_equal(out, "Bern, Switzerland");
	geoip_locate("127.0.0.4", out, sizeof(out));
	assert_string_equal(out, "Z\xc3\xbcrich, Switzerland");
	geoip_locate("127.0.0.9", out, sizeof(out));
	assert_string_equal(out, "unknown"); /* not in the database */
	geoip_locate("2001:db9::1", out, sizeof(out));
	assert_string_equal(out, "unknown");
	geoip_locate("not an address", out, sizeof(out));
	assert_string_equal(out, "unknown");
	/* A name a device must not show (a bidirectional override). */
	geoip_locate("127.0.0.5", out, sizeof(out));
	assert_string_equal(out, "unknown");
	/* Cut inside "ü": not shown half. */
	geoip_locate("127.0.0.4", out, 3);
	assert_string_equal(out, "un");
	geoip_locate("127.0.0.2", out, 7);
	assert_string_equal(out, "Zurich");
	geoip_close();
}

static void test_without_database(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(geoip_open(""), 0);
	geoip_locate("127.0.0.2", out, sizeof(out));
	assert_string_equal(out, "unknown");
	assert_int_equal(geoip_open("/nonexistent/geo.mmdb"), -1);
	geoip_locate("127.0.0.2", out, sizeof(out));
	assert_string_equal(out, "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_locate),
	    cmocka_unit_test(test_without_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
