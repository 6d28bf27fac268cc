/*
 * loadgen: the benchmark's HTTP/1.1 keep-alive load generator. It owns the
 * client side only: it reads a list of requests (one a line: METHOD, PATH,
 * BODY, BEARER, tab-separated, the last two may be empty), keeps -c
 * connections to 127.0.0.1:PORT busy with one request each at a time (authd
 * refuses pipelining), and prints one JSON line with the count, the rate, the
 * statuses and the latency percentiles. Without -r every line is sent exactly
 * once; with -r the list repeats until -d seconds have passed. One thread on
 * edge-triggered epoll, because on a 2-core machine every cycle it spends is
 * taken from the server it measures. With -s each connection comes from its
 * own loopback address, as real clients would. With -o it also writes each
 * response ("index TAB status TAB body"), for the fixture phases that need
 * the tokens and secrets authd hands out. With -p PORT,PORT,... the
 * connections take the ports in turn (connection i goes to port i mod n), to
 * spread the load over several authd nodes sharing one database. With -R
 * RATE the load is open-loop: a request is due every 1/RATE s whether or
 * not the ones before were answered, and its latency counts from when it
 * was due (a server that falls behind shows it, instead of slowing the
 * client down).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_INITIAL 16384
#define MAX_EVENTS  256
#define STATUS_MAX  600
#define PORTS_MAX   16

struct request {
	char *text; /* the whole request, headers and body */
	size_t len;
};

struct conn {
	unsigned id; /* which connection: picks its source address with -s */
	int fd;
	bool connected;
	bool busy;    /* a request is assigned and not yet answered */
	bool waiting; /* -R: free, waiting for the next request to fall due */
	enum { C_WRITING, C_READING } state;
	size_t req;
	size_t sent;
	char *buf;
	size_t len, cap;
	size_t header_end;   /* 0 until the blank line is seen */
	long content_length; /* -1: absent, the body runs to the close */
	int status;
	bool close_after;
	double started;
};

struct opts {
	int port;	      /* the first of ports: the Host header's */
	int ports[PORTS_MAX]; /* connection i goes to ports[i % nports] */
	unsigned nports;
	unsigned conns;
	const char *file;
	const char *out_file;
	double max_seconds; /* 0: no limit */
	bool repeat;
	bool spread; /* each connection from its own 127.x.y.z */
	double rate; /* -R: requests a second; 0: as fast as answered */
};

static struct opts opt = {.conns = 16};
static struct request *reqs;
static size_t nreqs;
static int epfd = -1;
static FILE *out;

/* Progress and results. */
static size_t issued;
static size_t completed;
static size_t errors;
static unsigned active;
static unsigned long status_count[STATUS_MAX];
static uint32_t *lat_us;
static size_t lat_len, lat_cap;
static double t_start, t_last;
static bool stopping;
/* -R: when the next request falls due, and the free connections waiting
 * for it, first come first served (a stack would leave the ones at its
 * bottom idle until authd's keep-alive timeout closed them). */
static double next_slot;
static struct conn **waiting; /* a ring of opt.conns */
static size_t nwaiting, wait_head;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		die("out of memory");
	return q;
}

/* Formats one request line into its wire form once, up front, so that the
 * hot loop only copies bytes. */
static void build_request(struct request *r, const char *method, const char *path, const char *body,
			  const char *bearer, const char *header)
{
	size_t blen = strlen(body);
	bool has_length = blen > 0 || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0);
	size_t cap = strlen(method) + strlen(path) + strlen(bearer) + strlen(header) + blen + 256;
	int n;

	r->text = xrealloc(NULL, cap);
	n = snprintf(r->text, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path,
		     opt.port);
	if (blen)
		n += snprintf(r->text + n, cap - (size_t)n, "Content-Type: application/json\r\n");
	if (bearer[0])
		n += snprintf(r->text + n, cap - (size_t)n, "Authorization: Bearer %s\r\n", bearer);
	if (header[0]) /* one more header line, as "Name: value" */
		n += snprintf(r->text + n, cap - (size_t)n, "%s\r\n", header);
	/* authd waits for a body when a POST says nothing: say 0. */
	if (has_length)
		n += snprintf(r->text + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(r->text + n, cap - (size_t)n, "\r\n");
	memcpy(r->text + n, body, blen);
	r->len = (size_t)n + blen;
}

