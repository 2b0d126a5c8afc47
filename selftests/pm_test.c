// SPDX-License-Identifier: GPL-2.0
/*
 * pm_test: what a process holds on a virtio-fs mount survives a suspend.
 *
 * main() sets the scene in the parent process: open files (read-write,
 * append, O_DIRECT), a directory in the middle of a listing, a cwd inside
 * the mount, a shared writable mapping with dirty pages, POSIX, OFD and
 * flock locks, hard links, a directory renamed above an open file, a file
 * unlinked while open, and three files the host deletes, renames and
 * replaces (suspend.host-mutate). Then it suspends the guest once, the way
 * $VFS_SUSPEND says (see vfs_host.h), and only then runs the tests.
 *
 * Run as pm_hibernate, the suspend is a real hibernation with a new QEMU and
 * virtiofsd, and the host also changes files while the guest is off
 * (hibernate.host-between): it deletes betdel.txt, replaces betrepl.txt
 * (with a file of the same inode number when it can), appends to
 * betmod/mod.txt and takes the lock the guest held on betlock.bin.
 *
 * Every test runs in a child of that parent: it inherits the descriptors,
 * the cwd and the mapping, and it is "another process" for the locks.
 */
#define _GNU_SOURCE
#include <sys/file.h>
#include <sys/mman.h>

#include "vfs_test.h"
#include "vfs_host.h"
#include "vfs_scene.h"

#define NAMES 300		/* entries of the directory being listed */
#define MAPLEN VFS_SCENE_MAPLEN
#define FILELEN VFS_SCENE_FILELEN

static struct {
	char dir[256];		/* the scene, $VFS_MNT/pm.<pid> */
	int rw_fd;		/* rw.bin, O_RDWR */
	int append_fd;		/* log.txt, O_WRONLY | O_APPEND */
	int direct_fd;		/* direct.bin, O_RDWR | O_DIRECT */
	int dir_fd;		/* list/, partly read */
	char listed[NAMES];	/* entries of list/ read before the suspend */
	unsigned char *map;	/* map.bin, MAP_SHARED, written */
	int map_fd;
	int posix_fd;		/* locks.bin: POSIX write lock on [0, 4095] */
	int ofd_fd;		/* locks.bin: OFD write lock on [8192, 12287] */
	int flock_fd;		/* flock.bin: flock(LOCK_EX) */
	int link_fd;		/* opened as hard link "b" of "a", "a" unlinked */
	int link2_fd;		/* opened as "c", hard link "d" removed */
	int renamed_fd;		/* up/mid/f, then "up" renamed to "up2" */
	int unlinked_fd;	/* gone.txt, unlinked while open */
	int hostdel_fd;		/* the host deletes hostdel.txt */
	int hostren_fd;		/* the host renames hostren.txt */
	int hostrepl_fd;	/* the host replaces hostrepl.txt */
	int betdel_fd;		/* hibernation: deleted while the guest is off */
	int betrepl_fd;		/* hibernation: replaced while the guest is off */
	int betlock_fd;		/* hibernation: its lock taken meanwhile */
	int betmod_fd;		/* hibernation: appended to meanwhile */
	ino_t old_inos[8];
	int host_rc;		/* the host action's result */
	int suspend_rc;		/* 0 or -errno of the write to /sys/power/state */
	int setup_step;		/* 0, or the step of the scene that failed */
	pid_t holder;		/* the process holding the scene (main) */
} S;

static void on_release_locks(int sig)
{
	vfs_scene_unlock(S.posix_fd, S.ofd_fd, S.flock_fd);
}

static int scene_open(const char *name, int flags, uint32_t seed)
{
	return vfs_scene_open(S.dir, name, flags, seed);
}

static int scene_path(char *out, const char *name)
{
	return vfs_scene_path(S.dir, out, name);
}

