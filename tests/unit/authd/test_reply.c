/* Unit tests for authd/reply.c: jansson's blocks are wiped as they are
 * freed (a request's password must not stay in freed memory), and an error
 * reply built while malloc fails is a fixed 503, never an abort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alloc_spy.h"
#include "http.h"

#include <openssl/crypto.h>
#include <string.h>

#define SECRET "correct-horse-PASSWORD-MARKER-7f3a"

static int setup(void **state)
{
	(void)state;
	json_wiping_init();
	alloc_spy_reset();
	return 0;
}

/* A parsed body and its dump: every block jansson frees comes through
 * authd's allocator, wiped. */
static void test_json_blocks_wiped(void **state)
{
	char long_value[3000];
	json_t *body;
	char *text;

	(void)state;
	alloc_spy_watch(SECRET);
	body = json_loads("{\"current_password\":\"" SECRET "\",\"code\":\"123456\"}", 0, NULL);
	assert_non_null(body);
	/* A dump that grows its buffer several times: every copy it leaves
	 * behind holds the secret. */
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(json_object_set_new(body, "padding", json_string(long_value)), 0);
	text = json_dumps(body, JSON_COMPACT);
	assert_non_null(text);
	assert_non_null(strstr(text, SECRET));
	json_decref(body);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	/* Parser buffers, strings, the object's table, the dump's old buffers. */
	assert_true(alloc_spy.freed >= 4);
	assert_int_equal(alloc_spy.found, 0);
}

static void assert_overloaded(const struct req *r)
{
	assert_int_equal(r->status, 503);
	assert_true(r->responded);
	assert_true(r->resp_static);
	assert_true(r->close_after);
	assert_non_null(r->resp);
	assert_non_null(strstr(r->resp, "\"code\":\"overloaded\""));
	assert_non_null(strstr(r->headers, "Content-Type: application/problem+json\r\n"));
	assert_non_null(strstr(r->headers, "Retry-After: 1\r\n"));
}

static void test_error_without_memory(void **state)
{
	struct req r;

	(void)state;
	memset(&r, 0, sizeof(r));
	alloc_spy.fail_malloc = true;
	reply_error(&r, E_INVALID_JSON);
	alloc_spy.fail_malloc = false;
	assert_overloaded(&r);

	memset(&r, 0, sizeof(r));
	alloc_spy.fail_malloc = true;
	reply_field_error(&r, E_INVALID_FIELD, "code", "must be 6 digits");
	alloc_spy.fail_malloc = false;
	assert_overloaded(&r);
}

/* A body that cannot be dumped becomes an error, which cannot be built
 * either: the fixed 503 again. */
static void test_body_without_memory(void **state)
{
	struct req r;
	json_t *body = json_pack("{s:s}", "status", "ok");

	(void)state;
	assert_non_null(body);
	memset(&r, 0, sizeof(r));
	alloc_spy.fail_malloc = true;
	reply_json(&r, 200, body);
	alloc_spy.fail_malloc = false;
	assert_overloaded(&r);
}

/* A 429 whose problem body cannot be built keeps its own Retry-After. */
static void test_throttled_without_memory(void **state)
{
	struct req r;

	(void)state;
	memset(&r, 0, sizeof(r));
	alloc_spy.fail_malloc = true;
	reply_throttled(&r, 42);
	alloc_spy.fail_malloc = false;
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.headers, "Retry-After: 42\r\n"));
	assert_null(strstr(r.headers, "Retry-After: 1\r\n"));
}

/* With memory, the same error is the table's problem+json: made once and
 * shared by every reply of that error (never the reply's to free); one
 * with a field of its own is the reply's. */
static void test_error_with_memory(void **state)
{
	struct req r, again;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&again, 0, sizeof(again));
	reply_error(&r, E_INVALID_JSON);
	assert_int_equal(r.status, 400);
	assert_true(r.resp_static);
	assert_non_null(strstr(r.resp, "\"code\":\"invalid_json\""));
	reply_error(&again, E_INVALID_JSON);
	assert_ptr_equal(again.resp, r.resp);
	memset(&r, 0, sizeof(r));
	reply_field_error(&r, E_INVALID_FIELD, "name", "must be text");
	assert_false(r.resp_static);
	assert_non_null(strstr(r.resp, "\"field\":\"name\""));
	free(r.resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_json_blocks_wiped, setup),
	    cmocka_unit_test_setup(test_error_without_memory, setup),
	    cmocka_unit_test_setup(test_body_without_memory, setup),
	    cmocka_unit_test_setup(test_throttled_without_memory, setup),
	    cmocka_unit_test_setup(test_error_with_memory, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
