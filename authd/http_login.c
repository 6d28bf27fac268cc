/*
 * The login flow: POST /1/login checks the password (argon2id on the pool,
 * a dummy hash for unknown emails), then either issues a session or opens a
 * pending second-factor login; POST /1/login/totp, /backup-code and /sms
 * finish it (/sms without a code sends one first: http_sms.c). Failures
 * count against the account (or the unknown email) and the client IP;
 * throttled subjects get 429 with Retry-After before any password work is
 * spent on them.
 */
#include "client.h"
#include "notify.h"
#include "http.h"
#include "metrics.h"

#include "flow.h"

#include "factors.h"
#include <log.h>
#include "password.h"
#include "session.h"
#include "sms.h"
#include <store.h>
#include "throttle.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_MAX_ATTEMPTS 5 /* second-factor tries per pending login */

/* RFC 9745: the path form of the second-factor steps is deprecated since
 * this date (2026-12-06T00:00:00Z). */
#define DEPRECATED_SINCE "@1796515200"

/* --- throttling on the loop ------------------------------------------------ */

/*
 * An address is often shared (a proxy, an office), so its attempts in flight
 * count as failures only once it has failed recently; a clean address may
 * have IP_MAX_INFLIGHT attempts under way at once, the first wave an
 * attacker gets before its failures start counting.
 */
#define IP_MAX_INFLIGHT 64

static int64_t ip_retry_after(struct throttle_slot *ip_slot, int64_t now)
{
	const struct throttle_rec *rec = throttle_slot_rec(ip_slot);
	unsigned inflight = *throttle_slot_inflight(ip_slot);

	if (rec->consecutive == 0 || now - rec->last_failure >= throttle_ip_policy.quiet_reset)
		return inflight >= IP_MAX_INFLIGHT ? 1 : 0;
	return throttle_retry_after(rec, &throttle_ip_policy, now, inflight);
}

/*
 * Retry-after for a subject and the client IP, counting attempts in flight
 * as failures, from the subject's stored history. -1 when the in-memory
 * table has no room (the caller answers 503).
 */
static int64_t loop_retry_after(const struct throttle_rec *stored,
				const uint8_t key[THROTTLE_KEY_LEN], const char *ip, int64_t now)
{
	struct throttle_slot *ip_slot = throttle_slot_ip(ip);
	struct throttle_slot *subj = throttle_slot_subject(key);
	int64_t a, b;

	if (ip_slot == NULL || subj == NULL)
		return -1;
	a = throttle_retry_after(stored, &throttle_account_policy, now,
				 *throttle_slot_inflight(subj));
	b = ip_retry_after(ip_slot, now);
	return a > b ? a : b;
}

static void ip_record(const char *ip, bool ok, int64_t now)
{
	if (!ok) /* an address is not cleared by one success: it may be shared */
		throttle_ip_failure(ip, now);
}

static void log_auth(const struct req *r, const char *method, const char *outcome,
		     const uint8_t *account_id)
{
	char aid[AUTHD_ID_HEX + 1] = "-";

	if (account_id)
		authd_hex(account_id, AUTHD_ID_LEN, aid);
	/* A refusal is what a client can cause at will: limited (log.h). */
	if (strcmp(outcome, "success") == 0 || strcmp(outcome, "second_factor_required") == 0)
		log_info("auth method=%s outcome=%s account=%s ip=%s req=%llu", method, outcome,
			 aid, r->ip, (unsigned long long)r->id);
	else
		log_refusal(r->ip, "auth method=%s outcome=%s account=%s ip=%s req=%llu", method,
			    outcome, aid, r->ip, (unsigned long long)r->id);
	metrics_auth(method, outcome);
}

/* --- POST /1/login ---------------------------------------------------------- */

