/* Requests per connection and idle timeouts: when the connection closes,
 * and which end closes (so which end holds TIME_WAIT). */
#include <string.h>

#include "keys.h"
#include "network_internal.h"
#include "run.h"
#include "test_util.h"

static PsRun *current;
static SimTime released;

static void observe(void *data, const PsPortEvent *ev)
{
    (void)data;
    if (!ev->take)
        released = sim_engine_now(ps_run_engine(current));
}

/* One connection at 0 s, 10 ms each way: SYN-ACK back at 20 ms; 3 requests
 * of 2 x 10 ms + 100 ms = 360 ms; then idle. TIME_WAIT 0 on both ends, so
 * the client's port comes back when its side reaches CLOSED. */
#define INI                                                                       \
    "[scenario]\nduration = 1ms\n"                                                \
    "[host c]\naddresses = 10.0.0.1\ntime_wait = 0s\ntime_wait_granularity = 0s\n" \
    "[server s]\naddresses = 10.0.0.9\nports = 80\ntime_wait = 0s\n"              \
    "[workload w]\nhost = c\ntarget = s\nrate = 1/s\ndelay = 10ms\nrequests = 3\n" \
    "service = const(100ms)\nhold = const(1s)\n"

static void run_case(const char *const *ov, SimTime expect_release, gboolean server_tw)
{
    SimSchema *schema = ps_schema_new();
    GError *error = NULL;
    SimScenario *sc = sim_scenario_load_data(schema, INI, "t.ini", ov, &error);
    ck_assert_msg(sc != NULL, "%s", error ? error->message : "?");
    PsRun *run = ps_run_new(sc, 0, &error);
    ck_assert_msg(run != NULL, "%s", error ? error->message : "?");
    current = run;
    released = -1;
    ps_network_set_port_observer(ps_run_network(run), observe, NULL);
    ck_assert(ps_run_execute(run));
    ck_assert_int_eq(released, expect_release);
    SimStats *st = sim_engine_stats(ps_run_engine(run));
    ck_assert_int_eq(sim_stats_gauge(st, "s.time_wait")->max, server_tw ? 1 : 0);
    ck_assert_int_eq(sim_stats_gauge(st, "c.time_wait")->max, server_tw ? 0 : 1);
    ck_assert_int_eq(sim_stats_counter(st, "w.requests_served")->value, 3);
    ps_run_free(run);
    sim_scenario_free(sc);
    sim_schema_free(schema);
}

/* No timeout: the client closes 1 s after the last answer (20 + 360 +
 * 1000 ms), its FIN's answer is back 20 ms later: released at 1.400 s. */
START_TEST(requests_then_hold)
{
    run_case(NULL, 1400 * SIM_MS, FALSE);
}
END_TEST

/* The server's 500 ms idle timeout ends it: its FIN reaches the client
 * 500 ms after the last answer (880 ms), the client's ACK+FIN and the last
 * ACK take 20 ms more: 900 ms; the server holds TIME_WAIT. */
START_TEST(server_idle_timeout)
{
    const char *ov[] = {"server.s.idle_timeout=500ms", NULL};
    run_case(ov, 900 * SIM_MS, TRUE);
}
END_TEST

/* A client idle timeout shorter than the server's wins: closes at 680 ms,
 * released at 700 ms, TIME_WAIT on the client. */
START_TEST(client_idle_timeout)
{
    const char *ov[] = {"server.s.idle_timeout=500ms", "workload.w.idle_timeout=300ms", NULL};
    run_case(ov, 700 * SIM_MS, FALSE);
}
END_TEST

static Suite *requests_suite(void)
{
    Suite *s = suite_create("requests");
    TCase *tc = tcase_create("keepalive");
    tcase_add_test(tc, requests_then_hold);
    tcase_add_test(tc, server_idle_timeout);
    tcase_add_test(tc, client_idle_timeout);
    suite_add_tcase(s, tc);
    return s;
}

PS_TEST_MAIN(requests_suite)
