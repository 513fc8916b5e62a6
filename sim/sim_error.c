#include "sim_error.h"

#include <stdarg.h>

G_DEFINE_QUARK(portsim-error-quark, sim_error)

gboolean sim_input_error(GError **error, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error_literal(error, SIM_ERROR, SIM_ERROR_INPUT, message);
    g_free(message);
    return FALSE;
}
