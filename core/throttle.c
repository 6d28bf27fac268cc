/*
 * Throttle arithmetic: escalating delays after a few free failures, a cap
 * of failures in any rolling hour, and the subject keys. Pure functions of
 * the record and the time they are given.
 */
#include "core.h"

#include <stdint.h>
#include <string.h>

const struct throttle_policy throttle_account_policy = {
    .free_failures = 3,
    .base_delay = 5,
    .max_delay = 15 * 60,
    .hourly_cap = 100,
    .quiet_reset = 3600,
};

const struct throttle_policy throttle_account_hourly_policy = {
    .free_failures = UINT32_MAX,
    .base_delay = 0,
    .max_delay = 0,
    .hourly_cap = 100,
    .quiet_reset = 3600,
};

const struct throttle_policy throttle_factor_policy = {
    .free_failures = 3,
    .base_delay = 5,
    .max_delay = 15 * 60,
    .hourly_cap = 100,
    .quiet_reset = 0, /* about 220 guesses a day when it was an hour */
};

const struct throttle_policy throttle_signup_policy = {
    .free_failures = 4, /* five sign-ups, then the sixth waits */
    .base_delay = 60,
    .max_delay = 3600,
    .hourly_cap = 20,
    .quiet_reset = 3600,
};

const struct throttle_policy throttle_ip_policy = {
    .free_failures = 20,
    .base_delay = 1,
    .max_delay = 5 * 60,
    .hourly_cap = 0,
    .quiet_reset = 15 * 60,
};

static uint32_t effective_consecutive(const struct throttle_rec *r, const struct throttle_policy *p,
				      int64_t now)
{
	if (p->quiet_reset && r->consecutive && now - r->last_failure >= p->quiet_reset)
		return 0;
	return r->consecutive;
}

int64_t throttle_retry_after(const struct throttle_rec *r, const struct throttle_policy *p,
			     int64_t now, unsigned inflight)
{
	uint32_t n = effective_consecutive(r, p, now) + inflight;
	int64_t wait = 0;

	if (n > p->free_failures) {
		unsigned shift = n - p->free_failures - 1;
		int64_t delay = shift >= 20 ? p->max_delay : p->base_delay << shift;

		if (delay > p->max_delay)
			delay = p->max_delay;
		/* In-flight attempts have no timestamp yet: make them wait the
		 * full delay from now. */
		wait = inflight ? delay : r->last_failure + delay - now;
	}
	if (p->hourly_cap) {
		unsigned in_hour = inflight;
		int64_t oldest = INT64_MAX;

		for (unsigned i = 0; i < r->count; i++) {
			if (r->ring[i] > now - 3600) {
				in_hour++;
				if (r->ring[i] < oldest)
					oldest = r->ring[i];
			}
		}
		if (in_hour >= p->hourly_cap) {
			int64_t until = oldest == INT64_MAX ? 1 : oldest + 3600 - now;

			if (until > wait)
				wait = until;
		}
	}
	return wait > 0 ? wait : 0;
}

void throttle_record_failure(struct throttle_rec *r, const struct throttle_policy *p, int64_t now)
{
	r->consecutive = effective_consecutive(r, p, now) + 1;
	r->last_failure = now;
	throttle_record_hourly(r, now);
}

void throttle_record_hourly(struct throttle_rec *r, int64_t now)
{
	r->ring[r->pos] = now;
	r->pos = (uint8_t)((r->pos + 1) % THROTTLE_RING);
	if (r->count < THROTTLE_RING)
		r->count++;
}

void throttle_record_success(struct throttle_rec *r)
{
	r->consecutive = 0;
}

bool throttle_factor_locked(const struct throttle_rec *r)
{
	return r->consecutive >= THROTTLE_FACTOR_LOCK;
}

bool throttle_is_quiet(const struct throttle_rec *r, int64_t now)
{
	if (r->last_failure > now - 3600)
		return false;
	for (unsigned i = 0; i < r->count; i++)
		if (r->ring[i] > now - 3600)
			return false;
	return true;
}

