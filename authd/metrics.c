/*
 * The counters behind GET /metrics and their text. A route's requests are
 * kept per status (the statuses authd answers, one slot for any other) and
 * in one latency histogram per route and method; sign-in outcomes in a
 * small table of (method, outcome) pairs. The store's and the outbox's own
 * counters are read when the text is made.
 */
#include "metrics.h"

#include "http.h"
#include "errors.h"
#include "outbox.h"
#include "ws_device.h"

#include <store.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409,
			       410, 411, 413, 415, 422, 429, 431, 500, 502, 503};
#define N_STATUS (sizeof(statuses) / sizeof(statuses[0]) + 1) /* + other */

static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				0.1,	0.25,  0.5,    1,     2.5,  10};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct route_stats {
	unsigned long long by_status[N_STATUS];
	unsigned long long buckets[N_BOUNDS]; /* each counts those <= its bound */
	unsigned long long n;
	double sum;
};

static struct route_stats *routes; /* the table's, then page, then unmatched */
static size_t n_slots;

static struct {
	const char *method, *outcome;
	unsigned long long n;
} auths[METRICS_AUTH_MAX + 1]; /* the last: any other pair */
static size_t n_auths;

static unsigned long long refusals[E__COUNT];

int metrics_init(size_t n_routes)
{
	n_slots = n_routes + 2;
	routes = calloc(n_slots, sizeof(*routes));
	return routes ? 0 : -1;
}

void metrics_free(void)
{
	free(routes);
	routes = NULL;
	n_slots = 0;
}

static struct route_stats *slot(int route)
{
	if (routes == NULL)
		return NULL;
	if (route >= 0 && (size_t)route < n_slots - 2)
		return &routes[route];
	return &routes[n_slots - (route == METRICS_ROUTE_PAGE ? 2 : 1)];
}

void metrics_request(int route, int status, double seconds)
{
	struct route_stats *s = slot(route);
	size_t i = 0;

	if (s == NULL)
		return;
	while (i < N_STATUS - 1 && statuses[i] != status)
		i++;
	s->by_status[i]++;
	for (size_t b = 0; b < N_BOUNDS; b++)
		if (seconds <= bounds[b])
			s->buckets[b]++;
	s->n++;
	s->sum += seconds;
}

void metrics_auth(const char *method, const char *outcome)
{
	size_t i = 0;

	/* By text: the same literal may live at two addresses. */
	while (i < n_auths &&
	       (strcmp(auths[i].method, method) != 0 || strcmp(auths[i].outcome, outcome) != 0))
		i++;
	if (i == n_auths) {
		if (n_auths == METRICS_AUTH_MAX) {
			i = METRICS_AUTH_MAX;
			auths[i].method = "other";
			auths[i].outcome = "other";
		} else {
			auths[n_auths].method = method;
			auths[n_auths].outcome = outcome;
			n_auths++;
		}
	}
	auths[i].n++;
}

void metrics_refusal(int e)
{
	if (e >= 0 && e < E__COUNT)
		refusals[e]++;
}

/* A growing buffer of text; on failure it stays failed (NULL). */
struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->p == NULL)
		return;
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): clang 14's false alarm */
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		free(t->p);
		t->p = NULL;
		return;
	}
	if ((size_t)n >= t->cap - t->len) {
		size_t cap = t->cap * 2 + (size_t)n;
		char *bigger = realloc(t->p, cap);

		if (bigger == NULL) {
			free(t->p);
			t->p = NULL;
			return;
		}
		t->p = bigger;
		t->cap = cap;
	}
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): as above */
	(void)vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* The labels of slot i: its route pattern and method. */
static void labels(size_t i, const char **route, const char **method)
{
	size_t n;
	const struct route *rt = router_routes(&n);

	if (i < n) {
		*route = rt[i].pattern;
		*method = router_method_name(rt[i].method);
	} else {
		*route = i == n ? "page" : "unmatched";
		*method = i == n ? "GET" : "any";
	}
}

