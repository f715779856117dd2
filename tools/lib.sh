# shellcheck shell=bash
# Helpers shared by the tools/ scripts. Source it; do not run it.

# Everything downloaded or built by the tools lives here (kernels, apt state, build roots).
SOFTMEM_CACHE="${SOFTMEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/softmem}"
export SOFTMEM_CACHE

# log MSG... : progress messages go to stderr; stdout is reserved for results.
log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# die MSG... : log and exit non-zero.
die() {
	log "error: $*"
	exit 1
}

# build_fail WHAT : shows the end of $build_log (set by the caller) and exits.
# shellcheck disable=SC2154 # build_log is the caller's
build_fail() {
	tail -n 30 "$build_log" >&2
	die "$1 failed (full log: $build_log)"
}

# build_step WHAT CMD... : runs CMD (in a subshell, so that a die in a function
# returns here) with its output appended to $build_log; on failure, build_fail WHAT.
build_step() {
	local what=$1
	shift
	echo "== $what: $*" >>"$build_log"
	("$@") >>"$build_log" 2>&1 || build_fail "$what"
}

# ensure_host_packages PKG... : install (system apt) the packages that are not installed yet.
# `apt-get update` runs only when the install fails because the package lists are missing/stale.
ensure_host_packages() {
	local pkg missing=() out
	for pkg in "$@"; do
		if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]})) || return 0
	log "installing host packages: ${missing[*]}"
	local apt=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 install "${missing[@]}")
	if out="$(DEBIAN_FRONTEND=noninteractive "${apt[@]}" 2>&1)"; then
		return 0
	fi
	if ! grep -qE 'Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found' <<<"$out"; then
		printf '%s\n' "$out" >&2
		die "apt-get install ${missing[*]} failed"
	fi
	log "package lists look stale; running apt-get update"
	apt-get -q -o DPkg::Lock::Timeout=600 update >&2
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" >&2
}

# private_apt NAME SUITE... -- CMD ARGS... : run apt-get/apt-cache against a private apt state in
# $SOFTMEM_CACHE/apt/NAME that sees only the given Debian suites (the system's sources are untouched).
# Suites ending in -security come from debian-security; a suite written src:SUITE gives a deb-src
# line (for apt-get source). Example: private_apt sid sid -- apt-get update
private_apt() {
	local d="$SOFTMEM_CACHE/apt/$1" suite type
	shift
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/empty"
	: >>"$d/status"
	: >"$d/sources.list.new"
	while [[ "$1" != -- ]]; do
		suite="$1" type=deb
		shift
		if [[ "$suite" == src:* ]]; then
			suite="${suite#src:}" type=deb-src
		fi
		if [[ "$suite" == *-security ]]; then
			echo "$type [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $suite main"
		else
			echo "$type [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main"
		fi >>"$d/sources.list.new"
	done
	shift
	# Replace only on change: a newer sources.list makes apt rebuild its cache on every call.
	if cmp -s "$d/sources.list.new" "$d/sources.list"; then
		rm "$d/sources.list.new"
	else
		mv "$d/sources.list.new" "$d/sources.list"
	fi
	local cmd="$1"
	shift
	# The lock serializes scripts sharing this state (apt-get update would fail on a busy lock).
	flock -w 900 "$d/.lock" "$cmd" -q \
		-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts="$d/empty" \
		-o Dir::Etc::Preferences="$d/empty/none" -o Dir::Etc::PreferencesParts="$d/empty" \
		-o Dir::State::Lists="$d/lists" -o Dir::State::Status="$d/status" \
		-o Dir::Cache="$d/cache" -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache= \
		-o APT::Architecture=amd64 -o APT::Architectures=amd64 \
		-o Acquire::Languages=none -o APT::Sandbox::User=root "$@"
}

# size_mib SIZE: a guest size as vm-run --mem takes it (512M, 1G, 768), in MiB.
size_mib() {
	case $1 in
	*[gG]) echo $((${1%[gG]} * 1024)) ;;
	*) echo "${1%[mM]}" ;;
	esac
}

