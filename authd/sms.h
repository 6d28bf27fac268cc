/*
 * What every text message authd sends shares: the daily quotas that keep
 * it from being used to pump messages to numbers that pay by the message
 * (per account, and per destination prefix across all accounts), and the
 * keyed hash of a sign-in code sent by SMS.
 */
#ifndef AUTHD_SMS_H
#define AUTHD_SMS_H

#include <core.h>
#include <recovery.h>
#include <store.h>

#include "config.h"

/* Takes [sms] account_daily_max and prefix_daily_max; once at start. */
void sms_setup(const struct authd_config *c);

/*
 * Takes one message of today's quotas of the account (NULL: nobody's; its
 * sign-in codes and its other messages count apart) and of the number's
 * prefix, in txn (a write job's), and sets *ok; when a quota is spent
 * nothing is taken, *ok is false and *retry_after the seconds until it
 * renews. Returns 0 or STORE_E_*.
 */
int sms_quota_take(struct store_txn *txn, const uint8_t *account_id, bool sign_in,
		   const char *phone, int64_t now, bool *ok, int64_t *retry_after);

/* Whether SMS is on as the account's second factor (its recovery record,
 * read in txn). Returns 0 or STORE_E_*. */
int sms_is_on(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool *on);

/* Whether a second factor other than SMS is on: TOTP, or a linked
 * device. Returns 0 or STORE_E_*. */
int sms_other_factor(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool *on);

/* SMS stopped being a second factor of the account (turned off, or its
 * number removed): records the event (with its notice) and, when no other
 * factor is on, deletes the backup codes, as TOTP's removal does. Returns
 * 0 or STORE_E_*. */
int sms_factor_ended(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		     const char *ip);

/* The keyed hash of a sign-in code (RECOVERY_SMS_DIGITS digits) sent for
 * the pending login whose token hash is login_hash. */
void sms_code_hash(const uint8_t login_hash[AUTHD_HASH_LEN], const char *code, size_t len,
		   uint8_t out[RECOVERY_HASH_LEN]);

/* n random digits and a NUL into out (n <= 19; the modulo's bias is
 * below 2^-30 for 8 digits). */
void sms_digits_new(char *out, unsigned n);

/* The digits of a code as typed (spaces and dashes dropped) into out (n +
 * 1 bytes): true when they are n digits and nothing else. */
bool sms_digits_of(const char *in, size_t len, char *out, unsigned n);

#endif
