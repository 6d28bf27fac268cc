/*
 * Products, grants and work teams on LMDB, each kind in a database of its
 * own under keys that start with the organization id:
 *
 *   DB_PRODUCTS      org || product         -> packed: 4, kind, created, expires,
 *                                               renewal months (2), auto-renew (1),
 *                                               renew tried, blocked at (8 each), name
 *                                               (versions 2 and 3, still read: without
 *                                               renewal fields, or the scheduler's)
 *   DB_PRODUCT_DUE   expires || org || product -> "" (products with an expiry, in its
 *                                               order: the renewal scheduler's walk)
 *   DB_GRANTS        org || product || subject -> packed: 2, subject kind, rights (4),
 *                                               count, then each resource's length and bytes
 *   DB_TEAMS         org || team            -> {"name", "leader", "created"}
 *   DB_TEAM_MEMBERS  org || team || account -> ""
 *   DB_MEMBER_TEAMS  org || account || team -> "" (a member's teams)
 *   DB_PARTNERS      client || partner      -> {"all", "products", "billing", "created"}
 *   DB_PARTNER_OF    partner || client      -> "" (an organization's clients)
 *
 * Products and grants, which every access decision reads, are packed
 * (big-endian); the others are a version byte and a JSON object. The
 * access check reads a member's grant and its teams' (point reads) and
 * walks the member's few teams (one short range).
 */
#include "lmdb-internal.h"

#include <jansson.h>
#include <log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <util.h>

#define REC_V1	      1
#define PACKED_V2     2
#define PACKED_V3     3
#define PACKED_V4     4
#define PRODUCT_FIXED (1 + 1 + 8 + 8)	     /* version 2 */
#define PRODUCT_V3    (PRODUCT_FIXED + 3)    /* and renewal months (2), auto-renew (1) */
#define PRODUCT_V4    (PRODUCT_V3 + 16)	     /* and renew tried, blocked at */
#define DUE_KEY	      (8 + 2 * AUTHD_ID_LEN) /* expires || org || product */
#define GRANT_FIXED   (1 + 1 + 4 + 1)
#define KEY2	      (2 * AUTHD_ID_LEN)
#define KEY3	      (3 * AUTHD_ID_LEN)

static int product_decode(const MDB_val *k, const MDB_val *v, struct product *p);
static void due_key(uint8_t key[DUE_KEY], const struct product *p);

static void key_of(uint8_t *key, const uint8_t *a, const uint8_t *b, const uint8_t *c)
{
	memcpy(key, a, AUTHD_ID_LEN);
	memcpy(key + AUTHD_ID_LEN, b, AUTHD_ID_LEN);
	if (c)
		memcpy(key + KEY2, c, AUTHD_ID_LEN);
}

/* Writes obj (consumed) as a version byte and its JSON text. */
static int put_obj(struct store_txn *t, enum lmdb_db db, const uint8_t *key, size_t klen,
		   json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int rc = STORE_E_IO;

	if (text && (val = malloc((len = strlen(text)) + 1)) != NULL) {
		val[0] = REC_V1;
		memcpy(val + 1, text, len);
		rc = lmdb_put(lmdb_of(t), db, key, klen, val, len + 1);
	}
	free(val);
	free(text);
	json_decref(obj);
	return rc;
}

/* The JSON object of a value (a new reference), NULL when damaged. */
static json_t *obj_of(const MDB_val *v)
{
	const char *p = v->mv_data;

	if (v->mv_size < 2 || p[0] != REC_V1)
		return NULL;
	return json_loadb(p + 1, v->mv_size - 1, 0, NULL);
}

