/*
 * The PostgreSQL engine's insides: a transaction on one connection
 * thread's PGconn, the prepared statements the typed operations (ops.c)
 * run, and the schema (schema.c). Only store/pg/ includes this header, and
 * only store/pg/ includes libpq-fe.h.
 *
 * Errors inside a transaction are sticky: the first failed statement sets
 * pg_txn.err and every later pg_exec() returns NULL at once without a
 * round trip, so a transaction that hit an error never runs another
 * statement and is never committed, whatever txn_work does with the code.
 */
#ifndef AUTHD_STORE_PG_INTERNAL_H
#define AUTHD_STORE_PG_INTERNAL_H

#include "../store-internal.h"

#include <libpq-fe.h>

/* The schema version this engine reads and writes (authd_schema.version). */
#define PG_SCHEMA_VERSION 16
/* The channel of the notes nodes send each other (store_notify). */
#define PG_NOTE_CHANNEL "authd"

/*
 * The engine's own code for "this transaction lost a race (serialization
 * failure, deadlock, or a unique key a concurrent transaction inserted):
 * roll back and run txn_work again". Operations return it like any
 * STORE_E_*; the engine turns it into a retry and never lets it reach a
 * job's done().
 */
#define STORE_E_RETRY (-100)

/* What a failed statement's SQLSTATE means to the engine. */
enum pg_fail {
	PG_FAIL_NONE = 0,
	PG_FAIL_CONFLICT, /* 40001, 40P01: retry */
	PG_FAIL_UNIQUE,	  /* 23505: retry a few times (a concurrent insert) */
	PG_FAIL_LOST,	  /* the connection is gone */
	PG_FAIL_OTHER,
};

/* How a job's statements run (txn.c). */
enum pg_mode {
	PG_READ_ONE, /* a read job's first try: one statement, no transaction block */
	PG_READ,     /* REPEATABLE READ READ ONLY */
	PG_WRITE,    /* SERIALIZABLE */
	PG_WRITE_RR, /* REPEATABLE READ: a job.decides_on_own_writes */
	PG_LOOP,     /* on the loop (loop.c): only the row fetched ahead, no statement */
};

/*
 * The engine's own code for "this read job asked for a second statement in
 * PG_READ_ONE: run it again in a transaction block". Like STORE_E_RETRY it
 * never reaches a job's done().
 */
#define STORE_E_REDO (-101)

#define PG_PENDING_RING 64
#define PG_DIRTY_MAX	64

/*
 * What a transaction read of one account's records (its cluster: account,
 * TOTP credential, backup codes, and for a pending login the two throttle
 * histories of its second factor), fetched with the session or pending
 * login in one statement. A getter answers from here while the record is
 * known; a write of the record forgets it, so a later get reads the
 * transaction's own write from the server.
 */
struct pg_cluster {
	bool loaded;
	uint8_t id[AUTHD_ID_LEN];
	bool has_account, has_totp, has_backup, has_tf, has_ta; /* known */
	int account_rc, totp_rc, backup_rc; /* 0, STORE_E_NOTFOUND or STORE_E_CORRUPT */
	int tf_rc, ta_rc;
	struct account account;
	struct totp_rec totp;
	struct backup_rec backup;
	struct throttle_rec tf, ta;
};

