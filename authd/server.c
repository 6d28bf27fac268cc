/*
 * The lws context and its one HTTP protocol: request intake (headers, body
 * with a size cap), response writing, and waking the loop for finished jobs.
 * WebSocket upgrades are refused until a channel exists for them.
 */
#include "server.h"
#include "http_push.h"
#include "ws_device.h"
#include "ws_login_wait.h"

#include "async.h"
#include "cluster.h"
#include "http.h"
#include "metrics.h"
#include "notify.h"
#include "outbox.h"
#include "reload.h"
#include "sms.h"
#include "renewal.h"
#include "rotation.h"
#include "sweep.h"

#include <log.h>
#include <store.h>

#include <libwebsockets.h>
#include <systemd/sd-daemon.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ev.h>
#include <strings.h>
#include <unistd.h>

struct authd_server srv;

static struct lws_context *context;
/* The admin socket's vhost (a Unix socket; NULL: none), where only the
 * operator's routes are served (authctl). */
static struct lws_vhost *admin_vhost;
/* Its path: lws keeps the pointer (and unlinks it when the context goes),
 * so it lives as long as the context. */
static char admin_path[108];
static struct ev_loop *evloop;
static void *foreign_loops[1];
static _Atomic int stopping;
static _Atomic int signals_done; /* tells the signal thread to end */
static _Atomic int reload_asked; /* SIGHUP came: the loop reloads */
static _Atomic int wake_enabled; /* set while context is safe to wake */
static uint64_t next_req_id;
static unsigned open_requests;
static unsigned open_sockets; /* wsi lws holds: connections, and the store's descriptor */
/* Connections past max_connections that still get an answer (503). */
#define SOCKET_SLACK 32
static bool refusing;	    /* max_connections was reached (logged once) */
static unsigned socket_cap; /* connections past it are closed at accept (set_descriptors) */

struct pss {
	struct req *req;
};

/* Wipes the string in buf (of size `size`) up to its terminator. */
static void wipe_str(char *buf, size_t size)
{
	OPENSSL_cleanse(buf, strnlen(buf, size));
}

void req_free(struct req *r)
{
	if (r == NULL)
		return;
	/* The body may hold a password, the response a new session token, and
	 * the struct itself the Authorization header, a login id in the path,
	 * the CSRF token and the Set-Cookie header: wipe them all. */
	authd_freezero(r->body, r->body_len);
	if (!r->resp_static)
		authd_freezero(r->resp, r->resp_len);
	authd_strfreezero(r->cookie);
	open_requests--;
	/* Only the used bytes: wiping the whole struct (2.3 KB) cost 2% of a
	 * session check. */
	wipe_str(r->authorization, sizeof(r->authorization));
	wipe_str(r->csrf, sizeof(r->csrf));
	wipe_str(r->path, sizeof(r->path));
	wipe_str(r->param, sizeof(r->param));
	OPENSSL_cleanse(r->headers,
			r->headers_len < sizeof(r->headers) ? r->headers_len : sizeof(r->headers));
	free(r);
}

void req_hold(struct req *r)
{
	r->pending = true;
}

bool req_resume(struct req *r)
{
	r->pending = false;
	if (r->wsi == NULL) {
		req_free(r);
		return false;
	}
	return true;
}

static enum http_method method_of(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return M_POST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
		return M_PUT;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
		return M_PATCH;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
		return M_DELETE;
	return M_OTHER;
}

static void copy_header(struct lws *wsi, enum lws_token_indexes h, char *dst, size_t size)
{
	int len = lws_hdr_total_length(wsi, h);

	dst[0] = '\0';
	if (len <= 0 || (size_t)len >= size)
		return; /* absent, or too long to be ours: treated as absent */
	if (lws_hdr_copy(wsi, dst, (int)size, h) < 0)
		dst[0] = '\0';
}

/*
 * Content-Length as RFC 9110 allows it: one run of 1 to 18 digits. lws
 * joins repeated headers with ','; repeats of the same value count as one,
 * repeats that differ (a request smuggling attempt) do not. -1 when
 * invalid (and for a header too long to copy, which copy_header empties).
 */
static long parse_content_length(const char *v)
{
	long first = -1;

	while (*v) {
		char *end = NULL;
		long n;

		while (*v == ' ')
			v++;
		if (*v < '0' || *v > '9' || strspn(v, "0123456789") > 18)
			return -1;
		n = strtol(v, &end, 10);
		while (*end == ' ')
			end++;
		if (*end != ',' && *end != '\0')
			return -1;
		if (first >= 0 && n != first)
			return -1;
		first = n;
		if (*end == ',' && end[1] == '\0')
			return -1; /* an empty element after a comma */
		v = *end == ',' ? end + 1 : end;
	}
	return first;
}

