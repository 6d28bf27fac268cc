/*
 * The decisions of each flow, as functions of the records read, the time
 * and the keys: what the answer is and which records to write. The shell
 * (authd/http_*.c) reads the records in its write transaction, calls one
 * of these and writes what it says, so a decision and the state it
 * consumes change together on both engines.
 */
#include "core.h"

#include <openssl/crypto.h>
#include <string.h>

void core_session_new(struct session *s, const struct account *a, enum aal aal, int64_t now,
		      const struct core_params *p)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->account_id, a->id, AUTHD_ID_LEN);
	memcpy(s->org_id, a->org_id, AUTHD_ID_LEN);
	s->aal = (uint8_t)aal;
	s->created_at = now;
	s->last_seen = now;
	s->expires_at = now + p->session_absolute;
	s->second_factor_at = aal == AAL_SECOND_FACTOR ? now : 0;
	if (core_login_is_recovery(a->email))
		s->flags |= SESSION_F_LOGIN_REPLACED;
}

bool core_factor_may_try(const struct core_factor_hist *h, bool totp, int64_t now,
			 enum core_verdict *v, int64_t *retry_after)
{
	if (totp && throttle_factor_locked(&h->factor)) {
		*v = CORE_FACTOR_LOCKED;
		return false;
	}
	*retry_after = throttle_retry_after(&h->factor, &throttle_factor_policy, now, 0);
	if (*retry_after > 0) {
		*v = CORE_THROTTLED;
		return false;
	}
	return true;
}

bool core_second_factor_wants_devices(const struct core_second_factor *s, enum core_method m,
				      const struct core_totp_precheck *pre,
				      const struct core_keys *k, const char *code, size_t len,
				      int64_t now)
{
	struct totp_rec t;
	enum core_verdict v;
	bool wants;

	if (!s->login_found || m == CORE_SMS)
		return false;
	if (!s->totp_found || !s->totp.enabled)
		return true; /* the devices are what keeps 2FA on */
	if (m == CORE_BACKUP_CODE)
		return false;
	/* A code the app's credential accepts needs nothing else. */
	t = s->totp;
	if (pre == NULL || !core_totp_apply(&t, pre, &v))
		v = core_totp_check(&t, k, s->login.account_id, false, code, len, now);
	wants = v != CORE_OK;
	OPENSSL_cleanse(&t, sizeof(t));
	return wants;
}

/* Folds one seed's verdict v into the step's: *unopened keeps the first
 * seed that did not open (a missing key generation before damage), and
 * *compared whether any seed was compared with the code. */
static void fold_seed(enum core_verdict v, bool *reused, bool *compared,
		      enum core_verdict *unopened)
{
	if (core_verdict_unopened(v)) {
		if (*unopened != CORE_KEY_MISSING)
			*unopened = v;
		return;
	}
	*compared = true;
	*reused = *reused || v == CORE_CODE_REUSED;
}

/*
 * A TOTP code against the account's credential, then its devices': the
 * first that accepts it wins; a replay on any of them is told as one. A
 * seed that does not open here (CORE_KEY_MISSING: sealed with a key
 * generation this node lacks; CORE_DAMAGED) is passed over, and when no
 * other seed accepts the code that is the verdict. Returns whether any
 * seed was compared with the code: then a refusal counts, whatever the
 * verdict, or a node that cannot open one seed would let codes be tried
 * against the others for free.
 */
static bool totp_step(struct core_second_factor *s, const char *code, size_t len,
		      const struct core_totp_precheck *pre, int64_t now, const struct core_keys *k)
{
	enum core_verdict unopened = CORE_OK, v;
	bool reused = false, compared = false;

	if (s->totp_found && s->totp.enabled) {
		if (pre == NULL || !core_totp_apply(&s->totp, pre, &v))
			v = core_totp_check(&s->totp, k, s->login.account_id, false, code, len,
					    now);
		if (v == CORE_OK) {
			s->verdict = CORE_OK;
			s->totp_write = true;
			return true;
		}
		fold_seed(v, &reused, &compared, &unopened);
	}
	for (unsigned i = 0; s->devices_read && i < s->n_devices; i++) {
		v = core_device_totp_check(&s->devices[i], k, code, len, now);
		if (v == CORE_OK) {
			s->verdict = CORE_OK;
			s->device_write = (int)i;
			return true;
		}
		fold_seed(v, &reused, &compared, &unopened);
	}
	s->verdict = unopened != CORE_OK ? unopened : reused ? CORE_CODE_REUSED : CORE_INVALID_CODE;
	return compared;
}

