// SPDX-License-Identifier: GPL-2.0
/*
 * soak_test: many suspend cycles of every kind while 4 writers and 4
 * verifiers run a checksummed workload on the mount; nothing may be lost,
 * corrupted or fail unexpectedly.
 *
 * Writers publish generations of files: each is written block by block
 * (every 4 KiB block carries its writer, generation, index and a checksum
 * of its payload), fsynced, then renamed into place; old generations are
 * removed. Verifiers keep reading published files and check every block.
 * Meanwhile the main process suspends the guest $VFS_SOAK_CYCLES times,
 * the kinds taken in turn from $VFS_SOAK_MODES (mem, disk, s3, hib; default
 * "mem,disk,s3"); "hib" is a real hibernation with a new QEMU and
 * virtiofsd (it needs a harness boot with hibernation enabled).
 *
 * Afterwards the files are removed and the caches dropped; the objects
 * the driver tracks must be back within 8 of where they started (its own
 * count, debugfs session "nodes"), and so must its node slab cache within
 * 64 (a slab count is not exact).
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "vfs_test.h"
#include "vfs_host.h"

#define WRITERS 4
#define VERIFIERS 4
#define BLOCK 4096
#define BLOCKS 64
#define KEEP_GENS 8
#define SLAB_SLACK 64
#define NODE_SLACK 8

struct block_head {
	uint32_t magic;
	uint32_t writer;
	uint32_t gen;
	uint32_t index;
	uint64_t sum;
};

#define MAGIC 0x5041b10c

struct shared {
	volatile int stop;
	long long written[WRITERS];
	long long verified[VERIFIERS];
	long long benign[VERIFIERS];	/* files removed under a verifier */
};

static struct shared *sh;
static char dir[256];

static uint64_t block_sum(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void fill_block(unsigned char *b, int w, uint32_t gen, uint32_t i)
{
	struct block_head *h = (void *)b;

	vfs_fill(b + sizeof(*h), BLOCK - sizeof(*h), w * 100000 + gen, i * BLOCK);
	h->magic = MAGIC;
	h->writer = w;
	h->gen = gen;
	h->index = i;
	h->sum = block_sum(b + sizeof(*h), BLOCK - sizeof(*h));
}

/* 0 when every block of the file is consistent with (w, gen). */
static int check_file(int fd, int w, uint32_t gen)
{
	static unsigned char b[BLOCK];
	struct block_head *h = (void *)b;
	uint32_t i;

	for (i = 0; i < BLOCKS; i++) {
		if (vfs_pread_all(fd, b, BLOCK, (off_t)i * BLOCK) != BLOCK)
			return 1;
		if (h->magic != MAGIC || h->writer != (uint32_t)w ||
		    h->gen != gen || h->index != i ||
		    h->sum != block_sum(b + sizeof(*h), BLOCK - sizeof(*h)))
			return 2;
	}
	return 0;
}

static int writer(int w)
{
	static unsigned char b[BLOCK];
	char tmp[PATH_MAX], path[PATH_MAX];
	uint32_t gen, i;
	int fd;

	for (gen = 1; !sh->stop; gen++) {
		snprintf(tmp, sizeof(tmp), "%s/w%d.tmp", dir, w);
		snprintf(path, sizeof(path), "%s/w%d.g%u", dir, w, gen);
		fd = open(tmp, O_CREAT | O_TRUNC | O_RDWR, 0644);
		if (fd < 0) {
			fprintf(stderr, "writer %d: open: %s\n", w, vfs_errname(errno));
			return 1;
		}
		for (i = 0; i < BLOCKS; i++) {
			fill_block(b, w, gen, i);
			if (vfs_pwrite_all(fd, b, BLOCK, (off_t)i * BLOCK) != BLOCK) {
				fprintf(stderr, "writer %d: write: %s\n", w,
					vfs_errname(errno));
				return 2;
			}
		}
		if (fsync(fd) || check_file(fd, w, gen) || close(fd)) {
			fprintf(stderr, "writer %d: gen %u does not read back: %s\n",
				w, gen, vfs_errname(errno));
			return 3;
		}
		if (rename(tmp, path)) {
			fprintf(stderr, "writer %d: rename: %s\n", w, vfs_errname(errno));
			return 4;
		}
		if (gen > KEEP_GENS) {
			snprintf(path, sizeof(path), "%s/w%d.g%u", dir, w,
				 gen - KEEP_GENS);
			if (unlink(path)) {
				fprintf(stderr, "writer %d: unlink: %s\n", w,
					vfs_errname(errno));
				return 5;
			}
		}
		__atomic_add_fetch(&sh->written[w], 1, __ATOMIC_RELAXED);
	}
	return 0;
}

static int verifier(int v)
{
	unsigned int w;
	uint32_t gen;
	char path[PATH_MAX];
	int fd, ret;

	while (!sh->stop) {
		w = (v + sh->verified[v]) % WRITERS;
		gen = __atomic_load_n(&sh->written[w], __ATOMIC_RELAXED);
		if (!gen) {
			usleep(10000);
			continue;
		}
		snprintf(path, sizeof(path), "%s/w%u.g%u", dir, w, gen);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			/* The writer removed it meanwhile: fine, once in a while. */
			if (errno == ENOENT) {
				sh->benign[v]++;
				continue;
			}
			fprintf(stderr, "verifier %d: open %s: %s\n", v, path,
				vfs_errname(errno));
			return 1;
		}
		ret = check_file(fd, w, gen);
		close(fd);
		if (ret) {
			fprintf(stderr, "verifier %d: %s is corrupt (%d)\n", v,
				path, ret);
			return 2;
		}
		sh->verified[v]++;
	}
	return 0;
}

