/*
 * The core: authd's records as every layer sees them, and the rules that
 * decide over them. Nothing here knows of sockets, LMDB or PostgreSQL, and
 * nothing reads a clock or draws randomness of its own: callers pass the
 * time and random bytes in, and get new records and decisions back. The
 * store (store.h) files these records; how (keys, columns) is its business.
 */
#ifndef AUTHD_CORE_H
#define AUTHD_CORE_H

#include <otp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <util.h>

/* --- records ------------------------------------------------------------------- */

#define EMAIL_MAX   254
#define NAME_MAX_B  400 /* bytes of UTF-8; at most 100 code points */
#define PW_HASH_MAX 192

/* Sealed secrets (AES-256-GCM): the key generation that sealed it (one
 * byte, 1 to 255), the nonce, the text, the tag. */
#define SEAL_NONCE	12
#define SEAL_TAG	16
#define SEAL_OVERHEAD	(1 + SEAL_NONCE + SEAL_TAG)
#define SEALED_SEED_MAX (OTP_KEY_MAX + SEAL_OVERHEAD)

struct account {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	char email[EMAIL_MAX + 1];
	char name[NAME_MAX_B + 1];
	char pw_hash[PW_HASH_MAX]; /* argon2id PHC string of the peppered password */
	int64_t created_at;
	int64_t password_changed_at;
	int64_t locked_at; /* 0: not locked; else no sign-in until a case unlocks it */
};

enum org_role {
	ROLE_LEGAL_REPRESENTATIVE = 1,
	ROLE_ADMINISTRATOR,
	ROLE_COLLABORATOR,
	ROLE_EXTERNAL, /* limited rights; left out of organization-wide address books */
};

/* The role's name in the API and in stored records ("" when out of range). */
/* Whether the role manages the organization's people and tokens (legal
 * representatives and administrators). */
bool core_role_manages(enum org_role r);
const char *core_role_name(enum org_role role);
/* The role a name stands for; 0 when none. */
enum org_role core_role_parse(const char *name);

/* Rights a member holds apart from the role (bits). */
enum member_rights {
	MEMBER_R_BILLING = 1 << 0, /* sees and acts on the organization's billing */
};

/* The administrative notices a member wants to receive (bits): the
 * organization's contact preferences for that person. */
enum member_contact {
	CONTACT_BILLING = 1 << 0,   /* invoices, payment reminders */
	CONTACT_TECHNICAL = 1 << 1, /* incidents, maintenance */
	CONTACT_SECURITY = 1 << 2,  /* security notices about the organization */
	CONTACT__ALL = (1 << 3) - 1,
};

/* A contact preference's name in the API ("billing"), "" when not exactly
 * one known bit; and back (0 when none). */
const char *core_contact_name(unsigned contact);
unsigned core_contact_parse(const char *name);

/* One person's membership of an organization. */
struct member {
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN];
	enum org_role role;
	unsigned rights;   /* enum member_rights */
	unsigned contacts; /* enum member_contact */
	int64_t since;	   /* when the account joined */
};

/*
 * The rule for changing or removing a membership (the actor's authority
 * is the policy's question; this is the organization's own invariant):
 * an organization keeps at least one legal representative. `reps` is how
 * many it has now, `from` the member's role now and `to` the role asked
 * for (0: the member leaves or is removed). Returns true when allowed.
 */
bool core_member_change_keeps_rep(unsigned reps, enum org_role from, enum org_role to);

struct org {
	uint8_t id[AUTHD_ID_LEN];
	char name[NAME_MAX_B + 1];
	int64_t created_at;
};

/*
 * An invitation to join an organization, sent by email: a 256-bit token
 * (only its SHA-256 kept) that works once, for INVITE_TTL_S, unless
 * revoked. Accepting needs the invited address's owner: the link itself
 * when it creates a new account, a session of the account with that login
 * email otherwise.
 */
#define INVITE_TTL_S	   (7 * 86400)
#define INVITE_PENDING_MAX 200		/* pending invitations one organization may have */
#define INVITE_DAILY_MAX   100		/* invitation emails one organization sends a UTC day */
#define INVITE_KEEP_S	   (30 * 86400) /* an ended one is kept this long after its end */

enum invite_state {
	INVITE_PENDING = 1,
	INVITE_ACCEPTED,
	INVITE_REVOKED,
};

struct invite {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t token_hash[AUTHD_HASH_LEN];
	char email[EMAIL_MAX + 1]; /* normalized */
	enum org_role role;
	unsigned rights; /* enum member_rights */
	uint8_t inviter[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t expires_at;
	uint8_t state;			  /* enum invite_state */
	int64_t ended_at;		  /* accepted or revoked; 0 while pending */
	uint8_t account_id[AUTHD_ID_LEN]; /* who accepted; zeros before */
};

enum invite_verdict {
	INVITE_OK = 0,
	INVITE_E_EXPIRED,
	INVITE_E_USED,
	INVITE_E_REVOKED,
};

/* Whether the invitation may be accepted at now. */
enum invite_verdict core_invite_usable(const struct invite *inv, int64_t now);
/* Whether it still counts against the organization's pending ones. */
bool core_invite_pending(const struct invite *inv, int64_t now);

enum aal { AAL_PASSWORD = 1, AAL_SECOND_FACTOR = 2 };

#define SESSION_IP_MAX	    47
#define SESSION_BROWSER_MAX 63

struct session {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN]; /* current organization */
	uint8_t aal;
	int64_t created_at;
	int64_t last_seen;
	int64_t expires_at;	  /* absolute */
	int64_t second_factor_at; /* last second-factor proof, 0 if none */
	/* Who began it, for the account's list of its sessions. */
	char ip[SESSION_IP_MAX + 1];
	char browser[SESSION_BROWSER_MAX + 1]; /* "Firefox 128 on Linux", or "unknown" */
	uint8_t flags;			       /* enum session_flags */
};

enum session_flags {
	/* The account signs in with a recovery login identifier (its login
	 * email was deleted): a new login email comes before anything else. */
	SESSION_F_LOGIN_REPLACED = 1 << 0,
};

/*
 * Recovery login identifiers: what an account signs in with once its login
 * email was reported deleted: up to 3 initials of its name, a dash and 8
 * digits ("JD-48392017"). Never an email (no "@"), so never a login email.
 */
#define RECOVERY_LOGIN_MAX    12
#define RECOVERY_LOGIN_DIGITS 8
/* A new identifier from the name's initials (ASCII letters; "X" when
 * none) and rnd. */
void core_recovery_login_new(const char *name, const uint8_t rnd[8],
			     char out[RECOVERY_LOGIN_MAX + 1]);
/* Whether login is a recovery identifier (as made above). */
bool core_login_is_recovery(const char *login);
/* "jd 4839 2017", "jd48392017" -> "JD-48392017". 0 or -1. */
int core_recovery_login_normalize(const char *in, size_t len, char out[RECOVERY_LOGIN_MAX + 1]);
/* What an account signs in with: a normalized email, or else a recovery
 * login identifier. 0 or -1. */
int core_login_normalize(const char *in, size_t len, char out[EMAIL_MAX + 1]);

/* When the session ends: idle_s after it was last seen, or its absolute
 * end, whichever is first. */
int64_t core_session_expires(const struct session *s, int64_t idle_s);

/* Where a session or pending login is filed: the account id its token
 * carries and the SHA-256 of the whole token. */
struct token_ref {
	uint8_t account_id[AUTHD_ID_LEN];
	uint8_t hash[AUTHD_HASH_LEN];
};

