#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/check.sh   (make check; KERNELS="6.1 6.12 7.2 debug" by default)
#
# Runs every test softmem has and ends with the line "N passed, N failed":
#   - lint on the host: checkpatch --strict, kernel-doc, the library's -Werror build;
#   - per kernel leg: the module built with W=1 and no warning, then the
#     selftests in a qemu guest, with any splat in the guest log a failure;
#   - on the debug leg, whose module counts what they reach (gcov): the line
#     and branch coverage of kmod/ (tools/coverage.sh --report), printed;
#   - per kernel leg, in the same guest after the selftests: the SQLite page
#     cache's tests (examples/sqlite-pcache: the PCACHE2 contract, databases
#     under drop_caches, a short speedtest1 against SQLite's default cache),
#     each case printed as an ok/not ok line;
#   - on one leg (BENCH_LEG, 6.12): the bench's quick mode runs and prints
#     every ratio line (tools/bench.sh; no timing is judged), and so do
#     both demos (tools/demo.sh pressure and balloon, DEMO_QUICK=1);
#   - packaging (tools/package-check.sh): make install and uninstall, DKMS
#     against every leg's headers, the Debian packages built and linted,
#     then installed with apt and used in a Debian guest.
# The debug and KCSAN legs run beside the others (BACKGROUND_LEGS): their
# lines come after theirs.
# Exits non-zero on any failure.  Installs the host packages it needs.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top" || exit 1

KERNELS=${KERNELS:-6.1 6.12 7.2 debug kcsan}
VM_MEM=${VM_MEM:-512M}
# The debug kernel keeps an eighth of memory for KASAN and more for its own
# bookkeeping: its guest gets more, so that the tests find about the same
# memory free as on the Debian kernels.
VM_MEM_DEBUG=${VM_MEM_DEBUG:-768M}
# A stock leg's guest takes 3 to 5 minutes alone, more beside the debug
# leg and on a loaded host.
VM_TIMEOUT=${VM_TIMEOUT:-1500}
# The debug kernel runs the suite about five times slower (its guest took
# 25-26 minutes beside the other legs), more on a busy host: its guest gets
# 50 minutes before it counts as hung.  The KCSAN leg follows it in the same
# lane, and a cold run builds both kernels first: a hung debug guest still
# leaves the whole check inside CI's 90 minutes.
VM_TIMEOUT_DEBUG=${VM_TIMEOUT_DEBUG:-3000}
# The leg that also runs the bench's quick mode (tools/bench.sh).
BENCH_LEG=${BENCH_LEG:-6.12}
# The stress test's operations on the debug leg (its own default is 1 M,
# five minutes there).
DEBUG_STRESS_OPS=${DEBUG_STRESS_OPS:-400000}
# The kcsan leg: the KCSAN kernel (tools/kcsan-kernel.config) runs the tests
# where softmem's code runs on several CPUs at once, with these bounds
# (about 5 minutes under TCG; 400000 and 200000 took 8).
KCSAN_TESTS=${KCSAN_TESTS:-softmem_stress softmem_shared softmem_mmap softmem_words softmem_batch softmem_states softmem_fuzz softmem_lifecycle}
KCSAN_STRESS_OPS=${KCSAN_STRESS_OPS:-200000}
KCSAN_FUZZ_CALLS=${KCSAN_FUZZ_CALLS:-100000}
# Load and unload cycles of softmem_lifecycle there (100 elsewhere): the
# cycles look for leaks, which the debug leg's kmemleak judges.
KCSAN_LIFECYCLE_CYCLES=${KCSAN_LIFECYCLE_CYCLES:-21}
# The debug leg's coverage of kmod/ must reach these (tools/coverage.sh):
# lines (issue 13 asks 95 %); branches of softmem's own conditions, the
# project's reading of the issue's 85 % of branches, which leaves out the
# lines of assertions and tracepoints (tools/coverage-report.py); and every
# branch gcov counts, those included, which is at 83.4 to 83.9 % (short of the
# issue's 85 %), with a floor a little below, so that a change that loses
# branches of either kind fails.
COVERAGE_LINES=${COVERAGE_LINES:-95}
COVERAGE_BRANCHES=${COVERAGE_BRANCHES:-85}
COVERAGE_ALL_BRANCHES=${COVERAGE_ALL_BRANCHES:-82}
logs="$top/build/check"
rm -rf "$logs"
mkdir -p "$logs"

