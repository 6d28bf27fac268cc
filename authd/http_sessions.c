/*
 * The account's sessions under /1/me/sessions: the list (each with where
 * and in what it began, when it was last used and when it ends; the
 * caller's own marked current), ending one (DELETE /1/me/sessions/{id}:
 * the current one too, as a logout), and ending every other one (DELETE
 * /1/me/sessions). A session's public id is a keyed hash of where it is
 * filed: it names the session without being a credential or revealing
 * the token's hash.
 */
#include "http.h"

#include "flow.h"
#include "geoip.h"
#include "session.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_MAX 256 /* listed at most: far more than any account has */
#define ID_LEN	     16

enum sessions_op { OP_LIST, OP_END, OP_END_OTHERS };

struct listed {
	uint8_t id[ID_LEN];
	struct token_ref ref;
	struct session s;
};

struct sessions_flow {
	struct flow f;
	enum sessions_op op;
	uint8_t id[ID_LEN]; /* OP_END: the session to end */
	struct listed *found;
	size_t n;
	bool ended_current;
	size_t ended;
};

/* A session's public id: HMAC(subjects key, "I" || where it is filed),
 * cut to 16 bytes. The 16-byte prefix of the token hash is what both
 * engines file it under (LMDB keeps no more). */
static void public_id(const struct token_ref *ref, uint8_t out[ID_LEN])
{
	uint8_t in[1 + AUTHD_ID_LEN + 16], mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	in[0] = 'I';
	memcpy(in + 1, ref->account_id, AUTHD_ID_LEN);
	memcpy(in + 1 + AUTHD_ID_LEN, ref->hash, 16);
	HMAC(EVP_sha256(), srv.keys.subjects, KEYS_LEN, in, sizeof(in), mac, &len);
	memcpy(out, mac, ID_LEN);
}

static bool same_session(const struct token_ref *a, const struct token_ref *b)
{
	return memcmp(a->account_id, b->account_id, AUTHD_ID_LEN) == 0 &&
	       CRYPTO_memcmp(a->hash, b->hash, 16) == 0;
}

static int collect(void *arg, const struct token_ref *ref, const struct session *s)
{
	struct sessions_flow *j = arg;
	struct listed *l;

	/* Over already, only not swept yet: not a session any more. */
	if (j->f.now >= core_session_expires(s, srv.cfg.session_idle_s) || j->n == SESSIONS_MAX)
		return 0;
	l = &j->found[j->n++];
	l->ref = *ref;
	l->s = *s;
	public_id(ref, l->id);
	return 0;
}

static int sessions_read(struct flow *f, struct store_txn *txn)
{
	struct sessions_flow *j = (struct sessions_flow *)f;

	j->n = 0;
	return store_sessions_list(txn, f->session.account_id, collect, j);
}

static json_t *session_json(const struct sessions_flow *j, const struct listed *l)
{
	char id[2 * ID_LEN + 1], created[21], seen[21], ends[21], where[128];

	authd_hex(l->id, ID_LEN, id);
	authd_time_str(l->s.created_at, created);
	authd_time_str(l->s.last_seen, seen);
	authd_time_str(core_session_expires(&l->s, srv.cfg.session_idle_s), ends);
	geoip_locate(l->s.ip, where, sizeof(where));
	return json_pack("{s:s, s:b, s:s, s:s, s:s, s:s?, s:s, s:s, s:b}", "id", id, "current",
			 same_session(&l->ref, &j->f.token), "created_at", created, "last_seen",
			 seen, "expires_at", ends, "ip", l->s.ip[0] ? l->s.ip : NULL, "location",
			 where, "browser", l->s.browser[0] ? l->s.browser : "unknown",
			 "second_factor", l->s.aal == AAL_SECOND_FACTOR);
}

