// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: sessions, the driver's side of one FUSE connection.
 *
 * The fuse core hands requests to the driver through its input-queue
 * callbacks (struct fuse_iqueue_ops). A session decides where each one goes:
 * to a request queue of its device while it is live, to the held list while
 * the device is frozen or being recovered, or back to the core with an error
 * once the device is gone.
 */

#include <linux/slab.h>

#include "fuse_virtio.h"

static void vtfs_session_free(struct kref *ref)
{
	struct vtfs_session *sess = container_of(ref, struct vtfs_session, ref);
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);

	WARN_ON(!list_empty(&sess->held) || !list_empty(&sess->to_end));
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

static void vtfs_end_reqs(struct list_head *reqs, int error)
{
	struct fuse_req *req, *next;

	list_for_each_entry_safe(req, next, reqs, list) {
		list_del_init(&req->list);
		req->out.h.error = error;
		fuse_request_end(req);
	}
}

static void vtfs_session_end_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(work, struct vtfs_session,
						 end_work);
	LIST_HEAD(reqs);
	int error;

	spin_lock(&sess->lock);
	list_splice_init(&sess->to_end, &reqs);
	error = sess->dead_error;
	spin_unlock(&sess->lock);
	vtfs_end_reqs(&reqs, error);
}

/* Give forgets taken off the fuse core's queue back to its head. */
static void vtfs_forgets_unqueue(struct fuse_iqueue *fiq,
				 struct fuse_forget_link *head)
{
	struct fuse_forget_link *tail = head;

	while (tail->next)
		tail = tail->next;
	spin_lock(&fiq->lock);
	if (fiq->connected) {
		tail->next = fiq->forget_list_head.next;
		fiq->forget_list_head.next = head;
		if (fiq->forget_list_tail == &fiq->forget_list_head)
			fiq->forget_list_tail = tail;
		head = NULL;
	}
	spin_unlock(&fiq->lock);
	while (head) {
		tail = head->next;
		kfree(head);
		head = tail;
	}
}

static struct vtfs_device *vtfs_session_get_device(struct vtfs_session *sess)
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
 * FUSE_BATCH_FORGET. While the hiprio ring is backlogged they stay in the
 * core's queue and pile up into bigger batches; the next hiprio completion
 * runs this again. A dead session drops them.
 */
static void vtfs_session_forget_work(struct work_struct *work)
{
	struct vtfs_session *sess = container_of(to_delayed_work(work),
						 struct vtfs_session,
						 forget_work);
	struct fuse_iqueue *fiq = &sess->fc->iq;
	struct vtfs_device *dev = vtfs_session_get_device(sess);
	struct fuse_forget_link *head, *next;
	enum vtfs_session_state state;
	unsigned int count;
	u64 unique;
	int ret;

	for (;;) {
		state = READ_ONCE(sess->state);
		if (state == VTFS_HELD ||
		    (dev && state == VTFS_LIVE &&
		     vtfs_queue_backlogged(&dev->queues[VTFS_HIPRIO])))
			break;

		spin_lock(&fiq->lock);
		if (!fiq->forget_list_head.next) {
			spin_unlock(&fiq->lock);
			break;
		}
		head = fuse_dequeue_forget(fiq, VTFS_FORGET_BATCH, &count);
		unique = fuse_get_unique(fiq);
		spin_unlock(&fiq->lock);

		ret = 0;
		if (dev && state == VTFS_LIVE)
			ret = vtfs_queue_submit_forgets(&dev->queues[VTFS_HIPRIO],
							unique, head, count);
		if (ret) {
			vtfs_forgets_unqueue(fiq, head);
			if (ret == -ENOMEM)
				queue_delayed_work(vtfs_wq, &sess->forget_work,
						   HZ / 50);
			break;
		}
		for (; head; head = next) {
			next = head->next;
			kfree(head);
		}
	}
	if (dev)
		vtfs_device_put(dev);
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
	if (sess && READ_ONCE(sess->fc->iq.forget_list_head.next))
		mod_delayed_work(vtfs_wq, &sess->forget_work, 0);
	rcu_read_unlock();
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
	kref_init(&sess->ref);
	spin_lock_init(&sess->lock);
	INIT_LIST_HEAD(&sess->held);
	INIT_LIST_HEAD(&sess->to_end);
	INIT_WORK(&sess->end_work, vtfs_session_end_work);
	INIT_DELAYED_WORK(&sess->forget_work, vtfs_session_forget_work);
	sess->state = VTFS_HELD;
	sess->dead_error = -ENOTCONN;
	kref_get(&dev->ref);
	RCU_INIT_POINTER(sess->dev, dev);
	return sess;
}

