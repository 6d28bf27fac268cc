/*
 * An organization's work teams: named groups of its members (external
 * users too) with a leader; a team's grants on products reach its members
 * (http_products.c, core_access_of).
 *
 *   POST   /1/organizations/{org}/teams                  {"name", "leader"?}
 *   GET    /1/organizations/{org}/teams                  every team for those who
 *                                                        manage the organization, one's
 *                                                        own for the others
 *   PATCH  /1/organizations/{org}/teams/{team}           {"name"?, "leader"?}
 *   DELETE /1/organizations/{org}/teams/{team}           (its grants go with it)
 *   PUT    /1/organizations/{org}/teams/{team}/members/{account_id}
 *   DELETE /1/organizations/{org}/teams/{team}/members/{account_id}
 *
 * Managing teams is for the organization's legal representatives and
 * administrators (the policy); every change is an audit record.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"

#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEAM_MEMBERS_SHOWN 1000 /* members one team lists */

/* The path's ids: organization, team, member (each when asked for). */
static bool path_ids(const char *param, uint8_t org[AUTHD_ID_LEN], uint8_t *team, uint8_t *account)
{
	const char *p = param, *slash;
	size_t len;

	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (authd_unhex(p, len, org, AUTHD_ID_LEN) != 0)
		return false;
	if (team == NULL)
		return true;
	if (slash == NULL)
		return false;
	p = slash + 1;
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (authd_unhex(p, len, team, AUTHD_ID_LEN) != 0)
		return false;
	if (account == NULL)
		return true;
	return slash && authd_unhex(slash + 1, strlen(slash + 1), account, AUTHD_ID_LEN) == 0;
}

struct team_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t team_id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	struct member me;
	struct store_txn *txn;
	/* A change: what the body asks. */
	bool set_name, set_leader, remove;
	char name[NAME_MAX_B + 1];
	uint8_t leader[AUTHD_ID_LEN]; /* zeros: none */
	struct team tm;		      /* as written */
	json_t *members;	      /* the written team's members, for the reply */
	unsigned n_teams;	      /* the member's other teams */
	bool in_team;		      /* and whether it is in this one */
};

static json_t *team_json(const struct team *tm, json_t *members)
{
	static const uint8_t none[AUTHD_ID_LEN];
	char id[AUTHD_ID_HEX + 1], leader[AUTHD_ID_HEX + 1], created[21];

	authd_hex(tm->id, AUTHD_ID_LEN, id);
	authd_hex(tm->leader, AUTHD_ID_LEN, leader);
	authd_time_str(tm->created_at, created);
	return json_pack("{s:s, s:s, s:s?, s:s, s:O}", "id", id, "name", tm->name, "leader",
			 memcmp(tm->leader, none, AUTHD_ID_LEN) ? leader : NULL, "created_at",
			 created, "members", members);
}

static int member_id_one(void *arg, const uint8_t account_id[AUTHD_ID_LEN])
{
	json_t *list = arg;
	char id[AUTHD_ID_HEX + 1];

	if (json_array_size(list) >= TEAM_MEMBERS_SHOWN)
		return 0;
	authd_hex(account_id, AUTHD_ID_LEN, id);
	return json_array_append_new(list, json_string(id)) == 0 ? 0 : STORE_E_IO;
}

