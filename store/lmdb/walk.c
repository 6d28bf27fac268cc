/*
 * The LMDB engine's walk over every record that moves between engines
 * (store_walk, for authd export): each database in key order, decoded by
 * the same codecs the typed operations use.
 */
#include "lmdb-internal.h"

#include <openssl/crypto.h>
#include <string.h>

struct walk_ctx {
	struct store_txn *t;
	const struct store_visitor *v;
	void *arg;
	int rc; /* the first failure or non-zero answer */
};

static int on_account(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct account a;

	(void)txn;
	(void)val;
	if (k->mv_size != AUTHD_ID_LEN)
		return (w->rc = STORE_E_CORRUPT);
	if ((w->rc = lmdb_account_get(w->t, k->mv_data, &a)) == 0)
		w->rc = w->v->account(w->arg, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	return w->rc;
}

static int on_org(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct org o;

	(void)txn;
	if ((w->rc = lmdb_org_decode(k, val, &o)) == 0)
		w->rc = w->v->org(w->arg, &o);
	return w->rc;
}

static int on_member(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct member m;

	(void)txn;
	if ((w->rc = lmdb_member_decode(k, val, &m)) == 0)
		w->rc = w->v->member(w->arg, &m);
	return w->rc;
}

static int on_cluster(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct token_ref ref;
	struct totp_rec t;

	(void)txn;
	(void)val;
	/* Sessions and pending logins stay: only the TOTP credentials move. */
	if (lmdb_cluster_key_kind(k, &ref) != KIND_TOTP)
		return 0;
	if ((w->rc = lmdb_totp_get(w->t, k->mv_data, &t)) == 0)
		w->rc = w->v->totp(w->arg, k->mv_data, &t);
	OPENSSL_cleanse(&t, sizeof(t));
	return w->rc;
}

static int on_device(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct push_device d;

	(void)txn;
	(void)val;
	if (k->mv_size != AUTHD_ID_LEN)
		return (w->rc = STORE_E_CORRUPT);
	if ((w->rc = lmdb_device_get(w->t, k->mv_data, &d)) == 0)
		w->rc = w->v->device(w->arg, &d);
	OPENSSL_cleanse(&d, sizeof(d));
	return w->rc;
}

static int on_backup(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct backup_rec b;

	(void)txn;
	(void)val;
	if (k->mv_size != AUTHD_ID_LEN)
		return (w->rc = STORE_E_CORRUPT);
	if ((w->rc = lmdb_backup_get(w->t, k->mv_data, &b)) == 0)
		w->rc = w->v->backup(w->arg, k->mv_data, &b);
	OPENSSL_cleanse(&b, sizeof(b));
	return w->rc;
}

static int on_throttle(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct throttle_rec r;

	(void)txn;
	(void)val;
	if (k->mv_size != THROTTLE_KEY_LEN)
		return (w->rc = STORE_E_CORRUPT);
	if ((w->rc = lmdb_throttle_get(w->t, k->mv_data, &r)) == 0)
		w->rc = w->v->throttle(w->arg, k->mv_data, &r);
	return w->rc;
}

static int on_event(MDB_txn *txn, const MDB_val *k, const MDB_val *val, void *arg)
{
	struct walk_ctx *w = arg;
	struct security_event e;

	(void)txn;
	if (!lmdb_is_event_key(k))
		return 0; /* another record of the cluster */
	if ((w->rc = lmdb_event_decode(k, val, &e)) == 0)
		w->rc = w->v->event(w->arg, &e);
	return w->rc;
}

int lmdb_walk_records(struct store_txn *t, const struct store_visitor *v, void *arg)
{
	/* Organizations first, so that an import meets them before their
	 * accounts and memberships. */
	const struct {
		int (*fn)(MDB_txn *, const MDB_val *, const MDB_val *, void *);
		enum lmdb_db db;
		bool wanted;
	} kinds[] = {
	    {on_org, DB_ORGS, v->org != NULL},
	    {on_account, DB_ACCOUNTS, v->account != NULL},
	    {on_member, DB_MEMBERS, v->member != NULL},
	    {on_cluster, DB_CLUSTER, v->totp != NULL},
	    {on_backup, DB_BACKUP, v->backup != NULL},
	    {on_device, DB_DEVICES, v->device != NULL},
	    {on_throttle, DB_THROTTLE, v->throttle != NULL},
	    {on_event, DB_CLUSTER, v->event != NULL},
	};
	struct walk_ctx w = {t, v, arg, 0};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int rc;

		if (!kinds[i].wanted)
			continue;
		rc = lmdb_walk(lmdb_of(t), kinds[i].db, NULL, 0, 0, kinds[i].fn, &w);
		if (rc != 0)
			return rc;
		if (w.rc != 0)
			return w.rc;
	}
	return 0;
}
