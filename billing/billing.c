/*
 * Billing's rules (billing.h): money, the ledger, vouchers, invoice totals
 * and auto-renewal. Pure functions of their arguments.
 */
#include "billing.h"

#include <stdio.h>
#include <string.h>

const char *billing_strerror(int e)
{
	switch (e) {
	case 0:
		return "";
	case BILLING_E_CURRENCY:
		return "amounts of different currencies";
	case BILLING_E_OVERFLOW:
		return "amount out of bounds";
	case BILLING_E_RANGE:
		return "amount outside the allowed range";
	case BILLING_E_INSUFFICIENT:
		return "the balance is too small";
	case BILLING_E_UNBALANCED:
		return "the transaction does not balance";
	case BILLING_E_NOT_YET:
		return "the code is not valid yet";
	case BILLING_E_EXPIRED:
		return "the code has expired";
	case BILLING_E_USED_UP:
		return "the code was used as often as it may be";
	case BILLING_E_SYNTAX:
		return "not an amount";
	}
	return "unknown billing error";
}

static bool in_bounds(int64_t v)
{
	return v >= -BILLING_MONEY_MAX && v <= BILLING_MONEY_MAX;
}

static bool currency_ok(uint8_t c)
{
	return *core_currency_name((enum currency)c) != '\0';
}

int billing_add(struct money a, struct money b, struct money *out)
{
	if (a.currency != b.currency || !currency_ok(a.currency))
		return BILLING_E_CURRENCY;
	/* Both within 10^13: the sum cannot overflow int64_t. */
	if (!in_bounds(a.minor) || !in_bounds(b.minor) || !in_bounds(a.minor + b.minor))
		return BILLING_E_OVERFLOW;
	*out = (struct money){a.minor + b.minor, a.currency};
	return 0;
}

int billing_sub(struct money a, struct money b, struct money *out)
{
	if (!in_bounds(b.minor))
		return BILLING_E_OVERFLOW;
	return billing_add(a, (struct money){-b.minor, b.currency}, out);
}

int billing_percent(struct money m, uint32_t bp, struct money *out)
{
	int64_t mag, q, r;

	if (!currency_ok(m.currency))
		return BILLING_E_CURRENCY;
	/* |m| <= 10^13 and bp <= 10^5 (1000%): the product stays below 10^18,
	 * under 2^63. */
	if (!in_bounds(m.minor) || bp > BILLING_BP_MAX)
		return BILLING_E_OVERFLOW;
	mag = m.minor < 0 ? -m.minor : m.minor;
	q = mag * (int64_t)bp / 10000;
	r = mag * (int64_t)bp % 10000;
	if (r * 2 >= 10000)
		q++; /* half away from zero */
	if (!in_bounds(q))
		return BILLING_E_OVERFLOW;
	*out = (struct money){m.minor < 0 ? -q : q, m.currency};
	return 0;
}

void billing_money_text(struct money m, char out[BILLING_MONEY_TEXT])
{
	uint64_t mag = m.minor < 0 ? (uint64_t)0 - (uint64_t)m.minor : (uint64_t)m.minor;

	snprintf(out, BILLING_MONEY_TEXT, "%s%llu.%02llu", m.minor < 0 ? "-" : "",
		 (unsigned long long)(mag / 100), (unsigned long long)(mag % 100));
}

int billing_money_parse(const char *s, enum currency c, struct money *out)
{
	int64_t units = 0, cents = 0;
	int digits = 0, significant = 0, decimals = -1;

	if (s == NULL || !currency_ok((uint8_t)c))
		return BILLING_E_SYNTAX;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && decimals < 0 && digits > 0) {
			decimals = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return BILLING_E_SYNTAX;
		if (decimals >= 0) {
			if (++decimals > 2)
				return BILLING_E_SYNTAX;
			cents = cents * 10 + (*p - '0');
		} else {
			digits++;
			/* Leading zeros are no magnitude. */
			if ((units != 0 || *p != '0') && ++significant > 12)
				return BILLING_E_OVERFLOW;
			units = units * 10 + (*p - '0');
		}
	}
	if (digits == 0 || decimals == 0)
		return BILLING_E_SYNTAX; /* "", ".5", "5." */
	if (decimals == 1)
		cents *= 10;
	if (!in_bounds(units * 100 + cents))
		return BILLING_E_OVERFLOW;
	*out = (struct money){units * 100 + cents, (uint8_t)c};
	return 0;
}

