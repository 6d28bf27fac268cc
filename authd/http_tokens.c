/*
 * API tokens (OAuth 2 bearer tokens, RFC 6750), a person's and an
 * organization's:
 *
 *   POST   /1/me/tokens       {"name", "scopes": [...], "expires_in"?}: a new
 *                             token, shown once (201 {"id", "token", ...})
 *   GET    /1/me/tokens       the account's tokens, with their last use
 *   DELETE /1/me/tokens/{id}  revoke one, at once on every node
 *   POST   /1/organizations/{org}/tokens, GET the same,
 *   DELETE /1/organizations/{org}/tokens/{id}
 *                             the same for the organization's tokens, by
 *                             its legal representatives and administrators
 *
 * A person's token acts as its account in the organization that was the
 * session's current one; an organization's acts as an administrator of
 * that organization only (organizations:* scopes), whoever made it. Both
 * act within their scopes (core.h's enum api_scope) and are never a proof
 * of presence: the policy keeps them from passwords, second factors,
 * recovery options, legal representatives and tokens. Making one needs a
 * recent sign-in; its text (256 random bits) is kept only as its SHA-256
 * and never logged. Each is an audit record of its organization.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_SECRET_LEN 32
#define TOKEN_TEXT_MAX	 (sizeof(API_TOKEN_PREFIX) - 1 + 43)

static json_t *scopes_json(unsigned scopes)
{
	json_t *list = json_array();

	for (unsigned s = 1; list && s < SCOPE__ALL; s <<= 1)
		if (scopes & s)
			json_array_append_new(list, json_string(core_scope_name(s)));
	return list;
}

static json_t *token_json(const struct api_token *tok)
{
	char id[AUTHD_ID_HEX + 1], org[AUTHD_ID_HEX + 1], by[AUTHD_ID_HEX + 1], created[21],
	    expires[21], used[21];

	authd_hex(tok->id, AUTHD_ID_LEN, id);
	authd_hex(tok->org_id, AUTHD_ID_LEN, org);
	authd_time_str(tok->created_at, created);
	authd_time_str(tok->expires_at, expires);
	authd_time_str(tok->last_used_at, used);
	authd_hex(tok->created_by, AUTHD_ID_LEN, by);
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s?, s:s?}", "id", id, "name", tok->name,
			 "scopes", scopes_json(tok->scopes), "organization_id", org, "created_by",
			 by, "created_at", created, "expires_at", tok->expires_at ? expires : NULL,
			 "last_used_at", tok->last_used_at ? used : NULL);
}

/* The account's tokens, collected. */
struct tokens {
	struct api_token v[API_TOKENS_MAX];
	size_t n;
};

static int token_collect(void *arg, const struct api_token *tok)
{
	struct tokens *ts = arg;

	if (ts->n < API_TOKENS_MAX)
		ts->v[ts->n] = *tok;
	ts->n++;
	return 0;
}

/*
 * Whose tokens a request is about, into owner: the session's account, or
 * the organization in the path (org, non-NULL) after the policy on the
 * principal's role there (a refusal in f->err). 0 or STORE_E_*.
 */
static int owner_of(struct flow *f, struct store_txn *txn, const uint8_t *org,
		    uint8_t owner[AUTHD_ID_LEN])
{
	if (org == NULL) {
		memcpy(owner, f->session.account_id, AUTHD_ID_LEN);
		return 0;
	}
	memcpy(owner, org, AUTHD_ID_LEN);
	return orgs_member_gate(f, txn, org);
}

/* --- POST /1/me/tokens, /1/organizations/{org}/tokens ------------------------------- */

struct create_flow {
	struct flow f;
	char text[TOKEN_TEXT_MAX + 1]; /* shown once, then wiped */
	struct api_token tok;
	struct tokens ts;
	int64_t expires_in;
	bool for_org;
	uint8_t org_id[AUTHD_ID_LEN]; /* with for_org */
};

