# SPDX-License-Identifier: GPL-2.0
#
# virtio_fs.ko: an out-of-tree virtio-fs guest driver that survives suspend.
#
#   make              build virtio_fs.ko for KVER (default: Debian's 6.1 kernel)
#   make check        sparse (C=2), W=1 and checkpatch --strict: zero warnings
#   make test         install what is missing, build, check, run the guest suite
#   make demo         boot a guest, mount a host directory, show it working
#   make bench        compare against the in-tree virtiofs.ko (see bench/)
#   make soak         100 suspend cycles and 4 hibernations under load
#   make install      install with DKMS for KVER, keep the in-tree one out
#   make uninstall    remove it again (the in-tree driver is used again)
#   make setup        install the Debian packages the project needs
#   make fuzz         fuzz reply.c and locks.c in userspace, FUZZ_SECONDS
#                     (default 300) per fuzzer, and their unit test (fuzz/)
#   make fuzz-smoke   the same, about 20 s per fuzzer (run-all.sh runs it)
#
# KVER selects the kernel release for the build, the guest runner and the
# benchmark alike; for test, demo and setup it may also name a kernel line
# (KVER=6.12: the newest 6.12 kernel, installed first when missing).

KVER ?= $(shell scripts/kver.sh)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build/$(KVER)
KSRC := $(BUILD)/ksrc

SOURCES := $(filter-out %.mod.c,$(wildcard *.c *.h))

.PHONY: all module module-fault prepare run-demo run-tests soak check sparse checkpatch test selftests demo bench bench-insn \
	install uninstall setup clean fuzz fuzz-smoke

all: module

prepare:
	@scripts/extract-ksrc.sh $(KVER) $(KSRC)

# Each kernel release builds in its own folder of links to the sources,
# $(BUILD)/obj, so that builds for several kernels can coexist (the guest
# runner and the benchmark take the module from there). The result is also
# copied to ./virtio_fs.ko.
OBJ_DIR := $(BUILD)/obj
module: prepare
	@mkdir -p $(OBJ_DIR)
	@for f in $(SOURCES) Kbuild; do ln -sf $(CURDIR)/$$f $(OBJ_DIR)/$$f; done
	$(MAKE) -C $(KDIR) M=$(OBJ_DIR) VFS_KSRC=$(KSRC) modules
	@cp $(OBJ_DIR)/virtio_fs.ko $(CURDIR)/virtio_fs.ko

# The same sources with fault injection (fault.h), built apart for tests:
# $(BUILD)/fault/virtio_fs.ko. Never install it.
FAULT_DIR := $(BUILD)/fault
module-fault: prepare
	@mkdir -p $(FAULT_DIR)
	@for f in $(SOURCES) Kbuild; do ln -sf $(CURDIR)/$$f $(FAULT_DIR)/$$f; done
	$(MAKE) -C $(KDIR) M=$(FAULT_DIR) VFS_KSRC=$(KSRC) VTFS_FAULT_INJECTION=y modules

# `make check`: every warning fails the target.
check: prepare
	@scripts/check.sh $(KVER) $(KDIR) $(KSRC)

selftests: prepare
	$(MAKE) -C selftests KVER=$(KVER) KSRC=$(KSRC) OUT=$(BUILD)/selftests

setup:
	@scripts/setup.sh $(KVER)

# The README's test command: fresh machine to "N passed, N failed".
test:
	@scripts/setup.sh $(KVER)
	@$(MAKE) --no-print-directory KVER=$$(scripts/kver.sh $(filter-out none,$(KVER))) run-tests

run-tests: module module-fault selftests
	@selftests/run-all.sh --kver $(KVER) --build $(BUILD)

# The README's main command: fresh machine to a demo guest.
demo:
	@scripts/setup.sh $(KVER)
	@$(MAKE) --no-print-directory KVER=$$(scripts/kver.sh $(filter-out none,$(KVER))) run-demo

run-demo: module
	@selftests/vm/demo.sh --kver $(KVER) --module $(OBJ_DIR)/virtio_fs.ko

# 100 suspend cycles of every kind, four real hibernations, under load.
soak: module selftests
	@selftests/run-all.sh --kver $(KVER) --build $(BUILD) --no-check \
		--no-fuzz --manifest selftests/suites/SOAK

bench: module selftests
	@bench/run.sh --kver $(KVER) --build $(BUILD)

# Guest instructions per operation, both drivers, under a TCG plugin: the
# noise-free side of the comparison (bench/README.rst).
bench-insn: module selftests
	@bench/insn/run.sh --kver $(KVER) --build $(BUILD)

# Fuzzers of reply.c and locks.c (userspace, clang's libFuzzer): see
# fuzz/Makefile. Crashing inputs are kept in build/fuzz/crashes/.
fuzz:
	@$(MAKE) --no-print-directory -C fuzz fuzz

fuzz-smoke:
	@$(MAKE) --no-print-directory -C fuzz smoke

# Through DKMS (dkms.conf), into /lib/modules/$(KVER)/updates, with the
# modprobe.d file that keeps the in-tree driver out; uninstall undoes both.
install: prepare
	@scripts/install.sh install $(KVER)

uninstall:
	@scripts/install.sh uninstall $(KVER)

clean:
	rm -rf build virtio_fs.ko
