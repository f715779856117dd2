#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/demo.sh [pressure|balloon]   (make demo, make demo-balloon)
#
# Runs one cache (examples/pressure-demo) kept several ways, each in a fresh
# qemu guest on one kernel leg (KERNEL, 6.12 by default), and prints one
# side-by-side table and writes a plot (PNG, gnuplot):
#
#   pressure  a guest of VM_MEM (768M) with no swap; a second process asks
#             for most of its memory, holds it and leaves.  Ways: no cache
#             (the baseline), softmem, anonymous memory without swap and with
#             zram swap, MADV_FREE, MAP_DROPPABLE (6.11 and later).
#   balloon   a guest of VM_MEM (512M) with virtio-balloon, deflate-on-oom
#             off; the cache fills most of it, then the host asks the balloon
#             over QMP to bring the guest to 40 % of its size
#             (tools/qmp-balloon.py), and gives the memory back later.  Ways:
#             no cache, softmem, softmem with its manager discarding ahead,
#             anonymous memory without swap, with zram.
#
# DEMO_QUICK=1 shortens every phase (make check runs it so that the demo
# cannot rot).  Build and VM output go to build/demo-MODE/; the table
# reads the guests' "result" lines and the plot their "sample" lines.
# Exits non-zero when a guest failed or softmem returned data that was
# not what was written.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top"

mode=${1:-pressure}
KERNEL=${KERNEL:-6.12}
DEMO_QUICK=${DEMO_QUICK:-0}
VM_TIMEOUT=${VM_TIMEOUT:-600}
case $mode in
pressure)
	VM_MEM=${VM_MEM:-768M}
	variants=(none softmem anon anon+zram madv-free droppable)
	# Seconds before the competitor, its hold, after it leaves.
	phases=(4 8 8)
	((DEMO_QUICK)) && phases=(1 2 2)
	;;
balloon)
	VM_MEM=${VM_MEM:-512M}
	variants=(none softmem softmem+manager anon anon+zram)
	# Seconds before the balloon, with it inflated, after it deflates.
	phases=(3 20 8)
	((DEMO_QUICK)) && phases=(1 8 3)
	;;
*) die "usage: $0 [pressure|balloon]" ;;
esac
logs=build/demo-$mode
build_log=$logs/build.log
rm -rf "$logs"
mkdir -p "$logs/data"
: >"$build_log"

start=$SECONDS
build_step "installing host packages" ensure_host_packages gcc make libc6-dev \
	qemu-system-x86 busybox-static cpio numactl debootstrap zstd xz-utils \
	libelf-dev dwarves kmod bc flex bison gnuplot-nox python3
echo "== fetching kernel $KERNEL" >>"$build_log"
kdir=$(tools/fetch-kernel.sh "$KERNEL" 2>>"$build_log") ||
	build_fail "fetching kernel $KERNEL"
version=$(<"$kdir/version")
build_step "building the module for $version" make KDIR="$kdir/build" \
	KMAKE="$kdir/make" KTAG="$version" module
build_step "building the library" make -C lib libsoftmem.a
build_step "building the demo" make -C examples pressure-demo
ko=build/$version/kmod/softmem.ko
[[ -f $ko ]] || die "$ko is missing after the build (log: $build_log)"
mem_mib=$(size_mib "$VM_MEM")

# MAP_DROPPABLE came with Linux 6.11.
IFS=. read -r major minor _ <<<"$version"
if ((major < 6 || (major == 6 && minor < 11))); then
	variants=("${variants[@]/droppable/}")
fi

# Modules the guests load, from the leg's own packages: zram for the zram
# way, virtio_balloon for the balloon; softmem last.
mkdir -p "$logs/modules"
mapfile -t zram_modules < <(guest_modules "$kdir" "$version" "$logs/modules" zram 2>>"$build_log")
balloon_modules=()
if [[ $mode == balloon ]]; then
	mapfile -t balloon_modules < <(guest_modules "$kdir" "$version" \
		"$logs/modules" virtio_balloon 2>>"$build_log")
