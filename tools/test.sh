#!/bin/bash
# Usage: tools/test.sh            (the README's test command; .ci/run runs it)
#
# Runs the whole test suite from a clean clone, as root: installs the test
# packages, builds mctr twice and runs every unit and integration test on
# both builds:
#   build-release  Release (-O2, _FORTIFY_SOURCE), warnings are errors
#   build-asan     Debug with AddressSanitizer + UBSan; any leak or UB report fails
# Integration tests start their own registries on 127.0.0.1 and never touch
# anything but loopback and their own network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

if [[ $(id -u) -ne 0 ]]; then
	echo "tools/test.sh: the suite needs root (namespaces, mounts, cgroups)" >&2
	exit 1
fi
tools/deps.sh test

jobs=$(nproc)
# Fixtures (busybox/Debian images, hostile corpus) are built once and shared
# by both builds.
export MCTR_FIXTURES=${MCTR_FIXTURES:-$src/build-fixtures}

run_suite() {
	local dir=$1; shift
	cmake -S "$src" -B "$dir" -DCMAKE_RULE_MESSAGES=OFF "$@" >/dev/null
	make -C "$dir" -j"$jobs" -s --no-print-directory
	(cd "$dir" && ctest --output-on-failure -j1 --timeout 900)
}

start=$(date +%s)
echo "== Release build + suite"
run_suite build-release -DCMAKE_BUILD_TYPE=Release
echo "== AddressSanitizer + UBSan build + suite"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMCTR_SANITIZE=ON
echo "== all tests passed in $(( $(date +%s) - start )) s"
