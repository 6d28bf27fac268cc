/*
 * Key rotation's loop side (rotation.h): the store's generation read
 * every few seconds, the census, and the reseal pass, a chain of write
 * jobs of RESEAL_SLICE records each, so that no commit holds the writer
 * for long.
 */
#include "rotation.h"

#include "http.h" /* srv */

#include <log.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define RESEAL_SLICE 256
#define CENSUS_SLICE 2048

/* --- the store's generation ------------------------------------------------------------ */

static lws_sorted_usec_list_t timer, census_timer;
static struct lws_context *rot_ctx;
static bool polling; /* a poll is under way */
/* This node's last report in the store: a poll writes one only when it
 * says something new or the last one ages (a read otherwise: no commit,
 * no sync, every 5 s on an idle server). */
#define REPORT_EVERY_S 20
static uint8_t reported_sealing;
static int64_t reported_at, reported_mono_ms;

struct poll_job {
	struct job job;
	uint64_t generation, fingerprint;
	bool report;	 /* a write job that also reports */
	uint8_t sealing; /* what this node seals with, to report */
	int64_t now;
};

static int poll_txn(struct job *job, struct store_txn *txn)
{
	struct poll_job *j = (struct poll_job *)job;
	char name[sizeof(ROTATION_NODE_PREFIX) + sizeof(srv.cfg.node_id)];
	int rc;

	snprintf(name, sizeof(name), "%s%s", ROTATION_NODE_PREFIX, srv.cfg.node_id);
	if ((rc = store_setting_get(txn, ROTATION_SETTING, &j->generation)) != 0 ||
	    (rc = store_setting_get(txn, ROTATION_FINGERPRINT, &j->fingerprint)) != 0 || !j->report)
		return rc;
	return store_setting_put(txn, name, (uint64_t)j->now << 8 | j->sealing);
}

static void poll_done(struct job *job)
{
	struct poll_job *j = (struct poll_job *)job;

	if (job->store_rc == 0 && j->report) {
		reported_sealing = j->sealing;
		reported_at = j->now;
		reported_mono_ms = authd_mono_ms();
	}
	if (job->store_rc == 0 && j->generation <= KEYS_GEN_MAX)
		keys_want((uint8_t)j->generation, j->fingerprint);
	else if (job->store_rc == 0)
		log_err("the store's key generation %llu is not one (1 to 255): ignored",
			(unsigned long long)j->generation);
	polling = false;
	free(j);
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	struct poll_job *j;

	(void)sul;
	if (!polling && (j = calloc(1, sizeof(*j))) != NULL) {
		polling = true;
		j->now = authd_now();
		j->sealing = keys_seals()->totp.current;
		/* Due when it changed, or aged by either clock (the test clock
		 * jumps; the retire check reads the report's time). */
		j->report = reported_mono_ms == 0 || j->sealing != reported_sealing ||
			    authd_mono_ms() - reported_mono_ms >= REPORT_EVERY_S * 1000 ||
			    j->now - reported_at >= REPORT_EVERY_S;
		j->job.txn_work = poll_txn;
		j->job.done = poll_done;
		if (j->report)
			store_write(&j->job);
		else
			store_read(&j->job);
	}
	lws_sul_schedule(rot_ctx, 0, &timer, on_timer, ROTATION_POLL_S * LWS_US_PER_SEC);
}

int rotation_setup(void)
{
	uint64_t g = 0, fp = 0;

	if (store_setting_read(ROTATION_SETTING, &g) != 0 ||
	    store_setting_read(ROTATION_FINGERPRINT, &fp) != 0 || g > KEYS_GEN_MAX) {
		log_err("cannot read which key generation to seal with from the store");
		return -1;
	}
	keys_want((uint8_t)g, fp);
	return 0;
}

void rotation_start(struct lws_context *ctx)
{
	rot_ctx = ctx;
	/* The first report at once: a retire elsewhere must see this node. */
	lws_sul_schedule(ctx, 0, &timer, on_timer, 1);
}

void rotation_stop(void)
{
	if (rot_ctx) {
		lws_sul_cancel(&timer);
		lws_sul_cancel(&census_timer);
	}
	rot_ctx = NULL;
}

