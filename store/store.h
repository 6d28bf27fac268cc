/*
 * The store: authd's one door to its records, with two engines behind it.
 * LMDB (embedded, one node) and PostgreSQL (several nodes) implement the
 * same typed operations on an opaque transaction; no LMDB or libpq type
 * appears above this header, and how records are keyed or laid out in
 * columns is each engine's own business.
 *
 * Work reaches the store as jobs. store_write(job) runs job->txn_work in a
 * write transaction; store_read(job) runs it in a read-only one. Either
 * way job->done then runs on the loop thread (through the completion
 * function given to store_open). The contract every job relies on, on both
 * engines:
 *
 *   - A job's reads and writes take effect atomically or not at all: after
 *     done() sees store_rc == 0 every write of the job is durable (a 2xx may
 *     be sent); with any other store_rc none of them happened.
 *   - txn_work may run more than once (LMDB re-runs a batch without a job
 *     that failed; PostgreSQL retries a transaction that lost a race), so it
 *     derives everything from the transaction and its job's inputs and
 *     keeps its outputs in the job, overwritten on each run.
 *   - Single-use values (a TOTP step, a backup code, a pending login, a
 *     throttle record) read and then written in one write job are consumed
 *     exactly once, however many jobs or nodes race for them: LMDB runs
 *     write jobs one at a time on a single writer; PostgreSQL runs each in a
 *     SERIALIZABLE transaction (REPEATABLE READ for a job that writes every
 *     record it decides on, job.decides_on_own_writes) and retries it when
 *     it loses. Either engine may commit several write jobs together (group
 *     commit): each sees the ones before it, and none is kept unless all
 *     are, or each runs again alone.
 *   - txn_work returns 0 to keep its work, or a negative STORE_E_* when an
 *     operation failed; a decision ("wrong code") is not a failure: it is an
 *     output of the job, and the writes that record it are kept.
 *
 * Every operation returns 0 or a negative STORE_E_*. Getters write their
 * output only on success. Operations are called only from txn_work, on the
 * thread that runs it.
 */
#ifndef AUTHD_STORE_H
#define AUTHD_STORE_H

#include <core.h>
#include <push.h>
#include <recovery.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_rc {
	STORE_OK = 0,
	STORE_E_NOTFOUND = -1,
	STORE_E_FULL = -2,	  /* out of space or readers: 503 */
	STORE_E_IO = -3,	  /* anything else the engine reported: 503 */
	STORE_E_CORRUPT = -4,	  /* a record that does not decode */
	STORE_E_UNAVAILABLE = -5, /* the database cannot be reached: 503 */
};

struct store_txn; /* opaque: an engine's transaction */

/*
 * The unit of asynchronous work. A job runs on the worker pool (work) or in
 * the store (txn_work), then done() runs on the loop thread. The submitter
 * owns the job; between submit and done() only the thread running it
 * touches it.
 */
/* What a read job reads first, when its submitter knows (job.first). */
enum store_first {
	STORE_FIRST_UNSAID = 0,
	STORE_FIRST_SESSION, /* store_session_get(first_ref) */
	STORE_FIRST_LOGIN,   /* store_login_get(first_ref) */
	/* store_session_get(first_ref), then store_access_facts(first_org,
	 * first_product, first_ref.account_id): PostgreSQL reads both in one
	 * statement (one snapshot, one round trip). */
	STORE_FIRST_SESSION_ACCESS,
};

