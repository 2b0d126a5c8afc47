// SPDX-License-Identifier: GPL-2.0
/*
 * Basic inode and file operations on a virtio-fs mount: LOOKUP, GETATTR,
 * SETATTR, CREATE, OPEN, READ, WRITE, FLUSH, RELEASE, FSYNC, FSYNCDIR,
 * MKDIR, RMDIR, MKNOD, UNLINK, RENAME, RENAME2, LINK, SYMLINK, READLINK,
 * STATFS, SYNCFS, POLL and the four xattr operations.
 *
 * Runs against $VFS_MNT (default /mnt/vfs); every test works in its own
 * fresh directory there.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "vfs_test.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* Guest and host clocks may differ a little under TCG. */
#define CLOCK_SLACK 300

FIXTURE(ops) {
	struct vfs_dir d;
};

FIXTURE_SETUP(ops)
{
	umask(0);
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(ops)
{
	vfs_dir_teardown(&self->d);
}

/* Create name in dfd with len bytes of pattern seed. */
static int make_at(int dfd, const char *name, size_t len, uint32_t seed)
{
	char buf[8192];
	size_t off;
	int fd;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	for (off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		vfs_fill(buf, n, seed, off);
		if (vfs_pwrite_all(fd, buf, n, off) < 0) {
			close(fd);
			return -1;
		}
	}
	return close(fd);
}

/* 1 if name in dfd holds exactly len bytes of pattern seed. */
static int check_at(int dfd, const char *name, size_t len, uint32_t seed)
{
	char buf[8192];
	size_t off;
	int fd, ok = 1;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (off = 0; ok && off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		if (vfs_pread_all(fd, buf, n, off) != (ssize_t)n ||
		    vfs_check(buf, n, seed, off) >= 0)
			ok = 0;
	}
	if (ok && pread(fd, buf, 1, len) != 0)
		ok = 0;	/* longer than expected */
	close(fd);
	return ok;
}

/* How often name appears in a listing of dir (relative to dfd); -1 on error. */
static int name_in_dir(int dfd, const char *dir, const char *name)
{
	int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int found = 0;
	DIR *dp;

	if (fd < 0)
		return -1;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -1;
	}
	while ((de = readdir(dp)))
		if (!strcmp(de->d_name, name))
			found++;
	closedir(dp);
	return found;
}

TEST_F(ops, lookup)
{
	char name[300];
	struct stat st, st2;

	ASSERT_SYS(mkdirat(self->d.fd, "a", 0755));
	ASSERT_SYS(mkdirat(self->d.fd, "a/b", 0755));
	ASSERT_SYS(mkdirat(self->d.fd, "a/b/c", 0755));
	ASSERT_SYS(make_at(self->d.fd, "a/b/c/f", 10, 1));

	ASSERT_SYS(fstatat(self->d.fd, "a/b/c/f", &st, 0));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(10, st.st_size);
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a/b/c/missing", &st2, 0));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a/x/c/f", &st2, 0));
	ASSERT_ERRNO(ENOTDIR, fstatat(self->d.fd, "a/b/c/f/x", &st2, 0));

	/* a name of NAME_MAX bytes works, one byte more does not */
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	ASSERT_SYS(make_at(self->d.fd, name, 3, 2));
	ASSERT_SYS(fstatat(self->d.fd, name, &st2, 0));
	EXPECT_EQ(3, st2.st_size);
	strcat(name, "x");
	ASSERT_ERRNO(ENAMETOOLONG, fstatat(self->d.fd, name, &st2, 0));

	/* after the dentry cache is gone, LOOKUP finds the same inode */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "a/b/c/f", &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_EQ(st.st_size, st2.st_size);
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a/b/c/missing", &st2, 0));
	/* a negative dentry must not hide a name created afterwards */
	ASSERT_SYS(make_at(self->d.fd, "a/b/c/missing", 5, 3));
	ASSERT_SYS(fstatat(self->d.fd, "a/b/c/missing", &st2, 0));
	EXPECT_EQ(5, st2.st_size);
	EXPECT_TRUE(check_at(self->d.fd, "a/b/c/f", 10, 1));
	ASSERT_SYS(fstatat(self->d.fd, "a/b/../b/./c/f", &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
}

TEST_F(ops, getattr)
{
	struct stat st, st2, dst;
	double t0, t1;
	int fd;

	t0 = vfs_now();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT | O_EXCL, 0640));
	ASSERT_SYS(make_at(self->d.fd, "f", 12345, 7));
	ASSERT_SYS(fsync(fd));
	t1 = vfs_now();

	ASSERT_SYS(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(12345, st.st_size);
	EXPECT_EQ(1, st.st_nlink);
	EXPECT_EQ(geteuid(), st.st_uid);
	EXPECT_EQ(getegid(), st.st_gid);
	EXPECT_LT(0, st.st_blksize);
	/* allocated space covers the data (the host fs is not compressing) */
	EXPECT_LE(12345, st.st_blocks * 512);
	EXPECT_NE(0, st.st_ino);
	if (st.st_mtime < t0 - CLOCK_SLACK || st.st_mtime > t1 + CLOCK_SLACK)
		TH_LOG("mtime %ld, guest clock %.0f..%.0f", (long)st.st_mtime,
		       t0, t1);
	EXPECT_GE(st.st_mtime, (time_t)t0 - CLOCK_SLACK);
	EXPECT_LE(st.st_mtime, (time_t)t1 + CLOCK_SLACK);
	EXPECT_GE(st.st_ctime, (time_t)t0 - CLOCK_SLACK);
	EXPECT_LE(st.st_ctime, (time_t)t1 + CLOCK_SLACK);

	/* path and fd agree, and the file lives on the directory's device */
	ASSERT_SYS(fstatat(self->d.fd, "f", &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_EQ(st.st_dev, st2.st_dev);
	EXPECT_EQ(st.st_size, st2.st_size);
	EXPECT_EQ(st.st_mode, st2.st_mode);
	EXPECT_EQ(st.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	EXPECT_EQ(st.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	ASSERT_SYS(fstat(self->d.fd, &dst));
	EXPECT_TRUE(S_ISDIR(dst.st_mode));
	EXPECT_EQ(dst.st_dev, st.st_dev);
	EXPECT_LE(2, dst.st_nlink);

	/* a size change made through the fd is seen through the path */
	ASSERT_SYS(pwrite(fd, "x", 1, 20000));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st2, 0));
	EXPECT_EQ(20001, st2.st_size);
	close(fd);

	/* and after the inode is dropped and read back from the device */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st2, 0));
	EXPECT_EQ(20001, st2.st_size);
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_EQ(0640, st2.st_mode & 07777);
}

