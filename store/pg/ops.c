/*
 * The PostgreSQL engine's typed operations: one prepared statement each
 * (store.h's semantics, as the LMDB engine's codec.c has them), binary
 * parameters and results, and the sweeper. Decoders check every column's
 * length and range, so a row that does not fit its record is reported as
 * STORE_E_CORRUPT instead of being half-read; getters write their output
 * only once the whole row decoded.
 */
#include "pg-internal.h"

#include <jansson.h>
#include <log.h>
#include <openssl/crypto.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* pg_try_advisory_xact_lock key of the sweeper: "authdswp". */
#define SWEEP_LOCK_KEY 6131403826440926064LL

/* PostgreSQL's type oid of bigint, in binary arrays. */
#define INT8OID 20

/* The columns of each record, in the order its decoder reads them. */
#define ACCOUNT_COLS(a)                                                                            \
	a ".org_id, " a ".email, " a ".name, " a ".pw_hash, " a ".created_at, " a                  \
	  ".password_changed_at, " a ".locked_at"
#define TOTP_COLS(t)                                                                               \
	t ".enabled, " t ".alg, " t ".digits, " t ".period, " t ".last_step, " t ".enabled_at, " t \
	  ".seed, " t ".pending_id, " t ".pending_expires_at, " t ".pending_seed"
#define THROTTLE_COLS(h) h ".consecutive, " h ".last_failure, " h ".count, " h ".pos, " h ".ring"
#define BACKUP_AGG_COLS                                                                            \
	"array_agg(idx::bigint ORDER BY idx), string_agg(salt, ''::bytea ORDER BY idx), "          \
	"string_agg(hash, ''::bytea ORDER BY idx), array_agg(used_at ORDER BY idx), "              \
	"min(created_at), max(created_at)"
#define CLUSTER_COLS ACCOUNT_COLS("a") ", " TOTP_COLS("t")
#define CLUSTER_JOINS                                                                              \
	"LEFT JOIN accounts a ON a.id = $1::bytea LEFT JOIN totp_credentials t ON t.account_id = " \
	"$1::bytea"
#define DEVICE_COLS                                                                                \
	"id, account_id, public_key, name, created_at, last_seen, last_ip, last_location, seed, "  \
	"last_step, wake_token"
#define CHALLENGE_COLS                                                                             \
	"id, login_hash, nonce, number, state, created_at, expires_at, answered_at, answered_by, " \
	"ip, location, browser, os, application"
/* An API token's columns, in token_row's order. */
#define TOKEN_COLS                                                                                 \
	"hash, id, account_id, org_id, name, scopes, created_at, expires_at, last_used_at, "       \
	"head, count, hits, created_by"
/* A product's columns, in product_row's order. */
#define PRODUCT_COLS                                                                               \
	"id, kind, name, created_at, expires_at, renewal_months, auto_renew, renew_tried, "        \
	"blocked_at"
/* A billing address's columns, in address_row's order. */
#define ADDRESS_COLS                                                                               \
	"org_id, id, name, line1, line2, postal_code, city, country, vat_number, is_default, "     \
	"created_at"
/* A support grant's columns, in support_row's order. */
#define SUPPORT_COLS                                                                               \
	"id, org_id, kind, request, created_by, created_at, expires_at, revoked_at, assignees"
/* A payment's columns, in payment_row's order. */
#define PAYMENT_COLS                                                                               \
	"id, org_id, key_hash, request_hash, kind, status, currency, amount, from_balance, rest, " \
	"created_by, created_at, settled_at, provider_ref, checkout_url, invoices"
#define LEDGER_COLS "org_id, at, id, kind, payment_id, currency, prepaid, provider, revenue, held"
#define VOUCHER_COLS                                                                               \
	"code, kind, bp, amount, currency, valid_from, valid_until, max_uses, used, created_by, "  \
	"created_at"
/* An invitation's columns, in invite_row's order. */
#define INVITE_COLS                                                                                \
	"org_id, id, token_hash, email, role, rights, inviter, created_at, expires_at, state, "    \
	"ended_at, account_id"
#define OUTBOX_COLS_OF(o)                                                                          \
	o ".id, " o ".account_id, " o ".channel, " o ".state, " o ".attempts, " o                  \
	  ".created_at, " o ".next_at, " o ".done_at, " o ".sealed"
#define OUTBOX_COLS "id, account_id, channel, state, attempts, created_at, next_at, done_at, sealed"
#define RECOVERY_COLS                                                                              \
	"email, email_verified, phone, phone_verified, pending, pending_to, pending_hash, "        \
	"pending_expires, reset_code, reset_code_expires, reset_link, reset_link_expires, "        \
	"grant_hash, grant_expires, grant_fails, fails, last_fail, option_fails, "                 \
	"option_last_fail, sends, sends_pos, sms_factor_at, sms_login, sms_code, "                 \
	"sms_code_expires, sms_sends, close_hash, close_expires, reset_proofed"
#define CASE_COLS                                                                                  \
	"account_id, reason, state, opened_at, decided_at, token_hash, login, contact, details, "  \
	"reviewer, note, docs::text"
/* What an access decision reads (pg_access_facts), for the parameters
 * that hold the organization, the product and the account: one row at
 * least, the membership and the product (NULLs when none), then one row
 * per grant to the account or one of its teams there. */
#define ACCESS_FACTS(o, p, a)                                                                      \
	"m.role, m.rights::bigint, m.contacts::bigint, m.since, p.id, p.kind, p.name, "            \
	"p.created_at, p.expires_at, p.renewal_months, p.auto_renew, p.renew_tried, "              \
	"p.blocked_at, "                                                                           \
	"g.subject, g.subject_kind, "                                                              \
	"g.rights, g.resources FROM "                                                              \
	"(SELECT 1) one LEFT JOIN memberships m ON m.org_id = " o "::bytea AND m.account_id = " a  \
	"::bytea LEFT JOIN products p ON p.org_id = " o "::bytea AND p.id = " p "::bytea LEFT "    \
	"JOIN grants g ON m.role IS NOT NULL AND p.id IS NOT NULL AND g.org_id = " o "::bytea "    \
	"AND g.product_id = " p "::bytea AND (g.subject = " a "::bytea OR g.subject IN (SELECT "   \
	"team_id FROM team_members WHERE org_id = " o "::bytea AND account_id = " a "::bytea))"
#define ACCESS_NCOLS 17
/* A session's columns, then its cluster's (joined on $1, the account). */
#define SESSION_COLS                                                                               \
	"s.org_id, s.aal, s.created_at, s.last_seen, s.expires_at, s.second_factor_at, s.ip, "     \
	"s.browser, s.flags"
#define SESSION_CLUSTER_COLS SESSION_COLS ", " CLUSTER_COLS
#define SESSION_NCOLS	     9 /* a session's own columns before its cluster's */
#define ACCOUNT_NCOLS	     7
#define TOTP_NCOLS	     10
#define THROTTLE_NCOLS	     5
#define CLUSTER_NCOLS	     (ACCOUNT_NCOLS + TOTP_NCOLS)

