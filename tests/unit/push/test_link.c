/* Unit tests for push/link.c: a link offer (its secret names the account,
 * its seed is sealed to the account and the device id), its completion
 * (once, before it expires, under the device cap, with a proper name), and
 * every PUSH_E_* code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "push.h"

#include <stdbool.h>
#include <string.h>

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
int __real_core_seal(const struct core_keyring *key, const uint8_t nonce[SEAL_NONCE],
		     const uint8_t *aad, size_t aad_len, const uint8_t *plain, size_t len,
		     uint8_t *out);
int __wrap_core_seal(const struct core_keyring *key, const uint8_t nonce[SEAL_NONCE],
		     const uint8_t *aad, size_t aad_len, const uint8_t *plain, size_t len,
		     uint8_t *out);

static bool fail_seal;

int __wrap_core_seal(const struct core_keyring *key, const uint8_t nonce[SEAL_NONCE],
		     const uint8_t *aad, size_t aad_len, const uint8_t *plain, size_t len,
		     uint8_t *out)
{
	return fail_seal ? -1 : __real_core_seal(key, nonce, aad, aad_len, plain, len, out);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

#define NOW 1796536800

static uint8_t totp_key[32], backup_key[32];
static struct core_keyring totp_ring = {.key = {[1] = totp_key}, .current = 1};
static const struct core_keys keys = {&totp_ring, backup_key};
static const uint8_t account[AUTHD_ID_LEN] = {1, 2,  3,	 4,  5,	 6,  7,	 8,
					      9, 10, 11, 12, 13, 14, 15, 16};

static void rnd_fill(uint8_t rnd[PUSH_LINK_RANDOM], uint8_t base)
{
	for (size_t i = 0; i < PUSH_LINK_RANDOM; i++)
		rnd[i] = (uint8_t)(base + i);
}

static void new_offer(struct push_link *l, uint8_t secret[MP_SECRET_LEN],
		      uint8_t seed[PUSH_SEED_LEN])
{
	uint8_t rnd[PUSH_LINK_RANDOM];

	rnd_fill(rnd, 0x40);
	assert_int_equal(push_link_new(l, secret, seed, account, 0, rnd, &keys, NOW), 0);
}

static void test_offer(void **state)
{
	struct push_link l;
	uint8_t secret[MP_SECRET_LEN], seed[PUSH_SEED_LEN], opened[PUSH_SEED_LEN];
	uint8_t aad[2 * AUTHD_ID_LEN], rnd[PUSH_LINK_RANDOM];
	struct token_ref ref;

	(void)state;
	new_offer(&l, secret, seed);
	rnd_fill(rnd, 0x40);
	/* The random bytes, in order: device id, seed, nonce, secret. */
	assert_memory_equal(l.device_id, rnd, AUTHD_ID_LEN);
	assert_memory_equal(seed, rnd + AUTHD_ID_LEN, PUSH_SEED_LEN);
	assert_memory_equal(secret, account, AUTHD_ID_LEN);
	assert_memory_equal(secret + AUTHD_ID_LEN, rnd + PUSH_LINK_RANDOM - PUSH_SECRET_RANDOM,
			    PUSH_SECRET_RANDOM);
	assert_memory_equal(l.account_id, account, AUTHD_ID_LEN);
	assert_int_equal(l.created_at, NOW);
	assert_int_equal(l.expires_at, NOW + 600);
	assert_int_equal(l.linked_at, 0);
	/* The seed is sealed, to this account and this device id only. */
	assert_int_equal(l.seed_len, PUSH_SEED_LEN + SEAL_OVERHEAD);
	assert_null(memmem(l.seed, l.seed_len, seed, PUSH_SEED_LEN));
	memcpy(aad, account, AUTHD_ID_LEN);
	memcpy(aad + AUTHD_ID_LEN, l.device_id, AUTHD_ID_LEN);
	assert_int_equal(core_unseal(&totp_ring, aad, sizeof(aad), l.seed, l.seed_len, opened),
			 PUSH_SEED_LEN);
	assert_memory_equal(opened, seed, PUSH_SEED_LEN);
	aad[AUTHD_ID_LEN] ^= 1;
	assert_int_equal(core_unseal(&totp_ring, aad, sizeof(aad), l.seed, l.seed_len, opened), -1);
	/* Filed under the account and the secret's SHA-256. */
	push_link_ref(secret, &ref);
	assert_memory_equal(ref.account_id, account, AUTHD_ID_LEN);
	{
		uint8_t h[AUTHD_HASH_LEN];

		authd_sha256(secret, MP_SECRET_LEN, h);
		assert_memory_equal(ref.hash, h, AUTHD_HASH_LEN);
	}
}

