/* Shared scaffolding for Check test programs. */
#ifndef PS_TEST_UTIL_H
#define PS_TEST_UTIL_H

#include <check.h>
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

#endif
