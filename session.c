// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: sessions, the driver's side of one FUSE connection.
 *
 * The fuse core hands requests to the driver through its input-queue
 * callbacks (struct fuse_iqueue_ops). A session decides where each one goes:
 * to a request queue of its device while it is live; to the held list while
 * the device is frozen, its session is being recovered, or an object a
 * request names must be found again first; or back to the fuse core with an
 * error once the device is gone. Held requests are sent in order by the
 * release work, which finds objects again where needed (pm.c).
 */

#include <linux/slab.h>

#include "compat.h"
#include "fuse_virtio.h"
#include "pm.h"

static void vtfs_forgets_free(struct fuse_forget_link *head)
{
	struct fuse_forget_link *next;

	for (; head; head = next) {
		next = head->next;
		kfree(head);
	}
}

static void vtfs_session_free(struct kref *ref)
{
	struct vtfs_session *sess = container_of(ref, struct vtfs_session, ref);
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);

	WARN_ON(!list_empty(&sess->held) || !list_empty(&sess->to_end));
	vtfs_forgets_free(sess->forgets);
	vtfs_state_destroy(&sess->st);
	kfree(sess->tag);
	if (dev)
		vtfs_device_put(dev);
	kfree(sess);
}

/**
 * vtfs_session_put() - drop a reference to a session
 * @sess: the session
 *
 * Context: process.
 */
void vtfs_session_put(struct vtfs_session *sess)
{
	kref_put(&sess->ref, vtfs_session_free);
}

/*
 * End a request the device never saw, with the error in out.h.error. One
 * that succeeds (a release of a handle the device no longer has) is
 * recorded as if the device had answered.
 */
static void vtfs_end_locally(struct vtfs_session *sess, struct fuse_req *req)
{
	if (!req->out.h.error) {
		/* A recovery walks the record without its lock held. */
		flush_work(&sess->recover_work);
		vtfs_state_local_reply(&sess->st, req);
	}
	fuse_request_end(req);
}

static void vtfs_end_reqs(struct vtfs_session *sess, struct list_head *reqs)
{
	struct fuse_req *req, *next;

	list_for_each_entry_safe(req, next, reqs, list) {
		list_del_init(&req->list);
		vtfs_end_locally(sess, req);
	}
}

static void vtfs_session_end_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(work, struct vtfs_session,
						 end_work);
	LIST_HEAD(reqs);

	spin_lock(&sess->lock);
	list_splice_init(&sess->to_end, &reqs);
	spin_unlock(&sess->lock);
	vtfs_end_reqs(sess, &reqs);
}

/* Queue @req to be ended with @error from process context. */
static void vtfs_session_end_later(struct vtfs_session *sess,
				   struct fuse_req *req, int error)
{
	lockdep_assert_held(&sess->lock);
	req->out.h.error = error;
	list_add_tail(&req->list, &sess->to_end);
	queue_work(vtfs_wq, &sess->end_work);
}

/*
 * Held requests carry FR_SENT, which the fuse core reads as "the driver has
 * it": a fatal signal to the task waiting for one then reaches
 * vtfs_session_interrupted() instead of leaving the task waiting, in D
 * state, for a device that may not come back soon. The bit is cleared
 * before a request leaves the held list (the core expects it clear when a
 * request ends).
 */
static void vtfs_held_add(struct vtfs_session *sess, struct fuse_req *req,
			  bool first)
{
	lockdep_assert_held(&sess->lock);
	set_bit(FR_SENT, &req->flags);
	if (first)
		list_add(&req->list, &sess->held);
	else
		list_add_tail(&req->list, &sess->held);
}

static void vtfs_held_del(struct vtfs_session *sess, struct fuse_req *req)
{
	lockdep_assert_held(&sess->lock);
	list_del_init(&req->list);
	clear_bit(FR_SENT, &req->flags);
}

/*
 * Does @req only give something back (a handle, the locks of an owner)?
 * A device session that is gone holds nothing to give back.
 */
static bool vtfs_req_releases(struct fuse_req *req)
{
	const struct fuse_lk_in *lk;

	switch (req->in.h.opcode) {
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
		return true;
	case FUSE_SETLK:
	case FUSE_SETLKW:
		lk = req->args->in_args[0].value;
		return lk->lk.type == F_UNLCK;
	}
	return false;
}

