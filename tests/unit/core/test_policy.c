/* Unit tests for core/policy.c, as a table: principal x action x time ->
 * decision, and the one rule for a recent proof. Links only the core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

#include <stdio.h>
#include <string.h>

#define WINDOW 300
#define T0     1000000

enum who {
	ANON,
	FRESH,
	STALE_LOGIN_RECENT_2FA,
	STALE,
	SERVICE,
	REPLACED,
	REVIEWER,
	OLD_REVIEWER,
	REVIEWER_NO_2FA,
};

static struct session sess(enum who w)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	memset(s.account_id, 7, AUTHD_ID_LEN);
	s.aal = AAL_SECOND_FACTOR;
	switch (w) {
	case FRESH: /* logged in just now */
		s.created_at = T0 - 10;
		s.second_factor_at = T0 - 10;
		break;
	case REVIEWER: /* a support reviewer, just now */
		s.created_at = T0 - 10;
		break;
	case OLD_REVIEWER:
		s.created_at = T0 - WINDOW - 1;
		break;
	case REVIEWER_NO_2FA: /* just now, with a password alone */
		s.created_at = T0 - 10;
		s.aal = AAL_PASSWORD;
		break;
	case REPLACED: /* just now, with a recovery login identifier */
		s.created_at = T0 - 10;
		s.flags = SESSION_F_LOGIN_REPLACED;
		break;
	case STALE_LOGIN_RECENT_2FA: /* old session, recent second factor */
		s.created_at = T0 - 5000;
		s.second_factor_at = T0 - WINDOW;
		break;
	default: /* both proofs older than the window */
		s.created_at = T0 - 5000;
		s.second_factor_at = T0 - WINDOW - 1;
		break;
	}
	return s;
}

