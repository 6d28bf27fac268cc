/* Unit tests for core/rules.c as tables of cases: the records a flow read,
 * the time and the input -> the decision and the records to write, for the
 * second-factor step, the password step, TOTP enrolment, confirmation and
 * removal, backup-code regeneration and the password change. Links only
 * the core: no store, no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core.h"

#include <stdio.h>
#include <string.h>

#define NOW 1795461062

static const uint8_t account[AUTHD_ID_LEN] = {7, 7, 7};
static uint8_t totp_key[32], backup_key[32];
static struct core_keyring totp_ring = {.key = {[1] = totp_key}, .current = 1};
static const struct core_keys keys = {&totp_ring, backup_key};
static const struct core_params params = {
    .session_idle = 1800,
    .session_absolute = 43200,
    .login_ttl = 300,
    .enrollment_ttl = 600,
    .login_max_attempts = 5,
};
static char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1];
static struct backup_rec backup_set;

static const uint8_t seed_bytes[20] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
				       0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};

static void sealed_seed(uint8_t *out, uint8_t *len)
{
	uint8_t nonce[SEAL_NONCE] = {1};

	assert_int_equal(core_seal(&totp_ring, nonce, account, AUTHD_ID_LEN, seed_bytes,
				   sizeof(seed_bytes), out),
			 0);
	*len = sizeof(seed_bytes) + SEAL_OVERHEAD;
}

static struct totp_rec totp_on(int64_t last_step)
{
	struct totp_rec t;

	memset(&t, 0, sizeof(t));
	t.enabled = true;
	t.alg = OTP_ALG_SHA1;
	t.digits = 6;
	t.period = 30;
	t.last_step = last_step;
	sealed_seed(t.seed, &t.seed_len);
	return t;
}

static void code_at(int64_t at, char out[OTP_DIGITS_MAX + 1])
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;

	assert_int_equal(otp_totp(seed_bytes, sizeof(seed_bytes), &p, (uint64_t)at, out), 0);
}

static void failures(struct throttle_rec *r, unsigned n, int64_t at)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < n; i++)
		throttle_record_failure(r, &throttle_factor_policy, at);
}

/* --- the second-factor step --------------------------------------------------------- */

enum code_kind { RIGHT, WRONG, REPLAY, BACKUP_RIGHT, BACKUP_USED, BACKUP_WRONG };

