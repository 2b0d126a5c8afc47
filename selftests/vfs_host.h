/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-side helpers for tests that need the host or the power state:
 *
 *  - vfs_host_action(): ask the host (vm/monitor.py) to act, with the
 *    protocol suites/lib.sh uses, and wait for its answer;
 *  - vfs_suspend(): suspend and resume the guest the way $VFS_SUSPEND says
 *    (mem: pm_test devices + mem; disk: pm_test devices + disk, which runs
 *    hibernation's freeze and thaw; s3: a real S3 woken by the RTC;
 *    hibernate: a real hibernation, see vfs_hibernate());
 *  - vfs_hibernate(): a real hibernation: the image goes to the swap disk,
 *    the guest powers off, the host starts a new virtiofsd and a new QEMU,
 *    the guest resumes (needs run.sh --hibernate N or '# vfs: hibernate').
 */
#ifndef VFS_HOST_H
#define VFS_HOST_H

#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#define VFS_SEQ_FILE "/tmp/.vfs-host-seq"

/* A counter of this boot kept in a file: its value, 0 without one. */
static inline int vfs_counter_get(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static inline void vfs_counter_set(const char *path, int n)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%d\n", n);
		fclose(f);
	}
}

static inline int vfs_next_seq(void)
{
	int n = vfs_counter_get(VFS_SEQ_FILE) + 1;

	vfs_counter_set(VFS_SEQ_FILE, n);
	return n;
}

static inline double vfs_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *vfs_host_port(void)
{
	const char *port = getenv("VFS_HOST_PORT");

	return port && strcmp(port, "/dev/console") ? port : NULL;
}

/*
 * Send "verb args" to the host without waiting for it to be done.
 * Return: the request's sequence number for vfs_host_wait(), or -1.
 */
static inline int vfs_host_send(const char *fmt, ...)
{
	const char *port = vfs_host_port();
	char action[512];
	va_list ap;
	int fd, seq;

	if (!port)
		return -1;
	va_start(ap, fmt);
	vsnprintf(action, sizeof(action), fmt, ap);
	va_end(ap);
	fd = open(port, O_WRONLY | O_NOCTTY);
	if (fd < 0)
		return -1;
	seq = vfs_next_seq();
	dprintf(fd, "VFS-HOST-ACTION: @%d %s\n", seq, action);
	close(fd);
	return seq;
}

/*
 * Wait up to @timeout seconds for the host to finish request @seq.
 * Return: the host's exit code (0 = done), or -1 when no answer came.
 */
