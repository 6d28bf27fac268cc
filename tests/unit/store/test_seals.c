/* Unit tests for key rotation's store operations on the engine
 * AUTHD_TEST_ENGINE names: the shared settings, and the walk of sealed
 * values that shows each one once, resumes where it stopped, writes back
 * only what the walker rewrote, and leaves the rest of every record as it
 * was. The "seals" here are stand-ins: their first byte is the generation,
 * and a reseal only changes that byte and the last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_store.h"

#define N_ACCOUNTS 5 /* 3 with TOTP (one with a pending enrolment too) */
#define N_DEVICES  3
#define N_MSGS	   4 /* one of them done: no text to walk */
#define N_DOCS	   2
/* What a full walk shows: 3 + 1 TOTP seeds, the devices, 3 messages, the
 * documents. */
#define N_SEALS (4 + N_DEVICES + (N_MSGS - 1) + N_DOCS)

static void id_of(uint8_t id[AUTHD_ID_LEN], int kind, int i)
{
	memset(id, 0, AUTHD_ID_LEN);
	id[0] = (uint8_t)kind;
	id[15] = (uint8_t)(i + 1);
}

static void fake_seal(uint8_t *s, size_t len, int fill)
{
	memset(s, fill, len);
	s[0] = 1; /* generation 1 */
}

static int fill_txn(struct store_txn *txn, void *arg)
{
	int rc = 0;

	(void)arg;
	for (int i = 0; i < N_ACCOUNTS && rc == 0; i++) {
		struct account a;
		struct totp_rec t;

		memset(&a, 0, sizeof(a));
		id_of(a.id, 0xa0, i);
		id_of(a.org_id, 0xb0, i);
		snprintf(a.email, sizeof(a.email), "user%d@example.com", i);
		if ((rc = store_account_put(txn, &a)) != 0 || i >= 3)
			continue;
		memset(&t, 0, sizeof(t));
		t.enabled = true;
		t.alg = 1;
		t.digits = 6;
		t.period = 30;
		t.last_step = 1000 + i;
		t.seed_len = 20 + SEAL_OVERHEAD;
		fake_seal(t.seed, t.seed_len, 0x30 + i);
		if (i == 1) {
			t.pending_seed_len = 20 + SEAL_OVERHEAD;
			fake_seal(t.pending_seed, t.pending_seed_len, 0x50);
			t.pending_expires_at = 5000;
			id_of(t.pending_id, 0xe0, 1);
		}
		rc = store_totp_put(txn, a.id, &t);
	}
	for (int i = 0; i < N_DEVICES && rc == 0; i++) {
		struct push_device d;

		memset(&d, 0, sizeof(d));
		id_of(d.id, 0xd0, i);
		id_of(d.account_id, 0xa0, 0);
		d.public_key[0] = 9;
		snprintf(d.name, sizeof(d.name), "phone %d", i);
		d.created_at = 100;
		d.last_step = -1;
		d.seed_len = 20 + SEAL_OVERHEAD;
		fake_seal(d.seed, d.seed_len, 0x60 + i);
		rc = store_device_put(txn, &d);
	}
	for (int i = 0; i < N_MSGS && rc == 0; i++) {
		struct outbox_msg *m = calloc(1, sizeof(*m));

		if (m == NULL)
			return STORE_E_IO;
		id_of(m->id, 0xc0, i);
		m->channel = OUTBOX_EMAIL;
		m->state = i == 3 ? OUTBOX_SENT : OUTBOX_PENDING;
		m->created_at = 100;
		m->next_at = 200 + i;
		m->done_at = i == 3 ? 300 : 0;
		m->sealed_len = i == 3 ? 0 : (uint16_t)(100 + i);
		if (m->sealed_len)
			fake_seal(m->sealed, m->sealed_len, 0x70 + i);
		rc = store_outbox_add(txn, m);
		free(m);
	}
	for (int i = 0; i < N_DOCS && rc == 0; i++) {
		uint8_t case_id[AUTHD_ID_LEN], doc[64];

		id_of(case_id, 0xf0, 0);
		fake_seal(doc, sizeof(doc), 0x80 + i);
		rc = store_doc_put(txn, case_id, (unsigned)i, 400, doc, sizeof(doc));
	}
	return rc;
}

