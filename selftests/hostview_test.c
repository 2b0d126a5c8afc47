// SPDX-License-Identifier: GPL-2.0
/*
 * The host's view and the guest's view of the same files agree.
 *
 * host_*: suites/hostview.host-pre made $VFS_MNT/hv on the host before the
 * boot (known content, a sparse file, links, a 1000-entry directory, owners,
 * times, an xattr); the guest checks all of it.
 *
 * guest_*: the guest writes files with deterministic content through
 * different paths (buffered, O_DIRECT, mmap, sparse, append, namespace
 * changes, attributes) under $VFS_MNT/hv-out/<test>/; after poweroff,
 * suites/hostview.host-post recomputes them on the host and compares byte
 * for byte. Both scripts share the formulas below: keep them in sync.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/xattr.h>

#include "vfs_test.h"

#define MiB (1024UL * 1024UL)

/* host-pre's byte formula */
static uint8_t hb(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13 + (i >> 16) * 31);
}

#define HOST_PATTERN_SIZE	(3 * MiB + 123)
#define HOST_SPARSE_SIZE	((1ULL << 30) + 5)
#define HOST_SPARSE_MID		(512 * MiB)

FIXTURE(hv) {
	char in[512];		/* host-made files */
	struct vfs_dir out;	/* this test's output directory (kept) */
};

FIXTURE_SETUP(hv)
{
	char top[512];

	snprintf(self->in, sizeof(self->in), "%s/hv", vfs_mnt());
	self->out.fd = -1;
	self->out.keep = 1;
	if (strncmp(_metadata->name, "guest_", 6))
		return;
	snprintf(top, sizeof(top), "%s/hv-out", vfs_mnt());
	if (mkdir(top, 0755) && errno != EEXIST)
		ASSERT_SYS(-1);
	snprintf(self->out.path, sizeof(self->out.path), "%s/%.64s", top,
		 _metadata->name);
	/* fresh: a leftover from an earlier run is an error */
	ASSERT_SYS(mkdir(self->out.path, 0755));
	self->out.fd = ASSERT_SYS(open(self->out.path, O_RDONLY | O_DIRECTORY));
}

FIXTURE_TEARDOWN(hv)
{
	if (self->out.fd >= 0)
		close(self->out.fd);
}

#define NEED_HOST_FILES() do {						\
	if (access(self->in, F_OK))					\
		SKIP(return, "%.200s missing: boot without hostview.host-pre", self->in); \
} while (0)

static const char *in_path(const char *dir, const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int n;
	char *b = buf[n++ % 4];

	snprintf(b, PATH_MAX + 64, "%s/%s", dir, name);
	return b;
}

/* ---- host-made files, checked in the guest ---- */

TEST_F(hv, host_text)
{
	char *want = malloc(700000), *got = malloc(700000);
	size_t len = 0;
	int i, fd;

	NEED_HOST_FILES();
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	for (i = 1; i <= 100000; i++)
		len += sprintf(want + len, "%d\n", i);
	fd = ASSERT_SYS(open(in_path(self->in, "text.txt"), O_RDONLY));
	ASSERT_EQ(len, vfs_pread_all(fd, got, 700000, 0));
	close(fd);
	EXPECT_EQ(0, memcmp(want, got, len));
	free(want);
	free(got);
}

static long check_hb(const uint8_t *buf, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != hb(off + i))
			return i;
	return -1;
}

TEST_F(hv, host_pattern)
{
	uint8_t *buf = malloc(HOST_PATTERN_SIZE + 100), *dbuf = NULL;
	struct stat st;
	long bad;
	int fd;

	NEED_HOST_FILES();
	ASSERT_NE(NULL, buf);
	ASSERT_SYS(stat(in_path(self->in, "pattern.bin"), &st));
	EXPECT_EQ(HOST_PATTERN_SIZE, st.st_size);
	fd = ASSERT_SYS(open(in_path(self->in, "pattern.bin"), O_RDONLY));
	ASSERT_EQ(HOST_PATTERN_SIZE, vfs_pread_all(fd, buf, HOST_PATTERN_SIZE + 100, 0));
	close(fd);
	bad = check_hb(buf, HOST_PATTERN_SIZE, 0);
	if (bad >= 0)
		TH_LOG("pattern.bin: byte %ld is %#x, expected %#x", bad, buf[bad], hb(bad));
	EXPECT_EQ(-1, bad);

	/* and the same through O_DIRECT */
	fd = open(in_path(self->in, "pattern.bin"), O_RDONLY | O_DIRECT);
	if (fd < 0)
		return;
	ASSERT_EQ(0, posix_memalign((void **)&dbuf, 4096, MiB));
	ASSERT_EQ(MiB, pread(fd, dbuf, MiB, MiB));
	EXPECT_EQ(-1, check_hb(dbuf, MiB, MiB));
	close(fd);
	free(dbuf);
	free(buf);
}

