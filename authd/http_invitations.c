/*
 * Invitations to join an organization:
 *
 *   POST   /1/organizations/{org}/invitations       {"email", "role"?, "billing"?}:
 *                                                   send one (201 {"id", ...})
 *   GET    /1/organizations/{org}/invitations       the pending ones
 *   DELETE /1/organizations/{org}/invitations/{id}  withdraw one
 *   POST   /1/invitations/view                      {"token"}: what it offers
 *   POST   /1/invitations/accept                    {"token"}: join with the
 *                                                   session's account
 *
 * (A new account joins through POST /1/invitations/signup, http_accounts.c.)
 *
 * The token goes only into the email to the invited address: 256 random
 * bits, kept as their SHA-256, single use, INVITE_TTL_S (7 days). Sending
 * to an address with an invitation pending replaces it. The policy decides
 * who may invite (legal representatives and administrators; only a legal
 * representative, with a recent second factor, invites one). Every send,
 * withdrawal and acceptance is an audit record of the organization.
 */
#include "http.h"

#include "flow.h"
#include "notify.h"
#include "orgs.h"
#include "outbox.h"
#include "templates.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *invite_json(const struct invite *inv)
{
	char id[AUTHD_ID_HEX + 1], created[21], expires[21];

	authd_hex(inv->id, AUTHD_ID_LEN, id);
	authd_time_str(inv->created_at, created);
	authd_time_str(inv->expires_at, expires);
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "id", id, "email", inv->email, "role",
			 core_role_name(inv->role), "billing",
			 (inv->rights & MEMBER_R_BILLING) != 0, "created_at", created, "expires_at",
			 expires);
}

/* The organization's invitations, collected (a walk must not write). */
struct invites {
	struct invite *v;
	size_t n, cap;
};

static int invite_collect(void *arg, const struct invite *inv)
{
	struct invites *is = arg;

	if (is->n == is->cap) {
		size_t cap = is->cap ? 2 * is->cap : 16;
		void *p = realloc(is->v, cap * sizeof(*is->v));

		if (p == NULL)
			return STORE_E_IO;
		is->v = p;
		is->cap = cap;
	}
	is->v[is->n++] = *inv;
	return 0;
}

static int invites_read(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			struct invites *is)
{
	is->n = 0;
	return store_invites_list(txn, org_id, invite_collect, is);
}

/* The principal's say over the organization (and, for `legal`, over
 * making a legal representative, for `billing` over giving that right):
 * E_OK, or the refusal. */
static enum api_error org_policy(struct flow *f, struct store_txn *txn,
				 const uint8_t org_id[AUTHD_ID_LEN], bool legal, bool billing,
				 int *rc)
{
	struct policy_resource res = {.org_id = org_id, .legal = legal, .billing = billing};
	struct member me;

	if ((*rc = orgs_principal_member(f, txn, org_id, &me)) != 0)
		return E_OK;
	res.org_role = me.role;
	res.actor_billing = (me.rights & MEMBER_R_BILLING) != 0;
	return flow_decide(f, &res, E_ORG_NOT_FOUND);
}

/* --- POST /1/organizations/{org}/invitations ------------------------------------------ */

struct send_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	char email[EMAIL_MAX + 1];
	enum org_role role;
	bool billing;
	uint8_t token[ORGS_INVITE_TOKEN_LEN];
	struct invite inv; /* as written */
	struct invites is;
};

static int send_mail(struct send_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->f;
	struct org o;
	char token[ORGS_INVITE_TOKEN_B64 + 1] = "", url[600] = "", when[32],
					   by[ORGS_ACTOR_NAME_MAX];
	int rc;

	if ((rc = orgs_actor_name(f, txn, by, sizeof(by))) != 0 ||
	    (rc = store_org_get(txn, j->org_id, &o)) != 0)
		goto out;
	authd_b64url(j->token, sizeof(j->token), token);
	snprintf(url, sizeof(url), "%s/invitations/accept?token=%s", notify_base_url(), token);
	notify_time(j->inv.expires_at, when, sizeof(when));
	{
		const struct template_var vars[] = {
		    {"organization", o.name},
		    {"by", by},
		    {"role", core_role_name(j->role)},
		    {"link", url},
		    {"expires", when},
		    {"email", j->email},
		};
		const struct outbox_item it = {
		    .channel = OUTBOX_EMAIL,
		    .to = j->email,
		    .template_name = "invitation",
		    .vars = vars,
		    .nvars = sizeof(vars) / sizeof(vars[0]),
		    .now = f->now,
		};

		rc = outbox_queue(txn, &it);
	}
out:
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(url, sizeof(url));
	return rc;
}

