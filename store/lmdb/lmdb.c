/*
 * The LMDB engine: environment set-up, the loop's reusable read
 * transaction and the group-committing writer thread. One environment,
 * one named database per record kind; every write job runs on one writer
 * thread that groups the jobs queued meanwhile into one durable commit
 * (MDB_NOSYNC and MDB_NOMETASYNC are never set).
 */
#include "lmdb-internal.h"

#include <log.h>
#include <util.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

static const char *const db_names[DB__COUNT] = {
    "accounts",	    "emails",	   "orgs",	    "members",	    "cluster",	 "backup",
    "throttle",	    "meta",	   "events",	    "devices",	    "outbox",	 "outbox_due",
    "outbox_done",  "phones",	   "cases",	    "cases_done",   "docs",	 "docs_due",
    "audit",	    "invites",	   "invite_tokens", "tokens",	    "token_ids", "products",
    "grants",	    "teams",	   "team_members",  "member_teams", "partners",	 "partner_of",
    "account_orgs", "support",	   "support_org",   "addresses",    "balances",	 "ledger",
    "payments",	    "payment_org", "invoices",	    "invoice_org",  "vouchers",	 "product_due",
};

/* The layout this code reads and writes; bumped when keys or databases
 * change shape (a new database or cluster kind, empty in older data, is no
 * change). Before 1.0 there is no migration: authd refuses data of another
 * layout rather than misreading it. */
#define STORE_FORMAT	 6
#define STORE_FORMAT_KEY "format"

static MDB_env *env;
static MDB_dbi dbis[DB__COUNT];
static struct lmdb_txn read_txn = {{&store_lmdb_engine}, NULL}; /* the loop's, reset between uses */
static void (*complete)(struct job *job);

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
		const uint8_t three[4] = {3, 0, 0, 0}, four[4] = {4, 0, 0, 0},
			      five[4] = {5, 0, 0, 0};
		bool is3 =
		    v.mv_size == sizeof(three) && memcmp(v.mv_data, three, sizeof(three)) == 0;
		bool is4 = v.mv_size == sizeof(four) && memcmp(v.mv_data, four, sizeof(four)) == 0;
		bool is5 = v.mv_size == sizeof(five) && memcmp(v.mv_data, five, sizeof(five)) == 0;
		size_t moved = 0, indexed = 0, due = 0;

		if (v.mv_size == sizeof(mine) && memcmp(v.mv_data, mine, sizeof(mine)) == 0)
			return 0;
		/* Layout 3 kept security events in a database of their own
		 * (4 keeps them in the account's cluster); 4 found an account's
		 * memberships by walking them all (5 keeps an index); 5 had no
		 * index of products by expiry (6 does, for the scheduler). */
		if (is3 || is4 || is5) {
			if (is3 && (rc = lmdb_events_migrate(txn, &moved)) != 0)
				return rc;
			if (!is5 && (rc = lmdb_member_index_build(txn, &indexed)) != 0)
				return rc == STORE_E_FULL ? MDB_MAP_FULL : MDB_PANIC;
			if ((rc = lmdb_product_due_index_build(txn, &due)) != 0)
				return rc == STORE_E_FULL ? MDB_MAP_FULL : MDB_PANIC;
			log_info(
			    "%.256s: layout %d upgraded to %d (%zu security events moved into "
			    "their accounts' clusters, %zu memberships indexed by account, %zu "
			    "products by expiry)",
			    dir,
			    is3	  ? 3
			    : is4 ? 4
				  : 5,
			    STORE_FORMAT, moved, indexed, due);
			v.mv_size = sizeof(mine);
			v.mv_data = mine;
			return mdb_put(txn, dbis[DB_META], &k, &v, 0);
		}
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

void lmdb_readers_check(void)
{
	int dead = 0;

	if (env && mdb_reader_check(env, &dead) == 0 && dead)
		log_warn("cleared %d stale LMDB readers (a process that read the store was "
			 "killed: a backup?)",
			 dead);
}

