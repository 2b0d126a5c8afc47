// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: the one place where core ids and device ids meet.
 *
 * The fuse core keeps the nodeids and file handles it was given when it
 * looked objects up and opened them. After the device was reset the device
 * gives out new ones. This file maps every id on its way:
 *
 *  - requests (vtfs_idmap_request()): the header's nodeid and every body
 *    field that carries a nodeid or fh, from core ids to device ids;
 *  - replies (vtfs_idmap_reply_node(), vtfs_idmap_reply_fh()): nodeids and
 *    fhs the device hands out, including every READDIRPLUS entry, to core
 *    ids, so that a new device id never collides with one the core holds;
 *  - FORGET (vtfs_idmap_forget()): the core's counts to what the current
 *    device session has actually counted.
 *
 * Until the first restore (epoch 0) core ids are device ids: the request
 * path returns at once and replies keep their ids.
 */

#include <linux/rcupdate.h>

#include "fuse_virtio.h"
#include "state.h"

/**
 * vtfs_state_bind_dev() - the current device session calls @node @dev_nodeid
 * @st: the state, locked
 * @node: the node
 * @dev_nodeid: its device id
 *
 * Return: 0 or -ENOMEM.
 */
int vtfs_state_bind_dev(struct vtfs_state *st, struct vtfs_node *node,
			u64 dev_nodeid)
{
	lockdep_assert_held(&st->lock);
	if (xa_err(xa_store(&st->dev_nodes, dev_nodeid, node, GFP_NOIO)))
		return -ENOMEM;
	WRITE_ONCE(node->dev_nodeid, dev_nodeid);
	vtfs_node_clear_pending(st, node);
	return 0;
}

/**
 * vtfs_state_unbind_dev() - the device id of @node now names another object
 * @st: the state, locked
 * @node: the node; it must be found again
 */
void vtfs_state_unbind_dev(struct vtfs_state *st, struct vtfs_node *node)
{
	lockdep_assert_held(&st->lock);
	xa_cmpxchg(&st->dev_nodes, node->dev_nodeid, node, NULL, 0);
	WRITE_ONCE(node->dev_nodeid, 0);
	if ((node->flags & VTFS_NODE_INDEXED) &&
	    !(node->flags & (VTFS_NODE_STALE | VTFS_NODE_PENDING))) {
		node->flags |= VTFS_NODE_PENDING;
		WRITE_ONCE(st->nr_pending, st->nr_pending + 1);
	}
}

/**
 * vtfs_state_mark_stale() - @node cannot be found again: ESTALE from now on
 * @st: the state, locked
 * @node: the node
 */
void vtfs_state_mark_stale(struct vtfs_state *st, struct vtfs_node *node)
{
	lockdep_assert_held(&st->lock);
	if (node->flags & (VTFS_NODE_STALE | VTFS_NODE_ROOT))
		return;
	vtfs_node_clear_pending(st, node);
	WRITE_ONCE(node->flags, node->flags | VTFS_NODE_STALE);
	st->recovery.stale_nodes++;
}

/**
 * vtfs_idmap_reply_node() - the core id for a nodeid in an entry reply
 * @st: the state, locked
 * @parent: the directory the entry is in, or NULL
 * @name: the entry's name, or NULL
 * @namelen: its length
 * @dev_nodeid: the nodeid the device gave
 * @attr: the attributes the device gave
 * @count: the fuse core counts a lookup for it
 *
 * Records the object, its name and the lookup. After a restore, a device
 * id seen before maps to its node; an object of an earlier session found
 * under its recorded name with the same inode number and type gets its old
 * core id back; anything else gets a core id never used before.
 *
 * Return: the core id, or 0 when none can be given.
 */
