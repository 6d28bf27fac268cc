/* Unit tests for mobile-protocol/text.c: base64url without padding (RFC
 * 4648 section 10 vectors in the url-safe alphabet), canonical decoding,
 * hex ids, and the names of codes and types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mp.h"

#include <string.h>

static void test_b64url_vectors(void **state)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {
	    {"", ""},		{"f", "Zg"},	      {"fo", "Zm8"},	      {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	char out[16];
	uint8_t back[8];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].raw);

		mp_b64url_encode((const uint8_t *)v[i].raw, n, out);
		assert_string_equal(out, v[i].enc);
		assert_int_equal(mp_b64url_decode(out, strlen(out), back, n), 0);
		assert_memory_equal(back, v[i].raw, n);
	}
}

/* The two characters base64url changes: 62 is '-', 63 is '_'. */
static void test_b64url_alphabet(void **state)
{
	static const uint8_t raw[] = {0xfb, 0xef, 0xff};
	uint8_t all[48], back[48];
	char out[80];

	(void)state;
	mp_b64url_encode(raw, sizeof(raw), out);
	assert_string_equal(out, "--__");
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(i * 37 + 11);
	mp_b64url_encode(all, sizeof(all), out);
	assert_int_equal(strlen(out), 64);
	assert_int_equal(
	    strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 64);
	assert_int_equal(mp_b64url_decode(out, 64, back, sizeof(back)), 0);
	assert_memory_equal(back, all, sizeof(all));
}

static void test_b64url_refusals(void **state)
{
	uint8_t out[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(mp_b64url_decode("Zg==", 4, out, 1), MP_E_INVALID); /* padding */
	assert_int_equal(mp_b64url_decode("Zg", 2, out, 2), MP_E_INVALID);   /* length */
	assert_int_equal(mp_b64url_decode("Zh", 2, out, 1), MP_E_INVALID);   /* unused bits */
	assert_int_equal(mp_b64url_decode("+/8", 3, out, 2), MP_E_INVALID);  /* base64, not url */
	assert_int_equal(mp_b64url_decode("Zm 9", 4, out, 3), MP_E_INVALID);
	assert_int_equal(mp_b64url_decode("Zm\0v", 4, out, 3), MP_E_INVALID);
	/* Outputs only on success. */
	assert_int_equal(out[0], 1);
	assert_int_equal(mp_b64url_decode("Zm9v", 4, out, 3), 0);
	assert_memory_equal(out, "foo", 3);
}

static void test_ids(void **state)
{
	uint8_t id[MP_ID_LEN], other[MP_ID_LEN];
	char hex[2 * MP_ID_LEN + 1];

	(void)state;
	assert_int_equal(mp_id_parse("00112233445566778899aabbccddeeff", id), 0);
	assert_int_equal(id[0], 0x00);
	assert_int_equal(id[15], 0xff);
	mp_id_format(id, hex);
	assert_string_equal(hex, "00112233445566778899aabbccddeeff");
	memset(other, 7, sizeof(other));
	assert_int_equal(mp_id_parse("00112233445566778899AABBCCDDEEFF", other), MP_E_INVALID);
	assert_int_equal(mp_id_parse("00112233445566778899aabbccddeef", other), MP_E_INVALID);
	assert_int_equal(mp_id_parse("00112233445566778899aabbccddeeff0", other), MP_E_INVALID);
	assert_int_equal(mp_id_parse("0011223344556677889gaabbccddeeff", other), MP_E_INVALID);
	assert_int_equal(mp_id_parse(NULL, other), MP_E_INVALID);
	assert_int_equal(other[0], 7);
}

static void test_names(void **state)
{
	(void)state;
	for (int e = MP_OK; e >= MP_E_VERSION; e--)
		assert_string_not_equal(mp_strerror(e), "unknown error");
	assert_string_equal(mp_strerror(-99), "unknown error");
	assert_string_equal(mp_type_name(MP_ANSWER_RESULT), "answer_result");
	assert_null(mp_type_name((enum mp_type)0));
	assert_null(mp_type_name((enum mp_type)99));
	assert_true(mp_type_from_device(MP_LINK));
	assert_true(mp_type_from_device(MP_AUTH));
	assert_true(mp_type_from_device(MP_ANSWER));
	assert_false(mp_type_from_device(MP_CHALLENGE));
	assert_false(mp_type_from_device(MP_HELLO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url_vectors),  cmocka_unit_test(test_b64url_alphabet),
	    cmocka_unit_test(test_b64url_refusals), cmocka_unit_test(test_ids),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
