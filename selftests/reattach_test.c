// SPDX-License-Identifier: GPL-2.0
/*
 * reattach_test: a mount with reattach_timeout=T outlives the removal of
 * its device. While it is detached, requests wait (they do not fail) and a
 * task waiting can be killed; a new device with the same tag adopts the
 * mount within T seconds and everything a process held goes on working; a
 * device with another tag never adopts it; after T seconds without a
 * device the mount fails every call with ENOTCONN or EIO and unmounts.
 *
 * main() remounts $VFS_MNT with reattach_timeout=$VFS_REATTACH_TIMEOUT and
 * sets the scene in the harness's own process, which keeps it across the
 * tests (each test runs in a child): a read-write fd with known data, an
 * O_APPEND fd, a directory partly listed, a shared writable mapping,
 * POSIX, OFD and flock locks, and a child whose cwd is inside the mount.
 * The tests run in order and build on each other:
 *
 *   prepare                 the scene; nothing is detached yet
 *   replace_same_tag        remove the device: the mount is listed in
 *                           debugfs "detached"; five waiters (read of a
 *                           never-read file, lookup, create, pread and
 *                           O_APPEND write on held fds) are still waiting
 *                           2.5 s later; a new device with the tag: they
 *                           all complete with the right bytes, dmesg has
 *                           "re-attached" and "resumed in", reattaches 1
 *   rw_fd .. locks_release_normally
 *                           what main holds works on the new device
 *   sigkill_while_detached  remove again: waiters are killed with SIGKILL
 *                           and reaped within 10 s; the mount stays
 *                           detached; a new device adopts it (reattaches 2)
 *   other_tag_not_adopted   remount with reattach_timeout=$VFS_REATTACH_SHORT,
 *                           remove, add a device with another tag: the
 *                           mount stays detached, its waiters wait, the
 *                           other tag mounts on its own; after the timeout
 *                           the waiters and later calls fail, umount works
 *   timeout_without_device  the module parameter reattach_timeout=
 *                           $VFS_REATTACH_PARAM, no mount option: no device
 *                           comes, the waiters fail after the timeout,
 *                           umount works at once
 *   umount_while_detached   a detached mount unmounts at once
 *   readd_and_mount         the tag mounts again with every byte written
 *   kernel_log_clean        no oops, BUG, WARNING or hung task
 *
 * Environment: VFS_REMOVE_CMD (removes the device that carries $VFS_TAG),
 * VFS_READD_CMD (brings a device with $VFS_TAG), VFS_OTHER_CMD and
 * VFS_OTHER_TAG (adds a device with another tag; optional),
 * VFS_REATTACH_TIMEOUT (default 60), VFS_REATTACH_SHORT (20),
 * VFS_REATTACH_PARAM (8), VFS_TAG, VFS_MNT, VFS_FSTYPE, VFS_MODNAME.
 *
 * While the mount is detached, no process of this program touches it
 * except the waiters: a process that closes a file of the mount (also by
 * exiting or by exec with O_CLOEXEC) sends a FLUSH request, which waits
 * too. Commands and umount run in children of a launcher process that
 * main forks before it opens anything on the mount.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>

#include "vfs_test.h"
#include "vfs_sys.h"
#include "vfs_host.h"
#include "vfs_scene.h"

#define NAMES		120		/* entries of the directory being listed */
#define MAPLEN		VFS_SCENE_MAPLEN
#define FILELEN		VFS_SCENE_FILELEN
#define STATME_LEN	12345
#define MAX_WAITERS	8
#define DBG		"/sys/kernel/debug/virtio_fs"
#define DETACHED_FILE	DBG "/detached"

#define TAG		vfs_env("VFS_TAG", "vfstest")
#define FSTYPE		VFS_FSTYPE
#define OTHER_TAG	vfs_env("VFS_OTHER_TAG", "othertag")
#define T_LONG		atoi(vfs_env("VFS_REATTACH_TIMEOUT", "60"))
#define T_SHORT		atoi(vfs_env("VFS_REATTACH_SHORT", "20"))
#define T_PARAM		atoi(vfs_env("VFS_REATTACH_PARAM", "8"))

/* The scene, held by the harness's main process. */
static struct {
	char dir[256];		/* $VFS_MNT/reattach.<pid> */
	int setup_step;		/* 0, or the step of scene_setup() that failed */
	int setup_errno;
	int held;		/* main still holds it (cleared on SIGUSR2) */
	pid_t holder;		/* main */
	int rw_fd;		/* rw.bin, O_RDWR, pattern 11 */
	int append_fd;		/* log.txt, O_WRONLY | O_APPEND, "before\n" */
	int uncached_fd;	/* uncached.bin, O_RDWR, pattern 13, never read */
	int dir_fd;		/* list/, partly read */
	char listed[NAMES];	/* entries of list/ read before the removal */
	unsigned char *map;	/* map.bin, MAP_SHARED, pattern 17 */
	int map_fd;
	int posix_fd;		/* locks.bin: POSIX write lock on [0, 4095] */
	int ofd_fd;		/* locks.bin: OFD write lock on [8192, 12287] */
	int flock_fd;		/* flock.bin: flock(LOCK_EX) */
	pid_t cwd_child;	/* cwd in cwd/deep, works on 'L', quits on 'Q' */
	int cwd_cmd, cwd_res;	/* pipes to and from it */
	int ack_rd, ack_wr;	/* main's "released" */
	int launch_req, launch_res;	/* pipes to and from the launcher */
} S;

/* Shared by every process of the run (mapped in main). */
static struct shared {
	pid_t waiters[MAX_WAITERS];	/* to kill in a test's teardown */
	int param_set;			/* the module parameter was changed */
	int removed;			/* our device is removed, not re-added */
	int seq;			/* of the launcher's requests */
	int other_done;			/* other_tag_not_adopted made other.bin */
} *SH;

/* ------------------------------------------------------------ helpers */

static void scene_path(char *out, const char *name)
{
	vfs_scene_path(S.dir, out, name);
}

/*
 * The launcher: a process forked before anything on the mount was opened,
 * which runs commands for the tests. A process that inherited files of the
 * mount sends a FLUSH for each when it closes them, execs or exits, and
 * that waits while the mount is detached: commands must not come from
 * such a process.
 */
struct lreq {
	int seq;
	int kind;		/* 'C': sh -c arg; 'U': umount(arg) */
	int secs;
	char arg[1024];
};

struct lres {
	int seq;
	int rc;
};

static int launch(const struct lreq *q)
{
	pid_t pid;

	if (q->kind != 'U')
		return vfs_run_cmd(q->arg, q->secs);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(umount(q->arg) ? errno : 0);
	return vfs_wait_status(pid, q->secs);
}