void core_second_factor_step(struct core_second_factor *s, enum core_method m, const char *code,
			     size_t len, const struct core_totp_precheck *pre, int64_t now,
			     const struct core_keys *k, const struct core_params *p)
{
	s->verdict = CORE_LOGIN_EXPIRED;
	s->retry_after = 0;
	s->login_write = CORE_LOGIN_KEEP;
	s->totp_write = s->backup_write = false;
	s->device_write = -1;
	s->hist.factor_dirty = s->hist.account_dirty = false;
	s->backup_left = 0;
	s->failure_counted = false;
	if (!s->login_found)
		return;
	if (now >= s->login.expires_at) {
		s->login_write = CORE_LOGIN_DEL;
		return;
	}
	/* SMS codes are refused while TOTP codes are: both are guessable. */
	if (!core_factor_may_try(&s->hist, m != CORE_BACKUP_CODE, now, &s->verdict,
				 &s->retry_after))
		return;
	/* (Other factors may still be on: the login stays.) */
	if (m == CORE_SMS && !(s->sms_read && s->sms_on)) {
		s->verdict = CORE_METHOD_NOT_ENABLED;
		return;
	}
	/* A second factor must still be on now (removal takes effect at once):
	 * TOTP, a linked device, or SMS. */
	if ((!s->totp_found || !s->totp.enabled) && !(s->devices_read && s->n_devices > 0) &&
	    !(s->sms_read && s->sms_on)) {
		s->verdict = CORE_LOGIN_EXPIRED;
		s->login_write = CORE_LOGIN_DEL;
		return;
	}
	if (m == CORE_TOTP) {
		/* Nothing compared (no seed opened): nothing decided, nothing
		 * counted; the code may be right where the seed opens. */
		if (!totp_step(s, code, len, pre, now, k) && core_verdict_unopened(s->verdict))
			return;
	} else if (m == CORE_SMS) {
		/* A code tried when none was sent counts as a wrong one. */
		s->verdict = s->sms_verdict == CORE_OK ? CORE_OK : CORE_INVALID_CODE;
	} else {
		if (!s->backup_found) {
			s->verdict = CORE_METHOD_NOT_ENABLED;
			return;
		}
		s->verdict = core_backup_consume(&s->backup, k, code, len, now);
		s->backup_write = s->verdict == CORE_OK;
		s->backup_left = backup_remaining(&s->backup);
	}
	if (s->verdict != CORE_OK) {
		core_factor_failure(&s->hist, now);
		s->failure_counted = true;
		s->login.attempts++;
		s->login_write =
		    s->login.attempts >= p->login_max_attempts ? CORE_LOGIN_DEL : CORE_LOGIN_PUT;
		return;
	}
	core_factor_success(&s->hist);
	s->login_write = CORE_LOGIN_DEL;
}

