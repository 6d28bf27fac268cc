/*
 * The outbox's shell: queueing a message in the write that causes it, and
 * delivering what is due. A write job calls outbox_queue() in its
 * txn_work, so the message is committed with the change or not at all.
 * The loop claims due messages in a write job (a lease: a node that dies
 * mid-delivery only delays a message), hands them to one delivery thread
 * (deliver.h), and settles each outcome in another write job: sent once,
 * tried again after a backoff, or failed for good (core/outbox.c decides).
 * On PostgreSQL every node delivers, each message claimed by one.
 */
#ifndef AUTHD_OUTBOX_H
#define AUTHD_OUTBOX_H

#include <core.h>
#include <store.h>

#include "config.h"
#include "templates.h"

struct lws_context;

/* Loads the templates and sets up the transports. 0, or -1 (logged).
 * Main thread, before any job runs. */
int outbox_setup(const struct authd_config *c);
/* Starts the delivery thread and the loop's timer. 0 or -1. */
int outbox_start(struct lws_context *ctx);
/* Stops claiming, lets the delivery under way finish, and queues the
 * settling of every claimed message (delivered or handed back) while the
 * store still runs. Loop thread, before the store stops. */
void outbox_stop(void);
/* Frees what outbox_setup made. */
void outbox_release(void);

/* A message to queue. */
struct outbox_item {
	enum outbox_channel channel;
	const uint8_t *account_id; /* whose; NULL: nobody's */
	const char *to;		   /* an email address or an E.164 number */
	const char *template_name; /* templates.h */
	const char *lang;	   /* NULL: English */
	const struct template_var *vars;
	size_t nvars;
	int64_t now;
};

/*
 * Renders, seals and files a message in txn (a write job's txn_work).
 * Returns 0, a STORE_E_* from the store, or STORE_E_IO when the template
 * is missing, the text does not fit or the recipient is not one line.
 * Any thread that runs txn_work.
 */
int outbox_queue(struct store_txn *txn, const struct outbox_item *it);

/* Claims due messages now rather than at the next poll when a write queued
 * one since the last call (the server's heartbeat calls it). Loop thread. */
void outbox_beat(void);

/* What this node delivered since start (the test hooks' stats). */
struct outbox_counters {
	unsigned long claimed, delivered, retried, failed;
	unsigned long not_held; /* sealed with a generation this node lacks: left for another */
};
void outbox_counters(struct outbox_counters *c);

#endif
