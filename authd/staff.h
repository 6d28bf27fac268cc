/*
 * The operator's staff: which accounts hold which operator role, from the
 * configuration ([support] reviewers: login emails). Read at start; a
 * change takes effect at the next start, for every session at once (the
 * policy asks on each request that needs a role).
 */
#ifndef AUTHD_STAFF_H
#define AUTHD_STAFF_H

#include "config.h"

/* Parses the lists; 0, or -1 with err filled (a malformed email). Main
 * thread, before any job runs. */
int staff_setup(const struct authd_config *c, char *err, size_t err_size);
/* The roles (enum operator_role) of the account whose login is email. Any
 * thread. */
unsigned staff_roles(const char *email);

#endif