int billing_deposit_check(struct money m)
{
	if (!currency_ok(m.currency))
		return BILLING_E_CURRENCY;
	return m.minor >= BILLING_DEPOSIT_MIN && m.minor <= BILLING_DEPOSIT_MAX ? 0
										: BILLING_E_RANGE;
}

/* --- the ledger ------------------------------------------------------------------ */

int billing_tx_check(const struct ledger_tx *tx)
{
	int64_t sum = 0;

	if (!currency_ok(tx->currency))
		return BILLING_E_CURRENCY;
	if (tx->n < 2 || tx->n > LEDGER_LEGS_MAX)
		return BILLING_E_UNBALANCED;
	for (unsigned i = 0; i < tx->n; i++) {
		const struct ledger_leg *l = &tx->legs[i];

		if (l->account < LEDGER_PREPAID || l->account > LEDGER_HELD || l->minor == 0)
			return BILLING_E_UNBALANCED;
		if (!in_bounds(l->minor))
			return BILLING_E_OVERFLOW;
		sum += l->minor; /* at most 4 legs of 10^13: no overflow */
	}
	return sum == 0 ? 0 : BILLING_E_UNBALANCED;
}

static void tx_two(struct ledger_tx *tx, uint8_t currency, uint8_t from, uint8_t to, int64_t minor)
{
	memset(tx, 0, sizeof(*tx));
	tx->currency = currency;
	tx->n = 2;
	tx->legs[0] = (struct ledger_leg){from, -minor};
	tx->legs[1] = (struct ledger_leg){to, minor};
}

int billing_tx_deposit(struct money m, struct ledger_tx *tx)
{
	int rc = billing_deposit_check(m);

	if (rc == 0)
		tx_two(tx, m.currency, LEDGER_PROVIDER, LEDGER_PREPAID, m.minor);
	return rc;
}

int billing_tx_pay(struct money m, struct ledger_tx *tx)
{
	if (!currency_ok(m.currency))
		return BILLING_E_CURRENCY;
	if (m.minor <= 0 || !in_bounds(m.minor))
		return BILLING_E_RANGE;
	tx_two(tx, m.currency, LEDGER_PREPAID, LEDGER_REVENUE, m.minor);
	return 0;
}

int billing_tx_credit(struct money m, struct ledger_tx *tx)
{
	if (!currency_ok(m.currency))
		return BILLING_E_CURRENCY;
	if (m.minor <= 0 || !in_bounds(m.minor))
		return BILLING_E_RANGE;
	tx_two(tx, m.currency, LEDGER_PROVIDER, LEDGER_PREPAID, m.minor);
	return 0;
}

int billing_tx_hold(struct money m, struct ledger_tx *tx)
{
	int rc = billing_tx_pay(m, tx);

	if (rc == 0)
		tx->legs[1].account = LEDGER_HELD;
	return rc;
}

int billing_tx_release(struct money m, struct ledger_tx *tx)
{
	int rc = billing_tx_pay(m, tx);

	if (rc == 0) {
		tx->legs[0].account = LEDGER_HELD;
		tx->legs[1].account = LEDGER_PREPAID;
	}
	return rc;
}

