#!/bin/bash
# What a curious root user inside the container can see and do: namespaces,
# mounts, masked and read-only paths, capabilities, devices, cgroup limits,
# volumes (and symlink tricks against them), no leaked file descriptors.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need_fixtures
mctr load -q -i "$FIXTURES/busybox-docker.tar"
run() { expect_status "$1" mctr run --rm "${@:2}"; }
host_mounts=$(cut -d' ' -f5 /proc/self/mountinfo | sort)

t_begin "PID namespace: the command is PID 1 and sees no host process"
run 0 busybox sh -c 'echo $$; ps -o comm >/tmp/ps; cat /tmp/ps'
assert_eq $'1\nCOMMAND\nsh\nps' "$OUT" "PID 1, and nothing but sh and ps visible"

t_begin "UTS namespace: hostname is the short ID, or --hostname; the host's stays"
host_hn=$(hostname)
run 0 busybox hostname
assert_eq 12 "${#OUT}" "default hostname length"
run 0 --hostname box busybox sh -c 'hostname; cat /etc/hostname; grep box /etc/hosts'
assert_eq $'box\nbox\n127.0.1.1\tbox' "$OUT"
assert_eq "$host_hn" "$(hostname)" "host hostname"

t_begin "IPC, net, cgroup and mount namespaces differ from the host's"
for ns in ipc net cgroup mnt uts pid; do
	run 0 busybox readlink /proc/self/ns/$ns
	[[ $OUT != "$(readlink /proc/self/ns/$ns)" ]] && ok || fail "$ns namespace shared with the host"
done
run 0 --network host busybox readlink /proc/self/ns/net
assert_eq "$(readlink /proc/self/ns/net)" "$OUT" "--network host shares the host's"
run 0 busybox sh -c 'cat /proc/self/cgroup | cut -d: -f3 | sort -u'
assert_eq / "$OUT" "private cgroup namespace: every hierarchy shows /"

t_begin "network: only loopback, and it is up; none is the same"
run 0 busybox sh -c 'ls /sys/class/net; ip link show lo | head -1'
assert_contains "$OUT" "lo"
assert_contains "$OUT" "UP"
assert_eq 1 "$(mctr run --rm --network none busybox ls /sys/class/net | wc -l)" "interfaces with none"
run 0 busybox ping -c1 -W1 127.0.0.1
assert_contains "$OUT" "1 packets received"

t_begin "the host's mount table never changes"
run 0 busybox sh -c 'mount | wc -l'
assert_eq "$host_mounts" "$(cut -d' ' -f5 /proc/self/mountinfo | sort)" "host mount points"
assert_not_contains "$(cat /proc/self/mountinfo)" "$MCTR_ROOT"

t_begin "/dev holds only the standard devices; /proc and /sys are masked and read-only"
run 0 busybox ls /dev
assert_eq "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero" "$(tr '\n' ' ' <<<"$OUT" | sed 's/ $//')" "devices"
run 0 -t busybox ls /dev/console
for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/interrupts /proc/latency_stats; do
	[[ -e $p ]] || continue
	run 0 busybox sh -c "wc -c <$p"
	assert_eq 0 "$OUT" "masked $p"
done
for d in /proc/acpi /proc/scsi /sys/firmware; do
	[[ -d $d ]] || continue
	run 0 busybox sh -c "ls $d | wc -l"
	assert_eq 0 "$OUT" "masked $d"
done
run 1 busybox sh -c 'echo x > /proc/sys/kernel/hostname'
assert_contains "$ERR" "Read-only"
run 1 busybox sh -c 'echo 1 > /proc/sysrq-trigger'
run 1 busybox touch /sys/kernel/x
assert_contains "$ERR" "Read-only"
run 0 busybox sh -c 'grep " /sys " /proc/self/mounts; grep " /proc " /proc/self/mounts'
assert_contains "$OUT" "sysfs ro,"
assert_contains "$OUT" "proc rw,nosuid,nodev,noexec"

