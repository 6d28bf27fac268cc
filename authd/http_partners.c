/*
 * Partner relations: an organization lets a partner organization (a
 * reseller, an agency) manage all or some of its products, with or
 * without its billing.
 *
 *   POST   /1/organizations/{org}/partners          {"partner_organization_id",
 *                                                   "products": "all" | [ids],
 *                                                   "billing"?}: let one in
 *   GET    /1/organizations/{org}/partners          its partners, and its clients
 *   DELETE /1/organizations/{org}/partners/{other}  end the relation, from either
 *                                                   side, at once
 *
 * The partner's legal representatives and administrators then act on the
 * client's products within the relation, through the same policy point
 * (orgs_principal: a partner principal); what they change is in the
 * client's audit trail as done via the partner. Every request reads the
 * relation from the store: an ended one stops working on every node.
 */
#include "http.h"

#include "flow.h"
#include "orgs.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTNERS_SHOWN 256

struct partner_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t other[AUTHD_ID_LEN];
	struct partner_link link; /* to write */
	/* the listing */
	json_t *partners, *clients;
};

static json_t *link_json(const struct partner_link *l, bool as_client)
{
	char id[AUTHD_ID_HEX + 1], created[21];
	json_t *products = l->all_products ? json_string("all") : json_array();

	for (unsigned i = 0; products && !l->all_products && i < l->n_products; i++) {
		authd_hex(l->products[i], AUTHD_ID_LEN, id);
		json_array_append_new(products, json_string(id));
	}
	authd_hex(as_client ? l->partner_org : l->client_org, AUTHD_ID_LEN, id);
	authd_time_str(l->created_at, created);
	return json_pack("{s:s, s:o, s:b, s:s}", "organization_id", id, "products", products,
			 "billing", l->billing, "created_at", created);
}

static int gate(struct partner_flow *j, struct store_txn *txn)
{
	struct policy_resource res = {.org_id = j->org_id, .billing = j->link.billing};
	struct member me;
	int rc = orgs_principal_member(&j->f, txn, j->org_id, &me);

	if (rc != 0)
		return rc;
	res.org_role = me.role;
	res.actor_billing = (me.rights & MEMBER_R_BILLING) != 0;
	j->f.err = flow_decide(&j->f, &res, E_ORG_NOT_FOUND);
	return 0;
}

static void partner_release(struct flow *f)
{
	struct partner_flow *j = (struct partner_flow *)f;

	json_decref(j->partners);
	json_decref(j->clients);
	free(j);
}

/* --- POST -------------------------------------------------------------------------------- */

