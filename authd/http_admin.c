/*
 * The operator's routes, served on the admin socket only (authctl): find
 * an account by its login, lock and unlock it, end its sessions. Each act
 * is logged with the operator's uid and recorded as the account's
 * security event where it changes the account. The account's events are
 * in http_activity.c.
 */
#include "accounts.h"
#include "factors.h"
#include "flow.h"
#include "http.h"

#include <log.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct admin_flow {
	struct flow f;
	char login[EMAIL_MAX + 1];
	uint8_t account_id[AUTHD_ID_LEN];
	struct account a; /* read: its state (password hash wiped) */
	bool found;
	int64_t locked_at;
};

static void admin_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct admin_flow));
}

static struct admin_flow *admin_new_or_reply(struct req *r)
{
	struct admin_flow *j = calloc(1, sizeof(*j));

	if (j == NULL)
		reply_error(r, E_OVERLOADED);
	return j;
}

/* The account in the path, into j; false after replying 404. */
static bool path_account_or_reply(struct req *r, struct admin_flow *j)
{
	if (req_path_ids(r->param, j->account_id, NULL))
		return true;
	reply_error(r, E_NOT_FOUND);
	return false;
}

static json_t *account_json(const struct account *a)
{
	char id[AUTHD_ID_HEX + 1], org[AUTHD_ID_HEX + 1], created[21], locked[21];

	authd_hex(a->id, AUTHD_ID_LEN, id);
	authd_hex(a->org_id, AUTHD_ID_LEN, org);
	authd_time_str(a->created_at, created);
	if (a->locked_at)
		authd_time_str(a->locked_at, locked);
	return json_pack("{s:s, s:s, s:s, s:s, s:s?}", "account_id", id, "login", a->email,
			 "organization_id", org, "created_at", created, "locked_at",
			 a->locked_at ? locked : NULL);
}

static void log_act(const struct req *r, const char *what, const uint8_t id[AUTHD_ID_LEN])
{
	char aid[AUTHD_ID_HEX + 1];

	authd_hex(id, AUTHD_ID_LEN, aid);
	log_info("operator %s account=%s uid=%u req=%llu", what, aid, r->admin_uid,
		 (unsigned long long)r->id);
}

/* --- POST /admin/accounts/find {"login"} ------------------------------------------------ */

static int find_read(struct flow *f, struct store_txn *txn)
{
	struct admin_flow *j = (struct admin_flow *)f;
	int rc = store_account_by_email(txn, j->login, j->account_id);

	if (rc == 0)
		rc = store_account_get(txn, j->account_id, &j->a);
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_NOT_FOUND;
		return 0;
	}
	OPENSSL_cleanse(j->a.pw_hash, sizeof(j->a.pw_hash));
	return rc;
}

static void find_reply(struct flow *f, struct req *r)
{
	struct admin_flow *j = (struct admin_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_act(r, "read", j->account_id);
	reply_json(r, 200, account_json(&j->a));
}

static const struct flow_ops find_ops = {
    .read = find_read,
    .reply = find_reply,
    .release = admin_release,
};

void http_admin_account_find(struct req *r)
{
	static const struct field_spec spec[] = {{"login", JSON_STRING, true, EMAIL_MAX}};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct admin_flow *j;
	const char *v;
	size_t len;

	if (body == NULL)
		return;
	if ((j = admin_new_or_reply(r)) == NULL)
		goto out;
	v = json_str(body, "login", &len);
	if (core_login_normalize(v, len, j->login) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "login", "a login email or recovery login");
		free(j);
		goto out;
	}
	flow_start(&j->f, &find_ops, r);
out:
	json_decref(body);
}

/* --- POST /admin/accounts/{id}/lock, /unlock ------------------------------------------ */

static int lock_write(struct flow *f, struct store_txn *txn)
{
	struct admin_flow *j = (struct admin_flow *)f;
	int rc = account_lock(f, txn, j->account_id, &j->locked_at);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_NOT_FOUND;
		return 0;
	}
	return rc;
}

static int unlock_write(struct flow *f, struct store_txn *txn)
{
	struct admin_flow *j = (struct admin_flow *)f;
	int rc = store_account_get(txn, j->account_id, &j->a);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_NOT_FOUND;
		return 0;
	}
	/* Locked or not, the second factors' failures (and their lock) go. */
	if (rc == 0)
		rc = j->a.locked_at != 0 ? account_unlock(f, txn, &j->a)
					 : factor_failures_clear(txn, j->account_id, f->now, f->ip);
	OPENSSL_cleanse(&j->a, sizeof(j->a));
	return rc;
}