int billing_tx_settle(struct money held, struct money rest, struct ledger_tx *tx)
{
	struct money total;
	struct ledger_tx t = {0};
	int rc;

	if (held.minor < 0 || rest.minor <= 0)
		return BILLING_E_RANGE;
	if ((rc = billing_add(held, rest, &total)) != 0)
		return rc;
	t.currency = total.currency;
	if (held.minor > 0)
		t.legs[t.n++] = (struct ledger_leg){LEDGER_HELD, -held.minor};
	t.legs[t.n++] = (struct ledger_leg){LEDGER_PROVIDER, -rest.minor};
	t.legs[t.n++] = (struct ledger_leg){LEDGER_REVENUE, total.minor};
	if ((rc = billing_tx_check(&t)) != 0)
		return rc;
	*tx = t;
	return 0;
}

int billing_balance_apply(struct money balance, const struct ledger_tx *tx, struct money *after)
{
	struct money b = balance;
	int rc = billing_tx_check(tx);

	if (rc != 0)
		return rc;
	if (balance.currency != tx->currency)
		return BILLING_E_CURRENCY;
	for (unsigned i = 0; i < tx->n; i++)
		if (tx->legs[i].account == LEDGER_PREPAID &&
		    (rc = billing_add(b, (struct money){tx->legs[i].minor, tx->currency}, &b)) != 0)
			return rc;
	if (b.minor < 0)
		return BILLING_E_INSUFFICIENT;
	*after = b;
	return 0;
}

int billing_split(struct money due, struct money balance, struct money *from_balance,
		  struct money *rest)
{
	struct money take, left;
	int rc;

	if (due.currency != balance.currency || !currency_ok(due.currency))
		return BILLING_E_CURRENCY;
	if (due.minor < 0 || balance.minor < 0)
		return BILLING_E_RANGE;
	take = balance.minor < due.minor ? balance : due;
	if ((rc = billing_sub(due, take, &left)) != 0)
		return rc;
	*from_balance = take;
	*rest = left;
	return 0;
}

/* --- vouchers ---------------------------------------------------------------------- */

static int voucher_usable(const struct voucher_rule *v, int64_t now)
{
	if (now < v->valid_from)
		return BILLING_E_NOT_YET;
	if (v->valid_until != 0 && now >= v->valid_until)
		return BILLING_E_EXPIRED;
	if ((v->max_uses != 0 && v->used >= v->max_uses) || v->used == UINT32_MAX)
		return BILLING_E_USED_UP;
	return 0;
}

int billing_voucher_discount(const struct voucher_rule *v, struct money total, int64_t now,
			     struct money *discount)
{
	struct money d;
	int rc = voucher_usable(v, now);

	if (rc != 0)
		return rc;
	if (total.minor < 0 || !in_bounds(total.minor))
		return BILLING_E_RANGE;
	switch (v->kind) {
	case VOUCHER_PERCENT:
		if (v->bp == 0 || v->bp > 10000)
			return BILLING_E_RANGE;
		if ((rc = billing_percent(total, v->bp, &d)) != 0)
			return rc;
		break;
	case VOUCHER_AMOUNT:
		if (v->amount.currency != total.currency)
			return BILLING_E_CURRENCY;
		if (v->amount.minor <= 0)
			return BILLING_E_RANGE;
		d = v->amount.minor < total.minor ? v->amount : total;
		break;
	case VOUCHER_FREE:
		d = total;
		break;
	default:
		return BILLING_E_RANGE;
	}
	*discount = d;
	return 0;
}

int billing_voucher_use(struct voucher_rule *v, int64_t now)
{
	int rc = voucher_usable(v, now);

	if (rc == 0)
		v->used++;
	return rc;
}

/* --- invoices ---------------------------------------------------------------------- */

