/*
 * base32.c owns RFC 4648 base32, the spelling of TOTP secrets in otpauth
 * URIs and in what people type into authenticator apps. Encoding is
 * canonical: upper case, no '=' padding. Decoding takes either case and
 * optional padding, but only the correct amount of it, and refuses anything
 * else, including spaces, impossible lengths (1, 3 or 6 characters past a
 * multiple of 8) and non-zero unused bits in the last character, so that one
 * secret has one spelling up to case and padding. The characters are secrets:
 * they are mapped by arithmetic, never by a branch or a table index on their
 * value.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "otp.h"

/*
 * The base32 value of c, or -1. Each range test yields all ones or zero
 * (libsodium's base64 does the same): x - lo is negative below lo and
 * hi - x is negative above hi, so their AND is negative only inside.
 * Folding in 0x20 makes letters case-insensitive; only bytes that were
 * letters fold into 'a'..'z'.
 */
static int b32_value(uint8_t c)
{
	int x = c;
	int lc = x | 0x20;
	int ret = -1;

	ret += ((('a' - 1 - lc) & (lc - ('z' + 1))) >> 8) & (lc - 'a' + 1);
	ret += ((('2' - 1 - x) & (x - ('7' + 1))) >> 8) & (x - '2' + 27);
	return ret;
}

/* The character for v in 0..31: 'A'..'Z' then '2'..'7'. */
static char b32_char(unsigned v)
{
	int x = (int)v;

	return (char)('A' + x + (((25 - x) >> 8) & ('2' - 'A' - 26)));
}

size_t otp_base32_encoded_len(size_t len)
{
	size_t full = len / 5, rest = len % 5;

	/* Saturate rather than wrap: no buffer can then be big enough. */
	if (full > (SIZE_MAX - 8) / 8)
		return SIZE_MAX;
	return full * 8 + (rest * 8 + 4) / 5;
}

int otp_base32_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
	size_t need = otp_base32_encoded_len(len);
	size_t o = 0;
	uint64_t acc = 0;
	unsigned bits = 0;
	int r = OTP_E_INVALID;

	if (in == NULL && len > 0)
		goto out;
	r = OTP_E_SPACE;
	if (out == NULL || need == SIZE_MAX || out_size < need + 1)
		goto out;
	for (size_t i = 0; i < len; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_char((unsigned)(acc >> bits) & 31);
		}
	}
	if (bits > 0)
		out[o++] = b32_char((unsigned)(acc << (5 - bits)) & 31);
	out[o] = '\0';
	r = OTP_OK;
out:
	if (r != OTP_OK && out != NULL && out_size > 0)
		out[0] = '\0';
	OPENSSL_cleanse(&acc, sizeof(acc));
	return r;
}

int otp_base32_decode(const char *in, size_t len, uint8_t *out, size_t out_size, size_t *out_len)
{
	size_t data_len = len, pad, tail, n_out, o = 0;
	uint64_t acc = 0;
	unsigned bits = 0;
	int bad = 0, v = 0;
	int r = OTP_E_BASE32;

	if (out_len != NULL)
		*out_len = 0;
	if (out_len == NULL || (in == NULL && len > 0)) {
		r = OTP_E_INVALID;
		goto out;
	}
	/* Padding is structure, not secret: locating it may branch. */
	while (data_len > 0 && in[data_len - 1] == '=')
		data_len--;
	pad = len - data_len;
	tail = data_len % 8;
	if (tail == 1 || tail == 3 || tail == 6)
		goto out;
	if (pad != 0 && (pad != 8 - tail || tail == 0))
		goto out;
	n_out = data_len / 8 * 5 + tail * 5 / 8;
	/* Check every character before writing anything to out. */
	for (size_t i = 0; i < data_len; i++)
		bad |= b32_value((uint8_t)in[i]) >> 8;
	if (data_len > 0) {
		/* Bits of the last character past the last whole byte must be 0. */
		unsigned unused = (unsigned)(data_len * 5 % 8);

		v = b32_value((uint8_t)in[data_len - 1]);
		bad |= -((v & (int)((1u << unused) - 1)) != 0);
	}
	if (bad != 0)
		goto out;
	r = OTP_E_SPACE;
	if (n_out > out_size || (out == NULL && n_out > 0))
		goto out;
	for (size_t i = 0; i < data_len; i++) {
		acc = acc << 5 | (uint64_t)b32_value((uint8_t)in[i]);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = o;
	r = OTP_OK;
out:
	OPENSSL_cleanse(&acc, sizeof(acc));
	OPENSSL_cleanse(&v, sizeof(v));
	return r;
}