bool server_client_ip(struct lws *wsi, char *out, size_t size)
{
	char peer[48];
	char *xff = NULL;
	int xlen = srv.proxies.n ? lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) : 0;
	bool ok = true;

	lws_get_peer_simple(wsi, peer, sizeof(peer));
	/* The whole header, however long: a long one must not make the
	 * trusted proxy itself the client. */
	if (xlen > 0 && (xff = malloc((size_t)xlen + 1)) != NULL)
		copy_header(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, (size_t)xlen + 1);
	if (xlen > 0 && (xff == NULL || xff[0] == '\0')) {
		snprintf(out, size, "%s", peer);
		ok = false;
	} else {
		proxy_client_ip(&srv.proxies, peer, xff, out, size);
	}
	free(xff);
	return ok;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether a connection on the admin socket comes from a process of root
 * or of authd's own user (SO_PEERCRED: the kernel's word, not the
 * client's); its uid into *uid. The socket file is 0600 already: this is
 * the second lock. */
static bool admin_peer_ok(struct lws *wsi, unsigned *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = (int)lws_get_socket_fd(wsi);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    len != sizeof(cred))
		return false;
	*uid = (unsigned)cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static struct req *req_new(struct lws *wsi, const char *uri)
{
	struct req *r = calloc(1, sizeof(*r));
	char cl[24];

	if (r == NULL)
		return NULL;
	open_requests++;
	r->wsi = wsi;
	r->id = ++next_req_id;
	r->route = METRICS_ROUTE_UNMATCHED;
	r->started_ns = monotonic_ns();
	r->method = method_of(wsi);
	snprintf(r->path, sizeof(r->path), "%s", uri);
	if (admin_vhost && lws_get_vhost(wsi) == admin_vhost) {
		r->on_admin_socket = true;
		r->admin_uid = (unsigned)-1; /* unknown until the kernel says */
		r->admin = admin_peer_ok(wsi, &r->admin_uid);
		snprintf(r->ip, sizeof(r->ip), "local");
	} else {
		/* Unreadable: refuse rather than guess (see callback_http). */
		r->xff_unreadable = !server_client_ip(wsi, r->ip, sizeof(r->ip));
	}
	copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, r->authorization, sizeof(r->authorization));
	/* Cookies matter only without a Bearer token; they may be kilobytes,
	 * so they are copied only then (4 KB at most). */
	if (strncasecmp(r->authorization, "Bearer ", 7) != 0) {
		int clen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);

		if (clen > 0 && clen < 4096 && (r->cookie = malloc((size_t)clen + 1)) != NULL)
			copy_header(wsi, WSI_TOKEN_HTTP_COOKIE, r->cookie, (size_t)clen + 1);
	}
	copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, r->content_type, sizeof(r->content_type));
	if (lws_hdr_custom_length(wsi, "x-csrf-token:", 13) > 0 &&
	    lws_hdr_custom_length(wsi, "x-csrf-token:", 13) < (int)sizeof(r->csrf))
		lws_hdr_custom_copy(wsi, r->csrf, sizeof(r->csrf), "x-csrf-token:", 13);
	/* Only payments (POST) read these: GETs, the hot path, skip the scans
	 * of the header table. */
	r->idem_len = -1;
	if (r->method == M_POST) {
		int n = lws_hdr_custom_length(wsi, "idempotency-key:", 16);

		r->idem_len = n < 0 ? -1 : n;
		if (n > 0 && n <= IDEMPOTENCY_KEY_MAX)
			lws_hdr_custom_copy(wsi, r->idem_key, sizeof(r->idem_key),
					    "idempotency-key:", 16);
		n = lws_hdr_custom_length(wsi, "x-provider-signature:", 21);
		if (n > 0 && n < (int)sizeof(r->signature))
			lws_hdr_custom_copy(wsi, r->signature, sizeof(r->signature),
					    "x-provider-signature:", 21);
	}
	r->content_length = 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof(cl));
		r->content_length = parse_content_length(cl);
	}
	r->chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	return r;
}

/*
 * The headers of every response, pages and API alike: scripts, styles and
 * connections only from authd itself (ws: and wss: included, by 'self'),
 * images also from data: URIs (the QR codes), no framing, no plugins, no
 * referrer (a page's URL may hold an emailed token). lws's own set
 * (LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE) allows
 * WebSockets to any host and is not used.
 */
static const char *const security_headers[][2] = {
    {"content-security-policy:",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
     "base-uri 'none'; frame-ancestors 'none'"},
    {"x-content-type-options:", "nosniff"},
    {"x-frame-options:", "DENY"},
    {"referrer-policy:", "no-referrer"},
    {"cross-origin-opener-policy:", "same-origin"},
    {"cross-origin-resource-policy:", "same-origin"},
    {"permissions-policy:", "camera=(), microphone=(), geolocation=(), payment=()"},
};

/* The same set as lws's per-vhost canned headers: lws adds them to every
 * response it starts (lws_add_http_header_status), ours and the error
 * pages lws writes itself. Built once, before the vhost. */
