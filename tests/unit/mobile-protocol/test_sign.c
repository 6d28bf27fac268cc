/* Unit tests for mobile-protocol/sign.c: RFC 8032's Ed25519 vectors
 * through OpenSSL's EVP, the signing inputs of PROTOCOL.md and its test
 * vectors byte for byte, and refusals (forged, altered, wrong key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mp.h"
#include "vectors.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
EVP_PKEY *__real_EVP_PKEY_new_raw_private_key(int type, ENGINE *e, const unsigned char *k,
					      size_t len);
EVP_PKEY *__wrap_EVP_PKEY_new_raw_private_key(int type, ENGINE *e, const unsigned char *k,
					      size_t len);
EVP_PKEY *__real_EVP_PKEY_new_raw_public_key(int type, ENGINE *e, const unsigned char *k,
					     size_t len);
EVP_PKEY *__wrap_EVP_PKEY_new_raw_public_key(int type, ENGINE *e, const unsigned char *k,
					     size_t len);

static bool fail_openssl;

EVP_PKEY *__wrap_EVP_PKEY_new_raw_private_key(int type, ENGINE *e, const unsigned char *k,
					      size_t len)
{
	return fail_openssl ? NULL : __real_EVP_PKEY_new_raw_private_key(type, e, k, len);
}

EVP_PKEY *__wrap_EVP_PKEY_new_raw_public_key(int type, ENGINE *e, const unsigned char *k,
					     size_t len)
{
	return fail_openssl ? NULL : __real_EVP_PKEY_new_raw_public_key(type, e, k, len);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void tohex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* RFC 8032 section 7.1, TESTS 1 and 2. */
static void test_rfc8032(void **state)
{
	static const struct {
		const char *seed, *pub, *msg, *sig;
	} v[] = {
	    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
	     "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
	     "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t seed[32], pub[32], want_pub[32], msg[1], sig[64], want_sig[64];
		size_t n = strlen(v[i].msg) / 2;

		unhex(v[i].seed, seed, 32);
		unhex(v[i].pub, want_pub, 32);
		unhex(v[i].msg, msg, n);
		unhex(v[i].sig, want_sig, 64);
		assert_int_equal(mp_key_public(seed, pub), 0);
		assert_memory_equal(pub, want_pub, 32);
		assert_int_equal(mp_sign(seed, msg, n, sig), 0);
		assert_memory_equal(sig, want_sig, 64);
		assert_int_equal(mp_verify(pub, msg, n, sig), 0);
	}
}

/* The fixed inputs of PROTOCOL.md section 8. */
struct fixture {
	uint8_t seed[32], pub[32], nonce[32], secret[MP_SECRET_LEN], cnonce[32];
	uint8_t device_id[MP_ID_LEN], challenge_id[MP_ID_LEN];
};

static void fixture(struct fixture *f)
{
	vector_bytes("seed", f->seed, 32);
	vector_bytes("hello_nonce", f->nonce, 32);
	vector_bytes("link_secret", f->secret, MP_SECRET_LEN);
	vector_bytes("challenge_nonce", f->cnonce, 32);
	assert_int_equal(mp_key_public(f->seed, f->pub), 0);
	assert_int_equal(mp_id_parse(vector("device_id"), f->device_id), 0);
	assert_int_equal(mp_id_parse(vector("challenge_id"), f->challenge_id), 0);
}

/* The input is the vector's, and so is its signature, which verifies. */
static void check(const struct fixture *f, const uint8_t *in, size_t len, const char *kind)
{
	char name[32], hex[2 * MP_SIGNED_MAX + 1];
	uint8_t sig[MP_SIG_LEN];

	snprintf(name, sizeof(name), "%s_input", kind);
	tohex(in, len, hex);
	assert_string_equal(hex, vector(name));
	assert_int_equal(mp_sign(f->seed, in, len, sig), 0);
	snprintf(name, sizeof(name), "%s_sig", kind);
	tohex(sig, sizeof(sig), hex);
	assert_string_equal(hex, vector(name));
	assert_int_equal(mp_verify(f->pub, in, len, sig), 0);
}

static void test_protocol_vectors(void **state)
{
	struct fixture f;
	uint8_t in[MP_SIGNED_MAX];
	char hex[65];
	size_t len;

	(void)state;
	fixture(&f);
	tohex(f.pub, 32, hex);
	assert_string_equal(hex, vector("public_key"));
	assert_int_equal(mp_signed_link(f.nonce, f.secret, f.pub, vector("device_name"), in, &len),
			 0);
	assert_int_equal(len, 134 + strlen(vector("device_name")));
	check(&f, in, len, "link");
	assert_int_equal(mp_signed_auth(f.nonce, f.device_id, in, &len), 0);
	assert_int_equal(len, 69);
	check(&f, in, len, "auth");
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_APPROVE, 42, in, &len), 0);
	assert_int_equal(len, 89);
	check(&f, in, len, "approve");
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_NOT_ME, 0, in, &len), 0);
	check(&f, in, len, "not_me");
}

