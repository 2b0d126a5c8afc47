#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkroot.sh OUTDIR: the benchmark's additions to the guest's initramfs,
# given to selftests/vm/run.sh as --extra-dir OUTDIR.
#
#   /lib64/ld-linux-x86-64.so.2   the ELF interpreter fio asks for
#   /bench/lib/                   every library `ldd /usr/bin/fio` lists
#   /bench/bin/fio.real           the host's /usr/bin/fio (Debian's 3.33)
#   /bench/bin/fio                a wrapper that runs it with /bench/lib
#   /bench/bin/vfsbench           the recovery helper (vfsbench.c, static)
#
# fio is dynamically linked against ~60 libraries (ceph, gluster, ...: ~85
# MB); they all have to be there for it to start. OUTDIR is rebuilt only
# when fio, a library or vfsbench.c changed (a key file records what went
# in).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIO=${FIO:-/usr/bin/fio}
CC=${CC:-gcc}

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1

die() {
	echo "mkroot.sh: $*" >&2
	exit 1
}

[ -x "$FIO" ] || die "$FIO is missing (apt-get install fio)"
command -v "$CC" >/dev/null || die "$CC is missing (apt-get install build-essential)"

# "soname path" for each library, and the interpreter.
libs=$(ldd "$FIO" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }')
interp=$(ldd "$FIO" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
[ -n "$interp" ] || die "no ELF interpreter in 'ldd $FIO'"
if ldd "$FIO" | grep -q 'not found'; then
	ldd "$FIO" | grep 'not found' >&2
	die "$FIO misses libraries on this host"
fi
echo "$libs" | grep -q '^libaio\.so\.1 ' ||
	die "$FIO does not link libaio.so.1 (apt-get install libaio1)"

key=$({
	echo "format 1"
	stat -Lc '%n %s %Y' "$FIO" "$interp" "$here/vfsbench.c"
	echo "$libs" | while read -r _ p; do stat -Lc '%n %s %Y' "$p"; done
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ]; then
	exit 0
fi

echo "# bench: building the guest's fio and helper in $out"
rm -rf "$out"
mkdir -p "$out/lib64" "$out/bench/lib" "$out/bench/bin"
cp -L "$interp" "$out/lib64/$(basename "$interp")"
echo "$libs" | while read -r name p; do
	cp -L "$p" "$out/bench/lib/$name"
done
cp -L "$FIO" "$out/bench/bin/fio.real"
cat >"$out/bench/bin/fio" <<'EOW'
#!/bin/sh
# Debian's fio with its libraries from /bench/lib (made by bench/mkroot.sh).
LD_LIBRARY_PATH=/bench/lib exec /bench/bin/fio.real "$@"
EOW
chmod 755 "$out/bench/bin/fio"
"$CC" -static -O2 -Wall -Wextra -o "$out/bench/bin/vfsbench" "$here/vfsbench.c"
echo "$key" >"$out/.key"
