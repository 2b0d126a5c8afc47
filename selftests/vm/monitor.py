#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of one guest boot; vm/run.sh calls it, nobody else needs to.

It owns every process of the boot: it starts virtiofsd (own session, so the
whole group can be killed: virtiofsd forks a sandboxed child), then QEMU
(argv after "--"), and streams the guest's two serial ports:

  ttyS0  kernel console  -> console.log (and stdout unless --quiet)
  ttyS1  harness port    -> data.log and stdout; the guest's init and suite
                            write their output here, so KTAP lines are never
                            torn by kernel messages. The host writes
                            acknowledgements of host actions back on it.

Lines the guest sends on the harness port (the console is accepted too):

  VFS-HOST-ACTION: <verb> <args>   perform a host action (see ACTIONS)
  VFS-DMESG-BEGIN / VFS-DMESG-END  the guest's dmesg, saved to dmesg.log
  VFS-END: suite=<name> exit=<rc>  the suite finished (" timeout" appended
                                   when the guest's own watchdog fired)
  VFS-INIT: <what>                 init's view of a hibernation image on the
                                   swap disk ("resuming ...", "resume
                                   failed", "no hibernation image")

A request may start with "@ID" (suites/lib.sh numbers its requests so);
once performed, it is acknowledged on the harness port with
"VFS-HOST-DONE: <ID> <rc> <text>" (ID is "h<n>" for a request without one,
n counting the requests of the boot). Requests run one at a time, in
arrival order. "VFS-HOST-ACTION: reply <ID>" asks for the reply to ID
again (sent only if that action is done); lib.sh sends it while it waits.

Hibernation (--hibernate N): the guest announces a hibernation with the
host action "hibernate <n>" and powers off after writing its image to the
swap disk. When QEMU then exits on that guest power-off, the boot goes on
as a real hibernation would: the old virtiofsd's group is killed, the
suite's host-between hook runs (shared dir, n), a NEW virtiofsd starts on
the same shared directory and socket, and a NEW QEMU with the same command
line (the swap disk holds the image; the guest's init resumes from it).
The guest confirms with "resumed <n> <rc>". Logs and the stream go on; the
timeout covers every boot.

It enforces the timeout, kills QEMU and every virtiofsd group it started
(also on errors and signals), scans the console and the dmesg dump for
oopses/BUGs/WARNs and writes a summary to <run-dir>/monitor.result as
shell assignments.
"""

import argparse
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

SUITES_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "suites")

# Kernel messages that fail a boot. Only lines carrying a printk timestamp
# are considered, so test output mentioning "BUG:" does not count.
PROBLEM_RES = [
    r"Oops",
    r"BUG:",
    r"kernel BUG at",
    r"WARNING:",
    r"------------\[ cut here \]",
    r"Call Trace:",
    r"general protection fault",
    r"Kernel panic",
    r"Unable to handle",
    r"INFO: task .* blocked for more than",
    r"rcu: INFO: .*detected stall",
    r"watchdog: .*lockup",
    r"UBSAN:",
    r"KASAN:",
    r"list_(add|del) corruption",
    r"page allocation failure",
]
# Seconds a guest may stay silent after a real S3 wakeup (see
# Monitor.s3_resume_died()) before the boot is stopped.
S3_STALL = 45
WARN_ONLY_RES = [r"WARNING:", r"------------\[ cut here \]", r"Call Trace:"]
TS_RE = re.compile(r"\[\s*\d+\.\d+\]\s?(.*)")


def now():
    return time.monotonic()


class Boot:
    def __init__(self, opts, qemu_argv):
        self.o = opts
        self.qemu_argv = qemu_argv
        self.run = opts.run_dir
        self.logdir = opts.log_dir
        self.out_lock = threading.Lock()
        self.stdout_ok = True
        self.ppid = os.getppid()
        self.t0 = now()
        self.qemu = None
        self.daemons = {}          # socket name -> Popen
        self.current_daemon = None
        self.next_index = 1        # vfsd<N>.sock, char<N>, vfs<N>
        self.problems = []
        self.problem_seen = set()
        self.end_seen = False
        self.end_time = None
        self.suite_exit = None
        self.guest_timeout = False
        self.host_timeout = False
        self.poweroff_ok = False
        self.shutdown_reason = ""
        self.actions = 0
        self.actions_failed = 0
        self.action_q = queue.Queue()
        self.replies = {}          # request id -> reply line, for resends
        self.data_sock = None
        self.data_send_lock = threading.Lock()
        self.qmp_sock = None
        self.qmp_lock = threading.Lock()
        self.qmp_replies = queue.Queue()
        self.qmp_ready = threading.Event()
        self.events = []           # (name, data) in arrival order
        self.events_consumed = 0   # index up to which wait_event consumed
        self.events_cv = threading.Condition()
        self.stop = threading.Event()
        self.readers = []
        self.alog = open(os.path.join(self.logdir, "actions.log"), "a",
                         buffering=1)
        self.qmp_thread = None
        self.boot_no = 1           # QEMU instances of this run, from 1
        self.abort_boot = ""       # set by a reader: stop this QEMU now
        # Hibernation round trips (see the module docstring).
        self.hib_max = opts.hibernate
        self.hib_done = 0          # restarts done (= last completed n)
        self.hib_pending = None    # n announced, guest not powered off yet
        self.hib_announced = 0.0   # when "hibernate n" arrived
        self.hib_expect_resume = False
        self.hib_times = {}        # n -> dict of timestamps
        self.hib_error = ""
        # A real S3 resume that never gave user space back (see
        # s3_resume_died()).
        self.suspend_at = None     # last QMP SUSPEND
        self.wakeup_at = None      # last QMP WAKEUP
        self.alive_at = None       # last VFS-ALIVE from the guest's init
        self.s3_resume_death = ""
        self.data_seen = False     # the guest's init wrote on its port

    # ---------------------------------------------------------- output
    def say(self, msg):
        self.emit("# host: %s" % msg)
        self.alog.write("[%8.3f] %s\n" % (now() - self.t0, msg))

    def emit(self, line):
        # Whoever reads our stdout may be gone; the logs still get it all.
        with self.out_lock:
            if self.stdout_ok:
                try:
                    sys.stdout.write(line + "\n")
                    sys.stdout.flush()
                except (OSError, ValueError):
                    self.stdout_ok = False

    # ---------------------------------------------------------- virtiofsd
    def start_virtiofsd(self, name):
        sock = os.path.join(self.run, name)
        if name in self.daemons and self.daemons[name].poll() is None:
            raise RuntimeError("virtiofsd %s is already running" % name)
        if os.path.exists(sock):
            os.unlink(sock)
        logf = open(os.path.join(self.logdir, "virtiofsd-%s.log" %
                                 name.replace(".sock", "")), "ab")
        argv = [self.o.virtiofsd, "--socket-path=%s" % sock,
                "-o", "source=%s" % self.o.shared]
        argv += shlex.split(self.o.virtiofsd_opts)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=logf, start_new_session=True)
        logf.close()
        with open(os.path.join(self.run, name + ".pgid"), "w") as f:
            f.write("%d\n" % p.pid)
        self.daemons[name] = p
        self.current_daemon = name
        deadline = now() + 15
        while not os.path.exists(sock):
            if p.poll() is not None:
                raise RuntimeError("virtiofsd %s exited with %d (see %s)" % (
                    name, p.returncode, logf.name))
            if now() > deadline:
                raise RuntimeError("virtiofsd %s: no socket after 15 s" % name)
            time.sleep(0.05)
        self.say("virtiofsd %s started (pgid %d): %s" % (
            name, p.pid, " ".join(shlex.quote(a) for a in argv)))
        return p

    def kill_virtiofsd(self, name, sig, quiet=False):
        p = self.daemons.get(name)
        if p is None:
            raise RuntimeError("no virtiofsd called %s" % name)
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        else:
            # The leader is gone; its sandboxed child may not be.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # The sandboxed child holds the pid file lock until it is gone: a
        # new virtiofsd on the same socket path needs it gone for good.
        if not self.wait_group_gone(p.pid, 2):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if not self.wait_group_gone(p.pid, 10):
                self.say("virtiofsd %s: process group %d still alive after "
                         "SIGKILL" % (name, p.pid))
        # virtiofsd keeps a pid file per socket path; drop ours.
        pidf = "/run/virtiofsd/%s.pid" % os.path.join(
            self.run, name).replace("/", ".")
        for cand in (pidf, pidf.replace("/run/virtiofsd/.", "/run/virtiofsd/")):
            try:
                os.unlink(cand)
            except OSError:
                pass
        if not quiet:
            self.say("virtiofsd %s killed with %s (exit %s)" % (
                name, signal.Signals(sig).name, p.returncode))

    @staticmethod
    def group_alive(pgid):
        """Live (not zombie) processes in process group @pgid?"""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            if len(fields) > 2 and fields[2] == str(pgid) and \
                    fields[0] not in ("Z", "X"):
                return True
        return False

    def wait_group_gone(self, pgid, timeout):
        deadline = now() + timeout
        while self.group_alive(pgid):
            if now() > deadline:
                return False
            time.sleep(0.05)
        return True

    def kill_all_daemons(self):
        for name, p in list(self.daemons.items()):
            # SIGTERM first: a daemon QEMU already left exits on its own.
            try:
                self.kill_virtiofsd(name, signal.SIGTERM, quiet=True)
            except Exception as e:   # noqa: BLE001 - best effort cleanup
                self.say("cleanup of virtiofsd %s: %s" % (name, e))

    # ---------------------------------------------------------- QMP
    def qmp_connect(self):
        path = os.path.join(self.run, "qmp.sock")
        deadline = now() + 30
        while True:
            if self.qemu.poll() is not None or self.stop.is_set():
                return
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                break
            except OSError:
                s.close()
                if now() > deadline:
                    self.say("QMP: could not connect to %s" % path)
                    return
                time.sleep(0.1)
        f = s.makefile("rb")
        greeting = f.readline()
        if not greeting:
            return
        s.sendall(b'{"execute": "qmp_capabilities"}\n')
        self.qmp_sock = s
        t = threading.Thread(target=self.qmp_reader, args=(f,), daemon=True)
        t.start()
        self.qmp_thread = t
        try:
            r = self.qmp_replies.get(timeout=10)
        except queue.Empty:
            self.say("QMP: no reply to qmp_capabilities")
            return
        if "return" in r:
            self.qmp_ready.set()

    def qmp_reader(self, f):
        for raw in f:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if "event" in msg:
                name = msg["event"]
                data = msg.get("data", {})
                if name == "SHUTDOWN":
                    self.shutdown_reason = data.get("reason", "")
                elif name == "SUSPEND":
                    self.suspend_at = now()
                elif name == "WAKEUP":
                    self.wakeup_at = now()
                with self.events_cv:
                    self.events.append((name, data))
                    self.events_cv.notify_all()
                self.say("QMP event %s %s" % (name, json.dumps(
                    data, separators=(",", ":"))))
            elif "return" in msg or "error" in msg:
                self.qmp_replies.put(msg)

    def qmp(self, cmd, args=None, raw=None):
        if not self.qmp_ready.wait(timeout=30):
            raise RuntimeError("QMP is not connected")
        if raw is None:
            raw = {"execute": cmd}
            if args:
                raw["arguments"] = args
        with self.qmp_lock:
            while not self.qmp_replies.empty():
                self.qmp_replies.get_nowait()
            self.qmp_sock.sendall(json.dumps(raw).encode() + b"\n")
            try:
                r = self.qmp_replies.get(timeout=60)
            except queue.Empty:
                raise RuntimeError("QMP: no reply to %s" % json.dumps(raw))
        return r

    def qmp_ok(self, cmd, args=None):
        r = self.qmp(cmd, args)
        if "error" in r:
            raise RuntimeError("%s: %s" % (cmd, r["error"].get("desc", r)))
        return r["return"]

    # ---------------------------------------------------------- actions
    def act_qmp(self, rest):
        try:
            raw = json.loads(rest)
        except ValueError as e:
            raise RuntimeError("qmp: bad JSON: %s" % e)
        r = self.qmp(None, raw=raw)
        text = json.dumps(r, separators=(",", ":"))
        return (1 if "error" in r else 0), text

    def act_hmp(self, rest):
        r = self.qmp_ok("human-monitor-command", {"command-line": rest})
        for line in str(r).splitlines():
            self.say("hmp| " + line)
        return 0, " | ".join(str(r).splitlines())

    def act_device_del(self, a):
        self.need(a, 1, "device_del <id>")
        self.qmp_ok("device_del", {"id": a[0]})
        return 0, "device_del %s requested" % a[0]

    def act_device_add(self, a):
        self.need(a, 3, "device_add <id> <chardev> <tag> [queue-size]")
        qs = int(a[3]) if len(a) > 3 else self.o.queue_size
        self.qmp_ok("device_add", {"driver": "vhost-user-fs-pci", "id": a[0],
                                   "chardev": a[1], "tag": a[2],
                                   "queue-size": qs})
        return 0, "device %s added (chardev %s, tag %s, queue-size %d)" % (
            a[0], a[1], a[2], qs)

    def act_chardev_add(self, a):
        self.need(a, 2, "chardev_add <id> <socket-name>")
        path = self.sock_path(a[1])
        self.qmp_ok("chardev-add", {"id": a[0], "backend": {
            "type": "socket", "data": {
                "addr": {"type": "unix", "data": {"path": path}},
                "server": False}}})
        return 0, "chardev %s -> %s" % (a[0], a[1])

    def act_chardev_remove(self, a):
        self.need(a, 1, "chardev_remove <id>")
        self.qmp_ok("chardev-remove", {"id": a[0]})
        return 0, "chardev %s removed" % a[0]

    def act_start_virtiofsd(self, a):
        self.need(a, 1, "start_virtiofsd <socket-name>")
        self.sock_path(a[0])
        p = self.start_virtiofsd(a[0])
        return 0, "virtiofsd %s pgid %d" % (a[0], p.pid)

    def act_kill_virtiofsd(self, a):
        sig = signal.SIGKILL
        name = self.current_daemon
        for arg in a:
            if arg.upper().lstrip("-").startswith("SIG") or \
                    arg.upper().lstrip("-") in ("KILL", "TERM", "INT",
                                                "STOP", "CONT"):
                s = arg.upper().lstrip("-")
                sig = signal.Signals[s if s.startswith("SIG") else "SIG" + s]
            else:
                name = arg
        if name is None:
            raise RuntimeError("no virtiofsd to kill")
        self.kill_virtiofsd(name, sig)
        return 0, "virtiofsd %s killed with %s" % (name, sig.name)

    def act_replace_device(self, a):
        tag = a[0] if len(a) > 0 else self.o.tag
        qs = int(a[1]) if len(a) > 1 else self.o.queue_size
        n = self.next_index
        self.next_index += 1
        sock, chardev, dev = "vfsd%d.sock" % n, "char%d" % n, "vfs%d" % n
        self.start_virtiofsd(sock)
        self.act_chardev_add([chardev, sock])
        self.act_device_add([dev, chardev, tag, str(qs)])
        return 0, "%s %s %s %s" % (dev, chardev, sock, tag)

    def act_system_wakeup(self, a):
        self.qmp_ok("system_wakeup")
        return 0, "system_wakeup sent"

    def act_wake_when_suspended(self, a):
        # At least 1.5 s: an earlier wakeup can reset the guest (see
        # act_exec_when_suspended).
        delay = float(a[0]) if a and "=" not in a[0] else 1.5
        delay = max(delay, 1.5)
        timeout = [x.partition("=")[2] for x in a if x.startswith("timeout=")]
        rc, msg = self.act_wait_event(["SUSPEND"] + (
            ["timeout=" + timeout[0]] if timeout else []))
        if rc:
            return rc, msg
        time.sleep(delay)
        self.qmp_ok("system_wakeup")
        return 0, "guest suspended; system_wakeup sent after %gs" % delay

    def act_wait_event(self, a):
        self.need(a, 1, "wait_event <EVENT> [key=value ...] [timeout=SEC]")
        name, filt, timeout = a[0], {}, 60.0
        for kv in a[1:]:
            k, _, v = kv.partition("=")
            if k == "timeout":
                timeout = float(v)
            else:
                filt[k] = v
        deadline = now() + timeout
        with self.events_cv:
            while True:
                for i in range(self.events_consumed, len(self.events)):
                    ename, data = self.events[i]
                    if ename == name and all(str(data.get(k)) == v
                                             for k, v in filt.items()):
                        self.events_consumed = i + 1
                        return 0, "%s %s" % (ename, json.dumps(
                            data, separators=(",", ":")))
                left = deadline - now()
                if left <= 0:
                    return 1, "timeout waiting for event %s" % name
                self.events_cv.wait(timeout=min(left, 1.0))

    def act_log(self, rest):
        return 0, rest

    def act_hibernate(self, a):
        """The guest is about to hibernate for the n-th time: once it has
        powered off, restart QEMU and virtiofsd (see run_boot)."""
        self.need(a, 1, "hibernate <n>")
        n = int(a[0])
        if self.hib_max <= 0:
            raise RuntimeError("hibernation is not enabled for this boot "
                               "(run.sh --hibernate N or '# vfs: hibernate')")
        if n != self.hib_done + 1:
            raise RuntimeError("hibernation %d announced, expected %d" % (
                n, self.hib_done + 1))
        if n > self.hib_max:
            raise RuntimeError("hibernation %d: this boot allows %d (run.sh "
                               "--hibernate N, '# vfs: hibernate=N')" % (
                                   n, self.hib_max))
        self.hib_pending = n
        self.hib_announced = now()
        self.hib_times[n] = {"announced": self.hib_announced}
        return 0, ("hibernation %d expected: after the power-off, a new "
                   "virtiofsd and a new QEMU" % n)

    def act_resumed(self, a):
        """The guest's write to /sys/power/state returned (rc: 0 or the
        errno). rc 0 when the host really restarted QEMU and virtiofsd."""
        self.need(a, 1, "resumed <n> [rc]")
        n = int(a[0])
        grc = a[1] if len(a) > 1 else "?"
        t = self.hib_times.get(n)
        if t is None or "restarted" not in t:
            if self.hib_pending == n:
                self.hib_pending = None
            return 1, ("hibernation %d: no power-off and restart happened "
                       "(the write returned %s)" % (n, grc))
        self.hib_expect_resume = False
        t["resumed"] = now()
        msg = ("hibernation %d: image written and off after %.1f s; new "
               "virtiofsd and QEMU %.1f s later; resumed %.1f s after the "
               "new QEMU started; round trip %.1f s" % (
                   n, t["off"] - t["announced"],
                   t["restarted"] - t["off"],
                   t["resumed"] - t["restarted"],
                   t["resumed"] - t["announced"]))
        return 0, msg

    def act_exec_when_suspended(self, a):
        """Wait until the guest is suspended (QMP SUSPEND), run a host
        script as host_exec does, then wake the guest up."""
        self.need(a, 1, "exec_when_suspended <script> [args...]")
        rc, msg = self.act_wait_event(["SUSPEND", "timeout=120"])
        if rc:
            return rc, msg
        t_suspend = now()
        rc, text = self.act_host_exec(a)
        # A system_wakeup 0.1 s to 1.5 s after the SUSPEND event was seen
        # to reset or hang the guest now and then (6.12, TCG; see
        # selftests/README.rst, "Guests that die under TCG").
        time.sleep(max(0.0, 1.5 - (now() - t_suspend)))
        self.qmp_ok("system_wakeup")
        return rc, "while suspended: " + text

    def act_host_exec(self, a):
        """Run selftests/suites/<script> on the host: $1 is the shared
        directory, then the guest's arguments. Only *.host-* scripts."""
        self.need(a, 1, "host_exec <script> [args...]")
        name = a[0]
        if "/" in name or ".host-" not in name:
            raise RuntimeError("host_exec runs suites/*.host-* only: %r" % name)
        path = os.path.join(SUITES_DIR, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError("no executable %s" % path)
        p = subprocess.run([path, self.o.shared] + a[1:],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        out = p.stdout.decode(errors="replace").strip().splitlines()
        for line in out:
            self.say("host_exec| " + line)
        return p.returncode, " | ".join(out[-3:])

    def sock_path(self, name):
        if "/" in name or name in ("", ".", ".."):
            raise RuntimeError("socket names are plain file names: %r" % name)
        return os.path.join(self.run, name)

    @staticmethod
    def need(a, n, usage):
        if len(a) < n:
            raise RuntimeError("usage: " + usage)

    ACTIONS = {
        "qmp": ("act_qmp", True),
        "hmp": ("act_hmp", True),
        "log": ("act_log", True),
        "device_del": ("act_device_del", False),
        "device_add": ("act_device_add", False),
        "chardev_add": ("act_chardev_add", False),
        "chardev_remove": ("act_chardev_remove", False),
        "start_virtiofsd": ("act_start_virtiofsd", False),
        "kill_virtiofsd": ("act_kill_virtiofsd", False),
        "replace_device": ("act_replace_device", False),
        "system_wakeup": ("act_system_wakeup", False),
        "wake_when_suspended": ("act_wake_when_suspended", False),
        "wait_event": ("act_wait_event", False),
        "host_exec": ("act_host_exec", False),
        "exec_when_suspended": ("act_exec_when_suspended", False),
        "hibernate": ("act_hibernate", False),
        "resumed": ("act_resumed", False),
    }

    def action_worker(self):
        while True:
            item = self.action_q.get()
            if item is None:
                return
            seq, text, mark = item
            with self.events_cv:
                self.events_consumed = max(self.events_consumed, mark)
            verb, _, rest = text.strip().partition(" ")
            rest = rest.strip()
            self.say("action %s: %s" % (seq, text.strip()))
            try:
                if verb not in self.ACTIONS:
                    raise RuntimeError("unknown verb %r (known: %s)" % (
                        verb, " ".join(sorted(self.ACTIONS))))
                meth, rawarg = self.ACTIONS[verb]
                rc, msg = getattr(self, meth)(rest if rawarg else rest.split())
            except Exception as e:   # noqa: BLE001 - reported to the guest
                rc, msg = 2, "error: %s" % e
            msg = " ".join(str(msg).split())[:480]
            if rc:
                self.actions_failed += 1
            self.say("action %s done: rc=%d %s" % (seq, rc, msg))
            line = "VFS-HOST-DONE: %s %d %s\n" % (seq, rc, msg)
            self.replies[seq] = line
            self.send_data(line)

    def send_data(self, text):
        with self.data_send_lock:
            if self.data_sock is None:
                return
            try:
                self.data_sock.sendall(text.encode())
            except OSError as e:
                self.say("could not write to the guest port: %s" % e)

    def queue_action(self, text):
        # "@ID verb args": the guest's own id, echoed in the reply. Lines
        # without one get "h<n>", n counting all requests of this boot.
        text = text.strip()
        m = re.match(r"reply\s+(\S+)$", text)
        if m:
            # The guest is still waiting for the reply to one of its
            # requests: send it again if the action is done (a reply can
            # be lost while the guest's UART resumes from a suspend).
            line = self.replies.get(m.group(1))
            if line:
                self.alog.write("[%8.3f] resending reply %s\n" % (
                    now() - self.t0, m.group(1)))
                self.send_data(line)
            return
        self.actions += 1
        seq = "h%d" % self.actions
        m = re.match(r"@(\S+)\s*(.*)", text)
        if m:
            seq, text = m.group(1), m.group(2)
        # QMP events before this request cannot answer it (an earlier
        # SUSPEND, say): waits in the action start after them.
        with self.events_cv:
            mark = len(self.events)
        self.action_q.put((seq, text, mark))

    # ---------------------------------------------------------- guest output
    def check_problem(self, line, where):
        m = TS_RE.search(line)
        if not m:
            return
        msg = m.group(1)
        for pat in PROBLEM_RES:
            if re.search(pat, msg):
                if self.o.allow_warn and pat in WARN_ONLY_RES:
                    return
                key = line[m.start():].strip()
                if key not in self.problem_seen:
                    self.problem_seen.add(key)
                    self.problems.append("%s: %s" % (where, key))
                return

    def console_line(self, line, _state):
        if "VFS-ALIVE" in line:
            self.alive_at = now()
            if line.strip() == "VFS-ALIVE":
                return
        self.check_problem(line, "console")
        idx = line.find("VFS-HOST-ACTION:")
        if idx >= 0:
            self.queue_action(line[idx + len("VFS-HOST-ACTION:"):])
        if not self.o.quiet:
            self.emit(line)

    def data_line(self, line, state):
        self.data_seen = True
        if state.get("dmesg"):
            if line.startswith("VFS-DMESG-END"):
                state["dmesg"] = False
                state["dmesg_f"].close()
                return
            state["dmesg_f"].write(line + "\n")
            self.check_problem(line, "dmesg")
            return
        if line.startswith("VFS-DMESG-BEGIN"):
            state["dmesg"] = True
            state["dmesg_f"] = open(os.path.join(self.logdir, "dmesg.log"), "w")
            return
        if line.startswith("VFS-HOST-ACTION:"):
            self.queue_action(line[len("VFS-HOST-ACTION:"):])
            return
        if line.startswith("VFS-INIT:") and self.hib_expect_resume:
            what = line[len("VFS-INIT:"):].strip()
            if what.startswith("resuming"):
                self.hib_times[self.hib_done]["init"] = now()
            elif not self.hib_error:
                self.hib_error = ("boot %d was to resume hibernation %d, "
                                  "but init says: %s" % (
                                      self.boot_no, self.hib_done, what))
                self.say(self.hib_error)
                # A fresh boot would run the suite again from the start.
                if what.startswith("no hibernation image"):
                    self.abort_boot = self.hib_error
        if line.startswith("VFS-END:"):
            m = re.search(r"exit=(\d+)", line)
            self.suite_exit = int(m.group(1)) if m else 255
            self.guest_timeout = " timeout" in line
            self.end_seen = True
            self.end_time = now()
        self.emit(line)

    def reader(self, sock, logname, handler):
        state = {}
        buf = b""
        with open(os.path.join(self.logdir, logname), "ab") as log:
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    text = raw.decode("utf-8", "replace").replace("\r", "")
                    handler(text, state)
            if buf:
                handler(buf.decode("utf-8", "replace").replace("\r", ""),
                        state)
            if state.get("dmesg"):
                state["dmesg_f"].close()

    # ---------------------------------------------------------- main
    def listen(self, name):
        path = os.path.join(self.run, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        s.settimeout(1.0)
        return s

    def accept(self, lsock, what):
        deadline = now() + 60
        while True:
            try:
                c, _ = lsock.accept()
                c.settimeout(None)
                return c
            except socket.timeout:
                if self.qemu.poll() is not None:
                    raise RuntimeError("QEMU exited (%d) before connecting "
                                       "the %s" % (self.qemu.returncode, what))
                if now() > deadline:
                    raise RuntimeError("QEMU did not connect the %s" % what)

    def kill_qemu(self):
        if self.qemu is None or self.qemu.poll() is not None:
            return
        try:
            self.qemu.terminate()
            self.qemu.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.qemu.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.qemu.wait(timeout=10)

    def start_qemu(self, lcon, ldata):
        qmp_path = os.path.join(self.run, "qmp.sock")
        if os.path.exists(qmp_path):
            os.unlink(qmp_path)
        qlog = open(os.path.join(self.logdir, "qemu.log"), "ab")
        self.say("QEMU (boot %d): %s" % (self.boot_no, " ".join(
            shlex.quote(a) for a in self.qemu_argv)))
        self.qemu = subprocess.Popen(self.qemu_argv, stdin=subprocess.DEVNULL,
                                     stdout=qlog, stderr=qlog,
                                     start_new_session=True)
        qlog.close()
        if self.hib_expect_resume:
            self.hib_times[self.hib_done]["restarted"] = now()
        with open(os.path.join(self.run, "qemu.pid"), "w") as f:
            f.write("%d\n" % self.qemu.pid)
        con = self.accept(lcon, "console")
        self.data_sock = self.accept(ldata, "harness port")
        for sock, log, h in ((con, "console.log", self.console_line),
                             (self.data_sock, "data.log", self.data_line)):
            t = threading.Thread(target=self.reader, args=(sock, log, h),
                                 daemon=True)
            t.start()
            self.readers.append(t)
        threading.Thread(target=self.qmp_connect, daemon=True).start()

    def early_death(self):
        """Why the guest died before its user space started, or "". Its
        init loads the driver: such a boot never ran it. Under TCG a 6.12
        guest now and then panics while it boots (an int3 oops of the
        kernel's own text patching)."""
        if self.data_seen or self.end_seen or self.host_timeout:
            return ""
        if not self.problems and self.shutdown_reason != "guest-reset":
            return ""
        return "the guest died before its user space started (%s)" % (
            "%d kernel problem(s)" % len(self.problems) if self.problems
            else self.shutdown_reason)

    def int3_oops(self):
        """The first "Oops: int3" line, or "". The kernel puts int3 in its
        own text only while it patches it (static keys, alternatives);
        under multi-threaded TCG another vCPU now and then still runs into
        one after the patch is done, and the kernel oopses (6.12: seen in
        get_signal, sched_clock_cpu, sched_clock_idle_wakeup_event). No
        driver puts int3 anywhere."""
        for p in self.problems:
            if "Oops: int3:" in p:
                return p
        return ""

    def s3_resume_died(self):
        """Whether the guest woke from a real S3 (QMP WAKEUP after the
        last SUSPEND) and its user space never ran again: init's
        heartbeat (VFS-ALIVE, every 2 s) stopped before the wakeup. Under
        TCG a 6.12 guest now and then resets, panics or hangs so in the
        kernel's own resume path, with or without virtio_fs.ko loaded
        (selftests/README.rst, "Guests that die under TCG")."""
        return (self.wakeup_at is not None and not self.end_seen and
                (self.suspend_at is None or
                 self.suspend_at < self.wakeup_at) and
                (self.alive_at is None or self.alive_at < self.wakeup_at))

    def wait_qemu(self, deadline):
        """Until QEMU exits (True) or has to be stopped (False)."""
        while self.qemu.poll() is None:
            t = now()
            if self.s3_resume_died() and t > self.wakeup_at + S3_STALL:
                self.s3_resume_death = (
                    "no sign of life from the guest %d s after it woke "
                    "from a real S3" % S3_STALL)
                self.say("stopping QEMU: " + self.s3_resume_death)
                return False
            if self.end_seen and t > self.end_time + self.o.grace:
                self.say("guest printed its end marker but did not power off "
                         "within %d s; killing QEMU" % self.o.grace)
                return False
            if os.getppid() != self.ppid:
                raise KeyboardInterrupt("run.sh is gone")
            if t > deadline:
                self.host_timeout = True
                self.say("TIMEOUT: the boot exceeded %d s; killing QEMU" %
                         self.o.timeout)
                return False
            if self.abort_boot:
                self.say("stopping QEMU: %s" % self.abort_boot)
                return False
            time.sleep(0.2)
        return True

    def drain_qemu(self):
        """After QEMU is gone: let the port readers and QMP finish."""
        self.kill_qemu()
        for t in self.readers:
            t.join(timeout=10)
        self.readers = []
        if self.qmp_thread is not None:
            self.qmp_thread.join(timeout=5)
        with self.data_send_lock:
            self.data_sock = None

    def hibernated(self):
        """Did this QEMU end with the guest powering off to hibernate?"""
        n = self.hib_pending
        if n is None or self.end_seen:
            return False
        if self.shutdown_reason != "guest-shutdown":
            self.hib_error = ("hibernation %d: QEMU ended (exit %s, "
                              "shutdown reason '%s'), not by a guest "
                              "power-off" % (n, self.qemu.returncode,
                                             self.shutdown_reason or "none"))
            self.say(self.hib_error)
            return False
        return True

    def between_boots(self):
        """A hibernated guest is "off": the host side goes away and comes
        back new; only the shared directory and the tag are the same."""
        n = self.hib_pending
        t = self.hib_times[n]
        t["off"] = now()
        self.say("hibernation %d: the guest powered off %.1f s after "
                 "announcing it; QEMU exited (%d)" % (
                     n, t["off"] - t["announced"], self.qemu.returncode))
        for name in list(self.daemons):
            self.kill_virtiofsd(name, signal.SIGTERM, quiet=True)
            del self.daemons[name]
        self.current_daemon = None
        self.say("hibernation %d: old virtiofsd process group(s) gone" % n)
        self.run_between_hook(n)
        # A fresh QEMU needs fresh QMP state; events and replies stay.
        self.qmp_ready.clear()
        self.qmp_sock = None
        self.qmp_thread = None
        self.qmp_replies = queue.Queue()
        self.shutdown_reason = ""
        self.boot_no += 1
        self.hib_done = n
        self.hib_pending = None
        self.hib_expect_resume = True
        mark = ("# host: hibernation %d: boot %d, a new virtiofsd and a new "
                "QEMU\n" % (n, self.boot_no))
        for log in ("console.log", "data.log"):
            with open(os.path.join(self.logdir, log), "a") as f:
                f.write(mark)

    def run_between_hook(self, n):
        hook = self.o.between_hook
        if not hook or not os.path.exists(hook):
            return
        base = os.path.join(self.logdir, "host-between-%d" % n)
        argv = [hook] if os.access(hook, os.X_OK) else ["bash", hook]
        argv += [self.o.shared, str(n)]
        env = dict(os.environ, VFS_HIBERNATION=str(n))
        self.say("host-between %d: %s" % (n, " ".join(argv)))
        rc = 0
        with open(base + ".log", "wb") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
            try:
                rc = p.wait(timeout=300)
            except subprocess.TimeoutExpired:
                rc = 124
            finally:
                if p.poll() is None or self.group_alive(p.pid):
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait()
        with open(base + ".rc", "w") as f:
            f.write("%d\n" % rc)
        with open(base + ".log", "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                self.emit(line)
        if rc:
            self.say("host-between %d exited with %d" % (n, rc))

    def run_boot(self):
        lcon = self.listen("console.sock")
        ldata = self.listen("data.sock")
        threading.Thread(target=self.action_worker, daemon=True).start()
        deadline = self.t0 + self.o.timeout
        while True:
            self.start_virtiofsd("vfsd0.sock")
            self.start_qemu(lcon, ldata)
            exited = self.wait_qemu(deadline)
            self.drain_qemu()
            if exited and self.hibernated():
                self.between_boots()
                continue
            self.poweroff_ok = exited
            if exited and self.s3_resume_died():
                self.s3_resume_death = (
                    "the guest ended (%s) after it woke from a real S3, "
                    "before its user space ran again" % (
                        self.shutdown_reason or "QEMU exit %s" %
                        self.qemu.returncode))
                self.say(self.s3_resume_death)
            break
        self.action_q.put(None)
        qemu_rc = self.qemu.returncode
        try:
            with open(os.path.join(self.logdir, "qemu.log"), "rb") as f:
                qtxt = f.read().decode("utf-8", "replace").strip()
        except OSError:
            qtxt = ""
        if qtxt:
            for line in qtxt.splitlines()[-20:]:
                self.say("qemu| " + line)
        return qemu_rc

    def write_result(self, qemu_rc, error):
        with open(os.path.join(self.run, "monitor.result"), "w") as f:
            def w(k, v):
                f.write("%s=%s\n" % (k, shlex.quote(str(v))))
            w("end_seen", int(self.end_seen))
            w("suite_exit", "" if self.suite_exit is None else self.suite_exit)
            w("guest_timeout", int(self.guest_timeout))
            w("host_timeout", int(self.host_timeout))
            w("poweroff_ok", int(self.poweroff_ok))
            w("qemu_exit", "" if qemu_rc is None else qemu_rc)
            w("shutdown_reason", self.shutdown_reason)
            w("kernel_problems", len(self.problems))
            w("actions", self.actions)
            w("actions_failed", self.actions_failed)
            w("monitor_error", error or "")
            w("boots", self.boot_no)
            w("hibernations", self.hib_done)
            w("hibernate_error", self.hib_error)
            w("s3_resume_death", self.s3_resume_death)
            w("early_death", self.early_death())
            w("tcg_int3", self.int3_oops())
            w("elapsed", int(now() - self.t0))
        with open(os.path.join(self.logdir, "kernel-problems.log"), "w") as f:
            for p in self.problems:
                f.write(p + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--timeout", type=int, required=True)
    ap.add_argument("--grace", type=int, default=30)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--allow-warn", action="store_true")
    ap.add_argument("--virtiofsd", required=True)
    ap.add_argument("--virtiofsd-opts", default="")
    ap.add_argument("--shared", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--queue-size", type=int, required=True)
    ap.add_argument("--hibernate", type=int, default=0)
    ap.add_argument("--between-hook", default="")
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    o = ap.parse_args()
    argv = o.qemu[1:] if o.qemu and o.qemu[0] == "--" else o.qemu
    if not argv:
        ap.error("no QEMU command line after --")

    b = Boot(o, argv)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    qemu_rc, error = None, None
    try:
        qemu_rc = b.run_boot()
    except KeyboardInterrupt as e:
        error = "interrupted (%s)" % (e or "SIGINT")
        b.say(error)
    except Exception as e:   # noqa: BLE001 - reported, then cleaned up
        error = str(e)
        b.say("error: %s" % error)
    finally:
        b.stop.set()
        b.kill_qemu()
        b.kill_all_daemons()
        b.write_result(qemu_rc, error)
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
