/* Writing results: every file is written atomically (a temporary file in the
 * same folder, then rename), so a reader never sees half a file. */
#ifndef SIM_OUTPUT_H
#define SIM_OUTPUT_H

#include <glib.h>

/* Creates the folder and its parents; SIM_ERROR_RUNTIME on failure. */
gboolean sim_output_mkdir(const char *dir, GError **error);
gboolean sim_output_write(const char *path, const char *data, gssize length, GError **error);

#endif
