/*
 * The PostgreSQL engine's schema: the tables of versions 1 to 5, what reads the
 * version, and the migration that creates or upgrades it. Migrations run
 * in one transaction under an advisory lock, so two nodes started at once
 * migrate one after the other and the second finds nothing left to do.
 *
 * Choices an operator querying these tables should know:
 *   - Ids, token hashes and subjects are bytea (16 random bytes; 32 for a
 *     token's SHA-256): encode(id, 'hex') is the id authd logs.
 *   - Times are bigint seconds since the epoch (to_timestamp(created_at)
 *     reads them), not timestamptz: authd's clock is its own (tests move
 *     it), the sweeper compares with the time authd passes in rather than
 *     the server's now(), and 0 / -1 are markers ("none", "no step yet")
 *     that must come back exactly as they went in.
 *   - Sessions and pending logins are keyed by the token's SHA-256 within
 *     their account: the primary key (account_id, token_hash) finds a
 *     token only together with the account it names, and ending every
 *     session of an account walks the same index (one index per row
 *     written, where a token_hash key plus an account_id index would be
 *     two).
 *   - No foreign keys: the store writes what the core decided, in any
 *     order inside a transaction, as the LMDB engine does; a session of a
 *     deleted account is simply never found through its account.
 *   - TOTP seeds stay sealed (AES-256-GCM under authd's key file): nothing
 *     here decrypts them.
 */
#include "pg-internal.h"

#include <log.h>

#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key of migrations: "authdmig". */
#define MIGRATE_LOCK_KEY "6131403826440563047"

static const char schema_v1[] =
    "CREATE TABLE authd_schema ("
    "  version integer NOT NULL"
    ");"
    "COMMENT ON TABLE authd_schema IS 'one row: the authd schema version of this database';"
    "CREATE TABLE organizations ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  name text NOT NULL,"
    "  created_at bigint NOT NULL"
    ");"
    "CREATE TABLE accounts ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  org_id bytea NOT NULL,"
    "  email text NOT NULL UNIQUE," /* the normalized email: the lookup index */
    "  name text NOT NULL,"
    "  pw_hash text NOT NULL," /* argon2id PHC string of the peppered password */
    "  created_at bigint NOT NULL,"
    "  password_changed_at bigint NOT NULL"
    ");"
    "CREATE TABLE memberships ("
    "  org_id bytea NOT NULL,"
    "  account_id bytea NOT NULL,"
    "  role text NOT NULL,"
    "  PRIMARY KEY (org_id, account_id)"
    ");"
    "CREATE INDEX memberships_account_id ON memberships (account_id);"
    "CREATE TABLE sessions ("
    "  account_id bytea NOT NULL,"
    "  token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),"
    "  org_id bytea NOT NULL,"
    "  aal smallint NOT NULL," /* 1 password, 2 second factor */
    "  created_at bigint NOT NULL,"
    "  last_seen bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"	  /* absolute end */
    "  second_factor_at bigint NOT NULL," /* 0: none */
    "  PRIMARY KEY (account_id, token_hash)"
    ");"
    "CREATE TABLE pending_logins ("
    "  account_id bytea NOT NULL,"
    "  token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  attempts smallint NOT NULL,"
    "  PRIMARY KEY (account_id, token_hash)"
    ");"
    "CREATE TABLE totp_credentials ("
    "  account_id bytea PRIMARY KEY,"
    "  enabled boolean NOT NULL,"
    "  alg smallint NOT NULL,"
    "  digits smallint NOT NULL,"
    "  period smallint NOT NULL,"
    "  last_step bigint NOT NULL," /* -1: no step used yet */
    "  enabled_at bigint NOT NULL,"
    "  seed bytea NOT NULL," /* sealed */
    "  pending_id bytea NOT NULL,"
    "  pending_expires_at bigint NOT NULL," /* 0: no enrollment pending */
    "  pending_seed bytea NOT NULL"	    /* sealed */
    ");"
    "CREATE TABLE backup_codes ("
    "  account_id bytea NOT NULL,"
    "  idx smallint NOT NULL,"
    "  salt bytea NOT NULL,"
    "  hash bytea NOT NULL,"
    "  used_at bigint NOT NULL," /* 0: unused */
    "  created_at bigint NOT NULL,"
    "  PRIMARY KEY (account_id, idx)"
    ");"
    "CREATE TABLE throttles ("
    "  subject bytea PRIMARY KEY," /* kind byte || account id or email hash prefix */
    "  consecutive bigint NOT NULL,"
    "  last_failure bigint NOT NULL,"
    "  count smallint NOT NULL,"
    "  pos smallint NOT NULL,"
    "  ring bigint[] NOT NULL" /* failure times: the ring's first `count` slots */
    ");"
    "CREATE TABLE security_events ("
    "  id bigserial PRIMARY KEY,"
    "  account_id bytea NOT NULL,"
    "  at bigint NOT NULL,"
    "  kind text NOT NULL," /* core_event_name(): totp_enabled, ... */
    "  ip text NOT NULL"
    ");"
    "CREATE INDEX security_events_account ON security_events (account_id, at DESC, id DESC);"
    "INSERT INTO authd_schema (version) VALUES (1);";

