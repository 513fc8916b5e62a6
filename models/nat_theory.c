/* `portsim explain` for NAT boxes: the closed-form capacity and sustainable
 * rate through each [nat], from the scenario alone.
 *
 *   P  external ports per address (port_range)
 *   A  addresses; D destinations (address, port) of the workloads through it
 *   per destination  min(P, max_per_destination) x A (dependent mappings
 *                    share a port across destinations: RFC 7857 §3);
 *                    endpoint-independent: P x A in all, whatever D
 *   blocks           per subscriber: block_size x max_blocks_per_host ports
 *                    (x D unless endpoint-independent); the box holds
 *                    A x floor(P / block_size) blocks
 *   T  entry life    handshake + hold + close (the hosts' figures) + the
 *                    NAT's TIME_WAIT (its CLOSE timer with linger0); with
 *                    reclaim = time-wait the TIME_WAIT is taken back on
 *                    demand, so T stops at the close: the limit becomes
 *                    concurrent connections (linux-nat-measured.md)
 *   sustainable      capacity / T (per destination, or per subscriber). */
#include "nat_theory.h"

#include <math.h>
#include <string.h>
#include "theory.h"

typedef struct {
    double rate_peak, occupancy_w, weight;
    GHashTable *dests;
    guint subscribers;
    gboolean linger0;
    gboolean udp; /* every workload through the box is UDP */
    gboolean any;
} Through;


static SimSection *via_of(SimSection *wl)
{
    if (sim_section_has(wl, "via"))
        return sim_section_reference(wl, "via");
    SimSection *host = sim_section_reference(wl, "host");
    return sim_section_has(host, "via") ? sim_section_reference(host, "via") : NULL;
}

static char *count_text(double n)
{
    char digits[32];
    g_snprintf(digits, sizeof digits, "%.0f", n);
    GString *out = g_string_new(NULL);
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, digits[i]);
    }
    return g_string_free(out, FALSE);
}