static void test_second_factor_table(void **state)
{
	static const struct {
		const char *name;
		bool login, expired, totp, enabled, backup;
		unsigned past_failures; /* consecutive, at NOW - 1 */
		unsigned attempts;	/* wrong codes on this login already */
		enum core_method m;
		enum code_kind code;
		enum core_verdict want;
		int login_write; /* CORE_LOGIN_* */
		bool totp_write, backup_write, counted;
	} cases[] = {
	    {"right totp", 1, 0, 1, 1, 1, 0, 0, CORE_TOTP, RIGHT, CORE_OK, CORE_LOGIN_DEL, 1, 0, 0},
	    {"wrong totp", 1, 0, 1, 1, 1, 0, 0, CORE_TOTP, WRONG, CORE_INVALID_CODE, CORE_LOGIN_PUT,
	     0, 0, 1},
	    {"replayed step", 1, 0, 1, 1, 1, 0, 0, CORE_TOTP, REPLAY, CORE_CODE_REUSED,
	     CORE_LOGIN_PUT, 0, 0, 1},
	    {"fifth wrong ends the login", 1, 0, 1, 1, 1, 0, 4, CORE_TOTP, WRONG, CORE_INVALID_CODE,
	     CORE_LOGIN_DEL, 0, 0, 1},
	    {"no login", 0, 0, 1, 1, 1, 0, 0, CORE_TOTP, RIGHT, CORE_LOGIN_EXPIRED, CORE_LOGIN_KEEP,
	     0, 0, 0},
	    {"expired login", 1, 1, 1, 1, 1, 0, 0, CORE_TOTP, RIGHT, CORE_LOGIN_EXPIRED,
	     CORE_LOGIN_DEL, 0, 0, 0},
	    {"totp removed meanwhile", 1, 0, 1, 0, 1, 0, 0, CORE_TOTP, RIGHT, CORE_LOGIN_EXPIRED,
	     CORE_LOGIN_DEL, 0, 0, 0},
	    {"no totp record", 1, 0, 0, 0, 0, 0, 0, CORE_TOTP, RIGHT, CORE_LOGIN_EXPIRED,
	     CORE_LOGIN_DEL, 0, 0, 0},
	    {"delayed after failures", 1, 0, 1, 1, 1, 5, 0, CORE_TOTP, RIGHT, CORE_THROTTLED,
	     CORE_LOGIN_KEEP, 0, 0, 0},
	    {"locked: totp refused", 1, 0, 1, 1, 1, THROTTLE_FACTOR_LOCK, 0, CORE_TOTP, RIGHT,
	     CORE_FACTOR_LOCKED, CORE_LOGIN_KEEP, 0, 0, 0},
	    {"backup code", 1, 0, 1, 1, 1, 0, 0, CORE_BACKUP_CODE, BACKUP_RIGHT, CORE_OK,
	     CORE_LOGIN_DEL, 0, 1, 0},
	    {"used backup code", 1, 0, 1, 1, 1, 0, 0, CORE_BACKUP_CODE, BACKUP_USED,
	     CORE_CODE_REUSED, CORE_LOGIN_PUT, 0, 0, 1},
	    {"wrong backup code", 1, 0, 1, 1, 1, 0, 0, CORE_BACKUP_CODE, BACKUP_WRONG,
	     CORE_INVALID_CODE, CORE_LOGIN_PUT, 0, 0, 1},
	    {"no backup codes", 1, 0, 1, 1, 0, 0, 0, CORE_BACKUP_CODE, BACKUP_RIGHT,
	     CORE_METHOD_NOT_ENABLED, CORE_LOGIN_KEEP, 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct core_second_factor s;
		char code[32];
		uint32_t before;

		memset(&s, 0, sizeof(s));
		s.login_found = cases[i].login;
		memcpy(s.login.account_id, account, AUTHD_ID_LEN);
		s.login.expires_at = cases[i].expired ? NOW : NOW + 100;
		s.login.attempts = (uint8_t)cases[i].attempts;
		s.totp_found = cases[i].totp;
		if (cases[i].totp) {
			s.totp = totp_on(NOW / 30 - 1);
			s.totp.enabled = cases[i].enabled;
		}
		s.backup_found = cases[i].backup;
		s.backup = backup_set;
		s.backup.used_at[1] = NOW - 5;
		failures(&s.hist.factor, cases[i].past_failures, NOW - 1);
		before = s.hist.factor.consecutive;
		switch (cases[i].code) {
		case RIGHT:
			code_at(NOW, code);
			break;
		case REPLAY:
			code_at(NOW - 30, code); /* the step already used */
			break;
		case WRONG: /* any code but the right one */
			code_at(NOW, code);
			snprintf(code, sizeof(code), "%s",
				 strcmp(code, "000000") != 0 ? "000000" : "111111");
			break;
		case BACKUP_RIGHT:
			snprintf(code, sizeof(code), "%s", codes[0]);
			break;
		case BACKUP_USED:
			snprintf(code, sizeof(code), "%s", codes[1]);
			break;
		default:
			snprintf(code, sizeof(code), "0000-0000-0000-0000");
			break;
		}
		core_second_factor_step(&s, cases[i].m, code, strlen(code), NULL, NOW, &keys,
					&params);
		if (s.verdict != cases[i].want || (int)s.login_write != cases[i].login_write ||
		    s.totp_write != cases[i].totp_write ||
		    s.backup_write != cases[i].backup_write ||
		    (s.hist.factor.consecutive > before) != cases[i].counted)
			fail_msg("%s: verdict %d login %d totp %d backup %d failures %u->%u",
				 cases[i].name, s.verdict, s.login_write, s.totp_write,
				 s.backup_write, before, s.hist.factor.consecutive);
		if (s.verdict == CORE_OK && cases[i].m == CORE_TOTP)
			assert_int_equal(s.totp.last_step, NOW / 30);
		if (s.verdict == CORE_OK && cases[i].m == CORE_BACKUP_CODE) {
			assert_int_equal(s.backup.used_at[0], NOW);
			assert_int_equal(s.backup_left, OTP_BACKUP_COUNT - 2);
		}
	}
}

/* A success forgets consecutive failures (not the hourly history); a
 * failure also counts in the password step's hourly history. */
static void test_second_factor_history(void **state)
{
	struct core_second_factor s;
	char code[OTP_DIGITS_MAX + 1];

	(void)state;
	memset(&s, 0, sizeof(s));
	s.login_found = s.totp_found = true;
	memcpy(s.login.account_id, account, AUTHD_ID_LEN);
	s.login.expires_at = NOW + 100;
	s.totp = totp_on(-1);
	failures(&s.hist.factor, 2, NOW - 3600 * 24); /* a day ago: still counted */
	code_at(NOW, code);
	core_second_factor_step(&s, CORE_TOTP, "999999", 6, NULL, NOW, &keys, &params);
	if (s.verdict == CORE_OK) /* the one code in a million that matches */
		return;
	assert_int_equal(s.hist.factor.consecutive, 3);
	assert_true(s.hist.account_dirty);
	assert_int_equal(s.hist.account.count, 1);
	s.login_found = true;
	s.login.expires_at = NOW + 100;
	core_second_factor_step(&s, CORE_TOTP, code, strlen(code), NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_OK);
	assert_int_equal(s.hist.factor.consecutive, 0);
	assert_true(s.hist.factor_dirty);
	assert_int_equal(s.hist.factor.count, 3); /* the hourly history stays */
}

/* --- the password step ------------------------------------------------------------- */

static void test_password_login_table(void **state)
{
	static const struct {
		const char *name;
		bool known, ok, found, totp, backup_left, locked, rehash, changed;
		enum core_verdict want;
		bool second_factor, subject_write, account_write, factor_dirty;
	} cases[] = {
	    {"right, no 2fa", 1, 1, 1, 0, 0, 0, 0, 0, CORE_OK, 0, 0, 0, 0},
	    {"right, totp", 1, 1, 1, 1, 1, 0, 0, 0, CORE_OK, 1, 0, 0, 0},
	    {"right, totp, no codes left", 1, 1, 1, 1, 0, 0, 0, 0, CORE_OK, 1, 0, 0, 0},
	    {"right, totp locked", 1, 1, 1, 1, 1, 1, 0, 0, CORE_OK, 1, 0, 0, 0},
	    {"wrong", 1, 0, 1, 0, 0, 0, 0, 0, CORE_INVALID_CREDENTIALS, 0, 1, 0, 1},
	    {"unknown email", 0, 0, 0, 0, 0, 0, 0, 0, CORE_INVALID_CREDENTIALS, 0, 1, 0, 1},
	    {"deleted meanwhile", 1, 1, 0, 0, 0, 0, 0, 0, CORE_INVALID_CREDENTIALS, 0, 0, 0, 0},
	    {"rehash", 1, 1, 1, 0, 0, 0, 1, 0, CORE_OK, 0, 0, 1, 0},
	    {"rehash, changed meanwhile", 1, 1, 1, 0, 0, 0, 1, 1, CORE_OK, 0, 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct core_password_login l;

		memset(&l, 0, sizeof(l));
		l.known = cases[i].known;
		l.password_ok = cases[i].ok;
		l.account_found = cases[i].found;
		memcpy(l.account.id, account, AUTHD_ID_LEN);
		snprintf(l.account.pw_hash, sizeof(l.account.pw_hash), "%s",
			 cases[i].changed ? "$argon2id$other" : "$argon2id$old");
		l.verified_phc = "$argon2id$old";
		l.new_phc = cases[i].rehash ? "$argon2id$new" : NULL;
		l.totp_found = cases[i].totp;
		l.totp = totp_on(-1);
		l.backup_found = true;
		l.backup = backup_set;
		if (!cases[i].backup_left)
			for (int k = 0; k < OTP_BACKUP_COUNT; k++)
				l.backup.used_at[k] = 1;
		if (cases[i].locked)
			failures(&l.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 10);
		core_password_login_decide(&l, NOW, &params);
		if (l.verdict != cases[i].want || l.second_factor != cases[i].second_factor ||
		    l.subject_write != cases[i].subject_write ||
		    l.account_write != cases[i].account_write ||
		    l.hist.factor_dirty != cases[i].factor_dirty)
			fail_msg("%s: verdict %d second %d subject %d account %d factor %d",
				 cases[i].name, l.verdict, l.second_factor, l.subject_write,
				 l.account_write, l.hist.factor_dirty);
		if (l.second_factor) {
			assert_int_equal(l.login.expires_at, NOW + 300);
			assert_int_equal(l.totp_locked, cases[i].locked);
			assert_int_equal(l.has_backup, cases[i].backup_left);
		} else if (l.verdict == CORE_OK) {
			assert_int_equal(l.session.aal, AAL_PASSWORD);
			assert_int_equal(l.session.expires_at, NOW + 43200);
			assert_int_equal(l.session.second_factor_at, 0);
		}
		if (l.account_write)
			assert_string_equal(l.account.pw_hash, "$argon2id$new");
	}
}

/* The delay and the cap are decided again on the records as read in the
 * write: another node's failures since the loop's check count. */
static void test_password_login_throttled_in_the_write(void **state)
{
	struct core_password_login l;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.known = l.password_ok = l.account_found = true;
	memcpy(l.account.id, account, AUTHD_ID_LEN);
	for (int i = 0; i < 5; i++)
		throttle_record_failure(&l.subject, &throttle_account_policy, NOW - 1);
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_THROTTLED);
	assert_true(l.retry_after > 0);
	assert_false(l.subject_write || l.hist.account_dirty || l.hist.factor_dirty);
	/* The hourly cap, from every client. */
	memset(&l, 0, sizeof(l));
	l.known = l.account_found = true;
	for (int i = 0; i < 100; i++)
		throttle_record_hourly(&l.hist.account, NOW - 100 + i);
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_THROTTLED);
	assert_int_equal(l.retry_after, 3500);
	/* An unknown email is counted alike: its own cap record. */
	memset(&l, 0, sizeof(l));
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_INVALID_CREDENTIALS);
	/* (and the same writes as an account: its keys stand in) */
	assert_true(l.subject_write && l.hist.account_dirty && l.hist.factor_dirty);
}

