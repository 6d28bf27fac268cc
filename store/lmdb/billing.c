/*
 * Billing records on LMDB. A billing address is keyed organization id ||
 * address id in DB_ADDRESSES; its value is a version byte (1) and a JSON
 * object {"name", "line1", "line2", "postal_code", "city", "country",
 * "vat_number", "default", "created"}. An organization's few addresses
 * (BILLING_ADDRESSES_MAX) are listed in the order they were made.
 */
#include "lmdb-internal.h"

#include <jansson.h>
#include <util.h>
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

/* --- the prepaid balance, its ledger and payments ---------------------------------------- *
 * A balance is organization id || currency (1) -> minor units (8, big-endian).
 * A ledger entry is keyed organization id || time || entry id in DB_LEDGER:
 * version (1), kind (1), payment id, currency (1), leg count (1), then
 * each leg's account (1) and amount (8, two's complement big-endian).
 * A payment is keyed by its id in DB_PAYMENTS: version (1), id,
 * organization id, key hash, request hash, kind, status, currency (1
 * each), amount, from_balance, rest (8 each), maker's id, created,
 * settled (8 each), the provider's reference (length 1, text), the
 * checkout address (length 2, text), the invoice count (1) and ids.
 * DB_PAYMENT_ORG lists an organization's by the time they were made. */

#define LEDGER_V1      1
#define LEDGER_KEY     (2 * AUTHD_ID_LEN + 8)
#define LEDGER_VAL_MAX (3 + AUTHD_ID_LEN + 1 + LEDGER_LEGS_MAX * 9)
#define PAYMENT_V1     1
#define PAYMENT_FIXED  (1 + 3 * AUTHD_ID_LEN + 2 * AUTHD_HASH_LEN + 3 + 5 * 8)
#define PAYMENT_VAL_MAX                                                                            \
	(PAYMENT_FIXED + 1 + PAYMENT_REF_MAX + 2 + PAYMENT_URL_MAX + 1 +                           \
	 PAYMENT_INVOICES_MAX * AUTHD_ID_LEN)
#define PAYMENT_ORG_KEY (2 * AUTHD_ID_LEN + 8)

int lmdb_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		     int64_t *minor)
{
	uint8_t key[AUTHD_ID_LEN + 1];
	MDB_val v;
	int rc;

	memcpy(key, org_id, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN] = currency;
	if ((rc = lmdb_get(lmdb_of(t), DB_BALANCES, key, sizeof(key), &v)) == STORE_E_NOTFOUND) {
		*minor = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return STORE_E_CORRUPT;
	*minor = (int64_t)authd_get_be64(v.mv_data);
	return 0;
}

int lmdb_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		     int64_t minor)
{
	uint8_t key[AUTHD_ID_LEN + 1], val[8];

	if (minor < 0)
		return STORE_E_IO; /* the shell's bug: PostgreSQL refuses it too */
	memcpy(key, org_id, AUTHD_ID_LEN);
	key[AUTHD_ID_LEN] = currency;
	authd_put_be64(val, (uint64_t)minor);
	return lmdb_put(lmdb_of(t), DB_BALANCES, key, sizeof(key), val, sizeof(val));
}

