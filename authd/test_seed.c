/*
 * POST /1/_test/seed_org (test builds only, like every /1/_test route): fills
 * an organization for the benchmark in one write, as its people would over
 * months: {"organization_id", "account_id", "members", "teams", "products"}
 * adds `members` collaborators (memberships of accounts that sign in
 * nowhere), `teams` teams of them, `products` products each granted to one
 * team and one member, and makes account_id a collaborator in two teams
 * with its own grant on every tenth product. Answers the product ids.
 * For the billing benchmark, "expires_at" (the first product's expiry),
 * "expires_step" (seconds between one product's expiry and the next's) and
 * "auto_renew" give the products expiries that spread as asked.
 */
#include "http.h"

#include "flow.h"

#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_MAX 100000

struct seed_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	unsigned members, teams, products;
	int64_t expires_at, expires_step;
	bool auto_renew;
	uint8_t (*ids)[AUTHD_ID_LEN]; /* members, then teams, then products */
};

static int grant(struct store_txn *txn, const uint8_t *org, const uint8_t *product,
		 const uint8_t *subject, enum grant_subject kind)
{
	struct grant g = {.subject_kind = (uint8_t)kind, .rights = PRODUCT_R_USE};

	memcpy(g.org_id, org, AUTHD_ID_LEN);
	memcpy(g.product_id, product, AUTHD_ID_LEN);
	memcpy(g.subject, subject, AUTHD_ID_LEN);
	return store_grant_put(txn, &g);
}

static int seed_write(struct flow *f, struct store_txn *txn)
{
	struct seed_flow *j = (struct seed_flow *)f;
	uint8_t(*member)[AUTHD_ID_LEN] = j->ids;
	uint8_t(*team)[AUTHD_ID_LEN] = j->ids + j->members;
	uint8_t(*product)[AUTHD_ID_LEN] = j->ids + j->members + j->teams;
	struct member m = {.role = ROLE_COLLABORATOR, .since = f->now};
	int rc = 0;

	memcpy(m.org_id, j->org_id, AUTHD_ID_LEN);
	for (unsigned i = 0; rc == 0 && i < j->teams; i++) {
		struct team tm = {.created_at = f->now};

		memcpy(tm.org_id, j->org_id, AUTHD_ID_LEN);
		memcpy(tm.id, team[i], AUTHD_ID_LEN);
		snprintf(tm.name, sizeof(tm.name), "Team %u", i);
		rc = store_team_put(txn, &tm);
	}
	for (unsigned i = 0; rc == 0 && i < j->members; i++) {
		memcpy(m.account_id, member[i], AUTHD_ID_LEN);
		if ((rc = store_member_put(txn, &m)) == 0 && j->teams)
			rc = store_team_member_put(txn, j->org_id, team[i % j->teams], member[i]);
	}
	memcpy(m.account_id, j->account_id, AUTHD_ID_LEN);
	if (rc == 0)
		rc = store_member_put(txn, &m);
	for (unsigned i = 0; rc == 0 && i < 2 && i < j->teams; i++)
		rc = store_team_member_put(txn, j->org_id, team[i], j->account_id);
	for (unsigned i = 0; rc == 0 && i < j->products; i++) {
		struct product p = {.kind = PRODUCT_MAIL,
				    .created_at = f->now,
				    .renewal_months = PRODUCT_RENEWAL_DEFAULT};

		memcpy(p.org_id, j->org_id, AUTHD_ID_LEN);
		memcpy(p.id, product[i], AUTHD_ID_LEN);
		snprintf(p.name, sizeof(p.name), "Product %u", i);
		if (j->expires_at > 0) {
			p.expires_at = j->expires_at + (int64_t)i * j->expires_step;
			p.auto_renew = j->auto_renew;
		}
		if ((rc = store_product_put(txn, &p)) == 0 && j->teams)
			rc = grant(txn, j->org_id, p.id, team[i % j->teams], GRANT_TEAM);
		if (rc == 0 && j->members)
			rc = grant(txn, j->org_id, p.id, member[i % j->members], GRANT_MEMBER);
		if (rc == 0 && i % 10 == 0)
			rc = grant(txn, j->org_id, p.id, j->account_id, GRANT_MEMBER);
	}
	return rc;
}

static void seed_reply(struct flow *f, struct req *r)
{
	struct seed_flow *j = (struct seed_flow *)f;
	json_t *list = json_array();

	for (unsigned i = 0; list && i < j->products; i++) {
		char id[AUTHD_ID_HEX + 1];

		authd_hex(j->ids[j->members + j->teams + i], AUTHD_ID_LEN, id);
		json_array_append_new(list, json_string(id));
	}
	reply_json(r, 200, json_pack("{s:o}", "products", list));
}

static void seed_release(struct flow *f)
{
	struct seed_flow *j = (struct seed_flow *)f;

	free(j->ids);
	free(j);
}

static const struct flow_ops seed_ops = {
    .write = seed_write,
    .reply = seed_reply,
    .release = seed_release,
};

void http_test_seed_org(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"organization_id", JSON_STRING, true, 64}, {"account_id", JSON_STRING, true, 64},
	    {"members", JSON_INTEGER, true, 0},		{"teams", JSON_INTEGER, true, 0},
	    {"products", JSON_INTEGER, true, 0},	{"expires_at", JSON_INTEGER, false, 0},
	    {"expires_step", JSON_INTEGER, false, 0},	{"auto_renew", JSON_TRUE, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]));
	struct seed_flow *j;
	const char *s;
	size_t len, n;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->members = (unsigned)json_integer_value(json_object_get(body, "members"));
	j->teams = (unsigned)json_integer_value(json_object_get(body, "teams"));
	j->products = (unsigned)json_integer_value(json_object_get(body, "products"));
	j->expires_at = (int64_t)json_integer_value(json_object_get(body, "expires_at"));
	j->expires_step = (int64_t)json_integer_value(json_object_get(body, "expires_step"));
	j->auto_renew = json_is_true(json_object_get(body, "auto_renew"));
	s = json_str(body, "organization_id", &len);
	if (authd_unhex(s, len, j->org_id, AUTHD_ID_LEN) != 0 ||
	    (s = json_str(body, "account_id", &len)) == NULL ||
	    authd_unhex(s, len, j->account_id, AUTHD_ID_LEN) != 0 || j->members > SEED_MAX ||
	    j->teams > SEED_MAX || j->products > SEED_MAX || j->expires_at < 0 ||
	    j->expires_at > AUTHD_TIME_MAX / 2 || j->expires_step < 0 ||
	    j->expires_step > 86400 * 366) {
		json_decref(body);
		free(j);
		reply_error(r, E_INVALID_FIELD);
		return;
	}
	json_decref(body);
	n = (size_t)j->members + j->teams + j->products;
	if ((j->ids = calloc(n + 1, AUTHD_ID_LEN)) == NULL) {
		free(j);
		reply_error(r, E_OVERLOADED);
		return;
	}
	authd_random(j->ids, n * AUTHD_ID_LEN);
	flow_start(&j->f, &seed_ops, r);
}