#define SECURITY_HEADERS_N (sizeof(security_headers) / sizeof(security_headers[0]))
static struct lws_protocol_vhost_options security_pvo[SECURITY_HEADERS_N + 1];

static const struct lws_protocol_vhost_options *security_headers_list(bool tls)
{
	const struct lws_protocol_vhost_options *next = NULL;
	size_t n = 0;

	if (tls) {
		security_pvo[n] =
		    (struct lws_protocol_vhost_options){.next = NULL,
							.name = "strict-transport-security:",
							.value = "max-age=31536000"};
		next = &security_pvo[n++];
	}
	for (size_t i = SECURITY_HEADERS_N; i-- > 0;) {
		security_pvo[n] = (struct lws_protocol_vhost_options){
		    .next = next, .name = security_headers[i][0], .value = security_headers[i][1]};
		next = &security_pvo[n++];
	}
	return next;
}

static int add_fixed(struct lws *wsi, const char *name, const char *value, uint8_t **p,
		     uint8_t *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p,
					   end);
}

/*
 * Writes r's whole response (status line, headers, body) with one lws_write,
 * so a small response is one send() and one TCP segment. Content-Length is
 * added by name: lws then does no body accounting of its own, which would
 * count the header bytes against it. lws keeps what the socket did not take
 * and finishes it before the next transaction.
 */
static int write_response(struct lws *wsi, struct pss *pss, struct req *r)
{
	const size_t head_room = 2048;
	size_t cap = LWS_PRE + head_room + r->resp_len;
	uint8_t *buf = malloc(cap);
	uint8_t *start, *p, *end;
	char num[24];
	const char *h = r->headers;
	bool close_after = r->close_after;
	int rc = -1;
	int n;

	if (buf == NULL)
		return -1;
	metrics_request(r->route, r->status, (double)(monotonic_ns() - r->started_ns) / 1e9);
	start = p = buf + LWS_PRE;
	end = start + head_room - 1;
	if (lws_add_http_header_status(wsi, (unsigned)r->status, &p, end))
		goto out;
	/* A 304 has no body and names no length but the 200's. */
	n = snprintf(num, sizeof(num), "%zu", r->resp_len);
	if (r->status != 304 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-length:",
					(const unsigned char *)num, n, &p, end))
		goto out;
	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)r->id);
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
					(const unsigned char *)num, n, &p, end) ||
	    add_fixed(wsi, "cache-control:", r->cacheable ? "no-cache" : "no-store", &p, end))
		goto out;
	if (close_after && lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
						       (const unsigned char *)"close", 5, &p, end))
		goto out;
	/* Our extra headers, kept as "Name: value\r\n" lines. */
	while (*h) {
		const char *colon = strchr(h, ':');
		const char *eol = strstr(h, "\r\n");
		char name[64];
		size_t nlen;

		if (colon == NULL || eol == NULL || colon > eol)
			goto out;
		nlen = (size_t)(colon - h) + 1;
		if (nlen >= sizeof(name))
			goto out;
		for (size_t i = 0; i < nlen; i++)
			name[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
		name[nlen] = '\0';
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
						(const unsigned char *)colon + 2,
						(int)(eol - colon - 2), &p, end))
			goto out;
		h = eol + 2;
	}
	if (lws_finalize_http_header(wsi, &p, end))
		goto out;
	if (r->resp_len) {
		memcpy(p, r->resp, r->resp_len);
		p += r->resp_len;
	}
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) != (int)(p - start))
		goto out;
	rc = 0;
