// SPDX-License-Identifier: GPL-2.0
/*
 * The device goes away under a live mount: one process holds files open,
 * another streams O_DIRECT reads from a big file, and then the device is
 * removed by the shell command in $VFS_REMOVE_CMD (a driver unbind, or a
 * host-side device_del). Afterwards every call that needs the device must
 * fail with ENOTCONN or EIO, nothing may hang (every wait is bounded), the
 * kernel must not complain, the mount must unmount, and the device must
 * come back with $VFS_READD_CMD and mount again.
 *
 * Environment: VFS_REMOVE_CMD, VFS_READD_CMD (optional), VFS_DEVICE (the
 * virtio device, e.g. virtio1), VFS_DRIVER, VFS_TAG, VFS_MNT, VFS_FSTYPE.
 * The tests run in order and build on each other.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "vfs_test.h"
#include "vfs_sys.h"

#define BIG_SIZE	(512LL << 20)
#define CHUNK		(1024 * 1024)
#define NREADERS	3

/*
 * The tests of one run share a directory named after the harness's main
 * process (tests run in its children, or grandchildren on later kselftest
 * harnesses, which inherit this).
 */
static pid_t run_owner;

static void __attribute__((constructor)) run_owner_init(void)
{
	run_owner = getpid();
}

#define TAG	vfs_env("VFS_TAG", "vfstest")
#define FSTYPE	VFS_FSTYPE
#define DRIVER	vfs_env("VFS_DRIVER", "virtio_fs")

static void work_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/devremove.%d/%s", vfs_mnt(), run_owner, name);
}

static int bound(const char *dev)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "/sys/bus/virtio/drivers/%s/%s", DRIVER, dev);
	return !access(p, F_OK);
}

FIXTURE(rm) {
	char dev[64];
};

FIXTURE_SETUP(rm)
{
	snprintf(self->dev, sizeof(self->dev), "%s", vfs_env("VFS_DEVICE", ""));
}

FIXTURE_TEARDOWN(rm)
{
}

#define NEED_ENV() do {							\
	if (!getenv("VFS_REMOVE_CMD") || !self->dev[0])		\
		SKIP(return, "VFS_REMOVE_CMD and VFS_DEVICE are not set"); \
} while (0)

/* an errno that a call on a removed device may return */
#define EXPECT_GONE(what, ret, err) do {				\
	if ((ret) != -1 || !vfs_is_gone_err(err))			\
		TH_LOG("%s after removal: expected ENOTCONN or EIO, got %ld (%s)", \
		       (what), (long)(ret), (ret) == -1 ? vfs_errname(err) : "success"); \
	EXPECT_TRUE((ret) == -1 && vfs_is_gone_err(err));		\
} while (0)

/* a call that may still be served from the guest's caches */
#define EXPECT_GONE_OR_OK(what, ret, err) do {				\
	if ((ret) == -1 && !vfs_is_gone_err(err))			\
		TH_LOG("%s after removal: expected success, ENOTCONN or EIO, got %s", \
		       (what), vfs_errname(err));			\
	EXPECT_TRUE((ret) != -1 || vfs_is_gone_err(err));		\
	TH_LOG("%s after removal: %s", (what),				\
	       (ret) == -1 ? vfs_errname(err) : "ok (cached)");		\
} while (0)

TEST_F_TIMEOUT(rm, prepare, 120)
{
	char p[PATH_MAX];
	int fd;

	NEED_ENV();
	if (!bound(self->dev))
		TH_LOG("%s is not bound to %s", self->dev, DRIVER);
	ASSERT_TRUE(bound(self->dev));
	ASSERT_EQ(1, vfs_mounted(NULL, vfs_mnt()));
	work_path(p, sizeof(p), "");
	ASSERT_SYS(mkdir(p, 0755));
	work_path(p, sizeof(p), "big");
	fd = ASSERT_SYS(open(p, O_RDWR | O_CREAT, 0644));
	/* sparse: cheap to make, still read from the device */
	ASSERT_SYS(ftruncate(fd, BIG_SIZE));
	ASSERT_EQ(5, pwrite(fd, "start", 5, 0));
	close(fd);
	work_path(p, sizeof(p), "held");
	ASSERT_SYS(vfs_make_file(p, 64 * 1024, 3));
	work_path(p, sizeof(p), "later");
	ASSERT_SYS(vfs_make_file(p, 100, 4));
	sync();
}

