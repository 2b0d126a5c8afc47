#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kver.sh [LINE]: print the kernel release to build for: the newest
# installed Debian kernel of LINE (default 6.1) that has its headers.
# A full release (6.1.0-56-amd64) is printed back as it is.
set -eu
line=${1:-6.1}
case "$line" in
*-*)
	echo "$line"
	exit 0
	;;
esac
for d in $(ls -d /lib/modules/"$line".*-amd64 2>/dev/null | sort -V -r); do
	if [ -e "$d/build/Makefile" ]; then
		basename "$d"
		exit 0
	fi
done
echo "kver.sh: no Debian $line kernel with headers installed; run 'make setup KVER=$line'" >&2
echo none
