/*
 * authd export / authd import: moving an install from one engine to the
 * other (a single-node LMDB to PostgreSQL). Export walks every record that
 * moves (store_walk) into a file of JSON lines, one record a line, created
 * 0600; import writes them into an empty store, a few hundred a
 * transaction. Secrets stay as stored: password hashes, sealed TOTP seeds
 * (sealed with the key file, which goes along unchanged), backup-code
 * hashes, devices' public keys. Sessions, pending logins and device link
 * offers do not move: people log in again.
 *
 * The file's first line says what it is: {"authd_export":1,...}.
 */
#include "transfer.h"

#include "http.h" /* json_wipe_decref */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <log.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <util.h>

#define EXPORT_VERSION 1
#define IMPORT_BATCH   256

/* --- waiting for one job (no event loop here) --------------------------------------- */

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wait_cond = PTHREAD_COND_INITIALIZER;
static bool job_finished;

static void wait_done(struct job *job)
{
	(void)job;
	pthread_mutex_lock(&wait_lock);
	job_finished = true;
	pthread_cond_signal(&wait_cond);
	pthread_mutex_unlock(&wait_lock);
}

/* The store's completion function in these commands: done() at once, on
 * the store's thread. */
void transfer_complete(struct job *job)
{
	job->done(job);
}

static int run_and_wait(struct job *job, bool write)
{
	pthread_mutex_lock(&wait_lock);
	job_finished = false;
	pthread_mutex_unlock(&wait_lock);
	job->done = wait_done;
	if (write)
		store_write(job);
	else
		store_read(job);
	pthread_mutex_lock(&wait_lock);
	while (!job_finished)
		pthread_cond_wait(&wait_cond, &wait_lock);
	pthread_mutex_unlock(&wait_lock);
	return job->store_rc;
}

/* --- encoding ---------------------------------------------------------------------- */

static json_t *hex(const uint8_t *p, size_t n)
{
	char buf[2 * 128 + 1];

	if (n > 128)
		return NULL;
	authd_hex(p, n, buf);
	return json_string(buf);
}

/* Decodes the hex string field name of obj into exactly n bytes. */
static int unhex_field(json_t *obj, const char *name, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(obj, name));

	return s ? authd_unhex(s, strlen(s), out, n) : -1;
}

/* Decodes a hex field of at most max bytes; its length into *len. */
static int unhex_var(json_t *obj, const char *name, uint8_t *out, size_t max, uint8_t *len)
{
	const char *s = json_string_value(json_object_get(obj, name));
	size_t n = s ? strlen(s) : 0;

	if (s == NULL || n % 2 || n / 2 > max)
		return -1;
	*len = (uint8_t)(n / 2);
	return n ? authd_unhex(s, n, out, n / 2) : 0;
}

static int64_t num(json_t *obj, const char *name, bool *ok)
{
	json_t *v = json_object_get(obj, name);

	if (!json_is_integer(v))
		*ok = false;
	return v ? (int64_t)json_integer_value(v) : 0;
}

/* An integer field within [lo, hi]. */
static int64_t num_in(json_t *obj, const char *name, int64_t lo, int64_t hi, bool *ok)
{
	int64_t v = num(obj, name, ok);

	if (v < lo || v > hi)
		*ok = false;
	return v;
}

static const char *str(json_t *obj, const char *name, size_t max, bool *ok)
{
	const char *s = json_string_value(json_object_get(obj, name));

	if (s == NULL || strlen(s) > max) {
		*ok = false;
		return "";
	}
	return s;
}

/* --- export ----------------------------------------------------------------------- */

struct export_ctx {
	FILE *out;
	unsigned long counts[8];
	bool failed;
};

/* Writes obj as one line and drops it (wiping its strings: hashes). */
static int emit(struct export_ctx *x, json_t *obj, int kind)
{
	char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	int rc = 0;

	if (line == NULL || fprintf(x->out, "%s\n", line) < 0) {
		x->failed = true;
		rc = STORE_E_IO;
	} else {
		x->counts[kind]++;
	}
	authd_strfreezero(line);
	json_wipe_decref(obj);
	return rc;
}

