/*
 * Runs the HTTP server until SIGINT/SIGTERM: listens, serves, then drains
 * the worker pool and the writer before returning. Returns 0 or -1.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

int server_run(void);

#endif
