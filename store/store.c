/*
 * The seam itself: store.h's calls, dispatched to the engine the
 * configuration chose (lifecycle) or to the engine of the transaction
 * (typed operations).
 */
#include "store-internal.h"

#include <jansson.h>
#include <stdio.h>
#include <util.h>

#include <log.h>
#include <string.h>

static const struct store_engine_ops *engine;

int store_engine_parse(const char *name, enum store_engine *out)
{
	if (strcmp(name, "lmdb") == 0)
		*out = STORE_ENGINE_LMDB;
	else if (strcmp(name, "postgresql") == 0)
		*out = STORE_ENGINE_POSTGRESQL;
	else
		return -1;
	return 0;
}

static const struct store_engine_ops *engine_of(enum store_engine e)
{
	switch (e) {
	case STORE_ENGINE_LMDB:
		return &store_lmdb_engine;
	case STORE_ENGINE_POSTGRESQL:
#ifdef AUTHD_WITH_POSTGRESQL
		return &store_pg_engine;
#else
		break;
#endif
	}
	log_err("this authd was built without the postgresql engine");
	return NULL;
}

#ifndef AUTHD_WITH_POSTGRESQL
int store_pg_service_write(const char *url, int fd)
{
	(void)url;
	(void)fd;
	log_err("this authd was built without the postgresql engine");
	return STORE_E_IO;
}
#endif

int store_migrate(const struct store_options *o)
{
	const struct store_engine_ops *e = engine_of(o->engine);

	return e ? e->migrate(o) : -1;
}

int store_open(const struct store_options *o)
{
	engine = engine_of(o->engine);
	if (engine == NULL)
		return -1;
	if (engine->open(o) != 0) {
		engine = NULL;
		return -1;
	}
	return 0;
}

int store_start(void)
{
	return engine->start();
}

void store_stop(void)
{
	if (engine)
		engine->stop();
}

void store_close(void)
{
	if (engine)
		engine->close();
	engine = NULL;
}

int store_is_empty(bool *empty)
{
	return engine->is_empty(empty);
}

int store_setting_read(const char *name, uint64_t *value)
{
	return engine->setting_read(name, value);
}

void store_batch_begin(void)
{
	if (engine && engine->batch)
		engine->batch(true);
}

void store_batch_end(void)
{
	if (engine && engine->batch)
		engine->batch(false);
}

int store_loop_fd(unsigned *generation, bool *want_write)
{
	*generation = 0;
	*want_write = false;
	if (engine == NULL || engine->loop_fd == NULL)
		return -1;
	return engine->loop_fd(generation, want_write);
}

void store_loop_ready(void)
{
	if (engine && engine->loop_ready)
		engine->loop_ready();
}

bool store_single_writer(void)
{
	return engine->single_writer;
}

bool store_shared(void)
{
	return engine != NULL && engine->shared;
}

void store_write(struct job *job)
{
	engine->write(job);
}

void store_read(struct job *job)
{
	engine->read(job);
}

void store_stats(struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (engine)
		engine->stats(st);
}

int store_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *a)
{
	return t->ops->account_get(t, id, a);
}

int store_account_put(struct store_txn *t, const struct account *a)
{
	return t->ops->account_put(t, a);
}

int store_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->account_by_email(t, email, id);
}

int store_org_put(struct store_txn *t, const struct org *o)
{
	return t->ops->org_put(t, o);
}

int store_member_put(struct store_txn *t, const struct member *m)
{
	return t->ops->member_put(t, m);
}

int store_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t account_id[AUTHD_ID_LEN], struct member *m)
{
	return t->ops->member_get(t, org_id, account_id, m);
}

int store_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->member_del(t, org_id, account_id);
}

int store_invite_put(struct store_txn *t, const struct invite *inv)
{
	return t->ops->invite_put(t, inv);
}

int store_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct invite *inv)
{
	return t->ops->invite_get(t, org_id, id, inv);
}

int store_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
			  struct invite *inv)
{
	return t->ops->invite_by_token(t, token_hash, inv);
}

int store_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct invite *inv), void *arg)
{
	return t->ops->invites_list(t, org_id, fn, arg);
}

int store_invite_del(struct store_txn *t, const struct invite *inv)
{
	return t->ops->invite_del(t, inv);
}

