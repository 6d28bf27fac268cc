/* Unit tests for authd/errors.c: every error has a row, a 4xx/5xx status and
 * a lowercase snake_case code; store codes map to 503/500. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "store.h"

#include <string.h>

static void test_table_complete(void **state)
{
	(void)state;
	for (int e = 0; e < E__COUNT; e++) {
		if (e == E_OK)
			continue;
		const struct api_error_info *i = api_error_info((enum api_error)e);

		assert_true(i->status >= 400 && i->status <= 599);
		assert_true(strlen(i->code) > 0);
		assert_int_equal(strspn(i->code, "abcdefghijklmnopqrstuvwxyz_"), strlen(i->code));
		assert_true(strlen(i->title) > 0);
		assert_true(i->title[strlen(i->title) - 1] != '.');
	}
	assert_int_equal(api_error_info(E_TOO_MANY_ATTEMPTS)->status, 429);
	assert_string_equal(api_error_info(E_CODE_REUSED)->code, "code_reused");
	/* A zeroed decision is an internal error, never a client one. */
	assert_int_equal(E_INTERNAL, 0);
	assert_int_equal(api_error_info((enum api_error)0)->status, 500);
}

static void test_store_mapping(void **state)
{
	(void)state;
	assert_int_equal(api_error_from_store(STORE_E_FULL), E_STORE_UNAVAILABLE);
	assert_int_equal(api_error_from_store(STORE_E_IO), E_STORE_UNAVAILABLE);
	assert_int_equal(api_error_from_store(STORE_E_UNAVAILABLE), E_STORE_UNAVAILABLE);
	assert_int_equal(api_error_from_store(STORE_E_CORRUPT), E_INTERNAL);
}

/* A seed sealed with a key generation not held here is the node's to
 * answer 503 (another node opens it); a damaged one is an internal error. */
static void test_verdict_mapping(void **state)
{
	(void)state;
	assert_int_equal(api_error_from_verdict(CORE_KEY_MISSING), E_KEY_GENERATION_MISSING);
	assert_int_equal(api_error_info(E_KEY_GENERATION_MISSING)->status, 503);
	assert_string_equal(api_error_info(E_KEY_GENERATION_MISSING)->code,
			    "key_generation_missing");
	assert_int_equal(api_error_from_verdict(CORE_DAMAGED), E_INTERNAL);
	assert_int_equal(api_error_from_verdict(CORE_OK), E_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_complete),
	    cmocka_unit_test(test_store_mapping),
	    cmocka_unit_test(test_verdict_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
