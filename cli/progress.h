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
/* With a limit (bytes, 0: none), cli_progress_update() also stops the run
 * once the process's resident memory passes it. */
void cli_progress_set_memory_limit(CliProgress *progress, guint64 max_bytes);
/* Why cli_progress_update() asked to stop ("interrupted by a signal",
 * "resident memory ... passed --max-memory ..."); NULL when it did not. */
const char *cli_progress_stop_reason(const CliProgress *progress);
/* Erases the bar. */
void cli_progress_free(CliProgress *progress);

/* Installs SIGINT/SIGTERM handlers that ask the run to stop. */
void cli_catch_interrupts(void);
gboolean cli_was_interrupted(void);

#endif
