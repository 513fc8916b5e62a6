/* memory: bytes per established connection and per TIME_WAIT entry.
 * A run holds N connections open (or N 4-tuples in TIME_WAIT) at its peak;
 * the peak RSS of a run with N is compared with one with N/10 in a fresh
 * child process each, so fixed costs (tables, pools, the binary) cancel:
 * bytes per entry = (RSS(N) - RSS(N/10)) / (0.9 N). */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "run.h"

/* Entries spread over enough destinations (server ports) that no pool
 * fills: 20,000 4-tuples per destination. */
static long run_child(const char *kind, double n)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int dests = (int)(n / 20000.0) + 1;
        double rate = 1e6; /* per second: N arrive in N/1e6 s */
        double open_s = n / rate;
        /* est_random: a random hold, whose close events go back in time
         * and cannot use the workload's compact lane (tcp.c close_after()). */
        gboolean random_hold = strcmp(kind, "est_random") == 0;
        gboolean established = random_hold || strcmp(kind, "established") == 0;
        /* tcp_tw_reuse 1 indexes every TIME_WAIT 4-tuple for connect()'s
         * takeover check; under the default 2 only loopback ones are. */
        gboolean reuse1 = strcmp(kind, "tw_reuse_1") == 0;
        g_autofree char *ini = g_strdup_printf(
            "[scenario]\nduration = %.0fus\nsample = 1h\n"
            "[host c]\naddresses = 10.0.0.1\nephemeral_range = 1024-65535\ntime_wait = %s\n"
            /* Linux's default cap (131072) would keep most closes out of
             * TIME_WAIT and leave nothing to measure. */
            "max_tw_buckets = 1000000000\ntcp_tw_reuse = %d\n"
            /* Longer than the run (10 s at 10^7): no connect() takes a
             * TIME_WAIT 4-tuple over, so every entry stays live and the
             * row divides by the right count. With the default 1 s, 19% of
             * them were taken over at 10^7 and the row read low. */
            "tw_reuse_delay = 60s\n"
            "[server s]\naddresses = 10.1.0.1\nports = 1-%d\n"
            "[workload w]\nhost = c\ntarget = server s\nrate = %.0f/s\nhold = %s\n",
            open_s * 1e6, established ? "0s" : "1h", reuse1 ? 1 : 2, dests, rate,
            random_hold ? "exp(1h)" : established ? "const(1h)" : "0s");
        SimSchema *schema = ps_schema_new();
        GError *error = NULL;
        SimScenario *sc = sim_scenario_load_data(schema, ini, "memory", NULL, &error);
        PsRun *run = sc ? ps_run_new(sc, 0, &error) : NULL;
        if (!run) {
            fprintf(stderr, "bench_memory: %s\n", error->message);
            _exit(1);
        }
        /* Stop at the peak: the duration ends before anything closes. */
        ps_network_start(ps_run_network(run));
        sim_engine_run(ps_run_engine(run), sim_time_from_seconds(open_s) + SIM_S);
        PsTotals t;
        ps_network_totals(ps_run_network(run), &t);
        if (t.failures || t.successes + 1 < (guint64)n)
            fprintf(stderr, "bench_memory: %s: %" G_GUINT64_FORMAT " open, %" G_GUINT64_FORMAT
                            " failed\n", kind, t.successes, t.failures);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        long kib = ru.ru_maxrss;
        if (write(fds[1], &kib, sizeof kib) != sizeof kib)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long kib = -1;
    if (read(fds[0], &kib, sizeof kib) != sizeof kib)
        kib = -1;
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return kib;
}

int main(int argc, char **argv)
{
    gboolean quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double sizes[] = {1e6, 1e7};
    guint n = quick ? 1 : G_N_ELEMENTS(sizes);
    const char *kinds[] = {"established", "est_random", "time_wait", "tw_reuse_1"};
    printf("%-12s %12s %14s\n", "entries", "kind", "bytes/entry");
    for (guint k = 0; k < G_N_ELEMENTS(kinds); k++)
        for (guint i = 0; i < n; i++) {
            double big = quick ? sizes[i] / 10 : sizes[i];
            long a = run_child(kinds[k], big), b = run_child(kinds[k], big / 10);
            if (a < 0 || b < 0) {
                fprintf(stderr, "bench_memory: a child run failed\n");
                return 1;
            }
            printf("%-12.0f %12s %14.1f\n", big, kinds[k], (double)(a - b) * 1024.0 / (0.9 * big));
            fflush(stdout);
        }
    return 0;
}
