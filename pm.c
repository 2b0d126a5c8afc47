// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: freeze, restore and session recovery.
 *
 * Freeze holds new requests, waits a bounded time for those on the rings,
 * gives back the locks and handles the device holds for the session, and
 * takes the queues down with the helpers remove uses. Restore brings
 * them back with the helpers probe uses and recovers the session in the
 * background, so resume is not held up; requests wait until it is done.
 *
 * The virtio core resets the device on every restore, and the device may
 * even be a new process that never saw this guest: nodeids and handles of
 * the old device session mean nothing to it. Recovery therefore:
 *
 *  1. negotiates FUSE_INIT again with the arguments of the mount and checks
 *     that the answer is one the fuse core can live with;
 *  2. opens every open file and directory again, finding its object by the
 *     names recorded from earlier replies and checking that the inode
 *     number and type are those recorded, and that the object is not one
 *     that may have replaced it under the same inode number (see
 *     vtfs_maybe_replaced());
 *  3. takes every lock the guest holds again, without blocking.
 *
 * Other objects are found again lazily, when a request names them
 * (vtfs_resolve_request()), and by a background walk once the session runs
 * again, so that recovery time grows with open handles and locks, not with
 * the number of cached inodes. What cannot be found
 * again fails alone: ESTALE for a gone or replaced object, EIO for I/O
 * through a file whose lock another owner took meanwhile.
 */

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/virtio_config.h>

#include "fuse_virtio.h"
#include "pm.h"

/* Most names looked up to find one object again. */
#define VTFS_RESOLVE_STEPS 4096

static const char * const vtfs_pm_policy_names[] = {
	[VTFS_PM_RESTORE] = "restore",
	[VTFS_PM_REFUSE] = "refuse",
};

static int vtfs_pm_policy = VTFS_PM_RESTORE;
static unsigned int freeze_timeout_ms = 5000;

static int vtfs_pm_policy_set(const char *val, const struct kernel_param *kp)
{
	int policy = sysfs_match_string(vtfs_pm_policy_names, val);

	if (policy < 0)
		return -EINVAL;
	*(int *)kp->arg = policy;
	return 0;
}

static int vtfs_pm_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", vtfs_pm_policy_names[*(int *)kp->arg]);
}

static const struct kernel_param_ops vtfs_pm_policy_ops = {
	.set = vtfs_pm_policy_set,
	.get = vtfs_pm_policy_get,
};

module_param_cb(pm_policy, &vtfs_pm_policy_ops, &vtfs_pm_policy, 0644);
MODULE_PARM_DESC(pm_policy,
		 "What a mounted device does on suspend: restore (default) or refuse");
module_param(freeze_timeout_ms, uint, 0644);
MODULE_PARM_DESC(freeze_timeout_ms,
		 "How long freeze waits for requests on the rings before it refuses the suspend (default 5000)");

/**
 * vtfs_pm_policy_name() - name of a policy, for messages
 * @policy: &enum vtfs_pm_policy, not VTFS_PM_DEFAULT
 *
 * Return: "restore" or "refuse".
 */
const char *vtfs_pm_policy_name(int policy)
{
	return vtfs_pm_policy_names[policy];
}

static int vtfs_effective_policy(struct vtfs_session *sess)
{
	return sess->pm_policy == VTFS_PM_DEFAULT ? READ_ONCE(vtfs_pm_policy) :
	       sess->pm_policy;
}

/*
 * Find @target again in the current device session by looking its names up
 * from the nearest ancestor that is known. A name that is gone or now leads
 * to another object (other inode number or type) is dropped; an object left
 * without names is stale.
 */
static int vtfs_resolve_node(struct vtfs_session *sess,
			     struct vtfs_device *dev,
			     struct vtfs_node *target)
{
	struct vtfs_state *st = &sess->st;
	struct vtfs_node *node, *parent;
	struct fuse_entry_out entry;
	unsigned int steps, len;
	u64 dev_parent;
	char *name;
	int ret;

