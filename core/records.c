/*
 * Small facts about records that every layer shares.
 */
#include "core.h"

#include <stdio.h>
#include <string.h>

bool core_role_manages(enum org_role r)
{
	return r == ROLE_LEGAL_REPRESENTATIVE || r == ROLE_ADMINISTRATOR;
}

const char *core_role_name(enum org_role role)
{
	switch (role) {
	case ROLE_LEGAL_REPRESENTATIVE:
		return "legal_representative";
	case ROLE_ADMINISTRATOR:
		return "administrator";
	case ROLE_COLLABORATOR:
		return "collaborator";
	case ROLE_EXTERNAL:
		return "external";
	}
	return "";
}

enum org_role core_role_parse(const char *name)
{
	for (int r = ROLE_LEGAL_REPRESENTATIVE; r <= ROLE_EXTERNAL; r++)
		if (strcmp(name, core_role_name((enum org_role)r)) == 0)
			return (enum org_role)r;
	return (enum org_role)0;
}

const char *core_contact_name(unsigned contact)
{
	switch (contact) {
	case CONTACT_BILLING:
		return "billing";
	case CONTACT_TECHNICAL:
		return "technical";
	case CONTACT_SECURITY:
		return "security";
	}
	return "";
}

unsigned core_contact_parse(const char *name)
{
	for (unsigned c = 1; c < CONTACT__ALL; c <<= 1)
		if (strcmp(name, core_contact_name(c)) == 0)
			return c;
	return 0;
}

bool core_member_change_keeps_rep(unsigned reps, enum org_role from, enum org_role to)
{
	return from != ROLE_LEGAL_REPRESENTATIVE || to == ROLE_LEGAL_REPRESENTATIVE || reps > 1;
}

enum invite_verdict core_invite_usable(const struct invite *inv, int64_t now)
{
	if (inv->state == INVITE_ACCEPTED)
		return INVITE_E_USED;
	if (inv->state != INVITE_PENDING)
		return INVITE_E_REVOKED;
	return now < inv->expires_at ? INVITE_OK : INVITE_E_EXPIRED;
}

bool core_invite_pending(const struct invite *inv, int64_t now)
{
	return core_invite_usable(inv, now) == INVITE_OK;
}

