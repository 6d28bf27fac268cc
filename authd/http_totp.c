/*
 * TOTP and backup-code settings under /1/me/2fa: enrolment (secret, otpauth
 * URI and QR code), confirmation with a first code (which turns 2FA on and
 * shows the 10 backup codes once), removal with a valid code, and backup
 * code regeneration after a recent second-factor proof.
 */
#include "http.h"

#include "factors.h"
#include <log.h>
#include "session.h"
#include <store.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOTP_SEED_LEN 20 /* 160 bits, the HMAC-SHA-1 output size */

enum totp_op { OP_ENROLL, OP_CONFIRM, OP_DELETE, OP_REGENERATE };

struct totp_job {
	struct job job;
	struct req *req;
	enum totp_op op;
	uint8_t account_id[AUTHD_ID_LEN];
	struct token_ref session;
	int64_t now;
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
	bool codes_issued;
	/* result */
	int api_err;
	int64_t retry_after;
};

static void totp_job_free(struct totp_job *j)
{
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

/* Marks the current session as having just proved a second factor. */
static int session_stepped_up(struct store_txn *txn, struct totp_job *j)
{
	struct session s;
	int rc = store_session_get(txn, &j->session, &s);

	if (rc != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc;
	s.aal = AAL_SECOND_FACTOR;
	s.second_factor_at = j->now;
	return store_session_put(txn, &j->session, &s);
}

static int enroll_txn(struct totp_job *j, struct store_txn *txn, struct totp_rec *t, bool exists)
{
	if (exists && t->enabled) {
		j->api_err = E_TOTP_ALREADY_ENABLED;
		return 0;
	}
	if (!exists) {
		memset(t, 0, sizeof(*t));
		t->last_step = -1;
	}
	/* The parameters every authenticator app supports (RFC 6238 defaults). */
	t->alg = OTP_ALG_SHA1;
	t->digits = 6;
	t->period = 30;
	memcpy(t->pending_id, j->enrollment_id, AUTHD_ID_LEN);
	t->pending_expires_at = j->now + srv.cfg.enrollment_ttl_s;
	memcpy(t->pending_seed, j->sealed, j->sealed_len);
	t->pending_seed_len = (uint8_t)j->sealed_len;
	j->api_err = -1;
	return store_totp_put(txn, j->account_id, t);
}

static int confirm_txn(struct totp_job *j, struct store_txn *txn, struct totp_rec *t, bool exists)
{
	int rc;

	if (exists && t->enabled) {
		j->api_err = E_TOTP_ALREADY_ENABLED;
		return 0;
	}
	if (!exists || t->pending_expires_at == 0 || j->now >= t->pending_expires_at ||
	    (j->has_enrollment_id &&
	     CRYPTO_memcmp(t->pending_id, j->enrollment_id, AUTHD_ID_LEN) != 0)) {
		j->api_err = E_NO_PENDING_ENROLLMENT;
		return 0;
	}
	t->last_step = -1;
	if ((rc = factor_totp_check(t, j->account_id, true, j->code, j->code_len, j->now,
				    &j->api_err)) != 0)
		return rc;
	if (j->api_err >= 0)
		return factor_record(txn, j->account_id, j->now, false);
	t->enabled = true;
	t->enabled_at = j->now;
	memcpy(t->seed, t->pending_seed, t->pending_seed_len);
	t->seed_len = t->pending_seed_len;
	OPENSSL_cleanse(t->pending_seed, sizeof(t->pending_seed));
	t->pending_seed_len = 0;
	t->pending_expires_at = 0;
	memset(t->pending_id, 0, sizeof(t->pending_id));
	/* 2FA was off: a fresh set of backup codes comes with it. */
	j->codes_issued = true;
	if ((rc = store_totp_put(txn, j->account_id, t)) != 0 ||
	    (rc = store_backup_put(txn, j->account_id, &j->backup)) != 0 ||
	    (rc = factor_record(txn, j->account_id, j->now, true)) != 0)
		return rc;
	/* Sessions made with the password alone end now that 2FA is on. */
	if ((rc = store_session_del_all(txn, j->account_id, &j->session)) != 0)
		return rc;
	return session_stepped_up(txn, j);
}

static int delete_txn(struct totp_job *j, struct store_txn *txn, struct totp_rec *t, bool exists)
{
	char norm[OTP_BACKUP_CHARS + 1];
	int rc;

	if (!exists || !t->enabled) {
		j->api_err = E_TOTP_NOT_ENABLED;
		return 0;
	}
	/* A backup code works too: it is how someone who lost the phone turns
	 * TOTP off. The two formats cannot be confused (digits vs 16 letters). */
	if (otp_backup_normalize(j->code, j->code_len, norm) == 0) {
		struct backup_rec b;

		OPENSSL_cleanse(norm, sizeof(norm));
		rc = store_backup_get(txn, j->account_id, &b);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		if (rc == 0)
			factor_backup_consume(&b, j->code, j->code_len, j->now, &j->api_err);
		else
			j->api_err = E_INVALID_CODE;
	} else if ((rc = factor_totp_check(t, j->account_id, false, j->code, j->code_len, j->now,
					   &j->api_err)) != 0) {
		return rc;
	}
	if (j->api_err >= 0)
		return factor_record(txn, j->account_id, j->now, false);
	/* TOTP is the only method today: removing it turns 2FA off, and the
	 * backup codes go with it. */
	if ((rc = store_totp_del(txn, j->account_id)) != 0 ||
	    (rc = store_backup_del(txn, j->account_id)) != 0)
		return rc;
	return factor_record(txn, j->account_id, j->now, true);
}

static int regenerate_txn(struct totp_job *j, struct store_txn *txn, struct totp_rec *t,
			  bool exists)
{
	struct session s;
	int rc;

	if (!exists || !t->enabled) {
		j->api_err = E_TOTP_NOT_ENABLED;
		return 0;
	}
	rc = store_session_get(txn, &j->session, &s);
	if (rc != 0)
		return rc == STORE_E_NOTFOUND ? (j->api_err = E_UNAUTHENTICATED, 0) : rc;
	if (s.second_factor_at == 0 || j->now - s.second_factor_at > srv.cfg.reauth_window_s) {
		j->api_err = E_REAUTH_REQUIRED;
		return 0;
	}
	j->codes_issued = true;
	j->api_err = -1;
	return store_backup_put(txn, j->account_id, &j->backup);
}

static int totp_txn(struct job *job, struct store_txn *txn)
{
	struct totp_job *j = (struct totp_job *)job;
	struct totp_rec t;
	bool exists;
	int rc;

	j->codes_issued = false;
	j->api_err = E_INTERNAL;
	rc = store_totp_get(txn, j->account_id, &t);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	exists = rc == 0;
	if (j->op == OP_CONFIRM || j->op == OP_DELETE) {
		if ((rc = factor_retry_after(txn, j->account_id, j->now, &j->retry_after)) != 0)
			return rc;
		if (j->retry_after > 0) {
			j->api_err = E_TOO_MANY_ATTEMPTS;
			return 0;
		}
	}
	switch (j->op) {
	case OP_ENROLL:
		rc = enroll_txn(j, txn, &t, exists);
		break;
	case OP_CONFIRM:
		rc = confirm_txn(j, txn, &t, exists);
		break;
	case OP_DELETE:
		rc = delete_txn(j, txn, &t, exists);
		break;
	default:
		rc = regenerate_txn(j, txn, &t, exists);
		break;
	}
	OPENSSL_cleanse(&t, sizeof(t));
	return rc;
}

static void totp_written(struct job *job)
{
	struct totp_job *j = (struct totp_job *)job;
	struct req *r = j->req;
	char aid[AUTHD_ID_HEX + 1];

	if (!req_resume(r))
		goto out;
	authd_hex(j->account_id, AUTHD_ID_LEN, aid);
	if (job->store_rc != 0) {
		reply_error(r, api_error_from_store(job->store_rc));
		goto out;
	}
	if (j->api_err == E_TOO_MANY_ATTEMPTS) {
		reply_throttled(r, j->retry_after);
		goto out;
	}
	if (j->api_err >= 0) {
		if (j->api_err == E_INVALID_CODE || j->api_err == E_CODE_REUSED)
			log_info("auth method=totp outcome=%s account=%s ip=%s req=%llu",
				 j->api_err == E_CODE_REUSED ? "replayed" : "failure", aid, r->ip,
				 (unsigned long long)r->id);
		reply_error(r, (enum api_error)j->api_err);
		goto out;
	}
	switch (j->op) {
	case OP_CONFIRM:
		log_info("2fa totp enabled account=%s req=%llu", aid, (unsigned long long)r->id);
		reply_json(r, 200,
			   json_pack("{s:b, s:o}", "enabled", 1, "backup_codes",
				     factor_backup_json(j->codes)));
		break;
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
		AUTHD_BUG("enroll has its own completion");
	}
out:
	totp_job_free(j);
}

static struct totp_job *totp_job_new(struct req *r, enum totp_op op)
{
	struct totp_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	j->req = r;
	j->op = op;
	j->now = authd_now();
	memcpy(j->account_id, r->authn.s.account_id, AUTHD_ID_LEN);
	j->session = r->authn.token;
	j->job.txn_work = totp_txn;
	j->job.done = totp_written;
	return j;
}

static void submit(struct totp_job *j)
{
	req_hold(j->req);
	store_write(&j->job);
}

/* --- POST /1/me/2fa/totp ------------------------------------------------------ */

static void enroll_written(struct job *job)
{
	struct totp_job *j = (struct totp_job *)job;
	struct req *r = j->req;
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	char secret[64];
	char id[AUTHD_ID_HEX + 1];
	char expires[21];
	char *uri = NULL;
	char *svg = NULL;

	if (!req_resume(r))
		goto out;
	if (job->store_rc != 0) {
		reply_error(r, api_error_from_store(job->store_rc));
		goto out;
	}
	if (j->api_err >= 0) {
		reply_error(r, (enum api_error)j->api_err);
		goto out;
	}
	if (otp_base32_encode(j->seed, sizeof(j->seed), secret, sizeof(secret)) != 0 ||
	    otp_uri_build(srv.cfg.issuer, j->email, j->seed, sizeof(j->seed), &p, &uri) != 0 ||
	    otp_qr_svg(uri, &svg) != 0) {
		reply_error(r, E_INTERNAL);
		goto out;
	}
	authd_hex(j->enrollment_id, AUTHD_ID_LEN, id);
	authd_time_str(j->now + srv.cfg.enrollment_ttl_s, expires);
	reply_json(r, 200,
		   json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "enrollment_id", id,
			     "secret", secret, "otpauth_uri", uri, "qr_svg", svg, "expires_at",
			     expires, "algorithm", "SHA1", "digits", 6, "period", 30));
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	authd_strfreezero(uri);
	authd_strfreezero(svg);
	totp_job_free(j);
}

void http_totp_enroll(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct totp_job *j;
	struct account a;
	struct store_txn *txn = NULL;
	int rc;

	if (body == NULL)
		return;
	json_decref(body);
	if (!session_or_reply(r))
		return;
	/* Binding a new authenticator needs a recent proof (a fresh login or a
	 * second factor), not just any session: a stolen session must not be
	 * able to take the account over by enrolling its own TOTP. */
	int64_t proof = r->authn.s.created_at > r->authn.s.second_factor_at
			    ? r->authn.s.created_at
			    : r->authn.s.second_factor_at;
	if (authd_now() - proof > srv.cfg.reauth_window_s) {
		reply_error(r, E_REAUTH_REQUIRED);
		return;
	}
	if ((rc = store_read_begin(&txn)) != 0) {
		reply_error(r, api_error_from_store(rc));
		return;
	}
	rc = store_account_get(txn, r->authn.s.account_id, &a);
	store_read_end(txn);
	if (rc != 0) {
		reply_error(r,
			    rc == STORE_E_NOTFOUND ? E_UNAUTHENTICATED : api_error_from_store(rc));
		return;
	}
	if ((j = totp_job_new(r, OP_ENROLL)) == NULL)
		return;
	authd_random(j->seed, sizeof(j->seed));
	memcpy(j->email, a.email, sizeof(j->email));
	authd_random(j->enrollment_id, AUTHD_ID_LEN);
	if (keys_seal(srv.keys.totp, j->account_id, AUTHD_ID_LEN, j->seed, sizeof(j->seed),
		      j->sealed) != 0) {
		reply_error(r, E_INTERNAL);
		totp_job_free(j);
		return;
	}
	j->sealed_len = sizeof(j->seed) + SEAL_OVERHEAD;
	j->job.done = enroll_written;
	submit(j);
}

/* --- confirm, delete, regenerate ------------------------------------------------ */

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
	if (!session_or_reply(r) || (j = totp_job_new(r, OP_CONFIRM)) == NULL) {
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
			totp_job_free(j);
			return;
		}
		j->has_enrollment_id = true;
	}
	json_wipe_decref(body);
	factor_backup_new(&j->backup, j->codes, j->now);
	submit(j);
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
	if (!session_or_reply(r) || (j = totp_job_new(r, OP_DELETE)) == NULL) {
		json_wipe_decref(body);
		return;
	}
	code = json_str(body, "code", &j->code_len);
	memcpy(j->code, code, j->code_len);
	json_wipe_decref(body);
	submit(j);
}

void http_backup_regenerate(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct totp_job *j;

	if (body == NULL)
		return;
	json_decref(body);
	if (!session_or_reply(r) || (j = totp_job_new(r, OP_REGENERATE)) == NULL)
		return;
	factor_backup_new(&j->backup, j->codes, j->now);
	submit(j);
}