	for (steps = 0; steps < VTFS_RESOLVE_STEPS; steps++) {
		mutex_lock(&st->lock);
		if (target->dev_nodeid) {
			mutex_unlock(&st->lock);
			return 0;
		}
		for (node = target;; node = parent) {
			if (node->flags & VTFS_NODE_STALE)
				break;
			parent = node->parent;
			if (!(node->flags & VTFS_NODE_NAMED) ||
			    (parent->flags & VTFS_NODE_STALE)) {
				vtfs_state_mark_stale(st, node);
				break;
			}
			if (parent->dev_nodeid)
				break;
		}
		if (node->flags & VTFS_NODE_STALE) {
			vtfs_state_mark_stale(st, target);
			mutex_unlock(&st->lock);
			pr_debug("%s: tag %s: inode %llu is gone on the host: ESTALE\n",
				 VTFS_NAME, dev->tag, target->ino);
			return -ESTALE;
		}
		len = node->namelen;
		name = kmemdup_nul(node->name, len, GFP_NOIO);
		dev_parent = parent->dev_nodeid;
		node->refs++;
		mutex_unlock(&st->lock);

		ret = -ENOMEM;
		if (name)
			ret = vtfs_call(sess, dev, FUSE_LOOKUP, dev_parent, NULL,
					name, len + 1, NULL, 0, &entry,
					sizeof(entry));
		kfree(name);
		if (ret >= 0 && ret < (int)sizeof(entry))
			ret = -EIO;

		mutex_lock(&st->lock);
		if (ret >= 0 && entry.nodeid) {
			ret = 0;
			if (node->dev_nodeid) {
				/* Found meanwhile through a reply. */
				if (node->dev_nodeid == entry.nodeid)
					node->dev_nlookup++;
				else
					vtfs_state_dev_forget(st, entry.nodeid, 1);
			} else if (vtfs_same_object(node, &entry.attr) &&
				   !vtfs_state_bind_dev(st, node, entry.nodeid)) {
				node->dev_nlookup++;
				vtfs_state_check_ctime(st, node, &entry.attr);
				st->recovery.resolved_nodes++;
				pr_debug("%s: tag %s: inode %llu found again as nodeid %llu\n",
					 VTFS_NAME, dev->tag, node->ino,
					 entry.nodeid);
			} else {
				vtfs_state_dev_forget(st, entry.nodeid, 1);
				pr_debug("%s: tag %s: a name of inode %llu now leads to inode %llu\n",
					 VTFS_NAME, dev->tag, node->ino,
					 entry.attr.ino);
				vtfs_node_drop_name(st, node);
			}
		} else if (ret >= 0 || ret == -ENOENT) {
			ret = 0;
			vtfs_node_drop_name(st, node);
		}
		node->refs--;
		vtfs_node_release(st, node);
		mutex_unlock(&st->lock);
		if (st->dev_forgets)
			vtfs_session_kick(sess);
		if (ret)
			return ret;
	}
	return -ESTALE;
}

/* Find @node again if it waits to be; @node is pinned by the caller. */
static int vtfs_resolve_pinned(struct vtfs_session *sess,
			       struct vtfs_device *dev, struct vtfs_node *node)
{
	struct vtfs_state *st = &sess->st;
	int ret;

	ret = vtfs_resolve_node(sess, dev, node);
	mutex_lock(&st->lock);
	node->refs--;
	vtfs_node_release(st, node);
	mutex_unlock(&st->lock);
	return ret == -ESTALE ? 0 : ret;
}

/*
 * The object (@dir, in_args[@arg] of @req) names: pin it if it waits to be
 * found again.
 */
static struct vtfs_node *vtfs_named_pending(struct vtfs_state *st,
					    struct fuse_req *req, u64 dir,
					    unsigned int arg)
{
	const struct fuse_in_arg *in = &req->args->in_args[arg];
	struct vtfs_node *parent, *node = NULL;
	struct vtfs_alias *alias;

	if (arg >= req->args->in_numargs || in->size < 2)
		return NULL;
	mutex_lock(&st->lock);
	parent = vtfs_node_find(st, dir);
	if (parent)
		node = vtfs_name_lookup(st, parent, in->value,
					strnlen(in->value, in->size), &alias);
	if (node && (node->flags & VTFS_NODE_PENDING))
		node->refs++;
	else
		node = NULL;
	mutex_unlock(&st->lock);
	return node;
}

/**
 * vtfs_resolve_request() - find again the objects a held request names
 * @sess: the session
 * @dev: its device, with a reference
 * @req: the request
 *
 * Context: process, may sleep (it asks the device).
 * Return: 0 when the request can be tried again (its objects are found or
 * known stale), or a negative errno to end it with.
 */
int vtfs_resolve_request(struct vtfs_session *sess, struct vtfs_device *dev,
			 struct fuse_req *req)
{
	struct vtfs_state *st = &sess->st;
	const void *in0 = req->args->in_args[0].value;
	struct vtfs_node *named[2] = {};
	struct vtfs_node *node;
	unsigned int i, n;
	u64 ids[2];
	int ret = 0;

