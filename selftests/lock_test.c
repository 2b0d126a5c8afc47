// SPDX-License-Identifier: GPL-2.0
/*
 * File locks on a virtio-fs mount: GETLK/SETLK for POSIX (fcntl) and OFD
 * locks, flock(). virtiofsd implements them with -o posix_lock and
 * -o flock; it refuses every blocking request (SETLKW, which also carries
 * F_SETLKW unlocks and flock() without LOCK_NB) with EOPNOTSUPP, so only
 * the two tests named *_blocking_* use those, to document what happens.
 *
 * A second process (the "peer") runs lock commands on its own fd of the
 * same file and answers over a pipe; every wait for it is bounded.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/file.h>

#include "vfs_test.h"

#define PEER_TIMEOUT_MS	20000

FIXTURE(lk) {
	struct vfs_dir d;
	char file[PATH_MAX];
};

FIXTURE_SETUP(lk)
{
	vfs_dir_setup(&self->d);
	snprintf(self->file, sizeof(self->file), "%s", vfs_path(&self->d, "f"));
	ASSERT_SYS(vfs_make_file(self->file, 4096, 1));
}

FIXTURE_TEARDOWN(lk)
{
	vfs_dir_teardown(&self->d);
}

enum { P_SETLK, P_SETLKW, P_GETLK, P_FLOCK, P_EXIT };

struct pcmd {
	int op;
	int arg;		/* lock type, or flock operation */
	off_t start, len;
};

struct pres {
	int ret, err;
	struct flock fl;
};

struct peer {
	pid_t pid;
	int cmd, res;		/* our ends of the two pipes */
};

static void peer_main(const char *path, int cmd, int res)
{
	struct pcmd c;
	struct pres r;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		_exit(1);
	while (read(cmd, &c, sizeof(c)) == sizeof(c)) {
		memset(&r, 0, sizeof(r));
		if (c.op == P_EXIT)
			_exit(0);
		if (c.op == P_FLOCK) {
			r.ret = flock(fd, c.arg);
		} else {
			r.fl.l_type = c.arg;
			r.fl.l_whence = SEEK_SET;
			r.fl.l_start = c.start;
			r.fl.l_len = c.len;
			r.ret = fcntl(fd, c.op == P_SETLK ? F_SETLK :
				      c.op == P_SETLKW ? F_SETLKW : F_GETLK, &r.fl);
		}
		r.err = r.ret ? errno : 0;
		if (write(res, &r, sizeof(r)) != sizeof(r))
			_exit(2);
	}
	_exit(0);
}

#define peer_start(p) __peer_start(_metadata, self->file, (p))
static void __peer_start(struct __test_metadata *_metadata, const char *path,
			 struct peer *p)
{
	int a[2], b[2];

