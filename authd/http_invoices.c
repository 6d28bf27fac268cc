/*
 * Orders and invoices of an organization, and the operator's promotion
 * codes:
 *
 *   POST /1/organizations/{org}/billing/orders         {"product": {"kind", "name"},
 *                                                      "months"?} or {"product_id"},
 *                                                      "voucher"?, "preview"?: an open
 *                                                      invoice (201), or its pro-forma
 *                                                      figures only (preview, 200)
 *   GET  /1/organizations/{org}/billing/invoices       the latest, newest first
 *   GET  /1/organizations/{org}/billing/invoices/{id}  one
 *   POST /1/organizations/{org}/billing/invoices/{id}/cancel
 *   POST /1/billing/vouchers                           a promotion code (billing staff)
 *   GET  /1/billing/vouchers                           every one, with its uses
 *
 * An order's figures are decided when it is placed: the price list
 * (billing_monthly_price) times the months, the voucher's discount (its
 * use counted in the same write: exactly once, however many orders race
 * for its last use), the tax of the default billing address's country,
 * and the address itself, copied. A free order is paid at once. Invoices
 * are numbered from one sequence (store_counter_next): never twice (and
 * on LMDB with no gap). Cancelling an open invoice gives its voucher use back.
 */
#include "http.h"

#include "flow.h"
#include "invoices.h"
#include "orgs.h"
#include "pdf.h"

#include <billing.h>

#include <store.h>
#include <util.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVOICES_SHOWN	     INVOICES_RECENT
#define ORDER_MONTHS_DEFAULT 12

/* --- POST .../billing/orders ----------------------------------------------------------- */

struct order_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	struct org_principal who;
	bool renewal, preview, months_set;
	struct invoice inv; /* as decided */
	struct voucher v;
	bool pending;		/* an open renewal of the product exists */
	struct product product; /* the renewed one, as read */
};

/* Decides the order into j->inv (and the voucher's use into j->v); every
 * refusal in f->err. Runs in the write (or the read of a preview). */
static int order_decide(struct order_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->f;
	struct invoice *inv = &j->inv;
	struct product p;
	int rc;

	if ((rc = orgs_billing_gate(f, txn, j->org_id, j->renewal ? inv->product_id : NULL,
				    &j->who)) != 0 ||
	    f->err != E_OK)
		return rc;
	if (j->renewal) {
		rc = store_product_get(txn, j->org_id, inv->product_id, &p);
		if (rc == STORE_E_NOTFOUND ||
		    (rc == 0 && j->who.partner && !core_partner_covers(&j->who.link, p.id))) {
			f->err = E_PRODUCT_NOT_FOUND;
			return 0;
		}
		if (rc != 0)
			return rc;
		if (p.expires_at == 0) {
			f->err = E_NO_EXPIRY;
			return 0;
		}
		/* A renewal ordered for this expiry (by hand or by the scheduler)
		 * marks the product: only then is an open one looked for. */
		j->pending = false;
		if (p.renew_tried == p.expires_at &&
		    (rc = invoices_open_renewal(txn, j->org_id, inv->product_id, &j->pending)) != 0)
			return rc;
		if (j->pending) {
			f->err = E_ORDER_PENDING;
			return 0;
		}
		j->product = p;
		inv->product_kind = p.kind;
		memcpy(inv->product_name, p.name, sizeof(inv->product_name));
		if (!j->months_set)
			inv->months = p.renewal_months;
	}
	memcpy(inv->org_id, j->org_id, AUTHD_ID_LEN);
	memcpy(inv->created_by, f->session.account_id, AUTHD_ID_LEN);
	if ((rc = invoices_price(txn, f->now, inv, &j->v, &f->err)) != 0 || f->err != E_OK)
		return rc;
	/* A renewal is due when the product expires (unpaid then, it is
	 * blocked); one ordered after that, within the usual days. */
	if (j->renewal && j->product.expires_at > f->now)
		inv->due_at = j->product.expires_at;
	return 0;
}

