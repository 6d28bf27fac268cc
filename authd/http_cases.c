/*
 * Identity-verification cases (recovery.h decides; this is the shell):
 *
 *   POST /1/verification/cases             open one: {"reason", "login" or
 *                                          "login_id", "contact_email",
 *                                          "details"}; no session
 *   GET  /1/verification/cases/{id}        its state, by the case token
 *   POST /1/verification/cases/{id}/documents   a document (the body's
 *                                          bytes, of its Content-Type), by
 *                                          the case token
 *   GET  /1/verification/cases             the cases (a reviewer)
 *   GET  /1/verification/cases/{id}/documents/{n}   a document (a reviewer)
 *   POST /1/verification/cases/{id}/decision   {"approve", "note",
 *                                          "account"} (a reviewer, recently
 *                                          signed in): approval performs
 *                                          the action asked
 *   POST /1/verification/accounts/lock     {"login"} (a reviewer)
 *
 * Opening answers alike whether or not the login names an account (the
 * case then leads nowhere and a reviewer rejects it). The case token (256
 * random bits after the case id, stored as its SHA-256) is the person's
 * only credential. Documents are sealed (AES-256-GCM under the documents
 * key, bound to the case id) on a pool thread, kept CASE_DOC_KEEP_S after
 * their upload while the case is open (the sweeper deletes them, once per
 * cluster), and deleted in the commit that decides the case.
 */
#include "accounts.h"
#include "http.h"

#include "factors.h"
#include "flow.h"
#include "orgs.h"
#include "notify.h"
#include "outbox.h"
#include "session.h"
#include "ws_device.h"

#include <log.h>
#include <recovery.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX 200 /* cases a reviewer's list shows */

/* The media types a document may have. */
static const char *const doc_types[] = {"image/jpeg", "image/png", "image/heic", "application/pdf",
					"application/octet-stream"};

/* Queues template `name` to a case's contact address. */
static int tell_contact(struct store_txn *txn, const struct case_rec *c, const char *name,
			int64_t now)
{
	char id[AUTHD_ID_HEX + 1], when[32];

	authd_hex(c->id, AUTHD_ID_LEN, id);
	notify_time(now, when, sizeof(when));
	const struct template_var vars[] = {
	    {"code", id}, {"time", when}, {"base_url", notify_base_url()}};
	const struct outbox_item it = {
	    .channel = OUTBOX_EMAIL,
	    .to = c->contact,
	    .template_name = name,
	    .vars = vars,
	    .nvars = 3,
	    .now = now,
	};

	return outbox_queue(txn, &it);
}

/* The case id in r->param (its first segment), or false after a 404. */
static bool case_id_or_reply(struct req *r, uint8_t id[AUTHD_ID_LEN], unsigned *n)
{
	const char *slash = strchr(r->param, '/');
	size_t len = slash ? (size_t)(slash - r->param) : strlen(r->param);
	char *end = NULL;

	if (authd_unhex(r->param, len, id, AUTHD_ID_LEN) != 0)
		goto nope;
	if (n) {
		long v = slash ? strtol(slash + 1, &end, 10) : -1;

		if (!slash || end == slash + 1 || *end != '\0' || v < 0 || v >= CASE_DOCS_MAX)
			goto nope;
		*n = (unsigned)v;
	}
	return true;
nope:
	reply_error(r, E_CASE_NOT_FOUND);
	return false;
}

/* The case token of the Authorization header, naming case id. */
static bool case_token_or_reply(struct req *r, const uint8_t id[AUTHD_ID_LEN],
				struct token_ref *ref)
{
	if (strncasecmp(r->authorization, "Bearer ", 7) != 0 ||
	    !token_parse(r->authorization + 7, strlen(r->authorization + 7), ref) ||
	    memcmp(ref->account_id, id, AUTHD_ID_LEN) != 0) {
		reply_error(r, E_CASE_NOT_FOUND);
		return false;
	}
	return true;
}

/* Reads the case the token opens into *c; E_CASE_NOT_FOUND in f->err
 * when there is none. */
