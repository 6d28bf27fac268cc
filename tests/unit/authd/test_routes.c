/* The route table against the policy: every route x principal kind has an
 * expected answer here, keyed by "METHOD pattern". A new route without a
 * line in this table fails this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"

#include <stdio.h>
#include <string.h>

#define WINDOW 300
#define T0     1000000

enum {
	A = POLICY_ALLOW,
	U = POLICY_DENY_UNAUTHENTICATED,
	R = POLICY_DENY_REAUTH,
	F = POLICY_DENY_FORBIDDEN
};

static const struct {
	const char *route;
	int anonymous, fresh_session, stale_session;
} expected[] = {
    {"GET health", A, A, A},
    {"GET ready", A, A, A},
    {"GET metrics", U, U, U},
    {"POST accounts", A, A, A},
    {"POST login", A, A, A},
    {"POST login/totp", A, A, A},
    {"POST login/backup-code", A, A, A},
    {"POST login/push", A, A, A},
    {"POST login/sms", A, A, A},
    {"POST login/wait", A, A, A},
    {"POST login/*/totp", A, A, A},
    {"POST login/*/backup-code", A, A, A},
    {"GET me", U, A, A},
    {"POST logout", U, A, A},
    {"POST session/cookie", U, A, A},
    {"PUT me/password", U, A, A},
    {"POST me/2fa/totp", U, A, R},
    {"DELETE me/2fa/totp", U, A, A},
    {"POST me/2fa/totp/confirm", U, A, A},
    {"POST me/2fa/backup-codes", U, A, R},
    {"PUT me/2fa/sms", U, A, R},
    {"DELETE me/2fa/sms", U, A, R},
    {"POST me/devices", U, A, R},
    {"GET me/devices", U, A, A},
    {"GET me/devices/*", U, A, A},
    {"DELETE me/devices/*", U, A, R},
    {"GET me/sessions", U, A, A},
    {"GET me/activity", U, A, A},
    {"GET me/recovery", U, A, A},
    {"PUT me/recovery/email", U, A, R},
    {"PUT me/recovery/phone", U, A, R},
    {"DELETE me/recovery/email", U, A, R},
    {"DELETE me/recovery/phone", U, A, R},
    {"POST me/recovery/verify", U, A, A},
    {"POST recovery/password", A, A, A},
    {"POST recovery/password/verify", A, A, A},
    {"POST recovery/password/reset", A, A, A},
    {"POST recovery/login", A, A, A},
    {"PUT me/email", U, A, R},
    {"POST email/verify", A, A, A},
    {"DELETE me/sessions", U, A, A},
    {"DELETE me/sessions/*", U, A, A},
    {"POST service/login-email-deleted", U, U, U},
    /* A reviewer's role is the operator's: no session here holds it. */
    {"POST verification/cases", A, A, A},
    {"GET verification/cases", U, F, F},
    {"GET verification/cases/*", A, A, A},
    {"POST verification/cases/*/documents", A, A, A},
    {"GET verification/cases/*/documents/*", U, F, F},
    {"POST verification/cases/*/decision", U, F, F},
    {"POST verification/accounts/lock", U, F, F},
    {"POST me/close", U, A, R},
    {"POST account/close", A, A, A},
    {"GET organizations", U, A, A},
    {"PUT session/organization", U, A, A},
    {"GET organizations/*/members", U, A, A},
    {"PATCH organizations/*/members/*", U, A, A},
    {"DELETE organizations/*/members/*", U, A, A},
    {"GET organizations/*/audit", U, A, A},
    {"POST organizations/*/invitations", U, A, A},
    {"GET organizations/*/invitations", U, A, A},
    {"DELETE organizations/*/invitations/*", U, A, A},
    {"POST organizations/*/products", U, A, A},
    {"GET organizations/*/products", U, A, A},
    {"DELETE organizations/*/products/*", U, A, A},
    {"GET organizations/*/products/*/grants", U, A, A},
    {"PUT organizations/*/products/*/grants/*", U, A, A},
    {"DELETE organizations/*/products/*/grants/*", U, A, A},
    {"GET organizations/*/products/*/access", U, A, A},
    {"POST organizations/*/teams", U, A, A},
    {"GET organizations/*/teams", U, A, A},
    {"PATCH organizations/*/teams/*", U, A, A},
    {"DELETE organizations/*/teams/*", U, A, A},
    {"PUT organizations/*/teams/*/members/*", U, A, A},
    {"DELETE organizations/*/teams/*/members/*", U, A, A},
    {"POST organizations/*/partners", U, A, R},
    {"GET organizations/*/partners", U, A, A},
    {"DELETE organizations/*/partners/*", U, A, A},
    {"POST me/tokens", U, A, R},
    {"GET me/tokens", U, A, A},
    {"DELETE me/tokens/*", U, A, A},
    {"POST organizations/*/tokens", U, A, R},
    {"GET organizations/*/tokens", U, A, A},
    {"DELETE organizations/*/tokens/*", U, A, A},
    {"POST organizations/*/support-grants", U, A, R},
    {"GET organizations/*/support-grants", U, A, A},
    {"DELETE organizations/*/support-grants/*", U, A, A},
    {"PUT support/grants/*/assignees/*", U, F, F},
    {"DELETE support/grants/*/assignees/*", U, F, F},
    {"GET support/grants/*/access", U, F, F},
    {"GET support/grants", U, F, F},
    {"GET organizations/*/billing/addresses", U, A, A},
    {"POST organizations/*/billing/addresses", U, A, A},
    {"PATCH organizations/*/billing/addresses/*", U, A, A},
    {"DELETE organizations/*/billing/addresses/*", U, A, A},
    {"PUT organizations/*/products/*/auto-renewal", U, A, A},
    {"GET organizations/*/billing/balance", U, A, A},
    {"POST organizations/*/billing/deposits", U, A, A},
    {"GET organizations/*/billing/payments", U, A, A},
    {"GET organizations/*/billing/payments/*", U, A, A},
    {"POST billing/webhook", U, U, U},
    {"POST organizations/*/billing/payments", U, A, A},
    {"POST organizations/*/billing/payments/*/cancel", U, A, A},
    {"POST organizations/*/billing/orders", U, A, A},
    {"GET organizations/*/billing/invoices", U, A, A},
    {"GET organizations/*/billing/invoices/*", U, A, A},
    {"POST organizations/*/billing/invoices/*/cancel", U, A, A},
    {"GET billing/vouchers", U, F, F},
    {"POST billing/vouchers", U, F, F},
    {"POST invitations/view", A, A, A},
    {"POST invitations/accept", U, A, A},
    {"POST invitations/signup", A, A, A},
    /* The operator's (admin socket): nobody else, whatever the session. */
    {"POST admin/accounts/find", U, U, U},
    {"POST admin/accounts/*/lock", U, U, U},
    {"POST admin/accounts/*/unlock", U, U, U},
    {"DELETE admin/accounts/*/sessions", U, U, U},
    {"GET admin/accounts/*/events", U, U, U},
    {"GET admin/outbox/failures", U, U, U},
    {"GET admin/keys", U, U, U},
    {"POST admin/keys/census", U, U, U},
    {"POST admin/keys/rotate", U, U, U},
    {"POST admin/keys/activate", U, U, U},
    {"POST admin/keys/reseal", U, U, U},
    {"POST admin/keys/retire", U, U, U},
    {"POST _test/clock", A, A, A},
    {"GET _test/stats", A, A, A},
    {"POST _test/stall", A, A, A},
    {"POST _test/billing_pass", A, A, A},
    {"POST _test/fail_writes", A, A, A},
    {"POST _test/seed_org", A, A, A},
};

