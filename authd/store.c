/*
 * LMDB behind store.h: environment set-up, the loop's reusable read
 * transaction and the group-committing writer thread.
 */
#include "store.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

static const char *const db_names[DB__COUNT] = {
    "accounts", "emails", "orgs", "members", "cluster", "backup", "throttle", "meta",
};

/* The layout this code reads and writes; bumped when keys or databases
 * change shape. Before 1.0 there is no migration: authd refuses data of
 * another layout rather than misreading it. */
#define STORE_FORMAT	 3
#define STORE_FORMAT_KEY "format"

static MDB_env *env;
static MDB_dbi dbis[DB__COUNT];
static MDB_txn *read_txn; /* the loop's, reset between uses */

static pthread_t writer;
static bool writer_running;
static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_cond = PTHREAD_COND_INITIALIZER;
static struct job *wq_head, *wq_tail;
static bool wq_stopping;
static atomic_ulong stat_commits, stat_jobs, stat_work_us, stat_sync_us;

#define BATCH_MAX 1024

static int map_rc(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return STORE_OK;
	case MDB_NOTFOUND:
		return STORE_E_NOTFOUND;
	case MDB_MAP_FULL:
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
		return STORE_E_FULL;
	default:
		return STORE_E_IO;
	}
}

/*
 * Checks the layout marker in txn: a new environment gets STORE_FORMAT; one
 * of another layout (or with accounts but no marker, from before markers)
 * is refused (logged, *refused set). Returns 0 or an LMDB error.
 */
static int check_format(MDB_txn *txn, const char *dir, bool *refused)
{
	MDB_val k = {sizeof(STORE_FORMAT_KEY) - 1, STORE_FORMAT_KEY};
	MDB_val v;
	MDB_stat st;
	uint8_t mine[4] = {STORE_FORMAT, 0, 0, 0};
	int rc = mdb_get(txn, dbis[DB_META], &k, &v);

	if (rc == 0) {
		if (v.mv_size == sizeof(mine) && memcmp(v.mv_data, mine, sizeof(mine)) == 0)
			return 0;
		log_err("%.256s holds data of another layout than this authd's (%d); refusing to "
			"start",
			dir, STORE_FORMAT);
		*refused = true;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_stat(txn, dbis[DB_ACCOUNTS], &st)) != 0)
		return rc;
	if (st.ms_entries != 0) {
		log_err("%.256s holds accounts of an older layout than this authd's (%d); "
			"refusing to start",
			dir, STORE_FORMAT);
		*refused = true;
		return 0;
	}
	v.mv_size = sizeof(mine);
	v.mv_data = mine;
	return mdb_put(txn, dbis[DB_META], &k, &v, 0);
}

int store_open(const char *dir, size_t map_size_mb)
{
	MDB_txn *txn = NULL;
	bool refused = false;
	int dead = 0;
	int rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create data dir %.256s: %s", dir, strerror(errno));
		return -1;
	}
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, map_size_mb * 1024 * 1024)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, DB__COUNT + 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, 126)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0) {
		log_err("cannot open LMDB in %.256s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	/* A kill -9 leaves reader slots behind; they would pin old pages. */
	mdb_reader_check(env, &dead);
	if (dead)
		log_info("cleared %d stale LMDB readers", dead);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		goto fail_txn;
	for (int i = 0; i < DB__COUNT; i++)
		if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &dbis[i])) != 0)
			goto fail_txn;
	if ((rc = check_format(txn, dir, &refused)) != 0)
		goto fail_txn;
	if (refused)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail_txn;
	}
	return 0;
fail_txn:
	log_err("cannot open LMDB databases: %s", mdb_strerror(rc));
fail:
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	env = NULL;
	return -1;
}

int store_read_begin(MDB_txn **txn)
{
	int rc;

	if (read_txn)
		rc = mdb_txn_renew(read_txn);
	else
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &read_txn);
	if (rc != 0) {
		log_err("read transaction: %s", mdb_strerror(rc));
		return map_rc(rc);
	}
	*txn = read_txn;
	return 0;
}

void store_read_end(MDB_txn *txn)
{
	mdb_txn_reset(txn);
}

int store_get(MDB_txn *txn, enum store_db db, const void *key, size_t klen, MDB_val *val)
{
	MDB_val k = {klen, (void *)key};

	return map_rc(mdb_get(txn, dbis[db], &k, val));
}

int store_put(MDB_txn *txn, enum store_db db, const void *key, size_t klen, const void *val,
	      size_t vlen)
{
	MDB_val k = {klen, (void *)key};
	MDB_val v = {vlen, (void *)val};
	int rc = mdb_put(txn, dbis[db], &k, &v, 0);

	if (rc != 0)
		log_err("put into %s: %s", db_names[db], mdb_strerror(rc));
	return map_rc(rc);
}

int store_del(MDB_txn *txn, enum store_db db, const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key};
	int rc = mdb_del(txn, dbis[db], &k, NULL);

	if (rc != 0 && rc != MDB_NOTFOUND)
		log_err("delete from %s: %s", db_names[db], mdb_strerror(rc));
	return map_rc(rc);
}

/* Walks db from `start` (NULL: the first key) while keys begin with the
 * first plen bytes of start, calling fn until it returns non-zero. */
