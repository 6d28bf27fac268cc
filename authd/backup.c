/*
 * Backup and restore (backup.h): the manifest and its MAC, the LMDB copy
 * and its installation, and pg_dump / pg_restore run as child processes
 * (their output goes to authd's standard error). Everything here runs with
 * umask 077, and writes only into folders it made itself or with O_EXCL,
 * so a folder prepared by someone else cannot redirect a write.
 */
#include "backup.h"

#include "keys.h"

#include <log.h>
#include <store.h>
#include <util.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BACKUP_VERSION 1
#define MANIFEST       "authd-backup.json"
#define PG_DUMP_FILE   "authd.pgdump"
#define MAC_LEN	       32

extern char **environ;

static int sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

static unsigned key_flags(const struct authd_config *c)
{
	return strncmp(c->key_file, "credential:", 11) == 0 ? KEYS_F_CREDENTIAL : 0;
}

/* The key file's keys (never creating one): -1 (logged) when it cannot be
 * read. The caller releases k. */
static int load_keys(const struct authd_config *c, const char *key_path, struct authd_keys *k)
{
	if (keys_load(k, key_path, key_flags(c)) != 0) {
		log_err(
		    "the key file %.256s is needed (a backup is useless without it): restore it "
		    "first from where you keep it apart from the data, or name it with "
		    "--key-file",
		    key_path);
		return -1;
	}
	return 0;
}

/*
 * Copies from into a new file `to` (O_EXCL, so never through a link
 * someone planted; 0600) when `to` is not NULL, and computes the HMAC of
 * the bytes read under key either way. Synced. 0 or -1 (logged).
 */
static int copy_and_mac(const char *from, const char *to, const uint8_t key[KEYS_LEN],
			uint8_t mac[MAC_LEN])
{
	static char buf[1 << 16];
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = to ? open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	size_t mac_len = 0;
	ssize_t n = 0;
	int rc = -1;

	if (in < 0 || (to && out < 0) || ctx == NULL ||
	    EVP_MAC_init(ctx, key, KEYS_LEN, params) != 1)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (EVP_MAC_update(ctx, (const unsigned char *)buf, (size_t)n) != 1)
			goto out;
		for (ssize_t done = 0, w; to && done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) <= 0)
				goto out;
	}
	if (n == 0 && (!to || fsync(out) == 0) && EVP_MAC_final(ctx, mac, &mac_len, MAC_LEN) == 1 &&
	    mac_len == MAC_LEN)
		rc = 0;
out:
	if (rc != 0)
		log_err("cannot read %.256s%s%.256s: %s", from, to ? " into " : "", to ? to : "",
			strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return rc;
}

/*
 * Runs PostgreSQL's tool argv[0] (looked up in PATH) on the configured
 * database and waits; 0 when it exits 0. The connection goes through a
 * service file in a memfd the child inherits (store_pg_service_write), so
 * the password is on no command line and on no disk, and nothing is left
 * behind if this process is killed.
 */