static void test_table(void **state)
{
	static const struct {
		enum who who;
		enum policy_action a;
		enum policy_decision want;
	} cases[] = {
	    {ANON, ACT_HEALTH, POLICY_ALLOW},
	    {ANON, ACT_PAGE, POLICY_ALLOW},
	    {ANON, ACT_READY, POLICY_ALLOW},
	    {ANON, ACT_SIGN_UP, POLICY_ALLOW},
	    {ANON, ACT_LOGIN, POLICY_ALLOW},
	    {ANON, ACT_LOGIN_SECOND_FACTOR, POLICY_ALLOW},
	    {ANON, ACT_ME_READ, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_LOGOUT, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_SESSION_COOKIE, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_PASSWORD_CHANGE, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_TOTP_ENROLL, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_TOTP_CONFIRM, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_TOTP_DELETE, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_BACKUP_REGENERATE, POLICY_DENY_UNAUTHENTICATED},
	    {FRESH, ACT_ME_READ, POLICY_ALLOW},
	    {FRESH, ACT_TOTP_ENROLL, POLICY_ALLOW},
	    {FRESH, ACT_BACKUP_REGENERATE, POLICY_ALLOW},
	    {STALE_LOGIN_RECENT_2FA, ACT_TOTP_ENROLL, POLICY_ALLOW},
	    {STALE_LOGIN_RECENT_2FA, ACT_BACKUP_REGENERATE, POLICY_ALLOW},
	    {STALE, ACT_ME_READ, POLICY_ALLOW},
	    {STALE, ACT_PASSWORD_CHANGE, POLICY_ALLOW},
	    {STALE, ACT_TOTP_CONFIRM, POLICY_ALLOW},
	    {STALE, ACT_TOTP_DELETE, POLICY_ALLOW},
	    {STALE, ACT_TOTP_ENROLL, POLICY_DENY_REAUTH},
	    {STALE, ACT_BACKUP_REGENERATE, POLICY_DENY_REAUTH},
	    {ANON, ACT_DEVICE_LINK, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_DEVICES_READ, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_DEVICE_DELETE, POLICY_DENY_UNAUTHENTICATED},
	    {FRESH, ACT_DEVICE_LINK, POLICY_ALLOW},
	    {FRESH, ACT_DEVICE_DELETE, POLICY_ALLOW},
	    {STALE_LOGIN_RECENT_2FA, ACT_DEVICE_LINK, POLICY_ALLOW},
	    {STALE, ACT_DEVICES_READ, POLICY_ALLOW},
	    {STALE, ACT_DEVICE_LINK, POLICY_DENY_REAUTH},
	    {STALE, ACT_DEVICE_DELETE, POLICY_DENY_REAUTH},
	    {ANON, ACT_SESSIONS_READ, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_SESSION_END, POLICY_DENY_UNAUTHENTICATED},
	    {STALE, ACT_SESSIONS_READ, POLICY_ALLOW},
	    {STALE, ACT_SESSION_END, POLICY_ALLOW},
	    {ANON, ACT_ACTIVITY_READ, POLICY_DENY_UNAUTHENTICATED},
	    {STALE, ACT_ACTIVITY_READ, POLICY_ALLOW},
	    {ANON, ACT_RECOVERY, POLICY_ALLOW},
	    {ANON, ACT_RECOVERY_READ, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_RECOVERY_CHANGE, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT_RECOVERY_VERIFY, POLICY_DENY_UNAUTHENTICATED},
	    {STALE, ACT_RECOVERY_READ, POLICY_ALLOW},
	    {STALE, ACT_RECOVERY_CHANGE, POLICY_DENY_REAUTH},
	    {FRESH, ACT_RECOVERY_CHANGE, POLICY_ALLOW},
	    {STALE, ACT_RECOVERY_VERIFY, POLICY_ALLOW},
	    {ANON, ACT_SMS_FACTOR_CHANGE, POLICY_DENY_UNAUTHENTICATED},
	    {STALE, ACT_SMS_FACTOR_CHANGE, POLICY_DENY_REAUTH},
	    {FRESH, ACT_SMS_FACTOR_CHANGE, POLICY_ALLOW},
	    /* Another service acts where a service is needed, and nowhere
	     * else; nobody else acts there. */
	    {SERVICE, ACT_SERVICE_LOGIN_EMAIL_DELETED, POLICY_ALLOW},
	    {ANON, ACT_SERVICE_LOGIN_EMAIL_DELETED, POLICY_DENY_UNAUTHENTICATED},
	    {FRESH, ACT_SERVICE_LOGIN_EMAIL_DELETED, POLICY_DENY_UNAUTHENTICATED},
	    {SERVICE, ACT_ME_READ, POLICY_DENY_UNAUTHENTICATED},
	    {SERVICE, ACT_LOGIN_EMAIL_CHANGE, POLICY_DENY_UNAUTHENTICATED},
	    /* A session with a recovery login identifier: a new login email
	     * before anything else. */
	    {REPLACED, ACT_ME_READ, POLICY_ALLOW},
	    {REPLACED, ACT_LOGOUT, POLICY_ALLOW},
	    {REPLACED, ACT_LOGIN_EMAIL_CHANGE, POLICY_ALLOW},
	    {REPLACED, ACT_SESSIONS_READ, POLICY_DENY_LOGIN_EMAIL},
	    {REPLACED, ACT_RECOVERY_CHANGE, POLICY_DENY_LOGIN_EMAIL},
	    {REPLACED, ACT_PASSWORD_CHANGE, POLICY_DENY_LOGIN_EMAIL},
	    {REPLACED, ACT_DEVICE_LINK, POLICY_DENY_LOGIN_EMAIL},
	    {REPLACED, ACT_LOGIN, POLICY_ALLOW},
	    {STALE, ACT_LOGIN_EMAIL_CHANGE, POLICY_DENY_REAUTH},
	    {FRESH, ACT_LOGIN_EMAIL_CHANGE, POLICY_ALLOW},
	    /* Cases: anyone opens one and follows it by its token; only a
	     * support reviewer reads them all, and decides (recently signed
	     * in); a reviewer's role is no other permission. */
	    {ANON, ACT_CASE_OPEN, POLICY_ALLOW},
	    {ANON, ACT_CASE_OWN, POLICY_ALLOW},
	    {FRESH, ACT_CASE_REVIEW, POLICY_DENY_FORBIDDEN},
	    {FRESH, ACT_CASE_DECIDE, POLICY_DENY_FORBIDDEN},
	    {FRESH, ACT_ACCOUNT_LOCK, POLICY_DENY_FORBIDDEN},
	    {ANON, ACT_CASE_REVIEW, POLICY_DENY_UNAUTHENTICATED},
	    {REVIEWER, ACT_CASE_REVIEW, POLICY_ALLOW},
	    {REVIEWER, ACT_CASE_DECIDE, POLICY_ALLOW},
	    {REVIEWER, ACT_ACCOUNT_LOCK, POLICY_ALLOW},
	    {OLD_REVIEWER, ACT_CASE_REVIEW, POLICY_ALLOW},
	    {OLD_REVIEWER, ACT_CASE_DECIDE, POLICY_DENY_REAUTH},
	    {OLD_REVIEWER, ACT_ACCOUNT_LOCK, POLICY_DENY_REAUTH},
	    {SERVICE, ACT_CASE_REVIEW, POLICY_DENY_UNAUTHENTICATED},
	    /* The operator's staff act with a second factor, always. */
	    {REVIEWER_NO_2FA, ACT_CASE_REVIEW, POLICY_DENY_REAUTH},
	    {REVIEWER_NO_2FA, ACT_CASE_DECIDE, POLICY_DENY_REAUTH},
	    {FRESH, ACT_ORGS_READ, POLICY_ALLOW},
	    {STALE, ACT_SESSION_ORG_SWITCH, POLICY_ALLOW}, /* no new proof to switch */
	    {ANON, ACT_SESSION_ORG_SWITCH, POLICY_DENY_UNAUTHENTICATED},
	    {ANON, ACT__COUNT, POLICY_DENY_FORBIDDEN},
	    {FRESH, (enum policy_action) - 1, POLICY_DENY_FORBIDDEN},
	};
	struct policy_params pp = {WINDOW};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct session s = sess(cases[i].who);
		struct principal p = {.kind = PRINCIPAL_ANONYMOUS, .session = NULL};

		if (cases[i].who == REVIEWER || cases[i].who == OLD_REVIEWER ||
		    cases[i].who == REVIEWER_NO_2FA)
			p.roles = OPERATOR_SUPPORT_REVIEWER;
		if (cases[i].who == SERVICE)
			p.kind = PRINCIPAL_SERVICE;
		else if (cases[i].who != ANON) {
			p.kind = PRINCIPAL_SESSION;
			p.session = &s;
		}
		if (policy_decide(&pp, &p, cases[i].a, NULL, T0) != cases[i].want)
			fail_msg("case %zu: %s", i, policy_action_name(cases[i].a));
	}
}

