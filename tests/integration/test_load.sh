#!/bin/bash
# mctr load / import / save: every archive and layout format, names as Docker
# gives them, layers unpacked once and shared, and a store other tools read.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_fixtures

BB_ID=sha256:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' \
	"$FIXTURES/busybox-oci/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$FIXTURES/busybox-oci/index.json")")

image_count() { mctr images -q | wc -l; }

t_begin "load a docker-archive written by skopeo"
expect_status 0 mctr load -i "$FIXTURES/busybox-docker.tar"
assert_eq "Loaded image: busybox:latest" "$OUT"
expect_status 0 mctr images
assert_contains "$OUT" "busybox"
assert_contains "$OUT" "${BB_ID:7:12}"

t_begin "the store is an OCI layout that skopeo reads, closed to other users"
expect_status 0 skopeo inspect "oci:$MCTR_ROOT/oci:docker.io/library/busybox:latest"
assert_contains "$OUT" '"Architecture": "amd64"'
assert_eq 700 "$(stat -c %a "$MCTR_ROOT")" "store root mode"
assert_eq 700 "$(stat -c %a "$MCTR_ROOT/layers")" "layers mode"

t_begin "load the Docker >= 25 layout from stdin"
expect_status 0 mctr rmi busybox
expect_status 0 bash -c "'$MCTR_BIN' --root '$MCTR_ROOT' load < '$FIXTURES/busybox-docker-new.tar'"
assert_eq "Loaded image: busybox:latest" "$OUT"

t_begin "load an OCI layout directory: full ref.name names it, a bare tag does not"
expect_status 0 mctr load -i "$FIXTURES/busybox-oci"
assert_eq "Loaded image: busybox:1.35" "$OUT"
expect_status 0 mctr inspect busybox:1.35
assert_contains "$OUT" "\"Id\": \"$BB_ID\""

