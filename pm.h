/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: power management (pm.c).
 */
#ifndef _VTFS_PM_H
#define _VTFS_PM_H

struct virtio_device;
struct vtfs_device;

int vtfs_freeze(struct virtio_device *vdev);
int vtfs_restore(struct virtio_device *vdev);
void vtfs_pm_cancel(struct vtfs_device *dev);

#endif /* _VTFS_PM_H */