/* The operator (the admin socket) does the operator's actions, and only
 * those; nobody else does them, whatever the session's roles. */
static void test_operator_apart(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session s = sess(FRESH);
	struct principal op = {.kind = PRINCIPAL_OPERATOR};
	struct principal staff = {.kind = PRINCIPAL_SESSION,
				  .session = &s,
				  .roles = OPERATOR_SUPPORT_REVIEWER | OPERATOR_SUPPORT_AGENT |
					   OPERATOR_SUPPORT_LEAD | OPERATOR_BILLING};
	struct principal service = {.kind = PRINCIPAL_SERVICE};
	struct principal anon = {.kind = PRINCIPAL_ANONYMOUS};
	unsigned admin = 0;

	(void)state;
	s.aal = AAL_SECOND_FACTOR;
	for (int a = 0; a < ACT__COUNT; a++) {
		bool mine = policy_needs_operator((enum policy_action)a);

		admin += mine;
		if (mine) {
			assert_false(policy_needs_session((enum policy_action)a));
			assert_int_equal(policy_decide(&pp, &op, a, NULL, T0), POLICY_ALLOW);
			assert_int_not_equal(policy_decide(&pp, &staff, a, NULL, T0), POLICY_ALLOW);
			assert_int_not_equal(policy_decide(&pp, &service, a, NULL, T0),
					     POLICY_ALLOW);
			assert_int_not_equal(policy_decide(&pp, &anon, a, NULL, T0), POLICY_ALLOW);
		} else {
			/* Not even what anybody may do. */
			assert_int_equal(policy_decide(&pp, &op, a, NULL, T0),
					 POLICY_DENY_FORBIDDEN);
		}
	}
	assert_int_equal(admin, 11);
}

/* A session acts on its own account only. */
static void test_other_account(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session s = sess(FRESH);
	struct principal p = {.kind = PRINCIPAL_SESSION, .session = &s};
	uint8_t other[AUTHD_ID_LEN];
	struct policy_resource res = {.account_id = other};

	(void)state;
	memset(other, 8, sizeof(other));
	assert_int_equal(policy_decide(&pp, &p, ACT_ME_READ, &res, T0), POLICY_DENY_FORBIDDEN);
	res.account_id = s.account_id;
	assert_int_equal(policy_decide(&pp, &p, ACT_ME_READ, &res, T0), POLICY_ALLOW);
}

