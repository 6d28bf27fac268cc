/*
 * Logging for authd: one line per event on stderr, with a UTC timestamp, the
 * level and the calling function, either as text or (`[log] format = json`)
 * as one JSON object a line, whose "key=value" words become fields. Only
 * authd/ logs. Never pass a password, code, token, secret or key to these
 * macros: log ids and hash prefixes, and truncate user-supplied strings with
 * %.64s.
 *
 * Lines a client can cause at will (refusals) go through log_refusal(): the
 * limiter gives each (call site, subject) its first few lines in each
 * interval, all subjects together a fixed number, and sums the rest up in
 * one line per subject and interval, so that no flood of requests makes the
 * log grow faster than a known bound (docs/RELIABILITY.md).
 */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

/* Sets the most verbose level printed; thread-safe (an atomic store). */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);
/* Parses "text" and "json"; returns -1 for anything else. */
int log_format_parse(const char *s);
/* Sets the line format; thread-safe (an atomic store). */
void log_set_format(enum log_format format);
/* Sets the node name JSON lines carry (copied; NULL: none). Before
 * threads start. */
void log_set_node(const char *node);

void log_emit(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)   log_emit(LOG_LVL_ERR, __func__, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

/*
 * The refusal limiter's figures: each (call site, subject) writes at most
 * `burst` lines an interval of `interval_s` seconds, all of them together at
 * most `lines_max`, and at most `summaries_max` summary lines follow an
 * interval (one more sums up the subjects past that). Thread-safe; may be
 * called again (a reload) at any time: new figures end the interval under
 * way (its summaries are written) and start another.
 */
struct log_limits {
	unsigned burst, interval_s, lines_max, summaries_max;
};
#define LOG_LIMITS_DEFAULT                                                                         \
	{                                                                                          \
		5, 60, 100, 50                                                                     \
	}
void log_limit_set(const struct log_limits *l);
/* Whether a refusal of `subject` (an address, an account id; truncated to
 * 47 bytes) at call site `site` (a static string: its pointer is kept) may
 * be written now at `level`; counted either way (unless the level is not
 * logged at all). Thread-safe. */
bool log_limit_take(enum log_level level, const char *site, const char *subject);
/* Writes the summaries of an interval that has ended (cheap when none
 * has): called now and then (authd's heartbeat), and by log_limit_take.
 * Summaries name the subjects with the most lines held back first, each
 * at the level of the most severe line it sums up. */
void log_limit_flush(void);
/* The limiter's clock (monotonic nanoseconds), for tests; NULL: the real
 * one. Before threads log. */
void log_limit_clock(uint64_t (*clock_ns)(void));

#define log_limited(level, subject, ...)                                                           \
	do {                                                                                       \
		if (log_limit_take((level), __func__, (subject)))                                  \
			log_emit((level), __func__, __VA_ARGS__);                                  \
	} while (0)
#define log_refusal(subject, ...)      log_limited(LOG_LVL_INFO, subject, __VA_ARGS__)
#define log_refusal_warn(subject, ...) log_limited(LOG_LVL_WARN, subject, __VA_ARGS__)

/* A broken invariant, never bad input: logs and aborts, like git's BUG(). */
#define AUTHD_BUG(msg)                                                                             \
	do {                                                                                       \
		log_emit(LOG_LVL_ERR, __func__, "BUG: %s (%s:%d)", msg, __FILE__, __LINE__);       \
		abort();                                                                           \
	} while (0)

#endif
