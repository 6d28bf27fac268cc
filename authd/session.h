/*
 * The session core: issuing a session (inside a write job), checking one on
 * each request, and the CSRF token that goes with a cookie session.
 */
#ifndef AUTHD_SESSION_H
#define AUTHD_SESSION_H

#include "http.h"
#include <store.h>

#include <jansson.h>

#define SESSION_COOKIE "__Host-authd_session"

/*
 * A new session or login token: the account id and 32 random bytes,
 * base64url, and where its record is filed (the account id and the SHA-256
 * of the token). Carrying the account id lets a token find its record in
 * the account's cluster.
 */
struct new_token {
	char text[AUTHD_TOKEN_B64 + 1];
	struct token_ref ref;
};
void token_new(struct new_token *t, const uint8_t account_id[AUTHD_ID_LEN]);
/* Wipes t. */
void token_clear(struct new_token *t);

/* Where a presented token's record is filed; false if it is malformed. */
bool token_parse(const char *text, size_t len, struct token_ref *out);

/*
 * Writes a new session for account a (aal, second_factor_at) at ref in
 * txn, begun by a client at ip with browser (client.h's name). Returns 0
 * or STORE_E_*.
 */
int session_issue(struct store_txn *txn, const struct token_ref *ref, const struct account *a,
		  enum aal aal, int64_t now, const char *ip, const char *browser);
/* Records who begins session s (ip, browser) in it. */
void session_set_client(struct session *s, const char *ip, const char *browser);

/* The CSRF token for a session (hex of HMAC(csrf key, token hash)). Loop
 * thread only. */
void session_csrf(const uint8_t hash[AUTHD_HASH_LEN], char out[65]);
/* Frees what session_csrf keeps (at shutdown). */
void session_csrf_free(void);

/* Adds the Set-Cookie header of the new session t and writes its CSRF
 * token into csrf. */
void session_set_cookie(struct req *r, const struct new_token *t, char csrf[65]);

/*
 * Replies 200 {state:"done", session, expires_at, csrf_token} with the
 * session cookie, for the token t just written, adding
 * backup_codes_remaining when backup_left >= 0. Wipes t.
 */
void reply_session_done(struct req *r, struct new_token *t, int64_t now, int backup_left);
/* The same with another state ("approved": a push approval's session);
 * state is a constant without characters to escape. */
void reply_session_state(struct req *r, struct new_token *t, int64_t now, int backup_left,
			 const char *state);
/* The body alone (for a WebSocket, which carries no cookie): into *out, a
 * buffer of SESSION_STATE_MAX bytes the caller frees with authd_freezero;
 * returns its length, or -1 (out of memory; *out NULL). Wipes t. */
#define SESSION_STATE_MAX 320
int session_state_body(struct new_token *t, int64_t now, int backup_left, const char *state,
		       char **out);

/*
 * The session credential of r (Bearer token, else the session cookie, which
 * then needs the CSRF header on unsafe methods) into *ref. Returns true, or
 * false after replying 401/403.
 */
bool session_credential_or_reply(struct req *r, struct token_ref *ref, bool *via_cookie);

#define DEVICE_COOKIE "__Host-authd_device"

/*
 * The device cookie of a recognised browser: set after a right password,
 * base64url of the account id, 16 random bytes, the time it was issued and
 * a 16-byte HMAC (device key) of those and of the account's password hash,
 * so only authd makes them, they end after 180 days, and a password change
 * (a new hash) ends every one of them. A login from a browser showing a valid
 * cookie of that account has its own delay, apart from strangers'.
 */
struct device_cookie {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t nonce[16];
	int64_t issued_at;
	uint8_t mac[16];
};
void session_set_device_cookie(struct req *r, const uint8_t account_id[AUTHD_ID_LEN],
			       const char *pw_hash, int64_t now);
/* r's device cookie as shown (not yet verified); false when it has none or
 * it does not decode. */
bool session_device_of(const struct req *r, struct device_cookie *d);
/* Whether d is a valid cookie of account_id now (any thread). */
bool session_device_verify(const struct device_cookie *d, const uint8_t account_id[AUTHD_ID_LEN],
			   const char *pw_hash, int64_t now);

/* Refreshes the session's last-seen time (a write no response waits for). */
void session_touch(const struct token_ref *ref, int64_t now);

/* Submits the write job once every session refresh under way is written:
 * with several connections (PostgreSQL) writes do not finish in the order
 * they were submitted. For the test clock. */
void session_write_after_touches(struct job *job);

#endif
