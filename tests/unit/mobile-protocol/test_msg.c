/* Unit tests for mobile-protocol/msg.c: each message type decodes and
 * encodes back to the same bytes; a table of malformed messages gets the
 * right error and leaves the output cleared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mp.h"
#include "vectors.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
json_t *__real_json_object(void);
json_t *__wrap_json_object(void);

static bool fail_json_object;

json_t *__wrap_json_object(void)
{
	return fail_json_object ? NULL : __real_json_object();
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */

#define B32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"		       /* bytes 0..31 */
#define B48 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v" /* bytes 0..47 */
#define B64                                                                                        \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-"     \
	"Pw" /* bytes 0..63 */
#define ID "00112233445566778899aabbccddeeff"

/* One of each message, in the encoder's own field order. */
static const char *const good[] = {
    "{\"type\":\"hello\",\"v\":1,\"nonce\":\"" B32 "\",\"server_time\":1796536800}",
    "{\"type\":\"link\",\"secret\":\"" B48 "\",\"public_key\":\"" B32
    "\",\"name\":\"Alice's Pixel \xc3\xa9\",\"sig\":\"" B64 "\"}",
    "{\"type\":\"linked\",\"device_id\":\"" ID "\",\"account\":\"alice@example.com\"}",
    "{\"type\":\"auth\",\"device_id\":\"" ID "\",\"sig\":\"" B64 "\"}",
    "{\"type\":\"ready\",\"device_id\":\"" ID "\",\"pending\":2}",
    "{\"type\":\"challenge\",\"id\":\"" ID "\",\"nonce\":\"" B32
    "\",\"account\":\"alice@example.com\",\"ip\":\"203.0.113.7\",\"location\":\"unknown\","
    "\"browser\":\"Firefox 128\",\"os\":\"Linux\",\"application\":\"console\","
    "\"time\":1796536800,\"expires_at\":1796536920}",
    "{\"type\":\"answer\",\"id\":\"" ID "\",\"decision\":\"approve\",\"number\":42,\"sig\":\"" B64
    "\"}",
    "{\"type\":\"answer\",\"id\":\"" ID "\",\"decision\":\"not_me\",\"sig\":\"" B64 "\"}",
    "{\"type\":\"answer_result\",\"id\":\"" ID "\",\"result\":\"accepted\"}",
    "{\"type\":\"answer_result\",\"id\":\"" ID
    "\",\"result\":\"refused\",\"code\":\"wrong_number\"}",
    "{\"type\":\"withdraw\",\"id\":\"" ID "\",\"reason\":\"answered\"}",
    "{\"type\":\"revoked\",\"device_id\":\"" ID "\"}",
    "{\"type\":\"error\",\"code\":\"invalid_message\"}",
    "{\"type\":\"wake\",\"token\":\"apns:0f1e2d\"}",
    "{\"type\":\"wake\",\"token\":\"\"}",
};

static void test_round_trip(void **state)
{
	struct mp_msg m;
	char out[MP_FRAME_MAX + 1];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = mp_msg_decode(good[i], strlen(good[i]), false, &m);

		if (rc != 0)
			fail_msg("message %zu: %s: %s", i, mp_strerror(rc), good[i]);
		assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), 0);
		assert_int_equal(len, strlen(out));
		assert_string_equal(out, good[i]);
	}
}

static void test_fields(void **state)
{
	struct mp_msg m;

	(void)state;
	assert_int_equal(mp_msg_decode(good[6], strlen(good[6]), false, &m), 0);
	assert_int_equal(m.type, MP_ANSWER);
	assert_int_equal(m.answer.decision, MP_APPROVE);
	assert_int_equal(m.answer.number, 42);
	assert_int_equal(m.answer.id[1], 0x11);
	assert_int_equal(m.answer.sig[63], 63);
	assert_int_equal(mp_msg_decode(good[1], strlen(good[1]), false, &m), 0);
	assert_string_equal(m.link.name, "Alice's Pixel \xc3\xa9");
	assert_int_equal(m.link.public_key[31], 31);
	assert_int_equal(mp_msg_decode(good[9], strlen(good[9]), false, &m), 0);
	assert_false(m.answer_result.accepted);
	assert_string_equal(m.answer_result.code, "wrong_number");
	assert_int_equal(mp_msg_decode(good[13], strlen(good[13]), false, &m), 0);
	assert_int_equal(m.type, MP_WAKE);
	assert_string_equal(m.wake.token, "apns:0f1e2d");
	assert_true(mp_type_from_device(MP_WAKE));
}