/* --- what a value is bound to, and its ring ----------------------------------------------- */

static const struct core_keyring *ring_of(const struct keys_seals *k, enum store_seal_kind kind)
{
	return kind == STORE_SEAL_OUTBOX ? &k->outbox
	       : kind == STORE_SEAL_DOC	 ? &k->documents
					 : &k->totp;
}

/* The aad each kind is sealed with (keys.h's callers): the account; the
 * account and the device; the message; the case. */
static size_t aad_of(const struct store_seal *s, uint8_t aad[2 * AUTHD_ID_LEN])
{
	if (s->kind == STORE_SEAL_DEVICE) {
		memcpy(aad, s->owner, AUTHD_ID_LEN);
		memcpy(aad + AUTHD_ID_LEN, s->id, AUTHD_ID_LEN);
		return 2 * AUTHD_ID_LEN;
	}
	memcpy(aad, s->id, AUTHD_ID_LEN);
	return AUTHD_ID_LEN;
}

/* --- the census ---------------------------------------------------------------------- */

static struct rotation_census_status census; /* loop thread only */
static struct rotation_census partial;	     /* the one under way */
static struct store_seal_pos census_pos;

struct census_job {
	struct job job;
	const struct keys_seals *keys;
	struct store_seal_pos from, pos;
	struct rotation_census *counts; /* this slice's */
};

static int count_one(void *arg, struct store_seal *s)
{
	struct census_job *j = arg;
	uint8_t g = core_seal_generation(s->sealed, s->len);

	j->counts->by_gen[g][s->kind]++;
	j->counts->total++;
	if (!core_seal_held(ring_of(j->keys, s->kind), s->sealed, s->len))
		j->counts->not_held++;
	return 0;
}

static int census_txn(struct job *job, struct store_txn *txn)
{
	struct census_job *j = (struct census_job *)job;

	memset(j->counts, 0, sizeof(*j->counts));
	j->pos = j->from; /* the job may run again */
	return store_seals_walk(txn, &j->pos, CENSUS_SLICE, count_one, j);
}

static void census_next(lws_sorted_usec_list_t *sul);

static void census_done(struct job *job)
{
	struct census_job *j = (struct census_job *)job;

	if (job->store_rc != 0) {
		census.running = false;
		census.store_rc = job->store_rc;
		census.finished_at = authd_now();
		log_err("key census stopped: store error %d", job->store_rc);
	} else {
		for (unsigned g = 0; g < SEAL_GENERATIONS; g++)
			for (int k = 0; k < STORE_SEAL__COUNT; k++)
				partial.by_gen[g][k] += j->counts->by_gen[g][k];
		partial.total += j->counts->total;
		partial.not_held += j->counts->not_held;
		census_pos = j->pos;
		if (census_pos.done) {
			census.result = partial;
			census.running = false;
			census.finished_at = authd_now();
		} else if (rot_ctx) {
			/* The next slice after the loop's turn: on LMDB a read runs
			 * on the loop itself. */
			lws_sul_schedule(rot_ctx, 0, &census_timer, census_next, 1);
		} else {
			census.running = false;
		}
	}
	free(j->counts);
	free(j);
}

static void census_next(lws_sorted_usec_list_t *sul)
{
	struct census_job *j = calloc(1, sizeof(*j));

	(void)sul;
	if (j == NULL || (j->counts = malloc(sizeof(*j->counts))) == NULL) {
		free(j);
		census.running = false;
		census.store_rc = STORE_E_IO;
		census.finished_at = authd_now();
		return;
	}
	j->keys = keys_seals();
	j->from = census_pos;
	j->job.txn_work = census_txn;
	j->job.done = census_done;
	store_read(&j->job);
}

bool rotation_census_start(void)
{
	if (census.running)
		return false;
	census.running = census.ever = true;
	census.store_rc = 0;
	census.started_at = authd_now();
	census.finished_at = 0;
	memset(&partial, 0, sizeof(partial));
	memset(&census_pos, 0, sizeof(census_pos));
	census_next(NULL);
	return true;
}

