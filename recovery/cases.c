/*
 * Identity-verification cases (recovery.h): opened, given documents,
 * decided once. The shell seals the documents, checks the reviewer's role
 * through the policy, and performs what an approval asks.
 */
#include "recovery.h"

#include <stdio.h>
#include <string.h>

static const char *const reason_names[] = {
    [CASE_PASSWORD] = "password_reset",
    [CASE_LOGIN] = "login_forgotten",
    [CASE_DISABLE_2FA] = "disable_2fa",
    [CASE_UNLOCK] = "unlock",
};

static const char *const state_names[] = {
    [CASE_OPEN] = "open",
    [CASE_APPROVED] = "approved",
    [CASE_REJECTED] = "rejected",
};

const char *recovery_case_reason_name(enum case_reason r)
{
	return r >= CASE_PASSWORD && r <= CASE_UNLOCK ? reason_names[r] : "";
}

enum case_reason recovery_case_reason_parse(const char *name)
{
	for (int r = CASE_PASSWORD; r <= CASE_UNLOCK; r++)
		if (strcmp(name, reason_names[r]) == 0)
			return (enum case_reason)r;
	return (enum case_reason)0;
}

const char *recovery_case_state_name(enum case_state s)
{
	return s >= CASE_OPEN && s <= CASE_REJECTED ? state_names[s] : "";
}

void recovery_case_open(struct case_rec *c, const uint8_t id[AUTHD_ID_LEN],
			const uint8_t *account_id, enum case_reason reason,
			const uint8_t token_hash[AUTHD_HASH_LEN], const char *login,
			const char *contact, const char *details, int64_t now)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id, AUTHD_ID_LEN);
	if (account_id)
		memcpy(c->account_id, account_id, AUTHD_ID_LEN);
	c->reason = (uint8_t)reason;
	c->state = CASE_OPEN;
	c->opened_at = now;
	memcpy(c->token_hash, token_hash, AUTHD_HASH_LEN);
	snprintf(c->login, sizeof(c->login), "%s", login ? login : "");
	snprintf(c->contact, sizeof(c->contact), "%s", contact);
	snprintf(c->details, sizeof(c->details), "%s", details ? details : "");
}

int recovery_case_doc_add(struct case_rec *c, uint32_t size, const char *type, int64_t now)
{
	struct case_doc *d;

	if (c->state != CASE_OPEN)
		return RECOVERY_E_EXPIRED;
	if (c->n_docs >= CASE_DOCS_MAX)
		return RECOVERY_E_THROTTLED;
	d = &c->docs[c->n_docs];
	d->uploaded_at = now;
	d->size = size;
	snprintf(d->type, sizeof(d->type), "%s", type);
	return c->n_docs++;
}

int64_t recovery_case_drop_at(const struct case_rec *c)
{
	return c->state == CASE_OPEN ? c->opened_at + CASE_OPEN_KEEP_S
				     : c->decided_at + CASE_KEEP_S;
}

bool recovery_case_doc_live(const struct case_rec *c, unsigned n, int64_t now)
{
	return n < c->n_docs && c->state == CASE_OPEN && c->docs[n].uploaded_at != 0 &&
	       now < c->docs[n].uploaded_at + CASE_DOC_KEEP_S;
}

enum recovery_verdict recovery_case_decide(struct case_rec *c, bool approve,
					   const uint8_t reviewer[AUTHD_ID_LEN], const char *note,
					   int64_t now)
{
	if (c->state != CASE_OPEN)
		return RECOVERY_E_EXPIRED;
	c->state = approve ? CASE_APPROVED : CASE_REJECTED;
	c->decided_at = now;
	memcpy(c->reviewer, reviewer, AUTHD_ID_LEN);
	snprintf(c->note, sizeof(c->note), "%s", note ? note : "");
	return RECOVERY_OK;
}