static void launcher_loop(int rq, int rs)
{
	struct lreq q;
	struct lres r;

	while (read(rq, &q, sizeof(q)) == sizeof(q)) {
		r.seq = q.seq;
		r.rc = launch(&q);
		if (write(rs, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

/* In main, first: fork the launcher. 0 or -1. */
static int launcher_start(int *req_wr, int *res_rd)
{
	int rq[2], rs[2];
	pid_t pid;

	if (pipe(rq) || pipe(rs))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(rq[1]);
		close(rs[0]);
		launcher_loop(rq[0], rs[1]);
	}
	close(rq[0]);
	close(rs[1]);
	*req_wr = rq[1];
	*res_rd = rs[0];
	return 0;
}

static int launcher_call(int kind, const char *arg, int secs)
{
	struct lreq q = { .kind = kind, .secs = secs };
	struct pollfd p = { .fd = S.launch_res, .events = POLLIN };
	double end = vfs_now() + secs + 30;
	struct lres r;

	q.seq = __sync_add_and_fetch(&SH->seq, 1);
	snprintf(q.arg, sizeof(q.arg), "%s", arg);
	fflush(NULL);
	if (write(S.launch_req, &q, sizeof(q)) != sizeof(q))
		return -1;
	while (vfs_now() < end) {
		if (poll(&p, 1, 1000) != 1)
			continue;
		if (read(S.launch_res, &r, sizeof(r)) != sizeof(r))
			return -1;
		if (r.seq == q.seq)
			return r.rc;
	}
	return -1;
}

/* Run cmd with sh -c; its exit status, or -1 if it ran past secs. */
static int run_cmd(const char *cmd, int secs)
{
	return launcher_call('C', cmd, secs);
}

/* How many times the kernel log holds the formatted text. */
static int __attribute__((format(printf, 1, 2))) klog_count(const char *fmt, ...)
{
	char needle[256], *log, *p;
	int n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(needle, sizeof(needle), fmt, ap);
	va_end(ap);
	log = vfs_klog();
	if (!log)
		return -1;
	for (p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

/* The whole of a small file, for diagnostics ("" if unreadable). */
static const char *file_text(const char *path)
{
	static char buf[2048];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf[0] = 0;
	if (fd < 0) {
		snprintf(buf, sizeof(buf), "(%s: %s)", path, vfs_errname(errno));
		return buf;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

/*
 * Is tag listed in debugfs "detached" ("tag T detached_ms MS timeout_s S")?
 * 1 (with *ms and *tmo), 0, or -errno when the file cannot be read.
 */
static int detached_info(const char *tag, unsigned int *ms, unsigned int *tmo)
{
	char line[512], t[256];
	unsigned int a, b;
	int found = 0;
	FILE *f = fopen(DETACHED_FILE, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "tag %255s detached_ms %u timeout_s %u", t, &a, &b) == 3 &&
		    !strcmp(t, tag)) {
			found++;
			if (ms)
				*ms = a;
			if (tmo)
				*tmo = b;
		}
	}
	fclose(f);
	return found;
}

/* Wait up to secs for detached_info(tag) to be want; 1 if it is. */
static int wait_detached(const char *tag, int want, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (detached_info(tag, NULL, NULL) == want)
			return 1;
		usleep(100000);
	}
	return detached_info(tag, NULL, NULL) == want;
}

/* The first line of a small file, without its newline ("" if none). */
static const char *first_line(const char *path)
{
	static char line[256];
	FILE *f = fopen(path, "r");

	line[0] = 0;
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	line[strcspn(line, "\n")] = 0;
	return line;
}

/*
 * The debugfs index of the device with this tag, or -1. A device with a
 * mount wins over one without (a removed device may linger while its
 * session waits for a new one).
 */
static int debugfs_index(const char *tag)
{
	char p[128];
	int i, found = -1;

	for (i = 0; i < 64; i++) {
		snprintf(p, sizeof(p), DBG "/%d/tag", i);
		if (strcmp(first_line(p), tag))
			continue;
		snprintf(p, sizeof(p), DBG "/%d/session", i);
		if (strcmp(first_line(p), "state unmounted"))
			return i;
		if (found < 0)
			found = i;
	}
	return found;
}

static int wait_device(const char *tag, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (debugfs_index(tag) >= 0)
			return 1;
		usleep(100000);
	}
	return debugfs_index(tag) >= 0;
}

/* "key value" of the session file of tag's device: value into out. */
static int session_value(const char *tag, const char *key, char *out, size_t len)
{
	char p[128], line[256];
	int i = debugfs_index(tag), ret = -1;
	FILE *f;

	out[0] = 0;
	if (i < 0)
		return -1;
	snprintf(p, sizeof(p), DBG "/%d/session", i);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ') {
			snprintf(out, len, "%s", line + strlen(key) + 1);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

static long long session_num(const char *tag, const char *key)
{
	char v[64];

	return session_value(tag, key, v, sizeof(v)) ? -1 : atoll(v);
}

static int mount_retry(const char *tag, const char *dir, const char *opts, int secs)
{
	int i;

	mkdir(dir, 0755);
	for (i = 0; i < secs * 5; i++) {
		if (!mount(tag, dir, FSTYPE, 0, opts))
			return 0;
		usleep(200000);
	}
	return mount(tag, dir, FSTYPE, 0, opts) ? -errno : 0;
}

/* umount dir (it may hang); 0, its errno, or -1 on a hang. */
static int umount_timed(const char *dir, int secs, double *took)
{
	double t0 = vfs_now();
	int rc = launcher_call('U', dir, secs);

	*took = vfs_now() - t0;
	return rc;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static const char *param_path(void)
{
	static char p[256];

	snprintf(p, sizeof(p), "/sys/module/%s/parameters/reattach_timeout",
		 vfs_env("VFS_MODNAME", "virtio_fs"));
	return p;
}

/* ------------------------------------------------------------ waiters */

enum op_kind { OP_READ_FILE, OP_PREAD_FD, OP_STAT, OP_CREATE, OP_APPEND };

struct wres {
	int err;		/* 0, or the errno of the operation */
	long long bad;		/* -1, or the offset of the first wrong byte */
	long long val;		/* OP_STAT: st_size */
	double t;		/* when it finished */
};

struct waiter {
	const char *what;
	enum op_kind kind;
	char path[PATH_MAX];
	int fd;
	off_t off;
	size_t len;
	uint32_t seed;
	int alone;		/* close every inherited file before the op */
	int gate;		/* read a byte from this fd before the op, or 0 */
	pid_t pid;
	int rfd;		/* "R" when ready, "S" as it starts, its wres */
	int ready, started, done;
	struct wres r;
};

static int do_op(const struct waiter *w, struct wres *r)
{
	static char buf[FILELEN];
	struct stat st;
	long long v;
	ssize_t n;

	r->bad = -1;
	switch (w->kind) {
	case OP_READ_FILE:
		errno = 0;
		v = vfs_verify_file(w->path, w->len, w->seed);
		if (v == -3)
			return errno ? errno : EIO;
		if (v == -2)
			return ENODATA;
		r->bad = v;
		return 0;
	case OP_PREAD_FD:
		n = vfs_pread_all(w->fd, buf, w->len, w->off);
		if (n < 0)
			return errno;
		if ((size_t)n != w->len)
			return ENODATA;
		r->bad = vfs_check(buf, w->len, w->seed, w->off);
		return 0;
	case OP_STAT:
		if (stat(w->path, &st))
			return errno;
		r->val = st.st_size;
		return 0;
	case OP_CREATE:
		return -vfs_make_file(w->path, w->len, w->seed);
	case OP_APPEND:
		n = write(w->fd, "during\n", 7);
		if (n < 0)
			return errno;
		return n == 7 ? 0 : ENODATA;
	}
	return EINVAL;
}

static void shared_track(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_WAITERS; i++) {
		if (!SH->waiters[i]) {
			SH->waiters[i] = pid;
			return;
		}
	}
}

static void shared_untrack(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_WAITERS; i++)
		if (SH->waiters[i] == pid)
			SH->waiters[i] = 0;
}

/*
 * Fork a waiter: it inherits every file of the scene, or keeps none of them
 * (alone: closed at once, while the mount works). A gated waiter waits for
 * a byte on its gate before it starts the operation. 0 or -1.
 */
static int waiter_start(struct waiter *w)
{
	int p[2];

	w->ready = w->started = w->done = 0;
	if (pipe(p))
		return -1;
	fflush(NULL);
	w->pid = fork();
	if (w->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!w->pid) {
		struct wres r = { 0 };
		char c;
		int fd;

		close(p[0]);
		for (fd = 3; w->alone && fd < 1024; fd++)
			if (fd != p[1] && fd != w->gate)
				close(fd);
		if (write(p[1], "R", 1) != 1)
			_exit(1);
		if (w->gate && read(w->gate, &c, 1) != 1)
			_exit(1);
		if (write(p[1], "S", 1) != 1)
			_exit(1);
		r.err = do_op(w, &r);
		r.t = vfs_now();
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	w->rfd = p[0];
	shared_track(w->pid);
	return 0;
}

/* Wait up to ms for the waiter to be ready; 1 once it is. */
static int waiter_ready(struct waiter *w, int ms)
{
	struct pollfd p = { .fd = w->rfd, .events = POLLIN };
	char c;

	if (!w->ready && poll(&p, 1, ms) == 1 && read(w->rfd, &c, 1) == 1)
		w->ready = c == 'R';
	return w->ready;
}

/* Wait up to ms for the waiter to start its operation; 1 once it has. */
static int waiter_started(struct waiter *w, int ms)
{
	struct pollfd p = { .fd = w->rfd, .events = POLLIN };
	char c;

	if (!waiter_ready(w, ms))
		return 0;
	if (!w->started && poll(&p, 1, ms) == 1 && read(w->rfd, &c, 1) == 1)
		w->started = c == 'S';
	return w->started;
}

/* Wait up to ms for its result; 1 once it has one (in w->r). */
static int waiter_done(struct waiter *w, int ms)
{
	struct pollfd p = { .fd = w->rfd, .events = POLLIN };

	if (!w->done && w->started && poll(&p, 1, ms) == 1) {
		if (read(w->rfd, &w->r, sizeof(w->r)) == sizeof(w->r))
			w->done = 1;
		else
			w->r.err = -1;	/* it died */
	}
	return w->done;
}

/* Reap a waiter that finished; its exit status or -1. */
static int waiter_reap(struct waiter *w, int secs)
{
	int st = vfs_wait_timeout(w->pid, secs);

	shared_untrack(w->pid);
	close(w->rfd);
	return st;
}

/*
 * /proc/<pid>/<what> into buf (at most len - 1 bytes, NUL-terminated; ""
 * if unreadable). Return: what read() returned, or -1.
 */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char p[64];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/%s", pid, what);
	fd = open(p, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* Process state letter and wait channel, for the log. */
static const char *proc_state(pid_t pid)
{
	static char out[128];
	char stat[512], wchan[64] = "";
	char *s;

	if (read_proc(pid, "stat", stat, sizeof(stat)) <= 0)
		return "gone";
	s = strrchr(stat, ')');
	read_proc(pid, "wchan", wchan, sizeof(wchan));
	snprintf(out, sizeof(out), "state %c wchan %s", s && s[1] ? s[2] : '?',
		 wchan[0] ? wchan : "?");
	return out;
}

/* The kernel stack of a task, for the log (first lines, one string). */
static const char *proc_stack(pid_t pid)
{
	static char out[1024];
	char *c;

	read_proc(pid, "stack", out, sizeof(out));
	for (c = out; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return out;
}

/* Processes with a cwd, file or mapping under dir, for the log. */
static const char *who_holds(const char *dir)
{
	static char out[1024];
	char p[PATH_MAX], t[PATH_MAX], line[PATH_MAX + 128];
	size_t len = strlen(dir), o = 0;
	struct dirent *d, *e;
	DIR *proc, *fds;
	FILE *f;

	out[0] = 0;
	proc = opendir("/proc");
	if (!proc)
		return out;
	while ((d = readdir(proc)) && o < sizeof(out) - 64) {
		int hit = 0;
		ssize_t n;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cwd", d->d_name);
		n = readlink(p, t, sizeof(t) - 1);
		if (n > 0 && (t[n] = 0, !strncmp(t, dir, len)))
			hit |= 1;
		snprintf(p, sizeof(p), "/proc/%s/fd", d->d_name);
		fds = opendir(p);
		while (fds && (e = readdir(fds))) {
			snprintf(p, sizeof(p), "/proc/%s/fd/%s", d->d_name, e->d_name);
			n = readlink(p, t, sizeof(t) - 1);
			if (n > 0 && (t[n] = 0, !strncmp(t, dir, len)))
				hit |= 2;
		}
		if (fds)
			closedir(fds);
		snprintf(p, sizeof(p), "/proc/%s/maps", d->d_name);
		f = fopen(p, "r");
		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, dir))
				hit |= 4;
		if (f)
			fclose(f);
		if (hit) {
			snprintf(p, sizeof(p), "/proc/%s/comm", d->d_name);
			o += snprintf(out + o, sizeof(out) - o, "%s(%s%s%s%s) ",
				      d->d_name, first_line(p),
				      hit & 1 ? " cwd" : "", hit & 2 ? " fd" : "",
				      hit & 4 ? " map" : "");
		}
	}
	closedir(proc);
	return out;
}

/* ------------------------------------------------------------ the scene */

static void on_release_locks(int sig)
{
	(void)sig;
	vfs_scene_unlock(S.posix_fd, S.ofd_fd, S.flock_fd);
}

static void close_scene_fds(void)
{
	int *fds[] = {
		&S.rw_fd, &S.append_fd, &S.uncached_fd, &S.dir_fd, &S.map_fd,
		&S.posix_fd, &S.ofd_fd, &S.flock_fd,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (S.map)
		munmap(S.map, MAPLEN);
	S.map = NULL;
}

/* SIGUSR2 in main: let go of the whole scene, then say so. */
static void on_release_scene(int sig)
{
	int st;

	on_release_locks(sig);
	close_scene_fds();
	if (S.cwd_child > 0) {
		if (write(S.cwd_cmd, "Q", 1) == 1)
			waitpid(S.cwd_child, &st, 0);
		S.cwd_child = -1;
	}
	S.held = 0;
	if (write(S.ack_wr, "A", 1) != 1)
		S.held = -1;
}

/* The cwd child's work: list and create relative to its cwd. */
static int cwd_child_work(void)
{
	char cwd[PATH_MAX], want[PATH_MAX], buf[16] = "";
	struct dirent *d;
	int fd, seen = 0;
	DIR *dir;

	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	scene_path(want, "cwd/deep");
	if (strcmp(cwd, want))
		return 2;
	dir = opendir(".");
	if (!dir)
		return 3;
	while ((d = readdir(dir)))
		seen += !strcmp(d->d_name, "seen.txt");
	closedir(dir);
	if (seen != 1)
		return 4;
	fd = open("made-after.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		return 5;
	if (write(fd, "cwd\n", 4) != 4) {
		close(fd);
		return 6;
	}
	close(fd);
	fd = open("../deep/made-after.txt", O_RDONLY);
	if (fd < 0)
		return 7;
	if (read(fd, buf, sizeof(buf) - 1) != 4 || strcmp(buf, "cwd\n")) {
		close(fd);
		return 8;
	}
	close(fd);
	return 0;
}

static void cwd_child_loop(int cmd, int res)
{
	char p[PATH_MAX], c;
	int r;

	scene_path(p, "cwd/deep");
	if (chdir(p))
		_exit(1);
	while (read(cmd, &c, 1) == 1 && c == 'L') {
		r = cwd_child_work();
		if (write(res, &r, sizeof(r)) != sizeof(r))
			_exit(2);
	}
	_exit(0);
}

static int scene_open(const char *name, int flags, uint32_t seed)
{
	return vfs_scene_open(S.dir, name, flags, seed);
}

static const char * const setup_steps[] = {
	"", "pipe", "umount", "mount -o reattach_timeout", "mkdir",
	"mkdir cwd", "seen.txt", "pipe", "fork", "open", "write", "mkdir list",
	"create list/*", "open list", "getdents64", "map.bin", "mmap",
	"open locks", "take locks", "unread.bin, statme", "victim.bin",
};

/* Remount with the timeout and build the scene; 0 or the failed step. */
static int scene_setup(void)
{
	char p[PATH_MAX], q[PATH_MAX], opts[64];
	int cmd[2], res[2], ack[2], step;

	if (pipe(ack))
		return 1;
	S.ack_rd = ack[0];
	S.ack_wr = ack[1];
	if (vfs_mounted(NULL, vfs_mnt()) > 0 && umount(vfs_mnt()))
		return 2;
	snprintf(opts, sizeof(opts), "reattach_timeout=%d", T_LONG);
	if (mount(TAG, vfs_mnt(), FSTYPE, 0, opts))
		return 3;
	S.held = 1;
	snprintf(S.dir, sizeof(S.dir), "%s/reattach.%d", vfs_mnt(), getpid());
	if (mkdir(S.dir, 0755))
		return 4;

	/* A child whose cwd is deep inside the mount. */
	scene_path(p, "cwd");
	scene_path(q, "cwd/deep");
	if (mkdir(p, 0755) || mkdir(q, 0755))
		return 5;
	scene_path(p, "cwd/deep/seen.txt");
	if (vfs_make_file(p, 100, 3))
		return 6;
	if (pipe(cmd) || pipe(res))
		return 7;
	fflush(NULL);
	S.cwd_child = fork();
	if (S.cwd_child < 0)
		return 8;
	if (!S.cwd_child) {
		close(cmd[1]);
		close(res[0]);
		close(ack[0]);
		close(ack[1]);
		cwd_child_loop(cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	S.cwd_cmd = cmd[1];
	S.cwd_res = res[0];

	/* Open files. */
	S.rw_fd = scene_open("rw.bin", O_RDWR, 11);
	S.append_fd = scene_open("log.txt", O_WRONLY | O_APPEND | O_CREAT, 0);
	S.uncached_fd = scene_open("uncached.bin", O_RDWR, 13);
	if (S.rw_fd < 0 || S.append_fd < 0 || S.uncached_fd < 0)
		return 9;
	if (write(S.append_fd, "before\n", 7) != 7)
		return 10;

	/* A listing interrupted by the removal (steps 11 to 14). */
	step = vfs_scene_listing(S.dir, NAMES, &S.dir_fd, S.listed);
	if (step)
		return 10 + step;

	/* A shared writable mapping (steps 15, 16). */
	step = vfs_scene_mapping(S.dir, &S.map_fd, &S.map);
	if (step)
		return 14 + step;

	/* Locks held by this process (steps 17, 18). */
	step = vfs_scene_locks(S.dir, &S.posix_fd, &S.ofd_fd, &S.flock_fd);
	if (step)
		return 16 + step;

	/* Files the waiters and victims use. */
	scene_path(p, "unread.bin");
	scene_path(q, "statme");
	if (vfs_make_file(p, FILELEN, 29) || vfs_make_file(q, STATME_LEN, 31))
		return 19;
	scene_path(p, "victim.bin");
	if (vfs_make_file(p, FILELEN, 37))
		return 20;
	return 0;
}

/*
 * In a test: have main let go of the scene (after closing this process's
 * copies, while the mount works). 0 or -1.
 */
static int scene_release(void)
{
	struct pollfd p = { .fd = S.ack_rd, .events = POLLIN };
	char c;

	if (S.held != 1)
		return 0;
	close_scene_fds();
	if (kill(S.holder, SIGUSR2))
		return -1;
	if (poll(&p, 1, 120000) != 1 || read(S.ack_rd, &c, 1) != 1)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ steps */

FIXTURE(ra) {
	int unused;
};

FIXTURE_SETUP(ra)
{
}

/* Waiters a failed test left behind would keep the mount busy. */
FIXTURE_TEARDOWN(ra)
{
	int i;

	for (i = 0; i < MAX_WAITERS; i++) {
		if (SH->waiters[i] > 0) {
			kill(SH->waiters[i], SIGKILL);
			vfs_wait_timeout(SH->waiters[i], 10);
			SH->waiters[i] = 0;
		}
	}
	if (SH->param_set) {
		write_str(param_path(), "0");
		SH->param_set = 0;
	}
}

#define NEED_ENV() do {							\
	if (!getenv("VFS_REMOVE_CMD") || !getenv("VFS_READD_CMD"))	\
		SKIP(return, "VFS_REMOVE_CMD and VFS_READD_CMD are not set"); \
} while (0)

#define NEED_SCENE() do {						\
	NEED_ENV();							\
	ASSERT_EQ(0, S.setup_step)					\
		TH_LOG("the scene failed at step %d", S.setup_step);	\
	ASSERT_EQ(1, S.held) TH_LOG("the scene was released already");	\
} while (0)

/* A mount that is still detached would make the test wait. */
#define NEED_LIVE() do {						\
	ASSERT_EQ(0, detached_info(TAG, NULL, NULL))			\
		TH_LOG("%s is detached (or %s unreadable): %s", TAG,	\
		       DETACHED_FILE, file_text(DETACHED_FILE));	\
} while (0)

#define EXPECT_GONE(what, ret, err) do {				\
	if ((ret) != -1 || !vfs_is_gone_err(err))			\
		TH_LOG("%s: expected ENOTCONN or EIO, got %ld (%s)",	\
		       (what), (long)(ret),				\
		       (ret) == -1 ? vfs_errname(err) : "success");	\
	EXPECT_TRUE((ret) == -1 && vfs_is_gone_err(err));		\
} while (0)

/* the driver's line at probe time (diagnostics only) */
#define PROBED_FMT "virtio_fs: tag %s, "
#define REMOVED_FMT "tag %s: device removed while mounted; the mount waits up to %d s"

/*
 * Remove the device (VFS_REMOVE_CMD): the mount must be listed as
 * detached with timeout want_tmo, still mounted, and dmesg must say so.
 * Return: when it was detached (vfs_now() clock).
 */
static double remove_device(struct __test_metadata *_metadata, int want_tmo)
{
	int n0 = klog_count(REMOVED_FMT, TAG, want_tmo), rc;
	unsigned int ms = 0, tmo = 0;
	double t0 = vfs_now();

	rc = run_cmd(getenv("VFS_REMOVE_CMD"), 180);
	ASSERT_EQ(0, rc) TH_LOG("'%s' %s", getenv("VFS_REMOVE_CMD"),
				rc == -1 ? "did not finish within 180 s" : "failed");
	SH->removed = 1;
	if (!wait_detached(TAG, 1, 30))
		TH_LOG("%s not listed as detached 30 s after the removal; %s: %s",
		       TAG, DETACHED_FILE, file_text(DETACHED_FILE));
	ASSERT_EQ(1, detached_info(TAG, &ms, &tmo));
	TH_LOG("removed in %.1f s; detached %u ms ago, timeout %u s",
	       vfs_now() - t0, ms, tmo);
	EXPECT_EQ(want_tmo, (int)tmo);
	EXPECT_EQ(1, vfs_mounted(NULL, vfs_mnt())) TH_LOG("the mount is gone");
	EXPECT_EQ(n0 + 1, klog_count(REMOVED_FMT, TAG, want_tmo))
		TH_LOG("no new kernel log line \"" REMOVED_FMT "\"", TAG, want_tmo);
	return vfs_now() - ms / 1000.0;
}

static void run_readd(struct __test_metadata *_metadata)
{
	int rc = run_cmd(getenv("VFS_READD_CMD"), 180);

	ASSERT_EQ(0, rc) TH_LOG("'%s' %s", getenv("VFS_READD_CMD"),
				rc == -1 ? "did not finish within 180 s" : "failed");
	SH->removed = 0;
}

/*
 * After VFS_READD_CMD: the new device must adopt the mount (it leaves the
 * detached list) within secs. If not, say whether the driver probed a
 * device with the tag at all (its "tag T, N request queue" line) and put
 * the blocked tasks in the kernel log.
 */
static void expect_adopted(struct __test_metadata *_metadata, int probes0,
			   int secs)
{
	double t0 = vfs_now();

	if (wait_detached(TAG, 0, secs)) {
		TH_LOG("adopted %.1f s after '%s' returned", vfs_now() - t0,
		       getenv("VFS_READD_CMD"));
		return;
	}
	TH_LOG("still detached %d s after '%s'; %d device(s) with tag %s probed since; blocked tasks in the kernel log",
	       secs, getenv("VFS_READD_CMD"), klog_count(PROBED_FMT, TAG) - probes0, TAG);
	write_str("/proc/sysrq-trigger", "w");
	EXPECT_TRUE(0);
}

/*
 * Start the waiters (gated ones were forked before and let go by now);
 * they must all be waiting 2.5 s later.
 */
static void start_waiters(struct __test_metadata *_metadata,
			  struct waiter *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!w[i].pid)
			ASSERT_EQ(0, waiter_start(&w[i]));
	for (i = 0; i < n; i++)
		ASSERT_TRUE(waiter_started(&w[i], 10000))
			TH_LOG("waiter '%s' did not start", w[i].what);
	usleep(2500000);
	for (i = 0; i < n; i++) {
		if (waiter_done(&w[i], 0))
			TH_LOG("'%s' finished while detached: %s", w[i].what,
			       vfs_errname(w[i].r.err));
		else
			TH_LOG("'%s' waits (%s)", w[i].what, proc_state(w[i].pid));
		EXPECT_FALSE(w[i].done);
	}
}

/*
 * Leave the scene, make sure a device with the tag is there and mount it
 * afresh with opts.
 */
static void fresh_mount(struct __test_metadata *_metadata, const char *opts)
{
	double took;
	int rc;

	ASSERT_EQ(0, scene_release()) TH_LOG("main did not release the scene");
	if (SH->removed)
		run_readd(_metadata);
	if (vfs_mounted(NULL, vfs_mnt()) > 0) {
		rc = umount_timed(vfs_mnt(), 60, &took);
		ASSERT_EQ(0, rc) TH_LOG("umount %s: %s; users: %s", vfs_mnt(),
					rc == -1 ? "hung" : vfs_errname(rc),
					who_holds(vfs_mnt()));
	}
	rc = mount_retry(TAG, vfs_mnt(), opts, 30);
	ASSERT_EQ(0, rc) TH_LOG("mount -o %s: %s", opts ? opts : "(none)",
				vfs_errname(-rc));
}

/*
 * After the timeout: the waiters fail with ENOTCONN or EIO, not before
 * the timeout; later calls fail the same way; umount works at once.
 */
static void expect_timed_out(struct __test_metadata *_metadata,
			     struct waiter *w, int n, double t_detach,
			     int tmo, int held_fd)
{
	char p[PATH_MAX], buf[64];
	double took, limit;
	struct stat st;
	int i, r, e, rc;

	for (i = 0; i < n; i++) {
		limit = t_detach + tmo + 30 - vfs_now();
		if (!waiter_done(&w[i], limit > 0 ? (int)(limit * 1000) : 0)) {
			TH_LOG("'%s' still waits %.0f s after the removal (timeout %d s): %s",
			       w[i].what, vfs_now() - t_detach, tmo,
			       proc_state(w[i].pid));
			ASSERT_TRUE(w[i].done);
		}
		TH_LOG("'%s' ended with %s %.1f s after the removal", w[i].what,
		       vfs_errname(w[i].r.err), w[i].r.t - t_detach);
		EXPECT_TRUE(vfs_is_gone_err(w[i].r.err));
		EXPECT_LE(t_detach + tmo - 1.5, w[i].r.t)
			TH_LOG("'%s' failed before the timeout", w[i].what);
		EXPECT_NE(-1, waiter_reap(&w[i], 10));
	}
	r = pread(held_fd, buf, sizeof(buf), 0);
	e = errno;
	EXPECT_GONE("pread of a held fd", r < 0 ? -1 : 0, e);
	r = pwrite(held_fd, "x", 1, 0);
	e = errno;
	EXPECT_GONE("pwrite of a held fd", r < 0 ? -1 : 0, e);
	scene_path(p, "never-created-anywhere");
	r = stat(p, &st);
	e = errno;
	EXPECT_GONE("lookup of a new name", r, e);
	r = open(p, O_CREAT | O_WRONLY, 0644);
	e = errno;
	EXPECT_GONE("create", r < 0 ? -1 : 0, e);
	if (!wait_detached(TAG, 0, 5))
		TH_LOG("a mount past its timeout is still listed as detached: %s",
		       file_text(DETACHED_FILE));
	EXPECT_EQ(0, detached_info(TAG, NULL, NULL));
	close(held_fd);
	rc = umount_timed(vfs_mnt(), 60, &took);
	EXPECT_EQ(0, rc) TH_LOG("umount after the timeout: %s",
				rc == -1 ? "hung for 60 s" : vfs_errname(rc));
	EXPECT_GT(5.0, took) TH_LOG("umount took %.1f s", took);
	EXPECT_EQ(0, vfs_mounted(NULL, vfs_mnt()));
}

/* ------------------------------------------------------------ tests */

TEST_F_TIMEOUT(ra, prepare, 60)
{
	NEED_ENV();
	ASSERT_EQ(0, S.setup_step)
		TH_LOG("the scene failed at step %d (%s): %s", S.setup_step,
		       S.setup_step > 0 && S.setup_step < (int)ARRAY_SIZE(setup_steps) ?
		       setup_steps[S.setup_step] : "?", vfs_errname(S.setup_errno));
	ASSERT_EQ(1, vfs_mounted(NULL, vfs_mnt()));
	EXPECT_LE(0, debugfs_index(TAG)) TH_LOG("no debugfs directory for %s", TAG);
	ASSERT_EQ(0, detached_info(TAG, NULL, NULL))
		TH_LOG("%s: %s", DETACHED_FILE, file_text(DETACHED_FILE));
	EXPECT_EQ(0, session_num(TAG, "reattaches"))
		TH_LOG("no \"reattaches 0\" in the session file of %s", TAG);
}

TEST_F_TIMEOUT(ra, replace_same_tag, 300)
{
	struct waiter w[5] = {
		{ .what = "read of a never-read file", .kind = OP_READ_FILE,
		  .len = FILELEN, .seed = 29 },
		{ .what = "stat of a name never looked up", .kind = OP_STAT },
		{ .what = "create", .kind = OP_CREATE, .len = 8192, .seed = 43 },
		{ .what = "pread of a held fd", .kind = OP_PREAD_FD,
		  .off = 65536, .len = 65536, .seed = 13 },
		{ .what = "O_APPEND write of a held fd", .kind = OP_APPEND },
	};
	int n_re, n_res, i, probes;
	double t_readd;
	char p[PATH_MAX];

	NEED_SCENE();
	NEED_LIVE();
	scene_path(w[0].path, "unread.bin");
	scene_path(w[1].path, "statme");
	scene_path(w[2].path, "created-while-detached");
	w[3].fd = S.uncached_fd;
	w[4].fd = S.append_fd;
	/* Nothing cached: the waiters must reach the device. */
	ASSERT_DROP_CACHES();
	/* Dirty pages in the mapping across the removal (pattern 18). */
	vfs_fill(S.map, MAPLEN, 18, 0);
	n_re = klog_count("tag %s: re-attached", TAG);
	n_res = klog_count("tag %s: resumed in", TAG);

	remove_device(_metadata, T_LONG);
	start_waiters(_metadata, w, ARRAY_SIZE(w));
	EXPECT_EQ(1, detached_info(TAG, NULL, NULL));

	probes = klog_count(PROBED_FMT, TAG);
	t_readd = vfs_now();
	run_readd(_metadata);
	expect_adopted(_metadata, probes, 30);
	for (i = 0; i < (int)ARRAY_SIZE(w); i++) {
		if (!waiter_done(&w[i], 90000)) {
			TH_LOG("'%s' still waits 90 s after the new device: %s",
			       w[i].what, proc_state(w[i].pid));
			ASSERT_TRUE(w[i].done);
		}
		TH_LOG("'%s': %s %.1f s after the new device was added",
		       w[i].what, vfs_errname(w[i].r.err), w[i].r.t - t_readd);
		EXPECT_EQ(0, w[i].r.err);
		EXPECT_EQ(-1, w[i].r.bad) TH_LOG("'%s': byte %lld is wrong",
						 w[i].what, w[i].r.bad);
		EXPECT_EQ(0, waiter_reap(&w[i], 10));
	}
	EXPECT_EQ(STATME_LEN, w[1].r.val);
	ASSERT_TRUE(wait_detached(TAG, 0, 30))
		TH_LOG("still detached: %s", file_text(DETACHED_FILE));
	EXPECT_LE(0, debugfs_index(TAG));
	EXPECT_EQ(1, session_num(TAG, "reattaches"));
	EXPECT_EQ(n_re + 1, klog_count("tag %s: re-attached", TAG))
		TH_LOG("no kernel log line \"tag %s: re-attached\"", TAG);
	EXPECT_EQ(n_res + 1, klog_count("tag %s: resumed in", TAG))
		TH_LOG("no kernel log line \"tag %s: resumed in\"", TAG);
	scene_path(p, "created-while-detached");
	ASSERT_FILE_PATTERN(p, 8192, 43);
}

TEST_F_TIMEOUT(ra, rw_fd, 60)
{
	char buf[4096];

	NEED_SCENE();
	NEED_LIVE();
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 8192));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 8192));
	vfs_fill(buf, sizeof(buf), 99, 0);
	ASSERT_EQ(sizeof(buf), vfs_pwrite_all(S.rw_fd, buf, sizeof(buf), 4096));
	ASSERT_EQ(0, fsync(S.rw_fd));
	ASSERT_DROP_CACHES();
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 4096));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 99, 0));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 0));
}

