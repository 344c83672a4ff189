#!/bin/bash
# Usage: tests/integration/run-one.sh tests/integration/test_registry_tools.sh
#
# Tests the local test registries (tools/registry.sh, registry-token-server.py)
# that mctr's pull tests rely on: each mode answers as it should over curl,
# skopeo can push the busybox fixture into it, and what was pushed is what
# the fixture holds (the gzip variant: skopeo would compress an uncompressed
# layer on push).  Does not use mctr.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_fixtures
busybox_digest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
	"$FIXTURES/busybox-oci-gzip/index.json")
accept='application/vnd.oci.image.manifest.v1+json'

# http_code CURL_ARGS...: the status code of one request ("000": no answer).
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true; }

# check_pushed CURL_AUTH_ARGS...: the pushed manifest is the fixture's, byte for byte.
check_pushed() {
	local got
	got=$(curl -sf --max-time 10 "$@" -H "Accept: $accept" "$REG_URL/v2/library/busybox/manifests/latest" |
		sha256sum | cut -d' ' -f1)
	assert_eq "$busybox_digest" "sha256:$got" "digest of the pushed manifest"
}

t_begin "plain: HTTP, no auth; skopeo push; manifest round-trips"
registry_start r-plain plain
assert_eq 200 "$(http_code "$REG_URL/v2/")" "GET /v2/"
expect_status 0 registry_push "oci:$FIXTURES/busybox-oci-gzip:latest" library/busybox:latest
check_pushed

t_begin "tls: HTTPS with the generated CA only"
registry_start r-tls tls
assert_contains "$REG_URL" https://127.0.0.1:
assert_eq 200 "$(http_code --cacert "$REG_CA" "$REG_URL/v2/")" "GET /v2/ trusting the CA"
assert_eq 000 "$(http_code "$REG_URL/v2/")" "GET /v2/ without the CA"
assert_eq 200 "$(http_code --cacert "$REG_CA" "https://localhost:$REG_PORT/v2/")" "the cert names localhost too"
expect_status 0 registry_push "oci:$FIXTURES/busybox-oci-gzip:latest" library/busybox:latest
check_pushed --cacert "$REG_CA"

t_begin "auth: basic auth mctr/secret over TLS"
registry_start r-auth auth
assert_eq 401 "$(http_code --cacert "$REG_CA" "$REG_URL/v2/")" "anonymous GET /v2/"
expect_status 0 curl -s -D - -o /dev/null --cacert "$REG_CA" "$REG_URL/v2/"
assert_contains "${OUT,,}" 'www-authenticate: basic realm='
assert_eq 200 "$(http_code --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD" "$REG_URL/v2/")" "GET /v2/ as mctr"
assert_eq 401 "$(http_code --cacert "$REG_CA" -u "$REG_USER:wrong" "$REG_URL/v2/")" "wrong password"
expect_status 0 registry_push "oci:$FIXTURES/busybox-oci-gzip:latest" library/busybox:latest
check_pushed --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD"

t_begin "token: bearer challenge, token server, scoped tokens"
registry_start r-token token
expect_status 0 curl -s -D - -o /dev/null --cacert "$REG_CA" "$REG_URL/v2/"
assert_contains "$OUT" "401"
assert_contains "$OUT" "Bearer realm=\"$REG_TOKEN_URL\",service=\"$REG_SERVICE\""
expect_status 0 curl -sf --cacert "$REG_CA" -u "$REG_USER:$REG_PASSWORD" \
	"$REG_TOKEN_URL?service=$REG_SERVICE&scope=repository:library/busybox:pull,push"
for key in token access_token expires_in issued_at; do
	assert_contains "$OUT" "\"$key\""
done
token=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["token"])' "$OUT")
assert_eq 200 "$(http_code --cacert "$REG_CA" -H "Authorization: Bearer $token" "$REG_URL/v2/")" \
	"GET /v2/ with the token"
assert_eq 401 "$(http_code --cacert "$REG_CA" -u "$REG_USER:wrong" "$REG_TOKEN_URL?service=$REG_SERVICE")" \
	"token request with a wrong password"
expect_status 0 registry_push "oci:$FIXTURES/busybox-oci-gzip:latest" library/busybox:latest
expect_status 0 registry_push "oci:$FIXTURES/busybox-oci-gzip:latest" private/busybox:latest
assert_contains "$(cat "$REG_TOKEN_LOG")" '"user": "mctr"'

t_begin "token: anonymous clients may pull, but not push, nor pull private/"
anon_token() {	# SCOPE
	curl -sf --cacert "$REG_CA" "$REG_TOKEN_URL?service=$REG_SERVICE&scope=$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
tok=$(anon_token repository:library/busybox:pull,push)
assert_eq 200 "$(http_code --cacert "$REG_CA" -H "Authorization: Bearer $tok" -H "Accept: $accept" \
	"$REG_URL/v2/library/busybox/manifests/latest")" "anonymous manifest GET"
assert_eq 401 "$(http_code --cacert "$REG_CA" -H "Authorization: Bearer $tok" -X POST \
	"$REG_URL/v2/library/busybox/blobs/uploads/")" "anonymous upload"
tok=$(anon_token repository:private/busybox:pull)
assert_eq 401 "$(http_code --cacert "$REG_CA" -H "Authorization: Bearer $tok" -H "Accept: $accept" \
	"$REG_URL/v2/private/busybox/manifests/latest")" "anonymous GET of private/"
expect_status 0 skopeo --insecure-policy inspect --cert-dir "$REG_CERT_DIR" "docker://$REG_HOST/library/busybox:latest"
assert_contains "$OUT" "$busybox_digest"

t_begin "stop ends the registry and its token server"
pids="$(cat "$REG_DATADIR/registry.pid") $(cat "$REG_DATADIR/token.pid")"
expect_status 0 bash "$MCTR_SRC_DIR/tools/registry.sh" stop "$REG_DATADIR"
for pid in $pids; do
	if pid_alive "$pid"; then fail "pid $pid still runs"; else ok; fi
done
assert_eq 000 "$(http_code --cacert "$REG_CA" "$REG_URL/v2/")" "GET /v2/ after stop"