int store_product_put(struct store_txn *t, const struct product *p)
{
	return t->ops->product_put(t, p);
}

int store_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN], struct product *p)
{
	return t->ops->product_get(t, org_id, id, p);
}

int store_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->product_del(t, org_id, id);
}

int store_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct product *p), void *arg)
{
	return t->ops->products_list(t, org_id, fn, arg);
}

int store_grant_put(struct store_txn *t, const struct grant *g)
{
	return t->ops->grant_put(t, g);
}

int store_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		    struct grant *g)
{
	return t->ops->grant_get(t, org_id, product_id, subject, g);
}

int store_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN])
{
	return t->ops->grant_del(t, org_id, product_id, subject);
}

int store_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t product_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct grant *g), void *arg)
{
	return t->ops->grants_list(t, org_id, product_id, fn, arg);
}

int store_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			     const uint8_t subject[AUTHD_ID_LEN])
{
	return t->ops->grants_del_subject(t, org_id, subject);
}

int store_team_put(struct store_txn *t, const struct team *tm)
{
	return t->ops->team_put(t, tm);
}

int store_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], struct team *tm)
{
	return t->ops->team_get(t, org_id, id, tm);
}

int store_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->team_del(t, org_id, id);
}

int store_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct team *tm), void *arg)
{
	return t->ops->teams_list(t, org_id, fn, arg);
}

int store_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t team_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->team_member_put(t, org_id, team_id, account_id);
}

int store_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t team_id[AUTHD_ID_LEN],
			  const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->team_member_del(t, org_id, team_id, account_id);
}

int store_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t team_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	return t->ops->team_members_list(t, org_id, team_id, fn, arg);
}

int store_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t account_id[AUTHD_ID_LEN],
			    int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg)
{
	return t->ops->member_teams_list(t, org_id, account_id, fn, arg);
}

int store_address_put(struct store_txn *t, const struct billing_address *a)
{
	return t->ops->address_put(t, a);
}

int store_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->address_del(t, org_id, id);
}

int store_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const struct billing_address *a), void *arg)
{
	return t->ops->addresses_list(t, org_id, fn, arg);
}

int store_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		      int64_t *minor)
{
	return t->ops->balance_get(t, org_id, currency, minor);
}

int store_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		      int64_t minor)
{
	return t->ops->balance_put(t, org_id, currency, minor);
}

int store_ledger_add(struct store_txn *t, const struct ledger_entry *e)
{
	return t->ops->ledger_add(t, e);
}

int store_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		      int (*fn)(void *arg, const struct ledger_entry *e), void *arg)
{
	return t->ops->ledger_list(t, org_id, limit, fn, arg);
}

int store_payment_put(struct store_txn *t, const struct payment *p)
{
	return t->ops->payment_put(t, p);
}

int store_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p)
{
	return t->ops->payment_get(t, id, p);
}

int store_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			int (*fn)(void *arg, const struct payment *p), void *arg)
{
	return t->ops->payments_list(t, org_id, limit, fn, arg);
}

int store_support_put(struct store_txn *t, const struct support_grant *g)
{
	return t->ops->support_put(t, g);
}

int store_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g)
{
	return t->ops->support_get(t, id, g);
}

int store_support_live(struct store_txn *t, int64_t now,
		       int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	return t->ops->support_live(t, now, fn, arg);
}

int store_support_del(struct store_txn *t, const struct support_grant *g)
{
	return t->ops->support_del(t, g);
}

int store_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	return t->ops->support_list(t, org_id, fn, arg);
}

int store_partner_put(struct store_txn *t, const struct partner_link *l)
{
	return t->ops->partner_put(t, l);
}

int store_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		      const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l)
{
	return t->ops->partner_get(t, client_org, partner_org, l);
}

int store_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		      const uint8_t partner_org[AUTHD_ID_LEN])
{
	return t->ops->partner_del(t, client_org, partner_org);
}

int store_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
			int (*fn)(void *arg, const struct partner_link *l), void *arg)
{
	return t->ops->partners_list(t, org_id, as_client, fn, arg);
}

int store_token_update(struct store_txn *t, const struct api_token *tok)
{
	return t->ops->token_update(t, tok);
}

int store_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->tokens_del_account(t, account_id);
}

