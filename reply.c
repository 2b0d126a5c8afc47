// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: checks of what the device writes (see reply.h).
 */

#ifdef VTFS_USERSPACE
#include <errno.h>
#include <string.h>
#else
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/string.h>
#endif

#include "reply.h"

/* Errors in a reply header, as errno values: 0 or -1 ... -4095. */
#define VTFS_MAX_ERRNO 4095

/**
 * vtfs_check_reply_header() - check the header of a reply
 * @oh: the header, copied out of the device's buffer once
 * @unique: the id of the request it answers
 * @used: bytes the device says it wrote
 *
 * Context: any.
 * Return: 0; -ESRCH when the reply answers another request; -EBADMSG when
 * the header is malformed (lengths, an error out of -4095..0, an error
 * reply with a payload).
 */
int vtfs_check_reply_header(const struct fuse_out_header *oh, u64 unique,
			    u32 used)
{
	if (used < sizeof(*oh) || oh->len < sizeof(*oh) || oh->len > used)
		return -EBADMSG;
	if (oh->unique != unique)
		return -ESRCH;
	if (oh->error > 0 || oh->error < -VTFS_MAX_ERRNO)
		return -EBADMSG;
	if (oh->error && oh->len != sizeof(*oh))
		return -EBADMSG;
	return 0;
}

/**
 * vtfs_check_reply_size() - check a payload against the reply arguments
 * @payload: bytes after the header
 * @capacity: bytes all reply arguments of the request can take
 * @last_size: size of the last argument
 * @argvar: the last argument may come shorter
 *
 * Context: any.
 * Return: 0, or -EBADMSG.
 */
int vtfs_check_reply_size(u32 payload, u32 capacity, u32 last_size,
			  bool argvar)
{
	if (payload > capacity)
		return -EBADMSG;
	if (payload < capacity && (!argvar || capacity - payload > last_size))
		return -EBADMSG;
	return 0;
}

/* A name the fuse core may use: 1..VTFS_NAME_MAX bytes, no '/' nor NUL. */
static int vtfs_check_name(const char *name, u32 len)
{
	if (!len || len > VTFS_NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, '\0', len))
		return -EBADMSG;
	return 0;
}

/**
 * vtfs_walk_dirplus() - check a READDIRPLUS reply, entry by entry
 * @buf: the entries as the device wrote them
 * @len: their length
 * @fn: called for each entry once it is checked, or NULL
 * @ctx: for @fn
 *
 * Every entry must lie whole inside @buf with a valid name; no partial
 * entry may end the buffer.
 *
 * Context: any; @fn decides.
 * Return: 0, -EBADMSG for a malformed reply, or the first error of @fn.
 */
int vtfs_walk_dirplus(void *buf, u32 len, vtfs_dirplus_fn fn, void *ctx)
{
	unsigned char *p = buf;
	struct fuse_direntplus *dp;
	u32 off = 0, reclen;
	int ret;

	while (off < len) {
		if (len - off < FUSE_NAME_OFFSET_DIRENTPLUS)
			return -EBADMSG;
		dp = (struct fuse_direntplus *)(p + off);
		if (dp->dirent.namelen > VTFS_NAME_MAX)
			return -EBADMSG;
		reclen = FUSE_DIRENTPLUS_SIZE(dp);
		if (reclen > len - off ||
		    vtfs_check_name(dp->dirent.name, dp->dirent.namelen))
			return -EBADMSG;
		if (fn) {
			ret = fn(ctx, dp);
			if (ret)
				return ret;
		}
		off += reclen;
	}
	return 0;
}

/**
 * vtfs_check_dirents() - check a READDIR reply
 * @buf: the entries as the device wrote them
 * @len: their length
 *
 * Context: any.
 * Return: 0, or -EBADMSG.
 */
int vtfs_check_dirents(const void *buf, u32 len)
{
	const unsigned char *p = buf;
	const struct fuse_dirent *d;
	u32 off = 0, reclen;

	while (off < len) {
		if (len - off < FUSE_NAME_OFFSET)
			return -EBADMSG;
		d = (const struct fuse_dirent *)(p + off);
		if (d->namelen > VTFS_NAME_MAX)
			return -EBADMSG;
		reclen = FUSE_DIRENT_SIZE(d);
		if (reclen > len - off || vtfs_check_name(d->name, d->namelen))
			return -EBADMSG;
		off += reclen;
	}
	return 0;
}