const char *core_product_kind_name(enum product_kind k)
{
	static const char *const names[] = {
	    [PRODUCT_MAIL] = "mail",	   [PRODUCT_DRIVE] = "drive",	[PRODUCT_CHAT] = "chat",
	    [PRODUCT_HOSTING] = "hosting", [PRODUCT_DOMAIN] = "domain", [PRODUCT_OTHER] = "other",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "";
}

enum product_kind core_product_kind_parse(const char *name)
{
	for (int k = PRODUCT_MAIL; k <= PRODUCT_OTHER; k++)
		if (strcmp(name, core_product_kind_name((enum product_kind)k)) == 0)
			return (enum product_kind)k;
	return (enum product_kind)0;
}

const char *core_product_right_name(unsigned right)
{
	switch (right) {
	case PRODUCT_R_USE:
		return "use";
	case PRODUCT_R_MANAGE:
		return "manage";
	}
	return "";
}

unsigned core_product_right_parse(const char *name)
{
	for (unsigned r = 1; r < PRODUCT_R__ALL; r <<= 1)
		if (strcmp(name, core_product_right_name(r)) == 0)
			return r;
	return 0;
}

/* Adds a resource name to the access once. */
static void access_add_resource(struct access *out, const char *name)
{
	for (unsigned i = 0; i < out->n_resources; i++)
		if (strcmp(out->resources[i], name) == 0)
			return;
	if (out->n_resources < ACCESS_RESOURCES_MAX)
		snprintf(out->resources[out->n_resources++], sizeof(out->resources[0]), "%s", name);
	else
		out->truncated = true; /* never more than granted: the list says it is cut */
}

void core_access_of(const struct member *m, const struct grant *grants, size_t n,
		    struct access *out)
{
	memset(out, 0, sizeof(*out));
	if (m->role == ROLE_LEGAL_REPRESENTATIVE || m->role == ROLE_ADMINISTRATOR) {
		out->rights = PRODUCT_R__ALL;
		out->all_resources = true;
		out->via = ACCESS_VIA_ROLE;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct grant *g = &grants[i];

		if (g->rights == 0)
			continue;
		out->rights |= g->rights & PRODUCT_R__ALL;
		out->via |= g->subject_kind == GRANT_TEAM ? ACCESS_VIA_TEAM : ACCESS_VIA_MEMBER;
		if (g->n_resources == 0)
			out->all_resources = true;
		for (unsigned r = 0; r < g->n_resources && r < GRANT_RESOURCES_MAX; r++)
			access_add_resource(out, g->resources[r]);
	}
	if (out->all_resources)
		out->n_resources = 0;
}

bool core_partner_covers(const struct partner_link *l, const uint8_t product_id[AUTHD_ID_LEN])
{
	if (l->all_products)
		return true;
	for (unsigned i = 0; i < l->n_products && i < PARTNER_PRODUCTS_MAX; i++)
		if (memcmp(l->products[i], product_id, AUTHD_ID_LEN) == 0)
			return true;
	return false;
}

bool core_partner_merge(struct partner_link *into, const struct partner_link *l)
{
	bool whole = true;

	into->all_products = into->all_products || l->all_products;
	into->billing = into->billing || l->billing;
	for (unsigned i = 0; !into->all_products && i < l->n_products && i < PARTNER_PRODUCTS_MAX;
	     i++) {
		if (core_partner_covers(into, l->products[i]))
			continue;
		if (into->n_products >= PARTNER_PRODUCTS_MAX) {
			whole = false;
			break;
		}
		memcpy(into->products[into->n_products++], l->products[i], AUTHD_ID_LEN);
	}
	return whole;
}

const char *core_scope_name(unsigned scope)
{
	switch (scope) {
	case SCOPE_ACCOUNT_READ:
		return "account:read";
	case SCOPE_ACCOUNT_WRITE:
		return "account:write";
	case SCOPE_ORGANIZATIONS_READ:
		return "organizations:read";
	case SCOPE_ORGANIZATIONS_WRITE:
		return "organizations:write";
	case SCOPE_BILLING_READ:
		return "billing:read";
	case SCOPE_BILLING_WRITE:
		return "billing:write";
	}
	return "";
}

unsigned core_scope_parse(const char *name)
{
	for (unsigned s = 1; s < SCOPE__ALL; s <<= 1)
		if (strcmp(name, core_scope_name(s)) == 0)
			return s;
	return 0;
}

bool core_token_live(const struct api_token *t, int64_t now)
{
	return t->expires_at == 0 || now < t->expires_at;
}

bool core_token_is_org(const struct api_token *t)
{
	return memcmp(t->account_id, t->org_id, AUTHD_ID_LEN) == 0;
}

void core_org_token_member(const struct api_token *t, const uint8_t org_id[AUTHD_ID_LEN],
			   struct member *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->org_id, org_id, AUTHD_ID_LEN);
	memcpy(m->account_id, t->id, AUTHD_ID_LEN);
	if (core_token_is_org(t) && memcmp(t->org_id, org_id, AUTHD_ID_LEN) == 0) {
		m->role = ROLE_ADMINISTRATOR;
		m->since = t->created_at;
	}
}

bool core_token_rate_take(struct api_token *t, int64_t now_ms, int64_t *retry_after_s)
{
	int64_t oldest, wait;

	if (t->head >= API_TOKEN_RATE || t->count > API_TOKEN_RATE)
		t->head = t->count = 0; /* a damaged ring starts again */
	if (t->count < API_TOKEN_RATE) {
		t->hits[(t->head + t->count) % API_TOKEN_RATE] = now_ms;
		t->count++;
		return true;
	}
	oldest = t->hits[t->head];
	if (now_ms >= oldest && now_ms - oldest >= API_TOKEN_WINDOW_MS) {
		t->hits[t->head] = now_ms;
		t->head = (uint8_t)((t->head + 1) % API_TOKEN_RATE);
		return true;
	}
	wait = now_ms >= oldest ? oldest + API_TOKEN_WINDOW_MS - now_ms : API_TOKEN_WINDOW_MS;
	*retry_after_s = (wait + 999) / 1000;
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return false;
}

