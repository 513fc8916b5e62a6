#!/bin/bash
# The whole test suite: a -Werror build, then the same suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Ends with "N passed, N failed"
# counted from the Check results of every test program (a program that died
# before reporting counts as one failure).
set -uo pipefail
cd "$(dirname "$0")/.."
sh scripts/deps.sh --dev || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
status=0

run_suite() { # build-dir, meson setup options...
    local dir=$1
    shift
    if [ ! -d "$dir" ]; then
        meson setup "$dir" "$@" >/dev/null || { failed=$((failed + 1)); status=1; return; }
    fi
    if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
        cat "$dir.build.log"
        echo "build failed in $dir"
        failed=$((failed + 1)); status=1; return
    fi
    meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
    local p f
    read -r p f < <(python3 scripts/count_checks.py "$dir/meson-logs/testlog.json")
    passed=$((passed + p))
    failed=$((failed + f))
}

run_suite build -Dwerror=true
run_suite build-sanitize -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debug

# Valgrind memcheck on a few fast unit programs (CK_FORK=no: one process).
if command -v valgrind >/dev/null 2>&1; then
    for t in test_engine test_scenario test_schema test_stats; do
        if CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite "build/tests/$t" >/dev/null 2>"build/valgrind-$t.log"; then
            passed=$((passed + 1))
        else
            cat "build/valgrind-$t.log"; echo "valgrind: $t has findings"
            failed=$((failed + 1)); status=1
        fi
    done
fi
# A short bounded fuzzing pass (20k executions per target) when clang is there.
if command -v clang >/dev/null 2>&1; then
    if sh scripts/fuzz.sh 20000; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
