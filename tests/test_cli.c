/* The portsim program as a user meets it: exit codes, messages, result
 * files, byte-identical reruns, help, and the generated key reference. */
#include <string.h>
#include <glib/gstdio.h>

#include "cli_util.h"
#include "test_util.h"

START_TEST(run_writes_every_result_file)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-cli-XXXXXX", NULL);
    g_autofree char *sc = cli_scenario("kernel-100-ports.ini");
    const char *args[] = {"run", sc, "-o", dir, NULL};
    CliResult r = cli_run(args);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "first failure"));
    ck_assert_ptr_nonnull(strstr(r.out, "Verdict: Connections start failing at 20.0s"));
    g_autofree char *csv = cli_slurp(dir, "timeseries.csv");
    ck_assert(g_str_has_prefix(csv, "time_s,client.active,client.time_wait"));
    g_autofree char *json = cli_slurp(dir, "summary.json");
    ck_assert_ptr_nonnull(strstr(json, "\"first_failure_s\" : 20"));
    ck_assert_ptr_nonnull(strstr(json, "\"pools_empty\" : true"));
    g_autofree char *ini = cli_slurp(dir, "scenario.effective.ini");
    ck_assert_ptr_nonnull(strstr(ini, "ephemeral_range = 40000-40099"));
    ck_assert_ptr_nonnull(strstr(ini, "time_wait = 60s"));
    g_autofree char *gp = cli_slurp(dir, "plots/host-client.gp");
    g_autofree char *dat = cli_slurp(dir, "plots/host-client.dat");
    g_autofree char *gnuplot = g_find_program_in_path("gnuplot");
    if (gnuplot) {
        g_autofree char *svg = cli_slurp(dir, "plots/host-client.svg");
        ck_assert_ptr_nonnull(strstr(svg, "<svg"));
        g_autofree char *png_path = g_build_filename(dir, "plots/host-client.png", NULL);
        ck_assert(g_file_test(png_path, G_FILE_TEST_EXISTS));
    }
    cli_result_free(&r);

    /* The effective scenario reproduces the run by itself. */
    g_autofree char *dir2 = g_dir_make_tmp("portsim-cli-XXXXXX", NULL);
    g_autofree char *eff = g_build_filename(dir, "scenario.effective.ini", NULL);
    const char *again[] = {"run", eff, "-o", dir2, "--no-plots", "-q", NULL};
    CliResult r2 = cli_run(again);
    ck_assert_msg(r2.status == 0, "exit %d: %s", r2.status, r2.err);
    g_autofree char *json2 = cli_slurp(dir2, "summary.json");
    ck_assert_str_eq(json, json2);
    cli_result_free(&r2);
    cli_rm_rf(dir);
    cli_rm_rf(dir2);
}
END_TEST

/* Invariant 1: same scenario and seed, byte-identical files. */
START_TEST(same_seed_byte_identical_files)
{
    g_autofree char *a = g_dir_make_tmp("portsim-a-XXXXXX", NULL);
    g_autofree char *b = g_dir_make_tmp("portsim-b-XXXXXX", NULL);
    g_autofree char *sc = cli_scenario("flash-sale.ini");
    const char *run_a[] = {"run", sc, "-o", a, "--set", "scenario.duration=11m", "-q", NULL};
    const char *run_b[] = {"run", sc, "-o", b, "--set", "scenario.duration=11m", "-q", NULL};
    CliResult ra = cli_run(run_a), rb = cli_run(run_b);
    ck_assert_int_eq(ra.status, 0);
    ck_assert_int_eq(rb.status, 0);
    const char *files[] = {"timeseries.csv", "summary.json", "scenario.effective.ini",
                           "plots/host-shop.dat", "plots/host-shop.gp"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *x = cli_slurp(a, files[i]);
        g_autofree char *y = cli_slurp(b, files[i]);
        ck_assert_msg(strcmp(x, y) == 0, "%s differs between identical runs", files[i]);
    }
    cli_result_free(&ra);
    cli_result_free(&rb);
    cli_rm_rf(a);
    cli_rm_rf(b);
}
END_TEST

