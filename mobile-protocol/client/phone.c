/*
 * authd-phone: the reference authenticator, a command-line phone written
 * from PROTOCOL.md with the same codec authd uses (libmp). It links from a
 * linking URI, holds the device channel, prints challenges, signs answers
 * and shows offline TOTP codes; tests and mobile developers script it.
 *
 *   authd-phone --state FILE [--server URL] link URI [--name NAME]
 *   authd-phone --state FILE [--server URL] wait [--timeout S]
 *   authd-phone --state FILE [--server URL] answer ID approve|deny|not-me [--number N]
 *   authd-phone --state FILE code [ACCOUNT] [--time UNIX]
 *   authd-phone --state FILE list
 *   authd-phone --state FILE --server URL login EMAIL [--code CODE] [--name NAME]
 *       (the password on standard input: "log in from this mobile")
 *
 * Exit status: 0 done; 1 refused or failed (the reason on stderr); 2 bad
 * usage; 3 the timeout passed (wait, answer).
 *
 * One libwebsockets client context, one connection per link it uses: the
 * connection gets `hello`, sends `link` or `auth` signed over its nonce,
 * then does what the command asks. --server replaces every link's server
 * (the phone moving to another node); without it each link uses the
 * server its linking URI named.
 */
#include "state.h"

#include <mp.h>
#include <otp.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };
enum command { CMD_LINK, CMD_WAIT, CMD_ANSWER };

struct conn {
	struct lws *wsi;
	struct phone_link *link; /* CMD_LINK: the one being made */
	bool authed;
	bool failed;	  /* refused or revoked: its close is expected */
	unsigned pending; /* challenges `ready` announced, not yet received */
	char out[MP_FRAME_MAX + 1];
	size_t out_len; /* a message waiting for the writable callback */
};

/* What the command is, and how it ends. */
static struct {
	enum command cmd;
	const char *state_path;
	struct phone_state state;
	/* link */
	struct mp_link_uri uri;
	const char *name;
	/* answer */
	uint8_t answer_id[MP_ID_LEN];
	enum mp_decision decision;
	unsigned number;
	bool answered; /* sent */
	/* the connections */
	struct conn conns[PHONE_LINKS_MAX];
	unsigned n_conns, open;
	bool done;
	int status;
	lws_sorted_usec_list_t timeout;
	struct lws_context *context;
} g;

static void finish(int status)
{
	if (g.done)
		return;
	g.done = true;
	g.status = status;
	lws_cancel_service(g.context);
}

/* --- jansson frees wiped: the state's JSON holds private keys ---------------------- */

static void *wipe_malloc(size_t n)
{
	max_align_t *p = malloc(n + sizeof(max_align_t));

	if (p == NULL)
		return NULL;
	*(size_t *)p = n;
	return p + 1;
}

static void wipe_free(void *q)
{
	max_align_t *p;

	if (q == NULL)
		return;
	p = (max_align_t *)q - 1;
	OPENSSL_cleanse(p, *(size_t *)p + sizeof(max_align_t));
	free(p);
}

/* --- sending --------------------------------------------------------------------------- */