struct login {
	uint8_t account_id[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t expires_at;
	uint8_t attempts; /* failed second-factor tries on this login */
};

struct totp_rec {
	bool enabled;
	uint8_t alg, digits, period;
	int64_t last_step; /* -1: none yet */
	int64_t enabled_at;
	uint8_t seed[SEALED_SEED_MAX]; /* sealed, never plaintext */
	uint8_t seed_len;
	/* An enrollment waiting for its first code. */
	uint8_t pending_id[AUTHD_ID_LEN];
	int64_t pending_expires_at; /* 0: none */
	uint8_t pending_seed[SEALED_SEED_MAX];
	uint8_t pending_seed_len;
};

struct backup_rec {
	int64_t created_at;
	uint8_t salt[OTP_BACKUP_COUNT][OTP_BACKUP_SALT_LEN];
	uint8_t hash[OTP_BACKUP_COUNT][OTP_BACKUP_HASH_LEN];
	int64_t used_at[OTP_BACKUP_COUNT]; /* 0: unused */
};

unsigned backup_remaining(const struct backup_rec *b);

/* Security events of an account: what its owner can check a warning
 * against (the account's activity shows them). */
enum security_event_kind {
	EVENT_PASSWORD_CHANGED = 1,
	EVENT_TOTP_ENABLED,
	EVENT_TOTP_REMOVED,
	EVENT_BACKUP_CODES_REGENERATED,
	EVENT_SECOND_FACTOR_LOCKED,
	EVENT_DEVICE_LINKED,
	EVENT_DEVICE_REMOVED,
	EVENT_PUSH_PAUSED,	      /* "not me", or denials in a row */
	EVENT_LOGIN,		      /* a sign-in step: its method and outcome say which */
	EVENT_RECOVERY_EMAIL_CHANGED, /* verified, or removed */
	EVENT_RECOVERY_PHONE_CHANGED,
	EVENT_PASSWORD_RESET, /* a new password through recovery */
	EVENT_LOGIN_EMAIL_CHANGED,
	EVENT_SMS_ENABLED, /* the mobile number as a second factor */
	EVENT_SMS_REMOVED,
	EVENT_LOGIN_EMAIL_LOST,	   /* reported deleted: a recovery login identifier instead */
	EVENT_ACCOUNT_LOCKED,	   /* by a reviewer */
	EVENT_ACCOUNT_UNLOCKED,	   /* through an identity-verification case */
	EVENT_SECOND_FACTOR_RESET, /* every second factor removed through a case */
	EVENT_CASE_DECIDED,	   /* a case about the account was approved or rejected */
	EVENT__COUNT
};

/* How a sign-in step was made, and how it went (EVENT_LOGIN). */
enum event_method {
	EVENT_M_NONE = 0,
	EVENT_M_PASSWORD,
	EVENT_M_TOTP,
	EVENT_M_BACKUP_CODE,
	EVENT_M_PUSH,
	EVENT_M_SMS,
	EVENT_M__COUNT
};
enum event_outcome {
	EVENT_O_NONE = 0,
	EVENT_O_SUCCESS,       /* signed in */
	EVENT_O_SECOND_FACTOR, /* the password was right; a second factor was asked */
	EVENT_O_FAILURE,       /* a wrong password or code */
	EVENT_O_DENIED,	       /* refused on a device */
	EVENT_O__COUNT
};

#define EVENT_IP_MAX	  47
#define EVENT_BROWSER_MAX 63
#define EVENT_KEEP_S	  (90 * 86400) /* then the sweeper deletes it */

struct security_event {
	uint8_t account_id[AUTHD_ID_LEN];
	int64_t at;
	uint16_t kind;			     /* enum security_event_kind */
	char ip[EVENT_IP_MAX + 1];	     /* the client's address, "" when none */
	uint8_t method;			     /* enum event_method */
	uint8_t outcome;		     /* enum event_outcome */
	char browser[EVENT_BROWSER_MAX + 1]; /* "" when unknown */
	uint64_t seq; /* set by the store when listed: orders events of one second */
};

/* Where a list of events goes on from: before the event at `at` with
 * `seq` (as listed). */
struct event_cursor {
	int64_t at;
	uint64_t seq;
};

/* The kind's name ("totp_enabled"), "" when out of range; and back (0
 * when none). The same for methods and outcomes ("" / 0 for none). */
const char *core_event_name(enum security_event_kind k);
enum security_event_kind core_event_parse(const char *name);
const char *core_event_method_name(enum event_method m);
enum event_method core_event_method_parse(const char *name);
const char *core_event_outcome_name(enum event_outcome o);
enum event_outcome core_event_outcome_parse(const char *name);

/* --- products, teams and who may use what ---------------------------------------- */

/*
 * An organization's products (a mail domain, a drive, a hosting...), its
 * work teams, and the grants that give a member or a team rights on a
 * product. Legal representatives and administrators have every right on
 * every product; collaborators and external users have what their own
 * grants and their teams' give them (core_access_of).
 */
enum product_kind {
	PRODUCT_MAIL = 1,
	PRODUCT_DRIVE,
	PRODUCT_CHAT,
	PRODUCT_HOSTING,
	PRODUCT_DOMAIN,
	PRODUCT_OTHER,
};
const char *core_product_kind_name(enum product_kind k);
enum product_kind core_product_kind_parse(const char *name);

struct product {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t kind; /* enum product_kind */
	char name[NAME_MAX_B + 1];
	int64_t created_at;
	int64_t expires_at;	 /* 0: none (billing sets it) */
	uint16_t renewal_months; /* what one renewal buys: 1..PRODUCT_RENEWAL_MAX */
	bool auto_renew;	 /* paid for by itself, BILLING_RENEW_LEAD before expiry */
	/* The renewal scheduler's marks: the expiry it ordered a renewal for
	 * (once per expiry), and since when the product is blocked for want
	 * of payment (0: it is not; nobody reaches a blocked product). */
	int64_t renew_tried;
	int64_t blocked_at;
};

#define PRODUCT_RENEWAL_DEFAULT 12
#define PRODUCT_RENEWAL_MAX	120 /* some renew for several years: up to ten */

/* Rights on a product (bits): reach it, and administer it. */
enum product_right {
	PRODUCT_R_USE = 1 << 0,
	PRODUCT_R_MANAGE = 1 << 1,
	PRODUCT_R__ALL = (1 << 2) - 1,
};
const char *core_product_right_name(unsigned right);
unsigned core_product_right_parse(const char *name);

/* A grant may narrow itself to some of the product's resources (mailboxes
 * of a mail product, folders of a drive): at most GRANT_RESOURCES_MAX
 * names; none means the whole product. */
#define GRANT_RESOURCES_MAX 8
#define GRANT_RESOURCE_MAX  254

enum grant_subject { GRANT_MEMBER = 1, GRANT_TEAM };

struct grant {
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t product_id[AUTHD_ID_LEN];
	uint8_t subject[AUTHD_ID_LEN]; /* an account or a team */
	uint8_t subject_kind;	       /* enum grant_subject */
	unsigned rights;	       /* enum product_right */
	unsigned n_resources;
	char resources[GRANT_RESOURCES_MAX][GRANT_RESOURCE_MAX + 1];
};

#define TEAMS_MAX_PER_MEMBER 64 /* teams one member may be in */

struct team {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	char name[NAME_MAX_B + 1];
	uint8_t leader[AUTHD_ID_LEN]; /* a member of the team; zeros: none */
	int64_t created_at;
};

/* Where an access comes from (bits). */
enum access_via {
	ACCESS_VIA_ROLE = 1 << 0,   /* legal representative or administrator */
	ACCESS_VIA_MEMBER = 1 << 1, /* a grant to the member */
	ACCESS_VIA_TEAM = 1 << 2,   /* a grant to one of its teams */
	ACCESS_VIA_PARTNER = 1 << 3,
};

/* The resources an access lists (the union of its grants'); beyond,
 * `truncated` says more were granted than listed. */
#define ACCESS_RESOURCES_MAX 64

struct access {
	unsigned rights; /* enum product_right */
	bool all_resources;
	unsigned n_resources;
	char resources[ACCESS_RESOURCES_MAX][GRANT_RESOURCE_MAX + 1];
	bool truncated;
	unsigned via; /* enum access_via */
};

/* What member m may do on a product given the grants that name it or its
 * teams (n of them): the union of their rights and resources (a grant of
 * the whole product makes it all), or everything for the roles that
 * manage the organization. */
void core_access_of(const struct member *m, const struct grant *grants, size_t n,
		    struct access *out);

/*
 * A partner relation: the client organization lets a partner organization
 * (a reseller, an agency) manage all or some of its products, with or
 * without its billing. The partner's legal representatives and
 * administrators then act on those products (policy.c: a partner
 * principal); either side ends it.
 */
#define PARTNER_PRODUCTS_MAX 32

struct partner_link {
	uint8_t client_org[AUTHD_ID_LEN];
	uint8_t partner_org[AUTHD_ID_LEN];
	bool all_products;
	unsigned n_products;
	uint8_t products[PARTNER_PRODUCTS_MAX][AUTHD_ID_LEN];
	bool billing;
	int64_t created_at;
};

/* Whether the relation covers the client's product. */
bool core_partner_covers(const struct partner_link *l, const uint8_t product_id[AUTHD_ID_LEN]);
/*
 * What someone who manages several partner organizations of one client
 * may do there: the union of their relations, into *into (all products if
 * one says so, billing if one gives it, every product named). False when
 * the named products do not all fit (PARTNER_PRODUCTS_MAX): those left
 * out are not covered (less, never more, than the relations give).
 */
bool core_partner_merge(struct partner_link *into, const struct partner_link *l);

/* --- API tokens ----------------------------------------------------------------- */

/*
 * A bearer token a person makes for a program: "authd_tok_" and 43
 * base64url characters (256 random bits), shown once, kept as its SHA-256.
 * It acts as its account within its scopes, and is never a proof of
 * presence (policy.c). Each may make API_TOKEN_RATE requests in any
 * API_TOKEN_WINDOW_MS, counted in its record: the times of the last
 * accepted ones, a ring, so the limit holds on every node that shares the
 * store.
 */
#define API_TOKEN_PREFIX      "authd_tok_"
#define API_TOKEN_NAME_MAX    64
#define API_TOKENS_MAX	      50		/* an account's (or organization's) tokens */
#define API_TOKEN_EXPIRES_MAX (2 * 365 * 86400) /* the longest expires_in */
#define API_TOKEN_RATE	      60
#define API_TOKEN_WINDOW_MS   60000

/* Scopes: an area, read or write (bits). */
enum api_scope {
	SCOPE_ACCOUNT_READ = 1 << 0,
	SCOPE_ACCOUNT_WRITE = 1 << 1,
	SCOPE_ORGANIZATIONS_READ = 1 << 2,
	SCOPE_ORGANIZATIONS_WRITE = 1 << 3,
	SCOPE_BILLING_READ = 1 << 4,
	SCOPE_BILLING_WRITE = 1 << 5,
	SCOPE__ALL = (1 << 6) - 1,
};

/* A scope's name ("account:read"), "" when not exactly one known bit; and
 * back (0 when none). */
const char *core_scope_name(unsigned scope);
unsigned core_scope_parse(const char *name);

/*
 * A person's token acts as its account; an organization's token (made by
 * one of its legal representatives or administrators, account_id ==
 * org_id) acts as an administrator of that organization and of nothing
 * else, whoever made it and whether they are still there.
 */
struct api_token {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN]; /* whose: an account, or org_id (the organization's) */
	uint8_t org_id[AUTHD_ID_LEN];	  /* the organization it acts in (the current one) */
	uint8_t created_by[AUTHD_ID_LEN]; /* the account that made it */
	uint8_t hash[AUTHD_HASH_LEN];	  /* SHA-256 of the whole token text */
	char name[API_TOKEN_NAME_MAX + 1];
	unsigned scopes; /* enum api_scope */
	int64_t created_at;
	int64_t expires_at;   /* 0: never */
	int64_t last_used_at; /* 0: never */
	/* The rate ring: times (ms) of the last `count` accepted requests,
	 * the oldest at `head`. */
	int64_t hits[API_TOKEN_RATE];
	uint8_t head, count;
};