static int ex_org(void *arg, const struct org *o)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:s, s:I}", "type", "org", "id", hex(o->id, AUTHD_ID_LEN),
			      "name", o->name, "created_at", (json_int_t)o->created_at),
		    0);
}

static int ex_account(void *arg, const struct account *a)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:I, s:I}", "type", "account", "id",
			      hex(a->id, AUTHD_ID_LEN), "org_id", hex(a->org_id, AUTHD_ID_LEN),
			      "email", a->email, "name", a->name, "pw_hash", a->pw_hash,
			      "created_at", (json_int_t)a->created_at, "password_changed_at",
			      (json_int_t)a->password_changed_at),
		    1);
}

static int ex_member(void *arg, const struct member *m)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:o, s:s, s:i, s:i, s:I}", "type", "member", "org_id",
			      hex(m->org_id, AUTHD_ID_LEN), "account_id",
			      hex(m->account_id, AUTHD_ID_LEN), "role", core_role_name(m->role),
			      "rights", (int)m->rights, "contacts", (int)m->contacts, "since",
			      (json_int_t)m->since),
		    2);
}

static int ex_totp(void *arg, const uint8_t account_id[AUTHD_ID_LEN], const struct totp_rec *t)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:b, s:i, s:i, s:i, s:I, s:I, s:o, s:o, s:I, s:o}",
			      "type", "totp", "account_id", hex(account_id, AUTHD_ID_LEN),
			      "enabled", t->enabled, "alg", t->alg, "digits", t->digits, "period",
			      t->period, "last_step", (json_int_t)t->last_step, "enabled_at",
			      (json_int_t)t->enabled_at, "seed_sealed", hex(t->seed, t->seed_len),
			      "pending_id", hex(t->pending_id, AUTHD_ID_LEN), "pending_expires_at",
			      (json_int_t)t->pending_expires_at, "pending_seed_sealed",
			      hex(t->pending_seed, t->pending_seed_len)),
		    3);
}

static int ex_backup(void *arg, const uint8_t account_id[AUTHD_ID_LEN], const struct backup_rec *b)
{
	json_t *codes = json_array();

	for (int i = 0; codes && i < OTP_BACKUP_COUNT; i++)
		json_array_append_new(codes, json_pack("{s:o, s:o, s:I}", "salt",
						       hex(b->salt[i], OTP_BACKUP_SALT_LEN), "hash",
						       hex(b->hash[i], OTP_BACKUP_HASH_LEN),
						       "used_at", (json_int_t)b->used_at[i]));
	return emit(arg,
		    json_pack("{s:s, s:o, s:I, s:o}", "type", "backup", "account_id",
			      hex(account_id, AUTHD_ID_LEN), "created_at",
			      (json_int_t)b->created_at, "codes", codes),
		    4);
}

static int ex_throttle(void *arg, const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r)
{
	json_t *ring = json_array();

	for (unsigned i = 0; ring && i < r->count; i++)
		json_array_append_new(ring, json_integer(r->ring[i]));
	return emit(arg,
		    json_pack("{s:s, s:o, s:I, s:I, s:i, s:o}", "type", "throttle", "subject",
			      hex(key, THROTTLE_KEY_LEN), "consecutive", (json_int_t)r->consecutive,
			      "last_failure", (json_int_t)r->last_failure, "pos", r->pos, "ring",
			      ring),
		    5);
}

static int ex_event(void *arg, const struct security_event *e)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:I, s:s, s:s, s:s, s:s, s:s}", "type", "event",
			      "account_id", hex(e->account_id, AUTHD_ID_LEN), "at",
			      (json_int_t)e->at, "kind",
			      core_event_name((enum security_event_kind)e->kind), "ip", e->ip,
			      "method", core_event_method_name((enum event_method)e->method),
			      "outcome", core_event_outcome_name((enum event_outcome)e->outcome),
			      "browser", e->browser),
		    6);
}

