#!/bin/bash
# Runs every library scenario with two portsim binaries and compares
# summary.json and timeseries.csv byte for byte (the determinism check for
# changes that must not alter results).
#   bash bench/compare_outputs.sh NEW_PORTSIM OLD_PORTSIM [extra run options]
set -uo pipefail
cd "$(dirname "$0")/.."
new=$1 old=$2
shift 2
d=$(mktemp -d)
status=0
for ini in scenarios/*.ini; do
    n=$(basename "$ini" .ini)
    "$new" run "$ini" -o "$d/new-$n" -q --no-plots --no-report "$@" >/dev/null 2>&1
    rn=$?
    "$old" run "$ini" -o "$d/old-$n" -q --no-plots --no-report "$@" >/dev/null 2>&1
    ro=$?
    line="$n: exit $rn/$ro"
    for f in summary.json timeseries.csv; do
        if cmp -s "$d/new-$n/$f" "$d/old-$n/$f"; then
            line="$line $f identical"
        else
            line="$line $f DIFFERENT"
            status=1
        fi
    done
    echo "$line"
done
rm -rf "$d"
exit $status
