/*
 * The loop's in-memory table of IP subjects and in-flight attempts. The
 * table is a fixed open-addressed hash; when a probe run is full the slot
 * with the oldest failure is reused, so an attacker spraying addresses
 * cannot grow memory. The throttle arithmetic itself is in the core.
 */
#include "throttle.h"

#include <stdio.h>
#include <string.h>

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
	/* An address's history; for a subject, the stored history as this
	 * node last wrote it, at written_seq. */
	struct throttle_rec rec;
	uint64_t written_seq;
};

static uint64_t seq; /* counts this node's throttle writes (loop thread) */

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

struct throttle_slot *throttle_slot_signup(const char *ip)
{
	char key[SLOT_KEY];

	snprintf(key, sizeof(key), "su %.40s", ip);
	return lookup(key);
}

struct throttle_slot *throttle_slot_recovery(const char *ip)
{
	char key[SLOT_KEY];

	snprintf(key, sizeof(key), "rc %.40s", ip);
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

void throttle_ip_failure(const char *ip, int64_t now)
{
	struct throttle_slot *s = throttle_slot_ip(ip);

	if (s)
		throttle_record_failure(&s->rec, &throttle_ip_policy, now);
}

uint64_t throttle_seq(void)
{
	return seq;
}

void throttle_subject_written(const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r)
{
	struct throttle_slot *s = throttle_slot_subject(key);

	if (s == NULL)
		return;
	s->rec = *r;
	s->written_seq = ++seq;
}

const struct throttle_rec *throttle_subject_fresh(const uint8_t key[THROTTLE_KEY_LEN],
						  const struct throttle_rec *stored,
						  uint64_t read_seq)
{
	struct throttle_slot *s = throttle_slot_subject(key);

	return s && s->written_seq > read_seq ? &s->rec : stored;
}
