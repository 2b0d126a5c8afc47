# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# lib.sh: helpers for guest suites (busybox sh). Source it first:
#
#	. /suites/lib.sh
#
# KTAP output
#	ktap_plan N                  "KTAP version 1" and "1..N"
#	ktap_ok NAME                 "ok N NAME"
#	ktap_fail NAME [REASON...]   "# NAME: REASON" then "not ok N NAME"
#	ktap_skip NAME [REASON...]   "ok N NAME # SKIP REASON"
#	ktap_diag TEXT...            "# TEXT"
#	ktap_check NAME CMD...       run CMD: exit 0 ok, 4 skip (KSFT_SKIP),
#	                             else not ok with the exit status; CMD's
#	                             output is shown as diagnostics
#	ktap_subtest NAME CMD...     run CMD (e.g. a /tests binary), indent its
#	                             output as a KTAP subtest, then one result line
#	                             for it as ktap_check does
#	ktap_finish                  print the totals and exit: 1 if anything
#	                             failed, else 0
# Result numbering and totals live in shell variables: call the ktap_*
# result helpers from the suite's own shell, not from a subshell or a pipe.
#
# Host actions (see README.rst, "Host actions")
#	host_action VERB ARGS...         ask the host, wait for it to be done;
#	                                 returns the host's status, the reply
#	                                 text is in $HOST_REPLY
#	host_action_nowait VERB ARGS...  ask, do not wait; seq in $HOST_SEQ
#	host_action_wait SEQ [TIMEOUT]   wait for the reply to action SEQ
#
# Hibernation (run.sh --hibernate N or '# vfs: hibernate[=N]'; README.rst,
# "Hibernation")
#	vfs_hibernate                hibernate for real: the image goes to the
#	                             swap disk, the guest powers off, the host
#	                             starts a new virtiofsd and a new QEMU and
#	                             the guest resumes; returns 0 once resumed
#	                             there (the host's timings in $HOST_REPLY),
#	                             non-zero if the host refused, the write to
#	                             /sys/power/state failed (message in
#	                             $VFS_HIBERNATE_ERR) or nothing restarted
#	vfs_hibernations             how many round trips this boot made
#
# Kernel log
#	dmesg_mark                   put a marker in the kernel log
#	dmesg_new                    the kernel log since the last mark
#	dmesg_grep ERE               grep -E ERE in dmesg_new, print matches
#	dmesg_problems               print oops/BUG/WARN/hung-task lines since
#	                             the last mark (status 0 if any found)
#
# Misc
#	wait_for SEC CMD...          poll CMD every 0.1 s until it succeeds;
#	                             status 1 after SEC seconds
#	vfs_mounted [DIR]            is DIR (default $VFS_MNT) mounted?
#	vfs_mount [DIR] [OPTS]       mount $VFS_TAG at DIR (default $VFS_MNT)
#	vfs_umount [DIR]             unmount it
#	vfs_load [PARAMS...]         insmod $VFS_MODULE (default $VFS_MODPARAMS)
#	vfs_unload                   rmmod $VFS_MODNAME
#	vfs_bound_devices            virtio devices bound to $VFS_DRIVER

KTAP_N=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0
: "${VFS_MNT:=/mnt/vfs}"
: "${VFS_TAG:=vfstest}"
: "${VFS_FSTYPE:=virtiofs}"
: "${VFS_HOST_PORT:=/dev/console}"
: "${VFS_HOST_ACTION_TIMEOUT:=120}"
KSFT_SKIP=4

ktap_plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_diag() {
	echo "# $*"
}

ktap_ok() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_PASS=$((KTAP_PASS + 1))
	echo "ok $KTAP_N $1"
}

ktap_fail() {
	_name=$1
	shift
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAIL=$((KTAP_FAIL + 1))
	[ $# -eq 0 ] || echo "# $_name: $*"
	echo "not ok $KTAP_N $_name"
}

ktap_skip() {
	_name=$1
	shift
	KTAP_N=$((KTAP_N + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_N $_name # SKIP${*:+ $*}"
}

# ktap_result NAME STATUS: ok / skip (4) / not ok.
ktap_result() {
	case "$2" in
	0) ktap_ok "$1" ;;
	"$KSFT_SKIP") ktap_skip "$1" ;;
	*) ktap_fail "$1" "exit status $2" ;;
	esac
}