	ASSERT_SYS(pipe(a));
	ASSERT_SYS(pipe(b));
	p->pid = fork();
	ASSERT_LE(0, p->pid);
	if (!p->pid) {
		close(a[1]);
		close(b[0]);
		peer_main(path, a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	p->cmd = a[1];
	p->res = b[0];
}

#define peer_do(p, op, arg, start, len) \
	__peer_do(_metadata, (p), (op), (arg), (start), (len))
static struct pres __peer_do(struct __test_metadata *_metadata,
			     struct peer *p, int op, int arg, off_t start,
			     off_t len)
{
	struct pcmd c = { .op = op, .arg = arg, .start = start, .len = len };
	struct pollfd pfd = { .fd = p->res, .events = POLLIN };
	struct pres r;

	memset(&r, 0, sizeof(r));
	ASSERT_EQ(sizeof(c), write(p->cmd, &c, sizeof(c)));
	if (poll(&pfd, 1, PEER_TIMEOUT_MS) != 1) {
		TH_LOG("peer did not answer command %d within %d ms", op,
		       PEER_TIMEOUT_MS);
		kill(p->pid, SIGKILL);
		ASSERT_TRUE(0);
	}
	ASSERT_EQ(sizeof(r), read(p->res, &r, sizeof(r)));
	return r;
}

#define peer_stop(p) __peer_stop(_metadata, (p))
static void __peer_stop(struct __test_metadata *_metadata, struct peer *p)
{
	struct pcmd c = { .op = P_EXIT };

	ASSERT_EQ(sizeof(c), write(p->cmd, &c, sizeof(c)));
	ASSERT_CHILD_OK(p->pid, PEER_TIMEOUT_MS / 1000, "lock peer");
	close(p->cmd);
	close(p->res);
}

/* The peer's fcntl lock attempt must fail with EAGAIN / succeed. */
#define PEER_BLOCKED(p, type, start, len) do {				\
	struct pres __r = peer_do((p), P_SETLK, (type), (start), (len)); \
	if (__r.ret != -1 || __r.err != EAGAIN)				\
		TH_LOG("peer F_SETLK type %d [%lld,+%lld): expected EAGAIN, got %d/%s", \
		       (type), (long long)(start), (long long)(len),	\
		       __r.ret, vfs_errname(__r.err));			\
	ASSERT_EQ(EAGAIN, __r.ret == -1 ? __r.err : 0);			\
} while (0)

#define PEER_GETS(p, type, start, len) do {				\
	struct pres __r = peer_do((p), P_SETLK, (type), (start), (len)); \
	if (__r.ret)							\
		TH_LOG("peer F_SETLK type %d [%lld,+%lld): expected success, got %s", \
		       (type), (long long)(start), (long long)(len),	\
		       vfs_errname(__r.err));				\
	ASSERT_EQ(0, __r.ret);						\
} while (0)

static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET,
		.l_start = start, .l_len = len,
	};

	return fcntl(fd, cmd, &fl);
}

TEST_F(lk, posix_conflict_getlk)
{
	struct peer p;
	struct pres r;
	struct flock fl;
	int fd;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 100));
	peer_start(&p);
	PEER_BLOCKED(&p, F_WRLCK, 50, 10);
	PEER_BLOCKED(&p, F_RDLCK, 0, 1);
	PEER_BLOCKED(&p, F_WRLCK, 99, 1);
	PEER_GETS(&p, F_WRLCK, 100, 100);

	/* GETLK from the peer reports our lock: type and range */
	r = peer_do(&p, P_GETLK, F_WRLCK, 0, 1000);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(F_WRLCK, r.fl.l_type);
	EXPECT_EQ(0, r.fl.l_start);
	EXPECT_EQ(100, r.fl.l_len);
	EXPECT_EQ(SEEK_SET, r.fl.l_whence);
	TH_LOG("F_GETLK reports l_pid %d for the holder (pid %d)", r.fl.l_pid,
	       getpid());
	r = peer_do(&p, P_GETLK, F_WRLCK, 300, 10);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(F_UNLCK, r.fl.l_type);

	/* and ours reports the peer's */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 150;
	fl.l_len = 0;
	ASSERT_SYS(fcntl(fd, F_GETLK, &fl));
	EXPECT_EQ(F_WRLCK, fl.l_type);
	EXPECT_EQ(100, fl.l_start);
	EXPECT_EQ(100, fl.l_len);
	ASSERT_ERRNO(EAGAIN, lk(fd, F_SETLK, F_WRLCK, 150, 1));
	/* our own lock never conflicts with us */
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 10, 10));
	peer_stop(&p);
	close(fd);
}

TEST_F(lk, posix_shared_readers)
{
	struct peer p;
	struct pres r;
	int fd;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd, F_SETLK, F_RDLCK, 0, 0));
	peer_start(&p);
	PEER_GETS(&p, F_RDLCK, 10, 10);
	PEER_BLOCKED(&p, F_WRLCK, 30, 10);
	r = peer_do(&p, P_GETLK, F_WRLCK, 0, 0);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(F_RDLCK, r.fl.l_type);
	EXPECT_EQ(0, r.fl.l_start);
	EXPECT_EQ(0, r.fl.l_len);

	/* upgrading to write conflicts with the peer's read lock */
	ASSERT_ERRNO(EAGAIN, lk(fd, F_SETLK, F_WRLCK, 0, 0));
	r = peer_do(&p, P_SETLK, F_UNLCK, 10, 10);
	ASSERT_EQ(0, r.ret);
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 0));
	r = peer_do(&p, P_GETLK, F_RDLCK, 5, 1);
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(F_WRLCK, r.fl.l_type);
	/* and a downgrade lets readers in again */
	ASSERT_SYS(lk(fd, F_SETLK, F_RDLCK, 0, 0));
	PEER_GETS(&p, F_RDLCK, 0, 1);
	peer_stop(&p);
	close(fd);
}

