/*
 * push: authenticator devices and push approval, as a functional core.
 *
 * It owns the records of a device linked to an account and of a link offer
 * (the QR code the console shows), and the rules over them: making an
 * offer, completing it with a device's key, naming a device. The shell
 * (authd/) reads and writes the records through the store and talks to the
 * device channels; the wire format is mobile-protocol/'s (mp.h).
 *
 * No sockets, no store, no clock, no randomness: callers pass the time and
 * random bytes in. Functions are thread-safe (no global state) and return
 * 0 or a negative PUSH_E_* code; outputs are written only on success.
 */
#ifndef AUTHD_PUSH_H
#define AUTHD_PUSH_H

#include <core.h>
#include <mp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_WUR __attribute__((warn_unused_result))

enum push_error {
	PUSH_OK = 0,
	PUSH_E_INVALID = -1,	  /* malformed input: a name, a key */
	PUSH_E_LINK_INVALID = -2, /* an offer that is expired or already used */
	PUSH_E_TOO_MANY = -3,	  /* the account has PUSH_DEVICES_MAX devices */
	PUSH_E_INTERNAL = -4,	  /* sealing failed */
};

/* A short lowercase English description of a PUSH_E_* code. Never NULL. */
const char *push_strerror(int err);

#define PUSH_LINK_TTL	  600 /* seconds an offer stays valid (10 minutes) */
#define PUSH_DEVICES_MAX  20  /* devices one account may link */
#define PUSH_SEED_LEN	  20  /* a device's TOTP seed: SHA-1 sized (RFC 4226 R6) */
#define PUSH_NAME_MAX	  MP_NAME_MAX
#define PUSH_LOCATION_MAX 64

/*
 * The link secret the URI carries (MP_SECRET_LEN bytes): the account id,
 * then 32 random bytes. The store files an offer under the account and the
 * secret's SHA-256 (a struct token_ref), so only the hash is kept and the
 * offer is found without an index, as a session token is.
 */
#define PUSH_SECRET_RANDOM (MP_SECRET_LEN - AUTHD_ID_LEN)

/* A link offer: made by the console, completed once by a device. */
struct push_link {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t device_id[AUTHD_ID_LEN]; /* the id the device will get */
	int64_t created_at;
	int64_t expires_at;
	int64_t linked_at; /* 0: not completed yet */
	/* The device's TOTP seed, in the URI, sealed here. */
	uint8_t seed[SEALED_SEED_MAX];
	uint8_t seed_len;
};

/* A device linked to an account. */
struct push_device {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t public_key[MP_KEY_LEN]; /* Ed25519 */
	char name[PUSH_NAME_MAX + 1];
	int64_t created_at;
	int64_t last_seen; /* its channel's last authentication; 0: never */
	char last_ip[EVENT_IP_MAX + 1];
	char last_location[PUSH_LOCATION_MAX + 1];
	/* Its TOTP credential for offline codes (SHA-1, 6 digits, 30 s). */
	uint8_t seed[SEALED_SEED_MAX];
	uint8_t seed_len;
	int64_t last_step; /* -1: none used yet */
};

/* The random bytes push_link_new takes: device id, seed, sealing nonce,
 * and the secret's random part. */
#define PUSH_LINK_RANDOM (AUTHD_ID_LEN + PUSH_SEED_LEN + SEAL_NONCE + PUSH_SECRET_RANDOM)

/*
 * A new offer for the account at now, from rnd: fills *link, the link
 * secret (secret, MP_SECRET_LEN bytes, for the URI; the caller hashes it
 * into the offer's token_ref and wipes it) and the plain seed (seed,
 * PUSH_SEED_LEN bytes, for the URI's otpauth secret; the caller wipes it).
 * `devices` is how many the account has: PUSH_E_TOO_MANY at the cap.
 * PUSH_E_INTERNAL when sealing fails.
 */
int push_link_new(struct push_link *link, uint8_t secret[MP_SECRET_LEN],
		  uint8_t seed[PUSH_SEED_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		  unsigned devices, const uint8_t rnd[PUSH_LINK_RANDOM], const struct core_keys *k,
		  int64_t now) PUSH_WUR;

/* Where the offer of a link secret is filed: the account the secret names
 * (its first AUTHD_ID_LEN bytes) and the secret's SHA-256. */
void push_link_ref(const uint8_t secret[MP_SECRET_LEN], struct token_ref *ref);

/*
 * Completes an offer with the device's key and name at now: fills *dev and
 * marks *link used (linked_at). PUSH_E_LINK_INVALID when the offer expired
 * or was used, PUSH_E_TOO_MANY at the device cap, PUSH_E_INVALID for a
 * name that is empty, too long or holds control characters. The caller has
 * checked the link signature (mp_signed_link, mp_verify).
 */
int push_link_complete(struct push_link *link, struct push_device *dev,
		       const uint8_t public_key[MP_KEY_LEN], const char *name, unsigned devices,
		       int64_t now) PUSH_WUR;

/* Whether an offer is still usable at now. */
bool push_link_usable(const struct push_link *link, int64_t now);

/* Whether a device name is acceptable: 1..PUSH_NAME_MAX bytes of UTF-8
 * (the caller checked the encoding), no control characters. */
bool push_name_ok(const char *name);

#endif
