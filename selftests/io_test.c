// SPDX-License-Identifier: GPL-2.0
/*
 * Data paths of a virtio-fs mount: buffered READ/WRITE at odd offsets and
 * lengths, large sequential I/O, O_APPEND, O_DIRECT, shared mmap, FALLOCATE
 * (plain, KEEP_SIZE, PUNCH_HOLE), LSEEK (SEEK_DATA/SEEK_HOLE) and
 * COPY_FILE_RANGE/sendfile.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/sendfile.h>

#include "vfs_test.h"

#define KiB 1024UL
#define MiB (1024UL * 1024UL)

FIXTURE(io) {
	struct vfs_dir d;
};

FIXTURE_SETUP(io)
{
	umask(022);
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(io)
{
	vfs_dir_teardown(&self->d);
}

static void *aligned_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

/* ---- fallocate and sparse files ---- */

#define FALLOCATE_OR_SKIP(fd, mode, off, len) do {			\
	if (fallocate((fd), (mode), (off), (len))) {			\
		int __e = errno;					\
		if (vfs_unsupported(__e))				\
			SKIP(return, "fallocate mode %#x not supported: %s", \
			     (mode), vfs_errname(__e));			\
		TH_LOG("fallocate(mode %#x, %lld, %lld): %s", (mode),	\
		       (long long)(off), (long long)(len), vfs_errname(__e)); \
		ASSERT_EQ(0, __e);					\
	}								\
} while (0)

TEST_F(io, fallocate_mode0)
{
	char *buf = malloc(2 * MiB);
	struct stat st;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	FALLOCATE_OR_SKIP(fd, 0, 0, MiB);
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(MiB, st.st_size);
	EXPECT_LE(MiB, st.st_blocks * 512);
	ASSERT_EQ(MiB, vfs_pread_all(fd, buf, 2 * MiB, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf, MiB));

	/* allocating over data keeps the data; beyond EOF extends */
	vfs_fill(buf, 100 * KiB, 3, 0);
	ASSERT_EQ(100 * KiB, vfs_pwrite_all(fd, buf, 100 * KiB, 0));
	ASSERT_SYS(fallocate(fd, 0, 0, 2 * MiB + 4096));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(2 * MiB + 4096, st.st_size);
	ASSERT_EQ(2 * MiB, vfs_pread_all(fd, buf, 2 * MiB, 0));
	EXPECT_EQ(-1, vfs_check(buf, 100 * KiB, 3, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf + 100 * KiB, 2 * MiB - 100 * KiB));

	ASSERT_ERRNO(EINVAL, fallocate(fd, 0, 0, 0));
	ASSERT_ERRNO(EINVAL, fallocate(fd, 0, -1, 10));
	close(fd);
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_ERRNO(EBADF, fallocate(fd, 0, 0, 10));
	close(fd);

	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(2 * MiB + 4096, st.st_size);
	free(buf);
}

TEST_F(io, fallocate_keep_size)
{
	char buf[20000];
	struct stat st, st0;
	int fd;

	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "f"), 10000, 4));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	ASSERT_SYS(fstat(fd, &st0));
	FALLOCATE_OR_SKIP(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * MiB);
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(10000, st.st_size);
	EXPECT_LE(4 * MiB, st.st_blocks * 512);
	EXPECT_LT(st0.st_blocks, st.st_blocks);
	ASSERT_EQ(10000, vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, 10000, 4, 0));
	ASSERT_EQ(0, pread(fd, buf, 10, 10000));

	/* the preallocated range reads as zeros once the size covers it */
	ASSERT_SYS(ftruncate(fd, 30000));
	ASSERT_EQ(20000, vfs_pread_all(fd, buf, 20000, 10000));
	EXPECT_EQ(-1, vfs_check_zero(buf, 20000));
	close(fd);

	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, "f", &st, 0));
	EXPECT_EQ(30000, st.st_size);
	EXPECT_LE(4 * MiB, st.st_blocks * 512);
}

