#!/bin/bash
# The container lifecycle without a daemon: -d, create/start, ps, logs, stop,
# kill, wait, rm, container prune, names, and what happens when the monitor
# is killed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need_fixtures
mctr load -q -i "$FIXTURES/busybox-docker.tar"

state_of() { mctr ps -a --format json | python3 -c 'import json,sys
for c in json.load(sys.stdin):
    if sys.argv[1] in c["Names"] or c["Id"].startswith(sys.argv[1]): print(c["State"], c["ExitCode"])' "$1"; }
cgroups_of() { find /sys/fs/cgroup -maxdepth 3 -type d -path "*/mctr/$1*" 2>/dev/null; }
wait_state() {	# NAME STATE: poll up to 5 s
	for _ in $(seq 100); do [[ $(state_of "$1") == "$2"* ]] && return 0; sleep 0.05; done
	return 1
}

t_begin "run -d prints the ID and the container keeps running after the CLI exits"
expect_status 0 mctr run -d --name ticker busybox sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'
id=$OUT
assert_eq 64 "${#id}" "ID length"
wait_state ticker running || fail "not running"
expect_status 0 mctr ps
assert_contains "$OUT" "ticker"
assert_contains "$OUT" "Up "
expect_status 0 mctr ps -q
assert_eq "${id:0:12}" "$OUT"

t_begin "names are unique"
expect_status 125 mctr run -d --name ticker busybox true
assert_contains "$ERR" 'name "ticker" is already in use'
expect_status 125 mctr run --name 'bad name' busybox true
assert_contains "$ERR" "invalid container name"

t_begin "logs, logs --tail and logs -f"
sleep 0.5
expect_status 0 mctr logs ticker
assert_contains "$OUT" "tick 0"
expect_status 0 mctr logs --tail 2 ticker
assert_eq 2 "$(wc -l <<<"$OUT")" "lines with --tail 2"
expect_status 0 mctr logs -t --tail 1 ticker
assert_contains "$OUT" "Z tick"

t_begin "logs -f follows until the container stops"
expect_status 0 mctr run -d --name follow busybox sh -c 'for i in 1 2 3; do echo line $i; sleep 0.2; done'
expect_status 0 mctr logs -f follow
assert_eq $'line 1\nline 2\nline 3' "$OUT" "every line, and logs -f returned once the container ended"
expect_status 0 mctr rm follow

t_begin "the last line of output is logged even without a newline, and logs -f prints it"
expect_status 0 mctr run -d --name partial busybox sh -c 'echo first; sleep 0.3; printf no-newline'
expect_status 0 mctr logs -f partial
assert_eq $'first\nno-newline' "$OUT" "logs -f"
expect_status 0 mctr logs partial
assert_eq $'first\nno-newline' "$OUT" "logs"
expect_status 0 mctr rm partial

t_begin "stop sends SIGTERM, then SIGKILL (sh as PID 1 ignores TERM): 137"
expect_status 0 mctr stop -t 1 ticker
assert_eq ticker "$OUT"
assert_eq "exited 137" "$(state_of ticker)"
assert_eq "" "$(cgroups_of "$id")" "cgroup removed"
expect_status 0 mctr wait ticker
assert_eq 137 "$OUT"

t_begin "a container that handles TERM stops cleanly with its own code"
expect_status 0 mctr run -d --name polite busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
wait_state polite running
sleep 0.2
expect_status 0 mctr stop polite
assert_eq "exited 0" "$(state_of polite)"

t_begin "kill -s delivers a signal; kill of a stopped container fails"
expect_status 0 mctr run -d --name k busybox sh -c 'trap "echo usr1; exit 5" USR1; while true; do sleep 0.1; done'
wait_state k running
sleep 0.2
expect_status 0 mctr kill -s USR1 k
expect_status 0 mctr wait k
assert_eq 5 "$OUT"
expect_status 0 mctr logs k
assert_eq usr1 "$OUT"
expect_status 125 mctr kill k
assert_contains "$ERR" "is not running"

t_begin "create + start, start -a returns the exit code"
expect_status 0 mctr create --name later busybox sh -c 'echo started; exit 4'
assert_eq "created 0" "$(state_of later)"
expect_status 4 mctr start -a later
assert_eq started "$OUT"
expect_status 0 mctr start later
expect_status 0 mctr wait later
assert_eq 4 "$OUT"

t_begin "a restarted container forgets how its last run ended (OOMKilled, ExitCode, Error)"
expect_status 0 mctr create --name again --memory 16m --memory-swap 16m busybox \
	sh -c 'test -e /ran && exec sleep 100; touch /ran; tail /dev/zero'
expect_status 137 mctr start -a again
expect_status 0 mctr inspect again
assert_contains "$OUT" '"OOMKilled": true'
expect_status 0 mctr start again
wait_state again running || fail "not running again"
expect_status 0 mctr inspect again
assert_contains "$OUT" '"OOMKilled": false' "while running again"
assert_contains "$OUT" '"ExitCode": 0' "while running again"
expect_status 0 mctr rm -f again

t_begin "rm refuses a running container, rm -f kills it; nothing is left"
expect_status 0 mctr run -d --name busy busybox sleep 100
bid=$(mctr ps -q --no-trunc | head -1)
wait_state busy running
expect_status 125 mctr rm busy
assert_contains "$ERR" "cannot remove running container busy"
expect_status 0 mctr rm -f busy
expect_status 125 mctr logs busy
assert_contains "$ERR" "no such container: busy"
assert_eq "" "$(cgroups_of "$bid")" "cgroup"
assert_no_file "$MCTR_ROOT/containers/$bid"
assert_no_file "$MCTR_ROOT/names/busy"

t_begin "containers are found by ID prefix; inspect shows the state"
expect_status 0 mctr inspect later
assert_contains "$OUT" '"Status": "exited"'
assert_contains "$OUT" '"ExitCode": 4'
cid=$(mctr ps -aq --no-trunc | head -1)
expect_status 0 mctr inspect "${cid:0:8}"
assert_contains "$OUT" "\"Id\": \"$cid\""

t_begin "the monitor killed with SIGKILL: the container dies with it, rm cleans up"
cd "$T_SANDBOX" || fail "cd"
expect_status 0 mctr run -d --name orphan busybox sleep 100
cd - >/dev/null || fail "cd -"
oid=$OUT
wait_state orphan running
mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["monitor_pid"])' "$MCTR_ROOT/containers/$oid/state.json")
assert_eq / "$(readlink "/proc/$mon/cwd")" "the detached monitor keeps no directory of the caller's busy"
cpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$MCTR_ROOT/containers/$oid/state.json")
kill -9 "$mon"
for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$cpid" 2>/dev/null; then fail "container process survived its monitor"; fi
assert_contains "$(state_of orphan)" "exited"
expect_status 1 mctr system check
assert_contains "$OUT" "container orphan: its monitor died"
expect_status 0 mctr system check --repair
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"
expect_status 0 mctr inspect orphan
assert_contains "$OUT" '"Status": "exited"'
expect_status 0 mctr rm orphan
assert_eq "" "$(cgroups_of "$oid")" "cgroup"
assert_no_file "$MCTR_ROOT/containers/$oid"

