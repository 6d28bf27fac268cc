/*
 * Runs the HTTP server until SIGINT/SIGTERM: listens, serves, then drains
 * the worker pool and the writer before returning. Returns 0 or -1.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

int server_run(void);

/* The URL devices reach this server at: [server] public_url, or http(s)
 * on the listen address and the port listened on. Loop thread. */
const char *server_public_url(void);

struct lws;
struct lws_context;
/* The running context (for timers), or NULL. Loop thread. */
struct lws_context *server_context(void);

/* Whether a WebSocket upgrade may go on to the channel at `path` (also
 * reached without its "/1" prefix) under `subprotocol`: E_OK; E_NOT_FOUND
 * for another path; E_UNSUPPORTED_SUBPROTOCOL when the client does not
 * offer it first among authd's protocols (lws binds the first it serves);
 * E_FORBIDDEN_ORIGIN when an Origin header is not authd's own (the public
 * URL's scheme, host and port; a native app sends none). */
enum api_error server_upgrade_check(struct lws *wsi, const char *path, const char *subprotocol);

/* Ends a WebSocket from its writable callback: writes the close frame
 * with `code` itself, then returns -1 for the callback to return (lws 4.1
 * on a foreign loop drops the close frame lws_close_reason() asks for,
 * and hangs up without it). */
int server_ws_close(struct lws *wsi, int code);

/* The client's address of a connection into out: the socket peer, or
 * behind [server] trusted_proxies the rightmost untrusted X-Forwarded-For
 * hop. False (out holding the peer) when that header cannot be read. */
bool server_client_ip(struct lws *wsi, char *out, size_t size);

#endif