const struct pg_stmt_def pg_stmts[ST__COUNT] = {
    [ST_ACCOUNT_GET] = {"account_get",
			"SELECT " ACCOUNT_COLS("accounts") " FROM accounts WHERE id = $1::bytea"},
    [ST_ACCOUNT_PUT] = {"account_put",
			"INSERT INTO accounts (id, org_id, email, name, pw_hash, created_at, "
			"password_changed_at, locked_at) VALUES ($1::bytea, $2::bytea, $3::text, "
			"$4::text, $5::text, $6::bigint, $7::bigint, $8::bigint) ON CONFLICT (id) "
			"DO UPDATE SET org_id = EXCLUDED.org_id, email = EXCLUDED.email, name = "
			"EXCLUDED.name, pw_hash = EXCLUDED.pw_hash, created_at = "
			"EXCLUDED.created_at, password_changed_at = EXCLUDED.password_changed_at, "
			"locked_at = EXCLUDED.locked_at"},
    [ST_ACCOUNT_BY_EMAIL] = {"account_by_email", "SELECT id FROM accounts WHERE email = $1::text"},
    [ST_ORG_PUT] = {"org_put", "INSERT INTO organizations (id, name, created_at) VALUES "
			       "($1::bytea, $2::text, $3::bigint) ON CONFLICT (id) DO UPDATE SET "
			       "name = EXCLUDED.name, created_at = EXCLUDED.created_at"},
    [ST_MEMBER_PUT] =
	{"member_put",
	 "INSERT INTO memberships (org_id, account_id, role, rights, contacts, since) "
	 "VALUES ($1::bytea, $2::bytea, $3::text, $4::bigint, $5::bigint, "
	 "$6::bigint) ON CONFLICT (org_id, account_id) DO UPDATE SET role = "
	 "EXCLUDED.role, rights = EXCLUDED.rights, contacts = EXCLUDED.contacts, "
	 "since = EXCLUDED.since"},
    [ST_MEMBER_GET] = {"member_get",
		       "SELECT org_id, account_id, role, rights::bigint, contacts::bigint, since "
		       "FROM memberships WHERE org_id = $1::bytea AND account_id = "
		       "$2::bytea"},
    [ST_MEMBER_DEL] = {"member_del", "DELETE FROM memberships WHERE org_id = $1::bytea AND "
				     "account_id = $2::bytea"},
    [ST_AUDIT_ADD] = {"audit_add",
		      "INSERT INTO org_audit (org_id, at, actor, via, action, subject, detail, ip) "
		      "VALUES ($1::bytea, $2::bigint, $3::bytea, $4::text, $5::text, $6::bytea, "
		      "$7::text, $8::text)"},
    [ST_INVITE_PUT] = {"invite_put",
		       "INSERT INTO invitations (" INVITE_COLS ") VALUES ($1::bytea, $2::bytea, "
		       "$3::bytea, $4::text, $5::text, $6::bigint, $7::bytea, $8::bigint, "
		       "$9::bigint, $10::smallint, $11::bigint, $12::bytea) ON CONFLICT (org_id, "
		       "id) DO UPDATE SET state = EXCLUDED.state, ended_at = EXCLUDED.ended_at, "
		       "account_id = EXCLUDED.account_id, expires_at = EXCLUDED.expires_at"},
    [ST_INVITE_GET] = {"invite_get", "SELECT " INVITE_COLS " FROM invitations WHERE org_id = "
				     "$1::bytea AND id = $2::bytea"},
    [ST_INVITE_BY_TOKEN] = {"invite_by_token", "SELECT " INVITE_COLS " FROM invitations "
					       "WHERE token_hash = $1::bytea"},
    [ST_INVITE_DEL] = {"invite_del", "DELETE FROM invitations WHERE org_id = $1::bytea AND id "
				     "= $2::bytea"},
    [ST_PRODUCT_PUT] =
	{"product_put",
	 "INSERT INTO products (org_id, id, kind, name, created_at, expires_at, "
	 "renewal_months, auto_renew, renew_tried, blocked_at) VALUES ($1::bytea, $2::bytea, "
	 "$3::smallint, $4::text, $5::bigint, $6::bigint, $7::smallint, $8::boolean, "
	 "$9::bigint, $10::bigint) ON CONFLICT (org_id, id) DO "
	 "UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, expires_at = "
	 "EXCLUDED.expires_at, renewal_months = EXCLUDED.renewal_months, auto_renew = "
	 "EXCLUDED.auto_renew, renew_tried = EXCLUDED.renew_tried, blocked_at = "
	 "EXCLUDED.blocked_at"},
    [ST_PRODUCT_UPDATE] = {"product_update",
			   "UPDATE products SET kind = $3::smallint, name = $4::text, expires_at = "
			   "$6::bigint, renewal_months = $7::smallint, auto_renew = $8::boolean, "
			   "renew_tried = $9::bigint, blocked_at = $10::bigint WHERE org_id = "
			   "$1::bytea AND id = $2::bytea AND created_at = $5::bigint RETURNING 1"},
    [ST_PRODUCTS_DUE] = {"products_due",
			 "SELECT " PRODUCT_COLS ", org_id FROM products WHERE expires_at > 0 AND "
			 "expires_at <= $1::bigint AND (expires_at, org_id, id) > ($2::bigint, "
			 "$3::bytea, $4::bytea) ORDER BY expires_at, org_id, id LIMIT $5::bigint"},
    [ST_PRODUCT_GET] = {"product_get", "SELECT " PRODUCT_COLS " FROM products WHERE org_id = "
				       "$1::bytea AND id = $2::bytea"},
    [ST_PRODUCT_DEL] =
	{"product_del",
	 "WITH g AS (DELETE FROM grants WHERE org_id = $1::bytea AND product_id = "
	 "$2::bytea) DELETE FROM products WHERE org_id = $1::bytea AND id = $2::bytea"},
    [ST_PRODUCTS_LIST] = {"products_list", "SELECT " PRODUCT_COLS " FROM products WHERE "
					   "org_id = $1::bytea ORDER BY id"},
    [ST_GRANT_PUT] =
	{"grant_put",
	 "INSERT INTO grants (org_id, product_id, subject, subject_kind, rights, "
	 "resources) VALUES ($1::bytea, $2::bytea, $3::bytea, $4::smallint, $5::bigint, "
	 "$6::text) ON CONFLICT (org_id, product_id, subject) DO UPDATE SET "
	 "subject_kind = EXCLUDED.subject_kind, rights = EXCLUDED.rights, resources = "
	 "EXCLUDED.resources"},
    [ST_GRANT_GET] = {"grant_get",
		      "SELECT subject, subject_kind, rights, resources FROM grants WHERE org_id = "
		      "$1::bytea AND product_id = $2::bytea AND subject = $3::bytea"},
    [ST_GRANT_DEL] = {"grant_del", "DELETE FROM grants WHERE org_id = $1::bytea AND product_id "
				   "= $2::bytea AND subject = $3::bytea"},
    [ST_GRANTS_LIST] =
	{"grants_list",
	 "SELECT subject, subject_kind, rights, resources FROM grants WHERE org_id = "
	 "$1::bytea AND product_id = $2::bytea ORDER BY subject"},
    [ST_GRANTS_DEL_SUBJECT] =
	{"grants_del_subject",
	 "DELETE FROM grants WHERE org_id = $1::bytea AND subject = $2::bytea"},
    [ST_TEAM_PUT] =
	{"team_put",
	 "INSERT INTO teams (org_id, id, name, leader, created_at) VALUES ($1::bytea, "
	 "$2::bytea, $3::text, $4::bytea, $5::bigint) ON CONFLICT (org_id, id) DO UPDATE "
	 "SET name = EXCLUDED.name, leader = EXCLUDED.leader"},
    [ST_TEAM_GET] = {"team_get", "SELECT id, name, leader, created_at FROM teams WHERE org_id = "
				 "$1::bytea AND id = $2::bytea"},
    [ST_TEAM_DEL] = {"team_del",
		     "WITH m AS (DELETE FROM team_members WHERE org_id = $1::bytea AND team_id = "
		     "$2::bytea), g AS (DELETE FROM grants WHERE org_id = $1::bytea AND subject = "
		     "$2::bytea) DELETE FROM teams WHERE org_id = $1::bytea AND id = $2::bytea"},
    [ST_TEAMS_LIST] = {"teams_list", "SELECT id, name, leader, created_at FROM teams WHERE "
				     "org_id = $1::bytea ORDER BY id"},
    [ST_TEAM_MEMBER_PUT] = {"team_member_put",
			    "INSERT INTO team_members (org_id, team_id, account_id) VALUES "
			    "($1::bytea, $2::bytea, $3::bytea) ON CONFLICT DO NOTHING"},
    [ST_TEAM_MEMBER_DEL] = {"team_member_del",
			    "DELETE FROM team_members WHERE org_id = $1::bytea AND team_id = "
			    "$2::bytea AND account_id = $3::bytea"},
    [ST_TEAM_MEMBERS_LIST] = {"team_members_list",
			      "SELECT account_id FROM team_members WHERE org_id = $1::bytea AND "
			      "team_id = $2::bytea ORDER BY account_id"},
    [ST_MEMBER_TEAMS_LIST] = {"member_teams_list",
			      "SELECT team_id FROM team_members WHERE org_id = $1::bytea AND "
			      "account_id = $2::bytea ORDER BY team_id"},
    [ST_ADDRESS_PUT] =
	{"address_put",
	 "INSERT INTO billing_addresses (" ADDRESS_COLS ") VALUES ($1::bytea, $2::bytea, "
	 "$3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::boolean, "
	 "$11::bigint) ON CONFLICT (org_id, id) DO UPDATE SET name = EXCLUDED.name, line1 = "
	 "EXCLUDED.line1, line2 = EXCLUDED.line2, postal_code = EXCLUDED.postal_code, city = "
	 "EXCLUDED.city, country = EXCLUDED.country, vat_number = EXCLUDED.vat_number, "
	 "is_default = EXCLUDED.is_default"},
    [ST_ADDRESS_DEL] = {"address_del", "DELETE FROM billing_addresses WHERE org_id = $1::bytea "
				       "AND id = $2::bytea RETURNING 1"},
    [ST_ADDRESSES_LIST] = {"addresses_list",
			   "SELECT " ADDRESS_COLS " FROM billing_addresses WHERE org_id = "
			   "$1::bytea ORDER BY created_at, id"},
    [ST_SUPPORT_PUT] =
	{"support_put",
	 "INSERT INTO support_grants (" SUPPORT_COLS ") VALUES ($1::bytea, $2::bytea, "
	 "$3::smallint, $4::text, $5::bytea, $6::bigint, $7::bigint, $8::bigint, $9::bytea) ON "
	 "CONFLICT (id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, assignees = "
	 "EXCLUDED.assignees"},
    [ST_SUPPORT_GET] = {"support_get",
			"SELECT " SUPPORT_COLS " FROM support_grants WHERE id = $1::bytea"},
    [ST_SUPPORT_DEL] = {"support_del", "DELETE FROM support_grants WHERE id = $1::bytea"},
    [ST_SUPPORT_LIVE] = {"support_live", "SELECT " SUPPORT_COLS " FROM support_grants WHERE "
					 "revoked_at = 0 AND expires_at > $1::bigint"},
    [ST_SUPPORT_LIST] = {"support_list", "SELECT " SUPPORT_COLS " FROM support_grants WHERE "
					 "org_id = $1::bytea ORDER BY created_at, id"},
    [ST_BALANCE_GET] = {"balance_get", "SELECT minor FROM billing_balances WHERE org_id = "
				       "$1::bytea AND currency = $2::smallint"},
    [ST_BALANCE_PUT] = {"balance_put",
			"INSERT INTO billing_balances (org_id, currency, minor) VALUES ($1::bytea, "
			"$2::smallint, $3::bigint) ON CONFLICT (org_id, currency) DO UPDATE SET "
			"minor = EXCLUDED.minor"},
    [ST_LEDGER_ADD] = {"ledger_add",
		       "INSERT INTO ledger (" LEDGER_COLS ") VALUES ($1::bytea, $2::bigint, "
		       "$3::bytea, $4::smallint, $5::bytea, $6::smallint, $7::bigint, $8::bigint, "
		       "$9::bigint, $10::bigint)"},
    [ST_LEDGER_LIST] = {"ledger_list", "SELECT " LEDGER_COLS " FROM ledger WHERE org_id = "
				       "$1::bytea ORDER BY at DESC, id DESC LIMIT $2::bigint"},
    [ST_PAYMENT_PUT] =
	{"payment_put",
	 "INSERT INTO payments (" PAYMENT_COLS ") VALUES ($1::bytea, $2::bytea, $3::bytea, "
	 "$4::bytea, $5::smallint, $6::smallint, $7::smallint, $8::bigint, $9::bigint, "
	 "$10::bigint, $11::bytea, $12::bigint, $13::bigint, $14::text, $15::text, $16::bytea) "
	 "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, settled_at = "
	 "EXCLUDED.settled_at, provider_ref = EXCLUDED.provider_ref, checkout_url = "
	 "EXCLUDED.checkout_url"},
    [ST_PAYMENT_GET] = {"payment_get",
			"SELECT " PAYMENT_COLS " FROM payments WHERE id = $1::bytea"},
    [ST_PAYMENTS_LIST] = {"payments_list", "SELECT " PAYMENT_COLS " FROM payments WHERE "
					   "org_id = $1::bytea ORDER BY created_at DESC, id DESC "
					   "LIMIT $2::bigint"},
    [ST_INVOICE_PUT] =
	{"invoice_put",
	 "INSERT INTO invoices (id, org_id, number, status, created_at, body) VALUES "
	 "($1::bytea, $2::bytea, $3::bigint, $4::smallint, $5::bigint, $6::text) ON "
	 "CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body"},
    [ST_INVOICE_GET] = {"invoice_get", "SELECT body FROM invoices WHERE id = $1::bytea"},
    [ST_INVOICES_LIST] = {"invoices_list", "SELECT body FROM invoices WHERE org_id = $1::bytea "
					   "ORDER BY created_at DESC, id DESC LIMIT $2::bigint"},
    /* A PostgreSQL sequence per name (schema 15): concurrent jobs never
     * wait on one row nor lose a race for it; a job that runs again takes
     * a new value (numbers may skip, never repeat). */
    [ST_COUNTER_NEXT] = {"counter_next", "SELECT nextval(('seq_' || $1::text)::regclass)"},
    [ST_OUTBOX_FAILURES] = {"outbox_failures", "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 3 "
					       "ORDER BY done_at DESC, id DESC LIMIT $1::bigint"},
    [ST_SETTING_GET] = {"setting_get", "SELECT value FROM settings WHERE name = $1::text"},
    [ST_SETTING_PUT] = {"setting_put",
			"INSERT INTO settings (name, value) VALUES ($1::text, $2::bigint) ON "
			"CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"},
    /* Key rotation's walk: each kind in key order from after a key (the
     * empty bytea is before every one); a value is rewritten only if it
     * is still the one the walk saw. */
    [ST_SETTINGS_LIST] = {"settings_list", "SELECT name, value FROM settings WHERE "
					   "starts_with(name, $1::text) ORDER BY name"},
    [ST_SEALS_TOTP] = {"seals_totp",
		       "SELECT account_id, seed, pending_seed FROM totp_credentials WHERE "
		       "account_id > $1::bytea ORDER BY account_id LIMIT $2::bigint"},
    [ST_RESEAL_TOTP] = {"reseal_totp", "UPDATE totp_credentials SET seed = $3::bytea WHERE "
				       "account_id = $1::bytea AND seed = $2::bytea"},
    [ST_RESEAL_TOTP_PENDING] = {"reseal_totp_pending",
				"UPDATE totp_credentials SET pending_seed = $3::bytea WHERE "
				"account_id = $1::bytea AND pending_seed = $2::bytea"},
    [ST_SEALS_DEVICE] = {"seals_device", "SELECT id, account_id, seed FROM devices WHERE id > "
					 "$1::bytea ORDER BY id LIMIT $2::bigint"},
    [ST_RESEAL_DEVICE] = {"reseal_device", "UPDATE devices SET seed = $3::bytea WHERE id = "
					   "$1::bytea AND seed = $2::bytea"},
    [ST_SEALS_OUTBOX] = {"seals_outbox",
			 "SELECT id, sealed FROM outbox WHERE id > $1::bytea "
			 "AND octet_length(sealed) > 0 ORDER BY id LIMIT $2::bigint"},
    [ST_RESEAL_OUTBOX] = {"reseal_outbox", "UPDATE outbox SET sealed = $3::bytea WHERE id = "
					   "$1::bytea AND sealed = $2::bytea"},
    [ST_SEALS_DOC] = {"seals_doc",
		      "SELECT case_id, n, sealed FROM verification_documents WHERE (case_id, n) > "
		      "($1::bytea, $2::smallint) ORDER BY case_id, n LIMIT $3::bigint"},
    [ST_RESEAL_DOC] = {"reseal_doc",
		       "UPDATE verification_documents SET sealed = $4::bytea WHERE case_id = "
		       "$1::bytea AND n = $2::smallint AND sealed = $3::bytea"},
    [ST_VOUCHER_PUT] =
	{"voucher_put",
	 "INSERT INTO vouchers (" VOUCHER_COLS ") VALUES ($1::text, $2::smallint, $3::bigint, "
	 "$4::bigint, $5::smallint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bytea, "
	 "$11::bigint) ON CONFLICT (code) DO UPDATE SET used = EXCLUDED.used"},
    [ST_VOUCHER_GET] = {"voucher_get",
			"SELECT " VOUCHER_COLS " FROM vouchers WHERE code = $1::text"},
    [ST_VOUCHERS_LIST] = {"vouchers_list", "SELECT " VOUCHER_COLS " FROM vouchers ORDER BY code"},
    [ST_PARTNER_PUT] =
	{"partner_put",
	 "INSERT INTO partners (client_org, partner_org, all_products, products, "
	 "billing, created_at) VALUES ($1::bytea, $2::bytea, $3::boolean, $4::bytea, "
	 "$5::boolean, $6::bigint) ON CONFLICT (client_org, partner_org) DO UPDATE SET "
	 "all_products = EXCLUDED.all_products, products = EXCLUDED.products, billing "
	 "= EXCLUDED.billing, created_at = EXCLUDED.created_at"},
    [ST_PARTNER_GET] =
	{"partner_get",
	 "SELECT client_org, partner_org, all_products, products, billing, created_at "
	 "FROM partners WHERE client_org = $1::bytea AND partner_org = $2::bytea"},
    [ST_PARTNER_DEL] = {"partner_del", "DELETE FROM partners WHERE client_org = $1::bytea AND "
				       "partner_org = $2::bytea"},
    [ST_PARTNERS_AS_CLIENT] = {"partners_as_client",
			       "SELECT client_org, partner_org, all_products, products, billing, "
			       "created_at FROM partners WHERE client_org = $1::bytea ORDER BY "
			       "partner_org"},
    [ST_PARTNERS_AS_PARTNER] = {"partners_as_partner",
				"SELECT client_org, partner_org, all_products, products, billing, "
				"created_at FROM partners WHERE partner_org = $1::bytea ORDER BY "
				"client_org"},
    /* Never an upsert: a token revoked meanwhile stays revoked. */
    [ST_TOKEN_UPDATE] =
	{"token_update",
	 "UPDATE api_tokens SET last_used_at = $2::bigint, head = $3::smallint, "
	 "count = $4::smallint, hits = $5::bytea WHERE hash = $1::bytea RETURNING 1"},
    [ST_TOKENS_DEL_ACCOUNT] = {"tokens_del_account",
			       "DELETE FROM api_tokens WHERE account_id = $1::bytea"},
    [ST_ACCESS_FACTS] = {"access_facts", "SELECT " ACCESS_FACTS("$1", "$2", "$3")},
    [ST_TOKEN_GET] = {"token_get", "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = $1::bytea"},
    [ST_TOKEN_PUT] =
	{"token_put",
	 "INSERT INTO api_tokens (" TOKEN_COLS ") VALUES ($1::bytea, $2::bytea, "
	 "$3::bytea, $4::bytea, $5::text, $6::bigint, $7::bigint, $8::bigint, "
	 "$9::bigint, $10::smallint, $11::smallint, $12::bytea, $13::bytea) ON CONFLICT (hash) DO "
	 "UPDATE SET last_used_at = EXCLUDED.last_used_at, head = EXCLUDED.head, count "
	 "= EXCLUDED.count, hits = EXCLUDED.hits, name = EXCLUDED.name, scopes = "
	 "EXCLUDED.scopes, expires_at = EXCLUDED.expires_at"},
    [ST_TOKEN_DEL] = {"token_del", "DELETE FROM api_tokens WHERE account_id = $1::bytea AND id = "
				   "$2::bytea RETURNING 1"},
    [ST_TOKENS_LIST] = {"tokens_list", "SELECT " TOKEN_COLS " FROM api_tokens WHERE account_id = "
				       "$1::bytea ORDER BY id"},
    [ST_INVITES_LIST] = {"invites_list", "SELECT " INVITE_COLS " FROM invitations WHERE "
					 "org_id = $1::bytea ORDER BY id"},
    /* The row before the cursor (at, id), newest first: the index's order. */
    [ST_AUDIT_LIST] = {"audit_list",
		       "SELECT at, actor, via, action, subject, detail, ip, id FROM org_audit "
		       "WHERE org_id = $1::bytea AND (at, id) < ($2::bigint, $3::bigint) ORDER BY "
		       "at DESC, id DESC LIMIT $4::bigint"},
    [ST_SESSION_PUT] = {"session_put",
			"INSERT INTO sessions (account_id, token_hash, org_id, aal, created_at, "
			"last_seen, expires_at, second_factor_at, ip, browser, flags) VALUES "
			"($1::bytea, $2::bytea, $3::bytea, $4::smallint, $5::bigint, $6::bigint, "
			"$7::bigint, $8::bigint, $9::text, $10::text, $11::smallint) ON CONFLICT "
			"(account_id, token_hash) DO UPDATE SET org_id = EXCLUDED.org_id, aal = "
			"EXCLUDED.aal, created_at = EXCLUDED.created_at, last_seen = "
			"EXCLUDED.last_seen, expires_at = EXCLUDED.expires_at, second_factor_at = "
			"EXCLUDED.second_factor_at, ip = EXCLUDED.ip, browser = EXCLUDED.browser, "
			"flags = EXCLUDED.flags"},
    [ST_SESSION_DEL] = {"session_del", "DELETE FROM sessions WHERE account_id = $1::bytea AND "
				       "token_hash = $2::bytea"},
    [ST_SESSION_DEL_ALL] = {"session_del_all", "DELETE FROM sessions WHERE account_id = $1::bytea"},
    [ST_SESSION_DEL_ALL_BUT] = {"session_del_all_but",
				"DELETE FROM sessions WHERE account_id = $1::bytea AND "
				"token_hash <> $2::bytea"},
    [ST_LOGIN_PUT] = {"login_put",
		      "INSERT INTO pending_logins (account_id, token_hash, created_at, expires_at, "
		      "attempts) VALUES ($1::bytea, $2::bytea, $3::bigint, $4::bigint, "
		      "$5::smallint) ON CONFLICT (account_id, token_hash) DO UPDATE SET "
		      "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, "
		      "attempts = EXCLUDED.attempts"},
    [ST_LOGIN_UPDATE] = {"login_update",
			 "UPDATE pending_logins SET created_at = $3::bigint, expires_at = "
			 "$4::bigint, attempts = $5::smallint WHERE account_id = $1::bytea AND "
			 "token_hash = $2::bytea"},
    [ST_LOGIN_DEL] = {"login_del", "DELETE FROM pending_logins WHERE account_id = $1::bytea "
				   "AND token_hash = $2::bytea"},
    [ST_LOGIN_DEL_ALL] = {"login_del_all",
			  "DELETE FROM pending_logins WHERE account_id = $1::bytea"},
    [ST_TOTP_GET] = {"totp_get",
		     "SELECT " TOTP_COLS("totp_credentials") " FROM totp_credentials WHERE "
							     "account_id = $1::bytea"},
    [ST_TOTP_PUT] = {"totp_put",
		     "INSERT INTO totp_credentials (account_id, enabled, alg, digits, period, "
		     "last_step, enabled_at, seed, pending_id, pending_expires_at, pending_seed) "
		     "VALUES ($1::bytea, $2::boolean, $3::smallint, $4::smallint, $5::smallint, "
		     "$6::bigint, $7::bigint, $8::bytea, $9::bytea, $10::bigint, $11::bytea) "
		     "ON CONFLICT (account_id) DO UPDATE SET enabled = EXCLUDED.enabled, "
		     "alg = EXCLUDED.alg, digits = EXCLUDED.digits, period = EXCLUDED.period, "
		     "last_step = EXCLUDED.last_step, enabled_at = EXCLUDED.enabled_at, "
		     "seed = EXCLUDED.seed, pending_id = EXCLUDED.pending_id, "
		     "pending_expires_at = EXCLUDED.pending_expires_at, "
		     "pending_seed = EXCLUDED.pending_seed"},
    /* What a TOTP step changes, when the transaction read the rest. */
    [ST_TOTP_STEP] = {"totp_step", "UPDATE totp_credentials SET last_step = $2::bigint WHERE "
				   "account_id = $1::bytea"},
    [ST_TOTP_DEL] = {"totp_del", "DELETE FROM totp_credentials WHERE account_id = $1::bytea"},
    /* One row: the codes in order, salts and hashes end to end (as
     * backup_put takes them); NULLs when the account has none. */
    [ST_BACKUP_GET] = {"backup_get", "SELECT " BACKUP_AGG_COLS " FROM backup_codes "
				     "WHERE account_id = $1::bytea"},
    /* One row per code from three packed parameters; a row that did not
     * change (all but one when a code is used) is not rewritten. */
    [ST_BACKUP_PUT] = {"backup_put",
		       "INSERT INTO backup_codes AS b (account_id, idx, salt, hash, used_at, "
		       "created_at) SELECT $1::bytea, i, substring($2::bytea FROM i * $6::integer "
		       "+ 1 FOR $6::integer), substring($3::bytea FROM i * $7::integer + 1 FOR "
		       "$7::integer), ($4::bigint[])[i + 1], $5::bigint FROM generate_series(0, "
		       "cardinality($4::bigint[]) - 1) AS i ON CONFLICT (account_id, idx) DO "
		       "UPDATE SET salt = EXCLUDED.salt, hash = EXCLUDED.hash, used_at = "
		       "EXCLUDED.used_at, created_at = EXCLUDED.created_at WHERE (b.salt, b.hash, "
		       "b.used_at, b.created_at) IS DISTINCT FROM (EXCLUDED.salt, EXCLUDED.hash, "
		       "EXCLUDED.used_at, EXCLUDED.created_at)"},
    [ST_BACKUP_DEL] = {"backup_del", "DELETE FROM backup_codes WHERE account_id = $1::bytea"},
    [ST_THROTTLE_GET] = {"throttle_get",
			 "SELECT " THROTTLE_COLS("throttles") " FROM throttles "
							      "WHERE subject = $1::bytea"},
    [ST_THROTTLE_PUT] = {"throttle_put",
			 "INSERT INTO throttles (subject, consecutive, last_failure, count, pos, "
			 "ring) VALUES ($1::bytea, $2::bigint, $3::bigint, $4::smallint, "
			 "$5::smallint, $6::bigint[]) ON CONFLICT (subject) DO UPDATE SET "
			 "consecutive = EXCLUDED.consecutive, last_failure = "
			 "EXCLUDED.last_failure, count = EXCLUDED.count, pos = EXCLUDED.pos, "
			 "ring = EXCLUDED.ring"},
    [ST_LINK_GET] = {"link_get",
		     "SELECT device_id, created_at, expires_at, linked_at, seed FROM device_links "
		     "WHERE account_id = $1::bytea AND token_hash = $2::bytea"},
    [ST_LINK_PUT] = {"link_put",
		     "INSERT INTO device_links (account_id, token_hash, device_id, created_at, "
		     "expires_at, linked_at, seed) VALUES ($1::bytea, $2::bytea, $3::bytea, "
		     "$4::bigint, $5::bigint, $6::bigint, $7::bytea) ON CONFLICT (account_id, "
		     "token_hash) DO UPDATE SET device_id = EXCLUDED.device_id, created_at = "
		     "EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, linked_at = "
		     "EXCLUDED.linked_at, seed = EXCLUDED.seed"},
    [ST_LINK_DEL] = {"link_del", "DELETE FROM device_links WHERE account_id = $1::bytea AND "
				 "token_hash = $2::bytea"},
    [ST_LINK_DEL_ALL] = {"link_del_all", "DELETE FROM device_links WHERE account_id = $1::bytea"},
    [ST_DEVICE_GET] = {"device_get", "SELECT " DEVICE_COLS " FROM devices WHERE id = $1::bytea"},
    [ST_DEVICE_PUT] =
	{"device_put",
	 "INSERT INTO devices (account_id, id, public_key, name, created_at, "
	 "last_seen, last_ip, last_location, seed, last_step, wake_token) VALUES ($1::bytea, "
	 "$2::bytea, $3::bytea, $4::text, $5::bigint, $6::bigint, $7::text, $8::text, "
	 "$9::bytea, $10::bigint, $11::text) ON CONFLICT (id) DO UPDATE SET account_id = "
	 "EXCLUDED.account_id, public_key = EXCLUDED.public_key, name = EXCLUDED.name, "
	 "created_at = EXCLUDED.created_at, last_seen = EXCLUDED.last_seen, last_ip = "
	 "EXCLUDED.last_ip, last_location = EXCLUDED.last_location, seed = "
	 "EXCLUDED.seed, last_step = EXCLUDED.last_step, wake_token = EXCLUDED.wake_token"},
    [ST_DEVICE_DEL] = {"device_del", "DELETE FROM devices WHERE account_id = $1::bytea AND id = "
				     "$2::bytea RETURNING 1"},
    /* An UPDATE, never an upsert: a TOTP step may run at REPEATABLE READ,
     * where a device removed meanwhile must conflict, not come back. */
    [ST_DEVICE_STEP] = {"device_step", "UPDATE devices SET last_step = $3::bigint WHERE "
				       "account_id = $1::bytea AND id = $2::bytea RETURNING 1"},
    [ST_DEVICES_LIST] = {"devices_list", "SELECT " DEVICE_COLS " FROM devices WHERE "
					 "account_id = $1::bytea ORDER BY id"},
    [ST_CHALLENGE_GET] = {"challenge_get", "SELECT " CHALLENGE_COLS " FROM push_challenges WHERE "
					   "account_id = $1::bytea AND id = $2::bytea"},
    [ST_CHALLENGE_PUT] =
	{"challenge_put",
	 "INSERT INTO push_challenges (account_id, id, login_hash, nonce, number, "
	 "state, created_at, expires_at, answered_at, answered_by, ip, location, "
	 "browser, os, application) VALUES ($1::bytea, $2::bytea, $3::bytea, "
	 "$4::bytea, $5::smallint, $6::smallint, $7::bigint, $8::bigint, $9::bigint, "
	 "$10::bytea, $11::text, $12::text, $13::text, $14::text, $15::text) ON "
	 "CONFLICT (account_id, id) DO UPDATE SET login_hash = EXCLUDED.login_hash, "
	 "nonce = EXCLUDED.nonce, number = EXCLUDED.number, state = EXCLUDED.state, "
	 "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, "
	 "answered_at = EXCLUDED.answered_at, answered_by = EXCLUDED.answered_by, "
	 "ip = EXCLUDED.ip, location = EXCLUDED.location, browser = "
	 "EXCLUDED.browser, os = EXCLUDED.os, application = EXCLUDED.application"},
    [ST_CHALLENGES_LIST] = {"challenges_list", "SELECT " CHALLENGE_COLS " FROM push_challenges "
					       "WHERE account_id = $1::bytea ORDER BY id"},
    /* expires_at's index finds the few that are not over. */
    [ST_CHALLENGES_PENDING] = {"challenges_pending",
			       "SELECT " CHALLENGE_COLS ", account_id FROM push_challenges WHERE "
			       "expires_at > $2::bigint AND created_at >= $1::bigint AND state = 1 "
			       "ORDER BY created_at DESC LIMIT $3::bigint"},
    /* Delivered at COMMIT, to every node listening (pg_loop_connect). */
    [ST_NOTIFY] = {"notify", "SELECT pg_notify('" PG_NOTE_CHANNEL "', $1::text)"},
    [ST_PUSH_ACCOUNT_GET] = {"push_account_get", "SELECT sent, pos, denials, paused_at FROM "
						 "push_accounts WHERE account_id = $1::bytea"},
    [ST_PUSH_ACCOUNT_PUT] =
	{"push_account_put",
	 "INSERT INTO push_accounts (account_id, sent, pos, denials, paused_at) "
	 "VALUES ($1::bytea, $2::bigint[], $3::smallint, $4::smallint, "
	 "$5::bigint) ON CONFLICT (account_id) DO UPDATE SET sent = "
	 "EXCLUDED.sent, pos = EXCLUDED.pos, denials = EXCLUDED.denials, "
	 "paused_at = EXCLUDED.paused_at"},
    [ST_SESSIONS_LIST] =
	{"sessions_list",
	 "SELECT org_id, aal, created_at, last_seen, expires_at, second_factor_at, "
	 "ip, browser, flags, token_hash FROM sessions WHERE account_id = $1::bytea "
	 "ORDER BY created_at, token_hash"},
    [ST_RECOVERY_GET] = {"recovery_get",
			 "SELECT " RECOVERY_COLS " FROM recovery WHERE account_id = $1::bytea"},
    [ST_RECOVERY_PUT] = {"recovery_put",
			 "INSERT INTO recovery (account_id, " RECOVERY_COLS ") VALUES ($1::bytea, "
			 "$2::text, $3::boolean, $4::text, $5::boolean, $6::smallint, $7::text, "
			 "$8::bytea, $9::bigint, $10::bytea, $11::bigint, $12::bytea, $13::bigint, "
			 "$14::bytea, $15::bigint, $16::smallint, $17::smallint, $18::bigint, "
			 "$19::smallint, $20::bigint, $21::bigint[], $22::smallint, $23::bigint, "
			 "$24::bytea, $25::bytea, $26::bigint, $27::smallint, $28::bytea, "
			 "$29::bigint, $30::boolean) ON CONFLICT "
			 "(account_id) DO UPDATE SET email = "
			 "EXCLUDED.email, email_verified = EXCLUDED.email_verified, phone = "
			 "EXCLUDED.phone, phone_verified = EXCLUDED.phone_verified, pending = "
			 "EXCLUDED.pending, pending_to = EXCLUDED.pending_to, pending_hash = "
			 "EXCLUDED.pending_hash, pending_expires = EXCLUDED.pending_expires, "
			 "reset_code = EXCLUDED.reset_code, reset_code_expires = "
			 "EXCLUDED.reset_code_expires, reset_link = EXCLUDED.reset_link, "
			 "reset_link_expires = EXCLUDED.reset_link_expires, grant_hash = "
			 "EXCLUDED.grant_hash, grant_expires = EXCLUDED.grant_expires, grant_fails "
			 "= EXCLUDED.grant_fails, fails = EXCLUDED.fails, last_fail = "
			 "EXCLUDED.last_fail, option_fails = EXCLUDED.option_fails, "
			 "option_last_fail = EXCLUDED.option_last_fail, sends = EXCLUDED.sends, "
			 "sends_pos = EXCLUDED.sends_pos, sms_factor_at = EXCLUDED.sms_factor_at, "
			 "sms_login = EXCLUDED.sms_login, sms_code = EXCLUDED.sms_code, "
			 "sms_code_expires = EXCLUDED.sms_code_expires, sms_sends = "
			 "EXCLUDED.sms_sends, close_hash = EXCLUDED.close_hash, close_expires = "
			 "EXCLUDED.close_expires, reset_proofed = EXCLUDED.reset_proofed"},
    [ST_RECOVERY_DEL] = {"recovery_del", "DELETE FROM recovery WHERE account_id = $1::bytea"},
    [ST_RECOVERY_BY_PHONE] = {"recovery_by_phone",
			      "SELECT account_id FROM recovery WHERE phone = $1::text AND "
			      "phone_verified ORDER BY account_id LIMIT $2::bigint"},
    [ST_PLACES_GET] = {"places_get",
		       "SELECT nets, seen FROM known_places WHERE account_id = $1::bytea"},
    [ST_PLACES_PUT] = {"places_put",
		       "INSERT INTO known_places (account_id, nets, seen) VALUES ($1::bytea, "
		       "$2::bigint[], $3::bigint[]) ON CONFLICT (account_id) DO UPDATE SET nets "
		       "= EXCLUDED.nets, seen = EXCLUDED.seen"},
    [ST_OUTBOX_ADD] = {"outbox_add",
		       "INSERT INTO outbox (" OUTBOX_COLS ") VALUES ($1::bytea, $2::bytea, "
		       "$3::smallint, $4::smallint, $5::integer, $6::bigint, $7::bigint, "
		       "$8::bigint, $9::bytea)"},
    /* SKIP LOCKED: nodes claiming at once take different messages. */
    [ST_OUTBOX_CLAIM] = {"outbox_claim",
			 "UPDATE outbox o SET attempts = least(o.attempts + 1, 65535), next_at = "
			 "$2::bigint FROM (SELECT id FROM outbox WHERE state = 1 AND next_at <= "
			 "$1::bigint ORDER BY next_at LIMIT $3::bigint FOR UPDATE SKIP LOCKED) d "
			 "WHERE o.id = d.id RETURNING " OUTBOX_COLS_OF("o")},
    [ST_OUTBOX_SETTLE] = {"outbox_settle",
			  "UPDATE outbox SET state = $3::smallint, attempts = $4::integer, "
			  "next_at = $5::bigint, done_at = $6::bigint, sealed = $7::bytea WHERE "
			  "id = $1::bytea AND state = 1 AND next_at = $2::bigint RETURNING 1"},
    [ST_OUTBOX_GET] = {"outbox_get", "SELECT " OUTBOX_COLS " FROM outbox WHERE id = $1::bytea"},
    /* Its relations, audit trail, invitations, products and teams go with it. */
    [ST_ORG_DEL] =
	{"org_del",
	 "WITH r AS (DELETE FROM partners WHERE client_org = $1::bytea OR partner_org = "
	 "$1::bytea), a AS (DELETE FROM org_audit WHERE org_id = $1::bytea), i AS (DELETE FROM "
	 "invitations WHERE org_id = $1::bytea), p AS (DELETE FROM products WHERE org_id "
	 "= $1::bytea), g AS (DELETE FROM grants WHERE org_id = $1::bytea), t AS (DELETE "
	 "FROM teams WHERE org_id = $1::bytea), m AS (DELETE FROM team_members WHERE "
	 "org_id = $1::bytea), k AS (DELETE FROM api_tokens WHERE account_id = $1::bytea), "
	 "s AS (DELETE FROM support_grants WHERE org_id = $1::bytea), b AS (DELETE FROM "
	 "billing_addresses WHERE org_id = $1::bytea) "
	 "DELETE FROM organizations WHERE id = $1::bytea"},
    [ST_ORG_GET] = {"org_get", "SELECT name, created_at FROM organizations WHERE id = $1::bytea"},
    [ST_MEMBERSHIPS_LIST] =
	{"memberships_list",
	 "SELECT org_id, account_id, role, rights::bigint, contacts::bigint, since FROM "
	 "memberships WHERE account_id = $1::bytea ORDER BY org_id"},
    [ST_MEMBERS_LIST] =
	{"members_list",
	 "SELECT org_id, account_id, role, rights::bigint, contacts::bigint, since FROM "
	 "memberships WHERE org_id = $1::bytea ORDER BY account_id"},
    /* Everything filed under the account, then the account (its row is
     * what the answer counts: none, no such account). */
    [ST_ACCOUNT_DELETE] =
	{"account_delete",
	 "WITH s AS (DELETE FROM sessions WHERE account_id = $1::bytea), l AS (DELETE FROM "
	 "pending_logins WHERE account_id = $1::bytea), t AS (DELETE FROM totp_credentials "
	 "WHERE account_id = $1::bytea), b AS (DELETE FROM backup_codes WHERE account_id = "
	 "$1::bytea), d AS (DELETE FROM devices WHERE account_id = $1::bytea), k AS (DELETE "
	 "FROM device_links WHERE account_id = $1::bytea), c AS (DELETE FROM push_challenges "
	 "WHERE account_id = $1::bytea), p AS (DELETE FROM push_accounts WHERE account_id = "
	 "$1::bytea), r AS (DELETE FROM recovery WHERE account_id = $1::bytea), n AS (DELETE "
	 "FROM known_places WHERE account_id = $1::bytea), e AS (DELETE FROM security_events "
	 "WHERE account_id = $1::bytea), m AS (DELETE FROM memberships WHERE account_id = "
	 "$1::bytea), x AS (DELETE FROM api_tokens WHERE account_id = $1::bytea) DELETE FROM "
	 "accounts WHERE id = $1::bytea RETURNING 1"},
    [ST_CASE_GET] = {"case_get", "SELECT id, " CASE_COLS " FROM verification_cases WHERE id = "
				 "$1::bytea"},
    [ST_CASE_PUT] = {"case_put",
		     "INSERT INTO verification_cases (id, account_id, reason, state, opened_at, "
		     "decided_at, token_hash, login, contact, details, reviewer, note, docs) "
		     "VALUES ($1::bytea, $2::bytea, $3::smallint, $4::smallint, $5::bigint, "
		     "$6::bigint, $7::bytea, $8::text, $9::text, $10::text, $11::bytea, $12::text, "
		     "$13::text::jsonb) ON CONFLICT (id) DO UPDATE SET account_id = "
		     "EXCLUDED.account_id, reason = EXCLUDED.reason, state = EXCLUDED.state, "
		     "opened_at = EXCLUDED.opened_at, decided_at = EXCLUDED.decided_at, "
		     "token_hash = EXCLUDED.token_hash, login = EXCLUDED.login, contact = "
		     "EXCLUDED.contact, details = EXCLUDED.details, reviewer = EXCLUDED.reviewer, "
		     "note = EXCLUDED.note, docs = EXCLUDED.docs"},
    [ST_CASES_OPEN] = {"cases_open",
		       "SELECT id, " CASE_COLS " FROM verification_cases WHERE state = 1 ORDER BY "
		       "opened_at, id LIMIT $1::bigint"},
    [ST_CASES_ALL] = {"cases_all", "SELECT id, " CASE_COLS
				   " FROM verification_cases ORDER BY state <> 1, CASE WHEN "
				   "state = 1 THEN opened_at ELSE -decided_at END, id LIMIT "
				   "$1::bigint"},
    [ST_DOC_PUT] = {"doc_put", "INSERT INTO verification_documents (case_id, n, uploaded_at, "
			       "sealed) VALUES ($1::bytea, $2::smallint, $3::bigint, $4::bytea) "
			       "ON CONFLICT (case_id, n) DO UPDATE SET uploaded_at = "
			       "EXCLUDED.uploaded_at, sealed = EXCLUDED.sealed"},
    [ST_DOC_GET] = {"doc_get", "SELECT sealed FROM verification_documents WHERE case_id = "
			       "$1::bytea AND n = $2::smallint"},
    [ST_DOCS_DEL] = {"docs_del", "DELETE FROM verification_documents WHERE case_id = $1::bytea"},
    [ST_OUTBOX_PENDING] =
	{"outbox_pending",
	 "SELECT count(*), coalesce(min(next_at), 0) FROM outbox WHERE state = 1"},
    [ST_EVENT_ADD] = {"event_add",
		      "INSERT INTO security_events (account_id, at, kind, ip, method, outcome, "
		      "browser) VALUES ($1::bytea, $2::bigint, $3::text, $4::text, $5::text, "
		      "$6::text, $7::text)"},
    /* The row before the cursor (at, id), newest first: the index's order. */
    [ST_EVENTS_LIST] = {"events_list",
			"SELECT at, kind, ip, method, outcome, browser, id FROM security_events "
			"WHERE account_id = $1::bytea AND (at, id) < ($2::bigint, $3::bigint) "
			"ORDER BY at DESC, id DESC LIMIT $4::bigint"},
    /* A session or pending login with its account's cluster (pg-internal.h):
     * one row, NULLs for what is not there (no row at all for a session
     * that is not there: nobody reads further then). The backup codes come with a
     * session when TOTP is on (GET /1/me counts them), not with a pending
     * login (a TOTP step does not need them). */
    [ST_SESSION_CLUSTER] = {"session_cluster",
			    "SELECT " SESSION_CLUSTER_COLS ", b.* FROM sessions s " CLUSTER_JOINS
			    " LEFT JOIN LATERAL (SELECT " BACKUP_AGG_COLS
			    " FROM backup_codes WHERE account_id = $1::bytea AND "
			    "t.enabled) AS b ON true WHERE s.account_id = $1::bytea AND "
			    "s.token_hash = $2::bytea"},
    /* A session (not its cluster: an access decision reads nothing else)
     * with the access facts of $3, $4 (the organization and the product)
     * for its account: a row per fact row, none without the session. */
    [ST_SESSION_ACCESS] = {"session_access",
			   "SELECT " SESSION_COLS
			   ", f.* FROM sessions s CROSS JOIN LATERAL (SELECT " ACCESS_FACTS(
			       "$3", "$4", "$1") ") AS f WHERE s.account_id = $1::bytea AND "
						 "s.token_hash = $2::bytea"},
    [ST_LOGIN_CLUSTER] =
	{"login_cluster",
	 "SELECT l.created_at, l.expires_at, l.attempts, " CLUSTER_COLS
	 ", " THROTTLE_COLS("tf") ", " THROTTLE_COLS(
	     "ta") " FROM (VALUES (1)) AS k "
		   "(one) LEFT JOIN pending_logins l ON l.account_id = $1::bytea AND "
		   "l.token_hash = $2::bytea " CLUSTER_JOINS " LEFT JOIN throttles tf ON "
		   "tf.subject = $3::bytea LEFT JOIN throttles ta ON ta.subject = $4::bytea"},
    [ST_SWEEP_LOCK] = {"sweep_lock", "SELECT pg_try_advisory_xact_lock($1::bigint)"},
    /* $1 now, $2 idle seconds, $3 budget per kind. A session is over at
     * least(last_seen + idle, expires_at); a throttle history when neither
     * its last failure nor any time in its ring is within the hour before
     * now, unless it is a second factor's ('f' = 102) with failures no
     * quiet time forgets, recovery codes' ('r' = 114) failures of the last
     * day, or a daily quota (SMS: 's' = 115, 'u' = 117, 'P' = 80; invitations: 'I' = 73) of a day
     * not over (core/throttle.c's throttle_subject_is_quiet). */
    [ST_BEGIN_WRITE] = {"begin_write", "BEGIN ISOLATION LEVEL SERIALIZABLE"},
    [ST_BEGIN_WRITE_RR] = {"begin_write_rr", "BEGIN ISOLATION LEVEL REPEATABLE READ"},
    [ST_BEGIN_READ] = {"begin_read", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
    [ST_COMMIT] = {"commit", "COMMIT"},
    [ST_ROLLBACK] = {"rollback", "ROLLBACK"},
    [ST_SWEEP] =
	{"sweep",
	 "WITH s AS (DELETE FROM sessions WHERE ctid = ANY (ARRAY (SELECT ctid FROM "
	 "sessions WHERE $1::bigint >= least(last_seen + $2::bigint, expires_at) LIMIT "
	 "$3::bigint)) RETURNING 1), l AS (DELETE FROM pending_logins WHERE ctid = "
	 "ANY (ARRAY (SELECT ctid FROM pending_logins WHERE $1::bigint >= expires_at "
	 "LIMIT $3::bigint)) RETURNING 1), k AS (DELETE FROM device_links WHERE ctid = "
	 "ANY (ARRAY (SELECT ctid FROM device_links WHERE $1::bigint >= expires_at "
	 "LIMIT $3::bigint)) RETURNING 1), c AS (DELETE FROM push_challenges WHERE ctid = "
	 "ANY (ARRAY (SELECT ctid FROM push_challenges WHERE $1::bigint >= expires_at + "
	 "3600 LIMIT $3::bigint)) RETURNING 1), t AS (DELETE FROM throttles WHERE ctid = "
	 "ANY (ARRAY (SELECT ctid FROM throttles WHERE last_failure <= $1::bigint - "
	 "3600 AND $1::bigint - 3600 >= ALL (ring) AND NOT (get_byte(subject, 0) = "
	 "102 AND consecutive > 0) AND NOT (get_byte(subject, 0) = 114 AND consecutive > 0 "
	 "AND last_failure > $1::bigint - 86400) AND NOT (get_byte(subject, 0) IN (115, 117, 80, "
	 "73) "
	 "AND consecutive > 0 AND last_failure > $1::bigint - 86400) LIMIT $3::bigint)) "
	 "RETURNING 1), o AS "
	 "(DELETE FROM "
	 "outbox WHERE ctid = ANY (ARRAY (SELECT ctid FROM outbox WHERE state <> 1 AND "
	 "done_at <= $1::bigint - 604800 LIMIT $3::bigint)) RETURNING 1), e AS (DELETE "
	 "FROM security_events WHERE ctid = ANY (ARRAY (SELECT ctid FROM "
	 "security_events WHERE at < $1::bigint - 7776000 LIMIT $3::bigint)) RETURNING "
	 "1), d AS (DELETE FROM verification_documents WHERE ctid = ANY (ARRAY (SELECT "
	 "ctid FROM verification_documents WHERE uploaded_at <= $1::bigint - 259200 LIMIT "
	 "$3::bigint)) RETURNING 1), v AS (DELETE FROM verification_cases WHERE ctid = ANY "
	 "(ARRAY (SELECT ctid FROM verification_cases WHERE (state <> 1 AND decided_at <= "
	 "$1::bigint - 7776000) OR (state = 1 AND opened_at <= $1::bigint - 2592000) LIMIT "
	 "$3::bigint)) RETURNING 1), x AS (DELETE FROM verification_documents WHERE ctid = ANY "
	 "(ARRAY (SELECT d.ctid FROM verification_documents d LEFT JOIN verification_cases c ON "
	 "c.id = d.case_id WHERE c.id IS NULL LIMIT $3::bigint)) RETURNING 1) "
	 "SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM l) + (SELECT "
	 "count(*) FROM k) + (SELECT count(*) FROM c) + (SELECT count(*) FROM t) + "
	 "(SELECT count(*) FROM o) + (SELECT count(*) FROM e) + (SELECT count(*) FROM d) + "
	 "(SELECT count(*) FROM v)"},
};

/* --- parameters ------------------------------------------------------------------- */

static void param(struct pg_params *p, const void *v, size_t len)
{
	if (p->n >= PG_PARAMS_MAX)
		AUTHD_BUG("too many statement parameters");
	p->values[p->n] = v;
	p->lengths[p->n] = (int)len;
	p->formats[p->n] = 1;
	p->n++;
}

static void put_be(uint8_t *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *b, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

/* An integer in network order, in the parameter's own scratch space. */
static void param_int(struct pg_params *p, int64_t v, int bytes)
{
	if (p->n >= PG_PARAMS_MAX)
		AUTHD_BUG("too many statement parameters");
	put_be((uint8_t *)p->scratch[p->n], (uint64_t)v, bytes);
	param(p, p->scratch[p->n], (size_t)bytes);
}

static void param_i64(struct pg_params *p, int64_t v)
{
	param_int(p, v, 8);
}

static void param_i32(struct pg_params *p, int32_t v)
{
	param_int(p, v, 4);
}

static void param_i16(struct pg_params *p, int v)
{
	param_int(p, v, 2);
}

static void param_bool(struct pg_params *p, bool v)
{
	param_int(p, v ? 1 : 0, 1);
}

static void param_text(struct pg_params *p, const char *s)
{
	param(p, s, strlen(s));
}

/* The binary form of a one-dimensional bigint[] of n values into buf
 * (12 + 8 + 12 * n bytes); returns its length. */
#define ARRAY_BYTES(n) (20 + 12 * (size_t)(n))

static size_t encode_i64_array(uint8_t *buf, const int64_t *v, size_t n)
{
	uint8_t *p = buf;

	put_be(p, n ? 1 : 0, 4); /* dimensions; an empty array has none */
	put_be(p + 4, 0, 4);	 /* no NULLs */
	put_be(p + 8, INT8OID, 4);
	p += 12;
	if (n == 0)
		return 12;
	put_be(p, n, 4);
	put_be(p + 4, 1, 4); /* lower bound */
	p += 8;
	for (size_t i = 0; i < n; i++, p += 12) {
		put_be(p, 8, 4);
		put_be(p + 4, (uint64_t)v[i], 8);
	}
	return (size_t)(p - buf);
}

/* --- results ---------------------------------------------------------------------- */

struct row {
	const PGresult *res;
	int row;
	bool bad;
};

static const uint8_t *col(struct row *r, int c, size_t len)
{
	if (PQgetisnull(r->res, r->row, c) || (size_t)PQgetlength(r->res, r->row, c) != len) {
		r->bad = true;
		return NULL;
	}
	return (const uint8_t *)PQgetvalue(r->res, r->row, c);
}

static int64_t col_i64(struct row *r, int c)
{
	const uint8_t *b = col(r, c, 8);

	return b ? (int64_t)get_be(b, 8) : 0;
}

static int col_i16(struct row *r, int c)
{
	const uint8_t *b = col(r, c, 2);

	return b ? (int16_t)get_be(b, 2) : 0;
}

/* A smallint column that must fit a uint8_t. */
static uint8_t col_u8(struct row *r, int c)
{
	int v = col_i16(r, c);

	if (v < 0 || v > 255)
		r->bad = true;
	return (uint8_t)v;
}

static bool col_bool(struct row *r, int c)
{
	const uint8_t *b = col(r, c, 1);

	return b && b[0] != 0;
}

static void col_bytes(struct row *r, int c, void *dst, size_t len)
{
	const uint8_t *b = col(r, c, len);

	if (b)
		memcpy(dst, b, len);
}

/* A bytea of at most cap bytes; returns its length. */
static size_t col_var(struct row *r, int c, void *dst, size_t cap)
{
	size_t len;

	if (PQgetisnull(r->res, r->row, c)) {
		r->bad = true;
		return 0;
	}
	len = (size_t)PQgetlength(r->res, r->row, c);
	if (len > cap) {
		r->bad = true;
		return 0;
	}
	memcpy(dst, PQgetvalue(r->res, r->row, c), len);
	return len;
}

/* A text column into dst (size bytes with the NUL), refusing what does not
 * fit or holds a NUL. */
static void col_str(struct row *r, int c, char *dst, size_t size)
{
	size_t len = col_var(r, c, dst, size - 1);

	dst[len] = '\0';
	if (memchr(dst, '\0', len) != NULL)
		r->bad = true;
}

/* A one-dimensional bigint[] of at most cap values without NULLs; returns
 * how many. */
static size_t col_i64_array(struct row *r, int c, int64_t *out, size_t cap)
{
	const uint8_t *b = (const uint8_t *)PQgetvalue(r->res, r->row, c);
	size_t len = (size_t)PQgetlength(r->res, r->row, c);
	size_t n;

	if (PQgetisnull(r->res, r->row, c) || len < 12 || get_be(b + 4, 4) != 0 ||
	    get_be(b + 8, 4) != INT8OID)
		goto bad;
	if (get_be(b, 4) == 0 && len == 12)
		return 0;
	if (get_be(b, 4) != 1 || len < 20)
		goto bad;
	n = (size_t)get_be(b + 12, 4);
	if (n > cap || len != ARRAY_BYTES(n))
		goto bad;
	b += 20;
	for (size_t i = 0; i < n; i++, b += 12) {
		if (get_be(b, 4) != 8)
			goto bad;
		out[i] = (int64_t)get_be(b + 4, 8);
	}
	return n;
bad:
	r->bad = true;
	return 0;
}

/*
 * Runs a statement expected to return at most one row. Returns 0 with *res
 * holding the row, STORE_E_NOTFOUND (no row) or the failure.
 */
static int get_one(struct store_txn *t, enum pg_stmt st, const struct pg_params *p, PGresult **res)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	PGresult *r = pg_exec(pt, st, p);

	*res = NULL;
	if (r == NULL)
		return pt->err;
	if (PQntuples(r) == 0) {
		pg_clear(r);
		return STORE_E_NOTFOUND;
	}
	if (PQntuples(r) != 1) {
		pg_clear(r);
		return STORE_E_CORRUPT;
	}
	*res = r;
	return 0;
}

/* Queues a write (its rows do not matter): 0 or the failure so far. Its
 * first parameter names the account it writes (an id, or a throttle key
 * of kind byte and id). */
static int run(struct store_txn *t, enum pg_stmt st, const struct pg_params *p)
{
	struct pg_txn *pt = (struct pg_txn *)t;

	if (p->n > 0 && p->lengths[0] == AUTHD_ID_LEN)
		pg_mark_dirty(pt, (const uint8_t *)p->values[0]);
	else if (p->n > 0 && p->lengths[0] == THROTTLE_KEY_LEN)
		pg_mark_dirty(pt, (const uint8_t *)p->values[0] + 1);
	return pg_send(pt, st, p);
}

static int corrupt(const char *what)
{
	log_err("corrupt %s row", what);
	return STORE_E_CORRUPT;
}

static bool is_null(struct row *r, int c)
{
	return PQgetisnull(r->res, r->row, c) != 0;
}

/* --- decoders: a record from columns c, c + 1, ... of a row ------------------------ *
 * Each returns 0 with *out filled, STORE_E_NOTFOUND when the record's
 * first column is NULL (a LEFT JOIN that found nothing), or
 * STORE_E_CORRUPT (logged) with *out untouched. */

static int decode_account(struct row *r, int c, const uint8_t id[AUTHD_ID_LEN], struct account *out)
{
	struct account tmp;
	int rc = 0;

	if (is_null(r, c))
		return STORE_E_NOTFOUND;
	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.id, id, AUTHD_ID_LEN);
	col_bytes(r, c, tmp.org_id, AUTHD_ID_LEN);
	col_str(r, c + 1, tmp.email, sizeof(tmp.email));
	col_str(r, c + 2, tmp.name, sizeof(tmp.name));
	col_str(r, c + 3, tmp.pw_hash, sizeof(tmp.pw_hash));
	tmp.created_at = col_i64(r, c + 4);
	tmp.password_changed_at = col_i64(r, c + 5);
	tmp.locked_at = col_i64(r, c + 6);
	if (r->bad)
		rc = corrupt("account");
	else
		memcpy(out, &tmp, sizeof(tmp));
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
}