static inline int vfs_host_wait(int seq, int timeout)
{
	const char *port = vfs_host_port();
	char buf[4096], want[64];
	size_t have = 0;
	double end;
	int fd, rc = -1;

	if (!port || seq < 0)
		return -1;
	fd = open(port, O_RDWR | O_NOCTTY);
	if (fd < 0)
		return -1;
	snprintf(want, sizeof(want), "VFS-HOST-DONE: %d ", seq);
	end = vfs_mono() + timeout;
	while (vfs_mono() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *nl;
		ssize_t n;

		if (poll(&p, 1, 3000) <= 0) {
			/* An answer can be lost (a UART that resumed): ask again. */
			dprintf(fd, "VFS-HOST-ACTION: reply %d\n", seq);
			continue;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			continue;
		have += n;
		buf[have] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			if (!strncmp(buf, want, strlen(want))) {
				rc = atoi(buf + strlen(want));
				close(fd);
				return rc;
			}
			have -= nl + 1 - buf;
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(fd);
	return rc;
}

/* Ask the host to perform "verb args" and wait up to @timeout seconds. */
#define vfs_host_action(timeout, ...) \
	vfs_host_wait(vfs_host_send(__VA_ARGS__), (timeout))

static inline int vfs_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -e;
}

#define VFS_HIB_FILE "/tmp/.vfs-hibernations"

/* Completed hibernation round trips of this boot (shared with lib.sh). */
static inline int vfs_hibernations(void)
{
	return vfs_counter_get(VFS_HIB_FILE);
}

/*
 * Hibernate for real and resume on a new QEMU and virtiofsd, with the
 * protocol of suites/lib.sh's vfs_hibernate: host action "hibernate <n>",
 * pm_test none, /sys/power/disk = $VFS_HIBERNATE_MODE (shutdown, the
 * default, or platform),
 * "disk" to /sys/power/state, then host action "resumed <n> <errno>".
 * Return: 0 once resumed after a real power-off and restart; -ENODEV
 * without a swap disk; -EINVAL for another mode; -ECANCELED when the
 * host refused (not enabled, or
 * more round trips than allowed); the negative errno of the write to
 * /sys/power/state (e.g. -EBUSY when a driver refused); -EIO when the
 * write succeeded but the host did not restart anything.
 */
static inline int vfs_hibernate(void)
{
	const char *swap = getenv("VFS_SWAP");
	const char *mode = getenv("VFS_HIBERNATE_MODE");
	int n = vfs_hibernations() + 1;
	int err, rc;

	if (!swap || !*swap)
		return -ENODEV;
	if (!mode || !*mode)
		mode = "shutdown";
	if (strcmp(mode, "shutdown") && strcmp(mode, "platform"))
		return -EINVAL;
	if (vfs_host_action(60, "hibernate %d", n))
		return -ECANCELED;
	vfs_write_str("/sys/power/pm_test", "none");
	vfs_write_str("/sys/power/disk", mode);
	err = vfs_write_str("/sys/power/state", "disk");
	rc = vfs_host_action(300, "resumed %d %d", n, -err);
	if (err)
		return err;
	if (rc)
		return -EIO;
	vfs_counter_set(VFS_HIB_FILE, n);
	return 0;
}

/*
 * The suspend mode: $VFS_SUSPEND, else the suffix of the program name
 * (pm_disk runs pm_test in disk mode), else mem.
 */
static inline const char *vfs_suspend_mode(void)
{
	extern char *program_invocation_short_name;
	const char *m = getenv("VFS_SUSPEND");
	const char *s = strrchr(program_invocation_short_name, '_');

	if (m && *m)
		return m;
	if (s && (!strcmp(s, "_disk") || !strcmp(s, "_s3") ||
		  !strcmp(s, "_mem") || !strcmp(s, "_hibernate")))
		return s + 1;
	return "mem";
}

/*
 * Write @state to /sys/power/state from CPU 0 only. pm_test's wait is
 * mdelay(), run by this task, with the other CPUs still online; once a real
 * S3 has run in the boot, TCG's CPUs no longer agree on the TSC, and a wait
 * that migrates counts the jump as elapsed time and ends after a few ms
 * (3 of 6 waits of 2 s did on 6.1; 12 of 12 pinned ones lasted 2 s).
 * Return: as vfs_write_str().
 */
static inline int vfs_pinned_write_state(const char *state)
{
	cpu_set_t old, cpu0;
	int pinned, ret;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	pinned = !sched_getaffinity(0, sizeof(old), &old) &&
		 !sched_setaffinity(0, sizeof(cpu0), &cpu0);
	ret = vfs_write_str("/sys/power/state", state);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	return ret;
}

/*
 * Suspend and resume once. "mem" and "disk" stop at pm_test "devices" and
 * stay there $VFS_PM_TEST_DELAY seconds (default 0); "s3" is a real S3
 * woken by the RTC after 3 s; any other "s3..." mode is a real S3 that the
 * host wakes. Return: 0, or the negative errno of the write to
 * /sys/power/state (e.g. -EBUSY when a driver refused).
 */
static inline int vfs_suspend(void)
{
	const char *mode = vfs_suspend_mode();

	if (!strcmp(mode, "hibernate"))
		return vfs_hibernate();
	vfs_write_str("/sys/module/suspend/parameters/pm_test_delay",
		      getenv("VFS_PM_TEST_DELAY") ?: "0");
	if (!strncmp(mode, "s3", 2)) {
		vfs_write_str("/sys/power/pm_test", "none");
		vfs_write_str("/sys/power/mem_sleep", "deep");
		vfs_write_str("/sys/class/rtc/rtc0/wakealarm", "0");
		if (!strcmp(mode, "s3"))
			vfs_write_str("/sys/class/rtc/rtc0/wakealarm", "+3");
		return vfs_write_str("/sys/power/state", "mem");
	}
	vfs_write_str("/sys/power/pm_test", "devices");
	return vfs_pinned_write_state(strcmp(mode, "disk") ? "mem" : "disk");
}

/*
 * A "key value" line of the driver's debugfs file @file (e.g. "session")
 * for the device with our tag. Return: the value, or -1.
 */
static inline long long vfs_driver_stat(const char *file, const char *key)
{
	const char *tag = getenv("VFS_TAG") ?: "vfstest";
	char path[128], line[256];
	long long val = -1;
	int i;

	for (i = 0; i < 16 && val < 0; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/debug/virtio_fs/%d/tag", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f) ||
		    strncmp(line, tag, strlen(tag)) || line[strlen(tag)] != '\n') {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/sys/kernel/debug/virtio_fs/%d/%s",
			 i, file);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, key, strlen(key)) &&
			    line[strlen(key)] == ' ')
				val = atoll(line + strlen(key) + 1);
		fclose(f);
	}
	return val;
}

#endif /* VFS_HOST_H */
