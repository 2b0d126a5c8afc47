#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install.sh install|uninstall KVER: make install and make uninstall.
#
# install: copies the sources to /usr/src/virtio_fs-<version>, has DKMS
# build and install virtio_fs.ko for KVER into /lib/modules/KVER/updates
# (DKMS rebuilds it for kernels installed later), and installs
# /etc/modprobe.d/virtio_fs.conf, which keeps the in-tree virtiofs module
# from binding the devices first.
# uninstall: removes all of that again.
set -eu

action=$1
kver=$2
top=$(cd "$(dirname "$0")/.." && pwd)
name=virtio_fs
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
src=/usr/src/$name-$version
conf=/etc/modprobe.d/$name.conf

die() {
	echo "install: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root"
command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms, or make setup)"

case "$action" in
install)
	rm -rf "$src"
	mkdir -p "$src/scripts" "$src/conf"
	(cd "$top" &&
		for f in *.c *.h; do
			case "$f" in *.mod.c) ;; *) cp "$f" "$src/" ;; esac
		done &&
		cp Kbuild Makefile dkms.conf "$src/" &&
		cp scripts/*.sh "$src/scripts/" && cp conf/* "$src/conf/") ||
		die "could not copy the sources to $src"
	dkms remove -m "$name" -v "$version" --all >/dev/null 2>&1 || true
	dkms add -m "$name" -v "$version"
	dkms build -m "$name" -v "$version" -k "$kver" ||
		die "the DKMS build failed (log: /var/lib/dkms/$name/$version/build/make.log)"
	dkms install -m "$name" -v "$version" -k "$kver" --force
	install -m 644 "$top/conf/modprobe-$name.conf" "$conf"
	depmod "$kver"
	echo "install: $name $version installed for $kver: $(modinfo -k "$kver" -n "$name")"
	if [ "$(modinfo -k "$kver" -n virtiofs 2>/dev/null)" = "(builtin)" ]; then
		echo "install: $kver has the in-tree driver built in; add"
		echo "    initcall_blacklist=virtio_fs_init"
		echo "  to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub,"
		echo "  then update-grub) so that it does not take the devices first."
	fi
	;;
uninstall)
	dkms remove -m "$name" -v "$version" --all 2>/dev/null || true
	rm -rf "$src"
	rm -f "$conf"
	depmod "$kver" 2>/dev/null || true
	echo "install: $name removed; the in-tree virtiofs driver is used again"
	;;
*)
	die "usage: install.sh install|uninstall KVER"
	;;
esac
