/*
 * mp: the device protocol's codec (PROTOCOL.md), shared by authd and the
 * reference phone.
 *
 * It decodes and encodes the channel's JSON messages into typed structs,
 * builds the exact byte strings that Ed25519 signatures cover, signs and
 * verifies them through OpenSSL's EVP interface, and builds and parses the
 * linking URI. A leaf library: it never logs, never reads the clock and
 * never draws random numbers (nonces, secrets and private keys come from
 * the caller). It links libcrypto and jansson only.
 *
 * Every function is thread-safe (no global state). Functions return 0 or a
 * negative MP_E_* code; outputs are written only on success.
 */
#ifndef AUTHD_MP_H
#define AUTHD_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_WUR __attribute__((warn_unused_result))

#define MP_VERSION     1
#define MP_SUBPROTOCOL "authd-device.v1"

#define MP_FRAME_MAX   4096 /* bytes of one message */
#define MP_KEY_LEN     32   /* Ed25519 public key, and private key seed */
#define MP_SIG_LEN     64
#define MP_NONCE_LEN   32
#define MP_SECRET_LEN  48   /* link secret: opaque to the device */
#define MP_ID_LEN      16   /* device and challenge ids; 32 hex digits on the wire */
#define MP_NAME_MAX    64   /* bytes of a device name */
#define MP_TEXT_MAX    256  /* bytes of an account name (an email) or a challenge detail */
#define MP_CODE_MAX    32   /* bytes of an error or refusal code */
#define MP_URL_MAX     256  /* bytes of the server URL in a linking URI */
#define MP_OTPAUTH_MAX 1280 /* bytes of the otpauth URI in a linking URI */

/* The longest linking URI the builder writes: every byte of both URLs
 * escaped (3 bytes each) plus the secret and the fixed text, 4710 bytes.
 * What authd writes is shorter: its longest issuer (63 bytes), email (254)
 * and public URL (under 190: a config line) make under 2700 even with every byte
 * escaped, which a QR code holds at level L (2953). */
#define MP_LINK_URI_MAX                                                                            \
	(sizeof("authd://link?v=1&server=") - 1 + 3 * MP_URL_MAX + sizeof("&secret=") - 1 +        \
	 (MP_SECRET_LEN * 4 + 2) / 3 + sizeof("&totp=") - 1 + 3 * MP_OTPAUTH_MAX)

/* The longest signing input (a link with a 64-byte name). */
#define MP_SIGNED_MAX 198

enum mp_error {
	MP_OK = 0,
	MP_E_INVALID = -1,	 /* malformed: not JSON, missing/unknown/mistyped field, length */
	MP_E_UNKNOWN_TYPE = -2,	 /* a "type" this version does not know */
	MP_E_BAD_SIGNATURE = -3, /* well-formed signature that does not verify */
	MP_E_NOMEM = -4,
	MP_E_INTERNAL = -5,  /* OpenSSL or jansson failed */
	MP_E_SPACE = -6,     /* the caller's buffer is too small */
	MP_E_TOO_LARGE = -7, /* a message over MP_FRAME_MAX bytes */
	MP_E_VERSION = -8,   /* a linking URI of another version */
};

/* A short lowercase English description of an MP_E_* code. Never NULL. */
const char *mp_strerror(int err);

enum mp_type {
	MP_HELLO = 1,	  /* authd -> device */
	MP_LINK,	  /* device -> authd */
	MP_LINKED,	  /* authd -> device */
	MP_AUTH,	  /* device -> authd */
	MP_READY,	  /* authd -> device */
	MP_CHALLENGE,	  /* authd -> device */
	MP_ANSWER,	  /* device -> authd */
	MP_ANSWER_RESULT, /* authd -> device */
	MP_WITHDRAW,	  /* authd -> device */
	MP_REVOKED,	  /* authd -> device */
	MP_ERROR,	  /* authd -> device */
	MP_WAKE,	  /* device -> authd */
};

/* The wire name of a type ("answer_result"), or NULL for none. */
const char *mp_type_name(enum mp_type t);
/* True for the types a device may send (link, auth, answer, wake). */
bool mp_type_from_device(enum mp_type t);