static int order_write(struct flow *f, struct store_txn *txn)
{
	struct order_flow *j = (struct order_flow *)f;
	static const uint8_t none[AUTHD_ID_LEN];
	char total[BILLING_MONEY_TEXT];
	json_t *detail;
	int rc = order_decide(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	if ((rc = store_counter_next(txn, "invoice", &j->inv.number)) != 0)
		return rc;
	if (j->inv.voucher[0] && (rc = store_voucher_put(txn, &j->v)) != 0)
		return rc;
	/* The scheduler orders no second renewal for this expiry. Written
	 * even when marked already: two renewal orders at once then meet on
	 * the product's row and the second finds the first's invoice (at
	 * REPEATABLE READ, where the invoice number is no row to meet on). */
	if (j->renewal) {
		j->product.renew_tried = j->product.expires_at;
		if ((rc = store_product_update(txn, &j->product)) == STORE_E_NOTFOUND) {
			f->err = E_PRODUCT_NOT_FOUND; /* removed meanwhile */
			return 0;
		}
		if (rc != 0)
			return rc;
	}
	billing_money_text((struct money){j->inv.total, j->inv.currency}, total);
	if ((detail = json_pack("{s:s, s:I, s:s, s:s}", "kind",
				core_invoice_kind_name((enum invoice_kind)j->inv.kind), "number",
				(json_int_t)j->inv.number, "total", total, "currency",
				core_currency_name((enum currency)j->inv.currency))) == NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_ORDER_PLACED, j->inv.id, detail);
	json_decref(detail);
	if (rc != 0)
		return rc;
	/* Nothing to pay (a free voucher): paid at once. */
	if (j->inv.total == 0)
		return invoices_paid(f, txn, &j->inv, none);
	return store_invoice_put(txn, &j->inv);
}

static int order_preview(struct flow *f, struct store_txn *txn)
{
	return order_decide((struct order_flow *)f, txn);
}

static void order_reply(struct flow *f, struct req *r)
{
	struct order_flow *j = (struct order_flow *)f;
	json_t *o;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	o = invoice_json(&j->inv, f->now);
	if (o && j->preview) {
		/* A pro-forma's figures: nothing is kept, no number is taken. */
		json_object_del(o, "id");
		json_object_del(o, "number");
		json_object_del(o, "product_id");
		json_object_set_new(o, "status", json_string("pro-forma"));
	}
	reply_json(r, j->preview ? 200 : 201, o);
}

static void order_release(struct flow *f)
{
	free(f);
}

static const struct flow_ops order_ops = {
    .write = order_write,
    .reply = order_reply,
    .release = order_release,
};

static const struct flow_ops preview_ops = {
    .read = order_preview,
    .reply = order_reply,
    .release = order_release,
};

/* A promotion code as typed: upper-cased, A-Z, 0-9 and '-' only. */
static bool code_of(const char *in, char out[VOUCHER_CODE_MAX + 1])
{
	size_t n = strlen(in);

	if (n == 0 || n > VOUCHER_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = (char)toupper((unsigned char)in[i]);

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		out[i] = c;
	}
	out[n] = '\0';
	return true;
}

void http_billing_order(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"product", JSON_OBJECT, false, 0}, {"product_id", JSON_STRING, false, AUTHD_ID_HEX},
	    {"months", JSON_INTEGER, false, 0}, {"voucher", JSON_STRING, false, VOUCHER_CODE_MAX},
	    {"preview", JSON_TRUE, false, 0},
	};
	struct order_flow *j = NULL;
	json_t *body, *product, *months, *v;
	const char *pid, *name;
	size_t len = 0;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]))) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	product = json_object_get(body, "product");
	pid = json_str(body, "product_id", &len);
	if ((product == NULL) == (pid == NULL)) {
		reply_field_error(r, E_MISSING_FIELD, "product",
				  "give either a new product or the product_id to renew");
		goto out;
	}
	j->renewal = pid != NULL;
	j->inv.kind = j->renewal ? INVOICE_RENEWAL : INVOICE_NEW;
	if (j->renewal &&
	    (len != AUTHD_ID_HEX || authd_unhex(pid, len, j->inv.product_id, AUTHD_ID_LEN) != 0)) {
		reply_error(r, E_PRODUCT_NOT_FOUND);
		goto out;
	}
	if (product) {
		json_t *kind = json_object_get(product, "kind"),
		       *pn = json_object_get(product, "name");

		name = json_is_string(pn) ? json_string_value(pn) : NULL;
		len = name ? json_string_length(pn) : 0;
		if (json_object_size(product) != 2 || !json_is_string(kind) ||
		    (j->inv.product_kind =
			 (uint8_t)core_product_kind_parse(json_string_value(kind))) == 0 ||
		    name == NULL || len == 0 || len > NAME_MAX_B ||
		    !authd_utf8_printable(name, len) || authd_utf8_count(name, len) > 100) {
			reply_field_error(r, E_INVALID_FIELD, "product",
					  "must be {\"kind\", \"name\"}: a product kind and a name "
					  "of 1 to 100 characters");
			goto out;
		}
		memcpy(j->inv.product_name, name, len);
		authd_random(j->inv.product_id, AUTHD_ID_LEN);
	}
	j->inv.months = ORDER_MONTHS_DEFAULT;
	if ((months = json_object_get(body, "months")) != NULL) {
		json_int_t m = json_integer_value(months);

		if (m < 1 || m > PRODUCT_RENEWAL_MAX) {
			reply_field_error(r, E_INVALID_FIELD, "months", "must be 1 to 120 months");
			goto out;
		}
		j->inv.months = (uint16_t)m;
		j->months_set = true;
	}
	if ((v = json_object_get(body, "voucher")) != NULL &&
	    !code_of(json_string_value(v), j->inv.voucher)) {
		reply_field_error(r, E_INVALID_FIELD, "voucher",
				  "must be a promotion code: letters, digits and '-'");
		goto out;
	}
	j->preview = json_is_true(json_object_get(body, "preview"));
	/* The sequence, the voucher and the renewed product it decides on, it
	 * writes (store.h). */
	j->f.write_decides_on_own_writes = true;
	memcpy(j->f.job.group_key, j->org_id, AUTHD_ID_LEN);
	authd_random(j->inv.id, AUTHD_ID_LEN);
	json_decref(body);
	flow_start(&j->f, j->preview ? &preview_ops : &order_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

/* --- GET .../billing/invoices[/{id}], POST .../cancel -------------------------------- */

struct invoices_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
	bool one, cancel, pdf;
	uint8_t *doc; /* the PDF */
	size_t doc_len;
	struct invoice inv;
	struct org_principal who;
};

