/*
 * The outbox's rules (core.h): when a claimed message is due again, and
 * when it is done. The shell claims, delivers and settles; these decide.
 */
#include "core.h"

#include <openssl/crypto.h>
#include <string.h>

#define BACKOFF_FIRST_S 10
#define BACKOFF_MAX_S	3600

int64_t core_outbox_backoff(unsigned attempts)
{
	int64_t d = BACKOFF_FIRST_S;

	for (unsigned i = 1; i < attempts && d < BACKOFF_MAX_S; i++)
		d *= 2;
	return d < BACKOFF_MAX_S ? d : BACKOFF_MAX_S;
}

void core_outbox_claim(struct outbox_msg *m, int64_t until)
{
	if (m->attempts < UINT16_MAX)
		m->attempts++;
	m->next_at = until;
}

void core_outbox_release(struct outbox_msg *m, int64_t now)
{
	if (m->attempts > 0)
		m->attempts--;
	m->next_at = now;
}

static void finish(struct outbox_msg *m, enum outbox_state state, int64_t now)
{
	m->state = (uint8_t)state;
	m->done_at = now;
	m->next_at = 0;
	OPENSSL_cleanse(m->sealed, m->sealed_len);
	m->sealed_len = 0;
}

enum outbox_state core_outbox_settle(struct outbox_msg *m, enum outbox_outcome o, int64_t now)
{
	if (o == OUTBOX_DELIVERED) {
		finish(m, OUTBOX_SENT, now);
	} else if (o == OUTBOX_NOT_HELD) {
		if (now - m->created_at >= OUTBOX_GIVE_UP_S) {
			finish(m, OUTBOX_FAILED, now);
		} else {
			if (m->attempts > 0)
				m->attempts--;
			m->next_at = now + OUTBOX_NOT_HELD_S;
		}
	} else if (o == OUTBOX_REJECTED || m->attempts >= OUTBOX_ATTEMPTS_MAX ||
		   now - m->created_at >= OUTBOX_GIVE_UP_S) {
		finish(m, OUTBOX_FAILED, now);
	} else {
		m->next_at = now + core_outbox_backoff(m->attempts);
	}
	return (enum outbox_state)m->state;
}
