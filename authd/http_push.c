/*
 * Push approval for the login page (after the password step):
 *
 *   POST /1/login/push {"login_id"}   sends a challenge to every device of
 *        the account (push/challenge.c decides: caps, pause) and answers
 *        the number the page shows;
 *   POST /1/login/wait {"login_id", "timeout"}   holds the request until
 *        the challenge is answered, ends, or the timeout passes, and hands
 *        an approved login its session (as a TOTP step would).
 *
 * The stored challenge is the truth: a waiting page reads it again when an
 * answer is recorded (push_wait_wake: on this node, or on another through
 * cluster.h) and at least every second, so a lost note only delays it.
 */
#include "http_push.h"
#include "metrics.h"

#include "cluster.h"
#include "factors.h"
#include "flow.h"
#include "geoip.h"
#include "http.h"
#include "server.h"
#include "session.h"
#include "wake.h"
#include "ws_device.h"
#include "client.h"

#include <log.h>
#include <push.h>
#include <store.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CONFIG_PUSH_TTL_DEFAULT == PUSH_TTL_DEFAULT && CONFIG_PUSH_TTL_MAX == PUSH_TTL_MAX,
	       "[push] challenge_ttl's bounds are push.h's");

#define WAIT_DEFAULT_S 25
#define WAIT_MAX_S     60

