/*
 * Recovery (recovery/recovery.h decides; this is the shell):
 *
 *   GET    /1/me/recovery          the account's recovery email and mobile
 *   PUT    /1/me/recovery/email    {"email", "password"}: a code to verify it
 *   PUT    /1/me/recovery/phone    {"phone", "password"}: a code by SMS
 *   DELETE /1/me/recovery/email    {"password"} (and /phone)
 *   POST   /1/me/recovery/verify   {"code"}: the new address counts from now
 *   POST   /1/recovery/password    {"login"}: a forgotten password
 *   POST   /1/recovery/password/verify  {"login", "code"} or {"token"}
 *   POST   /1/recovery/password/reset   {"reset_token", "new_password",
 *                                        "code" or "backup_code"}
 *   PUT    /1/me/email             {"email", "password"}: a new login email,
 *                                  made when its link comes back to
 *   POST   /1/email/verify         {"token"} (24 hours; sessions stay, the
 *                                  old address is told)
 *   POST   /1/recovery/login       {"phone", "email"}: a forgotten login
 *                                  identifier, sent to the account's own
 *                                  number and recovery email (which, when
 *                                  there is one, must be named too)
 *
 * A forgotten password's first step answers the same whether or not the
 * account exists (and makes the same reads and one write either way); a
 * code goes to the verified mobile number (RECOVERY_CODE_DIGITS digits, 10
 * minutes) and a link to the verified recovery email (a token of 256 bits,
 * 24 hours, on [server] public_url, never on the Host header). Either gives
 * a grant (15 minutes) to set a new password, which asks the account's
 * second factor when it has one: recovery never bypasses it. Codes, links
 * and grants are stored as keyed hashes only; every failure counts against
 * the account (recovery.h).
 */
#include "http.h"

#include "factors.h"
#include "flow.h"
#include "notify.h"
#include "orgs.h"
#include "outbox.h"
#include "password.h"
#include "session.h"
#include "sms.h"
#include "throttle.h"
#include "ws_device.h"

#include <log.h>
#include <recovery.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(THROTTLE_RECOVERY_KEEP_S == RECOVERY_FAIL_QUIET_S,
	       "an unknown email's code failures are kept as long as an account's");

/* What a keyed hash is of (its first input byte). */
enum { H_OPTION = 'O', H_CODE = 'C', H_LINK = 'L', H_GRANT = 'G', H_EMAIL = 'E', H_CLOSE = 'X' };

static void rhash(uint8_t what, const uint8_t account_id[AUTHD_ID_LEN], const void *secret,
		  size_t len, uint8_t out[RECOVERY_HASH_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t n = 0;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_MAC_init(ctx, srv.keys.recovery, KEYS_LEN, params) != 1 ||
	    EVP_MAC_update(ctx, &what, 1) != 1 ||
	    EVP_MAC_update(ctx, account_id, AUTHD_ID_LEN) != 1 ||
	    EVP_MAC_update(ctx, secret, len) != 1 ||
	    EVP_MAC_final(ctx, out, &n, RECOVERY_HASH_LEN) != 1 || n != RECOVERY_HASH_LEN)
		AUTHD_BUG("HMAC-SHA-256 failed");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

static void new_code(char out[RECOVERY_CODE_DIGITS + 1])
{
	sms_digits_new(out, RECOVERY_CODE_DIGITS);
}

static bool code_of(const char *in, size_t len, char out[RECOVERY_CODE_DIGITS + 1])
{
	return sms_digits_of(in, len, out, RECOVERY_CODE_DIGITS);
}

/* Queues template `name` to `to` on channel ch, for the account. */
static int send_to(struct store_txn *txn, enum outbox_channel ch, const uint8_t *account_id,
		   const char *to, const char *name, const struct template_var *vars, size_t n,
		   int64_t now)
{
	const struct outbox_item it = {
	    .channel = ch,
	    .account_id = account_id,
	    .to = to,
	    .template_name = name,
	    .vars = vars,
	    .nvars = n,
	    .now = now,
	};

	return outbox_queue(txn, &it);
}

/* Queues a text message when today's quotas of the account and of the
 * number allow one more (sms.h); *sent says whether it was. */
static int send_sms(struct store_txn *txn, const uint8_t *account_id, const char *to,
		    const char *name, const struct template_var *vars, size_t n, int64_t now,
		    bool *sent)
{
	int64_t wait;
	int rc = sms_quota_take(txn, account_id, false, to, now, sent, &wait);

	if (rc != 0 || !*sent)
		return rc;
	return send_to(txn, OUTBOX_SMS, account_id, to, name, vars, n, now);
}

static enum api_error error_of(enum recovery_verdict v)
{
	switch (v) {
	case RECOVERY_OK:
		return E_OK;
	case RECOVERY_E_INVALID:
		return E_INVALID_CODE;
	case RECOVERY_E_EXPIRED:
		return E_CODE_EXPIRED;
	case RECOVERY_E_THROTTLED:
	case RECOVERY_E_LOCKED:
		return E_TOO_MANY_ATTEMPTS;
	}
	return E_INTERNAL;
}

static void plain_release(struct flow *f, size_t size)
{
	authd_freezero(f, size);
}

/* --- GET /1/me/recovery -------------------------------------------------------------- */

struct view_flow {
	struct flow f;
	struct recovery_rec rec;
};

static int view_read(struct flow *f, struct store_txn *txn)
{
	return store_recovery_get(txn, f->session.account_id, &((struct view_flow *)f)->rec);
}

static json_t *recovery_json(const struct recovery_rec *r, int64_t now)
{
	char expires[21];
	bool pending = r->pending && now < r->pending_expires;

	authd_time_str(r->pending_expires, expires);
	return json_pack("{s:s?, s:s?, s:b, s:o}", "email", r->email[0] ? r->email : NULL, "phone",
			 r->phone[0] ? r->phone : NULL, "sms_factor", recovery_sms_factor_is_on(r),
			 "pending",
			 pending ? json_pack("{s:s, s:s, s:s}", "kind",
					     r->pending == RECOVERY_EMAIL   ? "email"
					     : r->pending == RECOVERY_PHONE ? "phone"
									    : "login_email",
					     "to", r->pending_to, "expires_at", expires)
				 : json_null());
}

static void view_reply(struct flow *f, struct req *r)
{
	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, recovery_json(&((struct view_flow *)f)->rec, f->now));
}

static void view_release(struct flow *f)
{
	plain_release(f, sizeof(struct view_flow));
}

static const struct flow_ops view_ops = {
    .read = view_read,
    .reply = view_reply,
    .release = view_release,
};

void http_recovery_get(struct req *r)
{
	struct view_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	flow_start(&j->f, &view_ops, r);
}

/* --- PUT and DELETE /1/me/recovery/email|phone: the current password first ------- */

struct change_flow {
	struct flow f;
	enum recovery_kind kind;
	bool remove;
	char to[EMAIL_MAX + 1]; /* the new address (set) */
	char pw[PASSWORD_MAX_BYTES + 1];
	size_t pw_len;
	char code[RECOVERY_CODE_DIGITS + 1];
	struct account a; /* as read before the hash */
	uint8_t subject[THROTTLE_KEY_LEN];
	struct throttle_rec th;
	uint64_t read_seq;
	bool inflight;
	bool ok;
	struct recovery_rec rec;	   /* as the write left it */
	char old[EMAIL_MAX + 1];	   /* a removed address (remove) */
	uint8_t link_raw[AUTHD_TOKEN_LEN]; /* a login email change's link */
};

static int change_read(struct flow *f, struct store_txn *txn)
{
	struct change_flow *j = (struct change_flow *)f;

	return factor_password_read(txn, f->session.account_id, &j->a, j->subject, &j->th, &f->err);
}

/* Loop: the delay of wrong passwords (they count as second-factor
 * failures, as at a password change) before spending a hash. */
