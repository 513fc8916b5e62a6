/* portsim sweep, run-one and merge: agreement with Erlang B, identical bytes
 * for any -j and through GNU parallel (also after a killed run is resumed),
 * --precision, refusal of foreign run files, [expect] per point,
 * --baseline, and the statistics underneath. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "cli_util.h"
#include "confidence.h"
#include "test_util.h"

/* An M/M/c/c loss system: 50 ports, no TIME_WAIT, exponential holds of
 * 10 s, Poisson arrivals: Erlang B is the exact blocking probability. */
static const char loss_ini[] = "[scenario]\n"
                               "name = loss\n"
                               "duration = 2000s\n"
                               "seed = 1\n"
                               "sample = 100s\n"
                               "[host c]\n"
                               "addresses = 10.0.0.1\n"
                               "ephemeral_range = 40000-40049\n"
                               "time_wait = 0s\n"
                               "[server s]\n"
                               "addresses = 10.1.0.1\n"
                               "ports = 443\n"
                               "[workload w]\n"
                               "host = c\n"
                               "target = server s\n"
                               "arrival = poisson\n"
                               "rate = 5/s\n"
                               "hold = exp(10s)\n";

static guint count_lines(const char *text)
{
    guint n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static char *tmpdir(void)
{
    char *d = g_dir_make_tmp("portsim-sweep-XXXXXX", NULL);
    ck_assert_ptr_nonnull(d);
    return d;
}

static gboolean same_file(const char *a, const char *b, const char *name)
{
    g_autofree char *x = cli_slurp(a, name), *y = cli_slurp(b, name);
    return strcmp(x, y) == 0;
}

START_TEST(student_t_and_intervals)
{
    ck_assert(fabs(sim_student_t975(1) - 12.706) < 1e-9);
    ck_assert(fabs(sim_student_t975(7) - 2.365) < 1e-9);
    ck_assert(fabs(sim_student_t975(35) - 2.042) < 1e-9); /* conservative: df 30's value */
    ck_assert(fabs(sim_student_t975(1000000) - 1.960) < 1e-9);
    /* 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), half-width t(3) sd / 2 */
    double v[] = {1, 2, NAN, 3, 4};
    SimInterval iv = sim_interval_of(v, 5);
    ck_assert_uint_eq(iv.n, 4);
    ck_assert(fabs(iv.mean - 2.5) < 1e-12);
    ck_assert(fabs(iv.sd - sqrt(5.0 / 3)) < 1e-12);
    ck_assert(fabs(iv.half_width - 3.182 * sqrt(5.0 / 3) / 2) < 1e-12);
    SimInterval one = sim_interval_of(v, 1);
    ck_assert(one.n == 1 && isnan(one.half_width));
    /* Welch: clearly apart, and overlapping */
    double a[] = {10, 11, 10.5, 10.2}, b[] = {12, 12.5, 11.8, 12.2}, c[] = {10.1, 10.9, 10.4, 10.6};
    SimInterval ia = sim_interval_of(a, 4), ib = sim_interval_of(b, 4), ic = sim_interval_of(c, 4);
    ck_assert(sim_means_differ(&ia, &ib));
    ck_assert(!sim_means_differ(&ia, &ic));
}
END_TEST

/* Erlang B at every point, within the point's interval widened to 99.9%
 * (t(0.9995, 7) / t(0.975, 7) = 5.408 / 2.365 = 2.29: eight replications)
 * plus the bias of starting from an empty pool (one mean hold of 10 s out
 * of 4000 s: 0.25% of the value, allowed 0.5%). */
START_TEST(erlang_b_at_every_point)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    const char *args[] = {"sweep", ini, "--vary", "workload.w.rate=3/s:6/s:1/s", "-r", "8",
                          "-o", out, "--no-plots", "--set", "scenario.duration=4000s", NULL};
    CliResult r = cli_run(args);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "Erlang B"));
    ck_assert_ptr_nonnull(strstr(r.out, "Knee: the failure ratio crosses 0.001 at "
                                        "workload.w.rate = "));
    cli_result_free(&r);
    g_autofree char *path = g_build_filename(out, "sweep.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    ck_assert(json_parser_load_from_file(parser, path, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    ck_assert(json_object_get_boolean_member(root, "single_pool_loss_system"));
    JsonArray *points = json_object_get_array_member(root, "points");
    ck_assert_uint_eq(json_array_get_length(points), 4);
    for (guint i = 0; i < 4; i++) {
        JsonObject *p = json_array_get_object_element(points, i);
        JsonObject *fr = json_object_get_object_member(p, "failure_ratio");
        double mean = json_object_get_double_member(fr, "mean");
        double hw = json_object_get_double_member(fr, "ci95");
        double b = json_object_get_double_member(p, "erlang_b");
        ck_assert_int_eq(json_object_get_int_member(p, "replications"), 8);
        if (fabs(mean - b) > 2.29 * hw + 0.005 * b + 1e-5)
            ck_abort_msg("point %u: %.5f +- %.5f, Erlang B %.5f", i, mean, hw, b);
        /* The check can fail: where blocking is 5% or more, a result a
         * quarter away from Erlang B would be outside the tolerance. */
        if (b > 0.05 && 2.29 * hw > 0.25 * b)
            ck_abort_msg("point %u too noisy: %.5f +- %.5f", i, mean, hw);
    }
    /* The knee lies between 3/s (B = 0.0002) and 4/s (B = 0.019). */
    JsonObject *knee = json_array_get_object_element(
        json_object_get_array_member(json_object_get_object_member(root, "knee"), "curves"), 0);
    double kx = json_object_get_double_member(knee, "workload.w.rate");
    ck_assert_msg(kx > 3 && kx < 4, "knee %f", kx);
    /* linear interpolation of the means: 3 + (0.001 - m(3)) / (m(4) - m(3)) */
    double m3 = json_object_get_double_member(
        json_object_get_object_member(json_array_get_object_element(points, 0), "failure_ratio"),
        "mean");
    double m4 = json_object_get_double_member(
        json_object_get_object_member(json_array_get_object_element(points, 1), "failure_ratio"),
        "mean");
    ck_assert_msg(fabs(kx - (3 + (0.001 - m3) / (m4 - m3))) < 1e-9, "knee %f", kx);
    ck_assert(json_object_get_double_member(knee, "ci95_low") <= kx);
    ck_assert(json_object_get_double_member(knee, "ci95_high") >= kx);
    cli_rm_rf(dir);
}
END_TEST