static int lmdb_open(const struct store_options *o)
{
	const char *dir = o->data_dir;
	size_t map_size_mb = o->map_size_mb;
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
	for (int i = 0; i < DB__COUNT; i++) {
		/* A NULL name would open the main database, where the named
		 * ones are listed: every kind of record has its own. */
		if (db_names[i] == NULL)
			AUTHD_BUG("an LMDB database without a name");
		if ((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &dbis[i])) != 0)
			goto fail_txn;
	}
	if ((rc = check_format(txn, dir, &refused)) != 0)
		goto fail_txn;
	if (refused)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail_txn;
	}
	complete = o->complete;
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

static int lmdb_read_begin(struct store_txn **txn)
{
	int rc;

	if (read_txn.txn)
		rc = mdb_txn_renew(read_txn.txn);
	else
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &read_txn.txn);
	if (rc != 0) {
		log_err("read transaction: %s", mdb_strerror(rc));
		return map_rc(rc);
	}
	*txn = &read_txn.base;
	return 0;
}

static void lmdb_read_end(struct store_txn *txn)
{
	mdb_txn_reset(lmdb_of(txn));
}

/* Reads run inline: a wake-up of the loop would cost more than the read. */
static void lmdb_read(struct job *job)
{
	struct store_txn *txn = NULL;

	job->store_rc = lmdb_read_begin(&txn);
	if (job->store_rc == 0) {
		job->store_rc = job->txn_work(job, txn);
		lmdb_read_end(txn);
	}
	job->done(job);
}

static int lmdb_migrate(const struct store_options *o)
{
	(void)o;
	return 0; /* store_open creates and checks the layout */
}

int lmdb_get(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen, MDB_val *val)
{
	MDB_val k = {klen, (void *)key};

	return map_rc(mdb_get(txn, dbis[db], &k, val));
}

int lmdb_put(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen, const void *val,
	     size_t vlen)
{
	MDB_val k = {klen, (void *)key};
	MDB_val v = {vlen, (void *)val};
	int rc = mdb_put(txn, dbis[db], &k, &v, 0);

	if (rc != 0)
		log_err("put into %s: %s", db_names[db], mdb_strerror(rc));
	return map_rc(rc);
}

int lmdb_del(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen)
{
	MDB_val k = {klen, (void *)key};
	int rc = mdb_del(txn, dbis[db], &k, NULL);

	if (rc != 0 && rc != MDB_NOTFOUND)
		log_err("delete from %s: %s", db_names[db], mdb_strerror(rc));
	return map_rc(rc);
}

MDB_dbi lmdb_dbi(enum lmdb_db db)
{
	return dbis[db];
}

int lmdb_walk(MDB_txn *txn, enum lmdb_db db, const void *start, size_t slen, size_t plen,
	      int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg), void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k = {slen, (void *)start};
	MDB_val v;
	int rc;

	if (start == NULL)
		plen = 0; /* no prefix to stay within */
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

/* Runs one batch: every job in one transaction, one commit. A job that
 * fails is taken out and the others run again, so one bad job never costs
 * the others their writes. */
static void run_batch(struct job **batchp)
{
	for (;;) {
		struct job *batch = *batchp;
		struct job *failed = NULL;
		struct lmdb_txn ltxn = {{&store_lmdb_engine}, NULL};
		MDB_txn *txn = NULL;
		int rc;

		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
			log_err("write transaction: %s", mdb_strerror(rc));
			for (struct job *j = batch; j; j = j->next)
				j->store_rc = map_rc(rc);
			return;
		}
		ltxn.txn = txn;
		uint64_t t0 = (uint64_t)authd_mono_us();

		for (struct job *j = batch; j; j = j->next) {
			j->store_rc = j->txn_work(j, &ltxn.base);
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
			complete(failed);
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

			complete(batch);
			batch = next;
		}
	}
}

static int lmdb_start(void)
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

