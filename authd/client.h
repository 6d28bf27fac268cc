/*
 * What a client is, as far as its owner may be told: a short name of its
 * browser and system from its User-Agent ("Firefox 128", "macOS"), and a
 * keyed hash of its network (its address prefix, /24 or /64), which is
 * what "a network not seen before" compares.
 */
#ifndef AUTHD_CLIENT_H
#define AUTHD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct req;

/* A short name of the browser and the OS of a User-Agent, each "unknown"
 * when not recognised. */
void client_names(const char *ua, char *browser, size_t bsize, char *os, size_t osize);
/* "Firefox 128 on macOS" (or the parts known) for the request's client. */
void client_of(struct req *r, char *browser, size_t bsize);
/* The keyed hash of an address prefix (proxy_ip_prefix) under key. */
uint64_t client_net(const uint8_t key[32], const uint8_t *prefix, size_t len);

#endif