static int invoice_collect(void *arg, const struct invoice *inv)
{
	struct invoices_flow *j = arg;

	return json_array_append_new(j->l.list, invoice_json(inv, j->l.f.now)) == 0 ? 0
										    : STORE_E_IO;
}

/* The gate, then the one invoice into j->inv (E_INVOICE_NOT_FOUND when
 * it is none of this organization's). */
static int invoice_find(struct invoices_flow *j, struct store_txn *txn)
{
	struct flow *f = &j->l.f;
	int rc;

	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	rc = store_invoice_get(txn, j->id, &j->inv);
	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && memcmp(j->inv.org_id, j->org_id, AUTHD_ID_LEN) != 0)) {
		f->err = E_INVOICE_NOT_FOUND;
		return 0;
	}
	return rc;
}

static int invoices_read(struct flow *f, struct store_txn *txn)
{
	struct invoices_flow *j = (struct invoices_flow *)f;
	int rc;

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	if (j->one)
		rc = invoice_find(j, txn);
	else if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) == 0 && f->err == E_OK)
		rc = store_invoices_list(txn, j->org_id, INVOICES_SHOWN, invoice_collect, j);
	if (rc == 0 && f->err == E_OK)
		flow_audit_read(f, j->org_id, "invoices", j->one ? j->id : NULL);
	return rc;
}

