/*
 * The operator's key routes, on the admin socket only (authctl keys,
 * rotate-keys, activate-key, reseal, retire-key). rotation.h says how
 * rotation goes; these routes read the key file and the census, change
 * the key file (on a pool thread: it is synced), and set the generation
 * every node seals with. Each act is logged with the operator's uid.
 */
#include "flow.h"
#include "http.h"
#include "rotation.h"

#include <log.h>
#include <push.h>
#include <util.h>

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[STORE_SEAL__COUNT] = {"totp", "devices", "outbox", "documents"};

/* A node's report, as read. */
struct node_report {
	char name[64];
	uint8_t sealing;
	int64_t at;
};

#define NODES_MAX 32

struct keys_flow {
	struct flow f;
	bool activate;	    /* rotate: make the new generation the one sealed with */
	uint8_t generation; /* activate, retire: the one named; rotate: the new one */
	/* read: the store's settings and the nodes' reports */
	uint64_t wanted, wanted_fp, activated_at;
	struct node_report nodes[NODES_MAX];
	unsigned n_nodes;
	uint64_t fingerprint; /* activate: of the generation named, on this node */
	char err[256];	      /* a key file change's failure, for the log */
	bool failed;
};

static void keys_release_flow(struct flow *f)
{
	free(f);
}

static struct keys_flow *keys_new_or_reply(struct req *r)
{
	struct keys_flow *j = calloc(1, sizeof(*j));

	if (j == NULL)
		reply_error(r, E_OVERLOADED);
	return j;
}

static void log_act(const struct req *r, const char *what, unsigned generation)
{
	log_info("operator %s generation=%u uid=%u req=%llu", what, generation, r->admin_uid,
		 (unsigned long long)r->id);
}

/* The generation a body's "generation" names, into j; false after 400. */
static bool generation_or_reply(struct req *r, json_t *body, struct keys_flow *j)
{
	json_int_t g = json_integer_value(json_object_get(body, "generation"));

	if (g < 1 || g > KEYS_GEN_MAX) {
		reply_field_error(r, E_INVALID_FIELD, "generation", "a key generation, 1 to 255");
		return false;
	}
	j->generation = (uint8_t)g;
	return true;
}

static bool held(uint8_t g)
{
	return g != 0 && keys_seals()->totp.key[g] != NULL;
}

/* --- GET /admin/keys ------------------------------------------------------------------ */

static int node_one(void *arg, const char *name, uint64_t value)
{
	struct keys_flow *j = arg;
	struct node_report *n;

	if (j->n_nodes == NODES_MAX)
		return 0;
	n = &j->nodes[j->n_nodes++];
	snprintf(n->name, sizeof(n->name), "%s", name + strlen(ROTATION_NODE_PREFIX));
	n->sealing = (uint8_t)(value & 0xff);
	n->at = (int64_t)(value >> 8);
	return 0;
}

static int settings_read(struct flow *f, struct store_txn *txn)
{
	struct keys_flow *j = (struct keys_flow *)f;
	int rc;

	j->n_nodes = 0;
	if ((rc = store_setting_get(txn, ROTATION_SETTING, &j->wanted)) != 0 ||
	    (rc = store_setting_get(txn, ROTATION_FINGERPRINT, &j->wanted_fp)) != 0 ||
	    (rc = store_setting_get(txn, ROTATION_ACTIVATED, &j->activated_at)) != 0)
		return rc;
	return store_settings_list(txn, ROTATION_NODE_PREFIX, node_one, j);
}

static bool node_live(const struct node_report *n, int64_t now)
{
	return now - n->at <= ROTATION_NODE_LIVE_S;
}

