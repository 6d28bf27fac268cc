/*
 * argon2_rate: the ceiling for password logins. It measures how many
 * argon2id hashes per second this machine does at a given cost (m KiB, t
 * passes, p lanes) on N threads, with what authd hashes per login: one
 * argon2id_hash_raw over a 32-byte input (the peppered pre-hash) and a
 * 16-byte salt, memory allocated per hash by libargon2 as in authd. It
 * prints one JSON line and asserts nothing.
 */
#include <argon2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t thread;
	unsigned id;
	unsigned long hashes;
	double seconds;
	int rc;
};

static uint32_t m_kib = 19456, t_cost = 2, lanes = 1;
static double duration = 5;
static pthread_barrier_t start_line;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t in[32], salt[16], out[32];
	double start, t;

	/* Inputs differ per hash like real ones, though argon2id's cost does
	 * not depend on them. */
	memset(in, (int)w->id, sizeof(in));
	memset(salt, 0x5a, sizeof(salt));
	pthread_barrier_wait(&start_line);
	start = t = now_s();
	while (t - start < duration) {
		memcpy(salt, &w->hashes, sizeof(w->hashes));
		w->rc = argon2id_hash_raw(t_cost, m_kib, lanes, in, sizeof(in), salt, sizeof(salt),
					  out, sizeof(out));
		if (w->rc != ARGON2_OK)
			break;
		w->hashes++;
		t = now_s();
	}
	w->seconds = t - start;
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: argon2_rate [-m KIB] [-t PASSES] [-p LANES] [-n THREADS] "
			"[-d SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cores > 0 ? (unsigned)cores : 1;
	struct worker *w = NULL;
	unsigned long total = 0;
	double rate = 0, seconds = 0;
	int ch;
	int rc = 1;

	while ((ch = getopt(argc, argv, "m:t:p:n:d:")) != -1) {
		switch (ch) {
		case 'm':
			m_kib = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			t_cost = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			lanes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (threads == 0 || duration <= 0 || lanes == 0 || t_cost == 0)
		usage();
	w = calloc(threads, sizeof(*w));
	if (w == NULL)
		goto out;
	/* Start together, so that each thread's rate is measured under the same
	 * contention for cores and memory bandwidth. */
	pthread_barrier_init(&start_line, NULL, threads + 1);
	for (unsigned i = 0; i < threads; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			/* The others wait at the barrier for good: just leave. */
			fprintf(stderr, "argon2_rate: cannot start thread %u\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&start_line);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(w[i].thread, NULL);
	pthread_barrier_destroy(&start_line);
	for (unsigned i = 0; i < threads; i++) {
		if (w[i].rc != ARGON2_OK) {
			fprintf(stderr, "argon2_rate: %s\n", argon2_error_message(w[i].rc));
			goto out;
		}
		total += w[i].hashes;
		if (w[i].seconds > 0)
			rate += (double)w[i].hashes / w[i].seconds;
		if (w[i].seconds > seconds)
			seconds = w[i].seconds;
	}
	printf("{\"m_kib\":%u,\"t\":%u,\"p\":%u,\"threads\":%u,\"hashes\":%lu,\"seconds\":%.3f,"
	       "\"hashes_per_s\":%.1f,\"ms_per_hash_per_thread\":%.2f}\n",
	       m_kib, t_cost, lanes, threads, total, seconds, rate,
	       rate > 0 ? 1000.0 * threads / rate : 0.0);
	rc = 0;
out:
	free(w);
	return rc;
}