fi

# run_variant NAME: one guest; its output in $logs/NAME.log.
run_variant() {
	local name=$1 backing=${1%+*} dir=$logs/$1 cmd='' status=0 args=() m
	local target=$((mem_mib * 40 / 100)) qmp_pid=''
	mkdir -p "$dir"
	for m in "${balloon_modules[@]}"; do args+=(--module "$m"); done
	if [[ $name == *+zram ]]; then
		for m in "${zram_modules[@]}"; do args+=(--module "$m"); done
		cmd="$(guest_zram_swap "$mem_mib") && "
	fi
	args+=(--module "$ko")
	if [[ $name == *+manager ]]; then
		# The manager discards ahead while MemAvailable is under a
		# tenth of the guest (Documentation/admin-guide/softmem.rst).
		cmd+="echo $((mem_mib * 10 / 100 << 20)) >/sys/module/softmem/parameters/manager_free_bytes && "
	fi
	cmd+="$(guest_softmem_all_ram "$mem_mib") && "
	cmd+="./pressure-demo --name $name --before ${phases[0]} --hold ${phases[1]} --after ${phases[2]}"
	if [[ $mode == balloon ]]; then
		cmd+=" --balloon"
		args+=(--balloon --qmp "$dir/qmp.sock")
		rm -f "$dir/qmp.sock"
		tools/qmp-balloon.py "$dir/qmp.sock" "$dir/vm/test.log" "$mem_mib" \
			"$target" "${phases[1]}" "${phases[2]}" >"$dir/balloon.txt" \
			2>"$dir/qmp.log" &
		qmp_pid=$!
	fi
	tools/vm-run --kernel-dir "$kdir" --mem "$VM_MEM" --timeout "$VM_TIMEOUT" \
		--nodes 1 --log-dir "$dir/vm" "${args[@]}" --add examples/pressure-demo \
		-- "$cmd $backing" >"$logs/$name.log" 2>&1 || status=$?
	if [[ -n $qmp_pid ]]; then
		wait "$qmp_pid" || status=$((status ? status : 1))
		cat "$dir/balloon.txt" >>"$logs/$name.log"
		cat "$dir/qmp.log" >>"$logs/$name.log"
	fi
	return "$status"
}

echo "softmem demo ($mode): kernel $version, VM with $VM_MEM of RAM, one guest per way"
failed=0
for v in "${variants[@]}"; do
	[[ -n $v ]] || continue
	t=$SECONDS
	if run_variant "$v"; then
		echo "  $v: $((SECONDS - t)) s"
	else
		failed=1
		echo "  $v: FAILED ($logs/$v.log):"
		grep -v '^sample ' "$logs/$v.log" | tail -n 15 | sed 's/^/    /'
	fi
	# The plot's data: seconds from the pressure's start, free memory, the
	# cache in memory, and for the balloon the guest's size, in MiB.
	awk '$1 == "sample" { printf "%.1f %.1f %.1f\n", $3 / 1000, $4 / 1024, $6 / 1024 }' \
		"$logs/$v.log" >"$logs/data/$v.dat"
	awk '$1 == "balloon" { print $2, $3 }' "$logs/$v.log" >"$logs/data/$v.balloon"
done

