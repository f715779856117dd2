#!/bin/bash
# Usage: tools/fetch-kernel.sh 6.1|6.12|7.2|debug|arm64-6.12
#
# Fetches the Debian kernel of one test leg (image, headers, kbuild) into
# $SOFTMEM_CACHE/kernels/<uname -r>/ and prints that directory ($K), and nothing else, on stdout:
#   $K/vmlinuz  bootable kernel        $K/build  KDIR for `make -C $K/build M=/abs/dir modules`
#   $K/version  exact `uname -r`       $K/make   make wrapper with the kernel's compiler
#   $K/root     the extracted packages (with absolute paths fixed up)
# Legs: 6.1 = bookworm (+updates, +security), 6.12 = bookworm-backports, 7.2 = sid (the newest,
# whatever it is today). Versions come from linux-image-amd64/linux-headers-amd64 at fetch time;
# if that fails, the last resolution ($SOFTMEM_CACHE/kernels/<LEG>.path) is reused.
# sid kernels need a newer gcc than the host's: $K/make then builds inside a cached
# `debootstrap sid` root ($SOFTMEM_CACHE/buildroot/sid-gcc<N>).
# debug = the debug kernel built from Debian's linux-source, kcsan = its KCSAN sibling:
# see tools/build-debug-kernel.sh.
# arm64-6.12 = bookworm-backports' arm64 kernel, for qemu-system-aarch64: its image and headers
# are arm64 packages, its kbuild tools the amd64 package of the same version (Multi-Arch:
# foreign), and $K/make cross-compiles with the host's aarch64-linux-gnu-gcc.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

leg="${1:-}"
arch=amd64
case "$leg" in
6.1) suites=(bookworm bookworm-updates bookworm-security) ;;
6.12) suites=(bookworm-backports) ;;
7.2) suites=(sid) ;;
arm64-6.12) suites=(bookworm-backports) arch=arm64 ;;
debug | kcsan) exec "$(dirname "${BASH_SOURCE[0]}")/build-debug-kernel.sh" "$1" ;;
*) die "usage: $0 6.1|6.12|7.2|debug|kcsan|arm64-6.12" ;;
esac
kernels="$SOFTMEM_CACHE/kernels"
mkdir -p "$kernels"
exec 9>"$kernels/.lock" # one fetch at a time
flock 9

# The leg's architecture as apt's only one, in a state of its own; kbuild
# packages, which run on this host, come from the amd64 state.
if [[ $arch == amd64 ]]; then
	papt() { private_apt "${suites[0]}" "${suites[@]}" -- "$@"; }
else
	papt() {
		local cmd=$1
		shift
		private_apt "${suites[0]}-$arch" "${suites[@]}" -- "$cmd" \
			-o APT::Architecture="$arch" -o APT::Architectures="$arch" "$@"
	}
	hostapt() { private_apt "${suites[0]}" "${suites[@]}" -- "$@"; }
fi