static void send_msg(struct conn *c, const struct mp_msg *m)
{
	if (c->out_len != 0 || mp_msg_encode(m, c->out, sizeof(c->out), &c->out_len) != 0) {
		fprintf(stderr, "authd-phone: cannot encode %s\n", mp_type_name(m->type));
		finish(EXIT_REFUSED);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

static void send_first(struct conn *c, const struct mp_hello *h)
{
	struct mp_msg m = {0};
	uint8_t in[MP_SIGNED_MAX];
	size_t len;
	int rc;

	if (g.cmd == CMD_LINK) {
		m.type = MP_LINK;
		memcpy(m.link.secret, g.uri.secret, MP_SECRET_LEN);
		snprintf(m.link.name, sizeof(m.link.name), "%s", g.name);
		rc = mp_key_public(c->link->seed, m.link.public_key);
		if (rc == 0)
			rc = mp_signed_link(h->nonce, g.uri.secret, m.link.public_key, m.link.name,
					    in, &len);
		if (rc == 0)
			rc = mp_sign(c->link->seed, in, len, m.link.sig);
	} else {
		m.type = MP_AUTH;
		memcpy(m.auth.device_id, c->link->device_id, MP_ID_LEN);
		rc = mp_signed_auth(h->nonce, c->link->device_id, in, &len);
		if (rc == 0)
			rc = mp_sign(c->link->seed, in, len, m.auth.sig);
	}
	OPENSSL_cleanse(in, sizeof(in));
	if (rc != 0) {
		fprintf(stderr, "authd-phone: cannot sign: %s\n", mp_strerror(rc));
		finish(EXIT_REFUSED);
	} else {
		send_msg(c, &m);
	}
	OPENSSL_cleanse(&m, sizeof(m));
}

static void send_answer(struct conn *c, const uint8_t nonce[MP_NONCE_LEN])
{
	struct mp_msg m = {.type = MP_ANSWER};
	uint8_t in[MP_SIGNED_MAX];
	size_t len;
	int rc;

	memcpy(m.answer.id, g.answer_id, MP_ID_LEN);
	m.answer.decision = g.decision;
	m.answer.number = g.decision == MP_APPROVE ? g.number : 0;
	rc = mp_signed_answer(g.answer_id, nonce, c->link->device_id, g.decision, m.answer.number,
			      in, &len);
	if (rc == 0)
		rc = mp_sign(c->link->seed, in, len, m.answer.sig);
	if (rc != 0) {
		fprintf(stderr, "authd-phone: cannot sign the answer: %s\n", mp_strerror(rc));
		finish(EXIT_REFUSED);
		return;
	}
	g.answered = true;
	send_msg(c, &m);
}

/* --- what authd says --------------------------------------------------------------------- */

static const struct phone_seen *seen_of(const uint8_t id[MP_ID_LEN])
{
	for (unsigned i = 0; i < g.state.n_seen; i++)
		if (memcmp(g.state.seen[i].id, id, MP_ID_LEN) == 0)
			return &g.state.seen[i];
	return NULL;
}

static void print_challenge(const struct conn *c, const struct mp_challenge *ch)
{
	char id[2 * MP_ID_LEN + 1], dev[2 * MP_ID_LEN + 1];
	json_t *o;
	char *text;

	mp_id_format(ch->id, id);
	mp_id_format(c->link->device_id, dev);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "id", id, "account",
		      ch->account, "ip", ch->ip, "location", ch->location, "browser", ch->browser,
		      "os", ch->os, "application", ch->application, "time", (json_int_t)ch->time,
		      "expires_at", (json_int_t)ch->expires_at, "device_id", dev);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		printf("%s\n", text);
	fflush(stdout);
	phone_json_free(text);
	json_decref(o);
}

static void on_challenge(struct conn *c, const struct mp_challenge *ch)
{
	struct phone_seen s;

	if (c->pending > 0)
		c->pending--;
	if (g.cmd == CMD_WAIT) {
		memcpy(s.id, ch->id, MP_ID_LEN);
		memcpy(s.device_id, c->link->device_id, MP_ID_LEN);
		memcpy(s.nonce, ch->nonce, MP_NONCE_LEN);
		phone_state_seen(&g.state, &s);
		if (phone_state_save(g.state_path, &g.state) != 0) {
			finish(EXIT_REFUSED);
			return;
		}
		print_challenge(c, ch);
		finish(0);
		return;
	}
	if (g.cmd == CMD_ANSWER && !g.answered && memcmp(ch->id, g.answer_id, MP_ID_LEN) == 0) {
		send_answer(c, ch->nonce);
		return;
	}
	if (g.cmd == CMD_ANSWER && !g.answered && c->pending == 0 && seen_of(g.answer_id) == NULL) {
		fprintf(stderr, "authd-phone: no such challenge waits for this phone\n");
		finish(EXIT_REFUSED);
	}
}

static void on_ready(struct conn *c, const struct mp_ready *r)
{
	const struct phone_seen *s = seen_of(g.answer_id);

	c->authed = true;
	c->pending = r->pending;
	if (g.cmd != CMD_ANSWER || g.answered)
		return;
	/* The nonce `wait` saw: answer now (authd says if it is too late). */
	if (s && memcmp(s->device_id, c->link->device_id, MP_ID_LEN) == 0) {
		send_answer(c, s->nonce);
		return;
	}
	if (r->pending == 0 && s == NULL && --g.open == 0) {
		fprintf(stderr, "authd-phone: no such challenge waits for this phone\n");
		finish(EXIT_REFUSED);
	}
}

static void on_linked(struct conn *c, const struct mp_linked *l)
{
	char id[2 * MP_ID_LEN + 1];

	memcpy(c->link->device_id, l->device_id, MP_ID_LEN);
	snprintf(c->link->account, sizeof(c->link->account), "%s", l->account);
	c->link->linked_at = (int64_t)time(NULL);
	g.state.n_links++;
	if (phone_state_save(g.state_path, &g.state) != 0) {
		finish(EXIT_REFUSED);
		return;
	}
	mp_id_format(l->device_id, id);
	printf("%s\n", id);
	fflush(stdout);
	finish(0);
}

/* This connection is over (authd closes it): with other links still
 * waiting, `wait` goes on with them; anything else ends here. */
static void conn_failed(struct conn *c)
{
	c->failed = true;
	if (g.cmd != CMD_WAIT || g.open <= 1)
		finish(EXIT_REFUSED);
}

static void on_text(struct conn *c, const char *text, size_t len)
{
	struct mp_msg m;
	char id[2 * MP_ID_LEN + 1];

	/* Lenient, as a device must be: newer fields are ignored. */
	if (mp_msg_decode(text, len, true, &m) != 0) {
		fprintf(stderr, "authd-phone: authd sent a message this phone does not read\n");
		finish(EXIT_REFUSED);
		return;
	}
	switch (m.type) {
	case MP_HELLO:
		send_first(c, &m.hello);
		break;
	case MP_LINKED:
		on_linked(c, &m.linked);
		break;
	case MP_READY:
		on_ready(c, &m.ready);
		break;
	case MP_CHALLENGE:
		on_challenge(c, &m.challenge);
		break;
	case MP_ANSWER_RESULT:
		if (g.cmd != CMD_ANSWER || memcmp(m.answer_result.id, g.answer_id, MP_ID_LEN) != 0)
			break;
		if (m.answer_result.accepted) {
			finish(0);
		} else {
			fprintf(stderr, "authd-phone: answer refused: %s\n", m.answer_result.code);
			finish(EXIT_REFUSED);
		}
		break;
	case MP_REVOKED:
		/* The account removed this device: the phone forgets the link,
		 * as an app drops the account. */
		mp_id_format(m.revoked.device_id, id);
		fprintf(stderr, "authd-phone: device %s was removed from its account %s\n", id,
			c->link->account);
		OPENSSL_cleanse(c->link->seed, MP_KEY_LEN);
		c->link->forgotten = true;
		if (phone_state_save(g.state_path, &g.state) != 0)
			finish(EXIT_REFUSED);
		conn_failed(c);
		break;
	case MP_ERROR:
		fprintf(stderr, "authd-phone: authd refused %s: %s\n",
			c->link->account[0] ? c->link->account : "the link", m.error.code);
		conn_failed(c);
		break;
	default: /* withdraw: this phone shows nothing */
		break;
	}
	OPENSSL_cleanse(&m, sizeof(m));
}

/* --- the connection ------------------------------------------------------------------------ */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct conn *c = lws_get_opaque_user_data(wsi);

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "authd-phone: cannot connect: %s\n",
			in ? (const char *)in : "no reason given");
		if (c)
			c->wsi = NULL;
		if (--g.open == 0)
			finish(EXIT_REFUSED);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c == NULL || g.done || c->failed)
			break;
		/* authd's messages are small: whole in one frame. */
		if (!lws_is_first_fragment(wsi) || !lws_is_final_fragment(wsi)) {
			fprintf(stderr, "authd-phone: a fragmented message\n");
			finish(EXIT_REFUSED);
			break;
		}
		on_text(c, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c == NULL || c->out_len == 0)
			break;
		memmove(c->out + LWS_PRE, c->out, c->out_len);
		if (lws_write(wsi, (unsigned char *)c->out + LWS_PRE, c->out_len, LWS_WRITE_TEXT) <
		    (int)c->out_len) {
			finish(EXIT_REFUSED);
			return -1;
		}
		OPENSSL_cleanse(c->out, sizeof(c->out));
		c->out_len = 0;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c) {
			c->wsi = NULL;
			if (!g.done && --g.open == 0) {
				if (!c->failed)
					fprintf(stderr, "authd-phone: authd closed the channel\n");
				finish(EXIT_REFUSED);
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
    {MP_SUBPROTOCOL, callback, 0, MP_FRAME_MAX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Connects c to url (http(s)://host[:port][/...], the server's public URL):
 * ws(s) at /1/device under its path. */
static int connect_to(struct conn *c, const char *url)
{
	struct lws_client_connect_info i;
	char buf[MP_URL_MAX + 1], path[MP_URL_MAX + 16];
	const char *prot, *host, *p;
	int port;

	snprintf(buf, sizeof(buf), "%s", url);
	if (lws_parse_uri(buf, &prot, &host, &port, &p)) {
		fprintf(stderr, "authd-phone: not a server URL: %s\n", url);
		return -1;
	}
	snprintf(path, sizeof(path), "/%s%s1/device", p,
		 p[0] && p[strlen(p) - 1] != '/' ? "/" : "");
	memset(&i, 0, sizeof(i));
	i.context = g.context;
	i.address = host;
	i.port = port;
	i.path = path;
	i.host = host;
	i.protocol = MP_SUBPROTOCOL;
	i.local_protocol_name = MP_SUBPROTOCOL;
	i.opaque_user_data = c;
	i.pwsi = &c->wsi;
	if (strcmp(prot, "https") == 0 || strcmp(prot, "wss") == 0)
		i.ssl_connection = LCCSCF_USE_SSL;
	else if (strcmp(prot, "http") != 0 && strcmp(prot, "ws") != 0) {
		fprintf(stderr, "authd-phone: not a server URL: %s\n", url);
		return -1;
	}
	g.open++;
	if (lws_client_connect_via_info(&i) == NULL) {
		g.open--;
		fprintf(stderr, "authd-phone: cannot connect to %s\n", url);
		return -1;
	}
	return 0;
}

static void timed_out(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (!g.done)
		fprintf(stderr, "authd-phone: the timeout passed\n");
	finish(EXIT_TIMEOUT);
}

/* Runs the connections of g.conns until the command ends. */
static int run(const char *server, int timeout_s)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	lws_set_log_level(LLL_ERR, NULL);
	if ((g.context = lws_create_context(&info)) == NULL) {
		fprintf(stderr, "authd-phone: cannot start libwebsockets\n");
		return EXIT_REFUSED;
	}
	for (unsigned k = 0; k < g.n_conns; k++)
		if (connect_to(&g.conns[k], server ? server : g.conns[k].link->server) != 0 &&
		    g.open == 0) {
			lws_context_destroy(g.context);
			return EXIT_REFUSED;
		}
	lws_sul_schedule(g.context, 0, &g.timeout, timed_out,
			 (lws_usec_t)timeout_s * LWS_US_PER_SEC);
	while (!g.done && lws_service(g.context, 0) >= 0)
		;
	lws_sul_cancel(&g.timeout);
	lws_context_destroy(g.context);
	return g.done ? g.status : EXIT_REFUSED;
}

/* --- the commands --------------------------------------------------------------------------- */

static int cmd_link(const char *uri, const char *server)
{
	struct phone_link *l;

	if (mp_link_uri_parse(uri, &g.uri) != 0) {
		fprintf(stderr, "authd-phone: not a linking URI\n");
		return EXIT_USAGE;
	}
	if (g.state.n_links == PHONE_LINKS_MAX) {
		fprintf(stderr, "authd-phone: this phone holds %d links already\n",
			PHONE_LINKS_MAX);
		return EXIT_REFUSED;
	}
	/* The new link sits past the last until authd confirms it. */
	l = &g.state.links[g.state.n_links];
	memset(l, 0, sizeof(*l));
	snprintf(l->server, sizeof(l->server), "%s", g.uri.server);
	snprintf(l->otpauth, sizeof(l->otpauth), "%s", g.uri.otpauth);
	snprintf(l->name, sizeof(l->name), "%s", g.name);
	if (RAND_bytes(l->seed, MP_KEY_LEN) != 1) {
		fprintf(stderr, "authd-phone: no randomness\n");
		return EXIT_REFUSED;
	}
	g.conns[0].link = l;
	g.n_conns = 1;
	return run(server, 30);
}

/* --- log in from this mobile -------------------------------------------------------------- */

struct body {
	char buf[65536]; /* a link offer carries its QR code as SVG */
	size_t len;
	bool overflow;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t k = size * n;

	if (b->len + k >= sizeof(b->buf)) {
		b->overflow = true;
		return 0;
	}
	memcpy(b->buf + b->len, p, k);
	b->len += k;
	b->buf[b->len] = '\0';
	return k;
}

/* POSTs body (JSON) to server + path, with a bearer token when given;
 * the answer's JSON into *out (the caller decrefs). The HTTP status, or
 * -1 when there was none. */
static long post_json(const char *server, const char *path, json_t *body, const char *bearer,
		      json_t **out)
{
	char url[MP_URL_MAX + 64], auth[256];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char *text = json_dumps(body, JSON_COMPACT);
	struct body *got = calloc(1, sizeof(*got));
	CURL *curl = curl_easy_init();
	long status = -1;

	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", server, path);
	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = h ? curl_slist_append(h, auth) : NULL;
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (h && text && got && curl) {
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, got);
		if (curl_easy_perform(curl) == CURLE_OK) {
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
			*out = json_loadb(got->buf, got->len, 0, NULL);
		}
	}
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		phone_json_free(text);
	}
	if (got) {
		OPENSSL_cleanse(got, sizeof(*got));
		free(got);
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	return status;
}

static const char *str_of(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));

	return v ? v : "";
}

