/*
 * The organization handlers' shared steps (orgs.h).
 */
#include "orgs.h"

#include "notify.h"
#include "outbox.h"
#include "templates.h"

#include <log.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <util.h>

int orgs_principal_member(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			  struct member *m)
{
	int rc;

	if (f->via_token && core_token_is_org(&f->api_token)) {
		core_org_token_member(&f->api_token, org_id, m);
		return 0;
	}
	rc = store_member_get(txn, org_id, f->session.account_id, m);

	if (rc == STORE_E_NOTFOUND) {
		memset(m, 0, sizeof(*m));
		return 0;
	}
	return rc;
}

int orgs_member_gate(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN])
{
	struct policy_resource res = {.org_id = org_id};
	struct member me;
	int rc = orgs_principal_member(f, txn, org_id, &me);

	if (rc != 0)
		return rc;
	res.org_role = me.role;
	f->err = flow_decide(f, &res, E_ORG_NOT_FOUND);
	return 0;
}

int orgs_audit(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
	       const uint8_t *actor, enum audit_action action, const uint8_t *subject,
	       const json_t *detail)
{
	struct audit_rec a = {.at = f->now,
			      .via = f->service	      ? AUDIT_VIA_SYSTEM
				     : f->via_support ? AUDIT_VIA_SUPPORT
				     : f->via_partner ? AUDIT_VIA_PARTNER
				     : f->via_token   ? AUDIT_VIA_TOKEN
						      : AUDIT_VIA_SESSION,
			      .action = (uint16_t)action};
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;

	if (detail && text == NULL)
		return STORE_E_IO;
	memcpy(a.org_id, org_id, AUTHD_ID_LEN);
	memcpy(a.actor, actor ? actor : f->session.account_id, AUTHD_ID_LEN);
	if (subject)
		memcpy(a.subject, subject, AUTHD_ID_LEN);
	/* A detail too long for the record is left out (never cut inside a
	 * character or a JSON value): still a record of what happened, by
	 * whom and when. */
	snprintf(a.detail, sizeof(a.detail), "%s",
		 text == NULL			    ? ""
		 : strlen(text) <= AUDIT_DETAIL_MAX ? text
						    : "{\"truncated\":true}");
	/* The operator's staff are not the customer's to locate. */
	snprintf(a.ip, sizeof(a.ip), "%s", f->via_support || f->service ? "" : f->ip);
	free(text);
	return store_audit_add(txn, &a);
}

/* A member's teams in one organization. */
struct teams_of {
	uint8_t id[TEAMS_MAX_PER_MEMBER][AUTHD_ID_LEN];
	size_t n;
};

static int team_of_one(void *arg, const uint8_t team_id[AUTHD_ID_LEN])
{
	struct teams_of *ts = arg;

	if (ts->n < TEAMS_MAX_PER_MEMBER)
		memcpy(ts->id[ts->n++], team_id, AUTHD_ID_LEN);
	return 0;
}

struct partner_find {
	struct store_txn *txn;
	const uint8_t *account_id;
	struct org_principal *p;
};