static void context_of(struct req *r, struct push_context *ctx)
{
	char ua[256] = "";

	memset(ctx, 0, sizeof(*ctx));
	if (r->wsi && lws_hdr_copy(r->wsi, ua, sizeof(ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
		ua[0] = '\0';
	snprintf(ctx->ip, sizeof(ctx->ip), "%s", r->ip);
	geoip_locate(r->ip, ctx->location, sizeof(ctx->location));
	client_names(ua, ctx->browser, sizeof(ctx->browser), ctx->os, sizeof(ctx->os));
	snprintf(ctx->application, sizeof(ctx->application), "%s", srv.cfg.issuer);
}

/* --- POST /1/login/push ---------------------------------------------------------------- */

#define CANCEL_MAX (PUSH_PENDING_MAX + 1)

struct push_flow {
	struct flow f;
	struct token_ref login;
	uint8_t rnd[PUSH_CHALLENGE_RANDOM];
	struct push_context ctx;
	/* out */
	struct push_challenge ch;
	char email[EMAIL_MAX + 1];
	/* the login's earlier challenges, still pending: replaced */
	uint8_t cancelled[CANCEL_MAX][AUTHD_ID_LEN];
	unsigned n_cancelled;
	/* the devices an app's relay can wake (wake.h) */
	struct {
		uint8_t device_id[AUTHD_ID_LEN];
		char token[MP_WAKE_TOKEN_MAX + 1];
	} wake[PUSH_DEVICES_MAX];
	unsigned n_wake;
};

static int collect_wake(void *arg, const struct push_device *d)
{
	struct push_flow *j = arg;

	if (d->wake_token[0] && j->n_wake < PUSH_DEVICES_MAX) {
		memcpy(j->wake[j->n_wake].device_id, d->id, AUTHD_ID_LEN);
		memcpy(j->wake[j->n_wake].token, d->wake_token, sizeof(j->wake[0].token));
		j->n_wake++;
	}
	return 0;
}

struct pending_scan {
	struct push_flow *j;
	int64_t now;
	unsigned pending;
	int64_t first_end;
	struct push_challenge mine[CANCEL_MAX]; /* this login's, pending */
	unsigned n_mine;
};

static int scan_challenge(void *arg, const struct push_challenge *c)
{
	struct pending_scan *s = arg;
	struct push_challenge tmp = *c;

	if (push_challenge_state(&tmp, s->now) != PUSH_PENDING)
		return 0;
	if (memcmp(tmp.login_hash, s->j->login.hash, AUTHD_HASH_LEN) == 0 &&
	    s->n_mine < CANCEL_MAX) {
		s->mine[s->n_mine++] = tmp;
		return 0; /* replaced below: not counted */
	}
	s->pending++;
	if (s->first_end == 0 || tmp.expires_at < s->first_end)
		s->first_end = tmp.expires_at;
	return 0;
}

static int push_write(struct flow *f, struct store_txn *txn)
{
	struct push_flow *j = (struct push_flow *)f;
	const uint8_t *id = j->login.account_id;
	struct pending_scan scan = {.j = j, .now = f->now};
	struct cluster_event sent = {.kind = CLUSTER_CHALLENGE};
	struct core_factor_hist hist;
	struct push_account acct;
	struct account a;
	struct login l;
	unsigned devices = 0;
	int rc;

	j->n_cancelled = 0;
	j->n_wake = 0;
	rc = store_login_get(txn, &j->login, &l);
	if (rc == STORE_E_NOTFOUND || (rc == 0 && f->now >= l.expires_at)) {
		f->err = E_LOGIN_EXPIRED;
		return 0;
	}
	if (rc != 0 || (rc = store_devices_count(txn, id, &devices)) != 0)
		return rc;
	if (devices == 0) {
		f->err = E_METHOD_NOT_ENABLED;
		return 0;
	}
	/* The account's second factors are throttled and locked as one: past
	 * the lock, or within the delay, no push goes out either. */
	if ((rc = factor_hist_read(txn, id, &hist)) != 0)
		return rc;
	if (throttle_factor_locked(&hist.factor)) {
		f->err = E_SECOND_FACTOR_LOCKED;
		return 0;
	}
	f->retry_after = throttle_retry_after(&hist.factor, &throttle_factor_policy, f->now, 0);
	if (f->retry_after > 0) {
		f->err = E_TOO_MANY_ATTEMPTS;
		return 0;
	}
	if ((rc = store_push_account_get(txn, id, &acct)) != 0 ||
	    (rc = store_challenges_list(txn, id, scan_challenge, &scan)) != 0)
		return rc;
	rc = push_challenge_new(&j->ch, &acct, scan.pending, scan.first_end, id, j->login.hash,
				&j->ctx, j->rnd, srv.cfg.push_ttl_s, f->now, &f->retry_after);
	if (rc == PUSH_E_PAUSED) {
		f->err = E_PUSH_PAUSED;
		return 0;
	}
	if (rc == PUSH_E_THROTTLED) {
		f->err = E_TOO_MANY_PUSHES;
		return 0;
	}
	if (rc != 0)
		return STORE_E_IO;
	/* Sent again: the login's earlier challenge is withdrawn. */
	for (unsigned i = 0; i < scan.n_mine; i++) {
		struct cluster_event w = {.kind = CLUSTER_WITHDRAW,
					  .reason = MP_WITHDRAW_CANCELLED};

		if (!push_cancel(&scan.mine[i], f->now))
			continue;
		memcpy(w.account_id, id, AUTHD_ID_LEN);
		memcpy(w.id, scan.mine[i].id, AUTHD_ID_LEN);
		if ((rc = store_challenge_put(txn, &scan.mine[i])) != 0 ||
		    (rc = cluster_publish(txn, &w)) != 0)
			return rc;
		memcpy(j->cancelled[j->n_cancelled++], scan.mine[i].id, AUTHD_ID_LEN);
	}
	memcpy(sent.account_id, id, AUTHD_ID_LEN);
	memcpy(sent.id, j->ch.id, AUTHD_ID_LEN);
	if ((rc = store_challenge_put(txn, &j->ch)) != 0 ||
	    (rc = cluster_publish(txn, &sent)) != 0 ||
	    (rc = store_push_account_put(txn, id, &acct)) != 0 ||
	    (rc = store_account_get(txn, id, &a)) != 0)
		return rc;
	memcpy(j->email, a.email, sizeof(j->email));
	OPENSSL_cleanse(&a, sizeof(a));
	return wake_enabled() ? store_devices_list(txn, id, collect_wake, j) : 0;
}

/* Durable: the devices on this node hear of it now; sleeping apps are
 * woken (those with a channel here need not be). */
static void push_written(struct flow *f)
{
	struct push_flow *j = (struct push_flow *)f;

	if (f->job.store_rc != 0 || f->err != E_OK)
		return;
	for (unsigned i = 0; i < j->n_cancelled; i++)
		ws_device_withdraw(j->login.account_id, j->cancelled[i], MP_WITHDRAW_CANCELLED,
				   NULL);
	ws_device_deliver(&j->ch, j->email);
	for (unsigned i = 0; i < j->n_wake; i++)
		if (!ws_device_connected(j->login.account_id, j->wake[i].device_id))
			wake_post(j->wake[i].token);
}

static void push_reply(struct flow *f, struct req *r)
{
	struct push_flow *j = (struct push_flow *)f;
	char aid[AUTHD_ID_HEX + 1], expires[21];

	authd_hex(j->login.account_id, AUTHD_ID_LEN, aid);
	if (f->err == E_TOO_MANY_PUSHES) {
		char v[24];

		snprintf(v, sizeof(v), "%lld",
			 (long long)(f->retry_after > 0 ? f->retry_after : 1));
		req_add_header(r, "Retry-After", v);
		reply_error(r, E_TOO_MANY_PUSHES);
		return;
	}
	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_info("push sent account=%s ip=%s req=%llu", aid, r->ip, (unsigned long long)r->id);
	metrics_auth("push", "sent");
	authd_time_str(j->ch.expires_at, expires);
	reply_json(r, 200,
		   json_pack("{s:i, s:s, s:I}", "number", j->ch.number, "expires_at", expires,
			     "expires_in", (json_int_t)(j->ch.expires_at - f->now)));
}

static void push_release(struct flow *f)
{
	struct push_flow *j = (struct push_flow *)f;

	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static const struct flow_ops push_ops = {
    .write = push_write,
    .written = push_written,
    .reply = push_reply,
    .release = push_release,
};

/* The login the body's "login_id" names into *login; the body is wiped
 * and released either way. False after replying. */
static bool login_or_reply(struct req *r, json_t *body, struct token_ref *login)
{
	size_t len = 0;
	const char *id = json_str(body, "login_id", &len);
	bool ok = token_parse(id, len, login);

	json_wipe_decref(body);
	if (!ok)
		reply_error(r, E_LOGIN_EXPIRED);
	return ok;
}

void http_login_push(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"login_id", JSON_STRING, true, 128},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct token_ref login;
	struct push_flow *j;

	if (body == NULL || !login_or_reply(r, body, &login))
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->login = login;
	authd_random(j->rnd, sizeof(j->rnd));
	context_of(r, &j->ctx);
	flow_start(&j->f, &push_ops, r);
}

/* --- waiting for the answer (POST /1/login/wait, and ws_login_wait.c) ------------------- */

struct waiter {
	struct job job;
	const struct push_wait_sink *sink;
	void *owner;
	lws_dll2_t list; /* in waiters */
	lws_sorted_usec_list_t sul;
	struct token_ref login;
	char ip[48]; /* the page's address */
	char browser[SESSION_BROWSER_MAX + 1];
	uint64_t req_id;     /* for the log */
	int64_t deadline_us; /* monotonic; INT64_MAX: until the login ends */
	bool busy;	     /* a job runs for it */
	bool again;	     /* woken while busy: read once more */
	bool told_pending;   /* sink->pending was called */
	/* the read */
	bool login_found;
	bool found;
	struct push_challenge ch;
	/* the claim */
	struct new_token token;
	bool claimed;
};

static lws_dll2_owner_t waiters;

static void waiter_free(struct waiter *w)
{
	lws_sul_cancel(&w->sul);
	lws_dll2_remove(&w->list);
	token_clear(&w->token);
	OPENSSL_cleanse(w, sizeof(*w));
	free(w);
}

/* The page's answer: a state, or an error (also frees w). */
static void waiter_finish(struct waiter *w, const char *state, enum api_error err)
{
	w->sink->finish(w->owner, state, NULL, err);
	waiter_free(w);
}

/* False (and w freed) when the page went away meanwhile. */
static bool waiter_resume(struct waiter *w)
{
	if (w->sink->resume(w->owner))
		return true;
	waiter_free(w);
	return false;
}

/* The login's latest challenge. */
static int latest_of_login(void *arg, const struct push_challenge *c)
{
	struct waiter *w = arg;

	if (memcmp(c->login_hash, w->login.hash, AUTHD_HASH_LEN) != 0)
		return 0;
	/* The newest; within one second, the one not replaced by another. */
	if (!w->found || c->created_at > w->ch.created_at ||
	    (c->created_at == w->ch.created_at && w->ch.state == PUSH_CANCELLED)) {
		w->ch = *c;
		w->found = true;
	}
	return 0;
}

static int look_txn(struct job *job, struct store_txn *txn)
{
	struct waiter *w = (struct waiter *)job;
	struct login l;
	int rc;

	w->found = false;
	rc = store_login_get(txn, &w->login, &l);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	w->login_found = rc == 0 && authd_now() < l.expires_at;
	return store_challenges_list(txn, w->login.account_id, latest_of_login, w);
}

/* The approved challenge becomes this page's session, once. */
static int claim_txn(struct job *job, struct store_txn *txn)
{
	struct waiter *w = (struct waiter *)job;
	int64_t now = authd_now();
	struct push_challenge c;
	struct core_factor_hist hist;
	struct account a;
	struct login l;
	int rc;

	w->claimed = false;
	rc = store_login_get(txn, &w->login, &l);
	if (rc == STORE_E_NOTFOUND || (rc == 0 && now >= l.expires_at))
		return 0;
	if (rc != 0 || (rc = store_challenge_get(txn, w->login.account_id, w->ch.id, &c)) != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc;
	if (push_claim(&c, w->login.hash, now) != 0)
		return 0;
	/* A second factor succeeded: the failures in a row are forgotten. */
	if ((rc = factor_hist_read(txn, w->login.account_id, &hist)) != 0)
		return rc;
	core_factor_success(&hist);
	if ((rc = store_challenge_put(txn, &c)) != 0 ||
	    (rc = store_login_del(txn, &w->login)) != 0 ||
	    (rc = factor_hist_write(txn, w->login.account_id, &hist, now, w->ip)) != 0 ||
	    (rc = factor_login_event(txn, w->login.account_id, EVENT_M_PUSH, EVENT_O_SUCCESS, now,
				     w->ip, w->browser)) != 0 ||
	    (rc = store_account_get(txn, w->login.account_id, &a)) != 0)
		return rc;
	rc = session_issue(txn, &w->token.ref, &a, AAL_SECOND_FACTOR, now, w->ip, w->browser);
	OPENSSL_cleanse(&a, sizeof(a));
	w->claimed = rc == 0;
	return rc;
}

static void look(struct waiter *w);

/* A job of w's came back: false when the page went away or the store
 * failed (then answered and w freed). */
static bool waiter_back(struct waiter *w)
{
	w->busy = false;
	if (!waiter_resume(w))
		return false;
	if (w->job.store_rc != 0) {
		waiter_finish(w, NULL, api_error_from_store(w->job.store_rc));
		return false;
	}
	return true;
}

/* Each challenge that expired unanswered is counted once on this node,
 * however many pages wait on it or poll again (loop thread only). */
#define EXPIRED_SEEN 256
static uint8_t expired_seen[EXPIRED_SEEN][AUTHD_ID_LEN];
static size_t expired_next;

static void count_expired(const uint8_t id[AUTHD_ID_LEN])
{
	for (size_t i = 0; i < EXPIRED_SEEN; i++)
		if (memcmp(expired_seen[i], id, AUTHD_ID_LEN) == 0)
			return;
	memcpy(expired_seen[expired_next], id, AUTHD_ID_LEN);
	expired_next = (expired_next + 1) % EXPIRED_SEEN;
	metrics_auth("push", "expired");
}

static void recheck(lws_sorted_usec_list_t *sul)
{
	struct waiter *w = lws_container_of(sul, struct waiter, sul);

	look(w);
}

static void claim_done(struct job *job)
{
	struct waiter *w = (struct waiter *)job;
	char aid[AUTHD_ID_HEX + 1];

	if (!waiter_back(w))
		return;
	if (!w->claimed) {
		waiter_finish(w, "expired", E_OK); /* taken by another page, or the login ended */
		return;
	}
	authd_hex(w->login.account_id, AUTHD_ID_LEN, aid);
	log_info("auth method=push outcome=success account=%s ip=%s req=%llu", aid, w->ip,
		 (unsigned long long)w->req_id);
	metrics_auth("push", "success");
	w->sink->finish(w->owner, "approved", &w->token, E_OK);
	waiter_free(w);
}

/* Holds the page (the sink's owner) for a job or a timer. */
static void waiter_hold(struct waiter *w)
{
	w->sink->hold(w->owner);
}

static void look_done(struct job *job)
{
	struct waiter *w = (struct waiter *)job;
	enum push_state s;

	if (!waiter_back(w))
		return;
	s = w->found ? push_challenge_state(&w->ch, authd_now()) : PUSH_PENDING;
	switch (s) {
	case PUSH_APPROVED:
		if (!w->login_found) {
			waiter_finish(w, "expired", E_OK);
			return;
		}
		token_new(&w->token, w->login.account_id);
		w->job.txn_work = claim_txn;
		w->job.done = claim_done;
		w->job.store_rc = 0;
		w->busy = true;
		waiter_hold(w);
		store_write(&w->job);
		return;
	case PUSH_DENIED:
	case PUSH_NOT_ME:
	case PUSH_WRONG_NUMBER:
		waiter_finish(w, "denied", E_OK);
		return;
	case PUSH_PENDING:
		/* No challenge yet, or one waiting: wait, unless the login is over. */
		if (!w->login_found) {
			waiter_finish(w, "expired", E_OK);
			return;
		}
		break;
	default: /* expired, cancelled, used */
		if (s == PUSH_EXPIRED)
			count_expired(w->ch.id); /* unanswered in time */
		waiter_finish(w, "expired", E_OK);
		return;
	}
	if (!w->told_pending && w->sink->pending) {
		w->told_pending = true;
		w->sink->pending(w->owner);
	}
	if (w->again) {
		/* look() resumes the owner first: hold it again for that. */
		w->again = false;
		waiter_hold(w);
		look(w);
		return;
	}
	{
		int64_t left = w->deadline_us - lws_now_usecs();
		int64_t every = (int64_t)srv.cfg.push_recheck_ms * 1000;

		if (left <= 0) {
			waiter_finish(w, "pending", E_OK);
			return;
		}
		waiter_hold(w);
		lws_sul_schedule(server_context(), 0, &w->sul, recheck,
				 left < every ? left : every);
	}
}

static void look(struct waiter *w)
{
	lws_sul_cancel(&w->sul);
	if (w->busy) {
		w->again = true;
		return;
	}
	/* The page may have gone while it waited. */
	if (!waiter_resume(w))
		return;
	w->busy = true;
	w->found = false;
	w->job.txn_work = look_txn;
	w->job.done = look_done;
	w->job.store_rc = 0;
	waiter_hold(w);
	store_read(&w->job);
}

int push_wait_start(const struct push_wait_sink *sink, void *owner, const struct token_ref *login,
		    const char *ip, const char *browser, uint64_t req_id, int64_t timeout_s)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	w->sink = sink;
	w->owner = owner;
	w->login = *login;
	snprintf(w->ip, sizeof(w->ip), "%s", ip);
	snprintf(w->browser, sizeof(w->browser), "%s", browser);
	w->req_id = req_id;
	w->deadline_us = timeout_s < 0 ? INT64_MAX : lws_now_usecs() + timeout_s * LWS_US_PER_SEC;
	lws_dll2_add_tail(&w->list, &waiters);
	waiter_hold(w); /* look() resumes it first */
	look(w);
	return 0;
}

void push_wait_wake(const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t login_hash[AUTHD_HASH_LEN])
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&waiters))
	{
		struct waiter *w = lws_container_of(d, struct waiter, list);

		if (memcmp(w->login.account_id, account_id, AUTHD_ID_LEN) == 0 &&
		    memcmp(w->login.hash, login_hash, AUTHD_HASH_LEN) == 0)
			look(w);
	}
	lws_end_foreach_dll_safe(d, d1);
}

