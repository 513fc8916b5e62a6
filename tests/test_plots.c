/* Exhaustion plots: the .dat and .gp files, rendering through gnuplot, and
 * the error paths (missing column, gnuplot missing or failing). */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "exhaustion_plot.h"
#include "sim_error.h"
#include "stats.h"
#include "test_util.h"

/* A tiny hand-built series: the stats registry must outlive the series,
 * which samples through pointers into it. */
typedef struct {
    SimStats *stats;
    SimSeries *series;
    char *dir;
} Fixture;

static void fixture_init(Fixture *f)
{
    f->stats = sim_stats_new();
    f->series = sim_series_new();
    SimGauge *active = sim_stats_gauge(f->stats, "shop.active");
    SimGauge *tw = sim_stats_gauge(f->stats, "shop.time_wait");
    SimGauge *fail = sim_stats_gauge(f->stats, "shop.failures");
    SimCounter *num = sim_stats_counter(f->stats, "shop.num");
    SimCounter *den = sim_stats_counter(f->stats, "shop.den");
    sim_series_add_gauge(f->series, "active", active);
    sim_series_add_gauge(f->series, "time_wait", tw);
    /* A plain gauge stands in for the failure rate so values are exact. */
    sim_series_add_gauge(f->series, "fail_rate", fail);
    /* den never moves, so every ratio is NAN. */
    sim_series_add_ratio(f->series, "never", num, den);

    const struct {
        SimTime t;
        int64_t active, tw, fail;
    } rows[] = {
        {0, 10, 0, 0},
        {1500 * SIM_MS, 40, 25, 0},
        {3 * SIM_S, 60, 40, 7},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        sim_gauge_set(active, rows[i].t, rows[i].active);
        sim_gauge_set(tw, rows[i].t, rows[i].tw);
        sim_gauge_set(fail, rows[i].t, rows[i].fail);
        sim_series_sample(f->series, rows[i].t);
    }

    GError *error = NULL;
    f->dir = g_dir_make_tmp("portsim-plots-XXXXXX", &error);
    ck_assert_msg(f->dir != NULL, "tmp dir: %s", error ? error->message : "?");
}

static void fixture_clear(Fixture *f)
{
    GDir *d = g_dir_open(f->dir, 0, NULL);
    if (d) {
        const char *entry;
        while ((entry = g_dir_read_name(d)) != NULL) {
            g_autofree char *path = g_build_filename(f->dir, entry, NULL);
            g_unlink(path);
        }
        g_dir_close(d);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    sim_series_free(f->series);
    sim_stats_free(f->stats);
}

static PlotExhaustionSpec base_spec(const Fixture *f)
{
    return (PlotExhaustionSpec){
        .title = "shop 10.0.0.1 -> api: ephemeral ports",
        .subtitle = "linux allocator, range 32768-60999, TIME_WAIT 60s",
        .series = f->series,
        .col_active = "active",
        .col_time_wait = "time_wait",
        .col_failures = "fail_rate",
        .capacity = 200,
        .capacity_label = "capacity 200 ports",
        .first_failure_s = 2.5,
    };
}

static char *read_in(const Fixture *f, const char *file)
{
    g_autofree char *path = g_build_filename(f->dir, file, NULL);
    char *text = NULL;
    GError *error = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, &error), "read %s: %s", file,
                  error ? error->message : "?");
    return text;
}

static gboolean exists_in(const Fixture *f, const char *file)
{
    g_autofree char *path = g_build_filename(f->dir, file, NULL);
    return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* No NAME.svg.tmp or similar is left behind. */
static void assert_no_tmp_files(const Fixture *f)
{
    GDir *d = g_dir_open(f->dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    const char *entry;
    while ((entry = g_dir_read_name(d)) != NULL)
        ck_assert_msg(strstr(entry, ".tmp") == NULL, "left behind: %s", entry);
    g_dir_close(d);
}

static void assert_rendered(const Fixture *f, const char *name)
{
    g_autofree char *svg_name = g_strconcat(name, ".svg", NULL);
    g_autofree char *png_name = g_strconcat(name, ".png", NULL);
    g_autofree char *svg = read_in(f, svg_name);
    ck_assert_msg(g_str_has_prefix(svg, "<?xml") || strstr(svg, "<svg") != NULL,
                  "not an SVG");
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));

    g_autofree char *png_path = g_build_filename(f->dir, png_name, NULL);
    char *png = NULL;
    gsize len = 0;
    ck_assert(g_file_get_contents(png_path, &png, &len, NULL));
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ck_assert_uint_gt(len, 1000);
    ck_assert_int_eq(memcmp(png, sig, sizeof sig), 0);
    g_free(png);
    assert_no_tmp_files(f);
}

