/*
 * authctl: the operator's command line. It speaks HTTP to authd's admin
 * socket (a Unix socket only authd's user and root can open; authd checks
 * the peer's uid again), never to LMDB or PostgreSQL behind authd's back,
 * and prints authd's JSON answers. Exit status: 0 done, 1 authd refused
 * (its problem's title on standard error), 2 usage or no connection.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/var/lib/authd/admin.sock"
#define ID_HEX	       32

static void usage(FILE *f)
{
	fprintf(f, "usage: authctl [--socket PATH] COMMAND\n"
		   "  find LOGIN             an account: id, login, organization, created, locked\n"
		   "  lock ACCOUNT           lock it: no sign-in; its sessions, API tokens and\n"
		   "                         pending logins end\n"
		   "  unlock ACCOUNT         unlock it (and forget its second factors' failures)\n"
		   "  end-sessions ACCOUNT   end every session and pending login of it\n"
		   "  events ACCOUNT [N]     its N latest security events (default 20)\n"
		   "  outbox-failures [N]    the N latest messages that could not be delivered\n"
		   "  keys                   the key generations, and what each still seals (a\n"
		   "                         census of the store: waits until done)\n"
		   "  rotate-keys [--stage]  a new key generation in the key file, sealed with\n"
		   "                         from now on (--stage: added only; see activate-key)\n"
		   "  activate-key G         every node seals with generation G from now on\n"
		   "  reseal                 seal every stored secret again with the generation\n"
		   "                         sealed with (waits until done)\n"
		   "  retire-key G           drop generation G from the key file, once nothing\n"
		   "                         is sealed with it (a census first; 10 minutes after\n"
		   "                         the switch at the earliest)\n"
		   "ACCOUNT is an account id or a login. The socket: --socket, else\n"
		   "$AUTHD_ADMIN_SOCKET, else " DEFAULT_SOCKET ".\n");
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *more = realloc(b->p, b->len + size * n + 1);

	if (more == NULL)
		return 0;
	b->p = more;
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

/* One request; the answer's JSON into *out (NULL for none). Returns the
 * HTTP status, or -1 when authd could not be reached. */
static long call(const char *sock, const char *method, const char *path, const char *body,
		 json_t **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {NULL, 0};
	char url[512];
	long status = -1;
	CURLcode cc;

	*out = NULL;
	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "http://authd%s", path);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (b.p && b.len)
			*out = json_loads(b.p, 0, NULL);
	} else {
		fprintf(stderr,
			"authctl: cannot reach authd at %s: %s (is it running, and are you root "
			"or its user?)\n",
			sock, curl_easy_strerror(cc));
	}
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* A refusal's title on stderr; 1. */
static int refused(long status, json_t *j)
{
	const char *title = json_string_value(json_object_get(j, "title"));
	const char *code = json_string_value(json_object_get(j, "code"));
	const char *detail = json_string_value(json_object_get(j, "detail"));

	fprintf(stderr, "authctl: %s%s%s (%ld %s)\n", title ? title : "refused", detail ? ": " : "",
		detail ? detail : "", status, code ? code : "");
	return 1;
}

static void print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* The account's id: ACCOUNT itself, or the id of the login it names. 0,
 * or the exit status. */
static int account_id(const char *sock, const char *account, char id[ID_HEX + 1])
{
	json_t *req, *ans = NULL;
	char *body;
	long status;
	int rc;

	if (strchr(account, '@') == NULL) {
		/* An id goes into the path: 32 hex digits and nothing else. */
		if (strlen(account) != ID_HEX || strspn(account, "0123456789abcdef") != ID_HEX) {
			fprintf(stderr,
				"authctl: %s is neither an account id (32 hex digits) nor a "
				"login\n",
				account);
			return 2;
		}
		snprintf(id, ID_HEX + 1, "%s", account);
		return 0;
	}
	req = json_pack("{s:s}", "login", account);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL)
		return 2;
	status = call(sock, "POST", "/admin/accounts/find", body, &ans);
	free(body);
	if (status < 0)
		rc = 2;
	else if (status != 200)
		rc = refused(status, ans);
	else {
		const char *v = json_string_value(json_object_get(ans, "account_id"));

		snprintf(id, ID_HEX + 1, "%s", v ? v : "");
		rc = strlen(id) == ID_HEX ? 0 : 1;
	}
	json_decref(ans);
	return rc;
}

/* A JSON body of one field; NULL when out of memory (the caller frees). */
static char *body_of(const char *name, json_t *value)
{
	json_t *req = json_pack("{s:o}", name, value);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;

	json_decref(req);
	return body;
}

/* A count or generation argument: lo..hi, else -1. */
static long number(const char *s, long lo, long hi)
{
	char *end = NULL;
	long n = strtol(s, &end, 10);

	return end && *end == '\0' && end != s && n >= lo && n <= hi ? n : -1;
}

/* POST path {"generation": G}. */
static long call_generation(const char *sock, const char *path, long g, json_t **ans)
{
	char *body = body_of("generation", json_integer(g));
	long status = body ? call(sock, "POST", path, body, ans) : -1;

	free(body);
	return status;
}

/* Starts a census or a reseal (what: "census" or "reseal") and waits for
 * it to end: the last status (500 when it stopped short, or authd
 * restarted meanwhile), or -1. */