static void lock_reply(struct flow *f, struct req *r)
{
	struct admin_flow *j = (struct admin_flow *)f;
	bool lock = f->action == ACT_ADMIN_ACCOUNT_LOCK;
	char at[21];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_act(r, lock ? "locked" : "unlocked", j->account_id);
	if (!lock) {
		reply_empty(r, 204);
		return;
	}
	authd_time_str(j->locked_at, at);
	reply_json(r, 200, json_pack("{s:s}", "locked_at", at));
}

static const struct flow_ops lock_ops = {
    .write = lock_write,
    .reply = lock_reply,
    .release = admin_release,
};

static const struct flow_ops unlock_ops = {
    .write = unlock_write,
    .reply = lock_reply,
    .release = admin_release,
};

/* A route of an account in the path and no body. */
static void start_on_account(struct req *r, const struct flow_ops *ops)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct admin_flow *j;

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = admin_new_or_reply(r)) == NULL)
		return;
	if (!path_account_or_reply(r, j)) {
		free(j);
		return;
	}
	flow_start(&j->f, ops, r);
}

void http_admin_account_lock(struct req *r)
{
	start_on_account(r, &lock_ops);
}

void http_admin_account_unlock(struct req *r)
{
	start_on_account(r, &unlock_ops);
}

/* --- DELETE /admin/accounts/{id}/sessions ------------------------------------------------ */

static int end_write(struct flow *f, struct store_txn *txn)
{
	struct admin_flow *j = (struct admin_flow *)f;
	int rc = store_account_get(txn, j->account_id, &j->a);

	OPENSSL_cleanse(&j->a, sizeof(j->a));
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_NOT_FOUND;
		return 0;
	}
	if (rc != 0 || (rc = store_session_del_all(txn, j->account_id, NULL)) != 0)
		return rc;
	return store_login_del_all(txn, j->account_id);
}

static void end_reply(struct flow *f, struct req *r)
{
	struct admin_flow *j = (struct admin_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_act(r, "ended the sessions of", j->account_id);
	reply_empty(r, 204);
}

static const struct flow_ops end_ops = {
    .write = end_write,
    .reply = end_reply,
    .release = admin_release,
};

void http_admin_sessions_end(struct req *r)
{
	start_on_account(r, &end_ops);
}

/* --- GET /admin/outbox/failures?limit=N --------------------------------------------------- */

struct failures_flow {
	struct flow_list l;
	size_t limit;
};

static int failure_one(void *arg, const struct outbox_msg *m)
{
	struct failures_flow *j = arg;
	char id[AUTHD_ID_HEX + 1], account[AUTHD_ID_HEX + 1], created[21], done[21];
	static const uint8_t nobody[AUTHD_ID_LEN];
	json_t *o;

	authd_hex(m->id, AUTHD_ID_LEN, id);
	authd_hex(m->account_id, AUTHD_ID_LEN, account);
	authd_time_str(m->created_at, created);
	authd_time_str(m->done_at, done);
	o = json_pack("{s:s, s:s?, s:s, s:i, s:s, s:s}", "id", id, "account_id",
		      memcmp(m->account_id, nobody, AUTHD_ID_LEN) != 0 ? account : NULL, "channel",
		      m->channel == OUTBOX_SMS ? "sms" : "email", "attempts", (int)m->attempts,
		      "queued_at", created, "failed_at", done);
	return o == NULL || json_array_append_new(j->l.list, o) != 0 ? STORE_E_IO : 0;
}

static int failures_read(struct flow *f, struct store_txn *txn)
{
	struct failures_flow *j = (struct failures_flow *)f;

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	return store_outbox_failures(txn, j->limit, failure_one, j);
}

static void failures_reply(struct flow *f, struct req *r)
{
	if (f->err == E_OK)
		log_info("operator read the outbox failures uid=%u req=%llu", r->admin_uid,
			 (unsigned long long)r->id);
	flow_list_reply(f, r);
}

static const struct flow_ops failures_ops = {
    .read = failures_read,
    .reply = failures_reply,
    .release = flow_list_release,
};

void http_admin_outbox_failures(struct req *r)
{
	struct failures_flow *j;
	struct page p;

	if (!page_query_or_reply(r, &p))
		return;
	if (p.has_before) {
		reply_field_error(r, E_INVALID_FIELD, "before", "not taken here");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->l.key = "failures";
	j->limit = p.limit;
	flow_start(&j->l.f, &failures_ops, r);
}