TEST_F(ops, chmod)
{
	static const mode_t modes[] = { 0600, 0751, 0444, 04755, 02750, 01777, 0 };
	struct stat st;
	unsigned int i;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "f", 100, 1));
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		ASSERT_SYS(fchmodat(self->d.fd, "f", modes[i], 0));
		ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
		EXPECT_EQ(modes[i], st.st_mode & 07777);
		EXPECT_TRUE(S_ISREG(st.st_mode));
	}
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_SYS(fchmod(fd, 0640));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	close(fd);

	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_SYS(fchmodat(self->d.fd, "dir", 0700, 0));
	ASSERT_SYS(fstatat(self->d.fd, "dir", &st, 0));
	EXPECT_EQ(0700, st.st_mode & 07777);
	EXPECT_TRUE(S_ISDIR(st.st_mode));

	/* the device keeps the mode, not just the guest's inode cache */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(100, st.st_size);
	ASSERT_ERRNO(ENOENT, fchmodat(self->d.fd, "missing", 0600, 0));
}

TEST_F(ops, chown)
{
	struct stat st;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "chown needs root");

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	ASSERT_SYS(fchownat(self->d.fd, "f", 1234, 5678, 0));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(1234, st.st_uid);
	EXPECT_EQ(5678, st.st_gid);

	/* -1 keeps that id */
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	ASSERT_SYS(fchown(fd, -1, 4321));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(1234, st.st_uid);
	EXPECT_EQ(4321, st.st_gid);
	ASSERT_SYS(fchown(fd, 99, -1));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(99, st.st_uid);
	EXPECT_EQ(4321, st.st_gid);
	close(fd);

	/* lchown changes the link, not its target */
	ASSERT_SYS(symlinkat("f", self->d.fd, "l"));
	ASSERT_SYS(fchownat(self->d.fd, "l", 777, 888, AT_SYMLINK_NOFOLLOW));
	ASSERT_SYS(fstatat(self->d.fd, "l", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ(777, st.st_uid);
	EXPECT_EQ(888, st.st_gid);
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(99, st.st_uid);

	/* a change of owner clears set-user-ID on an executable file */
	ASSERT_SYS(fchmodat(self->d.fd, "f", 04755, 0));
	ASSERT_SYS(fchownat(self->d.fd, "f", 0, 0, 0));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0, st.st_mode & S_ISUID);

	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "l", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_EQ(777, st.st_uid);
	EXPECT_EQ(888, st.st_gid);
}

TEST_F(ops, truncate)
{
	char buf[32768];
	struct stat st;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "f", 10000, 5));

	/* shrink by path: size drops, the prefix is kept */
	ASSERT_SYS(truncate(vfs_path(&self->d, "f"), 3000));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(3000, st.st_size);
	EXPECT_TRUE(check_at(self->d.fd, "f", 3000, 5));

	/* grow by path: the new part reads back as zeros */
	ASSERT_SYS(truncate(vfs_path(&self->d, "f"), 20000));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(20000, st.st_size);
	ASSERT_EQ(20000, vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, 3000, 5, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf + 3000, 17000));

	/* shrink by fd to the middle of a page, then grow again */
	ASSERT_SYS(ftruncate(fd, 1234));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(1234, st.st_size);
	ASSERT_SYS(ftruncate(fd, 8192));
	ASSERT_EQ(8192, vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, 1234, 5, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf + 1234, 8192 - 1234));

	/* to zero and to a large sparse size */
	ASSERT_SYS(ftruncate(fd, 0));
	ASSERT_EQ(0, pread(fd, buf, 10, 0));
	ASSERT_SYS(ftruncate(fd, 1LL << 33));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(1LL << 33, st.st_size);
	ASSERT_EQ(100, pread(fd, buf, 100, (1LL << 33) - 100));
	EXPECT_EQ(-1, vfs_check_zero(buf, 100));
	close(fd);

	/* the device agrees after the caches are gone */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(1LL << 33, st.st_size);
	ASSERT_ERRNO(EINVAL, truncate(vfs_path(&self->d, "f"), -1));
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_ERRNO(EISDIR, truncate(vfs_path(&self->d, "dir"), 0));
}

