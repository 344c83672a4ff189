#!/bin/bash
# mctr pull from a plain-HTTP loopback registry (Debian's docker-registry):
# Docker's output forms, a second pull that asks for no blob, parallel layer
# downloads, whiteouts, multi-platform indexes, Docker manifest lists and
# --platform, Docker schema 2, errors in one line, digests checked, a tampered
# blob, the HTTP-fallback policy, and the Debian image.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pull_lib.sh"
pull_setup
F=$FIXTURES

mctr_at() { local r=$1; shift; "$MCTR_BIN" --root "$r" "$@"; }

registry_start plain plain
REG=$REG_HOST PLAIN_DIR=$REG_DATADIR PLAIN_PORT=$REG_PORT
registry_push "oci:$F/busybox-oci-gzip:latest" library/busybox:latest
registry_push "oci:$F/layered-oci:latest" layered:latest
registry_push "oci:$F/debian-oci-gzip:latest" library/debian:bookworm
INDEX_DIGEST=$(python3 "$PULL_TEST_DIR/mkindex.py" "$F/busybox-oci-gzip" "$T_SANDBOX/multi")
skopeo --insecure-policy copy -q --all --dest-tls-verify=false "oci:$T_SANDBOX/multi:latest" "docker://$REG/multi:latest"
skopeo --insecure-policy copy -q --format v2s2 --dest-tls-verify=false "oci:$F/busybox-oci-gzip:latest" \
	"docker://$REG/schema2:latest"
# the same index as a Docker manifest list of schema 2 manifests
skopeo --insecure-policy copy -q --all --format v2s2 --dest-tls-verify=false "oci:$T_SANDBOX/multi:latest" \
	"docker://$REG/dlist:latest"
LIST_DIGEST=sha256:$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
	"http://$REG/v2/dlist/manifests/latest" | sha256sum | cut -d' ' -f1)
BB_MANIFEST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
	"$F/busybox-oci-gzip/index.json")
BB_LAYER=$(layer_hex_of "$F/busybox-oci-gzip")
BB_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' \
	"$F/busybox-oci-gzip/blobs/sha256/${BB_MANIFEST#sha256:}")

t_begin "pull busybox over plain HTTP: Docker's lines, one per event when not a terminal"
expect_status 0 mctr pull "$REG/library/busybox"
id=${BB_LAYER:0:12}
assert_contains "$OUT" "Using default tag: latest"$'\n'"latest: Pulling from library/busybox"$'\n'"$id: Pulling fs layer"
assert_contains "$OUT" "$id: Downloading"
assert_contains "$OUT" "$id: Verifying Checksum"$'\n'"$id: Download complete"$'\n'"$id: Extracting"$'\n'"$id: Pull complete"
assert_contains "$OUT" "Digest: $BB_MANIFEST"$'\n'"Status: Downloaded newer image for $REG/library/busybox:latest"
assert_eq "$REG/library/busybox:latest" "$(tail -1 <<<"$OUT")" "last line"
assert_eq "$BB_ID" "$(image_field "$REG/library/busybox" 'i["Id"]')" "image ID"
diff_id=$(image_field "$REG/library/busybox" 'i["RootFS"]["Layers"][0][7:]')
assert_file_exists "$MCTR_ROOT/layers/$diff_id/bin/busybox"
store_check "$MCTR_ROOT"
assert_eq "" "$(ls "$MCTR_ROOT/ingest")" "ingest/ after the pull"

t_begin "a second pull asks for no blob and says the image is up to date"
before=$(blob_gets "$PLAIN_DIR" library/busybox)
expect_status 0 mctr pull "$REG/library/busybox:latest"
assert_contains "$OUT" "$id: Already exists"
assert_contains "$OUT" "Status: Image is up to date for $REG/library/busybox:latest"
assert_eq "$before" "$(blob_gets "$PLAIN_DIR" library/busybox)" "blob GETs"
expect_status 0 mctr image pull -q "$REG/library/busybox"
assert_eq "$REG/library/busybox:latest" "$OUT" "pull -q output"