static long run_pass(const char *sock, const char *what, json_t **ans)
{
	char path[64];
	long status;

	snprintf(path, sizeof(path), "/admin/keys/%s", what);
	status = call(sock, "POST", path, NULL, ans);
	while (status == 202 || status == 200) {
		json_t *r = json_object_get(*ans, what);

		if (!json_is_object(r))
			return 500; /* authd restarted: the pass is gone */
		if (!json_is_true(json_object_get(r, "running")))
			return json_is_true(json_object_get(r, "failed")) ? 500 : 200;
		json_decref(*ans);
		*ans = NULL;
		usleep(200 * 1000);
		status = call(sock, "GET", "/admin/keys", NULL, ans);
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"stage", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* Each command and how many arguments it takes. */
	static const struct {
		const char *name;
		int min, max;
		bool account;
	} cmds[] = {
	    {"find", 1, 1, false},	   {"lock", 1, 1, true},
	    {"unlock", 1, 1, true},	   {"end-sessions", 1, 1, true},
	    {"events", 1, 2, true},	   {"outbox-failures", 0, 1, false},
	    {"keys", 0, 0, false},	   {"rotate-keys", 0, 0, false},
	    {"activate-key", 1, 1, false}, {"reseal", 0, 0, false},
	    {"retire-key", 1, 1, false},
	};
	const char *sock = getenv("AUTHD_ADMIN_SOCKET");
	char id[ID_HEX + 1], path[256];
	const char *cmd;
	json_t *ans = NULL;
	long status = -1, n = 20;
	bool stage = false;
	int c, rc = 2, nargs;
	size_t i;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (c == 's') {
			sock = optarg;
		} else if (c == 'S') {
			stage = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (sock == NULL || sock[0] == '\0')
		sock = DEFAULT_SOCKET;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	nargs = argc - optind;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]) || nargs < cmds[i].min || nargs > cmds[i].max ||
	    (stage && strcmp(cmd, "rotate-keys") != 0)) {
		usage(stderr);
		return 2;
	}
	if ((strcmp(cmd, "events") == 0 && nargs == 2 &&
	     (n = number(argv[optind + 1], 1, 100)) < 0) ||
	    (strcmp(cmd, "outbox-failures") == 0 && nargs == 1 &&
	     (n = number(argv[optind], 1, 100)) < 0) ||
	    (strcmp(cmd, "activate-key") == 0 || strcmp(cmd, "retire-key") == 0
		 ? (n = number(argv[optind], 1, 255)) < 0
		 : false)) {
		usage(stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(id, sizeof(id), "-");
	if (cmds[i].account && (rc = account_id(sock, argv[optind], id)) != 0)
		goto out;
	if (strcmp(cmd, "find") == 0) {
		char *body = body_of("login", json_string(argv[optind]));

		status = body ? call(sock, "POST", "/admin/accounts/find", body, &ans) : -1;
		free(body);
	} else if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) {
		snprintf(path, sizeof(path), "/admin/accounts/%s/%s", id, cmd);
		status = call(sock, "POST", path, NULL, &ans);
	} else if (strcmp(cmd, "end-sessions") == 0) {
		snprintf(path, sizeof(path), "/admin/accounts/%s/sessions", id);
		status = call(sock, "DELETE", path, NULL, &ans);
	} else if (strcmp(cmd, "events") == 0) {
		snprintf(path, sizeof(path), "/admin/accounts/%s/events?limit=%ld", id, n);
		status = call(sock, "GET", path, NULL, &ans);
	} else if (strcmp(cmd, "outbox-failures") == 0) {
		snprintf(path, sizeof(path), "/admin/outbox/failures?limit=%ld", n);
		status = call(sock, "GET", path, NULL, &ans);
	} else if (strcmp(cmd, "keys") == 0) {
		status = run_pass(sock, "census", &ans);
	} else if (strcmp(cmd, "rotate-keys") == 0) {
		char *body = body_of("activate", json_boolean(!stage));

		status = body ? call(sock, "POST", "/admin/keys/rotate", body, &ans) : -1;
		free(body);
	} else if (strcmp(cmd, "activate-key") == 0) {
		status = call_generation(sock, "/admin/keys/activate", n, &ans);
	} else if (strcmp(cmd, "retire-key") == 0) {
		/* A census first: authd retires only what one found unused. */
		status = run_pass(sock, "census", &ans);
		if (status == 200) {
			json_decref(ans);
			ans = NULL;
			status = call_generation(sock, "/admin/keys/retire", n, &ans);
		}
	} else {
		status = run_pass(sock, "reseal", &ans);
	}
	if (status < 0)
		rc = 2;
	else if (status == 500 && ans && json_object_get(ans, "generations")) {
		print(ans); /* a pass stopped: what it did, and the log says why */
		fprintf(stderr, "authctl: the pass stopped before the end (see authd's log)\n");
		rc = 1;
	} else if (status >= 300)
		rc = refused(status, ans);
	else {
		if (ans)
			print(ans);
		else
			printf("%s: done (account %s)\n", cmd, id);
		rc = 0;
	}
out:
	json_decref(ans);
	curl_global_cleanup();
	return rc;
}
