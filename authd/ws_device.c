/*
 * The device channel (PROTOCOL.md sections 4-7): one struct device_conn
 * per accepted WebSocket, which outlives its connection while store jobs
 * hold it (as a struct req does; here several may, `jobs`). A connection gets `hello` with a fresh
 * nonce, then must `link` (complete a link offer with a new key) or `auth`
 * (sign the nonce with a linked key) within 10 seconds, once; after that it
 * may `answer`. Anything malformed gets an `error` and a close.
 *
 * Memory per idle channel stays small: the receive buffer exists only
 * while a message spans several frames, and outgoing messages are queued
 * one allocation each until written.
 */
#include "ws_device.h"
#include "rotation.h"

#include "metrics.h"

#include "async.h"
#include "cluster.h"
#include "factors.h"
#include "geoip.h"
#include "http.h"
#include "http_push.h"
#include "server.h"
#include "throttle.h"
#include "ws_out.h"

#include <log.h>
#include <mp.h>
#include <push.h>
#include <store.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_DEADLINE_S 10
#define OUT_QUEUE_MAX	32 /* messages waiting to be written; past it the device is too slow */
#define SENT_MAX	8  /* challenges remembered as sent, per channel */

/* Close codes (PROTOCOL.md section 6). */
enum {
	CLOSE_INVALID = 4400,
	CLOSE_AUTH_FAILED = 4401,
	CLOSE_REVOKED = 4403,
	CLOSE_AUTH_TIMEOUT = 4408,
	CLOSE_RATE_LIMITED = 4429,
};

struct device_conn {
	struct lws *wsi; /* NULL once the connection is gone */
	lws_dll2_t list; /* in conns */
	enum { C_UNAUTH, C_BUSY, C_AUTHED } state;
	unsigned jobs; /* store jobs holding this conn */
	/* Set when the device this conn claims (its auth under way) was
	 * removed meanwhile: the auth must not succeed. */
	bool revoked;
	uint8_t nonce[MP_NONCE_LEN];
	uint8_t device_id[AUTHD_ID_LEN];
	/* Once authenticated: its account and key (answers are checked
	 * against it). */
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t public_key[MP_KEY_LEN];
	char ip[48];
	/* The challenges last sent (a ring): one read again (on connect, from
	 * another node's note, by the periodic read) is not sent twice. */
	uint8_t sent[SENT_MAX][MP_ID_LEN];
	uint8_t sent_pos;
	char *rx; /* a message spanning frames; NULL otherwise */
	size_t rx_len;
	struct ws_out out; /* what it has to say, then maybe its close */
	lws_sorted_usec_list_t deadline;
	struct device_conn *next_of_account; /* in its bucket of by_account */
	bool indexed;			     /* in by_account (authenticated) */
	bool ping_wanted;		     /* a ping waits for the writable callback */
	bool wake_busy;			     /* a wake token is being written */
	int64_t last_heard_ms;		     /* monotonic: the device's last frame */
	int64_t ping_sent_ms;		     /* 0: none unanswered */
};

struct pss_device {
	struct device_conn *conn; /* NULL for a refused upgrade */
};

static lws_dll2_owner_t conns;

/* --- authenticated channels by account ------------------------------------------------ */

/*
 * A challenge, a withdrawal or another node's note touches one account's
 * channels: a hash table from account id (random: its first bytes are a
 * good hash) to the chain of its authenticated channels, so that with
 * 10 000 channels a delivery does not walk them all. Doubles as it fills.
 */
static struct device_conn **by_account;
static size_t n_buckets, n_indexed;

static size_t bucket_of(const uint8_t account_id[AUTHD_ID_LEN])
{
	uint64_t h;

	memcpy(&h, account_id, sizeof(h));
	return (size_t)(h & (n_buckets - 1));
}

static void index_grow(void)
{
	size_t n = n_buckets ? 2 * n_buckets : 256;
	struct device_conn **t = calloc(n, sizeof(struct device_conn *));

	if (t == NULL)
		return; /* longer chains, still right */
	for (size_t i = 0; i < n_buckets; i++) {
		struct device_conn *c = by_account[i], *next;

		for (; c; c = next) {
			size_t b;

			next = c->next_of_account;
			memcpy(&b, c->account_id, sizeof(b));
			b &= n - 1;
			c->next_of_account = t[b];
			t[b] = c;
		}
	}
	free(by_account);
	by_account = t;
	n_buckets = n;
}

/* False when out of memory (no table at all). */
static bool index_add(struct device_conn *c)
{
	size_t b;

	if (c->indexed)
		return true;
	if (n_indexed >= n_buckets)
		index_grow();
	if (n_buckets == 0)
		return false;
	b = bucket_of(c->account_id);
	c->next_of_account = by_account[b];
	by_account[b] = c;
	c->indexed = true;
	n_indexed++;
	return true;
}

static void index_del(struct device_conn *c)
{
	struct device_conn **p;

	if (!c->indexed)
		return;
	for (p = &by_account[bucket_of(c->account_id)]; *p; p = &(*p)->next_of_account)
		if (*p == c) {
			*p = c->next_of_account;
			break;
		}
	c->indexed = false;
	n_indexed--;
}

size_t ws_device_channels(void)
{
	return n_indexed;
}

/* The chain holding the account's authenticated channels (and others':
 * check the account), or NULL. */
static struct device_conn *chain_of(const uint8_t account_id[AUTHD_ID_LEN])
{
	return n_buckets ? by_account[bucket_of(account_id)] : NULL;
}

static bool of_account(const struct device_conn *c, const uint8_t account_id[AUTHD_ID_LEN])
{
	return c->state == C_AUTHED && memcmp(c->account_id, account_id, AUTHD_ID_LEN) == 0;
}

static bool conn_resume(struct device_conn *c);
static void heard(struct device_conn *c);

/* --- sending ------------------------------------------------------------------------ */