TEST_F(hv, host_sparse)
{
	uint8_t *buf = malloc(MiB);
	struct stat st;
	off_t d;
	int fd;

	NEED_HOST_FILES();
	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(open(in_path(self->in, "sparse.bin"), O_RDONLY));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(HOST_SPARSE_SIZE, st.st_size);
	/* the holes stay holes: far less allocated than the size */
	EXPECT_GT(MiB, st.st_blocks * 512);
	ASSERT_EQ(4096, pread(fd, buf, 4096, 0));
	EXPECT_EQ(-1, check_hb(buf, 4096, 0));
	ASSERT_EQ(4096, pread(fd, buf, 4096, HOST_SPARSE_MID));
	EXPECT_EQ(-1, check_hb(buf, 4096, HOST_SPARSE_MID));
	ASSERT_EQ(5, pread(fd, buf, 100, HOST_SPARSE_SIZE - 5));
	EXPECT_EQ(0, memcmp(buf, "TAIL\n", 5));
	/* zeros in between */
	ASSERT_EQ(MiB, pread(fd, buf, MiB, 4096));
	EXPECT_EQ(-1, vfs_check_zero(buf, MiB));
	ASSERT_EQ(MiB, pread(fd, buf, MiB, 300 * MiB + 17));
	EXPECT_EQ(-1, vfs_check_zero(buf, MiB));
	ASSERT_EQ(MiB, pread(fd, buf, MiB, HOST_SPARSE_SIZE - 5 - MiB));
	EXPECT_EQ(-1, vfs_check_zero(buf, MiB));
	/* where the device reports holes, the data is where the host put it */
	d = lseek(fd, 8192, SEEK_DATA);
	if (d >= 0 && lseek(fd, 0, SEEK_HOLE) < (off_t)HOST_SPARSE_SIZE)
		EXPECT_EQ(HOST_SPARSE_MID, d);
	close(fd);
	free(buf);
}

TEST_F(hv, host_links)
{
	char buf[256];
	struct stat st, st2;

	NEED_HOST_FILES();
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, readlink(in_path(self->in, "link"), buf, sizeof(buf)));
	EXPECT_STREQ("pattern.bin", buf);
	ASSERT_SYS(stat(in_path(self->in, "link"), &st));
	EXPECT_EQ(HOST_PATTERN_SIZE, st.st_size);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(19, readlink(in_path(self->in, "dangling"), buf, sizeof(buf)));
	EXPECT_STREQ("/nonexistent/target", buf);
	ASSERT_ERRNO(ENOENT, stat(in_path(self->in, "dangling"), &st));

	ASSERT_SYS(stat(in_path(self->in, "hard1"), &st));
	ASSERT_SYS(stat(in_path(self->in, "hard2"), &st2));
	EXPECT_EQ(2, st.st_nlink);
	EXPECT_EQ(st.st_ino, st2.st_ino);
}

TEST_F(hv, host_dir1000)
{
	static unsigned char seen[1000];
	struct dirent *de;
	int i, n = 0, other = 0, fd;
	char name[16], buf[16];
	DIR *dp;

	NEED_HOST_FILES();
	dp = opendir(in_path(self->in, "dir1000"));
	ASSERT_NE(NULL, dp);
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sscanf(de->d_name, "e%d", &i) == 1 && i >= 0 && i < 1000 &&
		    strlen(de->d_name) == 5 && de->d_type == DT_REG) {
			seen[i]++;
			n++;
		} else if (!other++) {
			TH_LOG("unexpected entry %s (type %d)", de->d_name, de->d_type);
		}
	}
	closedir(dp);
	EXPECT_EQ(0, other);
	EXPECT_EQ(1000, n);
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(1, seen[i]);
		snprintf(name, sizeof(name), "dir1000/e%04d", i);
		fd = ASSERT_SYS(open(in_path(self->in, name), O_RDONLY));
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(6, read(fd, buf, sizeof(buf)));
		close(fd);
		snprintf(name, sizeof(name), "e%04d\n", i);
		ASSERT_STREQ(name, buf);
	}
}

