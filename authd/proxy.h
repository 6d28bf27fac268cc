/*
 * The client's address behind trusted reverse proxies. authd sees the
 * socket peer; when that peer is one of [server] trusted_proxies (CIDRs),
 * the client is the rightmost X-Forwarded-For hop that is not itself a
 * trusted proxy (every proxy appends the address it received from, so
 * hops to the left of an untrusted one may be forged). Headers from
 * untrusted peers are ignored.
 */
#ifndef AUTHD_PROXY_H
#define AUTHD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_MAX_NETS 32

struct proxy_net {
	uint8_t addr[16]; /* IPv4 as IPv4-mapped IPv6 */
	unsigned prefix;  /* bits, of the 128 */
};

struct proxy_list {
	struct proxy_net nets[PROXY_MAX_NETS];
	size_t n;
};

/* Parses "10.0.0.0/8, 192.168.1.7, ::1, fd00::/8" (a bare address is a
 * /32 or /128). Returns 0, or -1 for a malformed list or more than
 * PROXY_MAX_NETS entries. */
int proxy_list_parse(struct proxy_list *l, const char *text);

/* Whether ip (text, IPv4, IPv6 or IPv4-mapped IPv6) lies in one of l's nets. */
bool proxy_trusted(const struct proxy_list *l, const char *ip);

/* The network prefix of ip that one client holds: /24 for IPv4 (a home or
 * office), /64 for IPv6. Writes 3 or 8 bytes into out and returns their
 * count; 0 when ip does not parse. */
size_t proxy_ip_prefix(const char *ip, uint8_t out[16]);

/*
 * The client address for a request from peer with the given
 * X-Forwarded-For value (NULL or "" when absent), into out (size bytes,
 * normalized text). A malformed hop ends the walk: the hop to its right
 * is the client. Returns out.
 */
const char *proxy_client_ip(const struct proxy_list *l, const char *peer, const char *xff,
			    char *out, size_t size);

#endif
