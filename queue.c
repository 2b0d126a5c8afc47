// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: requests on virtqueues.
 *
 * A fuse request becomes one struct vtfs_req: header and inline arguments
 * are copied into one buffer the device reads, the reply header and inline
 * reply arguments get one buffer the device writes, and page arguments are
 * mapped as they are. When the ring has no room the request waits on its
 * queue, in submission order, and the next completion puts it on the ring.
 * A bounded backoff timer retries only when nothing completes.
 */

#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "compat.h"
#include "fault.h"
#include "fuse_virtio.h"
#include "reply.h"

/* Bytes of the inline (not page) arguments among the first @n of @args. */
static unsigned int vtfs_args_bytes(const struct fuse_arg *args,
				    unsigned int n)
{
	unsigned int bytes = 0;

	while (n--)
		bytes += args[n].size;
	return bytes;
}

/* Scatterlist entries needed for @bytes of the pages of @ap. */
static unsigned int vtfs_page_entries(const struct fuse_args_pages *ap,
				      unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < ap->num_pages && bytes; i++)
		bytes -= min(bytes, ap->descs[i].length);
	return i;
}

static unsigned int vtfs_set_page_sg(struct scatterlist *sg,
				     const struct fuse_args_pages *ap,
				     unsigned int bytes)
{
	unsigned int i, len;

	for (i = 0; i < ap->num_pages && bytes; i++) {
		len = min(bytes, ap->descs[i].length);
		sg_set_page(&sg[i], ap->pages[i], len, ap->descs[i].offset);
		bytes -= len;
	}
	return i;
}

static struct vtfs_req *vtfs_req_alloc(unsigned int in_len,
				       unsigned int out_len,
				       unsigned int nr_sg, gfp_t gfp)
{
	size_t bufsize = ALIGN(in_len, 8) + ALIGN(out_len, 8);
	struct vtfs_req *vreq;

	vreq = kmalloc(sizeof(*vreq) + bufsize + nr_sg * sizeof(*vreq->sg),
		       gfp | __GFP_NOWARN);
	if (!vreq)
		return NULL;
	vreq->freq = NULL;
	vreq->call = NULL;
	vreq->sess = NULL;
	vreq->in_len = in_len;
	vreq->out_len = out_len;
	vreq->sg = (struct scatterlist *)(vreq->buf + bufsize);
	return vreq;
}

/**
 * vtfs_req_build() - turn a fuse request into a request for the device
 * @sess: the session @req belongs to
 * @req: the fuse core's request
 * @gfp: allocation context
 * @flags: VTFS_NAMES_FOUND or 0, for vtfs_idmap_request()
 * @vreqp: receives the new request
 *
 * Context: any; does not sleep unless @gfp allows it.
 * Return: 0; -ENOMEM when memory ran out; or the session's reason not to
 * send it (see vtfs_idmap_request()).
 */
static int vtfs_req_build(struct vtfs_session *sess, struct fuse_req *req,
			  gfp_t gfp, unsigned int flags,
			  struct vtfs_req **vreqp)
{
	struct fuse_args *args = req->args;
	struct fuse_args_pages *ap = container_of(args, typeof(*ap), args);
	const struct fuse_arg *in_args = (const struct fuse_arg *)args->in_args;
	unsigned int n_in = args->in_numargs - args->in_pages;
	unsigned int n_out = args->out_numargs - args->out_pages;
	bool reply = test_bit(FR_ISREPLY, &req->flags);
	unsigned int in_len, out_len = 0, in_pg = 0, out_pg = 0, i, n;
	struct vtfs_req *vreq;
	int ret;
	u8 *p;

	if (unlikely(vtfs_fault_alloc()))
		return -ENOMEM;
	in_len = sizeof(struct fuse_in_header) + vtfs_args_bytes(in_args, n_in);
	if (args->in_pages)
		in_pg = vtfs_page_entries(ap, in_args[n_in].size);
	if (reply) {
		out_len = sizeof(struct fuse_out_header) +
			  vtfs_args_bytes(args->out_args, n_out);
		if (args->out_pages)
			out_pg = vtfs_page_entries(ap, args->out_args[n_out].size);
	}

	vreq = vtfs_req_alloc(in_len, out_len, 2 + in_pg + out_pg, gfp);
	if (!vreq)
		return -ENOMEM;
	vreq->freq = req;
	vreq->sess = sess;