static int decode_session(struct row *r, int c, const struct token_ref *ref, struct session *out)
{
	struct session tmp;

	if (is_null(r, c))
		return STORE_E_NOTFOUND;
	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.account_id, ref->account_id, AUTHD_ID_LEN);
	col_bytes(r, c, tmp.org_id, AUTHD_ID_LEN);
	tmp.aal = col_u8(r, c + 1);
	tmp.created_at = col_i64(r, c + 2);
	tmp.last_seen = col_i64(r, c + 3);
	tmp.expires_at = col_i64(r, c + 4);
	tmp.second_factor_at = col_i64(r, c + 5);
	col_str(r, c + 6, tmp.ip, sizeof(tmp.ip));
	col_str(r, c + 7, tmp.browser, sizeof(tmp.browser));
	tmp.flags = col_u8(r, c + 8);
	if (r->bad)
		return corrupt("session");
	memcpy(out, &tmp, sizeof(tmp));
	return 0;
}

static int decode_login(struct row *r, int c, const struct token_ref *ref, struct login *out)
{
	struct login tmp;

	if (is_null(r, c))
		return STORE_E_NOTFOUND;
	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.account_id, ref->account_id, AUTHD_ID_LEN);
	tmp.created_at = col_i64(r, c);
	tmp.expires_at = col_i64(r, c + 1);
	tmp.attempts = col_u8(r, c + 2);
	if (r->bad)
		return corrupt("pending login");
	memcpy(out, &tmp, sizeof(tmp));
	return 0;
}

