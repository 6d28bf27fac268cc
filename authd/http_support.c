/*
 * Support access: an organization lets the operator's support staff reach
 * one kind of its content for a while (core.h's struct support_grant).
 *
 *   POST   /1/organizations/{org}/support-grants       {"kind", "request"?}: a
 *                                                     grant for 7 days (201)
 *   GET    /1/organizations/{org}/support-grants       its grants, newest first
 *   DELETE /1/organizations/{org}/support-grants/{id}  end one at once
 *   PUT    /1/support/grants/{id}/assignees/{account}  a support lead assigns
 *   DELETE /1/support/grants/{id}/assignees/{account}  it to an agent, or not
 *   GET    /1/support/grants/{id}/access?kind=K        may the calling agent
 *                                                     use it for K now?
 *   GET    /1/support/grants                           the live grants: all of
 *                                                     them for a lead, those
 *                                                     assigned to it for an agent
 *
 * Granting is a legal representative's or administrator's act after a
 * recent sign-in; the operator's side is its staff ([support] agents and
 * leads), who act with a second factor. Whether a use is allowed is the
 * policy's answer (policy_support_use); each use asked, allowed or not, is
 * a support_used record of the organization's audit trail, written before
 * the answer, as is every grant, revocation and assignment.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"
#include "staff.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_of(const struct support_grant *g, int64_t now)
{
	return g->revoked_at ? "revoked" : now >= g->expires_at ? "expired" : "active";
}

static json_t *grant_json(const struct support_grant *g, int64_t now)
{
	char id[AUTHD_ID_HEX + 1], org[AUTHD_ID_HEX + 1], by[AUTHD_ID_HEX + 1], created[21],
	    expires[21], revoked[21];
	json_t *assignees = json_array();

	for (unsigned i = 0; assignees && i < g->n_assignees && i < SUPPORT_ASSIGNEES_MAX; i++) {
		authd_hex(g->assignees[i], AUTHD_ID_LEN, id);
		json_array_append_new(assignees, json_string(id));
	}
	authd_hex(g->id, AUTHD_ID_LEN, id);
	authd_hex(g->org_id, AUTHD_ID_LEN, org);
	authd_hex(g->created_by, AUTHD_ID_LEN, by);
	authd_time_str(g->created_at, created);
	authd_time_str(g->expires_at, expires);
	authd_time_str(g->revoked_at, revoked);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:s?, s:s, s:o}", "id", id,
			 "organization_id", org, "kind",
			 core_support_kind_name((enum support_kind)g->kind), "request",
			 g->request[0] ? g->request : NULL, "created_by", by, "created_at", created,
			 "expires_at", expires, "revoked_at", g->revoked_at ? revoked : NULL,
			 "state", state_of(g, now), "assignees", assignees);
}

/* An organization's grants, collected. */
struct grants {
	struct support_grant *v;
	size_t n, cap;
};

static int grant_collect(void *arg, const struct support_grant *g)
{
	struct grants *gs = arg;

	if (gs->n == gs->cap) {
		size_t cap = gs->cap ? 2 * gs->cap : 16;
		void *p = realloc(gs->v, cap * sizeof(*gs->v));

		if (p == NULL)
			return STORE_E_IO;
		gs->v = p;
		gs->cap = cap;
	}
	gs->v[gs->n++] = *g;
	return 0;
}

struct support_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];      /* the grant */
	uint8_t account[AUTHD_ID_LEN]; /* an assignee */
	bool remove;
	enum support_kind kind;
	struct support_grant g;	      /* as written or read */
	enum support_verdict verdict; /* a use's */
	struct grants gs;
	json_t *list;
};

static void support_release(struct flow *f)
{
	struct support_flow *j = (struct support_flow *)f;

	free(j->gs.v);
	json_decref(j->list);
	free(j);
}

/* The grant j->id of j->org_id (E_SUPPORT_GRANT_NOT_FOUND in f->err when
 * it is none of that organization's). */
