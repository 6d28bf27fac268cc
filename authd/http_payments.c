/*
 * The prepaid balance and payments of an organization:
 *
 *   GET  /1/organizations/{org}/billing/balance       {"currency", "balance",
 *                                                     "entries"}: the balance and
 *                                                     its latest ledger entries
 *   POST /1/organizations/{org}/billing/deposits      {"amount"} + Idempotency-Key:
 *                                                     money into the balance,
 *                                                     through the provider
 *   GET  /1/organizations/{org}/billing/payments      the latest payments
 *   GET  /1/organizations/{org}/billing/payments/{id} one
 *   POST /1/billing/webhook                           the provider says how a
 *                                                     payment went (signed)
 *
 * A payment's id derives from the organization and its Idempotency-Key
 * (keys.h's payments key), so the same key names the same payment on every
 * node: the provider, asked with that id, starts one checkout, and the
 * store keeps one payment (LMDB's single writer; PostgreSQL's primary key,
 * where the loser of a race runs again and finds the winner's). Asked again
 * with the same key, the answer is the payment as it stands (200,
 * Idempotent-Replayed: true); with the same key for something else, 422.
 * The webhook is idempotent too: a payment moves from pending once.
 */
#include "http.h"

#include "flow.h"
#include "invoices.h"
#include "orgs.h"
#include "provider.h"

#include <billing.h>

#include <log.h>
#include <store.h>
#include <util.h>

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_SHOWN   20 /* entries with the balance */
#define PAYMENTS_SHOWN 50

/* --- what every payment answer shares -------------------------------------------------- */

static void money_text(int64_t minor, uint8_t currency, char out[BILLING_MONEY_TEXT])
{
	billing_money_text((struct money){minor, currency}, out);
}

static json_t *ids_json(const uint8_t (*ids)[AUTHD_ID_LEN], unsigned n)
{
	json_t *a = json_array();
	char hex[AUTHD_ID_HEX + 1];

	for (unsigned i = 0; a && i < n; i++) {
		authd_hex(ids[i], AUTHD_ID_LEN, hex);
		if (json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *payment_json(const struct payment *p)
{
	char id[AUTHD_ID_HEX + 1], amount[BILLING_MONEY_TEXT], from[BILLING_MONEY_TEXT],
	    rest[BILLING_MONEY_TEXT], created[21], settled[21];
	json_t *inv = ids_json((const uint8_t(*)[AUTHD_ID_LEN])p->invoices, p->n_invoices);

	if (inv == NULL)
		return NULL;
	authd_hex(p->id, AUTHD_ID_LEN, id);
	money_text(p->amount, p->currency, amount);
	money_text(p->from_balance, p->currency, from);
	money_text(p->rest, p->currency, rest);
	authd_time_str(p->created_at, created);
	authd_time_str(p->settled_at, settled);
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:o, s:s, s:s?}", "id", id, "kind",
	    core_payment_kind_name((enum payment_kind)p->kind), "status",
	    core_payment_status_name((enum payment_status)p->status), "currency",
	    core_currency_name((enum currency)p->currency), "amount", amount, "from_balance", from,
	    "rest", rest, "checkout_url",
	    p->status == PAYMENT_PENDING && p->checkout_url[0] ? p->checkout_url : NULL, "invoices",
	    inv, "created_at", created, "settled_at", p->settled_at ? settled : NULL);
}

/* The currency the organization's default billing address decides (0:
 * none). */
static int default_currency(void *arg, const struct billing_address *a)
{
	if (a->is_default)
		*(enum currency *)arg = core_currency_of_country(a->country);
	return 0;
}

static int currency_read(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			 enum currency *c)
{
	*c = 0;
	return store_addresses_list(txn, org_id, default_currency, c);
}

/* --- GET .../billing/balance ------------------------------------------------------------- */

struct balance_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	struct org_principal who;
	enum currency currency;
	int64_t balance;
	json_t *entries;
};

static void balance_release(struct flow *f)
{
	struct balance_flow *j = (struct balance_flow *)f;

	json_decref(j->entries);
	free(j);
}

