/*
 * The request flow behind flow.h: one chain of jobs (read, work, write) and
 * the loop-side steps between them, with the session check and the policy
 * decision done here once for every route.
 */
#include "flow.h"

#include "async.h"
#include "orgs.h"
#include "session.h"
#include "staff.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <log.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <util.h>

/* A session is touched (last-seen refreshed) at most this often. */
#define TOUCH_GRANULARITY 60

/* Test hook (POST /1/_test/fail_writes): how many of the next writes fail
 * once their work has run. Decremented where write_txn runs (the writer,
 * PostgreSQL's threads). */
static atomic_int writes_to_fail;

void flow_test_fail_writes(int n)
{
	atomic_store(&writes_to_fail, n);
}

/* Consumes one injected failure, if one is left. */
static bool take_injected_failure(void)
{
	int n = atomic_load(&writes_to_fail);

	while (n > 0 && !atomic_compare_exchange_weak(&writes_to_fail, &n, n - 1))
		;
	return n > 0;
}

enum api_error flow_policy_error(enum policy_decision d, enum api_error not_found)
{
	switch (d) {
	case POLICY_ALLOW:
		return E_OK;
	case POLICY_DENY_UNAUTHENTICATED:
		return E_UNAUTHENTICATED;
	case POLICY_DENY_REAUTH:
		return E_REAUTH_REQUIRED;
	case POLICY_DENY_LOGIN_EMAIL:
		return E_LOGIN_EMAIL_REQUIRED;
	case POLICY_DENY_NOT_FOUND:
		return not_found;
	case POLICY_DENY_SCOPE:
		return E_INSUFFICIENT_SCOPE;
	case POLICY_DENY_PRESENCE:
		return E_PRESENCE_REQUIRED;
	default:
		return E_FORBIDDEN;
	}
}

/* The flow's principal, for the policy. */
static void principal_of(const struct flow *f, struct principal *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = PRINCIPAL_ANONYMOUS;
	if (policy_needs_session(f->action) && f->has_session) {
		p->kind = f->via_token ? PRINCIPAL_TOKEN : PRINCIPAL_SESSION;
		p->session = &f->session;
		p->scopes = f->api_token.scopes;
	}
	if (f->service)
		p->kind = PRINCIPAL_SERVICE;
	if (f->operator)
		p->kind = PRINCIPAL_OPERATOR;
	p->roles = f->roles;
}

enum api_error flow_decide(struct flow *f, const struct policy_resource *res,
			   enum api_error not_found)
{
	struct principal p;
	/* On the stack: this also runs on PostgreSQL's threads. */
	struct policy_params pp = {srv.cfg.reauth_window_s};

	principal_of(f, &p);
	return flow_policy_error(policy_decide(&pp, &p, f->action, res, f->now), not_found);
}