bool throttle_subject_is_quiet(const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r,
			       int64_t now)
{
	if (key[0] == 'f' && r->consecutive > 0)
		return false;
	/* An unknown email's wrong recovery codes lock for as long as an
	 * account's do (recovery.h), or the sweep would tell them apart. */
	if (key[0] == 'r' && r->consecutive > 0 && now - r->last_failure < THROTTLE_RECOVERY_KEEP_S)
		return false;
	/* A daily quota counts until its day is over. */
	if ((key[0] == 's' || key[0] == 'u' || key[0] == 'P' || key[0] == 'I') &&
	    r->consecutive > 0 && now - r->last_failure < THROTTLE_DAY)
		return false;
	return throttle_is_quiet(r, now);
}

void throttle_key_invitations(uint8_t key[THROTTLE_KEY_LEN], const uint8_t org_id[AUTHD_ID_LEN])
{
	key[0] = 'I';
	memcpy(key + 1, org_id, AUTHD_ID_LEN);
}

void throttle_key_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN])
{
	key[0] = 'a';
	memcpy(key + 1, id, AUTHD_ID_LEN);
}

void throttle_key_factor(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN])
{
	key[0] = 'f';
	memcpy(key + 1, id, AUTHD_ID_LEN);
}

void throttle_key_client(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			 const uint8_t account_id[AUTHD_ID_LEN], const uint8_t *prefix,
			 size_t prefix_len)
{
	uint8_t in[1 + AUTHD_ID_LEN + 16], h[AUTHD_HASH_LEN];

	if (prefix_len > 16)
		prefix_len = 16;
	in[0] = 'p';
	memcpy(in + 1, account_id, AUTHD_ID_LEN);
	memcpy(in + 1 + AUTHD_ID_LEN, prefix, prefix_len);
	authd_hmac_sha256(hkey, in, 1 + AUTHD_ID_LEN + prefix_len, h);
	key[0] = 'p';
	memcpy(key + 1, h, AUTHD_ID_LEN);
}

void throttle_key_device(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			 const uint8_t account_id[AUTHD_ID_LEN], const uint8_t nonce[16])
{
	uint8_t in[1 + AUTHD_ID_LEN + 16], h[AUTHD_HASH_LEN];

	in[0] = 'd';
	memcpy(in + 1, account_id, AUTHD_ID_LEN);
	memcpy(in + 1 + AUTHD_ID_LEN, nonce, 16);
	authd_hmac_sha256(hkey, in, sizeof(in), h);
	key[0] = 'd';
	memcpy(key + 1, h, AUTHD_ID_LEN);
}

void throttle_key_email(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32], const char *email)
{
	uint8_t h[AUTHD_HASH_LEN];

	authd_hmac_sha256(hkey, email, strlen(email), h);
	key[0] = 'e';
	memcpy(key + 1, h, AUTHD_ID_LEN);
}

void throttle_key_sms_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN],
			      bool sign_in)
{
	key[0] = sign_in ? 's' : 'u';
	memcpy(key + 1, id, AUTHD_ID_LEN);
}

void throttle_key_sms_prefix(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			     const char *phone)
{
	uint8_t in[1 + THROTTLE_SMS_PREFIX], h[AUTHD_HASH_LEN];
	size_t n = 0;

	in[n++] = 'P';
	for (const char *c = phone; *c && n < sizeof(in); c++)
		if (*c >= '0' && *c <= '9')
			in[n++] = (uint8_t)*c;
	authd_hmac_sha256(hkey, in, n, h);
	key[0] = 'P';
	memcpy(key + 1, h, AUTHD_ID_LEN);
}

bool throttle_quota_take(struct throttle_rec *r, unsigned max, int64_t now, int64_t *retry_after)
{
	int64_t day = now - now % THROTTLE_DAY;

	*retry_after = 0;
	if (r->last_failure != day) {
		r->consecutive = 0;
		r->last_failure = day;
	}
	if (r->consecutive >= max) {
		*retry_after = day + THROTTLE_DAY - now;
		return false;
	}
	r->consecutive++;
	return true;
}
