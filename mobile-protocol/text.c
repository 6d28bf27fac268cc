/*
 * text.c owns the spellings the protocol uses for bytes: base64url without
 * padding for keys, nonces, secrets and signatures, 32 lowercase hex digits
 * for ids, and the names of error codes and message types. Secrets pass
 * through the base64url decoder, so it maps characters by arithmetic, never
 * by a branch or a table index on their value (as otp/base32.c does).
 */
#include "mp.h"

#include <string.h>

const char *mp_strerror(int err)
{
	switch (err) {
	case MP_OK:
		return "success";
	case MP_E_INVALID:
		return "malformed message";
	case MP_E_UNKNOWN_TYPE:
		return "unknown message type";
	case MP_E_BAD_SIGNATURE:
		return "signature does not verify";
	case MP_E_NOMEM:
		return "out of memory";
	case MP_E_INTERNAL:
		return "internal error";
	case MP_E_SPACE:
		return "output buffer too small";
	case MP_E_TOO_LARGE:
		return "message too large";
	case MP_E_VERSION:
		return "unsupported protocol version";
	default:
		return "unknown error";
	}
}

static const char *const type_names[] = {
    [MP_HELLO] = "hello",	[MP_LINK] = "link",
    [MP_LINKED] = "linked",	[MP_AUTH] = "auth",
    [MP_READY] = "ready",	[MP_CHALLENGE] = "challenge",
    [MP_ANSWER] = "answer",	[MP_ANSWER_RESULT] = "answer_result",
    [MP_WITHDRAW] = "withdraw", [MP_REVOKED] = "revoked",
    [MP_ERROR] = "error",	[MP_WAKE] = "wake",
};

const char *mp_type_name(enum mp_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[t];
}

bool mp_type_from_device(enum mp_type t)
{
	return t == MP_LINK || t == MP_AUTH || t == MP_ANSWER || t == MP_WAKE;
}

/* The character for v in 0..63: 'A'..'Z', 'a'..'z', '0'..'9', '-', '_'. */
static char b64_char(unsigned v)
{
	int x = (int)v;
	int c = 'A' + x;

	c += ((25 - x) >> 8) & ('a' - 'A' - 26);
	c += ((51 - x) >> 8) & ('0' - 'a' - 26);
	c += ((61 - x) >> 8) & ('-' - '0' - 10);
	c += ((62 - x) >> 8) & ('_' - '-' - 1);
	return (char)c;
}

/* The value of c, or -1. Each range test is all ones inside, zero outside. */
static int b64_value(uint8_t c)
{
	int x = c;
	int ret = -1;

	ret += ((('A' - 1 - x) & (x - ('Z' + 1))) >> 8) & (x - 'A' + 1);
	ret += ((('a' - 1 - x) & (x - ('z' + 1))) >> 8) & (x - 'a' + 27);
	ret += ((('0' - 1 - x) & (x - ('9' + 1))) >> 8) & (x - '0' + 53);
	ret += ((('-' - 1 - x) & (x - ('-' + 1))) >> 8) & 63;
	ret += ((('_' - 1 - x) & (x - ('_' + 1))) >> 8) & 64;
	return ret;
}

void mp_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64_char((acc >> bits) & 63);
		}
	}
	if (bits > 0)
		out[o++] = b64_char((acc << (6 - bits)) & 63);
	out[o] = '\0';
}

int mp_b64url_decode(const char *text, size_t text_len, uint8_t *out, size_t n)
{
	uint8_t buf[128];
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	int bad = 0;

	/* Canonical: exactly the length n bytes encode to, no padding. */
	if (n > sizeof(buf) || text_len != (n * 8 + 5) / 6)
		return MP_E_INVALID;
	for (size_t i = 0; i < text_len; i++) {
		int v = b64_value((uint8_t)text[i]);

		bad |= v >> 8; /* -1 is all ones */
		acc = (acc << 6) | ((unsigned)v & 63);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The unused low bits of the last character must be zero. */
	bad |= (int)(acc & ((1u << bits) - 1));
	if (bad != 0 || o != n) {
		memset(buf, 0, sizeof(buf));
		return MP_E_INVALID;
	}
	memcpy(out, buf, n);
	memset(buf, 0, sizeof(buf));
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mp_id_parse(const char *hex, uint8_t id[MP_ID_LEN])
{
	uint8_t tmp[MP_ID_LEN];

	if (hex == NULL || strlen(hex) != 2 * MP_ID_LEN)
		return MP_E_INVALID;
	for (size_t i = 0; i < MP_ID_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return MP_E_INVALID;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(id, tmp, MP_ID_LEN);
	return 0;
}

void mp_id_format(const uint8_t id[MP_ID_LEN], char out[2 * MP_ID_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < MP_ID_LEN; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * MP_ID_LEN] = '\0';
}
