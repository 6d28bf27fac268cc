/*
 * libFuzzer target: a request body through json_body_or_reply(), the one
 * place every JSON request is decoded and checked, against every
 * endpoint's field spec: the first byte picks the spec (field_specs.h, all
 * the handlers' specs and the one of bodies without fields), the rest is
 * the body. Whatever the bytes, it must either hand back an object holding
 * only that spec's fields, each of its type, the required ones present and
 * strings printable within their limit, or leave exactly one 4xx problem
 * response.
 */
#include "field_specs.h"
#include "http.h"

#include <util.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct field_spec *spec_of(const struct fuzz_field_spec *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->spec[i].name, name) == 0)
			return &s->spec[i];
	return NULL;
}

/* The object json_body_or_reply() handed back honours spec s. */
static void check(const struct fuzz_field_spec *s, json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj) || json_object_size(obj) > s->n)
		abort();
	json_object_foreach(obj, key, v)
	{
		const struct field_spec *f = spec_of(s, key);
		bool typed;

		if (f == NULL)
			abort();
		typed = f->type == JSON_NULL   ? true /* any: the handler checks */
			: f->type == JSON_TRUE ? json_is_boolean(v)
					       : json_typeof(v) == f->type;
		if (!typed)
			abort();
		if (f->type == JSON_STRING &&
		    (json_string_length(v) > f->max_len ||
		     !authd_utf8_printable(json_string_value(v), json_string_length(v))))
			abort();
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->spec[i].required && json_object_get(obj, s->spec[i].name) == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_field_spec *s;
	struct req *r;
	json_t *obj;

	if (size == 0)
		return 0;
	s = &fuzz_field_specs[data[0] % fuzz_field_specs_count];
	data++;
	size--;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return 0;
	r->body = malloc(size + 1);
	if (r->body == NULL) {
		free(r);
		return 0;
	}
	memcpy(r->body, data, size);
	r->body_len = size;
	snprintf(r->content_type, sizeof(r->content_type), "application/json");
	obj = json_body_or_reply(r, s->spec, s->n);
	if (obj) {
		if (r->responded)
			abort();
		check(s, obj);
		json_wipe_decref(obj);
	} else if (!r->responded || r->status < 400 || r->status > 499) {
		abort();
	}
	if (!r->resp_static) /* a problem body made once is shared, never the reply's */
		free(r->resp);
	free(r->body);
	free(r);
	return 0;
}