TEST_F(ops, utimensat_explicit)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 123456789 },
		{ .tv_sec = 1200000000, .tv_nsec = 987654321 },
	};
	struct stat st;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	ASSERT_SYS(utimensat(self->d.fd, "f", ts, 0));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(ts[0].tv_sec, st.st_atim.tv_sec);
	EXPECT_EQ(ts[0].tv_nsec, st.st_atim.tv_nsec);
	EXPECT_EQ(ts[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(ts[1].tv_nsec, st.st_mtim.tv_nsec);

	/* futimens with times before 1970 and far in the future */
	ts[0].tv_sec = -86400;
	ts[0].tv_nsec = 5;
	ts[1].tv_sec = 4000000000LL;
	ts[1].tv_nsec = 999999999;
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_SYS(futimens(fd, ts));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(ts[0].tv_sec, st.st_atim.tv_sec);
	EXPECT_EQ(ts[0].tv_nsec, st.st_atim.tv_nsec);
	EXPECT_EQ(ts[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(ts[1].tv_nsec, st.st_mtim.tv_nsec);
	close(fd);

	/* kept by the device */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(ts[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(ts[1].tv_nsec, st.st_mtim.tv_nsec);
	EXPECT_EQ(ts[0].tv_sec, st.st_atim.tv_sec);

	/* a directory takes times too */
	ts[0].tv_sec = 1111111111;
	ts[1].tv_sec = 1222222222;
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_SYS(utimensat(self->d.fd, "dir", ts, 0));
	ASSERT_SYS(fstatat(self->d.fd, "dir", &st, 0));
	EXPECT_EQ(1222222222, st.st_mtim.tv_sec);
	EXPECT_EQ(ts[1].tv_nsec, st.st_mtim.tv_nsec);

	ts[0].tv_nsec = 1000000000;	/* out of range */
	ASSERT_ERRNO(EINVAL, utimensat(self->d.fd, "f", ts, 0));
}

TEST_F(ops, utimensat_now)
{
	struct timespec old[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 111 },
		{ .tv_sec = 1100000000, .tv_nsec = 222 },
	};
	struct timespec ts[2];
	struct stat st;
	double t0, t1;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	ASSERT_SYS(utimensat(self->d.fd, "f", old, 0));

	/* mtime to now, atime untouched */
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	ts[0].tv_sec = 0;
	ts[1].tv_sec = 0;
	t0 = vfs_now();
	ASSERT_SYS(utimensat(self->d.fd, "f", ts, 0));
	t1 = vfs_now();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(old[0].tv_sec, st.st_atim.tv_sec);
	EXPECT_EQ(old[0].tv_nsec, st.st_atim.tv_nsec);
	EXPECT_GE(st.st_mtim.tv_sec, (time_t)t0 - CLOCK_SLACK);
	EXPECT_LE(st.st_mtim.tv_sec, (time_t)t1 + CLOCK_SLACK);

	/* atime to now, mtime kept at what it just became */
	ASSERT_SYS(utimensat(self->d.fd, "f", old, 0));
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	t0 = vfs_now();
	ASSERT_SYS(utimensat(self->d.fd, "f", ts, 0));
	t1 = vfs_now();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(old[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(old[1].tv_nsec, st.st_mtim.tv_nsec);
	EXPECT_GE(st.st_atim.tv_sec, (time_t)t0 - CLOCK_SLACK);
	EXPECT_LE(st.st_atim.tv_sec, (time_t)t1 + CLOCK_SLACK);

	/* NULL means both to now */
	ASSERT_SYS(utimensat(self->d.fd, "f", old, 0));
	ASSERT_SYS(utimensat(self->d.fd, "f", NULL, 0));
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_LT(old[1].tv_sec + 1000, st.st_mtim.tv_sec);
	EXPECT_LT(old[0].tv_sec + 1000, st.st_atim.tv_sec);

	/* a write moves mtime from the old explicit value to about now */
	ASSERT_SYS(utimensat(self->d.fd, "f", old, 0));
	ASSERT_SYS(make_at(self->d.fd, "f", 20, 2));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_LT(old[1].tv_sec + 1000, st.st_mtim.tv_sec);
}

TEST_F(ops, utimensat_omit)
{
	struct timespec old[2] = {
		{ .tv_sec = 1300000000, .tv_nsec = 333333333 },
		{ .tv_sec = 1400000000, .tv_nsec = 444444444 },
	};
	struct timespec ts[2] = {
		{ .tv_sec = 5, .tv_nsec = UTIME_OMIT },
		{ .tv_sec = 7, .tv_nsec = UTIME_OMIT },
	};
	struct stat st;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	ASSERT_SYS(utimensat(self->d.fd, "f", old, 0));
	ASSERT_SYS(utimensat(self->d.fd, "f", ts, 0));
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(old[0].tv_sec, st.st_atim.tv_sec);
	EXPECT_EQ(old[0].tv_nsec, st.st_atim.tv_nsec);
	EXPECT_EQ(old[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(old[1].tv_nsec, st.st_mtim.tv_nsec);

	/* only atime given, mtime omitted */
	ts[0].tv_sec = 1350000000;
	ts[0].tv_nsec = 0;
	ASSERT_SYS(utimensat(self->d.fd, "f", ts, 0));
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(1350000000, st.st_atim.tv_sec);
	EXPECT_EQ(0, st.st_atim.tv_nsec);
	EXPECT_EQ(old[1].tv_sec, st.st_mtim.tv_sec);
	EXPECT_EQ(old[1].tv_nsec, st.st_mtim.tv_nsec);
}

/*
 * n processes try O_CREAT|O_EXCL on name at once; returns how many won,
 * or -1 if one failed otherwise or did not finish.
 */
static int create_race(int dfd, const char *name, int n)
{
	int i, wins = 0, bad = 0;
	pid_t pid[8];

	for (i = 0; i < n && i < 8; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			return -1;
		if (!pid[i]) {
			int r = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);

			_exit(r >= 0 ? 0 : errno == EEXIST ? 1 : 2);
		}
	}
	for (i = 0; i < n && i < 8; i++) {
		int s = vfs_wait_timeout(pid[i], 30);

		if (s == -1 || !WIFEXITED(s) || WEXITSTATUS(s) > 1)
			bad++;
		else if (!WEXITSTATUS(s))
			wins++;
	}
	return bad ? -1 : wins;
}

TEST_F(ops, create_excl)
{
	struct stat st;
	int fd;

	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT | O_EXCL, 0600));
	ASSERT_EQ(5, write(fd, "hello", 5));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(5, st.st_size);
	close(fd);

	ASSERT_ERRNO(EEXIST, openat(self->d.fd, "f", O_RDWR | O_CREAT | O_EXCL, 0600));
	/* O_CREAT alone opens the existing file and keeps its data */
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0666));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(5, st.st_size);
	EXPECT_EQ(0600, st.st_mode & 07777);
	close(fd);

	/* O_EXCL refuses a dangling symlink instead of following it */
	ASSERT_SYS(symlinkat("nowhere", self->d.fd, "dangling"));
	ASSERT_ERRNO(EEXIST, openat(self->d.fd, "dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "nowhere", &st, 0));
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_ERRNO(EEXIST, openat(self->d.fd, "dir", O_WRONLY | O_CREAT | O_EXCL, 0644));
	ASSERT_ERRNO(ENOENT, openat(self->d.fd, "nodir/f", O_WRONLY | O_CREAT, 0644));

	/* a creation race between four processes: exactly one wins */
	EXPECT_EQ(1, create_race(self->d.fd, "race", 4));
	ASSERT_DROP_CACHES();
	ASSERT_ERRNO(EEXIST, openat(self->d.fd, "f", O_RDWR | O_CREAT | O_EXCL, 0600));
	ASSERT_ERRNO(EEXIST, openat(self->d.fd, "race", O_RDWR | O_CREAT | O_EXCL, 0600));
}

TEST_F(ops, open_read_write)
{
	static char buf[80000];
	struct stat st;
	int fd;

	fd = ASSERT_SYS(openat(self->d.fd, "f", O_WRONLY | O_CREAT, 0644));
	vfs_fill(buf, 75100, 9, 0);
	ASSERT_EQ(100, write(fd, buf, 100));
	ASSERT_EQ(5000, write(fd, buf + 100, 5000));
	ASSERT_EQ(70000, write(fd, buf + 5100, 70000));
	ASSERT_ERRNO(EBADF, read(fd, buf, 1));
	ASSERT_SYS(close(fd));

	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(75100, vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, 75100, 9, 0));
	/* sequential read() with the file position, then EOF */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1000, read(fd, buf, 1000));
	ASSERT_EQ(1000, lseek(fd, 0, SEEK_CUR));
	ASSERT_EQ(74100, vfs_pread_all(fd, buf + 1000, 74100, 1000));
	EXPECT_EQ(-1, vfs_check(buf, 75100, 9, 0));
	ASSERT_EQ(75100, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(0, read(fd, buf, 10));
	ASSERT_ERRNO(EBADF, write(fd, "x", 1));
	ASSERT_SYS(close(fd));

	/* read-write fd: overwrite the middle, extend the end */
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	ASSERT_EQ(3, pwrite(fd, "abc", 3, 50000));
	ASSERT_EQ(3, pwrite(fd, "xyz", 3, 75100));
	ASSERT_EQ(6, pread(fd, buf, 6, 75097));
	vfs_fill(buf + 100, 3, 9, 75097);
	EXPECT_EQ(0, memcmp(buf, buf + 100, 3));
	EXPECT_EQ(0, memcmp(buf + 3, "xyz", 3));
	ASSERT_SYS(close(fd));

	/* O_TRUNC empties it; the device agrees */
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_WRONLY | O_TRUNC));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(0, st.st_size);
	ASSERT_SYS(close(fd));
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(0, st.st_size);

	ASSERT_ERRNO(ENOENT, openat(self->d.fd, "missing", O_RDONLY));
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_ERRNO(EISDIR, openat(self->d.fd, "dir", O_WRONLY));
	ASSERT_ERRNO(ENOTDIR, openat(self->d.fd, "f", O_RDONLY | O_DIRECTORY));
}

TEST_F(ops, flush_dup)
{
	char buf[64];
	pid_t pid;
	int fd, fd2;

	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	fd2 = ASSERT_SYS(dup(fd));
	ASSERT_EQ(4, write(fd, "one,", 4));
	/* closing a duplicate sends FLUSH; the file stays open */
	ASSERT_SYS(close(fd2));
	ASSERT_EQ(4, write(fd, "two,", 4));

	/* a child inherits the fd, writes and exits (implicit flush) */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(write(fd, "three,", 6) == 6 ? 0 : 1);
	ASSERT_CHILD_OK(pid, 30, "child writer");
	ASSERT_EQ(5, write(fd, "four.", 5));
	fd2 = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(19, read(fd2, buf, sizeof(buf)));
	EXPECT_STREQ("one,two,three,four.", buf);
	ASSERT_SYS(close(fd2));
	ASSERT_SYS(close(fd));

	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(19, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("one,two,three,four.", buf);
	ASSERT_SYS(close(fd));
	ASSERT_ERRNO(EBADF, close(fd));
}

TEST_F(ops, fsync)
{
	static char buf[1 << 20];
	int fd, ro, dfd;

	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	vfs_fill(buf, sizeof(buf), 11, 0);
	ASSERT_EQ(sizeof(buf), vfs_pwrite_all(fd, buf, sizeof(buf), 0));
	ASSERT_SYS(fsync(fd));
	ASSERT_EQ(5, pwrite(fd, "hello", 5, sizeof(buf)));
	ASSERT_SYS(fdatasync(fd));
	/* nothing dirty: fsync again still succeeds */
	ASSERT_SYS(fsync(fd));

	ro = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_SYS(fsync(ro));
	ASSERT_SYS(fdatasync(ro));
	ASSERT_SYS(syncfs(ro));
	close(ro);

	/* FSYNCDIR on the directory */
	dfd = ASSERT_SYS(openat(self->d.fd, ".", O_RDONLY | O_DIRECTORY));
	ASSERT_SYS(fsync(dfd));
	ASSERT_SYS(fdatasync(dfd));
	close(dfd);
	close(fd);

	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 0));
	ASSERT_EQ(5, vfs_pread_all(fd, buf, 100, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	close(fd);
}

TEST_F(ops, mkdir_rmdir)
{
	struct stat st, pst, pst2;
	int fd;

	ASSERT_SYS(fstat(self->d.fd, &pst));
	ASSERT_SYS(mkdirat(self->d.fd, "d", 0750));
	ASSERT_SYS(fstatat(self->d.fd, "d", &st, 0));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0750, st.st_mode & 07777);
	EXPECT_EQ(2, st.st_nlink);
	/* a subdirectory's ".." adds a link to the parent */
	ASSERT_SYS(fstat(self->d.fd, &pst2));
	EXPECT_EQ(pst.st_nlink + 1, pst2.st_nlink);
	ASSERT_ERRNO(EEXIST, mkdirat(self->d.fd, "d", 0750));

	fd = ASSERT_SYS(openat(self->d.fd, "d/f", O_WRONLY | O_CREAT, 0644));
	close(fd);
	ASSERT_SYS(mkdirat(self->d.fd, "d/sub", 0755));
	ASSERT_ERRNO(ENOTEMPTY, unlinkat(self->d.fd, "d", AT_REMOVEDIR));
	ASSERT_SYS(unlinkat(self->d.fd, "d/sub", AT_REMOVEDIR));
	ASSERT_ERRNO(ENOTEMPTY, unlinkat(self->d.fd, "d", AT_REMOVEDIR));
	ASSERT_ERRNO(ENOTDIR, unlinkat(self->d.fd, "d/f", AT_REMOVEDIR));
	ASSERT_SYS(unlinkat(self->d.fd, "d/f", 0));
	ASSERT_SYS(unlinkat(self->d.fd, "d", AT_REMOVEDIR));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "d", &st, 0));
	ASSERT_ERRNO(ENOENT, unlinkat(self->d.fd, "d", AT_REMOVEDIR));
	ASSERT_SYS(fstat(self->d.fd, &pst2));
	EXPECT_EQ(pst.st_nlink, pst2.st_nlink);
	ASSERT_ERRNO(EINVAL, unlinkat(self->d.fd, ".", AT_REMOVEDIR));
	ASSERT_ERRNO(ENOENT, mkdirat(self->d.fd, "no/such", 0755));

	/* mkdir, drop caches, the directory is still there; then remove it */
	ASSERT_SYS(mkdirat(self->d.fd, "e", 0700));
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "e", &st, 0));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0700, st.st_mode & 07777);
	ASSERT_SYS(unlinkat(self->d.fd, "e", AT_REMOVEDIR));
	EXPECT_EQ(0, name_in_dir(self->d.fd, ".", "e"));
}

