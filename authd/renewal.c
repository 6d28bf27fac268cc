/*
 * The renewal scheduler (renewal.h). A pass is a chain of write jobs, each
 * a slice of at most SLICE products from where the last one stopped; the
 * loop submits the next when one is done. A slice acts as the system (its
 * records say "via system"), at the pass's time.
 */
#include "renewal.h"

#include "flow.h"
#include "http.h"
#include "invoices.h"
#include "notify.h"
#include "orgs.h"
#include "outbox.h"

#include <billing.h>
#include <log.h>
#include <store.h>
#include <util.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLICE	   200
#define FIRST_US   (20LL * LWS_US_PER_SEC)
#define NOTICE_MAX 8 /* billing contacts told of one step */
/* pg_try_advisory_xact_lock key of the scheduler: "authdren". */
#define RENEWAL_LOCK_KEY 0x61757468647265LL

static lws_sorted_usec_list_t timer;
static struct lws_context *renewal_ctx;
static int64_t every_us, block_after, terminate_after;
static bool running;

struct slice {
	struct flow f; /* the context of the records it writes; f.job is the job */
	bool has_after;
	struct product_due_pos after, next;
	size_t n;
	bool last;
	struct renewal_stats counts; /* this slice's */
	struct renewal_stats total;  /* the pass's so far */
	int64_t started_ms;
	void (*done)(void *arg, const struct renewal_stats *st);
	void *arg;
	struct product got[SLICE];
	struct invoice inv;
	struct voucher v;
};

void renewal_setup(const struct authd_config *c)
{
	every_us = (int64_t)c->renewal_every * LWS_US_PER_SEC;
	block_after = (int64_t)c->block_after * 86400;
	terminate_after = (int64_t)c->terminate_after * 86400;
}

/* --- the organization's billing contacts ----------------------------------------------- */

struct contacts {
	uint8_t ids[NOTICE_MAX][AUTHD_ID_LEN];
	size_t n;
	bool preferred; /* ids are those who asked for billing notices */
};

static int contact_one(void *arg, const struct member *m)
{
	struct contacts *c = arg;
	bool asked = (m->contacts & CONTACT_BILLING) != 0;

	if (!(m->rights & MEMBER_R_BILLING))
		return 0;
	/* Those who asked for billing notices; else whoever has the right. */
	if (asked && !c->preferred) {
		c->n = 0;
		c->preferred = true;
	}
	if ((asked || !c->preferred) && c->n < NOTICE_MAX)
		memcpy(c->ids[c->n++], m->account_id, AUTHD_ID_LEN);
	return 0;
}

static int notice(struct slice *j, struct store_txn *txn, const struct product *p,
		  const char *template_name, const char *invoice, const char *total, int64_t date)
{
	struct contacts c = {0};
	struct account to;
	struct org o;
	char expires[32], when[32];
	int rc;

	if ((rc = store_org_get(txn, p->org_id, &o)) != 0 ||
	    (rc = store_members_list(txn, p->org_id, contact_one, &c)) != 0)
		return rc;
	notify_time(p->expires_at, expires, sizeof(expires));
	notify_time(date, when, sizeof(when));
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		const struct template_var vars[] = {
		    {"organization", o.name},
		    {"product", p->name},
		    {"expires", expires},
		    {"invoice", invoice},
		    {"total", total},
		    {"date", when},
		    {"base_url", notify_base_url()},
		};
		const struct outbox_item it = {
		    .channel = OUTBOX_EMAIL,
		    .account_id = c.ids[i],
		    .to = to.email,
		    .template_name = template_name,
		    .vars = vars,
		    .nvars = sizeof(vars) / sizeof(vars[0]),
		    .now = j->f.now,
		};

		memset(&to, 0, sizeof(to));
		if ((rc = store_account_get(txn, c.ids[i], &to)) == 0)
			rc = outbox_queue(txn, &it);
		else if (rc == STORE_E_NOTFOUND)
			rc = 0; /* gone since: nobody to tell */
		OPENSSL_cleanse(to.pw_hash, sizeof(to.pw_hash));
	}
	return rc;
}