/* The app logs in itself (password, then the current second factor when
 * the account has one) and asks for a link offer with the new session,
 * then links as from a scanned QR code. */
static int cmd_login(const char *email, const char *code, const char *server)
{
	char password[256] = "", session[256] = "", uri[MP_LINK_URI_MAX + 1] = "";
	json_t *req = NULL, *ans = NULL;
	size_t n;
	long st;
	int rc = EXIT_REFUSED;

	if (server == NULL) {
		fprintf(stderr, "authd-phone: login needs --server\n");
		return EXIT_USAGE;
	}
	if (fgets(password, sizeof(password), stdin) == NULL) {
		fprintf(stderr, "authd-phone: the password comes on standard input\n");
		return EXIT_USAGE;
	}
	n = strcspn(password, "\r\n");
	password[n] = '\0';
	curl_global_init(CURL_GLOBAL_DEFAULT);
	req = json_pack("{s:s, s:s}", "email", email, "password", password);
	st = req ? post_json(server, "/1/login", req, NULL, &ans) : -1;
	json_decref(req);
	req = NULL;
	if (st == 200 && strcmp(str_of(ans, "state"), "second_factor") == 0) {
		const char *login_id = str_of(ans, "login_id");

		if (code == NULL) {
			fprintf(stderr,
				"authd-phone: the account has a second factor: give --code\n");
			rc = EXIT_USAGE;
			goto out;
		}
		req = json_pack("{s:s, s:s}", "login_id", login_id, "code", code);
		json_decref(ans);
		ans = NULL;
		st = req ? post_json(server, "/1/login/totp", req, NULL, &ans) : -1;
	}
	if (st != 200 || strcmp(str_of(ans, "state"), "done") != 0) {
		fprintf(stderr, "authd-phone: login refused: %s\n",
			ans ? str_of(ans, "code") : "no answer");
		goto out;
	}
	snprintf(session, sizeof(session), "%s", str_of(ans, "session"));
	json_decref(ans);
	ans = NULL;
	json_decref(req);
	req = json_object();
	st = req ? post_json(server, "/1/me/devices", req, session, &ans) : -1;
	if (st != 201 || json_string_length(json_object_get(ans, "link_uri")) > MP_LINK_URI_MAX) {
		fprintf(stderr, "authd-phone: no link offer (HTTP %ld): %s\n", st,
			ans ? str_of(ans, "code") : "no answer");
		goto out;
	}
	snprintf(uri, sizeof(uri), "%s", str_of(ans, "link_uri"));
	rc = cmd_link(uri, server);
out:
	json_decref(req);
	json_decref(ans);
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(session, sizeof(session));
	OPENSSL_cleanse(uri, sizeof(uri));
	curl_global_cleanup();
	return rc;
}

