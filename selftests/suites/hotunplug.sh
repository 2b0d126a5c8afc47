#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hotunplug: like unbind, but the host removes the device (QMP device_del
# of vfs0, an ACPI hot-unplug the guest acts on) while files are open and
# a reader is busy. Afterwards the host hot-plugs a new device with the
# same tag on a fresh virtiofsd (replace_device), which must mount with
# the data written before.
# vfs: timeout=900
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
dev=$(vfs_bound_devices | head -n 1)
ktap_diag "device $dev bound to $VFS_DRIVER"
VFS_DEVICE=$dev
VFS_REMOVE_CMD=". /suites/lib.sh; host_action device_del vfs0 &&
	host_action wait_event DEVICE_DELETED device=vfs0 timeout=60"
VFS_READD_CMD=". /suites/lib.sh; host_action replace_device"
export VFS_DEVICE VFS_REMOVE_CMD VFS_READD_CMD
run_binary devremove_test 800
kernel_log_check hotunplug_kernel_log_clean
suite_end
