/*
 * The spy behind alloc_spy.h: __wrap_malloc and __wrap_free, which the
 * linker puts in place of malloc and free for the test's own objects.
 */
#include "alloc_spy.h"

#include <malloc.h>
#include <string.h>

/* The linker names --wrap symbols; they are reserved identifiers by necessity. */
/* NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
void *__real_malloc(size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void __wrap_free(void *p);

#define MARKERS_MAX 16

struct alloc_spy alloc_spy;
static const char *markers[MARKERS_MAX];
static size_t n_markers;

void alloc_spy_watch(const char *marker)
{
	if (n_markers < MARKERS_MAX)
		markers[n_markers++] = marker;
}

void alloc_spy_reset(void)
{
	n_markers = 0;
	memset(&alloc_spy, 0, sizeof(alloc_spy));
}

void *__wrap_malloc(size_t n)
{
	return alloc_spy.fail_malloc ? NULL : __real_malloc(n);
}

void __wrap_free(void *p)
{
	if (p != NULL && n_markers > 0) {
		size_t size = malloc_usable_size(p);

		alloc_spy.freed++;
		for (size_t i = 0; i < n_markers; i++) {
			if (memmem(p, size, markers[i], strlen(markers[i])) != NULL) {
				alloc_spy.found++;
				break;
			}
		}
	}
	__real_free(p);
}
/* NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
