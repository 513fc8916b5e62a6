/* Links that lose and delay segments: SYN retransmission on the kernel's
 * schedule (tcp_syn_retries, tcp_syn_linear_timeouts), connect_timeout,
 * ETIMEDOUT, the port held while a SYN goes unanswered, loss against its
 * closed form and per-connection jitter. Times are read from the client's
 * pcap capture, as a student would read them in Wireshark. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "keys.h"
#include "network_internal.h"
#include "pcap_writer.h"
#include "run.h"
#include "test_util.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

typedef struct {
    SimTime t;
    uint8_t flags;
} Seg;

typedef struct {
    SimScenario *scenario;
    PsRun *run;
    GArray *segs;     /* Seg, in capture order */
    GArray *releases; /* SimTime of every client port release */
    GArray *takes;
} Ran;

static Ran *current;

static void observe(void *data, const PsPortEvent *ev)
{
    (void)data;
    SimTime t = sim_engine_now(ps_run_engine(current->run));
    g_array_append_val(ev->take ? current->takes : current->releases, t);
}

static guint32 get32(const guint8 *p) { return p[0] | p[1] << 8 | p[2] << 16 | (guint32)p[3] << 24; }

/* The writer's records: 16-byte header (seconds since its 2026 epoch,
 * nanoseconds, lengths) then Ethernet, IPv4 (20 bytes) and TCP. */
static GArray *read_pcap(const char *path)
{
    gchar *data;
    gsize len;
    ck_assert(g_file_get_contents(path, &data, &len, NULL));
    GArray *segs = g_array_new(FALSE, FALSE, sizeof(Seg));
    const guint8 *p = (const guint8 *)data;
    gsize off = 24;
    while (off + 16 <= len) {
        guint32 sec = get32(p + off) - 1767225600u, ns = get32(p + off + 4);
        guint32 cap = get32(p + off + 8);
        Seg s = {(SimTime)sec * SIM_S + ns, p[off + 16 + 14 + 20 + 13]};
        g_array_append_val(segs, s);
        off += 16 + cap;
    }
    g_free(data);
    return segs;
}

static Ran run_text(const char *ini, const char *const *overrides)
{
    GError *error = NULL;
    Ran r = {0};
    r.scenario = sim_scenario_load_data(schema, ini, "t.ini", overrides, &error);
    ck_assert_msg(r.scenario != NULL, "load failed: %s", error ? error->message : "?");
    r.run = ps_run_new(r.scenario, 0, &error);
    ck_assert_msg(r.run != NULL, "build failed: %s", error ? error->message : "?");
    g_autofree char *dir = g_dir_make_tmp("portsim-links-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "c.pcap", NULL);
    PsPcap *pcap = ps_pcap_open(path, NULL);
    ck_assert_ptr_nonnull(pcap);
    r.takes = g_array_new(FALSE, FALSE, sizeof(SimTime));
    r.releases = g_array_new(FALSE, FALSE, sizeof(SimTime));
    current = &r;
    ps_network_set_pcap(ps_run_network(r.run), pcap);
    ps_network_set_port_observer(ps_run_network(r.run), observe, NULL);
    ck_assert(ps_run_execute(r.run));
    ck_assert(ps_pcap_close(pcap, NULL));
    current = NULL;
    r.segs = read_pcap(path);
    g_unlink(path);
    g_rmdir(dir);
    /* Every run drains: the handshake's bookkeeping frees every record. */
    PsNetwork *net = ps_run_network(r.run);
    ck_assert_uint_eq(ps_network_live_connections(net), 0);
    ck_assert(ps_network_pools_empty(net));
    return r;
}

static void ran_free(Ran *r)
{
    g_array_free(r->segs, TRUE);
    g_array_free(r->takes, TRUE);
    g_array_free(r->releases, TRUE);
    ps_run_free(r->run);
    sim_scenario_free(r->scenario);
}

static PsTotals totals(Ran *r)
{
    PsTotals t;
    ps_network_totals(ps_run_network(r->run), &t);
    return t;
}

/* SYN-only segments (not SYN-ACK), their capture times. */
static GArray *syn_times(Ran *r)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(SimTime));
    for (guint i = 0; i < r->segs->len; i++) {
        Seg *s = &g_array_index(r->segs, Seg, i);
        if (s->flags == PS_TCP_SYN)
            g_array_append_val(out, s->t);
    }
    return out;
}

/* One attempt at 0 s whose SYNs are all lost. */
#define ONE_LOST                                                               \
    "[scenario]\nduration = 1ms\n"                                             \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40000\n"          \
    "[server s]\naddresses = 10.0.0.9\nports = 80\n"                           \
    "[workload w]\nhost = c\ntarget = s\nrate = 1/s\nloss = 1\n"

static void assert_syns_at(Ran *r, const double *expect_s, guint n)
{
    g_autoptr(GArray) syns = syn_times(r);
    ck_assert_uint_eq(syns->len, n);
    for (guint i = 0; i < n; i++)
        ck_assert_int_eq(g_array_index(syns, SimTime, i), (SimTime)(expect_s[i] * SIM_S));
}

