/*
 * backup.c owns backup (look-up) codes: showing 80 random bits as a code a
 * person can copy down, turning what they type back into one canonical form,
 * and the keyed hash that is all the server ever stores of a code. Codes use
 * Crockford's base32 alphabet in lower case, which has no i, l, o or u, so
 * the look-alikes a person may type (i, l for 1; o for 0) map back without
 * ambiguity. The caller draws the random bytes and keeps the hashes; used
 * codes are the caller's to strike out.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "otp-internal.h"
#include "otp.h"

#define INPUT_MAX 64 /* longest typed code considered, dashes and spaces included */

static const char crockford[32] = "0123456789abcdefghjkmnpqrstvwxyz";

/*
 * The alphabet character for v in 0..31, chosen by masks over the whole
 * alphabet so that no memory access depends on the secret value.
 */
static char crockford_char(unsigned v)
{
	unsigned c = 0;

	for (unsigned i = 0; i < 32; i++) {
		unsigned hit = 0u - (((i ^ v) - 1u) >> 31);

		c |= (unsigned char)crockford[i] & hit;
	}
	return (char)c;
}

void otp_backup_format(const uint8_t random[OTP_BACKUP_RANDOM_LEN],
		       char out[OTP_BACKUP_TEXT_LEN + 1])
{
	uint64_t acc = 0;
	size_t o = 0;

	if (out == NULL)
		goto out;
	memset(out, 0, OTP_BACKUP_TEXT_LEN + 1);
	if (random == NULL)
		goto out;
	/* Two halves of 40 bits, 8 characters each, most significant bits first. */
	for (size_t half = 0; half < 2; half++) {
		acc = 0;
		for (size_t i = 0; i < 5; i++)
			acc = acc << 8 | random[half * 5 + i];
		for (int shift = 35; shift >= 0; shift -= 5) {
			if (o == 4 || o == 9 || o == 14)
				out[o++] = '-';
			out[o++] = crockford_char((unsigned)(acc >> shift) & 31);
		}
	}
	out[o] = '\0';
out:
	OPENSSL_cleanse(&acc, sizeof(acc));
}

int otp_backup_normalize(const char *in, size_t len, char out[OTP_BACKUP_CHARS + 1])
{
	char buf[OTP_BACKUP_CHARS + 1] = {0};
	size_t n = 0;
	int r = OTP_E_INVALID;

	if (in == NULL || out == NULL || len > INPUT_MAX)
		goto out;
	/*
	 * This branches on what was typed, which is the guesser's own input;
	 * the stored code is only ever touched as a hash.
	 */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == 'i' || c == 'l')
			c = '1';
		else if (c == 'o')
			c = '0';
		if (c == '\0' || memchr(crockford, c, sizeof(crockford)) == NULL)
			goto out;
		if (n == OTP_BACKUP_CHARS)
			goto out;
		buf[n++] = (char)c;
	}
	if (n != OTP_BACKUP_CHARS)
		goto out;
	memcpy(out, buf, sizeof(buf));
	r = OTP_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int otp_backup_hash(const uint8_t key[32], const uint8_t salt[OTP_BACKUP_SALT_LEN],
		    const char normalized[OTP_BACKUP_CHARS], uint8_t out[OTP_BACKUP_HASH_LEN])
{
	struct otp_hmac h = OTP_HMAC_INIT;
	uint8_t msg[OTP_BACKUP_SALT_LEN + OTP_BACKUP_CHARS];
	uint8_t mac[OTP_HMAC_MAX];
	int r = OTP_E_INVALID;

	if (key == NULL || salt == NULL || normalized == NULL || out == NULL)
		goto out;
	memcpy(msg, salt, OTP_BACKUP_SALT_LEN);
	memcpy(msg + OTP_BACKUP_SALT_LEN, normalized, OTP_BACKUP_CHARS);
	r = otp_hmac_setkey(&h, OTP_ALG_SHA256, key, 32);
	if (r != OTP_OK)
		goto out;
	r = otp_hmac_run(&h, msg, sizeof(msg), mac);
	if (r != OTP_OK)
		goto out;
	if (h.mac_len != OTP_BACKUP_HASH_LEN) {
		r = OTP_E_INTERNAL;
		goto out;
	}
	memcpy(out, mac, OTP_BACKUP_HASH_LEN);
out:
	if (r != OTP_OK && out != NULL)
		memset(out, 0, OTP_BACKUP_HASH_LEN);
	OPENSSL_cleanse(msg, sizeof(msg));
	OPENSSL_cleanse(mac, sizeof(mac));
	otp_hmac_release(&h);
	return r;
}