struct job {
	struct job *next;
	void (*work)(struct job *job);				 /* pool thread */
	int (*txn_work)(struct job *job, struct store_txn *txn); /* store */
	void (*done)(struct job *job);				 /* loop thread */
	int store_rc; /* 0, or STORE_E_* when nothing was written */
	/* A read job may say which read its txn_work makes first: an engine
	 * may fetch it ahead, together with other queued jobs' (PostgreSQL
	 * sends the first reads of up to 16 queued read jobs in one round
	 * trip). Only a hint: a txn_work that reads something else first
	 * gets what it asks for. Write jobs ignore it. */
	enum store_first first;
	struct token_ref first_ref;
	uint8_t first_org[AUTHD_ID_LEN], first_product[AUTHD_ID_LEN];
	/* A write job may say that every record it decides on, it also writes
	 * by changing or deleting the row it read (a TOTP step: the pending
	 * login deleted or its attempts counted, the credential's last step):
	 * then two jobs that race meet on a row, and PostgreSQL may run the
	 * job at REPEATABLE READ, where the first to write a row wins and the
	 * other runs again, instead of SERIALIZABLE (whose predicate locks
	 * cost the server more than the statements). A job that decides on a
	 * record it leaves alone, or only inserts, must not say so. */
	bool decides_on_own_writes;
	/* A write job may name the organization (or account) whose rows it
	 * locks: PostgreSQL runs a group's jobs in the order of their keys, so
	 * that two groups take the rows of two organizations in one order and
	 * do not wait on each other in a circle (a deadlock costs a second;
	 * jobs without a key, or that lock rows of several, still may).
	 * Zeros: no key (first in a group). */
	uint8_t group_key[AUTHD_ID_LEN];
};

enum store_engine { STORE_ENGINE_LMDB, STORE_ENGINE_POSTGRESQL };

struct store_options {
	enum store_engine engine;
	/* LMDB */
	const char *data_dir; /* created 0700; files 0600 */
	size_t map_size_mb;
	/* PostgreSQL */
	const char *url;      /* any libpq conninfo or postgresql:// URI */
	unsigned connections; /* connection threads; 0: the engine's default */
	/* Hands a finished job to the loop; called from any thread. */
	void (*complete)(struct job *job);
	/* A note another node sent (store_notify), on the loop thread; NULL
	 * when notes may have been missed (the engine's listening connection
	 * was new or came back): read again what they would have said. Only
	 * engines that several nodes share call it. */
	void (*notified)(const char *note);
};

/* Parses "lmdb" or "postgresql"; returns 0 or -1. */
int store_engine_parse(const char *name, enum store_engine *out);

/* Opens the store (LMDB: creating what a new install needs; PostgreSQL:
 * the schema must be this authd's version, see store_migrate). Returns 0
 * or -1 (logged). */
int store_open(const struct store_options *o);
/* Creates or upgrades the engine's schema to this authd's version (a no-op
 * on LMDB, whose layout store_open creates). Returns 0 or -1 (logged). */
int store_migrate(const struct store_options *o);
/* Starts the store's threads. Returns 0 or -1. */
int store_start(void);
/* Finishes the queued jobs and stops the threads; a job submitted after
 * this completes at once with STORE_E_IO. */
void store_stop(void);
/* Stops if running, then closes the store. */
void store_close(void);
/* Whether the store holds no account (a fresh install). 0 or STORE_E_*. */
int store_is_empty(bool *empty);
/* store_setting_get outside any job (at start, before the store runs
 * jobs): 0 or STORE_E_*. */
int store_setting_read(const char *name, uint64_t *value);
/*
 * LMDB only, and without store_open: a compacted copy of the environment
 * in data_dir (which a server may be serving from) as dir/data.mdb (dir
 * exists and holds no data.mdb), made from one read transaction and
 * synced. This process must not have the environment open. 0 or
 * STORE_E_IO (logged).
 */
int store_lmdb_copy(const char *data_dir, const char *dir);
/* PostgreSQL's tools (pg_dump, pg_restore) get the connection url names as
 * a libpq service file written to fd (the caller's: a memfd, so never on
 * disk): its settings under [authd], for PGSERVICEFILE and
 * PGSERVICE=authd, so that no password goes on a command line. 0, or
 * STORE_E_IO (logged: a url a service file cannot carry, a write). */