static void lmdb_write(struct job *job)
{
	job->next = NULL;
	job->store_rc = 0;
	pthread_mutex_lock(&wq_lock);
	if (!writer_running || wq_stopping) {
		pthread_mutex_unlock(&wq_lock);
		job->store_rc = STORE_E_IO;
		complete(job);
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

static void lmdb_stop(void)
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

static int lmdb_is_empty(bool *empty)
{
	MDB_txn *txn = NULL;
	MDB_stat st;
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		return map_rc(rc);
	rc = mdb_stat(txn, dbis[DB_ACCOUNTS], &st);
	mdb_txn_abort(txn);
	if (rc != 0)
		return map_rc(rc);
	*empty = st.ms_entries == 0;
	return 0;
}

static int lmdb_setting_read(const char *name, uint64_t *value)
{
	struct lmdb_txn t = {{&store_lmdb_engine}, NULL};
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &t.txn)) != 0)
		return map_rc(rc);
	rc = lmdb_setting_get(&t.base, name, value);
	mdb_txn_abort(t.txn);
	return rc;
}

static void lmdb_close(void)
{
	lmdb_stop();
	if (read_txn.txn) {
		mdb_txn_abort(read_txn.txn);
		read_txn.txn = NULL;
	}
	if (env) {
		mdb_env_close(env);
		env = NULL;
	}
}

static void lmdb_stats(struct store_stats *st)
{
	st->commits = atomic_load(&stat_commits);
	st->jobs = atomic_load(&stat_jobs);
	st->work_us = atomic_load(&stat_work_us);
	st->sync_us = atomic_load(&stat_sync_us);
}

