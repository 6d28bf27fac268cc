/*
 * totp.c owns the time-based one-time password of RFC 6238: the time step,
 * generation, and verification of a code a person typed against a window of
 * steps with replay refusal. The caller supplies the time and the last step
 * the credential accepted, and stores the step this file reports back; no
 * state lives here. Verification tries every step of the window and keeps its
 * decision in masks, so the time it takes does not tell which step matched.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "otp-internal.h"
#include "otp.h"

int otp_params_check(const struct otp_totp_params *p)
{
	int ok = p != NULL && otp_alg_check(p->alg) == 0 && p->digits >= OTP_DIGITS_MIN &&
		 p->digits <= OTP_DIGITS_MAX && p->period >= 1 && p->period <= OTP_PERIOD_MAX &&
		 p->window <= OTP_WINDOW_MAX;

	return ok ? 0 : OTP_E_INVALID;
}

uint64_t otp_totp_step(uint64_t now, unsigned period)
{
	/* No error channel here; a zero period is refused by every caller that has one. */
	return period == 0 ? 0 : now / period;
}

int otp_totp(const uint8_t *key, size_t key_len, const struct otp_totp_params *p, uint64_t now,
	     char out[OTP_DIGITS_MAX + 1])
{
	int r = OTP_E_INVALID;

	if (out == NULL || otp_params_check(p) != 0)
		goto out;
	r = otp_hotp(key, key_len, p->alg, otp_totp_step(now, p->period), p->digits, out);
out:
	if (r != OTP_OK && out != NULL)
		memset(out, 0, OTP_DIGITS_MAX + 1);
	return r;
}

int otp_totp_verify(const uint8_t *key, size_t key_len, const struct otp_totp_params *p,
		    uint64_t now, const char *code, size_t code_len, int64_t last_step,
		    uint64_t *matched_step)
{
	struct otp_hmac h = OTP_HMAC_INIT;
	char typed[OTP_DIGITS_MAX + 1] = {0};
	char want[OTP_DIGITS_MAX + 1] = {0};
	uint64_t step, lo, hi, found = 0, replayed = 0, accepted = 0;
	int r = OTP_E_INVALID;

	if (matched_step == NULL || code == NULL || otp_key_check(key, key_len) != 0 ||
	    otp_params_check(p) != 0)
		goto out;
	if (code_len != p->digits)
		goto out;
	for (size_t i = 0; i < code_len; i++) {
		if (code[i] < '0' || code[i] > '9')
			goto out;
		typed[i] = code[i];
	}

	step = otp_totp_step(now, p->period);
	lo = step >= p->window ? step - p->window : 0;
	/*
	 * The caller keeps the accepted step in an int64_t: a step above
	 * INT64_MAX would come back as "none used" and reopen replay, so such
	 * steps are never tried.
	 */
	hi = step > (uint64_t)INT64_MAX - p->window ? (uint64_t)INT64_MAX : step + p->window;

	r = otp_hmac_setkey(&h, p->alg, key, key_len);
	if (r != OTP_OK)
		goto out;
	for (uint64_t s = lo; s <= hi; s++) {
		uint64_t match, fresh;

		r = otp_hotp_keyed(&h, s, p->digits, want);
		if (r != OTP_OK)
			goto out;
		match = 0 - (uint64_t)(CRYPTO_memcmp(typed, want, p->digits) == 0);
		fresh = 0 - (uint64_t)(last_step < 0 || s > (uint64_t)last_step);
		/*
		 * Later matches overwrite earlier ones, so when a code happens to
		 * match two fresh steps the highest is accepted: stored as the
		 * new last_step, it refuses that same code at the lower step too.
		 */
		accepted = (accepted & ~(match & fresh)) | (s & match & fresh);
		found |= match & fresh;
		replayed |= match & ~fresh;
	}

	if (found != 0) {
		*matched_step = accepted;
		r = OTP_OK;
	} else if (replayed != 0) {
		r = OTP_E_REPLAYED;
	} else {
		r = OTP_E_MISMATCH;
	}
out:
	OPENSSL_cleanse(typed, sizeof(typed));
	OPENSSL_cleanse(want, sizeof(want));
	OPENSSL_cleanse(&accepted, sizeof(accepted));
	otp_hmac_release(&h);
	return r;
}