# The table: one column per way, from the result lines.
grep -h '^result \|^balloon-result ' "$logs"/*.log >"$logs/results.txt" || true
awk -v mode="$mode" -v order="${variants[*]}" '
function v(name, key) { return (name SUBSEP key) in r ? r[name, key] : "-" }
function row(label, fmt,   i, n, s) {
	s = sprintf("%-38s", label)
	for (i = 1; i <= nv; i++) {
		n = names[i]
		s = s sprintf(" %15s", n in seen ? cell(fmt, n) : "failed")
	}
	print s
}
function cell(what, n,   x) {
	if (what == "cache") return v(n, "cache_mib")
	if (what == "hog_s") return v(n, "hog_ms") < 0 ? "killed" : sprintf("%.2f", v(n, "hog_ms") / 1000)
	if (what == "extra") {
		if (v(n, "hog_ms") < 0 || !("none" in seen) || v("none", "hog_ms") < 0) return "-"
		return sprintf("%+.2f", (v(n, "hog_ms") - v("none", "hog_ms")) / 1000)
	}
	if (what == "kills") return v(n, "oom_kills") (v(n, "killed") == "none" ? "" : " " v(n, "killed"))
	if (what == "swap") return v(n, "swapout_mib") "/" v(n, "swapin_mib")
	if (what ~ /^hit_/) return v(n, what) < 0 ? "-" : v(n, what)
	if (what == "held") return v(n, "held_end_mib")
	if (what == "reached") return v(n, "reached_s")
	return v(n, what)
}
$1 == "result" || $1 == "balloon-result" {
	n = $1 == "result" ? $2 : last
	if ($1 == "result") { last = n; seen[n] = 1 }
	for (i = 2; i <= NF; i++)
		if (split($i, kv, "=") == 2)
			r[n, kv[1]] = kv[2]
}
END {
	nv = split(order, names, " ")
	for (i = 1; i <= nv; i++) hdr = hdr sprintf(" %15s", names[i])
	print sprintf("%-38s", "way:") hdr
	row("cache size (MiB)", "cache")
	if (mode == "pressure") {
		row("competitor: asks for (MiB)", "hog_mib")
		row("competitor: time to get it (s)", "hog_s")
		row("competitor: extra over no cache (s)", "extra")
	} else {
		row("balloon target: guest size (MiB)", "target_mib")
		row("balloon: smallest guest reached (MiB)", "lowest_mib")
		row("balloon: time to the target (s)", "reached")
		row("balloon: guest at the end (MiB)", "final_mib")
	}
	row("direct-reclaim stalls", "stalls")
	row("OOM kills (whom)", "kills")
	row("swap out/in (MiB)", "swap")
	row("cache hit rate before (%)", "hit_before")
	row("cache hit rate during (%)", "hit_during")
	row("cache hit rate after (%)", "hit_after")
	row("losses reported by the backing", "reported")
	row("losses nobody reported (checksums)", "silent")
	row("cache in memory at the end (MiB)", "held")
}' "$logs/results.txt" | tee "$logs/table.txt"

# The plot: one colour per way in both panels.
plot=$logs/$mode.png
# plot_lines COLUMN SUFFIX [SKIP]: a plot command over every way's data.
plot_lines() {
	local i sep=plot v
	for i in "${!variants[@]}"; do
		v=${variants[i]}
		[[ -s $logs/data/$v.$2 && $v != "${3:-}" ]] || continue
		printf "%s '%s' using 1:%s with lines lw 2 lc %d title '%s'" \
			"$sep" "$logs/data/$v.$2" "$1" $((i + 1)) "$v"
		sep=,
	done
	echo
}
{
	echo "set terminal pngcairo size 1000,800 font ',10'"
	echo "set output '$plot'"
	echo "set multiplot layout 2,1 title 'softmem $mode demo: kernel $version, $VM_MEM guest (TCG)'"
	echo "set grid; set key outside right; set xlabel 'seconds from the start of the pressure'"
	if [[ $mode == pressure ]]; then
		echo "set ylabel 'free memory (MiB)'"
		plot_lines 2 dat
	else
		echo "set ylabel 'guest size: balloon actual (MiB)'"
		plot_lines 2 balloon
	fi
	echo "set ylabel 'cache in memory (MiB)'"
	plot_lines 3 dat none
	echo "unset multiplot"
} >"$logs/plot.gp"
if gnuplot "$logs/plot.gp" 2>"$logs/gnuplot.log"; then
	echo "plot: $top/$plot"
else
	cat "$logs/gnuplot.log" >&2
	failed=1
fi
echo "($((SECONDS - start)) s in all; logs in $logs/)"
exit "$failed"