void flow_start_sized(struct req *r, const struct flow_ops *ops, size_t size)
{
	struct flow *f;
	json_t *body = json_body_or_reply(r, NULL, 0);

	if (body == NULL)
		return;
	json_decref(body);
	f = calloc(1, size < sizeof(*f) ? sizeof(*f) : size);
	if (f == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	flow_start(f, ops, r);
}

void flow_start_bare(struct req *r, const struct flow_ops *ops)
{
	flow_start_sized(r, ops, sizeof(struct flow));
}

void flow_bare_release(struct flow *f)
{
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
}

enum policy_decision flow_decide_act(const struct flow *f, enum policy_action a,
				     const struct policy_resource *res)
{
	struct principal p;
	struct policy_params pp = {srv.cfg.reauth_window_s};

	principal_of(f, &p);
	return policy_decide(&pp, &p, a, res, f->now);
}

enum support_verdict flow_support_use(const struct flow *f, const struct support_grant *g,
				      enum support_kind kind)
{
	struct principal p;

	principal_of(f, &p);
	return policy_support_use(&p, g, kind, f->now);
}

/* The principal's access as stored in txn-time state: E_OK, or why not. */
static enum api_error decide(struct flow *f)
{
	if (policy_needs_session(f->action)) {
		if (!f->has_session)
			return f->via_token ? E_INVALID_TOKEN : E_UNAUTHENTICATED;
		if (f->via_token
			? !core_token_live(&f->api_token, f->now)
			: f->now >= core_session_expires(&f->session, srv.cfg.session_idle_s))
			return f->via_token ? E_INVALID_TOKEN : E_SESSION_EXPIRED;
	}
	return flow_decide(f, NULL, E_NOT_FOUND);
}

/* The operator roles of the session's account, for the actions that need
 * some. */
static void roles_of(struct flow *f)
{
	f->roles = f->has_session && policy_needs_roles(f->action) != 0
		       ? staff_roles(f->session.account_id)
		       : 0;
}

static void release(struct flow *f)
{
	f->ops->release(f);
}

void flow_reply_error(struct flow *f, struct req *r)
{
	if (f->err == E_TOO_MANY_ATTEMPTS || f->err == E_TOO_MANY_MESSAGES ||
	    f->err == E_RATE_LIMITED)
		reply_error_retry(r, f->err, f->retry_after);
	else
		reply_error(r, f->err == E_OK ? E_INTERNAL : f->err);
}

/* The end: reply (or not, when the client has gone) and free. */
static void finish(struct flow *f)
{
	struct req *r = f->req;

	if (r) {
		if (f->job.store_rc != 0)
			reply_error(r, api_error_from_store(f->job.store_rc));
		else if (f->ops->reply)
			f->ops->reply(f, r);
		else if (f->err != E_OK)
			flow_reply_error(f, r);
		else
			reply_empty(r, 204);
	}
	release(f);
}

/* --- an API token ----------------------------------------------------------------- */

/* What the steps see of a token: a session-like principal of its account
 * and organization, with no proof of presence. An organization's token is
 * nobody's account: its own id stands for it (orgs_principal_member gives
 * it its role). */
static void token_session(struct flow *f)
{
	memset(&f->session, 0, sizeof(f->session));
	memcpy(f->session.account_id,
	       core_token_is_org(&f->api_token) ? f->api_token.id : f->api_token.account_id,
	       AUTHD_ID_LEN);
	memcpy(f->session.org_id, f->api_token.org_id, AUTHD_ID_LEN);
	f->session.aal = AAL_PASSWORD;
	f->session.created_at = f->api_token.created_at;
	f->session.last_seen = f->now;
	f->session.expires_at = f->api_token.expires_at ? f->api_token.expires_at : INT64_MAX;
}

/* Reads the token by its hash into f (STORE_E_NOTFOUND when revoked or
 * never made). */
static int token_read(struct flow *f, struct store_txn *txn)
{
	uint8_t hash[AUTHD_HASH_LEN];
	int rc;

	memcpy(hash, f->api_token.hash, AUTHD_HASH_LEN);
	rc = store_token_get(txn, hash, &f->api_token);
	if (rc == 0)
		token_session(f);
	else
		memcpy(f->api_token.hash, hash, AUTHD_HASH_LEN);
	return rc;
}

/* The token's first step, a write: the policy (scopes: nothing is
 * counted for what the token may not do), then a slot of its window. */
static int token_txn(struct job *job, struct store_txn *txn)
{
	struct flow *f = (struct flow *)job;
	int rc = token_read(f, txn);

	f->err = E_OK;
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	f->has_session = rc == 0;
	if ((f->err = decide(f)) != E_OK)
		return 0;
	if (!core_token_rate_take(&f->api_token, authd_now_ms(), &f->retry_after)) {
		f->err = E_RATE_LIMITED;
		return 0;
	}
	f->api_token.last_used_at = f->now;
	if ((rc = store_token_update(txn, &f->api_token)) == STORE_E_NOTFOUND) {
		f->err = E_INVALID_TOKEN; /* revoked meanwhile */
		return 0;
	}
	return rc;
}

static void read_or_after(struct flow *f);
static void token_done(struct job *job);

/* Before any write: a read of the token and the policy, so that an
 * unknown token, or one without the scope, costs no write. */
static int token_check_txn(struct job *job, struct store_txn *txn)
{
	struct flow *f = (struct flow *)job;
	int rc = token_read(f, txn);

	f->err = E_OK;
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	f->has_session = rc == 0;
	f->err = decide(f);
	return 0;
}

/* After a store job, on the loop: false when the flow cannot go on (the
 * client left, or the store failed and that was answered): released. */
static bool job_went_well(struct flow *f)
{
	if (!req_resume(f->req)) {
		release(f);
		return false;
	}
	if (f->job.store_rc != 0) {
		reply_error(f->req, api_error_from_store(f->job.store_rc));
		release(f);
		return false;
	}
	return true;
}

/* job_went_well, and the token's step decided for it: false (answered,
 * released) otherwise. */
static bool token_step_allowed(struct flow *f)
{
	if (!job_went_well(f))
		return false;
	if (f->err != E_OK) {
		flow_reply_error(f, f->req);
		release(f);
		return false;
	}
	return true;
}

static void token_checked(struct job *job)
{
	struct flow *f = (struct flow *)job;

	if (!token_step_allowed(f))
		return;
	f->job.txn_work = token_txn;
	f->job.done = token_done;
	/* It writes the token it read, or nothing. */
	f->job.decides_on_own_writes = true;
	req_hold(f->req);
	store_write(&f->job);
}

static void token_done(struct job *job)
{
	struct flow *f = (struct flow *)job;

	if (token_step_allowed(f))
		read_or_after(f);
}

/* The token's text from "Authorization: Bearer authd_tok_...", hashed
 * into f; false when the request carries none. */
static bool token_bearer(struct req *r, struct flow *f)
{
	const char *tok = r->authorization + 7;

	if (strncasecmp(r->authorization, "Bearer ", 7) != 0 ||
	    strncmp(tok, API_TOKEN_PREFIX, sizeof(API_TOKEN_PREFIX) - 1) != 0)
		return false;
	authd_sha256(tok, strlen(tok), f->api_token.hash);
	return true;
}

/* --- write ------------------------------------------------------------------------ */

static int write_txn(struct job *job, struct store_txn *txn)
{
	struct flow *f = (struct flow *)job;
	int rc;

	f->err = E_OK;
	f->locked = false;
	if (policy_needs_session(f->action)) {
		/* Ask again against the session (or token) as it is now. */
		rc = f->via_token ? token_read(f, txn)
				  : store_session_get(txn, &f->token, &f->session);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		f->has_session = rc == 0;
		roles_of(f);
		if ((f->err = decide(f)) != E_OK)
			return 0;
	}
	rc = f->ops->write(f, txn);
	/* As a commit that fails after the write decided: the engine rolls
	 * the transaction back and the job ends with STORE_E_IO. */
	if (rc == 0 && (f->fail_injected || take_injected_failure())) {
		f->fail_injected = true; /* a job run again fails again */
		rc = STORE_E_IO;
	}
	return rc;
}

static void write_done(struct job *job)
{
	struct flow *f = (struct flow *)job;

	if (f->job.store_rc == 0 && f->locked) {
		char aid[AUTHD_ID_HEX + 1];

		authd_hex(f->locked_account, AUTHD_ID_LEN, aid);
		log_warn("security event=second_factor_locked account=%s ip=%s", aid, f->ip);
	}
	if (f->ops->written)
		f->ops->written(f);
	if (f->req && !req_resume(f->req))
		f->req = NULL;
	finish(f);
}

void flow_audit_read(struct flow *f, const uint8_t org_id[AUTHD_ID_LEN], const char *what,
		     const uint8_t *subject)
{
	if (!f->via_partner)
		return;
	f->read_audit = true;
	memcpy(f->read_audit_org, org_id, AUTHD_ID_LEN);
	memset(f->read_audit_subject, 0, AUTHD_ID_LEN);
	if (subject)
		memcpy(f->read_audit_subject, subject, AUTHD_ID_LEN);
	f->read_audit_what = what;
}

/* The record flow_audit_read asked for (a write of its own: nothing else
 * is read or decided again). */
static int read_audit_txn(struct job *job, struct store_txn *txn)
{
	struct flow *f = (struct flow *)job;
	static const uint8_t none[AUTHD_ID_LEN];
	json_t *detail = json_pack("{s:s}", "what", f->read_audit_what);
	int rc;

	if (detail == NULL)
		return STORE_E_IO;
	rc = orgs_audit(f, txn, f->read_audit_org, NULL, AUDIT_READ,
			memcmp(f->read_audit_subject, none, AUTHD_ID_LEN) ? f->read_audit_subject
									  : NULL,
			detail);
	json_decref(detail);
	return rc;
}

static void write_or_finish(struct flow *f)
{
	if (f->read_audit && f->ops->write != NULL)
		AUTHD_BUG("a flow with a write recorded a read"); /* the write would skip it */
	if (f->ops->write == NULL && f->read_audit && f->err == E_OK) {
		f->job.txn_work = read_audit_txn;
		f->job.done = write_done;
		f->job.first = STORE_FIRST_UNSAID;
		f->job.decides_on_own_writes = false;
		if (f->req)
			req_hold(f->req);
		store_write(&f->job);
		return;
	}
	if (f->ops->write == NULL) {
		finish(f);
		return;
	}
	f->job.txn_work = write_txn;
	f->job.done = write_done;
	/* write_txn reads the session first, when there is one (store.h). */
	f->job.first =
	    policy_needs_session(f->action) && !f->via_token ? STORE_FIRST_SESSION : f->write_first;
	f->job.first_ref = policy_needs_session(f->action) ? f->token : f->write_first_ref;
	f->job.decides_on_own_writes = f->write_decides_on_own_writes;
	if (f->req)
		req_hold(f->req);
	store_write(&f->job);
}

/* --- work ------------------------------------------------------------------------- */

static atomic_ulong work_started;

unsigned long flow_work_started(void)
{
	return atomic_load(&work_started);
}

static void work_run(struct job *job)
{
	struct flow *f = (struct flow *)job;

	atomic_fetch_add(&work_started, 1);
	f->ops->work(f);
}

static void work_done(struct job *job)
{
	struct flow *f = (struct flow *)job;

	if (!req_resume(f->req))
		f->req = NULL;
	if (f->ops->worked && !f->ops->worked(f)) {
		release(f);
		return;
	}
	if (f->req == NULL && !f->finish_if_gone) {
		release(f);
		return;
	}
	if (f->err != E_OK) {
		finish(f);
		return;
	}
	write_or_finish(f);
}

/* --- read ------------------------------------------------------------------------- */

static void after_read(struct flow *f)
{
	struct req *r = f->req;
	enum api_error e;

	if (policy_needs_session(f->action) && f->has_session && !f->via_token &&
	    f->now - f->session.last_seen >= TOUCH_GRANULARITY &&
	    f->now < core_session_expires(&f->session, srv.cfg.session_idle_s)) {
		f->session.last_seen = f->now;
		session_touch(&f->token, f->now);
	}
	if ((e = decide(f)) != E_OK) {
		reply_error(r, e);
		release(f);
		return;
	}
	if (f->err != E_OK) {
		finish(f);
		return;
	}
	if (f->ops->check && !f->ops->check(f, r)) {
		release(f);
		return;
	}
	if (f->ops->work) {
		f->job.work = work_run;
		f->job.done = work_done;
		/* done() runs on this thread, so holding r after queueing is
		 * in time. */
		if (!async_run(&f->job)) {
			/* Every worker is busy and the queue is full: hashes are
			 * never queued without bound. */
			reply_error(r, E_OVERLOADED);
			release(f);
			return;
		}
		req_hold(r);
		return;
	}
	write_or_finish(f);
}

static int read_txn(struct job *job, struct store_txn *txn)
{
	struct flow *f = (struct flow *)job;
	int rc;

	f->err = E_OK;
	f->read_audit = false;
	if (policy_needs_session(f->action) && !f->via_token) {
		rc = store_session_get(txn, &f->token, &f->session);
		if (rc == STORE_E_NOTFOUND) {
			f->has_session = false;
			return 0; /* the policy answers */
		}
		if (rc != 0)
			return rc;
		f->has_session = true;
		roles_of(f);
		/* A role's reads (every case, a document) are not made for a
		 * session without it: the policy answers first. */
		if (policy_needs_roles(f->action) != 0 && decide(f) != E_OK)
			return 0;
	}
	return f->ops->read ? f->ops->read(f, txn) : 0;
}

static void read_done(struct job *job)
{
	struct flow *f = (struct flow *)job;

	if (f->job.store_rc != 0 && f->ops->reply_on_read_failure) {
		f->err = api_error_from_store(f->job.store_rc);
		f->job.store_rc = 0;
	}
	if (job_went_well(f))
		after_read(f);
}

void flow_start(struct flow *f, const struct flow_ops *ops, struct req *r)
{
	f->ops = ops;
	f->action = r->action;
	f->req = r;
	f->now = authd_now();
	snprintf(f->ip, sizeof(f->ip), "%s", r->ip);
	f->err = E_OK;
	if (policy_needs_session(f->action) && token_bearer(r, f)) {
		f->via_token = true;
		f->job.txn_work = token_check_txn;
		f->job.done = token_checked;
		req_hold(r);
		store_read(&f->job);
		return;
	}
	if (policy_needs_session(f->action) &&
	    !session_credential_or_reply(r, &f->token, &f->via_cookie)) {
		release(f);
		return;
	}
	if (policy_needs_service(f->action)) {
		if (!service_credential_or_reply(r, f->action)) {
			release(f);
			return;
		}
		f->service = true;
	}
	/* The router routes the operator's actions only from the admin
	 * socket's checked peers (server.c): this is that principal. */
	f->operator= r->admin;
	read_or_after(f);
}

/* The read step (with the session's), or straight on when there is none
 * to make. */
static void read_or_after(struct flow *f)
{
	if ((!policy_needs_session(f->action) || f->via_token) && f->ops->read == NULL) {
		after_read(f);
		return;
	}
	f->job.txn_work = read_txn;
	f->job.done = read_done;
	f->job.decides_on_own_writes = false;
	if (policy_needs_session(f->action) && !f->via_token) {
		/* read_txn reads the session first: say so (store.h). */
		f->job.first =
		    f->read_first_access ? STORE_FIRST_SESSION_ACCESS : STORE_FIRST_SESSION;
		f->job.first_ref = f->token;
	}
	req_hold(f->req);
	store_read(&f->job);
}

void *flow_get_new_or_reply(struct req *r, size_t size)
{
	void *p;

	if (!req_query_or_reply(r, NULL, 0, NULL))
		return NULL;
	if ((p = calloc(1, size)) == NULL)
		reply_error(r, E_OVERLOADED);
	return p;
}

json_t *flow_list_new(struct flow_list *l)
{
	json_decref(l->list);
	return l->list = json_array();
}

void flow_list_reply(struct flow *f, struct req *r)
{
	struct flow_list *l = (struct flow_list *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, json_pack("{s:O}", l->key, l->list));
}

void flow_list_release(struct flow *f)
{
	struct flow_list *l = (struct flow_list *)f;

	json_decref(l->list);
	free(l);
}

/* "AT_SEQ", two decimal numbers, as page_next gave it. */
static bool parse_cursor(const char *s, struct event_cursor *c)
{
	char *end = NULL;
	long long at;
	unsigned long long seq;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	at = strtoll(s, &end, 10);
	if (errno || *end != '_' || end[1] < '0' || end[1] > '9')
		return false;
	seq = strtoull(end + 1, &end, 10);
	if (errno || *end != '\0')
		return false;
	c->at = at;
	c->seq = seq;
	return true;
}

bool page_query_or_reply(struct req *r, struct page *p)
{
	static const char *const names[] = {"limit", "before"};
	char values[2][QUERY_VALUE_MAX];
	long limit = PAGE_LIMIT_DEFAULT;

	memset(p, 0, sizeof(*p));
	if (!req_query_or_reply(r, names, 2, values))
		return false;
	if (values[0][0]) {
		char *end = NULL;

		errno = 0;
		limit = strtol(values[0], &end, 10);
		if (errno || *end != '\0' || values[0][0] < '0' || values[0][0] > '9' ||
		    limit < 1 || limit > PAGE_LIMIT_MAX) {
			reply_field_error(r, E_INVALID_FIELD, "limit", "must be 1 to 100");
			return false;
		}
	}
	p->limit = (size_t)limit;
	if (values[1][0]) {
		if (!parse_cursor(values[1], &p->before)) {
			reply_field_error(r, E_INVALID_FIELD, "before",
					  "must be the next of an earlier page");
			return false;
		}
		p->has_before = true;
	}
	return true;
}

void page_reply(struct req *r, const char *key, json_t *list, bool more, int64_t at, uint64_t seq)
{
	char next[PAGE_NEXT_MAX];

	if (list == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	snprintf(next, sizeof(next), "%lld_%llu", (long long)at, (unsigned long long)seq);
	reply_json(r, 200, json_pack("{s:o, s:s?}", key, list, "next", more ? next : NULL));
}
