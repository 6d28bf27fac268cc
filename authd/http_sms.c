/*
 * SMS as a second factor (recovery.h decides; this is the shell):
 *
 *   PUT    /1/me/2fa/sms   turns it on, on the verified recovery number (a
 *                          recent sign-in); when it is the account's first
 *                          second factor, the 10 backup codes come with it,
 *                          once, and every other session ends
 *   DELETE /1/me/2fa/sms   turns it off (a recent sign-in)
 *   POST   /1/login/sms    {"login_id"}: sends a sign-in code for that
 *                          pending login; {"login_id", "code"} checks it
 *                          (http_login.c, as a TOTP code is checked)
 *
 * A code has RECOVERY_SMS_DIGITS digits, is stored as a keyed hash bound
 * to the pending login that asked for it, works once and dies with that
 * login (or after RECOVERY_CODE_TTL). A pending login gets at most
 * RECOVERY_SMS_SENDS codes; every text message authd sends also counts
 * against the account's and the number prefix's daily quotas (sms.h). No
 * code is sent while the account's second factors are locked or delayed.
 */
#include "http.h"
#include "metrics.h"

#include "factors.h"
#include "flow.h"
#include "outbox.h"
#include "session.h"
#include "sms.h"

#include <log.h>
#include <recovery.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- POST /1/login/sms {"login_id"} ------------------------------------------------ */

struct send_flow {
	struct flow f;
	struct token_ref login;
	char code[RECOVERY_SMS_DIGITS + 1];
	char sent_to[40];
	int64_t expires;
	unsigned left;
};

static int send_write(struct flow *f, struct store_txn *txn)
{
	struct send_flow *j = (struct send_flow *)f;
	const uint8_t *id = j->login.account_id;
	uint8_t hash[RECOVERY_HASH_LEN];
	struct core_factor_hist h;
	struct recovery_rec rec;
	enum core_verdict v;
	struct login l;
	bool quota_ok;
	int rc = store_login_get(txn, &j->login, &l);

	memset(&rec, 0, sizeof(rec));
	if (rc == STORE_E_NOTFOUND || (rc == 0 && f->now >= l.expires_at)) {
		f->err = E_LOGIN_EXPIRED;
		return 0;
	}
	if (rc != 0 || (rc = factor_hist_read(txn, id, &h)) != 0)
		return rc;
	/* While codes are refused, none is sent: a message costs money. */
	if (!core_factor_may_try(&h, true, f->now, &v, &f->retry_after)) {
		f->err = api_error_from_verdict(v);
		return 0;
	}
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		goto out;
	if (!recovery_sms_factor_is_on(&rec)) {
		f->err = E_METHOD_NOT_ENABLED;
		goto out;
	}
	if (recovery_sms_sends_left(&rec, j->login.hash) == 0) {
		f->err = E_TOO_MANY_MESSAGES;
		f->retry_after = l.expires_at - f->now; /* a new login may ask again */
		goto out;
	}
	if ((rc = sms_quota_take(txn, id, true, rec.phone, f->now, &quota_ok, &f->retry_after)) !=
	    0)
		goto out;
	if (!quota_ok) {
		f->err = E_TOO_MANY_MESSAGES;
		goto out;
	}
	j->expires =
	    l.expires_at < f->now + RECOVERY_CODE_TTL ? l.expires_at : f->now + RECOVERY_CODE_TTL;
	sms_code_hash(j->login.hash, j->code, RECOVERY_SMS_DIGITS, hash);
	if (recovery_sms_login_begin(&rec, j->login.hash, hash, j->expires) != RECOVERY_OK)
		AUTHD_BUG("a sign-in code refused after its checks");
	OPENSSL_cleanse(hash, sizeof(hash));
	j->left = recovery_sms_sends_left(&rec, j->login.hash);
	recovery_phone_mask(rec.phone, j->sent_to, sizeof(j->sent_to));
	if ((rc = store_recovery_put(txn, id, &rec)) != 0)
		goto out;
	const struct template_var vars[] = {{"code", j->code}};
	const struct outbox_item it = {
	    .channel = OUTBOX_SMS,
	    .account_id = id,
	    .to = rec.phone,
	    .template_name = "login_code.sms",
	    .vars = vars,
	    .nvars = 1,
	    .now = f->now,
	};
	rc = outbox_queue(txn, &it);
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static void send_reply(struct flow *f, struct req *r)
{
	struct send_flow *j = (struct send_flow *)f;
	char aid[AUTHD_ID_HEX + 1], expires[21];

	authd_hex(j->login.account_id, AUTHD_ID_LEN, aid);
	if (f->err != E_OK) {
		log_refusal(r->ip,
			    "auth method=sms outcome=not_sent account=%s ip=%s req=%llu reason=%s",
			    aid, r->ip, (unsigned long long)r->id, api_error_info(f->err)->code);
		metrics_auth("sms", "not_sent");
		flow_reply_error(f, r);
		return;
	}
	log_info("auth method=sms outcome=code_sent account=%s ip=%s req=%llu", aid, r->ip,
		 (unsigned long long)r->id);
	metrics_auth("sms", "code_sent");
	authd_time_str(j->expires, expires);
	reply_json(r, 202,
		   json_pack("{s:s, s:s, s:i}", "sent_to", j->sent_to, "expires_at", expires,
			     "sends_left", (int)j->left));
}

static void send_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct send_flow));
}