static void queue_msg(struct device_conn *c, const struct mp_msg *m)
{
	char text[MP_FRAME_MAX + 1];
	size_t len;

	if (c->wsi == NULL || ws_out_closing(&c->out))
		return;
	if (mp_msg_encode(m, text, sizeof(text), &len) != 0)
		ws_out_close(&c->out, c->wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	else
		(void)ws_out_text(&c->out, c->wsi, text, len);
	OPENSSL_cleanse(text, sizeof(text));
}

/* Sends what is queued, then closes with code (ws_out.h). */
static void close_with(struct device_conn *c, int code)
{
	ws_out_close(&c->out, c->wsi, code);
}

static void send_error(struct device_conn *c, const char *code, int close_code)
{
	struct mp_msg m = {.type = MP_ERROR};

	snprintf(m.error.code, sizeof(m.error.code), "%s", code);
	queue_msg(c, &m);
	close_with(c, close_code);
}

static bool was_sent(const struct device_conn *c, const uint8_t id[MP_ID_LEN])
{
	for (unsigned i = 0; i < SENT_MAX; i++)
		if (memcmp(c->sent[i], id, MP_ID_LEN) == 0)
			return true;
	return false;
}

static void remember_sent(struct device_conn *c, const uint8_t id[MP_ID_LEN])
{
	if (was_sent(c, id))
		return;
	memcpy(c->sent[c->sent_pos], id, MP_ID_LEN);
	c->sent_pos = (uint8_t)((c->sent_pos + 1) % SENT_MAX);
}

static void send_withdraw(struct device_conn *c, const uint8_t id[MP_ID_LEN],
			  enum mp_withdraw_reason why)
{
	struct mp_msg m = {.type = MP_WITHDRAW};

	/* Remembered as sent: a read that raced the end cannot send it later. */
	remember_sent(c, id);
	memcpy(m.withdraw.id, id, MP_ID_LEN);
	m.withdraw.reason = why;
	queue_msg(c, &m);
}

static void send_challenge(struct device_conn *c, const struct push_challenge *ch,
			   const char *account)
{
	struct mp_msg m = {.type = MP_CHALLENGE};
	struct mp_challenge *x = &m.challenge;

	if (was_sent(c, ch->id))
		return;
	remember_sent(c, ch->id);
	memcpy(x->id, ch->id, MP_ID_LEN);
	memcpy(x->nonce, ch->nonce, MP_NONCE_LEN);
	snprintf(x->account, sizeof(x->account), "%s", account);
	snprintf(x->ip, sizeof(x->ip), "%s", ch->ctx.ip);
	snprintf(x->location, sizeof(x->location), "%s", ch->ctx.location);
	snprintf(x->browser, sizeof(x->browser), "%s", ch->ctx.browser);
	snprintf(x->os, sizeof(x->os), "%s", ch->ctx.os);
	snprintf(x->application, sizeof(x->application), "%s", ch->ctx.application);
	x->time = ch->created_at;
	x->expires_at = ch->expires_at;
	queue_msg(c, &m);
}

/* --- ready: the challenges waiting for this device's account ------------------------ */

#define READY_MAX (PUSH_PENDING_MAX + 1)

struct ready_job {
	struct job job;
	struct device_conn *c;
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t device_id[AUTHD_ID_LEN];
	uint8_t public_key[MP_KEY_LEN];
	int64_t now;
	bool resync; /* read again (notes may have been lost): no `ready`, the
		      * device must still be linked, and what the channel was sent
		      * and has ended since is withdrawn */
	uint8_t sent[SENT_MAX][MP_ID_LEN];
	/* out */
	bool device_gone;
	struct push_challenge pending[READY_MAX];
	unsigned n;
	uint8_t ended[SENT_MAX][MP_ID_LEN];
	enum mp_withdraw_reason ended_why[SENT_MAX];
	unsigned n_ended;
	char email[EMAIL_MAX + 1];
};

static int collect_pending(void *arg, const struct push_challenge *ch)
{
	struct ready_job *j = arg;
	struct push_challenge tmp = *ch;

	enum push_state st = push_challenge_state(&tmp, j->now);

	if (st == PUSH_PENDING) {
		if (j->n < READY_MAX)
			j->pending[j->n++] = tmp;
		return 0;
	}
	for (unsigned i = 0; j->resync && i < SENT_MAX && j->n_ended < SENT_MAX; i++) {
		if (memcmp(j->sent[i], tmp.id, MP_ID_LEN) != 0)
			continue;
		memcpy(j->ended[j->n_ended], tmp.id, MP_ID_LEN);
		j->ended_why[j->n_ended++] = st == PUSH_EXPIRED	    ? MP_WITHDRAW_EXPIRED
					     : st == PUSH_CANCELLED ? MP_WITHDRAW_CANCELLED
								    : MP_WITHDRAW_ANSWERED;
		break;
	}
	return 0;
}

static int ready_txn(struct job *job, struct store_txn *txn)
{
	struct ready_job *j = (struct ready_job *)job;
	struct push_device d;
	struct account a;
	int rc;

	j->n = 0;
	j->n_ended = 0;
	j->email[0] = '\0';
	j->device_gone = false;
	if (j->resync) {
		rc = store_device_get(txn, j->device_id, &d);
		j->device_gone =
		    rc == STORE_E_NOTFOUND ||
		    (rc == 0 && CRYPTO_memcmp(d.public_key, j->public_key, MP_KEY_LEN) != 0);
		OPENSSL_cleanse(&d, sizeof(d));
		if (j->device_gone)
			return 0;
		if (rc != 0)
			return rc;
	}
	if ((rc = store_challenges_list(txn, j->account_id, collect_pending, j)) != 0)
		return rc;
	if (j->n == 0)
		return 0;
	rc = store_account_get(txn, j->account_id, &a);
	if (rc == 0)
		memcpy(j->email, a.email, sizeof(j->email));
	OPENSSL_cleanse(&a, sizeof(a));
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static void ready_done(struct job *job)
{
	struct ready_job *j = (struct ready_job *)job;
	struct device_conn *c = j->c;
	struct mp_msg m = {.type = MP_READY};

	if (!conn_resume(c))
		goto out;
	if (j->resync) {
		if (job->store_rc == 0 && j->device_gone)
			ws_device_revoked(j->device_id);
		for (unsigned i = 0; job->store_rc == 0 && i < j->n_ended; i++)
			send_withdraw(c, j->ended[i], j->ended_why[i]);
	} else {
		/* Ready either way: the challenges come when the store answers. */
		memcpy(m.ready.device_id, c->device_id, AUTHD_ID_LEN);
		m.ready.pending = job->store_rc == 0 ? j->n : 0;
		queue_msg(c, &m);
	}
	for (unsigned i = 0; job->store_rc == 0 && i < j->n; i++)
		send_challenge(c, &j->pending[i], j->email);
out:
	free(j);
}

/* Sends `ready` (resync: not), with every challenge still waiting for the
 * account. */
static void send_ready(struct device_conn *c, bool resync)
{
	struct ready_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		if (!resync)
			send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	j->c = c;
	j->resync = resync;
	memcpy(j->sent, c->sent, sizeof(j->sent));
	memcpy(j->account_id, c->account_id, AUTHD_ID_LEN);
	memcpy(j->device_id, c->device_id, AUTHD_ID_LEN);
	memcpy(j->public_key, c->public_key, MP_KEY_LEN);
	j->now = authd_now();
	j->job.txn_work = ready_txn;
	j->job.done = ready_done;
	c->jobs++;
	store_read(&j->job);
}

/* --- offers: challenges another node wrote ----------------------------------------------- */

/*
 * Another node's note names one new challenge, or the periodic read asks
 * for every challenge still pending since a time: read them with their
 * accounts' login identifiers, then this node's channels of those accounts
 * get each one they were not sent yet.
 */
#define OFFER_MAX 64

struct offer_job {
	struct job job;
	bool one; /* the challenge named below, else all pending since `since` */
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
	int64_t since, now;
	/* out */
	struct push_challenge found[OFFER_MAX];
	char email[OFFER_MAX][EMAIL_MAX + 1];
	unsigned n;
};

static bool offer_running; /* the periodic read; one at a time */

static int collect_offer(void *arg, const struct push_challenge *ch)
{
	struct offer_job *j = arg;

	if (j->n < OFFER_MAX)
		j->found[j->n++] = *ch;
	return 0;
}

static int offer_txn(struct job *job, struct store_txn *txn)
{
	struct offer_job *j = (struct offer_job *)job;
	struct account a;
	int rc;

	j->n = 0;
	if (j->one) {
		rc = store_challenge_get(txn, j->account_id, j->id, &j->found[0]);
		if (rc == STORE_E_NOTFOUND)
			return 0;
		if (rc != 0)
			return rc;
		if (push_challenge_state(&j->found[0], j->now) == PUSH_PENDING)
			j->n = 1;
	} else if ((rc = store_challenges_pending(txn, j->since, j->now, OFFER_MAX, collect_offer,
						  j)) != 0) {
		return rc;
	}
	for (unsigned i = 0; i < j->n; i++) {
		j->email[i][0] = '\0';
		rc = store_account_get(txn, j->found[i].account_id, &a);
		if (rc == 0)
			memcpy(j->email[i], a.email, sizeof(j->email[i]));
		OPENSSL_cleanse(&a, sizeof(a));
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
	}
	return 0;
}

static void offer_done(struct job *job)
{
	struct offer_job *j = (struct offer_job *)job;

	if (!j->one)
		offer_running = false;
	if (job->store_rc != 0)
		log_warn("pending challenges not read store=%d", job->store_rc);
	for (unsigned i = 0; job->store_rc == 0 && i < j->n; i++)
		if (j->email[i][0])
			ws_device_deliver(&j->found[i], j->email[i]);
	free(j);
}

/* Whether an authenticated channel of the account (any: NULL) is here. */
static bool holds_account(const uint8_t *account_id)
{
	if (account_id == NULL)
		return n_indexed > 0;
	for (struct device_conn *c = chain_of(account_id); c; c = c->next_of_account)
		if (of_account(c, account_id))
			return true;
	return false;
}

static void offer(bool one, const uint8_t *account_id, const uint8_t *id, int64_t since)
{
	struct offer_job *j;

	if (!holds_account(account_id) || (!one && offer_running))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("pending challenges not read: out of memory");
		return;
	}
	j->one = one;
	if (one) {
		memcpy(j->account_id, account_id, AUTHD_ID_LEN);
		memcpy(j->id, id, AUTHD_ID_LEN);
	} else {
		offer_running = true;
	}
	j->since = since;
	j->now = authd_now();
	j->job.txn_work = offer_txn;
	j->job.done = offer_done;
	store_read(&j->job);
}

void ws_device_fetch(const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t challenge_id[AUTHD_ID_LEN])
{
	offer(true, account_id, challenge_id, 0);
}

void ws_device_offer_pending(int64_t since)
{
	offer(false, NULL, NULL, since);
}

void ws_device_resync(void)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&conns))
	{
		struct device_conn *c = lws_container_of(d, struct device_conn, list);

		if (c->state == C_AUTHED && !ws_out_closing(&c->out))
			send_ready(c, true);
	}
	lws_end_foreach_dll(d);
}