static void list_reply(struct flow *f, struct req *r)
{
	struct sessions_flow *j = (struct sessions_flow *)f;
	json_t *list;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	list = json_array();
	/* Newest first. */
	for (size_t i = j->n; list && i-- > 0;) {
		size_t newest = 0;

		for (size_t k = 1; k <= i; k++)
			if (j->found[k].s.created_at >= j->found[newest].s.created_at)
				newest = k;
		if (json_array_append_new(list, session_json(j, &j->found[newest])) != 0) {
			json_decref(list);
			list = NULL;
			break;
		}
		j->found[newest] = j->found[i];
	}
	if (list == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "sessions", list));
}

/* --- ending ------------------------------------------------------------------------- */

static int end_write(struct flow *f, struct store_txn *txn)
{
	struct sessions_flow *j = (struct sessions_flow *)f;
	int rc;

	j->ended = 0;
	j->ended_current = false;
	if (j->op == OP_END_OTHERS) {
		if ((rc = sessions_read(f, txn)) != 0)
			return rc;
		for (size_t i = 0; i < j->n; i++)
			j->ended += !same_session(&j->found[i].ref, &f->token);
		return store_session_del_all(txn, f->session.account_id, &f->token);
	}
	if ((rc = sessions_read(f, txn)) != 0)
		return rc;
	for (size_t i = 0; i < j->n; i++) {
		if (CRYPTO_memcmp(j->found[i].id, j->id, ID_LEN) != 0)
			continue;
		j->ended = 1;
		j->ended_current = same_session(&j->found[i].ref, &f->token);
		return store_session_del(txn, &j->found[i].ref);
	}
	f->err = E_SESSION_NOT_FOUND;
	return 0;
}

static void end_reply(struct flow *f, struct req *r)
{
	struct sessions_flow *j = (struct sessions_flow *)f;
	char aid[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
	log_info("sessions ended account=%s count=%zu current=%s req=%llu", aid, j->ended,
		 j->ended_current ? "yes" : "no", (unsigned long long)r->id);
	if (j->ended_current && f->via_cookie) {
		char cookie[96];

		snprintf(cookie, sizeof(cookie),
			 "%s=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
			 SESSION_COOKIE);
		req_add_header(r, "Set-Cookie", cookie);
	}
	if (j->op == OP_END_OTHERS) {
		reply_json(r, 200, json_pack("{s:I}", "ended", (json_int_t)j->ended));
		return;
	}
	reply_empty(r, 204);
}

static void sessions_release(struct flow *f)
{
	struct sessions_flow *j = (struct sessions_flow *)f;

	if (j->found)
		authd_freezero(j->found, SESSIONS_MAX * sizeof(*j->found));
	authd_freezero(j, sizeof(*j));
}

static const struct flow_ops list_ops = {
    .read = sessions_read,
    .reply = list_reply,
    .release = sessions_release,
};

static const struct flow_ops end_ops = {
    .write = end_write,
    .reply = end_reply,
    .release = sessions_release,
};

static struct sessions_flow *sessions_flow_new(struct req *r, enum sessions_op op)
{
	struct sessions_flow *j = calloc(1, sizeof(*j));

	if (j)
		j->found = calloc(SESSIONS_MAX, sizeof(*j->found));
	if (j == NULL || j->found == NULL) {
		free(j);
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	j->op = op;
	return j;
}

void http_sessions_list(struct req *r)
{
	struct sessions_flow *j = sessions_flow_new(r, OP_LIST);

	if (j)
		flow_start(&j->f, &list_ops, r);
}

void http_sessions_end_others(struct req *r)
{
	struct sessions_flow *j;
	json_t *body = json_body_or_reply(r, NULL, 0);

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = sessions_flow_new(r, OP_END_OTHERS)) != NULL)
		flow_start(&j->f, &end_ops, r);
}

void http_session_end(struct req *r)
{
	struct sessions_flow *j;

	if (strlen(r->param) != 2 * ID_LEN) {
		reply_error(r, E_SESSION_NOT_FOUND);
		return;
	}
	if ((j = sessions_flow_new(r, OP_END)) == NULL)
		return;
	if (authd_unhex(r->param, strlen(r->param), j->id, ID_LEN) != 0) {
		sessions_release(&j->f);
		reply_error(r, E_SESSION_NOT_FOUND);
		return;
	}
	flow_start(&j->f, &end_ops, r);
}
