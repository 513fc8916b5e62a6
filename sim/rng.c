/* xoshiro256** (Blackman and Vigna, 2018), seeded by splitmix64. */
#include "rng.h"

#include <glib.h>
#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* FNV-1a: stable across platforms and GLib versions, unlike g_str_hash. */
static uint64_t name_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void sim_rng_seed(SimRng *rng, uint64_t seed, const char *stream_name, uint32_t replication)
{
    /* Mix the three inputs through splitmix so streams that differ in one
     * input only are unrelated. */
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    x = a ^ name_hash(stream_name);
    uint64_t b = splitmix64(&x);
    x = b ^ ((uint64_t)replication * 0xd1342543de82ef95ULL);
    splitmix64(&x);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1; /* the all-zero state is a fixed point */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(SimRng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_uniform(SimRng *rng)
{
    return (double)(sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint32_t sim_rng_below(SimRng *rng, uint32_t n)
{
    /* Lemire, "Fast random integer generation in an interval" (2019). */
    uint64_t m = (uint64_t)(uint32_t)(sim_rng_next(rng) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)(uint32_t)(sim_rng_next(rng) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double sim_rng_exponential(SimRng *rng, double mean)
{
    /* 1 - U lies in (0, 1], so the log is finite. */
    return -mean * log(1.0 - sim_rng_uniform(rng));
}

double sim_rng_normal(SimRng *rng)
{
    /* Box-Muller; one value per call keeps the stream position simple. */
    double u1 = 1.0 - sim_rng_uniform(rng);
    double u2 = sim_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * G_PI * u2);
}
