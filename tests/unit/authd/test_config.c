/* Unit tests for authd/config.c in a test build: defaults, the INI file,
 * flags, and the cross-field rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load(struct authd_config *c, const char *text, char *err, size_t n)
{
	char path[] = "/tmp/authd-conf-XXXXXX";
	int fd = mkstemp(path);
	int rc;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	rc = config_load_file(c, path, err, n);
	unlink(path);
	return rc;
}

static void test_defaults(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.listen_addr, "127.0.0.1");
	assert_int_equal(c.listen_port, 8080);
	assert_int_equal(c.argon2_m_kib, 19456);
	assert_int_equal(c.argon2_t, 2);
	assert_int_equal(c.argon2_p, 1);
	assert_int_equal(c.session_idle_s, 1800);
	assert_int_equal(c.session_absolute_s, 43200);
	assert_false(c.test_clock);
	assert_string_equal(c.engine, "lmdb");
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

static void test_storage_engine(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load(&c, "[storage]\nengine = postgresql\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1); /* no url */
	assert_non_null(strstr(err, "url"));
	assert_int_equal(load(&c,
			      "[storage]\nurl = postgresql://authd@127.0.0.1:5432/authd\n"
			      "connections = 8\n[server]\nnode_id = node-2\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(c.connections, 8);
	assert_string_equal(c.node_id, "node-2");
	assert_int_equal(load(&c, "[storage]\nengine = sqlite\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_int_equal(load(&c, "[storage]\nconnections = 65\n", err, sizeof(err)), -1);
}

static void test_file(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load(&c,
			      "[server]\nlisten_port = 9000\n[password]\n"
			      "argon2_memory_kib = 46080\nargon2_iterations = 1\n"
			      "[totp]\nissuer = Example Host\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.listen_port, 9000);
	assert_int_equal(c.argon2_m_kib, 46080);
	assert_string_equal(c.issuer, "Example Host");
	assert_int_equal(load(&c, "[server]\nbogus = 1\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key"));
	assert_int_equal(load(&c, "[server]\nlisten_port = 70000\n", err, sizeof(err)), -1);
	assert_int_equal(load(&c, "[server]\nlisten_port = 80x\n", err, sizeof(err)), -1);
	assert_int_equal(load(&c, "[server]\ntest_clock = maybe\n", err, sizeof(err)), -1);
	assert_int_equal(load(&c, "not ini at all\n", err, sizeof(err)), -1);
	/* [push]: a challenge lasts 120 s unless said, never above 600. */
	assert_int_equal(c.push_ttl_s, 120);
	assert_int_equal(c.push_recheck_ms, 1000);
	assert_int_equal(
	    load(&c, "[push]\nchallenge_ttl = 600\nrecheck_ms = 250\n", err, sizeof(err)), 0);
	assert_int_equal(c.push_ttl_s, 600);
	assert_int_equal(c.push_recheck_ms, 250);
	assert_int_equal(load(&c, "[push]\nchallenge_ttl = 601\n", err, sizeof(err)), -1);
	assert_int_equal(load(&c, "[push]\nchallenge_ttl = 9\n", err, sizeof(err)), -1);
	assert_int_equal(load(&c, "[push]\nrecheck_ms = 99\n", err, sizeof(err)), -1);
	assert_int_equal(config_load_file(&c, "/nonexistent/authd.conf", err, sizeof(err)), -1);
}

/* inih reads lines of up to 198 bytes whole; a longer one is refused by
 * its number, never cut into a second line that could read as a key. */
static void test_long_lines(void **state)
{
	struct authd_config c;
	char err[256], text[512], url[256];

	(void)state;
	config_defaults(&c);
	/* "url = " and 192 bytes: 198. */
	snprintf(url, sizeof(url), "postgresql://authd@127.0.0.1:5432/");
	memset(url + strlen(url), 'd', 192 - strlen(url));
	url[192] = '\0';
	snprintf(text, sizeof(text), "[storage]\nurl = %s\n[server]\nlisten_port = 9001\n", url);
	assert_int_equal(load(&c, text, err, sizeof(err)), 0);
	assert_string_equal(c.url, url);
	assert_int_equal(c.listen_port, 9001);
	/* One more, and what a cut would have left reads as a key. */
	config_defaults(&c);
	snprintf(text, sizeof(text), "[storage]\n# comment\nurl = %sxlisten_port = 1\n", url);
	assert_int_equal(load(&c, text, err, sizeof(err)), -1);
	assert_string_equal(err, "line 3 is longer than 198 bytes");
	assert_int_equal(c.listen_port, 8080);
}

/* A list spans lines, by continuation or by repeating its key; any other
 * key given twice is refused (a continuation used to replace it). */
static void test_lists_and_repeats(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load(&c,
			      "[server]\ntrusted_proxies = 10.0.0.1,\n  10.0.0.2\n"
			      "  10.1.0.0/16\ntrusted_proxies = ::1\n"
			      "[support]\nagents = 0123456789abcdef0123456789abcdef\n"
			      "  fedcba9876543210fedcba9876543210\n",
			      err, sizeof(err)),
			 0);
	assert_string_equal(c.trusted_proxies, "10.0.0.1,10.0.0.2,10.1.0.0/16,::1");
	assert_string_equal(c.support_agents,
			    "0123456789abcdef0123456789abcdef,fedcba9876543210fedcba9876543210");
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	config_defaults(&c);
	assert_int_equal(load(&c, "[totp]\nissuer = A\n  B\n", err, sizeof(err)), -1);
	assert_string_equal(err, "[totp] issuer given twice at line 3");
	assert_int_equal(load(&c, "[server]\nlisten_port = 1\nlisten_port = 2\n", err, sizeof(err)),
			 -1);
}

static void test_listen_and_rules(void **state)
{
	struct authd_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set_listen(&c, "127.0.0.2:1234"), 0);
	assert_string_equal(c.listen_addr, "127.0.0.2");
	assert_int_equal(c.listen_port, 1234);
	assert_int_equal(config_set_listen(&c, "::1:8080"), 0);
	assert_string_equal(c.listen_addr, "::1");
	assert_int_equal(config_set_listen(&c, "nocolon"), -1);
	assert_int_equal(config_set_listen(&c, ":80"), -1);
	assert_int_equal(config_set_listen(&c, "a:99999"), -1);
	config_defaults(&c);
	c.session_idle_s = c.session_absolute_s + 1;
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	config_defaults(&c);
	snprintf(c.tls_cert, sizeof(c.tls_cert), "cert.pem");
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	/* [sms] quotas: 10 an account and 200 a prefix a day unless said. */
	config_defaults(&c);
	assert_int_equal(c.sms_account_daily_max, 10);
	assert_int_equal(c.sms_prefix_daily_max, 200);
	assert_int_equal(load(&c, "[sms]\naccount_daily_max = 0\n", err, sizeof(err)), -1);
	/* A service credential is long enough not to be guessed. */
	config_defaults(&c);
	snprintf(c.mail_credential, sizeof(c.mail_credential), "short-secret");
	assert_int_equal(config_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mail_credential"));
	assert_null(strstr(err, "short-secret")); /* never echoed */
	snprintf(c.mail_credential, sizeof(c.mail_credential), "%040d", 7);
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
	/* A test build takes the test clock and fixture-only low costs. */
	config_defaults(&c);
	c.test_clock = true;
	c.argon2_m_kib = 64;
	c.argon2_t = 1;
	assert_int_equal(config_validate(&c, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_storage_engine),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_lists_and_repeats),
	    cmocka_unit_test(test_listen_and_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
