#!/bin/bash
# Usage: tools/fixtures.sh OUTDIR
#
# Builds every test image mctr's integration tests use, in the formats mctr
# must read (OCI layout dir, oci-archive, docker-archive as skopeo writes it,
# the Docker >= 25 `docker save` layout, gzip/zstd/uncompressed layers), plus
# the hostile-input corpus (OUTDIR/hostile, see tools/hostile.py).
# OUTDIR/README.txt describes each fixture; OUTDIR/SUMMARY.txt lists sizes and
# digests.
#
# Cached: when OUTDIR/.complete holds the hash of this script and its helpers,
# nothing is rebuilt.  Concurrent callers serialize on OUTDIR.lock, so
# parallel test runs never build it twice.  The debootstrap'ed Debian rootfs is
# cached in /var/cache/mctr-test (MCTR_TEST_CACHE) across OUTDIRs.
#
# Offline apart from the Debian apt mirror; installs its tools with apt-get
# when missing (umoci skopeo python3 gzip zstd tar debootstrap busybox-static).
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$(dirname "$1")"
outdir=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cache=${MCTR_TEST_CACHE:-/var/cache/mctr-test}
CREATED=2023-11-14T22:13:20Z	# matches mkimage-busybox.sh and ocilib.py
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'fixtures: %s\n' "$*" >&2; }

# Everything whose change must invalidate the cache.
self_hash() {
	cat "${BASH_SOURCE[0]}" "$tools/mkimage-busybox.sh" "$tools/ocilib.py" "$tools/ocitool.py" \
		"$tools/hostile.py" | sha256sum | cut -d' ' -f1
}

ensure_tools() {
	local -A pkg_of=([umoci]=umoci [skopeo]=skopeo [python3]=python3 [gzip]=gzip [zstd]=zstd [tar]=tar
		[debootstrap]=debootstrap [flock]=util-linux)
	local missing=() cmd
	for cmd in "${!pkg_of[@]}"; do
		command -v "$cmd" >/dev/null || missing+=("${pkg_of[$cmd]}")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq "${missing[@]}" >&2 ||
			{ apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2; }
	fi
}

# The Debian mirror this VM uses, from one-line (.list) or deb822 (.sources)
# files: the first entry for suite "bookworm" whose URI mentions debian (so
# third-party repositories for bookworm are skipped).
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		uri=$(awk '$1 == "deb" && $0 ~ / bookworm / && $0 ~ / main/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*debian/) { print $i; exit } }' "$f")
		[[ -n $uri ]] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		# A stanza is a paragraph; take the first one whose Suites has bookworm itself.
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" } {
			u = ""; s = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/ && $i ~ /debian/) { split($i, a, /[ \t]+/); u = a[2] }
				if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s = 1
			}
			if (s && u != "") { print u; exit } }' "$f")
		[[ -n $uri ]] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}

# debootstrap takes ~25 s, so its result is kept as a tarball in $cache.
debian_rootfs_tar() {
	local tarball=$cache/debian-bookworm-minbase.tar
	if [[ ! -s $tarball ]]; then
		local mirror dir
		mirror=$(debian_mirror)
		mkdir -p "$cache"
		dir=$(mktemp -d "$cache/debootstrap.XXXXXX")
		log "debootstrap --variant=minbase bookworm from $mirror (cached in $cache)"
		if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
			tail -20 "$dir.log" >&2
			rm -rf "$dir"
			return 1
		fi
		# Device nodes and apt's package lists are host-specific noise; official
		# Debian images ship without them too.
		rm -rf "${dir:?}"/dev/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin \
			"$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log
		tar -C "$dir" -cf "$tarball.tmp" --format=gnu --numeric-owner --sort=name .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$dir" "$dir.log"
	fi
	echo "$tarball"
}

skopeo() { command skopeo --insecure-policy "$@"; }
ocitool() { python3 "$tools/ocitool.py" "$@"; }

