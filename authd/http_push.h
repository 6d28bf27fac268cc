/*
 * Push approval for the login page: POST /1/login/push sends a challenge
 * to the account's devices, POST /1/login/wait waits for the answer (long
 * poll) and, once approved, hands the page its session. Loop thread only.
 */
#ifndef AUTHD_HTTP_PUSH_H
#define AUTHD_HTTP_PUSH_H

#include <stdint.h>
#include <util.h>

/* An answer for the pending login login_hash of the account was recorded
 * on this node: its waiting pages look again now. (Pages waiting on other
 * nodes look again at their next periodic read.) */
void push_wait_wake(const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t login_hash[AUTHD_HASH_LEN]);

/* Answers every waiting page "pending" (at shutdown, before the context
 * goes) and stops the periodic reads. */
void push_wait_stop(void);

#endif
