/*
 * Message templates (templates.h): the built-in set, the operator's
 * overrides, the placeholder check and the rendering. The set in use is
 * swapped whole under a read-write lock, so a reload (SIGHUP) never shows
 * a renderer half of one set and half of another.
 */
#include "templates.h"

#include <log.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATES_MAX 64
#define FILE_MAX      (64 * 1024)
#define SUBJECT_TAG   "Subject: "

/* The names authd fills: anything else in a template is a mistake. */
static const char *const known_vars[] = {
    "email",	"time",	   "ip",      "location",     "browser", "device", "base_url",
    "code",	"link",	   "login",   "organization", "by",	 "role",   "billing",
    "contacts", "expires", "product", "invoice",      "total",	 "date",
};

struct template
{
	char lang[8];
	char name[64];
	char *text; /* owned */
};

struct template_set {
	struct template t[TEMPLATES_MAX];
	size_t n;
};

static struct template_set *current; /* under set_lock */
static pthread_rwlock_t set_lock = PTHREAD_RWLOCK_INITIALIZER;

static bool is_sms(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".sms") == 0;
}

/* Checks text's placeholders and, for an email, its Subject line. */
static int check(const char *lang, const char *name, const char *text)
{
	const char *p = text;

	if (!is_sms(name) && strncmp(text, SUBJECT_TAG, strlen(SUBJECT_TAG)) != 0) {
		log_err("template %s/%s: an email template starts with \"Subject: \"", lang, name);
		return -1;
	}
	while ((p = strstr(p, "{{")) != NULL) {
		const char *end = strstr(p + 2, "}}");
		bool known = false;

		if (end == NULL) {
			log_err("template %s/%s: a {{ without its }}", lang, name);
			return -1;
		}
		for (size_t i = 0; i < sizeof(known_vars) / sizeof(known_vars[0]); i++)
			known |= strlen(known_vars[i]) == (size_t)(end - p - 2) &&
				 strncmp(known_vars[i], p + 2, (size_t)(end - p - 2)) == 0;
		if (!known) {
			log_err("template %s/%s: unknown placeholder {{%.*s}}", lang, name,
				(int)(end - p - 2 < 32 ? end - p - 2 : 32), p + 2);
			return -1;
		}
		p = end + 2;
	}
	return 0;
}

static struct template *find(struct template_set *s, const char *lang, const char *name)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->t[i].lang, lang) == 0 && strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

static int set(struct template_set *s, const char *lang, const char *name, const char *text)
{
	struct template *t = find(s, lang, name);
	char *copy;

	if (check(lang, name, text) != 0)
		return -1;
	if (t == NULL) {
		if (s->n == TEMPLATES_MAX || strlen(lang) >= sizeof(t->lang) ||
		    strlen(name) >= sizeof(t->name)) {
			log_err("template %s/%s: too many templates, or its name is too long", lang,
				name);
			return -1;
		}
		t = &s->t[s->n++];
		snprintf(t->lang, sizeof(t->lang), "%s", lang);
		snprintf(t->name, sizeof(t->name), "%s", name);
	}
	if ((copy = strdup(text)) == NULL)
		return -1;
	free(t->text);
	t->text = copy;
	return 0;
}

/* The operator's file for (lang, name), when there is one. */
static int override(struct template_set *s, const char *dir, const char *lang, const char *name)
{
	char path[1024], *text = NULL;
	FILE *f;
	size_t n;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s/%s.txt", dir, lang, name);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_err("cannot read template %.512s: %s", path, strerror(errno));
		return -1;
	}
	if ((text = malloc(FILE_MAX + 1)) == NULL)
		goto out;
	n = fread(text, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX || memchr(text, '\0', n) != NULL) {
		log_err("template %.512s: unreadable, too long or not text", path);
		goto out;
	}
	text[n] = '\0';
	if ((rc = set(s, lang, name, text)) == 0)
		log_info("template %s/%s from %.512s", lang, name, path);
out:
	free(text);
	fclose(f);
	return rc;
}

static void set_free(struct template_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		free(s->t[i].text);
	free(s);
}

