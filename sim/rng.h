/* Random number streams: xoshiro256** seeded through splitmix64.
 *
 * Every entity draws from its own stream derived from (master seed, stream
 * name, replication), so adding an entity or changing the thread count never
 * changes another entity's draws. The state is public only so the hot
 * functions can be inlined by the compiler; treat it as opaque. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} SimRng;

void sim_rng_seed(SimRng *rng, uint64_t seed, const char *stream_name, uint32_t replication);

uint64_t sim_rng_next(SimRng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
double sim_rng_uniform(SimRng *rng);

/* Uniform integer in [0, n), unbiased (Lemire's method); n must be > 0. */
uint32_t sim_rng_below(SimRng *rng, uint32_t n);

/* Exponential with the given mean (any unit). */
double sim_rng_exponential(SimRng *rng, double mean);

/* Standard normal N(0, 1). */
double sim_rng_normal(SimRng *rng);

#endif