/* Build the scene. Return: 0, or the number of the step that failed. */
static int scene_setup(void)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct stat st;
	int step;

	snprintf(S.dir, sizeof(S.dir), "%s/pm.%d", vfs_mnt(), getpid());
	if (mkdir(S.dir, 0755))
		return 1;
	S.rw_fd = scene_open("rw.bin", O_RDWR, 11);
	S.append_fd = scene_open("log.txt", O_WRONLY | O_APPEND | O_CREAT, 0);
	S.direct_fd = scene_open("direct.bin", O_RDWR | O_DIRECT, 13);
	if (S.rw_fd < 0 || S.append_fd < 0 || S.direct_fd < 0)
		return 2;
	if (write(S.append_fd, "before\n", 7) != 7)
		return 3;

	/* A listing interrupted by the suspend (steps 4 to 7). */
	step = vfs_scene_listing(S.dir, NAMES, &S.dir_fd, S.listed);
	if (step)
		return 3 + step;

	/* A shared writable mapping with dirty pages (steps 8, 9). */
	step = vfs_scene_mapping(S.dir, &S.map_fd, &S.map);
	if (step)
		return 7 + step;

	/* Locks held by this process (steps 10, 11). */
	step = vfs_scene_locks(S.dir, &S.posix_fd, &S.ofd_fd, &S.flock_fd);
	if (step)
		return 9 + step;

	/* Hard links: open through one name, the other one goes. */
	scene_path(p, "a");
	scene_path(q, "b");
	if (vfs_make_file(p, FILELEN, 29) || link(p, q))
		return 12;
	S.link_fd = open(q, O_RDWR);
	if (S.link_fd < 0 || unlink(p))
		return 13;
	scene_path(p, "c");
	scene_path(q, "d");
	if (vfs_make_file(p, FILELEN, 31) || link(p, q))
		return 14;
	S.link2_fd = open(p, O_RDWR);
	if (S.link2_fd < 0 || unlink(q))
		return 15;

	/* A rename in the guest above an open file. */
	scene_path(p, "up");
	if (mkdir(p, 0755))
		return 16;
	scene_path(p, "up/mid");
	if (mkdir(p, 0755))
		return 17;
	S.renamed_fd = scene_open("up/mid/f", O_RDWR, 37);
	scene_path(p, "up");
	scene_path(q, "up2");
	if (S.renamed_fd < 0 || rename(p, q))
		return 18;

	/* Open and unlinked in the guest. */
	S.unlinked_fd = scene_open("gone.txt", O_RDWR, 41);
	scene_path(p, "gone.txt");
	if (S.unlinked_fd < 0 || unlink(p))
		return 19;

	/* Files the host changes before the suspend. */
	S.hostdel_fd = scene_open("hostdel.txt", O_RDWR, 43);
	S.hostren_fd = scene_open("hostren.txt", O_RDWR, 47);
	S.hostrepl_fd = scene_open("hostrepl.txt", O_RDWR, 53);
	if (S.hostdel_fd < 0 || S.hostren_fd < 0 || S.hostrepl_fd < 0)
		return 20;
	if (fstat(S.hostrepl_fd, &st))
		return 21;
	S.old_inos[0] = st.st_ino;
	if (fstat(S.rw_fd, &st))
		return 22;
	S.old_inos[1] = st.st_ino;

	/* Files the host changes while the guest is off (hibernation). */
	S.betdel_fd = scene_open("betdel.txt", O_RDWR, 59);
	S.betrepl_fd = scene_open("betrepl.txt", O_RDWR, 61);
	S.betlock_fd = scene_open("betlock.bin", O_RDWR, 67);
	if (S.betdel_fd < 0 || S.betrepl_fd < 0 || S.betlock_fd < 0 ||
	    vfs_scene_lock(S.betlock_fd, F_SETLK, F_WRLCK, 0, 100))
		return 25;
	scene_path(p, "betmod");
	if (mkdir(p, 0755))
		return 26;
	S.betmod_fd = scene_open("betmod/mod.txt", O_RDWR, 71);
	if (S.betmod_fd < 0)
		return 27;

	/* A cwd deep inside the mount. */
	scene_path(p, "cwd");
	if (mkdir(p, 0755))
		return 23;
	scene_path(p, "cwd/deep");
	if (mkdir(p, 0755) || chdir(p))
		return 24;
	return 0;
}

static void hold_scene(void)
{
	char rel[PATH_MAX];

	S.setup_step = scene_setup();
	if (S.setup_step)
		return;
	snprintf(rel, sizeof(rel), "%s", S.dir + strlen(vfs_mnt()) + 1);
	S.host_rc = vfs_host_action(60, "host_exec suspend.host-mutate %s",
				    rel);
	S.suspend_rc = vfs_suspend();
	signal(SIGUSR1, on_release_locks);
}