	n = vtfs_idmap_missing(sess, req, ids, ARRAY_SIZE(ids));
	for (i = 0; i < n && !ret; i++) {
		mutex_lock(&st->lock);
		node = vtfs_node_find(st, ids[i]);
		if (node)
			node->refs++;
		mutex_unlock(&st->lock);
		if (node)
			ret = vtfs_resolve_pinned(sess, dev, node);
	}

	/* The objects an unlink or rename names must be known too. */
	switch (req->in.h.opcode) {
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		named[0] = vtfs_named_pending(st, req, req->in.h.nodeid, 0);
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		named[0] = vtfs_named_pending(st, req, req->in.h.nodeid, 1);
		named[1] = vtfs_named_pending(st, req,
					      ((const struct fuse_rename_in *)in0)->newdir,
					      2);
		break;
	}
	for (i = 0; i < ARRAY_SIZE(named); i++)
		if (named[i]) {
			int nret = vtfs_resolve_pinned(sess, dev, named[i]);

			ret = ret ?: nret;
		}
	return ret;
}

static u64 vtfs_init_flags(const struct fuse_init_out *out)
{
	u64 flags = out->flags;

	if (flags & FUSE_INIT_EXT)
		flags |= (u64)out->flags2 << 32;
	return flags;
}

/* Step 1: FUSE_INIT again, and an answer the mount can live with. */
static int vtfs_recover_init(struct vtfs_session *sess, struct vtfs_device *dev)
{
	const struct fuse_init_out *old = &sess->init_out;
	struct fuse_init_out out = {};
	u64 lost;
	int ret;

	if (!sess->init_done) {
		pr_err("%s: tag %s: the mount never finished FUSE_INIT; it cannot be resumed\n",
		       VTFS_NAME, dev->tag);
		return -EPROTO;
	}
	ret = vtfs_call(sess, dev, FUSE_INIT, 0, NULL, &sess->init_in,
			sizeof(sess->init_in), NULL, 0, &out, sizeof(out));
	if (ret < 0) {
		pr_err("%s: tag %s: FUSE_INIT after resume failed (%d)\n",
		       VTFS_NAME, dev->tag, ret);
		return ret;
	}
	lost = vtfs_init_flags(old) & ~vtfs_init_flags(&out);
	if (out.major != old->major || out.minor != old->minor) {
		pr_err("%s: tag %s: after resume the device speaks FUSE %u.%u, the mount needs %u.%u\n",
		       VTFS_NAME, dev->tag, out.major, out.minor, old->major,
		       old->minor);
		return -EPROTO;
	}
	if (lost) {
		pr_err("%s: tag %s: after resume the device lacks capabilities the mount relies on (%#llx)\n",
		       VTFS_NAME, dev->tag, lost);
		return -EPROTO;
	}
	if (out.max_write < old->max_write ||
	    out.max_readahead < old->max_readahead ||
	    ((vtfs_init_flags(old) & FUSE_MAX_PAGES) &&
	     out.max_pages < old->max_pages) ||
	    dev->max_pages < sess->fc->max_pages) {
		pr_err("%s: tag %s: after resume the device takes smaller requests than the mount makes\n",
		       VTFS_NAME, dev->tag);
		return -EPROTO;
	}
	return 0;
}

/*
 * Whether @node, found again with its inode number and type, may still be
 * another object than the one its handles were open on. A host file system
 * gives a freed inode number to the next new file, so a file deleted and
 * created again while the device session was down can come back with the
 * same number and type, and the FUSE protocol shows no inode generation.
 * Its ctime then differs; but so does the ctime of a file only written to.
 * The directory tells them apart: every link, unlink or rename changes its
 * ctime, so a directory with the ctime it had still binds its names to the
 * same objects. An object with a changed ctime in a directory with a
 * changed ctime is therefore taken for another one: a handle on it is
 * stale. Objects without a recorded ctime (the device died before it could
 * be asked) are judged by inode number and type alone, and the root is
 * always itself.
 *
 * Context: the state's lock, or the session frozen.
 */
static bool vtfs_maybe_replaced(const struct vtfs_node *node)
{
	if ((node->flags & (VTFS_NODE_CTIME_NEW | VTFS_NODE_ROOT)) !=
	    VTFS_NODE_CTIME_NEW)
		return false;
	return !node->parent || !(node->parent->flags & VTFS_NODE_CTIME_SAME);
}

