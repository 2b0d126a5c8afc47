#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fsops-nocache: operations, data paths and locks with virtiofsd
# cache=none (files opened direct_io, no attribute or entry caching) and a
# 16-entry virtqueue, so large requests are split and the rings fill up
# (dir_test: thousands of FORGETs on the small high-priority queue).
# MANIFEST passes the options.
# vfs: timeout=900
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
ktap_diag "virtqueue size $VFS_QUEUE_SIZE"
run_binary ops_test
run_binary io_test
run_binary dir_test
run_binary lock_test
run_binary stress_test
kernel_log_check fsops_nocache_kernel_log_clean
suite_end
