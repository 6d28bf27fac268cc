/*
 * A connection's settings as a libpq service file (store.h's
 * store_pg_service_write), so that pg_dump and pg_restore get the
 * configured connection, password included, through a file descriptor
 * (a memfd: never on disk) and not on their command line, where every
 * local user could read it.
 */
#include "pg-internal.h"

#include <log.h>

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What a service file cannot carry as it is: libpq's parser trims a
 * value's surrounding blanks, and a line break would start another line. */
static bool fits_a_line(const char *v)
{
	size_t n = strlen(v);

	return strpbrk(v, "\r\n") == NULL && !isspace((unsigned char)v[0]) &&
	       !isspace((unsigned char)v[n - 1]);
}

int store_pg_service_write(const char *url, int fd)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	FILE *f = NULL;
	int dup_fd = -1;
	int rc = STORE_E_IO;

	if (opts == NULL) {
		log_err("[storage] url does not parse as a libpq connection");
		return STORE_E_IO;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "service") == 0 || !fits_a_line(o->val)) {
			log_err(
			    "[storage] url's %s cannot go to pg_dump and pg_restore through a "
			    "service file (a service of its own, blanks around a value, or a line "
			    "break)",
			    o->keyword);
			goto out;
		}
	}
	if ((dup_fd = dup(fd)) < 0 || (f = fdopen(dup_fd, "w")) == NULL)
		goto out;
	dup_fd = -1;
	fprintf(f, "[authd]\n");
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && o->val[0])
			fprintf(f, "%s=%s\n", o->keyword, o->val);
	rc = fflush(f) == 0 && !ferror(f) ? 0 : STORE_E_IO;
out:
	if (f)
		fclose(f);
	if (dup_fd >= 0)
		close(dup_fd);
	PQconninfoFree(opts);
	return rc;
}