/*
 * The attributes of @dev_nodeid. Return: 0, or what vtfs_call() says (-EIO
 * for a short reply).
 */
static int vtfs_getattr(struct vtfs_session *sess, struct vtfs_device *dev,
			u64 dev_nodeid, struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = {};
	int ret;

	ret = vtfs_call(sess, dev, FUSE_GETATTR, dev_nodeid, NULL, &in,
			sizeof(in), NULL, 0, out, sizeof(*out));
	if (ret >= 0 && ret < (int)sizeof(*out))
		return -EIO;
	return ret < 0 ? ret : 0;
}

/* Before step 2: the root cannot be replaced, but its names can. */
static void vtfs_recover_root_ctime(struct vtfs_session *sess,
				    struct vtfs_device *dev)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_attr_out out;

	if (!xa_load(&st->ctimes, FUSE_ROOT_ID) ||
	    vtfs_getattr(sess, dev, FUSE_ROOT_ID, &out))
		return;
	mutex_lock(&st->lock);
	vtfs_state_check_ctime(st, st->root, &out.attr);
	mutex_unlock(&st->lock);
}

/* Step 2, for one handle. */
static void vtfs_recover_handle(struct vtfs_session *sess,
				struct vtfs_device *dev, struct vtfs_handle *h)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_in_header creds = {
		.uid = h->uid, .gid = h->gid, .pid = h->pid,
	};
	struct fuse_open_in in = {
		.flags = h->open_flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC),
	};
	struct fuse_open_out out;
	int ret = -ESTALE;

	if (h->state != VTFS_HANDLE_STALE)
		ret = vtfs_resolve_node(sess, dev, h->node);
	if (!ret && vtfs_maybe_replaced(h->node)) {
		pr_debug("%s: tag %s: inode %llu and its directory changed on the host meanwhile: it may be another file now\n",
			 VTFS_NAME, dev->tag, h->node->ino);
		ret = -ESTALE;
	}
	if (!ret) {
		ret = vtfs_call(sess, dev, h->dir ? FUSE_OPENDIR : FUSE_OPEN,
				h->node->dev_nodeid, &creds, &in, sizeof(in),
				NULL, 0, &out, sizeof(out));
		if (ret >= 0 && ret < (int)sizeof(out))
			ret = -EIO;
	}

	mutex_lock(&st->lock);
	if (ret >= 0) {
		WRITE_ONCE(h->dev_fh, out.fh);
		WRITE_ONCE(h->state, h->locks_lost ? VTFS_HANDLE_LOCKS_LOST :
			   VTFS_HANDLE_OK);
		st->recovery.handles++;
		pr_debug("%s: tag %s: %s handle %llu on inode %llu open again\n",
			 VTFS_NAME, dev->tag, h->dir ? "directory" : "file",
			 h->fh, h->node->ino);
	} else {
		WRITE_ONCE(h->state, VTFS_HANDLE_STALE);
		st->recovery.stale_handles++;
		pr_debug("%s: tag %s: %s handle %llu on inode %llu cannot be opened again (%d): ESTALE\n",
			 VTFS_NAME, dev->tag, h->dir ? "directory" : "file",
			 h->fh, h->node->ino, ret);
	}
	mutex_unlock(&st->lock);
}

/* The handle to take @rec's locks through: its own, else one on its node. */
static struct vtfs_handle *vtfs_lock_handle(struct vtfs_state *st,
					    struct vtfs_lockrec *rec)
{
	struct vtfs_handle *h = vtfs_handle_find(st, false, rec->fh);
	unsigned long id;

	if (h && h->state != VTFS_HANDLE_STALE)
		return h;
	if (rec->flock)
		return h;
	xa_for_each(&st->files, id, h)
		if (h->node == rec->node && h->state == VTFS_HANDLE_OK)
			return h;
	return NULL;
}

/*
 * Close one handle on the device; it is open again after the restore.
 * Return: the result of the request (-ETIMEDOUT: the device stopped
 * answering, do not ask it more).
 */
static int vtfs_close_device_handle(struct vtfs_session *sess,
				    struct vtfs_device *dev,
				    struct vtfs_handle *h)
{
	struct fuse_in_header creds = {
		.uid = h->uid, .gid = h->gid, .pid = h->pid,
	};
	struct fuse_release_in rel = {
		.fh = h->dev_fh,
		.flags = h->open_flags,
	};
	int ret;

