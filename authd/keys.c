/*
 * The key file, HKDF derivation, the seal generations and the AES-256-GCM
 * seal. The file's secrets are wiped as soon as the purpose keys exist;
 * published seal sets live until exit (keys.h says why).
 */
#include "keys.h"

#include <log.h>
#include <util.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes the new file's directory entry durable too: 0, or -1. */
static int sync_parent_dir(const char *path)
{
	char dir[600];
	char *slash;
	int fd, rc = -1;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	return rc;
}

/* The key file's contents: a root and the generations it holds (the
 * first's secret is the root itself). Wiped after use. */
struct keyfile {
	uint8_t root[KEYS_LEN];
	bool held[SEAL_GENERATIONS];
	uint8_t secret[SEAL_GENERATIONS][KEYS_LEN];
	unsigned last;	/* the highest generation ever added: numbers are never reused */
	struct stat st; /* the file's, for a rewrite to keep its owner and mode */
};

#define KEYFILE_MAGIC "authd-key-file 2"
#define KEYFILE_MAX   (64 + 80 * SEAL_GENERATIONS)

static void keyfile_wipe(struct keyfile *kf)
{
	OPENSSL_cleanse(kf, sizeof(*kf));
}

static int hex_key(const char *s, size_t len, uint8_t out[KEYS_LEN])
{
	return len == 2 * KEYS_LEN && authd_unhex(s, len, out, KEYS_LEN) == 0 ? 0 : -1;
}

/* Parses the text form: the magic line, `root HEX`, then one line per
 * generation, `generation N root` (the first) or `generation N HEX`. */
static int parse_text(char *text, struct keyfile *kf, char *err, size_t err_size)
{
	bool have_root = false;
	unsigned line_no = 0, n_held = 0;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char value[2 * KEYS_LEN + 1], *end = NULL;
		unsigned g;
		int used = 0;

		line_no++;
		if (line_no == 1) {
			if (strcmp(line, KEYFILE_MAGIC) != 0)
				goto bad;
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "root %64s%n", value, &used) == 1 && line[used] == '\0' &&
		    !have_root && hex_key(value, strlen(value), kf->root) == 0) {
			have_root = true;
			continue;
		}
		if (strncmp(line, "last ", 5) == 0 && line[5] >= '1' && line[5] <= '9' &&
		    (g = (unsigned)strtoul(line + 5, &end, 10)) <= KEYS_GEN_MAX && *end == '\0' &&
		    end - (line + 5) <= 3 && kf->last == 0) {
			kf->last = g;
			continue;
		}
		if (strncmp(line, "generation ", 11) == 0 && line[11] >= '1' && line[11] <= '9' &&
		    (g = (unsigned)strtoul(line + 11, &end, 10)) <= KEYS_GEN_MAX &&
		    end - (line + 11) <= 3 && sscanf(end, " %64s%n", value, &used) == 1 &&
		    end[used] == '\0' && end[0] == ' ' && !kf->held[g]) {
			if (g == 1 && strcmp(value, "root") == 0) {
				kf->held[1] = true;
				n_held++;
				continue;
			}
			if (g > 1 && hex_key(value, strlen(value), kf->secret[g]) == 0) {
				kf->held[g] = true;
				n_held++;
				continue;
			}
		}
	bad:
		snprintf(err, err_size, "line %u is not a key file's", line_no);
		return -1;
	}
	if (!have_root || n_held == 0) {
		snprintf(err, err_size, "it holds no %s", have_root ? "generation" : "root");
		return -1;
	}
	for (unsigned g = kf->last + 1; kf->last != 0 && g <= KEYS_GEN_MAX; g++) {
		if (kf->held[g]) {
			snprintf(err, err_size, "generation %u is above its last (%u)", g,
				 kf->last);
			return -1;
		}
	}
	if (kf->held[1])
		memcpy(kf->secret[1], kf->root, KEYS_LEN);
	return 0;
}

/* Reads the key file at path into kf, creating it (a root, generation 1)
 * when missing and flags say so. 0, or -1 with err. */