/*
 * Version 2: authenticator devices. A device is found by its id (its
 * channel names nothing else) and listed by account; a link offer is keyed
 * like a session, by the account and the SHA-256 of its secret.
 */
static const char schema_v2[] =
    "CREATE TABLE device_links ("
    "  account_id bytea NOT NULL,"
    "  token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),"
    "  device_id bytea NOT NULL CHECK (octet_length(device_id) = 16),"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  linked_at bigint NOT NULL," /* 0: not completed */
    "  seed bytea NOT NULL,"	   /* the device's TOTP seed, sealed */
    "  PRIMARY KEY (account_id, token_hash)"
    ");"
    "CREATE TABLE devices ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  account_id bytea NOT NULL,"
    "  public_key bytea NOT NULL CHECK (octet_length(public_key) = 32)," /* Ed25519 */
    "  name text NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  last_seen bigint NOT NULL," /* 0: never connected */
    "  last_ip text NOT NULL,"
    "  last_location text NOT NULL,"
    "  seed bytea NOT NULL,"	  /* sealed */
    "  last_step bigint NOT NULL" /* -1: no step used yet */
    ");"
    "CREATE INDEX devices_account ON devices (account_id, id);";

/*
 * Version 3: push approval. A challenge is kept by account and id (the
 * device channel and the waiting login page both know the account); an
 * account's push history is one row (its caps and its pause).
 */
static const char schema_v3[] =
    "CREATE TABLE push_challenges ("
    "  account_id bytea NOT NULL,"
    "  id bytea NOT NULL CHECK (octet_length(id) = 16),"
    "  login_hash bytea NOT NULL CHECK (octet_length(login_hash) = 32),"
    "  nonce bytea NOT NULL CHECK (octet_length(nonce) = 32),"
    "  number smallint NOT NULL," /* 10..99, shown by the login page */
    "  state smallint NOT NULL,"  /* enum push_state: 1 pending, 2 approved, ... */
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  answered_at bigint NOT NULL," /* 0: not answered */
    "  answered_by bytea NOT NULL,"  /* the device; zeros when none */
    "  ip text NOT NULL,"
    "  location text NOT NULL,"
    "  browser text NOT NULL,"
    "  os text NOT NULL,"
    "  application text NOT NULL,"
    "  PRIMARY KEY (account_id, id)"
    ");"
    "CREATE INDEX push_challenges_expires ON push_challenges (expires_at);"
    "CREATE TABLE push_accounts ("
    "  account_id bytea PRIMARY KEY,"
    "  sent bigint[] NOT NULL," /* times of the latest challenges: a ring of 10 */
    "  pos smallint NOT NULL,"
    "  denials smallint NOT NULL," /* in a row */
    "  paused_at bigint NOT NULL"  /* 0: push works */
    ");";

