#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: boot one guest (Debian's kernel under QEMU TCG) with a virtio-fs
# device served by a fresh virtiofsd, run one suite in it, and report.
# See selftests/README.rst for the options and the guest/host protocol.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
selftests=$(dirname "$here")
top=$(dirname "$selftests")

QEMU=${QEMU:-qemu-system-x86_64}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
BUSYBOX=${BUSYBOX:-/bin/busybox}
PYTHON=${PYTHON:-python3}
# Kernel modules every guest loads, in this order (from the kernel's tree).
BASE_MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtio_blk"
# The swap disk of a boot that hibernates (sparse), and what a boot that
# hibernates adds to the kernel command line: an uncompressed image is read
# back in well under a second under TCG, an LZO one in about 10 s.
SWAP_SIZE=${SWAP_SIZE:-1G}
HIBERNATE_APPEND=${HIBERNATE_APPEND-hibernate=nocompress}
# Bump when the layout of the cached base image changes.
BASE_FORMAT=2

usage() {
	cat <<EOF
usage: $0 [options]
  --kver KVER            kernel release (default: scripts/kver.sh)
  --build DIR            build/<kver> (test binaries in DIR/selftests)
  --module ours|fault|intree|FILE
                         driver to test (default: ours = BUILD/obj/virtio_fs.ko,
                         built by 'make module'; intree = Debian's virtiofs.ko)
  --modparams 'A=1 B=2'  parameters for the driver's insmod
  --suite NAME           run suites/NAME.sh (default: smoke)
  --script FILE          run FILE as the suite instead (hooks: FILE's stem)
  --queue-size N         vhost-user-fs-pci queue-size (default 1024)
  --device-opts S        more vhost-user-fs-pci properties, e.g.
                         'num-request-queues=2' (comma separated)
  --virtiofsd-opts S     virtiofsd options besides --socket-path and source
                         (default: '-o cache=auto -o xattr -o posix_lock -o flock')
  --timeout SEC          whole-boot timeout (default: suite's "timeout=",
                         else 300)
  --tag TAG              device tag (default: vfstest)
  --mnt DIR              guest mount point (default: /mnt/vfs)
  --fstype TYPE          file system type to mount (default: virtiofs)
  --shared DIR           share DIR (kept) instead of a fresh temporary dir
  --disk FILE|new:SIZE   attach a virtio-blk disk (repeatable; raw unless
                         FILE ends in .qcow2; new:SIZE makes a temporary one)
  --hibernate N          let the suite hibernate for real N times (default:
                         the suite's "hibernate[=N]", else 0): a swap disk,
                         and a new QEMU and virtiofsd after each power-off
  --extra-dir DIR        copy DIR's contents into the initramfs root, after
                         everything else (repeatable; later ones win)
  --mem SIZE             guest memory (default 2G)
  --smp N                guest CPUs (default 2)
  --loglevel N           console loglevel (default 5; dmesg is saved anyway)
  --append ARGS          extra kernel command line
  --qemu-opts ARGS       extra QEMU arguments (split on spaces)
  --tcg-thread MODE      TCG's vCPU threads: single (all vCPUs in one
                         thread) or multi (one per vCPU); default
                         \$VFS_TCG_THREAD, else single (selftests/README.rst,
                         "Guests that die under TCG")
  --allow-warn           kernel WARNINGs do not fail the boot
  --log-dir DIR          keep logs here (default: BUILD/vm/logs/SUITE)
  --result FILE          write "passed=N failed=N ..." for run-all.sh
  --quiet                do not stream the kernel console (still logged)
  --keep                 keep the run directory and temporary shared dir
EOF
}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

kver='' build='' module=ours modparams='' suite='' script='' queue_size=1024
device_opts=
vfsd_opts='-o cache=auto -o xattr -o posix_lock -o flock'
timeout='' tag=vfstest mnt=/mnt/vfs fstype=virtiofs shared='' mem=2G smp=2
tcg_thread=${VFS_TCG_THREAD:-single}
loglevel=5 append='' qemu_opts='' allow_warn=0 log_dir='' result='' quiet=0 keep=0
disks=()
extra_dirs=()
hibernate=''

while [ $# -gt 0 ]; do
	opt=$1
	case "$opt" in
	-h | --help) usage; exit 0 ;;
	--allow-warn) allow_warn=1; shift; continue ;;
	--quiet) quiet=1; shift; continue ;;
	--keep) keep=1; shift; continue ;;
	esac
	[ $# -ge 2 ] || die "$opt needs a value (see --help)"
	val=$2
	shift 2
	case "$opt" in
	--kver) kver=$val ;;
	--build) build=$val ;;
	--module) module=$val ;;
	--modparams) modparams=$val ;;
	--suite) suite=$val ;;
	--script) script=$val ;;
	--queue-size) queue_size=$val ;;
	--device-opts) device_opts=,$val ;;
	--virtiofsd-opts) vfsd_opts=$val ;;
	--timeout) timeout=$val ;;
	--tag) tag=$val ;;
	--mnt) mnt=$val ;;
	--fstype) fstype=$val ;;
	--shared) shared=$val ;;
	--disk) disks+=("$val") ;;
	--hibernate) hibernate=$val ;;
	--extra-dir) extra_dirs+=("$val") ;;
	--mem) mem=$val ;;
	--smp) smp=$val ;;
	--loglevel) loglevel=$val ;;
	--append) append=$val ;;
	--qemu-opts) qemu_opts=$val ;;
	--tcg-thread) tcg_thread=$val ;;
	--log-dir) log_dir=$val ;;
	--result) result=$val ;;
	*) usage >&2; die "unknown option $opt" ;;
	esac
