/*
 * msg.c owns the JSON form of every message: one table lists each type's
 * fields (wire name, kind, where it lives in struct mp_msg, whether it is
 * required, its bounds), and one decoder and one encoder walk it, so a
 * field is described once for both directions. Cross-field rules (a number
 * only with approve, a code only with a refusal) follow the table.
 */
#include "mp.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <string.h>

enum kind {
	K_B64,	    /* base64url of exactly `size` bytes */
	K_ID,	    /* 32 hex digits */
	K_TEXT,	    /* a string of min..size-1 bytes, no control characters */
	K_CODE,	    /* a machine code: [a-z_], 1..size-1 bytes */
	K_INT64,    /* any integer */
	K_UINT,	    /* an integer in min..max, stored as unsigned */
	K_VERSION,  /* the integer MP_VERSION, stored nowhere */
	K_DECISION, /* "approve" | "deny" | "not_me" */
	K_RESULT,   /* "accepted" | "refused", stored as bool */
	K_REASON,   /* "answered" | "expired" | "cancelled" */
};

/* A static table's rows: their layout does not matter. */
struct field { // NOLINT(clang-analyzer-optin.performance.Padding)
	const char *name;
	enum kind kind;
	size_t off, size;
	bool required;
	long long min, max;
};

/* m and f are member names: they cannot take parentheses. */
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define AT(m, f) offsetof(struct mp_msg, m.f), sizeof(((struct mp_msg *)0)->m.f)

static const struct field hello_fields[] = {
    {"v", K_VERSION, 0, 0, true, 0, 0},
    {"nonce", K_B64, AT(hello, nonce), true, 0, 0},
    {"server_time", K_INT64, AT(hello, server_time), true, 0, 0},
};
static const struct field link_fields[] = {
    {"secret", K_B64, AT(link, secret), true, 0, 0},
    {"public_key", K_B64, AT(link, public_key), true, 0, 0},
    {"name", K_TEXT, AT(link, name), true, 1, 0},
    {"sig", K_B64, AT(link, sig), true, 0, 0},
};
static const struct field linked_fields[] = {
    {"device_id", K_ID, AT(linked, device_id), true, 0, 0},
    {"account", K_TEXT, AT(linked, account), true, 0, 0},
};
static const struct field auth_fields[] = {
    {"device_id", K_ID, AT(auth, device_id), true, 0, 0},
    {"sig", K_B64, AT(auth, sig), true, 0, 0},
};
static const struct field ready_fields[] = {
    {"device_id", K_ID, AT(ready, device_id), true, 0, 0},
    {"pending", K_UINT, AT(ready, pending), true, 0, 1000000},
};
static const struct field challenge_fields[] = {
    {"id", K_ID, AT(challenge, id), true, 0, 0},
    {"nonce", K_B64, AT(challenge, nonce), true, 0, 0},
    {"account", K_TEXT, AT(challenge, account), true, 0, 0},
    {"ip", K_TEXT, AT(challenge, ip), true, 0, 0},
    {"location", K_TEXT, AT(challenge, location), true, 0, 0},
    {"browser", K_TEXT, AT(challenge, browser), true, 0, 0},
    {"os", K_TEXT, AT(challenge, os), true, 0, 0},
    {"application", K_TEXT, AT(challenge, application), true, 0, 0},
    {"time", K_INT64, AT(challenge, time), true, 0, 0},
    {"expires_at", K_INT64, AT(challenge, expires_at), true, 0, 0},
};
static const struct field answer_fields[] = {
    {"id", K_ID, AT(answer, id), true, 0, 0},
    {"decision", K_DECISION, AT(answer, decision), true, 0, 0},
    {"number", K_UINT, AT(answer, number), false, 10, 99},
    {"sig", K_B64, AT(answer, sig), true, 0, 0},
};
static const struct field answer_result_fields[] = {
    {"id", K_ID, AT(answer_result, id), true, 0, 0},
    {"result", K_RESULT, AT(answer_result, accepted), true, 0, 0},
    {"code", K_CODE, AT(answer_result, code), false, 0, 0},
};
static const struct field withdraw_fields[] = {
    {"id", K_ID, AT(withdraw, id), true, 0, 0},
    {"reason", K_REASON, AT(withdraw, reason), true, 0, 0},
};
static const struct field revoked_fields[] = {
    {"device_id", K_ID, AT(revoked, device_id), true, 0, 0},
};
static const struct field wake_fields[] = {
    {"token", K_TEXT, AT(wake, token), true, 0, 0},
};
static const struct field error_fields[] = {
    {"code", K_CODE, AT(error, code), true, 0, 0},
};

