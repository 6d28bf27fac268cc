/*
 * The signed-in person's own resources: GET /1/me, POST /1/logout and
 * PUT /1/me/password (which needs the current password and ends every
 * other session of the account).
 */
#include "http.h"

#include "async.h"

#include "factors.h"
#include <log.h>
#include "password.h"
#include "session.h"
#include <store.h>
#include "throttle.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_me_get(struct req *r)
{
	struct account a;
	struct totp_rec t;
	struct backup_rec b;
	struct store_txn *txn = NULL;
	char aid[AUTHD_ID_HEX + 1], oid[AUTHD_ID_HEX + 1];
	char created[21], expires[21];
	bool totp_on = false;
	int backup_left = 0;
	int rc;

	if (!session_or_reply(r))
		return;
	if ((rc = store_read_begin(&txn)) != 0) {
		reply_error(r, api_error_from_store(rc));
		return;
	}
	rc = store_account_get(txn, r->authn.s.account_id, &a);
	if (rc == 0) {
		int trc = store_totp_get(txn, a.id, &t);

		totp_on = trc == 0 && t.enabled;
		if (totp_on && store_backup_get(txn, a.id, &b) == 0)
			backup_left = (int)backup_remaining(&b);
	}
	store_read_end(txn);
	if (rc == STORE_E_NOTFOUND) {
		reply_error(r, E_UNAUTHENTICATED);
		return;
	}
	if (rc != 0) {
		reply_error(r, api_error_from_store(rc));
		return;
	}
	authd_hex(a.id, AUTHD_ID_LEN, aid);
	authd_hex(r->authn.s.org_id, AUTHD_ID_LEN, oid);
	authd_time_str(a.created_at, created);
	authd_time_str(session_expires(&r->authn.s), expires);
	/* The hottest read of the API: written directly, not through jansson.
	 * Ids and times are hex and digits; email and name are escaped. */
	char email[2 * EMAIL_MAX + 8], name[6 * NAME_MAX_B + 8];
	char *text = NULL;
	int n;

	json_escape(a.email, email, sizeof(email));
	json_escape(a.name, name, sizeof(name));
	n = asprintf(&text,
		     "{\"account_id\":\"%s\",\"email\":\"%s\",\"name\":\"%s\","
		     "\"organization_id\":\"%s\",\"created_at\":\"%s\",\"two_factor\":{"
		     "\"totp\":%s,\"backup_codes_remaining\":%d},\"session\":{\"aal\":%d,"
		     "\"expires_at\":\"%s\"}}",
		     aid, email, name, oid, created, totp_on ? "true" : "false", backup_left,
		     (int)r->authn.s.aal, expires);
	if (n < 0) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json_text(r, 200, text, (size_t)n);
}

/* --- POST /1/logout ------------------------------------------------------------ */

struct logout_job {
	struct job job;
	struct req *req;
	struct token_ref session;
};

static int logout_txn(struct job *job, struct store_txn *txn)
{
	struct logout_job *j = (struct logout_job *)job;

	return store_session_del(txn, &j->session);
}

static void logout_done(struct job *job)
{
	struct logout_job *j = (struct logout_job *)job;
	struct req *r = j->req;
	char cookie[96];

	if (req_resume(r)) {
		if (job->store_rc != 0) {
			reply_error(r, api_error_from_store(job->store_rc));
		} else {
			snprintf(cookie, sizeof(cookie),
				 "%s=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
				 SESSION_COOKIE);
			req_add_header(r, "Set-Cookie", cookie);
			reply_empty(r, 204);
		}
	}
	free(j);
}

void http_logout(struct req *r)
{
	struct logout_job *j;
	json_t *body = json_body_or_reply(r, NULL, 0);

	if (body == NULL)
		return;
	json_decref(body);
	if (!session_or_reply(r))
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->session = r->authn.token;
	j->req = r;
	j->job.txn_work = logout_txn;
	j->job.done = logout_done;
	req_hold(r);
	store_write(&j->job);
}

/* --- PUT /1/me/password ------------------------------------------------------- */

struct pwchange_job {
	struct job job;
	struct req *req; /* NULL once the client has gone */
	uint8_t subject[THROTTLE_KEY_LEN];
	char current[PASSWORD_MAX_BYTES + 1];
	size_t current_len;
	char next[PASSWORD_MAX_BYTES + 1];
	size_t next_len;
	char phc[PW_HASH_MAX];
	char new_phc[PW_HASH_MAX];
	bool ok;
	int hash_rc;
	int64_t now;
	struct token_ref session;
	uint8_t account_id[AUTHD_ID_LEN];
	int api_err;
};

