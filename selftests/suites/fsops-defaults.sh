#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fsops-defaults: virtiofsd with only cache=auto, i.e. its own defaults:
# no xattrs (the xattr tests must SKIP, not fail), no remote POSIX locks
# and no flock (the kernel falls back to guest-local locks, which must
# still behave), with the operation and data-path tests.
# vfs: timeout=600
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary ops_test
run_binary lock_test
run_binary io_test
kernel_log_check fsops_defaults_kernel_log_clean
suite_end
