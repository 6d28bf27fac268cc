/* Unit tests for core/places.c: the first sign-in is never "new"; a new
 * network or an unrecognised browser is; a known network's time is written
 * at most daily; past PLACES_MAX networks the one unseen longest goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

#include <string.h>

#define NOW 1795461062

static void test_first_sign_in_is_not_new(void **state)
{
	struct places_rec p;
	bool write;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_false(core_place_note(&p, 11, false, NOW, &write));
	assert_true(write);
	assert_int_equal(p.n, 1);
	/* The same network and a recognised browser: known, nothing to write. */
	assert_false(core_place_note(&p, 11, true, NOW + 60, &write));
	assert_false(write);
	/* The same network in a browser not recognised: new. */
	assert_true(core_place_note(&p, 11, false, NOW + 60, &write));
	assert_false(write);
	/* A recognised browser on another network: new, and remembered. */
	assert_true(core_place_note(&p, 12, true, NOW + 120, &write));
	assert_true(write);
	assert_false(core_place_note(&p, 12, true, NOW + 180, &write));
}

static void test_known_network_refreshed_daily(void **state)
{
	struct places_rec p;
	bool write;

	(void)state;
	memset(&p, 0, sizeof(p));
	core_place_note(&p, 5, true, NOW, &write);
	core_place_note(&p, 5, true, NOW + PLACE_REFRESH_S - 1, &write);
	assert_false(write);
	core_place_note(&p, 5, true, NOW + PLACE_REFRESH_S, &write);
	assert_true(write);
	assert_int_equal(p.seen[0], NOW + PLACE_REFRESH_S);
}

static void test_oldest_network_makes_room(void **state)
{
	struct places_rec p;
	bool write;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < PLACES_MAX; i++)
		core_place_note(&p, 100 + i, true, NOW + i, &write);
	assert_int_equal(p.n, PLACES_MAX);
	/* Network 100 is seen again (refreshed): 101 is now the oldest. */
	core_place_note(&p, 100, true, NOW + PLACE_REFRESH_S + 1000, &write);
	assert_true(core_place_note(&p, 999, true, NOW + PLACE_REFRESH_S + 2000, &write));
	assert_int_equal(p.n, PLACES_MAX);
	assert_false(core_place_note(&p, 100, true, NOW + PLACE_REFRESH_S + 3000, &write));
	assert_false(core_place_note(&p, 999, true, NOW + PLACE_REFRESH_S + 3000, &write));
	assert_true(core_place_note(&p, 101, true, NOW + PLACE_REFRESH_S + 3000, &write));
	/* A corrupt count is clamped, never read past the arrays. */
	p.n = 200;
	core_place_note(&p, 7, true, NOW, &write);
	assert_true(p.n <= PLACES_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_sign_in_is_not_new),
	    cmocka_unit_test(test_known_network_refreshed_daily),
	    cmocka_unit_test(test_oldest_network_makes_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
