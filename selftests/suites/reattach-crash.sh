#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# reattach-crash: virtiofsd dies (SIGKILL) under a mount with
# reattach_timeout. QEMU 7.2 tells the guest nothing, so a read sent after
# the crash waits on the ring. The documented way out: device_del (the
# unanswered read fails with EIO within seconds, the mount is kept), then a
# new virtiofsd and a device with the same tag: files opened before the
# crash work again, with the bytes the host has, and a call made while
# detached completes.
# vfs: timeout=300
. /suites/lib.sh
. /suites/testbin.inc

M=$VFS_MNT
suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	ktap_skip reattach_crash "needs virtio_fs.ko"
	suite_end
fi

secs() { cut -d. -f1 /proc/uptime; }

# Background jobs write their findings here (not on the mount).
R=/tmp/crash
mkdir -p $R
cd /
umount "$M" && mount -t virtiofs -o reattach_timeout=60 "$VFS_TAG" "$M"
ktap_result mount_with_reattach_timeout $?

echo before-crash >"$M/held" && echo untouched >"$M/later" && sync
# The holder opens its file before the crash and reads it after the
# replacement (it holds no other file of the mount).
(
	exec 3<>"$M/held"
	while [ ! -e $R/go ]; do sleep 1; done
	read -r line <&3
	echo "$line" >$R/holder.read
	echo after-replace >&3 && echo ok >$R/holder.write
) </dev/null >/dev/null 2>&1 &
holder=$!
sleep 1

host_action kill_virtiofsd
ktap_result virtiofsd_killed $?

# Sent after the crash: nobody will ever answer it.
( cat "$M/later" >$R/inflight.out 2>$R/inflight.err; echo $? >$R/inflight.rc ) \
	</dev/null &
sleep 3
if [ -e $R/inflight.rc ]; then
	ktap_fail read_waits_after_crash "it ended: rc=$(cat $R/inflight.rc) $(cat $R/inflight.err)"
else
	ktap_ok read_waits_after_crash
fi
st=$(cat /sys/bus/virtio/devices/*/status 2>/dev/null | head -n 1)
ktap_diag "device status after the crash: $st (QEMU signals nothing)"

t0=$(secs)
host_action device_del vfs0 &&
	host_action wait_event DEVICE_DELETED device=vfs0 timeout=60
ktap_result device_del_with_dead_daemon $?
wait_for 20 test -e $R/inflight.rc
rc=$(cat $R/inflight.rc 2>/dev/null)
ktap_diag "unanswered read ended after $(($(secs) - t0)) s: rc=$rc $(cat $R/inflight.err 2>/dev/null)"
if [ "$rc" = 1 ] && grep -q "Input/output error" $R/inflight.err; then
	ktap_ok unanswered_read_fails_eio
else
	ktap_fail unanswered_read_fails_eio "rc=$rc $(cat $R/inflight.err 2>/dev/null)"
fi
if dmesg | grep -q "virtio_fs: tag $VFS_TAG: requests the removed device did not answer"; then
	ktap_ok unanswered_logged
else
	ktap_fail unanswered_logged "no dmesg line about unanswered requests"
fi
if grep -q "^tag $VFS_TAG " /sys/kernel/debug/virtio_fs/detached; then
	ktap_ok mount_kept_detached
else
	ktap_fail mount_kept_detached "debugfs detached: $(cat /sys/kernel/debug/virtio_fs/detached)"
fi

# Made while detached: waits, then completes on the new device.
( ls "$M" >$R/ls.out 2>&1; echo $? >$R/ls.rc ) </dev/null &
sleep 2
if [ -e $R/ls.rc ]; then
	ktap_fail call_waits_while_detached "it ended: $(cat $R/ls.out)"
else
	ktap_ok call_waits_while_detached
fi

host_action chardev_remove char0 && host_action replace_device
ktap_result device_replaced $?
wait_for 60 test -e $R/ls.rc
if [ "$(cat $R/ls.rc 2>/dev/null)" = 0 ] && grep -q held $R/ls.out; then
	ktap_ok waiting_call_completes
else
	ktap_fail waiting_call_completes "rc=$(cat $R/ls.rc 2>/dev/null): $(cat $R/ls.out 2>/dev/null)"
fi
if dmesg | grep -q "virtio_fs: tag $VFS_TAG: re-attached"; then
	ktap_ok reattached_logged
else
	ktap_fail reattached_logged "no re-attached line in dmesg"
fi

touch $R/go
wait $holder
if [ "$(cat $R/holder.read 2>/dev/null)" = before-crash ] &&
	[ -e $R/holder.write ]; then
	ktap_ok file_opened_before_crash_works
else
	ktap_fail file_opened_before_crash_works \
		"read '$(cat $R/holder.read 2>/dev/null)', write $(cat $R/holder.write 2>/dev/null)"
fi
if grep -q after-replace "$M/held"; then
	ktap_ok write_after_replace_lands
else
	ktap_fail write_after_replace_lands "held: $(cat "$M/held")"
fi
if [ "$(cat "$M/later")" = untouched ]; then
	ktap_ok file_readable_after_replace
else
	ktap_fail file_readable_after_replace "later: $(cat "$M/later" 2>&1)"
fi
umount "$M"
ktap_result umount_after_replace $?
kernel_log_check reattach_crash_kernel_log_clean
suite_end
