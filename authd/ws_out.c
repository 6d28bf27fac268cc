/*
 * The outgoing side of authd's WebSocket channels (ws_out.h): a singly
 * linked queue, written one message per writable callback, then the close
 * frame (server_ws_close: lws 4.1 on a foreign loop drops the one
 * lws_close_reason asks for).
 */
#include "ws_out.h"

#include "server.h"

#include <util.h>

#include <stdlib.h>
#include <string.h>

#define CLOSE_GRACE_S 5

struct ws_out_msg {
	struct ws_out_msg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
};

static void msg_free(struct ws_out_msg *m)
{
	authd_freezero(m, sizeof(*m) + LWS_PRE + m->len);
}

void ws_out_close(struct ws_out *q, struct lws *wsi, int code)
{
	if (wsi == NULL || q->close_code)
		return;
	q->close_code = code;
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_GRACE_S);
	lws_callback_on_writable(wsi);
}

bool ws_out_text(struct ws_out *q, struct lws *wsi, const char *text, size_t len)
{
	struct ws_out_msg *m;

	if (wsi == NULL || q->close_code)
		return false;
	if (q->n >= q->max || (m = malloc(sizeof(*m) + LWS_PRE + len)) == NULL) {
		ws_out_close(q, wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return false;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n++;
	lws_callback_on_writable(wsi);
	return true;
}

int ws_out_writable(struct ws_out *q, struct lws *wsi)
{
	struct ws_out_msg *m = q->head;
	int n;

	/* lws has sent a close of its own (a broken frame in the same read as
	 * a whole message) or answered the peer's: nothing more may follow. */
	if (lws_get_close_length(wsi) > 0)
		return 0;
	if (m == NULL)
		return q->close_code ? server_ws_close(wsi, q->close_code) : 0;
	n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	msg_free(m);
	if (n < 0)
		return -1;
	if (q->head || q->close_code)
		lws_callback_on_writable(wsi);
	return 0;
}

int ws_out_peer_close(const void *in, size_t len)
{
	const unsigned char *p = in;

	return len == 1 || (len >= 2 && (p[0] << 8 | p[1]) >= 5000) ? 1 : 0;
}

void ws_out_release(struct ws_out *q)
{
	while (q->head) {
		struct ws_out_msg *m = q->head;

		q->head = m->next;
		msg_free(m);
	}
	q->tail = NULL;
	q->n = 0;
}