/* Makes PATH hold only a fresh folder, optionally with a fake gnuplot.
 * Returns the old PATH for restore_path (tests may run in-process). */
static char *path_only(const char *dir)
{
    char *old = g_strdup(g_getenv("PATH"));
    g_setenv("PATH", dir, TRUE);
    return old;
}

static void restore_path(char *old)
{
    if (old)
        g_setenv("PATH", old, TRUE);
    else
        g_unsetenv("PATH");
    g_free(old);
}

START_TEST(test_dat_rows)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "curve", &spec, &error);
    if (plot_gnuplot_available())
        ck_assert_msg(ok, "plot: %s", error ? error->message : "?");
    g_clear_error(&error);

    g_autofree char *dat = read_in(&f, "curve.dat");
    ck_assert_ptr_nonnull(strstr(dat, "# time_s active time_wait failures_per_s\n"));
    /* The header also says where the data came from. */
    ck_assert_ptr_nonnull(strstr(dat, "active=active time_wait=time_wait "
                                      "failures_per_s=fail_rate"));
    ck_assert_ptr_nonnull(strstr(dat, "\n0 10 0 0\n1.5 40 25 0\n3 60 40 7\n"));
    /* Only comment lines and three data rows. */
    g_auto(GStrv) lines = g_strsplit(dat, "\n", -1);
    int data_rows = 0;
    for (int i = 0; lines[i]; i++)
        if (lines[i][0] && lines[i][0] != '#')
            data_rows++;
    ck_assert_int_eq(data_rows, 3);
    fixture_clear(&f);
}
END_TEST

START_TEST(test_gp_script)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    GError *error = NULL;
    plot_exhaustion(f.dir, "curve", &spec, &error);
    g_clear_error(&error);

    g_autofree char *gp = read_in(&f, "curve.gp");
    /* Bare names, so the script works from inside the folder. */
    ck_assert_ptr_nonnull(strstr(gp, "'curve.dat'"));
    ck_assert_ptr_nonnull(strstr(gp, "svgout = 'curve.svg'"));
    ck_assert_ptr_nonnull(strstr(gp, "pngout = 'curve.png'"));
    ck_assert_ptr_null(strstr(gp, f.dir));
    ck_assert_ptr_nonnull(strstr(gp, "set terminal svg size 1000,560"));
    ck_assert_ptr_nonnull(strstr(gp, "set terminal pngcairo size 1000,560"));
    ck_assert_ptr_nonnull(strstr(gp, "filledcurves"));
    ck_assert_ptr_nonnull(strstr(gp, "'capacity 200 ports'"));
    ck_assert_ptr_nonnull(strstr(gp, "first failure t=2.5s"));
    ck_assert_ptr_nonnull(strstr(gp, "capacity = 200\n"));
    /* y reaches 10% above the larger of capacity and the highest stack. */
    ck_assert_ptr_nonnull(strstr(gp, "ymax = 220\n"));
    /* Failures peak at 7; the y2 axis gets headroom above that. */
    ck_assert_ptr_nonnull(strstr(gp, "y2max = 8.4\n"));
    ck_assert_ptr_nonnull(strstr(gp, "'4-tuples in use'"));
    ck_assert_ptr_nonnull(strstr(gp, "'failed attempts / s'"));
    fixture_clear(&f);
}
END_TEST

/* Marks (a surge's steps) become dotted lines with their labels; marks
 * outside the plotted time are left out. */
