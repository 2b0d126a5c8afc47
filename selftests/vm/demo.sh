#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: show the driver working, for someone who has never seen it.
#
#   demo.sh [--kver KVER] [--module FILE|ours|intree] [--keep]
#
# Creates a directory on the host with a couple of files, boots a guest
# (Debian's kernel under QEMU, no KVM needed) whose virtio-fs device
# exports that directory, mounts it in the guest with the module, runs a few
# commands there, writes a file, powers off and shows that file from the
# host. Needs no input and ends by itself (about half a minute).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

kver='' module=ours keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '3,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] || kver=$("$top/scripts/kver.sh")

dir=$(mktemp -d /tmp/vfs-demo.XXXXXX)
work=$(mktemp -d /tmp/vfs-demo-run.XXXXXX)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	rm -rf "$work"
	if [ "$keep" = 1 ]; then
		echo "(kept $dir)"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT

step() {
	echo
	echo "==> $*"
}

step "1. On the host: a directory to share, $dir"
echo "Hello from the host ($(hostname), $(date -u '+%Y-%m-%d %H:%M UTC'))." >"$dir/hello.txt"
mkdir "$dir/notes"
printf 'virtio-fs carries FUSE requests over virtqueues.\n' >"$dir/notes/what.txt"
printf 'The host side here is QEMU'\''s virtiofsd.\n' >"$dir/notes/who.txt"
# shellcheck disable=SC2012 # shown to the user
(cd "$dir" && ls -lR . | sed 's/^/    /')

# The guest side: a suite script (KTAP lines tell the runner it worked).
cat >"$work/demo.sh" <<'EOF'
#!/bin/sh
# vfs: timeout=150
. /suites/lib.sh
show() {
	echo
	echo "    guest# $*"
	sh -c "$*" 2>&1 | sed 's/^/    /'
}
echo
echo "==> 3. In the guest (kernel $(uname -r)), the module is loaded and the"
echo "    host directory is mounted at $VFS_MNT with tag '$VFS_TAG'"
show "lsmod | grep -E '^(Module|$VFS_MODNAME|fuse) '"
show "grep $VFS_MNT /proc/mounts"
show "ls -l $VFS_MNT $VFS_MNT/notes"
show "cat $VFS_MNT/hello.txt"
show "echo 'Hello from the guest, kernel '\$(uname -r) > $VFS_MNT/from-guest.txt"
show "cat $VFS_MNT/from-guest.txt"
show "df -h $VFS_MNT"
suspended=skip
if [ "$VFS_MODNAME" = virtio_fs ]; then
	echo
	echo "==> 4. Suspend to RAM (real S3, woken by the RTC after 3 s) while a"
	echo "    shell holds a file open and sits in a directory of the share"
	cd "$VFS_MNT/notes"
	exec 7>>"$VFS_MNT/from-guest.txt"
	show "echo 0 > /sys/class/rtc/rtc0/wakealarm; echo +3 > /sys/class/rtc/rtc0/wakealarm; echo deep > /sys/power/mem_sleep; echo mem > /sys/power/state && echo resumed"
	show "dmesg | grep 'virtio_fs: tag $VFS_TAG: resumed'"
	echo 'and again after resume, through the same open file' >&7
	exec 7>&-
	show "pwd; cat what.txt"
	show "cat $VFS_MNT/from-guest.txt"
	grep -q 'after resume' "$VFS_MNT/from-guest.txt" && suspended=yes
	cd /
fi
echo
echo "    Checks:"
ktap_plan 4
ktap_check host_file_readable grep -q 'Hello from the host' "$VFS_MNT/hello.txt"
ktap_check subdir_listed sh -c "ls $VFS_MNT/notes | grep -q what.txt"
ktap_check guest_file_written grep -q 'Hello from the guest' "$VFS_MNT/from-guest.txt"
if [ "$suspended" = skip ]; then
	ktap_skip survived_suspend "$VFS_MODNAME refuses suspend"
else
	ktap_check survived_suspend [ "$suspended" = yes ]
fi
ktap_finish
EOF

step "2. Booting a guest: QEMU (TCG), virtiofsd exporting $dir, module '$module'"
echo "    (kernel messages are in the logs; only the guest's output is shown)"
set +e
"$here/run.sh" --kver "$kver" --module "$module" --script "$work/demo.sh" \
	--shared "$dir" --quiet --log-dir "$top/build/$kver/vm/logs/demo" 2>&1 |
	grep -vE '^# (host|run): |^# vfs-init: |^KTAP version|^1\.\.[0-9]|^VFS-END:|^# Totals'
rc=${PIPESTATUS[0]}
set -e

step "5. The guest has powered off. On the host, the file it wrote:"
# shellcheck disable=SC2012 # shown to the user
(cd "$dir" && ls -l . | sed 's/^/    /')
if [ -e "$dir/from-guest.txt" ]; then
	echo "    host\$ cat $dir/from-guest.txt"
	sed 's/^/    /' "$dir/from-guest.txt"
fi

echo
if [ "$rc" = 0 ]; then
	echo "==> Demo finished: the module mounted the host directory, read it, wrote to it"
	echo "    and kept it working across a suspend."
else
	echo "==> Demo FAILED (exit $rc); logs: $top/build/$kver/vm/logs/demo"
fi
exit "$rc"