static bool change_check(struct flow *f, struct req *r)
{
	struct change_flow *j = (struct change_flow *)f;

	j->inflight = factor_delay_or_reply(r, j->subject, &j->th, j->read_seq, f->now);
	return j->inflight;
}

static void change_work(struct flow *f)
{
	struct change_flow *j = (struct change_flow *)f;

	j->ok = password_verify(j->a.pw_hash, j->pw, j->pw_len);
	OPENSSL_cleanse(j->pw, sizeof(j->pw));
}

static bool change_worked(struct flow *f)
{
	/* Gone: a wrong guess is still recorded; nothing else is done. */
	if (f->req == NULL)
		f->finish_if_gone = !((struct change_flow *)f)->ok;
	return true;
}

/* A new login email: a link (the account id and 256 random bits) to the
 * new address; the change is made when it comes back (POST
 * /1/email/verify), and until then the login stays as it is. */
static int login_email_begin(struct change_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->f;
	const uint8_t *id = j->a.id;
	uint8_t other[AUTHD_ID_LEN], hash[RECOVERY_HASH_LEN];
	char token[AUTHD_TOKEN_B64 + 1], url[600];
	enum recovery_verdict v;
	int rc;

	if (strcmp(j->to, j->a.email) == 0 ||
	    (rc = store_account_by_email(txn, j->to, other)) == 0) {
		f->err = E_EMAIL_TAKEN;
		return 0;
	}
	if (rc != STORE_E_NOTFOUND)
		return rc;
	memcpy(j->link_raw, id, AUTHD_ID_LEN);
	rhash(H_EMAIL, id, j->link_raw, sizeof(j->link_raw), hash);
	v = recovery_option_begin(&j->rec, RECOVERY_LOGIN, j->to, hash, f->now);
	if ((f->err = error_of(v)) != E_OK) {
		f->retry_after = RECOVERY_SEND_WINDOW;
		return 0;
	}
	if ((rc = store_recovery_put(txn, id, &j->rec)) != 0)
		return rc;
	authd_b64url(j->link_raw, sizeof(j->link_raw), token);
	snprintf(url, sizeof(url), "%s/email/verify?token=%s", notify_base_url(), token);
	const struct template_var vars[] = {{"link", url}, {"email", j->a.email}};

	rc = send_to(txn, OUTBOX_EMAIL, id, j->to, "login_email_verify", vars, 2, f->now);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(url, sizeof(url));
	return rc;
}

/* Closing the account: a link (256 bits, 24 hours) to its login email. */
static int close_begin(struct change_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->f;
	const uint8_t *id = j->a.id;
	uint8_t hash[RECOVERY_HASH_LEN];
	char token[AUTHD_TOKEN_B64 + 1], url[600], when[32];
	int rc;

	memcpy(j->link_raw, id, AUTHD_ID_LEN);
	rhash(H_CLOSE, id, j->link_raw, sizeof(j->link_raw), hash);
	f->err = error_of(recovery_close_begin(&j->rec, hash, f->now));
	OPENSSL_cleanse(hash, sizeof(hash));
	if (f->err != E_OK) {
		f->retry_after = RECOVERY_SEND_WINDOW;
		return 0;
	}
	if ((rc = store_recovery_put(txn, id, &j->rec)) != 0)
		return rc;
	authd_b64url(j->link_raw, sizeof(j->link_raw), token);
	snprintf(url, sizeof(url), "%s/account/close?token=%s", notify_base_url(), token);
	notify_time(f->now, when, sizeof(when));
	const struct template_var vars[] = {{"link", url},
					    {"email", j->a.email},
					    {"time", when},
					    {"ip", f->ip},
					    {"base_url", notify_base_url()}};

	rc = send_to(txn, OUTBOX_EMAIL, id, j->a.email, "close_confirm", vars, 5, f->now);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(url, sizeof(url));
	return rc;
}

static int change_write(struct flow *f, struct store_txn *txn)
{
	struct change_flow *j = (struct change_flow *)f;
	const uint8_t *id = j->a.id;
	struct core_factor_hist hist;
	uint8_t hash[RECOVERY_HASH_LEN];
	enum recovery_verdict v;
	bool sent = false;
	int rc;

	j->old[0] = '\0';
	if (!j->ok) {
		if ((rc = factor_hist_read(txn, id, &hist)) != 0)
			return rc;
		core_factor_failure(&hist, f->now);
		f->err = E_WRONG_PASSWORD;
		f->locked = hist.locked_now;
		memcpy(f->locked_account, id, AUTHD_ID_LEN);
		return factor_hist_write(txn, id, &hist, f->now, f->ip);
	}
	if ((rc = store_recovery_get(txn, id, &j->rec)) != 0)
		return rc;
	if (j->remove) {
		bool sms_was_on = recovery_sms_factor_is_on(&j->rec);

		snprintf(j->old, sizeof(j->old), "%s",
			 j->kind == RECOVERY_EMAIL ? j->rec.email : j->rec.phone);
		recovery_option_remove(&j->rec, j->kind);
		if ((rc = store_recovery_put(txn, id, &j->rec)) != 0)
			return rc;
		/* The number was a second factor too: that ends with it. */
		if (sms_was_on && (rc = sms_factor_ended(txn, id, f->now, f->ip)) != 0)
			return rc;
		return j->old[0]
			   ? factor_event(txn, id,
					  j->kind == RECOVERY_EMAIL ? EVENT_RECOVERY_EMAIL_CHANGED
								    : EVENT_RECOVERY_PHONE_CHANGED,
					  f->now, f->ip)
			   : 0;
	}
	if (j->kind == RECOVERY_LOGIN)
		return login_email_begin(j, txn);
	if (j->kind == RECOVERY_CLOSE)
		return close_begin(j, txn);
	rhash(H_OPTION, id, j->code, strlen(j->code), hash);
	v = recovery_option_begin(&j->rec, j->kind, j->to, hash, f->now);
	OPENSSL_cleanse(hash, sizeof(hash));
	if ((f->err = error_of(v)) != E_OK) {
		f->retry_after = RECOVERY_SEND_WINDOW;
		return 0;
	}
	const struct template_var vars[] = {{"code", j->code}, {"email", j->a.email}};

	if (j->kind == RECOVERY_EMAIL)
		return (rc = store_recovery_put(txn, id, &j->rec)) != 0
			   ? rc
			   : send_to(txn, OUTBOX_EMAIL, id, j->to, "recovery_verify", vars, 2,
				     f->now);
	if ((rc = sms_quota_take(txn, id, false, j->to, f->now, &sent, &f->retry_after)) != 0)
		return rc;
	if (!sent) {
		f->err = E_TOO_MANY_MESSAGES; /* nothing pending: no code went */
		return 0;
	}
	if ((rc = store_recovery_put(txn, id, &j->rec)) != 0)
		return rc;
	return send_to(txn, OUTBOX_SMS, id, j->to, "recovery_verify.sms", vars, 2, f->now);
}

static void change_written(struct flow *f)
{
	struct change_flow *j = (struct change_flow *)f;

	if (j->inflight) {
		throttle_inflight_subject(j->subject, -1);
		j->inflight = false;
	}
}

static void change_reply(struct flow *f, struct req *r)
{
	struct change_flow *j = (struct change_flow *)f;
	char aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->a.id, AUTHD_ID_LEN, aid);
	log_info("recovery %s %s account=%s req=%llu",
		 j->kind == RECOVERY_EMAIL   ? "email"
		 : j->kind == RECOVERY_PHONE ? "phone"
		 : j->kind == RECOVERY_CLOSE ? "closing"
					     : "login email",
		 j->remove ? "removed" : "sent a code", aid, (unsigned long long)r->id);
	if (j->remove) {
		reply_empty(r, 204);
		return;
	}
	if (j->kind == RECOVERY_CLOSE) {
		char expires[21];

		authd_time_str(j->rec.close_expires, expires);
		reply_json(r, 202,
			   json_pack("{s:s, s:s}", "sent_to", j->a.email, "expires_at", expires));
		return;
	}
	reply_json(r, 202, recovery_json(&j->rec, f->now));
}

