/*
 * The texts of the messages authd sends: one template per message and
 * language, built in (authd/templates/<lang>/<name>.txt, embedded at build
 * time) and overridable file by file from the operator's folder
 * ([outbox] templates: <folder>/<lang>/<name>.txt). English is the
 * fallback of every other language.
 *
 * A template is text with {{name}} placeholders. An email's first line is
 * "Subject: ...", then a blank line, then the body; an SMS template (name
 * ending in ".sms") is its body alone. Placeholders must be among the
 * names authd fills (templates_load refuses others), so a typo in an
 * operator's file stops authd at start rather than sending a hole.
 */
#ifndef AUTHD_TEMPLATES_H
#define AUTHD_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

struct template_builtin {
	const char *lang, *name, *text;
};
extern const struct template_builtin template_builtins[];
extern const size_t template_builtins_count;

struct template_var {
	const char *name;
	const char *value; /* NULL renders as "" */
};

/* Loads the built-in templates, then the files of dir over them ("" or
 * NULL: none), and puts that set in use. 0, or -1 (logged: an unreadable
 * file, a bad placeholder, an email without its Subject line), the set in
 * use unchanged. Any thread, at any time (a reload): a render sees one set
 * or the other, whole. */
int templates_load(const char *dir);
void templates_free(void);

/* Whether a template of that name exists (in English, which every
 * language falls back to). */
bool template_exists(const char *name);

/*
 * Renders template `name` in lang (NULL or unknown: English) with vars:
 * the subject (emails; "" for SMS) and the body, each always terminated.
 * Values have their control characters replaced by spaces, so that no
 * value can add a header line. Returns 0, or -1 when there is no such
 * template or the text does not fit. Any thread, after templates_load.
 */
int template_render(const char *lang, const char *name, const struct template_var *vars,
		    size_t nvars, char *subject, size_t subject_size, char *body, size_t body_size);

#endif
