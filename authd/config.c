/*
 * The configuration file: INI via inih, one table of keys so that every key
 * is parsed, range-checked and documented in one place.
 */
#include "config.h"

#include "proxy.h"

#include <log.h>
#include <util.h>

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_defaults(struct authd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
	c->listen_port = 8080;
	snprintf(c->data_dir, sizeof(c->data_dir), "data");
	snprintf(c->issuer, sizeof(c->issuer), "authd");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->log_format, sizeof(c->log_format), "text");
	{
		const struct log_limits l = LOG_LIMITS_DEFAULT;

		c->log_refusal_burst = l.burst;
		c->log_refusal_interval_s = l.interval_s;
		c->log_refusal_lines_max = l.lines_max;
		c->log_refusal_summaries_max = l.summaries_max;
	}
	c->map_size_mb = 1024;
	snprintf(c->engine, sizeof(c->engine), "lmdb");
	c->max_body = 16384;
	c->max_connections = 4096;
	c->pool_queue_max = 256;
	c->signup_burst = 5;
	c->signup_per_hour = 20;
	c->signup_inflight = 4;
	c->argon2_m_kib = ARGON2_MIN_M_KIB;
	c->argon2_t = ARGON2_MIN_T;
	c->argon2_p = 1;
	c->session_idle_s = 30 * 60;
	c->session_absolute_s = 12 * 3600;
	c->login_ttl_s = 5 * 60;
	c->sms_account_daily_max = 10;
	c->sms_prefix_daily_max = 200;
	c->reauth_window_s = 5 * 60;
	c->enrollment_ttl_s = 10 * 60;
	c->push_ttl_s = CONFIG_PUSH_TTL_DEFAULT;
	c->push_recheck_ms = 1000;
	c->channel_ping_s = 60;
	c->outbox_poll_ms = 1000;
	c->notify = true;
	snprintf(c->tax_rates, sizeof(c->tax_rates), "CH 8.1, LI 8.1");
	c->payment_days = 30;
	snprintf(c->seller, sizeof(c->seller), "authd");
	c->renewal_every = 3600;
	c->block_after = 0;
	c->terminate_after = 30;
	snprintf(c->smtp_from, sizeof(c->smtp_from), "authd <no-reply@localhost>");
}

/* K_LIST: a comma-separated K_STR that may span lines, by repeating the
 * key or by indented continuation lines (inih passes each as the key). */
enum key_type { K_STR, K_LIST, K_INT, K_SIZE, K_U32, K_I64, K_BOOL };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size; /* for K_STR and K_LIST */
	long long min, max;
};

#define TEXT(sec, n, t, f)                                                                         \
	{                                                                                          \
		sec, n, t, offsetof(struct authd_config, f),                                       \
		    sizeof(((struct authd_config *)0)->f), 0, 0                                    \
	}
#define STR(sec, n, f)	TEXT(sec, n, K_STR, f)
#define LIST(sec, n, f) TEXT(sec, n, K_LIST, f)
#define NUM(sec, n, t, f, lo, hi)                                                                  \
	{                                                                                          \
		sec, n, t, offsetof(struct authd_config, f), 0, lo, hi                             \
	}

