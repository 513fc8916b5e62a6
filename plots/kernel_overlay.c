/* Kernel-vs-simulation overlay: one data file, one editable script. */
#include "kernel_overlay.h"

#include <math.h>

#include "exhaustion_plot.h"
#include "output.h"
#include "sim_error.h"

static void append_number(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(out, isfinite(v) ? g_ascii_formatd(buf, sizeof buf, "%.10g", v) : "NaN");
}

/* gnuplot single-quoted strings process no escapes: double the quote, and
 * keep control characters from ending the command. */
static void append_quoted(GString *out, const char *text)
{
    g_string_append_c(out, '\'');
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '\'')
            g_string_append(out, "''");
        else
            g_string_append_c(out, (unsigned char)*p < 0x20 ? ' ' : *p);
    }
    g_string_append_c(out, '\'');
}

static GString *build_dat(const PlotKernelOverlaySpec *s, double *tw_max, double *succ_max)
{
    GString *out = g_string_new("# portsim kernel overlay\n"
                                "# time_s kernel_time_wait sim_time_wait "
                                "kernel_successes_per_s sim_successes_per_s\n");
    *tw_max = 0;
    *succ_max = 0;
    for (guint i = 0; i < s->n; i++) {
        const double row[5] = {s->time_s[i], s->kernel_time_wait[i], s->sim_time_wait[i],
                               s->kernel_successes[i], s->sim_successes[i]};
        for (int c = 0; c < 5; c++) {
            if (c)
                g_string_append_c(out, ' ');
            append_number(out, row[c]);
        }
        g_string_append_c(out, '\n');
        *tw_max = fmax(*tw_max, fmax(row[1], row[2]));
        *succ_max = fmax(*succ_max, fmax(row[3], row[4]));
    }
    return out;
}

static GString *build_gp(const char *name, const PlotKernelOverlaySpec *s, double tw_max,
                         double succ_max)
{
    GString *gp = g_string_new(NULL);
    g_string_append_printf(gp,
                           "# portsim kernel-vs-simulation overlay; edit and re-run:\n"
                           "#   gnuplot %s.gp\n"
                           "# %s.dat: 1 time_s, 2 kernel TIME_WAIT, 3 simulated TIME_WAIT,\n"
                           "#   4 kernel successes/s, 5 simulated successes/s\n\n",
                           name, name);
    g_string_append_printf(gp, "if (!exists(\"svgout\")) svgout = '%s.svg'\n"
                               "if (!exists(\"pngout\")) pngout = '%s.png'\n"
                               "datafile = '%s.dat'\n",
                           name, name, name);
    g_string_append(gp, "ymax = ");
    append_number(gp, tw_max > 0 ? tw_max * 1.15 : 1.0);
    g_string_append(gp, "\ny2max = ");
    append_number(gp, succ_max > 0 ? succ_max * 1.3 : 1.0);
    double tmax = s->n ? s->time_s[s->n - 1] : 1.0;
    g_string_append(gp, "\ntmax = ");
    append_number(gp, tmax > 0 ? tmax : 1.0);
    g_string_append(gp, "\n\nset encoding utf8\nset title ");
    append_quoted(gp, s->title ? s->title : name);
    g_string_append(gp, " noenhanced font ',14'\n");
    if (s->subtitle && *s->subtitle) {
        g_string_append(gp, "set label 100 ");
        append_quoted(gp, s->subtitle);
        g_string_append(gp, " at graph 0.5, graph 1 center offset 0,0.8 font ',10' "
                            "tc rgb '#555555' noenhanced\nset tmargin 5\n");
    }
    g_string_append(
        gp,
        "set xlabel 'time (s)'\n"
        "set ylabel 'sockets in TIME_WAIT' noenhanced\n"
        "set y2label 'successful connections / s'\n"
        "set xrange [0:tmax]\nset yrange [0:ymax]\nset y2range [0:y2max]\n"
        "set ytics nomirror\nset y2tics nomirror\n"
        "set grid xtics ytics lc rgb '#DDDDDD'\n"
        "set key below center horizontal maxcols 2 noenhanced\n"
        "c_tw = '#F39C34'\nc_ok = '#3B75AF'\n\n"
        "set terminal svg size 1000,560 dynamic enhanced font 'sans,11' "
        "background rgb 'white'\n"
        "set output svgout\n"
        "# Kernel: solid; simulation: dashed, same colour per quantity.\n"
        "plot datafile using 1:2 with lines lw 2.5 lc rgb c_tw title 'TIME_WAIT, kernel', \\\n"
        "     '' using 1:3 with lines lw 2 dt 2 lc rgb '#8A4F00' title 'TIME_WAIT, simulation', \\\n"
        "     '' using 1:4 axes x1y2 with steps lw 2 lc rgb c_ok title 'successes/s, kernel', \\\n"
        "     '' using 1:5 axes x1y2 with steps lw 1.5 dt 2 lc rgb '#1B3B5F' "
        "title 'successes/s, simulation'\n\n"
        "set terminal pngcairo size 1000,560 enhanced font 'sans,11' background rgb 'white'\n"
        "set output pngout\nreplot\nunset output\n");
    return gp;
}

gboolean plot_kernel_overlay(const char *dir, const char *name,
                             const PlotKernelOverlaySpec *spec, GError **error)
{
    g_return_val_if_fail(dir && name && spec, FALSE);
    double tw_max, succ_max;
    g_autoptr(GString) dat = build_dat(spec, &tw_max, &succ_max);
    g_autoptr(GString) gp = build_gp(name, spec, tw_max, succ_max);
    g_autofree char *dat_path = g_strconcat(dir, G_DIR_SEPARATOR_S, name, ".dat", NULL);
    g_autofree char *gp_path = g_strconcat(dir, G_DIR_SEPARATOR_S, name, ".gp", NULL);
    if (!sim_output_mkdir(dir, error) ||
        !sim_output_write(dat_path, dat->str, (gssize)dat->len, error) ||
        !sim_output_write(gp_path, gp->str, (gssize)gp->len, error))
        return FALSE;
    g_autofree char *gnuplot = g_find_program_in_path("gnuplot");
    if (!gnuplot) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME,
                    "gnuplot not found on PATH; wrote %s.gp and %s.dat", name, name);
        return FALSE;
    }
    return plot_run_gnuplot(gnuplot, dir, name, error);
}
