/*
 * TOTP and backup-code settings under /1/me/2fa: enrolment (secret, otpauth
 * URI and QR code), confirmation with a first code (which turns 2FA on and
 * shows the 10 backup codes once), removal with a valid code, and backup
 * code regeneration after a recent second-factor proof.
 */
#include "rotation.h"
#include "http.h"

#include "factors.h"
#include "flow.h"
#include "session.h"

#include <log.h>
#include <store.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTP_SEED_LEN 20 /* 160 bits, the HMAC-SHA-1 output size */

enum totp_op { OP_ENROLL, OP_CONFIRM, OP_DELETE, OP_REGENERATE };

struct totp_job {
	struct flow f;
	enum totp_op op;
	uint8_t account_id[AUTHD_ID_LEN];
	char code[64];
	size_t code_len;
	bool has_enrollment_id;
	uint8_t enrollment_id[AUTHD_ID_LEN];
	/* enrolment: the new seed, plain (for the reply) and sealed */
	uint8_t seed[TOTP_SEED_LEN];
	char email[EMAIL_MAX + 1];
	uint8_t sealed[SEALED_SEED_MAX];
	size_t sealed_len;
	/* new backup codes, shown once */
	char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1];
	struct backup_rec backup;
	/* confirmation: the session that replaces the current one */
	struct new_token new_session;
};

/*
 * Reads what the rules need, asks the one for this operation, writes what
 * it says. Confirming ends every session of the account and replaces the
 * current one by a new one at the second-factor level: a session whose
 * level rises gets a new token (no fixation of a token an attacker may
 * have planted or seen).
 */
static int totp_write(struct flow *f, struct store_txn *txn)
{
	struct totp_job *j = (struct totp_job *)f;
	struct core_totp_change c;
	const uint8_t *id = f->session.account_id;
	struct account a;
	int rc;

	memcpy(j->account_id, id, AUTHD_ID_LEN);
	memset(&c, 0, sizeof(c));
	rc = store_totp_get(txn, id, &c.totp);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	c.totp_found = rc == 0;
	rc = store_backup_get(txn, id, &c.backup);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	c.backup_found = rc == 0;
	if ((rc = factor_hist_read(txn, id, &c.hist)) != 0)
		return rc;
	switch (j->op) {
	case OP_ENROLL:
		core_totp_enroll(&c, j->enrollment_id, j->sealed, j->sealed_len, f->now,
				 factor_params());
		break;
	case OP_CONFIRM:
		core_totp_confirm(&c, j->has_enrollment_id ? j->enrollment_id : NULL, j->code,
				  j->code_len, &j->backup, id, factor_keys(), f->now);
		break;
	case OP_DELETE:
		core_totp_remove(&c, j->code, j->code_len, id, factor_keys(), f->now);
		break;
	default:
		core_backup_regenerate(&c, &j->backup);
		break;
	}
	f->err = api_error_from_verdict(c.verdict);
	f->retry_after = c.retry_after;
	f->locked = c.hist.locked_now;
	memcpy(f->locked_account, id, AUTHD_ID_LEN);
	if (core_verdict_unopened(c.verdict)) {
		/* The one seed did not open: nothing compared, nothing written.
		 * Sealed with a generation not held here: 503 (f->err). */
		if (c.verdict == CORE_DAMAGED)
			rc = STORE_E_CORRUPT;
		goto out;
	}
	if (c.totp_write == CORE_PUT)
		rotation_touch_totp(&c.totp, id); /* written anyway: sealed with the current key */
	if ((c.totp_write == CORE_PUT && (rc = store_totp_put(txn, id, &c.totp)) != 0) ||
	    (c.totp_write == CORE_DEL && (rc = store_totp_del(txn, id)) != 0) ||
	    (c.backup_write == CORE_PUT && (rc = store_backup_put(txn, id, &c.backup)) != 0) ||
	    (c.backup_write == CORE_DEL && (rc = store_backup_del(txn, id)) != 0) ||
	    (rc = factor_hist_write(txn, id, &c.hist, f->now, f->ip)) != 0)
		goto out;
	if (c.verdict == CORE_OK && j->op != OP_ENROLL &&
	    (rc = factor_event(txn, id,
			       j->op == OP_CONFIRM  ? EVENT_TOTP_ENABLED
			       : j->op == OP_DELETE ? EVENT_TOTP_REMOVED
						    : EVENT_BACKUP_CODES_REGENERATED,
			       f->now, f->ip)) != 0)
		goto out;
	if (c.end_sessions) {
		if ((rc = store_account_get(txn, id, &a)) != 0 ||
		    (rc = store_session_del_all(txn, id, NULL)) != 0)
			goto out;
		/* The same client goes on, under a new token. */
		rc = session_issue(txn, &j->new_session.ref, &a, AAL_SECOND_FACTOR, f->now, f->ip,
				   f->session.browser);
		OPENSSL_cleanse(&a, sizeof(a));
	}
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return rc;
}

