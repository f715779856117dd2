#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/package-check.sh   (make package-check; run by make check)
#
# Checks that softmem installs, prints one "ok - " / "not ok - " line per
# check and exits non-zero if any failed:
#   - make install into a DESTDIR puts every file where it belongs, and make
#     uninstall takes them all away again;
#   - for each kernel leg in KERNELS ("6.1 6.12 7.2 debug"): dkms add, build
#     and install of the sources as softmem-dkms ships them, against the
#     leg's cached headers, into a scratch tree where depmod finds every
#     symbol the module needs in the kernel's Module.symvers;
#   - dpkg-buildpackage -us -uc of the debian/ source package, and lintian
#     (pedantic) on the result with no error or warning;
#   - the four packages installed with apt into a cached Debian bookworm
#     root made by debootstrap, with the headers of the PACKAGE_LEG kernel
#     (6.12); a guest boots that kernel, enters the root and runs
#     packaging/tests/guest-install.sh there: DKMS builds the module for the
#     running kernel, modprobe loads it, a program built with pkg-config uses
#     it, and removing softmem-dkms removes the module.
# Logs go to build/package-check/.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$top/tools/lib.sh"
cd "$top" || exit 1

KERNELS=${KERNELS:-6.1 6.12 7.2 debug}
PACKAGE_LEG=${PACKAGE_LEG:-6.12}
VM_TIMEOUT=${VM_TIMEOUT:-1500}
logs=$top/build/package-check
rm -rf "$logs"
mkdir -p "$logs"
version=$(sed -n 's/^VERSION[[:space:]]*:= *//p' lib/Makefile)
status=0

ensure_host_packages dkms debhelper dh-dkms lintian dpkg-dev debootstrap \
	e2fsprogs qemu-system-x86 busybox-static cpio kmod zstd xz-utils || exit 1

# result NAME STATUS [LOG]: one ok/not ok line; the end of LOG on failure.
result() {
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		[ -n "${3:-}" ] && tail -n 20 "$3" | sed 's/^/#   /'
		status=1
	fi
}

# The tracked files only, as a user's clone or a release tarball has them.
export_tree() {
	mkdir -p "$1"
	git ls-files -z "${@:2}" | xargs -0 tar -cf - | tar -xf - -C "$1"
}

# ---------------------------------------------------------- make install
check_make_install() {
	local dest=$logs/destdir log=$logs/install.log absent=0 f
	local want=(lib/udev/rules.d/60-softmem.rules usr/bin/softmemstat
		usr/include/softmem.h usr/include/softmem.hpp
		usr/include/linux/softmem.h usr/lib/libsoftmem.so.0
		usr/lib/libsoftmem.so usr/lib/libsoftmem.a
		usr/lib/pkgconfig/softmem.pc usr/share/man/man1/softmemstat.1
		usr/share/man/man3/softmem_open.3
		usr/share/doc/softmem/examples/modules-load.d/softmem.conf)

	make install DESTDIR="$dest" PREFIX=/usr >"$log" 2>&1
	result "make install DESTDIR= PREFIX=/usr runs" $? "$log"
	local release
	release=$(modinfo -F vermagic kmod/softmem.ko 2>/dev/null | cut -d' ' -f1)
	want+=("lib/modules/$release/updates/softmem.ko")
	for f in "${want[@]}"; do
		[ -e "$dest/$f" ] || { echo "missing: $f" >>"$log"; absent=1; }
	done
	grep -q '^prefix=/usr$' "$dest/usr/lib/pkgconfig/softmem.pc" ||
		{ echo "softmem.pc: prefix is not /usr" >>"$log"; absent=1; }
	result "make install puts the module, library, headers, pkg-config, manual pages, softmemstat, udev rule and modules-load.d example in place" \
		"$absent" "$log"
	make uninstall DESTDIR="$dest" PREFIX=/usr >>"$log" 2>&1
	local left
	left=$(find "$dest" -type f -o -type l)
	[ -z "$left" ] || echo "left behind: $left" >>"$log"
	[ -z "$left" ]
	result "make uninstall removes every file make install put there" $? "$log"
}

# ------------------------------------------------------------------ DKMS
# dkms_leg LEG: add, build and install the DKMS sources against the leg's
# cached kernel, in scratch trees (nothing of the host's /lib/modules or
# /var/lib/dkms is touched).  A kernel whose compiler only a build root has
# (7.2) is built through the leg's make wrapper, found first in PATH.
dkms_leg() {
	local leg=$1 kdir release log tree=$logs/dkms-$1 rc
	log=$logs/dkms-$leg.log
	kdir=$(tools/fetch-kernel.sh "$leg" 2>"$log") || {
		result "dkms: fetch kernel $leg" 1 "$log"
		return
	}
	release=$(cat "$kdir/version")
	export_tree "$tree/src/softmem-$version" Kbuild dkms.conf kmod uapi
	mkdir -p "$tree/dkms" "$tree/root/lib/modules/$release" "$tree/bin"
	# dkms runs "make": the leg's wrapper, which finds the real one in
	# the PATH it was given.
	printf '#!/bin/bash\nPATH=%q exec %q "$@"\n' "$PATH" "$kdir/make" >"$tree/bin/make"
	chmod +x "$tree/bin/make"
	local opts=(-m softmem -v "$version" -k "$release" --dkmstree "$tree/dkms"
		--sourcetree "$tree/src" --kernelsourcedir "$kdir/build")
	{
		dkms add "${opts[@]}" &&
			PATH=$tree/bin:$PATH dkms build "${opts[@]}" &&
			dkms install "${opts[@]}" --no-depmod \
				--installtree "$tree/root/lib/modules" &&
			test -f "$tree/root/lib/modules/$release/updates/dkms/softmem.ko" &&
			depmod -b "$tree/root" -e -E "$kdir/build/Module.symvers" "$release"
	} >>"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q 'unknown symbol' "$log"; then
		rc=1
	fi
	result "dkms: build and install for $release" "$rc" "$log"
	rm -rf "$tree"
}