#define FIELDS(t, f) [t] = {(f), sizeof(f) / sizeof((f)[0])}
static const struct {
	const struct field *f;
	size_t n;
} schema[] = {
    FIELDS(MP_HELLO, hello_fields),	  FIELDS(MP_LINK, link_fields),
    FIELDS(MP_LINKED, linked_fields),	  FIELDS(MP_AUTH, auth_fields),
    FIELDS(MP_READY, ready_fields),	  FIELDS(MP_CHALLENGE, challenge_fields),
    FIELDS(MP_ANSWER, answer_fields),	  FIELDS(MP_ANSWER_RESULT, answer_result_fields),
    FIELDS(MP_WITHDRAW, withdraw_fields), FIELDS(MP_REVOKED, revoked_fields),
    FIELDS(MP_ERROR, error_fields),	  FIELDS(MP_WAKE, wake_fields),
};
#define N_TYPES (sizeof(schema) / sizeof(schema[0]))

static const char *const decisions[] = {
    [MP_APPROVE] = "approve", [MP_DENY] = "deny", [MP_NOT_ME] = "not_me"};
static const char *const reasons[] = {[MP_WITHDRAW_ANSWERED] = "answered",
				      [MP_WITHDRAW_EXPIRED] = "expired",
				      [MP_WITHDRAW_CANCELLED] = "cancelled"};

/* The index of s in names[1..n-1], or 0. */
static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return 0;
}

/*
 * Text a device shows or authd lists: no C0 or C1 control characters, no
 * bidirectional overrides or isolates (U+202A..U+202E, U+2066..U+2069),
 * which could make a name read as something else. (The encoding is
 * already valid UTF-8: jansson checks it.)
 */
bool mp_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return false; /* U+0080..U+009F */
		if (p[i] == 0xe2 && i + 2 < len &&
		    ((p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae) ||
		     (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)))
			return false;
	}
	return true;
}

static bool text_ok(const char *s, size_t len, size_t min, size_t max)
{
	return len >= min && len <= max && mp_text_ok(s, len);
}

static bool code_ok(const char *s, size_t len, size_t max)
{
	return len >= 1 && len <= max && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == len;
}