const char *core_audit_name(enum audit_action a)
{
	static const char *const names[AUDIT__COUNT] = {
	    [AUDIT_MEMBER_ADDED] = "member_added",
	    [AUDIT_MEMBER_CHANGED] = "member_changed",
	    [AUDIT_MEMBER_REMOVED] = "member_removed",
	    [AUDIT_MEMBER_LEFT] = "member_left",
	    [AUDIT_TOKEN_CREATED] = "token_created",
	    [AUDIT_TOKEN_REVOKED] = "token_revoked",
	    [AUDIT_INVITATION_SENT] = "invitation_sent",
	    [AUDIT_INVITATION_REVOKED] = "invitation_revoked",
	    [AUDIT_PRODUCT_ADDED] = "product_added",
	    [AUDIT_PRODUCT_REMOVED] = "product_removed",
	    [AUDIT_GRANT_CHANGED] = "grant_changed",
	    [AUDIT_GRANT_REMOVED] = "grant_removed",
	    [AUDIT_TEAM_ADDED] = "team_added",
	    [AUDIT_TEAM_CHANGED] = "team_changed",
	    [AUDIT_TEAM_REMOVED] = "team_removed",
	    [AUDIT_TEAM_MEMBER_ADDED] = "team_member_added",
	    [AUDIT_TEAM_MEMBER_REMOVED] = "team_member_removed",
	    [AUDIT_PARTNER_ADDED] = "partner_added",
	    [AUDIT_PARTNER_REMOVED] = "partner_removed",
	    [AUDIT_READ] = "read",
	    [AUDIT_SUPPORT_GRANTED] = "support_granted",
	    [AUDIT_SUPPORT_REVOKED] = "support_revoked",
	    [AUDIT_SUPPORT_ASSIGNED] = "support_assigned",
	    [AUDIT_SUPPORT_UNASSIGNED] = "support_unassigned",
	    [AUDIT_SUPPORT_USED] = "support_used",
	    [AUDIT_ADDRESS_ADDED] = "billing_address_added",
	    [AUDIT_ADDRESS_CHANGED] = "billing_address_changed",
	    [AUDIT_ADDRESS_REMOVED] = "billing_address_removed",
	    [AUDIT_AUTO_RENEWAL_CHANGED] = "auto_renewal_changed",
	    [AUDIT_PAYMENT_STARTED] = "payment_started",
	    [AUDIT_PAYMENT_PAID] = "payment_paid",
	    [AUDIT_PAYMENT_FAILED] = "payment_failed",
	    [AUDIT_ORDER_PLACED] = "order_placed",
	    [AUDIT_INVOICE_PAID] = "invoice_paid",
	    [AUDIT_INVOICE_CANCELLED] = "invoice_cancelled",
	    [AUDIT_PRODUCT_RENEWED] = "product_renewed",
	    [AUDIT_RENEWAL_ORDERED] = "renewal_ordered",
	    [AUDIT_PRODUCT_BLOCKED] = "product_blocked",
	    [AUDIT_PRODUCT_TERMINATED] = "product_terminated",
	};

	return (unsigned)a < AUDIT__COUNT && names[a] ? names[a] : "";
}

enum audit_action core_audit_parse(const char *name)
{
	for (int a = 1; a < AUDIT__COUNT; a++)
		if (strcmp(name, core_audit_name((enum audit_action)a)) == 0)
			return (enum audit_action)a;
	return (enum audit_action)0;
}

