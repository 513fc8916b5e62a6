/* Shared scaffolding for Check test programs. */
#ifndef PS_TEST_UTIL_H
#define PS_TEST_UTIL_H

#include <check.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

/* main() for a test program made of one suite. Exit status is non-zero when
 * any check failed, so meson counts the program as failed. */
#define PS_TEST_MAIN(suite_fn)                                   \
    int main(void)                                               \
    {                                                            \
        SRunner *runner = srunner_create(suite_fn());            \
        srunner_run_all(runner, CK_NORMAL);                      \
        int failed = srunner_ntests_failed(runner);              \
        srunner_free(runner);                                    \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;        \
    }

/* Check's ck_assert reports every *passing* check to the parent process
 * (a pipe write), which makes loops of hundreds of thousands of checks slow;
 * hot loops use these instead, which cost nothing unless they fail. */
#define REQUIRE(expr)                                                            \
    do {                                                                         \
        if (!(expr))                                                             \
            ck_abort_msg("failed: %s", #expr);                                   \
    } while (0)
#define REQUIRE_U64_EQ(a, b)                                                     \
    do {                                                                         \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                         \
        if (a_ != b_)                                                            \
            ck_abort_msg("%s == %s failed: %" G_GUINT64_FORMAT " != %"           \
                         G_GUINT64_FORMAT, #a, #b, a_, b_);                      \
    } while (0)

/* Counting criticals (from g_return_if_fail and friends) instead of
 * printing them, so a test can assert that a misuse was reported:
 * capture_criticals(); ...; ck_assert_int_eq(criticals_seen, 1);
 * release_criticals(); */
static inline int *ps_test_criticals(void)
{
    static int seen;
    return &seen;
}
#define criticals_seen (*ps_test_criticals())

static inline GLogFunc *ps_test_previous_log(void)
{
    static GLogFunc previous;
    return &previous;
}

static inline void ps_test_count_criticals(const gchar *domain, GLogLevelFlags level,
                                           const gchar *message, gpointer user_data)
{
    (void)domain;
    (void)message;
    (void)user_data;
    if (level & G_LOG_LEVEL_CRITICAL)
        criticals_seen++;
}

static inline void capture_criticals(void)
{
    criticals_seen = 0;
    *ps_test_previous_log() = g_log_set_default_handler(ps_test_count_criticals, NULL);
}

static inline void release_criticals(void)
{
    g_log_set_default_handler(*ps_test_previous_log(), NULL);
}

#endif
