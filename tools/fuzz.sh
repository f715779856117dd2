#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/fuzz.sh                  (make fuzz [FUZZ_TIME=S] [FUZZ_SEED=N])
#
# make fuzz: builds softmem.ko for the debug kernel with KCOV
# (SOFTMEM_COVERAGE=1, as make coverage) and the selftests collection,
# boots the debug kernel and runs softmem_fuzz in it: the reproducers of
# selftests/repro/ first (fuzz.reproducers), then coverage-guided fuzzing
# for FUZZ_TIME seconds (SOFTMEM_FUZZ_TIME; 600 by default) from seed
# FUZZ_SEED (random by default; printed).  Prints the fuzzer's "fuzz:"
# lines, ending "fuzz: N calls, E edges, S splats".  In build/fuzz/:
#   fuzz.log          the guest's output
#   repro-N.repro     each reproducer the fuzzer printed: a program that
#                     failed a check or ran while the kernel splatted
#   vm/, kselftest/   the guest's logs, the collection
# A reproducer replays with the fuzzer's checks on every leg of make check
# once copied into selftests/repro/, under a name that says what it does.
# Exits non-zero when a check failed, the kernel splatted or the fuzzer did
# not finish.  Settings: FUZZ_TIME, FUZZ_SEED, VM_MEM.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top" || exit 1

[ $# -eq 0 ] || die "usage: $0 (settings: FUZZ_TIME, FUZZ_SEED, VM_MEM)"
seconds=${FUZZ_TIME:-600}
seed=${FUZZ_SEED:-$(printf '%#x' "$(od -An -N4 -tu4 /dev/urandom)")}
mem=${VM_MEM:-768M}
case $seconds in
'' | *[!0-9]* | 0) die "FUZZ_TIME must be a number of seconds, not '$seconds'" ;;
esac
out=$top/build/fuzz

ensure_host_packages gcc g++ make libc6-dev qemu-system-x86 busybox-static \
	cpio numactl flex bison bc libelf-dev kmod rsync || exit 1
debug_guest_prepare "$out"

testlog=$out/fuzz.log
log "fuzzing $version for $seconds s from seed $seed (log: $testlog)"
# Booting, the reproducers and the end of the run take minutes on the
# debug kernel; the harness gives the run FUZZ_TIME more than its timeout.
guest="cd kselftest/softmem && SOFTMEM_FUZZ_TIME=$seconds"
guest="$guest SOFTMEM_FUZZ_SEED=$seed ./softmem_fuzz"
tools/vm-run --kernel-dir "$kdir" --mem "$mem" \
	--timeout "$((seconds + 900))" --log-dir "$out/vm" \
	--module "$objdir/softmem.ko" --add "$collection:kselftest" \
	-- "$guest" >"$testlog" 2>&1
status=$?

tr -d '\r' <"$testlog" | grep -E '^# fuzz: |^(not )?ok |^vm-run: .* total ' |
	grep -v '^# fuzz: thread .*UNEXPECTED' | sed 's/^# //'
# Each reproducer, between its markers, into a file of its own.
tr -d '\r' <"$testlog" | awk -v dir="$out" '
	/^# fuzz-repro: begin$/ { file = sprintf("%s/repro-%d.repro", dir, ++n); next }
	/^# fuzz-repro: end$/ { close(file); file = ""; next }
	file != "" && sub(/^# fuzz-repro: /, "") { print > file }'
mapfile -t repros < <(find "$out" -maxdepth 1 -name 'repro-*.repro' | sort -V)
if [ "${#repros[@]}" -gt 0 ]; then
	log "reproducers (copy one into selftests/repro/ to keep it as a test):"
	printf '  %s\n' "${repros[@]}"
fi
[ "$status" -eq 0 ] || die "the fuzzer failed or did not finish (vm-run exited $status; log: $testlog)"