START_TEST(test_marks)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    const double times[] = {1.5, 1e9};
    const char *labels[] = {"surge: 200/s to 2k/s", "never shown"};
    spec.mark_times = times;
    spec.mark_labels = labels;
    spec.n_marks = 2;
    GError *error = NULL;
    plot_exhaustion(f.dir, "marked", &spec, &error);
    g_clear_error(&error);
    g_autofree char *gp = read_in(&f, "marked.gp");
    ck_assert_ptr_nonnull(strstr(gp, "set arrow 200 from first 1.5, graph 0 to first 1.5"));
    ck_assert_ptr_nonnull(strstr(gp, "'surge: 200/s to 2k/s' at first 1.5"));
    ck_assert_ptr_null(strstr(gp, "never shown"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_renders_svg_and_png)
{
    if (!plot_gnuplot_available())
        return;
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    GError *error = NULL;
    ck_assert_msg(plot_exhaustion(f.dir, "curve", &spec, &error), "plot: %s",
                  error ? error->message : "?");
    assert_rendered(&f, "curve");
    fixture_clear(&f);
}
END_TEST

START_TEST(test_stack_above_capacity_sets_range)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    spec.capacity = 50; /* the stack peaks at 100 */
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "over", &spec, &error);
    if (plot_gnuplot_available())
        ck_assert_msg(ok, "plot: %s", error ? error->message : "?");
    g_clear_error(&error);
    g_autofree char *gp = read_in(&f, "over.gp");
    ck_assert_ptr_nonnull(strstr(gp, "ymax = 110\n"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_missing_column)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    spec.col_time_wait = "shop.no_such_column";
    GError *error = NULL;
    ck_assert(!plot_exhaustion(f.dir, "curve", &spec, &error));
    ck_assert_ptr_nonnull(error);
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
    ck_assert_ptr_nonnull(strstr(error->message, "shop.no_such_column"));
    g_clear_error(&error);
    ck_assert(!exists_in(&f, "curve.dat"));
    ck_assert(!exists_in(&f, "curve.gp"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_bad_name)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    const char *bad[] = {"", "sub/curve", "two\nlines"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *error = NULL;
        ck_assert(!plot_exhaustion(f.dir, bad[i], &spec, &error));
        ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_INPUT));
        g_clear_error(&error);
    }
    fixture_clear(&f);
}
END_TEST

START_TEST(test_awkward_text)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    spec.title = "it's \"flash_sale\" C:\\ports ^{x}_y @z & 100%";
    spec.subtitle = "two\nlines, tab\there, 'quoted' \\ end\\";
    spec.capacity_label = "cap_'28,232' \"ports\"";
    /* A name with a space and a quote must survive the -e assignment too. */
    const char *name = "flash sale's";
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, name, &spec, &error);
    if (plot_gnuplot_available()) {
        ck_assert_msg(ok, "plot: %s", error ? error->message : "?");
        assert_rendered(&f, name);
        g_autofree char *svg = read_in(&f, "flash sale's.svg");
        /* noenhanced: the underscore is printed, not a subscript. */
        ck_assert_ptr_nonnull(strstr(svg, "flash_sale"));
    }
    g_clear_error(&error);
    g_autofree char *gp = read_in(&f, "flash sale's.gp");
    ck_assert_ptr_nonnull(strstr(gp, "'flash sale''s.dat'"));
    ck_assert_ptr_nonnull(strstr(gp, "'it''s \"flash_sale\" C:\\ports ^{x}_y @z & 100%'"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_nan_and_no_failures)
{
    Fixture f;
    fixture_init(&f);
    PlotExhaustionSpec spec = base_spec(&f);
    spec.col_failures = "never"; /* all NAN */
    spec.first_failure_s = NAN;
    spec.subtitle = NULL;
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "quiet", &spec, &error);
    if (plot_gnuplot_available()) {
        ck_assert_msg(ok, "plot: %s", error ? error->message : "?");
        assert_rendered(&f, "quiet");
    }
    g_clear_error(&error);
    g_autofree char *dat = read_in(&f, "quiet.dat");
    ck_assert_ptr_nonnull(strstr(dat, "\n0 10 0 NaN\n1.5 40 25 NaN\n3 60 40 NaN\n"));
    g_autofree char *gp = read_in(&f, "quiet.gp");
    ck_assert_ptr_null(strstr(gp, "first failure"));
    /* No failures: the y2 axis still shows, from 0 to 1. */
    ck_assert_ptr_nonnull(strstr(gp, "y2max = 1\n"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_empty_series)
{
    Fixture f;
    fixture_init(&f);
    SimSeries *empty = sim_series_new();
    SimGauge *g = sim_stats_gauge(f.stats, "shop.active");
    sim_series_add_gauge(empty, "active", g);
    sim_series_add_gauge(empty, "time_wait", g);
    sim_series_add_gauge(empty, "fail_rate", g);
    PlotExhaustionSpec spec = base_spec(&f);
    spec.series = empty;
    spec.first_failure_s = NAN;
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "empty", &spec, &error);
    if (plot_gnuplot_available()) {
        ck_assert_msg(ok, "plot: %s", error ? error->message : "?");
        assert_rendered(&f, "empty");
    }
    g_clear_error(&error);
    ck_assert(exists_in(&f, "empty.dat"));
    sim_series_free(empty);
    fixture_clear(&f);
}
END_TEST

START_TEST(test_gnuplot_missing)
{
    Fixture f;
    fixture_init(&f);
    g_autofree char *bin = g_dir_make_tmp("portsim-nopath-XXXXXX", NULL);
    char *old_path = path_only(bin);
    ck_assert(!plot_gnuplot_available());

    PlotExhaustionSpec spec = base_spec(&f);
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "curve", &spec, &error);
    restore_path(old_path);
    g_rmdir(bin);

    ck_assert(!ok);
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_str_eq(error->message, "gnuplot not found on PATH; wrote curve.gp and curve.dat, "
                                     "run `gnuplot curve.gp` to render");
    g_clear_error(&error);
    ck_assert(exists_in(&f, "curve.dat"));
    ck_assert(exists_in(&f, "curve.gp"));
    ck_assert(!exists_in(&f, "curve.svg"));
    fixture_clear(&f);
}
END_TEST

