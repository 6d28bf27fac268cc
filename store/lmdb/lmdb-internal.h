/*
 * The LMDB engine's insides: its databases, the raw key/value operations
 * its record codecs (codec.c) and sweeper (sweep.c) are written with, and
 * the account cluster's key layout. Nothing outside store/lmdb/ sees this.
 */
#ifndef AUTHD_STORE_LMDB_INTERNAL_H
#define AUTHD_STORE_LMDB_INTERNAL_H

#include "../store-internal.h"

#include <lmdb.h>

enum lmdb_db {
	DB_ACCOUNTS, /* account id -> account record */
	DB_EMAILS,   /* normalized email -> account id */
	DB_ORGS,     /* organization id -> organization record */
	DB_MEMBERS,  /* org id || account id -> membership record */
	/* An account's cluster: account id || kind || sub-key. Kinds below:
	 * 'T' TOTP credential (seed sealed), 'S' || SHA-256(session token)[0..16)
	 * session, 'L' || SHA-256(login id)[0..16) pending second-factor login,
	 * 'K' || SHA-256(link secret)[0..16) device link offer, 'D' || device id
	 * linked device, 'H' || challenge id push challenge, 'P' the account's
	 * push history, 'N' where it signed in from lately, 'R' its recovery
	 * options, 'E' || time (big-endian) || sequence (4) its security
	 * events. */
	DB_CLUSTER,
	DB_BACKUP,	  /* account id -> backup-code hashes (rarely written: kept out
			   * of the cluster, whose pages every login step writes) */
	DB_THROTTLE,	  /* subject -> failure history */
	DB_META,	  /* "format" -> the layout version of this environment */
	DB_EVENTS,	  /* layout 3's security events (layout 4 keeps them in the
			   * cluster, kind 'E'); emptied by the upgrade */
	DB_DEVICES,	  /* device id -> account id (the device is in the cluster) */
	DB_OUTBOX,	  /* message id -> outbox message */
	DB_OUTBOX_DUE,	  /* next_at (big-endian) || id -> "": the pending messages */
	DB_OUTBOX_DONE,	  /* done_at (big-endian) || id -> "": sent or failed ones */
	DB_PHONES,	  /* verified recovery number || 0 || account id -> "" */
	DB_CASES,	  /* case id -> case record (a version byte, then JSON) */
	DB_CASES_DONE,	  /* when it goes (big-endian) || case id -> "": the sweeper's order */
	DB_DOCS,	  /* case id || n -> sealed document */
	DB_DOCS_DUE,	  /* uploaded_at (big-endian) || case id || n -> "" */
	DB_AUDIT,	  /* org id || time (big-endian) || sequence (4) -> audit record */
	DB_INVITES,	  /* org id || invitation id -> invitation (a version byte, then JSON) */
	DB_INVITE_TOKENS, /* SHA-256 of an invitation's token -> org id || invitation id */
	DB_TOKENS,	  /* SHA-256 of an API token -> the token (tokens.c) */
	DB_TOKEN_IDS,	  /* account id || token id -> SHA-256 of the token */
	DB_PRODUCTS,	  /* products.c: org || product -> product */
	DB_GRANTS,	  /* org || product || account or team -> grant */
	DB_TEAMS,	  /* org || team -> team */
	DB_TEAM_MEMBERS,  /* org || team || account -> "" */
	DB_MEMBER_TEAMS,  /* org || account || team -> "" */
	DB_PARTNERS,	  /* client org || partner org -> relation */
	DB_PARTNER_OF,	  /* partner org || client org -> "" */
	DB_ACCOUNT_ORGS,  /* account id || org id -> "": an account's memberships */
	DB_SUPPORT,	  /* support grant id -> grant (support.c) */
	DB_SUPPORT_ORG,	  /* org id || created (big-endian) || grant id -> "" */
	DB_ADDRESSES,	  /* org id || address id -> billing address (billing.c) */
	DB_BALANCES,	  /* org id || currency -> prepaid balance (billing.c) */
	DB_LEDGER,	  /* org id || time (big-endian) || entry id -> ledger entry */
	DB_PAYMENTS,	  /* payment id -> payment */
	DB_PAYMENT_ORG,	  /* org id || created (big-endian) || payment id -> "" */
	DB_INVOICES,	  /* invoice id -> version byte, then JSON (store_invoice_json) */
	DB_INVOICE_ORG,	  /* org id || created (big-endian) || invoice id -> "" */
	DB_VOUCHERS,	  /* promotion code -> voucher */
	DB_PRODUCT_DUE,	  /* expires (big-endian) || org || product -> "" (products.c) */
	DB__COUNT
};

