/*
 * The operator's staff and their roles (staff.h).
 */
#include "staff.h"

#include <core.h>

#include <stdio.h>
#include <string.h>

#define STAFF_MAX 64

/* One configured list: its role and the account ids that hold it. */
struct staff_list {
	const char *section, *key; /* where it is configured */
	enum operator_role role;
	uint8_t ids[STAFF_MAX][AUTHD_ID_LEN];
	size_t n;
};

static struct staff_list lists[] = {
    {"support", "reviewers", OPERATOR_SUPPORT_REVIEWER, {{0}}, 0},
    {"support", "agents", OPERATOR_SUPPORT_AGENT, {{0}}, 0},
    {"support", "leads", OPERATOR_SUPPORT_LEAD, {{0}}, 0},
    {"billing", "staff", OPERATOR_BILLING, {{0}}, 0},
};

static int parse(struct staff_list *l, const char *text, char *err, size_t err_size)
{
	char list[4096];
	char *save = NULL;

	l->n = 0;
	snprintf(list, sizeof(list), "%s", text);
	for (char *tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (l->n == STAFF_MAX ||
		    authd_unhex(tok, strlen(tok), l->ids[l->n], AUTHD_ID_LEN) != 0) {
			snprintf(err, err_size,
				 "[%s] %s wants at most %d account ids (%d hex digits each), "
				 "comma separated",
				 l->section, l->key, STAFF_MAX, AUTHD_ID_HEX);
			return -1;
		}
		l->n++;
	}
	return 0;
}

int staff_setup(const struct authd_config *c, char *err, size_t err_size)
{
	const char *texts[] = {c->support_reviewers, c->support_agents, c->support_leads,
			       c->billing_staff};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (parse(&lists[i], texts[i], err, err_size) != 0)
			return -1;
	return 0;
}

unsigned staff_roles(const uint8_t account_id[AUTHD_ID_LEN])
{
	unsigned roles = 0;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (size_t k = 0; k < lists[i].n; k++)
			if (memcmp(lists[i].ids[k], account_id, AUTHD_ID_LEN) == 0)
				roles |= lists[i].role;
	return roles;
}
