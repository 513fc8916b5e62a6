/* A progress bar on stderr for long runs, and the interruption flag that
 * SIGINT/SIGTERM raise so a run stops cleanly and keeps what it has. */
#ifndef PS_CLI_PROGRESS_H
#define PS_CLI_PROGRESS_H

#include <glib.h>
#include <stdint.h>
#include "sim_time.h"

typedef struct CliProgress CliProgress;

/* The bar shows only when stderr is a terminal, and only once the run has
 * taken more than half a second. */
CliProgress *cli_progress_new(const char *label, SimTime duration);
/* A SimProgressFn: draws the bar; FALSE after SIGINT or SIGTERM. */
gboolean cli_progress_update(void *progress, SimTime now, uint64_t events);
/* Erases the bar. */
void cli_progress_free(CliProgress *progress);

/* Installs SIGINT/SIGTERM handlers that ask the run to stop. */
void cli_catch_interrupts(void);
gboolean cli_was_interrupted(void);

#endif