enum mp_decision { MP_APPROVE = 1, MP_DENY = 2, MP_NOT_ME = 3 };
enum mp_withdraw_reason { MP_WITHDRAW_ANSWERED = 1, MP_WITHDRAW_EXPIRED, MP_WITHDRAW_CANCELLED };

struct mp_hello {
	uint8_t nonce[MP_NONCE_LEN];
	int64_t server_time;
};

struct mp_link {
	uint8_t secret[MP_SECRET_LEN];
	uint8_t public_key[MP_KEY_LEN];
	char name[MP_NAME_MAX + 1];
	uint8_t sig[MP_SIG_LEN];
};

struct mp_linked {
	uint8_t device_id[MP_ID_LEN];
	char account[MP_TEXT_MAX + 1];
};

struct mp_auth {
	uint8_t device_id[MP_ID_LEN];
	uint8_t sig[MP_SIG_LEN];
};

struct mp_ready {
	uint8_t device_id[MP_ID_LEN];
	unsigned pending;
};

struct mp_challenge {
	uint8_t id[MP_ID_LEN];
	uint8_t nonce[MP_NONCE_LEN];
	char account[MP_TEXT_MAX + 1];
	char ip[MP_TEXT_MAX + 1];
	char location[MP_TEXT_MAX + 1];
	char browser[MP_TEXT_MAX + 1];
	char os[MP_TEXT_MAX + 1];
	char application[MP_TEXT_MAX + 1];
	int64_t time;
	int64_t expires_at;
};

struct mp_answer {
	uint8_t id[MP_ID_LEN];
	enum mp_decision decision;
	unsigned number; /* 10..99 with MP_APPROVE, else 0 */
	uint8_t sig[MP_SIG_LEN];
};

struct mp_answer_result {
	uint8_t id[MP_ID_LEN];
	bool accepted;
	char code[MP_CODE_MAX + 1]; /* with a refusal */
};

struct mp_withdraw {
	uint8_t id[MP_ID_LEN];
	enum mp_withdraw_reason reason;
};

struct mp_revoked {
	uint8_t device_id[MP_ID_LEN];
};

/* The token at which the app's wake-up relay reaches it while it sleeps
 * (opaque to authd; empty: none). */
#define MP_WAKE_TOKEN_MAX 256
struct mp_wake {
	char token[MP_WAKE_TOKEN_MAX + 1];
};

struct mp_error_msg {
	char code[MP_CODE_MAX + 1];
};

/* One message. Only the member that `type` names is meaningful. */
struct mp_msg {
	enum mp_type type;
	union {
		struct mp_hello hello;
		struct mp_link link;
		struct mp_linked linked;
		struct mp_auth auth;
		struct mp_ready ready;
		struct mp_challenge challenge;
		struct mp_answer answer;
		struct mp_answer_result answer_result;
		struct mp_withdraw withdraw;
		struct mp_revoked revoked;
		struct mp_error_msg error;
		struct mp_wake wake;
	};
};

/*
 * Decodes one message (len bytes of text, no terminator needed) into *out.
 * Strict, as authd is with devices: unknown fields, missing fields, wrong
 * JSON types, bad lengths and strings with control characters are
 * MP_E_INVALID; an unknown type MP_E_UNKNOWN_TYPE; over MP_FRAME_MAX bytes
 * MP_E_TOO_LARGE. With `lenient`, unknown fields are ignored (what a device
 * does with authd's messages). *out is cleared on failure.
 */
int mp_msg_decode(const char *text, size_t len, bool lenient, struct mp_msg *out) MP_WUR;

/*
 * Encodes m as compact JSON into out (cap bytes, NUL-terminated); *len gets
 * the length without the NUL. MP_E_INVALID when a field is out of range (a
 * name too long, a number outside 10..99 with approve), MP_E_SPACE when cap
 * is too small.
 */
int mp_msg_encode(const struct mp_msg *m, char *out, size_t cap, size_t *len) MP_WUR;