/* The append made while detached lands between the two others. */
TEST_F_TIMEOUT(ra, append_fd, 60)
{
	char p[PATH_MAX], buf[64] = "";
	int fd;

	NEED_SCENE();
	NEED_LIVE();
	ASSERT_EQ(6, write(S.append_fd, "after\n", 6));
	scene_path(p, "log.txt");
	fd = ASSERT_SYS(open(p, O_RDONLY));
	ASSERT_EQ(20, read(fd, buf, sizeof(buf) - 1)) TH_LOG("log.txt: \"%s\"", buf);
	EXPECT_STREQ("before\nduring\nafter\n", buf);
	close(fd);
}

/* The listing goes on where it stopped: every entry exactly once. */
TEST_F_TIMEOUT(ra, dir_fd_continues, 60)
{
	NEED_SCENE();
	NEED_LIVE();
	vfs_scene_listing_continues(S.dir_fd, S.listed, NAMES);
}

TEST_F_TIMEOUT(ra, cwd_child, 60)
{
	struct pollfd pfd = { .fd = S.cwd_res, .events = POLLIN };
	char p[PATH_MAX];
	int r = -1;

	NEED_SCENE();
	NEED_LIVE();
	ASSERT_EQ(1, write(S.cwd_cmd, "L", 1));
	ASSERT_EQ(1, poll(&pfd, 1, 30000)) TH_LOG("no answer from the cwd child");
	ASSERT_EQ(sizeof(r), read(S.cwd_res, &r, sizeof(r)));
	EXPECT_EQ(0, r) TH_LOG("the cwd child failed at step %d", r);
	scene_path(p, "cwd/deep/made-after.txt");
	EXPECT_EQ(0, access(p, R_OK));
}

