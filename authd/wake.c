/*
 * The wake-up poster (wake.h): one thread, one libcurl handle reused (its
 * connection kept alive), a bounded queue. Each post is
 *
 *   POST <wake_url>  {"v":1,"token":"<wake token>"}
 *
 * with a 3-second connect and 5-second total timeout, no redirects, http
 * and https only. A transport failure or a 5xx is tried once more a second
 * later; anything else is logged and dropped. Tokens are not logged (the
 * hash prefix of one is).
 */
#include "wake.h"

#include <log.h>
#include <mp.h>
#include <util.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX      1024
#define RETRY_AFTER_MS 1000

struct item {
	char token[MP_WAKE_TOKEN_MAX + 1];
	int tries;
	int64_t not_before_ms; /* monotonic */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct item queue[QUEUE_MAX];
static unsigned head, count;
static bool running, stopping;
static pthread_t thread;
static char *url;
static struct curl_slist *headers;

bool wake_enabled(void)
{
	return running;
}

static void push_item(const struct item *it)
{
	queue[(head + count) % QUEUE_MAX] = *it;
	count++;
	pthread_cond_signal(&cond);
}

bool wake_post(const char *token)
{
	struct item it = {.tries = 0, .not_before_ms = 0};
	bool ok = false;

	if (token[0] == '\0' || strlen(token) > MP_WAKE_TOKEN_MAX)
		return false;
	snprintf(it.token, sizeof(it.token), "%s", token);
	pthread_mutex_lock(&lock);
	if (running && !stopping && count < QUEUE_MAX) {
		push_item(&it);
		ok = true;
	}
	pthread_mutex_unlock(&lock);
	if (running && !ok) {
		/* At most a line a minute, however many are dropped. */
		static int64_t logged_ms;
		static unsigned dropped;
		int64_t now = authd_mono_ms();

		dropped++;
		if (logged_ms == 0 || now - logged_ms >= 60000) {
			log_warn("wake-ups dropped: the relay's queue is full (%u since the last "
				 "line)",
				 dropped);
			logged_ms = now;
			dropped = 0;
		}
	}
	OPENSSL_cleanse(&it, sizeof(it));
	return ok;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Posts one; true when it is done with (sent, or not worth a retry). */
static bool post_one(CURL *curl, const struct item *it)
{
	char hash[AUTHD_HASH_LEN], hex[17];
	json_t *body = json_pack("{s:i, s:s}", "v", 1, "token", it->token);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	CURLcode rc;
	bool done;

	authd_sha256(it->token, strlen(it->token), (uint8_t *)hash);
	authd_hex((const uint8_t *)hash, 8, hex);
	json_decref(body);
	if (text == NULL) {
		log_warn("wake-up token=%s not sent: out of memory", hex);
		return true;
	}
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	done = rc == CURLE_OK && status < 500;
	if (rc != CURLE_OK)
		log_warn("wake-up token=%s try=%d failed: %s", hex, it->tries + 1,
			 curl_easy_strerror(rc));
	else if (status >= 300)
		log_warn("wake-up token=%s try=%d: the relay answered %ld", hex, it->tries + 1,
			 status);
	else
		log_debug("wake-up token=%s sent", hex);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return done;
}

static void *wake_main(void *arg)
{
	CURL *curl = arg;

	pthread_setname_np(pthread_self(), "authd-wake");
	pthread_mutex_lock(&lock);
	for (;;) {
		struct item it;
		int64_t now = authd_mono_ms();

		while (count == 0 && !stopping)
			pthread_cond_wait(&cond, &lock);
		if (stopping)
			break; /* best effort: what waits is dropped, not posted */
		it = queue[head];
		head = (head + 1) % QUEUE_MAX;
		count--;
		if (it.not_before_ms > now) {
			/* A retry not due yet: back of the queue, a short wait. */
			struct timespec until;

			push_item(&it);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cond, &lock, &until);
			continue;
		}
		pthread_mutex_unlock(&lock);
		if (!post_one(curl, &it) && it.tries == 0) {
			it.tries = 1;
			it.not_before_ms = authd_mono_ms() + RETRY_AFTER_MS;
			pthread_mutex_lock(&lock);
			if (count < QUEUE_MAX)
				push_item(&it);
			pthread_mutex_unlock(&lock);
		}
		OPENSSL_cleanse(&it, sizeof(it));
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	curl_easy_cleanup(curl);
	return NULL;
}

/* The scheme and host of a URL, for the log (a URL may hold credentials
 * in its user part or query). */
static const char *relay_host(const char *u)
{
	static char out[128];
	const char *host = strstr(u, "://");
	size_t n;

	host = host ? host + 3 : u;
	if (strchr(host, '@') && strchr(host, '@') < host + strcspn(host, "/?#"))
		host = strchr(host, '@') + 1;
	n = strcspn(host, "/?#");
	snprintf(out, sizeof(out), "%.*s", (int)(n > 100 ? 100 : n), host);
	return out;
}

int wake_start(const char *relay_url, const char *authorization)
{
	CURL *curl;
	char auth[600];
	sigset_t all, old;
	bool started;

	if (relay_url[0] == '\0')
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (curl = curl_easy_init()) == NULL) {
		log_err("cannot start libcurl for the wake-up relay");
		return -1;
	}
	url = strdup(relay_url);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (authorization[0]) {
		snprintf(auth, sizeof(auth), "Authorization: %s", authorization);
		headers = headers ? curl_slist_append(headers, auth) : NULL;
		OPENSSL_cleanse(auth, sizeof(auth));
	}
	if (url == NULL || headers == NULL) {
		log_err("cannot start the wake-up relay: out of memory");
		goto fail;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		log_err("this libcurl cannot be held to http and https");
		goto fail;
	}
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "authd/" AUTHD_VERSION);
	stopping = false;
	head = count = 0;
	/* No signal for this thread: SIGTERM belongs to authd's signal thread
	 * (server.c), and a thread that could take it would die of it. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&thread, NULL, wake_main, curl) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		log_err("cannot start the wake-up relay's thread");
		goto fail;
	}
	running = true;
	log_info("wake-up relay on (%s)", relay_host(url));
	return 0;
fail:
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	headers = NULL;
	free(url);
	url = NULL;
	return -1;
}

void wake_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
	OPENSSL_cleanse(queue, sizeof(queue));
	curl_slist_free_all(headers);
	headers = NULL;
	free(url);
	url = NULL;
	curl_global_cleanup();
}
