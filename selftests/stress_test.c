// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: eight writer processes, each with its own file and its own
 * regions of one shared file, then a separate pass that checks every byte
 * (patterns derived from writer id and offset). Variants: buffered writes of
 * an odd chunk size, O_DIRECT, and 1000-byte stripes interleaved between the
 * writers so that neighbours share pages. Plus concurrent namespace changes
 * in one directory.
 */
#define _GNU_SOURCE
#include "vfs_test.h"

#define NW	8
#define KiB	1024UL
#define MiB	(1024UL * 1024UL)

FIXTURE(st) {
	struct vfs_dir d;
};

struct wparams {
	int direct;		/* O_DIRECT for both files */
	size_t own_chunk;	/* write size for the writer's own file */
	size_t own_size;
	size_t stripe;		/* shared file write size */
	size_t region;		/* shared file bytes per writer; 0: stripes */
};

FIXTURE_VARIANT(st) {
	struct wparams p;
};

/* buffered writes of an odd size, one region of the shared file each */
FIXTURE_VARIANT_ADD(st, buffered) {
	.p = { .direct = 0, .own_chunk = 12345, .own_size = 2 * MiB,
	       .stripe = 12345, .region = 2 * MiB },
};

FIXTURE_VARIANT_ADD(st, odirect) {
	.p = { .direct = 1, .own_chunk = 64 * KiB, .own_size = 2 * MiB,
	       .stripe = 64 * KiB, .region = 2 * MiB },
};

/* 1000-byte stripes, writer k owns stripes k, k + 8, ...: shared pages */
FIXTURE_VARIANT_ADD(st, stripes) {
	.p = { .direct = 0, .own_chunk = 64 * KiB, .own_size = MiB,
	       .stripe = 1000, .region = 0 },
};

