/* The [expect] verdict as a user and a CI meet it. */
#include "expect_report.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"

int cli_check_expect(const PsExpect *expect, JsonNode *summary, const char *what,
                     gboolean quiet)
{
    g_autoptr(GString) report = g_string_new(NULL);
    gboolean ok = ps_expect_check(expect, summary, report);
    json_node_unref(summary);
    if (!quiet)
        printf("Expectations%s%s:\n%s", what ? " for " : "", what ? what : "", report->str);
    if (ok)
        return EXIT_OK;
    /* Only the broken lines on stderr, so a CI log shows why it failed. */
    g_auto(GStrv) lines = g_strsplit(report->str, "\n", -1);
    for (char **l = lines; *l; l++) {
        const char *line = g_strchug(*l);
        if (g_str_has_prefix(line, "BROKEN"))
            fprintf(stderr, "portsim: [expect] broken%s%s: %s\n", what ? " for " : "",
                    what ? what : "", g_strchug((char *)line + strlen("BROKEN")));
    }
    return EXIT_RUNTIME;
}
