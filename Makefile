# SPDX-License-Identifier: GPL-2.0
#
# softmem: discardable memory for Linux.
#
#   make                  module and library, for the running kernel's headers
#                         (or Debian's 6.12 when this host has none)
#   make KERNEL=6.1       ... against a Debian kernel leg: 6.1, 6.12 or 7.2,
#                         fetched and cached in ~/.cache/softmem
#   make KDIR=/path       ... against any kernel build tree
#   make demo             boot a VM and watch discardable memory at work
#   make check            every test on every kernel leg
#   make bench            the speed ratios, in a VM per kernel (KERNEL="6.12"
#                         by default; KERNEL="6.1 7.2" for others)
#   make lint             checkpatch --strict, kernel-doc, sparse, W=1
#   make sqlite-pcache    SQLite's page cache on softmem (examples/sqlite-pcache)
#   make sqlite-demo      boot a VM and run SQLite under memory pressure with
#                         that cache and with SQLite's own (KERNEL=6.12)

.PHONY: all module lib selftests check bench demo lint clean sqlite-pcache sqlite-demo
all: module lib

module:
	KERNEL="$(KERNEL)" KDIR="$(KDIR)" KMAKE="$(KMAKE)" KTAG="$(KTAG)" \
		tools/build-module.sh

lib:
	$(MAKE) -C lib

selftests: lib
	$(MAKE) -C selftests

check:
	tools/check.sh

bench:
	KERNEL="$(KERNEL)" tools/bench.sh

demo:
	tools/demo.sh

sqlite-pcache: lib
	$(MAKE) -C examples/sqlite-pcache

sqlite-demo:
	KERNEL="$(KERNEL)" tools/sqlite-demo.sh

lint:
	tools/lint.sh

clean:
	rm -rf build kmod/softmem.ko
	$(MAKE) -C lib clean
	-$(MAKE) -C selftests clean
	$(MAKE) -C bench clean
	$(MAKE) -C examples/sqlite-pcache clean
