#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# soak (make soak): 100 cycles mixing pm_test mem, pm_test disk, real S3
# and four real hibernations (a new QEMU and virtiofsd each time) while 4
# writers and 4 verifiers run a checksummed workload (soak_test). Pass:
# nothing lost or corrupted, no unexpected error, a clean kernel log, and
# the driver's node cache back where it started.
# vfs: hibernate=4 timeout=5400
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip soak "needs virtio_fs.ko ($VFS_MODNAME refuses suspend)"
	suite_end
fi
modes=mem,disk,s3,mem,disk,mem,s3,disk,mem,mem,disk,s3,hib
modes=$modes,mem,disk,s3,mem,disk,mem,s3,disk,mem,disk,s3,mem
VFS_SOAK_CYCLES=${VFS_SOAK_CYCLES:-100} VFS_SOAK_MODES=$modes \
	run_binary soak_test 5000
grep -E '^(vtfs_node|kmalloc-(32|64|96|128|192) )' /proc/slabinfo | sed 's/^/# /'
dmesg | grep -c "virtio_fs: tag $VFS_TAG: resumed" | sed 's/^/# recoveries: /'
kernel_log_check soak_kernel_log_clean
suite_end