static int del_ok(struct store_txn *t, enum lmdb_db db, const uint8_t *key, size_t klen)
{
	int rc = lmdb_del(lmdb_of(t), db, key, klen);

	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

/* Collects the keys of a range to delete after the walk. */
struct keys {
	uint8_t (*k)[KEY3];
	size_t klen, n, cap;
	int rc;
	const uint8_t *subject; /* grants: only this subject's */
};

static int key_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct keys *ks = arg;

	(void)txn;
	(void)v;
	if (k->mv_size != ks->klen || (ks->subject && memcmp((const uint8_t *)k->mv_data + KEY2,
							     ks->subject, AUTHD_ID_LEN) != 0))
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 32;
		void *p = realloc(ks->k, cap * sizeof(*ks->k));

		if (p == NULL)
			return (ks->rc = STORE_E_IO);
		ks->k = p;
		ks->cap = cap;
	}
	memcpy(ks->k[ks->n++], k->mv_data, ks->klen);
	return 0;
}

/* Deletes every key of db that starts with prefix (plen bytes) and has
 * klen bytes (of the subject, when given). */
static int del_range(struct store_txn *t, enum lmdb_db db, const uint8_t *prefix, size_t plen,
		     size_t klen, const uint8_t *subject)
{
	struct keys ks = {NULL, klen, 0, 0, 0, subject};
	int rc = lmdb_walk(lmdb_of(t), db, prefix, plen, plen, key_one, &ks);

	if (rc == 0)
		rc = ks.rc;
	for (size_t i = 0; rc == 0 && i < ks.n; i++)
		rc = del_ok(t, db, ks.k[i], klen);
	free(ks.k);
	return rc;
}

/* Deletes db's keys org || other and mirror's other || org. */
static int del_mirrored(struct store_txn *t, enum lmdb_db db, enum lmdb_db mirror,
			const uint8_t org_id[AUTHD_ID_LEN])
{
	struct keys ks = {NULL, KEY2, 0, 0, 0, NULL};
	int rc = lmdb_walk(lmdb_of(t), db, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, key_one, &ks);

	if (rc == 0)
		rc = ks.rc;
	for (size_t i = 0; rc == 0 && i < ks.n; i++) {
		uint8_t back[KEY2];

		key_of(back, ks.k[i] + AUTHD_ID_LEN, org_id, NULL);
		if ((rc = del_ok(t, db, ks.k[i], KEY2)) == 0)
			rc = del_ok(t, mirror, back, KEY2);
	}
	free(ks.k);
	return rc;
}

/* Collects the scheduler's keys of an organization's products. */
static int due_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct keys *ks = arg;
	struct product p;
	uint8_t key[DUE_KEY];
	MDB_val dk = {sizeof(key), key};

	(void)txn;
	if ((ks->rc = product_decode(k, v, &p)) != 0)
		return 1;
	if (p.expires_at <= 0)
		return 0;
	due_key(key, &p);
	return key_one(txn, &dk, v, ks);
}

int lmdb_org_products_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	struct keys due = {NULL, DUE_KEY, 0, 0, 0, NULL};
	int rc =
	    lmdb_walk(lmdb_of(t), DB_PRODUCTS, org_id, AUTHD_ID_LEN, AUTHD_ID_LEN, due_one, &due);

	if (rc == 0)
		rc = due.rc;
	for (size_t i = 0; rc == 0 && i < due.n; i++)
		rc = del_ok(t, DB_PRODUCT_DUE, due.k[i], DUE_KEY);
	free(due.k);
	if (rc == 0)
		rc = del_range(t, DB_PRODUCTS, org_id, AUTHD_ID_LEN, KEY2, NULL);

	if (rc == 0)
		rc = del_range(t, DB_GRANTS, org_id, AUTHD_ID_LEN, KEY3, NULL);
	if (rc == 0)
		rc = del_range(t, DB_TEAMS, org_id, AUTHD_ID_LEN, KEY2, NULL);
	if (rc == 0)
		rc = del_range(t, DB_TEAM_MEMBERS, org_id, AUTHD_ID_LEN, KEY3, NULL);
	if (rc == 0)
		rc = del_range(t, DB_MEMBER_TEAMS, org_id, AUTHD_ID_LEN, KEY3, NULL);
	/* Its relations, with their mirror entries on the other side. */
	if (rc == 0)
		rc = del_mirrored(t, DB_PARTNERS, DB_PARTNER_OF, org_id);
	if (rc == 0)
		rc = del_mirrored(t, DB_PARTNER_OF, DB_PARTNERS, org_id);
	return rc;
}

