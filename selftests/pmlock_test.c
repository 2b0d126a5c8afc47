// SPDX-License-Identifier: GPL-2.0
/*
 * pmlock_test: a lock another owner takes while the guest is suspended is
 * lost, loudly and locally (NFSv4 lost-lock semantics): I/O through the
 * file that held it fails with EIO, the kernel log says so, and everything
 * else goes on.
 *
 * main() takes a POSIX lock on lock.bin, an flock on flock.bin and a POSIX
 * lock on kept.bin, asks the host to take the first two as soon as they are
 * free (suspend.host-lock), and suspends with pm_test "devices" for
 * PM_TEST_DELAY seconds: the driver's freeze gives the device's locks back,
 * the host takes them while the guest sleeps, and on resume the driver
 * cannot take them again. Then it runs the tests.
 *
 * Not a real S3: the driver's freeze and restore are the same, and pm_test
 * keeps the guest asleep as long as the host needs. A real S3 under TCG now
 * and then panics a 6.12 guest in its resume, so the suite has one real
 * S3 per boot only (pm_s3).
 */
#define _GNU_SOURCE
#include <sys/file.h>

#include "vfs_test.h"
#include "vfs_sys.h"
#include "vfs_host.h"

#define HOLD_SECONDS 15	/* the host holds the locks this long */
#define PM_TEST_DELAY 5	/* the guest sleeps this long */
/* Seconds after the resume when the host lets go, at the latest */
#define HELD_AFTER_RESUME (HOLD_SECONDS - PM_TEST_DELAY + 2)

static struct {
	char dir[256];
	int lock_fd;		/* POSIX lock on lock.bin [0, 99]: lost */
	int flock_fd;		/* flock on flock.bin: lost */
	int kept_fd;		/* POSIX lock on kept.bin: kept */
	int host_rc;
	int suspend_rc;
	int setup_step;
	double resumed;		/* when the guest came back */
	double slept;		/* seconds the suspend took */
} S;

static int open_in_scene(const char *name, uint32_t seed)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", S.dir, name);
	if (vfs_make_file(path, 65536, seed))
		return -1;
	return open(path, O_RDWR);
}

static int lock_range(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET,
		.l_start = start, .l_len = len,
	};

	return fcntl(fd, F_SETLK, &fl);
}

static int scene_setup(void)
{
	char delay[16];
	int seq;

	snprintf(S.dir, sizeof(S.dir), "%s/pmlock.%d", vfs_mnt(), getpid());
	if (mkdir(S.dir, 0755))
		return 1;
	S.lock_fd = open_in_scene("lock.bin", 3);
	S.flock_fd = open_in_scene("flock.bin", 5);
	S.kept_fd = open_in_scene("kept.bin", 7);
	if (S.lock_fd < 0 || S.flock_fd < 0 || S.kept_fd < 0)
		return 2;
	if (lock_range(S.lock_fd, F_WRLCK, 0, 100) ||
	    flock(S.flock_fd, LOCK_EX | LOCK_NB) ||
	    lock_range(S.kept_fd, F_WRLCK, 0, 0))
		return 3;
	setenv("VFS_SUSPEND", "mem", 1);
	snprintf(delay, sizeof(delay), "%d", PM_TEST_DELAY);
	setenv("VFS_PM_TEST_DELAY", delay, 1);
	seq = vfs_host_send("host_exec suspend.host-lock %s %d %d",
			    S.dir + strlen(vfs_mnt()) + 1, HOLD_SECONDS,
			    PM_TEST_DELAY + 5);
	if (seq < 0)
		return 4;
	/* vfs_suspend() keeps pm_test's busy wait on CPU 0: see there. */
	S.slept = vfs_mono();
	S.suspend_rc = vfs_suspend();
	S.resumed = vfs_mono();
	S.slept = S.resumed - S.slept;
	S.host_rc = vfs_host_wait(seq, 60);
	return 0;
}

TEST(scene_and_suspend)
{
	ASSERT_EQ(0, S.setup_step) TH_LOG("scene step %d failed: %s",
					  S.setup_step, vfs_errname(errno));
	ASSERT_EQ(0, S.suspend_rc) TH_LOG("suspend: %s",
					  vfs_errname(-S.suspend_rc));
	ASSERT_EQ(0, S.host_rc) TH_LOG("the host did not take the locks (the guest slept %.2f s of %d)",
					S.slept, PM_TEST_DELAY);
}

/*
 * Writes go through to the device (no writeback cache with cache=auto),
 * so they meet the lost lock; reads may be served from the page cache.
 */
TEST(lost_posix_lock_fails_io)
{
	char buf[64] = "x";

	ASSERT_EQ(0, S.setup_step);
	EXPECT_ERRNO(EIO, pwrite(S.lock_fd, buf, sizeof(buf), 4096));
	EXPECT_ERRNO(EIO, fsync(S.lock_fd));
}

TEST(lost_flock_fails_io)
{
	char buf[64] = "x";

	ASSERT_EQ(0, S.setup_step);
	EXPECT_ERRNO(EIO, pwrite(S.flock_fd, buf, sizeof(buf), 0));
}

TEST(lost_locks_are_logged)
{
	char want[256];

	ASSERT_EQ(0, S.setup_step);
	snprintf(want, sizeof(want), "tag %s: lost a POSIX lock",
		 getenv("VFS_TAG") ?: "vfstest");
	EXPECT_TRUE(vfs_kernel_log_has(want)) TH_LOG("no \"%s\" line", want);
	snprintf(want, sizeof(want), "tag %s: lost a flock lock",
		 getenv("VFS_TAG") ?: "vfstest");
	EXPECT_TRUE(vfs_kernel_log_has(want)) TH_LOG("no \"%s\" line", want);
}

/* The lock nobody took is still the parent's; that file works. */
TEST(kept_lock_still_held_and_file_works)
{
	char path[PATH_MAX], buf[4096];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	snprintf(path, sizeof(path), "%s/kept.bin", S.dir);
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EAGAIN, lock_range(fd, F_WRLCK, 10, 10));
	close(fd);
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.kept_fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 7, 0));
}

/* The host holds the lock: the guest gets EAGAIN, as from any owner. */
TEST(host_holds_the_lock_now)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	if (vfs_mono() - S.resumed > HELD_AFTER_RESUME - 4)
		SKIP(return, "the host already let go");
	snprintf(path, sizeof(path), "%s/lock.bin", S.dir);
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EAGAIN, lock_range(fd, F_WRLCK, 0, 10));
	close(fd);
}

/* Once the host lets go, new opens lock normally; the lost fds stay EIO. */
TEST(after_the_host_lets_go)
{
	char path[PATH_MAX], buf[64];
	double left = HELD_AFTER_RESUME + 1 - (vfs_mono() - S.resumed);
	int fd, ffd;

	ASSERT_EQ(0, S.setup_step);
	if (left > 0)
		usleep(left * 1e6);
	snprintf(path, sizeof(path), "%s/lock.bin", S.dir);
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_EQ(0, lock_range(fd, F_WRLCK, 0, 100))
		TH_LOG("lock: %s", vfs_errname(errno));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 3, 0));
	snprintf(path, sizeof(path), "%s/flock.bin", S.dir);
	ffd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_EQ(0, flock(ffd, LOCK_EX | LOCK_NB));
	EXPECT_ERRNO(EIO, pwrite(S.lock_fd, buf, sizeof(buf), 0));
	close(ffd);
	close(fd);
}

int main(int argc, char **argv)
{
	S.setup_step = scene_setup();
	return test_harness_run(argc, argv);
}