TEST(scene_and_suspend)
{
	ASSERT_EQ(0, S.setup_step) {
		TH_LOG("building the scene failed at step %d (errno %s)",
		       S.setup_step, vfs_errname(errno));
	}
	ASSERT_EQ(0, S.host_rc) TH_LOG("the host could not change the files");
	ASSERT_EQ(0, S.suspend_rc) {
		TH_LOG("suspend (%s) failed: %s", vfs_suspend_mode(),
		       vfs_errname(-S.suspend_rc));
	}
}

TEST(read_write_fd)
{
	char buf[4096];

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 8192));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 8192));
	vfs_fill(buf, sizeof(buf), 99, 0);
	ASSERT_EQ(sizeof(buf), vfs_pwrite_all(S.rw_fd, buf, sizeof(buf), 4096));
	ASSERT_EQ(0, fsync(S.rw_fd));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 4096));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 99, 0));
}

TEST(append_fd)
{
	char path[PATH_MAX], buf[64] = "";
	int fd;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(6, write(S.append_fd, "after\n", 6));
	scene_path(path, "log.txt");
	fd = ASSERT_SYS(open(path, O_RDONLY));
	ASSERT_EQ(13, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("before\nafter\n", buf);
	close(fd);
}

TEST(odirect_fd)
{
	void *buf;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(0, posix_memalign(&buf, 4096, 65536));
	ASSERT_EQ(65536, pread(S.direct_fd, buf, 65536, 65536));
	EXPECT_EQ(-1, vfs_check(buf, 65536, 13, 65536));
	vfs_fill(buf, 65536, 97, 0);
	ASSERT_EQ(65536, pwrite(S.direct_fd, buf, 65536, 0));
	memset(buf, 0, 65536);
	ASSERT_EQ(65536, pread(S.direct_fd, buf, 65536, 0));
	EXPECT_EQ(-1, vfs_check(buf, 65536, 97, 0));
	free(buf);
}

/* The listing goes on where it stopped: every entry exactly once. */
TEST(readdir_continues)
{
	ASSERT_EQ(0, S.setup_step);
	vfs_scene_listing_continues(S.dir_fd, S.listed, NAMES);
}

TEST(cwd_inside_mount)
{
	char cwd[PATH_MAX], want[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_NE(NULL, getcwd(cwd, sizeof(cwd)));
	scene_path(want, "cwd/deep");
	EXPECT_STREQ(want, cwd);
	fd = ASSERT_SYS(open("here.txt", O_CREAT | O_RDWR, 0644));
	ASSERT_EQ(4, write(fd, "here", 4));
	close(fd);
	scene_path(want, "cwd/deep/here.txt");
	EXPECT_EQ(0, access(want, R_OK));
	EXPECT_EQ(0, access("../deep/here.txt", R_OK));
}

TEST(shared_mapping)
{
	char path[PATH_MAX];
	unsigned char *buf = malloc(MAPLEN);
	int fd;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_NE(NULL, buf);
	scene_path(path, "map.bin");
	EXPECT_EQ(-1, vfs_check(S.map, MAPLEN, 17, 0));
	vfs_fill(S.map, MAPLEN / 2, 61, 0);
	ASSERT_EQ(0, msync(S.map, MAPLEN, MS_SYNC));
	ASSERT_EQ(0, vfs_drop_caches());
	fd = ASSERT_SYS(open(path, O_RDONLY));
	ASSERT_EQ(MAPLEN, vfs_pread_all(fd, buf, MAPLEN, 0));
	close(fd);
	EXPECT_EQ(-1, vfs_check(buf, MAPLEN / 2, 61, 0));
	EXPECT_EQ(-1, vfs_check(buf + MAPLEN / 2, MAPLEN / 2, 17, MAPLEN / 2));
	free(buf);
}

/* After the resume, the parent still holds its locks. */
TEST(posix_lock_still_held)
{
	struct flock fl = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100,
		.l_len = 10,
	};
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	scene_path(path, "locks.bin");
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EAGAIN, fcntl(fd, F_SETLK, &fl));
	ASSERT_EQ(0, fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(F_WRLCK, fl.l_type);
	EXPECT_EQ(0, fl.l_start);
	EXPECT_EQ(4096, fl.l_len);
	close(fd);
}

TEST(ofd_lock_still_held)
{
	struct flock fl = {
		.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 9000,
		.l_len = 1,
	};
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	scene_path(path, "locks.bin");
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EAGAIN, fcntl(fd, F_OFD_SETLK, &fl));
	close(fd);
}