static void change_release(struct flow *f)
{
	struct change_flow *j = (struct change_flow *)f;

	if (j->inflight)
		throttle_inflight_subject(j->subject, -1);
	plain_release(f, sizeof(*j));
}

static const struct flow_ops change_ops = {
    .read = change_read,
    .check = change_check,
    .work = change_work,
    .worked = change_worked,
    .write = change_write,
    .written = change_written,
    .reply = change_reply,
    .release = change_release,
};

static void change_start(struct req *r, enum recovery_kind kind, bool remove)
{
	static const struct field_spec set_email[] = {
	    {"email", JSON_STRING, true, 254},
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	static const struct field_spec set_phone[] = {
	    {"phone", JSON_STRING, true, 32},
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	static const struct field_spec del[] = {
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	json_t *body =
	    remove || kind == RECOVERY_CLOSE
		? json_body_or_reply(r, del, 1)
		: json_body_or_reply(r, kind == RECOVERY_PHONE ? set_phone : set_email, 2);
	struct change_flow *j;
	const char *pw, *to;
	size_t plen, tlen;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_wipe_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->kind = kind;
	j->remove = remove;
	if (kind == RECOVERY_CLOSE)
		authd_random(j->link_raw + AUTHD_ID_LEN, sizeof(j->link_raw) - AUTHD_ID_LEN);
	else if (!remove) {
		to = json_str(body, kind == RECOVERY_PHONE ? "phone" : "email", &tlen);
		if (kind != RECOVERY_PHONE && authd_email_normalize(to, tlen, j->to) != 0) {
			reply_field_error(r, E_INVALID_EMAIL, "email", NULL);
			goto fail;
		}
		if (kind == RECOVERY_PHONE &&
		    (memchr(to, '\0', tlen) != NULL || recovery_phone_normalize(to, j->to) != 0)) {
			reply_field_error(r, E_INVALID_PHONE, "phone", NULL);
			goto fail;
		}
		new_code(j->code);
		if (kind == RECOVERY_LOGIN)
			authd_random(j->link_raw + AUTHD_ID_LEN,
				     sizeof(j->link_raw) - AUTHD_ID_LEN);
	}
	pw = json_str(body, "password", &plen);
	memcpy(j->pw, pw, plen);
	j->pw_len = plen;
	json_wipe_decref(body);
	j->read_seq = throttle_seq();
	flow_start(&j->f, &change_ops, r);
	return;
fail:
	json_wipe_decref(body);
	change_release(&j->f);
}

void http_recovery_email_set(struct req *r)
{
	change_start(r, RECOVERY_EMAIL, false);
}

void http_recovery_phone_set(struct req *r)
{
	change_start(r, RECOVERY_PHONE, false);
}

void http_email_change(struct req *r)
{
	change_start(r, RECOVERY_LOGIN, false);
}

void http_recovery_email_delete(struct req *r)
{
	change_start(r, RECOVERY_EMAIL, true);
}

void http_recovery_phone_delete(struct req *r)
{
	change_start(r, RECOVERY_PHONE, true);
}

/* --- POST /1/me/recovery/verify ------------------------------------------------------- */

struct verify_flow {
	struct flow f;
	char code[RECOVERY_CODE_DIGITS + 1];
	struct recovery_rec rec;
	enum recovery_kind kind;
};

static int verify_write(struct flow *f, struct store_txn *txn)
{
	struct verify_flow *j = (struct verify_flow *)f;
	const uint8_t *id = f->session.account_id;
	uint8_t hash[RECOVERY_HASH_LEN];
	char old[EMAIL_MAX + 1], when[32];
	enum recovery_verdict v;
	struct account a;
	bool sent = false;
	int rc;

	if ((rc = store_recovery_get(txn, id, &j->rec)) != 0)
		return rc;
	snprintf(old, sizeof(old), "%s",
		 j->rec.pending == RECOVERY_EMAIL ? j->rec.email : j->rec.phone);
	rhash(H_OPTION, id, j->code, strlen(j->code), hash);
	v = recovery_option_confirm(&j->rec, hash, f->now, &j->kind);
	OPENSSL_cleanse(hash, sizeof(hash));
	f->err = error_of(v);
	if (v == RECOVERY_E_LOCKED)
		f->retry_after = j->rec.option_last_fail + RECOVERY_FAIL_QUIET_S - f->now;
	if ((rc = store_recovery_put(txn, id, &j->rec)) != 0 || v != RECOVERY_OK)
		return rc; /* a wrong code is counted */
	if ((rc = factor_event(txn, id,
			       j->kind == RECOVERY_EMAIL ? EVENT_RECOVERY_EMAIL_CHANGED
							 : EVENT_RECOVERY_PHONE_CHANGED,
			       f->now, f->ip)) != 0)
		return rc;
	/* The address it replaces is told too (someone else may have made the
	 * change). */
	if (old[0] == '\0' ||
	    strcmp(old, j->kind == RECOVERY_EMAIL ? j->rec.email : j->rec.phone) == 0)
		return 0;
	if ((rc = store_account_get(txn, id, &a)) != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc;
	notify_time(f->now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"email", a.email}, {"time", when}, {"ip", f->ip}, {"base_url", notify_base_url()}};

	if (j->kind == RECOVERY_EMAIL)
		rc = send_to(txn, OUTBOX_EMAIL, id, old, "recovery_replaced", vars, 4, f->now);
	else
		rc = send_sms(txn, id, old, "recovery_replaced.sms", vars, 4, f->now, &sent);
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

static void verify_reply(struct flow *f, struct req *r)
{
	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, recovery_json(&((struct verify_flow *)f)->rec, f->now));
}

static void verify_release(struct flow *f)
{
	plain_release(f, sizeof(struct verify_flow));
}

static const struct flow_ops verify_ops = {
    .write = verify_write,
    .reply = verify_reply,
    .release = verify_release,
};

void http_recovery_verify(struct req *r)
{
	static const struct field_spec spec[] = {{"code", JSON_STRING, true, 32}};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct verify_flow *j;
	const char *code;
	size_t len;

	if (body == NULL)
		return;
	code = json_str(body, "code", &len);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_wipe_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (!code_of(code, len, j->code)) {
		json_wipe_decref(body);
		verify_release(&j->f);
		reply_error(r, E_INVALID_CODE);
		return;
	}
	json_wipe_decref(body);
	flow_start(&j->f, &verify_ops, r);
}

/*
 * The keyed record of a subject (an email or a number) that an
 * unauthenticated recovery request reads and writes whatever it finds: a
 * commit that writes nothing would be quicker (no sync) and tell an unknown
 * email, or an account without options, apart; keyed, the store does not
 * learn which subjects were tried. Its time is the request's, unless wrong
 * codes are being counted on it (their time stays).
 */
static int keyed_mark(struct store_txn *txn, const char *subject, int64_t now,
		      uint8_t key[THROTTLE_KEY_LEN])
{
	struct throttle_rec th;
	int rc;

	throttle_key_email(key, srv.keys.subjects, subject);
	key[0] = 'r';
	if ((rc = store_throttle_get(txn, key, &th)) != 0)
		return rc;
	if (th.consecutive == 0)
		th.last_failure = now;
	return store_throttle_put(txn, key, &th);
}

/*
 * The unauthenticated recovery requests (a forgotten password, its code,
 * a forgotten login) count against the client's address (its own entry in
 * the in-memory table, under the login page's figures: 20 free, then a
 * delay doubling from a second to 5 minutes): a scan of logins or
 * numbers, or a flood of messages to other people's phones, slows to a
 * crawl while a person asking a few times never waits. Replies 429 (or
 * 503) and returns false when the address must wait; else counts this
 * request.
 */
bool recovery_address_or_reply(struct req *r)
{
	struct throttle_slot *slot = throttle_slot_recovery(r->ip);
	struct throttle_rec *rec;
	int64_t now = authd_now(), wait = 0;

	if (slot == NULL) {
		reply_error(r, E_OVERLOADED);
		return false;
	}
	rec = throttle_slot_rec(slot);
	if (rec->consecutive && now - rec->last_failure < throttle_ip_policy.quiet_reset)
		wait = throttle_retry_after(rec, &throttle_ip_policy, now, 0);
	if (wait > 0) {
		reply_throttled(r, wait);
		return false;
	}
	throttle_record_failure(rec, &throttle_ip_policy, now);
	return true;
}

/* Queues the reset link whose token is raw (the account id, then random
 * bytes) to address `to`, naming the login. */
static int link_email(struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN],
		      const uint8_t raw[AUTHD_TOKEN_LEN], const char *to, const char *login,
		      int64_t now, const char *ip)
{
	char token[AUTHD_TOKEN_B64 + 1], url[600], when[32];
	int rc;

	authd_b64url(raw, AUTHD_TOKEN_LEN, token);
	snprintf(url, sizeof(url), "%s/recovery/reset?token=%s", notify_base_url(), token);
	notify_time(now, when, sizeof(when));
	const struct template_var vars[] = {{"link", url},
					    {"email", login},
					    {"time", when},
					    {"ip", ip},
					    {"base_url", notify_base_url()}};

	rc = send_to(txn, OUTBOX_EMAIL, id, to, "reset_link", vars, 5, now);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(url, sizeof(url));
	return rc;
}

/* A reset link for account id to address `to`: the link's token names the
 * account, its hash waits in rec (recovery_reset_begin, whose hourly cap
 * may say no: *sent false, nothing changed). The caller stores rec. */
static int reset_link_send(struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN],
			   struct recovery_rec *rec, const char *to, const char *login, int64_t now,
			   const char *ip, bool *sent)
{
	uint8_t raw[AUTHD_TOKEN_LEN], hash[RECOVERY_HASH_LEN];
	int rc = 0;

	memcpy(raw, id, AUTHD_ID_LEN);
	authd_random(raw + AUTHD_ID_LEN, sizeof(raw) - AUTHD_ID_LEN);
	rhash(H_LINK, id, raw, sizeof(raw), hash);
	*sent = recovery_reset_begin(rec, NULL, hash, now) == RECOVERY_OK;
	if (*sent)
		rc = link_email(txn, id, raw, to, login, now, ip);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int recovery_case_reset_link(struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN], const char *to,
			     int64_t now, const char *ip, bool *sent)
{
	struct recovery_rec rec;
	struct account a;
	int rc = store_account_get(txn, id, &a);

	*sent = false;
	if (rc == 0 && (rc = store_recovery_get(txn, id, &rec)) == 0) {
		if ((rc = reset_link_send(txn, id, &rec, to, a.email, now, ip, sent)) == 0 &&
		    *sent) {
			recovery_reset_proofed(&rec);
			rc = store_recovery_put(txn, id, &rec);
		}
		OPENSSL_cleanse(&rec, sizeof(rec));
	}
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

int recovery_case_login_reminder(struct store_txn *txn, const struct account *a, const char *to,
				 int64_t now, const char *ip)
{
	char when[32];

	notify_time(now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"login", a->email}, {"time", when}, {"ip", ip}, {"base_url", notify_base_url()}};

	return send_to(txn, OUTBOX_EMAIL, a->id, to, "login_reminder", vars, 4, now);
}

/* --- POST /1/recovery/password ------------------------------------------------------- */

struct forgot_flow {
	struct flow f;
	char email[EMAIL_MAX + 1];
	char code[RECOVERY_CODE_DIGITS + 1];
	struct new_token link; /* account id unknown until the write: made there */
	uint8_t link_raw[AUTHD_TOKEN_LEN];
	bool known, sent_code, sent_link, throttled;
};

static int forgot_write(struct flow *f, struct store_txn *txn)
{
	struct forgot_flow *j = (struct forgot_flow *)f;
	uint8_t id[AUTHD_ID_LEN], key[THROTTLE_KEY_LEN], code_hash[RECOVERY_HASH_LEN],
	    link_hash[RECOVERY_HASH_LEN];
	struct recovery_rec rec;
	int found = store_account_by_email(txn, j->email, id);
	int rc;

	j->known = j->sent_code = j->sent_link = j->throttled = false;
	if (found != 0 && found != STORE_E_NOTFOUND)
		return found;
	if ((rc = keyed_mark(txn, j->email, f->now, key)) != 0)
		return rc;
	if (found == STORE_E_NOTFOUND)
		return store_recovery_get(txn, key + 1, &rec); /* the read an account costs */
	j->known = true;
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	j->sent_code = rec.phone[0] && rec.phone_verified;
	j->sent_link = rec.email[0] && rec.email_verified;
	if (!j->sent_code && !j->sent_link)
		return 0; /* no option: an identity-verification case is the way */
	/* The link's token names the account (as a session token does). */
	memcpy(j->link_raw, id, AUTHD_ID_LEN);
	rhash(H_CODE, id, j->code, strlen(j->code), code_hash);
	rhash(H_LINK, id, j->link_raw, sizeof(j->link_raw), link_hash);
	if (recovery_reset_begin(&rec, j->sent_code ? code_hash : NULL,
				 j->sent_link ? link_hash : NULL, f->now) != RECOVERY_OK) {
		j->throttled = true;
		j->sent_code = j->sent_link = false;
		return 0; /* the same answer: nothing tells the caller */
	}
	if (j->sent_code) {
		const struct template_var vars[] = {{"code", j->code}};

		if ((rc = send_sms(txn, id, rec.phone, "reset_code.sms", vars, 1, f->now,
				   &j->sent_code)) != 0)
			return rc;
		if (!j->sent_code)
			rec.reset_code_expires = 0; /* over today's quotas: no code went */
	}
	if ((rc = store_recovery_put(txn, id, &rec)) != 0)
		return rc;
	if (j->sent_link)
		rc = link_email(txn, id, j->link_raw, rec.email, j->email, f->now, f->ip);
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static void forgot_reply(struct flow *f, struct req *r)
{
	struct forgot_flow *j = (struct forgot_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	/* The log tells the operator; the answer tells nobody anything. */
	log_refusal(r->ip, "recovery password known=%s code=%s link=%s throttled=%s ip=%s req=%llu",
		    j->known ? "yes" : "no", j->sent_code ? "yes" : "no",
		    j->sent_link ? "yes" : "no", j->throttled ? "yes" : "no", r->ip,
		    (unsigned long long)r->id);
	reply_json(r, 202,
		   json_pack("{s:s}", "status",
			     "if the account has a recovery option, a code or a link is on its "
			     "way"));
}

static void forgot_release(struct flow *f)
{
	plain_release(f, sizeof(struct forgot_flow));
}

static const struct flow_ops forgot_ops = {
    .write = forgot_write,
    .reply = forgot_reply,
    .release = forgot_release,
};

void http_recovery_password(struct req *r)
{
	static const struct field_spec spec[] = {{"login", JSON_STRING, true, 254}};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct forgot_flow *j;
	const char *login;
	size_t len;

	if (body == NULL)
		return;
	if (!recovery_address_or_reply(r)) {
		json_decref(body);
		return;
	}
	login = json_str(body, "login", &len);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	/* A malformed email names no account: the same answer after the same
	 * work. */
	if (core_login_normalize(login, len, j->email) != 0)
		snprintf(j->email, sizeof(j->email), "%.*s", (int)(len < 254 ? len : 254), login);
	json_decref(body);
	new_code(j->code);
	authd_random(j->link_raw + AUTHD_ID_LEN, sizeof(j->link_raw) - AUTHD_ID_LEN);
	flow_start(&j->f, &forgot_ops, r);
}

/* --- POST /1/recovery/password/verify ------------------------------------------------ */

struct reset_verify_flow {
	struct flow f;
	bool by_link;
	char email[EMAIL_MAX + 1];
	char code[RECOVERY_CODE_DIGITS + 1];
	uint8_t link_raw[AUTHD_TOKEN_LEN];
	uint8_t grant_raw[AUTHD_TOKEN_LEN]; /* its random part drawn by the handler */
	struct new_token grant;
	bool totp, devices, backup, sms, proofed;
};

/* A login+code check of an email that names no account: counted and
 * locked as an account's codes are (the same answers: invalid_code, then
 * too_many_attempts), on the keyed record every request writes. */
static void unknown_code(struct flow *f, struct throttle_rec *th)
{
	if (th->consecutive && f->now - th->last_failure >= RECOVERY_FAIL_QUIET_S)
		th->consecutive = 0;
	if (th->consecutive >= RECOVERY_FAILS_MAX) {
		f->err = E_TOO_MANY_ATTEMPTS;
		f->retry_after = th->last_failure + RECOVERY_FAIL_QUIET_S - f->now;
		return;
	}
	th->consecutive++;
	th->last_failure = f->now;
	f->err = E_INVALID_CODE;
}

static int reset_verify_write(struct flow *f, struct store_txn *txn)
{
	struct reset_verify_flow *j = (struct reset_verify_flow *)f;
	uint8_t id[AUTHD_ID_LEN], hash[RECOVERY_HASH_LEN], grant_hash[RECOVERY_HASH_LEN];
	uint8_t key[THROTTLE_KEY_LEN];
	struct recovery_rec rec;
	struct throttle_rec th;
	struct totp_rec t;
	struct backup_rec b;
	unsigned n = 0;
	enum recovery_verdict v;
	int found = 0, rc;

	j->totp = j->devices = j->backup = false;
	f->err = E_OK;
	if (j->by_link) {
		memcpy(id, j->link_raw, AUTHD_ID_LEN);
	} else {
		/* By login: whether it names an account or not, the same reads,
		 * one write and the same answers (see unknown_code). */
		found = store_account_by_email(txn, j->email, id);
		if (found != 0 && found != STORE_E_NOTFOUND)
			return found;
		throttle_key_email(key, srv.keys.subjects, j->email);
		key[0] = 'r';
		if ((rc = store_throttle_get(txn, key, &th)) != 0)
			return rc;
		if (found == STORE_E_NOTFOUND) {
			unknown_code(f, &th);
			if ((rc = store_recovery_get(txn, key + 1, &rec)) != 0)
				return rc;
			return store_throttle_put(txn, key, &th);
		}
		if ((rc = store_throttle_put(txn, key, &th)) != 0)
			return rc;
	}
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	if (j->by_link)
		rhash(H_LINK, id, j->link_raw, sizeof(j->link_raw), hash);
	else
		rhash(H_CODE, id, j->code, strlen(j->code), hash);
	/* The grant: the account id, then the random part drawn before. */
	memcpy(j->grant_raw, id, AUTHD_ID_LEN);
	memcpy(j->grant.ref.account_id, id, AUTHD_ID_LEN);
	authd_sha256(j->grant_raw, sizeof(j->grant_raw), j->grant.ref.hash);
	authd_b64url(j->grant_raw, sizeof(j->grant_raw), j->grant.text);
	rhash(H_GRANT, id, j->grant.ref.hash, AUTHD_HASH_LEN, grant_hash);
	v = recovery_reset_verify(&rec, j->by_link ? RECOVERY_EMAIL : RECOVERY_PHONE, hash,
				  grant_hash, f->now);
	f->err = error_of(v);
	/* No code waiting reads as a wrong one: an answer of its own would
	 * tell an account with no recent request (or no number) apart. A link
	 * that is not the one waiting has simply stopped working. */
	if (v == RECOVERY_E_EXPIRED && !j->by_link)
		f->err = E_INVALID_CODE;
	if (v == RECOVERY_E_INVALID && j->by_link)
		f->err = E_CODE_EXPIRED;
	if (v == RECOVERY_E_LOCKED)
		f->retry_after = rec.last_fail + RECOVERY_FAIL_QUIET_S - f->now;
	if (!recovery_is_empty(&rec) || v != RECOVERY_E_EXPIRED)
		rc = store_recovery_put(txn, id, &rec);
	j->sms = recovery_sms_factor_is_on(&rec);
	j->proofed = rec.reset_proofed;
	OPENSSL_cleanse(&rec, sizeof(rec));
	if (rc != 0 || v != RECOVERY_OK)
		return rc;
	/* What the new password will ask for. */
	rc = store_totp_get(txn, id, &t);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	j->totp = rc == 0 && t.enabled;
	OPENSSL_cleanse(&t, sizeof(t));
	if ((rc = store_devices_count(txn, id, &n)) != 0)
		return rc;
	j->devices = n > 0;
	rc = store_backup_get(txn, id, &b);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	j->backup = rc == 0 && backup_remaining(&b) > 0;
	return 0;
}

static void reset_verify_reply(struct flow *f, struct req *r)
{
	struct reset_verify_flow *j = (struct reset_verify_flow *)f;
	json_t *methods;
	char expires[21];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	methods = json_array();
	if (j->proofed)
		j->totp = j->devices = j->backup = j->sms = false; /* none asked */
	if (methods && (j->totp || j->devices))
		json_array_append_new(methods, json_string("totp"));
	if (methods && j->backup)
		json_array_append_new(methods, json_string("backup_code"));
	authd_time_str(f->now + RECOVERY_GRANT_TTL, expires);
	/* SMS as the second factor is not asked again at a reset (its own
	 * code went to that number): a backup code stands in for it. Without
	 * one, the list is empty while a factor is still required. */
	reply_json(r, 200,
		   json_pack("{s:s, s:s, s:o, s:b}", "reset_token", j->grant.text, "expires_at",
			     expires, "second_factor", methods, "second_factor_required",
			     j->totp || j->devices || j->sms));
	token_clear(&j->grant);
}

static void reset_verify_release(struct flow *f)
{
	plain_release(f, sizeof(struct reset_verify_flow));
}

static const struct flow_ops reset_verify_ops = {
    .write = reset_verify_write,
    .reply = reset_verify_reply,
    .release = reset_verify_release,
};

void http_recovery_password_verify(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"login", JSON_STRING, false, 254},
	    {"code", JSON_STRING, false, 32},
	    {"token", JSON_STRING, false, 128},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct reset_verify_flow *j;
	const char *login, *code, *token;
	size_t llen = 0, clen = 0, tlen = 0;

	if (body == NULL)
		return;
	login = json_object_get(body, "login") ? json_str(body, "login", &llen) : NULL;
	code = json_object_get(body, "code") ? json_str(body, "code", &clen) : NULL;
	token = json_object_get(body, "token") ? json_str(body, "token", &tlen) : NULL;
	if ((token != NULL) == (login != NULL || code != NULL) ||
	    (token == NULL && (login == NULL || code == NULL))) {
		json_wipe_decref(body);
		reply_field_error(r, E_INVALID_FIELD, NULL, "give login and code, or token");
		return;
	}
	if (!recovery_address_or_reply(r)) {
		json_wipe_decref(body);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_wipe_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->by_link = token != NULL;
	if (j->by_link ? authd_unb64url(token, tlen, j->link_raw, sizeof(j->link_raw)) !=
			     (long)sizeof(j->link_raw)
		       : !code_of(code, clen, j->code)) {
		enum api_error e = j->by_link ? E_CODE_EXPIRED : E_INVALID_CODE;

		json_wipe_decref(body);
		reset_verify_release(&j->f);
		reply_error(r, e);
		return;
	}
	if (!j->by_link && core_login_normalize(login, llen, j->email) != 0)
		snprintf(j->email, sizeof(j->email), "%.*s", (int)(llen < 254 ? llen : 254), login);
	json_wipe_decref(body);
	authd_random(j->grant_raw + AUTHD_ID_LEN, sizeof(j->grant_raw) - AUTHD_ID_LEN);
	flow_start(&j->f, &reset_verify_ops, r);
}

/* --- POST /1/recovery/password/reset ------------------------------------------------ */

struct reset_flow {
	struct flow f;
	struct token_ref grant;
	char next[PASSWORD_MAX_BYTES + 1];
	size_t next_len;
	enum core_method method;
	char code[64];
	size_t code_len;
	bool has_code;
	struct account a;
	char new_phc[PW_HASH_MAX];
	int hash_rc;
	struct core_totp_precheck pre;
	struct factor_devices *devs;
	struct core_second_factor step;
};

static int reset_read(struct flow *f, struct store_txn *txn)
{
	struct reset_flow *j = (struct reset_flow *)f;
	uint8_t hash[RECOVERY_HASH_LEN];
	struct recovery_rec rec;
	int rc = store_account_get(txn, j->grant.account_id, &j->a);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_CODE_EXPIRED;
		return 0;
	}
	if (rc != 0 || (rc = store_recovery_get(txn, j->grant.account_id, &rec)) != 0)
		return rc;
	rhash(H_GRANT, j->grant.account_id, j->grant.hash, AUTHD_HASH_LEN, hash);
	if (recovery_grant_check(&rec, hash, f->now) != RECOVERY_OK)
		f->err = E_CODE_EXPIRED;
	OPENSSL_cleanse(&rec, sizeof(rec));
	return 0;
}

static bool reset_check(struct flow *f, struct req *r)
{
	struct reset_flow *j = (struct reset_flow *)f;

	return password_policy_or_reply(r, j->next, j->next_len, j->a.email, j->a.name,
					"new_password");
}

static void reset_work(struct flow *f)
{
	struct reset_flow *j = (struct reset_flow *)f;

	j->hash_rc = password_hash(j->next, j->next_len, j->new_phc, sizeof(j->new_phc));
	OPENSSL_cleanse(j->next, sizeof(j->next));
}

static bool reset_worked(struct flow *f)
{
	struct reset_flow *j = (struct reset_flow *)f;

	if (j->hash_rc == 0)
		return true;
	if (f->req)
		reply_error(f->req, E_INTERNAL);
	return false;
}

/* The second factor, when the account has one: the grant stands in for a
 * pending login (its attempts are the step's). */
static int reset_second_factor(struct reset_flow *j, struct store_txn *txn,
			       const struct recovery_rec *rec, bool *passed)
{
	struct flow *f = &j->f;
	const uint8_t *id = j->grant.account_id;
	struct core_second_factor *s = &j->step;
	struct totp_rec t;
	unsigned n = 0;
	int rc;

	*passed = false;
	rc = store_totp_get(txn, id, &t);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if (((rc == STORE_E_NOTFOUND || !t.enabled) &&
	     (rc = store_devices_count(txn, id, &n)) == 0 && n == 0 &&
	     !recovery_sms_factor_is_on(rec)) ||
	    rec->reset_proofed) {
		/* No second factor on this account, or a reviewer's approval of
		 * an identity verification stands in for it. */
		*passed = true;
		return 0;
	}
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if (!j->has_code) {
		f->err = E_SECOND_FACTOR_REQUIRED;
		return 0;
	}
	memset(s, 0, sizeof(*s));
	s->login_found = true;
	memcpy(s->login.account_id, id, AUTHD_ID_LEN);
	s->login.created_at = rec->grant_expires - RECOVERY_GRANT_TTL;
	s->login.expires_at = rec->grant_expires;
	s->login.attempts = rec->grant_fails;
	/* No SMS code here: the reset's own code went to that number. */
	if ((rc = factor_step(txn, id, j->method, j->code, j->code_len, &j->pre, &j->devs, NULL, s,
			      f->now)) != 0)
		return rc;
	f->err = api_error_from_verdict(s->verdict);
	f->retry_after = s->retry_after;
	f->locked = s->hist.locked_now;
	memcpy(f->locked_account, id, AUTHD_ID_LEN);
	if ((rc = factor_step_write(txn, id, j->devs, s, f->now, f->ip)) != 0)
		return rc;
	*passed = s->verdict == CORE_OK;
	return 0;
}

static int reset_write(struct flow *f, struct store_txn *txn)
{
	struct reset_flow *j = (struct reset_flow *)f;
	const uint8_t *id = j->grant.account_id;
	uint8_t hash[RECOVERY_HASH_LEN];
	struct recovery_rec rec;
	struct account a;
	bool passed = false;
	int rc;

	f->err = E_OK;
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	rhash(H_GRANT, id, j->grant.hash, AUTHD_HASH_LEN, hash);
	if (recovery_grant_check(&rec, hash, f->now) != RECOVERY_OK) {
		f->err = E_CODE_EXPIRED; /* used meanwhile, or over */
		goto out;
	}
	if ((rc = reset_second_factor(j, txn, &rec, &passed)) != 0)
		goto out;
	if (!passed) {
		/* Wrong codes count as the account's second-factor failures, and
		 * the grant's own: the fifth ends it. */
		if (j->step.failure_counted) {
			recovery_grant_failed(&rec);
			rc = store_recovery_put(txn, id, &rec);
		}
		goto out;
	}
	if ((rc = store_account_get(txn, id, &a)) != 0)
		goto out;
	snprintf(a.pw_hash, sizeof(a.pw_hash), "%s", j->new_phc);
	a.password_changed_at = f->now;
	recovery_grant_used(&rec);
	/* Whoever knew the old password is out: every session, pending login
	 * and device link offer ends (as at a password change). */
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = store_recovery_put(txn, id, &rec)) != 0 ||
	    (rc = store_session_del_all(txn, id, NULL)) != 0 ||
	    (rc = orgs_account_tokens_end(f, txn, id)) != 0 ||
	    (rc = store_login_del_all(txn, id)) != 0 || (rc = store_link_del_all(txn, id)) != 0 ||
	    (rc = factor_event(txn, id, EVENT_PASSWORD_RESET, f->now, f->ip)) != 0)
		goto out;
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
	OPENSSL_cleanse(&a, sizeof(a));
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

static void reset_reply(struct flow *f, struct req *r)
{
	struct reset_flow *j = (struct reset_flow *)f;
	char aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->grant.account_id, AUTHD_ID_LEN, aid);
	log_info("recovery password reset account=%s ip=%s req=%llu", aid, r->ip,
		 (unsigned long long)r->id);
	reply_empty(r, 204);
}

