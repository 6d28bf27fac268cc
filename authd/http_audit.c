/*
 * GET /1/organizations/{org}/audit: what changed in an organization (its
 * people, roles and rights, teams, partners, tokens), who did it, through
 * what and from where, newest first a page at a time (flow.h's struct
 * page: ?limit, ?before). For its legal representatives and
 * administrators; an organization the reader is not in answers as absent.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"

#include <store.h>
#include <util.h>

#include <stdlib.h>
#include <string.h>

struct audit_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	struct page page;
	struct audit_rec *got; /* limit + 1 */
	size_t n;
};

static int collect(void *arg, const struct audit_rec *a)
{
	struct audit_flow *j = arg;

	j->got[j->n++] = *a;
	return 0;
}

static int audit_read(struct flow *f, struct store_txn *txn)
{
	struct audit_flow *j = (struct audit_flow *)f;
	struct policy_resource res = {.org_id = j->org_id};
	struct member me;
	int rc;

	j->n = 0;
	if ((rc = orgs_principal_member(f, txn, j->org_id, &me)) != 0)
		return rc;
	res.org_role = me.role;
	if ((f->err = flow_decide(f, &res, E_ORG_NOT_FOUND)) != E_OK)
		return 0;
	return store_audit_list(txn, j->org_id, j->page.has_before ? &j->page.before : NULL,
				j->page.limit + 1, collect, j);
}

static json_t *audit_json(const struct audit_rec *a)
{
	static const uint8_t none[AUTHD_ID_LEN];
	char at[21], actor[AUTHD_ID_HEX + 1], subject[AUTHD_ID_HEX + 1];
	json_t *detail = a->detail[0] ? json_loads(a->detail, 0, NULL) : NULL;

	authd_time_str(a->at, at);
	authd_hex(a->actor, AUTHD_ID_LEN, actor);
	authd_hex(a->subject, AUTHD_ID_LEN, subject);
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:o?}", "at", at, "action",
			 core_audit_name((enum audit_action)a->action), "actor", actor, "via",
			 core_audit_via_name((enum audit_via)a->via), "subject",
			 memcmp(a->subject, none, AUTHD_ID_LEN) ? subject : NULL, "ip",
			 a->ip[0] ? a->ip : NULL, "detail", detail);
}

static void audit_reply(struct flow *f, struct req *r)
{
	struct audit_flow *j = (struct audit_flow *)f;
	size_t shown = j->n < j->page.limit ? j->n : j->page.limit;
	json_t *list;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	list = json_array();
	for (size_t i = 0; list && i < shown; i++)
		if (json_array_append_new(list, audit_json(&j->got[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	page_reply(r, "audit", list, j->n > j->page.limit, shown ? j->got[shown - 1].at : 0,
		   shown ? j->got[shown - 1].seq : 0);
}

static void audit_release(struct flow *f)
{
	struct audit_flow *j = (struct audit_flow *)f;

	free(j->got);
	free(j);
}

static const struct flow_ops audit_ops = {
    .read = audit_read,
    .reply = audit_reply,
    .release = audit_release,
};

void http_org_audit(struct req *r)
{
	const char *slash = strchr(r->param, '/');
	size_t len = slash ? (size_t)(slash - r->param) : strlen(r->param);
	struct audit_flow *j;
	struct page page;

	if (!page_query_or_reply(r, &page))
		return;
	j = calloc(1, sizeof(*j));
	if (j)
		j->got = calloc(page.limit + 1, sizeof(*j->got));
	if (j == NULL || j->got == NULL) {
		free(j);
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->page = page;
	if (authd_unhex(r->param, len, j->org_id, AUTHD_ID_LEN) != 0) {
		audit_release(&j->f);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &audit_ops, r);
}