u64 vtfs_idmap_reply_node(struct vtfs_state *st, struct vtfs_node *parent,
			  const char *name, unsigned int namelen,
			  u64 dev_nodeid, const struct fuse_attr *attr,
			  bool count)
{
	struct vtfs_node *node, *cand = NULL;
	struct vtfs_alias *alias;

	lockdep_assert_held(&st->lock);

	if (!st->epoch) {
		node = vtfs_node_find(st, dev_nodeid);
		if (node && !vtfs_same_object(node, attr) &&
		    !(node->flags & VTFS_NODE_ROOT)) {
			/* Before a restore the device is the authority. */
			node->ino = attr->ino;
			node->flags = (node->flags & ~VTFS_NODE_TYPE) |
				      ((attr->mode & S_IFMT) >> 12);
		}
		if (!node)
			node = vtfs_node_create(st, dev_nodeid, attr->ino,
						attr->mode);
		if (!node) {
			st->untracked++;
			return dev_nodeid;
		}
	} else {
		node = xa_load(&st->dev_nodes, dev_nodeid);
		if (node && !vtfs_same_object(node, attr) &&
		    !(node->flags & VTFS_NODE_ROOT)) {
			/* The device reused the id: the old node loses it. */
			vtfs_state_unbind_dev(st, node);
			node = NULL;
		}
		if (!node && parent && name)
			cand = vtfs_name_lookup(st, parent, name, namelen,
						&alias);
		if (cand && !cand->dev_nodeid &&
		    (cand->flags & VTFS_NODE_INDEXED) &&
		    !(cand->flags & VTFS_NODE_STALE) &&
		    vtfs_same_object(cand, attr) &&
		    !vtfs_state_bind_dev(st, cand, dev_nodeid)) {
			st->recovery.resolved_nodes++;
			node = cand;
		}
		if (!node) {
			node = vtfs_node_create(st, st->next_nodeid, attr->ino,
						attr->mode);
			if (!node)
				return 0;
			if (vtfs_state_bind_dev(st, node, dev_nodeid)) {
				vtfs_node_release(st, node);
				return 0;
			}
		}
	}
	if (count) {
		node->nlookup++;
		node->dev_nlookup++;
	}
	if (name)
		vtfs_node_name(st, node, parent, name, namelen);
	return node->nodeid;
}

/**
 * vtfs_idmap_reply_fh() - the core fh for a handle the device opened
 * @st: the state, locked
 * @dev_fh: the device's fh
 *
 * Return: @dev_fh before the first restore, a never used core fh after.
 */
u64 vtfs_idmap_reply_fh(struct vtfs_state *st, u64 dev_fh)
{
	lockdep_assert_held(&st->lock);
	return st->epoch ? st->next_fh++ : dev_fh;
}

/*
 * Map a core nodeid in place. Return: 0, -EAGAIN when the node has not been
 * found again since the restore, -ESTALE when it cannot be.
 */
static int vtfs_map_nodeid(struct vtfs_state *st, u64 *nodeid)
{
	struct vtfs_node *node;
	u64 id = *nodeid, dev;
	u16 flags;

	if (!id)
		return 0;
	node = xa_load(&st->nodes, id);
	if (!node)
		return -ESTALE;
	dev = READ_ONCE(node->dev_nodeid);
	flags = READ_ONCE(node->flags);
	/* The node may have been freed and reused: check it is still ours. */
	smp_rmb();
	if (READ_ONCE(node->nodeid) != id)
		return -EAGAIN;
	if (flags & VTFS_NODE_STALE)
		return -ESTALE;
	if (!dev)
		return -EAGAIN;
	*nodeid = dev;
	return 0;
}

/*
 * Map a core fh in place. @io: the request reads, writes or locks through
 * the handle, which a handle that lost its locks must not do.
 */
static int vtfs_map_fh(struct vtfs_state *st, bool dir, u64 *fh, bool io)
{
	struct vtfs_handle *h = vtfs_handle_find(st, dir, *fh);

	if (!h)
		return *fh ? -ESTALE : 0;
	switch (READ_ONCE(h->state)) {
	case VTFS_HANDLE_OK:
		break;
	case VTFS_HANDLE_LOCKS_LOST:
		if (io)
			return -EIO;
		break;
	case VTFS_HANDLE_PENDING:
		return -EAGAIN;
	default:
		return -ESTALE;
	}
	*fh = READ_ONCE(h->dev_fh);
	return 0;
}

/* Releasing a handle the device no longer has needs no device at all. */
static int vtfs_map_release(struct vtfs_state *st, bool dir, u64 *fh)
{
	int ret = vtfs_map_fh(st, dir, fh, false);

	return ret == -ESTALE ? VTFS_DONE : ret;
}

