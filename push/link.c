/*
 * link.c owns linking: the offer the console shows as a QR code, and its
 * completion by a device that proves its new key. The device's TOTP seed
 * is drawn with the offer (the URI carries it for offline codes) and
 * sealed under the TOTP key, bound to the account and the device id, so a
 * sealed seed moved to another device's record does not open.
 */
#include "push.h"

#include <openssl/crypto.h>
#include <string.h>

const char *push_strerror(int err)
{
	switch (err) {
	case PUSH_OK:
		return "success";
	case PUSH_E_INVALID:
		return "malformed input";
	case PUSH_E_LINK_INVALID:
		return "link offer expired or used";
	case PUSH_E_TOO_MANY:
		return "too many devices";
	case PUSH_E_INTERNAL:
		return "internal error";
	case PUSH_E_PAUSED:
		return "push is paused for the account";
	case PUSH_E_THROTTLED:
		return "too many push challenges";
	case PUSH_E_EXPIRED:
		return "challenge expired";
	case PUSH_E_ANSWERED:
		return "challenge no longer pending";
	default:
		return "unknown error";
	}
}

/* What a device seed's seal is bound to: the account, then the device. */
static void seed_aad(uint8_t aad[2 * AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t device_id[AUTHD_ID_LEN])
{
	memcpy(aad, account_id, AUTHD_ID_LEN);
	memcpy(aad + AUTHD_ID_LEN, device_id, AUTHD_ID_LEN);
}

int push_link_new(struct push_link *link, uint8_t secret[MP_SECRET_LEN],
		  uint8_t seed[PUSH_SEED_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		  unsigned devices, const uint8_t rnd[PUSH_LINK_RANDOM], const struct core_keys *k,
		  int64_t now)
{
	struct push_link l;
	const uint8_t *r = rnd;
	uint8_t aad[2 * AUTHD_ID_LEN];
	int rc = PUSH_E_INTERNAL;

	if (devices >= PUSH_DEVICES_MAX)
		return PUSH_E_TOO_MANY;
	memset(&l, 0, sizeof(l));
	memcpy(l.account_id, account_id, AUTHD_ID_LEN);
	memcpy(l.device_id, r, AUTHD_ID_LEN);
	r += AUTHD_ID_LEN;
	l.created_at = now;
	l.expires_at = now + PUSH_LINK_TTL;
	seed_aad(aad, account_id, l.device_id);
	if (core_seal(k->totp, r + PUSH_SEED_LEN, aad, sizeof(aad), r, PUSH_SEED_LEN, l.seed) != 0)
		goto out;
	l.seed_len = PUSH_SEED_LEN + SEAL_OVERHEAD;
	memcpy(seed, r, PUSH_SEED_LEN);
	r += PUSH_SEED_LEN + SEAL_NONCE;
	memcpy(secret, account_id, AUTHD_ID_LEN);
	memcpy(secret + AUTHD_ID_LEN, r, PUSH_SECRET_RANDOM);
	*link = l;
	rc = 0;
out:
	OPENSSL_cleanse(&l, sizeof(l));
	return rc;
}

void push_link_ref(const uint8_t secret[MP_SECRET_LEN], struct token_ref *ref)
{
	memcpy(ref->account_id, secret, AUTHD_ID_LEN);
	authd_sha256(secret, MP_SECRET_LEN, ref->hash);
}

void push_device_totp(const struct push_device *d, struct core_device_totp *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->seed, d->seed, d->seed_len);
	out->seed_len = d->seed_len;
	out->last_step = d->last_step;
	seed_aad(out->aad, d->account_id, d->id);
}

bool push_link_usable(const struct push_link *link, int64_t now)
{
	return link->linked_at == 0 && now < link->expires_at;
}

bool push_name_ok(const char *name)
{
	size_t n = strnlen(name, PUSH_NAME_MAX + 1);

	return n >= 1 && n <= PUSH_NAME_MAX && mp_text_ok(name, n);
}

int push_link_complete(struct push_link *link, struct push_device *dev,
		       const uint8_t public_key[MP_KEY_LEN], const char *name, unsigned devices,
		       int64_t now)
{
	struct push_device d;

	if (!push_link_usable(link, now))
		return PUSH_E_LINK_INVALID;
	if (!push_name_ok(name))
		return PUSH_E_INVALID;
	if (devices >= PUSH_DEVICES_MAX)
		return PUSH_E_TOO_MANY;
	memset(&d, 0, sizeof(d));
	memcpy(d.id, link->device_id, AUTHD_ID_LEN);
	memcpy(d.account_id, link->account_id, AUTHD_ID_LEN);
	memcpy(d.public_key, public_key, MP_KEY_LEN);
	memcpy(d.name, name, strlen(name) + 1);
	d.created_at = now;
	memcpy(d.seed, link->seed, link->seed_len);
	d.seed_len = link->seed_len;
	d.last_step = -1;
	link->linked_at = now;
	*dev = d;
	OPENSSL_cleanse(&d, sizeof(d));
	return 0;
}
