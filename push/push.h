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
	PUSH_E_PAUSED = -5,	  /* push is paused for the account */
	PUSH_E_THROTTLED = -6,	  /* too many challenges pending, or in the hour */
	PUSH_E_EXPIRED = -7,	  /* the challenge expired */
	PUSH_E_ANSWERED = -8,	  /* the challenge is not pending any more */
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
	/* Where its app's wake-up relay reaches it (the `wake` message);
	 * empty: nowhere. */
	char wake_token[MP_WAKE_TOKEN_MAX + 1];
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

/* The device's TOTP credential as the second-factor step takes it (its
 * seed stays sealed; the aad names the account and the device). */
void push_device_totp(const struct push_device *d, struct core_device_totp *out);

/* Whether an offer is still usable at now. */
bool push_link_usable(const struct push_link *link, int64_t now);

/* Whether a device name is acceptable: 1..PUSH_NAME_MAX bytes of UTF-8
 * (the caller checked the encoding) that mp_text_ok() accepts. */
bool push_name_ok(const char *name);

/* --- push challenges ---------------------------------------------------------------- */

#define PUSH_TTL_DEFAULT     120 /* seconds a challenge waits for its answer */
#define PUSH_TTL_MAX	     600
#define PUSH_PENDING_MAX     3	  /* challenges waiting at once, per account */
#define PUSH_HOURLY_MAX	     10	  /* challenges in any rolling hour, per account */
#define PUSH_DENIALS_PAUSE   3	  /* denials in a row that pause push */
#define PUSH_KEEP_AFTER	     3600 /* seconds a challenge is kept after its end */
#define PUSH_PAUSE_S	     3600 /* how long push stays paused */
#define PUSH_APPLICATION_MAX 64
#define PUSH_BROWSER_MAX     64
#define PUSH_OS_MAX	     32

enum push_state {
	PUSH_PENDING = 1,
	PUSH_APPROVED,	   /* waiting for the login page to take its session */
	PUSH_DENIED,	   /* "deny" */
	PUSH_NOT_ME,	   /* "this was not me": push pauses */
	PUSH_WRONG_NUMBER, /* approve with another number: a failed second factor */
	PUSH_EXPIRED,
	PUSH_CANCELLED, /* the login ended otherwise (another factor, or it expired) */
	PUSH_USED,	/* approved, and the login page has its session */
};

/* The state's name in the API ("approved"), "" when out of range. */
const char *push_state_name(enum push_state s);

/* What a login attempt looked like, for the device to show. */
struct push_context {
	char ip[EVENT_IP_MAX + 1];
	char location[PUSH_LOCATION_MAX + 1];
	char browser[PUSH_BROWSER_MAX + 1];
	char os[PUSH_OS_MAX + 1];
	char application[PUSH_APPLICATION_MAX + 1];
};

/* One challenge: sent to every device of the account, answered once. */
struct push_challenge {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t login_hash[AUTHD_HASH_LEN]; /* the pending login it answers for */
	uint8_t nonce[MP_NONCE_LEN];
	uint8_t number; /* 10..99: the login page shows it, the person types it */
	uint8_t state;	/* enum push_state */
	int64_t created_at;
	int64_t expires_at;
	int64_t answered_at; /* 0: not answered */
	uint8_t answered_by[AUTHD_ID_LEN];
	struct push_context ctx;
};

/* An account's push history: the hourly cap, denials in a row, the pause. */
struct push_account {
	int64_t sent[PUSH_HOURLY_MAX]; /* times of the latest challenges, a ring */
	uint8_t n_sent, pos;
	uint8_t denials;   /* in a row, since the last approval */
	int64_t paused_at; /* 0: push works; else since when it is paused */
};

/* The random bytes push_challenge_new takes: id, nonce, and enough for an
 * unbiased two-digit number. */
#define PUSH_CHALLENGE_RANDOM (AUTHD_ID_LEN + MP_NONCE_LEN + 8)

/*
 * A new challenge for the pending login login_hash of the account, at now,
 * with ttl seconds (1..PUSH_TTL_MAX). `pending` is how many of the
 * account's challenges are still waiting (PUSH_PENDING at now), and
 * `first_end` when the first of them ends. Fills *c and records the
 * sending in *acct. Returns 0, PUSH_E_PAUSED (push is paused for the
 * account), or PUSH_E_THROTTLED with *retry_after (the pending or the
 * hourly cap), PUSH_E_INVALID for a ttl out of range.
 */
int push_challenge_new(struct push_challenge *c, struct push_account *acct, unsigned pending,
		       int64_t first_end, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t login_hash[AUTHD_HASH_LEN], const struct push_context *ctx,
		       const uint8_t rnd[PUSH_CHALLENGE_RANDOM], int64_t ttl, int64_t now,
		       int64_t *retry_after) PUSH_WUR;

/* The challenge's state at now: a pending one past its end reads (and is
 * set) PUSH_EXPIRED. */
enum push_state push_challenge_state(struct push_challenge *c, int64_t now);

/*
 * A device's answer at now, its signature already checked against the
 * device's key (mp_signed_answer over c->id, c->nonce, the device id, the
 * decision and the number). Updates *c and *acct:
 *   approve with the number shown -> PUSH_APPROVED, denials forgotten;
 *   approve with another number   -> PUSH_WRONG_NUMBER (the shell counts a
 *                                    failed second factor);
 *   deny                          -> PUSH_DENIED; the PUSH_DENIALS_PAUSE-th
 *                                    in a row pauses push;
 *   not me                        -> PUSH_NOT_ME; push pauses.
 * Returns 0 (recorded), PUSH_E_EXPIRED, PUSH_E_ANSWERED (not pending any
 * more: answered, cancelled or used), or PUSH_E_PAUSED for an approval
 * while push is paused (the challenge becomes PUSH_CANCELLED: after "not
 * me", no other waiting challenge of the account may log anyone in).
 * *paused_now tells whether this answer paused push (a security event;
 * the shell then cancels the account's other waiting challenges).
 */
int push_answer(struct push_challenge *c, struct push_account *acct,
		const uint8_t device_id[AUTHD_ID_LEN], enum mp_decision decision, unsigned number,
		int64_t now, bool *paused_now) PUSH_WUR;

/*
 * The login page takes an approval: when c answers for login_hash and is
 * PUSH_APPROVED (and its login is still pending, which the shell checks),
 * c becomes PUSH_USED and the shell issues the session. Returns 0,
 * PUSH_E_INVALID for another login's challenge, or PUSH_E_ANSWERED when it
 * is not approved (its state says what it is).
 */
int push_claim(struct push_challenge *c, const uint8_t login_hash[AUTHD_HASH_LEN],
	       int64_t now) PUSH_WUR;

/* The login ended otherwise: a pending challenge becomes PUSH_CANCELLED
 * (true when it was pending: its devices are told to hide it). */
bool push_cancel(struct push_challenge *c, int64_t now);

/* Another second factor (TOTP, backup code) succeeded for the account: the
 * owner is back, push resumes and denials are forgotten. */
void push_account_resume(struct push_account *acct);

/* Whether push is paused for the account at now: from "not me" or the
 * denials that paused it, for PUSH_PAUSE_S seconds (then it resumes by
 * itself, denials forgotten: a pause that an attacker with the password
 * could make last forever would be a switch to turn push off). */
bool push_paused(const struct push_account *acct, int64_t now);

#endif
