/* Exhaustion-curve plots: data and a gnuplot script a user can restyle,
 * rendered to SVG and PNG by running gnuplot on that same script. */
#include "exhaustion_plot.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "output.h"
#include "sim_error.h"

gboolean plot_gnuplot_available(void)
{
    g_autofree char *path = g_find_program_in_path("gnuplot");
    return path != NULL;
}

/* Numbers go through g_ascii_formatd so a user's locale never turns the
 * decimal point into a comma that gnuplot would misread. Non-finite values
 * are written as NaN, which gnuplot treats as a missing point. */
static void append_number(GString *out, double v)
{
    if (!isfinite(v)) {
        g_string_append(out, "NaN");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.10g", v));
}

/* A gnuplot single-quoted string: no backslash escapes are processed inside
 * one, so only the quote itself needs doubling. A line break would end the
 * command, so control characters become spaces. */
static void append_quoted(GString *out, const char *text)
{
    g_string_append_c(out, '\'');
    for (const char *p = text ? text : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\'')
            g_string_append(out, "''");
        else if (c < 0x20 || c == 0x7f)
            g_string_append_c(out, ' ');
        else
            g_string_append_c(out, (char)c);
    }
    g_string_append_c(out, '\'');
}

static gboolean find_columns(const char *name, const PlotExhaustionSpec *spec, int cols[3],
                             GError **error)
{
    const char *wanted[3] = {spec->col_active, spec->col_time_wait, spec->col_failures};
    for (int i = 0; i < 3; i++) {
        cols[i] = wanted[i] ? sim_series_find_column(spec->series, wanted[i]) : -1;
        if (cols[i] < 0) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                        "plot %s: the time series has no column \"%s\"", name,
                        wanted[i] ? wanted[i] : "(null)");
            return FALSE;
        }
    }
    return TRUE;
}

/* What the script needs to know about the data to fix its axes. */
typedef struct {
    double t_min, t_max;  /* x range; NAN when there are no rows */
    double stack_max;     /* highest active + time_wait */
    double fail_max;      /* highest failure rate */
} DataExtent;

static GString *build_dat(const char *name, const PlotExhaustionSpec *spec, const int cols[3],
                          DataExtent *ext)
{
    const SimSeries *s = spec->series;
    GString *out = g_string_new(NULL);
    g_string_append_printf(out,
                           "# portsim exhaustion curve: %s\n"
                           "# from series columns: active=%s time_wait=%s failures_per_s=%s\n"
                           "# time_s active time_wait failures_per_s\n",
                           name, spec->col_active, spec->col_time_wait, spec->col_failures);
    *ext = (DataExtent){NAN, NAN, 0.0, 0.0};
    guint n = sim_series_n_rows(s);
    for (guint r = 0; r < n; r++) {
        double t = sim_time_to_seconds(sim_series_row_time(s, r));
        double active = sim_series_value(s, r, (guint)cols[0]);
        double tw = sim_series_value(s, r, (guint)cols[1]);
        double fail = sim_series_value(s, r, (guint)cols[2]);
        append_number(out, t);
        g_string_append_c(out, ' ');
        append_number(out, active);
        g_string_append_c(out, ' ');
        append_number(out, tw);
        g_string_append_c(out, ' ');
        append_number(out, fail);
        g_string_append_c(out, '\n');

        /* fmin/fmax ignore a NAN operand, so the first row seeds the range. */
        ext->t_min = fmin(ext->t_min, t);
        ext->t_max = fmax(ext->t_max, t);
        double stack = (isfinite(active) ? active : 0.0) + (isfinite(tw) ? tw : 0.0);
        ext->stack_max = fmax(ext->stack_max, stack);
        if (isfinite(fail))
            ext->fail_max = fmax(ext->fail_max, fail);
    }
    return out;
}

/* Appends `name = value` as a gnuplot number assignment. */
static void append_assign(GString *out, const char *var, double v)
{
    g_string_append_printf(out, "%s = ", var);
    append_number(out, v);
    g_string_append_c(out, '\n');
}