int store_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t product_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], struct member *m, struct product *p,
		       bool *has_product, struct grant *grants, size_t max, size_t *n)
{
	return t->ops->access_facts(t, org_id, product_id, account_id, m, p, has_product, grants,
				    max, n);
}

int store_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok)
{
	return t->ops->token_get(t, hash, tok);
}

int store_token_put(struct store_txn *t, const struct api_token *tok)
{
	return t->ops->token_put(t, tok);
}

int store_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->token_del(t, account_id, id);
}

int store_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct api_token *tok), void *arg)
{
	return t->ops->tokens_list(t, account_id, fn, arg);
}

int store_audit_add(struct store_txn *t, const struct audit_rec *a)
{
	return t->ops->audit_add(t, a);
}

int store_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const struct event_cursor *before, size_t limit,
		     int (*fn)(void *arg, const struct audit_rec *a), void *arg)
{
	return t->ops->audit_list(t, org_id, before, limit, fn, arg);
}

int store_session_get(struct store_txn *t, const struct token_ref *ref, struct session *s)
{
	return t->ops->session_get(t, ref, s);
}

int store_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s)
{
	return t->ops->session_put(t, ref, s);
}

int store_session_del(struct store_txn *t, const struct token_ref *ref)
{
	return t->ops->session_del(t, ref);
}

int store_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  const struct token_ref *keep)
{
	return t->ops->session_del_all(t, account_id, keep);
}

int store_login_get(struct store_txn *t, const struct token_ref *ref, struct login *l)
{
	return t->ops->login_get(t, ref, l);
}

int store_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l)
{
	return t->ops->login_put(t, ref, l);
}

int store_login_del(struct store_txn *t, const struct token_ref *ref)
{
	return t->ops->login_del(t, ref);
}

int store_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->login_del_all(t, account_id);
}

int store_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   struct totp_rec *rec)
{
	return t->ops->totp_get(t, account_id, rec);
}

int store_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const struct totp_rec *rec)
{
	return t->ops->totp_put(t, account_id, rec);
}

int store_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->totp_del(t, account_id);
}

int store_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     struct backup_rec *b)
{
	return t->ops->backup_get(t, account_id, b);
}

int store_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct backup_rec *b)
{
	return t->ops->backup_put(t, account_id, b);
}

int store_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->backup_del(t, account_id);
}

int store_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		       struct throttle_rec *r)
{
	return t->ops->throttle_get(t, key, r);
}

int store_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		       const struct throttle_rec *r)
{
	return t->ops->throttle_put(t, key, r);
}

int store_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *l)
{
	return t->ops->link_get(t, ref, l);
}

int store_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l)
{
	return t->ops->link_put(t, ref, l);
}

int store_link_del(struct store_txn *t, const struct token_ref *ref)
{
	return t->ops->link_del(t, ref);
}

int store_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->link_del_all(t, account_id);
}

int store_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *d)
{
	return t->ops->device_get(t, id, d);
}

int store_device_put(struct store_txn *t, const struct push_device *d)
{
	return t->ops->device_put(t, d);
}

int store_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const uint8_t id[AUTHD_ID_LEN], int64_t last_step)
{
	return t->ops->device_step(t, account_id, id, last_step);
}

static int count_device(void *arg, const struct push_device *d)
{
	(void)d;
	(*(unsigned *)arg)++;
	return 0;
}

int store_devices_count(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], unsigned *n)
{
	*n = 0;
	return t->ops->devices_list(t, account_id, count_device, n);
}

int store_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN])
{
	return t->ops->device_del(t, account_id, id);
}

int store_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct push_device *d), void *arg)
{
	return t->ops->devices_list(t, account_id, fn, arg);
}

int store_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			const uint8_t id[AUTHD_ID_LEN], struct push_challenge *c)
{
	return t->ops->challenge_get(t, account_id, id, c);
}

int store_challenge_put(struct store_txn *t, const struct push_challenge *c)
{
	return t->ops->challenge_put(t, c);
}

int store_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			  int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	return t->ops->challenges_list(t, account_id, fn, arg);
}

int store_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			     int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	return t->ops->challenges_pending(t, since, now, limit, fn, arg);
}

