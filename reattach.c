// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: keeping a mount whose device went away, for a new device
 * with the same tag.
 *
 * When the device under a mount is removed (hot-unplug, driver unbind) and
 * the mount's reattach_timeout is not zero, remove keeps the session rather
 * than failing it: its requests are held as during a suspend, and the
 * session waits, detached, on the list of orphans with the tag of the
 * device it lost. A virtio-fs device probed later with that tag adopts it
 * (vtfs_reattach_adopt()), and the session recovery of pm.c runs as after a
 * restore: the new device may be served by a new virtiofsd that never saw
 * this guest. If none comes within the timeout, the session ends and its
 * requests fail with ENOTCONN, as they would have at once without one.
 *
 * Lock order: vtfs_devices_lock (virtio.c), then a device's lock, then
 * vtfs_orphans_lock. Adoption claims a session under vtfs_orphans_lock
 * alone and attaches it under the new device's lock afterwards.
 */

#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>

#include "fuse_virtio.h"

static unsigned int reattach_timeout;
module_param(reattach_timeout, uint, 0644);
MODULE_PARM_DESC(reattach_timeout,
		 "Seconds a mount whose device was removed waits for a new device with its tag (default 0: it fails at once)");

/* Detached sessions, oldest first, linked by ->orphan. */
static LIST_HEAD(vtfs_orphans);
static DEFINE_MUTEX(vtfs_orphans_lock);

static unsigned int vtfs_reattach_seconds(struct vtfs_session *sess)
{
	if (sess->reattach_timeout < 0)
		return min_t(unsigned int, READ_ONCE(reattach_timeout),
			     VTFS_REATTACH_MAX_S);
	return sess->reattach_timeout;
}

/* A session that waited in vain: it ends the way remove ends one. */
static void vtfs_orphan_timeout_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(to_delayed_work(work),
						 struct vtfs_session,
						 orphan_work);
	mutex_lock(&vtfs_orphans_lock);
	if (list_empty(&sess->orphan)) {
		mutex_unlock(&vtfs_orphans_lock);
		return;
	}
	list_del_init(&sess->orphan);
	vtfs_session_kill(sess, -ENOTCONN);
	fuse_abort_conn(sess->fc);
	mutex_unlock(&vtfs_orphans_lock);

	pr_warn("%s: tag %s: no device with this tag came within %u s; the mount fails with ENOTCONN until it is unmounted\n",
		VTFS_NAME, sess->tag, vtfs_reattach_seconds(sess));
}

/**
 * vtfs_reattach_init_session() - set up a new session's re-attach state
 * @sess: the session
 *
 * Context: process.
 */
void vtfs_reattach_init_session(struct vtfs_session *sess)
{
	INIT_LIST_HEAD(&sess->orphan);
	INIT_DELAYED_WORK(&sess->orphan_work, vtfs_orphan_timeout_work);
	sess->reattach_timeout = -1;
}

/**
 * vtfs_reattach_keep() - should the removal of @dev keep @sess?
 * @dev: the device being removed, with its lock held
 * @sess: its mounted session
 *
 * A session is kept when its mount asked for it (a re-attach timeout), it
 * finished FUSE_INIT (recovery repeats it) and it is not dead.
 *
 * Context: process.
 * Return: true to keep the session for a new device.
 */
bool vtfs_reattach_keep(struct vtfs_device *dev, struct vtfs_session *sess)
{
	bool alive;

	lockdep_assert_held(&dev->lock);
	spin_lock(&sess->lock);
	alive = sess->state != VTFS_DEAD;
	spin_unlock(&sess->lock);
	return alive && sess->init_done && vtfs_reattach_seconds(sess);
}

/**
 * vtfs_reattach_orphan() - let a session wait for a new device with its tag
 * @sess: the session; held, and unlinked from its device
 *
 * Context: process; the removed device's lock is held.
 */