/* The team's members as a new array (NULL when out of memory, *rc set). */
static json_t *members_of(struct store_txn *txn, const struct team *tm, int *rc)
{
	json_t *list = json_array();

	if (list == NULL) {
		*rc = STORE_E_IO;
		return NULL;
	}
	if ((*rc = store_team_members_list(txn, tm->org_id, tm->id, member_id_one, list)) != 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

static int gate(struct team_flow *j, struct store_txn *txn)
{
	struct policy_resource res = {.org_id = j->org_id};
	int rc = orgs_principal_member(&j->l.f, txn, j->org_id, &j->me);

	if (rc != 0)
		return rc;
	res.org_role = j->me.role;
	j->l.f.err = flow_decide(&j->l.f, &res, E_ORG_NOT_FOUND);
	return 0;
}

/* The gate, then the path's team (E_TEAM_NOT_FOUND when none). */
static int team_gate(struct team_flow *j, struct store_txn *txn)
{
	int rc = gate(j, txn);

	if (rc != 0 || j->l.f.err != E_OK)
		return rc;
	if ((rc = store_team_get(txn, j->org_id, j->team_id, &j->tm)) == STORE_E_NOTFOUND) {
		j->l.f.err = E_TEAM_NOT_FOUND;
		return 0;
	}
	return rc;
}

static void team_release(struct flow *f)
{
	struct team_flow *j = (struct team_flow *)f;

	json_decref(j->members);
	j->members = NULL;
	flow_list_release(f);
}

static void team_reply(struct flow *f, struct req *r)
{
	struct team_flow *j = (struct team_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else if (j->remove || j->members == NULL)
		reply_empty(r, 204);
	else
		reply_json(r, r->method == M_POST ? 201 : 200, team_json(&j->tm, j->members));
}

/* Whether account_id is a member of the organization (E_SUBJECT_NOT_FOUND
 * in f->err otherwise). */
static int org_member_or_err(struct team_flow *j, struct store_txn *txn,
			     const uint8_t account_id[AUTHD_ID_LEN])
{
	struct member m;
	int rc = store_member_get(txn, j->org_id, account_id, &m);

	if (rc == STORE_E_NOTFOUND) {
		j->l.f.err = E_SUBJECT_NOT_FOUND;
		return 0;
	}
	return rc;
}

/* A team member added or removed: the account, and which team. */
static int member_audit(struct flow *f, struct store_txn *txn, enum audit_action action,
			const uint8_t account_id[AUTHD_ID_LEN])
{
	struct team_flow *j = (struct team_flow *)f;
	char team[AUTHD_ID_HEX + 1];
	json_t *detail;
	int rc;

	authd_hex(j->team_id, AUTHD_ID_LEN, team);
	if ((detail = json_pack("{s:s}", "team_id", team)) == NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, j->org_id, NULL, action, account_id, detail);
	json_decref(detail);
	return rc;
}

static int count_team(void *arg, const uint8_t team_id[AUTHD_ID_LEN])
{
	struct team_flow *j = arg;

	if (memcmp(team_id, j->team_id, AUTHD_ID_LEN) == 0)
		j->in_team = true;
	else
		j->n_teams++;
	return 0;
}

/* Where the account stands: its other teams, and whether it is in this one. */
static int teams_of(struct team_flow *j, struct store_txn *txn,
		    const uint8_t account_id[AUTHD_ID_LEN])
{
	j->n_teams = 0;
	j->in_team = false;
	return store_member_teams_list(txn, j->org_id, account_id, count_team, j);
}

/* Puts the account in the team: a member of the organization, within its
 * TEAMS_MAX_PER_MEMBER teams, recorded once (joining again is no change). */
static int join_team(struct team_flow *j, struct store_txn *txn,
		     const uint8_t account_id[AUTHD_ID_LEN])
{
	struct flow *f = &j->l.f;
	int rc;

	if ((rc = org_member_or_err(j, txn, account_id)) != 0 || f->err != E_OK ||
	    (rc = teams_of(j, txn, account_id)) != 0 || j->in_team)
		return rc;
	if (j->n_teams >= TEAMS_MAX_PER_MEMBER) {
		f->err = E_TOO_MANY_TEAMS;
		return 0;
	}
	if ((rc = store_team_member_put(txn, j->org_id, j->team_id, account_id)) != 0)
		return rc;
	return member_audit(f, txn, AUDIT_TEAM_MEMBER_ADDED, account_id);
}

/* --- POST and GET /1/organizations/{org}/teams ------------------------------------------ */

static int add_write(struct flow *f, struct store_txn *txn)
{
	struct team_flow *j = (struct team_flow *)f;
	static const uint8_t none[AUTHD_ID_LEN];
	json_t *detail;
	int rc = gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	memset(&j->tm, 0, sizeof(j->tm));
	memcpy(j->tm.org_id, j->org_id, AUTHD_ID_LEN);
	memcpy(j->tm.id, j->team_id, AUTHD_ID_LEN);
	snprintf(j->tm.name, sizeof(j->tm.name), "%s", j->name);
	memcpy(j->tm.leader, j->leader, AUTHD_ID_LEN);
	j->tm.created_at = f->now;
	/* A leader is one of the team: named, it joins (after the team's own
	 * record, as any member); a leader who may not comes first, so that a
	 * refusal writes nothing. */
	if (memcmp(j->leader, none, AUTHD_ID_LEN) != 0 &&
	    ((rc = org_member_or_err(j, txn, j->leader)) != 0 || f->err != E_OK ||
	     (rc = teams_of(j, txn, j->leader)) != 0))
		return rc;
	if (memcmp(j->leader, none, AUTHD_ID_LEN) != 0 && j->n_teams >= TEAMS_MAX_PER_MEMBER) {
		f->err = E_TOO_MANY_TEAMS;
		return 0;
	}
	if ((detail = json_pack("{s:s}", "name", j->tm.name)) == NULL)
		return STORE_E_IO;
	if ((rc = store_team_put(txn, &j->tm)) == 0 &&
	    (rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_TEAM_ADDED, j->team_id, detail)) == 0 &&
	    memcmp(j->leader, none, AUTHD_ID_LEN) != 0)
		rc = join_team(j, txn, j->leader);
	if (rc == 0 && f->err == E_OK) {
		json_decref(j->members);
		j->members = members_of(txn, &j->tm, &rc);
	}
	json_decref(detail);
	return rc;
}

static const struct flow_ops add_ops = {
    .write = add_write,
    .reply = team_reply,
    .release = team_release,
};

/* Whether the reader may see team tm: every one for managers, its own
 * for the others. */
static int list_one(void *arg, const struct team *tm)
{
	struct team_flow *j = arg;
	json_t *members;
	int rc;
	bool mine = j->me.role == ROLE_LEGAL_REPRESENTATIVE || j->me.role == ROLE_ADMINISTRATOR;

	if ((members = members_of(j->txn, tm, &rc)) == NULL)
		return rc;
	for (size_t i = 0; !mine && i < json_array_size(members); i++) {
		uint8_t id[AUTHD_ID_LEN];
		const char *s = json_string_value(json_array_get(members, i));

		mine = authd_unhex(s, strlen(s), id, AUTHD_ID_LEN) == 0 &&
		       memcmp(id, j->me.account_id, AUTHD_ID_LEN) == 0;
	}
	if (mine && json_array_append_new(j->l.list, team_json(tm, members)) != 0)
		rc = STORE_E_IO;
	json_decref(members);
	return rc;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct team_flow *j = (struct team_flow *)f;
	int rc = gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	j->txn = txn;
	rc = store_teams_list(txn, j->org_id, list_one, j);
	j->txn = NULL;
	return rc;
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = team_release,
};

/* --- PATCH and DELETE one team, and its members --------------------------------------- */

static int change_write(struct flow *f, struct store_txn *txn)
{
	struct team_flow *j = (struct team_flow *)f;
	static const uint8_t none[AUTHD_ID_LEN];
	json_t *detail;
	int rc = team_gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if (j->remove) {
		if ((rc = store_team_del(txn, j->org_id, j->team_id)) != 0)
			return rc;
		return orgs_audit(f, txn, j->org_id, NULL, AUDIT_TEAM_REMOVED, j->team_id, NULL);
	}
	if (j->set_name)
		snprintf(j->tm.name, sizeof(j->tm.name), "%s", j->name);
	if (j->set_leader && memcmp(j->leader, none, AUTHD_ID_LEN) != 0) {
		/* The leader leads from within: a member of the organization,
		 * who joins the team if not in it yet. */
		if ((rc = join_team(j, txn, j->leader)) != 0 || f->err != E_OK)
			return rc;
	}
	if (j->set_leader)
		memcpy(j->tm.leader, j->leader, AUTHD_ID_LEN);
	{
		json_t *empty = json_array();

		detail = empty ? team_json(&j->tm, empty) : NULL;
		json_decref(empty);
	}
	if (detail == NULL)
		return STORE_E_IO;
	json_object_del(detail, "members");
	if ((rc = store_team_put(txn, &j->tm)) == 0 &&
	    (rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_TEAM_CHANGED, j->team_id, detail)) ==
		0) {
		json_decref(j->members);
		j->members = members_of(txn, &j->tm, &rc);
	}
	json_decref(detail);
	return rc;
}

static const struct flow_ops change_ops = {
    .write = change_write,
    .reply = team_reply,
    .release = team_release,
};

static int member_write(struct flow *f, struct store_txn *txn)
{
	struct team_flow *j = (struct team_flow *)f;
	static const uint8_t none[AUTHD_ID_LEN];
	int rc = team_gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if (j->remove) {
		/* Only someone in the team leaves it. */
		if ((rc = teams_of(j, txn, j->account_id)) != 0)
			return rc;
		if (!j->in_team) {
			f->err = E_SUBJECT_NOT_FOUND;
			return 0;
		}
		if ((rc = store_team_member_del(txn, j->org_id, j->team_id, j->account_id)) != 0)
			return rc;
		if (memcmp(j->tm.leader, j->account_id, AUTHD_ID_LEN) == 0) {
			memcpy(j->tm.leader, none, AUTHD_ID_LEN);
			if ((rc = store_team_put(txn, &j->tm)) != 0)
				return rc;
		}
		return member_audit(f, txn, AUDIT_TEAM_MEMBER_REMOVED, j->account_id);
	}
	return join_team(j, txn, j->account_id);
}

static const struct flow_ops member_ops = {
    .write = member_write,
    .reply = team_reply,
    .release = team_release,
};

/* --- handlers --------------------------------------------------------------------------- */

static struct team_flow *team_flow_or_reply(struct req *r, bool team, bool account)
{
	struct team_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	if (!path_ids(r->param, j->org_id, team ? j->team_id : NULL,
		      account ? j->account_id : NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return NULL;
	}
	return j;
}

/* The body of POST and PATCH: name and leader, each when given. */
static bool body_or_reply(struct req *r, struct team_flow *j, bool create)
{
	static const struct field_spec spec[] = {
	    {"name", JSON_STRING, false, NAME_MAX_B},
	    {"leader", JSON_STRING, false, 64},
	};
	json_t *body = json_body_or_reply(r, spec, 2), *leader;
	const char *name;
	size_t len;
	bool ok = false;

	if (body == NULL)
		return false;
	leader = json_object_get(body, "leader");
	if (json_object_size(body) == 0) {
		reply_field_error(r, E_MISSING_FIELD, "name",
				  create ? NULL : "give a name or a leader");
		goto out;
	}
	if ((name = json_str(body, "name", &len)) != NULL) {
		if (len == 0 || !authd_utf8_printable(name, len) ||
		    authd_utf8_count(name, len) > 100) {
			reply_field_error(r, E_INVALID_FIELD, "name",
					  "must have 1 to 100 characters");
			goto out;
		}
		j->set_name = true;
		memcpy(j->name, name, len);
	} else if (create) {
		reply_field_error(r, E_MISSING_FIELD, "name", NULL);
		goto out;
	}
	if (json_is_string(leader)) {
		const char *s = json_string_value(leader);

		/* "" takes the lead away. */
		if (*s && authd_unhex(s, strlen(s), j->leader, AUTHD_ID_LEN) != 0) {
			reply_field_error(r, E_INVALID_FIELD, "leader",
					  "must be a member's account id");
			goto out;
		}
		j->set_leader = true;
	}
	ok = true;
out:
	json_decref(body);
	return ok;
}

void http_org_team_add(struct req *r)
{
	struct team_flow *j = team_flow_or_reply(r, false, false);

	if (j == NULL)
		return;
	if (!body_or_reply(r, j, true)) {
		free(j);
		return;
	}
	authd_random(j->team_id, AUTHD_ID_LEN);
	flow_start(&j->l.f, &add_ops, r);
}

void http_org_teams(struct req *r)
{
	struct team_flow *j;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (j = team_flow_or_reply(r, false, false)) == NULL)
		return;
	j->l.key = "teams";
	flow_start(&j->l.f, &list_ops, r);
}

void http_org_team_change(struct req *r)
{
	struct team_flow *j = team_flow_or_reply(r, true, false);

	if (j == NULL)
		return;
	if (!body_or_reply(r, j, false)) {
		free(j);
		return;
	}
	flow_start(&j->l.f, &change_ops, r);
}

void http_org_team_remove(struct req *r)
{
	struct team_flow *j;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (j = team_flow_or_reply(r, true, false)) == NULL)
		return;
	j->remove = true;
	flow_start(&j->l.f, &change_ops, r);
}

void http_org_team_member_add(struct req *r)
{
	struct team_flow *j;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (j = team_flow_or_reply(r, true, true)) == NULL)
		return;
	flow_start(&j->l.f, &member_ops, r);
}

void http_org_team_member_remove(struct req *r)
{
	struct team_flow *j;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (j = team_flow_or_reply(r, true, true)) == NULL)
		return;
	j->remove = true;
	flow_start(&j->l.f, &member_ops, r);
}