	p = vreq->buf;
	memcpy(p, &req->in.h, sizeof(req->in.h));
	p += sizeof(req->in.h);
	for (i = 0; i < n_in; i++) {
		memcpy(p, in_args[i].value, in_args[i].size);
		p += in_args[i].size;
	}

	sg_init_table(vreq->sg, 1 + in_pg);
	sg_set_buf(vreq->sg, vreq->buf, in_len);
	n = 1;
	if (in_pg)
		n += vtfs_set_page_sg(vreq->sg + n, ap, in_args[n_in].size);
	vreq->nr_out_sg = n;
	vreq->nr_in_sg = 0;
	if (reply) {
		struct scatterlist *in_sg = vreq->sg + vreq->nr_out_sg;

		sg_init_table(in_sg, 1 + out_pg);
		sg_set_buf(in_sg, vtfs_req_reply(vreq), out_len);
		n = 1;
		if (out_pg)
			n += vtfs_set_page_sg(in_sg + n, ap,
					      args->out_args[n_out].size);
		vreq->nr_in_sg = n;
	}

	ret = vtfs_session_sent(sess, req, vreq, flags);
	if (ret) {
		kfree(vreq);
		return ret;
	}
	*vreqp = vreq;
	return 0;
}

static void vtfs_req_free(struct vtfs_req *vreq)
{
	kfree(vreq);
}

/*
 * Check a reply header against the request (reply.c). The device is not
 * trusted: the header is copied once to @oh and checked there.
 * Return: 0, -ESRCH (it answers another request) or -EBADMSG.
 */
static int vtfs_reply_check_header(struct vtfs_req *vreq,
				   struct fuse_out_header *oh)
{
	memcpy(oh, vtfs_req_oh(vreq), sizeof(*oh));
	return vtfs_check_reply_header(oh, vtfs_req_ih(vreq)->unique,
				       vreq->used);
}

/* The header, then the payload size against the request's arguments. */
static int vtfs_reply_check(struct vtfs_req *vreq, struct fuse_out_header *oh)
{
	struct fuse_args *args = vreq->freq->args;
	int ret;

	ret = vtfs_reply_check_header(vreq, oh);
	if (ret || oh->error)
		return ret;
	/* What the device wrote must agree with the header. */
	vtfs_req_oh(vreq)->len = oh->len;
	return vtfs_check_reply_size(oh->len - sizeof(*oh),
				     vtfs_args_bytes(args->out_args,
						     args->out_numargs),
				     args->out_numargs ?
				     args->out_args[args->out_numargs - 1].size : 0,
				     args->out_argvar);
}

/* Copy a checked reply's inline arguments to the fuse core. */
static void vtfs_reply_copy(struct vtfs_req *vreq,
			    const struct fuse_out_header *oh)
{
	struct fuse_args *args = vreq->freq->args;
	unsigned int n_out = args->out_numargs - args->out_pages;
	unsigned int capacity, payload, size, i;
	const u8 *p;

	if (oh->error)
		return;
	payload = oh->len - sizeof(*oh);
	capacity = vtfs_args_bytes(args->out_args, args->out_numargs);
	p = vtfs_req_reply(vreq) + sizeof(*oh);
	for (i = 0; i < n_out; i++) {
		size = min(args->out_args[i].size, payload);
		memcpy(args->out_args[i].value, p, size);
		p += size;
		payload -= size;
	}
	if (args->out_argvar)
		args->out_args[args->out_numargs - 1].size -=
			capacity - (oh->len - sizeof(*oh));

	if (args->out_pages && args->page_zeroing) {
		struct fuse_args_pages *ap = container_of(args, typeof(*ap), args);
		unsigned int len;

		for (i = 0; i < ap->num_pages; i++) {
			len = min(payload, ap->descs[i].length);
			if (len < ap->descs[i].length)
				zero_user_segment(ap->pages[i],
						  ap->descs[i].offset + len,
						  ap->descs[i].offset +
						  ap->descs[i].length);
			payload -= len;
		}
	}
}

static void vtfs_call_put_ref(struct kref *ref)
{
	kfree(container_of(ref, struct vtfs_call, ref));
}

