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
	assert_memory_not_equal(keys_seals()->totp.key[1], a.backup, KEYS_LEN);
	assert_memory_not_equal(keys_seals()->totp.key[1], keys_seals()->outbox.key[1], KEYS_LEN);
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
	struct core_keyring ring = {.key = {[1] = key}, .current = 1};
	struct core_keyring wrong = {.key = {[1] = other}, .current = 1};
	struct core_keyring none = {.current = 1};
	uint8_t aad[16] = {7};
	const uint8_t plain[20] = "12345678901234567890";
	uint8_t sealed[20 + SEAL_OVERHEAD], sealed2[20 + SEAL_OVERHEAD], out[20];

	(void)state;
	assert_int_equal(keys_seal(&ring, aad, sizeof(aad), plain, 20, sealed), 0);
	assert_int_equal(keys_seal(&ring, aad, sizeof(aad), plain, 20, sealed2), 0);
	assert_int_equal(sealed[0], 1);				  /* the generation */
	assert_memory_not_equal(sealed, sealed2, sizeof(sealed)); /* fresh nonce */
	assert_null(memmem(sealed, sizeof(sealed), plain, 20));
	assert_int_equal(keys_open(&ring, aad, sizeof(aad), sealed, sizeof(sealed), out), 20);
	assert_memory_equal(out, plain, 20);
	assert_int_equal(keys_open(&wrong, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
	/* A ring without its current key seals nothing. */
	assert_int_equal(keys_seal(&none, aad, sizeof(aad), plain, 20, sealed2), -1);
	assert_int_equal(keys_open(&none, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
	aad[0] ^= 1;
	assert_int_equal(keys_open(&ring, aad, sizeof(aad), sealed, sizeof(sealed), out), -1);
	aad[0] ^= 1;
	for (size_t i = 0; i < sizeof(sealed); i++) {
		sealed[i] ^= 0x40;
		assert_int_equal(keys_open(&ring, aad, sizeof(aad), sealed, sizeof(sealed), out),
				 -1);
		sealed[i] ^= 0x40;
	}
	assert_int_equal(keys_open(&ring, aad, sizeof(aad), sealed, SEAL_OVERHEAD - 1, out), -1);
}

/* tmpl with each @ made 64 hex digits and each ~ 63. */
static void expand(const char *tmpl, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = tmpl; *p; p++) {
		size_t k = *p == '@' ? 64 : *p == '~' ? 63 : 0;

		assert_true(n + (k ? k : 1) < size);
		if (k) {
			memset(out + n, '7', k);
			n += k;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Generations: added to the file, sealed with once the store wants them,
 * old seals still open and are resealed, dropped from the file. */
static void test_generations(void **state)
{
	char dir[] = "/tmp/authd-keys-XXXXXX";
	char path[128], err[256], text[512];
	struct authd_keys a, b;
	const struct keys_seals *s;
	uint8_t held[KEYS_GEN_MAX], g = 0, aad[16] = {9};
	const uint8_t plain[20] = "abcdefghijabcdefghij";
	uint8_t sealed1[20 + SEAL_OVERHEAD], sealed2[20 + SEAL_OVERHEAD], out[20];
	struct stat st;
	unsigned n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	assert_int_equal(keys_load(&a, path, KEYS_F_CREATE), 0);
	s = keys_seals();
	assert_int_equal(s->n_held, 1);
	assert_int_equal(s->totp.current, 1);
	assert_int_equal(keys_seal(&s->totp, aad, sizeof(aad), plain, 20, sealed1), 0);

	/* A new generation: the file becomes text, keeps its mode, and the
	 * root's keys (and id) stay what they were. */
	assert_int_equal(keys_file_add(path, 0, &g, err, sizeof(err)), 0);
	assert_int_equal(g, 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keys_file_list(path, 0, held, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(held[0], 1);
	assert_int_equal(held[1], 2);
	assert_int_equal(keys_reload(), 0);
	s = keys_seals();
	assert_int_equal(s->n_held, 2);
	assert_int_equal(s->newest, 2);
	/* Nothing recorded in the store yet: the oldest, which every node
	 * holds (the new one may not have reached them). */
	assert_int_equal(s->totp.current, 1);
	assert_int_equal(keys_load(&b, path, 0), 0);
	assert_memory_equal(a.pepper, b.pepper, KEYS_LEN);
	assert_memory_equal(a.id, b.id, KEYS_ID_LEN);
	/* The store says generation 1: sealed with it until it says 2, with
	 * 2's fingerprint; another fingerprint is another secret: not 2. */
	assert_false(keys_wanted_missing()); /* nothing said yet */
	keys_want(1, keys_fingerprint(keys_seals(), 1));
	assert_int_equal(keys_seals()->totp.current, 1);
	assert_false(keys_wanted_missing());
	assert_int_not_equal(keys_fingerprint(keys_seals(), 1), keys_fingerprint(keys_seals(), 2));
	assert_int_equal(keys_fingerprint(keys_seals(), 9), 0);
	keys_want(2, keys_fingerprint(keys_seals(), 2) ^ 1);
	assert_int_equal(keys_seals()->totp.current, 1);
	assert_true(keys_wanted_missing()); /* another secret under 2: not ready */
	keys_want(9, 0);		    /* not held: the newest held */
	assert_int_equal(keys_seals()->totp.current, 2);
	assert_true(keys_wanted_missing());
	keys_want(2, keys_fingerprint(keys_seals(), 2));
	assert_false(keys_wanted_missing());
	s = keys_seals();
	assert_int_equal(s->totp.current, 2);
	assert_int_equal(s->outbox.current, 2);
	assert_int_equal(s->documents.current, 2);
	assert_memory_not_equal(s->totp.key[1], s->totp.key[2], KEYS_LEN);
	/* Generation 1's seal opens; a new one is generation 2's. */
	assert_int_equal(keys_open(&s->totp, aad, sizeof(aad), sealed1, sizeof(sealed1), out), 20);
	assert_int_equal(keys_seal(&s->totp, aad, sizeof(aad), plain, 20, sealed2), 0);
	assert_int_equal(sealed2[0], 2);
	/* Resealed in place: generation 2's now, the same text. */
	assert_int_equal(keys_reseal(&s->totp, aad, sizeof(aad), sealed2, sizeof(sealed2)), 0);
	assert_int_equal(keys_reseal(&s->totp, aad, sizeof(aad), sealed1, sizeof(sealed1)), 1);
	assert_int_equal(sealed1[0], 2);
	assert_int_equal(keys_open(&s->totp, aad, sizeof(aad), sealed1, sizeof(sealed1), out), 20);
	assert_memory_equal(out, plain, 20);
	/* What does not open is not resealed, and left exactly as it was. */
	memcpy(sealed2, sealed1, sizeof(sealed1));
	sealed2[0] = 1;
	memcpy(out, sealed2, sizeof(out));
	assert_int_equal(keys_reseal(&s->totp, aad, sizeof(aad), sealed2, sizeof(sealed2)), -1);
	assert_memory_equal(out, sealed2, sizeof(out));
	assert_int_equal(sealed2[0], 1);

	/* Dropping generation 1: the file keeps its root; a reload holds 2
	 * alone, and the root's keys are the same. */
	assert_int_equal(keys_file_drop(path, 0, 1, err, sizeof(err)), 0);
	assert_int_equal(keys_file_drop(path, 0, 1, err, sizeof(err)), -1);
	assert_int_equal(keys_file_drop(path, 0, 2, err, sizeof(err)), -1); /* the only one */
	assert_non_null(strstr(err, "only"));
	assert_int_equal(keys_reload(), 0);
	s = keys_seals();
	assert_int_equal(s->n_held, 1);
	assert_null(s->totp.key[1]);
	assert_int_equal(keys_load(&b, path, 0), 0);
	assert_memory_equal(a.pepper, b.pepper, KEYS_LEN);
	/* A number is never used again, even once dropped: 3 after 2. */
	assert_int_equal(keys_file_add(path, 0, &g, err, sizeof(err)), 0);
	assert_int_equal(g, 3);
	assert_int_equal(keys_file_drop(path, 0, 3, err, sizeof(err)), 0);
	assert_int_equal(keys_file_add(path, 0, &g, err, sizeof(err)), 0);
	assert_int_equal(g, 4);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* No file is left beside it. */
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", dir);
		assert_int_equal(system(cmd), 0);
	}
	/* A reload that finds another secret under a number it holds (another
	 * node's file) is refused and changes nothing. */
	assert_int_equal(keys_load(&b, path, 0), 0); /* holds 2 and 4 */
	assert_int_equal(keys_file_drop(path, 0, 4, err, sizeof(err)), 0);
	{
		char text2[1024];
		FILE *f = fopen(path, "r");
		size_t n2;

		assert_non_null(f);
		n2 = fread(text2, 1, sizeof(text2) - 1, f);
		fclose(f);
		text2[n2] = '\0';
		/* generation 2's secret becomes another */
		{
			char *line = strstr(text2, "generation 2 ");

			assert_non_null(line);
			line[13] = line[13] == 'a' ? 'b' : 'a';
		}
		write_file(path, text2, 0600);
	}
	assert_int_equal(keys_reload(), -1);
	assert_int_equal(keys_seals()->n_held, 2);

	/* systemd's copy is never written. */
	assert_int_equal(keys_file_add(path, KEYS_F_CREDENTIAL, &g, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "LoadCredential"));

	/* A reload refuses a file with another root, and keeps what it had. */
	assert_int_equal(keys_load(&a, path, 0), 0);
	expand("authd-key-file 2\nroot @\ngeneration 1 root\n", text, sizeof(text));
	write_file(path, text, 0600);
	assert_int_equal(keys_reload(), -1);
	assert_int_equal(keys_seals()->n_held, 1);
	assert_int_equal(keys_seals()->newest, 2);

	/* Malformed files are refused, each with a reason (@ is a root's 64
	 * hex digits, ~ one digit fewer). */
	{
		static const char *const bad[] = {
		    "authd-key-file 3\nroot @\ngeneration 1 root\n",
		    "authd-key-file 2\nroot ~\ngeneration 1 root\n",
		    "authd-key-file 2\nroot @\n",
		    "authd-key-file 2\nroot @\ngeneration 0 root\n",
		    "authd-key-file 2\nroot @\ngeneration 2 root\n",
		    "authd-key-file 2\nroot @\ngeneration 256 root\n",
		    "authd-key-file 2\nroot @\ngeneration 1 root\ngeneration 1 root\n",
		    "authd-key-file 2\nroot @\ngeneration 1 root extra\n",
		    "authd-key-file 2\nroot @\nroot @\ngeneration 1 root\n",
		    "authd-key-file 2\ngeneration 1 root\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			expand(bad[i], text, sizeof(text));
			write_file(path, text, 0600);
			print_message("bad file %zu\n", i);
			err[0] = '\0';
			assert_int_equal(keys_file_list(path, 0, held, &n, err, sizeof(err)), -1);
			assert_true(err[0] != '\0');
		}
		/* The same, well formed, is read. */
		expand("authd-key-file 2\nroot @\n# note\ngeneration 1 root\ngeneration 9 @\n",
		       text, sizeof(text));
		write_file(path, text, 0600);
		assert_int_equal(keys_file_list(path, 0, held, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 2);
		assert_int_equal(held[1], 9);
	}
	unlink(path);
	rmdir(dir);
	keys_release(&a);
	keys_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_key_file_owner),
	    cmocka_unit_test(test_seal),
	    cmocka_unit_test(test_generations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