struct pg_txn {
	struct store_txn base;
	PGconn *conn;
	int err;	   /* the first failure's STORE_E_*, 0 while none */
	enum pg_fail fail; /* and its kind */
	enum pg_mode mode;
	bool begun;	      /* BEGIN sent */
	bool commit_sent;     /* COMMIT sent: a lost answer leaves the outcome unknown */
	bool sent_since_sync; /* something sent after the last Sync */
	unsigned statements;  /* sent in this run */
	unsigned syncs;	      /* Syncs sent whose sync point was not read yet */
	/* Statements sent whose results were not read yet, oldest first. */
	const char *pending_what[PG_PENDING_RING];
	unsigned pending_head, pending;
	struct pg_cluster cluster;
	/* The job's first read, fetched ahead with other jobs' (pg_prefetch):
	 * the getter it answers takes it (and PQclear()s it). */
	PGresult *prefetched;
	const struct job *prefetched_for; /* whose first read it is */
	/* A session read with access facts (STORE_FIRST_SESSION_ACCESS):
	 * the result, kept for the store_access_facts that follows. */
	PGresult *facts;
	/* The accounts whose records this transaction wrote: a row fetched
	 * ahead for one of them (before the write) is not used. */
	uint8_t dirty[PG_DIRTY_MAX][AUTHD_ID_LEN];
	unsigned n_dirty;
	bool dirty_overflow;
	/* The pending login this transaction read (and found): a put of it is
	 * an UPDATE, which a concurrent delete makes fail, not an upsert. */
	bool login_read;
	struct token_ref login_ref;
};

/* Notes that t wrote a record of account id (ops.c's writes do). */
void pg_mark_dirty(struct pg_txn *t, const uint8_t id[AUTHD_ID_LEN]);
/* Whether t wrote a record of account id. */
bool pg_is_dirty(const struct pg_txn *t, const uint8_t id[AUTHD_ID_LEN]);
/*
 * Fetches the first reads of n jobs (job.first said; others skipped) in one
 * round trip: in a write transaction after its BEGIN, or, in PG_READ_ONE,
 * each in a snapshot of its own up to one Sync. out[i] is job i's row, or
 * NULL. Returns 0 or t's failure (every out[i] NULL then).
 */
int pg_txn_prefetch(struct pg_txn *t, struct job *const *jobs, int n, PGresult **out);

