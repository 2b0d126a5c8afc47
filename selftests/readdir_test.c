// SPDX-License-Identifier: GPL-2.0
/*
 * Large directories: OPENDIR, READDIR or READDIRPLUS (run the program under
 * both: virtiofsd -o no_readdirplus turns the latter off), RELEASEDIR and
 * directory offsets.
 *
 * The 10,000-entry directory is built once per run of this program by the
 * first test and is read-only input to the following ones (building it
 * costs tens of seconds under TCG); the last test removes it entry by
 * entry. Every test still gets its own fresh directory for anything else.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "vfs_test.h"

#define NBIG		10000
#define MAX_NAME	48

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

FIXTURE(big) {
	struct vfs_dir d;
	char big[512];
};

/*
 * The big directory is shared by the tests of one run: named after the
 * harness's main process (tests run in children, or grandchildren on later
 * kselftest harnesses, which inherit this).
 */
static pid_t big_owner;

static void __attribute__((constructor)) big_owner_init(void)
{
	big_owner = getpid();
}

FIXTURE_SETUP(big)
{
	vfs_dir_setup(&self->d);
	snprintf(self->big, sizeof(self->big), "%s/readdir_test.big.%d",
		 vfs_mnt(), big_owner);
}

FIXTURE_TEARDOWN(big)
{
	vfs_dir_teardown(&self->d);
}

/* Entry i: e00000 .. e09999 plus 0..36 'x' so record lengths vary. */
static void name_of(int i, char *buf)
{
	static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

	snprintf(buf, MAX_NAME, "e%05d%.*s", i, i % 37, xs);
}

static unsigned char type_of(int i)
{
	switch (i % 1000) {
	case 1:
		return DT_DIR;
	case 2:
		return DT_LNK;
	default:
		return DT_REG;
	}
}

/* Index of a well-formed name, -1 for "." and "..", -2 otherwise. */
static int index_of(const char *name)
{
	char want[MAX_NAME];
	int i;

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -1;
	if (name[0] != 'e' || strlen(name) < 6 || sscanf(name + 1, "%5d", &i) != 1 ||
	    i < 0 || i >= NBIG)
		return -2;
	name_of(i, want);
	return strcmp(want, name) ? -2 : i;
}

static void marker_path(const char *big, char *out)
{
	snprintf(out, 600, "%s.complete", big);
}

/*
 * Build the big directory unless a complete one is there. 0 or -errno;
 * *what names the step that failed.
 */
static int big_build(const char *big, const char **what)
{
	char mark[600], name[MAX_NAME];
	struct stat st;
	int dfd, i, r;

	marker_path(big, mark);
	if (!stat(mark, &st))
		return 0;
	vfs_rm_rf(big);
	*what = "mkdir";
	if (mkdir(big, 0755))
		return -errno;
	dfd = open(big, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (i = 0; i < NBIG; i++) {
		name_of(i, name);
		switch (type_of(i)) {
		case DT_DIR:
			*what = "mkdir entry";
			r = mkdirat(dfd, name, 0755);
			break;
		case DT_LNK:
			*what = "symlink entry";
			r = symlinkat("target", dfd, name);
			break;
		default:
			*what = "mknod entry";
			r = mknodat(dfd, name, S_IFREG | 0644, 0);
			break;
		}
		if (r) {
			r = -errno;
			close(dfd);
			return r;
		}
	}
	close(dfd);
	*what = "marker";
	r = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (r < 0)
		return -errno;
	close(r);
	return 0;
}

#define BIG_ENSURE() do {						\
	const char *__what = "";					\
	double __t = vfs_now();						\
	int __r = big_build(self->big, &__what);			\
	if (__r)							\
		TH_LOG("building %s: %s failed: %s", self->big, __what,	\
		       vfs_errname(-__r));				\
	ASSERT_EQ(0, __r);						\
	if (vfs_now() - __t > 1)					\
		TH_LOG("built %d entries in %.1f s", NBIG, vfs_now() - __t); \
} while (0)

struct listing {
	int total;		/* records, "." and ".." included */
	int ndots;
	int nbad;		/* malformed names or wrong d_type */
	int calls;		/* getdents64 calls that returned records */
	int order[NBIG + 16];	/* index per record, -1 for dots */
	int64_t off[NBIG + 16];	/* d_off per record */
	uint64_t ino[NBIG + 16];
	unsigned char seen[NBIG];
	char bad[256];
};

/*
 * One getdents64 call of bufsz bytes on fd, records appended to l.
 * Returns the bytes the call returned (0 at EOF) or -errno.
 */
