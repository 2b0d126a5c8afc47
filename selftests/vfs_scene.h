/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "scene" of pm_test and reattach_test: what one process holds on the
 * mount while the device goes away (a suspend, a removal) and checks after
 * it came back. Every helper takes the scene's directory; files are made
 * VFS_SCENE_FILELEN bytes long, the mapping is VFS_SCENE_MAPLEN bytes.
 *
 *  - open files: vfs_scene_open(), named by vfs_scene_path();
 *  - a listing interrupted after its first getdents64: vfs_scene_listing(),
 *    checked by vfs_scene_listing_continues();
 *  - a shared writable mapping with dirty pages: vfs_scene_mapping();
 *  - POSIX, OFD and flock locks: vfs_scene_locks(), let go by
 *    vfs_scene_unlock() (the holder's SIGUSR1 handler), then taken by
 *    another process: vfs_scene_locks_released().
 *
 * Include after vfs_test.h.
 */
#ifndef VFS_SCENE_H
#define VFS_SCENE_H

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "vfs_test.h"

#define VFS_SCENE_FILELEN	(256 * 1024)
#define VFS_SCENE_MAPLEN	(64 * 1024)

/* dir/name into out (PATH_MAX bytes). */
static inline int vfs_scene_path(const char *dir, char *out, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/*
 * Open dir/name with flags (mode 0644); with a seed, make it first:
 * VFS_SCENE_FILELEN bytes of that pattern. The fd, or -1.
 */
static inline int vfs_scene_open(const char *dir, const char *name, int flags,
				 uint32_t seed)
{
	char p[PATH_MAX];

	vfs_scene_path(dir, p, name);
	if (seed && vfs_make_file(p, VFS_SCENE_FILELEN, seed))
		return -1;
	return open(p, flags, 0644);
}

/* fcntl(fd, cmd) with a lock of type on [start, start + len). */
static inline int vfs_scene_lock(int fd, int cmd, short type, off_t start,
				 off_t len)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET,
		.l_start = start, .l_len = len,
	};

	return fcntl(fd, cmd, &fl);
}

/*
 * Count the entries e000 .. e<names - 1> of a getdents64 buffer in listed[].
 */
static inline void vfs_scene_count(const char *dbuf, long n, char *listed,
				   int names)
{
	long off;
	int i;

	for (off = 0; off < n;) {
		struct dirent64 *d = (void *)(dbuf + off);

		i = atoi(d->d_name + 1);
		if (d->d_name[0] == 'e' && i >= 0 && i < names)
			listed[i]++;
		off += d->d_reclen;
	}
}

/*
 * A listing interrupted: dir/list with the empty files e000 .. e<names - 1>,
 * open in *dir_fd, its first getdents64 (1 KiB) counted in listed[].
 * Return: 0, or the step that failed: 1 mkdir, 2 a file, 3 open, 4 read.
 */