static const struct key keys[] = {
    STR("server", "listen_addr", listen_addr),
    NUM("server", "listen_port", K_INT, listen_port, 0, 65535),
    STR("server", "tls_cert", tls_cert),
    STR("server", "tls_key", tls_key),
    LIST("server", "trusted_proxies", trusted_proxies),
    STR("server", "public_url", public_url),
    NUM("server", "max_body", K_SIZE, max_body, 1024, 1048576),
    NUM("server", "max_connections", K_U32, max_connections, 16, 1000000),
    NUM("server", "workers", K_U32, workers, 0, 64),
    NUM("server", "pool_queue", K_U32, pool_queue_max, 1, 65536),
    NUM("server", "test_clock", K_BOOL, test_clock, 0, 1),
    STR("storage", "data_dir", data_dir),
    STR("storage", "key_file", key_file),
    NUM("storage", "map_size_mb", K_SIZE, map_size_mb, 1, 1048576),
    STR("storage", "engine", engine),
    STR("storage", "url", url),
    NUM("storage", "connections", K_U32, connections, 0, 64),
    STR("server", "node_id", node_id),
    NUM("password", "argon2_memory_kib", K_U32, argon2_m_kib, 8, 4194304),
    NUM("password", "argon2_iterations", K_U32, argon2_t, 1, 64),
    NUM("password", "argon2_parallelism", K_U32, argon2_p, 1, 16),
    NUM("session", "idle_timeout", K_I64, session_idle_s, 60, 30 * 86400),
    NUM("session", "absolute_timeout", K_I64, session_absolute_s, 60, 90 * 86400),
    NUM("session", "login_timeout", K_I64, login_ttl_s, 30, 3600),
    NUM("session", "reauth_window", K_I64, reauth_window_s, 30, 3600),
    STR("totp", "issuer", issuer),
    NUM("totp", "enrollment_timeout", K_I64, enrollment_ttl_s, 60, 3600),
    NUM("push", "challenge_ttl", K_I64, push_ttl_s, 10, CONFIG_PUSH_TTL_MAX),
    NUM("push", "recheck_ms", K_U32, push_recheck_ms, 100, 60000),
    NUM("push", "channel_ping_s", K_U32, channel_ping_s, 2, 3600),
    STR("push", "wake_url", wake_url),
    STR("push", "wake_authorization", wake_authorization),
    STR("geoip", "database", geoip_db),
    STR("outbox", "spool_dir", spool_dir),
    STR("outbox", "templates", templates_dir),
    NUM("outbox", "poll_ms", K_U32, outbox_poll_ms, 50, 60000),
    NUM("outbox", "notifications", K_BOOL, notify, 0, 1),
    STR("smtp", "url", smtp_url),
    STR("smtp", "from", smtp_from),
    NUM("smtp", "starttls", K_BOOL, smtp_starttls, 0, 1),
    STR("smtp", "username", smtp_username),
    STR("smtp", "password", smtp_password),
    STR("smtp", "ca_file", smtp_ca_file),
    STR("sms", "url", sms_url),
    STR("sms", "authorization", sms_authorization),
    NUM("sms", "account_daily_max", K_U32, sms_account_daily_max, 1, 1000),
    NUM("sms", "prefix_daily_max", K_U32, sms_prefix_daily_max, 1, 10000000),
    STR("services", "mail_credential", mail_credential),
    STR("services", "metrics_credential", metrics_credential),
    STR("admin", "socket", admin_socket),
    LIST("support", "reviewers", support_reviewers),
    LIST("support", "agents", support_agents),
    LIST("support", "leads", support_leads),
    STR("billing", "provider_url", provider_url),
    STR("billing", "provider_authorization", provider_authorization),
    STR("billing", "webhook_secret", webhook_secret),
    LIST("billing", "staff", billing_staff),
    STR("billing", "tax", tax_rates),
    NUM("billing", "payment_days", K_U32, payment_days, 1, 365),
    STR("billing", "seller", seller),
    NUM("billing", "renewal_every", K_U32, renewal_every, 60, 86400),
    NUM("billing", "block_after", K_U32, block_after, 0, 365),
    NUM("billing", "terminate_after", K_U32, terminate_after, 1, 3650),
    STR("log", "level", log_level),
    STR("log", "format", log_format),
    NUM("log", "refusal_burst", K_U32, log_refusal_burst, 0, 1000),
    NUM("log", "refusal_interval_s", K_U32, log_refusal_interval_s, 1, 3600),
    NUM("log", "refusal_lines_max", K_U32, log_refusal_lines_max, 0, 100000),
    NUM("log", "refusal_summaries_max", K_U32, log_refusal_summaries_max, 0, 256),
    NUM("signup", "burst", K_U32, signup_burst, 1, 1000000),
    NUM("signup", "per_hour", K_U32, signup_per_hour, 0, 1000000),
    NUM("signup", "inflight", K_U32, signup_inflight, 1, 4096),
};

struct load_ctx {
	struct authd_config *c;
	char *err;
	size_t err_size;
	bool seen[sizeof(keys) / sizeof(keys[0])]; /* given in this file */
};

static int set_key(struct authd_config *c, const struct key *k, const char *value)
{
	char *base = (char *)c + k->offset;
	char *end = NULL;
	long long v;

	if (k->type == K_STR || k->type == K_LIST) {
		if (strlen(value) >= k->size)
			return -1;
		snprintf(base, k->size, "%s", value);
		return 0;
	}
	if (k->type == K_BOOL) {
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*(bool *)base = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
			*(bool *)base = false;
		else
			return -1;
		return 0;
	}
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < k->min || v > k->max)
		return -1;
	switch (k->type) {
	case K_INT:
		*(int *)base = (int)v;
		break;
	case K_SIZE:
		*(size_t *)base = (size_t)v;
		break;
	case K_U32:
		*(uint32_t *)base = (uint32_t)v;
		break;
	case K_I64:
		*(int64_t *)base = (int64_t)v;
		break;
	default:
		return -1;
	}
	return 0;
}