TEST_F(lk, posix_unlock_releases)
{
	struct peer p;
	int fd;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 100));
	peer_start(&p);
	PEER_BLOCKED(&p, F_WRLCK, 20, 10);
	/* unlocking the middle splits our lock */
	ASSERT_SYS(lk(fd, F_SETLK, F_UNLCK, 20, 10));
	PEER_GETS(&p, F_WRLCK, 20, 10);
	PEER_BLOCKED(&p, F_WRLCK, 10, 10);
	PEER_BLOCKED(&p, F_WRLCK, 30, 10);
	/* unlocking everything releases the rest */
	ASSERT_SYS(lk(fd, F_SETLK, F_UNLCK, 0, 0));
	PEER_GETS(&p, F_WRLCK, 0, 20);
	PEER_GETS(&p, F_WRLCK, 30, 70);
	ASSERT_ERRNO(EAGAIN, lk(fd, F_SETLK, F_RDLCK, 0, 0));
	peer_stop(&p);
	/* the peer's exit dropped its locks */
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 0));
	close(fd);
}

TEST_F(lk, posix_close_releases)
{
	struct peer p;
	int fd, fd2, dupfd;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 0));
	peer_start(&p);
	PEER_BLOCKED(&p, F_WRLCK, 0, 1);
	/* POSIX: closing any fd of the file drops the process's locks */
	fd2 = ASSERT_SYS(open(self->file, O_RDONLY));
	ASSERT_SYS(close(fd2));
	PEER_GETS(&p, F_WRLCK, 0, 1);
	ASSERT_SYS(peer_do(&p, P_SETLK, F_UNLCK, 0, 0).ret);

	/* the same through a dup */
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 0));
	PEER_BLOCKED(&p, F_WRLCK, 0, 1);
	dupfd = ASSERT_SYS(dup(fd));
	ASSERT_SYS(close(dupfd));
	PEER_GETS(&p, F_WRLCK, 0, 1);
	ASSERT_SYS(peer_do(&p, P_SETLK, F_UNLCK, 0, 0).ret);

	/* and through the last close */
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 5, 5));
	PEER_BLOCKED(&p, F_WRLCK, 5, 1);
	ASSERT_SYS(close(fd));
	PEER_GETS(&p, F_WRLCK, 5, 1);
	peer_stop(&p);
}

TEST_F(lk, posix_exit_releases)
{
	struct peer p;
	int fd;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	peer_start(&p);
	PEER_GETS(&p, F_WRLCK, 0, 0);
	ASSERT_ERRNO(EAGAIN, lk(fd, F_SETLK, F_RDLCK, 1000, 1));
	peer_stop(&p);
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 0));

	/* a killed holder releases too */
	peer_start(&p);
	ASSERT_SYS(lk(fd, F_SETLK, F_UNLCK, 0, 0));
	PEER_GETS(&p, F_WRLCK, 0, 0);
	ASSERT_ERRNO(EAGAIN, lk(fd, F_SETLK, F_WRLCK, 0, 1));
	kill(p.pid, SIGKILL);
	EXPECT_NE(-1, vfs_wait_timeout(p.pid, 20));
	close(p.cmd);
	close(p.res);
	ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 1));
	close(fd);
}

