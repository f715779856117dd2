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
#   make lint             checkpatch --strict, kernel-doc, sparse, W=1

TOP := $(CURDIR)

ifneq ($(KERNEL),)
  KROOT := $(shell $(TOP)/tools/fetch-kernel.sh $(KERNEL))
  ifeq ($(KROOT),)
    $(error cannot fetch kernel $(KERNEL))
  endif
  KDIR := $(KROOT)/build
  KMAKE := $(KROOT)/make
  KTAG := $(shell cat $(KROOT)/version)
else ifneq ($(KDIR),)
  KMAKE ?= $(MAKE)
  KTAG := kdir-$(notdir $(realpath $(KDIR)))
else ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
  KDIR := /lib/modules/$(shell uname -r)/build
  KMAKE ?= $(MAKE)
  KTAG := $(shell uname -r)
else
  KROOT := $(shell $(TOP)/tools/fetch-kernel.sh 6.12)
  KDIR := $(KROOT)/build
  KMAKE := $(KROOT)/make
  KTAG := $(shell cat $(KROOT)/version)
endif

# Each kernel gets its own copy of the sources and objects.
KBUILD_DIR := $(TOP)/build/$(KTAG)
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild uapi/linux/softmem.h

.PHONY: all module lib selftests check demo lint clean
all: module lib

module: $(KBUILD_DIR)/kmod/softmem.ko
	cp $< kmod/softmem.ko

$(KBUILD_DIR)/kmod/compat-probes.h: $(wildcard kmod/probes/*) tools/compat-probes.sh
	mkdir -p $(KBUILD_DIR)/kmod
	tools/compat-probes.sh $(KMAKE) $(KDIR) $(TOP)/kmod/probes $@

$(KBUILD_DIR)/kmod/softmem.ko: $(KMOD_SRCS) $(KBUILD_DIR)/kmod/compat-probes.h
	mkdir -p $(KBUILD_DIR)/kmod $(KBUILD_DIR)/uapi/linux
	cp -p kmod/*.c kmod/*.h kmod/Kbuild $(KBUILD_DIR)/kmod/
	cp -p uapi/linux/softmem.h $(KBUILD_DIR)/uapi/linux/
	$(KMAKE) -C $(KDIR) M=$(KBUILD_DIR)/kmod W=1 modules

lib:
	$(MAKE) -C lib

selftests: lib
	$(MAKE) -C selftests

check:
	tools/check.sh

demo:
	tools/demo.sh

lint:
	tools/lint.sh

clean:
	rm -rf build kmod/softmem.ko
	$(MAKE) -C lib clean
	-$(MAKE) -C selftests clean
