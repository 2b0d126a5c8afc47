/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: the state a session holds to bring its connection back.
 *
 * The fuse core holds nodeids and file handles (fh) that a device session
 * gave out. When the device is reset, those ids mean nothing to the new
 * device session. The driver therefore records, from the requests and
 * replies it carries:
 *
 *  - nodes: every nodeid the fuse core holds, with one name (parent and
 *    component) to find it again from the root, the host inode number and
 *    file type to check that what it finds is the same object, and the
 *    lookup counts of the fuse core and of the current device session;
 *  - handles: every open file and directory handle, with its node and the
 *    flags to open it again;
 *  - lock records: the byte ranges (POSIX and OFD) and flock locks each lock
 *    owner holds through a handle.
 *
 * idmap.c maps between the ids the fuse core holds ("core ids") and those
 * of the current device session ("device ids"). Until the first restore the
 * two are the same and nothing is looked up on the request path.
 */
#ifndef _VTFS_STATE_H
#define _VTFS_STATE_H

#include <linux/fuse.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/time64.h>
#include <linux/rhashtable-types.h>
#include <linux/xarray.h>

#include "locks.h"

struct fuse_req;
struct vtfs_req;
struct vtfs_session;

/* struct vtfs_node.flags */
#define VTFS_NODE_TYPE		0x000f	/* S_IFMT >> 12 of the object */
#define VTFS_NODE_INDEXED	0x0010	/* in nodes (the fuse core holds it) */
#define VTFS_NODE_STALE		0x0020	/* cannot be found again: ESTALE */
#define VTFS_NODE_ALIASED	0x0040	/* has names in state->aliases */
#define VTFS_NODE_ROOT		0x0080	/* the root: always FUSE_ROOT_ID */
#define VTFS_NODE_NAMED		0x0100	/* in state->names under parent/name */
/* indexed, not found again since the restore, not known stale */
#define VTFS_NODE_PENDING	0x0200
/* found again since the restore with the ctime it had (@ctimes) ... */
#define VTFS_NODE_CTIME_SAME	0x0400
/* ... or with another ctime: the host changed or replaced it meanwhile */
#define VTFS_NODE_CTIME_NEW	0x0800

/**
 * struct vtfs_node - one object the fuse core holds by nodeid
 * @hash: entry in &vtfs_state.names, keyed by (@parent, @name)
 * @parent: the directory @name is in (holds a reference), or NULL
 * @name: one name of the object in @parent (NUL terminated), or NULL
 * @nodeid: the core id
 * @dev_nodeid: the id in the current device session; 0 until found again
 * @ino: the host inode number, from the reply that made the node
 * @nlookup: lookups the fuse core holds (it sends FORGET for them)
 * @dev_nlookup: lookups the current device session counted
 * @refs: children naming this node as parent, and handles on it
 * @namelen: length of @name
 * @flags: VTFS_NODE_*
 *
 * Writers hold &vtfs_state.lock. The request path reads @nodeid,
 * @dev_nodeid and @flags under RCU (nodes come from a SLAB_TYPESAFE_BY_RCU
 * cache: a reader checks @nodeid after the read). 64 bytes on x86_64, plus
 * the name.
 */
struct vtfs_node {
	struct rhash_head hash;
	struct vtfs_node *parent;
	const char *name;
	u64 nodeid;
	u64 dev_nodeid;
	u64 ino;
	u32 nlookup;
	u32 dev_nlookup;
	u32 refs;
	u16 namelen;
	u16 flags;
};

/**
 * struct vtfs_alias - another name of a node (hard links)
 * @hash: entry in &vtfs_state.aliases, keyed like a node's name
 * @parent: directory (holds a reference)
 * @name: the name (NUL terminated)
 * @namelen: its length
 * @node: the node it names
 * @list: entry on &vtfs_state.alias_list
 */
struct vtfs_alias {
	struct rhash_head hash;
	struct vtfs_node *parent;
	const char *name;
	u16 namelen;
	struct vtfs_node *node;
	struct list_head list;
};

/* struct vtfs_handle.state */
enum vtfs_handle_state {
	VTFS_HANDLE_OK,		/* @dev_fh is valid */
	VTFS_HANDLE_PENDING,	/* not opened again yet after a restore */
	VTFS_HANDLE_STALE,	/* its object is gone: ESTALE */
	VTFS_HANDLE_LOCKS_LOST,	/* a lock was taken by another: EIO */
};

