/*
 * libFuzzer target: the request headers and the path as authd reads them
 * itself, once lws has split the request. The first byte holds flags (bit
 * 0: an unsafe method, POST, else GET; bit 1: the admin socket); the rest
 * is lines:
 *
 *   Authorization \n Cookie \n X-CSRF-Token \n User-Agent \n path \n
 *   Content-Type \n X-Provider-Signature \n body...
 *
 * each copied into the request as server.c's req_new() does (a header too
 * long for its field is absent). Through the public entry points that read
 * them: session_credential_or_reply() (Bearer token, session cookie and
 * CSRF token: cookie_value() and token_parse()), session_device_of() (the
 * device cookie), service_credential_or_reply() (a service's Bearer
 * credential), client_names() (User-Agent), pages_serve() and
 * router_dispatch() with a method no route has (the version, the route
 * match and its captures, without running a handler) and req_path_ids(),
 * json_body_or_reply() (Content-Type), provider_signature_ok() (the
 * payment provider's webhook signature). X-Forwarded-For is fuzz_proxy's.
 */
#include "client.h"
#include "config.h"
#include "http.h"
#include "pages.h"
#include "provider.h"
#include "session.h"

#include <log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAIL_CREDENTIAL "fuzz-mail-service-credential-0123456789"
#define NOW		1700000000

enum { H_AUTHORIZATION, H_COOKIE, H_CSRF, H_USER_AGENT, H_PATH, H_CONTENT_TYPE, H_SIGNATURE, H_N };

struct input {
	const char *line[H_N];
	size_t len[H_N];
	const char *body;
	size_t body_len;
};

static void split(const uint8_t *data, size_t size, struct input *in)
{
	const char *p = (const char *)data, *end = p + size;

	for (int i = 0; i < H_N; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		in->line[i] = p;
		in->len[i] = nl ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl ? nl + 1 : end;
	}
	in->body = p;
	in->body_len = (size_t)(end - p);
}

/* A header into its field, as copy_header(): absent when too long. */
static void copy(char *dst, size_t size, const struct input *in, int h)
{
	dst[0] = '\0';
	if (in->len[h] > 0 && in->len[h] < size) {
		memcpy(dst, in->line[h], in->len[h]);
		dst[in->len[h]] = '\0';
	}
}

static struct req *req_of(const struct input *in, unsigned flags)
{
	struct req *r = calloc(1, sizeof(*r));
	const char *q;

	if (r == NULL)
		abort();
	r->method = flags & 1 ? M_POST : M_GET;
	r->admin = r->on_admin_socket = (flags & 2) != 0;
	r->idem_len = -1;
	snprintf(r->ip, sizeof(r->ip), "192.0.2.1");
	copy(r->authorization, sizeof(r->authorization), in, H_AUTHORIZATION);
	if (strncasecmp(r->authorization, "Bearer ", 7) != 0 && in->len[H_COOKIE] > 0 &&
	    in->len[H_COOKIE] < 4096) {
		if ((r->cookie = malloc(in->len[H_COOKIE] + 1)) == NULL)
			abort();
		copy(r->cookie, in->len[H_COOKIE] + 1, in, H_COOKIE);
	}
	copy(r->csrf, sizeof(r->csrf), in, H_CSRF);
	copy(r->content_type, sizeof(r->content_type), in, H_CONTENT_TYPE);
	copy(r->signature, sizeof(r->signature), in, H_SIGNATURE);
	/* lws hands over the URI up to its query, as a C string. */
	q = memchr(in->line[H_PATH], '?', in->len[H_PATH]);
	snprintf(r->path, sizeof(r->path), "%.*s",
		 (int)(q ? (size_t)(q - in->line[H_PATH]) : in->len[H_PATH]), in->line[H_PATH]);
	return r;
}

/* Frees the response of r, so that another entry point may answer. */
static void reset(struct req *r)
{
	if (!r->resp_static)
		free(r->resp);
	r->resp = NULL;
	r->resp_static = r->responded = false;
	r->status = 0;
	r->headers[0] = '\0';
	r->headers_len = 0;
}