/* --- the steps ------------------------------------------------------------------------- */

/* Pays inv from the balance when it covers it all (*paid). */
static int pay_from_balance(struct slice *j, struct store_txn *txn, bool *paid)
{
	struct flow *f = &j->f;
	struct invoice *inv = &j->inv;
	struct payment pay = {0};
	struct ledger_entry e = {0};
	struct money b = {0, inv->currency};
	int rc;

	*paid = false;
	if ((rc = store_balance_get(txn, inv->org_id, inv->currency, &b.minor)) != 0)
		return rc;
	if (b.minor < inv->total)
		return 0;
	authd_random(pay.id, AUTHD_ID_LEN);
	memcpy(pay.org_id, inv->org_id, AUTHD_ID_LEN);
	/* No request's key: the invoice's, so that each payment's is its own
	 * (PostgreSQL keeps one payment per organization and key). */
	authd_sha256(inv->id, AUTHD_ID_LEN, pay.key_hash);
	pay.kind = PAYMENT_INVOICES;
	pay.status = PAYMENT_PAID;
	pay.currency = inv->currency;
	pay.amount = pay.from_balance = inv->total;
	pay.created_at = pay.settled_at = f->now;
	pay.n_invoices = 1;
	memcpy(pay.invoices[0], inv->id, AUTHD_ID_LEN);
	if (inv->total > 0) {
		e.at = f->now;
		e.kind = LEDGER_K_PAY;
		authd_random(e.id, AUTHD_ID_LEN);
		memcpy(e.org_id, inv->org_id, AUTHD_ID_LEN);
		memcpy(e.payment_id, pay.id, AUTHD_ID_LEN);
		if (billing_tx_pay((struct money){inv->total, inv->currency}, &e.tx) != 0 ||
		    billing_balance_apply(b, &e.tx, &b) != 0)
			return STORE_E_IO; /* checked above: a bug */
		if ((rc = store_ledger_add(txn, &e)) != 0 ||
		    (rc = store_balance_put(txn, inv->org_id, inv->currency, b.minor)) != 0)
			return rc;
	}
	if ((rc = store_payment_put(txn, &pay)) != 0 ||
	    (rc = orgs_audit(f, txn, inv->org_id, NULL, AUDIT_PAYMENT_PAID, pay.id, NULL)) != 0 ||
	    (rc = invoices_paid(f, txn, inv, pay.id)) != 0)
		return rc;
	*paid = true;
	return 0;
}

/* Orders p's renewal (once for this expiry) and pays it from the balance
 * when it can. */
