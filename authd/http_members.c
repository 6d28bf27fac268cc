/*
 * An organization's people:
 *
 *   GET    /1/organizations/{org}/members              who is in it, their role,
 *                                                      rights and notices
 *   PATCH  /1/organizations/{org}/members/{account_id} {"role"?, "billing"?,
 *                                                      "contacts"?}: change them
 *   DELETE /1/organizations/{org}/members/{account_id} remove a member, or leave
 *
 * Who may is the policy's question (core/policy.c), asked with the actor's
 * role there: legal representatives and administrators manage people,
 * anyone may leave, and only a legal representative with a recent second
 * factor acts on a legal representative or makes one. The organization's
 * own rule (core_member_change_keeps_rep) keeps its last legal
 * representative. Every change is an audit record and a summary email to
 * the member, in the same commit.
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

/* The organization, and the member when the path names one. */
static bool path_ids(const char *param, uint8_t org_id[AUTHD_ID_LEN],
		     uint8_t account_id[AUTHD_ID_LEN])
{
	const char *slash = strchr(param, '/');
	size_t len = slash ? (size_t)(slash - param) : strlen(param);

	if (authd_unhex(param, len, org_id, AUTHD_ID_LEN) != 0)
		return false;
	return account_id == NULL ||
	       (slash && authd_unhex(slash + 1, strlen(slash + 1), account_id, AUTHD_ID_LEN) == 0);
}

/* --- GET /1/organizations/{org}/members ----------------------------------------------- */

struct members_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	struct store_txn *txn; /* the read's, while it lists */
};

/* One member into the list, with the account's email and name. */
static int member_one(void *arg, const struct member *m)
{
	struct members_flow *j = arg;
	struct account a;
	json_t *o;
	int rc = store_account_get(j->txn, m->account_id, &a);

	if (rc == STORE_E_NOTFOUND)
		return 0; /* closed meanwhile */
	if (rc != 0)
		return rc;
	if ((o = orgs_member_json(m)) == NULL ||
	    json_object_set_new(o, "email", json_string(a.email)) != 0 ||
	    json_object_set_new(o, "name", json_string(a.name)) != 0 ||
	    json_array_append_new(j->l.list, o) != 0)
		rc = STORE_E_IO;
	OPENSSL_cleanse(a.pw_hash, sizeof(a.pw_hash));
	return rc;
}

static int members_read(struct flow *f, struct store_txn *txn)
{
	struct members_flow *j = (struct members_flow *)f;
	struct policy_resource res = {.org_id = j->org_id};
	struct member me;
	int rc;

	if ((rc = orgs_principal_member(f, txn, j->org_id, &me)) != 0)
		return rc;
	res.org_role = me.role;
	/* Who may see the people: the policy, with the reader's role there. */
	if ((f->err = flow_decide(f, &res, E_ORG_NOT_FOUND)) != E_OK)
		return 0;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	j->txn = txn;
	rc = store_members_list(txn, j->org_id, member_one, j);
	j->txn = NULL;
	return rc;
}

static const struct flow_ops members_ops = {
    .read = members_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

void http_org_members(struct req *r)
{
	struct members_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!path_ids(r->param, j->org_id, NULL)) {
		flow_list_release(&j->l.f);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	j->l.key = "members";
	flow_start(&j->l.f, &members_ops, r);
}

/* --- PATCH and DELETE /1/organizations/{org}/members/{account_id} ---------------------- */

struct member_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	bool remove;
	/* What the request asks (PATCH): each field only when given. */
	bool set_role, set_billing, set_contacts;
	enum org_role role;
	bool billing;
	unsigned contacts;
	/* The member as written, and whether anything changed. */
	struct member m;
	bool changed;
};

static int count_rep(void *arg, const struct member *m)
{
	unsigned *reps = arg;

	*reps += m->role == ROLE_LEGAL_REPRESENTATIVE;
	return 0;
}

