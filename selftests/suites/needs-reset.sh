#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# needs-reset: a device that reports VIRTIO_CONFIG_S_NEEDS_RESET (QEMU's
# never does: the fault-injection build's needs_reset knob stands in).
# With reattach_timeout the driver resets the device and recovers the
# mount's session on it: a file opened before goes on working. Without
# it the mount fails with EIO (and a log line), unmounts, and the reset
# device mounts again.
# vfs: timeout=240
. /suites/lib.sh
. /suites/testbin.inc

M=$VFS_MNT
K=/sys/kernel/debug/virtio_fs/fault/needs_reset
suite_begin
if [ ! -e $K ]; then
	ktap_skip needs_reset "the driver was built without fault injection"
	suite_end
fi

R=/tmp/reset
mkdir -p $R
cd /
umount "$M" && mount -t virtiofs -o reattach_timeout=30 "$VFS_TAG" "$M"
ktap_result mount_with_reattach_timeout $?
echo before-reset >"$M/held" && echo other >"$M/other" && sync

(
	exec 3<>"$M/held"
	while [ ! -e $R/go ]; do sleep 0.2; done
	read -r line <&3
	echo "$line" >$R/read
	echo after-reset >&3 && echo ok >$R/write
) </dev/null >/dev/null 2>&1 &
holder=$!
sleep 1

dmesg_mark
echo 1 >$K
if wait_for 30 dmesg_grep "virtio_fs: tag $VFS_TAG: resumed in"; then
	ktap_ok session_recovered_after_reset
else
	ktap_fail session_recovered_after_reset "$(dmesg_grep virtio_fs)"
fi
if dmesg_grep "virtio_fs: tag $VFS_TAG: the device needs a reset" >/dev/null; then
	ktap_ok reset_logged
else
	ktap_fail reset_logged "no log line naming the tag"
fi
touch $R/go
wait $holder
if [ "$(cat $R/read 2>/dev/null)" = before-reset ] && [ -e $R/write ]; then
	ktap_ok file_open_across_reset_works
else
	ktap_fail file_open_across_reset_works "read '$(cat $R/read 2>/dev/null)'"
fi
if grep -q after-reset "$M/held" && [ "$(cat "$M/other")" = other ]; then
	ktap_ok data_after_reset
else
	ktap_fail data_after_reset "held: $(cat "$M/held" 2>&1)"
fi

# Without a reattach_timeout the mount fails, loudly, and unmounts.
umount "$M" && mount -t virtiofs "$VFS_TAG" "$M"
ktap_result mount_without_reattach_timeout $?
dmesg_mark
echo 1 >$K
wait_for 30 dmesg_grep "virtio_fs: tag $VFS_TAG: the device needs a reset; without a reattach_timeout"
ktap_result reset_without_timeout_logged $?
sleep 1
out=$(cat "$M/other" 2>&1)
case "$out" in
*"Input/output error"* | *"not connected"*) ktap_ok mount_fails_after_reset ;;
*) ktap_fail mount_fails_after_reset "read gave: $out" ;;
esac
umount "$M"
ktap_result umount_failed_mount $?
mount -t virtiofs "$VFS_TAG" "$M" && [ "$(cat "$M/other")" = other ]
ktap_result reset_device_mounts_again $?
kernel_log_check needs_reset_kernel_log_clean
suite_end
