/*
 * A request's way through the house, carried by one helper so that no
 * handler wires its own chain of callbacks:
 *
 *   authenticate -> ask the policy -> read -> check -> work -> write -> reply
 *
 * A handler parses and checks its body, fills a struct that starts with a
 * struct flow, and calls flow_start() with a table of the steps it needs
 * (every step is optional). The policy decides on the route's action
 * (r->action, from the route table). When that action needs a session
 * (policy_needs_session), the session is read in the same read transaction
 * as the read step, then checked (expiry) and the policy decides on the
 * loop. The write step runs only after the policy is asked again inside the
 * write transaction, against the session as stored then: a session revoked
 * while an argon2id hash ran changes nothing.
 *
 * An API token ("Authorization: Bearer authd_tok_...") stands in for a
 * session where the policy lets it: before anything else a read finds it
 * and asks the policy (its scopes: an unknown token or a missing scope
 * costs no write), then a write reads it again, asks again and takes a
 * slot of its rate window (60 a minute, in its stored record: exact on
 * every node); then the steps run as for a session whose account and
 * organization are the token's (f->session holds them, f->via_token says
 * so).
 *
 * Threads: read and write run where the store runs them (store_read,
 * store_write), work on the pool, everything else on the loop. A step sets
 * f->err to stop with an error; reply() then sees it.
 */
#ifndef AUTHD_FLOW_H
#define AUTHD_FLOW_H

#include "http.h"

#include <core.h>
#include <store.h>

struct flow;

struct flow_ops {
	/* Read-only transaction (after the session, in the same one). */
	int (*read)(struct flow *f, struct store_txn *txn);
	/* Loop, after the read and the policy: checks on the loop's own state
	 * (in-memory throttles). Returns false after replying; the flow is
	 * then released. */
	bool (*check)(struct flow *f, struct req *r);
	/* Pool thread: CPU-heavy work (argon2id). */
	void (*work)(struct flow *f);
	/* Loop, after work, also when the client has gone (f->req is then
	 * NULL and the flow goes on only if f->finish_if_gone). Returns false
	 * to stop before the write, after replying when f->req is set. */
	bool (*worked)(struct flow *f);
	/* Write transaction; may run more than once (store.h): it sets every
	 * output from scratch. */
	int (*write)(struct flow *f, struct store_txn *txn);
	/* Loop, once the write committed or failed, whether or not the client
	 * is still there (bookkeeping that must not depend on it). */
	void (*written)(struct flow *f);
	/* Loop: the reply, for every outcome the store did not fail (f->err
	 * says which); NULL replies 204 on success. flow_reply_error() answers
	 * f->err. */
	void (*reply)(struct flow *f, struct req *r);
	/* Frees the flow's struct, wiping what it holds. */
	void (*release)(struct flow *f);
	/* A read that fails is the reply's to answer (f->err says how), not
	 * the flow's 503: for a reply that reports the store's state. */
	bool reply_on_read_failure;
};

struct flow {
	struct job job;
	const struct flow_ops *ops;
	enum policy_action action;
	struct req *req; /* NULL once the client has gone */
	int64_t now;	 /* the request's time, for every step */
	char ip[48];	 /* the client's address, for every step */
	enum api_error err;
	int64_t retry_after; /* with E_TOO_MANY_ATTEMPTS */
	bool finish_if_gone; /* write even when the client left (record a failure) */
	/* Set by a write that locked an account's TOTP: logged after the
	 * commit (a write may run more than once). */
	bool locked;
	uint8_t locked_account[AUTHD_ID_LEN];
	/* The principal, when the action needs a session. */
	bool has_session;
	struct token_ref token;
	struct session session;
	bool via_cookie;
	/* The principal is another service of the host (its credential). */
	bool service;
	/* The principal is the operator (the request came on the admin
	 * socket, from root or authd's own user). */
	bool operator;
	/* The principal is an API token (f->session holds its account and
	 * organization; f->token is unused). */
	bool via_token;
	struct api_token api_token;
	/* Set by a step that found the principal acting as a partner
	 * organization's manager (orgs.h): its acts are recorded so. */
	bool via_partner;
	/* The principal acts as the operator's support staff (http_support.c):
	 * its acts are recorded so. */
	bool via_support;
	/* Set by a read whose act goes to an organization's audit trail (a
	 * partner's user's: every act of one is recorded, flow_audit_read):
	 * the record is written, durably, before the answer. */
	bool read_audit;
	uint8_t read_audit_org[AUTHD_ID_LEN];
	uint8_t read_audit_subject[AUTHD_ID_LEN];
	const char *read_audit_what; /* a static name: "products", "grants", "access" */
	/* The operator roles of the session's account (enum operator_role),
	 * read only for the actions that need some. */
	unsigned roles;
	/* What the write reads first, when no session is (store.h's job.first;
	 * a route with a session reads it first, and flow.c says so). */
	enum store_first write_first;
	struct token_ref write_first_ref;
	bool write_decides_on_own_writes; /* store.h's job.decides_on_own_writes */
	/* The read asks store_access_facts(job.first_org, job.first_product)
	 * right after the session: flow.c says so (STORE_FIRST_SESSION_ACCESS). */
	bool read_first_access;
	bool fail_injected; /* flow_test_fail_writes chose this write */
};