static void test_every_route_has_a_line(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session fresh, stale;
	size_t n;
	const struct route *routes = router_routes(&n);

	(void)state;
	memset(&fresh, 0, sizeof(fresh));
	fresh.created_at = fresh.second_factor_at = T0 - 1;
	stale = fresh;
	stale.created_at = stale.second_factor_at = T0 - WINDOW - 1;
	for (size_t i = 0; i < n; i++) {
		char key[96];
		size_t k;

		snprintf(key, sizeof(key), "%s %s", router_method_name(routes[i].method),
			 routes[i].pattern);
		for (k = 0; k < sizeof(expected) / sizeof(expected[0]); k++)
			if (strcmp(expected[k].route, key) == 0)
				break;
		if (k == sizeof(expected) / sizeof(expected[0]))
			fail_msg("route %s has no policy line in this test", key);
		struct principal anon = {.kind = PRINCIPAL_ANONYMOUS, .session = NULL};
		struct principal pf = {.kind = PRINCIPAL_SESSION, .session = &fresh};
		struct principal ps = {.kind = PRINCIPAL_SESSION, .session = &stale};
		int got[3] = {
		    (int)policy_decide(&pp, &anon, routes[i].action, NULL, T0),
		    (int)policy_decide(&pp, &pf, routes[i].action, NULL, T0),
		    (int)policy_decide(&pp, &ps, routes[i].action, NULL, T0),
		};
		if (got[0] != expected[k].anonymous || got[1] != expected[k].fresh_session ||
		    got[2] != expected[k].stale_session)
			fail_msg("route %s: got %d/%d/%d", key, got[0], got[1], got[2]);
		/* The router lets anonymous clients through exactly when the
		 * policy does, for routes that need no session. */
		if (!policy_needs_session(routes[i].action))
			assert_int_equal(router_anonymous_allowed(routes[i].action), got[0] == A);
	}
	/* And no line of this table is stale. */
	assert_int_equal(n, sizeof(expected) / sizeof(expected[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route_has_a_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
