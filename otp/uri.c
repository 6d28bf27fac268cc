/*
 * uri.c owns otpauth:// key URIs (Google's Key-Uri-Format): building the one
 * authenticator apps import at enrolment, and parsing one back. Parsing takes
 * arbitrary bytes and is meant to be fuzzed: every field is copied with an
 * explicit bound, the whole URI must be printable ASCII, and anything
 * ambiguous (a repeated parameter, two different issuers, two literal colons
 * in the label) is refused rather than guessed at. Issuer and account must be
 * free of control characters in both directions, since they end up on
 * screens and in logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "otp-internal.h"
#include "otp.h"

#define URI_PREFIX     "otpauth://totp/"
#define URI_PREFIX_LEN (sizeof(URI_PREFIX) - 1)
#define URI_MAX	       4096 /* far above the longest URI otp_uri_build() writes */
/* Base32 of OTP_KEY_MAX bytes plus padding, and a NUL. */
#define SECRET_TEXT_MAX 112
#define ISSUER_MAX	(sizeof(((struct otp_uri *)0)->issuer))
#define ACCOUNT_MAX	(sizeof(((struct otp_uri *)0)->account))

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Length of s percent-encoded, or 0 when s holds a control character. */
static size_t pct_encoded_len(const char *s)
{
	size_t n = 0;
	int control = 0;

	for (; *s != '\0'; s++) {
		control |= is_control((unsigned char)*s);
		n += is_unreserved((unsigned char)*s) ? 1 : 3;
	}
	return control ? 0 : n;
}