START_TEST(identical_bytes_for_any_jobs)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    g_autofree char *a = g_build_filename(dir, "a", NULL), *b = g_build_filename(dir, "b", NULL);
    const char *j1[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,6/s", "--vary",
                        "host.c.ephemeral_range=40000-40049,40000-40069", "-r", "3", "-j",
                        "1", "-o", a, "-q", NULL};
    const char *j2[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,6/s", "--vary",
                        "host.c.ephemeral_range=40000-40049,40000-40069", "-r", "3", "-j",
                        "2", "-o", b, "-q", NULL};
    CliResult r1 = cli_run(j1), r2 = cli_run(j2);
    ck_assert_msg(r1.status == 0 && r2.status == 0, "%s %s", r1.err, r2.err);
    ck_assert_str_eq(r1.out, "");
    static const char *const files[] = {"sweep.csv", "sweep.json", "plots/failure_ratio.dat",
                                        "plots/failure_ratio.gp", "runs/run-000011.json"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++)
        ck_assert_msg(same_file(a, b, files[i]), "%s differs between -j 1 and -j 2", files[i]);
    /* A 2 x 2 grid: 4 points, 3 replications, different results per point. */
    g_autofree char *csv = cli_slurp(a, "sweep.csv");
    ck_assert_ptr_nonnull(strstr(csv, "\n3,6/s,40000-40069,3,"));
    cli_result_free(&r1);
    cli_result_free(&r2);
    /* The same sweep again into the same folder redoes only what is
     * missing: a lost result comes back with the same bytes. */
    g_autofree char *lost = g_build_filename(a, "runs", "run-000005.json", NULL);
    g_autofree char *kept = g_build_filename(a, "runs", "run-000004.json", NULL);
    GStatBuf before;
    ck_assert_int_eq(g_stat(kept, &before), 0);
    ck_assert_int_eq(g_unlink(lost), 0);
    g_usleep(20000); /* a rewrite would show in the modification time */
    CliResult again = cli_run(j1);
    ck_assert_msg(again.status == 0, "%s", again.err);
    cli_result_free(&again);
    GStatBuf after;
    ck_assert_int_eq(g_stat(kept, &after), 0);
    ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    ck_assert(g_file_test(lost, G_FILE_TEST_EXISTS));
    for (guint i = 0; i < G_N_ELEMENTS(files); i++)
        ck_assert_msg(same_file(a, b, files[i]), "%s differs after a resumed sweep", files[i]);
    /* Another sweep into that folder is refused rather than mixed in. */
    const char *other[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,7/s", "-o", a, NULL};
    CliResult o = cli_run(other);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "holds another sweep"));
    cli_result_free(&o);
    cli_rm_rf(dir);
}
END_TEST

