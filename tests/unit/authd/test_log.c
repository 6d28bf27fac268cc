/* Unit tests for util/log.c: text and JSON lines (fields from "key=value"
 * words, escaping, invalid UTF-8), and the refusal limiter (the burst per
 * subject, the cap over all subjects, one summary per subject and one for
 * the rest when an interval ends). Lines are read back from stderr, which
 * each test points at a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static FILE *captured;
static int saved_stderr = -1;
static long read_to; /* written() has returned the file up to here */

static int capture(void **state)
{
	(void)state;
	captured = tmpfile();
	if (captured == NULL)
		return -1;
	read_to = 0;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fileno(captured), STDERR_FILENO);
	log_set_level(LOG_LVL_INFO);
	return 0;
}

static int release(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(captured);
	log_set_format(LOG_FMT_TEXT);
	log_set_node(NULL);
	return 0;
}

/* The lines written since the last call, in one malloc'd string. */
static char *written(void)
{
	long end;
	char *text;

	end = lseek(fileno(captured), 0, SEEK_END);
	text = calloc(1, (size_t)(end - read_to) + 1);
	assert_non_null(text);
	assert_int_equal(pread(fileno(captured), text, (size_t)(end - read_to), read_to),
			 end - read_to);
	read_to = end;
	return text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void test_text_line(void **state)
{
	char *t;

	(void)state;
	free(written());
	log_info("auth method=%s outcome=%s", "password", "failure");
	t = written();
	/* 2026-12-07T06:31:50.123Z info test_text_line: auth method=... */
	assert_int_equal(strlen(t) > 25, 1);
	assert_int_equal(t[4], '-');
	assert_int_equal(t[23], 'Z');
	assert_non_null(strstr(t, " info test_text_line: auth method=password outcome=failure\n"));
	free(t);
	log_debug("not at this level");
	t = written();
	assert_string_equal(t, "");
	free(t);
}

static json_t *one_json(void)
{
	char *t = written();
	json_error_t err;
	json_t *o;

	assert_int_equal(count_lines(t), 1);
	o = json_loads(t, 0, &err);
	free(t);
	assert_non_null(o);
	assert_true(json_is_object(o));
	return o;
}

static void test_json_fields(void **state)
{
	json_t *o;

	(void)state;
	log_set_format(LOG_FMT_JSON);
	log_set_node("node-1");
	free(written());
	log_info("sms not sent account=%s ip=%s reason=%s msg=%s", "ab12", "127.0.0.2",
		 "no route to host", "x");
	o = one_json();
	assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(o, "node")), "node-1");
	assert_string_equal(json_string_value(json_object_get(o, "func")), "test_json_fields");
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "sms not sent");
	assert_string_equal(json_string_value(json_object_get(o, "account")), "ab12");
	assert_string_equal(json_string_value(json_object_get(o, "ip")), "127.0.0.2");
	/* Words that are not key=value go on the value before them. */
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "no route to host");
	/* A key named like the line's own is renamed, never repeated. */
	assert_string_equal(json_string_value(json_object_get(o, "f_msg")), "x");
	assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 24);
	json_decref(o);

	/* Without fields the whole text is the message. */
	log_warn("listening on 127.0.0.1:8080 (workers=2)");
	o = one_json();
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
			    "listening on 127.0.0.1:8080 (workers=2)");
	json_decref(o);
}

static void test_json_escapes(void **state)
{
	json_t *o;

	(void)state;
	log_set_format(LOG_FMT_JSON);
	free(written());
	/* Quotes, a backslash, a newline, a control byte, valid UTF-8, and
	 * a UTF-8 sequence cut short (a %.64s in the middle of a letter). */
	log_info("name=%s", "a\"b\\c\nd\x01 Z\xc3\xbcrich \xc3");
	o = one_json();
	assert_null(json_object_get(o, "node"));
	assert_string_equal(json_string_value(json_object_get(o, "name")),
			    "a\"b\\c\nd\x01 Z\xc3\xbcrich \xef\xbf\xbd");
	json_decref(o);
}

/* The limiter's clock, moved by the tests. */
static uint64_t fake_ns = 1000000000ull;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

static void sleep_past(unsigned seconds)
{
	fake_ns += (uint64_t)seconds * 1000000000ull + 1;
}

