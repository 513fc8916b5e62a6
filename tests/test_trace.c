/* Traces a student reads: the pcap file as tshark decodes it, and the
 * readable event log with its filter. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "pcap_writer.h"
#include "test_util.h"
#include "trace_log.h"

static SimAddress addr(const char *text)
{
    SimAddress a;
    ck_assert(sim_parse_address(text, &a, NULL));
    return a;
}

/* A client-closes conversation, as the simulator sends it. */
static void conversation(PsPcap *p, const char *client, const char *server, uint16_t cport,
                         SimTime t0, gboolean reset)
{
    SimAddress c = addr(client), s = addr(server);
    const uint32_t ic = 1000, is = 5000;
    PsSegment segs[] = {
        {c, s, cport, 443, ic, 0, PS_TCP_SYN, PS_SEG_TCP},
        {s, c, 443, cport, is, ic + 1, PS_TCP_SYN | PS_TCP_ACK, PS_SEG_TCP},
        {c, s, cport, 443, ic + 1, is + 1, PS_TCP_ACK, PS_SEG_TCP},
        {c, s, cport, 443, ic + 1, is + 1, reset ? PS_TCP_RST : PS_TCP_FIN | PS_TCP_ACK, PS_SEG_TCP},
        {s, c, 443, cport, is + 1, ic + 2, PS_TCP_FIN | PS_TCP_ACK, PS_SEG_TCP},
        {c, s, cport, 443, ic + 2, is + 2, PS_TCP_ACK, PS_SEG_TCP},
    };
    guint n = reset ? 4 : G_N_ELEMENTS(segs);
    for (guint i = 0; i < n; i++)
        ps_pcap_write(p, t0 + (SimTime)i * SIM_MS, &segs[i]);
}

static char *tshark(const char *file, const char *const *extra)
{
    g_autofree char *bin = g_find_program_in_path("tshark");
    if (!bin)
        return NULL;
    GPtrArray *argv = g_ptr_array_new();
    const char *base[] = {bin, "-n", "-r", file, "-o", "tcp.check_checksum:TRUE",
                          "-o", "ip.check_checksum:TRUE"};
    for (guint i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(argv, (gpointer)base[i]);
    for (const char *const *e = extra; *e; e++)
        g_ptr_array_add(argv, (gpointer)*e);
    g_ptr_array_add(argv, NULL);
    char *out = NULL, *err = NULL;
    int status = 0;
    ck_assert(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                           &err, &status, NULL));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tshark: %s", err);
    g_free(err);
    g_ptr_array_free(argv, TRUE);
    return out;
}