int lmdb_ledger_add(struct store_txn *t, const struct ledger_entry *e)
{
	uint8_t key[LEDGER_KEY], val[LEDGER_VAL_MAX];
	size_t n = 0;

	if (e->tx.n > LEDGER_LEGS_MAX || e->at < 0)
		return STORE_E_IO;
	memcpy(key, e->org_id, AUTHD_ID_LEN);
	authd_put_be64(key + AUTHD_ID_LEN, (uint64_t)e->at);
	memcpy(key + AUTHD_ID_LEN + 8, e->id, AUTHD_ID_LEN);
	val[n++] = LEDGER_V1;
	val[n++] = e->kind;
	memcpy(val + n, e->payment_id, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	val[n++] = e->tx.currency;
	val[n++] = (uint8_t)e->tx.n;
	for (unsigned i = 0; i < e->tx.n; i++) {
		val[n++] = e->tx.legs[i].account;
		authd_put_be64(val + n, (uint64_t)e->tx.legs[i].minor);
		n += 8;
	}
	return lmdb_put(lmdb_of(t), DB_LEDGER, key, sizeof(key), val, n);
}

static int ledger_decode(const MDB_val *k, const MDB_val *v, struct ledger_entry *e)
{
	const uint8_t *p = v->mv_data;
	size_t n = 2;

	if (k->mv_size != LEDGER_KEY || v->mv_size < 3 + AUTHD_ID_LEN + 1 || p[0] != LEDGER_V1)
		return STORE_E_CORRUPT;
	memset(e, 0, sizeof(*e));
	memcpy(e->org_id, k->mv_data, AUTHD_ID_LEN);
	e->at = (int64_t)authd_get_be64((const uint8_t *)k->mv_data + AUTHD_ID_LEN);
	memcpy(e->id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN + 8, AUTHD_ID_LEN);
	e->kind = p[1];
	memcpy(e->payment_id, p + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	e->tx.currency = p[n++];
	e->tx.n = p[n++];
	if (e->tx.n > LEDGER_LEGS_MAX || v->mv_size != n + e->tx.n * 9)
		return STORE_E_CORRUPT;
	for (unsigned i = 0; i < e->tx.n; i++) {
		e->tx.legs[i].account = p[n];
		e->tx.legs[i].minor = (int64_t)authd_get_be64(p + n + 1);
		n += 9;
	}
	return 0;
}

/* Calls fn for the keys of db that begin with org_id, last first, at most
 * limit of them. */
static int walk_back(MDB_txn *txn, enum lmdb_db db, const uint8_t org_id[AUTHD_ID_LEN], size_t klen,
		     size_t limit,
		     int (*fn)(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg),
		     void *arg)
{
	MDB_cursor *cur = NULL;
	uint8_t key[64];
	MDB_val k = {klen, key}, v;
	size_t seen = 0;
	int rc, out = 0;

	if (klen > sizeof(key) || klen <= AUTHD_ID_LEN)
		return STORE_E_IO;
	memcpy(key, org_id, AUTHD_ID_LEN);
	memset(key + AUTHD_ID_LEN, 0xff, klen - AUTHD_ID_LEN);
	if (mdb_cursor_open(txn, lmdb_dbi(db), &cur) != 0)
		return STORE_E_IO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && !(k.mv_size == klen && memcmp(k.mv_data, key, klen) == 0))
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && seen < limit && k.mv_size >= AUTHD_ID_LEN &&
	       memcmp(k.mv_data, org_id, AUTHD_ID_LEN) == 0) {
		if ((out = fn(txn, &k, &v, arg)) != 0)
			break;
		seen++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (out != 0)
		return out;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_E_IO;
}

struct ledger_walk {
	int (*fn)(void *arg, const struct ledger_entry *e);
	void *arg;
};

static int ledger_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct ledger_walk *w = arg;
	struct ledger_entry e;
	int rc = ledger_decode(k, v, &e);

	(void)txn;
	return rc != 0 ? rc : w->fn(w->arg, &e);
}

int lmdb_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct ledger_entry *e), void *arg)
{
	struct ledger_walk w = {fn, arg};

	return walk_back(lmdb_of(t), DB_LEDGER, org_id, LEDGER_KEY, limit, ledger_one, &w);
}

