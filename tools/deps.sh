#!/bin/bash
# Usage: tools/deps.sh build|test
#
# Installs the Debian 12 packages mctr needs: `build` for building and running
# it (what the README's first command needs), `test` for the whole test suite
# and the benchmarks as well.  Only what is missing is installed, so a second
# run costs nothing.  Needs root (CI and the README run as root).
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
	libarchive-dev libcurl4-openssl-dev libjansson-dev libcap-dev libssl-dev
	libzstd-dev zlib1g-dev libisal-dev busybox-static)
# Test-only tools: Check for unit tests; a real registry, skopeo and umoci to
# build and push fixtures; python3 for the hostile corpus and token server;
# debootstrap for the Debian image; podman/runc/crun as side-by-side checks.
test_pkgs=(check docker-registry skopeo umoci python3 python3-jwt python3-cryptography
	debootstrap openssl zstd gzip tar iproute2 podman runc crun hyperfine curl
	util-linux procps time)

case ${1:-} in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	echo "tools/deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || true	# a stale package list is fine if the mirror is unreachable
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
