#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Usage, in a tools/vm-run guest, after the tests: ./guest-gcov-dump.sh
#
# Prints softmem.ko's gcov counters on stdout, which vm-run streams to the
# host's test.log: the .gcda files of /sys/kernel/debug/gcov/<build path>/kmod/
# as a gzip'ed tar in base64, between the lines
#   softmem-gcov-begin <files> <sha256 of the archive>
#   softmem-gcov-end
# tools/coverage.sh takes them out of the log again.  The counters of a module
# that was unloaded stay (gcov_persist=1), added to those of its next load,
# so this works whether softmem.ko is loaded or not.  Exits 1, after a line
# saying why, when there is nothing to dump.
gcov=/sys/kernel/debug/gcov
tmp=/tmp/softmem-gcov
if [ ! -d "$gcov" ]; then
	echo "softmem-gcov: no $gcov (kernel without CONFIG_GCOV_KERNEL?)"
	exit 1
fi
rm -rf "$tmp" "$tmp.tgz"
mkdir -p "$tmp"
# debugfs gives the files size 0: tar would store them empty, so copy them
# by reading.  The .gcno entries next to them are links into the host's
# build tree, of no use here.
find "$gcov" -path '*/kmod/*' -name '*.gcda' | while read -r f; do
	cat "$f" >"$tmp/${f##*/}" || exit 1
done || exit 1
n=$(find "$tmp" -name '*.gcda' | wc -l)
if [ "$n" -eq 0 ]; then
	echo "softmem-gcov: no kmod/*.gcda under $gcov (module built without SOFTMEM_COVERAGE=1?)"
	exit 1
fi
tar -C "$tmp" -cf - . | gzip -9 >"$tmp.tgz" || exit 1
sum=$(sha256sum <"$tmp.tgz" | cut -d' ' -f1)
echo "softmem-gcov-begin $n $sum"
base64 "$tmp.tgz"
echo "softmem-gcov-end"
rm -rf "$tmp" "$tmp.tgz"
