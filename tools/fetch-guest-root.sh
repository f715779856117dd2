#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/fetch-guest-root.sh ARCH   (arm64)
#
# What tools/vm-run's initramfs takes from the host on amd64, for a guest of
# another architecture: Debian bookworm's busybox-static, numactl, glibc and
# coreutils (for timeout) of ARCH, extracted once into
# $SOFTMEM_CACHE/guest-root/<ARCH>-<hash of the package versions>/, whose
# path is printed on stdout.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

arch=${1:-}
[[ $arch == arm64 ]] || die "usage: $0 arm64"
pkgs=(busybox-static numactl libnuma1 libc6 libgcc-s1 libatomic1 coreutils)
papt() {
	local cmd=$1
	shift
	private_apt "bookworm-$arch" bookworm bookworm-updates bookworm-security -- "$cmd" \
		-o APT::Architecture="$arch" -o APT::Architectures="$arch" "$@"
}

base=$SOFTMEM_CACHE/guest-root
mkdir -p "$base"
exec 9>"$base/.lock"
flock 9
papt apt-get update >&2
versions=$(papt apt-cache show --no-all-versions "${pkgs[@]}" |
	awk '/^Package:/ { p = $2 } /^Version:/ { print p "=" $2 }')
[[ $(wc -l <<<"$versions") == "${#pkgs[@]}" ]] || die "cannot resolve ${pkgs[*]} for $arch"
root=$base/$arch-$(sha256sum <<<"$versions" | cut -c1-12)
if [[ ! -f $root/.complete ]]; then
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp/debs"
	mapfile -t list <<<"$versions"
	(cd "$root.tmp/debs" && papt apt-get download "${list[@]}" >&2)
	for deb in "$root.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$root.tmp"
	done
	rm -rf "$root.tmp/debs"
	echo "$versions" >"$root.tmp/.complete"
	rm -rf "$root"
	mv "$root.tmp" "$root"
fi
echo "$root"
