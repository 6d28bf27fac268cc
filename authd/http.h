/*
 * One HTTP request as the handlers see it, and the ways to answer it.
 * A req lives from its headers until its response is written or its
 * connection closes, whichever is later: while a job runs for it
 * (req->pending) it outlives a closed connection, and the job's done()
 * calls req_resume() first, which frees it when nobody is left to answer.
 * Everything here runs on the loop thread.
 */
#ifndef AUTHD_HTTP_H
#define AUTHD_HTTP_H

#include "config.h"
#include "errors.h"
#include "keys.h"
#include "proxy.h"
#include <core.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;

enum http_method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER };

struct req {
	/* It came on the admin socket (on_admin_socket), from a peer allowed
	 * there (admin: root or authd's own user, admin_uid): the operator
	 * (authctl). */
	bool on_admin_socket;
	bool admin;
	unsigned admin_uid;
	struct lws *wsi; /* NULL once the connection is gone */
	uint64_t id;
	uint64_t started_ns; /* when its headers came (monotonic) */
	enum http_method method;
	char path[256];
	char param[160]; /* the route's '*' segments, joined by '/' */
	char ip[48];	 /* the client: the socket peer, or behind trusted proxies the
			  * rightmost untrusted X-Forwarded-For hop */
	char authorization[512];
	char *cookie; /* NULL when absent or when a Bearer token is sent */
	char csrf[128];
	/* The Idempotency-Key header (its length; -1 when absent; more than
	 * IDEMPOTENCY_KEY_MAX when too long, then not copied). */
	char idem_key[IDEMPOTENCY_KEY_MAX + 1];
	int idem_len;
	char signature[192]; /* X-Provider-Signature (the payment provider's webhook) */
	char content_type[96];
	long content_length;
	bool chunked;
	char *body;
	size_t body_len;
	bool body_too_large;
	bool dispatched;	   /* handed to the router (once) */
	bool pending;		   /* a job holds this req */
	enum policy_action action; /* the route's, set by the router */

	/* The response. */
	int status;
	int route; /* the route table's index, or METRICS_ROUTE_* (metrics.h) */
	char *resp;
	size_t resp_len;
	bool resp_static;    /* resp is not ours to free (a problem body made once, a page) */
	bool cacheable;	     /* a page's asset: revalidated (no-cache), not no-store */
	bool xff_unreadable; /* a trusted proxy's X-Forwarded-For could not be read */
	char headers[1024];
	size_t headers_len;
	bool responded;
	bool close_after;
};

/* Shared server state the handlers read. */
struct authd_server {
	struct authd_config cfg;
	struct authd_keys keys;
	struct proxy_list proxies; /* parsed from cfg.trusted_proxies */
	/* Builds the configuration again as at start (a reload): 0, or -1
	 * with a message in err. */
	int (*config_build)(struct authd_config *c, char *err, size_t err_size);
};
extern struct authd_server srv;

/* Adds a response header ("Retry-After", "30"); before a reply_*(). */
void req_add_header(struct req *r, const char *name, const char *value);

/* Each sends exactly one response; the handler just returns after it. */
void reply_json(struct req *r, int status, json_t *body); /* steals body */
/* A JSON text the handler built (malloc'd; the reply owns and frees it). */
void reply_json_text(struct req *r, int status, char *text, size_t len);
/* Escapes s for a JSON string into out (NUL-terminated; truncates at a
 * character boundary if out is too small: size 6 * strlen(s) + 1 always fits). */
void json_escape(const char *s, char *out, size_t size);
void reply_empty(struct req *r, int status);
void reply_error(struct req *r, enum api_error e);
/*
 * Reads the query string into values (values[i] for names[i], "" when
 * absent). Replies 400 invalid_field and returns false for a parameter not
 * among names, one given twice, or a value of QUERY_VALUE_MAX bytes or more.
 */
#define QUERY_VALUE_MAX 64
bool req_query_or_reply(struct req *r, const char *const *names, size_t n,
			char (*values)[QUERY_VALUE_MAX]);

/* The id at the start of a route's captured segments ("id" or
 * "id/other"), and the one after it when second is non-NULL: whether they
 * are ids (AUTHD_ID_LEN bytes in hex). */
bool req_path_ids(const char *param, uint8_t first[AUTHD_ID_LEN], uint8_t *second);

/* An error naming the field (and, for invalid_field, what it must be). */
void reply_field_error(struct req *r, enum api_error e, const char *field, const char *detail);
/* 429 too_many_attempts with Retry-After (at least 1 second). */
void reply_throttled(struct req *r, int64_t retry_after);
/* Error e with a Retry-After header (at least 1 second). */
void reply_error_retry(struct req *r, enum api_error e, int64_t retry_after);