/*
 * The signing inputs of PROTOCOL.md section 2, written into out (at least
 * MP_SIGNED_MAX bytes); *len gets their length. MP_E_INVALID for a name
 * outside 1..MP_NAME_MAX bytes, a decision or number out of range.
 */
int mp_signed_link(const uint8_t nonce[MP_NONCE_LEN], const uint8_t secret[MP_SECRET_LEN],
		   const uint8_t public_key[MP_KEY_LEN], const char *name,
		   uint8_t out[MP_SIGNED_MAX], size_t *len) MP_WUR;
int mp_signed_auth(const uint8_t nonce[MP_NONCE_LEN], const uint8_t device_id[MP_ID_LEN],
		   uint8_t out[MP_SIGNED_MAX], size_t *len) MP_WUR;
int mp_signed_answer(const uint8_t challenge_id[MP_ID_LEN],
		     const uint8_t challenge_nonce[MP_NONCE_LEN],
		     const uint8_t device_id[MP_ID_LEN], enum mp_decision decision, unsigned number,
		     uint8_t out[MP_SIGNED_MAX], size_t *len) MP_WUR;

/* The Ed25519 public key of a private key seed. */
int mp_key_public(const uint8_t seed[MP_KEY_LEN], uint8_t public_key[MP_KEY_LEN]) MP_WUR;
/* Whether a public key may be linked: not one of the points of small order
 * (under which a signature can verify for messages its signer never saw),
 * in any of their encodings. MP_E_INVALID otherwise. */
int mp_key_acceptable(const uint8_t public_key[MP_KEY_LEN]) MP_WUR;
/* Signs msg with the private key seed (deterministic, RFC 8032). */
int mp_sign(const uint8_t seed[MP_KEY_LEN], const uint8_t *msg, size_t len,
	    uint8_t sig[MP_SIG_LEN]) MP_WUR;
/* 0 when sig is public_key's signature of msg, else MP_E_BAD_SIGNATURE
 * (a key that is not a valid point too), or MP_E_INTERNAL. OpenSSL's error
 * queue is left empty either way. */
int mp_verify(const uint8_t public_key[MP_KEY_LEN], const uint8_t *msg, size_t len,
	      const uint8_t sig[MP_SIG_LEN]) MP_WUR;

/* A parsed linking URI (PROTOCOL.md 4.1). */
struct mp_link_uri {
	char server[MP_URL_MAX + 1];
	uint8_t secret[MP_SECRET_LEN];
	char otpauth[MP_OTPAUTH_MAX + 1];
};

/* Builds "authd://link?v=1&server=...&secret=...&totp=..." into out (cap
 * bytes, NUL-terminated). MP_E_INVALID for an empty or too long server or
 * otpauth URI, MP_E_SPACE when cap is too small. */
int mp_link_uri_build(const struct mp_link_uri *u, char *out, size_t cap) MP_WUR;
/* Parses a linking URI. MP_E_VERSION for a v other than 1, MP_E_INVALID
 * for anything else wrong (missing or repeated parameter, bad encoding, a
 * secret that is not MP_SECRET_LEN bytes). */
int mp_link_uri_parse(const char *uri, struct mp_link_uri *out) MP_WUR;

/* Whether len bytes of UTF-8 are text a device may show: no control
 * characters (C0, DEL, C1), no bidirectional overrides or isolates. */
bool mp_text_ok(const char *s, size_t len);

/* Hex ids: 32 lowercase digits <-> 16 bytes. parse: MP_E_INVALID for
 * anything else (upper case included). format writes 33 bytes. */
int mp_id_parse(const char *hex, uint8_t id[MP_ID_LEN]) MP_WUR;
void mp_id_format(const uint8_t id[MP_ID_LEN], char out[2 * MP_ID_LEN + 1]);

/* base64url without padding of n bytes into out (4 * ceil(n / 3) + 1
 * bytes are enough), and back: decode succeeds only when text decodes to
 * exactly n bytes in canonical form. */
void mp_b64url_encode(const uint8_t *in, size_t n, char *out);
int mp_b64url_decode(const char *text, size_t text_len, uint8_t *out, size_t n) MP_WUR;

#endif