TEST_F(hv, host_attrs)
{
	struct stat st;
	char buf[64];
	ssize_t n;

	NEED_HOST_FILES();
	ASSERT_SYS(stat(in_path(self->in, "owned"), &st));
	EXPECT_EQ(0604, st.st_mode & 07777);
	EXPECT_EQ(4321, st.st_uid);
	EXPECT_EQ(8765, st.st_gid);
	EXPECT_EQ(1234567890, st.st_mtim.tv_sec);
	EXPECT_EQ(500000000, st.st_mtim.tv_nsec);
	ASSERT_SYS(stat(in_path(self->in, "empty"), &st));
	EXPECT_EQ(0, st.st_size);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	ASSERT_SYS(lstat(in_path(self->in, "fifo"), &st));
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	ASSERT_SYS(stat(in_path(self->in, "a/b/c/d/e/f/g/deep"), &st));
	EXPECT_EQ(5, st.st_size);

	if (!access(in_path(self->in, "xattr.unsupported"), F_OK))
		SKIP(return, "the host could not set user xattrs");
	memset(buf, 0, sizeof(buf));
	n = getxattr(in_path(self->in, "pattern.bin"), "user.hostkey", buf, sizeof(buf));
	if (n < 0 && vfs_unsupported(errno))
		SKIP(return, "no xattrs on the device: %s", vfs_errname(errno));
	ASSERT_EQ(9, n);
	EXPECT_STREQ("hostvalue", buf);
}

/* ---- guest-made files, checked by the host afterwards ---- */

TEST_F(hv, guest_buffered)
{
	static const size_t chunks[] = { 1, 4095, 12345, 65536, 3, 100000, 4097 };
	const size_t len = 5 * MiB + 7;
	char *buf = malloc(len);
	size_t off = 0;
	unsigned int i = 0;
	int fd;

	ASSERT_NE(NULL, buf);
	vfs_fill(buf, len, 501, 0);
	fd = ASSERT_SYS(openat(self->out.fd, "buffered.bin", O_WRONLY | O_CREAT, 0644));
	while (off < len) {
		size_t n = chunks[i++ % ARRAY_SIZE(chunks)];

		if (n > len - off)
			n = len - off;
		ASSERT_EQ(n, write(fd, buf + off, n));
		off += n;
	}
	ASSERT_SYS(close(fd));
	/* a symlink and a hard link to it */
	ASSERT_SYS(symlinkat("buffered.bin", self->out.fd, "link"));
	ASSERT_SYS(linkat(self->out.fd, "buffered.bin", self->out.fd, "hard", 0));
	ASSERT_FILE_PATTERN(in_path(self->out.path, "hard"), len, 501);
	free(buf);
}

TEST_F(hv, guest_direct)
{
	char *buf = NULL;
	int fd, i;

	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, MiB));
	fd = openat(self->out.fd, "direct.bin", O_WRONLY | O_CREAT | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL)
		SKIP(return, "O_DIRECT refused");
	ASSERT_LE(0, fd);
	for (i = 3; i >= 0; i--) {
		vfs_fill(buf, MiB, 502, i * MiB);
		ASSERT_EQ(MiB, pwrite(fd, buf, MiB, i * MiB));
	}
	ASSERT_SYS(close(fd));
	free(buf);
}

TEST_F(hv, guest_mmap)
{
	char *m;
	int fd;

	fd = ASSERT_SYS(openat(self->out.fd, "mmap.bin", O_RDWR | O_CREAT, 0644));
	ASSERT_SYS(ftruncate(fd, MiB));
	m = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED && errno == ENODEV)
		SKIP(return, "shared mmap refused (cache=none)");
	ASSERT_NE(MAP_FAILED, m);
	vfs_fill(m, MiB, 503, 0);
	ASSERT_SYS(msync(m, MiB, MS_SYNC));
	ASSERT_SYS(munmap(m, MiB));
	ASSERT_SYS(close(fd));
}

TEST_F(hv, guest_sparse_and_truncate)
{
	char buf[8192];
	int fd;

	fd = ASSERT_SYS(openat(self->out.fd, "sparse.bin", O_WRONLY | O_CREAT, 0644));
	ASSERT_SYS(ftruncate(fd, 100 * MiB + 3));
	vfs_fill(buf, 4096, 504, 0);
	ASSERT_EQ(4096, pwrite(fd, buf, 4096, 0));
	vfs_fill(buf, 8192, 504, 50 * MiB);
	ASSERT_EQ(8192, pwrite(fd, buf, 8192, 50 * MiB));
	vfs_fill(buf, 3, 504, 100 * MiB);
	ASSERT_EQ(3, pwrite(fd, buf, 3, 100 * MiB));
	ASSERT_SYS(close(fd));

	/* written long, then cut short */
	ASSERT_SYS(vfs_make_file(in_path(self->out.path, "truncated.bin"), 10000, 506));
	ASSERT_SYS(truncate(in_path(self->out.path, "truncated.bin"), 1234));
}