/* A driver-built request got its reply (or was cancelled with @error). */
static void vtfs_call_finish(struct vtfs_req *vreq, int error)
{
	struct vtfs_call *call = vreq->call;
	struct fuse_out_header oh;

	if (!error && vtfs_reply_check_header(vreq, &oh))
		error = -EIO;
	if (!error && oh.len > vreq->out_len)
		error = -EIO;
	if (!error) {
		error = oh.error;
		call->out_len = min(oh.len - (unsigned int)sizeof(oh),
				    call->out_size);
		memcpy(call->out, vtfs_req_reply(vreq) + sizeof(oh),
		       call->out_len);
	}
	call->error = error;
	complete(&call->done);
	kref_put(&call->ref, vtfs_call_put_ref);
	kfree(vreq);
}

static void vtfs_req_end_work(struct work_struct *work)
{
	struct vtfs_req *vreq = container_of(work, struct vtfs_req, end_work);

	fuse_request_end(vreq->freq);
	vtfs_req_free(vreq);
}

/*
 * Finish a fuse request the device returned. Context: process, no locks.
 */
static void vtfs_req_complete(struct vtfs_queue *q, struct vtfs_req *vreq)
{
	struct fuse_req *req = vreq->freq;
	struct fuse_out_header oh;

	if (!req) {
		if (vreq->call)
			vtfs_call_finish(vreq, 0);
		else
			vtfs_req_free(vreq);
		return;
	}

	if (test_bit(FR_ISREPLY, &req->flags)) {
		int bad = vtfs_reply_check(vreq, &oh);

		if (!bad)
			bad = vtfs_session_reply(vreq->sess, req, vreq);
		if (bad) {
			pr_warn_ratelimited("%s: tag %s: %s reply to opcode %u (len %u, used %u, error %d), failing it with EIO\n",
					    VTFS_NAME, q->dev->tag,
					    bad == -ESRCH ? "unmatched" : "bad",
					    vtfs_req_ih(vreq)->opcode, oh.len,
					    vreq->used, oh.error);
			spin_lock(&q->lock);
			if (bad == -ESRCH)
				q->stats.unmatched++;
			else
				q->stats.bad_replies++;
			spin_unlock(&q->lock);
			oh.error = -EIO;
		}
		if (oh.error == -EIO)
			oh.len = sizeof(oh);
		vtfs_reply_copy(vreq, &oh);
		oh.unique = req->in.h.unique;
		req->out.h = oh;
	}

	if (req->args->may_block) {
		/*
		 * The end callback may sleep (on a page lock, say) until
		 * another reply arrives, so it gets a work item of its own.
		 * On this CPU's pool of the same workqueue the worker that
		 * runs us picks it up next, with no extra wake-up; should it
		 * sleep, the pool lets another worker run the completions.
		 */
		INIT_WORK(&vreq->end_work, vtfs_req_end_work);
		queue_work(vtfs_wq, &vreq->end_work);
		return;
	}
	vtfs_req_free(vreq);
	fuse_request_end(req);
}

static void vtfs_queue_arm_backoff(struct vtfs_queue *q)
{
	lockdep_assert_held(&q->lock);

	if (!delayed_work_pending(&q->retry_work))
		queue_delayed_work(vtfs_wq, &q->retry_work,
				   msecs_to_jiffies(q->backoff_ms));
}

static void vtfs_queue_note_waiting(struct vtfs_queue *q)
{
	lockdep_assert_held(&q->lock);

	q->nr_waiting++;
	q->stats.waited++;
	if (q->nr_waiting > q->stats.max_waiting)
		q->stats.max_waiting = q->nr_waiting;
	vtfs_queue_arm_backoff(q);
}

/*
 * Put one built request on the ring; it moves from wherever it is linked to
 * the in-ring list. Return: 0, -ENOSPC or -ENOMEM.
 */
static int vtfs_queue_add_locked(struct vtfs_queue *q, struct vtfs_req *vreq)
{
	struct scatterlist *sgs[2] = { vreq->sg, vreq->sg + vreq->nr_out_sg };
	int ret;

	lockdep_assert_held(&q->lock);

	if (unlikely(vtfs_fault_ring_full()))
		ret = -ENOSPC;
	else
		ret = virtqueue_add_sgs(q->vq, sgs, 1, vreq->nr_in_sg ? 1 : 0,
					vreq, GFP_ATOMIC);
	if (ret) {
		q->stats.ring_full++;
		return ret;
	}
	list_move_tail(&vreq->list, &q->in_ring);
	q->in_flight++;
	q->stats.sent++;
	return 0;
}

