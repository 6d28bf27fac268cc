/*
 * Trusted proxies and X-Forwarded-For (proxy.h). Addresses are compared as
 * 16-byte IPv6, IPv4 mapped into ::ffff:0:0/96, so "10.0.0.1" and
 * "::ffff:10.0.0.1" are the same client.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses one address into 16 bytes; *v4 tells whether it was IPv4. */
static bool parse_addr(const char *s, size_t len, uint8_t out[16], bool *v4)
{
	char buf[64];
	struct in_addr a4;

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return true;
	}
	*v4 = false;
	if (inet_pton(AF_INET6, buf, out) != 1)
		return false;
	/* An IPv4-mapped IPv6 address is its IPv4 address. */
	*v4 = memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
	return true;
}

static bool in_net(const struct proxy_net *n, const uint8_t a[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (memcmp(a, n->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	return (a[full] & mask) == (n->addr[full] & mask);
}

int proxy_list_parse(struct proxy_list *l, const char *text)
{
	const char *p = text;

	memset(l, 0, sizeof(*l));
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *slash = memchr(p, '/', len);
		struct proxy_net n;
		bool v4 = false;
		long bits;

		/* An empty item ("a,,b") does not parse. */
		if (!parse_addr(p, slash ? (size_t)(slash - p) : len, n.addr, &v4))
			return -1;
		if (slash) {
			char *end = NULL;

			bits = strtol(slash + 1, &end, 10);
			while (*end == ' ' || *end == '\t')
				end++;
			if (end == slash + 1 || (end != p + len) || bits < 0 ||
			    bits > (v4 ? 32 : 128))
				return -1;
		} else {
			bits = v4 ? 32 : 128;
		}
		n.prefix = (unsigned)bits + (v4 ? 96 : 0);
		if (l->n == PROXY_MAX_NETS)
			return -1;
		l->nets[l->n++] = n;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

bool proxy_trusted(const struct proxy_list *l, const char *ip)
{
	uint8_t a[16];
	bool v4;

	if (!parse_addr(ip, strlen(ip), a, &v4))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (in_net(&l->nets[i], a))
			return true;
	return false;
}

/* The normalized text of a: dotted quad for IPv4 (mapped or not). */
static void addr_text(const uint8_t a[16], bool v4, char *out, size_t size)
{
	char buf[INET6_ADDRSTRLEN];

	if (v4)
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	snprintf(out, size, "%s", buf);
}

size_t proxy_ip_prefix(const char *ip, uint8_t out[16])
{
	uint8_t a[16];
	bool v4;

	if (!parse_addr(ip, strlen(ip), a, &v4))
		return 0;
	if (v4) {
		memcpy(out, a + 12, 3);
		return 3;
	}
	memcpy(out, a, 8);
	return 8;
}

const char *proxy_client_ip(const struct proxy_list *l, const char *peer, const char *xff,
			    char *out, size_t size)
{
	uint8_t a[16];
	bool v4 = false;
	const char *end;

	if (!parse_addr(peer, strlen(peer), a, &v4)) {
		snprintf(out, size, "%s", peer);
		return out;
	}
	addr_text(a, v4, out, size);
	if (xff == NULL || !proxy_trusted(l, peer))
		return out;
	/* Walk the hops from the right while they are trusted proxies. */
	end = xff + strlen(xff);
	while (end > xff) {
		const char *start = end;

		while (start > xff && start[-1] != ',')
			start--;
		if (!parse_addr(start, (size_t)(end - start), a, &v4))
			return out; /* garbage: the hop to its right is all we know */
		addr_text(a, v4, out, size);
		if (!proxy_trusted(l, out))
			return out;
		end = start > xff ? start - 1 : start;
	}
	return out; /* every hop is a trusted proxy: the leftmost one */
}
