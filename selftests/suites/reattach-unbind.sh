#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# reattach-unbind: reattach_test with a sysfs unbind of the driver as the
# removal and a bind of the same device (same virtiofsd) as the new
# device. No device with another tag: other_tag_not_adopted skips.
# vfs: timeout=300
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip reattach-unbind "needs virtio_fs.ko ($VFS_MODNAME has no reattach_timeout)"
	suite_end
fi
dev=$(vfs_bound_devices | head -n 1)
ktap_diag "device $dev bound to $VFS_DRIVER"
VFS_REMOVE_CMD="echo $dev >/sys/bus/virtio/drivers/$VFS_DRIVER/unbind"
VFS_READD_CMD="echo $dev >/sys/bus/virtio/drivers/$VFS_DRIVER/bind"
VFS_REATTACH_TIMEOUT=60
VFS_REATTACH_PARAM=8
export VFS_REMOVE_CMD VFS_READD_CMD VFS_REATTACH_TIMEOUT VFS_REATTACH_PARAM
run_binary reattach_test 240
kernel_log_check reattach_unbind_kernel_log_clean
suite_end
