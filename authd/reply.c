/*
 * Building responses and reading JSON bodies: the helpers every handler
 * uses, so that every error is problem+json from the table in errors.c and
 * every body is checked the same way.
 */
#include "http.h"
#include "metrics.h"

#include <log.h>

#include <libwebsockets.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

void req_add_header(struct req *r, const char *name, const char *value)
{
	int n = snprintf(r->headers + r->headers_len, sizeof(r->headers) - r->headers_len,
			 "%s: %s\r\n", name, value);

	if (n < 0 || (size_t)n >= sizeof(r->headers) - r->headers_len)
		AUTHD_BUG("response headers overflow");
	r->headers_len += (size_t)n;
}

static void send_body(struct req *r, int status, char *body, size_t len, const char *ctype)
{
	if (r->responded)
		AUTHD_BUG("second response to one request");
	r->responded = true;
	r->status = status;
	r->resp = body;
	r->resp_len = len;
	if (ctype)
		req_add_header(r, "Content-Type", ctype);
	if (r->wsi)
		lws_callback_on_writable(r->wsi);
}

void reply_json(struct req *r, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	/* Bodies carry tokens, secrets and backup codes: scrub the values. */
	json_wipe_decref(body);
	if (text == NULL) {
		reply_error(r, E_INTERNAL);
		return;
	}
	send_body(r, status, text, strlen(text), "application/json");
}

void reply_bytes(struct req *r, int status, char *body, size_t len, const char *ctype)
{
	send_body(r, status, body, len, ctype);
}

void reply_json_text(struct req *r, int status, char *text, size_t len)
{
	send_body(r, status, text, len, "application/json");
}

void json_escape(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			esc[n++] = '\\';
			esc[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			esc[n++] = '\\';
			esc[n++] = 'u';
			esc[n++] = '0';
			esc[n++] = '0';
			esc[n++] = hex[c >> 4];
			esc[n++] = hex[c & 15];
		} else {
			esc[n++] = (char)c;
		}
		if (o + n + 1 > size)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
}

void reply_empty(struct req *r, int status)
{
	send_body(r, status, NULL, 0, NULL);
}

/* A problem's body without field or detail, made once per error and kept
 * (replies are the loop's: one thread). NULL when out of memory. */
static const char *problem_plain(enum api_error e)
{
	static char *made[E__COUNT];
	const struct api_error_info *info = api_error_info(e);
	char type[96];
	json_t *body;

	if (made[e])
		return made[e];
	snprintf(type, sizeof(type), "/problems/%s", info->code);
	body = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", info->title, "status",
			 info->status, "code", info->code);
	made[e] = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	return made[e];
}

static void problem(struct req *r, enum api_error e, const char *field, const char *detail)
{
	const struct api_error_info *info = api_error_info(e);
	char type[96];
	json_t *body;
	char *text;

	metrics_refusal((int)e);
	/* RFC 6750 section 3: a bearer token's refusal says why. */
	if (e == E_INVALID_TOKEN || e == E_INSUFFICIENT_SCOPE) {
		snprintf(type, sizeof(type), "Bearer error=\"%s\"", info->code);
		req_add_header(r, "WWW-Authenticate", type);
	}
	snprintf(type, sizeof(type), "/problems/%s", info->code);
	body = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", info->title, "status",
			 info->status, "code", info->code);
	if (body && field)
		json_object_set_new(body, "field", json_string(field));
	if (body && detail)
		json_object_set_new(body, "detail", json_string(detail));
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	/* The unread rest of an oversized body would be parsed as the next
	 * request: close instead. */
	if (e == E_BODY_TOO_LARGE || e == E_LENGTH_REQUIRED || e == E_BAD_CONTENT_LENGTH ||
	    e == E_HEADERS_TOO_LARGE)
		r->close_after = true;
	if (text == NULL) {
		/* Out of memory: a fixed answer, never an abort. */
		static const char oom[] =
		    "{\"type\":\"/problems/overloaded\",\"title\":\"server is busy; retry "
		    "later\",\"status\":503,\"code\":\"overloaded\"}";

		r->close_after = true;
		r->resp_static = true;
		if (strstr(r->headers, "Retry-After:") == NULL) /* a 429's is there */
			req_add_header(r, "Retry-After", "1");
		send_body(r, 503, (char *)oom, sizeof(oom) - 1, "application/problem+json");
		return;
	}
	send_body(r, info->status, text, strlen(text), "application/problem+json");
}

/* The common refusal: a body made once (no field, no detail). */
static void problem_fast(struct req *r, enum api_error e)
{
	const struct api_error_info *info = api_error_info(e);
	const char *text = e == E_INVALID_TOKEN || e == E_INSUFFICIENT_SCOPE ||
				   e == E_BODY_TOO_LARGE || e == E_LENGTH_REQUIRED ||
				   e == E_BAD_CONTENT_LENGTH || e == E_HEADERS_TOO_LARGE
			       ? NULL /* headers or a close of their own */
			       : problem_plain(e);

	if (text == NULL) {
		problem(r, e, NULL, NULL);
		return;
	}
	metrics_refusal((int)e);
	r->resp_static = true;
	send_body(r, info->status, (char *)text, strlen(text), "application/problem+json");
}

void reply_error(struct req *r, enum api_error e)
{
	problem_fast(r, e);
}

void reply_field_error(struct req *r, enum api_error e, const char *field, const char *detail)
{
	problem(r, e, field, detail);
}

void reply_error_retry(struct req *r, enum api_error e, int64_t retry_after)
{
	char v[24];

	snprintf(v, sizeof(v), "%lld", (long long)(retry_after > 0 ? retry_after : 1));
	req_add_header(r, "Retry-After", v);
	problem(r, e, NULL, NULL);
}

