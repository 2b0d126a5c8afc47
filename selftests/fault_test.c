// SPDX-License-Identifier: GPL-2.0
/*
 * fault_test: paths a real device cannot be made to take, through the
 * driver's fault injection (make module-fault; knobs in fault.h): a full
 * ring and failed allocations are retried without losing a request, a
 * request stuck past freeze_timeout_ms refuses the suspend, and failures
 * during recovery end as the failure table says: ESTALE for an object or
 * handle that cannot be found or opened again, EIO for a lock that cannot
 * be taken again, and a dead mount (ENOTCONN/EIO) when FUSE_INIT fails.
 *
 * The tests share one mount and run in order; the last one breaks the
 * mount on purpose and mounts it again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/fuse.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/mount.h>

#include "vfs_test.h"
#include "vfs_sys.h"
#include "vfs_host.h"

#define KNOBS "/sys/kernel/debug/virtio_fs/fault"
#define PARAMS "/sys/module/virtio_fs/parameters"

static int knob(const char *name, long val)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), "%s/%s", KNOBS, name);
	snprintf(buf, sizeof(buf), "%ld", val);
	return vfs_write_str(path, buf);
}

static void knobs_off(void)
{
	knob("ring_full", 0);
	knob("alloc_fail", 0);
	knob("hold_opcode", 0);
	knob("call_fail_opcode", 0);
	knob("call_fail_errno", 0);
	knob("call_fail_count", 0);
}

/* Sum of a column of the "queues" file over the request queues. */
static long long queue_counter(const char *column)
{
	char line[512], *tok, *save;
	long long sum = 0;
	int col, i;
	FILE *f = vfs_queues_open(column, &col);

	if (!f)
		return -1;
	while (col >= 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "requests", 8))
			continue;
		for (i = 0, tok = strtok_r(line, " \n", &save); tok;
		     i++, tok = strtok_r(NULL, " \n", &save))
			if (i == col)
				sum += atoll(tok);
	}
	fclose(f);
	return col < 0 ? -1 : sum;
}

FIXTURE(fault) {
	struct vfs_dir d;
};

