#!/bin/bash
# Usage: tests/integration/run-one.sh TESTFILE
#
# Runs one integration test file (tests/integration/test_*.sh) the way ctest
# does (see tests/CMakeLists.txt), and by hand:
#   MCTR_BIN=build/mctr tests/integration/run-one.sh tests/integration/test_harness.sh
# Env: MCTR_BIN (the binary under test), MCTR_BUILD_DIR (fixtures go to
# $MCTR_BUILD_DIR/fixtures), MCTR_SRC_DIR; defaults derive from this file's
# location.  The test file's TAP output goes to stdout; the exit status is
# non-zero when any test point failed.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 TESTFILE" >&2
	exit 2
fi
testfile=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MCTR_SRC_DIR=${MCTR_SRC_DIR:-$(cd "$here/../.." && pwd)}
export MCTR_BUILD_DIR=${MCTR_BUILD_DIR:-$MCTR_SRC_DIR/build}
export MCTR_BIN=${MCTR_BIN:-$MCTR_BUILD_DIR/mctr}

if [[ ! -x $MCTR_BIN ]]; then
	echo "Bail out! mctr binary not found at $MCTR_BIN (build it first)"
	exit 1	# a missing binary is a broken build, not a reason to pass
fi
# Tests must not depend on the caller's store or a developer's environment.
unset MCTR_ROOT
export LC_ALL=C.UTF-8 TZ=UTC

echo "# $(basename "$testfile") with $MCTR_BIN"
cd "$(dirname "$testfile")"
exec bash "$testfile"