/* Version 4: where a device's app is woken (the `wake` message). */
static const char schema_v4[] =
    "ALTER TABLE devices ADD COLUMN wake_token text NOT NULL DEFAULT '';";

/*
 * Version 5: the outbox, where accounts sign in from (known_places), and
 * who began each session (its ip and browser, for the account's list), and
 * sign-ins among the security events (their method, outcome and browser),
 * and recovery options (a verified email and mobile number, the reset under
 * way). Any node claims due
 * messages with FOR UPDATE SKIP LOCKED (outbox_due finds them); the text stays sealed and is erased
 * once the message is done; outbox_done is the sweeper's order.
 */
static const char schema_v5[] =
    "CREATE TABLE outbox ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  account_id bytea NOT NULL," /* zeros: nobody's */
    "  channel smallint NOT NULL," /* 1 email, 2 SMS */
    "  state smallint NOT NULL,"   /* 1 pending, 2 sent, 3 failed */
    "  attempts integer NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  next_at bigint NOT NULL," /* pending: due then (claimed: the lease's end) */
    "  done_at bigint NOT NULL," /* 0 while pending */
    "  sealed bytea NOT NULL"	 /* recipient, subject, text: sealed; empty once done */
    ");"
    "CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 1;"
    "CREATE INDEX outbox_done ON outbox (done_at) WHERE state <> 1;"
    "ALTER TABLE sessions ADD COLUMN ip text NOT NULL DEFAULT '',"
    "  ADD COLUMN browser text NOT NULL DEFAULT '';"
    "ALTER TABLE security_events ADD COLUMN method text NOT NULL DEFAULT '',"
    "  ADD COLUMN outcome text NOT NULL DEFAULT '',"
    "  ADD COLUMN browser text NOT NULL DEFAULT '';"
    "CREATE INDEX security_events_at ON security_events (at);" /* the sweeper's */
    "CREATE TABLE recovery ("
    "  account_id bytea PRIMARY KEY,"
    "  email text NOT NULL," /* the recovery email ('' when none) */
    "  email_verified boolean NOT NULL,"
    "  phone text NOT NULL," /* the mobile number, E.164 */
    "  phone_verified boolean NOT NULL,"
    "  pending smallint NOT NULL," /* 0, 1 email, 2 phone, 3 login email: waiting for its code */
    "  pending_to text NOT NULL,"
    "  pending_hash bytea NOT NULL," /* codes, links and grants: keyed hashes only */
    "  pending_expires bigint NOT NULL,"
    "  reset_code bytea NOT NULL,"
    "  reset_code_expires bigint NOT NULL,"
    "  reset_link bytea NOT NULL,"
    "  reset_link_expires bigint NOT NULL,"
    "  grant_hash bytea NOT NULL,"
    "  grant_expires bigint NOT NULL,"
    "  grant_fails smallint NOT NULL,"
    "  fails smallint NOT NULL," /* wrong reset codes */
    "  last_fail bigint NOT NULL,"
    "  option_fails smallint NOT NULL," /* wrong codes of a new option */
    "  option_last_fail bigint NOT NULL,"
    "  sends bigint[] NOT NULL,"
    "  sends_pos smallint NOT NULL"
    ");"
    "CREATE INDEX recovery_phone ON recovery (phone) WHERE phone_verified;"
    "CREATE TABLE known_places ("
    "  account_id bytea PRIMARY KEY,"
    "  nets bigint[] NOT NULL," /* keyed hashes of address prefixes the account signed in from */
    "  seen bigint[] NOT NULL"	/* when each was last seen */
    ");";

/*
 * Version 6: SMS as a second factor, on the recovery row (on since; the
 * sign-in code sent last, as a keyed hash, with the token hash of the
 * pending login it was sent for and how many were sent for it), a
 * session's flags (core.h's enum session_flags), when an account was
 * locked, and identity-verification cases with their documents (sealed;
 * the sweeper deletes them 72 hours after their upload, and a decision at
 * once).
 */
