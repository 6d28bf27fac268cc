/*
 * The person's organizations:
 *
 *   GET /1/organizations          those the session's account belongs to,
 *                                 with its role in each and which one is
 *                                 the session's current
 *   PUT /1/session/organization   {"organization_id"}: the current one,
 *                                 switched at once (no new login, no new
 *                                 second factor)
 *
 * (Its people are http_members.c's.) With an API token, only the token's
 * organization is listed.
 * Whether the account belongs to the organization asked for is the
 * policy's question (a resource with the account's role there): an
 * organization it is not in answers as one that does not exist.
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

#define ORGS_MAX 256 /* organizations one account lists */

struct orgs_flow {
	struct flow_list l;
	struct member m[ORGS_MAX];
	unsigned n;
	/* the switch: the organization asked for, and the account's role there */
	uint8_t org_id[AUTHD_ID_LEN];
	enum org_role role;
};

static int membership_one(void *arg, const struct member *m)
{
	struct orgs_flow *j = arg;

	if (j->n < ORGS_MAX)
		j->m[j->n++] = *m;
	return 0;
}

static int memberships_read(struct orgs_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->l.f;
	int rc;

	j->n = 0;
	if (!f->via_token)
		return store_memberships_list(txn, f->session.account_id, membership_one, j);
	/* A token acts in its one organization: the others are not its to
	 * see. */
	if ((rc = orgs_principal_member(f, txn, f->session.org_id, &j->m[0])) == 0 &&
	    j->m[0].role != 0)
		j->n = 1;
	return rc;
}

/* --- GET /1/organizations ----------------------------------------------------------- */

/* What the console asks of each organization in the list: the acts the
 * policy allows this principal there (a page shows what is allowed; its
 * scripts hold no rule of their own). A recent proof still needed counts
 * as allowed: the page asks for it when the act is tried. */
static const enum policy_action console_acts[] = {
    ACT_ORG_MEMBERS_READ,  ACT_ORG_MEMBER_CHANGE,  ACT_ORG_MEMBER_REMOVE, ACT_ORG_AUDIT_READ,
    ACT_ORG_INVITE,	   ACT_ORG_INVITES_READ,   ACT_ORG_PRODUCTS_READ, ACT_ORG_PRODUCT_MANAGE,
    ACT_ORG_GRANTS_READ,   ACT_ORG_GRANT_MANAGE,   ACT_ORG_TEAMS_READ,	  ACT_ORG_TEAM_MANAGE,
    ACT_ORG_PARTNERS_READ, ACT_ORG_PARTNER_ADD,	   ACT_ORG_PARTNER_END,	  ACT_ORG_TOKENS_READ,
    ACT_ORG_TOKEN_CREATE,  ACT_ORG_SUPPORT_READ,   ACT_ORG_SUPPORT_GRANT, ACT_ORG_SUPPORT_REVOKE,
    ACT_ORG_BILLING_READ,  ACT_ORG_BILLING_MANAGE,
};

static json_t *allowed_json(struct flow *f, const struct member *m)
{
	json_t *list = json_array();
	struct policy_resource res = {
	    .org_id = m->org_id,
	    .org_role = m->role,
	    .actor_billing = (m->rights & MEMBER_R_BILLING) != 0,
	};

	for (size_t i = 0; list && i < sizeof(console_acts) / sizeof(console_acts[0]); i++) {
		enum policy_decision d = flow_decide_act(f, console_acts[i], &res);

		if (d == POLICY_ALLOW || d == POLICY_DENY_REAUTH)
			json_array_append_new(list,
					      json_string(policy_action_name(console_acts[i])));
	}
	return list;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct orgs_flow *j = (struct orgs_flow *)f;
	int rc = memberships_read(j, txn);

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	for (unsigned i = 0; rc == 0 && i < j->n; i++) {
		char id[AUTHD_ID_HEX + 1];
		struct org o;

		if ((rc = store_org_get(txn, j->m[i].org_id, &o)) == STORE_E_NOTFOUND) {
			rc = 0; /* deleted meanwhile */
			continue;
		}
		if (rc != 0)
			break;
		authd_hex(o.id, AUTHD_ID_LEN, id);
		json_array_append_new(
		    j->l.list, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:o}", "id", id, "name",
					 o.name, "role", core_role_name(j->m[i].role), "external",
					 j->m[i].role == ROLE_EXTERNAL, "billing",
					 (j->m[i].rights & MEMBER_R_BILLING) != 0, "current",
					 memcmp(o.id, f->session.org_id, AUTHD_ID_LEN) == 0,
					 "allowed", allowed_json(f, &j->m[i])));
	}
	return rc;
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

void http_orgs_list(struct req *r)
{
	struct orgs_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	j->l.key = "organizations";
	flow_start(&j->l.f, &list_ops, r);
}

/* --- PUT /1/session/organization --------------------------------------------------- */

static int switch_write(struct flow *f, struct store_txn *txn)
{
	struct orgs_flow *j = (struct orgs_flow *)f;
	struct policy_resource res = {.org_id = j->org_id};
	int rc = memberships_read(j, txn);

	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < j->n; i++)
		if (memcmp(j->m[i].org_id, j->org_id, AUTHD_ID_LEN) == 0)
			res.org_role = j->m[i].role;
	if (flow_decide(f, &res, E_ORG_NOT_FOUND) != E_OK) {
		f->err = E_ORG_NOT_FOUND;
		return 0;
	}
	j->role = res.org_role;
	memcpy(f->session.org_id, j->org_id, AUTHD_ID_LEN);
	return store_session_put(txn, &f->token, &f->session);
}

static void switch_reply(struct flow *f, struct req *r)
{
	struct orgs_flow *j = (struct orgs_flow *)f;
	char id[AUTHD_ID_HEX + 1], aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->org_id, AUTHD_ID_LEN, id);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
	log_info("session organization switched account=%s organization=%s req=%llu", aid, id,
		 (unsigned long long)r->id);
	reply_json(r, 200,
		   json_pack("{s:s, s:s}", "organization_id", id, "role", core_role_name(j->role)));
}

static const struct flow_ops switch_ops = {
    .write = switch_write,
    .reply = switch_reply,
    .release = flow_list_release,
};

void http_session_org_switch(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"organization_id", JSON_STRING, true, 64},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct orgs_flow *j;
	const char *id;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	id = json_str(body, "organization_id", &len);
	if (authd_unhex(id, len, j->org_id, AUTHD_ID_LEN) != 0) {
		json_decref(body);
		flow_list_release(&j->l.f);
		reply_error(r, E_ORG_NOT_FOUND); /* no such id can name one */
		return;
	}
	json_decref(body);
	flow_start(&j->l.f, &switch_ops, r);
}