static int add_write(struct flow *f, struct store_txn *txn)
{
	struct partner_flow *j = (struct partner_flow *)f;
	struct org o;
	json_t *detail;
	int rc = gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	/* The partner exists (and is another), and the products are the
	 * client's. */
	if (memcmp(j->link.partner_org, j->org_id, AUTHD_ID_LEN) == 0 ||
	    (rc = store_org_get(txn, j->link.partner_org, &o)) == STORE_E_NOTFOUND) {
		f->err = E_SUBJECT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < j->link.n_products; i++) {
		struct product p;

		if ((rc = store_product_get(txn, j->org_id, j->link.products[i], &p)) ==
		    STORE_E_NOTFOUND) {
			f->err = E_PRODUCT_NOT_FOUND;
			return 0;
		}
		if (rc != 0)
			return rc;
	}
	memcpy(j->link.client_org, j->org_id, AUTHD_ID_LEN);
	j->link.created_at = f->now;
	if ((detail = link_json(&j->link, true)) == NULL)
		return STORE_E_IO;
	if ((rc = store_partner_put(txn, &j->link)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_PARTNER_ADDED, j->link.partner_org,
				detail);
	json_decref(detail);
	return rc;
}

static void add_reply(struct flow *f, struct req *r)
{
	struct partner_flow *j = (struct partner_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 201, link_json(&j->link, true));
}

static const struct flow_ops add_ops = {
    .write = add_write,
    .reply = add_reply,
    .release = partner_release,
};

/* --- GET ---------------------------------------------------------------------------------- */

static int partner_one(void *arg, const struct partner_link *l)
{
	json_t *list = arg;

	if (json_array_size(list) >= PARTNERS_SHOWN)
		return 0;
	return json_array_append_new(list, link_json(l, true)) == 0 ? 0 : STORE_E_IO;
}

static int client_one(void *arg, const struct partner_link *l)
{
	json_t *list = arg;

	if (json_array_size(list) >= PARTNERS_SHOWN)
		return 0;
	return json_array_append_new(list, link_json(l, false)) == 0 ? 0 : STORE_E_IO;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct partner_flow *j = (struct partner_flow *)f;
	int rc = gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	json_decref(j->partners);
	json_decref(j->clients);
	j->partners = json_array();
	j->clients = json_array();
	if (j->partners == NULL || j->clients == NULL)
		return STORE_E_IO;
	if ((rc = store_partners_list(txn, j->org_id, true, partner_one, j->partners)) != 0)
		return rc;
	return store_partners_list(txn, j->org_id, false, client_one, j->clients);
}

static void list_reply(struct flow *f, struct req *r)
{
	struct partner_flow *j = (struct partner_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 200,
			   json_pack("{s:O, s:O}", "partners", j->partners, "clients", j->clients));
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = list_reply,
    .release = partner_release,
};

/* --- DELETE -------------------------------------------------------------------------------- */

static int end_write(struct flow *f, struct store_txn *txn)
{
	struct partner_flow *j = (struct partner_flow *)f;
	struct partner_link l;
	const uint8_t *client = j->org_id, *partner = j->other;
	int rc = gate(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	/* Either side ends it: this organization as the client, or as the
	 * partner. */
	if ((rc = store_partner_get(txn, client, partner, &l)) == STORE_E_NOTFOUND) {
		client = j->other;
		partner = j->org_id;
		rc = store_partner_get(txn, client, partner, &l);
	}
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_SUBJECT_NOT_FOUND;
		return 0;
	}
	if (rc != 0 || (rc = store_partner_del(txn, client, partner)) != 0)
		return rc;
	/* Both trails say so. */
	if ((rc = orgs_audit(f, txn, client, NULL, AUDIT_PARTNER_REMOVED, partner, NULL)) != 0)
		return rc;
	return orgs_audit(f, txn, partner, NULL, AUDIT_PARTNER_REMOVED, client, NULL);
}

static const struct flow_ops end_ops = {
    .write = end_write,
    .release = partner_release,
};

/* --- handlers ------------------------------------------------------------------------------ */

static struct partner_flow *partner_flow_or_reply(struct req *r, bool other)
{
	struct partner_flow *j = calloc(1, sizeof(*j));
	const char *slash = strchr(r->param, '/');
	size_t len = slash ? (size_t)(slash - r->param) : strlen(r->param);

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	if (authd_unhex(r->param, len, j->org_id, AUTHD_ID_LEN) != 0 ||
	    (other && (slash == NULL ||
		       authd_unhex(slash + 1, strlen(slash + 1), j->other, AUTHD_ID_LEN) != 0))) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return NULL;
	}
	return j;
}

void http_org_partner_add(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"partner_organization_id", JSON_STRING, true, 64},
	    {"products", JSON_NULL, true, 0}, /* "all", or an array of ids: checked below */
	    {"billing", JSON_TRUE, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 3), *products, *v;
	struct partner_flow *j = NULL;
	const char *id;
	size_t len, i;

	if (body == NULL)
		return;
	if ((j = partner_flow_or_reply(r, false)) == NULL)
		goto out;
	id = json_str(body, "partner_organization_id", &len);
	if (authd_unhex(id, len, j->link.partner_org, AUTHD_ID_LEN) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "partner_organization_id",
				  "must be an organization id");
		goto fail;
	}
	products = json_object_get(body, "products");
	if (json_is_string(products) && strcmp(json_string_value(products), "all") == 0) {
		j->link.all_products = true;
	} else if (json_is_array(products) && json_array_size(products) > 0 &&
		   json_array_size(products) <= PARTNER_PRODUCTS_MAX) {
		json_array_foreach(products, i, v)
		{
			const char *s = json_string_value(v);

			if (s == NULL ||
			    authd_unhex(s, strlen(s), j->link.products[i], AUTHD_ID_LEN) != 0) {
				reply_field_error(r, E_INVALID_FIELD, "products",
						  "must be \"all\" or 1 to 32 product ids");
				goto fail;
			}
			j->link.n_products++;
		}
	} else {
		reply_field_error(r, E_INVALID_FIELD, "products",
				  "must be \"all\" or 1 to 32 product ids");
		goto fail;
	}
	j->link.billing = json_is_true(json_object_get(body, "billing"));
	json_decref(body);
	flow_start(&j->f, &add_ops, r);
	return;
fail:
	free(j);
out:
	json_decref(body);
}

void http_org_partners(struct req *r)
{
	struct partner_flow *j;

	if (req_query_or_reply(r, NULL, 0, NULL) && (j = partner_flow_or_reply(r, false)) != NULL)
		flow_start(&j->f, &list_ops, r);
}

void http_org_partner_end(struct req *r)
{
	struct partner_flow *j;

	if (req_query_or_reply(r, NULL, 0, NULL) && (j = partner_flow_or_reply(r, true)) != NULL)
		flow_start(&j->f, &end_ops, r);
}
