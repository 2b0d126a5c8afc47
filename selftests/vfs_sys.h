/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for tests that look at the system around the mount: settings
 * from the environment, /proc/mounts, shell commands with a deadline, the
 * kernel log and the driver's debugfs directory. Include after vfs_test.h.
 */
#ifndef VFS_SYS_H
#define VFS_SYS_H

#include <sys/klog.h>

#include "vfs_test.h"

/* $name, or def when it is unset or empty. */
static inline const char *vfs_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* The file system type of the mount: $VFS_FSTYPE, default virtiofs. */
#define VFS_FSTYPE	vfs_env("VFS_FSTYPE", "virtiofs")

/*
 * How many times dir is a mount point of type $VFS_FSTYPE in /proc/mounts
 * (with source tag, unless tag is NULL); -1 if it cannot be read.
 */
static inline int vfs_mounted(const char *tag, const char *dir)
{
	char src[256], mnt[PATH_MAX], type[64];
	int found = 0;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", src, mnt, type) == 3)
		if (!strcmp(mnt, dir) && (!tag || !strcmp(src, tag)) &&
		    !strcmp(type, VFS_FSTYPE))
			found++;
	fclose(f);
	return found;
}

/*
 * Wait up to secs for a child: its exit status (128 + the signal if it was
 * killed), or -1 if it ran past secs (it is killed then).
 */
static inline int vfs_wait_status(pid_t pid, int secs)
{
	int st = vfs_wait_timeout(pid, secs);

	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run cmd with sh -c; its exit status, or -1 if it ran past secs. */
static inline int vfs_run_cmd(const char *cmd, int secs)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return vfs_wait_status(pid, secs);
}

/* The kernel log as one string (malloc'ed), or NULL. */
static inline char *vfs_klog(void)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf;

	if (len <= 0)
		return NULL;
	buf = calloc(1, len + 1);
	if (!buf)
		return NULL;
	len = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	if (len < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Whether the kernel log (its last MiB) holds what. */
static inline int vfs_kernel_log_has(const char *what)
{
	static char log[1 << 20];
	int n = klogctl(3, log, sizeof(log) - 1);	/* SYSLOG_ACTION_READ_ALL */

	if (n <= 0)
		return 0;
	log[n] = 0;
	return strstr(log, what) != NULL;
}

/*
 * Lines of the kernel log that mean trouble: their count (-1 if the log
 * cannot be read), the first one in first.
 */
static inline int vfs_kernel_problems(char *first, size_t len)
{
	static const char * const bad[] = {
		"Oops", "BUG:", "WARNING:", "Call Trace:", "general protection",
		"blocked for more than", "Unable to handle", "refcount_t:",
		"list_del corruption", "list_add corruption",
	};
	char *log = vfs_klog(), *line, *save = NULL;
	unsigned int i;
	int n = 0;

	if (!log)
		return -1;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (strstr(line, bad[i])) {
				if (!n++)
					snprintf(first, len, "%s", line);
				break;
			}
		}
	}
	free(log);
	return n;
}

/* No line of the kernel log means trouble; else say how many, and the first. */
#define EXPECT_KERNEL_LOG_CLEAN() do {					\
	char __first[512] = "";						\
	int __n = vfs_kernel_problems(__first, sizeof(__first));	\
	if (__n)							\
		TH_LOG("%d alarming kernel log lines, first: %s", __n,	\
		       __first);					\
	EXPECT_EQ(0, __n);						\
} while (0)

/* The errors of a call that needs a device which is gone. */
static inline int vfs_is_gone_err(int e)
{
	return e == ENOTCONN || e == EIO;
}

/*
 * The debugfs directory of the device with tag $VFS_TAG (default vfstest)
 * into out: 0, or non-zero when there is none (or it does not fit).
 */
static inline int vfs_device_dir(char *out, size_t len)
{
	const char *tag = getenv("VFS_TAG") ?: "vfstest";
	char path[600], buf[64];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/debug/virtio_fs");
	int found = -1;

	if (!dir)
		return -1;
	while (found && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/debug/virtio_fs/%s/tag",
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && !strncmp(buf, tag, strlen(tag)) &&
		    buf[strlen(tag)] == '\n')
			found = snprintf(out, len, "/sys/kernel/debug/virtio_fs/%.32s",
					 d->d_name) >= (int)len;
		fclose(f);
	}
	closedir(dir);
	return found;
}

/*
 * Open the "queues" file of that device and read its first line, which
 * names the columns: the file, positioned after that line, with *col the
 * index of column (-1 if there is no such column); NULL without a file.
 */
static inline FILE *vfs_queues_open(const char *column, int *col)
{
	char dir[256], path[300], line[512], *tok, *save;
	FILE *f;
	int i;

	*col = -1;
	if (vfs_device_dir(dir, sizeof(dir)))
		return NULL;
	snprintf(path, sizeof(path), "%s/queues", dir);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f))
		for (i = 0, tok = strtok_r(line, " \n", &save); tok;
		     i++, tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, column))
				*col = i;
	return f;
}

#endif /* VFS_SYS_H */
