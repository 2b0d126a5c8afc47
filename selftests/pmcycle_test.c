// SPDX-License-Identifier: GPL-2.0
/*
 * pmcycle_test: 20 suspend cycles back to back while processes write and
 * read on the mount; every byte is verified afterwards.
 *
 * Four writers each fill their own file with a pattern, in chunks at
 * scattered offsets, and re-read what they wrote as they go; one more
 * process keeps creating, renaming and removing small files. Meanwhile the
 * test suspends the guest $VFS_CYCLES times (default 20) the way
 * $VFS_SUSPEND says. Then the writers stop and every file is checked from
 * a fresh open after the caches were dropped.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "vfs_test.h"
#include "vfs_host.h"

#define WRITERS 4
#define FILE_LEN (8 << 20)
#define CHUNK 65536

/* Shared with the children: set to stop them. */
static volatile int *stop;

/* Write the file in a fixed scattered order, checking each chunk. */
static int writer(const char *path, uint32_t seed)
{
	static char buf[CHUNK], back[CHUNK];
	unsigned int nchunks = FILE_LEN / CHUNK, i, done = 0;
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		return 1;
	for (i = 0; !*stop || done < nchunks; i++) {
		off_t off = (off_t)((i * 7919u) % nchunks) * CHUNK;

		vfs_fill(buf, CHUNK, seed, off);
		if (vfs_pwrite_all(fd, buf, CHUNK, off) != CHUNK)
			return 2;
		if (vfs_pread_all(fd, back, CHUNK, off) != CHUNK ||
		    memcmp(buf, back, CHUNK))
			return 3;
		if (i % 16 == 15 && fsync(fd))
			return 4;
		if (done < nchunks)
			done++;
	}
	return close(fd) ? 5 : 0;
}

/* Namespace churn: create, rename, stat and remove small files. */
static int churner(const char *dir)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat st;
	unsigned int i;
	int step = 0, ret;

	for (i = 0; !*stop; i++) {
		snprintf(a, sizeof(a), "%s/n%u", dir, i % 50);
		snprintf(b, sizeof(b), "%s/m%u", dir, i % 50);
		ret = vfs_make_file(a, 512, i);
		if (ret) {
			errno = -ret;
			step = 1;
		} else if (rename(a, b)) {
			step = 2;
		} else if (stat(b, &st)) {
			step = 3;
		} else if (st.st_size != 512) {
			step = 4;
		} else if (unlink(b)) {
			step = 5;
		}
		if (step) {
			fprintf(stderr, "churner: step %d of round %u: %s\n",
				step, i, vfs_errname(errno));
			return step;
		}
	}
	return 0;
}

TEST(cycles_under_io)
{
	char dir[256], path[PATH_MAX];
	int cycles = atoi(getenv("VFS_CYCLES") ?: "20");
	pid_t pids[WRITERS + 1];
	int i, failed = 0, status;

	stop = mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stop);
	*stop = 0;
	snprintf(dir, sizeof(dir), "%s/pmcycle.%d", vfs_mnt(), getpid());
	ASSERT_EQ(0, mkdir(dir, 0755));
	for (i = 0; i <= WRITERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			snprintf(path, sizeof(path), "%s/w%d", dir, i);
			_exit(i < WRITERS ? writer(path, 100 + i) : churner(dir));
		}
	}

	for (i = 0; i < cycles; i++) {
		int rc;

		usleep(200000);
		rc = vfs_suspend();
		if (rc) {
			TH_LOG("cycle %d: suspend (%s) failed: %s", i,
			       vfs_suspend_mode(), vfs_errname(-rc));
			failed++;
		}
	}
	*stop = 1;
	for (i = 0; i <= WRITERS; i++) {
		status = vfs_wait_timeout(pids[i], 300);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("%s %d failed: status %#x",
			       i < WRITERS ? "writer" : "churner", i, status);
			failed++;
		}
	}
	EXPECT_EQ(0, failed);

	ASSERT_EQ(0, vfs_drop_caches());
	for (i = 0; i < WRITERS; i++) {
		snprintf(path, sizeof(path), "%s/w%d", dir, i);
		ASSERT_FILE_PATTERN(path, FILE_LEN, 100 + i);
	}
}

TEST_HARNESS_MAIN