/* An organization the session's account is not in is told as absent; one
 * it is in, in any role, may be the session's current. */
static void test_membership(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session s = sess(STALE);
	struct principal p = {.kind = PRINCIPAL_SESSION, .session = &s};
	uint8_t org[AUTHD_ID_LEN] = {9};
	struct policy_resource res = {.org_id = org};

	(void)state;
	assert_int_equal(policy_decide(&pp, &p, ACT_SESSION_ORG_SWITCH, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	for (int r = ROLE_LEGAL_REPRESENTATIVE; r <= ROLE_EXTERNAL; r++) {
		res.org_role = (enum org_role)r;
		assert_int_equal(policy_decide(&pp, &p, ACT_SESSION_ORG_SWITCH, &res, T0),
				 POLICY_ALLOW);
	}
	/* Its people: for legal representatives and administrators only. */
	res.org_role = 0;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBERS_READ, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	for (int r = ROLE_LEGAL_REPRESENTATIVE; r <= ROLE_EXTERNAL; r++) {
		res.org_role = (enum org_role)r;
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBERS_READ, &res, T0),
				 r <= ROLE_ADMINISTRATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN);
	}
	assert_string_equal(core_role_name(ROLE_EXTERNAL), "external");
	assert_int_equal(core_role_parse("external"), ROLE_EXTERNAL);
	assert_int_equal(core_role_parse("owner"), 0);
}

/* Managing people: legal representatives and administrators; anyone may
 * leave; only a legal representative with a recent second factor acts on
 * a legal representative or makes one; and the last one stays. */
static void test_member_changes(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session fresh = sess(FRESH), stale = sess(STALE), pw = sess(REVIEWER_NO_2FA);
	struct principal p = {.kind = PRINCIPAL_SESSION, .session = &fresh};
	uint8_t org[AUTHD_ID_LEN] = {9};
	struct policy_resource res = {.org_id = org};

	(void)state;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	for (int r = ROLE_LEGAL_REPRESENTATIVE; r <= ROLE_EXTERNAL; r++) {
		res.org_role = (enum org_role)r;
		res.self = false;
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
				 r <= ROLE_ADMINISTRATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_REMOVE, &res, T0),
				 r <= ROLE_ADMINISTRATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_AUDIT_READ, &res, T0),
				 r <= ROLE_ADMINISTRATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN);
		/* Leaving is anyone's; changing one's own role is not. */
		res.self = true;
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_REMOVE, &res, T0),
				 POLICY_ALLOW);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
				 r <= ROLE_ADMINISTRATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN);
	}
	res.self = false;
	res.legal = true;
	res.org_role = ROLE_ADMINISTRATOR;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
			 POLICY_DENY_FORBIDDEN);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_REMOVE, &res, T0),
			 POLICY_DENY_FORBIDDEN);
	res.org_role = ROLE_LEGAL_REPRESENTATIVE;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0), POLICY_ALLOW);
	p.session = &stale;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
			 POLICY_DENY_REAUTH);
	p.session = &pw; /* signed in just now, but with a password alone */
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_REMOVE, &res, T0),
			 POLICY_DENY_REAUTH);
	/* The organization's own rule. */
	assert_false(
	    core_member_change_keeps_rep(1, ROLE_LEGAL_REPRESENTATIVE, ROLE_ADMINISTRATOR));
	assert_false(core_member_change_keeps_rep(1, ROLE_LEGAL_REPRESENTATIVE, 0));
	assert_true(core_member_change_keeps_rep(2, ROLE_LEGAL_REPRESENTATIVE, 0));
	assert_true(core_member_change_keeps_rep(1, ROLE_ADMINISTRATOR, 0));
	assert_true(
	    core_member_change_keeps_rep(1, ROLE_LEGAL_REPRESENTATIVE, ROLE_LEGAL_REPRESENTATIVE));
	assert_int_equal(core_contact_parse("security"), CONTACT_SECURITY);
	assert_string_equal(core_contact_name(CONTACT_BILLING), "billing");
	assert_int_equal(core_contact_parse("billing,security"), 0);
	assert_string_equal(core_audit_name(AUDIT_MEMBER_LEFT), "member_left");
	assert_int_equal(core_audit_parse("token_revoked"), AUDIT_TOKEN_REVOKED);
	assert_int_equal(core_audit_via_parse("partner"), AUDIT_VIA_PARTNER);
}