int store_notify(struct store_txn *t, const char *note)
{
	size_t n = strnlen(note, STORE_NOTE_MAX + 1);

	if (n == 0 || n > STORE_NOTE_MAX)
		AUTHD_BUG("note length");
	for (size_t i = 0; i < n; i++)
		if (note[i] < 0x20 || note[i] > 0x7e)
			AUTHD_BUG("note bytes");
	return t->ops->notify ? t->ops->notify(t, note) : 0;
}

int store_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   struct push_account *a)
{
	return t->ops->push_account_get(t, account_id, a);
}

int store_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   const struct push_account *a)
{
	return t->ops->push_account_put(t, account_id, a);
}

int store_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
			void *arg)
{
	return t->ops->sessions_list(t, account_id, fn, arg);
}

int store_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       struct recovery_rec *r)
{
	return t->ops->recovery_get(t, account_id, r);
}

int store_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const struct recovery_rec *r)
{
	return t->ops->recovery_put(t, account_id, r);
}

int store_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			    int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	return t->ops->recovery_by_phone(t, phone, limit, fn, arg);
}

int store_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     struct places_rec *p)
{
	return t->ops->places_get(t, account_id, p);
}

int store_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const struct places_rec *p)
{
	return t->ops->places_put(t, account_id, p);
}

int store_outbox_add(struct store_txn *t, const struct outbox_msg *m)
{
	return t->ops->outbox_add(t, m);
}

int store_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		       int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	return t->ops->outbox_claim(t, now, until, limit, fn, arg);
}

int store_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until)
{
	return t->ops->outbox_settle(t, m, claimed_until);
}

int store_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m)
{
	return t->ops->outbox_get(t, id, m);
}

int store_outbox_failures(struct store_txn *t, size_t limit,
			  int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	return t->ops->outbox_failures(t, limit, fn, arg);
}

int store_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest)
{
	return t->ops->outbox_pending(t, n, earliest);
}

int store_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o)
{
	return t->ops->org_get(t, org_id, o);
}

int store_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	return t->ops->org_del(t, org_id);
}

int store_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const struct member *m), void *arg)
{
	return t->ops->memberships_list(t, account_id, fn, arg);
}

int store_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct member *m), void *arg)
{
	return t->ops->members_list(t, org_id, fn, arg);
}

int store_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	return t->ops->account_delete(t, account_id);
}

int store_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c)
{
	return t->ops->case_get(t, id, c);
}

int store_case_put(struct store_txn *t, const struct case_rec *c)
{
	return t->ops->case_put(t, c);
}

int store_cases_list(struct store_txn *t, bool all, size_t limit,
		     int (*fn)(void *arg, const struct case_rec *c), void *arg)
{
	return t->ops->cases_list(t, all, limit, fn, arg);
}

int store_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		  int64_t uploaded_at, const uint8_t *sealed, size_t len)
{
	return t->ops->doc_put(t, case_id, n, uploaded_at, sealed, len);
}

int store_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
		  uint8_t **out, size_t *len)
{
	return t->ops->doc_get(t, case_id, n, out, len);
}

int store_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN])
{
	return t->ops->docs_del(t, case_id);
}

/* --- cases as JSON ------------------------------------------------------------------ */

static json_t *docs_of(const struct case_rec *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->n_docs && i < CASE_DOCS_MAX; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:s}", "uploaded_at",
						   (json_int_t)c->docs[i].uploaded_at, "size",
						   (json_int_t)c->docs[i].size, "type",
						   c->docs[i].type));
	return a;
}

char *store_case_docs_json(const struct case_rec *c)
{
	json_t *a = docs_of(c);
	char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	return text;
}

static int docs_from(json_t *a, struct case_rec *c)
{
	size_t i;
	json_t *d;

	if (!json_is_array(a) || json_array_size(a) > CASE_DOCS_MAX)
		return -1;
	json_array_foreach(a, i, d)
	{
		json_int_t at, size;
		const char *type;

		if (json_unpack(d, "{s:I, s:I, s:s}", "uploaded_at", &at, "size", &size, "type",
				&type) != 0 ||
		    size < 0 || size > UINT32_MAX || strlen(type) > CASE_TYPE_MAX)
			return -1;
		c->docs[i].uploaded_at = at;
		c->docs[i].size = (uint32_t)size;
		snprintf(c->docs[i].type, sizeof(c->docs[i].type), "%s", type);
	}
	c->n_docs = (uint8_t)json_array_size(a);
	return 0;
}