/* --- TOTP settings ----------------------------------------------------------------- */

static void change_init(struct core_totp_change *c, bool on)
{
	memset(c, 0, sizeof(*c));
	c->totp_found = true;
	c->totp = totp_on(NOW / 30 - 1);
	c->totp.enabled = on;
	c->backup_found = on;
	c->backup = backup_set;
}

static void test_enroll_and_confirm(void **state)
{
	struct core_totp_change c;
	uint8_t eid[AUTHD_ID_LEN] = {5}, other[AUTHD_ID_LEN] = {6};
	uint8_t sealed[SEALED_SEED_MAX], slen;
	struct backup_rec fresh = backup_set;
	char code[OTP_DIGITS_MAX + 1];

	(void)state;
	sealed_seed(sealed, &slen);
	code_at(NOW, code);
	/* On already: enrolment refused. */
	change_init(&c, true);
	core_totp_enroll(&c, eid, sealed, slen, NOW, &params);
	assert_int_equal(c.verdict, CORE_TOTP_ALREADY_ENABLED);
	assert_int_equal(c.totp_write, CORE_KEEP);
	/* A new enrolment: pending, not on. */
	memset(&c, 0, sizeof(c));
	core_totp_enroll(&c, eid, sealed, slen, NOW, &params);
	assert_int_equal(c.verdict, CORE_OK);
	assert_int_equal(c.totp_write, CORE_PUT);
	assert_false(c.totp.enabled);
	assert_int_equal(c.totp.pending_expires_at, NOW + 600);
	c.totp_found = true;
	/* Confirmation table on that record. */
	struct totp_rec pending = c.totp;
	static const struct {
		const char *name;
		int64_t at;
		bool other_id, wrong, locked;
		enum core_verdict want;
	} cases[] = {
	    {"right code", NOW, 0, 0, 0, CORE_OK},
	    {"wrong code", NOW, 0, 1, 0, CORE_INVALID_CODE},
	    {"another enrolment", NOW, 1, 0, 0, CORE_NO_PENDING_ENROLLMENT},
	    {"expired", NOW + 600, 0, 0, 0, CORE_NO_PENDING_ENROLLMENT},
	    /* With TOTP off there is no factor to lock: only the delay holds. */
	    {"locked history", NOW, 0, 0, 1, CORE_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cc[OTP_DIGITS_MAX + 1];

		memset(&c, 0, sizeof(c));
		c.totp_found = true;
		c.totp = pending;
		if (cases[i].locked) /* long enough ago that no delay holds */
			failures(&c.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 3600);
		code_at(cases[i].at, cc);
		if (cases[i].wrong)
			cc[0] = cc[0] == '9' ? '0' : (char)(cc[0] + 1);
		core_totp_confirm(&c, cases[i].other_id ? other : eid, cc, strlen(cc), &fresh,
				  account, &keys, cases[i].at);
		if (c.verdict != cases[i].want)
			fail_msg("%s: verdict %d", cases[i].name, c.verdict);
		if (c.verdict == CORE_OK) {
			assert_true(c.totp.enabled);
			assert_int_equal(c.totp.pending_seed_len, 0);
			assert_int_equal(c.totp_write, CORE_PUT);
			assert_int_equal(c.backup_write, CORE_PUT);
			assert_true(c.end_sessions);
		} else {
			assert_int_equal(c.totp_write, CORE_KEEP);
			assert_false(c.end_sessions);
			assert_int_equal(c.hist.factor_dirty, cases[i].wrong);
		}
	}
}

static void test_remove_and_regenerate(void **state)
{
	static const struct {
		const char *name;
		bool on, locked;
		enum code_kind code;
		enum core_verdict want;
		bool removed;
	} cases[] = {
	    {"totp code", 1, 0, RIGHT, CORE_OK, 1},
	    {"wrong totp code", 1, 0, WRONG, CORE_INVALID_CODE, 0},
	    {"backup code", 1, 0, BACKUP_RIGHT, CORE_OK, 1},
	    {"used backup code", 1, 0, BACKUP_USED, CORE_CODE_REUSED, 0},
	    {"not on", 0, 0, RIGHT, CORE_TOTP_NOT_ENABLED, 0},
	    /* Locked: a TOTP code is refused, a backup code still works. */
	    {"locked, totp", 1, 1, RIGHT, CORE_FACTOR_LOCKED, 0},
	};
	struct core_totp_change c;
	struct backup_rec fresh = backup_set;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char code[32];

		change_init(&c, cases[i].on);
		c.backup.used_at[1] = NOW - 5;
		if (cases[i].locked)
			failures(&c.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 10);
		if (cases[i].code == RIGHT)
			code_at(NOW, code);
		else if (cases[i].code == WRONG)
			snprintf(code, sizeof(code), "12345x");
		else
			snprintf(code, sizeof(code), "%s",
				 codes[cases[i].code == BACKUP_RIGHT ? 0 : 1]);
		core_totp_remove(&c, code, strlen(code), account, &keys, NOW);
		if (c.verdict != cases[i].want ||
		    (c.totp_write == CORE_DEL && c.backup_write == CORE_DEL) != cases[i].removed)
			fail_msg("%s: verdict %d", cases[i].name, c.verdict);
	}
	/* Locked, but with a backup code: it still turns TOTP off (once the
	 * delay of the last failure is over). */
	change_init(&c, true);
	failures(&c.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 3600);
	core_totp_remove(&c, codes[2], strlen(codes[2]), account, &keys, NOW);
	assert_int_equal(c.verdict, CORE_OK);
	assert_int_equal(c.hist.factor.consecutive, 0);
	/* Regeneration needs TOTP on. */
	change_init(&c, false);
	core_backup_regenerate(&c, &fresh);
	assert_int_equal(c.verdict, CORE_TOTP_NOT_ENABLED);
	change_init(&c, true);
	fresh.created_at = NOW;
	core_backup_regenerate(&c, &fresh);
	assert_int_equal(c.verdict, CORE_OK);
	assert_int_equal(c.backup_write, CORE_PUT);
	assert_int_equal(c.backup.created_at, NOW);
}

