/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: the driver's shared types.
 *
 * Three objects carry the driver:
 *
 *  - struct vtfs_device: one bound virtio-fs device (VIRTIO_ID_FS) with its
 *    virtqueues. It lives from probe until the last reference is gone; a
 *    mount holds a reference through its session.
 *  - struct vtfs_queue: one virtqueue (hiprio or a request queue) with the
 *    requests that wait for room in its ring.
 *  - struct vtfs_session: one FUSE connection (one mounted superblock) on a
 *    device. It owns what the driver must know to bring the connection back
 *    after the device was reset: the FUSE_INIT it negotiated and, later, the
 *    objects, handles and locks the fuse core holds.
 *
 * Every request that goes to the device is a struct vtfs_req: a single
 * allocation holding the request as sent (header and inline arguments), room
 * for the reply header and inline reply arguments, and its scatterlists.
 */
#ifndef _FUSE_VIRTIO_H
#define _FUSE_VIRTIO_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/virtio.h>

#include "fuse_i.h"
#include "state.h"

#define VTFS_NAME "virtio_fs"

/* Queue 0 is the hiprio queue (FORGET), request queues follow. */
#define VTFS_HIPRIO 0
#define VTFS_FIRST_REQUEST_QUEUE 1

/*
 * Fallback retry of a queue whose ring had no room or whose request could
 * not be allocated. Completions normally refill the ring long before this
 * fires; the timer only matters for a device that completes nothing. It
 * starts at VTFS_BACKOFF_MIN_MS and doubles up to VTFS_BACKOFF_MAX_MS.
 */
#define VTFS_BACKOFF_MIN_MS 10
#define VTFS_BACKOFF_MAX_MS 1024

/* Most FORGET entries sent in one FUSE_BATCH_FORGET. */
#define VTFS_FORGET_BATCH 128

/* Highest FUSE opcode counted per opcode in debugfs (FUSE_SYNCFS is 50). */
#define VTFS_MAX_OPCODE 64

/* Longest reattach_timeout (mount option and module parameter), a day. */
#define VTFS_REATTACH_MAX_S 86400

/* How long a request of the driver's own (recovery) may take. */
#define VTFS_CALL_TIMEOUT_MS 15000

/* pm_policy module parameter and pm= mount option */
enum vtfs_pm_policy {
	VTFS_PM_DEFAULT = -1,	/* mount option absent: the module's policy */
	VTFS_PM_RESTORE,	/* freeze, then recover the session on restore */
	VTFS_PM_REFUSE,		/* refuse to freeze while mounted */
};

/**
 * struct vtfs_queue_stats - counters of one virtqueue, shown in debugfs
 * @sent: buffers added to the ring
 * @completed: buffers the device returned
 * @ring_full: times adding a buffer failed for lack of room or memory
 * @waited: requests that had to wait before they reached the ring
 * @max_waiting: the most requests waiting at once
 * @backoff_fired: backoff timer runs that found requests waiting
 * @bad_replies: replies that failed validation (request ended with -EIO)
 * @unmatched: completions that matched no request of ours
 */
struct vtfs_queue_stats {
	u64 sent;
	u64 completed;
	u64 ring_full;
	u64 waited;
	u64 max_waiting;
	u64 backoff_fired;
	u64 bad_replies;
	u64 unmatched;
};

/**
 * struct vtfs_queue - one virtqueue and its waiting requests
 * @lock: protects @vq, @running, @in_flight, @in_ring, @fault_held,
 *	@waiting, @unbuilt, @nr_waiting, @backoff_ms and @stats
 * @vq: the virtqueue; NULL while the queues are down (freeze, remove)
 * @running: the ring accepts buffers; false while quiescing or down
 * @in_flight: buffers in the ring that the device has not returned
 * @in_ring: the &struct vtfs_req of those buffers, oldest first
 * @fault_held: completed requests fault injection holds back (fault.h);
 *	they still count in @in_flight. Always empty in normal builds.
 * @waiting: built &struct vtfs_req waiting for room in the ring, oldest first
 * @unbuilt: &struct fuse_req (linked by ->list) whose vtfs_req could not be
 *	allocated in atomic context; they follow every entry of @waiting
 * @nr_waiting: entries on @waiting plus @unbuilt
 * @backoff_ms: delay of the next fallback retry
 * @stats: counters
 * @dev: the device this queue belongs to
 * @done_work: harvests completions, then refills the ring from @waiting
 * @retry_work: the bounded backoff fallback (see VTFS_BACKOFF_MIN_MS)
 * @idle: woken when @in_flight and @nr_waiting drop to zero
 * @index: 0 for hiprio, 1.. for request queues
 * @name: virtqueue name
 */
