#include "html.h"

#include <gio/gio.h>
#include <string.h>

#include "output.h"
#include "report-resources.h"

#define RESOURCE_DIR "/org/portsim/report/templates/"

char *ps_html_escape(const char *text) { return g_markup_escape_text(text ? text : "", -1); }

char *ps_html_resource(const char *name)
{
    g_autofree char *path = g_strconcat(RESOURCE_DIR, name, NULL);
    /* Looked up in our own resource, not the global registry: a static
     * link may drop the object whose constructor would register it. */
    GBytes *bytes = g_resource_lookup_data(ps_report_get_resource(), path,
                                           G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
    /* The resources are compiled into the program: missing is a build bug. */
    if (!bytes)
        g_error("report template %s is not compiled in", path);
    gsize len;
    const char *data = g_bytes_get_data(bytes, &len);
    char *text = g_strndup(data, len);
    g_bytes_unref(bytes);
    return text;
}

GString *ps_html_fill(const char *template_text, GHashTable *fragments)
{
    GString *out = g_string_new(NULL);
    const char *p = template_text;
    const char *open;
    while ((open = strstr(p, "{{"))) {
        const char *close = strstr(open, "}}");
        if (!close)
            break;
        g_string_append_len(out, p, open - p);
        g_autofree char *key = g_strndup(open + 2, close - open - 2);
        const char *value = g_hash_table_lookup(fragments, key);
        if (!value)
            g_critical("report template: no value for {{%s}}", key);
        g_string_append(out, value ? value : "");
        p = close + 2;
    }
    g_string_append(out, p);
    return out;
}

gboolean ps_html_write_page(const char *path, const char *template_name, GHashTable *fragments,
                            GError **error)
{
    g_autofree char *template_text = ps_html_resource(template_name);
    GString *page = ps_html_fill(template_text, fragments);
    g_hash_table_destroy(fragments);
    gboolean ok = sim_output_write(path, page->str, (gssize)page->len, error);
    g_string_free(page, TRUE);
    return ok;
}

void ps_html_cell(GString *html, const char *tag, const char *text)
{
    g_autofree char *e = ps_html_escape(text);
    g_string_append_printf(html, "<%s>%s</%s>", tag, e, tag);
}

char *ps_html_figure(const char *svg, gsize len, const char *alt_text)
{
    g_autofree char *b64 = g_base64_encode((const guchar *)svg, len);
    g_autofree char *alt = ps_html_escape(alt_text);
    return g_strdup_printf("<figure><img src=\"data:image/svg+xml;base64,%s\" alt=\"%s\">"
                           "<figcaption>%s</figcaption></figure>\n",
                           b64, alt, alt);
}

char *ps_html_expect(const char *text, gboolean broken)
{
    if (!text)
        return g_strdup("");
    g_autofree char *e = ps_html_escape(text);
    return g_strdup_printf("<section class=\"expect%s\" aria-label=\"Expectations\"><h2>%s</h2>"
                           "<pre>%s</pre></section>",
                           broken ? "" : " passed",
                           broken ? "Broken expectations" : "Expectations", e);
}
