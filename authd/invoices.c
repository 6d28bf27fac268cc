/*
 * Invoices in the shell (invoices.h): the configured taxes, the JSON the
 * API shows, and what paying one does to the products it orders.
 */
#include "invoices.h"

#include "http.h"
#include "orgs.h"

#include <billing.h>
#include <log.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAXES_MAX 64

static struct {
	char country[3];
	uint32_t bp;
} taxes[TAXES_MAX];
static size_t n_taxes;
static uint32_t payment_days;

int invoices_setup(const struct authd_config *c, char *err, size_t err_size)
{
	char list[sizeof(c->tax_rates)];
	char *save = NULL;

	n_taxes = 0;
	payment_days = c->payment_days;
	snprintf(list, sizeof(list), "%s", c->tax_rates);
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char country[3] = {0}, rate[16] = {0};
		struct money m;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (*tok == '\0')
			continue;
		/* "CH 8.1": the rate as an amount with two decimals is basis points. */
		if (n_taxes == TAXES_MAX || sscanf(tok, "%2s %15s", country, rate) != 2 ||
		    !core_country_ok(country) || billing_money_parse(rate, CURRENCY_CHF, &m) != 0 ||
		    m.minor > 10000) {
			snprintf(
			    err, err_size,
			    "[billing] tax wants \"CC rate\" pairs (a country code and a percent "
			    "from 0 to 100, at most two decimals), comma separated, at most %d",
			    TAXES_MAX);
			return -1;
		}
		memcpy(taxes[n_taxes].country, country, 3);
		taxes[n_taxes++].bp = (uint32_t)m.minor;
	}
	return 0;
}

uint32_t invoices_tax_bp(const char *country)
{
	for (size_t i = 0; i < n_taxes; i++)
		if (strcmp(taxes[i].country, country) == 0)
			return taxes[i].bp;
	return 0;
}

bool invoice_overdue(const struct invoice *inv, int64_t now)
{
	return inv->status == INVOICE_OPEN && now >= inv->due_at;
}

static void amount_of(int64_t minor, uint8_t currency, char out[BILLING_MONEY_TEXT])
{
	billing_money_text((struct money){minor, currency}, out);
}

json_t *invoice_json(const struct invoice *inv, int64_t now)
{
	static const uint8_t none[AUTHD_ID_LEN];
	char id[AUTHD_ID_HEX + 1], pid[AUTHD_ID_HEX + 1], pay[AUTHD_ID_HEX + 1], created[21],
	    due[21], paid[21], cancelled[21], sub[BILLING_MONEY_TEXT], disc[BILLING_MONEY_TEXT],
	    tax[BILLING_MONEY_TEXT], total[BILLING_MONEY_TEXT], rate[BILLING_MONEY_TEXT];
	const struct billing_address *a = &inv->address;
	json_t *lines = json_array(), *addr;

	for (unsigned i = 0; lines && i < inv->n_items; i++) {
		char unit[BILLING_MONEY_TEXT], amount[BILLING_MONEY_TEXT];

		amount_of(inv->items[i].unit_minor, inv->currency, unit);
		amount_of(inv->items[i].unit_minor * (int64_t)inv->items[i].quantity, inv->currency,
			  amount);
		if (json_array_append_new(
			lines, json_pack("{s:s, s:I, s:s, s:s}", "text", inv->items[i].text,
					 "quantity", (json_int_t)inv->items[i].quantity,
					 "unit_price", unit, "amount", amount)) != 0) {
			json_decref(lines);
			return NULL;
		}
	}
	addr = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s?}", "name", a->name, "line1",
			 a->line1, "line2", a->line2[0] ? a->line2 : NULL, "postal_code",
			 a->postal_code, "city", a->city, "country", a->country, "vat_number",
			 a->vat_number[0] ? a->vat_number : NULL);
	if (lines == NULL || addr == NULL) {
		json_decref(lines);
		json_decref(addr);
		return NULL;
	}
	authd_hex(inv->id, AUTHD_ID_LEN, id);
	authd_hex(inv->product_id, AUTHD_ID_LEN, pid);
	authd_hex(inv->payment_id, AUTHD_ID_LEN, pay);
	authd_time_str(inv->created_at, created);
	authd_time_str(inv->due_at, due);
	authd_time_str(inv->paid_at, paid);
	authd_time_str(inv->cancelled_at, cancelled);
	amount_of(inv->subtotal, inv->currency, sub);
	amount_of(inv->discount, inv->currency, disc);
	amount_of(inv->tax, inv->currency, tax);
	amount_of(inv->total, inv->currency, total);
	/* Basis points read as an amount: 810 is "8.10" (percent). */
	amount_of(inv->tax_bp, inv->currency, rate);
	return json_pack(
	    "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:s, s:s, s:s?, s:s, s:s, "
	    "s:s, s:o, s:s, s:s, s:s?, s:s?, s:s?}",
	    "id", id, "number", (json_int_t)inv->number, "kind",
	    core_invoice_kind_name((enum invoice_kind)inv->kind), "status",
	    invoice_overdue(inv, now) ? "overdue"
				      : core_invoice_status_name((enum invoice_status)inv->status),
	    "currency", core_currency_name((enum currency)inv->currency), "product_id", pid,
	    "product_kind", core_product_kind_name((enum product_kind)inv->product_kind),
	    "product_name", inv->product_name, "months", inv->months, "lines", lines, "subtotal",
	    sub, "discount", disc, "voucher", inv->voucher[0] ? inv->voucher : NULL, "tax_rate",
	    rate, "tax", tax, "total", total, "address", addr, "created_at", created, "due_at", due,
	    "paid_at", inv->paid_at ? paid : NULL, "cancelled_at",
	    inv->cancelled_at ? cancelled : NULL, "payment_id",
	    memcmp(inv->payment_id, none, AUTHD_ID_LEN) ? pay : NULL);
}