/* --precision keeps replicating a point until its half-width is at most P:
 * the zero-failure point stops at the first round, the loaded ones go on. */
START_TEST(precision_stops_where_it_should)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    g_autofree char *out = g_build_filename(dir, "p", NULL);
    const char *args[] = {"sweep", ini, "--vary", "workload.w.rate=1/s,5/s", "-r", "2",
                          "--precision", "0.004", "--max-replications", "12", "-o", out,
                          "--no-plots", "-q", "--set", "scenario.duration=500s", NULL};
    CliResult r = cli_run(args);
    ck_assert_msg(r.status == 0, "%s", r.err);
    g_autofree char *path = g_build_filename(out, "sweep.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    ck_assert(json_parser_load_from_file(parser, path, NULL));
    JsonArray *points = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser)), "points");
    JsonObject *idle = json_array_get_object_element(points, 0);
    JsonObject *busy = json_array_get_object_element(points, 1);
    ck_assert_int_eq(json_object_get_int_member(idle, "replications"), 2);
    gint64 n = json_object_get_int_member(busy, "replications");
    double hw = json_object_get_double_member(
        json_object_get_object_member(busy, "failure_ratio"), "ci95");
    /* It stopped at the first even count whose interval was narrow enough,
     * or at the maximum. */
    ck_assert_msg(n > 2 && n % 2 == 0 && n <= 12, "%" G_GINT64_FORMAT " replications", n);
    ck_assert_msg(hw <= 0.004 || n == 12, "half-width %f after %" G_GINT64_FORMAT, hw, n);
    if (n > 4) {
        /* With two fewer it was still too wide (the rounds add 2). */
        g_autofree char *runs = g_build_filename(out, "runs", NULL);
        g_autofree char *last = g_strdup_printf("run-%06d.json", (int)(12 + n - 1));
        g_autofree char *extra = g_strdup_printf("run-%06d.json", (int)(12 + n));
        g_autofree char *p_last = g_build_filename(runs, last, NULL);
        g_autofree char *p_extra = g_build_filename(runs, extra, NULL);
        ck_assert(g_file_test(p_last, G_FILE_TEST_EXISTS));
        ck_assert(!g_file_test(p_extra, G_FILE_TEST_EXISTS));
    }
    cli_result_free(&r);
    cli_rm_rf(dir);
}
END_TEST