struct lmdb_txn {
	struct store_txn base;
	MDB_txn *txn;
};

static inline MDB_txn *lmdb_of(struct store_txn *t)
{
	return ((struct lmdb_txn *)t)->txn;
}

/* Raw point operations; store_get's value points into the read-only map
 * and is valid until the transaction ends. */
int lmdb_get(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen, MDB_val *val);
int lmdb_put(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen, const void *val,
	     size_t vlen);
int lmdb_del(MDB_txn *txn, enum lmdb_db db, const void *key, size_t klen);

/* Calls fn for every key of db from `start` (slen bytes; NULL: the first
 * key) while keys begin with its first plen bytes, until fn returns
 * non-zero. Deleting the visited key from fn is allowed. 0 or STORE_E_*. */
int lmdb_walk(MDB_txn *txn, enum lmdb_db db, const void *start, size_t slen, size_t plen,
	      int (*fn)(MDB_txn *txn, const MDB_val *key, const MDB_val *val, void *arg),
	      void *arg);

/* The kinds of record in an account's cluster, by the key's byte after the
 * account id. */
enum cluster_kind {
	KIND_DEVICE = 'D',
	KIND_EVENT = 'E',
	KIND_CHALLENGE = 'H',
	KIND_PUSH = 'P',
	KIND_LINK = 'K',
	KIND_LOGIN = 'L',
	KIND_PLACES = 'N',
	KIND_RECOVERY = 'R',
	KIND_SESSION = 'S',
	KIND_TOTP = 'T',
};

/* A session, login or link offer is keyed by the first 16 bytes of its
 * token's hash (a device by its 16-byte id):
 * finding a token for a stored key still takes 2^128 work, and shorter keys
 * put more of the tree on each page (fewer pages for a commit to write). */
#define CLUSTER_HASH_LEN 16
/* The longest cluster key: account id, kind, token hash prefix. */
#define CLUSTER_KEY_MAX (AUTHD_ID_LEN + 1 + CLUSTER_HASH_LEN)

/* The kind of the cluster key k (0 if it is none), and for sessions and
 * logins their reference into *ref (the hash prefix the key holds, zeros
 * after it: enough for the session and login operations). */
int lmdb_cluster_key_kind(const MDB_val *k, struct token_ref *ref);

