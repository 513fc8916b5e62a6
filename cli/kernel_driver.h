/* Runs a KrPlan on the real kernel: a child process in a fresh network
 * namespace (unshare(CLONE_NEWNET)) sets the plan's sysctls, listens on
 * every destination and opens real sockets on the workloads' schedule. The
 * namespace dies with the child, which never outlives the run: it stops at
 * the plan's duration, on SIGINT/SIGTERM, or when its parent dies. */
#ifndef PS_CLI_KERNEL_DRIVER_H
#define PS_CLI_KERNEL_DRIVER_H

#include <glib.h>

#include "kernel_plan.h"

typedef enum {
    KR_OK,
    KR_NO_PERMISSION, /* unshare(CLONE_NEWNET) refused: not root / no CAP_SYS_ADMIN */
    KR_FAILED,        /* set-up or I/O failure; message on stderr */
    KR_INTERRUPTED,   /* SIGINT/SIGTERM: partial files written */
} KrStatus;

/* Writes into dir: kernel.csv (one row per second: attempts, successes,
 * failures by errno, established and TIME_WAIT sockets from /proc/net/tcp),
 * ports.csv (every local port connect()/bind() chose, in order) and
 * kernel.json (totals, exact first failure time, sysctls, kernel release). */
KrStatus kr_execute(KrPlan *plan, const char *dir);

#endif
