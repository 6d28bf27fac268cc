/*
 * The log sink: formats one line per call into a local buffer and writes it
 * with a single write(2), so lines from the loop, the workers and the writer
 * thread never interleave. It also owns the refusal limiter (log.h): a small
 * table of (call site, subject) counters for the current interval, under a
 * mutex, and the summaries written when an interval ends.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int max_level = LOG_LVL_INFO;
static _Atomic int format = LOG_FMT_TEXT;
static char node_name[64];

static const char *const level_names[] = {"error", "warn", "info", "debug"};

#define TEXT_MAX 1024 /* a line as text, and the message of a JSON line */
#define JSON_MAX 8192 /* a JSON line: each byte of the text may take 6 escaped */

void log_set_level(enum log_level level)
{
	atomic_store(&max_level, (int)level);
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FMT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

void log_set_format(enum log_format f)
{
	atomic_store(&format, (int)f);
}

void log_set_node(const char *node)
{
	snprintf(node_name, sizeof(node_name), "%s", node ? node : "");
}

/* --- JSON lines ------------------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap; /* cap keeps room for the closing "}\n" */
};

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len)
		n = o->cap - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* s[0..n) as the inside of a JSON string: escaped, and any byte that is
 * not valid UTF-8 (a user string cut by %.64s) as U+FFFD. */
static void out_escaped(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	char esc[8];

	while (i < n) {
		size_t l = utf8_len(u + i, n - i);

		if (l == 0) {
			out_raw(o, "\\ufffd", 6);
			i++;
		} else if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			out_raw(o, esc, 2);
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			out_raw(o, esc, 6);
			i++;
		} else {
			out_raw(o, s + i, l);
			i += l;
		}
	}
}

static void out_field(struct out *o, const char *key, size_t klen, const char *val, size_t vlen)
{
	out_raw(o, ",\"", 2);
	out_raw(o, key, klen);
	out_raw(o, "\":\"", 3);
	out_escaped(o, val, vlen);
	out_raw(o, "\"", 1);
}

/* The length of the key of a "key=value" word at w, or 0 when w is not one
 * (a key is lower-case letters, digits and '_', starting with a letter). */
