// SPDX-License-Identifier: GPL-2.0
/*
 * queue_test: a full virtqueue never loses, stalls or reorders a request.
 *
 * Run on small rings (the fullring suite boots with queue-size 16 and 2):
 * 32 writers and 32 readers work at once while another process runs a
 * forget storm (20,000 files created, caches dropped so the fuse core
 * forgets them, then all looked up again). Every byte is verified, every
 * process must finish within its deadline, and the driver's counters must
 * show that the ring really was full and requests waited.
 *
 * The storm creates and looks up its files in halves, dropping caches in
 * between, so that virtiofsd never holds more than ~10,000 inodes at once
 * (it keeps a descriptor per inode, and these machines allow 20,000).
 */
#define _GNU_SOURCE
#include <dirent.h>

#include "vfs_test.h"
#include "vfs_sys.h"

#define WRITERS 32
#define READERS 32
#define IO_LEN (1 << 20)
#define STORM_FILES 20000
#define DEADLINE 900	/* seconds for any one process */

/* A counter of one queue ("requests.0", "hiprio") from debugfs. */
static long long counter(const char *queue, const char *column)
{
	char line[512], *tok, *save;
	long long val = -1;
	int col, i;
	FILE *f = vfs_queues_open(column, &col);

	if (!f)
		return -1;
	while (col >= 0 && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, queue))
			continue;
		for (i = 1; (tok = strtok_r(NULL, " \n", &save)); i++)
			if (i == col)
				val = atoll(tok);
	}
	fclose(f);
	return val;
}

static int writer(const char *path, uint32_t seed, int direct)
{
	static char *buf;
	size_t off;
	int fd;

	if (!buf && posix_memalign((void **)&buf, 4096, 65536))
		return 1;
	fd = open(path, O_RDWR | O_CREAT | (direct ? O_DIRECT : 0), 0644);
	if (fd < 0)
		return 2;
	/* Backwards, so that the device sees the chunks out of file order. */
	for (off = IO_LEN; off; off -= 65536) {
		vfs_fill(buf, 65536, seed, off - 65536);
		if (vfs_pwrite_all(fd, buf, 65536, off - 65536) != 65536)
			return 3;
	}
	return fsync(fd) || close(fd) ? 4 : 0;
}

static int reader(const char *path, uint32_t seed, int rounds)
{
	static char buf[65536];
	size_t off;
	int fd, r;

	for (r = 0; r < rounds; r++) {
		fd = open(path, O_RDONLY | (r & 1 ? O_DIRECT : 0));
		if (fd < 0)
			return 1;
		for (off = 0; off < IO_LEN; off += sizeof(buf)) {
			if (vfs_pread_all(fd, buf, sizeof(buf), off) != sizeof(buf))
				return 2;
			if (vfs_check(buf, sizeof(buf), seed, off) != -1)
				return 3;
		}
		close(fd);
	}
	return 0;
}

static int storm_half(const char *dir, int first, int n, int create)
{
	char path[PATH_MAX];
	struct stat st;
	int i, fd;

	for (i = first; i < first + n; i++) {
		snprintf(path, sizeof(path), "%s/s%05d", dir, i);
		if (create) {
			fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
			if (fd < 0 || write(fd, &i, sizeof(i)) != sizeof(i) ||
			    close(fd))
				return 1;
		} else if (stat(path, &st) || st.st_size != sizeof(i)) {
			return 2;
		}
	}
	return vfs_drop_caches() ? 3 : 0;
}

/* Create 20,000 files, let the core forget them, look them all up again. */
static int forget_storm(const char *dir)
{
	int half = STORM_FILES / 2;

	if (mkdir(dir, 0755))
		return 10;
	return storm_half(dir, 0, half, 1) ?: storm_half(dir, half, half, 1) ?:
	       storm_half(dir, 0, half, 0) ?: storm_half(dir, half, half, 0);
}

FIXTURE(full) {
	struct vfs_dir d;
};

FIXTURE_SETUP(full)
{
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(full)
{
	vfs_dir_teardown(&self->d);
}

TEST_F_TIMEOUT(full, io_and_forget_storm, DEADLINE + 60)
{
	pid_t pids[WRITERS + READERS + 1];
	long long full0, waited0, sent0, forgets0;
	char path[PATH_MAX + 32];
	int i, status, failed = 0;

	full0 = counter("requests.0", "ring_full");
	waited0 = counter("requests.0", "waited");
	forgets0 = counter("hiprio", "sent");
	ASSERT_LE(0, full0) TH_LOG("no debugfs counters (not virtio_fs.ko?)");

	/* What the readers read: written before they start. */
	for (i = 0; i < READERS; i++) {
		snprintf(path, sizeof(path), "%s/r%02d", self->d.path, i);
		ASSERT_EQ(0, vfs_make_file(path, IO_LEN, 500 + i));
	}
	ASSERT_EQ(0, vfs_drop_caches());
	sent0 = counter("requests.0", "sent");

	for (i = 0; i < WRITERS + READERS + 1; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i])
			continue;
		if (i < WRITERS) {
			snprintf(path, sizeof(path), "%s/w%02d", self->d.path, i);
			_exit(writer(path, 100 + i, i & 1));
		}
		if (i < WRITERS + READERS) {
			snprintf(path, sizeof(path), "%s/r%02d", self->d.path,
				 i - WRITERS);
			_exit(reader(path, 500 + i - WRITERS, 4));
		}
		snprintf(path, sizeof(path), "%s/storm", self->d.path);
		_exit(forget_storm(path));
	}
	for (i = 0; i < WRITERS + READERS + 1; i++) {
		status = vfs_wait_timeout(pids[i], DEADLINE);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("%s %d failed or got stuck: status %#x",
			       i < WRITERS ? "writer" :
			       i < WRITERS + READERS ? "reader" : "forget storm",
			       i, status);
			failed++;
		}
	}
	ASSERT_EQ(0, failed);

	ASSERT_EQ(0, vfs_drop_caches());
	for (i = 0; i < WRITERS; i++) {
		snprintf(path, sizeof(path), "%s/w%02d", self->d.path, i);
		ASSERT_FILE_PATTERN(path, IO_LEN, 100 + i);
	}

	TH_LOG("requests sent %lld, ring full %lld times, %lld waited (most at once %lld), backoff %lld, FORGET requests %lld",
	       counter("requests.0", "sent") - sent0,
	       counter("requests.0", "ring_full") - full0,
	       counter("requests.0", "waited") - waited0,
	       counter("requests.0", "max_waiting"),
	       counter("requests.0", "backoff_fired"),
	       counter("hiprio", "sent") - forgets0);
	/* The point of the test: the ring was full and requests waited. */
	EXPECT_LT(full0, counter("requests.0", "ring_full"));
	EXPECT_LT(waited0, counter("requests.0", "waited"));
	/* The storm's FORGETs went out, batched. */
	EXPECT_LT(forgets0, counter("hiprio", "sent"));
	EXPECT_EQ(0, counter("requests.0", "bad_replies"));
}

TEST_HARNESS_MAIN