static void test_offer_refusals(void **state)
{
	struct push_link l;
	uint8_t secret[MP_SECRET_LEN], seed[PUSH_SEED_LEN], rnd[PUSH_LINK_RANDOM];

	(void)state;
	rnd_fill(rnd, 1);
	memset(&l, 0x5a, sizeof(l));
	assert_int_equal(
	    push_link_new(&l, secret, seed, account, PUSH_DEVICES_MAX, rnd, &keys, NOW),
	    PUSH_E_TOO_MANY);
	assert_int_equal(l.created_at, 0x5a5a5a5a5a5a5a5a); /* untouched */
	assert_int_equal(
	    push_link_new(&l, secret, seed, account, PUSH_DEVICES_MAX - 1, rnd, &keys, NOW), 0);
	fail_seal = true;
	assert_int_equal(push_link_new(&l, secret, seed, account, 0, rnd, &keys, NOW),
			 PUSH_E_INTERNAL);
	fail_seal = false;
}

static void test_complete(void **state)
{
	struct push_link l;
	struct push_device d;
	uint8_t secret[MP_SECRET_LEN], seed[PUSH_SEED_LEN], key[MP_KEY_LEN];

	(void)state;
	memset(key, 0x33, sizeof(key));
	new_offer(&l, secret, seed);
	assert_true(push_link_usable(&l, NOW + 599));
	assert_int_equal(push_link_complete(&l, &d, key, "Alice's Pixel", 3, NOW + 10), 0);
	assert_memory_equal(d.id, l.device_id, AUTHD_ID_LEN);
	assert_memory_equal(d.account_id, account, AUTHD_ID_LEN);
	assert_memory_equal(d.public_key, key, MP_KEY_LEN);
	assert_string_equal(d.name, "Alice's Pixel");
	assert_int_equal(d.created_at, NOW + 10);
	assert_int_equal(d.last_step, -1);
	assert_int_equal(d.seed_len, l.seed_len);
	assert_memory_equal(d.seed, l.seed, l.seed_len); /* opens under the same aad */
	assert_int_equal(l.linked_at, NOW + 10);
	/* Once. */
	assert_false(push_link_usable(&l, NOW + 11));
	assert_int_equal(push_link_complete(&l, &d, key, "again", 3, NOW + 11),
			 PUSH_E_LINK_INVALID);
}

static void test_complete_refusals(void **state)
{
	struct push_link l;
	struct push_device d;
	uint8_t secret[MP_SECRET_LEN], seed[PUSH_SEED_LEN], key[MP_KEY_LEN];
	char long_name[PUSH_NAME_MAX + 2];

	(void)state;
	memset(key, 0x33, sizeof(key));
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	new_offer(&l, secret, seed);
	memset(&d, 0x5a, sizeof(d));
	/* Expired at exactly ten minutes. */
	assert_int_equal(push_link_complete(&l, &d, key, "x", 0, NOW + 600), PUSH_E_LINK_INVALID);
	assert_int_equal(push_link_complete(&l, &d, key, "", 0, NOW), PUSH_E_INVALID);
	assert_int_equal(push_link_complete(&l, &d, key, long_name, 0, NOW), PUSH_E_INVALID);
	assert_int_equal(push_link_complete(&l, &d, key, "tab\there", 0, NOW), PUSH_E_INVALID);
	assert_int_equal(push_link_complete(&l, &d, key, "x", PUSH_DEVICES_MAX, NOW),
			 PUSH_E_TOO_MANY);
	assert_int_equal(d.created_at, 0x5a5a5a5a5a5a5a5a); /* untouched */
	assert_int_equal(l.linked_at, 0);		    /* still usable */
	long_name[PUSH_NAME_MAX] = '\0';
	assert_int_equal(push_link_complete(&l, &d, key, long_name, 0, NOW), 0);
}

static void test_strings(void **state)
{
	(void)state;
	for (int e = PUSH_OK; e >= PUSH_E_INTERNAL; e--)
		assert_string_not_equal(push_strerror(e), "unknown error");
	assert_string_equal(push_strerror(-42), "unknown error");
	assert_true(push_name_ok("Pixel 8 \xc3\xa9"));
	assert_false(push_name_ok("del\x7f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offer),    cmocka_unit_test(test_offer_refusals),
	    cmocka_unit_test(test_complete), cmocka_unit_test(test_complete_refusals),
	    cmocka_unit_test(test_strings),
	};

	memset(totp_key, 0x11, sizeof(totp_key));
	memset(backup_key, 0x22, sizeof(backup_key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
