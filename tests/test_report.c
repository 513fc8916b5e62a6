/* report.html: escaping, structure, self-containment, and a real browser. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "report.h"
#include "test_util.h"

static char *tmp_dir(void) { return g_dir_make_tmp("portsim-report-XXXXXX", NULL); }

static void rm_rf(const char *dir)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A summary with hostile names, shaped like summary.json. */
static JsonNode *summary_with(const char *scenario, gint64 failures)
{
    g_autofree char *json = g_strdup_printf(
        "{\"portsim_version\":\"0.1.0\",\"scenario\":%s,\"seed\":7,\"complete\":true,"
        "\"overall\":{\"attempts\":1000,\"failures\":%" G_GINT64_FORMAT ",\"failure_ratio\":%g},"
        "\"hosts\":[{\"name\":\"h<1>\",\"pools\":[{\"address\":\"10.0.0.1\","
        "\"capacity_ports\":100,\"destinations\":1,\"peak_ports_in_use\":100,"
        "\"peak_port_utilization\":1.0,\"first_failure_s\":%s,"
        "\"failures_by_reason\":{\"EADDRNOTAVAIL\":%" G_GINT64_FORMAT "},"
        "\"offered_per_s\":5,\"carried_per_s\":1.6,\"mean_probes_per_allocation\":3.5}]}],"
        "\"workloads\":[{\"name\":\"w&x\",\"host\":\"h<1>\",\"target\":\"s\",\"attempts\":1000,"
        "\"successes\":%" G_GINT64_FORMAT ",\"failures\":%" G_GINT64_FORMAT ","
        "\"failure_ratio\":%g,\"first_failure_s\":null,\"offered_per_s\":5,\"carried_per_s\":1.6}]}",
        scenario, failures, failures / 1000.0, failures ? "20.0" : "null", failures,
        1000 - failures, failures, failures / 1000.0);
    JsonParser *parser = json_parser_new();
    ck_assert(json_parser_load_from_data(parser, json, -1, NULL));
    JsonNode *root = json_node_copy(json_parser_get_root(parser));
    g_object_unref(parser);
    return root;
}

static char *render(JsonNode *summary, const char *description, const char *svg_path)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *path = g_build_filename(dir, "report.html", NULL);
    PsReportPlot plot = {svg_path, "a plot <with> \"markup\""};
    PsRunReport r = {
        .summary = summary,
        .description = description,
        .effective_ini = "[scenario]\nname = <x>\n",
        .command_line = "portsim run 'a&b.ini'",
        .plots = svg_path ? &plot : NULL,
        .n_plots = svg_path ? 1 : 0,
    };
    GError *error = NULL;
    ck_assert_msg(ps_report_write_run(path, &r, &error), "%s", error ? error->message : "");
    char *html = NULL;
    ck_assert(g_file_get_contents(path, &html, NULL, NULL));
    rm_rf(dir);
    return html;
}

START_TEST(user_text_is_escaped)
{
    JsonNode *s = summary_with("\"<script>alert(1)</script>\"", 600);
    g_autofree char *html = render(s, "desc <img src=x onerror=alert(2)> & more", NULL);
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "<img src=x"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "desc &lt;img src=x onerror=alert(2)&gt; &amp; more"));
    ck_assert_ptr_nonnull(strstr(html, "h&lt;1&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "w&amp;x"));
    ck_assert_ptr_nonnull(strstr(html, "name = &lt;x&gt;"));
    ck_assert_ptr_nonnull(strstr(html, "portsim run &apos;a&amp;b.ini&apos;") ?
                          strstr(html, "portsim run &apos;a&amp;b.ini&apos;") :
                          strstr(html, "portsim run &#39;a&amp;b.ini&#39;"));
    ck_assert_ptr_null(strstr(html, "{{")); /* every placeholder filled */
    json_node_unref(s);
}
END_TEST

START_TEST(structure_and_self_containment)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *svg = g_build_filename(dir, "p.svg", NULL);
    ck_assert(g_file_set_contents(svg, "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/"
                                        "2000/svg\" width=\"10\" height=\"10\"></svg>",
                                  -1, NULL));
    JsonNode *s = summary_with("\"flash\"", 600);
    g_autofree char *html = render(s, NULL, svg);
    /* verdict, real table markup, the plot inline with its text alternative */
    ck_assert_ptr_nonnull(strstr(html, "Connections start failing at 20.0s"));
    ck_assert_ptr_nonnull(strstr(html, "class=\"verdict failing\""));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"col\">Capacity (ports)</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"row\">h&lt;1&gt;</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<img src=\"data:image/svg+xml;base64,"));
    ck_assert_ptr_nonnull(strstr(html, "alt=\"a plot &lt;with&gt; &quot;markup&quot;\""));
    /* nothing fetched from anywhere: no external script, style, font or image */
    const char *external[] = {"src=\"http", "href=\"http", "url(http", "<script", "<link"};
    for (guint i = 0; i < G_N_ELEMENTS(external); i++)
        ck_assert_msg(strstr(html, external[i]) == NULL, "found %s", external[i]);
    ck_assert_ptr_nonnull(strstr(html, "<meta name=\"viewport\""));
    ck_assert_ptr_nonnull(strstr(html, "@media print"));
    json_node_unref(s);
    JsonNode *ok = summary_with("\"calm\"", 0);
    g_autofree char *calm = render(ok, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(calm, "No connection failed in 1,000 attempts"));
    ck_assert_ptr_nonnull(strstr(calm, "class=\"verdict healthy\""));
    json_node_unref(ok);
    rm_rf(dir);
}
END_TEST