static void load_requests(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t lcap = 0, rcap = 0;
	ssize_t n;

	if (f == NULL)
		die(path);
	while ((n = getline(&line, &lcap, f)) >= 0) {
		const char *field[5] = {"", "", "", "", ""};
		char *p = line;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		for (int i = 0; i < 5 && p; i++) {
			char *tab = strchr(p, '\t');

			if (tab)
				*tab = '\0';
			field[i] = p;
			p = tab ? tab + 1 : NULL;
		}
		if (field[1][0] == '\0') {
			fprintf(stderr, "loadgen: %s: a line without a path\n", path);
			exit(2);
		}
		if (nreqs == rcap) {
			rcap = rcap ? 2 * rcap : 1024;
			reqs = xrealloc(reqs, rcap * sizeof(*reqs));
		}
		build_request(&reqs[nreqs++], field[0], field[1], field[2], field[3], field[4]);
	}
	free(line);
	fclose(f);
}

static bool past_deadline(double t)
{
	return opt.max_seconds > 0 && t - t_start >= opt.max_seconds;
}

static void record_latency(double seconds)
{
	if (lat_len == lat_cap) {
		lat_cap = lat_cap ? 2 * lat_cap : 65536;
		lat_us = xrealloc(lat_us, lat_cap * sizeof(*lat_us));
	}
	lat_us[lat_len++] = (uint32_t)(seconds * 1e6);
}

/* Closes c's socket; epoll forgets a closed descriptor by itself. */
static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->connected = false;
}

static void conn_drop(struct conn *c)
{
	conn_close(c);
	if (c->busy)
		errors++;
	c->busy = false;
	active--;
}

/* Gives c its next request; false when there is none left (c is dropped). */
static bool conn_next(struct conn *c)
{
	double t = now_s();

	if (stopping || past_deadline(t) || (!opt.repeat && issued >= nreqs)) {
		conn_drop(c);
		return false;
	}
	if (opt.rate > 0) {
		if (t < next_slot) {
			c->waiting = true;
			waiting[(wait_head + nwaiting++) % opt.conns] = c;
			return false;
		}
		t = next_slot; /* its latency counts from when it was due */
		next_slot += 1.0 / opt.rate;
	}
	c->req = issued++ % nreqs;
	c->busy = true;
	c->state = C_WRITING;
	c->sent = 0;
	c->len = 0;
	c->header_end = 0;
	c->content_length = -1;
	c->status = 0;
	c->close_after = false;
	c->started = t;
	return true;
}

static bool conn_open(struct conn *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)opt.ports[c->id % opt.nports])};
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data.ptr = c};
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	/* Requests are one small write each: do not let Nagle hold them. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.spread) {
		/* Clients come from many addresses; authd throttles per address,
		 * so one address for all would measure its limits instead. */
		struct sockaddr_in src = {.sin_family = AF_INET};

		src.sin_addr.s_addr = htonl(0x7f010002u + (c->id / 250) * 256 + c->id % 250);
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
			die("bind");
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		conn_close(c);
		return false;
	}
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl");
	return true;
}

/* A fresh connection for c, carrying its next request (if any). */
static void conn_reopen(struct conn *c)
{
	conn_close(c);
	if (!conn_open(c)) {
		conn_drop(c);
		return;
	}
	conn_next(c);
}

static void write_body(const char *p, size_t n)
{
	/* One response a line: flatten the (compact) JSON's rare line breaks. */
	for (size_t i = 0; i < n; i++)
		fputc(p[i] == '\n' || p[i] == '\r' || p[i] == '\t' ? ' ' : p[i], out);
}

static void conn_finish(struct conn *c)
{
	double t = now_s();
	size_t blen = c->len - c->header_end;

	if (c->content_length >= 0 && (size_t)c->content_length < blen)
		blen = (size_t)c->content_length;
	completed++;
	t_last = t;
	if (c->status > 0 && c->status < STATUS_MAX)
		status_count[c->status]++;
	record_latency(t - c->started);
	if (out) {
		fprintf(out, "%zu\t%d\t", c->req, c->status);
		write_body(c->buf + c->header_end, blen);
		fputc('\n', out);
	}
	c->busy = false;
}