TEST_F(ops, unlink)
{
	char buf[100];
	struct stat st;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "f", 100, 3));
	ASSERT_SYS(unlinkat(self->d.fd, "f", 0));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "f", &st, 0));
	ASSERT_ERRNO(ENOENT, unlinkat(self->d.fd, "f", 0));
	EXPECT_EQ(0, name_in_dir(self->d.fd, ".", "f"));
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_ERRNO(EISDIR, unlinkat(self->d.fd, "dir", 0));

	/* an open file stays readable and writable after its unlink */
	ASSERT_SYS(make_at(self->d.fd, "g", 100, 4));
	fd = ASSERT_SYS(openat(self->d.fd, "g", O_RDWR));
	ASSERT_SYS(unlinkat(self->d.fd, "g", 0));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "g", &st, 0));
	ASSERT_EQ(100, pread(fd, buf, 100, 0));
	EXPECT_EQ(-1, vfs_check(buf, 100, 4, 0));
	ASSERT_EQ(3, pwrite(fd, "new", 3, 100));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	EXPECT_EQ(103, st.st_size);
	ASSERT_DROP_CACHES();
	ASSERT_EQ(3, pread(fd, buf, 3, 100));
	EXPECT_EQ(0, memcmp(buf, "new", 3));
	ASSERT_SYS(close(fd));
	EXPECT_EQ(0, name_in_dir(self->d.fd, ".", "g"));

	/* the name can be reused at once for a new file */
	ASSERT_SYS(make_at(self->d.fd, "g", 7, 5));
	EXPECT_TRUE(check_at(self->d.fd, "g", 7, 5));
}

