/*
 * hotp.c owns the HMAC-based one-time password of RFC 4226 and the pieces
 * every other otp/ file builds on: the keyed HMAC context over OpenSSL's
 * EVP_MAC, the algorithm table, key and algorithm checks, the error strings
 * and the library's one-time initialisation. HMAC runs in OpenSSL rather than
 * liboath so that one keyed context serves every step of a TOTP window and
 * every intermediate buffer is ours to wipe.
 */
#include <string.h>

#include <liboath/oath.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "otp-internal.h"
#include "otp.h"

/* OpenSSL digest names, indexed by enum otp_alg; also the otpauth spelling. */
static const char *const alg_names[] = {
    [OTP_ALG_SHA1] = "SHA1",
    [OTP_ALG_SHA256] = "SHA256",
    [OTP_ALG_SHA512] = "SHA512",
};

const char *otp_strerror(int err)
{
	switch (err) {
	case OTP_OK:
		return "success";
	case OTP_E_INVALID:
		return "invalid input";
	case OTP_E_MISMATCH:
		return "code does not match";
	case OTP_E_REPLAYED:
		return "code already used";
	case OTP_E_NOMEM:
		return "out of memory";
	case OTP_E_INTERNAL:
		return "internal error in a crypto or qr library";
	case OTP_E_BASE32:
		return "invalid base32";
	case OTP_E_SPACE:
		return "output buffer too small";
	}
	return "unknown otp error";
}

int otp_global_init(void)
{
	EVP_MAC *mac = NULL;
	int r = OTP_E_INTERNAL;

	if (oath_init() != OATH_OK)
		goto out;
	/*
	 * Fetch HMAC once so that a libcrypto without it (a stripped FIPS
	 * configuration) fails at start-up rather than at the first login.
	 */
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (mac == NULL)
		goto out;
	r = OTP_OK;
out:
	EVP_MAC_free(mac);
	return r;
}

const char *otp_alg_name(enum otp_alg alg)
{
	return otp_alg_check(alg) == 0 ? alg_names[alg] : NULL;
}

int otp_alg_check(enum otp_alg alg)
{
	/* The enum may arrive from a stored record: check it as an integer. */
	unsigned v = (unsigned)alg;

	return v < sizeof(alg_names) / sizeof(alg_names[0]) ? 0 : OTP_E_INVALID;
}

int otp_key_check(const uint8_t *key, size_t key_len)
{
	return key != NULL && key_len >= 1 && key_len <= OTP_KEY_MAX ? 0 : OTP_E_INVALID;
}

void otp_hmac_release(struct otp_hmac *h)
{
	/* EVP_MAC_CTX_free wipes the key and the inner/outer pad states. */
	EVP_MAC_CTX_free(h->ctx);
	h->ctx = NULL;
	h->mac_len = 0;
}

int otp_hmac_setkey(struct otp_hmac *h, enum otp_alg alg, const uint8_t *key, size_t key_len)
{
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	int r = OTP_E_INVALID;

	otp_hmac_release(h);
	if (otp_alg_check(alg) != 0)
		goto out;
	r = OTP_E_INTERNAL;
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (mac == NULL)
		goto out;
	/* The context holds its own reference to mac. */
	h->ctx = EVP_MAC_CTX_new(mac);
	if (h->ctx == NULL)
		goto out;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)alg_names[alg], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(h->ctx, key, key_len, params) != 1)
		goto out;
	h->mac_len = EVP_MAC_CTX_get_mac_size(h->ctx);
	if (h->mac_len < 20 || h->mac_len > OTP_HMAC_MAX)
		goto out;
	r = OTP_OK;
out:
	EVP_MAC_free(mac);
	if (r != OTP_OK)
		otp_hmac_release(h);
	return r;
}

int otp_hmac_run(struct otp_hmac *h, const uint8_t *msg, size_t msg_len, uint8_t out[OTP_HMAC_MAX])
{
	size_t len = 0;
	int r = OTP_E_INTERNAL;

	if (h->ctx == NULL)
		goto out;
	/* A NULL key restarts the MAC under the key given to otp_hmac_setkey(). */
	if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1)
		goto out;
	if (EVP_MAC_update(h->ctx, msg, msg_len) != 1)
		goto out;
	if (EVP_MAC_final(h->ctx, out, &len, OTP_HMAC_MAX) != 1 || len != h->mac_len)
		goto out;
	r = OTP_OK;
out:
	if (r != OTP_OK)
		OPENSSL_cleanse(out, OTP_HMAC_MAX);
	return r;
}

/* All ones when a == b, else zero, without a branch. Both are below 2^31. */
static uint32_t eq_mask(uint32_t a, uint32_t b)
{
	return 0u - (((a ^ b) - 1u) >> 31);
}

int otp_hotp_keyed(struct otp_hmac *h, uint64_t counter, unsigned digits,
		   char out[OTP_DIGITS_MAX + 1])
{
	uint8_t msg[8];
	uint8_t mac[OTP_HMAC_MAX];
	uint32_t offset = 0, bin = 0;
	int r;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}
	r = otp_hmac_run(h, msg, sizeof(msg), mac);
	if (r != OTP_OK)
		goto out;
	/*
	 * Dynamic truncation (RFC 4226 5.3). The offset comes from the MAC, so
	 * read every candidate position and keep one by mask rather than index
	 * memory with a secret.
	 */
	offset = mac[h->mac_len - 1] & 0x0f;
	for (uint32_t i = 0; i + 3 < h->mac_len; i++) {
		uint32_t word = (uint32_t)mac[i] << 24 | (uint32_t)mac[i + 1] << 16 |
				(uint32_t)mac[i + 2] << 8 | (uint32_t)mac[i + 3];

		bin |= word & eq_mask(i, offset);
	}
	bin &= 0x7fffffff;
	for (unsigned i = digits; i > 0; i--) {
		out[i - 1] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[digits] = '\0';
out:
	if (r != OTP_OK)
		memset(out, 0, OTP_DIGITS_MAX + 1);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(&bin, sizeof(bin));
	OPENSSL_cleanse(&offset, sizeof(offset));
	return r;
}

int otp_hotp(const uint8_t *key, size_t key_len, enum otp_alg alg, uint64_t counter,
	     unsigned digits, char out[OTP_DIGITS_MAX + 1])
{
	struct otp_hmac h = OTP_HMAC_INIT;
	int r = OTP_E_INVALID;

	if (out == NULL)
		goto out;
	if (otp_key_check(key, key_len) != 0 || otp_alg_check(alg) != 0 ||
	    digits < OTP_DIGITS_MIN || digits > OTP_DIGITS_MAX)
		goto out;
	r = otp_hmac_setkey(&h, alg, key, key_len);
	if (r != OTP_OK)
		goto out;
	r = otp_hotp_keyed(&h, counter, digits, out);
out:
	if (r != OTP_OK && out != NULL)
		memset(out, 0, OTP_DIGITS_MAX + 1);
	otp_hmac_release(&h);
	return r;
}
