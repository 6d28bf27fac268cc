/*
 * The policy point: one table says what each action needs, and one function
 * decides. Today the principals are anonymous clients, sessions and the
 * host's other services (by their configured credential); API tokens
 * (scopes) and device keys join them here, not in handlers.
 */
#include "core.h"

#include <string.h>

enum need {
	NEED_NOTHING,
	NEED_SESSION,	   /* any live session of the account */
	NEED_RECENT_PROOF, /* a session whose last proof is within the window */
	NEED_SERVICE,	   /* another service of the host (its credential) */
	NEED_OPERATOR,	   /* the operator, on the admin socket */
};

/* Who manages an organization's people: its legal representatives and
 * administrators. */
#define ORG_MANAGERS (1u << ROLE_LEGAL_REPRESENTATIVE | 1u << ROLE_ADMINISTRATOR)

/* What a session whose login email was deleted may still do: see itself,
 * sign out, and set a new login email (SESSION_F_LOGIN_REPLACED). */
#define WHILE_LOGIN_REPLACED true

static const struct {
	const char *name;
	enum need need;
	unsigned roles;	    /* enum operator_role: all of them needed */
	unsigned any_roles; /* enum operator_role: one of them needed */
	unsigned org_roles; /* with member: the roles that may (bits 1 << role); 0: any */
	bool while_login_replaced;
	bool member;	/* about an organization: the principal must belong to it */
	bool self;	/* with member: any member may do it to itself (leave) */
	unsigned scope; /* the API token scope that may do it (enum api_scope); 0: none may */
	bool partner;	/* with member: a partner organization's manager may too */
	/* with member: only with the billing right (a member's, or a partner
	 * relation's with billing) */
	bool billing;
} rules[ACT__COUNT] = {
    [ACT_HEALTH] = {"health", NEED_NOTHING},
    [ACT_PAGE] = {"page", NEED_NOTHING},
    [ACT_READY] = {"ready", NEED_NOTHING},
    [ACT_METRICS] = {"metrics", NEED_SERVICE},
    [ACT_SIGN_UP] = {"sign_up", NEED_NOTHING},
    [ACT_LOGIN] = {"login", NEED_NOTHING},
    /* The pending login's id is the credential; the step checks it. */
    [ACT_LOGIN_SECOND_FACTOR] = {"login_second_factor", NEED_NOTHING},
    [ACT_ME_READ] = {"me_read", NEED_SESSION, .while_login_replaced = WHILE_LOGIN_REPLACED,
		     .scope = SCOPE_ACCOUNT_READ},
    [ACT_LOGOUT] = {"logout", NEED_SESSION, .while_login_replaced = WHILE_LOGIN_REPLACED},
    [ACT_SESSION_COOKIE] = {"session_cookie", NEED_SESSION,
			    .while_login_replaced = WHILE_LOGIN_REPLACED},
    /* The current password is the proof; failures count as second-factor
     * failures of the account. */
    [ACT_PASSWORD_CHANGE] = {"password_change", NEED_SESSION},
    /* Binding an authenticator: a stolen session must not be able to take
     * the account over by enrolling its own TOTP. */
    [ACT_TOTP_ENROLL] = {"totp_enroll", NEED_RECENT_PROOF},
    /* The first code of the new seed is the proof. */
    [ACT_TOTP_CONFIRM] = {"totp_confirm", NEED_SESSION},
    /* A current code or a backup code is the proof. */
    [ACT_TOTP_DELETE] = {"totp_delete", NEED_SESSION},
    [ACT_BACKUP_REGENERATE] = {"backup_regenerate", NEED_RECENT_PROOF},
    /* Binding a device is binding an authenticator (as ACT_TOTP_ENROLL);
     * removing one silences the alerts its owner would see. */
    [ACT_DEVICE_LINK] = {"device_link", NEED_RECENT_PROOF},
    [ACT_DEVICES_READ] = {"devices_read", NEED_SESSION, .scope = SCOPE_ACCOUNT_READ},
    [ACT_DEVICE_DELETE] = {"device_delete", NEED_RECENT_PROOF},
    /* Ending sessions is what the owner does on a suspicion: no fresh
     * proof in the way (ending the owner's own takes nothing from them a
     * password would not give back). */
    [ACT_SESSIONS_READ] = {"sessions_read", NEED_SESSION, .scope = SCOPE_ACCOUNT_READ},
    [ACT_SESSION_END] = {"session_end", NEED_SESSION},
    [ACT_ACTIVITY_READ] = {"activity_read", NEED_SESSION, .scope = SCOPE_ACCOUNT_READ},
    [ACT_RECOVERY_READ] = {"recovery_read", NEED_SESSION, .scope = SCOPE_ACCOUNT_READ},
    /* A new recovery address is a way into the account: a recent
     * sign-in (with its second factor) and the current password. */
    [ACT_RECOVERY_CHANGE] = {"recovery_change", NEED_RECENT_PROOF},
    /* The code sent to the new address is the proof. */
    [ACT_RECOVERY_VERIFY] = {"recovery_verify", NEED_SESSION},
    /* The code, link or grant is the credential; the flow checks it. */
    [ACT_RECOVERY] = {"recovery", NEED_NOTHING},
    /* Binding the number as an authenticator (as ACT_TOTP_ENROLL), or
     * taking a second factor away: a recent sign-in with its factor. */
    [ACT_SMS_FACTOR_CHANGE] = {"sms_factor_change", NEED_RECENT_PROOF},
    /* A new login email is a way into the account too. */
    [ACT_LOGIN_EMAIL_CHANGE] = {"login_email_change", NEED_RECENT_PROOF,
				.while_login_replaced = WHILE_LOGIN_REPLACED},
    [ACT_SERVICE_LOGIN_EMAIL_DELETED] = {"service_login_email_deleted", NEED_SERVICE},
    [ACT_BILLING_WEBHOOK] = {"billing_webhook", NEED_SERVICE},
    [ACT_ADMIN_ACCOUNT_FIND] = {"admin_account_find", NEED_OPERATOR},
    [ACT_ADMIN_ACCOUNT_LOCK] = {"admin_account_lock", NEED_OPERATOR},
    [ACT_ADMIN_ACCOUNT_UNLOCK] = {"admin_account_unlock", NEED_OPERATOR},
    [ACT_ADMIN_SESSIONS_END] = {"admin_sessions_end", NEED_OPERATOR},
    [ACT_ADMIN_EVENTS_READ] = {"admin_events_read", NEED_OPERATOR},
    [ACT_ADMIN_OUTBOX_FAILURES] = {"admin_outbox_failures", NEED_OPERATOR},
    [ACT_ADMIN_KEYS_READ] = {"admin_keys_read", NEED_OPERATOR},
    [ACT_ADMIN_KEYS_ROTATE] = {"admin_keys_rotate", NEED_OPERATOR},
    [ACT_ADMIN_KEYS_ACTIVATE] = {"admin_keys_activate", NEED_OPERATOR},
    [ACT_ADMIN_KEYS_RESEAL] = {"admin_keys_reseal", NEED_OPERATOR},
    [ACT_ADMIN_KEYS_RETIRE] = {"admin_keys_retire", NEED_OPERATOR},
    [ACT_BILLING_VOUCHERS] = {"billing_vouchers", NEED_SESSION, .roles = OPERATOR_BILLING},
    /* Someone who cannot sign in: the case's own rules (a pending login
     * for a lost second factor) and the per-address limit apply. */
    [ACT_CASE_OPEN] = {"case_open", NEED_NOTHING},
    /* The case token is the credential; the flow checks it. */
    [ACT_CASE_OWN] = {"case_own", NEED_NOTHING},
    [ACT_CASE_REVIEW] = {"case_review", NEED_SESSION, .roles = OPERATOR_SUPPORT_REVIEWER},
    /* An approval resets a password or a second factor, or unlocks:
     * a recent sign-in with the reviewer's factors. */
    [ACT_CASE_DECIDE] = {"case_decide", NEED_RECENT_PROOF, .roles = OPERATOR_SUPPORT_REVIEWER},
    [ACT_ACCOUNT_LOCK] = {"account_lock", NEED_RECENT_PROOF, .roles = OPERATOR_SUPPORT_REVIEWER},
    /* The current password too; the emailed link confirms. */
    [ACT_ACCOUNT_CLOSE] = {"account_close", NEED_RECENT_PROOF},
    [ACT_ORGS_READ] = {"orgs_read", NEED_SESSION, .scope = SCOPE_ORGANIZATIONS_READ},
    /* No new login, no new factor: the session's proofs carry over. */
    [ACT_SESSION_ORG_SWITCH] = {"session_org_switch", NEED_SESSION, .member = true},
    /* Who is in an organization: for those who manage its people. */
    [ACT_ORG_MEMBERS_READ] = {"org_members_read", NEED_SESSION, .member = true,
			      .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ},
    /* Administrators manage people; granting or taking the legal
     * representative role is the resource's `legal` rule below. */
    [ACT_ORG_MEMBER_CHANGE] = {"org_member_change", NEED_SESSION, .member = true,
			       .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE},
    [ACT_ORG_MEMBER_REMOVE] = {"org_member_remove", NEED_SESSION, .member = true,
			       .org_roles = ORG_MANAGERS, .self = true,
			       .scope = SCOPE_ORGANIZATIONS_WRITE},
    [ACT_ORG_AUDIT_READ] = {"org_audit_read", NEED_SESSION, .member = true,
			    .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ},
    /* Inviting as a legal representative is making one (`legal`). */
    [ACT_ORG_INVITE] = {"org_invite", NEED_SESSION, .member = true, .org_roles = ORG_MANAGERS,
			.scope = SCOPE_ORGANIZATIONS_WRITE},
    [ACT_ORG_INVITES_READ] = {"org_invites_read", NEED_SESSION, .member = true,
			      .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ},
    /* The invitation's token is the credential; the flow checks it (and,
     * to join an existing account, that the session's is the one invited). */
    [ACT_INVITE_VIEW] = {"invite_view", NEED_NOTHING},
    [ACT_INVITE_ACCEPT] = {"invite_accept", NEED_SESSION},
    [ACT_INVITE_SIGN_UP] = {"invite_sign_up", NEED_NOTHING},
    /* Every member sees the products and teams that are its own (the
     * handler narrows the list); managing them is for those who manage
     * the organization. */
    [ACT_ORG_PRODUCTS_READ] = {"org_products_read", NEED_SESSION, .member = true,
			       .scope = SCOPE_ORGANIZATIONS_READ, .partner = true},
    [ACT_ORG_PRODUCT_MANAGE] = {"org_product_manage", NEED_SESSION, .member = true,
				.org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE},
    /* A partner manages who uses the products it was let in to. */
    [ACT_ORG_GRANT_MANAGE] = {"org_grant_manage", NEED_SESSION, .member = true,
			      .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE,
			      .partner = true},
    [ACT_ORG_GRANTS_READ] = {"org_grants_read", NEED_SESSION, .member = true,
			     .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ,
			     .partner = true},
    /* The question the host's other services ask: any member may ask it
     * about itself; the answer is core_access_of's. */
    [ACT_PRODUCT_ACCESS_READ] = {"product_access_read", NEED_SESSION, .member = true,
				 .scope = SCOPE_ORGANIZATIONS_READ, .partner = true},
    [ACT_ORG_TEAMS_READ] = {"org_teams_read", NEED_SESSION, .member = true,
			    .scope = SCOPE_ORGANIZATIONS_READ},
    [ACT_ORG_TEAM_MANAGE] = {"org_team_manage", NEED_SESSION, .member = true,
			     .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE},
    /* Letting a partner in hands it the organization's products: a legal
     * representative's act, after a recent sign-in. Either side's managers
     * read and end a relation, at any time. */
    [ACT_ORG_PARTNERS_READ] = {"org_partners_read", NEED_SESSION, .member = true,
			       .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ},
    [ACT_ORG_PARTNER_ADD] = {"org_partner_add", NEED_RECENT_PROOF, .member = true,
			     .org_roles = 1u << ROLE_LEGAL_REPRESENTATIVE},
    [ACT_ORG_PARTNER_END] = {"org_partner_end", NEED_SESSION, .member = true,
			     .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE},
    /* Making a token is binding a credential (as ACT_DEVICE_LINK): a
     * recent sign-in. Listing and revoking are the owner's housekeeping. */
    [ACT_TOKEN_CREATE] = {"token_create", NEED_RECENT_PROOF},
    [ACT_TOKENS_READ] = {"tokens_read", NEED_SESSION},
    [ACT_TOKEN_REVOKE] = {"token_revoke", NEED_SESSION},
    /* An organization's tokens are its managers' to make (a recent
     * sign-in, as one's own), see and revoke; never a token's. */
    [ACT_ORG_TOKEN_CREATE] = {"org_token_create", NEED_RECENT_PROOF, .member = true,
			      .org_roles = ORG_MANAGERS},
    [ACT_ORG_TOKENS_READ] = {"org_tokens_read", NEED_SESSION, .member = true,
			     .org_roles = ORG_MANAGERS},
    [ACT_ORG_TOKEN_REVOKE] = {"org_token_revoke", NEED_SESSION, .member = true,
			      .org_roles = ORG_MANAGERS},
    /* Letting the operator's staff into the organization's content is a
     * manager's act after a recent sign-in, never a token's; seeing and
     * ending grants is the managers' too (ending one is safe from a
     * token). */
    [ACT_ORG_SUPPORT_GRANT] = {"org_support_grant", NEED_RECENT_PROOF, .member = true,
			       .org_roles = ORG_MANAGERS},
    [ACT_ORG_SUPPORT_READ] = {"org_support_read", NEED_SESSION, .member = true,
			      .org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_READ},
    [ACT_ORG_SUPPORT_REVOKE] = {"org_support_revoke", NEED_SESSION, .member = true,
				.org_roles = ORG_MANAGERS, .scope = SCOPE_ORGANIZATIONS_WRITE},
    /* The operator's side: leads assign grants to agents; an agent asks
     * about a grant (policy_support_use answers). */
    [ACT_SUPPORT_ASSIGN] = {"support_assign", NEED_SESSION, .roles = OPERATOR_SUPPORT_LEAD},
    [ACT_SUPPORT_USE] = {"support_use", NEED_SESSION, .roles = OPERATOR_SUPPORT_AGENT},
    /* The live grants: a lead sees them all, an agent those assigned to
     * it (the handler narrows the list). */
    [ACT_SUPPORT_GRANTS_READ] = {"support_grants_read", NEED_SESSION,
				 .any_roles = OPERATOR_SUPPORT_LEAD | OPERATOR_SUPPORT_AGENT},
    /* Billing: whoever holds the billing right there, whatever the role,
     * and a partner's managers when the relation gives billing. */
    [ACT_ORG_BILLING_READ] = {"org_billing_read", NEED_SESSION, .member = true,
			      .scope = SCOPE_BILLING_READ, .partner = true, .billing = true},
    [ACT_ORG_BILLING_MANAGE] = {"org_billing_manage", NEED_SESSION, .member = true,
				.scope = SCOPE_BILLING_WRITE, .partner = true, .billing = true},
    [ACT_TEST_HOOK] = {"test_hook", NEED_NOTHING},
};

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < ACT__COUNT && rules[a].name ? rules[a].name : "unknown";
}

