#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: `make bench`. Compares our virtio_fs.ko with Debian's in-tree
# virtiofs.ko under fio, alternating the two drivers boot by boot, and
# measures our session recovery after a suspend. Writes the report (Markdown
# and two PNG charts) to bench/results/ and prints its tables.
# See bench/README.rst.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")
cmdline="$0 $*"
# make passes MAKELEVEL to its commands.
[ -z "${MAKELEVEL:-}" ] || cmdline="make bench: $cmdline"

# Settings; the environment overrides the defaults, options override both.
# Guests with one TCG thread per vCPU, as real guests run their vCPUs in
# parallel (bench/README.rst, "Method"); the tests use one thread for all.
export VFS_TCG_THREAD=${VFS_TCG_THREAD:-multi}
rounds=${BENCH_ROUNDS:-5}
runtime=${BENCH_RUNTIME:-5}
seq_size=${BENCH_SEQ_SIZE:-256M}
create_files=${BENCH_CREATE_FILES:-1000}
stat_files=${BENCH_STAT_FILES:-2000}
lat_queue_size=${BENCH_LAT_QUEUE_SIZE:-16}
inodes=${BENCH_INODES:-1000 10000}
handles=${BENCH_HANDLES:-10 200 2000}
recovery_reps=${BENCH_RECOVERY_REPS:-3}
vfsd_opts=${BENCH_VIRTIOFSD_OPTS:--o cache=auto -o xattr -o posix_lock -o flock}
# QEMU's C virtiofsd keeps one descriptor per inode the guest knows, and the
# open-file limit of these machines is 20000: stay well below it.
MAX_LIVE_INODES=15000

usage() {
	cat <<EOF
usage: $0 [options]
  --kver KVER        kernel release (default: scripts/kver.sh)
  --build DIR        build/<kver> (default: <top>/build/<kver>)
  --rounds N         boots per driver and configuration (BENCH_ROUNDS, $rounds)
  --only WHAT        compare | recovery (default: both)
  --quick            1 round, short jobs, small sets: checks the benchmark
                     itself; results go to BUILD/bench/quick unless --out
  --out DIR          where the report goes (default: <top>/bench/results)
  --keep             keep the shared directories of the boots
Environment: BENCH_ROUNDS BENCH_RUNTIME BENCH_SEQ_SIZE BENCH_CREATE_FILES
  BENCH_STAT_FILES BENCH_LAT_QUEUE_SIZE BENCH_INODES BENCH_HANDLES
  BENCH_RECOVERY_REPS BENCH_VIRTIOFSD_OPTS (see bench/README.rst)
EOF
}

die() {
	echo "bench: $*" >&2
	exit 2
}

kver='' build='' only='' quick=0 out='' keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--quick) quick=1; shift; continue ;;
	--keep) keep=1; shift; continue ;;
	esac
	[ $# -ge 2 ] || die "$1 needs a value (see --help)"
	case "$1" in
	--kver) kver=$2 ;;
	--build) build=$2 ;;
	--rounds) rounds=$2 ;;
	--only) only=$2 ;;
	--out) out=$2 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
	shift 2
done

[ -n "$kver" ] || kver=$("$top/scripts/kver.sh")
if [ -z "$kver" ] || [ "$kver" = none ]; then
	die "no kernel release (--kver)"
fi
[ -n "$build" ] || build=$top/build/$kver
build=$(mkdir -p "$build" && cd "$build" && pwd)
case "$only" in '' | compare | recovery) ;; *) die "--only compare|recovery" ;; esac
if [ "$quick" = 1 ]; then
	rounds=1 runtime=2 seq_size=32M create_files=200 stat_files=400
	inodes='100 1000' handles='10 100' recovery_reps=2
	out=${out:-$build/bench/quick}
fi
out=${out:-$here/results}

num() { # NAME VALUE
	case "$2" in '' | *[!0-9]*) die "$1 must be a number, not '$2'" ;; esac
}
num rounds "$rounds"
num BENCH_RUNTIME "$runtime"
num BENCH_CREATE_FILES "$create_files"
num BENCH_STAT_FILES "$stat_files"
num BENCH_LAT_QUEUE_SIZE "$lat_queue_size"
num BENCH_RECOVERY_REPS "$recovery_reps"
[ "$rounds" -ge 1 ] || die "--rounds must be at least 1"
numfmt --from=iec "$seq_size" >/dev/null 2>&1 || die "BENCH_SEQ_SIZE must be a size like 256M, not '$seq_size'"
for n in $inodes $handles; do
	num "BENCH_INODES/BENCH_HANDLES" "$n"