/* The statements of the typed operations, prepared on every connection. */
enum pg_stmt {
	ST_ACCOUNT_GET,
	ST_ACCOUNT_PUT,
	ST_ACCOUNT_BY_EMAIL,
	ST_ORG_PUT,
	ST_MEMBER_PUT,
	ST_SESSION_PUT,
	ST_SESSION_DEL,
	ST_SESSION_DEL_ALL,
	ST_SESSION_DEL_ALL_BUT,
	ST_LOGIN_PUT,
	ST_LOGIN_UPDATE,
	ST_LOGIN_DEL,
	ST_LOGIN_DEL_ALL,
	ST_TOTP_GET,
	ST_TOTP_PUT,
	ST_TOTP_STEP,
	ST_TOTP_DEL,
	ST_BACKUP_GET,
	ST_BACKUP_PUT,
	ST_BACKUP_DEL,
	ST_THROTTLE_GET,
	ST_THROTTLE_PUT,
	ST_LINK_GET,
	ST_LINK_PUT,
	ST_LINK_DEL,
	ST_LINK_DEL_ALL,
	ST_DEVICE_GET,
	ST_DEVICE_PUT,
	ST_DEVICE_DEL,
	ST_DEVICE_STEP,
	ST_DEVICES_LIST,
	ST_CHALLENGE_GET,
	ST_CHALLENGE_PUT,
	ST_CHALLENGES_LIST,
	ST_CHALLENGES_PENDING,
	ST_NOTIFY,
	ST_PUSH_ACCOUNT_GET,
	ST_PUSH_ACCOUNT_PUT,
	ST_SESSIONS_LIST,
	ST_RECOVERY_GET,
	ST_RECOVERY_PUT,
	ST_RECOVERY_DEL,
	ST_RECOVERY_BY_PHONE,
	ST_PLACES_GET,
	ST_PLACES_PUT,
	ST_OUTBOX_ADD,
	ST_OUTBOX_CLAIM,
	ST_OUTBOX_SETTLE,
	ST_OUTBOX_GET,
	ST_OUTBOX_PENDING,
	ST_EVENT_ADD,
	ST_EVENTS_LIST,
	ST_ORG_DEL,
	ST_ORG_GET,
	ST_MEMBERSHIPS_LIST,
	ST_MEMBERS_LIST,
	ST_ACCOUNT_DELETE,
	ST_CASE_GET,
	ST_CASE_PUT,
	ST_CASES_OPEN,
	ST_CASES_ALL,
	ST_DOC_PUT,
	ST_DOC_GET,
	ST_DOCS_DEL,
	ST_MEMBER_GET,
	ST_MEMBER_DEL,
	ST_AUDIT_ADD,
	ST_AUDIT_LIST,
	ST_INVITE_PUT,
	ST_INVITE_GET,
	ST_INVITE_BY_TOKEN,
	ST_INVITES_LIST,
	ST_INVITE_DEL,
	ST_PRODUCT_PUT,
	ST_PRODUCT_GET,
	ST_PRODUCT_DEL,
	ST_PRODUCTS_LIST,
	ST_GRANT_PUT,
	ST_GRANT_GET,
	ST_GRANT_DEL,
	ST_GRANTS_LIST,
	ST_GRANTS_DEL_SUBJECT,
	ST_TEAM_PUT,
	ST_TEAM_GET,
	ST_TEAM_DEL,
	ST_TEAMS_LIST,
	ST_TEAM_MEMBER_PUT,
	ST_TEAM_MEMBER_DEL,
	ST_TEAM_MEMBERS_LIST,
	ST_MEMBER_TEAMS_LIST,
	ST_ADDRESS_PUT,
	ST_ADDRESS_DEL,
	ST_ADDRESSES_LIST,
	ST_SUPPORT_PUT,
	ST_SUPPORT_GET,
	ST_SUPPORT_DEL,
	ST_SUPPORT_LIST,
	ST_BALANCE_GET,
	ST_BALANCE_PUT,
	ST_LEDGER_ADD,
	ST_LEDGER_LIST,
	ST_PAYMENT_PUT,
	ST_PAYMENT_GET,
	ST_PAYMENTS_LIST,
	ST_INVOICE_PUT,
	ST_INVOICE_GET,
	ST_INVOICES_LIST,
	ST_COUNTER_NEXT,
	ST_VOUCHER_PUT,
	ST_VOUCHER_GET,
	ST_VOUCHERS_LIST,
	ST_PRODUCTS_DUE,
	ST_PRODUCT_UPDATE,
	ST_SUPPORT_LIVE,
	ST_PARTNER_PUT,
	ST_PARTNER_GET,
	ST_PARTNER_DEL,
	ST_PARTNERS_AS_CLIENT,
	ST_PARTNERS_AS_PARTNER,
	ST_TOKEN_UPDATE,
	ST_TOKENS_DEL_ACCOUNT,
	ST_ACCESS_FACTS,
	ST_TOKEN_GET,
	ST_TOKEN_PUT,
	ST_TOKEN_DEL,
	ST_TOKENS_LIST,
	ST_SESSION_CLUSTER,
	ST_SESSION_ACCESS,
	ST_LOGIN_CLUSTER,
	ST_SWEEP_LOCK,
	ST_SWEEP,
	ST_SETTING_GET,
	ST_OUTBOX_FAILURES,
	ST_SETTING_PUT,
	ST_SETTINGS_LIST,
	ST_SEALS_TOTP,
	ST_RESEAL_TOTP,
	ST_RESEAL_TOTP_PENDING,
	ST_SEALS_DEVICE,
	ST_RESEAL_DEVICE,
	ST_SEALS_OUTBOX,
	ST_RESEAL_OUTBOX,
	ST_SEALS_DOC,
	ST_RESEAL_DOC,
	/* Transaction control, prepared too (a statement parsed per job costs
	 * the server as much as a small read). */
	ST_BEGIN_WRITE,
	ST_BEGIN_WRITE_RR,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST__COUNT
};

struct pg_stmt_def {
	const char *name;
	const char *sql;
};

extern const struct pg_stmt_def pg_stmts[ST__COUNT];

