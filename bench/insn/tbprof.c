// SPDX-License-Identifier: GPL-2.0
/*
 * tbprof.so: a QEMU TCG plugin that counts the guest's instructions by the
 * start address of each translation block, between two marks the guest
 * sets. Noise-free where wall clock is not: a halted vCPU executes nothing,
 * so the counts are the CPU work the guest did, whatever the host was busy
 * with. See bench/README.rst, "Guest instructions per operation".
 *
 * Arguments: dir=DIR, the host side of the guest's share. The guest makes
 * DIR/.insn-start to zero the window and DIR/.insn-stop to end it; the
 * plugin then writes DIR/.insn-out.N (N = 0, 1, ...: one per window), a
 * line "PC INSNS EXECS" per block that ran, and removes the mark.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* One block start: its address, instructions, executions. */
struct block {
	uint64_t pc;
	uint64_t insns;
	uint64_t execs;		/* bumped inline by the translated code */
	uint64_t at_start;	/* @execs when the window opened */
};

#define NR_BLOCKS (1u << 20)	/* open addressing; a kernel uses ~100k */
static struct block *blocks;
static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *share;

static struct block *block_get(uint64_t pc, uint64_t insns)
{
	uint64_t h = (pc * 0x9e3779b97f4a7c15ull) ^ insns;
	unsigned int i;

	for (i = 0; i < NR_BLOCKS; i++) {
		struct block *b = &blocks[(h + i) & (NR_BLOCKS - 1)];

		if (b->pc == pc && b->insns == insns)
			return b;
		if (!b->pc) {
			b->pc = pc;
			b->insns = insns;
			return b;
		}
	}
	return NULL;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b;

	pthread_mutex_lock(&blocks_lock);
	b = block_get(qemu_plugin_tb_vaddr(tb), qemu_plugin_tb_n_insns(tb));
	pthread_mutex_unlock(&blocks_lock);
	if (b)
		qemu_plugin_register_vcpu_tb_exec_inline(tb,
				QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
}

static void window_write(const char *path)
{
	char tmp[4200];
	unsigned int i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	for (i = 0; i < NR_BLOCKS; i++) {
		struct block *b = &blocks[i];
		uint64_t n = b->execs - b->at_start;

		if (b->pc && n)
			fprintf(f, "%llx %llu %llu\n", (unsigned long long)b->pc,
				(unsigned long long)b->insns,
				(unsigned long long)n);
	}
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* Watch for the guest's marks every 20 ms. */
static void *mark_watcher(void *arg)
{
	char start[4096], stop[4096], out[4096];
	unsigned int i, window = 0;

	snprintf(start, sizeof(start), "%s/.insn-start", share);
	snprintf(stop, sizeof(stop), "%s/.insn-stop", share);
	for (;;) {
		usleep(20000);
		if (access(start, F_OK) == 0) {
			for (i = 0; i < NR_BLOCKS; i++)
				blocks[i].at_start = blocks[i].execs;
			unlink(start);
		}
		if (access(stop, F_OK) == 0) {
			snprintf(out, sizeof(out), "%s/.insn-out.%u", share,
				 window++);
			window_write(out);
			unlink(stop);
		}
	}
	return NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	pthread_t watcher;
	int i;

	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "dir=", 4))
			share = argv[i] + 4;
	if (!share) {
		fprintf(stderr, "tbprof: no dir=\n");
		return -1;
	}
	blocks = calloc(NR_BLOCKS, sizeof(*blocks));
	if (!blocks)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	if (pthread_create(&watcher, NULL, mark_watcher, NULL))
		return -1;
	pthread_detach(watcher);
	return 0;
}