struct walk {
	struct store_seal_pos pos;
	size_t limit;
	int seen[STORE_SEAL__COUNT];
	int by_gen[3];
	int total;
	bool reseal;
	int bad; /* something the walk showed that it should not have */
};

static int count_one(void *arg, struct store_seal *s)
{
	struct walk *w = arg;

	if (s->kind >= STORE_SEAL__COUNT || s->len < SEAL_OVERHEAD || s->sealed[0] < 1 ||
	    s->sealed[0] > 2 || (s->kind == STORE_SEAL_DEVICE) != (s->owner != NULL)) {
		w->bad++;
		return 0;
	}
	if (s->kind == STORE_SEAL_DEVICE && s->owner[0] != 0xa0)
		w->bad++;
	w->seen[s->kind]++;
	w->by_gen[s->sealed[0]]++;
	w->total++;
	if (w->reseal && s->sealed[0] == 1) {
		s->sealed[0] = 2;
		s->sealed[s->len - 1] ^= 0xff;
		return 1;
	}
	return 0;
}

static int walk_txn(struct store_txn *txn, void *arg)
{
	struct walk *w = arg;

	return store_seals_walk(txn, &w->pos, w->limit, count_one, w);
}

/* Walks everything in slices of `limit` records, one job each. */
static void walk_all(struct walk *w, size_t limit, bool reseal, bool write)
{
	int slices = 0;

	memset(w, 0, sizeof(*w));
	w->limit = limit;
	w->reseal = reseal;
	while (!w->pos.done) {
		assert_int_equal(write ? unit_write(walk_txn, w) : unit_read(walk_txn, w), 0);
		assert_true(++slices < 100);
	}
	assert_int_equal(w->bad, 0);
}

struct check {
	int rc;
	struct totp_rec t[3];
	struct push_device d;
	struct outbox_msg *m;
	uint8_t *doc;
	size_t doc_len;
};

static int check_txn(struct store_txn *txn, void *arg)
{
	struct check *c = arg;
	uint8_t id[AUTHD_ID_LEN];
	int rc = 0;

	for (int i = 0; i < 3 && rc == 0; i++) {
		id_of(id, 0xa0, i);
		rc = store_totp_get(txn, id, &c->t[i]);
	}
	id_of(id, 0xd0, 1);
	if (rc == 0)
		rc = store_device_get(txn, id, &c->d);
	id_of(id, 0xc0, 2);
	if (rc == 0)
		rc = store_outbox_get(txn, id, c->m);
	id_of(id, 0xf0, 0);
	if (rc == 0)
		rc = store_doc_get(txn, id, 1, &c->doc, &c->doc_len);
	return rc;
}