/* Pages dirtied before the removal and after it reach the file. */
TEST_F_TIMEOUT(ra, shared_mapping, 60)
{
	unsigned char *buf = malloc(MAPLEN);
	char p[PATH_MAX];
	int fd;

	NEED_SCENE();
	NEED_LIVE();
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-1, vfs_check(S.map, MAPLEN, 18, 0));
	vfs_fill(S.map, MAPLEN / 2, 61, 0);
	ASSERT_EQ(0, msync(S.map, MAPLEN, MS_SYNC))
		TH_LOG("msync: %s", vfs_errname(errno));
	ASSERT_DROP_CACHES();
	scene_path(p, "map.bin");
	fd = ASSERT_SYS(open(p, O_RDONLY | O_DIRECT));
	ASSERT_EQ(MAPLEN, vfs_pread_all(fd, buf, MAPLEN, 0));
	close(fd);
	EXPECT_EQ(-1, vfs_check(buf, MAPLEN / 2, 61, 0));
	EXPECT_EQ(-1, vfs_check(buf + MAPLEN / 2, MAPLEN / 2, 18, MAPLEN / 2))
		TH_LOG("pages dirtied before the removal did not reach the file");
	free(buf);
}

/* main's locks were taken again on the new device. */
TEST_F_TIMEOUT(ra, locks_still_held, 60)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100,
		.l_len = 10,
	};
	char p[PATH_MAX];
	int fd, ffd;

	NEED_SCENE();
	NEED_LIVE();
	scene_path(p, "locks.bin");
	fd = ASSERT_SYS(open(p, O_RDWR));
	EXPECT_ERRNO(EAGAIN, fcntl(fd, F_SETLK, &fl));
	ASSERT_EQ(0, fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(F_WRLCK, fl.l_type);
	EXPECT_EQ(0, fl.l_start);
	EXPECT_EQ(4096, fl.l_len);
	fl.l_type = F_RDLCK;
	fl.l_start = 9000;
	fl.l_len = 1;
	fl.l_pid = 0;
	EXPECT_ERRNO(EAGAIN, fcntl(fd, F_OFD_SETLK, &fl));
	scene_path(p, "flock.bin");
	ffd = ASSERT_SYS(open(p, O_RDWR));
	EXPECT_ERRNO(EWOULDBLOCK, flock(ffd, LOCK_EX | LOCK_NB));
	close(ffd);
	close(fd);
}

