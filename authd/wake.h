/*
 * Waking a sleeping app: a content-free POST to the operator's wake-up
 * relay ([push] wake_url: the shape APNs and FCM relays take), naming only
 * the wake token the app gave over its channel (the `wake` message). The
 * challenge never travels there: the woken app connects and reads it over
 * its own channel. Posts leave from a thread of their own (libcurl), never
 * from the loop; a failed one is tried once more.
 */
#ifndef AUTHD_WAKE_H
#define AUTHD_WAKE_H

#include <stdbool.h>

/* Starts the poster when url is not empty; authorization (may be empty)
 * is sent as the Authorization header. 0, or -1 (logged). */
int wake_start(const char *url, const char *authorization);
/* Stops after the post under way, if any (within its timeout); what is
 * still queued is dropped. */
void wake_stop(void);
/* Whether a relay is configured. */
bool wake_enabled(void);

/* Queues a wake-up for token (copied). Any thread; never blocks. False
 * when none is configured or the queue is full (the app finds its
 * challenge when it next connects). */
bool wake_post(const char *token);

#endif
