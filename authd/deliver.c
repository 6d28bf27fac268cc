/*
 * The outbox's transports (deliver.h). One libcurl handle per transport,
 * reused so that its connection stays open between messages.
 *
 * An email is an RFC 5322 message: Date (when it was queued), From, To,
 * Subject (RFC 2047 when not ASCII), Message-ID <id@authd> (the same on
 * every attempt, so a receiver can drop a repeat), text/plain UTF-8,
 * Auto-Submitted. A 550, 551 or 553 from the server refuses the recipient
 * for good; anything else is tried again later. A webhook's 2xx delivers,
 * its 4xx (but 408 and 429) refuses, anything else is tried again.
 */
#include "deliver.h"

#include "http.h" /* json_wipe_decref */

#include <log.h>
#include <util.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 5
#define TOTAL_TIMEOUT_S	  30

static const struct authd_config *cfg;
static char spool[600];
static char mail_from[256]; /* the bare address of [smtp] from */
static CURL *smtp, *sms;

const char *deliver_transport(enum outbox_channel ch)
{
	if (ch == OUTBOX_EMAIL)
		return cfg && cfg->smtp_url[0] ? "smtp" : "spool";
	return cfg && cfg->sms_url[0] ? "webhook" : "spool";
}

int deliver_setup(const struct authd_config *c)
{
	const char *lt, *gt;

	cfg = c;
	if (c->spool_dir[0])
		snprintf(spool, sizeof(spool), "%s", c->spool_dir);
	else
		snprintf(spool, sizeof(spool), "%s/spool", c->data_dir);
	lt = strrchr(c->smtp_from, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt && gt > lt + 1)
		snprintf(mail_from, sizeof(mail_from), "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(mail_from, sizeof(mail_from), "%s", c->smtp_from);
	if ((!c->smtp_url[0] || !c->sms_url[0]) && mkdir(spool, 0700) != 0 && errno != EEXIST) {
		log_err("cannot create the spool folder %.512s: %s", spool, strerror(errno));
		return -1;
	}
	log_info("outbox: email by %s, SMS by %s%s%.512s", deliver_transport(OUTBOX_EMAIL),
		 deliver_transport(OUTBOX_SMS), !c->smtp_url[0] || !c->sms_url[0] ? ", spool " : "",
		 !c->smtp_url[0] || !c->sms_url[0] ? spool : "");
	return 0;
}

void deliver_release(void)
{
	if (smtp)
		curl_easy_cleanup(smtp);
	if (sms)
		curl_easy_cleanup(sms);
	smtp = sms = NULL;
}

/* --- the text of an email ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap, off;
};

static int put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = malloc(cap);

		if (p == NULL)
			return -1;
		if (b->p) {
			memcpy(p, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int puts_(struct buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

static void buf_release(struct buf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	*b = (struct buf){0};
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The Subject header's value: as is when ASCII, else RFC 2047 base64. */
static int put_subject(struct buf *b, const char *subject)
{
	size_t n = strlen(subject);
	char *enc;
	int rc;

	if (ascii(subject))
		return puts_(b, subject);
	if ((enc = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return -1;
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)subject, (int)n);
	rc = puts_(b, "=?UTF-8?B?") || puts_(b, enc) || puts_(b, "?=");
	free(enc);
	return rc ? -1 : 0;
}

static int email_text(const struct deliver_msg *m, struct buf *b)
{
	char date[64];
	time_t t = (time_t)m->created_at;
	struct tm tm;
	int rc = 0;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	rc |= puts_(b, "Date: ") || puts_(b, date) || puts_(b, "\r\nFrom: ") ||
	      puts_(b, cfg->smtp_from) || puts_(b, "\r\nTo: ") || puts_(b, m->to) ||
	      puts_(b, "\r\nSubject: ") || put_subject(b, m->subject) ||
	      puts_(b, "\r\nMessage-ID: <") || puts_(b, m->id) ||
	      puts_(b, "@authd>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
		       "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nAuto-Submitted: "
		       "auto-generated\r\n\r\n");
	/* The body's lines end in CRLF. */
	for (const char *p = m->body; rc == 0 && *p; p++)
		rc = *p == '\n' ? puts_(b, "\r\n") : put(b, p, 1);
	return rc ? -1 : 0;
}

/* --- the spool ---------------------------------------------------------------------- */

static enum outbox_outcome to_spool(const struct deliver_msg *m, char *why, size_t why_size)
{
	char path[700], tmp[710];
	struct buf b = {0};
	enum outbox_outcome o = OUTBOX_TRY_AGAIN;
	int fd = -1, dfd = -1;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.%s", spool, m->id,
		 m->channel == OUTBOX_EMAIL ? "eml" : "sms");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (m->channel == OUTBOX_EMAIL)
		rc = email_text(m, &b);
	else
		rc = puts_(&b, "To: ") || puts_(&b, m->to) || puts_(&b, "\n\n") ||
		     puts_(&b, m->body);
	if (rc != 0) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	/* Written whole, synced, then renamed: a file in the spool is a
	 * whole message, and a message delivered again replaces its file. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len || fsync(fd) != 0 ||
	    rename(tmp, path) != 0) {
		snprintf(why, why_size, "spool: %s", strerror(errno));
		unlink(tmp);
		goto out;
	}
	if ((dfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		fsync(dfd);
	o = OUTBOX_DELIVERED;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	buf_release(&b);
	return o;
}

/* --- SMTP ----------------------------------------------------------------------------- */

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (n > b->len - b->off)
		n = b->len - b->off;
	memcpy(dst, b->p + b->off, n);
	b->off += n;
	return n;
}

