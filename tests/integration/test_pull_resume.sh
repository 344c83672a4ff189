#!/bin/bash
# mctr pull when things go wrong on the way: killed mid-blob (kill -9) and
# resumed with a Range request, a connection that breaks mid-blob, two pulls
# of one image at once into one store, a registry that answers 429.  A proxy (regproxy.py) in front of the
# registry stalls a blob after N bytes and logs every request, so each case is
# deterministic: the test waits for events, never for time.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pull_lib.sh"
pull_setup
F=$FIXTURES

registry_start plain plain
REG=$REG_HOST
registry_push "oci:$F/busybox-oci-gzip:latest" library/busybox:latest
BB_LAYER=$(layer_hex_of "$F/busybox-oci-gzip")
LAYER_SIZE=$(stat -c %s "$F/busybox-oci-gzip/blobs/sha256/$BB_LAYER")
STALL=300000

partial_size() { stat -c %s "$MCTR_ROOT/ingest/$BB_LAYER.partial" 2>/dev/null || echo 0; }
partial_is() { [[ $(partial_size) == "$1" ]]; }
stalled() { grep -q '"event": "stalled"' "$PROXY_LOG"; }

t_begin "killed (-9) mid-blob: nothing half-done is visible; the next pull resumes with Range"
proxy_start stall "http://$REG" --stall-after "$STALL"
"$MCTR_BIN" --root "$MCTR_ROOT" pull "$PROXY_HOST/library/busybox" >"$T_SANDBOX/killed.out" 2>&1 &
pid=$!
if wait_for stalled && wait_for partial_is "$STALL"; then
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	ok
else
	kill -9 "$pid" 2>/dev/null || true
	fail "the download did not reach $STALL bytes (partial: $(partial_size))"
fi
assert_no_file "$MCTR_ROOT/oci/blobs/sha256/$BB_LAYER"
assert_eq "" "$(find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 ! -name '.tmp-*')" "committed layers"
assert_eq "" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"] or "")' \
	"$MCTR_ROOT/oci/index.json" 2>/dev/null || true)" "names"
assert_eq "$STALL" "$(partial_size)" "partial download kept"
store_check
expect_status 0 mctr pull "$PROXY_HOST/library/busybox"
assert_contains "$OUT" "${BB_LAYER:0:12}: Downloading (resuming at byte $STALL of $LAYER_SIZE)"
blob_lines=$(grep "/blobs/sha256:$BB_LAYER" "$PROXY_LOG")
assert_contains "$blob_lines" "\"range\": \"bytes=$STALL-\""
assert_contains "$blob_lines" '"status": 206'
assert_file_exists "$MCTR_ROOT/oci/blobs/sha256/$BB_LAYER"
assert_no_file "$MCTR_ROOT/ingest/$BB_LAYER.partial"
store_check
diff_id=$(mctr inspect "$PROXY_HOST/library/busybox" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0][7:])')
assert_file_exists "$MCTR_ROOT/layers/$diff_id/bin/busybox"

t_begin "the connection breaks mid-blob: the same pull resumes it with a Range request"
proxy_start drop "http://$REG" --drop-after "$STALL"
r=$T_SANDBOX/r-drop
expect_status 0 "$MCTR_BIN" --root "$r" pull -q "$PROXY_HOST/library/busybox"
assert_eq 1 "$(proxy_count '"event": "dropped"')" "connections dropped"
blob_lines=$(grep '"method": "GET"' "$PROXY_LOG" | grep "/blobs/sha256:$BB_LAYER")
assert_eq 2 "$(wc -l <<<"$blob_lines")" "layer requests"
assert_contains "$(tail -1 <<<"$blob_lines")" "\"range\": \"bytes=$STALL-\""
assert_contains "$(tail -1 <<<"$blob_lines")" '"status": 206'
store_check "$r"

t_begin "a partial download the server will not resume (200, not 206) starts over"
MCTR_ROOT=$T_SANDBOX/r-norange
mctr images >/dev/null
head -c 1000 "$F/busybox-oci-gzip/blobs/sha256/$BB_LAYER" >"$MCTR_ROOT/ingest/$BB_LAYER.partial"
proxy_start norange "http://$REG" --ignore-range
expect_status 0 mctr pull -q "$PROXY_HOST/library/busybox"
blob_lines=$(grep "/blobs/sha256:$BB_LAYER" "$PROXY_LOG")
assert_contains "$blob_lines" '"range": "bytes=1000-"'
assert_contains "$blob_lines" '"status": 200'
store_check

