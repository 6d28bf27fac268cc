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
enum recovery_kind { RECOVERY_EMAIL = 1, RECOVERY_PHONE = 2, RECOVERY_LOGIN = 3 };

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

#endif
