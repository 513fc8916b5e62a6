/* Running the portsim binary from a Check test (header-only; each test
 * program includes it once). */
#ifndef PS_TEST_CLI_UTIL_H
#define PS_TEST_CLI_UTIL_H

#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <sys/wait.h>

typedef struct {
    int status; /* exit code; 128 when killed by a signal */
    char *out;
    char *err;
} CliResult;

/* args: NULL-terminated, without the program. */
static inline CliResult cli_run(const char *const *args)
{
    const char *bin = g_getenv("PORTSIM_BINARY");
    ck_assert_msg(bin != NULL, "PORTSIM_BINARY is not set (run through meson test)");
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)bin);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    CliResult r = {0};
    GError *error = NULL;
    int wait_status = 0;
    gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r.out, &r.err, &wait_status, &error);
    ck_assert_msg(ok, "spawn failed: %s", error ? error->message : "?");
    r.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128;
    g_ptr_array_free(argv, TRUE);
    return r;
}

static inline void cli_result_free(CliResult *r)
{
    g_free(r->out);
    g_free(r->err);
}

static inline char *cli_scenario(const char *name)
{
    return g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", name, NULL);
}

static inline char *cli_write(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static inline char *cli_slurp(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "missing %s", path);
    return text;
}

static inline void cli_rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

#endif
