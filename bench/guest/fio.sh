#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fio.sh: the guest side of the driver comparison (bench/run.sh). Runs the
# fio jobs of one boot on the mounted share and leaves fio's JSON output
# in $VFS_MNT/bench-out/ for the host. /bench/etc/bench.env (written by
# bench/run.sh for each boot) sets BENCH_MODE and the sizes:
#
#   BENCH_MODE=throughput  seqwrite, seqread (1 MiB), randread 4 KiB at QD1
#                          (psync) and QD16 (libaio), randwrite 4 KiB QD16,
#                          filecreate, filestat (entries expired: LOOKUPs)
#   BENCH_MODE=latency     randread 4 KiB at iodepth 64 (libaio), latency
#                          percentiles; the boot's ring has 16 entries
#
# The random jobs are O_DIRECT; the two sequential ones are buffered, the
# read with a cold page cache (drop_caches). One KTAP line per job.
# vfs: timeout=600
# shellcheck disable=SC1091 # in the guest's initramfs
. /suites/lib.sh

# shellcheck disable=SC1091 # written by bench/run.sh
. /bench/etc/bench.env
FIO=/bench/bin/fio
D=$VFS_MNT/fio
OUT=/tmp/bench-out
mkdir -p "$D" "$OUT"

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# job NAME FIO-ARGS...: one fio run, JSON in $OUT/NAME.json.
# job NAME FILE.fio: the same with a job file.
job() {
	_n=$1
	shift
	_s=$(cat /proc/uptime)
	case "$1" in
	*.fio)
		$FIO --output-format=json --output="$OUT/$_n.json" "$1" \
			>"$OUT/$_n.log" 2>&1
		;;
	*)
		$FIO --name="$_n" --output-format=json --output="$OUT/$_n.json" \
			--lat_percentiles=1 --percentile_list=50:90:99:99.9 \
			"$@" >"$OUT/$_n.log" 2>&1
		;;
	esac
	_rc=$?
	echo "# $_n: uptime ${_s%% *} -> $(cut -d' ' -f1 /proc/uptime), fio exit $_rc"
	if [ $_rc -ne 0 ]; then
		sed 's/^/#   /' "$OUT/$_n.log" | tail -n 20
		cat "$OUT/$_n.log" >&2
	fi
	ktap_result "fio_$_n" $_rc
}

save_debugfs() {
	for _d in /sys/kernel/debug/virtio_fs/*/; do
		[ -r "$_d/queues" ] || continue
		cat "$_d/queues" >"$OUT/queues.txt"
		cat "$_d/opcodes" >"$OUT/opcodes.txt"
	done
}

# meta_jobs ENGINE DIR FILES [OPTION...]: /tmp/ENGINE.fio, $META_JOBS
# jobs one after the other, job i on FILES/$META_JOBS files in DIR/i.
META_JOBS=4
meta_jobs() {
	_e=$1 _dir=$2 _n=$(($3 / META_JOBS))
	shift 3
	{
		echo "[global]"
		echo "ioengine=$_e"
		echo "nrfiles=$_n"
		echo "filesize=4k"
		echo "bs=4k"
		echo "openfiles=1"
		# shellcheck disable=SC2016 # fio expands $filenum
		echo 'filename_format=f.$filenum'
		for _o in "$@"; do
			echo "$_o"
		done
		_i=0
		while [ $_i -lt $META_JOBS ]; do
			mkdir -p "$_dir/$_i"
			echo "[$_e-$_i]"
			echo "directory=$_dir/$_i"
			echo "stonewall"
			_i=$((_i + 1))
		done
	} >"/tmp/$_e.fio"
}

# Option lists, split into words where they are used.
rt="--runtime=$BENCH_RUNTIME --time_based"
dio="--direct=1 --bs=4k --size=$BENCH_SEQ_SIZE --filename=$D/seq.dat"

# shellcheck disable=SC2086 # $dio and $rt are lists of options
case "$BENCH_MODE" in
throughput)
	ktap_plan 8
	job seqwrite --filename="$D/seq.dat" --rw=write --bs=1M \
		--size="$BENCH_SEQ_SIZE" --ioengine=psync --end_fsync=1
	drop_caches
	job seqread --filename="$D/seq.dat" --rw=read --bs=1M \
		--size="$BENCH_SEQ_SIZE" --ioengine=psync
	job randread_qd1 --rw=randread $dio --ioengine=psync --iodepth=1 $rt
	job randread_qd16 --rw=randread $dio --ioengine=libaio --iodepth=16 $rt
	job randwrite_qd16 --rw=randwrite $dio --ioengine=libaio --iodepth=16 $rt
	# filecreate: new empty files (open O_CREAT, close). filestat:
	# stat() of files the host made before the boot. Both engines time
	# each create or stat themselves (clat). fio looks every file up
	# while it sets a job up, so the job waits 1.2 s first (exec_prerun):
	# longer than the 1 s entry timeout of cache=auto, so that each
	# stat() revalidates its entry with a LOOKUP on the device. fio's
	# own per-file bookkeeping grows faster than linearly with nrfiles,
	# so the files are split among $META_JOBS jobs that run one after
	# the other (stonewall), each in its own directory.
	meta_jobs filecreate "$D/create" "$BENCH_CREATE_FILES" fallocate=none
	job filecreate /tmp/filecreate.fio
	meta_jobs filestat "$VFS_MNT/stat" "$BENCH_STAT_FILES" \
		"exec_prerun=sleep 1.2"
	job filestat /tmp/filestat.fio
	;;
latency)
	ktap_plan 2
	job randread_qd64_lat --rw=randread $dio --ioengine=libaio \
		--iodepth=64 $rt
	;;
*)
	ktap_plan 1
	ktap_fail bench_mode "unknown BENCH_MODE '$BENCH_MODE'"
	;;
esac
save_debugfs

# The results go to the host through the share.
rm -rf "$VFS_MNT/bench-out"
if cp -r "$OUT" "$VFS_MNT/bench-out" && sync; then
	ktap_ok results_saved
else
	ktap_fail results_saved "cannot copy $OUT to the share"
fi
ktap_finish