static int ex_device(void *arg, const struct push_device *d)
{
	return emit(arg,
		    json_pack("{s:s, s:o, s:o, s:o, s:s, s:I, s:I, s:s, s:s, s:o, s:I, s:s}",
			      "type", "device", "id", hex(d->id, AUTHD_ID_LEN), "account_id",
			      hex(d->account_id, AUTHD_ID_LEN), "public_key",
			      hex(d->public_key, MP_KEY_LEN), "name", d->name, "created_at",
			      (json_int_t)d->created_at, "last_seen", (json_int_t)d->last_seen,
			      "last_ip", d->last_ip, "last_location", d->last_location,
			      "seed_sealed", hex(d->seed, d->seed_len), "last_step",
			      (json_int_t)d->last_step, "wake_token", d->wake_token),
		    7);
}

struct export_job {
	struct job job;
	struct export_ctx *x;
};

static int export_txn(struct job *job, struct store_txn *txn)
{
	static const struct store_visitor v = {
	    .account = ex_account,
	    .org = ex_org,
	    .member = ex_member,
	    .totp = ex_totp,
	    .backup = ex_backup,
	    .device = ex_device,
	    .throttle = ex_throttle,
	    .event = ex_event,
	};
	struct export_job *j = (struct export_job *)job;

	return store_walk(txn, &v, j->x);
}

int transfer_export(const char *path, const char *engine)
{
	struct export_ctx x = {0};
	struct export_job j = {{0}, &x};
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		log_err("cannot create %.256s: %s (it must not exist)", path, strerror(errno));
		return -1;
	}
	x.out = fdopen(fd, "w");
	if (x.out == NULL) {
		close(fd);
		return -1;
	}
	fprintf(x.out, "{\"authd_export\":%d,\"from\":\"%s\",\"created_at\":%lld}\n",
		EXPORT_VERSION, engine, (long long)authd_now());
	j.job.txn_work = export_txn;
	rc = run_and_wait(&j.job, false);
	if (fflush(x.out) != 0 || fsync(fileno(x.out)) != 0)
		x.failed = true;
	fclose(x.out);
	if (rc != 0 || x.failed) {
		log_err("export failed (store error %d); removing %.256s", rc, path);
		unlink(path);
		return -1;
	}
	log_info("exported %lu organizations, %lu accounts, %lu memberships, %lu totp "
		 "credentials, %lu backup-code sets, %lu devices, %lu throttle histories, %lu "
		 "security events to %.256s",
		 x.counts[0], x.counts[1], x.counts[2], x.counts[3], x.counts[4], x.counts[7],
		 x.counts[5], x.counts[6], path);
	return 0;
}

/* --- import ----------------------------------------------------------------------- */

struct import_job {
	struct job job;
	json_t *batch[IMPORT_BATCH];
	size_t n;
};