int store_pg_service_write(const char *url, int fd);
/*
 * Whether write jobs run one at a time, each waiting for the one before
 * (LMDB's single writer): then work a flow can do before its write (a TOTP
 * code computed on the loop) shortens every other write's wait. On
 * PostgreSQL write jobs run side by side on the connection threads, and
 * that early read would only cost a round trip more.
 */
bool store_single_writer(void);
/*
 * Whether several authd nodes may share the store (PostgreSQL): then a
 * record another node wrote can change under this one, notes travel
 * between nodes (store_notify) and a node reads again now and then what a
 * lost note would have told it.
 */
bool store_shared(void);

/*
 * Between store_batch_begin() and store_batch_end(), the jobs the calling
 * thread submits wait for store_batch_end() to be started, so that an
 * engine may take them together (PostgreSQL: one round trip for the first
 * reads of many read jobs). The event loop brackets each pass with them.
 * Other threads' jobs are not held.
 */
void store_batch_begin(void);
void store_batch_end(void);

/*
 * An engine may answer some of the loop's read jobs on the loop itself,
 * without ever waiting there (PostgreSQL: the reads jobs say they make
 * first, sent in the loop's passes on a non-blocking connection of its
 * own). store_loop_fd() gives the descriptor the loop must watch for
 * reading, and for writing when *want_write, or -1; *generation changes
 * when the descriptor is another one (stop watching the old one). The
 * loop calls store_loop_ready() when it is ready, and store_loop_fd()
 * again after each pass. An engine uses this only once store_loop_fd()
 * was called. Loop thread only.
 */
int store_loop_fd(unsigned *generation, bool *want_write);
void store_loop_ready(void);

/* Queues a write job: txn_work in a write transaction, then done(). */
void store_write(struct job *job);
/*
 * Runs a read job: txn_work in a read-only transaction (its writes fail),
 * then done(). LMDB runs both before store_read returns, on the calling
 * thread (the loop: a read costs about a microsecond); PostgreSQL runs
 * txn_work on a connection thread and done() on the loop later, or, for a
 * read the loop fetched ahead (job.first, store_loop_fd), both on the loop
 * once its row arrived. Either way the caller must not touch the job after
 * this call.
 */
void store_read(struct job *job);

/* --- typed operations ---------------------------------------------------------- */

int store_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *a);
/* Writes the account and files it under its email. */
int store_account_put(struct store_txn *t, const struct account *a);
/* The account id registered for a normalized email. */
int store_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN]);

int store_org_put(struct store_txn *t, const struct org *o);
/* An organization's record. 0 or STORE_E_NOTFOUND. */
int store_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o);
/* Deletes an organization's record (its memberships are the caller's). */
int store_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
/* An account's memberships, and an organization's members, in id order.
 * fn returns 0 to go on. 0, STORE_E_* or what fn returned. */
int store_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const struct member *m), void *arg);
int store_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct member *m), void *arg);
/* One membership. 0 or STORE_E_NOTFOUND. */
int store_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t account_id[AUTHD_ID_LEN], struct member *m);
/* Closes an account: deletes its record and its email's key, and
 * everything filed under it: sessions, pending logins, second factors,
 * devices and their challenges, recovery options, places, security events,
 * memberships. Organizations, cases, outbox messages and throttle
 * histories stay (the caller and the sweeper see to them).
 * STORE_E_NOTFOUND when there is no such account. */
int store_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
/* Writes a membership (new or changed), and deletes one. */
int store_member_put(struct store_txn *t, const struct member *m);
int store_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t account_id[AUTHD_ID_LEN]);

/*
 * Invitations (core.h's struct invite), filed under their organization and
 * found by their token's hash too. store_invite_put writes a new or
 * changed one (its token hash never changes); store_invites_list walks an
 * organization's, pending and ended, in id order.
 */
int store_invite_put(struct store_txn *t, const struct invite *inv);
int store_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct invite *inv);
int store_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
			  struct invite *inv);
