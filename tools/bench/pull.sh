#!/bin/bash
# Usage: tools/bench/pull.sh
#
# Times a cold `mctr pull` from a local registry (Debian's docker-registry,
# plain HTTP on 127.0.0.1, started here) next to, in the same run against the
# same registry: `skopeo copy` to a directory (download only, nothing
# unpacked), `podman pull` (its own --root/--runroot, cold each time), and the
# floor `curl | tar -xz` of the image's layer (download, inflate, extract; no
# hashing, no fsync).  Busybox (one 1 MB layer) and the Debian image (one
# ~50 MB gzip layer).  Writes the "pull" section of docs/benchmarks.md.
#
# Every tool writes to a fresh journaled ext4 on a loop file (bench_scratch_fs
# in lib.sh says why).  MCTR_ZLIB_BIN (an mctr built with -DMCTR_ISAL=OFF)
# adds a row showing what ISA-L buys.
# Targets (issue 4): at most half of podman's time, no slower than the floor.
source "$(dirname "$0")/lib.sh"
bench_prepare
F=$MCTR_FIXTURES
REGDIR=$BENCH_TMP/registry
bench_scratch_fs
W=$BENCH_FS FS_NOTE=$BENCH_FS_NOTE
R=$W/root P=$W/podman S=$W/skopeo X=$W/x

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash "$BENCH_SRC/tools/registry.sh" start bench plain "$port" "$REGDIR" >/dev/null
BENCH_CLEANUP+=("bash $BENCH_SRC/tools/registry.sh stop $REGDIR")
REG=127.0.0.1:$port
bash "$BENCH_SRC/tools/registry.sh" push "oci:$F/busybox-oci-gzip:latest" "$REG/library/busybox:latest" "$REGDIR"
bash "$BENCH_SRC/tools/registry.sh" push "oci:$F/debian-oci-gzip:latest" "$REG/library/debian:bookworm" "$REGDIR"