static int cancel_write(struct flow *f, struct store_txn *txn)
{
	struct invoices_flow *j = (struct invoices_flow *)f;
	static const uint8_t none[AUTHD_ID_LEN];
	int rc = invoice_find(j, txn);

	if (rc != 0 || f->err != E_OK)
		return rc;
	/* A payment under way would pay what is no longer owed. */
	if (j->inv.status != INVOICE_OPEN || memcmp(j->inv.payment_id, none, AUTHD_ID_LEN) != 0) {
		f->err = E_INVOICE_NOT_OPEN;
		return 0;
	}
	return invoices_cancel(f, txn, &j->inv);
}

static void invoice_reply(struct flow *f, struct req *r)
{
	struct invoices_flow *j = (struct invoices_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 200, invoice_json(&j->inv, f->now));
}

/* The document, drawn on the pool (a few milliseconds of libharu). */
static void pdf_work(struct flow *f)
{
	struct invoices_flow *j = (struct invoices_flow *)f;

	if (f->err == E_OK &&
	    pdf_invoice(&j->inv, f->now, srv.cfg.seller, &j->doc, &j->doc_len) != 0)
		f->err = E_OVERLOADED;
}

static void pdf_reply(struct flow *f, struct req *r)
{
	struct invoices_flow *j = (struct invoices_flow *)f;
	char name[80];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	snprintf(name, sizeof(name), "inline; filename=\"invoice-%llu.pdf\"",
		 (unsigned long long)j->inv.number);
	req_add_header(r, "Content-Disposition", name);
	reply_bytes(r, 200, (char *)j->doc, j->doc_len, "application/pdf");
	j->doc = NULL; /* the reply's now */
}

static void pdf_release(struct flow *f)
{
	struct invoices_flow *j = (struct invoices_flow *)f;

	free(j->doc);
	flow_list_release(f);
}

static const struct flow_ops pdf_ops = {
    .read = invoices_read,
    .work = pdf_work,
    .reply = pdf_reply,
    .release = pdf_release,
};

static const struct flow_ops invoices_ops = {
    .read = invoices_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

static const struct flow_ops invoice_ops = {
    .read = invoices_read,
    .reply = invoice_reply,
    .release = flow_list_release,
};

static const struct flow_ops cancel_ops = {
    .write = cancel_write,
    .reply = invoice_reply,
    .release = flow_list_release,
};

static void invoices(struct req *r, bool one, bool cancel)
{
	struct invoices_flow *j = NULL;
	json_t *body;
	size_t len;

	if (cancel) {
		if (!req_query_or_reply(r, NULL, 0, NULL) ||
		    (body = json_body_or_reply(r, NULL, 0)) == NULL)
			return;
		json_decref(body);
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			reply_error(r, E_OVERLOADED);
			return;
		}
	} else if ((j = flow_get_new_or_reply(r, sizeof(*j))) == NULL)
		return;
	j->one = one;
	j->cancel = cancel;
	j->l.key = "invoices";
	j->l.f.write_decides_on_own_writes = cancel; /* the invoice and voucher it writes */
	/* {id}.pdf is the invoice's document. */
	if (one && !cancel && (len = strlen(r->param)) > 4 &&
	    strcmp(r->param + len - 4, ".pdf") == 0) {
		r->param[len - 4] = '\0';
		j->pdf = true;
	}
	if (!req_path_ids(r->param, j->org_id, one ? j->id : NULL)) {
		reply_error(r, req_path_ids(r->param, j->org_id, NULL) ? E_INVOICE_NOT_FOUND
								       : E_ORG_NOT_FOUND);
		free(j);
		return;
	}
	memcpy(j->l.f.job.group_key, j->org_id, AUTHD_ID_LEN); /* store.h */
	flow_start(&j->l.f,
		   cancel   ? &cancel_ops
		   : j->pdf ? &pdf_ops
		   : one    ? &invoice_ops
			    : &invoices_ops,
		   r);
}