static const char schema_v6[] =
    "ALTER TABLE recovery ADD COLUMN sms_factor_at bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN sms_login bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),"
    "  ADD COLUMN sms_code bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),"
    "  ADD COLUMN sms_code_expires bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN sms_sends smallint NOT NULL DEFAULT 0,"
    "  ADD COLUMN close_hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),"
    "  ADD COLUMN close_expires bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN reset_proofed boolean NOT NULL DEFAULT false;"
    "ALTER TABLE sessions ADD COLUMN flags smallint NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN locked_at bigint NOT NULL DEFAULT 0;"
    "CREATE TABLE verification_cases ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  account_id bytea NOT NULL," /* zeros: the login named no account */
    "  reason smallint NOT NULL,"  /* recovery.h's enum case_reason */
    "  state smallint NOT NULL,"   /* 1 open, 2 approved, 3 rejected */
    "  opened_at bigint NOT NULL,"
    "  decided_at bigint NOT NULL," /* 0 while open */
    "  token_hash bytea NOT NULL,"  /* SHA-256 of the person's case token */
    "  login text NOT NULL,"
    "  contact text NOT NULL,"
    "  details text NOT NULL,"
    "  reviewer bytea NOT NULL,"
    "  note text NOT NULL,"
    "  docs jsonb NOT NULL" /* [{uploaded_at, size, type}], the documents' metadata */
    ");"
    "CREATE INDEX verification_cases_open ON verification_cases (opened_at) WHERE state = 1;"
    "CREATE INDEX verification_cases_decided ON verification_cases (decided_at) "
    "  WHERE state <> 1;"
    "CREATE TABLE verification_documents ("
    "  case_id bytea NOT NULL,"
    "  n smallint NOT NULL,"
    "  uploaded_at bigint NOT NULL,"
    "  sealed bytea NOT NULL," /* AES-256-GCM under the documents key */
    "  PRIMARY KEY (case_id, n)"
    ");"
    "CREATE INDEX verification_documents_at ON verification_documents (uploaded_at);";

/*
 * Version 7: organizations' people and trails (issue 12). A membership
 * carries its rights (bits: core.h's enum member_rights), contact
 * preferences (enum member_contact) and since when; every change in an
 * organization is a row of its audit trail, deleted with it; invitations
 * to join are rows found by their token's SHA-256; so are API tokens,
 * whose row also counts their requests of the last minute (hits: the
 * rate ring's times, 8 bytes each, big-endian).
 */