/* Whether the token may be used at now (not expired). */
bool core_token_live(const struct api_token *t, int64_t now);
/* Whether it is an organization's token (not a person's). */
bool core_token_is_org(const struct api_token *t);
/* The scopes an organization's token may have: the organization's. */
#define SCOPE_ORG_TOKEN (SCOPE_ORGANIZATIONS_READ | SCOPE_ORGANIZATIONS_WRITE)
/*
 * An organization's token as a member of org_id: an administrator of its
 * own organization (its id in account_id: it is nobody's account), no
 * role (0) anywhere else; no billing right, no contact.
 */
void core_org_token_member(const struct api_token *t, const uint8_t org_id[AUTHD_ID_LEN],
			   struct member *m);
/*
 * Takes a slot of the token's rolling window for a request at now_ms:
 * true with the ring updated, or false with *retry_after_s the whole
 * seconds (at least 1) until the oldest counted request leaves the window.
 * A time before the oldest counted one (another node's clock) counts as
 * within the window.
 */
bool core_token_rate_take(struct api_token *t, int64_t now_ms, int64_t *retry_after_s);

/* --- billing ------------------------------------------------------------------- */

/*
 * Money is an integer count of minor units (cents) with its currency;
 * never floating point. An organization's default billing address
 * decides its currency: CHF for Switzerland and Liechtenstein, EUR
 * elsewhere.
 */
enum currency {
	CURRENCY_CHF = 1,
	CURRENCY_EUR,
};

struct money {
	int64_t minor;	  /* cents */
	uint8_t currency; /* enum currency */
};

/* "CHF", "EUR" ("" for another value); and back (0: none). */
const char *core_currency_name(enum currency c);
enum currency core_currency_parse(const char *name);
/* The currency a billing address in country (ISO 3166-1 alpha-2) bills in. */
enum currency core_currency_of_country(const char *country);
/* Whether country is two capital letters (ISO 3166-1 alpha-2's shape). */
bool core_country_ok(const char *country);

#define BILLING_ADDRESSES_MAX 20  /* an organization's */
#define ADDRESS_LINE_MAX      400 /* bytes of UTF-8: at most 100 code points */
#define POSTAL_CODE_MAX	      16
#define VAT_NUMBER_MAX	      32

struct billing_address {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	char name[ADDRESS_LINE_MAX + 1];
	char line1[ADDRESS_LINE_MAX + 1];
	char line2[ADDRESS_LINE_MAX + 1]; /* "" when none */
	char postal_code[POSTAL_CODE_MAX + 1];
	char city[ADDRESS_LINE_MAX + 1];
	char country[3];
	char vat_number[VAT_NUMBER_MAX + 1]; /* "" when none */
	bool is_default;		     /* the one that decides the currency */
	int64_t created_at;
};

/* --- the prepaid balance's ledger and payments ------------------------------------- */

/*
 * Each movement of money is a transaction of legs over accounts, summing
 * to zero: the organization's prepaid balance (what it may spend), money
 * received through the payment provider, revenue (paid invoices), and
 * money of the balance held for a payment the provider has yet to finish.
 * A deposit moves money from the provider to the balance; paying an
 * invoice from the balance moves it from the balance to revenue; a
 * payment shared with the provider holds its part of the balance until
 * the provider says paid (then held and provider go to revenue) or failed
 * (then held goes back). The balance is the sum of its prepaid legs and
 * is never below zero (billing/).
 */
enum ledger_account {
	LEDGER_PREPAID = 1,
	LEDGER_PROVIDER,
	LEDGER_REVENUE,
	LEDGER_HELD,
};

#define LEDGER_ACCOUNTS 4
#define LEDGER_LEGS_MAX 4

struct ledger_leg {
	uint8_t account; /* enum ledger_account */
	int64_t minor;	 /* in: positive; out: negative */
};

struct ledger_tx {
	uint8_t currency; /* enum currency */
	unsigned n;
	struct ledger_leg legs[LEDGER_LEGS_MAX];
};

/* Why a transaction was made. */
enum ledger_kind {
	LEDGER_K_DEPOSIT = 1, /* the provider paid a deposit in */
	LEDGER_K_PAY,	      /* invoices paid from the balance alone */
	LEDGER_K_HOLD,	      /* the balance's part of a payment, held */
	LEDGER_K_SETTLE,      /* the provider paid the rest: held and rest to revenue */
	LEDGER_K_RELEASE,     /* the provider failed: the held part back */
};
const char *core_ledger_kind_name(enum ledger_kind k);

/* One committed transaction of an organization's ledger. */
struct ledger_entry {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	int64_t at;
	uint8_t kind;			  /* enum ledger_kind */
	uint8_t payment_id[AUTHD_ID_LEN]; /* the payment it belongs to */
	struct ledger_tx tx;
};

/* A leg's amount of account in tx (0 when it has none). */
int64_t core_ledger_leg(const struct ledger_tx *tx, enum ledger_account account);

enum payment_kind {
	PAYMENT_DEPOSIT = 1, /* money into the prepaid balance */
	PAYMENT_INVOICES,    /* one or several invoices, in one payment */
};

enum payment_status {
	PAYMENT_PENDING = 1, /* waiting for the provider */
	PAYMENT_PAID,
	PAYMENT_FAILED,
};
const char *core_payment_kind_name(enum payment_kind k);
const char *core_payment_status_name(enum payment_status s);

#define PAYMENT_INVOICES_MAX 20	 /* invoices paid together */
#define PAYMENT_REF_MAX	     64	 /* the provider's reference */
#define PAYMENT_URL_MAX	     512 /* where the payer completes it at the provider */
#define IDEMPOTENCY_KEY_MAX  64	 /* bytes of an Idempotency-Key header */

/*
 * A payment an organization asked for. Its id derives from the
 * organization and the request's Idempotency-Key (the same key names the
 * same payment on every node, and the provider, which is idempotent on
 * it, starts one checkout for it); request_hash is what the request
 * asked for, so that the key cannot be reused for another payment.
 */