/* --- conns ------------------------------------------------------------------------- */

static void conn_free(struct device_conn *c)
{
	ws_out_release(&c->out);
	if (c->rx) {
		OPENSSL_cleanse(c->rx, c->rx_len);
		free(c->rx);
	}
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* Called first by a job's done(): false (and c freed) when the connection
 * went away meanwhile. */
static bool conn_resume(struct device_conn *c)
{
	c->jobs--;
	if (c->wsi == NULL) {
		if (c->jobs == 0)
			conn_free(c);
		return false;
	}
	return true;
}

static void deadline_passed(lws_sorted_usec_list_t *sul)
{
	struct device_conn *c = lws_container_of(sul, struct device_conn, deadline);

	/* A link or auth under way decides by itself (a link that commits
	 * must be able to tell its device). */
	if (c->state == C_UNAUTH)
		close_with(c, CLOSE_AUTH_TIMEOUT);
}

/* A refusal is what a client can cause at will: limited (log.h). */
static void log_device(const char *what, const struct device_conn *c,
		       const uint8_t account_id[AUTHD_ID_LEN], bool refused)
{
	char did[AUTHD_ID_HEX + 1], aid[AUTHD_ID_HEX + 1];

	authd_hex(c->device_id, AUTHD_ID_LEN, did);
	if (account_id)
		authd_hex(account_id, AUTHD_ID_LEN, aid);
	if (refused)
		log_refusal(c->ip, "device %s device=%s account=%s ip=%s", what, did,
			    account_id ? aid : "-", c->ip);
	else
		log_info("device %s device=%s account=%s ip=%s", what, did, account_id ? aid : "-",
			 c->ip);
}

/* --- failed attempts, per address ---------------------------------------------------- */

/*
 * A link or auth that fails (a bad signature, an unknown device, a used or
 * made-up link secret) counts against the client's address in the same
 * table as the login page's failures (throttle_ip_policy: 20 free, then a
 * delay doubling from a second to 5 minutes): guessing is slow, and a
 * flood of signatures to check is cut short before it costs the loop.
 */
static void attempt_failed(const struct device_conn *c)
{
	throttle_ip_failure(c->ip, authd_now());
}

/* True when the address must wait; then the channel is told and closed. */
static bool rate_limited_or_close(struct device_conn *c)
{
	struct throttle_slot *slot = throttle_slot_ip(c->ip);
	const struct throttle_rec *rec;
	int64_t now = authd_now();

	if (slot == NULL) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return true;
	}
	rec = throttle_slot_rec(slot);
	if (rec->consecutive == 0 || now - rec->last_failure >= throttle_ip_policy.quiet_reset ||
	    throttle_retry_after(rec, &throttle_ip_policy, now, 0) == 0)
		return false;
	send_error(c, "rate_limited", CLOSE_RATE_LIMITED);
	return true;
}

/* The channel speaks for device d from now on; false (and the channel
 * told and closing) when it cannot be indexed. */