/* A partner organization's manager: told the client organization exists
 * only for what a partner may do; a token only within its scopes and its
 * organization, never where presence counts. */
static void test_partners_and_tokens(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session fresh = sess(FRESH);
	struct principal p = {.kind = PRINCIPAL_SESSION, .session = &fresh};
	uint8_t org[AUTHD_ID_LEN] = {9}, other[AUTHD_ID_LEN] = {8};
	struct policy_resource res = {.org_id = org, .partner = true};

	(void)state;
	assert_int_equal(policy_decide(&pp, &p, ACT_PRODUCT_ACCESS_READ, &res, T0), POLICY_ALLOW);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_PRODUCTS_READ, &res, T0), POLICY_ALLOW);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_GRANT_MANAGE, &res, T0), POLICY_ALLOW);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_PRODUCT_MANAGE, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBERS_READ, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_AUDIT_READ, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	res.partner = false;
	assert_int_equal(policy_decide(&pp, &p, ACT_PRODUCT_ACCESS_READ, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	/* Tokens. */
	memcpy(fresh.org_id, org, AUTHD_ID_LEN);
	p.kind = PRINCIPAL_TOKEN;
	p.scopes = SCOPE_ORGANIZATIONS_READ;
	res.org_role = ROLE_COLLABORATOR;
	assert_int_equal(policy_decide(&pp, &p, ACT_PRODUCT_ACCESS_READ, &res, T0), POLICY_ALLOW);
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_INVITE, &res, T0), POLICY_DENY_SCOPE);
	assert_int_equal(policy_decide(&pp, &p, ACT_PASSWORD_CHANGE, NULL, T0),
			 POLICY_DENY_PRESENCE);
	assert_int_equal(policy_decide(&pp, &p, ACT_TOKEN_CREATE, NULL, T0), POLICY_DENY_PRESENCE);
	res.org_id = other; /* not the token's organization */
	assert_int_equal(policy_decide(&pp, &p, ACT_PRODUCT_ACCESS_READ, &res, T0),
			 POLICY_DENY_NOT_FOUND);
	p.scopes = SCOPE_ORGANIZATIONS_WRITE;
	res.org_id = org;
	res.org_role = ROLE_LEGAL_REPRESENTATIVE;
	res.legal = true;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0),
			 POLICY_DENY_PRESENCE);
	res.legal = false;
	assert_int_equal(policy_decide(&pp, &p, ACT_ORG_MEMBER_CHANGE, &res, T0), POLICY_ALLOW);
	/* The rate ring: 60 in a window, then the wait until the oldest leaves. */
	{
		struct api_token t = {0};
		int64_t wait = 0;

		for (int i = 0; i < API_TOKEN_RATE; i++)
			assert_true(core_token_rate_take(&t, 1000000 + i * 100, &wait));
		assert_false(core_token_rate_take(&t, 1000000 + 6000, &wait));
		assert_int_equal(wait, 54);
		assert_true(core_token_rate_take(&t, 1000000 + API_TOKEN_WINDOW_MS, &wait));
		assert_false(core_token_rate_take(&t, 1000000 + API_TOKEN_WINDOW_MS, &wait));
		assert_int_equal(wait, 1); /* the next leaves 100 ms later: a whole second */
		assert_false(core_token_rate_take(&t, 999000, &wait)); /* a clock behind */
		assert_int_equal(wait, 60);
	}
}

/* One who manages several partners of a client: the union of the
 * relations, never more. */