/* Decodes one field's JSON value into the struct at base. */
static int decode_field(const struct field *f, json_t *v, uint8_t *base)
{
	uint8_t *dst = base + f->off;
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t len = s ? json_string_length(v) : 0;
	json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
	int idx;

	switch (f->kind) {
	case K_B64:
		return s ? mp_b64url_decode(s, len, dst, f->size) : MP_E_INVALID;
	case K_ID:
		return s && len == 2 * MP_ID_LEN ? mp_id_parse(s, dst) : MP_E_INVALID;
	case K_TEXT:
		if (!s || !text_ok(s, len, (size_t)f->min, f->size - 1))
			return MP_E_INVALID;
		memcpy(dst, s, len + 1);
		return 0;
	case K_CODE:
		if (!s || !code_ok(s, len, f->size - 1))
			return MP_E_INVALID;
		memcpy(dst, s, len + 1);
		return 0;
	case K_INT64:
		if (!json_is_integer(v))
			return MP_E_INVALID;
		*(int64_t *)(void *)dst = (int64_t)i;
		return 0;
	case K_UINT:
		if (!json_is_integer(v) || i < f->min || i > f->max)
			return MP_E_INVALID;
		*(unsigned *)(void *)dst = (unsigned)i;
		return 0;
	case K_VERSION:
		return json_is_integer(v) && i == MP_VERSION ? 0 : MP_E_INVALID;
	case K_DECISION:
		idx = s ? name_index(decisions, sizeof(decisions) / sizeof(decisions[0]), s) : 0;
		if (idx == 0)
			return MP_E_INVALID;
		*(enum mp_decision *)(void *)dst = (enum mp_decision)idx;
		return 0;
	case K_RESULT:
		if (!s || (strcmp(s, "accepted") != 0 && strcmp(s, "refused") != 0))
			return MP_E_INVALID;
		*(bool *)(void *)dst = strcmp(s, "accepted") == 0;
		return 0;
	case K_REASON:
		idx = s ? name_index(reasons, sizeof(reasons) / sizeof(reasons[0]), s) : 0;
		if (idx == 0)
			return MP_E_INVALID;
		*(enum mp_withdraw_reason *)(void *)dst = (enum mp_withdraw_reason)idx;
		return 0;
	}
	return MP_E_INVALID;
}

/* Whether the message had the field called name (seen[] follows the
 * type's table). */
static bool had(enum mp_type t, const bool *seen, const char *name)
{
	for (size_t i = 0; i < schema[t].n; i++)
		if (strcmp(schema[t].f[i].name, name) == 0)
			return seen[i];
	return false;
}

/* The rules no single field can check. */
static int check_rules(const struct mp_msg *m, const bool *seen)
{
	switch (m->type) {
	case MP_ANSWER:
		/* A number with approve (the person typed it), never otherwise. */
		return (m->answer.decision == MP_APPROVE) == had(m->type, seen, "number")
			   ? 0
			   : MP_E_INVALID;
	case MP_ANSWER_RESULT:
		/* A code says why a refusal; an acceptance has none. */
		return m->answer_result.accepted != had(m->type, seen, "code") ? 0 : MP_E_INVALID;
	default:
		return 0;
	}
}

static enum mp_type type_of(const char *name)
{
	for (size_t t = 1; t < N_TYPES; t++)
		if (strcmp(mp_type_name((enum mp_type)t), name) == 0)
			return (enum mp_type)t;
	return 0;
}

int mp_msg_decode(const char *text, size_t len, bool lenient, struct mp_msg *out)
{
	struct mp_msg m;
	json_t *root = NULL;
	json_t *tv;
	const struct field *fields;
	bool seen[16] = {false};
	size_t n, known = 0;
	int rc = MP_E_INVALID;

	memset(&m, 0, sizeof(m));
	memset(out, 0, sizeof(*out));
	if (len > MP_FRAME_MAX)
		return MP_E_TOO_LARGE;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	tv = json_object_get(root, "type");
	if (!json_is_string(tv))
		goto out;
	m.type = type_of(json_string_value(tv));
	if (m.type == 0) {
		rc = MP_E_UNKNOWN_TYPE;
		goto out;
	}
	fields = schema[m.type].f;
	n = schema[m.type].n;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(root, fields[i].name);

		if (v == NULL) {
			if (fields[i].required)
				goto out;
			continue;
		}
		if ((rc = decode_field(&fields[i], v, (uint8_t *)&m)) != 0)
			goto out;
		seen[i] = true;
		known++;
	}
	rc = MP_E_INVALID;
	/* Every key is "type" or one of the type's fields. */
	if (!lenient && json_object_size(root) != known + 1)
		goto out;
	if ((rc = check_rules(&m, seen)) != 0)
		goto out;
	*out = m;
	rc = 0;
