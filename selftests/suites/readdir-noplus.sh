#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# readdir-noplus: the directory tests again with plain READDIR: MANIFEST
# boots it with virtiofsd -o no_readdirplus (fsops covers READDIRPLUS).
# vfs: timeout=900
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary readdir_test
run_binary dir_test
kernel_log_check readdir_noplus_kernel_log_clean
suite_end