/* A wake token is at most MP_WAKE_TOKEN_MAX characters of text. */
static void test_wake_token(void **state)
{
	char text[MP_WAKE_TOKEN_MAX + 64];
	struct mp_msg m;
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "{\"type\":\"wake\",\"token\":\"%0*d\"}",
		     MP_WAKE_TOKEN_MAX, 7);
	assert_int_equal(mp_msg_decode(text, (size_t)n, false, &m), 0);
	assert_int_equal(strlen(m.wake.token), MP_WAKE_TOKEN_MAX);
	n = snprintf(text, sizeof(text), "{\"type\":\"wake\",\"token\":\"%0*d\"}",
		     MP_WAKE_TOKEN_MAX + 1, 7);
	assert_int_equal(mp_msg_decode(text, (size_t)n, false, &m), MP_E_INVALID);
	n = snprintf(text, sizeof(text), "{\"type\":\"wake\",\"token\":\"a\\u0007\"}");
	assert_int_equal(mp_msg_decode(text, (size_t)n, false, &m), MP_E_INVALID);
	n = snprintf(text, sizeof(text), "{\"type\":\"wake\"}");
	assert_int_equal(mp_msg_decode(text, (size_t)n, false, &m), MP_E_INVALID);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
	    {"", MP_E_INVALID},
	    {"not json", MP_E_INVALID},
	    {"[]", MP_E_INVALID},
	    {"{}", MP_E_INVALID},
	    {"{\"type\":7}", MP_E_INVALID},
	    {"{\"type\":\"launch\"}", MP_E_UNKNOWN_TYPE},
	    {"{\"type\":\"revoked\"}", MP_E_INVALID},
	    {"{\"type\":\"revoked\",\"device_id\":\"" ID "\",\"extra\":1}", MP_E_INVALID},
	    {"{\"type\":\"revoked\",\"device_id\":\"" ID "\",\"device_id\":\"" ID "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"revoked\",\"device_id\":\"00112233445566778899AABBCCDDEEFF\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"revoked\",\"device_id\":42}", MP_E_INVALID},
	    {"{\"type\":\"revoked\",\"device_id\":\"" ID "\"} trailing", MP_E_INVALID},
	    {"{\"type\":\"hello\",\"v\":2,\"nonce\":\"" B32 "\",\"server_time\":1}", MP_E_INVALID},
	    {"{\"type\":\"hello\",\"v\":1,\"nonce\":\"" B32 "A\",\"server_time\":1}", MP_E_INVALID},
	    {"{\"type\":\"hello\",\"v\":1,\"nonce\":\"" B32 "\",\"server_time\":1.5}",
	     MP_E_INVALID},
	    {"{\"type\":\"hello\",\"v\":\"1\",\"nonce\":\"" B32 "\",\"server_time\":1}",
	     MP_E_INVALID},
	    {"{\"type\":\"link\",\"secret\":\"" B48 "\",\"public_key\":\"" B32
	     "\",\"name\":\"\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"link\",\"secret\":\"" B48 "\",\"public_key\":\"" B32
	     "\",\"name\":\"tab\\there\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"link\",\"secret\":\"" B48 "\",\"public_key\":\"" B32
	     "\",\"name\":\"nul\\u0000\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"link\",\"secret\":\"" B48 "\",\"public_key\":\"" B32
	     "\",\"name\":\"0123456789012345678901234567890123456789012345678901234567890123"
	     "4\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer\",\"id\":\"" ID "\",\"decision\":\"approve\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer\",\"id\":\"" ID
	     "\",\"decision\":\"deny\",\"number\":42,\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer\",\"id\":\"" ID
	     "\",\"decision\":\"approve\",\"number\":9,\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer\",\"id\":\"" ID
	     "\",\"decision\":\"approve\",\"number\":100,\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer\",\"id\":\"" ID "\",\"decision\":\"maybe\",\"sig\":\"" B64 "\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer_result\",\"id\":\"" ID
	     "\",\"result\":\"accepted\",\"code\":\"x\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"answer_result\",\"id\":\"" ID "\",\"result\":\"refused\"}", MP_E_INVALID},
	    {"{\"type\":\"error\",\"code\":\"Bad-Code\"}", MP_E_INVALID},
	    /* A C1 control (U+0085) and a right-to-left override (U+202E). */
	    {"{\"type\":\"linked\",\"device_id\":\"" ID "\",\"account\":\"a\\u0085b\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"linked\",\"device_id\":\"" ID "\",\"account\":\"evil\\u202egpj.exe\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"linked\",\"device_id\":\"" ID "\",\"account\":\"isolate\\u2066\"}",
	     MP_E_INVALID},
	    {"{\"type\":\"withdraw\",\"id\":\"" ID "\",\"reason\":\"bored\"}", MP_E_INVALID},
	    {"{\"type\":\"ready\",\"device_id\":\"" ID "\",\"pending\":-1}", MP_E_INVALID},
	};
	struct mp_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		memset(&m, 0x5a, sizeof(m));
		rc = mp_msg_decode(bad[i].text, strlen(bad[i].text), false, &m);
		if (rc != bad[i].rc)
			fail_msg("case %zu: got %d (%s), want %d: %s", i, rc, mp_strerror(rc),
				 bad[i].rc, bad[i].text);
		assert_int_equal(m.type, 0); /* cleared */
	}
}