/**
 * struct vtfs_handle - one open file or directory handle
 * @rcu: frees it after readers on the request path are done
 * @node: the node it is open on (holds a reference)
 * @fh: the core id of the handle
 * @dev_fh: the handle in the current device session
 * @open_flags: the flags of the OPEN, OPENDIR or CREATE that made it
 * @uid: credentials of that request, used to open it again
 * @gid: see @uid
 * @pid: see @uid
 * @dir: a directory handle (OPENDIR)
 * @locks_lost: a lock taken through it could not be taken again; sticks
 *	across later restores
 * @state: &enum vtfs_handle_state (read under RCU)
 */
struct vtfs_handle {
	struct rcu_head rcu;
	struct vtfs_node *node;
	u64 fh;
	u64 dev_fh;
	u32 open_flags;
	u32 uid;
	u32 gid;
	u32 pid;
	bool dir;
	bool locks_lost;
	u8 state;
};

/**
 * struct vtfs_lockrec - the locks one owner holds on one node
 * @hnode: entry in &vtfs_state.locks, hashed by (@node, @owner)
 * @node: the node (holds a reference)
 * @owner: the lock owner id of the fuse core
 * @fh: core fh of the last request that took a range, used to take them
 *	again (flock locks belong to that handle)
 * @pid: pid of that request
 * @flock: flock(2) lock rather than POSIX or OFD ranges
 * @ranges: what @owner holds
 */
struct vtfs_lockrec {
	struct hlist_node hnode;
	struct vtfs_node *node;
	u64 owner;
	u64 fh;
	u32 pid;
	bool flock;
	struct vtfs_ranges ranges;
};

/**
 * struct vtfs_recovery_stats - what the last recovery did
 * @count: recoveries so far
 * @duration_us: how long the last one took
 * @outcome: 0, or the negative errno that failed the mount
 * @handles: handles opened again
 * @stale_handles: handles that could not be (ESTALE)
 * @locks: lock ranges taken again
 * @lost_locks: lock records that could not be (EIO)
 * @stale_nodes: nodes found stale since the last restore (lazily)
 * @resolved_nodes: nodes found again since the last restore (lazily)
 */
struct vtfs_recovery_stats {
	u64 count;
	u64 duration_us;
	int outcome;
	u64 handles;
	u64 stale_handles;
	u64 locks;
	u64 lost_locks;
	u64 stale_nodes;
	u64 resolved_nodes;
};

/**
 * struct vtfs_state - a session's record of what the fuse core holds
 * @lock: held by writers; never while waiting for the device
 * @nodes: core nodeid -> &struct vtfs_node that the core holds
 * @dev_nodes: device nodeid -> node, in the current device session; only
 *	used after the first restore
 * @names: (parent, name) -> node
 * @aliases: (parent, name) -> &struct vtfs_alias
 * @alias_list: all aliases
 * @files: core fh -> &struct vtfs_handle of files
 * @dirs: core fh -> &struct vtfs_handle of directories
 * @ctimes: core nodeid -> ctime (vtfs_attr_ctime(), an xarray value) of
 *	the objects handles are open on and of their directories, as the
 *	device saw them when its session ended; compared when they are found
 *	again, dropped when the recovery ends (see pm.c)
 * @locks: &struct vtfs_lockrec by (node, owner)
 * @root: the root node
 * @epoch: device sessions since the mount minus one; 0 means core ids are
 *	device ids (read without the lock on the request path)
 * @next_nodeid: core id for the next object after a restore
 * @next_fh: core fh for the next handle after a restore
 * @nr_nodes: nodes allocated
 * @nr_names: bytes of names allocated
 * @nr_aliases: aliases
 * @nr_handles: handles
 * @nr_lockrecs: lock records
 * @nr_ranges: lock ranges in them
 * @nr_pending: nodes marked VTFS_NODE_PENDING (read without the lock)
 * @untracked: replies that could not be recorded (no memory)
 * @dev_forgets: lookups to give back to the current device session, for the
 *	forget work to send
 * @recovery: statistics of the last recovery
 */
struct vtfs_state {
	struct mutex lock; /* see @lock above */
	struct xarray nodes;
	struct xarray dev_nodes;
	struct rhashtable names;
	struct rhashtable aliases;
	struct list_head alias_list;
	struct xarray files;
	struct xarray dirs;
	struct xarray ctimes;
	DECLARE_HASHTABLE(locks, 8);
	struct vtfs_node *root;
	u32 epoch;
	u64 next_nodeid;
	u64 next_fh;
	u64 nr_nodes;
	u64 nr_names;
	u64 nr_aliases;
	u64 nr_handles;
	u64 nr_lockrecs;
	u64 nr_ranges;
	u64 nr_pending;
	u64 untracked;
	struct fuse_forget_link *dev_forgets;
	struct vtfs_recovery_stats recovery;
};

