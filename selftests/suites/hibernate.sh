#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hibernate: real hibernations. The guest writes its image to a swap disk
# and powers off; a new QEMU and a new virtiofsd start on the same shared
# directory and tag, and the guest resumes. First the whole pm_test scene
# across one (plus what the host changes while the guest is off:
# hibernate.host-between), then a short soak: 10 cycles of every kind,
# one of them a hibernation, under a checksummed workload.
# vfs: hibernate=2 timeout=1500
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip hibernate "needs virtio_fs.ko ($VFS_MODNAME refuses suspend)"
	suite_end
fi
ln -sf pm_test /tests/pm_hibernate
run_binary pm_hibernate 400
VFS_SOAK_CYCLES=10 VFS_SOAK_MODES=mem,disk,s3,mem,hib,disk,mem,s3,disk,mem \
	run_binary soak_test 1200
dmesg | grep -E "virtio_fs: tag $VFS_TAG: resumed" | tail -n 3 | sed 's/^/# /'
kernel_log_check hibernate_kernel_log_clean
suite_end
