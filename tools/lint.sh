#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/lint.sh   (make lint)
#
# Static checks of the kernel code, one "ok"/"not ok" line each:
# checkpatch.pl --strict, kernel-doc -Werror on every kernel and uAPI file,
# sparse on the module, and the sysfs ABI files (Documentation/ABI/testing/).
# checkpatch.pl, kernel-doc and get_abi.pl come from Debian's
# linux-source package (tools/fetch-linux-source.sh).
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
# shellcheck source=SCRIPTDIR/lib.sh
. tools/lib.sh

ensure_host_packages sparse perl python3 || exit 1
src=$(tools/fetch-linux-source.sh) || die "cannot fetch linux-source"
files=(kmod/*.c kmod/*.h kmod/probes/*.c uapi/linux/softmem.h)
status=0

# check NAME CMD...: runs CMD, prints its output on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1) && [ -z "$out" ]; then
		echo "ok - $name"
	else
		printf '%s\n' "$out" | head -n 40
		echo "not ok - $name"
		status=1
	fi
}

checkpatch_out=$(perl "$src/scripts/checkpatch.pl" --no-tree --strict --terse \
	--show-types -f "${files[@]}" 2>&1 | grep -E ': (ERROR|WARNING|CHECK):' |
	grep -vE '^kmod/trace\.h:[0-9]+: CHECK:(OPEN_ENDED_LINE|PARENTHESIS_ALIGNMENT):')
# kmod/trace.h is written in the TRACE_EVENT() macro language, laid out as
# include/trace/events/*.h are: its TP_PROTO(, TP_STRUCT__entry( lines end
# open and its arguments follow the macro's layout, which --strict reports.
check "checkpatch --strict" printf '%s' "$checkpatch_out"
check "kernel-doc -Werror" perl "$src/scripts/kernel-doc" -none -Werror \
	"${files[@]}"

# sparse: make C=2 against the 6.12 headers; only reports about our files.
sparse_out=$(make -s KERNEL=6.12 module KCFLAGS= C=2 2>&1 | grep -E '^/.*/build/[^/]+/kmod/[^ ]+: (warning|error):' || true)
check "sparse (C=2)" printf '%s' "$sparse_out"
# Documentation/ABI: what get_abi.pl validates, and a file for each sysfs
# attribute (DEVICE_ATTR_*() in the stats group, module_param*()).
# shellcheck disable=SC2013,SC2317 # names are words; called through check
abi_missing() {
	local name
	for name in $(sed -nE 's/^static DEVICE_ATTR_R[OW]\((\w+)\);/\1/p' kmod/stats.c); do
		[ -f "Documentation/ABI/testing/sysfs-class-misc-softmem-stats-$name" ] ||
			echo "no Documentation/ABI/testing/sysfs-class-misc-softmem-stats-$name"
	done
	for name in $(sed -nE 's/^module_param(_cb)?\((\w+),.*/\2/p' kmod/*.c); do
		[ -f "Documentation/ABI/testing/sysfs-module-softmem-parameters-$name" ] ||
			echo "no Documentation/ABI/testing/sysfs-module-softmem-parameters-$name"
	done
}
check "Documentation/ABI validates" perl "$src/scripts/get_abi.pl" \
	--dir Documentation/ABI validate
check "Documentation/ABI documents every attribute" abi_missing
# One version: dkms.conf's is the library's.
# shellcheck disable=SC2317 # called through check
version_differs() {
	local lib dkms
	lib=$(sed -nE 's/^VERSION[[:space:]]*:= *//p' lib/Makefile)
	dkms=$(sed -nE 's/^PACKAGE_VERSION="(.*)"/\1/p' dkms.conf)
	[ "$lib" = "$dkms" ] || echo "dkms.conf PACKAGE_VERSION $dkms, lib/Makefile VERSION $lib"
}
check "dkms.conf has the library's version" version_differs
exit $status
