/*
 * What a client is, as far as its owner may be told (client.h): a short
 * name of its browser and system, and which network it is on.
 */
#include "client.h"

#include "http.h"

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

/* A short name of the browser and the OS from a User-Agent, or "unknown". */
void client_names(const char *ua, char *browser, size_t bsize, char *os, size_t osize)
{
	static const struct {
		const char *token, *name;
	} browsers[] =
	    {
		{"Edg/", "Edge"},      {"OPR/", "Opera"},     {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	    },
	  systems[] = {
	      {"Android", "Android"}, {"iPhone", "iOS"},     {"iPad", "iPadOS"},
	      {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"},
	      {"Linux", "Linux"},
	  };

	snprintf(browser, bsize, "unknown");
	snprintf(os, osize, "unknown");
	for (size_t i = 0; i < sizeof(browsers) / sizeof(browsers[0]); i++) {
		const char *p = strstr(ua, browsers[i].token);

		if (p) {
			/* The major version: digits after the token, at most 4. */
			const char *v = p + strlen(browsers[i].token);
			size_t n = strspn(v, "0123456789");

			snprintf(browser, bsize, "%s%s%.*s", browsers[i].name, n ? " " : "",
				 (int)(n > 4 ? 4 : n), v);
			break;
		}
	}
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]); i++)
		if (strstr(ua, systems[i].token)) {
			snprintf(os, osize, "%s", systems[i].name);
			break;
		}
}

void client_of(struct req *r, char *browser, size_t bsize)
{
	char ua[256] = "", os[32];
	char name[64];

	if (r->wsi && lws_hdr_copy(r->wsi, ua, sizeof(ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
		ua[0] = '\0';
	client_names(ua, name, sizeof(name), os, sizeof(os));
	if (strcmp(os, "unknown") == 0)
		snprintf(browser, bsize, "%s", name);
	else
		snprintf(browser, bsize, "%s on %s", name, os);
}

uint64_t client_net(const uint8_t key[32], const uint8_t *prefix, size_t len)
{
	uint8_t mac[EVP_MAX_MD_SIZE], in[1 + 16];
	unsigned mlen = 0;
	uint64_t v = 0;

	/* Labelled: the key's other uses never hash this input. */
	in[0] = 'N';
	memcpy(in + 1, prefix, len < 16 ? len : 16);
	HMAC(EVP_sha256(), key, 32, in, 1 + (len < 16 ? len : 16), mac, &mlen);
	for (int i = 0; i < 8; i++)
		v = v << 8 | mac[i];
	return v;
}
