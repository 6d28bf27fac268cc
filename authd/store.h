/*
 * The store: authd's only door to LMDB. One environment, one named database
 * per record kind, read transactions on the loop thread and every write on
 * one writer thread that groups the jobs queued meanwhile into one durable
 * commit (group commit; MDB_NOSYNC and MDB_NOMETASYNC are never set).
 *
 * A write job's txn_work(job, txn) first reads and decides, then writes.
 * It returns 0 to keep its writes, or a negative STORE_E_* when a read or
 * write failed; the writer then aborts the batch, fails that job alone and
 * runs the others again in a fresh transaction, so txn_work must derive
 * everything from the txn and its job's inputs (it may run more than once).
 * After the commit, job->store_rc is 0 (durable) or a STORE_E_* and
 * job->done runs on the loop.
 */
#ifndef AUTHD_STORE_H
#define AUTHD_STORE_H

#include "async.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>

enum store_rc {
	STORE_OK = 0,
	STORE_E_NOTFOUND = -1,
	STORE_E_FULL = -2,   /* map or readers full: 503 */
	STORE_E_IO = -3,     /* anything else LMDB reported: 503 */
	STORE_E_CORRUPT = -4 /* a record that does not decode */
};

enum store_db {
	DB_ACCOUNTS, /* account id -> account record */
	DB_EMAILS,   /* normalized email -> account id */
	DB_ORGS,     /* organization id -> organization record */
	DB_MEMBERS,  /* org id || account id -> membership record */
	/* An account's cluster: account id || kind || sub-key. Kinds (records.h):
	 * 'T' TOTP credential (seed sealed), 'S' || SHA-256(session token)[0..16)
	 * session, 'L' || SHA-256(login id)[0..16) pending second-factor login. */
	DB_CLUSTER,
	DB_BACKUP,   /* account id -> backup-code hashes (rarely written: kept out
		      * of the cluster, whose pages every login step writes) */
	DB_THROTTLE, /* subject -> failure history */
	DB_META,     /* "format" -> the layout version of this environment */
	DB__COUNT
};

/* Opens (creating) the environment in dir (0700, files 0600) with the given
 * map size and clears stale reader slots. Returns 0 or -1 (logged). */
int store_open(const char *dir, size_t map_size_mb);
/* Starts the writer thread. Returns 0 or -1. */
int store_start_writer(void);
/* Stops the writer after committing what is queued; a job submitted after
 * this completes at once with STORE_E_IO. */
void store_stop_writer(void);
/* Stops the writer if running, then closes LMDB. */
void store_close(void);
/* True when the accounts database holds no record (a fresh install). */
bool store_is_empty(void);

/* Queues a write job (job->txn_work, then job->done on the loop). */
void store_submit(struct job *job);

/*
 * A read transaction for the calling thread (the loop); end it before
 * returning to the event loop. Returns 0 or STORE_E_*.
 */
int store_read_begin(MDB_txn **txn);
void store_read_end(MDB_txn *txn);

/* Point operations inside any transaction. store_get's value points into the
 * read-only map and is valid until the transaction ends. */
int store_get(MDB_txn *txn, enum store_db db, const void *key, size_t klen, MDB_val *val);
int store_put(MDB_txn *txn, enum store_db db, const void *key, size_t klen, const void *val,
	      size_t vlen);
int store_del(MDB_txn *txn, enum store_db db, const void *key, size_t klen);

/* Calls fn for every key in db starting with prefix (plen bytes); fn returns
 * 0 to go on. Deleting the visited key from fn is allowed. Returns 0 or
 * STORE_E_*. */
int store_each_prefix(MDB_txn *txn, enum store_db db, const void *prefix, size_t plen,
		      int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
		      void *arg);

/* Calls fn for every key of db from `start` (slen bytes; NULL: the first
 * key) onwards, until fn returns non-zero. Returns 0 or STORE_E_*. */
int store_each_from(MDB_txn *txn, enum store_db db, const void *start, size_t slen,
		    int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
		    void *arg);

/* What the writer did since start, for the benchmark. */
struct store_stats {
	unsigned long commits; /* groups committed */
	unsigned long jobs;    /* jobs written */
	unsigned long work_us; /* running the jobs' txn_work */
	unsigned long sync_us; /* committing: writing pages and syncing */
};
void store_stats(struct store_stats *st);

#endif
