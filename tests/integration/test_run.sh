#!/bin/bash
# mctr run: the process a Docker user expects (command merge, env, user,
# workdir, exit codes, stdin, tty, signals, --init), nothing left behind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
need_fixtures
mctr load -q -i "$FIXTURES/busybox-docker.tar"
mctr load -q -i "$FIXTURES/layered-docker.tar"

mounts_before=$(grep -c . /proc/self/mountinfo)
leftovers() {	# what a finished container could leave on the host
	local d c
	{ grep -E " overlay |$MCTR_ROOT" /proc/self/mountinfo || true
	  find /run/mctr/cgroups -lname "$MCTR_ROOT/*" 2>/dev/null || true
	  # Every cgroup under mctr/ but those another root claims (its
	  # containers may run while this test does).
	  for d in $(find /sys/fs/cgroup -maxdepth 3 -path '*/mctr/*' -type d 2>/dev/null); do
		c=$(readlink "/run/mctr/cgroups/${d##*/}" 2>/dev/null) || c=
		[[ -n $c && $c != "$MCTR_ROOT/"* ]] || echo "$d"
	  done; } | sort
}

t_begin "run prints the command's output and returns its exit code"
expect_status 0 mctr run --rm busybox echo hello
assert_eq hello "$OUT"
expect_status 3 mctr run --rm busybox sh -c 'exit 3'
expect_status 0 mctr run --rm busybox sh -c 'echo out; echo err >&2'
assert_eq out "$OUT"
assert_eq err "$ERR"

t_begin "a relative --root works for run and a detached run"
rel=$(realpath --relative-to=. "$MCTR_ROOT")
expect_status 0 "$MCTR_BIN" --root "$rel" run --rm busybox echo relative
assert_eq relative "$OUT"
expect_status 0 "$MCTR_BIN" --root "$rel" run -d --name relative-d busybox true
expect_status 0 mctr wait relative-d
assert_eq 0 "$OUT"
expect_status 0 mctr rm relative-d

t_begin "image Cmd, WorkingDir and Env apply; flags override them"
expect_status 0 mctr run --rm layered
assert_eq b "$OUT" "Cmd cat /data/b"
expect_status 0 mctr run --rm layered pwd
assert_eq /data "$OUT" "WorkingDir"
expect_status 0 mctr run --rm -w /etc layered pwd
assert_eq /etc "$OUT"
expect_status 0 mctr run --rm layered sh -c 'echo $FIXTURE'
assert_eq layered "$OUT"
expect_status 0 mctr run --rm -e FIXTURE=flag -e NEW=1 layered sh -c 'echo $FIXTURE $NEW'
assert_eq "flag 1" "$OUT"
printf 'A=from file\n# comment\n\nB=2\n' >"$T_SANDBOX/envfile"
expect_status 0 mctr run --rm --env-file "$T_SANDBOX/envfile" busybox sh -c 'echo "$A/$B"'
assert_eq "from file/2" "$OUT"
expect_status 0 env FROM_HOST=yes "$MCTR_BIN" --root "$MCTR_ROOT" run --rm -e FROM_HOST -e UNSET_HERE busybox \
	sh -c 'echo "$FROM_HOST ${UNSET_HERE-unset}"'
assert_eq "yes unset" "$OUT" "-e KEY takes mctr's value; an unset KEY is left out"
expect_status 0 mctr run --rm --entrypoint /bin/echo busybox a b
assert_eq "a b" "$OUT"
expect_status 0 mctr run --rm busybox sh -c 'echo $HOME $PATH'
assert_eq "/root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$OUT"

t_begin "the layered image's whiteouts and opaque dir hold in the container"
expect_status 0 mctr run --rm layered ls /data
assert_eq $'b\nc\ndir\nhard\nlink' "$OUT" "/data (a whited out)"
expect_status 0 mctr run --rm layered ls /data/dir
assert_eq z "$OUT" "/data/dir (opaque: x and y hidden)"
expect_status 0 mctr run --rm layered cat /data/link
assert_eq "$(mctr run --rm layered cat /etc/motd)" "$OUT" "symlink"