static long list_chunk(int fd, size_t bufsz, struct listing *l)
{
	static char buf[1 << 16];
	long n, pos = 0;

	if (bufsz > sizeof(buf))
		bufsz = sizeof(buf);
	n = syscall(SYS_getdents64, fd, buf, bufsz);
	if (n < 0)
		return -errno;
	if (n > 0)
		l->calls++;
	while (pos < n) {
		struct linux_dirent64 *de = (void *)(buf + pos);
		int i = index_of(de->d_name);

		pos += de->d_reclen;
		if (l->total >= NBIG + 16) {
			l->nbad++;
			snprintf(l->bad, sizeof(l->bad), "more than %d records",
				 NBIG + 16);
			continue;
		}
		l->order[l->total] = i;
		l->off[l->total] = de->d_off;
		l->ino[l->total] = de->d_ino;
		l->total++;
		if (i == -1) {
			l->ndots++;
			if (de->d_type != DT_DIR && !l->nbad++)
				snprintf(l->bad, sizeof(l->bad),
					 "%s has d_type %d", de->d_name, de->d_type);
			continue;
		}
		if (i == -2) {
			if (!l->nbad++)
				snprintf(l->bad, sizeof(l->bad),
					 "unexpected name '%s'", de->d_name);
			continue;
		}
		if (l->seen[i] < 255)
			l->seen[i]++;
		if (de->d_type != type_of(i) && !l->nbad++)
			snprintf(l->bad, sizeof(l->bad),
				 "%s: d_type %d, expected %d", de->d_name,
				 de->d_type, type_of(i));
	}
	return n;
}

/* Read records from fd until EOF into l (appending). 0 or -errno. */
static int list_fd(int fd, size_t bufsz, struct listing *l)
{
	long n;

	do {
		n = list_chunk(fd, bufsz, l);
	} while (n > 0);
	return n;
}

/* Every index exactly once, both dots, nothing else. */
#define ASSERT_COMPLETE(l) do {						\
	int __i, __missing = 0, __dup = 0, __fm = -1, __fd = -1;	\
	for (__i = 0; __i < NBIG; __i++) {				\
		if (!(l)->seen[__i] && !__missing++)			\
			__fm = __i;					\
		if ((l)->seen[__i] > 1 && !__dup++)			\
			__fd = __i;					\
	}								\
	if (__missing || __dup || (l)->nbad || (l)->ndots != 2)	\
		TH_LOG("listing: %d records, %d missing (first e%05d), " \
		       "%d duplicated (first e%05d), %d dots, %d bad (%s)", \
		       (l)->total, __missing, __fm, __dup, __fd,	\
		       (l)->ndots, (l)->nbad, (l)->bad);		\
	ASSERT_EQ(0, __missing);					\
	ASSERT_EQ(0, __dup);						\
	ASSERT_EQ(0, (l)->nbad);					\
	ASSERT_EQ(2, (l)->ndots);					\
	ASSERT_EQ(NBIG + 2, (l)->total);				\
} while (0)

static struct listing *new_listing(void)
{
	return calloc(1, sizeof(struct listing));
}

TEST_F_TIMEOUT(big, create_10000, 900)
{
	struct stat st;

	BIG_ENSURE();
	ASSERT_SYS(stat(self->big, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	/* ten subdirectories: nlink 2 + 10 on a host fs that counts them */
	if (st.st_nlink != 1)
		EXPECT_EQ(2 + NBIG / 1000, st.st_nlink);
}

TEST_F_TIMEOUT(big, getdents_10000, 600)
{
	struct listing *l = new_listing();
	int fd;

	ASSERT_NE(NULL, l);
	BIG_ENSURE();
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, list_fd(fd, 32768, l));
	ASSERT_COMPLETE(l);
	/* at EOF it stays at EOF */
	{
		char b[4096];

		ASSERT_EQ(0, syscall(SYS_getdents64, fd, b, sizeof(b)));
	}
	close(fd);
	free(l);
}

TEST_F_TIMEOUT(big, getdents_small_buffers, 600)
{
	struct listing *l = new_listing();
	char tiny[16];
	int fd;

	ASSERT_NE(NULL, l);
	BIG_ENSURE();
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	/* too small for any record */
	ASSERT_ERRNO(EINVAL, syscall(SYS_getdents64, fd, tiny, sizeof(tiny)));
	/* room for one or two records per call */
	ASSERT_EQ(0, list_fd(fd, 80, l));
	ASSERT_COMPLETE(l);
	EXPECT_LE(NBIG / 2, l->calls);
	close(fd);

	/* and a large buffer, reopened */
	memset(l, 0, sizeof(*l));
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, list_fd(fd, 65536, l));
	ASSERT_COMPLETE(l);
	close(fd);
	free(l);
}

