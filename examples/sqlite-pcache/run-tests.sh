#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-tests.sh - the SQLite page cache's tests, in the test guest.
#
# Runs as root in the guest of tools/check.sh (busybox sh), from the copy of
# examples/sqlite-pcache/build: pcache_test, whose cases run speedtest1 from
# the same directory.  Prints the harness's KTAP as it comes, with the same
# "# selftest" lines as selftests/run_all.sh, so that check.sh counts and
# times it.  Exit status: 0 if every case passed (or skipped), 1 otherwise.

dir=$(cd "$(dirname "$0")" && pwd)
name=sqlite_pcache
tmp=${TMPDIR:-/tmp}/$name.$$

# The selftests before may have unloaded and reloaded the module.
if [ ! -c /dev/softmem ] && [ -f /lib/softmem/softmem.ko ]; then
	insmod /lib/softmem/softmem.ko
fi

read -r start _ < /proc/uptime
echo "# selftest $name"
{ "$dir/pcache_test" 2>&1; echo $? > "$tmp.rc"; } | tee "$tmp.log"
rc=$(cat "$tmp.rc" 2>/dev/null || echo 1)
read -r end _ < /proc/uptime
echo "# selftest $name took $(awk -v a="$start" -v b="$end" \
	'BEGIN { printf "%.1f", b - a }') s"
if ! grep -q '^# Totals:' "$tmp.log"; then
	echo "# selftest $name did not finish (exit status $rc)"
	rc=1
fi
rm -f "$tmp.log" "$tmp.rc"
# 4 is KSFT_SKIP: every case skipped.
[ "$rc" -eq 0 ] || [ "$rc" -eq 4 ]