static int own_case(struct flow *f, struct store_txn *txn, const struct token_ref *ref,
		    struct case_rec *c)
{
	int rc = store_case_get(txn, ref->account_id, c);

	if (rc == STORE_E_NOTFOUND ||
	    (rc == 0 && CRYPTO_memcmp(c->token_hash, ref->hash, AUTHD_HASH_LEN) != 0)) {
		f->err = E_CASE_NOT_FOUND;
		return 0;
	}
	return rc;
}

static json_t *docs_json(const struct case_rec *c, int64_t now)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->n_docs; i++) {
		char at[21], until[21];

		authd_time_str(c->docs[i].uploaded_at, at);
		authd_time_str(c->docs[i].uploaded_at + CASE_DOC_KEEP_S, until);
		json_array_append_new(a, json_pack("{s:i, s:s, s:I, s:s, s:s, s:b}", "document",
						   (int)i, "type", c->docs[i].type, "size",
						   (json_int_t)c->docs[i].size, "uploaded_at", at,
						   "kept_until", until, "kept",
						   recovery_case_doc_live(c, i, now)));
	}
	return a;
}

/* What the person sees of their case. */
static json_t *case_json(const struct case_rec *c, int64_t now)
{
	char id[AUTHD_ID_HEX + 1], opened[21], decided[21];

	authd_hex(c->id, AUTHD_ID_LEN, id);
	authd_time_str(c->opened_at, opened);
	authd_time_str(c->decided_at, decided);
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o}", "case_id", id, "reason",
			 recovery_case_reason_name((enum case_reason)c->reason), "state",
			 recovery_case_state_name((enum case_state)c->state), "opened_at", opened,
			 "decided_at", c->decided_at ? decided : NULL, "documents",
			 docs_json(c, now));
}

/* --- POST /1/verification/cases ------------------------------------------------------------ */

struct open_flow {
	struct flow f;
	enum case_reason reason;
	char login[EMAIL_MAX + 1], contact[EMAIL_MAX + 1];
	char details[CASE_DETAILS_MAX + 1];
	bool has_login_id;
	struct token_ref login_id;
	struct new_token token;
	struct case_rec c;
};

static int open_write(struct flow *f, struct store_txn *txn)
{
	struct open_flow *j = (struct open_flow *)f;
	uint8_t account[AUTHD_ID_LEN];
	const uint8_t *id = NULL;
	struct login l;
	int rc;

	if (j->has_login_id) {
		/* A lost second factor: the pending login proves the password. */
		rc = store_login_get(txn, &j->login_id, &l);
		if (rc == STORE_E_NOTFOUND || (rc == 0 && f->now >= l.expires_at)) {
			f->err = E_LOGIN_EXPIRED;
			return 0;
		}
		if (rc != 0)
			return rc;
		id = j->login_id.account_id;
	} else if (j->login[0]) {
		/* Known or not, the same write and the same answer. */
		rc = store_account_by_email(txn, j->login, account);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			return rc;
		id = rc == 0 ? account : NULL;
	}
	recovery_case_open(&j->c, j->token.ref.account_id, id, j->reason, j->token.ref.hash,
			   j->login, j->contact, j->details, f->now);
	if ((rc = store_case_put(txn, &j->c)) != 0)
		return rc;
	return tell_contact(txn, &j->c, "case_opened", f->now);
}

static void open_reply(struct flow *f, struct req *r)
{
	struct open_flow *j = (struct open_flow *)f;
	json_t *body;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_info("case opened reason=%s ip=%s req=%llu", recovery_case_reason_name(j->reason),
		 r->ip, (unsigned long long)r->id);
	body = case_json(&j->c, f->now);
	if (body) {
		json_object_set_new(body, "case_token", json_string(j->token.text));
		json_object_set_new(body, "documents_max", json_integer(CASE_DOCS_MAX));
		json_object_set_new(body, "document_max_bytes",
				    json_integer((json_int_t)srv.cfg.max_body));
	}
	reply_json(r, 201, body);
}

static void open_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct open_flow));
}