out:
	authd_freezero(buf, cap);
	log_debug("req=%llu status=%d ip=%s", (unsigned long long)r->id, r->status, r->ip);
	pss->req = NULL;
	req_free(r);
	if (rc != 0 || close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Request headers we accept; lws holds up to HEADERS_BUF bytes of them so
 * that a larger request still gets a problem+json answer. (Beyond
 * HEADERS_BUF lws closes the connection without one.) */
#define HEADERS_MAX 8192
#define HEADERS_BUF 16384

/* The headers a client can make long: the request line's URI, the
 * credentials and what browsers and proxies send in bulk. Counting every
 * token lws knows (about 90 calls per request) cost 2% of a session check;
 * the others are short by nature, and a request that stuffs one of them
 * still meets lws's own buffer (HEADERS_BUF). lws 4.1 cannot list custom
 * headers, so they count only against that buffer too. */
static const enum lws_token_indexes counted_headers[] = {
    WSI_TOKEN_GET_URI,
    WSI_TOKEN_POST_URI,
    WSI_TOKEN_PUT_URI,
    WSI_TOKEN_PATCH_URI,
    WSI_TOKEN_DELETE_URI,
    WSI_TOKEN_HTTP_COOKIE,
    WSI_TOKEN_HTTP_AUTHORIZATION,
    WSI_TOKEN_X_FORWARDED_FOR,
    WSI_TOKEN_HTTP_USER_AGENT,
    WSI_TOKEN_HTTP_REFERER,
    WSI_TOKEN_HTTP_ACCEPT,
    WSI_TOKEN_HTTP_ACCEPT_LANGUAGE,
    WSI_TOKEN_HTTP_ACCEPT_ENCODING,
    WSI_TOKEN_HTTP_CONTENT_TYPE,
    WSI_TOKEN_HOST,
    WSI_TOKEN_ORIGIN,
    WSI_TOKEN_HTTP_IF_NONE_MATCH,
};

static size_t header_bytes(struct lws *wsi)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(counted_headers) / sizeof(counted_headers[0]); i++) {
		int len = lws_hdr_total_length(wsi, counted_headers[i]);

		if (len > 0)
			n += (size_t)len;
	}
	return n;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			 size_t len)
{
	struct pss *pss = user;
	struct req *r = NULL;

	/* For these, user is not this protocol's (another protocol's data, or
	 * the accept filter's). */
	if (reason != LWS_CALLBACK_WSI_DESTROY && reason != LWS_CALLBACK_WSI_CREATE &&
	    reason != LWS_CALLBACK_FILTER_NETWORK_CONNECTION && pss)
		r = pss->req;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return 1; /* a WebSocket without a subprotocol of ours */

	/* Every connection lws holds, whatever it becomes (both reasons come
	 * to protocols[0] for every wsi): a little past max_connections (the
	 * requests between get 503 overloaded) a new one is closed at once,
	 * so that descriptors never run out under accept(). */
	case LWS_CALLBACK_WSI_CREATE:
		open_sockets++;
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* user is whatever per-session data the wsi ended with */
		if (open_sockets > 0)
			open_sockets--;
		return 0;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* The operator gets in when everyone else is refused. */
		if (admin_vhost && lws_get_vhost(wsi) == admin_vhost)
			return 0;
		if (open_sockets >= socket_cap) {
			if (!refusing)
				log_warn("max_connections (%u) reached: new connections are "
					 "closed until some end",
					 srv.cfg.max_connections);
			refusing = true;
			return 1;
		}
		refusing = false;
		return 0;

	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		/* An upgrade that will not be served gets its answer now, as
		 * problem+json, instead of a dropped connection. */
		enum api_error e;
		struct pss tmp = {NULL};
		char uri[256];

		/* h2c would make lws speak HTTP/2 on this connection, which
		 * authd's responses are not written for (HTTP/2 is the front
		 * proxy's): refused, as any upgrade but authd's channels. */
		if (in == NULL || strcasecmp(in, "websocket") != 0 ||
		    (admin_vhost && lws_get_vhost(wsi) == admin_vhost))
			e = E_UPGRADE_NOT_SUPPORTED;
		else if ((e = ws_device_upgrade_check(wsi)) == E_OK ||
			 (e == E_NOT_FOUND && (e = ws_login_wait_upgrade_check(wsi)) == E_OK))
			return 0;
		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0)
			uri[0] = '\0';
		if ((r = req_new(wsi, uri)) == NULL)
			return -1;
		r->close_after = true;
		reply_error(r, e);
		/* Written and freed; then the connection is hung up (-1). */
		write_response(wsi, &tmp, r);
		return -1;
	}

	case LWS_CALLBACK_HTTP:
		if (pss == NULL || r) /* a pipelined request while one is pending */
			return -1;
		r = req_new(wsi, in);
		if (r == NULL)
			return -1;
		pss->req = r;
		if (open_requests > srv.cfg.max_connections && !r->on_admin_socket) {
			r->close_after = true;
			reply_error(r, E_OVERLOADED);
			return 0;
		}
		if (r->xff_unreadable) {
			reply_error(r, E_OVERLOADED);
			return 0;
		}
		if (r->on_admin_socket && !r->admin) {
			log_refusal_warn("admin", "admin socket peer refused uid=%u req=%llu",
					 r->admin_uid, (unsigned long long)r->id);
			reply_error(r, E_FORBIDDEN);
			return 0;
		}
		if (header_bytes(wsi) > HEADERS_MAX) {
			reply_error(r, E_HEADERS_TOO_LARGE);
			return 0;
		}
		if (r->content_length < 0) {
			reply_error(r, E_BAD_CONTENT_LENGTH);
			return 0;
		}
		if ((size_t)r->content_length > srv.cfg.max_body) {
			reply_error(r, E_BODY_TOO_LARGE);
			return 0;
		}
		if (r->chunked) {
			reply_error(r, E_LENGTH_REQUIRED);
			return 0;
		}
		if (r->content_length > 0) {
			r->body = malloc((size_t)r->content_length + 1);
			if (r->body == NULL)
				return -1;
			return 0; /* wait for the body */
		}
		r->dispatched = true;
		router_dispatch(r);
		return 0;

	case LWS_CALLBACK_HTTP_BODY:
		if (r == NULL || r->dispatched || r->responded)
			return 0;
		if (r->body_len + len > (size_t)r->content_length) {
			r->body_too_large = true;
			return 0;
		}
		memcpy(r->body + r->body_len, in, len);
		r->body_len += len;
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* lws also reports completion of an empty body, which was
		 * dispatched with the headers already. */
		if (r == NULL || r->dispatched || r->responded)
			return 0;
		r->dispatched = true;
		router_dispatch(r);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (r == NULL || !r->responded)
			return 0;
		return write_response(wsi, pss, r);

	case LWS_CALLBACK_CLOSED_HTTP:
		if (r) {
			pss->req = NULL;
			r->wsi = NULL;
			if (!r->pending)
				req_free(r);
		}
		return 0;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		async_drain();
		return 0;

	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* --- the store's descriptor ------------------------------------------------------- */

