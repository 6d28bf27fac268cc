/*
 * authd export / authd import (transfer.c): moving an install between
 * engines through a file of JSON lines. Both run without the server, on a
 * store opened with transfer_complete() as its completion function.
 */
#ifndef AUTHD_TRANSFER_H
#define AUTHD_TRANSFER_H

#include <store.h>

/* The completion function for store_open in these commands. */
void transfer_complete(struct job *job);

/* Writes every record that moves into a new file at path (0600; it must not
 * exist). engine names the source in the file's first line. Returns 0 or
 * -1 (logged; the file is removed). */
int transfer_export(const char *path, const char *engine);

/* Writes the records of an export file into the (empty) store. Returns 0
 * or -1 (logged). A failure may leave earlier batches written: start again
 * on a new database. */
int transfer_import(const char *path);

#endif