TEST_F(ops, mknod_fifo)
{
	struct stat st;
	char buf[16];
	int fd;

	if (mknodat(self->d.fd, "fifo", S_IFIFO | 0640, 0)) {
		int e = errno;

		if (e == EPERM || vfs_unsupported(e))
			SKIP(return, "device refuses mknod of a FIFO: %s",
			     vfs_errname(e));
		TH_LOG("mknod(S_IFIFO): %s", vfs_errname(e));
		ASSERT_EQ(0, e);
	}
	ASSERT_SYS(fstatat(self->d.fd, "fifo", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_size);
	ASSERT_ERRNO(EEXIST, mknodat(self->d.fd, "fifo", S_IFIFO | 0640, 0));

	/* it is a pipe in the guest: data passes through it */
	fd = ASSERT_SYS(openat(self->d.fd, "fifo", O_RDWR | O_NONBLOCK));
	ASSERT_EQ(5, write(fd, "hello", 5));
	ASSERT_EQ(5, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_ERRNO(EAGAIN, read(fd, buf, sizeof(buf)));
	close(fd);

	/* mkfifo and mknod(S_IFREG) take the same path */
	ASSERT_SYS(mkfifoat(self->d.fd, "fifo2", 0600));
	ASSERT_SYS(fstatat(self->d.fd, "fifo2", &st, 0));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_SYS(mknodat(self->d.fd, "reg", S_IFREG | 0604, 0));
	ASSERT_SYS(fstatat(self->d.fd, "reg", &st, 0));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0604, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_size);

	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "fifo", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_SYS(unlinkat(self->d.fd, "fifo", 0));
	ASSERT_SYS(unlinkat(self->d.fd, "fifo2", 0));
}

TEST_F(ops, rename_plain)
{
	struct stat st, st2;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "a", 3000, 21));
	ASSERT_SYS(fstatat(self->d.fd, "a", &st, 0));
	fd = ASSERT_SYS(openat(self->d.fd, "a", O_RDONLY));
	ASSERT_SYS(renameat(self->d.fd, "a", self->d.fd, "b"));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a", &st2, 0));
	ASSERT_SYS(fstatat(self->d.fd, "b", &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_TRUE(check_at(self->d.fd, "b", 3000, 21));
	EXPECT_EQ(0, name_in_dir(self->d.fd, ".", "a"));
	EXPECT_EQ(1, name_in_dir(self->d.fd, ".", "b"));
	/* an fd opened before the rename still works */
	ASSERT_SYS(fstat(fd, &st2));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	close(fd);

	/* rename onto itself (same name, or a hard link) does nothing */
	ASSERT_SYS(renameat(self->d.fd, "b", self->d.fd, "b"));
	ASSERT_SYS(linkat(self->d.fd, "b", self->d.fd, "c", 0));
	ASSERT_SYS(renameat(self->d.fd, "b", self->d.fd, "c"));
	ASSERT_SYS(fstatat(self->d.fd, "b", &st2, 0));
	EXPECT_EQ(2, st2.st_nlink);
	ASSERT_ERRNO(ENOENT, renameat(self->d.fd, "a", self->d.fd, "z"));

	/* the device has the new name */
	ASSERT_DROP_CACHES();
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a", &st2, 0));
	EXPECT_TRUE(check_at(self->d.fd, "b", 3000, 21));
}

TEST_F(ops, rename_over_existing)
{
	struct stat sa, st;
	char buf[100];
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "a", 100, 31));
	ASSERT_SYS(make_at(self->d.fd, "b", 100, 32));
	ASSERT_SYS(fstatat(self->d.fd, "a", &sa, 0));
	fd = ASSERT_SYS(openat(self->d.fd, "b", O_RDONLY));

	ASSERT_SYS(renameat(self->d.fd, "a", self->d.fd, "b"));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a", &st, 0));
	ASSERT_SYS(fstatat(self->d.fd, "b", &st, 0));
	EXPECT_EQ(sa.st_ino, st.st_ino);
	EXPECT_TRUE(check_at(self->d.fd, "b", 100, 31));
	EXPECT_EQ(1, name_in_dir(self->d.fd, ".", "b"));
	/* the replaced file lives on through the open fd */
	ASSERT_EQ(100, pread(fd, buf, 100, 0));
	EXPECT_EQ(-1, vfs_check(buf, 100, 32, 0));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	close(fd);

	/* directory over an empty directory is allowed */
	ASSERT_SYS(mkdirat(self->d.fd, "d1", 0755));
	ASSERT_SYS(mkdirat(self->d.fd, "d2", 0755));
	ASSERT_SYS(make_at(self->d.fd, "d1/x", 10, 33));
	ASSERT_SYS(renameat(self->d.fd, "d1", self->d.fd, "d2"));
	EXPECT_TRUE(check_at(self->d.fd, "d2/x", 10, 33));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "d1", &st, 0));

	/* but not over a non-empty one, nor across file and directory */
	ASSERT_SYS(mkdirat(self->d.fd, "d3", 0755));
	ASSERT_ERRNO(ENOTEMPTY, renameat(self->d.fd, "d3", self->d.fd, "d2"));
	ASSERT_ERRNO(EISDIR, renameat(self->d.fd, "b", self->d.fd, "d3"));
	ASSERT_ERRNO(ENOTDIR, renameat(self->d.fd, "d3", self->d.fd, "b"));
	ASSERT_ERRNO(EINVAL, renameat(self->d.fd, "d2", self->d.fd, "d2/x2"));

	ASSERT_DROP_CACHES();
	EXPECT_TRUE(check_at(self->d.fd, "b", 100, 31));
	EXPECT_TRUE(check_at(self->d.fd, "d2/x", 10, 33));
}

TEST_F(ops, rename_across_dirs)
{
	struct stat s1, s2, st, st2;

	ASSERT_SYS(mkdirat(self->d.fd, "d1", 0755));
	ASSERT_SYS(mkdirat(self->d.fd, "d2", 0755));
	ASSERT_SYS(make_at(self->d.fd, "d1/f", 500, 41));
	ASSERT_SYS(fstatat(self->d.fd, "d1/f", &st, 0));
	ASSERT_SYS(renameat(self->d.fd, "d1/f", self->d.fd, "d2/g"));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "d1/f", &st2, 0));
	ASSERT_SYS(fstatat(self->d.fd, "d2/g", &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_TRUE(check_at(self->d.fd, "d2/g", 500, 41));

	/* a directory with contents moves, and the link counts follow */
	ASSERT_SYS(mkdirat(self->d.fd, "d1/sub", 0755));
	ASSERT_SYS(make_at(self->d.fd, "d1/sub/inner", 77, 42));
	ASSERT_SYS(fstatat(self->d.fd, "d1", &s1, 0));
	ASSERT_SYS(fstatat(self->d.fd, "d2", &s2, 0));
	ASSERT_SYS(renameat(self->d.fd, "d1/sub", self->d.fd, "d2/sub"));
	ASSERT_SYS(fstatat(self->d.fd, "d1", &st, 0));
	ASSERT_SYS(fstatat(self->d.fd, "d2", &st2, 0));
	EXPECT_EQ(s1.st_nlink - 1, st.st_nlink);
	EXPECT_EQ(s2.st_nlink + 1, st2.st_nlink);
	EXPECT_TRUE(check_at(self->d.fd, "d2/sub/inner", 77, 42));
	/* ".." of the moved directory is its new parent */
	ASSERT_SYS(fstatat(self->d.fd, "d2/sub/..", &st, 0));
	EXPECT_EQ(st2.st_ino, st.st_ino);

	/* and the other way, into a directory that is then listed */
	ASSERT_SYS(renameat(self->d.fd, "d2/g", self->d.fd, "d1/back"));
	EXPECT_EQ(1, name_in_dir(self->d.fd, "d1", "back"));
	EXPECT_EQ(0, name_in_dir(self->d.fd, "d2", "g"));
	ASSERT_DROP_CACHES();
	EXPECT_TRUE(check_at(self->d.fd, "d1/back", 500, 41));
	EXPECT_TRUE(check_at(self->d.fd, "d2/sub/inner", 77, 42));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "d1/sub", &st, 0));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "d2/g", &st, 0));
}

