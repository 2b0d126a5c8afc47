#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""report.py: turn one `make bench` run's raw data into the report.

Reads RAW/boots.tsv (one line per guest boot) and RAW/<boot>/ (fio's JSON
files, recovery.txt), writes OUT/latest.md, OUT/latest.png (ratios ours /
in-tree), OUT/latest-recovery.png, dated copies of the three
(OUT/bench-STAMP.*), and prints the tables. Called by bench/run.sh.
"""

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

# key, label, unit, boot kind, job file, how to get the value from fio's
# "jobs" list, better, target ratio
LAT = "randread_qd64_lat"
METRICS = [
    ("seqwrite", "seq write 1 MiB", "MiB/s", "throughput", "seqwrite",
     lambda js: js[0]["write"]["bw"] / 1024.0, "higher", 1.0),
    ("seqread", "seq read 1 MiB", "MiB/s", "throughput", "seqread",
     lambda js: js[0]["read"]["bw"] / 1024.0, "higher", 1.0),
    ("randread_qd1", "randread 4 KiB QD1 (psync, O_DIRECT)", "IOPS",
     "throughput", "randread_qd1", lambda js: js[0]["read"]["iops"],
     "higher", 1.0),
    ("randread_qd16", "randread 4 KiB QD16 (libaio, O_DIRECT)", "IOPS",
     "throughput", "randread_qd16", lambda js: js[0]["read"]["iops"],
     "higher", 1.0),
    ("randwrite_qd16", "randwrite 4 KiB QD16 (libaio, O_DIRECT)", "IOPS",
     "throughput", "randwrite_qd16", lambda js: js[0]["write"]["iops"],
     "higher", 1.0),
    ("filecreate", "file creates (1 / mean create latency)", "files/s",
     "throughput", "filecreate", lambda js: engine_rate(js), "higher", 1.0),
    ("filecreate_wall", "file creates (fio wall clock, with close)",
     "files/s", "throughput", "filecreate", lambda js: wall_rate(js),
     "higher", 1.0),
    ("filestat", "file stats, expired entry (1 / mean stat latency)",
     "stats/s", "throughput", "filestat", lambda js: engine_rate(js),
     "higher", 1.0),
    ("filestat_wall", "file stats, expired entry (fio wall clock)",
     "stats/s", "throughput", "filestat", lambda js: wall_rate(js),
     "higher", 1.0),
    ("qd64_iops", "randread 4 KiB QD64 IOPS, queue-size {qs}", "IOPS",
     "latency", LAT, lambda js: js[0]["read"]["iops"], "higher", 1.0),
    ("lat_p50", "randread 4 KiB QD64 p50 latency, queue-size {qs}", "us",
     "latency", LAT, lambda js: pct(js[0], "50.000000"), "lower", 1.0),
    ("lat_p99", "randread 4 KiB QD64 p99 latency, queue-size {qs}", "us",
     "latency", LAT, lambda js: pct(js[0], "99.000000"), "lower", 0.5),
    ("rf_iops", "same, ring full (no indirect descriptors): IOPS", "IOPS",
     "ringfull", LAT, lambda js: js[0]["read"]["iops"], "higher", 1.0),
    ("rf_p50", "same, ring full (no indirect descriptors): p50", "us",
     "ringfull", LAT, lambda js: pct(js[0], "50.000000"), "lower", 1.0),
    ("rf_p99", "same, ring full (no indirect descriptors): p99", "us",
     "ringfull", LAT, lambda js: pct(js[0], "99.000000"), "lower", 0.5),
]

SHORT = {
    "seqwrite": "seq write",
    "seqread": "seq read",
    "randread_qd1": "randread QD1",
    "randread_qd16": "randread QD16",
    "randwrite_qd16": "randwrite QD16",
    "filecreate": "creates/s",
    "filecreate_wall": "creates/s (wall)",
    "filestat": "stats/s",
    "filestat_wall": "stats/s (wall)",
    "qd64_iops": "QD64 IOPS qs16",
    "lat_p50": "QD64 p50 qs16",
    "lat_p99": "QD64 p99 qs16",
    "rf_iops": "QD64 IOPS ring full",
    "rf_p50": "QD64 p50 ring full",
    "rf_p99": "QD64 p99 ring full",
}

DRIVERS = ("intree", "ours")
KMALLOC = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096]


def engine_rate(jobs):
    """Operations per second from the engine's own timing of each create
    or stat (clat), over all jobs: fio's bookkeeping between files is not
    in it."""
    n = sum(j["read"]["clat_ns"]["N"] for j in jobs)
    ns = sum(j["read"]["clat_ns"]["mean"] * j["read"]["clat_ns"]["N"]
             for j in jobs)
    if not n or not ns:
        raise ValueError("no clat samples")
    return n * 1e9 / ns


def wall_rate(jobs):
    """Operations per second of fio's run time, over all jobs."""
    ios = sum(j["read"]["total_ios"] for j in jobs)
    ms = sum(j["read"]["runtime"] for j in jobs)
    if not ms:
        raise ValueError("no runtime")
    return ios * 1000.0 / ms