ktap_check() {
	_name=$1
	shift
	_out=$("$@" 2>&1)
	_rc=$?
	if [ $_rc -ne 0 ] && [ -n "$_out" ]; then
		printf '%s\n' "$_out" | sed 's/^/# /'
	fi
	ktap_result "$_name" $_rc
	return $_rc
}

ktap_subtest() {
	_name=$1
	shift
	_rcf=/tmp/.ktap-subtest.$$
	{
		"$@" 2>&1
		echo $? >"$_rcf"
	} | sed 's/^/    /'
	_rc=$(cat "$_rcf" 2>/dev/null || echo 1)
	rm -f "$_rcf"
	ktap_result "$_name" "$_rc"
	return "$_rc"
}

ktap_finish() {
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL skip:$KTAP_SKIP"
	[ "$KTAP_FAIL" -eq 0 ] && exit 0
	exit 1
}

# ------------------------------------------------------------ host actions
# The request is one line, "VFS-HOST-ACTION: @<seq> <verb> <args>", on the
# harness port (ttyS1, the serial port the runner reads; suite output goes
# there too, kernel messages do not). The host answers
# "VFS-HOST-DONE: <seq> <rc> <text>" on the same port once it has performed
# the action; <seq> counts this boot's host_action* calls from 1.

_host_seq_next() {
	_f=/tmp/.vfs-host-seq
	_n=$(cat "$_f" 2>/dev/null || echo 0)
	_n=$((_n + 1))
	echo "$_n" >"$_f"
	HOST_SEQ=$_n
}

host_action_nowait() {
	_host_seq_next
	echo "VFS-HOST-ACTION: @$HOST_SEQ $*" >"$VFS_HOST_PORT"
}

_uptime() {
	read -r _up _ </proc/uptime
	echo "${_up%%.*}"
}

host_action_wait() {
	_seq=$1
	_limit=${2:-$VFS_HOST_ACTION_TIMEOUT}
	HOST_REPLY=
	if [ "$VFS_HOST_PORT" = /dev/console ]; then
		echo "# host_action: no harness port, not waiting for the host"
		return 0
	fi
	_end=$(($(_uptime) + _limit))
	while :; do
		_left=$((_end - $(_uptime)))
		if [ "$_left" -le 0 ]; then
			echo "# host_action $_seq: no reply from the host in ${_limit}s"
			return 124
		fi
		[ "$_left" -le 3 ] || _left=3
		# shellcheck disable=SC3045 # busybox sh has read -t
		if ! IFS= read -r -t "$_left" _line <"$VFS_HOST_PORT"; then
			# Nothing yet: ask again, a reply can be lost (e.g. while
			# the UART resumes after a suspend). The host answers only
			# once the action is done.
			echo "VFS-HOST-ACTION: reply $_seq" >"$VFS_HOST_PORT"
			continue
		fi
		case "$_line" in
		"VFS-HOST-DONE: $_seq "*)
			_rest=${_line#"VFS-HOST-DONE: $_seq "}
			_rc=${_rest%% *}
			case "$_rest" in
			*" "*) HOST_REPLY=${_rest#* } ;;
			*) HOST_REPLY= ;;
			esac
			echo "# host_action $_seq: rc=$_rc $HOST_REPLY"
			return "$_rc"
			;;
		esac
	done
}

host_action() {
	host_action_nowait "$@"
	host_action_wait "$HOST_SEQ"
}

# ------------------------------------------------------------ hibernation
# The protocol (vfs_host.h's vfs_hibernate() does the same):
#   1. host action "hibernate <n>" (n = completed round trips + 1, counted
#      in /tmp/.vfs-hibernations): the host expects the power-off; it
#      refuses (rc 2) without a swap disk or beyond the allowed number;
#   2. /sys/power/pm_test = none, /sys/power/disk = $VFS_HIBERNATE_MODE
#      (shutdown, the default, or platform: ACPI S4, which QEMU also ends
#      with a power-off), write "disk" to /sys/power/state;
#   3. the write returns once the image was restored on the new QEMU (or
#      at once, failed): host action "resumed <n> <rc>", rc 0 or the
#      write's error; the host answers 0 only if it did restart QEMU and
#      virtiofsd for hibernation n.
# Everything in the guest's memory, /tmp included, is in the image.
: "${VFS_HIBERNATE_MODE:=shutdown}"