/* A device ignores fields authd may add within version 1; authd does not. */
static void test_lenient(void **state)
{
	static const char text[] = "{\"type\":\"withdraw\",\"id\":\"" ID
				   "\",\"reason\":\"expired\",\"hint\":\"new in 1.1\"}";
	struct mp_msg m;

	(void)state;
	assert_int_equal(mp_msg_decode(text, strlen(text), false, &m), MP_E_INVALID);
	assert_int_equal(mp_msg_decode(text, strlen(text), true, &m), 0);
	assert_int_equal(m.withdraw.reason, MP_WITHDRAW_EXPIRED);
}

static void test_too_large(void **state)
{
	static char text[MP_FRAME_MAX + 2];
	struct mp_msg m;

	(void)state;
	memset(text, ' ', sizeof(text) - 1);
	text[0] = '{';
	memcpy(text + MP_FRAME_MAX - 1, "}", 1);
	/* Exactly the limit: well-formed JSON, just not a message. */
	assert_int_equal(mp_msg_decode(text, MP_FRAME_MAX, false, &m), MP_E_INVALID);
	assert_int_equal(mp_msg_decode(text, MP_FRAME_MAX + 1, false, &m), MP_E_TOO_LARGE);
}

static void test_encode_refusals(void **state)
{
	struct mp_msg m;
	char out[128];
	size_t len;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_INVALID); /* no type */
	m.type = MP_ERROR;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_INVALID); /* no code */
	snprintf(m.error.code, sizeof(m.error.code), "rate_limited");
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), 0);
	assert_string_equal(out, "{\"type\":\"error\",\"code\":\"rate_limited\"}");
	assert_int_equal(mp_msg_encode(&m, out, 20, &len), MP_E_SPACE);
	memset(&m, 0, sizeof(m));
	m.type = MP_ANSWER;
	m.answer.decision = MP_APPROVE;
	m.answer.number = 7;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_INVALID);
	m.answer.decision = (enum mp_decision)9;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_INVALID);
	memset(&m, 0, sizeof(m));
	m.type = MP_LINK;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_INVALID); /* no name */
	m.type = MP_REVOKED;
	fail_json_object = true;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), MP_E_NOMEM);
	fail_json_object = false;
	assert_int_equal(mp_msg_encode(&m, out, sizeof(out), &len), 0);
}

/* PROTOCOL.md's messages decode, encode back byte for byte, and carry
 * signatures that verify over the inputs section 2 defines. */
static void test_protocol_vectors(void **state)
{
	static const char *const names[] = {"hello_json", "link_json", "auth_json", "approve_json",
					    "not_me_json"};
	uint8_t seed[32], pub[32], nonce[32], cnonce[32], dev[MP_ID_LEN], in[MP_SIGNED_MAX];
	struct mp_msg m[5];
	char out[MP_FRAME_MAX + 1];
	size_t len;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		const char *text = vector(names[i]);

		assert_int_equal(mp_msg_decode(text, strlen(text), false, &m[i]), 0);
		assert_int_equal(mp_msg_encode(&m[i], out, sizeof(out), &len), 0);
		assert_string_equal(out, text);
	}
	vector_bytes("seed", seed, 32);
	vector_bytes("hello_nonce", nonce, 32);
	vector_bytes("challenge_nonce", cnonce, 32);
	assert_int_equal(mp_key_public(seed, pub), 0);
	assert_memory_equal(m[0].hello.nonce, nonce, 32);
	assert_memory_equal(m[1].link.public_key, pub, 32);
	assert_int_equal(
	    mp_signed_link(nonce, m[1].link.secret, m[1].link.public_key, m[1].link.name, in, &len),
	    0);
	assert_int_equal(mp_verify(pub, in, len, m[1].link.sig), 0);
	assert_int_equal(mp_signed_auth(nonce, m[2].auth.device_id, in, &len), 0);
	assert_int_equal(mp_verify(pub, in, len, m[2].auth.sig), 0);
	assert_int_equal(mp_id_parse(vector("device_id"), dev), 0);
	for (size_t i = 3; i < 5; i++) {
		assert_int_equal(mp_signed_answer(m[i].answer.id, cnonce, dev, m[i].answer.decision,
						  m[i].answer.number, in, &len),
				 0);
		assert_int_equal(mp_verify(pub, in, len, m[i].answer.sig), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	     cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_malformed),	     cmocka_unit_test(test_lenient),
	    cmocka_unit_test(test_too_large),	     cmocka_unit_test(test_encode_refusals),
	    cmocka_unit_test(test_protocol_vectors), cmocka_unit_test(test_wake_token),
	};

	return cmocka_run_group_tests(tests, vectors_setup, NULL);
}
