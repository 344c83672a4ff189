#!/bin/bash
# mctr exec: a new process joins all of a running container's namespaces and
# its cgroup, with its capabilities; -i, -t, -e, -u, -w; exit codes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need_fixtures
mctr load -q -i "$FIXTURES/busybox-docker.tar"
expect_status 0 mctr run -d --name box --hostname boxhost --memory 32m busybox sh -c 'echo marker > /tmp/m; sleep 300'
for _ in $(seq 100); do mctr exec box true 2>/dev/null && break; sleep 0.05; done

t_begin "exec sees the container's filesystem, hostname, PID 1, cgroup and network"
expect_status 0 mctr exec box sh -c 'cat /tmp/m; hostname; tr "\0" " " </proc/1/cmdline; echo; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls /sys/class/net'
assert_eq $'marker\nboxhost\nsleep 300 \n33554432\nlo' "$OUT"
pid1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$MCTR_ROOT/containers/$(mctr ps -q --no-trunc)/state.json")
expect_status 0 mctr exec box sh -c 'for n in pid mnt net ipc uts cgroup; do readlink /proc/self/ns/$n; done'
assert_eq "$(readlink /proc/$pid1/ns/pid /proc/$pid1/ns/mnt /proc/$pid1/ns/net /proc/$pid1/ns/ipc /proc/$pid1/ns/uts /proc/$pid1/ns/cgroup)" "$OUT" "namespaces"

t_begin "exec gets the container's capabilities, no leaked fds, and the exit code"
expect_status 0 mctr exec box sh -c 'grep -E "CapEff|CapInh|CapAmb" /proc/self/status; ls /proc/$$/fd; true'
assert_eq $'CapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\nCapAmb:\t0000000000000000\n0\n1\n2' "$OUT"
expect_status 7 mctr exec box sh -c 'exit 7'
expect_status 127 mctr exec box nosuch
assert_contains "$ERR" '"nosuch": executable file not found'

t_begin "exec -u, -w, -e, -i, -t"
expect_status 0 mctr exec -u app -w /tmp -e X=1 box sh -c 'id -un; pwd; echo $X; grep CapEff /proc/self/status'
assert_eq $'app\n/tmp\n1\nCapEff:\t0000000000000000' "$OUT"
expect_status 0 bash -c "echo piped | '$MCTR_BIN' --root '$MCTR_ROOT' exec -i box cat"
assert_eq piped "$OUT"
expect_status 0 script -qec "'$MCTR_BIN' --root '$MCTR_ROOT' exec -t box tty" /dev/null
assert_contains "$OUT" "/dev/pts/"

t_begin "exec into a stopped or unknown container fails with 125"
expect_status 0 mctr stop -t 0 box
expect_status 125 mctr exec box true
assert_contains "$ERR" "container box is not running"
expect_status 125 mctr exec nosuchbox true
assert_contains "$ERR" "no such container: nosuchbox"
expect_status 0 mctr rm box