static size_t payment_encode(const struct payment *p, uint8_t out[PAYMENT_VAL_MAX])
{
	size_t n = 0, rlen = strnlen(p->provider_ref, PAYMENT_REF_MAX),
	       ulen = strnlen(p->checkout_url, PAYMENT_URL_MAX);
	unsigned ni = p->n_invoices < PAYMENT_INVOICES_MAX ? p->n_invoices : PAYMENT_INVOICES_MAX;
	const int64_t nums[] = {p->amount, p->from_balance, p->rest};

	out[n++] = PAYMENT_V1;
	memcpy(out + n, p->id, AUTHD_ID_LEN);
	memcpy(out + n + AUTHD_ID_LEN, p->org_id, AUTHD_ID_LEN);
	n += 2 * AUTHD_ID_LEN;
	memcpy(out + n, p->key_hash, AUTHD_HASH_LEN);
	memcpy(out + n + AUTHD_HASH_LEN, p->request_hash, AUTHD_HASH_LEN);
	n += 2 * AUTHD_HASH_LEN;
	out[n++] = p->kind;
	out[n++] = p->status;
	out[n++] = p->currency;
	for (size_t i = 0; i < 3; i++, n += 8)
		authd_put_be64(out + n, (uint64_t)nums[i]);
	memcpy(out + n, p->created_by, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	authd_put_be64(out + n, (uint64_t)p->created_at);
	authd_put_be64(out + n + 8, (uint64_t)p->settled_at);
	n += 16;
	out[n++] = (uint8_t)rlen;
	memcpy(out + n, p->provider_ref, rlen);
	n += rlen;
	out[n++] = (uint8_t)(ulen >> 8);
	out[n++] = (uint8_t)ulen;
	memcpy(out + n, p->checkout_url, ulen);
	n += ulen;
	out[n++] = (uint8_t)ni;
	memcpy(out + n, p->invoices, (size_t)ni * AUTHD_ID_LEN);
	return n + (size_t)ni * AUTHD_ID_LEN;
}

static int payment_decode(const MDB_val *v, struct payment *p)
{
	const uint8_t *b = v->mv_data;
	size_t n = 1, len;
	int64_t nums[3];

	if (v->mv_size < PAYMENT_FIXED + 4 || b[0] != PAYMENT_V1)
		return STORE_E_CORRUPT;
	memset(p, 0, sizeof(*p));
	memcpy(p->id, b + n, AUTHD_ID_LEN);
	memcpy(p->org_id, b + n + AUTHD_ID_LEN, AUTHD_ID_LEN);
	n += 2 * AUTHD_ID_LEN;
	memcpy(p->key_hash, b + n, AUTHD_HASH_LEN);
	memcpy(p->request_hash, b + n + AUTHD_HASH_LEN, AUTHD_HASH_LEN);
	n += 2 * AUTHD_HASH_LEN;
	p->kind = b[n++];
	p->status = b[n++];
	p->currency = b[n++];
	for (size_t i = 0; i < 3; i++, n += 8)
		nums[i] = (int64_t)authd_get_be64(b + n);
	p->amount = nums[0];
	p->from_balance = nums[1];
	p->rest = nums[2];
	memcpy(p->created_by, b + n, AUTHD_ID_LEN);
	n += AUTHD_ID_LEN;
	p->created_at = (int64_t)authd_get_be64(b + n);
	p->settled_at = (int64_t)authd_get_be64(b + n + 8);
	n += 16;
	if ((len = b[n++]) > PAYMENT_REF_MAX || v->mv_size < n + len + 3)
		return STORE_E_CORRUPT;
	memcpy(p->provider_ref, b + n, len);
	n += len;
	len = (size_t)b[n] << 8 | b[n + 1];
	n += 2;
	if (len > PAYMENT_URL_MAX || v->mv_size < n + len + 1)
		return STORE_E_CORRUPT;
	memcpy(p->checkout_url, b + n, len);
	n += len;
	if ((len = b[n++]) > PAYMENT_INVOICES_MAX || v->mv_size != n + len * AUTHD_ID_LEN)
		return STORE_E_CORRUPT;
	p->n_invoices = (unsigned)len;
	memcpy(p->invoices, b + n, len * AUTHD_ID_LEN);
	return 0;
}

int lmdb_payment_put(struct store_txn *t, const struct payment *p)
{
	uint8_t val[PAYMENT_VAL_MAX], key[PAYMENT_ORG_KEY];
	size_t n = payment_encode(p, val);
	int rc;

	memcpy(key, p->org_id, AUTHD_ID_LEN);
	authd_put_be64(key + AUTHD_ID_LEN, (uint64_t)p->created_at);
	memcpy(key + AUTHD_ID_LEN + 8, p->id, AUTHD_ID_LEN);
	if ((rc = lmdb_put(lmdb_of(t), DB_PAYMENT_ORG, key, sizeof(key), "", 0)) != 0)
		return rc;
	return lmdb_put(lmdb_of(t), DB_PAYMENTS, p->id, AUTHD_ID_LEN, val, n);
}

int lmdb_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p)
{
	struct payment tmp;
	MDB_val v;
	int rc = lmdb_get(lmdb_of(t), DB_PAYMENTS, id, AUTHD_ID_LEN, &v);

	if (rc != 0 || (rc = payment_decode(&v, &tmp)) != 0)
		return rc;
	*p = tmp;
	return 0;
}

struct payment_walk {
	int (*fn)(void *arg, const struct payment *p);
	void *arg;
};