FIXTURE_SETUP(st)
{
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(st)
{
	vfs_dir_teardown(&self->d);
}

#define SHARED_STRIPED_SIZE	(4 * MiB)

static size_t shared_size(const struct wparams *v)
{
	return v->region ? NW * v->region : SHARED_STRIPED_SIZE;
}

/* Which writer owns shared-file offset off. */
static int owner_of(const struct wparams *v, size_t off)
{
	if (v->region)
		return off / v->region;
	return (off / v->stripe) % NW;
}

static uint32_t own_seed(int w)
{
	return 1000 + w;
}

static uint32_t shared_seed(int w)
{
	return 2000 + w;
}

/* Offset of the k-th chunk writer w owns in the shared file, or -1. */
static long chunk_off(const struct wparams *v, int w, size_t k)
{
	size_t off;

	if (v->region) {
		off = w * v->region + k * v->stripe;
		return off < (w + 1) * v->region ? (long)off : -1;
	}
	off = (w + k * NW) * v->stripe;
	return off < SHARED_STRIPED_SIZE ? (long)off : -1;
}

static size_t chunk_len(const struct wparams *v, int w, size_t off)
{
	size_t end = v->region ? (w + 1) * v->region : SHARED_STRIPED_SIZE;

	return end - off < v->stripe ? end - off : v->stripe;
}

/* Writer w; returns an exit code (0 = all written). */
static int writer(int dfd, int w, const struct wparams *v)
{
	size_t nchunks = 0, k, own_off = 0;
	int flags = O_WRONLY | (v->direct ? O_DIRECT : 0);
	char name[32], *buf = NULL;
	int own, sh;

	if (posix_memalign((void **)&buf, 4096, v->own_chunk > v->stripe ?
			   v->own_chunk : v->stripe))
		return 10;
	snprintf(name, sizeof(name), "own.%d", w);
	own = openat(dfd, name, flags | O_CREAT, 0644);
	sh = openat(dfd, "shared", flags);
	if (own < 0 || sh < 0)
		return 11;
	while (chunk_off(v, w, nchunks) >= 0)
		nchunks++;

	/* alternate own and shared writes; odd writers go backwards */
	for (k = 0; k < nchunks || own_off < v->own_size; k++) {
		if (own_off < v->own_size) {
			size_t n = v->own_size - own_off < v->own_chunk ?
				   v->own_size - own_off : v->own_chunk;

			vfs_fill(buf, n, own_seed(w), own_off);
			if (pwrite(own, buf, n, own_off) != (ssize_t)n)
				return 12;
			own_off += n;
		}
		if (k < nchunks) {
			size_t off = chunk_off(v, w, w & 1 ? nchunks - 1 - k : k);
			size_t n = chunk_len(v, w, off);

			vfs_fill(buf, n, shared_seed(w), off);
			if (pwrite(sh, buf, n, off) != (ssize_t)n)
				return 13;
		}
	}
	if (fsync(own) || close(own) || close(sh))
		return 14;
	free(buf);
	return 0;
}

TEST_F_TIMEOUT(st, writers8, 600)
{
	size_t sz = shared_size(&variant->p), off;
	char *buf = malloc(MiB);
	pid_t pid[NW];
	double t0;
	int w, fd;

	ASSERT_NE(NULL, buf);
	fd = ASSERT_SYS(openat(self->d.fd, "shared", O_WRONLY | O_CREAT, 0644));
	close(fd);
	t0 = vfs_now();
	for (w = 0; w < NW; w++) {
		pid[w] = fork();
		ASSERT_LE(0, pid[w]);
		if (!pid[w])
			_exit(writer(self->d.fd, w, &variant->p));
	}
	for (w = 0; w < NW; w++) {
		char what[32];

		snprintf(what, sizeof(what), "writer %d", w);
		ASSERT_CHILD_OK(pid[w], 500, what);
	}
	TH_LOG("%d writers done in %.1f s", NW, vfs_now() - t0);

	/* separate verification pass, from the device */
	ASSERT_DROP_CACHES();
	for (w = 0; w < NW; w++) {
		char name[32];
		struct stat st;

		snprintf(name, sizeof(name), "own.%d", w);
		ASSERT_SYS(fstatat(self->d.fd, name, &st, 0));
		EXPECT_EQ(variant->p.own_size, st.st_size);
		ASSERT_FILE_PATTERN(vfs_path(&self->d, "%s", name), variant->p.own_size,
				    own_seed(w));
	}
	fd = ASSERT_SYS(openat(self->d.fd, "shared", O_RDONLY));
	{
		struct stat st;

		ASSERT_SYS(fstat(fd, &st));
		EXPECT_EQ(sz, st.st_size);
	}
	for (off = 0; off < sz; off += MiB) {
		size_t n = sz - off < MiB ? sz - off : MiB, i = 0;

		ASSERT_EQ(n, vfs_pread_all(fd, buf, n, off));
		/* check run by run: each run belongs to one writer */
		while (i < n) {
			int w2 = owner_of(&variant->p, off + i);
			size_t run = i + 1;
			long bad;

			while (run < n && owner_of(&variant->p, off + run) == w2)
				run++;
			bad = vfs_check(buf + i, run - i, shared_seed(w2), off + i);
			if (bad >= 0)
				TH_LOG("shared byte %zu (writer %d's) is wrong", off + i + bad, w2);
			ASSERT_EQ(-1, bad);
			i = run;
		}
	}
	close(fd);
	free(buf);
}

#define NP	8
#define NF	120

/* Process p: create NF files, rename the odd ones, unlink every third. */
static int namespace_worker(int dfd, int p)
{
	char a[32], b[32];
	int j, fd;

	for (j = 0; j < NF; j++) {
		snprintf(a, sizeof(a), "p%d_%d", p, j);
		fd = openat(dfd, a, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return 1;
		if (write(fd, a, strlen(a)) != (ssize_t)strlen(a) || close(fd))
			return 2;
	}
	for (j = 1; j < NF; j += 2) {
		snprintf(a, sizeof(a), "p%d_%d", p, j);
		snprintf(b, sizeof(b), "p%d_%d.r", p, j);
		if (renameat(dfd, a, dfd, b))
			return 3;
	}
	for (j = 0; j < NF; j += 3) {
		snprintf(a, sizeof(a), j % 2 ? "p%d_%d.r" : "p%d_%d", p, j);
		if (unlinkat(dfd, a, 0))
			return 4;
	}
	return 0;
}

FIXTURE(ns) {
	struct vfs_dir d;
};

FIXTURE_SETUP(ns)
{
	vfs_dir_setup(&self->d);
}

FIXTURE_TEARDOWN(ns)
{
	vfs_dir_teardown(&self->d);
}

TEST_F_TIMEOUT(ns, concurrent_namespace, 300)
{
	static unsigned char seen[NP][NF];
	int p, j, extra = 0, fd;
	struct dirent *de;
	pid_t pid[NP];
	DIR *dp;

	for (p = 0; p < NP; p++) {
		pid[p] = fork();
		ASSERT_LE(0, pid[p]);
		if (!pid[p])
			_exit(namespace_worker(self->d.fd, p));
	}
	for (p = 0; p < NP; p++)
		ASSERT_CHILD_OK(pid[p], 250, "namespace worker");

	ASSERT_DROP_CACHES();
	fd = ASSERT_SYS(openat(self->d.fd, ".", O_RDONLY | O_DIRECTORY));
	dp = fdopendir(fd);
	ASSERT_NE(NULL, dp);
	while ((de = readdir(dp))) {
		int renamed = !!strstr(de->d_name, ".r");

		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "p%d_%d", &p, &j) != 2 || p < 0 ||
		    p >= NP || j < 0 || j >= NF || renamed != (j % 2)) {
			if (!extra++)
				TH_LOG("unexpected entry '%s'", de->d_name);
			continue;
		}
		seen[p][j]++;
	}
	closedir(dp);
	EXPECT_EQ(0, extra);
	for (p = 0; p < NP; p++) {
		for (j = 0; j < NF; j++) {
			int want = j % 3 != 0;
			char name[32], buf[32];

			if (seen[p][j] != want)
				TH_LOG("p%d_%d: listed %d times, expected %d", p, j,
				       seen[p][j], want);
			ASSERT_EQ(want, seen[p][j]);
			if (!want)
				continue;
			/* the content is the name the file was created with */
			snprintf(name, sizeof(name), j % 2 ? "p%d_%d.r" : "p%d_%d", p, j);
			fd = ASSERT_SYS(openat(self->d.fd, name, O_RDONLY));
			memset(buf, 0, sizeof(buf));
			ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
			close(fd);
			name[strcspn(name, ".")] = '\0';
			EXPECT_STREQ(name, buf);
		}
	}
}

TEST_HARNESS_MAIN
