/* The scenario schema of the network models: every section kind, key and
 * preset that a scenario file may use, declared once. */
#ifndef PS_KEYS_H
#define PS_KEYS_H

#include "schema.h"

/* A schema with every section and preset of portsim's models. */
SimSchema *ps_schema_new(void);

#endif