static int put_record(struct store_txn *txn, json_t *obj)
{
	const char *type = json_string_value(json_object_get(obj, "type"));
	bool ok = true;
	int rc;

	if (type == NULL)
		return STORE_E_CORRUPT;
	if (strcmp(type, "org") == 0) {
		struct org o = {0};

		ok = unhex_field(obj, "id", o.id, AUTHD_ID_LEN) == 0;
		snprintf(o.name, sizeof(o.name), "%s", str(obj, "name", NAME_MAX_B, &ok));
		o.created_at = num(obj, "created_at", &ok);
		return ok ? store_org_put(txn, &o) : STORE_E_CORRUPT;
	}
	if (strcmp(type, "account") == 0) {
		struct account a = {0};

		const char *email;
		char norm[EMAIL_MAX + 1];
		uint8_t other[AUTHD_ID_LEN];

		ok = unhex_field(obj, "id", a.id, AUTHD_ID_LEN) == 0 &&
		     unhex_field(obj, "org_id", a.org_id, AUTHD_ID_LEN) == 0;
		email = str(obj, "email", EMAIL_MAX, &ok);
		/* As authd files emails (normalized), and one account each. */
		if (authd_email_normalize(email, strlen(email), norm) != 0 ||
		    strcmp(norm, email) != 0)
			ok = false;
		if (ok && (rc = store_account_by_email(txn, email, other)) != STORE_E_NOTFOUND)
			return rc == 0 && memcmp(other, a.id, AUTHD_ID_LEN) != 0 ? STORE_E_CORRUPT
										 : rc;
		snprintf(a.email, sizeof(a.email), "%s", email);
		snprintf(a.name, sizeof(a.name), "%s", str(obj, "name", NAME_MAX_B, &ok));
		snprintf(a.pw_hash, sizeof(a.pw_hash), "%s",
			 str(obj, "pw_hash", PW_HASH_MAX - 1, &ok));
		a.created_at = num(obj, "created_at", &ok);
		a.password_changed_at = num(obj, "password_changed_at", &ok);
		rc = ok ? store_account_put(txn, &a) : STORE_E_CORRUPT;
		OPENSSL_cleanse(&a, sizeof(a));
		return rc;
	}
	if (strcmp(type, "member") == 0) {
		struct member m = {.role = core_role_parse(str(obj, "role", 64, &ok))};
		/* Exports of before rights and contact preferences have none. */
		json_int_t rights = json_integer_value(json_object_get(obj, "rights"));
		json_int_t contacts = json_integer_value(json_object_get(obj, "contacts"));

		m.since = (int64_t)json_integer_value(json_object_get(obj, "since"));
		if (unhex_field(obj, "org_id", m.org_id, AUTHD_ID_LEN) != 0 ||
		    unhex_field(obj, "account_id", m.account_id, AUTHD_ID_LEN) != 0 ||
		    m.role == 0 || !ok || rights < 0 || rights > UINT16_MAX || contacts < 0 ||
		    contacts > CONTACT__ALL)
			return STORE_E_CORRUPT;
		m.rights = (unsigned)rights;
		m.contacts = (unsigned)contacts;
		return store_member_put(txn, &m);
	}
	if (strcmp(type, "totp") == 0) {
		struct totp_rec t = {0};
		uint8_t account_id[AUTHD_ID_LEN];

		ok = unhex_field(obj, "account_id", account_id, AUTHD_ID_LEN) == 0 &&
		     unhex_var(obj, "seed_sealed", t.seed, SEALED_SEED_MAX, &t.seed_len) == 0 &&
		     unhex_field(obj, "pending_id", t.pending_id, AUTHD_ID_LEN) == 0 &&
		     unhex_var(obj, "pending_seed_sealed", t.pending_seed, SEALED_SEED_MAX,
			       &t.pending_seed_len) == 0;
		t.enabled = json_is_true(json_object_get(obj, "enabled"));
		t.alg = (uint8_t)num_in(obj, "alg", OTP_ALG_SHA1, OTP_ALG_SHA512, &ok);
		t.digits = (uint8_t)num_in(obj, "digits", OTP_DIGITS_MIN, OTP_DIGITS_MAX, &ok);
		t.period = (uint8_t)num_in(obj, "period", 1, 255, &ok);
		/* A sealed seed holds at least a 128-bit key; an enabled
		 * credential has one. */
		if ((t.enabled && t.seed_len < SEAL_OVERHEAD + 16) ||
		    (t.seed_len && t.seed_len < SEAL_OVERHEAD + 16) ||
		    (t.pending_seed_len && t.pending_seed_len < SEAL_OVERHEAD + 16))
			ok = false;
		t.last_step = num(obj, "last_step", &ok);
		t.enabled_at = num(obj, "enabled_at", &ok);
		t.pending_expires_at = num(obj, "pending_expires_at", &ok);
		rc = ok ? store_totp_put(txn, account_id, &t) : STORE_E_CORRUPT;
		OPENSSL_cleanse(&t, sizeof(t));
		return rc;
	}
	if (strcmp(type, "backup") == 0) {
		struct backup_rec b = {0};
		uint8_t account_id[AUTHD_ID_LEN];
		json_t *codes = json_object_get(obj, "codes");

		ok = unhex_field(obj, "account_id", account_id, AUTHD_ID_LEN) == 0 &&
		     json_array_size(codes) == OTP_BACKUP_COUNT;
		b.created_at = num(obj, "created_at", &ok);
		for (size_t i = 0; ok && i < OTP_BACKUP_COUNT; i++) {
			json_t *c = json_array_get(codes, i);

			ok = unhex_field(c, "salt", b.salt[i], OTP_BACKUP_SALT_LEN) == 0 &&
			     unhex_field(c, "hash", b.hash[i], OTP_BACKUP_HASH_LEN) == 0;
			b.used_at[i] = num(c, "used_at", &ok);
		}
		rc = ok ? store_backup_put(txn, account_id, &b) : STORE_E_CORRUPT;
		OPENSSL_cleanse(&b, sizeof(b));
		return rc;
	}
	if (strcmp(type, "device") == 0) {
		struct push_device d = {0};

		ok = unhex_field(obj, "id", d.id, AUTHD_ID_LEN) == 0 &&
		     unhex_field(obj, "account_id", d.account_id, AUTHD_ID_LEN) == 0 &&
		     unhex_field(obj, "public_key", d.public_key, MP_KEY_LEN) == 0 &&
		     unhex_var(obj, "seed_sealed", d.seed, SEALED_SEED_MAX, &d.seed_len) == 0 &&
		     d.seed_len >= SEAL_OVERHEAD + 16;
		snprintf(d.name, sizeof(d.name), "%s", str(obj, "name", PUSH_NAME_MAX, &ok));
		if (!push_name_ok(d.name))
			ok = false;
		d.created_at = num(obj, "created_at", &ok);
		d.last_seen = num(obj, "last_seen", &ok);
		snprintf(d.last_ip, sizeof(d.last_ip), "%s",
			 str(obj, "last_ip", EVENT_IP_MAX, &ok));
		snprintf(d.last_location, sizeof(d.last_location), "%s",
			 str(obj, "last_location", PUSH_LOCATION_MAX, &ok));
		d.last_step = num(obj, "last_step", &ok);
		/* Absent in exports from before wake tokens. */
		if (json_object_get(obj, "wake_token"))
			snprintf(d.wake_token, sizeof(d.wake_token), "%s",
				 str(obj, "wake_token", MP_WAKE_TOKEN_MAX, &ok));
		rc = ok ? store_device_put(txn, &d) : STORE_E_CORRUPT;
		OPENSSL_cleanse(&d, sizeof(d));
		return rc;
	}
	if (strcmp(type, "throttle") == 0) {
		struct throttle_rec r = {0};
		uint8_t key[THROTTLE_KEY_LEN];
		json_t *ring = json_object_get(obj, "ring");

		ok = unhex_field(obj, "subject", key, THROTTLE_KEY_LEN) == 0 &&
		     json_array_size(ring) <= THROTTLE_RING;
		r.consecutive = (uint32_t)num_in(obj, "consecutive", 0, UINT32_MAX, &ok);
		r.last_failure = num(obj, "last_failure", &ok);
		r.pos = (uint8_t)num_in(obj, "pos", 0, THROTTLE_RING - 1, &ok);
		r.count = (uint8_t)json_array_size(ring);
		for (size_t i = 0; ok && i < r.count; i++) {
			json_t *at = json_array_get(ring, i);

			if (!json_is_integer(at))
				ok = false;
			r.ring[i] = (int64_t)json_integer_value(at);
		}
		/* A ring not yet full is written from its start. */
		if (r.count < THROTTLE_RING && r.pos != r.count)
			ok = false;
		return ok ? store_throttle_put(txn, key, &r) : STORE_E_CORRUPT;
	}
	if (strcmp(type, "event") == 0) {
		struct security_event e = {0};

		ok = unhex_field(obj, "account_id", e.account_id, AUTHD_ID_LEN) == 0;
		e.at = num(obj, "at", &ok);
		e.kind = (uint16_t)core_event_parse(str(obj, "kind", 64, &ok));
		snprintf(e.ip, sizeof(e.ip), "%s", str(obj, "ip", EVENT_IP_MAX, &ok));
		/* Method, outcome and browser: absent from exports made before
		 * sign-ins were events. */
		if (json_object_get(obj, "method")) {
			const char *m = str(obj, "method", 32, &ok),
				   *o = str(obj, "outcome", 32, &ok);

			e.method = (uint8_t)core_event_method_parse(m);
			e.outcome = (uint8_t)core_event_outcome_parse(o);
			ok = ok && (m[0] == '\0' || e.method) && (o[0] == '\0' || e.outcome);
			snprintf(e.browser, sizeof(e.browser), "%s",
				 str(obj, "browser", EVENT_BROWSER_MAX, &ok));
		}
		return ok && e.kind ? store_event_add(txn, &e) : STORE_E_CORRUPT;
	}
	return STORE_E_CORRUPT;
}