static void test_password_change(void **state)
{
	struct core_password_change c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.account_found = true;
	snprintf(c.account.pw_hash, sizeof(c.account.pw_hash), "$argon2id$old");
	c.verified_phc = "$argon2id$old";
	c.new_phc = "$argon2id$new";
	c.password_ok = true;
	failures(&c.hist.factor, 2, NOW - 10);
	core_password_change_decide(&c, NOW);
	assert_int_equal(c.verdict, CORE_OK);
	assert_true(c.account_write);
	assert_string_equal(c.account.pw_hash, "$argon2id$new");
	assert_int_equal(c.account.password_changed_at, NOW);
	/* A right current password does not clear second-factor failures. */
	assert_int_equal(c.hist.factor.consecutive, 2);
	assert_false(c.hist.factor_dirty);
	/* Wrong: counted as a second-factor failure. */
	c.password_ok = false;
	core_password_change_decide(&c, NOW);
	assert_int_equal(c.verdict, CORE_WRONG_PASSWORD);
	assert_false(c.account_write);
	assert_int_equal(c.hist.factor.consecutive, 3);
	/* Changed by another request meanwhile: not over it. */
	memset(&c, 0, sizeof(c));
	c.account_found = c.password_ok = true;
	snprintf(c.account.pw_hash, sizeof(c.account.pw_hash), "$argon2id$other");
	c.verified_phc = "$argon2id$old";
	c.new_phc = "$argon2id$new";
	core_password_change_decide(&c, NOW);
	assert_int_equal(c.verdict, CORE_WRONG_PASSWORD);
	assert_false(c.account_write);
}