void vtfs_reattach_orphan(struct vtfs_session *sess)
{
	unsigned int secs = vtfs_reattach_seconds(sess);

	mutex_lock(&vtfs_orphans_lock);
	sess->detached_at = jiffies;
	list_add_tail(&sess->orphan, &vtfs_orphans);
	mod_delayed_work(system_wq, &sess->orphan_work, secs * HZ);
	mutex_unlock(&vtfs_orphans_lock);
	pr_warn("%s: tag %s: device removed while mounted; the mount waits up to %u s for a new device with this tag\n",
		VTFS_NAME, sess->tag, secs);
}

/**
 * vtfs_reattach_adopt() - give a new device the session waiting for its tag
 * @dev: the new device: its queues are up, the device is ready, and no
 *	mount can find it yet
 *
 * The session's recovery (pm.c) then runs on @dev; its held requests go
 * out once it is done.
 *
 * Context: process; vtfs_devices_lock is held.
 */
void vtfs_reattach_adopt(struct vtfs_device *dev)
{
	struct vtfs_session *sess = NULL, *pos;
	unsigned int detached_ms = 0;

	mutex_lock(&vtfs_orphans_lock);
	list_for_each_entry(pos, &vtfs_orphans, orphan) {
		if (!strcmp(pos->tag, dev->tag)) {
			sess = pos;
			break;
		}
	}
	if (sess) {
		list_del_init(&sess->orphan);
		detached_ms = jiffies_to_msecs(jiffies - sess->detached_at);
	}
	mutex_unlock(&vtfs_orphans_lock);
	if (!sess)
		return;
	/* Off the list, the timeout work finds nothing to do. */
	cancel_delayed_work(&sess->orphan_work);

	mutex_lock(&dev->lock);
	kref_get(&dev->ref);
	spin_lock(&sess->lock);
	rcu_assign_pointer(sess->dev, dev);
	spin_unlock(&sess->lock);
	rcu_assign_pointer(dev->session, sess);
	sess->reattaches++;
	/*
	 * Releases answered while detached change the record the recovery
	 * walks: let them finish first. From here on they are held.
	 */
	flush_work(&sess->end_work);
	queue_work(vtfs_wq, &sess->recover_work);
	mutex_unlock(&dev->lock);
	pr_info("%s: tag %s: re-attached the mount detached %u ms ago to %s; recovering its session\n",
		VTFS_NAME, dev->tag, detached_ms, dev_name(&dev->vdev->dev));
}

/**
 * vtfs_reattach_forget() - the mount of @sess is going away
 * @sess: the session
 *
 * A detached session stops waiting and ends its requests with ENOTCONN, so
 * that unmounting does not wait for the timeout.
 *
 * Context: process.
 */
void vtfs_reattach_forget(struct vtfs_session *sess)
{
	bool detached;

	mutex_lock(&vtfs_orphans_lock);
	detached = !list_empty(&sess->orphan);
	if (detached) {
		list_del_init(&sess->orphan);
		vtfs_session_kill(sess, -ENOTCONN);
	}
	mutex_unlock(&vtfs_orphans_lock);
	cancel_delayed_work_sync(&sess->orphan_work);
	if (detached)
		pr_info("%s: tag %s: detached mount unmounted\n", VTFS_NAME,
			sess->tag);
}

/**
 * vtfs_reattach_show() - the detached mounts, one line each, for debugfs
 * @m: the seq_file
 *
 * Context: process.
 */
void vtfs_reattach_show(struct seq_file *m)
{
	struct vtfs_session *sess;

	mutex_lock(&vtfs_orphans_lock);
	list_for_each_entry(sess, &vtfs_orphans, orphan)
		seq_printf(m, "tag %s detached_ms %u timeout_s %u\n",
			   sess->tag,
			   jiffies_to_msecs(jiffies - sess->detached_at),
			   vtfs_reattach_seconds(sess));
	mutex_unlock(&vtfs_orphans_lock);
}
