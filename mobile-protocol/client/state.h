/*
 * The reference phone's state file: the links it holds (one key pair, one
 * device id, one account and one offline TOTP secret each) and the
 * challenges `wait` printed last (so that `answer` knows which link and
 * which nonce to sign). JSON, mode 0600, replaced atomically (a new file
 * renamed over the old one); a state file others may read is refused, as
 * ssh refuses such a private key.
 */
#ifndef AUTHD_PHONE_STATE_H
#define AUTHD_PHONE_STATE_H

#include <mp.h>
#include <stdbool.h>
#include <stdint.h>

#define PHONE_LINKS_MAX 32
#define PHONE_SEEN_MAX	16

struct phone_link {
	char server[MP_URL_MAX + 1];
	uint8_t device_id[MP_ID_LEN];
	char account[MP_TEXT_MAX + 1];
	uint8_t seed[MP_KEY_LEN]; /* the Ed25519 private key */
	char otpauth[MP_OTPAUTH_MAX + 1];
	char name[MP_NAME_MAX + 1];
	int64_t linked_at;
	bool forgotten; /* revoked: not saved again */
};

struct phone_seen {
	uint8_t id[MP_ID_LEN];
	uint8_t device_id[MP_ID_LEN];
	uint8_t nonce[MP_NONCE_LEN];
};

struct phone_state {
	struct phone_link links[PHONE_LINKS_MAX];
	unsigned n_links;
	struct phone_seen seen[PHONE_SEEN_MAX]; /* oldest first */
	unsigned n_seen;
};

/* Reads path into *s (an absent file is an empty state). 0, or -1 with a
 * message on stderr (unreadable, malformed, readable by others). */
int phone_state_load(const char *path, struct phone_state *s);
/* Writes s to path (0600, fsync'd, renamed over the old). 0 or -1. */
int phone_state_save(const char *path, const struct phone_state *s);
/* Remembers a challenge `wait` printed (the oldest goes past the limit). */
void phone_state_seen(struct phone_state *s, const struct phone_seen *c);
/* Frees what jansson allocated (json_dumps text): its allocator's free. */
void phone_json_free(void *p);
/* Wipes s (it holds private keys and TOTP secrets). */
void phone_state_clear(struct phone_state *s);

#endif