static json_t *census_json(void)
{
	struct rotation_census_status *st = malloc(sizeof(*st));
	json_t *seals, *out;
	char started[21], finished[21];

	if (st == NULL)
		return json_null();
	rotation_census_status(st);
	if (!st->ever) {
		free(st);
		return json_null();
	}
	seals = json_object();
	for (unsigned g = 1; g < SEAL_GENERATIONS; g++) {
		json_t *one = json_object();
		uint64_t sum = 0;
		char name[4];

		for (int kind = 0; kind < STORE_SEAL__COUNT; kind++) {
			sum += st->result.by_gen[g][kind];
			json_object_set_new(one, kind_names[kind],
					    json_integer((json_int_t)st->result.by_gen[g][kind]));
		}
		snprintf(name, sizeof(name), "%u", g);
		if (sum > 0)
			json_object_set_new(seals, name, one);
		else
			json_decref(one);
	}
	authd_time_str(st->started_at, started);
	if (st->finished_at)
		authd_time_str(st->finished_at, finished);
	out = json_pack("{s:b, s:s, s:s?, s:b, s:I, s:o, s:I}", "running", st->running,
			"started_at", started, "finished_at", st->finished_at ? finished : NULL,
			"failed", st->store_rc != 0, "values", (json_int_t)st->result.total,
			"seals", seals, "not_held", (json_int_t)st->result.not_held);
	free(st);
	return out;
}

static json_t *status_json(const struct keys_flow *j)
{
	const struct keys_seals *k = keys_seals();
	struct rotation_reseal_status st;
	json_t *gens = json_array(), *nodes = json_array(), *reseal;
	char started[21], finished[21], at[21];

	for (unsigned i = 0; i < k->n_held; i++)
		json_array_append_new(gens, json_integer(k->held[i]));
	for (unsigned i = 0; i < j->n_nodes; i++) {
		authd_time_str(j->nodes[i].at, at);
		json_array_append_new(nodes,
				      json_pack("{s:s, s:i, s:s, s:b}", "node", j->nodes[i].name,
						"sealing_with", j->nodes[i].sealing, "seen_at", at,
						"live", node_live(&j->nodes[i], j->f.now)));
	}
	rotation_reseal_status(&st);
	if (st.started_at)
		authd_time_str(st.started_at, started);
	if (st.finished_at)
		authd_time_str(st.finished_at, finished);
	reseal = !st.ever
		     ? json_null()
		     : json_pack("{s:b, s:i, s:s, s:s?, s:I, s:I, s:I, s:b}", "running", st.running,
				 "generation", st.generation, "started_at", started, "finished_at",
				 st.finished_at ? finished : NULL, "values", (json_int_t)st.seen,
				 "resealed", (json_int_t)st.resealed, "not_opened",
				 (json_int_t)st.not_opened, "failed", st.store_rc != 0);
	if (j->activated_at)
		authd_time_str((int64_t)j->activated_at, at);
	return json_pack("{s:s, s:b, s:o, s:i, s:i, s:s?, s:o, s:o, s:o}", "key_file", keys_path(),
			 "key_file_writable", !(keys_flags() & KEYS_F_CREDENTIAL), "generations",
			 gens, "sealing_with", k->totp.current, "store_generation", (int)j->wanted,
			 "activated_at", j->activated_at ? at : NULL, "nodes", nodes, "census",
			 census_json(), "reseal", reseal);
}

static void status_reply(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	reply_json(r, 200, status_json(j));
}

static const struct flow_ops status_ops = {
    .read = settings_read,
    .reply = status_reply,
    .release = keys_release_flow,
};

void http_admin_keys(struct req *r)
{
	struct keys_flow *j = flow_get_new_or_reply(r, sizeof(*j));

	if (j != NULL)
		flow_start(&j->f, &status_ops, r);
}

/* --- POST /admin/keys/census ---------------------------------------------------------- */

static void census_reply(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	(void)rotation_census_start(); /* or the one running already */
	/* 202 while it runs: GET admin/keys tells how it goes. */
	reply_json(r, 202, status_json(j));
}

static const struct flow_ops census_ops = {
    .read = settings_read,
    .reply = census_reply,
    .release = keys_release_flow,
};

void http_admin_keys_census(struct req *r)
{
	flow_start_sized(r, &census_ops, sizeof(struct keys_flow));
}