struct vtfs_queue {
	spinlock_t lock; /* protects the fields up to @stats */
	struct virtqueue *vq;
	bool running;
	unsigned int in_flight;
	struct list_head in_ring;
	struct list_head fault_held;
	struct list_head waiting;
	struct list_head unbuilt;
	unsigned int nr_waiting;
	unsigned int backoff_ms;
	struct vtfs_queue_stats stats;

	struct vtfs_device *dev;
	struct work_struct done_work;
	struct delayed_work retry_work;
	wait_queue_head_t idle;
	unsigned int index;
	char name[24];
} ____cacheline_aligned_in_smp;

/**
 * struct vtfs_device - one bound virtio-fs device
 * @ref: references: probe holds one until remove, each session one
 * @vdev: the virtio device; NULL once removed
 * @list: entry on the list of devices, under vtfs_devices_lock
 * @tag: the mount tag from the device config
 * @index: number of the /sys/fs/virtiofs/<index> directory
 * @kobj: that sysfs directory; NULL when sysfs registration failed
 * @lock: serializes probe, remove, freeze, restore, mount and unmount of
 *	this device, and protects @session and @queues_up
 * @session: the mounted session, or NULL (also read under RCU)
 * @queues_up: the virtqueues exist and the device is DRIVER_OK
 * @nr_queues: hiprio plus request queues
 * @queues: @nr_queues queues, hiprio first
 * @max_pages: most data pages one request may carry on these rings
 * @op_count: requests sent per FUSE opcode (debugfs)
 * @debugfs: this device's debugfs directory
 * @broken_work: takes the queues down once the virtio ring found the device
 *	breaking the protocol (see vtfs_queue_done_work())
 * @reset_work: resets the device once it reported that it needs a reset
 *	(pm.c)
 * @resetting: @reset_work is resetting the device: freeze neither waits nor
 *	refuses (under @lock)
 */
struct vtfs_device {
	struct kref ref;
	struct virtio_device *vdev;
	struct list_head list;
	char *tag;
	unsigned int index;
	struct kobject *kobj;

	struct mutex lock; /* see @lock above */
	struct vtfs_session __rcu *session;
	bool queues_up;

	unsigned int nr_queues;
	struct vtfs_queue *queues;
	unsigned int max_pages;

	atomic64_t op_count[VTFS_MAX_OPCODE];
	struct dentry *debugfs;
	struct work_struct broken_work;
	struct work_struct reset_work;
	bool resetting;
};

/**
 * enum vtfs_session_state - where a session sends the fuse core's requests
 * @VTFS_LIVE: to the device
 * @VTFS_HELD: to the held list; the device is frozen or being recovered
 * @VTFS_DEAD: nowhere; they end with the session's error (device removed,
 *	unmounting, or recovery failed)
 */
enum vtfs_session_state {
	VTFS_LIVE,
	VTFS_HELD,
	VTFS_DEAD,
};

/**
 * struct vtfs_session - one FUSE connection on a device
 * @ref: held by the fuse connection (released by its fiq ->release) and by
 *	work that runs on the session
 * @fc: the fuse connection; valid while @ref is held
 * @fm: the first fuse_mount of the connection (the mounted superblock)
 * @dev: the device this session talks to (RCU; NULL once detached)
 * @tag: the tag of the device it was mounted from; a new device must have
 *	it to adopt the session
 * @lock: protects @state, @held, @to_end, @dead_error, @frozen and the
 *	FORGET list
 * @state: see &enum vtfs_session_state
 * @held: fuse requests (linked by ->list) waiting for the session to be
 *	live again, oldest first
 * @to_end: fuse requests to end with @dead_error from process context
 * @dead_error: the error requests get in %VTFS_DEAD (negative errno)
 * @frozen: the device is frozen or its session not recovered yet: held
 *	requests stay held (under @lock)
 * @forgets: FORGETs from the fuse core not sent yet, oldest first (under
 *	@lock)
 * @forgets_tail: where the next one goes
 * @nr_forgets: links on @forgets
 * @end_work: ends @to_end
 * @release_work: sends held requests once the session is not frozen,
 *	finding objects again first where a request needs it
 * @forget_work: moves FORGETs from the fuse core's queue to the hiprio queue
 * @recover_work: recovers the session after a restore (pm.c)
 * @resolve_work: finds the remaining objects again after that (pm.c)
 * @pm_policy: &enum vtfs_pm_policy from the pm= mount option
 * @reattach_timeout: seconds the mount waits, detached, for a new device
 *	with its tag after its device went away; -1: the module's default
 * @orphan: entry on the list of detached sessions (reattach.c), under
 *	vtfs_orphans_lock; empty while the session has a device or is dead
 * @detached_at: jiffies when the session was detached (under
 *	vtfs_orphans_lock)
 * @orphan_work: ends a detached session when its timeout passes
 * @reattaches: times the session was adopted by a new device
 * @init_in: the FUSE_INIT arguments the fuse core sent
 * @init_out: the reply the device gave to them
 * @init_done: @init_in and @init_out are valid
 * @st: what the fuse core holds, to bring it back after a reset
 */