/* Marks r as held by a job: call just before submitting one. */
void req_hold(struct req *r);
/* Called first by every job's done(): false (and r freed) when the
 * connection went away, so the job only frees itself. */
bool req_resume(struct req *r);
/* Frees r and what it owns, wiping every secret it may hold first: the
 * body, the response, the cookie, the Authorization and CSRF headers, the
 * path and its parameter (a login id), the response headers (Set-Cookie).
 * NULL is OK. Loop thread (server.c calls it; tests too). */
void req_free(struct req *r);

struct field_spec {
	const char *name;
	/* JSON_STRING, JSON_INTEGER, JSON_ARRAY, JSON_TRUE (any boolean), or
	 * JSON_NULL (any type: the handler checks it) */
	json_type type;
	bool required;
	size_t max_len; /* bytes, for strings */
};

/*
 * Parses the body as a JSON object holding only the fields in spec, with
 * their types and limits. An empty body counts as {}. Returns a new
 * reference, or NULL after replying 4xx.
 */
json_t *json_body_or_reply(struct req *r, const struct field_spec *spec, size_t n);
/* The string value of a field json_body_or_reply() checked (NULL if absent). */
const char *json_str(json_t *obj, const char *name, size_t *len);

/* Makes jansson wipe every block it frees (call once, before any JSON). */
void json_wiping_init(void);

/* Wipes every string value of obj (they may be passwords), then drops it. */
void json_wipe_decref(json_t *obj);

/* Checks a new password against the policy; false after replying 400. */
bool password_policy_or_reply(struct req *r, const char *pw, size_t len, const char *email,
			      const char *name, const char *field);

/* The handlers, one family per file. */
void http_health(struct req *r);
void http_ready(struct req *r);
void http_metrics(struct req *r);
void http_admin_account_find(struct req *r);
void http_admin_account_lock(struct req *r);
void http_admin_account_unlock(struct req *r);
void http_admin_sessions_end(struct req *r);
void http_admin_events(struct req *r);
void http_admin_outbox_failures(struct req *r);
/* http_keys.c */
void http_admin_keys(struct req *r);
void http_admin_keys_census(struct req *r);
void http_admin_keys_rotate(struct req *r);
void http_admin_keys_activate(struct req *r);
void http_admin_keys_reseal(struct req *r);
void http_admin_keys_retire(struct req *r);
void http_accounts_create(struct req *r);
void http_login_start(struct req *r);
void http_login_totp(struct req *r);
void http_login_backup_code(struct req *r);
/* {"login_id", "code"} checks an SMS code; {"login_id"} alone sends one
 * (http_login_sms_send, in http_sms.c, with the login id parsed). */
void http_login_sms(struct req *r);
struct token_ref;
void http_login_sms_send(struct req *r, const struct token_ref *login);
void http_sms_enable(struct req *r);
void http_sms_disable(struct req *r);

/* The host's other services (http_service.c): their credentials from the
 * config (once at start), the check flow_start makes for an action that
 * needs one (replies 401 and returns false), and the endpoints. */
void service_setup(const struct authd_config *c);
bool service_credential_or_reply(struct req *r, enum policy_action a);
void http_service_login_email_deleted(struct req *r);

/* Recovery's shell (http_recovery.c), for the identity-verification cases:
 * the per-address limit of unauthenticated recovery requests (replies 429
 * and returns false, or counts this request); a reset link for account id
 * sent to `to` (*sent false when the hourly cap said no); the login
 * identifier of a sent to `to`. 0 or STORE_E_*. */
bool recovery_address_or_reply(struct req *r);
struct store_txn;
int recovery_case_reset_link(struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN], const char *to,
			     int64_t now, const char *ip, bool *sent);
int recovery_case_login_reminder(struct store_txn *txn, const struct account *a, const char *to,
				 int64_t now, const char *ip);