TEST_F(ops, renameat2_noreplace)
{
	struct stat st;

	ASSERT_SYS(make_at(self->d.fd, "a", 10, 51));
	ASSERT_SYS(make_at(self->d.fd, "b", 20, 52));
	if (renameat2(self->d.fd, "a", self->d.fd, "b", RENAME_NOREPLACE) == 0) {
		TH_LOG("RENAME_NOREPLACE replaced an existing file");
		ASSERT_TRUE(0);
	}
	if (errno == EINVAL || vfs_unsupported(errno))
		SKIP(return, "RENAME_NOREPLACE not supported: %s",
		     vfs_errname(errno));
	ASSERT_EQ(EEXIST, errno);
	EXPECT_TRUE(check_at(self->d.fd, "a", 10, 51));
	EXPECT_TRUE(check_at(self->d.fd, "b", 20, 52));

	ASSERT_SYS(renameat2(self->d.fd, "a", self->d.fd, "c", RENAME_NOREPLACE));
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "a", &st, 0));
	EXPECT_TRUE(check_at(self->d.fd, "c", 10, 51));
	ASSERT_SYS(mkdirat(self->d.fd, "d", 0755));
	ASSERT_ERRNO(EEXIST, renameat2(self->d.fd, "c", self->d.fd, "d", RENAME_NOREPLACE));
	ASSERT_SYS(renameat2(self->d.fd, "d", self->d.fd, "e", RENAME_NOREPLACE));
	ASSERT_ERRNO(EINVAL, renameat2(self->d.fd, "b", self->d.fd, "c",
				       RENAME_NOREPLACE | RENAME_EXCHANGE));
	ASSERT_DROP_CACHES();
	EXPECT_TRUE(check_at(self->d.fd, "b", 20, 52));
	EXPECT_TRUE(check_at(self->d.fd, "c", 10, 51));
}

TEST_F(ops, renameat2_exchange)
{
	struct stat sa, sb, st;

	ASSERT_SYS(make_at(self->d.fd, "a", 10, 61));
	ASSERT_SYS(mkdirat(self->d.fd, "d", 0755));
	ASSERT_SYS(make_at(self->d.fd, "d/b", 20, 62));
	ASSERT_SYS(fstatat(self->d.fd, "a", &sa, 0));
	ASSERT_SYS(fstatat(self->d.fd, "d/b", &sb, 0));
	if (renameat2(self->d.fd, "a", self->d.fd, "d/b", RENAME_EXCHANGE)) {
		int e = errno;

		if (e == EINVAL || vfs_unsupported(e))
			SKIP(return, "RENAME_EXCHANGE not supported by the device: %s",
			     vfs_errname(e));
		TH_LOG("RENAME_EXCHANGE: %s", vfs_errname(e));
		ASSERT_EQ(0, e);
	}
	ASSERT_SYS(fstatat(self->d.fd, "a", &st, 0));
	EXPECT_EQ(sb.st_ino, st.st_ino);
	ASSERT_SYS(fstatat(self->d.fd, "d/b", &st, 0));
	EXPECT_EQ(sa.st_ino, st.st_ino);
	EXPECT_TRUE(check_at(self->d.fd, "a", 20, 62));
	EXPECT_TRUE(check_at(self->d.fd, "d/b", 10, 61));

	/* a file and a directory swap places too */
	ASSERT_SYS(mkdirat(self->d.fd, "e", 0755));
	ASSERT_SYS(make_at(self->d.fd, "e/inner", 5, 63));
	ASSERT_SYS(renameat2(self->d.fd, "a", self->d.fd, "e", RENAME_EXCHANGE));
	ASSERT_SYS(fstatat(self->d.fd, "a", &st, 0));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_TRUE(check_at(self->d.fd, "a/inner", 5, 63));
	EXPECT_TRUE(check_at(self->d.fd, "e", 20, 62));
	ASSERT_ERRNO(ENOENT, renameat2(self->d.fd, "e", self->d.fd, "missing",
				       RENAME_EXCHANGE));

	ASSERT_DROP_CACHES();
	EXPECT_TRUE(check_at(self->d.fd, "d/b", 10, 61));
	EXPECT_TRUE(check_at(self->d.fd, "e", 20, 62));
	EXPECT_TRUE(check_at(self->d.fd, "a/inner", 5, 63));
}

TEST_F(ops, link)
{
	struct stat st, st2;
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "a", 100, 71));
	ASSERT_SYS(linkat(self->d.fd, "a", self->d.fd, "b", 0));
	ASSERT_SYS(fstatat(self->d.fd, "a", &st, 0));
	ASSERT_SYS(fstatat(self->d.fd, "b", &st2, 0));
	EXPECT_EQ(2, st.st_nlink);
	EXPECT_EQ(2, st2.st_nlink);
	EXPECT_EQ(st.st_ino, st2.st_ino);

	/* a third link in another directory */
	ASSERT_SYS(mkdirat(self->d.fd, "d", 0755));
	ASSERT_SYS(linkat(self->d.fd, "b", self->d.fd, "d/c", 0));
	ASSERT_SYS(fstatat(self->d.fd, "a", &st, 0));
	EXPECT_EQ(3, st.st_nlink);

	/* data written under one name is read under another */
	fd = ASSERT_SYS(openat(self->d.fd, "d/c", O_WRONLY));
	ASSERT_EQ(4, pwrite(fd, "LINK", 4, 10));
	close(fd);
	{
		char buf[4];

		fd = ASSERT_SYS(openat(self->d.fd, "a", O_RDONLY));
		ASSERT_EQ(4, pread(fd, buf, 4, 10));
		EXPECT_EQ(0, memcmp(buf, "LINK", 4));
		close(fd);
	}

	ASSERT_SYS(unlinkat(self->d.fd, "a", 0));
	ASSERT_SYS(fstatat(self->d.fd, "b", &st2, 0));
	EXPECT_EQ(2, st2.st_nlink);
	ASSERT_ERRNO(EEXIST, linkat(self->d.fd, "b", self->d.fd, "d/c", 0));
	ASSERT_ERRNO(EPERM, linkat(self->d.fd, "d", self->d.fd, "dlink", 0));
	ASSERT_ERRNO(ENOENT, linkat(self->d.fd, "a", self->d.fd, "x", 0));

	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "d/c", &st2, 0));
	EXPECT_EQ(2, st2.st_nlink);
	EXPECT_EQ(st.st_ino, st2.st_ino);
	ASSERT_SYS(unlinkat(self->d.fd, "b", 0));
	ASSERT_SYS(fstatat(self->d.fd, "d/c", &st2, 0));
	EXPECT_EQ(1, st2.st_nlink);
}