/*
 * Move waiting requests onto the ring, oldest first, until it is full.
 * Return: whether the device must be notified.
 */
static bool vtfs_queue_refill_locked(struct vtfs_queue *q)
{
	struct vtfs_req *vreq;
	bool added = false;

	lockdep_assert_held(&q->lock);

	while ((vreq = list_first_entry_or_null(&q->waiting, struct vtfs_req,
						list))) {
		if (vtfs_queue_add_locked(q, vreq))
			break;
		q->nr_waiting--;
		added = true;
	}
	if (!q->nr_waiting)
		q->backoff_ms = VTFS_BACKOFF_MIN_MS;
	return added && virtqueue_kick_prepare(q->vq);
}

/*
 * Queue a built request behind the waiting ones, or put it on the ring
 * right away when none wait. Return: whether to notify the device.
 */
static bool vtfs_queue_push_locked(struct vtfs_queue *q, struct vtfs_req *vreq)
{
	lockdep_assert_held(&q->lock);

	INIT_LIST_HEAD(&vreq->list);
	if (!q->nr_waiting && !vtfs_queue_add_locked(q, vreq))
		return virtqueue_kick_prepare(q->vq);
	list_del(&vreq->list);
	list_add_tail(&vreq->list, &q->waiting);
	vtfs_queue_note_waiting(q);
	return false;
}

/*
 * Drop the queue lock and notify the device if asked. The notification is
 * made outside the lock; RCU keeps the virtqueue alive until teardown, which
 * clears q->vq and waits for a grace period before deleting it.
 */
static void vtfs_queue_unlock_notify(struct vtfs_queue *q, bool notify)
	__releases(&q->lock)
{
	struct virtqueue *vq = q->vq;

	rcu_read_lock();
	spin_unlock(&q->lock);
	if (notify)
		virtqueue_notify(vq);
	rcu_read_unlock();
}

/* Build, in process context, the fuse requests that had no buffer yet. */
static void vtfs_queue_build_unbuilt(struct vtfs_queue *q)
{
	struct fuse_req *req;
	struct vtfs_req *vreq;
	bool notify;
	int ret;

	for (;;) {
		spin_lock(&q->lock);
		req = list_first_entry_or_null(&q->unbuilt, struct fuse_req,
					       list);
		if (!req || !q->running) {
			spin_unlock(&q->lock);
			return;
		}
		list_del_init(&req->list);
		q->nr_waiting--;
		spin_unlock(&q->lock);

		vreq = NULL;
		ret = vtfs_req_build(req->fm->fc->iq.priv, req, GFP_NOIO, 0,
				     &vreq);
		if (ret && ret != -ENOMEM) {
			vtfs_session_reroute(req->fm->fc->iq.priv, req, ret);
			continue;
		}

		spin_lock(&q->lock);
		if (!vreq || !q->running) {
			/* Back to the head: nothing may overtake it. */
			list_add(&req->list, &q->unbuilt);
			q->nr_waiting++;
			if (q->running)
				vtfs_queue_arm_backoff(q);
			spin_unlock(&q->lock);
			if (vreq)
				vtfs_req_free(vreq);
			return;
		}
		notify = vtfs_queue_push_locked(q, vreq);
		vtfs_queue_unlock_notify(q, notify);
	}
}

/*
 * Completions fault injection held back (see fault.h) whose opcode is let
 * go again. Without fault injection the list is always empty.
 */
static void vtfs_queue_unhold_locked(struct vtfs_queue *q,
				     struct list_head *done)
{
	struct vtfs_req *vreq, *next;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(vreq, next, &q->fault_held, list) {
		if (vtfs_fault_hold(vtfs_req_ih(vreq)->opcode))
			continue;
		list_move_tail(&vreq->list, done);
		q->in_flight--;
		q->stats.completed++;
	}
}