done
# Inodes each boot keeps live at once in one virtiofsd (a remount starts a
# new session, which the daemon answers by dropping the old one's).
for n in $inodes $handles $((create_files + stat_files)); do
	[ "$n" -le "$MAX_LIVE_INODES" ] ||
		die "$n live inodes in one session is above the $MAX_LIVE_INODES this machine allows (see bench/README.rst)"
done

modfile=$top/virtio_fs.ko
[ -r "$modfile" ] || die "$modfile is missing: make module"
intree=$(modinfo -k "$kver" -n virtiofs 2>/dev/null) || die "no in-tree virtiofs module for $kver"
command -v gnuplot >/dev/null || die "gnuplot is missing (apt-get install gnuplot-nox)"
command -v python3 >/dev/null || die "python3 is missing"

# ---------------------------------------------------------------- setup
root=$build/bench/root
"$here/mkroot.sh" "$root"
stamp=$(date +%Y%m%d-%H%M%S)
work=$build/bench/run-$stamp
raw=$work/raw
logs=$work/logs
mkdir -p "$raw" "$logs"
rm -f "$build/bench/last"
ln -s "run-$stamp" "$build/bench/last"
manifest=$raw/boots.tsv
# Our module as it is now: a rebuild during the run must not mix versions.
ours=$work/virtio_fs.ko
cp "$modfile" "$ours"
vermagic=$(modinfo -F vermagic "$ours" | awk '{ print $1 }')
[ "$vermagic" = "$kver" ] || die "$modfile was built for $vermagic, not $kver"
# The guest harness as it is now (selftests/vm and the suites' lib.sh):
# the tree is shared, and bash reads a script while it runs it, so an edit
# of selftests/vm/run.sh in the middle of a boot could break that boot.
harness=$work/harness
mkdir -p "$harness/selftests"
cp -r "$top/selftests/vm" "$top/selftests/suites" "$harness/selftests/"
# Keep the raw data of the last five runs.
# shellcheck disable=SC2012 # our own names, no blanks
ls -dt "$build"/bench/run-* | tail -n +6 | xargs -r rm -rf
tree=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
printf 'name\tkind\tdriver\tround\tstatus\tseconds\n' >"$manifest"

share=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$share" ] && [ "$keep" = 0 ]; then
		rm -rf "$share"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# mkfiles DIR COUNT SIZE FORMAT: COUNT files of SIZE bytes (FORMAT is a
# printf format for the name, %d the file's number).
mkfiles() {
	python3 - "$@" <<'EOF'
import os, sys
d, n, size, fmt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(d, exist_ok=True)
data = b"v" * size
for i in range(n):
    with open(os.path.join(d, fmt % i), "wb") as f:
        f.write(data)
EOF
}

t_start=$(date +%s)
nboot=0
failed_boots=0
if [ "$only" = recovery ]; then
	total=1
elif [ "$only" = compare ]; then
	total=$((rounds * 6))
else
	total=$((rounds * 6 + 1))
fi

# boot NAME KIND DRIVER ROUND SCRIPT [run.sh options]: one guest. The
# share is fresh; prepare() fills it first. Results: $raw/NAME/.
boot() {
	local name=$1 kind=$2 driver=$3 round=$4 script=$5 conf rc=0 t0 secs
	local status module=intree
	shift 5
	[ "$driver" = intree ] || module=$ours
	nboot=$((nboot + 1))
	share=$work/share-$name
	conf=$work/conf-$name
	rm -rf "$share" "$conf"
	mkdir -p "$share" "$conf/bench/etc"
	prepare "$kind" "$share"
	{
		echo "BENCH_MODE=${kind/ringfull/latency}"
		echo "BENCH_RUNTIME=$runtime"
		echo "BENCH_SEQ_SIZE=$seq_size"
		echo "BENCH_CREATE_FILES=$create_files"
		echo "BENCH_STAT_FILES=$stat_files"
		echo "BENCH_INODES='$inodes'"
		echo "BENCH_HANDLES='$handles'"
		echo "BENCH_RECOVERY_REPS=$recovery_reps"
	} >"$conf/bench/etc/bench.env"
	t0=$(date +%s)
	printf '# bench: [%d/%d] %-10s %-6s round %s ... ' "$nboot" "$total" "$kind" "$driver" "$round"
	"$harness/selftests/vm/run.sh" --kver "$kver" --build "$build" \
		--module "$module" --script "$script" \
		--extra-dir "$root" --extra-dir "$conf" --shared "$share" \
		--virtiofsd-opts "$vfsd_opts" --quiet \
		--log-dir "$logs/$name" --result "$logs/$name/result" "$@" \
		>"$logs/$name.out" 2>&1 || rc=$?
	secs=$(($(date +%s) - t0))
	status=PASS
	if [ "$rc" != 0 ]; then
		status=FAIL
		failed_boots=$((failed_boots + 1))
	fi
	echo "$status (${secs}s)"
	if [ "$rc" != 0 ]; then
		{ grep -E '^# run: FAIL|^not ok|^run.sh:' "$logs/$name.out" ||
			tail -n 3 "$logs/$name.out"; } | head -n 5 | sed 's/^/#     /'
		echo "#     log: $logs/$name.out"
	fi
	mkdir -p "$raw/$name"
	if [ -d "$share/bench-out" ]; then
		cp -r "$share/bench-out/." "$raw/$name/"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kind" "$driver" "$round" "$status" "$secs" >>"$manifest"
	rm -rf "$conf"
	if [ "$keep" = 0 ]; then
		rm -rf "$share"
	fi
	share=
}

