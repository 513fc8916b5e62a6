/* portsim compare: the table and files, order and determinism whatever -j,
 * [expect] per allocator as the exit code, and usage errors. */
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "test_util.h"

static char *tmp;

static void setup(void) { tmp = g_dir_make_tmp("portsim-compare-XXXXXX", NULL); }

static void rm_rf(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            rm_rf(child);
        }
        if (d)
            g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static void teardown(void)
{
    rm_rf(tmp);
    g_free(tmp);
}

/* Runs portsim compare on the shootout scenario with extra args; returns
 * the exit code, stdout and stderr. */
static int compare(const char *out, const char *const *extra, char **std_out, char **std_err)
{
    g_autofree char *scenario =
        g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios", "allocator-shootout.ini",
                         NULL);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)g_getenv("PORTSIM_BINARY"));
    g_ptr_array_add(argv, "compare");
    g_ptr_array_add(argv, scenario);
    g_ptr_array_add(argv, "-o");
    g_ptr_array_add(argv, (gpointer)out);
    for (const char *const *e = extra; e && *e; e++)
        g_ptr_array_add(argv, (gpointer)*e);
    g_ptr_array_add(argv, NULL);
    int status = 0;
    GError *error = NULL;
    gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               std_out, std_err, &status, &error);
    g_ptr_array_free(argv, TRUE);
    ck_assert_msg(ok, "spawn: %s", error ? error->message : "?");
    return g_spawn_check_wait_status(status, NULL) ? 0 : WEXITSTATUS(status);
}

static char *slurp(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "no %s", path);
    return text;
}

START_TEST(table_files_and_determinism)
{
    g_autofree char *a = g_build_filename(tmp, "a", NULL);
    g_autofree char *b = g_build_filename(tmp, "b", NULL);
    const char *const one[] = {"--allocators", "linux,sequential,random-pick", "-j", "1",
                               "--no-plots", NULL};
    const char *const three[] = {"--allocators", "linux,sequential,random-pick", "-j", "3",
                                 NULL};
    g_autofree char *out1 = NULL, *err1 = NULL, *out3 = NULL, *err3 = NULL;
    ck_assert_int_eq(compare(a, one, &out1, &err1), 0);
    ck_assert_int_eq(compare(b, three, &out3, &err3), 0);
    /* The same table whatever the parallelism: rows in the order given. */
    g_autofree char *csv1 = slurp(a, "compare.csv");
    g_autofree char *csv3 = slurp(b, "compare.csv");
    ck_assert_str_eq(csv1, csv3);
    g_autofree char *json1 = slurp(a, "compare.json");
    g_autofree char *json3 = slurp(b, "compare.json");
    ck_assert_str_eq(json1, json3);
    g_auto(GStrv) lines = g_strsplit(csv1, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 5); /* header, 3 rows, "" */
    ck_assert(g_str_has_prefix(lines[1], "linux,"));
    ck_assert(g_str_has_prefix(lines[2], "sequential,"));
    ck_assert(g_str_has_prefix(lines[3], "random-pick,"));
    /* The shootout's story: sequential's next port is the previous + 1
     * most of the time, random-pick's almost never. */
    JsonParser *p = json_parser_new();
    ck_assert(json_parser_load_from_data(p, json1, -1, NULL));
    JsonArray *rows =
        json_object_get_array_member(json_node_get_object(json_parser_get_root(p)), "allocators");
    ck_assert_uint_eq(json_array_get_length(rows), 3);
    JsonObject *lin = json_array_get_object_element(rows, 0);
    JsonObject *seq = json_array_get_object_element(rows, 1);
    JsonObject *pick = json_array_get_object_element(rows, 2);
    ck_assert_double_gt(json_object_get_double_member(seq, "predict_exact"), 0.8);
    ck_assert_double_lt(json_object_get_double_member(pick, "predict_exact"), 0.01);
    /* linux pays for its parity split in probes. */
    ck_assert_double_gt(json_object_get_double_member(lin, "mean_probes_per_allocation"),
                        2 * json_object_get_double_member(seq, "mean_probes_per_allocation"));
    /* Same capacity, same first failure for full-scan strategies. */
    ck_assert_double_eq(json_object_get_double_member(lin, "first_failure_s"),
                        json_object_get_double_member(seq, "first_failure_s"));
    g_object_unref(p);
    /* Plots: at least the gnuplot data and script, in b (not in a). */
    g_autofree char *dat = g_build_filename(b, "plots", "failures-over-time.dat", NULL);
    g_autofree char *dat2 = g_build_filename(b, "plots", "probes-vs-utilization.dat", NULL);
    g_autofree char *none = g_build_filename(a, "plots", NULL);
    ck_assert(g_file_test(dat, G_FILE_TEST_IS_REGULAR));
    ck_assert(g_file_test(dat2, G_FILE_TEST_IS_REGULAR));
    ck_assert(!g_file_test(none, G_FILE_TEST_EXISTS));
    /* Running again into the same folder replaces the results. */
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(a, one, &out, &err), 0);
}
END_TEST

