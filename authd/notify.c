/*
 * Security notifications (notify.h): which events send one, and the
 * values their templates get.
 */
#include "notify.h"

#include <recovery.h>

#include "geoip.h"
#include "outbox.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool enabled;
static char base_url[300];

void notify_setup(const struct authd_config *c, const char *url)
{
	enabled = c->notify;
	snprintf(base_url, sizeof(base_url), "%s", url);
}

const char *notify_base_url(void)
{
	return base_url;
}

void notify_time(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Queues template `name` to the account's email (read in txn). */
static int queue_notice(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
			const char *name, int64_t now, const char *ip, const char *browser)
{
	struct recovery_rec rec;
	struct account a;
	char when[32], where[128];
	const char *to;
	int rc;

	if ((rc = store_account_get(txn, account_id, &a)) != 0)
		return rc == STORE_E_NOTFOUND ? 0 : rc;
	memset(&rec, 0, sizeof(rec));
	to = a.email;
	/* Its login email was deleted: the verified recovery email is told
	 * instead, until there is a new login email (none: nobody). */
	if (core_login_is_recovery(a.email)) {
		rc = store_recovery_get(txn, account_id, &rec);
		to = rc == 0 && rec.email_verified && rec.email[0] ? rec.email : NULL;
	}
	if (to) {
		notify_time(now, when, sizeof(when));
		geoip_locate(ip && ip[0] ? ip : "", where, sizeof(where));
		const struct template_var vars[] = {
		    {"email", a.email},	 {"time", when},       {"ip", ip && ip[0] ? ip : "unknown"},
		    {"location", where}, {"browser", browser}, {"base_url", base_url},
		};
		const struct outbox_item it = {
		    .channel = OUTBOX_EMAIL,
		    .account_id = account_id,
		    .to = to,
		    .template_name = name,
		    .vars = vars,
		    .nvars = sizeof(vars) / sizeof(vars[0]),
		    .now = now,
		};

		rc = outbox_queue(txn, &it);
	}
	OPENSSL_cleanse(a.pw_hash, sizeof(a.pw_hash));
	OPENSSL_cleanse(&rec, sizeof(rec));
	return rc;
}

int notify_event(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN],
		 enum security_event_kind kind, int64_t now, const char *ip)
{
	const char *name = core_event_name(kind);

	if (!enabled || !template_exists(name))
		return 0;
	return queue_notice(txn, account_id, name, now, ip, "unknown");
}

int notify_place(struct store_txn *txn, const uint8_t account_id[AUTHD_ID_LEN], uint64_t net,
		 bool browser_known, int64_t now, const char *ip, const char *browser)
{
	struct places_rec p;
	bool fresh, write;
	int rc;

	if (!enabled)
		return 0;
	if ((rc = store_places_get(txn, account_id, &p)) != 0)
		return rc;
	fresh = core_place_note(&p, net, browser_known, now, &write);
	if (write && (rc = store_places_put(txn, account_id, &p)) != 0)
		return rc;
	return fresh ? queue_notice(txn, account_id, "new_location", now, ip, browser) : 0;
}