/* --- products ------------------------------------------------------------------------ */

static void due_key(uint8_t key[DUE_KEY], const struct product *p)
{
	authd_put_be64(key, (uint64_t)p->expires_at);
	memcpy(key + 8, p->org_id, AUTHD_ID_LEN);
	memcpy(key + 8 + AUTHD_ID_LEN, p->id, AUTHD_ID_LEN);
}

/* Keeps DB_PRODUCT_DUE in step with a product's expiry (old: as it was,
 * NULL when new; now: as it is, NULL when gone). */
static int due_move(struct store_txn *t, const struct product *old, const struct product *now)
{
	uint8_t key[DUE_KEY];
	int rc;

	if (old && now && old->expires_at == now->expires_at)
		return 0;
	if (old && old->expires_at > 0) {
		due_key(key, old);
		if ((rc = del_ok(t, DB_PRODUCT_DUE, key, sizeof(key))) != 0)
			return rc;
	}
	if (now && now->expires_at > 0) {
		due_key(key, now);
		return lmdb_put(lmdb_of(t), DB_PRODUCT_DUE, key, sizeof(key), "", 0);
	}
	return 0;
}

int lmdb_product_put(struct store_txn *t, const struct product *p)
{
	uint8_t key[KEY2], val[PRODUCT_V4 + NAME_MAX_B];
	size_t nlen = strnlen(p->name, NAME_MAX_B);
	struct product old;
	int rc;

	if (p->renewal_months < 1 || p->renewal_months > PRODUCT_RENEWAL_MAX)
		AUTHD_BUG("a product without its renewal period");
	rc = lmdb_product_get(t, p->org_id, p->id, &old);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if ((rc = due_move(t, rc == 0 ? &old : NULL, p)) != 0)
		return rc;
	key_of(key, p->org_id, p->id, NULL);
	val[0] = PACKED_V4;
	val[1] = p->kind;
	authd_put_be64(val + 2, (uint64_t)p->created_at);
	authd_put_be64(val + 10, (uint64_t)p->expires_at);
	val[18] = (uint8_t)(p->renewal_months >> 8);
	val[19] = (uint8_t)p->renewal_months;
	val[20] = p->auto_renew;
	authd_put_be64(val + 21, (uint64_t)p->renew_tried);
	authd_put_be64(val + 29, (uint64_t)p->blocked_at);
	memcpy(val + PRODUCT_V4, p->name, nlen);
	return lmdb_put(lmdb_of(t), DB_PRODUCTS, key, sizeof(key), val, PRODUCT_V4 + nlen);
}

static int product_decode(const MDB_val *k, const MDB_val *v, struct product *p)
{
	const uint8_t *q = v->mv_data;
	size_t fixed = v->mv_size == 0	   ? PRODUCT_FIXED
		       : q[0] == PACKED_V4 ? PRODUCT_V4
		       : q[0] == PACKED_V3 ? PRODUCT_V3
					   : PRODUCT_FIXED;

	if (k->mv_size != KEY2 || v->mv_size < fixed ||
	    (q[0] != PACKED_V2 && q[0] != PACKED_V3 && q[0] != PACKED_V4) ||
	    v->mv_size > fixed + NAME_MAX_B || q[1] < PRODUCT_MAIL || q[1] > PRODUCT_OTHER)
		return STORE_E_CORRUPT;
	memset(p, 0, sizeof(*p));
	memcpy(p->org_id, k->mv_data, AUTHD_ID_LEN);
	memcpy(p->id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
	p->kind = q[1];
	p->created_at = (int64_t)authd_get_be64(q + 2);
	p->expires_at = (int64_t)authd_get_be64(q + 10);
	p->renewal_months = PRODUCT_RENEWAL_DEFAULT;
	if (q[0] >= PACKED_V3) {
		p->renewal_months = (uint16_t)(q[18] << 8 | q[19]);
		p->auto_renew = q[20] != 0;
		if (p->renewal_months == 0 || p->renewal_months > PRODUCT_RENEWAL_MAX)
			return STORE_E_CORRUPT;
	}
	if (q[0] == PACKED_V4) {
		p->renew_tried = (int64_t)authd_get_be64(q + 21);
		p->blocked_at = (int64_t)authd_get_be64(q + 29);
	}
	memcpy(p->name, q + fixed, v->mv_size - fixed);
	return 0;
}

int lmdb_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct product *p)
{
	uint8_t key[KEY2];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	key_of(key, org_id, id, NULL);
	if ((rc = lmdb_get(lmdb_of(t), DB_PRODUCTS, key, sizeof(key), &v)) != 0)
		return rc;
	return product_decode(&k, &v, p);
}