int store_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct invite *inv), void *arg);
/* Deletes one, with its token's entry. */
int store_invite_del(struct store_txn *t, const struct invite *inv);

/*
 * An organization's products, work teams and grants (core.h). A product
 * or team is filed under its organization; a grant under its
 * organization, product and subject (a member's account or a team);
 * team membership both ways (a team's members, a member's teams).
 * Deleting a product deletes its grants; store_grants_del_subject deletes
 * every grant of a member or team in the organization (when it leaves or
 * goes); a team's members go with store_team_del.
 */
int store_product_put(struct store_txn *t, const struct product *p);
/* Writes a product read in this job: STORE_E_NOTFOUND when it is gone
 * (removed by a job that committed meanwhile), where store_product_put
 * would make it again. */
int store_product_update(struct store_txn *t, const struct product *p);
int store_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN], struct product *p);
int store_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN]);
int store_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct product *p), void *arg);
int store_grant_put(struct store_txn *t, const struct grant *g);
int store_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		    struct grant *g);
int store_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN]);
int store_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t product_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct grant *g), void *arg);
int store_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			     const uint8_t subject[AUTHD_ID_LEN]);
int store_team_put(struct store_txn *t, const struct team *tm);
int store_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], struct team *tm);
int store_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN]);
int store_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct team *tm), void *arg);
int store_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t team_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN]);
int store_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t team_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN]);
int store_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t team_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]),
			    void *arg);
int store_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t account_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg);

/*
 * What an access decision reads, in one go (PostgreSQL: one statement):
 * the account's membership of the organization (*m, m->role 0 when it is
 * none), the product (*p, *has_product), and the product's grants to the
 * account and to each team it is in there, at most max into grants (*n).
 * Grants are read only for a member. 0 or STORE_E_*.
 */
int store_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t product_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], struct member *m, struct product *p,
		       bool *has_product, struct grant *grants, size_t max, size_t *n);

/*
 * Partner relations (core.h's struct partner_link), filed under the
 * client and the partner organization; store_partners_list walks those
 * where org is the client (as_client) or the partner.
 */
int store_partner_put(struct store_txn *t, const struct partner_link *l);
int store_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		      const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l);
int store_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		      const uint8_t partner_org[AUTHD_ID_LEN]);
int store_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
			int (*fn)(void *arg, const struct partner_link *l), void *arg);

/*
 * An organization's billing addresses (core.h's struct billing_address),
 * listed in the order they were made (then by id). store_address_put
 * writes a new or changed one; store_address_del answers
 * STORE_E_NOTFOUND when the organization has no such address.
 */
int store_address_put(struct store_txn *t, const struct billing_address *a);
int store_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN]);
int store_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const struct billing_address *a), void *arg);

/*
 * The prepaid balance, its ledger and payments (core.h). A balance is an
 * organization's in one currency (0 when it never had one): the shell
 * keeps it the sum of the ledger's prepaid legs, writing the entry and
 * the new balance in one job; PostgreSQL also refuses a negative one.
 * Ledger entries are only added. A payment is found by its id (which its
 * Idempotency-Key decides) and written again as it moves from pending to
 * paid or failed; store_payment_get answers STORE_E_NOTFOUND for an id
 * nobody has. Both lists go newest first, at most limit entries.
 */
int store_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		      int64_t *minor);
int store_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		      int64_t minor);
int store_ledger_add(struct store_txn *t, const struct ledger_entry *e);
int store_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		      int (*fn)(void *arg, const struct ledger_entry *e), void *arg);
int store_payment_put(struct store_txn *t, const struct payment *p);
int store_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p);
int store_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			int (*fn)(void *arg, const struct payment *p), void *arg);

/*
 * The renewal scheduler's walk: products that expire at or before until
 * (those without an expiry never), in the order of their expiry, then
 * organization and id, strictly after *after (NULL: from the first), at
 * most limit of them. A slice ends at the last product it gave; the next
 * starts after it.
 */