struct payment {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t key_hash[AUTHD_HASH_LEN];     /* SHA-256 of the Idempotency-Key */
	uint8_t request_hash[AUTHD_HASH_LEN]; /* of what it pays */
	uint8_t kind;			      /* enum payment_kind */
	uint8_t status;			      /* enum payment_status */
	uint8_t currency;		      /* enum currency */
	int64_t amount;			      /* minor units: the whole */
	int64_t from_balance;		      /* of it, from the prepaid balance */
	int64_t rest;			      /* of it, through the provider */
	uint8_t created_by[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t settled_at; /* paid or failed; 0 while pending */
	char provider_ref[PAYMENT_REF_MAX + 1];
	char checkout_url[PAYMENT_URL_MAX + 1];
	unsigned n_invoices;
	uint8_t invoices[PAYMENT_INVOICES_MAX][AUTHD_ID_LEN];
};

/* --- invoices and vouchers --------------------------------------------------------- */

/*
 * An order (a new product, or a product's renewal) is an invoice: open
 * until paid (or cancelled); an open one past its due date is told as
 * overdue. While open it is a pending order, payable later, and its
 * document a pro-forma. Its figures are decided at order time (billing/)
 * and never change; the billing address is copied into it then.
 */
enum invoice_kind {
	INVOICE_NEW = 1, /* a new product, made when paid */
	INVOICE_RENEWAL, /* an existing product's renewal */
};

enum invoice_status {
	INVOICE_OPEN = 1,
	INVOICE_PAID,
	INVOICE_CANCELLED,
};
const char *core_invoice_kind_name(enum invoice_kind k);
const char *core_invoice_status_name(enum invoice_status s);

#define INVOICE_LINES_MAX 4
#define INVOICE_TEXT_MAX  512 /* bytes of a line's text: a whole product name fits */
#define VOUCHER_CODE_MAX  32  /* bytes of a promotion code: A-Z, 0-9, '-' */

struct invoice_item {
	char text[INVOICE_TEXT_MAX + 1];
	uint32_t quantity;  /* months */
	int64_t unit_minor; /* the price of one, before tax */
};

struct invoice {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	uint64_t number; /* the operator's sequence, from 1: no gaps */
	uint8_t kind;	 /* enum invoice_kind */
	uint8_t status;	 /* enum invoice_status */
	uint8_t currency;
	uint8_t product_id[AUTHD_ID_LEN]; /* renewed, or to be made (INVOICE_NEW) */
	uint8_t product_kind;		  /* enum product_kind */
	char product_name[NAME_MAX_B + 1];
	uint16_t months; /* what it buys */
	uint32_t tax_bp; /* basis points of the address's country */
	int64_t subtotal, discount, tax, total;
	char voucher[VOUCHER_CODE_MAX + 1]; /* "" when none */
	struct billing_address address;	    /* as it was when ordered */
	unsigned n_items;
	struct invoice_item items[INVOICE_LINES_MAX];
	uint8_t created_by[AUTHD_ID_LEN];
	int64_t created_at, due_at, paid_at, cancelled_at;
	uint8_t payment_id[AUTHD_ID_LEN]; /* pending or paid payment; zeros: none */
};

/* A promotion code or free voucher, made by the operator's billing staff
 * (billing.h's struct voucher_rule holds its rules and uses). */
struct voucher {
	char code[VOUCHER_CODE_MAX + 1];
	uint8_t kind; /* billing.h's enum voucher_kind */
	uint32_t bp;
	int64_t amount_minor;
	uint8_t currency; /* of amount_minor (VOUCHER_AMOUNT) */
	int64_t valid_from, valid_until;
	uint32_t max_uses, used;
	uint8_t created_by[AUTHD_ID_LEN];
	int64_t created_at;
};

/* --- support access ------------------------------------------------------------- */

/*
 * An organization lets the operator's support staff reach one kind of its
 * content (mail, drive or chat) for a while: a support grant, one kind
 * each, independent of the others, optionally tied to a support request
 * number. It ends when revoked or SUPPORT_GRANT_TTL after it was made.
 * Only the staff assigned to it (by a support lead) use it.
 */
#define SUPPORT_GRANT_TTL     (7 * 86400)
#define SUPPORT_ASSIGNEES_MAX 8
#define SUPPORT_REQUEST_MAX   64  /* bytes of the request number's text */
#define SUPPORT_GRANTS_MAX    100 /* an organization's, kept (live or not) */

enum support_kind {
	SUPPORT_MAIL = 1,
	SUPPORT_DRIVE,
	SUPPORT_CHAT,
};

struct support_grant {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t org_id[AUTHD_ID_LEN];
	uint8_t kind;			       /* enum support_kind */
	char request[SUPPORT_REQUEST_MAX + 1]; /* "" when none */
	uint8_t created_by[AUTHD_ID_LEN];
	int64_t created_at;
	int64_t expires_at; /* created_at + SUPPORT_GRANT_TTL */
	int64_t revoked_at; /* 0: not revoked */
	unsigned n_assignees;
	uint8_t assignees[SUPPORT_ASSIGNEES_MAX][AUTHD_ID_LEN];
};

/* "mail", "drive", "chat" ("" for another value); and back (0: none). */
const char *core_support_kind_name(enum support_kind k);
enum support_kind core_support_kind_parse(const char *name);

/* Whether the grant may still be used at now (neither revoked nor past
 * its expiry). */
bool core_support_live(const struct support_grant *g, int64_t now);

/* What one use of a grant comes to: allowed, or why not. */
enum support_verdict {
	SUPPORT_ALLOWED = 0,
	SUPPORT_REVOKED,
	SUPPORT_EXPIRED,
	SUPPORT_NOT_ASSIGNED,
	SUPPORT_OTHER_KIND,
};
const char *core_support_verdict_name(enum support_verdict v);

/* Whether staff member account_id is among the grant's assignees; adds it
 * (true) or removes it (true when it was there); adding fails (false) when
 * SUPPORT_ASSIGNEES_MAX are there. */
bool core_support_assigned(const struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN]);
bool core_support_assign(struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN]);
bool core_support_unassign(struct support_grant *g, const uint8_t account_id[AUTHD_ID_LEN]);

/* --- an organization's audit trail ------------------------------------------------ */

/*
 * What changed in an organization: memberships, roles, rights, teams,
 * partner relations, invitations and tokens, and what partner
 * organizations' users read there. One record per act, kept with the
 * organization; who acted, through what, from where.
 */
enum audit_action {
	AUDIT_MEMBER_ADDED = 1,
	AUDIT_MEMBER_CHANGED, /* role, rights or contact preferences */
	AUDIT_MEMBER_REMOVED,
	AUDIT_MEMBER_LEFT,
	AUDIT_TOKEN_CREATED,
	AUDIT_TOKEN_REVOKED,
	AUDIT_INVITATION_SENT,
	AUDIT_INVITATION_REVOKED,
	AUDIT_PRODUCT_ADDED,
	AUDIT_PRODUCT_REMOVED,
	AUDIT_GRANT_CHANGED, /* a member's or team's rights on a product */
	AUDIT_GRANT_REMOVED,
	AUDIT_TEAM_ADDED,
	AUDIT_TEAM_CHANGED,
	AUDIT_TEAM_REMOVED,
	AUDIT_TEAM_MEMBER_ADDED,
	AUDIT_TEAM_MEMBER_REMOVED,
	AUDIT_PARTNER_ADDED,
	AUDIT_PARTNER_REMOVED,
	AUDIT_READ, /* what a partner organization's user read (detail "what") */
	AUDIT_SUPPORT_GRANTED,
	AUDIT_SUPPORT_REVOKED,
	AUDIT_SUPPORT_ASSIGNED,	  /* a support lead assigned a grant to an agent */
	AUDIT_SUPPORT_UNASSIGNED, /* or took it back */
	AUDIT_SUPPORT_USED,	  /* an agent asked to use a grant: allowed or not */
	AUDIT_ADDRESS_ADDED,	  /* a billing address */
	AUDIT_ADDRESS_CHANGED,
	AUDIT_ADDRESS_REMOVED,
	AUDIT_AUTO_RENEWAL_CHANGED, /* a product's auto-renewal turned on or off */
	AUDIT_PAYMENT_STARTED,	    /* a deposit or an invoices' payment asked for */
	AUDIT_PAYMENT_PAID,	    /* and paid */
	AUDIT_PAYMENT_FAILED,	    /* or failed at the provider */
	AUDIT_ORDER_PLACED,	    /* an order: a new open invoice */
	AUDIT_INVOICE_PAID,
	AUDIT_INVOICE_CANCELLED,
	AUDIT_PRODUCT_RENEWED, /* a paid renewal: the product's new expiry */
	AUDIT_RENEWAL_ORDERED, /* the scheduler ordered a product's auto-renewal */
	AUDIT_PRODUCT_BLOCKED, /* expired unpaid */
	AUDIT_PRODUCT_TERMINATED,
	AUDIT__COUNT
};

/* How the actor acted. */
enum audit_via {
	AUDIT_VIA_SESSION = 1,
	AUDIT_VIA_TOKEN,
	AUDIT_VIA_PARTNER, /* a partner organization's user */
	AUDIT_VIA_SUPPORT, /* the operator's support staff */
	AUDIT_VIA_SYSTEM,  /* authd itself, or a service of the operator (the
			    * payment provider's webhook, the renewal scheduler) */
};

#define AUDIT_DETAIL_MAX 1023

struct audit_rec {
	uint8_t org_id[AUTHD_ID_LEN];
	int64_t at;
	uint8_t actor[AUTHD_ID_LEN];	   /* the account that acted */
	uint8_t via;			   /* enum audit_via */
	uint16_t action;		   /* enum audit_action */
	uint8_t subject[AUTHD_ID_LEN];	   /* what it acted on (an account, a token); zeros: none */
	char detail[AUDIT_DETAIL_MAX + 1]; /* a JSON object's text: what changed, "" when none */
	char ip[EVENT_IP_MAX + 1];
	uint64_t seq; /* set by the store when listed (as security events') */
};

/* The action's and the way's names ("member_changed", "session"), "" when
 * out of range; and back (0 when none). */
const char *core_audit_name(enum audit_action a);
enum audit_action core_audit_parse(const char *name);
const char *core_audit_via_name(enum audit_via v);
enum audit_via core_audit_via_parse(const char *name);

