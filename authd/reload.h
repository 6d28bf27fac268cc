/*
 * Reloading the configuration on SIGHUP: what may change while authd runs
 * changes ([log] level, format and the refusal limiter's figures; [signup]
 * and [sms] throttle and cap figures; [outbox] templates; the TLS
 * certificate and key, re-read at their configured paths), and whatever
 * else differs is named in the log as needing a restart. A file that does
 * not parse or validate changes nothing.
 */
#ifndef AUTHD_RELOAD_H
#define AUTHD_RELOAD_H

struct lws_context;

/* Reloads now. Loop thread. */
void reload_run(struct lws_context *context);

#endif
