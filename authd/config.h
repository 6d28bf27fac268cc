/*
 * authd's configuration: embedded defaults, an optional INI file, then
 * command-line flags, each overriding the one before.
 */
#ifndef AUTHD_CONFIG_H
#define AUTHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authd_config {
	char listen_addr[64];
	int listen_port;
	char data_dir[512];
	char key_file[512];	    /* empty: <data_dir>/secret.key */
	char tls_cert[512];	    /* empty: plain HTTP (behind a TLS proxy) */
	char trusted_proxies[1024]; /* CIDRs whose X-Forwarded-For is believed */
	char tls_key[512];
	char issuer[64]; /* shown in authenticator apps */
	/* How devices reach this server (linking URIs); empty: http(s) on
	 * listen_addr and the port listened on. */
	char public_url[256];
	char log_level[16];
	char log_format[16]; /* "text" or "json" (one object a line) */
	/* The refusal limiter (log.h's struct log_limits). */
	uint32_t log_refusal_burst, log_refusal_interval_s, log_refusal_lines_max,
	    log_refusal_summaries_max;
	size_t map_size_mb;   /* LMDB map size */
	char engine[16];      /* "lmdb" (embedded, default) or "postgresql" */
	char url[1024];	      /* PostgreSQL conninfo (may hold a password: never logged) */
	unsigned connections; /* PostgreSQL connection threads; 0: the engine's default */
	char node_id[64];     /* this node's name among several (logs); default: hostname */
	size_t max_body;      /* bytes of request body accepted */
	unsigned max_connections;
	unsigned workers;	  /* password hashing threads; 0 = one per core */
	unsigned pool_queue_max;  /* hashes waiting for a worker before 503 overloaded */
	unsigned signup_burst;	  /* sign-ups an address makes before it waits */
	unsigned signup_per_hour; /* sign-ups an address makes in any hour; 0: no cap */
	unsigned signup_inflight; /* sign-ups an address has under way at once */
	uint32_t argon2_m_kib;
	uint32_t argon2_t;
	uint32_t argon2_p;
	int64_t session_idle_s;
	int64_t session_absolute_s;
	int64_t login_ttl_s;	 /* a pending second-factor step */
	int64_t reauth_window_s; /* "second factor in the last few minutes" */
	int64_t enrollment_ttl_s;
	int64_t push_ttl_s;	  /* a push challenge waits this long for its answer */
	unsigned push_recheck_ms; /* a waiting page reads the store this often anyway */
	unsigned channel_ping_s;  /* a device channel silent this long is pinged, then dropped */
	char wake_url[512];	  /* the wake-up relay; empty: none */
	char wake_authorization[512]; /* its Authorization header (a secret: never logged) */
	char geoip_db[512];	      /* a MaxMind-format database; empty: locations "unknown" */
	/* The outbox: where messages go when no server is configured, the
	 * operator's templates, and how often due messages are looked for. */
	char spool_dir[512];	 /* empty: <data_dir>/spool */
	char templates_dir[512]; /* empty: the built-in templates only */
	unsigned outbox_poll_ms;
	bool notify;			/* security notifications (new location, factor changes) */
	char smtp_url[512];		/* smtp://host:port or smtps://; empty: the spool */
	char smtp_from[256];		/* the From header: "Name <address>" or an address */
	bool smtp_starttls;		/* require STARTTLS on smtp:// */
	char smtp_username[256];	/* empty: no AUTH */
	char smtp_password[256];	/* a secret: never logged */
	char smtp_ca_file[512];		/* empty: the system's CAs */
	char sms_url[512];		/* the SMS webhook (http or https); empty: the spool */
	char sms_authorization[512];	/* its Authorization header (a secret: never logged) */
	unsigned sms_account_daily_max; /* text messages an account gets in a UTC day */
	unsigned sms_prefix_daily_max;	/* ...all accounts' numbers that begin alike */
	char mail_credential[256];    /* the mail service's bearer token (a secret); empty: none */
	char metrics_credential[256]; /* Prometheus' bearer token for GET /metrics; empty: none */
	char admin_socket[512]; /* the operator's Unix socket (authctl); "": <data_dir>/admin.sock;
				   "none": no socket */
	char support_reviewers[4096]; /* account ids of the identity-verification reviewers */
	char support_agents[4096];    /* of the support staff who use support grants */
	char support_leads[4096];     /* of those who assign support grants to agents */
	/* [billing]: the payment provider (payments other than from the prepaid
	 * balance) and the secret its webhook signs with. */
	char provider_url[512];		  /* http or https; empty: no provider */
	char provider_authorization[512]; /* its Authorization header (a secret) */
	char webhook_secret[256];	  /* HMAC-SHA-256 key of X-Provider-Signature */
	char billing_staff[4096];	  /* accounts that make vouchers (ids) */
	char tax_rates[1024];		  /* "CH 8.1, LI 8.1": VAT by the address's country */
	uint32_t payment_days;		  /* an invoice is due this long after the order */
	char seller[256];		  /* who invoices: the line under an invoice's title */
	uint32_t renewal_every;		  /* seconds between the scheduler's passes */
	uint32_t block_after;		  /* days after an unpaid expiry before blocking */
	uint32_t terminate_after;	  /* days blocked before termination */
	bool test_clock;		  /* test builds only: POST /1/_test/clock */
};

/* push.h's PUSH_TTL_DEFAULT and PUSH_TTL_MAX (http_push.c checks they
 * agree; config.c is also built alone, without push/). */
#define CONFIG_PUSH_TTL_DEFAULT 120
#define CONFIG_PUSH_TTL_MAX	600

#define ARGON2_MIN_M_KIB 19456u
#define ARGON2_MIN_T	 2u

/* Fills c with the embedded defaults. */
void config_defaults(struct authd_config *c);

/*
 * Reads an INI file over c. Keys live in [server], [storage], [password],
 * [session], [totp], [push], [geoip], [outbox], [smtp], [sms], [signup] and [log];
 * an unknown key or bad value is an error.
 * Returns 0, or -1 after writing a message to err.
 */
int config_load_file(struct authd_config *c, const char *path, char *err, size_t err_size);

/* Checks cross-field rules (costs above the minimum, test clock only in a
 * test build). Returns 0, or -1 after writing a message to err. */
int config_validate(const struct authd_config *c, char *err, size_t err_size);

/*
 * A reload: copies into live the values of fresh (a whole configuration,
 * validated) that may change while authd runs ([log], [signup]'s and
 * [sms]'s figures, [outbox] templates), and names them in changed; names
 * in kept those that differ but need a restart (left as they are). Both
 * lists are "[section] key, ..." (cut at their size). Returns how many
 * values changed. Loop thread.
 */
int config_reload(struct authd_config *live, const struct authd_config *fresh, char *changed,
		  size_t changed_size, char *kept, size_t kept_size);

/* Parses "ADDR:PORT" into c. Returns 0 or -1. */
int config_set_listen(struct authd_config *c, const char *addr_port);

#endif
