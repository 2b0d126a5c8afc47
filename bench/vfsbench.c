// SPDX-License-Identifier: GPL-2.0
/*
 * vfsbench: the guest side of the recovery benchmark (bench/run.sh).
 *
 *   vfsbench recover --session FILE --probe DIR [--cache DIR] [--hold DIR N]
 *                    [--reps R] [--tag NAME]
 *
 * 1. --cache DIR: list DIR and lstat() every entry, so that each one is a
 *    cached inode the driver tracks (the dentries stay in the dcache).
 * 2. --hold DIR N: open the first N entries of DIR (sorted by name)
 *    read-only and keep them open.
 * 3. R times: write "mem" to /sys/power/state (the caller has set up
 *    pm_test), then look up a name that does not exist in --probe DIR: the
 *    first request after the resume, which waits for the recovery. Then
 *    wait until the session file shows the new recovery and print one
 *    line of KEY=VALUE pairs:
 *
 *      tag= rep= suspend_us= first_req_us= record_wait_us= cache_us=
 *      cached= held= nodes_before= slab_*=... and every "name value"
 *      line of the session file
 *
 *    suspend_us is how long the write to /sys/power/state took (freeze,
 *    the pm_test pause, restore of every device), first_req_us the time
 *    from its return to the end of the probe's lookup.
 * 4. pread() one byte through every held descriptor: held_errors= counts
 *    the ones that failed (they should not).
 *
 * The vtfs_node line of /proc/slabinfo is read before step 1 and after
 * step 2 (slab_before_*, slab_after_*): the memory per tracked inode.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct slab {
	long active_objs, num_objs, objsize, objperslab, pagesperslab;
	long active_slabs, num_slabs;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
	fprintf(stderr, "vfsbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int read_slab(const char *name, struct slab *s)
{
	char line[512];
	size_t len = strlen(name);
	FILE *f = fopen("/proc/slabinfo", "r");
	int found = 0;

	memset(s, 0, sizeof(*s));
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, name, len) || line[len] != ' ')
			continue;
		if (sscanf(line + len, "%ld %ld %ld %ld %ld",
			   &s->active_objs, &s->num_objs, &s->objsize,
			   &s->objperslab, &s->pagesperslab) != 5)
			break;
		p = strstr(line, "slabdata");
		if (p)
			sscanf(p + 8, "%ld %ld", &s->active_slabs,
			       &s->num_slabs);
		found = 1;
		break;
	}
	fclose(f);
	return found;
}

static void print_slab(const char *pfx, const struct slab *s)
{
	printf(" %s_active_objs=%ld %s_num_objs=%ld %s_objsize=%ld"
	       " %s_objperslab=%ld %s_pagesperslab=%ld %s_num_slabs=%ld",
	       pfx, s->active_objs, pfx, s->num_objs, pfx, s->objsize,
	       pfx, s->objperslab, pfx, s->pagesperslab, pfx, s->num_slabs);
}

/* Append the session file's "name value" lines as name=value pairs. */
static void print_session(const char *path)
{
	char line[256], k[128], v[128];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf(" session_error=%d", errno);
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %127s", k, v) == 2)
			printf(" %s=%s", k, v);
	fclose(f);
}

