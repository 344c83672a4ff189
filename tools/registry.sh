#!/bin/bash
# Usage:
#   tools/registry.sh start NAME MODE PORT DATADIR
#   tools/registry.sh stop  NAME MODE PORT DATADIR     (only DATADIR matters)
#   tools/registry.sh env   DATADIR                    (print the settings as shell vars)
#   tools/registry.sh push  SRC DEST [DATADIR]
#
# Runs Debian's docker-registry (distribution 2.8) on 127.0.0.1:PORT for mctr's
# pull tests, with its own config, storage and certificates in DATADIR.
# MODE:
#   plain  HTTP, no auth
#   tls    HTTPS; a throw-away CA and a server cert for 127.0.0.1/localhost are
#          made at start; the CA is DATADIR/ca.crt (DATADIR/certs/ holds only
#          it, for skopeo's --cert-dir)
#   auth   tls + htpasswd basic auth, user "mctr" password "secret"
#   token  tls + token auth: tools/registry-token-server.py on PORT+1 (or
#          $TOKEN_PORT) issues JWTs to mctr/secret (all actions) and to
#          anonymous clients (pull, except repositories under private/);
#          its requests are logged to DATADIR/token.log
# start waits until /v2/ answers and writes DATADIR/registry.pid (and
# token.pid); stop kills them.  DATADIR/registry.env records the settings as
# shell variables (REG_MODE, REG_PORT, REG_HOST, REG_URL, REG_CA, REG_CERT_DIR,
# REG_USER, REG_PASSWORD, REG_TOKEN_URL, REG_TOKEN_LOG) for tests and for push.
#
# push SRC DEST copies an image into a running registry with skopeo, adding
# the TLS and credential flags its mode needs.  SRC is a skopeo reference
# (oci:DIR:TAG, docker-archive:FILE, ...); DEST is HOST:PORT/REPO[:TAG] (no
# transport).  DATADIR defaults to the one `start` recorded for that port.
#
# Needs docker-registry, openssl, curl, skopeo, python3-jwt and
# python3-cryptography (token mode); installed with apt-get when missing.
set -euo pipefail

tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
USER_NAME=mctr
USER_PASSWORD=secret
# bcrypt (cost 5: every request re-checks it) of "secret"; the registry accepts
# only bcrypt in htpasswd files.  Made with python3's crypt module, and
# fixed here so no htpasswd tool or bcrypt module is needed.
# shellcheck disable=SC2016  # a literal hash, not an expansion
USER_BCRYPT='$2b$05$C3mvO2TkuJ99K0jsc..bZOm3nn69uR1Ubj9DAHrvqSMuo6DNFkXVK'
SERVICE=mctr-test-registry
ISSUER=mctr-test-token-server
# Where `start` notes DATADIR per port, so `push` finds it from DEST alone.
STATE_DIR=${TMPDIR:-/tmp}/mctr-test-registries

die() { echo "registry.sh: $*" >&2; exit 1; }
usage() { sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2; exit 2; }

