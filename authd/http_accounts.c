/*
 * POST /1/accounts: sign-up. Creates the account and an organization named
 * after the person, whose legal representative they become, in one write.
 *
 * POST /1/invitations/signup {"token", "password", "name"}: the same for
 * someone invited to an organization (http_invitations.c) who has no
 * account yet: the login email is the invited address (the link sent
 * there is the proof), and the account joins the inviting organization
 * instead of getting one of its own.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"
#include "throttle.h"

#include <log.h>
#include "password.h"
#include <store.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sign-up policy of this node: the core's, with the configured figures. */
static const struct throttle_policy *signup_policy(void)
{
	static struct throttle_policy p;

	p = throttle_signup_policy;
	p.free_failures = srv.cfg.signup_burst - 1; /* then the next one waits */
	p.hourly_cap = srv.cfg.signup_per_hour;
	return &p;
}

static void inflight_add(const char *ip, int delta)
{
	struct throttle_slot *s = throttle_slot_signup(ip);

	if (s == NULL)
		return;
	if (delta > 0)
		(*throttle_slot_inflight(s))++;
	else if (*throttle_slot_inflight(s) > 0)
		(*throttle_slot_inflight(s))--;
}

struct signup_flow {
	struct flow f;
	char ip[48];
	bool inflight; /* counted in the address's sign-ups in flight */
	char pw[PASSWORD_MAX_BYTES + 1];
	size_t pw_len;
	int hash_rc;
	struct account a;
	struct org o;
	/* Through an invitation: its token's hash, and the invitation. */
	bool invited;
	uint8_t invite_hash[AUTHD_HASH_LEN];
	struct invite inv;
};

static void signup_hash(struct flow *f)
{
	struct signup_flow *j = (struct signup_flow *)f;

	j->hash_rc = password_hash(j->pw, j->pw_len, j->a.pw_hash, sizeof(j->a.pw_hash));
	OPENSSL_cleanse(j->pw, sizeof(j->pw));
}

static bool signup_hashed(struct flow *f)
{
	struct signup_flow *j = (struct signup_flow *)f;

	if (j->hash_rc != 0)
		f->err = E_INTERNAL;
	return true;
}

/* The invitation the token names, usable now (f->err otherwise); the
 * account's login email is the invited address. */
