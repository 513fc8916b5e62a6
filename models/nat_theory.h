/* `portsim explain` for NAT boxes (nat_theory.c). */
#ifndef PS_NAT_THEORY_H
#define PS_NAT_THEORY_H

#include "scenario.h"

/* The closed-form capacity and sustainable rate of every [nat]; NULL when
 * the scenario has none. */
char *ps_nat_explain(const SimScenario *scenario);

#endif
