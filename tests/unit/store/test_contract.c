/* Unit tests for the job contract of store.h, on the engine
 * AUTHD_TEST_ENGINE names: single-use values are consumed exactly once
 * however many jobs race for them (a TOTP step, a backup code, a pending
 * login), a job that fails leaves nothing behind, a txn_work that runs
 * again (PostgreSQL retries lost races) has its effects once, a job reads
 * its own writes, and read jobs submitted together that say what they read
 * first (PostgreSQL fetches those reads in one round trip) each get their
 * own, whatever they read first in fact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdatomic.h>
#include <time.h>

#include "unit_store.h"

#define THREADS 8
#define ROUNDS	20

static const uint8_t owner[AUTHD_ID_LEN] = {0x71, 0x72, 0x73};
static atomic_int runs; /* runs of the racing txn_work, retries included */

static struct token_ref ref_of(int round)
{
	struct token_ref ref;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.account_id, owner, AUTHD_ID_LEN);
	ref.hash[0] = (uint8_t)round;
	ref.hash[31] = 0xee;
	return ref;
}

/* What one racing job is given and decides (overwritten on every run). */
struct race_arg {
	int round, thread;
	int won;
};

/* --- the races ----------------------------------------------------------------------- */

/* The TOTP check's pattern: a step is accepted only above the last one. */
static int totp_step_txn(struct store_txn *txn, void *arg)
{
	struct race_arg *a = arg;
	struct totp_rec t;
	int rc;

	atomic_fetch_add(&runs, 1);
	a->won = 0;
	if ((rc = store_totp_get(txn, owner, &t)) != 0)
		return rc;
	if (a->round + 1 <= t.last_step)
		return 0; /* a decision: this step is used */
	t.last_step = a->round + 1;
	if ((rc = store_totp_put(txn, owner, &t)) != 0)
		return rc;
	a->won = 1;
	return 0;
}

/* The backup-code check's pattern: a code is used once. */
static int backup_use_txn(struct store_txn *txn, void *arg)
{
	struct race_arg *a = arg;
	struct backup_rec b;
	int i = a->round % OTP_BACKUP_COUNT;
	int rc;

	atomic_fetch_add(&runs, 1);
	a->won = 0;
	if ((rc = store_backup_get(txn, owner, &b)) != 0)
		return rc;
	if (b.used_at[i] != 0)
		return 0;
	b.used_at[i] = 1000 + a->thread;
	if ((rc = store_backup_put(txn, owner, &b)) != 0)
		return rc;
	a->won = 1;
	return 0;
}

/* The second step's pattern: the pending login is taken once. */
static int login_take_txn(struct store_txn *txn, void *arg)
{
	struct race_arg *a = arg;
	struct token_ref ref = ref_of(a->round);
	struct login l;
	int rc;

	atomic_fetch_add(&runs, 1);
	a->won = 0;
	rc = store_login_get(txn, &ref, &l);
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0 || (rc = store_login_del(txn, &ref)) != 0)
		return rc;
	a->won = 1;
	return 0;
}

static int put_totp(struct store_txn *txn, void *arg)
{
	struct totp_rec t;

	(void)arg;
	memset(&t, 0, sizeof(t));
	t.enabled = true;
	t.digits = 6;
	t.period = 30;
	t.last_step = -1;
	t.seed_len = 40;
	memset(t.seed, 0x5a, t.seed_len);
	return store_totp_put(txn, owner, &t);
}

static int put_backup(struct store_txn *txn, void *arg)
{
	struct backup_rec b;

	(void)arg;
	memset(&b, 0, sizeof(b));
	b.created_at = 7;
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		memset(b.salt[i], i, OTP_BACKUP_SALT_LEN);
		memset(b.hash[i], 0x80 + i, OTP_BACKUP_HASH_LEN);
	}
	return store_backup_put(txn, owner, &b);
}