/* Appends value to a list given earlier in the file. */
static int add_item(struct authd_config *c, const struct key *k, const char *value)
{
	char *base = (char *)c + k->offset;
	size_t n = strlen(base);
	bool comma = n > 0 && base[n - 1] != ',' && value[0] != ',' && value[0] != '\0';

	if (n + comma + strlen(value) >= k->size)
		return -1;
	snprintf(base + n, k->size - n, "%s%s", comma ? "," : "", value);
	return 0;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 || strcmp(keys[i].name, name) != 0)
			continue;
		if (ctx->seen[i] && keys[i].type != K_LIST) {
			snprintf(ctx->err, ctx->err_size, "[%s] %s given twice", section, name);
			return 0;
		}
		if (ctx->seen[i] ? add_item(ctx->c, &keys[i], value) == 0
				 : set_key(ctx->c, &keys[i], value) == 0) {
			ctx->seen[i] = true;
			return 1;
		}
		snprintf(ctx->err, ctx->err_size, "bad value for [%s] %s", section, name);
		return 0;
	}
	snprintf(ctx->err, ctx->err_size, "unknown key [%.32s] %.64s", section, name);
	return 0;
}

/* The keys a reload (SIGHUP) may change: figures read on the loop thread
 * or behind a lock of their own. Everything else needs a restart. */
static const char *const reloadable[] = {
    "log.level",
    "log.format",
    "log.refusal_burst",
    "log.refusal_interval_s",
    "log.refusal_lines_max",
    "log.refusal_summaries_max",
    "signup.burst",
    "signup.per_hour",
    "signup.inflight",
    "sms.account_daily_max",
    "sms.prefix_daily_max",
    "outbox.templates",
};

static bool is_reloadable(const struct key *k)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
	for (size_t i = 0; i < sizeof(reloadable) / sizeof(reloadable[0]); i++)
		if (strcmp(reloadable[i], name) == 0)
			return true;
	return false;
}

static size_t value_size(const struct key *k)
{
	switch (k->type) {
	case K_STR:
	case K_LIST:
		return k->size;
	case K_INT:
		return sizeof(int);
	case K_SIZE:
		return sizeof(size_t);
	case K_U32:
		return sizeof(uint32_t);
	case K_I64:
		return sizeof(int64_t);
	case K_BOOL:
		return sizeof(bool);
	}
	return 0;
}

static void list_add(char *list, size_t size, const struct key *k)
{
	size_t n = strlen(list);

	snprintf(list + n, size - n, "%s[%s] %s", n ? ", " : "", k->section, k->name);
}

int config_reload(struct authd_config *live, const struct authd_config *fresh, char *changed,
		  size_t changed_size, char *kept, size_t kept_size)
{
	int n = 0;

	changed[0] = kept[0] = '\0';
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		char *to = (char *)live + k->offset;
		const char *from = (const char *)fresh + k->offset;
		bool same = k->type == K_STR || k->type == K_LIST
				? strcmp(to, from) == 0
				: memcmp(to, from, value_size(k)) == 0;

		if (same)
			continue;
		if (!is_reloadable(k)) {
			list_add(kept, kept_size, k);
			continue;
		}
		memcpy(to, from, value_size(k));
		list_add(changed, changed_size, k);
		n++;
	}
	return n;
}

/* The line of f longer than inih reads whole (0 when none), f rewound.
 * inih reads a line INI_MAX_LINE - 1 bytes at a time, newline included,
 * and parses the rest of a longer one as a line of its own: a long value
 * would be cut, and what follows its cut could read as a key. */
static int overlong_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int at = 0, bad = 0;

	while (bad == 0 && (n = getline(&line, &cap, f)) >= 0) {
		at++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > INI_MAX_LINE - 2)
			bad = at;
	}
	free(line);
	rewind(f);
	return bad;
}

int config_load_file(struct authd_config *c, const char *path, char *err, size_t err_size)
{
	struct load_ctx ctx = {c, err, err_size, {false}};
	FILE *f;
	int rc;

	err[0] = '\0';
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, err_size, "cannot open config file %.256s", path);
		return -1;
	}
	rc = overlong_line(f);
	if (rc != 0) {
		fclose(f);
		snprintf(err, err_size, "line %d is longer than %d bytes", rc, INI_MAX_LINE - 2);
		return -1;
	}
	rc = ini_parse_file(f, on_key, &ctx);
	fclose(f);
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, err_size, "syntax error");
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%.200s at line %d", err, rc);
		snprintf(err, err_size, "%s", tmp);
		return -1;
	}
	return 0;
}

