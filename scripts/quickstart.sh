#!/bin/sh
# Fresh machine to first result: install what is missing, build, and run the
# flash-sale scenario (summary on the terminal, files in results/flash-sale/).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
build/portsim run scenarios/flash-sale.ini "$@"