static const char schema_v7[] =
    "ALTER TABLE memberships ADD COLUMN rights integer NOT NULL DEFAULT 0,"
    "  ADD COLUMN contacts integer NOT NULL DEFAULT 0,"
    "  ADD COLUMN since bigint NOT NULL DEFAULT 0;"
    "CREATE TABLE org_audit ("
    "  id bigserial PRIMARY KEY,"
    "  org_id bytea NOT NULL,"
    "  at bigint NOT NULL,"
    "  actor bytea NOT NULL,"
    "  via text NOT NULL,"    /* session, token, partner */
    "  action text NOT NULL," /* core_audit_name */
    "  subject bytea NOT NULL,"
    "  detail text NOT NULL," /* a JSON object's text */
    "  ip text NOT NULL"
    ");"
    "CREATE INDEX org_audit_org ON org_audit (org_id, at DESC, id DESC);"
    "CREATE TABLE invitations ("
    "  org_id bytea NOT NULL,"
    "  id bytea NOT NULL,"
    "  token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),"
    "  email text NOT NULL,"
    "  role text NOT NULL,"
    "  rights bigint NOT NULL,"
    "  inviter bytea NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  state smallint NOT NULL," /* 1 pending, 2 accepted, 3 revoked */
    "  ended_at bigint NOT NULL,"
    "  account_id bytea NOT NULL,"
    "  PRIMARY KEY (org_id, id)"
    ");"
    "CREATE TABLE api_tokens ("
    "  hash bytea PRIMARY KEY CHECK (octet_length(hash) = 32),"
    "  id bytea NOT NULL,"
    "  account_id bytea NOT NULL,"
    "  org_id bytea NOT NULL,"
    "  name text NOT NULL,"
    "  scopes bigint NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL," /* 0: never */
    "  last_used_at bigint NOT NULL,"
    "  head smallint NOT NULL,"
    "  count smallint NOT NULL,"
    "  hits bytea NOT NULL,"
    "  UNIQUE (account_id, id)"
    ");"
    "CREATE TABLE products ("
    "  org_id bytea NOT NULL,"
    "  id bytea NOT NULL,"
    "  kind smallint NOT NULL," /* core.h's enum product_kind */
    "  name text NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  PRIMARY KEY (org_id, id)"
    ");"
    "CREATE TABLE grants ("
    "  org_id bytea NOT NULL,"
    "  product_id bytea NOT NULL,"
    "  subject bytea NOT NULL,"		/* an account or a team */
    "  subject_kind smallint NOT NULL," /* 1 member, 2 team */
    "  rights bigint NOT NULL,"
    "  resources text NOT NULL," /* a JSON array of names; [] the whole product */
    "  PRIMARY KEY (org_id, product_id, subject)"
    ");"
    "CREATE INDEX grants_subject ON grants (org_id, subject);"
    "CREATE TABLE teams ("
    "  org_id bytea NOT NULL,"
    "  id bytea NOT NULL,"
    "  name text NOT NULL,"
    "  leader bytea NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  PRIMARY KEY (org_id, id)"
    ");"
    "CREATE TABLE team_members ("
    "  org_id bytea NOT NULL,"
    "  team_id bytea NOT NULL,"
    "  account_id bytea NOT NULL,"
    "  PRIMARY KEY (org_id, team_id, account_id)"
    ");"
    "CREATE INDEX team_members_account ON team_members (org_id, account_id);"
    "CREATE TABLE partners ("
    "  client_org bytea NOT NULL,"
    "  partner_org bytea NOT NULL,"
    "  all_products boolean NOT NULL,"
    "  products bytea NOT NULL," /* the product ids, 16 bytes each */
    "  billing boolean NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  PRIMARY KEY (client_org, partner_org)"
    ");"
    "CREATE INDEX partners_partner ON partners (partner_org);";

/*
 * Version 8: an API token's creator (organizations' tokens are filed
 * under the organization, account_id = org_id; a person's own token was
 * made by its account).
 */
static const char schema_v8[] = "ALTER TABLE api_tokens ADD COLUMN created_by bytea;"
				"UPDATE api_tokens SET created_by = account_id;"
				"ALTER TABLE api_tokens ALTER COLUMN created_by SET NOT NULL;";

/*
 * Version 9: support grants (issue 13): an organization lets the
 * operator's support staff reach one kind of its content for 7 days;
 * assignees are the assigned agents' account ids, 16 bytes each.
 */
static const char schema_v9[] =
    "CREATE TABLE support_grants ("
    "  id bytea PRIMARY KEY CHECK (octet_length(id) = 16),"
    "  org_id bytea NOT NULL,"
    "  kind smallint NOT NULL," /* core.h's enum support_kind */
    "  request text NOT NULL,"
    "  created_by bytea NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  revoked_at bigint NOT NULL," /* 0: not revoked */
    "  assignees bytea NOT NULL"
    ");"
    "CREATE INDEX support_grants_org ON support_grants (org_id, created_at);";