done

[ -n "$kver" ] || kver=$("$top/scripts/kver.sh")
if [ -z "$kver" ] || [ "$kver" = none ]; then
	die "no kernel release (--kver)"
fi
[ -n "$build" ] || build=$top/build/$kver
build=$(mkdir -p "$build" && cd "$build" && pwd)
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || die "$kernel is missing (apt-get install linux-image-$kver)"
[ -d "/lib/modules/$kver/kernel" ] || die "/lib/modules/$kver is missing"
[ -x "$VIRTIOFSD" ] || die "$VIRTIOFSD is missing (apt-get install qemu-system-common)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (apt-get install busybox-static)"
command -v "$QEMU" >/dev/null || die "$QEMU is missing (apt-get install qemu-system-x86)"
case "$queue_size" in '' | *[!0-9]*) die "--queue-size needs a number" ;; esac
case "$tag$mnt" in *[[:space:]]*) die "--tag and --mnt cannot contain spaces" ;; esac
for d in "${extra_dirs[@]}"; do
	[ -d "$d" ] || die "--extra-dir: no directory $d"
done

# ---------------------------------------------------------------- suite
if [ -n "$script" ]; then
	[ -r "$script" ] || die "no such script $script"
	script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
	suite=$(basename "$script" .sh)
	suite_file=$script
else
	suite=${suite:-smoke}
	suite_file=$selftests/suites/$suite.sh
	[ -r "$suite_file" ] || die "no suite $suite_file"
fi
hook_base=${suite_file%.sh}

# "# vfs: word word=value ..." lines among the first 20 lines of the suite.
hdr_nomount=0 hdr_noload=0 hdr_timeout='' hdr_mountopts='' hdr_hibernate=''
for w in $(head -n 20 "$suite_file" | sed -n 's/^#[[:space:]]*vfs:[[:space:]]*//p'); do
	case "$w" in
	nomount) hdr_nomount=1 ;;
	noload) hdr_noload=1 ;;
	allow-warn) allow_warn=1 ;;
	timeout=*) hdr_timeout=${w#timeout=} ;;
	mountopts=*) hdr_mountopts=${w#mountopts=} ;;
	hibernate) hdr_hibernate=1 ;;
	hibernate=*) hdr_hibernate=${w#hibernate=} ;;
	*) echo "run.sh: $suite_file: unknown '# vfs:' word '$w'" >&2 ;;
	esac