FIXTURE_SETUP(fault)
{
	if (access(KNOBS, F_OK))
		SKIP(return, "the driver was built without fault injection");
	knobs_off();
	vfs_write_str(PARAMS "/freeze_timeout_ms", "5000");
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(fault)
{
	knobs_off();
	if (self->d.path[0])
		vfs_dir_teardown(&self->d);
}

/* A ring that stays full: requests wait and the backoff timer sends them. */
TEST_F(fault, full_ring_retried_by_backoff)
{
	long long full0 = queue_counter("ring_full");
	long long fired0 = queue_counter("backoff_fired");
	const char *p = vfs_path(&self->d, "ring");

	ASSERT_LE(0, full0);
	ASSERT_EQ(0, knob("ring_full", 20));
	ASSERT_EQ(0, vfs_make_file(p, 1 << 20, 5));
	ASSERT_EQ(0, vfs_drop_caches());
	ASSERT_FILE_PATTERN(p, 1 << 20, 5);
	EXPECT_LE(full0 + 20, queue_counter("ring_full"));
	EXPECT_LT(fired0, queue_counter("backoff_fired"));
}

/* Failed allocations: the requests wait for memory, none fails. */
TEST_F(fault, failed_allocations_retried)
{
	long long waited0 = queue_counter("waited");
	const char *p = vfs_path(&self->d, "alloc");

	ASSERT_EQ(0, knob("alloc_fail", 20));
	ASSERT_EQ(0, vfs_make_file(p, 1 << 20, 7));
	ASSERT_EQ(0, vfs_drop_caches());
	ASSERT_FILE_PATTERN(p, 1 << 20, 7);
	EXPECT_LT(waited0, queue_counter("waited"));
}

/*
 * A READ that never completes (its completion held back) keeps the rings
 * busy: freeze waits freeze_timeout_ms, then refuses the suspend and names
 * the opcode. Once the completion arrives, suspend works again.
 */
TEST_F(fault, stuck_request_refuses_suspend)
{
	const char *p = vfs_path(&self->d, "stuck");
	int fd, rc;

	ASSERT_EQ(0, vfs_make_file(p, 4 << 20, 9));
	ASSERT_EQ(0, vfs_drop_caches());
	ASSERT_EQ(0, vfs_write_str(PARAMS "/freeze_timeout_ms", "1000"));
	ASSERT_EQ(0, knob("hold_opcode", FUSE_READ));
	fd = ASSERT_SYS(open(p, O_RDONLY));
	/* Readahead in the background: nobody waits for it. */
	ASSERT_EQ(0, posix_fadvise(fd, 0, 1 << 20, POSIX_FADV_WILLNEED));
	usleep(200000);
	rc = vfs_suspend();
	EXPECT_EQ(-EBUSY, rc) TH_LOG("suspend: %s", vfs_errname(-rc));
	EXPECT_TRUE(vfs_kernel_log_has("suspend refused: a READ request (opcode 15) did not finish within 1000 ms"));
	ASSERT_EQ(0, knob("hold_opcode", 0));
	ASSERT_FILE_PATTERN(p, 4 << 20, 9);
	close(fd);
	EXPECT_EQ(0, vfs_suspend());
}

/* No handle can be opened again: ESTALE on it, the directory fd works. */
TEST_F(fault, open_fails_during_recovery)
{
	const char *p = vfs_path(&self->d, "open");
	char buf[1024];
	int fd, dfd;

	ASSERT_EQ(0, vfs_make_file(p, 4096, 11));
	fd = ASSERT_SYS(open(p, O_RDWR));
	dfd = ASSERT_SYS(open(self->d.path, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, knob("call_fail_errno", EACCES));
	ASSERT_EQ(0, knob("call_fail_opcode", FUSE_OPEN));
	ASSERT_EQ(0, vfs_suspend());
	/* Requests wait for the recovery: it has run when this returns. */
	EXPECT_ERRNO(ESTALE, pwrite(fd, "x", 1, 0));
	knobs_off();
	EXPECT_ERRNO(ESTALE, fsync(fd));
	EXPECT_LT(0, syscall(SYS_getdents64, dfd, buf, sizeof(buf)))
		TH_LOG("the directory handle: %s", vfs_errname(errno));
	close(fd);
	close(dfd);
	/* Opened anew, the file is there and intact. */
	ASSERT_FILE_PATTERN(p, 4096, 11);
}

/* Its object cannot be looked up again: ESTALE; a new open works. */
TEST_F(fault, lookup_fails_during_recovery)
{
	const char *p = vfs_path(&self->d, "sub");
	char q[PATH_MAX];
	int fd;

	ASSERT_EQ(0, mkdir(p, 0755));
	snprintf(q, sizeof(q), "%s/f", p);
	ASSERT_EQ(0, vfs_make_file(q, 4096, 13));
	fd = ASSERT_SYS(open(q, O_RDWR));
	ASSERT_EQ(0, knob("call_fail_errno", ENOENT));
	ASSERT_EQ(0, knob("call_fail_opcode", FUSE_LOOKUP));
	ASSERT_EQ(0, vfs_suspend());
	EXPECT_ERRNO(ESTALE, pwrite(fd, "x", 1, 0));
	knobs_off();
	close(fd);
	ASSERT_FILE_PATTERN(q, 4096, 13);
}

/* A lock that cannot be taken again: EIO through that file, a log line. */
TEST_F(fault, setlk_fails_during_recovery)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_len = 10 };
	const char *p = vfs_path(&self->d, "lock");
	int fd, other;

	ASSERT_EQ(0, vfs_make_file(p, 4096, 15));
	fd = ASSERT_SYS(open(p, O_RDWR));
	other = ASSERT_SYS(open(p, O_RDWR));
	ASSERT_EQ(0, fcntl(fd, F_SETLK, &fl));
	ASSERT_EQ(0, knob("call_fail_errno", EAGAIN));
	ASSERT_EQ(0, knob("call_fail_opcode", FUSE_SETLK));
	ASSERT_EQ(0, vfs_suspend());
	EXPECT_ERRNO(EIO, pwrite(fd, "x", 1, 0));
	knobs_off();
	EXPECT_TRUE(vfs_kernel_log_has("lost a POSIX lock"));
	/* The other file of the same inode is fine. */
	EXPECT_EQ(1, pwrite(other, "y", 1, 100));
	close(other);
	close(fd);
}

/*
 * FUSE_INIT fails after resume: the whole mount fails with ENOTCONN or EIO
 * and the log says so; it unmounts cleanly and mounts again.
 */