int lmdb_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN])
{
	uint8_t key[KEY2];
	struct product old;
	int rc = lmdb_product_get(t, org_id, id, &old);

	if (rc == 0)
		rc = due_move(t, &old, NULL);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	key_of(key, org_id, id, NULL);
	if ((rc = del_ok(t, DB_PRODUCTS, key, sizeof(key))) != 0)
		return rc;
	return del_range(t, DB_GRANTS, key, KEY2, KEY3, NULL);
}

struct list {
	int (*product)(void *arg, const struct product *p);
	int (*grant)(void *arg, const struct grant *g);
	int (*team)(void *arg, const struct team *tm);
	int (*id)(void *arg, const uint8_t id[AUTHD_ID_LEN]);
	void *arg;
	int rc;
};

static int grant_decode(const MDB_val *k, const MDB_val *v, struct grant *g);
static int team_decode(const MDB_val *k, const MDB_val *v, struct team *tm);

static int list_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct list *l = arg;

	(void)txn;
	if (l->product) {
		struct product p;

		if ((l->rc = product_decode(k, v, &p)) == 0)
			l->rc = l->product(l->arg, &p);
	} else if (l->grant) {
		struct grant g;

		if ((l->rc = grant_decode(k, v, &g)) == 0)
			l->rc = l->grant(l->arg, &g);
	} else if (l->team) {
		struct team tm;

		if ((l->rc = team_decode(k, v, &tm)) == 0)
			l->rc = l->team(l->arg, &tm);
	} else if (k->mv_size == KEY3) {
		l->rc = l->id(l->arg, (const uint8_t *)k->mv_data + KEY2);
	}
	return l->rc;
}

static int list_range(struct store_txn *t, enum lmdb_db db, const uint8_t *prefix, size_t plen,
		      struct list *l)
{
	int rc = lmdb_walk(lmdb_of(t), db, prefix, plen, plen, list_one, l);

	return rc != 0 ? rc : l->rc;
}

int lmdb_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct product *p), void *arg)
{
	struct list l = {.product = fn, .arg = arg};

	return list_range(t, DB_PRODUCTS, org_id, AUTHD_ID_LEN, &l);
}

/* --- grants ---------------------------------------------------------------------------- */

int lmdb_grant_put(struct store_txn *t, const struct grant *g)
{
	uint8_t key[KEY3], val[GRANT_FIXED + GRANT_RESOURCES_MAX * (1 + GRANT_RESOURCE_MAX)];
	size_t n = GRANT_FIXED;
	unsigned count =
	    g->n_resources < GRANT_RESOURCES_MAX ? g->n_resources : GRANT_RESOURCES_MAX;

	val[0] = PACKED_V2;
	val[1] = g->subject_kind;
	authd_put_be32(val + 2, g->rights);
	val[6] = (uint8_t)count;
	for (unsigned i = 0; i < count; i++) {
		size_t len = strnlen(g->resources[i], GRANT_RESOURCE_MAX);

		val[n++] = (uint8_t)len;
		memcpy(val + n, g->resources[i], len);
		n += len;
	}
	key_of(key, g->org_id, g->product_id, g->subject);
	return lmdb_put(lmdb_of(t), DB_GRANTS, key, sizeof(key), val, n);
}