TEST_F(io, fallocate_punch_hole)
{
	char *buf = malloc(MiB);
	struct stat st0, st;
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "f"), MiB, 5));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	ASSERT_SYS(fsync(fd));
	ASSERT_SYS(fstat(fd, &st0));
	/* the VFS only takes a punch together with KEEP_SIZE */
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	FALLOCATE_OR_SKIP(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  256 * KiB, 256 * KiB);
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(MiB, st.st_size);
	EXPECT_GT(st0.st_blocks, st.st_blocks);
	ASSERT_EQ(MiB, vfs_pread_all(fd, buf, MiB, 0));
	EXPECT_EQ(-1, vfs_check(buf, 256 * KiB, 5, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf + 256 * KiB, 256 * KiB));
	EXPECT_EQ(-1, vfs_check(buf + 512 * KiB, 512 * KiB, 5, 512 * KiB));

	/* an unaligned punch zeroes exactly its bytes */
	ASSERT_SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     600 * KiB + 1000, 5000));
	ASSERT_EQ(MiB, vfs_pread_all(fd, buf, MiB, 0));
	EXPECT_EQ(-1, vfs_check(buf + 512 * KiB, 88 * KiB + 1000, 5, 512 * KiB));
	EXPECT_EQ(-1, vfs_check_zero(buf + 600 * KiB + 1000, 5000));
	EXPECT_EQ(-1, vfs_check(buf + 600 * KiB + 6000, 424 * KiB - 6000, 5,
				600 * KiB + 6000));
	close(fd);

	/* the device has the holes, not just the page cache */
	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_EQ(MiB, vfs_pread_all(fd, buf, MiB, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf + 256 * KiB, 256 * KiB));
	EXPECT_EQ(-1, vfs_check_zero(buf + 600 * KiB + 1000, 5000));
	EXPECT_EQ(-1, vfs_check(buf, 256 * KiB, 5, 0));
	close(fd);
	free(buf);
}

TEST_F(io, seek_data_hole)
{
	const off_t size = 4 * MiB;
	char buf[4096];
	off_t h, d;
	int fd;

	fd = ASSERT_SYS(openat(self->d.fd, "sparse", O_RDWR | O_CREAT, 0644));
	ASSERT_SYS(ftruncate(fd, size));
	vfs_fill(buf, sizeof(buf), 6, 0);
	ASSERT_EQ(4096, pwrite(fd, buf, 4096, 0));
	ASSERT_EQ(4096, pwrite(fd, buf, 4096, MiB));
	ASSERT_SYS(fsync(fd));

	h = lseek(fd, 0, SEEK_HOLE);
	if (h < 0 && (errno == EINVAL || vfs_unsupported(errno)))
		SKIP(return, "SEEK_HOLE: %s", vfs_errname(errno));
	ASSERT_LE(0, h);
	if (h == size)
		SKIP(return, "the device reports no holes (SEEK_HOLE at 0 gives EOF)");

	EXPECT_EQ(0, lseek(fd, 0, SEEK_DATA));
	EXPECT_LE(4096, h);
	EXPECT_GE(MiB, h);
	d = lseek(fd, 8192, SEEK_DATA);
	EXPECT_LE(h, d);
	EXPECT_GE(MiB, d);
	EXPECT_LT(MiB - 4096, d);
	h = lseek(fd, MiB, SEEK_HOLE);
	EXPECT_LE(MiB + 4096, h);
	EXPECT_GE(size, h);
	/* no data after the second block */
	ASSERT_ERRNO(ENXIO, lseek(fd, MiB + 64 * KiB, SEEK_DATA));
	EXPECT_EQ(size - 1, lseek(fd, size - 1, SEEK_HOLE));
	ASSERT_ERRNO(ENXIO, lseek(fd, size, SEEK_DATA));
	ASSERT_ERRNO(ENXIO, lseek(fd, size, SEEK_HOLE));
	ASSERT_ERRNO(ENXIO, lseek(fd, size + 100, SEEK_HOLE));

	/* data at the end: the only hole after it is EOF */
	ASSERT_EQ(4096, pwrite(fd, buf, 4096, size - 4096));
	ASSERT_SYS(fsync(fd));
	EXPECT_EQ(size, lseek(fd, size - 4096, SEEK_HOLE));
	EXPECT_LE(size - 4096, lseek(fd, MiB + 64 * KiB, SEEK_DATA));
	close(fd);
}

/* ---- mmap ---- */

static sigjmp_buf bus_env;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_env, 1);
}

/* 1 if reading the byte at p raises SIGBUS */
static int faults(char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int hit = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_env, 1))
		hit = 1;
	else
		(void)__atomic_load_n(p, __ATOMIC_RELAXED);
	sigaction(SIGBUS, &old, NULL);
	return hit;
}