ensure_host_packages gcc g++ make libc6-dev qemu-system-x86 busybox-static cpio \
	numactl debootstrap zstd xz-utils perl python3 flex bison bc libelf-dev \
	dwarves kmod libsqlite3-dev dpkg-dev rsync || exit 1

passed=0 failed=0 skipped=0
summary=()

# result NAME STATUS: counts one host-side case.
result() {
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $1"
	else
		failed=$((failed + 1))
		echo "not ok - $1" | tee -a "$logs/host-failures.out"
	fi
}

# count_ktap LOG: prints "pass fail skip" summed over the harness totals.
count_ktap() {
	awk '/^# Totals: / {
		for (i = 3; i <= NF; i++) { split($i, kv, ":"); n[kv[1]] += kv[2] }
	     }
	     /^# selftest .* did not finish/ { n["error"]++ }
	     END { printf "%d %d %d\n", n["pass"] + n["xpass"],
			n["fail"] + n["error"], n["skip"] + n["xfail"] }' "$1"
}

echo "== lint"
tools/lint.sh >"$logs/lint.log" 2>&1
lint_status=$?
grep -E '^(ok|not ok) ' "$logs/lint.log"
while read -r line; do
	case "$line" in
	"ok "*) passed=$((passed + 1)) ;;
	"not ok "*) failed=$((failed + 1)) ;;
	esac
done < <(grep -E '^(ok|not ok) ' "$logs/lint.log")
if [ "$lint_status" -ne 0 ] && ! grep -q '^not ok ' "$logs/lint.log"; then
	tail -n 20 "$logs/lint.log"
	result "lint ran" 1
fi

echo "== library and selftests"
make -s lib >"$logs/lib.log" 2>&1
result "library builds with -Wall -Wextra -Werror" $? || true
# The guests run the selftests from their installed kselftest collection.
collection=$logs/kselftest
make -s lib >>"$logs/selftests.log" 2>&1 &&
	make -s -C selftests install INSTALL_PATH="$collection" \
		>>"$logs/selftests.log" 2>&1
selftests_status=$?
[ "$selftests_status" -eq 0 ] || tail -n 20 "$logs/selftests.log"
result "selftests build and install as a kselftest collection" $selftests_status
tools/kselftest-tree-check.sh >"$logs/kselftest-tree.log" 2>&1
ktree_status=$?
[ "$ktree_status" -eq 0 ] || tail -n 20 "$logs/kselftest-tree.log"
result "selftests build and install in a kernel tree (TARGETS=softmem)" $ktree_status
make -s sqlite-pcache >"$logs/sqlite-pcache.log" 2>&1
sqlite_status=$?
# The guests take the build directory: the build must have made it.
[ -x examples/sqlite-pcache/build/run-tests.sh ] || sqlite_status=1
[ "$sqlite_status" -eq 0 ] || tail -n 20 "$logs/sqlite-pcache.log"
result "SQLite page cache builds with -Wall -Wextra -Werror" $sqlite_status