static void test_partner_merge(void **state)
{
	static struct partner_link a, b;
	uint8_t p[PARTNER_PRODUCTS_MAX + 2][AUTHD_ID_LEN];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < PARTNER_PRODUCTS_MAX + 2; i++)
		memset(p[i], i + 1, AUTHD_ID_LEN);
	a.n_products = 1;
	memcpy(a.products[0], p[0], AUTHD_ID_LEN);
	b.n_products = 2;
	memcpy(b.products[0], p[0], AUTHD_ID_LEN);
	memcpy(b.products[1], p[1], AUTHD_ID_LEN);
	b.billing = true;
	assert_true(core_partner_merge(&a, &b));
	assert_int_equal(a.n_products, 2); /* p[0] once */
	assert_true(core_partner_covers(&a, p[1]));
	assert_false(core_partner_covers(&a, p[2]));
	assert_true(a.billing);
	/* Too many named: those that fit, and false. */
	b.n_products = PARTNER_PRODUCTS_MAX;
	for (int i = 0; i < PARTNER_PRODUCTS_MAX; i++)
		memcpy(b.products[i], p[i + 2], AUTHD_ID_LEN);
	assert_false(core_partner_merge(&a, &b));
	assert_int_equal(a.n_products, PARTNER_PRODUCTS_MAX);
	assert_true(core_partner_covers(&a, p[2]));
	assert_false(core_partner_covers(&a, p[PARTNER_PRODUCTS_MAX + 1]));
	assert_false(a.all_products);
	/* All products from one: all. */
	b.all_products = true;
	b.n_products = 0;
	assert_true(core_partner_merge(&a, &b));
	assert_true(core_partner_covers(&a, p[PARTNER_PRODUCTS_MAX + 1]));
}

/* Support access: only an assigned agent, on a live grant, for its kind;
 * anyone else learns only that it is not assigned. */
static void test_support_use(void **state)
{
	static struct support_grant g;
	struct session s = {.aal = AAL_SECOND_FACTOR};
	struct principal p = {.kind = PRINCIPAL_SESSION, .session = &s};
	uint8_t other[AUTHD_ID_LEN];

	(void)state;
	memset(&g, 0, sizeof(g));
	memset(s.account_id, 0x51, AUTHD_ID_LEN);
	memset(other, 0x52, AUTHD_ID_LEN);
	g.kind = SUPPORT_MAIL;
	g.created_at = T0;
	g.expires_at = T0 + SUPPORT_GRANT_TTL;
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0), SUPPORT_NOT_ASSIGNED);
	assert_true(core_support_assign(&g, s.account_id));
	assert_true(core_support_assign(&g, s.account_id)); /* once */
	assert_int_equal(g.n_assignees, 1);
	/* Assigned, but not (or no longer) an agent. */
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0), SUPPORT_NOT_ASSIGNED);
	p.roles = OPERATOR_SUPPORT_AGENT;
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0), SUPPORT_ALLOWED);
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_DRIVE, T0), SUPPORT_OTHER_KIND);
	/* 7 days to the second. */
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0 + 7 * 86400 - 1),
			 SUPPORT_ALLOWED);
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0 + 7 * 86400), SUPPORT_EXPIRED);
	assert_false(core_support_live(&g, T0 + 7 * 86400));
	g.revoked_at = T0 + 5;
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0 + 6), SUPPORT_REVOKED);
	assert_false(core_support_live(&g, T0 + 6));
	g.revoked_at = 0;
	/* Another agent, unassigned. */
	memcpy(s.account_id, other, AUTHD_ID_LEN);
	assert_int_equal(policy_support_use(&p, &g, SUPPORT_MAIL, T0), SUPPORT_NOT_ASSIGNED);
	/* At most SUPPORT_ASSIGNEES_MAX; taking one out makes room. */
	for (int i = 1; i < SUPPORT_ASSIGNEES_MAX; i++) {
		memset(other, 0x60 + i, AUTHD_ID_LEN);
		assert_true(core_support_assign(&g, other));
	}
	memset(other, 0x70, AUTHD_ID_LEN);
	assert_false(core_support_assign(&g, other));
	memset(other, 0x51, AUTHD_ID_LEN);
	assert_true(core_support_unassign(&g, other));
	assert_false(core_support_unassign(&g, other));
	assert_int_equal(g.n_assignees, SUPPORT_ASSIGNEES_MAX - 1);
	assert_false(core_support_assigned(&g, other));
	memset(other, 0x61, AUTHD_ID_LEN);
	assert_true(core_support_assigned(&g, other)); /* the others moved up, kept */
	/* The staff's list: a lead or an agent, with a second factor. */
	{
		struct policy_params pp = {WINDOW};

		p.roles = OPERATOR_SUPPORT_LEAD;
		assert_int_equal(policy_decide(&pp, &p, ACT_SUPPORT_GRANTS_READ, NULL, T0),
				 POLICY_ALLOW);
		p.roles = OPERATOR_SUPPORT_AGENT;
		assert_int_equal(policy_decide(&pp, &p, ACT_SUPPORT_GRANTS_READ, NULL, T0),
				 POLICY_ALLOW);
		assert_int_equal(policy_needs_roles(ACT_SUPPORT_GRANTS_READ),
				 OPERATOR_SUPPORT_LEAD | OPERATOR_SUPPORT_AGENT);
		p.roles = OPERATOR_SUPPORT_REVIEWER;
		assert_int_equal(policy_decide(&pp, &p, ACT_SUPPORT_GRANTS_READ, NULL, T0),
				 POLICY_DENY_FORBIDDEN);
		p.roles = OPERATOR_SUPPORT_LEAD;
		s.aal = AAL_PASSWORD;
		assert_int_equal(policy_decide(&pp, &p, ACT_SUPPORT_GRANTS_READ, NULL, T0),
				 POLICY_DENY_REAUTH);
		s.aal = AAL_SECOND_FACTOR;
		p.kind = PRINCIPAL_TOKEN;
		p.scopes = SCOPE__ALL;
		assert_int_equal(policy_decide(&pp, &p, ACT_SUPPORT_GRANTS_READ, NULL, T0),
				 POLICY_DENY_PRESENCE);
		p.kind = PRINCIPAL_SESSION;
	}
	assert_int_equal(core_support_kind_parse("chat"), SUPPORT_CHAT);
	assert_int_equal(core_support_kind_parse("files"), 0);
	assert_string_equal(core_support_verdict_name(SUPPORT_OTHER_KIND), "other_kind");
}