START_TEST(test_gnuplot_fails)
{
    Fixture f;
    fixture_init(&f);
    /* A stand-in gnuplot that leaves a partial output and then fails. */
    g_autofree char *bin = g_dir_make_tmp("portsim-fakegp-XXXXXX", NULL);
    g_autofree char *fake = g_build_filename(bin, "gnuplot", NULL);
    const char *script = "#!/bin/sh\n"
                         "echo partial > 'curve.svg.tmp'\n"
                         "echo '\"curve.gp\" line 7: boom' >&2\n"
                         "exit 1\n";
    ck_assert(g_file_set_contents(fake, script, -1, NULL));
    ck_assert_int_eq(g_chmod(fake, 0755), 0);
    char *old_path = path_only(bin);

    PlotExhaustionSpec spec = base_spec(&f);
    GError *error = NULL;
    gboolean ok = plot_exhaustion(f.dir, "curve", &spec, &error);
    restore_path(old_path);
    g_unlink(fake);
    g_rmdir(bin);

    ck_assert(!ok);
    ck_assert(g_error_matches(error, SIM_ERROR, SIM_ERROR_RUNTIME));
    ck_assert_msg(strstr(error->message, "line 7: boom") != NULL, "message: %s",
                  error->message);
    g_clear_error(&error);
    ck_assert(!exists_in(&f, "curve.svg"));
    ck_assert(!exists_in(&f, "curve.png"));
    assert_no_tmp_files(&f);
    fixture_clear(&f);
}
END_TEST

static Suite *plots_suite(void)
{
    Suite *s = suite_create("plots");
    TCase *tc = tcase_create("exhaustion");
    tcase_add_test(tc, test_dat_rows);
    tcase_add_test(tc, test_gp_script);
    tcase_add_test(tc, test_marks);
    tcase_add_test(tc, test_renders_svg_and_png);
    tcase_add_test(tc, test_stack_above_capacity_sets_range);
    tcase_add_test(tc, test_missing_column);
    tcase_add_test(tc, test_bad_name);
    tcase_add_test(tc, test_awkward_text);
    tcase_add_test(tc, test_nan_and_no_failures);
    tcase_add_test(tc, test_empty_series);
    tcase_add_test(tc, test_gnuplot_missing);
    tcase_add_test(tc, test_gnuplot_fails);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(plots_suite)
