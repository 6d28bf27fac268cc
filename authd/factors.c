/*
 * The second-factor rules behind factors.h: TOTP with replay protection
 * (never a step at or before the last accepted one), single-use backup codes
 * compared in constant time over all ten, and the shared failure history.
 */
#include "factors.h"

#include "http.h"
#include <log.h>
#include <store.h>

#include <openssl/crypto.h>
#include <string.h>

int factor_retry_after(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		       int64_t *retry_after, bool *locked)
{
	uint8_t key[THROTTLE_KEY_LEN];
	struct throttle_rec t;
	int rc;

	throttle_key_factor(key, account_id);
	rc = store_throttle_get(txn, key, &t);
	if (rc != 0)
		return rc;
	*retry_after = throttle_retry_after(&t, &throttle_factor_policy, now, 0);
	if (locked)
		*locked = throttle_factor_locked(&t);
	return 0;
}

int factor_record(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], int64_t now,
		  bool ok)
{
	uint8_t key[THROTTLE_KEY_LEN];
	struct throttle_rec t;
	int rc;

	throttle_key_factor(key, account_id);
	rc = store_throttle_get(txn, key, &t);
	if (rc != 0)
		return rc;
	if (ok) {
		if (t.consecutive == 0)
			return 0; /* nothing to forget: no write */
		throttle_record_success(&t);
		return store_throttle_put(txn, key, &t);
	}
	throttle_record_failure(&t, &throttle_factor_policy, now);
	if ((rc = store_throttle_put(txn, key, &t)) != 0)
		return rc;
	if (t.consecutive == THROTTLE_FACTOR_LOCK) {
		char aid[AUTHD_ID_HEX + 1];

		authd_hex(account_id, AUTHD_ID_LEN, aid);
		log_warn("security event=second_factor_locked account=%s failures=%u", aid,
			 (unsigned)t.consecutive);
	}
	/* The password step's hourly cap counts this failure too. */
	throttle_key_account(key, account_id);
	if ((rc = store_throttle_get(txn, key, &t)) != 0)
		return rc;
	throttle_record_hourly(&t, now);
	return store_throttle_put(txn, key, &t);
}

/* The API error for what otp_totp_verify() returned (E_OK: accepted). */
static enum api_error verdict_error(int rc)
{
	switch (rc) {
	case 0:
		return E_OK;
	case OTP_E_REPLAYED:
		return E_CODE_REUSED;
	case OTP_E_INVALID:
	case OTP_E_MISMATCH:
		return E_INVALID_CODE;
	default:
		return E_INTERNAL;
	}
}

int factor_totp_check(struct totp_rec *t, const uint8_t account_id[AUTHD_ID_LEN], bool pending,
		      const char *code, size_t len, int64_t now, enum api_error *api_err)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[SEALED_SEED_MAX];
	uint64_t step = 0;
	long slen;
	int rc;

	slen =
	    keys_open(srv.keys.totp, account_id, AUTHD_ID_LEN, pending ? t->pending_seed : t->seed,
		      pending ? t->pending_seed_len : t->seed_len, seed);
	if (slen <= 0) {
		log_err("a totp seed does not open: wrong key file or damaged record");
		return STORE_E_CORRUPT;
	}
	p.alg = (enum otp_alg)t->alg;
	p.digits = t->digits;
	p.period = t->period;
	rc = otp_totp_verify(seed, (size_t)slen, &p, (uint64_t)now, code, len,
			     pending ? -1 : t->last_step, &step);
	OPENSSL_cleanse(seed, sizeof(seed));
	*api_err = verdict_error(rc);
	if (rc == 0)
		t->last_step = (int64_t)step;
	return 0;
}

void factor_totp_precheck(struct totp_precheck *pre, const struct totp_rec *t,
			  const uint8_t account_id[AUTHD_ID_LEN], const char *code, size_t len,
			  int64_t now)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[SEALED_SEED_MAX];
	long slen;

	memset(pre, 0, sizeof(*pre));
	slen = keys_open(srv.keys.totp, account_id, AUTHD_ID_LEN, t->seed, t->seed_len, seed);
	if (slen <= 0)
		return; /* the writer's own check reports it */
	p.alg = (enum otp_alg)t->alg;
	p.digits = t->digits;
	p.period = t->period;
	pre->verdict =
	    otp_totp_verify(seed, (size_t)slen, &p, (uint64_t)now, code, len, -1, &pre->step);
	OPENSSL_cleanse(seed, sizeof(seed));
	memcpy(pre->sealed, t->seed, t->seed_len);
	pre->sealed_len = t->seed_len;
	pre->alg = t->alg;
	pre->digits = t->digits;
	pre->period = t->period;
	pre->done = true;
}

bool factor_totp_apply(struct totp_rec *t, const struct totp_precheck *pre, enum api_error *api_err)
{
	int rc = pre->verdict;

	if (!pre->done || t->seed_len != pre->sealed_len ||
	    memcmp(t->seed, pre->sealed, pre->sealed_len) != 0 || t->alg != pre->alg ||
	    t->digits != pre->digits || t->period != pre->period)
		return false;
	/* The highest match: if it is not after the last step, none is. */
	if (rc == 0 && t->last_step >= 0 && pre->step <= (uint64_t)t->last_step)
		rc = OTP_E_REPLAYED;
	*api_err = verdict_error(rc);
	if (rc == 0)
		t->last_step = (int64_t)pre->step;
	return true;
}

void factor_backup_consume(struct backup_rec *b, const char *code, size_t len, int64_t now,
			   enum api_error *api_err)
{
	char norm[OTP_BACKUP_CHARS + 1];
	uint8_t h[OTP_BACKUP_HASH_LEN];
	int hit = -1;
	int used = -1;

	*api_err = E_INVALID_CODE;
	if (otp_backup_normalize(code, len, norm) != 0)
		return;
	/* Hash against every salt and compare all ten, used or not, so the time
	 * taken says nothing about which code matched. */
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		if (otp_backup_hash(srv.keys.backup, b->salt[i], norm, h) != 0)
			continue;
		if (CRYPTO_memcmp(h, b->hash[i], sizeof(h)) == 0) {
			if (b->used_at[i] == 0)
				hit = i;
			else
				used = i;
		}
	}
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(h, sizeof(h));
	if (hit >= 0) {
		b->used_at[hit] = now;
		*api_err = E_OK;
	} else if (used >= 0) {
		*api_err = E_CODE_REUSED;
	}
}

void factor_backup_new(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
		       int64_t now)
{
	memset(b, 0, sizeof(*b));
	b->created_at = now;
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		uint8_t rnd[OTP_BACKUP_RANDOM_LEN];
		char norm[OTP_BACKUP_CHARS + 1];

		authd_random(rnd, sizeof(rnd));
		otp_backup_format(rnd, codes[i]);
		OPENSSL_cleanse(rnd, sizeof(rnd));
		authd_random(b->salt[i], OTP_BACKUP_SALT_LEN);
		if (otp_backup_normalize(codes[i], strlen(codes[i]), norm) != 0 ||
		    otp_backup_hash(srv.keys.backup, b->salt[i], norm, b->hash[i]) != 0)
			AUTHD_BUG("a fresh backup code does not hash");
		OPENSSL_cleanse(norm, sizeof(norm));
	}
}

json_t *factor_backup_json(char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1])
{
	json_t *arr = json_array();

	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		if (arr)
			json_array_append_new(arr, json_string(codes[i]));
		OPENSSL_cleanse(codes[i], OTP_BACKUP_TEXT_LEN + 1);
	}
	return arr;
}