	if (h->state == VTFS_HANDLE_STALE || h->state == VTFS_HANDLE_PENDING)
		return 0;
	ret = vtfs_call(sess, dev, h->dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
			h->node->dev_nodeid, &creds, &rel, sizeof(rel), NULL,
			0, NULL, 0);
	mutex_lock(&sess->st.lock);
	WRITE_ONCE(h->state, VTFS_HANDLE_PENDING);
	mutex_unlock(&sess->st.lock);
	return ret;
}

/* Step 3, for one owner's locks on one node. */
static void vtfs_recover_lockrec(struct vtfs_session *sess,
				 struct vtfs_device *dev,
				 struct vtfs_lockrec *rec)
{
	struct vtfs_state *st = &sess->st;
	struct vtfs_handle *h;
	struct fuse_lk_in in = {
		.owner = rec->owner,
		.lk_flags = rec->flock ? FUSE_LK_FLOCK : 0,
	};
	unsigned int i, taken = 0;
	int ret = -ESTALE;

	mutex_lock(&st->lock);
	h = vtfs_lock_handle(st, rec);
	mutex_unlock(&st->lock);
	if (h && h->state != VTFS_HANDLE_STALE && rec->node->dev_nodeid) {
		in.fh = h->dev_fh;
		for (i = 0, ret = 0; i < rec->ranges.nr && !ret; i++) {
			in.lk.start = rec->ranges.r[i].start;
			in.lk.end = rec->ranges.r[i].end;
			in.lk.type = rec->ranges.r[i].type;
			in.lk.pid = rec->pid;
			ret = vtfs_call(sess, dev, FUSE_SETLK,
					rec->node->dev_nodeid, NULL, &in,
					sizeof(in), NULL, 0, NULL, 0);
			if (ret >= 0) {
				ret = 0;
				taken++;
			}
		}
	}

	mutex_lock(&st->lock);
	st->recovery.locks += taken;
	if (ret) {
		st->recovery.lost_locks++;
		if (h) {
			h->locks_lost = true;
			if (h->state == VTFS_HANDLE_OK)
				WRITE_ONCE(h->state, VTFS_HANDLE_LOCKS_LOST);
		}
	}
	mutex_unlock(&st->lock);
	if (ret)
		pr_warn("%s: tag %s: lost a %s lock on inode %llu after resume (%d); I/O through that file now fails with EIO\n",
			VTFS_NAME, dev->tag, rec->flock ? "flock" : "POSIX",
			rec->node->ino, ret);
	else
		pr_debug("%s: tag %s: %u lock range(s) on inode %llu taken again\n",
			 VTFS_NAME, dev->tag, taken, rec->node->ino);
}

static void vtfs_recover_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(work, struct vtfs_session,
						 recover_work);
	struct vtfs_device *dev = vtfs_session_get_device(sess);
	struct vtfs_state *st = &sess->st;
	struct vtfs_recovery_stats *r = &st->recovery;
	struct vtfs_lockrec *rec;
	struct vtfs_handle *h;
	unsigned long id;
	unsigned int bkt;
	ktime_t start = ktime_get();
	int ret;

	if (!dev)
		return;
	/*
	 * The session is frozen: requests are held and the forget work is
	 * idle, so handles and lock records do not change under this loop.
	 */
	vtfs_state_new_epoch(st);
	ret = vtfs_recover_init(sess, dev);
	if (!ret) {
		vtfs_recover_root_ctime(sess, dev);
		xa_for_each(&st->files, id, h)
			vtfs_recover_handle(sess, dev, h);
		xa_for_each(&st->dirs, id, h)
			vtfs_recover_handle(sess, dev, h);
		hash_for_each(st->locks, bkt, rec, hnode)
			vtfs_recover_lockrec(sess, dev, rec);
	}

	xa_destroy(&st->ctimes);
	mutex_lock(&st->lock);
	r->count++;
	r->duration_us = ktime_us_delta(ktime_get(), start);
	r->outcome = ret;
	mutex_unlock(&st->lock);

	if (ret) {
		pr_err("%s: tag %s: the mount cannot continue after resume; its files now fail with EIO or ENOTCONN\n",
		       VTFS_NAME, dev->tag);
		vtfs_session_kill(sess, -EIO);
		fuse_abort_conn(sess->fc);
	} else {
		pr_info("%s: tag %s: resumed in %llu ms: %llu handle(s) open again, %llu stale; %llu lock range(s) taken again, %llu owner(s) lost\n",
			VTFS_NAME, dev->tag, r->duration_us / 1000, r->handles,
			r->stale_handles, r->locks, r->lost_locks);
		vtfs_session_thaw(sess);
		queue_work(system_unbound_wq, &sess->resolve_work);
	}
	vtfs_device_put(dev);
}