/* The store may answer reads on the loop (store_loop_fd): lws watches a
 * dup of its descriptor as a raw file (lws closes its own copy), and a
 * new descriptor (the store reconnected) replaces the old watch. */
static struct lws *store_wsi;
static unsigned store_generation;

static int callback_store(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			  size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return 1; /* never a WebSocket, whatever a client asks for */
	case LWS_CALLBACK_RAW_RX_FILE:
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (wsi != store_wsi)
			return -1; /* a descriptor the store has left */
		store_loop_ready();
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == store_wsi)
			store_wsi = NULL;
		return 0;
	default:
		return 0;
	}
}

/* After each pass: watch what the store asks to be watched. */
static void store_watch(void)
{
	unsigned generation;
	bool want_write;
	int fd = store_loop_fd(&generation, &want_write);

	if (store_wsi && (fd < 0 || generation != store_generation)) {
		lws_set_timeout(store_wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		store_wsi = NULL;
	}
	if (fd >= 0 && store_wsi == NULL) {
		lws_sock_file_fd_type u;

		u.filefd = dup(fd);
		if (u.filefd < 0)
			return;
		/* On failure lws returns NULL (and, in 4.1, may keep the dup):
		 * tried again after the next pass; the connection cap keeps
		 * lws's table from filling, which is how it fails. */
		store_wsi =
		    lws_adopt_descriptor_vhost(lws_get_vhost_by_name(context, "default"),
					       LWS_ADOPT_RAW_FILE_DESC, u, "authd-store", NULL);
		store_generation = generation;
	}
	if (store_wsi && want_write)
		lws_callback_on_writable(store_wsi);
}

static const struct lws_protocols protocols[] = {
    {"http", callback_http, sizeof(struct pss), 4096, 0, NULL, 0},
    {"authd-store", callback_store, 0, 0, 0, NULL, 0},
    WS_DEVICE_PROTOCOL,
    WS_LOGIN_WAIT_PROTOCOL,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct lws_context *server_context(void)
{
	return context;
}

/* authd's subprotocols: the one lws binds is the first of these offered. */
static const char *const served[] = {"http", "authd-store", MP_SUBPROTOCOL,
				     WS_LOGIN_WAIT_PROTOCOL_NAME};

/* Whether lws will pick `want` for this comma-separated list: it binds the
 * first offered name it serves. */
static bool picks(const char *list, const char *want)
{
	while (*list) {
		size_t n;

		list += strspn(list, " \t,");
		n = strcspn(list, " \t,");
		for (size_t i = 0; n > 0 && i < sizeof(served) / sizeof(served[0]); i++)
			if (n == strlen(served[i]) && strncmp(list, served[i], n) == 0)
				return strcmp(served[i], want) == 0;
		list += n;
	}
	return false;
}

enum api_error server_upgrade_check(struct lws *wsi, const char *path, const char *subprotocol)
{
	char uri[64], proto[256], origin[300];
	const char *url = server_public_url();
	size_t n;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    (strcmp(uri, path) != 0 && strcmp(uri, path + 2) != 0))
		return E_NOT_FOUND;
	if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 ||
	    !picks(proto, subprotocol))
		return E_UNSUPPORTED_SUBPROTOCOL;
	/* A native app sends no Origin; a page may only be authd's own
	 * (scheme://host:port of the public URL). */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return E_OK;
	n = strcspn(url, ":") + 3;
	n += strcspn(url + n, "/");
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0 ||
	    strlen(origin) != n || strncmp(origin, url, n) != 0)
		return E_FORBIDDEN_ORIGIN;
	return E_OK;
}

/* lws's own value for a close frame (lib/roles/ws/private-lib-roles-ws.h
 * in 4.1.6), which its public header leaves to lws_close_reason(). */
#define WRITE_CLOSE_FRAME ((enum lws_write_protocol)4)

