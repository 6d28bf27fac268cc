/*
 * The operator's staff: which accounts hold which operator role, from the
 * configuration ([support] reviewers, agents, leads and [billing] staff:
 * account ids, as
 * GET /1/me shows them). An id, unlike a login email, cannot be taken over by signing up
 * with an address nobody holds. Read at start; a change takes effect at
 * the next start, for every session at once (the policy asks on each
 * request that needs a role).
 */
#ifndef AUTHD_STAFF_H
#define AUTHD_STAFF_H

#include "config.h"

#include <util.h>

/* Parses the lists; 0, or -1 with err filled (not an account id). Main
 * thread, before any job runs. */
int staff_setup(const struct authd_config *c, char *err, size_t err_size);
/* The roles (enum operator_role) of the account. Any thread. */
unsigned staff_roles(const uint8_t account_id[AUTHD_ID_LEN]);

#endif