/* The recipe of docs/clusters.md, for real, on localhost: emit the run
 * list, GNU parallel runs it (one job killed on the way), a merge reports
 * the missing run, --resume-failed redoes only that one, and the merged
 * bytes equal a one-process sweep's. */
START_TEST(gnu_parallel_recipe_and_resume)
{
    g_autofree char *parallel = g_find_program_in_path("parallel");
    if (parallel == NULL)
        ck_abort_msg("GNU parallel is not installed (scripts/deps.sh installs it)");
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    g_autofree char *local = g_build_filename(dir, "local", NULL);
    g_autofree char *shared = g_build_filename(dir, "shared", NULL);
    const char *vary = "workload.w.rate=3/s:5/s:1/s";
    const char *one[] = {"sweep", ini, "--vary", vary, "-r", "3", "-o", local, "-q", NULL};
    CliResult r = cli_run(one);
    ck_assert_msg(r.status == 0, "%s", r.err);
    cli_result_free(&r);

    const char *emit[] = {"sweep", ini, "--vary", vary, "-r", "3", "-o", shared, "--emit-runs",
                          NULL};
    CliResult e = cli_run(emit);
    ck_assert_int_eq(e.status, 0);
    g_autofree char *list = cli_write(dir, "runs.txt", e.out);
    ck_assert_uint_eq(count_lines(e.out), 9);
    cli_result_free(&e);

    /* A job that kills itself once: run 000004 dies by SIGKILL the first
     * time, as a node lost in the middle of a run would. */
    g_autofree char *flag = cli_write(dir, "kill-once", "");
    g_autofree char *job_text = g_strdup_printf(
        "case \"$1\" in 000004*) if [ -e '%s' ]; then rm '%s'; kill -9 $$; fi;; esac\n"
        "exec '%s' run-one \"$1\"\n",
        flag, flag, g_getenv("PORTSIM_BINARY"));
    g_autofree char *job = cli_write(dir, "job.sh", job_text);
    g_autofree char *joblog = g_build_filename(dir, "jobs.log", NULL);
    g_autofree char *cmd = g_strdup_printf(
        "cd '%s' && '%s' --will-cite --joblog '%s' -j 2 sh '%s' {} :::: '%s' 2>/dev/null", dir,
        parallel, joblog, job, list);
    int status = system(cmd);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                  "parallel should report one failed job, got %d", status);

    const char *merge[] = {"merge", shared, "-q", NULL};
    CliResult m1 = cli_run(merge);
    ck_assert_int_eq(m1.status, 1);
    ck_assert_msg(strstr(m1.err, "1 of 9 runs have no result") && strstr(m1.err, "000004"),
                  "%s", m1.err);
    cli_result_free(&m1);

    g_autofree char *resume = g_strdup_printf(
        "cd '%s' && '%s' --will-cite --joblog '%s' --resume-failed -j 2 sh '%s' {} :::: '%s'",
        dir, parallel, joblog, job, list);
    ck_assert_int_eq(system(resume), 0);
    /* Only the killed run ran again: the log has 9 + 1 entries. */
    g_autofree char *log = cli_slurp(dir, "jobs.log");
    ck_assert_uint_eq(count_lines(log), 1 + 10); /* a header line, then one per job */

    CliResult m2 = cli_run(merge);
    ck_assert_msg(m2.status == 0, "%s", m2.err);
    cli_result_free(&m2);
    static const char *const files[] = {"sweep.csv", "sweep.json", "plots/failure_ratio.dat",
                                        "plots/failure_ratio.gp", "plots/failure_ratio.svg",
                                        "plots/peak_utilization.dat"};
    for (guint i = 0; i < G_N_ELEMENTS(files); i++)
        ck_assert_msg(same_file(local, shared, files[i]),
                      "%s differs between the one-process sweep and GNU parallel", files[i]);
    cli_rm_rf(dir);
}
END_TEST

