/*
 * SIGHUP's reload (reload.h): the configuration is built again from the
 * same file and flags, validated whole, and then applied one part at a
 * time, each part either taken in full or refused with a log line.
 */
#include "reload.h"

#include "config.h"
#include "http.h"
#include "sms.h"
#include "keys.h"
#include "templates.h"

#include <log.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

/* Whether the certificate chain and key at these paths load and match:
 * lws would otherwise leave the vhost without one. */
static bool tls_pair_ok(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	bool ok = ctx && SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
		  SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
		  SSL_CTX_check_private_key(ctx) == 1;

	SSL_CTX_free(ctx);
	return ok;
}

void reload_run(struct lws_context *context)
{
	struct authd_config *fresh = calloc(1, sizeof(*fresh));
	char err[512], changed[1024], kept[1024], templates_dir[sizeof(fresh->templates_dir)];
	bool templates_refused = false;
	int n;

	if (fresh == NULL) {
		log_err("reload: out of memory; nothing changed");
		return;
	}
	if (srv.config_build(fresh, err, sizeof(err)) != 0) {
		log_err("reload refused, nothing changed: %s", err);
		goto out;
	}
	snprintf(templates_dir, sizeof(templates_dir), "%s", srv.cfg.templates_dir);
	n = config_reload(&srv.cfg, fresh, changed, sizeof(changed), kept, sizeof(kept));
	if (strcmp(templates_dir, srv.cfg.templates_dir) != 0 || srv.cfg.templates_dir[0]) {
		/* The operator's files may have changed even where the folder
		 * did not. A set that does not load leaves the one in use. */
		if (templates_load(srv.cfg.templates_dir) != 0) {
			log_err("reload: templates of %.256s refused; the ones in use stay",
				srv.cfg.templates_dir);
			if (strcmp(templates_dir, srv.cfg.templates_dir) != 0)
				n--; /* not changed after all */
			snprintf(srv.cfg.templates_dir, sizeof(srv.cfg.templates_dir), "%s",
				 templates_dir);
			templates_refused = true;
		}
	}
	log_set_level((enum log_level)log_level_parse(srv.cfg.log_level));
	log_set_format((enum log_format)log_format_parse(srv.cfg.log_format));
	log_limit_set(
	    &(struct log_limits){srv.cfg.log_refusal_burst, srv.cfg.log_refusal_interval_s,
				 srv.cfg.log_refusal_lines_max, srv.cfg.log_refusal_summaries_max});
	sms_setup(&srv.cfg);
	if (srv.cfg.tls_cert[0]) {
		if (tls_pair_ok(srv.cfg.tls_cert, srv.cfg.tls_key)) {
			lws_tls_cert_updated(context, srv.cfg.tls_cert, srv.cfg.tls_key, NULL, 0,
					     NULL, 0);
			log_info("reload: TLS certificate read again from %.256s",
				 srv.cfg.tls_cert);
		} else {
			log_err("reload: the TLS certificate %.256s and key %.256s do not load or "
				"match; the ones in use stay",
				srv.cfg.tls_cert, srv.cfg.tls_key);
		}
	}
	/* The key file's generations (keys.h): a new one to open what other
	 * nodes seal with it, or one dropped. Its root never changes. */
	(void)keys_reload();
	if (kept[0])
		log_warn("reload: these need a restart and were kept: %s", kept);
	log_info("configuration reloaded: %d values changed%s%s%s", n, changed[0] ? ": " : "",
		 changed, templates_refused ? " (templates refused)" : "");
out:
	OPENSSL_cleanse(fresh, sizeof(*fresh)); /* it holds credentials */
	free(fresh);
}