static long long session_value(const char *path, const char *key)
{
	char line[256], k[128];
	long long v, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

static int session_live(const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	int live = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strcmp(line, "state live\n"))
			live = 1;
	fclose(f);
	return live;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in DIR (no dot entries), sorted; *n gets their count. */
static char **list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	if (!d)
		die(dir);
	*n = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void suspend_mem(void)
{
	int fd = open("/sys/power/state", O_WRONLY);

	if (fd < 0)
		die("/sys/power/state");
	if (write(fd, "mem", 3) != 3)
		die("write mem to /sys/power/state");
	close(fd);
}

static int usage(void)
{
	fprintf(stderr, "usage: vfsbench recover --session FILE --probe DIR "
		"[--cache DIR] [--hold DIR N] [--reps R] [--tag NAME]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *session = NULL, *probe = NULL, *cache = NULL;
	const char *hold = NULL, *tag = "-";
	long nhold = 0, reps = 1, cached = 0, i;
	long long cache_us = 0, nodes_before, t0;
	struct slab before, after;
	int *fds = NULL, have_slab;
	char path[4096];
	size_t n, k;
	char **names;

	if (argc < 2 || strcmp(argv[1], "recover"))
		return usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--session") && i + 1 < argc)
			session = argv[++i];
		else if (!strcmp(argv[i], "--probe") && i + 1 < argc)
			probe = argv[++i];
		else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
			cache = argv[++i];
		else if (!strcmp(argv[i], "--hold") && i + 2 < argc) {
			hold = argv[++i];
			nhold = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--tag") && i + 1 < argc)
			tag = argv[++i];
		else
			return usage();
	}
	if (!session || !probe || reps < 1)
		return usage();

	have_slab = read_slab("vtfs_node", &before);
	nodes_before = session_value(session, "nodes");

	if (cache) {
		struct stat st;

		t0 = now_us();
		names = list_dir(cache, &n);
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s/%s", cache, names[k]);
			if (lstat(path, &st) == 0)
				cached++;
			free(names[k]);
		}
		free(names);
		cache_us = now_us() - t0;
	}

	if (hold && nhold > 0) {
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < (rlim_t)nhold + 64) {
			rl.rlim_cur = nhold + 64;
			if (rl.rlim_max < rl.rlim_cur)
				rl.rlim_max = rl.rlim_cur;
			if (setrlimit(RLIMIT_NOFILE, &rl))
				die("setrlimit");
		}
		names = list_dir(hold, &n);
		if ((long)n < nhold) {
			fprintf(stderr, "vfsbench: %s has %zu entries, not %ld\n",
				hold, n, nhold);
			return 1;
		}
		fds = calloc(nhold, sizeof(*fds));
		for (i = 0; i < nhold; i++) {
			snprintf(path, sizeof(path), "%s/%s", hold, names[i]);
			fds[i] = open(path, O_RDONLY);
			if (fds[i] < 0)
				die(path);
		}
		for (k = 0; k < n; k++)
			free(names[k]);
		free(names);
	}
	if (have_slab)
		read_slab("vtfs_node", &after);

	for (i = 1; i <= reps; i++) {
		long long before_count = session_value(session, "recoveries");
		long long t1, t2, t3, waited;
		struct stat st;

		/* The probe's name is new every time: a LOOKUP on the wire. */
		snprintf(path, sizeof(path), "%s/.probe-%d-%ld", probe,
			 (int)getpid(), i);
		fflush(stdout);
		t0 = now_us();
		suspend_mem();
		t1 = now_us();
		if (lstat(path, &st) == 0 || errno != ENOENT)
			fprintf(stderr, "vfsbench: probe %s: %s\n", path,
				strerror(errno));
		t2 = now_us();
		/* The recovery ends in the background; wait for its record. */
		while (!(session_live(session) &&
			 session_value(session, "recoveries") > before_count)) {
			if (now_us() - t2 > 60000000LL) {
				fprintf(stderr, "vfsbench: no recovery recorded after 60 s\n");
				break;
			}
			usleep(10000);
		}
		t3 = now_us();
		waited = t3 - t2;
		printf("tag=%s rep=%ld suspend_us=%lld first_req_us=%lld"
		       " record_wait_us=%lld cache_us=%lld cached=%ld held=%ld"
		       " nodes_before=%lld",
		       tag, i, t1 - t0, t2 - t1, waited, cache_us, cached,
		       nhold, nodes_before);
		if (have_slab) {
			print_slab("slab_before", &before);
			print_slab("slab_after", &after);
		}
		print_session(session);
		if (i == reps) {
			long errs = 0;
			char c;

			for (k = 0; k < (size_t)nhold; k++)
				if (pread(fds[k], &c, 1, 0) < 0)
					errs++;
			printf(" held_errors=%ld", errs);
		}
		printf("\n");
		fflush(stdout);
	}
	for (i = 0; i < nhold; i++)
		close(fds[i]);
	free(fds);
	return 0;
}
