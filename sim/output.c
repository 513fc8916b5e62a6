/* Writing results atomically; every failure names the path involved. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

    /* Write a temporary file beside the target, then rename it, so a
     * reader sees the old file or the new one, never half of one. No
     * fsync: results are cheap to regenerate, and syncing every file of a
     * large sweep dominated its run time (GLib's CONSISTENT mode fsyncs on
     * most file systems, twice per file here). */
    if (length < 0)
        length = (gssize)strlen(data);
    g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        int saved_errno = errno;
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", path,
                    g_strerror(saved_errno));
        return FALSE;
    }
    /* mkstemp's mode is 0600: give the file what the umask allows, as a
     * plain creation would. */
    mode_t mask = umask(0);
    umask(mask);
    int saved_errno = 0;
    if (fchmod(fd, 0644 & ~mask) != 0)
        saved_errno = errno;
    for (gssize done = 0; saved_errno == 0 && done < length;) {
        ssize_t n = write(fd, data + done, (size_t)(length - done));
        if (n < 0 && errno != EINTR)
            saved_errno = errno;
        else if (n > 0)
            done += n;
    }
    if (close(fd) != 0 && saved_errno == 0)
        saved_errno = errno;
    if (saved_errno == 0 && rename(tmp, path) != 0)
        saved_errno = errno;
    if (saved_errno != 0) {
        g_unlink(tmp);
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", path,
                    g_strerror(saved_errno));
        return FALSE;
    }
    return TRUE;
}