done
hibernate=${hibernate:-${hdr_hibernate:-0}}
case "$hibernate" in '' | *[!0-9]*) die "bad --hibernate/hibernate= '$hibernate'" ;; esac
# A hibernation round trip (image out, new QEMU, image in) takes 10-40 s
# under TCG: the default timeout allows HIB_ROUND_TRIP seconds for each.
HIB_ROUND_TRIP=60
timeout=${timeout:-${hdr_timeout:-$((300 + hibernate * HIB_ROUND_TRIP))}}
case "$timeout" in '' | *[!0-9]*) die "bad timeout '$timeout'" ;; esac
# The guest's own watchdog fires first, so a hung suite still reports.
guest_limit=$((timeout - 45))
[ "$guest_limit" -ge $((timeout / 2)) ] || guest_limit=$((timeout / 2))

# ---------------------------------------------------------------- module
decompress_to() { # SRC DST
	case "$1" in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -q -dc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# Debian's 6.12 builds the in-tree virtio-fs driver into the kernel. It then
# binds every device and owns the "virtiofs" file system type, so testing
# another driver needs its init call kept from running.
intree_builtin=0
[ "$(modinfo -k "$kver" -n virtiofs 2>/dev/null)" = "(builtin)" ] && intree_builtin=1

case "$module" in
ours)
	modkind=ours
	modfile=$build/obj/virtio_fs.ko
	[ -r "$modfile" ] || die "$modfile is missing; build it (make -C $top module KVER=$kver) or use --module intree"
	;;
intree)
	modkind=intree
	modfile=$(modinfo -k "$kver" -n virtiofs 2>/dev/null) ||
		die "the in-tree virtiofs module of $kver was not found"
	;;
fault)
	# ours, built with fault injection (make module-fault)
	modkind=ours
	modfile=$build/fault/virtio_fs.ko
	[ -r "$modfile" ] || die "$modfile is missing; build it (make -C $top module-fault)"
	;;
*)
	modkind='file'
	modfile=$module
	[ -r "$modfile" ] || die "no module file $modfile"
	modfile=$(cd "$(dirname "$modfile")" && pwd)/$(basename "$modfile")
	;;
esac
if [ "$modfile" = "(builtin)" ]; then
	modname=virtiofs
elif [ "$intree_builtin" = 1 ]; then
	append="initcall_blacklist=virtio_fs_init${append:+ $append}"
fi
[ -n "${modname:-}" ] || modname=$(modinfo -F name "$modfile" 2>/dev/null || true)
if [ -z "$modname" ]; then
	modname=$(basename "$modfile")
	modname=${modname%%.ko*}
	modname=${modname//-/_}
fi
vermagic=
[ "$modfile" = "(builtin)" ] ||
	vermagic=$(modinfo -F vermagic "$modfile" 2>/dev/null | awk '{print $1}')
if [ -n "$vermagic" ] && [ "$vermagic" != "$kver" ]; then
	die "$modfile was built for $vermagic, not $kver (rebuild: make -C $top module KVER=$kver)"
fi

# ---------------------------------------------------------------- run dir
run=$(mktemp -d /tmp/vfs-run.XXXXXX)
own_shared=0
if [ -z "$shared" ]; then
	shared=$(mktemp -d /tmp/vfs-shared.XXXXXX)
	own_shared=1
else
	mkdir -p "$shared"
	shared=$(cd "$shared" && pwd)
fi
log_dir=${log_dir:-$build/vm/logs/$suite}
rm -rf "$log_dir"
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)
monitor_pid=

