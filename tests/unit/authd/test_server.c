/* Unit tests for authd/server.c: req_free() leaves no secret a request held
 * in the memory it frees (the struct's own fields included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alloc_spy.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static void test_req_free_wipes(void **state)
{
	static const char *const marks[] = {
	    "BEARER-MARKER-1d8e",  "CSRF-MARKER-44a0",	    "LOGINID-MARKER-9c2b",
	    "COOKIE-MARKER-b7f1",  "SETCOOKIE-MARKER-0e6d", "PASSWORD-MARKER-5a3c",
	    "SESSION-MARKER-e12f",
	};
	struct req *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	alloc_spy_reset();
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		alloc_spy_watch(marks[i]);
	snprintf(r->authorization, sizeof(r->authorization), "Bearer %s", marks[0]);
	snprintf(r->csrf, sizeof(r->csrf), "%s", marks[1]);
	snprintf(r->path, sizeof(r->path), "/1/login/%s/totp", marks[2]);
	snprintf(r->param, sizeof(r->param), "%s", marks[2]);
	r->cookie = dup_str("__Host-authd_session=COOKIE-MARKER-b7f1");
	req_add_header(r, "Set-Cookie", "__Host-authd_session=SETCOOKIE-MARKER-0e6d; Secure");
	r->body = dup_str("{\"password\":\"PASSWORD-MARKER-5a3c\"}");
	r->body_len = strlen(r->body);
	r->resp = dup_str("{\"session\":\"SESSION-MARKER-e12f\"}");
	r->resp_len = strlen(r->resp);
	req_free(r);
	assert_int_equal(alloc_spy.freed, 4); /* cookie, body, response, the req */
	assert_int_equal(alloc_spy.found, 0);
}

/* The spy itself finds a secret left behind (so that the test above can
 * fail). */
static void test_spy_sees_a_leftover(void **state)
{
	char *p = dup_str("PASSWORD-MARKER-5a3c");

	(void)state;
	alloc_spy_reset();
	alloc_spy_watch("PASSWORD-MARKER-5a3c");
	free(p);
	assert_int_equal(alloc_spy.freed, 1);
	assert_int_equal(alloc_spy.found, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_req_free_wipes),
	    cmocka_unit_test(test_spy_sees_a_leftover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