static int put_login(struct store_txn *txn, void *arg)
{
	const int *round = arg;
	struct token_ref ref = ref_of(*round);
	struct login l;

	memset(&l, 0, sizeof(l));
	memcpy(l.account_id, owner, AUTHD_ID_LEN);
	l.created_at = 1;
	l.expires_at = 1000;
	return store_login_put(txn, &ref, &l);
}

/* --- the racing threads ---------------------------------------------------------------- */

struct race {
	int (*txn)(struct store_txn *txn, void *arg);
	bool own; /* the jobs say decides_on_own_writes */
	pthread_barrier_t start, end;
	int won[ROUNDS][THREADS];
	int rc[ROUNDS][THREADS];
};

struct racer {
	struct race *race;
	int thread;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	for (int round = 0; round < ROUNDS; round++) {
		struct race_arg a = {round, r->thread, 0};

		pthread_barrier_wait(&r->race->start);
		r->race->rc[round][r->thread] = unit_run_own(r->race->txn, &a, 1, r->race->own);
		r->race->won[round][r->thread] = a.won;
		pthread_barrier_wait(&r->race->end);
	}
	return NULL;
}

/* Runs ROUNDS rounds of THREADS jobs of txn at once, `before` writing the
 * round's state first (NULL: nothing), and checks that every job
 * succeeded and exactly one per round won. Returns the winners' threads. */
static bool race_own; /* the next race()'s jobs say decides_on_own_writes */

static void race(int (*txn)(struct store_txn *txn, void *arg),
		 int (*before)(struct store_txn *txn, void *arg), int winner[ROUNDS],
		 const char *what)
{
	static struct race r;
	pthread_t threads[THREADS];
	struct racer racers[THREADS];
	int jobs = 0;

	memset(&r, 0, sizeof(r));
	r.txn = txn;
	r.own = race_own;
	atomic_store(&runs, 0);
	pthread_barrier_init(&r.start, NULL, THREADS + 1);
	pthread_barrier_init(&r.end, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++) {
		racers[i] = (struct racer){&r, i};
		assert_int_equal(pthread_create(&threads[i], NULL, racer_main, &racers[i]), 0);
	}
	for (int round = 0; round < ROUNDS; round++) {
		if (before)
			assert_int_equal(unit_write(before, &round), 0);
		pthread_barrier_wait(&r.start);
		pthread_barrier_wait(&r.end);
		int won = 0;

		for (int i = 0; i < THREADS; i++) {
			assert_int_equal(r.rc[round][i], 0);
			won += r.won[round][i];
			if (r.won[round][i])
				winner[round] = i;
		}
		assert_int_equal(won, 1);
		jobs += THREADS;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&r.start);
	pthread_barrier_destroy(&r.end);
	printf("# %s: %d jobs, %d runs of txn_work (%d retries)\n", what, jobs, atomic_load(&runs),
	       atomic_load(&runs) - jobs);
	race_own = false; /* each test says it again */
}

static void test_totp_step_once(void **state)
{
	int winner[ROUNDS];
	struct totp_rec t;

	race_own = *state != NULL;
	assert_int_equal(unit_write(put_totp, NULL), 0);
	race(totp_step_txn, NULL, winner, "totp step");
	assert_int_equal(unit_get(UNIT_TOTP, owner, &t), 0);
	assert_int_equal(t.last_step, ROUNDS);
}

static int put_backup_round(struct store_txn *txn, void *arg)
{
	const int *round = arg;

	/* A fresh set of codes every OTP_BACKUP_COUNT rounds. */
	return *round % OTP_BACKUP_COUNT == 0 ? put_backup(txn, NULL) : 0;
}

static void test_backup_code_once(void **state)
{
	int winner[ROUNDS];
	struct backup_rec b;

	race_own = *state != NULL;
	race(backup_use_txn, put_backup_round, winner, "backup code");
	assert_int_equal(unit_get(UNIT_BACKUP, owner, &b), 0);
	/* The last set: each code used by the job that won it, once. */
	for (int round = ROUNDS - OTP_BACKUP_COUNT; round < ROUNDS; round++)
		assert_int_equal(b.used_at[round % OTP_BACKUP_COUNT], 1000 + winner[round]);
	assert_int_equal(backup_remaining(&b), 0);
}

