#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu-plugin-header.sh DIR: put the installed QEMU's qemu-plugin.h in DIR.
# Debian ships no header for TCG plugins, so it is extracted from the
# source of the installed qemu-system-x86 (deb.debian.org), checked against
# the SHA-256 its .dsc gives. Into the build folder only: never committed.
set -euo pipefail

dir=$1
[ -r "$dir/qemu-plugin.h" ] && exit 0
mkdir -p "$dir"
full=$(dpkg-query -W -f '${source:Version}' qemu-system-x86)
upstream=$(dpkg-query -W -f '${source:Upstream-Version}' qemu-system-x86)
pool=${QEMU_SOURCE_POOL:-http://deb.debian.org/debian/pool/main/q/qemu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
orig=qemu_$upstream.orig.tar.xz
echo "insn: fetching $orig (QEMU's source, for qemu-plugin.h)"
curl -sfL -o "$tmp/qemu.dsc" "$pool/qemu_${full#*:}.dsc"
curl -sfL -o "$tmp/$orig" "$pool/$orig"
want=$(awk -v f="$orig" '/^Checksums-Sha256:/ {s = 1; next}
	/^[^ ]/ {s = 0} s && $3 == f {print $1}' "$tmp/qemu.dsc")
got=$(sha256sum "$tmp/$orig" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	echo "insn: $orig: sha256 $got, the .dsc says '$want'" >&2
	exit 1
fi
tar -xJf "$tmp/$orig" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
cp "$tmp"/*/include/qemu/qemu-plugin.h "$dir/"
