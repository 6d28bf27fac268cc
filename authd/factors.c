/*
 * The shell around the core's second-factor rules (factors.h): the keys and
 * figures from the server's configuration, the failure history through the
 * store, fresh backup codes from the CSPRNG.
 */
#include "factors.h"
#include "rotation.h"

#include "cluster.h"
#include "http.h"
#include "notify.h"
#include "sms.h"
#include "throttle.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <util.h>

/* Filled once by factor_setup(), before any thread reads them. */
static struct core_params params;

void factor_setup(void)
{
	params.session_idle = srv.cfg.session_idle_s;
	params.session_absolute = srv.cfg.session_absolute_s;
	params.login_ttl = srv.cfg.login_ttl_s;
	params.enrollment_ttl = srv.cfg.enrollment_ttl_s;
	params.login_max_attempts = 5;
}

const struct core_keys *factor_keys(void)
{
	return &keys_seals()->core;
}

const struct core_params *factor_params(void)
{
	return &params;
}

int factor_hist_read(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		     struct core_factor_hist *h)
{
	uint8_t key[THROTTLE_KEY_LEN];
	int rc;

	memset(h, 0, sizeof(*h));
	throttle_key_factor(key, account_id);
	if ((rc = store_throttle_get(txn, key, &h->factor)) != 0)
		return rc;
	throttle_key_account(key, account_id);
	return store_throttle_get(txn, key, &h->account);
}

int factor_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		 enum security_event_kind kind, int64_t now, const char *ip)
{
	struct security_event e;
	int rc;

	memset(&e, 0, sizeof(e));
	memcpy(e.account_id, account_id, AUTHD_ID_LEN);
	e.at = now;
	e.kind = (uint16_t)kind;
	snprintf(e.ip, sizeof(e.ip), "%s", ip ? ip : "");
	if ((rc = store_event_add(txn, &e)) != 0)
		return rc;
	return notify_event(txn, account_id, kind, now, ip);
}

static int add_device(void *arg, const struct push_device *d)
{
	struct factor_devices *ds = arg;

	if (ds->n == CORE_DEVICES_MAX)
		return 0; /* more than any account may link: the first ones count */
	ds->dev[ds->n] = *d;
	push_device_totp(d, &ds->totp[ds->n]);
	ds->n++;
	return 0;
}

/* Reads whether SMS is on and, for an SMS step, compares the code with the
 * one sent for the login; *rec keeps the record for using the code up. */
static int sms_read(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		    enum core_method m, const char *code, size_t len,
		    const struct token_ref *login_ref, struct core_second_factor *s,
		    struct recovery_rec *rec, int64_t now)
{
	char digits[RECOVERY_SMS_DIGITS + 1];
	uint8_t hash[RECOVERY_HASH_LEN];
	int rc = store_recovery_get(txn, account_id, rec);

	if (rc != 0)
		return rc;
	s->sms_read = true;
	s->sms_on = recovery_sms_factor_is_on(rec);
	s->sms_verdict = CORE_INVALID_CODE;
	if (m == CORE_SMS && login_ref && sms_digits_of(code, len, digits, RECOVERY_SMS_DIGITS)) {
		sms_code_hash(login_ref->hash, digits, RECOVERY_SMS_DIGITS, hash);
		if (recovery_sms_login_check(rec, login_ref->hash, hash, now) == RECOVERY_OK)
			s->sms_verdict = CORE_OK;
		OPENSSL_cleanse(hash, sizeof(hash));
	}
	OPENSSL_cleanse(digits, sizeof(digits));
	return 0;
}

int factor_step(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], enum core_method m,
		const char *code, size_t len, struct core_totp_precheck *pre,
		struct factor_devices **devs, const struct token_ref *login_ref,
		struct core_second_factor *s, int64_t now)
{
	struct recovery_rec rec;
	int rc = 0;

	if (s->login_found) {
		if ((rc = factor_hist_read(txn, account_id, &s->hist)) != 0)
			return rc;
		rc = store_totp_get(txn, account_id, &s->totp);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		s->totp_found = rc == 0;
		if (m == CORE_BACKUP_CODE) {
			rc = store_backup_get(txn, account_id, &s->backup);
			if (rc != 0 && rc != STORE_E_NOTFOUND)
				return rc;
			s->backup_found = rc == 0;
		}
		/* Without a precheck before the write (PostgreSQL), one here: the
		 * question below and the step then share the one code check. */
		if (m == CORE_TOTP && !pre->done && s->totp_found && s->totp.enabled)
			core_totp_precheck(pre, &s->totp, factor_keys(), account_id, code, len,
					   now);
		if (core_second_factor_wants_devices(s, m, pre, factor_keys(), code, len, now)) {
			if (*devs == NULL && (*devs = calloc(1, sizeof(**devs))) == NULL)
				return STORE_E_IO;
			(*devs)->n = 0;
			if ((rc = store_devices_list(txn, account_id, add_device, *devs)) != 0)
				return rc;
			s->devices = (*devs)->totp;
			s->n_devices = (*devs)->n;
			s->devices_read = true;
		}
		if ((m == CORE_SMS || !(s->totp_found && s->totp.enabled)) &&
		    !(s->devices_read && s->n_devices > 0) &&
		    (rc = sms_read(txn, account_id, m, code, len, login_ref, s, &rec, now)) != 0)
			goto out;
	}
	core_second_factor_step(s, m, code, len, pre, now, factor_keys(), factor_params());
	if (m == CORE_SMS && s->verdict == CORE_OK) {
		recovery_sms_login_used(&rec); /* never twice */
		rc = store_recovery_put(txn, account_id, &rec);
	}
out:
	if (s->sms_read)
		OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

int factor_step_write(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct factor_devices *devs, const struct core_second_factor *s,
		      int64_t now, const char *ip)
{
	int rc;

	if (s->device_write >= 0 && devs &&
	    (rc = store_device_step(txn, account_id, devs->dev[s->device_write].id,
				    s->devices[s->device_write].last_step)) != 0)
		return rc;
	if (s->totp_write) {
		/* Written anyway: sealed with the current key while at it. */
		struct totp_rec t = s->totp;

		rotation_touch_totp(&t, account_id);
		rc = store_totp_put(txn, account_id, &t);
		OPENSSL_cleanse(&t, sizeof(t));
		if (rc != 0)
			return rc;
	}
	if (s->backup_write && (rc = store_backup_put(txn, account_id, &s->backup)) != 0)
		return rc;
	return factor_hist_write(txn, account_id, &s->hist, now, ip);
}

int factor_login_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		       enum event_method m, enum event_outcome o, int64_t now, const char *ip,
		       const char *browser)
{
	struct security_event e;

	memset(&e, 0, sizeof(e));
	memcpy(e.account_id, account_id, AUTHD_ID_LEN);
	e.at = now;
	e.kind = EVENT_LOGIN;
	e.method = (uint8_t)m;
	e.outcome = (uint8_t)o;
	snprintf(e.ip, sizeof(e.ip), "%s", ip ? ip : "");
	snprintf(e.browser, sizeof(e.browser), "%s",
		 browser && strcmp(browser, "unknown") != 0 ? browser : "");
	return store_event_add(txn, &e);
}