TEST(flock_still_held)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	scene_path(path, "flock.bin");
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EWOULDBLOCK, flock(fd, LOCK_EX | LOCK_NB));
	close(fd);
}

/* The parent lets go of its locks; others get them. */
TEST(locks_release_normally)
{
	ASSERT_EQ(0, S.setup_step);
	vfs_scene_locks_released(S.dir, S.holder);
}

TEST(hard_links)
{
	char path[PATH_MAX], buf[4096];
	struct stat st;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.link_fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 29, 0));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.link2_fd, buf, sizeof(buf), 4096));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 31, 4096));
	scene_path(path, "b");
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(1, st.st_nlink);
}

TEST(rename_above_open_file)
{
	char path[PATH_MAX], buf[4096];

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.renamed_fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 37, 0));
	vfs_fill(buf, sizeof(buf), 71, 0);
	ASSERT_EQ(sizeof(buf), vfs_pwrite_all(S.renamed_fd, buf, sizeof(buf), 0));
	scene_path(path, "up2/mid/f");
	ASSERT_FILE_PATTERN(path, 4096, 71);
	scene_path(path, "up");
	EXPECT_ERRNO(ENOENT, access(path, F_OK));
}

/* The failure table: what cannot be found again fails, alone. */
TEST(unlinked_open_file_is_stale)
{
	char buf[16];

	ASSERT_EQ(0, S.setup_step);
	EXPECT_ERRNO(ESTALE, pread(S.unlinked_fd, buf, sizeof(buf), 0));
}

TEST(host_deleted_is_stale)
{
	char buf[16];

	ASSERT_EQ(0, S.setup_step);
	EXPECT_ERRNO(ESTALE, pread(S.hostdel_fd, buf, sizeof(buf), 0));
	EXPECT_ERRNO(ESTALE, pwrite(S.hostdel_fd, buf, sizeof(buf), 0));
}

TEST(host_renamed_is_stale)
{
	char path[PATH_MAX], buf[16];

	ASSERT_EQ(0, S.setup_step);
	EXPECT_ERRNO(ESTALE, pread(S.hostren_fd, buf, sizeof(buf), 0));
	scene_path(path, "hostren2.txt");
	ASSERT_FILE_PATTERN(path, FILELEN, 47);
}

TEST(host_replaced_is_stale_never_other_data)
{
	char path[PATH_MAX], buf[64] = "";
	struct stat st;
	ssize_t n;
	int fd;

	ASSERT_EQ(0, S.setup_step);
	n = pread(S.hostrepl_fd, buf, sizeof(buf) - 1, 0);
	EXPECT_EQ(-1, n) TH_LOG("read %zd bytes of \"%s\" from the old file", n,
				buf);
	EXPECT_EQ(ESTALE, errno);
	scene_path(path, "hostrepl.txt");
	fd = ASSERT_SYS(open(path, O_RDONLY));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_NE(S.old_inos[0], st.st_ino);
	memset(buf, 0, sizeof(buf));
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	EXPECT_STREQ("replaced by the host\n", buf);
	close(fd);
}

/* New objects after the resume never take an id the core still holds. */
TEST(new_files_do_not_collide)
{
	char path[PATH_MAX], buf[4096];
	struct stat st, old;
	ino_t inos[100];
	int i, j, fd;

	ASSERT_EQ(0, S.setup_step);
	ASSERT_EQ(0, fstat(S.rw_fd, &old));
	EXPECT_EQ(S.old_inos[1], old.st_ino);
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "%s/new%03d", S.dir, i);
		ASSERT_EQ(0, vfs_make_file(path, 4096, 1000 + i));
	}
	ASSERT_EQ(0, vfs_drop_caches());
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "%s/new%03d", S.dir, i);
		fd = ASSERT_SYS(open(path, O_RDONLY));
		ASSERT_EQ(0, fstat(fd, &st));
		inos[i] = st.st_ino;
		EXPECT_NE(old.st_ino, st.st_ino);
		ASSERT_EQ(sizeof(buf), vfs_pread_all(fd, buf, sizeof(buf), 0));
		EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 1000 + i, 0));
		close(fd);
	}
	for (i = 0; i < 100; i++)
		for (j = i + 1; j < 100; j++)
			EXPECT_NE(inos[i], inos[j]);
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.rw_fd, buf, sizeof(buf), 8192));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 11, 8192));
}

