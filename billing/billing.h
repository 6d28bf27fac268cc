/*
 * Billing as a functional core: money arithmetic, the prepaid balance's
 * double-entry ledger, promotion codes and vouchers, invoice totals and
 * the auto-renewal rule. Records in, decisions and records out; the shell
 * (authd/http_billing*.c) stores them and talks to the payment provider.
 * No clock, no randomness, no I/O here.
 *
 * Money is core.h's struct money: an integer count of minor units (cents)
 * and its currency, never floating point. Every sum is checked for
 * overflow and for mixed currencies. Functions return 0 or a negative
 * BILLING_E_*; outputs are written only on success.
 */
#ifndef AUTHD_BILLING_H
#define AUTHD_BILLING_H

#include <core.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum billing_error {
	BILLING_E_CURRENCY = -1,     /* amounts of two currencies */
	BILLING_E_OVERFLOW = -2,     /* beyond BILLING_MONEY_MAX */
	BILLING_E_RANGE = -3,	     /* an amount outside what the rule allows */
	BILLING_E_INSUFFICIENT = -4, /* the balance would go below zero */
	BILLING_E_UNBALANCED = -5,   /* a transaction whose legs do not sum to zero */
	BILLING_E_NOT_YET = -6,	     /* a voucher before its first day */
	BILLING_E_EXPIRED = -7,	     /* a voucher after its last */
	BILLING_E_USED_UP = -8,	     /* a voucher used as often as it may be */
	BILLING_E_SYNTAX = -9,	     /* an amount's text that is no amount */
};

/* A lowercase message for a BILLING_E_* ("" for 0). */
const char *billing_strerror(int e);

/* Every amount's bound, either side of zero: 10^13 minor units. */
#define BILLING_MONEY_MAX 10000000000000LL

/* Deposits to the prepaid balance: 0.10 to 9 999.00 in its currency. */
#define BILLING_DEPOSIT_MIN 10
#define BILLING_DEPOSIT_MAX 999900

/* Auto-renewal: the first attempt to pay comes this long before expiry,
 * and it cannot be turned on closer to expiry than that. */
#define BILLING_RENEW_LEAD (14 * 86400)

/* a + b (or a - b) of one currency, within BILLING_MONEY_MAX. */
int billing_add(struct money a, struct money b, struct money *out)
    __attribute__((warn_unused_result));
int billing_sub(struct money a, struct money b, struct money *out)
    __attribute__((warn_unused_result));
/* m * bp / 10000 rounded half away from zero (bp: basis points, at most
 * BILLING_BP_MAX). */
#define BILLING_BP_MAX 100000
int billing_percent(struct money m, uint32_t bp, struct money *out)
    __attribute__((warn_unused_result));

/* "1234.50" (two decimals, "-" first when negative) into out. */
#define BILLING_MONEY_TEXT 24
void billing_money_text(struct money m, char out[BILLING_MONEY_TEXT]);
/* Reads "12", "12.3" or "12.30" (no sign, at most two decimals) of
 * currency c. BILLING_E_SYNTAX or BILLING_E_OVERFLOW. */
int billing_money_parse(const char *s, enum currency c, struct money *out)
    __attribute__((warn_unused_result));

/* Whether m may be deposited (BILLING_DEPOSIT_MIN..MAX): 0 or BILLING_E_RANGE. */
int billing_deposit_check(struct money m) __attribute__((warn_unused_result));

/* --- the ledger ------------------------------------------------------------------ */

/* The ledger's records (struct ledger_tx) are core.h's. */

/* Whether tx is a transaction: 2..LEDGER_LEGS_MAX legs of known
 * accounts, none zero, each within BILLING_MONEY_MAX, summing to zero. */
int billing_tx_check(const struct ledger_tx *tx) __attribute__((warn_unused_result));
/* A deposit of m (checked against the deposit range). */
int billing_tx_deposit(struct money m, struct ledger_tx *tx) __attribute__((warn_unused_result));
/* Paying m of an invoice from the prepaid balance. */
int billing_tx_pay(struct money m, struct ledger_tx *tx) __attribute__((warn_unused_result));
/* Money the provider took for a payment that had ended here (failed or
 * cancelled): it goes to the balance, whatever its size (m > 0). */
int billing_tx_credit(struct money m, struct ledger_tx *tx) __attribute__((warn_unused_result));
/* Holding m of the balance for a payment the provider has yet to finish,
 * and giving it back when the provider failed. */
int billing_tx_hold(struct money m, struct ledger_tx *tx) __attribute__((warn_unused_result));
int billing_tx_release(struct money m, struct ledger_tx *tx) __attribute__((warn_unused_result));
/* The provider paid rest (> 0) of a payment whose held part was held (0
 * or more): both go to revenue. */
int billing_tx_settle(struct money held, struct money rest, struct ledger_tx *tx)
    __attribute__((warn_unused_result));
