# SPDX-License-Identifier: GPL-2.0
#
# softmem: discardable memory for Linux.
#
#   make                  module and library, for the running kernel's headers
#                         (or Debian's 6.12 when this host has none)
#   make KERNEL=6.1       ... against a Debian kernel leg: 6.1, 6.12 or 7.2,
#                         fetched and cached in ~/.cache/softmem
#   make KDIR=/path       ... against any kernel build tree
#   make install          module into /lib/modules/<its kernel>/updates (and
#                         depmod), library, headers, pkg-config, manual pages,
#                         softmemstat, the udev rule and a modules-load.d
#                         example (PREFIX=/usr/local, DESTDIR=; depmod runs
#                         unless DESTDIR is set or DEPMOD=0)
#   make uninstall        removes what make install installed (same settings)
#   make demo             one cache kept five ways (softmem, anonymous memory
#                         without and with zram swap, MADV_FREE, MAP_DROPPABLE)
#                         while another process takes most of a VM's memory:
#                         a side-by-side table and a plot (KERNEL=6.12)
#   make demo-balloon     the same cache while the host's balloon takes back
#                         60 % of the VM's memory over QMP
#   make check            every test on every kernel leg
#   make coverage         the selftests on the debug kernel, with the line and
#                         branch coverage of kmod/ (HTML in build/coverage/)
#   make fuzz             the reproducers of selftests/repro/, then
#                         coverage-guided fuzzing on the debug kernel for
#                         FUZZ_TIME seconds (600) from FUZZ_SEED (random);
#                         new reproducers in build/fuzz/
#   make bench            the speed ratios, in a VM per kernel (KERNEL="6.12"
#                         by default; KERNEL="6.1 7.2" for others)
#   make lint             checkpatch --strict, kernel-doc, sparse, W=1
#   make package-check    make install, DKMS on each leg, the Debian packages
#                         built, linted, installed and used in a Debian guest
#   make sqlite-pcache    SQLite's page cache on softmem (examples/sqlite-pcache)
#   make sqlite-demo      boot a VM and run SQLite under memory pressure with
#                         that cache and with SQLite's own (KERNEL=6.12)

.PHONY: all module lib selftests check coverage fuzz bench demo demo-balloon lint clean sqlite-pcache \
	sqlite-demo \
	install uninstall install-module uninstall-module package-check
all: module lib

PREFIX		?= /usr/local
DESTDIR		?=
# depmod after installing the module, unless staging into DESTDIR.
DEPMOD		?= $(if $(DESTDIR),0,1)
# Where modules and udev rules live whatever PREFIX is (/lib: merged-/usr
# systems resolve it to /usr/lib).
MODULEDIR	?= /lib/modules
UDEVRULESDIR	?= /lib/udev/rules.d
DOCDIR		?= $(PREFIX)/share/doc/softmem
# The release kmod/softmem.ko was built for, from its vermagic.
KRELEASE	= $(shell modinfo -F vermagic kmod/softmem.ko 2>/dev/null | cut -d' ' -f1)

module:
	KERNEL="$(KERNEL)" KDIR="$(KDIR)" KMAKE="$(KMAKE)" KTAG="$(KTAG)" \
		SOFTMEM_COVERAGE="$(SOFTMEM_COVERAGE)" tools/build-module.sh

lib:
	$(MAKE) -C lib

selftests: lib
	$(MAKE) -C selftests

check:
	tools/check.sh

coverage:
	tools/coverage.sh

fuzz:
	FUZZ_TIME="$(FUZZ_TIME)" FUZZ_SEED="$(FUZZ_SEED)" tools/fuzz.sh

bench:
	KERNEL="$(KERNEL)" tools/bench.sh

demo:
	KERNEL="$(KERNEL)" tools/demo.sh pressure

demo-balloon:
	KERNEL="$(KERNEL)" tools/demo.sh balloon

sqlite-pcache: lib
	$(MAKE) -C examples/sqlite-pcache

sqlite-demo:
	KERNEL="$(KERNEL)" tools/sqlite-demo.sh

lint:
	tools/lint.sh

package-check:
	KERNELS="$(KERNELS)" tools/package-check.sh

install: all install-module
	$(MAKE) -C lib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	install -D -m 0644 packaging/udev/60-softmem.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-softmem.rules
	install -D -m 0644 packaging/modules-load.d/softmem.conf \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d/softmem.conf

# Not "module": installing must not rebuild for another kernel.
install-module:
	@test -n "$(KRELEASE)" || { echo "no kmod/softmem.ko: run make module" >&2; exit 1; }
	install -D -m 0644 kmod/softmem.ko \
		$(DESTDIR)$(MODULEDIR)/$(KRELEASE)/updates/softmem.ko
	if [ "$(DEPMOD)" = 1 ]; then depmod -a $(KRELEASE); fi

uninstall: uninstall-module
	$(MAKE) -C lib uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-softmem.rules \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d/softmem.conf
	rmdir -p $(DESTDIR)$(DOCDIR)/examples/modules-load.d 2>/dev/null || true

uninstall-module:
	@test -n "$(KRELEASE)" || { echo "no kmod/softmem.ko: cannot tell its kernel" >&2; exit 1; }
	rm -f $(DESTDIR)$(MODULEDIR)/$(KRELEASE)/updates/softmem.ko
	if [ "$(DEPMOD)" = 1 ]; then depmod -a $(KRELEASE); fi

clean:
	rm -rf build kmod/softmem.ko
	$(MAKE) -C lib clean
	-$(MAKE) -C selftests clean
	$(MAKE) -C bench clean
	$(MAKE) -C examples clean
	$(MAKE) -C examples/sqlite-pcache clean