static void reset_release(struct flow *f)
{
	struct reset_flow *j = (struct reset_flow *)f;

	if (j->devs)
		authd_freezero(j->devs, sizeof(*j->devs));
	plain_release(f, sizeof(*j));
}

static const struct flow_ops reset_ops = {
    .read = reset_read,
    .check = reset_check,
    .work = reset_work,
    .worked = reset_worked,
    .write = reset_write,
    .reply = reset_reply,
    .release = reset_release,
};

void http_recovery_password_reset(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"reset_token", JSON_STRING, true, 128},
	    {"new_password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	    {"code", JSON_STRING, false, 16},
	    {"backup_code", JSON_STRING, false, 32},
	};
	json_t *body = json_body_or_reply(r, spec, 4);
	struct reset_flow *j;
	const char *tok, *pw, *code = NULL;
	size_t tlen, plen, clen = 0;

	if (body == NULL)
		return;
	if (json_object_get(body, "code") && json_object_get(body, "backup_code")) {
		json_wipe_decref(body);
		reply_field_error(r, E_INVALID_FIELD, NULL, "give code or backup_code, not both");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_wipe_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	tok = json_str(body, "reset_token", &tlen);
	if (!token_parse(tok, tlen, &j->grant)) {
		json_wipe_decref(body);
		reset_release(&j->f);
		reply_error(r, E_CODE_EXPIRED);
		return;
	}
	pw = json_str(body, "new_password", &plen);
	memcpy(j->next, pw, plen);
	j->next_len = plen;
	j->method = CORE_TOTP;
	if (json_object_get(body, "code")) {
		code = json_str(body, "code", &clen);
	} else if (json_object_get(body, "backup_code")) {
		code = json_str(body, "backup_code", &clen);
		j->method = CORE_BACKUP_CODE;
	}
	if (code) {
		memcpy(j->code, code, clen);
		j->code_len = clen;
		j->has_code = true;
	}
	json_wipe_decref(body);
	flow_start(&j->f, &reset_ops, r);
}

