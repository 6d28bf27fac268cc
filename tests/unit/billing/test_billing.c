/* Unit tests for billing/billing.c: money sums within bounds and of one
 * currency, rounding half away from zero, the text of amounts both ways;
 * deposits from 0.10 to 9 999.00; ledger transactions balance and the
 * prepaid balance never goes below zero; a balance pays what it can and
 * another method the rest; vouchers at the edges of their dates and uses;
 * invoice totals with tax; the 14-day auto-renewal rule at its boundary.
 * Every BILLING_E_* is reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "billing.h"

#include <string.h>

#define CHF(x) ((struct money){(x), CURRENCY_CHF})
#define EUR(x) ((struct money){(x), CURRENCY_EUR})
#define DAY    86400LL
#define T0     1800000000

static void test_money(void **state)
{
	struct money m = CHF(0);
	char text[BILLING_MONEY_TEXT];

	(void)state;
	assert_int_equal(billing_add(CHF(150), CHF(275), &m), 0);
	assert_int_equal(m.minor, 425);
	assert_int_equal(billing_add(CHF(1), EUR(1), &m), BILLING_E_CURRENCY);
	assert_int_equal(m.minor, 425); /* untouched on failure */
	assert_int_equal(billing_add(CHF(BILLING_MONEY_MAX), CHF(1), &m), BILLING_E_OVERFLOW);
	assert_int_equal(billing_sub(CHF(100), CHF(250), &m), 0);
	assert_int_equal(m.minor, -150);
	assert_int_equal(billing_add((struct money){1, 0}, (struct money){1, 0}, &m),
			 BILLING_E_CURRENCY);
	/* 8.1% of 10.05 is 0.81405: 0.81; of 10.06, 0.81486: 0.81; of 1.00,
	 * 0.081; halves go up, negative ones down. */
	assert_int_equal(billing_percent(CHF(1005), 810, &m), 0);
	assert_int_equal(m.minor, 81);
	assert_int_equal(billing_percent(CHF(50), 1000, &m), 0); /* 5.0 -> 5 */
	assert_int_equal(m.minor, 5);
	assert_int_equal(billing_percent(CHF(5), 1000, &m), 0); /* 0.5 -> 1 */
	assert_int_equal(m.minor, 1);
	assert_int_equal(billing_percent(CHF(-5), 1000, &m), 0);
	assert_int_equal(m.minor, -1);
	assert_int_equal(billing_percent(CHF(4), 1000, &m), 0); /* 0.4 -> 0 */
	assert_int_equal(m.minor, 0);
	assert_int_equal(billing_percent(CHF(1), BILLING_BP_MAX + 1, &m), BILLING_E_OVERFLOW);
	m = CHF(77);
	assert_int_equal(billing_percent(CHF(BILLING_MONEY_MAX), BILLING_BP_MAX, &m),
			 BILLING_E_OVERFLOW);
	assert_int_equal(m.minor, 77); /* untouched on failure */
	assert_int_equal(billing_percent(CHF(BILLING_MONEY_MAX), 10000, &m), 0);
	assert_int_equal(m.minor, BILLING_MONEY_MAX);
	billing_money_text(CHF(123450), text);
	assert_string_equal(text, "1234.50");
	billing_money_text(CHF(-7), text);
	assert_string_equal(text, "-0.07");
	billing_money_text(CHF(BILLING_MONEY_MAX), text);
	assert_string_equal(text, "100000000000.00");
	assert_int_equal(billing_money_parse("12", CURRENCY_EUR, &m), 0);
	assert_true(m.minor == 1200 && m.currency == CURRENCY_EUR);
	assert_int_equal(billing_money_parse("0.1", CURRENCY_CHF, &m), 0);
	assert_int_equal(m.minor, 10);
	assert_int_equal(billing_money_parse("9999.00", CURRENCY_CHF, &m), 0);
	assert_int_equal(m.minor, 999900);
	for (size_t i = 0; i < 9; i++) {
		static const char *const bad[] = {"",	 ".5",	"5.",	 "1.234", "-1",
						  "1e3", "1,5", "1.2.3", " 1"};
		assert_int_equal(billing_money_parse(bad[i], CURRENCY_CHF, &m), BILLING_E_SYNTAX);
	}
	assert_int_equal(billing_money_parse("1234567890123", CURRENCY_CHF, &m),
			 BILLING_E_OVERFLOW);
	assert_int_equal(billing_money_parse("00000000000001.5", CURRENCY_CHF, &m), 0);
	assert_int_equal(m.minor, 150);
	assert_int_equal(billing_money_parse("999999999999.99", CURRENCY_CHF, &m),
			 BILLING_E_OVERFLOW);
	assert_int_equal(m.minor, 150); /* untouched on failure */
	assert_int_equal(billing_money_parse("1", 0, &m), BILLING_E_SYNTAX);
	assert_string_equal(billing_strerror(BILLING_E_SYNTAX), "not an amount");
	assert_string_equal(billing_strerror(0), "");
}