/* What changed from `was` to `now`, for the audit trail. */
static json_t *change_detail(const struct member *was, const struct member *now)
{
	json_t *d = json_object();
	json_t *member = orgs_member_json(now);

	if (d == NULL || member == NULL)
		goto fail;
	if (was->role != now->role &&
	    (json_object_set(d, "role", json_object_get(member, "role")) != 0 ||
	     json_object_set_new(d, "previous_role", json_string(core_role_name(was->role))) != 0))
		goto fail;
	if (was->rights != now->rights &&
	    json_object_set(d, "billing", json_object_get(member, "billing")) != 0)
		goto fail;
	if (was->contacts != now->contacts &&
	    json_object_set(d, "contacts", json_object_get(member, "contacts")) != 0)
		goto fail;
	json_decref(member);
	return d;
fail:
	json_decref(member);
	json_decref(d);
	return NULL;
}

static int member_write(struct flow *f, struct store_txn *txn)
{
	struct member_flow *j = (struct member_flow *)f;
	struct policy_resource res = {.org_id = j->org_id};
	struct member me, was, now;
	enum org_role to;
	unsigned reps = 0;
	json_t *detail = NULL;
	int rc;

	j->changed = false;
	if ((rc = orgs_principal_member(f, txn, j->org_id, &me)) != 0)
		return rc;
	res.org_role = me.role;
	res.self = memcmp(j->account_id, f->session.account_id, AUTHD_ID_LEN) == 0;
	if ((rc = store_member_get(txn, j->org_id, j->account_id, &was)) == STORE_E_NOTFOUND) {
		/* The organization alone first: one the actor is not in is
		 * told as absent, whoever the path names. */
		f->err = flow_decide(f, &res, E_ORG_NOT_FOUND);
		if (f->err == E_OK)
			f->err = E_MEMBER_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	now = was;
	if (j->set_role)
		now.role = j->role;
	if (j->set_billing)
		now.rights =
		    j->billing ? now.rights | MEMBER_R_BILLING : now.rights & ~MEMBER_R_BILLING;
	if (j->set_contacts)
		now.contacts = j->contacts;
	to = j->remove ? (enum org_role)0 : now.role;
	/* Acting on a legal representative, or making one; giving billing. */
	res.legal = was.role == ROLE_LEGAL_REPRESENTATIVE || to == ROLE_LEGAL_REPRESENTATIVE;
	res.billing = (now.rights & MEMBER_R_BILLING) && !(was.rights & MEMBER_R_BILLING);
	res.actor_billing = (me.rights & MEMBER_R_BILLING) != 0;
	if ((f->err = flow_decide(f, &res, E_ORG_NOT_FOUND)) != E_OK)
		return 0;
	if (was.role == ROLE_LEGAL_REPRESENTATIVE && to != ROLE_LEGAL_REPRESENTATIVE) {
		if ((rc = store_members_list(txn, j->org_id, count_rep, &reps)) != 0)
			return rc;
		if (!core_member_change_keeps_rep(reps, was.role, to)) {
			f->err = E_LAST_LEGAL_REP;
			return 0;
		}
	}
	j->m = now;
	if (j->remove) {
		if ((rc = store_member_del(txn, j->org_id, j->account_id)) != 0 ||
		    (rc = orgs_member_forget(txn, j->org_id, j->account_id, f->now)) != 0 ||
		    (rc = orgs_made_tokens_revoke(f, txn, j->org_id, j->account_id, NULL,
						  res.self ? "maker_left" : "maker_removed")) !=
			0 ||
		    (rc = orgs_audit(f, txn, j->org_id, NULL,
				     res.self ? AUDIT_MEMBER_LEFT : AUDIT_MEMBER_REMOVED,
				     j->account_id, NULL)) != 0)
			return rc;
		j->changed = true;
		return orgs_member_notice(f, txn, j->org_id, j->account_id, NULL);
	}
	if (now.role == was.role && now.rights == was.rights && now.contacts == was.contacts)
		return 0; /* nothing to record or tell */
	if ((detail = change_detail(&was, &now)) == NULL)
		return STORE_E_IO;
	if ((rc = store_member_put(txn, &now)) == 0 &&
	    (rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_MEMBER_CHANGED, j->account_id,
			     detail)) == 0 &&
	    (rc = orgs_member_notice(f, txn, j->org_id, j->account_id, &now)) == 0 &&
	    core_role_manages(was.role) && !core_role_manages(now.role))
		rc = orgs_made_tokens_revoke(f, txn, j->org_id, j->account_id, NULL,
					     "maker_demoted");
	json_decref(detail);
	j->changed = rc == 0;
	return rc;
}