struct login_flow {
	struct flow f;
	char ip[48];
	char email[EMAIL_MAX + 1];
	char pw[PASSWORD_MAX_BYTES + 1];
	size_t pw_len;
	bool known;
	uint8_t account_id[AUTHD_ID_LEN];
	/* Who the client is, for its own delay: its address prefix, and the
	 * device cookie it showed (valid for that cookie's account only). */
	uint8_t prefix[16];
	size_t prefix_len;
	bool has_device;
	struct device_cookie device; /* as shown; verified in the read */
	bool browser_known;	     /* it was valid for the account */
	uint64_t net;		     /* client_net() of the prefix */
	char browser[SESSION_BROWSER_MAX + 1];
	/* The delay's subject (client or unknown email) and, for an account,
	 * its account-wide hourly cap ('a'), as read and as written. */
	uint8_t subject[THROTTLE_KEY_LEN], acct_key[THROTTLE_KEY_LEN];
	struct throttle_rec stored, acct_stored;
	uint64_t read_seq; /* throttle_seq() when the read began */
	struct throttle_rec written, acct_written;
	bool inflight_subject, inflight_acct, inflight_ip;
	char phc[PW_HASH_MAX];
	bool ok;
	bool rehashed;
	char new_phc[PW_HASH_MAX];
	/* The write's records and decision. */
	struct new_token token;
	struct core_password_login decision;
};

static int login_read(struct flow *f, struct store_txn *txn)
{
	struct login_flow *j = (struct login_flow *)f;
	struct account a;
	int rc = store_account_by_email(txn, j->email, j->account_id);

	if (rc == 0)
		rc = store_account_get(txn, j->account_id, &a);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	j->known = rc == 0;
	/* Known or not, the same keys: a delay per client (the email's keyed
	 * hash stands in for the account id of an unknown email) and an
	 * hourly cap per account or email, so the answers do not tell an
	 * existing account from an unknown email. */
	if (j->known) {
		memcpy(j->phc, a.pw_hash, sizeof(j->phc));
		OPENSSL_cleanse(&a, sizeof(a));
		throttle_key_account(j->acct_key, j->account_id);
	} else {
		struct account none;

		throttle_key_email(j->acct_key, srv.keys.subjects, j->email);
		/* The account read a known email makes, so both cost the same. */
		rc = store_account_get(txn, j->acct_key + 1, &none);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
	}
	j->browser_known = j->known && j->has_device &&
			   session_device_verify(&j->device, j->account_id, j->phc, f->now);
	if (j->browser_known)
		throttle_key_device(j->subject, srv.keys.subjects, j->account_id, j->device.nonce);
	else
		throttle_key_client(j->subject, srv.keys.subjects, j->acct_key + 1, j->prefix,
				    j->prefix_len);
	if ((rc = store_throttle_get(txn, j->acct_key, &j->acct_stored)) != 0)
		return rc;
	return store_throttle_get(txn, j->subject, &j->stored);
}

static bool login_check(struct flow *f, struct req *r)
{
	struct login_flow *j = (struct login_flow *)f;
	int64_t wait = loop_retry_after(throttle_subject_fresh(j->subject, &j->stored, j->read_seq),
					j->subject, r->ip, f->now);

	if (wait >= 0) {
		/* The account-wide hourly cap, whoever made the failures. */
		struct throttle_slot *acct = throttle_slot_subject(j->acct_key);
		int64_t cap =
		    acct ? throttle_retry_after(
			       throttle_subject_fresh(j->acct_key, &j->acct_stored, j->read_seq),
			       &throttle_account_hourly_policy, f->now,
			       *throttle_slot_inflight(acct))
			 : -1;

		if (cap < 0 || cap > wait)
			wait = cap;
	}
	if (wait < 0) {
		reply_error(r, E_OVERLOADED);
		return false;
	}
	if (wait > 0) {
		log_auth(r, "password", "throttled", j->known ? j->account_id : NULL);
		reply_throttled(r, wait);
		return false;
	}
	snprintf(j->ip, sizeof(j->ip), "%s", r->ip);
	throttle_inflight_subject(j->subject, +1);
	throttle_inflight_ip(j->ip, +1);
	j->inflight_subject = j->inflight_ip = true;
	throttle_inflight_subject(j->acct_key, +1);
	j->inflight_acct = true;
	return true;
}

