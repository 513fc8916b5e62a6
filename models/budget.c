/* Up-front cost estimate of a scenario (see budget.h). */
#include "budget.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim_error.h"

/* Costs per unit, from the data structures they stand for. */
#define POOL_BYTES_PER_PORT 4.5        /* uint32 use count + 4 bitmaps */
#define POOL_FIXED_BYTES 4096.0        /* metrics, names, histogram, hash table */
#define LINUX_PERTURB_BYTES 262144.0   /* alloc_linux.c: 65,536 u32 slots per pool */
#define SERIES_BYTES_PER_CELL 24.0     /* a double in memory + its CSV text */
#define COLUMNS_PER_HOST 12.0
#define COLUMNS_PER_WORKLOAD 7.0
#define COLUMNS_PER_SERVER 2.0

/* Attempts of one workload: its rate (or schedule) over [start, stop);
 * for diurnal arrivals `rate` is the peak and for onoff `on_rate` is, so
 * this bounds them from above. */
static double workload_attempts_unscaled(SimSection *wl, SimTime duration)
{
    double start = sim_time_to_seconds(sim_section_duration(wl, "start"));
    double stop = sim_time_to_seconds(duration);
    if (sim_section_has(wl, "stop"))
        stop = MIN(stop, sim_time_to_seconds(sim_section_duration(wl, "stop")));
    if (stop <= start)
        return 0;
    const char *arrival = sim_section_text(wl, "arrival");
    if (g_strcmp0(arrival, "onoff") == 0 && sim_section_has(wl, "on_rate"))
        return sim_section_rate(wl, "on_rate") * (stop - start);
    if (!sim_section_has(wl, "schedule") ||
        (g_strcmp0(arrival, "poisson") != 0 && g_strcmp0(arrival, "schedule") != 0))
        return sim_section_rate(wl, "rate") * (stop - start);
    /* Piecewise linear between points, the last rate held: integrate each
     * piece clipped to [start, stop]. */
    const GArray *pts = sim_section_schedule(wl, "schedule");
    double total = 0;
    for (guint i = 0; i < pts->len; i++) {
        const SimSchedulePoint *p = &g_array_index(pts, SimSchedulePoint, i);
        double t0 = sim_time_to_seconds(p->at);
        double t1 = stop, r1 = p->rate;
        if (i + 1 < pts->len) {
            const SimSchedulePoint *q = &g_array_index(pts, SimSchedulePoint, i + 1);
            t1 = sim_time_to_seconds(q->at);
            r1 = q->rate;
        }
        double a = MAX(t0, start), b = MIN(t1, stop);
        if (b <= a)
            continue;
        /* The rate at x on the segment, linear from (t0, p->rate) to (t1, r1). */
        double ra = t1 > t0 ? p->rate + (r1 - p->rate) * (a - t0) / (t1 - t0) : p->rate;
        double rb = t1 > t0 ? p->rate + (r1 - p->rate) * (b - t0) / (t1 - t0) : p->rate;
        if (i + 1 == pts->len)
            ra = rb = p->rate;
        total += (ra + rb) / 2 * (b - a);
    }
    return total;
}

static double workload_attempts(SimSection *wl, SimTime duration)
{
    return workload_attempts_unscaled(wl, duration) * sim_section_float(wl, "rate_scale");
}

void ps_budget_estimate(const SimScenario *scenario, PsBudget *out)
{
    memset(out, 0, sizeof *out);
    SimSection *sc = sim_scenario_find(scenario, "scenario", NULL);
    SimTime duration = sim_section_duration(sc, "duration");
    SimTime sample = sim_section_duration(sc, "sample");
    double columns = 1, dests = 0;
    /* Attempts per host section: pools are created on first use, so a
     * host never has more pools than connections it opens. */
    GHashTable *host_attempts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    for (guint i = 0; i < sim_scenario_n_sections(scenario); i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        const char *kind = sim_section_kind(sec);
        if (g_str_equal(kind, "server")) {
            columns += COLUMNS_PER_SERVER;
            double ports = 0;
            const GArray *pr = sim_section_range_list(sec, "ports");
            for (guint r = 0; r < pr->len; r++) {
                SimRange range = g_array_index(pr, SimRange, r);
                ports += (double)(range.hi - range.lo + 1);
            }
            dests += ports * sim_section_addresses(sec, "addresses")->len;
        } else if (g_str_equal(kind, "workload")) {
            columns += COLUMNS_PER_WORKLOAD;
            double a = workload_attempts(sec, duration);
            out->attempts += a;
            SimSection *host = sim_section_reference(sec, "host");
            double *sum = g_hash_table_lookup(host_attempts, host);
            if (!sum) {
                sum = g_new0(double, 1);
                g_hash_table_insert(host_attempts, host, sum);
            }
            *sum += a;
        }
    }
    for (guint i = 0; i < sim_scenario_n_sections(scenario); i++) {
        SimSection *sec = sim_scenario_section_at(scenario, i);
        if (!g_str_equal(sim_section_kind(sec), "host"))
            continue;
        columns += COLUMNS_PER_HOST;
        const double *opened = g_hash_table_lookup(host_attempts, sec);
        double n = MIN((double)sim_section_addresses(sec, "addresses")->len,
                       MAX(1.0, ceil(opened ? *opened : 0)));
        SimRange range = sim_section_range(sec, "ephemeral_range");
        double ports = (double)(range.hi - range.lo + 1);
        /* A pool keeps one bitmap per destination it has talked to: at
         * most every server endpoint, and no more than its attempts. */
        double per_pool = POOL_FIXED_BYTES + ports * POOL_BYTES_PER_PORT +
                          MIN(dests, MAX(1.0, out->attempts / MAX(n, 1.0))) * ports / 8;
        if (g_strcmp0(sim_section_text(sec, "allocator"), "linux") == 0)
            per_pool += LINUX_PERTURB_BYTES;
        out->pools += n;
        out->pool_bytes += n * per_pool;
    }
    g_hash_table_destroy(host_attempts);
    out->rows = sim_time_to_seconds(duration) / sim_time_to_seconds(sample) + 2;
    out->series_bytes = out->rows * columns * SERIES_BYTES_PER_CELL;
    out->total_bytes = out->pool_bytes + out->series_bytes;
}