const char *core_audit_via_name(enum audit_via v)
{
	switch (v) {
	case AUDIT_VIA_SESSION:
		return "session";
	case AUDIT_VIA_TOKEN:
		return "token";
	case AUDIT_VIA_PARTNER:
		return "partner";
	case AUDIT_VIA_SUPPORT:
		return "support";
	case AUDIT_VIA_SYSTEM:
		return "system";
	}
	return "";
}

enum audit_via core_audit_via_parse(const char *name)
{
	for (int v = AUDIT_VIA_SESSION; v <= AUDIT_VIA_SYSTEM; v++)
		if (strcmp(name, core_audit_via_name((enum audit_via)v)) == 0)
			return (enum audit_via)v;
	return (enum audit_via)0;
}

const char *core_event_name(enum security_event_kind k)
{
	static const char *const names[EVENT__COUNT] = {
	    [EVENT_PASSWORD_CHANGED] = "password_changed",
	    [EVENT_TOTP_ENABLED] = "totp_enabled",
	    [EVENT_TOTP_REMOVED] = "totp_removed",
	    [EVENT_BACKUP_CODES_REGENERATED] = "backup_codes_regenerated",
	    [EVENT_SECOND_FACTOR_LOCKED] = "second_factor_locked",
	    [EVENT_DEVICE_LINKED] = "device_linked",
	    [EVENT_DEVICE_REMOVED] = "device_removed",
	    [EVENT_PUSH_PAUSED] = "push_paused",
	    [EVENT_LOGIN] = "login",
	    [EVENT_RECOVERY_EMAIL_CHANGED] = "recovery_email_changed",
	    [EVENT_RECOVERY_PHONE_CHANGED] = "recovery_phone_changed",
	    [EVENT_PASSWORD_RESET] = "password_reset",
	    [EVENT_LOGIN_EMAIL_CHANGED] = "login_email_changed",
	    [EVENT_SMS_ENABLED] = "sms_enabled",
	    [EVENT_SMS_REMOVED] = "sms_removed",
	    [EVENT_LOGIN_EMAIL_LOST] = "login_email_lost",
	    [EVENT_ACCOUNT_LOCKED] = "account_locked",
	    [EVENT_ACCOUNT_UNLOCKED] = "account_unlocked",
	    [EVENT_SECOND_FACTOR_RESET] = "second_factor_reset",
	    [EVENT_CASE_DECIDED] = "case_decided",
	};

	return (unsigned)k < EVENT__COUNT && names[k] ? names[k] : "";
}

static const char *const method_names[EVENT_M__COUNT] = {
    [EVENT_M_PASSWORD] = "password", [EVENT_M_TOTP] = "totp", [EVENT_M_BACKUP_CODE] = "backup_code",
    [EVENT_M_PUSH] = "push",	     [EVENT_M_SMS] = "sms",
};

static const char *const outcome_names[EVENT_O__COUNT] = {
    [EVENT_O_SUCCESS] = "success",
    [EVENT_O_SECOND_FACTOR] = "second_factor_required",
    [EVENT_O_FAILURE] = "failure",
    [EVENT_O_DENIED] = "denied",
};

const char *core_event_method_name(enum event_method m)
{
	return (unsigned)m < EVENT_M__COUNT && method_names[m] ? method_names[m] : "";
}

enum event_method core_event_method_parse(const char *name)
{
	for (int m = 1; m < EVENT_M__COUNT; m++)
		if (strcmp(name, method_names[m]) == 0)
			return (enum event_method)m;
	return EVENT_M_NONE;
}

const char *core_event_outcome_name(enum event_outcome o)
{
	return (unsigned)o < EVENT_O__COUNT && outcome_names[o] ? outcome_names[o] : "";
}

enum event_outcome core_event_outcome_parse(const char *name)
{
	for (int o = 1; o < EVENT_O__COUNT; o++)
		if (strcmp(name, outcome_names[o]) == 0)
			return (enum event_outcome)o;
	return EVENT_O_NONE;
}