void rotation_census_status(struct rotation_census_status *st)
{
	*st = census;
}

/* --- the reseal pass ----------------------------------------------------------------- */

static struct rotation_reseal_status status; /* loop thread only */
static struct store_seal_pos reseal_pos;     /* loop thread only */

struct reseal_job {
	struct job job;
	const struct keys_seals *keys; /* taken when the slice starts */
	struct store_seal_pos from, to;
	uint64_t seen, resealed, not_opened; /* this slice's (the write may run again) */
};

static int reseal_one(void *arg, struct store_seal *s)
{
	struct reseal_job *j = arg;
	uint8_t aad[2 * AUTHD_ID_LEN];
	size_t aad_len = aad_of(s, aad);
	int rc = keys_reseal(ring_of(j->keys, s->kind), aad, aad_len, s->sealed, s->len);

	j->seen++;
	if (rc < 0) {
		/* Altered, or a generation this node lacks: left as it is. */
		j->not_opened++;
		return 0;
	}
	j->resealed += (uint64_t)rc;
	return rc;
}

static int reseal_txn(struct job *job, struct store_txn *txn)
{
	struct reseal_job *j = (struct reseal_job *)job;

	j->to = j->from;
	j->seen = j->resealed = j->not_opened = 0;
	return store_seals_walk(txn, &j->to, RESEAL_SLICE, reseal_one, j);
}

static void reseal_next(void);

static void reseal_done(struct job *job)
{
	struct reseal_job *j = (struct reseal_job *)job;

	if (job->store_rc != 0) {
		status.store_rc = job->store_rc;
		status.running = false;
		status.finished_at = authd_now();
		log_err("reseal stopped: store error %d after %llu values", job->store_rc,
			(unsigned long long)status.seen);
		free(j);
		return;
	}
	status.seen += j->seen;
	status.resealed += j->resealed;
	status.not_opened += j->not_opened;
	reseal_pos = j->to;
	free(j);
	if (!reseal_pos.done) {
		reseal_next();
		return;
	}
	status.running = false;
	status.finished_at = authd_now();
	log_info("reseal done: generation=%u values=%llu resealed=%llu not_opened=%llu",
		 status.generation, (unsigned long long)status.seen,
		 (unsigned long long)status.resealed, (unsigned long long)status.not_opened);
}

static void reseal_next(void)
{
	struct reseal_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		status.running = false;
		status.store_rc = STORE_E_IO;
		status.finished_at = authd_now();
		log_err("reseal stopped: out of memory");
		return;
	}
	j->keys = keys_seals();
	j->from = reseal_pos;
	j->job.txn_work = reseal_txn;
	j->job.done = reseal_done;
	store_write(&j->job);
}

bool rotation_reseal_start(void)
{
	if (status.running)
		return false;
	memset(&status, 0, sizeof(status));
	memset(&reseal_pos, 0, sizeof(reseal_pos));
	status.running = status.ever = true;
	status.generation = keys_seals()->totp.current;
	status.started_at = authd_now();
	log_info("reseal started: generation=%u", status.generation);
	reseal_next();
	return true;
}

void rotation_reseal_status(struct rotation_reseal_status *st)
{
	*st = status;
}

/* --- reseal on touch --------------------------------------------------------------------- */

void rotation_touch_totp(struct totp_rec *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	const struct core_keyring *r = &keys_seals()->totp;

	/* A seal that does not open stays: the check that reads it says so. */
	if (t->seed_len)
		(void)keys_reseal(r, account_id, AUTHD_ID_LEN, t->seed, t->seed_len);
	if (t->pending_seed_len)
		(void)keys_reseal(r, account_id, AUTHD_ID_LEN, t->pending_seed,
				  t->pending_seed_len);
}

void rotation_touch_device(struct push_device *d)
{
	uint8_t aad[2 * AUTHD_ID_LEN];

	memcpy(aad, d->account_id, AUTHD_ID_LEN);
	memcpy(aad + AUTHD_ID_LEN, d->id, AUTHD_ID_LEN);
	if (d->seed_len)
		(void)keys_reseal(&keys_seals()->totp, aad, sizeof(aad), d->seed, d->seed_len);
}