/* --- where an account signs in from ---------------------------------------------- */

/*
 * The networks an account signed in from lately (keyed hashes of their
 * address prefix, /24 or /64), so that a sign-in from a new one, or from a
 * browser it does not recognise, can be told to its owner.
 */
#define PLACES_MAX	16
#define PLACE_REFRESH_S 86400 /* a known network's time is written at most daily */

struct places_rec {
	uint8_t n;
	uint64_t net[PLACES_MAX];
	int64_t seen[PLACES_MAX];
};

/*
 * Notes a right password from network `net`, in a browser recognised or
 * not. Returns true when that is a new place (a network not among the
 * last PLACES_MAX, or a browser not recognised), never for the account's
 * first sign-in (nothing to compare with). Sets *write when p changed
 * enough to be stored (a new network; a known one's time, daily).
 */
bool core_place_note(struct places_rec *p, uint64_t net, bool browser_known, int64_t now,
		     bool *write);

/* --- the outbox ------------------------------------------------------------------ */

/*
 * Every email and SMS authd sends is a record queued in the commit of the
 * change that caused it, then delivered by whichever node claims it. A
 * claim moves the message's next_at to the end of a lease (so a node that
 * dies mid-delivery only delays it: the lease ends and another claims it);
 * the outcome is settled against that claim. The text (recipient, subject,
 * body) is sealed under the outbox key and erased once the message is done.
 */
enum outbox_channel { OUTBOX_EMAIL = 1, OUTBOX_SMS = 2 };
enum outbox_state { OUTBOX_PENDING = 1, OUTBOX_SENT = 2, OUTBOX_FAILED = 3 };
/* How a delivery went: sent, worth another try later, refused for good
 * (a recipient the server rejects), or not tried because the message is
 * sealed with a key generation this node's key file lacks (another node,
 * or this one after a reload, opens it). */
enum outbox_outcome { OUTBOX_DELIVERED = 1, OUTBOX_TRY_AGAIN, OUTBOX_REJECTED, OUTBOX_NOT_HELD };

#define OUTBOX_TEXT_MAX	    8192 /* recipient, subject and body, rendered */
#define OUTBOX_SEALED_MAX   (OUTBOX_TEXT_MAX + SEAL_OVERHEAD)
#define OUTBOX_LEASE_S	    120		/* a claim's delivery must end by then */
#define OUTBOX_GIVE_UP_S    (48 * 3600) /* a message still failing this long after it was queued */
#define OUTBOX_ATTEMPTS_MAX 50
#define OUTBOX_NOT_HELD_S   10 /* a message this node cannot open: due again then, anywhere */
#define OUTBOX_KEEP_S	    (7 * 86400) /* a done message's record, then swept */

struct outbox_msg {
	uint8_t id[AUTHD_ID_LEN];
	uint8_t account_id[AUTHD_ID_LEN]; /* whose it is; zeros: nobody's */
	uint8_t channel;		  /* enum outbox_channel */
	uint8_t state;			  /* enum outbox_state */
	uint16_t attempts;		  /* claims so far */
	int64_t created_at;
	int64_t next_at;     /* pending: due then (a claim: its lease's end) */
	int64_t done_at;     /* sent or failed: when; else 0 */
	uint16_t sealed_len; /* 0 once done */
	uint8_t sealed[OUTBOX_SEALED_MAX];
};

/* The pause before another try after `attempts` claims: 10 s doubling to
 * an hour. */
int64_t core_outbox_backoff(unsigned attempts);
/* Claims m for a delivery lasting until `until`: one attempt more, due
 * again at the lease's end. */
void core_outbox_claim(struct outbox_msg *m, int64_t until);
/* Hands a claimed message back undelivered (its node is stopping, or its
 * lease is too short for another try): due at now, the attempt not
 * counted. */
void core_outbox_release(struct outbox_msg *m, int64_t now);
/* Settles a claimed message after a delivery with outcome o at now: sent
 * (done, text erased), due again after a backoff, or failed (rejected, or
 * tried for OUTBOX_GIVE_UP_S or OUTBOX_ATTEMPTS_MAX times; text erased).
 * OUTBOX_NOT_HELD was no try: the attempt is not counted and the message
 * is due again after OUTBOX_NOT_HELD_S, for any node, until its age gives
 * up. Returns the new state. */
enum outbox_state core_outbox_settle(struct outbox_msg *m, enum outbox_outcome o, int64_t now);

/* --- throttling ------------------------------------------------------------------ */

/*
 * A subject's failures give an escalating delay after a few free ones, and
 * a hard cap of failures in any rolling hour.
 */
#define THROTTLE_RING		 100
#define THROTTLE_RECOVERY_KEEP_S 86400 /* recovery.h's RECOVERY_FAIL_QUIET_S */
#define THROTTLE_KEY_LEN	 (1 + AUTHD_ID_LEN)

struct throttle_rec {
	uint32_t consecutive; /* failures since the last success or quiet period */
	int64_t last_failure;
	uint8_t count; /* entries used in ring */
	uint8_t pos;   /* next slot to write */
	int64_t ring[THROTTLE_RING];
};

struct throttle_policy {
	unsigned free_failures; /* consecutive failures without delay */
	int64_t base_delay;	/* seconds after the first delayed failure, doubling */
	int64_t max_delay;
	unsigned hourly_cap; /* failures in any rolling hour; 0 = none */
	int64_t quiet_reset; /* seconds without failure that reset `consecutive`; 0: never */
};

extern const struct throttle_policy throttle_account_policy;
/* The account-wide cap alone (no delay): every failure of the account, from
 * any address or browser, counts toward its hourly cap. */
extern const struct throttle_policy throttle_account_hourly_policy;
/* An account's second factors: as the account's, but quiet time never
 * forgets failures (only a success does), and past THROTTLE_FACTOR_LOCK
 * consecutive failures TOTP codes are refused until a backup code
 * succeeds. */
extern const struct throttle_policy throttle_factor_policy;
#define THROTTLE_FACTOR_LOCK 100
extern const struct throttle_policy throttle_ip_policy;
/* Sign-ups from one address: every attempt counts, whatever its outcome. */
extern const struct throttle_policy throttle_signup_policy;

/*
 * Seconds until the subject may try again (0: now), counting `inflight`
 * attempts already started but not yet recorded as if they had failed.
 */
int64_t throttle_retry_after(const struct throttle_rec *r, const struct throttle_policy *p,
			     int64_t now, unsigned inflight);
void throttle_record_failure(struct throttle_rec *r, const struct throttle_policy *p, int64_t now);
/* Adds a failure to the hourly history only (the other factor's record of
 * the same account, so the hourly cap counts both factors). */
void throttle_record_hourly(struct throttle_rec *r, int64_t now);
/* Whether a second-factor record is locked (TOTP refused, backup codes
 * still evaluated). */
bool throttle_factor_locked(const struct throttle_rec *r);
/* A success forgets the consecutive count (N4-09), not the hourly history. */
void throttle_record_success(struct throttle_rec *r);
/* True when nothing happened in the hour before now: the record reads
 * exactly like no record at all (the sweeper deletes it). */
bool throttle_is_quiet(const struct throttle_rec *r, int64_t now);
/* The same for the subject key's record, keeping a second-factor record
 * whose failures quiet time never forgets (consecutive > 0): deleting it
 * would forget them. What the sweeper asks. */
bool throttle_subject_is_quiet(const uint8_t key[THROTTLE_KEY_LEN], const struct throttle_rec *r,
			       int64_t now);

/*
 * Subject keys: an account's password step, an account's second factors
 * (kept apart so a right password never clears second-factor failures), or
 * an email that names no account.
 */
void throttle_key_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
void throttle_key_factor(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN]);
/*
 * The password step's delay is kept per client: per (account, address
 * prefix), or per (account, recognised browser) when the browser shows the
 * device cookie of an earlier login of the account. A stranger's guesses
 * then delay only the stranger; the account-wide hourly cap (the 'a' key)
 * still counts them all. Keyed with hkey, like unknown emails.
 */
void throttle_key_client(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			 const uint8_t account_id[AUTHD_ID_LEN], const uint8_t *prefix,
			 size_t prefix_len);
void throttle_key_device(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			 const uint8_t account_id[AUTHD_ID_LEN], const uint8_t nonce[16]);

/* Keyed with hkey (a server secret): a copy of the database does not tell
 * which emails were tried. */
void throttle_key_email(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32], const char *email);

/*
 * Daily quotas of text messages (SMS pumping: someone making authd send
 * messages to numbers that pay by the message). A quota lives in a
 * throttle record, in its own way: consecutive counts the uses of the UTC
 * day that began at last_failure (the ring stays empty); the sweeper keeps
 * it until that day is over. Keys: an account's sign-in codes ('s', asked
 * by whoever has the password), its other messages ('u', some of which
 * anyone who knows the login can ask for: apart, so that they cannot use
 * up the sign-in codes), and every account's messages to the numbers that
 * begin alike ('P': the first THROTTLE_SMS_PREFIX digits after the "+",
 * keyed with hkey).
 */