static void vtfs_queue_done_work(struct work_struct *work)
{
	struct vtfs_queue *q = container_of(work, struct vtfs_queue, done_work);
	struct vtfs_req *vreq, *next;
	unsigned int len;
	bool notify = false;
	LIST_HEAD(done);

	spin_lock(&q->lock);
	if (!q->vq) {
		spin_unlock(&q->lock);
		return;
	}
	vtfs_queue_unhold_locked(q, &done);
	do {
		virtqueue_disable_cb(q->vq);
		while ((vreq = virtqueue_get_buf(q->vq, &len))) {
			vreq->used = len;
			if (unlikely(vtfs_fault_hold(vtfs_req_ih(vreq)->opcode))) {
				list_move_tail(&vreq->list, &q->fault_held);
				continue;
			}
			list_move_tail(&vreq->list, &done);
			q->in_flight--;
			q->stats.completed++;
		}
		if (q->running)
			notify |= vtfs_queue_refill_locked(q);
	} while (!virtqueue_enable_cb(q->vq) && !virtqueue_is_broken(q->vq));
	/* Idle after every read at QD1: skip the wait queue's lock then. */
	if (!q->in_flight && !q->nr_waiting && wq_has_sleeper(&q->idle))
		wake_up_all(&q->idle);
	/* A used entry that matched nothing: virtio_ring stopped the ring. */
	if (unlikely(virtqueue_is_broken(q->vq)))
		queue_work(vtfs_wq, &q->dev->broken_work);
	vtfs_queue_unlock_notify(q, notify);

	if (q->index == VTFS_HIPRIO && !list_empty(&done))
		vtfs_device_kick_forgets(q->dev);
	list_for_each_entry_safe(vreq, next, &done, list)
		vtfs_req_complete(q, vreq);

	vtfs_queue_build_unbuilt(q);
}

static void vtfs_queue_retry_work(struct work_struct *work)
{
	struct vtfs_queue *q = container_of(to_delayed_work(work),
					    struct vtfs_queue, retry_work);
	bool notify = false;

	spin_lock(&q->lock);
	if (q->running && q->nr_waiting) {
		q->stats.backoff_fired++;
		notify = vtfs_queue_refill_locked(q);
		if (q->nr_waiting) {
			q->backoff_ms = min(q->backoff_ms * 2,
					    (unsigned int)VTFS_BACKOFF_MAX_MS);
			vtfs_queue_arm_backoff(q);
		}
	}
	vtfs_queue_unlock_notify(q, notify);
	vtfs_queue_build_unbuilt(q);
}

/**
 * vtfs_vq_done() - virtqueue callback
 * @vq: the virtqueue with new completions
 *
 * Context: interrupt.
 */
void vtfs_vq_done(struct virtqueue *vq)
{
	struct vtfs_device *dev = vq->vdev->priv;

	queue_work(vtfs_wq, &dev->queues[vq->index].done_work);
}

/**
 * vtfs_queue_init() - set up the software side of a queue
 * @q: the queue
 * @dev: its device
 * @index: its virtqueue index
 *
 * Context: process.
 */
void vtfs_queue_init(struct vtfs_queue *q, struct vtfs_device *dev,
		     unsigned int index)
{
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->in_ring);
	INIT_LIST_HEAD(&q->fault_held);
	INIT_LIST_HEAD(&q->waiting);
	INIT_LIST_HEAD(&q->unbuilt);
	INIT_WORK(&q->done_work, vtfs_queue_done_work);
	INIT_DELAYED_WORK(&q->retry_work, vtfs_queue_retry_work);
	init_waitqueue_head(&q->idle);
	q->backoff_ms = VTFS_BACKOFF_MIN_MS;
	q->dev = dev;
	q->index = index;
	if (index == VTFS_HIPRIO)
		strscpy(q->name, "hiprio", sizeof(q->name));
	else
		snprintf(q->name, sizeof(q->name), "requests.%u",
			 index - VTFS_FIRST_REQUEST_QUEUE);
}

/**
 * vtfs_queue_start() - let a queue accept requests on a new virtqueue
 * @q: the queue
 * @vq: its virtqueue
 *
 * Context: process.
 */
void vtfs_queue_start(struct vtfs_queue *q, struct virtqueue *vq)
{
	spin_lock(&q->lock);
	q->vq = vq;
	q->running = true;
	spin_unlock(&q->lock);
}

/**
 * vtfs_queue_stop() - stop putting requests on the ring
 * @q: the queue
 * @parked: receives, in order, the fuse requests that waited for the ring
 *
 * Requests already on the ring stay there; see vtfs_queue_wait_idle().
 * Waiting requests are taken off the queue: fuse requests go to @parked to
 * be built again later (ids may change meanwhile), FORGETs are dropped (the
 * device loses its lookup counts when it is reset or removed anyway).
 *
 * Context: process.
 */