bool policy_needs_session(enum policy_action a)
{
	return (unsigned)a < ACT__COUNT && rules[a].need != NEED_NOTHING &&
	       rules[a].need != NEED_SERVICE && rules[a].need != NEED_OPERATOR;
}

bool policy_needs_service(enum policy_action a)
{
	return (unsigned)a < ACT__COUNT && rules[a].need == NEED_SERVICE;
}

bool policy_needs_operator(enum policy_action a)
{
	return (unsigned)a < ACT__COUNT && rules[a].need == NEED_OPERATOR;
}

unsigned policy_needs_roles(enum policy_action a)
{
	return (unsigned)a < ACT__COUNT ? rules[a].roles | rules[a].any_roles : 0;
}

bool policy_recent_proof(const struct policy_params *pp, const struct session *s, int64_t now)
{
	int64_t proof = s->created_at > s->second_factor_at ? s->created_at : s->second_factor_at;

	return now - proof <= pp->reauth_window;
}

enum policy_decision policy_decide(const struct policy_params *pp, const struct principal *p,
				   enum policy_action a, const struct policy_resource *res,
				   int64_t now)
{
	const struct session *s =
	    p->kind == PRINCIPAL_SESSION || p->kind == PRINCIPAL_TOKEN ? p->session : NULL;
	bool via_partner;

	if ((unsigned)a >= ACT__COUNT || rules[a].name == NULL)
		return POLICY_DENY_FORBIDDEN; /* an action without a rule is never allowed */
	/* The operator does the operator's actions and nothing else, not even
	 * what anybody may do; only the operator does them. */
	if (p->kind == PRINCIPAL_OPERATOR)
		return rules[a].need == NEED_OPERATOR ? POLICY_ALLOW : POLICY_DENY_FORBIDDEN;
	if (rules[a].need == NEED_OPERATOR)
		return POLICY_DENY_UNAUTHENTICATED;
	if (rules[a].need == NEED_NOTHING)
		return POLICY_ALLOW;
	/* A service acts only where a service is what is needed, and only a
	 * service does. */
	if (rules[a].need == NEED_SERVICE)
		return p->kind == PRINCIPAL_SERVICE ? POLICY_ALLOW : POLICY_DENY_UNAUTHENTICATED;
	if (s == NULL)
		return POLICY_DENY_UNAUTHENTICATED;
	/* A token acts only where a scope lets it, never where a person's
	 * presence (a recent proof, a second factor) or a staff role counts. */
	if (p->kind == PRINCIPAL_TOKEN) {
		/* A token acts in the one organization it was made in: any other
		 * is absent, whatever the action. */
		if (res && res->org_id && memcmp(res->org_id, s->org_id, AUTHD_ID_LEN) != 0)
			return POLICY_DENY_NOT_FOUND;
		if (rules[a].scope == 0 || rules[a].need == NEED_RECENT_PROOF || rules[a].roles ||
		    rules[a].any_roles)
			return POLICY_DENY_PRESENCE;
		if (!(p->scopes & rules[a].scope))
			return POLICY_DENY_SCOPE;
	}
	if ((s->flags & SESSION_F_LOGIN_REPLACED) && !rules[a].while_login_replaced)
		return POLICY_DENY_LOGIN_EMAIL;
	if ((p->roles & rules[a].roles) != rules[a].roles ||
	    (rules[a].any_roles && !(p->roles & rules[a].any_roles)))
		return POLICY_DENY_FORBIDDEN;
	/* The operator's staff act with a second factor, always. */
	if ((rules[a].roles || rules[a].any_roles) && s->aal != AAL_SECOND_FACTOR)
		return POLICY_DENY_REAUTH;
	/* An organization one is not in is one that does not exist, unless
	 * one manages a partner it let in and the action is a partner's. */
	via_partner = rules[a].member && res && res->org_id && res->org_role == 0 &&
		      rules[a].partner && res->partner;
	if (rules[a].member && res && res->org_id && res->org_role == 0 && !via_partner)
		return POLICY_DENY_NOT_FOUND;
	if (rules[a].member && res && res->org_id && rules[a].org_roles && !via_partner &&
	    !(rules[a].org_roles & 1u << res->org_role) && !(rules[a].self && res->self))
		return POLICY_DENY_FORBIDDEN;
	/* Billing is seen and done only by who has the right to it. */
	if (rules[a].billing && rules[a].member && res && res->org_id &&
	    !(via_partner ? res->partner_billing : res->actor_billing))
		return POLICY_DENY_FORBIDDEN;
	/* Billing is given only by who has it. */
	if (rules[a].member && res && res->org_id && res->billing &&
	    res->org_role != ROLE_LEGAL_REPRESENTATIVE && !res->actor_billing)
		return POLICY_DENY_FORBIDDEN;
	/* The legal representative role is granted and taken only by a legal
	 * representative, with a recent second factor. */
	if (rules[a].member && res && res->org_id && res->legal) {
		if (res->org_role != ROLE_LEGAL_REPRESENTATIVE)
			return POLICY_DENY_FORBIDDEN;
		if (p->kind == PRINCIPAL_TOKEN)
			return POLICY_DENY_PRESENCE;
		if (s->aal != AAL_SECOND_FACTOR || !policy_recent_proof(pp, s, now))
			return POLICY_DENY_REAUTH;
	}
	/* A session acts on its own account only (no cross-account access yet). */
	if (res && res->account_id && memcmp(res->account_id, s->account_id, AUTHD_ID_LEN) != 0)
		return POLICY_DENY_FORBIDDEN;
	if (rules[a].need == NEED_RECENT_PROOF && !policy_recent_proof(pp, s, now))
		return POLICY_DENY_REAUTH;
	return POLICY_ALLOW;
}

enum support_verdict policy_support_use(const struct principal *p, const struct support_grant *g,
					enum support_kind kind, int64_t now)
{
	/* Only the staff assigned to it learn anything of its state. */
	if (p->session == NULL || !(p->roles & OPERATOR_SUPPORT_AGENT) ||
	    !core_support_assigned(g, p->session->account_id))
		return SUPPORT_NOT_ASSIGNED;
	if (g->revoked_at != 0)
		return SUPPORT_REVOKED;
	if (now >= g->expires_at)
		return SUPPORT_EXPIRED;
	if (g->kind != kind)
		return SUPPORT_OTHER_KIND;
	return SUPPORT_ALLOWED;
}
