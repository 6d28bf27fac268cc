/*
 * authd's entry point: flags, configuration, keys, storage, then the server.
 * Flags override the config file, which overrides the embedded defaults.
 */
#include "rotation.h"
#include "async.h"
#include "backup.h"
#include "cluster.h"
#include "config.h"
#include "factors.h"
#include "geoip.h"
#include "http.h"
#include "keys.h"
#include "outbox.h"
#include "invoices.h"
#include "provider.h"
#include "renewal.h"
#include <log.h>
#include "password.h"
#include "server.h"
#include "staff.h"
#include "transfer.h"
#include "wake.h"
#include "session.h"
#include <store.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <otp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: authd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]\n"
		   "             [--key-file FILE] [--node-id NAME]\n"
		   "             [--log-level error|warn|info|debug]\n"
		   "             [--test-clock] [--version]\n"
		   "             [serve | migrate | export FILE | import FILE | backup DIR |\n"
		   "              restore DIR | keys list | keys add | keys drop G]\n"
		   "  serve        run the server (the default)\n"
		   "  migrate      create or upgrade the store's schema (PostgreSQL), then exit\n"
		   "  export FILE  write every account, organization, membership and second\n"
		   "               factor (secrets as stored: hashed or sealed) to a new file\n"
		   "  import FILE  write an export into this (new, empty) store\n"
		   "  backup DIR   a hot backup of the store into a new folder (LMDB: a compacted\n"
		   "               copy; PostgreSQL: pg_dump), while authd may be serving\n"
		   "  restore DIR  put a backup into this new store (the key file must be the\n"
		   "               backup's and in place)\n"
		   "  keys list    the key file's generations\n"
		   "  keys add     add a key generation to the key file (as its owner; the\n"
		   "               running authd reads it on SIGHUP: then authctl activate-key)\n"
		   "  keys drop G  drop generation G from the key file (never the newest; run\n"
		   "               authctl retire-key G first: it checks nothing uses it)\n");
}

/* A key file in the data directory goes wherever the data goes (a backup,
 * a copy to another machine), and a copy of the data with the key verifies
 * every password: say so. */
static void warn_key_beside_data(const char *key_path, const char *data_dir)
{
	char key_real[PATH_MAX], dir_real[PATH_MAX];
	size_t n;

	if (realpath(key_path, key_real) == NULL || realpath(data_dir, dir_real) == NULL)
		return;
	n = strlen(dir_real);
	if (strncmp(key_real, dir_real, n) == 0 && key_real[n] == '/')
		log_warn("key file %.256s is inside the data directory: keep a copy apart from "
			 "the data, and consider [storage] key_file outside it",
			 key_path);
}

/* What the command line said, kept for a reload (SIGHUP), which builds
 * the configuration again the same way. */
static struct {
	const char *config_file, *listen, *data_dir, *level, *node_id, *key_file;
	bool test_clock;
} flags;

/* Embedded defaults, then the config file, then the flags; validated.
 * 0, or -1 with a message in err. */
static int build_config(struct authd_config *c, char *err, size_t err_size)
{
	config_defaults(c);
	if (flags.config_file && config_load_file(c, flags.config_file, err, err_size) != 0)
		return -1;
	if (flags.listen && config_set_listen(c, flags.listen) != 0) {
		snprintf(err, err_size, "--listen wants ADDR:PORT");
		return -1;
	}
	if (flags.data_dir)
		snprintf(c->data_dir, sizeof(c->data_dir), "%s", flags.data_dir);
	if (flags.key_file && snprintf(c->key_file, sizeof(c->key_file), "%s", flags.key_file) >=
				  (int)sizeof(c->key_file)) {
		snprintf(err, err_size, "--key-file is too long");
		return -1;
	}
	if (flags.level)
		snprintf(c->log_level, sizeof(c->log_level), "%s", flags.level);
	if (flags.test_clock)
		c->test_clock = true;
	if (flags.node_id)
		snprintf(c->node_id, sizeof(c->node_id), "%s", flags.node_id);
	if (c->node_id[0] == '\0' && gethostname(c->node_id, sizeof(c->node_id)) != 0)
		snprintf(c->node_id, sizeof(c->node_id), "authd");
	c->node_id[sizeof(c->node_id) - 1] = '\0';
	return config_validate(c, err, err_size);
}

