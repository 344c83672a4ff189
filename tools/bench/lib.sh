# shellcheck shell=bash
# Shared by the benchmark scripts in tools/bench: timing with hyperfine, peak
# RSS with GNU time, and writing a section of docs/benchmarks.md.
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${MCTR_BIN:=$BENCH_SRC/build-release/mctr}"
: "${MCTR_FIXTURES:=$BENCH_SRC/build-fixtures}"
: "${BENCH_RUNS:=10}"
BENCH_TMP=$(mktemp -d /var/tmp/mctr-bench.XXXXXX)
BENCH_CLEANUP=()	# commands run at exit, last first
bench_cleanup() {
	local i
	for ((i = ${#BENCH_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${BENCH_CLEANUP[$i]}" >/dev/null 2>&1 || true; done
	rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# bench_scratch_fs: a fresh journaled ext4 mounted from a loop file at
# BENCH_FS, for everything the benchmarks write.  The development VM's root
# file system has no journal, and there ext4 skips inodes freed in the last
# minutes one by one when it allocates new ones (find_inode_bit ->
# recently_deleted): after any large `rm -rf` (a test sandbox, the previous
# run's store) creating a tree costs seconds of kernel time, whatever the
# tool.  The loop file system measures the tools, not that.
bench_scratch_fs() {
	BENCH_FS=$BENCH_TMP/fs
	BENCH_FS_NOTE="a journaled ext4 on a loop file"
	mkdir -p "$BENCH_FS"
	truncate -s 16G "$BENCH_TMP/fs.img"
	if { mkfs.ext4 -q -F "$BENCH_TMP/fs.img" && mount -o loop "$BENCH_TMP/fs.img" "$BENCH_FS"; } >/dev/null 2>&1; then
		BENCH_CLEANUP+=("umount $BENCH_FS")
	else
		BENCH_FS_NOTE="the bench directory's file system (no loop mount here)"
	fi
}

bench_prepare() {
	"$BENCH_SRC/tools/deps.sh" test
	if [[ ! -x $MCTR_BIN ]]; then
		cmake -S "$BENCH_SRC" -B "$(dirname "$MCTR_BIN")" -DCMAKE_BUILD_TYPE=Release >/dev/null
		make -C "$(dirname "$MCTR_BIN")" -j"$(nproc)" -s --no-print-directory
	fi
	bash "$BENCH_SRC/tools/fixtures.sh" "$MCTR_FIXTURES" >/dev/null
}

# bench_time NAME PREPARE COMMAND: median wall time in ms (hyperfine), into
# BENCH_MS[NAME].
declare -A BENCH_MS BENCH_RSS
bench_time() {
	local name=$1 prepare=$2 cmd=$3 json=$BENCH_TMP/$1.json
	# With -N hyperfine runs --prepare without a shell too: give it a script.
	printf '%s\n' "$prepare" >"$BENCH_TMP/$1.prepare"
	hyperfine -N --style none --warmup 3 --runs "$BENCH_RUNS" --prepare "bash $BENCH_TMP/$1.prepare" \
		--export-json "$json" "$cmd" >/dev/null
	BENCH_MS[$name]=$(python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$json")
	printf '  %-28s %10s ms\n' "$name" "${BENCH_MS[$name]}" >&2
}

# bench_rss NAME PREPARE COMMAND: peak RSS (KiB) of COMMAND and its children.
bench_rss() {
	local name=$1 prepare=$2 cmd=$3
	bash -c "$prepare" >/dev/null 2>&1
	/usr/bin/time -o "$BENCH_TMP/rss" -f '%M' bash -c "exec $cmd" >/dev/null 2>&1 || true
	BENCH_RSS[$name]=$(tail -1 "$BENCH_TMP/rss")
	printf '  %-28s %10s KiB peak RSS\n' "$name" "${BENCH_RSS[$name]}" >&2
}

ratio() { python3 -c 'import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print("%.2f" % (a/b if b else 0))' "$1" "$2"; }

# bench_write_section TITLE FILE: replace the section "## TITLE" of
# docs/benchmarks.md with the contents of FILE (markdown).
bench_write_section() {
	local title=$1 body=$2 doc=$BENCH_SRC/docs/benchmarks.md
	[[ -f $doc ]] || printf '# Benchmarks\n\nWritten by the scripts in tools/bench (do not edit the sections by hand).\n' >"$doc"
	python3 - "$doc" "$title" "$body" <<'PY'
import re, sys
doc, title, body = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().rstrip() + "\n"
text = open(doc).read()
section = "## " + title + "\n\n" + body
pat = re.compile(r"^## " + re.escape(title) + r"\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(lambda m: section + "\n", text) if pat.search(text) else text.rstrip() + "\n\n" + section
open(doc, "w").write(text)
PY
}

bench_machine() {
	printf '%s, %s CPUs, kernel %s; %s' "$(date -u +%Y-%m-%d)" "$(nproc)" "$(uname -r)" \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
}
