/*
 * The error table behind errors.h. Codes are part of the API contract:
 * never rename one; add new rows instead.
 */
#include "errors.h"

#include <log.h>
#include <store.h>

static const struct api_error_info table[E__COUNT] = {
    [E_INVALID_JSON] = {400, "invalid_json", "request body is not valid json"},
    [E_INVALID_FIELD] = {400, "invalid_field", "a field has the wrong type or value"},
    [E_MISSING_FIELD] = {400, "missing_field", "a required field is missing"},
    [E_UNKNOWN_FIELD] = {400, "unknown_field", "the body has a field this endpoint does not take"},
    [E_BODY_TOO_LARGE] = {413, "body_too_large", "request body is too large"},
    [E_LENGTH_REQUIRED] = {411, "length_required",
			   "request body needs a content-length (no chunked bodies)"},
    [E_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type",
				  "request body must be application/json"},
    [E_NOT_FOUND] = {404, "not_found", "no such resource"},
    [E_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "method not allowed on this resource"},
    [E_UNSUPPORTED_VERSION] = {404, "unsupported_version", "api version not supported"},
    [E_UNAUTHENTICATED] = {401, "unauthenticated", "a valid session is required"},
    [E_SESSION_EXPIRED] = {401, "session_expired", "the session has expired"},
    [E_CSRF_FAILED] = {403, "csrf_failed", "missing or wrong csrf token"},
    [E_INVALID_CREDENTIALS] = {401, "invalid_credentials",
			       "login failed; invalid email or password"},
    [E_WRONG_PASSWORD] = {403, "wrong_password", "the current password is wrong"},
    [E_TOO_MANY_ATTEMPTS] = {429, "too_many_attempts", "too many failed attempts; retry later"},
    [E_EMAIL_TAKEN] = {409, "email_taken", "an account with this email exists"},
    [E_INVALID_EMAIL] = {400, "invalid_email", "not a valid email address"},
    [E_PASSWORD_TOO_SHORT] = {400, "password_too_short",
			      "password must have at least 8 characters"},
    [E_PASSWORD_TOO_LONG] = {400, "password_too_long", "password must have at most 128 characters"},
    [E_PASSWORD_INVALID] = {400, "password_invalid", "password must be printable utf-8 text"},
    [E_PASSWORD_BLOCKLISTED] = {400, "password_blocklisted",
				"password is too common; choose another"},
    [E_PASSWORD_CONTEXT] = {400, "password_blocklisted",
			    "password is built from the email, name or service name"},
    [E_INVALID_CODE] = {401, "invalid_code", "the code is wrong"},
    [E_CODE_REUSED] = {401, "code_reused", "the code was already used"},
    [E_LOGIN_EXPIRED] = {401, "login_expired",
			 "the login has expired or does not exist; start again"},
    [E_METHOD_NOT_ENABLED] = {400, "method_not_enabled", "this second factor is not enabled"},
    [E_TOTP_NOT_ENABLED] = {409, "totp_not_enabled", "totp is not enabled"},
    [E_TOTP_ALREADY_ENABLED] = {409, "totp_already_enabled",
				"totp is already enabled; remove it first"},
    [E_NO_PENDING_ENROLLMENT] = {409, "no_pending_enrollment",
				 "no totp enrollment is waiting for confirmation"},
    [E_REAUTH_REQUIRED] = {403, "reauth_required", "a recent second-factor proof is required"},
    [E_SECOND_FACTOR_LOCKED] =
	{403, "second_factor_locked",
	 "too many wrong codes: the second factor is locked; use a backup code"},
    [E_STORE_UNAVAILABLE] = {503, "store_unavailable", "storage is unavailable; retry later"},
    [E_OVERLOADED] = {503, "overloaded", "server is busy; retry later"},
    [E_BAD_CONTENT_LENGTH] = {400, "invalid_content_length",
			      "content-length must be one run of digits"},
    [E_HEADERS_TOO_LARGE] = {431, "headers_too_large", "request headers are too large"},
    [E_INTERNAL] = {500, "internal_error", "internal error"},
    [E_FORBIDDEN] = {403, "forbidden", "not allowed for this principal"},
    [E_DEVICE_NOT_FOUND] = {404, "device_not_found", "no such device on this account"},
    [E_SESSION_NOT_FOUND] = {404, "session_not_found", "no such session on this account"},
    [E_CODE_EXPIRED] = {410, "code_expired", "no code is waiting, or it has expired; ask again"},
    [E_INVALID_PHONE] = {400, "invalid_phone",
			 "not a mobile number in international form (+ and 8 to 15 digits)"},
    [E_SECOND_FACTOR_REQUIRED] = {400, "second_factor_required",
				  "this account has a second factor: send its code or a backup "
				  "code"},
    [E_UNSUPPORTED_SUBPROTOCOL] = {400, "unsupported_subprotocol",
				   "this websocket needs the subprotocol authd-device.v1"},
    [E_FORBIDDEN_ORIGIN] = {403, "forbidden_origin", "websocket from a foreign origin"},
    [E_PUSH_PAUSED] = {409, "push_paused",
		       "push approval is paused for this account; use another second factor"},
    [E_TOO_MANY_PUSHES] = {429, "too_many_pushes",
			   "too many push challenges for this account; retry later"},
    [E_UPGRADE_NOT_SUPPORTED] = {400, "upgrade_not_supported",
				 "only websocket upgrades of the device channel are served; authd "
				 "speaks http/1.1"},
    [E_TOO_MANY_DEVICES] = {409, "too_many_devices",
			    "the account has as many devices as it may link; remove one first"},
    [E_TOO_MANY_MESSAGES] = {429, "too_many_messages",
			     "no more text messages may be sent for now; retry later or use "
			     "another method"},
    [E_PHONE_NOT_VERIFIED] = {409, "phone_not_verified",
			      "the account has no verified mobile number; add one under its "
			      "recovery options first"},
    [E_LOGIN_EMAIL_REQUIRED] = {403, "login_email_required",
				"the account's login email was deleted: set a new one "
				"(PUT /1/me/email) before anything else"},
    [E_CASE_NOT_FOUND] = {404, "case_not_found", "no such case, or not with this token"},
    [E_CASE_CLOSED] = {409, "case_closed", "the case is decided already"},
    [E_TOO_MANY_DOCUMENTS] = {409, "too_many_documents",
			      "the case has as many documents as it may hold"},
    [E_DOCUMENT_GONE] = {410, "document_deleted",
			 "the document is deleted (72 hours after its upload, or the case "
			 "decided)"},
    [E_CASE_NO_ACCOUNT] = {409, "case_without_account",
			   "the case names no account to act on: name it (a forgotten login), "
			   "or reject the case"},
    [E_LAST_LEGAL_REP] = {409, "last_legal_representative",
			  "the account is the last legal representative of an organization "
			  "with other members: name another first"},
    [E_ORG_NOT_FOUND] = {404, "organization_not_found", "no such organization among the account's"},
    [E_MEMBER_NOT_FOUND] = {404, "member_not_found", "no such member in this organization"},
    [E_INVITATION_NOT_FOUND] = {404, "invitation_not_found", "no such invitation"},
    [E_INVITATION_EXPIRED] = {410, "invitation_expired",
			      "the invitation has expired; ask for a new one"},
    [E_INVITATION_USED] = {410, "invitation_used", "the invitation was accepted already"},
    [E_INVITATION_REVOKED] = {410, "invitation_revoked", "the invitation was withdrawn"},
    [E_INVITATION_OTHER_EMAIL] = {403, "invitation_for_another_email",
				  "the invitation is for another email: sign in with the "
				  "account of the invited address"},
    [E_ALREADY_MEMBER] = {409, "already_member", "the account is a member already"},
    [E_TOO_MANY_INVITATIONS] = {409, "too_many_invitations",
				"the organization has as many pending invitations as it may; "
				"withdraw some first"},
    [E_INVALID_TOKEN] = {401, "invalid_token", "the api token is unknown, revoked or expired"},
    [E_INSUFFICIENT_SCOPE] = {403, "insufficient_scope",
			      "the api token has no scope for this; make one that has"},
    [E_PRESENCE_REQUIRED] = {403, "presence_required",
			     "only a person signed in may do this, never an api token"},
    [E_RATE_LIMITED] = {429, "rate_limited",
			"the api token made its 60 requests of the last minute; retry later"},
    [E_TOO_MANY_TOKENS] = {409, "too_many_tokens",
			   "the account has as many api tokens as it may; revoke one first"},
    [E_TOKEN_NOT_FOUND] = {404, "token_not_found", "no such api token on this account"},
    [E_PRODUCT_NOT_FOUND] = {404, "product_not_found",
			     "no such product in this organization, or none the account may use"},
    [E_TEAM_NOT_FOUND] = {404, "team_not_found", "no such team in this organization"},
    [E_TOO_MANY_TEAMS] = {409, "too_many_teams",
			  "the member is in as many teams as one may be (64); take it out of one "
			  "first"},
    [E_SUPPORT_GRANT_NOT_FOUND] = {404, "support_grant_not_found", "no such support grant"},
    [E_TOO_MANY_SUPPORT_GRANTS] = {409, "too_many_support_grants",
				   "the organization has as many live support grants as it may; "
				   "revoke one first"},
    [E_NOT_SUPPORT_AGENT] = {409, "not_support_agent",
			     "that account is not one of the operator's support agents"},
    [E_TOO_MANY_ASSIGNEES] = {409, "too_many_assignees",
			      "the support grant has as many assigned agents as it may"},
    [E_SUPPORT_GRANT_ENDED] = {409, "support_grant_ended",
			       "the support grant was revoked or has expired"},
    [E_ASSIGNEE_NOT_FOUND] = {404, "assignee_not_found",
			      "that account is not assigned to the support grant"},
    [E_ADDRESS_NOT_FOUND] = {404, "address_not_found",
			     "no such billing address in this organization"},
    [E_TOO_MANY_ADDRESSES] = {409, "too_many_addresses",
			      "the organization has as many billing addresses as it may (20)"},
    [E_RENEW_FIRST] = {409, "renew_first",
		       "the product expires in less than 14 days: renew it first, then turn "
		       "auto-renewal on"},
    [E_NO_EXPIRY] = {409, "no_expiry", "the product has no expiry date to renew before"},
    [E_IDEMPOTENCY_KEY_REQUIRED] = {400, "idempotency_key_required",
				    "a payment needs an Idempotency-Key header of 1 to 64 "
				    "printable characters"},
    [E_IDEMPOTENCY_KEY_REUSED] = {422, "idempotency_key_reused",
				  "this Idempotency-Key was used for another payment"},
    [E_NO_BILLING_ADDRESS] = {409, "no_billing_address",
			      "the organization has no billing address to decide its currency"},
    [E_PROVIDER_UNAVAILABLE] = {502, "provider_unavailable",
				"the payment provider could not be reached: try again with the "
				"same Idempotency-Key"},
    [E_NO_PROVIDER] = {503, "provider_not_configured",
		       "no payment provider is configured for payments other than from the "
		       "prepaid balance"},
    [E_PAYMENT_NOT_FOUND] = {404, "payment_not_found", "no such payment"},
    [E_INVOICE_NOT_FOUND] = {404, "invoice_not_found", "no such invoice in this organization"},
    [E_INVOICE_NOT_PAYABLE] = {409, "invoice_not_payable",
			       "an invoice is paid, cancelled or already in a pending payment"},
    [E_INVOICE_NOT_OPEN] = {409, "invoice_not_open",
			    "only an open invoice without a pending payment can be cancelled"},
    [E_MIXED_CURRENCIES] = {409, "mixed_currencies",
			    "invoices of different currencies cannot be paid together"},
    [E_BALANCE_CHANGED] = {409, "balance_changed",
			   "the prepaid balance changed while the payment was prepared: ask "
			   "again with a new Idempotency-Key"},
    [E_ORDER_PENDING] = {409, "order_pending",
			 "the product has an open renewal invoice already: pay or cancel it"},
    [E_VOUCHER_NOT_FOUND] = {404, "voucher_not_found", "no such promotion code"},
    [E_VOUCHER_NOT_YET] = {409, "voucher_not_yet_valid", "the promotion code is not valid yet"},
    [E_VOUCHER_EXPIRED] = {409, "voucher_expired", "the promotion code has expired"},
    [E_VOUCHER_USED_UP] = {409, "voucher_used_up",
			   "the promotion code was used as often as it may be"},
    [E_VOUCHER_CURRENCY] = {409, "voucher_currency",
			    "the promotion code's amount is in another currency"},
    [E_VOUCHER_EXISTS] = {409, "voucher_exists", "a promotion code with that text exists"},
    [E_PAYMENT_NOT_PENDING] = {409, "payment_not_pending",
			       "the payment is paid or has failed already"},
    [E_KEY_FILE_READ_ONLY] = {409, "key_file_read_only",
			      "the key file is systemd's read-only copy: change the file it copies "
			      "(authd keys add or drop, as its owner), then reload"},
    [E_KEY_GENERATION_UNKNOWN] = {409, "key_generation_unknown",
				  "this node's key file holds no such generation"},
    [E_KEY_GENERATION_IN_USE] = {409, "key_generation_in_use",
				 "the generation still seals values, or is the one sealed with"},
    [E_KEY_FILE_FAILED] = {500, "key_file_failed",
			   "the key file could not be changed (the log says why)"},
    [E_KEY_GENERATION_MISSING] =
	{503, "key_generation_missing",
	 "this node's key file lacks the key generation the store seals with: "
	 "it cannot open what the other nodes seal"},
    [E_PRODUCT_BLOCKED] = {403, "product_blocked",
			   "the product is blocked until its renewal invoice is paid"},
    [E_PAYMENT_MISMATCH] = {422, "payment_mismatch", "the amount or currency is not the payment's"},
    [E_DEFAULT_ADDRESS] = {409, "default_address",
			   "the default billing address stays one: make another the default "
			   "first"},
    [E_SUBJECT_NOT_FOUND] = {404, "subject_not_found",
			     "no such member or team in this organization"},
};