/* The links a channel is opened for: all, or those whose account is in
 * `only` (NULL: all). */
static int connect_links(const char *server, int timeout_s)
{
	for (unsigned i = 0; i < g.state.n_links; i++)
		g.conns[g.n_conns++].link = &g.state.links[i];
	if (g.n_conns == 0) {
		fprintf(stderr, "authd-phone: this phone holds no link\n");
		return EXIT_REFUSED;
	}
	return run(server, timeout_s);
}

static int cmd_answer(const char *id, const char *decision, const char *server, int timeout_s)
{
	const struct phone_seen *s;

	if (mp_id_parse(id, g.answer_id) != 0) {
		fprintf(stderr, "authd-phone: not a challenge id: %s\n", id);
		return EXIT_USAGE;
	}
	if (strcmp(decision, "approve") == 0)
		g.decision = MP_APPROVE;
	else if (strcmp(decision, "deny") == 0)
		g.decision = MP_DENY;
	else if (strcmp(decision, "not-me") == 0 || strcmp(decision, "not_me") == 0)
		g.decision = MP_NOT_ME;
	else {
		fprintf(stderr, "authd-phone: the decision is approve, deny or not-me\n");
		return EXIT_USAGE;
	}
	if (g.decision == MP_APPROVE && (g.number < 10 || g.number > 99)) {
		fprintf(stderr, "authd-phone: approve needs --number, the page's 10..99\n");
		return EXIT_USAGE;
	}
	/* The link `wait` saw it on, when it did; else every link looks. */
	if ((s = seen_of(g.answer_id)) != NULL) {
		for (unsigned i = 0; i < g.state.n_links; i++)
			if (memcmp(g.state.links[i].device_id, s->device_id, MP_ID_LEN) == 0)
				g.conns[g.n_conns++].link = &g.state.links[i];
		if (g.n_conns == 1)
			return run(server, timeout_s);
	}
	return connect_links(server, timeout_s);
}

