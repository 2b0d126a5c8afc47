#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fsops: every FUSE file-system operation through the test binaries (ops,
# directories, data paths, locks, concurrency, 10,000-entry readdir with
# READDIRPLUS), with virtiofsd's default options for this harness
# (cache=auto, xattr, posix_lock, flock).
# vfs: timeout=1200
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary ops_test
run_binary dir_test
run_binary io_test
run_binary lock_test
run_binary stress_test
run_binary readdir_test
kernel_log_check fsops_kernel_log_clean
suite_end