static int decode_totp(struct row *r, int c, struct totp_rec *out)
{
	struct totp_rec tmp;
	int rc = 0;

	if (is_null(r, c))
		return STORE_E_NOTFOUND;
	memset(&tmp, 0, sizeof(tmp));
	tmp.enabled = col_bool(r, c);
	tmp.alg = col_u8(r, c + 1);
	tmp.digits = col_u8(r, c + 2);
	tmp.period = col_u8(r, c + 3);
	tmp.last_step = col_i64(r, c + 4);
	tmp.enabled_at = col_i64(r, c + 5);
	tmp.seed_len = (uint8_t)col_var(r, c + 6, tmp.seed, sizeof(tmp.seed));
	col_bytes(r, c + 7, tmp.pending_id, AUTHD_ID_LEN);
	tmp.pending_expires_at = col_i64(r, c + 8);
	tmp.pending_seed_len =
	    (uint8_t)col_var(r, c + 9, tmp.pending_seed, sizeof(tmp.pending_seed));
	if (r->bad)
		rc = corrupt("totp");
	else
		memcpy(out, &tmp, sizeof(tmp));
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
}

/* The aggregated form (BACKUP_AGG_COLS): every code, in order. */
static int decode_backup(struct row *r, int c, struct backup_rec *out)
{
	struct backup_rec tmp;
	int64_t idx[OTP_BACKUP_COUNT + 1];
	int rc = 0;

	if (is_null(r, c))
		return STORE_E_NOTFOUND;
	memset(&tmp, 0, sizeof(tmp));
	if (col_i64_array(r, c, idx, OTP_BACKUP_COUNT + 1) != OTP_BACKUP_COUNT ||
	    col_i64_array(r, c + 3, tmp.used_at, OTP_BACKUP_COUNT) != OTP_BACKUP_COUNT)
		r->bad = true;
	for (int i = 0; i < OTP_BACKUP_COUNT && !r->bad; i++)
		if (idx[i] != i)
			r->bad = true;
	col_bytes(r, c + 1, tmp.salt, sizeof(tmp.salt));
	col_bytes(r, c + 2, tmp.hash, sizeof(tmp.hash));
	tmp.created_at = col_i64(r, c + 4);
	if (col_i64(r, c + 5) != tmp.created_at)
		r->bad = true;
	if (r->bad)
		rc = corrupt("backup codes");
	else
		memcpy(out, &tmp, sizeof(tmp));
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return rc;
}

/* A throttle history; NULL columns (no row) read as a zeroed history. */
static int decode_throttle(struct row *r, int c, struct throttle_rec *out)
{
	struct throttle_rec tmp;
	int64_t consecutive;
	size_t n;

	memset(&tmp, 0, sizeof(tmp));
	if (is_null(r, c)) {
		memcpy(out, &tmp, sizeof(tmp));
		return 0;
	}
	consecutive = col_i64(r, c);
	tmp.last_failure = col_i64(r, c + 1);
	tmp.count = col_u8(r, c + 2);
	tmp.pos = col_u8(r, c + 3);
	/* The ring's first `count` slots; the rest were never written. */
	n = col_i64_array(r, c + 4, tmp.ring, THROTTLE_RING);
	if (consecutive < 0 || consecutive > UINT32_MAX || tmp.count > THROTTLE_RING ||
	    tmp.pos >= THROTTLE_RING || n != tmp.count)
		r->bad = true;
	tmp.consecutive = (uint32_t)consecutive;
	if (r->bad)
		return corrupt("throttle");
	memcpy(out, &tmp, sizeof(tmp));
	return 0;
}

/* --- the account cluster ------------------------------------------------------------- */

static struct pg_cluster *cluster_of(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_cluster *c = &((struct pg_txn *)t)->cluster;

	return c->loaded && memcmp(c->id, id, AUTHD_ID_LEN) == 0 ? c : NULL;
}

/* Keeps what row r holds of id's cluster from column col on (and the
 * throttle histories after it, with_throttles). A part that does not
 * decode is kept as STORE_E_CORRUPT for its getter to report. */
static void cluster_keep(struct pg_txn *t, struct row *r, int col, const uint8_t id[AUTHD_ID_LEN],
			 bool with_backup, bool with_throttles)
{
	struct pg_cluster *c = &t->cluster;
	struct row part;

	if (c->loaded)
		OPENSSL_cleanse(c, sizeof(*c));
	memset(c, 0, offsetof(struct pg_cluster, account));
	memcpy(c->id, id, AUTHD_ID_LEN);
	part = (struct row){r->res, r->row, false};
	c->account_rc = decode_account(&part, col, id, &c->account);
	part.bad = false;
	c->totp_rc = decode_totp(&part, col + ACCOUNT_NCOLS, &c->totp);
	c->has_account = c->has_totp = true;
	/* Fetched only when TOTP is on: otherwise unknown, not absent. */
	if (with_backup && c->totp_rc == 0 && c->totp.enabled) {
		part.bad = false;
		c->backup_rc = decode_backup(&part, col + CLUSTER_NCOLS, &c->backup);
		c->has_backup = true;
	}
	if (with_throttles) {
		part.bad = false;
		c->tf_rc = decode_throttle(&part, col + CLUSTER_NCOLS, &c->tf);
		part.bad = false;
		c->ta_rc = decode_throttle(&part, col + CLUSTER_NCOLS + THROTTLE_NCOLS, &c->ta);
		c->has_tf = c->has_ta = true;
	}
	c->loaded = true;
}

/* Whether key is one of the cluster's throttle histories: which, or NULL. */
static struct throttle_rec *
cluster_throttle(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN], bool **has, int **rc)
{
	struct pg_cluster *c = &((struct pg_txn *)t)->cluster;
	uint8_t k[THROTTLE_KEY_LEN];

	if (!c->loaded)
		return NULL;
	throttle_key_factor(k, c->id);
	if (memcmp(k, key, THROTTLE_KEY_LEN) == 0) {
		*has = &c->has_tf;
		*rc = &c->tf_rc;
		return &c->tf;
	}
	throttle_key_account(k, c->id);
	if (memcmp(k, key, THROTTLE_KEY_LEN) == 0) {
		*has = &c->has_ta;
		*rc = &c->ta_rc;
		return &c->ta;
	}
	return NULL;
}

/* --- accounts and organizations ---------------------------------------------------- */

int pg_account_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct account *out)
{
	struct pg_cluster *c = cluster_of(t, id);
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	if (c && c->has_account) {
		if (c->account_rc == 0)
			memcpy(out, &c->account, sizeof(*out));
		return c->account_rc;
	}
	param(&p, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_ACCOUNT_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_account(&r, 0, id, out);
	pg_clear(res);
	return rc;
}

int pg_account_put(struct store_txn *t, const struct account *a)
{
	struct pg_cluster *c = cluster_of(t, a->id);
	struct pg_params p = {0};

	if (c)
		c->has_account = false;

	param(&p, a->id, AUTHD_ID_LEN);
	param(&p, a->org_id, AUTHD_ID_LEN);
	param_text(&p, a->email);
	param_text(&p, a->name);
	param_text(&p, a->pw_hash);
	param_i64(&p, a->created_at);
	param_i64(&p, a->password_changed_at);
	param_i64(&p, a->locked_at);
	return run(t, ST_ACCOUNT_PUT, &p);
}

int pg_account_by_email(struct store_txn *t, const char *email, uint8_t id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	uint8_t tmp[AUTHD_ID_LEN] = {0};
	struct row r;
	int rc;

	param_text(&p, email);
	if ((rc = get_one(t, ST_ACCOUNT_BY_EMAIL, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	col_bytes(&r, 0, tmp, AUTHD_ID_LEN);
	if (r.bad)
		rc = corrupt("account id");
	else
		memcpy(id, tmp, AUTHD_ID_LEN);
	pg_clear(res);
	return rc;
}

int pg_org_put(struct store_txn *t, const struct org *o)
{
	struct pg_params p = {0};

	param(&p, o->id, AUTHD_ID_LEN);
	param_text(&p, o->name);
	param_i64(&p, o->created_at);
	return run(t, ST_ORG_PUT, &p);
}

int pg_member_put(struct store_txn *t, const struct member *m)
{
	struct pg_params p = {0};

	param(&p, m->org_id, AUTHD_ID_LEN);
	param(&p, m->account_id, AUTHD_ID_LEN);
	param_text(&p, core_role_name(m->role));
	param_i64(&p, m->rights);
	param_i64(&p, m->contacts);
	param_i64(&p, m->since);
	return run(t, ST_MEMBER_PUT, &p);
}

/* --- sessions and pending logins ----------------------------------------------------- */

static void param_ref(struct pg_params *p, const struct token_ref *ref)
{
	param(p, ref->account_id, AUTHD_ID_LEN);
	param(p, ref->hash, AUTHD_HASH_LEN);
}

/* A session or pending login (its columns first) with its cluster. */
static enum pg_stmt cluster_stmt(enum store_first kind, const struct token_ref *ref,
				 struct pg_params *p, uint8_t keys[2][THROTTLE_KEY_LEN])
{
	param_ref(p, ref);
	if (kind != STORE_FIRST_LOGIN)
		return ST_SESSION_CLUSTER;
	throttle_key_factor(keys[0], ref->account_id);
	throttle_key_account(keys[1], ref->account_id);
	param(p, keys[0], THROTTLE_KEY_LEN);
	param(p, keys[1], THROTTLE_KEY_LEN);
	return ST_LOGIN_CLUSTER;
}

enum pg_stmt pg_first_stmt(const struct job *job, struct pg_params *p,
			   uint8_t keys[2][THROTTLE_KEY_LEN])
{
	if (job->first != STORE_FIRST_SESSION_ACCESS)
		return cluster_stmt(job->first, &job->first_ref, p, keys);
	param_ref(p, &job->first_ref);
	param(p, job->first_org, AUTHD_ID_LEN);
	param(p, job->first_product, AUTHD_ID_LEN);
	return ST_SESSION_ACCESS;
}

/* The prefetched result for this read, if there is one (taken). */
static PGresult *take_prefetched(struct store_txn *t, enum store_first kind,
				 const struct token_ref *ref)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	PGresult *res = pt->prefetched;
	const struct job *job = pt->prefetched_for;
	enum store_first got = job ? job->first : STORE_FIRST_UNSAID;

	if (got == STORE_FIRST_SESSION_ACCESS)
		got = STORE_FIRST_SESSION; /* and its access facts after it */
	/* Outside a write transaction the row was fetched in a snapshot of its
	 * own: only the job's first statement may use it. */
	if (res == NULL || pt->err != 0 || got != kind ||
	    memcmp(&job->first_ref, ref, sizeof(*ref)) != 0 ||
	    ((pt->mode == PG_READ_ONE || pt->mode == PG_READ) && pt->statements > 0))
		return NULL;
	pt->prefetched = NULL;
	if (pg_is_dirty(pt, ref->account_id)) {
		/* Fetched before this transaction wrote that account. */
		pg_clear(res);
		return NULL;
	}
	pt->statements++; /* it counts as the job's statement */
	return res;
}

/* *res: the row read (a row per access fact when *facts says so; facts
 * may be NULL for a pending login's). */
static int cluster_get(struct store_txn *t, enum pg_stmt st, const struct token_ref *ref,
		       PGresult **res, bool *facts)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	enum store_first kind = st == ST_LOGIN_CLUSTER ? STORE_FIRST_LOGIN : STORE_FIRST_SESSION;
	struct pg_params p = {0};
	uint8_t keys[2][THROTTLE_KEY_LEN];
	bool with_facts = false;
	struct row r;
	int rc;

	*res = take_prefetched(t, kind, ref);
	if (*res && pt->prefetched_for->first == STORE_FIRST_SESSION_ACCESS) {
		/* A row per access fact, each with the session (none without). */
		if (PQntuples(*res) == 0) {
			pg_clear(*res);
			*res = NULL;
			return STORE_E_NOTFOUND;
		}
		with_facts = true;
	} else if (*res && PQntuples(*res) == 0 && st == ST_SESSION_CLUSTER) {
		pg_clear(*res);
		*res = NULL;
		return STORE_E_NOTFOUND;
	} else if (*res && PQntuples(*res) != 1) {
		pg_clear(*res);
		*res = NULL;
		return STORE_E_IO;
	}
	if (*res == NULL) {
		cluster_stmt(kind, ref, &p, keys);
		/* A pending login's cluster always has its row. */
		if ((rc = get_one(t, st, &p, res)) != 0)
			return rc == STORE_E_NOTFOUND && st == ST_LOGIN_CLUSTER ? STORE_E_IO : rc;
	}
	r = (struct row){*res, 0, false};
	if (st == ST_LOGIN_CLUSTER)
		cluster_keep(pt, &r, 3, ref->account_id, false, true);
	else if (!with_facts)
		cluster_keep(pt, &r, SESSION_NCOLS, ref->account_id, true, false);
	if (facts)
		*facts = with_facts;
	return 0;
}

int pg_session_get(struct store_txn *t, const struct token_ref *ref, struct session *out)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	PGresult *res = NULL;
	bool facts = false;
	struct row r;
	int rc = cluster_get(t, ST_SESSION_CLUSTER, ref, &res, &facts);

	if (rc != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_session(&r, 0, ref, out);
	if (rc == 0 && facts) {
		/* For the store_access_facts that follows (pg_txn_give clears
		 * it). */
		pg_clear(pt->facts);
		pt->facts = res;
		return 0;
	}
	pg_clear(res);
	return rc;
}

int pg_sessions_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct token_ref *ref, const struct session *s),
		     void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, account_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_SESSIONS_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct token_ref ref;
		struct session s;

		memcpy(ref.account_id, account_id, AUTHD_ID_LEN);
		col_bytes(&r, SESSION_NCOLS, ref.hash, AUTHD_HASH_LEN);
		if ((rc = decode_session(&r, 0, &ref, &s)) == 0)
			rc = r.bad ? corrupt("session") : fn(arg, &ref, &s);
	}
	pg_clear(res);
	return rc;
}

int pg_session_put(struct store_txn *t, const struct token_ref *ref, const struct session *s)
{
	struct pg_params p = {0};

	if (memcmp(s->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		AUTHD_BUG("session filed under another account");
	param_ref(&p, ref);
	param(&p, s->org_id, AUTHD_ID_LEN);
	param_i16(&p, s->aal);
	param_i64(&p, s->created_at);
	param_i64(&p, s->last_seen);
	param_i64(&p, s->expires_at);
	param_i64(&p, s->second_factor_at);
	param_text(&p, s->ip);
	param_text(&p, s->browser);
	param_i16(&p, s->flags);
	return run(t, ST_SESSION_PUT, &p);
}

int pg_session_del(struct store_txn *t, const struct token_ref *ref)
{
	struct pg_params p = {0};

	param_ref(&p, ref);
	return run(t, ST_SESSION_DEL, &p);
}

int pg_session_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       const struct token_ref *keep)
{
	struct pg_params p = {0};

	param(&p, account_id, AUTHD_ID_LEN);
	if (keep == NULL)
		return run(t, ST_SESSION_DEL_ALL, &p);
	param(&p, keep->hash, AUTHD_HASH_LEN);
	return run(t, ST_SESSION_DEL_ALL_BUT, &p);
}

int pg_login_get(struct store_txn *t, const struct token_ref *ref, struct login *out)
{
	PGresult *res = NULL;
	struct row r;
	int rc = cluster_get(t, ST_LOGIN_CLUSTER, ref, &res, NULL);

	if (rc != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_login(&r, 0, ref, out);
	if (rc == 0) {
		((struct pg_txn *)t)->login_read = true;
		((struct pg_txn *)t)->login_ref = *ref;
	}
	pg_clear(res);
	return rc;
}

int pg_login_put(struct store_txn *t, const struct token_ref *ref, const struct login *l)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};

	if (memcmp(l->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		AUTHD_BUG("login filed under another account");
	param_ref(&p, ref);
	param_i64(&p, l->created_at);
	param_i64(&p, l->expires_at);
	param_i16(&p, l->attempts);
	return run(t,
		   pt->login_read && memcmp(&pt->login_ref, ref, sizeof(*ref)) == 0
		       ? ST_LOGIN_UPDATE
		       : ST_LOGIN_PUT,
		   &p);
}

int pg_login_del(struct store_txn *t, const struct token_ref *ref)
{
	struct pg_params p = {0};

	param_ref(&p, ref);
	return run(t, ST_LOGIN_DEL, &p);
}

int pg_login_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_LOGIN_DEL_ALL, &p);
}

/* --- TOTP --------------------------------------------------------------------------- */

int pg_totp_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN], struct totp_rec *out)
{
	struct pg_cluster *c = cluster_of(t, account_id);
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	if (c && c->has_totp) {
		if (c->totp_rc == 0)
			memcpy(out, &c->totp, sizeof(*out));
		return c->totp_rc;
	}
	param(&p, account_id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_TOTP_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_totp(&r, 0, out);
	pg_clear(res);
	return rc;
}

/* A write of one of the account's records: the cluster forgets it. */
static void forget_totp(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_cluster *c = cluster_of(t, id);

	if (c)
		c->has_totp = false;
}

static void forget_backup(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_cluster *c = cluster_of(t, id);

	if (c)
		c->has_backup = false;
}

/* Whether b differs from a only in its last used step. */
static bool only_step_differs(const struct totp_rec *a, const struct totp_rec *b)
{
	return a->enabled == b->enabled && a->alg == b->alg && a->digits == b->digits &&
	       a->period == b->period && a->enabled_at == b->enabled_at &&
	       a->seed_len == b->seed_len && memcmp(a->seed, b->seed, a->seed_len) == 0 &&
	       memcmp(a->pending_id, b->pending_id, AUTHD_ID_LEN) == 0 &&
	       a->pending_expires_at == b->pending_expires_at &&
	       a->pending_seed_len == b->pending_seed_len &&
	       memcmp(a->pending_seed, b->pending_seed, a->pending_seed_len) == 0;
}

int pg_totp_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		const struct totp_rec *rec)
{
	struct pg_cluster *c = cluster_of(t, account_id);
	struct pg_params p = {0};

	if (rec->seed_len > SEALED_SEED_MAX || rec->pending_seed_len > SEALED_SEED_MAX)
		AUTHD_BUG("totp seed length");
	/* A TOTP step: the row this transaction read, with a new step. */
	if (c && c->has_totp && c->totp_rc == 0 && only_step_differs(&c->totp, rec)) {
		c->totp.last_step = rec->last_step;
		param(&p, account_id, AUTHD_ID_LEN);
		param_i64(&p, rec->last_step);
		return run(t, ST_TOTP_STEP, &p);
	}
	forget_totp(t, account_id);
	param(&p, account_id, AUTHD_ID_LEN);
	param_bool(&p, rec->enabled);
	param_i16(&p, rec->alg);
	param_i16(&p, rec->digits);
	param_i16(&p, rec->period);
	param_i64(&p, rec->last_step);
	param_i64(&p, rec->enabled_at);
	param(&p, rec->seed, rec->seed_len);
	param(&p, rec->pending_id, AUTHD_ID_LEN);
	param_i64(&p, rec->pending_expires_at);
	param(&p, rec->pending_seed, rec->pending_seed_len);
	return run(t, ST_TOTP_PUT, &p);
}

int pg_totp_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	forget_totp(t, account_id);
	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_TOTP_DEL, &p);
}

/* --- recovery options ----------------------------------------------------------------- */

int pg_recovery_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    struct recovery_rec *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct recovery_rec r;
	struct row w;
	size_t n;
	int pending, fails, pos;
	int rc;

	memset(&r, 0, sizeof(r));
	param(&p, account_id, AUTHD_ID_LEN);
	rc = get_one(t, ST_RECOVERY_GET, &p, &res);
	if (rc == STORE_E_NOTFOUND) {
		*out = r;
		return 0;
	}
	if (rc != 0)
		return rc;
	w = (struct row){res, 0, false};
	col_str(&w, 0, r.email, sizeof(r.email));
	r.email_verified = col_bool(&w, 1);
	col_str(&w, 2, r.phone, sizeof(r.phone));
	r.phone_verified = col_bool(&w, 3);
	pending = col_i16(&w, 4);
	col_str(&w, 5, r.pending_to, sizeof(r.pending_to));
	col_bytes(&w, 6, r.pending_hash, RECOVERY_HASH_LEN);
	r.pending_expires = col_i64(&w, 7);
	col_bytes(&w, 8, r.reset_code, RECOVERY_HASH_LEN);
	r.reset_code_expires = col_i64(&w, 9);
	col_bytes(&w, 10, r.reset_link, RECOVERY_HASH_LEN);
	r.reset_link_expires = col_i64(&w, 11);
	col_bytes(&w, 12, r.grant, RECOVERY_HASH_LEN);
	r.grant_expires = col_i64(&w, 13);
	r.grant_fails = col_u8(&w, 14);
	fails = col_i16(&w, 15);
	r.last_fail = col_i64(&w, 16);
	r.option_fails = col_u8(&w, 17);
	r.option_last_fail = col_i64(&w, 18);
	n = col_i64_array(&w, 19, r.sends, RECOVERY_SENDS_MAX);
	pos = col_i16(&w, 20);
	r.sms_factor_at = col_i64(&w, 21);
	col_bytes(&w, 22, r.sms_login, AUTHD_HASH_LEN);
	col_bytes(&w, 23, r.sms_code, RECOVERY_HASH_LEN);
	r.sms_code_expires = col_i64(&w, 24);
	r.sms_sends = col_u8(&w, 25);
	col_bytes(&w, 26, r.close_hash, RECOVERY_HASH_LEN);
	r.close_expires = col_i64(&w, 27);
	r.reset_proofed = col_bool(&w, 28);
	pg_clear(res);
	if (w.bad || pending < 0 || pending > 3 || fails < 0 || fails > 255 || pos < 0 ||
	    pos >= RECOVERY_SENDS_MAX) {
		OPENSSL_cleanse(&r, sizeof(r));
		return corrupt("recovery");
	}
	r.pending = (uint8_t)pending;
	r.fails = (uint8_t)fails;
	r.n_sends = (uint8_t)n;
	r.sends_pos = (uint8_t)pos;
	*out = r;
	OPENSSL_cleanse(&r, sizeof(r));
	return 0;
}