TEST_F(hv, guest_punch_hole)
{
	int fd;

	ASSERT_SYS(vfs_make_file(in_path(self->out.path, "punched.bin"), MiB, 505));
	fd = ASSERT_SYS(openat(self->out.fd, "punched.bin", O_RDWR));
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 256 * 1024, 256 * 1024)) {
		int e = errno;

		close(fd);
		/* tell host-post not to expect the hole */
		ASSERT_SYS(vfs_make_file(in_path(self->out.path, "no-punch"), 0, 0));
		if (vfs_unsupported(e))
			SKIP(return, "punch hole: %s", vfs_errname(e));
		ASSERT_EQ(0, e);
	}
	ASSERT_SYS(close(fd));
}

TEST_F(hv, guest_append_and_text)
{
	char line[32];
	FILE *f;
	int fd, i;

	fd = ASSERT_SYS(openat(self->out.fd, "append.log", O_WRONLY | O_CREAT | O_APPEND, 0644));
	for (i = 1; i <= 10000; i++) {
		int n = snprintf(line, sizeof(line), "line %d\n", i);

		ASSERT_EQ(n, write(fd, line, n));
	}
	ASSERT_SYS(close(fd));
	f = fopen(in_path(self->out.path, "text.txt"), "w");
	ASSERT_NE(NULL, f);
	for (i = 1; i <= 50000; i++)
		fprintf(f, "%d\n", i);
	ASSERT_EQ(0, fclose(f));
}

TEST_F(hv, guest_namespace)
{
	char name[32];
	int i, fd;

	ASSERT_SYS(mkdirat(self->out.fd, "dir500", 0755));
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "dir500/f%03d", i);
		fd = ASSERT_SYS(openat(self->out.fd, name, O_WRONLY | O_CREAT | O_EXCL, 0644));
		ASSERT_EQ(strlen(name), write(fd, name, strlen(name)));
		close(fd);
	}
	/* renamed: only the new name may exist on the host */
	ASSERT_SYS(vfs_make_file(in_path(self->out.path, "tmpname"), 0, 0));
	fd = ASSERT_SYS(openat(self->out.fd, "tmpname", O_WRONLY));
	ASSERT_EQ(8, write(fd, "renamed\n", 8));
	close(fd);
	ASSERT_SYS(renameat(self->out.fd, "tmpname", self->out.fd, "renamed"));
	/* deleted, and deleted while open */
	ASSERT_SYS(vfs_make_file(in_path(self->out.path, "deleted"), 100, 1));
	ASSERT_SYS(unlinkat(self->out.fd, "deleted", 0));
	fd = ASSERT_SYS(openat(self->out.fd, "deleted-open", O_RDWR | O_CREAT, 0644));
	ASSERT_SYS(unlinkat(self->out.fd, "deleted-open", 0));
	ASSERT_EQ(3, write(fd, "abc", 3));
	close(fd);
	/* a directory removed again */
	ASSERT_SYS(mkdirat(self->out.fd, "rmdir-me", 0755));
	ASSERT_SYS(unlinkat(self->out.fd, "rmdir-me", AT_REMOVEDIR));
}

TEST_F(hv, guest_attrs)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1400000000, .tv_nsec = 0 },
		{ .tv_sec = 1500000000, .tv_nsec = 250000000 },
	};
	int r;

	ASSERT_SYS(vfs_make_file(in_path(self->out.path, "attrs"), 10, 507));
	ASSERT_SYS(fchmodat(self->out.fd, "attrs", 0751, 0));
	if (geteuid() == 0)
		ASSERT_SYS(fchownat(self->out.fd, "attrs", 1111, 2222, 0));
	ASSERT_SYS(utimensat(self->out.fd, "attrs", ts, 0));
	r = setxattr(in_path(self->out.path, "attrs"), "user.guest", "guestvalue", 10, 0);
	if (r && vfs_unsupported(errno)) {
		ASSERT_SYS(vfs_make_file(in_path(self->out.path, "no-xattr"), 0, 0));
		SKIP(return, "no xattrs on the device: %s", vfs_errname(errno));
	}
	ASSERT_SYS(r);
	syncfs(self->out.fd);
}

TEST_HARNESS_MAIN
