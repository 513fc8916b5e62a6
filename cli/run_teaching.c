#include "run_teaching.h"

#include <string.h>

#include "pcap_writer.h"
#include "sim_error.h"
#include "trace_log.h"

struct CliTeaching {
    PsTraceLog *trace;
    PsPcap *pcap;
};

CliTeaching *cli_teaching_open(PsRun *run, const char *trace_path, const char *trace_filter,
                               const char *pcap_path, const char *pcap_at, GError **error)
{
    if (trace_filter && !trace_path) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "--trace-filter needs --trace FILE");
        return NULL;
    }
    if (pcap_at && !pcap_path) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "--pcap-at needs --pcap FILE");
        return NULL;
    }
    /* client: the client hosts' connections; backend: the connections
     * proxies open to their backends, as the proxy sees them; nat-outside:
     * translated connections with the NAT's external address and port. */
    if (pcap_at && strcmp(pcap_at, "client") != 0 && strcmp(pcap_at, "backend") != 0 &&
        strcmp(pcap_at, "nat-outside") != 0) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "--pcap-at %s: unknown observation point (available: client, backend, "
                    "nat-outside)",
                    pcap_at);
        return NULL;
    }
    CliTeaching *t = g_new0(CliTeaching, 1);
    if (trace_path && !(t->trace = ps_trace_log_open(trace_path, trace_filter, error))) {
        g_free(t);
        return NULL;
    }
    if (pcap_path && !(t->pcap = ps_pcap_open(pcap_path, error))) {
        cli_teaching_close(t, NULL);
        return NULL;
    }
    ps_network_set_trace(ps_run_network(run), t->trace);
    ps_network_set_pcap(ps_run_network(run), t->pcap);
    ps_network_set_pcap_backend(ps_run_network(run), pcap_at && strcmp(pcap_at, "backend") == 0);
    ps_network_set_pcap_nat_outside(ps_run_network(run),
                                    pcap_at && strcmp(pcap_at, "nat-outside") == 0);
    return t;
}

gboolean cli_teaching_close(CliTeaching *t, GError **error)
{
    if (!t)
        return TRUE;
    gboolean ok = TRUE;
    GError *local = NULL;
    if (t->trace && !ps_trace_log_close(t->trace, &local))
        ok = FALSE;
    if (t->pcap && !ps_pcap_close(t->pcap, ok ? &local : NULL))
        ok = FALSE;
    if (local)
        g_propagate_error(error, local);
    g_free(t);
    return ok;
}