TEST_F_TIMEOUT(ra, locks_release_normally, 60)
{
	NEED_SCENE();
	NEED_LIVE();
	vfs_scene_locks_released(S.dir, S.holder);
}

/*
 * Tasks waiting on a detached mount die promptly from SIGKILL: two that
 * hold no file of the mount, and one that holds the scene's files (its
 * exit closes them: FLUSH requests on the detached mount). The mount
 * stays detached and a new device adopts it.
 */
TEST_F_TIMEOUT(ra, sigkill_while_detached, 300)
{
	struct waiter w[3] = {
		{ .what = "stat of a new name (no files)", .kind = OP_STAT,
		  .alone = 1 },
		{ .what = "read of a never-read file (no files)",
		  .kind = OP_READ_FILE, .len = FILELEN, .seed = 37, .alone = 1 },
		{ .what = "pread of a held fd (holds the scene's files)",
		  .kind = OP_PREAD_FD, .off = 131072, .len = 65536, .seed = 11 },
	};
	char buf[4096];
	int i, st, gate[2];
	double t0;

	NEED_SCENE();
	NEED_LIVE();
	scene_path(w[0].path, "victim-new-name");
	scene_path(w[1].path, "victim.bin");
	w[2].fd = S.rw_fd;
	ASSERT_EQ(0, pipe(gate));
	/* Forked (and alone) while the mount works, let go once detached. */
	for (i = 0; i < (int)ARRAY_SIZE(w); i++) {
		w[i].gate = gate[0];
		ASSERT_EQ(0, waiter_start(&w[i]));
		ASSERT_TRUE(waiter_ready(&w[i], 10000));
	}
	close(gate[0]);
	ASSERT_DROP_CACHES();

	remove_device(_metadata, T_LONG);
	ASSERT_EQ(ARRAY_SIZE(w), write(gate[1], "GGG", ARRAY_SIZE(w)));
	start_waiters(_metadata, w, ARRAY_SIZE(w));
	for (i = 0; i < (int)ARRAY_SIZE(w); i++) {
		if (w[i].done)
			continue;
		t0 = vfs_now();
		ASSERT_EQ(0, kill(w[i].pid, SIGKILL));
		st = vfs_wait_timeout(w[i].pid, 10);
		shared_untrack(w[i].pid);
		close(w[i].rfd);
		if (st == -1)
			TH_LOG("'%s' not reaped 10 s after SIGKILL: %s; stack: %s",
			       w[i].what, proc_state(w[i].pid),
			       proc_stack(w[i].pid));
		else
			TH_LOG("'%s' reaped %.2f s after SIGKILL", w[i].what,
			       vfs_now() - t0);
		EXPECT_TRUE(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
	EXPECT_EQ(1, detached_info(TAG, NULL, NULL))
		TH_LOG("no longer detached after the kills: %s",
		       file_text(DETACHED_FILE));

	i = klog_count(PROBED_FMT, TAG);
	run_readd(_metadata);
	expect_adopted(_metadata, i, 30);
	ASSERT_TRUE(wait_detached(TAG, 0, 60))
		TH_LOG("still detached 60 s after the new device: %s",
		       file_text(DETACHED_FILE));
	ASSERT_TRUE(wait_device(TAG, 10));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 8192));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 8192));
	EXPECT_EQ(2, session_num(TAG, "reattaches"));
}