ensure_packages() {
	local missing=()
	command -v docker-registry >/dev/null || missing+=(docker-registry)
	command -v openssl >/dev/null || missing+=(openssl)
	command -v curl >/dev/null || missing+=(curl)
	command -v skopeo >/dev/null || missing+=(skopeo)
	if [[ $1 == token ]] && ! /usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null; then
		missing+=(python3-jwt python3-cryptography)
	fi
	if [[ ${#missing[@]} -gt 0 ]]; then
		echo "registry.sh: installing ${missing[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq "${missing[@]}" >&2 ||
			{ apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2; }
	fi
}

# A CA and a server certificate for 127.0.0.1 and localhost (Go's TLS wants
# the names in subjectAltName).  EC keys: fast to make.
make_certs() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$d/ca.key" -out "$d/ca.crt" -subj "/CN=mctr test CA $(basename "$d")" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" -subj /CN=localhost 2>/dev/null
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
		-out "$d/server.crt" -extfile <(printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		'extendedKeyUsage=serverAuth' 'basicConstraints=CA:FALSE') 2>/dev/null
	rm -f "$d/server.csr" "$d/ca.srl"
	mkdir -p "$d/certs"
	cp "$d/ca.crt" "$d/certs/ca.crt"
}

# The token signing key and the certificate the registry trusts it by.
make_token_key() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$d/token-signing.key" \
		-out "$d/token-signing.crt" -subj "/CN=$ISSUER" 2>/dev/null
}

write_config() {
	local name=$1 mode=$2 port=$3 d=$4 token_port=$5
	{
		cat <<-EOF
		version: 0.1
		log:
		  level: info
		  fields:
		    service: registry
		    instance: $name
		storage:
		  filesystem:
		    rootdirectory: $d/storage
		  delete:
		    enabled: true
		  cache:
		    blobdescriptor: inmemory
		http:
		  addr: 127.0.0.1:$port
		  secret: mctr-test-$name
		  headers:
		    X-Content-Type-Options: [nosniff]
		EOF
		if [[ $mode != plain ]]; then
			cat <<-EOF
			  tls:
			    certificate: $d/server.crt
			    key: $d/server.key
			EOF
		fi
		case $mode in
		auth)
			cat <<-EOF
			auth:
			  htpasswd:
			    realm: mctr-test-registry
			    path: $d/htpasswd
			EOF
			;;
		token)
			cat <<-EOF
			auth:
			  token:
			    realm: https://127.0.0.1:$token_port/token
			    service: $SERVICE
			    issuer: $ISSUER
			    rootcertbundle: $d/token-signing.crt
			EOF
			;;
		esac
	} >"$d/config.yml"
}

# wait_http URL CURL_ARGS...: until the server answers at all (any status).
wait_http() {
	local url=$1 pidfile=$2 code i
	shift 2
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)
		[[ $code != 000 ]] && return 0
		alive "$(cat "$pidfile")" || return 1
		sleep 0.1
	done
	return 1
}

# A killed server stays a zombie until init reaps it, which can take seconds
# here; a zombie counts as gone.
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}
is_running() { [[ -f $1 ]] && alive "$(cat "$1")"; }

# Something already listening would answer our readiness probe for us.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
	[[ $# -eq 4 ]] || usage
	local name=$1 mode=$2 port=$3 d=$4 token_port="" scheme=https
	case $mode in plain | tls | auth | token) ;; *) die "unknown mode '$mode' (plain|tls|auth|token)" ;; esac
	[[ $port =~ ^[0-9]+$ ]] || die "bad port '$port'"
	ensure_packages "$mode"
	mkdir -p "$d/storage"
	d=$(cd "$d" && pwd)
	is_running "$d/registry.pid" && die "a registry already runs from $d (pid $(cat "$d/registry.pid"))"
	port_in_use "$port" && die "port $port is already in use"
	[[ $mode == plain ]] && scheme=http
	[[ $mode != plain ]] && make_certs "$d"
	[[ $mode == auth ]] && printf '%s:%s\n' "$USER_NAME" "$USER_BCRYPT" >"$d/htpasswd"
	if [[ $mode == token ]]; then
		token_port=${TOKEN_PORT:-$((port + 1))}
		port_in_use "$token_port" && die "token port $token_port is already in use"
		make_token_key "$d"
		# setsid: own session, so the caller's terminal signals do not reach it
		# and stop can kill it by pid alone.
		setsid /usr/bin/python3 "$tools/registry-token-server.py" --port "$token_port" \
			--key "$d/token-signing.key" --cert "$d/token-signing.crt" \
			--tls-cert "$d/server.crt" --tls-key "$d/server.key" --issuer "$ISSUER" --service "$SERVICE" \
			--user "$USER_NAME:$USER_PASSWORD" --expires-in "${TOKEN_EXPIRES_IN:-300}" \
			--log "$d/token.log" </dev/null >"$d/token-server.out" 2>&1 &
		echo $! >"$d/token.pid"
		wait_http "https://127.0.0.1:$token_port/token" "$d/token.pid" --cacert "$d/ca.crt" ||
			{ cat "$d/token-server.out" >&2; die "token server did not start on port $token_port"; }
	fi
	write_config "$name" "$mode" "$port" "$d" "$token_port"
	setsid docker-registry serve "$d/config.yml" </dev/null >"$d/registry.log" 2>&1 &
	echo $! >"$d/registry.pid"
	local -a tls_args=()
	[[ $mode != plain ]] && tls_args=(--cacert "$d/ca.crt")
	if ! wait_http "$scheme://127.0.0.1:$port/v2/" "$d/registry.pid" "${tls_args[@]}"; then
		tail -20 "$d/registry.log" >&2
		cmd_stop "$d"
		die "registry $name did not start on port $port"
	fi
	{
		printf 'REG_NAME=%q\nREG_MODE=%q\nREG_PORT=%q\nREG_DATADIR=%q\n' "$name" "$mode" "$port" "$d"
		printf 'REG_HOST=%q\nREG_URL=%q\n' "127.0.0.1:$port" "$scheme://127.0.0.1:$port"
		if [[ $mode != plain ]]; then
			printf 'REG_CA=%q\nREG_CERT_DIR=%q\n' "$d/ca.crt" "$d/certs"
		fi
		if [[ $mode == auth || $mode == token ]]; then
			printf 'REG_USER=%q\nREG_PASSWORD=%q\n' "$USER_NAME" "$USER_PASSWORD"
		fi
		if [[ $mode == token ]]; then
			printf 'REG_TOKEN_URL=%q\nREG_SERVICE=%q\nREG_TOKEN_LOG=%q\n' \
				"https://127.0.0.1:$token_port/token" "$SERVICE" "$d/token.log"
		fi
	} >"$d/registry.env"
	mkdir -p "$STATE_DIR"
	echo "$d" >"$STATE_DIR/$port"
	echo "registry $name ($mode) at $scheme://127.0.0.1:$port, data in $d"
}

