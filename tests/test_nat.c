/* NAT boxes: mapping behaviours, port preservation and parity, port
 * blocks, every timeout and limit with its drop reason, and the closed
 * forms: EIM with N ports maps at most N internal endpoints; a
 * per-destination limit L fails the (L+1)th concurrent connection; a cloud
 * NAT's hold timer sets the sustainable rate; linux-masquerade reclaims
 * TIME_WAIT as measured (linux-nat-measured.md). */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "expect.h"
#include "keys.h"
#include "nat_theory.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"
#include "run_util.h"
#include "pcap_writer.h"
#include "trace_log.h"

static SimSchema *schema;

static void setup(void) { schema = ps_schema_new(); }
static void teardown(void) { sim_schema_free(schema); }

typedef struct {
    SimScenario *sc;
    PsRun *run;
    char *dir, *trace_path;
    GPtrArray *lines; /* trace lines, when traced */
} Ran;

static Ran run_text(const char *ini, const char *const *ov, gboolean traced)
{
    GError *error = NULL;
    Ran r = {0};
    r.sc = sim_scenario_load_data(schema, ini, "t.ini", ov, &error);
    ck_assert_msg(r.sc != NULL, "%s", error ? error->message : "?");
    r.run = ps_run_new(r.sc, 0, &error);
    ck_assert_msg(r.run != NULL, "%s", error ? error->message : "?");
    PsTraceLog *log = NULL;
    if (traced) {
        r.dir = g_dir_make_tmp("portsim-nat-XXXXXX", NULL);
        r.trace_path = g_build_filename(r.dir, "trace.txt", NULL);
        log = ps_trace_log_open(r.trace_path, NULL, NULL);
        ck_assert_ptr_nonnull(log);
        ps_network_set_trace(ps_run_network(r.run), log);
    }
    ck_assert(ps_run_execute(r.run));
    /* Invariant 2: every attempt ends once and everything drains, NAT
     * pools included. */
    ps_test_assert_drained(r.run);
    if (log) {
        ck_assert(ps_trace_log_close(log, NULL));
        gchar *text;
        ck_assert(g_file_get_contents(r.trace_path, &text, NULL, NULL));
        gchar **split = g_strsplit(text, "\n", -1);
        g_free(text);
        r.lines = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; split[i]; i++)
            g_ptr_array_add(r.lines, split[i]);
        g_free(split);
    }
    return r;
}

static void ran_free(Ran *r)
{
    ps_run_free(r->run);
    sim_scenario_free(r->sc);
    if (r->lines)
        g_ptr_array_free(r->lines, TRUE);
    if (r->trace_path) {
        g_unlink(r->trace_path);
        g_rmdir(r->dir);
    }
    g_free(r->trace_path);
    g_free(r->dir);
}

static gint64 count(Ran *r, const char *name) { return ps_test_counter(r->run, name); }

static SimGauge *gauge(Ran *r, const char *name) { return ps_test_gauge(r->run, name); }

/* A trace line: its time, the client's port, and the mapped port when the
 * line reports a mapping ("mapping created: ADDR:PORT"), else -1. */
typedef struct {
    double t;
    int local_port;
    int ext_port;
    guint64 conn;
} Line;

static gboolean parse(const char *s, Line *out)
{
    char local[80];
    if (sscanf(s, "%lf %*s #%" G_GUINT64_FORMAT " %79s", &out->t, &out->conn, local) != 3)
        return FALSE;
    const char *colon = strrchr(local, ':');
    out->local_port = colon ? atoi(colon + 1) : -1;
    out->ext_port = -1;
    const char *m = strstr(s, "mapping created: ");
    if (m) {
        const char *p = strchr(m + 17, ':');
        out->ext_port = p ? atoi(p + 1) : -1;
    }
    return TRUE;
}

/* The mappings created, in order. */
static GArray *mappings(Ran *r)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(Line));
    for (guint i = 0; i < r->lines->len; i++) {
        Line l;
        if (parse(r->lines->pdata[i], &l) && l.ext_port >= 0)
            g_array_append_val(out, l);
    }
    return out;
}

/* The time of the first line containing `what`, or -1. */
static double first_time(Ran *r, const char *what)
{
    for (guint i = 0; i < r->lines->len; i++) {
        Line l;
        if (strstr(r->lines->pdata[i], what) && parse(r->lines->pdata[i], &l))
            return l.t;
    }
    return -1;
}

/* linux-nat-measured.md: three namespaces, one SNAT address with 100 ports,
 * one SYN retransmission and a 3.5 s connect timeout, client closes first. */
#define MEASURED                                                                    \
    "[scenario]\nduration = 200s\n"                                                 \
    "[host c]\naddresses = 10.0.0.1\nvia = nat gw\ntcp_syn_retries = 1\n"           \
    "[nat gw]\npreset = linux-masquerade\naddresses = 203.0.113.1\n"                \
    "port_range = 40000-40099\n"                                                    \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload w]\nhost = c\ntarget = s\nrate = 2/s\nhold = const(0s)\n"            \
    "connect_timeout = 3.5s\n"

/* The base case: 0 failures of 400, TIME_WAIT entries fill the pool (100
 * by t = 50 s) and new connections evict them. A naive hold of 120 s per
 * port would fail from t = 50 s: reclaim = none shows exactly that. */
START_TEST(masquerade_reclaims_time_wait)
{
    Ran r = run_text(MEASURED, NULL, FALSE);
    ck_assert_int_eq(count(&r, "w.attempts"), 400);
    ck_assert_int_eq(count(&r, "w.failures"), 0);
    ck_assert_int_eq(count(&r, "gw.drops"), 0);
    ck_assert_int_eq(gauge(&r, "gw.time_wait")->max, 100);
    ck_assert_int_gt(count(&r, "gw.reclaimed"), 0);
    /* The pool is full of TIME_WAIT from 49.5 s and no entry expires before
     * 120 s: the 140 connections from 50 s to 119.5 s each reclaimed one, or
     * reopened their own 4-tuple's entry (which keeps its mapping). */
    gint64 reopened = count(&r, "gw.translated") - count(&r, "gw.mappings_created");
    ck_assert_int_ge(count(&r, "gw.reclaimed") + reopened, 140);
    /* Every mapping ended once: expired or reclaimed. */
    ck_assert_int_eq(count(&r, "gw.mappings_created"),
                     count(&r, "gw.expired") + count(&r, "gw.reclaimed"));
    ran_free(&r);

    const char *ov[] = {"nat.gw.reclaim=none", NULL};
    r = run_text(MEASURED, ov, FALSE);
    /* Entry 101 finds 100 ports in TIME_WAIT for 120 s: pool / rate = 50 s. */
    ck_assert_int_gt(count(&r, "gw.drops_no_free_port"), 0);
    ck_assert_int_gt(count(&r, "w.etimedout"), 0);
    SimTime first = sim_stats_gauge(sim_engine_stats(ps_run_engine(r.run)), "gw.time_wait")->max_at;
    ck_assert_int_le(first, 50 * SIM_S);
    ran_free(&r);
}
END_TEST

