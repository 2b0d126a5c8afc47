#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# faults: the driver built with fault injection (make module-fault) takes
# the paths a real device cannot be made to take: a full ring, failed
# allocations, a request stuck across a suspend, and failures during
# session recovery (fault_test).
# vfs: timeout=600
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ ! -d /sys/kernel/debug/virtio_fs/fault ]; then
	ktap_skip faults "the driver was built without fault injection"
	suite_end
fi
run_binary fault_test 500
kernel_log_check faults_kernel_log_clean
suite_end
