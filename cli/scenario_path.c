#include "scenario_path.h"

#include <glib.h>
#include <string.h>

#ifndef PORTSIM_SCENARIO_DIR
#define PORTSIM_SCENARIO_DIR ""
#endif
#ifndef PORTSIM_SOURCE_SCENARIO_DIR
#define PORTSIM_SOURCE_SCENARIO_DIR ""
#endif

static char *look_in(const char *dir, const char *file)
{
    if (!dir || !*dir)
        return NULL;
    char *path = g_build_filename(dir, file, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
        return path;
    g_free(path);
    return NULL;
}

char *cli_find_scenario(const char *arg)
{
    if (g_file_test(arg, G_FILE_TEST_EXISTS) || strchr(arg, '/'))
        return g_strdup(arg);
    g_autofree char *file = g_str_has_suffix(arg, ".ini") ? g_strdup(arg)
                                                           : g_strconcat(arg, ".ini", NULL);
    const char *env = g_getenv("PORTSIM_SCENARIO_PATH");
    if (env) {
        g_auto(GStrv) dirs = g_strsplit(env, ":", -1);
        for (char **d = dirs; *d; d++) {
            char *found = look_in(*d, file);
            if (found)
                return found;
        }
    }
    char *found = look_in(PORTSIM_SCENARIO_DIR, file);
    if (!found)
        found = look_in(PORTSIM_SOURCE_SCENARIO_DIR, file);
    return found ? found : g_strdup(arg);
}