/* Defaults (tcp_syn_retries 6, tcp_syn_linear_timeouts 4): five 1 s
 * intervals, then doubling; the budget (2^7 - 1) = 127 s ends the attempt
 * at the first expiry past it, 67 + 64 = 131 s (ip-sysctl: "67 s till the
 * last retransmission ... final timeout after 131 s"). */
START_TEST(syn_schedule_defaults)
{
    Ran r = run_text(ONE_LOST, NULL);
    static const double at[] = {0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67};
    assert_syns_at(&r, at, G_N_ELEMENTS(at));
    ck_assert_uint_eq(r.releases->len, 1);
    ck_assert_int_eq(g_array_index(r.releases, SimTime, 0), 131 * SIM_S);
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.attempts, 1);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_ETIMEDOUT], 1);
    ck_assert_uint_eq(t.failures, 1);
    ck_assert_int_eq(sim_stats_counter(sim_engine_stats(ps_run_engine(r.run)),
                                       "w.syn_retransmits")->value, 10);
    ran_free(&r);
}
END_TEST

/* The measured case (linux-kernel-measured.md): tcp_syn_retries = 1 sends
 * SYNs at 0, 1 and 2 s; the 3 s budget ends it at the third expiry. */
START_TEST(syn_schedule_retries_1)
{
    const char *ov[] = {"host.c.tcp_syn_retries=1", NULL};
    Ran r = run_text(ONE_LOST, ov);
    static const double at[] = {0, 1, 2};
    assert_syns_at(&r, at, G_N_ELEMENTS(at));
    ck_assert_int_eq(g_array_index(r.releases, SimTime, 0), 3 * SIM_S);
    ck_assert_uint_eq(totals(&r).by_reason[PS_FAIL_ETIMEDOUT], 1);
    ran_free(&r);
}
END_TEST

/* No linear phase: 1, 2, 4 s intervals; retries 3 give a 15 s budget, so
 * SYNs at 0, 1, 3, 7 and the failure at 15 s. */
START_TEST(syn_schedule_exponential)
{
    const char *ov[] = {"host.c.tcp_syn_retries=3", "host.c.tcp_syn_linear_timeouts=0", NULL};
    Ran r = run_text(ONE_LOST, ov);
    static const double at[] = {0, 1, 3, 7};
    assert_syns_at(&r, at, G_N_ELEMENTS(at));
    ck_assert_int_eq(g_array_index(r.releases, SimTime, 0), 15 * SIM_S);
    ran_free(&r);
}
END_TEST

/* A 1-port range: the unanswered SYN keeps the port, so an attempt at 1 s
 * fails with EADDRNOTAVAIL while the first still retries. */
START_TEST(unanswered_syn_holds_port)
{
    const char *ov[] = {"scenario.duration=1500ms", NULL};
    Ran r = run_text(ONE_LOST, ov);
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.attempts, 2);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_EADDRNOTAVAIL], 1);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_ETIMEDOUT], 1);
    ck_assert_int_eq(t.first_failure, 1 * SIM_S); /* the EADDRNOTAVAIL */
    ran_free(&r);
}
END_TEST

/* connect_timeout = 500ms gives the port back at 0.5 s: the second attempt
 * gets it; the workload's value wins over the host's. */
START_TEST(connect_timeout_releases)
{
    const char *ov[] = {"scenario.duration=1500ms", "host.c.connect_timeout=10s",
                        "workload.w.connect_timeout=500ms", NULL};
    Ran r = run_text(ONE_LOST, ov);
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.attempts, 2);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_EADDRNOTAVAIL], 0);
    ck_assert_uint_eq(t.by_reason[PS_FAIL_ETIMEDOUT], 2);
    ck_assert_int_eq(g_array_index(r.releases, SimTime, 0), 500 * SIM_MS);
    ck_assert_int_eq(g_array_index(r.releases, SimTime, 1), 1500 * SIM_MS);
    g_autoptr(GArray) syns = syn_times(&r);
    ck_assert_uint_eq(syns->len, 2); /* no retransmission before 500 ms */
    /* The summary names the reason. */
    JsonNode *sum = ps_run_summary(r.run);
    JsonObject *w = json_array_get_object_element(
        json_object_get_array_member(json_node_get_object(sum), "workloads"), 0);
    ck_assert_int_eq(json_object_get_int_member(
                         json_object_get_object_member(w, "failures_by_reason"), "ETIMEDOUT"),
                     2);
    json_node_unref(sum);
    ran_free(&r);
}
END_TEST

/* Many attempts with random loss on SYN and SYN-ACK alike. */
#define LOSSY                                                                  \
    "[scenario]\nduration = 20s\n"                                             \
    "[host c]\naddresses = 10.0.0.1\nlinger0 = true\n"                         \
    "[server s]\naddresses = 10.0.0.9\nports = 80\n"                           \
    "[workload w]\nhost = c\ntarget = s\nrate = 1000/s\ndelay = 1ms\n"