TEST_F(lk, posix_many_ranges)
{
	struct peer p;
	int fd, i;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	for (i = 0; i < 200; i += 2)
		ASSERT_SYS(lk(fd, F_SETLK, i % 4 ? F_RDLCK : F_WRLCK, i * 10, 10));
	peer_start(&p);
	for (i = 0; i < 200; i++) {
		if (i % 2 == 0) {
			PEER_BLOCKED(&p, F_WRLCK, i * 10 + 3, 1);
			continue;
		}
		PEER_GETS(&p, F_WRLCK, i * 10 + 3, 1);
	}
	/* read locks of ours admit the peer's readers */
	PEER_GETS(&p, F_RDLCK, 20, 10);
	PEER_BLOCKED(&p, F_RDLCK, 40, 10);
	ASSERT_SYS(lk(fd, F_SETLK, F_UNLCK, 0, 0));
	PEER_GETS(&p, F_WRLCK, 0, 10);
	PEER_GETS(&p, F_WRLCK, 40, 10);
	peer_stop(&p);
	close(fd);
}

TEST_F(lk, posix_blocking_setlkw)
{
	struct peer p;
	int fd, r, e;

	fd = ASSERT_SYS(open(self->file, O_RDWR));
	peer_start(&p);
	/* uncontended F_SETLKW: granted, or EOPNOTSUPP from virtiofsd */
	r = lk(fd, F_SETLKW, F_WRLCK, 0, 10);
	e = errno;
	TH_LOG("uncontended F_SETLKW: %s", r ? vfs_errname(e) : "granted");
	if (r) {
		ASSERT_EQ(EOPNOTSUPP, e);
		/* refused means not held */
		PEER_GETS(&p, F_WRLCK, 0, 10);
		ASSERT_SYS(peer_do(&p, P_SETLK, F_UNLCK, 0, 0).ret);
		ASSERT_SYS(lk(fd, F_SETLK, F_WRLCK, 0, 10));
	} else {
		PEER_BLOCKED(&p, F_WRLCK, 0, 10);
	}
	/* an unlock through F_SETLKW is the same kind of request */
	r = lk(fd, F_SETLKW, F_UNLCK, 0, 10);
	e = errno;
	TH_LOG("F_SETLKW unlock: %s", r ? vfs_errname(e) : "done");
	if (r) {
		ASSERT_EQ(EOPNOTSUPP, e);
		PEER_BLOCKED(&p, F_WRLCK, 0, 10);
		ASSERT_SYS(lk(fd, F_SETLK, F_UNLCK, 0, 10));
	}
	PEER_GETS(&p, F_WRLCK, 0, 10);
	peer_stop(&p);
	close(fd);
}

TEST_F(lk, ofd_conflict)
{
	struct flock fl;
	int fd1, fd2;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd1, F_OFD_SETLK, F_WRLCK, 0, 100));
	/* two open file descriptions of one process conflict */
	ASSERT_ERRNO(EAGAIN, lk(fd2, F_OFD_SETLK, F_WRLCK, 50, 1));
	ASSERT_ERRNO(EAGAIN, lk(fd2, F_OFD_SETLK, F_RDLCK, 0, 1));
	ASSERT_SYS(lk(fd2, F_OFD_SETLK, F_WRLCK, 100, 50));
	/* the owning description may change its own lock */
	ASSERT_SYS(lk(fd1, F_OFD_SETLK, F_RDLCK, 0, 100));
	ASSERT_SYS(lk(fd2, F_OFD_SETLK, F_RDLCK, 0, 10));

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 120;
	fl.l_len = 1;
	ASSERT_SYS(fcntl(fd1, F_OFD_GETLK, &fl));
	EXPECT_EQ(F_WRLCK, fl.l_type);
	EXPECT_EQ(100, fl.l_start);
	EXPECT_EQ(50, fl.l_len);
	EXPECT_EQ(-1, fl.l_pid);

	/* a POSIX lock of this very process conflicts with an OFD lock */
	ASSERT_ERRNO(EAGAIN, lk(fd1, F_SETLK, F_WRLCK, 110, 1));
	ASSERT_SYS(lk(fd2, F_OFD_SETLK, F_UNLCK, 0, 0));
	ASSERT_SYS(lk(fd1, F_SETLK, F_WRLCK, 110, 1));
	ASSERT_ERRNO(EAGAIN, lk(fd2, F_OFD_SETLK, F_WRLCK, 50, 1));
	ASSERT_SYS(lk(fd1, F_OFD_SETLK, F_UNLCK, 0, 0));
	ASSERT_SYS(lk(fd2, F_OFD_SETLK, F_WRLCK, 50, 1));
	/* OFD commands want l_pid 0 */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_pid = 1;
	ASSERT_ERRNO(EINVAL, fcntl(fd1, F_OFD_SETLK, &fl));
	close(fd1);
	close(fd2);
}

