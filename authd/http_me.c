/*
 * The signed-in person's own resources: GET /1/me, POST /1/logout and
 * PUT /1/me/password (which needs the current password and ends every
 * other session of the account).
 */
#include "http.h"

#include "factors.h"
#include "flow.h"
#include "password.h"
#include "session.h"
#include "throttle.h"

#include <log.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- GET /1/me ------------------------------------------------------------------ */

struct me_flow {
	struct flow f;
	struct account a;
	bool totp_on;
	int backup_left;
};

static int me_read(struct flow *f, struct store_txn *txn)
{
	struct me_flow *m = (struct me_flow *)f;
	struct totp_rec t;
	struct backup_rec b;
	int rc = store_account_get(txn, f->session.account_id, &m->a);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_UNAUTHENTICATED; /* the account is gone */
		return 0;
	}
	if (rc != 0)
		return rc;
	rc = store_totp_get(txn, m->a.id, &t);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	m->totp_on = rc == 0 && t.enabled;
	m->backup_left = 0;
	if (m->totp_on) {
		rc = store_backup_get(txn, m->a.id, &b);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		if (rc == 0)
			m->backup_left = (int)backup_remaining(&b);
	}
	OPENSSL_cleanse(&t, sizeof(t));
	return 0;
}

static void me_reply(struct flow *f, struct req *r)
{
	struct me_flow *m = (struct me_flow *)f;
	char aid[AUTHD_ID_HEX + 1], oid[AUTHD_ID_HEX + 1];
	char created[21], expires[21];
	char email[2 * EMAIL_MAX + 8], name[6 * NAME_MAX_B + 8];
	char csrf[65] = "";
	char *text = NULL;
	int n;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(m->a.id, AUTHD_ID_LEN, aid);
	authd_hex(f->session.org_id, AUTHD_ID_LEN, oid);
	authd_time_str(m->a.created_at, created);
	authd_time_str(core_session_expires(&f->session, srv.cfg.session_idle_s), expires);
	/* The hottest read of the API: written directly, not through jansson.
	 * Ids and times are hex and digits; email and name are escaped. */
	json_escape(m->a.email, email, sizeof(email));
	json_escape(m->a.name, name, sizeof(name));
	/* A page that was reloaded has the cookie but lost the CSRF token
	 * the login answered: it reads it here (a cross-site page cannot read
	 * this answer). */
	if (f->via_cookie)
		session_csrf(f->token.hash, csrf);
	n = asprintf(
	    &text,
	    "{\"account_id\":\"%s\",\"email\":\"%s\",\"name\":\"%s\","
	    "\"organization_id\":\"%s\",\"created_at\":\"%s\",\"two_factor\":{"
	    "\"totp\":%s,\"backup_codes_remaining\":%d},\"session\":{\"aal\":%d,"
	    "\"expires_at\":\"%s\"%s%s%s%s}}",
	    aid, email, name, oid, created, m->totp_on ? "true" : "false", m->backup_left,
	    (int)f->session.aal, expires, csrf[0] ? ",\"csrf_token\":\"" : "", csrf,
	    csrf[0] ? "\"" : "",
	    (f->session.flags & SESSION_F_LOGIN_REPLACED) ? ",\"login_email_required\":true" : "");
	OPENSSL_cleanse(csrf, sizeof(csrf));
	if (n < 0) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json_text(r, 200, text, (size_t)n);
}

static void me_release(struct flow *f)
{
	struct me_flow *m = (struct me_flow *)f;

	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static const struct flow_ops me_ops = {
    .read = me_read,
    .reply = me_reply,
    .release = me_release,
};

void http_me_get(struct req *r)
{
	struct me_flow *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	flow_start(&m->f, &me_ops, r);
}

/* --- POST /1/logout ------------------------------------------------------------ */

static int logout_write(struct flow *f, struct store_txn *txn)
{
	return store_session_del(txn, &f->token);
}

static void logout_reply(struct flow *f, struct req *r)
{
	char cookie[96];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	snprintf(cookie, sizeof(cookie),
		 "%s=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0", SESSION_COOKIE);
	req_add_header(r, "Set-Cookie", cookie);
	reply_empty(r, 204);
}

/* --- POST /1/session/cookie ------------------------------------------------------ */

/*
 * A page that learned its session over the login wait WebSocket (a message
 * carries no cookie) sends it here as its Bearer credential, and gets it
 * back as the session cookie and the CSRF token: the same session, nothing
 * more than the token already gives. An API token is refused by the policy.
 */
static void cookie_reply(struct flow *f, struct req *r)
{
	struct new_token t;
	const char *text = r->authorization + 7;
	char csrf[65];
	char *body = NULL;
	int n;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (f->via_cookie || strncasecmp(r->authorization, "Bearer ", 7) != 0 ||
	    strlen(text) != AUTHD_TOKEN_B64) {
		reply_error(r, E_UNAUTHENTICATED); /* a cookie has no token to give */
		return;
	}
	memcpy(t.text, text, AUTHD_TOKEN_B64 + 1);
	t.ref = f->token;
	session_set_cookie(r, &t, csrf);
	n = asprintf(&body, "{\"csrf_token\":\"%s\"}", csrf);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	OPENSSL_cleanse(&t, sizeof(t));
	if (n < 0) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json_text(r, 200, body, (size_t)n);
}

static const struct flow_ops cookie_ops = {
    .reply = cookie_reply,
    .release = flow_bare_release,
};

void http_session_cookie(struct req *r)
{
	flow_start_bare(r, &cookie_ops);
}

static const struct flow_ops logout_ops = {
    .write = logout_write,
    .reply = logout_reply,
    .release = flow_bare_release,
};

void http_logout(struct req *r)
{
	flow_start_bare(r, &logout_ops);
}

/* --- PUT /1/me/password ------------------------------------------------------- */

struct pwchange_flow {
	struct flow f;
	uint8_t subject[THROTTLE_KEY_LEN];
	bool inflight; /* counted in the subject's attempts in flight */
	char current[PASSWORD_MAX_BYTES + 1];
	size_t current_len;
	char next[PASSWORD_MAX_BYTES + 1];
	size_t next_len;
	struct account a; /* as read before the hash */
	struct throttle_rec th;
	uint64_t read_seq;	     /* throttle_seq() when the read began */
	struct throttle_rec written; /* the factor history, as the write left it */
	bool wrote_th;
	char new_phc[PW_HASH_MAX];
	bool ok;
	int hash_rc;
};

static int pwchange_read(struct flow *f, struct store_txn *txn)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	return factor_password_read(txn, f->session.account_id, &j->a, j->subject, &j->th, &f->err);
}