static json_t *entry_json(const struct ledger_entry *e)
{
	static const char *const names[LEDGER_ACCOUNTS + 1] = {
	    [LEDGER_PREPAID] = "prepaid",
	    [LEDGER_PROVIDER] = "provider",
	    [LEDGER_REVENUE] = "revenue",
	    [LEDGER_HELD] = "held",
	};
	char id[AUTHD_ID_HEX + 1], pid[AUTHD_ID_HEX + 1], at[21], amount[BILLING_MONEY_TEXT];
	json_t *legs = json_object();

	for (unsigned i = 0; legs && i < e->tx.n; i++) {
		if (e->tx.legs[i].account < 1 || e->tx.legs[i].account > LEDGER_ACCOUNTS)
			continue;
		money_text(e->tx.legs[i].minor, e->tx.currency, amount);
		if (json_object_set_new(legs, names[e->tx.legs[i].account], json_string(amount)) !=
		    0) {
			json_decref(legs);
			return NULL;
		}
	}
	if (legs == NULL)
		return NULL;
	authd_hex(e->id, AUTHD_ID_LEN, id);
	authd_hex(e->payment_id, AUTHD_ID_LEN, pid);
	authd_time_str(e->at, at);
	money_text(core_ledger_leg(&e->tx, LEDGER_PREPAID), e->tx.currency, amount);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", id, "kind",
			 core_ledger_kind_name((enum ledger_kind)e->kind), "payment_id", pid, "at",
			 at, "currency", core_currency_name((enum currency)e->tx.currency),
			 "balance_change", amount, "legs", legs);
}

static int entry_collect(void *arg, const struct ledger_entry *e)
{
	struct balance_flow *j = arg;

	return json_array_append_new(j->entries, entry_json(e)) == 0 ? 0 : STORE_E_IO;
}

static int balance_read(struct flow *f, struct store_txn *txn)
{
	struct balance_flow *j = (struct balance_flow *)f;
	int rc;

	json_decref(j->entries);
	j->balance = 0;
	if ((j->entries = json_array()) == NULL)
		return STORE_E_IO;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = currency_read(txn, j->org_id, &j->currency)) != 0 ||
	    (j->currency &&
	     (rc = store_balance_get(txn, j->org_id, j->currency, &j->balance)) != 0))
		return rc;
	if ((rc = store_ledger_list(txn, j->org_id, LEDGER_SHOWN, entry_collect, j)) == 0)
		flow_audit_read(f, j->org_id, "billing_balance", NULL);
	return rc;
}

static void balance_reply(struct flow *f, struct req *r)
{
	struct balance_flow *j = (struct balance_flow *)f;
	char amount[BILLING_MONEY_TEXT];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	money_text(j->balance, j->currency, amount);
	reply_json(r, 200,
		   json_pack("{s:s?, s:s?, s:O}", "currency",
			     j->currency ? core_currency_name(j->currency) : NULL, "balance",
			     j->currency ? amount : NULL, "entries", j->entries));
}

static const struct flow_ops balance_ops = {
    .read = balance_read,
    .reply = balance_reply,
    .release = balance_release,
};

void http_billing_balance(struct req *r)
{
	struct balance_flow *j = flow_get_new_or_reply(r, sizeof(*j));

	if (j == NULL)
		return;
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		free(j);
		reply_error(r, E_ORG_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &balance_ops, r);
}

/* --- POST .../billing/deposits ------------------------------------------------------------ */

struct pay_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN];
	struct org_principal who;
	struct payment want; /* as the request asks */
	struct payment got;  /* as stored: found (a replay) or written */
	bool replay;
	bool keyed;	  /* the request had an Idempotency-Key */
	bool use_balance; /* an invoices' payment takes what the balance has first */
	struct invoice inv[PAYMENT_INVOICES_MAX]; /* as read, then as written */
};

/* The payment's id: a keyed hash of the organization and the key. */
static void payment_id_of(const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t key_hash[AUTHD_HASH_LEN], uint8_t id[AUTHD_ID_LEN])
{
	uint8_t in[AUTHD_ID_LEN + AUTHD_HASH_LEN], mac[AUTHD_HASH_LEN];

	memcpy(in, org_id, AUTHD_ID_LEN);
	memcpy(in + AUTHD_ID_LEN, key_hash, AUTHD_HASH_LEN);
	authd_hmac_sha256(srv.keys.payments, in, sizeof(in), mac);
	memcpy(id, mac, AUTHD_ID_LEN);
}

/* The request's Idempotency-Key into p (its hash and the id it decides);
 * false when it has none worth the name (the flow answers
 * E_IDEMPOTENCY_KEY_REQUIRED once the policy let the caller through). */
static bool idempotency_of(const struct req *r, const uint8_t org_id[AUTHD_ID_LEN],
			   struct payment *p)
{
	if (r->idem_len <= 0 || r->idem_len > IDEMPOTENCY_KEY_MAX ||
	    !authd_utf8_printable(r->idem_key, (size_t)r->idem_len))
		return false;
	authd_sha256(r->idem_key, (size_t)r->idem_len, p->key_hash);
	payment_id_of(org_id, p->key_hash, p->id);
	memcpy(p->org_id, org_id, AUTHD_ID_LEN);
	return true;
}

/* Whether the stored payment with want's id is the one asked for (a
 * replay: j->got) or another (E_IDEMPOTENCY_KEY_REUSED); 0 or STORE_E_*,
 * STORE_E_NOTFOUND when there is none yet. */