/* Where the key file is: [storage] key_file (a path, or systemd's
 * credential:NAME), else <data_dir>/secret.key (the data directory made
 * when make_dir). 0, or -1 (logged). */
static int key_path_of(const struct authd_config *c, char *out, size_t size, bool make_dir)
{
	if (strncmp(c->key_file, "credential:", 11) == 0) {
		/* systemd's LoadCredential= (debian/authd.service): a copy
		 * only this service reads, made before it starts. */
		const char *dir = getenv("CREDENTIALS_DIRECTORY");

		if (dir == NULL || strchr(c->key_file + 11, '/') != NULL) {
			log_err("[storage] key_file = %.128s needs systemd's LoadCredential= (no "
				"CREDENTIALS_DIRECTORY), and names a credential, not a path",
				c->key_file);
			return -1;
		}
		if (snprintf(out, size, "%s/%s", dir, c->key_file + 11) >= (int)size) {
			log_err("CREDENTIALS_DIRECTORY is too long");
			return -1;
		}
		if (access(out, R_OK) != 0) {
			log_err("credential %.128s is missing: LoadCredential=%s:... in the unit",
				c->key_file + 11, c->key_file + 11);
			return -1;
		}
		return 0;
	}
	if (c->key_file[0]) {
		snprintf(out, size, "%s", c->key_file);
		return 0;
	}
	/* On PostgreSQL the data directory holds only the key file. */
	if (make_dir && mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create data dir %.256s: %s", c->data_dir, strerror(errno));
		return -1;
	}
	snprintf(out, size, "%s/secret.key", c->data_dir);
	return 0;
}

/* authd keys list|add|drop G on the key file at path (never a credential
 * copy: name the file it copies with --key-file). Exit status. */
static int keys_command(const char *path, const char *verb, const char *arg)
{
	uint8_t held[KEYS_GEN_MAX], g = 0;
	char err[256], *end = NULL;
	unsigned n = 0;
	long v;

	if (verb == NULL)
		return 2;
	if (strcmp(verb, "list") == 0) {
		if (keys_file_list(path, 0, held, &n, err, sizeof(err)) != 0)
			goto fail;
		printf("key file %s: generations", path);
		for (unsigned i = 0; i < n; i++)
			printf(" %u", held[i]);
		printf("\n");
		return 0;
	}
	if (strcmp(verb, "add") == 0) {
		if (keys_file_add(path, 0, &g, err, sizeof(err)) != 0)
			goto fail;
		printf("key file %s: generation %u added. Reload every authd that uses this key "
		       "file (SIGHUP), then: authctl activate-key %u\n",
		       path, g, g);
		return 0;
	}
	if (arg == NULL)
		return 2;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || v < 1 || v > KEYS_GEN_MAX) {
		fprintf(stderr, "authd: %s is not a key generation (1 to 255)\n", arg);
		return 2;
	}
	/* The newest is what a node seals with, or is about to: never dropped
	 * here (authctl retire-key checks the store's census first). */
	if (keys_file_list(path, 0, held, &n, err, sizeof(err)) != 0)
		goto fail;
	if (n > 0 && held[n - 1] == v) {
		fprintf(stderr,
			"authd: generation %ld is the key file's newest: not dropped (check with "
			"authctl keys that nothing uses an older one, and drop that)\n",
			v);
		return 1;
	}
	if (keys_file_drop(path, 0, (uint8_t)v, err, sizeof(err)) != 0)
		goto fail;
	printf("key file %s: generation %ld dropped. Reload every authd that uses it (SIGHUP)\n",
	       path, v);
	return 0;
