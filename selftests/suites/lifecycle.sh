#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lifecycle: mount and unmount (mount_test: remount with data kept, busy
# and lazy unmount, a second and a read-only mount of the tag, refused
# mounts, the unknown-tag error and the sysfs view), then module unload
# and reload: rmmod is refused while mounted, works after umount with a
# clean kernel log, and insmod + mount work again, three times over.
# vfs: timeout=600
. /suites/lib.sh
. /suites/testbin.inc

suite_begin
run_binary mount_test 300

keep=$VFS_MNT/lifecycle.keep
modloaded() {
	grep -q "^$VFS_MODNAME " /proc/modules
}
modrefs() {
	awk -v m="$VFS_MODNAME" '$1 == m { print $3 }' /proc/modules
}
keep_ok() {
	seq 1 20000 | cmp -s - "$keep"
}
has_bound() {
	[ -n "$(vfs_bound_devices)" ]
}

# Data written now must survive the unload and reload below.
seq 1 20000 >"$keep"
devs=$(vfs_bound_devices)
ktap_diag "module $VFS_MODNAME, driver $VFS_DRIVER, devices: $devs"

# 1: rmmod while mounted is refused and changes nothing.
dmesg_mark
if out=$(rmmod "$VFS_MODNAME" 2>&1); then
	ktap_fail module_unload_refused_while_mounted "rmmod succeeded with $VFS_MNT mounted"
	# Put things back so the rest can run.
	vfs_load && wait_for 10 has_bound
	vfs_mounted || vfs_mount
elif ! modloaded; then
	ktap_fail module_unload_refused_while_mounted "rmmod failed ($out) but the module is gone"
elif ! vfs_mounted || ! keep_ok; then
	ktap_fail module_unload_refused_while_mounted "after the refused rmmod the mount does not work"
else
	ktap_diag "refused: $out; module use count $(modrefs)"
	ktap_ok module_unload_refused_while_mounted
fi

# 2: after umount, rmmod works and unbinds the device; nothing alarming
# in the kernel log.
unload() {
	sync
	vfs_umount || { echo "umount failed"; return 1; }
	timeout 60 rmmod "$VFS_MODNAME" || { echo "rmmod failed"; return 1; }
	modloaded && { echo "still in /proc/modules"; return 1; }
	[ ! -e "/sys/bus/virtio/drivers/$VFS_DRIVER" ] ||
		{ echo "/sys/bus/virtio/drivers/$VFS_DRIVER is still there"; return 1; }
	for d in $devs; do
		[ ! -e "/sys/bus/virtio/devices/$d/driver" ] ||
			{ echo "$d still has a driver"; return 1; }
	done
	if [ -d /sys/fs/virtiofs ] && [ -n "$(ls /sys/fs/virtiofs)" ]; then
		echo "/sys/fs/virtiofs still lists: $(ls /sys/fs/virtiofs)"
		return 1
	fi
	return 0
}
dmesg_mark
ktap_check module_unload_after_umount unload

bad=$(dmesg_new | grep -iE 'error|fail|warn|bug|oops|leak|call trace|refcount')
if [ -z "$bad" ]; then
	ktap_ok module_unload_kernel_log_clean
else
	printf '%s\n' "$bad" | head -n 20 | sed 's/^/# /'
	ktap_fail module_unload_kernel_log_clean "the kernel log has error lines"
fi

# 3: insmod again binds the device, the tag mounts, the data is there.
reload() {
	modloaded || vfs_load || { echo "insmod $VFS_MODULE failed"; return 1; }
	wait_for 10 has_bound ||
		{ echo "no device bound to $VFS_DRIVER"; return 1; }
	ok=0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		vfs_mount 2>/dev/null && { ok=1; break; }
		sleep 0.5
	done
	[ $ok = 1 ] || { echo "mount failed after reload"; return 1; }
	keep_ok || { echo "$keep differs after reload"; return 1; }
	return 0
}
ktap_check module_reload_and_mount reload

# 4: three more unload/reload cycles with I/O in between.
cycles() {
	for i in 1 2 3; do
		unload || { echo "cycle $i: unload"; return 1; }
		reload || { echo "cycle $i: reload"; return 1; }
		seq "$i" 5000 >"$VFS_MNT/cycle.$i" || return 1
		seq "$i" 5000 | cmp - "$VFS_MNT/cycle.$i" || return 1
	done
	for i in 1 2 3; do
		seq "$i" 5000 | cmp - "$VFS_MNT/cycle.$i" || return 1
		rm "$VFS_MNT/cycle.$i"
	done
	if [ -d /sys/fs/virtiofs ]; then
		n=$(find /sys/fs/virtiofs -mindepth 1 -maxdepth 1 | wc -l)
		[ "$n" = 1 ] || { echo "/sys/fs/virtiofs has $n entries"; return 1; }
	fi
	return 0
}
ktap_check module_reload_cycles cycles
rm -f "$keep"

kernel_log_check lifecycle_kernel_log_clean
suite_end
