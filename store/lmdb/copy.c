/*
 * A hot copy of the LMDB environment (store.h's store_lmdb_copy): this
 * process opens the environment read-only beside the server (LMDB allows
 * many processes; a reader never blocks the writer) and writes a
 * compacted copy from one read transaction, so the copy is one commit's
 * state.
 */
#include "lmdb-internal.h"

#include <log.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int store_lmdb_copy(const char *data_dir, const char *dir)
{
	MDB_env *e = NULL;
	char path[1100];
	int fd;
	int rc;

	if ((rc = mdb_env_create(&e)) != 0 || (rc = mdb_env_set_maxdbs(e, 64)) != 0 ||
	    (rc = mdb_env_open(e, data_dir, MDB_RDONLY | MDB_NOTLS, 0600)) != 0) {
		log_err("cannot open LMDB in %.256s: %s", data_dir, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_env_copy2(e, dir, MDB_CP_COMPACT)) != 0) {
		log_err("cannot copy LMDB into %.256s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	mdb_env_close(e);
	/* mdb_env_copy2 writes but does not sync: make the copy durable. */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		log_err("cannot sync %.256s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return STORE_E_IO;
	}
	close(fd);
	return 0;
fail:
	if (e)
		mdb_env_close(e);
	return STORE_E_IO;
}
