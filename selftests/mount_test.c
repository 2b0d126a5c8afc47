// SPDX-License-Identifier: GPL-2.0
/*
 * Mount lifecycle (INIT and DESTROY): unmount and mount again with the data
 * kept, busy and lazy unmounts, a second mount of the same tag, read-only
 * mounts, refused mounts (unknown tag, no source, bad options, dax without
 * a DAX window) and the driver's sysfs view.
 *
 * Needs root and the tag mounted at $VFS_MNT with nothing else using it;
 * uses $VFS_TAG, $VFS_MODNAME (virtio_fs: ours, virtiofs: in-tree),
 * $VFS_DRIVER and $VFS_FSTYPE. Leaves $VFS_MNT mounted as it found it.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "vfs_test.h"
#include "vfs_sys.h"

#define TAG	vfs_env("VFS_TAG", "vfstest")
#define FSTYPE	VFS_FSTYPE
#define MODNAME	vfs_env("VFS_MODNAME", "virtio_fs")

static int ours(void)
{
	return !strcmp(MODNAME, "virtio_fs");
}

static int count_in_klog(const char *needle)
{
	char *log = vfs_klog(), *p;
	int n = 0;

	if (!log)
		return -1;
	for (p = log; (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

FIXTURE(mnt) {
	char aux[PATH_MAX];	/* scratch mount point, not on the share */
	char dir[PATH_MAX];	/* test directory on the share */
};

FIXTURE_SETUP(mnt)
{
	if (geteuid())
		SKIP(return, "mount tests need root");
	snprintf(self->aux, sizeof(self->aux), "/tmp/vfs-aux.%d", getpid());
	ASSERT_SYS(mkdir(self->aux, 0755));
	snprintf(self->dir, sizeof(self->dir), "%s/mount_test.%s.%d", vfs_mnt(),
		 _metadata->name, getpid());
	if (vfs_mounted(TAG, vfs_mnt()) != 1) {
		TH_LOG("%s is not mounted from %s (%s) exactly once", vfs_mnt(),
		       TAG, FSTYPE);
		ASSERT_TRUE(0);
	}
	ASSERT_SYS(mkdir(self->dir, 0755));
}

FIXTURE_TEARDOWN(mnt)
{
	if (geteuid())
		return;
	while (!umount2(self->aux, MNT_DETACH))
		;
	rmdir(self->aux);
	/* whatever happened, leave the share mounted for the next test */
	if (vfs_mounted(TAG, vfs_mnt()) == 0 &&
	    mount(TAG, vfs_mnt(), FSTYPE, 0, NULL))
		TH_LOG("could not mount %s again: %s", TAG, vfs_errname(errno));
	vfs_rm_rf(self->dir);
}

/* the 6.1 harness runs the test body even after a SKIP in the setup */
#define NEED_SETUP() do {						\
	if (vfs_skipped(_metadata))					\
		return;							\
} while (0)

#define MOUNT_OK(src, dir, flags, data) do {				\
	if (mount((src), (dir), FSTYPE, (flags), (data))) {		\
		TH_LOG("mount %s on %s (%s): %s", (src), (dir),		\
		       (data) ? (char *)(data) : "", vfs_errname(errno)); \
		ASSERT_TRUE(0);						\
	}								\
} while (0)