t_begin "on a terminal each layer's line is redrawn in place"
r_tty=$T_SANDBOX/r-tty
expect_status 0 script -qec "'$MCTR_BIN' --root '$r_tty' pull '$REG/layered'" /dev/null
assert_contains "$OUT" $'\e[2K'
assert_contains "$OUT" $'\e[3A' "cursor moves up over the 3 layer lines"
assert_contains "$OUT" "Pull complete"
assert_contains "$OUT" "Digest: sha256:"

t_begin "layers download in parallel: the small ones finish while the big one stalls"
# layered: layer 1 is ~1 MB, layers 2 and 3 a few hundred bytes, the config 825
release=$T_SANDBOX/release-parallel
proxy_start parallel "http://$REG" --stall-after 1000 --release "$release"
blob_gets_seen() { [[ $(grep '"method": "GET"' "$PROXY_LOG" | grep -c '/blobs/sha256:') == "$1" ]]; }
stalled() { grep -q '"event": "stalled"' "$PROXY_LOG"; }
"$MCTR_BIN" --root "$T_SANDBOX/r-par" pull -q "$PROXY_HOST/layered" >"$T_SANDBOX/par.out" 2>&1 &
pid=$!
if wait_for stalled && wait_for blob_gets_seen 4; then ok; else
	fail "while layer 1 stalls, not every other blob was asked for: $(cat "$PROXY_LOG")"
fi
touch "$release"
st=0
wait "$pid" || st=$?
assert_eq 0 "$st" "pull: $(cat "$T_SANDBOX/par.out")"
assert_eq 1 "$(proxy_count '"event": "released"')" "stalled blob released"

t_begin "max-concurrent-downloads 1: one layer at a time"
mctr_config '{"max-concurrent-downloads": 1}'
release=$T_SANDBOX/release-serial
proxy_start serial "http://$REG" --stall-after 1000 --release "$release"
"$MCTR_BIN" --root "$T_SANDBOX/r-serial" pull -q "$PROXY_HOST/layered" >"$T_SANDBOX/serial.out" 2>&1 &
pid=$!
wait_for stalled || fail "layer 1 never stalled"
# Time for a client that ignores the bound to ask for the other layers (this
# wait can only hide such a bug, never fail a correct client).
sleep 0.3
assert_eq 2 "$(grep '"method": "GET"' "$PROXY_LOG" | grep -c '/blobs/sha256:')" "blobs asked for (config, layer 1)"
touch "$release"
st=0
wait "$pid" || st=$?
assert_eq 0 "$st" "pull: $(cat "$T_SANDBOX/serial.out")"
assert_eq 4 "$(grep '"method": "GET"' "$PROXY_LOG" | grep -c '/blobs/sha256:')" "blobs asked for in all"
mctr_config '{}'

t_begin "the layered image: whiteouts and the opaque directory in overlay form"
expect_status 0 mctr pull -q "$REG/layered"
read -r _ l2 l3 <<<"$(image_field "$REG/layered" '" ".join(l[7:] for l in i["RootFS"]["Layers"])')"
top=$MCTR_ROOT/layers/$l3
assert_eq "character special file 0,0" "$(stat -c '%F %t,%T' "$top/data/a")" "whiteout of /data/a"
assert_eq y "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1],"trusted.overlay.opaque").decode())' \
	"$top/data/dir")" "opaque /data/dir"
assert_no_file "$top/data/.wh.a"
assert_file_exists "$MCTR_ROOT/layers/$l2/data/dir/x"

