#!/bin/bash
# The CLI surface: help, version, info, global options, exit statuses.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_begin "help lists commands; each command has --help"
expect_status 0 mctr --help
for c in images load import save tag rmi inspect info version; do assert_contains "$OUT" "  $c"; done
for c in images load import save tag rmi inspect info version; do
	expect_status 0 mctr "$c" --help
	assert_contains "$OUT$ERR" "mctr"
done
expect_status 0 mctr image --help
assert_contains "$OUT" "prune"
expect_status 0 mctr system check --help

t_begin "every command and group command --help prints its usage on stdout and exits 0"
# The lists come from the help texts themselves, so a new command is covered.
commands_of() { sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' <<<"$1"; }
expect_status 0 mctr --help
top=$(commands_of "$OUT")
groups=$(sed -n '/^Groups:/,/^$/s/^  \([a-z-]*\) .*/\1/p' <<<"$OUT")
assert_contains "$top" version
assert_contains "$groups" image
cmds=()
for c in $top; do cmds+=("$c"); done
for g in $groups; do
	expect_status 0 mctr "$g" --help
	assert_contains "$OUT" "Usage: mctr $g COMMAND"
	for c in $(commands_of "$OUT"); do cmds+=("$g $c"); done
done
for c in "${cmds[@]}"; do
	# shellcheck disable=SC2086 # group commands are two words on purpose
	expect_status 0 mctr $c --help
	# Aliases (container ls, image rm) print the usage of the command they name.
	[[ $c == *" "* ]] || assert_eq "Usage: mctr $c" "$(head -1 <<<"$OUT" | cut -d' ' -f1-3)" "first line of mctr $c --help"
	assert_contains "$(head -1 <<<"$OUT")" "Usage: mctr " "mctr $c --help"
	assert_eq "" "$ERR" "stderr of mctr $c --help"
done

t_begin "docs/cli.md is what tools/gen-cli-doc.sh writes from the --help texts"
bash "$MCTR_SRC_DIR/tools/gen-cli-doc.sh" "$MCTR_BIN" "$T_SANDBOX/cli.md" >/dev/null
if diff -u "$MCTR_SRC_DIR/docs/cli.md" "$T_SANDBOX/cli.md" >"$T_SANDBOX/cli.diff"; then
	ok
else
	fail "docs/cli.md is stale (run tools/gen-cli-doc.sh):"$'\n'"$(head -40 "$T_SANDBOX/cli.diff")"
fi

t_begin "version and info"
expect_status 0 mctr version
assert_contains "$OUT" "mctr version"
expect_status 0 mctr --version
expect_status 0 mctr info
assert_contains "$OUT" "Store root:  $MCTR_ROOT"
assert_contains "$OUT" "overlay=yes"
# The cgroup mode as the host has it: cgroup2 at /sys/fs/cgroup is v2,
# cgroup2 at /sys/fs/cgroup/unified next to v1 hierarchies is hybrid.
case $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) in
cgroup2fs) want_cg=v2 ;;
tmpfs) if [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then want_cg="v1 (hybrid)"; else want_cg=v1; fi ;;
*) want_cg=none ;;
esac
assert_contains "$OUT" "Cgroups:     $want_cg"$'\n'
assert_contains_any "$OUT" "Root switch: pivot_root|Root switch: chroot"
expect_status 0 mctr info --format json
assert_contains "$OUT" '"root": "'"$MCTR_ROOT"'"'
assert_contains "$OUT" '"cgroups": "'"$want_cg"'"'
for f in overlay openat2 pidfd clone3 user_namespaces cgroup_namespaces time_namespaces; do
	assert_contains "$OUT" "\"$f\": "
done
expect_status 0 mctr version --help
assert_contains "$OUT" "Usage: mctr version"
assert_not_contains "$OUT" "mctr version 0"
expect_status 125 mctr version extra

