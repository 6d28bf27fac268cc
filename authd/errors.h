/*
 * The one table of API errors: each has an HTTP status, a stable machine
 * code (the `code` of the problem+json body) and a lowercase title.
 * Handlers name an enum value; they never invent strings.
 */
#ifndef AUTHD_ERRORS_H
#define AUTHD_ERRORS_H

#include <core.h>

enum api_error {
	/* Zero is an internal error, so that a decision never made (a zeroed
	 * field) never answers anything else. */
	E_INTERNAL = 0,
	E_OK, /* no error: never replied as one */
	E_INVALID_JSON,
	E_INVALID_FIELD,
	E_MISSING_FIELD,
	E_UNKNOWN_FIELD,
	E_BODY_TOO_LARGE,
	E_BAD_CONTENT_LENGTH,
	E_HEADERS_TOO_LARGE,
	E_LENGTH_REQUIRED,
	E_UNSUPPORTED_MEDIA_TYPE,
	E_NOT_FOUND,
	E_METHOD_NOT_ALLOWED,
	E_UNSUPPORTED_VERSION,
	E_UNAUTHENTICATED,
	E_SESSION_EXPIRED,
	E_CSRF_FAILED,
	E_INVALID_CREDENTIALS,
	E_WRONG_PASSWORD,
	E_TOO_MANY_ATTEMPTS,
	E_EMAIL_TAKEN,
	E_INVALID_EMAIL,
	E_PASSWORD_TOO_SHORT,
	E_PASSWORD_TOO_LONG,
	E_PASSWORD_INVALID,
	E_PASSWORD_BLOCKLISTED,
	E_PASSWORD_CONTEXT,
	E_INVALID_CODE,
	E_CODE_REUSED,
	E_LOGIN_EXPIRED,
	E_METHOD_NOT_ENABLED,
	E_TOTP_NOT_ENABLED,
	E_TOTP_ALREADY_ENABLED,
	E_NO_PENDING_ENROLLMENT,
	E_REAUTH_REQUIRED,
	E_SECOND_FACTOR_LOCKED,
	E_STORE_UNAVAILABLE,
	E_OVERLOADED,
	E_FORBIDDEN,
	E_DEVICE_NOT_FOUND,
	E_SESSION_NOT_FOUND,
	E_CODE_EXPIRED,
	E_INVALID_PHONE,
	E_SECOND_FACTOR_REQUIRED,
	E_TOO_MANY_DEVICES,
	E_UNSUPPORTED_SUBPROTOCOL,
	E_FORBIDDEN_ORIGIN,
	E_UPGRADE_NOT_SUPPORTED,
	E_PUSH_PAUSED,
	E_TOO_MANY_PUSHES,
	E_TOO_MANY_MESSAGES,
	E_PHONE_NOT_VERIFIED,
	E_LOGIN_EMAIL_REQUIRED,
	E_CASE_NOT_FOUND,
	E_CASE_CLOSED,
	E_TOO_MANY_DOCUMENTS,
	E_DOCUMENT_GONE,
	E_CASE_NO_ACCOUNT,
	E_LAST_LEGAL_REP,
	E_ORG_NOT_FOUND,
	E_MEMBER_NOT_FOUND,
	E_INVITATION_NOT_FOUND,
	E_INVITATION_EXPIRED,
	E_INVITATION_USED,
	E_INVITATION_REVOKED,
	E_INVITATION_OTHER_EMAIL,
	E_ALREADY_MEMBER,
	E_TOO_MANY_INVITATIONS,
	E_INVALID_TOKEN,
	E_INSUFFICIENT_SCOPE,
	E_PRESENCE_REQUIRED,
	E_RATE_LIMITED,
	E_TOO_MANY_TOKENS,
	E_TOKEN_NOT_FOUND,
	E_PRODUCT_NOT_FOUND,
	E_TEAM_NOT_FOUND,
	E_SUBJECT_NOT_FOUND,
	E_TOO_MANY_TEAMS,
	E__COUNT
};

struct api_error_info {
	int status;
	const char *code;
	const char *title;
};

/* The row for e; AUTHD_BUG on E_OK or an out-of-range value. */
const struct api_error_info *api_error_info(enum api_error e);

/* The error a STORE_E_* code maps to (503 for full/IO, 500 otherwise). */
enum api_error api_error_from_store(int store_rc);

/* The error a rule's verdict maps to (E_OK for CORE_OK). */
enum api_error api_error_from_verdict(enum core_verdict v);

#endif