int factor_password_read(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			 struct account *a, uint8_t subject[THROTTLE_KEY_LEN],
			 struct throttle_rec *th, enum api_error *err)
{
	int rc = store_account_get(txn, account_id, a);

	if (rc == STORE_E_NOTFOUND) {
		*err = E_UNAUTHENTICATED;
		return 0;
	}
	if (rc != 0)
		return rc;
	throttle_key_factor(subject, a->id);
	return store_throttle_get(txn, subject, th);
}

bool factor_delay_or_reply(struct req *r, const uint8_t subject[THROTTLE_KEY_LEN],
			   const struct throttle_rec *stored, uint64_t read_seq, int64_t now)
{
	struct throttle_slot *slot = throttle_slot_subject(subject);
	int64_t wait;

	if (slot == NULL) {
		reply_error(r, E_OVERLOADED);
		return false;
	}
	wait = throttle_retry_after(throttle_subject_fresh(subject, stored, read_seq),
				    &throttle_factor_policy, now, *throttle_slot_inflight(slot));
	if (wait > 0) {
		reply_throttled(r, wait);
		return false;
	}
	throttle_inflight_subject(subject, +1);
	return true;
}

int factor_hist_write(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct core_factor_hist *h, int64_t now, const char *ip)
{
	uint8_t key[THROTTLE_KEY_LEN];
	int rc;

	if (h->factor_dirty) {
		throttle_key_factor(key, account_id);
		if ((rc = store_throttle_put(txn, key, &h->factor)) != 0)
			return rc;
		/* Stored in this transaction; logged once it committed (flow.c). */
		if (h->locked_now &&
		    (rc = factor_event(txn, account_id, EVENT_SECOND_FACTOR_LOCKED, now, ip)) != 0)
			return rc;
	}
	if (h->account_dirty) {
		throttle_key_account(key, account_id);
		if ((rc = store_throttle_put(txn, key, &h->account)) != 0)
			return rc;
	}
	return 0;
}

int factor_backup_fresh(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
			int64_t now)
{
	uint8_t rnd[CORE_BACKUP_RANDOM];
	int rc;

	authd_random(rnd, sizeof(rnd));
	rc = core_backup_new(b, codes, factor_keys(), rnd, now);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return rc;
}

json_t *factor_backup_json(char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1])
{
	json_t *arr = json_array();

	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		if (arr)
			json_array_append_new(arr, json_string(codes[i]));
		OPENSSL_cleanse(codes[i], OTP_BACKUP_TEXT_LEN + 1);
	}
	return arr;
}

int factor_failures_clear(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			  int64_t now, const char *ip)
{
	struct core_factor_hist h;
	int rc = factor_hist_read(txn, account_id, &h);

	if (rc != 0)
		return rc;
	core_factor_success(&h);
	return factor_hist_write(txn, account_id, &h, now, ip);
}

struct revoking {
	uint8_t (*ids)[AUTHD_ID_LEN];
	unsigned n;
};

static int revoke_one(void *arg, const struct push_device *d)
{
	struct revoking *r = arg;

	if (r->n < CORE_DEVICES_MAX)
		memcpy(r->ids[r->n++], d->id, AUTHD_ID_LEN);
	return 0;
}

int factor_devices_revoke(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool del,
			  uint8_t ids[CORE_DEVICES_MAX][AUTHD_ID_LEN], unsigned *n)
{
	struct revoking r = {ids, 0};
	int rc = store_devices_list(txn, account_id, revoke_one, &r);

	*n = 0;
	for (unsigned i = 0; rc == 0 && i < r.n; i++) {
		struct cluster_event e = {.kind = CLUSTER_REVOKED};

		memcpy(e.account_id, account_id, AUTHD_ID_LEN);
		memcpy(e.id, ids[i], AUTHD_ID_LEN);
		if (!del || (rc = store_device_del(txn, account_id, ids[i])) == 0)
			rc = cluster_publish(txn, &e);
	}
	if (rc == 0)
		*n = r.n;
	return rc;
}