build_busybox() {
	local rootfs=$work/busybox-rootfs.tar cfg
	cfg=$(printf '{"Env":["%s"],"Cmd":["sh"]}' "$PATH_ENV")
	# Uncompressed layer; the same manifest under a short and a full ref name.
	ocitool layout "$new/busybox-oci" --layer "$rootfs" --config "$cfg" \
		--ref latest --ref docker.io/library/busybox:1.35
	skopeo copy -q --dest-compress --dest-compress-format gzip oci:"$new/busybox-oci:latest" \
		oci:"$new/busybox-oci-gzip:latest"
	skopeo copy -q --dest-compress --dest-compress-format zstd oci:"$new/busybox-oci:latest" \
		oci:"$new/busybox-oci-zstd:latest"
	skopeo copy -q oci:"$new/busybox-oci:latest" oci-archive:"$new/busybox-oci.tar:latest"
	skopeo copy -q oci:"$new/busybox-oci:latest" docker-archive:"$new/busybox-docker.tar:busybox:latest"
	ocitool docker-new "$new/busybox-oci" latest busybox:latest "$new/busybox-docker-new.tar"
	# Unnamed: RepoTags [] (skopeo writes that when given no reference), and an
	# OCI layout whose only index entry has no ref.name annotation.
	skopeo copy -q oci:"$new/busybox-oci:latest" docker-archive:"$new/busybox-unnamed-docker.tar"
	ocitool layout "$new/busybox-unnamed-oci" --layer "$rootfs" --config "$cfg" --no-ref
	cp "$rootfs" "$new/busybox-rootfs.tar"
	gzip -n -6 -c "$rootfs" >"$new/busybox-rootfs.tar.gz"
	zstd -q -3 -c "$rootfs" >"$new/busybox-rootfs.tar.zst"
}

# layered and shared-base are made with umoci (a second, independent OCI
# writer: gzip layers, history entries, 0600 blob files) in one scratch layout
# so that both images carry the very same layer-1 blob.
build_layered() {
	local L=$work/umoci
	ocitool layer-tars "$work"
	umoci init --layout "$L"
	umoci new --image "$L:base"
	umoci raw add-layer --image "$L:base" --history.created "$CREATED" --history.created_by "busybox rootfs" \
		"$work/busybox-rootfs.tar"
	umoci raw add-layer --image "$L:base" --tag l2 --history.created "$CREATED" "$work/layered-2.tar"
	umoci raw add-layer --image "$L:l2" --tag l3 --history.created "$CREATED" "$work/layered-3.tar"
	umoci config --image "$L:l3" --tag layered --created "$CREATED" --history.created "$CREATED" \
		--config.env "$PATH_ENV" --config.env FIXTURE=layered --config.workingdir /data \
		--config.cmd cat --config.cmd /data/b --config.label org.example.fixture=layered
	umoci raw add-layer --image "$L:base" --tag s2 --history.created "$CREATED" "$work/shared-2.tar"
	umoci config --image "$L:s2" --tag shared-base --created "$CREATED" --history.created "$CREATED" \
		--config.env "$PATH_ENV" --config.env FIXTURE=shared-base --config.cmd cat --config.cmd /shared/hello
	skopeo copy -q oci:"$L:layered" oci:"$new/layered-oci:latest"
	skopeo copy -q oci:"$L:layered" docker-archive:"$new/layered-docker.tar:layered:latest"
	skopeo copy -q oci:"$L:shared-base" oci:"$new/shared-base-oci:latest"
	skopeo copy -q oci:"$L:shared-base" docker-archive:"$new/shared-base-docker.tar:shared-base:latest"
}

build_debian() {
	local rootfs cfg
	rootfs=$(debian_rootfs_tar)
	cfg=$(printf '{"Env":["%s"],"Cmd":["bash"]}' "$PATH_ENV")
	ocitool layout "$new/debian-oci" --layer "$rootfs" --config "$cfg" --ref latest --ref bookworm
	# skopeo keeps an uncompressed layer uncompressed in a docker-archive.
	skopeo copy -q oci:"$new/debian-oci:latest" docker-archive:"$new/debian-docker.tar:debian:bookworm"
	skopeo copy -q --dest-compress --dest-compress-format gzip oci:"$new/debian-oci:latest" \
		oci:"$new/debian-oci-gzip:latest"
}

