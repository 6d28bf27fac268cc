/*
 * The core: authd's records as every layer sees them, and the rules that
 * decide over them. Nothing here knows of sockets, LMDB or PostgreSQL, and
 * nothing reads a clock or draws randomness of its own: callers pass the
 * time and random bytes in, and get new records and decisions back. The
 * store (store.h) files these records; how (keys, columns) is its business.
 */
#ifndef AUTHD_CORE_H
#define AUTHD_CORE_H

#include <otp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <util.h>

/* --- records ------------------------------------------------------------------- */

#define EMAIL_MAX   254
#define NAME_MAX_B  400 /* bytes of UTF-8; at most 100 code points */
#define PW_HASH_MAX 192

/* Sealed secrets (AES-256-GCM): a version byte, the nonce, the text, the tag. */
#define SEAL_NONCE	12
#define SEAL_TAG	16
#define SEAL_OVERHEAD	(1 + SEAL_NONCE + SEAL_TAG)
#define SEALED_SEED_MAX (OTP_KEY_MAX + SEAL_OVERHEAD)

struct account {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	char email[EMAIL_MAX + 1];
	char name[NAME_MAX_B + 1];
	char pw_hash[PW_HASH_MAX]; /* argon2id PHC string of the peppered password */
	int64_t created_at;
	int64_t password_changed_at;
};

enum org_role { ROLE_LEGAL_REPRESENTATIVE = 1, ROLE_ADMINISTRATOR, ROLE_COLLABORATOR };

/* The role's name in the API and in stored records ("" when out of range). */
const char *core_role_name(enum org_role role);
/* The role a name stands for; 0 when none. */
enum org_role core_role_parse(const char *name);

struct org {
	uint8_t id[AUTHD_ID_LEN];
	char name[NAME_MAX_B + 1];
	int64_t created_at;
};

enum aal { AAL_PASSWORD = 1, AAL_SECOND_FACTOR = 2 };

struct session {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN]; /* current organization */
	uint8_t aal;
	int64_t created_at;
	int64_t last_seen;
	int64_t expires_at;	  /* absolute */
	int64_t second_factor_at; /* last second-factor proof, 0 if none */
};

/* When the session ends: idle_s after it was last seen, or its absolute
 * end, whichever is first. */
int64_t core_session_expires(const struct session *s, int64_t idle_s);

/* Where a session or pending login is filed: the account id its token
 * carries and the SHA-256 of the whole token. */
struct token_ref {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t hash[AUTHD_HASH_LEN];
};

struct login {
	uint8_t account_id[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t expires_at;
	uint8_t attempts; /* failed second-factor tries on this login */
};

struct totp_rec {
	bool enabled;
	uint8_t alg, digits, period;
	int64_t last_step; /* -1: none yet */
	int64_t enabled_at;
	uint8_t seed[SEALED_SEED_MAX]; /* sealed, never plaintext */
	uint8_t seed_len;
	/* An enrollment waiting for its first code. */
	uint8_t pending_id[AUTHD_ID_LEN];
	int64_t pending_expires_at; /* 0: none */
	uint8_t pending_seed[SEALED_SEED_MAX];
	uint8_t pending_seed_len;
};

struct backup_rec {
	int64_t created_at;
	uint8_t salt[OTP_BACKUP_COUNT][OTP_BACKUP_SALT_LEN];
	uint8_t hash[OTP_BACKUP_COUNT][OTP_BACKUP_HASH_LEN];
	int64_t used_at[OTP_BACKUP_COUNT]; /* 0: unused */
};

unsigned backup_remaining(const struct backup_rec *b);

/* --- throttling ------------------------------------------------------------------ */

/*
 * A subject's failures give an escalating delay after a few free ones, and
 * a hard cap of failures in any rolling hour.
 */
#define THROTTLE_RING	 100
#define THROTTLE_KEY_LEN (1 + AUTHD_ID_LEN)

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
	int64_t quiet_reset; /* seconds without failure that reset `consecutive`; 0: never */
};