void http_billing_invoices(struct req *r)
{
	invoices(r, false, false);
}

void http_billing_invoice(struct req *r)
{
	invoices(r, true, false);
}

void http_billing_invoice_cancel(struct req *r)
{
	invoices(r, true, true);
}

/* --- /1/billing/vouchers --------------------------------------------------------------- */

struct voucher_flow {
	struct flow_list l;
	struct voucher v;
	bool from_set;
};

static json_t *voucher_json(const struct voucher *v)
{
	static const char *const kinds[] = {
	    [VOUCHER_PERCENT] = "percent", [VOUCHER_AMOUNT] = "amount", [VOUCHER_FREE] = "free"};
	char amount[BILLING_MONEY_TEXT], percent[BILLING_MONEY_TEXT], from[21], until[21];

	billing_money_text((struct money){v->amount_minor, v->currency}, amount);
	billing_money_text((struct money){v->bp, CURRENCY_CHF}, percent);
	authd_time_str(v->valid_from, from);
	authd_time_str(v->valid_until, until);
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:o?, s:I}", "code", v->code,
			 "kind", v->kind >= 1 && v->kind <= 3 ? kinds[v->kind] : "", "percent",
			 v->kind == VOUCHER_PERCENT ? percent : NULL, "amount",
			 v->kind == VOUCHER_AMOUNT ? amount : NULL, "currency",
			 v->kind == VOUCHER_AMOUNT ? core_currency_name(v->currency) : NULL,
			 "valid_from", from, "valid_until", v->valid_until ? until : NULL,
			 "max_uses", v->max_uses ? json_integer(v->max_uses) : NULL, "used",
			 (json_int_t)v->used);
}

static int voucher_collect(void *arg, const struct voucher *v)
{
	struct voucher_flow *j = arg;

	return json_array_append_new(j->l.list, voucher_json(v)) == 0 ? 0 : STORE_E_IO;
}

static int vouchers_read(struct flow *f, struct store_txn *txn)
{
	struct voucher_flow *j = (struct voucher_flow *)f;

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	return store_vouchers_list(txn, voucher_collect, j);
}

static int voucher_write(struct flow *f, struct store_txn *txn)
{
	struct voucher_flow *j = (struct voucher_flow *)f;
	struct voucher old;
	int rc = store_voucher_get(txn, j->v.code, &old);

	if (rc == 0) {
		f->err = E_VOUCHER_EXISTS;
		return 0;
	}
	if (rc != STORE_E_NOTFOUND)
		return rc;
	j->v.created_at = f->now;
	if (!j->from_set)
		j->v.valid_from = f->now;
	if (j->v.valid_until && j->v.valid_until <= j->v.valid_from) {
		f->err = E_INVALID_FIELD; /* ends before it starts */
		return 0;
	}
	memcpy(j->v.created_by, f->session.account_id, AUTHD_ID_LEN);
	return store_voucher_put(txn, &j->v);
}

static void voucher_reply(struct flow *f, struct req *r)
{
	struct voucher_flow *j = (struct voucher_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 201, voucher_json(&j->v));
}

