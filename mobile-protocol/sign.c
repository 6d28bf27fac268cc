/*
 * sign.c owns what a signature means: the signing inputs of PROTOCOL.md
 * section 2 (a label, a zero byte, fixed-length fields in a fixed order) and
 * Ed25519 through OpenSSL's EVP interface. Private keys are 32-byte seeds
 * the caller keeps; every copy OpenSSL makes is freed by EVP_PKEY_free,
 * which wipes it.
 */
#include "mp.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

#define LABEL_LINK   "authd-device-v1 link"
#define LABEL_AUTH   "authd-device-v1 auth"
#define LABEL_ANSWER "authd-device-v1 answer"

struct buf {
	uint8_t *p;
	size_t len;
};

/* Appends n bytes; callers size out for the longest input (MP_SIGNED_MAX). */
static void put(struct buf *b, const void *src, size_t n)
{
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

/* The label and its terminating zero byte. */
static void put_label(struct buf *b, const char *label)
{
	put(b, label, strlen(label) + 1);
}

int mp_signed_link(const uint8_t nonce[MP_NONCE_LEN], const uint8_t secret[MP_SECRET_LEN],
		   const uint8_t public_key[MP_KEY_LEN], const char *name,
		   uint8_t out[MP_SIGNED_MAX], size_t *len)
{
	struct buf b = {out, 0};
	size_t n = strnlen(name, MP_NAME_MAX + 1);
	uint8_t n8 = (uint8_t)n;

	if (n < 1 || n > MP_NAME_MAX)
		return MP_E_INVALID;
	put_label(&b, LABEL_LINK);
	put(&b, nonce, MP_NONCE_LEN);
	put(&b, secret, MP_SECRET_LEN);
	put(&b, public_key, MP_KEY_LEN);
	put(&b, &n8, 1);
	put(&b, name, n);
	*len = b.len;
	return 0;
}

int mp_signed_auth(const uint8_t nonce[MP_NONCE_LEN], const uint8_t device_id[MP_ID_LEN],
		   uint8_t out[MP_SIGNED_MAX], size_t *len)
{
	struct buf b = {out, 0};

	put_label(&b, LABEL_AUTH);
	put(&b, nonce, MP_NONCE_LEN);
	put(&b, device_id, MP_ID_LEN);
	*len = b.len;
	return 0;
}

int mp_signed_answer(const uint8_t challenge_id[MP_ID_LEN],
		     const uint8_t challenge_nonce[MP_NONCE_LEN],
		     const uint8_t device_id[MP_ID_LEN], enum mp_decision decision, unsigned number,
		     uint8_t out[MP_SIGNED_MAX], size_t *len)
{
	struct buf b = {out, 0};
	uint8_t d = (uint8_t)decision, num = (uint8_t)number;

	if (decision == MP_APPROVE ? number < 10 || number > 99
				   : (decision != MP_DENY && decision != MP_NOT_ME) || number != 0)
		return MP_E_INVALID;
	put_label(&b, LABEL_ANSWER);
	put(&b, challenge_id, MP_ID_LEN);
	put(&b, challenge_nonce, MP_NONCE_LEN);
	put(&b, device_id, MP_ID_LEN);
	put(&b, &d, 1);
	put(&b, &num, 1);
	*len = b.len;
	return 0;
}

/*
 * The encodings of Ed25519's points of small order (orders 1, 2, 4, 8), as
 * libsodium lists them, and the non-canonical encodings of 0 and 1 (y = p,
 * p + 1). Compared without the sign bit, so each stands for both signs.
 */
static const uint8_t small_order[][MP_KEY_LEN] = {
    /* 0 (order 4) */
    {0},
    /* 1 (order 1) */
    {1},
    /* order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    /* order 8 */
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    /* p - 1 (order 2) */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* p (0, not canonical) */
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* p + 1 (1, not canonical) */
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

int mp_key_acceptable(const uint8_t public_key[MP_KEY_LEN])
{
	for (size_t j = 0; j < sizeof(small_order) / sizeof(small_order[0]); j++) {
		uint8_t diff =
		    (uint8_t)((public_key[MP_KEY_LEN - 1] & 0x7f) ^ small_order[j][MP_KEY_LEN - 1]);

		for (size_t i = 0; i < MP_KEY_LEN - 1; i++)
			diff |= (uint8_t)(public_key[i] ^ small_order[j][i]);
		if (diff == 0)
			return MP_E_INVALID;
	}
	return 0;
}

int mp_key_public(const uint8_t seed[MP_KEY_LEN], uint8_t public_key[MP_KEY_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, MP_KEY_LEN);
	size_t n = MP_KEY_LEN;
	int rc = MP_E_INTERNAL;

	if (k != NULL && EVP_PKEY_get_raw_public_key(k, public_key, &n) == 1 && n == MP_KEY_LEN)
		rc = 0;
	else
		ERR_clear_error();
	EVP_PKEY_free(k);
	return rc;
}

int mp_sign(const uint8_t seed[MP_KEY_LEN], const uint8_t *msg, size_t len, uint8_t sig[MP_SIG_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, MP_KEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t tmp[MP_SIG_LEN];
	size_t n = sizeof(tmp);
	int rc = MP_E_INTERNAL;

	if (k == NULL || ctx == NULL)
		goto out;
	/* Ed25519 signs the message itself: no digest (NULL). */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, tmp, &n, msg, len) != 1 || n != MP_SIG_LEN)
		goto out;
	memcpy(sig, tmp, MP_SIG_LEN);
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

int mp_verify(const uint8_t public_key[MP_KEY_LEN], const uint8_t *msg, size_t len,
	      const uint8_t sig[MP_SIG_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, MP_KEY_LEN);
	EVP_MD_CTX *ctx = NULL;
	int rc = MP_E_BAD_SIGNATURE;

	/* OpenSSL takes any 32 bytes as a key; a point that does not decode
	 * fails the verification below. */
	if (k == NULL) {
		ERR_clear_error();
		return MP_E_INTERNAL;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = MP_E_INTERNAL;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1) {
		rc = MP_E_INTERNAL;
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, MP_SIG_LEN, msg, len) == 1)
		rc = 0;
out:
	/* A forged signature is not OpenSSL's failure: nothing stays queued
	 * for the next TLS call on this thread. */
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}