static void test_deposits_and_ledger(void **state)
{
	struct ledger_tx tx, pay;
	struct money b = CHF(0);

	(void)state;
	/* 0.10 to 9 999.00, to the cent. */
	assert_int_equal(billing_deposit_check(CHF(9)), BILLING_E_RANGE);
	assert_int_equal(billing_deposit_check(CHF(10)), 0);
	assert_int_equal(billing_deposit_check(CHF(999900)), 0);
	assert_int_equal(billing_deposit_check(CHF(999901)), BILLING_E_RANGE);
	assert_int_equal(billing_deposit_check((struct money){100, 9}), BILLING_E_CURRENCY);
	assert_int_equal(billing_tx_deposit(CHF(0), &tx), BILLING_E_RANGE);
	assert_int_equal(billing_tx_deposit(CHF(5000), &tx), 0);
	assert_int_equal(billing_tx_check(&tx), 0);
	assert_int_equal(billing_balance_apply(b, &tx, &b), 0);
	assert_int_equal(b.minor, 5000);
	/* Paying 30.00 of 50.00, then 20.00: nothing is left; one more cent
	 * is refused and leaves the balance as it was. */
	assert_int_equal(billing_tx_pay(CHF(3000), &pay), 0);
	assert_int_equal(billing_balance_apply(b, &pay, &b), 0);
	assert_int_equal(billing_tx_pay(CHF(2000), &pay), 0);
	assert_int_equal(billing_balance_apply(b, &pay, &b), 0);
	assert_int_equal(b.minor, 0);
	assert_int_equal(billing_tx_pay(CHF(1), &pay), 0);
	assert_int_equal(billing_balance_apply(b, &pay, &b), BILLING_E_INSUFFICIENT);
	assert_int_equal(b.minor, 0);
	assert_int_equal(billing_balance_apply(EUR(100), &pay, &b), BILLING_E_CURRENCY);
	assert_int_equal(billing_tx_pay(CHF(0), &pay), BILLING_E_RANGE);
	/* Transactions that do not balance, or have no legs worth a name. */
	tx.legs[0].minor -= 1;
	assert_int_equal(billing_tx_check(&tx), BILLING_E_UNBALANCED);
	tx.legs[0].minor += 1;
	tx.legs[1].account = 9;
	assert_int_equal(billing_tx_check(&tx), BILLING_E_UNBALANCED);
	tx.legs[1].account = LEDGER_PREPAID;
	tx.n = 1;
	assert_int_equal(billing_tx_check(&tx), BILLING_E_UNBALANCED);
	tx = (struct ledger_tx){CURRENCY_CHF,
				3,
				{{LEDGER_PROVIDER, -BILLING_MONEY_MAX - 1},
				 {LEDGER_PREPAID, BILLING_MONEY_MAX},
				 {LEDGER_REVENUE, 1}}};
	assert_int_equal(billing_tx_check(&tx), BILLING_E_OVERFLOW);
	tx.currency = 0;
	assert_int_equal(billing_tx_check(&tx), BILLING_E_CURRENCY);
}

/* A payment shared with the provider: the balance's part is held, then
 * settled with the provider's rest into revenue, or released. */