static int send_write(struct flow *f, struct store_txn *txn)
{
	struct send_flow *j = (struct send_flow *)f;
	struct invite *inv = &j->inv;
	uint8_t account_id[AUTHD_ID_LEN];
	struct member m;
	unsigned pending = 0;
	uint8_t qkey[THROTTLE_KEY_LEN];
	struct throttle_rec quota;
	json_t *detail, *replaced = NULL;
	int rc;

	if ((f->err = org_policy(f, txn, j->org_id, j->role == ROLE_LEGAL_REPRESENTATIVE,
				 j->billing, &rc)) != E_OK ||
	    rc != 0)
		return rc;
	rc = store_account_by_email(txn, j->email, account_id);
	if (rc == 0 && (rc = store_member_get(txn, j->org_id, account_id, &m)) == 0) {
		f->err = E_ALREADY_MEMBER;
		return 0;
	}
	if (rc != STORE_E_NOTFOUND || (rc = invites_read(txn, j->org_id, &j->is)) != 0)
		return rc;
	/* Every refusal first: a refused send changes nothing. */
	for (size_t i = 0; i < j->is.n; i++)
		pending += core_invite_pending(&j->is.v[i], f->now) &&
			   strcmp(j->is.v[i].email, j->email) != 0;
	if (pending >= INVITE_PENDING_MAX) {
		f->err = E_TOO_MANY_INVITATIONS;
		return 0;
	}
	/* A day's emails: an organization sends only so many in its name. */
	throttle_key_invitations(qkey, j->org_id);
	if ((rc = store_throttle_get(txn, qkey, &quota)) != 0)
		return rc;
	if (!throttle_quota_take(&quota, INVITE_DAILY_MAX, f->now, &f->retry_after)) {
		f->err = E_TOO_MANY_MESSAGES;
		return 0;
	}
	if ((rc = store_throttle_put(txn, qkey, &quota)) != 0)
		return rc;
	/* A pending invitation to the same address is replaced (gone at once:
	 * its link answers as unknown); ended ones go once they are old (no
	 * sweeper walks them). */
	if ((replaced = json_pack("{s:b}", "replaced", true)) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; i < j->is.n && rc == 0; i++) {
		struct invite *o = &j->is.v[i];
		int64_t end = o->state == INVITE_PENDING ? o->expires_at : o->ended_at;

		if (core_invite_pending(o, f->now) && strcmp(o->email, j->email) == 0) {
			if ((rc = store_invite_del(txn, o)) == 0)
				rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_INVITATION_REVOKED,
						o->id, replaced);
		} else if (!core_invite_pending(o, f->now) && f->now - end >= INVITE_KEEP_S) {
			rc = store_invite_del(txn, o);
		}
	}
	json_decref(replaced);
	if (rc != 0)
		return rc;
	memset(inv, 0, sizeof(*inv));
	authd_random(inv->id, AUTHD_ID_LEN);
	memcpy(inv->org_id, j->org_id, AUTHD_ID_LEN);
	authd_sha256(j->token, sizeof(j->token), inv->token_hash);
	snprintf(inv->email, sizeof(inv->email), "%s", j->email);
	inv->role = j->role;
	inv->rights = j->billing ? MEMBER_R_BILLING : 0;
	memcpy(inv->inviter, f->session.account_id, AUTHD_ID_LEN);
	inv->created_at = f->now;
	inv->expires_at = f->now + INVITE_TTL_S;
	inv->state = INVITE_PENDING;
	if ((detail = json_pack("{s:s, s:s, s:b}", "email", inv->email, "role",
				core_role_name(inv->role), "billing", j->billing)) == NULL)
		return STORE_E_IO;
	if ((rc = store_invite_put(txn, inv)) == 0 &&
	    (rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_INVITATION_SENT, inv->id, detail)) == 0)
		rc = send_mail(j, txn);
	json_decref(detail);
	return rc;
}

static void send_reply(struct flow *f, struct req *r)
{
	struct send_flow *j = (struct send_flow *)f;
	char org[AUTHD_ID_HEX + 1], by[AUTHD_ID_HEX + 1], id[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->org_id, AUTHD_ID_LEN, org);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, by);
	authd_hex(j->inv.id, AUTHD_ID_LEN, id);
	log_info("invitation sent organization=%s invitation=%s by=%s role=%s req=%llu", org, id,
		 by, core_role_name(j->role), (unsigned long long)r->id);
	reply_json(r, 201, invite_json(&j->inv));
}

static void send_release(struct flow *f)
{
	struct send_flow *j = (struct send_flow *)f;

	free(j->is.v);
	OPENSSL_cleanse(j->token, sizeof(j->token));
	free(j);
}

static const struct flow_ops send_ops = {
    .write = send_write,
    .reply = send_reply,
    .release = send_release,
};

