/*
 * Paths are /{version}/{command_path}; a path without a version means the
 * latest. The route table is the map of the whole API: one line a route.
 */
#include "http.h"
#include "metrics.h"
#include "pages.h"

#include <log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_LATEST 1

/* Each route names the action the policy decides on (core.h). */
static const struct route routes[] = {
    {"health", http_health, M_GET, ACT_HEALTH, false},
    {"ready", http_ready, M_GET, ACT_READY, false},
    {"metrics", http_metrics, M_GET, ACT_METRICS, false},
    {"accounts", http_accounts_create, M_POST, ACT_SIGN_UP, false},
    {"login", http_login_start, M_POST, ACT_LOGIN, false},
    {"login/totp", http_login_totp, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"login/backup-code", http_login_backup_code, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"login/push", http_login_push, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"login/sms", http_login_sms, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"login/wait", http_login_wait, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    /* Deprecated: the login id in the path lands in proxy logs. */
    {"login/*/totp", http_login_totp, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"login/*/backup-code", http_login_backup_code, M_POST, ACT_LOGIN_SECOND_FACTOR, false},
    {"me", http_me_get, M_GET, ACT_ME_READ, false},
    {"logout", http_logout, M_POST, ACT_LOGOUT, false},
    {"session/cookie", http_session_cookie, M_POST, ACT_SESSION_COOKIE, false},
    {"me/password", http_password_change, M_PUT, ACT_PASSWORD_CHANGE, false},
    {"me/2fa/totp", http_totp_enroll, M_POST, ACT_TOTP_ENROLL, false},
    {"me/2fa/totp", http_totp_delete, M_DELETE, ACT_TOTP_DELETE, false},
    {"me/2fa/totp/confirm", http_totp_confirm, M_POST, ACT_TOTP_CONFIRM, false},
    {"me/2fa/backup-codes", http_backup_regenerate, M_POST, ACT_BACKUP_REGENERATE, false},
    {"me/2fa/sms", http_sms_enable, M_PUT, ACT_SMS_FACTOR_CHANGE, false},
    {"me/2fa/sms", http_sms_disable, M_DELETE, ACT_SMS_FACTOR_CHANGE, false},
    {"me/devices", http_devices_link, M_POST, ACT_DEVICE_LINK, false},
    {"me/devices", http_devices_list, M_GET, ACT_DEVICES_READ, false},
    {"me/devices/*", http_device_get, M_GET, ACT_DEVICES_READ, false},
    {"me/devices/*", http_device_delete, M_DELETE, ACT_DEVICE_DELETE, false},
    {"me/sessions", http_sessions_list, M_GET, ACT_SESSIONS_READ, false},
    {"me/activity", http_activity, M_GET, ACT_ACTIVITY_READ, false},
    {"me/recovery", http_recovery_get, M_GET, ACT_RECOVERY_READ, false},
    {"me/recovery/email", http_recovery_email_set, M_PUT, ACT_RECOVERY_CHANGE, false},
    {"me/recovery/phone", http_recovery_phone_set, M_PUT, ACT_RECOVERY_CHANGE, false},
    {"me/recovery/email", http_recovery_email_delete, M_DELETE, ACT_RECOVERY_CHANGE, false},
    {"me/recovery/phone", http_recovery_phone_delete, M_DELETE, ACT_RECOVERY_CHANGE, false},
    {"me/recovery/verify", http_recovery_verify, M_POST, ACT_RECOVERY_VERIFY, false},
    {"recovery/password", http_recovery_password, M_POST, ACT_RECOVERY, false},
    {"recovery/password/verify", http_recovery_password_verify, M_POST, ACT_RECOVERY, false},
    {"recovery/password/reset", http_recovery_password_reset, M_POST, ACT_RECOVERY, false},
    {"recovery/login", http_recovery_login, M_POST, ACT_RECOVERY, false},
    {"me/email", http_email_change, M_PUT, ACT_LOGIN_EMAIL_CHANGE, false},
    {"email/verify", http_email_verify, M_POST, ACT_RECOVERY, false},
    {"me/sessions", http_sessions_end_others, M_DELETE, ACT_SESSION_END, false},
    {"me/sessions/*", http_session_end, M_DELETE, ACT_SESSION_END, false},
    {"service/login-email-deleted", http_service_login_email_deleted, M_POST,
     ACT_SERVICE_LOGIN_EMAIL_DELETED, false},
    {"verification/cases", http_case_open, M_POST, ACT_CASE_OPEN, false},
    {"verification/cases", http_cases_list, M_GET, ACT_CASE_REVIEW, false},
    {"verification/cases/*", http_case_get, M_GET, ACT_CASE_OWN, false},
    {"verification/cases/*/documents", http_case_document_add, M_POST, ACT_CASE_OWN, false},
    {"verification/cases/*/documents/*", http_case_document_get, M_GET, ACT_CASE_REVIEW, false},
    {"verification/cases/*/decision", http_case_decide, M_POST, ACT_CASE_DECIDE, false},
    {"verification/accounts/lock", http_account_lock, M_POST, ACT_ACCOUNT_LOCK, false},
    {"me/close", http_account_close_begin, M_POST, ACT_ACCOUNT_CLOSE, false},
    {"account/close", http_account_close, M_POST, ACT_RECOVERY, false},
    {"organizations", http_orgs_list, M_GET, ACT_ORGS_READ, false},
    {"session/organization", http_session_org_switch, M_PUT, ACT_SESSION_ORG_SWITCH, false},
    {"organizations/*/members", http_org_members, M_GET, ACT_ORG_MEMBERS_READ, false},
    {"organizations/*/members/*", http_org_member_change, M_PATCH, ACT_ORG_MEMBER_CHANGE, false},
    {"organizations/*/members/*", http_org_member_remove, M_DELETE, ACT_ORG_MEMBER_REMOVE, false},
    {"organizations/*/audit", http_org_audit, M_GET, ACT_ORG_AUDIT_READ, false},
    {"organizations/*/invitations", http_org_invite, M_POST, ACT_ORG_INVITE, false},
    {"organizations/*/invitations", http_org_invitations, M_GET, ACT_ORG_INVITES_READ, false},
    {"organizations/*/invitations/*", http_org_invitation_revoke, M_DELETE, ACT_ORG_INVITE, false},
    {"organizations/*/products", http_org_product_add, M_POST, ACT_ORG_PRODUCT_MANAGE, false},
    {"organizations/*/products", http_org_products, M_GET, ACT_ORG_PRODUCTS_READ, false},
    {"organizations/*/products/*", http_org_product_remove, M_DELETE, ACT_ORG_PRODUCT_MANAGE,
     false},
    {"organizations/*/products/*/grants", http_org_product_grants, M_GET, ACT_ORG_GRANTS_READ,
     false},
    {"organizations/*/products/*/grants/*", http_org_product_grant_set, M_PUT, ACT_ORG_GRANT_MANAGE,
     false},
    {"organizations/*/products/*/grants/*", http_org_product_grant_remove, M_DELETE,
     ACT_ORG_GRANT_MANAGE, false},
    {"organizations/*/products/*/access", http_org_product_access, M_GET, ACT_PRODUCT_ACCESS_READ,
     false},
    {"organizations/*/teams", http_org_team_add, M_POST, ACT_ORG_TEAM_MANAGE, false},
    {"organizations/*/teams", http_org_teams, M_GET, ACT_ORG_TEAMS_READ, false},
    {"organizations/*/teams/*", http_org_team_change, M_PATCH, ACT_ORG_TEAM_MANAGE, false},
    {"organizations/*/teams/*", http_org_team_remove, M_DELETE, ACT_ORG_TEAM_MANAGE, false},
    {"organizations/*/teams/*/members/*", http_org_team_member_add, M_PUT, ACT_ORG_TEAM_MANAGE,
     false},
    {"organizations/*/teams/*/members/*", http_org_team_member_remove, M_DELETE,
     ACT_ORG_TEAM_MANAGE, false},
    {"organizations/*/partners", http_org_partner_add, M_POST, ACT_ORG_PARTNER_ADD, false},
    {"organizations/*/partners", http_org_partners, M_GET, ACT_ORG_PARTNERS_READ, false},
    {"organizations/*/partners/*", http_org_partner_end, M_DELETE, ACT_ORG_PARTNER_END, false},
    {"me/tokens", http_tokens_create, M_POST, ACT_TOKEN_CREATE, false},
    {"me/tokens", http_tokens_list, M_GET, ACT_TOKENS_READ, false},
    {"me/tokens/*", http_token_revoke, M_DELETE, ACT_TOKEN_REVOKE, false},
    {"organizations/*/tokens", http_org_tokens_create, M_POST, ACT_ORG_TOKEN_CREATE, false},
    {"organizations/*/tokens", http_org_tokens_list, M_GET, ACT_ORG_TOKENS_READ, false},
    {"organizations/*/tokens/*", http_org_token_revoke, M_DELETE, ACT_ORG_TOKEN_REVOKE, false},
    {"organizations/*/support-grants", http_org_support_grant, M_POST, ACT_ORG_SUPPORT_GRANT,
     false},
    {"organizations/*/support-grants", http_org_support_list, M_GET, ACT_ORG_SUPPORT_READ, false},
    {"organizations/*/support-grants/*", http_org_support_revoke, M_DELETE, ACT_ORG_SUPPORT_REVOKE,
     false},
    {"support/grants/*/assignees/*", http_support_assign, M_PUT, ACT_SUPPORT_ASSIGN, false},
    {"support/grants/*/assignees/*", http_support_unassign, M_DELETE, ACT_SUPPORT_ASSIGN, false},
    {"support/grants/*/access", http_support_access, M_GET, ACT_SUPPORT_USE, false},
    {"support/grants", http_support_grants, M_GET, ACT_SUPPORT_GRANTS_READ, false},
    {"organizations/*/billing/addresses", http_org_addresses, M_GET, ACT_ORG_BILLING_READ, false},
    {"organizations/*/billing/addresses", http_org_address_add, M_POST, ACT_ORG_BILLING_MANAGE,
     false},
    {"organizations/*/billing/addresses/*", http_org_address_change, M_PATCH,
     ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/billing/addresses/*", http_org_address_remove, M_DELETE,
     ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/products/*/auto-renewal", http_org_product_auto_renewal, M_PUT,
     ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/billing/balance", http_billing_balance, M_GET, ACT_ORG_BILLING_READ, false},
    {"organizations/*/billing/deposits", http_billing_deposit, M_POST, ACT_ORG_BILLING_MANAGE,
     false},
    {"organizations/*/billing/payments", http_billing_payments, M_GET, ACT_ORG_BILLING_READ, false},
    {"organizations/*/billing/payments/*", http_billing_payment, M_GET, ACT_ORG_BILLING_READ,
     false},
    {"organizations/*/billing/payments", http_billing_pay, M_POST, ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/billing/payments/*/cancel", http_billing_payment_cancel, M_POST,
     ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/billing/orders", http_billing_order, M_POST, ACT_ORG_BILLING_MANAGE, false},
    {"organizations/*/billing/invoices", http_billing_invoices, M_GET, ACT_ORG_BILLING_READ, false},
    {"organizations/*/billing/invoices/*", http_billing_invoice, M_GET, ACT_ORG_BILLING_READ,
     false},
    {"organizations/*/billing/invoices/*/cancel", http_billing_invoice_cancel, M_POST,
     ACT_ORG_BILLING_MANAGE, false},
    {"billing/webhook", http_billing_webhook, M_POST, ACT_BILLING_WEBHOOK, false},
    {"billing/vouchers", http_billing_vouchers, M_GET, ACT_BILLING_VOUCHERS, false},
    {"billing/vouchers", http_billing_voucher_add, M_POST, ACT_BILLING_VOUCHERS, false},
    {"invitations/view", http_invitation_view, M_POST, ACT_INVITE_VIEW, false},
    {"invitations/accept", http_invitation_accept, M_POST, ACT_INVITE_ACCEPT, false},
    {"invitations/signup", http_invitation_signup, M_POST, ACT_INVITE_SIGN_UP, false},
    /* The operator's, on the admin socket only (authctl). */
    {"admin/accounts/find", http_admin_account_find, M_POST, ACT_ADMIN_ACCOUNT_FIND, false},
    {"admin/accounts/*/lock", http_admin_account_lock, M_POST, ACT_ADMIN_ACCOUNT_LOCK, false},
    {"admin/accounts/*/unlock", http_admin_account_unlock, M_POST, ACT_ADMIN_ACCOUNT_UNLOCK, false},
    {"admin/accounts/*/sessions", http_admin_sessions_end, M_DELETE, ACT_ADMIN_SESSIONS_END, false},
    {"admin/accounts/*/events", http_admin_events, M_GET, ACT_ADMIN_EVENTS_READ, false},
    {"admin/outbox/failures", http_admin_outbox_failures, M_GET, ACT_ADMIN_OUTBOX_FAILURES, false},
    {"admin/keys", http_admin_keys, M_GET, ACT_ADMIN_KEYS_READ, false},
    {"admin/keys/census", http_admin_keys_census, M_POST, ACT_ADMIN_KEYS_READ, false},
    {"admin/keys/rotate", http_admin_keys_rotate, M_POST, ACT_ADMIN_KEYS_ROTATE, false},
    {"admin/keys/activate", http_admin_keys_activate, M_POST, ACT_ADMIN_KEYS_ACTIVATE, false},
    {"admin/keys/reseal", http_admin_keys_reseal, M_POST, ACT_ADMIN_KEYS_RESEAL, false},
    {"admin/keys/retire", http_admin_keys_retire, M_POST, ACT_ADMIN_KEYS_RETIRE, false},
    {"_test/clock", http_test_clock, M_POST, ACT_TEST_HOOK, true},
    {"_test/stats", http_test_stats, M_GET, ACT_TEST_HOOK, true},
    {"_test/stall", http_test_stall, M_POST, ACT_TEST_HOOK, true},
    {"_test/fail_writes", http_test_fail_writes, M_POST, ACT_TEST_HOOK, true},
    {"_test/seed_org", http_test_seed_org, M_POST, ACT_TEST_HOOK, true},
    {"_test/billing_pass", http_test_billing_pass, M_POST, ACT_TEST_HOOK, true},
};

bool router_anonymous_allowed(enum policy_action a)
{
	struct principal p = {.kind = PRINCIPAL_ANONYMOUS, .session = NULL};
	struct policy_params pp = {0};

	return policy_decide(&pp, &p, a, NULL, 0) == POLICY_ALLOW;
}

const struct route *router_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

const char *router_method_name(enum http_method m)
{
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE", ""};

	return (unsigned)m <= M_OTHER ? names[m] : "";
}

/* Matches path (no leading slash, no query) against pattern, capturing '*'. */
static bool match(const char *pattern, const char *path, char *param, size_t psize)
{
	size_t used = 0;

	while (*pattern && *path) {
		if (*pattern == '*') {
			size_t n = strcspn(path, "/");

			/* A second '*' comes after the first, joined by a '/'. */
			if (used > 0)
				param[used++] = '/';
			if (n == 0 || used + n >= psize)
				return false;
			memcpy(param + used, path, n);
			used += n;
			param[used] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

void router_dispatch(struct req *r)
{
	const char *path = r->path;
	char allow[64] = "";
	bool found = false;

	while (*path == '/')
		path++;
	/* The web pages live beside the unversioned API paths, on paths the
	 * API answers no GET on (not on the admin socket). */
	if (!r->admin && r->method == M_GET && !(*path >= '0' && *path <= '9') &&
	    pages_serve(r, path)) {
		r->route = METRICS_ROUTE_PAGE;
		return;
	}
	if (*path >= '0' && *path <= '9') {
		char *end = NULL;
		long v = strtol(path, &end, 10);

		if (*end != '/' && *end != '\0') {
			reply_error(r, E_NOT_FOUND);
			return;
		}
		if (v != API_LATEST) {
			reply_error(r, E_UNSUPPORTED_VERSION);
			return;
		}
		path = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];

		if (rt->test_only && !srv.cfg.test_clock)
			continue;
		/* The admin socket serves the operator's routes and health, and
		 * nothing else does: elsewhere they do not exist. */
		if (policy_needs_operator(rt->action) != r->admin &&
		    !(r->admin && rt->action == ACT_HEALTH))
			continue;
		if (!match(rt->pattern, path, r->param, sizeof(r->param)))
			continue;
		found = true;
		if (rt->method == r->method) {
			if (strchr(rt->pattern, '*') == NULL)
				r->param[0] = '\0'; /* a failed match may have filled it */
			r->action = rt->action;
			r->route = (int)i;
			/* Every route asks the policy: those that need a session
			 * or a service's credential ask in their flow, once it is
			 * read. */
			if (!policy_needs_session(rt->action) &&
			    !policy_needs_service(rt->action) &&
			    !policy_needs_operator(rt->action) &&
			    !router_anonymous_allowed(rt->action)) {
				reply_error(r, E_FORBIDDEN);
				return;
			}
			rt->fn(r);
			return;
		}
		if (allow[0])
			strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
		strncat(allow, router_method_name(rt->method), sizeof(allow) - strlen(allow) - 1);
	}
	if (!found) {
		reply_error(r, E_NOT_FOUND);
		return;
	}
	req_add_header(r, "Allow", allow);
	reply_error(r, E_METHOD_NOT_ALLOWED);
}