def pct(job, p):
    """Total (submission + completion) latency percentile in us."""
    lat = job["read"].get("lat_ns", {})
    perc = lat.get("percentile") or job["read"]["clat_ns"]["percentile"]
    return perc[p] / 1000.0


def load_json(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON in " + path)
    return json.loads(text[start:])


def median(v):
    return statistics.median(v) if v else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if unit in ("MiB/s",) or abs(v) < 100:
        return "%.1f" % v
    return "%.0f" % v


def read_boots(raw):
    with open(os.path.join(raw, "boots.tsv"), encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def compare(raw, boots):
    """{key: {driver: [(round, value)]}} and a list of problems."""
    data = {m[0]: {d: [] for d in DRIVERS} for m in METRICS}
    problems = []
    for b in boots:
        if b["kind"] not in ("throughput", "latency", "ringfull"):
            continue
        if b["status"] != "PASS":
            problems.append("boot %s: %s" % (b["name"], b["status"]))
        for key, _, _, kind, job, get, _, _ in METRICS:
            if kind != b["kind"]:
                continue
            path = os.path.join(raw, b["name"], job + ".json")
            if not os.path.exists(path):
                continue
            try:
                js = load_json(path)["jobs"]
                errs = [j["error"] for j in js if j.get("error")]
                if errs:
                    problems.append("boot %s: fio job %s error %s" %
                                    (b["name"], job, errs[0]))
                    continue
                data[key][b["driver"]].append((int(b["round"]), get(js)))
            except (ValueError, KeyError, IndexError) as e:
                problems.append("boot %s: %s: %s" % (b["name"], job, e))
    return data, problems


def parse_kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def recovery(raw, boots):
    """{case: [dict per suspend]} in the order of the file."""
    cases = {}
    for b in boots:
        if b["kind"] != "recovery":
            continue
        path = os.path.join(raw, b["name"], "recovery.txt")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                kv = parse_kv(line)
                if "tag" in kv:
                    cases.setdefault(kv["tag"], []).append(kv)
    return cases


def kmalloc_round(n):
    for k in KMALLOC:
        if n <= k:
            return k
    return n


def git_describe(top):
    try:
        return subprocess.run(
            ["git", "-C", top, "describe", "--always", "--dirty"],
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return "unknown"


def cpu_model():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def gnuplot_terminal():
    out = subprocess.run(["gnuplot", "-e", "set terminal"],
                         capture_output=True, text=True).stderr
    out += subprocess.run(["gnuplot", "-e", "set terminal"],
                          capture_output=True, text=True).stdout
    if re.search(r"^\s*pngcairo\s", out, re.M):
        return "pngcairo size 1200,600 font 'sans,10'"
    return "png size 1200,600"


def plot_ratios(rows, path, title, workdir):
    dat = os.path.join(workdir, "ratios.dat")
    with open(dat, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            if r["ratio"] is None:
                continue
            color = "0x2e8b57" if r["met"] else "0xcd3333"
            # the target is marked where it is not the dashed 1.00 line
            f.write('%d "%s" %.4f %s %s\n' % (
                i, r["short"] + ("\\n(lower=better)"
                                 if r["better"] == "lower" else ""),
                r["ratio"], color,
                "%.2f" % r["target"] if r["target"] != 1.0 else "NaN"))
    ymax = max([r["ratio"] for r in rows if r["ratio"] is not None] + [1.2])
    script = """
set terminal %s
set termoption noenhanced
set output '%s'
set title "%s"
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set key off
set yrange [0:%f]
set xrange [-0.6:%f]
set ylabel "ours / in-tree (medians)"
set bmargin 7
set xtics rotate by -35
set arrow from -0.6,1 to %f,1 nohead lw 2 dt 2 lc rgb "black"
plot '%s' using 1:3:4:xtic(2) with boxes lc rgb variable, \\
     '' using 1:3:(sprintf("%%.2f", $3)) with labels offset 0,0.7, \\
     '' using 1:5 with points pt 2 ps 2 lw 2 lc rgb "black" title "target"
""" % (gnuplot_terminal(), path, title, ymax * 1.15, len(rows) - 0.4,
       len(rows) - 0.4, dat)
    run_gnuplot(script, workdir, "ratios.gp")


def plot_recovery(inode_pts, handle_pts, extrap, path, workdir):
    """inode_pts/handle_pts: (x, med_ms, min_ms, max_ms, first_ms)."""
    d1 = os.path.join(workdir, "rec-inodes.dat")
    d2 = os.path.join(workdir, "rec-handles.dat")
    d3 = os.path.join(workdir, "rec-extrap.dat")
    for dat, pts in ((d1, inode_pts), (d2, handle_pts)):
        with open(dat, "w", encoding="utf-8") as f:
            for p in pts:
                f.write("%g %g %g %g %g\n" % p)
    with open(d3, "w", encoding="utf-8") as f:
        if extrap:
            f.write("%g %g\n" % extrap)
    term = gnuplot_terminal().replace("1200,600", "1100,460")
    script = """
set terminal %s
set termoption noenhanced
set output '%s'
set multiplot layout 1,2 title "virtio_fs.ko: session recovery after a suspend (pm_test devices, TCG)"
set grid
set logscale x
set key top left
set ylabel "ms"
set yrange [0:*]
set xlabel "cached inodes (tracked nodes)"
set title "recovery vs cached inodes"
set xrange [0.5:300000]
plot '%s' using 1:2:3:4 with yerrorlines pt 7 lw 2 title "last_recovery_us (median, min-max)", \\
     '%s' using 1:5 with linespoints pt 4 title "first request after resume", \\
     '%s' using 1:2 with points pt 12 ps 2 lc rgb "red" title "extrapolated (linear fit)"
set xlabel "open handles"
set title "recovery vs open handles (log-log)"
set xrange [5:5000]
set logscale y
set yrange [*:*]
plot '%s' using 1:2:3:4 with yerrorlines pt 7 lw 2 title "last_recovery_us (median, min-max)", \\
     '%s' using 1:5 with linespoints pt 4 title "first request after resume"
unset multiplot
""" % (term, path, d1, d1, d3, d2, d2)
    if not extrap:
        script = script.replace(
            ", \\\n     '%s' using 1:2 with points pt 12 ps 2 lc rgb \"red\""
            " title \"extrapolated (linear fit)\"" % d3, "")
    run_gnuplot(script, workdir, "recovery.gp")


def run_gnuplot(script, workdir, name):
    gp = os.path.join(workdir, name)
    with open(gp, "w", encoding="utf-8") as f:
        f.write(script)
    subprocess.run(["gnuplot", gp], check=True)


def linfit(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, 0.0
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def main():
    ap = argparse.ArgumentParser()
    for a in ("raw", "out", "stamp", "cmdline", "kver", "duration", "rounds",
              "virtiofsd-opts", "lat-queue-size", "runtime", "seq-size",
              "create-files", "stat-files", "recovery-reps", "intree",
              "ours"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--tree", help="git describe of the module's tree")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    qs = args.lat_queue_size
    args.tree = args.tree or git_describe(top)

    boots = read_boots(args.raw)
    data, problems = compare(args.raw, boots)
    cases = recovery(args.raw, boots)
    for b in boots:
        if b["kind"] == "recovery" and b["status"] != "PASS":
            problems.append("boot %s: %s" % (b["name"], b["status"]))

    now = datetime.datetime.now().astimezone()
    L = []
    L.append("# virtio_fs.ko benchmark%s" % (" (--quick: not a result)"
                                             if args.quick else ""))
    L.append("")
    dur = int(args.duration)
    L.append("- Date: %s" % now.strftime("%Y-%m-%d %H:%M:%S %Z"))
    L.append("- Command: `%s` (duration %d min %02d s, %d guest boots)"
             % (args.cmdline, dur // 60, dur % 60, len(boots)))
    L.append("- Kernel release (guest and modules): %s; host kernel %s"
             % (args.kver, platform.release()))
    L.append("- Machine: nproc %d, CPU %s; guests under QEMU TCG, "
             "%s-threaded (2 vCPUs, 2 GiB)"
             % (os.cpu_count(), cpu_model(),
                os.environ.get("VFS_TCG_THREAD", "single")))
    L.append("- In-tree driver: `%s`" % args.intree)
    L.append("- Ours: `virtio_fs.ko` (sha256 %s...) built from the tree "
             "at %s (`git describe --always --dirty` when the run began)"
             % (sha256(args.ours)[:16], args.tree))
    L.append("- virtiofsd: QEMU 7.2's C virtiofsd `%s`, the same for both "
             "drivers; ring size 1024, and %s for the latency boots"
             % (args.virtiofsd_opts, qs))
    L.append("- fio 3.33 (Debian's, with its libraries in the initramfs)")
    L.append("")

    # ------------------------------------------------------------ part A
    rows = []
    for key, label, unit, _, _, _, better, target in METRICS:
        med = {d: median([v for _, v in data[key][d]]) for d in DRIVERS}
        ratio = None
        if med["intree"] and med["ours"] is not None:
            ratio = med["ours"] / med["intree"]
        met = None
        if ratio is not None:
            met = ratio >= target if better == "higher" else ratio <= target
        rows.append(dict(key=key, label=label.format(qs=qs), unit=unit,
                         better=better, target=target, med=med, ratio=ratio,
                         met=met, short=SHORT[key],
                         n={d: len(data[key][d]) for d in DRIVERS},
                         rng={d: (min(v for _, v in data[key][d]),
                                  max(v for _, v in data[key][d]))
                              if data[key][d] else None for d in DRIVERS}))
    have_a = any(r["ratio"] is not None for r in rows)
    if have_a:
        L.append("## A. Driver comparison")
        L.append("")
        L.append("Each round boots the in-tree driver and ours, one after "
                 "the other (which goes first alternates by round), with the "
                 "same virtiofsd options; %s rounds. Medians per driver; "
                 "the ratio is ours / in-tree of the medians: for "
                 "throughput >= 1.00 means ours is at least as good, for "
                 "latency <= 1.00 (target for p99: <= 0.50)." % args.rounds)
        L.append("")
        L.append("Jobs: seq write/read %s with 1 MiB blocks (buffered, the "
                 "read from a cold page cache); 4 KiB random jobs, %s s "
                 "each, on that file with O_DIRECT; %s files created and %s "
                 "files (made by the host) stat()ed, in 4 fio jobs one after "
                 "the other; each filestat job starts 1.2 s after fio's "
                 "set-up looked its files up, so that every stat() finds "
                 "its entry expired (cache=auto: 1 s) and sends a LOOKUP. "
                 "Creates "
                 "and stats per second are given twice: from the engines' "
                 "own timing of each open(O_CREAT) or stat() (1 / mean "
                 "latency), and from fio's run time, which adds the close "
                 "and fio's own per-file bookkeeping. The latency job "
                 "(libaio, iodepth 64, O_DIRECT, %s s) runs in separate boots "
                 "whose device has queue-size=%s, and again in boots whose "
                 "device also has no indirect descriptors (\"ring full\"): "
                 "the fuse core sends at most 12 asynchronous requests at "
                 "once (max_background), which a 16-entry ring holds when "
                 "each takes one descriptor, so only the second setting "
                 "fills the ring (a 4 KiB read then takes 4 descriptors). "
                 "Latency is fio's total latency (submission + completion)."
                 % (args.seq_size, args.runtime, args.create_files,
                    args.stat_files, args.runtime, qs))
        L.append("")
        L.append("| metric | unit | in-tree | ours | ours/in-tree | target "
                 "| met | in-tree min-max | ours min-max | n |")
        L.append("|---|---|---:|---:|---:|---|---|---|---|---|")
        for r in rows:
            tgt = (">= %.2f" if r["better"] == "higher" else "<= %.2f") \
                % r["target"]
            rng = {d: ("%s-%s" % (fmt(r["rng"][d][0], r["unit"]),
                                  fmt(r["rng"][d][1], r["unit"]))
                       if r["rng"][d] else "n/a") for d in DRIVERS}
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |"
                     % (r["label"], r["unit"],
                        fmt(r["med"]["intree"], r["unit"]),
                        fmt(r["med"]["ours"], r["unit"]),
                        "%.2f" % r["ratio"] if r["ratio"] is not None
                        else "n/a", tgt,
                        {True: "yes", False: "**no**", None: "n/a"}[r["met"]],
                        rng["intree"], rng["ours"], r["n"]["intree"],
                        r["n"]["ours"]))
        L.append("")
        L.append("![ratios ours/in-tree](latest.png)")
        L.append("")
        L.append("### Every boot")
        L.append("")
        rounds = sorted({rd for k in data for d in DRIVERS
                         for rd, _ in data[k][d]})
        L.append("| metric | driver | " +
                 " | ".join("round %d" % rd for rd in rounds) + " |")
        L.append("|---|---|" + "---:|" * len(rounds))
        for r in rows:
            for d in DRIVERS:
                vals = dict(data[r["key"]][d])
                L.append("| %s | %s | %s |" % (
                    r["short"], d, " | ".join(fmt(vals.get(rd), r["unit"])
                                              for rd in rounds)))
        L.append("")

    # ------------------------------------------------------------ part B
    inode_pts, handle_pts, extrap = [], [], None
    if cases:
        L.append("## B. Session recovery after a suspend (ours)")
        L.append("")
        L.append("One boot; each case on a fresh mount: the guest caches N "
                 "inodes (lists a directory the host filled and lstat()s "
                 "every entry) or opens H files and keeps them open, then "
                 "suspends %s times with `pm_test=devices` (freeze, device "
                 "reset, restore; pm_test_delay 0). `last_recovery_us` is "
                 "the driver's own measure (debugfs session file); \"first "
                 "request\" is the time from the return of the write to "
                 "/sys/power/state until a LOOKUP of a new name in the "
                 "mount's root completes; \"suspend write\" is how long that "
                 "write took (freeze + restore of every device). Medians "
                 "over the suspends (min-max)." % args.recovery_reps)
        L.append("")
        L.append("| case | tracked nodes | handles | last_recovery (ms) "
                 "| first request (ms) | suspend write (ms) | caching took (s) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")

        def ms(vals):
            v = [x / 1000.0 for x in vals]
            return median(v), min(v), max(v)

        for tag, reps in cases.items():
            rec = ms([int(k["last_recovery_us"]) for k in reps])
            first = ms([int(k["first_req_us"]) for k in reps])
            susp = ms([int(k["suspend_us"]) for k in reps])
            nodes = int(reps[-1].get("nodes", 0))
            held = int(reps[-1].get("handles", 0))
            L.append("| %s | %d | %d | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) "
                     "| %.0f (%.0f-%.0f) | %.1f |"
                     % (tag, nodes, held, *rec, *first, *susp,
                        int(reps[0]["cache_us"]) / 1e6))
            if tag == "empty" or tag.startswith("inodes="):
                inode_pts.append((nodes, rec[0], rec[1], rec[2], first[0]))
            if tag.startswith("handles="):
                handle_pts.append((int(tag.split("=")[1]), rec[0], rec[1],
                                   rec[2], first[0]))
        inode_pts.sort()
        handle_pts.sort()
        fit_pts = [p for p in inode_pts if p[0] > 0]
        if len(fit_pts) >= 2:
            a, b = linfit([p[0] for p in fit_pts], [p[1] for p in fit_pts])
            grows = b > 0
            if grows:
                extrap = (100000, a + b * 100000)
                how = "linear fit"
            else:
                extrap = (100000, max(p[1] for p in fit_pts))
                how = "no growth measured: the largest median"
            L.append("| **inodes=100000 (extrapolated)** | 100000 | 0 | "
                     "**%.1f** (%s) | - | - | - |" % (extrap[1], how))
        L.append("")
        if extrap:
            fit = ("a least-squares line through the medians of the measured "
                   "inode cases (%.2f ms + %.3f us per node), extrapolated"
                   % (a, b * 1000.0) if grows else
                   "not a fit: the measured medians do not grow with the "
                   "number of inodes (the line through them has a slope of "
                   "%.3f us per node), so it repeats the largest of them"
                   % (b * 1000.0))
            L.append("100,000 cached inodes were **not measured**: QEMU's C "
                     "virtiofsd holds one descriptor per inode the guest "
                     "knows and the open-file limit here is 20,000, so the "
                     "benchmark stays at or below 15,000 live inodes per "
                     "virtiofsd. The 100k row is %s." % fit)
            L.append("")

        # memory per tracked inode, from the largest inode case
        big = None
        for tag, reps in cases.items():
            if tag.startswith("inodes="):
                if big is None or int(reps[-1]["nodes"]) > int(
                        big[-1]["nodes"]):
                    big = reps
        if big and "slab_after_num_slabs" in big[-1]:
            k = big[-1]
            dn = int(k["nodes"]) - int(k.get("nodes_before", 1))
            pages = int(k["slab_after_num_slabs"]) - int(
                k["slab_before_num_slabs"])
            page_b = int(k["slab_after_pagesperslab"]) * 4096.0
            packed = page_b / int(k["slab_after_objperslab"])
            grown = pages * page_b / dn if dn > 0 else None
            names = int(k["name_bytes"]) / float(k["nodes"])
            rounded = kmalloc_round(int(round(names)))
            L.append("### Memory per tracked inode")
            L.append("")
            L.append("From `/proc/slabinfo` (cache `vtfs_node`) and the "
                     "session's `name_bytes` (case %s: %d nodes added):"
                     % (k["tag"], dn))
            L.append("")
            L.append("| | bytes per tracked inode |")
            L.append("|---|---:|")
            L.append("| `struct vtfs_node` (debugfs `node_bytes`) | %s |"
                     % k.get("node_bytes", "n/a"))
            L.append("| slab object size (slabinfo `objsize`) | %s |"
                     % k["slab_after_objsize"])
            L.append("| **without names**: slab footprint (%d objects per "
                     "%d-byte slab) | **%.1f** |"
                     % (int(k["slab_after_objperslab"]), page_b, packed))
            if grown is not None:
                L.append("| cross-check: slab growth / nodes added | %.1f |"
                         % grown)
            L.append("| names (`name_bytes` / nodes: length + NUL) | %.1f |"
                     % names)
            L.append("| **with names** (slab footprint + name_bytes) | "
                     "**%.1f** |" % (packed + names))
            L.append("| with names rounded up to kmalloc-%d | %.1f |"
                     % (rounded, packed + rounded))
            L.append("| 100,000 inodes with names (extrapolated) | "
                     "%.1f MiB |" % ((packed + names) * 100000 / 1048576.0))
            L.append("")
            L.append("Names here are 7 characters (`i000123`); a name costs "
                     "its length + 1 rounded up to a kmalloc size. The slab "
                     "growth can be below the footprint when slabs freed by "
                     "an earlier case are reused. Not counted: the id xarray "
                     "and the name hash table (the design estimates ~9 + ~8 "
                     "bytes per node).")
            L.append("")
        L.append("![recovery time](latest-recovery.png)")
        L.append("")

    if problems:
        L.append("## Problems during this run")
        L.append("")
        for p in problems:
            L.append("- " + p)
        L.append("")

    # ------------------------------------------------------------ output
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(os.path.dirname(args.raw.rstrip("/")), "plot")
    os.makedirs(work, exist_ok=True)
    dated = "bench-%s" % args.stamp
    if have_a:
        plot_ratios(rows, os.path.join(args.out, "latest.png"),
                    "virtio_fs.ko vs in-tree virtiofs.ko: median ratio ours/"
                    "in-tree (%s rounds, TCG; dashed: 1.00, x: target)"
                    % args.rounds, work)
        shutil.copy(os.path.join(args.out, "latest.png"),
                    os.path.join(args.out, dated + ".png"))
    if inode_pts or handle_pts:
        plot_recovery(inode_pts, handle_pts, extrap,
                      os.path.join(args.out, "latest-recovery.png"), work)
        shutil.copy(os.path.join(args.out, "latest-recovery.png"),
                    os.path.join(args.out, dated + "-recovery.png"))
    text = "\n".join(L)
    with open(os.path.join(args.out, "latest.md"), "w",
              encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(args.out, dated + ".md"), "w",
              encoding="utf-8") as f:
        f.write(text.replace("(latest.png)", "(%s.png)" % dated).replace(
            "(latest-recovery.png)", "(%s-recovery.png)" % dated))
    # The tables on the terminal.
    keep = False
    for line in L:
        if line.startswith("|") or line.startswith("## ") or \
                line.startswith("### "):
            print(line)
            keep = True
        elif keep and not line:
            print()
            keep = False
    for p in problems:
        print("problem: " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