layer_url() {	# the first layer blob of a fixture layout, as the registry serves it
	python3 - "$F/$1" "$REG" "$2" <<'PY'
import json, os, sys
root, reg, repo = sys.argv[1:]
d = json.load(open(os.path.join(root, "index.json")))["manifests"][0]["digest"]
m = json.load(open(os.path.join(root, "blobs", "sha256", d[7:])))
print("http://%s/v2/%s/blobs/%s" % (reg, repo, m["layers"][0]["digest"]))
PY
}
BB_URL=$(layer_url busybox-oci-gzip library/busybox)
DEB_URL=$(layer_url debian-oci-gzip library/debian)
DEB_MB=$(python3 -c 'import json,os,sys
r=sys.argv[1]; d=json.load(open(os.path.join(r,"index.json")))["manifests"][0]["digest"]
m=json.load(open(os.path.join(r,"blobs","sha256",d[7:]))); print(round(m["layers"][0]["size"]/1e6))' "$F/debian-oci-gzip")
# The registry's files in the page cache, as every tool will see them.
curl -s -o /dev/null "$BB_URL"
curl -s -o /dev/null "$DEB_URL"

# Every tool starts from nothing; sync, so no one pays for another's
# writeback (mctr syncs its store before it names an image).  A bash -c
# command: hyperfine -N runs the prepare command without a shell.
cold() { echo "bash -c 'rm -rf $1; ${2:+mkdir -p $1;} sync'"; }
inflate_note() {
	if [[ $(nm -D "$(dirname "$MCTR_BIN")/mctr-image.so" 2>/dev/null) == *isal_inflate* ]]; then
		echo "ISA-L igzip (libisal), zlib when built without it"
	else
		echo "zlib (built without libisal)"
	fi
}
podman_pull() {
	echo "podman --root $P/root --runroot $P/run --storage-driver overlay pull -q --tls-verify=false $1"
}

echo "pull benchmarks ($BENCH_RUNS runs each, median):" >&2
bench_time mctr-busybox "$(cold "$R")" "$MCTR_BIN --root $R pull -q $REG/library/busybox"
bench_time skopeo-busybox "$(cold "$S")" \
	"skopeo --insecure-policy copy -q --src-tls-verify=false docker://$REG/library/busybox dir:$S"
bench_time podman-busybox "$(cold "$P")" "$(podman_pull "$REG/library/busybox")"
bench_time floor-busybox "$(cold "$X" mkdir)" "bash -c 'curl -s $BB_URL | tar -xz -C $X'"
bench_time mctr-debian "$(cold "$R")" "$MCTR_BIN --root $R pull -q $REG/library/debian:bookworm"
bench_time skopeo-debian "$(cold "$S")" \
	"skopeo --insecure-policy copy -q --src-tls-verify=false docker://$REG/library/debian:bookworm dir:$S"
bench_time podman-debian "$(cold "$P")" "$(podman_pull "$REG/library/debian:bookworm")"
bench_time floor-debian "$(cold "$X" mkdir)" "bash -c 'curl -s $DEB_URL | tar -xz -C $X'"
if [[ -n ${MCTR_ZLIB_BIN:-} ]]; then
	bench_time mctr-debian-zlib "$(cold "$R")" "$MCTR_ZLIB_BIN --root $R pull -q $REG/library/debian:bookworm"
fi
bench_rss mctr-debian "$(cold "$R")" "$MCTR_BIN --root $R pull -q $REG/library/debian:bookworm"
bench_rss podman-debian "$(cold "$P")" "$(podman_pull "$REG/library/debian:bookworm")"
podman --root "$P/root" --runroot "$P/run" --storage-driver overlay rmi -a -f >/dev/null 2>&1 || true
rm -rf "$R" "$P" "$S" "$X"

ms() { echo "${BENCH_MS[$1]} ms"; }
out=$BENCH_TMP/section.md
{
	echo "Run on $(bench_machine) by \`tools/bench/pull.sh\`; median of $BENCH_RUNS runs, cold store each time"
	echo "(\`rm -rf\` + \`sync\` before every run) on $FS_NOTE, one local docker-registry over plain HTTP, its"
	echo "files in the page cache.  \`skopeo copy\` only downloads (to a \`dir:\`); the floor \`curl | tar -xz\` downloads,"
	echo "inflates and extracts the layer, without hashing anything or syncing; \`mctr pull\` also checks"
	echo "every digest and diff_id and makes the store durable (fsync of the blob, one syncfs) before naming"
	echo "the image."
	echo
	echo "| image | mctr pull | skopeo copy | podman pull | floor (curl \\| tar -xz) | mctr / podman | mctr / floor |"
	echo "|---|---|---|---|---|---|---|"
	echo "| busybox (1 layer, 1 MB) | $(ms mctr-busybox) | $(ms skopeo-busybox) | $(ms podman-busybox) | $(ms floor-busybox) | $(ratio "${BENCH_MS[mctr-busybox]}" "${BENCH_MS[podman-busybox]}") | $(ratio "${BENCH_MS[mctr-busybox]}" "${BENCH_MS[floor-busybox]}") |"
	echo "| Debian bookworm (1 layer, $DEB_MB MB gzip) | $(ms mctr-debian) | $(ms skopeo-debian) | $(ms podman-debian) | $(ms floor-debian) | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[podman-debian]}") | $(ratio "${BENCH_MS[mctr-debian]}" "${BENCH_MS[floor-debian]}") |"
	echo
	echo "Peak RSS pulling the Debian image: mctr ${BENCH_RSS[mctr-debian]} KiB, podman ${BENCH_RSS[podman-debian]} KiB."
	echo "Targets: mctr at most 0.5 of podman's time, and no slower than the floor (ratio <= 1)."
	echo "Inflate: $(inflate_note)."
	if [[ -n ${BENCH_MS[mctr-debian-zlib]:-} ]]; then
		echo "The same mctr built with zlib instead (\`-DMCTR_ISAL=OFF\`): Debian ${BENCH_MS[mctr-debian-zlib]} ms."
	fi
} >"$out"
bench_write_section "pull" "$out"
cat "$out"