out:
	OPENSSL_cleanse(&m, sizeof(m));
	json_decref(root);
	return rc;
}

/* The JSON value of one field, or NULL (out of memory, or out of range). */
static json_t *encode_field(const struct field *f, const uint8_t *base)
{
	const uint8_t *src = base + f->off;
	char buf[2 * MP_FRAME_MAX / 3];
	json_int_t i;
	unsigned idx;

	switch (f->kind) {
	case K_B64:
		mp_b64url_encode(src, f->size, buf);
		return json_string(buf);
	case K_ID:
		mp_id_format(src, buf);
		return json_string(buf);
	case K_TEXT: {
		size_t len = strnlen((const char *)src, f->size);

		if (len == f->size || !text_ok((const char *)src, len, (size_t)f->min, f->size - 1))
			return NULL;
		return json_stringn((const char *)src, len);
	}
	case K_CODE: {
		size_t len = strnlen((const char *)src, f->size);

		if (len == f->size || !code_ok((const char *)src, len, f->size - 1))
			return NULL;
		return json_stringn((const char *)src, len);
	}
	case K_INT64:
		return json_integer((json_int_t) * (const int64_t *)(const void *)src);
	case K_UINT:
		i = (json_int_t) * (const unsigned *)(const void *)src;
		return i >= f->min && i <= f->max ? json_integer(i) : NULL;
	case K_VERSION:
		return json_integer(MP_VERSION);
	case K_DECISION:
		idx = (unsigned)*(const enum mp_decision *)(const void *)src;
		return idx >= 1 && idx <= MP_NOT_ME ? json_string(decisions[idx]) : NULL;
	case K_RESULT:
		return json_string(*(const bool *)(const void *)src ? "accepted" : "refused");
	case K_REASON:
		idx = (unsigned)*(const enum mp_withdraw_reason *)(const void *)src;
		return idx >= 1 && idx <= MP_WITHDRAW_CANCELLED ? json_string(reasons[idx]) : NULL;
	}
	return NULL;
}

/* Whether an optional field goes out: the same rules check_rules holds. */
static bool include_optional(const struct mp_msg *m, const struct field *f)
{
	if (m->type == MP_ANSWER && strcmp(f->name, "number") == 0)
		return m->answer.decision == MP_APPROVE;
	if (m->type == MP_ANSWER_RESULT && strcmp(f->name, "code") == 0)
		return !m->answer_result.accepted;
	return true;
}

int mp_msg_encode(const struct mp_msg *m, char *out, size_t cap, size_t *len)
{
	json_t *root = NULL;
	size_t need;
	int rc = MP_E_INVALID;

	if ((unsigned)m->type == 0 || (unsigned)m->type >= N_TYPES)
		return MP_E_INVALID;
	if ((root = json_object()) == NULL)
		return MP_E_NOMEM;
	if (json_object_set_new(root, "type", json_string(mp_type_name(m->type))) != 0) {
		rc = MP_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < schema[m->type].n; i++) {
		const struct field *f = &schema[m->type].f[i];
		json_t *v;

		if (!f->required && !include_optional(m, f))
			continue;
		if ((v = encode_field(f, (const uint8_t *)m)) == NULL)
			goto out; /* out of range (or memory) */
		if (json_object_set_new(root, f->name, v) != 0) {
			rc = MP_E_NOMEM;
			goto out;
		}
	}
	need = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (need == 0) {
		rc = MP_E_NOMEM;
		goto out;
	}
	if (need >= cap || need > MP_FRAME_MAX) {
		rc = need > MP_FRAME_MAX ? MP_E_TOO_LARGE : MP_E_SPACE;
		goto out;
	}
	if (json_dumpb(root, out, cap, JSON_COMPACT) != need) {
		rc = MP_E_INTERNAL;
		goto out;
	}
	out[need] = '\0';
	*len = need;
	rc = 0;
out:
	json_decref(root);
	return rc;
}