void vtfs_queue_stop(struct vtfs_queue *q, struct list_head *parked)
{
	struct vtfs_req *vreq, *next;
	LIST_HEAD(drop);

	spin_lock(&q->lock);
	q->running = false;
	list_for_each_entry_safe(vreq, next, &q->waiting, list) {
		list_del(&vreq->list);
		if (vreq->freq)
			list_add_tail(&vreq->freq->list, parked);
		list_add_tail(&vreq->list, &drop);
	}

	list_splice_tail_init(&q->unbuilt, parked);
	q->nr_waiting = 0;
	q->backoff_ms = VTFS_BACKOFF_MIN_MS;
	if (!q->in_flight)
		wake_up_all(&q->idle);
	spin_unlock(&q->lock);

	cancel_delayed_work_sync(&q->retry_work);
	list_for_each_entry_safe(vreq, next, &drop, list) {
		if (vreq->call)
			vtfs_call_finish(vreq, -ESHUTDOWN);
		else
			vtfs_req_free(vreq);
	}
}

static bool vtfs_queue_idle(struct vtfs_queue *q)
{
	bool idle;

	spin_lock(&q->lock);
	idle = !q->in_flight && !q->nr_waiting;
	spin_unlock(&q->lock);
	return idle;
}

/**
 * vtfs_queue_wait_idle() - wait until the device returned every buffer
 * @q: the queue; nothing new is submitted to it
 * @timeout: jiffies to wait at most
 *
 * Context: process, may sleep.
 * Return: 0 when idle, -ETIMEDOUT otherwise.
 */
int vtfs_queue_wait_idle(struct vtfs_queue *q, unsigned long timeout)
{
	bool idle = wait_event_timeout(q->idle, vtfs_queue_idle(q), timeout);

	flush_work(&q->done_work);
	return idle ? 0 : -ETIMEDOUT;
}

/**
 * vtfs_queue_cancel() - end what is left on the ring of a reset device
 * @q: a stopped queue whose device was reset
 * @error: the error the fuse requests get
 *
 * Context: process, may sleep. The device must be reset: it no longer
 * touches the buffers.
 */
void vtfs_queue_cancel(struct vtfs_queue *q, int error)
{
	struct vtfs_req *vreq, *next;
	LIST_HEAD(cancelled);

	flush_work(&q->done_work);
	spin_lock(&q->lock);
	if (q->vq) {
		while ((vreq = virtqueue_detach_unused_buf(q->vq))) {
			list_move_tail(&vreq->list, &cancelled);
			q->in_flight--;
		}
	}
	q->in_flight -= list_count_nodes(&q->fault_held);
	list_splice_tail_init(&q->fault_held, &cancelled);
	WARN_ON(q->in_flight);
	q->in_flight = 0;
	q->vq = NULL;
	wake_up_all(&q->idle);
	spin_unlock(&q->lock);
	/* Wait for notifiers that still use the old virtqueue. */
	synchronize_rcu();

	list_for_each_entry_safe(vreq, next, &cancelled, list) {
		struct fuse_req *req = vreq->freq;

		if (vreq->call) {
			vtfs_call_finish(vreq, error);
			continue;
		}
		vtfs_req_free(vreq);
		if (req) {
			req->out.h.error = error;
			fuse_request_end(req);
		}
	}
}

/**
 * vtfs_queue_oldest_opcode() - opcode of the oldest request on the ring
 * @q: the queue
 *
 * Context: process.
 * Return: the FUSE opcode, or 0 when the ring is empty.
 */
u32 vtfs_queue_oldest_opcode(struct vtfs_queue *q)
{
	struct vtfs_req *vreq;
	u32 opcode = 0;

	spin_lock(&q->lock);
	vreq = list_first_entry_or_null(&q->in_ring, struct vtfs_req, list);
	if (!vreq)
		vreq = list_first_entry_or_null(&q->fault_held,
						struct vtfs_req, list);
	if (vreq)
		opcode = vtfs_req_ih(vreq)->opcode;
	spin_unlock(&q->lock);
	return opcode;
}

/**
 * vtfs_queue_backlogged() - whether requests wait for room on this queue
 * @q: the queue
 *
 * Context: any.
 * Return: true when something waits.
 */