/* Version 10: an organization's billing addresses (issue 13). */
static const char schema_v10[] = "CREATE TABLE billing_addresses ("
				 "  org_id bytea NOT NULL,"
				 "  id bytea NOT NULL,"
				 "  name text NOT NULL,"
				 "  line1 text NOT NULL,"
				 "  line2 text NOT NULL,"
				 "  postal_code text NOT NULL,"
				 "  city text NOT NULL,"
				 "  country text NOT NULL,"
				 "  vat_number text NOT NULL,"
				 "  is_default boolean NOT NULL,"
				 "  created_at bigint NOT NULL,"
				 "  PRIMARY KEY (org_id, id)"
				 ");";

/* Version 11: what a product's renewal buys, and whether it renews by
 * itself (issue 13). */
static const char schema_v11[] =
    "ALTER TABLE products ADD COLUMN renewal_months smallint NOT NULL DEFAULT 12 CHECK "
    "(renewal_months BETWEEN 1 AND 120),"
    "  ADD COLUMN auto_renew boolean NOT NULL DEFAULT false;";

/* Version 12: the prepaid balance, its ledger and payments (issue 13).
 * The database itself refuses a negative balance, a transaction whose
 * legs do not sum to zero, and a second payment for one Idempotency-Key. */
static const char schema_v12[] =
    "CREATE TABLE billing_balances ("
    "  org_id bytea NOT NULL,"
    "  currency smallint NOT NULL," /* core.h's enum currency */
    "  minor bigint NOT NULL CHECK (minor >= 0),"
    "  PRIMARY KEY (org_id, currency)"
    ");"
    "CREATE TABLE ledger ("
    "  org_id bytea NOT NULL,"
    "  at bigint NOT NULL,"
    "  id bytea NOT NULL,"
    "  kind smallint NOT NULL," /* enum ledger_kind */
    "  payment_id bytea NOT NULL,"
    "  currency smallint NOT NULL,"
    "  prepaid bigint NOT NULL," /* one column per enum ledger_account */
    "  provider bigint NOT NULL,"
    "  revenue bigint NOT NULL,"
    "  held bigint NOT NULL,"
    "  CHECK (prepaid + provider + revenue + held = 0),"
    "  PRIMARY KEY (org_id, at, id)"
    ");"
    "CREATE TABLE payments ("
    "  id bytea PRIMARY KEY,"
    "  org_id bytea NOT NULL,"
    "  key_hash bytea NOT NULL,"
    "  request_hash bytea NOT NULL,"
    "  kind smallint NOT NULL,"
    "  status smallint NOT NULL,"
    "  currency smallint NOT NULL,"
    "  amount bigint NOT NULL,"
    "  from_balance bigint NOT NULL,"
    "  rest bigint NOT NULL,"
    "  created_by bytea NOT NULL,"
    "  created_at bigint NOT NULL,"
    "  settled_at bigint NOT NULL,"
    "  provider_ref text NOT NULL,"
    "  checkout_url text NOT NULL,"
    "  invoices bytea NOT NULL,"
    "  UNIQUE (org_id, key_hash)"
    ");"
    "CREATE INDEX payments_org ON payments (org_id, created_at);";

/* Version 13: invoices, the operator's sequences, vouchers (issue 13).
 * An invoice's body is store_invoice_json's text; its number is unique,
 * and a voucher is never used more often than it may be. */
static const char schema_v13[] = "CREATE TABLE invoices ("
				 "  id bytea PRIMARY KEY,"
				 "  org_id bytea NOT NULL,"
				 "  number bigint NOT NULL UNIQUE,"
				 "  status smallint NOT NULL," /* core.h's enum invoice_status */
				 "  created_at bigint NOT NULL,"
				 "  body text NOT NULL"
				 ");"
				 "CREATE INDEX invoices_org ON invoices (org_id, created_at);"
				 "CREATE TABLE sequences ("
				 "  name text PRIMARY KEY,"
				 "  value bigint NOT NULL"
				 ");"
				 "CREATE TABLE vouchers ("
				 "  code text PRIMARY KEY,"
				 "  kind smallint NOT NULL,"
				 "  bp bigint NOT NULL,"
				 "  amount bigint NOT NULL,"
				 "  currency smallint NOT NULL,"
				 "  valid_from bigint NOT NULL,"
				 "  valid_until bigint NOT NULL,"
				 "  max_uses bigint NOT NULL,"
				 "  used bigint NOT NULL,"
				 "  created_by bytea NOT NULL,"
				 "  created_at bigint NOT NULL,"
				 "  CHECK (max_uses = 0 OR used <= max_uses)"
				 ");";