TEST_F(io, mmap_shared_write)
{
	const size_t len = 256 * KiB;
	char *buf = malloc(len), *m;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	ASSERT_SYS(ftruncate(fd, len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED && errno == ENODEV)
		SKIP(return, "shared mmap refused (file opened direct_io: cache=none)");
	ASSERT_NE(MAP_FAILED, m);
	vfs_fill(buf, len, 7, 0);
	memcpy(m, buf, len);

	/* write() and the mapping see the same page cache */
	ASSERT_EQ(5, pwrite(fd, "HELLO", 5, 5000));
	EXPECT_EQ(0, memcmp(m + 5000, "HELLO", 5));
	memcpy(m + 5000, buf + 5000, 5);
	ASSERT_SYS(msync(m, len, MS_SYNC));
	ASSERT_SYS(munmap(m, len));
	ASSERT_SYS(close(fd));

	ASSERT_FILE_PATTERN(vfs_path(&self->d, "f"), len, 7);
	ASSERT_DROP_CACHES();
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "f"), len, 7);

	/* writes through a mapping reach the device at munmap+close too */
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, vfs_check(m, len, 7, 0));
	vfs_fill(m + 4096, 8192, 8, 4096);
	ASSERT_SYS(munmap(m, len));
	ASSERT_SYS(fsync(fd));
	ASSERT_SYS(close(fd));
	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_EQ(len, vfs_pread_all(fd, buf, len, 0));
	close(fd);
	EXPECT_EQ(-1, vfs_check(buf, 4096, 7, 0));
	EXPECT_EQ(-1, vfs_check(buf + 4096, 8192, 8, 4096));
	EXPECT_EQ(-1, vfs_check(buf + 12288, len - 12288, 7, 12288));
	free(buf);
}

TEST_F(io, mmap_extend_by_ftruncate)
{
	const size_t pg = 4096;
	char buf[3 * 4096], *m;
	struct stat st;
	int fd;

	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "f"), pg, 9));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED && errno == ENODEV)
		SKIP(return, "shared mmap refused (file opened direct_io: cache=none)");
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, vfs_check(m, pg, 9, 0));
	/* past EOF the mapping has no page */
	EXPECT_TRUE(faults(m + pg));
	EXPECT_TRUE(faults(m + 2 * pg + 100));

	ASSERT_SYS(ftruncate(fd, 3 * pg));
	EXPECT_FALSE(faults(m + 2 * pg + 100));
	EXPECT_EQ(-1, vfs_check_zero(m + pg, 2 * pg));
	vfs_fill(m + pg, 2 * pg, 10, pg);
	ASSERT_SYS(msync(m, 3 * pg, MS_SYNC));
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ(3 * pg, st.st_size);

	/* and shrinking takes the page away again */
	ASSERT_SYS(ftruncate(fd, 2 * pg));
	EXPECT_TRUE(faults(m + 2 * pg));
	EXPECT_FALSE(faults(m + pg));
	ASSERT_SYS(munmap(m, 3 * pg));
	ASSERT_SYS(close(fd));

	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_EQ(2 * pg, vfs_pread_all(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, pg, 9, 0));
	EXPECT_EQ(-1, vfs_check(buf + pg, pg, 10, pg));
	close(fd);
}

TEST_F(io, mmap_private_not_written)
{
	char *m;
	int fd;

	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "f"), 8192, 11));
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	memset(m, 'P', 8192);
	ASSERT_SYS(msync(m, 8192, MS_SYNC));
	ASSERT_SYS(munmap(m, 8192));
	ASSERT_SYS(close(fd));
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "f"), 8192, 11);
	ASSERT_DROP_CACHES();
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "f"), 8192, 11);
}

/* ---- O_DIRECT ---- */

static int open_direct(struct __test_metadata *_metadata, int dfd,
		       const char *name, int flags)
{
	int fd = openat(dfd, name, flags | O_DIRECT, 0644);

	if (fd < 0)
		TH_LOG("open(%s, O_DIRECT): %s", name, vfs_errname(errno));
	return fd;
}

#define OPEN_DIRECT_OR_SKIP(fd, dfd, name, flags) do {			\
	(fd) = open_direct(_metadata, (dfd), (name), (flags));		\
	if ((fd) < 0 && errno == EINVAL)				\
		SKIP(return, "O_DIRECT refused");			\
	ASSERT_LE(0, (fd));						\
} while (0)

