// SPDX-License-Identifier: GPL-2.0
/*
 * Small directories (READDIR/READDIRPLUS contents and d_type, changes seen
 * after a rewind), deep paths, and FORGET/BATCH_FORGET: thousands of inodes
 * dropped from the guest's cache and looked up again.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "vfs_test.h"

#define NFORGET	3000

FIXTURE(dir) {
	struct vfs_dir d;
};

FIXTURE_SETUP(dir)
{
	umask(022);
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(dir)
{
	vfs_dir_teardown(&self->d);
}

struct ent {
	char name[256];
	unsigned char type;
	ino_t ino;
	int count;
};

/* List dir (relative to dfd) into e[]; returns the number of entries. */
static int list(int dfd, const char *dir, struct ent *e, int max)
{
	int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY);
	struct dirent *de;
	int n = 0, i;
	DIR *dp;

	if (fd < 0)
		return -1;
	dp = fdopendir(fd);
	if (!dp)
		return -1;
	while ((de = readdir(dp))) {
		for (i = 0; i < n; i++)
			if (!strcmp(e[i].name, de->d_name))
				break;
		if (i == n) {
			if (n == max)
				continue;
			snprintf(e[n].name, sizeof(e[n].name), "%s", de->d_name);
			e[n].type = de->d_type;
			e[n].ino = de->d_ino;
			e[n].count = 0;
			n++;
		}
		e[i].count++;
	}
	closedir(dp);
	return n;
}

static struct ent *find(struct ent *e, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

#define ASSERT_ENTRY(e, n, nm, dtype) ({				\
	struct ent *__x = find((e), (n), (nm));				\
	if (!__x)							\
		TH_LOG("'%s' is not listed", (nm));			\
	ASSERT_NE(NULL, __x);						\
	if (__x->count != 1 || __x->type != (dtype))			\
		TH_LOG("'%s': listed %d times with d_type %d, expected once with %d", \
		       (nm), __x->count, __x->type, (dtype));		\
	ASSERT_EQ(1, __x->count);					\
	ASSERT_EQ((dtype), __x->type);					\
	__x;								\
})

TEST_F(dir, readdir_empty)
{
	struct ent e[8];
	struct stat st, pst;
	struct ent *x;
	int n;

	n = list(self->d.fd, ".", e, 8);
	ASSERT_EQ(2, n);
	x = ASSERT_ENTRY(e, n, ".", DT_DIR);
	ASSERT_SYS(fstat(self->d.fd, &st));
	EXPECT_EQ(st.st_ino, x->ino);
	x = ASSERT_ENTRY(e, n, "..", DT_DIR);
	ASSERT_SYS(stat(vfs_mnt(), &pst));
	EXPECT_EQ(pst.st_ino, x->ino);

	/* an emptied directory is empty again */
	ASSERT_SYS(mkdirat(self->d.fd, "sub", 0755));
	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "sub/f"), 1, 1));
	ASSERT_SYS(unlinkat(self->d.fd, "sub/f", 0));
	n = list(self->d.fd, "sub", e, 8);
	EXPECT_EQ(2, n);
	EXPECT_EQ(NULL, find(e, n, "f"));
}

TEST_F(dir, readdir_types)
{
	struct ent e[16];
	struct stat st;
	struct ent *x;
	int n;

	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "file"), 10, 1));
	ASSERT_SYS(mkdirat(self->d.fd, "dir", 0755));
	ASSERT_SYS(symlinkat("file", self->d.fd, "link"));
	ASSERT_SYS(linkat(self->d.fd, "file", self->d.fd, "hard", 0));
	if (mkfifoat(self->d.fd, "fifo", 0644))
		TH_LOG("no FIFO in this listing: %s", vfs_errname(errno));

	for (int pass = 0; pass < 2; pass++) {
		n = list(self->d.fd, ".", e, 16);
		ASSERT_EQ(find(e, n, "fifo") ? 7 : 6, n);
		x = ASSERT_ENTRY(e, n, "file", DT_REG);
		ASSERT_SYS(fstatat(self->d.fd, "file", &st, 0));
		EXPECT_EQ(st.st_ino, x->ino);
		x = ASSERT_ENTRY(e, n, "hard", DT_REG);
		EXPECT_EQ(st.st_ino, x->ino);
		x = ASSERT_ENTRY(e, n, "dir", DT_DIR);
		ASSERT_SYS(fstatat(self->d.fd, "dir", &st, 0));
		EXPECT_EQ(st.st_ino, x->ino);
		x = ASSERT_ENTRY(e, n, "link", DT_LNK);
		ASSERT_SYS(fstatat(self->d.fd, "link", &st, AT_SYMLINK_NOFOLLOW));
		EXPECT_EQ(st.st_ino, x->ino);
		if (find(e, n, "fifo"))
			ASSERT_ENTRY(e, n, "fifo", DT_FIFO);
		ASSERT_ENTRY(e, n, ".", DT_DIR);
		ASSERT_ENTRY(e, n, "..", DT_DIR);
		/* second pass: from the device, nothing cached */
		ASSERT_DROP_CACHES();
	}
}