/* Invariant 3: bad input gets one clear message and exit code 2. */
START_TEST(bad_input_exit_2_with_location)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-bad-XXXXXX", NULL);
    g_autofree char *typo = cli_write(dir, "typo.ini",
                                       "[scenario]\nduration = 1m\n\n[host shop]\n"
                                       "addresses = 10.0.0.1\nephemeral_rang = 1-2\n");
    const char *check[] = {"check", typo, NULL};
    CliResult r = cli_run(check);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "typo.ini:6"));
    ck_assert_ptr_nonnull(strstr(r.err, "[host shop]"));
    ck_assert_ptr_nonnull(strstr(r.err, "ephemeral_range"));
    ck_assert_ptr_null(strchr(g_strstrip(r.err), '\n')); /* one message, one line */
    cli_result_free(&r);

    g_autofree char *sc = cli_scenario("flash-sale.ini");
    const char *bad_set[] = {"run", sc, "--set", "workload.surge.rate=fast", "-o", dir, NULL};
    r = cli_run(bad_set);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "workload.surge.rate=fast"));
    cli_result_free(&r);

    const char *bad_flag[] = {"run", sc, "--bogus", NULL};
    r = cli_run(bad_flag);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--bogus"));
    cli_result_free(&r);

    const char *missing[] = {"run", "/nonexistent/x.ini", NULL};
    r = cli_run(missing);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/x.ini"));
    cli_result_free(&r);

    const char *bad_seed[] = {"run", sc, "--seed", "-3", "-o", dir, NULL};
    r = cli_run(bad_seed);
    ck_assert_int_eq(r.status, 2);
    cli_result_free(&r);

    const char *no_cmd[] = {"frobnicate", NULL};
    r = cli_run(no_cmd);
    ck_assert_int_eq(r.status, 2);
    cli_result_free(&r);
    cli_rm_rf(dir);
}
END_TEST

START_TEST(help_on_every_subcommand)
{
    const char *cmds[] = {"run", "check", "list"};
    for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
        const char *args[] = {cmds[i], "--help", NULL};
        CliResult r = cli_run(args);
        ck_assert_int_eq(r.status, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "Usage:"));
        cli_result_free(&r);
    }
    const char *top[] = {"--help", NULL};
    CliResult r = cli_run(top);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "run"));
    cli_result_free(&r);
}
END_TEST

START_TEST(check_accepts_every_shipped_scenario)
{
    g_autofree char *dir = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    const char *name;
    int n = 0;
    while ((name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".ini"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        const char *args[] = {"check", path, NULL};
        CliResult r = cli_run(args);
        ck_assert_msg(r.status == 0, "%s: %s", name, r.err);
        cli_result_free(&r);
        n++;
    }
    g_dir_close(d);
    ck_assert_int_ge(n, 3);
}
END_TEST

/* docs/scenario-keys.md is generated from the schema; it must not drift. */
START_TEST(key_reference_is_current)
{
    const char *args[] = {"list", "keys", "--markdown", NULL};
    CliResult r = cli_run(args);
    ck_assert_int_eq(r.status, 0);
    g_autofree char *path =
        g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "docs", "scenario-keys.md", NULL);
    g_autofree char *doc = NULL;
    ck_assert(g_file_get_contents(path, &doc, NULL, NULL));
    ck_assert_msg(strcmp(doc, r.out) == 0,
                  "docs/scenario-keys.md is stale: regenerate it with "
                  "`build/portsim list keys --markdown > docs/scenario-keys.md`");
    const char *plain[] = {"list", "keys", NULL};
    CliResult p = cli_run(plain);
    ck_assert_int_eq(p.status, 0);
    ck_assert_ptr_nonnull(strstr(p.out, "ephemeral_range"));
    cli_result_free(&p);
    cli_result_free(&r);
    const char *allocs[] = {"list", "allocators", NULL};
    CliResult a = cli_run(allocs);
    ck_assert_int_eq(a.status, 0);
    ck_assert_ptr_nonnull(strstr(a.out, "linux"));
    ck_assert_ptr_nonnull(strstr(a.out, "sequential"));
    cli_result_free(&a);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("portsim");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, run_writes_every_result_file);
    tcase_add_test(tc, same_seed_byte_identical_files);
    tcase_add_test(tc, bad_input_exit_2_with_location);
    tcase_add_test(tc, help_on_every_subcommand);
    tcase_add_test(tc, check_accepts_every_shipped_scenario);
    tcase_add_test(tc, key_reference_is_current);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(cli_suite)