# debug_guest_prepare OUT: what a guest of the debug kernel needs to run the
# selftests with softmem's coverage counted (tools/coverage.sh, tools/fuzz.sh):
# the debug kernel fetched or built, softmem.ko built for it with
# SOFTMEM_COVERAGE=1 (gcov and KCOV), OUT emptied and the kselftest
# collection installed in OUT/kselftest.  Run from the top of the tree; sets
# kdir, version, objdir (the module's build directory) and collection.
# shellcheck disable=SC2034 # kdir, version, objdir, collection: for the caller
debug_guest_prepare() {
	local out=$1
	kdir=$(tools/fetch-kernel.sh debug) || die "cannot build the debug kernel"
	version=$(cat "$kdir/version")
	objdir=$PWD/build/$version/kmod
	log "building softmem.ko for $version with SOFTMEM_COVERAGE=1 (gcov, KCOV)"
	make -s KDIR="$kdir/build" KMAKE="$kdir/make" KTAG="$version" \
		SOFTMEM_COVERAGE=1 module || die "module build failed"
	rm -rf "$out"
	mkdir -p "$out"
	collection=$out/kselftest
	{ make -s lib && make -s -C selftests install INSTALL_PATH="$collection"; } ||
		die "selftests build failed"
}

# The pressure demo's guest commands (examples/pressure-demo, run by
# tools/demo.sh and tools/bench.sh), printed as one shell list each:
# guest_softmem_all_ram MIB lets softmem hold all of a guest of MIB, as the
# other ways of keeping the cache can (it may hold half by default);
# guest_zram_swap MIB turns on zram swap of half of it, as distributions set
# it up (the guest needs the zram module).
guest_softmem_all_ram() {
	local p=/sys/module/softmem/parameters
	echo "echo $(($1 << 20)) >$p/max_bytes && echo $(($1 << 20)) >$p/pool_max_bytes"
}

guest_zram_swap() {
	echo "echo $(($1 / 2))M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0"
}

# guest_modules KDIR VERSION OUTDIR MODULE...: copies MODULE and what it
# depends on, uncompressed, from the kernel leg in KDIR into OUTDIR and prints
# their paths, dependencies first; modules built into the kernel are left out.
guest_modules() {
	local kdir=$1 version=$2 outdir=$3 mod file dep out alt builtin
	shift 3
	for mod in "$@"; do
		out=$outdir/$mod.ko
		[[ -e $out ]] && continue
		alt=${mod//_/-}
		file=$(find "$kdir/root" -path "*/modules/$version/*" \
			\( -name "$mod.ko*" -o -name "$alt.ko*" \) | head -n 1)
		if [[ -z $file ]]; then
			builtin=$(find "$kdir/root" -path "*/modules/$version/modules.builtin" | head -n 1)
			if [[ -n $builtin ]] && grep -qE "/($mod|$alt)\.ko\$" "$builtin"; then
				continue
			fi
			die "kernel $version has no module $mod (try KERNEL=6.12)"
		fi
		for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
			guest_modules "$kdir" "$version" "$outdir" "$dep"
		done
		case $file in
		*.xz) xz -dc "$file" >"$out" ;;
		*.zst) zstd -q -dc "$file" >"$out" ;;
		*) cp "$file" "$out" ;;
		esac
		echo "$out"
	done
}

# ext4_guest_modules KDIR VERSION OUTDIR: guest_modules for a virtio disk
# with ext4 on it (vm-run --disk; mount -t ext4 /dev/vda in the guest).
ext4_guest_modules() {
	local crc32c=()
	mkdir -p "$3"
	# ext4 of 6.x asks the crypto API for crc32c at every mount (7.x has it
	# built in): load the generic one when the kernel has it as a module.
	if find "$1/root" -path "*/modules/$2/*" -name 'crc32c_generic.ko*' | grep -q .; then
		crc32c=(crc32c_generic)
	fi
	guest_modules "$1" "$2" "$3" virtio_blk "${crc32c[@]}" ext4
}