t_begin "capabilities: Docker's 14, inheritable and ambient empty; add/drop/privileged/NNP"
run 0 busybox grep -E 'Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status
assert_eq $'CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000' "$OUT"
run 1 --cap-drop CHOWN busybox chown 1000 /tmp
assert_contains "$ERR" "Operation not permitted"
run 0 --cap-add NET_ADMIN busybox ip link set lo down
run 2 busybox ip link set lo down
run 0 --privileged busybox grep CapEff /proc/self/status
[[ $OUT == *"a80425fb" ]] && fail "--privileged kept the default set" || ok
assert_eq "$(grep CapEff /proc/self/status)" "$OUT" "--privileged: every capability mctr itself has"
run 0 --privileged busybox sh -c 'grep " /sys " /proc/self/mounts; ls /sys/firmware | wc -l'
assert_contains "$OUT" "sysfs rw," "--privileged: /sys writable"
if [[ -n $(ls -A /sys/firmware 2>/dev/null) ]]; then
	[[ ${OUT##*$'\n'} -gt 0 ]] && ok || fail "--privileged: /sys/firmware still masked"
fi
run 0 busybox grep NoNewPrivs /proc/self/status
assert_contains "$OUT" $'NoNewPrivs:\t0'
run 0 --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
assert_contains "$OUT" $'NoNewPrivs:\t1'
run 125 --cap-add NOT_A_CAP busybox true
assert_contains "$ERR" "NOT_A_CAP"

t_begin "devices: mknod is allowed (CAP_MKNOD) but the node cannot be opened"
maj=$(stat -c '%t' /dev/loop0 2>/dev/null || echo 7); maj=$((16#$maj))
run 1 busybox sh -c "mknod /tmp/disk b $maj 0 && head -c1 /tmp/disk"
assert_contains "$ERR" "Operation not permitted"
run 0 busybox sh -c 'head -c1 /dev/zero | wc -c; echo x > /dev/null'
assert_eq 1 "$OUT"
if [[ -b /dev/loop0 ]] && head -c1 /dev/loop0 >/dev/null 2>&1; then
	run 0 --privileged busybox sh -c "mknod /tmp/disk b $maj 0 && head -c1 /tmp/disk >/dev/null"
fi

t_begin "cgroup limits land in the container's cgroup: memory, pids, cpus"
run 0 --memory 64m --pids-limit 20 --cpus 1.5 --cpu-shares 512 busybox sh -c \
	'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares'
assert_eq $'67108864\n20\n150000\n512' "$OUT"
if [[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]]; then
	run 0 --memory 64m --memory-swap 128m busybox cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes
	assert_eq 134217728 "$OUT" "--memory-swap"
else
	run 0 --memory 64m --memory-swap 128m busybox true
	assert_contains "$ERR" "swap limit" "no swap accounting here: said so, and run anyway"
fi
run_cmd mctr run --rm --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait'
assert_contains "$ERR" "can't fork"

t_begin "an OOM kill gives 137 and inspect says OOMKilled"
expect_status 137 mctr run --name oom --memory 16m --memory-swap 16m busybox sh -c 'tail /dev/zero'
expect_status 0 mctr inspect oom
assert_contains "$OUT" '"OOMKilled": true'
assert_contains "$OUT" '"ExitCode": 137'
expect_status 0 mctr rm oom

t_begin "--read-only root, --tmpfs, and -v binds (rw and ro)"
run 1 --read-only busybox touch /x
assert_contains "$ERR" "Read-only"
run 0 --read-only --tmpfs /run busybox sh -c 'touch /run/x && echo ok'
assert_eq ok "$OUT"
vol=$T_SANDBOX/vol; mkdir -p "$vol"
run 0 -v "$vol:/data" busybox sh -c 'echo from-container > /data/f'
assert_eq from-container "$(cat "$vol/f")"
run 1 -v "$vol:/data:ro" busybox sh -c 'echo x > /data/g'
assert_no_file "$vol/g"
run 0 -v "$T_SANDBOX/newdir:/new" busybox true
assert_file_exists "$T_SANDBOX/newdir"

t_begin "a -v target behind an image symlink lands inside the container, not on the host"
canary_setup
evil=$T_SANDBOX/evil-rootfs; mkdir -p "$evil"
tar -C "$evil" -xf "$FIXTURES/busybox-rootfs.tar"
ln -s /var/tmp/mctr-canary "$evil/escape"
ln -s ../../../../../../var/tmp/mctr-canary "$evil/escape-rel"
tar -C "$evil" -cf "$T_SANDBOX/evil.tar" .
expect_status 0 mctr import -q "$T_SANDBOX/evil.tar" evil
run 0 -v "$vol:/escape/mnt" -v "$vol:/escape-rel/mnt2" evil sh -c 'cat /var/tmp/mctr-canary/mnt/f /var/tmp/mctr-canary/mnt2/f'
assert_eq $'from-container\nfrom-container' "$OUT" "the binds are inside the container's own /var/tmp/mctr-canary"
assert_host_untouched
run 0 -w /escape/work evil pwd
assert_host_untouched

t_begin "no file descriptor leaks into the container"
run 0 busybox sh -c 'ls /proc/$$/fd; true'
assert_eq $'0\n1\n2' "$OUT" "PID 1's fds"
run 0 -t busybox sh -c 'ls -1 /proc/$$/fd; true'
assert_eq $'0\n1\n2' "$(tr -d '\r' <<<"$OUT")" "fds with a tty"

t_begin "--ulimit within the host's limits; beyond them a clear error"
run 0 --ulimit nofile=100:200 busybox sh -c 'ulimit -n; ulimit -Hn'
assert_eq $'100\n200' "$OUT"
hard=$(ulimit -Hn)
run 125 --ulimit "nofile=$((hard + 1)):$((hard + 1))" busybox true
assert_contains "$ERR" "nofile"