static bool hibernated(void)
{
	return !strcmp(vfs_suspend_mode(), "hibernate");
}

/* While the guest was off, the host deleted one file and replaced one. */
TEST(changed_while_off_is_stale)
{
	char buf[64] = "";
	ssize_t n;

	ASSERT_EQ(0, S.setup_step);
	if (!hibernated())
		SKIP(return, "only a hibernation leaves the host time to act");
	EXPECT_ERRNO(ESTALE, pwrite(S.betdel_fd, "x", 1, 0));
	n = pread(S.betrepl_fd, buf, sizeof(buf) - 1, 0);
	EXPECT_EQ(-1, n) TH_LOG("read %zd bytes of \"%s\"", n, buf);
	EXPECT_EQ(ESTALE, errno);
}

/*
 * The host appended to a file while the guest was off, and left its
 * directory alone: the same file, still open, with the host's bytes.
 */
TEST(changed_in_place_while_off_is_kept)
{
	static const char host_text[] = "appended while the guest was off\n";
	char buf[4096];
	struct stat st;

	ASSERT_EQ(0, S.setup_step);
	if (!hibernated())
		SKIP(return, "only a hibernation leaves the host time to act");
	ASSERT_EQ(0, fstat(S.betmod_fd, &st)) {
		TH_LOG("fstat: %s", vfs_errname(errno));
	}
	ASSERT_EQ(FILELEN + sizeof(host_text) - 1, st.st_size);
	ASSERT_EQ(sizeof(host_text) - 1,
		  pread(S.betmod_fd, buf, sizeof(host_text) - 1, FILELEN)) {
		TH_LOG("pread: %s", vfs_errname(errno));
	}
	EXPECT_EQ(0, memcmp(buf, host_text, sizeof(host_text) - 1));
	ASSERT_EQ(sizeof(buf), vfs_pread_all(S.betmod_fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, vfs_check(buf, sizeof(buf), 71, 0));
	EXPECT_EQ(1, pwrite(S.betmod_fd, "G", 1, 0));
	ASSERT_EQ(1, pread(S.betmod_fd, buf, 1, 0));
	EXPECT_EQ('G', buf[0]);
}

/* The host took the lock while the guest was off: EIO through that fd. */
TEST(lock_taken_while_off_is_lost)
{
	char path[PATH_MAX];
	int fd;

	ASSERT_EQ(0, S.setup_step);
	if (!hibernated())
		SKIP(return, "only a hibernation leaves the host time to act");
	EXPECT_ERRNO(EIO, pwrite(S.betlock_fd, "x", 1, 0));
	scene_path(path, "betlock.bin");
	fd = ASSERT_SYS(open(path, O_RDWR));
	EXPECT_ERRNO(EAGAIN, vfs_scene_lock(fd, F_SETLK, F_WRLCK, 0, 10));
	close(fd);
}

TEST(namespace_ops_after_resume)
{
	char p[PATH_MAX], q[PATH_MAX];

	ASSERT_EQ(0, S.setup_step);
	scene_path(p, "list/e007");
	scene_path(q, "list/renamed");
	ASSERT_EQ(0, rename(p, q));
	ASSERT_EQ(0, unlink(q));
	scene_path(p, "up2/mid");
	scene_path(q, "up2/mid2");
	ASSERT_EQ(0, rename(p, q));
	scene_path(p, "up2/mid2/f");
	ASSERT_FILE_PATTERN(p, 4096, 71);
}

int main(int argc, char **argv)
{
	S.holder = getpid();
	hold_scene();
	return test_harness_run(argc, argv);
}