/**
 * vtfs_session_park() - keep a request the device cannot take now
 * @sess: its session
 * @req: the request
 *
 * A held session keeps it for later; a dead one ends it with its error.
 *
 * Context: any; the fuse core may hold its locks.
 */
void vtfs_session_park(struct vtfs_session *sess, struct fuse_req *req)
{
	spin_lock(&sess->lock);
	if (sess->state == VTFS_HELD) {
		list_add_tail(&req->list, &sess->held);
		spin_unlock(&sess->lock);
		return;
	}
	if (sess->state == VTFS_LIVE) {
		/* A live session whose queue refused: never lose it. */
		pr_warn_ratelimited("%s: request %u refused by a stopped queue\n",
				    VTFS_NAME, req->in.h.opcode);
	}
	list_add_tail(&req->list, &sess->to_end);
	spin_unlock(&sess->lock);
	queue_work(vtfs_wq, &sess->end_work);
}

/**
 * vtfs_session_submit() - send one fuse request
 * @sess: its session
 * @req: the request, already off the fuse core's pending list
 *
 * Context: any; the fuse core may hold fiq->lock's caller's locks (such as
 * fc->bg_lock). Never sleeps.
 */
void vtfs_session_submit(struct vtfs_session *sess, struct fuse_req *req)
{
	struct vtfs_device *dev;
	int ret = -ESHUTDOWN;

	rcu_read_lock();
	dev = rcu_dereference(sess->dev);
	if (likely(dev && READ_ONCE(sess->state) == VTFS_LIVE))
		ret = vtfs_queue_submit_fuse(vtfs_pick_queue(dev), sess, req,
					     GFP_ATOMIC);
	rcu_read_unlock();
	if (unlikely(ret))
		vtfs_session_park(sess, req);
}

/**
 * vtfs_session_hold() - keep new requests back
 * @sess: the session
 *
 * Context: process.
 */
void vtfs_session_hold(struct vtfs_session *sess)
{
	spin_lock(&sess->lock);
	if (sess->state == VTFS_LIVE)
		sess->state = VTFS_HELD;
	spin_unlock(&sess->lock);
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
	spin_lock(&sess->lock);
	if (sess->state == VTFS_HELD) {
		list_splice_init(parked, &sess->held);
		spin_unlock(&sess->lock);
		return;
	}
	list_splice_init(parked, &sess->to_end);
	spin_unlock(&sess->lock);
	queue_work(vtfs_wq, &sess->end_work);
}

/**
 * vtfs_session_release_held() - make a held session live again
 * @sess: the session
 *
 * Sends the held requests, oldest first. Requests that arrive meanwhile
 * queue up behind them, so nothing overtakes a held request.
 *
 * Context: process.
 */
void vtfs_session_release_held(struct vtfs_session *sess)
{
	struct vtfs_device *dev;
	struct fuse_req *req;
	LIST_HEAD(batch);

	for (;;) {
		spin_lock(&sess->lock);
		if (sess->state != VTFS_HELD) {
			spin_unlock(&sess->lock);
			return;
		}
		if (list_empty(&sess->held)) {
			sess->state = VTFS_LIVE;
			spin_unlock(&sess->lock);
			break;
		}
		list_splice_init(&sess->held, &batch);
		spin_unlock(&sess->lock);

		rcu_read_lock();
		dev = rcu_dereference(sess->dev);
		while ((req = list_first_entry_or_null(&batch, struct fuse_req,
						       list))) {
			list_del_init(&req->list);
			if (!dev || vtfs_queue_submit_fuse(vtfs_pick_queue(dev),
							   sess, req,
							   GFP_ATOMIC)) {
				list_add(&req->list, &batch);
				break;
			}
		}
		rcu_read_unlock();
		if (!list_empty(&batch)) {
			/* The queues stopped again: keep the rest in order. */
			vtfs_session_unpark(sess, &batch);
			return;
		}
	}
	mod_delayed_work(vtfs_wq, &sess->forget_work, 0);
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
	spin_lock(&sess->lock);
	sess->state = VTFS_DEAD;
	sess->dead_error = error;
	list_splice_tail_init(&sess->held, &sess->to_end);
	spin_unlock(&sess->lock);
	queue_work(vtfs_wq, &sess->end_work);
	mod_delayed_work(vtfs_wq, &sess->forget_work, 0);
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
	sess->state = dev->queues_up ? VTFS_LIVE : VTFS_HELD;
	rcu_assign_pointer(dev->session, sess);
}

