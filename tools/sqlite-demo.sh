#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/sqlite-demo.sh   (make sqlite-demo; KERNEL=6.12, VM_MEM=512M)
#
# SQLite's page cache under memory pressure: builds the module for one
# Debian kernel leg, the library and examples/sqlite-pcache, boots a VM with
# no swap and a disk (an ext4 image made here, for the database: a database
# larger than the memory left cannot live in the guest's RAM), and runs
# sqlite-pressure in it: with all but 30 MiB of the memory taken by a
# ballast, speedtest1 with the softmem page cache, with SQLite's default
# cache sized to fit, and with the default cache sized like the softmem
# one, each while a competitor takes 14 MiB.  Prints the table; build and
# VM noise go to build/sqlite-demo/ and are shown only on failure.
# SQLITE_DEMO_ARGS passes options to sqlite-pressure (--free MiB,
# --competitor MiB, --heap MiB, --pinned MiB, --size N, --trigger N,
# --hold S, --runs LIST; see examples/sqlite-pcache/sqlite-pressure.c).
# Needs a kernel leg whose ext4 and virtio_blk modules are at hand (6.1,
# 6.12, 7.2).  Exits with sqlite-pressure's status (vm-run's when the VM
# failed).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top"

KERNEL=${KERNEL:-6.12}
VM_MEM=${VM_MEM:-512M}
VM_TIMEOUT=${VM_TIMEOUT:-1500}
SQLITE_DEMO_ARGS=${SQLITE_DEMO_ARGS:-}
logs=build/sqlite-demo
build_log=$logs/build.log
vm_log=$logs/vm-run.log
rm -rf "$logs"
mkdir -p "$logs/modules"
: >"$build_log"

start=$SECONDS
build_step "installing host packages" ensure_host_packages gcc make libc6-dev \
	qemu-system-x86 busybox-static cpio numactl debootstrap zstd xz-utils \
	libelf-dev dwarves kmod bc flex bison libsqlite3-dev e2fsprogs
echo "== fetching kernel $KERNEL" >>"$build_log"
kdir=$(tools/fetch-kernel.sh "$KERNEL" 2>>"$build_log") ||
	build_fail "fetching kernel $KERNEL"
version=$(<"$kdir/version")
build_step "building the module for $version" make KDIR="$kdir/build" \
	KMAKE="$kdir/make" KTAG="$version" module
build_step "building the library" make -C lib libsoftmem.a
build_step "building examples/sqlite-pcache" make -C examples/sqlite-pcache
ko=build/$version/kmod/softmem.ko
[[ -f $ko ]] || die "$ko is missing after the build (log: $build_log)"
ext4_guest_modules "$kdir" "$version" "$logs/modules" >"$logs/modules.list"
mapfile -t mods <"$logs/modules.list"
modargs=()
for m in "${mods[@]}" "$ko"; do
	modargs+=(--module "$m")
done

# The database's disk: sparse, ext4 without a journal or metadata checksums.
disk=$logs/disk.img
truncate -s 2G "$disk"
build_step "making the disk" mkfs.ext4 -q -F -O ^has_journal,^metadata_csum "$disk"

echo "softmem sqlite-demo: kernel $version, VM with $VM_MEM of RAM, no swap, the database on a virtio disk"
# The memory trace (a line every 2 s) goes to the log only.
set +e
# shellcheck disable=SC2086 # SQLITE_DEMO_ARGS is a list of options
tools/vm-run --kernel-dir "$kdir" --mem "$VM_MEM" --timeout "$VM_TIMEOUT" \
	--log-dir "$logs/vm" "${modargs[@]}" --disk "$disk" \
	--add examples/sqlite-pcache/build:sqlite-pcache \
	-- "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && ./sqlite-pcache/sqlite-pressure --dir /mnt --trace 1 $SQLITE_DEMO_ARGS" \
	2>"$vm_log" | tee "$logs/sqlite-pressure.log" | grep --line-buffered -v '^trace '
status=${PIPESTATUS[0]}
set -e
rm -f "$disk"

if ((status)); then
	grep -v '^vm-run: logs in' "$vm_log" | tail -n 30 >&2
	log "sqlite-demo failed with status $status (logs: $logs/)"
	exit "$status"
fi
summary=$(sed -n 's/^vm-run: .*boot to command \([0-9.]*s\), total \([0-9.]*s\) (\(.*\))$/VM: boot \1, total \2 under \3/p' "$vm_log")
echo "(${summary:+$summary, }$((SECONDS - start)) s in all; logs, and the memory every 2 s, in $logs/)"
