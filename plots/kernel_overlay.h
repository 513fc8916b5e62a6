/* The kernel-vs-simulation overlay of `portsim kernel`: TIME_WAIT sockets
 * (left axis) and successful connections per second (right axis) over
 * time, the kernel's measured curves against the simulator's. Writes
 * NAME.dat, NAME.gp, NAME.svg and NAME.png like plot_exhaustion(). */
#ifndef PLOT_KERNEL_OVERLAY_H
#define PLOT_KERNEL_OVERLAY_H

#include <glib.h>

typedef struct {
    const char *title;
    const char *subtitle; /* may be NULL */
    guint n;              /* rows */
    const double *time_s; /* end of each one-second interval */
    const double *kernel_time_wait, *sim_time_wait;
    const double *kernel_successes, *sim_successes; /* per second */
} PlotKernelOverlaySpec;

/* Without gnuplot the .dat and .gp are written and SIM_ERROR_RUNTIME says
 * so. */
gboolean plot_kernel_overlay(const char *dir, const char *name,
                             const PlotKernelOverlaySpec *spec, GError **error);

#endif
