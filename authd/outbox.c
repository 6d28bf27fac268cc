/*
 * The outbox's shell (outbox.h): queueing in a write's transaction, the
 * loop's claims and settlements, and the delivery thread.
 *
 * A message's text is "recipient \n subject \n body", sealed under the
 * outbox key with the message id as associated data; it is opened only on
 * the delivery thread, into a buffer wiped after use.
 *
 * The loop claims at most CLAIM_MAX messages at a time (one claim job in
 * flight), every [outbox] poll_ms and soon after a write queued one. The
 * delivery thread takes them in order; one whose lease has too little time
 * left for a delivery is handed back rather than risk a second node
 * claiming it while it is sent.
 */
#include "outbox.h"

#include "async.h"
#include "deliver.h"
#include "keys.h"

#include <log.h>
#include <util.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_MAX   32
#define SUBJECT_MAX 256
#define TO_MAX	    254
/* A delivery's longest wait (30 s) and as long again for its settlement:
 * with less lease left, a message is handed back rather than sent. */
#define LEASE_MARGIN_S 60

static unsigned poll_ms;
static struct lws_context *ctx;
static lws_sorted_usec_list_t timer;
static atomic_bool queued; /* a write queued a message since the last beat */

/* Loop thread only. */
static bool claiming, stopping, running;
static unsigned in_flight; /* claimed, not yet settled */
static struct outbox_counters counters;

struct delivery {
	struct job job;
	struct delivery *next;
	struct outbox_msg msg;	   /* as claimed */
	struct outbox_msg settled; /* what the settlement writes (per run) */
	int64_t claimed_until;
	int64_t settle_now;
	enum outbox_outcome outcome; /* 0: handed back undelivered */
	bool lost;		     /* its claim had ended: not settled */
	char why[160];
};

/* The delivery thread's queue. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct delivery *q_head, *q_tail;
static bool q_stop;
static pthread_t thread;

static void delivery_free(struct delivery *d)
{
	authd_freezero(d, sizeof(*d));
}

/* --- queueing (any thread running txn_work) ---------------------------------------- */

