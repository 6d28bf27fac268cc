/*
 * Account recovery, as a functional core: an account's recovery options (a
 * recovery email and a mobile number, each counting only once a code sent
 * to it came back) and a forgotten password's reset (a code by SMS, a link
 * by email, then a grant to set a new password). Records in, decisions and
 * records out; the shell (authd/http_recovery.c) draws the secrets, hashes
 * them under its key, sends the messages and stores what is decided. No
 * clock, no randomness, no I/O here.
 *
 * Secrets (codes, links, grants) reach this module only as
 * RECOVERY_HASH_LEN-byte keyed hashes and are compared in constant time.
 * Wrong codes count against the account and no resend clears them: only a
 * success, or RECOVERY_FAIL_QUIET_S without a failure, does. A reset's SMS
 * codes and an option's verification codes count apart (whoever knows a
 * login can make reset codes fail; only the signed-in owner can make an
 * option's fail), and a link (256 bits) is never locked by either: a
 * stranger's wrong codes cannot take email recovery away from the owner.
 */
#ifndef AUTHD_RECOVERY_H
#define AUTHD_RECOVERY_H

#include <core.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECOVERY_HASH_LEN     32
#define RECOVERY_PHONE_MAX    16    /* "+" and up to 15 digits (E.164) */
#define RECOVERY_CODE_DIGITS  8	    /* a code sent by SMS or email */
#define RECOVERY_CODE_TTL     600   /* 10 minutes (NIST 800-63B) */
#define RECOVERY_LINK_TTL     86400 /* 24 hours */
#define RECOVERY_GRANT_TTL    900   /* a verified reset, to be completed */
#define RECOVERY_FAILS_MAX    5	    /* wrong codes before checks stop */
#define RECOVERY_FAIL_QUIET_S 86400 /* ...until a day without one */
#define RECOVERY_SENDS_MAX    5	    /* messages sent in any hour */
#define RECOVERY_SEND_WINDOW  3600
#define RECOVERY_SMS_DIGITS   6 /* a sign-in code by SMS (a second factor) */
#define RECOVERY_SMS_SENDS    3 /* sign-in codes sent for one pending login */

/* What a pending change is of: a recovery option, or the login email
 * itself (its link lasts RECOVERY_LINK_TTL; the others' codes
 * RECOVERY_CODE_TTL). */
enum recovery_kind {
	RECOVERY_EMAIL = 1,
	RECOVERY_PHONE = 2,
	RECOVERY_LOGIN = 3,
	RECOVERY_CLOSE = 4, /* closing the account: never pending, a link of its own */
};

enum recovery_verdict {
	RECOVERY_OK = 0,
	RECOVERY_E_INVALID = -1,   /* a wrong code, link or grant */
	RECOVERY_E_EXPIRED = -2,   /* none pending, or past its time */
	RECOVERY_E_THROTTLED = -3, /* too many sends in the hour */
	RECOVERY_E_LOCKED = -4,	   /* too many failures: checks stop for a while */
};

struct recovery_rec {
	/* The options: an address counts once verified. */
	char email[EMAIL_MAX + 1];
	char phone[RECOVERY_PHONE_MAX + 1];
	bool email_verified, phone_verified;
	/* A new option waiting for its code. */
	uint8_t pending; /* 0, or enum recovery_kind */
	char pending_to[EMAIL_MAX + 1];
	uint8_t pending_hash[RECOVERY_HASH_LEN];
	int64_t pending_expires;
	/* A password reset under way: the SMS code's and the email link's
	 * hashes, then the grant one of them gave. */
	uint8_t reset_code[RECOVERY_HASH_LEN];
	int64_t reset_code_expires; /* 0: none */
	uint8_t reset_link[RECOVERY_HASH_LEN];
	int64_t reset_link_expires;
	uint8_t grant[RECOVERY_HASH_LEN];
	int64_t grant_expires;
	uint8_t grant_fails; /* wrong second-factor codes at the reset */
	/* Wrong reset codes since the last success, wrong codes of a new
	 * option, and the latest sends. */
	uint8_t fails;
	int64_t last_fail;
	uint8_t option_fails;
	int64_t option_last_fail;
	uint8_t n_sends, sends_pos;
	int64_t sends[RECOVERY_SENDS_MAX];
	/* The verified mobile number as a second factor: on since (0: off).
	 * The code sent last for a pending login (filed under that login's
	 * token hash: it proves nothing for another), and how many were sent
	 * for that login. */
	int64_t sms_factor_at;
	uint8_t sms_login[AUTHD_HASH_LEN];
	uint8_t sms_code[RECOVERY_HASH_LEN];
	int64_t sms_code_expires; /* 0: none */
	uint8_t sms_sends;
	/* The reset under way was approved by a reviewer after an identity
	 * verification (a case): it asks no second factor. */
	bool reset_proofed;
	/* Closing the account, waiting for its emailed link. */
	uint8_t close_hash[RECOVERY_HASH_LEN];
	int64_t close_expires; /* 0: none */
};

