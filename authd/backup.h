/*
 * authd backup DIR / authd restore DIR: a hot backup of the store and its
 * restore into a new one.
 *
 * On LMDB the backup is a compacted copy of the environment made from one
 * read transaction beside the running server (store_lmdb_copy); on
 * PostgreSQL it is pg_dump's custom format (one snapshot), restored by
 * pg_restore into an empty database in one transaction. Either way DIR
 * also gets authd-backup.json: the engine, when, which authd, and the key
 * file's public id. The key file itself is not copied (keep it apart from
 * the data); a restore refuses to run without the same key file, since the
 * data would be useless without it.
 */
#ifndef AUTHD_BACKUP_H
#define AUTHD_BACKUP_H

#include "config.h"

/* Makes a backup of the store c names into dir (created 0700; an existing
 * one must be empty). key_path is the key file (read, never created).
 * Returns 0 or -1 (logged). */
int backup_make(const struct authd_config *c, const char *key_path, const char *dir);

/* Restores the backup in dir into the store c names, which must be new
 * (LMDB: no data.mdb in the data directory; PostgreSQL: a database
 * without authd's schema), after checking that the key file at key_path
 * is the backup's. Returns 0 or -1 (logged). */
int backup_restore(const struct authd_config *c, const char *key_path, const char *dir);

#endif
