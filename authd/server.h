/*
 * Runs the HTTP server until SIGINT/SIGTERM: listens, serves, then drains
 * the worker pool and the writer before returning. Returns 0 or -1.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

int server_run(void);

/* The URL devices reach this server at: [server] public_url, or http(s)
 * on the listen address and the port listened on. Loop thread. */
const char *server_public_url(void);

struct lws;
/* The client's address of a connection into out: the socket peer, or
 * behind [server] trusted_proxies the rightmost untrusted X-Forwarded-For
 * hop. False (out holding the peer) when that header cannot be read. */
bool server_client_ip(struct lws *wsi, char *out, size_t size);

#endif
