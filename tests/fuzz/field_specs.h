/*
 * Every request-body field spec of authd's handlers (generated at build
 * time by gen_field_specs.py), the last entry the spec of bodies that take
 * no field (spec NULL, n 0).
 */
#ifndef AUTHD_FUZZ_FIELD_SPECS_H
#define AUTHD_FUZZ_FIELD_SPECS_H

#include "http.h"

#include <stddef.h>

struct fuzz_field_spec {
	const char *where; /* "http_login.c:428 spec" */
	const struct field_spec *spec;
	size_t n;
};

extern const struct fuzz_field_spec fuzz_field_specs[];
extern const size_t fuzz_field_specs_count;

#endif
