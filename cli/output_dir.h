/* The output folder of a run: never silently mixed with other files.
 *
 * A missing or empty folder is used as is. A folder that holds a previous
 * portsim result (it has scenario.effective.ini, which every run writes) is
 * cleared of that run's files first: timeseries.csv, summary.json,
 * scenario.effective.ini and the other .csv/.json/.html/.pcap/.pcapng files at
 * its top, and plots/ (.svg .png .gp .dat). Anything else there is left
 * alone and named in a warning. Any other non-empty folder, or a path that
 * is not a folder, is refused (SIM_ERROR_INPUT): portsim does not delete
 * files it did not write. */
#ifndef PS_CLI_OUTPUT_DIR_H
#define PS_CLI_OUTPUT_DIR_H

#include <glib.h>

gboolean cli_prepare_output_dir(const char *dir, GError **error);

#endif