/* Whether this job holds the cluster-wide lock named key until it ends
 * (*held): PostgreSQL's transaction advisory lock, taken without waiting
 * (another node's job that holds it makes *held false); LMDB's single
 * writer holds every lock. 0 or STORE_E_*. Write jobs only. */
int store_cluster_lock(struct store_txn *t, int64_t key, bool *held);

struct product_due_pos {
	int64_t expires_at;
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t id[AUTHD_ID_LEN];
};
int store_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		       size_t limit, int (*fn)(void *arg, const struct product *p), void *arg);

/*
 * Invoices (core.h's struct invoice), found by id and listed by
 * organization, newest first (at most limit). store_counter_next takes the
 * next value of a named sequence of the whole store (1 first; "invoice"
 * numbers invoices; the engine knows its names): never the same value
 * twice, and increasing. LMDB's single writer skips none; PostgreSQL's
 * sequences never make concurrent jobs wait or lose a race, and a job
 * that runs again takes a new value, so a number may be skipped. Vouchers are found by their code
 * and listed in its order; store_voucher_put writes a new one or its uses.
 */
int store_invoice_put(struct store_txn *t, const struct invoice *inv);
int store_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv);
int store_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			int (*fn)(void *arg, const struct invoice *inv), void *arg);
int store_counter_next(struct store_txn *t, const char *name, uint64_t *value);
int store_voucher_put(struct store_txn *t, const struct voucher *v);
int store_voucher_get(struct store_txn *t, const char *code, struct voucher *v);
int store_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v),
			void *arg);

/*
 * Support grants (core.h's struct support_grant), found by their id alone
 * (an agent's request names nothing else) and listed by organization,
 * oldest first. store_support_put writes a new or changed one;
 * store_support_get answers STORE_E_NOTFOUND for an id nobody has.
 */
int store_support_put(struct store_txn *t, const struct support_grant *g);
int store_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g);
int store_support_del(struct store_txn *t, const struct support_grant *g);
int store_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct support_grant *g), void *arg);
/* Every organization's grants live at now (not revoked, not expired), in
 * no particular order: what the operator's staff work with. */
int store_support_live(struct store_txn *t, int64_t now,
		       int (*fn)(void *arg, const struct support_grant *g), void *arg);

/*
 * API tokens (core.h's struct api_token), found by the SHA-256 of their
 * text and listed by account, in id order. store_token_put writes a new
 * or changed one (a request's rate ring and last use: the hot path of
 * every token request); store_token_del deletes the account's token id,
 * STORE_E_NOTFOUND when it has none such.
 */
int store_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok);
int store_token_put(struct store_txn *t, const struct api_token *tok);
int store_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN]);
int store_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct api_token *tok), void *arg);
/* Writes a token's rate ring and last use, only if the token is still
 * there (a revocation that commits first stays revoked): STORE_E_NOTFOUND
 * otherwise. */
int store_token_update(struct store_txn *t, const struct api_token *tok);
/* Deletes every token of the account (its sessions all ended: a reset, a
 * lock, a deleted login email). */
int store_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);

/* Records a change in an organization (its audit trail), and lists the
 * trail newest first from just before `before` (NULL: the newest), at
 * most limit, each with its seq set; as the security events. fn returns
 * 0 to go on. 0, STORE_E_* or what fn returned. */
int store_audit_add(struct store_txn *t, const struct audit_rec *a);
int store_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const struct event_cursor *before, size_t limit,
		     int (*fn)(void *arg, const struct audit_rec *a), void *arg);

int store_session_get(struct store_txn *t, const struct token_ref *ref, struct session *s);
int store_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s);
/* Deleting what is not there is not an error (for every *_del). */
int store_session_del(struct store_txn *t, const struct token_ref *ref);
/* Deletes every session of the account except `keep` (NULL: all). */
int store_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct token_ref *keep);

