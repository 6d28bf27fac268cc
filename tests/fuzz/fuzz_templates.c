/*
 * libFuzzer target: an operator's message template through templates_load()
 * (the file read, the Subject line and placeholder checks) and, when it is
 * accepted, template_render() with values holding control characters and
 * placeholder syntax. The first byte picks which built-in template the
 * file overrides (<dir>/en/<name>.txt, in a private temporary folder), the
 * second the buffer sizes of a render that may not fit; the rest is the
 * file's text.
 *
 * A template that loads renders whole into buffers large enough, its
 * subject on one line whatever the values; a render that does not fit
 * says so (-1) and stays in its buffers; a file that does not load leaves
 * the set in use as it was.
 */
#include "templates.h"

#include <log.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX (64 * 1024) /* templates.c's FILE_MAX */
#define OUT_MAX	 (1024 * 1024)

static char dir[64], lang_dir[80];

static void cleanup(void)
{
	rmdir(lang_dir);
	rmdir(dir);
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir, sizeof(dir), "%s/fuzz_templates.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(lang_dir, sizeof(lang_dir), "%s/en", dir);
	if (mkdir(lang_dir, 0700) != 0)
		abort();
	atexit(cleanup);
	log_set_level(LOG_LVL_ERR);
}

static int write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, size);
	close(fd);
	return n == (ssize_t)size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool loaded;
	static char subject[OUT_MAX], body[OUT_MAX];
	static const struct template_var vars[] = {
	    {"email", "a@example.com\r\nBcc: b@example.com"},
	    {"code", "123456"},
	    {"link", "https://example.com/r?t={{code}}&x=}}{{"},
	    {"ip", "203.0.113.7\x7f\x1b[2J"},
	    {"time", "2024-01-01 00:00 UTC\n\n"},
	    {"location", NULL},
	};
	const size_t nvars = sizeof(vars) / sizeof(vars[0]);
	const char *name;
	char path[256];
	size_t ssize, bsize;
	int rc;

	if (size < 2 || size - 2 > TEXT_MAX)
		return 0;
	if (dir[0] == '\0')
		setup();
	name = template_builtins[data[0] % template_builtins_count].name;
	ssize = data[1] & 0x0f;
	bsize = (size_t)(data[1] >> 4) * 16;
	snprintf(path, sizeof(path), "%s/%s.txt", lang_dir, name);
	if (write_file(path, data + 2, size - 2) != 0)
		abort();
	rc = templates_load(dir);
	unlink(path);
	if (rc != 0) {
		/* The set in use is the one before. */
		if (loaded && !template_exists(name))
			abort();
		return 0;
	}
	loaded = true;
	if (!template_exists(name))
		abort();
	if (template_render("en", name, vars, nvars, subject, sizeof(subject), body,
			    sizeof(body)) != 0 ||
	    strchr(subject, '\n') != NULL)
		abort();
	/* Another language falls back to English: the same text. */
	if (template_render("xx", name, vars, nvars, subject, sizeof(subject), body,
			    sizeof(body)) != 0 ||
	    template_render(NULL, name, NULL, 0, subject, sizeof(subject), body, sizeof(body)) != 0)
		abort();
	if (template_render("en", name, vars, nvars, subject, ssize, body, bsize) == 0 &&
	    (strlen(body) >= bsize || (ssize && strlen(subject) >= ssize)))
		abort();
	return 0;
}
