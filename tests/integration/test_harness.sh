#!/bin/bash
# Usage: tests/integration/run-one.sh tests/integration/test_harness.sh
#
# Tests the integration harness itself (lib.sh, the fixtures, the hostile
# corpus) using only `mctr --version` and mctr's "unknown command" error, so
# it runs before the real commands exist.  Inner test files are written to
# the sandbox and run with bash to check that failures are caught.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2016  # inner test bodies are single-quoted on purpose
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# run_inner NAME BODY: run a test file that sources lib.sh; sets INNER_OUT
# and INNER_STATUS.
run_inner() {
	local f=$T_SANDBOX/inner-$1.sh
	printf 'source %q\n%s\n' "$T_LIB_DIR/lib.sh" "$2" >"$f"
	INNER_STATUS=0
	INNER_OUT=$(T_TIMEOUT=${INNER_TIMEOUT:-30} bash "$f" 2>&1) || INNER_STATUS=$?
}

t_begin "mctr --version runs and prints its version"
expect_status 0 mctr --version
assert_contains "$OUT" "mctr version"
assert_eq "" "$ERR" "stderr"

t_begin "mctr's own errors exit 125"
expect_status 125 mctr no-such-command
assert_contains "$ERR" "mctr"

t_begin "MCTR_ROOT is a fresh dir under /var/tmp"
assert_contains "$MCTR_ROOT" "/var/tmp/mctr-it."
assert_no_file "$MCTR_ROOT"
assert_eq "$(id -u)" "$(stat -c %u "$T_SANDBOX")" "sandbox owner"

t_begin "a passing inner file exits 0 with a TAP plan and removes its sandbox"
run_inner pass '
echo "# sandbox=$T_SANDBOX"
t_begin one; expect_status 0 mctr --version; assert_contains "$OUT" version
t_begin two; ok'
assert_eq 0 "$INNER_STATUS" "inner status"
assert_contains "$INNER_OUT" $'ok 1 - one\nok 2 - two\n1..2'
assert_contains "$INNER_OUT" "2 passed, 0 failed"
sandbox=$(sed -n 's/^# sandbox=//p' <<<"$INNER_OUT")
assert_contains "$sandbox" /var/tmp/mctr-it.
assert_no_file "$sandbox"

t_begin "failed assertions are reported, later checks still run, exit is 1"
run_inner fail '
echo "# sandbox=$T_SANDBOX"
mkdir -p "$MCTR_ROOT/layers"
t_begin eq; assert_eq a b "the letters"
t_begin status; expect_status 0 mctr no-such-command
t_begin contains; assert_contains "hay" needle; assert_not_contains "hay" hay
t_begin files; assert_file_exists /nonexistent; assert_no_file /
t_begin any; assert_contains_any "Digest MISMATCH" "size|digest"; assert_contains_any "x" "a|b"
t_begin after; ok'
assert_eq 1 "$INNER_STATUS" "inner status"
assert_contains "$INNER_OUT" "not ok 1 - eq"
assert_contains "$INNER_OUT" "expected 'a', got 'b'"
assert_contains "$INNER_OUT" "not ok 2 - status"
assert_contains "$INNER_OUT" "expected status 0, got 125"
assert_contains "$INNER_OUT" "not ok 3 - contains"
assert_contains "$INNER_OUT" "not ok 4 - files"
assert_contains "$INNER_OUT" "not ok 5 - any"
assert_contains "$INNER_OUT" "matches none of 'a|b'"
assert_contains "$INNER_OUT" "ok 6 - after"
assert_contains "$INNER_OUT" "at inner-fail.sh:"
assert_contains "$INNER_OUT" "1 passed, 5 failed"
sandbox=$(sed -n 's/^# sandbox=//p' <<<"$INNER_OUT")
assert_no_file "$sandbox"