prepare() { # KIND SHARE
	case "$1" in
	throughput)
		# guest/fio.sh's filestat: 4 jobs, each on its own directory
		local i
		for i in 0 1 2 3; do
			mkfiles "$2/stat/$i" $((stat_files / 4)) 4096 'f.%d'
		done
		;;
	latency | ringfull)
		# The file the job reads, made here: fio laying it out in the
		# guest would write it 4 KiB at a time.
		mkdir -p "$2/fio"
		head -c "$(numfmt --from=iec "$seq_size")" /dev/zero >"$2/fio/seq.dat"
		;;
	recovery)
		local n
		for n in $inodes; do
			mkfiles "$2/inodes$n" "$n" 0 'i%06d'
		done
		local max=0
		for n in $handles; do
			[ "$n" -le "$max" ] || max=$n
		done
		mkfiles "$2/handles" "$max" 16 'h%06d'
		;;
	esac
}

echo "# bench: kernel $kver, $rounds round(s), virtiofsd $vfsd_opts; raw data and logs in $work"

# ---------------------------------------------------------------- compare
# Each round boots both drivers three times: the fio jobs on a 1024-entry
# ring, the latency job on a 16-entry ring, and the latency job on a
# 16-entry ring without indirect descriptors ("ringfull"): the fuse core
# lets at most 12 (max_background) asynchronous reads out at once, which a
# 16-entry ring holds when each request takes one descriptor; without
# indirect descriptors a 4 KiB read takes four and the ring fills. The
# driver that goes first alternates from round to round, so slow drifts of
# the machine hit both alike.
if [ "$only" != recovery ]; then
	for r in $(seq 1 "$rounds"); do
		if [ $((r % 2)) = 1 ]; then order='intree ours'; else order='ours intree'; fi
		for d in $order; do
			boot "r$r-$d-throughput" throughput "$d" "$r" "$here/guest/fio.sh"
		done
		for d in $order; do
			boot "r$r-$d-latency" latency "$d" "$r" "$here/guest/fio.sh" \
				--queue-size "$lat_queue_size"
		done
		for d in $order; do
			boot "r$r-$d-ringfull" ringfull "$d" "$r" "$here/guest/fio.sh" \
				--queue-size "$lat_queue_size" \
				--qemu-opts "-global vhost-user-fs-pci.indirect_desc=off"
		done
	done
fi

# ---------------------------------------------------------------- recovery
if [ "$only" != compare ]; then
	boot recovery recovery ours 1 "$here/guest/recovery.sh"
fi

# ---------------------------------------------------------------- report
duration=$(($(date +%s) - t_start))
mkdir -p "$out"
quickopt=()
[ "$quick" = 0 ] || quickopt=(--quick)
"$here/report.py" --raw "$raw" --out "$out" --stamp "$stamp" \
	--cmdline "$cmdline" --kver "$kver" --duration "$duration" \
	--rounds "$rounds" --virtiofsd-opts "$vfsd_opts" \
	--lat-queue-size "$lat_queue_size" --runtime "$runtime" \
	--seq-size "$seq_size" --create-files "$create_files" \
	--stat-files "$stat_files" --recovery-reps "$recovery_reps" \
	--intree "$intree" --ours "$ours" --tree "$tree" "${quickopt[@]}"
echo "# bench: $nboot boot(s), $failed_boots failed, ${duration}s; report in $out/latest.md"
[ "$failed_boots" = 0 ]