/* The typed operations (codec.c) and the sweeper (sweep.c). */
int lmdb_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *a);
int lmdb_account_put(struct store_txn *t, const struct account *a);
int lmdb_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN]);
int lmdb_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *l);
int lmdb_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l);
int lmdb_link_del(struct store_txn *t, const struct token_ref *ref);
int lmdb_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t id[AUTHD_ID_LEN], struct push_challenge *c);
int lmdb_challenge_put(struct store_txn *t, const struct push_challenge *c);
int lmdb_challenge_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const uint8_t id[AUTHD_ID_LEN]);
int lmdb_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const struct push_challenge *c), void *arg);
int lmdb_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			    int (*fn)(void *arg, const struct push_challenge *c), void *arg);
int lmdb_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  struct push_account *a);
int lmdb_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct push_account *a);
int lmdb_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *d);
int lmdb_device_put(struct store_txn *t, const struct push_device *d);
int lmdb_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], int64_t last_step);
int lmdb_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN]);
int lmdb_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct push_device *d), void *arg);
int lmdb_org_put(struct store_txn *t, const struct org *o);
int lmdb_member_put(struct store_txn *t, const struct member *m);
int lmdb_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t account_id[AUTHD_ID_LEN], struct member *m);
int lmdb_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_audit_add(struct store_txn *t, const struct audit_rec *a);
int lmdb_product_put(struct store_txn *t, const struct product *p);
int lmdb_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct product *p);
int lmdb_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN]);
int lmdb_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct product *p), void *arg);
int lmdb_grant_put(struct store_txn *t, const struct grant *g);
int lmdb_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		   struct grant *g);
int lmdb_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN]);
int lmdb_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t product_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct grant *g), void *arg);
int lmdb_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t subject[AUTHD_ID_LEN]);
int lmdb_team_put(struct store_txn *t, const struct team *tm);
int lmdb_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN], struct team *tm);
int lmdb_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN]);
int lmdb_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct team *tm), void *arg);
int lmdb_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t team_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg);
int lmdb_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t account_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg);
/* Deletes an organization's products, grants and teams (its deletion). */
int lmdb_org_products_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
int lmdb_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		     int64_t *minor);
int lmdb_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		     int64_t minor);
int lmdb_ledger_add(struct store_txn *t, const struct ledger_entry *e);
int lmdb_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct ledger_entry *e), void *arg);
int lmdb_payment_put(struct store_txn *t, const struct payment *p);
int lmdb_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p);
int lmdb_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		       int (*fn)(void *arg, const struct payment *p), void *arg);
int lmdb_product_update(struct store_txn *t, const struct product *p);
int lmdb_cluster_lock(struct store_txn *t, int64_t key, bool *held);
int lmdb_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		      size_t limit, int (*fn)(void *arg, const struct product *p), void *arg);
/* Layout 6: DB_PRODUCT_DUE from every product (an upgrade from 5). */
int lmdb_product_due_index_build(MDB_txn *txn, size_t *indexed);
int lmdb_invoice_put(struct store_txn *t, const struct invoice *inv);
int lmdb_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv);
int lmdb_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		       int (*fn)(void *arg, const struct invoice *inv), void *arg);
int lmdb_counter_next(struct store_txn *t, const char *name, uint64_t *value);
int lmdb_voucher_put(struct store_txn *t, const struct voucher *v);
int lmdb_voucher_get(struct store_txn *t, const char *code, struct voucher *v);
int lmdb_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v),
		       void *arg);
int lmdb_address_put(struct store_txn *t, const struct billing_address *a);
int lmdb_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN]);
int lmdb_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct billing_address *a), void *arg);
int lmdb_org_billing_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
int lmdb_support_put(struct store_txn *t, const struct support_grant *g);
int lmdb_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g);
int lmdb_support_del(struct store_txn *t, const struct support_grant *g);
int lmdb_support_live(struct store_txn *t, int64_t now,
		      int (*fn)(void *arg, const struct support_grant *g), void *arg);
int lmdb_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct support_grant *g), void *arg);
int lmdb_org_support_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
int lmdb_partner_put(struct store_txn *t, const struct partner_link *l);
int lmdb_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		     const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l);
int lmdb_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		     const uint8_t partner_org[AUTHD_ID_LEN]);
int lmdb_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
		       int (*fn)(void *arg, const struct partner_link *l), void *arg);
int lmdb_token_update(struct store_txn *t, const struct api_token *tok);
int lmdb_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t product_id[AUTHD_ID_LEN],
		      const uint8_t account_id[AUTHD_ID_LEN], struct member *m, struct product *p,
		      bool *has_product, struct grant *grants, size_t max, size_t *n);
int lmdb_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok);
int lmdb_token_put(struct store_txn *t, const struct api_token *tok);
int lmdb_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN]);
int lmdb_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct api_token *tok), void *arg);
int lmdb_invite_put(struct store_txn *t, const struct invite *inv);
int lmdb_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN], struct invite *inv);
int lmdb_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
			 struct invite *inv);
int lmdb_invite_del(struct store_txn *t, const struct invite *inv);
int lmdb_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct invite *inv), void *arg);
int lmdb_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const struct event_cursor *before, size_t limit,
		    int (*fn)(void *arg, const struct audit_rec *a), void *arg);
int lmdb_session_get(struct store_txn *t, const struct token_ref *ref, struct session *s);
int lmdb_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s);
int lmdb_session_del(struct store_txn *t, const struct token_ref *ref);
int lmdb_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			 const struct token_ref *keep);
int lmdb_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
		       void *arg);