static void pwchange_free(struct pwchange_job *j)
{
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void pwchange_work(struct job *job)
{
	struct pwchange_job *j = (struct pwchange_job *)job;

	j->ok = password_verify(j->phc, j->current, j->current_len);
	if (j->ok)
		j->hash_rc = password_hash(j->next, j->next_len, j->new_phc, sizeof(j->new_phc));
	OPENSSL_cleanse(j->current, sizeof(j->current));
	OPENSSL_cleanse(j->next, sizeof(j->next));
}

static int pwchange_txn(struct job *job, struct store_txn *txn)
{
	struct pwchange_job *j = (struct pwchange_job *)job;
	struct account a;
	int rc;

	if (!j->ok) {
		j->api_err = E_WRONG_PASSWORD;
		return factor_record(txn, j->account_id, j->now, false);
	}
	if ((rc = store_account_get(txn, j->account_id, &a)) != 0)
		return rc;
	if (strcmp(a.pw_hash, j->phc) != 0) {
		/* Changed by another request since we verified: verify again. */
		j->api_err = E_WRONG_PASSWORD;
		return 0;
	}
	snprintf(a.pw_hash, sizeof(a.pw_hash), "%s", j->new_phc);
	a.password_changed_at = j->now;
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = factor_record(txn, j->account_id, j->now, true)) != 0)
		return rc;
	j->api_err = -1;
	/* Every other session ends, and every login waiting for its second
	 * factor: whoever knew the old password is out. */
	if ((rc = store_login_del_all(txn, j->account_id)) != 0)
		return rc;
	return store_session_del_all(txn, j->account_id, &j->session);
}

static void pwchange_written(struct job *job)
{
	struct pwchange_job *j = (struct pwchange_job *)job;
	struct req *r = j->req;

	throttle_inflight_subject(j->subject, -1);
	if (r == NULL || !req_resume(r))
		goto out;
	if (job->store_rc != 0)
		reply_error(r, api_error_from_store(job->store_rc));
	else if (j->api_err >= 0)
		reply_error(r, (enum api_error)j->api_err);
	else
		reply_empty(r, 204);
	log_info("password change outcome=%s req=%llu", j->api_err < 0 ? "success" : "failure",
		 (unsigned long long)r->id);
out:
	pwchange_free(j);
}

static void pwchange_verified(struct job *job)
{
	struct pwchange_job *j = (struct pwchange_job *)job;
	struct req *r = j->req;

	if (!req_resume(r)) {
		/* Gone: a wrong guess is still recorded; a change is not made. */
		if (j->ok) {
			throttle_inflight_subject(j->subject, -1);
			pwchange_free(j);
			return;
		}
		j->req = r = NULL;
	} else if (j->ok && j->hash_rc != 0) {
		throttle_inflight_subject(j->subject, -1);
		reply_error(r, E_INTERNAL);
		pwchange_free(j);
		return;
	}
	job->txn_work = pwchange_txn;
	job->done = pwchange_written;
	if (r)
		req_hold(r);
	store_write(job);
}

void http_password_change(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"current_password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	    {"new_password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct pwchange_job *j = NULL;
	struct store_txn *txn = NULL;
	struct account a;
	struct throttle_rec th;
	struct throttle_slot *slot;
	uint8_t key[THROTTLE_KEY_LEN];
	const char *cur, *next;
	size_t clen, nlen;
	int64_t wait = 0;
	int rc;

	if (body == NULL)
		return;
	if (!session_or_reply(r))
		goto out;
	cur = json_str(body, "current_password", &clen);
	next = json_str(body, "new_password", &nlen);
	throttle_key_factor(key, r->authn.s.account_id);
	slot = throttle_slot_subject(key);
	if (slot == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if ((rc = store_read_begin(&txn)) != 0) {
		reply_error(r, api_error_from_store(rc));
		goto out;
	}
	rc = store_account_get(txn, r->authn.s.account_id, &a);
	if (rc == 0 && (rc = store_throttle_get(txn, key, &th)) == 0)
		wait = throttle_retry_after(&th, &throttle_account_policy, authd_now(),
					    *throttle_slot_inflight(slot));
	store_read_end(txn);
	if (rc != 0) {
		reply_error(r,
			    rc == STORE_E_NOTFOUND ? E_UNAUTHENTICATED : api_error_from_store(rc));
		goto out;
	}
	if (wait > 0) {
		reply_throttled(r, wait);
		goto out;
	}
	if (!password_policy_or_reply(r, next, nlen, a.email, a.name, "new_password"))
		goto out;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	memcpy(j->current, cur, clen);
	j->current_len = clen;
	memcpy(j->next, next, nlen);
	j->next_len = nlen;
	memcpy(j->phc, a.pw_hash, sizeof(j->phc));
	memcpy(j->account_id, a.id, AUTHD_ID_LEN);
	j->session = r->authn.token;
	j->now = authd_now();
	j->req = r;
	memcpy(j->subject, key, sizeof(key));
	j->job.work = pwchange_work;
	j->job.done = pwchange_verified;
	throttle_inflight_subject(j->subject, +1);
	req_hold(r);
	async_run(&j->job);
out:
	json_wipe_decref(body);
}
