#include "progress.h"

#include "budget.h"

#include <signal.h>
#include <stdio.h>
#include <math.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

gboolean cli_was_interrupted(void) { return interrupted != 0; }

struct CliProgress {
    char *label;
    SimTime duration;
    gboolean tty;
    gboolean drawn;
    gint64 started;
    guint64 max_memory;
    char *stop_reason;
};

void cli_progress_set_memory_limit(CliProgress *p, guint64 max_bytes) { p->max_memory = max_bytes; }

const char *cli_progress_stop_reason(const CliProgress *p) { return p->stop_reason; }

CliProgress *cli_progress_new(const char *label, SimTime duration)
{
    CliProgress *p = g_new0(CliProgress, 1);
    p->label = g_strdup(label);
    p->duration = duration;
    p->tty = isatty(STDERR_FILENO);
    p->started = g_get_monotonic_time();
    return p;
}

gboolean cli_progress_update(void *data, SimTime now, uint64_t events)
{
    CliProgress *p = data;
    if (interrupted) {
        if (!p->stop_reason)
            p->stop_reason = g_strdup("interrupted by a signal");
        return FALSE;
    }
    guint64 rss = p->max_memory ? ps_budget_resident_memory() : 0;
    if (rss > p->max_memory) {
        g_autofree char *used = ps_budget_format_size(rss);
        g_autofree char *limit = ps_budget_format_size(p->max_memory);
        g_free(p->stop_reason);
        p->stop_reason = g_strdup_printf("stopped: resident memory %s passed --max-memory %s",
                                         used, limit);
        return FALSE;
    }
    double elapsed = (double)(g_get_monotonic_time() - p->started) / 1e6;
    if (!p->tty || elapsed < 0.5)
        return TRUE;
    const int width = 30;
    double frac = p->duration > 0 ? (double)now / (double)p->duration : 1.0;
    if (frac > 1.0)
        frac = 1.0;
    int filled = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double eta = frac > 0.01 ? elapsed * (1.0 - frac) / frac : NAN;
    fprintf(stderr, "\r%s [%s] %5.1f%%  sim %.0fs  %.1fM events  %s%.0fs left ", p->label, bar,
            100.0 * frac, sim_time_to_seconds(now), (double)events / 1e6,
            frac >= 1.0 ? "draining, " : "", isnan(eta) ? 0.0 : eta);
    fflush(stderr);
    p->drawn = TRUE;
    return TRUE;
}

void cli_progress_free(CliProgress *p)
{
    if (!p)
        return;
    if (p->drawn)
        fprintf(stderr, "\r\033[K");
    g_free(p->label);
    g_free(p->stop_reason);
    g_free(p);
}