int server_ws_close(struct lws *wsi, int code)
{
	unsigned char frame[LWS_PRE + 2];

	frame[LWS_PRE] = (unsigned char)(code >> 8);
	frame[LWS_PRE + 1] = (unsigned char)code;
	(void)lws_write(wsi, frame + LWS_PRE, 2, WRITE_CLOSE_FRAME);
	return -1;
}

const char *server_public_url(void)
{
	static char url[300];
	int port = srv.cfg.listen_port;

	if (srv.cfg.public_url[0])
		return srv.cfg.public_url;
	if (context)
		port = lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default"));
	snprintf(url, sizeof(url), strchr(srv.cfg.listen_addr, ':') ? "%s://[%s]:%d" : "%s://%s:%d",
		 srv.cfg.tls_cert[0] ? "https" : "http", srv.cfg.listen_addr, port);
	return url;
}

static void wake_loop(void *arg)
{
	(void)arg;
	if (wake_enabled)
		lws_cancel_service(context);
}

/*
 * SIGINT and SIGTERM (stop) and SIGHUP (reload) stay blocked in every
 * thread and this one takes them with sigwait(), then wakes the loop. A handler that only set a
 * flag was lost whenever the signal arrived while the loop was between polls: lws then slept until
 * its next timer, up to 30 s (seen as a stop that timed out under load).
 */
static void *signal_main(void *arg)
{
	const sigset_t *set = arg;
	int sig = 0;

	pthread_setname_np(pthread_self(), "authd-signals"); /* for top -H and perf */
	for (;;) {
		if (sigwait(set, &sig) != 0 || signals_done)
			return NULL;
		if (sig == SIGUSR1)
			continue;
		if (sig == SIGHUP) {
			reload_asked = 1;
			wake_loop(NULL);
			continue;
		}
		stopping = 1;
		wake_loop(NULL);
	}
}

static void lws_log_bridge(int level, const char *line)
{
	char text[512], subject[40];
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	/* lws's text is not ours: no "key=value" in it may pass for a field
	 * of the line. */
	for (size_t i = 0; i < n; i++)
		text[i] = (char)(line[i] == '=' ? ':' : line[i]);
	text[n] = '\0';
	/* A peer can make lws complain at will (broken TLS, frames): limited,
	 * each kind of complaint (its first words) on its own. */
	n = n < sizeof(subject) - 1 ? n : sizeof(subject) - 1;
	memcpy(subject, text, n);
	subject[n] = '\0';
	if (level & LLL_ERR)
		log_limited(LOG_LVL_ERR, subject, "lws: %s", text);
	else
		log_limited(LOG_LVL_WARN, subject, "lws: %s", text);
}

/*
 * Descriptors: max_connections and some room (listeners, the store's, the
 * signal pipe). lws sizes its tables by the soft limit, which is set to
 * that (raised when the hard limit allows, lowered when it is far above);
 * past the hard limit lws gets what there is and authd says so: lws must
 * refuse a connection before accept() fails. (lws's own fd_limit_per_thread
 * would make it look descriptors up by a linear search: with 10 000
 * channels that was a tenth of the loop's time.)
 */
#define FD_ROOM 128

static void set_descriptors(unsigned max_connections)
{
	rlim_t want = (rlim_t)max_connections + FD_ROOM;
	struct rlimit rl;

	socket_cap = max_connections + SOCKET_SLACK;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != want) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur >= want)
		return;
	/* Fewer descriptors than asked: the cap comes down with them, so
	 * that accept() still never runs out. */
	socket_cap =
	    rl.rlim_cur > FD_ROOM ? (unsigned)(rl.rlim_cur - FD_ROOM) + SOCKET_SLACK : SOCKET_SLACK;
	log_warn("max_connections %u needs %llu descriptors but this process may open %llu: "
		 "connections are capped at %u",
		 max_connections, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
		 socket_cap);
}

/*
 * No idle-validity timers: lws 4.1 keeps one per connection in a sorted
 * list and re-inserts it, walking the list from its head, on every frame
 * received (with 10 000 channels, the loop's largest cost). Device
 * channels are pinged by ws_device.c instead, from one timer.
 */
static const lws_retry_bo_t no_validity_timers = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

/* Runs what is ready on the loop, without waiting. */
static void loop_drain(void)
{
	for (int spins = 0; spins < 100; spins++)
		ev_run(evloop, EVRUN_NOWAIT);
}

/*
 * On a foreign loop lws destroys its context in stages, each after the
 * loop ran what the one before began: destroy again after each drain
 * until it is gone (info.pcontext makes `context` NULL then; two or three
 * calls in 4.1). Then the loop goes.
 */
static void context_destroy(void)
{
	for (int stage = 0; context && stage < 4; stage++) {
		lws_context_destroy(context);
		if (evloop)
			loop_drain();
	}
	context = NULL;
	if (evloop)
		ev_loop_destroy(evloop);
	evloop = NULL;
}