static const struct flow_ops open_ops = {
    .write = open_write,
    .reply = open_reply,
    .release = open_release,
};

void http_case_open(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"reason", JSON_STRING, true, 32},
	    {"login", JSON_STRING, false, 254},
	    {"login_id", JSON_STRING, false, 128},
	    {"contact_email", JSON_STRING, true, 254},
	    {"details", JSON_STRING, false, CASE_DETAILS_MAX},
	};
	json_t *body = json_body_or_reply(r, spec, 5);
	struct open_flow *j = NULL;
	const char *v;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	j->reason = recovery_case_reason_parse(json_str(body, "reason", &len));
	if (j->reason == 0) {
		reply_field_error(r, E_INVALID_FIELD, "reason",
				  "password_reset, login_forgotten, disable_2fa or unlock");
		goto out;
	}
	/* What names the account: a login, a pending login, or nothing. */
	v = json_str(body, "login", &len);
	if ((j->reason == CASE_PASSWORD || j->reason == CASE_UNLOCK) && v == NULL) {
		reply_field_error(r, E_MISSING_FIELD, "login", NULL);
		goto out;
	}
	if (v && (j->reason == CASE_LOGIN || j->reason == CASE_DISABLE_2FA)) {
		reply_field_error(r, E_UNKNOWN_FIELD, "login", NULL);
		goto out;
	}
	if (v && core_login_normalize(v, len, j->login) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "login", "a login email or recovery login");
		goto out;
	}
	v = json_str(body, "login_id", &len);
	if (j->reason == CASE_DISABLE_2FA && v == NULL) {
		reply_field_error(r, E_MISSING_FIELD, "login_id", NULL);
		goto out;
	}
	if (v && j->reason != CASE_DISABLE_2FA) {
		reply_field_error(r, E_UNKNOWN_FIELD, "login_id", NULL);
		goto out;
	}
	if (v && !token_parse(v, len, &j->login_id)) {
		reply_error(r, E_LOGIN_EXPIRED);
		goto out;
	}
	j->has_login_id = v != NULL;
	v = json_str(body, "contact_email", &len);
	if (authd_email_normalize(v, len, j->contact) != 0) {
		reply_field_error(r, E_INVALID_EMAIL, "contact_email", NULL);
		goto out;
	}
	if ((v = json_str(body, "details", &len)) != NULL) {
		if (memchr(v, '\0', len) != NULL) {
			reply_field_error(r, E_INVALID_FIELD, "details", "text");
			goto out;
		}
		memcpy(j->details, v, len);
	}
	if (!recovery_address_or_reply(r))
		goto out;
	json_decref(body);
	uint8_t case_id[AUTHD_ID_LEN];

	authd_random(case_id, sizeof(case_id));
	token_new(&j->token, case_id);
	flow_start(&j->f, &open_ops, r);
	return;
out:
	if (j)
		open_release(&j->f);
	json_decref(body);
}

/* --- GET /1/verification/cases/{id} ------------------------------------------------------------
 */

struct own_flow {
	struct flow f;
	struct token_ref ref;
	struct case_rec c;
	/* a document: its type and bytes (plain in work, sealed after) */
	char type[CASE_TYPE_MAX + 1];
	uint8_t *doc;
	size_t doc_len;
	uint8_t *sealed;
	size_t sealed_len;
	int n; /* the document's slot, once written */
};

static int view_read(struct flow *f, struct store_txn *txn)
{
	struct own_flow *j = (struct own_flow *)f;

	return own_case(f, txn, &j->ref, &j->c);
}

static void view_reply(struct flow *f, struct req *r)
{
	struct own_flow *j = (struct own_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, case_json(&j->c, f->now));
}

static void own_release(struct flow *f)
{
	struct own_flow *j = (struct own_flow *)f;

	authd_freezero(j->doc, j->doc_len);
	free(j->sealed);
	authd_freezero(j, sizeof(*j));
}

static const struct flow_ops view_ops = {
    .read = view_read,
    .reply = view_reply,
    .release = own_release,
};

static struct own_flow *own_start(struct req *r)
{
	uint8_t id[AUTHD_ID_LEN];
	struct own_flow *j;

