/*
 * Authenticator devices under /1/me/devices: offering a link (a one-time
 * linking URI and its QR code, which the device completes over its channel,
 * ws_device.c), listing the linked devices, reading one (the console asks
 * it to learn that its link completed) and removing one (its key is deleted
 * and its open channel closed).
 */
#include "http.h"

#include "cluster.h"
#include "factors.h"
#include "flow.h"
#include "server.h"
#include "sms.h"
#include "ws_device.h"

#include <log.h>
#include <mp.h>
#include <push.h>
#include <store.h>

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum device_op { OP_LINK, OP_LIST, OP_GET, OP_DELETE };

struct device_job {
	struct flow f;
	enum device_op op;
	uint8_t device_id[AUTHD_ID_LEN]; /* get and delete */
	/* list and get: what the read found */
	struct push_device found[PUSH_DEVICES_MAX];
	unsigned n_found;
	bool overflow; /* more than PUSH_DEVICES_MAX (never, unless written elsewhere) */
	/* link: the offer, its secret and the plain seed for the URI */
	char email[EMAIL_MAX + 1];
	struct push_link link;
	struct token_ref ref;
	uint8_t secret[MP_SECRET_LEN];
	uint8_t seed[PUSH_SEED_LEN];
	/* link: backup codes, when this device will be the first factor */
	char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1];
	struct backup_rec backup;
	bool codes_fresh;
};

static int collect(void *arg, const struct push_device *d)
{
	struct device_job *j = arg;

	if (j->n_found == PUSH_DEVICES_MAX) {
		j->overflow = true;
		return 0;
	}
	j->found[j->n_found++] = *d;
	return 0;
}

/* Reads the account's devices (all of them, or the one asked for). */
static int devices_read(struct flow *f, struct store_txn *txn)
{
	struct device_job *j = (struct device_job *)f;
	struct account a;
	int rc;

	j->n_found = 0;
	j->overflow = false;
	if (j->op == OP_GET) {
		rc = store_device_get(txn, j->device_id, &j->found[0]);
		if (rc == STORE_E_NOTFOUND ||
		    (rc == 0 &&
		     memcmp(j->found[0].account_id, f->session.account_id, AUTHD_ID_LEN) != 0)) {
			f->err = E_DEVICE_NOT_FOUND; /* another account's is not there either */
			return 0;
		}
		j->n_found = rc == 0;
		return rc;
	}
	if ((rc = store_devices_list(txn, f->session.account_id, collect, j)) != 0)
		return rc;
	if (j->op != OP_LINK)
		return 0;
	/* The offer's otpauth URI names the account by its email. */
	if ((rc = store_account_get(txn, f->session.account_id, &a)) == STORE_E_NOTFOUND) {
		f->err = E_UNAUTHENTICATED;
		return 0;
	}
	if (rc == 0)
		memcpy(j->email, a.email, sizeof(j->email));
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}

static json_t *device_json(const struct push_device *d)
{
	char id[AUTHD_ID_HEX + 1], created[21], seen[21];

	authd_hex(d->id, AUTHD_ID_LEN, id);
	authd_time_str(d->created_at, created);
	authd_time_str(d->last_seen, seen);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "id", id, "name", d->name,
			 "created_at", created, "last_seen", d->last_seen ? seen : NULL, "last_ip",
			 d->last_ip[0] ? d->last_ip : NULL, "last_location",
			 d->last_location[0] ? d->last_location : NULL);
}

