/* report.html: one self-contained page per run that a person opens by
 * double-clicking: verdict, headline table, plots (SVG inlined), limits,
 * the effective scenario and how to reproduce it. No network, no scripts,
 * no external fonts; every piece of user text is escaped. */
#ifndef PS_REPORT_H
#define PS_REPORT_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct {
    const char *path;     /* an SVG file to inline */
    const char *alt_text; /* what the plot shows, for screen readers */
} PsReportPlot;

typedef struct {
    JsonNode *summary;          /* summary.json's content */
    const char *description;    /* the scenario's one line, or NULL */
    const char *effective_ini;  /* scenario.effective.ini's text */
    const char *command_line;   /* the command that reproduces the run */
    const PsReportPlot *plots;  /* n_plots of them */
    guint n_plots;
    const char *limits_text;    /* closed-form limits (portsim explain), or NULL */
    const char *expect_text;    /* the [expect] report, or NULL */
    gboolean expect_broken;     /* show expect_text first, as a warning */
} PsRunReport;

/* Writes the page atomically. SIM_ERROR_RUNTIME on I/O errors. */
gboolean ps_report_write_run(const char *path, const PsRunReport *report, GError **error);

typedef struct {
    JsonNode *sweep;            /* sweep.json's content */
    const char *plot_dir;       /* where failure_ratio.svg etc. are, or NULL */
    const char *command_line;   /* the command that reproduces the sweep */
    const char *expect_text;    /* [expect] results per point, or NULL */
    gboolean expect_broken;
} PsSweepReport;

/* report.html of a sweep: the knee with its interval, the curves with
 * intervals (and Erlang B where it applies), a table of every point. */
gboolean ps_report_write_sweep(const char *path, const PsSweepReport *report, GError **error);

typedef struct {
    JsonNode *compare;        /* compare.json's content */
    const char *plot_dir;     /* where the comparison's SVGs are, or NULL */
    const char *command_line;
    const char *expect_text;  /* the [expect] reports, allocator by allocator, or NULL */
    gboolean expect_broken;
} PsCompareReport;

/* report.html of `portsim compare`: any broken [expect] line first, the
 * side-by-side table, the plots per allocator. */
gboolean ps_report_write_compare(const char *path, const PsCompareReport *report,
                                 GError **error);

/* The one-sentence verdict of a run, from its summary (shared with the
 * terminal summary so they never disagree). */
char *ps_report_verdict(JsonNode *summary);

/* 1234567 -> "1,234,567". */
char *ps_report_count(gint64 n);
/* 609.0 -> "10m09.0s", 59.8 -> "59.8s", 3725 -> "1h02m05s". */
char *ps_report_when(double seconds);

#endif
