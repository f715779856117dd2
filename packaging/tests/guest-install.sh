#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest-install.sh - the Debian packages installed and used on a Debian
# system.  Runs as root inside the cached Debian root of
# tools/package-check.sh, which the test guest mounts and enters with its
# /proc, /sys and /dev; the running kernel is the 6.12 leg's, whose headers
# the root has.  The guest has no network: every dependency of the packages
# is installed already.  The .deb files and the programs to build are in
# the directory of this script.  Prints one "ok - " or "not ok - " line per
# step, with its time (the log of a failed step follows it); exits 1 if any
# failed.
# shellcheck disable=SC2016 # the sh -c scripts expand their own variables
set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")" || exit 1
release=$(uname -r)
status=0

# step WHAT CMD...: runs CMD with its output in step.log.
step() {
	local what=$1 start=$SECONDS
	shift
	if "$@" >step.log 2>&1; then
		echo "ok - debian guest: $what ($((SECONDS - start)) s)"
	else
		echo "not ok - debian guest: $what ($((SECONDS - start)) s)"
		tail -n 30 step.log | sed 's/^/#   /'
		status=1
	fi
}

step "apt installs softmem-dkms, libsoftmem0, libsoftmem-dev, softmem-tools" \
	apt-get install -y "$PWD"/softmem-dkms_*_all.deb \
	"$PWD"/libsoftmem0_*.deb "$PWD"/libsoftmem-dev_*.deb \
	"$PWD"/softmem-tools_*.deb
step "DKMS built and installed softmem for the running kernel ($release)" \
	sh -c "dkms status softmem | grep -F '$release' | grep -q ': installed'"
step "modprobe finds softmem in updates/dkms and loads it" \
	sh -c 'modinfo -n softmem | grep -q "/updates/dkms/softmem.ko" &&
	       modprobe softmem && grep -q "^softmem " /proc/modules'
step "/dev/softmem exists, and the udev rule is installed" \
	sh -c 'test -c /dev/softmem && test -f /lib/udev/rules.d/60-softmem.rules'
step "a C program builds with pkg-config and links libsoftmem.so.0" \
	sh -c 'cc -Wall -Werror -o pkgconfig-check pkgconfig-check.c \
		$(pkg-config --cflags --libs softmem) &&
	       ldd pkgconfig-check &&
	       ldd pkgconfig-check | grep -q "libsoftmem\.so\.0 => /[^ ]*/libsoftmem\.so\.0 "'
step "it keeps intact data and reports a discard" ./pkgconfig-check
step "the C++ example builds with pkg-config (softmem.hpp) and its cache is right" \
	sh -c 'c++ -std=c++17 -Wall -Werror -o cpp-cache cpp-cache.cpp \
		$(pkg-config --cflags --libs softmem) && ./cpp-cache 16 64 512'
step "softmemstat prints the module's figures" \
	sh -c 'softmemstat >out.txt && cat out.txt && test -s out.txt'
step "the manual pages are installed" \
	test -f /usr/share/man/man3/softmem_open.3.gz \
	     -a -f /usr/share/man/man1/softmemstat.1.gz
step "apt removes softmem-dkms, and DKMS the module with it" \
	sh -c "rmmod softmem && apt-get remove -y softmem-dkms &&
	       ! modinfo -k '$release' softmem && ! dkms status softmem | grep -q ."
exit $status