static int import_txn(struct job *job, struct store_txn *txn)
{
	struct import_job *j = (struct import_job *)job;
	int rc;

	for (size_t i = 0; i < j->n; i++)
		if ((rc = put_record(txn, j->batch[i])) != 0)
			return rc;
	return 0;
}

static void batch_clear(struct import_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		json_wipe_decref(j->batch[i]);
	j->n = 0;
}

int transfer_import(const char *path)
{
	struct import_job *j = calloc(1, sizeof(*j));
	FILE *in = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lines = 0, records = 0;
	bool empty = false, header = false;
	int rc = -1;

	if (j == NULL || in == NULL) {
		log_err("cannot read %.256s: %s", path, strerror(errno));
		goto out;
	}
	if (store_is_empty(&empty) != 0 || !empty) {
		log_err("the target store is not empty: import goes into a new store only");
		goto out;
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		json_t *obj = json_loadb(line, (size_t)len, 0, NULL);

		lines++;
		if (!json_is_object(obj)) {
			log_err("%.256s:%lu: not a JSON object", path, lines);
			json_decref(obj);
			goto out;
		}
		if (!header) {
			header = true;
			if (json_integer_value(json_object_get(obj, "authd_export")) !=
			    EXPORT_VERSION) {
				log_err("%.256s is not an authd export of version %d", path,
					EXPORT_VERSION);
				json_decref(obj);
				goto out;
			}
			json_decref(obj);
			continue;
		}
		j->batch[j->n++] = obj;
		if (j->n == IMPORT_BATCH) {
			j->job.txn_work = import_txn;
			if (run_and_wait(&j->job, true) != 0) {
				log_err("%.256s: a record before line %lu does not import (store "
					"error %d)",
					path, lines + 1, j->job.store_rc);
				goto out;
			}
			records += j->n;
			batch_clear(j);
		}
	}
	if (!header) {
		log_err("%.256s is empty", path);
		goto out;
	}
	if (j->n) {
		j->job.txn_work = import_txn;
		if (run_and_wait(&j->job, true) != 0) {
			log_err(
			    "%.256s: a record of the last batch does not import (store error %d)",
			    path, j->job.store_rc);
			goto out;
		}
		records += j->n;
	}
	log_info("imported %lu records from %.256s", records, path);
	rc = 0;
out:
	if (j) {
		batch_clear(j);
		free(j);
	}
	if (line)
		authd_freezero(line, cap);
	if (in)
		fclose(in);
	return rc;
}
