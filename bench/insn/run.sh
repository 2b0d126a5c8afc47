#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: `make bench-insn`. Counts the guest's instructions per operation
# (4 KiB O_DIRECT pread, stat() of an expired entry, create + close) with
# the in-tree virtiofs.ko and with ours, alternating boot by boot, under a
# TCG plugin (tbprof.c). Writes bench/results/insn-STAMP.md and
# latest-insn.md. See bench/README.rst, "Guest instructions per operation".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cmdline="$0 $*"
[ -z "${MAKELEVEL:-}" ] || cmdline="make bench-insn: $cmdline"
rounds=${INSN_ROUNDS:-3}
preads=${INSN_PREADS:-3000}
stats=${INSN_STATS:-2000}
creates=${INSN_CREATES:-1000}
vfsd_opts=${BENCH_VIRTIOFSD_OPTS:--o cache=auto -o xattr -o posix_lock -o flock}
kver='' build='' out=$top/bench/results

die() {
	echo "insn: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift ;;
	--build) build=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--out) out=$2; shift ;;
	*) die "unknown option $1 (--kver K --build DIR --rounds N --out DIR)" ;;
	esac
	shift
done
[ -n "$kver" ] || kver=$("$top/scripts/kver.sh")
[ -n "$build" ] || build=$top/build/$kver
ours_src=$build/obj/virtio_fs.ko
[ -r "$ours_src" ] || die "$ours_src is missing: make module KVER=$kver"

work=$build/insn
stamp=$(date -u +%Y%m%d-%H%M%S)
run=$work/run-$stamp
mkdir -p "$work/include" "$run/raw" "$run/logs"
"$here/qemu-plugin-header.sh" "$work/include"
gcc -O2 -Wall -shared -fPIC -I"$work/include" -o "$work/tbprof.so" \
	"$here/tbprof.c" -lpthread
root=$work/root
rm -rf "$root"
mkdir -p "$root/insn/bin" "$root/insn/etc"
gcc -O2 -Wall -static -o "$root/insn/bin/ops" "$here/ops.c"
{
	echo "INSN_PREADS=$preads"
	echo "INSN_STATS=$stats"
	echo "INSN_CREATES=$creates"
} >"$root/insn/etc/insn.env"
# The module is copied once, so a rebuild meanwhile does not mix versions.
ours=$run/virtio_fs.ko
cp "$ours_src" "$ours"
tree=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)

boot() { # NAME DRIVER
	local name=$1 module=$2 share=$run/share-$1 i rc=0
	rm -rf "$share"
	mkdir -p "$share/stat"
	head -c 64M /dev/zero >"$share/seq.dat"
	for ((i = 0; i < stats; i++)); do
		: >"$share/stat/f.$i"
	done
	printf '# insn: %-12s ... ' "$name"
	"$top/selftests/vm/run.sh" --kver "$kver" --build "$build" \
		--module "$module" --script "$here/guest.sh" --extra-dir "$root" \
		--shared "$share" --tcg-thread single \
		--virtiofsd-opts "$vfsd_opts" \
		--qemu-opts "-plugin $work/tbprof.so,dir=$share" \
		--log-dir "$run/logs/$name" --quiet >"$run/logs/$name.out" 2>&1 ||
		rc=$?
	mkdir -p "$run/raw/$name"
	mv "$share"/.insn-out.* "$share/.insn-kallsyms" "$run/raw/$name/" \
		2>/dev/null || true
	cp "$run/logs/$name/data.log" "$run/raw/$name/" 2>/dev/null || true
	rm -rf "$share"
	if [ "$rc" = 0 ]; then echo PASS; else echo "FAIL (rc $rc)"; fi
	return "$rc"
}

echo "# insn: kernel $kver, $rounds round(s), single-threaded TCG; raw data in $run"
failed=0
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order='intree ours'; else order='ours intree'; fi
	for d in $order; do
		m=intree
		[ "$d" = intree ] || m=$ours
		boot "r$r-$d" "$m" || failed=$((failed + 1))
	done
done
mkdir -p "$out"
"$here/report.py" --raw "$run/raw" --out "$out" --stamp "$stamp" \
	--cmdline "$cmdline" --kver "$kver" --tree "$tree" \
	--counts "$preads $stats $creates"
echo "# insn: $((rounds * 2)) boot(s), $failed failed; report in $out/latest-insn.md"
[ "$failed" = 0 ]
