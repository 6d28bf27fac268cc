/*
 * Small helpers every authd module shares: the clock (with the test-only
 * offset), random bytes, hashing, encodings and secret wiping.
 */
#ifndef AUTHD_UTIL_H
#define AUTHD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHD_ID_LEN	 16 /* account, organization, enrollment ids: 128 random bits */
#define AUTHD_ID_HEX	 (AUTHD_ID_LEN * 2)
#define AUTHD_HASH_LEN	 32 /* SHA-256 */
#define AUTHD_SECRET_LEN 32 /* the random part of session and login tokens: 256 bits */
/* A session or login token: the account id, then the secret. */
#define AUTHD_TOKEN_LEN (AUTHD_ID_LEN + AUTHD_SECRET_LEN)
#define AUTHD_TOKEN_B64 64 /* base64url of the 48 token bytes, unpadded */

/* Seconds since the epoch, plus the test offset in test builds. Thread-safe. */
int64_t authd_now(void);
/* authd_now() in milliseconds (the same test offset). Thread-safe. */
int64_t authd_now_ms(void);
/* Monotonic milliseconds and microseconds, for measuring durations only. */
int64_t authd_mono_ms(void);
int64_t authd_mono_us(void);
/* Test builds only: moves authd_now() forward by seconds (>= 0). */
void authd_clock_advance(int64_t seconds);
/* Test builds only: stops the clock where it is; only advance moves it. */
void authd_clock_freeze(void);
/* True when this binary was built with the test hooks. */
bool authd_test_build(void);

/* Fills buf with CSPRNG bytes (OpenSSL RAND_bytes); aborts if that fails. */
void authd_random(void *buf, size_t len);

/* SHA-256 of data into out. */
void authd_sha256(const void *data, size_t len, uint8_t out[AUTHD_HASH_LEN]);
/* HMAC-SHA-256 of data under a 32-byte key into out. */
void authd_hmac_sha256(const uint8_t key[32], const void *data, size_t len,
		       uint8_t out[AUTHD_HASH_LEN]);

/* Wipes then frees p (NULL is fine), like OpenSSH's freezero(). */
void authd_freezero(void *p, size_t len);
/* Wipes then frees a NUL-terminated string (NULL is fine). */
void authd_strfreezero(char *s);

/* Big-endian integers in keys (they sort as numbers). */
static inline void authd_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline void authd_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline uint64_t authd_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint32_t authd_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lower-case hex of len bytes into out, which holds 2 * len + 1 bytes. */
void authd_hex(const uint8_t *in, size_t len, char *out);
/* Parses exactly 2 * len hex digits; returns 0 or -1. */
int authd_unhex(const char *in, size_t in_len, uint8_t *out, size_t len);

/* Unpadded base64url of in into out (holds 4 * ceil(len / 3) + 1 bytes). */
size_t authd_b64url(const uint8_t *in, size_t len, char *out);
/* Decodes unpadded base64url; returns bytes written or -1 if invalid/too long. */
long authd_unb64url(const char *in, size_t in_len, uint8_t *out, size_t out_size);

/* The last second authd_time_str writes in four digits of year
 * (9999-12-31T23:59:59Z): later times are refused where users give them. */
#define AUTHD_TIME_MAX 253402300799LL

/* RFC 3339 UTC time "2026-11-23T17:43:00Z" into out[21]. */
void authd_time_str(int64_t t, char out[21]);

/* True if s[0..len) is valid UTF-8 without NUL or C0/DEL control characters. */
bool authd_utf8_printable(const char *s, size_t len);
/* Whether s (len bytes) is UTF-8: no overlong forms, surrogates, code
 * points past U+10FFFF or cut sequences (control characters allowed). */
bool authd_utf8_valid(const char *s, size_t len);
/* Number of code points in valid UTF-8 s[0..len). */
size_t authd_utf8_count(const char *s, size_t len);

/*
 * Normalizes an email address for lookup: trims nothing, lower-cases ASCII,
 * requires 3..254 bytes, one '@' with 1..64 bytes before it, a dot in the
 * domain and no spaces, controls or quotes. Returns 0 or -1.
 */
int authd_email_normalize(const char *in, size_t len, char out[255]);

#endif
