#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# recovery.sh: the guest side of the recovery benchmark (bench/run.sh), for
# our driver. For each case, on a fresh mount: cache N inodes or hold H
# files open (files the host made before the boot), then suspend with
# pm_test "devices" (freeze, device reset, restore; no pause) and read the
# session file in debugfs. /bench/bin/vfsbench does the work and prints one
# KEY=VALUE line per suspend; they are collected in
# $VFS_MNT/bench-out/recovery.txt for the host. /bench/etc/bench.env sets
#
#   BENCH_INODES         cached-inode cases (directories inodes<N>)
#   BENCH_HANDLES        open-handle cases (the first H files of handles/)
#   BENCH_RECOVERY_REPS  suspends per case
# vfs: timeout=900
# shellcheck disable=SC1091 # in the guest's initramfs
. /suites/lib.sh

# shellcheck disable=SC1091 # written by bench/run.sh
. /bench/etc/bench.env
OUT=/tmp/bench-out
mkdir -p "$OUT"
: >"$OUT/recovery.txt"

session_file() {
	for _d in /sys/kernel/debug/virtio_fs/*/; do
		if [ "$(cat "$_d/tag" 2>/dev/null)" = "$VFS_TAG" ]; then
			echo "${_d}session"
			return 0
		fi
	done
	return 1
}

# measure NAME VFSBENCH-ARGS...: a fresh mount (a new FUSE session: the
# daemon forgets the previous case's inodes), then the suspends.
measure() {
	_name=$1
	shift
	if ! { vfs_umount && vfs_mount; }; then
		ktap_fail "$_name" "remount failed"
		return
	fi
	_sess=$(session_file) || {
		ktap_fail "$_name" "no debugfs session file for tag $VFS_TAG"
		return
	}
	_s=$(cut -d' ' -f1 /proc/uptime)
	/bench/bin/vfsbench recover --session "$_sess" --probe "$VFS_MNT" \
		--reps "$BENCH_RECOVERY_REPS" --tag "$_name" "$@" \
		>"$OUT/$_name.txt" 2>"$OUT/$_name.err"
	_rc=$?
	cat "$OUT/$_name.txt" >>"$OUT/recovery.txt"
	echo "# $_name: uptime $_s -> $(cut -d' ' -f1 /proc/uptime)," \
		"$(wc -l <"$OUT/$_name.txt") suspend(s), exit $_rc"
	sed 's/^/# /' "$OUT/$_name.err"
	if [ $_rc -eq 0 ] && [ -s "$OUT/$_name.txt" ] &&
		! grep -q 'held_errors=[1-9]' "$OUT/$_name.txt" &&
		! grep -q 'last_recovery_outcome=-' "$OUT/$_name.txt"; then
		ktap_ok "$_name"
	else
		ktap_fail "$_name" "vfsbench exit $_rc or a failed recovery"
	fi
}

# shellcheck disable=SC2086 # lists of numbers
set -- $BENCH_INODES
ninodes=$#
# shellcheck disable=SC2086
set -- $BENCH_HANDLES
ktap_plan $((1 + ninodes + $# + 1))

if [ "$VFS_MODKIND" = intree ]; then
	ktap_skip recovery "the in-tree driver cannot suspend"
	ktap_finish
fi

echo 0 >/sys/module/suspend/parameters/pm_test_delay
echo devices >/sys/power/pm_test
dmesg_mark

measure empty
for n in $BENCH_INODES; do
	measure "inodes=$n" --cache "$VFS_MNT/inodes$n"
done
for h in $BENCH_HANDLES; do
	measure "handles=$h" --hold "$VFS_MNT/handles" "$h"
done
echo none >/sys/power/pm_test
dmesg_new | grep -E 'virtio_fs|PM:' >"$OUT/dmesg.txt"
grep -E 'resumed in' "$OUT/dmesg.txt" | sed 's/^/# /'

rm -rf "$VFS_MNT/bench-out"
if cp -r "$OUT" "$VFS_MNT/bench-out" && sync; then
	ktap_ok results_saved
else
	ktap_fail results_saved "cannot copy $OUT to the share"
fi
ktap_finish
