/* Preparing a run's output folder (see output_dir.h). */
#include "output_dir.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "sim_error.h"

static const char *const RESULT_EXTENSIONS[] = {".csv", ".json", ".html", ".pcap", ".pcapng", NULL};
static const char *const PLOT_EXTENSIONS[] = {".svg", ".png", ".gp", ".dat", NULL};

static gboolean has_extension(const char *name, const char *const *exts)
{
    for (const char *const *e = exts; *e; e++)
        if (g_str_has_suffix(name, *e))
            return TRUE;
    return FALSE;
}

/* Removes the files of `dir` that a run writes; appends the rest to `kept`. */
static gboolean clear_files(const char *dir, const char *const *exts, const char *kept_prefix,
                            GString *kept, GError **error)
{
    GDir *d = g_dir_open(dir, 0, error);
    if (!d)
        return FALSE;
    const char *name;
    gboolean ok = TRUE;
    while (ok && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR) || g_file_test(path, G_FILE_TEST_IS_SYMLINK) ||
            !(has_extension(name, exts) || g_str_equal(name, "scenario.effective.ini"))) {
            if (!(kept_prefix[0] == '\0' && g_str_equal(name, "plots")))
                g_string_append_printf(kept, "%s%s%s", kept->len ? ", " : "", kept_prefix, name);
            continue;
        }
        if (g_remove(path) != 0) {
            int e = errno;
            g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME,
                        "cannot remove the previous run's %s: %s", path, g_strerror(e));
            ok = FALSE;
        }
    }
    g_dir_close(d);
    return ok;
}

gboolean cli_prepare_output_dir(const char *dir, GError **error)
{
    if (!g_file_test(dir, G_FILE_TEST_EXISTS))
        return TRUE;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "output folder %s: exists and is not a folder", dir);
        return FALSE;
    }
    GError *local = NULL;
    GDir *d = g_dir_open(dir, 0, &local);
    if (!d) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "output folder %s: %s", dir,
                    local->message);
        g_error_free(local);
        return FALSE;
    }
    gboolean empty = g_dir_read_name(d) == NULL;
    g_dir_close(d);
    if (empty)
        return TRUE;
    g_autofree char *marker = g_build_filename(dir, "scenario.effective.ini", NULL);
    if (!g_file_test(marker, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "output folder %s: not empty and holds no previous portsim results (no "
                    "scenario.effective.ini); choose another folder with -o DIR, or empty it",
                    dir);
        return FALSE;
    }
    g_autoptr(GString) kept = g_string_new(NULL);
    g_autofree char *plots = g_build_filename(dir, "plots", NULL);
    if (!clear_files(dir, RESULT_EXTENSIONS, "", kept, error))
        return FALSE;
    if (g_file_test(plots, G_FILE_TEST_IS_DIR) &&
        !clear_files(plots, PLOT_EXTENSIONS, "plots/", kept, error))
        return FALSE;
    if (kept->len > 0)
        fprintf(stderr, "portsim: warning: %s holds files portsim did not write; kept: %s\n", dir,
                kept->str);
    return TRUE;
}