static void direct_rw(struct __test_metadata *_metadata, struct vfs_dir *d,
		      size_t bs, int count)
{
	char *buf = aligned_buf(bs);
	int fd, i, bfd;
	struct stat st;

	ASSERT_NE(NULL, buf);
	OPEN_DIRECT_OR_SKIP(fd, d->fd, "f", O_RDWR | O_CREAT);
	/* blocks written out of order */
	for (i = count - 1; i >= 0; i -= 2) {
		vfs_fill(buf, bs, 12, (uint64_t)i * bs);
		ASSERT_EQ(bs, pwrite(fd, buf, bs, (off_t)i * bs));
	}
	for (i = count - 2; i >= 0; i -= 2) {
		vfs_fill(buf, bs, 12, (uint64_t)i * bs);
		ASSERT_EQ(bs, pwrite(fd, buf, bs, (off_t)i * bs));
	}
	ASSERT_SYS(fstat(fd, &st));
	EXPECT_EQ((off_t)bs * count, st.st_size);
	for (i = 0; i < count; i++) {
		memset(buf, 0, bs);
		ASSERT_EQ(bs, pread(fd, buf, bs, (off_t)i * bs));
		if (vfs_check(buf, bs, 12, (uint64_t)i * bs) >= 0)
			TH_LOG("O_DIRECT block %d of %zu bytes is wrong", i, bs);
		ASSERT_EQ(-1, vfs_check(buf, bs, 12, (uint64_t)i * bs));
	}
	/* a read crossing EOF is short */
	ASSERT_EQ(0, pread(fd, buf, bs, (off_t)bs * count));
	if (bs > 4096)
		ASSERT_EQ(4096, pread(fd, buf, bs, (off_t)bs * count - 4096));
	/* sequential O_DIRECT read() through the file position */
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	for (i = 0; i < count; i++) {
		ASSERT_EQ(bs, read(fd, buf, bs));
		ASSERT_EQ(-1, vfs_check(buf, bs, 12, (uint64_t)i * bs));
	}
	close(fd);

	/* buffered readers see the same bytes */
	bfd = ASSERT_SYS(openat(d->fd, "f", O_RDONLY));
	for (i = 0; i < count; i++) {
		ASSERT_EQ(bs, vfs_pread_all(bfd, buf, bs, (off_t)i * bs));
		ASSERT_EQ(-1, vfs_check(buf, bs, 12, (uint64_t)i * bs));
	}
	close(bfd);
	free(buf);
}

TEST_F(io, odirect_4k)
{
	direct_rw(_metadata, &self->d, 4096, 64);
}

TEST_F_TIMEOUT(io, odirect_1m, 120)
{
	direct_rw(_metadata, &self->d, MiB, 12);
}