/* An organization's token: an administrator of its organization only,
 * nobody's account; its tokens are its managers' to make, never a token's. */
static void test_org_tokens(void **state)
{
	struct api_token t = {0};
	struct member m;
	uint8_t other[AUTHD_ID_LEN];

	(void)state;
	memset(t.id, 0x11, AUTHD_ID_LEN);
	memset(t.org_id, 0x22, AUTHD_ID_LEN);
	memset(t.account_id, 0x33, AUTHD_ID_LEN);
	memset(other, 0x44, AUTHD_ID_LEN);
	t.created_at = 77;
	assert_false(core_token_is_org(&t)); /* a person's */
	core_org_token_member(&t, t.org_id, &m);
	assert_int_equal(m.role, 0);
	memcpy(t.account_id, t.org_id, AUTHD_ID_LEN);
	assert_true(core_token_is_org(&t));
	core_org_token_member(&t, t.org_id, &m);
	assert_int_equal(m.role, ROLE_ADMINISTRATOR);
	assert_int_equal(m.rights, 0);
	assert_int_equal(m.since, 77);
	assert_memory_equal(m.account_id, t.id, AUTHD_ID_LEN);
	assert_memory_equal(m.org_id, t.org_id, AUTHD_ID_LEN);
	core_org_token_member(&t, other, &m);
	assert_int_equal(m.role, 0);
	assert_memory_equal(m.org_id, other, AUTHD_ID_LEN);
	{
		struct policy_params pp = {WINDOW};
		struct session s = {.aal = AAL_SECOND_FACTOR, .created_at = T0, .last_seen = T0};
		struct principal p = {.kind = PRINCIPAL_SESSION, .session = &s};
		struct policy_resource res = {.org_id = t.org_id, .org_role = ROLE_ADMINISTRATOR};

		memcpy(s.org_id, t.org_id, AUTHD_ID_LEN);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_TOKEN_CREATE, &res, T0),
				 POLICY_ALLOW);
		assert_int_equal(
		    policy_decide(&pp, &p, ACT_ORG_TOKEN_CREATE, &res, T0 + WINDOW + 1),
		    POLICY_DENY_REAUTH);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_TOKENS_READ, &res, T0 + WINDOW + 1),
				 POLICY_ALLOW);
		res.org_role = ROLE_COLLABORATOR;
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_TOKENS_READ, &res, T0),
				 POLICY_DENY_FORBIDDEN);
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_TOKEN_REVOKE, &res, T0),
				 POLICY_DENY_FORBIDDEN);
		res.org_role = 0;
		assert_int_equal(policy_decide(&pp, &p, ACT_ORG_TOKEN_REVOKE, &res, T0),
				 POLICY_DENY_NOT_FOUND);
		p.kind = PRINCIPAL_TOKEN;
		p.scopes = SCOPE_ORG_TOKEN;
		res.org_role = ROLE_ADMINISTRATOR;
		for (enum policy_action a = ACT_ORG_TOKEN_CREATE; a <= ACT_ORG_TOKEN_REVOKE; a++)
			assert_int_equal(policy_decide(&pp, &p, a, &res, T0), POLICY_DENY_PRESENCE);
	}
}