int pg_recovery_by_phone(struct store_txn *t, const char *phone, size_t limit,
			 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param_text(&p, phone);
	param_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, ST_RECOVERY_BY_PHONE, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		uint8_t id[AUTHD_ID_LEN];

		col_bytes(&r, 0, id, AUTHD_ID_LEN);
		rc = r.bad ? corrupt("recovery") : fn(arg, id);
	}
	pg_clear(res);
	return rc;
}

int pg_recovery_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    const struct recovery_rec *r)
{
	struct pg_params p = {0};
	uint8_t sends[ARRAY_BYTES(RECOVERY_SENDS_MAX)];
	size_t n = r->n_sends > RECOVERY_SENDS_MAX ? RECOVERY_SENDS_MAX : r->n_sends;

	param(&p, account_id, AUTHD_ID_LEN);
	if (recovery_is_empty(r))
		return run(t, ST_RECOVERY_DEL, &p);
	param_text(&p, r->email);
	param_bool(&p, r->email_verified);
	param_text(&p, r->phone);
	param_bool(&p, r->phone_verified);
	param_i16(&p, r->pending);
	param_text(&p, r->pending_to);
	param(&p, r->pending_hash, RECOVERY_HASH_LEN);
	param_i64(&p, r->pending_expires);
	param(&p, r->reset_code, RECOVERY_HASH_LEN);
	param_i64(&p, r->reset_code_expires);
	param(&p, r->reset_link, RECOVERY_HASH_LEN);
	param_i64(&p, r->reset_link_expires);
	param(&p, r->grant, RECOVERY_HASH_LEN);
	param_i64(&p, r->grant_expires);
	param_i16(&p, r->grant_fails);
	param_i16(&p, r->fails);
	param_i64(&p, r->last_fail);
	param_i16(&p, r->option_fails);
	param_i64(&p, r->option_last_fail);
	param(&p, sends, encode_i64_array(sends, r->sends, n));
	param_i16(&p, r->sends_pos);
	param_i64(&p, r->sms_factor_at);
	param(&p, r->sms_login, AUTHD_HASH_LEN);
	param(&p, r->sms_code, RECOVERY_HASH_LEN);
	param_i64(&p, r->sms_code_expires);
	param_i16(&p, r->sms_sends);
	param(&p, r->close_hash, RECOVERY_HASH_LEN);
	param_i64(&p, r->close_expires);
	param_bool(&p, r->reset_proofed);
	return run(t, ST_RECOVERY_PUT, &p);
}

/* --- where an account signs in from ------------------------------------------------ */

int pg_places_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  struct places_rec *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct places_rec pl;
	int64_t nets[PLACES_MAX];
	struct row r;
	size_t n, m;
	int rc;

	memset(&pl, 0, sizeof(pl));
	param(&p, account_id, AUTHD_ID_LEN);
	rc = get_one(t, ST_PLACES_GET, &p, &res);
	if (rc == STORE_E_NOTFOUND) {
		*out = pl;
		return 0;
	}
	if (rc != 0)
		return rc;
	r = (struct row){res, 0, false};
	n = col_i64_array(&r, 0, nets, PLACES_MAX);
	m = col_i64_array(&r, 1, pl.seen, PLACES_MAX);
	pg_clear(res);
	if (r.bad || n != m)
		return corrupt("known places");
	for (size_t i = 0; i < n; i++)
		pl.net[i] = (uint64_t)nets[i];
	pl.n = (uint8_t)n;
	*out = pl;
	return 0;
}

int pg_places_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct places_rec *pl)
{
	struct pg_params p = {0};
	uint8_t nets_buf[ARRAY_BYTES(PLACES_MAX)], seen_buf[ARRAY_BYTES(PLACES_MAX)];
	int64_t nets[PLACES_MAX];
	size_t n = pl->n > PLACES_MAX ? PLACES_MAX : pl->n;

	for (size_t i = 0; i < n; i++)
		nets[i] = (int64_t)pl->net[i];
	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, nets_buf, encode_i64_array(nets_buf, nets, n));
	param(&p, seen_buf, encode_i64_array(seen_buf, pl->seen, n));
	return run(t, ST_PLACES_PUT, &p);
}

/* --- the outbox ---------------------------------------------------------------------- */

_Static_assert(OUTBOX_KEEP_S == 604800, "the sweep statement keeps done messages a week");
_Static_assert(EVENT_KEEP_S == 7776000, "the sweep statement keeps events 90 days");
_Static_assert(THROTTLE_RECOVERY_KEEP_S == 86400, "the sweep keeps recovery code failures a day");

static void param_outbox(struct pg_params *p, const struct outbox_msg *m)
{
	param_i16(p, m->channel);
	param_i16(p, m->state);
	param_i32(p, m->attempts);
	param_i64(p, m->created_at);
	param_i64(p, m->next_at);
	param_i64(p, m->done_at);
	param(p, m->sealed, m->sealed_len);
}

/* Decodes a row of OUTBOX_COLS into m. */
static int outbox_row(const PGresult *res, int i, struct outbox_msg *m)
{
	struct row r = {res, i, false};
	int64_t attempts;
	const uint8_t *b;

	col_bytes(&r, 0, m->id, AUTHD_ID_LEN);
	col_bytes(&r, 1, m->account_id, AUTHD_ID_LEN);
	m->channel = col_u8(&r, 2);
	m->state = col_u8(&r, 3);
	b = col(&r, 4, 4);
	attempts = b ? (int32_t)get_be(b, 4) : -1;
	m->created_at = col_i64(&r, 5);
	m->next_at = col_i64(&r, 6);
	m->done_at = col_i64(&r, 7);
	m->sealed_len = (uint16_t)col_var(&r, 8, m->sealed, sizeof(m->sealed));
	if (r.bad || attempts < 0 || attempts > UINT16_MAX || m->state < OUTBOX_PENDING ||
	    m->state > OUTBOX_FAILED || (m->channel != OUTBOX_EMAIL && m->channel != OUTBOX_SMS))
		return corrupt("outbox");
	m->attempts = (uint16_t)attempts;
	return 0;
}

int pg_outbox_add(struct store_txn *t, const struct outbox_msg *m)
{
	struct pg_params p = {0};

	param(&p, m->id, AUTHD_ID_LEN);
	param(&p, m->account_id, AUTHD_ID_LEN);
	param_outbox(&p, m);
	/* Not run(): a message changes no record of its account. */
	return pg_send((struct pg_txn *)t, ST_OUTBOX_ADD, &p);
}

int pg_outbox_claim(struct store_txn *t, int64_t now, int64_t until, size_t limit,
		    int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	struct outbox_msg *m;
	PGresult *res;
	int rc = 0;

	param_i64(&p, now);
	param_i64(&p, until);
	param_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, ST_OUTBOX_CLAIM, &p)) == NULL)
		return pt->err;
	if ((m = malloc(sizeof(*m))) == NULL)
		rc = STORE_E_IO;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		if ((rc = outbox_row(res, i, m)) == 0)
			fn(arg, m);
	}
	if (m)
		OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	pg_clear(res);
	return rc;
}

int pg_outbox_settle(struct store_txn *t, const struct outbox_msg *m, int64_t claimed_until)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	int rc;

	param(&p, m->id, AUTHD_ID_LEN);
	param_i64(&p, claimed_until);
	param_i16(&p, m->state);
	param_i32(&p, m->attempts);
	param_i64(&p, m->next_at);
	param_i64(&p, m->done_at);
	param(&p, m->sealed, m->sealed_len);
	rc = get_one(t, ST_OUTBOX_SETTLE, &p, &res);
	pg_clear(res);
	return rc;
}

int pg_outbox_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct outbox_msg *m)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	int rc;

	param(&p, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_OUTBOX_GET, &p, &res)) == 0)
		rc = outbox_row(res, 0, m);
	pg_clear(res);
	return rc;
}

int pg_outbox_pending(struct store_txn *t, uint64_t *n, int64_t *earliest)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int64_t v, at;
	int rc;

	if ((rc = get_one(t, ST_OUTBOX_PENDING, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	v = col_i64(&r, 0);
	at = col_i64(&r, 1);
	pg_clear(res);
	if (r.bad || v < 0)
		return corrupt("outbox count");
	*n = (uint64_t)v;
	*earliest = at;
	return 0;
}

/* --- security events ---------------------------------------------------------------- */

int pg_event_add(struct store_txn *t, const struct security_event *e)
{
	struct pg_params p = {0};

	param(&p, e->account_id, AUTHD_ID_LEN);
	param_i64(&p, e->at);
	param_text(&p, core_event_name((enum security_event_kind)e->kind));
	param_text(&p, e->ip);
	param_text(&p, core_event_method_name((enum event_method)e->method));
	param_text(&p, core_event_outcome_name((enum event_outcome)e->outcome));
	param_text(&p, e->browser);
	return run(t, ST_EVENT_ADD, &p);
}

int pg_events_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const struct event_cursor *before, size_t limit,
		   int (*fn)(void *arg, const struct security_event *e), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	if (before && before->seq > INT64_MAX)
		return 0; /* no event is before a cursor no listing gave */
	param(&p, account_id, AUTHD_ID_LEN);
	param_i64(&p, before ? before->at : INT64_MAX);
	param_i64(&p, before ? (int64_t)before->seq : INT64_MAX);
	param_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, ST_EVENTS_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct security_event e;
		char kind[64];

		memset(&e, 0, sizeof(e));
		memcpy(e.account_id, account_id, AUTHD_ID_LEN);
		e.at = col_i64(&r, 0);
		col_str(&r, 1, kind, sizeof(kind));
		col_str(&r, 2, e.ip, sizeof(e.ip));
		e.kind = (uint16_t)core_event_parse(kind);
		col_str(&r, 3, kind, sizeof(kind));
		e.method = (uint8_t)core_event_method_parse(kind);
		if (kind[0] && e.method == EVENT_M_NONE)
			r.bad = true;
		col_str(&r, 4, kind, sizeof(kind));
		e.outcome = (uint8_t)core_event_outcome_parse(kind);
		if (kind[0] && e.outcome == EVENT_O_NONE)
			r.bad = true;
		col_str(&r, 5, e.browser, sizeof(e.browser));
		e.seq = (uint64_t)col_i64(&r, 6);
		if (e.kind == 0)
			r.bad = true;
		rc = r.bad ? corrupt("security event") : fn(arg, &e);
	}
	pg_clear(res);
	return rc;
}

/* --- backup codes ------------------------------------------------------------------- */

int pg_backup_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  struct backup_rec *out)
{
	struct pg_cluster *c = cluster_of(t, account_id);
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	if (c && c->has_backup) {
		if (c->backup_rc == 0)
			memcpy(out, &c->backup, sizeof(*out));
		return c->backup_rc;
	}
	param(&p, account_id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_BACKUP_GET, &p, &res)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_IO : rc; /* an aggregate: one row */
	r = (struct row){res, 0, false};
	rc = decode_backup(&r, 0, out);
	pg_clear(res);
	return rc;
}

int pg_backup_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const struct backup_rec *b)
{
	struct pg_params p = {0};
	uint8_t used[ARRAY_BYTES(OTP_BACKUP_COUNT)];
	size_t used_len = encode_i64_array(used, b->used_at, OTP_BACKUP_COUNT);

	forget_backup(t, account_id);
	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, b->salt, sizeof(b->salt)); /* the salts, one after the other */
	param(&p, b->hash, sizeof(b->hash));
	param(&p, used, used_len);
	param_i64(&p, b->created_at);
	param_i32(&p, OTP_BACKUP_SALT_LEN);
	param_i32(&p, OTP_BACKUP_HASH_LEN);
	return run(t, ST_BACKUP_PUT, &p);
}

int pg_backup_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	forget_backup(t, account_id);
	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_BACKUP_DEL, &p);
}

/* --- throttles ------------------------------------------------------------------------ */

int pg_throttle_get(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		    struct throttle_rec *out)
{
	bool *has = NULL;
	int *crc = NULL;
	struct throttle_rec *known = cluster_throttle(t, key, &has, &crc);
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	if (known && *has) {
		if (*crc == 0)
			memcpy(out, known, sizeof(*out));
		return *crc;
	}
	param(&p, key, THROTTLE_KEY_LEN);
	rc = get_one(t, ST_THROTTLE_GET, &p, &res);
	if (rc == STORE_E_NOTFOUND) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (rc != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_throttle(&r, 0, out);
	pg_clear(res);
	return rc;
}

int pg_throttle_put(struct store_txn *t, const uint8_t key[THROTTLE_KEY_LEN],
		    const struct throttle_rec *r)
{
	struct pg_params p = {0};
	uint8_t ring[ARRAY_BYTES(THROTTLE_RING)];
	size_t count = r->count > THROTTLE_RING ? THROTTLE_RING : r->count;
	size_t ring_len = encode_i64_array(ring, r->ring, count);
	bool *has = NULL;
	int *crc = NULL;

	if (cluster_throttle(t, key, &has, &crc))
		*has = false;
	param(&p, key, THROTTLE_KEY_LEN);
	param_i64(&p, r->consecutive);
	param_i64(&p, r->last_failure);
	param_i16(&p, r->count);
	param_i16(&p, r->pos);
	param(&p, ring, ring_len);
	return run(t, ST_THROTTLE_PUT, &p);
}

/* --- the sweeper ----------------------------------------------------------------------- */

/*
 * One statement deletes up to `budget` dead records of each kind: deleted
 * rows are gone from the next slice's scan, so no position is needed (the
 * position comes back zeroed). Only one node sweeps at a time: the others
 * find the advisory lock taken and do nothing this round.
 */
int pg_sweep(struct store_txn *t, int64_t now, int64_t idle_s, size_t budget,
	     const struct store_sweep_pos *from, struct store_sweep_pos *to, size_t *deleted)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int64_t n;
	int rc;

	(void)from;
	memset(to, 0, sizeof(*to));
	param_i64(&p, SWEEP_LOCK_KEY);
	if ((rc = get_one(t, ST_SWEEP_LOCK, &p, &res)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_IO : rc;
	r = (struct row){res, 0, false};
	bool locked = col_bool(&r, 0);
	pg_clear(res);
	if (r.bad)
		return corrupt("advisory lock");
	if (!locked)
		return 0; /* another node is sweeping */
	p = (struct pg_params){0};
	param_i64(&p, now);
	param_i64(&p, idle_s);
	param_i64(&p, budget > INT64_MAX ? INT64_MAX : (int64_t)budget);
	if ((rc = get_one(t, ST_SWEEP, &p, &res)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_IO : rc;
	r = (struct row){res, 0, false};
	n = col_i64(&r, 0);
	pg_clear(res);
	if (r.bad || n < 0)
		return corrupt("sweep count");
	*deleted += (size_t)n;
	/* Any account's rows may be gone: nothing fetched ahead is used. */
	((struct pg_txn *)t)->dirty_overflow = true;
	return 0;
}

/* --- device link offers ------------------------------------------------------------- */

int pg_link_get(struct store_txn *t, const struct token_ref *ref, struct push_link *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct push_link l;
	struct row r;
	int rc;

	param(&p, ref->account_id, AUTHD_ID_LEN);
	param(&p, ref->hash, AUTHD_HASH_LEN);
	if ((rc = get_one(t, ST_LINK_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	memset(&l, 0, sizeof(l));
	memcpy(l.account_id, ref->account_id, AUTHD_ID_LEN);
	col_bytes(&r, 0, l.device_id, AUTHD_ID_LEN);
	l.created_at = col_i64(&r, 1);
	l.expires_at = col_i64(&r, 2);
	l.linked_at = col_i64(&r, 3);
	l.seed_len = (uint8_t)col_var(&r, 4, l.seed, SEALED_SEED_MAX);
	pg_clear(res);
	rc = r.bad ? corrupt("device link") : 0;
	if (rc == 0)
		*out = l;
	OPENSSL_cleanse(&l, sizeof(l));
	return rc;
}

int pg_link_put(struct store_txn *t, const struct token_ref *ref, const struct push_link *l)
{
	struct pg_params p = {0};

	if (memcmp(l->account_id, ref->account_id, AUTHD_ID_LEN) != 0)
		AUTHD_BUG("link offer filed under another account");
	param(&p, ref->account_id, AUTHD_ID_LEN);
	param(&p, ref->hash, AUTHD_HASH_LEN);
	param(&p, l->device_id, AUTHD_ID_LEN);
	param_i64(&p, l->created_at);
	param_i64(&p, l->expires_at);
	param_i64(&p, l->linked_at);
	param(&p, l->seed, l->seed_len);
	return run(t, ST_LINK_PUT, &p);
}

int pg_link_del(struct store_txn *t, const struct token_ref *ref)
{
	struct pg_params p = {0};

	param(&p, ref->account_id, AUTHD_ID_LEN);
	param(&p, ref->hash, AUTHD_HASH_LEN);
	return run(t, ST_LINK_DEL, &p);
}

int pg_link_del_all(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_LINK_DEL_ALL, &p);
}

/* --- devices ---------------------------------------------------------------------- */

static int decode_device(struct row *r, struct push_device *out)
{
	struct push_device d;
	int rc = 0;

	memset(&d, 0, sizeof(d));
	col_bytes(r, 0, d.id, AUTHD_ID_LEN);
	col_bytes(r, 1, d.account_id, AUTHD_ID_LEN);
	col_bytes(r, 2, d.public_key, MP_KEY_LEN);
	col_str(r, 3, d.name, sizeof(d.name));
	d.created_at = col_i64(r, 4);
	d.last_seen = col_i64(r, 5);
	col_str(r, 6, d.last_ip, sizeof(d.last_ip));
	col_str(r, 7, d.last_location, sizeof(d.last_location));
	d.seed_len = (uint8_t)col_var(r, 8, d.seed, SEALED_SEED_MAX);
	d.last_step = col_i64(r, 9);
	col_str(r, 10, d.wake_token, sizeof(d.wake_token));
	if (r->bad)
		rc = corrupt("device");
	else
		*out = d;
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

int pg_device_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct push_device *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	param(&p, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_DEVICE_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_device(&r, out);
	pg_clear(res);
	return rc;
}

int pg_device_put(struct store_txn *t, const struct push_device *d)
{
	struct pg_params p = {0};

	/* The account first: run() marks what the transaction wrote by it. */
	param(&p, d->account_id, AUTHD_ID_LEN);
	param(&p, d->id, AUTHD_ID_LEN);
	param(&p, d->public_key, MP_KEY_LEN);
	param_text(&p, d->name);
	param_i64(&p, d->created_at);
	param_i64(&p, d->last_seen);
	param_text(&p, d->last_ip);
	param_text(&p, d->last_location);
	param(&p, d->seed, d->seed_len);
	param_i64(&p, d->last_step);
	param_text(&p, d->wake_token);
	return run(t, ST_DEVICE_PUT, &p);
}

int pg_device_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc;

	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, id, AUTHD_ID_LEN);
	pg_mark_dirty(pt, account_id);
	/* Read back at once: whether there was a device to delete is the answer. */
	if ((res = pg_exec(pt, ST_DEVICE_DEL, &p)) == NULL)
		return pt->err;
	rc = PQntuples(res) == 1 ? 0 : STORE_E_NOTFOUND;
	pg_clear(res);
	return rc;
}

int pg_device_step(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], int64_t last_step)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc;

	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, id, AUTHD_ID_LEN);
	param_i64(&p, last_step);
	pg_mark_dirty(pt, account_id);
	if ((res = pg_exec(pt, ST_DEVICE_STEP, &p)) == NULL)
		return pt->err;
	rc = PQntuples(res) == 1 ? 0 : STORE_E_NOTFOUND;
	pg_clear(res);
	return rc;
}

int pg_devices_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct push_device *d), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, account_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_DEVICES_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct push_device d;

		if ((rc = decode_device(&r, &d)) == 0)
			rc = fn(arg, &d);
		OPENSSL_cleanse(&d, sizeof(d));
	}
	pg_clear(res);
	return rc;
}

/* --- push challenges and an account's push history ----------------------------------- */

static int decode_challenge(struct row *r, const uint8_t account_id[AUTHD_ID_LEN],
			    struct push_challenge *out)
{
	struct push_challenge c;
	int number, state;

	memset(&c, 0, sizeof(c));
	memcpy(c.account_id, account_id, AUTHD_ID_LEN);
	col_bytes(r, 0, c.id, AUTHD_ID_LEN);
	col_bytes(r, 1, c.login_hash, AUTHD_HASH_LEN);
	col_bytes(r, 2, c.nonce, MP_NONCE_LEN);
	number = col_i16(r, 3);
	state = col_i16(r, 4);
	c.created_at = col_i64(r, 5);
	c.expires_at = col_i64(r, 6);
	c.answered_at = col_i64(r, 7);
	col_bytes(r, 8, c.answered_by, AUTHD_ID_LEN);
	col_str(r, 9, c.ctx.ip, sizeof(c.ctx.ip));
	col_str(r, 10, c.ctx.location, sizeof(c.ctx.location));
	col_str(r, 11, c.ctx.browser, sizeof(c.ctx.browser));
	col_str(r, 12, c.ctx.os, sizeof(c.ctx.os));
	col_str(r, 13, c.ctx.application, sizeof(c.ctx.application));
	if (number < 10 || number > 99 || state < 1 || state > 255)
		r->bad = true;
	c.number = (uint8_t)number;
	c.state = (uint8_t)state;
	if (r->bad)
		return corrupt("push challenge");
	*out = c;
	return 0;
}

