/* Unit tests for authd/password.c: the policy, argon2id PHC strings with
 * the configured cost, pepper, NFKC, rehash detection, the dummy hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "password.h"

#include <stdio.h>
#include <string.h>

static const uint8_t pepper[32] = {42};

static void test_policy(void **state)
{
	(void)state;
	/* Our own list and the 30 000 of python3-zxcvbn, normalized. */
	assert_true(password_blocklist_size() >= 10000);
	assert_int_equal(password_check("seven77", 7, NULL, NULL), PASSWORD_TOO_SHORT);
	assert_int_equal(password_check("eight8x8", 8, NULL, NULL), PASSWORD_OK);
	assert_int_equal(password_check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, NULL, NULL),
			 PASSWORD_TOO_SHORT); /* 4 characters in 8 bytes */
	char long_pw[200];
	for (size_t i = 0; i < sizeof(long_pw); i++)
		long_pw[i] = (char)('a' + i % 26);
	assert_int_equal(password_check(long_pw, 128, NULL, NULL), PASSWORD_OK);
	assert_int_equal(password_check(long_pw, 129, NULL, NULL), PASSWORD_TOO_LONG);
	assert_int_equal(password_check("abc\x01"
					"defgh",
					9, NULL, NULL),
			 PASSWORD_INVALID);
	assert_int_equal(password_check("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 8, NULL, NULL),
			 PASSWORD_INVALID);
	const char *common[] = {"password", "PASSWORD",	  "Password1", "12345678",
				"iloveyou", "qwertyuiop", "11111111",  "baseball"};
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		assert_int_equal(password_check(common[i], strlen(common[i]), NULL, NULL),
				 PASSWORD_BLOCKLISTED);
	assert_int_equal(password_check("ann.smith@example.com", 21, "ann.smith@example.com", NULL),
			 PASSWORD_CONTEXT);
	assert_int_equal(password_check("ann.smith1", 10, "ann.smith@example.com", NULL),
			 PASSWORD_CONTEXT);
	assert_int_equal(password_check("Ann Smith!", 10, NULL, "Ann Smith"), PASSWORD_CONTEXT);
	assert_int_equal(password_check("authd123", 8, NULL, NULL), PASSWORD_BLOCKLISTED);
	/* Normalized first: full-width letters are the blocklisted word. */
	const char *fw = "\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97\xef"
			 "\xbd\x8f\xef\xbd\x92\xef\xbd\x84"; /* ｐａｓｓｗｏｒｄ */
	assert_int_equal(password_check(fw, strlen(fw), NULL, NULL), PASSWORD_BLOCKLISTED);
	/* A ligature expands: "ﬀ" (1 character) is "ff" (2) after NFKC. */
	assert_int_equal(password_check("\xef\xac\x80\xef\xac\x80wxyz", 10, NULL, NULL),
			 PASSWORD_OK); /* 6 characters typed, 8 once normalized */
	/* Breached passwords beyond our own list (zxcvbn's). */
	assert_int_equal(password_check("trustno1", 8, NULL, NULL), PASSWORD_BLOCKLISTED);
	assert_int_equal(password_check("sunshine1", 9, NULL, NULL), PASSWORD_BLOCKLISTED);
	/* Context words judged on the normalized form too. */
	assert_int_equal(password_check("\xef\xbd\x81nn.smith1", 12, "ann.smith@example.com", NULL),
			 PASSWORD_CONTEXT);
	assert_int_equal(
	    password_check("ann.smith loves long walks", 26, "ann.smith@example.com", "Ann Smith"),
	    PASSWORD_OK);
}

static void test_hash_verify(void **state)
{
	char phc[192], phc2[192];

	(void)state;
	password_setup(pepper, (struct password_cost){19456, 2, 1});
	assert_int_equal(password_init_dummy(), 0);
	assert_int_equal(password_hash("correct horse", 13, phc, sizeof(phc)), 0);
	assert_int_equal(strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_null(strstr(phc, "correct"));
	assert_true(password_verify(phc, "correct horse", 13));
	assert_false(password_verify(phc, "correct horsE", 13));
	assert_false(password_verify(phc, "correct hors", 12));
	assert_false(password_verify(NULL, "correct horse", 13));
	/* Same password, new salt. */
	assert_int_equal(password_hash("correct horse", 13, phc2, sizeof(phc2)), 0);
	assert_string_not_equal(phc, phc2);
	/* NFKC: U+00E9 and e + U+0301 are one password. */
	assert_int_equal(password_hash("caf\xc3\xa9 noir!", 11, phc, sizeof(phc)), 0);
	assert_true(password_verify(phc, "cafe\xcc\x81 noir!", 12));
	/* The pepper matters: another key verifies nothing. */
	const uint8_t other[32] = {43};
	password_setup(other, (struct password_cost){19456, 2, 1});
	assert_false(password_verify(phc, "caf\xc3\xa9 noir!", 11));
	password_setup(pepper, (struct password_cost){19456, 2, 1});
	assert_true(password_verify(phc, "caf\xc3\xa9 noir!", 11));
}

static void test_rehash(void **state)
{
	(void)state;
	password_setup(pepper, (struct password_cost){19456, 2, 1});
	assert_false(password_needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
	assert_true(password_needs_rehash("$argon2id$v=19$m=8192,t=2,p=1$c2FsdA$aGFzaA"));
	assert_true(password_needs_rehash("$argon2id$v=19$m=19456,t=1,p=1$c2FsdA$aGFzaA"));
	assert_true(password_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
	assert_true(password_needs_rehash("garbage"));
	password_setup(pepper, (struct password_cost){24576, 3, 1});
	assert_true(password_needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_hash_verify),
	    cmocka_unit_test(test_rehash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