t_begin "MCTR_ROOT and --root choose the store"
alt=$T_SANDBOX/alt
expect_status 0 env MCTR_ROOT="$alt" "$MCTR_BIN" info
assert_contains "$OUT" "Store root:  $alt"
assert_file_exists "$alt/oci/oci-layout"
expect_status 0 env MCTR_ROOT="$alt" "$MCTR_BIN" --root "$T_SANDBOX/alt2" info
assert_contains "$OUT" "Store root:  $T_SANDBOX/alt2" "--root wins over MCTR_ROOT"
expect_status 0 env MCTR_ROOT= "$MCTR_BIN" --root "$T_SANDBOX/alt3" info
assert_contains "$OUT" "Store root:  $T_SANDBOX/alt3"

t_begin "without --root or MCTR_ROOT the store is /var/lib/mctr"
if require_root; then
	# In a private mount namespace over a tmpfs, so the host's /var/lib is untouched.
	# shellcheck disable=SC2016 # $0 is the inner shell's
	expect_status 0 unshare -m sh -c 'mount -t tmpfs mctr-test /var/lib && exec env -u MCTR_ROOT "$0" info' "$MCTR_BIN"
	assert_contains "$OUT" "Store root:  /var/lib/mctr"$'\n'
	# shellcheck disable=SC2016 # $0 is the inner shell's
	expect_status 0 unshare -m sh -c 'mount -t tmpfs mctr-test /var/lib && exec env MCTR_ROOT= "$0" info' "$MCTR_BIN"
	assert_contains "$OUT" "Store root:  /var/lib/mctr"$'\n' "an empty MCTR_ROOT is unset"
fi

t_begin "mctr's own errors exit 125 with one line naming the fault"
expect_status 125 mctr frobnicate
assert_contains "$ERR" 'unknown command "frobnicate"'
expect_status 125 mctr
assert_contains "$ERR" "no command given"
expect_status 125 mctr image
assert_contains "$ERR" "no image command given"
expect_status 125 mctr image frobnicate
assert_contains "$ERR" 'unknown command "image frobnicate"'
expect_status 125 mctr images --bogus
assert_eq "mctr: images: unknown option --bogus (see --help)" "$ERR"
expect_status 125 mctr run --bogus busybox
assert_eq "mctr: run: unknown option --bogus (see --help)" "$ERR"
expect_status 125 mctr load --input
assert_eq "mctr: load: option --input needs a value (see --help)" "$ERR" "a module command"
expect_status 125 mctr --log-level loud images
assert_contains "$ERR" "--log-level"
expect_status 125 mctr inspect nothere
assert_eq "mctr: no such object: nothere" "$ERR"

t_begin "the core binary does not load libcurl, libarchive or libcrypto"
libs=$(ldd "$MCTR_BIN")
assert_not_contains "$libs" libcurl
assert_not_contains "$libs" libarchive
assert_not_contains "$libs" libcrypto

t_begin "only the commands that move image bytes dlopen a module; run of a stored image loads none"
# The libraries the dynamic loader maps, dlopen'd ones included (LD_DEBUG).
loaded() { LD_DEBUG=files "$MCTR_BIN" --root "$MCTR_ROOT" "$@" 2>&1 >/dev/null | sed -n 's/.*file=\([^ ]*\).*/\1/p' | sort -u; }
if require_root; then
	need_fixtures
	libs=$(loaded load -q -i "$FIXTURES/busybox-docker.tar")
	assert_contains "$libs" mctr-image.so "load dlopens the image module"
	assert_contains "$libs" libarchive
	assert_not_contains "$libs" mctr-registry.so "load needs no registry module"
	assert_not_contains "$libs" libcurl
	for cmd in "images" "ps -a" "info" "inspect busybox" "tag busybox bb:2" "rmi bb:2" "run --rm busybox true"; do
		# shellcheck disable=SC2086 # cmd is several words on purpose
		libs=$(loaded $cmd)
		assert_contains "$libs" libjansson "LD_DEBUG output of mctr $cmd"
		for l in mctr-image.so mctr-registry.so libarchive libcurl libcrypto; do
			assert_not_contains "$libs" "$l" "libraries mapped by mctr $cmd"
		done
	done
	expect_status 0 mctr rmi busybox
fi