static size_t key_len(const char *w, size_t n)
{
	size_t i = 0;

	if (n == 0 || w[0] < 'a' || w[0] > 'z')
		return 0;
	while (i < n &&
	       ((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
		i++;
	return i < n && w[i] == '=' ? i : 0;
}

/* A message's field: one named like a field of the line's own is
 * prefixed "f_", so that no key appears twice. */
static void out_message_field(struct out *o, const char *key, size_t klen, const char *val,
			      size_t vlen)
{
	static const char *const own[] = {"time", "level", "node", "func", "msg"};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if (strlen(own[i]) == klen && memcmp(own[i], key, klen) == 0) {
			char renamed[16];

			snprintf(renamed, sizeof(renamed), "f_%s", own[i]);
			out_field(o, renamed, strlen(renamed), val, vlen);
			return;
		}
	}
	out_field(o, key, klen, val, vlen);
}

/*
 * The message's words up to the first "key=value" are "msg"; from there
 * each "key=value" word is a field, and a word that is not one goes on the
 * value before it ("reason=no route" keeps its space).
 */
static void out_message(struct out *o, const char *m, size_t n)
{
	const char *val = NULL, *key = NULL, *msg_end = m + n;
	size_t vlen = 0, klen = 0;
	const char *p = m;
	bool in_fields = false;

	while (p < m + n) {
		const char *w = p;
		size_t wl, kl;

		while (p < m + n && *p != ' ')
			p++;
		wl = (size_t)(p - w);
		kl = key_len(w, wl);
		if (kl && !in_fields) {
			in_fields = true;
			msg_end = w > m ? w - 1 : m;
		}
		if (kl) {
			if (key)
				out_message_field(o, key, klen, val, vlen);
			else
				out_field(o, "msg", 3, m, (size_t)(msg_end - m));
			key = w;
			klen = kl;
			val = w + kl + 1;
			vlen = wl - kl - 1;
		} else if (key) {
			vlen = (size_t)(w + wl - val);
		}
		if (p < m + n)
			p++; /* the space */
	}
	if (!key) {
		out_field(o, "msg", 3, m, n);
		return;
	}
	out_message_field(o, key, klen, val, vlen);
}

static void write_json(const char *stamp, enum log_level level, const char *func, const char *msg,
		       size_t n)
{
	char line[JSON_MAX];
	struct out o = {line, 0, sizeof(line) - 2};

	out_raw(&o, "{\"time\":\"", 9);
	out_raw(&o, stamp, strlen(stamp));
	out_raw(&o, "\"", 1);
	out_field(&o, "level", 5, level_names[level], strlen(level_names[level]));
	if (node_name[0])
		out_field(&o, "node", 4, node_name, strlen(node_name));
	out_field(&o, "func", 4, func, strlen(func));
	out_message(&o, msg, n);
	o.cap += 2;
	out_raw(&o, "}\n", 2);
	(void)!write(STDERR_FILENO, line, o.len);
}

void log_emit(enum log_level level, const char *func, const char *fmt, ...)
{
	char line[TEXT_MAX];
	char stamp[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	bool json;
	int n = 0;
	int m;

	if ((int)level > atomic_load(&max_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(ts.tv_nsec / 1000000) % 1000);
	json = atomic_load(&format) == LOG_FMT_JSON;
	if (!json) {
		n = snprintf(line, sizeof(line), "%s %s %s: ", stamp, level_names[level], func);
		if (n < 0 || (size_t)n >= sizeof(line))
			return;
	}
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive of clang 14 */
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (json) {
		write_json(stamp, level, func, line, (size_t)n);
		return;
	}
	/* One event, one line: a control character in a value is a space. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* --- the refusal limiter ------------------------------------------------------------- */

#define SLOTS	  256 /* subjects told apart in one interval */
#define PROBES	  8
#define SUBJECT_N 48

struct slot {
	const char *site; /* NULL: free */
	unsigned long suppressed;
	unsigned written;
	int level; /* the most severe of those suppressed */
	char subject[SUBJECT_N];
};

struct summary {
	const char *site;
	char subject[SUBJECT_N];
	unsigned long count;
	int level;
};

static pthread_mutex_t lim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct log_limits limits = LOG_LIMITS_DEFAULT;
static struct slot slots[SLOTS];
static uint64_t interval_end; /* 0: no interval open */
static unsigned lines;	      /* written in this interval */
static unsigned long others;  /* suppressed without a slot of their own */
static int others_level = LOG_LVL_DEBUG;

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t (*now_ns)(void) = monotonic_ns;

void log_limit_clock(uint64_t (*clock_ns)(void))
{
	now_ns = clock_ns ? clock_ns : monotonic_ns;
}

/* The heaviest first: a flood's worst subjects are the ones named. */
static int by_count_desc(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	return (x->suppressed < y->suppressed) - (x->suppressed > y->suppressed);
}

/* Ends the open interval: its summaries into out (at most max, then one
 * for the rest, so out holds max + 1; NULL: none kept), the table cleared.
 * Returns how many summaries there are. Under lim_mu. */
static size_t roll_locked(struct summary *out, size_t max)
{
	unsigned long rest = others;
	size_t n = 0, rest_subjects = others ? 1 : 0;
	int rest_level = others_level;

	qsort(slots, SLOTS, sizeof(slots[0]), by_count_desc);
	for (size_t i = 0; out && i < SLOTS && slots[i].suppressed; i++) {
		if (n < max) {
			out[n].site = slots[i].site;
			memcpy(out[n].subject, slots[i].subject, SUBJECT_N);
			out[n].count = slots[i].suppressed;
			out[n].level = slots[i].level;
			n++;
		} else {
			rest += slots[i].suppressed;
			rest_subjects++;
			if (slots[i].level < rest_level)
				rest_level = slots[i].level;
		}
	}
	if (out && rest) {
		out[n].site = NULL;
		snprintf(out[n].subject, SUBJECT_N, "%zu", rest_subjects);
		out[n].count = rest;
		out[n].level = rest_level;
		n++;
	}
	memset(slots, 0, sizeof(slots));
	interval_end = 0;
	lines = 0;
	others = 0;
	others_level = LOG_LVL_DEBUG;
	return n;
}

/* Each summary at the level of the most severe line it sums up. */
static void write_summaries(const struct summary *s, size_t n, unsigned interval_s)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].site)
			log_emit((enum log_level)s[i].level, "log_limit",
				 "refusals not logged site=%s subject=%s count=%lu interval_s=%u",
				 s[i].site, s[i].subject, s[i].count, interval_s);
		else
			log_emit((enum log_level)s[i].level, "log_limit",
				 "refusals not logged site=- subjects=%s count=%lu interval_s=%u",
				 s[i].subject, s[i].count, interval_s);
	}
}

/* Rolls the open interval when it has ended (or at once with force), and
 * writes its summaries out of the lock. Takes lim_mu. */
static void roll(uint64_t now, bool force)
{
	struct summary *s = NULL;
	size_t n = 0;
	unsigned interval_s;

	pthread_mutex_lock(&lim_mu);
	interval_s = limits.interval_s;
	if (interval_end != 0 && (force || now >= interval_end)) {
		/* Out of memory: the counts are lost, never the bound. */
		s = calloc((size_t)limits.summaries_max + 1, sizeof(*s));
		n = roll_locked(s, limits.summaries_max);
	}
	pthread_mutex_unlock(&lim_mu);
	write_summaries(s, n, interval_s);
	free(s);
}

void log_limit_set(const struct log_limits *l)
{
	struct log_limits want = *l;

	if (want.interval_s == 0)
		want.interval_s = 1;
	pthread_mutex_lock(&lim_mu);
	if (memcmp(&want, &limits, sizeof(want)) == 0) {
		pthread_mutex_unlock(&lim_mu);
		return;
	}
	pthread_mutex_unlock(&lim_mu);
	/* New figures start a new interval: the old one is summed up. */
	roll(now_ns(), true);
	pthread_mutex_lock(&lim_mu);
	limits = want;
	pthread_mutex_unlock(&lim_mu);
}

void log_limit_flush(void)
{
	roll(now_ns(), false);
}

static size_t hash_of(const char *site, const char *subject)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)site;

	for (const unsigned char *p = (const unsigned char *)subject; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h % SLOTS);
}