TEST_F_TIMEOUT(mnt, remount_keeps_data, 120)
{
	char path[PATH_MAX + 32], lnk[64];
	struct stat st;
	int fd;

	NEED_SETUP();
	/* data written (not synced) just before the unmount */
	snprintf(path, sizeof(path), "%s/data", self->dir);
	ASSERT_SYS(vfs_make_file(path, 3 * 1024 * 1024 + 17, 77));
	snprintf(path, sizeof(path), "%s/sub", self->dir);
	ASSERT_SYS(mkdir(path, 0710));
	snprintf(path, sizeof(path), "%s/sub/link", self->dir);
	ASSERT_SYS(symlink("../data", path));
	snprintf(path, sizeof(path), "%s/open-at-umount", self->dir);
	fd = ASSERT_SYS(open(path, O_WRONLY | O_CREAT, 0600));
	ASSERT_EQ(5, write(fd, "tail!", 5));
	ASSERT_SYS(close(fd));

	ASSERT_SYS(umount(vfs_mnt()));
	ASSERT_EQ(0, vfs_mounted(TAG, vfs_mnt()));
	ASSERT_ERRNO(ENOENT, stat(self->dir, &st));

	MOUNT_OK(TAG, vfs_mnt(), 0, NULL);
	ASSERT_EQ(1, vfs_mounted(TAG, vfs_mnt()));
	snprintf(path, sizeof(path), "%s/data", self->dir);
	ASSERT_FILE_PATTERN(path, 3 * 1024 * 1024 + 17, 77);
	ASSERT_SYS(stat(path, &st));
	EXPECT_EQ(3 * 1024 * 1024 + 17, st.st_size);
	snprintf(path, sizeof(path), "%s/sub", self->dir);
	ASSERT_SYS(stat(path, &st));
	EXPECT_EQ(0710, st.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/sub/link", self->dir);
	memset(lnk, 0, sizeof(lnk));
	ASSERT_EQ(7, readlink(path, lnk, sizeof(lnk) - 1));
	EXPECT_STREQ("../data", lnk);
	snprintf(path, sizeof(path), "%s/open-at-umount", self->dir);
	fd = ASSERT_SYS(open(path, O_RDONLY));
	memset(lnk, 0, sizeof(lnk));
	ASSERT_EQ(5, read(fd, lnk, sizeof(lnk)));
	EXPECT_STREQ("tail!", lnk);
	close(fd);

	/* and once more, straight away */
	ASSERT_SYS(umount(vfs_mnt()));
	MOUNT_OK(TAG, vfs_mnt(), 0, NULL);
	snprintf(path, sizeof(path), "%s/data", self->dir);
	ASSERT_FILE_PATTERN(path, 3 * 1024 * 1024 + 17, 77);
}

TEST_F_TIMEOUT(mnt, busy_and_lazy_umount, 120)
{
	char path[PATH_MAX + 32], buf[16];
	struct stat st;
	int fd;

	NEED_SETUP();
	snprintf(path, sizeof(path), "%s/held", self->dir);
	fd = ASSERT_SYS(open(path, O_RDWR | O_CREAT, 0644));
	ASSERT_EQ(5, write(fd, "first", 5));
	/* an open file keeps a plain umount from succeeding */
	ASSERT_ERRNO(EBUSY, umount(vfs_mnt()));
	ASSERT_EQ(1, vfs_mounted(TAG, vfs_mnt()));

	/* a lazy one detaches now; the open file keeps working */
	ASSERT_SYS(umount2(vfs_mnt(), MNT_DETACH));
	ASSERT_EQ(0, vfs_mounted(TAG, vfs_mnt()));
	ASSERT_ERRNO(ENOENT, stat(path, &st));
	ASSERT_EQ(6, pwrite(fd, "second", 6, 5));
	ASSERT_SYS(fsync(fd));
	ASSERT_EQ(11, pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "firstsecond", 11));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(11, st.st_size);
	/* the last close ends the superblock (DESTROY) */
	ASSERT_SYS(close(fd));

	MOUNT_OK(TAG, vfs_mnt(), 0, NULL);
	fd = ASSERT_SYS(open(path, O_RDONLY));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("firstsecond", buf);
	close(fd);
}