static int grant_of_org(struct support_flow *j, struct store_txn *txn)
{
	int rc = store_support_get(txn, j->id, &j->g);

	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && memcmp(j->g.org_id, j->org_id, AUTHD_ID_LEN) != 0)) {
		j->f.err = E_SUPPORT_GRANT_NOT_FOUND;
		return 0;
	}
	return rc;
}

/* --- the organization's side ---------------------------------------------------------- */

static int grant_write(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	size_t live = 0;
	json_t *detail;
	int rc;

	j->gs.n = 0;
	if ((rc = orgs_member_gate(f, txn, j->org_id)) != 0 || f->err != E_OK ||
	    (rc = store_support_list(txn, j->org_id, grant_collect, &j->gs)) != 0)
		return rc;
	/* At most SUPPORT_GRANTS_MAX kept: ended ones make room, oldest first
	 * (the audit trail keeps their story). */
	for (size_t i = 0; i < j->gs.n; i++)
		live += core_support_live(&j->gs.v[i], f->now);
	if (live >= SUPPORT_GRANTS_MAX) {
		f->err = E_TOO_MANY_SUPPORT_GRANTS;
		return 0;
	}
	for (size_t i = 0, n = j->gs.n; rc == 0 && n >= SUPPORT_GRANTS_MAX && i < j->gs.n; i++)
		if (!core_support_live(&j->gs.v[i], f->now)) {
			rc = store_support_del(txn, &j->gs.v[i]);
			n--;
		}
	if (rc != 0)
		return rc;
	memcpy(j->g.org_id, j->org_id, AUTHD_ID_LEN);
	memcpy(j->g.created_by, f->session.account_id, AUTHD_ID_LEN);
	j->g.created_at = f->now;
	j->g.expires_at = f->now + SUPPORT_GRANT_TTL;
	j->g.revoked_at = 0;
	j->g.n_assignees = 0;
	if ((detail = json_pack("{s:s, s:s*}", "kind",
				core_support_kind_name((enum support_kind)j->g.kind), "request",
				j->g.request[0] ? j->g.request : NULL)) == NULL)
		return STORE_E_IO;
	if ((rc = store_support_put(txn, &j->g)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_SUPPORT_GRANTED, j->g.id, detail);
	json_decref(detail);
	return rc;
}

static void grant_reply(struct flow *f, struct req *r)
{
	struct support_flow *j = (struct support_flow *)f;
	char id[AUTHD_ID_HEX + 1], org[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->g.id, AUTHD_ID_LEN, id);
	authd_hex(j->org_id, AUTHD_ID_LEN, org);
	log_info("support grant made organization=%s grant=%s kind=%s req=%llu", org, id,
		 core_support_kind_name((enum support_kind)j->g.kind), (unsigned long long)r->id);
	reply_json(r, 201, grant_json(&j->g, f->now));
}

static const struct flow_ops grant_ops = {
    .write = grant_write,
    .reply = grant_reply,
    .release = support_release,
};

void http_org_support_grant(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"kind", JSON_STRING, true, 16},
	    {"request", JSON_STRING, false, SUPPORT_REQUEST_MAX},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	struct support_flow *j = NULL;
	const char *request;
	size_t rlen = 0;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	if ((j->g.kind = (uint8_t)core_support_kind_parse(json_str(body, "kind", NULL))) == 0) {
		reply_field_error(r, E_INVALID_FIELD, "kind", "must be mail, drive or chat");
		goto out;
	}
	request = json_str(body, "request", &rlen);
	if (request && (rlen == 0 || !authd_utf8_printable(request, rlen))) {
		reply_field_error(r, E_INVALID_FIELD, "request", "must be 1 to 64 bytes of text");
		goto out;
	}
	if (request)
		memcpy(j->g.request, request, rlen);
	authd_random(j->g.id, AUTHD_ID_LEN);
	json_decref(body);
	flow_start(&j->f, &grant_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

static int by_newest(const void *x, const void *y)
{
	const struct support_grant *a = x, *b = y;

	if (a->created_at != b->created_at)
		return a->created_at > b->created_at ? -1 : 1;
	return memcmp(a->id, b->id, AUTHD_ID_LEN);
}

/* j->gs, newest first, as the answer's list (j->list). */
static int list_newest(struct support_flow *j, int64_t now)
{
	if (j->gs.n > 1)
		qsort(j->gs.v, j->gs.n, sizeof(*j->gs.v), by_newest);
	json_decref(j->list);
	if ((j->list = json_array()) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; i < j->gs.n; i++)
		if (json_array_append_new(j->list, grant_json(&j->gs.v[i], now)) != 0)
			return STORE_E_IO;
	return 0;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	int rc;

	j->gs.n = 0;
	if ((rc = orgs_member_gate(f, txn, j->org_id)) != 0 || f->err != E_OK ||
	    (rc = store_support_list(txn, j->org_id, grant_collect, &j->gs)) != 0)
		return rc;
	return list_newest(j, f->now);
}

static void list_reply(struct flow *f, struct req *r)
{
	struct support_flow *j = (struct support_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, json_pack("{s:O}", "support_grants", j->list));
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = list_reply,
    .release = support_release,
};

void http_org_support_list(struct req *r)
{
	struct support_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &list_ops, r);
}

static int revoke_write(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	int rc;

	if ((rc = orgs_member_gate(f, txn, j->org_id)) != 0 || f->err != E_OK ||
	    (rc = grant_of_org(j, txn)) != 0 || f->err != E_OK)
		return rc;
	if (!core_support_live(&j->g, f->now))
		return 0; /* already over: nothing to end */
	j->g.revoked_at = f->now;
	if ((rc = store_support_put(txn, &j->g)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_SUPPORT_REVOKED, j->g.id, NULL);
	return rc;
}

static const struct flow_ops revoke_ops = {
    .write = revoke_write,
    .release = support_release,
};

void http_org_support_revoke(struct req *r)
{
	struct support_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!req_path_ids(r->param, j->org_id, j->id)) {
		reply_error(r, req_path_ids(r->param, j->org_id, NULL) ? E_SUPPORT_GRANT_NOT_FOUND
								       : E_ORG_NOT_FOUND);
		free(j);
		return;
	}
	flow_start(&j->f, &revoke_ops, r);
}

/* --- the operator's side ------------------------------------------------------------- */

static int assign_write(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	char aid[AUTHD_ID_HEX + 1];
	json_t *detail;
	int rc = store_support_get(txn, j->id, &j->g);

	f->via_support = true;
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_SUPPORT_GRANT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (j->remove) {
		if (!core_support_unassign(&j->g, j->account)) {
			f->err = E_ASSIGNEE_NOT_FOUND;
			return 0;
		}
	} else {
		if (!(staff_roles(j->account) & OPERATOR_SUPPORT_AGENT)) {
			f->err = E_NOT_SUPPORT_AGENT;
			return 0;
		}
		if (!core_support_live(&j->g, f->now)) {
			f->err = E_SUPPORT_GRANT_ENDED;
			return 0;
		}
		if (core_support_assigned(&j->g, j->account))
			return 0; /* already: nothing changes */
		if (!core_support_assign(&j->g, j->account)) {
			f->err = E_TOO_MANY_ASSIGNEES;
			return 0;
		}
	}
	authd_hex(j->g.id, AUTHD_ID_LEN, aid);
	if ((detail = json_pack("{s:s}", "grant_id", aid)) == NULL)
		return STORE_E_IO;
	if ((rc = store_support_put(txn, &j->g)) == 0)
		rc = orgs_audit(f, txn, j->g.org_id, NULL,
				j->remove ? AUDIT_SUPPORT_UNASSIGNED : AUDIT_SUPPORT_ASSIGNED,
				j->account, detail);
	json_decref(detail);
	return rc;
}

static const struct flow_ops assign_ops = {
    .write = assign_write,
    .release = support_release,
};

static void assign(struct req *r, bool remove)
{
	struct support_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!req_path_ids(r->param, j->id, j->account)) { /* "grant/account" */
		free(j);
		reply_error(r, E_SUPPORT_GRANT_NOT_FOUND);
		return;
	}
	j->remove = remove;
	flow_start(&j->f, &assign_ops, r);
}