/*
 * main lets go of the scene, in a test of its own: a test's parent may
 * hold it too (later kselftest harnesses run a test in a grandchild), and
 * the next tests remount.
 */
TEST_F_TIMEOUT(ra, release_scene, 150)
{
	NEED_ENV();
	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(0, scene_release()) TH_LOG("main did not release the scene");
}

/*
 * A device with another tag never adopts the mount; it mounts on its own.
 * Without a device with our tag, the timeout ends the waiting.
 */
TEST_F_TIMEOUT(ra, other_tag_not_adopted, 300)
{
	struct waiter w[2] = {
		{ .what = "read of a never-read file", .kind = OP_READ_FILE,
		  .len = FILELEN, .seed = 43 },
		{ .what = "create", .kind = OP_CREATE, .len = 4096, .seed = 47 },
	};
	char p[PATH_MAX], opts[64], other[256], state[64];
	int n_re, fd, rc, i, tmo = T_SHORT;
	double t_detach, took;
	struct stat st;

	NEED_ENV();
	ASSERT_EQ(0, S.setup_step);
	if (!getenv("VFS_OTHER_CMD"))
		SKIP(return, "VFS_OTHER_CMD is not set");
	snprintf(opts, sizeof(opts), "reattach_timeout=%d", tmo);
	fresh_mount(_metadata, opts);
	scene_path(p, "other.bin");
	ASSERT_EQ(0, vfs_make_file(p, FILELEN, 41));
	SH->other_done = 1;
	fd = ASSERT_SYS(open(p, O_RDWR));
	scene_path(w[0].path, "other-unread.bin");
	ASSERT_EQ(0, vfs_make_file(w[0].path, FILELEN, 43));
	scene_path(w[1].path, "other-created");
	ASSERT_DROP_CACHES();
	n_re = klog_count("tag %s: re-attached", TAG);

	t_detach = remove_device(_metadata, tmo);
	start_waiters(_metadata, w, ARRAY_SIZE(w));
	rc = run_cmd(getenv("VFS_OTHER_CMD"), 120);
	ASSERT_EQ(0, rc) TH_LOG("'%s' failed", getenv("VFS_OTHER_CMD"));
	ASSERT_TRUE(wait_device(OTHER_TAG, 30))
		TH_LOG("no device with tag %s 30 s after '%s'", OTHER_TAG,
		       getenv("VFS_OTHER_CMD"));
	usleep(1000000);
	/* Meaningful only before our timeout: */
	ASSERT_GT(t_detach + tmo - 1, vfs_now())
		TH_LOG("the other device took too long to come (%.1f s)",
		       vfs_now() - t_detach);
	EXPECT_EQ(1, detached_info(TAG, NULL, NULL))
		TH_LOG("%s is no longer detached: %s", TAG,
		       file_text(DETACHED_FILE));
	EXPECT_EQ(n_re, klog_count("tag %s: re-attached", TAG));
	EXPECT_EQ(0, session_value(OTHER_TAG, "state", state, sizeof(state)));
	EXPECT_STREQ("unmounted", state)
		TH_LOG("the %s device's session is \"%s\"", OTHER_TAG, state);
	for (i = 0; i < (int)ARRAY_SIZE(w); i++) {
		EXPECT_FALSE(waiter_done(&w[i], 0))
			TH_LOG("'%s' ended with %s while detached", w[i].what,
			       vfs_errname(w[i].r.err));
	}

	/* The other tag mounts on its own: the same shared directory. */
	snprintf(other, sizeof(other), "%s-other", vfs_mnt());
	rc = mount_retry(OTHER_TAG, other, NULL, 10);
	ASSERT_EQ(0, rc) TH_LOG("mount %s: %s", OTHER_TAG, vfs_errname(-rc));
	snprintf(p, sizeof(p), "%s/%s/other.bin", other,
		 S.dir + strlen(vfs_mnt()) + 1);
	EXPECT_EQ(-1, vfs_verify_file(p, FILELEN, 41));

	expect_timed_out(_metadata, w, ARRAY_SIZE(w), t_detach, tmo, fd);
	/* What the waiter would have created never reached a device. */
	snprintf(p, sizeof(p), "%s/%s/other-created", other,
		 S.dir + strlen(vfs_mnt()) + 1);
	EXPECT_ERRNO(ENOENT, stat(p, &st));
	rc = umount_timed(other, 30, &took);
	EXPECT_EQ(0, rc) TH_LOG("umount %s: %s", other, vfs_errname(rc));
}