enum security_event_kind core_event_parse(const char *name)
{
	for (int k = 1; k < EVENT__COUNT; k++)
		if (strcmp(name, core_event_name((enum security_event_kind)k)) == 0)
			return (enum security_event_kind)k;
	return (enum security_event_kind)0;
}

unsigned backup_remaining(const struct backup_rec *b)
{
	unsigned n = 0;

	for (int i = 0; i < OTP_BACKUP_COUNT; i++)
		if (b->used_at[i] == 0)
			n++;
	return n;
}

int64_t core_session_expires(const struct session *s, int64_t idle_s)
{
	int64_t idle_end = s->last_seen + idle_s;

	return idle_end < s->expires_at ? idle_end : s->expires_at;
}

void core_recovery_login_new(const char *name, const uint8_t rnd[8],
			     char out[RECOVERY_LOGIN_MAX + 1])
{
	uint64_t v = 0;
	size_t n = 0;
	bool word_start = true;

	/* The first letter of each of the name's first three words. */
	for (const char *c = name; *c && n < 3; c++) {
		bool letter = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');

		if (word_start && letter)
			out[n++] = (char)(*c >= 'a' ? *c - 'a' + 'A' : *c);
		word_start = *c == ' ' || *c == '-' || *c == '\t';
	}
	if (n == 0)
		out[n++] = 'X';
	out[n++] = '-';
	for (int i = 0; i < 8; i++)
		v = v << 8 | rnd[i];
	for (int i = RECOVERY_LOGIN_DIGITS - 1; i >= 0; i--) {
		out[n + (size_t)i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[n + RECOVERY_LOGIN_DIGITS] = '\0';
}

bool core_login_is_recovery(const char *login)
{
	size_t letters = 0, digits = 0;
	const char *c = login;

	while (*c >= 'A' && *c <= 'Z') {
		letters++;
		c++;
	}
	if (letters < 1 || letters > 3 || *c++ != '-')
		return false;
	while (*c >= '0' && *c <= '9') {
		digits++;
		c++;
	}
	return *c == '\0' && digits == RECOVERY_LOGIN_DIGITS;
}

int core_recovery_login_normalize(const char *in, size_t len, char out[RECOVERY_LOGIN_MAX + 1])
{
	char letters[4], digits[RECOVERY_LOGIN_DIGITS + 1];
	size_t nl = 0, nd = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == ' ' || c == '-')
			continue;
		if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) && nd == 0 && nl < 3)
			letters[nl++] = (char)(c >= 'a' ? c - 'a' + 'A' : c);
		else if (c >= '0' && c <= '9' && nl > 0 && nd < RECOVERY_LOGIN_DIGITS)
			digits[nd++] = c;
		else
			return -1;
	}
	if (nl == 0 || nd != RECOVERY_LOGIN_DIGITS)
		return -1;
	letters[nl] = '\0';
	digits[nd] = '\0';
	snprintf(out, RECOVERY_LOGIN_MAX + 1, "%s-%s", letters, digits);
	return 0;
}

int core_login_normalize(const char *in, size_t len, char out[EMAIL_MAX + 1])
{
	if (authd_email_normalize(in, len, out) == 0)
		return 0;
	return core_recovery_login_normalize(in, len, out);
}

/* --- support access ------------------------------------------------------------------ */

const char *core_support_kind_name(enum support_kind k)
{
	switch (k) {
	case SUPPORT_MAIL:
		return "mail";
	case SUPPORT_DRIVE:
		return "drive";
	case SUPPORT_CHAT:
		return "chat";
	}
	return "";
}

enum support_kind core_support_kind_parse(const char *name)
{
	for (int k = SUPPORT_MAIL; name && k <= SUPPORT_CHAT; k++)
		if (strcmp(name, core_support_kind_name((enum support_kind)k)) == 0)
			return (enum support_kind)k;
	return 0;
}

bool core_support_live(const struct support_grant *g, int64_t now)
{
	return g->revoked_at == 0 && now < g->expires_at;
}