static int keyfile_read(const char *path, unsigned flags, struct keyfile *kf, char *err,
			size_t err_size)
{
	char *text = NULL;
	ssize_t n;
	int fd, rc = -1;

	memset(kf, 0, sizeof(*kf));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && (flags & KEYS_F_CREATE)) {
		authd_random(kf->root, KEYS_LEN);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, err_size, "cannot create it: %s", strerror(errno));
			goto out;
		}
		n = write(fd, kf->root, KEYS_LEN);
		if (n != KEYS_LEN || fsync(fd) != 0 || fstat(fd, &kf->st) != 0) {
			snprintf(err, err_size, "cannot write it");
			close(fd);
			fd = -1;
			unlink(path);
			goto out;
		}
		close(fd);
		fd = -1;
		if (sync_parent_dir(path) != 0) {
			snprintf(err, err_size, "cannot sync its folder");
			goto out;
		}
		log_info("created key file %.256s", path);
		kf->held[1] = true;
		memcpy(kf->secret[1], kf->root, KEYS_LEN);
		return 0;
	}
	if (fd < 0) {
		snprintf(err, err_size, "cannot open it: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &kf->st) != 0) {
		snprintf(err, err_size, "cannot read it: %s", strerror(errno));
		goto out;
	}
	if (!(flags & KEYS_F_CREDENTIAL) && (kf->st.st_mode & 077) != 0) {
		snprintf(err, err_size, "it must not be readable by group or others");
		goto out;
	}
	/* Anyone else who owns it could read it, or replace it with a key of
	 * their choosing. */
	if (!(flags & KEYS_F_CREDENTIAL) && kf->st.st_uid != geteuid()) {
		snprintf(err, err_size, "it must be owned by the user authd runs as (uid %u)",
			 (unsigned)geteuid());
		goto out;
	}
	if (kf->st.st_size == KEYS_LEN) {
		/* The first form: a root alone, generation 1. */
		if (read(fd, kf->root, KEYS_LEN) != KEYS_LEN) {
			snprintf(err, err_size, "cannot read it");
			goto out;
		}
		kf->held[1] = true;
		memcpy(kf->secret[1], kf->root, KEYS_LEN);
		rc = 0;
		goto out;
	}
	if (kf->st.st_size < (off_t)sizeof(KEYFILE_MAGIC) || kf->st.st_size > KEYFILE_MAX ||
	    (text = malloc((size_t)kf->st.st_size + 1)) == NULL) {
		snprintf(err, err_size, "it must hold 32 bytes, or the text authd writes");
		goto out;
	}
	n = read(fd, text, (size_t)kf->st.st_size);
	if (n != kf->st.st_size) {
		snprintf(err, err_size, "cannot read it");
		goto out;
	}
	text[n] = '\0';
	if (strlen(text) != (size_t)n) {
		snprintf(err, err_size, "it must hold 32 bytes, or the text authd writes");
		goto out;
	}
	rc = parse_text(text, kf, err, err_size);
out:
	if (fd >= 0)
		close(fd);
	if (text)
		authd_freezero(text, (size_t)kf->st.st_size + 1);
	if (rc != 0)
		keyfile_wipe(kf);
	return rc;
}

/* Replaces the key file at path with kf's text: a new file beside it
 * (this user's, the old one's mode), synced, renamed over it. */
/* Why systemd's copy is never written. */
static void read_only(char *err, size_t err_size)
{
	snprintf(err, err_size,
		 "the key file is systemd's read-only copy: change the file LoadCredential= "
		 "names (authd keys add --key-file FILE, as its owner), then restart authd");
}