/*
 * The prepaid balance after tx: balance (of tx's currency) plus its
 * prepaid legs, never below zero (BILLING_E_INSUFFICIENT) nor above
 * BILLING_MONEY_MAX; tx checked first.
 */
int billing_balance_apply(struct money balance, const struct ledger_tx *tx, struct money *after)
    __attribute__((warn_unused_result));
/* How much of due the balance pays (all of it, or all the balance has)
 * and what another method must pay (the rest). */
int billing_split(struct money due, struct money balance, struct money *from_balance,
		  struct money *rest) __attribute__((warn_unused_result));

/* --- promotion codes and vouchers ------------------------------------------------- */

enum voucher_kind {
	VOUCHER_PERCENT = 1, /* bp basis points off */
	VOUCHER_AMOUNT,	     /* amount off (at most the total) */
	VOUCHER_FREE,	     /* the whole order (a free voucher) */
};

struct voucher_rule {
	uint8_t kind;	     /* enum voucher_kind */
	uint32_t bp;	     /* VOUCHER_PERCENT: 1..10000 */
	struct money amount; /* VOUCHER_AMOUNT */
	int64_t valid_from;  /* first second it applies */
	int64_t valid_until; /* first second it no longer does; 0: no end */
	uint32_t max_uses;   /* 0: no limit */
	uint32_t used;	     /* orders it applied to */
};

/*
 * What v takes off total at now: BILLING_E_NOT_YET, BILLING_E_EXPIRED,
 * BILLING_E_USED_UP, BILLING_E_CURRENCY (an amount of another currency),
 * or 0 with *discount (0 .. total).
 */
int billing_voucher_discount(const struct voucher_rule *v, struct money total, int64_t now,
			     struct money *discount) __attribute__((warn_unused_result));
/* Counts one use of v at now (the same checks first). */
int billing_voucher_use(struct voucher_rule *v, int64_t now) __attribute__((warn_unused_result));

/* --- invoices ---------------------------------------------------------------------- */

struct invoice_line {
	uint32_t quantity;
	int64_t unit_minor; /* the unit price, before tax */
};

struct invoice_totals {
	struct money subtotal; /* the lines */
	struct money discount; /* from a voucher */
	struct money net;      /* subtotal - discount */
	struct money tax;      /* net * tax_bp, rounded half up */
	struct money total;    /* net + tax */
};

/* The totals of n lines in currency c with tax_bp (basis points: 810 is
 * 8.1%) after discount (of c, at most the subtotal). */
int billing_totals(const struct invoice_line *lines, size_t n, enum currency c, uint32_t tax_bp,
		   struct money discount, struct invoice_totals *out)
    __attribute__((warn_unused_result));

/* --- auto-renewal ----------------------------------------------------------------- */

/* Whether auto-renewal may be turned on at now for a product expiring at
 * expires_at: no closer to expiry than BILLING_RENEW_LEAD (renew first). */
bool billing_autorenew_allowed(int64_t expires_at, int64_t now);
/* When the first attempt to pay its renewal comes. */
int64_t billing_renewal_due(int64_t expires_at);

/* What the renewal scheduler does next to a product, at now. */
enum renewal_step {
	RENEWAL_NONE = 0,
	RENEWAL_ORDER,	   /* auto-renewal: order the renewal and try the balance */
	RENEWAL_BLOCK,	   /* expired block_after ago, unpaid: block it */
	RENEWAL_TERMINATE, /* blocked terminate_after ago: end it */
};

/*
 * The scheduler's next step for a product that expires at expires_at
 * (0: never), renews by itself or not, was last ordered a renewal for the
 * expiry renew_tried, and is blocked since blocked_at (0: not): a
 * renewal is ordered once per expiry, BILLING_RENEW_LEAD before it; an
 * expiry passed by block_after blocks; a block held terminate_after ends
 * the product. One step at a time: the next pass takes the next.
 */
enum renewal_step billing_renewal_next(int64_t expires_at, bool auto_renew, int64_t renew_tried,
				       int64_t blocked_at, int64_t now, int64_t block_after,
				       int64_t terminate_after);

/* --- calendar months and the price list ------------------------------------------ */

/* The last second billing reckons with: 9999-12-31T23:59:59Z. */
#define BILLING_TIME_MAX 253402300799LL

/* t plus months calendar months (UTC), the day kept or, past the end of a
 * shorter month, its last day (Jan 31 + 1 month: Feb 28 or 29).
 * BILLING_E_RANGE for t or the result outside 1970..9999. */
int billing_add_months(int64_t t, unsigned months, int64_t *out)
    __attribute__((warn_unused_result));

/* The price of one month of a product of kind in currency c, before tax:
 * BILLING_E_CURRENCY, BILLING_E_RANGE (no such kind) or 0. */
int billing_monthly_price(enum product_kind kind, enum currency c, int64_t *minor)
    __attribute__((warn_unused_result));

#endif
