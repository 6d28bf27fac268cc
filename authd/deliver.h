/*
 * The outbox's transports, run on its delivery thread: SMTP through
 * libcurl ([smtp] url: smtp:// with optional STARTTLS, or smtps://; AUTH
 * when a username is set), an HTTP webhook for SMS ([sms] url: a JSON POST),
 * and, for a channel with nothing configured, the spool folder: one file a
 * message, named by its id, so that delivering it again rewrites the same
 * file. Never on the loop: each call may wait on the network.
 */
#ifndef AUTHD_DELIVER_H
#define AUTHD_DELIVER_H

#include <core.h>

#include "config.h"

/* A message as the delivery thread opened it. */
struct deliver_msg {
	char id[2 * AUTHD_ID_LEN + 1]; /* hex */
	enum outbox_channel channel;
	int64_t created_at;
	const char *to, *subject, *body;
};

/* Takes the transports' settings (c outlives the deliveries) and makes the
 * spool folder when a channel uses it. 0, or -1 (logged). Main thread. */
int deliver_setup(const struct authd_config *c);
/* Frees the transports' handles. */
void deliver_release(void);

/* Delivers m on its channel. Writes a short reason (no secret, no text of
 * the message) into why on failure. Delivery thread only. */
enum outbox_outcome deliver(const struct deliver_msg *m, char *why, size_t why_size);

/* Which transport a channel uses: "smtp", "webhook" or "spool". */
const char *deliver_transport(enum outbox_channel ch);

#endif