int pg_challenge_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		     const uint8_t id[AUTHD_ID_LEN], struct push_challenge *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_CHALLENGE_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = decode_challenge(&r, account_id, out);
	pg_clear(res);
	return rc;
}

int pg_challenge_put(struct store_txn *t, const struct push_challenge *c)
{
	struct pg_params p = {0};

	param(&p, c->account_id, AUTHD_ID_LEN);
	param(&p, c->id, AUTHD_ID_LEN);
	param(&p, c->login_hash, AUTHD_HASH_LEN);
	param(&p, c->nonce, MP_NONCE_LEN);
	param_i16(&p, c->number);
	param_i16(&p, c->state);
	param_i64(&p, c->created_at);
	param_i64(&p, c->expires_at);
	param_i64(&p, c->answered_at);
	param(&p, c->answered_by, AUTHD_ID_LEN);
	param_text(&p, c->ctx.ip);
	param_text(&p, c->ctx.location);
	param_text(&p, c->ctx.browser);
	param_text(&p, c->ctx.os);
	param_text(&p, c->ctx.application);
	return run(t, ST_CHALLENGE_PUT, &p);
}

int pg_challenges_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		       int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, account_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_CHALLENGES_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct push_challenge c;

		if ((rc = decode_challenge(&r, account_id, &c)) == 0)
			rc = fn(arg, &c);
	}
	pg_clear(res);
	return rc;
}

int pg_challenges_pending(struct store_txn *t, int64_t since, int64_t now, size_t limit,
			  int (*fn)(void *arg, const struct push_challenge *c), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param_i64(&p, since);
	param_i64(&p, now);
	param_i64(&p, (int64_t)limit);
	if ((res = pg_exec(pt, ST_CHALLENGES_PENDING, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		uint8_t account_id[AUTHD_ID_LEN];
		struct push_challenge c;

		col_bytes(&r, 14, account_id, AUTHD_ID_LEN);
		if ((rc = decode_challenge(&r, account_id, &c)) == 0)
			rc = fn(arg, &c);
	}
	pg_clear(res);
	return rc;
}

int pg_notify(struct store_txn *t, const char *note)
{
	struct pg_params p = {0};

	param(&p, note, strlen(note));
	return pg_send((struct pg_txn *)t, ST_NOTIFY, &p);
}

int pg_push_account_get(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			struct push_account *out)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct push_account a;
	int64_t sent[PUSH_HOURLY_MAX];
	struct row r;
	size_t n;
	int pos, denials;
	int rc;

	memset(&a, 0, sizeof(a));
	param(&p, account_id, AUTHD_ID_LEN);
	rc = get_one(t, ST_PUSH_ACCOUNT_GET, &p, &res);
	if (rc == STORE_E_NOTFOUND) {
		*out = a;
		return 0;
	}
	if (rc != 0)
		return rc;
	r = (struct row){res, 0, false};
	n = col_i64_array(&r, 0, sent, PUSH_HOURLY_MAX);
	pos = col_i16(&r, 1);
	denials = col_i16(&r, 2);
	a.paused_at = col_i64(&r, 3);
	pg_clear(res);
	if (r.bad || pos < 0 || pos >= PUSH_HOURLY_MAX || denials < 0 || denials > 255)
		return corrupt("push account");
	memcpy(a.sent, sent, n * sizeof(sent[0]));
	a.n_sent = (uint8_t)n;
	a.pos = (uint8_t)pos;
	a.denials = (uint8_t)denials;
	*out = a;
	return 0;
}

int pg_push_account_put(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			const struct push_account *a)
{
	struct pg_params p = {0};
	uint8_t ring[ARRAY_BYTES(PUSH_HOURLY_MAX)];
	size_t len = encode_i64_array(ring, a->sent, a->n_sent);

	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, ring, len);
	param_i16(&p, a->pos);
	param_i16(&p, a->denials);
	param_i64(&p, a->paused_at);
	return run(t, ST_PUSH_ACCOUNT_PUT, &p);
}

/* --- identity-verification cases ----------------------------------------------------- */

_Static_assert(CASE_DOC_KEEP_S == 259200 && CASE_KEEP_S == 7776000 && CASE_OPEN_KEEP_S == 2592000,
	       "the sweep statement's figures are recovery.h's");

static int case_row(PGresult *res, int i, struct case_rec *out)
{
	struct row r = {res, i, false};
	struct case_rec c;
	int reason, state;
	const char *docs;

	memset(&c, 0, sizeof(c));
	col_bytes(&r, 0, c.id, AUTHD_ID_LEN);
	col_bytes(&r, 1, c.account_id, AUTHD_ID_LEN);
	reason = col_i16(&r, 2);
	state = col_i16(&r, 3);
	c.opened_at = col_i64(&r, 4);
	c.decided_at = col_i64(&r, 5);
	col_bytes(&r, 6, c.token_hash, AUTHD_HASH_LEN);
	col_str(&r, 7, c.login, sizeof(c.login));
	col_str(&r, 8, c.contact, sizeof(c.contact));
	col_str(&r, 9, c.details, sizeof(c.details));
	col_bytes(&r, 10, c.reviewer, AUTHD_ID_LEN);
	col_str(&r, 11, c.note, sizeof(c.note));
	docs = PQgetvalue(res, i, 12);
	if (r.bad || is_null(&r, 12) || reason < CASE_PASSWORD || reason > CASE_UNLOCK ||
	    state < CASE_OPEN || state > CASE_REJECTED ||
	    store_case_docs_parse(docs, (size_t)PQgetlength(res, i, 12), &c) != 0)
		return corrupt("verification case");
	c.reason = (uint8_t)reason;
	c.state = (uint8_t)state;
	*out = c;
	return 0;
}

int pg_case_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct case_rec *c)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	int rc;

	param(&p, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_CASE_GET, &p, &res)) == 0)
		rc = case_row(res, 0, c);
	pg_clear(res);
	return rc;
}

int pg_case_put(struct store_txn *t, const struct case_rec *c)
{
	struct pg_params p = {0};
	char *docs = store_case_docs_json(c);
	int rc;

	if (docs == NULL)
		return STORE_E_IO;
	param(&p, c->id, AUTHD_ID_LEN);
	param(&p, c->account_id, AUTHD_ID_LEN);
	param_i16(&p, c->reason);
	param_i16(&p, c->state);
	param_i64(&p, c->opened_at);
	param_i64(&p, c->decided_at);
	param(&p, c->token_hash, AUTHD_HASH_LEN);
	param_text(&p, c->login);
	param_text(&p, c->contact);
	param_text(&p, c->details);
	param(&p, c->reviewer, AUTHD_ID_LEN);
	param_text(&p, c->note);
	param_text(&p, docs);
	rc = run(t, ST_CASE_PUT, &p);
	free(docs);
	return rc;
}

int pg_cases_list(struct store_txn *t, bool all, size_t limit,
		  int (*fn)(void *arg, const struct case_rec *c), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, all ? ST_CASES_ALL : ST_CASES_OPEN, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct case_rec c;

		if ((rc = case_row(res, i, &c)) == 0)
			rc = fn(arg, &c);
	}
	pg_clear(res);
	return rc;
}

int pg_doc_put(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n,
	       int64_t uploaded_at, const uint8_t *sealed, size_t len)
{
	struct pg_params p = {0};

	param(&p, case_id, AUTHD_ID_LEN);
	param_i16(&p, (int)n);
	param_i64(&p, uploaded_at);
	param(&p, sealed, len);
	return run(t, ST_DOC_PUT, &p);
}

int pg_doc_get(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN], unsigned n, uint8_t **out,
	       size_t *len)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	size_t l;
	int rc;

	*out = NULL;
	*len = 0;
	param(&p, case_id, AUTHD_ID_LEN);
	param_i16(&p, (int)n);
	if ((rc = get_one(t, ST_DOC_GET, &p, &res)) != 0)
		return rc;
	l = (size_t)PQgetlength(res, 0, 0);
	if ((*out = malloc(l ? l : 1)) == NULL) {
		pg_clear(res);
		return STORE_E_IO;
	}
	memcpy(*out, PQgetvalue(res, 0, 0), l);
	*len = l;
	pg_clear(res);
	return 0;
}

int pg_docs_del(struct store_txn *t, const uint8_t case_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, case_id, AUTHD_ID_LEN);
	return run(t, ST_DOCS_DEL, &p);
}

/* --- organizations' members, and closing an account ---------------------------------- */

int pg_org_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], struct org *o)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	struct org tmp;
	int rc;

	param(&p, org_id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_ORG_GET, &p, &res)) != 0)
		return rc;
	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.id, org_id, AUTHD_ID_LEN);
	r = (struct row){res, 0, false};
	col_str(&r, 0, tmp.name, sizeof(tmp.name));
	tmp.created_at = col_i64(&r, 1);
	pg_clear(res);
	if (r.bad)
		return corrupt("organization");
	*o = tmp;
	return 0;
}

int pg_org_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, org_id, AUTHD_ID_LEN);
	return run(t, ST_ORG_DEL, &p);
}

/* A membership from a row of org_id, account_id, role, rights, contacts,
 * since. */
static int member_row(struct row *r, struct member *m)
{
	char role[32];
	int64_t rights, contacts;

	memset(m, 0, sizeof(*m));
	col_bytes(r, 0, m->org_id, AUTHD_ID_LEN);
	col_bytes(r, 1, m->account_id, AUTHD_ID_LEN);
	col_str(r, 2, role, sizeof(role));
	rights = col_i64(r, 3);
	contacts = col_i64(r, 4);
	m->since = col_i64(r, 5);
	if ((m->role = core_role_parse(role)) == 0 || rights < 0 || rights > UINT16_MAX ||
	    contacts < 0 || contacts > CONTACT__ALL)
		r->bad = true;
	m->rights = (unsigned)rights;
	m->contacts = (unsigned)contacts;
	return r->bad ? corrupt("membership") : 0;
}

static int members_rows(struct store_txn *t, enum pg_stmt st, const uint8_t id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct member *m), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, st, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct member m;

		if ((rc = member_row(&r, &m)) == 0)
			rc = fn(arg, &m);
	}
	pg_clear(res);
	return rc;
}

int pg_memberships_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
			int (*fn)(void *arg, const struct member *m), void *arg)
{
	return members_rows(t, ST_MEMBERSHIPS_LIST, account_id, fn, arg);
}

int pg_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct member *m), void *arg)
{
	return members_rows(t, ST_MEMBERS_LIST, org_id, fn, arg);
}

int pg_member_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t account_id[AUTHD_ID_LEN], struct member *m)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	struct member tmp;
	int rc;

	param(&p, org_id, AUTHD_ID_LEN);
	param(&p, account_id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_MEMBER_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = member_row(&r, &tmp);
	pg_clear(res);
	if (rc == 0)
		*m = tmp;
	return rc;
}

int pg_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, org_id, AUTHD_ID_LEN);
	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_MEMBER_DEL, &p);
}

int pg_invite_put(struct store_txn *t, const struct invite *inv)
{
	struct pg_params p = {0};

	param(&p, inv->org_id, AUTHD_ID_LEN);
	param(&p, inv->id, AUTHD_ID_LEN);
	param(&p, inv->token_hash, AUTHD_HASH_LEN);
	param_text(&p, inv->email);
	param_text(&p, core_role_name(inv->role));
	param_i64(&p, inv->rights);
	param(&p, inv->inviter, AUTHD_ID_LEN);
	param_i64(&p, inv->created_at);
	param_i64(&p, inv->expires_at);
	param_i16(&p, inv->state);
	param_i64(&p, inv->ended_at);
	param(&p, inv->account_id, AUTHD_ID_LEN);
	return run(t, ST_INVITE_PUT, &p);
}

/* An invitation from a row of INVITE_COLS. */
static int invite_row(struct row *r, struct invite *inv)
{
	char role[32];
	int64_t rights;

	memset(inv, 0, sizeof(*inv));
	col_bytes(r, 0, inv->org_id, AUTHD_ID_LEN);
	col_bytes(r, 1, inv->id, AUTHD_ID_LEN);
	col_bytes(r, 2, inv->token_hash, AUTHD_HASH_LEN);
	col_str(r, 3, inv->email, sizeof(inv->email));
	col_str(r, 4, role, sizeof(role));
	rights = col_i64(r, 5);
	col_bytes(r, 6, inv->inviter, AUTHD_ID_LEN);
	inv->created_at = col_i64(r, 7);
	inv->expires_at = col_i64(r, 8);
	inv->state = (uint8_t)col_i16(r, 9);
	inv->ended_at = col_i64(r, 10);
	col_bytes(r, 11, inv->account_id, AUTHD_ID_LEN);
	if ((inv->role = core_role_parse(role)) == 0 || rights < 0 || rights > UINT16_MAX ||
	    inv->state < INVITE_PENDING || inv->state > INVITE_REVOKED)
		r->bad = true;
	inv->rights = (unsigned)rights;
	return r->bad ? corrupt("invitation") : 0;
}

static int invite_one_row(struct store_txn *t, enum pg_stmt st, struct pg_params *p,
			  struct invite *inv)
{
	PGresult *res = NULL;
	struct row r;
	struct invite tmp;
	int rc;

	if ((rc = get_one(t, st, p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = invite_row(&r, &tmp);
	pg_clear(res);
	if (rc == 0)
		*inv = tmp;
	return rc;
}

int pg_invite_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const uint8_t id[AUTHD_ID_LEN], struct invite *inv)
{
	struct pg_params p = {0};

	param(&p, org_id, AUTHD_ID_LEN);
	param(&p, id, AUTHD_ID_LEN);
	return invite_one_row(t, ST_INVITE_GET, &p, inv);
}

int pg_invite_by_token(struct store_txn *t, const uint8_t token_hash[AUTHD_HASH_LEN],
		       struct invite *inv)
{
	struct pg_params p = {0};

	param(&p, token_hash, AUTHD_HASH_LEN);
	return invite_one_row(t, ST_INVITE_BY_TOKEN, &p, inv);
}

int pg_invite_del(struct store_txn *t, const struct invite *inv)
{
	struct pg_params p = {0};

	param(&p, inv->org_id, AUTHD_ID_LEN);
	param(&p, inv->id, AUTHD_ID_LEN);
	return run(t, ST_INVITE_DEL, &p);
}

int pg_invites_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct invite *inv), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, org_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_INVITES_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct invite inv;

		if ((rc = invite_row(&r, &inv)) == 0)
			rc = fn(arg, &inv);
	}
	pg_clear(res);
	return rc;
}

/* --- products, grants and teams ------------------------------------------------------ */

int pg_product_put(struct store_txn *t, const struct product *p)
{
	struct pg_params q = {0};

	if (p->renewal_months < 1 || p->renewal_months > PRODUCT_RENEWAL_MAX)
		AUTHD_BUG("a product without its renewal period");
	param(&q, p->org_id, AUTHD_ID_LEN);
	param(&q, p->id, AUTHD_ID_LEN);
	param_i16(&q, p->kind);
	param_text(&q, p->name);
	param_i64(&q, p->created_at);
	param_i64(&q, p->expires_at);
	param_i16(&q, p->renewal_months);
	param_bool(&q, p->auto_renew);
	param_i64(&q, p->renew_tried);
	param_i64(&q, p->blocked_at);
	return run(t, ST_PRODUCT_PUT, &q);
}

/* As pg_product_put, but only over the row as it is: a product removed
 * meanwhile is not made again (an upsert would insert it). */
int pg_product_update(struct store_txn *t, const struct product *p)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	if (p->renewal_months < 1 || p->renewal_months > PRODUCT_RENEWAL_MAX)
		AUTHD_BUG("a product without its renewal period");
	param(&q, p->org_id, AUTHD_ID_LEN);
	param(&q, p->id, AUTHD_ID_LEN);
	param_i16(&q, p->kind);
	param_text(&q, p->name);
	param_i64(&q, p->created_at);
	param_i64(&q, p->expires_at);
	param_i16(&q, p->renewal_months);
	param_bool(&q, p->auto_renew);
	param_i64(&q, p->renew_tried);
	param_i64(&q, p->blocked_at);
	pg_mark_dirty((struct pg_txn *)t, p->org_id);
	if ((rc = get_one(t, ST_PRODUCT_UPDATE, &q, &res)) == 0)
		pg_clear(res);
	return rc;
}

/* A product from a row of PRODUCT_COLS. */
static int product_row(struct row *r, const uint8_t org_id[AUTHD_ID_LEN], struct product *p)
{
	int months;

	memset(p, 0, sizeof(*p));
	memcpy(p->org_id, org_id, AUTHD_ID_LEN);
	col_bytes(r, 0, p->id, AUTHD_ID_LEN);
	p->kind = (uint8_t)col_i16(r, 1);
	col_str(r, 2, p->name, sizeof(p->name));
	p->created_at = col_i64(r, 3);
	p->expires_at = col_i64(r, 4);
	months = col_i16(r, 5);
	p->auto_renew = col_bool(r, 6);
	p->renew_tried = col_i64(r, 7);
	p->blocked_at = col_i64(r, 8);
	if (p->kind < PRODUCT_MAIL || p->kind > PRODUCT_OTHER || months < 1 ||
	    months > PRODUCT_RENEWAL_MAX)
		r->bad = true;
	p->renewal_months = (uint16_t)months;
	return r->bad ? corrupt("product") : 0;
}

/* A grant from a row of subject, subject_kind, rights, resources. */
static int grant_row_at(struct row *r, int c, const uint8_t org_id[AUTHD_ID_LEN],
			const uint8_t product_id[AUTHD_ID_LEN], struct grant *g)
{
	/* The JSON array's worst case: every byte escaped to two. */
	char text[(2 * GRANT_RESOURCE_MAX + 3) * GRANT_RESOURCES_MAX + 8];
	json_t *res, *v;
	int64_t rights;
	size_t i;

	memset(g, 0, sizeof(*g));
	memcpy(g->org_id, org_id, AUTHD_ID_LEN);
	memcpy(g->product_id, product_id, AUTHD_ID_LEN);
	col_bytes(r, c + 0, g->subject, AUTHD_ID_LEN);
	g->subject_kind = (uint8_t)col_i16(r, c + 1);
	rights = col_i64(r, c + 2);
	col_str(r, c + 3, text, sizeof(text));
	res = r->bad ? NULL : json_loads(text, 0, NULL);
	if (!json_is_array(res) || json_array_size(res) > GRANT_RESOURCES_MAX || rights < 0 ||
	    rights > PRODUCT_R__ALL ||
	    (g->subject_kind != GRANT_MEMBER && g->subject_kind != GRANT_TEAM))
		r->bad = true;
	g->rights = (unsigned)rights;
	json_array_foreach(res, i, v)
	{
		if (r->bad || !json_is_string(v) ||
		    strlen(json_string_value(v)) > GRANT_RESOURCE_MAX) {
			r->bad = true;
			break;
		}
		snprintf(g->resources[i], sizeof(g->resources[0]), "%s", json_string_value(v));
		g->n_resources++;
	}
	json_decref(res);
	return r->bad ? corrupt("grant") : 0;
}

static int grant_row(struct row *r, const uint8_t org_id[AUTHD_ID_LEN],
		     const uint8_t product_id[AUTHD_ID_LEN], struct grant *g)
{
	return grant_row_at(r, 0, org_id, product_id, g);
}

/* A team from a row of id, name, leader, created_at. */
static int team_row(struct row *r, const uint8_t org_id[AUTHD_ID_LEN], struct team *tm)
{
	memset(tm, 0, sizeof(*tm));
	memcpy(tm->org_id, org_id, AUTHD_ID_LEN);
	col_bytes(r, 0, tm->id, AUTHD_ID_LEN);
	col_str(r, 1, tm->name, sizeof(tm->name));
	col_bytes(r, 2, tm->leader, AUTHD_ID_LEN);
	tm->created_at = col_i64(r, 3);
	return r->bad ? corrupt("team") : 0;
}

/* What a listing statement's rows are. */
enum rows_kind { ROWS_PRODUCT, ROWS_GRANT, ROWS_TEAM, ROWS_ID, ROWS_PARTNER, ROWS_SUPPORT };

struct rows {
	enum rows_kind kind;
	const uint8_t *org_id, *product_id;
	int (*product)(void *arg, const struct product *p);
	int (*grant)(void *arg, const struct grant *g);
	int (*team)(void *arg, const struct team *tm);
	int (*id)(void *arg, const uint8_t id[AUTHD_ID_LEN]);
	int (*partner)(void *arg, const struct partner_link *l);
	int (*support)(void *arg, const struct support_grant *g);
	void *arg;
};

static int partner_row(struct row *r, struct partner_link *l);
static int support_row(struct row *r, struct support_grant *g);

/* Runs st with p and hands each row to the listing's function (one row
 * at most, into out, when out is set: a getter). */
static int rows_run(struct store_txn *t, enum pg_stmt st, struct pg_params *p, const struct rows *l,
		    void *out)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	PGresult *res;
	int rc = 0;

	if ((res = pg_exec(pt, st, p)) == NULL)
		return pt->err;
	if (out && PQntuples(res) != 1)
		rc = PQntuples(res) == 0 ? STORE_E_NOTFOUND : STORE_E_CORRUPT;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		union {
			struct product p;
			struct grant g;
			struct team tm;
			struct partner_link pl;
			struct support_grant sg;
		} u;

		switch (l->kind) {
		case ROWS_PRODUCT:
			if ((rc = product_row(&r, l->org_id, &u.p)) == 0)
				rc = out ? (memcpy(out, &u.p, sizeof(u.p)), 0)
					 : l->product(l->arg, &u.p);
			break;
		case ROWS_GRANT:
			if ((rc = grant_row(&r, l->org_id, l->product_id, &u.g)) == 0)
				rc = out ? (memcpy(out, &u.g, sizeof(u.g)), 0)
					 : l->grant(l->arg, &u.g);
			break;
		case ROWS_TEAM:
			if ((rc = team_row(&r, l->org_id, &u.tm)) == 0)
				rc = out ? (memcpy(out, &u.tm, sizeof(u.tm)), 0)
					 : l->team(l->arg, &u.tm);
			break;
		case ROWS_PARTNER:
			if ((rc = partner_row(&r, &u.pl)) == 0)
				rc = out ? (memcpy(out, &u.pl, sizeof(u.pl)), 0)
					 : l->partner(l->arg, &u.pl);
			break;
		case ROWS_SUPPORT:
			if ((rc = support_row(&r, &u.sg)) == 0)
				rc = out ? (memcpy(out, &u.sg, sizeof(u.sg)), 0)
					 : l->support(l->arg, &u.sg);
			break;
		default: {
			uint8_t id[AUTHD_ID_LEN];

			col_bytes(&r, 0, id, AUTHD_ID_LEN);
			rc = r.bad ? corrupt("team member") : l->id(l->arg, id);
		}
		}
	}
	pg_clear(res);
	return rc;
}

