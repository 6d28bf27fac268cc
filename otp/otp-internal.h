/*
 * otp-internal.h: what the otp/ source files share and nobody else sees.
 *
 * A keyed HMAC context (OpenSSL EVP_MAC) that can run many messages under one
 * key, the HOTP step that totp.c reuses, and the argument checks every entry
 * point applies. Not installed, not included from outside otp/.
 */
#ifndef AUTHD_OTP_INTERNAL_H
#define AUTHD_OTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "otp.h"

#define OTP_HMAC_MAX   64  /* bytes of the largest MAC, HMAC-SHA-512 */
#define OTP_PERIOD_MAX 300 /* struct otp_totp_params ranges, as otp.h states them */
#define OTP_WINDOW_MAX 10

/*
 * A keyed HMAC. otp_hmac_setkey() allocates the OpenSSL context (it holds
 * key-derived state); otp_hmac_release() frees it, and OpenSSL wipes that
 * state. Not shared between threads.
 */
struct otp_hmac {
	EVP_MAC_CTX *ctx;
	size_t mac_len;
};
#define OTP_HMAC_INIT                                                                              \
	{                                                                                          \
		NULL, 0                                                                            \
	}

/* Returns 0, OTP_E_INVALID (alg out of range) or OTP_E_INTERNAL. */
int otp_hmac_setkey(struct otp_hmac *h, enum otp_alg alg, const uint8_t *key,
		    size_t key_len) OTP_WUR;
/* MACs msg under the key set last; writes h->mac_len bytes. 0 or OTP_E_INTERNAL. */
int otp_hmac_run(struct otp_hmac *h, const uint8_t *msg, size_t msg_len,
		 uint8_t out[OTP_HMAC_MAX]) OTP_WUR;
void otp_hmac_release(struct otp_hmac *h);

/*
 * The HOTP value of counter under the key already in h, as `digits` decimal
 * digits plus NUL. digits must already be checked. 0 or OTP_E_INTERNAL; out
 * is cleared on failure.
 */
int otp_hotp_keyed(struct otp_hmac *h, uint64_t counter, unsigned digits,
		   char out[OTP_DIGITS_MAX + 1]) OTP_WUR;

/* 0 when the value is in range, else OTP_E_INVALID. */
int otp_alg_check(enum otp_alg alg) OTP_WUR;
int otp_key_check(const uint8_t *key, size_t key_len) OTP_WUR;
int otp_params_check(const struct otp_totp_params *p) OTP_WUR;

#endif
