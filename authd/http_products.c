/*
 * An organization's products, the rights granted on them, and the question
 * every other service of the host asks authd:
 *
 *   POST   /1/organizations/{org}/products                  {"kind", "name",
 *                                                           "expires_at"?}: add one
 *   GET    /1/organizations/{org}/products                  those the caller may use
 *                                                           (every one for managers)
 *   DELETE /1/organizations/{org}/products/{product}        remove one (and its grants)
 *   GET    /1/organizations/{org}/products/{product}/grants who has what on it
 *   PUT    /1/organizations/{org}/products/{product}/grants/{id}
 *                                                           {"subject": "member" | "team",
 *                                                           "rights", "resources"?}
 *   DELETE /1/organizations/{org}/products/{product}/grants/{id}
 *   GET    /1/organizations/{org}/products/{product}/access what the caller may do
 *                                                           there
 *
 * Rights are "use" and "manage"; a grant may narrow itself to some of the
 * product's resources (mailbox or folder names). Legal representatives and
 * administrators have every right everywhere; a collaborator or an
 * external user has the union of its own grant and its teams'
 * (core_access_of). A product the caller may not use answers as absent.
 */
#include "http.h"

#include "flow.h"

#include <billing.h>
#include "orgs.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCESS_FAST_GRANTS 4

/* The ids in the path: organization, then product, then a grant's
 * subject (each only when asked for). */
static bool path_ids(const char *param, uint8_t org[AUTHD_ID_LEN], uint8_t *product,
		     uint8_t *subject)
{
	uint8_t *out[3] = {org, product, subject};
	const char *p = param;

	for (int i = 0; i < 3 && out[i]; i++) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (authd_unhex(p, len, out[i], AUTHD_ID_LEN) != 0)
			return false;
		if (i < 2 && out[i + 1]) {
			if (slash == NULL)
				return false;
			p = slash + 1;
		}
	}
	return true;
}

static json_t *rights_json(unsigned rights)
{
	json_t *list = json_array();

	for (unsigned r = 1; list && r < PRODUCT_R__ALL; r <<= 1)
		if (rights & r)
			json_array_append_new(list, json_string(core_product_right_name(r)));
	return list;
}

static json_t *resources_json(const char (*res)[GRANT_RESOURCE_MAX + 1], unsigned n)
{
	json_t *list = json_array();

	for (unsigned i = 0; list && i < n; i++)
		json_array_append_new(list, json_string(res[i]));
	return list;
}

static json_t *product_json(const struct product *p)
{
	char id[AUTHD_ID_HEX + 1], created[21], expires[21], due[21], blocked[21];

	authd_hex(p->id, AUTHD_ID_LEN, id);
	authd_time_str(p->created_at, created);
	authd_time_str(p->expires_at, expires);
	authd_time_str(billing_renewal_due(p->expires_at), due);
	authd_time_str(p->blocked_at, blocked);
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i, s:b, s:s?, s:s?}", "id", id, "kind",
			 core_product_kind_name((enum product_kind)p->kind), "name", p->name,
			 "created_at", created, "expires_at", p->expires_at ? expires : NULL,
			 "renewal_months", (int)p->renewal_months, "auto_renew", p->auto_renew,
			 "renewal_due", p->auto_renew && p->expires_at ? due : NULL, "blocked_at",
			 p->blocked_at ? blocked : NULL);
}

/* How an access was given, as the answers name it. */
static const struct {
	unsigned bit;
	const char *name;
} vias[] = {{ACCESS_VIA_ROLE, "role"},
	    {ACCESS_VIA_MEMBER, "member"},
	    {ACCESS_VIA_TEAM, "team"},
	    {ACCESS_VIA_PARTNER, "partner"}};