static void test_limiter_burst_and_summary(void **state)
{
	const struct log_limits l = {3, 1, 100, 50};
	char *t;
	unsigned ok = 0;

	(void)state;
	log_limit_clock(fake_clock);
	log_limit_set(&l);
	free(written());
	for (int i = 0; i < 1000; i++)
		log_refusal("127.0.0.9", "auth outcome=failure ip=127.0.0.9 n=%d", i);
	for (int i = 0; i < 10; i++)
		ok += log_limit_take(LOG_LVL_INFO, "another site", "127.0.0.9");
	assert_int_equal(ok, 3); /* each call site has its own burst */
	t = written();
	assert_int_equal(count_lines(t), 3);
	assert_non_null(strstr(t, "n=0\n"));
	assert_non_null(strstr(t, "n=2\n"));
	assert_null(strstr(t, "n=3\n"));
	free(t);
	/* Nothing is summed up before the interval ends... */
	log_limit_flush();
	t = written();
	assert_string_equal(t, "");
	free(t);
	/* ...and then one line per (site, subject) with its count. */
	sleep_past(l.interval_s);
	log_limit_flush();
	t = written();
	assert_int_equal(count_lines(t), 2);
	assert_non_null(strstr(t, "refusals not logged site=test_limiter_burst_and_summary "
				  "subject=127.0.0.9 count=997 interval_s=1\n"));
	assert_non_null(strstr(t, "site=another site subject=127.0.0.9 count=7 "));
	free(t);
	/* A new interval: the subject's first lines are written again. */
	assert_true(log_limit_take(LOG_LVL_INFO, "site", "127.0.0.9"));
	sleep_past(l.interval_s);
	log_limit_flush();
	t = written();
	assert_string_equal(t, ""); /* nothing was held back */
	free(t);
}

static void test_limiter_bounds_many_subjects(void **state)
{
	const struct log_limits l = {5, 1, 40, 10};
	char subject[32];
	unsigned ok = 0;
	char *t;

	(void)state;
	log_limit_set(&l);
	free(written());
	/* 2 000 subjects, 3 refusals each: 40 lines in all, then 10 summaries
	 * and one for every other subject. */
	for (int i = 0; i < 2000; i++) {
		snprintf(subject, sizeof(subject), "10.0.%d.%d", i / 256, i % 256);
		for (int k = 0; k < 3; k++)
			ok += log_limit_take(LOG_LVL_INFO, "site", subject);
	}
	assert_int_equal(ok, 40);
	sleep_past(l.interval_s);
	log_limit_flush();
	t = written();
	assert_int_equal(count_lines(t), 11);
	assert_non_null(strstr(t, "refusals not logged site=- subjects="));
	free(t);
	/* Below the level logged nothing is counted or written. */
	log_set_level(LOG_LVL_WARN);
	assert_false(log_limit_take(LOG_LVL_INFO, "site", "x"));
	assert_true(log_limit_take(LOG_LVL_WARN, "site", "x"));
	log_set_level(LOG_LVL_INFO);
}

static void test_limiter_names_the_heaviest_at_their_level(void **state)
{
	const struct log_limits l = {1, 1, 100, 1};
	char *t;

	(void)state;
	log_limit_set(&l);
	sleep_past(l.interval_s);
	log_limit_flush();
	free(written());
	/* 10 refusals of a, 50 of b (warn lines), 1 summary allowed. */
	for (int i = 0; i < 10; i++)
		(void)log_limit_take(LOG_LVL_INFO, "site", "a");
	for (int i = 0; i < 50; i++)
		(void)log_limit_take(LOG_LVL_WARN, "site", "b");
	/* At warn, the info lines are not even counted; b's summary shows. */
	log_set_level(LOG_LVL_WARN);
	sleep_past(l.interval_s);
	log_limit_flush();
	log_set_level(LOG_LVL_INFO);
	t = written();
	assert_int_equal(count_lines(t), 1);
	assert_non_null(
	    strstr(t, " warn log_limit: refusals not logged site=site subject=b count=49 "));
	free(t);
	/* New figures end the interval at once: its summaries are written. */
	for (int i = 0; i < 10; i++)
		(void)log_limit_take(LOG_LVL_INFO, "site", "a");
	for (int i = 0; i < 3; i++)
		(void)log_limit_take(LOG_LVL_INFO, "site", "c");
	log_limit_set(&(struct log_limits){1, 60, 100, 1});
	t = written();
	assert_int_equal(count_lines(t), 2);
	assert_non_null(strstr(t, "site=site subject=a count=9 "));
	assert_non_null(strstr(t, "site=- subjects=1 count=2 "));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_line, capture, release),
	    cmocka_unit_test_setup_teardown(test_json_fields, capture, release),
	    cmocka_unit_test_setup_teardown(test_json_escapes, capture, release),
	    cmocka_unit_test_setup_teardown(test_limiter_burst_and_summary, capture, release),
	    cmocka_unit_test_setup_teardown(test_limiter_bounds_many_subjects, capture, release),
	    cmocka_unit_test_setup_teardown(test_limiter_names_the_heaviest_at_their_level, capture,
					    release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