static int run_pg(const struct authd_config *c, char *const argv[])
{
	char file_env[64];
	char **envp = NULL;
	size_t n = 0;
	pid_t pid;
	int status = -1;
	int fd = memfd_create("authd-pg-service", 0); /* inherited: no MFD_CLOEXEC */
	int rc = -1;

	if (fd < 0) {
		log_err("cannot make a memfd: %s", strerror(errno));
		return -1;
	}
	if (store_pg_service_write(c->url, fd) != 0)
		goto out;
	snprintf(file_env, sizeof(file_env), "PGSERVICEFILE=/proc/self/fd/%d", fd);
	while (environ[n])
		n++;
	if ((envp = calloc(n + 3, sizeof(*envp))) == NULL)
		goto out;
	n = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "PGSERVICE", 9) != 0 && strncmp(*e, "PGDATABASE=", 11) != 0)
			envp[n++] = *e;
	envp[n++] = file_env;
	envp[n++] = "PGSERVICE=authd";
	if ((rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, envp)) != 0) {
		log_err("cannot run %s: %s", argv[0], strerror(rc));
		rc = -1;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	if (rc != 0)
		log_err("%s failed (status %d)", argv[0],
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
out:
	free(envp);
	close(fd);
	return rc;
}

/* The key file's generations, each with its fingerprint (a one-way name
 * of its keys): [{"generation": 1, "fingerprint": "hex"}, ...]. */
static json_t *generations_json(void)
{
	const struct keys_seals *s = keys_seals();
	json_t *a = json_array();
	char fp[17];

	for (unsigned i = 0; a && i < s->n_held; i++) {
		snprintf(fp, sizeof(fp), "%016llx",
			 (unsigned long long)keys_fingerprint(s, s->held[i]));
		if (json_array_append_new(a, json_pack("{s:i, s:s}", "generation", s->held[i],
						       "fingerprint", fp)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int write_manifest(const struct authd_config *c, const char *dir, const char *key_id,
			  const char *mac)
{
	char path[1100], tmp[1100], made[32];
	time_t now = time(NULL);
	json_t *gens = NULL, *m = NULL;
	char *text = NULL;
	struct tm tm;
	int fd = -1;
	int rc = -1;

	gmtime_r(&now, &tm);
	strftime(made, sizeof(made), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	errno = ENOMEM;
	if ((gens = generations_json()) == NULL)
		goto out;
	m = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:O, s:s}", "authd_backup", BACKUP_VERSION,
		      "engine", c->engine, "made_at", made, "authd", AUTHD_VERSION, "node",
		      c->node_id, "key_id", key_id, "key_generations", gens, "mac", mac);
	snprintf(tmp, sizeof(tmp), "%s/" MANIFEST ".tmp", dir);
	if (m == NULL || (text = json_dumps(m, JSON_INDENT(2))) == NULL)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) != 0)
		goto out;
	close(fd);
	fd = -1;
	if (rename(tmp, path) == 0 && sync_path(dir, O_RDONLY | O_DIRECTORY) == 0)
		rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(m);
	json_decref(gens);
	if (rc != 0)
		log_err("cannot write %.256s: %s", path, strerror(errno));
	return rc;
}

int backup_make(const struct authd_config *c, const char *key_path, const char *dir)
{
	struct authd_keys k;
	char key_id[KEYS_ID_LEN * 2 + 1], mac_hex[MAC_LEN * 2 + 1], path[1100], lock[1100];
	uint8_t mac[MAC_LEN];
	int rc = -1;

	umask(077);
	if (load_keys(c, key_path, &k) != 0)
		return -1;
	authd_hex(k.id, KEYS_ID_LEN, key_id);
	/* Only a folder made here: one that exists may be someone else's. */
	if (mkdir(dir, 0700) != 0) {
		log_err("cannot make %.256s: %s (a backup goes into a new folder)", dir,
			strerror(errno));
		goto out;
	}
	if (strcmp(c->engine, "postgresql") == 0) {
		snprintf(path, sizeof(path), "%s/" PG_DUMP_FILE, dir);
		char *argv[] = {"pg_dump",
				"--format=custom",
				"--no-owner",
				"--no-privileges",
				"--dbname=service=authd",
				"--file",
				path,
				NULL};

		if (run_pg(c, argv) != 0 || sync_path(path, O_RDONLY) != 0)
			goto out;
	} else {
		/* Opening the environment makes its lock file when it is not
		 * there, owned by whoever runs this: only beside a store that a
		 * server has opened. */
		snprintf(lock, sizeof(lock), "%s/lock.mdb", c->data_dir);
		snprintf(path, sizeof(path), "%s/data.mdb", c->data_dir);
		if (access(path, R_OK) != 0 || access(lock, R_OK | W_OK) != 0) {
			log_err("no LMDB environment that authd has opened in %.256s", c->data_dir);
			goto out;
		}
		if (store_lmdb_copy(c->data_dir, dir) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
	}
	if (copy_and_mac(path, NULL, k.archive, mac) != 0)
		goto out;
	authd_hex(mac, MAC_LEN, mac_hex);
	if (write_manifest(c, dir, key_id, mac_hex) != 0)
		goto out;
	log_info("backup made engine=%s dir=%.256s key_id=%s", c->engine, dir, key_id);
	rc = 0;
out:
	keys_release(&k);
	return rc;
}

/*
 * Whether the key file holds every generation the backup's key file held,
 * each under the same secret (its fingerprint): what the backup's TOTP
 * seeds, queued messages and documents are sealed with is among them, and
 * a restore that could not open them would lock every second factor out.
 * A manifest from before generations were listed has none to check.
 */
static int check_generations(const json_t *list, const char *key_path)
{
	const struct keys_seals *s = keys_seals();
	char missing[256] = "";
	size_t used = 0, i;
	json_t *g;

	if (list == NULL)
		return 0;
	if (!json_is_array(list))
		goto wrong;
	json_array_foreach(list, i, g)
	{
		json_int_t n = json_integer_value(json_object_get(g, "generation"));
		const char *fp = json_string_value(json_object_get(g, "fingerprint"));
		char held[17];

		if (n < 1 || n >= SEAL_GENERATIONS || fp == NULL)
			goto wrong;
		snprintf(held, sizeof(held), "%016llx",
			 (unsigned long long)keys_fingerprint(s, (uint8_t)n));
		if (strcmp(held, fp) != 0 && used + 8 < sizeof(missing))
			used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%lld",
						 used ? ", " : "", (long long)n);
	}
	if (used == 0)
		return 0;
	log_err("the key file %.256s lacks key generation(s) %s of the backup's key file (or "
		"holds another secret under that number): what the backup sealed with them "
		"(TOTP seeds, queued messages, documents) would not open. Restore with the key "
		"file the backup was made with, or a later one that still holds them",
		key_path, missing);
	return -1;
wrong:
	log_err("the backup's manifest lists its key generations wrongly");
	return -1;
}

/* Reads dir's manifest; checks its version and engine against c, its key
 * id against k's, and that k holds the generations it lists. Its MAC goes
 * to mac. */
static int check_manifest(const struct authd_config *c, const struct authd_keys *k,
			  const char *key_path, const char *dir, uint8_t mac[MAC_LEN])
{
	char path[1100], key_id[KEYS_ID_LEN * 2 + 1];
	const char *engine = NULL, *id = NULL, *mac_hex = NULL;
	json_error_t jerr;
	json_t *m;
	int version = 0;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/" MANIFEST, dir);
	if ((m = json_load_file(path, 0, &jerr)) == NULL ||
	    json_unpack(m, "{s:i, s:s, s:s, s:s}", "authd_backup", &version, "engine", &engine,
			"key_id", &id, "mac", &mac_hex) != 0 ||
	    version != BACKUP_VERSION || strlen(mac_hex) != MAC_LEN * 2 ||
	    authd_unhex(mac_hex, MAC_LEN * 2, mac, MAC_LEN) != 0) {
		log_err("%.256s is not an authd backup's manifest (version %d)", path,
			BACKUP_VERSION);
		goto out;
	}
	if (strcmp(engine, c->engine) != 0) {
		log_err("the backup is of a %.16s store and this one is %s (authd export and "
			"import move data between engines)",
			engine, c->engine);
		goto out;
	}
	authd_hex(k->id, KEYS_ID_LEN, key_id);
	if (strcmp(key_id, id) != 0) {
		log_err(
		    "the key file %.256s (id %s) is not the backup's (id %.16s): restore the key "
		    "file the backup was made with",
		    key_path, key_id, id);
		goto out;
	}
	if (check_generations(json_object_get(m, "key_generations"), key_path) != 0)
		goto out;
	rc = 0;
out:
	json_decref(m);
	return rc;
}

/*
 * The backup's data file, copied into a private file and checked against
 * the manifest's MAC there (what is checked is what gets restored, even
 * if the folder changes meanwhile). 0, or -1 (logged; the copy removed).
 */
static int take_checked(const char *from, const char *to, const struct authd_keys *k,
			const uint8_t want[MAC_LEN])
{
	uint8_t mac[MAC_LEN];

	if (copy_and_mac(from, to, k->archive, mac) != 0) {
		unlink(to);
		return -1;
	}
	if (CRYPTO_memcmp(mac, want, MAC_LEN) != 0) {
		log_err(
		    "%.256s does not match its manifest: altered or damaged, it is not restored",
		    from);
		unlink(to);
		return -1;
	}
	return 0;
}

static int restore_pg(const struct authd_config *c, const struct authd_keys *k, const char *dir,
		      const uint8_t mac[MAC_LEN])
{
	char from[1100], tdir[] = "/tmp/authd-restore-XXXXXX", to[64];
	int rc = -1;

	snprintf(from, sizeof(from), "%s/" PG_DUMP_FILE, dir);
	if (mkdtemp(tdir) == NULL) {
		log_err("cannot make a folder in /tmp: %s", strerror(errno));
		return -1;
	}
	snprintf(to, sizeof(to), "%s/" PG_DUMP_FILE, tdir);
	if (take_checked(from, to, k, mac) == 0) {
		char *argv[] = {"pg_restore",
				"--exit-on-error",
				"--single-transaction",
				"--no-owner",
				"--no-privileges",
				"--dbname=service=authd",
				to,
				NULL};

		rc = run_pg(c, argv);
		if (rc != 0)
			log_err(
			    "pg_restore refused the backup: restore into a new, empty database");
		unlink(to);
	}
	rmdir(tdir);
	return rc;
}

static int restore_lmdb(const struct authd_config *c, const struct authd_keys *k, const char *dir,
			const uint8_t mac[MAC_LEN])
{
	char from[1100], to[1100], tmp[1100];
	struct stat st;

	snprintf(from, sizeof(from), "%s/data.mdb", dir);
	snprintf(to, sizeof(to), "%s/data.mdb", c->data_dir);
	snprintf(tmp, sizeof(tmp), "%s/data.mdb.restoring", c->data_dir);
	if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create %.256s: %s", c->data_dir, strerror(errno));
		return -1;
	}
	if (access(to, F_OK) == 0) {
		log_err("%.256s already holds a database: restore into a new data directory",
			c->data_dir);
		return -1;
	}
	unlink(tmp); /* a restore that was interrupted */
	if (take_checked(from, tmp, k, mac) != 0)
		return -1;
	/* The data directory's owner (the service's user, when root
	 * restores) owns the data. */
	if (stat(c->data_dir, &st) == 0 && st.st_uid != geteuid() &&
	    chown(tmp, st.st_uid, st.st_gid) != 0) {
		log_err("cannot give %.256s to the data directory's owner: %s", tmp,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* link(), not rename(): a database that appeared meanwhile (a server
	 * started) is never replaced. */
	if (link(tmp, to) != 0) {
		log_err("cannot put the database in %.256s: %s", c->data_dir, strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	return sync_path(c->data_dir, O_RDONLY | O_DIRECTORY);
}

int backup_restore(const struct authd_config *c, const char *key_path, const char *dir)
{
	struct authd_keys k;
	uint8_t mac[MAC_LEN];
	int rc = -1;

	umask(077);
	if (load_keys(c, key_path, &k) != 0)
		return -1;
	if (check_manifest(c, &k, key_path, dir, mac) != 0)
		goto out;
	rc = strcmp(c->engine, "postgresql") == 0 ? restore_pg(c, &k, dir, mac)
						  : restore_lmdb(c, &k, dir, mac);
	if (rc == 0)
		log_info("backup restored engine=%s from=%.256s", c->engine, dir);
out:
	keys_release(&k);
	return rc;
}