static void test_login_taken_once(void **state)
{
	int winner[ROUNDS];
	struct login l;

	race_own = *state != NULL;
	race(login_take_txn, put_login, winner, "pending login");
	for (int round = 0; round < ROUNDS; round++) {
		struct token_ref ref = ref_of(round);

		assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), STORE_E_NOTFOUND);
	}
}

/* --- atomicity ---------------------------------------------------------------------------- */

static int write_then_fail(struct store_txn *txn, void *arg)
{
	struct token_ref ref = ref_of(99);
	struct session s;
	struct account a;
	int rc;

	(void)arg;
	memset(&a, 0, sizeof(a));
	memset(a.id, 0x61, AUTHD_ID_LEN);
	snprintf(a.email, sizeof(a.email), "atomic@example.com");
	memset(&s, 0, sizeof(s));
	memcpy(s.account_id, owner, AUTHD_ID_LEN);
	s.expires_at = 100;
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = store_session_put(txn, &ref, &s)) != 0 || (rc = put_totp(txn, NULL)) != 0)
		return rc;
	return STORE_E_CORRUPT; /* an operation failed after the writes */
}

static int write_in_read(struct store_txn *txn, void *arg)
{
	int *put_rc = arg;

	*put_rc = put_totp(txn, NULL);
	return *put_rc;
}

static void test_failed_job_leaves_nothing(void **state)
{
	struct token_ref ref = ref_of(99);
	struct session s;
	struct account a;
	struct totp_rec t;
	uint8_t id[AUTHD_ID_LEN];
	int put_rc = 0;

	(void)state;
	memset(id, 0x61, sizeof(id));
	assert_int_equal(unit_write(write_then_fail, NULL), STORE_E_CORRUPT);
	assert_int_equal(unit_get(UNIT_ACCOUNT, id, &a), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_EMAIL, "atomic@example.com", id), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_SESSION, &ref, &s), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_TOTP, owner, &t), STORE_E_NOTFOUND);
	/* A read job's writes fail, and the job with them. */
	assert_int_not_equal(unit_read(write_in_read, &put_rc), 0);
	assert_true(put_rc < 0);
	assert_int_equal(unit_get(UNIT_TOTP, owner, &t), STORE_E_NOTFOUND);
}

/* --- re-runs --------------------------------------------------------------------------------- */

/* A counter kept in a throttle record: each job adds one, read then
 * written. A job that ran twice and counted twice would show. */
static int count_up_txn(struct store_txn *txn, void *arg)
{
	struct race_arg *a = arg;
	uint8_t key[THROTTLE_KEY_LEN];
	struct throttle_rec r;
	int rc;

	atomic_fetch_add(&runs, 1);
	a->won = 0;
	throttle_key_account(key, owner);
	if ((rc = store_throttle_get(txn, key, &r)) != 0)
		return rc;
	r.consecutive++;
	r.last_failure = r.consecutive;
	if ((rc = store_throttle_put(txn, key, &r)) != 0)
		return rc;
	/* Every job "wins" its own increment; only the first of a round
	 * reports it, so race() sees one winner per round. */
	a->won = a->thread == 0;
	return 0;
}

static void test_rerun_counts_once(void **state)
{
	int winner[ROUNDS];
	uint8_t key[THROTTLE_KEY_LEN];
	struct throttle_rec r;

	(void)state;
	race(count_up_txn, NULL, winner, "counter");
	throttle_key_account(key, owner);
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &r), 0);
	assert_int_equal(r.consecutive, ROUNDS * THREADS);
	assert_true(atomic_load(&runs) >= ROUNDS * THREADS);
}

/* --- a job reads its own writes ------------------------------------------------------------ */

/* Reads a session (PostgreSQL: with its account's cluster), then writes and
 * reads again every record of the cluster: each read after a write sees
 * the write. Records what it saw in *seen (-1: not as written). */