/**
 * vtfs_session_interrupted() - a task waiting for @req got a signal
 * @sess: the session
 * @req: the request; its waiter is the current task
 *
 * When the signal is fatal, a request the device never saw ends: the task
 * is dying, and nothing was done for it. One that only gives back what the
 * device session holds (the FLUSH and unlocks a killed task sends as it
 * exits) succeeds if the session has no device: the device that held those
 * is gone, and the record of what to bring back follows (reroute answers
 * such requests of a detached session at once). Other requests end with
 * -EINTR. Other signals change nothing: the fuse core waits on, and
 * requests held across a suspend are not failed by the freezer's wake-ups.
 *
 * Context: the waiting task; fiq->lock not held.
 */
void vtfs_session_interrupted(struct vtfs_session *sess, struct fuse_req *req)
{
	bool local;

	if (!fatal_signal_pending(current))
		return;
	spin_lock(&sess->lock);
	/* Under the lock: vtfs_reattach_adopt() gives a device under it. */
	local = !rcu_access_pointer(sess->dev) && vtfs_req_releases(req);
	if (test_bit(FR_SENT, &req->flags) &&
	    (local || !test_bit(FR_FORCE, &req->flags))) {
		vtfs_held_del(sess, req);
		vtfs_session_end_later(sess, req, local ? 0 : -EINTR);
	}
	spin_unlock(&sess->lock);
}

/**
 * vtfs_session_get_device() - the session's device, with a reference
 * @sess: the session
 *
 * Context: any.
 * Return: the device, or NULL once the session is detached.
 */
struct vtfs_device *vtfs_session_get_device(struct vtfs_session *sess)
{
	struct vtfs_device *dev;

	rcu_read_lock();
	dev = rcu_dereference(sess->dev);
	if (dev)
		kref_get(&dev->ref);
	rcu_read_unlock();
	return dev;
}

/*
 * Move FORGETs from the fuse core's queue to the hiprio queue, many per
 * FUSE_BATCH_FORGET, mapped to what the device session counted. While the
 * hiprio ring is backlogged they stay in the core's queue and pile up into
 * bigger batches; the next hiprio completion runs this again.
 */
/* Take up to @max FORGETs off the session's list. Return: the chain. */
static struct fuse_forget_link *vtfs_forgets_take(struct vtfs_session *sess,
						  unsigned int max,
						  unsigned int *count)
{
	struct fuse_forget_link *head, **pos;
	unsigned int n = 0;

	spin_lock(&sess->lock);
	head = sess->forgets;
	for (pos = &sess->forgets; *pos && n < max; pos = &(*pos)->next)
		n++;
	sess->forgets = *pos;
	*pos = NULL;
	if (!sess->forgets)
		sess->forgets_tail = &sess->forgets;
	sess->nr_forgets -= n;
	spin_unlock(&sess->lock);
	*count = n;
	return n ? head : NULL;
}

/**
 * vtfs_session_queue_forgets() - FORGETs for the device, from the fuse core
 * @sess: the session
 * @head: chain of forgets (linked by ->next, the last one's ->next NULL)
 * @tail: its last link
 * @count: links in the chain
 *
 * The forget work sends them a jiffy later: FORGETs come one inode at a
 * time (eviction), and a burst such as dropping the caches then leaves in
 * big batches. Nothing waits for a FORGET.
 *
 * Context: any.
 */
void vtfs_session_queue_forgets(struct vtfs_session *sess,
				struct fuse_forget_link *head,
				struct fuse_forget_link *tail,
				unsigned int count)
{
	spin_lock(&sess->lock);
	if (sess->state == VTFS_DEAD) {
		spin_unlock(&sess->lock);
		vtfs_forgets_free(head);
		return;
	}
	*sess->forgets_tail = head;
	sess->forgets_tail = &tail->next;
	sess->nr_forgets += count;
	spin_unlock(&sess->lock);
	queue_delayed_work(vtfs_wq, &sess->forget_work, 1);
}