/* Reader: O_DIRECT 1 MiB reads round the big file until one fails. */
static void reader(const char *p, off_t off, int ready, int result)
{
	char *buf = NULL;
	int fd, e, told = 0;
	double t0 = vfs_now();

	fd = open(p, O_RDONLY | O_DIRECT);
	if (fd < 0)
		fd = open(p, O_RDONLY);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, CHUNK))
		_exit(1);
	for (;;) {
		ssize_t n = pread(fd, buf, CHUNK, off);

		if (n < 0) {
			e = errno;
			if (write(result, &e, sizeof(e)) != sizeof(e))
				_exit(2);
			_exit(0);
		}
		if (!told && write(ready, "R", 1) == 1)
			told = 1;
		off = (off + CHUNK) % BIG_SIZE;
		if (vfs_now() - t0 > 300)
			_exit(3);
	}
}

TEST_F_TIMEOUT(rm, remove_while_busy, 400)
{
	char p[PATH_MAX], *dbuf = NULL, buf[4096];
	int rdy[2], res[2], held, hdirect, fd, r, e, rc, i;
	pid_t rpid[NREADERS];
	struct pollfd pfd;
	double t0;
	struct stat st;

	NEED_ENV();
	ASSERT_EQ(0, posix_memalign((void **)&dbuf, 4096, 4096));
	/* the holder (this process): files open and used before removal */
	work_path(p, sizeof(p), "held");
	held = ASSERT_SYS(open(p, O_RDWR));
	ASSERT_EQ(4096, pread(held, buf, 4096, 0));
	hdirect = open(p, O_RDWR | O_DIRECT);
	if (hdirect >= 0)
		ASSERT_EQ(4096, pread(hdirect, dbuf, 4096, 0));

	ASSERT_SYS(pipe(rdy));
	ASSERT_SYS(pipe(res));
	work_path(p, sizeof(p), "big");
	for (i = 0; i < NREADERS; i++) {
		rpid[i] = fork();
		ASSERT_LE(0, rpid[i]);
		if (!rpid[i]) {
			close(rdy[0]);
			close(res[0]);
			reader(p, i * (BIG_SIZE / NREADERS), rdy[1], res[1]);
		}
	}
	close(rdy[1]);
	close(res[1]);
	/* every reader has completed reads and is issuing more */
	pfd.fd = rdy[0];
	pfd.events = POLLIN;
	for (i = 0; i < NREADERS; i++) {
		ASSERT_EQ(1, poll(&pfd, 1, 60000));
		ASSERT_EQ(1, read(rdy[0], buf, 1));
	}

	/* remove the device while the reader is in the middle of its reads */
	t0 = vfs_now();
	rc = vfs_run_cmd(getenv("VFS_REMOVE_CMD"), 180);
	if (rc)
		TH_LOG("'%s' %s", getenv("VFS_REMOVE_CMD"),
		       rc == -1 ? "did not finish within 180 s" : "failed");
	ASSERT_EQ(0, rc);
	for (r = 0; r < 600 && bound(self->dev); r++)
		usleep(100000);
	if (bound(self->dev))
		TH_LOG("%s still bound to %s 60 s after removal", self->dev, DRIVER);
	ASSERT_FALSE(bound(self->dev));
	TH_LOG("device removed after %.1f s", vfs_now() - t0);

	/* the readers stop with an error instead of hanging */
	pfd.fd = res[0];
	for (i = 0; i < NREADERS; i++) {
		r = poll(&pfd, 1, 60000);
		if (r != 1) {
			TH_LOG("%d readers still reading (or stuck) 60 s after removal",
			       NREADERS - i);
			for (i = 0; i < NREADERS; i++)
				kill(rpid[i], SIGKILL);
			ASSERT_EQ(1, r);
		}
		ASSERT_EQ(sizeof(e), read(res[0], &e, sizeof(e)));
		TH_LOG("reader: read failed with %s", vfs_errname(e));
		EXPECT_TRUE(vfs_is_gone_err(e));
	}
	for (i = 0; i < NREADERS; i++)
		ASSERT_CHILD_OK(rpid[i], 30, "reader");

	/* calls that must reach the device fail */
	r = pwrite(held, "x", 1, 0);
	e = errno;
	EXPECT_GONE("pwrite", r, e);
	if (hdirect >= 0) {
		r = pread(hdirect, dbuf, 4096, 4096);
		e = errno;
		EXPECT_GONE("O_DIRECT pread", r, e);
	}
	r = fsync(held);
	e = errno;
	EXPECT_GONE("fsync", r, e);
	work_path(p, sizeof(p), "never-looked-up");
	r = stat(p, &st);
	e = errno;
	EXPECT_GONE("lookup of a new name", r, e);
	r = open(p, O_WRONLY | O_CREAT, 0644);
	e = errno;
	EXPECT_GONE("create", r, e);
	work_path(p, sizeof(p), "later");
	r = open(p, O_RDONLY);
	e = errno;
	if (r >= 0)
		close(r);
	EXPECT_GONE("open of an unopened file", r >= 0 ? 0 : r, e);
	/* calls the guest may answer from its caches */
	r = pread(held, buf, 4096, 0);
	e = errno;
	EXPECT_GONE_OR_OK("cached pread", r < 0 ? -1 : 0, e);
	r = fstat(held, &st);
	e = errno;
	EXPECT_GONE_OR_OK("fstat", r, e);
	/* close works (its FLUSH may report the lost device) */
	r = close(held);
	e = errno;
	EXPECT_GONE_OR_OK("close", r, e);
	if (hdirect >= 0)
		close(hdirect);
	fd = open(vfs_mnt(), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		r = (int)syscall(SYS_getdents64, fd, buf, sizeof(buf));
		e = errno;
		EXPECT_GONE_OR_OK("getdents64 of the root", r < 0 ? -1 : 0, e);
		close(fd);
	}
	free(dbuf);
}