/* Connections held 100 s: established entries reach the pool size at
 * pool / rate = 50 s, SYNs drop from then on; the client sees ETIMEDOUT, or
 * a late success when a retransmitted SYN finds a port. */
START_TEST(masquerade_long_hold_exhausts)
{
    const char *ov[] = {"workload.w.hold=const(100s)", NULL};
    Ran r = run_text(MEASURED, ov, TRUE);
    ck_assert_double_eq_tol(first_time(&r, "SYN dropped"), 50.0, 1e-9);
    ck_assert_int_eq(gauge(&r, "gw.active")->max, 100);
    ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 100);
    ck_assert_int_gt(count(&r, "w.etimedout"), 0);
    ck_assert_int_gt(count(&r, "gw.late_successes"), 0);
    ck_assert_int_eq(count(&r, "w.eaddrnotavail"), 0); /* never refused */
    /* A late success is a connection established after a retransmission. */
    ck_assert_int_le(count(&r, "gw.late_successes"), count(&r, "w.syn_retransmits"));
    ran_free(&r);
}
END_TEST

/* One client port shared by two destinations (4-tuple sharing): EIM maps
 * it to one external port for both; APDM with a sequential allocator
 * gives each destination its own mapping. */
#define SHARED_PORT                                                                 \
    "[scenario]\nduration = 1s\n"                                                   \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 50000-50000\nvia = nat gw\n" \
    "[nat gw]\naddresses = 203.0.113.1\nport_range = 2000-2999\nallocator = sequential\n" \
    "reclaim = none\nport_preservation = false\n"                                   \
    "[server s]\naddresses = 10.1.0.1\nports = 80, 81\n"                            \
    "[workload w]\nhost = c\ntarget = s\nrate = 2/s\nhold = const(10s)\n"

START_TEST(eim_keeps_port_apdm_does_not)
{
    const char *eim[] = {"nat.gw.mapping=endpoint-independent", NULL};
    Ran r = run_text(SHARED_PORT, eim, TRUE);
    ck_assert_int_eq(count(&r, "gw.translated"), 2);
    ck_assert_int_eq(count(&r, "gw.mappings_created"), 1);
    ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 1);
    GArray *m = mappings(&r);
    ck_assert_uint_eq(m->len, 1);
    g_array_free(m, TRUE);
    ran_free(&r);

    const char *apdm[] = {"nat.gw.mapping=address-and-port-dependent", NULL};
    r = run_text(SHARED_PORT, apdm, TRUE);
    ck_assert_int_eq(count(&r, "gw.mappings_created"), 2);
    m = mappings(&r);
    ck_assert_uint_eq(m->len, 2);
    ck_assert_int_eq(g_array_index(m, Line, 0).local_port, g_array_index(m, Line, 1).local_port);
    ck_assert_int_ne(g_array_index(m, Line, 0).ext_port, g_array_index(m, Line, 1).ext_port);
    g_array_free(m, TRUE);
    ran_free(&r);

    /* Address-dependent: ports 80 and 81 of one address share a mapping. */
    const char *adm[] = {"nat.gw.mapping=address-dependent", NULL};
    r = run_text(SHARED_PORT, adm, FALSE);
    ck_assert_int_eq(count(&r, "gw.mappings_created"), 1);
    ran_free(&r);
}
END_TEST

/* EIM with N = 10 external ports: at most 10 internal endpoints mapped at
 * once, although 40 client ports and 4 destinations could carry more; the
 * dependent mapping carries up to 10 ports x 4 destinations. */
#define TEN_PORTS                                                                   \
    "[scenario]\nduration = 10s\n"                                                  \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 50000-50039\nvia = nat gw\n" \
    "allocator = sequential\n"                                                      \
    "[nat gw]\naddresses = 203.0.113.1\nport_range = 2000-2009\nallocator = random\n" \
    "reclaim = none\n"                                                              \
    "[server s]\naddresses = 10.1.0.1\nports = 80-83\n"                             \
    "[workload w]\nhost = c\ntarget = s\nrate = 10/s\nhold = const(60s)\n"

START_TEST(eim_closed_form)
{
    const char *eim[] = {"nat.gw.mapping=endpoint-independent", NULL};
    Ran r = run_text(TEN_PORTS, eim, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 10);
    ck_assert_int_gt(count(&r, "gw.drops_no_free_port"), 0);
    ck_assert_int_eq(count(&r, "gw.drops"), count(&r, "gw.drops_no_free_port"));
    /* Entries may exceed 10 only by sharing an endpoint's mapping. */
    ck_assert_int_le(count(&r, "gw.mappings_created"), 10);
    ran_free(&r);

    const char *apdm[] = {"nat.gw.mapping=address-and-port-dependent", NULL};
    r = run_text(TEN_PORTS, apdm, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.active")->max, 40);
    ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 10);
    ran_free(&r);
}
END_TEST

/* The hosts' strategies run at a NAT too: each fills the 10 ports toward
 * each of the 4 destinations (40 entries) under a dependent mapping, and
 * 10 endpoints under EIM, and everything drains. */
START_TEST(host_allocators_at_nat)
{
    const char *names[] = {"random-pick", "hash", "double-hash", "random-increments", "linux"};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *al = g_strdup_printf("nat.gw.allocator=%s", names[i]);
        const char *apdm[] = {al, "nat.gw.mapping=address-and-port-dependent", NULL};
        Ran r = run_text(TEN_PORTS, apdm, FALSE);
        ck_assert_msg(gauge(&r, "gw.active")->max == 40, "%s: %lld", names[i],
                      (long long)gauge(&r, "gw.active")->max);
        ran_free(&r);
        const char *eim[] = {al, "nat.gw.mapping=endpoint-independent", NULL};
        r = run_text(TEN_PORTS, eim, FALSE);
        ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 10);
        ran_free(&r);
    }
}
END_TEST

/* Port preservation: a client port inside port_range and free is kept;
 * netfilter-random-fully does not try it. */
#define PRESERVE                                                                    \
    "[scenario]\nduration = 5s\n"                                                   \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40049\nvia = nat gw\n" \
    "allocator = random\n"                                                          \
    "[nat gw]\naddresses = 203.0.113.1\nport_range = 40000-40999\n"                 \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload w]\nhost = c\ntarget = s\nrate = 4/s\nhold = const(1s)\n"

START_TEST(port_preservation)
{
    Ran r = run_text(PRESERVE, NULL, TRUE);
    GArray *m = mappings(&r);
    ck_assert_uint_eq(m->len, 20);
    for (guint i = 0; i < m->len; i++)
        ck_assert_int_eq(g_array_index(m, Line, i).ext_port, g_array_index(m, Line, i).local_port);
    g_array_free(m, TRUE);
    ran_free(&r);

    const char *ov[] = {"nat.gw.allocator=netfilter-random-fully", NULL};
    r = run_text(PRESERVE, ov, TRUE);
    m = mappings(&r);
    guint kept = 0;
    for (guint i = 0; i < m->len; i++)
        kept += g_array_index(m, Line, i).ext_port == g_array_index(m, Line, i).local_port;
    /* A random port equals the client's by chance with p = 1/1000 each. */
    ck_assert_uint_le(kept, 2);
    g_array_free(m, TRUE);
    ran_free(&r);
}
END_TEST

