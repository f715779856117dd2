#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_all.sh - run every softmem selftest binary, passing their KTAP through.
#
# Runs as root in the test guest (busybox sh): cwd /softmem, this directory
# copied to /softmem/selftests, softmem.ko loaded.  softmem_lifecycle and
# softmem_module run last because they unload and reload the module.  A
# binary that ends without its "# Totals:" line is reported as
# "# selftest NAME did not finish".  Names given as arguments (softmem_stress
# ...) run only those binaries, in the same order.
# Exit status: 0 if every binary passed (or skipped), 1 otherwise.

dir=$(cd "$(dirname "$0")" && pwd)
tmp=${TMPDIR:-/tmp}/softmem-selftests.$$
mkdir -p "$tmp" || exit 1

tests=
last=
for t in "$dir"/softmem_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	if [ $# -gt 0 ]; then
		case " $* " in *" ${t##*/} "*) ;; *) continue ;; esac
	fi
	case "${t##*/}" in
	*.*) continue ;;
	softmem_lifecycle | softmem_module) last="$last $t" ;;
	*) tests="$tests $t" ;;
	esac
done
[ -n "$last" ] && tests="$tests $last"
if [ -z "$tests" ]; then
	echo "# no softmem_* test binaries in $dir (run make -C selftests)"
	exit 1
fi

params=$(ls /sys/module/softmem/parameters/* 2>/dev/null)
for p in $params; do
	cat "$p" > "$tmp/param.${p##*/}"
done

# uptime: seconds since boot, to a hundredth.
uptime() {
	read -r up _ < /proc/uptime
	echo "$up"
}

# elapsed FROM TO: seconds between two uptimes, to a tenth.
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# timed LOG: passes a binary's KTAP through, and into LOG, with the time of
# each case after its result line ("# case NAME took N.N s"): from the
# result before it, so a case's fixture is counted in.
timed() {
	prev=$(uptime)
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"ok "[0-9]* | "not ok "[0-9]*)
			now=$(uptime)
			case_name=${line#*ok [0-9]* }
			echo "# case ${case_name%% #*} took $(elapsed "$prev" "$now") s"
			prev=$now
			;;
		esac
	done | tee "$1"
}

status=0 passed=0 failed=0 skipped=0
for t in $tests; do
	name=${t##*/}
	log=$tmp/$name.log
	echo "# selftest $name"
	start=$(uptime)
	{ "$t" 2>&1; echo $? > "$tmp/$name.rc"; } | timed "$log"
	echo "# selftest $name took $(elapsed "$start" "$(uptime)") s"
	# A test killed before its teardown must not leave the module's
	# limits changed for the tests after it.
	for p in $params; do
		[ -w "$p" ] && cat "$tmp/param.${p##*/}" > "$p" 2>/dev/null
	done
	rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
	totals=$(grep '^# Totals:' "$log" | tail -n 1)
	if [ -z "$totals" ]; then
		echo "# selftest $name did not finish (exit status $rc)"
		failed=$((failed + 1))
		status=1
		continue
	fi
	# "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N"
	for kv in ${totals#\# Totals: }; do
		n=${kv#*:}
		case $kv in
		pass:* | xpass:*) passed=$((passed + n)) ;;
		fail:* | error:*) failed=$((failed + n)) ;;
		skip:* | xfail:*) skipped=$((skipped + n)) ;;
		esac
	done
	# 4 is KSFT_SKIP: every case skipped.
	[ "$rc" -eq 0 ] || [ "$rc" -eq 4 ] || status=1
done
rm -rf "$tmp"
echo "# softmem selftests: $passed passed, $failed failed, $skipped skipped"
exit $status
