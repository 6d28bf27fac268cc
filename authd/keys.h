/*
 * The server's secret keys. One 32-byte master key lives in the key file
 * (created 0600 on first start, outside LMDB); purpose keys are derived from
 * it with HKDF-SHA-256, so a copy of the database alone verifies nothing.
 */
#ifndef AUTHD_KEYS_H
#define AUTHD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <core.h> /* SEAL_* */

#define KEYS_LEN    32
#define KEYS_ID_LEN 8

struct authd_keys {
	uint8_t totp[KEYS_LEN];	     /* AES-256-GCM for TOTP seeds at rest */
	uint8_t backup[KEYS_LEN];    /* HMAC key for backup-code hashes */
	uint8_t pepper[KEYS_LEN];    /* HMAC pre-hash of passwords before argon2id */
	uint8_t csrf[KEYS_LEN];	     /* HMAC key deriving CSRF tokens from sessions */
	uint8_t subjects[KEYS_LEN];  /* HMAC key of throttle subjects (unknown emails) */
	uint8_t device[KEYS_LEN];    /* HMAC key of device cookies */
	uint8_t outbox[KEYS_LEN];    /* AES-256-GCM for queued messages at rest */
	uint8_t recovery[KEYS_LEN];  /* HMAC key of recovery codes, links and grants */
	uint8_t documents[KEYS_LEN]; /* AES-256-GCM for identity documents at rest */
	uint8_t payments[KEYS_LEN];  /* HMAC key deriving payment ids from Idempotency-Keys */
	uint8_t archive[KEYS_LEN];   /* HMAC key of backups' data files (backup.h) */
	/* A public name of the key (not secret: derived one way), which a
	 * backup records so that a restore can tell the key file matches. */
	uint8_t id[KEYS_ID_LEN];
};

/* How keys_load treats the file. */
enum keys_load_flags {
	KEYS_F_CREATE = 1 << 0,	    /* create it (0600, 32 random bytes) when missing */
	KEYS_F_CREDENTIAL = 1 << 1, /* systemd's credential copy: root's, read through
				       an ACL, so owner and mode are systemd's to set */
};

/*
 * Loads the key file at path (enum keys_load_flags say how) and derives
 * the purpose keys. A file that is not a credential must be owned by this
 * user and closed to group and others. Returns 0 or -1 (logged).
 */
int keys_load(struct authd_keys *k, const char *path, unsigned flags);
/* Wipes all keys. */
void keys_release(struct authd_keys *k);

/*
 * Encrypts plain with AES-256-GCM under key, binding aad. out holds
 * len + SEAL_OVERHEAD bytes. Returns 0 or -1.
 */
int keys_seal(const uint8_t key[KEYS_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *plain,
	      size_t len, uint8_t *out);
/*
 * Decrypts what keys_seal() wrote (sealed_len bytes) into out, which holds
 * sealed_len - SEAL_OVERHEAD bytes; the caller wipes out after use.
 * Returns the plaintext length, or -1 if it was altered or the key is wrong.
 */
long keys_open(const uint8_t key[KEYS_LEN], const uint8_t *aad, size_t aad_len,
	       const uint8_t *sealed, size_t sealed_len, uint8_t *out);

#endif