fail:
	fprintf(stderr, "authd: key file %s: %s\n", path, err);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},	{"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'}, {"log-level", required_argument, NULL, 'L'},
	    {"test-clock", no_argument, NULL, 'T'},	{"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},		{"node-id", required_argument, NULL, 'N'},
	    {"key-file", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0},
	};
	const char *command = "serve", *transfer_path = NULL, *keys_verb = NULL, *keys_arg = NULL;
	char err[512];
	char key_path[600];
	int c;
	int rc = 1;

	/* SIGHUP (a reload) and the stop signals wait, blocked, until the
	 * server's signal thread takes them (server.c): one that comes while
	 * authd starts is not its death. */
	{
		sigset_t early;

		sigemptyset(&early);
		sigaddset(&early, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &early, NULL);
	}
	while ((c = getopt_long(argc, argv, "c:l:d:L:N:K:TVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			flags.config_file = optarg;
			break;
		case 'l':
			flags.listen = optarg;
			break;
		case 'd':
			flags.data_dir = optarg;
			break;
		case 'L':
			flags.level = optarg;
			break;
		case 'T':
			flags.test_clock = true;
			break;
		case 'N':
			flags.node_id = optarg;
			break;
		case 'K':
			flags.key_file = optarg;
			break;
		case 'V':
			printf("authd %s%s\n", AUTHD_VERSION,
			       authd_test_build() ? " (test build)" : "");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		command = argv[optind++];
	if (strcmp(command, "export") == 0 || strcmp(command, "import") == 0 ||
	    strcmp(command, "backup") == 0 || strcmp(command, "restore") == 0) {
		if (optind == argc) {
			usage(stderr);
			return 2;
		}
		transfer_path = argv[optind++];
	} else if (strcmp(command, "keys") == 0) {
		if (optind == argc) {
			usage(stderr);
			return 2;
		}
		keys_verb = argv[optind++];
		if (strcmp(keys_verb, "drop") == 0 && optind < argc)
			keys_arg = argv[optind++];
		if ((strcmp(keys_verb, "drop") == 0) != (keys_arg != NULL) ||
		    (strcmp(keys_verb, "add") != 0 && strcmp(keys_verb, "list") != 0 &&
		     strcmp(keys_verb, "drop") != 0)) {
			usage(stderr);
			return 2;
		}
	} else if (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0) {
		usage(stderr);
		return 2;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	json_wiping_init();
	if (build_config(&srv.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authd: %s\n", err);
		return 2;
	}
	srv.config_build = build_config;
	log_set_level((enum log_level)log_level_parse(srv.cfg.log_level));
	log_set_format((enum log_format)log_format_parse(srv.cfg.log_format));
	log_set_node(srv.cfg.node_id);
	log_limit_set(
	    &(struct log_limits){srv.cfg.log_refusal_burst, srv.cfg.log_refusal_interval_s,
				 srv.cfg.log_refusal_lines_max, srv.cfg.log_refusal_summaries_max});
	if (proxy_list_parse(&srv.proxies, srv.cfg.trusted_proxies) != 0)
		AUTHD_BUG("trusted_proxies passed validation but does not parse");
	if (staff_setup(&srv.cfg, err, sizeof(err)) != 0 ||
	    invoices_setup(&srv.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "authd: %s\n", err);
		return 2;
	}
	if (otp_global_init() != 0) {
		log_err("cannot initialise liboath");
		return 1;
	}
	struct store_options so = {
	    .data_dir = srv.cfg.data_dir,
	    .map_size_mb = srv.cfg.map_size_mb,
	    .url = srv.cfg.url,
	    .connections = srv.cfg.connections,
	    .complete = async_complete,
	    .notified = cluster_notified,
	};
	bool empty = false;

	if (store_engine_parse(srv.cfg.engine, &so.engine) != 0) {
		log_err("unknown storage engine %.16s", srv.cfg.engine);
		return 2;
	}
	if (strcmp(command, "migrate") == 0) {
		rc = store_migrate(&so) == 0 ? 0 : 1;
		if (rc == 0)
			log_info("store schema is up to date (engine %s)", srv.cfg.engine);
		return rc;
	}
	if (strcmp(command, "keys") == 0) {
		if (key_path_of(&srv.cfg, key_path, sizeof(key_path), false) != 0)
			return 1;
		return keys_command(key_path, keys_verb, keys_arg);
	}
	if (strcmp(command, "backup") == 0 || strcmp(command, "restore") == 0) {
		/* Neither opens the store the usual way: a backup reads beside
		 * a server that may be running, a restore writes a new store. */
		if (key_path_of(&srv.cfg, key_path, sizeof(key_path), false) != 0)
			return 1;
		rc = strcmp(command, "backup") == 0
			 ? backup_make(&srv.cfg, key_path, transfer_path)
			 : backup_restore(&srv.cfg, key_path, transfer_path);
		return rc == 0 ? 0 : 1;
	}
	if (transfer_path) {
		so.complete = transfer_complete;
		if (store_open(&so) != 0)
			return 1;
		if (store_start() != 0) {
			store_close();
			return 1;
		}
		rc = strcmp(command, "export") == 0 ? transfer_export(transfer_path, srv.cfg.engine)
						    : transfer_import(transfer_path);
		store_close();
		return rc == 0 ? 0 : 1;
	}
	if (store_open(&so) != 0)
		return 1;
	if (store_is_empty(&empty) != 0) {
		log_err("cannot read the store");
		goto out;
	}
	if (key_path_of(&srv.cfg, key_path, sizeof(key_path), true) != 0)
		goto out;
	/* A missing key file with accounts in the database is an operator
	 * mistake (restored data without its key): a new key would make every
	 * password and TOTP seed unusable, so refuse instead. */
	if (access(key_path, F_OK) != 0 && !empty) {
		log_err("key file %.256s is missing but the database holds accounts; restore the "
			"key file (a new key would lock every account out)",
			key_path);
		goto out;
	}
	if (keys_load(&srv.keys, key_path,
		      strncmp(srv.cfg.key_file, "credential:", 11) == 0 ? KEYS_F_CREDENTIAL
									: KEYS_F_CREATE) != 0)
		goto out;
	warn_key_beside_data(key_path, srv.cfg.data_dir);
	if (rotation_setup() != 0)
		goto out;
	if (geoip_open(srv.cfg.geoip_db) != 0)
		goto out;
	factor_setup();
	provider_setup(&srv.cfg);
	renewal_setup(&srv.cfg);
	if (outbox_setup(&srv.cfg) != 0)
		goto out;
	password_setup(srv.keys.pepper, (struct password_cost){srv.cfg.argon2_m_kib,
							       srv.cfg.argon2_t, srv.cfg.argon2_p});
	if (password_init_dummy() != 0) {
		log_err("cannot hash with argon2id at m=%u KiB t=%u p=%u", srv.cfg.argon2_m_kib,
			srv.cfg.argon2_t, srv.cfg.argon2_p);
		goto out;
	}
	log_info("authd %s node=%.64s engine=%s data_dir=%s argon2id m=%u t=%u p=%u%s",
		 AUTHD_VERSION, srv.cfg.node_id, srv.cfg.engine, srv.cfg.data_dir,
		 srv.cfg.argon2_m_kib, srv.cfg.argon2_t, srv.cfg.argon2_p,
		 authd_test_build() ? " (test build)" : "");
	if (wake_start(srv.cfg.wake_url, srv.cfg.wake_authorization) != 0)
		goto out;
	rc = server_run() == 0 ? 0 : 1;
	wake_stop();
out:
	store_close();
	geoip_close();
	outbox_release();
	session_csrf_free();
	keys_release(&srv.keys);
	return rc;
}