TEST_F_TIMEOUT(rm, umount_after_removal, 120)
{
	char cmd[PATH_MAX + 16];
	int rc;

	NEED_ENV();
	ASSERT_FALSE(bound(self->dev));
	ASSERT_EQ(1, vfs_mounted(NULL, vfs_mnt()));
	snprintf(cmd, sizeof(cmd), "umount %s", vfs_mnt());
	rc = vfs_run_cmd(cmd, 90);
	if (rc)
		TH_LOG("umount %s", rc == -1 ? "hung for 90 s" : "failed");
	ASSERT_EQ(0, rc);
	EXPECT_EQ(0, vfs_mounted(NULL, vfs_mnt()));
}

TEST_F(rm, kernel_log_clean)
{
	NEED_ENV();
	EXPECT_KERNEL_LOG_CLEAN();
}

TEST_F_TIMEOUT(rm, readd_and_mount, 240)
{
	char p[PATH_MAX], buf[8];
	int rc, i, fd;

	NEED_ENV();
	if (!getenv("VFS_READD_CMD"))
		SKIP(return, "VFS_READD_CMD is not set");
	ASSERT_EQ(0, vfs_mounted(NULL, vfs_mnt()));
	rc = vfs_run_cmd(getenv("VFS_READD_CMD"), 180);
	if (rc)
		TH_LOG("'%s' %s", getenv("VFS_READD_CMD"),
		       rc == -1 ? "did not finish within 180 s" : "failed");
	ASSERT_EQ(0, rc);
	/* a virtio-fs device is bound again and the tag mounts */
	for (i = 0; i < 300; i++) {
		if (!mount(TAG, vfs_mnt(), FSTYPE, 0, NULL))
			break;
		usleep(200000);
	}
	if (i == 300)
		TH_LOG("mount %s: %s for 60 s after re-adding", TAG, vfs_errname(errno));
	ASSERT_GT(300, i);
	TH_LOG("mounted again after %.1f s", i * 0.2);
	/* with the data written before the removal */
	work_path(p, sizeof(p), "held");
	ASSERT_FILE_PATTERN(p, 64 * 1024, 3);
	work_path(p, sizeof(p), "big");
	fd = ASSERT_SYS(open(p, O_RDONLY));
	ASSERT_EQ(5, read(fd, buf, 5));
	EXPECT_EQ(0, memcmp(buf, "start", 5));
	close(fd);
	work_path(p, sizeof(p), "");
	EXPECT_EQ(0, vfs_rm_rf(p));
}

TEST_HARNESS_MAIN