static void member_reply(struct flow *f, struct req *r)
{
	struct member_flow *j = (struct member_flow *)f;
	char org[AUTHD_ID_HEX + 1], member[AUTHD_ID_HEX + 1], actor[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->org_id, AUTHD_ID_LEN, org);
	authd_hex(j->account_id, AUTHD_ID_LEN, member);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, actor);
	if (j->changed)
		log_info("organization member %s organization=%s member=%s by=%s role=%s req=%llu",
			 j->remove ? "removed" : "changed", org, member, actor,
			 j->remove ? "" : core_role_name(j->m.role), (unsigned long long)r->id);
	if (j->remove)
		reply_empty(r, 204);
	else
		reply_json(r, 200, orgs_member_json(&j->m));
}

static void member_release(struct flow *f)
{
	free(f);
}

static const struct flow_ops member_ops = {
    .write = member_write,
    .reply = member_reply,
    .release = member_release,
};

/* The contact preferences of a PATCH: an array of known names. */
static bool contacts_or_reply(struct req *r, json_t *list, unsigned *out)
{
	size_t i;
	json_t *v;

	*out = 0;
	json_array_foreach(list, i, v)
	{
		unsigned c = json_is_string(v) ? core_contact_parse(json_string_value(v)) : 0;

		if (c == 0) {
			reply_field_error(r, E_INVALID_FIELD, "contacts",
					  "must list billing, technical or security");
			return false;
		}
		*out |= c;
	}
	return true;
}

static struct member_flow *member_flow_or_reply(struct req *r)
{
	struct member_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	if (!path_ids(r->param, j->org_id, j->account_id)) {
		free(j);
		/* No id names an organization or a member. */
		reply_error(r, E_ORG_NOT_FOUND);
		return NULL;
	}
	return j;
}

void http_org_member_change(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"role", JSON_STRING, false, 32},
	    {"billing", JSON_TRUE, false, 0},
	    {"contacts", JSON_ARRAY, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct member_flow *j;
	const char *role;

	if (body == NULL)
		return;
	if (json_object_size(body) == 0) {
		json_decref(body);
		reply_field_error(r, E_MISSING_FIELD, "role", "give a role, billing or contacts");
		return;
	}
	if ((j = member_flow_or_reply(r)) == NULL) {
		json_decref(body);
		return;
	}
	if ((role = json_str(body, "role", NULL)) != NULL) {
		j->set_role = true;
		if ((j->role = core_role_parse(role)) == 0) {
			json_decref(body);
			free(j);
			reply_field_error(r, E_INVALID_FIELD, "role",
					  "must be legal_representative, administrator, "
					  "collaborator or external");
			return;
		}
	}
	if (json_object_get(body, "billing")) {
		j->set_billing = true;
		j->billing = json_is_true(json_object_get(body, "billing"));
	}
	if (json_object_get(body, "contacts")) {
		j->set_contacts = true;
		if (!contacts_or_reply(r, json_object_get(body, "contacts"), &j->contacts)) {
			json_decref(body);
			free(j);
			return;
		}
	}
	json_decref(body);
	flow_start(&j->f, &member_ops, r);
}

void http_org_member_remove(struct req *r)
{
	struct member_flow *j;

	if (!req_query_or_reply(r, NULL, 0, NULL) || (j = member_flow_or_reply(r)) == NULL)
		return;
	j->remove = true;
	flow_start(&j->f, &member_ops, r);
}