struct vtfs_session {
	struct kref ref;
	struct fuse_conn *fc;
	struct fuse_mount *fm;
	struct vtfs_device __rcu *dev;
	char *tag;

	spinlock_t lock; /* see @lock above */
	enum vtfs_session_state state;
	struct list_head held;
	struct list_head to_end;
	int dead_error;
	bool frozen;
	struct fuse_forget_link *forgets;
	struct fuse_forget_link **forgets_tail;
	unsigned int nr_forgets;

	struct work_struct end_work;
	struct work_struct release_work;
	struct delayed_work forget_work;
	struct work_struct recover_work;
	struct work_struct resolve_work;
	int pm_policy;

	int reattach_timeout;
	struct list_head orphan;
	unsigned long detached_at;
	struct delayed_work orphan_work;
	unsigned int reattaches;

	struct fuse_init_in init_in;
	struct fuse_init_out init_out;
	bool init_done;

	struct vtfs_state st;
};

/**
 * struct vtfs_call - a request of the driver's own (FUSE_INIT, LOOKUP, OPEN,
 * SETLK during recovery) and its reply
 * @ref: one for the waiter, one for the request on its way
 * @done: completed when the reply arrived or the request was cancelled
 * @error: 0, the device's error, or -EIO for a reply that failed checks
 * @out_len: bytes of reply payload in @out
 * @out_size: room in @out
 * @out: the reply payload (what follows the reply header)
 */
struct vtfs_call {
	struct kref ref;
	struct completion done;
	int error;
	unsigned int out_len;
	unsigned int out_size;
	u8 out[];
};

/**
 * struct vtfs_req - one request on its way to the device and back
 * @list: entry on its queue's waiting or in-ring list
 * @freq: the fuse core's request, or NULL for a driver-built request
 * @call: the driver's own request waiting for this reply, or NULL (FORGET)
 * @sess: the session of @freq (no reference: @freq pins the connection)
 * @end_work: runs the fuse core's end callback when it may block
 * @in_len: bytes of @buf sent to the device (header and inline arguments)
 * @out_len: bytes of @buf the device may write (reply header and inline
 *	reply arguments); zero when no reply is expected
 * @nr_out_sg: entries of @sg that the device reads
 * @nr_in_sg: entries of @sg that the device writes, after the read ones
 * @used: bytes the device wrote, as it reported on completion
 * @sg: @nr_out_sg + @nr_in_sg scatterlist entries (inside this allocation)
 * @buf: the request as sent, then (8-byte aligned) the reply area
 *
 * The request header is the first thing in @buf, the reply header the first
 * thing of the reply area.
 */
struct vtfs_req {
	struct list_head list;
	struct fuse_req *freq;
	struct vtfs_call *call;
	struct vtfs_session *sess;
	struct work_struct end_work;
	unsigned int in_len;
	unsigned int out_len;
	unsigned short nr_out_sg;
	unsigned short nr_in_sg;
	unsigned int used;
	struct scatterlist *sg;
	u8 buf[] __aligned(8);
};

static inline struct fuse_in_header *vtfs_req_ih(struct vtfs_req *vreq)
{
	return (struct fuse_in_header *)vreq->buf;
}

static inline u8 *vtfs_req_reply(struct vtfs_req *vreq)
{
	return vreq->buf + ALIGN(vreq->in_len, 8);
}

static inline struct fuse_out_header *vtfs_req_oh(struct vtfs_req *vreq)
{
	return (struct fuse_out_header *)vtfs_req_reply(vreq);
}

