/*
 * The operator's staff and their roles (staff.h).
 */
#include "staff.h"

#include <core.h>
#include <util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAFF_MAX 64

static char reviewers[STAFF_MAX][EMAIL_MAX + 1];
static size_t n_reviewers;

int staff_setup(const struct authd_config *c, char *err, size_t err_size)
{
	char list[sizeof(c->support_reviewers)];
	char *save = NULL;

	n_reviewers = 0;
	snprintf(list, sizeof(list), "%s", c->support_reviewers);
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t len = strlen(tok);

		while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		if (n_reviewers == STAFF_MAX ||
		    authd_email_normalize(tok, len, reviewers[n_reviewers]) != 0) {
			snprintf(
			    err, err_size,
			    "[support] reviewers wants at most %d login emails, comma separated",
			    STAFF_MAX);
			return -1;
		}
		n_reviewers++;
	}
	return 0;
}

unsigned staff_roles(const char *email)
{
	for (size_t i = 0; i < n_reviewers; i++)
		if (strcmp(reviewers[i], email) == 0)
			return OPERATOR_SUPPORT_REVIEWER;
	return 0;
}
