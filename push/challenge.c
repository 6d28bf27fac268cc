/*
 * challenge.c owns push approval's rules: a challenge's life (pending, then
 * answered, expired or cancelled, and an approval used once by its login
 * page), number matching, and an account's caps against push fatigue (at
 * most PUSH_PENDING_MAX waiting, PUSH_HOURLY_MAX in any hour) and its
 * pause (after "not me", or PUSH_DENIALS_PAUSE denials in a row, until
 * the owner proves themselves with another second factor).
 */
#include "push.h"

#include <string.h>

const char *push_state_name(enum push_state s)
{
	static const char *const names[] = {
	    [PUSH_PENDING] = "pending",
	    [PUSH_APPROVED] = "approved",
	    [PUSH_DENIED] = "denied",
	    [PUSH_NOT_ME] = "not_me",
	    [PUSH_WRONG_NUMBER] = "wrong_number",
	    [PUSH_EXPIRED] = "expired",
	    [PUSH_CANCELLED] = "cancelled",
	    [PUSH_USED] = "used",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "";
}

/* Seconds until the hourly cap lets one more through (0: now). */
static int64_t hourly_wait(const struct push_account *a, int64_t now)
{
	int64_t oldest;

	if (a->n_sent < PUSH_HOURLY_MAX)
		return 0;
	oldest = a->sent[a->pos]; /* a full ring: the next slot holds the oldest */
	return oldest + 3600 > now ? oldest + 3600 - now : 0;
}

bool push_paused(const struct push_account *acct, int64_t now)
{
	return acct->paused_at != 0 && now < acct->paused_at + PUSH_PAUSE_S;
}

/* A pause that has run out ends, and the denials that led to it go too. */
static void pause_expire(struct push_account *acct, int64_t now)
{
	if (acct->paused_at != 0 && !push_paused(acct, now))
		push_account_resume(acct);
}

int push_challenge_new(struct push_challenge *c, struct push_account *acct, unsigned pending,
		       int64_t first_end, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t login_hash[AUTHD_HASH_LEN], const struct push_context *ctx,
		       const uint8_t rnd[PUSH_CHALLENGE_RANDOM], int64_t ttl, int64_t now,
		       int64_t *retry_after)
{
	struct push_challenge n;
	uint64_t r = 0;
	int64_t wait;

	*retry_after = 0;
	if (ttl < 1 || ttl > PUSH_TTL_MAX || acct->pos >= PUSH_HOURLY_MAX ||
	    acct->n_sent > PUSH_HOURLY_MAX)
		return PUSH_E_INVALID;
	pause_expire(acct, now);
	if (acct->paused_at)
		return PUSH_E_PAUSED;
	if (pending >= PUSH_PENDING_MAX) {
		*retry_after = first_end > now ? first_end - now : 1;
		return PUSH_E_THROTTLED;
	}
	if ((wait = hourly_wait(acct, now)) > 0) {
		*retry_after = wait;
		return PUSH_E_THROTTLED;
	}
	memset(&n, 0, sizeof(n));
	memcpy(n.id, rnd, AUTHD_ID_LEN);
	memcpy(n.nonce, rnd + AUTHD_ID_LEN, MP_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		r = (r << 8) | rnd[AUTHD_ID_LEN + MP_NONCE_LEN + i];
	/* 2^64 mod 90 is tiny next to 2^64: the bias is below 1e-17. */
	n.number = (uint8_t)(10 + r % 90);
	memcpy(n.account_id, account_id, AUTHD_ID_LEN);
	memcpy(n.login_hash, login_hash, AUTHD_HASH_LEN);
	n.state = PUSH_PENDING;
	n.created_at = now;
	n.expires_at = now + ttl;
	n.ctx = *ctx;
	acct->sent[acct->pos] = now;
	acct->pos = (uint8_t)((acct->pos + 1) % PUSH_HOURLY_MAX);
	if (acct->n_sent < PUSH_HOURLY_MAX)
		acct->n_sent++;
	*c = n;
	return 0;
}

enum push_state push_challenge_state(struct push_challenge *c, int64_t now)
{
	if (c->state == PUSH_PENDING && now >= c->expires_at)
		c->state = PUSH_EXPIRED;
	return (enum push_state)c->state;
}

int push_answer(struct push_challenge *c, struct push_account *acct,
		const uint8_t device_id[AUTHD_ID_LEN], enum mp_decision decision, unsigned number,
		int64_t now, bool *paused_now)
{
	enum push_state s = push_challenge_state(c, now);

	*paused_now = false;
	if (s == PUSH_EXPIRED)
		return PUSH_E_EXPIRED;
	if (s != PUSH_PENDING)
		return PUSH_E_ANSWERED;
	if (decision != MP_APPROVE && decision != MP_DENY && decision != MP_NOT_ME)
		return PUSH_E_INVALID;
	pause_expire(acct, now);
	if (decision == MP_APPROVE && acct->paused_at) {
		c->state = PUSH_CANCELLED;
		return PUSH_E_PAUSED;
	}
	c->answered_at = now;
	memcpy(c->answered_by, device_id, AUTHD_ID_LEN);
	switch (decision) {
	case MP_APPROVE:
		if (number != c->number) {
			c->state = PUSH_WRONG_NUMBER;
			break;
		}
		c->state = PUSH_APPROVED;
		acct->denials = 0;
		break;
	case MP_DENY:
		c->state = PUSH_DENIED;
		if (acct->denials < UINT8_MAX)
			acct->denials++;
		if (acct->denials >= PUSH_DENIALS_PAUSE && acct->paused_at == 0) {
			acct->paused_at = now;
			*paused_now = true;
		}
		break;
	default: /* MP_NOT_ME */
		c->state = PUSH_NOT_ME;
		if (acct->paused_at == 0) {
			acct->paused_at = now;
			*paused_now = true;
		}
		break;
	}
	return 0;
}

int push_claim(struct push_challenge *c, const uint8_t login_hash[AUTHD_HASH_LEN], int64_t now)
{
	if (memcmp(c->login_hash, login_hash, AUTHD_HASH_LEN) != 0)
		return PUSH_E_INVALID;
	if (push_challenge_state(c, now) != PUSH_APPROVED)
		return PUSH_E_ANSWERED;
	c->state = PUSH_USED;
	return 0;
}

bool push_cancel(struct push_challenge *c, int64_t now)
{
	if (push_challenge_state(c, now) != PUSH_PENDING)
		return false;
	c->state = PUSH_CANCELLED;
	return true;
}

void push_account_resume(struct push_account *acct)
{
	acct->paused_at = 0;
	acct->denials = 0;
}
