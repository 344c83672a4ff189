#!/bin/bash
# The CLI surface: help, version, info, global options, exit statuses.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_begin "help lists commands; each command has --help"
expect_status 0 mctr --help
for c in images load import save tag rmi inspect info version; do assert_contains "$OUT" "  $c"; done
for c in images load import save tag rmi inspect info version; do
	expect_status 0 mctr "$c" --help
	assert_contains "$OUT$ERR" "mctr"
done
expect_status 0 mctr image --help
assert_contains "$OUT" "prune"
expect_status 0 mctr system check --help

t_begin "version and info"
expect_status 0 mctr version
assert_contains "$OUT" "mctr version"
expect_status 0 mctr --version
expect_status 0 mctr info
assert_contains "$OUT" "Store root:  $MCTR_ROOT"
assert_contains "$OUT" "overlay=yes"
expect_status 0 mctr info --format json
assert_contains "$OUT" '"root": "'"$MCTR_ROOT"'"'

t_begin "MCTR_ROOT and --root choose the store"
alt=$T_SANDBOX/alt
expect_status 0 env MCTR_ROOT="$alt" "$MCTR_BIN" info
assert_contains "$OUT" "Store root:  $alt"

t_begin "mctr's own errors exit 125 with one line naming the fault"
expect_status 125 mctr frobnicate
assert_contains "$ERR" 'unknown command "frobnicate"'
expect_status 125 mctr images --bogus
expect_status 125 mctr --log-level loud images
assert_contains "$ERR" "--log-level"
expect_status 125 mctr inspect nothere
assert_eq "mctr: no such object: nothere" "$ERR"

t_begin "the core binary does not load libcurl, libarchive or libcrypto"
libs=$(ldd "$MCTR_BIN")
assert_not_contains "$libs" libcurl
assert_not_contains "$libs" libarchive
assert_not_contains "$libs" libcrypto