/* --- POST /1/recovery/login: a forgotten login identifier ---------------------------- */

#define REMIND_MAX 5 /* accounts told at once (one number may recover several) */

struct remind_flow {
	struct flow f;
	char phone[RECOVERY_PHONE_MAX + 1];
	char email[EMAIL_MAX + 1]; /* the recovery email given, or "" */
	uint8_t ids[REMIND_MAX][AUTHD_ID_LEN];
	unsigned n, sent;
};

static int remind_collect(void *arg, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct remind_flow *j = arg;

	if (j->n < REMIND_MAX)
		memcpy(j->ids[j->n++], account_id, AUTHD_ID_LEN);
	return 0;
}

/* Sends account id's login identifier to its own channels: the number
 * asked about, and its recovery email when it has one (which the caller
 * must then have named too). */
static int remind_one(struct remind_flow *j, struct store_txn *txn, const uint8_t *id)
{
	struct recovery_rec rec;
	struct account a;
	char when[32];
	bool sent = false;
	int rc;

	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	if ((rec.email[0] && rec.email_verified && strcmp(rec.email, j->email) != 0) ||
	    !recovery_send_allowed(&rec, j->f.now))
		return 0;
	if ((rc = store_account_get(txn, id, &a)) != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc;
	recovery_send_noted(&rec, j->f.now);
	notify_time(j->f.now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"login", a.email}, {"time", when}, {"ip", j->f.ip}, {"base_url", notify_base_url()}};

	if ((rc = store_recovery_put(txn, id, &rec)) == 0)
		rc = send_sms(txn, id, j->phone, "login_reminder.sms", vars, 4, j->f.now, &sent);
	if (rc == 0 && rec.email[0] && rec.email_verified)
		rc = send_to(txn, OUTBOX_EMAIL, id, rec.email, "login_reminder", vars, 4, j->f.now);
	j->sent += rc == 0;
	OPENSSL_cleanse(&a, sizeof(a));
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static int remind_write(struct flow *f, struct store_txn *txn)
{
	struct remind_flow *j = (struct remind_flow *)f;
	uint8_t key[THROTTLE_KEY_LEN];
	int rc;

	j->n = j->sent = 0;
	if ((rc = keyed_mark(txn, j->phone, f->now, key)) != 0 ||
	    (rc = store_recovery_by_phone(txn, j->phone, REMIND_MAX, remind_collect, j)) != 0)
		return rc;
	for (unsigned i = 0; rc == 0 && i < j->n; i++)
		rc = remind_one(j, txn, j->ids[i]);
	return rc;
}

static void remind_reply(struct flow *f, struct req *r)
{
	struct remind_flow *j = (struct remind_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_refusal(r->ip, "recovery login reminders=%u ip=%s req=%llu", j->sent, r->ip,
		    (unsigned long long)r->id);
	reply_json(r, 202,
		   json_pack("{s:s}", "status",
			     "if an account has this recovery number, its login is on its way to "
			     "the account's own channels"));
}

static void remind_release(struct flow *f)
{
	plain_release(f, sizeof(struct remind_flow));
}

static const struct flow_ops remind_ops = {
    .write = remind_write,
    .reply = remind_reply,
    .release = remind_release,
};

void http_recovery_login(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"phone", JSON_STRING, true, 32},
	    {"email", JSON_STRING, false, 254},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct remind_flow *j;
	const char *phone, *email;
	size_t plen, elen = 0;

	if (body == NULL)
		return;
	if (!recovery_address_or_reply(r)) {
		json_decref(body);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	phone = json_str(body, "phone", &plen);
	if (memchr(phone, '\0', plen) != NULL || recovery_phone_normalize(phone, j->phone) != 0) {
		json_decref(body);
		remind_release(&j->f);
		reply_field_error(r, E_INVALID_PHONE, "phone", NULL);
		return;
	}
	if (json_object_get(body, "email")) {
		email = json_str(body, "email", &elen);
		if (authd_email_normalize(email, elen, j->email) != 0) {
			json_decref(body);
			remind_release(&j->f);
			reply_field_error(r, E_INVALID_EMAIL, "email", NULL);
			return;
		}
	}
	json_decref(body);
	flow_start(&j->f, &remind_ops, r);
}

/* --- POST /1/email/verify: a new login email's link comes back ----------------------- */

struct email_verify_flow {
	struct flow f;
	uint8_t link_raw[AUTHD_TOKEN_LEN];
	char old[EMAIL_MAX + 1], now_email[EMAIL_MAX + 1];
};

struct restricted {
	struct token_ref refs[64];
	struct session s[64];
	size_t n;
};

static int restricted_one(void *arg, const struct token_ref *ref, const struct session *s)
{
	struct restricted *r = arg;

	if ((s->flags & SESSION_F_LOGIN_REPLACED) && r->n < 64) {
		r->refs[r->n] = *ref;
		r->s[r->n++] = *s;
	}
	return 0;
}

/* Lifts SESSION_F_LOGIN_REPLACED from the account's sessions. */
static int sessions_unrestrict(struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN])
{
	struct restricted *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return STORE_E_IO;
	rc = store_sessions_list(txn, id, restricted_one, r);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		r->s[i].flags &= (uint8_t)~SESSION_F_LOGIN_REPLACED;
		rc = store_session_put(txn, &r->refs[i], &r->s[i]);
	}
	authd_freezero(r, sizeof(*r));
	return rc;
}

