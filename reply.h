/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: checks of what the device writes, plain C on buffers.
 *
 * The device is not trusted: nothing it writes is used before these
 * checks passed. This file builds in the kernel and, for fuzzing, in
 * userspace (VTFS_USERSPACE, see fuzz/).
 */
#ifndef _VTFS_REPLY_H
#define _VTFS_REPLY_H

#ifndef VTFS_USERSPACE
#include <linux/types.h>
#endif
#include <linux/fuse.h>

/* Longest name in a directory entry (the fuse core's FUSE_NAME_MAX). */
#define VTFS_NAME_MAX 1024

int vtfs_check_reply_header(const struct fuse_out_header *oh, u64 unique,
			    u32 used);
int vtfs_check_reply_size(u32 payload, u32 capacity, u32 last_size,
			  bool argvar);

/* Called for each READDIRPLUS entry; may rewrite dp->entry_out.nodeid. */
typedef int (*vtfs_dirplus_fn)(void *ctx, struct fuse_direntplus *dp);

int vtfs_walk_dirplus(void *buf, u32 len, vtfs_dirplus_fn fn, void *ctx);
int vtfs_check_dirents(const void *buf, u32 len);

#endif /* _VTFS_REPLY_H */
