/* Writing results atomically; every failure names the path involved. */
#include "output.h"

#include <errno.h>

#include "sim_error.h"

gboolean sim_output_mkdir(const char *dir, GError **error)
{
    g_return_val_if_fail(dir != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        int saved_errno = errno;
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot create folder %s: %s", dir,
                    g_strerror(saved_errno));
        return FALSE;
    }
    return TRUE;
}

gboolean sim_output_write(const char *path, const char *data, gssize length, GError **error)
{
    g_return_val_if_fail(path != NULL, FALSE);
    g_return_val_if_fail(data != NULL || length == 0, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    GError *file_error = NULL;
    /* CONSISTENT: write a temporary file beside the target, then rename it,
     * so a reader sees the old file or the new one, never half of one. No
     * fsync: results are cheap to regenerate, and syncing every file of a
     * large sweep would dominate its run time. */
    if (!g_file_set_contents_full(path, data ? data : "", length,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, &file_error)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", path,
                    file_error->message);
        g_error_free(file_error);
        return FALSE;
    }
    return TRUE;
}
