/*
 * An organization's billing addresses, and the currency the default one
 * decides (core.h's struct billing_address):
 *
 *   GET    /1/organizations/{org}/billing/addresses       {"currency", "addresses"}
 *   POST   /1/organizations/{org}/billing/addresses       a new one (201)
 *   PATCH  /1/organizations/{org}/billing/addresses/{id}  change one, or make
 *                                                         it the default
 *   DELETE /1/organizations/{org}/billing/addresses/{id}  remove one
 *   PUT    /1/organizations/{org}/products/{p}/auto-renewal {"enabled"}: a
 *                                                         product renews by
 *                                                         itself, or not
 *
 * Only who holds the billing right there sees or changes billing (the
 * policy's `billing` rule: a member with the right, whatever the role, or
 * a partner organization's managers when the relation gives billing).
 * The first address is the default; the default stays one until another
 * takes its place. Every change is a record of the organization's trail.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"

#include <billing.h>

#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields a body may set, and which it did. */
enum addr_field {
	AF_NAME = 1 << 0,
	AF_LINE1 = 1 << 1,
	AF_LINE2 = 1 << 2,
	AF_POSTAL = 1 << 3,
	AF_CITY = 1 << 4,
	AF_COUNTRY = 1 << 5,
	AF_VAT = 1 << 6,
	AF_DEFAULT = 1 << 7,
};

struct billing_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
	struct billing_address in; /* what the body gave */
	unsigned set;		   /* enum addr_field */
	bool create, remove;
	struct billing_address out; /* as written */
	struct billing_address *v;  /* the organization's */
	size_t n, cap;
	struct org_principal who; /* the gate's */
};

static void billing_release(struct flow *f)
{
	struct billing_flow *j = (struct billing_flow *)f;

	free(j->v);
	free(j);
}

static int address_collect(void *arg, const struct billing_address *a)
{
	struct billing_flow *j = arg;

	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 8;
		void *p = realloc(j->v, cap * sizeof(*j->v));

		if (p == NULL)
			return STORE_E_IO;
		j->v = p;
		j->cap = cap;
	}
	j->v[j->n++] = *a;
	return 0;
}

/* The gate, then the organization's addresses into j->v. */
static int billing_read(struct billing_flow *j, struct store_txn *txn)
{
	int rc;

	j->n = 0;
	if ((rc = orgs_billing_gate(&j->f, txn, j->org_id, NULL, &j->who)) != 0 || j->f.err != E_OK)
		return rc;
	return store_addresses_list(txn, j->org_id, address_collect, j);
}

/* The currency the default address decides (0: no address yet). */
static enum currency currency_of(const struct billing_flow *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->v[i].is_default)
			return core_currency_of_country(j->v[i].country);
	return 0;
}

static json_t *address_json(const struct billing_address *a)
{
	char id[AUTHD_ID_HEX + 1], created[21];

	authd_hex(a->id, AUTHD_ID_LEN, id);
	authd_time_str(a->created_at, created);
	return json_pack(
	    "{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:s?, s:b, s:s, s:s}", "id", id, "name", a->name,
	    "line1", a->line1, "line2", a->line2[0] ? a->line2 : NULL, "postal_code",
	    a->postal_code, "city", a->city, "country", a->country, "vat_number",
	    a->vat_number[0] ? a->vat_number : NULL, "default", a->is_default, "currency",
	    core_currency_name(core_currency_of_country(a->country)), "created_at", created);
}

/* --- GET ------------------------------------------------------------------------------ */

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct billing_flow *j = (struct billing_flow *)f;
	int rc = billing_read(j, txn);

	if (rc == 0 && f->err == E_OK)
		flow_audit_read(f, j->org_id, "billing_addresses", NULL);
	return rc;
}