static int keyfile_write(const char *path, unsigned flags, const struct keyfile *kf, char *err,
			 size_t err_size)
{
	char tmp[640], hex[2 * KEYS_LEN + 1];
	char *text = NULL;
	size_t len = 0, cap = KEYFILE_MAX;
	bool made = false;
	int fd = -1, rc = -1;

	if (flags & KEYS_F_CREDENTIAL) {
		read_only(err, err_size);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) ||
	    (text = malloc(cap)) == NULL) {
		snprintf(err, err_size, "the key file's path is too long");
		goto out;
	}
	authd_hex(kf->root, KEYS_LEN, hex);
	len +=
	    (size_t)snprintf(text + len, cap - len,
			     "%s\n# The root keys what never rotates; each generation seals.\n"
			     "# Change it with authctl rotate-keys or authd keys, never by hand.\n"
			     "root %s\nlast %u\n",
			     KEYFILE_MAGIC, hex, kf->last);
	for (unsigned g = 1; g <= KEYS_GEN_MAX; g++) {
		if (!kf->held[g])
			continue;
		if (g == 1)
			snprintf(hex, sizeof(hex), "root");
		else
			authd_hex(kf->secret[g], KEYS_LEN, hex);
		len += (size_t)snprintf(text + len, cap - len, "generation %u %s\n", g, hex);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	/* A name of its own (0600): never one another writer or a planted
	 * link could hold. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, err_size, "cannot write beside the key file: %s", strerror(errno));
		goto out;
	}
	made = true;
	/* The owner stays (root's file, changed by root), and so does a mode
	 * narrower than 0600. */
	if ((geteuid() == 0 && fchown(fd, kf->st.st_uid, kf->st.st_gid) != 0) ||
	    fchmod(fd, kf->st.st_mode & 0600) != 0 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		snprintf(err, err_size, "cannot write the key file: %s", strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, err_size, "cannot replace the key file: %s", strerror(errno));
		goto out;
	}
	made = false;
	if (sync_parent_dir(path) != 0) {
		snprintf(err, err_size, "the key file's folder does not sync: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlink(tmp);
	if (text)
		authd_freezero(text, cap);
	return rc;
}

/*
 * Holds the key file's lock (flock on the file itself) for a change, so
 * that two changes (two requests, or authd keys beside a serving authd)
 * never lose one another's generation: the lock is taken on the file that
 * is at the path once it is held (a change renames a new file over it).
 * Returns the locked descriptor, or -1 with err.
 */
static int keyfile_lock(const char *path, char *err, size_t err_size)
{
	for (int tries = 0; tries < 20; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0) {
			snprintf(err, err_size, "cannot open it: %s", strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX) != 0) {
			snprintf(err, err_size, "cannot lock it: %s", strerror(errno));
			close(fd);
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd); /* replaced while we waited: lock the new one */
	}
	snprintf(err, err_size, "it keeps changing under us");
	return -1;
}

static int derive(const uint8_t master[KEYS_LEN], const char *label, uint8_t out[KEYS_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = KEYS_LEN;
	int rc = -1;

	if (ctx == NULL)
		goto out;
	if (EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, master, KEYS_LEN) <= 0 ||
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)label, (int)strlen(label)) <=
		0 ||
	    EVP_PKEY_derive(ctx, out, &len) <= 0 || len != KEYS_LEN)
		goto out;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* --- the published seal sets ------------------------------------------------------ */

/* Every set published, newest first, freed at exit: a thread may still
 * use an older one. */
struct published {
	struct published *next;
	struct keys_seals s;
};

static struct published *all_sets;
static _Atomic(const struct keys_seals *) now_set;
static const uint8_t *backup_key; /* the root's, for the rules' view */
static char file_path[600];
static unsigned file_flags;
static uint8_t file_id[KEYS_ID_LEN];

/* Sets each ring's current generation: the wanted one if held, else the
 * newest. */
static void choose_current(struct keys_seals *s)
{
	uint8_t g = s->held[0];

	if (s->wanted != 0 && s->totp.key[s->wanted] != NULL &&
	    (s->wanted_fp == 0 || keys_fingerprint(s, s->wanted) == s->wanted_fp)) {
		g = s->wanted;
	} else if (s->wanted != 0) {
		/* Not held, or another secret under its number: the newest
		 * other one (what the nodes sealed with before, most likely). */
		for (unsigned i = s->n_held; i-- > 0;) {
			if (s->held[i] != s->wanted) {
				g = s->held[i];
				break;
			}
		}
	}
	s->totp.current = s->outbox.current = s->documents.current = g;
}

uint64_t keys_fingerprint(const struct keys_seals *s, uint8_t g)
{
	static const char label[] = "authd seal fingerprint v1";
	uint8_t in[sizeof(label) + 3 * KEYS_LEN], md[AUTHD_HASH_LEN];
	uint64_t fp;

	if (g == 0 || s->totp.key[g] == NULL)
		return 0;
	memcpy(in, label, sizeof(label));
	memcpy(in + sizeof(label), s->key[g], 3 * KEYS_LEN);
	authd_sha256(in, sizeof(in), md);
	fp = authd_get_be64(md);
	OPENSSL_cleanse(in, sizeof(in));
	return fp ? fp : 1; /* 0 means "none" */
}