TEST_F(ops, symlink_readlink)
{
	static char target[4000], buf[4200];
	struct stat st;
	int fd;

	ASSERT_SYS(symlinkat("some/relative/target", self->d.fd, "l"));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(20, readlinkat(self->d.fd, "l", buf, sizeof(buf)));
	EXPECT_STREQ("some/relative/target", buf);
	ASSERT_SYS(fstatat(self->d.fd, "l", &st, AT_SYMLINK_NOFOLLOW));
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT_EQ(20, st.st_size);
	/* dangling: stat follows and fails, lstat works */
	ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, "l", &st, 0));
	/* a short buffer truncates without a terminator */
	memset(buf, 'X', sizeof(buf));
	ASSERT_EQ(4, readlinkat(self->d.fd, "l", buf, 4));
	EXPECT_EQ(0, memcmp(buf, "someX", 5));

	/* a link to a file opens the file */
	ASSERT_SYS(make_at(self->d.fd, "f", 1000, 81));
	ASSERT_SYS(symlinkat("f", self->d.fd, "lf"));
	ASSERT_SYS(fstatat(self->d.fd, "lf", &st, 0));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(1000, st.st_size);
	EXPECT_TRUE(check_at(self->d.fd, "lf", 1000, 81));
	ASSERT_ERRNO(ELOOP, openat(self->d.fd, "lf", O_RDONLY | O_NOFOLLOW));
	ASSERT_ERRNO(EINVAL, readlinkat(self->d.fd, "f", buf, sizeof(buf)));
	ASSERT_ERRNO(EEXIST, symlinkat("x", self->d.fd, "f"));

	/* an absolute and a long target round-trip unchanged */
	ASSERT_SYS(symlinkat("/absolute/path/with spaces", self->d.fd, "abs"));
	memset(target, 't', sizeof(target) - 1);
	for (unsigned int i = 100; i < sizeof(target) - 1; i += 100)
		target[i] = '/';
	ASSERT_SYS(symlinkat(target, self->d.fd, "long"));

	/* a symlink loop */
	ASSERT_SYS(symlinkat("loop2", self->d.fd, "loop1"));
	ASSERT_SYS(symlinkat("loop1", self->d.fd, "loop2"));
	ASSERT_ERRNO(ELOOP, openat(self->d.fd, "loop1", O_RDONLY));

	/* READLINK again from the device after the caches are gone */
	ASSERT_DROP_CACHES();
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(26, readlinkat(self->d.fd, "abs", buf, sizeof(buf)));
	EXPECT_STREQ("/absolute/path/with spaces", buf);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(strlen(target), readlinkat(self->d.fd, "long", buf, sizeof(buf)));
	EXPECT_STREQ(target, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "lf", O_RDONLY));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	close(fd);
}

TEST_F(ops, access)
{
	ASSERT_SYS(make_at(self->d.fd, "f", 1, 1));
	ASSERT_SYS(fchmodat(self->d.fd, "f", 0644, 0));
	ASSERT_SYS(faccessat(self->d.fd, "f", F_OK, 0));
	ASSERT_SYS(faccessat(self->d.fd, "f", R_OK | W_OK, 0));
	if (geteuid() == 0) {
		/* even root needs one execute bit */
		ASSERT_ERRNO(EACCES, faccessat(self->d.fd, "f", X_OK, 0));
		ASSERT_SYS(fchmodat(self->d.fd, "f", 0744, 0));
		ASSERT_SYS(faccessat(self->d.fd, "f", X_OK, 0));
		ASSERT_SYS(fchmodat(self->d.fd, "f", 0000, 0));
		ASSERT_SYS(faccessat(self->d.fd, "f", R_OK | W_OK, 0));
	} else {
		ASSERT_SYS(fchmodat(self->d.fd, "f", 0200, 0));
		ASSERT_ERRNO(EACCES, faccessat(self->d.fd, "f", R_OK, 0));
	}
	ASSERT_ERRNO(ENOENT, faccessat(self->d.fd, "missing", F_OK, 0));
}

TEST_F(ops, statfs)
{
	struct statfs sf, sf2;
	int fd;

	ASSERT_SYS(statfs(self->d.path, &sf));
	EXPECT_EQ(FUSE_SUPER_MAGIC, sf.f_type);
	EXPECT_LT(0, sf.f_bsize);
	EXPECT_LT(0, sf.f_blocks);
	EXPECT_LE(sf.f_bfree, sf.f_blocks);
	EXPECT_LE(sf.f_bavail, sf.f_bfree);
	EXPECT_LE(sf.f_ffree, sf.f_files);
	EXPECT_EQ(NAME_MAX, sf.f_namelen);
	EXPECT_LT(0, sf.f_frsize);

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_SYS(fstatfs(fd, &sf2));
	close(fd);
	EXPECT_EQ(sf.f_type, sf2.f_type);
	EXPECT_EQ(sf.f_bsize, sf2.f_bsize);
	EXPECT_EQ(sf.f_blocks, sf2.f_blocks);
	EXPECT_EQ(sf.f_files, sf2.f_files);
	EXPECT_EQ(sf.f_namelen, sf2.f_namelen);
	/* the filesystem-wide numbers are the same from the mount root */
	ASSERT_SYS(statfs(vfs_mnt(), &sf2));
	EXPECT_EQ(sf.f_blocks, sf2.f_blocks);
	EXPECT_EQ(sf.f_bsize, sf2.f_bsize);
	ASSERT_ERRNO(ENOENT, statfs(vfs_path(&self->d, "missing"), &sf2));
}

TEST_F(ops, poll_ioctl)
{
	struct pollfd pfd;
	int fd, r, flags;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT;
	pfd.revents = 0;
	/* a regular file is always ready, whether or not the device polls */
	r = poll(&pfd, 1, 5000);
	ASSERT_EQ(1, r);
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents & (POLLIN | POLLOUT));

	/* an inode-flags ioctl either works or is refused cleanly */
	r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
	if (r && !vfs_unsupported(errno) && errno != EINVAL) {
		TH_LOG("FS_IOC_GETFLAGS: unexpected %s", vfs_errname(errno));
		EXPECT_EQ(0, errno);
	}
	/* the fd is still fine afterwards */
	ASSERT_EQ(2, pwrite(fd, "ok", 2, 0));
	close(fd);
}

/* ---- extended attributes ---- */

