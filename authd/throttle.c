/*
 * Throttle arithmetic, its LMDB record, and the loop's in-memory table of IP
 * subjects and in-flight attempts. The table is a fixed open-addressed hash;
 * when a probe run is full the slot with the oldest failure is reused, so an
 * attacker spraying addresses cannot grow memory.
 */
#include "throttle.h"

#include "store.h"

#include <stdio.h>
#include <string.h>

const struct throttle_policy throttle_account_policy = {
    .free_failures = 3,
    .base_delay = 5,
    .max_delay = 15 * 60,
    .hourly_cap = 100,
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
	if (r->consecutive && now - r->last_failure >= p->quiet_reset)
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

void throttle_key_email(uint8_t key[THROTTLE_KEY_LEN], const char *email)
{
	uint8_t h[AUTHD_HASH_LEN];

	authd_sha256(email, strlen(email), h);
	key[0] = 'e';
	memcpy(key + 1, h, AUTHD_ID_LEN);
}

#define REC_LEN (1 + 4 + 8 + 1 + 1 + THROTTLE_RING * 8)

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int throttle_get(MDB_txn *txn, const uint8_t key[THROTTLE_KEY_LEN], struct throttle_rec *r)
{
	MDB_val v;
	const uint8_t *p;
	int rc = store_get(txn, DB_THROTTLE, key, THROTTLE_KEY_LEN, &v);

	memset(r, 0, sizeof(*r));
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size != REC_LEN || p[0] != 1)
		return STORE_E_CORRUPT;
	r->consecutive = (uint32_t)get_le(p + 1, 4);
	r->last_failure = (int64_t)get_le(p + 5, 8);
	r->count = p[13];
	r->pos = p[14];
	if (r->count > THROTTLE_RING || r->pos >= THROTTLE_RING)
		return STORE_E_CORRUPT;
	for (int i = 0; i < THROTTLE_RING; i++)
		r->ring[i] = (int64_t)get_le(p + 15 + 8 * i, 8);
	return 0;
}

int throttle_put(MDB_txn *txn, const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r)
{
	uint8_t buf[REC_LEN];

	buf[0] = 1;
	put_le(buf + 1, r->consecutive, 4);
	put_le(buf + 5, (uint64_t)r->last_failure, 8);
	buf[13] = r->count;
	buf[14] = r->pos;
	for (int i = 0; i < THROTTLE_RING; i++)
		put_le(buf + 15 + 8 * i, (uint64_t)r->ring[i], 8);
	return store_put(txn, DB_THROTTLE, key, THROTTLE_KEY_LEN, buf, sizeof(buf));
}

/* --- the in-memory table ------------------------------------------------------ */

/* A key lives in one of PROBE slots from its hash. A lookup fails (503) only
 * when all of them have attempts in flight: with 8 that happened once in
 * 20 000 logins from 1024 concurrent clients (a quarter of the table busy);
 * with 32 it takes over half the table busy and is still about 1e-10. */
#define SLOTS	 8192
#define PROBE	 32
#define SLOT_KEY 48

struct throttle_slot {
	char key[SLOT_KEY];
	unsigned inflight;
	struct throttle_rec rec;
};

static struct throttle_slot slots[SLOTS];

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static struct throttle_slot *lookup(const char *key)
{
	size_t n = strnlen(key, SLOT_KEY - 1);
	uint32_t h = fnv1a(key, n);
	struct throttle_slot *victim = NULL;

	for (unsigned i = 0; i < PROBE; i++) {
		struct throttle_slot *s = &slots[(h + i) % SLOTS];

		if (strncmp(s->key, key, SLOT_KEY) == 0)
			return s;
		if (s->key[0] == '\0') {
			victim = s;
			break;
		}
		/* Never evict a slot with attempts under way. */
		if (s->inflight == 0 &&
		    (victim == NULL || s->rec.last_failure < victim->rec.last_failure))
			victim = s;
	}
	if (victim == NULL)
		return NULL; /* every slot of the run has work in flight */
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, n);
	return victim;
}

struct throttle_slot *throttle_slot_ip(const char *ip)
{
	char key[SLOT_KEY];

	snprintf(key, sizeof(key), "ip %.40s", ip);
	return lookup(key);
}

struct throttle_slot *throttle_slot_subject(const uint8_t k[THROTTLE_KEY_LEN])
{
	char key[SLOT_KEY];

	key[0] = 's';
	key[1] = ' ';
	authd_hex(k, THROTTLE_KEY_LEN, key + 2);
	return lookup(key);
}

struct throttle_rec *throttle_slot_rec(struct throttle_slot *s)
{
	return &s->rec;
}

unsigned *throttle_slot_inflight(struct throttle_slot *s)
{
	return &s->inflight;
}

static void inflight_add(struct throttle_slot *s, int delta)
{
	if (s == NULL)
		return;
	if (delta > 0)
		s->inflight++;
	else if (s->inflight > 0)
		s->inflight--;
}

void throttle_inflight_subject(const uint8_t key[THROTTLE_KEY_LEN], int delta)
{
	inflight_add(throttle_slot_subject(key), delta);
}

void throttle_inflight_ip(const char *ip, int delta)
{
	inflight_add(throttle_slot_ip(ip), delta);
}