t_begin "an index: the host's platform by default, --platform another; Digest: is the index's"
expect_status 0 mctr pull "$REG/multi"
assert_contains "$OUT" "Digest: $INDEX_DIGEST"
assert_eq amd64 "$(image_field "$REG/multi" 'i["Architecture"]')" "default platform"
assert_contains "$(cat "$MCTR_ROOT/oci/index.json")" "\"io.mctr.image.repo-digest\":\"$INDEX_DIGEST\""
expect_status 0 mctr inspect "$REG/multi"
assert_contains "$OUT" "\"$REG/multi@$INDEX_DIGEST\"" "RepoDigests names the index, as Docker's"
expect_status 0 mctr inspect "$REG/multi@$INDEX_DIGEST"
expect_status 0 mctr pull --platform linux/arm64 "$REG/multi"
assert_contains "$OUT" "Digest: $INDEX_DIGEST"
assert_contains "$OUT" "Status: Downloaded newer image for $REG/multi:latest"
assert_eq arm64 "$(image_field "$REG/multi" 'i["Architecture"]')" "--platform linux/arm64"
arm_layer=$(image_field "$REG/multi" 'i["RootFS"]["Layers"][0][7:]')
assert_eq arm64 "$(cat "$MCTR_ROOT/layers/$arm_layer/arch")" "the arm64 layer"
expect_status 125 mctr pull --platform linux/s390x "$REG/multi"
assert_contains "$ERR" "no manifest for linux/s390x in index (available: linux/arm64/v8, linux/amd64)"
assert_not_contains "$ERR" "unknown"
expect_status 125 mctr pull --platform "linux/" "$REG/multi"
assert_contains "$ERR" "--platform"

t_begin "a Docker manifest list: the host's platform by default, --platform another"
r_list=$T_SANDBOX/r-list
expect_status 0 mctr_at "$r_list" pull "$REG/dlist"
assert_contains "$OUT" "Digest: $LIST_DIGEST"
assert_eq amd64 "$(MCTR_ROOT=$r_list image_field "$REG/dlist" 'i["Architecture"]')" "default platform"
assert_eq application/vnd.docker.distribution.manifest.v2+json \
	"$(MCTR_ROOT=$r_list image_field "$REG/dlist" 'i["Manifest"]["MediaType"]')" "manifest media type"
expect_status 0 mctr_at "$r_list" pull -q --platform linux/arm64 "$REG/dlist"
assert_eq arm64 "$(MCTR_ROOT=$r_list image_field "$REG/dlist" 'i["Architecture"]')" "--platform linux/arm64"

t_begin "a Docker schema 2 image"
expect_status 0 mctr pull "$REG/schema2"
assert_eq application/vnd.docker.distribution.manifest.v2+json \
	"$(image_field "$REG/schema2" 'i["Manifest"]["MediaType"]')" "manifest media type"
assert_eq "$BB_ID" "$(image_field "$REG/schema2" 'i["Id"]')" "same image as the OCI push"

t_begin "unknown tag or repository: one clear line, the store unchanged"
snapshot_listing errors
expect_status 125 mctr pull "$REG/library/busybox:nope"
assert_contains "$ERR" "mctr: pull $REG/library/busybox:nope: $REG: library/busybox:nope not found (manifest unknown"
assert_eq 1 "$(wc -l <<<"$ERR")" "error lines"
expect_status 125 mctr pull "$REG/no/such"
assert_contains "$ERR" "$REG: no/such:latest not found (manifest unknown"
expect_status 125 mctr pull "$REG/UPPER"
assert_contains "$ERR" "invalid reference"
assert_listing_unchanged errors

