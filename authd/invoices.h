/*
 * What the billing handlers share about invoices: the tax of a country
 * ([billing] tax), an invoice's JSON, and what paying one does (the
 * product it orders is made, or the product it renews runs longer).
 */
#ifndef AUTHD_INVOICES_H
#define AUTHD_INVOICES_H

#include "config.h"
#include "flow.h"

#include <core.h>
#include <jansson.h>
#include <store.h>

/* Parses [billing] tax ("CH 8.1, LI 8.1": a country and a percent with at
 * most two decimals, comma separated); 0, or -1 with err filled. Main
 * thread, at start. */
int invoices_setup(const struct authd_config *c, char *err, size_t err_size);

/* The tax of a billing address in country, in basis points (0 when the
 * country has none configured). Any thread. */
uint32_t invoices_tax_bp(const char *country);

/* An invoice as the API shows it at now ("overdue" for an open one past
 * its due date); NULL when out of memory. */
json_t *invoice_json(const struct invoice *inv, int64_t now);

/* Whether inv shows as overdue at now. */
bool invoice_overdue(const struct invoice *inv, int64_t now);

/*
 * Marks inv paid at f->now by payment payment_id and does what it
 * ordered: a new product is made (its expiry months from now), a renewed
 * one runs months longer (from its expiry). Writes the invoice, the
 * product and their records in txn. 0 or STORE_E_*.
 */
int invoices_paid(struct flow *f, struct store_txn *txn, struct invoice *inv,
		  const uint8_t payment_id[AUTHD_ID_LEN]);

/* Cancels inv (open, in no pending payment: the caller checked) at
 * f->now, giving its voucher use back, with its record. 0 or STORE_E_*. */
int invoices_cancel(struct flow *f, struct store_txn *txn, struct invoice *inv);

/* How far back an organization's invoices are looked through (newest
 * first): listings, and the search for an open renewal. */
#define INVOICES_RECENT 100

/* Whether org_id has an open renewal invoice of product_id among its
 * recent ones (*found). 0 or STORE_E_*. */
int invoices_open_renewal(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t product_id[AUTHD_ID_LEN], bool *found);

/*
 * Prices inv at now: inv holds its organization, kind, product kind and
 * name, months and voucher code ("" for none). Copies the organization's
 * default billing address (its country decides the currency and the tax),
 * writes the line from the price list, takes the voucher's discount (its
 * use counted into *v, for the caller to write), the totals, the dates,
 * and makes it open. A refusal (no billing address, a voucher that does
 * not apply) goes to *err. 0 or STORE_E_*.
 */
int invoices_price(struct store_txn *txn, int64_t now, struct invoice *inv, struct voucher *v,
		   enum api_error *err);

#endif
