#!/bin/sh
# Installs the Debian 12 packages portsim needs, if any is missing.
set -eu
PACKAGES="build-essential pkg-config meson ninja-build libglib2.0-dev libjson-glib-dev libpcap-dev check gnuplot-nox parallel"
# --dev (scripts/test.sh): also the fuzzing, memcheck, coverage and browser (report) tools.
[ "${1:-}" = "--dev" ] && PACKAGES="$PACKAGES clang libclang-rt-14-dev valgrind gcovr chromium tshark"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "portsim: installing$missing" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # tshark would ask whether non-root users may capture: they need not.
    echo "wireshark-common wireshark-common/install-setuid boolean false" |
        $SUDO debconf-set-selections 2>/dev/null || true
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
