/*
 * An account's lock, in a write's transaction, for whoever decides it (an
 * identity-verification reviewer, or the operator through authctl): a
 * locked account signs in nowhere, and locking it ends every way in it
 * has (sessions, API tokens, pending logins); unlocking it also forgets
 * its second factors' failures. Both record a security event.
 */
#ifndef AUTHD_ACCOUNTS_H
#define AUTHD_ACCOUNTS_H

#include <core.h>
#include <store.h>

struct flow;

/* Locks account id (already locked: unchanged) at f->now from f->ip;
 * *locked_at says since when. 0, or STORE_E_* (STORE_E_NOTFOUND: no such
 * account). */
int account_lock(struct flow *f, struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN],
		 int64_t *locked_at);
/* Unlocks a (as read in txn) at f->now from f->ip and writes it. 0 or
 * STORE_E_*. */
int account_unlock(struct flow *f, struct store_txn *txn, struct account *a);

#endif
