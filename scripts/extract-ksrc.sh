#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# extract-ksrc.sh KVER OUTDIR
#
# Out-of-tree code needs a few files that Debian's headers package does not
# ship: fs/fuse/fuse_i.h (the fuse core's internal API), the kselftest
# headers and scripts/checkpatch.pl. They come from the linux-source package
# of exactly the kernel we build for. This script checks that the image,
# headers and source packages carry one version, then extracts those files
# into OUTDIR (an ignored build folder). Nothing extracted is committed.
set -eu

kver=$1
out=$2

die() {
	echo "extract-ksrc: $*" >&2
	exit 1
}

pkgver() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

# 6.1.0-56-amd64 -> 6.1, 6.12.57+deb13-amd64 -> 6.12
series=$(echo "$kver" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
tarball=/usr/src/linux-source-$series.tar.xz

img=$(pkgver "linux-image-$kver")
[ -n "$img" ] || img=$(pkgver "linux-image-$kver-unsigned")
hdr=$(pkgver "linux-headers-$kver")
src=$(pkgver "linux-source-$series")

[ -n "$hdr" ] || die "linux-headers-$kver is not installed (run 'make setup KVER=$kver')"
[ -n "$src" ] && [ -f "$tarball" ] ||
	die "linux-source-$series is not installed, $tarball missing (run 'make setup KVER=$kver')"
if [ -n "$img" ] && [ "$img" != "$hdr" ]; then
	die "version mismatch: linux-image-$kver is $img but linux-headers-$kver is $hdr"
fi
if [ "$hdr" != "$src" ]; then
	die "version mismatch: linux-headers-$kver is $hdr but linux-source-$series is $src; install matching packages (apt-get install linux-source-$series=$hdr)"
fi

stamp=$out/.extracted-$src
[ -f "$stamp" ] && exit 0

rm -rf "$out"
mkdir -p "$out"
top=linux-source-$series
tar -xJf "$tarball" -C "$out" --strip-components=1 \
	"$top/fs/fuse/fuse_i.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch" ||
	die "could not extract from $tarball"
touch "$stamp"
echo "extract-ksrc: extracted fuse_i.h, kselftest headers and checkpatch.pl from linux-source $src"