static void totp_reply(struct flow *f, struct req *r)
{
	struct totp_job *j = (struct totp_job *)f;
	char aid[AUTHD_ID_HEX + 1];

	authd_hex(j->account_id, AUTHD_ID_LEN, aid);
	if (f->err != E_OK) {
		if (f->err == E_INVALID_CODE || f->err == E_CODE_REUSED)
			log_refusal(r->ip, "auth method=totp outcome=%s account=%s ip=%s req=%llu",
				    f->err == E_CODE_REUSED ? "replayed" : "failure", aid, r->ip,
				    (unsigned long long)r->id);
		flow_reply_error(f, r);
		return;
	}
	switch (j->op) {
	case OP_CONFIRM: {
		char csrf[65], expires[21];

		log_info("2fa totp enabled account=%s req=%llu", aid, (unsigned long long)r->id);
		session_set_cookie(r, &j->new_session, csrf);
		authd_time_str(
		    core_session_expires(
			&(struct session){.last_seen = f->now,
					  .expires_at = f->now + srv.cfg.session_absolute_s},
			srv.cfg.session_idle_s),
		    expires);
		reply_json(r, 200,
			   json_pack("{s:b, s:o, s:s, s:s, s:s}", "enabled", 1, "backup_codes",
				     factor_backup_json(j->codes), "session", j->new_session.text,
				     "expires_at", expires, "csrf_token", csrf));
		token_clear(&j->new_session);
		break;
	}
	case OP_DELETE:
		log_info("2fa totp removed account=%s req=%llu", aid, (unsigned long long)r->id);
		reply_empty(r, 204);
		break;
	case OP_REGENERATE:
		log_info("backup codes regenerated account=%s req=%llu", aid,
			 (unsigned long long)r->id);
		reply_json(r, 200,
			   json_pack("{s:o}", "backup_codes", factor_backup_json(j->codes)));
		break;
	default:
		AUTHD_BUG("enroll has its own reply");
	}
}

static void totp_release(struct flow *f)
{
	struct totp_job *j = (struct totp_job *)f;

	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static struct totp_job *totp_job_new(struct req *r, enum totp_op op)
{
	struct totp_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	j->op = op;
	return j;
}

/* --- POST /1/me/2fa/totp ------------------------------------------------------ */

static int enroll_read(struct flow *f, struct store_txn *txn)
{
	struct totp_job *j = (struct totp_job *)f;
	struct account a;
	int rc = store_account_get(txn, f->session.account_id, &a);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_UNAUTHENTICATED;
		return 0;
	}
	if (rc != 0)
		return rc;
	memcpy(j->email, a.email, sizeof(j->email));
	OPENSSL_cleanse(&a, sizeof(a));
	return 0;
}

static bool enroll_check(struct flow *f, struct req *r)
{
	struct totp_job *j = (struct totp_job *)f;

	authd_random(j->seed, sizeof(j->seed));
	authd_random(j->enrollment_id, AUTHD_ID_LEN);
	if (keys_seal(&keys_seals()->totp, f->session.account_id, AUTHD_ID_LEN, j->seed,
		      sizeof(j->seed), j->sealed) != 0) {
		reply_error(r, E_INTERNAL);
		return false;
	}
	j->sealed_len = sizeof(j->seed) + SEAL_OVERHEAD;
	return true;
}