t_begin "-u: names and numbers, groups from the image's /etc/group"
expect_status 0 mctr run --rm -u app busybox id
assert_contains "$OUT" "uid=1000(app) gid=1000(app) groups="
assert_contains "$OUT" "50(staff)"
expect_status 0 mctr run --rm -u 1000:1000 busybox id -u
assert_eq 1000 "$OUT"
expect_status 0 mctr run --rm -u 1000 busybox sh -c 'id -g; echo $HOME'
assert_eq $'1000\n/home/app' "$OUT" "a bare uid is looked up in /etc/passwd, as Docker does"
expect_status 0 mctr run --rm -u 4242 busybox sh -c 'id -u; id -g; echo $HOME'
assert_eq $'4242\n0\n/' "$OUT" "an unknown uid runs with gid 0 and HOME /"
expect_status 0 mctr run --rm -u app busybox sh -c 'echo $HOME; grep CapEff /proc/self/status'
assert_contains "$OUT" "/home/app"
assert_contains "$OUT" "CapEff:	0000000000000000"
expect_status 125 mctr run --rm -u nosuchuser busybox true
assert_contains "$ERR" "nosuchuser"

t_begin "-u reads the image's own /etc/passwd and /etc/group, never the host's through a symlink"
mkdir -p "$T_SANDBOX/hostetc" "$T_SANDBOX/pwlink"
echo 'hostonly:x:4321:4321::/hosthome:/bin/sh' >"$T_SANDBOX/hostetc/passwd"
echo 'hostgrp:x:4321:hostonly' >"$T_SANDBOX/hostetc/group"
tar -C "$T_SANDBOX/pwlink" -xf "$FIXTURES/busybox-rootfs.tar"
ln -sf "$T_SANDBOX/hostetc/passwd" "$T_SANDBOX/pwlink/etc/passwd"
ln -sf "$T_SANDBOX/hostetc/group" "$T_SANDBOX/pwlink/etc/group"
tar -C "$T_SANDBOX/pwlink" -cf "$T_SANDBOX/pwlink.tar" .
expect_status 0 mctr import -q "$T_SANDBOX/pwlink.tar" pwlink
expect_status 125 mctr run --rm -u hostonly pwlink true
assert_contains "$ERR" "unable to find user hostonly"
expect_status 125 mctr run --rm -u 0:hostgrp pwlink true
assert_contains "$ERR" "unable to find group hostgrp"
expect_status 0 mctr rmi pwlink

t_begin "exit codes: 125 mctr, 126 not executable, 127 not found, 128+N signals"
expect_status 127 mctr run --rm busybox /no/such/cmd
assert_contains "$ERR" "/no/such/cmd"
expect_status 126 mctr run --rm busybox /etc/passwd
# PID 1 cannot be killed from inside its namespace: the signal hits a child.
expect_status 137 mctr run --rm busybox sh -c 'sh -c "kill -9 \$\$"; exit $?'
expect_status 143 mctr run --rm busybox sh -c 'sh -c "kill -TERM \$\$; sleep 5"; exit $?'
expect_status 0 mctr run --rm busybox sh -c 'kill -9 $$; echo survived'
assert_eq survived "$OUT" "PID 1 ignores signals it has no handler for"
# --pull never: a missing image must not make a test reach Docker Hub.
expect_status 125 mctr run --rm --pull never no-such-image true
assert_contains "$ERR" "no such image: no-such-image"
expect_status 125 mctr run --rm --memory bogus busybox true
assert_contains "$ERR" "bogus"
expect_status 125 mctr run --rm -w relative busybox true
assert_contains "$ERR" "absolute"