/* Calls fn for every session of the account (ended ones too: the caller
 * decides what is over), with the reference it is filed under (on LMDB
 * only the first 16 bytes of its hash, which every session operation
 * takes). fn returns 0 to go on. 0, STORE_E_* or what fn returned. */
int store_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
			void *arg);

int store_login_get(struct store_txn *t, const struct token_ref *ref, struct login *l);
int store_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l);
int store_login_del(struct store_txn *t, const struct token_ref *ref);
/* Deletes every pending login of the account. */
int store_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);

int store_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   struct totp_rec *rec);
int store_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const struct totp_rec *rec);
int store_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);

int store_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     struct backup_rec *b);
int store_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct backup_rec *b);
int store_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);

/* A subject with no stored history reads as a zeroed record (and 0). */
int store_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		       struct throttle_rec *r);
int store_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		       const struct throttle_rec *r);

/*
 * Device link offers, filed like sessions: under the account and the
 * SHA-256 of the link secret (ref). Deleting every offer of an account is
 * what a password change does.
 */
int store_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *l);
int store_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l);
int store_link_del(struct store_txn *t, const struct token_ref *ref);
int store_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);

/*
 * Linked devices. A device is found by its id alone (its channel names only
 * that), and listed by account, in id order. store_device_del deletes the
 * device only if it belongs to the account (STORE_E_NOTFOUND otherwise).
 */
int store_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *d);
int store_device_put(struct store_txn *t, const struct push_device *d);
int store_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN]);
/* Records the TOTP step a device's code used, by changing the stored row
 * (never creating one: a device removed meanwhile stays removed);
 * STORE_E_NOTFOUND when the account has no such device. */
int store_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN], int64_t last_step);
/* How many devices the account has (into *n). 0 or STORE_E_*. */
int store_devices_count(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], unsigned *n);
/* Calls fn for each device of the account; fn returns 0 to go on. Returns
 * 0, STORE_E_* or what fn returned. */
int store_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct push_device *d), void *arg);

/*
 * Push challenges, filed by account and id; listed by account (at most a
 * few: PUSH_PENDING_MAX pending, and answered ones until the sweeper takes
 * them an hour after they end). An account's push history (caps, pause)
 * reads as a zeroed record when it has none.
 */
int store_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			const uint8_t id[AUTHD_ID_LEN], struct push_challenge *c);
int store_challenge_put(struct store_txn *t, const struct push_challenge *c);
int store_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  int (*fn)(void *arg, const struct push_challenge *c), void *arg);
/* Calls fn for every challenge (of any account) created at or after
 * `since` and still pending at `now`, at most `limit` (PostgreSQL: the
 * newest first): what a node reads now
 * and then so that a lost note only delays a challenge. On LMDB (never
 * shared) this walks every record. 0, STORE_E_* or what fn returned. */
int store_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			     int (*fn)(void *arg, const struct push_challenge *c), void *arg);
int store_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   struct push_account *a);
int store_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   const struct push_account *a);

/* An account's recovery options and reset under way (a zeroed record
 * when none; putting an empty one deletes it). */
int store_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       struct recovery_rec *r);
int store_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const struct recovery_rec *r);

/* Calls fn with each account whose verified recovery number is phone
 * (E.164), at most limit; fn returns 0 to go on. 0, STORE_E_* or what fn
 * returned. */
int store_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			    int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]),
			    void *arg);

/* Where an account signed in from lately (a zeroed record when none). */
int store_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     struct places_rec *p);
int store_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct places_rec *p);

/*
 * Sends `note` (printable ASCII, at most STORE_NOTE_MAX bytes) to the other
 * nodes sharing the store when t commits, and not at all when it does not:
 * their store_options.notified gets it. A shortcut only, never the truth:
 * a note may be lost with a connection (then `notified(NULL)`). A write
 * job's call; engines that are never shared do nothing. 0 or STORE_E_*.
 */
