/*
 * uri.c owns the linking URI (PROTOCOL.md 4.1):
 *   authd://link?v=1&server=<pct>&secret=<b64url 32 bytes>&totp=<pct>
 * Values are percent-encoded (everything but RFC 3986's unreserved
 * characters). The parser takes the parameters in any order, refuses a
 * repeated or missing one and a version other than 1, and ignores names it
 * does not know (a later v1 may add some).
 */
#include "mp.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "authd://link?"

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends s percent-encoded; false when it does not fit. */
static bool put_pct(char *out, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (unreserved(c)) {
			if (*o + 1 >= cap)
				return false;
			out[(*o)++] = (char)c;
		} else {
			if (*o + 3 >= cap)
				return false;
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return true;
}

static bool put_raw(char *out, size_t cap, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + n >= cap)
		return false;
	memcpy(out + *o, s, n + 1);
	*o += n;
	return true;
}

static bool url_ok(const char *s)
{
	size_t n = strnlen(s, MP_URL_MAX + 1);

	return n > 0 && n <= MP_URL_MAX &&
	       (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

static bool otpauth_ok(const char *s)
{
	size_t n = strnlen(s, MP_OTPAUTH_MAX + 1);

	return n > 0 && n <= MP_OTPAUTH_MAX && strncmp(s, "otpauth://totp/", 15) == 0;
}

int mp_link_uri_build(const struct mp_link_uri *u, char *out, size_t cap)
{
	char secret[(MP_SECRET_LEN * 4 + 2) / 3 + 1];
	size_t o = 0;
	bool ok;

	if (!url_ok(u->server) || !otpauth_ok(u->otpauth))
		return MP_E_INVALID;
	mp_b64url_encode(u->secret, MP_SECRET_LEN, secret);
	ok = put_raw(out, cap, &o, PREFIX "v=1&server=") && put_pct(out, cap, &o, u->server) &&
	     put_raw(out, cap, &o, "&secret=") && put_raw(out, cap, &o, secret) &&
	     put_raw(out, cap, &o, "&totp=") && put_pct(out, cap, &o, u->otpauth);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (!ok) {
		if (cap > 0)
			OPENSSL_cleanse(out, cap);
		return MP_E_SPACE;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of percent-encoding into out (cap bytes with the NUL).
 * Refuses bad escapes, an encoded NUL or control character, and any raw
 * byte but an unreserved one ('+', '/', ':', non-ASCII...): the builder
 * escapes all of them, so one left raw is not a URI authd wrote. */
static bool pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (!unreserved(c)) {
			return false;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

int mp_link_uri_parse(const char *uri, struct mp_link_uri *out)
{
	struct mp_link_uri u;
	const char *p;
	bool have_v = false, have_server = false, have_secret = false, have_totp = false;
	int rc = MP_E_INVALID;

	memset(&u, 0, sizeof(u));
	memset(out, 0, sizeof(*out));
	if (strncmp(uri, PREFIX, strlen(PREFIX)) != 0 || strlen(uri) > MP_LINK_URI_MAX)
		return MP_E_INVALID;
	p = uri + strlen(PREFIX);
	/* The version first: another version's other parameters may differ. */
	for (const char *q = p; *q;) {
		size_t n = strcspn(q, "&");

		if (n >= 2 && q[0] == 'v' && q[1] == '=' && !(n == 3 && q[2] == '1'))
			return MP_E_VERSION;
		q += n + (q[n] == '&');
	}
	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq ? (size_t)(eq - p) : n;
		const char *val = eq ? eq + 1 : p + n;
		size_t vlen = eq ? n - klen - 1 : 0;

		if (eq == NULL)
			goto out;
		if (klen == 1 && p[0] == 'v') {
			if (have_v)
				goto out;
			have_v = true;
			if (vlen != 1 || val[0] != '1') {
				rc = MP_E_VERSION;
				goto out;
			}
		} else if (klen == 6 && memcmp(p, "server", 6) == 0) {
			if (have_server || !pct_decode(val, vlen, u.server, sizeof(u.server)) ||
			    !url_ok(u.server))
				goto out;
			have_server = true;
		} else if (klen == 6 && memcmp(p, "secret", 6) == 0) {
			if (have_secret ||
			    mp_b64url_decode(val, vlen, u.secret, MP_SECRET_LEN) != 0)
				goto out;
			have_secret = true;
		} else if (klen == 4 && memcmp(p, "totp", 4) == 0) {
			if (have_totp || !pct_decode(val, vlen, u.otpauth, sizeof(u.otpauth)) ||
			    !otpauth_ok(u.otpauth))
				goto out;
			have_totp = true;
		}
		p += n;
		if (*p == '&') {
			p++;
			if (*p == '\0')
				goto out; /* a trailing '&' */
		}
	}
	if (!(have_v && have_server && have_secret && have_totp))
		goto out;
	*out = u;
	rc = 0;
out:
	OPENSSL_cleanse(&u, sizeof(u));
	return rc;
}
