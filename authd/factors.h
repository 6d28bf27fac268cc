/*
 * The shell around the core's second-factor rules: reading and writing an
 * account's failure history in a transaction, the server's keys and
 * figures as the core takes them, fresh backup codes, and their JSON.
 */
#ifndef AUTHD_FACTORS_H
#define AUTHD_FACTORS_H

#include "errors.h"

#include <core.h>
#include <jansson.h>
#include <store.h>

/* Fills what factor_keys() and factor_params() return, from srv; once at
 * start, after the configuration and the keys, before any thread. */
void factor_setup(void);
/* The server's keys and configured figures, as the rules take them. */
const struct core_keys *factor_keys(void);
const struct core_params *factor_params(void);

/* Reads / writes (what is dirty of) an account's second-factor history;
 * reaching the lock is recorded as a security event (at now, from ip).
 * Return 0 or STORE_E_*. */
int factor_hist_read(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		     struct core_factor_hist *h);
int factor_hist_write(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct core_factor_hist *h, int64_t now, const char *ip);

/*
 * The read of a current-password check (a password change, a recovery
 * option, a login email): the signed-in account into *a and its
 * second-factor history (subject and *th), which wrong current passwords
 * count in. An account gone meanwhile sets *err to E_UNAUTHENTICATED.
 * Returns 0 or STORE_E_*.
 */
int factor_password_read(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			 struct account *a, uint8_t subject[THROTTLE_KEY_LEN],
			 struct throttle_rec *th, enum api_error *err);

/*
 * Loop: the delay an account's second-factor failures put on a check of its
 * current password (wrong ones count there) before a hash is spent.
 * Replies 429 (or 503) and returns false; or counts one more attempt in
 * flight of subject and returns true (the caller takes it back with
 * throttle_inflight_subject(subject, -1) once the outcome is written).
 */
struct req;
bool factor_delay_or_reply(struct req *r, const uint8_t subject[THROTTLE_KEY_LEN],
			   const struct throttle_rec *stored, uint64_t read_seq, int64_t now);

/* Forgets the account's second-factor failures (and the lock they made),
 * as a success does. Returns 0 or STORE_E_*. */
int factor_failures_clear(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			  int64_t now, const char *ip);

/* Every linked device of the account, revoked in txn: their ids into ids
 * (*n of them), each deleted when del (else the caller's store operation
 * deletes them) and announced to every node (CLUSTER_REVOKED). Once the
 * write is durable, the caller closes their channels here
 * (ws_device_revoked). Returns 0 or STORE_E_*. */
int factor_devices_revoke(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool del,
			  uint8_t ids[CORE_DEVICES_MAX][AUTHD_ID_LEN], unsigned *n);

/* Records a security event of the account (in the write's transaction)
 * and queues its notice (notify.h). */
int factor_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		 enum security_event_kind kind, int64_t now, const char *ip);

/* The devices a second-factor step reads when the code may be one of
 * theirs (an authenticator device shows offline codes of its own). */
struct factor_devices {
	struct push_device dev[CORE_DEVICES_MAX];
	struct core_device_totp totp[CORE_DEVICES_MAX];
	unsigned n;
};

/*
 * A second-factor step (TOTP, backup code or SMS) of account id around a
 * pending step s->login the caller read (s->login_found): reads the failure
 * history, the TOTP credential, the backup codes (for a backup code), when
 * the code may be a device's the devices (*devs allocated then; the caller
 * wipes and frees it), and when TOTP and the devices do not keep 2FA on or
 * for an SMS code the recovery record, and runs core_second_factor_step.
 * pre is the TOTP check made before the write, if any (made here
 * otherwise). An SMS code is the one sent for login_ref (NULL: there is
 * none); when it passes it is used up here, in txn. Returns 0 (the verdict
 * is in s) or STORE_E_*.
 */
int factor_step(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], enum core_method m,
		const char *code, size_t len, struct core_totp_precheck *pre,
		struct factor_devices **devs, const struct token_ref *login_ref,
		struct core_second_factor *s, int64_t now);
/* Writes what the step decided but the pending step itself: a device's
 * used step, the TOTP credential, the backup codes, the history. */
int factor_step_write(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct factor_devices *devs, const struct core_second_factor *s,
		      int64_t now, const char *ip);

/* Records a sign-in step of the account (EVENT_LOGIN: how, how it went,
 * from where, in what) in the write's transaction. */
int factor_login_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		       enum event_method m, enum event_outcome o, int64_t now, const char *ip,
		       const char *browser);

/* A fresh set of backup codes from the CSPRNG: b (hashes) and codes
 * (display). Returns 0 or -1. */
int factor_backup_fresh(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
			int64_t now);

/* The codes as a JSON array (new reference); wipes codes. */
json_t *factor_backup_json(char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1]);

#endif