# run_leg LEG: one kernel leg, its ok/not ok lines on stdout; writes
# "PASS FAIL SKIP SUMMARY" to $logs/leg-LEG.counts.
run_leg() {
	local leg=$1 leg_start=$SECONDS kdir version build leg_pass leg_fail leg_skip
	local what min pattern verdict
	echo "== kernel $leg"
	kdir=$(tools/fetch-kernel.sh "$leg" 2>"$logs/fetch-$leg.log")
	if [ -z "$kdir" ]; then
		tail -n 20 "$logs/fetch-$leg.log"
		echo "not ok - fetch kernel $leg"
		echo "0 1 0 kernel $leg: 0 passed, 1 failed, 0 skipped (fetch failed)" \
			>"$logs/leg-$leg.counts"
		return
	fi
	version=$(cat "$kdir/version")
	grep -h 'built in' "$logs/fetch-$leg.log" || true
	build="$logs/build-$version.log"
	leg_pass=0 leg_fail=0 leg_skip=0
	# Debian's 6.12 takes a stale breakpoint now and then with a TCG
	# thread per vCPU (tools/vm-run, --tcg-thread): its guests (the
	# selftests, the bench's and the demos') run with one thread, as
	# fast here (231 s for run_all.sh); the others keep one per vCPU.
	tcg_thread=multi
	[ "$leg" = 6.12 ] && tcg_thread=single

	# The debug leg's module counts what the tests reach (gcov: make
	# coverage, tools/coverage.sh); the others are built as shipped.
	coverage=
	[ "$leg" = debug ] && coverage=1
	if make KDIR="$kdir/build" KMAKE="$kdir/make" KTAG="$version" \
		SOFTMEM_COVERAGE="$coverage" module >"$build" 2>&1 &&
		! grep -q 'warning:' "$build"; then
		leg_pass=$((leg_pass + 1))
		echo "ok - $version: module builds with W=1, no warning"
	else
		grep -E 'warning:|error:' "$build" | head -n 20
		leg_fail=$((leg_fail + 1))
		echo "not ok - $version: module builds with W=1, no warning"
	fi

	# A foreign leg's guest runs the collection cross-built for it.
	leg_collection=$collection leg_sqlite=$sqlite_status
	case $leg in
	arm64-*)
		leg_collection=$logs/kselftest-arm64
		# The SQLite page cache links the host's libsqlite3: amd64 only.
		leg_sqlite=1
		echo "ok - $version: SQLite page cache tests # SKIP built for amd64 only"
		leg_skip=$((leg_skip + 1))
		mkdir -p "$logs/selftests-arm64"
		if ensure_host_packages qemu-system-arm gcc-aarch64-linux-gnu \
			g++-aarch64-linux-gnu libc6-dev-arm64-cross \
			>"$logs/selftests-arm64.log" 2>&1 &&
			make -s -C selftests CROSS_COMPILE=aarch64-linux-gnu- \
				OUTPUT="$logs/selftests-arm64" install \
				INSTALL_PATH="$leg_collection" \
				>>"$logs/selftests-arm64.log" 2>&1; then
			echo "ok - $version: selftests cross-build for arm64"
			leg_pass=$((leg_pass + 1))
		else
			tail -n 20 "$logs/selftests-arm64.log"
			echo "not ok - $version: selftests cross-build for arm64"
			leg_fail=$((leg_fail + 1))
			rm -rf "$leg_collection"
		fi
		;;
	esac

	if [ -f "build/$version/kmod/softmem.ko" ] && [ "$selftests_status" -eq 0 ] &&
		[ -d "$leg_collection" ]; then
		vmlog="$logs/vm-$version"
		mem=$VM_MEM timeout=$VM_TIMEOUT
		[ "$leg" = debug ] && mem=$VM_MEM_DEBUG timeout=$VM_TIMEOUT_DEBUG
		# An emulated arm64 guest takes about twice as long.
		case $leg in arm64-*) timeout=$((VM_TIMEOUT * 2)) ;; esac
		# The SQLite tests run after the selftests, in the same guest;
		# smaller on the debug kernel, about five times slower.
		# run_all.sh runs the collection; then the kernel's own runner,
		# run_kselftest.sh, runs two of its tests unchanged (two short
		# ones: run_all.sh ran them already).
		stress_env='' append=()
		[ "$leg" = debug ] && stress_env="SOFTMEM_STRESS_OPS=$DEBUG_STRESS_OPS "
		guest="${stress_env}./kselftest/softmem/run_all.sh; s=\$?"
		guest="$guest; ./kselftest/run_kselftest.sh -t softmem:softmem_policy -t softmem:softmem_limit"
		if [ "$leg" = kcsan ]; then
			# KCSAN watches from kcsan_watch.sh on, and only races
			# whose two sides are softmem's (any report is a splat).
			append=(--append kcsan.early_enable=0)
			guest="./kselftest/softmem/kcsan_watch.sh || exit 1"
			guest="$guest; SOFTMEM_STRESS_OPS=$KCSAN_STRESS_OPS SOFTMEM_FUZZ_CALLS=$KCSAN_FUZZ_CALLS"
			guest="$guest SOFTMEM_LIFECYCLE_CYCLES=$KCSAN_LIFECYCLE_CYCLES"
			guest="$guest ./kselftest/softmem/run_all.sh $KCSAN_TESTS; s=\$?"
			guest="$guest; ./kselftest/softmem/kcsan_watch.sh --stats"
			leg_sqlite=1
		fi
		sqlite_add=()
		if [ "$leg_sqlite" -eq 0 ]; then
			# speedtest1's whole size where the bench runs, whose
			# totals compare; elsewhere it checks its results.
			sqlite_env="SQLITE_SPEEDTEST1_SIZE=2"
			[ "$leg" = "$BENCH_LEG" ] &&
				sqlite_env="SQLITE_SPEEDTEST1_SIZE=5"
			[ "$leg" = debug ] &&
				sqlite_env="SQLITE_SPEEDTEST1_SIZE=1 SQLITE_PCACHE_QUICK=1"
			sqlite_add=(--add examples/sqlite-pcache/build:sqlite-pcache)
			guest="$guest; $sqlite_env ./sqlite-pcache/run-tests.sh || s=1"
		fi
		# The debug leg's guest then prints the gcov counters.
		coverage_add=()
		if [ "$leg" = debug ]; then
			guest="$guest; sh ./guest-gcov-dump.sh"
			coverage_add=(--add tools/guest-gcov-dump.sh)
		fi
		guest="$guest; exit \$s"
		VM_TCG_THREAD=$tcg_thread tools/vm-run --kernel-dir "$kdir" \
			--mem "$mem" --timeout "$timeout" --log-dir "$vmlog" \
			--module "build/$version/kmod/softmem.ko" "${append[@]}" \
			--add "$leg_collection:kselftest" "${sqlite_add[@]}" \
			"${coverage_add[@]}" -- "$guest" \
			>"$logs/tests-$version.log" 2>&1
		vm_status=$?
		grep -E '^not ok |# SKIP|did not finish' \
			"$logs/tests-$version.log" | head -n 60
		# What each failed test logged, so that a CI log says why.
		awk '/^#  RUN / { n = 0 } { buf[n++ % 30] = $0 }
		     /^#  *FAIL / { for (i = (n > 30 ? n - 30 : 0); i < n; i++)
					print "  " buf[i % 30] }' \
			"$logs/tests-$version.log" | head -n 120
		# The SQLite page cache's cases (their failures are above too),
		# and speedtest1's times with each cache.
		sed -n '/^# selftest sqlite_pcache$/,/^# selftest sqlite_pcache took/p' \
			"$logs/tests-$version.log" |
			sed -nE "s/^(ok|not ok) [0-9]+ (.*)/\1 - $version: sqlite \2/p"
		sed -nE 's/^# pcache_test\.c:[0-9]+:[a-z0-9_]+:(speedtest1 .*): TOTAL\.* *([0-9.]+s)$/\1: \2/p' \
			"$logs/tests-$version.log"
		# The one-line verdicts of fault injection, stress and fuzzing.
		sed -nE 's/^# ((fault-injection|stress|fuzz): [0-9]+ .*)/\1/p' \
			"$logs/tests-$version.log"
		# The debug leg: "coverage: L % lines, B % branches of
		# softmem's own conditions (A % of every gcov branch, ...)" of
		# kmod/ (per file and lines not reached in $logs/coverage/).
		if [ "$leg" = debug ]; then
			# Judged: at least COVERAGE_LINES % of lines,
			# COVERAGE_BRANCHES % of the branches of softmem's own
			# conditions and COVERAGE_ALL_BRANCHES % of every branch.
			if tools/coverage.sh --report "$logs/tests-$version.log" \
				"build/$version/kmod" "$logs/coverage" \
				>"$logs/coverage.out" 2>"$logs/coverage.log"; then
				cat "$logs/coverage.out"
				# The number before each pattern: L, B and A.
				for what in "$COVERAGE_LINES % lines" \
					"$COVERAGE_BRANCHES % branches of softmem's own conditions" \
					"$COVERAGE_ALL_BRANCHES % of every gcov branch"; do
					read -r min pattern <<<"$what"
					verdict="$version: coverage of kmod/: at least $min $pattern"
					if awk -v pattern="$pattern" -v min="$min" '/^coverage: / {
						found = 1
						at = index($0, " " pattern)
						v = substr($0, 1, at - 1)
						sub(/.*[ (]/, "", v)
						ok = at && v + 0 >= min }
					     END { exit !(found && ok) }' "$logs/coverage.out"; then
						echo "ok - $verdict"
						leg_pass=$((leg_pass + 1))
					else
						echo "not ok - $verdict"
						leg_fail=$((leg_fail + 1))
					fi
				done
			else
				tail -n 5 "$logs/coverage.log"
				echo "not ok - $version: coverage of kmod/ measured"
				leg_fail=$((leg_fail + 1))
			fi
		fi
		# Where the leg's time went.
		sed -nE 's/^# selftest (.*) took (.*)/\1: \2/p' \
			"$logs/tests-$version.log" | paste -sd ' ' |
			sed 's/^/times: /'
		sed -nE 's/^# case (.*) took (.*) s$/\2 \1/p' "$logs/tests-$version.log" |
			sort -rn | head -n 8 | awk '{ printf "%s%s: %s s", (NR > 1 ? ", " : ""), $2, $1 }
				END { if (NR) print "" }' | sed 's/^/slowest cases: /'
		grep -h '^vm-run: .* total ' "$logs/tests-$version.log" || true
		read -r p f s < <(count_ktap "$logs/tests-$version.log")
		leg_pass=$((leg_pass + p)) leg_fail=$((leg_fail + f))
		leg_skip=$((leg_skip + s))
		# run_kselftest.sh's verdicts: one line per test it ran.
		ksft_ok=$(grep -cE '^ok [0-9]+ selftests: softmem: ' "$logs/tests-$version.log")
		if [ "$leg" = kcsan ]; then
			# A filter with no function, or no watchpoint set up,
			# would have watched nothing.
			if grep -q '^# kcsan: watching [1-9]' "$logs/tests-$version.log" &&
				grep -q '^# kcsan: setup_watchpoints [1-9]' "$logs/tests-$version.log"; then
				grep -h '^# kcsan: ' "$logs/tests-$version.log" | sort -u
				echo "ok - $version: KCSAN watched softmem's functions"
				leg_pass=$((leg_pass + 1))
			else
				grep -h '^# kcsan: ' "$logs/tests-$version.log"
				echo "not ok - $version: KCSAN watched softmem's functions"
				leg_fail=$((leg_fail + 1)) f=$((f + 1))
			fi
		elif [ "$ksft_ok" -eq 2 ]; then
			echo "ok - $version: run_kselftest.sh runs the installed collection"
			leg_pass=$((leg_pass + 1))
		else
			grep -E '^(not )?ok [0-9]+ selftests: ' "$logs/tests-$version.log"
			echo "not ok - $version: run_kselftest.sh runs the installed collection"
			leg_fail=$((leg_fail + 1)) f=$((f + 1))
		fi
		# A splat or a hang: its lines, and where the guest was, so that a
		# CI log says why without the guest's console.
		case $vm_status in
		0) ;;
		124 | 125)
			sed -n '/KERNEL SPLAT in/,/^=====*$/p' "$logs/tests-$version.log" |
				head -n 80
			grep -E '^# (selftest|  RUN|  *OK|  *FAIL)' \
				"$logs/tests-$version.log" | tail -n 5 | sed 's/^/  last: /'
			if [ "$vm_status" -eq 124 ]; then
				echo "not ok - $version: guest timed out"
			else
				echo "not ok - $version: splat in the guest log"
			fi
			leg_fail=$((leg_fail + 1)) ;;
		*) if [ "$f" -eq 0 ]; then
			tail -n 20 "$logs/tests-$version.log"
			echo "not ok - $version: guest run exited $vm_status"
			leg_fail=$((leg_fail + 1))
		   fi ;;
		esac
	else
		leg_fail=$((leg_fail + 1))
		echo "not ok - $version: selftests not run (no module or no tests)"
	fi
	# The bench in quick mode, so that it cannot rot: it must run and
	# print every ratio line; no figure is judged.
	if [ "$leg" = "$BENCH_LEG" ]; then
		if [ -f "build/$version/kmod/softmem.ko" ] &&
			VM_TCG_THREAD=$tcg_thread BENCH_QUICK=1 VM_MEM=$VM_MEM \
			VM_TIMEOUT=300 tools/bench.sh \
				--kernel-dir "$kdir" \
				--module "build/$version/kmod/softmem.ko" \
				--log-dir "$logs/bench-$version" \
				>"$logs/bench-$version.log" 2>&1; then
			leg_pass=$((leg_pass + 1))
			echo "ok - $version: bench quick mode runs"
		else
			tail -n 20 "$logs/bench-$version.log"
			leg_fail=$((leg_fail + 1))
			echo "not ok - $version: bench quick mode runs"
		fi
		# Both demos in quick mode, so that they cannot rot: every
		# way's guest must finish, softmem must never return data
		# that is not what was written, and the table and the plot
		# must come out (tools/demo.sh; no figure is judged).
		for mode in pressure balloon; do
			if VM_TCG_THREAD=$tcg_thread DEMO_QUICK=1 KERNEL=$leg \
				VM_MEM='' tools/demo.sh "$mode" \
				>"$logs/demo-$mode.log" 2>&1; then
				leg_pass=$((leg_pass + 1))
				sed -n '/^way:/,/^plot:/p' "$logs/demo-$mode.log"
				echo "ok - $version: demo $mode (quick) prints its table and plot"
			else
				tail -n 30 "$logs/demo-$mode.log"
				# The summary repeats which way failed and why.
				grep -A 16 ': FAILED' "$logs/demo-$mode.log" \
					>"$logs/demo-$mode.why"
				leg_fail=$((leg_fail + 1))
				echo "not ok - $version: demo $mode (quick) prints its table and plot"
			fi
		done
	fi
	echo "$leg_pass $leg_fail $leg_skip kernel $version: $leg_pass passed, $leg_fail failed, $leg_skip skipped in $((SECONDS - leg_start)) s" \
		>"$logs/leg-$leg.counts"
}