#define PG_PARAMS_MAX 32

/* A statement's parameters, all sent in binary format. Values point into
 * the caller's memory (or scratch) and must outlive pg_exec(). */
struct pg_params {
	int n;
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	char scratch[PG_PARAMS_MAX][8];
};

/*
 * Runs prepared statement st with p in t and waits for its rows, results
 * in binary format. Returns the result (the caller PQclear()s it) when the
 * statement succeeded, or NULL with t->err set (a STORE_E_*, STORE_E_RETRY
 * or STORE_E_REDO) when it failed or an earlier statement of t had.
 */
PGresult *pg_exec(struct pg_txn *t, enum pg_stmt st, const struct pg_params *p);
/*
 * Queues statement st (a write whose rows do not matter) in t without
 * waiting: its failure shows at the next pg_exec() or at commit, and fails
 * the job. p's values are copied. Returns 0 or t's earlier failure.
 */
int pg_send(struct pg_txn *t, enum pg_stmt st, const struct pg_params *p);

/*
 * Fetches the first reads of n read jobs (each with job.first said) in one
 * round trip on conn, each a statement of its own; out[i] is job i's
 * result, or NULL when it could not be had (the job then reads it
 * itself). Returns 0, or the failure when the connection is lost (every
 * out[i] NULL).
 */
int pg_prefetch(PGconn *conn, struct job *const *jobs, int n, PGresult **out);
/* ops.c: the statement and parameters of a first read (keys: scratch
 * space that must outlive sending it). */
enum pg_stmt pg_first_stmt(const struct job *job, struct pg_params *p,
			   uint8_t keys[2][THROTTLE_KEY_LEN]);
/* Gives t job's first read fetched ahead (res may be NULL), and clears
 * what t kept of an earlier one. */
void pg_txn_give(struct pg_txn *t, const struct job *job, PGresult *res);

/* pg.c: what loop.c hands back. */
int pg_prepare_all(PGconn *conn);
/* Queues read jobs for the connection threads (from the loop). */
void pg_queue_reads(struct job **jobs, int n);
/* Wakes the connection threads (one of them makes the loop's connection). */
void pg_wake_threads(void);
/* Says a connection was just made: a thread whose own attempt failed
 * before tries again at once instead of waiting out its backoff. */
void pg_server_up(void);
/* Hands a finished job back (store_options.complete). */
void pg_job_complete(struct job *job);

/* loop.c: the loop's own connection (see there). All on the loop thread
 * but pg_loop_wanted() and pg_loop_connect(), which a connection thread
 * calls to make the connection the loop asked for. */
bool pg_loop_take(struct job *job);
void pg_loop_send(void);
void pg_loop_ready(void);
int pg_loop_fd(unsigned *generation, bool *want_write);
void pg_loop_stop(void);
bool pg_loop_wanted(void);
void pg_loop_connect(const char *url);
/* Where notes go (store_options.notified); set before the loop runs. */
void pg_loop_set_notified(void (*fn)(const char *note));

/* Wipes a result's values (a row may hold a password hash, a sealed seed,
 * backup-code hashes) and frees it, like PQclear(); NULL is fine. */
void pg_clear(PGresult *res);

/* Starts t on conn (in pipeline mode, idle). */
void pg_txn_init(struct pg_txn *t, PGconn *conn, enum pg_mode mode);
/* Commits what t sent (nothing to do when it sent nothing, or in
 * PG_READ_ONE). Returns 0 or the failure, with t's failure set. */
int pg_txn_commit(struct pg_txn *t);
/* After t failed or committed: reads what is still in flight and rolls an
 * open transaction back, so the connection is idle again; leaves
 * t->fail == PG_FAIL_LOST when it cannot be (drop the connection). */
void pg_txn_finish(struct pg_txn *t);

/*
 * Connects to url (any libpq conninfo or URI) with the engine's timeouts
 * and keepalives; the URL's own settings win. Returns the connection or
 * NULL (logged, unless quiet).
 */