static int own_writes_txn(struct store_txn *txn, void *arg)
{
	int *seen = arg;
	struct token_ref ref = ref_of(1);
	uint8_t fkey[THROTTLE_KEY_LEN], akey[THROTTLE_KEY_LEN];
	struct session s;
	struct account a;
	struct totp_rec t;
	struct backup_rec b;
	struct throttle_rec r;
	int rc;

	*seen = 0;
	throttle_key_factor(fkey, owner);
	throttle_key_account(akey, owner);
	if ((rc = store_session_get(txn, &ref, &s)) != 0 ||
	    (rc = store_account_get(txn, owner, &a)) != 0 ||
	    (rc = store_totp_get(txn, owner, &t)) != 0 ||
	    (rc = store_backup_get(txn, owner, &b)) != 0 ||
	    (rc = store_throttle_get(txn, fkey, &r)) != 0)
		return rc;
	/* A new step only, then a new seed. */
	t.last_step = 41;
	if ((rc = store_totp_put(txn, owner, &t)) != 0 ||
	    (rc = store_totp_get(txn, owner, &t)) != 0)
		return rc;
	*seen |= t.last_step == 41 ? 1 : 0;
	t.last_step = 42;
	t.seed[0] ^= 0xff;
	if ((rc = store_totp_put(txn, owner, &t)) != 0 ||
	    (rc = store_totp_get(txn, owner, &t)) != 0)
		return rc;
	*seen |= t.last_step == 42 && t.seed[0] == (0x5a ^ 0xff) ? 2 : 0;
	snprintf(a.name, sizeof(a.name), "renamed");
	if ((rc = store_account_put(txn, &a)) != 0 || (rc = store_account_get(txn, owner, &a)) != 0)
		return rc;
	*seen |= strcmp(a.name, "renamed") == 0 ? 4 : 0;
	b.used_at[3] = 99;
	if ((rc = store_backup_put(txn, owner, &b)) != 0 ||
	    (rc = store_backup_get(txn, owner, &b)) != 0)
		return rc;
	*seen |= b.used_at[3] == 99 ? 8 : 0;
	r.consecutive = 5;
	if ((rc = store_throttle_put(txn, fkey, &r)) != 0 ||
	    (rc = store_throttle_get(txn, fkey, &r)) != 0)
		return rc;
	*seen |= r.consecutive == 5 ? 16 : 0;
	r.consecutive = 6;
	if ((rc = store_throttle_put(txn, akey, &r)) != 0 ||
	    (rc = store_throttle_get(txn, akey, &r)) != 0)
		return rc;
	*seen |= r.consecutive == 6 ? 32 : 0;
	if ((rc = store_totp_del(txn, owner)) != 0)
		return rc;
	*seen |= store_totp_get(txn, owner, &t) == STORE_E_NOTFOUND ? 64 : 0;
	return 0;
}

static int put_cluster(struct store_txn *txn, void *arg)
{
	struct token_ref ref = ref_of(1);
	struct account a;
	struct session s;
	int rc;

	memset(&a, 0, sizeof(a));
	memcpy(a.id, owner, AUTHD_ID_LEN);
	snprintf(a.email, sizeof(a.email), "cluster@example.com");
	snprintf(a.name, sizeof(a.name), "before");
	memset(&s, 0, sizeof(s));
	memcpy(s.account_id, owner, AUTHD_ID_LEN);
	s.expires_at = 1000;
	if ((rc = store_account_put(txn, &a)) != 0 ||
	    (rc = store_session_put(txn, &ref, &s)) != 0 || (rc = put_totp(txn, arg)) != 0)
		return rc;
	return put_backup(txn, arg);
}

/* A product written over as read, and one removed meanwhile: the update
 * of the removed one is STORE_E_NOTFOUND and does not make it again. */