int lmdb_login_get(struct store_txn *t, const struct token_ref *ref, struct login *l);
int lmdb_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l);
int lmdb_login_del(struct store_txn *t, const struct token_ref *ref);
int lmdb_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  struct totp_rec *rec);
int lmdb_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct totp_rec *rec);
int lmdb_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct backup_rec *b);
int lmdb_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct backup_rec *b);
int lmdb_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		      struct throttle_rec *r);
int lmdb_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		      const struct throttle_rec *r);
int lmdb_org_decode(const MDB_val *key, const MDB_val *val, struct org *o);
int lmdb_member_decode(const MDB_val *k, const MDB_val *v, struct member *m);
int lmdb_event_add(struct store_txn *t, const struct security_event *e);
/* Decodes an event record (for the walk). */
int lmdb_event_decode(const MDB_val *k, const MDB_val *v, struct security_event *e);
int lmdb_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct event_cursor *before, size_t limit,
		     int (*fn)(void *arg, const struct security_event *e), void *arg);
/* An event's key in the cluster: account id, 'E', time, sequence. */
#define LMDB_EVENT_KEY_LEN (AUTHD_ID_LEN + 1 + 8 + 4)
bool lmdb_is_event_key(const MDB_val *k);
int64_t lmdb_event_key_time(const MDB_val *k);
/* Layout 3 to 4: moves the events of DB_EVENTS into the cluster and
 * empties it. 0 or an LMDB error; *moved says how many. */
int lmdb_events_migrate(MDB_txn *txn, size_t *moved);
int lmdb_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      struct recovery_rec *r);
int lmdb_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct recovery_rec *r);
int lmdb_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			   int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg);
int lmdb_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct places_rec *p);
int lmdb_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct places_rec *p);
int lmdb_outbox_add(struct store_txn *t, const struct outbox_msg *m);
int lmdb_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		      int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
int lmdb_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until);
int lmdb_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m);
int lmdb_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
int lmdb_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o);
int lmdb_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  int (*fn)(void *arg, const struct member *m), void *arg);
int lmdb_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct member *m), void *arg);
int lmdb_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
int lmdb_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c);
int lmdb_case_put(struct store_txn *t, const struct case_rec *c);
int lmdb_cases_list(struct store_txn *t, bool all, size_t limit,
		    int (*fn)(void *arg, const struct case_rec *c), void *arg);
int lmdb_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		 int64_t uploaded_at, const uint8_t *sealed, size_t len);
int lmdb_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		 uint8_t **out, size_t *len);
int lmdb_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN]);
/* The sweeper's part: documents uploaded at or before docs_before, cases
 * whose end (recovery_case_drop_at) is at or before now, at most budget
 * of each. */
int lmdb_cases_sweep(struct store_txn *t, int64_t docs_before, int64_t now, size_t budget,
		     size_t *deleted);
/* Frees the reader slots of processes that died with a read open (a
 * killed `authd backup`): they would pin old pages and grow the file.
 * Any thread; the sweeper calls it on every slice. */
void lmdb_readers_check(void);
int lmdb_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest);
int lmdb_outbox_failures(struct store_txn *t, size_t limit,
			 int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
/* Deletes up to budget messages done at or before `before`; adds them to *deleted. */
int lmdb_outbox_sweep(struct store_txn *t, int64_t before, size_t budget, size_t *deleted);
/* The handle of db (for code that walks with its own cursor). */
MDB_dbi lmdb_dbi(enum lmdb_db db);
/* Layout 4 to 5: DB_ACCOUNT_ORGS for every membership (*n entries). 0 or
 * STORE_E_*. */
int lmdb_member_index_build(MDB_txn *txn, size_t *n);
int lmdb_walk_records(struct store_txn *t, const struct store_visitor *v, void *arg);
/* seals.c */
int lmdb_setting_get(struct store_txn *t, const char *name, uint64_t *value);
int lmdb_setting_put(struct store_txn *t, const char *name, uint64_t value);
int lmdb_settings_list(struct store_txn *t, const char *prefix,
		       int (*fn)(void *arg, const char *name, uint64_t value), void *arg);
int lmdb_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		    int (*fn)(void *arg, struct store_seal *s), void *arg);
/* Writes m's record again, its state (so its index entry) unchanged: a
 * resealed text. */
int lmdb_outbox_rewrite(struct store_txn *t, const struct outbox_msg *m);
int lmdb_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
	       const struct store_sweep_pos *from, struct store_sweep_pos *to, size_t *deleted);

#endif
