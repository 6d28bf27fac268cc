/*
 * Small facts about records that every layer shares.
 */
#include "core.h"

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