/*
 * The module parameter sets the timeout of a mount without the option;
 * no device comes: the waiters fail after it, umount works.
 */
TEST_F_TIMEOUT(ra, timeout_without_device, 300)
{
	struct waiter w[2] = {
		{ .what = "read of a never-read file", .kind = OP_READ_FILE,
		  .len = FILELEN, .seed = 53 },
		{ .what = "stat of a new name", .kind = OP_STAT },
	};
	char p[PATH_MAX], val[16];
	int fd, tmo = T_PARAM;
	double t_detach;

	NEED_ENV();
	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(0, access(param_path(), W_OK))
		TH_LOG("%s: %s", param_path(), vfs_errname(errno));
	snprintf(val, sizeof(val), "%d", tmo);
	ASSERT_EQ(0, write_str(param_path(), val));
	SH->param_set = 1;
	fresh_mount(_metadata, NULL);
	scene_path(p, "param.bin");
	ASSERT_EQ(0, vfs_make_file(p, FILELEN, 51));
	fd = ASSERT_SYS(open(p, O_RDWR));
	scene_path(w[0].path, "param-unread.bin");
	ASSERT_EQ(0, vfs_make_file(w[0].path, FILELEN, 53));
	scene_path(w[1].path, "param-new-name");
	ASSERT_DROP_CACHES();

	t_detach = remove_device(_metadata, tmo);
	start_waiters(_metadata, w, ARRAY_SIZE(w));
	expect_timed_out(_metadata, w, ARRAY_SIZE(w), t_detach, tmo, fd);
	EXPECT_EQ(0, write_str(param_path(), "0"));
	SH->param_set = 0;
}

