/*
 * geoip.h over libmaxminddb: one MMDB_s mapped at start, looked up on the
 * loop (a lookup walks the mapped tree: microseconds, no system call).
 * Names are the English ones (`names.en`), as a push challenge shows them;
 * a record without a city gives the country alone.
 */
#include "geoip.h"

#include <log.h>
#include <mp.h>

#include <maxminddb.h>
#include <unistr.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static MMDB_s db;
static bool opened;

int geoip_open(const char *path)
{
	int rc;

	geoip_close();
	if (path[0] == '\0')
		return 0;
	rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
	if (rc != MMDB_SUCCESS) {
		log_err("cannot open the geoip database %.200s: %s", path, MMDB_strerror(rc));
		return -1;
	}
	opened = true;
	log_info("geoip database %.200s (%.64s, %llu nodes)", path, db.metadata.database_type,
		 (unsigned long long)db.metadata.node_count);
	return 0;
}

void geoip_close(void)
{
	if (opened)
		MMDB_close(&db);
	opened = false;
}

/* The English name at path (e.g. "city", "names", "en") into out. */
static bool name_of(MMDB_entry_s *e, const char *what, char *out, size_t size)
{
	MMDB_entry_data_s d;

	if (MMDB_get_value(e, &d, what, "names", "en", NULL) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0)
		return false;
	snprintf(out, size, "%.*s", (int)d.data_size, d.utf8_string);
	return true;
}

void geoip_locate(const char *ip, char *out, size_t size)
{
	char city[128], country[128];
	MMDB_lookup_result_s r;
	int gai = 0, rc = 0;

	snprintf(out, size, "unknown");
	if (!opened)
		return;
	r = MMDB_lookup_string(&db, ip, &gai, &rc);
	if (gai != 0 || rc != MMDB_SUCCESS || !r.found_entry)
		return;
	if (!name_of(&r.entry, "country", country, sizeof(country)))
		return;
	if (name_of(&r.entry, "city", city, sizeof(city)))
		snprintf(out, size, "%s, %s", city, country);
	else
		snprintf(out, size, "%s", country);
	/* A device shows it: text only (the database is the operator's, but
	 * a cut may split a UTF-8 sequence, and names may hold anything). */
	if (u8_check((const uint8_t *)out, strlen(out)) != NULL || !mp_text_ok(out, strlen(out)))
		snprintf(out, size, "unknown");
}
