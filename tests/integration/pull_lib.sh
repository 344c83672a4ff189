# shellcheck shell=bash
# Helpers shared by tests/integration/test_pull*.sh (sourced after lib.sh).
#
#   pull_setup              fixtures, no proxy/config leaking in from outside,
#                           a DOCKER_CONFIG and an MCTR_CONFIG of the sandbox
#   mctr_config JSON        write the MCTR_CONFIG file
#   proxy_start NAME UPSTREAM [regproxy.py options...]
#                           start tests/integration/regproxy.py; sets PROXY_PORT,
#                           PROXY_HOST, PROXY_LOG (stopped at exit)
#   proxy_count SUBSTRING   the proxy log's lines holding SUBSTRING
#   trust_ca HOST:PORT CA   put CA in the sandbox's certs.d for HOST:PORT
#   blob_gets REGDIR REPO   blob GETs REPO's registry logged so far
#   store_listing           the store without lock files (a pull leaves
#                           locks/blob-<hex>, which GC removes)
#   snapshot_listing / assert_listing_unchanged [NAME]
#   store_check [ROOT]      `mctr system check` finds nothing wrong with the store
#   wait_for CMD...         until CMD succeeds (10 s at most; 20 ms steps)
#   layer_hex_of LAYOUT     the hex of the first layer blob of a fixture layout
#   image_field REF EXPR    a field of `mctr inspect REF`
# shellcheck disable=SC2034  # PROXY_* are set for the test files

PULL_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_PROXY_PIDFILES=()	# regproxy.py writes its own pid (setsid may fork)

pull_setup() {
	need_fixtures
	# No test may send anything off the machine: no proxies from the caller.
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	export DOCKER_CONFIG=$T_SANDBOX/docker
	export MCTR_CONFIG=$T_SANDBOX/mctr-config.json
	mkdir -p "$T_SANDBOX/certs.d"
	mctr_config '{}'
}

# mctr_config JSON: certs-dirs always points at the sandbox's own directory
# (so a CA left in /etc/mctr/certs.d by someone else cannot make a test pass).
mctr_config() {
	python3 - "$MCTR_CONFIG" "$1" "$T_SANDBOX/certs.d" <<'PY'
import json, sys
cfg = json.loads(sys.argv[2])
cfg.setdefault("certs-dirs", [sys.argv[3]])
open(sys.argv[1], "w").write(json.dumps(cfg))
PY
}

# trust_ca HOST:PORT CAFILE: put CAFILE in the sandbox certs.d for HOST:PORT.
trust_ca() {
	mkdir -p "$T_SANDBOX/certs.d/$1"
	cp "$2" "$T_SANDBOX/certs.d/$1/ca.crt"
}

proxy_start() {
	local name=$1 upstream=$2 port
	shift 2
	port=$(free_port)
	PROXY_LOG=$T_SANDBOX/proxy-$name.log
	: >"$PROXY_LOG"
	setsid python3 "$PULL_TEST_DIR/regproxy.py" --port "$port" --upstream "$upstream" --log "$PROXY_LOG" \
		--pidfile "$T_SANDBOX/proxy-$name.pid" "$@" </dev/null >"$T_SANDBOX/proxy-$name.out" 2>&1 &
	T_PROXY_PIDFILES+=("$T_SANDBOX/proxy-$name.pid")
	PROXY_PORT=$port PROXY_HOST=127.0.0.1:$port
	local i
	for ((i = 0; i < 200; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.02
	done
	cat "$T_SANDBOX/proxy-$name.out" >&2
	return 1
}

proxy_stop_all() {
	local f
	for f in "${T_PROXY_PIDFILES[@]}"; do
		[[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null
	done
	T_PROXY_PIDFILES=()
	return 0
}

# The EXIT trap of lib.sh, with our proxies (and the caller's extra cleanup,
# PULL_EXTRA_CLEANUP) stopped first.
pull__cleanup() {
	local rc=$?
	proxy_stop_all
	if [[ -n ${PULL_EXTRA_CLEANUP:-} ]]; then "$PULL_EXTRA_CLEANUP" || true; fi
	(exit "$rc")
	t__cleanup
}
trap pull__cleanup EXIT

blob_gets() {
	grep -c "\"GET /v2/$2/blobs/sha256:" "$1/registry.log" || true
}

# proxy_count SUBSTRING: log lines of the proxy containing SUBSTRING.
proxy_count() {
	grep -c -- "$1" "$PROXY_LOG" || true
}

store_listing() {
	[[ -d $MCTR_ROOT ]] || return 0
	find "$MCTR_ROOT" -mindepth 1 -path "$MCTR_ROOT/locks" -prune -o \
		\( -type d -printf '%P d - %m\n' \) -o -printf '%P %y %s %m\n' | LC_ALL=C sort
}
snapshot_listing() { store_listing >"$T_SANDBOX/.listing.${1:-default}"; }
assert_listing_unchanged() {
	local d
	if d=$(diff -u "$T_SANDBOX/.listing.${1:-default}" <(store_listing)); then ok; else
		fail "store changed:"$'\n'"$(head -40 <<<"$d")"
	fi
}

wait_for() {
	local i
	for ((i = 0; i < 500; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	return 1
}

# layer_hex_of LAYOUT: hex of the first layer of the layout's first image.
layer_hex_of() {
	python3 - "$1" <<'PY'
import json, sys, os
root = sys.argv[1]
d = json.load(open(os.path.join(root, "index.json")))["manifests"][0]["digest"]
m = json.load(open(os.path.join(root, "blobs", "sha256", d[7:])))
print(m["layers"][0]["digest"][7:])
PY
}

# image_field REF PYTHON-EXPR: evaluate EXPR on `mctr inspect REF`[0] (as i).
image_field() {
	mctr inspect "$1" | python3 -c "import json,sys; i=json.load(sys.stdin)[0]; print($2)"
}

# store_check [ROOT]: `mctr system check` finds nothing wrong with the store
# (cgroups left by other tests on this machine are not the store's business).
store_check() {
	local root=${1:-$MCTR_ROOT} problems
	run_cmd "$MCTR_BIN" --root "$root" system check
	problems=$(grep -v -e '^checked ' -e '^cgroup .* belongs to no container' <<<"$OUT$ERR" || true)
	assert_eq "" "$problems" "system check of $root"
	assert_contains "$OUT" "checked "
}