	if (!case_id_or_reply(r, id, NULL))
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	if (!case_token_or_reply(r, id, &j->ref)) {
		own_release(&j->f);
		return NULL;
	}
	return j;
}

void http_case_get(struct req *r)
{
	struct own_flow *j = own_start(r);

	if (j)
		flow_start(&j->f, &view_ops, r);
}

/* --- POST /1/verification/cases/{id}/documents ------------------------------------------ */

static void doc_seal(struct flow *f)
{
	struct own_flow *j = (struct own_flow *)f;

	if ((j->sealed = malloc(j->doc_len + SEAL_OVERHEAD)) != NULL &&
	    keys_seal(&keys_seals()->documents, j->ref.account_id, AUTHD_ID_LEN, j->doc, j->doc_len,
		      j->sealed) == 0)
		j->sealed_len = j->doc_len + SEAL_OVERHEAD;
	authd_freezero(j->doc, j->doc_len);
	j->doc = NULL;
}

static bool doc_sealed(struct flow *f)
{
	struct own_flow *j = (struct own_flow *)f;

	if (j->sealed_len)
		return true;
	if (f->req)
		reply_error(f->req, E_OVERLOADED); /* out of memory */
	return false;
}

static int doc_write(struct flow *f, struct store_txn *txn)
{
	struct own_flow *j = (struct own_flow *)f;
	int rc = own_case(f, txn, &j->ref, &j->c);

	if (rc != 0 || f->err != E_OK)
		return rc;
	j->n = recovery_case_doc_add(&j->c, (uint32_t)(j->sealed_len - SEAL_OVERHEAD), j->type,
				     f->now);
	if (j->n < 0) {
		f->err = j->n == RECOVERY_E_EXPIRED ? E_CASE_CLOSED : E_TOO_MANY_DOCUMENTS;
		return 0;
	}
	if ((rc = store_doc_put(txn, j->c.id, (unsigned)j->n, f->now, j->sealed, j->sealed_len)) !=
	    0)
		return rc;
	return store_case_put(txn, &j->c);
}

static void doc_reply(struct flow *f, struct req *r)
{
	struct own_flow *j = (struct own_flow *)f;
	json_t *docs, *doc;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	docs = docs_json(&j->c, f->now);
	doc = json_incref(json_array_get(docs, (size_t)j->n));
	json_decref(docs);
	reply_json(r, 201, doc);
}

static const struct flow_ops doc_ops = {
    .work = doc_seal,
    .worked = doc_sealed,
    .write = doc_write,
    .reply = doc_reply,
    .release = own_release,
};