/**
 * vtfs_session_detach() - part a session from its device
 * @sess: the session
 *
 * Afterwards no request of @sess reaches the device, the session is dead and
 * it holds no reference to the device. The caller holds the device's lock
 * and a reference of its own to the device.
 *
 * Context: process.
 */
void vtfs_session_detach(struct vtfs_session *sess)
{
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);

	if (!dev)
		return;
	lockdep_assert_held(&dev->lock);
	if (rcu_access_pointer(dev->session) == sess)
		rcu_assign_pointer(dev->session, NULL);
	vtfs_session_kill(sess, sess->state == VTFS_DEAD ? sess->dead_error :
			  -ENOTCONN);
	rcu_assign_pointer(sess->dev, NULL);
	synchronize_rcu();
	cancel_delayed_work_sync(&sess->forget_work);
	flush_work(&sess->end_work);
	vtfs_device_put(dev);
}

/**
 * vtfs_session_sent() - look at a request on its way to the device
 * @sess: its session
 * @req: the fuse core's request
 * @vreq: the request as the device will see it
 *
 * Context: any; must not sleep.
 */
void vtfs_session_sent(struct vtfs_session *sess, struct fuse_req *req,
		       struct vtfs_req *vreq)
{
	const struct fuse_in_arg *arg = &req->args->in_args[0];

	if (unlikely(req->in.h.opcode == FUSE_INIT) &&
	    arg->size >= sizeof(sess->init_in))
		memcpy(&sess->init_in, arg->value, sizeof(sess->init_in));
}

/**
 * vtfs_session_replied() - look at a reply the fuse core is about to get
 * @sess: the session
 * @req: the request; its reply arguments are in place
 *
 * Context: process.
 */
void vtfs_session_replied(struct vtfs_session *sess, struct fuse_req *req)
{
	const struct fuse_arg *arg = &req->args->out_args[0];

	if (unlikely(req->in.h.opcode == FUSE_INIT) && !req->out.h.error) {
		memset(&sess->init_out, 0, sizeof(sess->init_out));
		memcpy(&sess->init_out, arg->value,
		       min_t(size_t, arg->size, sizeof(sess->init_out)));
		sess->init_done = true;
	}
}

static void vtfs_fiq_wake_pending(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	struct vtfs_session *sess = fiq->priv;
	struct fuse_req *req, *next;
	LIST_HEAD(reqs);

	list_for_each_entry(req, &fiq->pending, list)
		clear_bit(FR_PENDING, &req->flags);
	list_splice_init(&fiq->pending, &reqs);
	spin_unlock(&fiq->lock);

	list_for_each_entry_safe(req, next, &reqs, list) {
		list_del_init(&req->list);
		vtfs_session_submit(sess, req);
	}
}

static void vtfs_fiq_wake_forget(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	struct vtfs_session *sess = fiq->priv;

	spin_unlock(&fiq->lock);
	mod_delayed_work(vtfs_wq, &sess->forget_work, 0);
}

/*
 * The core queues an interrupt only for requests marked FR_SENT, which this
 * driver never sets: virtio-fs devices do not take FUSE_INTERRUPT.
 */
static void vtfs_fiq_wake_interrupt(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	spin_unlock(&fiq->lock);
}

static void vtfs_fiq_release(struct fuse_iqueue *fiq)
{
	vtfs_session_put(fiq->priv);
}

const struct fuse_iqueue_ops vtfs_fiq_ops = {
	.wake_forget_and_unlock = vtfs_fiq_wake_forget,
	.wake_interrupt_and_unlock = vtfs_fiq_wake_interrupt,
	.wake_pending_and_unlock = vtfs_fiq_wake_pending,
	.release = vtfs_fiq_release,
};