static void params2(struct pg_params *p, const uint8_t *a, const uint8_t *b)
{
	param(p, a, AUTHD_ID_LEN);
	if (b)
		param(p, b, AUTHD_ID_LEN);
}

int pg_product_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN], struct product *p)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_PRODUCT, .org_id = org_id};

	params2(&q, org_id, id);
	return rows_run(t, ST_PRODUCT_GET, &q, &l, p);
}

int pg_product_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, id);
	return run(t, ST_PRODUCT_DEL, &q);
}

int pg_products_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		     int (*fn)(void *arg, const struct product *p), void *arg)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_PRODUCT, .org_id = org_id, .product = fn, .arg = arg};

	params2(&q, org_id, NULL);
	return rows_run(t, ST_PRODUCTS_LIST, &q, &l, NULL);
}

int pg_grant_put(struct store_txn *t, const struct grant *g)
{
	struct pg_params q = {0};
	json_t *res = json_array();
	char *text;
	int rc;

	for (unsigned i = 0; res && i < g->n_resources && i < GRANT_RESOURCES_MAX; i++)
		json_array_append_new(res, json_string(g->resources[i]));
	text = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (text == NULL)
		return STORE_E_IO;
	param(&q, g->org_id, AUTHD_ID_LEN);
	param(&q, g->product_id, AUTHD_ID_LEN);
	param(&q, g->subject, AUTHD_ID_LEN);
	param_i16(&q, g->subject_kind);
	param_i64(&q, g->rights);
	param_text(&q, text);
	rc = run(t, ST_GRANT_PUT, &q);
	free(text);
	return rc;
}

int pg_grant_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		 const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN],
		 struct grant *g)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_GRANT, .org_id = org_id, .product_id = product_id};

	params2(&q, org_id, product_id);
	param(&q, subject, AUTHD_ID_LEN);
	return rows_run(t, ST_GRANT_GET, &q, &l, g);
}

int pg_grant_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		 const uint8_t product_id[AUTHD_ID_LEN], const uint8_t subject[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, product_id);
	param(&q, subject, AUTHD_ID_LEN);
	return run(t, ST_GRANT_DEL, &q);
}

int pg_grants_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t product_id[AUTHD_ID_LEN],
		   int (*fn)(void *arg, const struct grant *g), void *arg)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_GRANT,
			       .org_id = org_id,
			       .product_id = product_id,
			       .grant = fn,
			       .arg = arg};

	params2(&q, org_id, product_id);
	return rows_run(t, ST_GRANTS_LIST, &q, &l, NULL);
}

int pg_grants_del_subject(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			  const uint8_t subject[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, subject);
	return run(t, ST_GRANTS_DEL_SUBJECT, &q);
}

int pg_team_put(struct store_txn *t, const struct team *tm)
{
	struct pg_params q = {0};

	param(&q, tm->org_id, AUTHD_ID_LEN);
	param(&q, tm->id, AUTHD_ID_LEN);
	param_text(&q, tm->name);
	param(&q, tm->leader, AUTHD_ID_LEN);
	param_i64(&q, tm->created_at);
	return run(t, ST_TEAM_PUT, &q);
}

int pg_team_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		const uint8_t id[AUTHD_ID_LEN], struct team *tm)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_TEAM, .org_id = org_id};

	params2(&q, org_id, id);
	return rows_run(t, ST_TEAM_GET, &q, &l, tm);
}

int pg_team_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, id);
	return run(t, ST_TEAM_DEL, &q);
}

int pg_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  int (*fn)(void *arg, const struct team *tm), void *arg)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_TEAM, .org_id = org_id, .team = fn, .arg = arg};

	params2(&q, org_id, NULL);
	return rows_run(t, ST_TEAMS_LIST, &q, &l, NULL);
}

int pg_team_member_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t team_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, team_id);
	param(&q, account_id, AUTHD_ID_LEN);
	return run(t, ST_TEAM_MEMBER_PUT, &q);
}

int pg_team_member_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t team_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, org_id, team_id);
	param(&q, account_id, AUTHD_ID_LEN);
	return run(t, ST_TEAM_MEMBER_DEL, &q);
}

int pg_team_members_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t team_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const uint8_t account_id[AUTHD_ID_LEN]), void *arg)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_ID, .id = fn, .arg = arg};

	params2(&q, org_id, team_id);
	return rows_run(t, ST_TEAM_MEMBERS_LIST, &q, &l, NULL);
}

int pg_member_teams_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
			 const uint8_t account_id[AUTHD_ID_LEN],
			 int (*fn)(void *arg, const uint8_t team_id[AUTHD_ID_LEN]), void *arg)
{
	struct pg_params q = {0};
	const struct rows l = {.kind = ROWS_ID, .id = fn, .arg = arg};

	params2(&q, org_id, account_id);
	return rows_run(t, ST_MEMBER_TEAMS_LIST, &q, &l, NULL);
}

/* The facts in res's rows from column c on (ACCESS_FACTS's columns). */
static int decode_facts(PGresult *res, int c, const uint8_t org_id[AUTHD_ID_LEN],
			const uint8_t product_id[AUTHD_ID_LEN], struct member *m, struct product *p,
			bool *has_product, struct grant *grants, size_t max, size_t *n)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};

		if (i == 0 && !is_null(&r, c)) {
			char role[32];
			int64_t rights, contacts;

			col_str(&r, c, role, sizeof(role));
			rights = col_i64(&r, c + 1);
			contacts = col_i64(&r, c + 2);
			m->since = col_i64(&r, c + 3);
			if ((m->role = core_role_parse(role)) == 0 || rights < 0 ||
			    rights > UINT16_MAX || contacts < 0 || contacts > CONTACT__ALL)
				r.bad = true;
			m->rights = (unsigned)rights;
			m->contacts = (unsigned)contacts;
		}
		if (i == 0 && !is_null(&r, c + 4)) {
			struct row pr = {res, i, false};

			memset(p, 0, sizeof(*p));
			memcpy(p->org_id, org_id, AUTHD_ID_LEN);
			col_bytes(&pr, c + 4, p->id, AUTHD_ID_LEN);
			p->kind = (uint8_t)col_i16(&pr, c + 5);
			col_str(&pr, c + 6, p->name, sizeof(p->name));
			p->created_at = col_i64(&pr, c + 7);
			p->expires_at = col_i64(&pr, c + 8);
			p->renewal_months = (uint16_t)col_i16(&pr, c + 9);
			p->auto_renew = col_bool(&pr, c + 10);
			p->renew_tried = col_i64(&pr, c + 11);
			p->blocked_at = col_i64(&pr, c + 12);
			if (pr.bad || p->kind < PRODUCT_MAIL || p->kind > PRODUCT_OTHER ||
			    p->renewal_months < 1 || p->renewal_months > PRODUCT_RENEWAL_MAX)
				r.bad = true;
			*has_product = true;
		}
		if (r.bad)
			return corrupt("access facts");
		if (!is_null(&r, c + 13) && *n < max) {
			/* The grant's columns, where grant_row_at reads them. */
			struct row gr = {res, i, false};

			if ((rc = grant_row_at(&gr, c + 13, org_id, product_id, &grants[*n])) == 0)
				(*n)++;
		}
	}
	return rc;
}

int pg_access_facts(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    const uint8_t product_id[AUTHD_ID_LEN], const uint8_t account_id[AUTHD_ID_LEN],
		    struct member *m, struct product *p, bool *has_product, struct grant *grants,
		    size_t max, size_t *n)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	const struct job *job = pt->prefetched_for;
	struct pg_params q = {0};
	PGresult *res = NULL;
	int c = 0, rc;

	*n = 0;
	memset(m, 0, sizeof(*m));
	memcpy(m->org_id, org_id, AUTHD_ID_LEN);
	memcpy(m->account_id, account_id, AUTHD_ID_LEN);
	*has_product = false;
	/* Read with the session (pg_session_get kept them), if these are the
	 * facts it read: a read job's, which writes nothing. */
	if (pt->facts && job && job->first == STORE_FIRST_SESSION_ACCESS &&
	    memcmp(job->first_org, org_id, AUTHD_ID_LEN) == 0 &&
	    memcmp(job->first_product, product_id, AUTHD_ID_LEN) == 0 &&
	    memcmp(job->first_ref.account_id, account_id, AUTHD_ID_LEN) == 0 &&
	    pt->mode != PG_WRITE && pt->mode != PG_WRITE_RR) {
		res = pt->facts;
		pt->facts = NULL;
		c = PQnfields(res) - ACCESS_NCOLS;
	}
	if (res == NULL) {
		params2(&q, org_id, product_id);
		param(&q, account_id, AUTHD_ID_LEN);
		if ((res = pg_exec(pt, ST_ACCESS_FACTS, &q)) == NULL)
			return pt->err;
	}
	rc = decode_facts(res, c, org_id, product_id, m, p, has_product, grants, max, n);
	pg_clear(res);
	return rc;
}

/* --- partner relations ---------------------------------------------------------------- */

int pg_partner_put(struct store_txn *t, const struct partner_link *l)
{
	struct pg_params q = {0};
	uint8_t products[PARTNER_PRODUCTS_MAX * AUTHD_ID_LEN];
	unsigned n = l->n_products < PARTNER_PRODUCTS_MAX ? l->n_products : PARTNER_PRODUCTS_MAX;

	memcpy(products, l->products, (size_t)n * AUTHD_ID_LEN);
	param(&q, l->client_org, AUTHD_ID_LEN);
	param(&q, l->partner_org, AUTHD_ID_LEN);
	param_bool(&q, l->all_products);
	param(&q, products, (size_t)n * AUTHD_ID_LEN);
	param_bool(&q, l->billing);
	param_i64(&q, l->created_at);
	return run(t, ST_PARTNER_PUT, &q);
}

static int partner_row(struct row *r, struct partner_link *l)
{
	size_t len;

	memset(l, 0, sizeof(*l));
	col_bytes(r, 0, l->client_org, AUTHD_ID_LEN);
	col_bytes(r, 1, l->partner_org, AUTHD_ID_LEN);
	l->all_products = col_bool(r, 2);
	len = col_var(r, 3, l->products, sizeof(l->products));
	if (len % AUTHD_ID_LEN != 0)
		r->bad = true;
	l->n_products = (unsigned)(len / AUTHD_ID_LEN);
	l->billing = col_bool(r, 4);
	l->created_at = col_i64(r, 5);
	return r->bad ? corrupt("partner") : 0;
}

int pg_partner_get(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		   const uint8_t partner_org[AUTHD_ID_LEN], struct partner_link *l)
{
	struct pg_params q = {0};
	const struct rows r = {.kind = ROWS_PARTNER};

	params2(&q, client_org, partner_org);
	return rows_run(t, ST_PARTNER_GET, &q, &r, l);
}

int pg_partner_del(struct store_txn *t, const uint8_t client_org[AUTHD_ID_LEN],
		   const uint8_t partner_org[AUTHD_ID_LEN])
{
	struct pg_params q = {0};

	params2(&q, client_org, partner_org);
	return run(t, ST_PARTNER_DEL, &q);
}

int pg_partners_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], bool as_client,
		     int (*fn)(void *arg, const struct partner_link *l), void *arg)
{
	struct pg_params q = {0};
	const struct rows r = {.kind = ROWS_PARTNER, .partner = fn, .arg = arg};

	params2(&q, org_id, NULL);
	return rows_run(t, as_client ? ST_PARTNERS_AS_CLIENT : ST_PARTNERS_AS_PARTNER, &q, &r,
			NULL);
}

/* --- API tokens --------------------------------------------------------------------- */

int pg_token_put(struct store_txn *t, const struct api_token *tok)
{
	struct pg_params p = {0};
	uint8_t hits[API_TOKEN_RATE * 8];

	for (int i = 0; i < API_TOKEN_RATE; i++)
		authd_put_be64(hits + 8 * i, (uint64_t)tok->hits[i]);
	param(&p, tok->hash, AUTHD_HASH_LEN);
	param(&p, tok->id, AUTHD_ID_LEN);
	param(&p, tok->account_id, AUTHD_ID_LEN);
	param(&p, tok->org_id, AUTHD_ID_LEN);
	param_text(&p, tok->name);
	param_i64(&p, tok->scopes);
	param_i64(&p, tok->created_at);
	param_i64(&p, tok->expires_at);
	param_i64(&p, tok->last_used_at);
	param_i16(&p, tok->head);
	param_i16(&p, tok->count);
	param(&p, hits, sizeof(hits));
	param(&p, tok->created_by, AUTHD_ID_LEN);
	return run(t, ST_TOKEN_PUT, &p);
}

/* A token from a row of TOKEN_COLS. */
static int token_row(struct row *r, struct api_token *tok)
{
	uint8_t hits[API_TOKEN_RATE * 8] = {0};
	int64_t scopes;
	int head, count;

	memset(tok, 0, sizeof(*tok));
	col_bytes(r, 0, tok->hash, AUTHD_HASH_LEN);
	col_bytes(r, 1, tok->id, AUTHD_ID_LEN);
	col_bytes(r, 2, tok->account_id, AUTHD_ID_LEN);
	col_bytes(r, 3, tok->org_id, AUTHD_ID_LEN);
	col_str(r, 4, tok->name, sizeof(tok->name));
	scopes = col_i64(r, 5);
	tok->created_at = col_i64(r, 6);
	tok->expires_at = col_i64(r, 7);
	tok->last_used_at = col_i64(r, 8);
	head = col_i16(r, 9);
	count = col_i16(r, 10);
	col_bytes(r, 11, hits, sizeof(hits));
	col_bytes(r, 12, tok->created_by, AUTHD_ID_LEN);
	for (int i = 0; i < API_TOKEN_RATE; i++)
		tok->hits[i] = (int64_t)authd_get_be64(hits + 8 * i);
	if (scopes < 0 || scopes > SCOPE__ALL || head < 0 || head >= API_TOKEN_RATE || count < 0 ||
	    count > API_TOKEN_RATE)
		r->bad = true;
	tok->scopes = (unsigned)scopes;
	tok->head = (uint8_t)head;
	tok->count = (uint8_t)count;
	return r->bad ? corrupt("api token") : 0;
}

int pg_token_get(struct store_txn *t, const uint8_t hash[AUTHD_HASH_LEN], struct api_token *tok)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	struct api_token tmp;
	int rc;

	param(&p, hash, AUTHD_HASH_LEN);
	if ((rc = get_one(t, ST_TOKEN_GET, &p, &res)) != 0)
		return rc;
	r = (struct row){res, 0, false};
	rc = token_row(&r, &tmp);
	pg_clear(res);
	if (rc == 0)
		*tok = tmp;
	return rc;
}

int pg_token_update(struct store_txn *t, const struct api_token *tok)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	uint8_t hits[API_TOKEN_RATE * 8];
	int rc;

	for (int i = 0; i < API_TOKEN_RATE; i++)
		authd_put_be64(hits + 8 * i, (uint64_t)tok->hits[i]);
	param(&p, tok->hash, AUTHD_HASH_LEN);
	param_i64(&p, tok->last_used_at);
	param_i16(&p, tok->head);
	param_i16(&p, tok->count);
	param(&p, hits, sizeof(hits));
	rc = get_one(t, ST_TOKEN_UPDATE, &p, &res);
	pg_clear(res);
	return rc;
}

int pg_tokens_del_account(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};

	param(&p, account_id, AUTHD_ID_LEN);
	return run(t, ST_TOKENS_DEL_ACCOUNT, &p);
}

int pg_token_del(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		 const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	int rc;

	param(&p, account_id, AUTHD_ID_LEN);
	param(&p, id, AUTHD_ID_LEN);
	rc = get_one(t, ST_TOKEN_DEL, &p, &res);
	pg_clear(res);
	return rc;
}

int pg_tokens_list(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN],
		   int (*fn)(void *arg, const struct api_token *tok), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param(&p, account_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_TOKENS_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct api_token tok;

		if ((rc = token_row(&r, &tok)) == 0)
			rc = fn(arg, &tok);
	}
	pg_clear(res);
	return rc;
}

int pg_audit_add(struct store_txn *t, const struct audit_rec *a)
{
	struct pg_params p = {0};

	param(&p, a->org_id, AUTHD_ID_LEN);
	param_i64(&p, a->at);
	param(&p, a->actor, AUTHD_ID_LEN);
	param_text(&p, core_audit_via_name((enum audit_via)a->via));
	param_text(&p, core_audit_name((enum audit_action)a->action));
	param(&p, a->subject, AUTHD_ID_LEN);
	param_text(&p, a->detail);
	param_text(&p, a->ip);
	return run(t, ST_AUDIT_ADD, &p);
}

int pg_audit_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		  const struct event_cursor *before, size_t limit,
		  int (*fn)(void *arg, const struct audit_rec *a), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	if (before && before->seq > INT64_MAX)
		return 0; /* no record is before a cursor no listing gave */
	param(&p, org_id, AUTHD_ID_LEN);
	param_i64(&p, before ? before->at : INT64_MAX);
	param_i64(&p, before ? (int64_t)before->seq : INT64_MAX);
	param_i64(&p, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, ST_AUDIT_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct audit_rec a;
		char name[64];

		memset(&a, 0, sizeof(a));
		memcpy(a.org_id, org_id, AUTHD_ID_LEN);
		a.at = col_i64(&r, 0);
		col_bytes(&r, 1, a.actor, AUTHD_ID_LEN);
		col_str(&r, 2, name, sizeof(name));
		a.via = (uint8_t)core_audit_via_parse(name);
		col_str(&r, 3, name, sizeof(name));
		a.action = (uint16_t)core_audit_parse(name);
		col_bytes(&r, 4, a.subject, AUTHD_ID_LEN);
		col_str(&r, 5, a.detail, sizeof(a.detail));
		col_str(&r, 6, a.ip, sizeof(a.ip));
		a.seq = (uint64_t)col_i64(&r, 7);
		if (a.via == 0 || a.action == 0)
			r.bad = true;
		rc = r.bad ? corrupt("audit record") : fn(arg, &a);
	}
	pg_clear(res);
	return rc;
}

int pg_account_delete(struct store_txn *t, const uint8_t account_id[AUTHD_ID_LEN])
{
	struct pg_cluster *c = cluster_of(t, account_id);
	struct pg_params p = {0};
	PGresult *res = NULL;
	int rc;

	if (c)
		c->has_account = c->has_totp = false;
	pg_mark_dirty((struct pg_txn *)t, account_id);
	param(&p, account_id, AUTHD_ID_LEN);
	rc = get_one(t, ST_ACCOUNT_DELETE, &p, &res);
	pg_clear(res);
	return rc;
}

/* --- support grants ---------------------------------------------------------------------- */

int pg_support_put(struct store_txn *t, const struct support_grant *g)
{
	struct pg_params q = {0};
	unsigned na =
	    g->n_assignees < SUPPORT_ASSIGNEES_MAX ? g->n_assignees : SUPPORT_ASSIGNEES_MAX;

	param(&q, g->id, AUTHD_ID_LEN);
	param(&q, g->org_id, AUTHD_ID_LEN);
	param_i16(&q, g->kind);
	param_text(&q, g->request);
	param(&q, g->created_by, AUTHD_ID_LEN);
	param_i64(&q, g->created_at);
	param_i64(&q, g->expires_at);
	param_i64(&q, g->revoked_at);
	param(&q, g->assignees, (size_t)na * AUTHD_ID_LEN);
	return run(t, ST_SUPPORT_PUT, &q);
}

/* A grant from a row of SUPPORT_COLS. */
static int support_row(struct row *r, struct support_grant *g)
{
	int na = PQgetlength(r->res, r->row, 8);

	memset(g, 0, sizeof(*g));
	col_bytes(r, 0, g->id, AUTHD_ID_LEN);
	col_bytes(r, 1, g->org_id, AUTHD_ID_LEN);
	g->kind = (uint8_t)col_i16(r, 2);
	col_str(r, 3, g->request, sizeof(g->request));
	col_bytes(r, 4, g->created_by, AUTHD_ID_LEN);
	g->created_at = col_i64(r, 5);
	g->expires_at = col_i64(r, 6);
	g->revoked_at = col_i64(r, 7);
	if (na < 0 || na % AUTHD_ID_LEN != 0 || na > SUPPORT_ASSIGNEES_MAX * AUTHD_ID_LEN ||
	    *core_support_kind_name((enum support_kind)g->kind) == '\0')
		r->bad = true;
	else {
		g->n_assignees = (unsigned)(na / AUTHD_ID_LEN);
		memcpy(g->assignees, PQgetvalue(r->res, r->row, 8), (size_t)na);
	}
	return r->bad ? corrupt("support grant") : 0;
}

int pg_support_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct support_grant *g)
{
	struct pg_params q = {0};
	const struct rows r = {.kind = ROWS_SUPPORT};

	param(&q, id, AUTHD_ID_LEN);
	return rows_run(t, ST_SUPPORT_GET, &q, &r, g);
}

int pg_support_del(struct store_txn *t, const struct support_grant *g)
{
	struct pg_params q = {0};

	param(&q, g->id, AUTHD_ID_LEN);
	return run(t, ST_SUPPORT_DEL, &q);
}