TEST_F(mnt, second_mount_same_tag)
{
	char p1[PATH_MAX + 32], p2[PATH_MAX + 64], buf[16];
	struct stat s1, s2;
	int fd;

	NEED_SETUP();
	MOUNT_OK(TAG, self->aux, 0, NULL);
	ASSERT_EQ(1, vfs_mounted(TAG, self->aux));
	snprintf(p1, sizeof(p1), "%s/shared", self->dir);
	snprintf(p2, sizeof(p2), "%s/%s/shared", self->aux,
		 strrchr(self->dir, '/') + 1);
	ASSERT_SYS(vfs_make_file(p1, 100, 5));
	/* one file system: the same inode under both mount points */
	ASSERT_SYS(stat(p1, &s1));
	ASSERT_SYS(stat(p2, &s2));
	EXPECT_EQ(s1.st_ino, s2.st_ino);
	EXPECT_EQ(s1.st_dev, s2.st_dev);
	ASSERT_FILE_PATTERN(p2, 100, 5);
	fd = ASSERT_SYS(open(p2, O_WRONLY));
	ASSERT_EQ(4, pwrite(fd, "SEEN", 4, 0));
	close(fd);
	fd = ASSERT_SYS(open(p1, O_RDONLY));
	ASSERT_EQ(4, read(fd, buf, 4));
	EXPECT_EQ(0, memcmp(buf, "SEEN", 4));
	close(fd);

	/* unmounting the second leaves the first working */
	ASSERT_SYS(umount(self->aux));
	ASSERT_EQ(0, vfs_mounted(TAG, self->aux));
	ASSERT_SYS(stat(p1, &s2));
	EXPECT_EQ(s1.st_ino, s2.st_ino);
	ASSERT_SYS(unlink(p1));
}

TEST_F(mnt, readonly_mount)
{
	char p1[PATH_MAX + 32], p2[PATH_MAX + 64];
	struct statvfs sf;

	NEED_SETUP();
	snprintf(p1, sizeof(p1), "%s/ro", self->dir);
	ASSERT_SYS(vfs_make_file(p1, 10, 6));
	MOUNT_OK(TAG, self->aux, MS_RDONLY, NULL);
	snprintf(p2, sizeof(p2), "%s/%s/ro", self->aux, strrchr(self->dir, '/') + 1);
	ASSERT_FILE_PATTERN(p2, 10, 6);
	ASSERT_ERRNO(EROFS, open(p2, O_WRONLY));
	snprintf(p2, sizeof(p2), "%s/%s/new", self->aux, strrchr(self->dir, '/') + 1);
	ASSERT_ERRNO(EROFS, open(p2, O_WRONLY | O_CREAT, 0644));
	ASSERT_ERRNO(EROFS, mkdir(p2, 0755));
	ASSERT_SYS(statvfs(self->aux, &sf));
	EXPECT_TRUE(sf.f_flag & ST_RDONLY);
	/* the read-write mount is unaffected */
	ASSERT_SYS(vfs_make_file(p1, 20, 7));
	ASSERT_SYS(umount(self->aux));
}

TEST_F(mnt, unknown_tag)
{
	char tag[64];
	int r, e, before, after;

	NEED_SETUP();
	snprintf(tag, sizeof(tag), "vfs-no-such-tag-%d", getpid());
	before = count_in_klog(tag);
	r = mount(tag, self->aux, FSTYPE, 0, NULL);
	e = errno;
	after = count_in_klog(tag);
	if (!r) {
		TH_LOG("mounting unknown tag %s succeeded", tag);
		umount(self->aux);
		ASSERT_NE(0, r);
	}
	EXPECT_EQ(0, vfs_mounted(tag, self->aux));
	/* the kernel log names the tag it could not find */
	if (before >= 0) {
		if (after <= before)
			TH_LOG("no kernel message names %s", tag);
		EXPECT_LT(before, after);
	}
	if (!ours())
		SKIP(return, "%s returns %s for an unknown tag; ENOENT is virtio_fs's",
		     MODNAME, vfs_errname(e));
	if (e != ENOENT)
		TH_LOG("mount of an unknown tag: expected ENOENT, got %s", vfs_errname(e));
	ASSERT_EQ(ENOENT, e);
}