#define STORE_NOTE_MAX 512
int store_notify(struct store_txn *t, const char *note);

/* Records a security event of an account. */
int store_event_add(struct store_txn *t, const struct security_event *e);
/* Calls fn for the account's events, newest first, from just before
 * `before` (NULL: the newest), at most limit, each with its seq set (a
 * cursor from an event listed goes on after it); fn returns 0 to go on.
 * Returns 0, STORE_E_* or what fn returned. */
int store_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct event_cursor *before, size_t limit,
		      int (*fn)(void *arg, const struct security_event *e), void *arg);

/*
 * The outbox (core.h's struct outbox_msg), on both engines a queue any node
 * may deliver from.
 *
 * store_outbox_add files a new pending message (in the commit of the change
 * that caused it). store_outbox_claim claims up to `limit` pending messages
 * due at `now`, the earliest due first, skipping any that another
 * transaction holds (PostgreSQL: FOR UPDATE SKIP LOCKED): each is written
 * back as core_outbox_claim(m, until) leaves it, and fn sees it so (fn's
 * return value is ignored; every due message seen is claimed).
 * store_outbox_settle writes m, as core_outbox_settle left it, only if the
 * stored message is still that claim (pending and due at claimed_until);
 * STORE_E_NOTFOUND otherwise (its lease ran out and it was claimed again).
 * store_outbox_get reads one message; store_outbox_pending counts the
 * pending ones and gives the earliest `next_at` among them in *earliest
 * (0 when none is pending; a claimed one's is its lease's end).
 */
int store_outbox_add(struct store_txn *t, const struct outbox_msg *m);
int store_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		       int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
int store_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until);
int store_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m);
int store_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest);
/* The messages that failed for good (OUTBOX_FAILED), the latest done
 * first, at most limit: fn sees each (its text erased) and returns 0 to go
 * on. Returns 0, STORE_E_*, or what fn returned to stop. */
int store_outbox_failures(struct store_txn *t, size_t limit,
			  int (*fn)(void *arg, const struct outbox_msg *m), void *arg);

/*
 * Identity-verification cases (recovery.h) and their documents. A case is
 * filed under its id; store_cases_list walks the open ones, oldest first,
 * then (all) the decided ones, newest first, at most limit. A document is
 * its sealed bytes under (case id, n): store_doc_get allocates *out (the
 * caller frees it; sealed, so no wipe is owed), STORE_E_NOTFOUND when it
 * is not (or no longer) kept; store_docs_del deletes every document of a
 * case. The sweeper deletes documents CASE_DOC_KEEP_S after their upload
 * and cases at recovery_case_drop_at (with any document left).
 */
int store_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c);
int store_case_put(struct store_txn *t, const struct case_rec *c);
int store_cases_list(struct store_txn *t, bool all, size_t limit,
		     int (*fn)(void *arg, const struct case_rec *c), void *arg);
int store_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		  int64_t uploaded_at, const uint8_t *sealed, size_t len);
int store_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		  uint8_t **out, size_t *len);
int store_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN]);

/*
 * Where the sweeper resumes: the engine's own position, zeroed to start
 * from the beginning.
 */
struct store_sweep_pos {
	uint8_t bytes[96];
};

/*
 * One slice of sweeping in a write job: looks at up to `budget` records of
 * each kind from *from, deletes sessions over at `now` (idle for idle_s or
 * past their end), pending logins and device link offers past their end,
 * push challenges an hour after their end, throttle histories quiet
 * for an hour, outbox messages OUTBOX_KEEP_S after they were done, and
 * security events older than EVENT_KEEP_S, writes where the next slice
 * starts into *to and adds the number deleted to *deleted. Depends only on its arguments, so it can
 * run again.
 */
int store_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
		const struct store_sweep_pos *from, struct store_sweep_pos *to, size_t *deleted);