cleanup() {
	local rc=$? f pg
	trap - EXIT INT TERM HUP
	if [ -n "$monitor_pid" ] && kill -0 "$monitor_pid" 2>/dev/null; then
		kill -TERM "$monitor_pid" 2>/dev/null || true
		wait "$monitor_pid" 2>/dev/null || true
	fi
	# The monitor kills everything it started; this is the safety net.
	if [ -f "$run/qemu.pid" ]; then
		pg=$(cat "$run/qemu.pid")
		if grep -qa -- "$run" "/proc/$pg/cmdline" 2>/dev/null; then
			kill -KILL -- "-$pg" 2>/dev/null || true
		fi
	fi
	for f in "$run"/*.pgid; do
		[ -e "$f" ] || continue
		pg=$(cat "$f")
		kill -KILL -- "-$pg" 2>/dev/null || true
	done
	if [ "$keep" = 1 ]; then
		echo "# run: kept run dir $run"
		[ "$own_shared" = 0 ] || echo "# run: kept shared dir $shared"
	else
		rm -rf "$run"
		[ "$own_shared" = 0 ] || rm -rf "$shared"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

t_start=$(date +%s)
say() {
	echo "# run: $*"
}

# ---------------------------------------------------------------- initramfs
# The base image (busybox, kernel modules) is cached per kernel release in
# $build/vm; the overlay (init, settings, driver, tests, suites) is made for
# every boot and appended: the kernel unpacks concatenated archives in turn.
cpio_gz() { # DIR OUT
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet | gzip -1 -n) >"$2"
}

base_key() {
	local m f
	echo "format $BASE_FORMAT kver $kver modules $BASE_MODULES"
	stat -Lc '%n %s %Y' "$BUSYBOX"
	for m in $BASE_MODULES; do
		f=$(modinfo -k "$kver" -n "$m") || die "module $m not found for $kver"
		# Built into the kernel (Debian's 6.12 has virtio and fuse so).
		[ "$f" = "(builtin)" ] && { echo "$m builtin"; continue; }
		stat -Lc '%n %s %Y' "$f"
	done
}

build_base() { # OUT
	local st m f a
	st=$(mktemp -d "$run/base.XXXXXX")
	mkdir -p "$st"/{bin,dev,proc,sys,tmp,run,mnt,root,etc,lib/kmod,lib/vfs,usr,tests,suites}
	cp "$BUSYBOX" "$st/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -s busybox "$st/bin/$a"
	done
	ln -s bin "$st/sbin"
	ln -s ../bin "$st/usr/bin"
	ln -s ../bin "$st/usr/sbin"
	mknod -m 600 "$st/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$st/dev/null" c 1 3 2>/dev/null || true
	: >"$st/etc/vfs-modules"
	for m in $BASE_MODULES; do
		f=$(modinfo -k "$kver" -n "$m")
		[ "$f" = "(builtin)" ] && continue
		decompress_to "$f" "$st/lib/kmod/$m.ko"
		echo "$m" >>"$st/etc/vfs-modules"
	done
	cpio_gz "$st" "$1"
	rm -rf "$st"
}

cache=$build/vm
mkdir -p "$cache"
key=$(base_key)
(
	flock 8
	if [ ! -s "$cache/base.cpio.gz" ] || [ "$(cat "$cache/base.key" 2>/dev/null)" != "$key" ]; then
		say "building the base initramfs for $kver (cached in $cache)"
		build_base "$cache/base.cpio.gz.tmp"
		mv "$cache/base.cpio.gz.tmp" "$cache/base.cpio.gz"
		echo "$key" >"$cache/base.key"
	fi
) 8>"$cache/.lock"

sq() { # shell-quote for the guest's sh
	printf "'%s'" "${1//\'/\'\\\'\'}"
}

ov=$run/overlay
mkdir -p "$ov/etc" "$ov/lib/vfs" "$ov/tests" "$ov/suites"
install -m 755 "$here/init" "$ov/init"
[ "$modfile" = "(builtin)" ] || decompress_to "$modfile" "$ov/lib/vfs/$modname.ko"
ntests=0
if [ -d "$build/selftests" ]; then
	for f in "$build/selftests"/*; do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			continue
		fi
		cp "$f" "$ov/tests/"
		ntests=$((ntests + 1))
	done
fi
cp -r "$selftests/suites/." "$ov/suites/"
[ -z "$script" ] || cp "$script" "$ov/suites/$suite.sh"
disk_devs=()
letters=abcdefghijklmnopqrstuvwxyz
for i in "${!disks[@]}"; do
	disk_devs+=("/dev/vd${letters:$i:1}")
done
{
	echo "VFS_SUITE=$(sq "$suite")"
	echo "VFS_TAG=$(sq "$tag")"
	echo "VFS_MNT=$(sq "$mnt")"
	echo "VFS_FSTYPE=$(sq "$fstype")"
	echo "VFS_MODULE=$(sq "/lib/vfs/$modname.ko")"
	echo "VFS_MODNAME=$(sq "$modname")"
	echo "VFS_MODKIND=$(sq "$modkind")"
	echo "VFS_MODPARAMS=$(sq "$modparams")"
	echo "VFS_DRIVER_GUESS=$(sq "$modname")"
	echo "VFS_NOMOUNT=$hdr_nomount"
	echo "VFS_NOLOAD=$hdr_noload"
	echo "VFS_MOUNTOPTS=$(sq "$hdr_mountopts")"
	echo "VFS_QUEUE_SIZE=$queue_size"
	echo "VFS_DISKS=$(sq "${disk_devs[*]}")"
	echo "VFS_SUITE_TIMEOUT=$guest_limit"
	echo "VFS_HIBERNATE=$hibernate"
} >"$ov/etc/vfs.env"
cpio_gz "$ov" "$run/overlay.cpio.gz"
cat "$cache/base.cpio.gz" "$run/overlay.cpio.gz" >"$run/initrd.img"
# Extra directories (--extra-dir) go last, uncompressed: they can be large
# (a dynamically linked binary with its libraries), and unpacking a plain
# archive is much faster under TCG than inflating it. The kernel unpacks
# concatenated archives in turn, so their files win over the base's; a
# plain archive must start at a multiple of 4 bytes (zeros pad).
for d in "${extra_dirs[@]}"; do
	sz=$(stat -c %s "$run/initrd.img")
	truncate -s $(((sz + 3) / 4 * 4)) "$run/initrd.img"
	(cd "$d" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >>"$run/initrd.img"
done

# ---------------------------------------------------------------- QEMU
hib_append=
[ "$hibernate" = 0 ] || hib_append=$HIBERNATE_APPEND
# shellcheck disable=SC2054 # the commas are inside QEMU arguments
case $tcg_thread in
multi | single) ;;
*) die "--tcg-thread: multi or single, not '$tcg_thread'" ;;
esac
qemu=("$QEMU" -accel "tcg,thread=$tcg_thread" -machine pc -m "$mem" -smp "$smp"
	-object "memory-backend-memfd,id=mem,size=$mem,share=on"
	-numa node,memdev=mem
	-nodefaults -display none -no-reboot
	-kernel "$kernel" -initrd "$run/initrd.img"
	-append "console=ttyS0,115200 loglevel=$loglevel panic=-1 printk.devkmsg=on vfs_suite=$suite vfs_tag=$tag vfs_mnt=$mnt${hib_append:+ $hib_append}${append:+ $append}"
	-chardev "socket,id=con0,path=$run/console.sock" -serial chardev:con0
	-chardev "socket,id=port0,path=$run/data.sock" -serial chardev:port0
	-chardev "socket,id=char0,path=$run/vfsd0.sock"
	-device "vhost-user-fs-pci,id=vfs0,queue-size=$queue_size,chardev=char0,tag=$tag$device_opts"
	-qmp "unix:$run/qmp.sock,server=on,wait=off")
for i in "${!disks[@]}"; do
	d=${disks[$i]}
	case "$d" in
	new:*)
		truncate -s "${d#new:}" "$run/disk$i.img"
		d=$run/disk$i.img
		;;
	esac
	[ -e "$d" ] || die "no disk image $d"
	fmt=raw
	case "$d" in *.qcow2) fmt=qcow2 ;; esac
	qemu+=(-drive "file=$d,if=none,id=disk$i,format=$fmt,cache=unsafe"
		-device "virtio-blk-pci,drive=disk$i,id=blk$i")
done
# The swap disk for hibernation comes last, so the --disk ones keep their
# names; the guest finds it by its serial. It holds the image across the
# QEMU restart.
if [ "$hibernate" -gt 0 ]; then
	truncate -s "$SWAP_SIZE" "$run/swap.img"
	qemu+=(-drive "file=$run/swap.img,if=none,id=swap,format=raw,cache=unsafe"
		-device "virtio-blk-pci,drive=swap,id=swapblk,serial=vfs-swap")
fi
# shellcheck disable=SC2206 # extra QEMU arguments are separate words
[ -z "$qemu_opts" ] || qemu+=($qemu_opts)

{
	echo "suite=$suite suite_file=$suite_file"
	echo "kver=$kver module=$modkind file=$modfile name=$modname params=$modparams"
	echo "queue_size=$queue_size tag=$tag mnt=$mnt fstype=$fstype timeout=$timeout guest_limit=$guest_limit"
	echo "virtiofsd_opts=$vfsd_opts"
	echo "shared=$shared run=$run tests=$ntests disks=${disks[*]}"
	echo "hibernate=$hibernate swap_size=$SWAP_SIZE"
	echo "extra_dirs=${extra_dirs[*]}"
} >"$log_dir/run.env"

say "suite $suite, module $modkind ($modfile), kernel $kver, queue-size $queue_size, timeout ${timeout}s"
say "virtiofsd opts: $vfsd_opts; shared dir $shared; $ntests test binaries; logs in $log_dir"

# ---------------------------------------------------------------- hooks
hook_env() {
	export VFS_SUITE=$suite VFS_TAG=$tag VFS_SHARED=$shared VFS_KVER=$kver
	export VFS_MODKIND=$modkind VFS_LOG_DIR=$log_dir
}

run_hook() { # pre|post
	local hook=$hook_base.host-$1 rc=0
	[ -e "$hook" ] || return 0
	say "host-$1: $hook $shared"
	hook_env
	if [ -x "$hook" ]; then
		timeout 300 "$hook" "$shared" >"$log_dir/host-$1.log" 2>&1 || rc=$?
	else
		timeout 300 bash "$hook" "$shared" >"$log_dir/host-$1.log" 2>&1 || rc=$?
	fi
	cat "$log_dir/host-$1.log"
	echo "$rc" >"$log_dir/host-$1.rc"
	[ "$rc" = 0 ] || say "host-$1 exited with $rc"
}

run_hook pre
# The monitor runs suites/NAME.host-between between the boots of a
# hibernation, with this environment.
hook_env

# ---------------------------------------------------------------- boot
margs=(--run-dir "$run" --log-dir "$log_dir" --timeout "$timeout"
	--virtiofsd "$VIRTIOFSD" --virtiofsd-opts "$vfsd_opts"
	--shared "$shared" --tag "$tag" --queue-size "$queue_size")
[ "$quiet" = 0 ] || margs+=(--quiet)
[ "$allow_warn" = 0 ] || margs+=(--allow-warn)
[ "$hibernate" = 0 ] || margs+=(--hibernate "$hibernate"
	--between-hook "$hook_base.host-between")
"$PYTHON" -u "$here/monitor.py" "${margs[@]}" -- "${qemu[@]}" &
monitor_pid=$!
mrc=0
wait "$monitor_pid" || mrc=$?
monitor_pid=

# Defaults in case the monitor could not write its result.
end_seen=0 suite_exit='' guest_timeout=0 host_timeout=0 poweroff_ok=0
shutdown_reason='' kernel_problems=0 actions=0 boots=1 hibernations=0
hibernate_error='' s3_resume_death='' early_death='' tcg_int3=''
monitor_error="monitor exited with $mrc" elapsed=0
# shellcheck disable=SC1091 # written by monitor.py
[ ! -r "$run/monitor.result" ] || . "$run/monitor.result"

export VFS_DATA_LOG=$log_dir/data.log VFS_CONSOLE_LOG=$log_dir/console.log
export VFS_DMESG_LOG=$log_dir/dmesg.log VFS_SUITE_EXIT=${suite_exit:-}
run_hook post

# ---------------------------------------------------------------- verdict
# KTAP results at the start of a line count; indented lines are subtests
# that their parent's line summarizes. The dmesg dump is not suite output.
count_ktap() { # FILE -> "ok notok skip"
	[ -r "$1" ] || { echo "0 0 0"; return; }
	awk '
		{ sub(/\r$/, "") }
		/^VFS-DMESG-BEGIN/ { skipblk = 1; next }
		/^VFS-DMESG-END/ { skipblk = 0; next }
		skipblk { next }
		/^(not )?ok [0-9]+/ {
			s = tolower($0)
			if (s ~ /# *(skip|todo)/) { skip++; ok++ }
			else if ($1 == "not") notok++
			else ok++
		}
		END { printf "%d %d %d\n", ok, notok, skip }' "$1"
}

passed=0 failed=0
reasons=()
fail() {
	failed=$((failed + 1))
	reasons+=("$*")
}

read -r g_ok g_notok g_skip < <(count_ktap "$log_dir/data.log")
passed=$((passed + g_ok))
failed=$((failed + g_notok))
[ "$g_notok" = 0 ] || reasons+=("$g_notok guest test(s) not ok")
hooks="pre"
for f in "$log_dir"/host-between-*.log; do
	[ -e "$f" ] || continue
	f=${f##*/host-}
	hooks="$hooks ${f%.log}"
