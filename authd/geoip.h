/*
 * Approximate locations of client addresses, from a MaxMind-format
 * database ([geoip] database: GeoLite2-City, DB-IP Lite City or Country,
 * or any database with that layout) read through libmaxminddb. Without a
 * database every address is "unknown". Loop thread (and main) only.
 */
#ifndef AUTHD_GEOIP_H
#define AUTHD_GEOIP_H

#include <stddef.h>

/* Opens the database at path (memory-mapped); "" opens nothing. 0, or -1
 * (logged: a database named but unusable stops authd at start). */
int geoip_open(const char *path);
void geoip_close(void);

/* "City, Country", "Country", or "unknown" for ip (IPv4 or IPv6 text),
 * into out (always terminated, truncated to size). */
void geoip_locate(const char *ip, char *out, size_t size);

#endif
