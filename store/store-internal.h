/*
 * What an engine gives the store: its lifecycle and every typed operation.
 * store.c dispatches store.h's calls here; each engine fills one table.
 * Not for use outside store/.
 */
#ifndef AUTHD_STORE_INTERNAL_H
#define AUTHD_STORE_INTERNAL_H

#include "store.h"

struct store_engine_ops;

/* Every engine's transaction starts with this. */
struct store_txn {
	const struct store_engine_ops *ops;
};

struct store_engine_ops {
	const char *name;
	bool single_writer; /* store_single_writer() */
	bool shared;	    /* store_shared() */
	int (*open)(const struct store_options *o);
	int (*migrate)(const struct store_options *o);
	int (*start)(void);
	void (*stop)(void);
	void (*close)(void);
	int (*is_empty)(bool *empty);
	int (*setting_read)(const char *name, uint64_t *value);
	void (*write)(struct job *job);
	void (*read)(struct job *job);
	void (*batch)(bool begin);				/* NULL: jobs start at once */
	int (*loop_fd)(unsigned *generation, bool *want_write); /* NULL: none */
	void (*loop_ready)(void);
	void (*stats)(struct store_stats *st);

	int (*account_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *a);
	int (*account_put)(struct store_txn *t, const struct account *a);
	int (*account_by_email)(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN]);
	int (*org_put)(struct store_txn *t, const struct org *o);
	int (*org_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN]);
	int (*org_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o);
	int (*memberships_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
				int (*fn)(void *arg, const struct member *m), void *arg);
	int (*members_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const struct member *m), void *arg);
	int (*account_delete)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*member_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN], struct member *m);
	int (*member_put)(struct store_txn *t, const struct member *m);
	int (*member_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN]);
	int (*invite_put)(struct store_txn *t, const struct invite *inv);
	int (*invite_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t id[AUTHD_ID_LEN], struct invite *inv);
	int (*invite_by_token)(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
			       struct invite *inv);
	int (*invites_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const struct invite *inv), void *arg);
	int (*invite_del)(struct store_txn *t, const struct invite *inv);
	int (*product_put)(struct store_txn *t, const struct product *p);
	int (*product_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t id[AUTHD_ID_LEN], struct product *p);
	int (*product_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t id[AUTHD_ID_LEN]);
	int (*products_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			     int (*fn)(void *arg, const struct product *p), void *arg);
	int (*grant_put)(struct store_txn *t, const struct grant *g);
	int (*grant_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t product_id[AUTHD_ID_LEN],
			 const uint8_t subject[AUTHD_ID_LEN], struct grant *g);
	int (*grant_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t product_id[AUTHD_ID_LEN],
			 const uint8_t subject[AUTHD_ID_LEN]);
	int (*grants_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t product_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const struct grant *g), void *arg);
	int (*grants_del_subject)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
				  const uint8_t subject[AUTHD_ID_LEN]);
	int (*team_put)(struct store_txn *t, const struct team *tm);
	int (*team_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			const uint8_t id[AUTHD_ID_LEN], struct team *tm);
	int (*team_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			const uint8_t id[AUTHD_ID_LEN]);
	int (*teams_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  int (*fn)(void *arg, const struct team *tm), void *arg);
	int (*team_member_put)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			       const uint8_t team_id[AUTHD_ID_LEN],
			       const uint8_t account_id[AUTHD_ID_LEN]);
	int (*team_member_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			       const uint8_t team_id[AUTHD_ID_LEN],
			       const uint8_t account_id[AUTHD_ID_LEN]);
	int (*team_members_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
				 const uint8_t team_id[AUTHD_ID_LEN],
				 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]),
				 void *arg);
	int (*member_teams_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
				 const uint8_t account_id[AUTHD_ID_LEN],
				 int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]),
				 void *arg);
	int (*address_put)(struct store_txn *t, const struct billing_address *a);
	int (*address_del)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t id[AUTHD_ID_LEN]);
	int (*addresses_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			      int (*fn)(void *arg, const struct billing_address *a), void *arg);
	int (*balance_get)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   uint8_t currency, int64_t *minor);
	int (*balance_put)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   uint8_t currency, int64_t minor);
	int (*ledger_add)(struct store_txn *t, const struct ledger_entry *e);
	int (*ledger_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			   int (*fn)(void *arg, const struct ledger_entry *e), void *arg);
	int (*payment_put)(struct store_txn *t, const struct payment *p);
	int (*payment_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p);
	int (*payments_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			     int (*fn)(void *arg, const struct payment *p), void *arg);
	int (*product_update)(struct store_txn *t, const struct product *p);
	int (*cluster_lock)(struct store_txn *t, int64_t key, bool *held);
	int (*products_due)(struct store_txn *t, int64_t until, const struct product_due_pos *after,
			    size_t limit, int (*fn)(void *arg, const struct product *p), void *arg);
	int (*invoice_put)(struct store_txn *t, const struct invoice *inv);
	int (*invoice_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN],
			   struct invoice *inv);
	int (*invoices_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			     int (*fn)(void *arg, const struct invoice *inv), void *arg);
	int (*counter_next)(struct store_txn *t, const char *name, uint64_t *value);
	int (*voucher_put)(struct store_txn *t, const struct voucher *v);
	int (*voucher_get)(struct store_txn *t, const char *code, struct voucher *v);
	int (*vouchers_list)(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v),
			     void *arg);
	int (*support_put)(struct store_txn *t, const struct support_grant *g);
	int (*support_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN],
			   struct support_grant *g);
	int (*support_live)(struct store_txn *t, int64_t now,
			    int (*fn)(void *arg, const struct support_grant *g), void *arg);
	int (*support_del)(struct store_txn *t, const struct support_grant *g);
	int (*support_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const struct support_grant *g), void *arg);
	int (*partner_put)(struct store_txn *t, const struct partner_link *l);
	int (*partner_get)(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
			   const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l);
	int (*partner_del)(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
			   const uint8_t partner_org[AUTHD_ID_LEN]);
	int (*partners_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			     bool as_client, int (*fn)(void *arg, const struct partner_link *l),
			     void *arg);
	int (*token_update)(struct store_txn *t, const struct api_token *tok);
	int (*tokens_del_account)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*access_facts)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t product_id[AUTHD_ID_LEN],
			    const uint8_t account_id[AUTHD_ID_LEN], struct member *m,
			    struct product *p, bool *has_product, struct grant *grants, size_t max,
			    size_t *n);
	int (*token_get)(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN],
			 struct api_token *tok);
	int (*token_put)(struct store_txn *t, const struct api_token *tok);
	int (*token_del)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			 const uint8_t id[AUTHD_ID_LEN]);
	int (*tokens_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const struct api_token *tok), void *arg);
	int (*audit_add)(struct store_txn *t, const struct audit_rec *a);
	int (*audit_list)(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const struct event_cursor *before, size_t limit,
			  int (*fn)(void *arg, const struct audit_rec *a), void *arg);
	int (*session_get)(struct store_txn *t, const struct token_ref *ref, struct session *s);
	int (*session_put)(struct store_txn *t, const struct token_ref *ref,
			   const struct session *s);
	int (*session_del)(struct store_txn *t, const struct token_ref *ref);
	int (*session_del_all)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			       const struct token_ref *keep);
	int (*sessions_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			     int (*fn)(void *arg, const struct token_ref *ref,
				       const struct session *s),
			     void *arg);
	int (*login_get)(struct store_txn *t, const struct token_ref *ref, struct login *l);
	int (*login_put)(struct store_txn *t, const struct token_ref *ref, const struct login *l);
	int (*login_del)(struct store_txn *t, const struct token_ref *ref);
	int (*login_del_all)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*totp_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			struct totp_rec *rec);
	int (*totp_put)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			const struct totp_rec *rec);
	int (*totp_del)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*backup_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  struct backup_rec *b);
	int (*backup_put)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct backup_rec *b);
	int (*backup_del)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*throttle_get)(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
			    struct throttle_rec *r);
	int (*throttle_put)(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
			    const struct throttle_rec *r);
	int (*link_get)(struct store_txn *t, const struct token_ref *ref, struct push_link *l);
	int (*link_put)(struct store_txn *t, const struct token_ref *ref,
			const struct push_link *l);
	int (*link_del)(struct store_txn *t, const struct token_ref *ref);
	int (*link_del_all)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN]);
	int (*device_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN],
			  struct push_device *d);
	int (*device_put)(struct store_txn *t, const struct push_device *d);
	int (*device_step)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   const uint8_t id[AUTHD_ID_LEN], int64_t last_step);
	int (*device_del)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const uint8_t id[AUTHD_ID_LEN]);
	int (*devices_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const struct push_device *d), void *arg);
	int (*challenge_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			     const uint8_t id[AUTHD_ID_LEN], struct push_challenge *c);
	int (*challenge_put)(struct store_txn *t, const struct push_challenge *c);
	int (*challenges_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			       int (*fn)(void *arg, const struct push_challenge *c), void *arg);
	int (*challenges_pending)(struct store_txn *t, int64_t since, int64_t now, size_t limit,
				  int (*fn)(void *arg, const struct push_challenge *c), void *arg);
	int (*push_account_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
				struct push_account *a);
	int (*push_account_put)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
				const struct push_account *a);
	int (*recovery_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			    struct recovery_rec *r);
	int (*recovery_put)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			    const struct recovery_rec *r);
	int (*recovery_by_phone)(struct store_txn *t, const char *phone, size_t limit,
				 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]),
				 void *arg);
	int (*places_get)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  struct places_rec *p);
	int (*places_put)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct places_rec *p);
	int (*notify)(struct store_txn *t, const char *note); /* NULL: never shared */
	int (*event_add)(struct store_txn *t, const struct security_event *e);
	int (*events_list)(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   const struct event_cursor *before, size_t limit,
			   int (*fn)(void *arg, const struct security_event *e), void *arg);
	int (*outbox_add)(struct store_txn *t, const struct outbox_msg *m);
	int (*outbox_claim)(struct store_txn *t, int64_t now, int64_t until, size_t limit,
			    int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
	int (*outbox_settle)(struct store_txn *t, const struct outbox_msg *m,
			     int64_t claimed_until);
	int (*outbox_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN],
			  struct outbox_msg *m);
	int (*outbox_pending)(struct store_txn *t, uint64_t *n, int64_t *earliest);
	int (*outbox_failures)(struct store_txn *t, size_t limit,
			       int (*fn)(void *arg, const struct outbox_msg *m), void *arg);
	int (*case_get)(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c);
	int (*case_put)(struct store_txn *t, const struct case_rec *c);
	int (*cases_list)(struct store_txn *t, bool all, size_t limit,
			  int (*fn)(void *arg, const struct case_rec *c), void *arg);
	int (*doc_put)(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		       int64_t uploaded_at, const uint8_t *sealed, size_t len);
	int (*doc_get)(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		       uint8_t **out, size_t *len);
	int (*docs_del)(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN]);
	int (*walk)(struct store_txn *t, const struct store_visitor *v, void *arg);
	int (*setting_get)(struct store_txn *t, const char *name, uint64_t *value);
	int (*setting_put)(struct store_txn *t, const char *name, uint64_t value);
	int (*settings_list)(struct store_txn *t, const char *prefix,
			     int (*fn)(void *arg, const char *name, uint64_t value), void *arg);
	int (*seals_walk)(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
			  int (*fn)(void *arg, struct store_seal *s), void *arg);
	int (*sweep)(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
		     const struct store_sweep_pos *from, struct store_sweep_pos *to,
		     size_t *deleted);
};

extern const struct store_engine_ops store_lmdb_engine;
#ifdef AUTHD_WITH_POSTGRESQL
extern const struct store_engine_ops store_pg_engine;
#endif

/* A case's documents' metadata as a JSON array ([{uploaded_at, size,
 * type}]), for the engines that file it as text; and back (0 or -1). */
char *store_case_docs_json(const struct case_rec *c);
int store_case_docs_parse(const char *text, size_t len, struct case_rec *c);
/* An invoice as JSON (both engines keep its body so), and back (0 or -1). */
char *store_invoice_json(const struct invoice *inv);
int store_invoice_parse(const char *text, size_t len, struct invoice *inv);
/* A whole case as JSON (the LMDB record), and back. */
char *store_case_json(const struct case_rec *c);
int store_case_parse(const char *text, size_t len, struct case_rec *c);

#endif
