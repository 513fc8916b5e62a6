#include "trace_log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "sim_error.h"

typedef enum { COND_ENTITY, COND_PORT, COND_ADDRESS, COND_CONN } CondKind;

typedef struct {
    CondKind kind;
    char *entity;
    int64_t number;
    SimAddress address;
} Condition;

struct PsTraceLog {
    FILE *file;
    char *path, *tmp_path;
    GArray *conditions; /* Condition */
    guint64 lines;
};

static void conditions_free(GArray *conds)
{
    for (guint i = 0; i < conds->len; i++)
        g_free(g_array_index(conds, Condition, i).entity);
    g_array_free(conds, TRUE);
}

static gboolean parse_filter(const char *filter, GArray *out, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(filter, ",", -1);
    for (char **p = parts; *p; p++) {
        char *cond = g_strstrip(*p);
        if (!*cond)
            continue;
        char *eq = strchr(cond, '=');
        Condition c = {0};
        const char *value = eq ? g_strstrip(eq + 1) : "";
        if (eq)
            *eq = '\0';
        const char *key = g_strstrip(cond);
        GError *local = NULL;
        if (!eq || !*value) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "--trace-filter: '%s' is not KEY=VALUE",
                        cond);
        } else if (!strcmp(key, "entity")) {
            c.kind = COND_ENTITY;
            c.entity = g_strdup(value);
        } else if (!strcmp(key, "port") || !strcmp(key, "conn")) {
            c.kind = key[0] == 'p' ? COND_PORT : COND_CONN;
            if (!sim_parse_int(value, &c.number, &local) || c.number < 0 ||
                (c.kind == COND_PORT && c.number > 65535))
                g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                            "--trace-filter: %s=%s: expected a %s", key, value,
                            c.kind == COND_PORT ? "port from 0 to 65535" : "connection number");
            g_clear_error(&local);
        } else if (!strcmp(key, "address")) {
            c.kind = COND_ADDRESS;
            if (!sim_parse_address(value, &c.address, &local)) {
                g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "--trace-filter: address=%s: %s",
                            value, local->message);
                g_clear_error(&local);
            }
        } else {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                        "--trace-filter: unknown key '%s' (use entity=NAME, port=N, address=A "
                        "or conn=N, joined by commas)",
                        key);
        }
        if (error && *error) {
            g_free(c.entity);
            return FALSE;
        }
        g_array_append_val(out, c);
    }
    return TRUE;
}

PsTraceLog *ps_trace_log_open(const char *path, const char *filter, GError **error)
{
    GArray *conds = g_array_new(FALSE, FALSE, sizeof(Condition));
    if (filter && !parse_filter(filter, conds, error)) {
        conditions_free(conds);
        return NULL;
    }
    PsTraceLog *log = g_new0(PsTraceLog, 1);
    log->conditions = conds;
    log->path = g_strdup(path);
    log->tmp_path = g_strconcat(path, ".tmp", NULL);
    log->file = g_fopen(log->tmp_path, "w");
    if (!log->file) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", log->tmp_path,
                    g_strerror(errno));
        conditions_free(conds);
        g_free(log->path);
        g_free(log->tmp_path);
        g_free(log);
        return NULL;
    }
    fprintf(log->file, "%-16s %-12s %-8s %-48s %s\n", "# time_s", "entity", "conn",
            "local -> remote", "event");
    return log;
}

static gboolean same_address(const SimAddress *a, const SimAddress *b)
{
    return a && b && sim_address_compare(a, b) == 0;
}

gboolean ps_trace_log_wants(const PsTraceLog *log, const PsTraceSubject *s)
{
    for (guint i = 0; i < log->conditions->len; i++) {
        const Condition *c = &g_array_index(log->conditions, Condition, i);
        gboolean ok = FALSE;
        switch (c->kind) {
        case COND_ENTITY:
            ok = s->entity && !strcmp(s->entity, c->entity);
            break;
        case COND_PORT:
            ok = s->local_port == c->number || s->remote_port == c->number;
            break;
        case COND_ADDRESS:
            ok = same_address(s->local, &c->address) || same_address(s->remote, &c->address);
            break;
        case COND_CONN:
            ok = s->conn == (guint64)c->number;
            break;
        }
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

static void endpoint(GString *out, const SimAddress *a, uint16_t port)
{
    char buf[SIM_ADDRESS_STRLEN];
    if (!a) {
        g_string_append(out, "-");
        return;
    }
    const char *text = sim_address_format(a, buf);
    if (a->family == 6)
        g_string_append_printf(out, "[%s]", text);
    else
        g_string_append(out, text);
    if (port)
        g_string_append_printf(out, ":%u", port);
    else
        g_string_append(out, ":-");
}

void ps_trace_log_event(PsTraceLog *log, SimTime at, const PsTraceSubject *s, const char *format,
                        ...)
{
    if (!ps_trace_log_wants(log, s))
        return;
    g_autoptr(GString) tuple = g_string_new(NULL);
    endpoint(tuple, s->local, s->local_port);
    g_string_append(tuple, " -> ");
    endpoint(tuple, s->remote, s->remote_port);
    va_list ap;
    va_start(ap, format);
    g_autofree char *event = g_strdup_vprintf(format, ap);
    va_end(ap);
    /* Integer seconds and nanoseconds: exact, and the same in every locale. */
    fprintf(log->file, "%6" G_GINT64_FORMAT ".%09" G_GINT64_FORMAT "  %-12s #%-7" G_GUINT64_FORMAT
                       " %-48s %s\n",
            at / SIM_S, at % SIM_S, s->entity ? s->entity : "-", s->conn, tuple->str, event);
    log->lines++;
}

guint64 ps_trace_log_lines(const PsTraceLog *log) { return log->lines; }

gboolean ps_trace_log_close(PsTraceLog *log, GError **error)
{
    gboolean ok = fflush(log->file) == 0;
    ok = (fclose(log->file) == 0) && ok;
    if (ok && g_rename(log->tmp_path, log->path) != 0)
        ok = FALSE;
    if (!ok) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", log->path,
                    g_strerror(errno));
        g_unlink(log->tmp_path);
    }
    conditions_free(log->conditions);
    g_free(log->path);
    g_free(log->tmp_path);
    g_free(log);
    return ok;
}