static void enroll_reply(struct flow *f, struct req *r)
{
	struct totp_job *j = (struct totp_job *)f;
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char secret[64];
	char id[AUTHD_ID_HEX + 1];
	char expires[21];
	char *uri = NULL;
	char *svg = NULL;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (otp_base32_encode(j->seed, sizeof(j->seed), secret, sizeof(secret)) != 0 ||
	    otp_uri_build(srv.cfg.issuer, j->email, j->seed, sizeof(j->seed), &p, &uri) != 0 ||
	    otp_qr_svg(uri, &svg) != 0) {
		reply_error(r, E_INTERNAL);
		goto out;
	}
	authd_hex(j->enrollment_id, AUTHD_ID_LEN, id);
	authd_time_str(f->now + srv.cfg.enrollment_ttl_s, expires);
	reply_json(r, 200,
		   json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "enrollment_id", id,
			     "secret", secret, "otpauth_uri", uri, "qr_svg", svg, "expires_at",
			     expires, "algorithm", "SHA1", "digits", 6, "period", 30));
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	authd_strfreezero(uri);
	authd_strfreezero(svg);
}

static const struct flow_ops enroll_ops = {
    .read = enroll_read,
    .check = enroll_check,
    .write = totp_write,
    .reply = enroll_reply,
    .release = totp_release,
};

void http_totp_enroll(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct totp_job *j;

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = totp_job_new(r, OP_ENROLL)) == NULL)
		return;
	flow_start(&j->f, &enroll_ops, r);
}

/* --- confirm, delete, regenerate ------------------------------------------------ */

/* The session that will replace the current one, made on the loop. */
static bool confirm_check(struct flow *f, struct req *r)
{
	struct totp_job *j = (struct totp_job *)f;

	(void)r;
	token_new(&j->new_session, f->session.account_id);
	return true;
}

static const struct flow_ops confirm_ops = {
    .check = confirm_check,
    .write = totp_write,
    .reply = totp_reply,
    .release = totp_release,
};

static const struct flow_ops delete_ops = {
    .write = totp_write,
    .reply = totp_reply,
    .release = totp_release,
};

static const struct flow_ops regenerate_ops = {
    .write = totp_write,
    .reply = totp_reply,
    .release = totp_release,
};

void http_totp_confirm(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"code", JSON_STRING, true, 64},
	    {"enrollment_id", JSON_STRING, false, AUTHD_ID_HEX},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct totp_job *j;
	const char *code, *eid;
	size_t eid_len = 0;

	if (body == NULL)
		return;
	if ((j = totp_job_new(r, OP_CONFIRM)) == NULL) {
		json_wipe_decref(body);
		return;
	}
	code = json_str(body, "code", &j->code_len);
	memcpy(j->code, code, j->code_len);
	eid = json_str(body, "enrollment_id", &eid_len);
	if (eid) {
		if (authd_unhex(eid, eid_len, j->enrollment_id, AUTHD_ID_LEN) != 0) {
			reply_field_error(r, E_INVALID_FIELD, "enrollment_id",
					  "must be 32 hex digits");
			json_wipe_decref(body);
			totp_release(&j->f);
			return;
		}
		j->has_enrollment_id = true;
	}
	json_wipe_decref(body);
	if (factor_backup_fresh(&j->backup, j->codes, authd_now()) != 0) {
		reply_error(r, E_INTERNAL);
		totp_release(&j->f);
		return;
	}
	flow_start(&j->f, &confirm_ops, r);
}

void http_totp_delete(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"code", JSON_STRING, true, 64},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct totp_job *j;
	const char *code;

	if (body == NULL)
		return;
	if ((j = totp_job_new(r, OP_DELETE)) == NULL) {
		json_wipe_decref(body);
		return;
	}
	code = json_str(body, "code", &j->code_len);
	memcpy(j->code, code, j->code_len);
	json_wipe_decref(body);
	flow_start(&j->f, &delete_ops, r);
}

void http_backup_regenerate(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct totp_job *j;

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = totp_job_new(r, OP_REGENERATE)) == NULL)
		return;
	if (factor_backup_fresh(&j->backup, j->codes, authd_now()) != 0) {
		reply_error(r, E_INTERNAL);
		totp_release(&j->f);
		return;
	}
	flow_start(&j->f, &regenerate_ops, r);
}
