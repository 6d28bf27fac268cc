/*
 * An account's lock (accounts.h).
 */
#include "accounts.h"

#include "factors.h"
#include "flow.h"
#include "orgs.h"

#include <openssl/crypto.h>

int account_lock(struct flow *f, struct store_txn *txn, const uint8_t id[AUTHD_ID_LEN],
		 int64_t *locked_at)
{
	struct account a;
	int rc = store_account_get(txn, id, &a);

	if (rc != 0)
		goto out;
	if (a.locked_at == 0) {
		a.locked_at = f->now;
		if ((rc = store_account_put(txn, &a)) != 0 ||
		    (rc = store_session_del_all(txn, a.id, NULL)) != 0 ||
		    (rc = orgs_account_tokens_end(f, txn, a.id)) != 0 ||
		    (rc = store_login_del_all(txn, a.id)) != 0 ||
		    (rc = factor_event(txn, a.id, EVENT_ACCOUNT_LOCKED, f->now, f->ip)) != 0)
			goto out;
	}
	*locked_at = a.locked_at;
out:
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

int account_unlock(struct flow *f, struct store_txn *txn, struct account *a)
{
	int rc;

	a->locked_at = 0;
	if ((rc = store_account_put(txn, a)) != 0 ||
	    (rc = factor_failures_clear(txn, a->id, f->now, f->ip)) != 0)
		return rc;
	return factor_event(txn, a->id, EVENT_ACCOUNT_UNLOCKED, f->now, f->ip);
}