bool vtfs_queue_backlogged(struct vtfs_queue *q)
{
	return READ_ONCE(q->nr_waiting) != 0;
}

/**
 * vtfs_pick_queue() - the request queue for the current CPU
 * @dev: the device
 *
 * Context: any.
 * Return: one of the device's request queues.
 */
struct vtfs_queue *vtfs_pick_queue(struct vtfs_device *dev)
{
	unsigned int nr = dev->nr_queues - VTFS_FIRST_REQUEST_QUEUE;
	unsigned int i = nr > 1 ? raw_smp_processor_id() % nr : 0;

	return &dev->queues[VTFS_FIRST_REQUEST_QUEUE + i];
}

/**
 * vtfs_queue_submit_fuse() - send a fuse request, or queue it for the ring
 * @q: a request queue
 * @sess: the session of @req
 * @req: the request, taken off the fuse core's pending list
 * @gfp: allocation context of the caller
 * @flags: VTFS_NAMES_FOUND or 0, for vtfs_idmap_request()
 *
 * Context: any; the fuse core may hold its locks. Never sleeps unless @gfp
 * allows it.
 * Return: 0 when the request is on the ring or waits for it, -ESHUTDOWN when
 * the queue does not accept requests, or the session's reason not to send it
 * (see vtfs_idmap_request()); unless 0, the caller keeps @req.
 */
int vtfs_queue_submit_fuse(struct vtfs_queue *q, struct vtfs_session *sess,
			   struct fuse_req *req, gfp_t gfp, unsigned int flags)
{
	struct vtfs_req *vreq = NULL;
	bool notify;
	int ret;

	ret = vtfs_req_build(sess, req, gfp, flags, &vreq);
	if (ret && ret != -ENOMEM)
		return ret;

	spin_lock(&q->lock);
	if (!q->running) {
		spin_unlock(&q->lock);
		if (vreq)
			vtfs_req_free(vreq);
		return -ESHUTDOWN;
	}
	if (!vreq || !list_empty(&q->unbuilt)) {
		list_add_tail(&req->list, &q->unbuilt);
		vtfs_queue_note_waiting(q);
		spin_unlock(&q->lock);
		if (vreq)
			vtfs_req_free(vreq);
		return 0;
	}
	atomic64_inc(&q->dev->op_count[req->in.h.opcode % VTFS_MAX_OPCODE]);
	notify = vtfs_queue_push_locked(q, vreq);
	vtfs_queue_unlock_notify(q, notify);
	return 0;
}

/**
 * vtfs_queue_submit_forgets() - send FORGET or BATCH_FORGET on hiprio
 * @q: the hiprio queue
 * @unique: request id from the fuse core
 * @head: chain of forgets (linked by ->next), as the fuse core queued them
 * @count: entries in the chain
 *
 * Context: process. The caller keeps and frees @head.
 * Return: 0 when sent or waiting for room, -ENOMEM, or -ESHUTDOWN when the
 * queue does not run.
 */
int vtfs_queue_submit_forgets(struct vtfs_queue *q, u64 unique,
			      const struct fuse_forget_link *head,
			      unsigned int count)
{
	struct fuse_in_header *ih;
	struct vtfs_req *vreq;
	unsigned int len;
	bool notify;

	if (count == 1)
		len = sizeof(*ih) + sizeof(struct fuse_forget_in);
	else
		len = sizeof(*ih) + sizeof(struct fuse_batch_forget_in) +
		      count * sizeof(struct fuse_forget_one);
	vreq = vtfs_req_alloc(len, 0, 1, GFP_NOIO);
	if (!vreq)
		return -ENOMEM;

	ih = vtfs_req_ih(vreq);
	*ih = (struct fuse_in_header) {
		.len = len,
		.unique = unique,
	};
	if (count == 1) {
		struct fuse_forget_in *in = (void *)(ih + 1);

		ih->opcode = FUSE_FORGET;
		ih->nodeid = head->forget_one.nodeid;
		in->nlookup = head->forget_one.nlookup;
	} else {
		struct fuse_batch_forget_in *in = (void *)(ih + 1);
		struct fuse_forget_one *one = (void *)(in + 1);

		ih->opcode = FUSE_BATCH_FORGET;
		in->count = count;
		in->dummy = 0;
		for (; head && count; head = head->next, count--)
			*one++ = head->forget_one;
	}
	sg_init_one(vreq->sg, vreq->buf, len);
	vreq->nr_out_sg = 1;
	vreq->nr_in_sg = 0;

	spin_lock(&q->lock);
	if (!q->running) {
		spin_unlock(&q->lock);
		vtfs_req_free(vreq);
		return -ESHUTDOWN;
	}
	atomic64_inc(&q->dev->op_count[ih->opcode]);
	notify = vtfs_queue_push_locked(q, vreq);
	vtfs_queue_unlock_notify(q, notify);
	return 0;
}