static inline int vfs_scene_listing(const char *dir, int names, int *dir_fd,
				    char *listed)
{
	char p[PATH_MAX], q[PATH_MAX], dbuf[1024];
	int i, fd;
	long n;

	vfs_scene_path(dir, p, "list");
	if (mkdir(p, 0755))
		return 1;
	for (i = 0; i < names; i++) {
		char name[32];

		snprintf(name, sizeof(name), "list/e%03d", i);
		vfs_scene_path(dir, q, name);
		fd = open(q, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			return 2;
		close(fd);
	}
	*dir_fd = open(p, O_RDONLY | O_DIRECTORY);
	if (*dir_fd < 0)
		return 3;
	n = syscall(SYS_getdents64, *dir_fd, dbuf, sizeof(dbuf));
	if (n <= 0)
		return 4;
	vfs_scene_count(dbuf, n, listed, names);
	return 0;
}

/*
 * The listing of vfs_scene_listing() goes on where it stopped: every entry
 * exactly once, with those of listed0[] (the names read before).
 */
#define vfs_scene_listing_continues(dir_fd, listed0, names) \
	__vfs_scene_listing_continues(_metadata, (dir_fd), (listed0), (names))
static inline void
__vfs_scene_listing_continues(struct __test_metadata *_metadata, int dir_fd,
			      const char *listed0, int names)
{
	char listed[names], dbuf[4096];
	long n;
	int i;

	memcpy(listed, listed0, sizeof(listed));
	while ((n = syscall(SYS_getdents64, dir_fd, dbuf, sizeof(dbuf))) > 0)
		vfs_scene_count(dbuf, n, listed, names);
	ASSERT_EQ(0, n) TH_LOG("getdents64: %s", vfs_errname(errno));
	for (i = 0; i < names; i++) {
		if (listed[i] != 1)
			TH_LOG("entry e%03d seen %d times", i, listed[i]);
		EXPECT_EQ(1, listed[i]);
	}
}

/*
 * A shared writable mapping of dir/map.bin (VFS_SCENE_MAPLEN bytes) with
 * pattern 17 written into it: *map_fd, *map (NULL if mmap failed).
 * Return: 0, or the step that failed: 1 the file, 2 mmap.
 */
static inline int vfs_scene_mapping(const char *dir, int *map_fd,
				    unsigned char **map)
{
	*map_fd = vfs_scene_open(dir, "map.bin", O_RDWR | O_CREAT, 0);
	if (*map_fd < 0 || ftruncate(*map_fd, VFS_SCENE_MAPLEN))
		return 1;
	*map = mmap(NULL, VFS_SCENE_MAPLEN, PROT_READ | PROT_WRITE, MAP_SHARED,
		    *map_fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return 2;
	}
	vfs_fill(*map, VFS_SCENE_MAPLEN, 17, 0);
	return 0;
}

/*
 * Locks held by this process: a POSIX write lock on [0, 4095] of
 * dir/locks.bin (pattern 19) through *posix_fd, an OFD write lock on
 * [8192, 12287] through *ofd_fd, flock(LOCK_EX) of dir/flock.bin
 * (pattern 23) through *flock_fd.
 * Return: 0, or the step that failed: 1 open, 2 lock.
 */
static inline int vfs_scene_locks(const char *dir, int *posix_fd, int *ofd_fd,
				  int *flock_fd)
{
	*posix_fd = vfs_scene_open(dir, "locks.bin", O_RDWR, 19);
	*ofd_fd = vfs_scene_open(dir, "locks.bin", O_RDWR, 0);
	*flock_fd = vfs_scene_open(dir, "flock.bin", O_RDWR, 23);
	if (*posix_fd < 0 || *ofd_fd < 0 || *flock_fd < 0)
		return 1;
	if (vfs_scene_lock(*posix_fd, F_SETLK, F_WRLCK, 0, 4096) ||
	    vfs_scene_lock(*ofd_fd, F_OFD_SETLK, F_WRLCK, 8192, 4096) ||
	    flock(*flock_fd, LOCK_EX | LOCK_NB))
		return 2;
	return 0;
}

/* Let go of the locks of vfs_scene_locks() (fds below 0 are skipped). */
static inline void vfs_scene_unlock(int posix_fd, int ofd_fd, int flock_fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (posix_fd >= 0)
		fcntl(posix_fd, F_SETLK, &fl);
	if (ofd_fd >= 0)
		fcntl(ofd_fd, F_OFD_SETLK, &fl);
	if (flock_fd >= 0)
		flock(flock_fd, LOCK_UN);
}

/* Retry what for up to 5 s: the holder lets go from a signal handler. */
static inline int vfs_retry_5s(int (*what)(int), int fd)
{
	int i, ret = -1;

	for (i = 0; i < 100 && ret; i++) {
		ret = what(fd);
		if (ret)
			usleep(50000);
	}
	return ret;
}

/* The locks of vfs_scene_locks(), for another process; 0 or -1. */
static inline int vfs_take_posix(int fd)
{
	return vfs_scene_lock(fd, F_SETLK, F_WRLCK, 0, 0);
}

static inline int vfs_take_ofd(int fd)
{
	return vfs_scene_lock(fd, F_OFD_SETLK, F_WRLCK, 8192, 4096);
}

static inline int vfs_take_flock(int fd)
{
	return flock(fd, LOCK_EX | LOCK_NB);
}

/*
 * holder lets go of the locks of vfs_scene_locks() in dir on SIGUSR1:
 * this process then gets each of them (within 5 s), one after the other.
 */
#define vfs_scene_locks_released(dir, holder) \
	__vfs_scene_locks_released(_metadata, (dir), (holder))
static inline void
__vfs_scene_locks_released(struct __test_metadata *_metadata, const char *dir,
			   pid_t holder)
{
	char p[PATH_MAX];
	int fd, ofd, ffd;

	ASSERT_EQ(0, kill(holder, SIGUSR1));
	vfs_scene_path(dir, p, "locks.bin");
	fd = ASSERT_SYS(open(p, O_RDWR));
	ofd = ASSERT_SYS(open(p, O_RDWR));
	EXPECT_EQ(0, vfs_retry_5s(vfs_take_posix, fd))
		TH_LOG("POSIX lock: %s", vfs_errname(errno));
	/* Drop it again: POSIX and OFD locks of one file conflict. */
	ASSERT_EQ(0, vfs_scene_lock(fd, F_SETLK, F_UNLCK, 0, 0));
	EXPECT_EQ(0, vfs_retry_5s(vfs_take_ofd, ofd))
		TH_LOG("OFD lock: %s", vfs_errname(errno));
	vfs_scene_path(dir, p, "flock.bin");
	ffd = ASSERT_SYS(open(p, O_RDWR));
	EXPECT_EQ(0, vfs_retry_5s(vfs_take_flock, ffd))
		TH_LOG("flock: %s", vfs_errname(errno));
	close(ffd);
	close(ofd);
	close(fd);
}

#endif /* VFS_SCENE_H */
