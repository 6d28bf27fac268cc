/*
 * The second-factor rules: sealed seeds, TOTP with replay protection (never
 * a step at or before the last accepted one), single-use backup codes
 * compared in constant time over all ten, and the failure history they
 * share. Keys, time and random bytes come in as arguments.
 */
#include "core.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

int core_seal(const struct core_keyring *r, const uint8_t nonce[SEAL_NONCE], const uint8_t *aad,
	      size_t aad_len, const uint8_t *plain, size_t len, uint8_t *out)
{
	const uint8_t *key = r->current != 0 ? r->key[r->current] : NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *ct = out + 1 + SEAL_NONCE;
	int n = 0;
	int rc = -1;

	if (key == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	out[0] = r->current;
	memcpy(out + 1, nonce, SEAL_NONCE);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, ct + len) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

uint8_t core_seal_generation(const uint8_t *sealed, size_t sealed_len)
{
	return sealed_len < SEAL_OVERHEAD ? 0 : sealed[0];
}

bool core_seal_held(const struct core_keyring *r, const uint8_t *sealed, size_t sealed_len)
{
	uint8_t g = core_seal_generation(sealed, sealed_len);

	return g != 0 && r->key[g] != NULL;
}

long core_unseal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
		 const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	size_t len;
	int n = 0;
	long rc = -1;

	if (!core_seal_held(r, sealed, sealed_len))
		return -1;
	len = sealed_len - SEAL_OVERHEAD;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, r->key[sealed[0]], sealed + 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, sealed + 1 + SEAL_NONCE, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
				(void *)(sealed + 1 + SEAL_NONCE + len)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &n) != 1) {
		OPENSSL_cleanse(out, len);
		goto out;
	}
	rc = (long)len;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

bool core_seal_not_held(const struct core_keyring *r, const uint8_t *sealed, size_t len)
{
	return core_seal_generation(sealed, len) != 0 && !core_seal_held(r, sealed, len);
}

void core_factor_failure(struct core_factor_hist *h, int64_t now)
{
	throttle_record_failure(&h->factor, &throttle_factor_policy, now);
	h->locked_now = h->factor.consecutive == THROTTLE_FACTOR_LOCK;
	/* The password step's hourly cap counts this failure too. */
	throttle_record_hourly(&h->account, now);
	h->factor_dirty = h->account_dirty = true;
}

void core_factor_success(struct core_factor_hist *h)
{
	if (h->factor.consecutive == 0)
		return; /* nothing to forget: no write */
	throttle_record_success(&h->factor);
	h->factor_dirty = true;
}

/* The verdict for what otp_totp_verify() returned. */
static enum core_verdict totp_verdict(int rc)
{
	switch (rc) {
	case 0:
		return CORE_OK;
	case OTP_E_REPLAYED:
		return CORE_CODE_REUSED;
	case OTP_E_INVALID:
	case OTP_E_MISMATCH:
		return CORE_INVALID_CODE;
	default:
		return CORE_DAMAGED;
	}
}

enum core_verdict core_device_totp_check(struct core_device_totp *d, const struct core_keys *k,
					 const char *code, size_t len, int64_t now)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[SEALED_SEED_MAX];
	uint64_t step = 0;
	long slen;
	int rc;

	if (core_seal_not_held(k->totp, d->seed, d->seed_len))
		return CORE_KEY_MISSING;
	slen = core_unseal(k->totp, d->aad, sizeof(d->aad), d->seed, d->seed_len, seed);
	if (slen <= 0)
		return CORE_DAMAGED;
	rc = otp_totp_verify(seed, (size_t)slen, &p, (uint64_t)now, code, len, d->last_step, &step);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (rc == 0)
		d->last_step = (int64_t)step;
	return totp_verdict(rc);
}