static void credentials(struct req *r)
{
	struct token_ref ref;
	struct device_cookie d;
	bool via_cookie = true, ok;

	ok = session_credential_or_reply(r, &ref, &via_cookie);
	if (ok) {
		char want[65];

		if (r->responded)
			abort();
		if (!via_cookie && strncasecmp(r->authorization, "Bearer ", 7) != 0)
			abort();
		if (via_cookie) {
			if (r->cookie == NULL || strstr(r->cookie, SESSION_COOKIE "=") == NULL)
				abort();
			session_csrf(ref.hash, want);
			if (r->method != M_GET && strcmp(want, r->csrf) != 0)
				abort();
		}
	} else if (!r->responded || (r->status != 401 && r->status != 403)) {
		abort();
	}
	reset(r);
	if (session_device_of(r, &d) &&
	    (r->cookie == NULL || strstr(r->cookie, DEVICE_COOKIE "=") == NULL))
		abort();

	ok = service_credential_or_reply(r, ACT_SERVICE_LOGIN_EMAIL_DELETED);
	if (ok != (strncasecmp(r->authorization, "Bearer ", 7) == 0 &&
		   strcmp(r->authorization + 7, MAIL_CREDENTIAL) == 0))
		abort();
	if (ok == r->responded || (!ok && r->status != 401))
		abort();
	reset(r);
	/* No metrics credential configured: nobody passes. */
	if (service_credential_or_reply(r, ACT_METRICS) || r->status != 401)
		abort();
	reset(r);
}

static void user_agent(const struct input *in)
{
	static const char *const systems[] = {"unknown", "Android", "iOS",	"iPadOS",
					      "Windows", "macOS",   "ChromeOS", "Linux"};
	char ua[256], browser[64], os[32], small[6];
	bool known = false;

	copy(ua, sizeof(ua), in, H_USER_AGENT);
	client_names(ua, browser, sizeof(browser), os, sizeof(os));
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]); i++)
		known |= strcmp(os, systems[i]) == 0;
	if (!known || strlen(browser) > sizeof("Firefox 1234") - 1)
		abort();
	client_names(ua, small, sizeof(small), small, sizeof(small));
}

static void route(struct req *r)
{
	const char *path = r->path;
	uint8_t first[AUTHD_ID_LEN], second[AUTHD_ID_LEN];

	while (*path == '/')
		path++;
	/* The router's first step for a GET off the admin socket. */
	if (!r->admin && !(*path >= '0' && *path <= '9') && pages_serve(r, path)) {
		if (r->status != 200 && r->status != 403)
			abort();
		reset(r);
	} else if (r->responded) {
		abort();
	}
	/* No route has M_OTHER: every path ends in a 4xx, no handler runs. */
	r->method = M_OTHER;
	router_dispatch(r);
	if (!r->responded || r->status < 400 || r->status > 499 ||
	    strlen(r->param) >= sizeof(r->param))
		abort();
	(void)req_path_ids(r->param, first, second);
	(void)req_path_ids(r->param, first, NULL);
	reset(r);
}

static void content_type(struct req *r)
{
	json_t *obj;
	char body[] = "{}";

	r->body = body;
	r->body_len = 2;
	obj = json_body_or_reply(r, NULL, 0);
	if (obj != NULL) {
		if (strncasecmp(r->content_type, "application/json", 16) != 0)
			abort();
		json_decref(obj);
	} else if (r->status != 415) {
		abort();
	}
	r->body = NULL;
	r->body_len = 0;
	reset(r);
}

static void signature(const struct req *r, const struct input *in)
{
	char good[160];

	(void)provider_signature_ok(r->signature, in->body, in->body_len, NOW);
	provider_sign(in->body, in->body_len, NOW, good, sizeof(good));
	if (!provider_signature_ok(good, in->body, in->body_len, NOW) ||
	    !provider_signature_ok(good, in->body, in->body_len, NOW + PROVIDER_SIGNATURE_SKEW) ||
	    provider_signature_ok(good, in->body, in->body_len, NOW + PROVIDER_SIGNATURE_SKEW + 1))
		abort();
	if (in->body_len > 0 &&
	    provider_signature_ok(good, in->body, in->body_len - 1, NOW)) /* one byte less */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct authd_config cfg;
	struct input in;
	struct req *r;

	if (size == 0 || size > 16384)
		return 0;
	if (cfg.webhook_secret[0] == '\0') {
		log_set_level(LOG_LVL_ERR);
		config_defaults(&cfg);
		snprintf(cfg.webhook_secret, sizeof(cfg.webhook_secret), "fuzz-webhook-secret");
		snprintf(cfg.mail_credential, sizeof(cfg.mail_credential), "%s", MAIL_CREDENTIAL);
		provider_setup(&cfg);
		service_setup(&cfg);
	}
	split(data + 1, size - 1, &in);
	r = req_of(&in, data[0]);
	credentials(r);
	user_agent(&in);
	route(r);
	content_type(r);
	signature(r, &in);
	free(r->cookie);
	free(r);
	return 0;
}
