/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: power management and session recovery (pm.c).
 */
#ifndef _VTFS_PM_H
#define _VTFS_PM_H

#include <linux/types.h>

struct fuse_req;
struct virtio_device;
struct vtfs_device;
struct vtfs_session;
struct work_struct;

int vtfs_freeze(struct virtio_device *vdev);
int vtfs_restore(struct virtio_device *vdev);
void vtfs_reset_work(struct work_struct *work);
void vtfs_pm_init_session(struct vtfs_session *sess);
void vtfs_pm_cancel_session(struct vtfs_session *sess);
int vtfs_resolve_request(struct vtfs_session *sess, struct vtfs_device *dev,
			 struct fuse_req *req);
const char *vtfs_pm_policy_name(int policy);
void vtfs_close_device_session(struct vtfs_session *sess,
			       struct vtfs_device *dev);
u32 vtfs_end_device_session(struct vtfs_device *dev,
			    struct vtfs_session *sess, bool close,
			    unsigned long wait, int error);

#endif /* _VTFS_PM_H */
