/*
 * Password policy and hashing. A password is NFKC-normalized (so the same
 * text typed on two keyboards is one password), keyed with the pepper by
 * HMAC-SHA-256 (a database copy without the key file verifies nothing), and
 * the 32-byte result goes through argon2id. The PHC string keeps the cost,
 * so raising it later rehashes each account at its next login.
 */
#include "password.h"

#include <util.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uninorm.h>

extern const char *const password_blocklist[];
extern const size_t password_blocklist_len;

#define SALT_LEN 16
#define HASH_LEN 32

static uint8_t pepper[32];
static struct password_cost cost;
static char dummy_phc[160];

void password_setup(const uint8_t p[32], struct password_cost c)
{
	memcpy(pepper, p, sizeof(pepper));
	cost = c;
}

size_t password_blocklist_size(void)
{
	return password_blocklist_len;
}

static int cmp_entry(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

static bool is_blocklisted(const char *pw, size_t len)
{
	char lower[PASSWORD_MAX_BYTES + 1];
	bool all_same = true;
	bool hit;

	if (len > PASSWORD_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = pw[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		lower[i] = c;
		if (pw[i] != pw[0])
			all_same = false;
	}
	lower[len] = '\0';
	hit = all_same || bsearch(lower, password_blocklist, password_blocklist_len, sizeof(char *),
				  cmp_entry) != NULL;
	OPENSSL_cleanse(lower, sizeof(lower));
	return hit;
}

/* Case-insensitive substring test for the context words. */
static bool contains_word(const char *pw, size_t len, const char *word, size_t wlen)
{
	if (wlen < 4 || wlen > len)
		return false;
	for (size_t i = 0; i + wlen <= len; i++)
		if (strncasecmp(pw + i, word, wlen) == 0)
			return true;
	return false;
}

/* The rules, on the normalized password. */
static enum password_verdict check_normalized(const char *pw, size_t len, const char *email,
					      const char *name)
{
	size_t chars;

	if (!authd_utf8_printable(pw, len))
		return PASSWORD_INVALID;
	chars = authd_utf8_count(pw, len);
	if (chars < PASSWORD_MIN_CHARS)
		return PASSWORD_TOO_SHORT;
	if (chars > PASSWORD_MAX_CHARS || len > PASSWORD_MAX_BYTES)
		return PASSWORD_TOO_LONG;
	if (is_blocklisted(pw, len))
		return PASSWORD_BLOCKLISTED;
	/* Context words: the service, the whole email, its local part, the name.
	 * A password that merely contains them is refused when they make up
	 * most of it. */
	if (contains_word(pw, len, "authd", 5) && len < 5 + 4)
		return PASSWORD_CONTEXT;
	if (email) {
		const char *at = strchr(email, '@');
		size_t local = at ? (size_t)(at - email) : strlen(email);

		if (contains_word(pw, len, email, strlen(email)) ||
		    (contains_word(pw, len, email, local) && len < local + 4))
			return PASSWORD_CONTEXT;
	}
	if (name && contains_word(pw, len, name, strlen(name)) && len < strlen(name) + 4)
		return PASSWORD_CONTEXT;
	return PASSWORD_OK;
}

enum password_verdict password_check(const char *pw, size_t len, const char *email,
				     const char *name)
{
	enum password_verdict v;
	size_t nlen = 0;
	uint8_t *norm;

	if (!authd_utf8_printable(pw, len))
		return PASSWORD_INVALID;
	/* Every rule judges what is hashed: the NFKC form. Full-width
	 * "ｐａｓｓｗｏｒｄ" is "password" once normalized, and logs in as it. */
	norm = u8_normalize(UNINORM_NFKC, (const uint8_t *)pw, len, NULL, &nlen);
	if (norm == NULL)
		return PASSWORD_INVALID;
	v = check_normalized((const char *)norm, nlen, email, name);
	authd_freezero(norm, nlen);
	return v;
}

/* NFKC, then HMAC with the pepper: the argon2id input. */
static int prehash(const char *pw, size_t len, uint8_t out[32])
{
	size_t nlen = 0;
	uint8_t *norm = u8_normalize(UNINORM_NFKC, (const uint8_t *)pw, len, NULL, &nlen);
	unsigned int olen = 32;
	int rc = -1;

	if (norm == NULL)
		goto out;
	if (HMAC(EVP_sha256(), pepper, sizeof(pepper), norm, nlen, out, &olen) == NULL ||
	    olen != 32)
		goto out;
	rc = 0;
out:
	authd_freezero(norm, nlen);
	return rc;
}

int password_hash(const char *pw, size_t len, char *out, size_t out_size)
{
	uint8_t key[32];
	uint8_t salt[SALT_LEN];
	int rc = -1;

	if (prehash(pw, len, key) != 0)
		goto out;
	authd_random(salt, sizeof(salt));
	if (argon2id_hash_encoded(cost.t, cost.m_kib, cost.p, key, sizeof(key), salt, sizeof(salt),
				  HASH_LEN, out, out_size) != ARGON2_OK)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

bool password_verify(const char *phc, const char *pw, size_t len)
{
	uint8_t key[32];
	bool ok = false;

	if (prehash(pw, len, key) != 0)
		goto out;
	if (phc == NULL) {
		(void)argon2id_verify(dummy_phc, key, sizeof(key));
		goto out;
	}
	ok = argon2id_verify(phc, key, sizeof(key)) == ARGON2_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

/* Reads "<name>=<digits>" at *s and moves past it; -1 if malformed. */
static long phc_param(const char **s, const char *name)
{
	size_t n = strlen(name);
	char *end = NULL;
	unsigned long v;

	if (strncmp(*s, name, n) != 0 || (*s)[n] != '=' || (*s)[n + 1] < '0' || (*s)[n + 1] > '9')
		return -1;
	v = strtoul(*s + n + 1, &end, 10);
	if (v > UINT32_MAX)
		return -1;
	*s = end;
	return (long)v;
}

bool password_needs_rehash(const char *phc)
{
	static const char prefix[] = "$argon2id$";
	const char *s = phc;
	long v, m, t, p;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return true;
	s += sizeof(prefix) - 1;
	if ((v = phc_param(&s, "v")) < 0 || *s++ != '$' || (m = phc_param(&s, "m")) < 0 ||
	    *s++ != ',' || (t = phc_param(&s, "t")) < 0 || *s++ != ',' ||
	    (p = phc_param(&s, "p")) < 0 || *s != '$')
		return true;
	return v != ARGON2_VERSION_13 || m < (long)cost.m_kib || t < (long)cost.t ||
	       p != (long)cost.p;
}

int password_init_dummy(void)
{
	char pw[33];
	uint8_t r[24];
	int rc;

	authd_random(r, sizeof(r));
	authd_b64url(r, sizeof(r), pw);
	rc = password_hash(pw, strlen(pw), dummy_phc, sizeof(dummy_phc));
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}
