#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Usage: tools/fetch-sqlite-source.sh
#
# Fetches Debian's source package of the installed libsqlite3-dev (sqlite3,
# the same Debian version, from the host's release and its updates), unpacks
# it once with its Debian patches into $SOFTMEM_CACHE/sqlite-source/<debian
# version>/ and prints that directory on stdout.  examples/sqlite-pcache takes
# test/speedtest1.c from it; nothing of it is ever copied into the repository.
# Installs libsqlite3-dev and dpkg-dev when they are missing.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base="$SOFTMEM_CACHE/sqlite-source"
mkdir -p "$base"
exec 9>"$base/.lock" # one fetch at a time
flock 9

ensure_host_packages libsqlite3-dev dpkg-dev >&2 || exit 1
read -r pkg version < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' libsqlite3-dev)
src="$base/$version"
if [[ -f "$src/.softmem-complete" ]]; then
	echo "$src"
	exit 0
fi

# The suites of the host's release: the installed version is in one of them
# unless a newer one has replaced it since the host was last upgraded.
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
[[ -n "$codename" ]] || die "cannot tell the host's Debian release from /etc/os-release"
suites=("src:$codename")
if [[ "$codename" != sid ]]; then
	suites+=("src:$codename-updates" "src:$codename-security")
fi
papt() { private_apt "sqlite-source-$codename" "${suites[@]}" -- "$@"; }

tmp="$base/.tmp-$version"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
if ! papt apt-get update >&2; then
	die "cannot update the package lists of $codename"
fi
if ! papt apt-cache showsrc "$pkg" 2>/dev/null | grep -qx "Version: $version"; then
	die "$pkg $version (the installed libsqlite3-dev) is not in $codename any more: upgrade libsqlite3-dev"
fi
log "downloading the source of $pkg=$version"
(cd "$tmp" && papt apt-get source --download-only "$pkg=$version" >&2)
log "unpacking it into $src"
# apt checked the files against the signed Sources index; dpkg-source's own
# signature check would need debian-keyring and only warns without it.
(cd "$tmp" && dpkg-source --no-copy --no-check -x ./*.dsc tree >&2)
[[ -f "$tmp/tree/test/speedtest1.c" ]] || die "no test/speedtest1.c in $pkg $version"
echo "$pkg=$version" >"$tmp/tree/.softmem-complete"
rm -rf "$src"
mv "$tmp/tree" "$src"
echo "$src"