int pg_support_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		    int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	struct pg_params q = {0};
	const struct rows r = {.kind = ROWS_SUPPORT, .support = fn, .arg = arg};

	param(&q, org_id, AUTHD_ID_LEN);
	return rows_run(t, ST_SUPPORT_LIST, &q, &r, NULL);
}

/* --- billing ------------------------------------------------------------------------------ */

int pg_address_put(struct store_txn *t, const struct billing_address *a)
{
	struct pg_params q = {0};

	param(&q, a->org_id, AUTHD_ID_LEN);
	param(&q, a->id, AUTHD_ID_LEN);
	param_text(&q, a->name);
	param_text(&q, a->line1);
	param_text(&q, a->line2);
	param_text(&q, a->postal_code);
	param_text(&q, a->city);
	param_text(&q, a->country);
	param_text(&q, a->vat_number);
	param_bool(&q, a->is_default);
	param_i64(&q, a->created_at);
	return run(t, ST_ADDRESS_PUT, &q);
}

int pg_address_del(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		   const uint8_t id[AUTHD_ID_LEN])
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	params2(&q, org_id, id);
	if ((rc = get_one(t, ST_ADDRESS_DEL, &q, &res)) == 0)
		pg_clear(res);
	return rc;
}

int pg_addresses_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN],
		      int (*fn)(void *arg, const struct billing_address *a), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	PGresult *res;
	int rc = 0;

	param(&q, org_id, AUTHD_ID_LEN);
	if ((res = pg_exec(pt, ST_ADDRESSES_LIST, &q)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct billing_address a;

		memset(&a, 0, sizeof(a));
		col_bytes(&r, 0, a.org_id, AUTHD_ID_LEN);
		col_bytes(&r, 1, a.id, AUTHD_ID_LEN);
		col_str(&r, 2, a.name, sizeof(a.name));
		col_str(&r, 3, a.line1, sizeof(a.line1));
		col_str(&r, 4, a.line2, sizeof(a.line2));
		col_str(&r, 5, a.postal_code, sizeof(a.postal_code));
		col_str(&r, 6, a.city, sizeof(a.city));
		col_str(&r, 7, a.country, sizeof(a.country));
		col_str(&r, 8, a.vat_number, sizeof(a.vat_number));
		a.is_default = col_bool(&r, 9);
		a.created_at = col_i64(&r, 10);
		rc = r.bad ? corrupt("billing address") : fn(arg, &a);
	}
	pg_clear(res);
	return rc;
}

int pg_support_live(struct store_txn *t, int64_t now,
		    int (*fn)(void *arg, const struct support_grant *g), void *arg)
{
	struct pg_params q = {0};
	const struct rows r = {.kind = ROWS_SUPPORT, .support = fn, .arg = arg};

	param_i64(&q, now);
	return rows_run(t, ST_SUPPORT_LIVE, &q, &r, NULL);
}

/* --- the prepaid balance, its ledger and payments ------------------------------------------- */

int pg_balance_get(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		   int64_t *minor)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	param(&q, org_id, AUTHD_ID_LEN);
	param_i16(&q, currency);
	if ((rc = get_one(t, ST_BALANCE_GET, &q, &res)) == STORE_E_NOTFOUND) {
		*minor = 0;
		return 0;
	}
	if (rc == 0) {
		struct row r = {res, 0, false};
		int64_t v = col_i64(&r, 0);

		if (r.bad || v < 0)
			rc = corrupt("balance");
		else
			*minor = v;
		pg_clear(res);
	}
	return rc;
}

int pg_balance_put(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], uint8_t currency,
		   int64_t minor)
{
	struct pg_params q = {0};

	param(&q, org_id, AUTHD_ID_LEN);
	param_i16(&q, currency);
	param_i64(&q, minor);
	return run(t, ST_BALANCE_PUT, &q);
}

int pg_ledger_add(struct store_txn *t, const struct ledger_entry *e)
{
	struct pg_params q = {0};

	param(&q, e->org_id, AUTHD_ID_LEN);
	param_i64(&q, e->at);
	param(&q, e->id, AUTHD_ID_LEN);
	param_i16(&q, e->kind);
	param(&q, e->payment_id, AUTHD_ID_LEN);
	param_i16(&q, e->tx.currency);
	for (int a = LEDGER_PREPAID; a <= LEDGER_HELD; a++)
		param_i64(&q, core_ledger_leg(&e->tx, (enum ledger_account)a));
	return run(t, ST_LEDGER_ADD, &q);
}

int pg_ledger_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		   int (*fn)(void *arg, const struct ledger_entry *e), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	PGresult *res;
	int rc = 0;

	param(&q, org_id, AUTHD_ID_LEN);
	param_i64(&q, (int64_t)limit);
	if ((res = pg_exec(pt, ST_LEDGER_LIST, &q)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct ledger_entry e;

		memset(&e, 0, sizeof(e));
		col_bytes(&r, 0, e.org_id, AUTHD_ID_LEN);
		e.at = col_i64(&r, 1);
		col_bytes(&r, 2, e.id, AUTHD_ID_LEN);
		e.kind = (uint8_t)col_i16(&r, 3);
		col_bytes(&r, 4, e.payment_id, AUTHD_ID_LEN);
		e.tx.currency = (uint8_t)col_i16(&r, 5);
		for (int a = LEDGER_PREPAID; a <= LEDGER_HELD; a++) {
			int64_t v = col_i64(&r, 5 + a);

			if (v != 0)
				e.tx.legs[e.tx.n++] = (struct ledger_leg){(uint8_t)a, v};
		}
		rc = r.bad ? corrupt("ledger") : fn(arg, &e);
	}
	pg_clear(res);
	return rc;
}

int pg_payment_put(struct store_txn *t, const struct payment *p)
{
	struct pg_params q = {0};
	unsigned ni = p->n_invoices < PAYMENT_INVOICES_MAX ? p->n_invoices : PAYMENT_INVOICES_MAX;

	param(&q, p->id, AUTHD_ID_LEN);
	param(&q, p->org_id, AUTHD_ID_LEN);
	param(&q, p->key_hash, AUTHD_HASH_LEN);
	param(&q, p->request_hash, AUTHD_HASH_LEN);
	param_i16(&q, p->kind);
	param_i16(&q, p->status);
	param_i16(&q, p->currency);
	param_i64(&q, p->amount);
	param_i64(&q, p->from_balance);
	param_i64(&q, p->rest);
	param(&q, p->created_by, AUTHD_ID_LEN);
	param_i64(&q, p->created_at);
	param_i64(&q, p->settled_at);
	param_text(&q, p->provider_ref);
	param_text(&q, p->checkout_url);
	param(&q, p->invoices, (size_t)ni * AUTHD_ID_LEN);
	return run(t, ST_PAYMENT_PUT, &q);
}

/* A payment from a row of PAYMENT_COLS. */
static int payment_row(struct row *r, struct payment *p)
{
	int ni = PQgetlength(r->res, r->row, 15);

	memset(p, 0, sizeof(*p));
	col_bytes(r, 0, p->id, AUTHD_ID_LEN);
	col_bytes(r, 1, p->org_id, AUTHD_ID_LEN);
	col_bytes(r, 2, p->key_hash, AUTHD_HASH_LEN);
	col_bytes(r, 3, p->request_hash, AUTHD_HASH_LEN);
	p->kind = (uint8_t)col_i16(r, 4);
	p->status = (uint8_t)col_i16(r, 5);
	p->currency = (uint8_t)col_i16(r, 6);
	p->amount = col_i64(r, 7);
	p->from_balance = col_i64(r, 8);
	p->rest = col_i64(r, 9);
	col_bytes(r, 10, p->created_by, AUTHD_ID_LEN);
	p->created_at = col_i64(r, 11);
	p->settled_at = col_i64(r, 12);
	col_str(r, 13, p->provider_ref, sizeof(p->provider_ref));
	col_str(r, 14, p->checkout_url, sizeof(p->checkout_url));
	if (ni < 0 || ni % AUTHD_ID_LEN != 0 || ni > PAYMENT_INVOICES_MAX * AUTHD_ID_LEN)
		r->bad = true;
	else {
		p->n_invoices = (unsigned)(ni / AUTHD_ID_LEN);
		memcpy(p->invoices, PQgetvalue(r->res, r->row, 15), (size_t)ni);
	}
	return r->bad ? corrupt("payment") : 0;
}

int pg_payment_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct payment *p)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	struct payment tmp;
	int rc;

	param(&q, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_PAYMENT_GET, &q, &res)) != 0)
		return rc;
	{
		struct row r = {res, 0, false};

		if ((rc = payment_row(&r, &tmp)) == 0)
			*p = tmp;
	}
	pg_clear(res);
	return rc;
}

int pg_payments_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct payment *p), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	PGresult *res;
	int rc = 0;

	param(&q, org_id, AUTHD_ID_LEN);
	param_i64(&q, (int64_t)limit);
	if ((res = pg_exec(pt, ST_PAYMENTS_LIST, &q)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct payment p;

		if ((rc = payment_row(&r, &p)) == 0)
			rc = fn(arg, &p);
	}
	pg_clear(res);
	return rc;
}

/* --- invoices, sequences and vouchers ------------------------------------------------------- */

int pg_invoice_put(struct store_txn *t, const struct invoice *inv)
{
	struct pg_params q = {0};
	char *body = store_invoice_json(inv);
	int rc;

	if (body == NULL)
		return STORE_E_IO;
	param(&q, inv->id, AUTHD_ID_LEN);
	param(&q, inv->org_id, AUTHD_ID_LEN);
	param_i64(&q, (int64_t)inv->number);
	param_i16(&q, inv->status);
	param_i64(&q, inv->created_at);
	param_text(&q, body);
	rc = run(t, ST_INVOICE_PUT, &q);
	free(body);
	return rc;
}

int pg_invoice_get(struct store_txn *t, const uint8_t id[AUTHD_ID_LEN], struct invoice *inv)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	param(&q, id, AUTHD_ID_LEN);
	if ((rc = get_one(t, ST_INVOICE_GET, &q, &res)) != 0)
		return rc;
	if (store_invoice_parse(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), inv) != 0)
		rc = corrupt("invoice");
	pg_clear(res);
	return rc;
}

int pg_invoices_list(struct store_txn *t, const uint8_t org_id[AUTHD_ID_LEN], size_t limit,
		     int (*fn)(void *arg, const struct invoice *inv), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	struct invoice *inv = malloc(sizeof(*inv));
	PGresult *res;
	int rc = 0;

	if (inv == NULL)
		return STORE_E_IO;
	param(&q, org_id, AUTHD_ID_LEN);
	param_i64(&q, (int64_t)limit);
	if ((res = pg_exec(pt, ST_INVOICES_LIST, &q)) == NULL) {
		free(inv);
		return pt->err;
	}
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		rc = store_invoice_parse(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0),
					 inv) != 0
			 ? corrupt("invoice")
			 : fn(arg, inv);
	pg_clear(res);
	free(inv);
	return rc;
}

int pg_counter_next(struct store_txn *t, const char *name, uint64_t *value)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	param_text(&q, name);
	if ((rc = get_one(t, ST_COUNTER_NEXT, &q, &res)) != 0)
		return rc;
	{
		struct row r = {res, 0, false};
		int64_t v = col_i64(&r, 0);

		if (r.bad || v < 1)
			rc = corrupt("sequence");
		else
			*value = (uint64_t)v;
	}
	pg_clear(res);
	return rc;
}

int pg_voucher_put(struct store_txn *t, const struct voucher *v)
{
	struct pg_params q = {0};

	param_text(&q, v->code);
	param_i16(&q, v->kind);
	param_i64(&q, v->bp);
	param_i64(&q, v->amount_minor);
	param_i16(&q, v->currency);
	param_i64(&q, v->valid_from);
	param_i64(&q, v->valid_until);
	param_i64(&q, v->max_uses);
	param_i64(&q, v->used);
	param(&q, v->created_by, AUTHD_ID_LEN);
	param_i64(&q, v->created_at);
	return run(t, ST_VOUCHER_PUT, &q);
}

static int voucher_row(struct row *r, struct voucher *v)
{
	int64_t max_uses, used;

	memset(v, 0, sizeof(*v));
	col_str(r, 0, v->code, sizeof(v->code));
	v->kind = (uint8_t)col_i16(r, 1);
	v->bp = (uint32_t)col_i64(r, 2);
	v->amount_minor = col_i64(r, 3);
	v->currency = (uint8_t)col_i16(r, 4);
	v->valid_from = col_i64(r, 5);
	v->valid_until = col_i64(r, 6);
	max_uses = col_i64(r, 7);
	used = col_i64(r, 8);
	col_bytes(r, 9, v->created_by, AUTHD_ID_LEN);
	v->created_at = col_i64(r, 10);
	if (max_uses < 0 || max_uses > UINT32_MAX || used < 0 || used > UINT32_MAX)
		r->bad = true;
	v->max_uses = (uint32_t)max_uses;
	v->used = (uint32_t)used;
	return r->bad ? corrupt("voucher") : 0;
}

int pg_voucher_get(struct store_txn *t, const char *code, struct voucher *v)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	struct voucher tmp;
	int rc;

	param_text(&q, code);
	if ((rc = get_one(t, ST_VOUCHER_GET, &q, &res)) != 0)
		return rc;
	{
		struct row r = {res, 0, false};

		if ((rc = voucher_row(&r, &tmp)) == 0)
			*v = tmp;
	}
	pg_clear(res);
	return rc;
}

int pg_vouchers_list(struct store_txn *t, int (*fn)(void *arg, const struct voucher *v), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	PGresult *res;
	int rc = 0;

	if ((res = pg_exec(pt, ST_VOUCHERS_LIST, &q)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		struct voucher v;

		if ((rc = voucher_row(&r, &v)) == 0)
			rc = fn(arg, &v);
	}
	pg_clear(res);
	return rc;
}

/* --- the renewal scheduler's walk ------------------------------------------------------ */

int pg_products_due(struct store_txn *t, int64_t until, const struct product_due_pos *after,
		    size_t limit, int (*fn)(void *arg, const struct product *p), void *arg)
{
	static const uint8_t none[AUTHD_ID_LEN];
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params q = {0};
	PGresult *res;
	int rc = 0;

	param_i64(&q, until);
	param_i64(&q, after ? after->expires_at : 0);
	param(&q, after ? after->org_id : none, AUTHD_ID_LEN);
	param(&q, after ? after->id : none, AUTHD_ID_LEN);
	param_i64(&q, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if ((res = pg_exec(pt, ST_PRODUCTS_DUE, &q)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		uint8_t org[AUTHD_ID_LEN];
		struct product p;

		col_bytes(&r, 9, org, AUTHD_ID_LEN); /* after PRODUCT_COLS */
		if ((rc = product_row(&r, org, &p)) == 0)
			rc = fn(arg, &p);
	}
	pg_clear(res);
	return rc;
}

int pg_cluster_lock(struct store_txn *t, int64_t key, bool *held)
{
	struct pg_params p = {0};
	PGresult *res = NULL;
	struct row r;
	int rc;

	param_i64(&p, key);
	if ((rc = get_one(t, ST_SWEEP_LOCK, &p, &res)) != 0)
		return rc == STORE_E_NOTFOUND ? STORE_E_IO : rc;
	r = (struct row){res, 0, false};
	*held = col_bool(&r, 0);
	pg_clear(res);
	return r.bad ? corrupt("advisory lock") : 0;
}

/* --- shared figures, and the walk of sealed values ------------------------------------ */

int pg_setting_get(struct store_txn *t, const char *name, uint64_t *value)
{
	struct pg_params q = {0};
	PGresult *res = NULL;
	int rc;

	*value = 0;
	param_text(&q, name);
	rc = get_one(t, ST_SETTING_GET, &q, &res);
	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	{
		struct row r = {res, 0, false};
		int64_t v = col_i64(&r, 0);

		/* A bigint holds the 64 bits as they are (a fingerprint may
		 * use the top one). */
		if (r.bad)
			rc = corrupt("setting");
		else
			*value = (uint64_t)v;
	}
	pg_clear(res);
	return rc;
}

int pg_setting_put(struct store_txn *t, const char *name, uint64_t value)
{
	struct pg_params q = {0};

	param_text(&q, name);
	param_i64(&q, (int64_t)value);
	return pg_send((struct pg_txn *)t, ST_SETTING_PUT, &q);
}

/* Shows fn one sealed column of a row (a copy it may rewrite) and, when
 * fn rewrote it, queues the conditional update st (key params first). */
static int seal_column(struct store_txn *t, struct row *r, int c, struct store_seal *s,
		       enum pg_stmt st, const struct pg_params *key,
		       int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	uint8_t *old = NULL, *copy = NULL;
	size_t len;
	int rc = 0;

	if (PQgetisnull(r->res, r->row, c))
		return corrupt("sealed value");
	len = (size_t)PQgetlength(r->res, r->row, c);
	if (len == 0)
		return 0;
	if ((old = malloc(2 * len)) == NULL)
		return STORE_E_IO;
	copy = old + len;
	memcpy(old, PQgetvalue(r->res, r->row, c), len);
	memcpy(copy, old, len);
	s->sealed = copy;
	s->len = len;
	rc = fn(arg, s);
	if (rc == 1) {
		struct pg_params p = *key;

		param(&p, old, len);
		param(&p, copy, len);
		rc = run(t, st, &p);
	}
	free(old);
	return rc < 0 ? rc : 0;
}

int pg_seals_walk(struct store_txn *t, struct store_seal_pos *pos, size_t limit,
		  int (*fn)(void *arg, struct store_seal *s), void *arg)
{
	static const enum pg_stmt reads[STORE_SEAL__COUNT] = {ST_SEALS_TOTP, ST_SEALS_DEVICE,
							      ST_SEALS_OUTBOX, ST_SEALS_DOC};
	struct pg_txn *pt = (struct pg_txn *)t;
	size_t left = limit;
	int rc = 0;

	while (!pos->done && left > 0 && rc == 0) {
		struct pg_params q = {0};
		PGresult *res;
		int n;

		if (pos->kind >= STORE_SEAL__COUNT) {
			pos->done = true;
			break;
		}
		if (pos->kind == STORE_SEAL_DOC) {
			param(&q, pos->key, pos->key_len ? AUTHD_ID_LEN : 0);
			param_i16(&q, pos->key_len ? pos->key[AUTHD_ID_LEN] : -1);
		} else {
			param(&q, pos->key, pos->key_len);
		}
		param_i64(&q, (int64_t)left);
		if ((res = pg_exec(pt, reads[pos->kind], &q)) == NULL)
			return pt->err;
		n = PQntuples(res);
		for (int i = 0; i < n && rc == 0; i++) {
			struct row r = {res, i, false};
			uint8_t id[AUTHD_ID_LEN], owner[AUTHD_ID_LEN];
			struct store_seal s = {
			    (enum store_seal_kind)pos->kind, id, NULL, 0, NULL, 0};
			struct pg_params key = {0};

			col_bytes(&r, 0, id, AUTHD_ID_LEN);
			if (pos->kind == STORE_SEAL_DEVICE) {
				col_bytes(&r, 1, owner, AUTHD_ID_LEN);
				s.owner = owner;
			}
			if (pos->kind == STORE_SEAL_DOC)
				s.n = col_u8(&r, 1);
			if (r.bad) {
				rc = corrupt("sealed value's key");
				break;
			}
			param(&key, id, AUTHD_ID_LEN);
			switch (pos->kind) {
			case STORE_SEAL_TOTP:
				forget_totp(t, id);
				rc = seal_column(t, &r, 1, &s, ST_RESEAL_TOTP, &key, fn, arg);
				s.n = 1;
				if (rc == 0)
					rc = seal_column(t, &r, 2, &s, ST_RESEAL_TOTP_PENDING, &key,
							 fn, arg);
				break;
			case STORE_SEAL_DEVICE:
				rc = seal_column(t, &r, 2, &s, ST_RESEAL_DEVICE, &key, fn, arg);
				break;
			case STORE_SEAL_OUTBOX:
				rc = seal_column(t, &r, 1, &s, ST_RESEAL_OUTBOX, &key, fn, arg);
				break;
			default:
				param_i16(&key, (int)s.n);
				rc = seal_column(t, &r, 2, &s, ST_RESEAL_DOC, &key, fn, arg);
				break;
			}
			memcpy(pos->key, id, AUTHD_ID_LEN);
			pos->key[AUTHD_ID_LEN] = (uint8_t)s.n;
			pos->key_len =
			    pos->kind == STORE_SEAL_DOC ? AUTHD_ID_LEN + 1 : AUTHD_ID_LEN;
		}
		pg_clear(res);
		left -= (size_t)n;
		if (rc == 0 && left > 0) {
			pos->kind++;
			pos->key_len = 0;
			pos->done = pos->kind >= STORE_SEAL__COUNT;
		}
	}
	return rc;
}

int pg_outbox_failures(struct store_txn *t, size_t limit,
		       int (*fn)(void *arg, const struct outbox_msg *m), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	struct outbox_msg *m = malloc(sizeof(*m));
	PGresult *res;
	int rc = 0;

	if (m == NULL)
		return STORE_E_IO;
	param_i64(&p, (int64_t)limit);
	if ((res = pg_exec(pt, ST_OUTBOX_FAILURES, &p)) == NULL) {
		free(m);
		return pt->err;
	}
	for (int i = 0; rc == 0 && i < PQntuples(res); i++)
		if ((rc = outbox_row(res, i, m)) == 0)
			rc = fn(arg, m);
	pg_clear(res);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	return rc;
}

int pg_settings_list(struct store_txn *t, const char *prefix,
		     int (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	struct pg_txn *pt = (struct pg_txn *)t;
	struct pg_params p = {0};
	PGresult *res;
	int rc = 0;

	param_text(&p, prefix);
	if ((res = pg_exec(pt, ST_SETTINGS_LIST, &p)) == NULL)
		return pt->err;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		struct row r = {res, i, false};
		char name[64];
		int64_t v;

		col_str(&r, 0, name, sizeof(name));
		v = col_i64(&r, 1);
		rc = r.bad ? corrupt("setting") : fn(arg, name, (uint64_t)v);
	}
	pg_clear(res);
	return rc;
}
