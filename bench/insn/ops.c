// SPDX-License-Identifier: GPL-2.0
/*
 * ops: the guest side of bench/insn. Runs N operations of one kind on the
 * share between the marks tbprof.so watches, and prints how many it did
 * per second.
 *
 *   ops pread  SHARE FILE N   4 KiB O_DIRECT reads at random offsets
 *   ops stat   SHARE DIR N    stat() of DIR/f.0 .. f.N-1, each entry expired
 *   ops create SHARE DIR N    open(O_CREAT) and close() of N new files
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Make SHARE/.insn-WHAT and give the plugin's 20 ms poll time to see it. */
static void mark(const char *share, const char *what)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/.insn-%s", share, what);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
	usleep(300000);
}

static int one(const char *mode, const char *dir, int fd, long blocks,
	       void *buf, int i)
{
	char path[4096];
	struct stat st;

	if (!strcmp(mode, "pread"))
		return pread(fd, buf, 4096, (off_t)(rand() % blocks) * 4096) ==
		       4096 ? 0 : -1;
	if (!strcmp(mode, "stat")) {
		snprintf(path, sizeof(path), "%s/f.%d", dir, i);
		return stat(path, &st);
	}
	snprintf(path, sizeof(path), "%s/c.%d", dir, i);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	return fd < 0 ? -1 : close(fd);
}

int main(int argc, char **argv)
{
	const char *mode, *share, *path;
	long blocks = 0;
	void *buf;
	double t0;
	int n, i, fd = -1;

	if (argc != 5 || (strcmp(argv[1], "pread") && strcmp(argv[1], "stat") &&
			  strcmp(argv[1], "create"))) {
		fprintf(stderr, "usage: ops pread|stat|create SHARE PATH N\n");
		return 2;
	}
	mode = argv[1];
	share = argv[2];
	path = argv[3];
	n = atoi(argv[4]);
	if (posix_memalign(&buf, 4096, 4096))
		return 1;
	srand(1);
	if (!strcmp(mode, "pread")) {
		fd = open(path, O_RDONLY | O_DIRECT);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		blocks = lseek(fd, 0, SEEK_END) / 4096;
		if (blocks <= 0)
			return 1;
		for (i = 0; i < 200; i++)	/* warm up */
			one(mode, path, fd, blocks, buf, i);
	} else if (!strcmp(mode, "stat")) {
		/* Look every file up, then let the entries expire (1 s). */
		for (i = 0; i < n; i++)
			if (one(mode, path, fd, blocks, buf, i)) {
				perror(path);
				return 1;
			}
		usleep(1300000);
	}
	mark(share, "start");
	t0 = now();
	for (i = 0; i < n; i++)
		if (one(mode, path, fd, blocks, buf, i)) {
			perror(mode);
			return 1;
		}
	t0 = now() - t0;
	mark(share, "stop");
	printf("%s n %d per_s %.0f\n", mode, n, n / t0);
	return 0;
}
