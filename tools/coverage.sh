#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/coverage.sh                       (make coverage)
#        tools/coverage.sh --report TESTLOG OBJDIR OUTDIR
#
# make coverage: builds softmem.ko for the debug kernel with gcov
# (SOFTMEM_COVERAGE=1; the kernel has CONFIG_GCOV_KERNEL), runs the selftests
# (run_all.sh) in one guest as the debug leg of make check does, brings the
# counters back in the test log (tools/guest-gcov-dump.sh) and reports the
# line and branch coverage of each kmod/ file and in total, with gcovr and
# gcov-12, the debug kernel's compiler.  In build/coverage/:
#   summary.txt      the table printed, ending "coverage: L % lines, B %
#                    branches of softmem's own conditions (A % of every gcov
#                    branch, ...)": B leaves out the lines of assertions and
#                    tracepoints (tools/coverage-report.py)
#   unreached.txt    per file, the lines never run and the lines whose
#                    branches were not all taken, with their source
#   html/index.html  gcovr's report, every file's lines annotated
#   coverage.json    gcovr's per-line data
#   tests.log, vm/   the guest's output and logs; kselftest/ the collection
# Exits non-zero when a test fails or no counters come back; the percentages
# are not judged here (make check's debug leg judges them: at least 95 % of
# lines, 85 % of B and 82 % of A).
# Settings: COVERAGE_STRESS_OPS (the stress test's operations, as on make
# check's debug leg), VM_MEM, VM_TIMEOUT.
#
# --report: the report alone, from TESTLOG, a guest's output with the dump of
# tools/guest-gcov-dump.sh, for the objects in OBJDIR (build/<release>/kmod)
# into OUTDIR; prints only the "coverage: " line (make check's debug leg).
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top" || exit 1

# gcov must be the one of the compiler that built the module (gcov-12 is in
# gcc-12, the debug kernel's compiler: tools/build-debug-kernel.sh).
GCOV=gcov-12

# extract_gcda TESTLOG DIR: unpacks the .gcda files dumped into TESTLOG into
# DIR, after checking the archive's checksum.
extract_gcda() {
	local testlog=$1 dir=$2 header n sum tgz
	header=$(grep -a '^softmem-gcov-begin ' "$testlog" | tail -n 1 | tr -d '\r')
	[ -n "$header" ] || {
		grep -a '^softmem-gcov: ' "$testlog" >&2
		die "no gcov counters in $testlog"
	}
	read -r _ n sum <<<"$header"
	tgz=$(mktemp)
	# The last dump's lines, markers excluded.
	tac "$testlog" |
		sed -n '/^softmem-gcov-end/,/^softmem-gcov-begin /{p;/^softmem-gcov-begin /q}' |
		sed '1d;$d' | tac | tr -d '\r' | base64 -d >"$tgz" 2>/dev/null
	if [ "$(sha256sum <"$tgz" | cut -d' ' -f1)" != "$sum" ]; then
		rm -f "$tgz"
		die "the gcov counters in $testlog are damaged (checksum)"
	fi
	tar -xzf "$tgz" -C "$dir" || die "cannot unpack the gcov counters"
	rm -f "$tgz"
	[ "$(find "$dir" -maxdepth 1 -name '*.gcda' | wc -l)" -eq "$n" ] ||
		die "expected $n .gcda files from $testlog"
}

# report TESTLOG OBJDIR OUTDIR: the counters of TESTLOG against OBJDIR's
# objects; writes OUTDIR's files and prints the summary table.
report() {
	local testlog=$1 objdir=$2 out=$3 stale
	ensure_host_packages gcovr gcc-12 python3 || return 1
	[ -f "$objdir/softmem.ko" ] || die "no module in $objdir"
	ls "$objdir"/*.gcno >/dev/null 2>&1 ||
		die "no .gcno in $objdir: the module was not built with SOFTMEM_COVERAGE=1"
	rm -rf "$out/html" "$out/coverage.json" "$out/summary.txt" \
		"$out/unreached.txt" "$out/gcovr.log"
	mkdir -p "$out/html"
	rm -f "$objdir"/*.gcda
	extract_gcda "$testlog" "$objdir"
	# Counters of another build of the module (rebuilt since the run):
	# gcov would take them as never run, and say so only on stderr.
	stale=$(cd "$objdir" && "$GCOV" -n -o . ./*.gcda 2>&1 >/dev/null)
	if grep -q 'stamp mismatch' <<<"$stale"; then
		rm -f "$objdir"/*.gcda
		die "the counters in $testlog are of another build of $objdir/softmem.ko"
	fi
	# Only kmod/'s files, not the kernel headers their inline code comes
	# from.  Branches on lines without code (the compiler's own, e.g. at a
	# closing brace) are left out, as gcovr's documentation advises.
	(cd "$objdir" && gcovr --gcov-executable "$GCOV" --root . \
		--filter '[^/]+\.[ch]$' --exclude-unreachable-branches \
		--json-pretty --json "$out/coverage.json" \
		--html-details "$out/html/index.html" \
		--html-title "softmem kmod/ coverage" .) >"$out/gcovr.log" 2>&1 || {
		tail -n 20 "$out/gcovr.log" >&2
		die "gcovr failed (log: $out/gcovr.log)"
	}
	python3 tools/coverage-report.py "$out/coverage.json" "$objdir" "$out"
}

if [ "${1:-}" = --report ]; then
	[ $# -eq 4 ] || die "usage: $0 --report TESTLOG OBJDIR OUTDIR"
	report "$2" "$3" "$4" >/dev/null || exit 1
	tail -n 1 "$4/summary.txt"
	exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--report TESTLOG OBJDIR OUTDIR]"

out=$top/build/coverage
stress_ops=${COVERAGE_STRESS_OPS:-400000}
mem=${VM_MEM:-768M}
timeout=${VM_TIMEOUT:-2700}

ensure_host_packages gcc g++ make libc6-dev qemu-system-x86 busybox-static \
	cpio numactl flex bison bc libelf-dev kmod gcovr gcc-12 python3 || exit 1
debug_guest_prepare "$out"

testlog=$out/tests.log
log "running the selftests on $version (about 20 minutes; log: $testlog)"
guest="SOFTMEM_STRESS_OPS=$stress_ops ./kselftest/softmem/run_all.sh; s=\$?"
guest="$guest; sh ./guest-gcov-dump.sh || s=1; exit \$s"
tools/vm-run --kernel-dir "$kdir" --mem "$mem" --timeout "$timeout" \
	--log-dir "$out/vm" --module "$objdir/softmem.ko" \
	--add "$collection:kselftest" --add tools/guest-gcov-dump.sh -- "$guest" \
	>"$testlog" 2>&1
status=$?
grep -E '^not ok |did not finish' "$testlog" | head -n 40
grep -h '^vm-run: .* total ' "$testlog" || true
report "$testlog" "$objdir" "$out" || exit 1
log "HTML report: $out/html/index.html; lines not reached: $out/unreached.txt"
[ "$status" -eq 0 ] || die "the tests did not all pass (vm-run exited $status)"