static void point_rings(struct keys_seals *s)
{
	for (unsigned i = 0; i < s->n_held; i++) {
		uint8_t g = s->held[i];

		s->totp.key[g] = s->key[g][0];
		s->outbox.key[g] = s->key[g][1];
		s->documents.key[g] = s->key[g][2];
	}
	s->core.totp = &s->totp;
	s->core.backup = backup_key;
	choose_current(s);
}

static void publish(struct published *p)
{
	p->next = all_sets;
	all_sets = p;
	atomic_store(&now_set, &p->s);
}

/* A new set from kf's generations, sealing with `wanted` when held; none
 * when it would be the set in use already (a reload of the same file). */
static int publish_file(const struct keyfile *kf, uint8_t wanted, uint64_t wanted_fp,
			bool same_secrets)
{
	const struct keys_seals *old = keys_seals();
	struct published *p = calloc(1, sizeof(*p));
	struct keys_seals *s;

	if (p == NULL)
		return -1;
	s = &p->s;
	for (unsigned g = 1; g <= KEYS_GEN_MAX; g++) {
		if (!kf->held[g])
			continue;
		if (derive(kf->secret[g], "authd totp seal v1", s->key[g][0]) != 0 ||
		    derive(kf->secret[g], "authd outbox seal v1", s->key[g][1]) != 0 ||
		    derive(kf->secret[g], "authd case documents v1", s->key[g][2]) != 0) {
			authd_freezero(p, sizeof(*p));
			return -1;
		}
		s->held[s->n_held++] = (uint8_t)g;
		s->newest = (uint8_t)g;
	}
	s->wanted = wanted;
	s->wanted_fp = wanted_fp;
	point_rings(s);
	/* A number keeps its secret for good: another secret under a number
	 * held before is a copy of another node's file, not a rotation. */
	for (unsigned i = 0; same_secrets && old && i < s->n_held; i++) {
		uint8_t g = s->held[i];

		if (old->totp.key[g] != NULL &&
		    CRYPTO_memcmp(old->key[g], s->key[g], sizeof(s->key[g])) != 0) {
			log_err("key file %.256s not reloaded: generation %u holds another secret "
				"than before",
				file_path, g);
			authd_freezero(p, sizeof(*p));
			return -1;
		}
	}
	if (old && old->wanted == s->wanted && old->wanted_fp == s->wanted_fp &&
	    old->n_held == s->n_held && memcmp(old->held, s->held, sizeof(s->held)) == 0 &&
	    CRYPTO_memcmp(old->key, s->key, sizeof(s->key)) == 0) {
		authd_freezero(p, sizeof(*p));
		return 0;
	}
	publish(p);
	return 0;
}

const struct keys_seals *keys_seals(void)
{
	return atomic_load(&now_set);
}

bool keys_wanted_missing(void)
{
	const struct keys_seals *s = keys_seals();

	return s != NULL && s->wanted != 0 && s->totp.current != s->wanted;
}

void keys_want(uint8_t generation, uint64_t fingerprint)
{
	const struct keys_seals *old = keys_seals();
	struct published *p;

	if (old == NULL || (old->wanted == generation && old->wanted_fp == fingerprint))
		return;
	if ((p = malloc(sizeof(*p))) == NULL)
		return; /* asked again at the next beat */
	memcpy(&p->s, old, sizeof(p->s));
	memset(&p->s.totp, 0, sizeof(p->s.totp));
	memset(&p->s.outbox, 0, sizeof(p->s.outbox));
	memset(&p->s.documents, 0, sizeof(p->s.documents));
	p->s.wanted = generation;
	p->s.wanted_fp = fingerprint;
	point_rings(&p->s);
	if (generation != 0 && p->s.totp.current != generation)
		log_err(
		    "the store says to seal with key generation %u, which key file %.256s "
		    "lacks%s: sealing with %u until it holds it (copy the key file from the node "
		    "that rotated, then reload or restart)",
		    generation, file_path,
		    p->s.totp.key[generation] ? " (it holds another secret under that number)" : "",
		    p->s.totp.current);
	else if (generation != 0)
		log_info("sealing with key generation %u", generation);
	publish(p);
}