void http_case_document_add(struct req *r)
{
	char type[CASE_TYPE_MAX + 1];
	struct own_flow *j;
	size_t tlen = strcspn(r->content_type, "; ");
	bool known = false;

	if (r->body_too_large) {
		reply_error(r, E_BODY_TOO_LARGE);
		return;
	}
	snprintf(type, sizeof(type), "%.*s", (int)(tlen < CASE_TYPE_MAX ? tlen : CASE_TYPE_MAX),
		 r->content_type);
	for (size_t i = 0; i < sizeof(doc_types) / sizeof(doc_types[0]); i++)
		known = known || strcasecmp(type, doc_types[i]) == 0;
	if (!known) {
		reply_error(r, E_UNSUPPORTED_MEDIA_TYPE);
		return;
	}
	if (r->body_len == 0) {
		reply_field_error(r, E_INVALID_FIELD, NULL, "a document's bytes");
		return;
	}
	if ((j = own_start(r)) == NULL)
		return;
	for (char *c = type; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	memcpy(j->type, type, sizeof(j->type));
	if ((j->doc = malloc(r->body_len)) == NULL) {
		reply_error(r, E_OVERLOADED);
		own_release(&j->f);
		return;
	}
	memcpy(j->doc, r->body, r->body_len);
	j->doc_len = r->body_len;
	flow_start(&j->f, &doc_ops, r);
}

/* --- GET /1/verification/cases (a reviewer) --------------------------------------------- */

struct list_flow {
	struct flow_list l;
	struct store_txn *txn;
	bool all;
};

static int list_one(void *arg, const struct case_rec *c)
{
	struct list_flow *j = arg;
	static const uint8_t zero[AUTHD_ID_LEN];
	json_t *o = case_json(c, j->l.f.now);
	char aid[AUTHD_ID_HEX + 1], rid[AUTHD_ID_HEX + 1];
	struct account a;
	int rc;

	if (o == NULL)
		return STORE_E_IO;
	json_object_set_new(o, "login", json_string(c->login));
	json_object_set_new(o, "contact_email", json_string(c->contact));
	json_object_set_new(o, "details", json_string(c->details));
	json_object_set_new(o, "note", json_string(c->note));
	if (memcmp(c->account_id, zero, AUTHD_ID_LEN) != 0) {
		authd_hex(c->account_id, AUTHD_ID_LEN, aid);
		rc = store_account_get(j->txn, c->account_id, &a);
		if (rc != 0 && rc != STORE_E_NOTFOUND) {
			json_decref(o);
			return rc;
		}
		json_object_set_new(o, "account",
				    json_pack("{s:s, s:s?, s:s?, s:b}", "id", aid, "login",
					      rc == 0 ? a.email : NULL, "name",
					      rc == 0 ? a.name : NULL, "locked",
					      rc == 0 && a.locked_at));
		OPENSSL_cleanse(&a, sizeof(a));
	} else {
		json_object_set_new(o, "account", json_null());
	}
	if (c->state != CASE_OPEN) {
		authd_hex(c->reviewer, AUTHD_ID_LEN, rid);
		json_object_set_new(o, "reviewer", json_string(rid));
	}
	json_array_append_new(j->l.list, o);
	return 0;
}

static int list_read(struct flow *f, struct store_txn *txn)
{
	struct list_flow *j = (struct list_flow *)f;

	if (flow_list_new(&j->l) == NULL)
		return STORE_E_IO;
	j->txn = txn;
	return store_cases_list(txn, j->all, LIST_MAX, list_one, j);
}

static const struct flow_ops list_ops = {
    .read = list_read,
    .reply = flow_list_reply,
    .release = flow_list_release,
};

void http_cases_list(struct req *r)
{
	static const char *const names[] = {"state"};
	char values[1][QUERY_VALUE_MAX];
	struct list_flow *j;

	if (!req_query_or_reply(r, names, 1, values))
		return;
	if (values[0][0] && strcmp(values[0], "open") != 0 && strcmp(values[0], "all") != 0) {
		reply_field_error(r, E_INVALID_FIELD, "state", "open or all");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	j->all = strcmp(values[0], "all") == 0;
	j->l.key = "cases";
	flow_start(&j->l.f, &list_ops, r);
}

/* --- GET /1/verification/cases/{id}/documents/{n} (a reviewer) ----------------------------- */

struct read_flow {
	struct flow f;
	uint8_t id[AUTHD_ID_LEN];
	unsigned n;
	struct case_rec c;
	uint8_t *sealed;
	size_t sealed_len;
};

static int doc_read(struct flow *f, struct store_txn *txn)
{
	struct read_flow *j = (struct read_flow *)f;
	int rc = store_case_get(txn, j->id, &j->c);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_CASE_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	free(j->sealed);
	j->sealed = NULL;
	if (!recovery_case_doc_live(&j->c, j->n, f->now)) {
		f->err = E_DOCUMENT_GONE;
		return 0;
	}
	rc = store_doc_get(txn, j->id, j->n, &j->sealed, &j->sealed_len);
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_DOCUMENT_GONE;
		return 0;
	}
	return rc;
}

static void doc_read_reply(struct flow *f, struct req *r)
{
	struct read_flow *j = (struct read_flow *)f;
	char cid[AUTHD_ID_HEX + 1], rid[AUTHD_ID_HEX + 1];
	const struct core_keyring *ring;
	uint8_t *plain;
	long n;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (j->sealed_len < SEAL_OVERHEAD ||
	    (plain = malloc(j->sealed_len - SEAL_OVERHEAD + 1)) == NULL) {
		reply_error(r, E_INTERNAL);
		return;
	}
	ring = &keys_seals()->documents;
	n = keys_open(ring, j->id, AUTHD_ID_LEN, j->sealed, j->sealed_len, plain);
	if (n < 0) {
		authd_freezero(plain, j->sealed_len - SEAL_OVERHEAD + 1);
		if (core_seal_not_held(ring, j->sealed, j->sealed_len)) {
			log_err("case document sealed with key generation %u, which this node's "
				"key file lacks",
				core_seal_generation(j->sealed, j->sealed_len));
			reply_error(r, E_KEY_GENERATION_MISSING);
			return;
		}
		log_err("case document does not open: altered, or another key file's?");
		reply_error(r, E_INTERNAL);
		return;
	}
	/* Every look at a document is on the record. */
	authd_hex(j->id, AUTHD_ID_LEN, cid);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, rid);
	log_info("case document read case=%s document=%u reviewer=%s ip=%s req=%llu", cid, j->n,
		 rid, r->ip, (unsigned long long)r->id);
	req_add_header(r, "Content-Disposition", "attachment");
	reply_bytes(r, 200, (char *)plain, (size_t)n, j->c.docs[j->n].type);
}