/* Parity: with port_parity every external port has its client port's
 * parity; without it, 40 random ports all matching has p = 2^-40. */
START_TEST(port_parity)
{
    const char *ov[] = {"nat.gw.allocator=random", "nat.gw.reclaim=none",
                        "nat.gw.port_preservation=false", "nat.gw.port_parity=true",
                        "nat.gw.port_range=2000-2999", "workload.w.rate=8/s", NULL};
    Ran r = run_text(PRESERVE, ov, TRUE);
    GArray *m = mappings(&r);
    ck_assert_uint_eq(m->len, 40);
    guint odd_clients = 0;
    for (guint i = 0; i < m->len; i++) {
        const Line *l = &g_array_index(m, Line, i);
        ck_assert_int_eq(l->ext_port % 2, l->local_port % 2);
        odd_clients += l->local_port % 2;
    }
    ck_assert_uint_gt(odd_clients, 0); /* both parities were exercised */
    ck_assert_uint_lt(odd_clients, m->len);
    g_array_free(m, TRUE);
    ran_free(&r);

    const char *off[] = {"nat.gw.allocator=random", "nat.gw.reclaim=none",
                         "nat.gw.port_preservation=false", "nat.gw.port_range=2000-2999",
                         "workload.w.rate=8/s", NULL};
    r = run_text(PRESERVE, off, TRUE);
    m = mappings(&r);
    guint same = 0;
    for (guint i = 0; i < m->len; i++)
        same += g_array_index(m, Line, i).ext_port % 2 == g_array_index(m, Line, i).local_port % 2;
    ck_assert_uint_lt(same, m->len);
    g_array_free(m, TRUE);
    ran_free(&r);
}
END_TEST

/* Port blocks: two subscribers (two client addresses), blocks of 10: each
 * maps at most 10 connections to one destination, inside one contiguous
 * block; the 11th is a per-subscriber drop. A second block doubles it. */
#define BLOCKS                                                                      \
    "[scenario]\nduration = 5s\n"                                                   \
    "[host c]\naddresses = 10.0.0.1-10.0.0.2\nvia = nat gw\n"                       \
    "[nat gw]\naddresses = 203.0.113.1\nport_range = 2000-2099\nallocator = random\n" \
    "reclaim = none\nblock_size = 10\nmapping = address-and-port-dependent\n"       \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload w]\nhost = c\ntarget = s\nrate = 10/s\nhold = const(60s)\n"