write_readme() {
	cat >"$new/README.txt" <<'EOF'
mctr test fixtures, built by tools/fixtures.sh (do not edit; rebuild instead).
All images are linux/amd64.  Timestamps are fixed (2023-11-14T22:13:20Z) so
the digests only change when the inputs do; SUMMARY.txt lists them.

busybox: one layer, the rootfs from tools/mkimage-busybox.sh (static busybox,
  applet symlinks, users root/nobody/app(1000:1000, also in group staff)).
  Config: Env PATH=..., Cmd ["sh"].
  busybox-rootfs.tar[.gz|.zst]  plain rootfs tarball (for `mctr import`)
  busybox-oci/            OCI layout, uncompressed layer; index.json has two
                          entries for one manifest: ref.name "latest" and
                          "docker.io/library/busybox:1.35"
  busybox-oci-gzip/       same image, layer recompressed to gzip by skopeo
  busybox-oci-zstd/       same image, layer recompressed to zstd by skopeo
                          (gzip/zstd variants have the same diff_id and image
                          ID, but other manifest digests)
  busybox-oci.tar         oci-archive (skopeo), ref "latest"; skopeo gzips the
                          layer on the way, so its manifest is busybox-oci-gzip's
  busybox-docker.tar      docker-archive as skopeo writes it: <diffid>.tar,
                          <config>.json, legacy <v1id>/layer.tar symlinks,
                          RepoTags ["docker.io/library/busybox:latest"]
  busybox-docker-new.tar  the Docker >= 25 `docker save` layout: manifest.json
                          with Config/Layers = blobs/sha256/<hex>, layers
                          uncompressed and named by diff_id, plus oci-layout,
                          index.json (io.containerd.image.name annotation),
                          repositories, legacy v1 JSON blobs; RepoTags
                          ["busybox:latest"]
  busybox-unnamed-docker.tar  docker-archive with "RepoTags": []
  busybox-unnamed-oci/    OCI layout whose index entry has no ref.name

layered: three layers, written by umoci (gzip layers).
  1 = the busybox rootfs
  2 = /data/{a,b,c}, /data/dir/{x,y}, /etc/motd
  3 = /data/.wh.a (deletes /data/a), /data/dir/.wh..wh..opq + /data/dir/z
      (opaque: x and y disappear), /data/link -> /etc/motd (symlink),
      /data/hard (hardlink to /data/dir/z)
  Config: Env PATH=..., FIXTURE=layered; WorkingDir /data; Cmd ["cat","/data/b"];
  Label org.example.fixture=layered.
  Expected rootfs: /data/{b,c,dir/z,link,hard}, /etc/motd; no /data/a,
  /data/dir/x, /data/dir/y.
  layered-oci/ (ref "latest"), layered-docker.tar (RepoTags
  docker.io/library/layered:latest).

shared-base: layer 1 is the very same blob as layered's layer 1; layer 2 adds
  /shared/hello.  Cmd ["cat","/shared/hello"].  Load both to test that layer 1
  is stored and unpacked once.
  shared-base-oci/, shared-base-docker.tar (docker.io/library/shared-base:latest).

debian: debootstrap --variant=minbase bookworm, one layer (~120 MB
  uncompressed), Cmd ["bash"].
  debian-oci/ (refs "latest", "bookworm"; uncompressed layer),
  debian-docker.tar (uncompressed layer, docker.io/library/debian:bookworm),
  debian-oci-gzip/ (gzip layer).

hostile/: the hostile-input corpus, see hostile/README.txt and
  hostile/cases.tsv (tools/hostile.py).
EOF
}

main() {
	mkdir -p "$(dirname "$outdir")"
	exec 9>"$outdir.lock"
	flock 9
	local want
	want=$(self_hash)
	if [[ -f $outdir/.complete && $(cat "$outdir/.complete") == "$want" ]]; then
		log "up to date: $outdir"
		return 0
	fi
	ensure_tools
	local start=$SECONDS
	# Build next to OUTDIR and swap it in at the end: a half-built OUTDIR never
	# looks complete, and readers of the old one keep a consistent tree.
	new=$outdir.new.$$
	work=$new/work
	rm -rf "$new"
	mkdir -p "$work"
	trap 'rm -rf "$new"' EXIT
	"$tools/mkimage-busybox.sh" "$work" >/dev/null
	build_busybox
	build_layered
	build_debian
	python3 "$tools/hostile.py" "$new/hostile" >/dev/null
	write_readme
	rm -rf "$work"
	ocitool summary "$new" >"$new/SUMMARY.txt"
	echo "$want" >"$new/.complete"
	rm -rf "$outdir"
	mv "$new" "$outdir"
	trap - EXIT
	log "built $outdir in $((SECONDS - start)) s"
	cat "$outdir/SUMMARY.txt"
}

main
