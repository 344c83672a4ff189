#!/bin/bash
# mctr pull/login/logout against TLS registries: CAs from certs.d, an
# untrusted certificate refused, --tls-verify=false and insecure-registries;
# htpasswd Basic auth; token auth (anonymous, a private repository,
# credentials from --creds and from config.json, the token cache, a 401 that
# renews the token); credentials never following a redirect to another host,
# nor going where a redirect target's challenge says, nor to a plain-HTTP
# token realm of a TLS registry.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=pull_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/pull_lib.sh"
pull_setup
F=$FIXTURES
BB=oci:$F/busybox-oci-gzip:latest

mctr_at() { local r=$1; shift; "$MCTR_BIN" --root "$r" "$@"; }
fresh_root() { echo "$T_SANDBOX/root-$1"; }

# ---- TLS ------------------------------------------------------------------------

registry_start tls tls
TLS=$REG_HOST TLS_CA=$REG_CA
registry_push "$BB" library/busybox:latest

t_begin "TLS: a registry whose CA no certs.d directory holds is refused"
r=$(fresh_root untrusted)
expect_status 125 mctr_at "$r" pull "$TLS/library/busybox"
assert_contains "$ERR" "TLS failure with $TLS: certificate not trusted"
assert_contains "$ERR" "/etc/mctr/certs.d/$TLS/ca.crt"
assert_not_contains "$ERR" "plain HTTP" "no fallback after a refused certificate"

t_begin "TLS: the CA in certs.d/HOST:PORT/ca.crt is trusted"
trust_ca "$TLS" "$TLS_CA"
expect_status 0 mctr_at "$(fresh_root trusted)" pull -q "$TLS/library/busybox"
assert_eq "$TLS/library/busybox:latest" "$OUT"
rm -rf "$T_SANDBOX/certs.d/$TLS"

t_begin "TLS: /etc/mctr/certs.d is a default CA directory"
etc_dir=/etc/mctr/certs.d/$TLS
if [[ -w /etc ]] && [[ ! -e $etc_dir ]]; then
	mkdir -p "$etc_dir" && cp "$TLS_CA" "$etc_dir/ca.crt"
	saved=$MCTR_CONFIG
	export MCTR_CONFIG=$T_SANDBOX/no-such-config.json	# defaults: /etc/mctr/certs.d ...
	expect_status 0 mctr_at "$(fresh_root etc)" pull -q "$TLS/library/busybox"
	export MCTR_CONFIG=$saved
	rm -rf "$etc_dir"
	rmdir /etc/mctr/certs.d /etc/mctr 2>/dev/null || true
else
	skip "cannot write $etc_dir"
fi

t_begin "TLS: --tls-verify=false and insecure-registries turn verification off"
expect_status 0 mctr_at "$(fresh_root noverify)" pull -q --tls-verify=false "$TLS/library/busybox"
mctr_config "{\"insecure-registries\":[\"$TLS\"]}"
expect_status 0 mctr_at "$(fresh_root insecure)" pull -q "$TLS/library/busybox"
mctr_config '{}'
expect_status 125 mctr_at "$(fresh_root bad-flag)" pull --tls-verify=maybe "$TLS/library/busybox"
assert_contains "$ERR" "invalid --tls-verify value"

# ---- Basic auth -------------------------------------------------------------------

registry_start auth auth
AUTH=$REG_HOST
registry_push "$BB" library/busybox:latest
trust_ca "$AUTH" "$REG_CA"

t_begin "Basic auth: no credentials, wrong ones, --creds"
r=$(fresh_root basic)
mctr_at "$r" images >/dev/null
MCTR_ROOT=$r
snapshot_listing basic
expect_status 125 mctr pull "$AUTH/library/busybox"
assert_contains "$ERR" "pull access denied for library/busybox"
assert_contains "$ERR" "unauthorized"
expect_status 125 mctr pull --creds mctr:wrong "$AUTH/library/busybox"
assert_contains "$ERR" "denied with the credentials of mctr"
expect_status 125 mctr pull --creds nocolon "$AUTH/library/busybox"
assert_contains "$ERR" "--creds: credentials must be USER:PASSWORD"
assert_listing_unchanged basic
expect_status 0 mctr pull -q --creds mctr:secret "$AUTH/library/busybox"
MCTR_ROOT=$T_SANDBOX/root

t_begin "login checks the password first, writes config.json 0600 keeping other keys; logout removes"
mkdir -p "$DOCKER_CONFIG"
printf '{"auths":{"other.example":{"auth":"eDp5"}},"psFormat":"table"}\n' >"$DOCKER_CONFIG/config.json"
expect_status 125 bash -c "echo wrong | '$MCTR_BIN' login -u mctr --password-stdin '$AUTH'"
assert_contains "$ERR" "incorrect username or password"
assert_not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$AUTH"
expect_status 0 bash -c "printf 'secret\n' | '$MCTR_BIN' login -u mctr --password-stdin '$AUTH'"
assert_contains "$OUT" "Login Succeeded"
assert_eq 600 "$(stat -c %a "$DOCKER_CONFIG/config.json")" "config.json mode"
cfg=$(cat "$DOCKER_CONFIG/config.json")
assert_contains "$cfg" "\"$AUTH\""
assert_contains "$cfg" "bWN0cjpzZWNyZXQ="
assert_contains "$cfg" "other.example"
assert_contains "$cfg" "psFormat"
expect_status 0 mctr_at "$(fresh_root login)" pull -q "$AUTH/library/busybox"
expect_status 0 "$MCTR_BIN" logout "$AUTH"
assert_eq "Removing login credentials for $AUTH" "$OUT"
assert_not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$AUTH"
assert_contains "$(cat "$DOCKER_CONFIG/config.json")" "other.example"
expect_status 0 "$MCTR_BIN" logout "$AUTH"
assert_eq "Not logged in to $AUTH" "$OUT"
expect_status 125 mctr_at "$(fresh_root logout)" pull "$AUTH/library/busybox"
assert_contains "$ERR" "pull access denied"
expect_status 125 "$MCTR_BIN" login -u mctr "$AUTH" </dev/null
assert_contains "$ERR" "no terminal"