/* Parses what c has read. Returns 1 for a whole response, 0 for more, -1 for
 * something that is not HTTP. */
static int conn_parse(struct conn *c)
{
	if (c->header_end == 0) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		char *line;

		if (end == NULL)
			return 0;
		c->header_end = (size_t)(end - c->buf) + 4;
		if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
			return -1;
		c->status = (int)strtol(c->buf + 9, NULL, 10);
		*end = '\0'; /* the headers become one string; the body follows */
		for (line = strstr(c->buf, "\r\n"); line; line = strstr(line, "\r\n")) {
			line += 2;
			if (strncasecmp(line, "content-length:", 15) == 0)
				c->content_length = strtol(line + 15, NULL, 10);
			else if (strncasecmp(line, "connection:", 11) == 0)
				c->close_after = strncasecmp(line + 11 + strspn(line + 11, " "),
							     "close", 5) == 0;
		}
		*end = '\r';
	}
	if (c->content_length >= 0 && c->len - c->header_end >= (size_t)c->content_length)
		return 1;
	return 0;
}

static void conn_io(struct conn *c, uint32_t events)
{
	if (!c->connected) {
		int err = 0;
		socklen_t elen = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
			conn_drop(c);
			return;
		}
		c->connected = true;
	}
	while (c->busy) {
		ssize_t n;

		if (c->state == C_WRITING) {
			const struct request *r = &reqs[c->req];

			n = send(c->fd, r->text + c->sent, r->len - c->sent, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN)
					return;
				errors++;
				c->busy = false;
				conn_reopen(c);
				return;
			}
			c->sent += (size_t)n;
			if (c->sent == r->len)
				c->state = C_READING;
			continue;
		}
		if (c->cap - c->len < 4096) {
			c->cap = c->cap ? 2 * c->cap : BUF_INITIAL;
			c->buf = xrealloc(c->buf, c->cap);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* Closed: a whole response only if it had no length. */
			if (n == 0 && c->header_end && c->content_length < 0)
				conn_finish(c);
			else
				errors++;
			c->busy = false;
			conn_reopen(c);
			return;
		}
		c->len += (size_t)n;
		switch (conn_parse(c)) {
		case 0:
			continue;
		case 1:
			conn_finish(c);
			if (c->close_after) {
				/* The new socket reports itself once connected. */
				conn_reopen(c);
				return;
			}
			/* Send the next request and read to EAGAIN again:
			 * edge-triggered epoll does not repeat an event. */
			conn_next(c);
			continue;
		default:
			errors++;
			c->busy = false;
			conn_reopen(c);
			return;
		}
	}
}