int store_case_docs_parse(const char *text, size_t len, struct case_rec *c)
{
	json_t *a = json_loadb(text, len, 0, NULL);
	int rc = docs_from(a, c);

	json_decref(a);
	return rc;
}

char *store_case_json(const struct case_rec *c)
{
	char aid[AUTHD_ID_HEX + 1], rid[AUTHD_ID_HEX + 1], th[2 * AUTHD_HASH_LEN + 1];
	json_t *o;
	char *text;

	authd_hex(c->account_id, AUTHD_ID_LEN, aid);
	authd_hex(c->reviewer, AUTHD_ID_LEN, rid);
	authd_hex(c->token_hash, AUTHD_HASH_LEN, th);
	o = json_pack("{s:s, s:i, s:i, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "account",
		      aid, "reason", c->reason, "state", c->state, "opened_at",
		      (json_int_t)c->opened_at, "decided_at", (json_int_t)c->decided_at, "token",
		      th, "login", c->login, "contact", c->contact, "details", c->details,
		      "reviewer", rid, "note", c->note, "docs", docs_of(c));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

int store_case_parse(const char *text, size_t len, struct case_rec *c)
{
	json_t *o = json_loadb(text, len, 0, NULL), *docs = NULL;
	const char *aid, *rid, *th, *login, *contact, *details, *note;
	json_int_t opened, decided;
	int reason, state, rc = -1;

	if (json_unpack(o, "{s:s, s:i, s:i, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
			"account", &aid, "reason", &reason, "state", &state, "opened_at", &opened,
			"decided_at", &decided, "token", &th, "login", &login, "contact", &contact,
			"details", &details, "reviewer", &rid, "note", &note, "docs", &docs) != 0 ||
	    authd_unhex(aid, strlen(aid), c->account_id, AUTHD_ID_LEN) != 0 ||
	    authd_unhex(rid, strlen(rid), c->reviewer, AUTHD_ID_LEN) != 0 ||
	    authd_unhex(th, strlen(th), c->token_hash, AUTHD_HASH_LEN) != 0 ||
	    reason < CASE_PASSWORD || reason > CASE_UNLOCK || state < CASE_OPEN ||
	    state > CASE_REJECTED || strlen(login) > EMAIL_MAX || strlen(contact) > EMAIL_MAX ||
	    strlen(details) > CASE_DETAILS_MAX || strlen(note) > CASE_NOTE_MAX ||
	    docs_from(docs, c) != 0)
		goto out;
	c->reason = (uint8_t)reason;
	c->state = (uint8_t)state;
	c->opened_at = opened;
	c->decided_at = decided;
	snprintf(c->login, sizeof(c->login), "%s", login);
	snprintf(c->contact, sizeof(c->contact), "%s", contact);
	snprintf(c->details, sizeof(c->details), "%s", details);
	snprintf(c->note, sizeof(c->note), "%s", note);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int store_event_add(struct store_txn *t, const struct security_event *e)
{
	return t->ops->event_add(t, e);
}

int store_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		      const struct event_cursor *before, size_t limit,
		      int (*fn)(void *arg, const struct security_event *e), void *arg)
{
	return t->ops->events_list(t, account_id, before, limit, fn, arg);
}

int store_walk(struct store_txn *t, const struct store_visitor *v, void *arg)
{
	if (t->ops->walk == NULL) {
		log_err("the %s engine cannot walk its records (use its own tools)", t->ops->name);
		return STORE_E_IO;
	}
	return t->ops->walk(t, v, arg);
}

int store_setting_get(struct store_txn *t, const char *name, uint64_t *value)
{
	return t->ops->setting_get(t, name, value);
}

int store_setting_put(struct store_txn *t, const char *name, uint64_t value)
{
	return t->ops->setting_put(t, name, value);
}

int store_settings_list(struct store_txn *t, const char *prefix,
			int (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	return t->ops->settings_list(t, prefix, fn, arg);
}

int store_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		     int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	return t->ops->seals_walk(t, pos, limit, fn, arg);
}

int store_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
		const struct store_sweep_pos *from, struct store_sweep_pos *to, size_t *deleted)
{
	return t->ops->sweep(t, now, idle_s, budget, from, to, deleted);
}

