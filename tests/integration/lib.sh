# shellcheck shell=bash
# Integration-test library: sourced by every tests/integration/test_*.sh
# (which run-one.sh starts, which ctest starts).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   t_begin "load a docker-archive"
#   expect_status 0 mctr load -i "$FIXTURES/busybox-docker.tar"
#   assert_contains "$OUT" "Loaded image"
#
# What it provides:
#   - a fresh store per test file: MCTR_ROOT=$T_SANDBOX/root, under /var/tmp,
#     removed at exit (also on failure; mounts below it are detached first);
#   - `mctr ARGS...` runs "$MCTR_BIN" --root "$MCTR_ROOT" ARGS...;
#   - FIXTURES (default $MCTR_BUILD_DIR/fixtures); `need_fixtures` builds it
#     once with tools/fixtures.sh (cached, locked against parallel builds);
#   - TAP output: one test point per t_begin; assertions record failures and
#     keep going (they always return 0; `t_failed` tells whether the current
#     test point has failed, to skip dependent steps); an unexpected command
#     failure (set -e) ends the file as a failure, naming the command;
#   - local registries (registry_start/registry_push, tools/registry.sh),
#     stopped at exit;
#   - a summary line and a non-zero exit when anything failed.
#
# Environment (ctest sets the first three): MCTR_BIN, MCTR_BUILD_DIR,
# MCTR_SRC_DIR, MCTR_FIXTURES (overrides FIXTURES), T_TIMEOUT (seconds per
# expect_status command, default 120), T_KEEP=1 (keep the sandbox for
# debugging).

set -Eeuo pipefail

# ---- environment ------------------------------------------------------------

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${MCTR_SRC_DIR:=$(cd "$T_LIB_DIR/../.." && pwd)}"
: "${MCTR_BUILD_DIR:=$MCTR_SRC_DIR/build}"
: "${MCTR_BIN:=$MCTR_BUILD_DIR/mctr}"
: "${T_TIMEOUT:=120}"
FIXTURES=${MCTR_FIXTURES:-$MCTR_BUILD_DIR/fixtures}
T_CANARY=/var/tmp/mctr-canary	# hostile inputs aim here (tools/hostile.py)
T_NAME=$(basename "${0%.sh}")
export MCTR_BIN MCTR_BUILD_DIR MCTR_SRC_DIR FIXTURES
# A safety net: no test may send traffic off the machine.  Anything that is
# not loopback goes to a proxy on 127.0.0.1:9 (the discard port, closed), so a
# test that reaches for Docker Hub fails at once instead of leaving the box.
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
	HTTPS_PROXY=http://127.0.0.1:9 no_proxy=localhost,127.0.0.1,::1 NO_PROXY=localhost,127.0.0.1,::1

# /var/tmp, not /tmp: /tmp may be a small tmpfs and the Debian image is 120 MB.
T_SANDBOX=$(mktemp -d "/var/tmp/mctr-it.$T_NAME.XXXXXX")
MCTR_ROOT=$T_SANDBOX/root
export MCTR_ROOT
OUT="" ERR="" STATUS=0 TIMED_OUT=0

mctr() { "$MCTR_BIN" --root "$MCTR_ROOT" "$@"; }

# ---- TAP bookkeeping ----------------------------------------------------------

T_NUM=0		# test points emitted
T_CUR=""	# name of the open test point ("" = none)
T_CUR_FAILED=0 T_CUR_SKIP="" T_CHECKS=0
T_PASSED=0 T_FAILED=0 T_SKIPPED=0

diag() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"; }

t__close() {
	[[ -n $T_CUR ]] || return 0
	T_NUM=$((T_NUM + 1))
	if [[ $T_CUR_FAILED -ne 0 ]]; then
		printf 'not ok %d - %s\n' "$T_NUM" "$T_CUR"
		T_FAILED=$((T_FAILED + 1))
	elif [[ -n $T_CUR_SKIP ]]; then
		printf 'ok %d - %s # SKIP %s\n' "$T_NUM" "$T_CUR" "$T_CUR_SKIP"
		T_SKIPPED=$((T_SKIPPED + 1))
	else
		printf 'ok %d - %s\n' "$T_NUM" "$T_CUR"
		T_PASSED=$((T_PASSED + 1))
	fi
	T_CUR=""
}

