/*
 * The /1/device WebSocket (subprotocol MP_SUBPROTOCOL): an authenticator
 * device's channel, as mobile-protocol/PROTOCOL.md describes it. This
 * node's open channels are its own business; everything else goes through
 * the store. Loop thread only.
 */
#ifndef AUTHD_WS_DEVICE_H
#define AUTHD_WS_DEVICE_H

#include <libwebsockets.h>
#include <mp.h>
#include <push.h>
#include <stdint.h>
#include <util.h>

#include "errors.h"

/* The protocol's callback, and its entry for the lws protocol list (the
 * per-session data is one pointer; messages arrive in pieces of 512 bytes,
 * which covers every message but a long link; each buffer costs every idle
 * channel); a message goes out in one send whatever its size). */
int ws_device_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len);
#define WS_DEVICE_PROTOCOL                                                                         \
	{                                                                                          \
		MP_SUBPROTOCOL, ws_device_callback, sizeof(void *), 512, 0, NULL,                  \
		    MP_FRAME_MAX + 16                                                              \
	}

/* Whether a WebSocket upgrade request may go on: E_OK when the path is
 * /1/device (or /device), MP_SUBPROTOCOL is among the subprotocols offered
 * and any Origin header is authd's own; else the error to answer
 * (E_NOT_FOUND, E_UNSUPPORTED_SUBPROTOCOL, E_FORBIDDEN_ORIGIN). */
enum api_error ws_device_upgrade_check(struct lws *wsi);

/* A new challenge (c->ctx filled; account is the login identifier to
 * show): this node's authenticated channels of the account's devices get
 * it at once, unless they were sent it before. (Other nodes hear of it
 * through cluster.h.) */
void ws_device_deliver(const struct push_challenge *c, const char *account);

/* A challenge ended (answered, cancelled): this node's channels of the
 * account other than `except` (NULL: all) are told to hide it. */
void ws_device_withdraw(const uint8_t account_id[AUTHD_ID_LEN],
			const uint8_t challenge_id[MP_ID_LEN], enum mp_withdraw_reason why,
			const uint8_t *except);

/* The device was removed: its channels on this node are told so and
 * closed (4403). */
void ws_device_revoked(const uint8_t device_id[AUTHD_ID_LEN]);

/* Another node wrote challenge_id for the account: when a channel of the
 * account is here, the challenge is read and sent to them (if pending). */
void ws_device_fetch(const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t challenge_id[AUTHD_ID_LEN]);

/* The periodic read (cluster.c): every challenge created since `since`
 * and still pending goes to this node's channels of its account that were
 * not sent it. Nothing when no channel is here, or a read is under way. */
void ws_device_offer_pending(int64_t since);

/* The authenticated channels open on this node (for the metrics). */
size_t ws_device_channels(void);

/* Whether the device holds an authenticated channel on this node. */
bool ws_device_connected(const uint8_t account_id[AUTHD_ID_LEN],
			 const uint8_t device_id[AUTHD_ID_LEN]);

/* Notes may have been lost: every authenticated channel reads again its
 * device (gone: revoked) and its account's pending challenges. */
void ws_device_resync(void);

/* Starts pinging channels the device has been silent on ([push]
 * channel_ping_s) and dropping those that stay silent. */
void ws_device_start(struct lws_context *ctx);

/* Cancels every channel's timer (at shutdown, before the context goes;
 * lws_context_destroy() then closes the connections). */
void ws_device_stop(void);

#endif