/* -R: gives the waiting connections the requests now due. */
static void dispatch(void)
{
	double t = now_s();

	while (nwaiting > 0 && t >= next_slot && !past_deadline(t)) {
		struct conn *c = waiting[wait_head];

		wait_head = (wait_head + 1) % opt.conns;
		nwaiting--;
		c->waiting = false;
		if (conn_next(c))
			conn_io(c, EPOLLOUT);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double percentile_ms(double q)
{
	size_t i;

	if (lat_len == 0)
		return 0;
	i = (size_t)(q * (double)(lat_len - 1) + 0.5);
	return lat_us[i] / 1000.0;
}

static void report(double seconds, size_t incomplete)
{
	bool first = true;

	qsort(lat_us, lat_len, sizeof(*lat_us), cmp_u32);
	printf("{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"status\":{", completed, seconds,
	       seconds > 0 ? (double)completed / seconds : 0.0);
	for (int s = 0; s < STATUS_MAX; s++) {
		if (status_count[s] == 0)
			continue;
		printf("%s\"%d\":%lu", first ? "" : ",", s, status_count[s]);
		first = false;
	}
	printf("},\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"errors\":%zu,\"incomplete\":%zu,"
	       "\"connections\":%u}\n",
	       percentile_ms(0.50), percentile_ms(0.99), errors, incomplete, opt.conns);
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: loadgen -p PORT[,PORT...] -f FILE [-c CONNS] [-d SECONDS] [-r] [-s] [-o OUT]\n"
	    "               [-R RATE]\n"
	    "  FILE: one request a line, METHOD TAB PATH [TAB BODY [TAB BEARER]]\n"
	    "  several ports: connection i goes to the (i mod n)-th\n"
	    "  -r repeats the list until -d seconds have passed (needs -d)\n"
	    "  -s sends each connection from its own address, 127.1.0.2 and up\n"
	    "  -o writes every response as: index TAB status TAB body\n"
	    "  -R sends RATE requests a second (open loop; latency from when each was due)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];
	struct conn *conns;
	size_t incomplete = 0;
	double seconds;
	int ch;

	while ((ch = getopt(argc, argv, "c:p:f:d:rso:R:")) != -1) {
		switch (ch) {
		case 'c':
			opt.conns = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p': {
			char *p = optarg, *end;

			opt.nports = 0;
			do {
				long port = strtol(p, &end, 10);

				if (end == p || opt.nports == PORTS_MAX || port <= 0 ||
				    port > 65535)
					usage();
				opt.ports[opt.nports++] = (int)port;
				p = *end == ',' ? end + 1 : end;
			} while (*end == ',');
			if (*end != '\0')
				usage();
			opt.port = opt.ports[0];
			break;
		}
		case 'f':
			opt.file = optarg;
			break;
		case 'd':
			opt.max_seconds = strtod(optarg, NULL);
			break;
		case 'r':
			opt.repeat = true;
			break;
		case 's':
			opt.spread = true;
			break;
		case 'o':
			opt.out_file = optarg;
			break;
		case 'R':
			opt.rate = strtod(optarg, NULL);
			if (opt.rate <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (opt.nports == 0 || opt.file == NULL || opt.conns == 0 ||
	    (opt.repeat && opt.max_seconds <= 0))
		usage();
	load_requests(opt.file);
	if (nreqs == 0) {
		report(0, 0);
		return 0;
	}
	if (opt.out_file && (out = fopen(opt.out_file, "w")) == NULL)
		die(opt.out_file);
	if (!opt.repeat && opt.conns > nreqs)
		opt.conns = (unsigned)nreqs;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	conns = calloc(opt.conns, sizeof(*conns));
	waiting = calloc(opt.conns, sizeof(*waiting));
	if (conns == NULL || waiting == NULL)
		die("out of memory");
	t_start = t_last = next_slot = now_s();
	for (unsigned i = 0; i < opt.conns; i++) {
		conns[i].id = i;
		conns[i].fd = -1;
		active++;
		if (!conn_open(&conns[i]))
			conn_drop(&conns[i]);
		else
			conn_next(&conns[i]);
	}
	while (active > 0) {
		int timeout = -1;
		int n;

		if (opt.max_seconds > 0) {
			double left = t_start + opt.max_seconds - now_s();

			if (left <= 0)
				break;
			timeout = (int)(left * 1000) + 1;
		}
		if (nwaiting > 0) {
			double due = next_slot - now_s();
			int ms = due > 0 ? (int)(due * 1000) + 1 : 0;

			if (timeout < 0 || ms < timeout)
				timeout = ms;
		}
		n = epoll_wait(epfd, events, MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;

			/* A connection dropped earlier in this batch has no socket. */
			if (c->fd >= 0)
				conn_io(c, events[i].events);
		}
		dispatch();
	}
	stopping = true;
	/* Repeating runs end at the deadline; single-pass runs when the last
	 * answer arrives (or at the deadline, with the rest counted). */
	seconds = (opt.repeat || active > 0) ? now_s() - t_start : t_last - t_start;
	for (unsigned i = 0; i < opt.conns; i++) {
		if (conns[i].busy)
			incomplete++;
		conn_close(&conns[i]);
		free(conns[i].buf);
	}
	if (!opt.repeat)
		incomplete += nreqs - issued;
	report(seconds, incomplete);
	if (out && fclose(out) != 0)
		die(opt.out_file);
	for (size_t i = 0; i < nreqs; i++)
		free(reqs[i].text);
	free(reqs);
	free(conns);
	free(lat_us);
	close(epfd);
	return 0;
}
