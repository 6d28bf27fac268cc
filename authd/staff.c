/*
 * The operator's staff and their roles (staff.h).
 */
#include "staff.h"

#include <core.h>

#include <stdio.h>
#include <string.h>

#define STAFF_MAX 64

static uint8_t reviewers[STAFF_MAX][AUTHD_ID_LEN];
static size_t n_reviewers;

int staff_setup(const struct authd_config *c, char *err, size_t err_size)
{
	char list[sizeof(c->support_reviewers)];
	char *save = NULL;

	n_reviewers = 0;
	snprintf(list, sizeof(list), "%s", c->support_reviewers);
	for (char *tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (n_reviewers == STAFF_MAX ||
		    authd_unhex(tok, strlen(tok), reviewers[n_reviewers], AUTHD_ID_LEN) != 0) {
			snprintf(err, err_size,
				 "[support] reviewers wants at most %d account ids (%d hex digits "
				 "each), comma separated",
				 STAFF_MAX, AUTHD_ID_HEX);
			return -1;
		}
		n_reviewers++;
	}
	return 0;
}

unsigned staff_roles(const uint8_t account_id[AUTHD_ID_LEN])
{
	for (size_t i = 0; i < n_reviewers; i++)
		if (memcmp(reviewers[i], account_id, AUTHD_ID_LEN) == 0)
			return OPERATOR_SUPPORT_REVIEWER;
	return 0;
}