static int product_cycle(struct store_txn *txn, void *arg)
{
	struct product p = {.kind = PRODUCT_MAIL,
			    .renewal_months = 12,
			    .expires_at = 5000,
			    .created_at = 7,
			    .name = "kept"};
	int *step = arg;
	int rc;

	memset(p.org_id, 0x61, AUTHD_ID_LEN);
	memset(p.id, 0x62, AUTHD_ID_LEN);
	if (*step == 0)
		return store_product_put(txn, &p);
	if (*step == 1) {
		p.blocked_at = 9;
		return store_product_update(txn, &p);
	}
	if (*step == 2)
		return store_product_del(txn, p.org_id, p.id);
	rc = store_product_update(txn, &p);
	return rc == STORE_E_NOTFOUND ? 0 : STORE_E_CORRUPT;
}

static int product_read(struct store_txn *txn, void *arg)
{
	uint8_t org[AUTHD_ID_LEN], id[AUTHD_ID_LEN];

	memset(org, 0x61, AUTHD_ID_LEN);
	memset(id, 0x62, AUTHD_ID_LEN);
	return store_product_get(txn, org, id, arg);
}

static void test_product_update_never_makes_one(void **state)
{
	struct product p;
	int step;

	(void)state;
	for (step = 0; step < 4; step++)
		assert_int_equal(unit_write(product_cycle, &step), 0);
	assert_int_equal(unit_read(product_read, &p), STORE_E_NOTFOUND);
	step = 0;
	assert_int_equal(unit_write(product_cycle, &step), 0);
	step = 1;
	assert_int_equal(unit_write(product_cycle, &step), 0);
	assert_int_equal(unit_read(product_read, &p), 0);
	assert_int_equal(p.blocked_at, 9);
}

static void test_reads_see_own_writes(void **state)
{
	uint8_t key[THROTTLE_KEY_LEN];
	struct account a;
	struct backup_rec b;
	struct throttle_rec r;
	struct totp_rec t;
	int seen = 0;

	(void)state;
	assert_int_equal(unit_write(put_cluster, NULL), 0);
	assert_int_equal(unit_write(own_writes_txn, &seen), 0);
	assert_int_equal(seen, 127);
	/* And committed as last written. */
	assert_int_equal(unit_get(UNIT_ACCOUNT, owner, &a), 0);
	assert_string_equal(a.name, "renamed");
	assert_int_equal(unit_get(UNIT_TOTP, owner, &t), STORE_E_NOTFOUND);
	assert_int_equal(unit_get(UNIT_BACKUP, owner, &b), 0);
	assert_int_equal(b.used_at[3], 99);
	throttle_key_account(key, owner);
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &r), 0);
	assert_int_equal(r.consecutive, 6);
}

/* The same through a pending login (PostgreSQL: its cluster holds the
 * second factor's throttle histories): a counted failure and a new step,
 * each read back, then a counted attempt. */
static int own_writes_login_txn(struct store_txn *txn, void *arg)
{
	int *seen = arg;
	struct token_ref ref = ref_of(7);
	uint8_t fkey[THROTTLE_KEY_LEN];
	struct login l;
	struct totp_rec t;
	struct throttle_rec r;
	int rc;

	*seen = 0;
	throttle_key_factor(fkey, owner);
	if ((rc = store_login_get(txn, &ref, &l)) != 0 ||
	    (rc = store_throttle_get(txn, fkey, &r)) != 0 ||
	    (rc = store_totp_get(txn, owner, &t)) != 0)
		return rc;
	r.consecutive = 7;
	if ((rc = store_throttle_put(txn, fkey, &r)) != 0 ||
	    (rc = store_throttle_get(txn, fkey, &r)) != 0)
		return rc;
	*seen |= r.consecutive == 7 ? 1 : 0;
	t.last_step = 77;
	if ((rc = store_totp_put(txn, owner, &t)) != 0 ||
	    (rc = store_totp_get(txn, owner, &t)) != 0)
		return rc;
	*seen |= t.last_step == 77 ? 2 : 0;
	l.attempts = 3;
	return store_login_put(txn, &ref, &l);
}