static int grant_decode(const MDB_val *k, const MDB_val *v, struct grant *g)
{
	const uint8_t *q = v->mv_data;
	size_t n = GRANT_FIXED;

	if (k->mv_size != KEY3 || v->mv_size < GRANT_FIXED || q[0] != PACKED_V2 ||
	    (q[1] != GRANT_MEMBER && q[1] != GRANT_TEAM) ||
	    authd_get_be32(q + 2) > PRODUCT_R__ALL || q[6] > GRANT_RESOURCES_MAX)
		return STORE_E_CORRUPT;
	/* Only what is set: a grant is read on every access decision. */
	memcpy(g->org_id, k->mv_data, AUTHD_ID_LEN);
	memcpy(g->product_id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
	memcpy(g->subject, (const uint8_t *)k->mv_data + KEY2, AUTHD_ID_LEN);
	g->subject_kind = q[1];
	g->rights = authd_get_be32(q + 2);
	g->n_resources = 0;
	for (unsigned i = 0; i < q[6]; i++) {
		if (n >= v->mv_size || q[n] > GRANT_RESOURCE_MAX || n + 1 + q[n] > v->mv_size)
			goto corrupt;
		memcpy(g->resources[i], q + n + 1, q[n]);
		g->resources[i][q[n]] = '\0';
		n += 1 + (size_t)q[n];
		g->n_resources++;
	}
	if (n == v->mv_size)
		return 0;
corrupt:
	memset(g, 0, sizeof(*g)); /* nothing half-read */
	return STORE_E_CORRUPT;
}

int lmdb_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		   struct grant *g)
{
	uint8_t key[KEY3];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	key_of(key, org_id, product_id, subject);
	if ((rc = lmdb_get(lmdb_of(t), DB_GRANTS, key, sizeof(key), &v)) != 0)
		return rc;
	return grant_decode(&k, &v, g);
}

int lmdb_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN])
{
	uint8_t key[KEY3];

	key_of(key, org_id, product_id, subject);
	return del_ok(t, DB_GRANTS, key, sizeof(key));
}

int lmdb_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t product_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct grant *g), void *arg)
{
	uint8_t key[KEY2];
	struct list l = {.grant = fn, .arg = arg};

	key_of(key, org_id, product_id, NULL);
	return list_range(t, DB_GRANTS, key, sizeof(key), &l);
}

int lmdb_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t subject[AUTHD_ID_LEN])
{
	return del_range(t, DB_GRANTS, org_id, AUTHD_ID_LEN, KEY3, subject);
}

/* --- teams ----------------------------------------------------------------------------- */

int lmdb_team_put(struct store_txn *t, const struct team *tm)
{
	uint8_t key[KEY2];
	char leader[AUTHD_ID_HEX + 1];

	authd_hex(tm->leader, AUTHD_ID_LEN, leader);
	key_of(key, tm->org_id, tm->id, NULL);
	return put_obj(t, DB_TEAMS, key, sizeof(key),
		       json_pack("{s:s, s:s, s:I}", "name", tm->name, "leader", leader, "created",
				 (json_int_t)tm->created_at));
}

static int team_decode(const MDB_val *k, const MDB_val *v, struct team *tm)
{
	json_t *o = obj_of(v);
	const char *name, *leader;
	json_int_t created;
	int rc = STORE_E_CORRUPT;

	if (k->mv_size == KEY2 &&
	    json_unpack(o, "{s:s, s:s, s:I}", "name", &name, "leader", &leader, "created",
			&created) == 0 &&
	    strlen(name) <= NAME_MAX_B) {
		memset(tm, 0, sizeof(*tm));
		memcpy(tm->org_id, k->mv_data, AUTHD_ID_LEN);
		memcpy(tm->id, (const uint8_t *)k->mv_data + AUTHD_ID_LEN, AUTHD_ID_LEN);
		snprintf(tm->name, sizeof(tm->name), "%s", name);
		tm->created_at = (int64_t)created;
		if (authd_unhex(leader, strlen(leader), tm->leader, AUTHD_ID_LEN) == 0)
			rc = 0;
	}
	json_decref(o);
	return rc;
}