enum core_verdict core_totp_check(struct totp_rec *t, const struct core_keys *k,
				  const uint8_t account_id[AUTHD_ID_LEN], bool pending,
				  const char *code, size_t len, int64_t now)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[SEALED_SEED_MAX];
	const uint8_t *sealed = pending ? t->pending_seed : t->seed;
	size_t sealed_len = pending ? t->pending_seed_len : t->seed_len;
	uint64_t step = 0;
	long slen;
	int rc;

	if (core_seal_not_held(k->totp, sealed, sealed_len))
		return CORE_KEY_MISSING;
	slen = core_unseal(k->totp, account_id, AUTHD_ID_LEN, sealed, sealed_len, seed);
	if (slen <= 0)
		return CORE_DAMAGED;
	p.alg = (enum otp_alg)t->alg;
	p.digits = t->digits;
	p.period = t->period;
	rc = otp_totp_verify(seed, (size_t)slen, &p, (uint64_t)now, code, len,
			     pending ? -1 : t->last_step, &step);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (rc == 0)
		t->last_step = (int64_t)step;
	return totp_verdict(rc);
}

void core_totp_precheck(struct core_totp_precheck *pre, const struct totp_rec *t,
			const struct core_keys *k, const uint8_t account_id[AUTHD_ID_LEN],
			const char *code, size_t len, int64_t now)
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t seed[SEALED_SEED_MAX];
	long slen;

	memset(pre, 0, sizeof(*pre));
	slen = core_unseal(k->totp, account_id, AUTHD_ID_LEN, t->seed, t->seed_len, seed);
	if (slen <= 0)
		return; /* the write's own check reports it */
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

bool core_totp_apply(struct totp_rec *t, const struct core_totp_precheck *pre, enum core_verdict *v)
{
	int rc = pre->verdict;

	if (!pre->done || t->seed_len != pre->sealed_len ||
	    memcmp(t->seed, pre->sealed, pre->sealed_len) != 0 || t->alg != pre->alg ||
	    t->digits != pre->digits || t->period != pre->period)
		return false;
	/* The highest match: if it is not after the last step, none is. */
	if (rc == 0 && t->last_step >= 0 && pre->step <= (uint64_t)t->last_step)
		rc = OTP_E_REPLAYED;
	*v = totp_verdict(rc);
	if (rc == 0)
		t->last_step = (int64_t)pre->step;
	return true;
}

enum core_verdict core_backup_consume(struct backup_rec *b, const struct core_keys *k,
				      const char *code, size_t len, int64_t now)
{
	char norm[OTP_BACKUP_CHARS + 1];
	uint8_t h[OTP_BACKUP_HASH_LEN];
	int hit = -1;
	int used = -1;

	if (otp_backup_normalize(code, len, norm) != 0)
		return CORE_INVALID_CODE;
	/* Hash against every salt and compare all ten, used or not, so the time
	 * taken says nothing about which code matched. */
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		if (otp_backup_hash(k->backup, b->salt[i], norm, h) != 0)
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
		return CORE_OK;
	}
	return used >= 0 ? CORE_CODE_REUSED : CORE_INVALID_CODE;
}

int core_backup_new(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
		    const struct core_keys *k, const uint8_t rnd[CORE_BACKUP_RANDOM], int64_t now)
{
	const uint8_t *r = rnd;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->created_at = now;
	for (int i = 0; i < OTP_BACKUP_COUNT; i++) {
		char norm[OTP_BACKUP_CHARS + 1];

		otp_backup_format(r, codes[i]);
		r += OTP_BACKUP_RANDOM_LEN;
		memcpy(b->salt[i], r, OTP_BACKUP_SALT_LEN);
		r += OTP_BACKUP_SALT_LEN;
		if (otp_backup_normalize(codes[i], strlen(codes[i]), norm) != 0 ||
		    otp_backup_hash(k->backup, b->salt[i], norm, b->hash[i]) != 0)
			rc = -1;
		OPENSSL_cleanse(norm, sizeof(norm));
	}
	if (rc != 0) {
		OPENSSL_cleanse(b, sizeof(*b));
		OPENSSL_cleanse(codes, OTP_BACKUP_COUNT * (OTP_BACKUP_TEXT_LEN + 1));
	}
	return rc;
}
