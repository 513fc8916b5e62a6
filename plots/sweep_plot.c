/* Sweep curves: data blocks per curve and a gnuplot script with error bars. */
#include "sweep_plot.h"

#include <math.h>
#include <string.h>

#include "exhaustion_plot.h"
#include "output.h"
#include "sim_error.h"

static void number(GString *out, double v)
{
    if (!isfinite(v)) {
        g_string_append(out, "NaN"); /* gnuplot skips it */
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
}

/* gnuplot single-quoted: only the quote doubles; control characters would
 * end the command. */
static void quoted(GString *out, const char *text)
{
    g_string_append_c(out, '\'');
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '\'')
            g_string_append(out, "''");
        else if ((unsigned char)*p < 0x20)
            g_string_append_c(out, ' ');
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\'');
}

gboolean sweep_plot(const char *dir, const SweepPlotSpec *spec, GError **error)
{
    g_autofree char *dat_name = g_strconcat(spec->name, ".dat", NULL);
    g_autofree char *gp_name = g_strconcat(spec->name, ".gp", NULL);
    /* data: one block per curve (gnuplot `index`), columns x, mean, low,
     * high, theory */
    GString *dat = g_string_new(NULL);
    g_string_append_printf(dat, "# portsim sweep: %s against %s\n# x mean ci95_low ci95_high "
                                "theory\n", spec->name, spec->x_label);
    for (guint c = 0; c < spec->n_curves; c++) {
        if (c)
            g_string_append(dat, "\n\n");
        for (guint i = 0; i < spec->n_x; i++) {
            guint k = c * spec->n_x + i;
            double m = spec->mean[k], hw = isnan(spec->half_width[k]) ? 0 : spec->half_width[k];
            number(dat, spec->x[i]);
            g_string_append_c(dat, ' ');
            number(dat, m);
            g_string_append_c(dat, ' ');
            number(dat, m - hw);
            g_string_append_c(dat, ' ');
            number(dat, m + hw);
            g_string_append_c(dat, ' ');
            number(dat, spec->theory ? spec->theory[k] : NAN);
            g_string_append_c(dat, '\n');
        }
    }
    GString *gp = g_string_new(NULL);
    g_string_append_printf(gp, "# portsim sweep plot; edit freely and re-run: gnuplot %s\n",
                           gp_name);
    g_string_append(gp, "if (!exists(\"svgout\")) svgout = ");
    g_autofree char *svg = g_strconcat(spec->name, ".svg", NULL);
    g_autofree char *png = g_strconcat(spec->name, ".png", NULL);
    quoted(gp, svg);
    g_string_append(gp, "\nif (!exists(\"pngout\")) pngout = ");
    quoted(gp, png);
    g_string_append(gp, "\ndatafile = ");
    quoted(gp, dat_name);
    g_string_append(gp, "\nset title ");
    g_autofree char *title = g_strdup_printf("%s: %s against %s (mean, 95%% interval)",
                                             spec->title, spec->y_label, spec->x_label);
    quoted(gp, title);
    g_string_append(gp, " noenhanced\nset xlabel ");
    quoted(gp, spec->x_label);
    g_string_append(gp, " noenhanced\nset ylabel ");
    quoted(gp, spec->y_label);
    g_string_append(gp, " noenhanced\nset key top left noenhanced\nset grid\n"
                        "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n");
    /* An interval reaching below 0 says "near 0", not a negative ratio. */
    if (spec->nonnegative)
        g_string_append(gp, "set yrange [0:*]\n");
    if (spec->x_labels) {
        g_string_append(gp, "set xtics (");
        for (guint i = 0; i < spec->n_x; i++) {
            if (i)
                g_string_append(gp, ", ");
            quoted(gp, spec->x_labels[i]);
            g_string_append_printf(gp, " %u", i);
        }
        g_string_append(gp, ")\n");
    }
    if (isfinite(spec->threshold)) {
        g_string_append(gp, "threshold = ");
        number(gp, spec->threshold);
        g_string_append(gp, "\nset arrow from graph 0, first threshold to graph 1, first "
                            "threshold nohead dt 3 lc rgb '#888888'\n");
    }
    if (isfinite(spec->knee_x)) {
        g_string_append(gp, "knee = ");
        number(gp, spec->knee_x);
        g_string_append(gp, "\nset arrow from first knee, graph 0 to first knee, graph 1 "
                            "nohead dt 2 lc rgb '#d62728'\nset label 'knee' at first knee, "
                            "graph 0.95 offset 0.5,0 tc rgb '#d62728'\n");
    }
    g_string_append(gp, "set terminal svg size 900,520 dynamic enhanced font 'sans,11' "
                        "background rgb 'white'\nset output svgout\nplot ");
    for (guint c = 0; c < spec->n_curves; c++) {
        const char *t = spec->curve_titles && spec->curve_titles[c] && *spec->curve_titles[c]
                            ? spec->curve_titles[c]
                            : "simulated";
        g_string_append_printf(gp, "%sdatafile index %u using 1:2:3:4 with yerrorlines lw 2 "
                                   "pt 7 ps 0.6 title ",
                               c ? ", \\\n     " : "", c);
        quoted(gp, t);
    }
    if (spec->theory)
        for (guint c = 0; c < spec->n_curves; c++) {
            g_string_append_printf(gp, ", \\\n     datafile index %u using 1:5 with lines dt 2 "
                                       "lw 2 lc rgb '#333333' title ",
                                   c);
            quoted(gp, c == 0 ? spec->theory_label : "");
        }
    g_string_append(gp, "\nset terminal pngcairo size 900,520 enhanced font 'sans,11' "
                        "background rgb 'white'\nset output pngout\nreplot\nunset output\n");

    g_autofree char *dat_path = g_build_filename(dir, dat_name, NULL);
    g_autofree char *gp_path = g_build_filename(dir, gp_name, NULL);
    gboolean ok = sim_output_write(dat_path, dat->str, (gssize)dat->len, error) &&
                  sim_output_write(gp_path, gp->str, (gssize)gp->len, error);
    g_string_free(dat, TRUE);
    g_string_free(gp, TRUE);
    if (!ok)
        return FALSE;
    g_autofree char *gnuplot = g_find_program_in_path("gnuplot");
    if (gnuplot == NULL) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME,
                    "gnuplot is not installed: %s and %s written, no images", dat_name,
                    gp_name);
        return FALSE;
    }
    return plot_run_gnuplot(gnuplot, dir, spec->name, error);
}
