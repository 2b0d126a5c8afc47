#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# setup.sh [KVER]
#
# Installs, on a Debian 12 machine (as root, apt reachable), everything the
# build, `make check`, the guest test suite and the benchmark need. Safe to
# run again: it only calls apt-get when something is missing.
set -eu

kver=${1:-}
pkgs="build-essential kmod xz-utils cpio busybox-static sparse fio libaio1
      gnuplot-nox qemu-system-x86 qemu-system-common qemu-utils socat
      python3 e2fsprogs util-linux dkms clang-14 libclang-rt-14-dev llvm-14"

if [ -z "$kver" ] || [ "$kver" = none ]; then
	pkgs="$pkgs linux-image-amd64 linux-headers-amd64 linux-source-6.1"
elif [ "${kver#*-}" = "$kver" ]; then
	# A kernel line (6.1, 6.12): its newest image, headers and source.
	case "$kver" in
	6.1) pkgs="$pkgs linux-image-amd64 linux-headers-amd64 linux-source-6.1" ;;
	*) pkgs="$pkgs linux-image-$kver-amd64 linux-headers-$kver-amd64 linux-source-$kver" ;;
	esac
else
	series=$(echo "$kver" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
	pkgs="$pkgs linux-image-$kver linux-headers-$kver linux-source-$series"
fi

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -x /usr/lib/qemu/virtiofsd ] || missing="$missing qemu-system-common"

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages:$missing; run as root" >&2
		exit 1
	fi
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