void core_password_login_decide(struct core_password_login *l, int64_t now,
				const struct core_params *p)
{
	int64_t cap;

	l->verdict = CORE_INVALID_CREDENTIALS;
	l->retry_after = 0;
	l->subject_write = l->account_write = false;
	l->hist.factor_dirty = l->hist.account_dirty = false;
	l->second_factor = l->totp_locked = l->has_backup = l->has_totp = l->has_push = false;
	l->has_sms = false;
	/* As stored now, whatever the loop saw (cluster-wide on PostgreSQL). */
	l->retry_after = throttle_retry_after(&l->subject, &throttle_account_policy, now, 0);
	cap = throttle_retry_after(&l->hist.account, &throttle_account_hourly_policy, now, 0);
	if (cap > l->retry_after)
		l->retry_after = cap;
	if (l->retry_after > 0) {
		l->verdict = CORE_THROTTLED;
		return;
	}
	if (!l->password_ok) {
		/* The delay is the client's (or the unknown email's); the
		 * account's hourly cap counts the failure whoever made it, and so
		 * does the second-factor record's, so that the cap counts both
		 * steps' failures. */
		throttle_record_failure(&l->subject, &throttle_account_policy, now);
		throttle_record_hourly(&l->hist.account, now);
		throttle_record_hourly(&l->hist.factor, now);
		l->subject_write = l->hist.account_dirty = l->hist.factor_dirty = true;
		return;
	}
	if (!l->account_found)
		return; /* deleted meanwhile: a plain failure */
	/* Locked: answered and counted as a wrong password (the lock is told
	 * by its notice, never to whoever tries passwords). */
	if (l->account.locked_at != 0) {
		l->verdict = CORE_ACCOUNT_LOCKED;
		throttle_record_failure(&l->subject, &throttle_account_policy, now);
		throttle_record_hourly(&l->hist.account, now);
		throttle_record_hourly(&l->hist.factor, now);
		l->subject_write = l->hist.account_dirty = l->hist.factor_dirty = true;
		return;
	}
	if (l->subject.consecutive) {
		throttle_record_success(&l->subject);
		l->subject_write = true;
	}
	/* Upgrade the hash only if nobody changed the password meanwhile. */
	if (l->new_phc && l->verified_phc && strcmp(l->account.pw_hash, l->verified_phc) == 0 &&
	    strlen(l->new_phc) < sizeof(l->account.pw_hash)) {
		memcpy(l->account.pw_hash, l->new_phc, strlen(l->new_phc) + 1);
		l->account_write = true;
	}
	l->verdict = CORE_OK;
	l->has_totp = (l->totp_found && l->totp.enabled) || l->devices > 0;
	if (l->has_totp || l->sms_on) {
		memset(&l->login, 0, sizeof(l->login));
		memcpy(l->login.account_id, l->account.id, AUTHD_ID_LEN);
		l->login.created_at = now;
		l->login.expires_at = now + p->login_ttl;
		l->second_factor = true;
		l->has_push =
		    l->devices > 0 && !l->push_paused && !throttle_factor_locked(&l->hist.factor);
		l->has_backup = l->backup_found && backup_remaining(&l->backup) > 0;
		l->totp_locked = throttle_factor_locked(&l->hist.factor);
		l->has_sms = l->sms_on && !l->totp_locked;
		return;
	}
	core_session_new(&l->session, &l->account, AAL_PASSWORD, now, p);
}

static void change_start(struct core_totp_change *c)
{
	c->verdict = CORE_OK;
	c->retry_after = 0;
	c->totp_write = c->backup_write = CORE_KEEP;
	c->end_sessions = false;
	c->hist.factor_dirty = c->hist.account_dirty = false;
}

void core_totp_enroll(struct core_totp_change *c, const uint8_t enrollment_id[AUTHD_ID_LEN],
		      const uint8_t *sealed, size_t sealed_len, int64_t now,
		      const struct core_params *p)
{
	change_start(c);
	if (c->totp_found && c->totp.enabled) {
		c->verdict = CORE_TOTP_ALREADY_ENABLED;
		return;
	}
	if (!c->totp_found) {
		memset(&c->totp, 0, sizeof(c->totp));
		c->totp.last_step = -1;
	}
	/* The parameters every authenticator app supports (RFC 6238 defaults). */
	c->totp.alg = OTP_ALG_SHA1;
	c->totp.digits = 6;
	c->totp.period = 30;
	memcpy(c->totp.pending_id, enrollment_id, AUTHD_ID_LEN);
	c->totp.pending_expires_at = now + p->enrollment_ttl;
	memcpy(c->totp.pending_seed, sealed, sealed_len);
	c->totp.pending_seed_len = (uint8_t)sealed_len;
	c->totp_write = CORE_PUT;
}

