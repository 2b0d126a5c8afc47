#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fullring: 64 concurrent readers and writers and a forget storm on a small
# ring (MANIFEST boots it with queue-size 16 and 2): nothing lost, stalled
# or reordered, and the counters show the ring was full (queue_test).
# vfs: timeout=1200
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip fullring "needs virtio_fs.ko's counters"
	suite_end
fi
run_binary queue_test 1100
grep . /sys/kernel/debug/virtio_fs/*/queues | sed 's/^/# /'
kernel_log_check fullring_kernel_log_clean
suite_end