int invoices_paid(struct flow *f, struct store_txn *txn, struct invoice *inv,
		  const uint8_t payment_id[AUTHD_ID_LEN])
{
	struct product p;
	char when[21];
	json_t *detail = NULL;
	int64_t from;
	int rc;

	inv->status = INVOICE_PAID;
	inv->paid_at = f->now;
	memcpy(inv->payment_id, payment_id, AUTHD_ID_LEN);
	if ((rc = store_invoice_put(txn, inv)) != 0 ||
	    (rc = orgs_audit(f, txn, inv->org_id, inv->created_by, AUDIT_INVOICE_PAID, inv->id,
			     NULL)) != 0)
		return rc;
	if (inv->kind == INVOICE_NEW) {
		memset(&p, 0, sizeof(p));
		memcpy(p.id, inv->product_id, AUTHD_ID_LEN);
		memcpy(p.org_id, inv->org_id, AUTHD_ID_LEN);
		p.kind = inv->product_kind;
		memcpy(p.name, inv->product_name, sizeof(p.name));
		p.created_at = f->now;
		p.renewal_months = inv->months;
		if (billing_add_months(f->now, inv->months, &p.expires_at) != 0)
			return STORE_E_IO; /* months were checked when ordered */
		if ((detail = json_pack("{s:s, s:s}", "kind",
					core_product_kind_name((enum product_kind)p.kind), "name",
					p.name)) == NULL)
			return STORE_E_IO;
		if ((rc = store_product_put(txn, &p)) == 0)
			rc = orgs_audit(f, txn, p.org_id, inv->created_by, AUDIT_PRODUCT_ADDED,
					p.id, detail);
		json_decref(detail);
		return rc;
	}
	rc = store_product_get(txn, inv->org_id, inv->product_id, &p);
	if (rc == STORE_E_NOTFOUND)
		return 0; /* removed since: paid all the same, nothing to renew */
	if (rc != 0)
		return rc;
	/* A renewal runs from the expiry it renews; one paid after the
	 * product expired runs from now. */
	from = p.expires_at > f->now ? p.expires_at : f->now;
	if (billing_add_months(from, inv->months, &p.expires_at) != 0)
		return STORE_E_IO;
	p.blocked_at = 0; /* paid: reached again */
	authd_time_str(p.expires_at, when);
	if ((detail = json_pack("{s:s, s:i}", "expires_at", when, "months", inv->months)) == NULL)
		return STORE_E_IO;
	rc = store_product_update(txn, &p);
	if (rc == STORE_E_NOTFOUND)
		rc = 0; /* removed since the read: nothing to renew */
	else if (rc == 0)
		rc = orgs_audit(f, txn, p.org_id, inv->created_by, AUDIT_PRODUCT_RENEWED, p.id,
				detail);
	json_decref(detail);
	return rc;
}

struct open_renewal {
	const uint8_t *product_id;
	bool found;
};

static int open_renewal_one(void *arg, const struct invoice *inv)
{
	struct open_renewal *o = arg;

	if (inv->status == INVOICE_OPEN && inv->kind == INVOICE_RENEWAL &&
	    memcmp(inv->product_id, o->product_id, AUTHD_ID_LEN) == 0)
		o->found = true;
	return 0;
}

