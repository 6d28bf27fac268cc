/* Reads PROTOCOL.md's ```vectors block for the tests (vectors.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINES_MAX 64

static char names[LINES_MAX][32];
static char values[LINES_MAX][512];
static size_t n_lines;

void vectors_load(void)
{
	const char *path = getenv("MP_PROTOCOL_MD");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[600];
	int in_block = 0;

	if (f == NULL)
		fail_msg("cannot read PROTOCOL.md: set MP_PROTOCOL_MD (CTest does)");
	n_lines = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!in_block) {
			in_block = strcmp(line, "```vectors") == 0;
			continue;
		}
		if (strcmp(line, "```") == 0)
			break;
		size_t k = strcspn(line, " ");
		const char *v = line + k + strspn(line + k, " ");

		if (k == 0 || k >= sizeof(names[0]) || strlen(v) >= sizeof(values[0]) ||
		    n_lines == LINES_MAX)
			fail_msg("bad vectors line: %s", line);
		memcpy(names[n_lines], line, k);
		names[n_lines][k] = '\0';
		snprintf(values[n_lines], sizeof(values[0]), "%s", v);
		n_lines++;
	}
	fclose(f);
	if (n_lines == 0)
		fail_msg("no ```vectors block in %s", path);
}

int vectors_setup(void **state)
{
	(void)state;
	vectors_load();
	return 0;
}

const char *vector(const char *name)
{
	for (size_t i = 0; i < n_lines; i++)
		if (strcmp(names[i], name) == 0)
			return values[i];
	fail_msg("no vector %s", name);
	return NULL;
}

void vector_bytes(const char *name, uint8_t *out, size_t n)
{
	const char *hex = vector(name);

	if (strlen(hex) != 2 * n)
		fail_msg("vector %s: %zu hex digits, want %zu", name, strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			fail_msg("vector %s: not hex", name);
		out[i] = (uint8_t)v;
	}
}