static int create_write(struct flow *f, struct store_txn *txn)
{
	struct create_flow *j = (struct create_flow *)f;
	json_t *detail;
	int rc;

	j->ts.n = 0;
	if ((rc = owner_of(f, txn, j->for_org ? j->org_id : NULL, j->tok.account_id)) != 0 ||
	    f->err != E_OK)
		return rc;
	if ((rc = store_tokens_list(txn, j->tok.account_id, token_collect, &j->ts)) != 0)
		return rc;
	if (j->ts.n >= API_TOKENS_MAX) {
		f->err = E_TOO_MANY_TOKENS;
		return 0;
	}
	memcpy(j->tok.org_id, j->for_org ? j->org_id : f->session.org_id, AUTHD_ID_LEN);
	memcpy(j->tok.created_by, f->session.account_id, AUTHD_ID_LEN);
	j->tok.created_at = f->now;
	j->tok.expires_at = j->expires_in ? f->now + j->expires_in : 0;
	if ((detail = json_pack("{s:s, s:o}", "name", j->tok.name, "scopes",
				scopes_json(j->tok.scopes))) == NULL)
		return STORE_E_IO;
	if ((rc = store_token_put(txn, &j->tok)) == 0)
		rc =
		    orgs_audit(f, txn, j->tok.org_id, NULL, AUDIT_TOKEN_CREATED, j->tok.id, detail);
	json_decref(detail);
	return rc;
}

static void create_reply(struct flow *f, struct req *r)
{
	struct create_flow *j = (struct create_flow *)f;
	char id[AUTHD_ID_HEX + 1], owner[AUTHD_ID_HEX + 1], by[AUTHD_ID_HEX + 1];
	json_t *o;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->tok.id, AUTHD_ID_LEN, id);
	authd_hex(j->tok.account_id, AUTHD_ID_LEN, owner);
	authd_hex(j->tok.created_by, AUTHD_ID_LEN, by);
	log_info("api token created %s=%s by=%s token_id=%s scopes=%u req=%llu",
		 j->for_org ? "organization" : "account", owner, by, id, j->tok.scopes,
		 (unsigned long long)r->id);
	o = token_json(&j->tok);
	if (o == NULL || json_object_set_new(o, "token", json_string(j->text)) != 0) {
		json_decref(o);
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json(r, 201, o);
}