/* Appends s percent-encoded at p; the caller has sized the buffer. */
static char *pct_encode(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

int otp_uri_build(const char *issuer, const char *account, const uint8_t *key, size_t key_len,
		  const struct otp_totp_params *p, char **out)
{
	char secret[SECRET_TEXT_MAX] = {0};
	char tail[64];
	char *buf = NULL, *w;
	size_t issuer_len, account_len, enc_issuer, enc_account, total = 0;
	int n, r = OTP_E_INVALID;

	if (out == NULL)
		goto out;
	*out = NULL;
	if (issuer == NULL || account == NULL || otp_key_check(key, key_len) != 0 ||
	    otp_params_check(p) != 0)
		goto out;
	/* Whatever is built must parse back into struct otp_uri unchanged. */
	issuer_len = strnlen(issuer, ISSUER_MAX);
	account_len = strnlen(account, ACCOUNT_MAX);
	if (issuer_len == 0 || issuer_len >= ISSUER_MAX || account_len == 0 ||
	    account_len >= ACCOUNT_MAX)
		goto out;
	enc_issuer = pct_encoded_len(issuer);
	enc_account = pct_encoded_len(account);
	if (enc_issuer == 0 || enc_account == 0)
		goto out;
	r = otp_base32_encode(key, key_len, secret, sizeof(secret));
	if (r != OTP_OK) {
		r = OTP_E_INTERNAL;
		goto out;
	}
	n = snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%u&period=%u", otp_alg_name(p->alg),
		     p->digits, p->period);
	if (n < 0 || (size_t)n >= sizeof(tail)) {
		r = OTP_E_INTERNAL;
		goto out;
	}
	total = URI_PREFIX_LEN + enc_issuer + 1 + enc_account + strlen("?secret=") +
		strlen(secret) + strlen("&issuer=") + enc_issuer + (size_t)n + 1;
	buf = malloc(total);
	if (buf == NULL) {
		r = OTP_E_NOMEM;
		goto out;
	}
	w = buf;
	memcpy(w, URI_PREFIX, URI_PREFIX_LEN);
	w += URI_PREFIX_LEN;
	w = pct_encode(w, issuer);
	*w++ = ':';
	w = pct_encode(w, account);
	w = stpcpy(w, "?secret=");
	w = stpcpy(w, secret);
	w = stpcpy(w, "&issuer=");
	w = pct_encode(w, issuer);
	w = stpcpy(w, tail);
	if ((size_t)(w - buf) + 1 != total) {
		r = OTP_E_INTERNAL;
		goto out;
	}
	*out = buf;
	buf = NULL;
	r = OTP_OK;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (buf != NULL)
		OPENSSL_clear_free(buf, total);
	return r;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes in[0..len) into out as a C string of at most out_size - 1
 * bytes. Refuses a broken escape, a decoded control character (which also
 * keeps NUL out of C strings) and anything too long: OTP_E_INVALID.
 */
static int pct_decode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len)
{
	size_t o = 0;
	int r = OTP_E_INVALID;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				goto out;
			hi = hex_value((unsigned char)in[i + 1]);
			lo = hex_value((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				goto out;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (is_control(c) || o + 1 >= out_size)
			goto out;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	*out_len = o;
	r = OTP_OK;
out:
	if (r != OTP_OK)
		OPENSSL_cleanse(out, out_size);
	return r;
}

/* A decimal number of 1..3 digits in [min, max], nothing else. */
static int parse_small_uint(const char *s, size_t len, unsigned min, unsigned max, unsigned *v)
{
	unsigned n = 0;
	int r = OTP_E_INVALID;

	if (len < 1 || len > 3)
		goto out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto out;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	if (n < min || n > max)
		goto out;
	*v = n;
	r = OTP_OK;
out:
	return r;
}

/* Splits the label "ISSUER:ACCOUNT" (or "ACCOUNT") and decodes both parts into u. */
static int parse_label(const char *label, size_t len, struct otp_uri *u)
{
	const char *colon = memchr(label, ':', len);
	size_t n = 0, ilen;
	int r = OTP_E_INVALID;

	if (colon == NULL) {
		u->issuer[0] = '\0';
		if (pct_decode(label, len, u->account, sizeof(u->account), &n) != OTP_OK || n == 0)
			goto out;
	} else {
		ilen = (size_t)(colon - label);
		if (memchr(colon + 1, ':', len - ilen - 1) != NULL)
			goto out;
		if (pct_decode(label, ilen, u->issuer, sizeof(u->issuer), &n) != OTP_OK || n == 0)
			goto out;
		if (pct_decode(colon + 1, len - ilen - 1, u->account, sizeof(u->account), &n) !=
			OTP_OK ||
		    n == 0)
			goto out;
	}
	r = OTP_OK;
out:
	return r;
}

enum seen {
	SEEN_SECRET = 1 << 0,
	SEEN_ISSUER = 1 << 1,
	SEEN_ALGORITHM = 1 << 2,
	SEEN_DIGITS = 1 << 3,
	SEEN_PERIOD = 1 << 4,
};

/* Which known parameter name[0..len) is, or 0 for one we ignore. */
static unsigned param_flag(const char *name, size_t len)
{
	static const struct {
		const char *name;
		unsigned flag;
	} known[] = {
	    {"secret", SEEN_SECRET}, {"issuer", SEEN_ISSUER}, {"algorithm", SEEN_ALGORITHM},
	    {"digits", SEEN_DIGITS}, {"period", SEEN_PERIOD},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
			return known[i].flag;
	return 0;
}

/*
 * Applies one query parameter name=value (both still encoded) to u; the
 * issuer parameter goes to param_issuer, to be checked against the label's.
 */
static int parse_param(const char *name, size_t name_len, const char *value, size_t value_len,
		       struct otp_uri *u, char *param_issuer, unsigned *seen)
{
	char text[SECRET_TEXT_MAX] = {0};
	size_t n = 0, key_len = 0;
	unsigned flag = param_flag(name, name_len), v = 0;
	int r = OTP_OK;

	/* Unknown parameters (image=, counter= of other apps) are ignored, as apps do. */
	if (flag == 0)
		goto out;
	r = OTP_E_INVALID;
	if (*seen & flag)
		goto out;
	*seen |= flag;
	/* Short fields decode into 8 bytes at most: anything longer is invalid anyway. */
	if (flag == SEEN_ISSUER)
		r = pct_decode(value, value_len, param_issuer, ISSUER_MAX, &n);
	else
		r = pct_decode(value, value_len, text, flag == SEEN_SECRET ? sizeof(text) : 8, &n);
	if (r != OTP_OK || n == 0) {
		r = OTP_E_INVALID;
		goto out;
	}
	r = OTP_E_INVALID;

	switch (flag) {
	case SEEN_SECRET:
		r = otp_base32_decode(text, n, u->key, sizeof(u->key), &key_len);
		/* A secret longer than OTP_KEY_MAX is a too-long field, not bad base32. */
		if (r == OTP_E_SPACE || (r == OTP_OK && key_len == 0))
			r = OTP_E_INVALID;
		if (r != OTP_OK)
			goto out;
		u->key_len = key_len;
		break;
	case SEEN_ISSUER:
		break;
	case SEEN_ALGORITHM:
		if (strcasecmp(text, "SHA1") == 0)
			u->params.alg = OTP_ALG_SHA1;
		else if (strcasecmp(text, "SHA256") == 0)
			u->params.alg = OTP_ALG_SHA256;
		else if (strcasecmp(text, "SHA512") == 0)
			u->params.alg = OTP_ALG_SHA512;
		else
			goto out;
		break;
	case SEEN_DIGITS:
		if (parse_small_uint(text, n, OTP_DIGITS_MIN, OTP_DIGITS_MAX, &v) != OTP_OK)
			goto out;
		u->params.digits = v;
		break;
	case SEEN_PERIOD:
		if (parse_small_uint(text, n, 1, OTP_PERIOD_MAX, &v) != OTP_OK)
			goto out;
		u->params.period = v;
		break;
	}
	r = OTP_OK;
out:
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

int otp_uri_parse(const char *uri, size_t len, struct otp_uri *out)
{
	struct otp_uri u;
	const struct otp_totp_params defaults = OTP_TOTP_PARAMS_DEFAULT;
	char param_issuer[ISSUER_MAX] = {0};
	const char *q;
	size_t label_len, i;
	unsigned seen = 0;
	int r = OTP_E_INVALID;

	memset(&u, 0, sizeof(u));
	u.params = defaults;
	if (uri == NULL || out == NULL || len < URI_PREFIX_LEN || len > URI_MAX)
		goto out;
	/* A URI is printable ASCII; '#' would start a fragment we have no use for. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];

		if (c <= 0x20 || c >= 0x7f || c == '#')
			goto out;
	}
	/* Scheme and host are case-insensitive (RFC 3986 3.1, 3.2.2). */
	if (strncasecmp(uri, URI_PREFIX, URI_PREFIX_LEN) != 0)
		goto out;
	q = memchr(uri + URI_PREFIX_LEN, '?', len - URI_PREFIX_LEN);
	if (q == NULL)
		goto out;
	label_len = (size_t)(q - uri) - URI_PREFIX_LEN;
	r = parse_label(uri + URI_PREFIX_LEN, label_len, &u);
	if (r != OTP_OK)
		goto out;

	for (i = (size_t)(q - uri) + 1; i < len;) {
		const char *seg = uri + i, *amp, *eq;
		size_t seg_len;

		amp = memchr(seg, '&', len - i);
		seg_len = amp != NULL ? (size_t)(amp - seg) : len - i;
		i += seg_len + 1;
		if (seg_len == 0)
			continue;
		eq = memchr(seg, '=', seg_len);
		if (eq == NULL) {
			r = OTP_E_INVALID;
			goto out;
		}
		r = parse_param(seg, (size_t)(eq - seg), eq + 1, seg_len - (size_t)(eq - seg) - 1,
				&u, param_issuer, &seen);
		if (r != OTP_OK)
			goto out;
	}

	r = OTP_E_INVALID;
	if (!(seen & SEEN_SECRET) || otp_params_check(&u.params) != 0)
		goto out;
	if (seen & SEEN_ISSUER) {
		if (u.issuer[0] != '\0' && strcmp(u.issuer, param_issuer) != 0)
			goto out;
		memcpy(u.issuer, param_issuer, sizeof(u.issuer));
	}
	*out = u;
	r = OTP_OK;
out:
	OPENSSL_cleanse(&u, sizeof(u));
	return r;
}
