/* The demand side of a workload: requests, their retries, and closed-loop
 * users.
 *
 * A request is a first attempt plus the retries its failures cause (up to
 * max_attempts in all). Open-loop arrivals start requests on their own
 * clock; closed-loop users each run max_connections_per_user loops of
 * "request, wait for its end, think". A request ends when its connection
 * is closed by the client application (it has its answer) or when it gives
 * up. Attempts never start from inside a TCP callback: each is an event. */
#include "network_internal.h"

#include <math.h>
#include <string.h>

#include "sim_error.h"

/* Event argument: the loop (user slot) in the high half, the attempt number
 * in the low half. */
#define PACK(user, attempt) (((uint64_t)(user) << 32) | (uint32_t)(attempt))
#define USER_OF(arg) ((uint32_t)((arg) >> 32))
#define ATTEMPT_OF(arg) ((uint32_t)((arg) & 0xffffffffu))

/* "fixed(2s)" or "exponential(100ms, 10s, 0.5)" into out. */
static gboolean parse_call(const char *t, PsRetry *out)
{
    const char *open = strchr(t, '(');
    size_t n = strlen(t);
    if (!open || n < 2 || t[n - 1] != ')')
        return FALSE;
    g_autofree char *name = g_strstrip(g_strndup(t, (gsize)(open - t)));
    g_autofree char *inner = g_strndup(open + 1, n - (gsize)(open - t) - 2);
    g_auto(GStrv) args = g_strsplit(inner, ",", -1);
    guint nargs = g_strv_length(args);
    for (guint i = 0; i < nargs; i++)
        g_strstrip(args[i]);
    if (strcmp(name, "fixed") == 0 && nargs == 1) {
        out->kind = PS_RETRY_FIXED;
        return sim_parse_duration(args[0], &out->base, NULL);
    }
    if (strcmp(name, "exponential") == 0 && nargs == 3) {
        out->kind = PS_RETRY_EXPONENTIAL;
        return sim_parse_duration(args[0], &out->base, NULL) &&
               sim_parse_duration(args[1], &out->cap, NULL) &&
               sim_parse_float(args[2], &out->jitter, NULL) && out->jitter >= 0 &&
               out->jitter <= 1 && out->cap >= out->base;
    }
    return FALSE;
}

gboolean ps_retry_parse(const char *text, PsRetry *out, GError **error)
{
    memset(out, 0, sizeof *out);
    g_autofree char *t = g_strstrip(g_strdup(text));
    if (strcmp(t, "none") == 0)
        out->kind = PS_RETRY_NONE;
    else if (strcmp(t, "immediate") == 0)
        out->kind = PS_RETRY_IMMEDIATE;
    else if (!parse_call(t, out)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT,
                    "expected none, immediate, fixed(DURATION) or exponential(BASE, CAP, "
                    "JITTER) with BASE <= CAP and JITTER in [0, 1], e.g. "
                    "exponential(100ms, 10s, 0.5); got \"%s\"",
                    text);
        return FALSE;
    }
    return TRUE;
}

/* The wait before attempt `next` (2, 3, ...). Exponential: base x 2^(k-1)
 * after the k-th failure, capped, of which a `jitter` share is drawn
 * uniformly ("full jitter" at 1). */
static SimTime retry_delay(PsWorkload *wl, uint32_t next)
{
    const PsRetry *r = &wl->retry;
    switch (r->kind) {
    case PS_RETRY_FIXED:
        return r->base;
    case PS_RETRY_EXPONENTIAL: {
        double d = (double)r->base * ldexp(1.0, (int)MIN(next - 2, 60u));
        d = MIN(d, (double)r->cap);
        if (r->jitter > 0)
            d = d * (1 - r->jitter) + d * r->jitter * sim_rng_uniform(&wl->rng);
        return (SimTime)d;
    }
    case PS_RETRY_IMMEDIATE:
    case PS_RETRY_NONE:
    default:
        return 0;
    }
}

static SimTime stop_of(const PsWorkload *wl) { return wl->stop; }
/* Retries of a request begun before stop go on until the run's end. */
static SimTime retry_end(const PsWorkload *wl) { return wl->run_end; }

static void attempt_fire(void *ctx, uint64_t arg)
{
    PsWorkload *wl = ctx;
    if (wl->net->fault)
        return;
    ps_tcp_attempt(wl->net, wl, -1, -1, USER_OF(arg), ATTEMPT_OF(arg));
}

/* A user's loop thinks, then starts its next request (before stop). */
static void user_next(PsWorkload *wl, uint32_t user)
{
    SimEngine *e = wl->net->engine;
    SimTime at = sim_engine_now(e) + sim_dist_sample(&wl->think, &wl->rng);
    if (at < stop_of(wl))
        sim_engine_at(e, at, attempt_fire, wl, PACK(user, 1));
}

void ps_users_start(PsWorkload *wl)
{
    /* Every loop starts at `start` after one think time, so the users do
     * not all knock at once unless think is const. */
    SimEngine *e = wl->net->engine;
    for (uint32_t u = 0; u < wl->loops; u++) {
        SimTime at = wl->start + sim_dist_sample(&wl->think, &wl->rng);
        if (at < stop_of(wl))
            sim_engine_at(e, at, attempt_fire, wl, PACK(u, 1));
    }
}

void ps_request_ended(PsWorkload *wl, uint32_t user, uint32_t attempt, gboolean ok)
{
    SimEngine *e = wl->net->engine;
    if (!ok && wl->retry.kind != PS_RETRY_NONE && attempt < wl->max_attempts) {
        SimTime at = sim_engine_now(e) + retry_delay(wl, attempt + 1);
        if (at < retry_end(wl)) {
            sim_engine_at(e, at, attempt_fire, wl, PACK(user, attempt + 1));
            return;
        }
    }
    if (!ok)
        wl->gave_up->value++;
    if (user != PS_OPEN_LOOP)
        user_next(wl, user);
}
