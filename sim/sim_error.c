#include "sim_error.h"

G_DEFINE_QUARK(portsim-error-quark, sim_error)
