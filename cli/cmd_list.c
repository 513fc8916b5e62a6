/* portsim list: what the schema, allocators, presets and scenario library
 * offer. Everything printed here comes from the same tables the loader
 * uses, so it cannot drift from what portsim accepts. */
#include <stdio.h>
#include <string.h>

#include "allocator.h"
#include "commands.h"
#include "keys.h"

static void list_allocators(void)
{
    for (guint i = 0; i < ps_allocator_n_classes(); i++) {
        const PsAllocatorClass *k = ps_allocator_class_at(i);
        printf("%s\n", k->name);
        g_autofree char *wrapped = g_strdup(k->help);
        printf("    %s\n\n", wrapped);
    }
}

static void list_presets(const SimSchema *schema)
{
    for (guint i = 0; i < sim_schema_n_presets(schema); i++) {
        const SimPresetDef *p = sim_schema_preset_at(schema, i);
        printf("[%s] preset = %s\n    %s\n", p->kind, p->name, p->help);
        for (const char *const *kv = p->pairs; kv[0] && kv[1]; kv += 2)
            printf("      %s = %s\n", kv[0], kv[1]);
        printf("\n");
    }
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first comment line of each scenario file is its one-line purpose. */
static int list_scenarios(const char *dir)
{
    GError *error = NULL;
    GDir *d = g_dir_open(dir, 0, &error);
    if (!d) {
        fprintf(stderr, "portsim list scenarios: %s (pass the folder: portsim list scenarios DIR)\n",
                error->message);
        g_error_free(error);
        return EXIT_USAGE;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    while ((entry = g_dir_read_name(d)))
        if (g_str_has_suffix(entry, ".ini"))
            g_ptr_array_add(names, g_strdup(entry));
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *text = NULL;
        const char *purpose = "";
        g_auto(GStrv) lines = NULL;
        if (g_file_get_contents(path, &text, NULL, NULL)) {
            lines = g_strsplit(text, "\n", 40);
            for (char **l = lines; *l; l++) {
                char *line = g_strstrip(*l);
                if (line[0] == ';' || line[0] == '#') {
                    purpose = g_strstrip(line + 1);
                    if (*purpose)
                        break;
                }
            }
        }
        printf("%-28s %s\n", path, purpose);
    }
    g_ptr_array_free(names, TRUE);
    return EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
    gboolean markdown = FALSE;
    GOptionEntry entries[] = {
        {"markdown", 0, 0, G_OPTION_ARG_NONE, &markdown,
         "With `keys`: print Markdown (the source of docs/scenario-keys.md)", NULL},
        {NULL},
    };
    GOptionContext *ctx =
        g_option_context_new("keys|allocators|presets|scenarios [DIR] - list what portsim knows");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(
        ctx, "keys        every section and key a scenario may use, with type, default,\n"
             "            allowed values and help\n"
             "allocators  port selection strategies, their state, cost and source\n"
             "presets     named defaults of real systems, with sources\n"
             "scenarios   the scenario library (default folder: scenarios/)");
    int code = EXIT_OK;
    if (!cli_parse_options(ctx, &argc, &argv)) {
        code = EXIT_USAGE;
        goto out;
    }
    const char *what = argc >= 2 ? argv[1] : NULL;
    SimSchema *schema = ps_schema_new();
    if (what && !strcmp(what, "keys") && argc == 2) {
        g_autoptr(GString) text = markdown ? sim_schema_describe_markdown(schema)
                                           : sim_schema_describe_text(schema);
        fputs(text->str, stdout);
    } else if (what && !strcmp(what, "allocators") && argc == 2) {
        list_allocators();
    } else if (what && !strcmp(what, "presets") && argc == 2) {
        list_presets(schema);
    } else if (what && !strcmp(what, "scenarios") && argc <= 3) {
        code = list_scenarios(argc == 3 ? argv[2] : "scenarios");
    } else {
        fprintf(stderr, "portsim list: expected one of keys, allocators, presets, scenarios "
                        "(see --help)\n");
        code = EXIT_USAGE;
    }
    sim_schema_free(schema);
out:
    g_option_context_free(ctx);
    return code;
}