TEST_F_TIMEOUT(big, getdents_after_drop_caches, 600)
{
	struct listing *l = new_listing();
	char name[MAX_NAME], path[600];
	int fd, k, mism = 0;
	struct stat st;

	ASSERT_NE(NULL, l);
	BIG_ENSURE();
	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, list_fd(fd, 32768, l));
	ASSERT_COMPLETE(l);
	close(fd);

	/* d_ino agrees with what a lookup of the name reports */
	for (k = 0; k < l->total; k += 37) {
		int i = l->order[k];

		if (i < 0)
			continue;
		name_of(i, name);
		snprintf(path, sizeof(path), "%s/%s", self->big, name);
		ASSERT_SYS(lstat(path, &st));
		if (st.st_ino != l->ino[k] && !mism++)
			TH_LOG("%s: d_ino %llu, st_ino %llu", name,
			       (unsigned long long)l->ino[k],
			       (unsigned long long)st.st_ino);
	}
	EXPECT_EQ(0, mism);

	/* a second pass after another drop, listing with small buffers */
	ASSERT_DROP_CACHES();
	memset(l, 0, sizeof(*l));
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, list_fd(fd, 1024, l));
	ASSERT_COMPLETE(l);
	close(fd);
	free(l);
}

TEST_F_TIMEOUT(big, seek_to_saved_offsets, 600)
{
	static const int starts[] = { 0, 1, 2, 3, 777, 5000, 9001, NBIG, NBIG + 1, NBIG + 2 };
	struct listing *l = new_listing(), *l2 = new_listing();
	unsigned int s;
	int fd;

	ASSERT_NE(NULL, l);
	ASSERT_NE(NULL, l2);
	BIG_ENSURE();
	fd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	ASSERT_EQ(0, list_fd(fd, 4096, l));
	ASSERT_COMPLETE(l);

	for (s = 0; s < ARRAY_SIZE(starts); s++) {
		int k = starts[s], j;
		off_t want = k ? l->off[k - 1] : 0;

		/* resume after record k-1: the rest comes, in the same order */
		ASSERT_EQ(want, lseek(fd, want, SEEK_SET));
		memset(l2, 0, sizeof(*l2));
		ASSERT_EQ(0, list_fd(fd, 4096, l2));
		if (l2->total != l->total - k)
			TH_LOG("resume at record %d (d_off %lld): %d records, expected %d",
			       k, (long long)want, l2->total, l->total - k);
		ASSERT_EQ(l->total - k, l2->total);
		for (j = 0; j < l2->total; j++) {
			if (l2->order[j] != l->order[k + j]) {
				TH_LOG("resume at record %d: record %d is %d, expected %d",
				       k, j, l2->order[j], l->order[k + j]);
				ASSERT_EQ(l->order[k + j], l2->order[j]);
			}
		}
	}

	/* telldir/seekdir through the C library: same offsets again */
	{
		DIR *dp = fdopendir(fd);
		long pos;
		struct dirent *de;
		char first[256];
		int i;

		ASSERT_NE(NULL, dp);
		rewinddir(dp);
		for (i = 0; i < 4321; i++)
			ASSERT_NE(NULL, readdir(dp));
		pos = telldir(dp);
		de = readdir(dp);
		ASSERT_NE(NULL, de);
		snprintf(first, sizeof(first), "%s", de->d_name);
		for (i = 0; i < 1000; i++)
			ASSERT_NE(NULL, readdir(dp));
		seekdir(dp, pos);
		de = readdir(dp);
		ASSERT_NE(NULL, de);
		EXPECT_STREQ(first, de->d_name);
		closedir(dp);
	}
	free(l);
	free(l2);
}

TEST_F_TIMEOUT(big, two_fds_interleaved, 600)
{
	struct listing *a = new_listing(), *b = new_listing();
	int fa, fb, done_a = 0, done_b = 0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	BIG_ENSURE();
	fa = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	fb = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	/* alternate one chunk from each open directory */
	while (!done_a || !done_b) {
		long n;

		if (!done_a) {
			n = list_chunk(fa, 2048, a);
			ASSERT_LE(0, n);
			done_a = !n;
		}
		if (!done_b) {
			n = list_chunk(fb, 3000, b);
			ASSERT_LE(0, n);
			done_b = !n;
		}
	}
	ASSERT_COMPLETE(a);
	ASSERT_COMPLETE(b);
	close(fa);
	close(fb);
	free(a);
	free(b);
}

TEST_F_TIMEOUT(big, unlink_10000, 900)
{
	struct listing *l = new_listing();
	char name[MAX_NAME], mark[600];
	int dfd, i, fails = 0;

	ASSERT_NE(NULL, l);
	BIG_ENSURE();
	dfd = ASSERT_SYS(open(self->big, O_RDONLY | O_DIRECTORY));
	for (i = 0; i < NBIG; i++) {
		name_of(i, name);
		if (unlinkat(dfd, name, type_of(i) == DT_DIR ? AT_REMOVEDIR : 0) &&
		    !fails++)
			TH_LOG("unlink %s: %s", name, vfs_errname(errno));
	}
	ASSERT_EQ(0, fails);
	ASSERT_EQ(0, list_fd(dfd, 32768, l));
	EXPECT_EQ(2, l->total);
	EXPECT_EQ(2, l->ndots);
	close(dfd);
	marker_path(self->big, mark);
	ASSERT_SYS(unlink(mark));
	ASSERT_SYS(rmdir(self->big));
	free(l);
}

TEST_HARNESS_MAIN