static int email_verify_write(struct flow *f, struct store_txn *txn)
{
	struct email_verify_flow *j = (struct email_verify_flow *)f;
	const uint8_t *id = j->link_raw;
	uint8_t hash[RECOVERY_HASH_LEN], other[AUTHD_ID_LEN];
	struct recovery_rec rec;
	struct account a;
	char to[EMAIL_MAX + 1], when[32];
	enum recovery_verdict v;
	int rc;

	j->old[0] = j->now_email[0] = '\0';
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	rhash(H_EMAIL, id, j->link_raw, sizeof(j->link_raw), hash);
	v = recovery_login_confirm(&rec, hash, f->now, to);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (v != RECOVERY_OK) {
		f->err = E_CODE_EXPIRED; /* used, replaced, past its 24 hours, or none */
		goto out;
	}
	if ((rc = store_account_get(txn, id, &a)) != 0) {
		if (rc == STORE_E_NOTFOUND) {
			f->err = E_CODE_EXPIRED;
			rc = 0;
		}
		goto out;
	}
	/* Taken meanwhile by another account: the change cannot be made. */
	if ((rc = store_account_by_email(txn, to, other)) != STORE_E_NOTFOUND) {
		if (rc == 0) {
			f->err = E_EMAIL_TAKEN;
			rc = store_recovery_put(txn, id, &rec);
		}
		goto out;
	}
	snprintf(j->old, sizeof(j->old), "%s", a.email);
	snprintf(a.email, sizeof(a.email), "%s", to);
	snprintf(j->now_email, sizeof(j->now_email), "%s", to);
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = store_recovery_put(txn, id, &rec)) != 0 ||
	    (rc = factor_event(txn, id, EVENT_LOGIN_EMAIL_CHANGED, f->now, f->ip)) != 0)
		goto out;
	/* A recovery login identifier it replaces: the account's sessions
	 * may do everything again. */
	if (core_login_is_recovery(j->old)) {
		rc = sessions_unrestrict(txn, id);
		goto out;
	}
	/* The address it replaces is told (the event's notice goes to the new
	 * one). */
	notify_time(f->now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"email", to}, {"time", when}, {"ip", f->ip}, {"base_url", notify_base_url()}};

	rc = send_to(txn, OUTBOX_EMAIL, id, j->old, "login_email_replaced", vars, 4, f->now);
