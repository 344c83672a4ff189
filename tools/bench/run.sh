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

# The bundle crun and runc run: the very config.json mctr writes for this
# container (same namespaces, mounts, masks, capabilities, devices), with a
# plain copy of the busybox rootfs instead of mctr's overlay of the layer.
B=$BENCH_FS/bundle
mkdir -p "$B/rootfs"
tar -C "$B/rootfs" -xf "$F/busybox-rootfs.tar"
id=$("$MCTR_BIN" --root "$R" create --network none busybox true)
cp "$R/containers/$id/config.json" "$R/containers/$id"/{hostname,hosts,resolv.conf} "$B/"
"$MCTR_BIN" --root "$R" rm "$id" >/dev/null
python3 - "$B" <<'PY'
import json, os, sys
b = sys.argv[1]
p = os.path.join(b, "config.json")
c = json.load(open(p))
c["root"]["path"] = os.path.join(b, "rootfs")
c["annotations"] = {}
for m in c["mounts"]:
    if m["destination"] in ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf"):
        m["source"] = os.path.join(b, os.path.basename(m["destination"]))
c["linux"]["cgroupsPath"] = "bench/" + os.path.basename(b)
json.dump(c, open(p, "w"))
PY

# The floor of what every runtime must do (tools/bench/floor.c): cgroups,
# the six namespaces, an overlay of the busybox layer, /proc, pivot_root,
# exec -- nothing else.
gcc -O2 -Wall -o "$BENCH_TMP/floor" "$BENCH_SRC/tools/bench/floor.c"
LOWER=$(find "$R/layers" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' | head -1)
for l in "$R"/layers/*; do [[ -e $l/bin/busybox ]] && LOWER=$l; done
FL=$BENCH_FS/floor

# podman, with its own storage and the busybox image loaded from the fixture.
P=$BENCH_FS/podman
podman_cmd="podman --root $P/root --runroot $P/run --runtime runc run --rm --network none \
--ulimit nofile=20000:20000 --ulimit nproc=32768:32768 docker.io/library/busybox:latest true"
podman --root "$P/root" --runroot "$P/run" load -q -i "$F/busybox-docker.tar" >/dev/null

sync	# the Debian image just loaded must not be written back during the timings
inner=$BENCH_TMP/inner.sh
cat >"$inner" <<EOS
set -e
umount /sys/fs/cgroup/unified 2>/dev/null || true
BENCH_TMP=$BENCH_TMP BENCH_RUNS=$BENCH_RUNS
$(declare -f bench_time bench_rss)
declare -A BENCH_MS BENCH_RSS
# The first timings of a series pay for the machine settling (page cache,
# cgroup/rcu state after the setup above): a discarded round first.
hyperfine -N --style none --runs 30 "$MCTR_BIN --root $R run --rm --network none busybox true" \
	"crun run --bundle $B bench-crun" >/dev/null 2>&1 || true
bench_time mctr ":" "$MCTR_BIN --root $R run --rm --network none busybox true"
bench_time mctr-debian ":" "$MCTR_BIN --root $R run --rm --network none debian:bookworm true"
bench_time crun ":" "crun run --bundle $B bench-crun"
bench_time runc ":" "runc run --bundle $B bench-runc"
bench_time floor ":" "unshare --mount --pid --fork --uts --ipc --net --cgroup chroot $B/rootfs /bin/true"
bench_time floor-full "rm -rf $FL" "$BENCH_TMP/floor $LOWER $FL /bin/true"
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
	echo "| \`crun run\` (mctr's config.json, plain rootfs: no overlay) | ${BENCH_MS[crun]} ms | $(ratio "${BENCH_MS[crun]}" "${BENCH_MS[mctr]}") | ${BENCH_RSS[crun]} KiB |"
	echo "| \`runc run\` (same bundle) | ${BENCH_MS[runc]} ms | $(ratio "${BENCH_MS[runc]}" "${BENCH_MS[mctr]}") | ${BENCH_RSS[runc]} KiB |"
	echo "| \`podman run --rm --network none\` (runc) | ${BENCH_MS[podman]} ms | $(ratio "${BENCH_MS[podman]}" "${BENCH_MS[mctr]}") | |"
	echo "| floor: \`unshare\` (6 namespaces) \`chroot ROOTFS true\` | ${BENCH_MS[floor]} ms | $(ratio "${BENCH_MS[floor]}" "${BENCH_MS[mctr]}") | |"
	echo "| floor with cgroups + overlay + pivot_root (\`tools/bench/floor.c\`) | ${BENCH_MS[floor-full]} ms | $(ratio "${BENCH_MS[floor-full]}" "${BENCH_MS[mctr]}") | |"
	echo "| \`mctr run\` of the 120 MB Debian image | ${BENCH_MS[mctr-debian]} ms | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[mctr]}") | |"
	echo
	echo "Ratios: mctr / crun = $(ratio "${BENCH_MS[mctr]}" "${BENCH_MS[crun]}") (target <= 1), mctr / floor with cgroups+overlay+pivot_root = $(ratio "${BENCH_MS[mctr]}" "${BENCH_MS[floor-full]}") (target <= 2; against bare unshare+chroot: $(ratio "${BENCH_MS[mctr]}" "${BENCH_MS[floor]}")), podman / mctr = $(ratio "${BENCH_MS[podman]}" "${BENCH_MS[mctr]}") (target >= 20), Debian / busybox = $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[mctr]}") (target ~1), peak RSS mctr / crun = $(ratio "${BENCH_RSS[mctr]}" "${BENCH_RSS[crun]}") (target <= 1)."
	echo
	echo "mctr's time includes what crun's does not: resolving the image in the store, writing the container's record and bundle, the overlay mount, the monitor, and removing it all (--rm)."
} >"$out"
bench_write_section "run" "$out"
cat "$out"
podman --root "$P/root" --runroot "$P/run" rmi -a -f >/dev/null 2>&1 || true