static int invite_usable(struct signup_flow *j, struct store_txn *txn)
{
	int rc = store_invite_by_token(txn, j->invite_hash, &j->inv);

	if (rc == STORE_E_NOTFOUND) {
		j->f.err = E_INVITATION_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((j->f.err = orgs_invite_error(core_invite_usable(&j->inv, j->f.now))) == E_OK)
		snprintf(j->a.email, sizeof(j->a.email), "%s", j->inv.email);
	return 0;
}

/* An invitation's sign-up reads it first: the password is checked against
 * the address, and nothing is hashed for an invitation that cannot be
 * used or an address that has an account (sign in and accept instead). */
static int invite_read(struct flow *f, struct store_txn *txn)
{
	struct signup_flow *j = (struct signup_flow *)f;
	uint8_t existing[AUTHD_ID_LEN];
	int rc;

	if ((rc = invite_usable(j, txn)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_account_by_email(txn, j->a.email, existing)) == 0)
		f->err = E_EMAIL_TAKEN;
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static bool invite_check(struct flow *f, struct req *r)
{
	struct signup_flow *j = (struct signup_flow *)f;

	return password_policy_or_reply(r, j->pw, j->pw_len, j->a.email, j->a.name, "password");
}

static int signup_write(struct flow *f, struct store_txn *txn)
{
	struct signup_flow *j = (struct signup_flow *)f;
	uint8_t existing[AUTHD_ID_LEN];
	/* The person's own organization, with every right and notice in it. */
	struct member m = {.role = ROLE_LEGAL_REPRESENTATIVE,
			   .rights = MEMBER_R_BILLING,
			   .contacts = CONTACT__ALL,
			   .since = f->now};
	int rc;

	if (j->invited && ((rc = invite_usable(j, txn)) != 0 || f->err != E_OK))
		return rc;
	rc = store_account_by_email(txn, j->a.email, existing);
	if (rc == 0) {
		f->err = E_EMAIL_TAKEN;
		return 0;
	}
	if (rc != STORE_E_NOTFOUND)
		return rc;
	if (j->invited) {
		memcpy(j->a.org_id, j->inv.org_id, AUTHD_ID_LEN);
		if ((rc = store_account_put(txn, &j->a)) != 0)
			return rc;
		return orgs_invite_accepted(f, txn, &j->inv, j->a.id);
	}
	memcpy(m.org_id, j->o.id, AUTHD_ID_LEN);
	memcpy(m.account_id, j->a.id, AUTHD_ID_LEN);
	if ((rc = store_org_put(txn, &j->o)) != 0 || (rc = store_account_put(txn, &j->a)) != 0)
		return rc;
	return store_member_put(txn, &m);
}

static void signup_reply(struct flow *f, struct req *r)
{
	struct signup_flow *j = (struct signup_flow *)f;
	char aid[AUTHD_ID_HEX + 1], oid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->a.id, AUTHD_ID_LEN, aid);
	authd_hex(j->invited ? j->inv.org_id : j->o.id, AUTHD_ID_LEN, oid);
	log_info("account created account=%s org=%s ip=%s req=%llu", aid, oid, r->ip,
		 (unsigned long long)r->id);
	reply_json(r, 201, json_pack("{s:s, s:s}", "account_id", aid, "organization_id", oid));
}

/* Every attempt counts against the address, whatever its outcome; a taken
 * email also counts like a failed login, so probing which emails have
 * accounts is no faster here than at the login. */
static void signup_written(struct flow *f)
{
	struct signup_flow *j = (struct signup_flow *)f;
	struct throttle_slot *s = throttle_slot_signup(j->ip);

	if (s)
		throttle_record_failure(throttle_slot_rec(s), signup_policy(), f->now);
	if (f->job.store_rc == 0 && f->err == E_EMAIL_TAKEN)
		throttle_ip_failure(j->ip, f->now);
}

static void signup_release(struct flow *f)
{
	struct signup_flow *j = (struct signup_flow *)f;

	if (j->inflight)
		inflight_add(j->ip, -1);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops signup_ops = {
    .work = signup_hash,
    .worked = signup_hashed,
    .write = signup_write,
    .written = signup_written,
    .reply = signup_reply,
    .release = signup_release,
};

static const struct flow_ops invite_signup_ops = {
    .read = invite_read,
    .check = invite_check,
    .work = signup_hash,
    .worked = signup_hashed,
    .write = signup_write,
    .written = signup_written,
    .reply = signup_reply,
    .release = signup_release,
};

static enum api_error verdict_error(enum password_verdict v)
{
	switch (v) {
	case PASSWORD_TOO_SHORT:
		return E_PASSWORD_TOO_SHORT;
	case PASSWORD_TOO_LONG:
		return E_PASSWORD_TOO_LONG;
	case PASSWORD_BLOCKLISTED:
		return E_PASSWORD_BLOCKLISTED;
	case PASSWORD_CONTEXT:
		return E_PASSWORD_CONTEXT;
	default:
		return E_PASSWORD_INVALID;
	}
}

bool password_policy_or_reply(struct req *r, const char *pw, size_t len, const char *email,
			      const char *name, const char *field)
{
	enum password_verdict v = password_check(pw, len, email, name);

	if (v == PASSWORD_OK)
		return true;
	reply_field_error(r, verdict_error(v), field, NULL);
	return false;
}

/* Sign-ups cost an argon2id hash each: an address gets a few, then waits
 * ([signup] burst, per_hour), and has at most [signup] inflight under way;
 * an address that fails logins waits here too. */
static bool signup_allowed_or_reply(struct req *r, int64_t now)
{
	struct throttle_slot *s = throttle_slot_signup(r->ip);
	struct throttle_slot *ip = throttle_slot_ip(r->ip);
	int64_t wait, wait_ip;

	if (s == NULL || ip == NULL) {
		reply_error(r, E_OVERLOADED);
		return false;
	}
	if (*throttle_slot_inflight(s) >= srv.cfg.signup_inflight) {
		reply_throttled(r, 1);
		return false;
	}
	wait = throttle_retry_after(throttle_slot_rec(s), signup_policy(), now, 0);
	wait_ip = throttle_retry_after(throttle_slot_rec(ip), &throttle_ip_policy, now, 0);
	if (wait_ip > wait)
		wait = wait_ip;
	if (wait > 0) {
		log_refusal(r->ip, "sign-up throttled ip=%s req=%llu", r->ip,
			    (unsigned long long)r->id);
		reply_throttled(r, wait);
		return false;
	}
	return true;
}

/* A sign-up, or (invited) one through an invitation, whose address is
 * the invited one (its token instead of an email in the body). */
static void signup_start(struct req *r, bool invited)
{
	static const struct field_spec spec[] = {
	    {"email", JSON_STRING, true, 254},
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	    {"name", JSON_STRING, true, NAME_MAX_B},
	};
	static const struct field_spec invite_spec[] = {
	    {"token", JSON_STRING, true, 64},
	    {"password", JSON_STRING, true, PASSWORD_MAX_BYTES},
	    {"name", JSON_STRING, true, NAME_MAX_B},
	};
	struct signup_flow *j = NULL;
	json_t *body = json_body_or_reply(r, invited ? invite_spec : spec, 3);
	const char *first, *pw, *name;
	size_t flen, plen, nlen;
	int64_t now = authd_now();

	if (body == NULL)
		return;
	if (!signup_allowed_or_reply(r, now))
		goto out;
	first = json_str(body, invited ? "token" : "email", &flen);
	pw = json_str(body, "password", &plen);
	name = json_str(body, "name", &nlen);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (invited && !orgs_invite_token_hash(first, flen, j->invite_hash)) {
		reply_error(r, E_INVITATION_NOT_FOUND);
		goto out;
	}
	if (!invited && authd_email_normalize(first, flen, j->a.email) != 0) {
		reply_field_error(r, E_INVALID_EMAIL, "email", NULL);
		goto out;
	}
	if (nlen == 0 || authd_utf8_count(name, nlen) > 100) {
		reply_field_error(r, E_INVALID_FIELD, "name", "must have 1 to 100 characters");
		goto out;
	}
	/* An invitation's address is known once it is read (invite_check). */
	if (!invited && !password_policy_or_reply(r, pw, plen, j->a.email, name, "password"))
		goto out;
	j->invited = invited;
	memcpy(j->a.name, name, nlen + 1);
	memcpy(j->pw, pw, plen);
	j->pw_len = plen;
	authd_random(j->a.id, AUTHD_ID_LEN);
	j->a.created_at = j->a.password_changed_at = now;
	if (!invited) { /* the person's own organization */
		memcpy(j->o.name, name, nlen + 1);
		authd_random(j->o.id, AUTHD_ID_LEN);
		memcpy(j->a.org_id, j->o.id, AUTHD_ID_LEN);
		j->o.created_at = now;
	}
	snprintf(j->ip, sizeof(j->ip), "%s", r->ip);
	inflight_add(j->ip, +1);
	j->inflight = true;
	json_wipe_decref(body);
	flow_start(&j->f, invited ? &invite_signup_ops : &signup_ops, r);
	return;
out:
	if (j)
		signup_release(&j->f);
	json_wipe_decref(body);
}

void http_accounts_create(struct req *r)
{
	signup_start(r, false);
}

void http_invitation_signup(struct req *r)
{
	signup_start(r, true);
}