static void vtfs_session_forget_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(to_delayed_work(work),
						 struct vtfs_session,
						 forget_work);
	struct vtfs_device *dev = vtfs_session_get_device(sess);
	struct fuse_forget_link *head;
	enum vtfs_session_state state;
	unsigned int count, dequeued;
	bool frozen;
	u64 unique;
	int ret;

	for (;;) {
		spin_lock(&sess->lock);
		state = sess->state;
		frozen = sess->frozen;
		spin_unlock(&sess->lock);
		if (frozen || (dev && state != VTFS_DEAD &&
			       vtfs_queue_backlogged(&dev->queues[VTFS_HIPRIO])))
			break;

		head = vtfs_forgets_take(sess, VTFS_FORGET_BATCH, &count);
		unique = vtfs_fiq_unique(&sess->fc->iq);
		dequeued = count;
		if (!dev || state == VTFS_DEAD) {
			vtfs_forgets_free(head);
			if (!dequeued)
				break;
			continue;
		}
		vtfs_idmap_forget(&sess->st, &head, &count);
		if (!count) {
			if (!dequeued)
				break;
			continue;
		}
		ret = vtfs_queue_submit_forgets(&dev->queues[VTFS_HIPRIO],
						unique, head, count);
		vtfs_forgets_free(head);
		if (ret == -ENOMEM) {
			queue_delayed_work(vtfs_wq, &sess->forget_work, HZ / 50);
			break;
		}
	}
	if (dev)
		vtfs_device_put(dev);
}

/**
 * vtfs_session_kick() - have the forget work look for FORGETs to send
 * @sess: the session
 *
 * Context: any.
 */
void vtfs_session_kick(struct vtfs_session *sess)
{
	mod_delayed_work(vtfs_wq, &sess->forget_work, 0);
}

/**
 * vtfs_device_kick_forgets() - send queued FORGETs of the device's session
 * @dev: the device
 *
 * Context: any.
 */
void vtfs_device_kick_forgets(struct vtfs_device *dev)
{
	struct vtfs_session *sess;

	rcu_read_lock();
	sess = rcu_dereference(dev->session);
	if (sess && (READ_ONCE(sess->nr_forgets) ||
		     READ_ONCE(sess->st.dev_forgets)))
		vtfs_session_kick(sess);
	rcu_read_unlock();
}

/*
 * Send held requests in order. A request that names an object not found
 * again since a restore waits here, in place, until it is found (or known
 * to be gone); the requests behind it wait too, so nothing overtakes it.
 */
static void vtfs_session_release_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(work, struct vtfs_session,
						 release_work);
	struct vtfs_device *dev = vtfs_session_get_device(sess);
	struct fuse_req *req;
	int ret, tries;

	if (!dev)
		return;
	for (;;) {
		spin_lock(&sess->lock);
		if (sess->state != VTFS_HELD || sess->frozen) {
			spin_unlock(&sess->lock);
			break;
		}
		req = list_first_entry_or_null(&sess->held, struct fuse_req,
					       list);
		if (!req) {
			sess->state = VTFS_LIVE;
			spin_unlock(&sess->lock);
			break;
		}
		vtfs_held_del(sess, req);
		spin_unlock(&sess->lock);

		for (tries = 0; tries < 3; tries++) {
			ret = vtfs_queue_submit_fuse(vtfs_pick_queue(dev), sess,
						     req, GFP_NOIO,
						     tries ? VTFS_NAMES_FOUND : 0);
			if (ret != -EAGAIN)
				break;
			ret = vtfs_resolve_request(sess, dev, req);
			if (ret)
				break;
		}
		if (ret == -ESHUTDOWN) {
			/* Frozen again meanwhile: it stays first in line. */
			spin_lock(&sess->lock);
			if (sess->state == VTFS_DEAD) {
				vtfs_session_end_later(sess, req,
						       sess->dead_error);
			} else {
				vtfs_held_add(sess, req, true);
			}
			spin_unlock(&sess->lock);
			break;
		}
		if (ret == -EAGAIN) {
			pr_warn_ratelimited("%s: tag %s: opcode %u still names an object not found again; failing it with EIO\n",
					    VTFS_NAME, dev->tag,
					    req->in.h.opcode);
			ret = -EIO;
		}
		if (ret) {
			pr_debug("%s: tag %s: opcode %u ends with %d after a restore\n",
				 VTFS_NAME, dev->tag, req->in.h.opcode,
				 ret == VTFS_DONE ? 0 : ret);
			req->out.h.error = ret == VTFS_DONE ? 0 : ret;
			vtfs_end_locally(sess, req);
		}
	}
	vtfs_device_put(dev);
	vtfs_session_kick(sess);
}