/*
 * After a recovery, find the remaining objects again in the background, so
 * that stale ones show up soon and requests soon take the fast path again
 * (see vtfs_idmap_request()). Stops when the session is frozen or dead.
 */
static void vtfs_background_resolve_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(work, struct vtfs_session,
						 resolve_work);
	struct vtfs_device *dev = vtfs_session_get_device(sess);
	struct vtfs_state *st = &sess->st;
	struct vtfs_node *node;
	unsigned long id = 0;
	bool go_on;

	if (!dev)
		return;
	for (;;) {
		spin_lock(&sess->lock);
		go_on = !sess->frozen && sess->state != VTFS_DEAD;
		spin_unlock(&sess->lock);
		if (!go_on || !READ_ONCE(st->nr_pending))
			break;
		mutex_lock(&st->lock);
		node = xa_find(&st->nodes, &id, ULONG_MAX, XA_PRESENT);
		while (node && !(node->flags & VTFS_NODE_PENDING))
			node = xa_find_after(&st->nodes, &id, ULONG_MAX,
					     XA_PRESENT);
		if (node)
			node->refs++;
		mutex_unlock(&st->lock);
		if (!node)
			break;
		if (vtfs_resolve_pinned(sess, dev, node))
			break;
		cond_resched();
	}
	vtfs_device_put(dev);
}

/**
 * vtfs_pm_init_session() - set up a new session's recovery work
 * @sess: the session
 *
 * Context: process.
 */
void vtfs_pm_init_session(struct vtfs_session *sess)
{
	INIT_WORK(&sess->recover_work, vtfs_recover_work);
	INIT_WORK(&sess->resolve_work, vtfs_background_resolve_work);
}

/**
 * vtfs_pm_cancel_session() - wait for a detached session's recovery
 * @sess: the session, dead and detached from its device
 *
 * Context: process.
 */
void vtfs_pm_cancel_session(struct vtfs_session *sess)
{
	cancel_work_sync(&sess->recover_work);
	cancel_work_sync(&sess->resolve_work);
}

/*
 * Record the ctime of @node, as the device sees it now, for the recovery to
 * compare (see vtfs_maybe_replaced()).
 * Return: 0 or the request's error (-ETIMEDOUT: the device stopped
 * answering, do not ask it more).
 */
static int vtfs_record_ctime(struct vtfs_session *sess,
			     struct vtfs_device *dev, struct vtfs_node *node)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_attr_out out;
	int ret;

	if (!node || !node->dev_nodeid || xa_load(&st->ctimes, node->nodeid))
		return 0;
	ret = vtfs_getattr(sess, dev, node->dev_nodeid, &out);
	if (!ret && vtfs_same_object(node, &out.attr))
		xa_store(&st->ctimes, node->nodeid,
			 xa_mk_value(vtfs_attr_ctime(&out.attr)), GFP_NOIO);
	return ret;
}

/* The ctimes of what handles are open on, and of their directories. */
static int vtfs_record_ctimes(struct vtfs_session *sess,
			      struct vtfs_device *dev, struct xarray *handles)
{
	struct vtfs_handle *h;
	unsigned long id;