/* Version 14: the renewal scheduler's marks on products, and its walk in
 * the order of expiry (issue 13). */
static const char schema_v14[] =
    "ALTER TABLE products ADD COLUMN renew_tried bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN blocked_at bigint NOT NULL DEFAULT 0;"
    "CREATE INDEX products_due ON products (expires_at, org_id, id) WHERE expires_at > 0;";

/* Version 15: the store's named sequences become PostgreSQL sequences:
 * 32 orders at once all raced for one row, and some lost 30 times. */
static const char schema_v15[] =
    "LOCK TABLE sequences IN ACCESS EXCLUSIVE MODE;"
    "CREATE SEQUENCE seq_invoice;"
    "SELECT setval('seq_invoice', COALESCE((SELECT value FROM sequences WHERE name = "
    "'invoice'), 0) + 1, false);"
    "DROP TABLE sequences;";

/* Version 16: figures the nodes share (the key generation to seal with,
 * issue 15). */
static const char schema_v16[] = "CREATE TABLE settings ("
				 "  name text PRIMARY KEY,"
				 "  value bigint NOT NULL"
				 ");";

/* migrations[v] brings a schema of version v to v + 1. */
static const char *const migrations[PG_SCHEMA_VERSION] = {
    schema_v1, schema_v2,  schema_v3,  schema_v4,  schema_v5,  schema_v6,  schema_v7,  schema_v8,
    schema_v9, schema_v10, schema_v11, schema_v12, schema_v13, schema_v14, schema_v15, schema_v16};

static int exec_ok(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		enum pg_fail fail;

		pg_result_error(conn, res, what, &fail);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int pg_schema_version(PGconn *conn, int *version)
{
	PGresult *res = PQexec(conn, "SELECT to_regclass('authd_schema') IS NOT NULL");
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		enum pg_fail fail;

		pg_result_error(conn, res, "reading the schema version", &fail);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		*version = 0;
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = PQexec(conn, "SELECT max(version) FROM authd_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		enum pg_fail fail;

		pg_result_error(conn, res, "reading the schema version", &fail);
		goto out;
	}
	*version = PQgetisnull(res, 0, 0) ? 0 : (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int pg_schema_migrate(PGconn *conn)
{
	int version = 0;

	/* READ COMMITTED: after the lock, each statement sees what another
	 * node's migration committed while this one waited. */
	if (exec_ok(conn, "BEGIN ISOLATION LEVEL READ COMMITTED", "migration") != 0)
		return -1;
	if (exec_ok(conn, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", "migration lock") !=
		0 ||
	    pg_schema_version(conn, &version) != 0)
		goto fail;
	if (version > PG_SCHEMA_VERSION) {
		log_err("the database schema is version %d, newer than this authd's (%d); refusing "
			"to migrate",
			version, PG_SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < PG_SCHEMA_VERSION; v++) {
		if (exec_ok(conn, migrations[v], "schema migration") != 0)
			goto fail;
		if (v > 0) {
			char sql[64];

			snprintf(sql, sizeof(sql), "UPDATE authd_schema SET version = %d", v + 1);
			if (exec_ok(conn, sql, "schema version") != 0)
				goto fail;
		}
	}
	if (exec_ok(conn, "COMMIT", "migration commit") != 0)
		return -1;
	if (version < PG_SCHEMA_VERSION)
		log_info("postgresql schema migrated from version %d to %d", version,
			 PG_SCHEMA_VERSION);
	return 0;
fail:
	exec_ok(conn, "ROLLBACK", "migration rollback");
	return -1;
}
