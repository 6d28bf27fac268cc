/*
 * The login page's wait channel (ws_login_wait.h): one struct wait_conn per
 * accepted WebSocket, which outlives its connection while the waiter of
 * http_push.c holds it (`refs`, as req_hold does for a request). The first
 * message names the login within 10 seconds; from then on the waiter reads
 * the login's challenge when an answer is recorded (on any node) and every
 * second, and this file only carries its messages: {"state":"pending"} once,
 * then the final state, then a normal close.
 */
#include "ws_login_wait.h"

#include "client.h"
#include "http.h"
#include "http_push.h"
#include "server.h"
#include "session.h"
#include "ws_out.h"

#include <log.h>
#include <util.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_DEADLINE_S 10
#define MSG_MAX		 512 /* the page's one message */
#define OUT_MAX		 3   /* pending, the end, an error: never more */

enum { CLOSE_INVALID = 4400, CLOSE_TIMEOUT = 4408 };

struct wait_conn {
	struct lws *wsi; /* NULL once the connection is gone */
	unsigned refs;	 /* the waiter's holds */
	bool started;	 /* the login id came */
	char ip[48];
	char browser[SESSION_BROWSER_MAX + 1]; /* the page's, from its upgrade request */
	char *rx;			       /* the message spanning frames; NULL otherwise */
	size_t rx_len;
	struct ws_out out; /* what it has to say, then its close */
	lws_sorted_usec_list_t deadline;
};

struct pss_wait {
	struct wait_conn *conn;
};

static void conn_free(struct wait_conn *c)
{
	ws_out_release(&c->out);
	if (c->rx)
		authd_freezero(c->rx, MSG_MAX);
	free(c);
}

static void close_with(struct wait_conn *c, int code)
{
	ws_out_close(&c->out, c->wsi, code);
}

/* Queues a JSON text, then closes with close_code when it is not 0. */
static void send_text(struct wait_conn *c, const char *text, int close_code)
{
	if (ws_out_text(&c->out, c->wsi, text, strlen(text)) && close_code)
		close_with(c, close_code);
}

static void send_error(struct wait_conn *c, enum api_error e, int close_code)
{
	const struct api_error_info *info = api_error_info(e);
	char text[160];

	snprintf(text, sizeof(text), "{\"state\":\"error\",\"code\":\"%s\",\"title\":\"%s\"}",
		 info->code, info->title);
	send_text(c, text, close_code);
}

/* --- the waiter's sink ----------------------------------------------------------------- */

static void sink_hold(void *owner)
{
	struct wait_conn *c = owner;

	c->refs++;
}

static bool sink_resume(void *owner)
{
	struct wait_conn *c = owner;

	if (c->refs == 0)
		AUTHD_BUG("wait conn resumed more than held");
	c->refs--;
	if (c->wsi == NULL) {
		if (c->refs == 0)
			conn_free(c);
		return false;
	}
	/* Closing (the page broke the protocol): nobody takes a session. */
	return !ws_out_closing(&c->out);
}

static void sink_pending(void *owner)
{
	send_text(owner, "{\"state\":\"pending\"}", 0);
}

