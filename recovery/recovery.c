/*
 * Account recovery's rules (recovery.h).
 */
#include "recovery.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int recovery_phone_normalize(const char *in, char out[RECOVERY_PHONE_MAX + 1])
{
	size_t n = 0;

	while (*in == ' ')
		in++;
	if (*in++ != '+')
		return -1;
	out[n++] = '+';
	for (; *in; in++) {
		if (*in >= '0' && *in <= '9') {
			if (n == RECOVERY_PHONE_MAX)
				return -1;
			out[n++] = *in;
		} else if (!strchr(" -.()", *in)) {
			return -1;
		}
	}
	out[n] = '\0';
	/* 8 to 15 digits, the first not 0 (no country code starts so). */
	return n >= 9 && out[1] != '0' ? 0 : -1;
}

void recovery_phone_mask(const char *phone, char *out, size_t size)
{
	size_t n = strlen(phone);

	if (n < 6) {
		snprintf(out, size, "•••");
		return;
	}
	snprintf(out, size, "%.3s••••%s", phone, phone + n - 2);
}

void recovery_email_mask(const char *email, char *out, size_t size)
{
	const char *at = strchr(email, '@');

	if (at == NULL || at == email) {
		snprintf(out, size, "•••");
		return;
	}
	snprintf(out, size, "%.1s•••%s", email, at);
}

static int64_t window_start(int64_t now)
{
	return now - RECOVERY_SEND_WINDOW;
}

bool recovery_send_allowed(const struct recovery_rec *r, int64_t now)
{
	unsigned recent = 0;

	for (unsigned i = 0; i < r->n_sends && i < RECOVERY_SENDS_MAX; i++)
		if (r->sends[i] > window_start(now))
			recent++;
	return recent < RECOVERY_SENDS_MAX;
}

void recovery_send_noted(struct recovery_rec *r, int64_t now)
{
	if (r->sends_pos >= RECOVERY_SENDS_MAX)
		r->sends_pos = 0;
	r->sends[r->sends_pos] = now;
	r->sends_pos = (uint8_t)((r->sends_pos + 1) % RECOVERY_SENDS_MAX);
	if (r->n_sends < RECOVERY_SENDS_MAX)
		r->n_sends++;
}

/* Whether checks are stopped by failures (a count and its last time);
 * forgets old ones. */
static bool locked(uint8_t *fails, int64_t last_fail, int64_t now)
{
	if (*fails && now - last_fail >= RECOVERY_FAIL_QUIET_S)
		*fails = 0;
	return *fails >= RECOVERY_FAILS_MAX;
}

static void failed(uint8_t *fails, int64_t *last_fail, int64_t now)
{
	if (*fails < UINT8_MAX)
		(*fails)++;
	*last_fail = now;
}

enum recovery_verdict recovery_option_begin(struct recovery_rec *r, enum recovery_kind kind,
					    const char *to, const uint8_t hash[RECOVERY_HASH_LEN],
					    int64_t now)
{
	if (!recovery_send_allowed(r, now))
		return RECOVERY_E_THROTTLED;
	recovery_send_noted(r, now);
	r->pending = (uint8_t)kind;
	snprintf(r->pending_to, sizeof(r->pending_to), "%s", to);
	memcpy(r->pending_hash, hash, RECOVERY_HASH_LEN);
	r->pending_expires = now + (kind == RECOVERY_LOGIN ? RECOVERY_LINK_TTL : RECOVERY_CODE_TTL);
	return RECOVERY_OK;
}

static void pending_clear(struct recovery_rec *r)
{
	r->pending = 0;
	r->pending_to[0] = '\0';
	memset(r->pending_hash, 0, sizeof(r->pending_hash));
	r->pending_expires = 0;
}

enum recovery_verdict recovery_login_confirm(struct recovery_rec *r,
					     const uint8_t hash[RECOVERY_HASH_LEN], int64_t now,
					     char to[EMAIL_MAX + 1])
{
	if (r->pending != RECOVERY_LOGIN || now >= r->pending_expires)
		return RECOVERY_E_EXPIRED;
	if (CRYPTO_memcmp(hash, r->pending_hash, RECOVERY_HASH_LEN) != 0)
		return RECOVERY_E_INVALID;
	snprintf(to, EMAIL_MAX + 1, "%s", r->pending_to);
	pending_clear(r);
	return RECOVERY_OK;
}