t_begin "an OCI layout with several images and tags loads every one of them"
lay=$T_SANDBOX/multi-oci
cp -r "$FIXTURES/busybox-oci" "$lay"
cp "$FIXTURES"/layered-oci/blobs/sha256/* "$lay/blobs/sha256/"
python3 - "$lay/index.json" "$FIXTURES/layered-oci/index.json" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1]))
bb = dict(idx["manifests"][0])
layered = json.load(open(sys.argv[2]))["manifests"][0]
ms = []
for name in ("docker.io/library/bb:one", "example.com:5000/team/bb:two"):
    d = dict(bb)
    d["annotations"] = {"org.opencontainers.image.ref.name": name}
    ms.append(d)
# containerd's annotation names it; the bare ref.name tag does not
layered["annotations"] = {"io.containerd.image.name": "docker.io/library/lay:v1",
                          "org.opencontainers.image.ref.name": "v1"}
ms.append(layered)
idx["manifests"] = ms
json.dump(idx, open(sys.argv[1], "w"))
PY
r4=$T_SANDBOX/r4
expect_status 0 "$MCTR_BIN" --root "$r4" load -i "$lay"
assert_eq $'Loaded image: bb:one\nLoaded image: example.com:5000/team/bb:two\nLoaded image: lay:v1' "$OUT"
for n in bb:one example.com:5000/team/bb:two lay:v1; do
	expect_status 0 "$MCTR_BIN" --root "$r4" inspect "$n"
done
assert_eq 2 "$("$MCTR_BIN" --root "$r4" images -q | wc -l)" "images"

t_begin "load an oci-archive, gzip and zstd layouts: same image ID, one unpacked layer"
for f in busybox-oci.tar busybox-oci-gzip busybox-oci-zstd; do
	expect_status 0 mctr load -i "$FIXTURES/$f"
done
assert_eq 1 "$(find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" "unpacked layers"
expect_status 0 mctr images --format json
assert_contains "$OUT" "${BB_ID:7}"

t_begin "an image without a name loads unnamed and is listed by ID"
r2=$T_SANDBOX/r2
expect_status 0 "$MCTR_BIN" --root "$r2" load -i "$FIXTURES/busybox-unnamed-docker.tar"
assert_eq "Loaded image ID: $BB_ID" "$OUT"
expect_status 0 "$MCTR_BIN" --root "$r2" images
assert_contains "$OUT" "<none>"
expect_status 0 "$MCTR_BIN" --root "$r2" load -i "$FIXTURES/busybox-unnamed-oci"
assert_eq "Loaded image ID: $BB_ID" "$OUT"

t_begin "layered image: whiteouts and the opaque dir become overlay whiteouts"
expect_status 0 mctr load -i "$FIXTURES/layered-docker.tar"
assert_eq "Loaded image: layered:latest" "$OUT"
layers=$(mctr inspect layered | python3 -c 'import json,sys; print(" ".join(l[7:] for l in json.load(sys.stdin)[0]["RootFS"]["Layers"]))')
read -r l1 l2 l3 <<<"$layers"
top=$MCTR_ROOT/layers/$l3
assert_eq "character special file 0,0" "$(stat -c '%F %t,%T' "$top/data/a")" "whiteout of /data/a"
assert_eq y "$(getfattr --only-values -n trusted.overlay.opaque "$top/data/dir" 2>/dev/null || python3 -c 'import os,sys; print(os.getxattr(sys.argv[1],"trusted.overlay.opaque").decode())' "$top/data/dir")" "opaque /data/dir"
assert_no_file "$top/data/.wh.a"
assert_file_exists "$MCTR_ROOT/layers/$l2/data/dir/x"
assert_eq "$(stat -c %i "$top/data/dir/z")" "$(stat -c %i "$top/data/hard")" "hardlink kept"
assert_eq /etc/motd "$(readlink "$top/data/link")" "symlink target"

t_begin "an archive cut right after a pax header is named truncated, never '(null)'"
# Two entries with pax headers (long names); the cut leaves the second's pax
# header and nothing after it, where libarchive gives no message of its own.
python3 - "$T_SANDBOX/cut.tar" <<'PY'
import io, sys, tarfile
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
    for i in range(2):
        ti = tarfile.TarInfo("manifest-%d-%s.json" % (i, "a" * 120))
        ti.size = 100
        t.addfile(ti, io.BytesIO(b"x" * 100))
open(sys.argv[1], "wb").write(b.getvalue()[:2560])
PY
snapshot_store
expect_status 125 mctr load -i "$T_SANDBOX/cut.tar"
assert_eq "mctr: $T_SANDBOX/cut.tar: truncated or corrupt archive: truncated or damaged tar archive" "$ERR"
assert_store_unchanged

t_begin "two images sharing a base layer store it once"
before=$(find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)
expect_status 0 mctr load -i "$FIXTURES/shared-base-oci"
after=$(find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)
assert_eq $((before + 1)) "$after" "only the new layer was added"

t_begin "import a rootfs tarball (plain, gzip, zstd, stdin) with --change"
for f in busybox-rootfs.tar busybox-rootfs.tar.gz busybox-rootfs.tar.zst; do
	expect_status 0 mctr import -c 'CMD ["sh"]' -c 'ENV A=1' -c 'WORKDIR /tmp' "$FIXTURES/$f" "imported:$f"
	assert_contains "$OUT" "sha256:"
done
expect_status 0 bash -c "'$MCTR_BIN' --root '$MCTR_ROOT' import - fromstdin < '$FIXTURES/busybox-rootfs.tar'"
expect_status 0 mctr inspect imported:busybox-rootfs.tar.gz
assert_contains "$OUT" '"Cmd": ['
assert_contains "$OUT" '"A=1"'
assert_contains "$OUT" '"WorkingDir": "/tmp"'
assert_contains "$OUT" 'tar+gzip'
expect_status 125 mctr import -c 'FROB x' "$FIXTURES/busybox-rootfs.tar" bad
assert_contains "$ERR" "unsupported instruction FROB"

t_begin "save writes a docker-archive that podman, skopeo and mctr load"
out=$T_SANDBOX/saved.tar
expect_status 0 mctr save -o "$out" layered
expect_status 0 skopeo inspect "docker-archive:$out"
assert_contains "$OUT" '"Layers"'
expect_status 0 skopeo inspect "oci-archive:$out"
r3=$T_SANDBOX/r3
expect_status 0 "$MCTR_BIN" --root "$r3" load -i "$out"
assert_eq "Loaded image: layered:latest" "$OUT"
expect_status 0 "$MCTR_BIN" --root "$r3" inspect layered
assert_contains "$OUT" "$(mctr inspect layered | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')"
if command -v podman >/dev/null; then
	pr=$T_SANDBOX/podman
	expect_status 0 podman --root "$pr/root" --runroot "$pr/run" --storage-driver vfs load -i "$out"
	assert_contains "$OUT" "layered:latest"
	podman --root "$pr/root" --runroot "$pr/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
fi
two=$T_SANDBOX/two.tar
expect_status 0 mctr save -o "$two" busybox:latest layered
# busybox and layered share their base layer: stored once, and each OCI
# manifest gives every layer the size of its entry.
expect_status 0 python3 - "$two" <<'PY'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
sizes = {m.name: m.size for m in t.getmembers()}
names = [m.name for m in t.getmembers()]
assert len(names) == len(set(names)), "duplicate entries"
idx = json.load(t.extractfile("index.json"))
assert len(idx["manifests"]) == 2, idx
for d in idx["manifests"]:
    m = json.load(t.extractfile("blobs/sha256/" + d["digest"][7:]))
    for l in m["layers"] + [m["config"]]:
        p = "blobs/sha256/" + l["digest"][7:]
        assert sizes[p] == l["size"], (p, sizes[p], l["size"])
PY
r5=$T_SANDBOX/r5
expect_status 0 "$MCTR_BIN" --root "$r5" load -i "$two"
assert_eq $'Loaded image: busybox:latest\nLoaded image: layered:latest' "$OUT"
expect_status 0 "$MCTR_BIN" --root "$r5" system check
assert_contains "$OUT" "0 problems"
expect_status 0 bash -c "'$MCTR_BIN' --root '$MCTR_ROOT' save busybox:latest | tar -t"
assert_contains "$OUT" "manifest.json"
expect_status 125 mctr save -o "$T_SANDBOX/x.tar" no-such-image
assert_contains "$ERR" "no such image: no-such-image"
assert_no_file "$T_SANDBOX/x.tar"

t_begin "the Debian image loads and its layer matches the rootfs"
expect_status 0 mctr load -i "$FIXTURES/debian-docker.tar"
assert_eq "Loaded image: debian:bookworm" "$OUT"
expect_status 0 mctr load -i "$FIXTURES/debian-oci-gzip"
expect_status 0 mctr inspect debian:bookworm
deb=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:])' <<<"$OUT")
assert_file_exists "$MCTR_ROOT/layers/$deb/usr/bin/bash"
assert_eq "$(stat -c %a /usr/bin/passwd 2>/dev/null || echo 4755)" "$(stat -c %a "$MCTR_ROOT/layers/$deb/usr/bin/passwd")" "setuid kept"