TEST_F(fault, init_fails_after_resume)
{
	const char *mnt = vfs_mnt();
	const char *tag = getenv("VFS_TAG") ?: "vfstest";
	char p[PATH_MAX];
	struct stat st;
	int e;

	snprintf(p, sizeof(p), "%s", vfs_path(&self->d, "init"));
	ASSERT_EQ(0, vfs_make_file(p, 4096, 17));
	ASSERT_EQ(0, knob("call_fail_errno", EPROTO));
	ASSERT_EQ(0, knob("call_fail_opcode", FUSE_INIT));
	ASSERT_EQ(0, vfs_suspend());
	ASSERT_EQ(-1, stat(p, &st));
	e = errno;
	knobs_off();
	EXPECT_TRUE(e == ENOTCONN || e == EIO) TH_LOG("stat: %s", vfs_errname(e));
	EXPECT_TRUE(vfs_kernel_log_has("the mount cannot continue after resume"));
	/* Nothing to clean up on a dead mount; let go of it. */
	close(self->d.fd);
	self->d.fd = -1;
	self->d.path[0] = 0;
	ASSERT_EQ(0, umount(mnt)) TH_LOG("umount: %s", vfs_errname(errno));
	ASSERT_EQ(0, mount(tag, mnt, "virtiofs", 0, NULL))
		TH_LOG("mount: %s", vfs_errname(errno));
	ASSERT_FILE_PATTERN(p, 4096, 17);
	unlink(p);
}

/* The name under /sys/bus/virtio/devices of the device with our tag. */
static int virtio_dev_name(char *out, size_t len)
{
	const char *tag = getenv("VFS_TAG") ?: "vfstest";
	char path[600], link[600], buf[64];
	struct dirent *d;
	DIR *dir = opendir("/sys/fs/virtiofs");
	int found = -1;

	if (!dir)
		return -1;
	while (found && (d = readdir(dir))) {
		FILE *f;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/virtiofs/%.32s/tag",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncmp(buf, tag, strlen(tag))) {
			snprintf(path, sizeof(path), "/sys/fs/virtiofs/%.32s/device",
				 d->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0) {
				link[n] = 0;
				found = snprintf(out, len, "%s",
						 strrchr(link, '/') + 1) >= (int)len;
			}
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

/*
 * The virtio ring finds the device breaking the protocol (a used entry that
 * names no buffer): nothing on that ring will complete. The driver fails
 * the mount with EIO or ENOTCONN instead of hanging, says so once, and the
 * device works again once the driver binds it anew.
 */
TEST_F(fault, device_breaks_protocol)
{
	const char *mnt = vfs_mnt();
	const char *tag = getenv("VFS_TAG") ?: "vfstest";
	char p[PATH_MAX], name[64];
	int fd, e;

	snprintf(p, sizeof(p), "%s", vfs_path(&self->d, "broken"));
	ASSERT_EQ(0, vfs_make_file(p, 4096, 19));
	ASSERT_EQ(0, virtio_dev_name(name, sizeof(name)));
	fd = ASSERT_SYS(open(p, O_RDWR));
	ASSERT_EQ(0, knob("break_device", 1));
	usleep(500000);
	ASSERT_EQ(-1, pwrite(fd, "x", 1, 0));
	e = errno;
	EXPECT_TRUE(e == EIO || e == ENOTCONN) TH_LOG("pwrite: %s",
						       vfs_errname(e));
	EXPECT_TRUE(vfs_kernel_log_has("the device broke the virtqueue protocol"));
	close(fd);
	close(self->d.fd);
	self->d.fd = -1;
	self->d.path[0] = 0;
	ASSERT_EQ(0, umount(mnt)) TH_LOG("umount: %s", vfs_errname(errno));
	ASSERT_EQ(0, vfs_write_str("/sys/bus/virtio/drivers/virtio_fs/unbind",
				   name));
	ASSERT_EQ(0, vfs_write_str("/sys/bus/virtio/drivers/virtio_fs/bind",
				   name));
	ASSERT_EQ(0, mount(tag, mnt, "virtiofs", 0, NULL))
		TH_LOG("mount: %s", vfs_errname(errno));
	ASSERT_FILE_PATTERN(p, 4096, 19);
	unlink(p);
}

TEST_HARNESS_MAIN