static int spawn(char **argv, char **out, char **err)
{
    int status = 0;
    GError *error = NULL;
    gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, err,
                               &status, &error);
    ck_assert_msg(ok, "spawn %s: %s", argv[0], error ? error->message : "");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The flash-sale run's report, opened in headless Chromium with no
 * network: it must load without console errors or requests, show the
 * verdict, the table and the plot, and leave a screenshot behind. */
START_TEST(flash_sale_report_in_a_real_browser)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *sc = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios",
                                           "flash-sale.ini", NULL);
    char *run[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", dir, "-q", NULL};
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_int_eq(spawn(run, &out, &err), 0);
    g_autofree char *path = g_build_filename(dir, "report.html", NULL);
    g_autofree char *html = NULL;
    ck_assert_msg(g_file_get_contents(path, &html, NULL, NULL), "no report.html: %s", err);
    ck_assert_ptr_nonnull(strstr(html, "Connections start failing at 10m"));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"row\">shop</th>"));
    /* the closed-form limits beside the simulated figures */
    ck_assert_ptr_nonnull(strstr(html, "Closed-form limits"));
    ck_assert_ptr_nonnull(strstr(html, "sustainable rate"));
    ck_assert_ptr_nonnull(strstr(html, "data:image/svg+xml;base64,"));

    g_autofree char *chromium = g_find_program_in_path("chromium");
    if (!chromium) {
        printf("SKIP browser check: chromium is not installed (apt-get install chromium)\n");
        rm_rf(dir);
        return;
    }
    g_autofree char *profile = g_build_filename(dir, "profile", NULL);
    g_autofree char *user_data = g_strconcat("--user-data-dir=", profile, NULL);
    /* Kept as a test artefact in the build folder (PORTSIM_ARTIFACT_DIR). */
    const char *artifacts = g_getenv("PORTSIM_ARTIFACT_DIR");
    g_autofree char *shot_path =
        g_build_filename(artifacts ? artifacts : dir, "report-flash-sale.png", NULL);
    g_autofree char *shot = g_strconcat("--screenshot=", shot_path, NULL);
    g_autofree char *url = g_strconcat("file://", path, NULL);
    /* Any request leaving the page would fail loudly: every host resolves
     * to nothing and the proxy is a closed port. */
    char *base[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                    "--enable-logging=stderr", "--v=0", user_data, "--window-size=1200,2400",
                    NULL, NULL, NULL};
    base[14] = "--dump-dom";
    base[15] = url;
    g_autofree char *dom = NULL, *log = NULL;
    ck_assert_int_eq(spawn(base, &dom, &log), 0);
    ck_assert_ptr_nonnull(strstr(dom, "Port pools"));
    ck_assert_ptr_nonnull(strstr(dom, "Connections start failing"));
    ck_assert_msg(strstr(log, ":CONSOLE") == NULL, "console output: %s", log);
    ck_assert_msg(strstr(log, "ERR_") == NULL, "a request was made: %s", log);
    base[14] = shot;
    g_autofree char *o2 = NULL, *e2 = NULL;
    ck_assert_int_eq(spawn(base, &o2, &e2), 0);
    ck_assert_msg(g_file_test(shot_path, G_FILE_TEST_EXISTS), "no screenshot: %s", e2);
    printf("screenshot: %s\n", shot_path);

    /* a phone-sized screen: the page lays out at 375 px without error */
    g_autofree char *phone_path = g_build_filename(artifacts ? artifacts : dir,
                                                   "report-flash-sale-phone.png", NULL);
    g_autofree char *phone = g_strconcat("--screenshot=", phone_path, NULL);
    base[13] = "--window-size=375,1600";
    base[14] = phone;
    g_autofree char *o3 = NULL, *e3 = NULL;
    ck_assert_int_eq(spawn(base, &o3, &e3), 0);
    ck_assert_msg(g_file_test(phone_path, G_FILE_TEST_EXISTS), "no phone screenshot: %s", e3);

    /* printable: Chromium's print to PDF gives a PDF */
    g_autofree char *pdf_path = g_build_filename(dir, "report.pdf", NULL);
    g_autofree char *pdf = g_strconcat("--print-to-pdf=", pdf_path, NULL);
    base[14] = pdf;
    g_autofree char *o4 = NULL, *e4 = NULL;
    ck_assert_int_eq(spawn(base, &o4, &e4), 0);
    g_autofree char *pdf_text = NULL;
    gsize pdf_len = 0;
    ck_assert_msg(g_file_get_contents(pdf_path, &pdf_text, &pdf_len, NULL), "no PDF: %s", e4);
    ck_assert(pdf_len > 1000 && g_str_has_prefix(pdf_text, "%PDF"));
    rm_rf(dir);
}
END_TEST

