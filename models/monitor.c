/* [monitor NAME]: when a utilization alert on a host's port pools would
 * have fired, and how long before the first failure. */
#include "network_internal.h"

PsMonitor *ps_monitor_new(PsNetwork *net, SimSection *sec, PsHost *host)
{
    (void)net;
    PsMonitor *m = g_new0(PsMonitor, 1);
    m->section = sec;
    m->name = sim_section_name(sec);
    m->host = host;
    m->utilization = sim_section_float(sec, "utilization");
    m->alerted = g_hash_table_new(g_direct_hash, g_direct_equal);
    m->alerts = g_array_new(FALSE, FALSE, sizeof(PsMonitorAlert));
    m->first_alert = SIM_TIME_NEVER;
    if (!host->monitors)
        host->monitors = g_ptr_array_new();
    g_ptr_array_add(host->monitors, m);
    return m;
}

void ps_monitor_free(PsMonitor *m)
{
    g_hash_table_destroy(m->alerted);
    g_array_free(m->alerts, TRUE);
    g_free(m);
}

void ps_monitor_check(PsHost *host, PsPool *pool, SimTime now)
{
    guint in_use = ps_pool_ports_in_use(pool->ports);
    guint capacity = ps_pool_capacity(pool->ports);
    for (guint i = 0; i < host->monitors->len; i++) {
        PsMonitor *m = host->monitors->pdata[i];
        /* Fires once per pool, at the first change that reaches the level
         * (a real monitor sampling every few seconds fires later). */
        if ((double)in_use < m->utilization * capacity ||
            g_hash_table_contains(m->alerted, pool))
            continue;
        g_hash_table_add(m->alerted, pool);
        PsMonitorAlert a = {pool, now};
        g_array_append_val(m->alerts, a);
        if (m->first_alert == SIM_TIME_NEVER)
            m->first_alert = now;
    }
}