# t_begin NAME: start a test point (and close the previous one).
t_begin() {
	t__close
	T_CUR=$1 T_CUR_FAILED=0 T_CUR_SKIP=""
}

t__ensure_open() { [[ -n $T_CUR ]] || t_begin "$T_NAME"; }

# ok [MSG]: count a passing custom check.  fail MSG: record a failure.
ok() { t__ensure_open; T_CHECKS=$((T_CHECKS + 1)); }
fail() {
	t__ensure_open
	T_CHECKS=$((T_CHECKS + 1))
	T_CUR_FAILED=1
	diag "FAIL ($T_CUR): $*"
	diag "  at $(t__caller)"
}
t__caller() {	# file:line of the first frame outside this library
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [[ ${BASH_SOURCE[i]} != "${BASH_SOURCE[0]}" ]]; then
			echo "${BASH_SOURCE[i]##*/}:${BASH_LINENO[i - 1]}"
			return 0
		fi
	done
	echo "?"
}
# skip REASON: the rest of this test point does not apply; say why.
skip() {
	t__ensure_open
	T_CUR_SKIP=${1:?skip needs a reason}
}
t_failed() { [[ $T_CUR_FAILED -ne 0 ]]; }
t_skipped() { [[ -n $T_CUR_SKIP ]]; }
# require_root: skip the current test point unless running as root; returns
# non-zero when skipped, so `require_root || return 0` ends a test function.
require_root() {
	[[ $(id -u) -eq 0 ]] && return 0
	skip "needs root (running as uid $(id -u))"
	return 1
}

# ---- running commands ---------------------------------------------------------

# run_cmd CMD...: run CMD (a program or a shell function such as mctr) with
# a timeout of T_TIMEOUT seconds; stdout goes to $OUT, stderr to $ERR, the
# exit status to $STATUS, and TIMED_OUT is 1 if it had to be killed.  Stdin is
# passed through, so `run_cmd mctr load -i - <file` works.  Asserts nothing.
run_cmd() {
	local outf=$T_SANDBOX/.out errf=$T_SANDBOX/.err
	t__run_timed "$outf" "$errf" "$@"
	OUT=$(<"$outf") ERR=$(<"$errf")
	TIMED_OUT=0
	[[ -f $T_SANDBOX/.timedout ]] && TIMED_OUT=1
	return 0
}

# expect_status N CMD...: run_cmd CMD, and record a failure unless it exited
# with status N (a timeout is always a failure unless N is its status).
expect_status() {
	local want=$1
	shift
	t__ensure_open
	run_cmd "$@"
	T_CHECKS=$((T_CHECKS + 1))
	if [[ $TIMED_OUT -eq 1 ]]; then
		[[ $want -eq $STATUS ]] || fail "timed out after ${T_TIMEOUT}s (status $STATUS): $*"
	elif [[ $STATUS -ne $want ]]; then
		fail "expected status $want, got $STATUS: $*"$'\n'"stdout: ${OUT:0:2000}"$'\n'"stderr: ${ERR:0:2000}"
	fi
	return 0
}

# t__run_timed OUTFILE ERRFILE CMD...: run CMD in a subshell (so functions
# and unexported variables work) in its own process group (set -m), and kill
# the whole group, mctr's children included, after T_TIMEOUT seconds.
t__run_timed() {
	local outf=$1 errf=$2 pid wd
	shift 2
	rm -f "$T_SANDBOX/.timedout"
	STATUS=0
	set -m
	if [[ -t 0 ]]; then
		("$@") >"$outf" 2>"$errf" </dev/null &	# a tty read from another group would stop us
	else
		("$@") >"$outf" 2>"$errf" &
	fi
	pid=$!
	(
		sleep "$T_TIMEOUT"
		touch "$T_SANDBOX/.timedout"
		kill -TERM -- "-$pid" 2>/dev/null
		sleep 10
		kill -KILL -- "-$pid" 2>/dev/null
	) >/dev/null 2>&1 </dev/null &
	wd=$!
	set +m
	wait "$pid" || STATUS=$?
	kill -- "-$wd" 2>/dev/null || true
	wait "$wd" 2>/dev/null || true
	return 0
}