static void test_hold_settle_release(void **state)
{
	struct money b = CHF(5000);
	struct ledger_tx tx;

	(void)state;
	assert_int_equal(billing_tx_hold(CHF(3000), &tx), 0);
	assert_int_equal(core_ledger_leg(&tx, LEDGER_HELD), 3000);
	assert_int_equal(billing_balance_apply(b, &tx, &b), 0);
	assert_int_equal(b.minor, 2000);
	assert_int_equal(billing_tx_settle(CHF(3000), CHF(1250), &tx), 0);
	assert_int_equal(tx.n, 3);
	assert_int_equal(core_ledger_leg(&tx, LEDGER_HELD), -3000);
	assert_int_equal(core_ledger_leg(&tx, LEDGER_PROVIDER), -1250);
	assert_int_equal(core_ledger_leg(&tx, LEDGER_REVENUE), 4250);
	assert_int_equal(billing_balance_apply(b, &tx, &b), 0);
	assert_int_equal(b.minor, 2000); /* settling leaves the balance alone */
	/* Nothing held: the provider's part alone. */
	assert_int_equal(billing_tx_settle(CHF(0), CHF(700), &tx), 0);
	assert_int_equal(tx.n, 2);
	assert_int_equal(billing_tx_settle(CHF(0), CHF(0), &tx), BILLING_E_RANGE);
	assert_int_equal(billing_tx_settle(CHF(-1), CHF(1), &tx), BILLING_E_RANGE);
	assert_int_equal(billing_tx_settle(CHF(1), EUR(1), &tx), BILLING_E_CURRENCY);
	assert_int_equal(billing_tx_release(CHF(3000), &tx), 0);
	assert_int_equal(billing_balance_apply(b, &tx, &b), 0);
	assert_int_equal(b.minor, 5000);
	/* Money the provider took after the payment ended: to the balance,
	 * whatever its size. */
	assert_int_equal(billing_tx_credit(CHF(1500000), &tx), 0);
	assert_int_equal(core_ledger_leg(&tx, LEDGER_PREPAID), 1500000);
	assert_int_equal(billing_tx_check(&tx), 0);
	assert_int_equal(billing_tx_credit(CHF(0), &tx), BILLING_E_RANGE);
	assert_int_equal(billing_tx_credit((struct money){5, 9}, &tx), BILLING_E_CURRENCY);
	assert_int_equal(billing_tx_hold(CHF(0), &tx), BILLING_E_RANGE);
	assert_int_equal(billing_tx_release(CHF(-5), &tx), BILLING_E_RANGE);
}