TEST_F(io, odirect_mixed_buffered)
{
	const size_t len = 256 * KiB;
	char *buf = aligned_buf(len), *b2 = malloc(len);
	int dfd, bfd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, b2);
	bfd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	OPEN_DIRECT_OR_SKIP(dfd, self->d.fd, "f", O_RDWR);

	/* buffered write, direct read */
	vfs_fill(b2, 64 * KiB, 13, 0);
	ASSERT_EQ(64 * KiB, vfs_pwrite_all(bfd, b2, 64 * KiB, 0));
	ASSERT_EQ(64 * KiB, pread(dfd, buf, 64 * KiB, 0));
	EXPECT_EQ(-1, vfs_check(buf, 64 * KiB, 13, 0));

	/* direct write, buffered read */
	vfs_fill(buf, 64 * KiB, 14, 64 * KiB);
	ASSERT_EQ(64 * KiB, pwrite(dfd, buf, 64 * KiB, 64 * KiB));
	ASSERT_EQ(128 * KiB, vfs_pread_all(bfd, b2, 128 * KiB, 0));
	EXPECT_EQ(-1, vfs_check(b2, 64 * KiB, 13, 0));
	EXPECT_EQ(-1, vfs_check(b2 + 64 * KiB, 64 * KiB, 14, 64 * KiB));

	/* a direct write over pages the buffered fd has cached */
	vfs_fill(buf, 16 * KiB, 15, 16 * KiB);
	ASSERT_EQ(16 * KiB, pwrite(dfd, buf, 16 * KiB, 16 * KiB));
	ASSERT_EQ(128 * KiB, vfs_pread_all(bfd, b2, 128 * KiB, 0));
	EXPECT_EQ(-1, vfs_check(b2, 16 * KiB, 13, 0));
	EXPECT_EQ(-1, vfs_check(b2 + 16 * KiB, 16 * KiB, 15, 16 * KiB));
	EXPECT_EQ(-1, vfs_check(b2 + 32 * KiB, 32 * KiB, 13, 32 * KiB));

	/* a buffered write over a range, read directly */
	vfs_fill(b2, 100, 16, 70 * KiB + 3);
	ASSERT_EQ(100, pwrite(bfd, b2, 100, 70 * KiB + 3));
	ASSERT_EQ(4096, pread(dfd, buf, 4096, 70 * KiB));
	EXPECT_EQ(-1, vfs_check(buf, 3, 14, 70 * KiB));
	EXPECT_EQ(-1, vfs_check(buf + 3, 100, 16, 70 * KiB + 3));
	EXPECT_EQ(-1, vfs_check(buf + 103, 4096 - 103, 14, 70 * KiB + 103));
	close(dfd);
	close(bfd);

	/* after close/reopen, both ways of reading agree with the expectation */
	ASSERT_DROP_CACHES();
	bfd = ASSERT_SYS(openat(self->d.fd, "f", O_RDONLY));
	ASSERT_EQ(128 * KiB, vfs_pread_all(bfd, b2, len, 0));
	close(bfd);
	OPEN_DIRECT_OR_SKIP(dfd, self->d.fd, "f", O_RDONLY);
	ASSERT_EQ(128 * KiB, pread(dfd, buf, len, 0));
	close(dfd);
	EXPECT_EQ(0, memcmp(buf, b2, 128 * KiB));
	EXPECT_EQ(-1, vfs_check(buf, 16 * KiB, 13, 0));
	EXPECT_EQ(-1, vfs_check(buf + 16 * KiB, 16 * KiB, 15, 16 * KiB));
	EXPECT_EQ(-1, vfs_check(buf + 64 * KiB, 6 * KiB, 14, 64 * KiB));
	EXPECT_EQ(-1, vfs_check(buf + 70 * KiB + 3, 100, 16, 70 * KiB + 3));
	free(buf);
	free(b2);
}

/* ---- buffered I/O ---- */

TEST_F_TIMEOUT(io, sequential_64m, 300)
{
	const size_t total = 64 * MiB, wchunk = MiB, rchunk = 128 * KiB;
	char *buf = malloc(wchunk);
	uint64_t sum = 0, want = 0;
	double t0, t1, t2;
	size_t off;
	int fd;

	ASSERT_NE(NULL, buf);
	t0 = vfs_now();
	fd = ASSERT_SYS(openat(self->d.fd, "big", O_WRONLY | O_CREAT | O_TRUNC, 0644));
	for (off = 0; off < total; off += wchunk) {
		vfs_fill(buf, wchunk, 17, off);
		ASSERT_EQ(wchunk, write(fd, buf, wchunk));
	}
	ASSERT_SYS(fsync(fd));
	ASSERT_SYS(close(fd));
	t1 = vfs_now();

	ASSERT_DROP_CACHES();
	t2 = vfs_now();
	fd = ASSERT_SYS(openat(self->d.fd, "big", O_RDONLY));
	for (off = 0; off < total; off += rchunk) {
		long bad;
		size_t i;

		ASSERT_EQ(rchunk, vfs_pread_all(fd, buf, rchunk, off));
		bad = vfs_check(buf, rchunk, 17, off);
		if (bad >= 0)
			TH_LOG("byte %zu differs", off + bad);
		ASSERT_EQ(-1, bad);
		for (i = 0; i < rchunk; i += 8) {
			uint64_t w;

			memcpy(&w, buf + i, 8);
			sum = sum * 31 + w;
			want = want * 31 + vfs_mix64(((uint64_t)17 << 48) ^ ((off + i) >> 3));
		}
	}
	ASSERT_EQ(0, pread(fd, buf, 1, total));
	close(fd);
	EXPECT_EQ(want, sum);
	TH_LOG("64 MiB: write+fsync %.1f MiB/s, cold read %.1f MiB/s",
	       64 / (t1 - t0), 64 / (vfs_now() - t2));
	free(buf);
}