static void test_session_new_and_expiry(void **state)
{
	struct account a;
	struct session s;

	(void)state;
	memset(&a, 0, sizeof(a));
	memcpy(a.id, account, AUTHD_ID_LEN);
	core_session_new(&s, &a, AAL_SECOND_FACTOR, NOW, &params);
	assert_int_equal(s.aal, AAL_SECOND_FACTOR);
	assert_int_equal(s.second_factor_at, NOW);
	assert_int_equal(core_session_expires(&s, params.session_idle), NOW + 1800);
	s.last_seen = NOW + 43000;
	assert_int_equal(core_session_expires(&s, params.session_idle), NOW + 43200);
}

/* --- devices' TOTP codes ------------------------------------------------------------ */

/* Device d's seed: its own bytes, sealed to the account and the device. */
static void device_seed(unsigned d, uint8_t raw[20])
{
	memset(raw, 0x60 + (int)d, 20);
}

static struct core_device_totp device_on(unsigned d, int64_t last_step)
{
	struct core_device_totp t;
	uint8_t raw[20], nonce[SEAL_NONCE] = {2};

	memset(&t, 0, sizeof(t));
	memcpy(t.aad, account, AUTHD_ID_LEN);
	memset(t.aad + AUTHD_ID_LEN, (int)d + 1, AUTHD_ID_LEN);
	device_seed(d, raw);
	assert_int_equal(
	    core_seal(&totp_ring, nonce, t.aad, sizeof(t.aad), raw, sizeof(raw), t.seed), 0);
	t.seed_len = sizeof(raw) + SEAL_OVERHEAD;
	t.last_step = last_step;
	return t;
}

static void device_code_at(unsigned d, int64_t at, char out[OTP_DIGITS_MAX + 1])
{
	struct otp_totp_params p = OTP_TOTP_PARAMS_DEFAULT;
	uint8_t raw[20];

	device_seed(d, raw);
	assert_int_equal(otp_totp(raw, sizeof(raw), &p, (uint64_t)at, out), 0);
}

