/*
 * The renewal scheduler: every [billing] renewal_every seconds one pass
 * over the products with an expiry near or past (store_products_due), in
 * slices of a write job each. For each product billing_renewal_next says
 * what comes next: a product that renews by itself gets its renewal
 * ordered 14 days before expiry and paid from the prepaid balance when it
 * covers it; an expiry passed unpaid ([billing] block_after days) blocks
 * the product; a block held [billing] terminate_after days ends it. The
 * organization's billing contacts get an email with each step.
 *
 * Once per cluster: each slice takes a cluster lock (store_cluster_lock)
 * and a node that finds it taken leaves the pass to the one that holds
 * it; and each step is written with the mark that makes it done (the
 * expiry a renewal was ordered for, the time of the block), in the job
 * that decides it, so that two passes that meet still take each step once.
 */
#ifndef AUTHD_RENEWAL_H
#define AUTHD_RENEWAL_H

#include "config.h"

#include <stdbool.h>
#include <stdint.h>

struct lws_context;

struct renewal_stats {
	unsigned long walked;	  /* products looked at */
	unsigned long ordered;	  /* renewals ordered, left to pay */
	unsigned long renewed;	  /* renewals ordered and paid from the balance */
	unsigned long blocked;	  /* products blocked */
	unsigned long terminated; /* products ended */
	unsigned long slices;	  /* write jobs */
	bool elsewhere;		  /* another node holds the pass */
	int store_rc;		  /* 0, or the store error that stopped the pass */
	int64_t ms;		  /* how long it took, in real time */
};

/* Takes [billing] renewal_every, block_after, terminate_after; at start. */
void renewal_setup(const struct authd_config *c);

/* Starts the periodic passes on the loop (once the store runs), the
 * first soon after start; renewal_stop cancels them. */
void renewal_start(struct lws_context *ctx);
void renewal_stop(void);

/*
 * Runs a pass now: done(arg, stats) on the loop when it ends. false (and
 * no call) when a pass of this node runs already. Loop thread.
 */
bool renewal_pass(void (*done)(void *arg, const struct renewal_stats *st), void *arg);

#endif
