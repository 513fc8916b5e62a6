/* Building blocks of the report pages (private to report/): escaping,
 * templates compiled in as GResources, and the recurring fragments. */
#ifndef PS_REPORT_HTML_H
#define PS_REPORT_HTML_H

#include <glib.h>

char *ps_html_escape(const char *text);
/* A file of report/templates/, compiled into the program. */
char *ps_html_resource(const char *name);
/* Replaces every {{key}} of the template by its fragment (already HTML). */
GString *ps_html_fill(const char *template_text, GHashTable *fragments);
/* Fills the template with the fragments (freeing the table) and writes the
 * page atomically. */
gboolean ps_html_write_page(const char *path, const char *template_name, GHashTable *fragments,
                            GError **error);
/* <tag>escaped text</tag> */
void ps_html_cell(GString *html, const char *tag, const char *text);
/* An SVG as an <img> with a data: URI, its alt text and caption. Several
 * gnuplot SVGs on one page cannot then clash over element ids. */
char *ps_html_figure(const char *svg, gsize len, const char *alt_text);
/* The [expect] box: first and red when broken, else last and green; "" for
 * no text. */
char *ps_html_expect(const char *text, gboolean broken);

#endif