int keys_load(struct authd_keys *k, const char *path, unsigned flags)
{
	struct keyfile *kf = malloc(sizeof(*kf));
	uint8_t id[KEYS_LEN];
	char err[256];
	int rc = -1;

	if (kf == NULL)
		return -1;
	if (keyfile_read(path, flags, kf, err, sizeof(err)) != 0) {
		log_err("key file %.256s: %s", path, err);
		goto out;
	}
	if (derive(kf->root, "authd backup codes v1", k->backup) != 0 ||
	    derive(kf->root, "authd password pepper v1", k->pepper) != 0 ||
	    derive(kf->root, "authd csrf v1", k->csrf) != 0 ||
	    derive(kf->root, "authd throttle subjects v1", k->subjects) != 0 ||
	    derive(kf->root, "authd device cookies v1", k->device) != 0 ||
	    derive(kf->root, "authd recovery v1", k->recovery) != 0 ||
	    derive(kf->root, "authd payments v1", k->payments) != 0 ||
	    derive(kf->root, "authd backup archive v1", k->archive) != 0 ||
	    derive(kf->root, "authd key id v1", id) != 0) {
		log_err("key derivation failed");
		goto out;
	}
	memcpy(k->id, id, KEYS_ID_LEN);
	memcpy(file_id, id, KEYS_ID_LEN);
	backup_key = k->backup;
	snprintf(file_path, sizeof(file_path), "%s", path);
	file_flags = flags & KEYS_F_CREDENTIAL;
	if (publish_file(kf, 0, 0, false) != 0) {
		log_err("key derivation failed");
		goto out;
	}
	rc = 0;
out:
	keyfile_wipe(kf);
	free(kf);
	OPENSSL_cleanse(id, sizeof(id));
	if (rc != 0)
		OPENSSL_cleanse(k, sizeof(*k));
	return rc;
}

int keys_reload(void)
{
	const struct keys_seals *old = keys_seals();
	struct keyfile *kf = malloc(sizeof(*kf));
	uint8_t id[KEYS_LEN];
	char err[256];
	int rc = -1;

	if (kf == NULL || old == NULL)
		goto out;
	if (keyfile_read(file_path, file_flags, kf, err, sizeof(err)) != 0) {
		log_err("key file %.256s not reloaded: %s", file_path, err);
		goto out;
	}
	if (derive(kf->root, "authd key id v1", id) != 0 ||
	    CRYPTO_memcmp(id, file_id, KEYS_ID_LEN) != 0) {
		log_err("key file %.256s not reloaded: its root is not the one authd started with "
			"(the root never changes; only generations are added and dropped)",
			file_path);
		goto out;
	}
	if (publish_file(kf, old->wanted, old->wanted_fp, true) != 0)
		goto out;
	log_info("key file reloaded: %u generation(s), newest %u, sealing with %u",
		 keys_seals()->n_held, keys_seals()->newest, keys_seals()->totp.current);
	if (old->wanted != 0 && keys_seals()->totp.current != old->wanted)
		log_err("key file %.256s lacks generation %u, which the store says to seal with",
			file_path, old->wanted);
	rc = 0;
out:
	if (kf) {
		keyfile_wipe(kf);
		free(kf);
	}
	OPENSSL_cleanse(id, sizeof(id));
	return rc;
}

const char *keys_path(void)
{
	return file_path;
}

unsigned keys_flags(void)
{
	return file_flags;
}

void keys_release(struct authd_keys *k)
{
	struct published *p = all_sets, *next;

	OPENSSL_cleanse(k, sizeof(*k));
	atomic_store(&now_set, NULL);
	for (; p; p = next) {
		next = p->next;
		authd_freezero(p, sizeof(*p));
	}
	all_sets = NULL;
	backup_key = NULL;
}

/* --- changing the file -------------------------------------------------------------- */

/* Locks the key file at path and reads it: the lock's descriptor (close
 * it to unlock), or -1 with err. */
static int keyfile_begin(const char *path, unsigned flags, struct keyfile *kf, char *err,
			 size_t err_size)
{
	int fd;

	if (flags & KEYS_F_CREDENTIAL) {
		read_only(err, err_size);
		return -1;
	}
	if ((fd = keyfile_lock(path, err, err_size)) < 0)
		return -1;
	if (keyfile_read(path, flags, kf, err, err_size) != 0) {
		close(fd);
		return -1;
	}
	for (unsigned g = 1; g <= KEYS_GEN_MAX; g++)
		if (kf->held[g] && g > kf->last)
			kf->last = g; /* a file from before `last` */
	return fd;
}

