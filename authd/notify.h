/*
 * Security notifications: the email an account's owner gets when
 * something changes on it (a password, a second factor, a device, backup
 * codes, a lock, a paused push) or when it is signed in to from a new
 * place. Queued through the outbox in the same transaction as the change
 * (outbox.h), so a change is never committed without its notice. No
 * message holds a password, a token or a second-factor secret: only what
 * happened, when, and from where.
 */
#ifndef AUTHD_NOTIFY_H
#define AUTHD_NOTIFY_H

#include <core.h>
#include <store.h>

#include "config.h"

/* Takes the settings ([outbox] notifications) and the base URL the
 * messages name; once at start, before any job runs. */
void notify_setup(const struct authd_config *c, const char *base_url);

/* Queues the notice of a security event of the account (read in txn) when
 * its kind has one and notifications are on. 0 or STORE_E_*. */
int notify_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		 enum security_event_kind kind, int64_t now, const char *ip);

/* Queues the "new sign-in" notice when a right password comes from a
 * network or a browser the account has not used lately (the place is
 * noted in txn either way; core_place_note decides). net is
 * client_net() of the client's prefix. 0 or STORE_E_*. */
int notify_place(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], uint64_t net,
		 bool browser_known, int64_t now, const char *ip, const char *browser);

/* The base URL messages name ([server] public_url, or where authd
 * listens): set once at start, readable from any thread. */
const char *notify_base_url(void);

/* Formats t as "2026-12-06 13:45 UTC" into out. */
void notify_time(int64_t t, char *out, size_t size);

#endif
