/*
 * The payment provider (provider.h): one HTTP request per checkout,
 * through libcurl on a pool thread, and the webhook's signature.
 */
#include "provider.h"

#include <log.h>
#include <util.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_S 5
#define TOTAL_TIMEOUT_S	  15
#define ANSWER_MAX	  8192

static const struct authd_config *cfg;

/* Whether an http URL's host (what follows "http://") is this machine. */
static bool loopback(const char *host)
{
	size_t n = strcspn(host, ":/");
	char name[64];
	struct in_addr a;

	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcmp(name, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

void provider_setup(const struct authd_config *c)
{
	cfg = c;
	/* Before any pool thread asks: libcurl's global init is not
	 * thread-safe everywhere. */
	if (c->provider_url[0] && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_err(
		    "libcurl could not be initialised: payments through the provider will fail");
	if (strncmp(c->provider_url, "http://", 7) == 0 && !loopback(c->provider_url + 7))
		log_warn("[billing] provider_url is plain http: its credential crosses the network "
			 "in clear");
}

bool provider_configured(void)
{
	return cfg && cfg->provider_url[0];
}

struct answer {
	char buf[ANSWER_MAX + 1];
	size_t len;
	bool too_long;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb;

	if (n > ANSWER_MAX - a->len) {
		a->too_long = true;
		return 0;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

/* Copies a printable string field of o (1..size-1 bytes) into out. */
static bool field(json_t *o, const char *name, char *out, size_t size)
{
	json_t *v = json_object_get(o, name);
	size_t len = json_is_string(v) ? json_string_length(v) : 0;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (s == NULL || len == 0 || len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	memcpy(out, s, len + 1);
	return true;
}

int provider_checkout(const struct payment *p, const char *description,
		      char ref[PAYMENT_REF_MAX + 1], char url[PAYMENT_URL_MAX + 1])
{
	char id[AUTHD_ID_HEX + 1], amount[32], endpoint[600], auth[600], idem[96];
	struct money m = {p->rest, p->currency};
	struct curl_slist *h = NULL;
	struct answer *a = NULL;
	json_t *req = NULL, *got = NULL;
	char *text = NULL;
	CURL *c = NULL;
	long status = 0;
	CURLcode cc = CURLE_OK;
	int rc = -2;

	if (!provider_configured())
		return -1;
	authd_hex(p->id, AUTHD_ID_LEN, id);
	snprintf(amount, sizeof(amount), "%" PRId64 ".%02" PRId64, m.minor / 100, m.minor % 100);
	snprintf(endpoint, sizeof(endpoint), "%s/payments", cfg->provider_url);
	/* The payment and what the provider is asked for: the same payment
	 * asked again for another amount (the balance changed before a retry)
	 * is another checkout, never the old one under a new amount. */
	snprintf(idem, sizeof(idem), "Idempotency-Key: %s-%s-%" PRId64, id,
		 core_currency_name((enum currency)p->currency), p->rest);
	req = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "amount", amount, "currency",
			core_currency_name((enum currency)p->currency), "description", description);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL ||
	    (a = calloc(1, sizeof(*a))) == NULL || (c = curl_easy_init()) == NULL)
		goto out;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	h = h ? curl_slist_append(h, idem) : NULL;
	if (h && cfg->provider_authorization[0]) {
		snprintf(auth, sizeof(auth), "Authorization: %s", cfg->provider_authorization);
		h = curl_slist_append(h, auth);
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (h == NULL)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, endpoint);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TOTAL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		log_warn("payment provider unreachable payment=%s: %s", id, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 201) {
		log_warn("payment provider refused payment=%s status=%ld", id, status);
		goto out;
	}
	if ((got = json_loadb(a->buf, a->len, 0, NULL)) == NULL ||
	    !field(got, "ref", ref, PAYMENT_REF_MAX + 1) ||
	    !field(got, "checkout_url", url, PAYMENT_URL_MAX + 1) ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)) {
		log_warn("payment provider answered no checkout payment=%s", id);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && ref && url) {
		ref[0] = '\0';
		url[0] = '\0';
	}
	json_decref(got);
	json_decref(req);
	free(text);
	free(a);
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

static bool mac_of(const char *body, size_t len, int64_t t, uint8_t out[32])
{
	char head[32];
	int hl = snprintf(head, sizeof(head), "%" PRId64 ".", t);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
			       OSSL_PARAM_construct_end()};
	size_t got = 0;
	bool ok;

	memset(out, 0, 32);
	ok = ctx &&
	     EVP_MAC_init(ctx, (const unsigned char *)cfg->webhook_secret,
			  strlen(cfg->webhook_secret), params) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)hl) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
	     EVP_MAC_final(ctx, out, &got, 32) == 1 && got == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok; /* a MAC not made is no MAC: every signature fails */
}

void provider_sign(const char *body, size_t len, int64_t t, char *out, size_t size)
{
	uint8_t d[32];
	char hex[65];

	if (!mac_of(body, len, t, d))
		memset(d, 0xff, sizeof(d)); /* a header nobody's signature matches */
	authd_hex(d, sizeof(d), hex);
	snprintf(out, size, "t=%" PRId64 ",v1=%s", t, hex);
	OPENSSL_cleanse(d, sizeof(d));
}

bool provider_signature_ok(const char *header, const char *body, size_t len, int64_t now)
{
	uint8_t want[32], got[32];
	const char *v1;
	char *end = NULL;
	long long t;
	bool ok;

	if (cfg == NULL || cfg->webhook_secret[0] == '\0' || strncmp(header, "t=", 2) != 0)
		return false;
	errno = 0;
	t = strtoll(header + 2, &end, 10);
	if (errno || end == header + 2 || strncmp(end, ",v1=", 4) != 0)
		return false;
	v1 = end + 4;
	if (strlen(v1) != 64 || authd_unhex(v1, 64, got, sizeof(got)) != 0)
		return false;
	if (t < now - PROVIDER_SIGNATURE_SKEW || t > now + PROVIDER_SIGNATURE_SKEW)
		return false;
	ok = mac_of(body, len, (int64_t)t, want) && CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
