#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/bench.sh   (make bench; KERNEL="6.12" by default, several allowed)
#        tools/bench.sh --kernel-dir K --module KO [--log-dir DIR]
#
# Runs bench/softmem_bench in a VM, one per kernel, after the ways of the
# pressure demo the bench compares (examples/pressure-demo, in the same
# guest; make demo shows all of them): for each leg of KERNEL
# (6.1, 6.12, 7.2, debug; fetched and the module built as make check does),
# boots it with VM_MEM (default 1G) and prints the bench's output: a header,
# the raw figures and one "ratio NAME ..." line per ratio.  The second form
# runs the bench once on a kernel and module already at hand (make check's
# quick leg).  Either way the run fails unless the guest printed exactly one
# line for every ratio that "softmem_bench --list" names and the bench and
# the VM exited 0; speed is never judged.  BENCH_QUICK=1 runs the bench's
# quick mode (seconds, small sizes, figures that mean nothing).
# BENCH_ACCEL=kvm|tcg forces qemu's accelerator (default: vm-run's choice).
# Build and VM logs go to build/bench/ (or the --log-dir).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top"

KERNEL=${KERNEL:-6.12}
VM_MEM=${VM_MEM:-1G}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_ACCEL=${BENCH_ACCEL:-auto}
bench=bench/softmem_bench

kernel_dir='' module='' logs=build/bench
while (($#)); do
	case $1 in
	--kernel-dir) kernel_dir=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--log-dir) logs=$2; shift 2 ;;
	*) die "usage: $0 [--kernel-dir K --module KO [--log-dir DIR]]" ;;
	esac
done
mkdir -p "$logs"
build_log=$logs/build.log
: >"$build_log"

# check_ratios OUTPUT: whether OUTPUT has one well-formed line for each ratio
# the bench names, and no other; says what is wrong on stderr.
check_ratios() {
	local name lines status=0

	while read -r name; do
		lines=$(grep -cE "^ratio $name (-?[0-9]+\.[0-9]+ \(target [^)]*\)|skipped \(.+\))\$" "$1" || true)
		if [[ $lines != 1 ]]; then
			log "ratio $name: $lines well-formed lines, 1 expected"
			grep "^ratio $name " "$1" >&2 || true
			status=1
		fi
	done < <("$bench" --list)
	lines=$(grep -c '^ratio ' "$1" || true)
	if [[ $lines != $("$bench" --list | wc -l) ]]; then
		log "$lines ratio lines, $("$bench" --list | wc -l) expected"
		status=1
	fi
	return $status
}

# pressure_ways MEM_MIB: the guest's commands that run the pressure demo's
# ways the bench compares (no cache, softmem, anonymous memory without and
# then with zram swap) into pressure.txt, and print their result lines.
pressure_ways() {
	local phases="--before 3 --hold 6 --after 2" way cmd
	((BENCH_QUICK)) && phases="--before 1 --hold 2 --after 1"
	cmd="$(guest_softmem_all_ram "$1"); "
	# Every way gets the sizes the first would get (the demo's defaults).
	cmd+="avail=\$(awk '/^MemAvailable:/ { print int(\$2 / 1024) }' /proc/meminfo); "
	phases+=" --cache-mib \$((avail * 45 / 100)) --hog-mib \$((avail * 75 / 100))"
	for way in none softmem anon; do
		cmd+="./pressure-demo $phases $way >>pressure.txt; "
	done
	cmd+="$(guest_zram_swap "$1") && ./pressure-demo --name anon+zram $phases anon >>pressure.txt; "
	cmd+="swapoff /dev/zram0; grep -v '^sample ' pressure.txt; "
	echo "$cmd"
}

# run_bench K KO: the pressure demo's ways and the bench in one VM on kernel
# directory K with module KO; the output on stdout, the VM's summary on
# stderr.
run_bench() {
	local kdir=$1 ko=$2 version out status=0 args=() zram=() mem_mib m

	version=$(cat "$kdir/version")
	out=$logs/bench-$version.log
	[[ $BENCH_ACCEL == auto ]] || args=(--accel "$BENCH_ACCEL")
	mem_mib=$(size_mib "$VM_MEM")
	# guest_modules prints only what it copies: a fresh directory.
	rm -rf "$logs/modules-$version"
	mkdir -p "$logs/modules-$version"
	mapfile -t zram < <(guest_modules "$kdir" "$version" \
		"$logs/modules-$version" zram 2>>"$build_log")
	for m in "${zram[@]}"; do args+=(--module "$m"); done
	tools/vm-run --kernel-dir "$kdir" --mem "$VM_MEM" \
		--timeout "$VM_TIMEOUT" --log-dir "$logs/vm-$version" \
		"${args[@]}" --module "$ko" --add "$bench" \
		--add examples/pressure-demo -- \
		"$(pressure_ways "$mem_mib") env BENCH_QUICK=$BENCH_QUICK \
		SOFTMEM_BENCH_ACCEL=${BENCH_ACCEL/auto/} \
		SOFTMEM_BENCH_HOST_CPU='$host_cpu' ./softmem_bench --pressure pressure.txt" \
		2>"$logs/vm-run-$version.log" | tee "$out" || status=$?
	grep -v '^vm-run: logs in' "$logs/vm-run-$version.log" |
		grep -E '^vm-run: (.*: exit .*, total|KERNEL SPLAT|the |command)' >&2 || true
	if ((status)); then
		grep -v '^vm-run: logs in' "$logs/vm-run-$version.log" |
			tail -n 20 >&2
		log "$version: the bench or its VM exited $status (logs: $logs/)"
	fi
	check_ratios "$out" || status=1
	return $status
}

host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
build_step "installing host packages" ensure_host_packages gcc make libc6-dev \
	qemu-system-x86 busybox-static cpio numactl debootstrap zstd xz-utils \
	libelf-dev dwarves kmod bc flex bison
build_step "building the library" make -C lib libsoftmem.a
build_step "building the bench" make -C bench
build_step "building the pressure demo" make -C examples pressure-demo

if [[ -n $kernel_dir ]]; then
	[[ -n $module ]] || die "--kernel-dir needs --module"
	run_bench "$kernel_dir" "$module"
	exit
fi

status=0
for leg in $KERNEL; do
	echo "== fetching kernel $leg" >>"$build_log"
	if ! kdir=$(tools/fetch-kernel.sh "$leg" 2>>"$build_log"); then
		tail -n 20 "$build_log" >&2
		log "cannot fetch kernel $leg (log: $build_log)"
		status=1
		continue
	fi
	version=$(cat "$kdir/version")
	# KERNEL= : make bench's own KERNEL (several legs) would reach the
	# sub-make through MAKEFLAGS and override KDIR there.
	build_step "building the module for $version" make KERNEL= \
		KDIR="$kdir/build" KMAKE="$kdir/make" KTAG="$version" module
	echo "== kernel $version, VM with $VM_MEM"
	run_bench "$kdir" "build/$version/kmod/softmem.ko" || status=1
done
exit $status
