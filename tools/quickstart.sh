#!/bin/bash
# Usage: tools/quickstart.sh        (the README's first command; run as root)
#
# From a fresh Debian 12 machine to a running container, offline: installs
# the build packages (from the Debian mirror), builds and installs mctr to
# /usr/local, builds a busybox image from the host's busybox-static, imports
# it, lists it, and runs containers from it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "tools/quickstart.sh: run it as root (it installs packages and runs containers)" >&2
	exit 1
fi
tools/deps.sh build

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMCTR_TESTS=OFF -DCMAKE_RULE_MESSAGES=OFF >/dev/null
make -C build -j"$(nproc)" -s --no-print-directory >/dev/null	# errors and warnings still show
make -C build -s --no-print-directory install >/dev/null
echo "installed: $(command -v mctr) ($(mctr --version))"

work=/var/tmp/mctr-quickstart
if ! mctr inspect --type image busybox:latest >/dev/null 2>&1; then
	tools/mkimage-busybox.sh "$work" >/dev/null
	mctr import --change 'CMD ["sh"]' "$work/busybox-rootfs.tar" busybox:latest >/dev/null
fi
mctr images

# A container from it, to show what isolation it gets; then, on a terminal,
# an interactive shell in a fresh one (exit it with `exit`).
mctr run --rm --name quickstart --memory 64m busybox sh -c '
	echo "hello from container $(hostname): I am PID $$ and see only these processes:"
	ps -o pid,user,comm
	echo "capabilities $(grep CapEff /proc/self/status | cut -f2), memory limit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) bytes"
	echo "network interfaces: $(ls /sys/class/net | tr "\n" " ")"'
if [[ -t 0 && -t 1 ]]; then
	echo "starting an interactive shell in a new container: mctr run --rm -it busybox sh"
	exec mctr run --rm -it busybox sh
fi