t_begin "an unexpected command failure aborts the file and names the command"
run_inner abort '
t_begin first; ok
t_begin second; false_cmd() { return 3; }; false_cmd
t_begin never; ok'
assert_eq 1 "$INNER_STATUS" "inner status"
assert_contains "$INNER_OUT" "not ok 2 - second"
assert_contains "$INNER_OUT" "ABORT (second): command failed with status 3"
assert_not_contains "$INNER_OUT" "never"

t_begin "a hanging command times out instead of hanging the suite"
INNER_TIMEOUT=1 run_inner timeout 't_begin hang; expect_status 0 sleep 30; t_begin next; ok'
assert_eq 1 "$INNER_STATUS" "inner status"
assert_contains "$INNER_OUT" "timed out after 1s"
assert_contains "$INNER_OUT" "ok 2 - next"

t_begin "expect_status passes stdin through and captures stdout/stderr"
expect_status 0 bash -c 'cat; echo err >&2' <<<"from stdin"
assert_eq "from stdin" "$OUT" stdout
assert_eq "err" "$ERR" stderr
expect_status 3 bash -c 'exit 3'
assert_eq 3 "$STATUS" status

t_begin "skips say why"
run_inner skip 't_begin s; skip "not applicable here"; t_begin r; require_root || true; ok'
assert_eq 0 "$INNER_STATUS" "inner status"
assert_contains "$INNER_OUT" "ok 1 - s # SKIP not applicable here"
if [[ $(id -u) -eq 0 ]]; then
	assert_contains "$INNER_OUT" $'ok 2 - r\n'
else
	assert_contains "$INNER_OUT" "ok 2 - r # SKIP needs root"
fi

t_begin "store snapshots see new, removed and changed files but not locks"
run_inner snap '
mkdir -p "$MCTR_ROOT/oci/blobs" "$MCTR_ROOT/ingest"; echo a >"$MCTR_ROOT/oci/blobs/x"
t_begin same; snapshot_store; touch "$MCTR_ROOT/store.lock" "$MCTR_ROOT/ingest/lock"; assert_store_unchanged
t_begin new; snapshot_store; touch "$MCTR_ROOT/ingest/tmp-123"; assert_store_unchanged
t_begin size; rm "$MCTR_ROOT/ingest/tmp-123"; snapshot_store; echo bb >"$MCTR_ROOT/oci/blobs/x"; assert_store_unchanged
t_begin mode; snapshot_store s2; chmod 600 "$MCTR_ROOT/oci/blobs/x"; assert_store_unchanged s2'
assert_contains "$INNER_OUT" "ok 1 - same"
assert_contains "$INNER_OUT" "not ok 2 - new"
assert_contains "$INNER_OUT" "+ingest/tmp-123 f 0 644"
assert_contains "$INNER_OUT" "not ok 3 - size"
assert_contains "$INNER_OUT" "not ok 4 - mode"

t_begin "fixtures are built once and are complete"
need_fixtures
for f in busybox-rootfs.tar busybox-oci/index.json busybox-oci-gzip busybox-oci-zstd busybox-oci.tar \
	busybox-docker.tar busybox-docker-new.tar busybox-unnamed-docker.tar busybox-unnamed-oci \
	layered-oci layered-docker.tar shared-base-oci shared-base-docker.tar debian-oci debian-docker.tar \
	debian-oci-gzip README.txt SUMMARY.txt hostile/cases.tsv hostile/canary/secret.tar; do
	assert_file_exists "$FIXTURES/$f"
done
expect_status 0 bash "$MCTR_SRC_DIR/tools/fixtures.sh" "$FIXTURES"
assert_contains "$ERR" "up to date"

t_begin "layered and shared-base share layer 1, byte for byte"
first_layer() {	# OCI_LAYOUT: digest of the first layer of its first image
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/index.json"))["manifests"][0]["digest"]
print(json.load(open(sys.argv[1] + "/blobs/" + d.replace(":", "/")))["layers"][0]["digest"])' "$1"
}
l1=$(first_layer "$FIXTURES/layered-oci")
s1=$(first_layer "$FIXTURES/shared-base-oci")
assert_contains "$l1" "sha256:"
assert_eq "$l1" "$s1" "first layer digest"