int invoices_open_renewal(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t product_id[AUTHD_ID_LEN], bool *found)
{
	struct open_renewal o = {product_id, false};
	int rc = store_invoices_list(txn, org_id, INVOICES_RECENT, open_renewal_one, &o);

	*found = o.found;
	return rc;
}

static int default_address(void *arg, const struct billing_address *a)
{
	if (a->is_default)
		*(struct billing_address *)arg = *a;
	return 0;
}

/* A voucher's refusal as the API's error. */
static enum api_error voucher_error(int e)
{
	switch (e) {
	case BILLING_E_NOT_YET:
		return E_VOUCHER_NOT_YET;
	case BILLING_E_EXPIRED:
		return E_VOUCHER_EXPIRED;
	case BILLING_E_USED_UP:
		return E_VOUCHER_USED_UP;
	default:
		return E_VOUCHER_CURRENCY;
	}
}

int invoices_price(struct store_txn *txn, int64_t now, struct invoice *inv, struct voucher *v,
		   enum api_error *err)
{
	struct invoice_line line;
	struct invoice_totals t;
	struct money discount;
	int64_t unit;
	int rc;

	memset(&inv->address, 0, sizeof(inv->address));
	if ((rc = store_addresses_list(txn, inv->org_id, default_address, &inv->address)) != 0)
		return rc;
	if (inv->address.country[0] == '\0') {
		*err = E_NO_BILLING_ADDRESS;
		return 0;
	}
	inv->currency = (uint8_t)core_currency_of_country(inv->address.country);
	inv->tax_bp = invoices_tax_bp(inv->address.country);
	if (billing_monthly_price((enum product_kind)inv->product_kind,
				  (enum currency)inv->currency, &unit) != 0)
		return STORE_E_IO; /* kinds and currencies are checked: a bug */
	line = (struct invoice_line){inv->months, unit};
	memset(inv->items, 0, sizeof(inv->items));
	inv->n_items = 1;
	inv->items[0].quantity = inv->months;
	inv->items[0].unit_minor = unit;
	snprintf(inv->items[0].text, sizeof(inv->items[0].text), "%s %s \"%s\", %u month%s",
		 inv->kind == INVOICE_RENEWAL ? "Renewal of" : "New",
		 core_product_kind_name((enum product_kind)inv->product_kind), inv->product_name,
		 inv->months, inv->months == 1 ? "" : "s");
	discount = (struct money){0, inv->currency};
	if (inv->voucher[0]) {
		struct voucher_rule rule;

		if ((rc = store_voucher_get(txn, inv->voucher, v)) == STORE_E_NOTFOUND) {
			*err = E_VOUCHER_NOT_FOUND;
			return 0;
		}
		if (rc != 0)
			return rc;
		rule = (struct voucher_rule){.kind = v->kind,
					     .bp = v->bp,
					     .amount = {v->amount_minor, v->currency},
					     .valid_from = v->valid_from,
					     .valid_until = v->valid_until,
					     .max_uses = v->max_uses,
					     .used = v->used};
		if (billing_totals(&line, 1, (enum currency)inv->currency, 0, discount, &t) != 0)
			return STORE_E_IO;
		if ((rc = billing_voucher_discount(&rule, t.subtotal, now, &discount)) != 0) {
			*err = voucher_error(rc);
			return 0;
		}
		if (billing_voucher_use(&rule, now) != 0)
			return STORE_E_IO;
		v->used = rule.used;
	}
	if (billing_totals(&line, 1, (enum currency)inv->currency, inv->tax_bp, discount, &t) != 0)
		return STORE_E_IO;
	inv->subtotal = t.subtotal.minor;
	inv->discount = t.discount.minor;
	inv->tax = t.tax.minor;
	inv->total = t.total.minor;
	inv->created_at = now;
	inv->due_at = now + (int64_t)payment_days * 86400;
	memcpy(inv->address.org_id, inv->org_id, AUTHD_ID_LEN);
	inv->status = INVOICE_OPEN;
	return 0;
}

int invoices_cancel(struct flow *f, struct store_txn *txn, struct invoice *inv)
{
	struct voucher v;
	int rc = 0;

	inv->status = INVOICE_CANCELLED;
	inv->cancelled_at = f->now;
	if (inv->voucher[0]) {
		/* The use goes back to the code (it may be gone: nothing to give). */
		rc = store_voucher_get(txn, inv->voucher, &v);
		if (rc == 0 && v.used > 0) {
			v.used--;
			rc = store_voucher_put(txn, &v);
		}
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
	}
	if ((rc = store_invoice_put(txn, inv)) != 0)
		return rc;
	return orgs_audit(f, txn, inv->org_id, NULL, AUDIT_INVOICE_CANCELLED, inv->id, NULL);
}
