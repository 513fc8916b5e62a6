/* `portsim run --trace FILE [--trace-filter EXPR] --pcap FILE [--pcap-at
 * POINT]`: the outputs that let a student see a port's life. */
#ifndef PS_CLI_RUN_TEACHING_H
#define PS_CLI_RUN_TEACHING_H

#include <glib.h>
#include "run.h"

typedef struct CliTeaching CliTeaching;

/* Opens what was asked for and attaches it to the run's network; NULL
 * arguments are not asked for. A bad filter or observation point is
 * SIM_ERROR_INPUT; a file that cannot be created SIM_ERROR_RUNTIME. */
CliTeaching *cli_teaching_open(PsRun *run, const char *trace_path, const char *trace_filter,
                               const char *pcap_path, const char *pcap_at, GError **error);
/* Finishes the files (atomic rename) and frees; TRUE when all were written.
 * A NULL teaching is fine. */
gboolean cli_teaching_close(CliTeaching *teaching, GError **error);

#endif