/* A handshake round trip survives with q = (1 - loss)^2; with n SYNs the
 * attempt succeeds with 1 - (1 - q)^n (the last SYN-ACK arrives long before
 * the next expiry: 2 ms round trips). Tolerance: 4 binomial standard
 * deviations over the 20,000 attempts (a false alarm once in ~16,000 runs,
 * and the run is deterministic anyway). */
static void assert_success_rate(const char *loss, const char *retries, guint n_syns)
{
    g_autofree char *l = g_strdup_printf("workload.w.loss=%s", loss);
    g_autofree char *rt = g_strdup_printf("host.c.tcp_syn_retries=%s", retries);
    const char *ov[] = {l, rt, NULL};
    Ran r = run_text(LOSSY, ov);
    PsTotals t = totals(&r);
    double q = pow(1 - g_ascii_strtod(loss, NULL), 2);
    double p = 1 - pow(1 - q, n_syns);
    double got = (double)t.successes / t.attempts;
    double sd = sqrt(p * (1 - p) / t.attempts);
    ck_assert_uint_eq(t.attempts, 20000);
    ck_assert_msg(fabs(got - p) <= 4 * sd, "loss %s, %u SYNs: success %.5f, expected %.5f +- %.5f",
                  loss, n_syns, got, p, 4 * sd);
    ck_assert_uint_eq(t.failures, t.by_reason[PS_FAIL_ETIMEDOUT]);
    ran_free(&r);
}

START_TEST(loss_success_closed_form)
{
    assert_success_rate("0.1", "1", 3);  /* 0.99314 */
    assert_success_rate("0.5", "1", 3);  /* 0.57813 */
    assert_success_rate("0.5", "6", 11); /* 0.95776: SYNs at 0..5, 7, 11, 19, 35, 67 s */
}
END_TEST

/* Jitter draws one extra one-way delay per connection, uniform in
 * [0, jitter): the SYN to SYN-ACK gap is 2 (delay + U). Over 200
 * connections the mean of U (10 ms, sd 5.8 ms) is within 2 ms (3.5 sd). */
START_TEST(jitter_per_connection)
{
    const char *ini = "[scenario]\nduration = 200s\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 1/s\ndelay = 10ms\n"
                      "jitter = 20ms\n";
    Ran r = run_text(ini, NULL);
    SimTime syn = -1, lo = SIM_TIME_NEVER, hi = 0;
    double sum = 0;
    guint n = 0;
    for (guint i = 0; i < r.segs->len; i++) {
        Seg *s = &g_array_index(r.segs, Seg, i);
        if (s->flags == PS_TCP_SYN)
            syn = s->t;
        else if (s->flags == (PS_TCP_SYN | PS_TCP_ACK)) {
            SimTime u = (s->t - syn) / 2 - 10 * SIM_MS;
            lo = MIN(lo, u), hi = MAX(hi, u);
            sum += (double)u;
            n++;
        }
    }
    ck_assert_uint_eq(n, 200);
    ck_assert_int_ge(lo, 0);
    ck_assert_int_lt(hi, 20 * SIM_MS);
    ck_assert_int_gt(hi - lo, 15 * SIM_MS); /* spread: not one draw for all */
    ck_assert_msg(fabs(sum / n - 10e6) < 2e6, "mean jitter %.0f ns", sum / n);
    ck_assert_uint_eq(totals(&r).successes, 200);
    ran_free(&r);
}
END_TEST

/* A long path (2 x 600 ms round trip > the 1 s RTO) makes the kernel
 * retransmit although nothing is lost: the duplicate SYN and SYN-ACK are
 * absorbed and the connection still opens once. */
START_TEST(slow_path_spurious_retransmit)
{
    const char *ini = "[scenario]\nduration = 1ms\n"
                      "[host c]\naddresses = 10.0.0.1\n"
                      "[server s]\naddresses = 10.0.0.9\nports = 80\n"
                      "[workload w]\nhost = c\ntarget = s\nrate = 1/s\ndelay = 600ms\n";
    Ran r = run_text(ini, NULL);
    static const double at[] = {0, 1};
    assert_syns_at(&r, at, G_N_ELEMENTS(at));
    PsTotals t = totals(&r);
    ck_assert_uint_eq(t.successes, 1);
    ck_assert_uint_eq(t.failures, 0);
    ran_free(&r);
}
END_TEST

static Suite *links_suite(void)
{
    Suite *s = suite_create("links");
    TCase *tc = tcase_create("syn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, syn_schedule_defaults);
    tcase_add_test(tc, syn_schedule_retries_1);
    tcase_add_test(tc, syn_schedule_exponential);
    tcase_add_test(tc, unanswered_syn_holds_port);
    tcase_add_test(tc, connect_timeout_releases);
    tcase_add_test(tc, loss_success_closed_form);
    tcase_add_test(tc, jitter_per_connection);
    tcase_add_test(tc, slow_path_spurious_retransmit);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(links_suite)