TEST_F(mnt, refused_mounts)
{
	char p[PATH_MAX + 32];

	NEED_SETUP();
	/* no source at all */
	ASSERT_ERRNO(EINVAL, mount(NULL, self->aux, FSTYPE, 0, NULL));
	/* an option nobody knows */
	ASSERT_ERRNO(EINVAL, mount(TAG, self->aux, FSTYPE, 0, "no_such_option"));
	ASSERT_EQ(0, vfs_mounted(TAG, self->aux));
	/* and the working mount still works */
	snprintf(p, sizeof(p), "%s/still", self->dir);
	ASSERT_SYS(vfs_make_file(p, 10, 8));
	ASSERT_FILE_PATTERN(p, 10, 8);
}

TEST_F_TIMEOUT(mnt, dax_without_window, 120)
{
	int r, e;

	NEED_SETUP();
	/* a fresh superblock is needed: a mounted one ignores the option */
	ASSERT_SYS(umount(vfs_mnt()));
	r = mount(TAG, self->aux, FSTYPE, 0, "dax");
	e = errno;
	if (!r) {
		umount(self->aux);
		TH_LOG("dax mounted although the device has no DAX window");
	}
	ASSERT_EQ(-1, r);
	EXPECT_EQ(EINVAL, e);
	/* without the option it mounts fine */
	MOUNT_OK(TAG, vfs_mnt(), 0, NULL);
	ASSERT_EQ(1, vfs_mounted(TAG, vfs_mnt()));
}

TEST_F(mnt, sysfs_tag_and_device)
{
	char path[PATH_MAX], val[256], target[PATH_MAX], drv[PATH_MAX];
	const char *driver = vfs_env("VFS_DRIVER", MODNAME);
	struct dirent *de;
	int found = 0;
	DIR *dp;

	NEED_SETUP();
	dp = opendir("/sys/fs/virtiofs");
	if (!dp) {
		if (!ours())
			SKIP(return, "%s has no /sys/fs/virtiofs (added after 6.1)",
			     MODNAME);
		TH_LOG("/sys/fs/virtiofs: %s", vfs_errname(errno));
		ASSERT_NE(NULL, dp);
	}
	while ((de = readdir(dp))) {
		ssize_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/virtiofs/%.64s/tag", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		memset(val, 0, sizeof(val));
		if (!fgets(val, sizeof(val), f))
			val[0] = '\0';
		fclose(f);
		val[strcspn(val, "\n")] = '\0';
		if (strcmp(val, TAG))
			continue;
		found++;
		/* device -> the virtio device the driver has bound */
		snprintf(path, sizeof(path), "/sys/fs/virtiofs/%.64s/device", de->d_name);
		memset(target, 0, sizeof(target));
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			TH_LOG("%s: %s", path, vfs_errname(errno));
		ASSERT_LT(0, n);
		ASSERT_NE(NULL, strstr(target, "/virtio"));
		snprintf(drv, sizeof(drv), "/sys/bus/virtio/drivers/%.64s/%.64s", driver,
			 strrchr(target, '/') + 1);
		if (access(drv, F_OK))
			TH_LOG("%s -> %s, but %s is missing", path, target, drv);
		EXPECT_EQ(0, access(drv, F_OK));
		snprintf(path, sizeof(path), "/sys/fs/virtiofs/%.64s/device/driver",
			 de->d_name);
		memset(target, 0, sizeof(target));
		ASSERT_LT(0, readlink(path, target, sizeof(target) - 1));
		EXPECT_STREQ(driver, strrchr(target, '/') + 1);
	}
	closedir(dp);
	if (found != 1)
		TH_LOG("%d entries of /sys/fs/virtiofs have tag %s", found, TAG);
	ASSERT_EQ(1, found);
}

TEST_HARNESS_MAIN
