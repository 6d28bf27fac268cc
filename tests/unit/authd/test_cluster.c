/* Unit tests for authd/cluster.c: the notes nodes send each other, each
 * kind through encode and decode, and notes that are not well formed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster.h"

#include <string.h>

static void fill(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

static void round_trip(const struct cluster_event *e, const char *want)
{
	char note[STORE_NOTE_MAX + 1];
	struct cluster_event back;
	uint64_t node = 0;

	cluster_note_encode(e, 0x0123456789abcdefULL, note, sizeof(note));
	assert_string_equal(note, want);
	assert_true(cluster_note_decode(note, &node, &back));
	assert_true(node == 0x0123456789abcdefULL);
	assert_int_equal(back.kind, e->kind);
	assert_memory_equal(back.account_id, e->account_id, AUTHD_ID_LEN);
	assert_memory_equal(back.id, e->id, AUTHD_ID_LEN);
	assert_memory_equal(back.login_hash, e->login_hash, AUTHD_HASH_LEN);
	assert_int_equal(back.reason, e->reason);
	assert_int_equal(back.has_except, e->has_except);
	assert_memory_equal(back.except, e->except, AUTHD_ID_LEN);
}

static void test_kinds(void **state)
{
	struct cluster_event e = {.kind = CLUSTER_CHALLENGE};

	(void)state;
	fill(e.account_id, AUTHD_ID_LEN, 0x00);
	fill(e.id, AUTHD_ID_LEN, 0x10);
	round_trip(&e, "0123456789abcdef C 000102030405060708090a0b0c0d0e0f "
		       "101112131415161718191a1b1c1d1e1f");
	e.kind = CLUSTER_REVOKED;
	round_trip(&e, "0123456789abcdef R 000102030405060708090a0b0c0d0e0f "
		       "101112131415161718191a1b1c1d1e1f");
	e.kind = CLUSTER_WITHDRAW;
	e.reason = MP_WITHDRAW_CANCELLED;
	round_trip(&e, "0123456789abcdef W 000102030405060708090a0b0c0d0e0f "
		       "101112131415161718191a1b1c1d1e1f 3 -");
	e.reason = MP_WITHDRAW_ANSWERED;
	e.has_except = true;
	fill(e.except, AUTHD_ID_LEN, 0x20);
	round_trip(&e, "0123456789abcdef W 000102030405060708090a0b0c0d0e0f "
		       "101112131415161718191a1b1c1d1e1f 1 202122232425262728292a2b2c2d2e2f");
	memset(&e, 0, sizeof(e));
	e.kind = CLUSTER_ANSWERED;
	fill(e.account_id, AUTHD_ID_LEN, 0x00);
	fill(e.login_hash, AUTHD_HASH_LEN, 0x40);
	round_trip(&e, "0123456789abcdef A 000102030405060708090a0b0c0d0e0f "
		       "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f");
}

static void test_not_notes(void **state)
{
	static const char *const bad[] = {
	    "",
	    "0123456789abcdef",
	    "0123456789abcdef C",
	    "0123456789abcde C 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
	    "0123456789abcdef X 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
	    "0123456789abcdef CC 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f "
	    "101112131415161718191a1b1c1d1e1fff",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1g",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f ",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f  101112131415161718191a1b1c1d1e1f",
	    "0123456789abcdef C 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "x",
	    "0123456789abcdef W 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "0 -",
	    "0123456789abcdef W 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "4 -",
	    "0123456789abcdef W 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "1",
	    "0123456789abcdef W 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "1 --",
	    "0123456789abcdef W 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f "
	    "1 - ",
	    "0123456789abcdef A 000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f",
	};
	struct cluster_event e;
	uint64_t node;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cluster_note_decode(bad[i], &node, &e))
			fail_msg("decoded: \"%s\"", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_not_notes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