START_TEST(expect_breaks_exit_1)
{
    g_autofree char *a = g_build_filename(tmp, "x", NULL);
    /* linux averages ~460 probes here, sequential ~100. */
    const char *const args[] = {"--allocators", "sequential,linux", "--no-plots", "--set",
                                "expect.mean_probes_per_allocation=<= 400", NULL};
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(a, args, &out, &err), 1);
    ck_assert_msg(strstr(err, "broken for allocator linux"), "%s", err);
    ck_assert_msg(!strstr(err, "allocator sequential"), "%s", err);
    g_autofree char *csv = slurp(a, "compare.csv");
    ck_assert(strstr(csv, "\nlinux,") && strstr(strstr(csv, "\nlinux,"), "BROKEN"));
}
END_TEST

START_TEST(usage_errors)
{
    g_autofree char *a = g_build_filename(tmp, "u", NULL);
    const char *const bogus[] = {"--allocators", "linux,bogus", NULL};
    const char *const twice[] = {"--allocators", "linux,linux", NULL};
    const char *const none[] = {NULL};
    g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
    ck_assert_int_eq(compare(a, bogus, &o1, &e1), 2);
    ck_assert_msg(strstr(e1, "no allocator named 'bogus'"), "%s", e1);
    ck_assert_int_eq(compare(a, twice, &o2, &e2), 2);
    ck_assert_msg(strstr(e2, "given twice"), "%s", e2);
    ck_assert_int_eq(compare(a, none, &o3, &e3), 2);
    ck_assert(!g_file_test(a, G_FILE_TEST_EXISTS)); /* nothing written */
}
END_TEST

START_TEST(allocator_parameters)
{
    /* NAME(PARAMS) entries: the parameters reach the allocator (N = 50
     * makes random-increments' steps short: many more ports within 16 of
     * the previous one than with N = 500), and replace the scenario's. */
    g_autofree char *a = g_build_filename(tmp, "p", NULL);
    const char *const args[] = {"--allocators",
                                "random-increments(max_increment=50),random-increments,"
                                "double-hash(table_size=64, key=1)",
                                "--no-plots", NULL};
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_int_eq(compare(a, args, &out, &err), 0);
    g_autofree char *json = slurp(a, "compare.json");
    JsonParser *p = json_parser_new();
    ck_assert(json_parser_load_from_data(p, json, -1, NULL));
    JsonArray *rows =
        json_object_get_array_member(json_node_get_object(json_parser_get_root(p)), "allocators");
    double w50 = json_object_get_double_member(json_array_get_object_element(rows, 0),
                                               "predict_window32");
    double w500 = json_object_get_double_member(json_array_get_object_element(rows, 1),
                                                "predict_window32");
    ck_assert_msg(w50 > 3 * w500, "N=50 %.4f, N=500 %.4f", w50, w500);
    ck_assert_str_eq(json_object_get_string_member(json_array_get_object_element(rows, 2),
                                                   "allocator"),
                     "double-hash(table_size=64, key=1)");
    g_object_unref(p);
    /* The CSV quotes the entry with a comma. */
    g_autofree char *csv = slurp(a, "compare.csv");
    ck_assert(strstr(csv, "\n\"double-hash(table_size=64, key=1)\","));
    /* A parameter the allocator does not know: exit 2, named. */
    const char *const bad[] = {"--allocators", "double-hash(table_sise=64)", NULL};
    g_autofree char *b = g_build_filename(tmp, "q", NULL);
    g_autofree char *o2 = NULL, *e2 = NULL;
    ck_assert_int_eq(compare(b, bad, &o2, &e2), 2);
    ck_assert_msg(strstr(e2, "no parameter 'table_sise'"), "%s", e2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, table_files_and_determinism);
    tcase_add_test(tc, expect_breaks_exit_1);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, allocator_parameters);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(suite)