enum recovery_verdict recovery_option_confirm(struct recovery_rec *r,
					      const uint8_t hash[RECOVERY_HASH_LEN], int64_t now,
					      enum recovery_kind *kind)
{
	if (locked(&r->option_fails, r->option_last_fail, now))
		return RECOVERY_E_LOCKED;
	if (r->pending == 0 || r->pending == RECOVERY_LOGIN || now >= r->pending_expires)
		return RECOVERY_E_EXPIRED;
	if (CRYPTO_memcmp(hash, r->pending_hash, RECOVERY_HASH_LEN) != 0) {
		failed(&r->option_fails, &r->option_last_fail, now);
		return RECOVERY_E_INVALID;
	}
	*kind = (enum recovery_kind)r->pending;
	if (r->pending == RECOVERY_EMAIL) {
		snprintf(r->email, sizeof(r->email), "%s", r->pending_to);
		r->email_verified = true;
	} else {
		snprintf(r->phone, sizeof(r->phone), "%.*s", RECOVERY_PHONE_MAX, r->pending_to);
		r->phone_verified = true;
		recovery_sms_login_used(r); /* a code sent to the old number dies */
	}
	r->pending = 0;
	r->pending_to[0] = '\0';
	memset(r->pending_hash, 0, sizeof(r->pending_hash));
	r->pending_expires = 0;
	r->option_fails = 0;
	return RECOVERY_OK;
}

void recovery_option_remove(struct recovery_rec *r, enum recovery_kind kind)
{
	if (kind == RECOVERY_EMAIL) {
		r->email[0] = '\0';
		r->email_verified = false;
		r->reset_link_expires = 0;
	} else {
		r->phone[0] = '\0';
		r->phone_verified = false;
		r->reset_code_expires = 0;
		recovery_sms_factor_off(r);
	}
	if (r->pending == kind) {
		r->pending = 0;
		r->pending_to[0] = '\0';
		r->pending_expires = 0;
	}
}

enum recovery_verdict recovery_reset_begin(struct recovery_rec *r, const uint8_t *code_hash,
					   const uint8_t *link_hash, int64_t now)
{
	if (!recovery_send_allowed(r, now))
		return RECOVERY_E_THROTTLED;
	recovery_send_noted(r, now);
	r->reset_code_expires = 0;
	r->reset_link_expires = 0;
	r->reset_proofed = false;
	if (code_hash) {
		memcpy(r->reset_code, code_hash, RECOVERY_HASH_LEN);
		r->reset_code_expires = now + RECOVERY_CODE_TTL;
	}
	if (link_hash) {
		memcpy(r->reset_link, link_hash, RECOVERY_HASH_LEN);
		r->reset_link_expires = now + RECOVERY_LINK_TTL;
	}
	return RECOVERY_OK;
}

enum recovery_verdict recovery_reset_verify(struct recovery_rec *r, enum recovery_kind kind,
					    const uint8_t hash[RECOVERY_HASH_LEN],
					    const uint8_t grant_hash[RECOVERY_HASH_LEN],
					    int64_t now)
{
	const uint8_t *want = kind == RECOVERY_PHONE ? r->reset_code : r->reset_link;
	int64_t expires = kind == RECOVERY_PHONE ? r->reset_code_expires : r->reset_link_expires;

	bool code = kind == RECOVERY_PHONE;

	if (code && locked(&r->fails, r->last_fail, now))
		return RECOVERY_E_LOCKED;
	if (expires == 0 || now >= expires) {
		/* A code tried when none is waiting counts as a wrong one: an
		 * account with no code sent must not answer otherwise. */
		if (code)
			failed(&r->fails, &r->last_fail, now);
		return RECOVERY_E_EXPIRED;
	}
	if (CRYPTO_memcmp(hash, want, RECOVERY_HASH_LEN) != 0) {
		if (code)
			failed(&r->fails, &r->last_fail, now);
		return RECOVERY_E_INVALID;
	}
	/* One use: the code and the link of this reset both die. */
	r->reset_code_expires = 0;
	r->reset_link_expires = 0;
	memset(r->reset_code, 0, sizeof(r->reset_code));
	memset(r->reset_link, 0, sizeof(r->reset_link));
	memcpy(r->grant, grant_hash, RECOVERY_HASH_LEN);
	r->grant_expires = now + RECOVERY_GRANT_TTL;
	r->grant_fails = 0;
	r->fails = 0; /* the owner is back, by either way */
	return RECOVERY_OK;
}