static int partner_one(void *arg, const struct partner_link *l)
{
	struct partner_find *pf = arg;
	struct member m;
	int rc = store_member_get(pf->txn, l->partner_org, pf->account_id, &m);

	if (rc == STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (!core_role_manages(m.role))
		return 0;
	/* Managing several partners of the client: what they all give. */
	if (!pf->p->partner)
		pf->p->link = *l;
	else if (!core_partner_merge(&pf->p->link, l))
		log_warn("partner relations of one manager cover more than %d named products: "
			 "some left out",
			 PARTNER_PRODUCTS_MAX);
	pf->p->partner = true;
	return 0;
}

int orgs_principal(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		   struct org_principal *p)
{
	struct partner_find pf = {txn, f->session.account_id, p};
	int rc;

	memset(p, 0, sizeof(*p));
	f->via_partner = false;
	if ((rc = orgs_principal_member(f, txn, org_id, &p->me)) != 0 || p->me.role != 0)
		return rc;
	/* Not a member: a partner organization's manager, maybe (an
	 * organization has few partners: each is a point read). */
	rc = store_partners_list(txn, org_id, true, partner_one, &pf);
	f->via_partner = p->partner;
	return rc;
}

struct partner_bills {
	struct store_txn *txn;
	const uint8_t *account_id, *product_id;
	bool yes;
};

static int bills_one(void *arg, const struct partner_link *l)
{
	struct partner_bills *pb = arg;
	struct member m;
	int rc;

	/* No product: the billing of the whole organization, which only a
	 * relation of all its products gives. */
	if (!l->billing ||
	    (pb->product_id ? !core_partner_covers(l, pb->product_id) : !l->all_products))
		return 0;
	if ((rc = store_member_get(pb->txn, l->partner_org, pb->account_id, &m)) ==
	    STORE_E_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	pb->yes = core_role_manages(m.role);
	return pb->yes ? 1 : 0;
}

int orgs_partner_bills_product(struct flow *f, struct store_txn *txn,
			       const uint8_t org_id[AUTHD_ID_LEN],
			       const uint8_t product_id[AUTHD_ID_LEN], bool *yes)
{
	struct partner_bills pb = {txn, f->session.account_id, product_id, false};
	int rc = store_partners_list(txn, org_id, true, bills_one, &pb);

	*yes = pb.yes;
	return rc == 1 ? 0 : rc;
}

int orgs_access(struct store_txn *txn, const struct org_principal *p,
		const uint8_t product_id[AUTHD_ID_LEN], struct access *out)
{
	const struct member *m = &p->me;
	struct teams_of ts = {.n = 0};
	struct grant *g = NULL;
	size_t n = 0;
	int rc = 0;

	if (p->partner) {
		memset(out, 0, sizeof(*out));
		if (core_partner_covers(&p->link, product_id)) {
			out->rights = PRODUCT_R__ALL;
			out->all_resources = true;
			out->via = ACCESS_VIA_PARTNER;
		}
		return 0;
	}
	if (m->role == ROLE_LEGAL_REPRESENTATIVE || m->role == ROLE_ADMINISTRATOR) {
		core_access_of(m, NULL, 0, out);
		return 0;
	}
	if ((rc = store_member_teams_list(txn, m->org_id, m->account_id, team_of_one, &ts)) != 0)
		return rc;
	if ((g = calloc(ts.n + 1, sizeof(*g))) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; i <= ts.n && rc == 0; i++) {
		const uint8_t *subject = i == 0 ? m->account_id : ts.id[i - 1];

		rc = store_grant_get(txn, m->org_id, product_id, subject, &g[n]);
		if (rc == 0)
			n++;
		else if (rc == STORE_E_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		core_access_of(m, g, n, out);
	free(g);
	return rc;
}

/* An organization's pending invitations sent by one account. */
struct sent_by {
	const uint8_t *inviter;
	int64_t now;
	struct invite *v;
	size_t n, cap;
};

static int sent_one(void *arg, const struct invite *inv)
{
	struct sent_by *s = arg;

	if (!core_invite_pending(inv, s->now) ||
	    memcmp(inv->inviter, s->inviter, AUTHD_ID_LEN) != 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		void *p = realloc(s->v, cap * sizeof(*s->v));

		if (p == NULL)
			return STORE_E_IO;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = *inv;
	return 0;
}

/* Withdraws the organization's pending invitations inviter sent. */
static int invites_withdraw(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
			    const uint8_t inviter[AUTHD_ID_LEN], int64_t now)
{
	struct sent_by sent = {inviter, now, NULL, 0, 0};
	int rc = store_invites_list(txn, org_id, sent_one, &sent);

	for (size_t i = 0; rc == 0 && i < sent.n; i++) {
		sent.v[i].state = INVITE_REVOKED;
		sent.v[i].ended_at = now;
		rc = store_invite_put(txn, &sent.v[i]);
	}
	free(sent.v);
	return rc;
}

/* The organization's tokens one account made (ids). */
struct made_by {
	const uint8_t *maker;
	uint8_t id[API_TOKENS_MAX][AUTHD_ID_LEN];
	size_t n;
};

static int made_one(void *arg, const struct api_token *tok)
{
	struct made_by *mb = arg;

	if (memcmp(tok->created_by, mb->maker, AUTHD_ID_LEN) == 0 && mb->n < API_TOKENS_MAX)
		memcpy(mb->id[mb->n++], tok->id, AUTHD_ID_LEN);
	return 0;
}

int orgs_made_tokens_revoke(struct flow *f, struct store_txn *txn,
			    const uint8_t org_id[AUTHD_ID_LEN], const uint8_t maker[AUTHD_ID_LEN],
			    const uint8_t *actor, const char *reason)
{
	struct made_by mb = {.maker = maker, .n = 0};
	json_t *detail = NULL;
	int rc = store_tokens_list(txn, org_id, made_one, &mb);

	if (rc != 0 || mb.n == 0)
		return rc;
	if ((detail = json_pack("{s:s}", "reason", reason)) == NULL)
		return STORE_E_IO;
	for (size_t i = 0; rc == 0 && i < mb.n; i++)
		if ((rc = store_token_del(txn, org_id, mb.id[i])) == 0 &&
		    (rc = invites_withdraw(txn, org_id, mb.id[i], f->now)) == 0)
			rc = orgs_audit(f, txn, org_id, actor, AUDIT_TOKEN_REVOKED, mb.id[i],
					detail);
	json_decref(detail);
	return rc;
}

/* An account's organizations (ids), for the account-wide ends below. */
struct orgs_of {
	uint8_t (*id)[AUTHD_ID_LEN];
	size_t n, cap;
};

static int org_of_one(void *arg, const struct member *m)
{
	struct orgs_of *o = arg;

	if (!core_role_manages(m->role))
		return 0; /* only managers make the organization's tokens */
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 8;
		void *p = realloc(o->id, cap * sizeof(*o->id));

		if (p == NULL)
			return STORE_E_IO;
		o->id = p;
		o->cap = cap;
	}
	memcpy(o->id[o->n++], m->org_id, AUTHD_ID_LEN);
	return 0;
}

int orgs_account_tokens_end(struct flow *f, struct store_txn *txn,
			    const uint8_t account_id[AUTHD_ID_LEN])
{
	struct orgs_of o = {NULL, 0, 0};
	int rc = store_tokens_del_account(txn, account_id);

	if (rc == 0)
		rc = store_memberships_list(txn, account_id, org_of_one, &o);
	for (size_t i = 0; rc == 0 && i < o.n; i++)
		rc = orgs_made_tokens_revoke(f, txn, o.id[i], account_id, account_id,
					     "maker_sessions_ended");
	free(o.id);
	return rc;
}

int orgs_member_forget(struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], int64_t now)
{
	static const uint8_t none[AUTHD_ID_LEN];
	struct teams_of ts = {.n = 0};
	int rc;

	/* Who is gone no longer brings people in. */
	rc = invites_withdraw(txn, org_id, account_id, now);
	if (rc != 0 || (rc = store_grants_del_subject(txn, org_id, account_id)) != 0 ||
	    (rc = store_member_teams_list(txn, org_id, account_id, team_of_one, &ts)) != 0)
		return rc;
	for (size_t i = 0; i < ts.n && rc == 0; i++) {
		struct team tm;

		if ((rc = store_team_member_del(txn, org_id, ts.id[i], account_id)) != 0 ||
		    (rc = store_team_get(txn, org_id, ts.id[i], &tm)) != 0)
			break;
		if (memcmp(tm.leader, account_id, AUTHD_ID_LEN) == 0) {
			memcpy(tm.leader, none, AUTHD_ID_LEN);
			rc = store_team_put(txn, &tm);
		}
	}
	return rc == STORE_E_NOTFOUND ? 0 : rc;
}

enum api_error orgs_invite_error(enum invite_verdict v)
{
	switch (v) {
	case INVITE_OK:
		return E_OK;
	case INVITE_E_EXPIRED:
		return E_INVITATION_EXPIRED;
	case INVITE_E_USED:
		return E_INVITATION_USED;
	default:
		return E_INVITATION_REVOKED;
	}
}

bool orgs_invite_token_hash(const char *token, size_t len, uint8_t out[AUTHD_HASH_LEN])
{
	uint8_t raw[ORGS_INVITE_TOKEN_LEN];
	bool ok = authd_unb64url(token, len, raw, sizeof(raw)) == ORGS_INVITE_TOKEN_LEN;

	if (ok)
		authd_sha256(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

int orgs_invite_accepted(struct flow *f, struct store_txn *txn, struct invite *inv,
			 const uint8_t account_id[AUTHD_ID_LEN])
{
	struct member m = {.role = inv->role, .rights = inv->rights, .since = f->now};
	char by[AUTHD_ID_HEX + 1];
	json_t *detail;
	int rc;

	memcpy(m.org_id, inv->org_id, AUTHD_ID_LEN);
	memcpy(m.account_id, account_id, AUTHD_ID_LEN);
	inv->state = INVITE_ACCEPTED;
	inv->ended_at = f->now;
	memcpy(inv->account_id, account_id, AUTHD_ID_LEN);
	authd_hex(inv->inviter, AUTHD_ID_LEN, by);
	if ((detail = json_pack("{s:s, s:b, s:s}", "role", core_role_name(inv->role), "billing",
				(inv->rights & MEMBER_R_BILLING) != 0, "invited_by", by)) == NULL)
		return STORE_E_IO;
	if ((rc = store_member_put(txn, &m)) == 0 && (rc = store_invite_put(txn, inv)) == 0)
		rc = orgs_audit(f, txn, inv->org_id, account_id, AUDIT_MEMBER_ADDED, account_id,
				detail);
	json_decref(detail);
	return rc;
}

static json_t *contacts_json(unsigned contacts)
{
	json_t *list = json_array();

	for (unsigned c = 1; list && c < CONTACT__ALL; c <<= 1)
		if (contacts & c)
			json_array_append_new(list, json_string(core_contact_name(c)));
	return list;
}

json_t *orgs_member_json(const struct member *m)
{
	char id[AUTHD_ID_HEX + 1];

	authd_hex(m->account_id, AUTHD_ID_LEN, id);
	return json_pack("{s:s, s:s, s:b, s:b, s:o}", "account_id", id, "role",
			 core_role_name(m->role), "external", m->role == ROLE_EXTERNAL, "billing",
			 (m->rights & MEMBER_R_BILLING) != 0, "contacts",
			 contacts_json(m->contacts));
}

int orgs_actor_name(struct flow *f, struct store_txn *txn, char *out, size_t size)
{
	struct account by;
	int rc;

	if (f->via_token && core_token_is_org(&f->api_token)) {
		snprintf(out, size, "API token \"%s\"", f->api_token.name);
		return 0;
	}
	if ((rc = store_account_get(txn, f->session.account_id, &by)) == 0)
		snprintf(out, size, "%s", by.name[0] ? by.name : by.email);
	OPENSSL_cleanse(by.pw_hash, sizeof(by.pw_hash));
	return rc;
}

int orgs_member_notice(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		       const uint8_t account_id[AUTHD_ID_LEN], const struct member *m)
{
	struct account to;
	struct org o;
	char when[32], contacts[64] = "", by[ORGS_ACTOR_NAME_MAX];
	int rc;

	memset(&to, 0, sizeof(to));
	if ((rc = store_account_get(txn, account_id, &to)) != 0 ||
	    (rc = orgs_actor_name(f, txn, by, sizeof(by))) != 0 ||
	    (rc = store_org_get(txn, org_id, &o)) != 0)
		goto out;
	for (unsigned c = 1; m && c < CONTACT__ALL; c <<= 1)
		if (m->contacts & c)
			snprintf(contacts + strlen(contacts), sizeof(contacts) - strlen(contacts),
				 "%s%s", contacts[0] ? ", " : "", core_contact_name(c));
	notify_time(f->now, when, sizeof(when));
	{
		const struct template_var vars[] = {
		    {"organization", o.name},
		    {"by", by},
		    {"time", when},
		    {"role", m ? core_role_name(m->role) : ""},
		    {"billing", m && (m->rights & MEMBER_R_BILLING) ? "yes" : "no"},
		    {"contacts", contacts[0] ? contacts : "none"},
		    {"base_url", notify_base_url()},
		};
		const struct outbox_item it = {
		    .channel = OUTBOX_EMAIL,
		    .account_id = account_id,
		    .to = to.email,
		    .template_name = m ? "member_changed" : "member_removed",
		    .vars = vars,
		    .nvars = sizeof(vars) / sizeof(vars[0]),
		    .now = f->now,
		};

		rc = outbox_queue(txn, &it);
	}
out:
	OPENSSL_cleanse(to.pw_hash, sizeof(to.pw_hash));
	return rc;
}

int orgs_billing_gate(struct flow *f, struct store_txn *txn, const uint8_t org_id[AUTHD_ID_LEN],
		      const uint8_t *product, struct org_principal *who)
{
	struct policy_resource res = {.org_id = org_id};
	int rc = orgs_principal(f, txn, org_id, who);

	if (rc != 0)
		return rc;
	res.org_role = who->me.role;
	res.partner = who->partner;
	/* A partner's billing is a relation's that gives it over what is
	 * asked: one product, or the whole organization (merged relations
	 * lend none to another's products). */
	res.partner_billing = false;
	if (who->partner && who->link.billing &&
	    (rc = orgs_partner_bills_product(f, txn, org_id, product, &res.partner_billing)) != 0)
		return rc;
	res.actor_billing = (who->me.rights & MEMBER_R_BILLING) != 0;
	f->err = flow_decide(f, &res, E_ORG_NOT_FOUND);
	return 0;
}
