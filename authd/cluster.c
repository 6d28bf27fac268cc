/*
 * The router seam between nodes (cluster.h): notes one line of ASCII each,
 *
 *   <node: 16 hex> <kind letter> <account: 32 hex> <fields of the kind>
 *
 * C <challenge>, W <challenge> <reason digit> <device or ->, A <login hash:
 * 64 hex>, R <device>; the node is a random number this process drew at
 * its start, so that a node skips its own notes (it acted in its done()).
 * Hearing one, a node acts through ws_device.c and http_push.c exactly as
 * the node that wrote did; every few seconds it also offers its channels
 * the challenges still pending, written anywhere.
 */
#include "cluster.h"

#include "http_push.h"
#include "ws_device.h"

#include <log.h>

#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* How often a node reads the pending challenges again, and how far back
 * (node clocks differ a little; a challenge seen twice is sent once). */
#define POLL_EVERY_US (3LL * LWS_US_PER_SEC)
#define POLL_BACK_S   10

static uint64_t node_id;
static pthread_once_t node_once = PTHREAD_ONCE_INIT;
static lws_sorted_usec_list_t timer;
static struct lws_context *cluster_ctx;

static void draw_node_id(void)
{
	while (node_id == 0)
		authd_random(&node_id, sizeof(node_id));
}

static uint64_t this_node(void)
{
	pthread_once(&node_once, draw_node_id);
	return node_id;
}

void cluster_note_encode(const struct cluster_event *e, uint64_t node, char *out, size_t size)
{
	char account[AUTHD_ID_HEX + 1], id[AUTHD_ID_HEX + 1], hash[AUTHD_HASH_LEN * 2 + 1];
	char except[AUTHD_ID_HEX + 1] = "-";
	int n;

	authd_hex(e->account_id, AUTHD_ID_LEN, account);
	authd_hex(e->id, AUTHD_ID_LEN, id);
	switch (e->kind) {
	case CLUSTER_WITHDRAW:
		if (e->has_except)
			authd_hex(e->except, AUTHD_ID_LEN, except);
		n = snprintf(out, size, "%016llx W %s %s %d %s", (unsigned long long)node, account,
			     id, (int)e->reason, except);
		break;
	case CLUSTER_ANSWERED:
		authd_hex(e->login_hash, AUTHD_HASH_LEN, hash);
		n = snprintf(out, size, "%016llx A %s %s", (unsigned long long)node, account, hash);
		break;
	default: /* C, R: an id */
		n = snprintf(out, size, "%016llx %c %s %s", (unsigned long long)node, (char)e->kind,
			     account, id);
		break;
	}
	if (n < 0 || (size_t)n >= size)
		AUTHD_BUG("cluster note size");
}

/* The next space-separated field of *p, which must be exactly len long
 * (0: any length); false when there is none or it has another length. */
static bool field(const char **p, size_t len, const char **start, size_t *n)
{
	const char *s = *p;
	size_t k = strcspn(s, " ");

	/* A space only between fields, never at the end. */
	if (k == 0 || (len && k != len) || (s[k] == ' ' && s[k + 1] == '\0'))
		return false;
	*start = s;
	*n = k;
	*p = s[k] == ' ' ? s + k + 1 : s + k;
	return true;
}

static bool hex_field(const char **p, uint8_t *out, size_t len)
{
	const char *s;
	size_t n;

	return field(p, 2 * len, &s, &n) && authd_unhex(s, n, out, len) == 0;
}

bool cluster_note_decode(const char *note, uint64_t *node, struct cluster_event *out)
{
	struct cluster_event e = {0};
	uint8_t nb[8];
	const char *p = note, *s;
	size_t n;

	if (!hex_field(&p, nb, sizeof(nb)) || !field(&p, 1, &s, &n) ||
	    !hex_field(&p, e.account_id, AUTHD_ID_LEN))
		return false;
	e.kind = (enum cluster_kind)s[0];
	switch (e.kind) {
	case CLUSTER_CHALLENGE:
	case CLUSTER_REVOKED:
		if (!hex_field(&p, e.id, AUTHD_ID_LEN))
			return false;
		break;
	case CLUSTER_ANSWERED:
		if (!hex_field(&p, e.login_hash, AUTHD_HASH_LEN))
			return false;
		break;
	case CLUSTER_WITHDRAW:
		if (!hex_field(&p, e.id, AUTHD_ID_LEN) || !field(&p, 1, &s, &n) ||
		    s[0] < '0' + MP_WITHDRAW_ANSWERED || s[0] > '0' + MP_WITHDRAW_CANCELLED)
			return false;
		e.reason = (enum mp_withdraw_reason)(s[0] - '0');
		if (p[0] == '-' && p[1] == '\0') {
			p++;
		} else {
			if (!hex_field(&p, e.except, AUTHD_ID_LEN))
				return false;
			e.has_except = true;
		}
		break;
	default:
		return false;
	}
	if (*p != '\0')
		return false;
	*node = 0;
	for (size_t i = 0; i < sizeof(nb); i++)
		*node = *node << 8 | nb[i];
	*out = e;
	return true;
}

int cluster_publish(struct store_txn *t, const struct cluster_event *e)
{
	char note[STORE_NOTE_MAX + 1];

	if (!store_shared())
		return 0;
	cluster_note_encode(e, this_node(), note, sizeof(note));
	return store_notify(t, note);
}

/* What a note means for this node's channels and pages. */
static void act(const struct cluster_event *e)
{
	switch (e->kind) {
	case CLUSTER_CHALLENGE:
		ws_device_fetch(e->account_id, e->id);
		break;
	case CLUSTER_WITHDRAW:
		ws_device_withdraw(e->account_id, e->id, e->reason,
				   e->has_except ? e->except : NULL);
		break;
	case CLUSTER_ANSWERED:
		push_wait_wake(e->account_id, e->login_hash);
		break;
	case CLUSTER_REVOKED:
		ws_device_revoked(e->id);
		break;
	}
}

void cluster_notified(const char *note)
{
	struct cluster_event e;
	uint64_t node;

	if (note == NULL) {
		/* Notes may have been lost: every channel and page reads again. */
		ws_device_resync();
		push_wait_wake_all();
		return;
	}
	if (!cluster_note_decode(note, &node, &e)) {
		log_warn("cluster note not understood: %.80s", note);
		return;
	}
	if (node != this_node())
		act(&e);
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	ws_device_offer_pending(authd_now() - POLL_BACK_S);
	lws_sul_schedule(cluster_ctx, 0, sul, on_timer, POLL_EVERY_US);
}

void cluster_start(struct lws_context *ctx)
{
	this_node();
	if (!store_shared())
		return;
	cluster_ctx = ctx;
	lws_sul_schedule(ctx, 0, &timer, on_timer, POLL_EVERY_US);
}

void cluster_stop(void)
{
	if (cluster_ctx)
		lws_sul_cancel(&timer);
	cluster_ctx = NULL;
}
