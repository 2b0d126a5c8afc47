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

#include "fuse_virtio.h"

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
 *
 * Context: any; does not sleep unless @gfp allows it.
 * Return: the new request, or NULL when memory ran out.
 */
static struct vtfs_req *vtfs_req_build(struct vtfs_session *sess,
				       struct fuse_req *req, gfp_t gfp)
{
	struct fuse_args *args = req->args;
	struct fuse_args_pages *ap = container_of(args, typeof(*ap), args);
	const struct fuse_arg *in_args = (const struct fuse_arg *)args->in_args;
	unsigned int n_in = args->in_numargs - args->in_pages;
	unsigned int n_out = args->out_numargs - args->out_pages;
	bool reply = test_bit(FR_ISREPLY, &req->flags);
	unsigned int in_len, out_len = 0, in_pg = 0, out_pg = 0, i, n;
	struct vtfs_req *vreq;
	u8 *p;

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
		return NULL;
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

	vtfs_session_sent(sess, req, vreq);
	return vreq;
}

static void vtfs_req_free(struct vtfs_req *vreq)
{
	kfree(vreq);
}

/*
 * Check the reply against the request and copy its inline arguments to the
 * fuse core. The device is not trusted: a reply that does not fit what the
 * request allows fails the request with -EIO.
 */
static int vtfs_req_copy_reply(struct vtfs_req *vreq,
			       struct fuse_out_header *oh)
{
	unsigned int used = vreq->used;
	struct fuse_req *req = vreq->freq;
	struct fuse_args *args = req->args;
	unsigned int n_out = args->out_numargs - args->out_pages;
	unsigned int capacity, payload, size, i;
	struct fuse_arg *last;
	const u8 *p;

	memcpy(oh, vtfs_req_oh(vreq), sizeof(*oh));
	if (used < sizeof(*oh) || oh->len < sizeof(*oh) || oh->len > used ||
	    oh->unique != vtfs_req_ih(vreq)->unique ||
	    oh->error > 0 || oh->error < -MAX_ERRNO)
		return -EIO;
	if (oh->error)
		return oh->len == sizeof(*oh) ? 0 : -EIO;

	payload = oh->len - sizeof(*oh);
	capacity = vtfs_args_bytes(args->out_args, args->out_numargs);
	if (payload > capacity)
		return -EIO;
	last = args->out_numargs ? &args->out_args[args->out_numargs - 1] : NULL;
	if (payload < capacity &&
	    (!args->out_argvar || capacity - payload > last->size))
		return -EIO;

	p = vtfs_req_reply(vreq) + sizeof(*oh);
	for (i = 0; i < n_out; i++) {
		size = min(args->out_args[i].size, payload);
		memcpy(args->out_args[i].value, p, size);
		p += size;
		payload -= size;
	}
	if (args->out_argvar)
		last->size -= capacity - (oh->len - sizeof(*oh));

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
	return 0;
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
		vtfs_req_free(vreq);
		return;
	}

	if (test_bit(FR_ISREPLY, &req->flags)) {
		if (vtfs_req_copy_reply(vreq, &oh)) {
			pr_warn_ratelimited("%s: %s: bad reply to opcode %u (len %u, used %u, error %d), failing it with EIO\n",
					    VTFS_NAME, q->dev->tag,
					    vtfs_req_ih(vreq)->opcode, oh.len,
					    vreq->used, oh.error);
			spin_lock(&q->lock);
			q->stats.bad_replies++;
			spin_unlock(&q->lock);
			oh.len = sizeof(oh);
			oh.unique = req->in.h.unique;
			oh.error = -EIO;
		}
		req->out.h = oh;
		vtfs_session_replied(vreq->sess, req);
	}

	if (req->args->may_block) {
		/* The end callback may sleep: run it where that is fine. */
		INIT_WORK(&vreq->end_work, vtfs_req_end_work);
		queue_work(system_unbound_wq, &vreq->end_work);
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

	ret = virtqueue_add_sgs(q->vq, sgs, 1, vreq->nr_in_sg ? 1 : 0, vreq,
				GFP_ATOMIC);
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

		vreq = vtfs_req_build(req->fm->fc->iq.priv, req, GFP_NOIO);

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
	do {
		virtqueue_disable_cb(q->vq);
		while ((vreq = virtqueue_get_buf(q->vq, &len))) {
			vreq->used = len;
			list_move_tail(&vreq->list, &done);
			q->in_flight--;
			q->stats.completed++;
		}
		if (q->running)
			notify |= vtfs_queue_refill_locked(q);
	} while (!virtqueue_enable_cb(q->vq) && !virtqueue_is_broken(q->vq));
	if (!q->in_flight)
		wake_up_all(&q->idle);
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
	spin_unlock(&q->lock);

	cancel_delayed_work_sync(&q->retry_work);
	list_for_each_entry_safe(vreq, next, &drop, list)
		vtfs_req_free(vreq);
}

static bool vtfs_queue_idle(struct vtfs_queue *q)
{
	bool idle;

	spin_lock(&q->lock);
	idle = !q->in_flight;
	spin_unlock(&q->lock);
	return idle;
}

/**
 * vtfs_queue_wait_idle() - wait until the device returned every buffer
 * @q: a stopped queue
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
	WARN_ON(q->in_flight);
	q->in_flight = 0;
	q->vq = NULL;
	wake_up_all(&q->idle);
	spin_unlock(&q->lock);
	/* Wait for notifiers that still use the old virtqueue. */
	synchronize_rcu();

	list_for_each_entry_safe(vreq, next, &cancelled, list) {
		struct fuse_req *req = vreq->freq;

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
 *
 * Context: any; the fuse core may hold its locks. Never sleeps unless @gfp
 * allows it.
 * Return: 0 when the request is on the ring or waits for it, -ESHUTDOWN when
 * the queue does not accept requests (the caller keeps @req).
 */
int vtfs_queue_submit_fuse(struct vtfs_queue *q, struct vtfs_session *sess,
			   struct fuse_req *req, gfp_t gfp)
{
	struct vtfs_req *vreq;
	bool notify;

	vreq = vtfs_req_build(sess, req, gfp);

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