#define THROTTLE_SMS_PREFIX 5
#define THROTTLE_DAY	    86400
void throttle_key_sms_account(uint8_t key[THROTTLE_KEY_LEN], const uint8_t id[AUTHD_ID_LEN],
			      bool sign_in);
void throttle_key_sms_prefix(uint8_t key[THROTTLE_KEY_LEN], const uint8_t hkey[32],
			     const char *phone);
/* An organization's invitation emails of the day ('I'): a daily quota too
 * (INVITE_DAILY_MAX), against sending mail to strangers in its name. */
void throttle_key_invitations(uint8_t key[THROTTLE_KEY_LEN], const uint8_t org_id[AUTHD_ID_LEN]);
/* Takes one use of the quota (at most max a day) and returns true; or
 * returns false with *retry_after the seconds until the next day. */
bool throttle_quota_take(struct throttle_rec *r, unsigned max, int64_t now, int64_t *retry_after);

/* --- sealed secrets ----------------------------------------------------------------- */

/*
 * One purpose's seal keys by generation: key[g] (32 bytes) opens what
 * generation g sealed, NULL when this server does not hold it; new seals
 * use generation `current`, which it must hold. Generation 0 is never
 * used. The first byte of a seal names its generation, so keys rotate
 * without a pass over the data: old seals open until they are resealed.
 */
#define SEAL_GENERATIONS 256
struct core_keyring {
	const uint8_t *key[SEAL_GENERATIONS];
	uint8_t current;
};

/*
 * AES-256-GCM under r's current generation, binding aad: the generation,
 * the nonce (the caller's SEAL_NONCE random bytes), the text, the tag. out
 * holds len + SEAL_OVERHEAD bytes. Returns 0 or -1.
 */
int core_seal(const struct core_keyring *r, const uint8_t nonce[SEAL_NONCE], const uint8_t *aad,
	      size_t aad_len, const uint8_t *plain, size_t len, uint8_t *out);
/* Opens what core_seal wrote, with the key of the generation that sealed
 * it, into out (sealed_len - SEAL_OVERHEAD bytes; the caller wipes it).
 * Returns the length, or -1 if altered, or its generation is not held. */
long core_unseal(const struct core_keyring *r, const uint8_t *aad, size_t aad_len,
		 const uint8_t *sealed, size_t sealed_len, uint8_t *out);
/* The generation that sealed it (0 for what is too short to be a seal). */
uint8_t core_seal_generation(const uint8_t *sealed, size_t sealed_len);
/* Whether r opens it: a seal of a generation r holds. */
bool core_seal_held(const struct core_keyring *r, const uint8_t *sealed, size_t sealed_len);
/* Whether sealed is a well-formed seal of a generation r lacks (another
 * node may open it); one too short, or of generation 0, is damaged. */
bool core_seal_not_held(const struct core_keyring *r, const uint8_t *sealed, size_t len);

/* --- the rules -------------------------------------------------------------------- */

/*
 * What a rule decided. The shell maps each to one API error (errors.c);
 * CORE_OK is the only success.
 */
enum core_verdict {
	CORE_OK = 0,
	CORE_INVALID_CODE,
	CORE_CODE_REUSED,
	CORE_LOGIN_EXPIRED,
	CORE_THROTTLED, /* with a retry_after */
	CORE_FACTOR_LOCKED,
	CORE_METHOD_NOT_ENABLED,
	CORE_TOTP_NOT_ENABLED,
	CORE_TOTP_ALREADY_ENABLED,
	CORE_NO_PENDING_ENROLLMENT,
	CORE_WRONG_PASSWORD,
	CORE_INVALID_CREDENTIALS,
	CORE_EMAIL_TAKEN,
	CORE_ACCOUNT_LOCKED, /* a right password, but the account is locked (told as wrong) */
	CORE_DAMAGED,	     /* a record the keys do not open: an internal error */
	CORE_KEY_MISSING,    /* sealed with a key generation not held: another node opens it */
};

/* Whether v says a sealed record did not open (altered, or a key
 * generation not held): nothing is decided and nothing counts as a failure. */
static inline bool core_verdict_unopened(enum core_verdict v)
{
	return v == CORE_DAMAGED || v == CORE_KEY_MISSING;
}

/* The server keys the rules use (32 bytes each, from the key file). */
struct core_keys {
	const struct core_keyring *totp; /* seals TOTP seeds */
	const uint8_t *backup;		 /* keys backup-code hashes */
};

/* The configured figures the rules use. */
struct core_params {
	int64_t session_idle, session_absolute; /* seconds */
	int64_t login_ttl;			/* a pending second-factor login */
	int64_t enrollment_ttl;			/* a TOTP enrolment to confirm */
	unsigned login_max_attempts;		/* wrong codes that end a pending login */
};

/* A new session for account a at level aal, at now. */
void core_session_new(struct session *s, const struct account *a, enum aal aal, int64_t now,
		      const struct core_params *p);

/*
 * An account's second-factor history: its own record (f...) and the
 * password step's (a...), whose hourly cap counts second-factor failures
 * too. *_dirty say which changed and must be written.
 */
struct core_factor_hist {
	struct throttle_rec factor, account;
	bool factor_dirty, account_dirty;
	bool locked_now; /* this failure locked TOTP (a security event) */
};
void core_factor_failure(struct core_factor_hist *h, int64_t now);
/* Whether a second-factor code may be tried now: a guessable code (totp:
 * TOTP or SMS) is refused while locked (CORE_FACTOR_LOCKED: not
 * evaluated, not counted, not delayed), then any waits out the delay
 * (CORE_THROTTLED with *retry_after). */
bool core_factor_may_try(const struct core_factor_hist *h, bool totp, int64_t now,
			 enum core_verdict *v, int64_t *retry_after);
void core_factor_success(struct core_factor_hist *h);

/*
 * A linked device's TOTP credential (SHA-1, 6 digits, 30 s): its seed
 * sealed under aad (the account id, then the device id), and the last step
 * it accepted. A device's codes are TOTP codes of the account: the same
 * step accepts them, each device never twice.
 */
#define CORE_DEVICES_MAX 20
struct core_device_totp {
	uint8_t seed[SEALED_SEED_MAX];
	uint8_t seed_len;
	int64_t last_step; /* -1: none yet */
	uint8_t aad[2 * AUTHD_ID_LEN];
};

/* A device's TOTP credential: checks code against its sealed seed, never
 * accepting a step at or before its last; on success d->last_step moves. */
enum core_verdict core_device_totp_check(struct core_device_totp *d, const struct core_keys *k,
					 const char *code, size_t len, int64_t now);

/* TOTP: checks code against t's enabled seed (pending: its enrolment's),
 * never accepting a step at or before the last accepted one; on success
 * t->last_step moves to the accepted step. */
enum core_verdict core_totp_check(struct totp_rec *t, const struct core_keys *k,
				  const uint8_t account_id[AUTHD_ID_LEN], bool pending,
				  const char *code, size_t len, int64_t now);

/*
 * The costly half of a login's TOTP check (open the seed, compute the
 * codes), made before the write against the record as read then, so that
 * the write only compares steps; core_totp_apply() uses it only if the
 * record still holds the same seed and parameters.
 */
struct core_totp_precheck {
	bool done;
	uint8_t sealed[SEALED_SEED_MAX];
	uint8_t sealed_len;
	uint8_t alg, digits, period;
	int verdict;   /* otp_totp_verify() with no step used yet */
	uint64_t step; /* the highest matching step, when verdict is 0 */
};
void core_totp_precheck(struct core_totp_precheck *pre, const struct totp_rec *t,
			const struct core_keys *k, const uint8_t account_id[AUTHD_ID_LEN],
			const char *code, size_t len, int64_t now);
/* Decides exactly as core_totp_check() would, from pre; false (deciding
 * nothing) when pre is not done or t no longer holds its seed. */
bool core_totp_apply(struct totp_rec *t, const struct core_totp_precheck *pre,
		     enum core_verdict *v);

/* Marks the backup code used when it matches an unused one (all ten are
 * compared in constant time): CORE_OK, CORE_CODE_REUSED or
 * CORE_INVALID_CODE (also for a malformed code). */
enum core_verdict core_backup_consume(struct backup_rec *b, const struct core_keys *k,
				      const char *code, size_t len, int64_t now);

/* The random bytes one backup code set takes. */
#define CORE_BACKUP_RANDOM (OTP_BACKUP_COUNT * (OTP_BACKUP_RANDOM_LEN + OTP_BACKUP_SALT_LEN))
/* A fresh set: fills b (hashes) and codes (display text), from rnd.
 * Returns 0, or -1 (both wiped) if hashing failed. */
int core_backup_new(struct backup_rec *b, char codes[OTP_BACKUP_COUNT][OTP_BACKUP_TEXT_LEN + 1],
		    const struct core_keys *k, const uint8_t rnd[CORE_BACKUP_RANDOM], int64_t now);

