/*
 * The daily quotas every text message goes through, and the codes a
 * sign-in by SMS sends (sms.h).
 */
#include "sms.h"

#include "factors.h"
#include "http.h"

#include <openssl/crypto.h>
#include <string.h>
#include <util.h>

#include <stdatomic.h>

/* Set by sms_setup() before any job runs, and again by a reload while
 * jobs run: atomics. */
static _Atomic unsigned account_max = 10, prefix_max = 200;

void sms_setup(const struct authd_config *c)
{
	atomic_store(&account_max, c->sms_account_daily_max);
	atomic_store(&prefix_max, c->sms_prefix_daily_max);
}

int sms_quota_take(struct store_txn *txn, const uint8_t *account_id, bool sign_in,
		   const char *phone, int64_t now, bool *ok, int64_t *retry_after)
{
	uint8_t akey[THROTTLE_KEY_LEN], pkey[THROTTLE_KEY_LEN];
	struct throttle_rec a, p;
	int64_t wait_a = 0, wait_p = 0;
	bool ok_a = true, ok_p;
	int rc;

	*ok = false;
	*retry_after = 0;
	throttle_key_sms_prefix(pkey, srv.keys.subjects, phone);
	if ((rc = store_throttle_get(txn, pkey, &p)) != 0)
		return rc;
	if (account_id) {
		throttle_key_sms_account(akey, account_id, sign_in);
		if ((rc = store_throttle_get(txn, akey, &a)) != 0)
			return rc;
		ok_a = throttle_quota_take(&a, atomic_load(&account_max), now, &wait_a);
	}
	ok_p = throttle_quota_take(&p, atomic_load(&prefix_max), now, &wait_p);
	if (!ok_a || !ok_p) {
		*retry_after = wait_a > wait_p ? wait_a : wait_p;
		return 0;
	}
	if ((rc = store_throttle_put(txn, pkey, &p)) != 0 ||
	    (account_id && (rc = store_throttle_put(txn, akey, &a)) != 0))
		return rc;
	*ok = true;
	return 0;
}

int sms_is_on(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool *on)
{
	struct recovery_rec rec;
	int rc = store_recovery_get(txn, account_id, &rec);

	*on = rc == 0 && recovery_sms_factor_is_on(&rec);
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

int sms_other_factor(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], bool *on)
{
	struct totp_rec t;
	unsigned n = 0;
	int rc = store_totp_get(txn, account_id, &t);

	*on = rc == 0 && t.enabled;
	OPENSSL_cleanse(&t, sizeof(t));
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if (!*on && (rc = store_devices_count(txn, account_id, &n)) != 0)
		return rc;
	*on = *on || n > 0;
	return 0;
}

int sms_factor_ended(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		     const char *ip)
{
	bool other;
	int rc = sms_other_factor(txn, account_id, &other);

	if (rc == 0 && !other && (rc = store_backup_del(txn, account_id)) == STORE_E_NOTFOUND)
		rc = 0;
	return rc != 0 ? rc : factor_event(txn, account_id, EVENT_SMS_REMOVED, now, ip);
}

void sms_code_hash(const uint8_t login_hash[AUTHD_HASH_LEN], const char *code, size_t len,
		   uint8_t out[RECOVERY_HASH_LEN])
{
	uint8_t in[1 + AUTHD_HASH_LEN + 32];

	if (len > 32)
		len = 32;
	in[0] = 'S';
	memcpy(in + 1, login_hash, AUTHD_HASH_LEN);
	memcpy(in + 1 + AUTHD_HASH_LEN, code, len);
	authd_hmac_sha256(srv.keys.recovery, in, 1 + AUTHD_HASH_LEN + len, out);
	OPENSSL_cleanse(in, sizeof(in));
}

void sms_digits_new(char *out, unsigned n)
{
	uint8_t rnd[8];
	uint64_t v = 0;

	authd_random(rnd, sizeof(rnd));
	for (int i = 0; i < 8; i++)
		v = v << 8 | rnd[i];
	for (int i = (int)n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	out[n] = '\0';
	OPENSSL_cleanse(&v, sizeof(v));
	OPENSSL_cleanse(rnd, sizeof(rnd));
}

bool sms_digits_of(const char *in, size_t len, char *out, unsigned n)
{
	unsigned k = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '-')
			continue;
		if (in[i] < '0' || in[i] > '9' || k == n)
			return false;
		out[k++] = in[i];
	}
	out[k] = '\0';
	return k == n;
}