static void doc_read_release(struct flow *f)
{
	struct read_flow *j = (struct read_flow *)f;

	free(j->sealed);
	authd_freezero(j, sizeof(*j));
}

static const struct flow_ops doc_read_ops = {
    .read = doc_read,
    .reply = doc_read_reply,
    .release = doc_read_release,
};

void http_case_document_get(struct req *r)
{
	struct read_flow *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	if (!case_id_or_reply(r, j->id, &j->n)) {
		free(j);
		return;
	}
	flow_start(&j->f, &doc_read_ops, r);
}

/* --- POST /1/verification/cases/{id}/decision (a reviewer) -------------------------------- */

struct decide_flow {
	struct flow f;
	uint8_t id[AUTHD_ID_LEN];
	bool approve;
	char note[CASE_NOTE_MAX + 1];
	char account[EMAIL_MAX + 1]; /* for a forgotten login: whose it is */
	struct case_rec c;
	/* devices removed by an approval: their channels close once durable */
	uint8_t revoked[CORE_DEVICES_MAX][AUTHD_ID_LEN];
	unsigned n_revoked;
	bool sent; /* the approval's message went */
};

/* Every second factor of account id goes: TOTP, backup codes, devices,
 * SMS; its failure history is forgotten; every session ends. */
static int factors_reset(struct decide_flow *j, struct store_txn *txn, const uint8_t *id)
{
	struct recovery_rec rec;
	int rc;

	if ((rc = store_totp_del(txn, id)) != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if ((rc = store_backup_del(txn, id)) != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if ((rc = factor_devices_revoke(txn, id, true, j->revoked, &j->n_revoked)) != 0 ||
	    (rc = store_recovery_get(txn, id, &rec)) != 0)
		return rc;
	recovery_sms_factor_off(&rec);
	rc = store_recovery_put(txn, id, &rec);
	OPENSSL_cleanse(&rec, sizeof(rec));
	if (rc != 0 || (rc = factor_failures_clear(txn, id, j->f.now, j->f.ip)) != 0 ||
	    (rc = store_session_del_all(txn, id, NULL)) != 0 ||
	    (rc = orgs_account_tokens_end(&j->f, txn, id)) != 0 ||
	    (rc = store_login_del_all(txn, id)) != 0)
		return rc;
	return factor_event(txn, id, EVENT_SECOND_FACTOR_RESET, j->f.now, j->f.ip);
}

/* What an approval does, by the case's reason, for account a. */
static int approve(struct decide_flow *j, struct store_txn *txn, struct account *a)
{
	switch ((enum case_reason)j->c.reason) {
	case CASE_PASSWORD:
		return recovery_case_reset_link(txn, a->id, j->c.contact, j->f.now, j->f.ip,
						&j->sent);
	case CASE_LOGIN:
		j->sent = true;
		return recovery_case_login_reminder(txn, a, j->c.contact, j->f.now, j->f.ip);
	case CASE_DISABLE_2FA:
		return factors_reset(j, txn, a->id);
	case CASE_UNLOCK:
		return account_unlock(&j->f, txn, a);
	}
	return STORE_E_CORRUPT;
}

static int decide_write(struct flow *f, struct store_txn *txn)
{
	struct decide_flow *j = (struct decide_flow *)f;
	static const uint8_t zero[AUTHD_ID_LEN];
	struct account a;
	int rc = store_case_get(txn, j->id, &j->c);

	memset(&a, 0, sizeof(a));
	j->sent = false;
	if (rc == STORE_E_NOTFOUND) {
		f->err = E_CASE_NOT_FOUND;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (recovery_case_decide(&j->c, j->approve, f->session.account_id, j->note, f->now) !=
	    RECOVERY_OK) {
		f->err = E_CASE_CLOSED;
		return 0;
	}
	/* A forgotten login: the reviewer names the account the documents
	 * showed. */
	if (j->approve && j->c.reason == CASE_LOGIN) {
		if (j->account[0] == '\0') {
			f->err = E_CASE_NO_ACCOUNT;
			return 0;
		}
		rc = store_account_by_email(txn, j->account, j->c.account_id);
		if (rc == STORE_E_NOTFOUND) {
			f->err = E_CASE_NO_ACCOUNT;
			return 0;
		}
		if (rc != 0)
			return rc;
	}
	if (memcmp(j->c.account_id, zero, AUTHD_ID_LEN) != 0) {
		rc = store_account_get(txn, j->c.account_id, &a);
		if (rc != 0 && rc != STORE_E_NOTFOUND)
			goto out;
		if (rc == STORE_E_NOTFOUND)
			memset(j->c.account_id, 0, AUTHD_ID_LEN); /* closed meanwhile */
	}
	if (j->approve && memcmp(j->c.account_id, zero, AUTHD_ID_LEN) == 0) {
		f->err = E_CASE_NO_ACCOUNT; /* nothing to approve: reject it */
		rc = 0;
		goto out;
	}
	/* Nobody decides about their own account. */
	if (memcmp(j->c.account_id, f->session.account_id, AUTHD_ID_LEN) == 0) {
		f->err = E_FORBIDDEN;
		rc = 0;
		goto out;
	}
	/* The action first: when it cannot be done now (the hour's messages
	 * spent), nothing is written and the case stays open. */
	if (j->approve && (rc = approve(j, txn, &a)) != 0)
		goto out;
	if (j->approve && j->c.reason == CASE_PASSWORD && !j->sent) {
		f->err = E_TOO_MANY_MESSAGES;
		f->retry_after = RECOVERY_SEND_WINDOW;
		goto out;
	}
	if ((rc = store_docs_del(txn, j->id)) != 0 || (rc = store_case_put(txn, &j->c)) != 0)
		goto out;
	if (memcmp(j->c.account_id, zero, AUTHD_ID_LEN) != 0 &&
	    (rc = factor_event(txn, j->c.account_id, EVENT_CASE_DECIDED, f->now, f->ip)) != 0)
		goto out;
	rc = tell_contact(txn, &j->c, j->approve ? "case_approved" : "case_rejected", f->now);
out:
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

static void decide_written(struct flow *f)
{
	struct decide_flow *j = (struct decide_flow *)f;

	if (f->job.store_rc == 0 && f->err == E_OK)
		for (unsigned i = 0; i < j->n_revoked; i++)
			ws_device_revoked(j->revoked[i]);
}

static void decide_reply(struct flow *f, struct req *r)
{
	struct decide_flow *j = (struct decide_flow *)f;
	char cid[AUTHD_ID_HEX + 1], rid[AUTHD_ID_HEX + 1];
	json_t *body;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->id, AUTHD_ID_LEN, cid);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, rid);
	log_info("case decided case=%s reason=%s outcome=%s reviewer=%s ip=%s req=%llu", cid,
		 recovery_case_reason_name((enum case_reason)j->c.reason),
		 j->approve ? "approved" : "rejected", rid, r->ip, (unsigned long long)r->id);
	body = case_json(&j->c, f->now);
	if (body && j->approve && (j->c.reason == CASE_PASSWORD || j->c.reason == CASE_LOGIN))
		json_object_set_new(body, "sent", json_boolean(j->sent));
	reply_json(r, 200, body);
}

static void decide_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct decide_flow));
}

