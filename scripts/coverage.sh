#!/bin/sh
# Line coverage of sim/ and models/ by the unit tests:
#   sh scripts/coverage.sh        -> build-cov/coverage/index.html and a summary
# Builds build-cov with -Db_coverage=true (gcc + gcov), runs the suite, then
# gcovr (--gcov-ignore-parse-errors: gcov 12 can print a negative branch
# count for the engine's hot loop, which gcovr 5.2 otherwise rejects; it
# then warns and keeps the file's line counts). The report is written even
# when a test fails; the exit status then is 1.
set -eu
cd "$(dirname "$0")/.."
BUILD=${COV_BUILD:-build-cov}
command -v gcovr >/dev/null 2>&1 || { echo "coverage: needs gcovr (apt-get install gcovr)" >&2; exit 2; }
[ -d "$BUILD" ] || meson setup "$BUILD" -Db_coverage=true --buildtype=debug >/dev/null
find "$BUILD" -name '*.gcda' -delete
ninja -C "$BUILD" >/dev/null
status=0
meson test -C "$BUILD" --num-processes 2 >/dev/null || {
    echo "coverage: some tests failed, see $BUILD/meson-logs/testlog.txt" >&2; status=1; }
mkdir -p "$BUILD/coverage"
gcovr -r . "$BUILD" --filter 'sim/' --filter 'models/' --gcov-ignore-parse-errors \
    --html-details "$BUILD/coverage/index.html" --print-summary \
    --txt "$BUILD/coverage/summary.txt" >/dev/null
gcovr -r . "$BUILD" --filter 'sim/' --filter 'models/' --gcov-ignore-parse-errors --txt - | tail -n 4
exit $status