t_begin "credentials never follow a redirect to another host"
proxy_start redirect "https://$AUTH" --cafile "$REG_CA" --redirect-port "$(free_port)" --redirect-auth mctr:secret
expect_status 0 mctr_at "$(fresh_root redirect)" pull -q --creds mctr:secret "$PROXY_HOST/library/busybox"
assert_contains "$(grep '"listener": "main"' "$PROXY_LOG" | grep '/manifests/')" '"authorization": true'
redirected=$(grep '"listener": "redirect"' "$PROXY_LOG" || true)
assert_contains "$redirected" "/blobs/sha256:" "blobs came through the redirect"
assert_not_contains "$redirected" '"authorization": true'

t_begin "a 401 from a redirect target does not choose where the credentials go"
proxy_start cdn401 "https://$AUTH" --cafile "$REG_CA" --redirect-port "$(free_port)" --redirect-auth mctr:secret \
	--redirect-401-once /cdn-realm
expect_status 0 mctr_at "$(fresh_root cdn401)" pull -q --creds mctr:secret "$PROXY_HOST/library/busybox"
assert_eq 1 "$(proxy_count '"fault": "redirect-401-once"')" "401s from the redirect target"
assert_eq 0 "$(proxy_count '/cdn-realm')" "requests to the realm it named"

# ---- token auth ----------------------------------------------------------------------

registry_start token token
TOK=$REG_HOST TOKEN_LOG=$REG_TOKEN_LOG TOK_DIR=$REG_DATADIR
registry_push "$BB" library/busybox:latest
registry_push "$BB" private/busybox:latest
trust_ca "$TOK" "$REG_CA"
trust_ca "${REG_TOKEN_URL#https://}" "$REG_CA"
trust_ca "$(sed 's|https://||; s|/.*||' <<<"$REG_TOKEN_URL")" "$REG_CA"

t_begin "token auth: an anonymous pull gets one token for the repository and reuses it"
: >"$TOKEN_LOG"
expect_status 0 mctr_at "$(fresh_root anon)" pull -q "$TOK/library/busybox"
assert_eq 1 "$(wc -l <"$TOKEN_LOG")" "token requests"
assert_contains "$(cat "$TOKEN_LOG")" '"authorization": false'
assert_contains "$(cat "$TOKEN_LOG")" 'repository:library/busybox:pull'

t_begin "token auth: a private repository needs credentials (--creds or config.json)"
r=$(fresh_root private)
expect_status 125 mctr_at "$r" pull "$TOK/private/busybox"
assert_contains "$ERR" "pull access denied for private/busybox"
: >"$TOKEN_LOG"
expect_status 125 mctr_at "$r" pull --creds mctr:nope "$TOK/private/busybox"
assert_contains "$ERR" "incorrect username or password"
expect_status 0 mctr_at "$r" pull -q --creds mctr:secret "$TOK/private/busybox"
assert_contains "$(tail -1 "$TOKEN_LOG")" '"user": "mctr"'
expect_status 0 bash -c "printf 'secret' | '$MCTR_BIN' login --username mctr --password-stdin 'https://$TOK/v2/'"
assert_contains "$(cat "$DOCKER_CONFIG/config.json")" "\"$TOK\""
expect_status 0 mctr_at "$(fresh_root private2)" pull -q "$TOK/private/busybox"
expect_status 0 "$MCTR_BIN" logout "$TOK"

t_begin "token auth: a 401 on a blob renews the token once and the pull goes on"
proxy_start renew "https://$TOK" --cafile "$REG_CA" --401-once
: >"$TOKEN_LOG"
expect_status 0 mctr_at "$(fresh_root renew)" pull -q "$PROXY_HOST/library/busybox"
assert_eq 1 "$(proxy_count '"fault": "401-once"')" "401s sent"
assert_eq 2 "$(wc -l <"$TOKEN_LOG")" "token requests (the first, and one after the 401)"

t_begin "a TLS registry naming a plain-HTTP token realm: refused, nothing sent there"
proxy_start httprealm "https://$TOK" --cafile "$REG_CA" --tls-cert "$TOK_DIR/server.crt" \
	--tls-key "$TOK_DIR/server.key" --realm "http://127.0.0.1:$(free_port)/token"
trust_ca "$PROXY_HOST" "$REG_CA"
expect_status 125 mctr_at "$(fresh_root httprealm)" pull --creds mctr:secret "$PROXY_HOST/library/busybox"
assert_contains "$ERR" "$PROXY_HOST: refusing the plain-HTTP token realm http://127.0.0.1:"
assert_contains "$(cat "$PROXY_LOG")" '"path": "/v2/"' "the registry was asked over TLS"