static void login_verify(struct flow *f)
{
	struct login_flow *j = (struct login_flow *)f;

	j->ok = password_verify(j->known ? j->phc : NULL, j->pw, j->pw_len);
	if (j->ok && password_needs_rehash(j->phc))
		j->rehashed = password_hash(j->pw, j->pw_len, j->new_phc, sizeof(j->new_phc)) == 0;
	OPENSSL_cleanse(j->pw, sizeof(j->pw));
}

static bool login_verified(struct flow *f)
{
	struct login_flow *j = (struct login_flow *)f;

	ip_record(j->ip, j->ok, f->now);
	throttle_inflight_ip(j->ip, -1);
	j->inflight_ip = false;
	/* Hanging up must not make a wrong guess free: record it anyway. */
	f->finish_if_gone = !j->ok;
	if (j->ok)
		token_new(&j->token, j->account_id);
	return true;
}

static int login_write(struct flow *f, struct store_txn *txn)
{
	struct login_flow *j = (struct login_flow *)f;
	struct core_password_login *l = &j->decision;
	const uint8_t *id = j->account_id;
	int rc;

	/* Read what the rule needs, ask it, write what it says. */
	memset(l, 0, sizeof(*l));
	l->known = j->known;
	l->password_ok = j->ok;
	l->verified_phc = j->phc;
	l->new_phc = j->rehashed ? j->new_phc : NULL;
	if ((rc = store_throttle_get(txn, j->subject, &l->subject)) != 0)
		return rc;
	if (j->known) {
		if ((rc = factor_hist_read(txn, id, &l->hist)) != 0)
			return rc;
		rc = store_account_get(txn, id, &l->account);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		l->account_found = rc == 0;
	} else {
		/* The same reads as for an account, on the email's keys, so that
		 * an unknown email costs the same round trips (PostgreSQL). */
		uint8_t fkey[THROTTLE_KEY_LEN];
		struct account none;

		throttle_key_factor(fkey, j->acct_key + 1);
		if ((rc = store_throttle_get(txn, j->acct_key, &l->hist.account)) != 0 ||
		    (rc = store_throttle_get(txn, fkey, &l->hist.factor)) != 0)
			return rc;
		rc = store_account_get(txn, j->acct_key + 1, &none);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
	}
	if (l->account_found && j->ok) {
		/* A linked device turns the second factor on, as TOTP does. */
		if ((rc = store_devices_count(txn, id, &l->devices)) != 0)
			return rc;
		if (l->devices > 0) {
			struct push_account pa;

			if ((rc = store_push_account_get(txn, id, &pa)) != 0)
				return rc;
			l->push_paused = push_paused(&pa, f->now);
		}
		rc = store_totp_get(txn, id, &l->totp);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		l->totp_found = rc == 0;
		rc = store_backup_get(txn, id, &l->backup);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		l->backup_found = rc == 0;
		if ((rc = sms_is_on(txn, id, &l->sms_on)) != 0)
			return rc;
	}
	core_password_login_decide(l, f->now, factor_params());
	f->err = api_error_from_verdict(l->verdict);
	f->retry_after = l->retry_after;
	j->written = l->subject;
	j->acct_written = l->hist.account;
	if ((l->subject_write && (rc = store_throttle_put(txn, j->subject, &l->subject)) != 0) ||
	    (j->known && (rc = factor_hist_write(txn, id, &l->hist, f->now, f->ip)) != 0) ||
	    (l->account_write && (rc = store_account_put(txn, &l->account)) != 0))
		return rc;
	/* The account's activity: a right or wrong password (a throttled
	 * attempt was not evaluated). */
	if (l->account_found && l->verdict != CORE_THROTTLED &&
	    (rc = factor_login_event(txn, id, EVENT_M_PASSWORD,
				     l->verdict != CORE_OK ? EVENT_O_FAILURE
				     : l->second_factor	   ? EVENT_O_SECOND_FACTOR
							   : EVENT_O_SUCCESS,
				     f->now, f->ip, j->browser)) != 0)
		return rc;
	/* An email that names no account writes the same event, under its
	 * keyed hash (no account lists it; the sweeper takes it): the commit
	 * costs what an account's does. */
	if (!j->known && l->verdict != CORE_THROTTLED &&
	    (rc = factor_login_event(txn, j->acct_key + 1, EVENT_M_PASSWORD, EVENT_O_FAILURE,
				     f->now, f->ip, j->browser)) != 0)
		return rc;
	if (!j->known && l->hist.account_dirty) {
		uint8_t fkey[THROTTLE_KEY_LEN];

		throttle_key_factor(fkey, j->acct_key + 1);
		if ((rc = store_throttle_put(txn, j->acct_key, &l->hist.account)) != 0 ||
		    (rc = store_throttle_put(txn, fkey, &l->hist.factor)) != 0)
			return rc;
	}
	if (l->verdict != CORE_OK)
		return 0;
	/* A right password from a new place is told to the owner, whatever
	 * the second factor then says: someone else may know the password. */
	if ((rc = notify_place(txn, id, j->net, j->browser_known, f->now, f->ip, j->browser)) != 0)
		return rc;
	if (l->second_factor)
		return store_login_put(txn, &j->token.ref, &l->login);
	session_set_client(&l->session, f->ip, j->browser);
	return store_session_put(txn, &j->token.ref, &l->session);
}