/* A signature holds for its exact input and key only. */
static void test_refusals(void **state)
{
	struct fixture f;
	uint8_t in[MP_SIGNED_MAX], other[MP_SIGNED_MAX], sig[MP_SIG_LEN], pub2[32], seed2[32];
	uint8_t junk[32];
	size_t len, len2;

	(void)state;
	fixture(&f);
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_APPROVE, 42, in, &len), 0);
	assert_int_equal(mp_sign(f.seed, in, len, sig), 0);
	/* Another decision, another number: the same signature fails. */
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_DENY, 0, other, &len2), 0);
	assert_int_equal(mp_verify(f.pub, other, len2, sig), MP_E_BAD_SIGNATURE);
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_APPROVE, 43, other, &len2),
	    0);
	assert_int_equal(mp_verify(f.pub, other, len2, sig), MP_E_BAD_SIGNATURE);
	/* An auth signature is no answer signature, even over the same bytes
	 * after the label. */
	assert_int_equal(mp_signed_auth(f.nonce, f.device_id, other, &len2), 0);
	assert_int_equal(mp_verify(f.pub, other, len2, sig), MP_E_BAD_SIGNATURE);
	/* Every flipped bit of the signature. */
	for (size_t i = 0; i < MP_SIG_LEN * 8; i += 7) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(mp_verify(f.pub, in, len, sig), MP_E_BAD_SIGNATURE);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(mp_verify(f.pub, in, len, sig), 0);
	/* Another key. */
	memset(seed2, 0x77, sizeof(seed2));
	assert_int_equal(mp_key_public(seed2, pub2), 0);
	assert_int_equal(mp_verify(pub2, in, len, sig), MP_E_BAD_SIGNATURE);
	/* 32 bytes that are not a point on the curve. */
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(mp_verify(junk, in, len, sig), MP_E_BAD_SIGNATURE);
}

static void test_input_refusals(void **state)
{
	struct fixture f;
	uint8_t in[MP_SIGNED_MAX];
	char name[MP_NAME_MAX + 2];
	size_t len = 0;

	(void)state;
	fixture(&f);
	assert_int_equal(mp_signed_link(f.nonce, f.secret, f.pub, "", in, &len), MP_E_INVALID);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(mp_signed_link(f.nonce, f.secret, f.pub, name, in, &len), MP_E_INVALID);
	name[MP_NAME_MAX] = '\0'; /* exactly 64 bytes: the longest input */
	assert_int_equal(mp_signed_link(f.nonce, f.secret, f.pub, name, in, &len), 0);
	assert_int_equal(len, MP_SIGNED_MAX);
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_APPROVE, 0, in, &len),
	    MP_E_INVALID);
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_APPROVE, 100, in, &len),
	    MP_E_INVALID);
	assert_int_equal(
	    mp_signed_answer(f.challenge_id, f.cnonce, f.device_id, MP_DENY, 42, in, &len),
	    MP_E_INVALID);
	assert_int_equal(mp_signed_answer(f.challenge_id, f.cnonce, f.device_id,
					  (enum mp_decision)7, 0, in, &len),
			 MP_E_INVALID);
}

/* Points of small order, in either sign, may not be linked: under the
 * identity a forged signature verifies for any message. */
static void test_weak_keys(void **state)
{
	struct fixture f;
	uint8_t key[MP_KEY_LEN] = {1}, sig[MP_SIG_LEN] = {1};

	(void)state;
	fixture(&f);
	assert_int_equal(mp_verify(key, f.nonce, 32, sig), 0); /* why they are refused */
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	key[31] = 0x80; /* the same point, the other sign */
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	memset(key, 0, sizeof(key));
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	memset(key, 0xff, sizeof(key));
	key[0] = 0xec;
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	key[0] = 0xee;
	key[31] = 0x7f;
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	unhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", key, 32);
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	unhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", key, 32);
	assert_int_equal(mp_key_acceptable(key), MP_E_INVALID);
	assert_int_equal(mp_key_acceptable(f.pub), 0);
}

static void test_openssl_failures(void **state)
{
	struct fixture f;
	uint8_t sig[MP_SIG_LEN], pub[32];

	(void)state;
	fixture(&f);
	fail_openssl = true;
	assert_int_equal(mp_key_public(f.seed, pub), MP_E_INTERNAL);
	assert_int_equal(mp_sign(f.seed, f.nonce, 32, sig), MP_E_INTERNAL);
	assert_int_equal(mp_verify(f.pub, f.nonce, 32, sig), MP_E_INTERNAL);
	fail_openssl = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8032),	     cmocka_unit_test(test_protocol_vectors),
	    cmocka_unit_test(test_refusals),	     cmocka_unit_test(test_input_refusals),
	    cmocka_unit_test(test_openssl_failures), cmocka_unit_test(test_weak_keys),
	};

	return cmocka_run_group_tests(tests, vectors_setup, NULL);
}
