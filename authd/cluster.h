/*
 * The router seam between nodes: what one node's change means for the
 * device channels and waiting pages another node holds. A write job names
 * what its change means (cluster_publish); the node that made it acts on
 * it itself in its done(), and every other node sharing the store hears it
 * once the change commits (store_notify) and acts on it the same way.
 * With one node (LMDB, or a store nobody shares) publishing does nothing.
 *
 * A note is a shortcut, never the truth: whoever acts on one reads the
 * store, and a node also reads again every few seconds (the challenges
 * still pending) and whenever notes may have been lost (a new listening
 * connection), so a lost note only delays. Loop thread only, but for
 * cluster_publish, which a write job's txn_work calls.
 */
#ifndef AUTHD_CLUSTER_H
#define AUTHD_CLUSTER_H

#include <mp.h>
#include <stdbool.h>
#include <stdint.h>
#include <store.h>
#include <util.h>

struct lws_context;

enum cluster_kind {
	CLUSTER_CHALLENGE = 'C', /* a new challenge for the account's devices */
	CLUSTER_WITHDRAW = 'W',	 /* a challenge ended: its copies are hidden */
	CLUSTER_ANSWERED = 'A',	 /* a login's challenge was answered: its pages look */
	CLUSTER_REVOKED = 'R',	 /* a device was removed: its channels close */
};

struct cluster_event {
	enum cluster_kind kind;
	uint8_t account_id[AUTHD_ID_LEN];
	/* CLUSTER_CHALLENGE, CLUSTER_WITHDRAW: the challenge; CLUSTER_REVOKED:
	 * the device */
	uint8_t id[AUTHD_ID_LEN];
	/* CLUSTER_ANSWERED */
	uint8_t login_hash[AUTHD_HASH_LEN];
	/* CLUSTER_WITHDRAW: why, and the device whose answer ended it (its
	 * own copy is not withdrawn), if any */
	enum mp_withdraw_reason reason;
	bool has_except;
	uint8_t except[AUTHD_ID_LEN];
};

/* Tells the other nodes about e once t commits (t is a write job's).
 * 0 or STORE_E_*. */
int cluster_publish(struct store_txn *t, const struct cluster_event *e);

/* Encodes e as a note (at most STORE_NOTE_MAX bytes with its NUL) from
 * node `node`; decodes one, false when it is not a well-formed note. */
void cluster_note_encode(const struct cluster_event *e, uint64_t node, char *out, size_t size);
bool cluster_note_decode(const char *note, uint64_t *node, struct cluster_event *e);

/* The store's notified callback: acts on another node's note, or (NULL)
 * reads again everything a lost note would have said. */
void cluster_notified(const char *note);

/* Starts the periodic read of the challenges still pending (only when the
 * store is shared), and cancels it before the context goes. */
void cluster_start(struct lws_context *ctx);
void cluster_stop(void);

#endif