TEST_F(lk, ofd_dup_shares_lock)
{
	int fd1, fd2, dupfd;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd1, F_OFD_SETLK, F_WRLCK, 0, 0));
	dupfd = ASSERT_SYS(dup(fd1));
	/* the dup is the same description: it owns the lock too */
	ASSERT_SYS(lk(dupfd, F_OFD_SETLK, F_WRLCK, 0, 10));
	ASSERT_SYS(close(fd1));
	/* closing one of its fds does not release an OFD lock */
	ASSERT_ERRNO(EAGAIN, lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1));
	ASSERT_SYS(lk(dupfd, F_OFD_SETLK, F_UNLCK, 0, 0));
	ASSERT_SYS(lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1));
	close(dupfd);
	close(fd2);
}

TEST_F(lk, ofd_last_close)
{
	int fd1, fd2, r, e, i;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(lk(fd1, F_OFD_SETLK, F_WRLCK, 0, 0));
	ASSERT_ERRNO(EAGAIN, lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1));
	ASSERT_SYS(close(fd1));
	/*
	 * The last close of the description should drop its OFD locks. The
	 * kernel sends no unlock for them (it sends FLUSH with the POSIX
	 * owner and RELEASE), and QEMU 7.2's virtiofsd then keeps the lock
	 * until it forgets the inode. Accept both, but it must be gone once
	 * nobody has the file open and the guest has forgotten the inode.
	 */
	r = lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1);
	e = errno;
	TH_LOG("OFD lock after the holder's last close: %s",
	       r ? vfs_errname(e) : "released");
	if (!r) {
		ASSERT_SYS(close(fd2));
		return;
	}
	ASSERT_EQ(EAGAIN, e);
	ASSERT_SYS(close(fd2));
	/*
	 * The FORGET is asynchronous: a LOOKUP that overtakes it keeps the
	 * device's inode (and the lock) alive. Give it a few rounds.
	 */
	for (i = 0; i < 10; i++) {
		ASSERT_DROP_CACHES();
		usleep(300000);
		fd2 = ASSERT_SYS(open(self->file, O_RDWR));
		r = lk(fd2, F_OFD_SETLK, F_WRLCK, 0, 1);
		e = errno;
		close(fd2);
		if (!r)
			break;
	}
	if (r)
		TH_LOG("still locked after all closes and %d cache drops: %s",
		       i, vfs_errname(e));
	else
		TH_LOG("released after %d cache drop(s)", i + 1);
	ASSERT_EQ(0, r);
}

static int flk(int fd, int op)
{
	return flock(fd, op);
}