int templates_load(const char *dir)
{
	struct template_set *s = calloc(1, sizeof(*s)), *old;

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < template_builtins_count; i++)
		if (set(s, template_builtins[i].lang, template_builtins[i].name,
			template_builtins[i].text) != 0)
			goto fail;
	/* Every built-in message may be overridden; a language of the
	 * operator's own starts from English's names. */
	for (size_t i = 0; dir && dir[0] && i < template_builtins_count; i++)
		if (override(s, dir, template_builtins[i].lang, template_builtins[i].name) != 0)
			goto fail;
	pthread_rwlock_wrlock(&set_lock);
	old = current;
	current = s;
	pthread_rwlock_unlock(&set_lock);
	set_free(old);
	return 0;
fail:
	set_free(s);
	return -1;
}

void templates_free(void)
{
	struct template_set *old;

	pthread_rwlock_wrlock(&set_lock);
	old = current;
	current = NULL;
	pthread_rwlock_unlock(&set_lock);
	set_free(old);
}

bool template_exists(const char *name)
{
	bool found;

	pthread_rwlock_rdlock(&set_lock);
	found = find(current, "en", name) != NULL;
	pthread_rwlock_unlock(&set_lock);
	return found;
}

/* Appends n bytes of s to out (at *len, size bytes with the NUL); control
 * characters become spaces when clean. -1 when it does not fit. */
static int append(char *out, size_t size, size_t *len, const char *s, size_t n, bool clean)
{
	if (*len + n >= size)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char ch = s[i];

		if (clean && (c < 0x20 || c == 0x7f))
			ch = ' ';
		out[(*len)++] = ch;
	}
	out[*len] = '\0';
	return 0;
}

static const char *value_of(const struct template_var *vars, size_t nvars, const char *name,
			    size_t len)
{
	for (size_t i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
			return vars[i].value ? vars[i].value : "";
	return "";
}

/* Renders text[0..n) into out. */
static int render(const char *text, size_t n, const struct template_var *vars, size_t nvars,
		  char *out, size_t size)
{
	const char *p = text, *end = text + n;
	size_t len = 0;

	if (size == 0)
		return -1;
	out[0] = '\0';
	while (p < end) {
		const char *open = strstr(p, "{{");
		const char *close;

		if (open == NULL || open >= end) {
			return append(out, size, &len, p, (size_t)(end - p), false);
		}
		if (append(out, size, &len, p, (size_t)(open - p), false) != 0)
			return -1;
		close = strstr(open + 2, "}}"); /* checked at load */
		const char *v = value_of(vars, nvars, open + 2, (size_t)(close - open - 2));

		if (append(out, size, &len, v, strlen(v), true) != 0)
			return -1;
		p = close + 2;
	}
	return 0;
}

static int render_template(const struct template *t, const char *name,
			   const struct template_var *vars, size_t nvars, char *subject,
			   size_t subject_size, char *body, size_t body_size)
{
	const char *text = t->text, *nl;

	if (subject_size)
		subject[0] = '\0';
	if (is_sms(name))
		return render(text, strlen(text), vars, nvars, body, body_size);
	text += strlen(SUBJECT_TAG);
	nl = strchr(text, '\n');
	if (nl == NULL)
		nl = text + strlen(text);
	if (render(text, (size_t)(nl - text), vars, nvars, subject, subject_size) != 0)
		return -1;
	/* The body starts after the blank line that ends the headers. */
	text = *nl ? nl + 1 : nl;
	if (*text == '\n')
		text++;
	return render(text, strlen(text), vars, nvars, body, body_size);
}

int template_render(const char *lang, const char *name, const struct template_var *vars,
		    size_t nvars, char *subject, size_t subject_size, char *body, size_t body_size)
{
	const struct template *t;
	int rc = -1;

	pthread_rwlock_rdlock(&set_lock);
	t = lang ? find(current, lang, name) : NULL;
	if (t == NULL)
		t = find(current, "en", name);
	if (t)
		rc = render_template(t, name, vars, nvars, subject, subject_size, body, body_size);
	pthread_rwlock_unlock(&set_lock);
	return rc;
}