vfs_hibernations() {
	cat /tmp/.vfs-hibernations 2>/dev/null || echo 0
}

vfs_hibernate() {
	VFS_HIBERNATE_ERR=
	_hn=$(($(vfs_hibernations) + 1))
	if [ -z "$VFS_SWAP" ]; then
		VFS_HIBERNATE_ERR="no swap disk (run.sh --hibernate N or '# vfs: hibernate')"
		echo "# vfs_hibernate: $VFS_HIBERNATE_ERR"
		return 2
	fi
	# Other modes do not power off (suspend, test_resume: the latter
	# fails with EBUSY on a swap in use and leaves its image behind) or
	# end QEMU another way (reboot).
	case "$VFS_HIBERNATE_MODE" in
	shutdown | platform) ;;
	*)
		VFS_HIBERNATE_ERR="VFS_HIBERNATE_MODE=$VFS_HIBERNATE_MODE: only shutdown or platform"
		echo "# vfs_hibernate: $VFS_HIBERNATE_ERR"
		return 2
		;;
	esac
	host_action hibernate "$_hn"
	_hrc=$?
	if [ "$_hrc" != 0 ]; then
		VFS_HIBERNATE_ERR="the host refused: $HOST_REPLY"
		return "$_hrc"
	fi
	echo none >/sys/power/pm_test
	echo "$VFS_HIBERNATE_MODE" >/sys/power/disk
	echo "# vfs_hibernate: hibernation $_hn ($VFS_HIBERNATE_MODE) to $VFS_SWAP"
	if VFS_HIBERNATE_ERR=$( { echo disk >/sys/power/state; } 2>&1); then
		_hrc=0
	else
		_hrc=1
		VFS_HIBERNATE_ERR=${VFS_HIBERNATE_ERR:-write failed}
		echo "# vfs_hibernate: /sys/power/state: $VFS_HIBERNATE_ERR"
	fi
	host_action resumed "$_hn" "$_hrc"
	_hrc2=$?
	[ "$_hrc" = 0 ] || return 1
	[ "$_hrc2" = 0 ] || return "$_hrc2"
	echo "$_hn" >/tmp/.vfs-hibernations
	return 0
}

# ------------------------------------------------------------ kernel log
DMESG_MARK=

dmesg_mark() {
	DMESG_MARK="vfs-mark-$$-$(_uptime)-${KTAP_N}"
	echo "$DMESG_MARK" >/dev/kmsg
}

dmesg_new() {
	if [ -z "$DMESG_MARK" ]; then
		dmesg
	else
		dmesg | sed -n "/$DMESG_MARK/,\$p" | sed 1d
	fi
}

dmesg_grep() {
	dmesg_new | grep -E -- "$1"
}

VFS_KERNEL_PROBLEMS='Oops|BUG:|kernel BUG at|WARNING:|Call Trace:|general protection fault|Kernel panic|Unable to handle|INFO: task .* blocked for more than|detected stall|lockup|UBSAN:|list_(add|del) corruption|page allocation failure'

dmesg_problems() {
	dmesg_grep "$VFS_KERNEL_PROBLEMS"
}

# ------------------------------------------------------------ misc
wait_for() {
	_n=$(($1 * 10))
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@" >/dev/null 2>&1
}

vfs_mounted() {
	grep -q " ${1:-$VFS_MNT} " /proc/mounts
}

vfs_mount() {
	mkdir -p "${1:-$VFS_MNT}"
	mount -t "$VFS_FSTYPE" ${2:+-o "$2"} "$VFS_TAG" "${1:-$VFS_MNT}"
}

vfs_umount() {
	umount "${1:-$VFS_MNT}"
}

vfs_load() {
	if [ $# -eq 0 ]; then
		# shellcheck disable=SC2086 # parameters are separate words
		insmod "$VFS_MODULE" $VFS_MODPARAMS
	else
		insmod "$VFS_MODULE" "$@"
	fi
}

vfs_unload() {
	rmmod "$VFS_MODNAME"
}

vfs_bound_devices() {
	for _d in /sys/bus/virtio/drivers/"$VFS_DRIVER"/virtio*; do
		[ -e "$_d" ] && basename "$_d"
	done
}
