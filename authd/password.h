/*
 * Passwords: the policy a new password must meet, and argon2id hashing of
 * the NFKC-normalized password pre-hashed with the server's pepper.
 * password_hash/verify are slow by design (tens of ms): call them only on
 * the worker pool, never on the loop thread.
 */
#ifndef AUTHD_PASSWORD_H
#define AUTHD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MIN_CHARS 8
#define PASSWORD_MAX_CHARS 128
#define PASSWORD_MAX_BYTES (PASSWORD_MAX_CHARS * 4)

enum password_verdict {
	PASSWORD_OK = 0,
	PASSWORD_TOO_SHORT,
	PASSWORD_TOO_LONG,
	PASSWORD_INVALID,     /* not printable UTF-8 */
	PASSWORD_BLOCKLISTED, /* a common password */
	PASSWORD_CONTEXT,     /* the email, its local part, the name or the service */
};

struct password_cost {
	uint32_t m_kib, t, p;
};

/* Sets the pepper (copied) and the cost new hashes use. Call once at start. */
void password_setup(const uint8_t pepper[32], struct password_cost cost);

/* Checks a new password against the policy (email and name may be NULL). */
enum password_verdict password_check(const char *pw, size_t len, const char *email,
				     const char *name);

/* Hashes into out (PHC string, NUL-terminated). Returns 0 or -1. */
int password_hash(const char *pw, size_t len, char *out, size_t out_size);

/* True when pw matches the PHC string phc. A NULL phc verifies against a
 * dummy hash at the current cost and returns false, so unknown accounts cost
 * the same time as wrong passwords. */
bool password_verify(const char *phc, const char *pw, size_t len);

/* True when phc was made with a lower cost than the configured one. */
bool password_needs_rehash(const char *phc);

/* Builds the dummy hash used for unknown accounts (slow; call at start-up). */
int password_init_dummy(void);

/* The number of passwords in the embedded blocklist. */
size_t password_blocklist_size(void);

#endif
