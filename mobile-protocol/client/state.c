/*
 * The state file (state.h) as JSON through jansson:
 *
 *   {"v":1,"links":[{"server","device_id","account","key","totp","name",
 *    "linked_at"}],"seen":[{"id","device_id","nonce"}]}
 *
 * Keys and nonces are base64url, ids hex, as on the wire. The file holds
 * private keys: it is created 0600 and never read when others may read it.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define B64_KEY (4 * ((MP_KEY_LEN + 2) / 3) + 1)

static bool copy_str(json_t *o, const char *name, char *out, size_t size, bool required)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL && !required) {
		out[0] = '\0';
		return true;
	}
	if (!json_is_string(v) || json_string_length(v) >= size)
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_id(json_t *o, const char *name, uint8_t id[MP_ID_LEN])
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) && mp_id_parse(json_string_value(v), id) == 0;
}

static bool get_b64(json_t *o, const char *name, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) &&
	       mp_b64url_decode(json_string_value(v), json_string_length(v), out, n) == 0;
}

static bool read_link(json_t *o, struct phone_link *l)
{
	json_t *at = json_object_get(o, "linked_at");

	if (!json_is_object(o) || !copy_str(o, "server", l->server, sizeof(l->server), true) ||
	    !get_id(o, "device_id", l->device_id) ||
	    !copy_str(o, "account", l->account, sizeof(l->account), true) ||
	    !get_b64(o, "key", l->seed, MP_KEY_LEN) ||
	    !copy_str(o, "totp", l->otpauth, sizeof(l->otpauth), false) ||
	    !copy_str(o, "name", l->name, sizeof(l->name), false) || !json_is_integer(at))
		return false;
	l->linked_at = json_integer_value(at);
	return true;
}

static bool read_seen(json_t *o, struct phone_seen *c)
{
	return json_is_object(o) && get_id(o, "id", c->id) &&
	       get_id(o, "device_id", c->device_id) && get_b64(o, "nonce", c->nonce, MP_NONCE_LEN);
}

int phone_state_load(const char *path, struct phone_state *s)
{
	json_error_t err;
	json_t *root = NULL, *links, *seen, *v;
	struct stat st;
	size_t i;
	int fd, rc = -1;

	memset(s, 0, sizeof(*s));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "authd-phone: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		fprintf(stderr, "authd-phone: %s may be read by others (it must be 0600)\n", path);
		goto out;
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &err);
	v = root ? json_object_get(root, "v") : NULL;
	links = root ? json_object_get(root, "links") : NULL;
	seen = root ? json_object_get(root, "seen") : NULL;
	if (!json_is_integer(v) || json_integer_value(v) != 1 || !json_is_array(links) ||
	    json_array_size(links) > PHONE_LINKS_MAX || !json_is_array(seen) ||
	    json_array_size(seen) > PHONE_SEEN_MAX) {
		fprintf(stderr, "authd-phone: %s is not a state file of this version\n", path);
		goto out;
	}
	json_array_foreach(links, i, v)
	{
		if (!read_link(v, &s->links[s->n_links++])) {
			fprintf(stderr, "authd-phone: %s: link %zu is malformed\n", path, i);
			goto out;
		}
	}
	json_array_foreach(seen, i, v)
	{
		if (!read_seen(v, &s->seen[s->n_seen++])) {
			fprintf(stderr, "authd-phone: %s: seen challenge %zu is malformed\n", path,
				i);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		phone_state_clear(s);
	json_decref(root); /* the allocator wipes what it frees (phone.c) */
	close(fd);
	return rc;
}

static json_t *link_json(const struct phone_link *l)
{
	char id[2 * MP_ID_LEN + 1], key[B64_KEY];
	json_t *o;

	mp_id_format(l->device_id, id);
	mp_b64url_encode(l->seed, MP_KEY_LEN, key);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "server", l->server, "device_id", id,
		      "account", l->account, "key", key, "totp", l->otpauth, "name", l->name,
		      "linked_at", (json_int_t)l->linked_at);
	OPENSSL_cleanse(key, sizeof(key));
	return o;
}

static json_t *seen_json(const struct phone_seen *c)
{
	char id[2 * MP_ID_LEN + 1], dev[2 * MP_ID_LEN + 1], nonce[4 * ((MP_NONCE_LEN + 2) / 3) + 1];

	mp_id_format(c->id, id);
	mp_id_format(c->device_id, dev);
	mp_b64url_encode(c->nonce, MP_NONCE_LEN, nonce);
	return json_pack("{s:s, s:s, s:s}", "id", id, "device_id", dev, "nonce", nonce);
}

int phone_state_save(const char *path, const struct phone_state *s)
{
	json_t *links = json_array(), *seen = json_array(), *root = NULL;
	char tmp[4096];
	char *text = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;

	for (unsigned i = 0; links && i < s->n_links; i++)
		if (!s->links[i].forgotten &&
		    json_array_append_new(links, link_json(&s->links[i])) != 0)
			goto out;
	for (unsigned i = 0; seen && i < s->n_seen; i++)
		if (json_array_append_new(seen, seen_json(&s->seen[i])) != 0)
			goto out;
	if (links == NULL || seen == NULL)
		goto out;
	root = json_pack("{s:i, s:O, s:O}", "v", 1, "links", links, "seen", seen);
	if (root == NULL || (text = json_dumps(root, JSON_INDENT(1))) == NULL)
		goto out;
	len = strlen(text);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		goto out;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		(void)unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		(void)unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "authd-phone: cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	phone_json_free(text); /* jansson's allocator: wipes */
	json_decref(root);
	json_decref(links);
	json_decref(seen);
	return rc;
}

void phone_state_seen(struct phone_state *s, const struct phone_seen *c)
{
	for (unsigned i = 0; i < s->n_seen; i++)
		if (memcmp(s->seen[i].id, c->id, MP_ID_LEN) == 0)
			return;
	if (s->n_seen == PHONE_SEEN_MAX) {
		memmove(&s->seen[0], &s->seen[1], sizeof(s->seen[0]) * (PHONE_SEEN_MAX - 1));
		s->n_seen--;
	}
	s->seen[s->n_seen++] = *c;
}

void phone_json_free(void *p)
{
	json_free_t f;

	json_get_alloc_funcs(NULL, &f);
	f(p);
}

void phone_state_clear(struct phone_state *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}