static void login_written(struct flow *f)
{
	struct login_flow *j = (struct login_flow *)f;

	/* The outcome is durable now: the attempt stops counting as in flight,
	 * and counts in the history the next check sees. */
	if (f->job.store_rc == 0) {
		throttle_subject_written(j->subject, &j->written);
		throttle_subject_written(j->acct_key, &j->acct_written);
	}
	throttle_inflight_subject(j->subject, -1);
	j->inflight_subject = false;
	if (j->inflight_acct) {
		throttle_inflight_subject(j->acct_key, -1);
		j->inflight_acct = false;
	}
}

static void login_reply(struct flow *f, struct req *r)
{
	struct login_flow *j = (struct login_flow *)f;
	const struct core_password_login *l = &j->decision;
	char expires[21];
	json_t *methods;

	if (l->verdict == CORE_THROTTLED) {
		log_auth(r, "password", "throttled", j->known ? j->account_id : NULL);
		flow_reply_error(f, r);
		return;
	}
	if (l->verdict == CORE_ACCOUNT_LOCKED) {
		log_auth(r, "password", "locked", j->account_id);
		reply_error(r, E_INVALID_CREDENTIALS); /* as a wrong password */
		return;
	}
	if (l->verdict != CORE_OK) {
		log_auth(r, "password", "failure", j->known ? j->account_id : NULL);
		reply_error(r, E_INVALID_CREDENTIALS);
		return;
	}
	/* A right password: this browser is recognised from now on. */
	session_set_device_cookie(r, j->account_id, l->account.pw_hash, f->now);
	if (!l->second_factor) {
		log_auth(r, "password", "success", j->account_id);
		reply_session_done(r, &j->token, f->now, -1);
		return;
	}
	log_auth(r, "password", "second_factor_required", j->account_id);
	authd_time_str(l->login.expires_at, expires);
	methods = json_array();
	if (methods && l->has_push)
		json_array_append_new(methods, json_string("push"));
	if (methods && l->has_totp && !l->totp_locked)
		json_array_append_new(methods, json_string("totp"));
	if (methods && l->has_sms)
		json_array_append_new(methods, json_string("sms"));
	if (methods && l->has_backup)
		json_array_append_new(methods, json_string("backup_code"));
	reply_json(r, 200,
		   json_pack("{s:s, s:s, s:o, s:s}", "state", "second_factor", "login_id",
			     j->token.text, "methods", methods, "expires_at", expires));
}