static void sink_finish(void *owner, const char *state, struct new_token *token, enum api_error err)
{
	struct wait_conn *c = owner;
	char text[64];
	char *body = NULL;
	int n;

	if (err != E_OK) {
		send_error(c, err, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	if (token == NULL) {
		/* "pending" comes only when authd stops (no timeout here). */
		snprintf(text, sizeof(text), "{\"state\":\"%s\"}", state);
		send_text(c, text,
			  strcmp(state, "pending") == 0 ? LWS_CLOSE_STATUS_GOINGAWAY
							: LWS_CLOSE_STATUS_NORMAL);
		return;
	}
	/* The session, as the long poll's body has it (no cookie travels
	 * here: the page uses the token, or its CSRF pair with a cookie it
	 * asks for over HTTP). */
	n = session_state_body(token, authd_now(), -1, state, &body);
	if (n < 0) {
		send_error(c, E_OVERLOADED, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	send_text(c, body, LWS_CLOSE_STATUS_NORMAL);
	authd_freezero(body, SESSION_STATE_MAX);
}

static const struct push_wait_sink ws_sink = {
    .hold = sink_hold,
    .resume = sink_resume,
    .pending = sink_pending,
    .finish = sink_finish,
};

/* --- the page's message ------------------------------------------------------------------ */

/* {"login_id": "<token>"}, nothing else: the waiter starts. */
static void on_message(struct wait_conn *c, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *id = msg ? json_object_get(msg, "login_id") : NULL;
	struct token_ref login;

	if (c->started) {
		send_error(c, E_INVALID_JSON, CLOSE_INVALID); /* one message only */
		goto out;
	}
	if (msg == NULL || !json_is_object(msg)) {
		send_error(c, E_INVALID_JSON, CLOSE_INVALID);
		goto out;
	}
	if (json_object_size(msg) != (id ? 1u : 0u)) {
		send_error(c, E_UNKNOWN_FIELD, CLOSE_INVALID);
		goto out;
	}
	if (!json_is_string(id)) {
		send_error(c, E_INVALID_FIELD, CLOSE_INVALID);
		goto out;
	}
	c->started = true;
	lws_sul_cancel(&c->deadline);
	if (!token_parse(json_string_value(id), json_string_length(id), &login)) {
		send_text(c, "{\"state\":\"expired\"}", LWS_CLOSE_STATUS_NORMAL);
		goto out;
	}
	if (push_wait_start(&ws_sink, c, &login, c->ip, c->browser, 0, -1) != 0)
		send_error(c, E_OVERLOADED, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	OPENSSL_cleanse(&login, sizeof(login));
out:
	/* The login id is a secret of the page's. */
	if (msg)
		json_wipe_decref(msg);
}

static void receive(struct wait_conn *c, struct lws *wsi, const char *in, size_t len)
{
	bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;

	if (c->rx == NULL && last) {
		on_message(c, in, len);
		return;
	}
	if (c->rx == NULL && (c->rx = malloc(MSG_MAX)) == NULL) {
		close_with(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	if (c->rx_len + len > MSG_MAX) {
		close_with(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		return;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (last) {
		on_message(c, c->rx, c->rx_len);
		authd_freezero(c->rx, MSG_MAX);
		c->rx = NULL;
		c->rx_len = 0;
	}
}

static void deadline_passed(lws_sorted_usec_list_t *sul)
{
	struct wait_conn *c = lws_container_of(sul, struct wait_conn, deadline);

	if (!c->started)
		send_error(c, E_LOGIN_EXPIRED, CLOSE_TIMEOUT);
}

enum api_error ws_login_wait_upgrade_check(struct lws *wsi)
{
	return server_upgrade_check(wsi, "/1/login/wait", WS_LOGIN_WAIT_PROTOCOL_NAME);
}

int ws_login_wait_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len)
{
	struct pss_wait *pss = user;
	struct wait_conn *c = pss ? pss->conn : NULL;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_login_wait_upgrade_check(wsi) == E_OK ? 0 : 1;

	case LWS_CALLBACK_ESTABLISHED:
		if (pss == NULL || (c = calloc(1, sizeof(*c))) == NULL)
			return -1;
		c->out = (struct ws_out)WS_OUT_INIT(OUT_MAX);
		pss->conn = c;
		c->wsi = wsi;
		server_client_ip(wsi, c->ip, sizeof(c->ip));
		{
			char ua[256] = "", os[32];

			if (lws_hdr_copy(wsi, ua, sizeof(ua), WSI_TOKEN_HTTP_USER_AGENT) < 0)
				ua[0] = '\0';
			client_names(ua, c->browser, sizeof(c->browser), os, sizeof(os));
		}
		lws_sul_schedule(lws_get_context(wsi), 0, &c->deadline, deadline_passed,
				 FIRST_DEADLINE_S * LWS_US_PER_SEC);
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (c == NULL || ws_out_closing(&c->out))
			return 0;
		if (lws_frame_is_binary(wsi)) {
			close_with(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
			return 0;
		}
		receive(c, wsi, in, len);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return ws_out_peer_close(in, len);

	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c ? ws_out_writable(&c->out, wsi) : 0;

	case LWS_CALLBACK_CLOSED:
		/* Also for a refused upgrade, which has no conn. */
		if (c == NULL)
			return 0;
		pss->conn = NULL;
		lws_sul_cancel(&c->deadline);
		c->wsi = NULL;
		if (c->refs == 0)
			conn_free(c);
		return 0;

	default:
		break;
	}
	return 0;
}

_Static_assert(sizeof(struct pss_wait) == sizeof(void *), "WS_LOGIN_WAIT_PROTOCOL's size");