const char *core_support_verdict_name(enum support_verdict v)
{
	static const char *const names[] = {
	    [SUPPORT_ALLOWED] = "allowed",	 [SUPPORT_REVOKED] = "revoked",
	    [SUPPORT_EXPIRED] = "expired",	 [SUPPORT_NOT_ASSIGNED] = "not_assigned",
	    [SUPPORT_OTHER_KIND] = "other_kind",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "";
}

bool core_support_assigned(const struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN])
{
	for (unsigned i = 0; i < g->n_assignees && i < SUPPORT_ASSIGNEES_MAX; i++)
		if (memcmp(g->assignees[i], account_id, AUTHD_ID_LEN) == 0)
			return true;
	return false;
}

bool core_support_assign(struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN])
{
	if (core_support_assigned(g, account_id))
		return true;
	if (g->n_assignees >= SUPPORT_ASSIGNEES_MAX)
		return false;
	memcpy(g->assignees[g->n_assignees++], account_id, AUTHD_ID_LEN);
	return true;
}

bool core_support_unassign(struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN])
{
	for (unsigned i = 0; i < g->n_assignees && i < SUPPORT_ASSIGNEES_MAX; i++)
		if (memcmp(g->assignees[i], account_id, AUTHD_ID_LEN) == 0) {
			memmove(g->assignees[i], g->assignees[i + 1],
				(size_t)(g->n_assignees - i - 1) * AUTHD_ID_LEN);
			g->n_assignees--;
			return true;
		}
	return false;
}

/* --- billing ------------------------------------------------------------------------- */

const char *core_currency_name(enum currency c)
{
	switch (c) {
	case CURRENCY_CHF:
		return "CHF";
	case CURRENCY_EUR:
		return "EUR";
	}
	return "";
}

enum currency core_currency_parse(const char *name)
{
	for (int c = CURRENCY_CHF; name && c <= CURRENCY_EUR; c++)
		if (strcmp(name, core_currency_name((enum currency)c)) == 0)
			return (enum currency)c;
	return 0;
}

const char *core_ledger_kind_name(enum ledger_kind k)
{
	static const char *const names[] = {
	    [LEDGER_K_DEPOSIT] = "deposit", [LEDGER_K_PAY] = "pay",
	    [LEDGER_K_HOLD] = "hold",	    [LEDGER_K_SETTLE] = "settle",
	    [LEDGER_K_RELEASE] = "release",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "";
}

int64_t core_ledger_leg(const struct ledger_tx *tx, enum ledger_account account)
{
	int64_t sum = 0;

	for (unsigned i = 0; i < tx->n && i < LEDGER_LEGS_MAX; i++)
		if (tx->legs[i].account == account)
			sum += tx->legs[i].minor;
	return sum;
}

const char *core_invoice_kind_name(enum invoice_kind k)
{
	return k == INVOICE_NEW ? "new" : k == INVOICE_RENEWAL ? "renewal" : "";
}

const char *core_invoice_status_name(enum invoice_status s)
{
	static const char *const names[] = {
	    [INVOICE_OPEN] = "open",
	    [INVOICE_PAID] = "paid",
	    [INVOICE_CANCELLED] = "cancelled",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "";
}

const char *core_payment_kind_name(enum payment_kind k)
{
	return k == PAYMENT_DEPOSIT ? "deposit" : k == PAYMENT_INVOICES ? "invoices" : "";
}

const char *core_payment_status_name(enum payment_status s)
{
	static const char *const names[] = {
	    [PAYMENT_PENDING] = "pending",
	    [PAYMENT_PAID] = "paid",
	    [PAYMENT_FAILED] = "failed",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "";
}

bool core_country_ok(const char *country)
{
	return country && country[0] >= 'A' && country[0] <= 'Z' && country[1] >= 'A' &&
	       country[1] <= 'Z' && country[2] == '\0';
}

enum currency core_currency_of_country(const char *country)
{
	return strcmp(country, "CH") == 0 || strcmp(country, "LI") == 0 ? CURRENCY_CHF
									: CURRENCY_EUR;
}
