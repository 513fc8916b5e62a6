/* Private to models/: the built-in allocator classes, one per file, and the
 * helpers they share. */
#ifndef PS_ALLOC_BUILTIN_H
#define PS_ALLOC_BUILTIN_H

#include <stddef.h>
#include <stdint.h>
#include "allocator.h"

extern const PsAllocatorClass ps_alloc_sequential_class;
extern const PsAllocatorClass ps_alloc_random_class;
extern const PsAllocatorClass ps_alloc_linux_class;

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of len bytes under the key
 * (k0, k1), the key read as two little-endian 64-bit halves. Exposed so the
 * tests can check it against the published test vectors. */
uint64_t ps_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