static GString *build_gp(const char *name, const PlotExhaustionSpec *spec, const DataExtent *ext)
{
    g_autofree char *dat = g_strconcat(name, ".dat", NULL);
    g_autofree char *svg = g_strconcat(name, ".svg", NULL);
    g_autofree char *png = g_strconcat(name, ".png", NULL);
    gboolean has_cap = isfinite(spec->capacity) && spec->capacity > 0;
    gboolean has_ff = isfinite(spec->first_failure_s);

    /* Fixed ranges keep an empty or flat series from being a gnuplot error. */
    double t0 = isfinite(ext->t_min) ? ext->t_min : 0.0;
    double t1 = isfinite(ext->t_max) ? ext->t_max : 1.0;
    if (t1 <= t0)
        t1 = t0 + 1.0;
    double top = fmax(has_cap ? spec->capacity : 0.0, ext->stack_max) * 1.1;
    if (!(top > 0))
        top = 1.0;

    GString *gp = g_string_new(NULL);
    g_string_append_printf(gp,
                           "# portsim exhaustion curve \"%s\"; edit freely and re-run:\n"
                           "#   gnuplot %s.gp      (writes %s and %s)\n"
                           "# Data columns in %s: 1 time_s, 2 active, 3 time_wait, "
                           "4 failures_per_s\n\n",
                           name, name, svg, png, dat);

    /* portsim renders to temporary names by passing these with -e and
     * renames the results into place, so a crash never leaves half a file. */
    g_string_append(gp, "if (!exists(\"svgout\")) svgout = ");
    append_quoted(gp, svg);
    g_string_append(gp, "\nif (!exists(\"pngout\")) pngout = ");
    append_quoted(gp, png);
    g_string_append(gp, "\ndatafile = ");
    append_quoted(gp, dat);
    g_string_append(gp, "\n\n");

    append_assign(gp, "capacity", has_cap ? spec->capacity : NAN);
    append_assign(gp, "first_failure", has_ff ? spec->first_failure_s : NAN);
    append_assign(gp, "tmin", t0);
    append_assign(gp, "tmax", t1);
    append_assign(gp, "ymax", top);
    g_string_append(gp,
                    "\n"
                    "c_active   = '#3B75AF'  # connecting/established: steel blue\n"
                    "c_tw       = '#F39C34'  # TIME_WAIT: orange\n"
                    "c_fail     = '#D62728'  # failed attempts: red\n"
                    "c_capacity = '#2B2B2B'\n"
                    "c_mark     = '#7A1F1F'\n\n"
                    "set encoding utf8\n");

    /* Titles are user text: noenhanced keeps underscores and carets literal. */
    g_string_append(gp, "set title ");
    append_quoted(gp, spec->title ? spec->title : name);
    g_string_append(gp, " noenhanced font ',15'");
    if (spec->subtitle && *spec->subtitle) {
        /* Room for the smaller second line, drawn as a label under the title. */
        g_string_append(gp, " offset 0,1.2\nset label 100 ");
        append_quoted(gp, spec->subtitle);
        g_string_append(gp, " at graph 0.5, graph 1 center offset 0,1.3 "
                            "font ',10' tc rgb '#555555' noenhanced\n"
                            "set tmargin 5\n");
    } else {
        g_string_append(gp, "\nset tmargin 3\n");
    }

    const char *fail_label = spec->failures_label ? spec->failures_label : "failed attempts / s";
    g_string_append(gp,
                    "set xlabel 'time (s)' offset 0,0.4\n"
                    "set ylabel '4-tuples in use'\n");
    g_string_append_printf(gp, "set y2label '%s' tc rgb c_fail\n", fail_label);
    g_string_append(gp,
                    "set xrange [tmin:tmax]\n"
                    "set yrange [0:ymax]\n"
                    "set ytics nomirror\n"
                    "set y2tics nomirror tc rgb c_fail\n"
                    "set format y '%.0f'\n"
                    "set border 3 + 8 lw 1 lc rgb '#444444'\n"
                    /* A mostly transparent grid in front shows faintly on the fills. */
                    "set grid xtics ytics front lt 1 lw 1 lc rgb '#E2000000'\n"
                    /* Below the plot, two by two: never over the data. */
                    "set key below center horizontal maxcols 2 reverse Left samplen 3 "
                    "width 3 spacing 1.15 noenhanced\n"
                    "set style fill solid 0.9 noborder\n");
    /* Headroom keeps failure peaks off the top border and the labels there;
     * with no failures the axis still shows, from 0 to 1. */
    append_assign(gp, "y2max", ext->fail_max > 0 ? ext->fail_max * 1.2 : 1.0);
    g_string_append(gp, "set y2range [0:y2max]\n");

    /* Both labels sit in the band above the capacity line; they take
     * opposite sides so an early first failure does not collide with the
     * capacity label, and a late one stays inside the plot. */
    double ff_frac = has_ff ? (spec->first_failure_s - t0) / (t1 - t0) : 1.0;
    if (has_cap) {
        gboolean cap_right = ff_frac < 0.5;
        g_string_append(gp, "set label 101 ");
        append_quoted(gp, spec->capacity_label ? spec->capacity_label : "capacity");
        g_string_append_printf(gp, " at graph %s, first capacity %s offset 0,0.7 "
                                   "tc rgb c_capacity front noenhanced\n",
                               cap_right ? "0.99" : "0.01", cap_right ? "right" : "left");
    }
    if (has_ff) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_autofree char *text = g_strdup_printf(
            "first failure t=%ss", g_ascii_formatd(buf, sizeof buf, "%.1f",
                                                   spec->first_failure_s));
        gboolean left = ff_frac > 0.6;
        g_string_append(gp, "set arrow 102 from first first_failure, graph 0 to first "
                            "first_failure, graph 1 nohead dt 2 lw 1.5 lc rgb c_mark front\n"
                            "set label 102 ");
        append_quoted(gp, text);
        g_string_append_printf(gp, " at first first_failure, graph 0.96 %s offset %s,0 "
                                   "tc rgb c_mark front noenhanced\n",
                               left ? "right" : "left", left ? "-0.6" : "0.6");
    }

    if (spec->n_marks)
        g_string_append(gp, "set style textbox opaque noborder fillcolor rgb 'white'\n");
    for (guint i = 0; i < spec->n_marks && i < 50; i++) {
        double t = spec->mark_times[i];
        if (!isfinite(t) || t < t0 || t > t1)
            continue;
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(buf, sizeof buf, "%.9g", t);
        /* Labels read upward from the bottom on an opaque box, clear of the
         * capacity and first-failure labels at the top. */
        g_string_append_printf(gp, "set arrow %u from first %s, graph 0 to first %s, graph 1 "
                                   "nohead dt 3 lw 1.2 lc rgb '#555555' front\n"
                                   "set label %u ",
                               200 + i, buf, buf, 200 + i);
        append_quoted(gp, spec->mark_labels && spec->mark_labels[i] ? spec->mark_labels[i] : "");
        g_string_append_printf(gp, " at first %s, graph 0.03 rotate by 90 left offset -0.6,0 "
                                   "boxed tc rgb '#333333' font ',9' front noenhanced\n",
                               buf);
    }

    g_string_append(gp,
                    "\n"
                    "# The white line under the red one is a halo that keeps the failure\n"
                    "# rate readable where it crosses the filled areas.\n"
                    "set terminal svg size 1000,560 dynamic enhanced font 'sans,11' "
                    "background rgb 'white'\n"
                    "set output svgout\n"
                    "plot datafile using 1:(0):2 with filledcurves lc rgb c_active "
                    "title 'connecting / established', \\\n"
                    "     '' using 1:2:($2+$3) with filledcurves lc rgb c_tw "
                    "title 'TIME_WAIT', \\\n");
    if (has_cap)
        g_string_append(gp, "     capacity with lines dt 2 lw 2 lc rgb c_capacity "
                            "title 'capacity', \\\n");
    g_string_append(gp,
                    "     '' using 1:4 axes x1y2 with lines lw 5 lc rgb 'white' notitle, \\\n"
                    "     '' using 1:4 axes x1y2 with lines lw 2.5 lc rgb c_fail ");
    g_string_append_printf(gp, "title '%s'\n", fail_label);
    g_string_append(gp,
                    "\n"
                    "set terminal pngcairo size 1000,560 enhanced font 'sans,11' "
                    "background rgb 'white'\n"
                    "set output pngout\n"
                    "replot\n"
                    "unset output\n");
    return gp;
}