static int payment_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct payment_walk *w = arg;
	struct payment p;
	MDB_val rec;
	int rc;

	(void)v;
	if (k->mv_size != PAYMENT_ORG_KEY)
		return STORE_E_CORRUPT;
	if ((rc = lmdb_get(txn, DB_PAYMENTS, (const uint8_t *)k->mv_data + AUTHD_ID_LEN + 8,
			   AUTHD_ID_LEN, &rec)) != 0 ||
	    (rc = payment_decode(&rec, &p)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_CORRUPT : rc;
	return w->fn(w->arg, &p);
}

int lmdb_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		       int (*fn)(void *arg, const struct payment *p), void *arg)
{
	struct payment_walk w = {fn, arg};

	return walk_back(lmdb_of(t), DB_PAYMENT_ORG, org_id, PAYMENT_ORG_KEY, limit, payment_one,
			 &w);
}

/* --- invoices, sequences and vouchers ------------------------------------------------------ *
 * An invoice is its id -> version (1) and store_invoice_json's text, listed
 * through DB_INVOICE_ORG (organization || created || id). A sequence is
 * DB_META "seq:<name>" -> its last value (8, big-endian). A voucher is its
 * code -> version (1), kind (1), bp (4), amount (8), currency (1), valid
 * from, until (8 each), max uses, used (4 each), maker's id, created (8). */

#define INVOICE_V1  1
#define INVOICE_KEY (2 * AUTHD_ID_LEN + 8)
#define VOUCHER_V1  1
#define VOUCHER_LEN (1 + 1 + 4 + 8 + 1 + 8 + 8 + 4 + 4 + AUTHD_ID_LEN + 8)

int lmdb_invoice_put(struct store_txn *t, const struct invoice *inv)
{
	uint8_t key[INVOICE_KEY];
	char *text = store_invoice_json(inv);
	uint8_t *val = NULL;
	size_t len;
	int rc = STORE_E_IO;

	if (text == NULL)
		return STORE_E_IO;
	len = strlen(text);
	memcpy(key, inv->org_id, AUTHD_ID_LEN);
	authd_put_be64(key + AUTHD_ID_LEN, (uint64_t)inv->created_at);
	memcpy(key + AUTHD_ID_LEN + 8, inv->id, AUTHD_ID_LEN);
	if ((val = malloc(len + 1)) != NULL) {
		val[0] = INVOICE_V1;
		memcpy(val + 1, text, len);
		if ((rc = lmdb_put(lmdb_of(t), DB_INVOICE_ORG, key, sizeof(key), "", 0)) == 0)
			rc = lmdb_put(lmdb_of(t), DB_INVOICES, inv->id, AUTHD_ID_LEN, val, len + 1);
	}
	free(val);
	free(text);
	return rc;
}

static int invoice_decode(const MDB_val *v, struct invoice *inv)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < 2 || p[0] != INVOICE_V1 ||
	    store_invoice_parse((const char *)p + 1, v->mv_size - 1, inv) != 0)
		return STORE_E_CORRUPT;
	return 0;
}

int lmdb_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv)
{
	MDB_val v;
	int rc = lmdb_get(lmdb_of(t), DB_INVOICES, id, AUTHD_ID_LEN, &v);

	return rc != 0 ? rc : invoice_decode(&v, inv);
}

struct invoice_walk {
	int (*fn)(void *arg, const struct invoice *inv);
	void *arg;
	struct invoice inv;
};

static int invoice_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct invoice_walk *w = arg;
	MDB_val rec;
	int rc;

	(void)v;
	if (k->mv_size != INVOICE_KEY)
		return STORE_E_CORRUPT;
	if ((rc = lmdb_get(txn, DB_INVOICES, (const uint8_t *)k->mv_data + AUTHD_ID_LEN + 8,
			   AUTHD_ID_LEN, &rec)) != 0 ||
	    (rc = invoice_decode(&rec, &w->inv)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_CORRUPT : rc;
	return w->fn(w->arg, &w->inv);
}

int lmdb_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		       int (*fn)(void *arg, const struct invoice *inv), void *arg)
{
	struct invoice_walk *w = malloc(sizeof(*w)); /* 3 KB: not on a small stack */
	int rc;

	if (w == NULL)
		return STORE_E_IO;
	w->fn = fn;
	w->arg = arg;
	rc = walk_back(lmdb_of(t), DB_INVOICE_ORG, org_id, INVOICE_KEY, limit, invoice_one, w);
	free(w);
	return rc;
}

