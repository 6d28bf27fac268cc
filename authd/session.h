/*
 * The session core: issuing a session (inside a write job), checking one on
 * each request, and the CSRF token that goes with a cookie session.
 */
#ifndef AUTHD_SESSION_H
#define AUTHD_SESSION_H

#include "http.h"
#include "records.h"

#include <jansson.h>
#include <lmdb.h>

#define SESSION_COOKIE "__Host-authd_session"

/* A new session token: 32 random bytes, base64url, and its SHA-256. */
struct new_token {
	char text[AUTHD_TOKEN_B64 + 1];
	uint8_t hash[AUTHD_HASH_LEN];
};
void token_new(struct new_token *t);
/* Wipes t. */
void token_clear(struct new_token *t);

/* Hashes a presented token (base64url of 32 bytes); false if malformed. */
bool token_hash(const char *text, size_t len, uint8_t out[AUTHD_HASH_LEN]);

/*
 * Writes a new session for account a (aal, second_factor_at) under hash in
 * txn. Returns 0 or STORE_E_*.
 */
int session_issue(MDB_txn *txn, const uint8_t hash[AUTHD_HASH_LEN], const struct account *a,
		  enum aal aal, int64_t now);

/* The CSRF token for a session (hex of HMAC(csrf key, token hash)). */
void session_csrf(const uint8_t hash[AUTHD_HASH_LEN], char out[65]);

/*
 * Replies 200 {state:"done", session, expires_at, csrf_token} with the
 * session cookie, for the token t just written. Wipes t.
 */
void reply_session_done(struct req *r, struct new_token *t, int64_t now, json_t *extra);

/* When the session ends, idle or absolute, whichever is first. */
int64_t session_expires(const struct session *s);

#endif
