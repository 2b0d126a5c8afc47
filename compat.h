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

#endif /* _VTFS_COMPAT_H */