START_TEST(pcap_decodes_in_tshark)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-pcap-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "c.pcap", NULL);
    PsPcap *p = ps_pcap_open(path, NULL);
    ck_assert_ptr_nonnull(p);
    conversation(p, "10.0.0.1", "10.1.0.1", 40000, 2 * SIM_S, FALSE);
    conversation(p, "2001:db8::1", "2001:db8::99", 40002, 3 * SIM_S, TRUE);
    ck_assert_uint_eq(ps_pcap_count(p), 10);
    ck_assert(ps_pcap_close(p, NULL));
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    ck_assert(!g_file_test(tmp, G_FILE_TEST_EXISTS));

    const char *fields[] = {"-T", "fields", "-E", "separator=|", "-e", "tcp.srcport", "-e",
                            "tcp.dstport", "-e", "tcp.flags.str", "-e", "tcp.stream", "-e",
                            "tcp.checksum.status", "-e", "frame.time_relative", NULL};
    g_autofree char *out = tshark(path, fields);
    if (!out) {
        printf("SKIP tshark checks: tshark is not installed (apt-get install tshark)\n");
        return;
    }
    g_auto(GStrv) lines = g_strsplit(g_strstrip(out), "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 10);
    /* ports and flags as sent, in order */
    ck_assert(g_str_has_prefix(lines[0], "40000|443|"));
    ck_assert_ptr_nonnull(strstr(lines[0], "S"));
    ck_assert(g_str_has_prefix(lines[1], "443|40000|"));
    ck_assert_ptr_nonnull(strstr(lines[3], "F"));
    ck_assert(g_str_has_prefix(lines[6], "40002|443|"));
    ck_assert_ptr_nonnull(strstr(lines[9], "R"));
    for (guint i = 0; i < 10; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], "|", -1);
        ck_assert_str_eq(f[3], i < 6 ? "0" : "1"); /* two streams */
        /* Wireshark's checksum status: 0 bad, 1 good, 2 unverified */
        ck_assert_msg(!strcmp(f[4], "1"), "TCP checksum status %s on frame %u", f[4], i);
    }
    /* simulated time, nanosecond precision: frame 2 is 1 ms after frame 1 */
    g_auto(GStrv) f1 = g_strsplit(lines[1], "|", -1);
    ck_assert_str_eq(f1[5], "0.001000000");
    /* the whole handshake and teardown is recognised as one conversation */
    const char *conv[] = {"-q", "-z", "conv,tcp", NULL};
    g_autofree char *stats = tshark(path, conv);
    ck_assert_ptr_nonnull(strstr(stats, "10.0.0.1:40000"));
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(trace_log_filters_lines)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-trace-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "t.log", NULL);
    PsTraceLog *log = ps_trace_log_open(path, "entity=client, port=40001", NULL);
    ck_assert_ptr_nonnull(log);
    SimAddress c = addr("10.0.0.1"), s = addr("10.1.0.1");
    PsTraceSubject a = {"client", 1, &c, 40001, &s, 443};
    PsTraceSubject b = {"client", 2, &c, 40002, &s, 443};
    PsTraceSubject other = {"proxy", 3, &c, 40001, &s, 443};
    ps_trace_log_event(log, 20 * SIM_S, &a, "port chosen after %d probes", 3);
    ps_trace_log_event(log, 21 * SIM_S, &b, "SYN sent");
    ps_trace_log_event(log, 22 * SIM_S, &other, "SYN sent");
    ck_assert_uint_eq(ps_trace_log_lines(log), 1);
    ck_assert(ps_trace_log_close(log, NULL));
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(text, "    20.000000000  client       #1       10.0.0.1:40001 -> 10.1.0.1:443"));
    ck_assert_ptr_nonnull(strstr(text, "port chosen after 3 probes"));
    ck_assert_ptr_null(strstr(text, "SYN sent"));

    /* every malformed condition is refused with the accepted forms */
    const char *bad[] = {"colour=red", "port=70000", "address=10.0.0", "entity", "conn=x"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *error = NULL;
        ck_assert_ptr_null(ps_trace_log_open(path, bad[i], &error));
        ck_assert_msg(error && strstr(error->message, "--trace-filter"), "%s", bad[i]);
        g_error_free(error);
    }
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static int run_portsim(char **argv, char **err)
{
    int status = 0;
    g_autofree char *out = NULL;
    ck_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, err, &status,
                           NULL));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static guint count_lines(const char *text, const char *needle)
{
    guint n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The kernel case end to end: the trace and the capture tell the same
 * story as the summary (300 connections, 600 EADDRNOTAVAIL). */
START_TEST(run_writes_trace_and_pcap)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-teach-XXXXXX", NULL);
    g_autofree char *trace = g_build_filename(dir, "t.log", NULL);
    g_autofree char *pcap = g_build_filename(dir, "c.pcap", NULL);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    g_autofree char *sc = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios",
                                           "kernel-100-ports.ini", NULL);
    char *argv[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out, "-q", "--no-plots",
                    "--no-report", "--trace", trace, "--pcap", pcap, NULL};
    g_autofree char *err = NULL;
    ck_assert_msg(run_portsim(argv, &err) == 0, "%s", err);
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(trace, &log, NULL, NULL));
    ck_assert_uint_eq(count_lines(log, "SYN sent"), 300);
    ck_assert_uint_eq(count_lines(log, "EADDRNOTAVAIL from connect()"), 600);
    ck_assert_uint_eq(count_lines(log, "TIME_WAIT over: port released"), 300);

    const char *syns[] = {"-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", NULL};
    g_autofree char *syn_out = tshark(pcap, syns);
    if (!syn_out) {
        printf("SKIP tshark checks: tshark is not installed\n");
    } else {
        ck_assert_uint_eq(count_lines(syn_out, "[SYN]"), 300);
        const char *fins[] = {"-Y", "tcp.flags.fin == 1", NULL};
        g_autofree char *fin_out = tshark(pcap, fins);
        ck_assert_uint_eq(count_lines(fin_out, "FIN"), 600); /* one each way */
        const char *bad[] = {"-Y", "tcp.checksum.status == 0 || tcp.flags.reset == 1", NULL};
        g_autofree char *bad_out = tshark(pcap, bad);
        ck_assert_str_eq(g_strstrip(bad_out), "");
    }

    /* a filter keeps one connection's life: chosen, established, closed, waited */
    g_autofree char *one = g_build_filename(dir, "one.log", NULL);
    char *filtered[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out, "-q",
                        "--no-plots", "--no-report", "--trace", one, "--trace-filter", "conn=5",
                        NULL};
    g_clear_pointer(&err, g_free);
    ck_assert_msg(run_portsim(filtered, &err) == 0, "%s", err);
    g_autofree char *one_log = NULL;
    ck_assert(g_file_get_contents(one, &one_log, NULL, NULL));
    ck_assert_uint_eq(count_lines(one_log, "#5 "), 5);
    ck_assert_uint_eq(count_lines(one_log, "#"), 6); /* + the header line */

    char *bad_at[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out, "-q", "--pcap",
                      pcap, "--pcap-at", "moon", NULL};
    g_clear_pointer(&err, g_free);
    ck_assert_int_eq(run_portsim(bad_at, &err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--pcap-at moon"));
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* --pcap-at backend: only the connections a proxy opens to its backends,
 * one SYN per backend connection opened (summary.json lbs[]); the default
 * point shows the clients' legs only. */
START_TEST(pcap_at_backend)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-lbpcap-XXXXXX", NULL);
    g_autofree char *pcap = g_build_filename(dir, "b.pcap", NULL);
    g_autofree char *cpcap = g_build_filename(dir, "c.pcap", NULL);
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    g_autofree char *out2 = g_build_filename(dir, "out2", NULL);
    g_autofree char *sc = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios",
                                           "proxy-keepalive-fix.ini", NULL);
    char *argv[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out, "-q", "--no-plots",
                    "--no-report", "--set", "scenario.duration=2s", "--pcap", pcap,
                    "--pcap-at", "backend", NULL};
    g_autofree char *err = NULL;
    ck_assert_msg(run_portsim(argv, &err) == 0, "%s", err);
    char *argv2[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out2, "-q",
                     "--no-plots", "--no-report", "--set", "scenario.duration=2s", "--pcap", cpcap,
                     NULL};
    g_clear_pointer(&err, g_free);
    ck_assert_msg(run_portsim(argv2, &err) == 0, "%s", err);
    g_autofree char *summary = g_build_filename(out, "summary.json", NULL);
    g_autofree char *json = NULL;
    ck_assert(g_file_get_contents(summary, &json, NULL, NULL));
    const char *at = strstr(json, "\"backend_connections_opened\"");
    ck_assert_ptr_nonnull(at);
    guint opened = (guint)g_ascii_strtoull(strchr(at, ':') + 1, NULL, 10);
    ck_assert_uint_gt(opened, 0);
    const char *syns[] = {"-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", NULL};
    g_autofree char *syn_out = tshark(pcap, syns);
    if (!syn_out) {
        printf("SKIP tshark checks: tshark is not installed\n");
    } else {
        ck_assert_uint_eq(count_lines(syn_out, "[SYN]"), opened);
        const char *other[] = {"-Y", "!(ip.addr == 10.2.0.1 && ip.addr == 10.1.0.1)", NULL};
        g_autofree char *other_out = tshark(pcap, other);
        ck_assert_str_eq(g_strstrip(other_out), "");
        const char *proxy[] = {"-Y", "ip.addr == 10.2.0.1", NULL};
        g_autofree char *proxy_out = tshark(cpcap, proxy);
        ck_assert_str_eq(g_strstrip(proxy_out), "");
    }
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* UDP in a capture: every DNS query a pod sends and every answer it gets
 * decode as DNS with good UDP checksums; outside the NAT only the queries
 * it translated appear, from its external address. A 1,000-port NAT pool
 * with 30 s UDP entries fills in a third of a second at 3,000/s, so 2 s
 * see both answers and drops. */
START_TEST(pcap_udp_dns)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-dnspcap-XXXXXX", NULL);
    g_autofree char *sc = g_build_filename(g_getenv("PORTSIM_SOURCE_ROOT"), "scenarios",
                                           "dns-resolver-udp.ini", NULL);
    const char *points[] = {"client", "nat-outside"};
    guint64 queries[2] = {0};
    gint64 attempts = 0, successes = 0;
    for (guint k = 0; k < 2; k++) {
        g_autofree char *pcap = g_strdup_printf("%s/%s.pcap", dir, points[k]);
        g_autofree char *out = g_strdup_printf("%s/out-%s", dir, points[k]);
        char *argv[] = {(char *)g_getenv("PORTSIM_BINARY"), "run", sc, "-o", out, "-q",
                        "--no-plots", "--no-report", "--set", "scenario.duration=2s", "--set",
                        "nat.masq.port_range=1024-2023", "--pcap", pcap, "--pcap-at",
                        (char *)points[k], NULL};
        g_autofree char *err = NULL;
        ck_assert_msg(run_portsim(argv, &err) == 0, "%s", err);
        g_autofree char *summary = g_build_filename(out, "summary.json", NULL);
        g_autofree char *json = NULL;
        ck_assert(g_file_get_contents(summary, &json, NULL, NULL));
        const char *o = strstr(json, "\"overall\"");
        ck_assert_ptr_nonnull(o);
        attempts = g_ascii_strtoll(strchr(strstr(o, "\"attempts\""), ':') + 1, NULL, 10);
        successes = g_ascii_strtoll(strchr(strstr(o, "\"successes\""), ':') + 1, NULL, 10);
        const char *q[] = {"-Y", "dns.flags.response == 0", NULL};
        g_autofree char *q_out = tshark(pcap, q);
        if (!q_out) {
            printf("SKIP tshark checks: tshark is not installed\n");
            goto done;
        }
        queries[k] = count_lines(q_out, "Standard query 0x");
        const char *a[] = {"-Y", "dns.flags.response == 1 && dns.a == 192.0.2.1", NULL};
        g_autofree char *a_out = tshark(pcap, a);
        ck_assert_uint_eq(count_lines(a_out, "Standard query response"), (guint64)successes);
        const char *bad[] = {"-o", "udp.check_checksum:TRUE", "-Y",
                             "udp.checksum.status == 0 || _ws.malformed || tcp", NULL};
        g_autofree char *bad_out = tshark(pcap, bad);
        ck_assert_str_eq(g_strstrip(bad_out), "");
        if (k == 1) {
            const char *inside[] = {"-Y", "ip.src == 10.244.1.0/24", NULL};
            g_autofree char *inside_out = tshark(pcap, inside);
            ck_assert_str_eq(g_strstrip(inside_out), "");
        }
    }
    /* The pods send every query; the NAT passes only those it mapped. */
    ck_assert_uint_eq(queries[0], (guint64)attempts);
    ck_assert_uint_gt(queries[0], queries[1]);
    ck_assert_uint_ge(queries[1], (guint64)successes);
done:;
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *trace_suite(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("trace");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pcap_decodes_in_tshark);
    tcase_add_test(tc, trace_log_filters_lines);
    tcase_add_test(tc, run_writes_trace_and_pcap);
    tcase_add_test(tc, pcap_at_backend);
    tcase_add_test(tc, pcap_udp_dns);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(trace_suite)