	xa_for_each(handles, id, h) {
		if (h->state == VTFS_HANDLE_STALE ||
		    h->state == VTFS_HANDLE_PENDING)
			continue;
		if (vtfs_record_ctime(sess, dev, h->node) == -ETIMEDOUT ||
		    vtfs_record_ctime(sess, dev, h->node->parent) == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
	return 0;
}

/**
 * vtfs_close_device_session() - close what the device holds for a session
 * @sess: the session, held
 * @dev: its device, with its lock held and its queues running
 *
 * Give back what the device holds for the session before it is reset: the
 * locks and the open handles. It would lose them anyway; closing them first
 * keeps it from holding on to them. The C virtiofsd, for one, keeps the
 * open files of a session it initializes again, with their flock locks.
 * First, record the ctimes the recovery checks objects with. Errors do not
 * matter here: the reset follows.
 *
 * Context: process, may sleep.
 */
void vtfs_close_device_session(struct vtfs_session *sess,
			       struct vtfs_device *dev)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_lk_in unlock = {
		.lk = { .start = 0, .end = OFFSET_MAX, .type = VTFS_UNLCK },
	};
	struct vtfs_lockrec *rec;
	struct vtfs_handle *h;
	unsigned long id;
	unsigned int bkt;
	int ret = 0;

	xa_destroy(&st->ctimes);
	if (vtfs_record_ctimes(sess, dev, &st->files) == -ETIMEDOUT ||
	    vtfs_record_ctimes(sess, dev, &st->dirs) == -ETIMEDOUT)
		return;
	hash_for_each(st->locks, bkt, rec, hnode) {
		h = vtfs_lock_handle(st, rec);
		if (!h || h->state == VTFS_HANDLE_STALE ||
		    h->state == VTFS_HANDLE_PENDING || !rec->node->dev_nodeid)
			continue;
		unlock.fh = h->dev_fh;
		unlock.owner = rec->owner;
		unlock.lk_flags = rec->flock ? FUSE_LK_FLOCK : 0;
		ret = vtfs_call(sess, dev, FUSE_SETLK, rec->node->dev_nodeid,
				NULL, &unlock, sizeof(unlock), NULL, 0, NULL, 0);
		if (ret == -ETIMEDOUT)
			return;
	}
	xa_for_each(&st->files, id, h)
		if (vtfs_close_device_handle(sess, dev, h) == -ETIMEDOUT)
			return;
	xa_for_each(&st->dirs, id, h)
		if (vtfs_close_device_handle(sess, dev, h) == -ETIMEDOUT)
			return;
}

/**
 * vtfs_end_device_session() - end a device session and take the queues down
 * @dev: the device, with its lock held and its queues up
 * @sess: its session, with requests held back or killed; or NULL
 * @close: give back first what the device holds for @sess (its rings are
 *	drained)
 * @wait: jiffies to wait for requests still on the rings
 * @error: the error of the requests the device leaves unanswered
 *
 * The teardown that a freeze and a removal share: close the device
 * session, stop the queues, hand the requests that waited for room back to
 * @sess (they go out on the next device, or end as @sess decides), reset
 * the device and delete its virtqueues.
 *
 * Context: process, may sleep.
 * Return: 0, or the opcode of the oldest request the device did not answer
 * within @wait (ended with @error).
 */
u32 vtfs_end_device_session(struct vtfs_device *dev,
			    struct vtfs_session *sess, bool close,
			    unsigned long wait, int error)
{
	LIST_HEAD(parked);
	u32 stuck = 0;

	lockdep_assert_held(&dev->lock);
	if (sess && close)
		vtfs_close_device_session(sess, dev);
	vtfs_queues_quiesce(dev, wait, &parked, &stuck);
	if (sess)
		vtfs_session_unpark(sess, &parked);
	vtfs_queues_destroy(dev, error);
	return stuck;
}

static const char *vtfs_opcode_name(u32 opcode)
{
	switch (opcode) {
	case FUSE_LOOKUP: return "LOOKUP";
	case FUSE_GETATTR: return "GETATTR";
	case FUSE_SETATTR: return "SETATTR";
	case FUSE_READ: return "READ";
	case FUSE_WRITE: return "WRITE";
	case FUSE_OPEN: return "OPEN";
	case FUSE_RELEASE: return "RELEASE";
	case FUSE_FSYNC: return "FSYNC";
	case FUSE_FLUSH: return "FLUSH";
	case FUSE_SETLK: return "SETLK";
	case FUSE_SETLKW: return "SETLKW";
	case FUSE_READDIRPLUS: return "READDIRPLUS";
	case FUSE_FORGET: return "FORGET";
	case FUSE_BATCH_FORGET: return "BATCH_FORGET";
	}
	return "FUSE";
}

/**
 * vtfs_freeze() - virtio freeze callback
 * @vdev: the device
 *
 * Also the first half of a reset the device asked for (vtfs_reset_work()),
 * when nothing is waited for and no policy refuses.
 *
 * Context: process, system suspend or hibernation, or the reset work.
 * Return: 0, or -EBUSY when this suspend must not go on.
 */
int vtfs_freeze(struct virtio_device *vdev)
{
	struct vtfs_device *dev = vdev->priv;
	struct vtfs_session *mounted, *sess;
	u32 stuck = 0;
	int ret = 0;

	mutex_lock(&dev->lock);
	mounted = rcu_dereference_protected(dev->session,
					    lockdep_is_held(&dev->lock));
	sess = mounted;
	if (sess && !dev->resetting &&
	    vtfs_effective_policy(sess) == VTFS_PM_REFUSE) {
		pr_warn("%s: tag %s: suspend refused by policy %s while mounted\n",
			VTFS_NAME, dev->tag,
			vtfs_pm_policy_name(VTFS_PM_REFUSE));
		ret = -EBUSY;
		goto unlock;
	}
	if (sess && sess->state == VTFS_DEAD)
		sess = NULL;
	if (sess && dev->resetting && !vtfs_reattach_keep(dev, sess)) {
		pr_err("%s: tag %s: the device needs a reset; without a reattach_timeout its mount now fails with EIO\n",
		       VTFS_NAME, dev->tag);
		vtfs_session_kill(sess, -EIO);
		fuse_abort_conn(sess->fc);
		sess = NULL;
	}
	if (sess) {
		/* A recovery from the last resume finishes first. */
		flush_work(&sess->recover_work);
		vtfs_session_hold(sess);
	}
	if (!dev->queues_up)
		goto unlock;

	/* A device that needs a reset answers nothing more: do not wait. */
	if (!dev->resetting) {
		ret = vtfs_queues_drain(dev,
					msecs_to_jiffies(freeze_timeout_ms),
					&stuck);
	}
	if (ret) {
		pr_warn("%s: tag %s: suspend refused: a %s request (opcode %u) did not finish within %u ms\n",
			VTFS_NAME, dev->tag, vtfs_opcode_name(stuck), stuck,
			freeze_timeout_ms);
		if (sess)
			vtfs_session_thaw(sess);
		ret = -EBUSY;
		goto unlock;
	}
	/* From here on the suspend goes on: the device session ends. */
	vtfs_end_device_session(dev, mounted,
				sess && !dev->resetting &&
				sess->state != VTFS_DEAD && sess->init_done,
				dev->resetting ? 0 :
				msecs_to_jiffies(freeze_timeout_ms), -EIO);
unlock:
	mutex_unlock(&dev->lock);
	return ret;
}

/**
 * vtfs_restore() - virtio restore callback
 * @vdev: the device, reset by the virtio core
 *
 * Brings the queues back and starts recovering the mounted session, if
 * any, in the background.
 *
 * Context: process, system resume.
 * Return: 0 or a negative errno.
 */
int vtfs_restore(struct virtio_device *vdev)
{
	struct vtfs_device *dev = vdev->priv;
	struct vtfs_session *sess;
	int ret;

	mutex_lock(&dev->lock);
	sess = rcu_dereference_protected(dev->session,
					 lockdep_is_held(&dev->lock));
	ret = vtfs_queues_create(dev);
	if (ret) {
		pr_err("%s: tag %s: resume could not set up the virtqueues (%d)\n",
		       VTFS_NAME, dev->tag, ret);
		if (sess) {
			vtfs_session_kill(sess, -EIO);
			fuse_abort_conn(sess->fc);
		}
		goto unlock;
	}
	virtio_device_ready(vdev);
	if (sess && sess->state != VTFS_DEAD)
		queue_work(vtfs_wq, &sess->recover_work);
unlock:
	mutex_unlock(&dev->lock);
	return ret;
}

/**
 * vtfs_reset_work() - reset a device that asked for it, recover its mount
 * @work: the device's reset_work
 *
 * The device set VIRTIO_CONFIG_S_NEEDS_RESET. The virtio core's own freeze
 * and restore do what is needed: with a reattach_timeout the mount is
 * kept and its session recovered on the reset device, as after a resume;
 * without one the mount fails with EIO. Runs on a freezable workqueue, so
 * it never overlaps a system suspend.
 *
 * Context: process.
 */
void vtfs_reset_work(struct work_struct *work)
{
	struct vtfs_device *dev = container_of(work, struct vtfs_device,
					       reset_work);
	struct virtio_device *vdev;
	int ret;

	mutex_lock(&dev->lock);
	vdev = dev->vdev;
	if (!vdev || !dev->queues_up) {
		mutex_unlock(&dev->lock);
		return;
	}
	pr_warn("%s: tag %s: the device needs a reset; resetting it\n",
		VTFS_NAME, dev->tag);
	dev->resetting = true;
	mutex_unlock(&dev->lock);

	ret = virtio_device_freeze(vdev);
	if (!ret)
		ret = virtio_device_restore(vdev);
	if (ret)
		pr_err("%s: tag %s: resetting the device failed (%d)\n",
		       VTFS_NAME, dev->tag, ret);

	mutex_lock(&dev->lock);
	dev->resetting = false;
	mutex_unlock(&dev->lock);
}