static void test_device_codes(void **state)
{
	static const struct {
		const char *name;
		bool app;    /* the account's own TOTP is on */
		unsigned n;  /* devices */
		int code_of; /* -1: the app's, -2: nobody's, else that device's */
		bool replay; /* the code's step was already used by its owner */
		enum core_verdict want;
		int device_write;
		bool totp_write;
	} cases[] = {
	    {"device code, no app", 0, 2, 1, 0, CORE_OK, 1, 0},
	    {"device code beside the app", 1, 2, 0, 0, CORE_OK, 0, 0},
	    {"app code beside devices", 1, 2, -1, 0, CORE_OK, -1, 1},
	    {"nobody's code", 1, 2, -2, 0, CORE_INVALID_CODE, -1, 0},
	    {"device code used before", 0, 2, 1, 1, CORE_CODE_REUSED, -1, 0},
	    {"app code used before, devices on", 1, 1, -1, 1, CORE_CODE_REUSED, -1, 0},
	    {"no device left, no app", 0, 0, 0, 0, CORE_LOGIN_EXPIRED, -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct core_second_factor s;
		struct core_device_totp devs[2];
		int64_t used = NOW / 30 - 1;
		char code[OTP_DIGITS_MAX + 1] = "000000";

		memset(&s, 0, sizeof(s));
		s.login_found = true;
		memcpy(s.login.account_id, account, AUTHD_ID_LEN);
		s.login.expires_at = NOW + 100;
		s.totp_found = cases[i].app;
		if (cases[i].app)
			s.totp =
			    totp_on(cases[i].replay && cases[i].code_of == -1 ? NOW / 30 : used);
		for (unsigned d = 0; d < 2; d++)
			devs[d] = device_on(
			    d, cases[i].replay && (int)d == cases[i].code_of ? NOW / 30 : used);
		if (cases[i].code_of == -1)
			code_at(NOW, code);
		else if (cases[i].code_of >= 0)
			device_code_at((unsigned)cases[i].code_of, NOW, code);
		/* The shell reads the devices when asked to. */
		assert_true(core_second_factor_wants_devices(&s, CORE_TOTP, NULL, &keys, code,
							     strlen(code), NOW) ||
			    (cases[i].app && cases[i].code_of == -1 && !cases[i].replay));
		s.devices_read = true;
		s.devices = devs;
		s.n_devices = cases[i].n;
		core_second_factor_step(&s, CORE_TOTP, code, strlen(code), NULL, NOW, &keys,
					&params);
		if (s.verdict != cases[i].want || s.device_write != cases[i].device_write ||
		    s.totp_write != cases[i].totp_write)
			fail_msg("%s: verdict %d device_write %d totp_write %d", cases[i].name,
				 s.verdict, s.device_write, s.totp_write);
		if (s.device_write >= 0)
			assert_int_equal(devs[s.device_write].last_step, NOW / 30);
	}
}

/* A seed this node cannot open (sealed with a key generation it lacks) is
 * passed over: another seed that accepts the code wins; when none does, the
 * verdict is CORE_KEY_MISSING (503 in the shell), and the refusal counts
 * as a wrong code whenever another seed was compared with it, or codes
 * could be tried against those for free. With nothing compared, nothing
 * counts. */
static void test_seed_of_a_missing_generation(void **state)
{
	static const struct {
		const char *name;
		bool app_missing; /* the app's seed: of a missing generation (else held) */
		unsigned n;	  /* devices; device 0's seed is of a missing generation */
		int code_of;	  /* -1: the app's, -2: nobody's, else that device's */
		enum core_verdict want;
		bool counted;
	} cases[] = {
	    {"app rejects, device 0 not held", 0, 1, -2, CORE_KEY_MISSING, 1},
	    {"app rejects, device 0 not held (its code)", 0, 1, 0, CORE_KEY_MISSING, 1},
	    {"app accepts, device 0 not held", 0, 1, -1, CORE_OK, 0},
	    {"app not held, device 1 accepts", 1, 2, 1, CORE_OK, 0},
	    {"app not held, device 1 rejects", 1, 2, -2, CORE_KEY_MISSING, 1},
	    {"app not held, no device", 1, 0, -1, CORE_KEY_MISSING, 0},
	    {"app not held, device 0 not held", 1, 1, -2, CORE_KEY_MISSING, 0},
	};
	static uint8_t other_key[32] = {0x77};
	struct core_keyring newer = {.key = {[1] = totp_key, [2] = other_key}, .current = 2};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct core_second_factor s;
		struct core_device_totp devs[2];
		uint8_t raw[20], nonce[SEAL_NONCE] = {5};
		char code[OTP_DIGITS_MAX + 1] = "000000";

		memset(&s, 0, sizeof(s));
		s.login_found = true;
		memcpy(s.login.account_id, account, AUTHD_ID_LEN);
		s.login.expires_at = NOW + 100;
		s.login.attempts = 1;
		s.totp_found = true;
		s.totp = totp_on(-1);
		if (cases[i].app_missing)
			assert_int_equal(core_seal(&newer, nonce, account, AUTHD_ID_LEN, seed_bytes,
						   sizeof(seed_bytes), s.totp.seed),
					 0);
		for (unsigned d = 0; d < 2; d++)
			devs[d] = device_on(d, -1);
		device_seed(0, raw);
		assert_int_equal(core_seal(&newer, nonce, devs[0].aad, sizeof(devs[0].aad), raw,
					   sizeof(raw), devs[0].seed),
				 0);
		if (cases[i].code_of == -1)
			code_at(NOW, code);
		else if (cases[i].code_of >= 0)
			device_code_at((unsigned)cases[i].code_of, NOW, code);
		s.devices_read = true;
		s.devices = devs;
		s.n_devices = cases[i].n;
		core_second_factor_step(&s, CORE_TOTP, code, strlen(code), NULL, NOW, &keys,
					&params);
		if (s.verdict != cases[i].want || s.failure_counted != cases[i].counted)
			fail_msg("%s: verdict %d counted %d", cases[i].name, s.verdict,
				 s.failure_counted);
		/* Counted: the login's attempts and the factor's failures moved. */
		assert_int_equal(s.login.attempts, cases[i].counted ? 2 : 1);
		assert_int_equal(s.hist.factor.consecutive, cases[i].counted ? 1 : 0);
		assert_int_equal(s.login_write, cases[i].want == CORE_OK ? CORE_LOGIN_DEL
						: cases[i].counted	 ? CORE_LOGIN_PUT
									 : CORE_LOGIN_KEEP);
	}
}

/* A code the app's credential accepts (per the precheck) needs no device
 * read; anything else, or no app, does. */