int lmdb_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN], struct team *tm)
{
	uint8_t key[KEY2];
	MDB_val k = {sizeof(key), key}, v;
	int rc;

	key_of(key, org_id, id, NULL);
	if ((rc = lmdb_get(lmdb_of(t), DB_TEAMS, key, sizeof(key), &v)) != 0)
		return rc;
	return team_decode(&k, &v, tm);
}

struct team_members {
	struct store_txn *t;
	const uint8_t *org_id, *team_id;
	int rc;
};

static int unlink_member(void *arg, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct team_members *tm = arg;
	uint8_t key[KEY3];

	key_of(key, tm->org_id, account_id, tm->team_id);
	return del_ok(tm->t, DB_MEMBER_TEAMS, key, sizeof(key));
}

int lmdb_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN])
{
	uint8_t key[KEY2];
	struct team_members tm = {t, org_id, id, 0};
	struct list l = {.id = unlink_member, .arg = &tm};
	int rc;

	key_of(key, org_id, id, NULL);
	/* Its members' index entries, its members, its grants, then it. */
	if ((rc = list_range(t, DB_TEAM_MEMBERS, key, sizeof(key), &l)) != 0 ||
	    (rc = del_range(t, DB_TEAM_MEMBERS, key, KEY2, KEY3, NULL)) != 0 ||
	    (rc = lmdb_grants_del_subject(t, org_id, id)) != 0)
		return rc;
	return del_ok(t, DB_TEAMS, key, sizeof(key));
}

int lmdb_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct team *tm), void *arg)
{
	struct list l = {.team = fn, .arg = arg};

	return list_range(t, DB_TEAMS, org_id, AUTHD_ID_LEN, &l);
}

int lmdb_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN])
{
	uint8_t key[KEY3];
	int rc;

	key_of(key, org_id, team_id, account_id);
	if ((rc = lmdb_put(lmdb_of(t), DB_TEAM_MEMBERS, key, sizeof(key), "", 0)) != 0)
		return rc;
	key_of(key, org_id, account_id, team_id);
	return lmdb_put(lmdb_of(t), DB_MEMBER_TEAMS, key, sizeof(key), "", 0);
}

int lmdb_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN])
{
	uint8_t key[KEY3];
	int rc;

	key_of(key, org_id, team_id, account_id);
	if ((rc = del_ok(t, DB_TEAM_MEMBERS, key, sizeof(key))) != 0)
		return rc;
	key_of(key, org_id, account_id, team_id);
	return del_ok(t, DB_MEMBER_TEAMS, key, sizeof(key));
}

int lmdb_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t team_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	uint8_t key[KEY2];
	struct list l = {.id = fn, .arg = arg};

	key_of(key, org_id, team_id, NULL);
	return list_range(t, DB_TEAM_MEMBERS, key, sizeof(key), &l);
}

int lmdb_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			   const uint8_t account_id[AUTHD_ID_LEN],
			   int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg)
{
	uint8_t key[KEY2];
	struct list l = {.id = fn, .arg = arg};

	key_of(key, org_id, account_id, NULL);
	return list_range(t, DB_MEMBER_TEAMS, key, sizeof(key), &l);
}

/* --- an access decision's facts ------------------------------------------------------ */

struct team_ids {
	uint8_t id[TEAMS_MAX_PER_MEMBER][AUTHD_ID_LEN];
	size_t n;
};

static int team_id_one(void *arg, const uint8_t team_id[AUTHD_ID_LEN])
{
	struct team_ids *ts = arg;

	if (ts->n < TEAMS_MAX_PER_MEMBER)
		memcpy(ts->id[ts->n++], team_id, AUTHD_ID_LEN);
	return 0;
}