/* --- POST /admin/keys/rotate {"activate"} ---------------------------------------------- */

static bool writable_or_reply(struct req *r)
{
	if (!(keys_flags() & KEYS_F_CREDENTIAL))
		return true;
	reply_error(r, E_KEY_FILE_READ_ONLY);
	return false;
}

static void rotate_work(struct flow *f)
{
	struct keys_flow *j = (struct keys_flow *)f;

	j->failed =
	    keys_file_add(keys_path(), keys_flags(), &j->generation, j->err, sizeof(j->err)) != 0;
}

/* Loop: the file changed (or not); this node reads it again. */
static bool reloaded(struct flow *f, const char *what)
{
	struct keys_flow *j = (struct keys_flow *)f;

	if (!j->failed && keys_reload() != 0) {
		j->failed = true;
		snprintf(j->err, sizeof(j->err), "the key file does not read back");
	}
	if (j->failed) {
		log_err("operator %s: key file %.256s: %s", what, keys_path(), j->err);
		if (f->req)
			reply_error(f->req, E_KEY_FILE_FAILED);
		return false;
	}
	return true;
}

static bool rotate_worked(struct flow *f)
{
	return reloaded(f, "rotate-keys");
}

static int activate_write(struct flow *f, struct store_txn *txn)
{
	struct keys_flow *j = (struct keys_flow *)f;
	int rc;

	if (!j->activate)
		return 0;
	j->fingerprint = keys_fingerprint(keys_seals(), j->generation);
	if ((rc = store_setting_put(txn, ROTATION_SETTING, j->generation)) != 0 ||
	    (rc = store_setting_put(txn, ROTATION_FINGERPRINT, j->fingerprint)) != 0)
		return rc;
	return store_setting_put(txn, ROTATION_ACTIVATED, (uint64_t)f->now);
}

static void rotate_reply(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	if (j->activate) /* this node at once; the others within ROTATION_POLL_S */
		keys_want(j->generation, j->fingerprint);
	log_act(r, j->activate ? "rotated keys to" : "added key", j->generation);
	reply_json(r, 200,
		   json_pack("{s:i, s:b, s:i}", "generation", j->generation, "active", j->activate,
			     "sealing_with", keys_seals()->totp.current));
}

static const struct flow_ops rotate_ops = {
    .work = rotate_work,
    .worked = rotate_worked,
    .write = activate_write,
    .reply = rotate_reply,
    .release = keys_release_flow,
};

void http_admin_keys_rotate(struct req *r)
{
	static const struct field_spec spec[] = {{"activate", JSON_TRUE, false, 0}};
	json_t *body = json_body_or_reply(r, spec, 1);
	json_t *activate;
	struct keys_flow *j;

	if (body == NULL)
		return;
	activate = json_object_get(body, "activate");
	if (writable_or_reply(r) && (j = keys_new_or_reply(r)) != NULL) {
		j->activate = activate == NULL || json_is_true(activate);
		flow_start(&j->f, &rotate_ops, r);
	}
	json_decref(body);
}

/* --- POST /admin/keys/activate {"generation"} ------------------------------------------ */

static bool activate_check(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;

	/* Only a generation this node holds: the node that sets it opens
	 * what it seals. */
	if (held(j->generation))
		return true;
	reply_error(r, E_KEY_GENERATION_UNKNOWN);
	return false;
}

static const struct flow_ops activate_ops = {
    .check = activate_check,
    .write = activate_write,
    .reply = rotate_reply,
    .release = keys_release_flow,
};

void http_admin_keys_activate(struct req *r)
{
	static const struct field_spec spec[] = {{"generation", JSON_INTEGER, true, 0}};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct keys_flow *j;

	if (body == NULL)
		return;
	if ((j = keys_new_or_reply(r)) != NULL) {
		if (generation_or_reply(r, body, j)) {
			j->activate = true;
			flow_start(&j->f, &activate_ops, r);
		} else {
			free(j);
		}
	}
	json_decref(body);
}

/* --- POST /admin/keys/reseal ---------------------------------------------------------- */