const struct api_error_info *api_error_info(enum api_error e)
{
	if ((unsigned)e >= E__COUNT || table[e].code == NULL)
		AUTHD_BUG("unknown api error");
	return &table[e];
}

enum api_error api_error_from_verdict(enum core_verdict v)
{
	switch (v) {
	case CORE_OK:
		return E_OK;
	case CORE_INVALID_CODE:
		return E_INVALID_CODE;
	case CORE_CODE_REUSED:
		return E_CODE_REUSED;
	case CORE_LOGIN_EXPIRED:
		return E_LOGIN_EXPIRED;
	case CORE_THROTTLED:
		return E_TOO_MANY_ATTEMPTS;
	case CORE_FACTOR_LOCKED:
		return E_SECOND_FACTOR_LOCKED;
	case CORE_METHOD_NOT_ENABLED:
		return E_METHOD_NOT_ENABLED;
	case CORE_TOTP_NOT_ENABLED:
		return E_TOTP_NOT_ENABLED;
	case CORE_TOTP_ALREADY_ENABLED:
		return E_TOTP_ALREADY_ENABLED;
	case CORE_NO_PENDING_ENROLLMENT:
		return E_NO_PENDING_ENROLLMENT;
	case CORE_WRONG_PASSWORD:
		return E_WRONG_PASSWORD;
	case CORE_INVALID_CREDENTIALS:
		return E_INVALID_CREDENTIALS;
	case CORE_EMAIL_TAKEN:
		return E_EMAIL_TAKEN;
	case CORE_ACCOUNT_LOCKED: /* told as a wrong password */
		return E_INVALID_CREDENTIALS;
	case CORE_KEY_MISSING:
		return E_KEY_GENERATION_MISSING;
	case CORE_DAMAGED:
		break;
	}
	return E_INTERNAL;
}

enum api_error api_error_from_store(int store_rc)
{
	switch (store_rc) {
	case STORE_E_FULL:
	case STORE_E_IO:
	case STORE_E_UNAVAILABLE:
		return E_STORE_UNAVAILABLE;
	default:
		return E_INTERNAL;
	}
}
