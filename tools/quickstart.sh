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

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMCTR_TESTS=OFF >/dev/null
make -C build -j"$(nproc)" -s --no-print-directory
make -C build -s --no-print-directory install >/dev/null
echo "installed: $(command -v mctr) ($(mctr --version))"

work=/var/tmp/mctr-quickstart
tools/mkimage-busybox.sh "$work" >/dev/null
mctr import --change 'CMD ["sh"]' "$work/busybox-rootfs.tar" busybox:latest >/dev/null
mctr images
