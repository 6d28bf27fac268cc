/*
 * Second-factor checks shared by the login steps and the 2FA settings. They
 * run inside a write job's transaction (writer thread), so a check and the
 * state it consumes (TOTP last step, a backup code, the failure count)
 * change together or not at all, and concurrent tries are serialized.
 */
#ifndef AUTHD_FACTORS_H
#define AUTHD_FACTORS_H

#include "errors.h"
#include <store.h>
#include "throttle.h"

#include <jansson.h>

/* E_OK in *api_err means success; otherwise the error to reply. */

/*
 * Seconds the account must wait before another second-factor attempt (0:
 * none), and whether its TOTP is locked (too many failures: only a backup
 * code is evaluated then; locked may be NULL), from the stored history.
 * Returns 0 or STORE_E_*.
 */
int factor_retry_after(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		       int64_t *retry_after, bool *locked);
/* Records a failed or successful attempt for the account. */
int factor_record(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		  bool ok);

/*
 * Checks a TOTP code against the enabled (pending=false) or pending seed of
 * t. On success t->last_step moves to the accepted step (caller writes t).
 * Returns 0 for a decision in *api_err, or STORE_E_CORRUPT if the seed does
 * not open.
 */
int factor_totp_check(struct totp_rec *t, const uint8_t account_id[AUTHD_ID_LEN], bool pending,
		      const char *code, size_t len, int64_t now, enum api_error *api_err);

/*
 * The costly half of a TOTP login check (open the seed, compute the codes),
 * done on the loop before the write job so that the writer, which
 * every write waits on, only compares steps. A pre-check remembers which
 * sealed seed it opened; factor_totp_apply() uses it only if the record
 * still holds that seed.
 */
struct totp_precheck {
	bool done;
	uint8_t sealed[SEALED_SEED_MAX];
	uint8_t sealed_len;
	uint8_t alg, digits, period;
	int verdict;   /* otp_totp_verify() with no step used yet */
	uint64_t step; /* the highest matching step, when verdict is 0 */
};

/* Fills pre from the enabled seed of t (a copy read earlier) and the code.
 * Leaves pre->done false if the seed does not open. Any thread. */
void factor_totp_precheck(struct totp_precheck *pre, const struct totp_rec *t,
			  const uint8_t account_id[AUTHD_ID_LEN], const char *code, size_t len,
			  int64_t now);

/*
 * Decides a login's TOTP code from pre against the current record t, exactly
 * as factor_totp_check() would: the highest matching step is accepted if it
 * is after t->last_step (t->last_step moves to it), else the code is a
 * replay. Returns false, deciding nothing, when pre is not done or t no
 * longer holds the seed pre opened: the caller then runs
 * factor_totp_check().
 */
bool factor_totp_apply(struct totp_rec *t, const struct totp_precheck *pre,
		       enum api_error *api_err);

/* Marks the backup code used when it matches an unused one; *api_err E_OK on
 * success, E_CODE_REUSED for a code already used, E_INVALID_CODE otherwise
 * (also for malformed codes). */
void factor_backup_consume(struct backup_rec *b, const char *code, size_t len, int64_t now,
			   enum api_error *api_err);

/* A fresh set: fills b (hashes) and codes (display text). */
void factor_backup_new(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
		       int64_t now);

/* The codes as a JSON array (new reference); wipes codes. */
json_t *factor_backup_json(char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1]);

#endif