static int cmd_code(const char *account, long long at)
{
	const struct phone_link *l = NULL;
	struct otp_uri u;
	char code[OTP_DIGITS_MAX + 1];
	int rc;

	for (unsigned i = 0; i < g.state.n_links; i++) {
		if (account && strcmp(g.state.links[i].account, account) != 0)
			continue;
		if (l) {
			fprintf(stderr, "authd-phone: several accounts: name one\n");
			return EXIT_USAGE;
		}
		l = &g.state.links[i];
	}
	if (l == NULL) {
		fprintf(stderr, "authd-phone: no such account on this phone\n");
		return EXIT_REFUSED;
	}
	if (otp_global_init() != 0 || otp_uri_parse(l->otpauth, strlen(l->otpauth), &u) != 0) {
		fprintf(stderr, "authd-phone: the link has no usable TOTP secret\n");
		return EXIT_REFUSED;
	}
	rc = otp_totp(u.key, u.key_len, &u.params, (uint64_t)(at > 0 ? at : (long long)time(NULL)),
		      code);
	OPENSSL_cleanse(&u, sizeof(u));
	if (rc != 0)
		return EXIT_REFUSED;
	printf("%s\n", code);
	OPENSSL_cleanse(code, sizeof(code));
	return 0;
}

static int cmd_list(void)
{
	for (unsigned i = 0; i < g.state.n_links; i++) {
		const struct phone_link *l = &g.state.links[i];
		char id[2 * MP_ID_LEN + 1];
		json_t *o;
		char *text;

		mp_id_format(l->device_id, id);
		o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "account", l->account, "device_id", id,
			      "server", l->server, "name", l->name, "linked_at",
			      (json_int_t)l->linked_at);
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (text)
			printf("%s\n", text);
		phone_json_free(text);
		json_decref(o);
	}
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: authd-phone --state FILE [--server URL] COMMAND\n"
	    "  link URI [--name NAME]       link from a linking URI; prints the device id\n"
	    "  wait [--timeout S]           print the next challenge as one JSON line\n"
	    "  answer ID approve|deny|not-me [--number N] [--timeout S]\n"
	    "                               sign and send an answer; 0 when accepted\n"
	    "  code [ACCOUNT] [--time UNIX] print the offline TOTP code\n"
	    "  list                         print the linked accounts, one JSON line each\n"
	    "  login EMAIL [--code CODE]    log in from this mobile (password on stdin) and link\n"
	    "exit: 0 done, 1 refused or failed, 2 usage, 3 timeout\n");
}