/* "+41 79 123 45 67", "+41-79-123.45.67" -> "+41791234567": a "+", then 8
 * to 15 digits, spaces, dashes, dots and parentheses dropped. 0 or -1. */
int recovery_phone_normalize(const char *in, char out[RECOVERY_PHONE_MAX + 1]);
/* "+41 •• ••• •• 67"-like: the country part and the last two digits, for
 * showing a number to someone who may not be its owner. */
void recovery_phone_mask(const char *phone, char *out, size_t size);
/* "a•••@example.com" */
void recovery_email_mask(const char *email, char *out, size_t size);

/* Whether another message may be sent now (RECOVERY_SENDS_MAX an hour),
 * and recording one. */
bool recovery_send_allowed(const struct recovery_rec *r, int64_t now);
void recovery_send_noted(struct recovery_rec *r, int64_t now);

/* Starts verifying a new option of kind at `to` with the code whose hash
 * is given (sent by the shell if this says RECOVERY_OK). The option in
 * place stays until the new one is verified. */
enum recovery_verdict recovery_option_begin(struct recovery_rec *r, enum recovery_kind kind,
					    const char *to, const uint8_t hash[RECOVERY_HASH_LEN],
					    int64_t now) __attribute__((warn_unused_result));
/* Checks the code (its hash) of the pending option; on success the option
 * is in place and verified. *kind says which it was. */
enum recovery_verdict recovery_option_confirm(struct recovery_rec *r,
					      const uint8_t hash[RECOVERY_HASH_LEN], int64_t now,
					      enum recovery_kind *kind)
    __attribute__((warn_unused_result));
/* Checks the link (its hash) of a pending login email change; on success
 * the new address is copied to `to` (EMAIL_MAX + 1 bytes) and the change
 * is no longer pending. A wrong link counts nothing (256 bits). */
enum recovery_verdict recovery_login_confirm(struct recovery_rec *r,
					     const uint8_t hash[RECOVERY_HASH_LEN], int64_t now,
					     char to[EMAIL_MAX + 1])
    __attribute__((warn_unused_result));
/* Removes an option (and a pending change of that kind). */
void recovery_option_remove(struct recovery_rec *r, enum recovery_kind kind);

/* Starts a password reset: the hashes of the SMS code and of the email
 * link, either NULL when that option is not there. Earlier ones die. */
enum recovery_verdict recovery_reset_begin(struct recovery_rec *r, const uint8_t *code_hash,
					   const uint8_t *link_hash, int64_t now)
    __attribute__((warn_unused_result));
/* Checks a reset's code (kind RECOVERY_PHONE: failures, a code tried when
 * none waits included, count and lock) or
 * link (RECOVERY_EMAIL: 256 bits, never locked); on success both die and
 * grant_hash is the grant, for RECOVERY_GRANT_TTL. */
enum recovery_verdict recovery_reset_verify(struct recovery_rec *r, enum recovery_kind kind,
					    const uint8_t hash[RECOVERY_HASH_LEN],
					    const uint8_t grant_hash[RECOVERY_HASH_LEN],
					    int64_t now) __attribute__((warn_unused_result));