static int walk(MDB_txn *txn, enum store_db db, const void *start, size_t slen, size_t plen,
		int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
		void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k = {slen, (void *)start};
	MDB_val v;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbis[db], &cur)) != 0)
		return map_rc(rc);
	rc = mdb_cursor_get(cur, &k, &v, start ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen && (plen == 0 || memcmp(k.mv_data, start, plen) == 0)) {
		if (fn(txn, &k, &v, arg) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : map_rc(rc);
}

int store_each_prefix(MDB_txn *txn, enum store_db db, const void *prefix, size_t plen,
		      int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
		      void *arg)
{
	return walk(txn, db, prefix, plen, plen, fn, arg);
}

int store_each_from(MDB_txn *txn, enum store_db db, const void *start, size_t slen,
		    int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
		    void *arg)
{
	return walk(txn, db, start, slen, 0, fn, arg);
}

/* Runs one batch: every job in one transaction, one commit. A job that
 * fails is taken out and the others run again, so one bad job never costs
 * the others their writes. */
static void run_batch(struct job **batchp)
{
	for (;;) {
		struct job *batch = *batchp;
		struct job *failed = NULL;
		MDB_txn *txn = NULL;
		int rc;

		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
			log_err("write transaction: %s", mdb_strerror(rc));
			for (struct job *j = batch; j; j = j->next)
				j->store_rc = map_rc(rc);
			return;
		}
		uint64_t t0 = (uint64_t)authd_mono_us();

		for (struct job *j = batch; j; j = j->next) {
			j->store_rc = j->txn_work(j, txn);
			if (j->store_rc != 0) {
				failed = j;
				break;
			}
		}
		uint64_t t1 = (uint64_t)authd_mono_us();

		atomic_fetch_add(&stat_work_us, t1 - t0);
		if (failed) {
			int frc = failed->store_rc;

			mdb_txn_abort(txn);
			/* Unlink the failed job; it completes with its error. */
			struct job **pp = batchp;
			while (*pp != failed)
				pp = &(*pp)->next;
			*pp = failed->next;
			failed->next = NULL;
			failed->store_rc = frc;
			async_complete(failed);
			if (*batchp == NULL)
				return;
			continue;
		}
		rc = mdb_txn_commit(txn);
		atomic_fetch_add(&stat_sync_us, (uint64_t)authd_mono_us() - t1);
		if (rc != 0)
			log_err("commit: %s", mdb_strerror(rc));
		for (struct job *j = batch; j; j = j->next)
			j->store_rc = map_rc(rc);
		atomic_fetch_add(&stat_commits, 1);
		return;
	}
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "authd-writer"); /* for top -H and perf */
	for (;;) {
		struct job *batch;
		struct job *last;
		unsigned n = 0;

		pthread_mutex_lock(&wq_lock);
		while (wq_head == NULL && !wq_stopping)
			pthread_cond_wait(&wq_cond, &wq_lock);
		if (wq_head == NULL) {
			pthread_mutex_unlock(&wq_lock);
			return NULL;
		}
		batch = last = wq_head;
		for (n = 1; last->next && n < BATCH_MAX; n++)
			last = last->next;
		wq_head = last->next;
		if (wq_head == NULL)
			wq_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&wq_lock);

		run_batch(&batch);
		atomic_fetch_add(&stat_jobs, n);
		while (batch) {
			struct job *next = batch->next;

			async_complete(batch);
			batch = next;
		}
	}
}

int store_start_writer(void)
{
	pthread_mutex_lock(&wq_lock);
	wq_stopping = false;
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		pthread_mutex_unlock(&wq_lock);
		log_err("cannot start the writer thread");
		return -1;
	}
	writer_running = true;
	pthread_mutex_unlock(&wq_lock);
	return 0;
}

void store_submit(struct job *job)
{
	job->next = NULL;
	job->store_rc = 0;
	pthread_mutex_lock(&wq_lock);
	if (!writer_running || wq_stopping) {
		pthread_mutex_unlock(&wq_lock);
		job->store_rc = STORE_E_IO;
		async_complete(job);
		return;
	}
	if (wq_tail)
		wq_tail->next = job;
	else
		wq_head = job;
	wq_tail = job;
	pthread_cond_signal(&wq_cond);
	pthread_mutex_unlock(&wq_lock);
}

void store_stop_writer(void)
{
	bool was_running;

	pthread_mutex_lock(&wq_lock);
	was_running = writer_running;
	wq_stopping = true;
	pthread_cond_signal(&wq_cond);
	pthread_mutex_unlock(&wq_lock);
	if (!was_running)
		return;
	pthread_join(writer, NULL);
	pthread_mutex_lock(&wq_lock);
	writer_running = false;
	pthread_mutex_unlock(&wq_lock);
	/* How well group commit grouped: the figure behind write throughput. */
	unsigned long commits = atomic_load(&stat_commits), jobs = atomic_load(&stat_jobs);
	double per = commits ? 1.0 / (double)commits : 0.0;

	log_info("writer: %lu jobs in %lu commits (%.1f per commit); per commit %.2f ms of work, "
		 "%.2f ms of commit and sync",
		 jobs, commits, (double)jobs * per, (double)atomic_load(&stat_work_us) * per / 1000,
		 (double)atomic_load(&stat_sync_us) * per / 1000);
}

bool store_is_empty(void)
{
	MDB_txn *txn = NULL;
	MDB_stat st;
	bool empty = false;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return false;
	if (mdb_stat(txn, dbis[DB_ACCOUNTS], &st) == 0)
		empty = st.ms_entries == 0;
	mdb_txn_abort(txn);
	return empty;
}

void store_close(void)
{
	store_stop_writer();
	if (read_txn) {
		mdb_txn_abort(read_txn);
		read_txn = NULL;
	}
	if (env) {
		mdb_env_close(env);
		env = NULL;
	}
}

void store_stats(struct store_stats *st)
{
	st->commits = atomic_load(&stat_commits);
	st->jobs = atomic_load(&stat_jobs);
	st->work_us = atomic_load(&stat_work_us);
	st->sync_us = atomic_load(&stat_sync_us);
}
