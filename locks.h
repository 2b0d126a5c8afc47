/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: byte-range lock tracking, plain C on buffers.
 *
 * The guest kernel keeps no record of POSIX, OFD or flock locks that a FUSE
 * server handles: the server is the only one that knows them. To take them
 * again after the device was reset, the driver records, per lock owner, the
 * ranges it holds with POSIX semantics: setting a range replaces whatever
 * the owner held there (splitting ranges as needed), unlocking a range
 * punches a hole, and adjacent or overlapping ranges of one type merge.
 *
 * This file builds in the kernel and, for fuzzing, in userspace
 * (VTFS_USERSPACE), where the allocation hooks map to libc.
 */
#ifndef _VTFS_LOCKS_H
#define _VTFS_LOCKS_H

/* Userspace builds provide u64 and u32 themselves (fuzz/shim.h). */
#ifndef VTFS_USERSPACE
#include <linux/types.h>
#endif

/* Lock types, as in struct fuse_file_lock (and fcntl). */
#define VTFS_RDLCK 0
#define VTFS_WRLCK 1
#define VTFS_UNLCK 2

/* Most ranges one owner may hold on one file; more fail with -ENOSPC. */
#define VTFS_MAX_RANGES 4096

/**
 * struct vtfs_range - one locked byte range
 * @start: first byte
 * @end: last byte (inclusive); OFFSET_MAX means to the end of the file
 * @type: VTFS_RDLCK or VTFS_WRLCK
 */
struct vtfs_range {
	u64 start;
	u64 end;
	u32 type;
};

/**
 * struct vtfs_ranges - the ranges one owner holds on one file
 * @nr: ranges in @r, sorted by @start, never overlapping or mergeable
 * @cap: room in @r
 * @r: the ranges
 */
struct vtfs_ranges {
	unsigned int nr;
	unsigned int cap;
	struct vtfs_range *r;
};

int vtfs_ranges_apply(struct vtfs_ranges *rs, u64 start, u64 end, u32 type);
void vtfs_ranges_free(struct vtfs_ranges *rs);
int vtfs_ranges_check(const struct vtfs_ranges *rs);

#endif /* _VTFS_LOCKS_H */