TEST_F(lk, flock_exclusive)
{
	struct peer p;
	struct pres r;
	int fd1, fd2;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(flk(fd1, LOCK_EX | LOCK_NB));
	ASSERT_ERRNO(EWOULDBLOCK, flk(fd2, LOCK_EX | LOCK_NB));
	ASSERT_ERRNO(EWOULDBLOCK, flk(fd2, LOCK_SH | LOCK_NB));
	peer_start(&p);
	r = peer_do(&p, P_FLOCK, LOCK_EX | LOCK_NB, 0, 0);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EWOULDBLOCK, r.err);
	/* flock and POSIX locks do not see each other */
	PEER_GETS(&p, F_WRLCK, 0, 0);
	ASSERT_SYS(peer_do(&p, P_SETLK, F_UNLCK, 0, 0).ret);

	ASSERT_SYS(flk(fd1, LOCK_UN | LOCK_NB));
	ASSERT_SYS(flk(fd2, LOCK_EX | LOCK_NB));
	ASSERT_ERRNO(EWOULDBLOCK, flk(fd1, LOCK_SH | LOCK_NB));
	r = peer_do(&p, P_FLOCK, LOCK_SH | LOCK_NB, 0, 0);
	EXPECT_EQ(EWOULDBLOCK, r.ret ? r.err : 0);
	/* conversion of our own lock to shared lets other readers in */
	ASSERT_SYS(flk(fd2, LOCK_SH | LOCK_NB));
	ASSERT_SYS(flk(fd1, LOCK_SH | LOCK_NB));
	r = peer_do(&p, P_FLOCK, LOCK_SH | LOCK_NB, 0, 0);
	EXPECT_EQ(0, r.ret);
	r = peer_do(&p, P_FLOCK, LOCK_UN | LOCK_NB, 0, 0);
	EXPECT_EQ(0, r.ret);
	peer_stop(&p);
	close(fd1);
	close(fd2);
}

TEST_F(lk, flock_close_releases)
{
	struct peer p;
	struct pres r;
	int fd1, fd2, dupfd;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(flk(fd1, LOCK_EX | LOCK_NB));
	dupfd = ASSERT_SYS(dup(fd1));
	/* a dup shares the lock; closing one fd keeps it */
	ASSERT_SYS(close(fd1));
	ASSERT_ERRNO(EWOULDBLOCK, flk(fd2, LOCK_EX | LOCK_NB));
	/* the last close of the description releases it */
	ASSERT_SYS(close(dupfd));
	ASSERT_SYS(flk(fd2, LOCK_EX | LOCK_NB));
	ASSERT_SYS(close(fd2));

	/* a holder that exits releases it */
	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	peer_start(&p);
	r = peer_do(&p, P_FLOCK, LOCK_EX | LOCK_NB, 0, 0);
	ASSERT_EQ(0, r.ret);
	ASSERT_ERRNO(EWOULDBLOCK, flk(fd1, LOCK_SH | LOCK_NB));
	peer_stop(&p);
	ASSERT_SYS(flk(fd1, LOCK_EX | LOCK_NB));
	close(fd1);
}

TEST_F(lk, flock_blocking_unlock)
{
	int fd1, fd2, r, e;

	fd1 = ASSERT_SYS(open(self->file, O_RDWR));
	fd2 = ASSERT_SYS(open(self->file, O_RDWR));
	ASSERT_SYS(flk(fd1, LOCK_EX | LOCK_NB));
	/* without LOCK_NB this is a blocking request even for an unlock */
	r = flk(fd1, LOCK_UN);
	e = errno;
	TH_LOG("flock(LOCK_UN) without LOCK_NB: %s", r ? vfs_errname(e) : "done");
	if (r) {
		ASSERT_EQ(EOPNOTSUPP, e);
		ASSERT_ERRNO(EWOULDBLOCK, flk(fd2, LOCK_EX | LOCK_NB));
		ASSERT_SYS(flk(fd1, LOCK_UN | LOCK_NB));
	}
	ASSERT_SYS(flk(fd2, LOCK_EX | LOCK_NB));
	/* an uncontended blocking lock: granted or EOPNOTSUPP, never a hang */
	ASSERT_SYS(flk(fd2, LOCK_UN | LOCK_NB));
	r = flk(fd1, LOCK_SH);
	e = errno;
	TH_LOG("uncontended flock(LOCK_SH): %s", r ? vfs_errname(e) : "granted");
	/* if granted, it is held */
	if (!r)
		ASSERT_ERRNO(EWOULDBLOCK, flk(fd2, LOCK_EX | LOCK_NB));
	ASSERT_EQ(0, r ? e - EOPNOTSUPP : 0);
	close(fd1);
	close(fd2);
}

TEST_HARNESS_MAIN
