#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh: bench/insn's guest side. Three windows for tbprof.so, in this
# order (bench/insn/report.py relies on it): pread, stat, create. Then the
# guest's symbols, to name the blocks.
# vfs: timeout=600
# shellcheck disable=SC1091 # in the guest's initramfs
. /suites/lib.sh
# shellcheck disable=SC1091 # written by bench/insn/run.sh
. /insn/etc/insn.env
M=$VFS_MNT
ktap_plan 4
mkdir -p "$M/create"
for op in pread stat create; do
	case $op in
	pread) arg=$M/seq.dat n=$INSN_PREADS ;;
	stat) arg=$M/stat n=$INSN_STATS ;;
	create) arg=$M/create n=$INSN_CREATES ;;
	esac
	out=$(/insn/bin/ops "$op" "$M" "$arg" "$n")
	rc=$?
	echo "# $out"
	ktap_result "insn_$op" $rc
	# the plugin writes its window within 20 ms
	sleep 1
done
cat /proc/kallsyms >"$M/.insn-kallsyms" && sync
ktap_result kallsyms_saved $?
ktap_finish