/*
 * A second-factor step of a pending login: the records as read in, what
 * to write out. The shell reads every *_found record, calls, writes what
 * the flags say, and issues a session when verdict is CORE_OK.
 */
enum core_method { CORE_TOTP, CORE_BACKUP_CODE, CORE_SMS };

struct core_second_factor {
	/* in (and out: the new records) */
	bool login_found, totp_found, backup_found;
	struct login login;
	struct totp_rec totp;
	struct backup_rec backup;
	struct core_factor_hist hist;
	/* The account's devices, when the shell read them (it must whenever
	 * core_second_factor_wants_devices() says so): n_devices 0 with
	 * devices_read means none. */
	bool devices_read;
	struct core_device_totp *devices;
	unsigned n_devices;
	/* Whether SMS is on as a second factor (read for an SMS step, and
	 * whenever TOTP and the devices are not on) and, for an SMS step, how
	 * the code compared with the one sent for this login (CORE_OK, or
	 * CORE_INVALID_CODE, also when none waits). The shell compares; the
	 * rule decides whether the comparison may count. */
	bool sms_read, sms_on;
	enum core_verdict sms_verdict;
	/* out */
	enum core_verdict verdict;
	int64_t retry_after;
	enum { CORE_LOGIN_KEEP, CORE_LOGIN_PUT, CORE_LOGIN_DEL } login_write;
	bool totp_write, backup_write;
	int device_write; /* the device whose last_step moved (write it), or -1 */
	unsigned backup_left;
	/* The step counted as a failed try (the factor's and the login's). So
	 * does a seed that did not open (verdict CORE_KEY_MISSING or
	 * CORE_DAMAGED) when another one was compared with the code and
	 * refused it; when none was, nothing is counted. */
	bool failure_counted;
};

/*
 * Whether the step needs the account's devices, given the records read so
 * far (login, TOTP): only a code the account's own TOTP accepts, or a
 * backup code while TOTP is on, is decided without them. The code is
 * checked against a copy of the TOTP record (through the precheck when
 * there is one), so the store reads devices only when they can matter.
 */
bool core_second_factor_wants_devices(const struct core_second_factor *s, enum core_method m,
				      const struct core_totp_precheck *pre,
				      const struct core_keys *k, const char *code, size_t len,
				      int64_t now);
void core_second_factor_step(struct core_second_factor *s, enum core_method m, const char *code,
			     size_t len, const struct core_totp_precheck *pre, int64_t now,
			     const struct core_keys *k, const struct core_params *p);

/*
 * The password step, once argon2id said ok or not: records in, decision
 * and records out. The delay and the hourly cap are decided again on the
 * histories as read in the write (other nodes may have written since the
 * loop's check): a throttled attempt is CORE_THROTTLED, its hash result
 * unused and unrecorded. With a right password the account gets a session
 * (CORE_OK, second_factor false) or a pending login (second_factor true).
 */
struct core_password_login {
	/* in */
	bool known, password_ok, account_found;
	struct account account;
	const char *verified_phc; /* the hash the password was checked against */
	const char *new_phc;	  /* a rehash at the configured cost, or NULL */
	/* The delay's history: the client's (account and address prefix, or
	 * account and browser; for an unknown email, email and prefix). */
	struct throttle_rec subject;
	/* hist.account: the hourly cap's history ('a', or 'e' for an unknown
	 * email); hist.factor: the account's second factors (known only). */
	struct core_factor_hist hist;
	bool totp_found, backup_found;
	struct totp_rec totp;
	struct backup_rec backup;
	unsigned devices; /* linked to the account */
	bool push_paused; /* push approval is paused for the account (now) */
	bool sms_on;	  /* SMS is on as a second factor */
	/* out */
	enum core_verdict verdict;
	int64_t retry_after; /* with CORE_THROTTLED */
	bool subject_write, account_write;
	/* A second factor is due when TOTP or SMS is on or a device is linked;
	 * has_totp: TOTP codes are accepted (the app's or a device's). */
	bool second_factor, totp_locked, has_backup, has_totp;
	bool has_push;		/* a device is linked and push is not paused */
	bool has_sms;		/* a code by SMS is offered */
	struct login login;	/* when second_factor */
	struct session session; /* when not */
};
void core_password_login_decide(struct core_password_login *l, int64_t now,
				const struct core_params *p);

/*
 * The TOTP and backup-code settings of an account: the records as read in,
 * what to write out (CORE_PUT, CORE_DEL or CORE_KEEP each).
 */
enum core_write { CORE_KEEP, CORE_PUT, CORE_DEL };

struct core_totp_change {
	/* in (and out) */
	bool totp_found, backup_found;
	struct totp_rec totp;
	struct backup_rec backup;
	struct core_factor_hist hist;
	/* out */
	enum core_verdict verdict;
	int64_t retry_after;
	enum core_write totp_write, backup_write;
	bool end_sessions; /* every session of the account ends (confirmation) */
};

/* Enrolment: a new pending seed (sealed, with its enrolment id), unless
 * TOTP is on already. */
void core_totp_enroll(struct core_totp_change *c, const uint8_t enrollment_id[AUTHD_ID_LEN],
		      const uint8_t *sealed, size_t sealed_len, int64_t now,
		      const struct core_params *p);
/* Confirmation with the first code of the pending seed (of that enrolment
 * id, when given): TOTP on, the fresh backup codes with it, and every
 * session ends. */
void core_totp_confirm(struct core_totp_change *c, const uint8_t *enrollment_id, const char *code,
		       size_t len, const struct backup_rec *fresh,
		       const uint8_t account_id[AUTHD_ID_LEN], const struct core_keys *k,
		       int64_t now);
/* Removal with a current TOTP code or an unused backup code: TOTP and the
 * backup codes go. */
void core_totp_remove(struct core_totp_change *c, const char *code, size_t len,
		      const uint8_t account_id[AUTHD_ID_LEN], const struct core_keys *k,
		      int64_t now);
/* A new backup-code set (the recent proof is the policy's). */
void core_backup_regenerate(struct core_totp_change *c, const struct backup_rec *fresh);

/* A password change, once argon2id checked the current one: records in,
 * decision out. A right current password does not clear second-factor
 * failures; a wrong one counts as one. */
struct core_password_change {
	/* in (hist.factor is the delay, decided again here: CORE_THROTTLED
	 * with retry_after) */
	bool password_ok, account_found;
	struct account account;
	const char *verified_phc; /* the hash the current password was checked against */
	const char *new_phc;
	struct core_factor_hist hist;
	/* out */
	enum core_verdict verdict;
	int64_t retry_after;
	bool account_write; /* then every other session and pending login ends */
};
void core_password_change_decide(struct core_password_change *c, int64_t now);

/* --- the policy point ----------------------------------------------------------- */

/*
 * Every access is decided here: (principal, action, resource) -> allow, or
 * deny with a reason that maps to one API error. Handlers never decide
 * access themselves; a write that depends on the decision asks again
 * inside its transaction, against the session as stored then.
 */
enum policy_principal_kind {
	PRINCIPAL_ANONYMOUS, /* no credential presented */
	PRINCIPAL_SESSION,   /* a live session (struct session) */
	PRINCIPAL_SERVICE,   /* another service of the host, by its configured credential */
	/* An API token: acts as its account (session holds what the shell
	 * made of the token: its account and organization) within scopes,
	 * never as a person present. */
	PRINCIPAL_TOKEN,
	/* The operator: a local process of root or of authd's own user, on
	 * the admin socket (authctl). */
	PRINCIPAL_OPERATOR,
};

/* Roles of the operator's staff a session's account may hold (the shell
 * says which, from its configuration). */
enum operator_role {
	OPERATOR_SUPPORT_REVIEWER = 1 << 0, /* decides identity-verification cases */
	OPERATOR_SUPPORT_AGENT = 1 << 1,    /* uses the support grants assigned to it */
	OPERATOR_SUPPORT_LEAD = 1 << 2,	    /* assigns support grants to agents */
	OPERATOR_BILLING = 1 << 3,	    /* makes promotion codes and vouchers */
};

struct principal {
	enum policy_principal_kind kind;
	const struct session *session; /* PRINCIPAL_SESSION and PRINCIPAL_TOKEN */
	unsigned roles;		       /* enum operator_role, of the session's account */
	unsigned scopes;	       /* PRINCIPAL_TOKEN: enum api_scope */
};