static void login_release(struct flow *f)
{
	struct login_flow *j = (struct login_flow *)f;

	if (j->inflight_subject)
		throttle_inflight_subject(j->subject, -1);
	if (j->inflight_acct)
		throttle_inflight_subject(j->acct_key, -1);
	if (j->inflight_ip)
		throttle_inflight_ip(j->ip, -1);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops login_ops = {
    .read = login_read,
    .check = login_check,
    .work = login_verify,
    .worked = login_verified,
    .write = login_write,
    .written = login_written,
    .reply = login_reply,
    .release = login_release,
};

void http_login_start(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"email", JSON_STRING, true, 254},
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct login_flow *j = NULL;
	const char *email, *pw;
	size_t elen, plen;

	if (body == NULL)
		return;
	email = json_str(body, "email", &elen);
	pw = json_str(body, "password", &plen);
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		json_wipe_decref(body);
		return;
	}
	/* A login email, or a recovery login identifier (core.h). A malformed
	 * one cannot name an account: it fails like a wrong one, after the
	 * same work. */
	if (core_login_normalize(email, elen, j->email) != 0)
		snprintf(j->email, sizeof(j->email), "%.*s", (int)(elen < 254 ? elen : 254), email);
	memcpy(j->pw, pw, plen);
	j->pw_len = plen;
	json_wipe_decref(body);
	j->prefix_len = proxy_ip_prefix(r->ip, j->prefix);
	j->net = client_net(srv.keys.subjects, j->prefix, j->prefix_len);
	client_of(r, j->browser, sizeof(j->browser));
	j->has_device = session_device_of(r, &j->device);
	j->read_seq = throttle_seq();
	flow_start(&j->f, &login_ops, r);
}

/* --- POST /1/login/totp, /backup-code and /sms ---------------------------------- */

struct second_flow {
	struct flow f;
	enum core_method method;
	char ip[48];
	char browser[SESSION_BROWSER_MAX + 1];
	struct token_ref login;
	char code[64];
	size_t code_len;
	struct new_token token;
	/* The TOTP record as read before the write, if the code is worth
	 * checking then, and that check. */
	bool seen_ok;
	struct totp_rec seen;
	struct core_totp_precheck pre;
	/* The write's records and decision. */
	struct core_second_factor step;
	/* The account's devices, read when the step needs them (allocated
	 * then, for the flows of accounts with devices only). */
	struct factor_devices *devs;
};

