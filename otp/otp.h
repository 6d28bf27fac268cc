/*
 * otp: one-time passwords for authd, as a leaf library.
 *
 * HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1/256/512, RFC 4648 base32,
 * otpauth:// key URIs, QR codes rendered as SVG, and backup (look-up) codes.
 * This library never logs, never reads the clock and never draws random
 * numbers: the caller passes the time and the random bytes in, so every rule
 * can be tested with fixed inputs. It links OpenSSL's libcrypto, liboath and
 * libqrencode, and nothing of libwebsockets or LMDB.
 *
 * Every function is thread-safe (no global state) once otp_global_init() has
 * run. Functions return 0 or a negative OTP_E_* code.
 */
#ifndef AUTHD_OTP_H
#define AUTHD_OTP_H

#include <stddef.h>
#include <stdint.h>

#define OTP_WUR __attribute__((warn_unused_result))

enum otp_error {
	OTP_OK = 0,
	OTP_E_INVALID = -1,  /* malformed input: bad length, characters, ranges */
	OTP_E_MISMATCH = -2, /* well-formed code that does not match */
	OTP_E_REPLAYED = -3, /* code matches a step at or before the last used one */
	OTP_E_NOMEM = -4,
	OTP_E_INTERNAL = -5, /* a library (OpenSSL, liboath, qrencode) failed */
	OTP_E_BASE32 = -6,   /* not valid base32 */
	OTP_E_SPACE = -7,    /* the caller's output buffer is too small */
};

/* A short lowercase English description of an OTP_E_* code. Never NULL. */
const char *otp_strerror(int err);

/* Initialises liboath. Call once at start-up, before any thread uses otp. */
int otp_global_init(void) OTP_WUR;

enum otp_alg {
	OTP_ALG_SHA1 = 0,
	OTP_ALG_SHA256 = 1,
	OTP_ALG_SHA512 = 2,
};

/* "SHA1", "SHA256", "SHA512" as used in otpauth URIs. */
const char *otp_alg_name(enum otp_alg alg);

#define OTP_KEY_MAX    64 /* bytes; a SHA-512 sized seed */
#define OTP_DIGITS_MIN 6
#define OTP_DIGITS_MAX 8

/*
 * HOTP value for counter, written as a NUL-terminated decimal string of
 * `digits` digits (6..8) into out. key_len is 1..OTP_KEY_MAX.
 * Returns 0, OTP_E_INVALID for bad arguments or OTP_E_INTERNAL.
 */
int otp_hotp(const uint8_t *key, size_t key_len, enum otp_alg alg, uint64_t counter,
	     unsigned digits, char out[OTP_DIGITS_MAX + 1]) OTP_WUR;

struct otp_totp_params {
	enum otp_alg alg;
	unsigned digits; /* 6..8 */
	unsigned period; /* seconds, 1..300 */
	unsigned window; /* steps accepted either side of the current one, 0..10 */
};
#define OTP_TOTP_PARAMS_DEFAULT                                                                    \
	{                                                                                          \
		OTP_ALG_SHA1, 6, 30, 1                                                             \
	}

/* The time step of unix time `now`: floor(now / period), T0 = 0. */
uint64_t otp_totp_step(uint64_t now, unsigned period);

/* TOTP value at unix time `now`, as otp_hotp() of its step. */
int otp_totp(const uint8_t *key, size_t key_len, const struct otp_totp_params *p, uint64_t now,
	     char out[OTP_DIGITS_MAX + 1]) OTP_WUR;

/*
 * Verifies a TOTP code typed by a person at unix time `now`. Steps
 * T - window .. T + window are tried, each compared in constant time.
 * last_step is the last step this credential accepted, or -1 for none: a code
 * that matches a step <= last_step is refused with OTP_E_REPLAYED, and such a
 * step is never accepted. On success *matched_step is the accepted step (the
 * caller stores it as the new last_step); on failure it is left unchanged.
 * Returns 0, OTP_E_INVALID (not exactly p->digits ASCII digits),
 * OTP_E_MISMATCH, OTP_E_REPLAYED or OTP_E_INTERNAL.
 */
int otp_totp_verify(const uint8_t *key, size_t key_len, const struct otp_totp_params *p,
		    uint64_t now, const char *code, size_t code_len, int64_t last_step,
		    uint64_t *matched_step) OTP_WUR;

