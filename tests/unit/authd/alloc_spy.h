/*
 * A spy on malloc and free for the unit tests that check what authd leaves
 * behind in the memory it frees and how it answers when malloc fails. A
 * test linked with alloc_spy.c and -Wl,--wrap=malloc,--wrap=free sees the
 * calls made from authd's own code (its static libraries and the test);
 * shared libraries such as jansson call the real functions, so a block
 * jansson frees reaches the spy only through the allocator authd gives it.
 */
#ifndef AUTHD_TEST_ALLOC_SPY_H
#define AUTHD_TEST_ALLOC_SPY_H

#include <stdbool.h>
#include <stddef.h>

struct alloc_spy {
	unsigned freed;	  /* blocks freed while a marker was watched */
	unsigned found;	  /* of those, blocks that still held a marker */
	bool fail_malloc; /* malloc returns NULL while set */
};

extern struct alloc_spy alloc_spy;

/* Watches for marker (a string the test put in a secret) in every block
 * freed from now on; at most 16 markers. */
void alloc_spy_watch(const char *marker);
/* Forgets the markers and zeroes the counters. */
void alloc_spy_reset(void);

#endif
