#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# smoke: proves the harness end to end with a few real checks: the mount,
# the bound driver, file I/O both ways between host and guest, a host
# action round trip and a clean kernel log.
# vfs: timeout=180
. /suites/lib.sh

ktap_plan 8

# 1: the tag is mounted with the expected file system type.
line=$(grep " $VFS_MNT " /proc/mounts)
case "$line" in
"$VFS_TAG $VFS_MNT $VFS_FSTYPE "*) ktap_ok mount_listed ;;
*) ktap_fail mount_listed "/proc/mounts has '$line'" ;;
esac

# 2: the device is bound to the driver of the module we loaded.
devs=$(vfs_bound_devices)
if [ -n "$devs" ]; then
	ktap_diag "driver $VFS_DRIVER has $devs"
	ktap_ok driver_bound
else
	ktap_fail driver_bound "no device in /sys/bus/virtio/drivers/$VFS_DRIVER"
fi

# 3: create, read back, rename, list, unlink.
roundtrip() {
	d=$VFS_MNT/smoke.dir
	mkdir "$d" || return 1
	echo "hello from $(uname -r)" >"$d/a" || return 1
	[ "$(cat "$d/a")" = "hello from $(uname -r)" ] || return 1
	mv "$d/a" "$d/b" || return 1
	[ "$(ls "$d")" = b ] || return 1
	rm "$d/b" && rmdir "$d" && [ ! -e "$d" ]
}
ktap_check create_read_rename_unlink roundtrip

# 4: a file the host wrote before the boot (smoke.host-pre) reads back
# with the host's checksum.
host_file() {
	want=$(cat "$VFS_MNT/from-host.sha256") || return 1
	got=$(sha256sum "$VFS_MNT/from-host.bin" | cut -d' ' -f1)
	echo "want $want got $got"
	[ "$want" = "$got" ]
}
if [ -e "$VFS_MNT/from-host.sha256" ]; then
	ktap_check read_host_file host_file
else
	ktap_skip read_host_file "no from-host.sha256 (shared dir not prepared by smoke.host-pre)"
fi

# 5: a larger file the host checks byte for byte after poweroff
# (smoke.host-post); here it must at least read back identically.
seq 1 100000 >"$VFS_MNT/from-guest.txt"
ktap_check write_for_host sh -c "seq 1 100000 | cmp - '$VFS_MNT/from-guest.txt'"

# 6: statfs works and reports a size.
ktap_check statfs sh -c "df -k '$VFS_MNT' | tail -n 1 | awk '{ exit !(\$2 > 0) }'"

# 7: the host action channel: the host logs our text and replies.
if host_action log "smoke says hello"; then
	if [ "$HOST_REPLY" = "smoke says hello" ]; then
		ktap_ok host_action_roundtrip
	else
		ktap_fail host_action_roundtrip "reply was '$HOST_REPLY'"
	fi
else
	ktap_fail host_action_roundtrip "host_action returned $?"
fi

# 8: nothing alarming in the kernel log since boot.
problems=$(dmesg_problems)
# An out-of-tree module is unsigned: that message is expected.
virtio_errs=$(dmesg | grep -iE '(virtio|fuse|virtiofs|virtio_fs).*(error|fail)' |
	grep -vE 'module verification failed|taints kernel')
if [ -z "$problems$virtio_errs" ]; then
	ktap_ok dmesg_clean
else
	printf '%s\n' "$problems" "$virtio_errs" | sed '/^$/d; s/^/# /'
	ktap_fail dmesg_clean "kernel log has errors"
fi

ktap_finish