static json_t *access_json(const struct access *a)
{
	json_t *via = json_array();

	for (size_t i = 0; via && i < sizeof(vias) / sizeof(vias[0]); i++)
		if (a->via & vias[i].bit)
			json_array_append_new(via, json_string(vias[i].name));
	return json_pack("{s:o, s:o?, s:b, s:o}", "rights", rights_json(a->rights), "resources",
			 a->all_resources ? NULL : resources_json(a->resources, a->n_resources),
			 "resources_truncated", a->truncated, "via", via);
}

static json_t *grant_json(const struct grant *g)
{
	char id[AUTHD_ID_HEX + 1];

	authd_hex(g->subject, AUTHD_ID_LEN, id);
	return json_pack("{s:s, s:s, s:o, s:o?}", "subject_id", id, "subject",
			 g->subject_kind == GRANT_TEAM ? "team" : "member", "rights",
			 rights_json(g->rights), "resources",
			 g->n_resources ? resources_json(g->resources, g->n_resources) : NULL);
}

/* Who the caller is in the organization (a member, or a partner's
 * manager) and the policy on it: the refusal in f->err. */
static int org_gate(struct flow *f, struct store_txn *txn, const uint8_t org[AUTHD_ID_LEN],
		    struct org_principal *who)
{
	struct policy_resource res = {.org_id = org};
	int rc = orgs_principal(f, txn, org, who);

	if (rc != 0)
		return rc;
	res.org_role = who->me.role;
	res.partner = who->partner;
	f->err = flow_decide(f, &res, E_ORG_NOT_FOUND);
	return 0;
}

/* --- POST and GET /1/organizations/{org}/products ----------------------------------- */

struct add_flow {
	struct flow f;
	struct product p;
};

static int add_write(struct flow *f, struct store_txn *txn)
{
	struct add_flow *j = (struct add_flow *)f;
	struct org_principal who;
	json_t *detail;
	int rc;

	if ((rc = org_gate(f, txn, j->p.org_id, &who)) != 0 || f->err != E_OK)
		return rc;
	j->p.created_at = f->now;
	if ((detail = json_pack("{s:s, s:s}", "kind",
				core_product_kind_name((enum product_kind)j->p.kind), "name",
				j->p.name)) == NULL)
		return STORE_E_IO;
	if ((rc = store_product_put(txn, &j->p)) == 0)
		rc = orgs_audit(f, txn, j->p.org_id, NULL, AUDIT_PRODUCT_ADDED, j->p.id, detail);
	json_decref(detail);
	return rc;
}

static void add_reply(struct flow *f, struct req *r)
{
	struct add_flow *j = (struct add_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 201, product_json(&j->p));
}

static void plain_release(struct flow *f)
{
	free(f);
}

static const struct flow_ops add_ops = {
    .write = add_write,
    .reply = add_reply,
    .release = plain_release,
};

void http_org_product_add(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"kind", JSON_STRING, true, 16},
	    {"name", JSON_STRING, true, NAME_MAX_B},
	    {"expires_at", JSON_INTEGER, false, 0},
	    {"renewal_months", JSON_INTEGER, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 4);
	json_t *months;
	struct add_flow *j = NULL;
	const char *name;
	size_t nlen;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!path_ids(r->param, j->p.org_id, NULL, NULL)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	if ((j->p.kind = (uint8_t)core_product_kind_parse(json_str(body, "kind", NULL))) == 0) {
		reply_field_error(r, E_INVALID_FIELD, "kind",
				  "must be mail, drive, chat, hosting, domain or other");
		goto out;
	}
	name = json_str(body, "name", &nlen);
	if (nlen == 0 || !authd_utf8_printable(name, nlen) || authd_utf8_count(name, nlen) > 100) {
		reply_field_error(r, E_INVALID_FIELD, "name", "must have 1 to 100 characters");
		goto out;
	}
	memcpy(j->p.name, name, nlen);
	j->p.expires_at = (int64_t)json_integer_value(json_object_get(body, "expires_at"));
	if (j->p.expires_at < 0 || j->p.expires_at > AUTHD_TIME_MAX) {
		reply_field_error(r, E_INVALID_FIELD, "expires_at",
				  "must be a unix time before the year 10000");
		goto out;
	}
	j->p.renewal_months = PRODUCT_RENEWAL_DEFAULT;
	if ((months = json_object_get(body, "renewal_months")) != NULL) {
		json_int_t m = json_integer_value(months);

		if (m < 1 || m > PRODUCT_RENEWAL_MAX) {
			reply_field_error(r, E_INVALID_FIELD, "renewal_months",
					  "must be 1 to 120 months");
			goto out;
		}
		j->p.renewal_months = (uint16_t)m;
	}
	authd_random(j->p.id, AUTHD_ID_LEN);
	json_decref(body);
	flow_start(&j->f, &add_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

struct list_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	struct store_txn *txn;
	struct org_principal who;
};

