/*
 * What a WebSocket channel of authd's has to say, in order: a queue of
 * text messages (one allocation each, wiped when freed: they may hold a
 * session token or a challenge), then optionally a close with a code.
 * lws writes one message per writable callback; ws_out_writable() is that
 * callback's body. Used by ws_device.c and ws_login_wait.c. Loop thread.
 */
#ifndef AUTHD_WS_OUT_H
#define AUTHD_WS_OUT_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

struct ws_out_msg;

struct ws_out {
	struct ws_out_msg *head, *tail;
	unsigned n, max; /* messages queued; at most max (a peer too slow is closed) */
	int close_code;	 /* 0: none; else close once the queue is written */
};

#define WS_OUT_INIT(max_)                                                                          \
	{                                                                                          \
		NULL, NULL, 0, (max_), 0                                                           \
	}

/* Queues len bytes of text (copied) for wsi. Nothing once closing; when
 * the queue is full or memory short, the channel closes (1011) instead.
 * True when queued. */
bool ws_out_text(struct ws_out *q, struct lws *wsi, const char *text, size_t len);

/* Closes with code once what is queued is written. A peer that does not
 * read it within 5 seconds is dropped (lws's idle timers are off, see
 * server.c). The first close wins. */
void ws_out_close(struct ws_out *q, struct lws *wsi, int code);

/* LWS_CALLBACK_WS_PEER_INITIATED_CLOSE's answer for the peer's close
 * payload (in, len): 0 lets lws echo it, 1 closes without an echo. A
 * payload is empty or a code of two bytes and more, and codes from 5000
 * are no endpoint's (RFC 6455 7.4.2): lws 4.1 would echo either back. */
int ws_out_peer_close(const void *in, size_t len);

/* The writable callback: writes the next message, or the close. Returns
 * what the callback returns (-1: lws closes the connection). */
int ws_out_writable(struct ws_out *q, struct lws *wsi);

/* Whether a close is under way. */
static inline bool ws_out_closing(const struct ws_out *q)
{
	return q->close_code != 0;
}

/* Wipes and frees what is still queued. */
void ws_out_release(struct ws_out *q);

#endif