/*
 * RFC 4648 base32. Encoding writes upper-case letters without '=' padding and
 * a NUL into out; out_size must hold otp_base32_encoded_len(len) + 1 bytes.
 * Decoding accepts upper or lower case and optional trailing '=' padding,
 * nothing else (no spaces); it writes at most out_size bytes and *out_len.
 * Returns 0, OTP_E_BASE32 or OTP_E_SPACE.
 */
size_t otp_base32_encoded_len(size_t len);
int otp_base32_encode(const uint8_t *in, size_t len, char *out, size_t out_size) OTP_WUR;
int otp_base32_decode(const char *in, size_t len, uint8_t *out, size_t out_size,
		      size_t *out_len) OTP_WUR;

/*
 * Builds the key URI authenticator apps import:
 * otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * issuer and account are percent-encoded (RFC 3986 unreserved kept).
 * *out is malloc'd and NUL-terminated; the caller wipes (it holds the secret)
 * and frees it. Returns 0, OTP_E_INVALID, OTP_E_NOMEM.
 */
int otp_uri_build(const char *issuer, const char *account, const uint8_t *key, size_t key_len,
		  const struct otp_totp_params *p, char **out) OTP_WUR;

struct otp_uri {
	char issuer[128];  /* percent-decoded; empty when absent */
	char account[256]; /* percent-decoded label account part */
	uint8_t key[OTP_KEY_MAX];
	size_t key_len;
	struct otp_totp_params params;
};

/*
 * Parses an otpauth://totp/ URI of the form otp_uri_build() writes (any
 * parameter order; algorithm, digits, period optional with the RFC 6238
 * defaults; unknown parameters ignored). Writes *out only on success; the
 * caller wipes out->key after use. Returns 0 or OTP_E_INVALID / OTP_E_BASE32.
 */
int otp_uri_parse(const char *uri, size_t len, struct otp_uri *out) OTP_WUR;

/*
 * Renders text as a QR code (libqrencode, error-correction level M) in an
 * SVG drawn in absolute pixels (width/height set, 4 px per module, 4-module
 * quiet zone) so that raster tools such as zbarimg decode it. *out is
 * malloc'd and NUL-terminated; the caller wipes and frees it.
 * Returns 0, OTP_E_INVALID, OTP_E_NOMEM or OTP_E_INTERNAL.
 */
int otp_qr_svg(const char *text, char **out) OTP_WUR;

/*
 * Backup (look-up) codes: 80 random bits each, shown as 16 Crockford base32
 * characters in four groups, "7k2m-9qpx-r4dz-0wfa". They are checked after
 * otp_backup_normalize() and stored only as otp_backup_hash() values.
 */
#define OTP_BACKUP_COUNT      10
#define OTP_BACKUP_RANDOM_LEN 10 /* bytes of randomness per code */
#define OTP_BACKUP_CHARS      16 /* normalized length */
#define OTP_BACKUP_TEXT_LEN   19 /* with the three dashes */
#define OTP_BACKUP_HASH_LEN   32
#define OTP_BACKUP_SALT_LEN   16

/* Formats OTP_BACKUP_RANDOM_LEN random bytes as a display code + NUL. */
void otp_backup_format(const uint8_t random[OTP_BACKUP_RANDOM_LEN],
		       char out[OTP_BACKUP_TEXT_LEN + 1]);

/*
 * Normalizes a code a person typed: drops '-' and ' ', lower-cases, maps the
 * look-alikes i/l -> 1 and o -> 0, and requires exactly OTP_BACKUP_CHARS
 * Crockford characters. Writes out + NUL only on success.
 * Returns 0 or OTP_E_INVALID (also for input longer than 64 bytes).
 */
int otp_backup_normalize(const char *in, size_t len, char out[OTP_BACKUP_CHARS + 1]) OTP_WUR;

/*
 * The stored form of a normalized code: HMAC-SHA-256 keyed with the server's
 * backup-code key over salt || code. Returns 0 or OTP_E_INTERNAL.
 */
int otp_backup_hash(const uint8_t key[32], const uint8_t salt[OTP_BACKUP_SALT_LEN],
		    const char normalized[OTP_BACKUP_CHARS],
		    uint8_t out[OTP_BACKUP_HASH_LEN]) OTP_WUR;

#endif