t_begin "system check finds cgroups and names that belong to no container"
stray=$(printf '%064d' 7)
mkdir -p "/sys/fs/cgroup/pids/mctr/$stray"
echo "$stray" >"$MCTR_ROOT/names/ghost"
expect_status 1 mctr system check
assert_contains "$OUT" "cgroup mctr/000000000000 belongs to no container"
assert_contains "$OUT" "name ghost belongs to no container"
expect_status 0 mctr system check --repair
assert_no_file "/sys/fs/cgroup/pids/mctr/$stray"
assert_no_file "$MCTR_ROOT/names/ghost"

t_begin "a running container claims its cgroup for its root; the claim goes with the cgroup"
expect_status 0 mctr run -d --name claimer busybox sleep 100
cid=$OUT
wait_state claimer running || fail "not running"
assert_eq "$MCTR_ROOT/containers/$cid" "$(readlink "/run/mctr/cgroups/$cid")" "claim"
expect_status 0 mctr rm -f claimer
assert_no_file "/run/mctr/cgroups/$cid"
expect_status 0 mctr run --rm busybox true
assert_eq "" "$(find /run/mctr/cgroups -lname "$MCTR_ROOT/*")" "claims left by --rm"

t_begin "system check of one root neither reports nor kills another root's containers"
other=$T_SANDBOX/other-root
mctro() { "$MCTR_BIN" --root "$other" "$@"; }
mctro load -q -i "$FIXTURES/busybox-docker.tar"
oid=$(mctro run -d busybox sleep 100)
for _ in $(seq 100); do [[ -n $(cgroups_of "$oid") ]] && break; sleep 0.05; done
# An empty cgroup another root claims (as during its container's start).
quiet=$(printf '%064d' 8)
mkdir -p "/sys/fs/cgroup/pids/mctr/$quiet"
ln -s "$other/containers/$quiet" "/run/mctr/cgroups/$quiet"
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"
expect_status 0 mctr system check --repair
assert_file_exists "/sys/fs/cgroup/pids/mctr/$quiet"
assert_eq "${oid:0:12}" "$(mctro ps -q)" "the other root's container still runs"
[[ -n $(cgroups_of "$oid") ]] || fail "the other root's container lost its cgroup"
# Claimed by this root but with no record here: this root's debris.
rm "/run/mctr/cgroups/$quiet"
ln -s "$MCTR_ROOT/containers/$quiet" "/run/mctr/cgroups/$quiet"
expect_status 1 mctr system check
assert_contains "$OUT" "cgroup mctr/000000000000 belongs to no container"
expect_status 0 mctr system check --repair
assert_no_file "/sys/fs/cgroup/pids/mctr/$quiet"
assert_no_file "/run/mctr/cgroups/$quiet"
rmdir "/sys/fs/cgroup/pids/mctr/$quiet" 2>/dev/null || true
# Claims a crash left (cgroup and record gone): this root's go, others stay.
stale=$(printf '%064d' 9)
ln -s "$MCTR_ROOT/containers/$stale" "/run/mctr/cgroups/$stale"
ln -s "$other/containers/$quiet" "/run/mctr/cgroups/$quiet"
expect_status 1 mctr system check
assert_contains "$OUT" "claim /run/mctr/cgroups/000000000000 names no cgroup and no container"
assert_contains "$OUT" "1 problem"
expect_status 0 mctr system check --repair
assert_no_file "/run/mctr/cgroups/$stale"
assert_file_exists "/run/mctr/cgroups/$quiet"
rm -f "/run/mctr/cgroups/$quiet"
expect_status 0 mctro rm -f "$oid"
assert_eq "" "$(cgroups_of "$oid")" "the other root's cgroup after its rm"

t_begin "stop never signals a recycled PID"
expect_status 0 mctr run -d --name recycled busybox sleep 100
rid=$OUT
wait_state recycled running
# Forge the record: the container's PID now names an unrelated live process.
sleep 100 & decoy=$!
python3 - "$MCTR_ROOT/containers/$rid/state.json" "$decoy" <<'PY'
import json, sys
p, pid = sys.argv[1], int(sys.argv[2])
s = json.load(open(p))
s["real_pid"] = s["pid"]; s["pid"] = pid
json.dump(s, open(p, "w"))
PY
expect_status 125 mctr kill recycled
pid_alive "$decoy" || fail "the decoy process was signalled"
kill "$decoy"
expect_status 0 mctr rm -f recycled

t_begin "concurrent runs all succeed, and the last one out leaves no mctr cgroup behind"
pids=()
for i in $(seq 12); do
	"$MCTR_BIN" --root "$MCTR_ROOT" run --rm busybox sh -c "echo run-$i" >"$T_SANDBOX/par-$i.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent run failed: $(cat "$T_SANDBOX"/par-*.out | grep -v '^run-' | head -3)"; done
for i in $(seq 12); do assert_eq "run-$i" "$(cat "$T_SANDBOX/par-$i.out")" "output of run $i"; done
# The shared parents go with the last container on the host: only check
# when no container of any root (no claim) exists around the look.
if [[ -z $(mctr ps -q) ]]; then
	shopt -s nullglob
	claims_before=(/run/mctr/cgroups/*)
	parents=(/sys/fs/cgroup/*/mctr)
	claims_after=(/run/mctr/cgroups/*)
	shopt -u nullglob
	if [[ ${#claims_before[@]} -eq 0 && ${#claims_after[@]} -eq 0 ]]; then
		assert_eq "" "${parents[*]}" "shared mctr cgroups removed with the last container"
	else
		diag "another root runs containers: the shared parents may stay"
	fi
fi

t_begin "container prune removes stopped containers only"
expect_status 0 mctr run -d --name keep busybox sleep 100
wait_state keep running
expect_status 0 mctr container prune -f
assert_contains "$OUT" "Deleted Containers"
expect_status 0 mctr ps -a --format json
assert_contains "$OUT" '"keep"'
assert_not_contains "$OUT" '"later"'
expect_status 0 mctr rm -f keep
assert_eq 0 "$(mctr ps -aq | wc -l)" "containers left"

t_begin "rmi refuses an image a container uses; -f untags and keeps it"
expect_status 0 mctr create --name user busybox true
expect_status 125 mctr rmi busybox
assert_contains "$ERR" "container user is using it"
expect_status 0 mctr rmi -f busybox
expect_status 0 mctr start -a user
expect_status 0 mctr rm user
expect_status 0 mctr image prune -f
assert_eq 0 "$(mctr images -q | wc -l)" "images left"