t_begin "stdin is closed without -i and given with -i"
expect_status 0 bash -c "echo data | '$MCTR_BIN' --root '$MCTR_ROOT' run --rm busybox cat"
assert_eq "" "$OUT"
expect_status 0 bash -c "echo data | '$MCTR_BIN' --root '$MCTR_ROOT' run --rm -i busybox cat"
assert_eq data "$OUT"

t_begin "-t gives a terminal; -it works interactively (driven through script(1))"
expect_status 0 script -qec "'$MCTR_BIN' --root '$MCTR_ROOT' run --rm -t busybox sh -c 'tty; stty size'" /dev/null
assert_contains "$OUT" "/dev/pts/0"
expect_status 0 bash -c "printf 'echo in-\$((40+2))\nexit 7\n' | script -qec \"'$MCTR_BIN' --root '$MCTR_ROOT' run --rm -it busybox sh\" /dev/null; echo status=\$?"
assert_contains "$OUT" "in-42"

t_begin "-t: the window size passes through and the terminal is restored on every exit path"
expect_status 0 script -qec "stty cols 123 rows 45; '$MCTR_BIN' --root '$MCTR_ROOT' run --rm -t busybox stty size" /dev/null
assert_contains "$OUT" "45 123"
for cmd in "true" "sh -c 'exit 3'" "nosuchcmd" "sh -c 'sh -c \"kill -9 \\\$\\\$\"; exit \$?'"; do
	expect_status 0 script -qec "stty sane; '$MCTR_BIN' --root '$MCTR_ROOT' run --rm -t busybox $cmd; stty -a" /dev/null
	assert_contains "$OUT" " icanon " "canonical mode back after: $cmd"
	assert_contains "$OUT" " echo " "echo back after: $cmd"
done

t_begin "the command starts with default signal dispositions and an empty mask"
expect_status 0 bash -c "trap '' INT PIPE HUP TERM; exec '$MCTR_BIN' --root '$MCTR_ROOT' run --rm busybox grep -E 'SigIgn|SigBlk' /proc/self/status"
assert_eq $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' "$OUT" "nothing ignored or blocked, whatever mctr inherited"
expect_status 0 bash -c "trap '' INT PIPE; exec '$MCTR_BIN' --root '$MCTR_ROOT' run --rm --init busybox grep -E 'SigIgn|SigBlk' /proc/self/status"
assert_eq $'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000' "$OUT" "the same under --init"

t_begin "signals sent to the foreground mctr reach the container"
"$MCTR_BIN" --root "$MCTR_ROOT" run --rm --name sig busybox sh -c 'trap "echo got-term; exit 0" TERM; while true; do sleep 0.1; done' >"$T_SANDBOX/sig.out" 2>&1 &
mp=$!
for _ in $(seq 100); do grep -q running <(mctr ps --format json 2>/dev/null) && break; sleep 0.05; done
sleep 0.3
kill -TERM "$mp"
wait "$mp"; st=$?
assert_eq 0 "$st" "exit status after TERM"
assert_contains "$(cat "$T_SANDBOX/sig.out")" got-term

t_begin "--init reaps zombies and forwards signals; without it sh is PID 1"
expect_status 0 mctr run --rm busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "'
assert_contains "$OUT" "sh -c cat"
expect_status 0 mctr run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "'
assert_not_contains "$OUT" "sh -c" "with --init, PID 1 is the init"
assert_not_contains "$OUT" "$MCTR_ROOT" "the init shows no host path"
expect_status 137 mctr run --rm --init busybox sh -c 'kill -9 $$' 
expect_status 0 mctr run --rm --init busybox sh -c '(sleep 0.1 & exec true) ; sleep 0.5; ps -o stat,comm | grep -c Z || true'
assert_eq 0 "$OUT" "zombies"
expect_status 143 mctr run --rm --init busybox sh -c 'kill -TERM 1; sleep 5'