static bool pwchange_check(struct flow *f, struct req *r)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	if (!password_policy_or_reply(r, j->next, j->next_len, j->a.email, j->a.name,
				      "new_password"))
		return false;
	j->inflight = factor_delay_or_reply(r, j->subject, &j->th, j->read_seq, f->now);
	return j->inflight;
}

static void pwchange_work(struct flow *f)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	j->ok = password_verify(j->a.pw_hash, j->current, j->current_len);
	if (j->ok)
		j->hash_rc = password_hash(j->next, j->next_len, j->new_phc, sizeof(j->new_phc));
	OPENSSL_cleanse(j->current, sizeof(j->current));
	OPENSSL_cleanse(j->next, sizeof(j->next));
}

static bool pwchange_worked(struct flow *f)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	if (f->req == NULL) {
		/* Gone: a wrong guess is still recorded; a change is not made. */
		f->finish_if_gone = !j->ok;
		return true;
	}
	if (j->ok && j->hash_rc != 0)
		f->err = E_INTERNAL;
	return true;
}

static int pwchange_write(struct flow *f, struct store_txn *txn)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;
	struct core_password_change c;
	const uint8_t *id = j->a.id;
	int rc;

	/* Read what the rule needs, ask it, write what it says. */
	memset(&c, 0, sizeof(c));
	c.password_ok = j->ok;
	c.verified_phc = j->a.pw_hash;
	c.new_phc = j->new_phc;
	if ((rc = factor_hist_read(txn, id, &c.hist)) != 0)
		return rc;
	rc = store_account_get(txn, id, &c.account);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	c.account_found = rc == 0;
	core_password_change_decide(&c, f->now);
	f->err = api_error_from_verdict(c.verdict);
	f->retry_after = c.retry_after;
	f->locked = c.hist.locked_now;
	memcpy(f->locked_account, id, AUTHD_ID_LEN);
	j->wrote_th = c.hist.factor_dirty;
	j->written = c.hist.factor;
	if ((rc = factor_hist_write(txn, id, &c.hist, f->now, f->ip)) == 0 && c.account_write) {
		/* Every other session ends, every login waiting for its second
		 * factor and every device link offer not yet taken: whoever
		 * knew the old password is out. (Linked devices stay: each is
		 * a second factor of its own, removed one by one.) */
		if ((rc = store_account_put(txn, &c.account)) == 0 &&
		    (rc = store_login_del_all(txn, id)) == 0 &&
		    (rc = store_link_del_all(txn, id)) == 0 &&
		    (rc = store_session_del_all(txn, id, &f->token)) == 0)
			rc = factor_event(txn, id, EVENT_PASSWORD_CHANGED, f->now, f->ip);
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return rc;
}

static void pwchange_written(struct flow *f)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	/* The outcome is durable (or failed): the attempt stops counting. */
	if (f->job.store_rc == 0 && j->wrote_th)
		throttle_subject_written(j->subject, &j->written);
	throttle_inflight_subject(j->subject, -1);
	j->inflight = false;
	if (f->job.store_rc != 0)
		log_warn("password change outcome=error store=%d", f->job.store_rc);
}

static void pwchange_reply(struct flow *f, struct req *r)
{
	/* Logged once the outcome is known: a failed write is not a change. */
	log_info("password change outcome=%s req=%llu", f->err == E_OK ? "success" : "failure",
		 (unsigned long long)r->id);
	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_empty(r, 204);
}

static void pwchange_release(struct flow *f)
{
	struct pwchange_flow *j = (struct pwchange_flow *)f;

	if (j->inflight)
		throttle_inflight_subject(j->subject, -1);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops pwchange_ops = {
    .read = pwchange_read,
    .check = pwchange_check,
    .work = pwchange_work,
    .worked = pwchange_worked,
    .write = pwchange_write,
    .written = pwchange_written,
    .reply = pwchange_reply,
    .release = pwchange_release,
};

void http_password_change(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"current_password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	    {"new_password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct pwchange_flow *j;
	const char *cur, *next;

	if (body == NULL)
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		json_wipe_decref(body);
		return;
	}
	cur = json_str(body, "current_password", &j->current_len);
	next = json_str(body, "new_password", &j->next_len);
	memcpy(j->current, cur, j->current_len);
	memcpy(j->next, next, j->next_len);
	json_wipe_decref(body);
	j->read_seq = throttle_seq();
	flow_start(&j->f, &pwchange_ops, r);
}
