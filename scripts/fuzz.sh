#!/bin/sh
# Runs every libFuzzer target for a fixed number of executions.
#   sh scripts/fuzz.sh [RUNS]          (default 20000 per target)
# Builds build-fuzz with clang (-Dfuzz=true, ASan+UBSan) if needed. New
# corpus entries go to build-fuzz/corpus/TARGET (the seeds in the source
# tree stay as they are); a crash leaves crash-* in build-fuzz/findings/:
# copy it into tests/fuzz/regressions/{scenario,values}/ so every build
# replays it (tests fuzz_*_replay). Exit status non-zero on any finding.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-20000}
BUILD=${FUZZ_BUILD:-build-fuzz}
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is not installed (apt-get install clang libclang-rt-14-dev); skipped" >&2
    exit 0
fi
if [ ! -d "$BUILD" ]; then
    CC=clang meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null
fi
ninja -C "$BUILD" tests/fuzz/fuzz_scenario tests/fuzz/fuzz_values >/dev/null
mkdir -p "$BUILD/findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
run() { # target, seed folders...
    t=$1
    shift
    mkdir -p "$BUILD/corpus/$t"
    printf 'fuzz: %s, %s runs... ' "$t" "$RUNS"
    if "$BUILD/tests/fuzz/$t" -runs="$RUNS" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
        -seed=1 -artifact_prefix="$BUILD/findings/$t-" "$BUILD/corpus/$t" "$@" \
        >"$BUILD/findings/$t.log" 2>&1; then
        tail -n 1 "$BUILD/findings/$t.log" | sed 's/^.*Done/done:/'
    else
        echo "FINDING: see $BUILD/findings/$t.log"
        tail -n 30 "$BUILD/findings/$t.log"
        status=1
    fi
}
run fuzz_scenario scenarios tests/fuzz/regressions/scenario
run fuzz_values tests/fuzz/corpus/values tests/fuzz/regressions/values
exit $status
