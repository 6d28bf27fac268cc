/*
 * The /1/login/wait WebSocket (subprotocol authd-login-wait.v1): a login
 * page learns its push result without polling. The page sends the login
 * id as the first and only message (never in the URL, which proxies log);
 * authd answers {"state":"pending"} while the login waits, then one final
 * message as POST /1/login/wait would answer ("approved" with the session,
 * "denied", "expired") and closes. Loop thread only.
 */
#ifndef AUTHD_WS_LOGIN_WAIT_H
#define AUTHD_WS_LOGIN_WAIT_H

#include <libwebsockets.h>

#include "errors.h"

#define WS_LOGIN_WAIT_PROTOCOL_NAME "authd-login-wait.v1"

int ws_login_wait_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len);
#define WS_LOGIN_WAIT_PROTOCOL                                                                     \
	{                                                                                          \
		WS_LOGIN_WAIT_PROTOCOL_NAME, ws_login_wait_callback, sizeof(void *), 512, 0, NULL, \
		    0                                                                              \
	}

/* Whether a WebSocket upgrade request is one for this channel and may go
 * on (server_upgrade_check for /1/login/wait). */
enum api_error ws_login_wait_upgrade_check(struct lws *wsi);

#endif