TEST_F_TIMEOUT(ra, umount_while_detached, 300)
{
	char p[PATH_MAX], opts[64];
	double took;
	int rc;

	NEED_ENV();
	ASSERT_EQ(0, S.setup_step);
	snprintf(opts, sizeof(opts), "reattach_timeout=%d", T_LONG);
	fresh_mount(_metadata, opts);
	scene_path(p, "umount.bin");
	ASSERT_EQ(0, vfs_make_file(p, FILELEN, 59));
	sync();

	remove_device(_metadata, T_LONG);
	rc = umount_timed(vfs_mnt(), 60, &took);
	ASSERT_EQ(0, rc) TH_LOG("umount of a detached mount: %s",
				rc == -1 ? "hung for 60 s" : vfs_errname(rc));
	TH_LOG("umount took %.2f s", took);
	EXPECT_GT(5.0, took);
	EXPECT_EQ(0, vfs_mounted(NULL, vfs_mnt()));
	EXPECT_TRUE(wait_detached(TAG, 0, 5))
		TH_LOG("still listed after umount: %s", file_text(DETACHED_FILE));
}

TEST_F_TIMEOUT(ra, readd_and_mount, 300)
{
	char p[PATH_MAX], buf[64] = "";
	int fd;

	NEED_ENV();
	ASSERT_EQ(0, S.setup_step);
	fresh_mount(_metadata, NULL);
	/* Every byte written on the way. */
	scene_path(p, "rw.bin");
	fd = ASSERT_SYS(open(p, O_RDONLY));
	{
		char b[FILELEN];

		ASSERT_EQ(FILELEN, vfs_pread_all(fd, b, FILELEN, 0));
		EXPECT_EQ(-1, vfs_check(b, 4096, 11, 0));
		EXPECT_EQ(-1, vfs_check(b + 4096, 4096, 99, 0));
		EXPECT_EQ(-1, vfs_check(b + 8192, FILELEN - 8192, 11, 8192));
	}
	close(fd);
	scene_path(p, "log.txt");
	fd = ASSERT_SYS(open(p, O_RDONLY));
	EXPECT_EQ(20, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("before\nduring\nafter\n", buf);
	close(fd);
	scene_path(p, "created-while-detached");
	ASSERT_FILE_PATTERN(p, 8192, 43);
	if (SH->other_done) {
		scene_path(p, "other.bin");
		ASSERT_FILE_PATTERN(p, FILELEN, 41);
	}
	scene_path(p, "umount.bin");
	ASSERT_FILE_PATTERN(p, FILELEN, 59);
	scene_path(p, "cwd/deep/made-after.txt");
	EXPECT_EQ(0, access(p, R_OK));
	EXPECT_EQ(0, vfs_rm_rf(S.dir)) TH_LOG("rm -rf %s: %s", S.dir,
					      vfs_errname(errno));
}

TEST_F(ra, kernel_log_clean)
{
	NEED_ENV();
	EXPECT_KERNEL_LOG_CLEAN();
}

int main(int argc, char **argv)
{
	SH = mmap(NULL, sizeof(*SH), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (SH == MAP_FAILED)
		return 1;
	S.holder = getpid();
	S.rw_fd = S.append_fd = S.uncached_fd = S.dir_fd = S.map_fd = -1;
	S.posix_fd = S.ofd_fd = S.flock_fd = S.ack_rd = S.ack_wr = -1;
	S.cwd_child = -1;
	if (launcher_start(&S.launch_req, &S.launch_res))
		return 1;
	if (getenv("VFS_REMOVE_CMD") && getenv("VFS_READD_CMD")) {
		S.setup_step = scene_setup();
		S.setup_errno = errno;
	}
	signal(SIGUSR1, on_release_locks);
	signal(SIGUSR2, on_release_scene);
	return test_harness_run(argc, argv);
}
