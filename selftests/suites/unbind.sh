#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# unbind: the driver is unbound from the device (sysfs unbind) while a
# process holds files open and another streams reads from a big file.
# Later calls must fail with ENOTCONN or EIO, nothing may hang or oops,
# umount must work, and after a bind the tag mounts again with its data
# (devremove_test does all of it).
# vfs: timeout=900
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
dev=$(vfs_bound_devices | head -n 1)
ktap_diag "device $dev bound to $VFS_DRIVER"
VFS_DEVICE=$dev
VFS_REMOVE_CMD="echo $dev >/sys/bus/virtio/drivers/$VFS_DRIVER/unbind"
VFS_READD_CMD="echo $dev >/sys/bus/virtio/drivers/$VFS_DRIVER/bind"
export VFS_DEVICE VFS_REMOVE_CMD VFS_READD_CMD
run_binary devremove_test 800
kernel_log_check unbind_kernel_log_clean
suite_end