/* The identity-verification cases (http_cases.c). */
void http_case_open(struct req *r);
void http_case_get(struct req *r);
void http_case_document_add(struct req *r);
void http_cases_list(struct req *r);
void http_case_document_get(struct req *r);
void http_case_decide(struct req *r);
void http_account_lock(struct req *r);
/* Closing an account (http_recovery.c): the emailed link, then its use. */
void http_account_close_begin(struct req *r);
void http_account_close(struct req *r);
/* The person's organizations (http_orgs.c). */
void http_orgs_list(struct req *r);
void http_session_org_switch(struct req *r);
void http_session_cookie(struct req *r);
/* An organization's people (http_members.c) and audit trail (http_audit.c). */
void http_org_members(struct req *r);
void http_org_member_change(struct req *r);
void http_org_member_remove(struct req *r);
void http_org_audit(struct req *r);
/* Invitations (http_invitations.c; a new account's, http_accounts.c). */
void http_org_invite(struct req *r);
void http_org_invitations(struct req *r);
void http_org_invitation_revoke(struct req *r);
void http_invitation_view(struct req *r);
void http_invitation_accept(struct req *r);
void http_invitation_signup(struct req *r);
/* Products, grants and access (http_products.c). */
void http_org_product_add(struct req *r);
void http_org_products(struct req *r);
void http_org_product_remove(struct req *r);
void http_org_product_grants(struct req *r);
void http_org_product_grant_set(struct req *r);
void http_org_product_grant_remove(struct req *r);
void http_org_product_access(struct req *r);
/* Work teams (http_teams.c). */
void http_org_team_add(struct req *r);
void http_org_teams(struct req *r);
void http_org_team_change(struct req *r);
void http_org_team_remove(struct req *r);
void http_org_team_member_add(struct req *r);
void http_org_team_member_remove(struct req *r);
/* Partner relations (http_partners.c). */
void http_org_partner_add(struct req *r);
void http_org_partners(struct req *r);
void http_org_partner_end(struct req *r);
/* An organization's billing (http_billing.c). */
void http_org_addresses(struct req *r);
void http_org_address_add(struct req *r);
void http_org_address_change(struct req *r);
void http_org_address_remove(struct req *r);
void http_org_product_auto_renewal(struct req *r);
void http_billing_balance(struct req *r);
void http_billing_deposit(struct req *r);
void http_billing_payments(struct req *r);
void http_billing_payment(struct req *r);
void http_billing_webhook(struct req *r);
void http_billing_pay(struct req *r);
void http_billing_payment_cancel(struct req *r);
void http_billing_order(struct req *r);
void http_billing_invoices(struct req *r);
void http_billing_invoice(struct req *r);
void http_billing_invoice_cancel(struct req *r);
void http_billing_vouchers(struct req *r);
void http_billing_voucher_add(struct req *r);

/* Support access (http_support.c). */
void http_org_support_grant(struct req *r);
void http_org_support_list(struct req *r);
void http_org_support_revoke(struct req *r);
void http_support_assign(struct req *r);
void http_support_unassign(struct req *r);
void http_support_access(struct req *r);
void http_support_grants(struct req *r);

/* A person's and an organization's API tokens (http_tokens.c). */
void http_tokens_create(struct req *r);
void http_tokens_list(struct req *r);
void http_org_tokens_create(struct req *r);
void http_org_tokens_list(struct req *r);
void http_org_token_revoke(struct req *r);
void http_token_revoke(struct req *r);
/* A body of bytes (malloc'd; freed, and wiped, once sent) of media type
 * ctype. */
void reply_bytes(struct req *r, int status, char *body, size_t len, const char *ctype);
void http_login_push(struct req *r);
void http_login_wait(struct req *r);
void http_me_get(struct req *r);
void http_logout(struct req *r);
void http_password_change(struct req *r);
void http_totp_enroll(struct req *r);
void http_totp_confirm(struct req *r);
void http_totp_delete(struct req *r);
void http_backup_regenerate(struct req *r);
void http_devices_link(struct req *r);
void http_devices_list(struct req *r);
void http_device_get(struct req *r);
void http_device_delete(struct req *r);
void http_sessions_list(struct req *r);
void http_activity(struct req *r);
void http_recovery_get(struct req *r);
void http_recovery_email_set(struct req *r);
void http_recovery_phone_set(struct req *r);
void http_recovery_email_delete(struct req *r);
void http_recovery_phone_delete(struct req *r);
void http_recovery_verify(struct req *r);
void http_recovery_password(struct req *r);
void http_recovery_password_verify(struct req *r);
void http_recovery_password_reset(struct req *r);
void http_recovery_login(struct req *r);
void http_email_change(struct req *r);
void http_email_verify(struct req *r);
void http_session_end(struct req *r);
void http_sessions_end_others(struct req *r);
void http_test_clock(struct req *r);
void http_test_stats(struct req *r);
void http_test_stall(struct req *r);
/* Fills an organization for the benchmark (test_seed.c). */
void http_test_seed_org(struct req *r);
void http_test_billing_pass(struct req *r);
void http_test_fail_writes(struct req *r);
/* Cancels a stall still scheduled (before the lws context goes). */
void http_test_hooks_stop(void);

/* Routes r (path, method) to its handler. */
void router_dispatch(struct req *r);

/* The route table (for the policy test): every route names its action. */
struct route {
	const char *pattern; /* segments; '*' captures one into req->param */
	void (*fn)(struct req *r);
	enum http_method method;
	enum policy_action action;
	bool test_only;
};
const struct route *router_routes(size_t *n);
/* Whether the policy lets a client without credentials take action a. */
bool router_anonymous_allowed(enum policy_action a);
const char *router_method_name(enum http_method m);

#endif
