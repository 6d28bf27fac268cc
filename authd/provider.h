/*
 * The payment provider's seam: payments other than from the prepaid
 * balance go through a configured HTTP endpoint of a provider ([billing]
 * provider_url), which answers with a checkout where the payer completes
 * them and later calls back POST /1/billing/webhook, signed with the
 * shared [billing] webhook_secret.
 *
 * The provider is asked with the payment's id, currency and amount as its
 * Idempotency-Key: the same payment asked twice (two nodes, a retry after
 * kill -9) is one checkout there, one charge; asked again for another
 * amount (the balance it shares changed), another checkout.
 */
#ifndef AUTHD_PROVIDER_H
#define AUTHD_PROVIDER_H

#include <core.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* A signed webhook is accepted this long either side of the time it
 * says it was signed. */
#define PROVIDER_SIGNATURE_SKEW 300

/* Takes [billing] provider_url, provider_authorization and webhook_secret;
 * once at start, before the pool runs. */
void provider_setup(const struct authd_config *c);
/* Whether a provider is configured. */
bool provider_configured(void);

/*
 * Asks the provider for a checkout of p's rest (p->rest minor units of
 * p->currency) described by description: blocking, on a pool thread.
 * On 0, ref and url hold the provider's reference and the address where
 * the payer completes it. -1: no provider; -2: the provider could not be
 * reached or refused (logged without secrets).
 */
int provider_checkout(const struct payment *p, const char *description,
		      char ref[PAYMENT_REF_MAX + 1], char url[PAYMENT_URL_MAX + 1]);

/*
 * Whether header ("t=<unix time>,v1=<hex HMAC-SHA-256>") signs body with
 * the webhook secret, at a time within PROVIDER_SIGNATURE_SKEW of now.
 * The digests are compared in constant time. False when no secret is
 * configured.
 */
bool provider_signature_ok(const char *header, const char *body, size_t len, int64_t now);

/* The header provider_signature_ok accepts for body at t (for tests and
 * the reference provider): out holds at least 96 bytes. */
void provider_sign(const char *body, size_t len, int64_t t, char *out, size_t size);

#endif
