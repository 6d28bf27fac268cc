/*
 * Closing an account on LMDB: everything filed under it goes in one write
 * (its record and email key, its whole cluster, the device and phone index
 * entries that point at it, its backup codes, memberships and their index
 * entries).
 */
#include "lmdb-internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct keys {
	uint8_t (*k)[CLUSTER_KEY_MAX + 1]; /* the length, then the key */
	size_t n, cap;
	int rc; /* out of memory: STORE_E_IO (the walk stops) */
};

static int collect(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct keys *ks = arg;

	(void)txn;
	(void)v;
	if (k->mv_size > CLUSTER_KEY_MAX)
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 64;
		void *p = realloc(ks->k, cap * sizeof(*ks->k));

		if (p == NULL)
			return ks->rc = STORE_E_IO;
		ks->k = p;
		ks->cap = cap;
	}
	ks->k[ks->n][0] = (uint8_t)k->mv_size;
	memcpy(ks->k[ks->n++] + 1, k->mv_data, k->mv_size);
	return 0;
}

/* Deletes the collected keys of db; a cluster's device record takes its
 * index entry with it. */
static int del_all(MDB_txn *txn, enum lmdb_db db, const struct keys *ks)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ks->n; i++) {
		const uint8_t *key = ks->k[i] + 1;
		size_t len = ks->k[i][0];

		if (db == DB_CLUSTER && len == AUTHD_ID_LEN + 1 + AUTHD_ID_LEN &&
		    key[AUTHD_ID_LEN] == KIND_DEVICE &&
		    (rc = lmdb_del(txn, DB_DEVICES, key + AUTHD_ID_LEN + 1, AUTHD_ID_LEN)) ==
			STORE_E_NOTFOUND)
			rc = 0;
		if (rc == 0 && (rc = lmdb_del(txn, db, key, len)) == STORE_E_NOTFOUND)
			rc = 0;
	}
	return rc;
}

int lmdb_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	MDB_txn *txn = lmdb_of(t);
	struct recovery_rec none;
	struct account a;
	struct keys ks = {0};
	int rc = lmdb_account_get(t, account_id, &a);

	if (rc != 0)
		return rc;
	/* The phone index goes with the recovery record. */
	memset(&none, 0, sizeof(none));
	if ((rc = lmdb_recovery_put(t, account_id, &none)) != 0)
		goto out;
	if ((rc = lmdb_walk(txn, DB_CLUSTER, account_id, AUTHD_ID_LEN, AUTHD_ID_LEN, collect,
			    &ks)) != 0 ||
	    (rc = ks.rc) != 0 || (rc = del_all(txn, DB_CLUSTER, &ks)) != 0)
		goto out;
	/* Its memberships, through their index (account || organization). */
	ks.n = 0;
	if ((rc = lmdb_walk(txn, DB_ACCOUNT_ORGS, account_id, AUTHD_ID_LEN, AUTHD_ID_LEN, collect,
			    &ks)) != 0 ||
	    (rc = ks.rc) != 0)
		goto out;
	for (size_t i = 0; rc == 0 && i < ks.n; i++)
		rc = ks.k[i][0] == 2 * AUTHD_ID_LEN
			 ? lmdb_member_del(t, ks.k[i] + 1 + AUTHD_ID_LEN, account_id)
			 : STORE_E_CORRUPT;
	if (rc != 0)
		goto out;
	if ((rc = lmdb_tokens_del_account(t, account_id)) != 0)
		goto out;
	if ((rc = lmdb_del(txn, DB_BACKUP, account_id, AUTHD_ID_LEN)) == STORE_E_NOTFOUND)
		rc = 0;
	if (rc == 0 &&
	    (rc = lmdb_del(txn, DB_EMAILS, a.email, strlen(a.email))) == STORE_E_NOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = lmdb_del(txn, DB_ACCOUNTS, account_id, AUTHD_ID_LEN);
out:
	free(ks.k);
	memset(&a, 0, sizeof(a));
	return rc;
}