TEST_F(io, odd_offsets)
{
	static const struct { off_t off; size_t len; } w[] = {
		{ 1, 1 }, { 4095, 3 }, { 4097, 4097 }, { 65535, 12345 },
		{ 1000003, 333333 }, { 7, 65536 + 13 }, { 2 * MiB - 5, 5 },
		{ 131071, 2 }, { 1500000, 1 }, { 8191, 8193 },
	};
	static const struct { off_t off; size_t len; } r[] = {
		{ 0, 1 }, { 4094, 3 }, { 4093, 10000 }, { 65534, 12347 },
		{ 1333335, 7 }, { 2 * MiB - 9, 100 }, { 123457, 999999 },
	};
	char *shadow = calloc(1, 2 * MiB), *buf = malloc(2 * MiB);
	size_t size = 0;
	unsigned int i;
	int fd, pass;

	ASSERT_NE(NULL, shadow);
	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR | O_CREAT, 0644));
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		vfs_fill(shadow + w[i].off, w[i].len, 100 + i, w[i].off);
		ASSERT_EQ(w[i].len, pwrite(fd, shadow + w[i].off, w[i].len, w[i].off));
		if (w[i].off + w[i].len > size)
			size = w[i].off + w[i].len;
	}
	for (pass = 0; pass < 2; pass++) {
		struct stat st;

		ASSERT_SYS(fstat(fd, &st));
		EXPECT_EQ(size, st.st_size);
		memset(buf, 0xee, 2 * MiB);
		ASSERT_EQ(size, vfs_pread_all(fd, buf, 2 * MiB, 0));
		for (i = 0; i < size; i++)
			if (buf[i] != shadow[i])
				break;
		if (i < size)
			TH_LOG("pass %d: byte %u is %#x, expected %#x", pass, i,
			       buf[i] & 0xff, shadow[i] & 0xff);
		ASSERT_EQ(size, i);
		for (i = 0; i < ARRAY_SIZE(r); i++) {
			size_t want = r[i].off + r[i].len > size ?
				      size - r[i].off : r[i].len;

			ASSERT_EQ(want, pread(fd, buf, r[i].len, r[i].off));
			EXPECT_EQ(0, memcmp(buf, shadow + r[i].off, want));
		}
		/* second pass: from the device, not the page cache */
		close(fd);
		ASSERT_DROP_CACHES();
		fd = ASSERT_SYS(openat(self->d.fd, "f", O_RDWR));
	}
	close(fd);
	free(shadow);
	free(buf);
}

TEST_F(io, append_two_fds)
{
	char rec[16], *buf, *want;
	int fd1, fd2, i;
	struct stat st;

	buf = calloc(1, 4096);
	want = calloc(1, 4096);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, want);
	fd1 = ASSERT_SYS(openat(self->d.fd, "log", O_WRONLY | O_CREAT | O_APPEND, 0644));
	fd2 = ASSERT_SYS(openat(self->d.fd, "log", O_WRONLY | O_APPEND));
	ASSERT_EQ(4, write(fd1, "HDR\n", 4));
	strcpy(want, "HDR\n");
	for (i = 0; i < 200; i++) {
		snprintf(rec, sizeof(rec), "A%04d\n", i);
		ASSERT_EQ(6, write(fd1, rec, 6));
		strcat(want, rec);
		EXPECT_EQ((off_t)strlen(want), lseek(fd1, 0, SEEK_CUR));
		snprintf(rec, sizeof(rec), "B%04d\n", i);
		ASSERT_EQ(6, write(fd2, rec, 6));
		strcat(want, rec);
		EXPECT_EQ((off_t)strlen(want), lseek(fd2, 0, SEEK_CUR));
		if (strlen(want) > 3000)
			break;
	}
	/* a seek does not stop O_APPEND from writing at the end */
	ASSERT_EQ(0, lseek(fd1, 0, SEEK_SET));
	ASSERT_EQ(4, write(fd1, "END\n", 4));
	strcat(want, "END\n");
	close(fd1);
	close(fd2);

	ASSERT_SYS(fstatat(self->d.fd, "log", &st, 0));
	EXPECT_EQ((off_t)strlen(want), st.st_size);
	fd1 = ASSERT_SYS(openat(self->d.fd, "log", O_RDONLY));
	ASSERT_EQ(strlen(want), vfs_pread_all(fd1, buf, 4096, 0));
	EXPECT_STREQ(want, buf);
	close(fd1);
	free(buf);
	free(want);
}

