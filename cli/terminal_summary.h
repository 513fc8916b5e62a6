/* The short human summary printed after a run, rendered from the same JSON
 * that summary.json holds so the two can never disagree. */
#ifndef PS_CLI_TERMINAL_SUMMARY_H
#define PS_CLI_TERMINAL_SUMMARY_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* A table per host pool and a one-sentence verdict. */
GString *cli_terminal_summary(JsonNode *summary);

/* "10m14.2s", "59.8s", "1h2m": durations a person reads quickly. */
char *cli_format_seconds(double seconds);
/* 1234567 -> "1,234,567". */
char *cli_format_count(gint64 n);

#endif