static void test_wants_devices(void **state)
{
	struct core_second_factor s;
	struct core_totp_precheck pre;
	char code[OTP_DIGITS_MAX + 1];
	const char *wrong;

	(void)state;
	code_at(NOW, code);
	wrong = strcmp(code, "123456") != 0 ? "123456" : "654321";
	memset(&s, 0, sizeof(s));
	/* No login: nothing to decide. */
	assert_false(core_second_factor_wants_devices(&s, CORE_TOTP, NULL, &keys, code, 6, NOW));
	s.login_found = true;
	memcpy(s.login.account_id, account, AUTHD_ID_LEN);
	s.login.expires_at = NOW + 100;
	/* No TOTP of the account's own: the devices are the second factor. */
	assert_true(core_second_factor_wants_devices(&s, CORE_TOTP, NULL, &keys, code, 6, NOW));
	assert_true(
	    core_second_factor_wants_devices(&s, CORE_BACKUP_CODE, NULL, &keys, code, 6, NOW));
	s.totp_found = true;
	s.totp = totp_on(NOW / 30 - 1);
	assert_false(
	    core_second_factor_wants_devices(&s, CORE_BACKUP_CODE, NULL, &keys, code, 6, NOW));
	/* The app's code, through the precheck or checked here: no devices. */
	core_totp_precheck(&pre, &s.totp, &keys, account, code, 6, NOW);
	assert_false(core_second_factor_wants_devices(&s, CORE_TOTP, &pre, &keys, code, 6, NOW));
	assert_false(core_second_factor_wants_devices(&s, CORE_TOTP, NULL, &keys, code, 6, NOW));
	/* Any other code may be a device's. */
	core_totp_precheck(&pre, &s.totp, &keys, account, wrong, 6, NOW);
	assert_true(core_second_factor_wants_devices(&s, CORE_TOTP, &pre, &keys, wrong, 6, NOW));
	assert_true(core_second_factor_wants_devices(&s, CORE_TOTP, NULL, &keys, wrong, 6, NOW));
	/* The record is not changed by asking. */
	assert_int_equal(s.totp.last_step, NOW / 30 - 1);
}

/* A linked device turns the second factor on at the password step. */
static void test_password_login_with_devices(void **state)
{
	struct core_password_login l;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.known = l.password_ok = l.account_found = true;
	memcpy(l.account.id, account, AUTHD_ID_LEN);
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_OK);
	assert_false(l.second_factor);
	assert_false(l.has_totp);
	l.devices = 1;
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_OK);
	assert_true(l.second_factor);
	assert_true(l.has_totp);
	assert_false(l.has_backup);
	assert_int_equal(l.login.expires_at, NOW + params.login_ttl);
}

/* SMS: the shell compares the code; the rule decides whether it may count,
 * counts a wrong one like a wrong TOTP code, and refuses it while TOTP
 * codes are refused. */
static void test_sms_step(void **state)
{
	struct core_second_factor s;
	struct core_password_login l;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.login_found = true;
	memcpy(s.login.account_id, account, AUTHD_ID_LEN);
	s.login.expires_at = NOW + 100;
	/* Not read, or off: not enabled, the login stays (other factors may be on). */
	core_second_factor_step(&s, CORE_SMS, "123456", 6, NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_METHOD_NOT_ENABLED);
	assert_int_equal(s.login_write, CORE_LOGIN_KEEP);
	s.sms_read = true;
	core_second_factor_step(&s, CORE_SMS, "123456", 6, NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_METHOD_NOT_ENABLED);
	/* A wrong code counts. */
	s.sms_on = true;
	s.sms_verdict = CORE_INVALID_CODE;
	core_second_factor_step(&s, CORE_SMS, "123456", 6, NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_INVALID_CODE);
	assert_int_equal(s.login.attempts, 1);
	assert_int_equal(s.login_write, CORE_LOGIN_PUT);
	assert_int_equal(s.hist.factor.consecutive, 1);
	assert_true(s.hist.factor_dirty);
	/* A right one ends the login. */
	s.sms_verdict = CORE_OK;
	core_second_factor_step(&s, CORE_SMS, "123456", 6, NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_OK);
	assert_int_equal(s.login_write, CORE_LOGIN_DEL);
	assert_int_equal(s.hist.factor.consecutive, 0);
	/* Locked: refused, not evaluated; a backup code still is. */
	failures(&s.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 7 * 86400);
	core_second_factor_step(&s, CORE_SMS, "123456", 6, NULL, NOW, &keys, &params);
	assert_int_equal(s.verdict, CORE_FACTOR_LOCKED);
	/* SMS alone keeps 2FA on for a backup code; without it the login ends. */
	memset(&s.hist, 0, sizeof(s.hist));
	s.backup_found = true;
	s.backup = backup_set;
	core_second_factor_step(&s, CORE_BACKUP_CODE, codes[0], strlen(codes[0]), NULL, NOW, &keys,
				&params);
	assert_int_equal(s.verdict, CORE_OK);
	s.sms_on = false;
	core_second_factor_step(&s, CORE_BACKUP_CODE, codes[1], strlen(codes[1]), NULL, NOW, &keys,
				&params);
	assert_int_equal(s.verdict, CORE_LOGIN_EXPIRED);
	assert_int_equal(s.login_write, CORE_LOGIN_DEL);
	/* The password step: SMS alone asks a second factor and offers SMS,
	 * not TOTP. */
	memset(&l, 0, sizeof(l));
	l.known = l.password_ok = l.account_found = true;
	memcpy(l.account.id, account, AUTHD_ID_LEN);
	l.sms_on = true;
	core_password_login_decide(&l, NOW, &params);
	assert_int_equal(l.verdict, CORE_OK);
	assert_true(l.second_factor);
	assert_true(l.has_sms);
	assert_false(l.has_totp);
	failures(&l.hist.factor, THROTTLE_FACTOR_LOCK, NOW - 7 * 86400);
	core_password_login_decide(&l, NOW, &params);
	assert_true(l.second_factor);
	assert_false(l.has_sms); /* locked: no code would be taken */
}