/*
 * lws 4.1's libev glue re-arms its one timer with ev_timer_set() on a
 * watcher that may be active, which libev ignores: a timer scheduled
 * before the one armed would fire only when that one does (a 10 s
 * deadline behind a 5-minute sweep). This timer of lws's own, every
 * 100 ms, keeps the armed one never more than 100 ms away, so every lws
 * timer fires at most that late.
 */
#define HEARTBEAT_US (100 * 1000)
static lws_sorted_usec_list_t heartbeat;

/* systemd's watchdog (WatchdogSec=): the loop's heartbeat tells it the
 * loop turns, at half its period; 0 when it is off. */
static uint64_t watchdog_every_us, watchdog_last_us;

static void beat(lws_sorted_usec_list_t *sul)
{
	outbox_beat();
	log_limit_flush();
	if (watchdog_every_us) {
		uint64_t now = monotonic_ns() / 1000;

		if (now - watchdog_last_us >= watchdog_every_us) {
			sd_notify(0, "WATCHDOG=1");
			watchdog_last_us = now;
		}
	}
	if (context)
		lws_sul_schedule(context, 0, sul, beat, HEARTBEAT_US);
}

/* Where the admin socket is ([admin] socket; "" in out: none). False
 * when the path does not fit out. */
static bool admin_socket_path(char *out, size_t size)
{
	int n = 0;

	if (strcmp(srv.cfg.admin_socket, "none") == 0)
		out[0] = '\0';
	else if (srv.cfg.admin_socket[0])
		n = snprintf(out, size, "%s", srv.cfg.admin_socket);
	else
		n = snprintf(out, size, "%s/admin.sock", srv.cfg.data_dir);
	return n >= 0 && (size_t)n < size;
}

/*
 * The admin socket: a second vhost on a Unix socket, made 0600 (umask) so
 * that only authd's user and root can connect; a socket file left by a
 * process that died is replaced. 0, or -1 (logged).
 */
/*
 * lws unlinks whatever is at the path before it binds: the path must hold
 * nothing, or a socket nobody listens on any more (an authd that died).
 * False (logged) otherwise.
 */
static bool admin_path_free(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;
	bool live;

	if (lstat(path, &st) != 0)
		return errno == ENOENT;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("[admin] socket %.200s exists and is not a socket: not replaced", path);
		return false;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	live = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	if (live)
		log_err("[admin] socket %.200s is another authd's (it answers): is one already "
			"serving this data directory?",
			path);
	return !live;
}

static int admin_listen(const struct lws_protocols *protos,
			const struct lws_protocol_vhost_options *headers)
{
	struct lws_context_creation_info ai;
	struct sockaddr_un sun;
	char *path = admin_path;
	mode_t old;

	if (!admin_socket_path(path, sizeof(admin_path)) ||
	    strlen(path) >= sizeof(sun.sun_path) - 1) {
		/* The default under a long data directory: serve without it. */
		if (srv.cfg.admin_socket[0] == '\0') {
			log_warn("no admin socket: <data_dir>/admin.sock is longer than a Unix "
				 "socket's %zu bytes (set [admin] socket)",
				 sizeof(sun.sun_path) - 2);
			return 0;
		}
		log_err("[admin] socket: a Unix socket's path has at most %zu bytes",
			sizeof(sun.sun_path) - 2);
		return -1;
	}
	if (path[0] == '\0')
		return 0;
	if (!admin_path_free(path))
		return -1;
	memset(&ai, 0, sizeof(ai));
	ai.vhost_name = "admin";
	ai.options = LWS_SERVER_OPTION_UNIX_SOCK;
	ai.iface = path;
	ai.protocols = protos;
	ai.headers = headers;
	ai.keepalive_timeout = 30;
	ai.timeout_secs = 30;
	ai.retry_and_idle_policy = &no_validity_timers;
	old = umask(077);
	admin_vhost = lws_create_vhost(context, &ai);
	umask(old);
	if (admin_vhost == NULL || fchmodat(AT_FDCWD, path, 0600, 0) != 0) {
		log_err("cannot listen on the admin socket %.200s", path);
		return -1;
	}
	log_info("admin socket %.200s (root and uid %u)", path, (unsigned)geteuid());
	return 0;
}