enum recovery_verdict recovery_grant_check(const struct recovery_rec *r,
					   const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
{
	if (r->grant_expires == 0 || now >= r->grant_expires)
		return RECOVERY_E_EXPIRED;
	return CRYPTO_memcmp(hash, r->grant, RECOVERY_HASH_LEN) == 0 ? RECOVERY_OK
								     : RECOVERY_E_INVALID;
}

void recovery_grant_used(struct recovery_rec *r)
{
	memset(r->grant, 0, sizeof(r->grant));
	r->grant_expires = 0;
	r->grant_fails = 0;
	r->reset_proofed = false;
}

void recovery_reset_proofed(struct recovery_rec *r)
{
	r->reset_proofed = true;
}

bool recovery_grant_failed(struct recovery_rec *r)
{
	if (++r->grant_fails < RECOVERY_FAILS_MAX)
		return true;
	recovery_grant_used(r);
	return false;
}

enum recovery_verdict recovery_sms_factor_on(struct recovery_rec *r, int64_t now)
{
	if (r->phone[0] == '\0' || !r->phone_verified)
		return RECOVERY_E_EXPIRED;
	if (r->sms_factor_at == 0)
		r->sms_factor_at = now;
	return RECOVERY_OK;
}

void recovery_sms_factor_off(struct recovery_rec *r)
{
	r->sms_factor_at = 0;
	recovery_sms_login_used(r);
	memset(r->sms_login, 0, sizeof(r->sms_login));
	r->sms_sends = 0;
}

bool recovery_sms_factor_is_on(const struct recovery_rec *r)
{
	return r->sms_factor_at != 0 && r->phone[0] != '\0' && r->phone_verified;
}

unsigned recovery_sms_sends_left(const struct recovery_rec *r,
				 const uint8_t login_hash[AUTHD_HASH_LEN])
{
	unsigned sent =
	    CRYPTO_memcmp(r->sms_login, login_hash, AUTHD_HASH_LEN) == 0 ? r->sms_sends : 0;

	return sent >= RECOVERY_SMS_SENDS ? 0 : RECOVERY_SMS_SENDS - sent;
}

enum recovery_verdict recovery_sms_login_begin(struct recovery_rec *r,
					       const uint8_t login_hash[AUTHD_HASH_LEN],
					       const uint8_t code_hash[RECOVERY_HASH_LEN],
					       int64_t expires)
{
	if (!recovery_sms_factor_is_on(r))
		return RECOVERY_E_EXPIRED;
	if (recovery_sms_sends_left(r, login_hash) == 0)
		return RECOVERY_E_THROTTLED;
	if (CRYPTO_memcmp(r->sms_login, login_hash, AUTHD_HASH_LEN) != 0) {
		memcpy(r->sms_login, login_hash, AUTHD_HASH_LEN);
		r->sms_sends = 0;
	}
	r->sms_sends++;
	memcpy(r->sms_code, code_hash, RECOVERY_HASH_LEN);
	r->sms_code_expires = expires;
	return RECOVERY_OK;
}

enum recovery_verdict recovery_sms_login_check(const struct recovery_rec *r,
					       const uint8_t login_hash[AUTHD_HASH_LEN],
					       const uint8_t code_hash[RECOVERY_HASH_LEN],
					       int64_t now)
{
	if (!recovery_sms_factor_is_on(r) || r->sms_code_expires == 0 ||
	    now >= r->sms_code_expires ||
	    CRYPTO_memcmp(r->sms_login, login_hash, AUTHD_HASH_LEN) != 0)
		return RECOVERY_E_EXPIRED;
	return CRYPTO_memcmp(r->sms_code, code_hash, RECOVERY_HASH_LEN) == 0 ? RECOVERY_OK
									     : RECOVERY_E_INVALID;
}

void recovery_sms_login_used(struct recovery_rec *r)
{
	memset(r->sms_code, 0, sizeof(r->sms_code));
	r->sms_code_expires = 0;
}

enum recovery_verdict recovery_close_begin(struct recovery_rec *r,
					   const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
{
	if (!recovery_send_allowed(r, now))
		return RECOVERY_E_THROTTLED;
	recovery_send_noted(r, now);
	memcpy(r->close_hash, hash, RECOVERY_HASH_LEN);
	r->close_expires = now + RECOVERY_LINK_TTL;
	return RECOVERY_OK;
}

enum recovery_verdict recovery_close_confirm(struct recovery_rec *r,
					     const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
{
	if (r->close_expires == 0 || now >= r->close_expires)
		return RECOVERY_E_EXPIRED;
	if (CRYPTO_memcmp(hash, r->close_hash, RECOVERY_HASH_LEN) != 0)
		return RECOVERY_E_INVALID;
	memset(r->close_hash, 0, sizeof(r->close_hash));
	r->close_expires = 0;
	return RECOVERY_OK;
}

bool recovery_is_empty(const struct recovery_rec *r)
{
	return r->email[0] == '\0' && r->phone[0] == '\0' && r->pending == 0 &&
	       r->reset_code_expires == 0 && r->reset_link_expires == 0 && r->grant_expires == 0 &&
	       r->fails == 0 && r->option_fails == 0 && r->n_sends == 0 && r->sms_factor_at == 0 &&
	       r->sms_code_expires == 0 && r->close_expires == 0;
}