static int replay_find(struct pay_flow *j, struct store_txn *txn)
{
	int rc = store_payment_get(txn, j->want.id, &j->got);

	if (rc != 0)
		return rc;
	if (memcmp(j->got.org_id, j->org_id, AUTHD_ID_LEN) != 0 ||
	    CRYPTO_memcmp(j->got.request_hash, j->want.request_hash, AUTHD_HASH_LEN) != 0)
		j->f.err = E_IDEMPOTENCY_KEY_REUSED;
	else
		j->replay = true;
	return 0;
}

/* What a deposit asks: kind, amount and currency. */
static void deposit_hash(struct payment *p)
{
	uint8_t in[1 + 1 + 8];

	in[0] = PAYMENT_DEPOSIT;
	in[1] = p->currency;
	authd_put_be64(in + 2, (uint64_t)p->amount);
	authd_sha256(in, sizeof(in), p->request_hash);
}

static int deposit_read(struct flow *f, struct store_txn *txn)
{
	struct pay_flow *j = (struct pay_flow *)f;
	enum currency c;
	int rc;

	j->replay = false;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if (!j->keyed) {
		f->err = E_IDEMPOTENCY_KEY_REQUIRED;
		return 0;
	}
	if ((rc = currency_read(txn, j->org_id, &c)) != 0)
		return rc;
	if (c == 0) {
		f->err = E_NO_BILLING_ADDRESS;
		return 0;
	}
	j->want.currency = (uint8_t)c;
	deposit_hash(&j->want);
	rc = replay_find(j, txn);
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static void deposit_work(struct flow *f)
{
	struct pay_flow *j = (struct pay_flow *)f;
	char amount[BILLING_MONEY_TEXT], what[96];
	int rc;

	if (j->replay)
		return;
	money_text(j->want.amount, j->want.currency, amount);
	snprintf(what, sizeof(what), "Deposit of %s %s to the prepaid balance", amount,
		 core_currency_name((enum currency)j->want.currency));
	rc = provider_checkout(&j->want, what, j->want.provider_ref, j->want.checkout_url);
	if (rc == -1)
		f->err = E_NO_PROVIDER;
	else if (rc != 0)
		f->err = E_PROVIDER_UNAVAILABLE;
}

static int deposit_write(struct flow *f, struct store_txn *txn)
{
	struct pay_flow *j = (struct pay_flow *)f;
	char amount[BILLING_MONEY_TEXT];
	json_t *detail;
	int rc;

	j->replay = false;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	/* Another request with the key (another node's) may have won. */
	if ((rc = replay_find(j, txn)) != STORE_E_NOTFOUND)
		return rc;
	j->got = j->want;
	j->got.status = PAYMENT_PENDING;
	j->got.created_at = f->now;
	memcpy(j->got.created_by, f->session.account_id, AUTHD_ID_LEN);
	money_text(j->got.amount, j->got.currency, amount);
	if ((detail = json_pack("{s:s, s:s, s:s}", "kind", "deposit", "amount", amount, "currency",
				core_currency_name((enum currency)j->got.currency))) == NULL)
		return STORE_E_IO;
	if ((rc = store_payment_put(txn, &j->got)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL, AUDIT_PAYMENT_STARTED, j->got.id, detail);
	json_decref(detail);
	return rc;
}

/* The balance of p's organization in p's currency after tx, written
 * with the ledger entry of kind. */
static int ledger_write(struct flow *f, struct store_txn *txn, const struct payment *p,
			enum ledger_kind kind, const struct ledger_tx *tx)
{
	struct ledger_entry e = {.at = f->now, .kind = (uint8_t)kind, .tx = *tx};
	struct money b = {0, tx->currency};
	int rc;

	if ((rc = store_balance_get(txn, p->org_id, tx->currency, &b.minor)) != 0)
		return rc;
	if (billing_balance_apply(b, tx, &b) != 0) {
		/* Held money was checked when it was held: this is a bug. */
		log_err("ledger refused a %s transaction", core_ledger_kind_name(kind));
		return STORE_E_IO;
	}
	authd_random(e.id, AUTHD_ID_LEN);
	memcpy(e.org_id, p->org_id, AUTHD_ID_LEN);
	memcpy(e.payment_id, p->id, AUTHD_ID_LEN);
	if ((rc = store_ledger_add(txn, &e)) != 0)
		return rc;
	return core_ledger_leg(tx, LEDGER_PREPAID) != 0
		   ? store_balance_put(txn, p->org_id, tx->currency, b.minor)
		   : 0;
}

/* --- POST .../billing/payments: invoices, one or several, in one payment ------------- */

/* What an invoices' payment asks: its invoices (as given: the order is
 * part of the request) and whether the balance pays first. */
static void invoices_hash(struct payment *p, bool use_balance)
{
	uint8_t in[2 + PAYMENT_INVOICES_MAX * AUTHD_ID_LEN];

	in[0] = PAYMENT_INVOICES;
	in[1] = use_balance;
	memcpy(in + 2, p->invoices, (size_t)p->n_invoices * AUTHD_ID_LEN);
	authd_sha256(in, 2 + (size_t)p->n_invoices * AUTHD_ID_LEN, p->request_hash);
}

/* Reads the payment's invoices into j->inv: each the organization's, open
 * and in no pending payment, all of one currency; the total into
 * j->want.amount and j->want.currency. A refusal in f->err. */
static int invoices_load(struct pay_flow *j, struct store_txn *txn)
{
	static const uint8_t none[AUTHD_ID_LEN];
	struct flow *f = &j->f;
	struct money total = {0, 0};
	int rc;

	for (unsigned i = 0; i < j->want.n_invoices; i++) {
		struct invoice *inv = &j->inv[i];

		rc = store_invoice_get(txn, j->want.invoices[i], inv);
		if (rc == STORE_E_NOTFOUND ||
		    (rc == 0 && memcmp(inv->org_id, j->org_id, AUTHD_ID_LEN) != 0)) {
			f->err = E_INVOICE_NOT_FOUND;
			return 0;
		}
		if (rc != 0)
			return rc;
		if (inv->status != INVOICE_OPEN ||
		    memcmp(inv->payment_id, none, AUTHD_ID_LEN) != 0) {
			f->err = E_INVOICE_NOT_PAYABLE;
			return 0;
		}
		/* A renewal of a product that is gone renews nothing. */
		if (inv->kind == INVOICE_RENEWAL) {
			struct product p;

			rc = store_product_get(txn, j->org_id, inv->product_id, &p);
			if (rc == STORE_E_NOTFOUND) {
				f->err = E_INVOICE_NOT_PAYABLE;
				return 0;
			}
			if (rc != 0)
				return rc;
		}
		if (i == 0)
			total.currency = inv->currency;
		if (billing_add(total, (struct money){inv->total, inv->currency}, &total) != 0) {
			f->err = E_MIXED_CURRENCIES; /* or beyond any sum: not one payment */
			return 0;
		}
	}
	j->want.amount = total.minor;
	j->want.currency = total.currency;
	return 0;
}

/* How much of the payment the balance takes (when the request says so). */
static int split_read(struct pay_flow *j, struct store_txn *txn, int64_t *balance)
{
	int rc;

	*balance = 0;
	if (j->use_balance &&
	    (rc = store_balance_get(txn, j->org_id, j->want.currency, balance)) != 0)
		return rc;
	j->want.from_balance = *balance < j->want.amount ? *balance : j->want.amount;
	j->want.rest = j->want.amount - j->want.from_balance;
	return 0;
}

static int invoices_pay_read(struct flow *f, struct store_txn *txn)
{
	struct pay_flow *j = (struct pay_flow *)f;
	int64_t balance;
	int rc;

	j->replay = false;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if (!j->keyed) {
		f->err = E_IDEMPOTENCY_KEY_REQUIRED;
		return 0;
	}
	invoices_hash(&j->want, j->use_balance);
	if ((rc = replay_find(j, txn)) != STORE_E_NOTFOUND)
		return rc;
	if ((rc = invoices_load(j, txn)) != 0 || f->err != E_OK)
		return rc;
	return split_read(j, txn, &balance);
}

static void invoices_pay_work(struct flow *f)
{
	struct pay_flow *j = (struct pay_flow *)f;
	char what[96];
	int rc;

	if (j->replay || j->want.rest == 0)
		return; /* nothing for the provider */
	snprintf(what, sizeof(what), "Invoice%s %" PRIu64 "%s", j->want.n_invoices > 1 ? "s" : "",
		 j->inv[0].number, j->want.n_invoices > 1 ? " and others" : "");
	rc = provider_checkout(&j->want, what, j->want.provider_ref, j->want.checkout_url);
	if (rc == -1)
		f->err = E_NO_PROVIDER;
	else if (rc != 0)
		f->err = E_PROVIDER_UNAVAILABLE;
}

static int invoices_pay_write(struct flow *f, struct store_txn *txn)
{
	struct pay_flow *j = (struct pay_flow *)f;
	struct money part = {j->want.from_balance, j->want.currency};
	char amount[BILLING_MONEY_TEXT];
	struct ledger_tx tx;
	int64_t balance = 0;
	json_t *detail;
	int rc;

	j->replay = false;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if ((rc = replay_find(j, txn)) != STORE_E_NOTFOUND)
		return rc;
	if ((rc = invoices_load(j, txn)) != 0 || f->err != E_OK)
		return rc;
	/* The balance is what the read planned with, or more; less, and the
	 * checkout the provider made no longer fits. */
	if (j->use_balance &&
	    (rc = store_balance_get(txn, j->org_id, j->want.currency, &balance)) != 0)
		return rc;
	if (j->want.from_balance > 0 && balance < j->want.from_balance) {
		f->err = E_BALANCE_CHANGED;
		return 0;
	}
	j->got = j->want;
	j->got.created_at = f->now;
	memcpy(j->got.created_by, f->session.account_id, AUTHD_ID_LEN);
	if (j->got.rest == 0) {
		/* The balance pays it all: paid now. */
		j->got.status = PAYMENT_PAID;
		j->got.settled_at = f->now;
		if (j->got.amount > 0 &&
		    (billing_tx_pay(part, &tx) != 0 ||
		     (rc = ledger_write(f, txn, &j->got, LEDGER_K_PAY, &tx)) != 0))
			return rc ? rc : STORE_E_IO;
		for (unsigned i = 0; i < j->got.n_invoices; i++)
			if ((rc = invoices_paid(f, txn, &j->inv[i], j->got.id)) != 0)
				return rc;
	} else {
		j->got.status = PAYMENT_PENDING;
		if (part.minor > 0 &&
		    (billing_tx_hold(part, &tx) != 0 ||
		     (rc = ledger_write(f, txn, &j->got, LEDGER_K_HOLD, &tx)) != 0))
			return rc ? rc : STORE_E_IO;
		for (unsigned i = 0; i < j->got.n_invoices; i++) {
			memcpy(j->inv[i].payment_id, j->got.id, AUTHD_ID_LEN);
			if ((rc = store_invoice_put(txn, &j->inv[i])) != 0)
				return rc;
		}
	}
	money_text(j->got.amount, j->got.currency, amount);
	if ((detail = json_pack("{s:s, s:s, s:s, s:i}", "kind", "invoices", "amount", amount,
				"currency", core_currency_name((enum currency)j->got.currency),
				"invoices", j->got.n_invoices)) == NULL)
		return STORE_E_IO;
	if ((rc = store_payment_put(txn, &j->got)) == 0)
		rc = orgs_audit(f, txn, j->org_id, NULL,
				j->got.status == PAYMENT_PAID ? AUDIT_PAYMENT_PAID
							      : AUDIT_PAYMENT_STARTED,
				j->got.id, detail);
	json_decref(detail);
	return rc;
}

static void pay_reply(struct flow *f, struct req *r)
{
	struct pay_flow *j = (struct pay_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (j->replay)
		req_add_header(r, "Idempotent-Replayed", "true");
	reply_json(r, j->replay ? 200 : 201, payment_json(&j->got));
}

static void pay_release(struct flow *f)
{
	free(f);
}

static const struct flow_ops invoices_pay_ops = {
    .read = invoices_pay_read,
    .work = invoices_pay_work,
    .write = invoices_pay_write,
    .reply = pay_reply,
    .release = pay_release,
};

static const struct flow_ops deposit_ops = {
    .read = deposit_read,
    .work = deposit_work,
    .write = deposit_write,
    .reply = pay_reply,
    .release = pay_release,
};

void http_billing_deposit(struct req *r)
{
	static const struct field_spec spec[] = {{"amount", JSON_STRING, true, 16}};
	struct pay_flow *j = NULL;
	struct money m;
	json_t *body;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, spec, 1)) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!req_path_ids(r->param, j->org_id, NULL)) {
		reply_error(r, E_ORG_NOT_FOUND);
		goto out;
	}
	/* The currency is the organization's (read with it): the range is the
	 * same in both. */
	if (billing_money_parse(json_str(body, "amount", NULL), CURRENCY_CHF, &m) != 0 ||
	    billing_deposit_check(m) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "amount",
				  "must be an amount from 0.10 to 9999.00, as text (\"50.00\")");
		goto out;
	}
	j->keyed = idempotency_of(r, j->org_id, &j->want);
	j->want.kind = PAYMENT_DEPOSIT;
	j->want.amount = m.minor;
	j->want.rest = m.minor;
	memcpy(j->f.job.group_key, j->org_id, AUTHD_ID_LEN);
	j->f.finish_if_gone = true;
	/* It reads the payment it inserts (a race meets on its key). */
	j->f.write_decides_on_own_writes = true; /* a checkout started is recorded */
	json_decref(body);
	flow_start(&j->f, &deposit_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

void http_billing_pay(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"invoices", JSON_ARRAY, true, PAYMENT_INVOICES_MAX},
	    {"use_balance", JSON_TRUE, false, 0},
	};
	struct pay_flow *j = NULL;
	json_t *body, *list, *use;
	size_t n;

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
	list = json_object_get(body, "invoices");
	n = json_array_size(list);
	if (n == 0 || n > PAYMENT_INVOICES_MAX) {
		reply_field_error(r, E_INVALID_FIELD, "invoices", "must list 1 to 20 invoice ids");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(list, i);
		const char *id = json_is_string(x) ? json_string_value(x) : "";

		if (strlen(id) != AUTHD_ID_HEX ||
		    authd_unhex(id, AUTHD_ID_HEX, j->want.invoices[i], AUTHD_ID_LEN) != 0) {
			reply_field_error(r, E_INVALID_FIELD, "invoices", "must list invoice ids");
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (memcmp(j->want.invoices[k], j->want.invoices[i], AUTHD_ID_LEN) == 0) {
				reply_field_error(r, E_INVALID_FIELD, "invoices",
						  "must not list an invoice twice");
				goto out;
			}
	}
	j->want.n_invoices = (unsigned)n;
	j->want.kind = PAYMENT_INVOICES;
	use = json_object_get(body, "use_balance");
	j->use_balance = use == NULL || json_is_true(use);
	j->keyed = idempotency_of(r, j->org_id, &j->want);
	memcpy(j->f.job.group_key, j->org_id, AUTHD_ID_LEN);
	j->f.finish_if_gone = true;
	/* The balance, the invoices and the payment it decides on, it writes. */
	j->f.write_decides_on_own_writes = true;
	json_decref(body);
	flow_start(&j->f, &invoices_pay_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

/* --- GET .../billing/payments[/{id}] ------------------------------------------------------- */

struct payments_flow {
	struct flow_list l;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
	bool one;
	struct payment p;
	struct org_principal who;
};

static int payment_collect(void *arg, const struct payment *p)
{
	struct payments_flow *j = arg;

	return json_array_append_new(j->l.list, payment_json(p)) == 0 ? 0 : STORE_E_IO;
}

static int payments_read(struct flow *f, struct store_txn *txn)
{
	struct payments_flow *j = (struct payments_flow *)f;
	int rc;

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	if (j->one) {
		rc = store_payment_get(txn, j->id, &j->p);
		if (rc == STORE_E_NOTFOUND ||
		    (rc == 0 && memcmp(j->p.org_id, j->org_id, AUTHD_ID_LEN) != 0)) {
			f->err = E_PAYMENT_NOT_FOUND;
			return 0;
		}
	} else
		rc = store_payments_list(txn, j->org_id, PAYMENTS_SHOWN, payment_collect, j);
	if (rc == 0)
		flow_audit_read(f, j->org_id, "payments", j->one ? j->id : NULL);
	return rc;
}

static void payment_reply(struct flow *f, struct req *r)
{
	struct payments_flow *j = (struct payments_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 200, payment_json(&j->p));
}

static const struct flow_ops payments_ops = {
    .read = payments_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

static const struct flow_ops payment_ops = {
    .read = payments_read,
    .reply = payment_reply,
    .release = flow_list_release,
};

static void payments(struct req *r, bool one)
{
	struct payments_flow *j = flow_get_new_or_reply(r, sizeof(*j));

	if (j == NULL)
		return;
	j->one = one;
	j->l.key = "payments";
	if (!req_path_ids(r->param, j->org_id, one ? j->id : NULL)) {
		reply_error(r, req_path_ids(r->param, j->org_id, NULL) ? E_PAYMENT_NOT_FOUND
								       : E_ORG_NOT_FOUND);
		free(j);
		return;
	}
	flow_start(&j->l.f, one ? &payment_ops : &payments_ops, r);
}

void http_billing_payments(struct req *r)
{
	payments(r, false);
}

void http_billing_payment(struct req *r)
{
	payments(r, true);
}

/* --- POST /1/billing/webhook ------------------------------------------------------------------ */

struct webhook_flow {
	struct flow f;
	uint8_t org_id[AUTHD_ID_LEN]; /* a cancel's */
	bool cancel;		      /* the organization cancels it */
	struct org_principal who;
	uint8_t id[AUTHD_ID_LEN];
	char ref[PAYMENT_REF_MAX + 1];
	bool paid;
	struct money amount;
	struct payment p;
	bool changed;
};

/* The invoices of a payment the provider finished: paid (and what they
 * order done), or free to be paid another way. */
static int webhook_invoices(struct flow *f, struct store_txn *txn, const struct payment *p,
			    bool paid)
{
	struct invoice *inv = malloc(sizeof(*inv));
	int rc = 0;

	if (inv == NULL)
		return STORE_E_IO;
	for (unsigned i = 0; rc == 0 && i < p->n_invoices; i++) {
		if ((rc = store_invoice_get(txn, p->invoices[i], inv)) != 0)
			break;
		/* Held for this payment: nothing else changed it meanwhile. */
		if (inv->status != INVOICE_OPEN ||
		    memcmp(inv->payment_id, p->id, AUTHD_ID_LEN) != 0)
			continue;
		if (paid)
			rc = invoices_paid(f, txn, inv, p->id);
		else {
			memset(inv->payment_id, 0, AUTHD_ID_LEN);
			rc = store_invoice_put(txn, inv);
		}
	}
	free(inv);
	return rc == STORE_E_NOTFOUND ? STORE_E_CORRUPT : rc;
}

/* The provider took money for a payment that had failed or was cancelled
 * here (its hold released, its invoices free again): nothing is lost, it
 * goes to the prepaid balance. */
static int webhook_late(struct flow *f, struct store_txn *txn, struct webhook_flow *j)
{
	struct ledger_tx tx;
	char amount[BILLING_MONEY_TEXT];
	json_t *detail;
	int rc;

	if (billing_tx_credit(j->amount, &tx) != 0)
		return STORE_E_IO;
	if ((rc = ledger_write(f, txn, &j->p, LEDGER_K_DEPOSIT, &tx)) != 0)
		return rc;
	j->p.status = PAYMENT_PAID;
	j->p.settled_at = f->now;
	j->changed = true;
	money_text(j->amount.minor, j->amount.currency, amount);
	if ((detail = json_pack(
		 "{s:s, s:s, s:s, s:b}", "kind",
		 core_payment_kind_name((enum payment_kind)j->p.kind), "amount", amount, "currency",
		 core_currency_name((enum currency)j->amount.currency), "to_balance", 1)) == NULL)
		return STORE_E_IO;
	if ((rc = store_payment_put(txn, &j->p)) == 0)
		rc = orgs_audit(f, txn, j->p.org_id, j->p.created_by, AUDIT_PAYMENT_PAID, j->p.id,
				detail);
	json_decref(detail);
	return rc;
}

static int payment_end(struct flow *f, struct store_txn *txn, struct webhook_flow *j);

static int webhook_write(struct flow *f, struct store_txn *txn)
{
	struct webhook_flow *j = (struct webhook_flow *)f;
	int rc;

	j->changed = false;
	if ((rc = store_payment_get(txn, j->id, &j->p)) == STORE_E_NOTFOUND) {
		f->err = E_PAYMENT_NOT_FOUND; /* the provider tries again later */
		return 0;
	}
	if (rc != 0)
		return rc;
	if (strcmp(j->p.provider_ref, j->ref) != 0 || j->amount.minor != j->p.rest ||
	    j->amount.currency != j->p.currency) {
		f->err = E_PAYMENT_MISMATCH;
		return 0;
	}
	if (j->p.status == PAYMENT_FAILED && j->paid)
		return webhook_late(f, txn, j);
	if (j->p.status != PAYMENT_PENDING)
		return 0; /* told before: a payment moves once */
	return payment_end(f, txn, j);
}

/* A pending payment ends: paid (j->amount, by the provider), or failed
 * or cancelled (its hold released, its invoices free again). */
static int payment_end(struct flow *f, struct store_txn *txn, struct webhook_flow *j)
{
	char amount[BILLING_MONEY_TEXT];
	struct ledger_tx tx;
	json_t *detail;
	int rc = 0;

	if (j->paid && j->p.kind == PAYMENT_DEPOSIT)
		rc = billing_tx_deposit(j->amount, &tx);
	else if (j->paid)
		rc = billing_tx_settle((struct money){j->p.from_balance, j->p.currency}, j->amount,
				       &tx);
	else if (j->p.from_balance > 0)
		rc = billing_tx_release((struct money){j->p.from_balance, j->p.currency}, &tx);
	else
		tx.n = 0; /* nothing was held: nothing moves */
	if (rc != 0)
		return STORE_E_IO;
	if (tx.n > 0 &&
	    (rc = ledger_write(
		 f, txn, &j->p,
		 j->paid ? (j->p.kind == PAYMENT_DEPOSIT ? LEDGER_K_DEPOSIT : LEDGER_K_SETTLE)
			 : LEDGER_K_RELEASE,
		 &tx)) != 0)
		return rc;
	if (j->p.kind == PAYMENT_INVOICES && (rc = webhook_invoices(f, txn, &j->p, j->paid)) != 0)
		return rc;
	j->p.status = j->paid ? PAYMENT_PAID : PAYMENT_FAILED;
	j->p.settled_at = f->now;
	j->changed = true;
	money_text(j->p.amount, j->p.currency, amount);
	if ((detail = json_pack(
		 "{s:s, s:s, s:s, s:b}", "kind",
		 core_payment_kind_name((enum payment_kind)j->p.kind), "amount", amount, "currency",
		 core_currency_name((enum currency)j->p.currency), "cancelled", j->cancel)) == NULL)
		return STORE_E_IO;
	if ((rc = store_payment_put(txn, &j->p)) == 0)
		rc = orgs_audit(f, txn, j->p.org_id, j->cancel ? NULL : j->p.created_by,
				j->paid ? AUDIT_PAYMENT_PAID : AUDIT_PAYMENT_FAILED, j->p.id,
				detail);
	json_decref(detail);
	return rc;
}

static void webhook_written(struct flow *f)
{
	struct webhook_flow *j = (struct webhook_flow *)f;
	char id[AUTHD_ID_HEX + 1];

	if (f->job.store_rc != 0 || !j->changed)
		return;
	authd_hex(j->p.id, AUTHD_ID_LEN, id);
	log_info("payment %s payment=%s kind=%s",
		 j->paid     ? "paid"
		 : j->cancel ? "cancelled"
			     : "failed",
		 id, core_payment_kind_name((enum payment_kind)j->p.kind));
}

static void webhook_reply(struct flow *f, struct req *r)
{
	struct webhook_flow *j = (struct webhook_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 200,
			   json_pack("{s:s}", "status",
				     core_payment_status_name((enum payment_status)j->p.status)));
}

static const struct flow_ops webhook_ops = {
    .write = webhook_write,
    .written = webhook_written,
    .reply = webhook_reply,
    .release = pay_release,
};

void http_billing_webhook(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"id", JSON_STRING, true, AUTHD_ID_HEX}, {"ref", JSON_STRING, true, PAYMENT_REF_MAX},
	    {"status", JSON_STRING, true, 16},	     {"amount", JSON_STRING, true, 24},
	    {"currency", JSON_STRING, true, 3},
	};
	struct webhook_flow *j = NULL;
	const char *status, *id, *ref;
	size_t len = 0;
	json_t *body;

	/* Nothing of an unsigned body is read (flow_start checks again). */
	if (r->body == NULL ||
	    !provider_signature_ok(r->signature, r->body, r->body_len, authd_now())) {
		reply_error(r, E_UNAUTHENTICATED);
		return;
	}
	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]))) == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	id = json_str(body, "id", &len);
	if (len != AUTHD_ID_HEX || authd_unhex(id, len, j->id, AUTHD_ID_LEN) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "id", "must be a payment id");
		goto out;
	}
	ref = json_str(body, "ref", &len);
	memcpy(j->ref, ref, len);
	status = json_str(body, "status", NULL);
	if (strcmp(status, "paid") != 0 && strcmp(status, "failed") != 0) {
		reply_field_error(r, E_INVALID_FIELD, "status", "must be paid or failed");
		goto out;
	}
	j->paid = strcmp(status, "paid") == 0;
	if ((j->amount.currency = (uint8_t)core_currency_parse(json_str(body, "currency", NULL))) ==
		0 ||
	    billing_money_parse(json_str(body, "amount", NULL), (enum currency)j->amount.currency,
				&j->amount) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "amount", "must be an amount and a currency");
		goto out;
	}
	j->f.finish_if_gone = true;
	j->f.write_decides_on_own_writes = true; /* the payment, moved once */
	json_decref(body);
	flow_start(&j->f, &webhook_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

/* --- POST .../billing/payments/{id}/cancel ---------------------------------------------- */

/* A payment left pending (the payer never finished the checkout) ends as
 * failed: the balance's part comes back and its invoices are free to be
 * paid another way. Should the provider take the money after all, it goes
 * to the balance (webhook_late). */
static int cancel_write(struct flow *f, struct store_txn *txn)
{
	struct webhook_flow *j = (struct webhook_flow *)f;
	int rc;

	j->changed = false;
	if ((rc = orgs_billing_gate(f, txn, j->org_id, NULL, &j->who)) != 0 || f->err != E_OK)
		return rc;
	rc = store_payment_get(txn, j->id, &j->p);
	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && memcmp(j->p.org_id, j->org_id, AUTHD_ID_LEN) != 0)) {
		f->err = E_PAYMENT_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (j->p.status != PAYMENT_PENDING) {
		f->err = E_PAYMENT_NOT_PENDING;
		return 0;
	}
	j->paid = false;
	j->amount = (struct money){j->p.rest, j->p.currency};
	return payment_end(f, txn, j);
}

static void cancel_reply(struct flow *f, struct req *r)
{
	struct webhook_flow *j = (struct webhook_flow *)f;

	if (f->err != E_OK)
		flow_reply_error(f, r);
	else
		reply_json(r, 200, payment_json(&j->p));
}

static const struct flow_ops cancel_ops = {
    .write = cancel_write,
    .written = webhook_written,
    .reply = cancel_reply,
    .release = pay_release,
};

void http_billing_payment_cancel(struct req *r)
{
	struct webhook_flow *j = NULL;
	json_t *body;

	if (!req_query_or_reply(r, NULL, 0, NULL) ||
	    (body = json_body_or_reply(r, NULL, 0)) == NULL)
		return;
	json_decref(body);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (!req_path_ids(r->param, j->org_id, j->id)) {
		reply_error(r, req_path_ids(r->param, j->org_id, NULL) ? E_PAYMENT_NOT_FOUND
								       : E_ORG_NOT_FOUND);
		free(j);
		return;
	}
	j->cancel = true;
	j->f.write_decides_on_own_writes = true;
	memcpy(j->f.job.group_key, j->org_id, AUTHD_ID_LEN);
	flow_start(&j->f, &cancel_ops, r);
}
