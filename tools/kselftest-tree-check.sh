#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/kselftest-tree-check.sh   (run by make check)
#
# The selftests as tools/testing/selftests/softmem/ of a kernel tree: a
# tree of symbolic links to Debian's linux-source (the cached one is never
# written to) gets the directory "make -C selftests kselftest-tree" writes,
# then the kernel's selftests Makefile builds it with TARGETS=softmem and
# installs a collection whose kselftest-list.txt names every test.  (The
# top-level "make TARGETS=softmem kselftest-all" runs "make headers" and
# then this same step.)  Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top"

src=$(tools/fetch-linux-source.sh)
work=$top/build/kselftest-tree
rm -rf "$work"
trap 'rm -rf "$work"' EXIT

# link_tree FROM TO EXCEPT: TO/x -> FROM/x for every entry x but EXCEPT.
link_tree() {
	local entry
	mkdir -p "$2"
	for entry in "$1"/* "$1"/.[!.]*; do
		[[ -e $entry && ${entry##*/} != "$3" ]] || continue
		ln -s "$entry" "$2/${entry##*/}"
	done
}

linux=$work/linux
link_tree "$src" "$linux" tools
link_tree "$src/tools" "$linux/tools" testing
link_tree "$src/tools/testing" "$linux/tools/testing" selftests
link_tree "$src/tools/testing/selftests" "$linux/tools/testing/selftests" softmem
make -s -C selftests kselftest-tree DEST="$linux/tools/testing/selftests/softmem"

make -C "$linux/tools/testing/selftests" TARGETS=softmem all
make -C "$linux/tools/testing/selftests" TARGETS=softmem install \
	INSTALL_PATH="$work/install"

want=$(make -s --no-print-directory -C selftests emit_tests COLLECTION=softmem)
got=$(cat "$work/install/kselftest-list.txt")
if [[ "$want" != "$got" ]]; then
	diff <(echo "$want") <(echo "$got") || true
	die "kselftest-list.txt differs from the tests here"
fi
while read -r t; do
	[[ -x $work/install/softmem/${t#softmem:} ]] || die "$t was not installed"
done <<<"$got"
[[ -x $work/install/run_kselftest.sh && -f $work/install/softmem/settings ]] ||
	die "no run_kselftest.sh or settings in the collection"
log "ok: $(wc -l <<<"$got") tests built and installed in a kernel tree"
