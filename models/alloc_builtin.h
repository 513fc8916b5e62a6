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
extern const PsAllocatorClass ps_alloc_random_pick_class;
extern const PsAllocatorClass ps_alloc_hash_class;
extern const PsAllocatorClass ps_alloc_double_hash_class;
extern const PsAllocatorClass ps_alloc_random_increments_class;

/* alloc_plugin.c: a plugin's class, loaded once per resolved path. */
const PsAllocatorClass *ps_allocator_plugin_load(const char *path, const char *base_file,
                                                 GError **error);

/* The RFC 6056 F()/G() of (local address, remote address, remote port)
 * under the key (k0, k1): SipHash-2-4 of the family-tagged addresses and
 * the port (big-endian). Exposed so the tests can replay the algorithms. */
uint64_t ps_alloc_flow_hash(uint64_t k0, uint64_t k1, const SimAddress *local,
                            const SimAddress *remote, uint16_t remote_port);

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of len bytes under the key
 * (k0, k1), the key read as two little-endian 64-bit halves. Exposed so the
 * tests can check it against the published test vectors. */
uint64_t ps_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* Appends an address to a hash input (family byte, then 4 or 16 bytes; a
 * single 0 byte for none); returns the bytes written (at most 17). */
size_t ps_alloc_put_address(uint8_t *buf, const SimAddress *a);

#endif