void http_support_assign(struct req *r)
{
	assign(r, false);
}

void http_support_unassign(struct req *r)
{
	assign(r, true);
}

/* One use asked: the policy's verdict, recorded in the organization's
 * trail before the answer (allowed or not: the organization sees every
 * attempt on its grants). */
static int use_write(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	json_t *detail;
	int rc = store_support_get(txn, j->id, &j->g);

	f->via_support = true;
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_SUPPORT_GRANT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	j->verdict = flow_support_use(f, &j->g, j->kind);
	if ((detail = json_pack(
		 "{s:s, s:b, s:s*}", "kind", core_support_kind_name(j->kind), "allowed",
		 j->verdict == SUPPORT_ALLOWED, "reason",
		 j->verdict == SUPPORT_ALLOWED ? NULL : core_support_verdict_name(j->verdict))) ==
	    NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, j->g.org_id, NULL, AUDIT_SUPPORT_USED, j->g.id, detail);
	json_decref(detail);
	return rc;
}

static void use_reply(struct flow *f, struct req *r)
{
	struct support_flow *j = (struct support_flow *)f;
	char id[AUTHD_ID_HEX + 1], by[AUTHD_ID_HEX + 1];
	bool allowed = j->verdict == SUPPORT_ALLOWED;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->id, AUTHD_ID_LEN, id);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, by);
	log_info("support access %s grant=%s kind=%s by=%s%s%s req=%llu",
		 allowed ? "allowed" : "refused", id, core_support_kind_name(j->kind), by,
		 allowed ? "" : " reason=", allowed ? "" : core_support_verdict_name(j->verdict),
		 (unsigned long long)r->id);
	reply_json(r, 200,
		   json_pack("{s:s, s:s, s:b, s:s?}", "grant_id", id, "kind",
			     core_support_kind_name(j->kind), "allowed", allowed, "reason",
			     allowed ? NULL : core_support_verdict_name(j->verdict)));
}

