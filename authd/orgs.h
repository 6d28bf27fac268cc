/*
 * What the organization handlers share: the principal's role in an
 * organization (the policy's input), the audit record every change
 * leaves, and the summary a member gets when their role or rights change.
 * All of it runs inside a flow's read or write (store.h's threads).
 */
#ifndef AUTHD_ORGS_H
#define AUTHD_ORGS_H

#include "flow.h"

#include <core.h>
#include <store.h>

/* The flow's principal's membership of org_id into *m (m->role 0 when it
 * is no member). 0 or STORE_E_*. */
int orgs_principal_member(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			  struct member *m);

/* The policy on the flow's action about org_id, with the principal's role
 * there as the resource's: the refusal (E_ORG_NOT_FOUND for an
 * organization it is not in) in f->err. 0 or STORE_E_*. */
int orgs_member_gate(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN]);

/* Files an audit record of org_id: actor (NULL: the flow's principal) did
 * `action` to subject (NULL: nothing named) from the flow's address;
 * detail is a JSON object (NULL: none; not consumed) kept as text, cut to
 * AUDIT_DETAIL_MAX. 0 or STORE_E_*. */
int orgs_audit(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
	       const uint8_t *actor, enum audit_action action, const uint8_t *subject,
	       const json_t *detail);

/* Who acts, as a notice names them: the account's name (or login email),
 * or an organization's token's name. 0 or STORE_E_*. */
#define ORGS_ACTOR_NAME_MAX (NAME_MAX_B + 1) /* holds an email or a token's name too */
int orgs_actor_name(struct flow *f, struct store_txn *txn, char *out, size_t size);

/* A member's rights and notices as the API shows them (a new reference):
 * {"account_id", "role", "external", "billing", "contacts": [...]}. */
json_t *orgs_member_json(const struct member *m);

/* Queues the summary of a member's new role and rights (m; NULL: removed
 * from the organization) to that member's login email, naming the
 * organization and who changed it. 0 or STORE_E_*. */
int orgs_member_notice(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], const struct member *m);

/*
 * Who the flow's principal is in an organization: a member (me.role set),
 * or else a legal representative or administrator of a partner
 * organization the organization let in (partner, with the relation: the
 * union of them, core_partner_merge, for one who manages several), or
 * neither. Sets f->via_partner for a partner. 0 or STORE_E_*.
 */
struct org_principal {
	struct member me;
	bool partner;
	struct partner_link link;
};
int orgs_principal(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		   struct org_principal *p);

/*
 * The gate of every billing act: the principal's say over org_id's billing,
 * or over one product's (product non-NULL: a partner's billing is then
 * that of a relation that covers it), asked of the policy for the flow's
 * action. *who is the principal found; a refusal is in f->err. 0 or
 * STORE_E_*.
 */
int orgs_billing_gate(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t *product, struct org_principal *who);

/* Whether one relation the flow's principal manages a partner of org_id
 * through both gives billing and covers product_id (*yes): the billing of
 * one product, which relations merged for access do not say; with
 * product_id NULL, a relation of all the organization's products. 0 or
 * STORE_E_*. */
int orgs_partner_bills_product(struct flow *f, struct store_txn *txn,
			       const uint8_t org_id[AUTHD_ID_LEN],
			       const uint8_t product_id[AUTHD_ID_LEN], bool *yes);

/* What the principal may do on the organization's product: a member's is
 * core_access_of over the grants to it and to its teams; a partner's,
 * every right on the products its relation covers. 0 or STORE_E_*. */
int orgs_access(struct store_txn *txn, const struct org_principal *p,
		const uint8_t product_id[AUTHD_ID_LEN], struct access *out);

/* What an organization keeps of a member who leaves it at now: grants to
 * the account, its place in teams (and their lead), and the invitations
 * it sent that are still pending (withdrawn). 0 or STORE_E_*. */
int orgs_member_forget(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], int64_t now);

/*
 * A token cannot keep a power its maker lost: revokes the tokens of org_id
 * that maker made (its pending invitations withdrawn), each a
 * token_revoked record by actor (NULL: the flow's principal) with detail
 * {"reason": reason}. For a maker removed from the organization, leaving
 * it or no longer managing it. 0 or STORE_E_*.
 */
int orgs_made_tokens_revoke(struct flow *f, struct store_txn *txn,
			    const uint8_t org_id[AUTHD_ID_LEN], const uint8_t maker[AUTHD_ID_LEN],
			    const uint8_t *actor, const char *reason);

/*
 * When every session of an account ends for cause (a password reset, a
 * lock, a second factor reset, its login email deleted): its own API
 * tokens go, and so do the organization tokens it made where it manages
 * (reason "maker_sessions_ended": whoever had the account may have made
 * them). 0 or STORE_E_*.
 */
int orgs_account_tokens_end(struct flow *f, struct store_txn *txn,
			    const uint8_t account_id[AUTHD_ID_LEN]);

/* An invitation's token: 256 random bits, base64url in its link. */
#define ORGS_INVITE_TOKEN_LEN 32
#define ORGS_INVITE_TOKEN_B64 43

/* The error an invitation that cannot be accepted answers (E_OK when it
 * can). */
enum api_error orgs_invite_error(enum invite_verdict v);

/* The SHA-256 an invitation keeps of the token as its link gave it; false
 * when the text can be no token (then no invitation has it). */
bool orgs_invite_token_hash(const char *token, size_t len, uint8_t out[AUTHD_HASH_LEN]);

/* The invitation inv (usable: the caller checked) is accepted by
 * account_id: the account becomes a member with the invited role and
 * rights, the invitation is used up, and the organization's trail says
 * so. 0 or STORE_E_*. */
int orgs_invite_accepted(struct flow *f, struct store_txn *txn, struct invite *inv,
			 const uint8_t account_id[AUTHD_ID_LEN]);

#endif