out:
	OPENSSL_cleanse(&a, sizeof(a));
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static void email_verify_reply(struct flow *f, struct req *r)
{
	struct email_verify_flow *j = (struct email_verify_flow *)f;
	char aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->link_raw, AUTHD_ID_LEN, aid);
	log_info("login email changed account=%s req=%llu", aid, (unsigned long long)r->id);
	reply_json(r, 200, json_pack("{s:s}", "email", j->now_email));
}

static void email_verify_release(struct flow *f)
{
	plain_release(f, sizeof(struct email_verify_flow));
}

static const struct flow_ops email_verify_ops = {
    .write = email_verify_write,
    .reply = email_verify_reply,
    .release = email_verify_release,
};

/* The {"token"} of an emailed link into raw; false after replying (a body
 * error, or 410 code_expired for what is no link token). */
static bool link_body_or_reply(struct req *r, uint8_t raw[AUTHD_TOKEN_LEN])
{
	static const struct field_spec spec[] = {{"token", JSON_STRING, true, 128}};
	json_t *body = json_body_or_reply(r, spec, 1);
	const char *token;
	size_t len;
	bool ok;

	if (body == NULL)
		return false;
	token = json_str(body, "token", &len);
	ok = authd_unb64url(token, len, raw, AUTHD_TOKEN_LEN) == (long)AUTHD_TOKEN_LEN;
	json_wipe_decref(body);
	if (!ok)
		reply_error(r, E_CODE_EXPIRED);
	return ok;
}

