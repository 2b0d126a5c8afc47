#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# suspend: a mounted share survives suspend with everything a process
# holds (pm_test), under three ways of suspending: pm_test devices + mem,
# pm_test devices + disk (hibernation's freeze and thaw) and a real S3 woken
# by the RTC. Then the refuse policy, per module and per mount, and a device
# without a mount.
# vfs: timeout=1200
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
if [ "$VFS_MODNAME" != virtio_fs ]; then
	# The in-tree driver refuses every suspend with EOPNOTSUPP.
	ktap_skip suspend "needs virtio_fs.ko ($VFS_MODNAME refuses suspend)"
	suite_end
fi

for mode in mem disk s3; do
	ln -sf pm_test "/tests/pm_$mode"
	run_binary "pm_$mode" 300
done
dmesg | grep -E "virtio_fs: tag $VFS_TAG: resumed" | tail -n 3 | sed 's/^/# /'

# A lock another owner takes while the guest sleeps is lost: EIO.
run_binary pmlock_test 300

# 20 back-to-back cycles under concurrent I/O, every byte verified.
ln -sf pmcycle_test /tests/pmcycle_mem
run_binary pmcycle_mem 600

suspend_now() {
	echo 0 >/sys/module/suspend/parameters/pm_test_delay
	echo devices >/sys/power/pm_test
	echo mem >/sys/power/state
}
param=/sys/module/$VFS_MODNAME/parameters/pm_policy

# The module's policy: refuse. The suspend fails with EBUSY, one line
# names the tag and the policy, and the mount goes on working.
refuse_module() {
	echo refuse >"$param" || return 1
	dmesg_mark
	if out=$(suspend_now 2>&1); then
		echo "suspend succeeded with pm_policy=refuse"
		echo restore >"$param"
		return 1
	fi
	echo restore >"$param"
	echo "write: $out"
	case "$out" in *busy*|*Busy*) ;; *) echo "expected EBUSY"; return 1 ;; esac
	dmesg_grep "virtio_fs: tag $VFS_TAG: suspend refused by policy refuse" ||
		{ echo "no dmesg line naming the tag and the policy"; return 1; }
	echo works >"$VFS_MNT/refuse.txt" && [ "$(cat "$VFS_MNT/refuse.txt")" = works ]
}
ktap_check policy_refuse_module refuse_module

# The mount's policy (-o pm=refuse) overrides the module's.
refuse_mount() {
	umount "$VFS_MNT" || return 1
	mount -t virtiofs -o pm=refuse "$VFS_TAG" "$VFS_MNT" || return 1
	dmesg_mark
	if suspend_now 2>/dev/null; then
		echo "suspend succeeded with -o pm=refuse"
		return 1
	fi
	dmesg_grep "tag $VFS_TAG: suspend refused by policy refuse" || return 1
	[ "$(cat "$VFS_MNT/refuse.txt")" = works ] || return 1
	umount "$VFS_MNT" && mount -t virtiofs -o pm=restore "$VFS_TAG" "$VFS_MNT"
}
ktap_check policy_refuse_mount refuse_mount

# With pm_policy=refuse, a device without a mount still suspends.
unmounted_device() {
	echo refuse >"$param"
	umount "$VFS_MNT" || return 1
	if ! suspend_now; then
		echo "an unmounted device refused to suspend"
		echo restore >"$param"
		return 1
	fi
	echo restore >"$param"
	mount -t virtiofs "$VFS_TAG" "$VFS_MNT" &&
		[ "$(cat "$VFS_MNT/refuse.txt")" = works ]
}
ktap_check unmounted_device_suspends unmounted_device

kernel_log_check suspend_kernel_log_clean
suite_end