static const struct flow_ops decide_ops = {
    .write = decide_write,
    .written = decide_written,
    .reply = decide_reply,
    .release = decide_release,
};

void http_case_decide(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"approve", JSON_TRUE, true, 0},
	    {"note", JSON_STRING, false, CASE_NOTE_MAX},
	    {"account", JSON_STRING, false, 254},
	};
	json_t *body = json_body_or_reply(r, spec, 3);
	struct decide_flow *j = NULL;
	const char *v;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		reply_error(r, E_OVERLOADED);
		goto out;
	}
	if (!case_id_or_reply(r, j->id, NULL))
		goto out;
	j->approve = json_is_true(json_object_get(body, "approve"));
	if ((v = json_str(body, "note", &len)) != NULL) {
		if (memchr(v, '\0', len) != NULL) {
			reply_field_error(r, E_INVALID_FIELD, "note", "text");
			goto out;
		}
		memcpy(j->note, v, len);
	}
	if ((v = json_str(body, "account", &len)) != NULL &&
	    core_login_normalize(v, len, j->account) != 0) {
		reply_field_error(r, E_INVALID_FIELD, "account", "a login email or recovery login");
		goto out;
	}
	json_decref(body);
	flow_start(&j->f, &decide_ops, r);
	return;
out:
	free(j);
	json_decref(body);
}