/* A sweep's report: the knee sentence, the curves inline, one row per point. */
START_TEST(sweep_report)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *ini = g_build_filename(dir, "loss.ini", NULL);
    ck_assert(g_file_set_contents(ini,
                                  "[scenario]\nduration = 300s\nsample = 10s\n"
                                  "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40049\n"
                                  "time_wait = 0s\n[server s]\naddresses = 10.1.0.1\nports = 443\n"
                                  "[workload w]\nhost = c\ntarget = server s\narrival = poisson\n"
                                  "rate = 5/s\nhold = exp(10s)\n",
                                  -1, NULL));
    g_autofree char *out_dir = g_build_filename(dir, "sweep", NULL);
    char *sweep[] = {(char *)g_getenv("PORTSIM_BINARY"), "sweep", ini, "--vary",
                     "workload.w.rate=2/s,5/s,8/s", "-r", "3", "-o", out_dir, "-q", NULL};
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_msg(spawn(sweep, &out, &err) == 0, "%s", err);
    g_autofree char *path = g_build_filename(out_dir, "report.html", NULL);
    g_autofree char *html = NULL;
    ck_assert_msg(g_file_get_contents(path, &html, NULL, NULL), "no sweep report.html");
    ck_assert_ptr_nonnull(strstr(html, "The failure ratio crosses 0.1% at workload.w.rate = "));
    ck_assert_ptr_nonnull(strstr(html, "<th>8/s</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"col\">Erlang B</th>"));
    ck_assert_ptr_nonnull(strstr(html, "data:image/svg+xml;base64,"));
    ck_assert_ptr_nonnull(strstr(html, "portsim sweep"));
    ck_assert_ptr_null(strstr(html, "{{"));
    rm_rf(dir);
}
END_TEST

/* A comparison's report: a broken [expect] line comes first, then the
 * verdict and one row per allocator. */
START_TEST(compare_report)
{
    g_autofree char *dir = tmp_dir();
    char *cmp[] = {(char *)g_getenv("PORTSIM_BINARY"), "compare", "allocator-shootout",
                   "--allocators", "linux,sequential", "-o", dir, "-q", "--set",
                   "expect.mean_probes_per_allocation=<= 400", NULL};
    g_autofree char *out = NULL, *err = NULL;
    ck_assert_int_eq(spawn(cmp, &out, &err), 1); /* linux breaks the gate */
    g_autofree char *path = g_build_filename(dir, "report.html", NULL);
    g_autofree char *html = NULL;
    ck_assert_msg(g_file_get_contents(path, &html, NULL, NULL), "no compare report.html");
    const char *broken = strstr(html, "Broken expectations");
    const char *verdict = strstr(html, "class=\"verdict");
    ck_assert_ptr_nonnull(broken);
    ck_assert_ptr_nonnull(verdict);
    ck_assert(broken < verdict); /* shown first */
    ck_assert_ptr_nonnull(strstr(html, "BROKEN  mean_probes_per_allocation"));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"row\">linux</th>"));
    ck_assert_ptr_nonnull(strstr(html, "<th scope=\"row\">sequential</th>"));
    ck_assert_ptr_nonnull(strstr(html, "data:image/svg+xml;base64,"));
    ck_assert_ptr_null(strstr(html, "{{"));
    rm_rf(dir);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, user_text_is_escaped);
    tcase_add_test(tc, structure_and_self_containment);
    tcase_add_test(tc, flash_sale_report_in_a_real_browser);
    tcase_add_test(tc, sweep_report);
    tcase_add_test(tc, compare_report);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(report_suite)