/* The organization in the path (its first segment). */
static bool org_of_path(const char *param, uint8_t org_id[AUTHD_ID_LEN])
{
	const char *slash = strchr(param, '/');
	size_t len = slash ? (size_t)(slash - param) : strlen(param);

	return authd_unhex(param, len, org_id, AUTHD_ID_LEN) == 0;
}

void http_org_invite(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"email", JSON_STRING, true, EMAIL_MAX},
	    {"role", JSON_STRING, false, 32},
	    {"billing", JSON_TRUE, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct send_flow *j = NULL;
	const char *email, *role;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	email = json_str(body, "email", &len);
	role = json_str(body, "role", NULL);
	if (!org_of_path(r->param, j->org_id)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	if (authd_email_normalize(email, len, j->email) != 0) {
		reply_field_error(r, E_INVALID_EMAIL, "email", NULL);
		goto out;
	}
	j->role = role ? core_role_parse(role) : ROLE_COLLABORATOR;
	if (j->role == 0) {
		reply_field_error(r, E_INVALID_FIELD, "role",
				  "must be legal_representative, administrator, collaborator or "
				  "external");
		goto out;
	}
	j->billing = json_is_true(json_object_get(body, "billing"));
	authd_random(j->token, sizeof(j->token));
	json_decref(body);
	flow_start(&j->f, &send_ops, r);
	return;
out:
	if (j)
		send_release(&j->f);
	json_decref(body);
}

/* --- GET /1/organizations/{org}/invitations ------------------------------------------- */

struct list_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	struct invites is;
};

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct list_flow *j = (struct list_flow *)f;
	int rc;

	if ((f->err = org_policy(f, txn, j->org_id, false, false, &rc)) != E_OK || rc != 0)
		return rc;
	if ((rc = invites_read(txn, j->org_id, &j->is)) != 0)
		return rc;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; i < j->is.n; i++)
		if (core_invite_pending(&j->is.v[i], f->now) &&
		    json_array_append_new(j->l.list, invite_json(&j->is.v[i])) != 0)
			return STORE_E_IO;
	return 0;
}

static void list_release(struct flow *f)
{
	struct list_flow *j = (struct list_flow *)f;

	free(j->is.v);
	j->is.v = NULL;
	flow_list_release(f);
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = list_release,
};

void http_org_invitations(struct req *r)
{
	struct list_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!org_of_path(r->param, j->org_id)) {
		list_release(&j->l.f);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	j->l.key = "invitations";
	flow_start(&j->l.f, &list_ops, r);
}

/* --- DELETE /1/organizations/{org}/invitations/{id} ----------------------------------- */

struct revoke_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
};

static int revoke_write(struct flow *f, struct store_txn *txn)
{
	struct revoke_flow *j = (struct revoke_flow *)f;
	struct invite inv;
	int rc;

	if ((f->err = org_policy(f, txn, j->org_id, false, false, &rc)) != E_OK || rc != 0)
		return rc;
	if ((rc = store_invite_get(txn, j->org_id, j->id, &inv)) == STORE_E_NOTFOUND) {
		f->err = E_INVITATION_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((f->err = orgs_invite_error(core_invite_usable(&inv, f->now))) != E_OK)
		return 0;
	inv.state = INVITE_REVOKED;
	inv.ended_at = f->now;
	if ((rc = store_invite_put(txn, &inv)) != 0)
		return rc;
	return orgs_audit(f, txn, j->org_id, NULL, AUDIT_INVITATION_REVOKED, inv.id, NULL);
}

static void plain_release(struct flow *f)
{
	free(f);
}

static const struct flow_ops revoke_ops = {
    .write = revoke_write,
    .release = plain_release,
};

void http_org_invitation_revoke(struct req *r)
{
	const char *slash = strchr(r->param, '/');
	struct revoke_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!org_of_path(r->param, j->org_id) || slash == NULL ||
	    authd_unhex(slash + 1, strlen(slash + 1), j->id, AUTHD_ID_LEN) != 0) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &revoke_ops, r);
}

/* --- POST /1/invitations/view and /1/invitations/accept -------------------------------- */

struct token_flow {
	struct flow f;
	uint8_t hash[AUTHD_HASH_LEN];
	struct invite inv;
	char org_name[NAME_MAX_B + 1];
	char by[NAME_MAX_B + 1];
	bool account_exists;
};

/* The invitation the token names, usable now; f->err otherwise. */
static int token_invite(struct token_flow *j, struct store_txn *txn)
{
	int rc = store_invite_by_token(txn, j->hash, &j->inv);

	if (rc == STORE_E_NOTFOUND) {
		j->f.err = E_INVITATION_NOT_FOUND;
		return 0;
	}
	if (rc == 0)
		j->f.err = orgs_invite_error(core_invite_usable(&j->inv, j->f.now));
	return rc;
}

/* The organization's token that sent an invitation, if it is one. */
struct token_find {
	const uint8_t *id;
	char *name;
	size_t size;
};