t_begin "schema 1, a mediaType that contradicts Content-Type, a wrong Docker-Content-Digest are refused"
printf '{"schemaVersion":1,"name":"s1","tag":"latest","fsLayers":[],"history":[]}' >"$T_SANDBOX/s1.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d))' \
	"$F/busybox-oci-gzip/blobs/sha256/${BB_MANIFEST#sha256:}" >"$T_SANDBOX/oci-manifest.json"
OCI_MT=application/vnd.oci.image.manifest.v1+json
ZERO=sha256:$(printf '0%.0s' {1..64})
proxy_start static "http://$REG" \
	--static "/v2/s1/manifests/latest=$T_SANDBOX/s1.json=application/vnd.docker.distribution.manifest.v1+prettyjws" \
	--static "/v2/mismatch/manifests/latest=$T_SANDBOX/oci-manifest.json=application/vnd.docker.distribution.manifest.v2+json" \
	--static "/v2/baddigest/manifests/latest=$T_SANDBOX/oci-manifest.json=$OCI_MT" \
	--static-digest "/v2/baddigest/manifests/latest=$ZERO" \
	--static "/v2/bydigest/manifests/$ZERO=$T_SANDBOX/oci-manifest.json=$OCI_MT"
snapshot_listing refused
expect_status 125 mctr pull "$PROXY_HOST/s1"
assert_contains "$ERR" "schema 1"
assert_contains "$ERR" "not supported"
expect_status 125 mctr pull "$PROXY_HOST/mismatch"
assert_contains "$ERR" "mediaType application/vnd.oci.image.manifest.v1+json does not match its Content-Type"
expect_status 125 mctr pull "$PROXY_HOST/baddigest"
assert_contains "$ERR" "does not match its Docker-Content-Digest $ZERO"
expect_status 125 mctr pull "$PROXY_HOST/bydigest@$ZERO"
assert_contains "$ERR" "content does not match the digest"
assert_listing_unchanged refused

t_begin "a blob that does not match its digest: the pull fails naming it, nothing of it stays"
blob=$PLAIN_DIR/storage/docker/registry/v2/blobs/sha256/${BB_LAYER:0:2}/$BB_LAYER/data
cp "$blob" "$T_SANDBOX/layer.orig"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$blob"
r_bad=$T_SANDBOX/r-bad
mctr_at "$r_bad" images >/dev/null
MCTR_ROOT=$r_bad snapshot_listing tamper
expect_status 125 mctr_at "$r_bad" pull "$REG/library/busybox"
assert_contains "$ERR" "sha256:$BB_LAYER"
assert_contains "$ERR" "content does not match digest"
MCTR_ROOT=$r_bad assert_listing_unchanged tamper
assert_no_file "$r_bad/oci/blobs/sha256/$BB_LAYER"
assert_no_file "$r_bad/ingest/$BB_LAYER.partial"
cp "$T_SANDBOX/layer.orig" "$blob"
expect_status 0 mctr_at "$r_bad" pull -q "$REG/library/busybox"

t_begin "plain HTTP only for loopback literals, never for a name that resolves there"
expect_status 0 mctr_at "$T_SANDBOX/r-lh" pull -q "localhost:$PLAIN_PORT/library/busybox"
host=$(hostname)
if [[ $host != localhost ]] && getent hosts "$host" | grep -q '^127\.'; then
	expect_status 125 mctr_at "$T_SANDBOX/r-name" pull "$host:$PLAIN_PORT/library/busybox"
	assert_contains "$ERR" "TLS failure with $host:$PLAIN_PORT"
else
	skip "the host name $host does not resolve to 127.0.0.0/8 here"
fi

t_begin "the Debian image (one 50 MB gzip layer) matches its rootfs"
expect_status 0 mctr pull -q "$REG/library/debian:bookworm"
deb=$(image_field "$REG/library/debian:bookworm" 'i["RootFS"]["Layers"][0][7:]')
assert_file_exists "$MCTR_ROOT/layers/$deb/usr/bin/bash"
assert_eq 4755 "$(stat -c %a "$MCTR_ROOT/layers/$deb/usr/bin/passwd")" "setuid kept"
store_check "$MCTR_ROOT"

t_begin "run pulls a missing image (--pull missing), never pulls with never, re-checks with always"
rr=$T_SANDBOX/r-run
expect_status 0 mctr_at "$rr" run --rm "$REG/layered" cat /data/b
assert_eq b "$OUT" "the container's output, alone on stdout"
assert_contains "$ERR" "Unable to find image '$REG/layered:latest' locally"
assert_contains "$ERR" "Status: Downloaded newer image for $REG/layered:latest"
expect_status 0 mctr_at "$rr" run --rm "$REG/layered" cat /data/c
assert_eq "" "$ERR" "no pull when the image is there"
expect_status 0 mctr_at "$rr" run --rm --pull always "$REG/layered" true
assert_contains "$ERR" "Status: Image is up to date for $REG/layered:latest"
expect_status 125 mctr_at "$rr" run --rm --pull never "$REG/library/busybox" true
assert_contains "$ERR" "no such image: $REG/library/busybox"
expect_status 125 mctr_at "$rr" run --rm "$REG/nosuchrepo" true
assert_contains "$ERR" "nosuchrepo"
