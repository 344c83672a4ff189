#!/bin/bash
# Usage: tools/bench/load.sh
#
# Times `mctr load` into a cold store, next to `podman load` (same archive,
# cold storage) and the floor for the Debian image: `tar -xf` of its layer
# plus `sha256sum` of it.  Writes the "load" section of docs/benchmarks.md.
# Targets (issue 2): busybox at most 1/4 of podman's time; Debian no slower
# than the floor.
source "$(dirname "$0")/lib.sh"
bench_prepare
F=$MCTR_FIXTURES
bench_scratch_fs
R=$BENCH_FS/root P=$BENCH_FS/podman X=$BENCH_FS/x
podman_load() { echo "podman --root $P/root --runroot $P/run --storage-driver overlay load -q -i $1"; }

# The Debian layer as a plain tar file, for the floor.
deb_layer=$BENCH_TMP/debian-layer.tar
mkdir -p "$BENCH_TMP/d"
tar -xf "$F/debian-docker.tar" -C "$BENCH_TMP/d"
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$BENCH_TMP/d/manifest.json")
cp "$BENCH_TMP/d/$layer" "$deb_layer"
rm -rf "$BENCH_TMP/d"
cat "$deb_layer" "$F/busybox-docker.tar" "$F/debian-docker.tar" >/dev/null	# warm the page cache

echo "load benchmarks ($BENCH_RUNS runs each, median):" >&2
bench_time mctr-busybox "rm -rf $R; sync" "$MCTR_BIN --root $R load -q -i $F/busybox-docker.tar"
bench_time podman-busybox "rm -rf $P; sync" "$(podman_load "$F/busybox-docker.tar")"
bench_time mctr-debian "rm -rf $R; sync" "$MCTR_BIN --root $R load -q -i $F/debian-docker.tar"
bench_time mctr-debian-gzip "rm -rf $R; sync" "$MCTR_BIN --root $R load -q -i $F/debian-oci-gzip"
bench_time podman-debian "rm -rf $P; sync" "$(podman_load "$F/debian-docker.tar")"
bench_time floor-debian "rm -rf $X; mkdir -p $X; sync" "bash -c 'tar -xf $deb_layer -C $X && sha256sum $deb_layer >/dev/null'"
bench_rss mctr-debian "rm -rf $R" "$MCTR_BIN --root $R load -q -i $F/debian-docker.tar"
rm -rf "$R" "$P" "$X"

out=$BENCH_TMP/section.md
{
	echo "Run on $(bench_machine) by \`tools/bench/load.sh\`; median of $BENCH_RUNS runs, cold store each time (\`rm -rf\` + \`sync\` before every run) on $BENCH_FS_NOTE, warm page cache.  The floor neither hashes the archive nor syncs; mctr verifies every digest and diff_id and makes the store durable (one syncfs) before naming the image."
	echo
	echo "| what | mctr | podman load | floor (tar -xf + sha256sum) | mctr / podman | mctr / floor |"
	echo "|---|---|---|---|---|---|"
	echo "| busybox docker-archive (2 MB) | ${BENCH_MS[mctr-busybox]} ms | ${BENCH_MS[podman-busybox]} ms | | $(ratio "${BENCH_MS[mctr-busybox]}" "${BENCH_MS[podman-busybox]}") | |"
	echo "| Debian docker-archive (uncompressed layer, $(du -m "$deb_layer" | cut -f1) MB) | ${BENCH_MS[mctr-debian]} ms | ${BENCH_MS[podman-debian]} ms | ${BENCH_MS[floor-debian]} ms | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[podman-debian]}") | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[floor-debian]}") |"
	echo "| Debian OCI layout (gzip layer) | ${BENCH_MS[mctr-debian-gzip]} ms | | | | |"
	echo
	echo "Peak RSS of \`mctr load\` of the Debian archive: ${BENCH_RSS[mctr-debian]} KiB."
	echo "Targets: busybox at most 0.25 of podman's time; Debian no slower than the floor (ratio <= 1)."
} >"$out"
bench_write_section "load" "$out"
cat "$out"