TEST_F(dir, readdir_sees_changes)
{
	char buf[4096];
	int seen_new = 0, seen_old = 0, seen_g = 0, total = 0;
	struct dirent *de;
	struct ent e[64];
	int fd, i, n;
	DIR *dp;

	for (i = 0; i < 20; i++)
		ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "f%02d", i), i, i));
	fd = ASSERT_SYS(openat(self->d.fd, ".", O_RDONLY | O_DIRECTORY));
	ASSERT_LT(0, syscall(SYS_getdents64, fd, buf, sizeof(buf)));

	/* change the directory under the open handle, then rewind */
	ASSERT_SYS(unlinkat(self->d.fd, "f05", 0));
	ASSERT_SYS(renameat(self->d.fd, "f06", self->d.fd, "g06"));
	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "new"), 3, 3));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	dp = fdopendir(fd);
	ASSERT_NE(NULL, dp);
	while ((de = readdir(dp))) {
		total++;
		seen_new += !strcmp(de->d_name, "new");
		seen_old += !strcmp(de->d_name, "f05") || !strcmp(de->d_name, "f06");
		seen_g += !strcmp(de->d_name, "g06");
	}
	closedir(dp);
	EXPECT_EQ(1, seen_new);
	EXPECT_EQ(0, seen_old);
	EXPECT_EQ(1, seen_g);
	EXPECT_EQ(2 + 20, total);
	n = list(self->d.fd, ".", e, 64);
	EXPECT_EQ(22, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(1, e[i].count);
}

TEST_F(dir, deep_path)
{
	char path[PATH_MAX] = "", rel[PATH_MAX];
	struct stat st, st2;
	int i, len = 0;

	for (i = 0; i < 60; i++) {
		len += snprintf(path + len, sizeof(path) - len, "%sd%02d", i ? "/" : "", i);
		ASSERT_SYS(mkdirat(self->d.fd, path, 0755));
	}
	snprintf(rel, sizeof(rel), "%s/leaf", path);
	ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "%s", rel), 4321, 44));
	ASSERT_SYS(fstatat(self->d.fd, rel, &st, 0));

	/* 61 LOOKUPs from the device, and the ".." chain back up */
	ASSERT_DROP_CACHES();
	ASSERT_SYS(fstatat(self->d.fd, rel, &st2, 0));
	EXPECT_EQ(st.st_ino, st2.st_ino);
	EXPECT_EQ(4321, st2.st_size);
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "%s", rel), 4321, 44);
	{
		char up[PATH_MAX];

		len = snprintf(up, sizeof(up), "%s", path);
		for (i = 0; i < 60; i++)
			len += snprintf(up + len, sizeof(up) - len, "/..");
		ASSERT_SYS(fstatat(self->d.fd, up, &st2, 0));
		ASSERT_SYS(fstat(self->d.fd, &st));
		EXPECT_EQ(st.st_ino, st2.st_ino);
	}
	/* rename the top of the chain: the leaf moves with it */
	ASSERT_SYS(renameat(self->d.fd, "d00", self->d.fd, "top"));
	memcpy(rel, "top", 3);
	ASSERT_FILE_PATTERN(vfs_path(&self->d, "top%s", rel + 3), 4321, 44);
}

/* active fuse_inode objects, from /proc/slabinfo; -1 if unknown */
static long fuse_inodes(void)
{
	char line[512];
	long active = -1;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		long a;

		if (sscanf(line, "%63s %ld", name, &a) == 2 &&
		    !strcmp(name, "fuse_inode"))
			active = a;
	}
	fclose(f);
	return active;
}

static size_t forget_size(int i)
{
	return (i * 37) % 4096 + 1;
}