int server_run(void)
{
	struct lws_context_creation_info info;
	unsigned workers = srv.cfg.workers;

	memset(&info, 0, sizeof(info));
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
	info.port = srv.cfg.listen_port;
	info.iface = srv.cfg.listen_addr;
	info.protocols = protocols;
	/* Text frames and close reasons that are not UTF-8 fail the channel
	 * with 1007 at the frame (RFC 6455 8.1), before any JSON parse. */
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.headers = security_headers_list(srv.cfg.tls_cert[0] != '\0');
	if (strchr(srv.cfg.listen_addr, ':'))
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
	set_descriptors(srv.cfg.max_connections);
	info.retry_and_idle_policy = &no_validity_timers;
	/* libev (epoll) instead of lws's poll(): a pass costs what is ready,
	 * not every descriptor (with 3 000 idle device channels poll() took
	 * most of the loop's time). The loop is ours (foreign), so each pass
	 * still ends here (store_batch_*, store_watch). Not libuv: lws 4.1's
	 * libuv glue stops and starts a descriptor's poll handle around every
	 * request (nine epoll_ctl calls a request; GET /1/health fell from
	 * 67 000/s to 39 000/s); libev batches those changes once a pass. */
	if ((evloop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV)) == NULL) {
		log_err("cannot make the event loop");
		return -1;
	}
	foreign_loops[0] = evloop;
	info.options |= LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = foreign_loops;
	info.pcontext = &context;
	info.keepalive_timeout = 30;
	info.max_http_header_data = HEADERS_BUF;
	info.timeout_secs = 30;
	if (srv.cfg.tls_cert[0]) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = srv.cfg.tls_cert;
		info.ssl_private_key_filepath = srv.cfg.tls_key;
		/* HTTP/1.1 only: responses are written as one HTTP/1 message
		 * (write_response), which is not how an h2 stream sends headers. */
		info.alpn = "http/1.1";
	}
	context = lws_create_context(&info);
	if (context == NULL) {
		log_err("cannot listen on %s:%d", srv.cfg.listen_addr, srv.cfg.listen_port);
		ev_loop_destroy(evloop);
		evloop = NULL;
		return -1;
	}
	if (admin_listen(protocols, info.headers) != 0) {
		context_destroy();
		return -1;
	}
	if (workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	/* The stop signals are blocked in every thread (threads inherit the
	 * mask) and taken by the signal thread. */
	static sigset_t stop_signals;
	pthread_t sig_thread;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGUSR1); /* only ends the signal thread */
	sigaddset(&stop_signals, SIGHUP);  /* a reload (reload.h) */
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	wake_enabled = 1;
	signals_done = 0;
	int started = async_start(workers, srv.cfg.pool_queue_max, wake_loop, NULL) == 0 &&
		      store_start() == 0;
	bool sig_started =
	    started && pthread_create(&sig_thread, NULL, signal_main, &stop_signals) == 0;
	if (!sig_started) {
		async_stop();
		store_stop();
		wake_enabled = 0;
		context_destroy();
		return -1;
	}
	lws_sul_schedule(context, 0, &heartbeat, beat, HEARTBEAT_US);
	notify_setup(&srv.cfg, server_public_url());
	sms_setup(&srv.cfg);
	service_setup(&srv.cfg);
	{
		size_t n_routes;

		router_routes(&n_routes);
		if (metrics_init(n_routes) != 0) {
			log_err("out of memory for the metrics");
			return 1;
		}
	}
	sweep_start(context, srv.cfg.session_idle_s);
	rotation_start(context);
	renewal_start(context);
	if (outbox_start(context) != 0)
		stopping = 1;
	cluster_start(context);
	ws_device_start(context);
	log_info("listening on %s:%d (workers=%u, test_clock=%s)", srv.cfg.listen_addr,
		 lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default")), workers,
		 srv.cfg.test_clock ? "on" : "off");
	{
		uint64_t usec = 0;

		/* Under systemd (Type=notify): serving from here on. */
		if (sd_watchdog_enabled(0, &usec) > 0)
			watchdog_every_us = usec / 2;
		sd_notifyf(0, "READY=1\nSTATUS=serving on %s:%d", srv.cfg.listen_addr,
			   lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default")));
	}
	while (!stopping) {
		/* The jobs of one pass start together (store.h). */
		store_batch_begin();
		ev_run(evloop, EVRUN_ONCE);
		store_batch_end();
		store_watch();
		if (atomic_exchange(&reload_asked, 0)) {
			sd_notify(0, "RELOADING=1");
			reload_run(context);
			sd_notify(0, "READY=1");
		}
	}
	log_info("stopping");
	sd_notify(0, "STOPPING=1");
	/* The signal thread may wake the context: end it first. */
	signals_done = 1;
	pthread_kill(sig_thread, SIGUSR1);
	pthread_join(sig_thread, NULL);
	lws_sul_cancel(&heartbeat);
	sweep_stop();
	rotation_stop();
	renewal_stop();
	cluster_stop();
	http_test_hooks_stop();
	ws_device_stop();
	push_wait_stop();
	/* Stop the threads first (the pool finishes its queue, the writer
	 * commits its queue), so nothing signals the context while it is being
	 * destroyed; then close the connections, so finished jobs find their
	 * requests gone; then run what completed (a job submitted now completes
	 * at once with an error). */
	outbox_stop(); /* settles what it delivered while the store runs */
	async_stop();
	store_stop();
	wake_enabled = 0;
	context_destroy();
	async_drain_all();
	admin_vhost = NULL; /* lws unlinked its socket with the context */
	return 0;
}