/* Whether the grant is the one in r and still good (nothing changes). */
enum recovery_verdict recovery_grant_check(const struct recovery_rec *r,
					   const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
    __attribute__((warn_unused_result));
/* Uses the grant up (after the new password is set). */
void recovery_grant_used(struct recovery_rec *r);
/* The reset just begun is a reviewer's approval of an identity
 * verification: the person proved who they are, so the reset it leads to
 * asks no second factor (the one they lost, often). A reset begun any
 * other way is not. */
void recovery_reset_proofed(struct recovery_rec *r);
/* Counts a wrong second-factor code at the reset; the grant dies at the
 * RECOVERY_FAILS_MAX-th. Returns whether it is still good. */
bool recovery_grant_failed(struct recovery_rec *r);

/*
 * SMS as a second factor. It can be on only with a verified number, and it
 * follows the number: removing the number turns it off, a new verified
 * number carries it on.
 */
enum recovery_verdict recovery_sms_factor_on(struct recovery_rec *r, int64_t now)
    __attribute__((warn_unused_result));
void recovery_sms_factor_off(struct recovery_rec *r);
bool recovery_sms_factor_is_on(const struct recovery_rec *r);
/*
 * A sign-in code for the pending login whose token hash is login_hash,
 * until expires: RECOVERY_E_EXPIRED when the factor is off,
 * RECOVERY_E_THROTTLED past RECOVERY_SMS_SENDS for that login. A code sent
 * earlier, for this login or another, dies.
 */
enum recovery_verdict recovery_sms_login_begin(struct recovery_rec *r,
					       const uint8_t login_hash[AUTHD_HASH_LEN],
					       const uint8_t code_hash[RECOVERY_HASH_LEN],
					       int64_t expires) __attribute__((warn_unused_result));
/* How many more codes that login may ask for. */
unsigned recovery_sms_sends_left(const struct recovery_rec *r,
				 const uint8_t login_hash[AUTHD_HASH_LEN]);
/*
 * Compares a sign-in code (its hash) with the one sent for that login;
 * changes nothing (the second-factor rules count failures and decide):
 * RECOVERY_OK, RECOVERY_E_INVALID, or RECOVERY_E_EXPIRED when no code of
 * that login waits or the factor is off.
 */
enum recovery_verdict recovery_sms_login_check(const struct recovery_rec *r,
					       const uint8_t login_hash[AUTHD_HASH_LEN],
					       const uint8_t code_hash[RECOVERY_HASH_LEN],
					       int64_t now) __attribute__((warn_unused_result));
/* The code was used: it never works again. */
void recovery_sms_login_used(struct recovery_rec *r);

/* Whether the record holds nothing worth storing. */
bool recovery_is_empty(const struct recovery_rec *r);

/* Closing the account: a link (its hash) waits RECOVERY_LINK_TTL, one at
 * a time (counted among the hour's sends: RECOVERY_E_THROTTLED); the
 * confirmation checks it (256 bits: nothing counted) and uses it up. */
enum recovery_verdict recovery_close_begin(struct recovery_rec *r,
					   const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
    __attribute__((warn_unused_result));
enum recovery_verdict recovery_close_confirm(struct recovery_rec *r,
					     const uint8_t hash[RECOVERY_HASH_LEN], int64_t now)
    __attribute__((warn_unused_result));

/* --- identity-verification cases ------------------------------------------------- */

/*
 * When no recovery option can help, a person opens a case, uploads
 * documents (opaque bytes, sealed by the shell), and a reviewer of the
 * operator approves or rejects it; approval is what performs the action
 * asked for. A document lives CASE_DOC_KEEP_S after its upload while the
 * case is open, and not a moment after the case is decided.
 */
#define CASE_DOCS_MAX	 5
#define CASE_DOC_KEEP_S	 (72 * 3600)
#define CASE_KEEP_S	 (90 * 86400) /* a decided case's record (no documents) */
#define CASE_OPEN_KEEP_S (30 * 86400) /* a case nobody decided: then it goes */
#define CASE_DETAILS_MAX 1000	      /* bytes of what the person says */
#define CASE_NOTE_MAX	 500	      /* bytes of the reviewer's note */
#define CASE_TYPE_MAX	 64	      /* a document's media type */

enum case_reason {
	CASE_PASSWORD = 1,    /* a forgotten password, no recovery option */
	CASE_LOGIN = 2,	      /* a forgotten login identifier */
	CASE_DISABLE_2FA = 3, /* the second factor lost (the password known) */
	CASE_UNLOCK = 4,      /* a locked account */
};

enum case_state { CASE_OPEN = 1, CASE_APPROVED = 2, CASE_REJECTED = 3 };

struct case_doc {
	int64_t uploaded_at; /* 0: no document in this slot */
	uint32_t size;
	char type[CASE_TYPE_MAX + 1];
};

struct case_rec {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN]; /* zeros: the login named no account */
	uint8_t reason, state;
	int64_t opened_at, decided_at;
	uint8_t token_hash[AUTHD_HASH_LEN]; /* the person's case token (SHA-256) */
	char login[EMAIL_MAX + 1];	    /* as the person gave it ("" for CASE_LOGIN) */
	char contact[EMAIL_MAX + 1];	    /* where the outcome goes */
	char details[CASE_DETAILS_MAX + 1];
	uint8_t reviewer[AUTHD_ID_LEN]; /* who decided */
	char note[CASE_NOTE_MAX + 1];
	uint8_t n_docs;
	struct case_doc docs[CASE_DOCS_MAX];
};

/* The reason's name in the API ("password_reset", "login_forgotten",
 * "disable_2fa", "unlock"), and back (0: none). */
const char *recovery_case_reason_name(enum case_reason r);
enum case_reason recovery_case_reason_parse(const char *name);
const char *recovery_case_state_name(enum case_state s);

/* When the sweeper deletes the case (with what is left of it): 30 days
 * after it was opened while open, 90 days after its decision. */
int64_t recovery_case_drop_at(const struct case_rec *c);

/* A new open case. */
void recovery_case_open(struct case_rec *c, const uint8_t id[AUTHD_ID_LEN],
			const uint8_t *account_id, enum case_reason reason,
			const uint8_t token_hash[AUTHD_HASH_LEN], const char *login,
			const char *contact, const char *details, int64_t now);
/* A document's slot for an upload: its index, or RECOVERY_E_EXPIRED when
 * the case is decided, RECOVERY_E_THROTTLED when it has CASE_DOCS_MAX. */
int recovery_case_doc_add(struct case_rec *c, uint32_t size, const char *type, int64_t now)
    __attribute__((warn_unused_result));
/* Whether document n is still kept at now (uploaded, case open, within
 * CASE_DOC_KEEP_S). */
bool recovery_case_doc_live(const struct case_rec *c, unsigned n, int64_t now);
/* Decides an open case: RECOVERY_E_EXPIRED when it is decided already. */
enum recovery_verdict recovery_case_decide(struct case_rec *c, bool approve,
					   const uint8_t reviewer[AUTHD_ID_LEN], const char *note,
					   int64_t now) __attribute__((warn_unused_result));

#endif