/* Daily quotas of text messages: max a UTC day, then refused until the
 * next; the sweeper keeps a quota until its day is over. */
static void test_sms_quota(void **state)
{
	struct throttle_rec r;
	uint8_t key[THROTTLE_KEY_LEN], key2[THROTTLE_KEY_LEN], hkey[32] = {1};
	int64_t day = NOW - NOW % THROTTLE_DAY, wait;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 3; i++)
		assert_true(throttle_quota_take(&r, 3, day + 10 + i, &wait));
	assert_false(throttle_quota_take(&r, 3, day + 100, &wait));
	assert_int_equal(wait, THROTTLE_DAY - 100);
	assert_int_equal(r.consecutive, 3);
	throttle_key_sms_account(key, account, true);
	assert_int_equal(key[0], 's');
	throttle_key_sms_account(key2, account, false);
	assert_int_equal(key2[0], 'u'); /* apart: unauthenticated asks cannot spend it */
	assert_false(throttle_subject_is_quiet(key, &r, day + THROTTLE_DAY - 1));
	assert_true(throttle_subject_is_quiet(key, &r, day + THROTTLE_DAY));
	assert_true(throttle_quota_take(&r, 3, day + THROTTLE_DAY, &wait));
	assert_int_equal(r.consecutive, 1);
	/* Numbers that begin alike share a prefix quota; others do not. */
	throttle_key_sms_prefix(key, hkey, "+41791234567");
	throttle_key_sms_prefix(key2, hkey, "+41 79 199 99 99");
	assert_int_equal(key[0], 'P');
	assert_memory_equal(key, key2, THROTTLE_KEY_LEN);
	throttle_key_sms_prefix(key2, hkey, "+41781234567");
	assert_memory_not_equal(key, key2, THROTTLE_KEY_LEN);
}

/* Recovery login identifiers: initials and 8 digits, told apart from
 * emails, typed loosely; a session of an account that signs in with one
 * is flagged. */
static void test_recovery_login(void **state)
{
	const uint8_t rnd[8] = {0, 0, 0, 0, 0, 0x12, 0x34, 0x56};
	char id[RECOVERY_LOGIN_MAX + 1], norm[EMAIL_MAX + 1];
	struct account a;
	struct session s;

	(void)state;
	core_recovery_login_new("Jane van der Doe", rnd, id);
	assert_string_equal(id, "JVD-01193046"); /* 0x123456 = 1193046 */
	assert_true(core_login_is_recovery(id));
	core_recovery_login_new("ÉLODIE 42", rnd, id);
	assert_string_equal(id, "X-01193046"); /* no ASCII initial */
	core_recovery_login_new("", rnd, id);
	assert_true(core_login_is_recovery(id));
	assert_false(core_login_is_recovery("jd-01193046"));
	assert_false(core_login_is_recovery("JD-0119304"));
	assert_false(core_login_is_recovery("JDXY-01193046"));
	assert_false(core_login_is_recovery("ann@example.com"));
	assert_int_equal(core_login_normalize("jvd 0119 3046", 13, norm), 0);
	assert_string_equal(norm, "JVD-01193046");
	assert_int_equal(core_login_normalize("Ann@Example.com", 15, norm), 0);
	assert_string_equal(norm, "ann@example.com");
	assert_int_equal(core_login_normalize("jvd-0119304", 11, norm), -1);
	assert_int_equal(core_login_normalize("0119 3046 jd", 12, norm), -1);
	memset(&a, 0, sizeof(a));
	snprintf(a.email, sizeof(a.email), "JVD-01193046");
	core_session_new(&s, &a, AAL_PASSWORD, NOW, &params);
	assert_int_equal(s.flags, SESSION_F_LOGIN_REPLACED);
	snprintf(a.email, sizeof(a.email), "ann@example.com");
	core_session_new(&s, &a, AAL_PASSWORD, NOW, &params);
	assert_int_equal(s.flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_second_factor_table),
	    cmocka_unit_test(test_second_factor_history),
	    cmocka_unit_test(test_password_login_table),
	    cmocka_unit_test(test_password_login_throttled_in_the_write),
	    cmocka_unit_test(test_enroll_and_confirm),
	    cmocka_unit_test(test_remove_and_regenerate),
	    cmocka_unit_test(test_password_change),
	    cmocka_unit_test(test_session_new_and_expiry),
	    cmocka_unit_test(test_device_codes),
	    cmocka_unit_test(test_seed_of_a_missing_generation),
	    cmocka_unit_test(test_wants_devices),
	    cmocka_unit_test(test_password_login_with_devices),
	    cmocka_unit_test(test_sms_step),
	    cmocka_unit_test(test_sms_quota),
	    cmocka_unit_test(test_recovery_login),
	};
	uint8_t rnd[CORE_BACKUP_RANDOM];

	memset(totp_key, 0x5c, sizeof(totp_key));
	memset(backup_key, 0x3a, sizeof(backup_key));
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 37 + 11);
	if (core_backup_new(&backup_set, codes, &keys, rnd, NOW - 1000) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