PGconn *pg_connect(const char *url, bool quiet);

/* Classifies a failed result (NULL: libpq could not even send) into a
 * STORE_E_* and its kind; logs unexpected failures under `what`. */
int pg_result_error(PGconn *conn, const PGresult *res, const char *what, enum pg_fail *fail);

/* schema.c: reads the schema version (0: no authd schema) into *version.
 * Returns 0 or -1 (logged). */
int pg_schema_version(PGconn *conn, int *version);
/* schema.c: creates or upgrades the schema on conn in one transaction under
 * an advisory lock. Returns 0 or -1 (logged). */
int pg_schema_migrate(PGconn *conn);

/* The typed operations (ops.c). */
int pg_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *a);
int pg_account_put(struct store_txn *t, const struct account *a);
int pg_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN]);
int pg_org_put(struct store_txn *t, const struct org *o);
int pg_member_put(struct store_txn *t, const struct member *m);
int pg_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t account_id[AUTHD_ID_LEN], struct member *m);
int pg_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t account_id[AUTHD_ID_LEN]);
int pg_audit_add(struct store_txn *t, const struct audit_rec *a);
int pg_product_put(struct store_txn *t, const struct product *p);
int pg_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], struct product *p);
int pg_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN]);
int pg_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct product *p), void *arg);
int pg_grant_put(struct store_txn *t, const struct grant *g);
int pg_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		 const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		 struct grant *g);
int pg_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		 const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN]);
int pg_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN],
		   int (*fn)(void *arg, const struct grant *g), void *arg);
int pg_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t subject[AUTHD_ID_LEN]);
int pg_team_put(struct store_txn *t, const struct team *tm);
int pg_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		const uint8_t id[AUTHD_ID_LEN], struct team *tm);
int pg_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		const uint8_t id[AUTHD_ID_LEN]);
int pg_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  int (*fn)(void *arg, const struct team *tm), void *arg);
int pg_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t team_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN]);
int pg_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t team_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN]);
int pg_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg);
int pg_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg);
int pg_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		   int64_t *minor);
int pg_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		   int64_t minor);
int pg_ledger_add(struct store_txn *t, const struct ledger_entry *e);
int pg_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		   int (*fn)(void *arg, const struct ledger_entry *e), void *arg);
int pg_payment_put(struct store_txn *t, const struct payment *p);
int pg_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p);
int pg_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct payment *p), void *arg);
int pg_product_update(struct store_txn *t, const struct product *p);
int pg_cluster_lock(struct store_txn *t, int64_t key, bool *held);
int pg_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		    size_t limit, int (*fn)(void *arg, const struct product *p), void *arg);
int pg_invoice_put(struct store_txn *t, const struct invoice *inv);
int pg_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv);
int pg_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct invoice *inv), void *arg);
int pg_counter_next(struct store_txn *t, const char *name, uint64_t *value);
int pg_setting_get(struct store_txn *t, const char *name, uint64_t *value);
int pg_outbox_failures(struct store_txn *t, size_t limit,
		       int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
int pg_setting_put(struct store_txn *t, const char *name, uint64_t value);
int pg_settings_list(struct store_txn *t, const char *prefix,
		     int (*fn)(void *arg, const char *name, uint64_t value), void *arg);
int pg_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		  int (*fn)(void *arg, struct store_seal *s), void *arg);
int pg_voucher_put(struct store_txn *t, const struct voucher *v);
int pg_voucher_get(struct store_txn *t, const char *code, struct voucher *v);
int pg_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v), void *arg);
int pg_address_put(struct store_txn *t, const struct billing_address *a);
int pg_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN]);
int pg_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct billing_address *a), void *arg);
int pg_support_put(struct store_txn *t, const struct support_grant *g);
int pg_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g);
int pg_support_del(struct store_txn *t, const struct support_grant *g);
int pg_support_live(struct store_txn *t, int64_t now,
		    int (*fn)(void *arg, const struct support_grant *g), void *arg);