/*
 * Every record that outlives a move between engines, for authd export:
 * accounts, organizations, memberships, TOTP credentials, backup codes,
 * linked devices, throttle histories and security events (sessions,
 * pending logins and link offers do not move: people log in again). Each function returns 0 to go
 * on; any other value stops the walk and is returned. A NULL function skips its kind. Returns 0,
 * STORE_E_*, or what a function returned. Not every engine walks
 * (STORE_E_IO, logged).
 */
struct store_visitor {
	int (*account)(void *arg, const struct account *a);
	int (*org)(void *arg, const struct org *o);
	int (*member)(void *arg, const struct member *m);
	int (*totp)(void *arg, const uint8_t account_id[AUTHD_ID_LEN], const struct totp_rec *t);
	int (*backup)(void *arg, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct backup_rec *b);
	int (*device)(void *arg, const struct push_device *d);
	int (*throttle)(void *arg, const uint8_t key[THROTTLE_KEY_LEN],
			const struct throttle_rec *r);
	int (*event)(void *arg, const struct security_event *e);
};
int store_walk(struct store_txn *t, const struct store_visitor *v, void *arg);

/*
 * Named figures the nodes share (the key generation to seal with):
 * store_setting_get gives 0 for a name never put. 0 or STORE_E_*.
 */
int store_setting_get(struct store_txn *t, const char *name, uint64_t *value);
int store_setting_put(struct store_txn *t, const char *name, uint64_t value);
/* Every setting whose name begins with prefix, in name order: fn sees each
 * (name valid during the call) and returns 0 to go on. Returns 0,
 * STORE_E_*, or what fn returned to stop. */
int store_settings_list(struct store_txn *t, const char *prefix,
			int (*fn)(void *arg, const char *name, uint64_t value), void *arg);

/* --- sealed values, for key rotation ------------------------------------------------- */

enum store_seal_kind {
	STORE_SEAL_TOTP,   /* an account's TOTP seed, and its pending enrolment's */
	STORE_SEAL_DEVICE, /* a linked device's TOTP seed */
	STORE_SEAL_OUTBOX, /* a queued message's text (none once it is done) */
	STORE_SEAL_DOC,	   /* an identity document */
	STORE_SEAL__COUNT
};

/* One sealed value, as store_seals_walk shows it. */
struct store_seal {
	enum store_seal_kind kind;
	const uint8_t *id;    /* the account, device, message or case (AUTHD_ID_LEN) */
	const uint8_t *owner; /* STORE_SEAL_DEVICE: its account; else NULL */
	unsigned n;	      /* TOTP: 0 the seed, 1 the pending one; DOC: its slot */
	uint8_t *sealed;      /* the engine's copy, which fn may rewrite in place */
	size_t len;
};

/* Where a walk resumes: after `key` of `kind` (zeroed: from the start). */
struct store_seal_pos {
	uint8_t kind; /* enum store_seal_kind */
	uint8_t key[AUTHD_ID_LEN + 1];
	uint8_t key_len; /* 0: from the kind's first record */
	bool done;	 /* the walk has seen everything */
};

/*
 * Shows fn the sealed values of up to `limit` records from *pos on (kind
 * by kind, each in key order) and moves *pos past them. fn returns 0 to
 * keep the value, 1 when it rewrote s->sealed (same length: the engine
 * writes it back, in a write job's txn only, and only over the value it
 * showed), or a negative STORE_E_* to stop. Returns 0, STORE_E_*, or what
 * fn returned to stop.
 */
int store_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		     int (*fn)(void *arg, struct store_seal *s), void *arg);

/* What the writer did since start, for the benchmark. */
struct store_stats {
	unsigned long commits; /* groups committed */
	unsigned long jobs;    /* jobs written */
	unsigned long work_us; /* running the jobs' txn_work */
	unsigned long sync_us; /* committing: writing pages and syncing */
};
void store_stats(struct store_stats *st);

#endif