/* --- POST /1/verification/accounts/lock (a reviewer) -------------------------------------- */

struct lock_flow {
	struct flow f;
	char login[EMAIL_MAX + 1];
	uint8_t account_id[AUTHD_ID_LEN];
	int64_t locked_at;
};

static int lock_write(struct flow *f, struct store_txn *txn)
{
	struct lock_flow *j = (struct lock_flow *)f;
	int rc = store_account_by_email(txn, j->login, j->account_id);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_NOT_FOUND;
		return 0;
	}
	return rc != 0 ? rc : account_lock(f, txn, j->account_id, &j->locked_at);
}

static void lock_reply(struct flow *f, struct req *r)
{
	struct lock_flow *j = (struct lock_flow *)f;
	char aid[AUTHD_ID_HEX + 1], rid[AUTHD_ID_HEX + 1], at[21];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(j->account_id, AUTHD_ID_LEN, aid);
	authd_hex(f->session.account_id, AUTHD_ID_LEN, rid);
	log_info("account locked account=%s reviewer=%s ip=%s req=%llu", aid, rid, r->ip,
		 (unsigned long long)r->id);
	authd_time_str(j->locked_at, at);
	reply_json(r, 200, json_pack("{s:s, s:s}", "account_id", aid, "locked_at", at));
}

static void lock_release(struct flow *f)
{
	authd_freezero(f, sizeof(struct lock_flow));
}

static const struct flow_ops lock_ops = {
    .write = lock_write,
    .reply = lock_reply,
    .release = lock_release,
};

void http_account_lock(struct req *r)
{
	static const struct field_spec spec[] = {
	    {"login", JSON_STRING, true, 254},
	};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct lock_flow *j;
	const char *v;
	size_t len;

	if (body == NULL)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		json_decref(body);
		reply_error(r, E_OVERLOADED);
		return;
	}
	v = json_str(body, "login", &len);
	if (core_login_normalize(v, len, j->login) != 0) {
		json_decref(body);
		reply_field_error(r, E_INVALID_FIELD, "login", "a login email or recovery login");
		lock_release(&j->f);
		return;
	}
	json_decref(body);
	flow_start(&j->f, &lock_ops, r);
}