static void common_opts(CURL *h)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)TOTAL_TIMEOUT_S);
	if (cfg->smtp_ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->smtp_ca_file);
}

static enum outbox_outcome by_smtp(const struct deliver_msg *m, char *why, size_t why_size)
{
	struct curl_slist *rcpt = NULL;
	struct buf b = {0};
	enum outbox_outcome o = OUTBOX_TRY_AGAIN;
	long code = 0;
	CURLcode rc;

	if (smtp == NULL && (smtp = curl_easy_init()) == NULL) {
		snprintf(why, why_size, "smtp: cannot make a handle");
		return o;
	}
	if (email_text(m, &b) != 0 || (rcpt = curl_slist_append(NULL, m->to)) == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	curl_easy_reset(smtp);
	common_opts(smtp);
	curl_easy_setopt(smtp, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(smtp, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(smtp, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(smtp, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(smtp, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(smtp, CURLOPT_READDATA, &b);
	curl_easy_setopt(smtp, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(smtp, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b.len);
	if (cfg->smtp_starttls)
		curl_easy_setopt(smtp, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_username[0]) {
		curl_easy_setopt(smtp, CURLOPT_USERNAME, cfg->smtp_username);
		curl_easy_setopt(smtp, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	rc = curl_easy_perform(smtp);
	curl_easy_getinfo(smtp, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		o = OUTBOX_DELIVERED;
	} else {
		o = code == 550 || code == 551 || code == 553 ? OUTBOX_REJECTED : OUTBOX_TRY_AGAIN;
		snprintf(why, why_size, "smtp: %s (reply %ld)", curl_easy_strerror(rc), code);
	}
out:
	curl_slist_free_all(rcpt);
	buf_release(&b);
	return o;
}

/* --- the SMS webhook ------------------------------------------------------------------ */

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

static enum outbox_outcome by_webhook(const struct deliver_msg *m, char *why, size_t why_size)
{
	struct curl_slist *headers = NULL;
	json_t *body =
	    json_pack("{s:i,s:s,s:s,s:s}", "v", 1, "id", m->id, "to", m->to, "text", m->body);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char auth[600];
	enum outbox_outcome o = OUTBOX_TRY_AGAIN;
	long code = 0;
	CURLcode rc;

	if (sms == NULL && (sms = curl_easy_init()) == NULL) {
		snprintf(why, why_size, "webhook: cannot make a handle");
		goto out;
	}
	if (text == NULL) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (cfg->sms_authorization[0]) {
		snprintf(auth, sizeof(auth), "Authorization: %s", cfg->sms_authorization);
		headers = curl_slist_append(headers, auth);
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	curl_easy_reset(sms);
	common_opts(sms);
	curl_easy_setopt(sms, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(sms, CURLOPT_URL, cfg->sms_url);
	curl_easy_setopt(sms, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(sms, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(sms, CURLOPT_WRITEFUNCTION, discard_cb);
	rc = curl_easy_perform(sms);
	curl_easy_getinfo(sms, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		o = OUTBOX_DELIVERED;
	} else if (rc == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429) {
		o = OUTBOX_REJECTED;
		snprintf(why, why_size, "webhook: HTTP %ld", code);
	} else {
		snprintf(why, why_size, "webhook: %s (HTTP %ld)", curl_easy_strerror(rc), code);
	}
out:
	curl_slist_free_all(headers);
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_wipe_decref(body);
	return o;
}

enum outbox_outcome deliver(const struct deliver_msg *m, char *why, size_t why_size)
{
	why[0] = '\0';
	if (m->channel == OUTBOX_EMAIL)
		return cfg->smtp_url[0] ? by_smtp(m, why, why_size) : to_spool(m, why, why_size);
	return cfg->sms_url[0] ? by_webhook(m, why, why_size) : to_spool(m, why, why_size);
}
