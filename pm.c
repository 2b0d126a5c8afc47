// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: freeze and restore.
 *
 * A device without a mount has no session to lose: freeze takes its queues
 * down with the helpers remove uses, restore brings them back with the ones
 * probe uses. A device with a mount refuses to freeze for now.
 */

#include <linux/module.h>
#include <linux/virtio_config.h>

#include "fuse_virtio.h"
#include "pm.h"

/**
 * vtfs_freeze() - virtio freeze callback
 * @vdev: the device
 *
 * Context: process, system suspend or hibernation.
 * Return: 0, or -EBUSY when the suspend must not go on.
 */
int vtfs_freeze(struct virtio_device *vdev)
{
	struct vtfs_device *dev = vdev->priv;
	LIST_HEAD(parked);
	int ret = 0;

	mutex_lock(&dev->lock);
	if (rcu_access_pointer(dev->session)) {
		pr_warn("%s: tag %s: suspend refused: the device is mounted\n",
			VTFS_NAME, dev->tag);
		ret = -EBUSY;
	} else if (dev->queues_up) {
		vtfs_queues_quiesce(dev, 0, &parked, NULL);
		vtfs_queues_destroy(dev, -EIO);
	}
	mutex_unlock(&dev->lock);
	return ret;
}

/**
 * vtfs_restore() - virtio restore callback
 * @vdev: the device, reset by the virtio core
 *
 * Context: process, system resume.
 * Return: 0 or a negative errno.
 */
int vtfs_restore(struct virtio_device *vdev)
{
	struct vtfs_device *dev = vdev->priv;
	int ret;

	mutex_lock(&dev->lock);
	ret = vtfs_queues_create(dev);
	if (!ret)
		virtio_device_ready(vdev);
	mutex_unlock(&dev->lock);
	if (ret)
		pr_err("%s: tag %s: resume failed to set up the virtqueues (%d)\n",
		       VTFS_NAME, dev->tag, ret);
	return ret;
}

/**
 * vtfs_pm_cancel() - stop power management work of a device going away
 * @dev: the device, with its lock held
 *
 * Context: process.
 */
void vtfs_pm_cancel(struct vtfs_device *dev)
{
	lockdep_assert_held(&dev->lock);
}