START_TEST(port_blocks)
{
    Ran r = run_text(BLOCKS, NULL, TRUE);
    ck_assert_int_eq(gauge(&r, "gw.top_subscriber_mappings")->max, 10);
    ck_assert_int_eq(gauge(&r, "gw.ports_in_use")->max, 20);
    ck_assert_int_gt(count(&r, "gw.drops_per_subscriber_limit"), 0);
    ck_assert_int_eq(count(&r, "gw.drops"), count(&r, "gw.drops_per_subscriber_limit"));
    /* Each subscriber's ports lie in one aligned block of 10. */
    GArray *m = mappings(&r);
    int block_of[2] = {-1, -1};
    for (guint i = 0; i < m->len; i++) {
        const Line *l = &g_array_index(m, Line, i);
        int sub = (int)(l->conn % 2); /* round-robin over the two addresses */
        int b = (l->ext_port - 2000) / 10;
        if (block_of[sub] < 0)
            block_of[sub] = b;
        ck_assert_int_eq(b, block_of[sub]);
    }
    ck_assert_int_ne(block_of[0], block_of[1]);
    g_array_free(m, TRUE);
    ran_free(&r);

    const char *two[] = {"nat.gw.max_blocks_per_host=2", NULL};
    r = run_text(BLOCKS, two, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.top_subscriber_mappings")->max, 20);
    ran_free(&r);

    /* RFC 7422: subscriber i owns block i. */
    const char *det[] = {"nat.gw.deterministic=true", NULL};
    r = run_text(BLOCKS, det, TRUE);
    m = mappings(&r);
    for (guint i = 0; i < m->len; i++) {
        const Line *l = &g_array_index(m, Line, i);
        ck_assert_int_eq((l->ext_port - 2000) / 10, (int)(l->conn % 2));
    }
    g_array_free(m, TRUE);
    ran_free(&r);

    /* Azure's preallocation and GCP's min/max are blocks too. */
    g_auto(GStrv) parts = g_strsplit(BLOCKS, "block_size = 10", 2);
    g_autofree char *azure = g_strjoinv("ports_per_host = 5", parts);
    r = run_text(azure, NULL, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.top_subscriber_mappings")->max, 5);
    ran_free(&r);
    g_autofree char *gcp = g_strjoinv("min_ports_per_host = 5\nmax_ports_per_host = 15", parts);
    r = run_text(gcp, NULL, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.top_subscriber_mappings")->max, 15);
    ck_assert_int_gt(count(&r, "gw.drops_per_subscriber_limit"), 0);
    ran_free(&r);
}
END_TEST

/* Each timeout ends its state's entry exactly that long after the segment
 * that started it. One connection, one-way delay 400 ms (no SYN is
 * retransmitted: the round trip is under the 1 s RTO): SYN at 0, the
 * SYN-ACK passes the box at 0.4 s, the client's ACK at 0.8 s; it holds 1 s
 * and closes: FIN at 1.8 s, the server's ACK+FIN at 2.2 s, the last ACK at
 * 2.6 s. */
#define ONE_CONN                                                                    \
    "[scenario]\nduration = 100ms\n"                                                \
    "[host c]\naddresses = 10.0.0.1\nvia = nat gw\n"                                \
    "[nat gw]\naddresses = 203.0.113.1\n"                                           \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload w]\nhost = c\ntarget = s\nrate = 1/s\nhold = const(1s)\ndelay = 400ms\n"

static double expiry(const char *const *ov, const char *state)
{
    Ran r = run_text(ONE_CONN, ov, TRUE);
    g_autofree char *what = g_strdup_printf("mapping expired in %s", state);
    double t = first_time(&r, what);
    ck_assert_int_eq(count(&r, "gw.expired"), 1);
    ran_free(&r);
    return t;
}

START_TEST(timeouts)
{
    const char *tw[] = {"nat.gw.tcp_time_wait=7s", NULL};
    ck_assert_double_eq_tol(expiry(tw, "time_wait"), 2.6 + 7, 1e-6);
    const char *fin[] = {"nat.gw.tcp_fin_wait=300ms", NULL};
    ck_assert_double_eq_tol(expiry(fin, "fin_wait"), 1.8 + 0.3, 1e-6);
    const char *last[] = {"nat.gw.tcp_last_ack=300ms", NULL};
    ck_assert_double_eq_tol(expiry(last, "last_ack"), 2.2 + 0.3, 1e-6);
    const char *est[] = {"nat.gw.tcp_established=1500ms", "workload.w.hold=const(5s)", NULL};
    ck_assert_double_eq_tol(expiry(est, "established"), 0.8 + 1.5, 1e-6);
    /* One-way delay 10 s: the client's SYNs leave at 0 and 1 s and it
     * gives up at 1.5 s; the entry lives until 1 s + tcp_syn_sent. */
    const char *syn[] = {"nat.gw.tcp_syn_sent=7s", "workload.w.connect_timeout=1500ms",
                         "workload.w.delay=10s", NULL};
    ck_assert_double_eq_tol(expiry(syn, "syn_sent"), 8.0, 1e-6);
    /* SO_LINGER 0: the client's RST at 1.8 s leaves the entry in CLOSE. */
    const char *rst[] = {"nat.gw.tcp_close=4s", "host.c.linger0=true", NULL};
    ck_assert_double_eq_tol(expiry(rst, "close"), 1.8 + 4, 1e-6);
}
END_TEST

START_TEST(expired_established_counted)
{
    const char *est[] = {"nat.gw.tcp_established=1500ms", "workload.w.hold=const(5s)", NULL};
    Ran r = run_text(ONE_CONN, est, FALSE);
    ck_assert_int_eq(count(&r, "gw.expired_in_use"), 1);
    ran_free(&r);
}
END_TEST

/* Limits: the table, and a per-destination limit L: with two destinations
 * used in turn at 10/s, destination :80 gets a connection every 0.2 s, so
 * its (L+1)th concurrent one, at 0.2 L s, is the first drop. */
#define LIMITS                                                                      \
    "[scenario]\nduration = 3s\n"                                                   \
    "[host c]\naddresses = 10.0.0.1\nvia = nat gw\ntcp_syn_retries = 1\n"           \
    "[nat gw]\naddresses = 203.0.113.1\nallocator = random\nreclaim = none\n"       \
    "[server s]\naddresses = 10.1.0.1\nports = 80, 81\n"                            \
    "[workload w]\nhost = c\ntarget = s\nrate = 10/s\nhold = const(60s)\n"

START_TEST(limits)
{
    const char *table[] = {"nat.gw.max_mappings=5", NULL};
    Ran r = run_text(LIMITS, table, TRUE);
    ck_assert_int_eq(gauge(&r, "gw.active")->max, 5);
    ck_assert_int_gt(count(&r, "gw.drops_table_full"), 0);
    ck_assert_int_eq(count(&r, "gw.drops"), count(&r, "gw.drops_table_full"));
    ck_assert_double_eq_tol(first_time(&r, "SYN dropped (table_full"), 0.5, 1e-9);
    ran_free(&r);

    const char *dest[] = {"nat.gw.max_per_destination=7", NULL};
    r = run_text(LIMITS, dest, TRUE);
    ck_assert_int_eq(gauge(&r, "gw.active")->max, 14);
    ck_assert_int_eq(count(&r, "gw.drops"), count(&r, "gw.drops_per_destination_limit"));
    ck_assert_double_eq_tol(first_time(&r, "SYN dropped (per_destination_limit"), 1.4, 1e-9);
    ran_free(&r);

    /* A second address carries another L per destination (arbitrary pooling). */
    const char *two[] = {"nat.gw.max_per_destination=7", "nat.gw.addresses=203.0.113.1-203.0.113.2",
                         "nat.gw.pooling=arbitrary", NULL};
    r = run_text(LIMITS, two, FALSE);
    ck_assert_int_eq(gauge(&r, "gw.active")->max, 28);
    ran_free(&r);
}
END_TEST

/* Cloud NATs hold a closed connection's port for their own timer, not the
 * host's 60 s TIME_WAIT: with P ports toward one destination and hold H,
 * a rate below P / H never fails, and above it the box carries P / H. Over
 * a run of length D, port i (first used at t_i, spread over the fill time
 * [0, P / r]) serves 1 + floor((D - t_i) / H) connections: on average
 * P (1/2 + (D - P / 2r) / H). Allowed: 3% below (a freed port waits up
 * to a second for the next retransmitted SYN), 5% above (a client that
 * reuses its own 4-tuple after its 60 s TIME_WAIT reopens the box's entry,
 * one 5-tuple being one flow, and passes without a new port). The host's
 * own 60 s would carry these rates. */
#define CLOUD                                                                       \
    "[scenario]\nduration = 1h\n"                                                   \
    "[host vm]\naddresses = 10.0.0.1\nvia = nat gw\ntcp_syn_retries = 1\n"          \
    "[nat gw]\naddresses = 203.0.113.1\n"                                           \
    "[server s]\naddresses = 10.1.0.1\nports = 443\n"                               \
    "[workload w]\nhost = vm\ntarget = s\nrate = 1/s\nhold = const(0s)\n"

START_TEST(cloud_hold_sets_rate)
{
    static const struct {
        const char *preset, *range;
        double ports, hold_s;
        const char *reason;
    } cases[] = {
        /* minPortsPerVm 64, tcpTimeWaitTimeoutSec 120 s */
        {"gcp-cloud-nat", "1024-65535", 64, 120, "gw.drops_per_subscriber_limit"},
        /* 1,024 preallocated ports, released 240 s after FIN */
        {"azure-lb-snat", "1024-65535", 1024, 240, "gw.drops_per_subscriber_limit"},
        /* 1,000 ports (a narrowed range), 65 s cooldown after FIN */
        {"azure-nat-gateway", "2000-2999", 1000, 65, "gw.drops_no_free_port"},
    };
    for (guint k = 0; k < G_N_ELEMENTS(cases); k++) {
        double bound = cases[k].ports / cases[k].hold_s;
        g_autofree char *preset = g_strdup_printf("nat.gw.preset=%s", cases[k].preset);
        g_autofree char *range = g_strdup_printf("nat.gw.port_range=%s", cases[k].range);
        g_autofree char *under = g_strdup_printf("workload.w.rate=%g/s", 0.9 * bound);
        const char *ov_under[] = {preset, range, under, NULL};
        Ran r = run_text(CLOUD, ov_under, FALSE);
        ck_assert_msg(count(&r, "w.failures") == 0, "%s under", cases[k].preset);
        ck_assert_int_eq(count(&r, "gw.drops"), 0);
        ran_free(&r);

        double rate = 1.6 * bound;
        g_autofree char *over = g_strdup_printf("workload.w.rate=%g/s", rate);
        const char *ov_over[] = {preset, range, over, NULL};
        r = run_text(CLOUD, ov_over, FALSE);
        ck_assert_int_gt(count(&r, "w.failures"), 0);
        ck_assert_int_eq(count(&r, "gw.drops"), count(&r, cases[k].reason));
        double expect =
            cases[k].ports * (0.5 + (3600 - cases[k].ports / (2 * rate)) / cases[k].hold_s);
        double got = (double)count(&r, "w.successes");
        ck_assert_msg(got > expect * 0.97 && got < expect * 1.05, "%s: %g successes, expected %g",
                      cases[k].preset, got, expect);
        ran_free(&r);
    }
}
END_TEST

/* Two client hosts with the same source port behind one NAT port: the
 * server closes first and keeps TIME_WAIT on the external 4-tuple, so the
 * second client's SYN (the NAT reclaimed the port) meets it and recycles
 * it, as a server behind a NAT sees in reality. */
#define SERVER_TW                                                                   \
    "[scenario]\nduration = 2s\n"                                                   \
    "[host a]\naddresses = 10.0.0.1\nephemeral_range = 40000-40000\nvia = nat gw\n" \
    "[host b]\naddresses = 10.0.0.2\nephemeral_range = 40000-40000\nvia = nat gw\n" \
    "[nat gw]\naddresses = 203.0.113.1\nport_range = 40000-40000\n"                 \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload wa]\nhost = a\ntarget = s\nrate = 1/s\nstop = 1ms\nhold = const(0s)\n" \
    "closer = server\n"                                                             \
    "[workload wb]\nhost = b\ntarget = s\nrate = 1/s\nstart = 1s\nstop = 1001ms\n"  \
    "hold = const(0s)\ncloser = server\n"

START_TEST(server_sees_external_tuple)
{
    Ran r = run_text(SERVER_TW, NULL, FALSE);
    ck_assert_int_eq(count(&r, "gw.reclaimed"), 1);
    ck_assert_int_eq(count(&r, "s.tw_recycled"), 1);
    ck_assert_int_eq(count(&r, "wb.successes"), 1);
    ran_free(&r);
}
END_TEST

static Ran run_file(const char *name, const char *const *ov)
{
    const char *root = g_getenv("PORTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "PORTSIM_SOURCE_ROOT is not set (run through meson test)");
    g_autofree char *path = g_build_filename(root, "scenarios", name, NULL);
    gchar *text;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    Ran r = run_text(text, ov, FALSE);
    g_free(text);
    return r;
}

static double first_drop_s(Ran *r, const char *nat)
{
    JsonNode *summary = ps_run_summary(r->run);
    JsonArray *nats = json_object_get_array_member(json_node_get_object(summary), "nats");
    double t = -1;
    for (guint i = 0; i < json_array_get_length(nats); i++) {
        JsonObject *n = json_array_get_object_element(nats, i);
        if (g_str_equal(json_object_get_string_member(n, "name"), nat) &&
            !json_object_get_null_member(n, "first_drop_s"))
            t = json_object_get_double_member(n, "first_drop_s");
    }
    json_node_unref(summary);
    return t;
}

/* nat-gateway-flash-sale.ini: entries toward the API are the rate times
 * their life in the gateway (200 ms hold + 60 s): 200/s x 60.2 s = 12,040
 * before the sale, growing by 1,800/s from 2 min, so one address reaches
 * 55,000 at 120 + 42,960 / 1,800 = 143.87 s; two addresses (110,000) at
 * 120 + 97,960 / 1,800 = 174.4 s; four (220,000) exceed the sale's
 * 2,000 x 60.2 = 120,400 and never drop. Exponential holds blur it a
 * little: 0.5 s. */
START_TEST(flash_sale_scenario)
{
    Ran r = run_file("nat-gateway-flash-sale.ini", NULL);
    ck_assert_double_eq_tol(first_drop_s(&r, "gw"), 143.87, 0.5);
    ck_assert_int_eq(count(&r, "gw.drops"), count(&r, "gw.drops_per_destination_limit"));
    ck_assert_int_eq(count(&r, "app.eaddrnotavail"), 0); /* the hosts never run out */
    ck_assert_int_gt(count(&r, "app.etimedout"), 0);
    ran_free(&r);
    const char *two[] = {"nat.gw.addresses=203.0.113.1-203.0.113.2", NULL};
    r = run_file("nat-gateway-flash-sale.ini", two);
    ck_assert_double_eq_tol(first_drop_s(&r, "gw"), 174.4, 0.5);
    ran_free(&r);
    const char *four[] = {"nat.gw.addresses=203.0.113.1-203.0.113.4", NULL};
    r = run_file("nat-gateway-flash-sale.ini", four);
    ck_assert_int_eq(count(&r, "gw.drops"), 0);
    ck_assert_int_eq(count(&r, "shoppers.failures"), 0);
    ran_free(&r);
}
END_TEST

static double overall_first_failure_s(Ran *r)
{
    JsonNode *summary = ps_run_summary(r->run);
    JsonObject *o = json_object_get_object_member(json_node_get_object(summary), "overall");
    double t = json_object_get_null_member(o, "first_failure_s")
                   ? -1
                   : json_object_get_double_member(o, "first_failure_s");
    json_node_unref(summary);
    return t;
}

/* flash-sale-end-to-end.ini: clients -> NAT (2 x 55,000 toward the proxy,
 * ~1,830/s) -> proxy (1 source address, 2 backends, no keepalive) -> app1,
 * app2. Round robin sends each backend 150/s, then 750/s from 3 min; a
 * backend 4-tuple lives 61.24 s (handshake, 215 ms, close, 60 s TIME_WAIT
 * ending on a 2.048 s tick), so the 28,232 tuples toward one backend hold
 * 150 x 61.24 = 9,186 at 3 min and fill at 600/s more: 180 + 19,046 / 600
 * = 211.7 s. Exponential holds blur that by well under 0.5 s. */
START_TEST(end_to_end_scenario)
{
    Ran r = run_file("flash-sale-end-to-end.ini", NULL);
    ck_assert_double_eq_tol(overall_first_failure_s(&r), 211.7, 0.5);
    ck_assert_int_eq(count(&r, "gw.drops"), 0); /* the NAT is not the bottleneck */
    ck_assert_int_eq(count(&r, "clients.eaddrnotavail"), 0);
    gint64 refused = count(&r, "shoppers.econnrefused");
    ck_assert_int_gt(refused, 0);
    ck_assert_int_eq(refused, count(&r, "proxy.eaddrnotavail")); /* one for one */
    ck_assert_int_eq(count(&r, "shoppers.failures"), refused);
    gint64 base_failures = refused;
    ran_free(&r);
    /* Keepalive removes the proxy's limit; the NAT carries 1,500/s. */
    const char *pooled[] = {"lb.front.keepalive=pool", NULL};
    r = run_file("flash-sale-end-to-end.ini", pooled);
    ck_assert_int_eq(count(&r, "shoppers.failures"), 0);
    ck_assert_int_eq(count(&r, "gw.drops"), 0);
    ran_free(&r);
    /* At 2,100/s the NAT breaks next: entries (life 60.22 s) hold
     * 420 x 60.22 = 25,292 toward the proxy at 3 min and grow at
     * 1,680/s to 110,000: 180 + 84,708 / 1,680 = 230.4 s. */
    const char *bigger[] = {"lb.front.keepalive=pool", "workload.shoppers.rate_scale=1.4", NULL};
    r = run_file("flash-sale-end-to-end.ini", bigger);
    ck_assert_double_eq_tol(first_drop_s(&r, "gw"), 230.4, 0.5);
    ck_assert_int_eq(count(&r, "proxy.eaddrnotavail"), 0);
    ck_assert_int_gt(count(&r, "shoppers.etimedout"), 0);
    ran_free(&r);
    /* Two proxy addresses in lockstep with round robin: each address only
     * ever meets one backend, so nothing changes; three break the lockstep. */
    const char *two[] = {"host.proxy.addresses=10.2.0.1-10.2.0.2", NULL};
    r = run_file("flash-sale-end-to-end.ini", two);
    ck_assert_int_eq(count(&r, "shoppers.failures"), base_failures);
    ran_free(&r);
    const char *three[] = {"host.proxy.addresses=10.2.0.1-10.2.0.3", NULL};
    r = run_file("flash-sale-end-to-end.ini", three);
    ck_assert_int_eq(count(&r, "shoppers.failures"), 0);
    ran_free(&r);
}
END_TEST

/* The NAT's plot draws the capacity that binds: AWS's 55,000 per address
 * and destination, not the 64,512 ports; netfilter's whole range. */
static double nat_plot_capacity(Ran *r, const char *stem)
{
    GPtrArray *targets = ps_network_plot_targets(ps_run_network(r->run));
    double cap = -1;
    for (guint i = 0; i < targets->len; i++) {
        const PsPlotTarget *t = targets->pdata[i];
        if (g_str_equal(t->name, stem)) {
            cap = t->capacity;
            ck_assert_str_eq(t->failures_label, "dropped SYNs / s");
        }
    }
    g_ptr_array_free(targets, TRUE);
    return cap;
}

START_TEST(plot_capacity_binds)
{
    const char *short_run[] = {"scenario.duration=1s", NULL};
    Ran r = run_file("nat-gateway-flash-sale.ini", short_run);
    ck_assert_double_eq(nat_plot_capacity(&r, "nat-gw"), 55000);
    ran_free(&r);
    const char *two[] = {"scenario.duration=1s", "nat.gw.addresses=203.0.113.1-203.0.113.2",
                         NULL};
    r = run_file("nat-gateway-flash-sale.ini", two);
    ck_assert_double_eq(nat_plot_capacity(&r, "nat-gw"), 110000);
    ran_free(&r);
    r = run_file("linux-nat-100-ports.ini", short_run);
    ck_assert_double_eq(nat_plot_capacity(&r, "nat-gw"), 100);
    ran_free(&r);
}
END_TEST

/* explain: the flash sale's 55,000 / (200 ms + 60 s) = 913.6/s, the
 * rate at which the simulated gateway's entries stop growing. */
START_TEST(explain_nat)
{
    const char *root = g_getenv("PORTSIM_SOURCE_ROOT");
    g_autofree char *path = g_build_filename(root, "scenarios", "nat-gateway-flash-sale.ini", NULL);
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_file(schema, path, NULL, &error);
    ck_assert_ptr_nonnull(sc);
    g_autofree char *text = ps_nat_explain(sc);
    ck_assert_msg(text && strstr(text, "55,000 / 60.2 s = 913.6/s"), "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "will be dropped"));
    sim_scenario_free(sc);
    const char *four[] = {"nat.gw.addresses=203.0.113.1-203.0.113.4", NULL};
    sc = sim_scenario_load_file(schema, path, four, &error);
    g_autofree char *text4 = ps_nat_explain(sc);
    ck_assert_msg(strstr(text4, "220,000 / 60.2 s = 3654/s") && !strstr(text4, "dropped"), "%s",
                  text4);
    sim_scenario_free(sc);
    /* Netfilter reclaims TIME_WAIT: only open connections count. */
    const char *held[] = {"workload.w.hold=const(100s)", NULL};
    for (int k = 0; k < 2; k++) {
        sc = sim_scenario_load_data(schema, MEASURED, "t.ini", k ? held : NULL, &error);
        g_autofree char *t = ps_nat_explain(sc);
        ck_assert_msg(strstr(t, k ? "= 200 of 100: SYNs will be dropped" : "no drop expected"),
                      "%s", t);
        sim_scenario_free(sc);
    }
}
END_TEST

/* linux-nat-100-ports.ini is the measured case (MEASURED above). */
START_TEST(linux_nat_scenario)
{
    Ran r = run_file("linux-nat-100-ports.ini", NULL);
    ck_assert_int_eq(count(&r, "w.attempts"), 400);
    ck_assert_int_eq(count(&r, "w.failures"), 0);
    ck_assert_int_eq(gauge(&r, "gw.time_wait")->max, 100);
    ran_free(&r);
    const char *naive[] = {"nat.gw.reclaim=none", NULL};
    r = run_file("linux-nat-100-ports.ini", naive);
    ck_assert_double_eq_tol(first_drop_s(&r, "gw"), 50.0, 1e-9);
    ran_free(&r);
}
END_TEST

/* cgn-port-blocks.ini: the busy home's 1,009th connection, at 1,008 / 20 =
 * 50.4 s, finds its block full; the homes (125 ports each) never fail. */
START_TEST(cgn_scenario)
{
    Ran r = run_file("cgn-port-blocks.ini", NULL);
    ck_assert_double_eq_tol(first_drop_s(&r, "cgn"), 50.4, 1e-6);
    ck_assert_int_eq(count(&r, "browsing.failures"), 0);
    ck_assert_int_gt(count(&r, "chatty.failures"), 0);
    ck_assert_int_eq(count(&r, "cgn.drops"), count(&r, "cgn.drops_per_subscriber_limit"));
    ck_assert_int_eq(gauge(&r, "cgn.top_subscriber_mappings")->max, 1008);
    ran_free(&r);
}
END_TEST

/* UDP on a host: the socket closes with the answer, no TIME_WAIT: 10
 * ports carry 100 queries/s held 12 ms each (1.2 in use on average),
 * where TCP would hold each port 60 s. */
#define UDP_HOST                                                                    \
    "[scenario]\nduration = 10s\n"                                                  \
    "[host c]\naddresses = 10.0.0.1\nephemeral_range = 40000-40009\n"               \
    "[server dns]\naddresses = 10.1.0.1\nports = 53\n"                              \
    "[workload q]\nhost = c\ntarget = dns\nprotocol = udp\nrate = 100/s\n"          \
    "delay = 1ms\nservice = const(10ms)\n"

START_TEST(udp_host_no_time_wait)
{
    Ran r = run_text(UDP_HOST, NULL, FALSE);
    ck_assert_int_eq(count(&r, "q.attempts"), 1000);
    ck_assert_int_eq(count(&r, "q.successes"), 1000);
    ck_assert_int_eq(gauge(&r, "c.time_wait")->max, 0);
    ck_assert_int_le(gauge(&r, "c.ports_in_use")->max, 2);
    ran_free(&r);
    /* The same load over TCP runs the 10 ports dry at once. */
    const char *tcp[] = {"workload.q.protocol=tcp", NULL};
    r = run_text(UDP_HOST, tcp, FALSE);
    ck_assert_int_gt(count(&r, "q.eaddrnotavail"), 900);
    ran_free(&r);
}
END_TEST

/* UDP timeouts at the NAT: an answered query's entry lives udp_unreplied
 * past the answer; one answered after more than 2 s becomes a stream
 * (udp_assured); an unanswered one ends udp_unreplied after the query. */
#define UDP_NAT                                                                     \
    "[scenario]\nduration = 100ms\n"                                                \
    "[host c]\naddresses = 10.0.0.1\nvia = nat gw\n"                                \
    "[nat gw]\naddresses = 203.0.113.1\nudp_unreplied = 7s\nudp_assured = 9s\n"     \
    "[server dns]\naddresses = 10.1.0.1\nports = 53\n"                              \
    "[workload q]\nhost = c\ntarget = dns\nprotocol = udp\nrate = 1/s\n"            \
    "delay = 100ms\nservice = const(50ms)\n"

static double udp_expiry(const char *const *ov, const char *state, gint64 successes)
{
    Ran r = run_text(UDP_NAT, ov, TRUE);
    ck_assert_int_eq(count(&r, "q.successes"), successes);
    g_autofree char *what = g_strdup_printf("mapping expired in %s:", state);
    double t = first_time(&r, what);
    ran_free(&r);
    return t;
}

START_TEST(udp_nat_timeouts)
{
    /* The answer leaves the server (and passes the box) at 0.15 s. */
    ck_assert_double_eq_tol(udp_expiry(NULL, "udp", 1), 0.15 + 7, 1e-6);
    const char *slow[] = {"workload.q.service=const(3s)", NULL};
    ck_assert_double_eq_tol(udp_expiry(slow, "udp_stream", 1), 3.1 + 9, 1e-6);
    /* The client gives up at 5 s; the late answer (10.1 s) finds no one. */
    const char *none[] = {"workload.q.service=const(10s)", NULL};
    ck_assert_double_eq_tol(udp_expiry(none, "udp", 0), 7, 1e-6);
}
END_TEST

/* dns-resolver-udp.ini: 3,000/s for 30 s wants 90,000 mappings toward one
 * resolver endpoint, which has 64,512 ports: drops start no later than
 * 64,512 / 3,000 = 21.5 s (earlier: the bounded search), each dropped query
 * is one ETIMEDOUT; a 5 s timeout (15,000 entries) never drops. */
START_TEST(dns_scenario)
{
    Ran r = run_file("dns-resolver-udp.ini", NULL);
    double first = first_drop_s(&r, "masq");
    ck_assert_msg(first > 10 && first <= 21.5, "first drop %g", first);
    ck_assert_int_eq(gauge(&r, "masq.ports_in_use")->max, 64512);
    ck_assert_int_eq(count(&r, "lookups.etimedout"), count(&r, "masq.drops"));
    ck_assert_int_eq(gauge(&r, "pods.time_wait")->max, 0);
    ran_free(&r);
    const char *five[] = {"nat.masq.udp_unreplied=5s", NULL};
    r = run_file("dns-resolver-udp.ini", five);
    ck_assert_int_eq(count(&r, "masq.drops"), 0);
    ck_assert_int_le(gauge(&r, "masq.active")->max, 15000 + 100);
    ran_free(&r);
}
END_TEST

/* --pcap-at nat-outside: the segments carry the NAT's address and port,
 * and the SYNs the box dropped never appear outside it. */
static guint64 capture_count(gboolean outside, guint8 first_src[4], guint *first_sport,
                             gint64 *drops)
{
    g_autofree char *dir = g_dir_make_tmp("portsim-nat-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "c.pcap", NULL);
    const char *ov[] = {"workload.w.hold=const(100s)", NULL};
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, MEASURED, "t.ini", ov, &error);
    PsRun *run = ps_run_new(sc, 0, &error);
    PsPcap *pcap = ps_pcap_open(path, &error);
    ck_assert_ptr_nonnull(pcap);
    ps_network_set_pcap(ps_run_network(run), pcap);
    ps_network_set_pcap_nat_outside(ps_run_network(run), outside);
    ck_assert(ps_run_execute(run));
    guint64 n = ps_pcap_count(pcap);
    *drops = sim_stats_counter(sim_engine_stats(ps_run_engine(run)), "gw.drops")->value;
    ck_assert(ps_pcap_close(pcap, NULL));
    gchar *bytes;
    gsize len;
    ck_assert(g_file_get_contents(path, &bytes, &len, NULL));
    /* pcap header 24, record header 16, Ethernet 14: IPv4 source at +12,
     * TCP source port right after the 20-byte IP header. */
    const guint8 *ip = (const guint8 *)bytes + 24 + 16 + 14;
    ck_assert_uint_gt(len, 24 + 16 + 14 + 22);
    memcpy(first_src, ip + 12, 4);
    *first_sport = (guint)ip[20] << 8 | ip[21];
    g_free(bytes);
    g_unlink(path);
    g_rmdir(dir);
    ps_run_free(run);
    sim_scenario_free(sc);
    return n;
}

START_TEST(pcap_nat_outside)
{
    guint8 src[4];
    guint sport;
    gint64 drops;
    guint64 inside = capture_count(FALSE, src, &sport, &drops);
    ck_assert_uint_eq(src[0], 10);
    guint64 outside = capture_count(TRUE, src, &sport, &drops);
    ck_assert_uint_eq(src[0], 203);
    ck_assert_uint_eq(src[3], 1);
    ck_assert_uint_ge(sport, 40000);
    ck_assert_uint_le(sport, 40099);
    /* Every dropped SYN is in the client's capture only; nothing else
     * differs (all connections pass the box). */
    ck_assert_int_gt(drops, 0);
    ck_assert_uint_eq(inside - outside, (guint64)drops);
}
END_TEST

/* A chain: two client hosts behind a home NAT behind a CGN whose block
 * gives the home 10 ports. The CGN sees one subscriber (the home's
 * address) and drops its 11th concurrent connection; the home never drops;
 * the server and the outside capture see the CGN's address. */
#define CHAIN                                                                       \
    "[scenario]\nduration = 3s\n"                                                   \
    "[host a]\naddresses = 10.0.0.1\nvia = nat home\ntcp_syn_retries = 1\n"         \
    "[host b]\naddresses = 10.0.0.2\nvia = nat home\ntcp_syn_retries = 1\n"         \
    "[nat home]\naddresses = 192.168.1.1\nvia = nat cgn\n"                          \
    "[nat cgn]\npreset = cgn-pba\naddresses = 100.64.0.1\nblock_size = 10\n"        \
    "[server s]\naddresses = 10.1.0.1\nports = 80\n"                                \
    "[workload wa]\nhost = a\ntarget = s\nrate = 5/s\nhold = const(60s)\n"          \
    "[workload wb]\nhost = b\ntarget = s\nrate = 5/s\nhold = const(60s)\n"

START_TEST(chain)
{
    Ran r = run_text(CHAIN, NULL, FALSE);
    ck_assert_int_eq(count(&r, "home.drops"), 0);
    ck_assert_int_eq(gauge(&r, "cgn.top_subscriber_mappings")->max, 10);
    ck_assert_int_eq(gauge(&r, "cgn.active")->max, 10);
    ck_assert_int_gt(count(&r, "cgn.drops_per_subscriber_limit"), 0);
    ck_assert_int_eq(count(&r, "wa.successes") + count(&r, "wb.successes"), 10);
    /* Every connection got a home entry; only the CGN's translations
     * connected. */
    ck_assert_int_eq(count(&r, "home.translated"), 30);
    ck_assert_int_eq(count(&r, "cgn.translated"), 10);
    JsonNode *summary = ps_run_summary(r.run);
    JsonArray *nats = json_object_get_array_member(json_node_get_object(summary), "nats");
    JsonObject *cgn = json_array_get_object_element(nats, 1);
    ck_assert_str_eq(json_object_get_string_member(cgn, "name"), "cgn");
    ck_assert_int_eq(json_object_get_int_member(cgn, "subscribers"), 1);
    /* Both workloads pass the CGN: their timeouts count there. */
    ck_assert_int_eq(json_object_get_int_member(cgn, "client_etimedout"),
                     count(&r, "wa.etimedout") + count(&r, "wb.etimedout"));
    json_node_unref(summary);
    ran_free(&r);
}
END_TEST

/* [expect] reads the nats block: scoped to one box, or over all. */
START_TEST(expect_nat_metrics)
{
    g_autofree char *ini = g_strconcat(MEASURED,
                                       "[expect]\nnat_drops(nat.gw) = == 0\n"
                                       "nat_first_drop = >= 1h\nnat_reclaimed = >= 100\n",
                                       NULL);
    for (int held = 0; held < 2; held++) {
        const char *ov[] = {held ? "workload.w.hold=const(100s)" : "workload.w.hold=const(0s)",
                            NULL};
        Ran r = run_text(ini, ov, FALSE);
        PsExpect *e = ps_expect_new(r.sc, NULL);
        ck_assert_ptr_nonnull(e);
        JsonNode *summary = ps_run_summary(r.run);
        GString *report = g_string_new(NULL);
        gboolean ok = ps_expect_check(e, summary, report);
        /* Held 100 s, the box drops from 50 s: both drop gates break. */
        ck_assert_msg(ok == !held, "%s", report->str);
        if (held)
            ck_assert_ptr_nonnull(strstr(report->str, "BROKEN  nat_first_drop >= 1h: 50s"));
        g_string_free(report, TRUE);
        json_node_unref(summary);
        ps_expect_free(e);
        ran_free(&r);
    }
}
END_TEST

static void expect_error(const char *ini, const char *needle)
{
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, ini, "t.ini", NULL, &error);
    PsRun *run = sc ? ps_run_new(sc, 0, &error) : NULL;
    ck_assert_ptr_null(run);
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strstr(error->message, needle) && strstr(error->message, "t.ini:"),
                  "message: %s", error->message);
    g_error_free(error);
    if (sc)
        sim_scenario_free(sc);
}

START_TEST(input_errors)
{
    expect_error("[scenario]\n[host c]\naddresses = 10.0.0.1\nvia = nat home\n"
                 "[nat home]\naddresses = 192.168.0.1\nvia = nat cgn\n"
                 "[nat cgn]\naddresses = 100.64.0.1\nvia = nat home\n"
                 "[server s]\naddresses = 10.1.0.1\nports = 80\n"
                 "[workload w]\nhost = c\ntarget = s\n",
                 "behind itself");
    expect_error("[scenario]\n[host c]\naddresses = 10.0.0.1\nvia = nat gw\n"
                 "[nat gw]\naddresses = 192.168.0.1\nallocator = random\n"
                 "[server s]\naddresses = 10.1.0.1\nports = 80\n"
                 "[workload w]\nhost = c\ntarget = s\n",
                 "reclaim");
    expect_error("[scenario]\n[host c]\naddresses = 10.0.0.1\nvia = nat gw\n"
                 "[nat gw]\naddresses = 192.168.0.1\nallocator = hash\nreclaim = none\n"
                 "port_parity = true\n"
                 "[server s]\naddresses = 10.1.0.1\nports = 80\n"
                 "[workload w]\nhost = c\ntarget = s\n",
                 "port_parity");
    expect_error("[scenario]\n[host c]\naddresses = 10.0.0.1\nvia = nat gw\n"
                 "[nat gw]\naddresses = 192.168.0.1\nport_range = 1000-1009\nblock_size = 20\n"
                 "[server s]\naddresses = 10.1.0.1\nports = 80\n"
                 "[workload w]\nhost = c\ntarget = s\n",
                 "does not fit");
    expect_error("[scenario]\n[host c]\naddresses = 10.0.0.1\nvia = nat nope\n"
                 "[server s]\naddresses = 10.1.0.1\nports = 80\n"
                 "[workload w]\nhost = c\ntarget = s\n",
                 "nope");
}
END_TEST

/* Same scenario and seed, same NAT outcome. */
START_TEST(deterministic_runs)
{
    const char *ov[] = {"workload.w.hold=const(100s)", NULL};
    Ran a = run_text(MEASURED, ov, FALSE);
    Ran b = run_text(MEASURED, ov, FALSE);
    const char *names[] = {"gw.drops", "gw.reclaimed", "gw.late_successes", "w.successes"};
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_int_eq(count(&a, names[i]), count(&b, names[i]));
    ran_free(&a);
    ran_free(&b);
}
END_TEST

static Suite *nat_suite(void)
{
    Suite *s = suite_create("nat");
    TCase *tc = tcase_create("nat");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, masquerade_reclaims_time_wait);
    tcase_add_test(tc, masquerade_long_hold_exhausts);
    tcase_add_test(tc, eim_keeps_port_apdm_does_not);
    tcase_add_test(tc, eim_closed_form);
    tcase_add_test(tc, host_allocators_at_nat);
    tcase_add_test(tc, port_preservation);
    tcase_add_test(tc, port_parity);
    tcase_add_test(tc, port_blocks);
    tcase_add_test(tc, timeouts);
    tcase_add_test(tc, expired_established_counted);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, cloud_hold_sets_rate);
    tcase_add_test(tc, server_sees_external_tuple);
    tcase_add_test(tc, input_errors);
    tcase_add_test(tc, deterministic_runs);
    tcase_add_test(tc, flash_sale_scenario);
    tcase_add_test(tc, end_to_end_scenario);
    tcase_add_test(tc, plot_capacity_binds);
    tcase_add_test(tc, cgn_scenario);
    tcase_add_test(tc, linux_nat_scenario);
    tcase_add_test(tc, explain_nat);
    tcase_add_test(tc, expect_nat_metrics);
    tcase_add_test(tc, udp_host_no_time_wait);
    tcase_add_test(tc, udp_nat_timeouts);
    tcase_add_test(tc, dns_scenario);
    tcase_add_test(tc, pcap_nat_outside);
    tcase_add_test(tc, chain);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(nat_suite)