done
for h in $hooks post; do
	[ -r "$log_dir/host-$h.log" ] || continue
	read -r h_ok h_notok _ < <(count_ktap "$log_dir/host-$h.log")
	passed=$((passed + h_ok))
	failed=$((failed + h_notok))
	[ "$h_notok" = 0 ] || reasons+=("$h_notok host-$h check(s) not ok")
	h_rc=$(cat "$log_dir/host-$h.rc")
	if [ "$h_rc" != 0 ] && [ "$h_notok" = 0 ]; then
		fail "host-$h exited with $h_rc"
	fi
done

if [ -n "$monitor_error" ]; then
	fail "harness error: $monitor_error"
fi
if [ -n "$tcg_int3" ]; then
	fail "a kernel int3 oops, TCG and text patching (selftests/README.rst, \"Guests that die under TCG\"): $tcg_int3"
fi
if [ -n "$early_death" ]; then
	fail "$early_death (selftests/README.rst, \"Guests that die under TCG\")"
fi
if [ -n "$s3_resume_death" ]; then
	fail "real S3 under TCG: $s3_resume_death (selftests/README.rst, \"Guests that die under TCG\")"
fi
if [ -n "$hibernate_error" ]; then
	fail "hibernation: $hibernate_error"
fi
if [ "$host_timeout" = 1 ]; then
	fail "timeout: the boot was killed after ${timeout}s"
