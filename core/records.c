/*
 * Small facts about records that every layer shares.
 */
#include "core.h"

#include <string.h>

const char *core_role_name(enum org_role role)
{
	switch (role) {
	case ROLE_LEGAL_REPRESENTATIVE:
		return "legal_representative";
	case ROLE_ADMINISTRATOR:
		return "administrator";
	case ROLE_COLLABORATOR:
		return "collaborator";
	}
	return "";
}

enum org_role core_role_parse(const char *name)
{
	for (int r = ROLE_LEGAL_REPRESENTATIVE; r <= ROLE_COLLABORATOR; r++)
		if (strcmp(name, core_role_name((enum org_role)r)) == 0)
			return (enum org_role)r;
	return (enum org_role)0;
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
