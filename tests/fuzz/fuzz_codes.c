/*
 * libFuzzer target: the small decoders that see user input — base32,
 * base64url tokens, hex ids, backup-code normalization, email
 * normalization, TOTP code checks, UTF-8 validation. None may read or write
 * out of bounds, and each accepted value must re-encode consistently.
 */
#include "util.h"

#include <otp.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint8_t buf[256];
	char text[512];
	char norm[OTP_BACKUP_CHARS + 1];
	char email[255];
	size_t n = 0;
	long m;
	uint64_t step = 0;
	static const uint8_t key[20] = "12345678901234567890";
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;

	if (otp_base32_decode(s, size, buf, sizeof(buf), &n) == 0) {
		if (otp_base32_encode(buf, n, text, sizeof(text)) != 0)
			abort();
	}
	m = authd_unb64url(s, size, buf, sizeof(buf));
	if (m >= 0) {
		authd_b64url(buf, (size_t)m, text);
		if (strlen(text) != size || memcmp(text, s, size) != 0)
			abort();
	}
	if (size == 32)
		(void)authd_unhex(s, size, buf, 16);
	if (otp_backup_normalize(s, size, norm) == 0 && strlen(norm) != OTP_BACKUP_CHARS)
		abort();
	if (size < 255 && authd_email_normalize(s, size, email) == 0 && strlen(email) != size)
		abort();
	if (otp_totp_verify(key, sizeof(key), &p, 1111111109, s, size, -1, &step) == 0 &&
	    step != 1111111109 / 30 && step != 1111111109 / 30 - 1 && step != 1111111109 / 30 + 1)
		abort();
	if (authd_utf8_printable(s, size) && authd_utf8_count(s, size) > size)
		abort();
	return 0;
}