int lmdb_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t product_id[AUTHD_ID_LEN],
		      const uint8_t account_id[AUTHD_ID_LEN], struct member *m, struct product *p,
		      bool *has_product, struct grant *grants, size_t max, size_t *n)
{
	struct team_ids ts = {.n = 0};
	int rc = lmdb_member_get(t, org_id, account_id, m);

	*n = 0;
	if (rc == STORE_E_NOTFOUND) {
		memset(m, 0, sizeof(*m));
		rc = 0;
	}
	if (rc != 0)
		return rc;
	rc = lmdb_product_get(t, org_id, product_id, p);
	*has_product = rc == 0;
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	if (m->role == 0 || !*has_product)
		return 0;
	if ((rc = lmdb_member_teams_list(t, org_id, account_id, team_id_one, &ts)) != 0)
		return rc;
	for (size_t i = 0; i <= ts.n && *n < max; i++) {
		rc = lmdb_grant_get(t, org_id, product_id, i == 0 ? account_id : ts.id[i - 1],
				    &grants[*n]);
		if (rc == 0)
			(*n)++;
		else if (rc != STORE_E_NOTFOUND)
			return rc;
	}
	return 0;
}

/* --- partner relations ------------------------------------------------------------------ */

int lmdb_partner_put(struct store_txn *t, const struct partner_link *l)
{
	uint8_t key[KEY2];
	json_t *products = json_array();
	int rc;

	for (unsigned i = 0; products && i < l->n_products && i < PARTNER_PRODUCTS_MAX; i++) {
		char id[AUTHD_ID_HEX + 1];

		authd_hex(l->products[i], AUTHD_ID_LEN, id);
		json_array_append_new(products, json_string(id));
	}
	key_of(key, l->client_org, l->partner_org, NULL);
	if ((rc = put_obj(t, DB_PARTNERS, key, sizeof(key),
			  json_pack("{s:b, s:o, s:b, s:I}", "all", l->all_products, "products",
				    products, "billing", l->billing, "created",
				    (json_int_t)l->created_at))) != 0)
		return rc;
	key_of(key, l->partner_org, l->client_org, NULL);
	return lmdb_put(lmdb_of(t), DB_PARTNER_OF, key, sizeof(key), "", 0);
}

static int partner_decode(const uint8_t client[AUTHD_ID_LEN], const uint8_t partner[AUTHD_ID_LEN],
			  const MDB_val *v, struct partner_link *l)
{
	json_t *o = obj_of(v), *products = NULL, *p;
	int all, billing;
	json_int_t created;
	size_t i;
	int rc = STORE_E_CORRUPT;

	if (json_unpack(o, "{s:b, s:o, s:b, s:I}", "all", &all, "products", &products, "billing",
			&billing, "created", &created) != 0 ||
	    !json_is_array(products) || json_array_size(products) > PARTNER_PRODUCTS_MAX)
		goto out;
	memset(l, 0, sizeof(*l));
	memcpy(l->client_org, client, AUTHD_ID_LEN);
	memcpy(l->partner_org, partner, AUTHD_ID_LEN);
	l->all_products = all;
	l->billing = billing;
	l->created_at = (int64_t)created;
	json_array_foreach(products, i, p)
	{
		const char *s = json_string_value(p);

		if (s == NULL || authd_unhex(s, strlen(s), l->products[i], AUTHD_ID_LEN) != 0)
			goto out;
		l->n_products++;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int lmdb_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		     const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l)
{
	uint8_t key[KEY2];
	MDB_val v;
	int rc;

	key_of(key, client_org, partner_org, NULL);
	if ((rc = lmdb_get(lmdb_of(t), DB_PARTNERS, key, sizeof(key), &v)) != 0)
		return rc;
	return partner_decode(client_org, partner_org, &v, l);
}

int lmdb_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		     const uint8_t partner_org[AUTHD_ID_LEN])
{
	uint8_t key[KEY2];
	int rc;

	key_of(key, client_org, partner_org, NULL);
	if ((rc = del_ok(t, DB_PARTNERS, key, sizeof(key))) != 0)
		return rc;
	key_of(key, partner_org, client_org, NULL);
	return del_ok(t, DB_PARTNER_OF, key, sizeof(key));
}

struct partners {
	struct store_txn *t;
	bool as_client;
	int (*fn)(void *arg, const struct partner_link *l);
	void *arg;
	int rc;
};