static void list_reply(struct flow *f, struct req *r)
{
	struct billing_flow *j = (struct billing_flow *)f;
	enum currency c = currency_of(j);
	json_t *list = json_array();

	if (f->err != E_OK) {
		json_decref(list);
		flow_reply_error(f, r);
		return;
	}
	for (size_t i = 0; list && i < j->n; i++)
		if (json_array_append_new(list, address_json(&j->v[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	if (list == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json(r, 200,
		   json_pack("{s:s?, s:o}", "currency", c ? core_currency_name(c) : NULL,
			     "addresses", list));
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = list_reply,
    .release = billing_release,
};

/* --- POST, PATCH, DELETE -------------------------------------------------------------- */

/* Makes def the one default among the others (j->v, as read). */
static int defaults_write(struct billing_flow *j, struct store_txn *txn, const uint8_t *def)
{
	int rc = 0;

	/* def itself was just written as it now is: only the others change. */
	for (size_t i = 0; rc == 0 && i < j->n; i++)
		if (memcmp(j->v[i].id, def, AUTHD_ID_LEN) != 0 && j->v[i].is_default) {
			j->v[i].is_default = false;
			rc = store_address_put(txn, &j->v[i]);
		}
	return rc;
}

static void apply(struct billing_address *a, const struct billing_flow *j)
{
	if (j->set & AF_NAME)
		memcpy(a->name, j->in.name, sizeof(a->name));
	if (j->set & AF_LINE1)
		memcpy(a->line1, j->in.line1, sizeof(a->line1));
	if (j->set & AF_LINE2)
		memcpy(a->line2, j->in.line2, sizeof(a->line2));
	if (j->set & AF_POSTAL)
		memcpy(a->postal_code, j->in.postal_code, sizeof(a->postal_code));
	if (j->set & AF_CITY)
		memcpy(a->city, j->in.city, sizeof(a->city));
	if (j->set & AF_COUNTRY)
		memcpy(a->country, j->in.country, sizeof(a->country));
	if (j->set & AF_VAT)
		memcpy(a->vat_number, j->in.vat_number, sizeof(a->vat_number));
}

static int change_write(struct flow *f, struct store_txn *txn)
{
	struct billing_flow *j = (struct billing_flow *)f;
	struct billing_address *a = NULL;
	enum audit_action action;
	char aid[AUTHD_ID_HEX + 1];
	json_t *detail;
	int rc = billing_read(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	for (size_t i = 0; i < j->n; i++)
		if (memcmp(j->v[i].id, j->id, AUTHD_ID_LEN) == 0)
			a = &j->v[i];
	if (j->remove) {
		if (a == NULL) {
			f->err = E_ADDRESS_NOT_FOUND;
			return 0;
		}
		if (a->is_default && j->n > 1) {
			f->err = E_DEFAULT_ADDRESS;
			return 0;
		}
		if ((rc = store_address_del(txn, j->org_id, j->id)) != 0)
			return rc;
		return orgs_audit(f, txn, j->org_id, NULL, AUDIT_ADDRESS_REMOVED, j->id, NULL);
	}
	if (j->create) {
		if (j->n >= BILLING_ADDRESSES_MAX) {
			f->err = E_TOO_MANY_ADDRESSES;
			return 0;
		}
		memset(&j->out, 0, sizeof(j->out));
		memcpy(j->out.id, j->id, AUTHD_ID_LEN);
		memcpy(j->out.org_id, j->org_id, AUTHD_ID_LEN);
		apply(&j->out, j);
		j->out.created_at = f->now;
		/* The first is the default; a later one when it says so. */
		j->out.is_default = j->n == 0 || ((j->set & AF_DEFAULT) && j->in.is_default);
		action = AUDIT_ADDRESS_ADDED;
	} else {
		if (a == NULL) {
			f->err = E_ADDRESS_NOT_FOUND;
			return 0;
		}
		if ((j->set & AF_DEFAULT) && !j->in.is_default && a->is_default) {
			f->err = E_DEFAULT_ADDRESS; /* another takes its place, not none */
			return 0;
		}
		j->out = *a;
		apply(&j->out, j);
		j->out.is_default = a->is_default || ((j->set & AF_DEFAULT) && j->in.is_default);
		action = AUDIT_ADDRESS_CHANGED;
	}
	if ((rc = store_address_put(txn, &j->out)) != 0)
		return rc;
	if (j->out.is_default && (rc = defaults_write(j, txn, j->out.id)) != 0)
		return rc;
	authd_hex(j->out.id, AUTHD_ID_LEN, aid);
	if ((detail = json_pack("{s:s, s:b}", "country", j->out.country, "default",
				j->out.is_default)) == NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, j->org_id, NULL, action, j->out.id, detail);
	json_decref(detail);
	return rc;
}

static void change_reply(struct flow *f, struct req *r)
{
	struct billing_flow *j = (struct billing_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else if (j->remove)
		reply_empty(r, 204);
	else
		reply_json(r, j->create ? 201 : 200, address_json(&j->out));
}

static const struct flow_ops change_ops = {
    .write = change_write,
    .reply = change_reply,
    .release = billing_release,
};

/* Copies the body's text field name (1..max code points of printable
 * text; "" allowed when empty_ok) into out; false after replying. */
static bool text_or_reply(struct req *r, json_t *body, const char *name, size_t max_cp,
			  bool empty_ok, char *out, size_t size)
{
	size_t len;
	const char *s = json_str(body, name, &len);
	char detail[64];

	if (s == NULL)
		return true;
	if ((len == 0 && !empty_ok) || len >= size ||
	    (len && (!authd_utf8_printable(s, len) || authd_utf8_count(s, len) > max_cp))) {
		snprintf(detail, sizeof(detail), "must have %s to %zu characters",
			 empty_ok ? "0" : "1", max_cp);
		reply_field_error(r, E_INVALID_FIELD, name, detail);
		return false;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static void change(struct req *r, bool create, bool remove)
{
	static const struct field_spec spec[] = {
	    {"name", JSON_STRING, false, ADDRESS_LINE_MAX},
	    {"line1", JSON_STRING, false, ADDRESS_LINE_MAX},
	    {"line2", JSON_STRING, false, ADDRESS_LINE_MAX},
	    {"postal_code", JSON_STRING, false, POSTAL_CODE_MAX},
	    {"city", JSON_STRING, false, ADDRESS_LINE_MAX},
	    {"country", JSON_STRING, false, 2},
	    {"vat_number", JSON_STRING, false, VAT_NUMBER_MAX},
	    {"default", JSON_TRUE, false, 0},
	};
	static const char *const required[] = {"name", "line1", "postal_code", "city", "country"};
	struct billing_flow *j = NULL;
	json_t *body = NULL;
	json_t *def;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (!remove &&
	     (body = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]))) == NULL))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	j->create = create;
	j->remove = remove;
	if (!req_path_ids(r->param, j->org_id, create ? NULL : j->id)) {
		reply_error(r, req_path_ids(r->param, j->org_id, NULL) ? E_ADDRESS_NOT_FOUND
								       : E_ORG_NOT_FOUND);
		goto out;
	}
	memcpy(j->f.job.group_key, j->org_id, AUTHD_ID_LEN); /* store.h */
	if (remove) {
		flow_start(&j->f, &change_ops, r);
		return;
	}
	for (size_t i = 0; create && i < sizeof(required) / sizeof(required[0]); i++)
		if (json_object_get(body, required[i]) == NULL) {
			reply_field_error(r, E_MISSING_FIELD, required[i], NULL);
			goto out;
		}
	if (!text_or_reply(r, body, "name", 100, false, j->in.name, sizeof(j->in.name)) ||
	    !text_or_reply(r, body, "line1", 100, false, j->in.line1, sizeof(j->in.line1)) ||
	    !text_or_reply(r, body, "line2", 100, true, j->in.line2, sizeof(j->in.line2)) ||
	    !text_or_reply(r, body, "postal_code", POSTAL_CODE_MAX, false, j->in.postal_code,
			   sizeof(j->in.postal_code)) ||
	    !text_or_reply(r, body, "city", 100, false, j->in.city, sizeof(j->in.city)) ||
	    !text_or_reply(r, body, "country", 2, false, j->in.country, sizeof(j->in.country)) ||
	    !text_or_reply(r, body, "vat_number", VAT_NUMBER_MAX, true, j->in.vat_number,
			   sizeof(j->in.vat_number)))
		goto out;
	if (json_object_get(body, "country") && !core_country_ok(j->in.country)) {
		reply_field_error(r, E_INVALID_FIELD, "country",
				  "must be an ISO 3166-1 alpha-2 code (two capital letters)");
		goto out;
	}
	{
		static const struct {
			const char *name;
			unsigned bit;
		} bits[] = {{"name", AF_NAME},	    {"line1", AF_LINE1},
			    {"line2", AF_LINE2},    {"postal_code", AF_POSTAL},
			    {"city", AF_CITY},	    {"country", AF_COUNTRY},
			    {"vat_number", AF_VAT}, {"default", AF_DEFAULT}};

		for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (json_object_get(body, bits[i].name))
				j->set |= bits[i].bit;
	}
	if ((def = json_object_get(body, "default")) != NULL)
		j->in.is_default = json_is_true(def);
	if (create)
		authd_random(j->id, AUTHD_ID_LEN);
	else if (j->set == 0) {
		reply_field_error(r, E_MISSING_FIELD, NULL, "nothing to change");
		goto out;
	}
	json_decref(body);
	flow_start(&j->f, &change_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

void http_org_addresses(struct req *r)
{
	struct billing_flow *j;

	if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &list_ops, r);
}

void http_org_address_add(struct req *r)
{
	change(r, true, false);
}

void http_org_address_change(struct req *r)
{
	change(r, false, false);
}

void http_org_address_remove(struct req *r)
{
	change(r, false, true);
}

/* --- a product's auto-renewal ----------------------------------------------------------- */

struct renew_flow {
	struct billing_flow b; /* the gate's */
	uint8_t product_id[AUTHD_ID_LEN];
	bool enabled;
	struct product p;
};

static int renew_write(struct flow *f, struct store_txn *txn)
{
	struct renew_flow *j = (struct renew_flow *)f;
	json_t *detail;
	int rc = orgs_billing_gate(&j->b.f, txn, j->b.org_id, j->product_id, &j->b.who);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_product_get(txn, j->b.org_id, j->product_id, &j->p)) == STORE_E_NOTFOUND) {
		f->err = E_PRODUCT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	/* A partner's managers only on the products their relations cover
	 * (the gate asked for one that also gives billing). */
	if (j->b.who.partner && !core_partner_covers(&j->b.who.link, j->product_id)) {
		f->err = E_PRODUCT_NOT_FOUND;
		return 0;
	}
	if (j->enabled == j->p.auto_renew)
		return 0; /* as asked already */
	if (j->enabled && j->p.expires_at == 0) {
		f->err = E_NO_EXPIRY;
		return 0;
	}
	/* Never closer to expiry than the first attempt would come: renew
	 * first (billing.h). */
	if (j->enabled && !billing_autorenew_allowed(j->p.expires_at, f->now)) {
		f->err = E_RENEW_FIRST;
		return 0;
	}
	j->p.auto_renew = j->enabled;
	if ((detail = json_pack("{s:b}", "enabled", j->enabled)) == NULL)
		return STORE_E_IO;
	if ((rc = store_product_update(txn, &j->p)) == 0)
		rc = orgs_audit(f, txn, j->b.org_id, NULL, AUDIT_AUTO_RENEWAL_CHANGED, j->p.id,
				detail);
	json_decref(detail);
	return rc;
}

static void renew_reply(struct flow *f, struct req *r)
{
	struct renew_flow *j = (struct renew_flow *)f;
	char pid[AUTHD_ID_HEX + 1], due[21];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->p.id, AUTHD_ID_LEN, pid);
	authd_time_str(billing_renewal_due(j->p.expires_at), due);
	reply_json(r, 200,
		   json_pack("{s:s, s:b, s:s?}", "product_id", pid, "auto_renew", j->p.auto_renew,
			     "renewal_due", j->p.auto_renew ? due : NULL));
}

static const struct flow_ops renew_ops = {
    .write = renew_write,
    .reply = renew_reply,
    .release = billing_release,
};

void http_org_product_auto_renewal(struct req *r)
{
	static const struct field_spec spec[] = {{"enabled", JSON_TRUE, true, 0}};
	struct renew_flow *j = NULL;
	json_t *body;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, spec, 1)) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		json_decref(body);
		return;
	}
	j->enabled = json_is_true(json_object_get(body, "enabled"));
	json_decref(body);
	if (!req_path_ids(r->param, j->b.org_id, j->product_id)) {
		reply_error(r, req_path_ids(r->param, j->b.org_id, NULL) ? E_PRODUCT_NOT_FOUND
									 : E_ORG_NOT_FOUND);
		free(j);
		return;
	}
	flow_start(&j->b.f, &renew_ops, r);
}
