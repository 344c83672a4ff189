#!/bin/bash
# Usage: tools/mkimage-busybox.sh OUTDIR
#
# Builds a tiny, deterministic image rootfs from the host's static busybox and
# writes it as OUTDIR/busybox-rootfs.tar (a plain rootfs tarball, entries "./...",
# numeric owners, sorted names, fixed mtimes).  Feed it to `mctr import`.
#
# Contents: bin/busybox plus one absolute symlink per applet (busybox --list-full),
# etc/passwd (root, nobody, app=1000:1000), etc/group (app is also in "staff"),
# no etc/hostname (the runtime provides it), tmp (1777), root (0700),
# home/app (owned by 1000:1000), and empty dev, proc, sys, var mount points.
#
# The README's first command runs this before any test package is installed, so
# it needs only coreutils, GNU tar and busybox-static (installed here if
# missing), and it runs as root or not.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
outdir=$1
busybox=/bin/busybox
# A fixed timestamp keeps the tarball (and so its digest) identical across hosts.
mtime=@1700000000

# A dynamically linked busybox (package "busybox") would not run inside the
# image; its ELF header names the dynamic loader near the start of the file.
is_static() {
	[[ -x $1 ]] && ! head -c 4096 "$1" | grep -qa 'ld-linux'
}
if ! is_static "$busybox"; then
	echo "mkimage-busybox: installing busybox-static" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2
	is_static "$busybox" || { echo "mkimage-busybox: $busybox is not a static binary" >&2; exit 1; }
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)	# we cd into the staging dir below
stage=$(mktemp -d "${TMPDIR:-/tmp}/mkimage-busybox.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 022

chmod 0755 "$stage"	# becomes the image's "./" entry
cd "$stage"
mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys var tmp root home/app
cp "$busybox" bin/busybox
chmod 0755 bin/busybox
# Absolute targets, as `busybox --install -s` makes them; they also exercise
# "store symlink targets verbatim, never follow them" in the unpacker.
# linuxrc is the initrd entry point and does not belong in a container image.
while read -r applet; do
	[[ $applet == bin/busybox || $applet == linuxrc ]] && continue
	ln -s /bin/busybox "$applet"
done < <("$busybox" --list-full)

cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
EOF
# "staff" lists app, so `run --user app` must end up with a supplementary group.
cat > etc/group <<'EOF'
root:x:0:
staff:x:50:app
nogroup:x:65534:
app:x:1000:
EOF
chmod 0644 etc/passwd etc/group
chmod 1777 tmp
chmod 0700 root

# One tar run per stretch of consecutive entries with the same owner keeps the
# member order sorted while letting home/app belong to 1000:1000 without
# chown (which would need root).
owner_of() {	# sets $owner; no subshell, this runs once per entry
	case $1 in
	./home/app | ./home/app/*) owner=1000:1000 ;;
	*) owner=0:0 ;;
	esac
}
out="$outdir/busybox-rootfs.tar"
tmp_out="$out.tmp.$$"
rm -f "$tmp_out"
run_owner="" run_files=()
flush() {
	[[ ${#run_files[@]} -eq 0 ]] && return 0
	local mode=-c
	[[ -e $tmp_out ]] && mode=-r
	tar "$mode" -f "$tmp_out" --format=gnu --no-recursion --numeric-owner \
		--owner="${run_owner%:*}" --group="${run_owner#*:}" --mtime="$mtime" "${run_files[@]}"
	run_files=()
}
while read -r path; do
	owner_of "$path"
	if [[ $owner != "$run_owner" ]]; then
		flush
		run_owner=$owner
	fi
	run_files+=("$path")
done < <(find . | LC_ALL=C sort)
flush
mv -f "$tmp_out" "$out"
echo "$out"