int lmdb_counter_next(struct store_txn *t, const char *name, uint64_t *value)
{
	char key[64];
	uint8_t val[8];
	uint64_t n = 0;
	MDB_val v;
	int klen = snprintf(key, sizeof(key), "seq:%s", name), rc;

	if (klen < 0 || (size_t)klen >= sizeof(key))
		return STORE_E_IO;
	rc = lmdb_get(lmdb_of(t), DB_META, key, (size_t)klen, &v);
	if (rc == 0 && v.mv_size != 8)
		return STORE_E_CORRUPT;
	if (rc == 0)
		n = authd_get_be64(v.mv_data);
	else if (rc != STORE_E_NOTFOUND)
		return rc;
	authd_put_be64(val, n + 1);
	if ((rc = lmdb_put(lmdb_of(t), DB_META, key, (size_t)klen, val, sizeof(val))) == 0)
		*value = n + 1;
	return rc;
}

int lmdb_voucher_put(struct store_txn *t, const struct voucher *v)
{
	uint8_t val[VOUCHER_LEN];
	size_t n = 0, klen = strnlen(v->code, VOUCHER_CODE_MAX);

	if (klen == 0)
		return STORE_E_IO;
	val[n++] = VOUCHER_V1;
	val[n++] = v->kind;
	authd_put_be32(val + n, v->bp);
	authd_put_be64(val + n + 4, (uint64_t)v->amount_minor);
	n += 12;
	val[n++] = v->currency;
	authd_put_be64(val + n, (uint64_t)v->valid_from);
	authd_put_be64(val + n + 8, (uint64_t)v->valid_until);
	authd_put_be32(val + n + 16, v->max_uses);
	authd_put_be32(val + n + 20, v->used);
	n += 24;
	memcpy(val + n, v->created_by, AUTHD_ID_LEN);
	authd_put_be64(val + n + AUTHD_ID_LEN, (uint64_t)v->created_at);
	return lmdb_put(lmdb_of(t), DB_VOUCHERS, v->code, klen, val, sizeof(val));
}

static int voucher_decode(const MDB_val *k, const MDB_val *v, struct voucher *out)
{
	const uint8_t *p = v->mv_data;
	size_t n = 2;

	if (k->mv_size == 0 || k->mv_size > VOUCHER_CODE_MAX || v->mv_size != VOUCHER_LEN ||
	    p[0] != VOUCHER_V1)
		return STORE_E_CORRUPT;
	memset(out, 0, sizeof(*out));
	memcpy(out->code, k->mv_data, k->mv_size);
	out->kind = p[1];
	out->bp = authd_get_be32(p + n);
	out->amount_minor = (int64_t)authd_get_be64(p + n + 4);
	n += 12;
	out->currency = p[n++];
	out->valid_from = (int64_t)authd_get_be64(p + n);
	out->valid_until = (int64_t)authd_get_be64(p + n + 8);
	out->max_uses = authd_get_be32(p + n + 16);
	out->used = authd_get_be32(p + n + 20);
	n += 24;
	memcpy(out->created_by, p + n, AUTHD_ID_LEN);
	out->created_at = (int64_t)authd_get_be64(p + n + AUTHD_ID_LEN);
	return 0;
}

int lmdb_voucher_get(struct store_txn *t, const char *code, struct voucher *v)
{
	size_t klen = strnlen(code, VOUCHER_CODE_MAX + 1);
	MDB_val k = {klen, (void *)code}, val;
	int rc;

	if (klen == 0 || klen > VOUCHER_CODE_MAX)
		return STORE_E_NOTFOUND;
	if ((rc = lmdb_get(lmdb_of(t), DB_VOUCHERS, code, klen, &val)) != 0)
		return rc;
	return voucher_decode(&k, &val, v);
}

struct voucher_walk {
	int (*fn)(void *arg, const struct voucher *v);
	void *arg;
	int rc; /* lmdb_walk stops on a non-zero answer without returning it */
};

static int voucher_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct voucher_walk *w = arg;
	struct voucher got;

	(void)txn;
	if ((w->rc = voucher_decode(k, v, &got)) == 0)
		w->rc = w->fn(w->arg, &got);
	return w->rc;
}

int lmdb_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v),
		       void *arg)
{
	struct voucher_walk w = {fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), DB_VOUCHERS, NULL, 0, 0, voucher_one, &w);

	return rc != 0 ? rc : w.rc;
}
