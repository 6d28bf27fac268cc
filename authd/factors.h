/*
 * Second-factor checks shared by the login steps and the 2FA settings. They
 * run inside a write job's transaction (writer thread), so a check and the
 * state it consumes (TOTP last step, a backup code, the failure count)
 * change together or not at all, and concurrent tries are serialized.
 */
#ifndef AUTHD_FACTORS_H
#define AUTHD_FACTORS_H

#include "errors.h"
#include "records.h"
#include "throttle.h"

#include <jansson.h>
#include <lmdb.h>

/* -1 in *api_err means success; otherwise the error to reply. */

/*
 * Seconds the account must wait before another attempt (0: none), reading
 * the stored history. Returns 0 or STORE_E_*.
 */
int factor_retry_after(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		       int64_t *retry_after);
/* Records a failed or successful attempt for the account. */
int factor_record(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now, bool ok);

/*
 * Checks a TOTP code against the enabled (pending=false) or pending seed of
 * t. On success t->last_step moves to the accepted step (caller writes t).
 * Returns 0 for a decision in *api_err, or STORE_E_CORRUPT if the seed does
 * not open.
 */
int factor_totp_check(struct totp_rec *t, const uint8_t account_id[AUTHD_ID_LEN], bool pending,
		      const char *code, size_t len, int64_t now, int *api_err);

/* Marks the backup code used when it matches an unused one; *api_err -1 on
 * success, E_CODE_REUSED for a code already used, E_INVALID_CODE otherwise
 * (also for malformed codes). */
void factor_backup_consume(struct backup_rec *b, const char *code, size_t len, int64_t now,
			   int *api_err);

/* A fresh set: fills b (hashes) and codes (display text). */
void factor_backup_new(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
		       int64_t now);

/* The codes as a JSON array (new reference); wipes codes. */
json_t *factor_backup_json(char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1]);

#endif