gboolean plot_run_gnuplot(const char *gnuplot, const char *dir, const char *name,
                            GError **error)
{
    g_autofree char *svg_tmp = g_strconcat(name, ".svg.tmp", NULL);
    g_autofree char *png_tmp = g_strconcat(name, ".png.tmp", NULL);
    g_autofree char *script = g_strconcat(name, ".gp", NULL);

    g_autoptr(GString) vars = g_string_new("svgout = ");
    append_quoted(vars, svg_tmp);
    g_string_append(vars, "; pngout = ");
    append_quoted(vars, png_tmp);

    const char *argv[] = {gnuplot, "-e", vars->str, script, NULL};
    g_autofree char *err_text = NULL;
    int status = 0;
    g_autoptr(GError) spawn_error = NULL;
    gboolean ok = g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err_text, &status, &spawn_error);
    if (ok)
        ok = g_spawn_check_wait_status(status, &spawn_error);

    g_autofree char *svg_tmp_path = g_build_filename(dir, svg_tmp, NULL);
    g_autofree char *png_tmp_path = g_build_filename(dir, png_tmp, NULL);
    if (!ok) {
        g_unlink(svg_tmp_path);
        g_unlink(png_tmp_path);
        const char *detail = err_text ? g_strstrip(err_text) : "";
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "plot %s: gnuplot failed (%s)%s%s",
                    name, spawn_error->message, *detail ? ": " : "", detail);
        return FALSE;
    }

    const char *tmps[2] = {svg_tmp_path, png_tmp_path};
    const char *exts[2] = {".svg", ".png"};
    for (int i = 0; i < 2; i++) {
        g_autofree char *final = g_strconcat(dir, G_DIR_SEPARATOR_S, name, exts[i], NULL);
        if (g_rename(tmps[i], final) != 0) {
            int e = errno;
            g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME,
                        "plot %s: cannot move %s into place: %s", name, tmps[i],
                        g_strerror(e));
            g_unlink(svg_tmp_path);
            g_unlink(png_tmp_path);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean plot_exhaustion(const char *dir, const char *name, const PlotExhaustionSpec *spec,
                         GError **error)
{
    g_return_val_if_fail(dir && name && spec && spec->series, FALSE);

    /* The name becomes file names and gnuplot strings: no folders, and no
     * control characters that would break a script line. */
    gboolean name_ok = *name != '\0' && strchr(name, G_DIR_SEPARATOR) == NULL;
    for (const char *p = name; name_ok && *p; p++)
        name_ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
    if (!name_ok) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "plot name \"%s\" must be a plain file name", name);
        return FALSE;
    }

    int cols[3];
    if (!find_columns(name, spec, cols, error))
        return FALSE;

    DataExtent ext;
    g_autoptr(GString) dat = build_dat(name, spec, cols, &ext);
    g_autoptr(GString) gp = build_gp(name, spec, &ext);

    g_autofree char *dat_path = g_strconcat(dir, G_DIR_SEPARATOR_S, name, ".dat", NULL);
    g_autofree char *gp_path = g_strconcat(dir, G_DIR_SEPARATOR_S, name, ".gp", NULL);
    if (!sim_output_mkdir(dir, error) ||
        !sim_output_write(dat_path, dat->str, (gssize)dat->len, error) ||
        !sim_output_write(gp_path, gp->str, (gssize)gp->len, error))
        return FALSE;

    g_autofree char *gnuplot = g_find_program_in_path("gnuplot");
    if (!gnuplot) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME,
                    "gnuplot not found on PATH; wrote %s.gp and %s.dat, run `gnuplot %s.gp` "
                    "to render",
                    name, name, name);
        return FALSE;
    }
    return plot_run_gnuplot(gnuplot, dir, name, error);
}
