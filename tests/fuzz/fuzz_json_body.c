/*
 * libFuzzer target: a request body through json_body_or_reply(), the one
 * place every JSON request is decoded and checked, with the sign-up field
 * spec. Whatever the bytes, it must either hand back an object holding only
 * well-typed spec fields or leave exactly one 4xx problem response.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct field_spec spec[] = {
	    {"email", JSON_STRING, true, 254},
	    {"password", JSON_STRING, true, 512},
	    {"name", JSON_STRING, false, 400},
	    {"advance", JSON_INTEGER, false, 0},
	};
	struct req *r = calloc(1, sizeof(*r));
	json_t *obj;

	if (r == NULL)
		return 0;
	r->body = malloc(size + 1);
	if (r->body == NULL) {
		free(r);
		return 0;
	}
	memcpy(r->body, data, size);
	r->body_len = size;
	snprintf(r->content_type, sizeof(r->content_type), "application/json");
	obj = json_body_or_reply(r, spec, sizeof(spec) / sizeof(spec[0]));
	if (obj) {
		if (r->responded || !json_is_object(obj) || json_object_size(obj) > 4)
			abort();
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