void core_totp_confirm(struct core_totp_change *c, const uint8_t *enrollment_id, const char *code,
		       size_t len, const struct backup_rec *fresh,
		       const uint8_t account_id[AUTHD_ID_LEN], const struct core_keys *k,
		       int64_t now)
{
	struct totp_rec *t = &c->totp;

	change_start(c);
	/* No lock here: with TOTP off there is no factor to lock (failures of
	 * the current password can count up to it), only the delay. */
	if (!core_factor_may_try(&c->hist, false, now, &c->verdict, &c->retry_after))
		return;
	if (c->totp_found && t->enabled) {
		c->verdict = CORE_TOTP_ALREADY_ENABLED;
		return;
	}
	if (!c->totp_found || t->pending_expires_at == 0 || now >= t->pending_expires_at ||
	    (enrollment_id && CRYPTO_memcmp(t->pending_id, enrollment_id, AUTHD_ID_LEN) != 0)) {
		c->verdict = CORE_NO_PENDING_ENROLLMENT;
		return;
	}
	t->last_step = -1;
	c->verdict = core_totp_check(t, k, account_id, true, code, len, now);
	if (core_verdict_unopened(c->verdict))
		return;
	if (c->verdict != CORE_OK) {
		core_factor_failure(&c->hist, now);
		return;
	}
	t->enabled = true;
	t->enabled_at = now;
	memcpy(t->seed, t->pending_seed, t->pending_seed_len);
	t->seed_len = t->pending_seed_len;
	OPENSSL_cleanse(t->pending_seed, sizeof(t->pending_seed));
	t->pending_seed_len = 0;
	t->pending_expires_at = 0;
	memset(t->pending_id, 0, sizeof(t->pending_id));
	/* 2FA was off: a fresh set of backup codes comes with it, and the
	 * sessions made with the password alone end. */
	c->backup = *fresh;
	c->totp_write = c->backup_write = CORE_PUT;
	c->end_sessions = true;
	core_factor_success(&c->hist);
}

void core_totp_remove(struct core_totp_change *c, const char *code, size_t len,
		      const uint8_t account_id[AUTHD_ID_LEN], const struct core_keys *k,
		      int64_t now)
{
	char norm[OTP_BACKUP_CHARS + 1];
	/* A backup code works too: it is how someone who lost the phone turns
	 * TOTP off. The two formats cannot be confused (digits vs 16 letters). */
	bool backup_code = otp_backup_normalize(code, len, norm) == 0;

	OPENSSL_cleanse(norm, sizeof(norm));
	change_start(c);
	if (!core_factor_may_try(&c->hist, !backup_code, now, &c->verdict, &c->retry_after))
		return;
	if (!c->totp_found || !c->totp.enabled) {
		c->verdict = CORE_TOTP_NOT_ENABLED;
		return;
	}
	if (backup_code)
		c->verdict = c->backup_found ? core_backup_consume(&c->backup, k, code, len, now)
					     : CORE_INVALID_CODE;
	else
		c->verdict = core_totp_check(&c->totp, k, account_id, false, code, len, now);
	if (core_verdict_unopened(c->verdict))
		return;
	if (c->verdict != CORE_OK) {
		core_factor_failure(&c->hist, now);
		return;
	}
	/* TOTP is the only method today: removing it turns 2FA off, and the
	 * backup codes go with it. */
	c->totp_write = c->backup_write = CORE_DEL;
	core_factor_success(&c->hist);
}

void core_backup_regenerate(struct core_totp_change *c, const struct backup_rec *fresh)
{
	change_start(c);
	if (!c->totp_found || !c->totp.enabled) {
		c->verdict = CORE_TOTP_NOT_ENABLED;
		return;
	}
	c->backup = *fresh;
	c->backup_write = CORE_PUT;
}

void core_password_change_decide(struct core_password_change *c, int64_t now)
{
	c->account_write = false;
	c->hist.factor_dirty = c->hist.account_dirty = false;
	c->retry_after = throttle_retry_after(&c->hist.factor, &throttle_factor_policy, now, 0);
	if (c->retry_after > 0) {
		c->verdict = CORE_THROTTLED;
		return;
	}
	if (!c->password_ok) {
		c->verdict = CORE_WRONG_PASSWORD;
		core_factor_failure(&c->hist, now);
		return;
	}
	/* Changed by another request since it was verified: verify again. */
	if (!c->account_found || strcmp(c->account.pw_hash, c->verified_phc) != 0 ||
	    strlen(c->new_phc) >= sizeof(c->account.pw_hash)) {
		c->verdict = CORE_WRONG_PASSWORD;
		return;
	}
	memcpy(c->account.pw_hash, c->new_phc, strlen(c->new_phc) + 1);
	c->account.password_changed_at = now;
	c->account_write = true;
	c->verdict = CORE_OK;
}