static void devices_reply(struct flow *f, struct req *r)
{
	struct device_job *j = (struct device_job *)f;
	json_t *list;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (j->op == OP_GET) {
		reply_json(r, 200, device_json(&j->found[0]));
		return;
	}
	list = json_array();
	for (unsigned i = 0; list && i < j->n_found; i++)
		if (json_array_append_new(list, device_json(&j->found[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	if (list == NULL) {
		reply_error(r, E_OVERLOADED);
		return;
	}
	reply_json(r, 200, json_pack("{s:o}", "devices", list));
}

static void devices_release(struct flow *f)
{
	struct device_job *j = (struct device_job *)f;

	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static struct device_job *device_job_new(struct req *r, enum device_op op)
{
	struct device_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		reply_error(r, E_OVERLOADED);
		return NULL;
	}
	j->op = op;
	return j;
}

/* The {id} of /1/me/devices/{id} into j, or false after replying. */
static bool device_id_or_reply(struct req *r, struct device_job *j)
{
	if (authd_unhex(r->param, strlen(r->param), j->device_id, AUTHD_ID_LEN) != 0) {
		reply_error(r, E_DEVICE_NOT_FOUND);
		return false;
	}
	return true;
}

/* --- POST /1/me/devices: a link offer ------------------------------------------- */

/* On the loop, after the read: draws the offer (the device cap is checked
 * here and again when the device completes it). */
static bool link_check(struct flow *f, struct req *r)
{
	struct device_job *j = (struct device_job *)f;
	uint8_t rnd[PUSH_LINK_RANDOM];
	int rc;

	authd_random(rnd, sizeof(rnd));
	rc = push_link_new(&j->link, j->secret, j->seed, f->session.account_id,
			   j->n_found + j->overflow, rnd, factor_keys(), f->now);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (rc == PUSH_E_TOO_MANY) {
		reply_error(r, E_TOO_MANY_DEVICES);
		return false;
	}
	if (rc != 0) {
		reply_error(r, E_INTERNAL);
		return false;
	}
	push_link_ref(j->secret, &j->ref);
	return true;
}

/*
 * The offer; and when the device will be the account's first second
 * factor (no TOTP, device or SMS yet) and no unused backup codes are
 * there, the 10 backup codes, shown once with the offer: turning 2FA on
 * shows them, whichever factor does it.
 */
static int link_write(struct flow *f, struct store_txn *txn)
{
	struct device_job *j = (struct device_job *)f;
	const uint8_t *id = f->session.account_id;
	struct backup_rec b;
	bool other, sms;
	int rc;

	j->codes_fresh = false;
	if ((rc = store_link_put(txn, &j->ref, &j->link)) != 0 ||
	    (rc = sms_other_factor(txn, id, &other)) != 0 || (rc = sms_is_on(txn, id, &sms)) != 0)
		return rc;
	if (other || sms)
		return 0;
	rc = store_backup_get(txn, id, &b);
	if (rc != 0 && rc != STORE_E_NOTFOUND)
		return rc;
	j->codes_fresh = rc == STORE_E_NOTFOUND || backup_remaining(&b) == 0;
	OPENSSL_cleanse(&b, sizeof(b));
	return j->codes_fresh ? store_backup_put(txn, id, &j->backup) : 0;
}

static void link_reply(struct flow *f, struct req *r)
{
	struct device_job *j = (struct device_job *)f;
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	struct mp_link_uri u;
	char uri[MP_LINK_URI_MAX + 1];
	char id[AUTHD_ID_HEX + 1], expires[21];
	char *otpauth = NULL, *svg = NULL;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	memset(&u, 0, sizeof(u));
	snprintf(u.server, sizeof(u.server), "%s", server_public_url());
	memcpy(u.secret, j->secret, MP_SECRET_LEN);
	if (otp_uri_build(srv.cfg.issuer, j->email, j->seed, sizeof(j->seed), &p, &otpauth) != 0 ||
	    strlen(otpauth) >= sizeof(u.otpauth)) {
		reply_error(r, E_INTERNAL);
		goto out;
	}
	memcpy(u.otpauth, otpauth, strlen(otpauth) + 1);
	if (mp_link_uri_build(&u, uri, sizeof(uri)) != 0 || otp_qr_svg(uri, &svg) != 0) {
		reply_error(r, E_INTERNAL);
		goto out;
	}
	authd_hex(j->link.device_id, AUTHD_ID_LEN, id);
	authd_time_str(j->link.expires_at, expires);
	json_t *body =
	    json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "link_uri", uri, "qr_svg", svg,
		      "expires_at", expires, "expires_in", (json_int_t)PUSH_LINK_TTL);

	if (body && j->codes_fresh)
		json_object_set_new(body, "backup_codes", factor_backup_json(j->codes));
	reply_json(r, 201, body);
	{
		char aid[AUTHD_ID_HEX + 1];

		authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
		log_info("device link offered account=%s device=%s req=%llu", aid, id,
			 (unsigned long long)r->id);
	}
out:
	OPENSSL_cleanse(&u, sizeof(u));
	OPENSSL_cleanse(uri, sizeof(uri));
	authd_strfreezero(otpauth);
	authd_strfreezero(svg);
}

static const struct flow_ops link_ops = {
    .read = devices_read,
    .check = link_check,
    .write = link_write,
    .reply = link_reply,
    .release = devices_release,
};

void http_devices_link(struct req *r)
{
	json_t *body = json_body_or_reply(r, NULL, 0);
	struct device_job *j;

	if (body == NULL)
		return;
	json_decref(body);
	if ((j = device_job_new(r, OP_LINK)) == NULL)
		return;
	if (factor_backup_fresh(&j->backup, j->codes, authd_now()) != 0) {
		reply_error(r, E_INTERNAL);
		devices_release(&j->f);
		return;
	}
	flow_start(&j->f, &link_ops, r);
}

/* --- GET /1/me/devices, GET /1/me/devices/{id} ------------------------------------- */

static const struct flow_ops read_ops = {
    .read = devices_read,
    .reply = devices_reply,
    .release = devices_release,
};

void http_devices_list(struct req *r)
{
	struct device_job *j = device_job_new(r, OP_LIST);

	if (j)
		flow_start(&j->f, &read_ops, r);
}

void http_device_get(struct req *r)
{
	struct device_job *j = device_job_new(r, OP_GET);

	if (j == NULL)
		return;
	if (!device_id_or_reply(r, j)) {
		devices_release(&j->f);
		return;
	}
	flow_start(&j->f, &read_ops, r);
}

/* --- DELETE /1/me/devices/{id} ------------------------------------------------------ */

static int delete_write(struct flow *f, struct store_txn *txn)
{
	struct device_job *j = (struct device_job *)f;
	const uint8_t *id = f->session.account_id;
	struct cluster_event e = {.kind = CLUSTER_REVOKED};
	int rc = store_device_del(txn, id, j->device_id);

	if (rc == STORE_E_NOTFOUND) {
		f->err = E_DEVICE_NOT_FOUND;
		return 0;
	}
	memcpy(e.account_id, id, AUTHD_ID_LEN);
	memcpy(e.id, j->device_id, AUTHD_ID_LEN);
	if (rc != 0 || (rc = cluster_publish(txn, &e)) != 0)
		return rc;
	return factor_event(txn, id, EVENT_DEVICE_REMOVED, f->now, f->ip);
}

/* Once the deletion is durable, the device's channel ends: here now, on
 * other nodes when they hear the note. */
static void delete_written(struct flow *f)
{
	struct device_job *j = (struct device_job *)f;

	if (f->job.store_rc == 0 && f->err == E_OK)
		ws_device_revoked(j->device_id);
}

static void delete_reply(struct flow *f, struct req *r)
{
	struct device_job *j = (struct device_job *)f;
	char aid[AUTHD_ID_HEX + 1], did[AUTHD_ID_HEX + 1];

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	authd_hex(f->session.account_id, AUTHD_ID_LEN, aid);
	authd_hex(j->device_id, AUTHD_ID_LEN, did);
	log_info("device removed account=%s device=%s req=%llu", aid, did,
		 (unsigned long long)r->id);
	reply_empty(r, 204);
}

static const struct flow_ops delete_ops = {
    .write = delete_write,
    .written = delete_written,
    .reply = delete_reply,
    .release = devices_release,
};

void http_device_delete(struct req *r)
{
	struct device_job *j = device_job_new(r, OP_DELETE);

	if (j == NULL)
		return;
	if (!device_id_or_reply(r, j)) {
		devices_release(&j->f);
		return;
	}
	flow_start(&j->f, &delete_ops, r);
}