static int second_txn(struct flow *f, struct store_txn *txn)
{
	struct second_flow *j = (struct second_flow *)f;
	struct core_second_factor *s = &j->step;
	const uint8_t *id = j->login.account_id;
	struct account a;
	int rc;

	/* Read what the rule needs, ask it, write what it says. */
	memset(s, 0, sizeof(*s));
	rc = store_login_get(txn, &j->login, &s->login);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	s->login_found = rc == 0;
	if ((rc = factor_step(txn, id, j->method, j->code, j->code_len, &j->pre, &j->devs,
			      &j->login, s, f->now)) != 0)
		return rc;
	f->err = api_error_from_verdict(s->verdict);
	f->retry_after = s->retry_after;
	f->locked = s->hist.locked_now;
	memcpy(f->locked_account, id, AUTHD_ID_LEN);
	/* A seed that did not open is answered through f->err (503 when its
	 * key generation is not held here), with what the rule counted. */
	if ((rc = factor_step_write(txn, id, j->devs, s, f->now, f->ip)) != 0)
		return rc;
	if (s->login_write == CORE_LOGIN_DEL && (rc = store_login_del(txn, &j->login)) != 0)
		return rc;
	if (s->login_write == CORE_LOGIN_PUT &&
	    (rc = store_login_put(txn, &j->login, &s->login)) != 0)
		return rc;
	if ((s->verdict == CORE_OK || s->failure_counted) &&
	    (rc = factor_login_event(txn, id,
				     j->method == CORE_TOTP  ? EVENT_M_TOTP
				     : j->method == CORE_SMS ? EVENT_M_SMS
							     : EVENT_M_BACKUP_CODE,
				     s->verdict == CORE_OK ? EVENT_O_SUCCESS : EVENT_O_FAILURE,
				     f->now, f->ip, j->browser)) != 0)
		return rc;
	if (s->verdict != CORE_OK)
		return 0;
	if ((rc = store_account_get(txn, id, &a)) != 0)
		return rc;
	rc = session_issue(txn, &j->token.ref, &a, AAL_SECOND_FACTOR, f->now, f->ip, j->browser);
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

/* Reads whether the login is pending, its account not throttled and its
 * TOTP on: then the code is worth checking before the write. (The write
 * decides all of this again.) */
static int second_read(struct flow *f, struct store_txn *txn)
{
	struct second_flow *j = (struct second_flow *)f;
	struct core_factor_hist h;
	struct login l;

	j->seen_ok = false;
	if (j->method != CORE_TOTP)
		return 0;
	j->seen_ok = store_login_get(txn, &j->login, &l) == 0 && f->now < l.expires_at &&
		     factor_hist_read(txn, j->login.account_id, &h) == 0 &&
		     !throttle_factor_locked(&h.factor) &&
		     throttle_retry_after(&h.factor, &throttle_factor_policy, f->now, 0) == 0 &&
		     store_totp_get(txn, j->login.account_id, &j->seen) == 0 && j->seen.enabled;
	return 0;
}

static bool second_check(struct flow *f, struct req *r)
{
	struct second_flow *j = (struct second_flow *)f;

	(void)r;
	if (j->seen_ok) {
		/* Opening the seed and computing codes happens here, before the
		 * write, so that the writer, which every write waits on, only
		 * compares steps. (On a pool thread it cost more in wake-ups than
		 * it saved: 13.1k against 13.5k steps/s, 18k against 21k on tmpfs.) */
		core_totp_precheck(&j->pre, &j->seen, factor_keys(), j->login.account_id, j->code,
				   j->code_len, f->now);
	}
	OPENSSL_cleanse(&j->seen, sizeof(j->seen));
	return true;
}

static const char *method_name(enum core_method m)
{
	return m == CORE_TOTP ? "totp" : m == CORE_SMS ? "sms" : "backup_code";
}

static void second_reply(struct flow *f, struct req *r)
{
	struct second_flow *j = (struct second_flow *)f;
	const char *method = method_name(j->method);
	const uint8_t *id = j->step.login_found ? j->login.account_id : NULL;

	if (f->err == E_TOO_MANY_ATTEMPTS) {
		log_auth(r, method, "throttled", id);
		flow_reply_error(f, r);
		return;
	}
	if (f->err != E_OK) {
		/* A seed that did not open: its key generation is not held
		 * here, or it is damaged (a 500 that the log must explain). */
		log_auth(r, method,
			 f->err == E_CODE_REUSED	       ? "replayed"
			 : f->err == E_SECOND_FACTOR_LOCKED    ? "locked"
			 : j->step.verdict == CORE_KEY_MISSING ? "key_generation_missing"
			 : j->step.verdict == CORE_DAMAGED     ? "seed_damaged"
							       : "failure",
			 id);
		flow_reply_error(f, r);
		return;
	}
	log_auth(r, method, "success", id);
	reply_session_done(r, &j->token, f->now,
			   j->method == CORE_BACKUP_CODE ? (int)j->step.backup_left : -1);
}

/* A wrong code counts against the address whether or not the client is
 * still connected to hear about it. */
static void second_written(struct flow *f)
{
	struct second_flow *j = (struct second_flow *)f;

	/* (A seed that did not open, with no other compared: nothing counts.) */
	if (f->job.store_rc == 0 && f->err != E_OK && f->err != E_TOO_MANY_ATTEMPTS &&
	    (!core_verdict_unopened(j->step.verdict) || j->step.failure_counted))
		ip_record(j->ip, false, f->now);
}

static void second_release(struct flow *f)
{
	struct second_flow *j = (struct second_flow *)f;

	if (j->devs) {
		OPENSSL_cleanse(j->devs, sizeof(*j->devs));
		free(j->devs);
	}
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops second_ops = {
    .read = second_read,
    .check = second_check,
    .write = second_txn,
    .written = second_written,
    .reply = second_reply,
    .release = second_release,
};

/* Without a single writer (store_single_writer()), the write does it all. */
static const struct flow_ops second_ops_write_only = {
    .write = second_txn,
    .written = second_written,
    .reply = second_reply,
    .release = second_release,
};

/*
 * The login id travels in the body ({"login_id", "code"}), never in the
 * URL, where proxies log it. The old path form (/1/login/{id}/totp) stays
 * one release as a deprecated alias: r->param then holds the id and the
 * body has only the code.
 */
static void second_step(struct req *r, enum core_method method)
{
	static const struct field_spec spec_body[] = {
	    {"login_id", JSON_STRING, true, 128},
	    {"code", JSON_STRING, true, 64},
	};
	/* SMS: without a code, the step sends one. */
	static const struct field_spec spec_sms[] = {
	    {"login_id", JSON_STRING, true, 128},
	    {"code", JSON_STRING, false, 64},
	};
	static const struct field_spec spec_path[] = {
	    {"code", JSON_STRING, true, 64},
	};
	bool in_path = r->param[0] != '\0';
	json_t *body = in_path		    ? json_body_or_reply(r, spec_path, 1)
		       : method == CORE_SMS ? json_body_or_reply(r, spec_sms, 2)
					    : json_body_or_reply(r, spec_body, 2);
	struct second_flow *j = NULL;
	struct throttle_slot *ip_slot;
	const char *code, *login_id = r->param;
	size_t login_id_len = strlen(r->param);
	int64_t wait;

	if (body == NULL)
		return;
	if (in_path) {
		req_add_header(r, "Deprecation", DEPRECATED_SINCE);
		req_add_header(r, "Link",
			       method == CORE_TOTP
				   ? "</1/login/totp>; rel=\"successor-version\""
				   : "</1/login/backup-code>; rel=\"successor-version\"");
	} else {
		login_id = json_str(body, "login_id", &login_id_len);
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!token_parse(login_id, login_id_len, &j->login)) {
		reply_error(r, E_LOGIN_EXPIRED);
		goto out;
	}
	ip_slot = throttle_slot_ip(r->ip);
	if (ip_slot == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	wait = throttle_retry_after(throttle_slot_rec(ip_slot), &throttle_ip_policy, authd_now(),
				    *throttle_slot_inflight(ip_slot));
	if (wait > 0) {
		reply_throttled(r, wait);
		goto out;
	}
	if (method == CORE_SMS && json_object_get(body, "code") == NULL) {
		http_login_sms_send(r, &j->login);
		goto out;
	}
	code = json_str(body, "code", &j->code_len);
	memcpy(j->code, code, j->code_len);
	j->method = method;
	snprintf(j->ip, sizeof(j->ip), "%s", r->ip);
	client_of(r, j->browser, sizeof(j->browser));
	token_new(&j->token, j->login.account_id);
	/* second_txn reads the pending login first (store.h's job.first). */
	j->f.write_first = STORE_FIRST_LOGIN;
	j->f.write_first_ref = j->login;
	/* A TOTP step writes every record it decides on, with an UPDATE or
	 * DELETE of a row it read (a row deleted meanwhile makes it run
	 * again): the pending login (deleted, or its attempts counted: the
	 * store updates the row it read), the credential's step on success;
	 * on failure it decides nothing the failure counts do not record. A
	 * password change deletes the pending logins, a TOTP removal the
	 * credential a success writes. A backup code decides on the TOTP
	 * credential it leaves alone: it stays SERIALIZABLE. */
	j->f.write_decides_on_own_writes = method == CORE_TOTP;
	json_wipe_decref(body);
	flow_start(&j->f, store_single_writer() ? &second_ops : &second_ops_write_only, r);
	return;
out:
	if (j)
		second_release(&j->f);
	json_wipe_decref(body);
}

void http_login_totp(struct req *r)
{
	second_step(r, CORE_TOTP);
}

void http_login_backup_code(struct req *r)
{
	second_step(r, CORE_BACKUP_CODE);
}

void http_login_sms(struct req *r)
{
	second_step(r, CORE_SMS);
}
