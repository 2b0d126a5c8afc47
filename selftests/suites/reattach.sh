#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# reattach: a mount with reattach_timeout outlives a hot-unplug of its
# device (QMP device_del, then chardev_remove). While detached, requests
# wait and their tasks die from SIGKILL; a new device with the same tag on
# a new virtiofsd (replace_device) adopts the mount with everything the
# processes held; a device with another tag does not; without a device the
# timeout fails the mount, which then unmounts (reattach_test does it all,
# with seven hot-plug cycles).
# vfs: timeout=360
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip reattach "needs virtio_fs.ko ($VFS_MODNAME has no reattach_timeout)"
	suite_end
fi
ra=". /suites/lib.sh; . /suites/reattach.inc"
VFS_REMOVE_CMD="$ra; ra_remove"
VFS_READD_CMD="$ra; ra_replace"
VFS_OTHER_TAG=othertag
VFS_OTHER_CMD="$ra; ra_replace $VFS_OTHER_TAG"
VFS_REATTACH_TIMEOUT=60
VFS_REATTACH_SHORT=20
VFS_REATTACH_PARAM=8
export VFS_REMOVE_CMD VFS_READD_CMD VFS_OTHER_TAG VFS_OTHER_CMD \
	VFS_REATTACH_TIMEOUT VFS_REATTACH_SHORT VFS_REATTACH_PARAM
run_binary reattach_test 300
kernel_log_check reattach_kernel_log_clean
suite_end
