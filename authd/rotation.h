/*
 * Key rotation in the running server. The key file holds the generations
 * (keys.h); the store holds which one every node seals with ("seal
 * generation", set by authctl rotate-keys or activate-key), which each
 * node reads at start and every few seconds. A reseal pass seals every
 * stored value again with it, in short write jobs; values are also
 * resealed whenever their record is written anyway (a TOTP step). A
 * census counts what each generation still seals, so that one is retired
 * only when nothing needs it.
 */
#ifndef AUTHD_ROTATION_H
#define AUTHD_ROTATION_H

#include <core.h>
#include <push.h>
#include <stdbool.h>
#include <stdint.h>
#include <store.h>

#include "keys.h"

struct lws_context;

/* The store's settings (store_setting_*): the generation every node seals
 * with, its fingerprint (keys_fingerprint), when it was made so, and each
 * node's own report ("sealing:<node>": the time << 8 | the generation it
 * seals with), written when it changes and at least every 20 s. */
#define ROTATION_SETTING     "seal_generation"
#define ROTATION_FINGERPRINT "seal_fingerprint"
#define ROTATION_ACTIVATED   "seal_activated_at"
#define ROTATION_NODE_PREFIX "sealing:"
#define ROTATION_POLL_S	     5
/* A node not heard from for this long is gone: its report no longer counts. */
#define ROTATION_NODE_LIVE_S 60

/* Reads the store's generation now and seals with it (before serving):
 * 0, or -1 (logged) when the store cannot say. */
int rotation_setup(void);
/* Reads it again, and reports this node's, every ROTATION_POLL_S on the
 * loop; stop before the context goes. */
void rotation_start(struct lws_context *ctx);
void rotation_stop(void);

/* What the store's values are sealed with: per generation and kind, and
 * the values this node cannot open (a generation it lacks). */
struct rotation_census {
	uint64_t by_gen[SEAL_GENERATIONS][STORE_SEAL__COUNT];
	uint64_t total, not_held;
};

/*
 * The census runs as a chain of short read jobs (the loop turns between
 * them): started (true) unless one runs already (false). Its status and
 * its last complete result are kept until the next. Loop thread.
 */
bool rotation_census_start(void);
struct rotation_census_status {
	bool running, ever;
	int64_t started_at, finished_at;
	int store_rc;		       /* a failed slice's: no result */
	struct rotation_census result; /* the last complete one */
};
void rotation_census_status(struct rotation_census_status *st);

/* The reseal pass: started (true) unless one runs already (false). Loop. */
bool rotation_reseal_start(void);
struct rotation_reseal_status {
	bool running, ever;
	uint8_t generation; /* what it seals with */
	int64_t started_at, finished_at;
	uint64_t seen, resealed, not_opened; /* values */
	int store_rc;			     /* a failed slice's: the pass stopped */
};
void rotation_reseal_status(struct rotation_reseal_status *st);

/* Reseal on touch: seals t's seeds (account_id's) or d's seed again with
 * the current generation when an older one sealed them. Any thread. */
void rotation_touch_totp(struct totp_rec *t, const uint8_t account_id[AUTHD_ID_LEN]);
void rotation_touch_device(struct push_device *d);

#endif