int billing_totals(const struct invoice_line *lines, size_t n, enum currency c, uint32_t tax_bp,
		   struct money discount, struct invoice_totals *out)
{
	struct invoice_totals t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.subtotal = (struct money){0, (uint8_t)c};
	for (size_t i = 0; i < n; i++) {
		struct money line;

		/* quantity < 2^32 and the unit price within 10^13 would
		 * overflow: bound the unit price first. */
		if (lines[i].unit_minor < 0 || lines[i].unit_minor > BILLING_MONEY_MAX ||
		    (lines[i].quantity &&
		     lines[i].unit_minor > BILLING_MONEY_MAX / lines[i].quantity))
			return BILLING_E_OVERFLOW;
		line = (struct money){(int64_t)lines[i].quantity * lines[i].unit_minor, (uint8_t)c};
		if ((rc = billing_add(t.subtotal, line, &t.subtotal)) != 0)
			return rc;
	}
	if (discount.currency != (uint8_t)c)
		return BILLING_E_CURRENCY;
	if (discount.minor < 0 || discount.minor > t.subtotal.minor)
		return BILLING_E_RANGE;
	t.discount = discount;
	if ((rc = billing_sub(t.subtotal, discount, &t.net)) != 0 ||
	    (rc = billing_percent(t.net, tax_bp, &t.tax)) != 0 ||
	    (rc = billing_add(t.net, t.tax, &t.total)) != 0)
		return rc;
	*out = t;
	return 0;
}

/* --- auto-renewal ----------------------------------------------------------------- */

bool billing_autorenew_allowed(int64_t expires_at, int64_t now)
{
	return expires_at - now >= BILLING_RENEW_LEAD;
}

int64_t billing_renewal_due(int64_t expires_at)
{
	return expires_at - BILLING_RENEW_LEAD;
}

enum renewal_step billing_renewal_next(int64_t expires_at, bool auto_renew, int64_t renew_tried,
				       int64_t blocked_at, int64_t now, int64_t block_after,
				       int64_t terminate_after)
{
	if (expires_at <= 0)
		return RENEWAL_NONE;
	if (blocked_at > 0)
		return now - blocked_at >= terminate_after ? RENEWAL_TERMINATE : RENEWAL_NONE;
	if (now >= expires_at && now - expires_at >= block_after)
		return RENEWAL_BLOCK;
	if (auto_renew && renew_tried != expires_at && now >= billing_renewal_due(expires_at))
		return RENEWAL_ORDER;
	return RENEWAL_NONE;
}

/* --- calendar months and the price list ------------------------------------------------ */

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's
 * algorithms, proleptic Gregorian). */
static int64_t days_of(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_of(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int billing_add_months(int64_t t, unsigned months, int64_t *out)
{
	int64_t day, secs, y;
	unsigned m, d;

	if (t < 0 || t > BILLING_TIME_MAX || months > 12 * 1000)
		return BILLING_E_RANGE;
	day = t / 86400;
	secs = t % 86400;
	civil_of(day, &y, &m, &d);
	y += (m - 1 + months) / 12;
	m = (m - 1 + months) % 12 + 1;
	if (d > month_days(y, m))
		d = month_days(y, m); /* the 31st of a shorter month: its last day */
	day = days_of(y, m, d);
	if (day * 86400 + secs > BILLING_TIME_MAX)
		return BILLING_E_RANGE;
	*out = day * 86400 + secs;
	return 0;
}

int billing_monthly_price(enum product_kind kind, enum currency c, int64_t *minor)
{
	/* The operator's list, per month, before tax: CHF, EUR. */
	static const int64_t prices[][2] = {
	    [PRODUCT_MAIL] = {500, 450},   [PRODUCT_DRIVE] = {800, 750},
	    [PRODUCT_CHAT] = {300, 280},   [PRODUCT_HOSTING] = {1200, 1100},
	    [PRODUCT_DOMAIN] = {150, 140}, [PRODUCT_OTHER] = {1000, 900},
	};

	if (!currency_ok(c))
		return BILLING_E_CURRENCY;
	if ((unsigned)kind >= sizeof(prices) / sizeof(prices[0]) || prices[kind][0] == 0)
		return BILLING_E_RANGE;
	*minor = prices[kind][c == CURRENCY_CHF ? 0 : 1];
	return 0;
}