int pg_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct support_grant *g), void *arg);
int pg_partner_put(struct store_txn *t, const struct partner_link *l);
int pg_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		   const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l);
int pg_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		   const uint8_t partner_org[AUTHD_ID_LEN]);
int pg_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
		     int (*fn)(void *arg, const struct partner_link *l), void *arg);
int pg_token_update(struct store_txn *t, const struct api_token *tok);
int pg_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		    struct member *m, struct product *p, bool *has_product, struct grant *grants,
		    size_t max, size_t *n);
int pg_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok);
int pg_token_put(struct store_txn *t, const struct api_token *tok);
int pg_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		 const uint8_t id[AUTHD_ID_LEN]);
int pg_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   int (*fn)(void *arg, const struct api_token *tok), void *arg);
int pg_invite_put(struct store_txn *t, const struct invite *inv);
int pg_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN], struct invite *inv);
int pg_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
		       struct invite *inv);
int pg_invite_del(struct store_txn *t, const struct invite *inv);
int pg_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct invite *inv), void *arg);
int pg_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const struct event_cursor *before, size_t limit,
		  int (*fn)(void *arg, const struct audit_rec *a), void *arg);
int pg_session_get(struct store_txn *t, const struct token_ref *ref, struct session *s);
int pg_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *l);
int pg_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l);
int pg_link_del(struct store_txn *t, const struct token_ref *ref);
int pg_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct push_challenge *c);
int pg_challenge_put(struct store_txn *t, const struct push_challenge *c);
int pg_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct push_challenge *c), void *arg);
int pg_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			  int (*fn)(void *arg, const struct push_challenge *c), void *arg);
int pg_notify(struct store_txn *t, const char *note);
int pg_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			struct push_account *a);
int pg_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			const struct push_account *a);
int pg_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *d);
int pg_device_put(struct store_txn *t, const struct push_device *d);
int pg_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], int64_t last_step);
int pg_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN]);
int pg_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct push_device *d), void *arg);
int pg_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s);
int pg_session_del(struct store_txn *t, const struct token_ref *ref);
int pg_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const struct token_ref *keep);
int pg_login_get(struct store_txn *t, const struct token_ref *ref, struct login *l);
int pg_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l);
int pg_login_del(struct store_txn *t, const struct token_ref *ref);
int pg_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], struct totp_rec *rec);
int pg_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		const struct totp_rec *rec);
int pg_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  struct backup_rec *b);
int pg_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct backup_rec *b);
int pg_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		    struct throttle_rec *r);
int pg_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		    const struct throttle_rec *r);
int pg_event_add(struct store_txn *t, const struct security_event *e);
int pg_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const struct event_cursor *before, size_t limit,
		   int (*fn)(void *arg, const struct security_event *e), void *arg);
int pg_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
		     void *arg);
int pg_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct recovery_rec *r);
int pg_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct recovery_rec *r);
int pg_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg);
int pg_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  struct places_rec *p);
int pg_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct places_rec *p);
int pg_outbox_add(struct store_txn *t, const struct outbox_msg *m);
int pg_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		    int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
int pg_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until);
int pg_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m);
int pg_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
int pg_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o);
int pg_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct member *m), void *arg);
int pg_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct member *m), void *arg);
int pg_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int pg_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c);
int pg_case_put(struct store_txn *t, const struct case_rec *c);
int pg_cases_list(struct store_txn *t, bool all, size_t limit,
		  int (*fn)(void *arg, const struct case_rec *c), void *arg);
int pg_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
	       int64_t uploaded_at, const uint8_t *sealed, size_t len);
int pg_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n, uint8_t **out,
	       size_t *len);
int pg_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN]);
int pg_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest);
int pg_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
	     const struct store_sweep_pos *from, struct store_sweep_pos *to, size_t *deleted);

#endif