static int list_one(void *arg, const struct product *p)
{
	struct list_flow *j = arg;
	struct access a;
	json_t *o;
	int rc = orgs_access(j->txn, &j->who, p->id, &a);

	if (rc != 0 || a.rights == 0)
		return rc; /* not this member's: not listed */
	if ((o = product_json(p)) == NULL ||
	    json_object_set_new(o, "access", access_json(&a)) != 0 ||
	    json_array_append_new(j->l.list, o) != 0)
		return STORE_E_IO;
	return 0;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct list_flow *j = (struct list_flow *)f;
	int rc;

	if ((rc = org_gate(f, txn, j->org_id, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	flow_audit_read(f, j->org_id, "products", NULL);
	j->txn = txn;
	rc = store_products_list(txn, j->org_id, list_one, j);
	j->txn = NULL;
	return rc;
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

void http_org_products(struct req *r)
{
	struct list_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!path_ids(r->param, j->org_id, NULL, NULL)) {
		flow_list_release(&j->l.f);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	j->l.key = "products";
	flow_start(&j->l.f, &list_ops, r);
}

/* --- one product: removal, grants, access -------------------------------------------- */

struct product_flow {
	struct flow_list l; /* the grants' list */
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t product_id[AUTHD_ID_LEN];
	uint8_t subject[AUTHD_ID_LEN];
	struct product p;
	struct org_principal who;
	struct access access;
	/* A grant's change. */
	bool remove;
	struct grant g;
	/* The access decision's grants, read at once (most members are in
	 * few teams; more take the general way). */
	struct grant grants[ACCESS_FAST_GRANTS];
};

/* The organization's gate, then the product: E_PRODUCT_NOT_FOUND when it
 * is not there, or not among those a partner was let in to. */
static int product_gate(struct product_flow *j, struct store_txn *txn)
{
	int rc = org_gate(&j->l.f, txn, j->org_id, &j->who);

	if (rc != 0 || j->l.f.err != E_OK)
		return rc;
	if ((rc = store_product_get(txn, j->org_id, j->product_id, &j->p)) == STORE_E_NOTFOUND ||
	    (rc == 0 && j->who.partner && !core_partner_covers(&j->who.link, j->product_id))) {
		j->l.f.err = E_PRODUCT_NOT_FOUND;
		return 0;
	}
	return rc;
}

static int remove_write(struct flow *f, struct store_txn *txn)
{
	struct product_flow *j = (struct product_flow *)f;
	int rc = product_gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_product_del(txn, j->org_id, j->product_id)) != 0)
		return rc;
	return orgs_audit(f, txn, j->org_id, NULL, AUDIT_PRODUCT_REMOVED, j->product_id, NULL);
}

static const struct flow_ops remove_ops = {
    .write = remove_write,
    .release = flow_list_release,
};

static int grants_one(void *arg, const struct grant *g)
{
	struct product_flow *j = arg;

	return json_array_append_new(j->l.list, grant_json(g)) == 0 ? 0 : STORE_E_IO;
}

static int grants_read(struct flow *f, struct store_txn *txn)
{
	struct product_flow *j = (struct product_flow *)f;
	int rc = product_gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	flow_audit_read(f, j->org_id, "grants", j->product_id);
	return store_grants_list(txn, j->org_id, j->product_id, grants_one, j);
}

static const struct flow_ops grants_ops = {
    .read = grants_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

static int grant_write(struct flow *f, struct store_txn *txn)
{
	struct product_flow *j = (struct product_flow *)f;
	struct member m;
	struct team tm;
	char pid[AUTHD_ID_HEX + 1];
	json_t *detail = NULL;
	int rc = product_gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if (j->remove) {
		if ((rc = store_grant_get(txn, j->org_id, j->product_id, j->subject, &j->g)) ==
		    STORE_E_NOTFOUND) {
			f->err = E_SUBJECT_NOT_FOUND;
			return 0;
		}
		if (rc != 0 ||
		    (rc = store_grant_del(txn, j->org_id, j->product_id, j->subject)) != 0)
			return rc;
		authd_hex(j->product_id, AUTHD_ID_LEN, pid);
		if ((detail = json_pack("{s:s}", "product_id", pid)) == NULL)
			return STORE_E_IO;
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_GRANT_REMOVED, j->subject, detail);
		json_decref(detail);
		return rc;
	}
	/* The subject is the organization's: one of its members, or teams. */
	rc = j->g.subject_kind == GRANT_TEAM ? store_team_get(txn, j->org_id, j->subject, &tm)
					     : store_member_get(txn, j->org_id, j->subject, &m);
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_SUBJECT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	memcpy(j->g.org_id, j->org_id, AUTHD_ID_LEN);
	memcpy(j->g.product_id, j->product_id, AUTHD_ID_LEN);
	memcpy(j->g.subject, j->subject, AUTHD_ID_LEN);
	authd_hex(j->product_id, AUTHD_ID_LEN, pid);
	if ((detail = grant_json(&j->g)) == NULL ||
	    json_object_set_new(detail, "product_id", json_string(pid)) != 0) {
		json_decref(detail);
		return STORE_E_IO;
	}
	if ((rc = store_grant_put(txn, &j->g)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_GRANT_CHANGED, j->subject, detail);
	json_decref(detail);
	return rc;
}

static void grant_reply(struct flow *f, struct req *r)
{
	struct product_flow *j = (struct product_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else if (j->remove)
		reply_empty(r, 204);
	else
		reply_json(r, 200, grant_json(&j->g));
}

static const struct flow_ops grant_ops = {
    .write = grant_write,
    .reply = grant_reply,
    .release = flow_list_release,
};

/* A member's decision from one read of its facts (the common case, one
 * round trip on PostgreSQL); anyone else, or a member in many teams, by
 * the general way. */
static int access_read(struct flow *f, struct store_txn *txn)
{
	struct product_flow *j = (struct product_flow *)f;
	struct policy_resource res = {.org_id = j->org_id};
	size_t n = 0;
	bool has_product = false;
	int rc =
	    store_access_facts(txn, j->org_id, j->product_id, f->session.account_id, &j->who.me,
			       &j->p, &has_product, j->grants, ACCESS_FAST_GRANTS, &n);

	if (rc != 0)
		return rc;
	if (j->who.me.role != 0 && n < ACCESS_FAST_GRANTS) {
		memset(&j->who.link, 0, sizeof(j->who.link));
		j->who.partner = false;
		f->via_partner = false;
		res.org_role = j->who.me.role;
		if ((f->err = flow_decide(f, &res, E_ORG_NOT_FOUND)) != E_OK)
			return 0;
		if (!has_product) {
			f->err = E_PRODUCT_NOT_FOUND;
			return 0;
		}
		core_access_of(&j->who.me, j->grants, n, &j->access);
	} else {
		if ((rc = product_gate(j, txn)) != 0 || f->err != E_OK)
			return rc;
		if ((rc = orgs_access(txn, &j->who, j->product_id, &j->access)) != 0)
			return rc;
	}
	if (j->access.rights == 0)
		f->err = E_PRODUCT_NOT_FOUND; /* not this member's to see */
	else if (j->p.blocked_at != 0)
		f->err = E_PRODUCT_BLOCKED; /* nobody reaches it until it is paid */
	else
		flow_audit_read(f, j->org_id, "access", j->product_id);
	return 0;
}

/* Writes a JSON string (escaped) to out. */
static void put_str(FILE *out, const char *s)
{
	char esc[6 * (GRANT_RESOURCE_MAX + NAME_MAX_B) + 8];

	json_escape(s, esc, sizeof(esc));
	fprintf(out, "\"%s\"", esc);
}

/* The answer every other service asks for, written directly: with the
 * access check itself, it is what this endpoint costs. */
static void access_reply(struct flow *f, struct req *r)
{
	struct product_flow *j = (struct product_flow *)f;
	const struct access *a = &j->access;
	char org[AUTHD_ID_HEX + 1], pid[AUTHD_ID_HEX + 1], created[21], expires[21];
	bool billing = j->who.partner ? j->who.link.billing : (j->who.me.rights & MEMBER_R_BILLING);
	char *text = NULL;
	size_t len = 0;
	const char *sep = "";
	FILE *out;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if ((out = open_memstream(&text, &len)) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	authd_hex(j->org_id, AUTHD_ID_LEN, org);
	authd_hex(j->p.id, AUTHD_ID_LEN, pid);
	authd_time_str(j->p.created_at, created);
	authd_time_str(j->p.expires_at, expires);
	fputs("{\"rights\":[", out);
	for (unsigned b = 1; b < PRODUCT_R__ALL; b <<= 1)
		if (a->rights & b) {
			fprintf(out, "%s\"%s\"", sep, core_product_right_name(b));
			sep = ",";
		}
	fputs("],\"resources\":", out);
	if (a->all_resources) {
		fputs("null", out);
	} else {
		fputc('[', out);
		for (unsigned i = 0; i < a->n_resources; i++) {
			if (i)
				fputc(',', out);
			put_str(out, a->resources[i]);
		}
		fputc(']', out);
	}
	fprintf(out, ",\"resources_truncated\":%s,\"via\":[", a->truncated ? "true" : "false");
	sep = "";
	for (size_t i = 0; i < sizeof(vias) / sizeof(vias[0]); i++)
		if (a->via & vias[i].bit) {
			fprintf(out, "%s\"%s\"", sep, vias[i].name);
			sep = ",";
		}
	fprintf(out,
		"],\"organization_id\":\"%s\",\"product\":{\"id\":\"%s\",\"kind\":\"%s\","
		"\"name\":",
		org, pid, core_product_kind_name((enum product_kind)j->p.kind));
	put_str(out, j->p.name);
	fprintf(out, ",\"created_at\":\"%s\",\"expires_at\":", created);
	if (j->p.expires_at)
		fprintf(out, "\"%s\"", expires);
	else
		fputs("null", out);
	if (j->who.partner)
		fputs("},\"role\":null", out);
	else
		fprintf(out, "},\"role\":\"%s\"", core_role_name(j->who.me.role));
	fprintf(out, ",\"external\":%s,\"billing\":%s}",
		j->who.me.role == ROLE_EXTERNAL ? "true" : "false", billing ? "true" : "false");
	if (fclose(out) != 0 || text == NULL) {
		free(text);
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json_text(r, 200, text, len);
}

static const struct flow_ops access_ops = {
    .read = access_read,
    .reply = access_reply,
    .release = flow_list_release,
};

/* The flow of a request about one product (and a grant's subject): no
 * query, ids in the path; NULL after replying. */
static struct product_flow *product_flow_or_reply(struct req *r, bool subject)
{
	struct product_flow *j = flow_get_new_or_reply(r, sizeof(*j));

	if (j == NULL)
		return NULL;
	if (!path_ids(r->param, j->org_id, j->product_id, subject ? j->subject : NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return NULL;
	}
	return j;
}

void http_org_product_remove(struct req *r)
{
	struct product_flow *j;

	if ((j = product_flow_or_reply(r, false)) != NULL)
		flow_start(&j->l.f, &remove_ops, r);
}

void http_org_product_grants(struct req *r)
{
	struct product_flow *j;

	if ((j = product_flow_or_reply(r, false)) == NULL)
		return;
	j->l.key = "grants";
	flow_start(&j->l.f, &grants_ops, r);
}

void http_org_product_access(struct req *r)
{
	struct product_flow *j;

	if ((j = product_flow_or_reply(r, false)) == NULL)
		return;
	/* access_read's first two reads, said ahead (one PostgreSQL statement). */
	j->l.f.read_first_access = true;
	memcpy(j->l.f.job.first_org, j->org_id, AUTHD_ID_LEN);
	memcpy(j->l.f.job.first_product, j->product_id, AUTHD_ID_LEN);
	flow_start(&j->l.f, &access_ops, r);
}

void http_org_product_grant_remove(struct req *r)
{
	struct product_flow *j;

	if ((j = product_flow_or_reply(r, true)) == NULL)
		return;
	j->remove = true;
	flow_start(&j->l.f, &grant_ops, r);
}

/* A grant's body: its subject's kind, rights and resources. */
static bool grant_or_reply(struct req *r, json_t *body, struct grant *g)
{
	const char *subject = json_str(body, "subject", NULL);
	json_t *v;
	size_t i;

	g->subject_kind = strcmp(subject, "team") == 0	   ? GRANT_TEAM
			  : strcmp(subject, "member") == 0 ? GRANT_MEMBER
							   : 0;
	if (g->subject_kind == 0) {
		reply_field_error(r, E_INVALID_FIELD, "subject", "must be member or team");
		return false;
	}
	json_array_foreach(json_object_get(body, "rights"), i, v)
	{
		unsigned right =
		    json_is_string(v) ? core_product_right_parse(json_string_value(v)) : 0;

		if (right == 0) {
			reply_field_error(r, E_INVALID_FIELD, "rights", "must list use or manage");
			return false;
		}
		g->rights |= right;
	}
	if (g->rights == 0) {
		reply_field_error(r, E_INVALID_FIELD, "rights", "must name at least one right");
		return false;
	}
	if (json_array_size(json_object_get(body, "resources")) > GRANT_RESOURCES_MAX) {
		reply_field_error(r, E_INVALID_FIELD, "resources", "must list at most 8 names");
		return false;
	}
	json_array_foreach(json_object_get(body, "resources"), i, v)
	{
		const char *s = json_string_value(v);
		size_t len = s ? strlen(s) : 0;

		if (s == NULL || len == 0 || len > GRANT_RESOURCE_MAX ||
		    !authd_utf8_printable(s, len)) {
			reply_field_error(r, E_INVALID_FIELD, "resources",
					  "must be names of 1 to 254 bytes");
			return false;
		}
		memcpy(g->resources[g->n_resources++], s, len + 1);
	}
	return true;
}

void http_org_product_grant_set(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"subject", JSON_STRING, true, 16},
	    {"rights", JSON_ARRAY, true, 0},
	    {"resources", JSON_ARRAY, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct product_flow *j;

	if (body == NULL)
		return;
	if ((j = product_flow_or_reply(r, true)) == NULL) {
		json_decref(body);
		return;
	}
	if (!grant_or_reply(r, body, &j->g)) {
		json_decref(body);
		free(j);
		return;
	}
	json_decref(body);
	flow_start(&j->l.f, &grant_ops, r);
}
