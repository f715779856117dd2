#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/build-module.sh   (make module; settings from the environment)
#
# Builds kmod/softmem.ko with W=1 against one kernel and copies it to
# kmod/softmem.ko.  The kernel is, first match wins:
#   KERNEL=6.1|6.12|7.2|debug   a leg fetched by tools/fetch-kernel.sh
#   KDIR=/path [KMAKE=make]     any kernel build tree
#   the running kernel's /lib/modules/$(uname -r)/build
#   else the 6.12 leg.
# Each kernel gets its own copy of the sources and objects in build/<release>/,
# where kmod/Kbuild writes compat-probes.h from kmod/probes/.  KTAG overrides
# <release>.  SOFTMEM_COVERAGE=1 builds it with gcov and KCOV instrumentation
# (make coverage; the kernel must have CONFIG_GCOV_KERNEL: the debug kernel).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
# shellcheck source=SCRIPTDIR/lib.sh
. tools/lib.sh

use_leg() {
	local kroot
	kroot=$(tools/fetch-kernel.sh "$1") || die "cannot fetch kernel $1"
	KDIR=$kroot/build KMAKE=$kroot/make KTAG=${KTAG:-$(cat "$kroot/version")}
}

running=/lib/modules/$(uname -r)/build
if [ -n "${KERNEL:-}" ]; then
	use_leg "$KERNEL"
elif [ -n "${KDIR:-}" ]; then
	KMAKE=${KMAKE:-make}
	KTAG=${KTAG:-kdir-$(basename "$(realpath "$KDIR")")}
elif [ -f "$running/Makefile" ]; then
	KDIR=$running KMAKE=${KMAKE:-make} KTAG=${KTAG:-$(uname -r)}
else
	use_leg 6.12
fi

out=$top/build/$KTAG
mkdir -p "$out/kmod/probes" "$out/uapi/linux"
cp -p kmod/*.c kmod/*.h kmod/Kbuild "$out/kmod/"
cp -p kmod/probes/*.c "$out/kmod/probes/"
cp -p uapi/linux/softmem.h "$out/uapi/linux/"
coverage=()
if [ "${SOFTMEM_COVERAGE:-}" = 1 ]; then
	grep -qx 'CONFIG_GCOV_KERNEL=y' "$KDIR/.config" ||
		die "SOFTMEM_COVERAGE=1: $KDIR has no CONFIG_GCOV_KERNEL (use the debug kernel)"
	coverage=(SOFTMEM_COVERAGE=1)
fi
"$KMAKE" -C "$KDIR" M="$out/kmod" W=1 "${coverage[@]}" modules
cp "$out/kmod/softmem.ko" kmod/softmem.ko
log "built $out/kmod/softmem.ko"