/* Reads the key file at path under its lock, lets change() edit it (0 to
 * write it back, else -1 with err), writes it and unlocks. */
static int keyfile_change(const char *path, unsigned flags,
			  int (*change)(struct keyfile *kf, void *arg, char *err, size_t err_size),
			  void *arg, char *err, size_t err_size)
{
	struct keyfile *kf = malloc(sizeof(*kf));
	int lock = -1, rc = -1;

	if (kf == NULL) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if ((lock = keyfile_begin(path, flags, kf, err, err_size)) >= 0 &&
	    change(kf, arg, err, err_size) == 0)
		rc = keyfile_write(path, flags, kf, err, err_size);
	if (lock >= 0)
		close(lock);
	keyfile_wipe(kf);
	free(kf);
	return rc;
}

static int add_one(struct keyfile *kf, void *arg, char *err, size_t err_size)
{
	uint8_t *generation = arg;

	/* Never a number used before, even by a generation since dropped: a
	 * seal of that one must not look like a damaged seal of this one. */
	if (kf->last >= KEYS_GEN_MAX) {
		snprintf(err, err_size, "generation %u is the last there can be", KEYS_GEN_MAX);
		return -1;
	}
	*generation = (uint8_t)++kf->last;
	authd_random(kf->secret[*generation], KEYS_LEN);
	kf->held[*generation] = true;
	return 0;
}

int keys_file_add(const char *path, unsigned flags, uint8_t *generation, char *err, size_t err_size)
{
	uint8_t g = 0;

	if (keyfile_change(path, flags, add_one, &g, err, err_size) != 0)
		return -1;
	*generation = g;
	return 0;
}

static int drop_one(struct keyfile *kf, void *arg, char *err, size_t err_size)
{
	uint8_t generation = *(const uint8_t *)arg;
	unsigned n = 0;

	for (unsigned g = 1; g <= KEYS_GEN_MAX; g++)
		n += kf->held[g];
	if (generation == 0 || !kf->held[generation]) {
		snprintf(err, err_size, "the key file holds no generation %u", generation);
		return -1;
	}
	if (n == 1) {
		snprintf(err, err_size, "generation %u is the key file's only one", generation);
		return -1;
	}
	kf->held[generation] = false;
	OPENSSL_cleanse(kf->secret[generation], KEYS_LEN);
	return 0;
}

int keys_file_drop(const char *path, unsigned flags, uint8_t generation, char *err, size_t err_size)
{
	return keyfile_change(path, flags, drop_one, &generation, err, err_size);
}

int keys_file_list(const char *path, unsigned flags, uint8_t held[KEYS_GEN_MAX], unsigned *n,
		   char *err, size_t err_size)
{
	struct keyfile *kf = malloc(sizeof(*kf));
	int rc = -1;

	if (kf == NULL) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	*n = 0;
	if (keyfile_read(path, flags, kf, err, err_size) == 0) {
		for (unsigned g = 1; g <= KEYS_GEN_MAX; g++)
			if (kf->held[g])
				held[(*n)++] = (uint8_t)g;
		rc = 0;
	}
	keyfile_wipe(kf);
	free(kf);
	return rc;
}

/* --- sealing ------------------------------------------------------------------------ */

int keys_seal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
	      const uint8_t *plain, size_t len, uint8_t *out)
{
	uint8_t nonce[SEAL_NONCE];

	authd_random(nonce, sizeof(nonce));
	return core_seal(r, nonce, aad, aad_len, plain, len, out);
}

long keys_open(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
	       const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	return core_unseal(r, aad, aad_len, sealed, sealed_len, out);
}

int keys_reseal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len, uint8_t *sealed,
		size_t sealed_len)
{
	uint8_t *plain, *again;
	long n;
	int rc = -1;

	if (core_seal_generation(sealed, sealed_len) == r->current)
		return 0;
	/* One buffer: the text, then the new seal (the old stays whole until
	 * the new one is). */
	if ((plain = malloc(2 * sealed_len)) == NULL)
		return -1;
	again = plain + sealed_len;
	n = core_unseal(r, aad, aad_len, sealed, sealed_len, plain);
	if (n >= 0 && keys_seal(r, aad, aad_len, plain, (size_t)n, again) == 0) {
		memcpy(sealed, again, sealed_len);
		rc = 1;
	}
	authd_freezero(plain, 2 * sealed_len);
	return rc;
}