/* What a request does. Each route names one (see the route table). */
enum policy_action {
	ACT_HEALTH,
	ACT_PAGE,    /* a web page or its asset (authd/web) */
	ACT_READY,   /* readiness: the store answers */
	ACT_METRICS, /* Prometheus' scrape, with the metrics credential */
	ACT_SIGN_UP,
	ACT_LOGIN,		 /* the password step */
	ACT_LOGIN_SECOND_FACTOR, /* a second-factor step of a pending login */
	ACT_ME_READ,
	ACT_LOGOUT,
	ACT_SESSION_COOKIE, /* a page holding a session token makes it its cookie */
	ACT_PASSWORD_CHANGE,
	ACT_TOTP_ENROLL,
	ACT_TOTP_CONFIRM,
	ACT_TOTP_DELETE,
	ACT_BACKUP_REGENERATE,
	ACT_DEVICE_LINK,		 /* offer a link (QR code) to a new device */
	ACT_DEVICES_READ,		 /* list the account's devices, or one */
	ACT_DEVICE_DELETE,		 /* remove a device */
	ACT_SESSIONS_READ,		 /* list the account's sessions */
	ACT_SESSION_END,		 /* end one of them, or every other one */
	ACT_ACTIVITY_READ,		 /* the account's recent sign-ins and security events */
	ACT_RECOVERY_READ,		 /* the account's recovery options */
	ACT_RECOVERY_CHANGE,		 /* set or remove one (the current password too) */
	ACT_RECOVERY_VERIFY,		 /* confirm a new one with its code */
	ACT_RECOVERY,			 /* a forgotten password: no session */
	ACT_SMS_FACTOR_CHANGE,		 /* turn SMS as a second factor on or off */
	ACT_LOGIN_EMAIL_CHANGE,		 /* a new login email (the current password too) */
	ACT_SERVICE_LOGIN_EMAIL_DELETED, /* the mail service: a login's mailbox is gone */
	ACT_CASE_OPEN,			 /* open an identity-verification case */
	ACT_CASE_OWN,			 /* its documents and state, by the case token */
	ACT_CASE_REVIEW,		 /* a reviewer reads cases and their documents */
	ACT_CASE_DECIDE,		 /* a reviewer approves or rejects one */
	ACT_ACCOUNT_LOCK,		 /* a reviewer locks an account */
	ACT_ACCOUNT_CLOSE,		 /* ask for the link that closes one's account */
	ACT_ORGS_READ,			 /* the person's organizations and roles */
	ACT_SESSION_ORG_SWITCH,		 /* make one of them the session's current */
	ACT_ORG_MEMBERS_READ,		 /* an organization's people and their roles */
	ACT_ORG_MEMBER_CHANGE,		 /* a member's role, rights or contact preferences */
	ACT_ORG_MEMBER_REMOVE,		 /* remove a member, or leave */
	ACT_ORG_AUDIT_READ,		 /* an organization's audit trail */
	ACT_ORG_INVITE,			 /* invite someone by email, or withdraw an invitation */
	ACT_ORG_INVITES_READ,		 /* list pending invitations */
	ACT_INVITE_VIEW,		 /* what an invitation offers (its token) */
	ACT_INVITE_ACCEPT,		 /* join with the session's account */
	ACT_INVITE_SIGN_UP,		 /* join with a new account */
	ACT_ORG_PRODUCTS_READ,		 /* an organization's products (those one may use) */
	ACT_ORG_PRODUCT_MANAGE,		 /* add or remove a product, grant rights on it */
	ACT_ORG_GRANTS_READ,		 /* who has what rights on a product */
	ACT_ORG_GRANT_MANAGE,		 /* grant or take rights on a product */
	ACT_PRODUCT_ACCESS_READ,	 /* what the principal may do on a product */
	ACT_ORG_TEAMS_READ,		 /* an organization's work teams (one's own) */
	ACT_ORG_TEAM_MANAGE,		 /* add, change or remove a team or its members */
	ACT_ORG_PARTNERS_READ,		 /* an organization's partners and clients */
	ACT_ORG_PARTNER_ADD,		 /* let a partner organization in */
	ACT_ORG_PARTNER_END,		 /* end a relation, from either side */
	ACT_TOKEN_CREATE,		 /* make an API token for oneself */
	ACT_TOKENS_READ,		 /* list one's tokens */
	ACT_TOKEN_REVOKE,		 /* revoke one */
	ACT_ORG_TOKEN_CREATE,		 /* make an API token for an organization */
	ACT_ORG_TOKENS_READ,		 /* list an organization's tokens */
	ACT_ORG_TOKEN_REVOKE,		 /* revoke one */
	ACT_ORG_SUPPORT_GRANT,		 /* let support staff reach one kind of content */
	ACT_ORG_SUPPORT_READ,		 /* an organization's support grants */
	ACT_ORG_SUPPORT_REVOKE,		 /* end one */
	ACT_SUPPORT_ASSIGN,		 /* a support lead assigns a grant to an agent */
	ACT_SUPPORT_USE,		 /* an agent asks whether it may use a grant */
	ACT_SUPPORT_GRANTS_READ,	 /* the live grants a lead or an agent works with */
	ACT_ORG_BILLING_READ,		 /* an organization's billing: addresses, currency */
	ACT_ORG_BILLING_MANAGE,		 /* change it */
	ACT_BILLING_WEBHOOK,		 /* the payment provider says how a payment went */
	ACT_BILLING_VOUCHERS,		 /* the operator's billing staff: promotion codes */
	ACT_TEST_HOOK,			 /* test builds only; the router refuses them elsewhere */
	/* The operator, on the admin socket (authctl): */
	ACT_ADMIN_ACCOUNT_FIND,	   /* an account by its login, with its state */
	ACT_ADMIN_ACCOUNT_LOCK,	   /* lock it (no sign-in, every way in ended) */
	ACT_ADMIN_ACCOUNT_UNLOCK,  /* unlock it */
	ACT_ADMIN_SESSIONS_END,	   /* end all its sessions */
	ACT_ADMIN_EVENTS_READ,	   /* its security events */
	ACT_ADMIN_OUTBOX_FAILURES, /* messages that could not be delivered */
	ACT_ADMIN_KEYS_READ,	   /* the key generations, and what each seals */
	ACT_ADMIN_KEYS_ROTATE,	   /* a new generation in the key file */
	ACT_ADMIN_KEYS_ACTIVATE,   /* the generation every node seals with */
	ACT_ADMIN_KEYS_RESEAL,	   /* seal every value again with it */
	ACT_ADMIN_KEYS_RETIRE,	   /* drop a generation nothing uses */
	ACT__COUNT
};

/* The resource an action touches, when it has an owner. */
struct policy_resource {
	const uint8_t *account_id; /* NULL: the principal's own account */
	/* An organization the action is about, and the principal's role in
	 * it (0: none, not a member); NULL: none named. */
	const uint8_t *org_id;
	enum org_role org_role;
	/* About a member of that organization: whether it is the principal
	 * itself, and whether the act grants or takes away the legal
	 * representative role (only a legal representative does that, with a
	 * recent second factor). */
	bool self;
	bool legal;
	/* The act grants the billing right (a member's, an invitation's, a
	 * partner's): only a legal representative or a member who holds it
	 * (actor_billing) grants it. */
	bool billing;
	bool actor_billing;
	/* Not a member, but a manager of a partner organization the
	 * organization let in (the handler then keeps to the relation's
	 * products), and whether that relation gives billing. */
	bool partner;
	bool partner_billing;
};

enum policy_decision {
	POLICY_ALLOW = 0,
	POLICY_DENY_UNAUTHENTICATED, /* a session is needed */
	POLICY_DENY_REAUTH,	     /* a recent proof (reauth window) is needed */
	POLICY_DENY_FORBIDDEN,	     /* authenticated, but not for this */
	POLICY_DENY_LOGIN_EMAIL,     /* the session must set a new login email first */
	POLICY_DENY_NOT_FOUND,	     /* not the principal's to see: told as absent */
	POLICY_DENY_SCOPE,	     /* a token without the scope the action needs */
	POLICY_DENY_PRESENCE,	     /* a person signed in must do it: never a token */
};

struct policy_params {
	int64_t reauth_window; /* seconds a proof stays recent */
};

/* Whether the action is another service's (its credential, no session). */
bool policy_needs_service(enum policy_action a);
/* Whether action a is the operator's (the admin socket's only). */
bool policy_needs_operator(enum policy_action a);
/* The operator roles the action needs (0: none): the shell reads the
 * session's account to tell which it holds only then. */
unsigned policy_needs_roles(enum policy_action a);

/* The action's name ("totp_enroll"), for logs and tests. */
const char *policy_action_name(enum policy_action a);

/* Decides; pure (no clock but `now`). A NULL resource means the
 * principal's own. */
enum policy_decision policy_decide(const struct policy_params *pp, const struct principal *p,
				   enum policy_action a, const struct policy_resource *res,
				   int64_t now);

/*
 * The one rule for a recent proof: the session's last proof of possession
 * (the login that made it, with every factor the account had, or a later
 * second-factor step) is at most reauth_window old.
 */
bool policy_recent_proof(const struct policy_params *pp, const struct session *s, int64_t now);

/*
 * One use of a support grant by p (after ACT_SUPPORT_USE was allowed):
 * SUPPORT_ALLOWED only for a support agent the grant is assigned to, the
 * grant neither revoked nor expired at now, for its own kind of content;
 * anyone else it is not assigned to learns only SUPPORT_NOT_ASSIGNED.
 */
enum support_verdict policy_support_use(const struct principal *p, const struct support_grant *g,
					enum support_kind kind, int64_t now);

/* True when the action needs a session (the shell reads it first). */
bool policy_needs_session(enum policy_action a);

#endif