#define NEED_XATTR(path) do {						\
	if (setxattr((path), "user.vfs_probe", "1", 1, 0)) {		\
		if (vfs_unsupported(errno))				\
			SKIP(return, "no user xattrs (virtiofsd -o xattr?): %s", \
			     vfs_errname(errno));			\
		TH_LOG("probe setxattr: %s", vfs_errname(errno));	\
		ASSERT_TRUE(0);						\
	}								\
	ASSERT_SYS(removexattr((path), "user.vfs_probe"));		\
} while (0)

/* 1 if list (len bytes of NUL-terminated names) holds name */
static int in_list(const char *list, ssize_t len, const char *name)
{
	ssize_t i;

	for (i = 0; i < len; i += strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return 1;
	return 0;
}

TEST_F(ops, xattr_basic)
{
	const char *f = vfs_path(&self->d, "f");
	char buf[256], list[1024];
	ssize_t n;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	NEED_XATTR(f);
	ASSERT_SYS(setxattr(f, "user.alpha", "value1", 6, 0));
	ASSERT_SYS(setxattr(f, "user.beta", "b", 1, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6, getxattr(f, "user.alpha", buf, sizeof(buf)));
	EXPECT_STREQ("value1", buf);

	n = ASSERT_SYS(listxattr(f, list, sizeof(list)));
	EXPECT_TRUE(in_list(list, n, "user.alpha"));
	EXPECT_TRUE(in_list(list, n, "user.beta"));
	EXPECT_FALSE(in_list(list, n, "user.vfs_probe"));

	/* overwrite with a longer and then a shorter value */
	ASSERT_SYS(setxattr(f, "user.alpha", "a much longer value", 19, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(19, getxattr(f, "user.alpha", buf, sizeof(buf)));
	EXPECT_STREQ("a much longer value", buf);
	ASSERT_SYS(setxattr(f, "user.alpha", "xy", 2, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(2, getxattr(f, "user.alpha", buf, sizeof(buf)));
	EXPECT_STREQ("xy", buf);

	/* binary value with NULs, read through the cache-less path */
	ASSERT_SYS(setxattr(f, "user.bin", "\0\1\2\0\377", 5, 0));
	ASSERT_DROP_CACHES();
	ASSERT_EQ(5, getxattr(f, "user.bin", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "\0\1\2\0\377", 5));

	ASSERT_SYS(removexattr(f, "user.alpha"));
	ASSERT_ERRNO(ENODATA, getxattr(f, "user.alpha", buf, sizeof(buf)));
	n = ASSERT_SYS(listxattr(f, list, sizeof(list)));
	EXPECT_FALSE(in_list(list, n, "user.alpha"));
	EXPECT_TRUE(in_list(list, n, "user.beta"));
	EXPECT_TRUE(in_list(list, n, "user.bin"));
}

TEST_F(ops, xattr_create_replace)
{
	const char *f = vfs_path(&self->d, "f");
	char buf[64];

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	NEED_XATTR(f);
	ASSERT_ERRNO(ENODATA, setxattr(f, "user.x", "v", 1, XATTR_REPLACE));
	ASSERT_ERRNO(ENODATA, getxattr(f, "user.x", buf, sizeof(buf)));
	ASSERT_SYS(setxattr(f, "user.x", "first", 5, XATTR_CREATE));
	ASSERT_ERRNO(EEXIST, setxattr(f, "user.x", "second", 6, XATTR_CREATE));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, getxattr(f, "user.x", buf, sizeof(buf)));
	EXPECT_STREQ("first", buf);
	ASSERT_SYS(setxattr(f, "user.x", "third", 5, XATTR_REPLACE));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, getxattr(f, "user.x", buf, sizeof(buf)));
	EXPECT_STREQ("third", buf);
	ASSERT_ERRNO(EINVAL, setxattr(f, "user.x", "v", 1,
				      XATTR_CREATE | XATTR_REPLACE | 4));
}

TEST_F(ops, xattr_size_query)
{
	const char *f = vfs_path(&self->d, "f");
	char val[2000], buf[2100], list[256];
	ssize_t n;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	NEED_XATTR(f);
	vfs_fill(val, sizeof(val), 91, 0);
	ASSERT_SYS(setxattr(f, "user.big", val, sizeof(val), 0));
	ASSERT_SYS(setxattr(f, "user.empty", "", 0, 0));

	/* size 0 asks for the size */
	ASSERT_EQ(sizeof(val), getxattr(f, "user.big", NULL, 0));
	ASSERT_ERRNO(ERANGE, getxattr(f, "user.big", buf, sizeof(val) - 1));
	ASSERT_EQ(sizeof(val), getxattr(f, "user.big", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, val, sizeof(val)));
	ASSERT_EQ(0, getxattr(f, "user.empty", NULL, 0));
	ASSERT_EQ(0, getxattr(f, "user.empty", buf, sizeof(buf)));

	n = ASSERT_SYS(listxattr(f, NULL, 0));
	/* at least our two names; the host may add others (e.g. security.*) */
	EXPECT_LE((ssize_t)(strlen("user.big") + strlen("user.empty") + 2), n);
	ASSERT_ERRNO(ERANGE, listxattr(f, list, 1));
	ASSERT_EQ(n, listxattr(f, list, sizeof(list)));
	EXPECT_TRUE(in_list(list, n, "user.big"));
	EXPECT_TRUE(in_list(list, n, "user.empty"));
}

TEST_F(ops, xattr_enodata)
{
	const char *f = vfs_path(&self->d, "f");
	const char *dir = vfs_path(&self->d, "dir");
	char buf[64];
	int fd;

	ASSERT_SYS(make_at(self->d.fd, "f", 10, 1));
	NEED_XATTR(f);
	ASSERT_ERRNO(ENODATA, getxattr(f, "user.none", buf, sizeof(buf)));
	ASSERT_ERRNO(ENODATA, getxattr(f, "user.none", NULL, 0));
	ASSERT_ERRNO(ENODATA, removexattr(f, "user.none"));

	/* on a directory, and through an fd */
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_SYS(setxattr(dir, "user.d", "dirval", 6, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6, getxattr(dir, "user.d", buf, sizeof(buf)));
	EXPECT_STREQ("dirval", buf);
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_SYS(fsetxattr(fd, "user.viafd", "fdval", 5, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, fgetxattr(fd, "user.viafd", buf, sizeof(buf)));
	EXPECT_STREQ("fdval", buf);
	ASSERT_SYS(fremovexattr(fd, "user.viafd"));
	ASSERT_ERRNO(ENODATA, fgetxattr(fd, "user.viafd", buf, sizeof(buf)));
	close(fd);
	ASSERT_ERRNO(ENOENT, getxattr(vfs_path(&self->d, "missing"), "user.d",
				      buf, sizeof(buf)));
	/* names outside the known namespaces are refused */
	ASSERT_ERRNO(EOPNOTSUPP, setxattr(f, "bogus.name", "v", 1, 0));
}

TEST_HARNESS_MAIN
