#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check.sh KVER KDIR KSRC: `make check`. Rebuilds the module with W=1 and
# sparse on every file (C=2), then runs checkpatch.pl --strict --no-tree on
# every source file. Any warning from any of them fails the check.
set -u

kver=$1
kdir=$2
ksrc=$3
top=$(pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail=0

# The normal build, then fault.c too (the fault injection build).
make -C "$kdir" M="$top" VFS_KSRC="$ksrc" W=1 C=2 modules >"$log" 2>&1
rc=$?
fdir=$top/build/$kver/fault-check
mkdir -p "$fdir"
for f in "$top"/*.c "$top"/*.h "$top"/Kbuild; do
	case "$f" in *.mod.c) continue ;; esac
	ln -sf "$f" "$fdir/"
done
make -C "$kdir" M="$fdir" VFS_KSRC="$ksrc" VTFS_FAULT_INJECTION=y W=1 C=2 \
	modules >>"$log" 2>&1 || rc=1
warnings=$(grep -E 'warning:|error:|\bWARNING\b' "$log" | grep -v '^make')
if [ $rc -ne 0 ] || [ -n "$warnings" ]; then
	cat "$log"
	echo "check: build with W=1 C=2 (sparse) is not clean" >&2
	fail=1
else
	echo "check: W=1 and sparse C=2: 0 warnings"
fi

# The driver: C files at the top level (tests and tools live in folders).
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null | grep -v /)
[ -n "$files" ] || files=$(ls ./*.c ./*.h | grep -v '\.mod\.c$')
if perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files >"$log" 2>&1; then
	echo "check: checkpatch --strict: 0 warnings ($(echo $files | wc -w) files)"
else
	cat "$log"
	echo "check: checkpatch --strict is not clean" >&2
	fail=1
fi
exit $fail