/* --- invoices as JSON (both engines keep an invoice's body as this text) --------------- */

static int set_hex(json_t *o, const char *name, const uint8_t *v, size_t len)
{
	char hex[2 * AUTHD_HASH_LEN + 1];

	authd_hex(v, len, hex);
	return json_object_set_new(o, name, json_string(hex));
}

static int set_int(json_t *o, const char *name, int64_t v)
{
	return json_object_set_new(o, name, json_integer((json_int_t)v));
}

char *store_invoice_json(const struct invoice *inv)
{
	const struct billing_address *a = &inv->address;
	json_t *o = json_object(), *items = json_array();
	json_t *addr = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", a->name, "line1",
				 a->line1, "line2", a->line2, "postal_code", a->postal_code, "city",
				 a->city, "country", a->country, "vat_number", a->vat_number);
	char *text = NULL;
	int bad = o == NULL || items == NULL || addr == NULL;

	for (unsigned i = 0; !bad && i < inv->n_items && i < INVOICE_LINES_MAX; i++)
		bad = json_array_append_new(
			  items, json_pack("{s:s, s:I, s:I}", "text", inv->items[i].text,
					   "quantity", (json_int_t)inv->items[i].quantity, "unit",
					   (json_int_t)inv->items[i].unit_minor)) != 0;
	bad = bad || set_hex(o, "id", inv->id, AUTHD_ID_LEN) ||
	      set_hex(o, "org", inv->org_id, AUTHD_ID_LEN) ||
	      set_int(o, "number", (int64_t)inv->number) || set_int(o, "kind", inv->kind) ||
	      set_int(o, "status", inv->status) || set_int(o, "currency", inv->currency) ||
	      set_hex(o, "product", inv->product_id, AUTHD_ID_LEN) ||
	      set_int(o, "product_kind", inv->product_kind) ||
	      json_object_set_new(o, "product_name", json_string(inv->product_name)) ||
	      set_int(o, "months", inv->months) || set_int(o, "tax_bp", inv->tax_bp) ||
	      set_int(o, "subtotal", inv->subtotal) || set_int(o, "discount", inv->discount) ||
	      set_int(o, "tax", inv->tax) || set_int(o, "total", inv->total) ||
	      json_object_set_new(o, "voucher", json_string(inv->voucher)) ||
	      json_object_set(o, "address", addr) || json_object_set(o, "items", items) ||
	      set_hex(o, "created_by", inv->created_by, AUTHD_ID_LEN) ||
	      set_int(o, "created_at", inv->created_at) || set_int(o, "due_at", inv->due_at) ||
	      set_int(o, "paid_at", inv->paid_at) ||
	      set_int(o, "cancelled_at", inv->cancelled_at) ||
	      set_hex(o, "payment", inv->payment_id, AUTHD_ID_LEN);
	if (!bad)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(addr);
	json_decref(items);
	json_decref(o);
	return text;
}

/* Copies o's string field into out (size bytes with its NUL): false when
 * missing or too long. */
static bool get_str(json_t *o, const char *name, char *out, size_t size)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) >= size)
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_int(json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

static bool get_hex(json_t *o, const char *name, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) && json_string_length(v) == 2 * len &&
	       authd_unhex(json_string_value(v), 2 * len, out, len) == 0;
}