const struct store_engine_ops store_lmdb_engine = {
    .name = "lmdb",
    .single_writer = true,
    .open = lmdb_open,
    .migrate = lmdb_migrate,
    .start = lmdb_start,
    .stop = lmdb_stop,
    .close = lmdb_close,
    .is_empty = lmdb_is_empty,
    .setting_read = lmdb_setting_read,
    .write = lmdb_write,
    .read = lmdb_read,
    .stats = lmdb_stats,
    .account_get = lmdb_account_get,
    .account_put = lmdb_account_put,
    .account_by_email = lmdb_account_by_email,
    .org_put = lmdb_org_put,
    .member_put = lmdb_member_put,
    .member_get = lmdb_member_get,
    .member_del = lmdb_member_del,
    .audit_add = lmdb_audit_add,
    .product_put = lmdb_product_put,
    .product_get = lmdb_product_get,
    .product_del = lmdb_product_del,
    .products_list = lmdb_products_list,
    .grant_put = lmdb_grant_put,
    .grant_get = lmdb_grant_get,
    .grant_del = lmdb_grant_del,
    .grants_list = lmdb_grants_list,
    .grants_del_subject = lmdb_grants_del_subject,
    .team_put = lmdb_team_put,
    .team_get = lmdb_team_get,
    .team_del = lmdb_team_del,
    .teams_list = lmdb_teams_list,
    .team_member_put = lmdb_team_member_put,
    .team_member_del = lmdb_team_member_del,
    .team_members_list = lmdb_team_members_list,
    .member_teams_list = lmdb_member_teams_list,
    .balance_get = lmdb_balance_get,
    .balance_put = lmdb_balance_put,
    .ledger_add = lmdb_ledger_add,
    .ledger_list = lmdb_ledger_list,
    .payment_put = lmdb_payment_put,
    .payment_get = lmdb_payment_get,
    .payments_list = lmdb_payments_list,
    .product_update = lmdb_product_update,
    .cluster_lock = lmdb_cluster_lock,
    .products_due = lmdb_products_due,
    .invoice_put = lmdb_invoice_put,
    .invoice_get = lmdb_invoice_get,
    .invoices_list = lmdb_invoices_list,
    .counter_next = lmdb_counter_next,
    .voucher_put = lmdb_voucher_put,
    .voucher_get = lmdb_voucher_get,
    .vouchers_list = lmdb_vouchers_list,
    .address_put = lmdb_address_put,
    .address_del = lmdb_address_del,
    .addresses_list = lmdb_addresses_list,
    .support_put = lmdb_support_put,
    .support_get = lmdb_support_get,
    .support_del = lmdb_support_del,
    .support_live = lmdb_support_live,
    .support_list = lmdb_support_list,
    .partner_put = lmdb_partner_put,
    .partner_get = lmdb_partner_get,
    .partner_del = lmdb_partner_del,
    .partners_list = lmdb_partners_list,
    .token_get = lmdb_token_get,
    .access_facts = lmdb_access_facts,
    .token_update = lmdb_token_update,
    .tokens_del_account = lmdb_tokens_del_account,
    .token_put = lmdb_token_put,
    .token_del = lmdb_token_del,
    .tokens_list = lmdb_tokens_list,
    .invite_put = lmdb_invite_put,
    .invite_get = lmdb_invite_get,
    .invite_by_token = lmdb_invite_by_token,
    .invites_list = lmdb_invites_list,
    .invite_del = lmdb_invite_del,
    .audit_list = lmdb_audit_list,
    .session_get = lmdb_session_get,
    .session_put = lmdb_session_put,
    .session_del = lmdb_session_del,
    .session_del_all = lmdb_session_del_all,
    .login_get = lmdb_login_get,
    .login_put = lmdb_login_put,
    .login_del = lmdb_login_del,
    .login_del_all = lmdb_login_del_all,
    .totp_get = lmdb_totp_get,
    .totp_put = lmdb_totp_put,
    .totp_del = lmdb_totp_del,
    .backup_get = lmdb_backup_get,
    .backup_put = lmdb_backup_put,
    .backup_del = lmdb_backup_del,
    .throttle_get = lmdb_throttle_get,
    .throttle_put = lmdb_throttle_put,
    .link_get = lmdb_link_get,
    .link_put = lmdb_link_put,
    .link_del = lmdb_link_del,
    .link_del_all = lmdb_link_del_all,
    .device_get = lmdb_device_get,
    .device_put = lmdb_device_put,
    .device_step = lmdb_device_step,
    .device_del = lmdb_device_del,
    .devices_list = lmdb_devices_list,
    .challenge_get = lmdb_challenge_get,
    .challenge_put = lmdb_challenge_put,
    .challenges_list = lmdb_challenges_list,
    .challenges_pending = lmdb_challenges_pending,
    .push_account_get = lmdb_push_account_get,
    .push_account_put = lmdb_push_account_put,
    .sessions_list = lmdb_sessions_list,
    .recovery_get = lmdb_recovery_get,
    .recovery_put = lmdb_recovery_put,
    .recovery_by_phone = lmdb_recovery_by_phone,
    .places_get = lmdb_places_get,
    .places_put = lmdb_places_put,
    .outbox_add = lmdb_outbox_add,
    .outbox_claim = lmdb_outbox_claim,
    .outbox_settle = lmdb_outbox_settle,
    .outbox_get = lmdb_outbox_get,
    .org_del = lmdb_org_del,
    .org_get = lmdb_org_get,
    .memberships_list = lmdb_memberships_list,
    .members_list = lmdb_members_list,
    .account_delete = lmdb_account_delete,
    .case_get = lmdb_case_get,
    .case_put = lmdb_case_put,
    .cases_list = lmdb_cases_list,
    .doc_put = lmdb_doc_put,
    .doc_get = lmdb_doc_get,
    .docs_del = lmdb_docs_del,
    .outbox_pending = lmdb_outbox_pending,
    .event_add = lmdb_event_add,
    .events_list = lmdb_events_list,
    .walk = lmdb_walk_records,
    .outbox_failures = lmdb_outbox_failures,
    .setting_get = lmdb_setting_get,
    .setting_put = lmdb_setting_put,
    .settings_list = lmdb_settings_list,
    .seals_walk = lmdb_seals_walk,
    .sweep = lmdb_sweep,
};
