/*
 * The helpers behind util.h. The test clock offset lives here: it exists in
 * every build, but only a test build's authd_clock_advance() can move it.
 */
#include "util.h"

#include "log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t clock_offset;
static _Atomic int64_t clock_frozen_at; /* 0: the clock runs */

int64_t authd_now(void)
{
	struct timespec ts;
	int64_t frozen = atomic_load(&clock_frozen_at);

	if (frozen)
		return frozen + atomic_load(&clock_offset);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + atomic_load(&clock_offset);
}

int64_t authd_now_ms(void)
{
	struct timespec ts;
	int64_t frozen = atomic_load(&clock_frozen_at);

	if (frozen)
		return (frozen + atomic_load(&clock_offset)) * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec + atomic_load(&clock_offset)) * 1000 + ts.tv_nsec / 1000000;
}

int64_t authd_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t authd_mono_ms(void)
{
	return authd_mono_us() / 1000;
}

bool authd_test_build(void)
{
#ifdef AUTHD_TEST_HOOKS
	return true;
#else
	return false;
#endif
}

void authd_clock_advance(int64_t seconds)
{
#ifdef AUTHD_TEST_HOOKS
	if (seconds > 0)
		atomic_fetch_add(&clock_offset, seconds);
#else
	(void)seconds;
	AUTHD_BUG("test clock in a release build");
#endif
}

void authd_clock_freeze(void)
{
#ifdef AUTHD_TEST_HOOKS
	struct timespec ts;
	int64_t zero = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_compare_exchange_strong(&clock_frozen_at, &zero, (int64_t)ts.tv_sec);
#else
	AUTHD_BUG("test clock in a release build");
#endif
}

void authd_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		AUTHD_BUG("RAND_bytes failed");
}

/* SHA-256 fetched once: EVP_sha256() makes every EVP_Digest fetch the
 * implementation again, a measurable share of a token check. An EVP_MD is
 * shared by all threads. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void authd_sha256(const void *data, size_t len, uint8_t out[AUTHD_HASH_LEN])
{
	unsigned int n = AUTHD_HASH_LEN;

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL || EVP_Digest(data, len, out, &n, sha256_md, NULL) != 1)
		AUTHD_BUG("EVP_Digest failed");
}

void authd_hmac_sha256(const uint8_t key[32], const void *data, size_t len,
		       uint8_t out[AUTHD_HASH_LEN])
{
	unsigned int n = AUTHD_HASH_LEN;

	if (HMAC(EVP_sha256(), key, 32, data, len, out, &n) == NULL || n != AUTHD_HASH_LEN)
		AUTHD_BUG("HMAC-SHA256 failed");
}

void authd_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void authd_strfreezero(char *s)
{
	if (s != NULL)
		authd_freezero(s, strlen(s));
}

void authd_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
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

int authd_unhex(const char *in, size_t in_len, uint8_t *out, size_t len)
{
	if (in_len != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]);
		int lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t authd_b64url(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;
	size_t i = 0;

	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url_chars[v >> 18];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64url_chars[v >> 18];
		out[o++] = b64url_chars[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64url_chars[v >> 18];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64val(char c)
{
	const char *p = c ? strchr(b64url_chars, c) : NULL;

	return p ? (int)(p - b64url_chars) : -1;
}

long authd_unb64url(const char *in, size_t in_len, uint8_t *out, size_t out_size)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (in_len % 4 == 1)
		return -1;
	for (size_t i = 0; i < in_len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= out_size)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, so each byte string has one encoding. */
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)o;
}

void authd_time_str(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* UTF-8 (no overlong forms, surrogates or code points past U+10FFFF);
 * printable: no control characters either. */
static bool utf8_scan(const char *s, size_t len, bool printable)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (printable && (c < 0x20 || c == 0x7f))
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and code points past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

bool authd_utf8_printable(const char *s, size_t len)
{
	return utf8_scan(s, len, true);
}

bool authd_utf8_valid(const char *s, size_t len)
{
	return utf8_scan(s, len, false);
}

size_t authd_utf8_count(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

int authd_email_normalize(const char *in, size_t len, char out[255])
{
	const char *at = NULL;

	if (len < 3 || len > 254)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c))
			return -1;
		if (c == '@') {
			if (at)
				return -1;
			at = in + i;
		}
		out[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[len] = '\0';
	if (at == NULL || at == in || at - in > 64 ||
	    memchr(at, '.', len - (size_t)(at - in)) == NULL || at[1] == '.' || in[len - 1] == '.')
		return -1;
	return 0;
}