int store_invoice_parse(const char *text, size_t len, struct invoice *inv)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	json_t *addr = json_object_get(o, "address"), *items = json_object_get(o, "items");
	struct billing_address *a = &inv->address;
	int64_t v[14];
	size_t i;
	bool ok;

	memset(inv, 0, sizeof(*inv));
	ok = o && json_is_object(addr) && json_is_array(items) &&
	     json_array_size(items) <= INVOICE_LINES_MAX &&
	     get_hex(o, "id", inv->id, AUTHD_ID_LEN) &&
	     get_hex(o, "org", inv->org_id, AUTHD_ID_LEN) &&
	     get_hex(o, "product", inv->product_id, AUTHD_ID_LEN) &&
	     get_hex(o, "created_by", inv->created_by, AUTHD_ID_LEN) &&
	     get_hex(o, "payment", inv->payment_id, AUTHD_ID_LEN) &&
	     get_int(o, "number", 0, INT64_MAX, &v[0]) && get_int(o, "kind", 1, 2, &v[1]) &&
	     get_int(o, "status", 1, 3, &v[2]) && get_int(o, "currency", 1, 2, &v[3]) &&
	     get_int(o, "product_kind", 0, 255, &v[4]) && get_int(o, "months", 0, 65535, &v[5]) &&
	     get_int(o, "tax_bp", 0, UINT32_MAX, &v[6]) &&
	     get_int(o, "subtotal", INT64_MIN, INT64_MAX, &inv->subtotal) &&
	     get_int(o, "discount", INT64_MIN, INT64_MAX, &inv->discount) &&
	     get_int(o, "tax", INT64_MIN, INT64_MAX, &inv->tax) &&
	     get_int(o, "total", INT64_MIN, INT64_MAX, &inv->total) &&
	     get_int(o, "created_at", INT64_MIN, INT64_MAX, &inv->created_at) &&
	     get_int(o, "due_at", INT64_MIN, INT64_MAX, &inv->due_at) &&
	     get_int(o, "paid_at", INT64_MIN, INT64_MAX, &inv->paid_at) &&
	     get_int(o, "cancelled_at", INT64_MIN, INT64_MAX, &inv->cancelled_at) &&
	     get_str(o, "product_name", inv->product_name, sizeof(inv->product_name)) &&
	     get_str(o, "voucher", inv->voucher, sizeof(inv->voucher)) &&
	     get_str(addr, "name", a->name, sizeof(a->name)) &&
	     get_str(addr, "line1", a->line1, sizeof(a->line1)) &&
	     get_str(addr, "line2", a->line2, sizeof(a->line2)) &&
	     get_str(addr, "postal_code", a->postal_code, sizeof(a->postal_code)) &&
	     get_str(addr, "city", a->city, sizeof(a->city)) &&
	     get_str(addr, "country", a->country, sizeof(a->country)) &&
	     get_str(addr, "vat_number", a->vat_number, sizeof(a->vat_number));
	for (i = 0; ok && i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);

		ok = get_str(it, "text", inv->items[i].text, sizeof(inv->items[i].text)) &&
		     get_int(it, "quantity", 0, UINT32_MAX, &v[7]) &&
		     get_int(it, "unit", INT64_MIN, INT64_MAX, &inv->items[i].unit_minor);
		if (ok)
			inv->items[i].quantity = (uint32_t)v[7];
	}
	json_decref(o);
	if (!ok) {
		memset(inv, 0, sizeof(*inv));
		return -1;
	}
	inv->n_items = (unsigned)i;
	inv->number = (uint64_t)v[0];
	inv->kind = (uint8_t)v[1];
	inv->status = (uint8_t)v[2];
	inv->currency = (uint8_t)v[3];
	inv->product_kind = (uint8_t)v[4];
	inv->months = (uint16_t)v[5];
	inv->tax_bp = (uint32_t)v[6];
	memcpy(inv->address.org_id, inv->org_id, AUTHD_ID_LEN);
	return 0;
}

int store_product_update(struct store_txn *t, const struct product *p)
{
	return t->ops->product_update(t, p);
}

int store_cluster_lock(struct store_txn *t, int64_t key, bool *held)
{
	return t->ops->cluster_lock(t, key, held);
}

int store_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		       size_t limit, int (*fn)(void *arg, const struct product *p), void *arg)
{
	return t->ops->products_due(t, until, after, limit, fn, arg);
}

int store_invoice_put(struct store_txn *t, const struct invoice *inv)
{
	return t->ops->invoice_put(t, inv);
}

int store_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv)
{
	return t->ops->invoice_get(t, id, inv);
}

int store_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
			int (*fn)(void *arg, const struct invoice *inv), void *arg)
{
	return t->ops->invoices_list(t, org_id, limit, fn, arg);
}

int store_counter_next(struct store_txn *t, const char *name, uint64_t *value)
{
	return t->ops->counter_next(t, name, value);
}

int store_voucher_put(struct store_txn *t, const struct voucher *v)
{
	return t->ops->voucher_put(t, v);
}

int store_voucher_get(struct store_txn *t, const char *code, struct voucher *v)
{
	return t->ops->voucher_get(t, code, v);
}

int store_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v),
			void *arg)
{
	return t->ops->vouchers_list(t, fn, arg);
}
