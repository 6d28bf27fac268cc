/*
 * Failure throttling, shared by every session and login of a subject (an
 * account, an unknown email, or a client IP). A subject's failures give an
 * escalating delay after a few free ones, and a hard cap of failures in any
 * rolling hour. Account subjects persist in LMDB (they survive restarts);
 * IP subjects and in-flight counts live in memory on the loop thread.
 */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include "util.h"

#include <lmdb.h>
#include <stdint.h>

#define THROTTLE_RING 100

struct throttle_rec {
	uint32_t consecutive; /* failures since the last success or quiet period */
	int64_t last_failure;
	uint8_t count; /* entries used in ring */
	uint8_t pos;   /* next slot to write */
	int64_t ring[THROTTLE_RING];
};

struct throttle_policy {
	unsigned free_failures; /* consecutive failures without delay */
	int64_t base_delay;	/* seconds after the first delayed failure, doubling */
	int64_t max_delay;
	unsigned hourly_cap; /* failures in any rolling hour; 0 = none */
	int64_t quiet_reset; /* seconds without failure that reset `consecutive` */
};

extern const struct throttle_policy throttle_account_policy;
extern const struct throttle_policy throttle_ip_policy;

/*
 * Seconds until the subject may try again (0: now), counting `inflight`
 * attempts already started but not yet recorded as if they had failed.
 */
int64_t throttle_retry_after(const struct throttle_rec *r, const struct throttle_policy *p,
			     int64_t now, unsigned inflight);
void throttle_record_failure(struct throttle_rec *r, const struct throttle_policy *p, int64_t now);
/* Adds a failure to the hourly history only (the other factor's record of
 * the same account, so the hourly cap counts both factors). */
void throttle_record_hourly(struct throttle_rec *r, int64_t now);
/* A success forgets the consecutive count (N4-09), not the hourly history. */
void throttle_record_success(struct throttle_rec *r);

#define THROTTLE_KEY_LEN (1 + AUTHD_ID_LEN)

/*
 * Subject keys: an account's password step, an account's second factors
 * (kept apart so a right password never clears second-factor failures), or
 * an email that names no account.
 */
void throttle_key_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
void throttle_key_factor(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
void throttle_key_email(uint8_t key[THROTTLE_KEY_LEN], const char *email);

/* A missing record reads as a zeroed one. Return 0 or STORE_E_*. */
int throttle_get(MDB_txn *txn, const uint8_t key[THROTTLE_KEY_LEN], struct throttle_rec *r);
int throttle_put(MDB_txn *txn, const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r);

/*
 * In-memory slots (loop thread only) keyed by subject key or IP text. NULL
 * when every slot the key may use has attempts in flight (the caller answers
 * 503): a slot with work in flight is never reused for another key.
 */
struct throttle_slot;
struct throttle_slot *throttle_slot_ip(const char *ip);
struct throttle_slot *throttle_slot_subject(const uint8_t key[THROTTLE_KEY_LEN]);
struct throttle_rec *throttle_slot_rec(struct throttle_slot *s);
unsigned *throttle_slot_inflight(struct throttle_slot *s);

/* Adds delta (+1 or -1, never below 0) to the in-flight count of a subject
 * or an address, looking its slot up again (it may have moved). */
void throttle_inflight_subject(const uint8_t key[THROTTLE_KEY_LEN], int delta);
void throttle_inflight_ip(const char *ip, int delta);

#endif
