#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the kernel release this project builds for by default: the newest
# installed Debian 6.1 kernel that has a matching headers package.
set -eu
for d in $(ls -d /lib/modules/6.1.*-amd64 2>/dev/null | sort -V -r); do
	if [ -e "$d/build/Makefile" ]; then
		basename "$d"
		exit 0
	fi
done
echo "kver.sh: no Debian 6.1 kernel with headers installed; run 'make setup' or pass KVER=" >&2
echo none
