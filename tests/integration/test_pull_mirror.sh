#!/bin/bash
# Short names (alpine) resolve to Docker Hub; registry-mirrors are tried
# first and the origin last, and credentials never go to a mirror.  Run in a
# network namespace with nothing but its own loopback: the registry, a
# logging proxy and mctr all live there, so nothing can leave the machine
# (the origin, registry-1.docker.io, is unreachable by construction).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pull_lib.sh"
pull_setup
F=$FIXTURES

t_begin "a network namespace with only loopback"
require_root || exit 0
if ! command -v ip >/dev/null || ! ip netns add "mctr-pull-$$" 2>/dev/null; then
	skip "cannot create a network namespace"
	exit 0
fi
NS=mctr-pull-$$
ns_cleanup() { ip netns del "$NS" 2>/dev/null || true; }
PULL_EXTRA_CLEANUP=ns_cleanup
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
assert_eq "lo" "$(in_ns ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')" "links"

port=$(free_port) pport=$(free_port)
dir=$T_SANDBOX/registry-mirror
T_REGISTRIES+=("$dir")
in_ns bash "$MCTR_SRC_DIR/tools/registry.sh" start mirror plain "$port" "$dir" | sed 's/^/# /'
in_ns bash "$MCTR_SRC_DIR/tools/registry.sh" push "oci:$F/busybox-oci-gzip:latest" "127.0.0.1:$port/library/alpine:latest" "$dir"
PROXY_LOG=$T_SANDBOX/proxy-mirror.log
: >"$PROXY_LOG"
in_ns setsid python3 "$PULL_TEST_DIR/regproxy.py" --port "$pport" --upstream "http://127.0.0.1:$port" \
	--log "$PROXY_LOG" --pidfile "$T_SANDBOX/proxy-mirror.pid" </dev/null >"$T_SANDBOX/proxy-mirror.out" 2>&1 &
T_PROXY_PIDFILES+=("$T_SANDBOX/proxy-mirror.pid")
proxy_up() { in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$pport" 2>/dev/null; }
wait_for proxy_up || fail "proxy did not start"
mctr_config "{\"registry-mirrors\":[\"http://127.0.0.1:$pport\"]}"
mkdir -p "$DOCKER_CONFIG"
printf '{"auths":{"https://index.docker.io/v1/":{"auth":"%s"}}}\n' "$(printf 'hubuser:hubpass' | base64)" \
	>"$DOCKER_CONFIG/config.json"

t_begin "alpine comes from the mirror, without the Docker Hub credentials"
expect_status 0 in_ns "$MCTR_BIN" --root "$MCTR_ROOT" pull alpine
assert_contains "$OUT" "latest: Pulling from library/alpine"
assert_contains "$OUT" "Status: Downloaded newer image for alpine:latest"
assert_eq "docker.io/library/alpine:latest" "$(tail -1 <<<"$OUT")" "full name"
assert_contains "$(cat "$PROXY_LOG")" "/v2/library/alpine/manifests/latest"
assert_not_contains "$(cat "$PROXY_LOG")" '"authorization": true'
expect_status 0 "$MCTR_BIN" images
assert_contains "$OUT" "alpine"

t_begin "a tag the mirror lacks is asked of the origin last (unreachable here)"
: >"$PROXY_LOG"
expect_status 125 in_ns "$MCTR_BIN" --root "$MCTR_ROOT" pull alpine:nope
assert_contains "$(cat "$PROXY_LOG")" "/v2/library/alpine/manifests/nope"
assert_contains "$ERR" "registry-1.docker.io"
assert_eq 1 "$(wc -l <<<"$ERR")" "error lines"

t_begin "without a mirror a short name goes to registry-1.docker.io"
mctr_config '{}'
expect_status 125 in_ns "$MCTR_BIN" --root "$T_SANDBOX/r-nomirror" pull busybox
assert_contains "$ERR" "registry-1.docker.io"