static void explain_nat(GString *o, const SimScenario *scenario, SimSection *nat,
                        GPtrArray *hosts)
{
    Through t = {0};
    t.dests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *seen_hosts = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < sim_scenario_n_sections(scenario); i++) {
        SimSection *wl = sim_scenario_section_at(scenario, i);
        if (strcmp(sim_section_kind(wl), "workload") != 0)
            continue;
        /* Through nat directly, or through boxes behind it (a chain): then
         * its subscribers are the inner box's addresses. */
        SimSection *n = via_of(wl), *inner = NULL;
        for (guint hops = 0; n && n != nat && hops < 64; hops++) {
            inner = n;
            n = sim_section_has(n, "via") ? sim_section_reference(n, "via") : NULL;
        }
        if (n != nat)
            continue;
        SimSection *host = sim_section_reference(wl, "host");
        ps_theory_add_dests(t.dests, sim_section_reference(wl, "target"));
        gboolean udp = strcmp(sim_section_text(wl, "protocol"), "udp") == 0;
        t.udp = (t.any ? t.udp : TRUE) && udp;
        t.any = TRUE;
        if (g_hash_table_contains(seen_hosts, host))
            continue;
        g_hash_table_add(seen_hosts, host);
        if (!inner)
            t.subscribers += sim_section_addresses(host, "addresses")->len;
        else if (!g_hash_table_contains(seen_hosts, inner)) {
            g_hash_table_add(seen_hosts, inner);
            t.subscribers += sim_section_addresses(inner, "addresses")->len;
        }
        t.linger0 = t.linger0 || sim_section_bool(host, "linger0");
        for (guint k = 0; k < hosts->len; k++) {
            const PsHostTheory *h = hosts->pdata[k];
            if (g_strcmp0(h->host, sim_section_name(host)) != 0)
                continue;
            double w = MAX(h->peak_per_s, 1e-12);
            t.rate_peak += h->peak_per_s;
            t.occupancy_w += w * (h->handshake_s + h->hold_s + h->close_s);
            t.weight += w;
        }
    }
    g_hash_table_unref(seen_hosts);
    guint D = g_hash_table_size(t.dests);
    g_hash_table_unref(t.dests);
    if (t.weight == 0) {
        g_string_append_printf(o, "nat %s: no workload passes it\n", sim_section_name(nat));
        return;
    }
    SimRange range = sim_section_range(nat, "port_range");
    double P = (double)(range.hi - range.lo + 1);
    double A = sim_section_addresses(nat, "addresses")->len;
    const char *mapping = sim_section_text(nat, "mapping");
    gboolean eim = strcmp(mapping, "endpoint-independent") == 0;
    gboolean reclaim = !t.udp && strcmp(sim_section_text(nat, "reclaim"), "time-wait") == 0;
    double hold = t.occupancy_w / t.weight;
    /* UDP: the entry outlives the answer by udp_unreplied (answered within
     * 2 s) or udp_assured. */
    double tw = sim_time_to_seconds(sim_section_duration(
        nat, t.udp ? (hold > 2 ? "udp_assured" : "udp_unreplied")
                   : t.linger0 ? "tcp_close" : "tcp_time_wait"));
    double T = hold + (reclaim ? 0 : tw);
    g_string_append_printf(o, "nat %s: %.0f address%s x %u destination%s, %s mapping\n",
                           sim_section_name(nat), A, A == 1 ? "" : "es", D, D == 1 ? "" : "s",
                           mapping);
    g_autofree char *ps = count_text(P);
    g_string_append_printf(o, "  external ports       P = %s per address (%lld-%lld)\n", ps,
                           (long long)range.lo, (long long)range.hi);
    g_string_append_printf(o, "  entry life           T = handshake + hold + close%s = %g s%s\n",
                           reclaim  ? ""
                           : t.udp  ? " + UDP timeout"
                           : t.linger0 ? " + CLOSE timer"
                                       : " + NAT TIME_WAIT",
                           T,
                           reclaim ? " (TIME_WAIT entries are reclaimed on demand: the limit is "
                                     "concurrent connections)"
                                   : "");
    gint64 block = 0, blocks = 1;
    const char *forms[] = {"block_size", "min_ports_per_host", "ports_per_host"};
    for (guint i = 0; i < G_N_ELEMENTS(forms) && !block; i++)
        if (sim_section_has(nat, forms[i]))
            block = sim_section_int(nat, forms[i]);
    if (block > 0) {
        if (sim_section_has(nat, "min_ports_per_host") &&
            sim_section_has(nat, "max_ports_per_host"))
            blocks = sim_section_int(nat, "max_ports_per_host") / block;
        else if (!sim_section_has(nat, "ports_per_host"))
            blocks = sim_section_int(nat, "max_blocks_per_host");
        double per_sub = (double)block * blocks;
        double box_blocks = A * floor(P / block);
        g_autofree char *pst = count_text(per_sub);
        g_autofree char *bb = count_text(box_blocks);
        g_string_append_printf(o, "  port blocks          %lld ports x %lld block%s = %s per "
                                  "subscriber%s; the box holds %s blocks for %u subscriber%s%s\n",
                               (long long)block, (long long)blocks, blocks == 1 ? "" : "s", pst,
                               eim ? "" : " per destination", bb, t.subscribers,
                               t.subscribers == 1 ? "" : "s",
                               t.subscribers > box_blocks ? " (too few: some get none)" : "");
        g_string_append_printf(o, "  sustainable rate     per subscriber%s: %s / %g s = %.4g/s\n",
                               eim ? "" : " and destination", pst, T, per_sub / T);
        double per_sub_rate = t.rate_peak / MAX(t.subscribers, 1);
        g_string_append_printf(o, "  offered rate         %.6g/s at the peak, %.4g/s per "
                                  "subscriber if spread evenly\n",
                               t.rate_peak, per_sub_rate);
        return;
    }
    double per_dest = P;
    if (sim_section_has(nat, "max_per_destination"))
        per_dest = MIN(P, (double)sim_section_int(nat, "max_per_destination"));
    double capacity = eim ? P * A : per_dest * A * D;
    g_autofree char *cap = count_text(capacity);
    if (eim)
        g_string_append_printf(o, "  capacity             P x addresses = %s internal endpoints "
                                  "(each holds its external port toward every destination)\n",
                               cap);
    else
        g_string_append_printf(o, "  capacity             %s x addresses x destinations = %s "
                                  "entries\n",
                               sim_section_has(nat, "max_per_destination")
                                   ? "min(P, max_per_destination)"
                                   : "P",
                               cap);
    if (reclaim) {
        /* Only open connections count: rate x T of them at the peak. */
        double open = t.rate_peak * T;
        g_string_append_printf(o, "  concurrent at peak   rate x T = %.6g x %g s = %.4g of %s%s\n",
                               t.rate_peak, T, open, cap,
                               open > capacity ? ": SYNs will be dropped" : ": no drop expected");
        return;
    }
    double sustainable = capacity / T;
    g_string_append_printf(o, "  sustainable rate     capacity / T = %s / %g s = %.4g/s\n", cap, T,
                           sustainable);
    g_string_append_printf(o, "  peak load            %.6g/s offered = %.3g of it%s\n",
                           t.rate_peak, t.rate_peak / sustainable,
                           t.rate_peak > sustainable ? ": SYNs (or queries) will be dropped" : "");
}

char *ps_nat_explain(const SimScenario *scenario)
{
    GString *o = NULL;
    GPtrArray *hosts = NULL;
    for (guint i = 0; i < sim_scenario_n_sections(scenario); i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (strcmp(sim_section_kind(sec), "nat") != 0)
            continue;
        if (!o) {
            o = g_string_new(NULL);
            hosts = ps_theory_hosts(scenario);
        } else {
            g_string_append_c(o, '\n');
        }
        explain_nat(o, scenario, sec, hosts);
    }
    if (hosts)
        g_ptr_array_unref(hosts);
    return o ? g_string_free(o, FALSE) : NULL;
}