static bool parse_uint(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"server", required_argument, NULL, 'S'},
	    {"timeout", required_argument, NULL, 't'},
	    {"number", required_argument, NULL, 'n'},
	    {"name", required_argument, NULL, 'N'},
	    {"time", required_argument, NULL, 'T'},
	    {"code", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *server = NULL, *code = NULL, *cmd, **words;
	long long timeout = 30, at = 0, v;
	int o, n, rc;

	json_set_alloc_funcs(wipe_malloc, wipe_free);
	g.name = "authd-phone";
	/* GNU getopt: options anywhere, the words left in order. */
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			g.state_path = optarg;
			break;
		case 'S':
			server = optarg;
			break;
		case 't':
			if (!parse_uint(optarg, 1, 3600, &timeout))
				goto bad;
			break;
		case 'n':
			if (!parse_uint(optarg, 10, 99, &v))
				goto bad;
			g.number = (unsigned)v;
			break;
		case 'N':
			if (strlen(optarg) == 0 || strlen(optarg) > MP_NAME_MAX ||
			    !mp_text_ok(optarg, strlen(optarg)))
				goto bad;
			g.name = optarg;
			break;
		case 'T':
			if (!parse_uint(optarg, 1, 1LL << 40, &at))
				goto bad;
			break;
		case 'c':
			code = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			goto bad;
		}
	}
	if (g.state_path == NULL || optind >= argc)
		goto bad;
	cmd = argv[optind];
	words = (const char **)argv + optind + 1;
	n = argc - optind - 1;
	if (!((strcmp(cmd, "link") == 0 && n == 1) || (strcmp(cmd, "wait") == 0 && n == 0) ||
	      (strcmp(cmd, "answer") == 0 && n == 2) || (strcmp(cmd, "code") == 0 && n <= 1) ||
	      (strcmp(cmd, "list") == 0 && n == 0) || (strcmp(cmd, "login") == 0 && n == 1)))
		goto bad;
	if (phone_state_load(g.state_path, &g.state) != 0)
		return EXIT_REFUSED;
	if (strcmp(cmd, "link") == 0) {
		g.cmd = CMD_LINK;
		rc = cmd_link(words[0], server);
	} else if (strcmp(cmd, "wait") == 0) {
		g.cmd = CMD_WAIT;
		rc = connect_links(server, (int)timeout);
	} else if (strcmp(cmd, "answer") == 0) {
		g.cmd = CMD_ANSWER;
		rc = cmd_answer(words[0], words[1], server, (int)timeout);
	} else if (strcmp(cmd, "code") == 0) {
		rc = cmd_code(n ? words[0] : NULL, at);
	} else if (strcmp(cmd, "login") == 0) {
		g.cmd = CMD_LINK;
		rc = cmd_login(words[0], code, server);
	} else {
		rc = cmd_list();
	}
	phone_state_clear(&g.state);
	OPENSSL_cleanse(&g.uri, sizeof(g.uri));
	return rc;
bad:
	usage();
	return EXIT_USAGE;
}