static int step_order(struct slice *j, struct store_txn *txn, struct product *p)
{
	struct flow *f = &j->f;
	struct invoice *inv = &j->inv;
	enum api_error err = E_OK;
	char number[24], total[BILLING_MONEY_TEXT + 4];
	bool paid;
	json_t *detail;
	int rc;

	/* Done for this expiry, whatever comes of it: the mark goes first,
	 * so that paying (which moves the expiry) writes over it. */
	p->renew_tried = p->expires_at;
	if ((rc = store_product_update(txn, p)) != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc; /* removed meanwhile */
	/* No renewal was ordered for this expiry (an order by hand marks it
	 * too): billing_renewal_next said so. */
	memset(inv, 0, sizeof(*inv));
	authd_random(inv->id, AUTHD_ID_LEN);
	memcpy(inv->org_id, p->org_id, AUTHD_ID_LEN);
	memcpy(inv->product_id, p->id, AUTHD_ID_LEN);
	inv->kind = INVOICE_RENEWAL;
	inv->product_kind = p->kind;
	memcpy(inv->product_name, p->name, sizeof(inv->product_name));
	inv->months = p->renewal_months;
	if ((rc = invoices_price(txn, f->now, inv, &j->v, &err)) != 0)
		return rc;
	if (err != E_OK)
		return 0; /* no billing address: the expiry will block it */
	/* A renewal is due when the product expires (an order placed later,
	 * when block_after let it run past expiry: within the usual days). */
	if (p->expires_at > f->now)
		inv->due_at = p->expires_at;
	if ((rc = store_counter_next(txn, "invoice", &inv->number)) != 0)
		return rc;
	snprintf(number, sizeof(number), "%llu", (unsigned long long)inv->number);
	billing_money_text((struct money){inv->total, inv->currency}, total + 4);
	memcpy(total, core_currency_name((enum currency)inv->currency), 3);
	total[3] = ' ';
	if ((detail = json_pack("{s:I, s:s}", "number", (json_int_t)inv->number, "total", total)) ==
	    NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, p->org_id, NULL, AUDIT_RENEWAL_ORDERED, p->id, detail);
	json_decref(detail);
	if (rc != 0 || (rc = pay_from_balance(j, txn, &paid)) != 0)
		return rc;
	if (paid) {
		/* The renewed product, as invoices_paid wrote it, for the email. */
		if ((rc = store_product_get(txn, p->org_id, p->id, p)) != 0)
			return rc;
		j->counts.renewed++;
		return notice(j, txn, p, "renewal_paid", number, total, f->now);
	}
	if ((rc = store_invoice_put(txn, inv)) != 0)
		return rc;
	j->counts.ordered++;
	return notice(j, txn, p, "renewal_due", number, total, f->now);
}

static int step_block(struct slice *j, struct store_txn *txn, struct product *p)
{
	int rc;

	p->blocked_at = j->f.now;
	if ((rc = store_product_update(txn, p)) == STORE_E_NOTFOUND)
		return 0; /* removed meanwhile */
	if (rc != 0 ||
	    (rc = orgs_audit(&j->f, txn, p->org_id, NULL, AUDIT_PRODUCT_BLOCKED, p->id, NULL)) != 0)
		return rc;
	j->counts.blocked++;
	return notice(j, txn, p, "product_blocked", "", "", j->f.now + terminate_after);
}

#define OPEN_MAX 4 /* open renewals of one product cancelled at its end */

struct cancel_open {
	const struct product *p;
	struct invoice *ids; /* at most OPEN_MAX */
	size_t n;
	bool paying; /* one is in a payment under way */
};

static int collect_open(void *arg, const struct invoice *inv)
{
	static const uint8_t none[AUTHD_ID_LEN];
	struct cancel_open *c = arg;

	if (inv->status != INVOICE_OPEN || memcmp(inv->product_id, c->p->id, AUTHD_ID_LEN) != 0)
		return 0;
	if (memcmp(inv->payment_id, none, AUTHD_ID_LEN) != 0)
		c->paying = true;
	else if (c->n < OPEN_MAX)
		c->ids[c->n++] = *inv;
	return 0;
}

static int step_terminate(struct slice *j, struct store_txn *txn, struct product *p)
{
	struct invoice *open = calloc(OPEN_MAX, sizeof(*open));
	struct cancel_open c = {p, open, 0, false};
	int rc;

	if (open == NULL)
		return STORE_E_IO;
	/* Its open renewals are owed no more; while one is being paid, the
	 * product waits for the payment's end (a later pass). */
	rc = store_invoices_list(txn, p->org_id, INVOICES_RECENT, collect_open, &c);
	if (rc == 0 && c.paying) {
		free(open);
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < c.n; i++)
		rc = invoices_cancel(&j->f, txn, &open[i]);
	free(open);
	if (rc != 0 || (rc = store_product_del(txn, p->org_id, p->id)) != 0 ||
	    (rc = orgs_audit(&j->f, txn, p->org_id, NULL, AUDIT_PRODUCT_TERMINATED, p->id, NULL)) !=
		0)
		return rc;
	j->counts.terminated++;
	return notice(j, txn, p, "product_terminated", "", "", j->f.now);
}

/* --- a slice ---------------------------------------------------------------------------- */

static int collect(void *arg, const struct product *p)
{
	struct slice *j = arg;

	if (j->n < SLICE)
		j->got[j->n++] = *p;
	return 0;
}

static int slice_txn(struct job *job, struct store_txn *txn)
{
	struct slice *j = (struct slice *)job;
	int64_t now = j->f.now;
	bool held;
	int rc;

	memset(&j->counts, 0, sizeof(j->counts));
	j->n = 0;
	j->last = true;
	if ((rc = store_cluster_lock(txn, RENEWAL_LOCK_KEY, &held)) != 0)
		return rc;
	if (!held) {
		j->counts.elsewhere = true;
		return 0;
	}
	if ((rc = store_products_due(txn, now + BILLING_RENEW_LEAD, j->has_after ? &j->after : NULL,
				     SLICE, collect, j)) != 0)
		return rc;
	/* Where the next slice starts, as walked (a step may move a product's
	 * expiry). */
	if (j->n > 0) {
		j->next.expires_at = j->got[j->n - 1].expires_at;
		memcpy(j->next.org_id, j->got[j->n - 1].org_id, AUTHD_ID_LEN);
		memcpy(j->next.id, j->got[j->n - 1].id, AUTHD_ID_LEN);
	}
	for (size_t i = 0; rc == 0 && i < j->n; i++) {
		struct product *p = &j->got[i];

		switch (billing_renewal_next(p->expires_at, p->auto_renew, p->renew_tried,
					     p->blocked_at, now, block_after, terminate_after)) {
		case RENEWAL_ORDER:
			rc = step_order(j, txn, p);
			break;
		case RENEWAL_BLOCK:
			rc = step_block(j, txn, p);
			break;
		case RENEWAL_TERMINATE:
			rc = step_terminate(j, txn, p);
			break;
		case RENEWAL_NONE:
			break;
		}
	}
	j->counts.walked = j->n;
	j->last = j->n < SLICE;
	return rc;
}

/* Real milliseconds (a test clock stands still). */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slice_done(struct job *job);

static void slice_submit(struct slice *j)
{
	j->f.job.txn_work = slice_txn;
	j->f.job.done = slice_done;
	j->f.job.first = STORE_FIRST_UNSAID;
	/* Every product it acts on, it writes (the mark that makes the step
	 * done): two passes meet on that row (store.h). */
	j->f.job.decides_on_own_writes = true;
	store_write(&j->f.job);
}

static void slice_done(struct job *job)
{
	struct slice *j = (struct slice *)job;
	struct renewal_stats *t = &j->total;

	t->slices++;
	if (job->store_rc == 0) {
		t->walked += j->counts.walked;
		t->ordered += j->counts.ordered;
		t->renewed += j->counts.renewed;
		t->blocked += j->counts.blocked;
		t->terminated += j->counts.terminated;
		t->elsewhere = j->counts.elsewhere;
		if (!j->last && !j->counts.elsewhere && j->n > 0) {
			j->has_after = true;
			j->after = j->next;
			slice_submit(j);
			return;
		}
	} else {
		t->store_rc = job->store_rc;
		log_warn("renewal pass stopped: store error %d", job->store_rc);
	}
	t->ms = wall_ms() - j->started_ms;
	if (t->ordered || t->renewed || t->blocked || t->terminated)
		log_info("renewal pass: %lu products, %lu renewals ordered, %lu paid from the "
			 "balance, %lu blocked, %lu terminated in %lld ms",
			 t->walked, t->ordered, t->renewed, t->blocked, t->terminated,
			 (long long)t->ms);
	running = false;
	if (j->done)
		j->done(j->arg, t);
	free(j);
}

bool renewal_pass(void (*done)(void *arg, const struct renewal_stats *st), void *arg)
{
	struct slice *j;

	if (running || (j = calloc(1, sizeof(*j))) == NULL)
		return false;
	running = true;
	j->f.now = authd_now();
	j->f.service = true; /* its records say "via system" */
	j->started_ms = wall_ms();
	j->done = done;
	j->arg = arg;
	slice_submit(j);
	return true;
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	renewal_pass(NULL, NULL);
	lws_sul_schedule(renewal_ctx, 0, &timer, on_timer, every_us);
}

void renewal_start(struct lws_context *ctx)
{
	renewal_ctx = ctx;
	lws_sul_schedule(ctx, 0, &timer, on_timer, FIRST_US);
}

void renewal_stop(void)
{
	if (renewal_ctx)
		lws_sul_cancel(&timer);
	renewal_ctx = NULL;
}
