/* Backend selection algorithms of a load balancer, independent of TCP so
 * tests can measure their distributions directly. */
#ifndef PS_LB_BALANCE_H
#define PS_LB_BALANCE_H

#include <glib.h>
#include <stdint.h>
#include "rng.h"

typedef enum {
    PS_BAL_ROUND_ROBIN,
    PS_BAL_WEIGHTED_ROUND_ROBIN,
    PS_BAL_LEAST_CONNECTIONS,
    PS_BAL_RANDOM,
    PS_BAL_POWER_OF_TWO,
    PS_BAL_SOURCE_HASH,
    PS_BAL_CONSISTENT_HASH, /* Maglev */
} PsBalanceKind;

/* The `algorithm` key's choices, in enum order. */
#define PS_BALANCE_CHOICES                                                                 \
    "round-robin|weighted-round-robin|least-connections|random|power-of-two|source-hash|" \
    "consistent-hash"

typedef struct PsBalancer PsBalancer;

gboolean ps_balance_parse(const char *name, PsBalanceKind *out);
/* n backends with their weights (NULL: all 1); rng is copied (random and
 * power-of-two draw from it). All backends start up. */
PsBalancer *ps_balancer_new(PsBalanceKind kind, guint n, const guint *weights, const SimRng *rng);
void ps_balancer_free(PsBalancer *b);
/* Takes a backend out of (or back into) selection. */
void ps_balancer_set_up(PsBalancer *b, guint i, gboolean up);
gboolean ps_balancer_is_up(const PsBalancer *b, guint i);
/* A backend for a flow: key is the flow's hash input (source-hash and
 * consistent-hash), load[i] each backend's current connections
 * (least-connections and power-of-two). -1 when no backend is up. */
gint ps_balancer_pick(PsBalancer *b, uint64_t key, const uint64_t *load);
/* Maglev table size (a prime, >> backends). */
guint ps_balancer_table_size(const PsBalancer *b);

#endif