bool log_limit_take(enum log_level level, const char *site, const char *subject)
{
	uint64_t now = now_ns();
	struct slot *s = NULL;
	char subj[SUBJECT_N];
	size_t h;
	bool ok;

	if ((int)level > atomic_load(&max_level))
		return false;
	roll(now, false);
	snprintf(subj, sizeof(subj), "%s", subject ? subject : "-");
	h = hash_of(site, subj);
	pthread_mutex_lock(&lim_mu);
	if (interval_end == 0)
		interval_end = now + (uint64_t)limits.interval_s * 1000000000u;
	for (size_t i = 0; i < PROBES; i++) {
		struct slot *c = &slots[(h + i) % SLOTS];

		if (c->site == NULL) {
			c->site = site;
			memcpy(c->subject, subj, SUBJECT_N);
		}
		if (c->site == site && strcmp(c->subject, subj) == 0) {
			s = c;
			break;
		}
	}
	ok = s && s->written < limits.burst && lines < limits.lines_max;
	if (ok) {
		s->written++;
		lines++;
	} else if (s) {
		if (s->suppressed++ == 0 || (int)level < s->level)
			s->level = (int)level;
	} else {
		if (others++ == 0 || (int)level < others_level)
			others_level = (int)level;
	}
	pthread_mutex_unlock(&lim_mu);
	return ok;
}