int config_validate(const struct authd_config *c, char *err, size_t err_size)
{
	if (c->test_clock && !authd_test_build()) {
		snprintf(err, err_size, "test_clock needs a test build (-DAUTHD_TEST_HOOKS=ON)");
		return -1;
	}
	/* Below-minimum costs exist for benchmark fixtures in test builds only. */
	if (!authd_test_build() &&
	    (c->argon2_m_kib < ARGON2_MIN_M_KIB || c->argon2_t < ARGON2_MIN_T)) {
		snprintf(err, err_size, "argon2id cost below m=%u KiB t=%u", ARGON2_MIN_M_KIB,
			 ARGON2_MIN_T);
		return -1;
	}
	if (c->session_idle_s > c->session_absolute_s) {
		snprintf(err, err_size, "idle_timeout exceeds absolute_timeout");
		return -1;
	}
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
		snprintf(err, err_size, "tls_cert and tls_key go together");
		return -1;
	}
	if (c->public_url[0] == '\0' &&
	    (strcmp(c->listen_addr, "0.0.0.0") == 0 || strcmp(c->listen_addr, "::") == 0)) {
		snprintf(err, err_size,
			 "[server] public_url is needed when listening on %s: linking URIs name "
			 "the address devices reach this server at",
			 c->listen_addr);
		return -1;
	}
	if (c->public_url[0] && strncmp(c->public_url, "http://", 7) != 0 &&
	    strncmp(c->public_url, "https://", 8) != 0) {
		snprintf(err, err_size, "[server] public_url starts with http:// or https://");
		return -1;
	}
	if (strcmp(c->engine, "lmdb") != 0 && strcmp(c->engine, "postgresql") != 0) {
		snprintf(err, err_size, "[storage] engine is lmdb or postgresql, not %.16s",
			 c->engine);
		return -1;
	}
	if (strcmp(c->engine, "postgresql") == 0 && c->url[0] == '\0') {
		snprintf(err, err_size, "[storage] engine = postgresql needs [storage] url");
		return -1;
	}
	struct proxy_list proxies;

	if (proxy_list_parse(&proxies, c->trusted_proxies) != 0) {
		snprintf(err, err_size,
			 "[server] trusted_proxies wants addresses or CIDRs, comma separated (at "
			 "most %d)",
			 PROXY_MAX_NETS);
		return -1;
	}
	if (c->smtp_url[0] && strncmp(c->smtp_url, "smtp://", 7) != 0 &&
	    strncmp(c->smtp_url, "smtps://", 8) != 0) {
		snprintf(err, err_size, "[smtp] url starts with smtp:// or smtps://");
		return -1;
	}
	if (c->metrics_credential[0] && strlen(c->metrics_credential) < 32) {
		snprintf(err, err_size, "[services] metrics_credential has at least 32 characters");
		return -1;
	}
	if (c->mail_credential[0] && strlen(c->mail_credential) < 32) {
		snprintf(err, err_size, "[services] mail_credential has at least 32 characters");
		return -1;
	}
	if (c->sms_url[0] && strncmp(c->sms_url, "http://", 7) != 0 &&
	    strncmp(c->sms_url, "https://", 8) != 0) {
		snprintf(err, err_size, "[sms] url starts with http:// or https://");
		return -1;
	}
	if (c->smtp_username[0] && strncmp(c->smtp_url, "smtps://", 8) != 0 && !c->smtp_starttls) {
		snprintf(err, err_size,
			 "[smtp] username needs TLS: an smtps:// url, or starttls = true");
		return -1;
	}
	if (strpbrk(c->smtp_from, "\r\n") != NULL || c->smtp_from[0] == '\0') {
		snprintf(err, err_size,
			 "[smtp] from is one line: \"Name <address>\" or an address");
		return -1;
	}
	if (log_format_parse(c->log_format) < 0) {
		snprintf(err, err_size, "[log] format is text or json, not %.16s", c->log_format);
		return -1;
	}
	if (log_level_parse(c->log_level) < 0) {
		snprintf(err, err_size, "unknown log level %.16s", c->log_level);
		return -1;
	}
	return 0;
}

int config_set_listen(struct authd_config *c, const char *addr_port)
{
	const char *colon = strrchr(addr_port, ':');
	char *end = NULL;
	long port;
	size_t alen;

	if (colon == NULL)
		return -1;
	alen = (size_t)(colon - addr_port);
	if (alen == 0 || alen >= sizeof(c->listen_addr))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
		return -1;
	memcpy(c->listen_addr, addr_port, alen);
	c->listen_addr[alen] = '\0';
	c->listen_port = (int)port;
	return 0;
}