char *ps_budget_format_size(guint64 bytes)
{
    /* GLib puts a no-break space before the unit; a plain one is easier to
     * grep in logs. */
    char *text = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
    char *nbsp = strstr(text, "\xc2\xa0");
    if (nbsp) {
        *nbsp = ' ';
        memmove(nbsp + 1, nbsp + 2, strlen(nbsp + 2) + 1);
    }
    return text;
}

static char *format_bytes(double bytes)
{
    return ps_budget_format_size((guint64)MIN(bytes, 1.8e19));
}

gboolean ps_budget_check(const SimScenario *scenario, guint64 max_bytes, GError **error)
{
    PsBudget b;
    ps_budget_estimate(scenario, &b);
    const char *origin = sim_scenario_origin(scenario);
    if (b.attempts > PS_BUDGET_MAX_ATTEMPTS) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "%s: the workloads would open about %.3g connections, more than the %.0e "
                    "portsim runs in reasonable time; shorten scenario.duration or lower the "
                    "rates",
                    origin, b.attempts, PS_BUDGET_MAX_ATTEMPTS);
        return FALSE;
    }
    gboolean machine = max_bytes == 0;
    if (machine)
        max_bytes = ps_budget_physical_memory();
    if (max_bytes == 0 || b.total_bytes <= (double)max_bytes)
        return TRUE;
    g_autofree char *need = format_bytes(b.total_bytes);
    g_autofree char *pools = format_bytes(b.pool_bytes);
    g_autofree char *series = format_bytes(b.series_bytes);
    g_autofree char *limit = format_bytes((double)max_bytes);
    g_autofree char *against = machine ? g_strdup_printf("the machine's %s", limit)
                                       : g_strdup_printf("the --max-memory limit (%s)", limit);
    g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                "%s: this scenario would need about %s of memory (%.0f port pools: %s; a time "
                "series of %.3g rows: %s), more than %s; use fewer addresses or smaller "
                "ephemeral ranges, or a longer scenario.sample",
                origin, need, b.pools, pools, b.rows, series, against);
    return FALSE;
}

gboolean ps_budget_parse_size(const char *text, guint64 *out, GError **error)
{
    const char *p = text;
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(p, &end);
    if (end == p || errno != 0 || !(v >= 0))
        goto bad;
    double mult = 1;
    switch (g_ascii_toupper(*end)) {
    case '\0': break;
    case 'K': mult = 1024.0; end++; break;
    case 'M': mult = 1024.0 * 1024; end++; break;
    case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: goto bad;
    }
    if (mult > 1 && (g_ascii_strcasecmp(end, "iB") == 0 || g_ascii_strcasecmp(end, "B") == 0))
        end += strlen(end);
    if (*end != '\0' || v * mult >= 1.8e19 || v * mult < 1)
        goto bad;
    *out = (guint64)(v * mult);
    return TRUE;
bad:
    g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                "--max-memory %s: expected a size of at least 1 byte such as 512M, 2G or 1.5GiB",
                text);
    return FALSE;
}

guint64 ps_budget_physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    guint64 mem = pages > 0 && size > 0 ? (guint64)pages * (guint64)size : 0;
    /* In a container, the cgroup's limit is what the run may really use. */
    g_autofree char *text = NULL;
    if (g_file_get_contents("/sys/fs/cgroup/memory.max", &text, NULL, NULL)) {
        guint64 limit = g_ascii_strtoull(text, NULL, 10);
        if (limit > 0 && (mem == 0 || limit < mem))
            mem = limit;
    }
    return mem;
}

guint64 ps_budget_resident_memory(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/statm", &text, NULL, NULL))
        return 0;
    unsigned long long total = 0, resident = 0;
    if (sscanf(text, "%llu %llu", &total, &resident) != 2)
        return 0;
    long size = sysconf(_SC_PAGESIZE);
    return size > 0 ? resident * (guint64)size : 0;
}
