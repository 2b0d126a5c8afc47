/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: the differences between the kernel lines it builds for.
 *
 * Everything that depends on the kernel version is here, so the logic of
 * the driver reads the same on every kernel. The VTFS_HAVE_* macros come
 * from Kbuild, which looks for each feature in the kernel's headers.
 */
#ifndef _VTFS_COMPAT_H
#define _VTFS_COMPAT_H

#include <linux/virtio_config.h>

#include "fuse_virtio.h"

/**
 * vtfs_find_vqs() - create @nvqs virtqueues sharing one callback
 * @vdev: the device
 * @nvqs: number of virtqueues
 * @vqs: receives the virtqueues
 * @callback: called for every virtqueue
 * @names: the virtqueue names
 *
 * Context: process, may sleep.
 * Return: 0 or a negative errno.
 */
static inline int vtfs_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
				struct virtqueue *vqs[],
				void (*callback)(struct virtqueue *vq),
				const char *const names[])
{
#ifdef VTFS_HAVE_VIRTQUEUE_INFO
	struct virtqueue_info *info;
	unsigned int i;
	int ret;

	info = kcalloc(nvqs, sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	for (i = 0; i < nvqs; i++) {
		info[i].name = names[i];
		info[i].callback = callback;
	}
	ret = virtio_find_vqs(vdev, nvqs, vqs, info, NULL);
	kfree(info);
	return ret;
#else
	vq_callback_t **callbacks;
	unsigned int i;
	int ret;

	callbacks = kcalloc(nvqs, sizeof(*callbacks), GFP_KERNEL);
	if (!callbacks)
		return -ENOMEM;
	for (i = 0; i < nvqs; i++)
		callbacks[i] = callback;
	ret = virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, NULL);
	kfree(callbacks);
	return ret;
#endif
}

/*
 * The fuse core hands requests and FORGETs to the driver through
 * struct fuse_iqueue_ops. Linux 6.1 queues them on the input queue and
 * calls wake_*_and_unlock() with fiq->lock held; Linux 6.11 and later hand
 * each one over (send_req(), send_forget()), and the driver sets the
 * request's unique id. VTFS_FIQ_OPS fills in the callbacks; the session
 * (session.c) does the rest the same way on every kernel.
 */
/**
 * vtfs_fiq_unique() - a new request id of the connection
 * @fiq: the connection's input queue
 *
 * Linux 6.1's fuse_get_unique() wants fiq->lock held; later ones take it.
 *
 * Context: any; fiq->lock not held.
 * Return: the id.
 */
static inline u64 vtfs_fiq_unique(struct fuse_iqueue *fiq)
{
#ifdef VTFS_HAVE_SEND_REQ
	return fuse_get_unique(fiq);
#else
	u64 unique;

	spin_lock(&fiq->lock);
	unique = fuse_get_unique(fiq);
	spin_unlock(&fiq->lock);
	return unique;
#endif
}

#ifdef VTFS_HAVE_SEND_REQ
static inline void vtfs_fiq_send_req(struct fuse_iqueue *fiq,
				     struct fuse_req *req)
{
	if (req->in.h.opcode != FUSE_NOTIFY_REPLY)
		req->in.h.unique = vtfs_fiq_unique(fiq);
	clear_bit(FR_PENDING, &req->flags);
	vtfs_session_submit(fiq->priv, req);
}

static inline void vtfs_fiq_send_forget(struct fuse_iqueue *fiq,
					struct fuse_forget_link *link)
{
	link->next = NULL;
	vtfs_session_queue_forgets(fiq->priv, link, link, 1);
}

/*
 * Virtio-fs devices take no FUSE_INTERRUPT. The core calls this only for
 * requests marked FR_SENT, which are those the session holds back.
 */
static inline void vtfs_fiq_send_interrupt(struct fuse_iqueue *fiq,
					   struct fuse_req *req)
{
	vtfs_session_interrupted(fiq->priv, req);
}

#define VTFS_FIQ_OPS \
	.send_req = vtfs_fiq_send_req, \
	.send_forget = vtfs_fiq_send_forget, \
	.send_interrupt = vtfs_fiq_send_interrupt
#else
static inline void vtfs_fiq_wake_pending(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	struct fuse_req *req, *next;
	LIST_HEAD(reqs);

	list_for_each_entry(req, &fiq->pending, list)
		clear_bit(FR_PENDING, &req->flags);
	list_splice_init(&fiq->pending, &reqs);
	spin_unlock(&fiq->lock);

	list_for_each_entry_safe(req, next, &reqs, list) {
		list_del_init(&req->list);
		vtfs_session_submit(fiq->priv, req);
	}
}

static inline void vtfs_fiq_wake_forget(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	struct fuse_forget_link *head, *tail;
	unsigned int count;

	head = fuse_dequeue_forget(fiq, UINT_MAX, &count);
	spin_unlock(&fiq->lock);
	if (!head)
		return;
	for (tail = head; tail->next; tail = tail->next)
		;
	vtfs_session_queue_forgets(fiq->priv, head, tail, count);
}

/*
 * Virtio-fs devices take no FUSE_INTERRUPT. The core queues one only for
 * requests marked FR_SENT, which are those the session holds back, and
 * calls this right after queueing it, under the same fiq->lock, from the
 * waiting task: the list holds that one request.
 */
static inline void vtfs_fiq_wake_interrupt(struct fuse_iqueue *fiq)
	__releases(fiq->lock)
{
	struct fuse_req *req, *next, *last = NULL;

	list_for_each_entry_safe(req, next, &fiq->interrupts, intr_entry) {
		list_del_init(&req->intr_entry);
		last = req;
	}
	spin_unlock(&fiq->lock);
	if (last)
		vtfs_session_interrupted(fiq->priv, last);
}

#define VTFS_FIQ_OPS \
	.wake_pending_and_unlock = vtfs_fiq_wake_pending, \
	.wake_forget_and_unlock = vtfs_fiq_wake_forget, \
	.wake_interrupt_and_unlock = vtfs_fiq_wake_interrupt
#endif

#endif /* _VTFS_COMPAT_H */