START_TEST(merge_refuses_foreign_runs)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    g_autofree char *a = g_build_filename(dir, "a", NULL), *b = g_build_filename(dir, "b", NULL);
    g_autofree char *c = g_build_filename(dir, "c", NULL);
    const char *base[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,5/s", "-r", "2",
                          "-o", a, "-q", "--no-plots", "--set", "scenario.duration=200s", NULL};
    const char *seed[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,5/s", "-r", "2",
                          "-o", b, "-q", "--no-plots", "--set", "scenario.duration=200s",
                          "--seed", "2", NULL};
    const char *name[] = {"sweep", ini, "--vary", "workload.w.rate=4/s,5/s", "-r", "2",
                          "-o", c, "-q", "--no-plots", "--set", "scenario.duration=200s",
                          "--set", "scenario.name=other", NULL};
    CliResult ra = cli_run(base), rb = cli_run(seed), rc = cli_run(name);
    ck_assert(ra.status == 0 && rb.status == 0 && rc.status == 0);
    cli_result_free(&ra);
    cli_result_free(&rb);
    cli_result_free(&rc);
    /* a's run 1 replaced by b's (another seed), then by c's (another name) */
    g_autofree char *b1 = cli_slurp(b, "runs/run-000001.json");
    g_autofree char *c1 = cli_slurp(c, "runs/run-000001.json");
    g_autofree char *a1 = cli_slurp(a, "runs/run-000001.json");
    g_autofree char *runs = g_build_filename(a, "runs", NULL);
    g_autofree char *p1 = cli_write(runs, "run-000001.json", b1);
    const char *merge[] = {"merge", a, "-q", "--no-plots", NULL};
    CliResult m = cli_run(merge);
    ck_assert_int_eq(m.status, 2);
    ck_assert_msg(strstr(m.err, "run-000001.json: from seed 2, not 1: refusing to merge it"),
                  "%s", m.err);
    cli_result_free(&m);
    g_free(cli_write(runs, "run-000001.json", c1));
    m = cli_run(merge);
    ck_assert_int_eq(m.status, 2);
    ck_assert_msg(strstr(m.err, "from scenario 'other', not 'loss'"), "%s", m.err);
    cli_result_free(&m);
    /* Another folder with another plan is refused as a whole. */
    g_free(cli_write(runs, "run-000001.json", a1));
    const char *two[] = {"merge", a, b, "-q", "--no-plots", NULL};
    m = cli_run(two);
    ck_assert_int_eq(m.status, 2);
    ck_assert_ptr_nonnull(strstr(m.err, "holds another sweep"));
    cli_result_free(&m);
    m = cli_run(merge);
    ck_assert_msg(m.status == 0, "%s", m.err);
    cli_result_free(&m);
    /* A run line that does not fit the plan */
    g_autofree char *line = g_strdup_printf("000099 9 0 1 %s", a);
    const char *bad[] = {"run-one", line, NULL};
    m = cli_run(bad);
    ck_assert_int_eq(m.status, 2);
    ck_assert_ptr_nonnull(strstr(m.err, "is not in the plan"));
    cli_result_free(&m);
    cli_rm_rf(dir);
}
END_TEST

