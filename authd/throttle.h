/*
 * The loop's in-memory throttle table: IP subjects (per node) and the
 * attempts in flight of every subject. Stored histories of accounts and
 * unknown emails go through the store; the arithmetic is in the core.
 */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include <core.h>
#include <stdint.h>

/*
 * In-memory slots (loop thread only) keyed by subject key or IP text. NULL
 * when every slot the key may use has attempts in flight (the caller answers
 * 503): a slot with work in flight is never reused for another key.
 */
struct throttle_slot;
struct throttle_slot *throttle_slot_ip(const char *ip);
/* Sign-up attempts of an address (a table apart from its login failures). */
struct throttle_slot *throttle_slot_signup(const char *ip);
/* Unauthenticated recovery requests of an address (a table apart too: an
 * office asking for codes does not delay its people's logins). */
struct throttle_slot *throttle_slot_recovery(const char *ip);
struct throttle_slot *throttle_slot_subject(const uint8_t key[THROTTLE_KEY_LEN]);
struct throttle_rec *throttle_slot_rec(struct throttle_slot *s);
unsigned *throttle_slot_inflight(struct throttle_slot *s);

/*
 * A read of a subject's stored history may be older than a write this node
 * committed meanwhile (PostgreSQL runs reads on other threads): the node
 * remembers its last write of each subject. throttle_seq() before the read,
 * throttle_subject_written() once a write committed, and
 * throttle_subject_fresh() gives the newer of the two. Loop thread only.
 */
uint64_t throttle_seq(void);
void throttle_subject_written(const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r);
const struct throttle_rec *throttle_subject_fresh(const uint8_t key[THROTTLE_KEY_LEN],
						  const struct throttle_rec *stored,
						  uint64_t read_seq);

/* Records a failed attempt from the address (login-page failures: wrong
 * password or code, a taken email at sign-up). */
void throttle_ip_failure(const char *ip, int64_t now);

/* Adds delta (+1 or -1, never below 0) to the in-flight count of a subject
 * or an address, looking its slot up again (it may have moved). */
void throttle_inflight_subject(const uint8_t key[THROTTLE_KEY_LEN], int delta);
void throttle_inflight_ip(const char *ip, int delta);

#endif