static void test_walk_reseals_each_once(void **state)
{
	struct walk w;
	struct check c;

	(void)state;
	assert_int_equal(unit_write(fill_txn, NULL), 0);
	/* A read walk sees every sealed value once, all of generation 1,
	 * whatever the slice. */
	for (size_t limit = 1; limit <= 20; limit += 6) {
		walk_all(&w, limit, false, false);
		assert_int_equal(w.total, N_SEALS);
		assert_int_equal(w.seen[STORE_SEAL_TOTP], 4);
		assert_int_equal(w.seen[STORE_SEAL_DEVICE], N_DEVICES);
		assert_int_equal(w.seen[STORE_SEAL_OUTBOX], N_MSGS - 1);
		assert_int_equal(w.seen[STORE_SEAL_DOC], N_DOCS);
		assert_int_equal(w.by_gen[1], N_SEALS);
	}
	/* Resealing in slices of two: every value once. */
	walk_all(&w, 2, true, true);
	assert_int_equal(w.total, N_SEALS);
	assert_int_equal(w.by_gen[1], N_SEALS);
	/* ...and written back: a second walk finds generation 2 only. */
	walk_all(&w, 7, false, false);
	assert_int_equal(w.by_gen[2], N_SEALS);
	assert_int_equal(w.by_gen[1], 0);

	/* The records kept everything else. */
	memset(&c, 0, sizeof(c));
	c.m = calloc(1, sizeof(*c.m));
	assert_non_null(c.m);
	assert_int_equal(unit_read(check_txn, &c), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(c.t[i].enabled);
		assert_int_equal(c.t[i].last_step, 1000 + i);
		assert_int_equal(c.t[i].seed[0], 2);
		assert_int_equal(c.t[i].seed[1], 0x30 + i);
		assert_int_equal(c.t[i].seed[c.t[i].seed_len - 1], (0x30 + i) ^ 0xff);
	}
	assert_int_equal(c.t[1].pending_seed[0], 2);
	assert_int_equal(c.t[1].pending_expires_at, 5000);
	assert_int_equal(c.t[0].pending_seed_len, 0);
	assert_int_equal(c.d.seed[0], 2);
	assert_int_equal(c.d.seed[1], 0x61);
	assert_string_equal(c.d.name, "phone 1");
	assert_int_equal(c.m->state, OUTBOX_PENDING);
	assert_int_equal(c.m->next_at, 202);
	assert_int_equal(c.m->sealed_len, 102);
	assert_int_equal(c.m->sealed[0], 2);
	assert_int_equal(c.doc_len, 64);
	assert_int_equal(c.doc[0], 2);
	assert_int_equal(c.doc[1], 0x81);
	free(c.doc);
	free(c.m);
}

/* An empty store: the walk ends at once. */
static void test_walk_empty(void **state)
{
	struct walk w;

	(void)state;
	walk_all(&w, 5, true, true);
	assert_int_equal(w.total, 0);
	assert_true(w.pos.done);
}

struct setting {
	const char *name;
	uint64_t value;
};

static int setting_put_txn(struct store_txn *txn, void *arg)
{
	const struct setting *s = arg;

	return store_setting_put(txn, s->name, s->value);
}

static int setting_get_txn(struct store_txn *txn, void *arg)
{
	struct setting *s = arg;

	return store_setting_get(txn, s->name, &s->value);
}

struct listed {
	int n;
	char name[4][64];
	uint64_t value[4];
};

static int listed_one(void *arg, const char *name, uint64_t value)
{
	struct listed *l = arg;

	if (l->n < 4) {
		snprintf(l->name[l->n], sizeof(l->name[0]), "%s", name);
		l->value[l->n] = value;
	}
	l->n++;
	return 0;
}

static int settings_list_txn(struct store_txn *txn, void *arg)
{
	struct listed *l = arg;

	l->n = 0;
	return store_settings_list(txn, "sealing:", listed_one, l);
}

static void test_settings(void **state)
{
	struct setting s = {"seal_generation", 77};

	(void)state;
	assert_int_equal(unit_read(setting_get_txn, &s), 0);
	assert_int_equal(s.value, 0); /* never put */
	s.value = 3;
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	s.value = 0xfedcba9876543210ull; /* all 64 bits, the top one too */
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	s.value = 0;
	assert_int_equal(unit_read(setting_get_txn, &s), 0);
	assert_true(s.value == 0xfedcba9876543210ull);
	s.value = 9;
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	s.value = 0;
	assert_int_equal(unit_read(setting_get_txn, &s), 0);
	assert_int_equal(s.value, 9);
	s.name = "other";
	assert_int_equal(unit_read(setting_get_txn, &s), 0);
	assert_int_equal(s.value, 0);
	/* Listed by prefix, in name order, and only those. */
	s = (struct setting){"sealing:node-b", 2};
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	s = (struct setting){"sealing:node-a", 1};
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	s = (struct setting){"sealinG", 5};
	assert_int_equal(unit_write(setting_put_txn, &s), 0);
	{
		struct listed l = {0};

		assert_int_equal(unit_read(settings_list_txn, &l), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.name[0], "sealing:node-a");
		assert_int_equal(l.value[0], 1);
		assert_string_equal(l.name[1], "sealing:node-b");
		assert_int_equal(l.value[1], 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_walk_reseals_each_once, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_walk_empty, unit_setup, unit_teardown),
	    cmocka_unit_test_setup_teardown(test_settings, unit_setup, unit_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