static void test_months_and_prices(void **state)
{
	int64_t t, p;

	(void)state;
	/* 2026-01-31T10:00:00Z + 1 month: 2026-02-28T10:00:00Z; + 13: 2027-02-28;
	 * 2024-01-31 + 1: 2024-02-29 (leap); + 12 months keeps the day. */
	assert_int_equal(billing_add_months(1769853600, 1, &t), 0);
	assert_int_equal(t, 1772272800);
	assert_int_equal(billing_add_months(1769853600, 13, &t), 0);
	assert_int_equal(t, 1803808800);
	assert_int_equal(billing_add_months(1706659200, 1, &t), 0);
	assert_int_equal(t, 1709164800);
	assert_int_equal(billing_add_months(1765065600, 12, &t), 0); /* 2025-12-07 */
	assert_int_equal(t, 1796601600);			     /* 2026-12-07 */
	assert_int_equal(billing_add_months(1765065600, 120, &t), 0);
	assert_int_equal(t, 2080598400); /* 2035-12-07 */
	assert_int_equal(billing_add_months(0, 0, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(billing_add_months(-1, 1, &t), BILLING_E_RANGE);
	assert_int_equal(billing_add_months(BILLING_TIME_MAX, 1, &t), BILLING_E_RANGE);
	assert_int_equal(billing_monthly_price(PRODUCT_MAIL, CURRENCY_CHF, &p), 0);
	assert_int_equal(p, 500);
	assert_int_equal(billing_monthly_price(PRODUCT_MAIL, CURRENCY_EUR, &p), 0);
	assert_int_equal(p, 450);
	assert_int_equal(billing_monthly_price(PRODUCT_MAIL, 9, &p), BILLING_E_CURRENCY);
	assert_int_equal(billing_monthly_price(0, CURRENCY_CHF, &p), BILLING_E_RANGE);
	assert_int_equal(billing_monthly_price(99, CURRENCY_CHF, &p), BILLING_E_RANGE);
}

static void test_renewal_steps(void **state)
{
	const int64_t exp = 2000000000, day = 86400, lead = BILLING_RENEW_LEAD;

	(void)state;
	/* No expiry, nothing to do; auto-renewal orders once per expiry, from
	 * 14 days before it to the second. */
	assert_int_equal(billing_renewal_next(0, true, 0, 0, exp, 0, 30 * day), RENEWAL_NONE);
	assert_int_equal(billing_renewal_next(exp, true, 0, 0, exp - lead - 1, 0, 30 * day),
			 RENEWAL_NONE);
	assert_int_equal(billing_renewal_next(exp, true, 0, 0, exp - lead, 0, 30 * day),
			 RENEWAL_ORDER);
	assert_int_equal(billing_renewal_next(exp, true, exp, 0, exp - lead, 0, 30 * day),
			 RENEWAL_NONE);
	assert_int_equal(billing_renewal_next(exp, false, 0, 0, exp - 1, 0, 30 * day),
			 RENEWAL_NONE);
	/* Unpaid at expiry (+ block_after): blocked, whether it renews by
	 * itself or not; terminated terminate_after later. */
	assert_int_equal(billing_renewal_next(exp, false, 0, 0, exp, 0, 30 * day), RENEWAL_BLOCK);
	assert_int_equal(billing_renewal_next(exp, true, exp, 0, exp + day - 1, day, 30 * day),
			 RENEWAL_NONE);
	assert_int_equal(billing_renewal_next(exp, true, exp, 0, exp + day, day, 30 * day),
			 RENEWAL_BLOCK);
	assert_int_equal(billing_renewal_next(exp, true, exp, exp, exp + 30 * day - 1, 0, 30 * day),
			 RENEWAL_NONE);
	assert_int_equal(billing_renewal_next(exp, true, exp, exp, exp + 30 * day, 0, 30 * day),
			 RENEWAL_TERMINATE);
}

static void test_split(void **state)
{
	struct money from, rest;

	(void)state;
	assert_int_equal(billing_split(CHF(12000), CHF(5000), &from, &rest), 0);
	assert_true(from.minor == 5000 && rest.minor == 7000);
	assert_int_equal(billing_split(CHF(12000), CHF(20000), &from, &rest), 0);
	assert_true(from.minor == 12000 && rest.minor == 0);
	assert_int_equal(billing_split(CHF(100), CHF(0), &from, &rest), 0);
	assert_true(from.minor == 0 && rest.minor == 100);
	assert_int_equal(billing_split(CHF(100), EUR(10), &from, &rest), BILLING_E_CURRENCY);
	assert_int_equal(billing_split(CHF(-1), CHF(10), &from, &rest), BILLING_E_RANGE);
}

static void test_vouchers(void **state)
{
	struct voucher_rule v = {.kind = VOUCHER_PERCENT,
				 .bp = 2500,
				 .valid_from = T0,
				 .valid_until = T0 + 30 * DAY,
				 .max_uses = 2};
	struct money d = CHF(0);

	(void)state;
	assert_int_equal(billing_voucher_discount(&v, CHF(9990), T0 - 1, &d), BILLING_E_NOT_YET);
	assert_int_equal(billing_voucher_discount(&v, CHF(9990), T0, &d), 0);
	assert_int_equal(d.minor, 2498); /* 24.975 -> 24.98 */
	assert_int_equal(billing_voucher_discount(&v, CHF(9990), T0 + 30 * DAY - 1, &d), 0);
	assert_int_equal(billing_voucher_discount(&v, CHF(9990), T0 + 30 * DAY, &d),
			 BILLING_E_EXPIRED);
	assert_int_equal(billing_voucher_use(&v, T0), 0);
	assert_int_equal(billing_voucher_use(&v, T0), 0);
	assert_int_equal(billing_voucher_use(&v, T0), BILLING_E_USED_UP);
	assert_int_equal(v.used, 2);
	assert_int_equal(billing_voucher_discount(&v, CHF(100), T0, &d), BILLING_E_USED_UP);
	/* An amount off, never more than the order; of its own currency. */
	v = (struct voucher_rule){.kind = VOUCHER_AMOUNT, .amount = CHF(2000)};
	assert_int_equal(billing_voucher_discount(&v, CHF(5000), T0, &d), 0);
	assert_int_equal(d.minor, 2000);
	assert_int_equal(billing_voucher_discount(&v, CHF(1500), T0, &d), 0);
	assert_int_equal(d.minor, 1500);
	assert_int_equal(billing_voucher_discount(&v, EUR(5000), T0, &d), BILLING_E_CURRENCY);
	/* A free voucher: the whole order, unlimited uses, no end. */
	v = (struct voucher_rule){.kind = VOUCHER_FREE};
	assert_int_equal(billing_voucher_discount(&v, EUR(4321), T0 + 9999LL * DAY, &d), 0);
	assert_true(d.minor == 4321 && d.currency == CURRENCY_EUR);
	v = (struct voucher_rule){.kind = VOUCHER_PERCENT, .bp = 10001};
	assert_int_equal(billing_voucher_discount(&v, CHF(100), T0, &d), BILLING_E_RANGE);
	v.kind = 9;
	assert_int_equal(billing_voucher_discount(&v, CHF(100), T0, &d), BILLING_E_RANGE);
}

static void test_totals(void **state)
{
	const struct invoice_line lines[] = {{1, 15900}, {3, 990}}; /* 159.00 + 3 x 9.90 */
	struct invoice_totals t;

	(void)state;
	assert_int_equal(billing_totals(lines, 2, CURRENCY_CHF, 810, CHF(1870), &t), 0);
	assert_int_equal(t.subtotal.minor, 18870);
	assert_int_equal(t.net.minor, 17000);
	assert_int_equal(t.tax.minor, 1377); /* 8.1% of 170.00 = 13.77 */
	assert_int_equal(t.total.minor, 18377);
	assert_int_equal(t.total.currency, CURRENCY_CHF);
	assert_int_equal(billing_totals(lines, 2, CURRENCY_CHF, 810, CHF(18871), &t),
			 BILLING_E_RANGE);
	assert_int_equal(billing_totals(lines, 2, CURRENCY_CHF, 810, EUR(0), &t),
			 BILLING_E_CURRENCY);
	{
		const struct invoice_line huge[] = {{4000000000u, 100000000}};

		assert_int_equal(billing_totals(huge, 1, CURRENCY_EUR, 0, EUR(0), &t),
				 BILLING_E_OVERFLOW);
	}
	assert_int_equal(billing_totals(NULL, 0, CURRENCY_EUR, 1900, EUR(0), &t), 0);
	assert_int_equal(t.total.minor, 0);
}

static void test_autorenew(void **state)
{
	int64_t expires = T0 + 100 * DAY;

	(void)state;
	assert_true(billing_autorenew_allowed(expires, expires - 14 * DAY));
	assert_false(billing_autorenew_allowed(expires, expires - 14 * DAY + 1));
	assert_true(billing_autorenew_allowed(expires, T0));
	assert_false(billing_autorenew_allowed(expires, expires + 1));
	assert_int_equal(billing_renewal_due(expires), expires - 14 * DAY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_money),
	    cmocka_unit_test(test_deposits_and_ledger),
	    cmocka_unit_test(test_hold_settle_release),
	    cmocka_unit_test(test_months_and_prices),
	    cmocka_unit_test(test_renewal_steps),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_vouchers),
	    cmocka_unit_test(test_totals),
	    cmocka_unit_test(test_autorenew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