void http_email_verify(struct req *r)
{
	struct email_verify_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (!link_body_or_reply(r, j->link_raw)) {
		email_verify_release(&j->f);
		return;
	}
	flow_start(&j->f, &email_verify_ops, r);
}

/* --- POST /1/me/close, then POST /1/account/close ------------------------------------ */

void http_account_close_begin(struct req *r)
{
	change_start(r, RECOVERY_CLOSE, false);
}

struct close_flow {
	struct flow f;
	uint8_t link_raw[AUTHD_TOKEN_LEN];
	/* the devices whose channels end once the closing is durable */
	uint8_t revoked[CORE_DEVICES_MAX][AUTHD_ID_LEN];
	unsigned n_revoked;
	/* organizations, as the membership walk finds them */
	uint8_t orgs[16][AUTHD_ID_LEN];
	enum org_role roles[16];
	unsigned n_orgs;
	unsigned others, other_reps; /* in the organization being counted */
};

static int membership_one(void *arg, const struct member *m)
{
	struct close_flow *j = arg;

	if (j->n_orgs == 16)
		return STORE_E_IO; /* more than anyone has today: refuse rather than guess */
	memcpy(j->orgs[j->n_orgs], m->org_id, AUTHD_ID_LEN);
	j->roles[j->n_orgs++] = m->role;
	return 0;
}

static int member_one(void *arg, const struct member *m)
{
	struct close_flow *j = arg;

	if (memcmp(m->account_id, j->link_raw, AUTHD_ID_LEN) != 0) {
		j->others++;
		j->other_reps += m->role == ROLE_LEGAL_REPRESENTATIVE;
	}
	return 0;
}

static int close_write(struct flow *f, struct store_txn *txn)
{
	struct close_flow *j = (struct close_flow *)f;
	const uint8_t *id = j->link_raw;
	uint8_t hash[RECOVERY_HASH_LEN];
	bool alone[16] = {false};
	struct recovery_rec rec;
	struct account a;
	char when[32];
	int rc;

	j->n_orgs = j->n_revoked = 0;
	memset(&a, 0, sizeof(a));
	if ((rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	rhash(H_CLOSE, id, j->link_raw, sizeof(j->link_raw), hash);
	if (recovery_close_confirm(&rec, hash, f->now) != RECOVERY_OK ||
	    (rc = store_account_get(txn, id, &a)) == STORE_E_NOTFOUND) {
		f->err = E_CODE_EXPIRED; /* used, replaced, past its 24 hours, or none */
		rc = 0;
		goto out;
	}
	if (rc != 0 || (rc = store_memberships_list(txn, id, membership_one, j)) != 0)
		goto out;
	/* An organization never loses its last legal representative while it
	 * has other people: another is named first. One left empty goes. */
	for (unsigned i = 0; i < j->n_orgs; i++) {
		j->others = j->other_reps = 0;
		if ((rc = store_members_list(txn, j->orgs[i], member_one, j)) != 0)
			goto out;
		if (j->roles[i] == ROLE_LEGAL_REPRESENTATIVE && j->others > 0 &&
		    j->other_reps == 0) {
			f->err = E_LAST_LEGAL_REP;
			goto out; /* nothing written: the link still works */
		}
		alone[i] = j->others == 0;
	}
	/* The devices go with the account; their channels close everywhere. */
	if ((rc = factor_devices_revoke(txn, id, false, j->revoked, &j->n_revoked)) != 0)
		goto out;
	/* The last message, to an address the account no longer owns here. */
	notify_time(f->now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"email", a.email}, {"time", when}, {"ip", f->ip}, {"base_url", notify_base_url()}};

	if ((rc = send_to(txn, OUTBOX_EMAIL, NULL, a.email, "account_closed", vars, 4, f->now)) !=
		0 ||
	    (rc = store_account_delete(txn, id)) != 0)
		goto out;
	/* An organization left empty goes; the others forget the account. */
	for (unsigned i = 0; rc == 0 && i < j->n_orgs; i++)
		if ((rc = alone[i] ? store_org_del(txn, j->orgs[i])
				   : orgs_member_forget(txn, j->orgs[i], id, f->now)) == 0 &&
		    !alone[i])
			rc = orgs_made_tokens_revoke(f, txn, j->orgs[i], id, id, "maker_closed");
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(&rec, sizeof(rec));
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

static void close_written(struct flow *f)
{
	struct close_flow *j = (struct close_flow *)f;

	if (f->job.store_rc == 0 && f->err == E_OK)
		for (unsigned i = 0; i < j->n_revoked; i++)
			ws_device_revoked(j->revoked[i]);
}

static void close_reply(struct flow *f, struct req *r)
{
	struct close_flow *j = (struct close_flow *)f;
	char aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->link_raw, AUTHD_ID_LEN, aid);
	log_info("account closed account=%s ip=%s req=%llu", aid, r->ip, (unsigned long long)r->id);
	reply_json(r, 200, json_pack("{s:b}", "closed", 1));
}

static void close_release(struct flow *f)
{
	plain_release(f, sizeof(struct close_flow));
}

static const struct flow_ops close_ops = {
    .write = close_write,
    .written = close_written,
    .reply = close_reply,
    .release = close_release,
};

void http_account_close(struct req *r)
{
	struct close_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (!link_body_or_reply(r, j->link_raw)) {
		close_release(&j->f);
		return;
	}
	flow_start(&j->f, &close_ops, r);
}