char *metrics_text(const struct metrics_store_view *view, size_t *len)
{
	struct text t = {malloc(16384), 0, 16384};
	struct store_stats st;
	struct outbox_counters oc;
	const char *route, *method;

	put(&t, "# HELP authd_http_requests_total HTTP requests answered, by route, method and "
		"status.\n# TYPE authd_http_requests_total counter\n");
	for (size_t i = 0; i < n_slots; i++) {
		labels(i, &route, &method);
		for (size_t k = 0; k < N_STATUS; k++) {
			if (routes[i].by_status[k] == 0)
				continue;
			if (k < N_STATUS - 1)
				put(&t,
				    "authd_http_requests_total{route=\"%s\",method=\"%s\",status="
				    "\"%d\"} "
				    "%llu\n",
				    route, method, statuses[k], routes[i].by_status[k]);
			else
				put(&t,
				    "authd_http_requests_total{route=\"%s\",method=\"%s\",status="
				    "\"other\"} "
				    "%llu\n",
				    route, method, routes[i].by_status[k]);
		}
	}
	put(&t, "# HELP authd_http_request_duration_seconds Time from a request's headers to its "
		"answer.\n# TYPE authd_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < n_slots; i++) {
		if (routes[i].n == 0)
			continue;
		labels(i, &route, &method);
		for (size_t b = 0; b < N_BOUNDS; b++)
			put(&t,
			    "authd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
			    "le=\"%g\"} %llu\n",
			    route, method, bounds[b], routes[i].buckets[b]);
		put(&t,
		    "authd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
		    "le=\"+Inf\"} %llu\n"
		    "authd_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n"
		    "authd_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
		    route, method, routes[i].n, route, method, routes[i].sum, route, method,
		    routes[i].n);
	}
	put(&t, "# HELP authd_auth_total Sign-in decisions (the password step and second factors), "
		"by method and outcome.\n# TYPE authd_auth_total counter\n");
	for (size_t i = 0; i <= METRICS_AUTH_MAX; i++)
		if (auths[i].n)
			put(&t, "authd_auth_total{method=\"%s\",outcome=\"%s\"} %llu\n",
			    auths[i].method, auths[i].outcome, auths[i].n);
	put(&t, "# HELP authd_refusals_total Requests refused, by the error code answered (every "
		"problem response).\n# TYPE authd_refusals_total counter\n");
	for (int e = 0; e < E__COUNT; e++)
		if (refusals[e])
			put(&t, "authd_refusals_total{code=\"%s\",status=\"%d\"} %llu\n",
			    api_error_info((enum api_error)e)->code,
			    api_error_info((enum api_error)e)->status, refusals[e]);
	put(&t, "# HELP authd_throttle_hits_total Requests refused by a throttle, a cap or a rate "
		"limit (429), by code.\n# TYPE authd_throttle_hits_total counter\n");
	for (int e = 0; e < E__COUNT; e++)
		if (refusals[e] && api_error_info((enum api_error)e)->status == 429)
			put(&t, "authd_throttle_hits_total{code=\"%s\"} %llu\n",
			    api_error_info((enum api_error)e)->code, refusals[e]);
	put(&t,
	    "# HELP authd_device_channels Authenticated device channels open on this node.\n"
	    "# TYPE authd_device_channels gauge\nauthd_device_channels %zu\n",
	    ws_device_channels());
	put(&t,
	    "# HELP authd_store_readable Whether the store answered this scrape's read (1) or "
	    "not (0).\n# TYPE authd_store_readable gauge\nauthd_store_readable %d\n",
	    view->store_read ? 1 : 0);
	if (view->store_read)
		put(&t,
		    "# HELP authd_outbox_pending Emails and text messages waiting for delivery "
		    "(every node's).\n# TYPE authd_outbox_pending gauge\nauthd_outbox_pending "
		    "%llu\n"
		    "# HELP authd_outbox_oldest_due_seconds How long the earliest due message has "
		    "been due (0: none is late).\n# TYPE authd_outbox_oldest_due_seconds gauge\n"
		    "authd_outbox_oldest_due_seconds %lld\n",
		    view->outbox_pending,
		    view->outbox_earliest && view->outbox_earliest < view->now
			? view->now - view->outbox_earliest
			: 0LL);
	store_stats(&st);
	outbox_counters(&oc);
	put(&t,
	    "# HELP authd_store_commits_total Write groups committed (each one durable sync).\n"
	    "# TYPE authd_store_commits_total counter\nauthd_store_commits_total %lu\n"
	    "# HELP authd_store_jobs_total Write jobs committed, in those groups.\n"
	    "# TYPE authd_store_jobs_total counter\nauthd_store_jobs_total %lu\n"
	    "# HELP authd_store_sync_seconds_total Time spent committing and syncing.\n"
	    "# TYPE authd_store_sync_seconds_total counter\nauthd_store_sync_seconds_total %.6f\n"
	    "# HELP authd_outbox_messages_total Emails and text messages, by what became of "
	    "them on this node.\n# TYPE authd_outbox_messages_total counter\n"
	    "authd_outbox_messages_total{state=\"claimed\"} %lu\n"
	    "authd_outbox_messages_total{state=\"delivered\"} %lu\n"
	    "authd_outbox_messages_total{state=\"retried\"} %lu\n"
	    "authd_outbox_messages_total{state=\"failed\"} %lu\n"
	    "authd_outbox_messages_total{state=\"not_held\"} %lu\n",
	    st.commits, st.jobs, (double)st.sync_us / 1e6, oc.claimed, oc.delivered, oc.retried,
	    oc.failed, oc.not_held);
	put(&t,
	    "# HELP authd_key_generation_sealing The key generation this node seals with.\n"
	    "# TYPE authd_key_generation_sealing gauge\nauthd_key_generation_sealing %u\n"
	    "# HELP authd_key_generation_missing Whether the store says to seal with a key "
	    "generation this node's key file lacks (1): it cannot open what the other nodes seal.\n"
	    "# TYPE authd_key_generation_missing gauge\nauthd_key_generation_missing %d\n",
	    view->key_sealing, view->key_missing ? 1 : 0);
	if (t.p == NULL)
		return NULL;
	*len = t.len;
	return t.p;
}