static const struct flow_ops send_ops = {
    .write = send_write,
    .reply = send_reply,
    .release = send_release,
};

void http_login_sms_send(struct req *r, const struct token_ref *login)
{
	struct send_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->login = *login;
	sms_digits_new(j->code, RECOVERY_SMS_DIGITS);
	j->f.write_first = STORE_FIRST_LOGIN;
	j->f.write_first_ref = j->login;
	flow_start(&j->f, &send_ops, r);
}

/* --- PUT and DELETE /1/me/2fa/sms ----------------------------------------------------- */

struct change_flow {
	struct flow f;
	bool on;
	bool changed;	  /* on or off now, and not before */
	bool first;	  /* turning it on turned 2FA on: codes issued, sessions ended */
	bool codes_fresh; /* the codes below are new (shown once) */
	int64_t since;
	char phone[40];
	char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1];
	struct backup_rec backup;
};

static int change_write(struct flow *f, struct store_txn *txn)
{
	struct change_flow *j = (struct change_flow *)f;
	const uint8_t *id = f->session.account_id;
	struct recovery_rec rec;
	struct backup_rec b;
	bool other, had;
	int rc;

	j->changed = j->first = j->codes_fresh = false;
	if ((rc = store_recovery_get(txn, id, &rec)) != 0 ||
	    (rc = sms_other_factor(txn, id, &other)) != 0)
		goto out;
	had = recovery_sms_factor_is_on(&rec);
	if (!j->on) {
		if (!had)
			goto out; /* off already: nothing to tell */
		recovery_sms_factor_off(&rec);
		j->changed = true;
		if ((rc = store_recovery_put(txn, id, &rec)) == 0)
			rc = sms_factor_ended(txn, id, f->now, f->ip);
		goto out;
	}
	if (recovery_sms_factor_on(&rec, f->now) != RECOVERY_OK) {
		f->err = E_PHONE_NOT_VERIFIED;
		goto out;
	}
	j->since = rec.sms_factor_at;
	recovery_phone_mask(rec.phone, j->phone, sizeof(j->phone));
	if (had)
		goto out; /* on already: the same answer, nothing new */
	j->changed = true;
	j->first = !other;
	if ((rc = store_recovery_put(txn, id, &rec)) != 0 ||
	    (rc = factor_event(txn, id, EVENT_SMS_ENABLED, f->now, f->ip)) != 0)
		goto out;
	if (!j->first)
		goto out;
	/* 2FA turns on: the backup codes, unless a set is still there with
	 * codes left, and every session but this one ends (they began with a
	 * password alone). */
	rc = store_backup_get(txn, id, &b);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		goto out;
	j->codes_fresh = rc == STORE_E_NOTFOUND || backup_remaining(&b) == 0;
	OPENSSL_cleanse(&b, sizeof(b));
	if ((j->codes_fresh && (rc = store_backup_put(txn, id, &j->backup)) != 0) ||
	    (rc = store_session_del_all(txn, id, &f->token)) != 0 ||
	    (rc = store_login_del_all(txn, id)) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static void change_reply(struct flow *f, struct req *r)
{
	struct change_flow *j = (struct change_flow *)f;
	char aid[AUTHD_ID_HEX + 1], since[21];
	json_t *body;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
	if (j->changed)
		log_info("second factor sms %s account=%s ip=%s req=%llu", j->on ? "on" : "off",
			 aid, r->ip, (unsigned long long)r->id);
	if (!j->on) {
		reply_empty(r, 204);
		return;
	}
	authd_time_str(j->since, since);
	body = json_pack("{s:b, s:s, s:s}", "enabled", 1, "phone", j->phone, "enabled_at", since);
	if (body && j->codes_fresh)
		json_object_set_new(body, "backup_codes", factor_backup_json(j->codes));
	reply_json(r, 200, body);
}

static void change_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct change_flow));
}

static const struct flow_ops change_ops = {
    .write = change_write,
    .reply = change_reply,
    .release = change_release,
};

static void change_start(struct req *r, bool on)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct change_flow *j;

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->on = on;
	if (on && factor_backup_fresh(&j->backup, j->codes, authd_now()) != 0) {
		reply_error(r, E_INTERNAL);
		change_release(&j->f);
		return;
	}
	flow_start(&j->f, &change_ops, r);
}

void http_sms_enable(struct req *r)
{
	change_start(r, true);
}

void http_sms_disable(struct req *r)
{
	change_start(r, false);
}
