/*
 * Logging for authd: one line per event on stderr, with a UTC timestamp, the
 * level and the calling function. Only authd/ logs. Never pass a password,
 * code, token, secret or key to these macros: log ids and hash prefixes, and
 * truncate user-supplied strings with %.64s.
 */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

#include <stdlib.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the most verbose level printed; thread-safe to call before threads. */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);

void log_emit(enum log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)   log_emit(LOG_LVL_ERR, __func__, __VA_ARGS__)
#define log_warn(...)  log_emit(LOG_LVL_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_emit(LOG_LVL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_LVL_DEBUG, __func__, __VA_ARGS__)

/* A broken invariant, never bad input: logs and aborts, like git's BUG(). */
#define AUTHD_BUG(msg)                                                                             \
	do {                                                                                       \
		log_emit(LOG_LVL_ERR, __func__, "BUG: %s (%s:%d)", msg, __FILE__, __LINE__);       \
		abort();                                                                           \
	} while (0)

#endif
