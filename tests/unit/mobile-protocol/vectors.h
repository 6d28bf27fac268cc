/*
 * The test vectors of mobile-protocol/PROTOCOL.md section 8, read from the
 * document itself (the ```vectors block), so that the tests check what a
 * mobile team reads. The path comes from $MP_PROTOCOL_MD (CTest sets it).
 */
#ifndef AUTHD_TEST_VECTORS_H
#define AUTHD_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* Loads the block; fails the test (cmocka) when it cannot. */
void vectors_load(void);
/* The same as a cmocka group setup. */
int vectors_setup(void **state);
/* The value of `name` (the rest of its line); fails the test when absent. */
const char *vector(const char *name);
/* The hex value of `name` decoded into out (exactly n bytes). */
void vector_bytes(const char *name, uint8_t *out, size_t n);

#endif
