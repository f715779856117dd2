#!/bin/bash
# Usage: tools/fetch-linux-source.sh
#
# Downloads Debian's linux-source-6.12 (bookworm-backports), extracts the whole tree once into
# $SOFTMEM_CACHE/linux-source/<debian version>/ and prints that directory on stdout.
# Used for the kselftest harness, checkpatch.pl, kernel-doc, ioctl-number.rst and the debug kernel.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pkg=linux-source-6.12
suite=bookworm-backports
base="$SOFTMEM_CACHE/linux-source"
mkdir -p "$base"
exec 9>"$base/.lock" # one fetch at a time
flock 9

papt() { private_apt "$suite" "$suite" -- "$@"; }

# Resolve the current version; offline, fall back to the last tree extracted.
if papt apt-get update >&2 &&
	version="$(papt apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')" &&
	[[ -n "$version" ]]; then
	src="$base/$version"
elif [[ -f "$base/last.path" && -f "$(cat "$base/last.path")/Makefile" ]]; then
	src="$(cat "$base/last.path")"
	log "warning: cannot resolve $pkg from $suite; using cached $src"
else
	die "cannot resolve $pkg from $suite"
fi

if [[ ! -f "$src/.softmem-complete" ]]; then
	tmp="$base/.tmp-$version"
	rm -rf "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/tree"
	log "downloading $pkg=$version"
	(cd "$tmp" && papt apt-get download "$pkg=$version" >&2)
	log "extracting the source tree into $src"
	dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb |
		tar -xO "./usr/src/$pkg.tar.xz" |
		tar -xJ --strip-components=1 -C "$tmp/tree"
	[[ -f "$tmp/tree/scripts/checkpatch.pl" ]] || die "unexpected layout in $pkg"
	echo "$pkg=$version" >"$tmp/tree/.softmem-complete"
	rm -rf "$src"
	mv "$tmp/tree" "$src"
fi
echo "$src" >"$base/last.path"
echo "$src"