extern const struct throttle_policy throttle_account_policy;
/* An account's second factors: as the account's, but quiet time never
 * forgets failures (only a success does), and past THROTTLE_FACTOR_LOCK
 * consecutive failures TOTP codes are refused until a backup code
 * succeeds. */
extern const struct throttle_policy throttle_factor_policy;
#define THROTTLE_FACTOR_LOCK 100
extern const struct throttle_policy throttle_ip_policy;
/* Sign-ups from one address: every attempt counts, whatever its outcome. */
extern const struct throttle_policy throttle_signup_policy;

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
/* Whether a second-factor record is locked (TOTP refused, backup codes
 * still evaluated). */
bool throttle_factor_locked(const struct throttle_rec *r);
/* A success forgets the consecutive count (N4-09), not the hourly history. */
void throttle_record_success(struct throttle_rec *r);
/* True when nothing happened in the hour before now: the record reads
 * exactly like no record at all (the sweeper deletes it). */
bool throttle_is_quiet(const struct throttle_rec *r, int64_t now);
/* The same for the subject key's record, keeping a second-factor record
 * whose failures quiet time never forgets (consecutive > 0): deleting it
 * would forget them. What the sweeper asks. */
bool throttle_subject_is_quiet(const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r,
			       int64_t now);

/*
 * Subject keys: an account's password step, an account's second factors
 * (kept apart so a right password never clears second-factor failures), or
 * an email that names no account.
 */
void throttle_key_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
void throttle_key_factor(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
/* Keyed with hkey (a server secret): a copy of the database does not tell
 * which emails were tried. */
void throttle_key_email(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32], const char *email);

/* --- the policy point ----------------------------------------------------------- */

/*
 * Every access is decided here: (principal, action, resource) -> allow, or
 * deny with a reason that maps to one API error. Handlers never decide
 * access themselves; a write that depends on the decision asks again
 * inside its transaction, against the session as stored then.
 */
enum policy_principal_kind {
	PRINCIPAL_ANONYMOUS, /* no credential presented */
	PRINCIPAL_SESSION,   /* a live session (struct session) */
};

struct principal {
	enum policy_principal_kind kind;
	const struct session *session; /* PRINCIPAL_SESSION */
};

/* What a request does. Each route names one (see the route table). */
enum policy_action {
	ACT_HEALTH,
	ACT_SIGN_UP,
	ACT_LOGIN,		 /* the password step */
	ACT_LOGIN_SECOND_FACTOR, /* a second-factor step of a pending login */
	ACT_ME_READ,
	ACT_LOGOUT,
	ACT_PASSWORD_CHANGE,
	ACT_TOTP_ENROLL,
	ACT_TOTP_CONFIRM,
	ACT_TOTP_DELETE,
	ACT_BACKUP_REGENERATE,
	ACT_TEST_HOOK, /* test builds only; the router refuses them elsewhere */
	ACT__COUNT
};

/* The resource an action touches, when it has an owner. */
struct policy_resource {
	const uint8_t *account_id; /* NULL: the principal's own account */
};

enum policy_decision {
	POLICY_ALLOW = 0,
	POLICY_DENY_UNAUTHENTICATED, /* a session is needed */
	POLICY_DENY_REAUTH,	     /* a recent proof (reauth window) is needed */
	POLICY_DENY_FORBIDDEN,	     /* authenticated, but not for this */
};

struct policy_params {
	int64_t reauth_window; /* seconds a proof stays recent */
};

/* The action's name ("totp_enroll"), for logs and tests. */
const char *policy_action_name(enum policy_action a);

/* Decides; pure (no clock but `now`). A NULL resource means the
 * principal's own. */
enum policy_decision policy_decide(const struct policy_params *pp, const struct principal *p,
				   enum policy_action a, const struct policy_resource *res,
				   int64_t now);

/*
 * The one rule for a recent proof: the session's last proof of possession
 * (the login that made it, with every factor the account had, or a later
 * second-factor step) is at most reauth_window old.
 */
bool policy_recent_proof(const struct policy_params *pp, const struct session *s, int64_t now);

/* True when the action needs a session (the shell reads it first). */
bool policy_needs_session(enum policy_action a);

#endif
