/*
 * GET /1/me/activity: what the account's owner checks a warning against.
 * Recent sign-in steps (when, from where, in what browser, how, how it
 * went) and security events (a password changed, a device linked...),
 * newest first, a page at a time:
 *
 *   ?limit=N      1..100, 20 by default
 *   ?before=C     the "next" of the page before: where this page goes on
 *
 * Events are kept EVENT_KEEP_S (90 days), then swept.
 */
#include "http.h"

#include <log.h>

#include "flow.h"
#include "geoip.h"

#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct activity_flow {
	struct flow f;
	bool admin;			  /* the operator's view of account_id */
	uint8_t account_id[AUTHD_ID_LEN]; /* with admin */
	struct page page;
	struct security_event *got; /* limit + 1: one more says there is a next page */
	size_t n;
};

static int collect(void *arg, const struct security_event *e)
{
	struct activity_flow *j = arg;

	j->got[j->n++] = *e;
	return 0;
}

static int activity_read(struct flow *f, struct store_txn *txn)
{
	struct activity_flow *j = (struct activity_flow *)f;

	j->n = 0;
	return store_events_list(txn, j->admin ? j->account_id : f->session.account_id,
				 j->page.has_before ? &j->page.before : NULL, j->page.limit + 1,
				 collect, j);
}

static json_t *event_json(const struct security_event *e)
{
	char at[21], where[128];
	const char *method = core_event_method_name((enum event_method)e->method);
	const char *outcome = core_event_outcome_name((enum event_outcome)e->outcome);

	authd_time_str(e->at, at);
	geoip_locate(e->ip, where, sizeof(where));
	return json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?}", "at", at, "kind",
			 core_event_name((enum security_event_kind)e->kind), "ip",
			 e->ip[0] ? e->ip : NULL, "location", where, "browser",
			 e->browser[0] ? e->browser : NULL, "method", method[0] ? method : NULL,
			 "outcome", outcome[0] ? outcome : NULL);
}

static void activity_reply(struct flow *f, struct req *r)
{
	struct activity_flow *j = (struct activity_flow *)f;
	json_t *list = json_array();
	size_t shown = j->n < j->page.limit ? j->n : j->page.limit;

	if (f->err != E_OK) {
		json_decref(list);
		flow_reply_error(f, r);
		return;
	}
	if (j->admin) {
		char aid[AUTHD_ID_HEX + 1];

		authd_hex(j->account_id, AUTHD_ID_LEN, aid);
		log_info("operator read the events of account=%s uid=%u req=%llu", aid,
			 r->admin_uid, (unsigned long long)r->id);
	}
	for (size_t i = 0; list && i < shown; i++)
		if (json_array_append_new(list, event_json(&j->got[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	page_reply(r, "activity", list, j->n > j->page.limit, shown ? j->got[shown - 1].at : 0,
		   shown ? j->got[shown - 1].seq : 0);
}

static void activity_release(struct flow *f)
{
	struct activity_flow *j = (struct activity_flow *)f;

	free(j->got);
	free(j);
}

static const struct flow_ops activity_ops = {
    .read = activity_read,
    .reply = activity_reply,
    .release = activity_release,
};

/* The account's own view (a session), or the operator's of the account
 * in the path (admin). */
static void activity_start(struct req *r, bool admin)
{
	struct activity_flow *j;
	struct page page;
	uint8_t id[AUTHD_ID_LEN];

	if (admin && !req_path_ids(r->param, id, NULL)) {
		reply_error(r, E_NOT_FOUND);
		return;
	}
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
	j->admin = admin;
	if (admin)
		memcpy(j->account_id, id, AUTHD_ID_LEN);
	flow_start(&j->f, &activity_ops, r);
}

void http_activity(struct req *r)
{
	activity_start(r, false);
}

/* GET /admin/accounts/{id}/events: the operator's (authctl events). An
 * account that does not exist has no events. */
void http_admin_events(struct req *r)
{
	activity_start(r, true);
}