static bool one_line(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int outbox_queue(struct store_txn *txn, const struct outbox_item *it)
{
	struct outbox_msg *m = calloc(1, sizeof(*m));
	char *body = malloc(OUTBOX_TEXT_MAX), *plain = malloc(OUTBOX_TEXT_MAX);
	char subject[SUBJECT_MAX];
	uint8_t nonce[SEAL_NONCE];
	int len, rc = STORE_E_IO;

	if (m == NULL || body == NULL || plain == NULL)
		goto out;
	if (!one_line(it->to, TO_MAX)) {
		log_err("outbox: a recipient that is not one line of at most %d bytes", TO_MAX);
		goto out;
	}
	if (template_render(it->lang, it->template_name, it->vars, it->nvars, subject,
			    sizeof(subject), body, OUTBOX_TEXT_MAX) != 0) {
		log_err("outbox: template %.64s is missing or renders too long", it->template_name);
		goto out;
	}
	len = snprintf(plain, OUTBOX_TEXT_MAX, "%s\n%s\n%s", it->to, subject, body);
	if (len < 0 || len >= OUTBOX_TEXT_MAX) {
		log_err("outbox: message %.64s too long", it->template_name);
		goto out;
	}
	/* Time first, then 64 random bits: LMDB files each new message at
	 * the end of the outbox's tree, on a page the commit's other messages
	 * share (random ids cost every message a page of its own to write). */
	{
		struct timespec ts;
		uint64_t us;

		clock_gettime(CLOCK_REALTIME, &ts);
		us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		for (int i = 0; i < 8; i++)
			m->id[i] = (uint8_t)(us >> (56 - 8 * i));
		authd_random(m->id + 8, sizeof(m->id) - 8);
	}
	authd_random(nonce, sizeof(nonce));
	if (it->account_id)
		memcpy(m->account_id, it->account_id, AUTHD_ID_LEN);
	m->channel = (uint8_t)it->channel;
	m->state = OUTBOX_PENDING;
	m->created_at = it->now;
	m->next_at = it->now;
	if (core_seal(&keys_seals()->outbox, nonce, m->id, sizeof(m->id), (const uint8_t *)plain,
		      (size_t)len, m->sealed) != 0)
		goto out;
	m->sealed_len = (uint16_t)(len + SEAL_OVERHEAD);
	if ((rc = store_outbox_add(txn, m)) == 0)
		atomic_store(&queued, true);
out:
	if (body)
		authd_freezero(body, OUTBOX_TEXT_MAX);
	if (plain)
		authd_freezero(plain, OUTBOX_TEXT_MAX);
	OPENSSL_cleanse(subject, sizeof(subject));
	if (m)
		authd_freezero(m, sizeof(*m));
	return rc;
}

/* --- the delivery thread ------------------------------------------------------------ */

/* Opens d's text and delivers it; sets d->outcome and d->why. */
static void deliver_one(struct delivery *d)
{
	char *plain = malloc(OUTBOX_TEXT_MAX + 1);
	const struct keys_seals *seals;
	const struct core_keyring *ring;
	uint8_t gen;
	char *subject, *body;
	struct deliver_msg dm;
	long n;

	d->outcome = OUTBOX_TRY_AGAIN;
	if (plain == NULL) {
		snprintf(d->why, sizeof(d->why), "out of memory");
		return;
	}
	seals = keys_seals();
	ring = &seals->outbox;
	gen = core_seal_generation(d->msg.sealed, d->msg.sealed_len);
	/* A generation not held, or held under another secret than the one
	 * the store names (this node's file got its own `keys add`). */
	if (d->msg.sealed_len <= OUTBOX_TEXT_MAX + SEAL_OVERHEAD &&
	    (core_seal_not_held(ring, d->msg.sealed, d->msg.sealed_len) ||
	     (gen != 0 && gen == seals->wanted && ring->current != gen))) {
		/* Sealed by a node whose key file has a generation this one's
		 * lacks yet: it opens here after a reload, or on that node. No
		 * try was made, so none is counted. */
		d->outcome = OUTBOX_NOT_HELD;
		snprintf(d->why, sizeof(d->why), "sealed with key generation %u, not held here",
			 gen);
		goto out;
	}
	n = d->msg.sealed_len > OUTBOX_TEXT_MAX + SEAL_OVERHEAD
		? -1
		: core_unseal(ring, d->msg.id, sizeof(d->msg.id), d->msg.sealed, d->msg.sealed_len,
			      (uint8_t *)plain);
	if (n < 0) {
		/* Not this key's, or altered: no later try opens it. */
		d->outcome = OUTBOX_REJECTED;
		snprintf(d->why, sizeof(d->why), "the sealed text does not open");
		goto out;
	}
	plain[n] = '\0';
	subject = strchr(plain, '\n');
	body = subject ? strchr(subject + 1, '\n') : NULL;
	if (body == NULL || memchr(plain, '\0', (size_t)n) != NULL) {
		d->outcome = OUTBOX_REJECTED;
		snprintf(d->why, sizeof(d->why), "the text is not recipient, subject, body");
		goto out;
	}
	*subject++ = '\0';
	*body++ = '\0';
	authd_hex(d->msg.id, sizeof(d->msg.id), dm.id);
	dm.channel = (enum outbox_channel)d->msg.channel;
	dm.created_at = d->msg.created_at;
	dm.to = plain;
	dm.subject = subject;
	dm.body = body;
	d->outcome = deliver(&dm, d->why, sizeof(d->why));
out:
	authd_freezero(plain, OUTBOX_TEXT_MAX + 1);
}

static void *thread_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct delivery *d;

		pthread_mutex_lock(&lock);
		while (q_head == NULL && !q_stop)
			pthread_cond_wait(&cond, &lock);
		if (q_stop) {
			pthread_mutex_unlock(&lock);
			break;
		}
		d = q_head;
		q_head = d->next;
		if (q_head == NULL)
			q_tail = NULL;
		pthread_mutex_unlock(&lock);
		d->next = NULL;
		/* Too little of the lease left: hand it back (outcome 0). */
		if (authd_now() + LEASE_MARGIN_S <= d->claimed_until)
			deliver_one(d);
		async_complete(&d->job);
	}
	return NULL;
}