TEST_F_TIMEOUT(dir, forget_3000, 900)
{
	char name[32];
	long before, after;
	int i, bad = 0;
	double t0 = vfs_now();

	ASSERT_SYS(mkdirat(self->d.fd, "many", 0755));
	for (i = 0; i < NFORGET; i++) {
		snprintf(name, sizeof(name), "many/f%04d", i);
		ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "%s", name),
					 forget_size(i), i));
	}
	TH_LOG("created %d files in %.1f s", NFORGET, vfs_now() - t0);

	/* evicting the inodes sends FORGETs for all of them */
	before = fuse_inodes();
	ASSERT_DROP_CACHES();
	/* inodes are freed after an RCU grace period: give it a moment */
	for (i = 0; i < 50; i++) {
		after = fuse_inodes();
		if (after < 0 || after + NFORGET * 9 / 10 <= before)
			break;
		usleep(100000);
	}
	TH_LOG("fuse_inode objects: %ld before, %ld after drop_caches", before, after);
	/* (only meaningful where the slab counts this mount's inodes) */
	if (before >= NFORGET && after >= 0)
		EXPECT_LE(after + NFORGET / 2, before);

	/* everything is still there with the right size: LOOKUP again */
	t0 = vfs_now();
	for (i = 0; i < NFORGET; i++) {
		struct stat st;

		snprintf(name, sizeof(name), "many/f%04d", i);
		if (fstatat(self->d.fd, name, &st, 0)) {
			if (!bad++)
				TH_LOG("%s: %s", name, vfs_errname(errno));
			continue;
		}
		if (!S_ISREG(st.st_mode) || st.st_size != (off_t)forget_size(i)) {
			if (!bad++)
				TH_LOG("%s: mode %o size %lld, expected a file of %zu",
				       name, st.st_mode, (long long)st.st_size,
				       forget_size(i));
		}
	}
	TH_LOG("looked up %d files in %.1f s", NFORGET, vfs_now() - t0);
	ASSERT_EQ(0, bad);
	for (i = 0; i < NFORGET; i += 10) {
		snprintf(name, sizeof(name), "many/f%04d", i);
		ASSERT_FILE_PATTERN(vfs_path(&self->d, "%s", name), forget_size(i), i);
	}

	/* a second round of forgets, then remove them all */
	ASSERT_DROP_CACHES();
	for (i = 0; i < NFORGET; i++) {
		snprintf(name, sizeof(name), "many/f%04d", i);
		if (unlinkat(self->d.fd, name, 0) && !bad++)
			TH_LOG("unlink %s: %s", name, vfs_errname(errno));
	}
	ASSERT_EQ(0, bad);
	ASSERT_SYS(unlinkat(self->d.fd, "many", AT_REMOVEDIR));
}

TEST_F(dir, forget_keeps_open_files)
{
	int fd[100], i;
	char name[32];

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		ASSERT_SYS(vfs_make_file(vfs_path(&self->d, "%s", name), 1000 + i, 500 + i));
		fd[i] = ASSERT_SYS(openat(self->d.fd, name, O_RDWR));
	}
	/* inodes in use survive a cache drop; their handles keep working */
	ASSERT_DROP_CACHES();
	for (i = 0; i < 100; i++) {
		char buf[1100];

		ASSERT_EQ(1000 + i, vfs_pread_all(fd[i], buf, sizeof(buf), 0));
		ASSERT_EQ(-1, vfs_check(buf, 1000 + i, 500 + i, 0));
		vfs_fill(buf, 50, 600 + i, 1000 + i);
		ASSERT_EQ(50, pwrite(fd[i], buf, 50, 1000 + i));
	}
	/* half of them unlinked while open, then all closed */
	for (i = 0; i < 100; i += 2) {
		snprintf(name, sizeof(name), "f%03d", i);
		ASSERT_SYS(unlinkat(self->d.fd, name, 0));
	}
	for (i = 0; i < 100; i++)
		ASSERT_SYS(close(fd[i]));
	ASSERT_DROP_CACHES();
	for (i = 0; i < 100; i++) {
		struct stat st;

		snprintf(name, sizeof(name), "f%03d", i);
		if (i % 2 == 0) {
			ASSERT_ERRNO(ENOENT, fstatat(self->d.fd, name, &st, 0));
			continue;
		}
		ASSERT_SYS(fstatat(self->d.fd, name, &st, 0));
		ASSERT_EQ(1050 + i, st.st_size);
		ASSERT_FILE_PATTERN(vfs_path(&self->d, "%s", name), 1000 + i, 500 + i);
	}
}

TEST_HARNESS_MAIN
