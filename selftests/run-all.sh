#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-all.sh: `make check` (one test), `make fuzz-smoke` (one test per
# fuzzer and one for the lock tracker's unit test, ~1.5 minutes), then one
# guest boot per line of suites/MANIFEST (or only the suites named on the
# command line), and the total as the last line: "N passed, N failed".
#
#   run-all.sh --kver KVER --build build/<kver> [--module ours|intree|FILE]
#              [--manifest FILE] [--no-check] [--no-fuzz] [--timeout SEC]
#              [SUITE...]
#
# A MANIFEST line is a suite name and vm/run.sh options, split like shell
# words; '#' starts a comment. A suite may appear on several lines. A suite
# named on the command line runs with every MANIFEST line that names it, or
# once with default options if none does.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(dirname "$here")

kver='' build='' module='' manifest=$here/suites/MANIFEST check=1 fuzz=1 timeout=''
only=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--module) module=$2; shift 2 ;;
	--manifest) manifest=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--no-check) check=0; shift ;;
	--no-fuzz) fuzz=0; shift ;;
	-h | --help) sed -n '3,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "run-all.sh: unknown option $1" >&2; exit 2 ;;
	*) only+=("$1"); shift ;;
	esac
done
[ -n "$kver" ] || kver=$("$top/scripts/kver.sh")
[ -n "$build" ] || build=$top/build/$kver
mkdir -p "$build"
build=$(cd "$build" && pwd)
logs=$build/vm/logs
mkdir -p "$logs"