/* Active objects of the driver's node cache, or -1. */
static long slab_nodes(void)
{
	char line[512];
	long active = -1;
	FILE *f;

	/*
	 * SLUB counts the free objects of the per-CPU slabs as active in
	 * /proc/slabinfo; shrinking flushes those slabs to the node lists
	 * first, so that what is left is what the driver holds.
	 */
	f = fopen("/sys/kernel/slab/vtfs_node/shrink", "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "vtfs_node ", 10))
			active = atol(line + 10);
	fclose(f);
	return active;
}

static int cycle(const char *mode)
{
	if (!strcmp(mode, "hib"))
		return vfs_hibernate();
	setenv("VFS_SUSPEND", mode, 1);
	return vfs_suspend();
}

FIXTURE(soak) {
	int unused;
};

FIXTURE_SETUP(soak)
{
}

FIXTURE_TEARDOWN(soak)
{
}

TEST_F_TIMEOUT(soak, cycles_under_checksummed_io, 3600)
{
	const char *modes = getenv("VFS_SOAK_MODES") ?: "mem,disk,s3";
	int cycles = atoi(getenv("VFS_SOAK_CYCLES") ?: "10");
	pid_t pids[WRITERS + VERIFIERS];
	long slab0, slab1;
	long long nodes0, nodes1;
	long long total_w = 0, total_v = 0, benign = 0;
	char mode[16];
	const char *m;
	int i, failed = 0, status;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	ASSERT_EQ(0, vfs_drop_caches());
	slab0 = slab_nodes();
	nodes0 = vfs_driver_stat("session", "nodes");
	snprintf(dir, sizeof(dir), "%s/soak.%d", vfs_mnt(), getpid());
	ASSERT_EQ(0, mkdir(dir, 0755));

	for (i = 0; i < WRITERS + VERIFIERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			_exit(i < WRITERS ? writer(i) : verifier(i - WRITERS));
	}

	m = modes;
	for (i = 0; i < cycles; i++) {
		size_t n = strcspn(m, ",");
		int rc;

		snprintf(mode, sizeof(mode), "%.*s", (int)n, m);
		m = m[n] ? m + n + 1 : modes;
		usleep(300000 + (i % 5) * 200000);
		rc = cycle(mode);
		TH_LOG("cycle %d (%s): %s", i + 1, mode, rc ? vfs_errname(-rc) : "ok");
		if (rc)
			failed++;
	}
	sh->stop = 1;
	for (i = 0; i < WRITERS + VERIFIERS; i++) {
		status = vfs_wait_timeout(pids[i], 600);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("%s %d failed: status %#x",
			       i < WRITERS ? "writer" : "verifier",
			       i < WRITERS ? i : i - WRITERS, status);
			failed++;
		}
	}
	for (i = 0; i < WRITERS; i++)
		total_w += sh->written[i];
	for (i = 0; i < VERIFIERS; i++) {
		total_v += sh->verified[i];
		benign += sh->benign[i];
	}
	TH_LOG("%d cycles: %lld files written, %lld verified, %lld removed under a verifier",
	       cycles, total_w, total_v, benign);
	EXPECT_EQ(0, failed);
	EXPECT_LT(0, total_w);
	EXPECT_LT(0, total_v);

	/* Every published generation still there reads back whole. */
	ASSERT_EQ(0, vfs_drop_caches());
	for (i = 0; i < WRITERS; i++) {
		uint32_t gen = sh->written[i];
		char path[PATH_MAX];
		int fd;

		if (!gen)
			continue;
		snprintf(path, sizeof(path), "%s/w%d.g%u", dir, i, gen);
		fd = ASSERT_SYS(open(path, O_RDONLY));
		EXPECT_EQ(0, check_file(fd, i, gen)) TH_LOG("%s", path);
		close(fd);
	}

	/* The driver's state goes back down once the files are gone. */
	ASSERT_EQ(0, vfs_rm_rf(dir));
	ASSERT_EQ(0, vfs_drop_caches());
	usleep(500000);
	slab1 = slab_nodes();
	nodes1 = vfs_driver_stat("session", "nodes");
	TH_LOG("tracked nodes: %lld before, %lld after; vtfs_node slab objects: %ld before, %ld after",
	       nodes0, nodes1, slab0, slab1);
	ASSERT_LE(0, nodes0) TH_LOG("no debugfs session file");
	EXPECT_GE(nodes0 + NODE_SLACK, nodes1);
	if (slab0 >= 0)
		EXPECT_GE(slab0 + SLAB_SLACK, slab1);
}

TEST_HARNESS_MAIN