static const struct flow_ops vouchers_ops = {
    .read = vouchers_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

static const struct flow_ops voucher_ops = {
    .write = voucher_write,
    .reply = voucher_reply,
    .release = flow_list_release,
};

void http_billing_vouchers(struct req *r)
{
	struct voucher_flow *j = flow_get_new_or_reply(r, sizeof(*j));

	if (j == NULL)
		return;
	j->l.key = "vouchers";
	flow_start(&j->l.f, &vouchers_ops, r);
}

void http_billing_voucher_add(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"code", JSON_STRING, true, VOUCHER_CODE_MAX},
	    {"kind", JSON_STRING, true, 8},
	    {"percent", JSON_STRING, false, 8},
	    {"amount", JSON_STRING, false, 16},
	    {"currency", JSON_STRING, false, 3},
	    {"valid_from", JSON_INTEGER, false, 0},
	    {"valid_until", JSON_INTEGER, false, 0},
	    {"max_uses", JSON_INTEGER, false, 0},
	};
	struct voucher_flow *j = NULL;
	const char *kind;
	struct money m;
	json_t *body, *x;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]))) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!code_of(json_str(body, "code", NULL), j->v.code)) {
		reply_field_error(r, E_INVALID_FIELD, "code",
				  "must be 1 to 32 letters, digits or '-'");
		goto out;
	}
	kind = json_str(body, "kind", NULL);
	j->v.kind = strcmp(kind, "percent") == 0  ? VOUCHER_PERCENT
		    : strcmp(kind, "amount") == 0 ? VOUCHER_AMOUNT
		    : strcmp(kind, "free") == 0	  ? VOUCHER_FREE
						  : 0;
	if (j->v.kind == 0) {
		reply_field_error(r, E_INVALID_FIELD, "kind", "must be percent, amount or free");
		goto out;
	}
	/* Each kind takes its own figure and no other. */
	if ((json_object_get(body, "percent") != NULL) != (j->v.kind == VOUCHER_PERCENT) ||
	    (json_object_get(body, "amount") != NULL) != (j->v.kind == VOUCHER_AMOUNT) ||
	    (json_object_get(body, "currency") != NULL) != (j->v.kind == VOUCHER_AMOUNT)) {
		reply_field_error(r, E_INVALID_FIELD, "kind",
				  "percent takes \"percent\"; amount takes \"amount\" and "
				  "\"currency\"; free takes neither");
		goto out;
	}
	if (j->v.kind == VOUCHER_PERCENT) {
		if (billing_money_parse(json_str(body, "percent", NULL), CURRENCY_CHF, &m) != 0 ||
		    m.minor < 1 || m.minor > 10000) {
			reply_field_error(r, E_INVALID_FIELD, "percent",
					  "must be 0.01 to 100, at most two decimals");
			goto out;
		}
		j->v.bp = (uint32_t)m.minor;
	}
	if (j->v.kind == VOUCHER_AMOUNT) {
		j->v.currency = (uint8_t)core_currency_parse(json_str(body, "currency", NULL));
		if (j->v.currency == 0 ||
		    billing_money_parse(json_str(body, "amount", NULL),
					(enum currency)j->v.currency, &m) != 0 ||
		    m.minor < 1 || m.minor > BILLING_DEPOSIT_MAX) {
			reply_field_error(
			    r, E_INVALID_FIELD, "amount",
			    "must be an amount from 0.01 to 9999.00 and a currency (CHF, "
			    "EUR)");
			goto out;
		}
		j->v.amount_minor = m.minor;
	}
	/* Without valid_from it is valid from when it is made. */
	j->from_set = (x = json_object_get(body, "valid_from")) != NULL;
	if (x)
		j->v.valid_from = (int64_t)json_integer_value(x);
	if (j->v.valid_from < 0 || j->v.valid_from > AUTHD_TIME_MAX) {
		reply_field_error(r, E_INVALID_FIELD, "valid_from", "must be a unix time");
		goto out;
	}
	if ((x = json_object_get(body, "valid_until")) != NULL)
		j->v.valid_until = (int64_t)json_integer_value(x);
	if (j->v.valid_until < 0 || j->v.valid_until > AUTHD_TIME_MAX ||
	    (x && j->v.valid_until <= j->v.valid_from)) {
		reply_field_error(r, E_INVALID_FIELD, "valid_until",
				  "must be a unix time after valid_from");
		goto out;
	}
	if ((x = json_object_get(body, "max_uses")) != NULL) {
		if (json_integer_value(x) < 1 || json_integer_value(x) > 1000000) {
			reply_field_error(r, E_INVALID_FIELD, "max_uses", "must be 1 to 1000000");
			goto out;
		}
		j->v.max_uses = (uint32_t)json_integer_value(x);
	}
	json_decref(body);
	flow_start(&j->l.f, &voucher_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}
