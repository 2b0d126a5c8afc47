/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the virtio-fs guest test programs (*_test.c).
 *
 * Every test gets its own fresh directory under $VFS_MNT (default /mnt/vfs)
 * from vfs_dir_setup() and loses it again in vfs_dir_teardown(). Data
 * patterns are a pure function of (seed, file offset), so a separate pass,
 * another process or the host can recompute and check every byte.
 *
 * Children forked by a test must never use the ASSERT and EXPECT macros:
 * those jump back into the harness inside the child. They report through their exit
 * status instead (0 = good, anything else = a step number).
 */
#ifndef VFS_TEST_H
#define VFS_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define VFS_DEFAULT_MNT "/mnt/vfs"

/*
 * Whether SKIP() ran in this test (its setup, say): the harness of Linux
 * 6.1 keeps a flag, later ones an exit code (XFAIL_ADD tells them apart).
 */
#ifdef XFAIL_ADD
#define vfs_skipped(m) ((m)->exit_code == KSFT_SKIP)
#else
#define vfs_skipped(m) ((m)->skip)
#endif

static inline const char *vfs_mnt(void)
{
	const char *m = getenv("VFS_MNT");

	return (m && *m) ? m : VFS_DEFAULT_MNT;
}

static inline const char *vfs_errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "E???";
}

/*
 * ASSERT_ERRNO(err, expr): expr must return -1 and set errno to err.
 * On failure, the log names the call, the expected errno and what came
 * back instead. EXPECT_ERRNO() goes on after a failure.
 */
#define __VFS_CHECK_ERRNO(check, err, expr, expr_str) do {		\
	long __r = (long)(expr);					\
	int __e = errno;						\
	if (__r != -1 || __e != (err))					\
		TH_LOG("%s: expected -1 with errno %s, got %ld (errno %s)", \
		       expr_str, vfs_errname(err), __r,		\
		       __r == -1 ? vfs_errname(__e) : "unset");		\
	check(err, __r == -1 ? __e : 0);				\
} while (0)

#define ASSERT_ERRNO(err, expr) __VFS_CHECK_ERRNO(ASSERT_EQ, err, expr, #expr)
#define EXPECT_ERRNO(err, expr) __VFS_CHECK_ERRNO(EXPECT_EQ, err, expr, #expr)

/*
 * ASSERT_SYS(expr): expr must not return a negative value; evaluates to
 * the value. The log names the call and the errno it failed with.
 */
#define ASSERT_SYS(expr) ({						\
	long __r = (long)(expr);					\
	if (__r < 0) {							\
		TH_LOG("%s failed: %s (%s)", #expr, vfs_errname(errno),	\
		       strerror(errno));				\
	}								\
	ASSERT_LE(0, __r);						\
	__r;								\
})

struct vfs_dir {
	char path[PATH_MAX];
	int fd;			/* O_DIRECTORY fd of path */
	int keep;		/* do not remove at teardown */
};

static int vfs_rm_cb(const char *p, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) ? -1 : 0;
	return unlink(p) ? -1 : 0;
}

/* rm -rf; returns 0 or -1 with errno of the first failure. */
static inline int vfs_rm_rf(const char *path)
{
	return nftw(path, vfs_rm_cb, 64, FTW_DEPTH | FTW_PHYS);
}

/*
 * Make $VFS_MNT/<program>.<test>.<pid>: must not exist yet, must come out
 * empty. Skips the test when $VFS_MNT is not a directory.
 */
#define vfs_dir_setup(d) __vfs_dir_setup(_metadata, (d))
static inline void __vfs_dir_setup(struct __test_metadata *_metadata,
				   struct vfs_dir *d)
{
	struct stat st;