# ---------------------------------------------------------------- Debian
build_packages() {
	local dir=$logs/deb/softmem-$version log=$logs/dpkg-buildpackage.log
	export_tree "$dir"
	(cd "$dir" && dpkg-buildpackage -us -uc) >"$log" 2>&1
	result "dpkg-buildpackage -us -uc builds softmem $version" $? "$log"
	lintian --pedantic --info --fail-on error,warning \
		"$logs/deb/softmem_${version}_$(dpkg --print-architecture).changes" \
		>"$logs/lintian.log" 2>&1
	local rc=$?
	grep -E '^[EW]: ' "$logs/lintian.log"
	result "lintian --pedantic: no error or warning" "$rc" "$logs/lintian.log"
}

# debian_root RELEASE: prints a cached bookworm root (debootstrap) with DKMS,
# a compiler, pkg-config and the headers of kernel RELEASE, made or
# completed first if need be.  The root keeps its apt lists: apt installs
# local packages there without a network.
debian_root() {
	local release=$1 root=$SOFTMEM_CACHE/debian-root/bookworm
	local headers=linux-headers-$release
	if [ ! -f "$root/.softmem-complete" ]; then
		log "creating $root (debootstrap bookworm, a few minutes)"
		rm -rf --one-file-system "$root.tmp"
		unshare --mount --propagation private debootstrap --variant=minbase \
			--include=dkms,g++,make,pkg-config,kmod bookworm "$root.tmp" \
			http://deb.debian.org/debian >&2 || return 1
		cat >"$root.tmp/etc/apt/sources.list" <<-EOS
			deb http://deb.debian.org/debian bookworm main
			deb http://deb.debian.org/debian bookworm-updates main
			deb http://deb.debian.org/debian-security bookworm-security main
			deb http://deb.debian.org/debian bookworm-backports main
		EOS
		echo 'APT::Install-Recommends "false";' \
			>"$root.tmp/etc/apt/apt.conf.d/90softmem-no-recommends"
		touch "$root.tmp/.softmem-complete"
		rm -rf --one-file-system "$root"
		mv "$root.tmp" "$root"
	fi
	if [ ! -f "$root/.softmem-headers-$release" ]; then
		log "installing $headers in $root"
		unshare --mount --propagation private sh -c "
			mount -t proc proc '$root/proc' &&
			chroot '$root' apt-get -q update &&
			DEBIAN_FRONTEND=noninteractive chroot '$root' \
				apt-get -q -y install '$headers'" >&2 || return 1
		touch "$root/.softmem-headers-$release"
	fi
	echo "$root"
}

guest_install() {
	local kdir release root disk=$logs/debian.img log=$logs/guest.log
	local guest=$logs/guest pkgs=$logs/deb rc
	kdir=$(tools/fetch-kernel.sh "$PACKAGE_LEG" 2>"$log") || {
		result "debian guest: fetch kernel $PACKAGE_LEG" 1 "$log"
		return
	}
	release=$(cat "$kdir/version")
	root=$(debian_root "$release" 2>>"$log") || {
		result "debian guest: a bookworm root with $release headers" 1 "$log"
		return
	}
	mkdir -p "$guest/files"
	cp "$pkgs"/softmem-dkms_*.deb "$pkgs"/libsoftmem0_*.deb \
		"$pkgs"/libsoftmem-dev_*.deb "$pkgs"/softmem-tools_*.deb \
		packaging/tests/guest-install.sh packaging/tests/pkgconfig-check.c \
		examples/cpp-cache/cpp-cache.cpp "$guest/files/"
	# The root as the guest's disk: a copy, so the cache stays clean.
	rm -f "$disk"
	truncate -s 4G "$disk"
	mkfs.ext4 -q -F -O ^has_journal,^metadata_csum -d "$root" "$disk" >>"$log" 2>&1 || {
		result "debian guest: the root's disk image" 1 "$log"
		return
	}
	local modargs=() m
	while read -r m; do
		modargs+=(--module "$m")
	done < <(ext4_guest_modules "$kdir" "$release" "$guest/modules" 2>>"$log")
	# shellcheck disable=SC2016 # expanded by the guest's shell
	tools/vm-run --kernel-dir "$kdir" --mem 1G --timeout "$VM_TIMEOUT" \
		--log-dir "$guest/vm" "${modargs[@]}" --disk "$disk" \
		--add "$guest/files:pkg" -- '
		mkdir -p /mnt && mount -t ext4 /dev/vda /mnt &&
		rm -rf /mnt/tmp/softmem && cp -r pkg /mnt/tmp/softmem &&
		mount -t proc proc /mnt/proc && mount -t sysfs sysfs /mnt/sys &&
		mount -o rbind /dev /mnt/dev &&
		chroot /mnt /tmp/softmem/guest-install.sh' >"$guest/out.log" 2>&1
	rc=$?
	grep -E '^(not )?ok - |^#   ' "$guest/out.log"
	grep -q '^not ok - ' "$guest/out.log" && status=1
	# The guest's own lines judge the packages; this one, the run itself.
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$guest/out.log" ||
	   ! grep -q '^ok - ' "$guest/out.log"; then
		tail -n 20 "$guest/out.log" | sed 's/^/#   /'
		result "debian guest: runs on $release (vm-run status $rc)" 1
	fi
	rm -f "$disk"
}

check_make_install
for leg in $KERNELS; do
	dkms_leg "$leg"
done
build_packages
[ -f "$logs/deb/softmem-dkms_${version}_all.deb" ] && guest_install
exit $status
