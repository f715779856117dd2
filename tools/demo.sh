#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/demo.sh   (make demo; KERNEL=6.12 and VM_MEM=512M by default)
#
# Shows discardable memory at work: builds the module for one Debian kernel
# leg, the library and examples/softmem-demo, boots a VM with no swap and runs
# the demo in it (a suspended cache, a process that needs the memory, the
# cache coming back and checking what survived).  Prints a header and the
# demo's lines; build and VM noise go to build/demo/ and are shown only on
# failure.  Exits with the demo's status (vm-run's status when the VM failed).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top"

KERNEL=${KERNEL:-6.12}
VM_MEM=${VM_MEM:-512M}
VM_TIMEOUT=${VM_TIMEOUT:-600}
logs=build/demo
build_log=$logs/build.log
vm_log=$logs/vm-run.log
mkdir -p "$logs"
: >"$build_log"

start=$SECONDS
build_step "installing host packages" ensure_host_packages gcc make libc6-dev \
	qemu-system-x86 busybox-static cpio numactl debootstrap zstd xz-utils \
	libelf-dev dwarves kmod bc flex bison
echo "== fetching kernel $KERNEL" >>"$build_log"
kdir=$(tools/fetch-kernel.sh "$KERNEL" 2>>"$build_log") ||
	build_fail "fetching kernel $KERNEL"
version=$(<"$kdir/version")
build_step "building the module for $version" make KERNEL="$KERNEL" module
build_step "building the library" make -C lib libsoftmem.a
build_step "building the demo" make -C examples softmem-demo
ko=build/$version/kmod/softmem.ko
[[ -f $ko ]] || die "$ko is missing after the build (log: $build_log)"

echo "softmem demo: kernel $version, VM with $VM_MEM of RAM and no swap"
status=0
tools/vm-run --kernel-dir "$kdir" --mem "$VM_MEM" --timeout "$VM_TIMEOUT" \
	--log-dir "$logs/vm" --module "$ko" --add examples/softmem-demo \
	-- ./softmem-demo 2>"$vm_log" || status=$?

if ((status)); then
	grep -v '^vm-run: logs in' "$vm_log" | tail -n 30 >&2
	log "demo failed with status $status (logs: $logs/)"
	exit "$status"
fi
summary=$(sed -n 's/^vm-run: .*boot to command \([0-9.]*s\), total \([0-9.]*s\) (\(.*\))$/VM: boot \1, total \2 under \3/p' "$vm_log")
echo "(${summary:+$summary, }$((SECONDS - start)) s in all; logs in $logs/)"
