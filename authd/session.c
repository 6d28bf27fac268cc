/*
 * Sessions: tokens of the account id and 256 random bits, given to the
 * client and stored only as their SHA-256. A session expires after the idle
 * timeout without use or at its absolute end, whichever comes first; its
 * last-seen time is refreshed at most once a minute (a write that no
 * response waits for).
 */
#include "session.h"

#include "factors.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void token_new(struct new_token *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	uint8_t raw[AUTHD_TOKEN_LEN];

	memcpy(raw, account_id, AUTHD_ID_LEN);
	authd_random(raw + AUTHD_ID_LEN, AUTHD_SECRET_LEN);
	authd_b64url(raw, sizeof(raw), t->text);
	memcpy(t->ref.account_id, account_id, AUTHD_ID_LEN);
	authd_sha256(raw, sizeof(raw), t->ref.hash);
	OPENSSL_cleanse(raw, sizeof(raw));
}

void token_clear(struct new_token *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

bool token_parse(const char *text, size_t len, struct token_ref *out)
{
	uint8_t raw[AUTHD_TOKEN_LEN + 1];
	long n;

	if (len != AUTHD_TOKEN_B64)
		return false;
	n = authd_unb64url(text, len, raw, sizeof(raw));
	if (n != AUTHD_TOKEN_LEN) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return false;
	}
	memcpy(out->account_id, raw, AUTHD_ID_LEN);
	authd_sha256(raw, AUTHD_TOKEN_LEN, out->hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	return true;
}

void session_set_client(struct session *s, const char *ip, const char *browser)
{
	snprintf(s->ip, sizeof(s->ip), "%s", ip ? ip : "");
	snprintf(s->browser, sizeof(s->browser), "%s", browser && browser[0] ? browser : "unknown");
}

int session_issue(struct store_txn *txn, const struct token_ref *ref, const struct account *a,
		  enum aal aal, int64_t now, const char *ip, const char *browser)
{
	struct session s;

	core_session_new(&s, a, aal, now, factor_params());
	session_set_client(&s, ip, browser);
	return store_session_put(txn, ref, &s);
}

/* One HMAC context keyed with the CSRF key, reinitialised for each token:
 * a one-shot HMAC() fetches and keys a fresh one every call (about 3x the
 * cost). Only the loop thread computes CSRF tokens. */
static EVP_MAC_CTX *csrf_ctx;

void session_csrf(const uint8_t hash[AUTHD_HASH_LEN], char out[65])
{
	uint8_t mac[32];
	size_t len = 0;

	if (csrf_ctx == NULL) {
		EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
		    OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		    OSSL_PARAM_construct_end(),
		};

		csrf_ctx = m ? EVP_MAC_CTX_new(m) : NULL;
		EVP_MAC_free(m);
		if (csrf_ctx == NULL ||
		    EVP_MAC_init(csrf_ctx, srv.keys.csrf, sizeof(srv.keys.csrf), params) != 1)
			AUTHD_BUG("HMAC-SHA256 unavailable");
	} else if (EVP_MAC_init(csrf_ctx, NULL, 0, NULL) != 1) {
		AUTHD_BUG("HMAC reinit failed");
	}
	if (EVP_MAC_update(csrf_ctx, hash, AUTHD_HASH_LEN) != 1 ||
	    EVP_MAC_final(csrf_ctx, mac, &len, sizeof(mac)) != 1 || len != sizeof(mac))
		AUTHD_BUG("HMAC failed");
	authd_hex(mac, sizeof(mac), out);
}

void session_csrf_free(void)
{
	EVP_MAC_CTX_free(csrf_ctx);
	csrf_ctx = NULL;
}

void session_set_cookie(struct req *r, const struct new_token *t, char csrf[65])
{
	char cookie[192];

	session_csrf(t->ref.hash, csrf);
	snprintf(cookie, sizeof(cookie),
		 "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=%lld", SESSION_COOKIE,
		 t->text, (long long)srv.cfg.session_absolute_s);
	req_add_header(r, "Set-Cookie", cookie);
	OPENSSL_cleanse(cookie, sizeof(cookie));
}