elif [ "$guest_timeout" = 1 ]; then
	fail "timeout: the suite ran longer than ${guest_limit}s (guest watchdog)"
elif [ "$end_seen" != 1 ]; then
	fail "the guest ended without an end marker${shutdown_reason:+ (QEMU: $shutdown_reason)}"
elif [ "$suite_exit" != 0 ] && [ "$g_notok" = 0 ]; then
	case "$suite_exit" in
	125) fail "guest setup failed (module load or mount; exit 125)" ;;
	126) fail "guest found no suite script (exit 126)" ;;
	127) fail "guest could not resume from its hibernation image (exit 127)" ;;
	*) fail "suite exited with $suite_exit" ;;
	esac
fi
if [ "$end_seen" = 1 ] && [ "$poweroff_ok" != 1 ] && [ "$host_timeout" != 1 ]; then
	fail "the guest did not power off after its end marker"
fi
if [ "$kernel_problems" != 0 ]; then
	fail "kernel reported $kernel_problems problem(s) (oops/BUG/WARN)"
	say "kernel problems (full logs: $log_dir/console.log, dmesg.log):"
	head -n 20 "$log_dir/kernel-problems.log" | sed 's/^/#   /'
	[ "$kernel_problems" -le 20 ] ||
		say "... $((kernel_problems - 20)) more in $log_dir/kernel-problems.log"
fi
if [ $((passed + failed)) = 0 ]; then
	fail "the suite reported no results"
fi

duration=$(($(date +%s) - t_start))
hib_summary=
[ "$hibernate" = 0 ] || hib_summary="; $hibernations of $hibernate hibernation(s), $boots QEMU boot(s)"
say "suite $suite: $g_ok ok ($g_skip skipped), $g_notok not ok in the guest; boot ${elapsed}s, total ${duration}s; $actions host action(s)$hib_summary"
status=PASS
if [ "$failed" != 0 ]; then
	status=FAIL
	for r in "${reasons[@]}"; do
		say "FAIL: $r"
	done
fi
say "$status: $passed passed, $failed failed"
if [ -n "$result" ]; then
	{
		echo "passed=$passed"
		echo "failed=$failed"
		echo "duration=$duration"
		echo "status=$status"
		echo "env_death=$([ -n "$s3_resume_death$early_death$tcg_int3" ] && echo 1 || echo 0)"
		printf 'reasons=%q\n' "$(IFS=';'; echo "${reasons[*]:-}")"
	} >"$result"
fi
cp "$run/monitor.result" "$log_dir/" 2>/dev/null || true
[ "$failed" = 0 ]