void reply_throttled(struct req *r, int64_t retry_after)
{
	reply_error_retry(r, E_TOO_MANY_ATTEMPTS, retry_after);
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (strncasecmp(ct, want, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "must be a string";
	case JSON_INTEGER:
		return "must be an integer";
	case JSON_ARRAY:
		return "must be an array";
	case JSON_OBJECT:
		return "must be an object";
	default:
		return "must be a boolean";
	}
}

json_t *json_body_or_reply(struct req *r, const struct field_spec *spec, size_t n)
{
	json_error_t jerr;
	json_t *obj = NULL;
	const char *key;
	json_t *val;

	if (r->body_too_large) {
		reply_error(r, E_BODY_TOO_LARGE);
		return NULL;
	}
	if (r->body_len == 0) {
		obj = json_object();
	} else {
		if (!is_json_type(r->content_type)) {
			reply_error(r, E_UNSUPPORTED_MEDIA_TYPE);
			return NULL;
		}
		obj = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL) {
			reply_error(r, E_INVALID_JSON);
			return NULL;
		}
		if (!json_is_object(obj)) {
			json_wipe_decref(obj);
			reply_field_error(r, E_INVALID_JSON, NULL, "body must be a json object");
			return NULL;
		}
	}
	json_object_foreach(obj, key, val)
	{
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(spec[i].name, key) == 0)
				break;
		if (i == n) {
			/* Never echo the unknown name: it may hold anything. */
			json_wipe_decref(obj);
			reply_error(r, E_UNKNOWN_FIELD);
			return NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(obj, spec[i].name);
		bool ok;

		if (v == NULL) {
			if (!spec[i].required)
				continue;
			json_wipe_decref(obj);
			reply_field_error(r, E_MISSING_FIELD, spec[i].name, NULL);
			return NULL;
		}
		ok = spec[i].type == JSON_NULL	 ? true /* any: the handler checks */
		     : spec[i].type == JSON_TRUE ? json_is_boolean(v)
						 : json_typeof(v) == spec[i].type;
		if (!ok) {
			json_wipe_decref(obj);
			reply_field_error(r, E_INVALID_FIELD, spec[i].name,
					  type_name(spec[i].type));
			return NULL;
		}
		if (spec[i].type == JSON_STRING &&
		    (json_string_length(v) > spec[i].max_len ||
		     !authd_utf8_printable(json_string_value(v), json_string_length(v)))) {
			json_wipe_decref(obj);
			reply_field_error(r, E_INVALID_FIELD, spec[i].name,
					  "must be printable text within the length limit");
			return NULL;
		}
	}
	return obj;
}

const char *json_str(json_t *obj, const char *name, size_t *len)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

/* Scrubs every string in v, at any depth. */
static void wipe_strings(json_t *v)
{
	if (json_is_string(v)) {
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
			wipe_strings(json_object_iter_value(it));
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			wipe_strings(json_array_get(v, i));
	}
}

void json_wipe_decref(json_t *obj)
{
	if (obj == NULL)
		return;
	/* jansson frees without wiping; its strings are ours to scrub. Only the
	 * last reference wipes, so a value still in use elsewhere is kept. */
	if (obj->refcount == 1)
		wipe_strings(obj);
	json_decref(obj);
}

/* jansson's allocations hold request strings (passwords, codes) and copies
 * made while growing buffers: every block is wiped as it is freed. */
static void *json_alloc(size_t n)
{
	return malloc(n);
}

static void json_free_wiped(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void json_wiping_init(void)
{
	json_set_alloc_funcs(json_alloc, json_free_wiped);
}

bool req_query_or_reply(struct req *r, const char *const *names, size_t n,
			char (*values)[QUERY_VALUE_MAX])
{
	char frag[256];
	bool seen[16] = {false};

	if (n > sizeof(seen) / sizeof(seen[0]))
		AUTHD_BUG("too many query parameters");
	for (size_t i = 0; i < n; i++)
		values[i][0] = '\0';
	for (int idx = 0; r->wsi && idx < 64; idx++) {
		int len =
		    lws_hdr_copy_fragment(r->wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, idx);
		const char *eq;
		size_t i;

		if (len < 0) {
			/* No fragment idx, or one too long for frag. */
			if (lws_hdr_fragment_length(r->wsi, WSI_TOKEN_HTTP_URI_ARGS, idx) <= 0)
				break;
			reply_field_error(r, E_INVALID_FIELD, NULL, "query parameter too long");
			return false;
		}
		eq = strchr(frag, '=');
		for (i = 0; i < n; i++)
			if (eq && strlen(names[i]) == (size_t)(eq - frag) &&
			    strncmp(names[i], frag, (size_t)(eq - frag)) == 0)
				break;
		if (i == n || seen[i]) {
			reply_field_error(r, E_INVALID_FIELD, NULL,
					  i == n ? "unknown query parameter"
						 : "query parameter given twice");
			return false;
		}
		if (strlen(eq + 1) >= QUERY_VALUE_MAX) {
			reply_field_error(r, E_INVALID_FIELD, names[i], "too long");
			return false;
		}
		seen[i] = true;
		snprintf(values[i], QUERY_VALUE_MAX, "%s", eq + 1);
	}
	return true;
}

bool req_path_ids(const char *param, uint8_t first[AUTHD_ID_LEN], uint8_t *second)
{
	const char *slash = strchr(param, '/');
	size_t len = slash ? (size_t)(slash - param) : strlen(param);

	if (authd_unhex(param, len, first, AUTHD_ID_LEN) != 0)
		return false;
	return second == NULL ||
	       (slash && authd_unhex(slash + 1, strlen(slash + 1), second, AUTHD_ID_LEN) == 0);
}