void push_wait_wake_all(void)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&waiters))
	{
		look(lws_container_of(d, struct waiter, list));
	}
	lws_end_foreach_dll_safe(d, d1);
}

void push_wait_stop(void)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&waiters))
	{
		struct waiter *w = lws_container_of(d, struct waiter, list);

		lws_sul_cancel(&w->sul);
		/* A waiter between reads answers now; one with a job under way
		 * is freed by its done() (the page gone by then). */
		if (!w->busy && waiter_resume(w))
			waiter_finish(w, "pending", E_OK);
	}
	lws_end_foreach_dll_safe(d, d1);
}

/* --- POST /1/login/wait: the long poll ------------------------------------------------- */

static void req_sink_hold(void *owner)
{
	req_hold(owner);
}

static bool req_sink_resume(void *owner)
{
	return req_resume(owner);
}

static void req_sink_finish(void *owner, const char *state, struct new_token *token,
			    enum api_error err)
{
	struct req *r = owner;

	if (err != E_OK)
		reply_error(r, err);
	else if (token)
		reply_session_state(r, token, authd_now(), -1, state);
	else
		reply_json(r, 200, json_pack("{s:s}", "state", state));
}

static const struct push_wait_sink req_sink = {
    .hold = req_sink_hold,
    .resume = req_sink_resume,
    .finish = req_sink_finish,
};

void http_login_wait(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"login_id", JSON_STRING, true, 128},
	    {"timeout", JSON_INTEGER, false, 0},
	};
	json_t *body = json_body_or_reply(r, spec, 2);
	json_t *t;
	json_int_t timeout = WAIT_DEFAULT_S;
	struct token_ref login;

	if (body == NULL)
		return;
	if ((t = json_object_get(body, "timeout")) != NULL)
		timeout = json_integer_value(t);
	if (timeout < 0 || timeout > WAIT_MAX_S) {
		json_wipe_decref(body);
		reply_field_error(r, E_INVALID_FIELD, "timeout", "must be 0 to 60 seconds");
		return;
	}
	if (!login_or_reply(r, body, &login))
		return;
	char browser[SESSION_BROWSER_MAX + 1];

	client_of(r, browser, sizeof(browser));
	if (push_wait_start(&req_sink, r, &login, r->ip, browser, r->id, timeout) != 0)
		reply_error(r, E_OVERLOADED);
	OPENSSL_cleanse(&login, sizeof(login));
}