void reply_session_done(struct req *r, struct new_token *t, int64_t now, int backup_left)
{
	reply_session_state(r, t, now, backup_left, "done");
}

int session_state_body(struct new_token *t, int64_t now, int backup_left, const char *state,
		       char **out)
{
	char expires[21];
	char csrf[65];
	char extra[48] = "";
	char *text = NULL;
	int64_t idle = now + srv.cfg.session_idle_s;
	int64_t abs_end = now + srv.cfg.session_absolute_s;
	int n;

	authd_time_str(idle < abs_end ? idle : abs_end, expires);
	session_csrf(t->ref.hash, csrf);
	if (backup_left >= 0)
		snprintf(extra, sizeof(extra), ",\"backup_codes_remaining\":%d", backup_left);
	/* Every login ends here: written directly, not through jansson. The
	 * token is base64url, the CSRF token hex and the time digits, so
	 * nothing needs escaping. */
	text = malloc(SESSION_STATE_MAX);
	n = text ? snprintf(text, SESSION_STATE_MAX,
			    "{\"state\":\"%s\",\"session\":\"%s\",\"expires_at\":\"%s\","
			    "\"csrf_token\":\"%s\"%s}",
			    state, t->text, expires, csrf, extra)
		 : -1;
	token_clear(t);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	if (n < 0 || n >= SESSION_STATE_MAX) {
		authd_freezero(text, SESSION_STATE_MAX);
		*out = NULL;
		return -1;
	}
	*out = text;
	return n;
}

void reply_session_state(struct req *r, struct new_token *t, int64_t now, int backup_left,
			 const char *state)
{
	char csrf[65];
	char *text = NULL;
	int n;

	session_set_cookie(r, t, csrf);
	OPENSSL_cleanse(csrf, sizeof(csrf));
	n = session_state_body(t, now, backup_left, state, &text);
	if (n < 0) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	/* The buffer is wiped when it is freed. */
	reply_json_text(r, 200, text, (size_t)n);
}

/* The value of cookie `name` in a Cookie header, or NULL. */
static const char *cookie_value(const char *header, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (*p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			p += nlen + 1;
			*len = strcspn(p, ";");
			return p;
		}
		p += strcspn(p, ";");
	}
	return NULL;
}

#define DEVICE_RAW	 (AUTHD_ID_LEN + 16 + 8 + 16)
#define DEVICE_MAX_AGE_S (180LL * 86400)

static void put_i64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

/* HMAC(device key, account || nonce || issued_at || SHA-256(password
 * hash)): every password change (a new salt) ends the account's cookies. */
static void device_mac(const uint8_t account_id[AUTHD_ID_LEN], const uint8_t nonce[16],
		       int64_t issued_at, const char *pw_hash, uint8_t mac[16])
{
	uint8_t in[AUTHD_ID_LEN + 16 + 8 + AUTHD_HASH_LEN], h[AUTHD_HASH_LEN];

	memcpy(in, account_id, AUTHD_ID_LEN);
	memcpy(in + AUTHD_ID_LEN, nonce, 16);
	put_i64(in + AUTHD_ID_LEN + 16, issued_at);
	authd_sha256(pw_hash, strlen(pw_hash), in + AUTHD_ID_LEN + 24);
	authd_hmac_sha256(srv.keys.device, in, sizeof(in), h);
	memcpy(mac, h, 16);
	OPENSSL_cleanse(h, sizeof(h));
}

void session_set_device_cookie(struct req *r, const uint8_t account_id[AUTHD_ID_LEN],
			       const char *pw_hash, int64_t now)
{
	uint8_t raw[DEVICE_RAW];
	char text[4 * DEVICE_RAW / 3 + 4], cookie[200];

	memcpy(raw, account_id, AUTHD_ID_LEN);
	authd_random(raw + AUTHD_ID_LEN, 16);
	put_i64(raw + AUTHD_ID_LEN + 16, now);
	device_mac(account_id, raw + AUTHD_ID_LEN, now, pw_hash, raw + AUTHD_ID_LEN + 24);
	authd_b64url(raw, sizeof(raw), text);
	snprintf(cookie, sizeof(cookie),
		 "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=%lld", DEVICE_COOKIE,
		 text, DEVICE_MAX_AGE_S);
	req_add_header(r, "Set-Cookie", cookie);
}