/* Whether @attr, from a reply, describes the object @node recorded. */
static inline bool vtfs_same_object(const struct vtfs_node *node,
				    const struct fuse_attr *attr)
{
	return node->ino == attr->ino &&
	       (node->flags & VTFS_NODE_TYPE) == ((attr->mode & S_IFMT) >> 12);
}

/* @attr's ctime in nanoseconds, cut to fit an xarray value. */
static inline unsigned long vtfs_attr_ctime(const struct fuse_attr *attr)
{
	return (attr->ctime * NSEC_PER_SEC + attr->ctimensec) & LONG_MAX;
}

/* The node no longer waits to be found again. Context: the state's lock. */
static inline void vtfs_node_clear_pending(struct vtfs_state *st,
					   struct vtfs_node *node)
{
	if (node->flags & VTFS_NODE_PENDING) {
		node->flags &= ~VTFS_NODE_PENDING;
		WRITE_ONCE(st->nr_pending, st->nr_pending - 1);
	}
}

/* state.c */
int vtfs_state_module_init(void);
void vtfs_state_module_exit(void);
int vtfs_state_init(struct vtfs_state *st);
void vtfs_state_destroy(struct vtfs_state *st);
int vtfs_state_reply(struct vtfs_session *sess, struct fuse_req *req,
		     struct vtfs_req *vreq);
void vtfs_state_local_reply(struct vtfs_state *st, struct fuse_req *req);
struct vtfs_node *vtfs_node_find(struct vtfs_state *st, u64 nodeid);
struct vtfs_node *vtfs_node_create(struct vtfs_state *st, u64 nodeid, u64 ino,
				   u32 mode);
struct vtfs_node *vtfs_name_lookup(struct vtfs_state *st,
				   struct vtfs_node *parent,
				   const char *name, unsigned int len,
				   struct vtfs_alias **aliasp);
void vtfs_node_name(struct vtfs_state *st, struct vtfs_node *node,
		    struct vtfs_node *parent, const char *name,
		    unsigned int len);
void vtfs_node_drop_name(struct vtfs_state *st, struct vtfs_node *node);
void vtfs_node_release(struct vtfs_state *st, struct vtfs_node *node);
struct vtfs_handle *vtfs_handle_find(struct vtfs_state *st, bool dir, u64 fh);
void vtfs_state_dev_forget(struct vtfs_state *st, u64 dev_nodeid, u64 count);
void vtfs_state_new_epoch(struct vtfs_state *st);
int vtfs_state_bind_dev(struct vtfs_state *st, struct vtfs_node *node,
			u64 dev_nodeid);
void vtfs_state_mark_stale(struct vtfs_state *st, struct vtfs_node *node);
void vtfs_state_check_ctime(struct vtfs_state *st, struct vtfs_node *node,
			    const struct fuse_attr *attr);
void vtfs_state_unbind_dev(struct vtfs_state *st, struct vtfs_node *node);
void vtfs_state_show(struct seq_file *m, struct vtfs_state *st);

/*
 * FUSE protocol 7.37 and 7.39 opcodes that the fuse core of Linux 6.1 does
 * not send and its headers lack; later kernels send them.
 */
#define VTFS_FUSE_TMPFILE 51	/* like CREATE, of an unnamed file */
#define VTFS_FUSE_STATX 52	/* like GETATTR */

/* struct fuse_statx_in of protocol 7.39 */
struct vtfs_statx_in {
	u32 getattr_flags;
	u32 reserved;
	u64 fh;
	u32 sx_flags;
	u32 sx_mask;
};

/* idmap.c */
#define VTFS_DONE 1	/* the request is answered without the device */
#define VTFS_NAMES_FOUND 1 /* vtfs_resolve_request() ran for the request */
int vtfs_idmap_request(struct vtfs_session *sess, struct fuse_req *req,
		       struct vtfs_req *vreq, unsigned int flags);
int vtfs_idmap_missing(struct vtfs_session *sess, struct fuse_req *req,
		       u64 *nodeids, unsigned int max);
u64 vtfs_idmap_reply_node(struct vtfs_state *st, struct vtfs_node *parent,
			  const char *name, unsigned int namelen,
			  u64 dev_nodeid, const struct fuse_attr *attr,
			  bool count);
u64 vtfs_idmap_reply_fh(struct vtfs_state *st, u64 dev_fh);
void vtfs_idmap_forget(struct vtfs_state *st, struct fuse_forget_link **head,
		       unsigned int *count);

#endif /* _VTFS_STATE_H */