static int vtfs_map_body(struct vtfs_state *st, u32 opcode, void *in)
{
	switch (opcode) {
	case FUSE_READ:
		return vtfs_map_fh(st, false, &((struct fuse_read_in *)in)->fh,
				   true);
	case FUSE_WRITE:
		return vtfs_map_fh(st, false, &((struct fuse_write_in *)in)->fh,
				   true);
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return vtfs_map_fh(st, true, &((struct fuse_read_in *)in)->fh,
				   false);
	case FUSE_FLUSH:
		return vtfs_map_fh(st, false, &((struct fuse_flush_in *)in)->fh,
				   false);
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		return vtfs_map_release(st, opcode == FUSE_RELEASEDIR,
					&((struct fuse_release_in *)in)->fh);
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
		return vtfs_map_fh(st, opcode == FUSE_FSYNCDIR,
				   &((struct fuse_fsync_in *)in)->fh,
				   opcode == FUSE_FSYNC);
	case FUSE_GETATTR: {
		struct fuse_getattr_in *ga = in;

		if (!(ga->getattr_flags & FUSE_GETATTR_FH))
			return 0;
		return vtfs_map_fh(st, false, &ga->fh, false);
	}
	case VTFS_FUSE_STATX: {
		struct vtfs_statx_in *sx = in;

		if (!(sx->getattr_flags & FUSE_GETATTR_FH))
			return 0;
		return vtfs_map_fh(st, false, &sx->fh, false);
	}
	case FUSE_SETATTR: {
		struct fuse_setattr_in *sa = in;

		if (!(sa->valid & FATTR_FH))
			return 0;
		return vtfs_map_fh(st, false, &sa->fh, sa->valid & FATTR_SIZE);
	}
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		return vtfs_map_fh(st, false, &((struct fuse_lk_in *)in)->fh,
				   true);
	case FUSE_FALLOCATE:
		return vtfs_map_fh(st, false,
				   &((struct fuse_fallocate_in *)in)->fh, true);
	case FUSE_LSEEK:
		return vtfs_map_fh(st, false, &((struct fuse_lseek_in *)in)->fh,
				   true);
	case FUSE_POLL:
		return vtfs_map_fh(st, false, &((struct fuse_poll_in *)in)->fh,
				   true);
	case FUSE_IOCTL: {
		struct fuse_ioctl_in *io = in;

		return vtfs_map_fh(st, io->flags & FUSE_IOCTL_DIR, &io->fh,
				   true);
	}
	case FUSE_COPY_FILE_RANGE: {
		struct fuse_copy_file_range_in *cf = in;

		return vtfs_map_fh(st, false, &cf->fh_in, true) ?:
		       vtfs_map_nodeid(st, &cf->nodeid_out) ?:
		       vtfs_map_fh(st, false, &cf->fh_out, true);
	}
	case FUSE_RENAME:
		return vtfs_map_nodeid(st, &((struct fuse_rename_in *)in)->newdir);
	case FUSE_RENAME2:
		return vtfs_map_nodeid(st,
				       &((struct fuse_rename2_in *)in)->newdir);
	case FUSE_LINK:
		return vtfs_map_nodeid(st,
				       &((struct fuse_link_in *)in)->oldnodeid);
	}
	return 0;
}

/* Requests that name an existing object by (directory, name). */
static bool vtfs_names_op(u32 opcode)
{
	return opcode == FUSE_UNLINK || opcode == FUSE_RMDIR ||
	       opcode == FUSE_RENAME || opcode == FUSE_RENAME2;
}

/**
 * vtfs_idmap_request() - map the ids of a request to the device's
 * @sess: the session
 * @req: the fuse core's request
 * @vreq: the request as the device will see it (mapped in place)
 * @flags: VTFS_NAMES_FOUND once the objects its names lead to were found
 *
 * Context: any; must not sleep. The state is read under RCU.
 * Return: 0; -EAGAIN when an object must be found again first (process
 * context, see vtfs_resolve_request()); VTFS_DONE when the request needs no
 * device; or the negative errno to end the request with.
 */