static void create_release(struct flow *f)
{
	struct create_flow *j = (struct create_flow *)f;

	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops create_ops = {
    .write = create_write,
    .reply = create_reply,
    .release = create_release,
};

/* The scopes of a new token: a non-empty array of known names (of the
 * organization's area only, for_org). */
static bool scopes_or_reply(struct req *r, json_t *list, bool for_org, unsigned *out)
{
	size_t i;
	json_t *v;

	*out = 0;
	json_array_foreach(list, i, v)
	{
		unsigned s = json_is_string(v) ? core_scope_parse(json_string_value(v)) : 0;

		if (s == 0) {
			reply_field_error(r, E_INVALID_FIELD, "scopes",
					  "must list account:read, account:write, "
					  "organizations:read, organizations:write, billing:read "
					  "or billing:write");
			return false;
		}
		*out |= s;
	}
	if (*out == 0) {
		reply_field_error(r, E_INVALID_FIELD, "scopes", "must name at least one scope");
		return false;
	}
	if (for_org && (*out & ~(unsigned)SCOPE_ORG_TOKEN)) {
		reply_field_error(r, E_INVALID_FIELD, "scopes",
				  "an organization's token takes organizations:read or "
				  "organizations:write only");
		return false;
	}
	return true;
}

static void create(struct req *r, bool for_org)
{
	static const struct field_spec spec[] = {
	    {"name", JSON_STRING, true, API_TOKEN_NAME_MAX},
	    {"scopes", JSON_ARRAY, true, 0},
	    {"expires_in", JSON_INTEGER, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct create_flow *j = NULL;
	uint8_t secret[TOKEN_SECRET_LEN];
	char b64[44];
	const char *name;
	size_t nlen;
	json_t *exp;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if ((j->for_org = for_org) && !req_path_ids(r->param, j->org_id, NULL)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	name = json_str(body, "name", &nlen);
	if (nlen == 0 || !authd_utf8_printable(name, nlen)) {
		reply_field_error(r, E_INVALID_FIELD, "name", "must be 1 to 64 bytes of text");
		goto out;
	}
	if (!scopes_or_reply(r, json_object_get(body, "scopes"), for_org, &j->tok.scopes))
		goto out;
	if ((exp = json_object_get(body, "expires_in")) != NULL) {
		j->expires_in = (int64_t)json_integer_value(exp);
		if (j->expires_in < 60 || j->expires_in > API_TOKEN_EXPIRES_MAX) {
			reply_field_error(r, E_INVALID_FIELD, "expires_in",
					  "must be 60 to 63072000 seconds");
			goto out;
		}
	}
	memcpy(j->tok.name, name, nlen);
	authd_random(j->tok.id, AUTHD_ID_LEN);
	authd_random(secret, sizeof(secret));
	authd_b64url(secret, sizeof(secret), b64);
	snprintf(j->text, sizeof(j->text), "%s%s", API_TOKEN_PREFIX, b64);
	authd_sha256(j->text, strlen(j->text), j->tok.hash);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(b64, sizeof(b64));
	json_decref(body);
	flow_start(&j->f, &create_ops, r);
	return;
out:
	if (j)
		create_release(&j->f);
	json_decref(body);
}

void http_tokens_create(struct req *r)
{
	create(r, false);
}

void http_org_tokens_create(struct req *r)
{
	create(r, true);
}

/* --- GET /1/me/tokens, /1/organizations/{org}/tokens --------------------------------- */

struct list_flow {
	struct flow_list l;
	struct tokens ts;
	bool for_org;
	uint8_t org_id[AUTHD_ID_LEN];
};

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct list_flow *j = (struct list_flow *)f;
	uint8_t owner[AUTHD_ID_LEN];
	int rc;

	j->ts.n = 0;
	if ((rc = owner_of(f, txn, j->for_org ? j->org_id : NULL, owner)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_tokens_list(txn, owner, token_collect, &j->ts)) != 0)
		return rc;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; i < j->ts.n && i < API_TOKENS_MAX; i++)
		if (json_array_append_new(j->l.list, token_json(&j->ts.v[i])) != 0)
			return STORE_E_IO;
	return 0;
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

static void list(struct req *r, bool for_org)
{
	struct list_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if ((j->for_org = for_org) && !req_path_ids(r->param, j->org_id, NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	j->l.key = "tokens";
	flow_start(&j->l.f, &list_ops, r);
}

void http_tokens_list(struct req *r)
{
	list(r, false);
}

void http_org_tokens_list(struct req *r)
{
	list(r, true);
}

/* --- DELETE /1/me/tokens/{id} -------------------------------------------------------- */

struct revoke_flow {
	struct flow f;
	uint8_t id[AUTHD_ID_LEN];
	struct tokens ts;
	bool for_org;
	uint8_t org_id[AUTHD_ID_LEN];
};

static int revoke_write(struct flow *f, struct store_txn *txn)
{
	struct revoke_flow *j = (struct revoke_flow *)f;
	const struct api_token *tok = NULL;
	uint8_t owner[AUTHD_ID_LEN];
	int rc;

	j->ts.n = 0;
	if ((rc = owner_of(f, txn, j->for_org ? j->org_id : NULL, owner)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_tokens_list(txn, owner, token_collect, &j->ts)) != 0)
		return rc;
	for (size_t i = 0; i < j->ts.n && i < API_TOKENS_MAX; i++)
		if (memcmp(j->ts.v[i].id, j->id, AUTHD_ID_LEN) == 0)
			tok = &j->ts.v[i];
	if (tok == NULL) {
		f->err = E_TOKEN_NOT_FOUND;
		return 0;
	}
	if ((rc = store_token_del(txn, owner, j->id)) != 0)
		return rc;
	/* What an organization's token set going (its pending invitations)
	 * goes with it, as with a member who leaves. */
	if (j->for_org && (rc = orgs_member_forget(txn, j->org_id, j->id, f->now)) != 0)
		return rc;
	return orgs_audit(f, txn, tok->org_id, NULL, AUDIT_TOKEN_REVOKED, tok->id, NULL);
}

static void revoke_release(struct flow *f)
{
	struct revoke_flow *j = (struct revoke_flow *)f;

	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops revoke_ops = {
    .write = revoke_write,
    .release = revoke_release,
};

static void revoke(struct req *r, bool for_org)
{
	struct revoke_flow *j;
	enum api_error err = E_OK;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if ((j->for_org = for_org) && !req_path_ids(r->param, j->org_id, j->id))
		err = req_path_ids(r->param, j->org_id, NULL) ? E_TOKEN_NOT_FOUND : E_ORG_NOT_FOUND;
	else if (!for_org && authd_unhex(r->param, strlen(r->param), j->id, AUTHD_ID_LEN) != 0)
		err = E_TOKEN_NOT_FOUND;
	if (err != E_OK) {
		free(j);
		reply_error(r, err);
		return;
	}
	flow_start(&j->f, &revoke_ops, r);
}

void http_token_revoke(struct req *r)
{
	revoke(r, false);
}

void http_org_token_revoke(struct req *r)
{
	revoke(r, true);
}