/* virtio.c */
extern struct workqueue_struct *vtfs_wq;
struct vtfs_device *vtfs_device_get_by_tag(const char *tag);
void vtfs_device_put(struct vtfs_device *dev);
int vtfs_queues_create(struct vtfs_device *dev);
int vtfs_queues_quiesce(struct vtfs_device *dev, unsigned long timeout,
			struct list_head *parked, u32 *stuck);
int vtfs_queues_drain(struct vtfs_device *dev, unsigned long timeout,
		      u32 *stuck);
void vtfs_queues_restart(struct vtfs_device *dev);
void vtfs_queues_destroy(struct vtfs_device *dev, int error);
void vtfs_visit_devices(void (*fn)(struct vtfs_device *dev));

/* queue.c */
void vtfs_queue_init(struct vtfs_queue *q, struct vtfs_device *dev,
		     unsigned int index);
void vtfs_queue_start(struct vtfs_queue *q, struct virtqueue *vq);
void vtfs_queue_stop(struct vtfs_queue *q, struct list_head *parked);
int vtfs_queue_wait_idle(struct vtfs_queue *q, unsigned long timeout);
void vtfs_queue_cancel(struct vtfs_queue *q, int error);
u32 vtfs_queue_oldest_opcode(struct vtfs_queue *q);
void vtfs_vq_done(struct virtqueue *vq);
struct vtfs_queue *vtfs_pick_queue(struct vtfs_device *dev);
int vtfs_queue_submit_fuse(struct vtfs_queue *q, struct vtfs_session *sess,
			   struct fuse_req *req, gfp_t gfp, unsigned int flags);
int vtfs_queue_submit_forgets(struct vtfs_queue *q, u64 unique,
			      const struct fuse_forget_link *head,
			      unsigned int count);
bool vtfs_queue_backlogged(struct vtfs_queue *q);
int vtfs_call(struct vtfs_session *sess, struct vtfs_device *dev, u32 opcode,
	      u64 nodeid, const struct fuse_in_header *creds,
	      const void *in1, unsigned int len1,
	      const void *in2, unsigned int len2,
	      void *out, unsigned int out_size);

/* session.c */
struct vtfs_session *vtfs_session_create(struct vtfs_device *dev);
void vtfs_session_put(struct vtfs_session *sess);
void vtfs_session_submit(struct vtfs_session *sess, struct fuse_req *req);
void vtfs_session_park(struct vtfs_session *sess, struct fuse_req *req);
void vtfs_session_unpark(struct vtfs_session *sess, struct list_head *parked);
void vtfs_session_hold(struct vtfs_session *sess);
void vtfs_session_kill(struct vtfs_session *sess, int error);
void vtfs_session_attach(struct vtfs_session *sess);
void vtfs_session_detach(struct vtfs_session *sess);
void vtfs_session_unlink_device(struct vtfs_session *sess);
void vtfs_session_interrupted(struct vtfs_session *sess, struct fuse_req *req);
void vtfs_device_kick_forgets(struct vtfs_device *dev);
int vtfs_session_sent(struct vtfs_session *sess, struct fuse_req *req,
		      struct vtfs_req *vreq, unsigned int flags);
int vtfs_session_reply(struct vtfs_session *sess, struct fuse_req *req,
		       struct vtfs_req *vreq);
void vtfs_session_reroute(struct vtfs_session *sess, struct fuse_req *req,
			  int ret);
void vtfs_session_kick(struct vtfs_session *sess);
void vtfs_session_queue_forgets(struct vtfs_session *sess,
				struct fuse_forget_link *head,
				struct fuse_forget_link *tail,
				unsigned int count);
void vtfs_session_thaw(struct vtfs_session *sess);
struct vtfs_device *vtfs_session_get_device(struct vtfs_session *sess);
extern const struct fuse_iqueue_ops vtfs_fiq_ops;

/* reattach.c */
bool vtfs_reattach_keep(struct vtfs_device *dev, struct vtfs_session *sess);
void vtfs_reattach_orphan(struct vtfs_session *sess);
void vtfs_reattach_adopt(struct vtfs_device *dev);
void vtfs_reattach_forget(struct vtfs_session *sess);
void vtfs_reattach_init_session(struct vtfs_session *sess);
void vtfs_reattach_show(struct seq_file *m);

/* super.c */
int vtfs_register_fs(void);
void vtfs_unregister_fs(void);

/* debugfs.c */
void vtfs_debugfs_init(void);
void vtfs_debugfs_exit(void);
void vtfs_debugfs_add_device(struct vtfs_device *dev);
void vtfs_debugfs_remove_device(struct vtfs_device *dev);

#endif /* _FUSE_VIRTIO_H */