/**
 * vtfs_session_create() - a session for a new connection on @dev
 * @dev: the device; the session takes its own reference
 *
 * Context: process.
 * Return: the session with one reference, or NULL.
 */
struct vtfs_session *vtfs_session_create(struct vtfs_device *dev)
{
	struct vtfs_session *sess = kzalloc(sizeof(*sess), GFP_KERNEL);

	if (!sess)
		return NULL;
	sess->tag = kstrdup(dev->tag, GFP_KERNEL);
	if (!sess->tag || vtfs_state_init(&sess->st)) {
		kfree(sess->tag);
		kfree(sess);
		return NULL;
	}
	kref_init(&sess->ref);
	spin_lock_init(&sess->lock);
	INIT_LIST_HEAD(&sess->held);
	INIT_LIST_HEAD(&sess->to_end);
	sess->forgets_tail = &sess->forgets;
	INIT_WORK(&sess->end_work, vtfs_session_end_work);
	INIT_WORK(&sess->release_work, vtfs_session_release_work);
	INIT_DELAYED_WORK(&sess->forget_work, vtfs_session_forget_work);
	vtfs_pm_init_session(sess);
	vtfs_reattach_init_session(sess);
	sess->state = VTFS_HELD;
	sess->dead_error = -ENOTCONN;
	sess->pm_policy = VTFS_PM_DEFAULT;
	kref_get(&dev->ref);
	RCU_INIT_POINTER(sess->dev, dev);
	return sess;
}

/**
 * vtfs_session_reroute() - deal with a request its queue did not take
 * @sess: its session
 * @req: the request
 * @ret: why: -ESHUTDOWN (queue stopped), -EAGAIN (an object must be found
 *	again first), VTFS_DONE (answered without the device) or the error
 *	to end it with
 *
 * Context: any; the fuse core may hold its locks.
 */
void vtfs_session_reroute(struct vtfs_session *sess, struct fuse_req *req,
			  int ret)
{
	spin_lock(&sess->lock);
	if (ret != -ESHUTDOWN && ret != -EAGAIN) {
		vtfs_session_end_later(sess, req, ret == VTFS_DONE ? 0 : ret);
	} else if (sess->state == VTFS_DEAD) {
		vtfs_session_end_later(sess, req, sess->dead_error);
	} else if (!rcu_access_pointer(sess->dev) && vtfs_req_releases(req)) {
		/* Detached: the device that held it is gone (see above). */
		vtfs_session_end_later(sess, req, 0);
	} else {
		sess->state = VTFS_HELD;
		vtfs_held_add(sess, req, false);
		if (!sess->frozen)
			queue_work(vtfs_wq, &sess->release_work);
	}
	spin_unlock(&sess->lock);
}

/*
 * FORGET sent as a request (the fuse core does so when it cannot use an
 * entry of READDIRPLUS): join the core's FORGET queue instead, so that all
 * forgets are counted in one place and go out in batches.
 */
static bool vtfs_session_forget_req(struct vtfs_session *sess,
				    struct fuse_req *req)
{
	const struct fuse_forget_in *in = req->args->in_args[0].value;
	struct fuse_forget_link *link;

	link = kzalloc(sizeof(*link), GFP_ATOMIC);
	if (!link)
		return false;
	link->forget_one.nodeid = req->in.h.nodeid;
	link->forget_one.nlookup = in->nlookup;
	vtfs_session_queue_forgets(sess, link, link, 1);
	vtfs_session_reroute(sess, req, VTFS_DONE);
	return true;
}

/**
 * vtfs_session_submit() - send one fuse request
 * @sess: its session
 * @req: the request, already off the fuse core's pending list
 *
 * Context: any; the fuse core may hold its locks (such as fc->bg_lock).
 * Never sleeps.
 */