# BACKGROUND_LEGS (default debug, then kcsan) run in turn in the
# background, beside the other legs and packaging; their lines come out when
# they are done.  A guest's second vCPU idles through most tests, so two
# guests share 2 cores well: a whole check took 49.7 minutes so, 71 in turn
# (BACKGROUND_LEGS=).  The two lanes take about as long as each other.
BACKGROUND_LEGS=${BACKGROUND_LEGS-debug kcsan}
background=() foreground=()
for leg in $KERNELS; do
	case " $BACKGROUND_LEGS " in
	*" $leg "*) background+=("$leg") ;;
	*) foreground+=("$leg") ;;
	esac
done
rm -f "$logs"/leg-*.counts
bg_pid=
if [ ${#background[@]} -gt 0 ]; then
	(for leg in "${background[@]}"; do
		run_leg "$leg"
	done) >"$logs/background-legs.out" 2>&1 &
	bg_pid=$!
	echo "== kernel ${background[*]}: in the background (its lines follow the other legs)"
fi
for leg in "${foreground[@]}"; do
	run_leg "$leg"
done | tee "$logs/foreground-legs.out"

# Installing: make install, DKMS on every leg's headers, the Debian
# packages built, linted, and installed and used in a Debian guest.
echo "== packaging"
pkg_start=$SECONDS
# DKMS on the kcsan leg would prove nothing the debug leg's does not.
# shellcheck disable=SC2086 # KERNELS is a list of words
pkg_kernels=$(printf '%s\n' $KERNELS | grep -vx kcsan | paste -sd ' ')
KERNELS=$pkg_kernels VM_TIMEOUT=$VM_TIMEOUT tools/package-check.sh \
	>"$logs/package-check.log" 2>&1
pkg_status=$?
grep -E '^(not ok|ok) - |^#   ' "$logs/package-check.log"
read -r p f < <(awk '/^ok - / { p++ } /^not ok - / { f++ }
		     END { printf "%d %d\n", p, f }' "$logs/package-check.log")
if [ "$pkg_status" -ne 0 ] && [ "$f" -eq 0 ]; then
	tail -n 20 "$logs/package-check.log"
	echo "not ok - packaging checks ran (exit $pkg_status)"
	f=$((f + 1))
fi
passed=$((passed + p)) failed=$((failed + f))
pkg_summary="packaging: $p passed, $f failed in $((SECONDS - pkg_start)) s"

if [ -n "$bg_pid" ]; then
	wait "$bg_pid"
	cat "$logs/background-legs.out"
fi
# Every leg's counts, in the order of KERNELS.
for leg in $KERNELS; do
	if read -r p f s line <"$logs/leg-$leg.counts"; then
		passed=$((passed + p)) failed=$((failed + f))
		skipped=$((skipped + s))
		summary+=("$line")
	else
		echo "not ok - kernel $leg: the leg ended without its counts"
		failed=$((failed + 1))
		summary+=("kernel $leg: did not finish")
	fi 2>/dev/null
done
summary+=("$pkg_summary")

echo "== summary (logs in $logs)"
printf '%s\n' "${summary[@]}"
# Every failure again, with the reasons kept for it: a reader of the run's
# last lines (CI shows only those) sees what failed without the logs.
if [ "$failed" -gt 0 ]; then
	echo "failures:"
	cat "$logs/lint.log" "$logs/host-failures.out" \
		"$logs/foreground-legs.out" "$logs/background-legs.out" \
		"$logs/package-check.log" 2>/dev/null | grep '^not ok' | sed 's/^/  /'
	for why in "$logs"/*.why; do
		[ -s "$why" ] || continue
		echo "  ${why##*/}:"
		head -n 20 "$why" | sed 's/^/    /'
	done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
