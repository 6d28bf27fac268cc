/*
 * The server's secret keys. The key file (created 0600 on first start,
 * outside the store) holds a 32-byte root and the seal generations; purpose
 * keys are derived from them with HKDF-SHA-256, so a copy of the database
 * alone opens and verifies nothing.
 */
#ifndef AUTHD_KEYS_H
#define AUTHD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <core.h> /* SEAL_* */

#define KEYS_LEN     32
#define KEYS_ID_LEN  8
#define KEYS_GEN_MAX 255 /* generations 1..255: a seal's first byte */

/*
 * The keys that never rotate, derived from the key file's root: what they
 * key cannot be recomputed without the secrets themselves (a password's
 * pepper, a backup code's hash), so a new root would lock everyone out.
 */
struct authd_keys {
	uint8_t backup[KEYS_LEN];   /* HMAC key for backup-code hashes */
	uint8_t pepper[KEYS_LEN];   /* HMAC pre-hash of passwords before argon2id */
	uint8_t csrf[KEYS_LEN];	    /* HMAC key deriving CSRF tokens from sessions */
	uint8_t subjects[KEYS_LEN]; /* HMAC key of throttle subjects (unknown emails) */
	uint8_t device[KEYS_LEN];   /* HMAC key of device cookies */
	uint8_t recovery[KEYS_LEN]; /* HMAC key of recovery codes, links and grants */
	uint8_t payments[KEYS_LEN]; /* HMAC key deriving payment ids from Idempotency-Keys */
	uint8_t archive[KEYS_LEN];  /* HMAC key of backups' data files (backup.h) */
	/* A public name of the root (not secret: derived one way), which a
	 * backup records so that a restore can tell the key file matches. */
	uint8_t id[KEYS_ID_LEN];
};

/*
 * The seal keys (AES-256-GCM) of every generation the key file holds, one
 * ring per purpose. Generation 1 derives from the root; each later one
 * from 32 random bytes of its own, so a key file stolen before a rotation
 * opens nothing sealed after it. A published set never changes: a reload
 * or a rotation publishes a new one, and every set stays valid until
 * keys_release(), so a thread may use the one it took without a lock.
 */
struct keys_seals {
	struct core_keyring totp;      /* TOTP seeds */
	struct core_keyring outbox;    /* queued messages */
	struct core_keyring documents; /* identity documents */
	struct core_keys core;	       /* the rules' view: the totp ring and the backup key */
	uint8_t held[KEYS_GEN_MAX];    /* the generations held, ascending */
	unsigned n_held;
	uint8_t newest;	    /* the highest held */
	uint8_t wanted;	    /* what the store says to seal with (0: nothing yet) */
	uint64_t wanted_fp; /* and its fingerprint (keys_fingerprint; 0: none) */
	uint8_t key[SEAL_GENERATIONS][3][KEYS_LEN];
};

/* How keys_load treats the file. */
enum keys_load_flags {
	KEYS_F_CREATE = 1 << 0,	    /* create it (0600, 32 random bytes) when missing */
	KEYS_F_CREDENTIAL = 1 << 1, /* systemd's credential copy: root's, read through
				       an ACL, so owner and mode are systemd's to set */
};

/*
 * Loads the key file at path (enum keys_load_flags say how), derives the
 * root's keys into k, and publishes the seal keys of its generations,
 * sealing with the newest until keys_want() says otherwise. A file that is
 * not a credential must be owned by this user and closed to group and
 * others. The file is either the 32 bytes of a root (generation 1 only)
 * or the text keys_file_add() writes. Returns 0 or -1 (logged). Loop
 * thread, before the workers start.
 */
int keys_load(struct authd_keys *k, const char *path, unsigned flags);
/*
 * Reads the key file keys_load() read again and publishes its generations
 * (a reload): refused, changing nothing, when the file no longer parses or
 * its root is not the same. Returns 0 or -1 (logged). Loop thread.
 */
int keys_reload(void);
/* Wipes k and every published seal set. At exit, after the workers. */
void keys_release(struct authd_keys *k);

/* The seal keys now (never NULL once keys_load() succeeded). Any thread. */
const struct keys_seals *keys_seals(void);
/*
 * The generation the store says every node seals with, and its
 * fingerprint: the node seals with it when it holds it under that
 * fingerprint, else with its newest (logged as an error: its key file
 * lacks a generation other nodes use, or holds another secret under its
 * number). 0 (nothing recorded yet): the oldest held, which every node
 * holds (a generation added since may not have reached the others).
 * Loop thread.
 */
void keys_want(uint8_t generation, uint64_t fingerprint);
/* Whether the store says to seal with a generation that this node's key
 * file lacks, or holds under another secret: what the other nodes seal
 * now, this one cannot open (readiness says so). Any thread. */
bool keys_wanted_missing(void);
/* A public name of generation g's keys in s (one way from them; 0 when not
 * held), which the store keeps beside the generation sealed with, so that
 * two different secrets under one number never pass for one another. */
uint64_t keys_fingerprint(const struct keys_seals *s, uint8_t g);

/*
 * Adds a generation (32 random bytes; the next number after the highest
 * in the file) to the key file at path, replacing the file atomically
 * (same owner and mode, synced). *generation tells which. Returns 0, or -1
 * with a message in err (a credential copy cannot be written; 255 is the
 * last generation).
 */
int keys_file_add(const char *path, unsigned flags, uint8_t *generation, char *err,
		  size_t err_size);
/* Removes generation g from the key file at path (the same way); refused
 * when it is the file's only generation. Returns 0, or -1 with err. */
int keys_file_drop(const char *path, unsigned flags, uint8_t generation, char *err,
		   size_t err_size);
/* The generations the file at path holds, ascending, into held (n set):
 * 0, or -1 with err. */
int keys_file_list(const char *path, unsigned flags, uint8_t held[KEYS_GEN_MAX], unsigned *n,
		   char *err, size_t err_size);

/* The path and flags keys_load() read (for the admin's rotation). */
const char *keys_path(void);
unsigned keys_flags(void);

/*
 * Encrypts plain with AES-256-GCM under the ring's current generation,
 * binding aad. out holds len + SEAL_OVERHEAD bytes. Returns 0 or -1.
 */
int keys_seal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
	      const uint8_t *plain, size_t len, uint8_t *out);
/*
 * Decrypts what keys_seal() wrote (sealed_len bytes) into out, which holds
 * sealed_len - SEAL_OVERHEAD bytes; the caller wipes out after use.
 * Returns the plaintext length, or -1 if it was altered or its generation
 * is not held.
 */
long keys_open(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
	       const uint8_t *sealed, size_t sealed_len, uint8_t *out);
/*
 * Seals again, in place, under the ring's current generation, what an
 * older one sealed (same length). Returns 1 when it did, 0 when it was
 * already current, -1 when it does not open (altered, or not held).
 */
int keys_reseal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len, uint8_t *sealed,
		size_t sealed_len);

#endif