	d->fd = -1;
	if (stat(vfs_mnt(), &st) || !S_ISDIR(st.st_mode)) {
		TH_LOG("VFS_MNT=%s is not a directory", vfs_mnt());
		ASSERT_TRUE(0);
	}
	snprintf(d->path, sizeof(d->path), "%s/%s.%s.%d", vfs_mnt(),
		 program_invocation_short_name, _metadata->name, getpid());
	ASSERT_SYS(mkdir(d->path, 0755));
	d->fd = ASSERT_SYS(open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

#define vfs_dir_teardown(d) __vfs_dir_teardown(_metadata, (d))
static inline void __vfs_dir_teardown(struct __test_metadata *_metadata,
				      struct vfs_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (!d->path[0] || d->keep || getenv("VFS_KEEP"))
		return;
	if (vfs_rm_rf(d->path))
		TH_LOG("cleanup of %s failed: %s", d->path,
		       vfs_errname(errno));
}

/* Path of name inside the test directory (static ring of buffers). */
static inline const char *vfs_path(const struct vfs_dir *d, const char *fmt,
				   ...)
{
	static char bufs[8][PATH_MAX];
	static unsigned int next;
	char *b = bufs[next++ % 8];
	int n = snprintf(b, PATH_MAX, "%s/", d->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return b;
}

/* echo 3 > /proc/sys/vm/drop_caches after a sync; 0 or -errno. */
static inline int vfs_drop_caches(void)
{
	int fd, ret = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

#define ASSERT_DROP_CACHES() do {					\
	int __dc = vfs_drop_caches();					\
	if (__dc == -EACCES || __dc == -EPERM)				\
		SKIP(return, "drop_caches needs root");			\
	if (__dc)							\
		TH_LOG("drop_caches: %s", vfs_errname(-__dc));		\
	ASSERT_EQ(0, __dc);						\
} while (0)

/*
 * Deterministic data: byte at file offset off for a given seed. Computed
 * per 64-bit word (splitmix64 of the word index), so bulk fills are cheap.
 */
static inline uint64_t vfs_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint8_t vfs_pat(uint32_t seed, uint64_t off)
{
	uint64_t w = vfs_mix64(((uint64_t)seed << 48) ^ (off >> 3));

	return (uint8_t)(w >> ((off & 7) * 8));
}

static inline void vfs_fill(void *buf, size_t len, uint32_t seed, uint64_t off)
{
	uint8_t *p = buf;
	size_t i = 0;

	/* bytewise up to a word boundary, then whole words */
	for (; i < len && ((off + i) & 7); i++)
		p[i] = vfs_pat(seed, off + i);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = vfs_mix64(((uint64_t)seed << 48) ^ ((off + i) >> 3));

		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = vfs_pat(seed, off + i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long vfs_check(const void *buf, size_t len, uint32_t seed,
			     uint64_t off)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!((off + i) & 7) && i + 8 <= len) {
			uint64_t w = vfs_mix64(((uint64_t)seed << 48) ^
					       ((off + i) >> 3));

			if (!memcmp(p + i, &w, 8)) {
				i += 7;
				continue;
			}
		}
		if (p[i] != vfs_pat(seed, off + i))
			return (long)i;
	}
	return -1;
}

/* Index of the first non-zero byte, or -1. */
static inline long vfs_check_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return (long)i;
	return -1;
}

/* Full pwrite/pread loops; return len, or -1 with errno (0 on EOF). */
static inline ssize_t vfs_pwrite_all(int fd, const void *buf, size_t len,
				     off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		done += n;
	}
	return done;
}

static inline ssize_t vfs_pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Create path holding len bytes of pattern seed; 0 or -errno. */
static inline int vfs_make_file(const char *path, size_t len, uint32_t seed)
{
	char buf[65536];
	size_t off;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		vfs_fill(buf, n, seed, off);
		if (vfs_pwrite_all(fd, buf, n, off) < 0) {
			ret = -errno;
			break;
		}
	}
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/*
 * Compare a file with pattern seed over len bytes; returns the offset of
 * the first bad byte, -1 if good, -2 on a short file, -3 on I/O error
 * (errno set).
 */
static inline long long vfs_verify_file(const char *path, size_t len,
					uint32_t seed)
{
	static char buf[1 << 20];
	long long ret = -1;
	size_t off;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -3;
	for (off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		ssize_t got = vfs_pread_all(fd, buf, n, off);
		long bad;

		if (got < 0) {
			ret = -3;
			break;
		}
		if ((size_t)got != n) {
			ret = -2;
			break;
		}
		bad = vfs_check(buf, n, seed, off);
		if (bad >= 0) {
			ret = off + bad;
			break;
		}
	}
	close(fd);
	return ret;
}

#define ASSERT_FILE_PATTERN(path, len, seed) do {			\
	long long __v = vfs_verify_file((path), (len), (seed));		\
	if (__v == -3)							\
		TH_LOG("%s: I/O error %s", (path), vfs_errname(errno));	\
	else if (__v == -2)						\
		TH_LOG("%s: shorter than the expected %zu bytes", (path),	\
		       (size_t)(len));					\
	else if (__v >= 0)						\
		TH_LOG("%s: byte %lld differs from pattern %u",		\
		       (path), __v, (unsigned int)(seed));		\
	ASSERT_EQ(-1, __v);						\
} while (0)

/* waitpid with a deadline; returns the status, or -1 after killing it. */
static inline int vfs_wait_timeout(pid_t pid, int seconds)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status, i;

	for (i = 0; i < seconds * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	return -1;
}

#define ASSERT_CHILD_OK(pid, secs, what) do {				\
	int __st = vfs_wait_timeout((pid), (secs));			\
	if (__st == -1)							\
		TH_LOG("%s: no exit within %d s", (what), (secs));	\
	else if (!WIFEXITED(__st) || WEXITSTATUS(__st))			\
		TH_LOG("%s: %s %d", (what),				\
		       WIFEXITED(__st) ? "failed at step" : "killed by signal", \
		       WIFEXITED(__st) ? WEXITSTATUS(__st) : WTERMSIG(__st)); \
	ASSERT_EQ(0, __st);						\
} while (0)

static inline double vfs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * True for the errors the kernel returns when the device lacks an optional
 * operation (it turns the device's ENOSYS into one of these).
 */
static inline int vfs_unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTTY;
}

#endif /* VFS_TEST_H */