t_begin "a corrupt partial download is thrown away and fetched again"
MCTR_ROOT=$T_SANDBOX/r-corrupt
mctr images >/dev/null
head -c 5000 /dev/urandom >"$MCTR_ROOT/ingest/$BB_LAYER.partial"
proxy_start corrupt "http://$REG"
expect_status 0 mctr pull -q "$PROXY_HOST/library/busybox"
assert_contains "$ERR" "downloading it again from the start"
assert_eq 2 "$(grep -c "/blobs/sha256:$BB_LAYER" "$PROXY_LOG")" "blob requests (resumed, then whole)"

t_begin "two pulls of one image at once: both succeed, each blob is downloaded once"
r=$T_SANDBOX/concurrent
release=$T_SANDBOX/release
proxy_start hold "http://$REG" --stall-after "$STALL" --release "$release"
"$MCTR_BIN" --root "$r" pull "$PROXY_HOST/library/busybox" >"$T_SANDBOX/a.out" 2>&1 &
pa=$!
wait_for stalled || fail "the first pull never reached the stall"
"$MCTR_BIN" --root "$r" pull "$PROXY_HOST/library/busybox" >"$T_SANDBOX/b.out" 2>&1 &
pb=$!
# the second waits on the per-digest lock the first holds
waiting() { grep -q -- '->.*FLOCK' /proc/locks; }
wait_for waiting || fail "the second pull does not wait on a lock"
touch "$release"
sa=0 sb=0
wait "$pa" || sa=$?
wait "$pb" || sb=$?
assert_eq 0 "$sa" "first pull: $(cat "$T_SANDBOX/a.out")"
assert_eq 0 "$sb" "second pull: $(cat "$T_SANDBOX/b.out")"
assert_eq 1 "$(grep -c "GET.*/blobs/sha256:$BB_LAYER" "$PROXY_LOG" || true)" "layer downloads"
cfg=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["config"]["digest"][7:])' \
	"$F/busybox-oci-gzip/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$F/busybox-oci-gzip/index.json")")
assert_eq 1 "$(grep -c "GET.*/blobs/sha256:$cfg" "$PROXY_LOG" || true)" "config downloads"
assert_contains "$(cat "$T_SANDBOX/b.out")" "Image is up to date"
store_check "$r"

t_begin "429 with Retry-After: the blob is retried after the wait"
proxy_start ratelimit "http://$REG" --429-once
expect_status 0 "$MCTR_BIN" --root "$T_SANDBOX/r429" pull -q "$PROXY_HOST/library/busybox"
assert_eq 1 "$(proxy_count '"status": 429')" "429 answers"
assert_contains "$(grep "/blobs/sha256:$BB_LAYER" "$PROXY_LOG" | tail -1)" '"status": 200'

t_begin "429 with a Retry-After over a minute: not waited for; the error gives the time"
proxy_start ratelong "http://$REG" --429-always 3600
r=$T_SANDBOX/r429long
mctr_at_r() { "$MCTR_BIN" --root "$r" "$@"; }
mctr_at_r images >/dev/null
MCTR_ROOT=$r snapshot_listing ratelimit
expect_status 125 mctr_at_r pull "$PROXY_HOST/library/busybox"
assert_contains "$ERR" "$PROXY_HOST: rate limited (toomanyrequests: slow down); retry after 3600 s"
assert_eq 1 "$(proxy_count '/manifests/')" "manifest requests"
MCTR_ROOT=$r assert_listing_unchanged ratelimit

t_begin "429 every time: retried a bounded number of times, then the error"
proxy_start ratealways "http://$REG" --429-always 0
expect_status 125 mctr_at_r pull "$PROXY_HOST/library/busybox"
assert_contains "$ERR" "rate limited (toomanyrequests: slow down)"
assert_eq 5 "$(proxy_count '/manifests/')" "manifest requests (REGISTRY_MAX_ATTEMPTS)"
MCTR_ROOT=$r assert_listing_unchanged ratelimit
