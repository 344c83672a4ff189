#!/bin/bash
# Usage: tools/bench/run.sh
#
# Container start+stop latency and peak memory, all in one run on the same
# busybox rootfs: `mctr run --rm --network none busybox true`, `crun run` and
# `runc run` of an equivalent bundle (same namespaces, same rootfs), `podman
# run`, and the bare floor `unshare (all namespaces) chroot ROOTFS true`.
# Also mctr with the ~120 MB Debian image against the 2 MB busybox one (an
# overlay start must not depend on the image's size).  Writes the "run"
# section of docs/benchmarks.md.
#
# crun 1.8 refuses this machine's hybrid cgroup layout (a controller on
# /sys/fs/cgroup/unified), so everything is measured inside a private mount
# namespace where /sys/fs/cgroup/unified is unmounted: a plain cgroup v1 host
# for every runtime alike.
source "$(dirname "$0")/lib.sh"
bench_prepare
F=$MCTR_FIXTURES
bench_scratch_fs
R=$BENCH_FS/root
"$MCTR_BIN" --root "$R" load -q -i "$F/busybox-docker.tar"
"$MCTR_BIN" --root "$R" load -q -i "$F/debian-docker.tar"

# An OCI bundle with the busybox rootfs for crun/runc: the namespaces mctr
# uses, no network, Docker's capabilities.
B=$BENCH_FS/bundle
mkdir -p "$B/rootfs"
tar -C "$B/rootfs" -xf "$F/busybox-rootfs.tar"
(cd "$B" && crun spec >/dev/null 2>&1 || runc spec)
python3 - "$B/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["root"]["readonly"] = False
ns = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]
c["linux"]["namespaces"] = ns
json.dump(c, open(p, "w"))
PY

# podman, with its own storage and the busybox image loaded from the fixture.
P=$BENCH_FS/podman
podman_cmd="podman --root $P/root --runroot $P/run --runtime runc run --rm --network none \
--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 docker.io/library/busybox:latest true"
podman --root "$P/root" --runroot "$P/run" load -q -i "$F/busybox-docker.tar" >/dev/null

inner=$BENCH_TMP/inner.sh
cat >"$inner" <<EOS
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
BENCH_TMP=$BENCH_TMP BENCH_RUNS=$BENCH_RUNS
$(declare -f bench_time bench_rss)
declare -A BENCH_MS BENCH_RSS
bench_time mctr ":" "$MCTR_BIN --root $R run --rm --network none busybox true"
bench_time mctr-debian ":" "$MCTR_BIN --root $R run --rm --network none debian:bookworm true"
bench_time crun ":" "crun run --bundle $B bench-crun"
bench_time runc ":" "runc run --bundle $B bench-runc"
bench_time floor ":" "unshare --mount --pid --fork --uts --ipc --net --cgroup chroot $B/rootfs /bin/true"
bench_time podman ":" "$podman_cmd"
bench_rss mctr ":" "$MCTR_BIN --root $R run --rm --network none busybox true"
bench_rss crun ":" "crun run --bundle $B bench-crun"
bench_rss runc ":" "runc run --bundle $B bench-runc"
declare -p BENCH_MS BENCH_RSS >$BENCH_TMP/results.sh
EOS
echo "run benchmarks ($BENCH_RUNS runs each, median):" >&2
unshare -m --propagation private bash "$inner"
source "$BENCH_TMP/results.sh"

out=$BENCH_TMP/section.md
{
	echo "Run on $(bench_machine) by \`tools/bench/run.sh\`; median of $BENCH_RUNS runs of a container running \`true\` on the busybox rootfs, start to removal."
	echo
	echo "| what | time | vs mctr | peak RSS |"
	echo "|---|---|---|---|"
	echo "| \`mctr run --rm --network none busybox true\` | ${BENCH_MS[mctr]} ms | 1.00 | ${BENCH_RSS[mctr]} KiB |"
	echo "| \`crun run\` (same rootfs and namespaces, no overlay) | ${BENCH_MS[crun]} ms | $(ratio "${BENCH_MS[crun]}" "${BENCH_MS[mctr]}") | ${BENCH_RSS[crun]} KiB |"
	echo "| \`runc run\` (same bundle) | ${BENCH_MS[runc]} ms | $(ratio "${BENCH_MS[runc]}" "${BENCH_MS[mctr]}") | ${BENCH_RSS[runc]} KiB |"
	echo "| \`podman run --rm --network none\` (runc) | ${BENCH_MS[podman]} ms | $(ratio "${BENCH_MS[podman]}" "${BENCH_MS[mctr]}") | |"
	echo "| floor: \`unshare\` (6 namespaces) \`chroot ROOTFS true\` | ${BENCH_MS[floor]} ms | $(ratio "${BENCH_MS[floor]}" "${BENCH_MS[mctr]}") | |"
	echo "| \`mctr run\` of the 120 MB Debian image | ${BENCH_MS[mctr-debian]} ms | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[mctr]}") | |"
	echo
	echo "Ratios: mctr / crun = $(ratio "${BENCH_MS[mctr]}" "${BENCH_MS[crun]}") (target <= 1), mctr / floor = $(ratio "${BENCH_MS[mctr]}" "${BENCH_MS[floor]}") (target <= 2), podman / mctr = $(ratio "${BENCH_MS[podman]}" "${BENCH_MS[mctr]}") (target >= 20), Debian / busybox = $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[mctr]}") (target ~1), peak RSS mctr / crun = $(ratio "${BENCH_RSS[mctr]}" "${BENCH_RSS[crun]}") (target <= 1)."
	echo
	echo "mctr's time includes what crun's does not: resolving the image in the store, writing the container's record and bundle, the overlay mount, the monitor, and removing it all (--rm)."
} >"$out"
bench_write_section "run" "$out"
cat "$out"
podman --root "$P/root" --runroot "$P/run" rmi -a -f >/dev/null 2>&1 || true
