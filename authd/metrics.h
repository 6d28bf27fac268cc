/*
 * What authd counts for Prometheus (GET /metrics): requests by route,
 * method and status with their latency, sign-in and second-factor
 * outcomes, and the store's and the outbox's counters. Loop thread only:
 * every counter here is written and read on the loop, so none needs a lock.
 */
#ifndef AUTHD_METRICS_H
#define AUTHD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* The route a request ended on, beyond the router's table (whose indexes
 * come first). */
#define METRICS_ROUTE_PAGE	(-2) /* a web page or its asset */
#define METRICS_ROUTE_UNMATCHED (-1) /* no route: 404, 405, or refused before routing */

/* Sizes the tables for n routes; 0 on success, -1 out of memory. Once,
 * before the loop starts. */
int metrics_init(size_t n_routes);
void metrics_free(void);

/* One answered request: its route (an index of the router's table, or
 * METRICS_ROUTE_*), its status and its time from headers to answer. */
void metrics_request(int route, int status, double seconds);

/* One sign-in decision: method ("password", "totp", "push", ...) and
 * outcome ("success", "failure", "sent", ...), both static strings (their
 * pointers are kept). At most METRICS_AUTH_MAX pairs are told apart; more go to
 * "other". */
#define METRICS_AUTH_MAX 64
void metrics_auth(const char *method, const char *outcome);

/* One refusal answered with the api_error e (an int, so that this header
 * needs no errors.h): every problem response counts, by its code. */
void metrics_refusal(int e);

/* What the store says when the text is made (read by the scrape's flow). */
struct metrics_store_view {
	bool store_read;		   /* false: the store did not answer */
	unsigned long long outbox_pending; /* messages not yet sent or given up */
	long long outbox_earliest;	   /* the earliest due among them; 0: none */
	long long now;
	unsigned key_sealing; /* the key generation this node seals with */
	bool key_missing;     /* the store's generation is one its key file lacks */
};

/* The exposition text (Prometheus text format 0.0.4), malloc'd (the
 * caller frees it); NULL when out of memory. */
char *metrics_text(const struct metrics_store_view *view, size_t *len);

#endif