static bool become_authed(struct device_conn *c, const struct push_device *d)
{
	memcpy(c->device_id, d->id, AUTHD_ID_LEN);
	memcpy(c->account_id, d->account_id, AUTHD_ID_LEN);
	memcpy(c->public_key, d->public_key, MP_KEY_LEN);
	c->state = C_AUTHED;
	lws_sul_cancel(&c->deadline); /* a sorted list: keep it short */
	if (index_add(c))
		return true;
	c->state = C_BUSY;
	send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	return false;
}

/* --- link ------------------------------------------------------------------------- */

struct link_job {
	struct job job;
	struct device_conn *c;
	struct token_ref ref;
	uint8_t public_key[MP_KEY_LEN];
	char name[MP_NAME_MAX + 1];
	int64_t now;
	char ip[48];
	char location[PUSH_LOCATION_MAX + 1];
	/* out */
	int verdict; /* PUSH_E_* */
	bool again;  /* the device had linked already, with this key */
	struct push_device dev;
	char email[EMAIL_MAX + 1];
};

static int link_txn(struct job *job, struct store_txn *txn)
{
	struct link_job *j = (struct link_job *)job;
	struct push_link link;
	struct account a;
	unsigned n = 0;
	int rc;

	j->verdict = PUSH_E_LINK_INVALID;
	j->again = false;
	memset(&j->dev, 0, sizeof(j->dev));
	rc = store_link_get(txn, &j->ref, &link);
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = store_devices_count(txn, j->ref.account_id, &n)) != 0 ||
	    (rc = store_account_get(txn, j->ref.account_id, &a)) != 0)
		goto out;
	memcpy(j->email, a.email, sizeof(j->email));
	OPENSSL_cleanse(&a, sizeof(a));
	/* The same device again (its linked message was lost with its
	 * connection): the offer's device with this very key. */
	if (link.linked_at != 0 && j->now < link.expires_at &&
	    store_device_get(txn, link.device_id, &j->dev) == 0 &&
	    CRYPTO_memcmp(j->dev.public_key, j->public_key, MP_KEY_LEN) == 0) {
		j->verdict = 0;
		j->again = true;
		goto out;
	}
	memset(&j->dev, 0, sizeof(j->dev));
	j->verdict = push_link_complete(&link, &j->dev, j->public_key, j->name, n, j->now);
	if (j->verdict != 0)
		goto out;
	j->dev.last_seen = j->now;
	snprintf(j->dev.last_ip, sizeof(j->dev.last_ip), "%s", j->ip);
	snprintf(j->dev.last_location, sizeof(j->dev.last_location), "%s", j->location);
	if ((rc = store_device_put(txn, &j->dev)) != 0 ||
	    (rc = store_link_put(txn, &j->ref, &link)) != 0)
		goto out;
	rc = factor_event(txn, j->ref.account_id, EVENT_DEVICE_LINKED, j->now, j->ip);
out:
	OPENSSL_cleanse(&link, sizeof(link));
	return rc;
}

static void link_done(struct job *job)
{
	struct link_job *j = (struct link_job *)job;
	struct device_conn *c = j->c;

	if (!conn_resume(c))
		goto out;
	if (job->store_rc != 0) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	} else if (j->verdict != 0) {
		if (j->verdict != PUSH_E_TOO_MANY)
			attempt_failed(c);
		log_device(j->verdict == PUSH_E_TOO_MANY ? "link refused (too many devices)"
							 : "link refused",
			   c, j->ref.account_id, true);
		send_error(c, j->verdict == PUSH_E_TOO_MANY ? "too_many_devices" : "link_invalid",
			   CLOSE_AUTH_FAILED);
	} else {
		struct mp_msg m = {.type = MP_LINKED};

		if (!become_authed(c, &j->dev))
			goto out;
		log_device(j->again ? "linked (again)" : "linked", c, j->ref.account_id, false);
		memcpy(m.linked.device_id, j->dev.id, AUTHD_ID_LEN);
		snprintf(m.linked.account, sizeof(m.linked.account), "%s", j->email);
		queue_msg(c, &m);
		send_ready(c, false);
	}