static const struct flow_ops use_ops = {
    .write = use_write,
    .reply = use_reply,
    .release = support_release,
};

void http_support_access(struct req *r)
{
	static const char *const names[] = {"kind"};
	char values[1][QUERY_VALUE_MAX];
	struct support_flow *j;

	if (!req_query_or_reply(r, names, 1, values))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->verdict = SUPPORT_NOT_ASSIGNED; /* until the policy says otherwise */
	if ((j->kind = core_support_kind_parse(values[0])) == 0) {
		free(j);
		reply_field_error(r, E_INVALID_FIELD, "kind", "must be mail, drive or chat");
		return;
	}
	if (authd_unhex(r->param, strlen(r->param), j->id, AUTHD_ID_LEN) != 0) {
		free(j);
		reply_error(r, E_SUPPORT_GRANT_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &use_ops, r);
}

/* --- the staff's list ------------------------------------------------------------------ */

static int staff_read(struct flow *f, struct store_txn *txn)
{
	struct support_flow *j = (struct support_flow *)f;
	bool lead = (f->roles & OPERATOR_SUPPORT_LEAD) != 0;
	size_t kept = 0;
	int rc;

	j->gs.n = 0;
	if ((rc = store_support_live(txn, f->now, grant_collect, &j->gs)) != 0)
		return rc;
	/* An agent sees what it was assigned (and of the assignees, itself);
	 * a lead, everything to assign. */
	for (size_t i = 0; i < j->gs.n; i++)
		if (lead || core_support_assigned(&j->gs.v[i], f->session.account_id)) {
			j->gs.v[kept] = j->gs.v[i];
			if (!lead) {
				j->gs.v[kept].n_assignees = 1;
				memcpy(j->gs.v[kept].assignees[0], f->session.account_id,
				       AUTHD_ID_LEN);
			}
			kept++;
		}
	j->gs.n = kept;
	return list_newest(j, f->now);
}

static const struct flow_ops staff_ops = {
    .read = staff_read,
    .reply = list_reply,
    .release = support_release,
};

void http_support_grants(struct req *r)
{
	struct support_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) != NULL)
		flow_start(&j->f, &staff_ops, r);
}