#define APPEND_PROCS	2
#define APPEND_RECS	500
#define APPEND_RECLEN	64

TEST_F_TIMEOUT(io, append_two_processes, 120)
{
	const size_t total = APPEND_PROCS * APPEND_RECS * APPEND_RECLEN;
	char *buf = malloc(total + 1);
	int next[APPEND_PROCS] = { 0 };
	pid_t pid[APPEND_PROCS];
	size_t off;
	int p, fd;

	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "log", O_WRONLY | O_CREAT, 0644));
	close(fd);
	for (p = 0; p < APPEND_PROCS; p++) {
		pid[p] = fork();
		ASSERT_LE(0, pid[p]);
		if (!pid[p]) {
			char rec[APPEND_RECLEN + 1];
			int i, f = openat(self->d.fd, "log", O_WRONLY | O_APPEND);

			if (f < 0)
				_exit(1);
			for (i = 0; i < APPEND_RECS; i++) {
				memset(rec, ' ', sizeof(rec));
				snprintf(rec, sizeof(rec), "proc %d record %06d", p, i);
				rec[strlen(rec)] = ' ';
				rec[APPEND_RECLEN - 1] = '\n';
				if (write(f, rec, APPEND_RECLEN) != APPEND_RECLEN)
					_exit(2);
			}
			_exit(close(f) ? 3 : 0);
		}
	}
	for (p = 0; p < APPEND_PROCS; p++)
		ASSERT_CHILD_OK(pid[p], 100, "appender");

	fd = ASSERT_SYS(openat(self->d.fd, "log", O_RDONLY));
	ASSERT_EQ(total, vfs_pread_all(fd, buf, total + 1, 0));
	close(fd);
	/* every record whole, at a record boundary, each writer in order */
	for (off = 0; off < total; off += APPEND_RECLEN) {
		int wp, wi;

		if (sscanf(buf + off, "proc %d record %d", &wp, &wi) != 2 ||
		    wp < 0 || wp >= APPEND_PROCS || buf[off + APPEND_RECLEN - 1] != '\n') {
			TH_LOG("torn record at offset %zu: '%.20s'", off, buf + off);
			ASSERT_TRUE(0);
		}
		if (wi != next[wp])
			TH_LOG("offset %zu: proc %d record %d, expected %d", off,
			       wp, wi, next[wp]);
		ASSERT_EQ(next[wp], wi);
		next[wp]++;
	}
	for (p = 0; p < APPEND_PROCS; p++)
		EXPECT_EQ(APPEND_RECS, next[p]);
	free(buf);
}

TEST_F(io, copy_file_range_sendfile)
{
	const size_t len = MiB + 123;
	char *buf = malloc(len);
	loff_t in_off, out_off;
	ssize_t n, done;
	int in, out;

	ASSERT_NE(NULL, buf);
	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "src"), len, 18));
	in = ASSERT_SYS(openat(self->d.fd, "src", O_RDONLY));
	out = ASSERT_SYS(openat(self->d.fd, "dst", O_RDWR | O_CREAT, 0644));

	/* a range at odd offsets */
	in_off = 4103;
	out_off = 100;
	for (done = 0; done < 500000; done += n) {
		n = copy_file_range(in, &in_off, out, &out_off, 500000 - done, 0);
		if (n < 0 && !done && (vfs_unsupported(errno) || errno == EXDEV))
			SKIP(return, "copy_file_range: %s", vfs_errname(errno));
		ASSERT_LT(0, n);
	}
	EXPECT_EQ(4103 + 500000, in_off);
	EXPECT_EQ(100 + 500000, out_off);
	ASSERT_EQ(500100, vfs_pread_all(out, buf, len, 0));
	EXPECT_EQ(-1, vfs_check_zero(buf, 100));
	/* the source pattern, shifted */
	EXPECT_EQ(-1, vfs_check(buf + 100, 500000, 18, 4103));
	close(out);

	/* a whole file with sendfile */
	out = ASSERT_SYS(openat(self->d.fd, "dst2", O_WRONLY | O_CREAT, 0644));
	in_off = 0;
	for (done = 0; done < (ssize_t)len; done += n) {
		n = sendfile(out, in, &in_off, len - done);
		ASSERT_LT(0, n);
	}
	close(out);
	close(in);
	ASSERT_DROP_CACHES();
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "dst2"), len, 18);
	free(buf);
}

TEST_HARNESS_MAIN