static void thread_push(struct delivery *d)
{
	pthread_mutex_lock(&lock);
	d->next = NULL;
	if (q_tail)
		q_tail->next = d;
	else
		q_head = d;
	q_tail = d;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* --- settling (loop) ------------------------------------------------------------------ */

static void claim(void);

/* Delivered or handed back, waiting for the next settlement job: one job
 * settles every outcome that came back meanwhile (a job each would cost
 * the writer as much as the logins that queued them). */
static struct delivery *to_settle, **to_settle_tail = &to_settle;
static bool settling;

struct settle_job {
	struct job job;
	struct delivery *list;
};

static int settle_one(struct delivery *d, struct store_txn *txn)
{
	int rc;

	d->settled = d->msg;
	d->lost = false;
	if (d->outcome == 0)
		core_outbox_release(&d->settled, d->settle_now);
	else
		core_outbox_settle(&d->settled, d->outcome, d->settle_now);
	rc = store_outbox_settle(txn, &d->settled, d->claimed_until);
	if (rc == STORE_E_NOTFOUND) {
		d->lost = true; /* its lease ran out and another claim took it */
		rc = 0;
	}
	return rc;
}

static int settle_txn(struct job *job, struct store_txn *txn)
{
	int rc = 0;

	for (struct delivery *d = ((struct settle_job *)job)->list; d && rc == 0; d = d->next)
		rc = settle_one(d, txn);
	return rc;
}

/* A message this node cannot open comes back every OUTBOX_NOT_HELD_S
 * until a node that can takes it: the first of them in a minute is logged,
 * the rest only counted (authd_outbox_messages_total{state="not_held"}). */
static void not_held_warn(const char *ch, const char *id, const char *why, int64_t now)
{
	static int64_t last;
	static unsigned long at_last;

	if (last != 0 && now - last < 60)
		return;
	log_warn("outbox: %s %s left for another node: %s (%lu such since the last line; "
		 "give this node the key file that holds it, then reload)",
		 ch, id, why, counters.not_held - at_last);
	last = now;
	at_last = counters.not_held;
}

/* Counts and logs a settlement, and frees d. */
static void settled(struct delivery *d, int store_rc)
{
	char id[2 * AUTHD_ID_LEN + 1];
	const char *ch = d->msg.channel == OUTBOX_EMAIL ? "email" : "sms";

	authd_hex(d->msg.id, sizeof(d->msg.id), id);
	in_flight--;
	if (store_rc != 0) {
		/* The claim stands: the message is due again when its lease ends. */
		log_warn("outbox: %s %s not settled: store error %d", ch, id, store_rc);
	} else if (d->lost) {
		log_warn("outbox: %s %s: its claim ended before it was settled", ch, id);
	} else if (d->outcome == OUTBOX_NOT_HELD && d->settled.state != OUTBOX_FAILED) {
		counters.not_held++;
		not_held_warn(ch, id, d->why, d->settle_now);
	} else if (d->outcome == OUTBOX_DELIVERED) {
		counters.delivered++;
		log_info("outbox: %s %s sent by %s (attempt %u)", ch, id,
			 deliver_transport((enum outbox_channel)d->msg.channel), d->msg.attempts);
	} else if (d->outcome != 0 && d->settled.state == OUTBOX_FAILED) {
		counters.failed++;
		log_err("outbox: %s %s failed for good after %u attempts: %s", ch, id,
			d->msg.attempts, d->why);
	} else if (d->outcome != 0) {
		counters.retried++;
		log_warn("outbox: %s %s attempt %u failed, next in %lld s: %s", ch, id,
			 d->msg.attempts, (long long)(d->settled.next_at - d->settle_now), d->why);
	}
	delivery_free(d);
}

static void flush_settlements(bool force);

static void settle_done(struct job *job)
{
	struct settle_job *sj = (struct settle_job *)job;

	while (sj->list) {
		struct delivery *d = sj->list;

		sj->list = d->next;
		settled(d, job->store_rc);
	}
	free(sj);
	settling = false;
	flush_settlements(false);
	if (!stopping)
		claim();
}

/* Starts a settlement job for what is waiting, unless one is under way
 * (force: even then, when stopping, so that nothing delivered is left
 * unsettled when the store stops). */
static void flush_settlements(bool force)
{
	struct settle_job *sj;

	if (to_settle == NULL || (settling && !force))
		return;
	if ((sj = calloc(1, sizeof(*sj))) == NULL)
		return; /* the next outcome or the timer tries again */
	sj->list = to_settle;
	to_settle = NULL;
	to_settle_tail = &to_settle;
	settling = true;
	sj->job.txn_work = settle_txn;
	sj->job.done = settle_done;
	/* It writes the rows it decides on (the claims it names). */
	sj->job.decides_on_own_writes = true;
	store_write(&sj->job);
}

/* Back from the delivery thread (or handed back): to be settled. */
static void delivered_done(struct job *job)
{
	struct delivery *d = (struct delivery *)job;

	d->settle_now = authd_now();
	d->next = NULL;
	*to_settle_tail = d;
	to_settle_tail = &d->next;
	flush_settlements(false);
}

/* --- claiming (loop) ------------------------------------------------------------------ */

struct claim_job {
	struct job job;
	int64_t now;
	size_t limit, n;
	struct delivery *got; /* this run's claims, in order */
	struct delivery **tail;
};

static void drop_claims(struct claim_job *c)
{
	while (c->got) {
		struct delivery *d = c->got;

		c->got = d->next;
		delivery_free(d);
	}
	c->tail = &c->got;
	c->n = 0;
}

static int claimed(void *arg, const struct outbox_msg *m)
{
	struct claim_job *c = arg;
	struct delivery *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1; /* the claim stands: due again at its lease's end */
	d->msg = *m;
	d->claimed_until = m->next_at;
	d->job.done = delivered_done;
	*c->tail = d;
	c->tail = &d->next;
	c->n++;
	return 0;
}

static int claim_txn(struct job *job, struct store_txn *txn)
{
	struct claim_job *c = (struct claim_job *)job;

	drop_claims(c); /* an earlier run's */
	return store_outbox_claim(txn, c->now, c->now + OUTBOX_LEASE_S, c->limit, claimed, c);
}

static void claim_done(struct job *job)
{
	struct claim_job *c = (struct claim_job *)job;
	/* A full claim may have left more due; a failed one waits for the
	 * timer (a store that is down would otherwise be asked in a loop). */
	bool full = job->store_rc == 0 && c->n == c->limit;

	claiming = false;
	if (job->store_rc != 0) {
		log_warn("outbox: claiming due messages failed: store error %d", job->store_rc);
		drop_claims(c);
	}
	while (c->got) {
		struct delivery *d = c->got;

		c->got = d->next;
		in_flight++;
		counters.claimed++;
		if (stopping)
			delivered_done(&d->job); /* handed back at once */
		else
			thread_push(d);
	}
	free(c);
	if (full && !stopping)
		claim();
}

static void claim(void)
{
	struct claim_job *c;

	if (!running || stopping || claiming || in_flight >= CLAIM_MAX)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	claiming = true;
	c->now = authd_now();
	c->limit = CLAIM_MAX - in_flight;
	c->job.txn_work = claim_txn;
	c->job.done = claim_done;
	c->job.decides_on_own_writes = true;
	store_write(&c->job);
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	flush_settlements(false);
	claim();
	if (ctx && !stopping)
		lws_sul_schedule(ctx, 0, &timer, on_timer, (lws_usec_t)poll_ms * 1000);
}

void outbox_beat(void)
{
	if (atomic_exchange(&queued, false))
		claim();
}

/* --- lifecycle ------------------------------------------------------------------------- */

int outbox_setup(const struct authd_config *c)
{
	poll_ms = c->outbox_poll_ms;
	if (templates_load(c->templates_dir) != 0)
		return -1;
	return deliver_setup(c);
}

int outbox_start(struct lws_context *context)
{
	sigset_t all, old;
	bool started;

	q_stop = false;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&thread, NULL, thread_main, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		log_err("cannot start the outbox's delivery thread");
		return -1;
	}
	ctx = context;
	running = true;
	stopping = false;
	lws_sul_schedule(ctx, 0, &timer, on_timer, 1000);
	return 0;
}

void outbox_stop(void)
{
	struct delivery *left;

	if (!running)
		return;
	stopping = true;
	lws_sul_cancel(&timer);
	pthread_mutex_lock(&lock);
	q_stop = true;
	left = q_head;
	q_head = q_tail = NULL;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	/* Settle what the thread delivered (its jobs are waiting for the
	 * loop), and hand back what it did not reach, while the store runs. */
	async_drain();
	while (left) {
		struct delivery *d = left;

		left = d->next;
		d->outcome = 0;
		delivered_done(&d->job);
	}
	flush_settlements(true);
	running = false;
	ctx = NULL;
}

void outbox_release(void)
{
	deliver_release();
	templates_free();
}

void outbox_counters(struct outbox_counters *c)
{
	*c = counters;
}