static void reseal_reply(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;
	bool started;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	started = rotation_reseal_start();
	if (started)
		log_act(r, "started a reseal with", keys_seals()->totp.current);
	/* 202 while the pass runs: GET admin/keys tells how it goes. */
	reply_json(r, 202, status_json(j));
}

static const struct flow_ops reseal_ops = {
    .read = settings_read,
    .reply = reseal_reply,
    .release = keys_release_flow,
};

void http_admin_keys_reseal(struct req *r)
{
	flow_start_sized(r, &reseal_ops, sizeof(struct keys_flow));
}

/* --- POST /admin/keys/retire {"generation"} --------------------------------------------- */

/* Why generation g may not go yet (NULL: it may): what a node may still
 * seal with it, or a census since then that finds none. */
static const char *retire_refusal(const struct keys_flow *j, uint8_t g)
{
	struct rotation_census_status *st;
	const char *why = NULL;
	uint64_t uses = 0;

	if (g == keys_seals()->totp.current || g == j->wanted)
		return "it is the generation sealed with";
	/* A device link offer sealed just before the switch lives this long;
	 * and every node hears of a switch within a poll or two. */
	if (j->f.now < (int64_t)j->activated_at + PUSH_LINK_TTL + 2 * ROTATION_POLL_S)
		return "the switch to another generation is too recent (10 minutes: link "
		       "offers sealed before it are still valid)";
	for (unsigned i = 0; i < j->n_nodes; i++)
		if (node_live(&j->nodes[i], j->f.now) && j->nodes[i].sealing == g)
			return "a node still seals with it (its key file lacks the newer one)";
	if ((st = malloc(sizeof(*st))) == NULL)
		return "out of memory";
	rotation_census_status(st);
	for (int kind = 0; kind < STORE_SEAL__COUNT; kind++)
		uses += st->result.by_gen[g][kind];
	if (!st->ever || st->running || st->store_rc != 0 ||
	    st->started_at < (int64_t)j->activated_at + PUSH_LINK_TTL + 2 * ROTATION_POLL_S)
		why = "no census since the switch (POST admin/keys/census, or authctl keys)";
	else if (uses > 0)
		why = "the last census found values it seals (authctl reseal)";
	free(st);
	return why;
}

static bool retire_check(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;
	const char *why;

	if (!held(j->generation)) {
		reply_error(r, E_KEY_GENERATION_UNKNOWN);
		return false;
	}
	if ((why = retire_refusal(j, j->generation)) != NULL) {
		reply_field_error(r, E_KEY_GENERATION_IN_USE, "generation", why);
		return false;
	}
	return writable_or_reply(r);
}

static void retire_work(struct flow *f)
{
	struct keys_flow *j = (struct keys_flow *)f;

	j->failed =
	    keys_file_drop(keys_path(), keys_flags(), j->generation, j->err, sizeof(j->err)) != 0;
}

static bool retire_worked(struct flow *f)
{
	return reloaded(f, "retire-key");
}

static void retire_reply(struct flow *f, struct req *r)
{
	struct keys_flow *j = (struct keys_flow *)f;

	if (f->err != E_OK) {
		flow_reply_error(f, r);
		return;
	}
	log_act(r, "retired key", j->generation);
	reply_json(r, 200, status_json(j));
}

static const struct flow_ops retire_ops = {
    .read = settings_read,
    .check = retire_check,
    .work = retire_work,
    .worked = retire_worked,
    .reply = retire_reply,
    .release = keys_release_flow,
};

void http_admin_keys_retire(struct req *r)
{
	static const struct field_spec spec[] = {{"generation", JSON_INTEGER, true, 0}};
	json_t *body = json_body_or_reply(r, spec, 1);
	struct keys_flow *j;

	if (body == NULL)
		return;
	if ((j = keys_new_or_reply(r)) != NULL) {
		if (generation_or_reply(r, body, j))
			flow_start(&j->f, &retire_ops, r);
		else
			free(j);
	}
	json_decref(body);
}