static int token_find_one(void *arg, const struct api_token *tok)
{
	struct token_find *tf = arg;

	if (memcmp(tok->id, tf->id, AUTHD_ID_LEN) != 0)
		return 0;
	snprintf(tf->name, tf->size, "API token \"%s\"", tok->name);
	return 1;
}

static int view_read(struct flow *f, struct store_txn *txn)
{
	struct token_flow *j = (struct token_flow *)f;
	uint8_t id[AUTHD_ID_LEN];
	struct account by;
	struct org o;
	int rc;

	if ((rc = token_invite(j, txn)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_org_get(txn, j->inv.org_id, &o)) != 0)
		return rc;
	snprintf(j->org_name, sizeof(j->org_name), "%s", o.name);
	j->by[0] = '\0';
	if ((rc = store_account_get(txn, j->inv.inviter, &by)) == 0) {
		snprintf(j->by, sizeof(j->by), "%s", by.name);
		OPENSSL_cleanse(by.pw_hash, sizeof(by.pw_hash));
	} else if (rc == STORE_E_NOTFOUND) {
		/* Not an account: one of the organization's tokens, maybe (as
		 * its mail named it). */
		struct token_find tf = {j->inv.inviter, j->by, sizeof(j->by)};

		rc = store_tokens_list(txn, j->inv.org_id, token_find_one, &tf);
		if (rc < 0)
			return rc;
	} else {
		return rc;
	}
	/* The holder of the token owns the address: whether it has an
	 * account here is theirs to know (sign in, or sign up). */
	rc = store_account_by_email(txn, j->inv.email, id);
	j->account_exists = rc == 0;
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static void view_reply(struct flow *f, struct req *r)
{
	struct token_flow *j = (struct token_flow *)f;
	char org[AUTHD_ID_HEX + 1], expires[21];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->inv.org_id, AUTHD_ID_LEN, org);
	authd_time_str(j->inv.expires_at, expires);
	reply_json(r, 200,
		   json_pack("{s:{s:s, s:s}, s:s, s:s, s:b, s:s?, s:s, s:b}", "organization", "id",
			     org, "name", j->org_name, "email", j->inv.email, "role",
			     core_role_name(j->inv.role), "billing",
			     (j->inv.rights & MEMBER_R_BILLING) != 0, "invited_by",
			     j->by[0] ? j->by : NULL, "expires_at", expires, "account_exists",
			     j->account_exists));
}

static const struct flow_ops view_ops = {
    .read = view_read,
    .reply = view_reply,
    .release = plain_release,
};

static int accept_write(struct flow *f, struct store_txn *txn)
{
	struct token_flow *j = (struct token_flow *)f;
	struct member m;
	struct account a;
	int rc;

	if ((rc = token_invite(j, txn)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_account_get(txn, f->session.account_id, &a)) != 0)
		return rc;
	OPENSSL_cleanse(a.pw_hash, sizeof(a.pw_hash));
	/* The invited address's owner: the account whose login it is. */
	if (strcmp(a.email, j->inv.email) != 0) {
		f->err = E_INVITATION_OTHER_EMAIL;
		return 0;
	}
	if ((rc = store_member_get(txn, j->inv.org_id, a.id, &m)) == 0) {
		f->err = E_ALREADY_MEMBER;
		return 0;
	}
	if (rc != STORE_E_NOTFOUND)
		return rc;
	return orgs_invite_accepted(f, txn, &j->inv, a.id);
}

static void accept_reply(struct flow *f, struct req *r)
{
	struct token_flow *j = (struct token_flow *)f;
	char org[AUTHD_ID_HEX + 1], aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->inv.org_id, AUTHD_ID_LEN, org);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
	log_info("invitation accepted organization=%s account=%s req=%llu", org, aid,
		 (unsigned long long)r->id);
	reply_json(
	    r, 200,
	    json_pack("{s:s, s:s}", "organization_id", org, "role", core_role_name(j->inv.role)));
}

static const struct flow_ops accept_ops = {
    .write = accept_write,
    .reply = accept_reply,
    .release = plain_release,
};

static void token_start(struct req *r, const struct flow_ops *ops)
{
	static const struct field_spec spec[] = {
	    {"token", JSON_STRING, true, 64},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct token_flow *j;
	const char *token;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_wipe_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	token = json_str(body, "token", &len);
	if (!orgs_invite_token_hash(token, len, j->hash)) {
		json_wipe_decref(body);
		free(j);
		reply_error(r, E_INVITATION_NOT_FOUND);
		return;
	}
	json_wipe_decref(body);
	flow_start(&j->f, ops, r);
}

void http_invitation_view(struct req *r)
{
	token_start(r, &view_ops);
}

void http_invitation_accept(struct req *r)
{
	token_start(r, &accept_ops);
}
