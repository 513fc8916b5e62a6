/* One error domain for the engine. The code tells the CLI which exit code to
 * use: bad input (usage, scenario) is 2, a run-time failure is 1. */
#ifndef SIM_ERROR_H
#define SIM_ERROR_H

#include <glib.h>

#define SIM_ERROR (sim_error_quark())
GQuark sim_error_quark(void);

typedef enum {
    SIM_ERROR_INPUT,   /* bad scenario, value, override or flag: exit 2 */
    SIM_ERROR_RUNTIME, /* I/O or run-time failure: exit 1 */
} SimErrorCode;

/* Sets a SIM_ERROR_INPUT error from a printf format; returns FALSE so a
 * parser can `return sim_input_error(error, ...)`. */
gboolean sim_input_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

#endif