void vtfs_session_submit(struct vtfs_session *sess, struct fuse_req *req)
{
	struct vtfs_device *dev;
	int ret = -ESHUTDOWN;

	if (unlikely(req->in.h.opcode == FUSE_FORGET) &&
	    vtfs_session_forget_req(sess, req))
		return;

	rcu_read_lock();
	dev = rcu_dereference(sess->dev);
	if (likely(dev && READ_ONCE(sess->state) == VTFS_LIVE))
		ret = vtfs_queue_submit_fuse(vtfs_pick_queue(dev), sess, req,
					     GFP_ATOMIC, 0);
	rcu_read_unlock();
	if (unlikely(ret))
		vtfs_session_reroute(sess, req, ret);
}

/**
 * vtfs_session_hold() - keep requests back: the device is being frozen
 * @sess: the session
 *
 * Context: process.
 */
void vtfs_session_hold(struct vtfs_session *sess)
{
	spin_lock(&sess->lock);
	if (sess->state == VTFS_LIVE)
		sess->state = VTFS_HELD;
	sess->frozen = true;
	spin_unlock(&sess->lock);
	cancel_work_sync(&sess->release_work);
	cancel_work_sync(&sess->resolve_work);
	cancel_delayed_work_sync(&sess->forget_work);
}

/**
 * vtfs_session_unpark() - give back requests a stopped queue returned
 * @sess: the session
 * @parked: the requests, oldest first; they go before those held since
 *
 * Context: process.
 */
void vtfs_session_unpark(struct vtfs_session *sess, struct list_head *parked)
{
	struct fuse_req *req, *next;

	spin_lock(&sess->lock);
	if (sess->state != VTFS_DEAD) {
		sess->state = VTFS_HELD;
		list_for_each_entry(req, parked, list)
			set_bit(FR_SENT, &req->flags);
		list_splice_init(parked, &sess->held);
	} else {
		list_for_each_entry_safe(req, next, parked, list) {
			list_del(&req->list);
			vtfs_session_end_later(sess, req, sess->dead_error);
		}
	}
	spin_unlock(&sess->lock);
}

/**
 * vtfs_session_thaw() - the device serves the session again
 * @sess: the session
 *
 * Held requests go out, in order, from the release work.
 *
 * Context: process.
 */
void vtfs_session_thaw(struct vtfs_session *sess)
{
	spin_lock(&sess->lock);
	sess->frozen = false;
	if (sess->state == VTFS_HELD)
		queue_work(vtfs_wq, &sess->release_work);
	spin_unlock(&sess->lock);
	vtfs_session_kick(sess);
}

/**
 * vtfs_session_kill() - fail the session's requests from now on
 * @sess: the session
 * @error: negative errno the requests get
 *
 * Held requests end too. Requests on the device's rings are the caller's
 * business (see vtfs_queue_cancel()).
 *
 * Context: process.
 */
void vtfs_session_kill(struct vtfs_session *sess, int error)
{
	struct fuse_forget_link *forgets;
	struct fuse_req *req, *next;

	spin_lock(&sess->lock);
	sess->state = VTFS_DEAD;
	sess->frozen = false;
	sess->dead_error = error;
	forgets = sess->forgets;
	sess->forgets = NULL;
	sess->forgets_tail = &sess->forgets;
	sess->nr_forgets = 0;
	list_for_each_entry_safe(req, next, &sess->held, list) {
		vtfs_held_del(sess, req);
		vtfs_session_end_later(sess, req, error);
	}
	spin_unlock(&sess->lock);
	vtfs_forgets_free(forgets);
	vtfs_session_kick(sess);
}

/**
 * vtfs_session_attach() - make @sess the mounted session of its device
 * @sess: a new session
 *
 * Context: process; the device's lock is held.
 */
void vtfs_session_attach(struct vtfs_session *sess)
{
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);

	lockdep_assert_held(&dev->lock);
	spin_lock(&sess->lock);
	sess->state = dev->queues_up ? VTFS_LIVE : VTFS_HELD;
	sess->frozen = !dev->queues_up;
	spin_unlock(&sess->lock);
	rcu_assign_pointer(dev->session, sess);
}