# resolve: print the kernel's packages as name=version, starting from the metapackages and
# following dependencies on kernel packages (first alternative, pinned where "(= ver)").
# One apt-cache call per dependency level: each call loads the whole package cache.
resolve() {
	local -A seen=()
	local queue=("linux-image-$arch" "linux-headers-$arch") next out name ver deps dep rest dver
	while ((${#queue[@]})); do
		out="$(papt apt-cache show --no-all-versions "${queue[@]}" 2>/dev/null)" || return 1
		next=()
		while IFS=$'\t' read -r name ver deps; do
			[[ -z "${seen[$name]:-}" ]] || continue
			seen[$name]=1
			echo "$name=$ver"
			while read -r dep rest; do
				[[ "$dep" =~ ^linux-(image|binary|modules|base|headers|kbuild)- && -z "${seen[$dep]:-}" ]] || continue
				dver="$(sed -n 's/^(= *\(.*\))$/\1/p' <<<"$rest")"
				next+=("$dep${dver:+=$dver}")
			done < <(tr ',' '\n' <<<"$deps" | sed 's/|.*//')
		done < <(awk '/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^Depends:/ { sub(/^Depends: */, ""); d = $0 }
			/^$/ { if (p != "") print p "\t" v "\t" d; p = v = d = "" }
			END { if (p != "") print p "\t" v "\t" d }' <<<"$out")
		queue=("${next[@]}")
	done
}

# Resolve the leg's current kernel; fall back to the cached resolution when offline.
K=
if papt apt-get update >&2 && pkgs="$(resolve | sort)" && [[ -n "$pkgs" ]]; then
	release="$(grep -o "^linux-headers-.*-$arch=" <<<"$pkgs" | grep -v "^linux-headers-$arch=" | sed 's/^linux-headers-//; s/=$//')"
	[[ "$(wc -l <<<"$release")" == 1 && -n "$release" ]] || die "cannot find the headers package in: $pkgs"
	K="$kernels/$release"
	log "$leg: $release (${suites[*]})"
elif [[ -f "$kernels/$leg.path" && -f "$(cat "$kernels/$leg.path")/version" ]]; then
	K="$(cat "$kernels/$leg.path")"
	release="$(cat "$K/version")"
	pkgs="$(cat "$K/packages")"
	log "warning: cannot resolve $leg from Debian; using cached $K"
else
	die "cannot resolve kernel packages for $leg from ${suites[*]}"
fi

# Download and extract (skipped when this exact package set is already there).
if [[ "$(cat "$K/packages" 2>/dev/null)" != "$pkgs" ]]; then
	tmp="$kernels/.tmp-$release"
	rm -rf "$tmp"
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/debs"
	log "downloading $(wc -l <<<"$pkgs") packages"
	mapfile -t pkglist <<<"$pkgs"
	if [[ $arch == amd64 ]]; then
		(cd "$tmp/debs" && papt apt-get download "${pkglist[@]}" >&2)
	else
		mapfile -t kbuild < <(printf '%s\n' "${pkglist[@]}" | grep '^linux-kbuild-')
		mapfile -t pkglist < <(printf '%s\n' "${pkglist[@]}" | grep -v '^linux-kbuild-')
		(cd "$tmp/debs" && papt apt-get download "${pkglist[@]}" >&2)
		hostapt apt-get update >&2
		(cd "$tmp/debs" && hostapt apt-get download "${kbuild[@]}" >&2)
	fi
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root"
		if [[ "${deb##*/}" == linux-kbuild-* ]]; then
			dpkg-deb -f "$deb" Depends >"$tmp/kbuild.depends"
		fi
	done
	rm -rf "$tmp/debs"
	# Absolute symlinks (/usr/src/..., /usr/lib/...) become relative links inside root/.
	while IFS= read -r -d '' link; do
		target="$(readlink "$link")"
		ln -sfn "$(realpath -s -m --relative-to="$(dirname "$link")" "$tmp/root$target")" "$link"
	done < <(find "$tmp/root" -type l -lname '/*' -print0)
	# The per-flavour Makefile includes the common one (and sets KBUILD_OUTPUT) by absolute path.
	sed -i "s#\([ =]\)/usr/src/#\1$K/root/usr/src/#g" "$tmp/root/usr/src/linux-headers-$release/Makefile"
	ln -s "root/usr/src/linux-headers-$release" "$tmp/build"
	for vmlinuz in root/boot/vmlinuz-"$release" root/usr/lib/modules/"$release"/vmlinuz ""; do
		[[ -z "$vmlinuz" || -f "$tmp/$vmlinuz" ]] && break
	done
	[[ -n "$vmlinuz" ]] || die "no vmlinuz in the packages for $release"
	ln -s "$vmlinuz" "$tmp/vmlinuz"
	krel="$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$tmp/build/include/generated/utsrelease.h")"
	[[ "$krel" == "$release" ]] || die "headers say $krel, expected $release"
	echo "$release" >"$tmp/version"
	echo "$pkgs" >"$tmp/packages" # written last: marks a complete extraction
	rm -rf "$K"
	mv "$tmp" "$K"
	trap - EXIT
fi

# The compiler the kernel was built with, e.g. "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0".
cc_text="$(sed -n 's/^CONFIG_CC_VERSION_TEXT=//p' "$K/build/include/config/auto.conf" | tr -d '"')"
cc="${cc_text%% *}"
gccver="${cc##*gcc-}"
[[ "$cc" == *gcc-* && "$gccver" =~ ^[0-9]+$ ]] || die "unsupported kernel compiler: $cc_text"

if [[ "$leg" != 7.2 ]]; then
	# bookworm kernels: the host toolchain (Debian bookworm has gcc-12), the
	# cross one for arm64.
	cross=
	if [[ $arch == arm64 ]]; then
		cross=aarch64-linux-gnu-
		ensure_host_packages "gcc-$gccver-aarch64-linux-gnu" binutils-aarch64-linux-gnu
	fi
	if ! command -v "$cc" >/dev/null || [[ "$("$cc" -dumpversion)" != "$gccver"* ]]; then
		die "$(cat "$K/version") was built with '$cc_text' but the host has no $cc" \
			"(host gcc: $(gcc -dumpversion 2>/dev/null || echo none)); use a build root like the 7.2 leg"
	fi
	ensure_host_packages make
	unresolved="$(ldd "$K"/build/scripts/mod/modpost "$K"/build/tools/objtool/objtool 2>/dev/null | grep 'not found' || true)"
	[[ -z "$unresolved" ]] || die "kbuild binaries miss host libraries: $unresolved"
	cat >"$K/make" <<-EOF
		#!/bin/bash
		# Generated by tools/fetch-kernel.sh: make for $(cat "$K/version"), built with $cc (host).
		exec make ${cross:+ARCH=$arch CROSS_COMPILE=$cross }"\$@"
	EOF
else
	# sid kernels: a cached sid build root with the kernel's gcc, kbuild's libraries and pahole.
	root="$SOFTMEM_CACHE/buildroot/sid-gcc$gccver"
	want="$( (echo "gcc-$gccver" make libc6-dev dwarves
		tr ',' '\n' <"$K/kbuild.depends" | sed 's/|.*//; s/(.*//') | xargs -n1 | sort -u | xargs)"
	if [[ ! -f "$root/.softmem-packages" ]] ||
		[[ -n "$(comm -23 <(tr ' ' '\n' <<<"$want") <(tr ' ' '\n' <"$root/.softmem-packages"))" ]]; then
		ensure_host_packages debootstrap
		log "creating build root $root with: $want (about a minute)"
		rm -rf --one-file-system "$root.tmp"
		# Private mount namespace: debootstrap's /proc mount cannot leak if it fails.
		unshare --mount --propagation private debootstrap --variant=minbase \
			--include="${want// /,}" sid "$root.tmp" http://deb.debian.org/debian >&2
		chroot "$root.tmp" "$cc" --version >/dev/null || die "$cc missing in the build root"
		tr ' ' '\n' <<<"$want" >"$root.tmp/.softmem-packages"
		rm -rf --one-file-system "$root"
		mv "$root.tmp" "$root"
	fi
	{
		echo '#!/bin/bash'
		echo "# Generated by tools/fetch-kernel.sh: make for $(cat "$K/version"), built with $cc,"
		echo "# run inside the sid build root. Host directories keep their absolute paths inside."
		printf 'ROOT=%q K=%q CACHE=%q\n' "$root" "$K" "$SOFTMEM_CACHE"
		cat <<-'EOF'
			set -euo pipefail
			# A private mount namespace: the bind mounts vanish with this process whatever happens.
			if [[ -z "${SOFTMEM_MAKE_NS:-}" ]]; then
				SOFTMEM_MAKE_NS=1 exec unshare --mount --propagation private "$0" "$@"
			fi
			mounts=()
			cleanup() {
				local i
				for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
					umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}"
				done
			}
			trap cleanup EXIT
			# Directories to show inside: the kernel, the cache, cwd, and -C DIR / VAR=/abs/dir arguments.
			dirs=("$K" "$CACHE" "$PWD")
			prev=
			for arg in "$@"; do
				case "$arg" in
				-C/*) dirs+=("${arg#-C}") ;;
				--directory=/* | [A-Za-z_]*=/*) dirs+=("${arg#*=}") ;;
				/*) [[ "$prev" != -C && "$prev" != --directory ]] || dirs+=("$arg") ;;
				esac
				prev="$arg"
			done
			mounts+=("$ROOT/proc")
			mount -t proc proc "$ROOT/proc" # objtool reads /proc
			mounts+=("$ROOT/dev")
			mount --bind /dev "$ROOT/dev"
			done_dirs=()
			while IFS= read -r dir; do
				[[ -d "$dir" && "$dir" != / ]] || continue
				for d in "${done_dirs[@]}"; do [[ "$dir/" == "$d/"* ]] && continue 2; done
				mkdir -p "$ROOT$dir"
				mounts+=("$ROOT$dir")
				mount --bind "$dir" "$ROOT$dir"
				done_dirs+=("$dir")
			done < <(printf '%s\n' "${dirs[@]}" | sort -u)
			rc=0
			chroot "$ROOT" /usr/bin/env -u SOFTMEM_MAKE_NS -u TMPDIR \
				PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
				sh -c 'cd "$1" && shift && exec make "$@"' sh "$PWD" "$@" || rc=$?
			exit "$rc"
		EOF
	} >"$K/make"
fi
chmod +x "$K/make"
echo "$K" >"$kernels/$leg.path"
echo "$K"