/**
 * vtfs_call() - send a request of the driver's own and wait for its reply
 * @sess: the session whose connection the request belongs to
 * @dev: the device to send it to
 * @opcode: FUSE opcode
 * @nodeid: device nodeid of the request
 * @creds: uid, gid and pid for the request header, or NULL for root
 * @in1: first argument
 * @len1: its size
 * @in2: second argument, or NULL
 * @len2: its size
 * @out: receives the reply payload
 * @out_size: room in @out
 *
 * The request goes to the device whatever the session's state (recovery
 * runs while the fuse core's requests are held).
 *
 * Context: process, may sleep up to VTFS_CALL_TIMEOUT_MS.
 * Return: bytes of reply payload, or a negative errno: the device's error,
 * -EIO for a reply that fails checks, -ETIMEDOUT, -ESHUTDOWN or -ENOMEM.
 */
int vtfs_call(struct vtfs_session *sess, struct vtfs_device *dev, u32 opcode,
	      u64 nodeid, const struct fuse_in_header *creds,
	      const void *in1, unsigned int len1,
	      const void *in2, unsigned int len2,
	      void *out, unsigned int out_size)
{
	struct fuse_iqueue *fiq = &sess->fc->iq;
	struct vtfs_queue *q = vtfs_pick_queue(dev);
	unsigned int in_len = sizeof(struct fuse_in_header) + len1 + len2;
	unsigned int out_len = sizeof(struct fuse_out_header) + out_size;
	struct fuse_in_header *ih;
	struct vtfs_call *call;
	struct vtfs_req *vreq;
	bool notify;
	int ret;

	ret = vtfs_fault_call(opcode);
	if (unlikely(ret))
		return ret;
	call = kzalloc(struct_size(call, out, out_size), GFP_KERNEL);
	vreq = vtfs_req_alloc(in_len, out_len, 2, GFP_KERNEL);
	if (!call || !vreq) {
		kfree(call);
		kfree(vreq);
		return -ENOMEM;
	}
	kref_init(&call->ref);
	kref_get(&call->ref);
	init_completion(&call->done);
	call->out_size = out_size;
	vreq->call = call;

	ih = vtfs_req_ih(vreq);
	*ih = (struct fuse_in_header) {
		.len = in_len,
		.opcode = opcode,
		.nodeid = nodeid,
	};
	if (creds) {
		ih->uid = creds->uid;
		ih->gid = creds->gid;
		ih->pid = creds->pid;
	}
	ih->unique = vtfs_fiq_unique(fiq);
	memcpy(ih + 1, in1, len1);
	if (len2)
		memcpy((u8 *)(ih + 1) + len1, in2, len2);
	sg_init_one(vreq->sg, vreq->buf, in_len);
	sg_init_one(vreq->sg + 1, vtfs_req_reply(vreq), out_len);
	vreq->nr_out_sg = 1;
	vreq->nr_in_sg = 1;

	spin_lock(&q->lock);
	if (!q->running) {
		spin_unlock(&q->lock);
		kfree(vreq);
		kfree(call);
		return -ESHUTDOWN;
	}
	atomic64_inc(&dev->op_count[opcode % VTFS_MAX_OPCODE]);
	notify = vtfs_queue_push_locked(q, vreq);
	vtfs_queue_unlock_notify(q, notify);

	if (!wait_for_completion_timeout(&call->done,
					 msecs_to_jiffies(VTFS_CALL_TIMEOUT_MS))) {
		kref_put(&call->ref, vtfs_call_put_ref);
		return -ETIMEDOUT;
	}
	ret = call->error ?: (int)call->out_len;
	if (!call->error)
		memcpy(out, call->out, call->out_len);
	kref_put(&call->ref, vtfs_call_put_ref);
	return ret;
}
