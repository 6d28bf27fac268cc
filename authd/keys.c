/*
 * Key file handling, HKDF derivation and the AES-256-GCM seal used for TOTP
 * seeds. The master key is wiped as soon as the purpose keys exist.
 */
#include "keys.h"

#include <log.h>
#include <util.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes the new file's directory entry durable too. */
static void sync_parent_dir(const char *path)
{
	char dir[600];
	char *slash;
	int fd;

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
		(void)fsync(fd);
		close(fd);
	}
}

static int read_or_create(const char *path, uint8_t master[KEYS_LEN], unsigned flags)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && (flags & KEYS_F_CREATE)) {
		authd_random(master, KEYS_LEN);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			log_err("cannot create key file %.256s: %s", path, strerror(errno));
			return -1;
		}
		n = write(fd, master, KEYS_LEN);
		if (n != KEYS_LEN || fsync(fd) != 0) {
			log_err("cannot write key file %.256s", path);
			close(fd);
			unlink(path);
			return -1;
		}
		close(fd);
		sync_parent_dir(path);
		log_info("created key file %.256s", path);
		return 0;
	}
	if (fd < 0) {
		log_err("cannot open key file %.256s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		log_err("cannot read key file %.256s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!(flags & KEYS_F_CREDENTIAL) && (st.st_mode & 077) != 0) {
		log_err("key file %.256s must not be readable by group or others", path);
		close(fd);
		return -1;
	}
	/* Anyone else who owns it could read it, or replace it with a key of
	 * their choosing. */
	if (!(flags & KEYS_F_CREDENTIAL) && st.st_uid != geteuid()) {
		log_err("key file %.256s must be owned by the user authd runs as (uid %u)", path,
			(unsigned)geteuid());
		close(fd);
		return -1;
	}
	n = read(fd, master, KEYS_LEN);
	close(fd);
	if (n != KEYS_LEN || st.st_size != KEYS_LEN) {
		log_err("key file %.256s must hold exactly %d bytes", path, KEYS_LEN);
		return -1;
	}
	return 0;
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

int keys_load(struct authd_keys *k, const char *path, unsigned flags)
{
	uint8_t master[KEYS_LEN], id[KEYS_LEN];
	int rc = -1;

	if (read_or_create(path, master, flags) != 0)
		goto out;
	if (derive(master, "authd totp seal v1", k->totp) != 0 ||
	    derive(master, "authd backup codes v1", k->backup) != 0 ||
	    derive(master, "authd password pepper v1", k->pepper) != 0 ||
	    derive(master, "authd csrf v1", k->csrf) != 0 ||
	    derive(master, "authd throttle subjects v1", k->subjects) != 0 ||
	    derive(master, "authd device cookies v1", k->device) != 0 ||
	    derive(master, "authd outbox seal v1", k->outbox) != 0 ||
	    derive(master, "authd recovery v1", k->recovery) != 0 ||
	    derive(master, "authd case documents v1", k->documents) != 0 ||
	    derive(master, "authd payments v1", k->payments) != 0 ||
	    derive(master, "authd backup archive v1", k->archive) != 0 ||
	    derive(master, "authd key id v1", id) != 0) {
		log_err("key derivation failed");
		goto out;
	}
	memcpy(k->id, id, KEYS_ID_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(id, sizeof(id));
	if (rc != 0)
		keys_release(k);
	return rc;
}

void keys_release(struct authd_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int keys_seal(const uint8_t key[KEYS_LEN], const uint8_t *aad, size_t aad_len, const uint8_t *plain,
	      size_t len, uint8_t *out)
{
	uint8_t nonce[SEAL_NONCE];

	authd_random(nonce, sizeof(nonce));
	return core_seal(key, nonce, aad, aad_len, plain, len, out);
}

long keys_open(const uint8_t key[KEYS_LEN], const uint8_t *aad, size_t aad_len,
	       const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	return core_unseal(key, aad, aad_len, sealed, sealed_len, out);
}
