/* Unit tests for authd/keys.c: key file creation and permissions, derived
 * keys, and the AES-256-GCM seal refusing any change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_key_file(void **state)
{
	char dir[] = "/tmp/authd-keys-XXXXXX";
	char path[128];
	struct authd_keys a, b;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	assert_int_equal(keys_load(&a, path, KEYS_F_CREATE), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(keys_load(&b, path, KEYS_F_CREATE), 0); /* same file, same keys */
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(a.totp, a.backup, KEYS_LEN);
	assert_memory_not_equal(a.pepper, a.csrf, KEYS_LEN);
	/* A group-readable key file is refused, and so is a short one. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(keys_load(&b, path, KEYS_F_CREATE), -1);
	/* ...unless it is systemd's credential copy (root's, read through an
	 * ACL, whose mask shows as the group's bits). */
	assert_int_equal(keys_load(&b, path, KEYS_F_CREDENTIAL), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(truncate(path, 16), 0);
	assert_int_equal(keys_load(&b, path, KEYS_F_CREATE), -1);
	unlink(path);
	/* Without create, a missing file is an error and stays missing. */
	assert_int_equal(keys_load(&b, path, 0), -1);
	assert_int_not_equal(access(path, F_OK), 0);
	/* Another key has another id. */
	assert_int_equal(keys_load(&b, path, KEYS_F_CREATE), 0);
	assert_memory_not_equal(a.id, b.id, KEYS_ID_LEN);
	unlink(path);
	rmdir(dir);
}

/* A key file owned by another user is refused (as root, the test can give
 * it away; as anyone else it cannot, and says so). */
static void test_key_file_owner(void **state)
{
	char dir[] = "/tmp/authd-keys-XXXXXX";
	char path[128];
	struct authd_keys a;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	assert_int_equal(keys_load(&a, path, KEYS_F_CREATE), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(keys_load(&a, path, KEYS_F_CREATE), -1);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(keys_load(&a, path, KEYS_F_CREATE), 0);
	unlink(path);
	rmdir(dir);
}

static void test_seal(void **state)
{
	uint8_t key[KEYS_LEN] = {1, 2, 3};
	uint8_t other[KEYS_LEN] = {3, 2, 1};
	uint8_t aad[16] = {7};
	const uint8_t plain[20] = "12345678901234567890";
	uint8_t sealed[20 + SEAL_OVERHEAD], sealed2[20 + SEAL_OVERHEAD], out[20];

	(void)state;
	assert_int_equal(keys_seal(key, aad, sizeof(aad), plain, 20, sealed), 0);
	assert_int_equal(keys_seal(key, aad, sizeof(aad), plain, 20, sealed2), 0);
	assert_memory_not_equal(sealed, sealed2, sizeof(sealed)); /* fresh nonce */
	assert_null(memmem(sealed, sizeof(sealed), plain, 20));
	assert_int_equal(keys_open(key, aad, sizeof(aad), sealed, sizeof(sealed), out), 20);
	assert_memory_equal(out, plain, 20);
	assert_int_equal(keys_open(other, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
	aad[0] ^= 1;
	assert_int_equal(keys_open(key, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
	aad[0] ^= 1;
	for (size_t i = 0; i < sizeof(sealed); i++) {
		sealed[i] ^= 0x40;
		assert_int_equal(keys_open(key, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
		sealed[i] ^= 0x40;
	}
	assert_int_equal(keys_open(key, aad, sizeof(aad), sealed, SEAL_OVERHEAD - 1, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_key_file_owner),
	    cmocka_unit_test(test_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
