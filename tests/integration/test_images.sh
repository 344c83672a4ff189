#!/bin/bash
# Names, IDs and removal: tag, rmi, inspect, image prune, garbage collection,
# system check, concurrent writers and a writer killed half-way.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_fixtures

blob_count() { find "$MCTR_ROOT/oci/blobs/sha256" -type f | wc -l; }
layer_count() { find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l; }
image_id() { mctr inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

t_begin "tag gives a second name; both resolve to one ID; bad names are refused"
expect_status 0 mctr load -i "$FIXTURES/busybox-docker.tar"
id=$(image_id busybox)
expect_status 0 mctr tag busybox localhost:5000/team/bb:v1
expect_status 0 mctr inspect localhost:5000/team/bb:v1
assert_contains "$OUT" "\"Id\": \"$id\""
assert_contains "$OUT" '"localhost:5000/team/bb:v1"'
expect_status 125 mctr tag busybox 'Bad/Name'
assert_contains "$ERR" "must be lowercase"
expect_status 125 mctr tag busybox "$(printf 'a%.0s' {1..64} | tr a 0)"
assert_contains "$ERR" "64-byte hexadecimal"
expect_status 125 mctr tag nothere x
assert_contains "$ERR" "no such image: nothere"

t_begin "images are found by ID, sha256:ID and a unique prefix"
expect_status 0 mctr inspect "${id:7:12}"
assert_contains "$OUT" "\"Id\": \"$id\""
expect_status 0 mctr inspect "$id"
expect_status 0 mctr inspect "${id:7}"
expect_status 0 mctr images -q
assert_eq "${id:7:12}" "$OUT"
expect_status 0 mctr images --no-trunc -q
assert_eq "$id" "$OUT"

t_begin "images --format json has Podman's keys"
expect_status 0 mctr images --format json
for k in Id ParentId RepoTags RepoDigests Size SharedSize VirtualSize Labels Containers Names Digest History Created CreatedAt; do
	assert_contains "$OUT" "\"$k\":"
done
assert_contains "$OUT" '"docker.io/library/busybox:latest"'
assert_contains "$OUT" '"Containers": 0'
# Two images, a container of each: every image counts its own (the
# container list is read again for each image).
expect_status 0 mctr load -i "$FIXTURES/layered-docker.tar"
c1=$(mctr create busybox true) c2=$(mctr create layered true)
expect_status 0 mctr images --format json
counts=$(python3 -c 'import json,sys; print(" ".join("%s=%d" % (i["Names"][0].split("/")[-1], i["Containers"]) for i in json.loads(sys.argv[1])))' "$OUT")
assert_eq "busybox:latest=1 layered:latest=1" "$counts" "containers per image"
expect_status 0 mctr rm "${c1:0:6}" "${c2:0:6}"
assert_eq "${c1:0:6}"$'\n'"${c2:0:6}" "$OUT" "rm of two ID prefixes"
expect_status 0 mctr rmi layered

t_begin "rmi of one of two names only untags"
expect_status 0 mctr rmi localhost:5000/team/bb:v1
assert_eq "Untagged: localhost:5000/team/bb:v1" "$OUT"
expect_status 0 mctr inspect busybox

t_begin "rmi by ID of an image with several names needs -f"
expect_status 0 mctr tag busybox second:tag
expect_status 125 mctr rmi "${id:7:12}"
assert_contains "$ERR" "must be forced"
expect_status 0 mctr rmi -f "${id:7:12}"
assert_contains "$OUT" "Untagged: busybox:latest"
assert_contains "$OUT" "Untagged: second:tag"
assert_contains "$OUT" "Deleted: $id"
assert_eq 0 "$(blob_count)" "blobs left"
assert_eq 0 "$(layer_count)" "layers left"

t_begin "rmi keeps layers another image still uses"
expect_status 0 mctr load -i "$FIXTURES/layered-docker.tar"
expect_status 0 mctr load -i "$FIXTURES/shared-base-docker.tar"
assert_eq 4 "$(layer_count)"
expect_status 0 mctr rmi layered
assert_eq 2 "$(layer_count)" "shared-base's two layers remain"
expect_status 0 mctr inspect shared-base
expect_status 125 mctr rmi layered
assert_contains "$ERR" "no such image: layered"

t_begin "a name moved to another image leaves the old one dangling; image prune removes it"
expect_status 0 mctr load -i "$FIXTURES/busybox-docker.tar"
expect_status 0 mctr tag shared-base busybox:latest
expect_status 0 mctr images
assert_contains "$OUT" "<none>"
expect_status 0 mctr image prune -f
assert_contains "$OUT" "deleted: "
expect_status 0 mctr images
assert_not_contains "$OUT" "<none>"
expect_status 0 mctr image prune -a -f
assert_eq 0 "$(mctr images -q | wc -l)" "images after prune -a"
assert_eq 0 "$(blob_count)" "blobs after prune -a"

t_begin "system check finds a damaged blob and a missing layer; --repair fixes what it can"
expect_status 0 mctr load -i "$FIXTURES/layered-oci"
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"
blob=$(find "$MCTR_ROOT/oci/blobs/sha256" -type f -size +100k | head -1)
chmod u+w "$blob"; printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
layer=$(find "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 | head -1)
rm -rf "$layer"
expect_status 1 mctr system check
assert_contains "$OUT" "is damaged"
assert_contains "$OUT" "is missing"
expect_status 0 mctr system check --repair
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "system check reports an image with several names once; --repair unpacks a missing layer again"
expect_status 0 mctr load -i "$FIXTURES/layered-docker.tar"
expect_status 0 mctr tag layered second:name
top=$(mctr inspect layered | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][-1][7:])')
rm -rf "${MCTR_ROOT:?}/layers/$top"
expect_status 1 mctr system check
assert_eq 1 "$(grep -c "unpacked layer sha256:$top is missing" <<<"$OUT")" "reports of the missing layer"
assert_contains "$OUT" ": 1 problem"
expect_status 0 mctr system check --repair
assert_contains "$OUT" "unpacked again"
assert_file_exists "$MCTR_ROOT/layers/$top/data"
expect_status 0 mctr inspect second:name
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "system check --repair drops an image whose layer blob is damaged"
blob=$(mctr inspect layered | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Manifest"]["Layers"][0]["digest"][7:])')
chmod u+w "$MCTR_ROOT/oci/blobs/sha256/$blob"
printf 'X' | dd of="$MCTR_ROOT/oci/blobs/sha256/$blob" bs=1 seek=100 conv=notrunc status=none
expect_status 1 mctr system check
assert_contains "$OUT" "blob sha256:$blob is damaged"
expect_status 0 mctr system check --repair
assert_contains "$OUT" "blob sha256:$blob is damaged (content hashes to"
expect_status 125 mctr inspect layered
expect_status 125 mctr inspect second:name
assert_no_file "$MCTR_ROOT/oci/blobs/sha256/$blob"
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "an image whose config blob is gone hides no other: names resolve from index.json alone"
expect_status 0 mctr load -i "$FIXTURES/busybox-docker.tar"
expect_status 0 mctr load -i "$FIXTURES/layered-docker.tar"
cfg=$(image_id layered)
rm -f "$MCTR_ROOT/oci/blobs/sha256/${cfg:7}"
expect_status 0 mctr inspect busybox
assert_contains "$OUT" "\"Id\": \"$id\""
expect_status 125 mctr inspect layered
assert_contains "$ERR" "${cfg:7}"
expect_status 0 mctr system check --repair
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "a load that cannot name its image takes back nothing it linked: GC collects it"
# A concurrent load may already use a blob this one linked, so a failure
# after linking leaves the verified blobs and layers unnamed for GC.
fr=$T_SANDBOX/failname
expect_status 0 "$MCTR_BIN" --root "$fr" info
if chattr +i "$fr/oci" 2>/dev/null; then
	expect_status 125 "$MCTR_BIN" --root "$fr" load -i "$FIXTURES/busybox-docker.tar"
	chattr -i "$fr/oci"
	assert_contains "$ERR" "index"
	expect_status 0 "$MCTR_BIN" --root "$fr" images -q
	assert_eq "" "$OUT" "no image is named"
	assert_eq 3 "$(find "$fr/oci/blobs/sha256" -type f | wc -l)" "verified blobs stay"
	expect_status 0 "$MCTR_BIN" --root "$fr" system check
	assert_contains "$OUT" "0 problems"
	expect_status 0 "$MCTR_BIN" --root "$fr" image prune
	assert_eq 0 "$(find "$fr/oci/blobs/sha256" "$fr/layers" -mindepth 1 -maxdepth 1 | wc -l)" "GC collects them"
	expect_status 0 "$MCTR_BIN" --root "$fr" load -i "$FIXTURES/busybox-docker.tar"
else
	skip "chattr +i is not supported on $T_SANDBOX"
fi

t_begin "concurrent tags into one root lose no name (index.json under its lock)"
expect_status 0 mctr load -q -i "$FIXTURES/busybox-docker.tar"
pids=()
for i in $(seq 1 24); do mctr tag busybox "race:n$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent tag failed"; done
expect_status 0 mctr images --format json
assert_eq 25 "$(python3 -c 'import json,sys; print(sum(len(i["Names"]) for i in json.load(sys.stdin)))' <<<"$OUT")" \
	"names after 24 concurrent tags"
expect_status 0 mctr image prune -a -f

t_begin "concurrent loads into one root lose no name"
expect_status 0 mctr image prune -a -f
pids=()
for f in busybox-docker.tar layered-docker.tar shared-base-docker.tar busybox-oci debian-docker.tar; do
	mctr load -q -i "$FIXTURES/$f" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent load failed"; done
expect_status 0 mctr images
for n in busybox layered shared-base debian; do assert_contains "$OUT" "$n "; done
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "concurrent loads of the same image all succeed"
expect_status 0 mctr rmi debian:bookworm
pids=()
for i in 1 2 3; do mctr load -q -i "$FIXTURES/debian-docker.tar" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent load of the same image failed"; done
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "garbage collection waits for a running load (store lock): nothing of it is collected"
expect_status 0 mctr rmi debian:bookworm
"$MCTR_BIN" --root "$MCTR_ROOT" load -q -i "$FIXTURES/debian-docker.tar" & lp=$!	# not the function: $! must be mctr
for _ in $(seq 1 500); do
	compgen -G "$MCTR_ROOT/layers/.tmp-*" >/dev/null && break
	sleep 0.01
done
compgen -G "$MCTR_ROOT/layers/.tmp-*" >/dev/null || fail "the load never began unpacking"
expect_status 0 mctr image prune -f
wait "$lp" || fail "the load failed while garbage collection ran"
expect_status 0 mctr inspect debian:bookworm
expect_status 0 mctr system check
assert_contains "$OUT" "0 problems"

t_begin "a load killed with SIGKILL leaves no visible partial state; GC cleans debris"
expect_status 0 mctr rmi debian:bookworm
snapshot_store killed
final_names() { find "$MCTR_ROOT/oci/blobs/sha256" "$MCTR_ROOT/layers" -mindepth 1 -maxdepth 1 ! -name '.tmp-*' | sort; }
names_before=$(final_names)
cp "$MCTR_ROOT/oci/index.json" "$T_SANDBOX/index-before-kill.json"
"$MCTR_BIN" --root "$MCTR_ROOT" load -q -i "$FIXTURES/debian-docker.tar" & lp=$!	# not the function: $! must be mctr
# Kill as soon as the unpack has begun (a temp layer dir exists).
for _ in $(seq 1 500); do
	compgen -G "$MCTR_ROOT/layers/.tmp-*" >/dev/null && break
	sleep 0.01
done
kill -9 "$lp" 2>/dev/null || fail "the load ended before it could be killed"
wait "$lp" 2>/dev/null || true
assert_eq "$names_before" "$(final_names)" "blobs and layers under final names after the kill"
cmp -s "$T_SANDBOX/index-before-kill.json" "$MCTR_ROOT/oci/index.json" || fail "index.json changed by the killed load"
expect_status 0 mctr images
assert_not_contains "$OUT" debian
expect_status 0 mctr system check --repair
assert_store_unchanged killed
expect_status 0 mctr load -q -i "$FIXTURES/debian-docker.tar"
expect_status 0 mctr inspect debian:bookworm

t_begin "bad usage is refused with exit 125 and one line"
expect_status 125 mctr load -i /nonexistent
assert_contains "$ERR" "/nonexistent"
assert_eq 1 "$(wc -l <<<"$ERR")" "one line"
expect_status 125 mctr rmi
expect_status 125 mctr images --format table
expect_status 125 mctr inspect 'a:b:c'
assert_contains "$ERR" "invalid reference"
