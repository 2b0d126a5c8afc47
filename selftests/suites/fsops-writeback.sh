#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fsops-writeback: virtiofsd -o writeback with cache=always (MANIFEST
# passes the options): the guest caches writes and sends them later as
# background WRITE requests, so the data-path, concurrency and operation
# tests run through asynchronous requests.
# vfs: timeout=900
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary io_test
run_binary stress_test
run_binary ops_test
kernel_log_check fsops_writeback_kernel_log_clean
suite_end