/* What a member may do on a product: the union of its grants and its
 * teams'; everything for managers; never more resources than granted. */
static void test_access_of(void **state)
{
	static struct grant g[10];
	static struct access a;
	struct member m = {.role = ROLE_COLLABORATOR};

	(void)state;
	memset(g, 0, sizeof(g));
	core_access_of(&m, g, 0, &a);
	assert_int_equal(a.rights, 0);
	g[0] =
	    (struct grant){.subject_kind = GRANT_MEMBER, .rights = PRODUCT_R_USE, .n_resources = 1};
	snprintf(g[0].resources[0], sizeof(g[0].resources[0]), "ann@example.com");
	g[1] = (struct grant){
	    .subject_kind = GRANT_TEAM, .rights = PRODUCT_R_MANAGE, .n_resources = 2};
	snprintf(g[1].resources[0], sizeof(g[1].resources[0]), "ann@example.com");
	snprintf(g[1].resources[1], sizeof(g[1].resources[1]), "team@example.com");
	core_access_of(&m, g, 2, &a);
	assert_int_equal(a.rights, PRODUCT_R__ALL);
	assert_false(a.all_resources);
	assert_int_equal(a.n_resources, 2);
	assert_int_equal(a.via, ACCESS_VIA_MEMBER | ACCESS_VIA_TEAM);
	/* Ten grants of eight names each: 64 listed, and cut, never widened. */
	for (int i = 0; i < 10; i++) {
		g[i] = (struct grant){.subject_kind = GRANT_TEAM,
				      .rights = PRODUCT_R_USE,
				      .n_resources = GRANT_RESOURCES_MAX};
		for (int r = 0; r < GRANT_RESOURCES_MAX; r++)
			snprintf(g[i].resources[r], sizeof(g[i].resources[r]), "box%d.%d", i, r);
	}
	core_access_of(&m, g, 10, &a);
	assert_false(a.all_resources);
	assert_true(a.truncated);
	assert_int_equal(a.n_resources, ACCESS_RESOURCES_MAX);
	g[3].n_resources = 0; /* one grant of the whole product */
	core_access_of(&m, g, 10, &a);
	assert_true(a.all_resources);
	m.role = ROLE_ADMINISTRATOR;
	core_access_of(&m, NULL, 0, &a);
	assert_int_equal(a.rights, PRODUCT_R__ALL);
	assert_int_equal(a.via, ACCESS_VIA_ROLE);
}

/* Every action has a rule and a name: a new one without a line is caught. */
static void test_every_action_named(void **state)
{
	(void)state;
	for (int a = 0; a < ACT__COUNT; a++)
		assert_string_not_equal(policy_action_name((enum policy_action)a), "unknown");
}

static void test_recent_proof_edges(void **state)
{
	struct policy_params pp = {WINDOW};
	struct session s = sess(STALE);

	(void)state;
	s.second_factor_at = T0 - WINDOW;
	assert_true(policy_recent_proof(&pp, &s, T0));
	assert_false(policy_recent_proof(&pp, &s, T0 + 1));
	s.second_factor_at = 0;
	s.created_at = T0;
	assert_true(policy_recent_proof(&pp, &s, T0 + WINDOW));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_other_account),
	    cmocka_unit_test(test_membership),
	    cmocka_unit_test(test_member_changes),
	    cmocka_unit_test(test_partners_and_tokens),
	    cmocka_unit_test(test_org_tokens),
	    cmocka_unit_test(test_partner_merge),
	    cmocka_unit_test(test_support_use),
	    cmocka_unit_test(test_access_of),
	    cmocka_unit_test(test_every_action_named),
	    cmocka_unit_test(test_operator_apart),
	    cmocka_unit_test(test_recent_proof_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