# stop accepts the start arguments (NAME MODE PORT DATADIR) or just DATADIR.
cmd_stop() {
	local d=${!#} f pid i
	[[ -d $d ]] || die "no such DATADIR: $d"
	for f in "$d/registry.pid" "$d/token.pid"; do
		[[ -f $f ]] || continue
		pid=$(cat "$f")
		if kill "$pid" 2>/dev/null; then
			for ((i = 0; i < 50; i++)); do
				alive "$pid" || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
	if [[ -f $d/registry.env ]]; then
		local port
		port=$(sed -n 's/^REG_PORT=//p' "$d/registry.env")
		[[ $(cat "$STATE_DIR/$port" 2>/dev/null) == "$d" ]] && rm -f "$STATE_DIR/$port"
	fi
	return 0
}

cmd_env() {
	[[ $# -eq 1 && -f $1/registry.env ]] || die "usage: env DATADIR (of a started registry)"
	cat "$1/registry.env"
}

cmd_push() {
	[[ $# -eq 2 || $# -eq 3 ]] || usage
	local src=$1 dest=$2 d=${3:-} port
	port=${dest#*:}
	port=${port%%/*}
	[[ -n $d ]] || d=$(cat "$STATE_DIR/$port" 2>/dev/null) || die "no registry started on port $port"
	[[ -f $d/registry.env ]] || die "$d: no registry.env (not started?)"
	local REG_MODE REG_CERT_DIR="" REG_USER="" REG_PASSWORD=""
	# shellcheck disable=SC1091
	source "$d/registry.env"
	local -a args=(--insecure-policy copy -q)
	case $REG_MODE in
	plain) args+=(--dest-tls-verify=false) ;;
	*) args+=(--dest-cert-dir "$REG_CERT_DIR") ;;
	esac
	[[ -n $REG_USER ]] && args+=(--dest-creds "$REG_USER:$REG_PASSWORD")
	skopeo "${args[@]}" "$src" "docker://$dest"
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
stop) [[ $# -eq 1 || $# -eq 4 ]] || usage; cmd_stop "$@" ;;
env) cmd_env "$@" ;;
push) cmd_push "$@" ;;
*) usage ;;
esac
