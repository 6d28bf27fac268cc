/*
 * Push approval for the login page: POST /1/login/push sends a challenge
 * to the account's devices, POST /1/login/wait waits for the answer (long
 * poll) and, once approved, hands the page its session. Loop thread only.
 */
#ifndef AUTHD_HTTP_PUSH_H
#define AUTHD_HTTP_PUSH_H

#include <stdbool.h>
#include <stdint.h>
#include <util.h>

#include "errors.h"

struct new_token;
struct token_ref;

/*
 * Who waits for a login's push answer: the long poll (a struct req) or a
 * WebSocket (ws_login_wait.c). The waiter holds the owner for each store
 * job and timer (hold) and calls resume when it comes back, which says
 * whether the owner is still there (false: it went away and is released;
 * the waiter ends). pending (may be NULL) is called once, when the first
 * read finds the login still waiting. finish is called once, at the end:
 * a state ("approved" with the new session in *token, which finish
 * clears; "denied", "expired", or "pending" when the timeout passed) or
 * an error (err != E_OK, state NULL).
 */
struct push_wait_sink {
	void (*hold)(void *owner);
	bool (*resume)(void *owner);
	void (*pending)(void *owner);
	void (*finish)(void *owner, const char *state, struct new_token *token, enum api_error err);
};

/* Starts waiting for the pending login's answer for a page at ip in browser (req_id
 * for the log); timeout_s < 0 waits until the login ends. 0, or -1 when
 * out of memory (nothing held). */
int push_wait_start(const struct push_wait_sink *sink, void *owner, const struct token_ref *login,
		    const char *ip, const char *browser, uint64_t req_id, int64_t timeout_s);

/* An answer for the pending login login_hash of the account was recorded
 * (on this node, or another's note says so): its waiting pages here look
 * again now. */
void push_wait_wake(const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t login_hash[AUTHD_HASH_LEN]);

/* Every waiting page looks again (notes may have been lost). */
void push_wait_wake_all(void);

/* Answers every waiting page "pending" (at shutdown, before the context
 * goes) and stops the periodic reads. */
void push_wait_stop(void);

#endif
