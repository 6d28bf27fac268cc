/*
 * Billing records on LMDB. A billing address is keyed organization id ||
 * address id in DB_ADDRESSES; its value is a version byte (1) and a JSON
 * object {"name", "line1", "line2", "postal_code", "city", "country",
 * "vat_number", "default", "created"}. An organization's few addresses
 * (BILLING_ADDRESSES_MAX) are listed in the order they were made.
 */
#include "lmdb-internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ADDRESS_V1 1

static void key_of(uint8_t key[2 * AUTHD_ID_LEN], const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	memcpy(key, org_id, AUTHD_ID_LEN);
	memcpy(key + AUTHD_ID_LEN, id, AUTHD_ID_LEN);
}

int lmdb_address_put(struct store_txn *t, const struct billing_address *a)
{
	uint8_t key[2 * AUTHD_ID_LEN];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "name", a->name,
			      "line1", a->line1, "line2", a->line2, "postal_code", a->postal_code,
			      "city", a->city, "country", a->country, "vat_number", a->vat_number,
			      "default", a->is_default, "created", (json_int_t)a->created_at);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	uint8_t *val = NULL;
	size_t len;
	int rc = STORE_E_IO;

	json_decref(o);
	if (text == NULL)
		return STORE_E_IO;
	len = strlen(text);
	if ((val = malloc(len + 1)) != NULL) {
		val[0] = ADDRESS_V1;
		memcpy(val + 1, text, len);
		key_of(key, a->org_id, a->id);
		rc = lmdb_put(lmdb_of(t), DB_ADDRESSES, key, sizeof(key), val, len + 1);
	}
	free(val);
	free(text);
	return rc;
}

int lmdb_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN])
{
	uint8_t key[2 * AUTHD_ID_LEN];

	key_of(key, org_id, id);
	return lmdb_del(lmdb_of(t), DB_ADDRESSES, key, sizeof(key));
}

/* Copies a string field of o into out (size bytes with its NUL); false
 * when it is missing, not a string or too long. */
static bool str_field(json_t *o, const char *name, char *out, size_t size)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) >= size || strlen(s) != json_string_length(v))
		return false;
	memcpy(out, s, json_string_length(v) + 1);
	return true;
}

static int decode(const MDB_val *k, const MDB_val *v, struct billing_address *a)
{
	const uint8_t *p = v->mv_data;
	json_t *o;
	bool ok;

	if (k->mv_size != 2 * AUTHD_ID_LEN || v->mv_size < 2 || p[0] != ADDRESS_V1 ||
	    (o = json_loadb((const char *)p + 1, v->mv_size - 1, 0, NULL)) == NULL)
		return STORE_E_CORRUPT;
	memset(a, 0, sizeof(*a));
	memcpy(a->org_id, k->mv_data, AUTHD_ID_LEN);
	memcpy(a->id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
	ok = str_field(o, "name", a->name, sizeof(a->name)) &&
	     str_field(o, "line1", a->line1, sizeof(a->line1)) &&
	     str_field(o, "line2", a->line2, sizeof(a->line2)) &&
	     str_field(o, "postal_code", a->postal_code, sizeof(a->postal_code)) &&
	     str_field(o, "city", a->city, sizeof(a->city)) &&
	     str_field(o, "country", a->country, sizeof(a->country)) &&
	     str_field(o, "vat_number", a->vat_number, sizeof(a->vat_number)) &&
	     json_is_boolean(json_object_get(o, "default")) &&
	     json_is_integer(json_object_get(o, "created"));
	if (ok) {
		a->is_default = json_is_true(json_object_get(o, "default"));
		a->created_at = (int64_t)json_integer_value(json_object_get(o, "created"));
	}
	json_decref(o);
	return ok ? 0 : STORE_E_CORRUPT;
}

struct collect {
	struct billing_address *v;
	size_t n, cap;
	int rc;
};

static int one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct collect *c = arg;

	(void)txn;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		void *p = realloc(c->v, cap * sizeof(*c->v));

		if (p == NULL) {
			c->rc = STORE_E_IO;
			return 1;
		}
		c->v = p;
		c->cap = cap;
	}
	if ((c->rc = decode(k, v, &c->v[c->n])) != 0)
		return 1;
	c->n++;
	return 0;
}

static int by_creation(const void *x, const void *y)
{
	const struct billing_address *a = x, *b = y;

	if (a->created_at != b->created_at)
		return a->created_at < b->created_at ? -1 : 1;
	return memcmp(a->id, b->id, AUTHD_ID_LEN);
}

/* The organization's addresses, in the order they were made. */
static int collect(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct collect *c)
{
	int rc = lmdb_walk(lmdb_of(t), DB_ADDRESSES, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, one, c);

	if (rc == 0)
		rc = c->rc;
	if (rc == 0 && c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_creation);
	return rc;
}

int lmdb_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct billing_address *a), void *arg)
{
	struct collect c = {NULL, 0, 0, 0};
	int rc = collect(t, org_id, &c);

	for (size_t i = 0; rc == 0 && i < c.n; i++)
		rc = fn(arg, &c.v[i]);
	free(c.v);
	return rc;
}

int lmdb_org_billing_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	struct collect c = {NULL, 0, 0, 0};
	int rc = collect(t, org_id, &c);

	for (size_t i = 0; rc == 0 && i < c.n; i++)
		rc = lmdb_address_del(t, org_id, c.v[i].id);
	free(c.v);
	return rc;
}