static void test_login_reads_see_own_writes(void **state)
{
	struct token_ref ref = ref_of(7);
	uint8_t key[THROTTLE_KEY_LEN];
	struct throttle_rec r;
	struct totp_rec t;
	struct login l;
	int round = 7, seen = 0;

	(void)state;
	assert_int_equal(unit_write(put_totp, NULL), 0);
	assert_int_equal(unit_write(put_login, &round), 0);
	assert_int_equal(unit_write_own(own_writes_login_txn, &seen), 0);
	assert_int_equal(seen, 3);
	/* Committed as written: the step (an UPDATE of one column on
	 * PostgreSQL), the count, the attempt (an UPDATE of the row read). */
	assert_int_equal(unit_get(UNIT_TOTP, owner, &t), 0);
	assert_int_equal(t.last_step, 77);
	assert_int_equal(t.seed_len, 40);
	throttle_key_factor(key, owner);
	assert_int_equal(unit_get(UNIT_THROTTLE, key, &r), 0);
	assert_int_equal(r.consecutive, 7);
	assert_int_equal(unit_get(UNIT_LOGIN, &ref, &l), 0);
	assert_int_equal(l.attempts, 3);
	assert_int_equal(l.expires_at, 1000);
}

/* --- read jobs that say what they read first ------------------------------------------------- */

#define HINTED 40

struct hinted {
	struct job job;
	int i;
	int mode; /* 0: reads what it said; 1: says another session; 2: reads the account first */
	char name[NAME_MAX_B + 1];
	int64_t expires;
	bool on_caller; /* txn_work ran on the thread that submitted it */
	atomic_int done;
};

static pthread_t submitter;

static void hinted_id(int i, uint8_t id[AUTHD_ID_LEN])
{
	memset(id, 0, AUTHD_ID_LEN);
	id[0] = 0x90;
	id[1] = (uint8_t)i;
}

static struct token_ref hinted_ref(int i)
{
	struct token_ref ref;

	memset(&ref, 0, sizeof(ref));
	hinted_id(i, ref.account_id);
	ref.hash[0] = (uint8_t)i;
	ref.hash[1] = 0x33;
	return ref;
}

static int put_hinted(struct store_txn *txn, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; i < HINTED && rc == 0; i++) {
		struct token_ref ref = hinted_ref(i);
		struct account a;
		struct session s;

		memset(&a, 0, sizeof(a));
		memcpy(a.id, ref.account_id, AUTHD_ID_LEN);
		snprintf(a.email, sizeof(a.email), "h%d@example.com", i);
		snprintf(a.name, sizeof(a.name), "person %d", i);
		memset(&s, 0, sizeof(s));
		memcpy(s.account_id, ref.account_id, AUTHD_ID_LEN);
		s.expires_at = 5000 + i;
		if ((rc = store_account_put(txn, &a)) == 0)
			rc = store_session_put(txn, &ref, &s);
	}
	return rc;
}

static int hinted_txn(struct job *job, struct store_txn *txn)
{
	struct hinted *h = (struct hinted *)job;
	struct token_ref ref = hinted_ref(h->i);
	struct account a;
	struct session s;
	int rc;

	h->name[0] = '\0';
	h->expires = 0;
	h->on_caller = pthread_equal(pthread_self(), submitter) != 0;
	if (h->mode == 2 && (rc = store_account_get(txn, ref.account_id, &a)) != 0)
		return rc;
	if ((rc = store_session_get(txn, &ref, &s)) != 0 ||
	    (rc = store_account_get(txn, ref.account_id, &a)) != 0)
		return rc;
	snprintf(h->name, sizeof(h->name), "%s", a.name);
	h->expires = s.expires_at;
	return 0;
}

static void hinted_done(struct job *job)
{
	atomic_store(&((struct hinted *)job)->done, 1);
}

/* Lets the store answer on this thread (store_loop_fd) until every job is
 * done; with serve false, only waits. */
