#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: run the fuzzers for a bounded time each, then the unit test, and
# print KTAP: one "ok N NAME" / "not ok N NAME" line per fuzzer and one for
# test_locks. Exits non-zero when any failed. Called by fuzz/Makefile
# (make fuzz, make fuzz-smoke).
#
#   run.sh --out DIR --seconds N [--no-fuzzers | --have-libfuzzer 0|1] FUZZER...
#
# Each fuzzer starts from its seed corpus (fuzz/corpus/NAME, committed) and
# what earlier runs found (DIR/corpus/NAME, where new inputs go). Its log is
# DIR/logs/NAME.log; an input that crashed it is kept as
# DIR/crashes/NAME/crash-* (or leak-*, timeout-*, oom-*).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out='' seconds=20 fuzzers=1
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--have-libfuzzer) [ "$2" = 1 ] || fuzzers=0; shift 2 ;;
	--no-fuzzers) fuzzers=0; shift ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) names+=("$1"); shift ;;
	esac
done
[ -n "$out" ] || { echo "run.sh: --out DIR is required" >&2; exit 2; }

# Longest input per fuzzer: a reply header and a little payload; two pages
# of directory entries (a READDIRPLUS reply fills at most one); a few
# hundred lock requests (the unit test takes the tracker to its limit).
max_len() {
	case "$1" in
	fuzz_reply) echo 256 ;;
	fuzz_dirplus) echo 8192 ;;
	*) echo 1024 ;;
	esac
}

sym=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -z "$sym" ] || export ASAN_SYMBOLIZER_PATH="$sym"

mkdir -p "$out/logs"
total=$((${#names[@]} + 1))
n=0 failed=0 skipped=0
echo "KTAP version 1"
echo "1..$total"

for t in "${names[@]}"; do
	n=$((n + 1))
	if [ "$fuzzers" = 0 ]; then
		echo "ok $n $t # SKIP no libFuzzer (Debian 12: clang-14 libclang-rt-14-dev)"
		skipped=$((skipped + 1))
		continue
	fi
	log=$out/logs/$t.log
	crashes=$out/crashes/$t
	mkdir -p "$out/corpus/$t" "$crashes"
	before=$(ls "$crashes" | wc -l)
	echo "# $t: ${seconds}s, log $log"
	t0=$(date +%s)
	"$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$t")" -print_final_stats=1 \
		-artifact_prefix="$crashes/" \
		"$out/corpus/$t" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	d=$(($(date +%s) - t0))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -1)
	corp=$(ls "$out/corpus/$t" "$here/corpus/$t" | grep -vc ':$')
	echo "# $t: exit $rc in ${d}s, ${runs:-?} runs, ${cov:-cov: ?}, corpus $corp"
	after=$(ls "$crashes" | wc -l)
	if [ "$rc" = 0 ] && [ "$after" = "$before" ]; then
		echo "ok $n $t"
	else
		failed=$((failed + 1))
		grep -aE '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+:|lockcheck:|INFO: Timeout|==[0-9]+== ERROR)' \
			"$log" | head -5 | sed 's/^/# /'
		for f in $(ls -t "$crashes" | head -3); do
			echo "# $t: input kept in $crashes/$f"
		done
		echo "not ok $n $t"
	fi
done

n=$((n + 1))
echo "# test_locks"
if "$out/test_locks" >"$out/logs/test_locks.log" 2>&1; then
	sed 's/^/# /' "$out/logs/test_locks.log"
	echo "ok $n test_locks"
else
	failed=$((failed + 1))
	tail -20 "$out/logs/test_locks.log" | sed 's/^/# /'
	echo "not ok $n test_locks"
fi

echo "# Totals: pass:$((total - failed - skipped)) fail:$failed skip:$skipped"
[ "$failed" = 0 ]