bool session_device_of(const struct req *r, struct device_cookie *d)
{
	uint8_t raw[DEVICE_RAW + 1];
	uint64_t at = 0;
	const char *v;
	size_t len = 0;

	if (r->cookie == NULL || (v = cookie_value(r->cookie, DEVICE_COOKIE, &len)) == NULL ||
	    authd_unb64url(v, len, raw, sizeof(raw)) != DEVICE_RAW)
		return false;
	memcpy(d->account_id, raw, AUTHD_ID_LEN);
	memcpy(d->nonce, raw + AUTHD_ID_LEN, 16);
	for (int i = 0; i < 8; i++)
		at = at << 8 | raw[AUTHD_ID_LEN + 16 + i];
	d->issued_at = (int64_t)at;
	memcpy(d->mac, raw + AUTHD_ID_LEN + 24, 16);
	return true;
}

bool session_device_verify(const struct device_cookie *d, const uint8_t account_id[AUTHD_ID_LEN],
			   const char *pw_hash, int64_t now)
{
	uint8_t mac[16];

	if (CRYPTO_memcmp(d->account_id, account_id, AUTHD_ID_LEN) != 0 ||
	    d->issued_at > now + 60 || now - d->issued_at > DEVICE_MAX_AGE_S)
		return false;
	device_mac(d->account_id, d->nonce, d->issued_at, pw_hash, mac);
	return CRYPTO_memcmp(mac, d->mac, 16) == 0;
}

struct touch_job {
	struct job job;
	struct token_ref ref;
	int64_t now;
};

static int touch_txn(struct job *job, struct store_txn *txn)
{
	struct touch_job *t = (struct touch_job *)job;
	struct session s;
	int rc = store_session_get(txn, &t->ref, &s);

	if (rc == STORE_E_NOTFOUND)
		return 0; /* logged out meanwhile */
	if (rc != 0)
		return rc;
	if (s.last_seen >= t->now)
		return 0;
	s.last_seen = t->now;
	return store_session_put(txn, &t->ref, &s);
}

/* Refreshes no response waits for, still being written, and what waits
 * for them all to be (loop thread only). */
static unsigned touches_pending;
static struct job *after_touches;

static void touch_done(struct job *job)
{
	free(job);
	if (--touches_pending == 0) {
		struct job *waiting = after_touches;

		after_touches = NULL;
		while (waiting) {
			struct job *next = waiting->next;

			waiting->next = NULL;
			store_write(waiting);
			waiting = next;
		}
	}
}

void session_write_after_touches(struct job *job)
{
	if (touches_pending == 0) {
		store_write(job);
		return;
	}
	job->next = after_touches;
	after_touches = job;
}

void session_touch(const struct token_ref *ref, int64_t now)
{
	struct touch_job *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return; /* only the idle clock is affected */
	t->job.txn_work = touch_txn;
	t->job.done = touch_done;
	touches_pending++;
	t->ref = *ref;
	t->now = now;
	store_write(&t->job);
}

static bool unsafe_method(enum http_method m)
{
	return m != M_GET;
}

bool session_credential_or_reply(struct req *r, struct token_ref *ref, bool *via_cookie)
{
	const char *tok = NULL;
	size_t len = 0;

	*via_cookie = false;
	if (strncasecmp(r->authorization, "Bearer ", 7) == 0) {
		tok = r->authorization + 7;
		len = strlen(tok);
	} else if (r->cookie && (tok = cookie_value(r->cookie, SESSION_COOKIE, &len)) != NULL) {
		*via_cookie = true;
	}
	if (tok == NULL || !token_parse(tok, len, ref)) {
		reply_error(r, E_UNAUTHENTICATED);
		return false;
	}
	if (*via_cookie && unsafe_method(r->method)) {
		char want[65];
		bool ok;

		session_csrf(ref->hash, want);
		ok = strlen(r->csrf) == 64 && CRYPTO_memcmp(want, r->csrf, 64) == 0;
		if (!ok) {
			reply_error(r, E_CSRF_FAILED);
			return false;
		}
	}
	return true;
}