static void wait_hinted(struct hinted *jobs, bool serve)
{
	for (int i = 0; i < HINTED; i++) {
		while (!atomic_load(&jobs[i].done)) {
			unsigned gen;
			bool want_write;
			int fd = serve ? store_loop_fd(&gen, &want_write) : -1;

			if (fd < 0) {
				usleep(200);
				continue;
			}
			struct pollfd p = {fd, (short)(POLLIN | (want_write ? POLLOUT : 0)), 0};

			poll(&p, 1, 10);
			store_loop_ready();
		}
	}
}

static void run_hinted(bool serve)
{
	static struct hinted jobs[HINTED];

	submitter = pthread_self();
	assert_int_equal(unit_write(put_hinted, NULL), 0);
	if (serve) {
		unsigned gen;
		bool want_write;
		int64_t t0 = unit_now_ms();

		/* The engine makes its loop connection on a thread: wait for it
		 * (an engine without one answers -1 at once). */
		while (store_loop_fd(&gen, &want_write) < 0 && unit_now_ms() - t0 < 5000 &&
		       unit_engine == STORE_ENGINE_POSTGRESQL)
			usleep(1000);
	}
	memset(jobs, 0, sizeof(jobs));
	/* Submitted together, as the loop does in one pass. */
	store_batch_begin();
	for (int i = 0; i < HINTED; i++) {
		struct hinted *h = &jobs[i];

		h->i = i;
		h->mode = i % 7 == 3 ? 1 : i % 7 == 5 ? 2 : 0;
		h->job.txn_work = hinted_txn;
		h->job.done = hinted_done;
		h->job.first = STORE_FIRST_SESSION;
		h->job.first_ref = hinted_ref(h->mode == 1 ? (i + 1) % HINTED : i);
		store_read(&h->job);
	}
	store_batch_end();
	wait_hinted(jobs, serve);
	int on_caller = 0, plain = 0;

	for (int i = 0; i < HINTED; i++) {
		on_caller += jobs[i].on_caller;
		plain += jobs[i].mode == 0;
	}
	/* PostgreSQL's loop answers what it fetched ahead, the rest (a read
	 * that said another session, or read the account first) goes to the
	 * threads; LMDB reads every job inline. */
	if (unit_engine == STORE_ENGINE_POSTGRESQL)
		assert_int_equal(on_caller, serve ? plain : 0);
	else
		assert_int_equal(on_caller, HINTED);
	for (int i = 0; i < HINTED; i++) {
		char name[32];

		snprintf(name, sizeof(name), "person %d", i);
		assert_int_equal(jobs[i].job.store_rc, 0);
		assert_string_equal(jobs[i].name, name);
		assert_int_equal(jobs[i].expires, 5000 + i);
	}
}

static void test_hinted_reads(void **state)
{
	(void)state;
	run_hinted(false);
}

/* The same, answered on this thread where the engine can (PostgreSQL's
 * loop connection). */
static void test_hinted_reads_on_loop(void **state)
{
	(void)state;
	run_hinted(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_totp_step_once, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_code_once, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_login_taken_once, unit_setup, unit_teardown),
	    /* The same races by jobs that say they write what they decide on
	     * (PostgreSQL: REPEATABLE READ, the rows settle it). */
	    cmocka_unit_test_prestate_setup_teardown(test_totp_step_once, unit_setup, unit_teardown,
						     (void *)&race_own),
	    cmocka_unit_test_prestate_setup_teardown(test_backup_code_once, unit_setup,
						     unit_teardown, (void *)&race_own),
	    cmocka_unit_test_prestate_setup_teardown(test_login_taken_once, unit_setup,
						     unit_teardown, (void *)&race_own),
	    cmocka_unit_test_setup_teardown(test_failed_job_leaves_nothing, unit_setup,
					    unit_teardown),
	    cmocka_unit_test_setup_teardown(test_rerun_counts_once, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_reads_see_own_writes, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_product_update_never_makes_one, unit_setup,
					    unit_teardown),
	    cmocka_unit_test_setup_teardown(test_login_reads_see_own_writes, unit_setup,
					    unit_teardown),
	    cmocka_unit_test_setup_teardown(test_hinted_reads, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_hinted_reads_on_loop, unit_setup, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