out:
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void on_link(struct device_conn *c, const struct mp_link *l)
{
	uint8_t in[MP_SIGNED_MAX];
	size_t len;
	struct link_job *j;

	int rc;

	if (mp_key_acceptable(l->public_key) != 0) {
		attempt_failed(c);
		send_error(c, "invalid_key", CLOSE_AUTH_FAILED);
		return;
	}
	/* The key must be the one that signed: a device proves it holds it. */
	rc = mp_signed_link(c->nonce, l->secret, l->public_key, l->name, in, &len);
	if (rc == 0)
		rc = mp_verify(l->public_key, in, len, l->sig);
	OPENSSL_cleanse(in, sizeof(in)); /* it holds the link secret */
	if (rc != 0) {
		attempt_failed(c);
		send_error(c, "bad_signature", CLOSE_AUTH_FAILED);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	j->c = c;
	push_link_ref(l->secret, &j->ref);
	memcpy(j->public_key, l->public_key, MP_KEY_LEN);
	memcpy(j->name, l->name, sizeof(j->name));
	j->now = authd_now();
	memcpy(j->ip, c->ip, sizeof(j->ip));
	geoip_locate(c->ip, j->location, sizeof(j->location));
	j->job.txn_work = link_txn;
	j->job.done = link_done;
	c->jobs++;
	store_write(&j->job);
}

/* --- auth --------------------------------------------------------------------------- */

struct auth_job {
	struct job job;
	struct device_conn *c;
	uint8_t device_id[AUTHD_ID_LEN];
	uint8_t sig[MP_SIG_LEN];
	int64_t now;
	char ip[48];
	char location[PUSH_LOCATION_MAX + 1];
	/* out */
	bool found;
	struct push_device dev;
};

static int auth_read_txn(struct job *job, struct store_txn *txn)
{
	struct auth_job *j = (struct auth_job *)job;
	int rc = store_device_get(txn, j->device_id, &j->dev);

	j->found = rc == 0;
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

/* Records where the device was last seen; a device removed meanwhile is
 * left removed. */
static int seen_txn(struct job *job, struct store_txn *txn)
{
	struct auth_job *j = (struct auth_job *)job;
	struct push_device d;
	int rc = store_device_get(txn, j->device_id, &d);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	d.last_seen = j->now;
	snprintf(d.last_ip, sizeof(d.last_ip), "%s", j->ip);
	snprintf(d.last_location, sizeof(d.last_location), "%s", j->location);
	rotation_touch_device(&d); /* written anyway: sealed with the current key */
	rc = store_device_put(txn, &d);
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

static void seen_done(struct job *job)
{
	struct auth_job *j = (struct auth_job *)job;

	if (job->store_rc != 0)
		log_warn("device last-seen not recorded store=%d", job->store_rc);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void auth_done(struct job *job)
{
	struct auth_job *j = (struct auth_job *)job;
	struct device_conn *c = j->c;
	uint8_t in[MP_SIGNED_MAX];
	size_t len;

	if (!conn_resume(c)) {
		OPENSSL_cleanse(j, sizeof(*j));
		free(j);
		return;
	}
	if (job->store_rc != 0) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	} else if (c->revoked || !j->found ||
		   mp_signed_auth(c->nonce, j->device_id, in, &len) != 0 ||
		   mp_verify(j->dev.public_key, in, len, j->sig) != 0) {
		/* An unknown device and a wrong key read the same. */
		attempt_failed(c);
		log_device("auth refused", c, j->found ? j->dev.account_id : NULL, true);
		send_error(c, "unknown_device", CLOSE_AUTH_FAILED);
	} else {
		if (!become_authed(c, &j->dev)) {
			OPENSSL_cleanse(j, sizeof(*j));
			free(j);
			return;
		}
		log_device("connected", c, j->dev.account_id, false);
		send_ready(c, false);
		/* Last seen: written after, nobody waits for it. */
		j->job.txn_work = seen_txn;
		j->job.done = seen_done;
		j->job.store_rc = 0;
		store_write(&j->job);
		return;
	}
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void on_auth(struct device_conn *c, const struct mp_auth *a)
{
	struct auth_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	j->c = c;
	/* The device it claims: a removal meanwhile finds it here. */
	memcpy(c->device_id, a->device_id, AUTHD_ID_LEN);
	memcpy(j->device_id, a->device_id, AUTHD_ID_LEN);
	memcpy(j->sig, a->sig, MP_SIG_LEN);
	j->now = authd_now();
	memcpy(j->ip, c->ip, sizeof(j->ip));
	geoip_locate(c->ip, j->location, sizeof(j->location));
	j->job.txn_work = auth_read_txn;
	j->job.done = auth_done;
	c->jobs++;
	store_read(&j->job);
}

/* --- answers ------------------------------------------------------------------------ */

/*
 * An answer goes in two jobs: a read of the challenge (its nonce is what
 * the signature covers), the signature checked on the loop, then a write
 * that decides on the challenge as it is then (push_answer) and records
 * what follows: the account's push history, a failed second factor for a
 * wrong number, the end of the login for anything but an approval.
 */
#define CANCEL_MAX (PUSH_PENDING_MAX + 1)

struct answer_job {
	struct job job;
	struct device_conn *c;
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t device_id[AUTHD_ID_LEN];
	uint8_t public_key[MP_KEY_LEN]; /* the key the signature was checked with */
	struct mp_answer a;
	int64_t now;
	char ip[48];
	/* the read */
	bool found;
	struct push_challenge ch;
	/* the write */
	int verdict;	  /* 0 recorded, PUSH_E_EXPIRED, PUSH_E_ANSWERED, PUSH_E_PAUSED,
			   * PUSH_E_INVALID (gone) */
	bool device_gone; /* removed (or re-keyed) since the channel authenticated */
	bool login_gone;  /* its login ended meanwhile: the challenge was cancelled */
	bool paused_now;
	bool locked;
	/* the account's other waiting challenges, cancelled by a pause */
	uint8_t cancelled[CANCEL_MAX][AUTHD_ID_LEN];
	unsigned n_cancelled;
};

struct cancel_scan {
	struct answer_job *j;
	struct push_challenge list[CANCEL_MAX];
	unsigned n;
};

static int pending_other(void *arg, const struct push_challenge *ch)
{
	struct cancel_scan *s = arg;
	struct push_challenge tmp = *ch;

	if (memcmp(tmp.id, s->j->ch.id, AUTHD_ID_LEN) != 0 &&
	    push_challenge_state(&tmp, s->j->now) == PUSH_PENDING && s->n < CANCEL_MAX)
		s->list[s->n++] = tmp;
	return 0;
}

/* Push paused: no other waiting challenge of the account may log anyone
 * in, so each is cancelled (and withdrawn once this commits). */
static int cancel_others(struct answer_job *j, struct store_txn *txn)
{
	struct cancel_scan scan = {.j = j};
	int rc = store_challenges_list(txn, j->account_id, pending_other, &scan);

	for (unsigned i = 0; rc == 0 && i < scan.n; i++) {
		struct cluster_event e = {.kind = CLUSTER_WITHDRAW,
					  .reason = MP_WITHDRAW_CANCELLED};

		if (!push_cancel(&scan.list[i], j->now))
			continue;
		memcpy(e.account_id, j->account_id, AUTHD_ID_LEN);
		memcpy(e.id, scan.list[i].id, AUTHD_ID_LEN);
		if ((rc = store_challenge_put(txn, &scan.list[i])) == 0 &&
		    (rc = cluster_publish(txn, &e)) == 0)
			memcpy(j->cancelled[j->n_cancelled++], scan.list[i].id, AUTHD_ID_LEN);
	}
	return rc;
}

static void answer_result(struct device_conn *c, const uint8_t id[MP_ID_LEN], const char *code)
{
	struct mp_msg m = {.type = MP_ANSWER_RESULT};

	memcpy(m.answer_result.id, id, MP_ID_LEN);
	m.answer_result.accepted = code == NULL;
	if (code)
		snprintf(m.answer_result.code, sizeof(m.answer_result.code), "%s", code);
	queue_msg(c, &m);
}

static int answer_read_txn(struct job *job, struct store_txn *txn)
{
	struct answer_job *j = (struct answer_job *)job;
	int rc = store_challenge_get(txn, j->account_id, j->a.id, &j->ch);

	j->found = rc == 0;
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

static int answer_write_txn(struct job *job, struct store_txn *txn)
{
	struct answer_job *j = (struct answer_job *)job;
	struct push_account acct;
	struct push_device dev;
	struct core_factor_hist hist;
	struct token_ref login;
	struct login l = {0};
	struct push_challenge tmp;
	struct cluster_event answered = {.kind = CLUSTER_ANSWERED};
	struct cluster_event ended = {
	    .kind = CLUSTER_WITHDRAW, .reason = MP_WITHDRAW_ANSWERED, .has_except = true};
	enum push_state s;
	int rc;

	j->paused_now = j->locked = j->device_gone = j->login_gone = false;
	j->n_cancelled = 0;
	/* The device must still be linked, with the key that signed. */
	rc = store_device_get(txn, j->device_id, &dev);
	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && (memcmp(dev.account_id, j->account_id, AUTHD_ID_LEN) != 0 ||
			 CRYPTO_memcmp(dev.public_key, j->public_key, MP_KEY_LEN) != 0))) {
		j->device_gone = true;
		OPENSSL_cleanse(&dev, sizeof(dev));
		return 0;
	}
	OPENSSL_cleanse(&dev, sizeof(dev));
	if (rc != 0)
		return rc;
	if ((rc = store_challenge_get(txn, j->account_id, j->a.id, &j->ch)) == STORE_E_NOTFOUND) {
		j->verdict = PUSH_E_INVALID; /* swept meanwhile */
		return 0;
	}
	if (rc != 0)
		return rc;
	/* A challenge still waiting whose login ended meanwhile (a TOTP or
	 * backup code finished it, or it timed out) ends with it. */
	memcpy(login.account_id, j->account_id, AUTHD_ID_LEN);
	memcpy(login.hash, j->ch.login_hash, AUTHD_HASH_LEN);
	tmp = j->ch;
	rc = push_challenge_state(&tmp, j->now) == PUSH_PENDING ? store_login_get(txn, &login, &l)
								: 0;
	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && push_challenge_state(&tmp, j->now) == PUSH_PENDING &&
	     j->now >= l.expires_at)) {
		j->verdict = PUSH_E_EXPIRED;
		if (!push_cancel(&j->ch, j->now))
			return 0;
		memcpy(ended.account_id, j->account_id, AUTHD_ID_LEN);
		memcpy(ended.id, j->ch.id, AUTHD_ID_LEN);
		ended.reason = MP_WITHDRAW_CANCELLED;
		ended.has_except = false;
		j->login_gone = true;
		if ((rc = store_challenge_put(txn, &j->ch)) != 0)
			return rc;
		return cluster_publish(txn, &ended);
	}
	if (rc != 0 || (rc = store_push_account_get(txn, j->account_id, &acct)) != 0)
		return rc;
	j->verdict = push_answer(&j->ch, &acct, j->device_id, j->a.decision, j->a.number, j->now,
				 &j->paused_now);
	/* The pages waiting for the login look again, wherever they wait. */
	memcpy(answered.account_id, j->account_id, AUTHD_ID_LEN);
	memcpy(answered.login_hash, j->ch.login_hash, AUTHD_HASH_LEN);
	if (j->verdict == PUSH_E_PAUSED) {
		/* Cancelled: the page hears it, the other devices hide it. */
		memcpy(ended.account_id, j->account_id, AUTHD_ID_LEN);
		memcpy(ended.id, j->ch.id, AUTHD_ID_LEN);
		ended.reason = MP_WITHDRAW_CANCELLED;
		ended.has_except = false;
		if ((rc = store_challenge_put(txn, &j->ch)) != 0 ||
		    (rc = cluster_publish(txn, &ended)) != 0)
			return rc;
		return cluster_publish(txn, &answered);
	}
	if (j->verdict != 0)
		return 0;
	memcpy(ended.account_id, j->account_id, AUTHD_ID_LEN);
	memcpy(ended.id, j->ch.id, AUTHD_ID_LEN);
	memcpy(ended.except, j->device_id, AUTHD_ID_LEN);
	if ((rc = store_challenge_put(txn, &j->ch)) != 0 ||
	    (rc = store_push_account_put(txn, j->account_id, &acct)) != 0 ||
	    (rc = cluster_publish(txn, &ended)) != 0 || (rc = cluster_publish(txn, &answered)) != 0)
		return rc;
	s = (enum push_state)j->ch.state;
	/* Events name the login attempt's address, not the phone's. */
	if (s == PUSH_WRONG_NUMBER) {
		/* A wrong number is a wrong second factor. */
		if ((rc = factor_hist_read(txn, j->account_id, &hist)) != 0)
			return rc;
		core_factor_failure(&hist, j->now);
		j->locked = hist.locked_now;
		if ((rc = factor_hist_write(txn, j->account_id, &hist, j->now, j->ch.ctx.ip)) != 0)
			return rc;
	}
	if (j->paused_now && ((rc = factor_event(txn, j->account_id, EVENT_PUSH_PAUSED, j->now,
						 j->ch.ctx.ip)) != 0 ||
			      (rc = cancel_others(j, txn)) != 0))
		return rc;
	if (s == PUSH_APPROVED)
		return 0;
	/* The page's sign-in, refused on the device (its activity line; an
	 * approval's is written when the page takes its session). */
	if ((rc = factor_login_event(txn, j->account_id, EVENT_M_PUSH,
				     s == PUSH_WRONG_NUMBER ? EVENT_O_FAILURE : EVENT_O_DENIED,
				     j->now, j->ch.ctx.ip, j->ch.ctx.browser)) != 0)
		return rc;
	/* Denied, not me, a wrong number: the login is over. */
	memcpy(login.account_id, j->account_id, AUTHD_ID_LEN);
	memcpy(login.hash, j->ch.login_hash, AUTHD_HASH_LEN);
	return store_login_del(txn, &login);
}

/* The answer's result for its device, or NULL for "accepted". */
static const char *refusal(const struct answer_job *j, int store_rc)
{
	if (store_rc != 0)
		return "unavailable";
	if (j->verdict == PUSH_E_EXPIRED)
		return "expired";
	if (j->verdict == PUSH_E_ANSWERED)
		return "answered";
	if (j->verdict == PUSH_E_PAUSED)
		return "push_paused";
	if (j->verdict != 0)
		return "unknown_challenge";
	return j->ch.state == PUSH_WRONG_NUMBER ? "wrong_number" : NULL;
}

static void answer_written(struct job *job)
{
	struct answer_job *j = (struct answer_job *)job;
	bool recorded = job->store_rc == 0 && !j->device_gone && j->verdict == 0;
	char aid[AUTHD_ID_HEX + 1];

	/* The device hears first how its answer went, then the rest follows. */
	if (conn_resume(j->c) && !j->device_gone)
		answer_result(j->c, j->a.id, refusal(j, job->store_rc));
	if (job->store_rc != 0)
		goto out;
	if (j->device_gone) {
		/* Removed meanwhile (maybe through another node): its channels
		 * end as a revoked one's would. */
		ws_device_revoked(j->device_id);
		goto out;
	}
	if (recorded) {
		authd_hex(j->account_id, AUTHD_ID_LEN, aid);
		log_info("auth method=push outcome=%s account=%s ip=%s",
			 push_state_name((enum push_state)j->ch.state), aid, j->ch.ctx.ip);
		metrics_auth("push_answer", push_state_name((enum push_state)j->ch.state));
		if (j->paused_now)
			log_warn("security event=push_paused account=%s", aid);
		if (j->locked)
			log_warn("security event=second_factor_locked account=%s ip=%s", aid,
				 j->ch.ctx.ip);
		ws_device_withdraw(j->account_id, j->ch.id, MP_WITHDRAW_ANSWERED, j->device_id);
		for (unsigned i = 0; i < j->n_cancelled; i++)
			ws_device_withdraw(j->account_id, j->cancelled[i], MP_WITHDRAW_CANCELLED,
					   NULL);
	}
	if (j->verdict == PUSH_E_PAUSED || j->login_gone)
		ws_device_withdraw(j->account_id, j->ch.id, MP_WITHDRAW_CANCELLED, j->device_id);
	if (recorded || j->verdict == PUSH_E_PAUSED)
		push_wait_wake(j->account_id, j->ch.login_hash);
out:
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void answer_read(struct job *job)
{
	struct answer_job *j = (struct answer_job *)job;
	struct device_conn *c = j->c;
	uint8_t in[MP_SIGNED_MAX];
	size_t len;

	if (!conn_resume(c)) {
		free(j);
		return;
	}
	if (job->store_rc != 0) {
		answer_result(c, j->a.id, "unavailable");
		free(j);
		return;
	}
	/* Another account's challenge is no challenge of this device. */
	if (!j->found) {
		answer_result(c, j->a.id, "unknown_challenge");
		free(j);
		return;
	}
	if (mp_signed_answer(j->ch.id, j->ch.nonce, j->device_id, j->a.decision, j->a.number, in,
			     &len) != 0 ||
	    mp_verify(c->public_key, in, len, j->a.sig) != 0) {
		log_device("answer with a bad signature", c, j->account_id, true);
		answer_result(c, j->a.id, "bad_signature");
		free(j);
		return;
	}
	j->job.txn_work = answer_write_txn;
	j->job.done = answer_written;
	j->job.store_rc = 0;
	c->jobs++;
	store_write(&j->job);
}

static void on_answer(struct device_conn *c, const struct mp_answer *a)
{
	struct answer_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		answer_result(c, a->id, "unavailable");
		return;
	}
	j->c = c;
	memcpy(j->account_id, c->account_id, AUTHD_ID_LEN);
	memcpy(j->device_id, c->device_id, AUTHD_ID_LEN);
	memcpy(j->public_key, c->public_key, MP_KEY_LEN);
	j->a = *a;
	j->now = authd_now();
	memcpy(j->ip, c->ip, sizeof(j->ip));
	j->job.txn_work = answer_read_txn;
	j->job.done = answer_read;
	c->jobs++;
	store_read(&j->job);
}

/* --- wake: where the app's relay reaches it ---------------------------------------- */

struct wake_job {
	struct job job;
	struct device_conn *c;
	uint8_t device_id[AUTHD_ID_LEN];
	uint8_t public_key[MP_KEY_LEN];
	char token[MP_WAKE_TOKEN_MAX + 1];
};

/* Records the token on the device, unless it was removed (or re-keyed)
 * meanwhile. */
static int wake_txn(struct job *job, struct store_txn *txn)
{
	struct wake_job *j = (struct wake_job *)job;
	struct push_device d;
	int rc = store_device_get(txn, j->device_id, &d);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc == 0 && CRYPTO_memcmp(d.public_key, j->public_key, MP_KEY_LEN) == 0 &&
	    strcmp(d.wake_token, j->token) != 0) {
		snprintf(d.wake_token, sizeof(d.wake_token), "%s", j->token);
		rc = store_device_put(txn, &d);
	}
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

static void wake_done(struct job *job)
{
	struct wake_job *j = (struct wake_job *)job;

	j->c->wake_busy = false;
	if (conn_resume(j->c) && job->store_rc != 0)
		send_error(j->c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void on_wake(struct device_conn *c, const struct mp_wake *w)
{
	struct wake_job *j;

	/* One at a time: a device that floods wake messages does not flood
	 * the writer (an app sends one after it connects). */
	if (c->wake_busy) {
		send_error(c, "rate_limited", CLOSE_RATE_LIMITED);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		send_error(c, "unavailable", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	j->c = c;
	memcpy(j->device_id, c->device_id, AUTHD_ID_LEN);
	memcpy(j->public_key, c->public_key, MP_KEY_LEN);
	memcpy(j->token, w->token, sizeof(j->token));
	j->job.txn_work = wake_txn;
	j->job.done = wake_done;
	c->jobs++;
	c->wake_busy = true;
	store_write(&j->job);
}

bool ws_device_connected(const uint8_t account_id[AUTHD_ID_LEN],
			 const uint8_t device_id[AUTHD_ID_LEN])
{
	for (struct device_conn *c = chain_of(account_id); c; c = c->next_of_account)
		if (of_account(c, account_id) && memcmp(c->device_id, device_id, AUTHD_ID_LEN) == 0)
			return true;
	return false;
}

/* --- messages ------------------------------------------------------------------------- */

static void on_message(struct device_conn *c, const char *text, size_t len)
{
	struct mp_msg m;
	int rc = mp_msg_decode(text, len, false, &m);

	if (rc == MP_E_UNKNOWN_TYPE || (rc == 0 && !mp_type_from_device(m.type))) {
		send_error(c, "unknown_type", CLOSE_INVALID);
		return;
	}
	if (rc != 0) {
		send_error(c, "invalid_message", CLOSE_INVALID);
		return;
	}
	switch (m.type) {
	case MP_LINK:
	case MP_AUTH:
		/* Once, first: the nonce is good for one attempt. */
		if (c->state != C_UNAUTH) {
			send_error(c, "invalid_message", CLOSE_INVALID);
			break;
		}
		c->state = C_BUSY;
		if (rate_limited_or_close(c))
			break;
		if (m.type == MP_LINK)
			on_link(c, &m.link);
		else
			on_auth(c, &m.auth);
		break;
	default: /* MP_ANSWER, MP_WAKE */
		if (c->state != C_AUTHED) {
			send_error(c, "not_authenticated", CLOSE_AUTH_FAILED);
			break;
		}
		if (m.type == MP_WAKE)
			on_wake(c, &m.wake);
		else
			on_answer(c, &m.answer);
		break;
	}
	OPENSSL_cleanse(&m, sizeof(m));
}

/* A whole text message: lws checks UTF-8 frame by frame, but not a message
 * whose last frame is empty and cuts a character (RFC 6455 8.1: 1007). */
static void whole_message(struct device_conn *c, const char *in, size_t len)
{
	if (!authd_utf8_valid(in, len)) {
		close_with(c, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
		return;
	}
	on_message(c, in, len);
}

/* Collects a message's frames; false after closing (too large). */
static bool receive(struct device_conn *c, struct lws *wsi, const char *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);

	if (first && last && c->rx == NULL && lws_remaining_packet_payload(wsi) == 0) {
		whole_message(c, in, len);
		return true;
	}
	if (c->rx == NULL && (c->rx = malloc(MP_FRAME_MAX + 1)) == NULL) {
		close_with(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return false;
	}
	if (c->rx_len + len > MP_FRAME_MAX) {
		close_with(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		return false;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (last && lws_remaining_packet_payload(wsi) == 0) {
		whole_message(c, c->rx, c->rx_len);
		OPENSSL_cleanse(c->rx, c->rx_len);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
	}
	return true;
}

/* --- the protocol ----------------------------------------------------------------------- */

enum api_error ws_device_upgrade_check(struct lws *wsi)
{
	return server_upgrade_check(wsi, "/1/device", MP_SUBPROTOCOL);
}

int ws_device_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	struct pss_device *pss = user;
	struct device_conn *c = pss ? pss->conn : NULL;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_device_upgrade_check(wsi) == E_OK ? 0 : 1;

	case LWS_CALLBACK_ESTABLISHED: {
		struct mp_msg m = {.type = MP_HELLO};

		if (pss == NULL || (c = calloc(1, sizeof(*c))) == NULL)
			return -1;
		c->out = (struct ws_out)WS_OUT_INIT(OUT_QUEUE_MAX);
		pss->conn = c;
		c->wsi = wsi;
		c->last_heard_ms = authd_mono_ms();
		server_client_ip(wsi, c->ip, sizeof(c->ip));
		authd_random(c->nonce, sizeof(c->nonce));
		lws_dll2_add_tail(&c->list, &conns);
		lws_sul_schedule(lws_get_context(wsi), 0, &c->deadline, deadline_passed,
				 AUTH_DEADLINE_S * LWS_US_PER_SEC);
		memcpy(m.hello.nonce, c->nonce, MP_NONCE_LEN);
		m.hello.server_time = authd_now();
		queue_msg(c, &m);
		return 0;
	}

	case LWS_CALLBACK_RECEIVE_PONG:
		if (c)
			heard(c);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return ws_out_peer_close(in, len);

	case LWS_CALLBACK_RECEIVE:
		if (c == NULL || ws_out_closing(&c->out))
			return 0;
		heard(c);
		if (lws_frame_is_binary(wsi)) {
			close_with(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
			return 0;
		}
		receive(c, wsi, in, len);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c == NULL)
			return 0;
		if (c->ping_wanted && !ws_out_closing(&c->out)) {
			/* A payload: lws 4.1 reports no pong to an empty ping. */
			unsigned char ping[LWS_PRE + 4] = {0};

			memcpy(ping + LWS_PRE, "live", 4);
			c->ping_wanted = false;
			if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
				return -1;
			if (c->out.head)
				lws_callback_on_writable(wsi);
			return 0;
		}
		return ws_out_writable(&c->out, wsi);

	case LWS_CALLBACK_CLOSED:
		/* Also for a refused upgrade, which has no conn. */
		if (c == NULL)
			return 0;
		pss->conn = NULL;
		lws_sul_cancel(&c->deadline);
		lws_dll2_remove(&c->list);
		index_del(c);
		c->wsi = NULL;
		if (c->jobs == 0)
			conn_free(c);
		return 0;

	default:
		break;
	}
	return 0;
}

_Static_assert(sizeof(struct pss_device) == sizeof(void *),
	       "WS_DEVICE_PROTOCOL's per-session size");

void ws_device_revoked(const uint8_t device_id[AUTHD_ID_LEN])
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&conns))
	{
		struct device_conn *c = lws_container_of(d, struct device_conn, list);

		if (c->state == C_BUSY && memcmp(c->device_id, device_id, AUTHD_ID_LEN) == 0)
			c->revoked = true; /* its auth, under way, will be refused */
		if (c->state == C_AUTHED && memcmp(c->device_id, device_id, AUTHD_ID_LEN) == 0) {
			struct mp_msg m = {.type = MP_REVOKED};

			memcpy(m.revoked.device_id, device_id, AUTHD_ID_LEN);
			queue_msg(c, &m);
			close_with(c, CLOSE_REVOKED);
			log_device("revoked", c, NULL, false);
		}
	}
	lws_end_foreach_dll(d);
}

void ws_device_deliver(const struct push_challenge *ch, const char *account)
{
	for (struct device_conn *c = chain_of(ch->account_id); c; c = c->next_of_account)
		if (of_account(c, ch->account_id))
			send_challenge(c, ch, account);
}

void ws_device_withdraw(const uint8_t account_id[AUTHD_ID_LEN],
			const uint8_t challenge_id[MP_ID_LEN], enum mp_withdraw_reason why,
			const uint8_t *except)
{
	for (struct device_conn *c = chain_of(account_id); c; c = c->next_of_account)
		if (of_account(c, account_id) &&
		    (except == NULL || memcmp(c->device_id, except, AUTHD_ID_LEN) != 0))
			send_withdraw(c, challenge_id, why);
}

/* --- keeping channels alive ----------------------------------------------------------- */

/*
 * One timer for every channel (not lws's per-connection validity timers,
 * see server.c): a channel the device has been silent on for ping_s gets a
 * ping; one that then stays silent for ping_s more is dropped (a phone
 * gone without a close, a NAT that forgot the connection), and the device
 * reconnects when it can. A pass looks at each channel once (a few
 * milliseconds for 20 000) every ping_s / 4.
 */
static lws_sorted_usec_list_t ping_timer;
static struct lws_context *ping_ctx;

static void heard(struct device_conn *c)
{
	c->last_heard_ms = authd_mono_ms();
	c->ping_sent_ms = 0;
}

static int64_t ping_every_ms(void)
{
	return (int64_t)srv.cfg.channel_ping_s * 1000;
}

static void ping_pass(lws_sorted_usec_list_t *sul)
{
	int64_t now = authd_mono_ms(), every = ping_every_ms();

	/* (No `continue` in lws_start_foreach_dll: it would skip the step.) */
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&conns))
	{
		struct device_conn *c = lws_container_of(d, struct device_conn, list);

		if (c->wsi == NULL || ws_out_closing(&c->out) || c->state != C_AUTHED) {
			/* not a channel to keep alive */
		} else if (c->ping_sent_ms && now - c->ping_sent_ms >= every) {
			log_device("silent: dropped", c, c->account_id, false);
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (!c->ping_sent_ms && now - c->last_heard_ms >= every) {
			c->ping_sent_ms = now;
			c->ping_wanted = true;
			lws_callback_on_writable(c->wsi);
		}
	}
	lws_end_foreach_dll(d);
	lws_sul_schedule(ping_ctx, 0, sul, ping_pass, every * 1000 / 4);
}

void ws_device_start(struct lws_context *ctx)
{
	ping_ctx = ctx;
	lws_sul_schedule(ctx, 0, &ping_timer, ping_pass, ping_every_ms() * 1000 / 4);
}

void ws_device_stop(void)
{
	if (ping_ctx)
		lws_sul_cancel(&ping_timer);
	ping_ctx = NULL;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&conns))
	{
		struct device_conn *c = lws_container_of(d, struct device_conn, list);

		lws_sul_cancel(&c->deadline);
	}
	lws_end_foreach_dll_safe(d, d1);
}