t_begin "--rm mounts the throwaway writable layer volatile (no sync at exit); without --rm it is durable"
expect_status 0 mctr run --rm busybox grep " / " /proc/mounts
assert_contains "$OUT" "volatile" "--rm"
expect_status 0 mctr run --name durable busybox grep " / " /proc/mounts
assert_not_contains "$OUT" "volatile" "a container that stays"
expect_status 0 mctr rm durable

t_begin "the host's /etc/resolv.conf reaches the container also when it is a symlink (systemd-resolved)"
mkdir -p "$T_SANDBOX/etc-up" "$T_SANDBOX/etc-work"
echo "nameserver 192.0.2.53" >"$T_SANDBOX/resolv.real"
# In a mount namespace of its own, over an overlay of /etc: the host's /etc never changes.
expect_status 0 unshare -m --propagation private sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir='$T_SANDBOX/etc-up',workdir='$T_SANDBOX/etc-work' /etc &&
	ln -sf '$T_SANDBOX/resolv.real' /etc/resolv.conf && '$MCTR_BIN' --root '$MCTR_ROOT' run --rm busybox cat /etc/resolv.conf"
assert_eq "nameserver 192.0.2.53" "$OUT"

t_begin "mctr runtime run: a container's bundle alone, with its output, exit code, signals and terminal"
expect_status 0 mctr create --name rb busybox sh -c 'echo in-bundle; exit 3'
rb=$MCTR_ROOT/containers/$OUT
expect_status 3 mctr runtime run "$rb"
assert_eq in-bundle "$OUT"
expect_status 0 mctr create --name rsig busybox sh -c 'trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done'
rsig=$MCTR_ROOT/containers/$OUT
"$MCTR_BIN" --root "$MCTR_ROOT" runtime run "$rsig" >"$T_SANDBOX/rsig.out" 2>&1 &
mp=$!
for _ in $(seq 100); do grep -q ready "$T_SANDBOX/rsig.out" && break; sleep 0.05; done
kill -TERM "$mp"
wait "$mp"; st=$?
assert_eq 0 "$st" "exit status after TERM"
assert_eq $'ready\ngot-term' "$(cat "$T_SANDBOX/rsig.out")"
expect_status 0 mctr create -t --name rtty busybox sh -c 'tty; stty size; exit 5'
rtty=$MCTR_ROOT/containers/$OUT
expect_status 0 script -qec "stty cols 77 rows 11; '$MCTR_BIN' --root '$MCTR_ROOT' runtime run '$rtty'; echo status=\$?; stty -a" /dev/null
assert_contains "$OUT" "/dev/pts/0"
assert_contains "$OUT" "11 77"
assert_contains "$OUT" "status=5"
assert_contains "$OUT" " icanon " "the terminal is restored"
expect_status 0 mctr rm rb rsig rtty

t_begin "--rm leaves no container, mount or cgroup; a failed run leaves nothing either"
before=$(mctr ps -aq | wc -l)
expect_status 0 mctr run --rm busybox true
expect_status 127 mctr run --rm busybox nosuch
expect_status 125 mctr run --rm -u nobody-here busybox true
# Without --rm too: a run that never ran its command leaves no record,
# and its name is free again.
expect_status 127 mctr run --name failing busybox nosuch
assert_contains "$ERR" "exec: \"nosuch\": executable file not found"
assert_no_file "$MCTR_ROOT/names/failing"
expect_status 126 mctr run -d --name failing busybox /etc/passwd
assert_no_file "$MCTR_ROOT/names/failing"
expect_status 125 mctr run --memory 1k busybox true
expect_status 125 mctr run --pull never no-such-image true
expect_status 125 mctr run --memory bogus busybox true
assert_eq "$before" "$(mctr ps -aq | wc -l)" "containers"
assert_eq "" "$(leftovers)" "mounts and cgroups"
assert_eq "$mounts_before" "$(grep -c . /proc/self/mountinfo)" "host mount count"