# pid_alive PID: the process exists and is not a zombie (killed daemons can
# stay zombies for seconds until init reaps them).
pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# ---- assertions (all return 0; failures are recorded) -------------------------

assert_eq() {	# EXPECTED ACTUAL [WHAT]
	if [[ $1 == "$2" ]]; then ok; else fail "${3:-values differ}: expected '$1', got '$2'"; fi
}
assert_contains() {	# HAYSTACK NEEDLE [WHAT]
	if [[ $1 == *"$2"* ]]; then ok; else fail "${3:-text} does not contain '$2'; got: ${1:0:2000}"; fi
}
assert_not_contains() {	# HAYSTACK NEEDLE [WHAT]
	if [[ $1 != *"$2"* ]]; then ok; else fail "${3:-text} contains '$2'; got: ${1:0:2000}"; fi
}
# assert_contains_any HAYSTACK 'a|b|c' [WHAT]: one of the |-separated
# alternatives occurs, ignoring case (the hostile corpus's expect column).
assert_contains_any() {
	local hay=${1,,} alt
	local -a alts
	IFS='|' read -r -a alts <<<"$2"
	[[ ${#alts[@]} -eq 0 ]] && { ok; return 0; }
	for alt in "${alts[@]}"; do
		[[ $hay == *"${alt,,}"* ]] && { ok; return 0; }
	done
	fail "${3:-text} matches none of '$2'; got: ${1:0:2000}"
}
assert_file_exists() {	# PATH (anything, even a dangling symlink)
	if [[ -e $1 || -L $1 ]]; then ok; else fail "missing: $1"; fi
}
assert_no_file() {	# PATH
	if [[ -e $1 || -L $1 ]]; then fail "should not exist: $1 ($(stat -c %F "$1"))"; else ok; fi
}

# ---- store snapshots ------------------------------------------------------------

# Every path under MCTR_ROOT with type, size (not for dirs: ext4 directories
# never shrink) and mode.  Lock files come and go legitimately.
t__list_store() {
	[[ -d $MCTR_ROOT ]] || return 0
	find "$MCTR_ROOT" -mindepth 1 \( -name '*.lock' -o -name lock \) -prune -o \
		\( -type d -printf '%P d - %m\n' \) -o -printf '%P %y %s %m\n' | LC_ALL=C sort
}
# snapshot_store [NAME]: remember the store's current state.
snapshot_store() { t__list_store >"$T_SANDBOX/.snap.${1:-default}"; }
# assert_store_unchanged [NAME]: the store looks as at snapshot_store NAME
# (a failed command must leave no temp files, half layers or new refs).
assert_store_unchanged() {
	local snap=$T_SANDBOX/.snap.${1:-default} d
	[[ -f $snap ]] || { fail "assert_store_unchanged: no snapshot '${1:-default}'"; return 0; }
	if d=$(diff -u "$snap" <(t__list_store)); then ok; else fail "store changed:"$'\n'"$(head -40 <<<"$d")"; fi
}

# ---- the host canary -------------------------------------------------------------

t__list_canary() {
	find "$T_CANARY" -printf '%P %y %s %m %n %l\n' | LC_ALL=C sort
	find "$T_CANARY" -type f -exec sha256sum {} + | LC_ALL=C sort
	# Two corpus cases hardlink the real /etc/shadow: a naive unpacker raises
	# its link count.
	stat -c '%n %h %s %Y' /etc/shadow /etc/passwd
}
# canary_setup: (re)create /var/tmp/mctr-canary from the corpus template and
# remember it; call before feeding hostile inputs to mctr.
canary_setup() {
	need_fixtures
	rm -rf "$T_CANARY"
	cp -a "$FIXTURES/hostile/canary" "$T_CANARY"
	t__list_canary >"$T_SANDBOX/.canary"
}
# assert_host_untouched: the canary is unchanged (content, modes, link counts:
# a hardlink into it raises nlink), no path the corpus targets exists, and no
# mctr-pwned-* file appeared in /, /etc, /tmp, /var/tmp, the sandbox or the
# top two levels of the store (image content is always deeper than that).
assert_host_untouched() {
	local d found
	if [[ ! -f $T_SANDBOX/.canary ]]; then
		fail "assert_host_untouched: canary_setup was not called"
		return 0
	fi
	if [[ ! -d $T_CANARY ]]; then
		fail "canary dir $T_CANARY was removed"
	elif ! d=$(diff -u "$T_SANDBOX/.canary" <(t__list_canary)); then
		fail "canary $T_CANARY changed:"$'\n'"$(head -40 <<<"$d")"
	fi
	while IFS= read -r d; do
		if [[ -n $d && ( -e $d || -L $d ) ]]; then
			fail "hostile input created host path $d (removed)"
			t__remove_planted "$d"
		fi
	done <"$FIXTURES/hostile/host-targets.txt"
	found=$( {
		find / /etc /tmp /var/tmp -maxdepth 1 -name 'mctr-pwned*'
		find "$T_SANDBOX" -path "$MCTR_ROOT" -prune -o -name 'mctr-pwned*' -print
		if [[ -d $MCTR_ROOT ]]; then find "$MCTR_ROOT" -maxdepth 2 -name 'mctr-pwned*'; fi
	} 2>/dev/null | sort -u || true)
	if [[ -n $found ]]; then
		fail "hostile input planted files (removed):"$'\n'"$found"
		while IFS= read -r d; do
			t__remove_planted "$d"
		done <<<"$found"
	fi
	t_failed || ok
	return 0
}

# Undo what a broken mctr planted on the host (after reporting it), so the
# next run starts clean: the file, then its parents while they are empty.
t__remove_planted() {
	local p=$1
	rm -f "$p"
	p=$(dirname "$p")
	while [[ $p != / && $p != "$T_CANARY" ]] && rmdir "$p" 2>/dev/null; do
		p=$(dirname "$p")
	done
}

# ---- fixtures and the hostile corpus ---------------------------------------------

# need_fixtures: build $FIXTURES unless already up to date (fixtures.sh
# caches and locks, so parallel test files build it once).
need_fixtures() {
	[[ -n ${T__FIXTURES_OK:-} ]] && return 0
	local rc=0
	bash "$MCTR_SRC_DIR/tools/fixtures.sh" "$FIXTURES" 2>&1 | sed 's/^/# /' || rc=$?
	[[ $rc -eq 0 ]] || { echo "# tools/fixtures.sh failed ($rc)"; return "$rc"; }
	T__FIXTURES_OK=1
}

# for_each_hostile_case FN: calls FN NAME PATH COMMAND EXPECT CHECK IMAGE
# DESCRIPTION for every corpus case (PATH made absolute).
for_each_hostile_case() {
	local fn=$1 line name path cmd expect check image desc
	need_fixtures
	while IFS= read -r line; do
		# Tabs are IFS whitespace, so read would merge the empty fields
		# between them; split on a non-whitespace separator instead.
		IFS=$'\x1f' read -r name path cmd expect check image desc <<<"${line//$'\t'/$'\x1f'}"
		[[ $name == name ]] && continue
		"$fn" "$name" "$FIXTURES/hostile/$path" "$cmd" "$expect" "$check" "$image" "$desc" </dev/null
	done <"$FIXTURES/hostile/cases.tsv"
}

# hostile_run_case NAME PATH COMMAND EXPECT CHECK IMAGE DESC: feed one corpus
# case to mctr (`import PATH IMAGE` or `load -i PATH`) as one test point, and
# check the outcome the EXPECT column asks for (see hostile/README.txt):
#   failure: exit 125 (never a crash or a hang), an error message matching
#            EXPECT once the input's path and case name are taken out of it (so
#            "diff" cannot match "docker-diffid-mismatch.tar"), and a store
#            exactly as before;
#   success: exit 0, and the CHECK column holds on the image's root filesystem
#            if the test defines `hostile_image_rootfs IMAGE` (prints a dir);
#   always:  assert_host_untouched.
# Call canary_setup first, and load something valid first so the store exists.
hostile_run_case() {
	local name=$1 path=$2 cmd=$3 expect=$4 check=$5 image=$6 desc=$7 msg rootfs
	t_begin "hostile $name: $desc"
	snapshot_store hostile
	if [[ $cmd == import ]]; then
		run_cmd mctr import "$path" "$image"
	else
		run_cmd mctr load -i "$path"
	fi
	T_CHECKS=$((T_CHECKS + 1))
	if [[ $TIMED_OUT -eq 1 ]]; then
		fail "mctr $cmd hung (killed after ${T_TIMEOUT}s)"
	elif [[ $STATUS -eq 0 && $expect != OK: && $expect != ANY:* ]]; then
		fail "mctr $cmd accepted it; expected an error matching '$expect'"$'\n'"stdout: ${OUT:0:1000}"
	elif [[ $STATUS -ne 0 && $STATUS -ne 125 ]]; then
		fail "mctr $cmd exited $STATUS (crash?), not 125"$'\n'"stderr: ${ERR:0:2000}"
	elif [[ $STATUS -eq 125 && $expect == OK: ]]; then
		fail "mctr $cmd rejected a valid input"$'\n'"stderr: ${ERR:0:2000}"
	elif [[ $STATUS -eq 125 ]]; then
		msg=${ERR//"$path"/<input>}
		msg=${msg//"$name"/<case>}
		expect=${expect#ANY:}
		assert_contains_any "$msg" "$expect" "error message (input path and case name removed)"
		assert_store_unchanged hostile
	elif [[ -n $check ]]; then
		if [[ $(type -t hostile_image_rootfs) == function ]]; then
			rootfs=$(hostile_image_rootfs "$image") || rootfs=""
			if [[ -n $rootfs && -d $rootfs && $rootfs != / ]]; then
				rootfs_check "$rootfs" "$check"
				overlay_release "$rootfs"
			else
				fail "no root filesystem for $image (hostile_image_rootfs gave '$rootfs')"
			fi
		else
			diag "$name: loaded; rootfs checks not run (no hostile_image_rootfs function)"
		fi
	fi
	assert_host_untouched
	# A damaged canary would fail every later case too: restore it.
	if t_failed; then canary_setup; fi
}

# rootfs_check ROOTFS SPEC: evaluate a corpus check column against a root
# filesystem dir.  SPEC is ;-separated: file:P nofile:P content:P=TEXT
# noxattr:P=NAME notsymlink:P.  Paths are resolved without following any
# symlink on the way, so a check can never read the host through the image.
rootfs_check() {
	local root=$1 spec=$2 item kind arg p val
	local -a items
	IFS=';' read -r -a items <<<"$spec"
	for item in "${items[@]}"; do
		[[ -z $item ]] && continue
		kind=${item%%:*} arg=${item#*:}
		p=${arg%%=*} val=${arg#*=}
		if ! t__inside_path "$root" "$p"; then
			fail "rootfs_check $item: a parent of $p is a symlink"
			continue
		fi
		case $kind in
		file) assert_file_exists "$root$p" ;;
		nofile) assert_no_file "$root$p" ;;
		notsymlink) if [[ -L $root$p ]]; then fail "$p is a symlink"; else ok; fi ;;
		content)
			if [[ -L $root$p || ! -f $root$p ]]; then
				fail "$p is not a regular file"
			else
				assert_eq "$val" "$(<"$root$p")" "content of $p"
			fi ;;
		noxattr)
			if python3 -c 'import os, sys; sys.exit(sys.argv[2] in os.listxattr(sys.argv[1], follow_symlinks=False))' \
				"$root$p" "$val"; then ok; else fail "$p carries xattr $val"; fi ;;
		*) fail "rootfs_check: unknown check '$item'" ;;
		esac
	done
	return 0
}
t__inside_path() {	# ROOT PATH: no intermediate component of PATH is a symlink
	local cur=$1 comp
	local -a comps
	IFS='/' read -r -a comps <<<"${2#/}"
	for comp in "${comps[@]:0:${#comps[@]}-1}"; do
		cur=$cur/$comp
		[[ -L $cur ]] && return 1
	done
	return 0
}

# overlay_view TOP ... BOTTOM: a read-only merged view of layer dirs (as
# overlayfs will show them to a container); prints the mount point, which is
# unmounted at exit.  One layer needs no mount.
overlay_view() {
	if [[ $# -eq 1 ]]; then
		echo "$1"
		return 0
	fi
	local mnt lower
	mnt=$(mktemp -d "$T_SANDBOX/view.XXXXXX")
	lower=$(IFS=:; echo "$*")
	mount -t overlay overlay -o "ro,lowerdir=$lower" "$mnt"
	echo "$mnt"
}

# overlay_release DIR: unmount a view overlay_view mounted (no-op otherwise).
overlay_release() {
	if [[ $1 == "$T_SANDBOX"/view.* ]] && mountpoint -q "$1"; then
		umount "$1" && rmdir "$1"
	fi
	return 0
}

# ---- local registries -------------------------------------------------------------

T_REGISTRIES=()

# free_port: a loopback TCP port nobody listens on, whose successor is free
# too (token mode puts its token server there).
free_port() {
	local p i
	for ((i = 0; i < 20; i++)); do
		p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# registry_start NAME MODE: start a registry (tools/registry.sh; MODE is plain,
# tls, auth or token) with its data in the sandbox, stopped at exit.  Sets the
# REG_* variables of its registry.env: REG_HOST (127.0.0.1:PORT), REG_URL,
# REG_CA, REG_CERT_DIR, REG_USER, REG_PASSWORD, REG_TOKEN_LOG, ...
registry_start() {
	local dir=$T_SANDBOX/registry-$1 port
	port=$(free_port)
	T_REGISTRIES+=("$dir")
	bash "$MCTR_SRC_DIR/tools/registry.sh" start "$1" "$2" "$port" "$dir" | sed 's/^/# /'
	unset REG_CA REG_CERT_DIR REG_USER REG_PASSWORD REG_TOKEN_URL REG_SERVICE REG_TOKEN_LOG
	# shellcheck disable=SC1091
	source "$dir/registry.env"
}
# registry_push SRC REPO[:TAG]: copy an image (skopeo reference, e.g.
# oci:$FIXTURES/busybox-oci:latest) into the registry registry_start set up last.
registry_push() {
	bash "$MCTR_SRC_DIR/tools/registry.sh" push "$1" "$REG_HOST/$2" "$REG_DATADIR"
}

# ---- exit: summary and cleanup -------------------------------------------------

t__on_err() {	# set -e is about to end the file: say where
	# In a subshell ($(...), pipelines) the parent sees the failure and reports it.
	[[ $BASH_SUBSHELL -eq 0 ]] || return 0
	t__ensure_open
	T_CUR_FAILED=1
	diag "ABORT ($T_CUR): command failed with status $1 at ${BASH_SOURCE[1]:-?}:$2: $3"
}
trap 't__on_err $? $LINENO "$BASH_COMMAND"' ERR

t__cleanup() {
	local rc=$? m
	# Only the test file's own shell cleans up.  A subshell can get here too:
	# t__run_timed's watchdog, killed right after a fast command, may catch
	# the TERM before it has reset the traps it inherited, and must not
	# remove the sandbox under the running test.
	[[ $BASHPID -eq $$ ]] || exit "$rc"
	trap - ERR
	# The reader may be gone (`| head`): let writes fail instead of killing us
	# before the sandbox is removed.
	trap '' PIPE
	set +e
	t__close
	printf '1..%d\n' "$T_NUM"
	printf '# %s: %d passed, %d failed, %d skipped, %d checks\n' \
		"$T_NAME" "$T_PASSED" "$T_FAILED" "$T_SKIPPED" "$T_CHECKS"
	for m in "${T_REGISTRIES[@]}"; do
		bash "$MCTR_SRC_DIR/tools/registry.sh" stop "$m" || true
	done
	# Detach whatever mctr (or overlay_view) left mounted below the sandbox,
	# deepest first, before removing it; --one-file-system keeps rm from ever
	# descending into a mount we failed to detach.
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v s="$T_SANDBOX" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	if [[ -n ${T_KEEP:-} ]]; then
		echo "# kept sandbox $T_SANDBOX"
	else
		rm -rf --one-file-system "$T_SANDBOX"
	fi
	if [[ $T_FAILED -gt 0 || $rc -ne 0 ]]; then
		exit 1
	fi
	exit 0
}
trap t__cleanup EXIT
# Signals end the file through the EXIT trap, so the sandbox still goes away.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