START_TEST(expect_per_point_and_baseline)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *text = g_strconcat(loss_ini, "[expect]\nfailure_ratio = <= 0.05\n", NULL);
    g_autofree char *ini = cli_write(dir, "loss.ini", text);
    g_autofree char *a = g_build_filename(dir, "a", NULL), *b = g_build_filename(dir, "b", NULL);
    const char *args[] = {"sweep", ini, "--vary", "workload.w.rate=3/s,6/s", "-r", "3", "-o", a,
                          "--no-plots", "--set", "scenario.duration=1000s", NULL};
    CliResult r = cli_run(args);
    /* 3/s blocks 0.02%, 6/s about 21%: the second point breaks the gate */
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "[expect] broken at point 1 (workload.w.rate=6/s)") &&
                      strstr(r.err, "BROKEN  failure_ratio <= 0.05: 0.2"),
                  "%s", r.err);
    ck_assert_ptr_null(strstr(r.err, "point 0"));
    g_autofree char *csv = cli_slurp(a, "sweep.csv");
    ck_assert_ptr_nonnull(strstr(csv, ",ok\n1,6/s,"));
    ck_assert(g_str_has_suffix(csv, ",BROKEN\n"));
    cli_result_free(&r);

    /* Baseline: the same sweep against itself shows no change; with 30%
     * fewer ports the failure ratio rises significantly. */
    g_autofree char *old = g_build_filename(a, "sweep.json", NULL);
    g_autofree char *plain = cli_write(dir, "plain.ini", loss_ini);
    g_autofree char *c = g_build_filename(dir, "c", NULL);
    const char *same[] = {"sweep", plain, "--vary", "workload.w.rate=3/s,6/s", "-r", "3", "-o",
                          b, "--no-plots", "--set", "scenario.duration=1000s", "--baseline",
                          old, NULL};
    r = cli_run(same);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "no significant change"));
    cli_result_free(&r);
    const char *worse[] = {"sweep", plain, "--vary", "workload.w.rate=3/s,6/s", "-r", "3", "-o",
                           c, "--no-plots", "--set", "scenario.duration=1000s", "--set",
                           "host.c.ephemeral_range=40000-40034", "--baseline", old, NULL};
    r = cli_run(worse);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "significant changes against the baseline") &&
                      strstr(r.err, "point 1: failure_ratio 0.2"),
                  "%s", r.err);
    cli_result_free(&r);
    cli_rm_rf(dir);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    g_autofree char *dir = tmpdir();
    g_autofree char *ini = cli_write(dir, "loss.ini", loss_ini);
    static const struct {
        const char *vary;
        const char *message;
    } cases[] = {
        {"workload.w.rate=1/s:1k/s:1/s", "must have the same unit"},
        {"workload.w.rate=5/s:1/s:1/s", "TO at least FROM"},
        {"workload.w.rate", "expected KEY=FROM:TO:STEP"},
        {"workload.w.rat=1/s,2/s", "did you mean 'rate'"},
        {"workload.x.rate=1/s,2/s", "no section [workload x]"},
        {"workload.w.rate=1/s,fast", "--vary: --set workload.w.rate=fast"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *args[] = {"sweep", ini, "--vary", cases[i].vary, "-o", dir, NULL};
        CliResult r = cli_run(args);
        if (r.status != 2 || strstr(r.err, cases[i].message) == NULL)
            ck_abort_msg("--vary %s: exit %d, %s", cases[i].vary, r.status, r.err);
        cli_result_free(&r);
    }
    const char *none[] = {"sweep", ini, NULL};
    CliResult r = cli_run(none);
    ck_assert_int_eq(r.status, 2);
    cli_result_free(&r);
    const char *both[] = {"sweep", ini, "--vary", "workload.w.rate=1/s,2/s", "--precision",
                          "0.01", "--emit-runs", NULL};
    r = cli_run(both);
    ck_assert_int_eq(r.status, 2);
    cli_result_free(&r);
    const char *help[] = {"sweep", "--help", NULL};
    r = cli_run(help);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Exit codes"));
    cli_result_free(&r);
    cli_rm_rf(dir);
}
END_TEST

static Suite *sweep_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, student_t_and_intervals);
    tcase_add_test(tc, erlang_b_at_every_point);
    tcase_add_test(tc, identical_bytes_for_any_jobs);
    tcase_add_test(tc, precision_stops_where_it_should);
    tcase_add_test(tc, gnu_parallel_recipe_and_resume);
    tcase_add_test(tc, merge_refuses_foreign_runs);
    tcase_add_test(tc, expect_per_point_and_baseline);
    tcase_add_test(tc, usage_errors_exit_2);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(sweep_suite)