static int partner_one(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct partners *ps = arg;
	const uint8_t *p = k->mv_data;
	struct partner_link l;

	(void)txn;
	if (k->mv_size != KEY2)
		return 0;
	if (ps->as_client)
		ps->rc = partner_decode(p, p + AUTHD_ID_LEN, v, &l);
	else if ((ps->rc = lmdb_partner_get(ps->t, p + AUTHD_ID_LEN, p, &l)) == STORE_E_NOTFOUND)
		return (ps->rc = 0); /* the index: partner || client; a stray entry is skipped */
	if (ps->rc == 0)
		ps->rc = ps->fn(ps->arg, &l);
	return ps->rc;
}

int lmdb_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
		       int (*fn)(void *arg, const struct partner_link *l), void *arg)
{
	struct partners ps = {t, as_client, fn, arg, 0};
	int rc = lmdb_walk(lmdb_of(t), as_client ? DB_PARTNERS : DB_PARTNER_OF, org_id,
			   AUTHD_ID_LEN, AUTHD_ID_LEN, partner_one, &ps);

	return rc != 0 ? rc : ps.rc;
}

/* --- the renewal scheduler's walk ------------------------------------------------------ */

struct due_walk {
	int64_t until;
	size_t limit, seen;
	int (*fn)(void *arg, const struct product *p);
	void *arg;
	const uint8_t *skip; /* the cursor's key itself: strictly after it */
	int rc;
};

static int due_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg)
{
	struct due_walk *w = arg;
	const uint8_t *key = k->mv_data;
	uint8_t pk[KEY2];
	MDB_val pv, pkv = {sizeof(pk), pk};
	struct product p;

	(void)v;
	if (k->mv_size != DUE_KEY) {
		w->rc = STORE_E_CORRUPT;
		return 1;
	}
	if ((int64_t)authd_get_be64(key) > w->until || w->seen == w->limit)
		return 1;
	if (w->skip && memcmp(key, w->skip, DUE_KEY) == 0)
		return 0;
	memcpy(pk, key + 8, KEY2);
	if ((w->rc = lmdb_get(txn, DB_PRODUCTS, pk, sizeof(pk), &pv)) != 0 ||
	    (w->rc = product_decode(&pkv, &pv, &p)) != 0) {
		if (w->rc == STORE_E_NOTFOUND)
			w->rc = STORE_E_CORRUPT;
		return 1;
	}
	w->seen++;
	return (w->rc = w->fn(w->arg, &p)) != 0;
}

int lmdb_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		      size_t limit, int (*fn)(void *arg, const struct product *p), void *arg)
{
	uint8_t start[DUE_KEY];
	struct due_walk w = {until, limit, 0, fn, arg, NULL, 0};
	int rc;

	memset(start, 0, sizeof(start));
	if (after) {
		authd_put_be64(start, (uint64_t)after->expires_at);
		memcpy(start + 8, after->org_id, AUTHD_ID_LEN);
		memcpy(start + 8 + AUTHD_ID_LEN, after->id, AUTHD_ID_LEN);
		w.skip = start;
	}
	rc = lmdb_walk(lmdb_of(t), DB_PRODUCT_DUE, start, sizeof(start), 0, due_visit, &w);
	return rc != 0 ? rc : w.rc;
}

int lmdb_product_due_index_build(MDB_txn *txn, size_t *indexed)
{
	struct keys due = {NULL, DUE_KEY, 0, 0, 0, NULL};
	int rc = lmdb_walk(txn, DB_PRODUCTS, NULL, 0, 0, due_one, &due);

	if (rc == 0)
		rc = due.rc;
	for (size_t i = 0; rc == 0 && i < due.n; i++)
		rc = lmdb_put(txn, DB_PRODUCT_DUE, due.k[i], DUE_KEY, "", 0);
	*indexed = due.n;
	free(due.k);
	return rc;
}

int lmdb_cluster_lock(struct store_txn *t, int64_t key, bool *held)
{
	(void)t;
	(void)key;
	*held = true; /* one node, one writer */
	return 0;
}

int lmdb_product_update(struct store_txn *t, const struct product *p)
{
	struct product old;
	int rc = lmdb_product_get(t, p->org_id, p->id, &old);

	return rc != 0 ? rc : lmdb_product_put(t, p);
}