/**
 * vtfs_session_unlink_device() - part a session from its device, keep it
 * @sess: the session; it is held or dead, so nothing of it is on a ring
 *
 * Afterwards no request of @sess reaches the device, no work of the session
 * runs, and it holds no reference to the device. The caller holds the
 * device's lock and a reference of its own to the device.
 *
 * Context: process.
 */
void vtfs_session_unlink_device(struct vtfs_session *sess)
{
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);

	if (!dev)
		return;
	lockdep_assert_held(&dev->lock);
	if (rcu_access_pointer(dev->session) == sess)
		rcu_assign_pointer(dev->session, NULL);
	rcu_assign_pointer(sess->dev, NULL);
	synchronize_rcu();
	vtfs_pm_cancel_session(sess);
	cancel_work_sync(&sess->release_work);
	cancel_delayed_work_sync(&sess->forget_work);
	vtfs_device_put(dev);
}

/**
 * vtfs_session_detach() - part a session from its device for good
 * @sess: the session
 *
 * Afterwards the session is dead, as vtfs_session_unlink_device() leaves
 * it otherwise. The caller holds the device's lock and a reference of its
 * own to the device.
 *
 * Context: process.
 */
void vtfs_session_detach(struct vtfs_session *sess)
{
	if (!rcu_access_pointer(sess->dev))
		return;
	vtfs_session_kill(sess, sess->state == VTFS_DEAD ? sess->dead_error :
			  -ENOTCONN);
	vtfs_session_unlink_device(sess);
	flush_work(&sess->end_work);
}

/**
 * vtfs_session_sent() - a request is on its way to the device
 * @sess: its session
 * @req: the fuse core's request
 * @vreq: the request as the device will see it; ids are mapped in place
 * @flags: VTFS_NAMES_FOUND or 0, for vtfs_idmap_request()
 *
 * Context: any; must not sleep.
 * Return: 0 to send it, or the reason not to (see vtfs_idmap_request()).
 */
int vtfs_session_sent(struct vtfs_session *sess, struct fuse_req *req,
		      struct vtfs_req *vreq, unsigned int flags)
{
	const struct fuse_in_arg *arg = &req->args->in_args[0];
	struct fuse_in_header *ih = vtfs_req_ih(vreq);

	if (unlikely(ih->opcode == FUSE_INIT) &&
	    arg->size >= sizeof(sess->init_in))
		memcpy(&sess->init_in, arg->value, sizeof(sess->init_in));
	/*
	 * An unlock never waits, but flock(LOCK_UN) without LOCK_NB arrives
	 * as a blocking request, which devices such as the C virtiofsd
	 * refuse. Send it as the non-blocking request it is.
	 */
	if (ih->opcode == FUSE_SETLKW &&
	    ((struct fuse_lk_in *)(ih + 1))->lk.type == F_UNLCK)
		ih->opcode = FUSE_SETLK;
	return vtfs_idmap_request(sess, req, vreq, flags);
}

/**
 * vtfs_session_reply() - a checked reply is about to reach the fuse core
 * @sess: the session
 * @req: the request
 * @vreq: the request and its reply, still in the driver's buffer
 *
 * Context: process.
 * Return: 0, or -EIO when the reply cannot be passed on.
 */
int vtfs_session_reply(struct vtfs_session *sess, struct fuse_req *req,
		       struct vtfs_req *vreq)
{
	struct fuse_out_header *oh = vtfs_req_oh(vreq);

	if (unlikely(req->in.h.opcode == FUSE_INIT) && !oh->error) {
		memset(&sess->init_out, 0, sizeof(sess->init_out));
		memcpy(&sess->init_out, oh + 1,
		       min_t(size_t, oh->len - sizeof(*oh),
			     sizeof(sess->init_out)));
		sess->init_done = true;
	}
	return vtfs_state_reply(sess, req, vreq);
}

static void vtfs_fiq_release(struct fuse_iqueue *fiq)
{
	vtfs_session_put(fiq->priv);
}

/* The callbacks themselves differ between kernels: see compat.h. */
const struct fuse_iqueue_ops vtfs_fiq_ops = {
	VTFS_FIQ_OPS,
	.release = vtfs_fiq_release,
};