t_begin "the canary detects writes, new links and planted files"
canary_setup
run_inner canary '
canary_setup
t_begin clean; assert_host_untouched
t_begin write; echo pwned >>"$T_CANARY/etc/passwd"; assert_host_untouched
t_begin link; canary_setup; ln "$T_CANARY/etc/shadow" "$MCTR_ROOT.shadow"; assert_host_untouched
t_begin plant; rm "$MCTR_ROOT.shadow"; canary_setup; mkdir -p "$MCTR_ROOT"; touch "$MCTR_ROOT/mctr-pwned-x"
assert_host_untouched'
assert_contains "$INNER_OUT" "ok 1 - clean"
assert_contains "$INNER_OUT" "not ok 2 - write"
assert_contains "$INNER_OUT" "not ok 3 - link"
assert_contains "$INNER_OUT" "not ok 4 - plant"
assert_contains "$INNER_OUT" "mctr-pwned-x"
assert_host_untouched

t_begin "hostile corpus: well-formed table, every case present"
n=0
check_case() {	# NAME PATH COMMAND EXPECT CHECK IMAGE DESC
	n=$((n + 1))
	assert_file_exists "$2"
	[[ $3 == load || $3 == import ]] || fail "$1: bad command '$3'"
	[[ $4 != OK: || -n $5 ]] || fail "$1: OK case without checks"
	[[ -n $7 ]] || fail "$1: no description"
}
for_each_hostile_case check_case
[[ $n -ge 40 ]] || fail "only $n cases"
diag "$n hostile cases"

# The checks of every case that must load are verified against a reference
# unpacker (umoci; skopeo converts docker-archives, ocitool.py wraps rootfs
# tarballs), which keeps the corpus honest.  GNU tar is no reference: it
# defers absolute symlinks and so lets an earlier symlink win over a later file.
t_begin "hostile corpus: OK cases hold on a reference unpack (umoci)"
reference_check() {	# NAME PATH COMMAND EXPECT CHECK IMAGE DESC
	[[ $4 == OK: ]] || return 0
	local work=$T_SANDBOX/ref-$1
	mkdir -p "$work"
	if [[ $3 == import ]]; then
		python3 "$MCTR_SRC_DIR/tools/ocitool.py" layout "$work/oci" --layer "$2" --ref x
	elif [[ -f $2 ]]; then
		skopeo --insecure-policy copy -q "docker-archive:$2" "oci:$work/oci:x"
	else
		skopeo --insecure-policy copy -q "oci:$2:$6" "oci:$work/oci:x"
	fi
	umoci unpack --image "$work/oci:x" "$work/bundle" >/dev/null 2>&1
	# umoci drops trusted.overlay.* but keeps user.overlay.*; mctr drops both.
	rootfs_check "$work/bundle/rootfs" "$(tr ';' '\n' <<<"$5" | grep -v '=user\.overlay\.' | paste -sd';')"
	rm -rf "$work"
}
if [[ $(id -u) -ne 0 ]]; then
	skip "needs root (umoci unpack keeps owners)"
else
	for_each_hostile_case reference_check
fi

t_begin "rootfs_check never follows symlinks out of the rootfs"
r=$T_SANDBOX/fake-rootfs
mkdir -p "$r/real"
echo hi >"$r/real/f"
ln -s /etc "$r/etc-link"
run_inner rootfs "
t_begin good; rootfs_check $r 'file:/real/f;content:/real/f=hi;nofile:/nope;notsymlink:/real/f'
t_begin via-link; rootfs_check $r 'file:/etc-link/passwd'
t_begin symlink; rootfs_check $r 'notsymlink:/etc-link'"
assert_contains "$INNER_OUT" "ok 1 - good"
assert_contains "$INNER_OUT" "not ok 2 - via-link"
assert_contains "$INNER_OUT" "a parent of /etc-link/passwd is a symlink"
assert_contains "$INNER_OUT" "not ok 3 - symlink"