passed=0 failed=0
summary=()
digest=()	# "# run-all: failure|retried: ..." lines, printed last
env_tries=${VFS_ENV_TRIES:-3}	# boots of a suite whose guests die under TCG (see below)
tmp=$(mktemp -d /tmp/vfs-runall.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

hms() {
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# failure_digest SUITE TAG: what failed in a boot, in a few lines, for the
# end of the output (CI shows only its tail): the runner's reasons, the
# cases that were not ok, and the harness's assertion messages.
failure_digest() {
	local r line n=0
	r=$(sed -n 's/^reasons=//p' "$tmp/$2.result" 2>/dev/null)
	[ -z "$r" ] || digest+=("# run-all: failure: $1: $(eval "printf %s $r")")
	while IFS= read -r line; do
		n=$((n + 1))
		[ "$n" -le 8 ] || break
		digest+=("# run-all: failure: $1: ${line:0:160}")
	done < <(sed 's/\r$//' "$logs/$2/data.log" 2>/dev/null |
		grep -E '^not ok |^ +# [A-Za-z0-9_]+\.[ch]:[0-9]+:')
}

# ------------------------------------------------------------ make check
if [ "$check" = 1 ]; then
	echo "# run-all: make check"
	t0=$(date +%s)
	if make -C "$top" --no-print-directory KVER="$kver" check 2>&1 | tee "$logs/make-check.log"; then
		passed=$((passed + 1))
		res="ok"
	else
		failed=$((failed + 1))
		res="FAILED"
		while IFS= read -r line; do
			digest+=("# run-all: failure: make check: ${line:0:160}")
		done < <(grep -m 4 -aiE 'warning|error' "$logs/make-check.log")
	fi
	d=$(($(date +%s) - t0))
	summary+=("$(printf '%-44s %-8s %s' "make check" "$res" "$(hms "$d")")")
fi

# ------------------------------------------------------------ make fuzz-smoke
# KTAP from fuzz/run.sh: each "ok N name" passes, each "not ok N name"
# fails ("ok ... # SKIP" counts as neither); a failure that printed no
# result (the build broke) counts as one.
if [ "$fuzz" = 1 ]; then
	echo
	echo "# run-all: make fuzz-smoke"
	t0=$(date +%s)
	make -C "$top" --no-print-directory fuzz-smoke 2>&1 | tee "$logs/make-fuzz-smoke.log"
	rc=${PIPESTATUS[0]}
	p=$(grep -aEc '^ok [0-9]+ [^#]*$' "$logs/make-fuzz-smoke.log")
	f=$(grep -aEc '^not ok [0-9]+ ' "$logs/make-fuzz-smoke.log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	res="ok"
	[ "$f" = 0 ] || res="FAILED"
	d=$(($(date +%s) - t0))
	summary+=("$(printf '%-44s %-8s %s  (%d passed, %d failed; crashes in %s)' \
		"make fuzz-smoke" "$res" "$(hms "$d")" "$p" "$f" "$top/build/fuzz/crashes")")
fi

# ------------------------------------------------------------ boots
boots=()
if [ -r "$manifest" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		[ -n "${line//[[:space:]]/}" ] || continue
		boots+=("$line")
	done <"$manifest"
else
	echo "# run-all: no manifest $manifest" >&2
fi

if [ ${#only[@]} -gt 0 ]; then
	sel=()
	for s in "${only[@]}"; do
		found=0
		for b in "${boots[@]}"; do
			eval "set -- $b"
			if [ "$1" = "$s" ]; then
				sel+=("$b")
				found=1
			fi
		done
		[ "$found" = 1 ] || sel+=("$s")
	done
	boots=("${sel[@]}")
fi

n=0
for b in "${boots[@]}"; do
	n=$((n + 1))
	eval "set -- $b"
	suite=$1
	shift
	opts=("$@")
	# shellcheck disable=SC2086 # squeeze the blanks of the line
	label=$(set -f; echo $b)
	tag=$(printf '%02d-%s' "$n" "$suite")
	args=(--kver "$kver" --build "$build" --suite "$suite"
		--log-dir "$logs/$tag" --result "$tmp/$tag.result")
	[ -z "$module" ] || args+=(--module "$module")
	[ -z "$timeout" ] || args+=(--timeout "$timeout")
	echo
	echo "# run-all: [$n/${#boots[@]}] $label"
	t0=$(date +%s)
	note=
	for try in $(seq 1 "$env_tries"); do
		rm -f "$tmp/$tag.result"
		"$here/vm/run.sh" "${args[@]}" "${opts[@]}"
		rc=$?
		p=0 f=0 died=0
		if [ -r "$tmp/$tag.result" ]; then
			p=$(sed -n 's/^passed=//p' "$tmp/$tag.result")
			f=$(sed -n 's/^failed=//p' "$tmp/$tag.result")
			died=$(sed -n 's/^env_death=//p' "$tmp/$tag.result")
		fi
		# A boot that failed without saying why (bad options, harness
		# error) still counts as a failure.
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1
		fi
		# A guest that died while its kernel booted, before user space
		# (and so the driver) ran, or in the kernel's resume from a
		# real S3 before user space ran again, met a QEMU TCG problem
		# (selftests/README.rst, "Guests that die under TCG"), not a
		# test: the boot runs again, up to $env_tries boots in all,
		# and the logs of each death are kept.
		[ "$f" != 0 ] && [ "$died" = 1 ] && [ "$try" -lt "$env_tries" ] ||
			break
		rm -rf "$logs/$tag.died$try"
		mv "$logs/$tag" "$logs/$tag.died$try"
		note="$note (boot $try died before user space ran, or in an S3 resume: $logs/$tag.died$try)"
		echo "# run-all: $label: the guest died in its kernel's boot or S3 resume, before user space ran (QEMU TCG); booting it again"
	done
	d=$(($(date +%s) - t0))
	passed=$((passed + p))
	failed=$((failed + f))
	res="ok"
	[ "$f" = 0 ] || res="FAILED"
	echo "# run-all: $label: $p passed, $f failed in $(hms "$d")"
	[ "$f" = 0 ] || failure_digest "$suite" "$tag"
	[ -z "$note" ] || digest+=("# run-all: retried: $suite:$note")
	summary+=("$(printf '%-44s %-8s %s  (%d passed, %d failed; logs %s)%s' \
		"${label:0:44}" "$res" "$(hms "$d")" "$p" "$f" "$logs/$tag" "$note")")
done

echo
echo "# run-all: summary"
for s in "${summary[@]}"; do
	echo "#   $s"
done
for s in "${digest[@]}"; do
	echo "$s"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
