#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kcsan_watch.sh - point KCSAN at softmem, for make check's kcsan leg.
#
# Runs as root in the KCSAN kernel's guest (tools/fetch-kernel.sh kcsan),
# booted with kcsan.early_enable=0 so that nothing is watched before this.
# It puts every function of softmem.ko in KCSAN's report filter and makes
# it a whitelist, so that a data race is reported only when both of its
# accesses are in softmem's code, then turns KCSAN on and returns.  A
# child stays behind and fills the filter again whenever the module is
# loaded anew (softmem_lifecycle and softmem_module reload it, and the
# filter holds addresses), until the guest ends.  Prints "# kcsan: watching
# N functions of softmem" each time.
#
# "kcsan_watch.sh --stats" prints two of KCSAN's counters instead, as
# "# kcsan:" lines: the watchpoints it set up (that it watched at all) and
# the data races it found anywhere in the kernel, before the filter (a race
# of softmem's is printed as a report, which the runner takes for a splat).

ctl=/sys/kernel/debug/kcsan
[ -w "$ctl" ] || { echo "# kcsan: no $ctl (not a KCSAN kernel?)"; exit 1; }

if [ "$1" = --stats ]; then
	sed -nE 's/^(setup_watchpoints|data_races): /# kcsan: \1 /p' "$ctl"
	exit 0
fi

allow() {
	n=0
	for f in $(awk '$4 == "[softmem]" && ($2 == "t" || $2 == "T") { print $3 }' /proc/kallsyms); do
		echo "!$f" > "$ctl" 2>/dev/null && n=$((n + 1))
	done
	echo "# kcsan: watching $n functions of softmem"
}

text=$(cat /sys/module/softmem/sections/.text 2>/dev/null)
allow
echo whitelist > "$ctl"
echo on > "$ctl"
while sleep 0.2; do
	now=$(cat /sys/module/softmem/sections/.text 2>/dev/null)
	if [ -n "$now" ] && [ "$now" != "$text" ]; then
		text=$now
		allow
	fi
done </dev/null &
