/*
 * The host's other services, each by the credential the config gives it
 * (a bearer token, compared as a SHA-256 in constant time, never logged):
 *
 *   POST /1/service/login-email-deleted  {"email"}: the mail service says
 *        the mailbox of a login email was deleted
 *
 * The account whose login it was gets a recovery login identifier in its
 * place ("JD-48392017", core.h): the old email, and the password with it,
 * no longer signs in; every session and pending login ends; the
 * identifier goes by SMS to the verified recovery number and by email to
 * the verified recovery address, never into the answer. Signing in with
 * the identifier and the unchanged password gives a session that may only
 * set a new login email (the policy's SESSION_F_LOGIN_REPLACED).
 */
#include "http.h"
#include "provider.h"

#include "factors.h"
#include "flow.h"
#include "orgs.h"
#include "notify.h"
#include "outbox.h"

#include <log.h>
#include <recovery.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the credentials ------------------------------------------------------------ */

static uint8_t mail_hash[AUTHD_HASH_LEN], metrics_hash[AUTHD_HASH_LEN];
static bool mail_set, metrics_set;

void service_setup(const struct authd_config *c)
{
	mail_set = c->mail_credential[0] != '\0';
	if (mail_set)
		authd_sha256(c->mail_credential, strlen(c->mail_credential), mail_hash);
	metrics_set = c->metrics_credential[0] != '\0';
	if (metrics_set)
		authd_sha256(c->metrics_credential, strlen(c->metrics_credential), metrics_hash);
}

bool service_credential_or_reply(struct req *r, enum policy_action a)
{
	uint8_t h[AUTHD_HASH_LEN];
	bool ok = false;

	/* Each action names the service it is for: the mail service, the
	 * metrics scraper. */
	const uint8_t *want = a == ACT_SERVICE_LOGIN_EMAIL_DELETED && mail_set ? mail_hash
			      : a == ACT_METRICS && metrics_set		       ? metrics_hash
									       : NULL;

	if (want && strncasecmp(r->authorization, "Bearer ", 7) == 0) {
		authd_sha256(r->authorization + 7, strlen(r->authorization + 7), h);
		ok = CRYPTO_memcmp(h, want, sizeof(h)) == 0;
		OPENSSL_cleanse(h, sizeof(h));
	}
	/* The payment provider signs its webhook's body (provider.h). */
	if (a == ACT_BILLING_WEBHOOK)
		ok = r->body &&
		     provider_signature_ok(r->signature, r->body, r->body_len, authd_now());
	if (!ok) {
		log_refusal_warn(r->ip, "service credential refused action=%s ip=%s req=%llu",
				 policy_action_name(a), r->ip, (unsigned long long)r->id);
		reply_error(r, E_UNAUTHENTICATED);
	}
	return ok;
}

/* --- POST /1/service/login-email-deleted ------------------------------------------------ */

#define NEW_LOGIN_TRIES 8 /* identifiers drawn before giving up (a clash is rare) */

struct deleted_flow {
	struct flow f;
	char email[EMAIL_MAX + 1];
	uint8_t rnd[NEW_LOGIN_TRIES][8];
	uint8_t account_id[AUTHD_ID_LEN];
	bool replaced, by_sms, by_email;
};

/* The identifier's messages, to the verified recovery options. */
static int tell(struct deleted_flow *j, struct store_txn *txn, const char *login)
{
	struct recovery_rec rec;
	char when[32];
	int rc = store_recovery_get(txn, j->account_id, &rec);

	if (rc != 0)
		return rc;
	notify_time(j->f.now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"login", login}, {"email", j->email}, {"time", when}, {"base_url", notify_base_url()}};
	struct outbox_item it = {
	    .account_id = j->account_id,
	    .vars = vars,
	    .nvars = 4,
	    .now = j->f.now,
	};

	j->by_sms = rec.phone[0] && rec.phone_verified;
	j->by_email = rec.email[0] && rec.email_verified;
	if (j->by_sms) {
		it.channel = OUTBOX_SMS;
		it.to = rec.phone;
		it.template_name = "login_replaced.sms";
		rc = outbox_queue(txn, &it);
	}
	if (rc == 0 && j->by_email) {
		it.channel = OUTBOX_EMAIL;
		it.to = rec.email;
		it.template_name = "login_replaced";
		rc = outbox_queue(txn, &it);
	}
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

static int deleted_write(struct flow *f, struct store_txn *txn)
{
	struct deleted_flow *j = (struct deleted_flow *)f;
	char login[RECOVERY_LOGIN_MAX + 1] = "";
	uint8_t other[AUTHD_ID_LEN];
	struct account a;
	int rc = store_account_by_email(txn, j->email, j->account_id);

	j->replaced = j->by_sms = j->by_email = false;
	memset(&a, 0, sizeof(a));
	if (rc == STORE_E_NOTFOUND)
		return 0; /* no account signs in with it (or not any more) */
	if (rc != 0 || (rc = store_account_get(txn, j->account_id, &a)) != 0)
		goto out;
	for (int i = 0; i < NEW_LOGIN_TRIES; i++) {
		core_recovery_login_new(a.name, j->rnd[i], login);
		if ((rc = store_account_by_email(txn, login, other)) != 0)
			break;
	}
	if (rc != STORE_E_NOTFOUND) {
		rc = rc == 0 ? STORE_E_IO : rc; /* every draw taken: retry later */
		goto out;
	}
	snprintf(a.email, sizeof(a.email), "%s", login);
	j->replaced = true;
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = store_session_del_all(txn, j->account_id, NULL)) != 0 ||
	    (rc = orgs_account_tokens_end(f, txn, j->account_id)) != 0 ||
	    (rc = store_login_del_all(txn, j->account_id)) != 0 ||
	    (rc = factor_event(txn, j->account_id, EVENT_LOGIN_EMAIL_LOST, f->now, f->ip)) != 0)
		goto out;
	rc = tell(j, txn, login);
out:
	OPENSSL_cleanse(login, sizeof(login));
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

static void deleted_reply(struct flow *f, struct req *r)
{
	struct deleted_flow *j = (struct deleted_flow *)f;
	char aid[AUTHD_ID_HEX + 1] = "-";
	json_t *told;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (j->replaced)
		authd_hex(j->account_id, AUTHD_ID_LEN, aid);
	log_info("service login email deleted replaced=%s account=%s sms=%d email=%d req=%llu",
		 j->replaced ? "yes" : "no", aid, j->by_sms, j->by_email,
		 (unsigned long long)r->id);
	told = json_array();
	if (told && j->by_sms)
		json_array_append_new(told, json_string("sms"));
	if (told && j->by_email)
		json_array_append_new(told, json_string("email"));
	reply_json(r, 200, json_pack("{s:b, s:o}", "replaced", j->replaced, "told", told));
}

static void deleted_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct deleted_flow));
}

static const struct flow_ops deleted_ops = {
    .write = deleted_write,
    .reply = deleted_reply,
    .release = deleted_release,
};

void http_service_login_email_deleted(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"email", JSON_STRING, true, 254},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct deleted_flow *j;
	const char *email;
	size_t len;

	if (body == NULL)
		return;
	email = json_str(body, "email", &len);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (authd_email_normalize(email, len, j->email) != 0) {
		json_decref(body);
		reply_field_error(r, E_INVALID_EMAIL, "email", NULL);
		deleted_release(&j->f);
		return;
	}
	json_decref(body);
	authd_random(j->rnd, sizeof(j->rnd));
	flow_start(&j->f, &deleted_ops, r);
}