int vtfs_idmap_request(struct vtfs_session *sess, struct fuse_req *req,
		       struct vtfs_req *vreq, unsigned int flags)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_in_header *ih = vtfs_req_ih(vreq);
	int ret;

	if (likely(!READ_ONCE(st->epoch)))
		return 0;

	/*
	 * A device may need the object a name leads to known in its session
	 * before it unlinks or renames it (the C virtiofsd fails with EIO
	 * otherwise). While objects wait to be found again, such requests
	 * take the slow path, where names can be looked at.
	 */
	if (vtfs_names_op(ih->opcode) && READ_ONCE(st->nr_pending) &&
	    !(flags & VTFS_NAMES_FOUND))
		return -EAGAIN;

	rcu_read_lock();
	ret = vtfs_map_body(st, ih->opcode, ih + 1);
	if (!ret || ret == VTFS_DONE) {
		int nret = vtfs_map_nodeid(st, &ih->nodeid);

		/* A release on a gone object is done, whatever its node. */
		if (!ret)
			ret = nret;
	}
	rcu_read_unlock();
	return ret;
}

/**
 * vtfs_idmap_missing() - nodes a request waits for
 * @sess: the session
 * @req: the fuse core's request
 * @nodeids: receives the core ids not found again yet
 * @max: room in @nodeids
 *
 * Context: process.
 * Return: the number of ids stored.
 */
int vtfs_idmap_missing(struct vtfs_session *sess, struct fuse_req *req,
		       u64 *nodeids, unsigned int max)
{
	const void *in = req->args->in_numargs ? req->args->in_args[0].value :
			 NULL;
	u64 ids[2] = { req->in.h.nodeid, 0 };
	unsigned int i, n = 0;
	u64 id;

	switch (req->in.h.opcode) {
	case FUSE_RENAME:
	case FUSE_RENAME2:
		ids[1] = ((const struct fuse_rename_in *)in)->newdir;
		break;
	case FUSE_LINK:
		ids[1] = ((const struct fuse_link_in *)in)->oldnodeid;
		break;
	case FUSE_COPY_FILE_RANGE:
		ids[1] = ((const struct fuse_copy_file_range_in *)in)->nodeid_out;
		break;
	}
	rcu_read_lock();
	for (i = 0; i < ARRAY_SIZE(ids) && n < max; i++) {
		id = ids[i];
		if (id && vtfs_map_nodeid(&sess->st, &id) == -EAGAIN)
			nodeids[n++] = ids[i];
	}
	rcu_read_unlock();
	return n;
}

/**
 * vtfs_idmap_forget() - turn the core's FORGETs into the device's
 * @st: the state
 * @head: chain of forgets with core ids; rewritten in place
 * @count: entries in the chain; updated
 *
 * The fuse core forgets what it counted; the device session counted only
 * the lookups made since the restore. A node keeps one device lookup while
 * the core holds it and gives the rest back when the core lets it go.
 * FORGETs the state owes the device (nodes freed since) are appended.
 *
 * Context: process.
 */
void vtfs_idmap_forget(struct vtfs_state *st, struct fuse_forget_link **head,
		       unsigned int *count)
{
	struct fuse_forget_link **pos = head, *link;
	struct vtfs_node *node;
	u64 n, give;

	mutex_lock(&st->lock);
	while ((link = *pos)) {
		node = vtfs_node_find(st, link->forget_one.nodeid);
		n = link->forget_one.nlookup;
		give = st->epoch ? 0 : n;
		if (node) {
			n = min_t(u64, n, node->nlookup);
			node->nlookup -= n;
			if (st->epoch) {
				link->forget_one.nodeid = node->dev_nodeid;
				if (!node->nlookup || !node->dev_nodeid)
					give = node->dev_nlookup;
				else
					give = min_t(u64, n,
						     node->dev_nlookup - 1);
			}
			node->dev_nlookup -= min_t(u64, give, node->dev_nlookup);
			vtfs_node_release(st, node);
		}
		if (!give || !link->forget_one.nodeid) {
			*pos = link->next;
			kfree(link);
			(*count)--;
			continue;
		}
		link->forget_one.nlookup = give;
		pos = &link->next;
	}
	while ((link = st->dev_forgets)) {
		st->dev_forgets = link->next;
		link->next = NULL;
		*pos = link;
		pos = &link->next;
		(*count)++;
	}
	mutex_unlock(&st->lock);
}
