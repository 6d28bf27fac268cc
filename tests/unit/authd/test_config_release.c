/* config.c as a release build compiles it (no AUTHD_TEST_HOOKS): the test
 * clock and argon2id costs below m=19456 KiB, t=2 are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "util.h"

#include <string.h>

static void test_release_refuses_test_hooks(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	assert_false(authd_test_build());
	config_defaults(&c);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	c.test_clock = true;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "test build"));
	config_defaults(&c);
	c.argon2_m_kib = 19455;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	config_defaults(&c);
	c.argon2_t = 1;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	config_defaults(&c);
	c.argon2_m_kib = 47104;
	c.argon2_t = 2;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_release_refuses_test_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
