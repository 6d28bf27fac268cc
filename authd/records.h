/*
 * Record codecs: the stored form of every record kind, each starting with a
 * format version byte. Organizations and memberships (rarely read, often
 * extended) are JSON after the version byte; accounts (read on every session
 * check), sessions, logins, TOTP, backup codes and throttles are packed
 * little-endian, strings with a 16-bit length. *_get() reads through a transaction
 * and decodes into the caller's struct; *_put() encodes and writes.
 * All return 0 or a STORE_E_* code.
 */
#ifndef AUTHD_RECORDS_H
#define AUTHD_RECORDS_H

#include "keys.h"
#include "util.h"

#include <lmdb.h>
#include <otp.h>
#include <stdbool.h>
#include <stdint.h>

#define EMAIL_MAX   254
#define NAME_MAX_B  400 /* bytes of UTF-8; at most 100 code points */
#define PW_HASH_MAX 192

struct account {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	char email[EMAIL_MAX + 1];
	char name[NAME_MAX_B + 1];
	char pw_hash[PW_HASH_MAX]; /* argon2id PHC string of the peppered password */
	int64_t created_at;
	int64_t password_changed_at;
};

int account_get(MDB_txn *txn, const uint8_t id[AUTHD_ID_LEN], struct account *a);
int account_put(MDB_txn *txn, const struct account *a);
/* The account id registered for a normalized email. */
int account_id_by_email(MDB_txn *txn, const char *email, uint8_t id[AUTHD_ID_LEN]);

enum org_role { ROLE_LEGAL_REPRESENTATIVE = 1, ROLE_ADMINISTRATOR, ROLE_COLLABORATOR };

struct org {
	uint8_t id[AUTHD_ID_LEN];
	char name[NAME_MAX_B + 1];
	int64_t created_at;
};

int org_put(MDB_txn *txn, const struct org *o);
int member_put(MDB_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
	       const uint8_t account_id[AUTHD_ID_LEN], enum org_role role);

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

/* Sessions and pending logins live in the account's cluster (store.h),
 * found through their token: the account id it carries and the SHA-256 of
 * the whole token. */
struct token_ref {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t hash[AUTHD_HASH_LEN];
};

int session_get(MDB_txn *txn, const struct token_ref *ref, struct session *s);
int session_put(MDB_txn *txn, const struct token_ref *ref, const struct session *s);
/* Deleting what is not there is not an error. */
int session_del(MDB_txn *txn, const struct token_ref *ref);
/* Deletes every session of the account except `keep` (NULL: all). */
int session_del_all(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct token_ref *keep);

struct login {
	uint8_t account_id[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t expires_at;
	uint8_t attempts; /* failed second-factor tries on this login */
};

int login_get(MDB_txn *txn, const struct token_ref *ref, struct login *l);
int login_put(MDB_txn *txn, const struct token_ref *ref, const struct login *l);
int login_del(MDB_txn *txn, const struct token_ref *ref);
/* Deletes every pending login of the account. */
int login_del_all(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN]);

#define SEALED_SEED_MAX (OTP_KEY_MAX + SEAL_OVERHEAD)

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

int totp_get(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], struct totp_rec *t);
int totp_put(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], const struct totp_rec *t);
int totp_del(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN]);

struct backup_rec {
	int64_t created_at;
	uint8_t salt[OTP_BACKUP_COUNT][OTP_BACKUP_SALT_LEN];
	uint8_t hash[OTP_BACKUP_COUNT][OTP_BACKUP_HASH_LEN];
	int64_t used_at[OTP_BACKUP_COUNT]; /* 0: unused */
};

int backup_get(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], struct backup_rec *b);
int backup_put(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], const struct backup_rec *b);
int backup_del(MDB_txn *txn, const uint8_t account_id[AUTHD_ID_LEN]);
unsigned backup_remaining(const struct backup_rec *b);

/* The kinds of record in an account's cluster, by the key's byte after the
 * account id. */
enum cluster_kind {
	KIND_LOGIN = 'L',
	KIND_SESSION = 'S',
	KIND_TOTP = 'T',
};

/* A session or login is keyed by the first 16 bytes of its token's hash:
 * finding a token for a stored key still takes 2^128 work, and shorter keys
 * put more of the tree on each page (fewer pages for a commit to write). */
#define CLUSTER_HASH_LEN 16
/* The longest cluster key: account id, kind, token hash prefix. */
#define CLUSTER_KEY_MAX (AUTHD_ID_LEN + 1 + CLUSTER_HASH_LEN)

/* The kind of the cluster key k (0 if it is none), and for sessions and
 * logins their reference into *ref (the hash prefix the key holds, zeros
 * after it: enough for session_*() and login_*()). For the sweeper. */
int cluster_key_kind(const MDB_val *k, struct token_ref *ref);

#endif