/* The policy's answer to one use of support grant g for kind by the
 * flow's principal (policy_support_use). */
enum support_verdict flow_support_use(const struct flow *f, const struct support_grant *g,
				      enum support_kind kind);

/*
 * From a read: when the principal acts as a partner organization's user,
 * records what it read (what, of subject: NULL for none) in org_id's
 * audit trail before the answer goes (a "read" record, via "partner").
 */
void flow_audit_read(struct flow *f, const uint8_t org_id[AUTHD_ID_LEN], const char *what,
		     const uint8_t *subject);

/*
 * A read-only flow whose read builds a JSON array that is answered as
 * {"<key>": [...]}: its struct starts with a struct flow_list, its read
 * takes a fresh array from flow_list_new() (the read may run again), and
 * its ops take flow_list_reply and flow_list_release (which frees the
 * whole struct: nothing in it may need wiping).
 */
struct flow_list {
	struct flow f;
	const char *key;
	json_t *list;
};
/* A new empty array for l->list (the previous one dropped); NULL when out
 * of memory. */
json_t *flow_list_new(struct flow_list *l);
void flow_list_reply(struct flow *f, struct req *r);
void flow_list_release(struct flow *f);

/*
 * A page of a list walked newest first (security events, audit records):
 * ?limit=N (1..PAGE_LIMIT_MAX, PAGE_LIMIT_DEFAULT by default) and
 * ?before=C, the "next" an earlier page gave (page_next). The read asks
 * for limit + 1 entries: one more says there is a next page.
 */
#define PAGE_LIMIT_DEFAULT 20
#define PAGE_LIMIT_MAX	   100
#define PAGE_NEXT_MAX	   48

struct page {
	size_t limit;
	bool has_before;
	struct event_cursor before;
};

/* Parses the request's query (only limit and before); false after
 * replying 400. */
bool page_query_or_reply(struct req *r, struct page *p);
/* Replies {"<key>": list, "next": cursor or null} (list consumed; NULL:
 * out of memory, 503): `more` says whether entries follow the last shown,
 * listed at `at` with `seq`. */
void page_reply(struct req *r, const char *key, json_t *list, bool more, int64_t at, uint64_t seq);

/* For a GET that takes no query: a new zeroed flow struct of size bytes,
 * or NULL after replying (400 for a query, 503 out of memory). */
void *flow_get_new_or_reply(struct req *r, size_t size);

/* Starts f (ops steps) for r; f is owned by the flow from here and freed
 * through ops->release. The caller returns right after. */
void flow_start(struct flow *f, const struct flow_ops *ops, struct req *r);

/* Starts a flow that is the bare struct flow, for a route that takes no
 * body (an empty one, or {}: anything else is answered 400 here). Its
 * ops' release should be flow_bare_release. flow_start_sized does so for
 * a struct of size bytes that begins with a struct flow. */
void flow_start_bare(struct req *r, const struct flow_ops *ops);
void flow_start_sized(struct req *r, const struct flow_ops *ops, size_t size);
/* Wipes (its struct flow) and frees a flow started bare. */
void flow_bare_release(struct flow *f);

/* The policy's decision on another act than the route's, for the same
 * principal (what a page may show it). */
enum policy_decision flow_decide_act(const struct flow *f, enum policy_action a,
				     const struct policy_resource *res);
/* Asks the policy whether the flow's principal (a session, or a token)
 * may do the flow's action to res: E_OK, or the error to answer, with
 * not_found for a resource told as absent. Wherever the flow's steps run. */
enum api_error flow_decide(struct flow *f, const struct policy_resource *res,
			   enum api_error not_found);

/* The error a policy refusal answers; `not_found` is what a resource the
 * principal may not see is told as (organization_not_found...). */
enum api_error flow_policy_error(enum policy_decision d, enum api_error not_found);

/* Replies the error in f->err (429 with Retry-After for throttling). */
void flow_reply_error(struct flow *f, struct req *r);

/* Test hook: the next n writes (0 <= n) fail with STORE_E_IO after their
 * write step ran, as a commit that fails would; later writes run as usual.
 * Thread-safe. */
void flow_test_fail_writes(int n);
/* How many flows' pool work (a password hash) has begun since the start:
 * for tests (GET /1/_test/stats "work_started"). Any thread. */
unsigned long flow_work_started(void);

#endif
