#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install: the module as `make install` puts it on a real guest. The host
# installed it with DKMS (install.host-pre); here it goes into this
# guest's module tree next to the in-tree virtiofs module, with the
# modprobe.d file. Loading the driver for the device by its modalias, as
# udev does at boot, must pick ours; the share mounts with the plain
# `mount -t virtiofs`; and switching back to the in-tree driver is one
# command. install.host-post uninstalls it again.
# vfs: timeout=300
. /suites/lib.sh

ktap_plan 6
kv=$(uname -r)
src=$VFS_MNT/.install
mkdir -p /tmp/inst && cp "$src"/* /tmp/inst/ 2>/dev/null
dev=$(ls /sys/bus/virtio/drivers/"$VFS_DRIVER" | grep '^virtio' | head -n 1)
alias=$(cat "/sys/bus/virtio/devices/$dev/modalias")
ktap_diag "device $dev, modalias $alias"

setup_tree() {
	[ -s /tmp/inst/virtio_fs.ko ] || { echo "no DKMS-built module from the host"; return 1; }
	umount "$VFS_MNT" && rmmod "$VFS_MODNAME" || return 1
	mkdir -p "/lib/modules/$kv/updates/dkms" "/lib/modules/$kv/kernel/fs/fuse" /etc/modprobe.d
	cp /tmp/inst/virtio_fs.ko "/lib/modules/$kv/updates/dkms/"
	[ ! -s /tmp/inst/virtiofs.ko ] || cp /tmp/inst/virtiofs.ko "/lib/modules/$kv/kernel/fs/fuse/"
	[ ! -e /lib/kmod/fuse.ko ] || cp /lib/kmod/fuse.ko "/lib/modules/$kv/kernel/fs/fuse/"
	cp /tmp/inst/virtio_fs.conf /etc/modprobe.d/
	depmod -a "$kv"
}
ktap_check module_tree_as_installed setup_tree

# What udev does at boot: load every module for the device's modalias.
by_alias() {
	modprobe "$alias" || return 1
	lsmod | grep -q '^virtio_fs ' || { lsmod; return 1; }
	! lsmod | grep -q '^virtiofs ' || { echo "the blacklisted in-tree module loaded too"; return 1; }
	[ -e "/sys/bus/virtio/drivers/virtio_fs/$dev" ]
}
ktap_check modalias_loads_ours by_alias

ktap_check mounts_after_modprobe sh -c \
	"mount -t virtiofs $VFS_TAG $VFS_MNT && test -d $VFS_MNT/.install"

# Switching back: one command, as the modprobe.d file says.
switch_back() {
	[ -e "/lib/modules/$kv/kernel/fs/fuse/virtiofs.ko" ] || { echo "in-tree driver built in"; return 0; }
	umount "$VFS_MNT" || return 1
	modprobe -r virtio_fs && modprobe virtiofs || return 1
	[ -e "/sys/bus/virtio/drivers/virtiofs/$dev" ] &&
		mount -t virtiofs "$VFS_TAG" "$VFS_MNT" && test -d "$VFS_MNT/.install"
}
ktap_check switch_back_to_intree switch_back

ktap_check share_unmounts umount "$VFS_MNT"
ktap_check dmesg_clean sh -c "! dmesg | grep -E '$VFS_KERNEL_PROBLEMS'"
ktap_finish
