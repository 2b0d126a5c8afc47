// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: what a session records from requests and replies.
 *
 * See state.h for what is recorded and why. Everything here runs in process
 * context (completion work, forget work, recovery) with the state's mutex
 * held; only the request path in idmap.c reads without it, under RCU.
 */

#include <linux/highmem.h>
#include <linux/jhash.h>
#include <linux/rhashtable.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "fuse_virtio.h"
#include "reply.h"
#include "state.h"

static struct kmem_cache *vtfs_node_cache;

struct vtfs_name_key {
	const struct vtfs_node *parent;
	const char *name;
	unsigned int len;
};

static u32 vtfs_name_hash(const struct vtfs_node *parent, const char *name,
			  unsigned int len, u32 seed)
{
	return jhash(name, len, seed ^ hash_ptr(parent, 32));
}

static u32 vtfs_key_hashfn(const void *data, u32 len, u32 seed)
{
	const struct vtfs_name_key *key = data;

	return vtfs_name_hash(key->parent, key->name, key->len, seed);
}

static u32 vtfs_node_hashfn(const void *data, u32 len, u32 seed)
{
	const struct vtfs_node *node = data;

	return vtfs_name_hash(node->parent, node->name, node->namelen, seed);
}

static int vtfs_node_cmpfn(struct rhashtable_compare_arg *arg,
			   const void *obj)
{
	const struct vtfs_name_key *key = arg->key;
	const struct vtfs_node *node = obj;

	return node->parent != key->parent || node->namelen != key->len ||
	       memcmp(node->name, key->name, key->len);
}

static u32 vtfs_alias_hashfn(const void *data, u32 len, u32 seed)
{
	const struct vtfs_alias *alias = data;

	return vtfs_name_hash(alias->parent, alias->name, alias->namelen,
			      seed);
}

static int vtfs_alias_cmpfn(struct rhashtable_compare_arg *arg,
			    const void *obj)
{
	const struct vtfs_name_key *key = arg->key;
	const struct vtfs_alias *alias = obj;

	return alias->parent != key->parent || alias->namelen != key->len ||
	       memcmp(alias->name, key->name, key->len);
}

static const struct rhashtable_params vtfs_names_params = {
	.key_len = sizeof(struct vtfs_name_key),
	.head_offset = offsetof(struct vtfs_node, hash),
	.hashfn = vtfs_key_hashfn,
	.obj_hashfn = vtfs_node_hashfn,
	.obj_cmpfn = vtfs_node_cmpfn,
	.automatic_shrinking = true,
};

static const struct rhashtable_params vtfs_aliases_params = {
	.key_len = sizeof(struct vtfs_name_key),
	.head_offset = offsetof(struct vtfs_alias, hash),
	.hashfn = vtfs_key_hashfn,
	.obj_hashfn = vtfs_alias_hashfn,
	.obj_cmpfn = vtfs_alias_cmpfn,
	.automatic_shrinking = true,
};

/* "." and ".." never name an object: they would make loops of names. */
static bool vtfs_is_dot(const char *name, unsigned int len)
{
	return name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
}

/**
 * vtfs_node_find() - the node the fuse core holds as @nodeid
 * @st: the state, locked
 * @nodeid: core id
 *
 * Return: the node, or NULL.
 */
struct vtfs_node *vtfs_node_find(struct vtfs_state *st, u64 nodeid)
{
	lockdep_assert_held(&st->lock);
	return xa_load(&st->nodes, nodeid);
}

/**
 * vtfs_name_lookup() - the node (@parent, @name) names
 * @st: the state, locked
 * @parent: the directory
 * @name: the name
 * @len: its length
 * @aliasp: set to the alias when the name is one, else NULL
 *
 * Return: the node, or NULL.
 */
struct vtfs_node *vtfs_name_lookup(struct vtfs_state *st,
				   struct vtfs_node *parent,
				   const char *name, unsigned int len,
				   struct vtfs_alias **aliasp)
{
	struct vtfs_name_key key = { parent, name, len };
	struct vtfs_alias *alias;
	struct vtfs_node *node;

	*aliasp = NULL;
	node = rhashtable_lookup_fast(&st->names, &key, vtfs_names_params);
	if (node || !st->nr_aliases)
		return node;
	alias = rhashtable_lookup_fast(&st->aliases, &key, vtfs_aliases_params);
	*aliasp = alias;
	return alias ? alias->node : NULL;
}

/**
 * vtfs_node_create() - record a new object the fuse core now holds
 * @st: the state, locked
 * @nodeid: its core id
 * @ino: host inode number
 * @mode: file mode (only the type is kept)
 *
 * Return: the node, indexed by @nodeid, with no lookups counted yet.
 */
struct vtfs_node *vtfs_node_create(struct vtfs_state *st, u64 nodeid, u64 ino,
				   u32 mode)
{
	struct vtfs_node *node;

	lockdep_assert_held(&st->lock);
	node = kmem_cache_alloc(vtfs_node_cache, GFP_NOIO);
	if (!node)
		return NULL;
	node->parent = NULL;
	node->name = NULL;
	node->namelen = 0;
	node->dev_nodeid = st->epoch ? 0 : nodeid;
	node->ino = ino;
	node->nlookup = 0;
	node->dev_nlookup = 0;
	node->refs = 0;
	node->flags = ((mode & S_IFMT) >> 12) | VTFS_NODE_INDEXED;
	/* Readers match nodeid last: write it after the rest. */
	smp_wmb();
	WRITE_ONCE(node->nodeid, nodeid);
	if (xa_err(xa_store(&st->nodes, nodeid, node, GFP_NOIO))) {
		kmem_cache_free(vtfs_node_cache, node);
		return NULL;
	}
	st->nr_nodes++;
	if (nodeid >= st->next_nodeid)
		st->next_nodeid = nodeid + 1;
	return node;
}

/* The node is no longer the fuse core's nodeid (nor the device's). */
static void vtfs_node_unindex(struct vtfs_state *st, struct vtfs_node *node)
{
	vtfs_node_clear_pending(st, node);
	if (node->flags & VTFS_NODE_INDEXED) {
		xa_cmpxchg(&st->nodes, node->nodeid, node, NULL, 0);
		node->flags &= ~VTFS_NODE_INDEXED;
	}
	if (st->epoch && node->dev_nodeid)
		xa_cmpxchg(&st->dev_nodes, node->dev_nodeid, node, NULL, 0);
}

/**
 * vtfs_state_dev_forget() - give lookups back to the device session
 * @st: the state, locked
 * @dev_nodeid: device id
 * @count: lookups
 *
 * The forget work sends them with the fuse core's FORGETs.
 */
void vtfs_state_dev_forget(struct vtfs_state *st, u64 dev_nodeid, u64 count)
{
	struct fuse_forget_link *link;

	if (!dev_nodeid || !count)
		return;
	link = kzalloc(sizeof(*link), GFP_NOIO);
	if (!link)
		return;
	link->forget_one.nodeid = dev_nodeid;
	link->forget_one.nlookup = count;
	link->next = st->dev_forgets;
	st->dev_forgets = link;
}

static void vtfs_alias_free(struct vtfs_state *st, struct vtfs_alias *alias)
{
	rhashtable_remove_fast(&st->aliases, &alias->hash, vtfs_aliases_params);
	list_del(&alias->list);
	st->nr_aliases--;
	st->nr_names -= alias->namelen + 1;
	alias->parent->refs--;
	vtfs_node_release(st, alias->parent);
	kfree(alias->name);
	kfree(alias);
}

/* Take the node's primary name out of the index and drop the parent ref. */
static struct vtfs_node *vtfs_node_unname(struct vtfs_state *st,
					  struct vtfs_node *node)
{
	struct vtfs_node *parent = node->parent;

	if (!(node->flags & VTFS_NODE_NAMED))
		return NULL;
	rhashtable_remove_fast(&st->names, &node->hash, vtfs_names_params);
	node->flags &= ~VTFS_NODE_NAMED;
	st->nr_names -= node->namelen + 1;
	kfree(node->name);
	node->name = NULL;
	node->namelen = 0;
	node->parent = NULL;
	parent->refs--;
	return parent;
}

/* Make one of the node's aliases its primary name. */
static void vtfs_node_promote_alias(struct vtfs_state *st,
				    struct vtfs_node *node)
{
	struct vtfs_alias *alias, *found = NULL;

	list_for_each_entry(alias, &st->alias_list, list) {
		if (alias->node == node) {
			found = alias;
			break;
		}
	}
	if (!found) {
		node->flags &= ~VTFS_NODE_ALIASED;
		return;
	}
	rhashtable_remove_fast(&st->aliases, &found->hash,
			       vtfs_aliases_params);
	list_del(&found->list);
	st->nr_aliases--;
	node->parent = found->parent;
	node->name = found->name;
	node->namelen = found->namelen;
	if (rhashtable_insert_fast(&st->names, &node->hash,
				   vtfs_names_params)) {
		st->untracked++;
		node->parent = NULL;
		found->parent->refs--;
		vtfs_node_release(st, found->parent);
		st->nr_names -= found->namelen + 1;
		kfree(found->name);
		node->name = NULL;
		node->namelen = 0;
	} else {
		node->flags |= VTFS_NODE_NAMED;
	}
	kfree(found);
}

/*
 * Free nodes nothing refers to any more, walking up the parents whose last
 * reference that was. A node the fuse core forgot but that still names a
 * child or has a handle stays, unindexed, as a ghost.
 */
void vtfs_node_release(struct vtfs_state *st, struct vtfs_node *node)
{
	struct vtfs_alias *alias, *next;
	struct vtfs_node *parent;

	while (node && !node->nlookup && !(node->flags & VTFS_NODE_ROOT)) {
		vtfs_node_unindex(st, node);
		if (node->refs)
			return;
		if (node->flags & VTFS_NODE_ALIASED) {
			list_for_each_entry_safe(alias, next, &st->alias_list,
						 list)
				if (alias->node == node)
					vtfs_alias_free(st, alias);
		}
		parent = vtfs_node_unname(st, node);
		if (st->epoch)
			vtfs_state_dev_forget(st, node->dev_nodeid,
					      node->dev_nlookup);
		WRITE_ONCE(node->nodeid, 0);
		kmem_cache_free(vtfs_node_cache, node);
		st->nr_nodes--;
		node = parent;
	}
}

/* Remove the name (parent, name), wherever it points. */
static void vtfs_name_remove(struct vtfs_state *st, struct vtfs_node *parent,
			     const char *name, unsigned int len)
{
	struct vtfs_alias *alias;
	struct vtfs_node *node, *old;

	node = vtfs_name_lookup(st, parent, name, len, &alias);
	if (!node)
		return;
	if (alias) {
		vtfs_alias_free(st, alias);
		return;
	}
	old = vtfs_node_unname(st, node);
	if (node->flags & VTFS_NODE_ALIASED)
		vtfs_node_promote_alias(st, node);
	vtfs_node_release(st, old);
	vtfs_node_release(st, node);
}

/**
 * vtfs_node_drop_name() - the node's name no longer leads to it
 * @st: the state, locked
 * @node: the node, pinned by the caller
 *
 * One of its aliases, if any, becomes its name.
 */
void vtfs_node_drop_name(struct vtfs_state *st, struct vtfs_node *node)
{
	struct vtfs_node *old = vtfs_node_unname(st, node);

	if (node->flags & VTFS_NODE_ALIASED)
		vtfs_node_promote_alias(st, node);
	vtfs_node_release(st, old);
}

static int vtfs_add_alias(struct vtfs_state *st, struct vtfs_node *node,
			  struct vtfs_node *parent, const char *name,
			  unsigned int len)
{
	struct vtfs_alias *alias = kzalloc(sizeof(*alias), GFP_NOIO);

	if (!alias)
		return -ENOMEM;
	alias->name = kmemdup_nul(name, len, GFP_NOIO);
	if (!alias->name) {
		kfree(alias);
		return -ENOMEM;
	}
	alias->namelen = len;
	alias->parent = parent;
	alias->node = node;
	if (rhashtable_insert_fast(&st->aliases, &alias->hash,
				   vtfs_aliases_params)) {
		kfree(alias->name);
		kfree(alias);
		return -ENOMEM;
	}
	parent->refs++;
	list_add_tail(&alias->list, &st->alias_list);
	node->flags |= VTFS_NODE_ALIASED;
	st->nr_aliases++;
	st->nr_names += len + 1;
	return 0;
}

/**
 * vtfs_node_name() - record that (@parent, @name) names @node
 * @st: the state, locked
 * @node: the object
 * @parent: the directory
 * @name: the name in it
 * @len: its length
 *
 * Whatever the name pointed to before loses it. A node that already has
 * another name keeps it and gains this one as an alias (a hard link, or a
 * rename on the host: recovery tries every name).
 */
void vtfs_node_name(struct vtfs_state *st, struct vtfs_node *node,
		    struct vtfs_node *parent, const char *name,
		    unsigned int len)
{
	struct vtfs_alias *alias;
	struct vtfs_node *other;
	char *copy;

	if (!parent || !len || len > FUSE_NAME_MAX || vtfs_is_dot(name, len) ||
	    node == parent || (node->flags & VTFS_NODE_ROOT))
		return;
	/* A lookup that finds a name again: no hashing. */
	if (node->parent == parent && node->namelen == len &&
	    !memcmp(node->name, name, len))
		return;
	other = vtfs_name_lookup(st, parent, name, len, &alias);
	if (other == node)
		return;
	if (other)
		vtfs_name_remove(st, parent, name, len);

	if (node->flags & VTFS_NODE_NAMED) {
		if (vtfs_add_alias(st, node, parent, name, len))
			st->untracked++;
		return;
	}
	copy = kmemdup_nul(name, len, GFP_NOIO);
	if (!copy) {
		st->untracked++;
		return;
	}
	node->parent = parent;
	node->name = copy;
	node->namelen = len;
	if (rhashtable_insert_fast(&st->names, &node->hash,
				   vtfs_names_params)) {
		node->parent = NULL;
		node->name = NULL;
		node->namelen = 0;
		kfree(copy);
		st->untracked++;
		return;
	}
	parent->refs++;
	node->flags |= VTFS_NODE_NAMED;
	st->nr_names += len + 1;
}

/* RENAME and RENAME2: move a name, or swap two (RENAME_EXCHANGE). */
static void vtfs_name_move(struct vtfs_state *st, struct vtfs_node *olddir,
			   const char *oldname, unsigned int oldlen,
			   struct vtfs_node *newdir, const char *newname,
			   unsigned int newlen, bool exchange)
{
	struct vtfs_node *moved, *target = NULL;
	struct vtfs_alias *alias;

	if (!olddir || !newdir)
		return;
	moved = vtfs_name_lookup(st, olddir, oldname, oldlen, &alias);
	if (exchange)
		target = vtfs_name_lookup(st, newdir, newname, newlen, &alias);

	/* Pin both: dropping their names must not free them here. */
	if (moved)
		moved->refs++;
	if (target)
		target->refs++;
	vtfs_name_remove(st, olddir, oldname, oldlen);
	vtfs_name_remove(st, newdir, newname, newlen);
	if (moved)
		vtfs_node_name(st, moved, newdir, newname, newlen);
	if (target)
		vtfs_node_name(st, target, olddir, oldname, oldlen);
	if (moved) {
		moved->refs--;
		vtfs_node_release(st, moved);
	}
	if (target) {
		target->refs--;
		vtfs_node_release(st, target);
	}
}

static struct xarray *vtfs_handles(struct vtfs_state *st, bool dir)
{
	return dir ? &st->dirs : &st->files;
}

/**
 * vtfs_handle_find() - the handle the fuse core holds as @fh
 * @st: the state
 * @dir: a directory handle
 * @fh: core fh
 *
 * Context: the state's lock or RCU.
 * Return: the handle, or NULL.
 */
struct vtfs_handle *vtfs_handle_find(struct vtfs_state *st, bool dir, u64 fh)
{
	return xa_load(vtfs_handles(st, dir), fh);
}

static void vtfs_handle_add(struct vtfs_state *st, struct vtfs_node *node,
			    bool dir, u64 fh, u64 dev_fh, u32 open_flags,
			    const struct fuse_in_header *ih)
{
	struct vtfs_handle *h = kzalloc(sizeof(*h), GFP_NOIO);

	if (!h) {
		st->untracked++;
		return;
	}
	h->node = node;
	h->fh = fh;
	h->dev_fh = dev_fh;
	h->open_flags = open_flags;
	h->uid = ih->uid;
	h->gid = ih->gid;
	h->pid = ih->pid;
	h->dir = dir;
	h->state = VTFS_HANDLE_OK;
	if (xa_err(xa_store(vtfs_handles(st, dir), fh, h, GFP_NOIO))) {
		kfree(h);
		st->untracked++;
		return;
	}
	node->refs++;
	st->nr_handles++;
	if (fh >= st->next_fh)
		st->next_fh = fh + 1;
}

static void vtfs_lockrec_free(struct vtfs_state *st, struct vtfs_lockrec *rec)
{
	hash_del(&rec->hnode);
	st->nr_ranges -= rec->ranges.nr;
	vtfs_ranges_free(&rec->ranges);
	rec->node->refs--;
	vtfs_node_release(st, rec->node);
	st->nr_lockrecs--;
	kfree(rec);
}

/* Locks die with the handle they were taken through (OFD, flock). */
static void vtfs_locks_drop_fh(struct vtfs_state *st, u64 fh)
{
	struct vtfs_lockrec *rec;
	struct hlist_node *next;
	unsigned int bkt;

	if (!st->nr_lockrecs)
		return;
	hash_for_each_safe(st->locks, bkt, next, rec, hnode)
		if (rec->fh == fh)
			vtfs_lockrec_free(st, rec);
}

static void vtfs_handle_remove(struct vtfs_state *st, bool dir, u64 fh)
{
	struct vtfs_handle *h = xa_erase(vtfs_handles(st, dir), fh);

	if (!h)
		return;
	if (!dir)
		vtfs_locks_drop_fh(st, fh);
	st->nr_handles--;
	h->node->refs--;
	vtfs_node_release(st, h->node);
	kfree_rcu(h, rcu);
}

static u32 vtfs_lock_hash(const struct vtfs_node *node, u64 owner)
{
	return hash_ptr(node, 32) ^ hash_64(owner, 32);
}

static struct vtfs_lockrec *vtfs_lockrec_find(struct vtfs_state *st,
					      struct vtfs_node *node,
					      u64 owner, bool flock)
{
	struct vtfs_lockrec *rec;

	hash_for_each_possible(st->locks, rec, hnode,
			       vtfs_lock_hash(node, owner))
		if (rec->node == node && rec->owner == owner &&
		    rec->flock == flock)
			return rec;
	return NULL;
}

/* A SETLK or SETLKW succeeded: record its effect. */
static void vtfs_lock_apply(struct vtfs_state *st, struct vtfs_node *node,
			    const struct fuse_lk_in *in, u32 pid)
{
	bool flock = in->lk_flags & FUSE_LK_FLOCK;
	struct vtfs_lockrec *rec;
	unsigned int before;

	rec = vtfs_lockrec_find(st, node, in->owner, flock);
	if (!rec) {
		if (in->lk.type == VTFS_UNLCK)
			return;
		rec = kzalloc(sizeof(*rec), GFP_NOIO);
		if (!rec) {
			st->untracked++;
			return;
		}
		rec->node = node;
		rec->owner = in->owner;
		rec->flock = flock;
		node->refs++;
		hash_add(st->locks, &rec->hnode,
			 vtfs_lock_hash(node, in->owner));
		st->nr_lockrecs++;
	}
	before = rec->ranges.nr;
	if (vtfs_ranges_apply(&rec->ranges, in->lk.start, in->lk.end,
			      in->lk.type))
		st->untracked++;
	st->nr_ranges += rec->ranges.nr;
	st->nr_ranges -= before;
	if (in->lk.type != VTFS_UNLCK) {
		rec->fh = in->fh;
		rec->pid = pid;
	}
	if (!rec->ranges.nr)
		vtfs_lockrec_free(st, rec);
}

static void vtfs_locks_drop_owner(struct vtfs_state *st,
				  struct vtfs_node *node, u64 owner,
				  bool flock)
{
	struct vtfs_lockrec *rec = vtfs_lockrec_find(st, node, owner, flock);

	if (rec)
		vtfs_lockrec_free(st, rec);
}

/* Name of in_args[@i] of @req, without its NUL. */
static const char *vtfs_in_name(struct fuse_req *req, unsigned int i,
				unsigned int *len)
{
	const struct fuse_in_arg *arg;

	if (i >= req->args->in_numargs)
		return NULL;
	arg = &req->args->in_args[i];
	if (!arg->size)
		return NULL;
	*len = strnlen(arg->value, arg->size);
	return *len ? arg->value : NULL;
}

/* An entry reply (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE). */
static int vtfs_track_entry(struct vtfs_state *st, struct fuse_req *req,
			    struct fuse_entry_out *entry,
			    unsigned int name_arg)
{
	struct vtfs_node *parent = vtfs_node_find(st, req->in.h.nodeid);
	const char *name;
	unsigned int len = 0;
	u64 nodeid;

	if (!entry->nodeid)
		return 0;
	name = vtfs_in_name(req, name_arg, &len);
	nodeid = vtfs_idmap_reply_node(st, parent, name, len, entry->nodeid,
				       &entry->attr, true);
	if (!nodeid)
		return -EIO;
	entry->nodeid = nodeid;
	return 0;
}

static int vtfs_track_open(struct vtfs_state *st, struct fuse_req *req,
			   u64 nodeid, struct fuse_open_out *open,
			   u32 open_flags, bool dir)
{
	struct vtfs_node *node = vtfs_node_find(st, nodeid);
	u64 dev_fh = open->fh;

	open->fh = vtfs_idmap_reply_fh(st, dev_fh);
	if (node)
		vtfs_handle_add(st, node, dir, open->fh, dev_fh, open_flags,
				&req->in.h);
	else
		st->untracked++;
	return 0;
}

/* Where READDIRPLUS entries are recorded: the state and the directory. */
struct vtfs_dirplus_ctx {
	struct vtfs_state *st;
	struct vtfs_node *parent;
};

/* One READDIRPLUS entry, checked by vtfs_walk_dirplus(). */
static int vtfs_track_dirent(void *data, struct fuse_direntplus *dp)
{
	struct vtfs_dirplus_ctx *ctx = data;
	struct vtfs_state *st = ctx->st;
	struct fuse_entry_out *entry = &dp->entry_out;
	u64 nodeid;

	if (!entry->nodeid)
		return 0;
	/* The fuse core ignores "." and "..": it never forgets them. */
	if (vtfs_is_dot(dp->dirent.name, dp->dirent.namelen)) {
		if (st->epoch) {
			vtfs_state_dev_forget(st, entry->nodeid, 1);
			entry->nodeid = 0;
		}
		return 0;
	}
	nodeid = vtfs_idmap_reply_node(st, ctx->parent, dp->dirent.name,
				       dp->dirent.namelen, entry->nodeid,
				       &entry->attr, true);
	if (!nodeid)
		return -EIO;
	entry->nodeid = nodeid;
	return 0;
}

/* The one page a READDIR or READDIRPLUS reply came in, mapped. */
static void *vtfs_dir_reply_map(struct fuse_req *req, unsigned int bytes)
{
	struct fuse_args_pages *ap = container_of(req->args, typeof(*ap), args);

	if (ap->num_pages != 1 || bytes > ap->descs[0].length)
		return NULL;
	return kmap_local_page(ap->pages[0]) + ap->descs[0].offset;
}

/*
 * A READDIRPLUS reply: check every entry, record each object, and after a
 * restore give the fuse core its own ids for them.
 */
static int vtfs_track_dirplus(struct vtfs_state *st, struct fuse_req *req,
			      unsigned int bytes)
{
	struct vtfs_dirplus_ctx ctx = {
		.st = st,
		.parent = vtfs_node_find(st, req->in.h.nodeid),
	};
	void *buf;
	int ret;

	if (!bytes)
		return 0;
	buf = vtfs_dir_reply_map(req, bytes);
	if (!buf)
		return -EIO;
	ret = vtfs_walk_dirplus(buf, bytes, vtfs_track_dirent, &ctx);
	kunmap_local(buf);
	return ret ? -EIO : 0;
}

/* A READDIR reply: only checked, it names no object by nodeid. */
static int vtfs_check_readdir(struct fuse_req *req, unsigned int bytes)
{
	void *buf;
	int ret;

	if (!bytes)
		return 0;
	buf = vtfs_dir_reply_map(req, bytes);
	if (!buf)
		return -EIO;
	ret = vtfs_check_dirents(buf, bytes);
	kunmap_local(buf);
	return ret ? -EIO : 0;
}

/*
 * A release, flush or lock request took effect: drop what it released, or
 * record the lock it set. For the device's replies and for those answered
 * without the device alike.
 */
static void vtfs_track_release(struct vtfs_state *st, struct fuse_req *req)
{
	const void *in0 = req->args->in_args[0].value;
	const struct fuse_release_in *rel = in0;
	u32 opcode = req->in.h.opcode;
	struct vtfs_node *node;

	lockdep_assert_held(&st->lock);
	node = vtfs_node_find(st, req->in.h.nodeid);
	switch (opcode) {
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		if (node && (rel->release_flags & FUSE_RELEASE_FLOCK_UNLOCK))
			vtfs_locks_drop_owner(st, node, rel->lock_owner, true);
		vtfs_handle_remove(st, opcode == FUSE_RELEASEDIR, rel->fh);
		break;
	case FUSE_FLUSH:
		if (node)
			vtfs_locks_drop_owner(st, node,
					      ((const struct fuse_flush_in *)in0)->lock_owner,
					      false);
		break;
	case FUSE_SETLK:
	case FUSE_SETLKW:
		if (node)
			vtfs_lock_apply(st, node, in0, req->in.h.pid);
		break;
	}
}

/**
 * vtfs_state_reply() - record what a reply tells, map its device ids
 * @sess: the session
 * @req: the fuse core's request
 * @vreq: the request and the reply as the device wrote it (validated)
 *
 * Runs before the reply reaches the fuse core: ids in the reply are
 * rewritten to core ids here.
 *
 * Context: process.
 * Return: 0, or -EIO when the reply names an id that cannot be mapped.
 */
int vtfs_state_reply(struct vtfs_session *sess, struct fuse_req *req,
		     struct vtfs_req *vreq)
{
	struct vtfs_state *st = &sess->st;
	struct fuse_out_header *oh = vtfs_req_oh(vreq);
	void *out = oh + 1;
	u32 opcode = req->in.h.opcode;
	const void *in0 = req->args->in_numargs ? req->args->in_args[0].value :
			  NULL;
	struct vtfs_node *node, *dir2;
	unsigned int len, len2;
	const char *name, *name2;
	int ret = 0;

	switch (opcode) {
	case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_SYMLINK:
	case FUSE_LINK: case FUSE_CREATE: case VTFS_FUSE_TMPFILE:
	case FUSE_OPEN: case FUSE_OPENDIR:
	case FUSE_READDIRPLUS: case FUSE_RENAME: case FUSE_RENAME2:
	case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_RELEASE:
	case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_SETLK:
	case FUSE_SETLKW:
		break;
	case FUSE_READDIR:
		return oh->error ? 0 : vtfs_check_readdir(req, oh->len -
							  sizeof(*oh));
	default:
		return 0;
	}
	/* Releases and flushes count even when the device failed them. */
	if (oh->error && opcode != FUSE_RELEASE && opcode != FUSE_RELEASEDIR &&
	    opcode != FUSE_FLUSH)
		return 0;

	mutex_lock(&st->lock);
	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_SYMLINK:
		ret = vtfs_track_entry(st, req, out, 0);
		break;
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_LINK:
		ret = vtfs_track_entry(st, req, out, 1);
		break;
	case FUSE_CREATE:
	case VTFS_FUSE_TMPFILE:
		/* A file made by O_TMPFILE has no name to find it again by. */
		ret = vtfs_track_entry(st, req, out,
				       opcode == FUSE_CREATE ? 1 : UINT_MAX);
		if (!ret && ((struct fuse_entry_out *)out)->nodeid)
			ret = vtfs_track_open(st, req,
					      ((struct fuse_entry_out *)out)->nodeid,
					      out + sizeof(struct fuse_entry_out),
					      ((const struct fuse_create_in *)in0)->flags,
					      false);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		ret = vtfs_track_open(st, req, req->in.h.nodeid, out,
				      ((const struct fuse_open_in *)in0)->flags,
				      opcode == FUSE_OPENDIR);
		break;
	case FUSE_READDIRPLUS:
		ret = vtfs_track_dirplus(st, req, oh->len - sizeof(*oh));
		break;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		name = vtfs_in_name(req, 1, &len);
		name2 = vtfs_in_name(req, 2, &len2);
		dir2 = vtfs_node_find(st, *(const u64 *)in0);
		if (name && name2)
			vtfs_name_move(st, vtfs_node_find(st, req->in.h.nodeid),
				       name, len, dir2, name2, len2,
				       opcode == FUSE_RENAME2 &&
				       (((const struct fuse_rename2_in *)in0)->flags &
					RENAME_EXCHANGE));
		break;
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		name = vtfs_in_name(req, 0, &len);
		node = vtfs_node_find(st, req->in.h.nodeid);
		if (name && node)
			vtfs_name_remove(st, node, name, len);
		break;
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		vtfs_track_release(st, req);
		break;
	}
	mutex_unlock(&st->lock);
	if (st->dev_forgets)
		vtfs_session_kick(sess);
	return ret;
}

/* Forget the device id of @node and of the ghosts above it. */
static void vtfs_node_reset_dev(struct vtfs_node *node)
{
	for (; node && !(node->flags & VTFS_NODE_ROOT); node = node->parent) {
		if (!node->dev_nodeid && !node->dev_nlookup &&
		    (node->flags & VTFS_NODE_INDEXED))
			break;
		WRITE_ONCE(node->dev_nodeid, 0);
		node->dev_nlookup = 0;
	}
}

/**
 * vtfs_state_check_ctime() - compare a node found again with its old ctime
 * @st: the state
 * @node: the node, just found again
 * @attr: what the new device session says of it
 *
 * Marks @node VTFS_NODE_CTIME_SAME or VTFS_NODE_CTIME_NEW when
 * @st->ctimes holds its ctime from the end of the last device
 * session; leaves it unmarked otherwise.
 *
 * Context: the state's lock.
 */
void vtfs_state_check_ctime(struct vtfs_state *st, struct vtfs_node *node,
			    const struct fuse_attr *attr)
{
	void *old;

	lockdep_assert_held(&st->lock);
	old = xa_load(&st->ctimes, node->nodeid);
	if (!old)
		return;
	node->flags |= xa_to_value(old) == vtfs_attr_ctime(attr) ?
		       VTFS_NODE_CTIME_SAME : VTFS_NODE_CTIME_NEW;
}

/**
 * vtfs_state_new_epoch() - the device was reset: its ids mean nothing now
 * @st: the state
 *
 * Every node and handle must be found again; the root is FUSE_ROOT_ID in
 * every device session. Lookups owed to the old device session are moot.
 *
 * Context: process; the session's requests are held.
 */
void vtfs_state_new_epoch(struct vtfs_state *st)
{
	struct fuse_forget_link *link;
	struct vtfs_alias *alias;
	struct vtfs_handle *h;
	struct vtfs_node *node;
	unsigned long id;

	mutex_lock(&st->lock);
	WRITE_ONCE(st->epoch, st->epoch + 1);
	xa_destroy(&st->dev_nodes);
	while ((link = st->dev_forgets)) {
		st->dev_forgets = link->next;
		kfree(link);
	}
	st->nr_pending = 0;
	xa_for_each(&st->nodes, id, node) {
		WRITE_ONCE(node->dev_nodeid, 0);
		node->dev_nlookup = 0;
		node->flags &= ~(VTFS_NODE_CTIME_SAME | VTFS_NODE_CTIME_NEW);
		if (!(node->flags & (VTFS_NODE_ROOT | VTFS_NODE_STALE))) {
			node->flags |= VTFS_NODE_PENDING;
			st->nr_pending++;
		}
	}
	/* Ghosts hang off indexed nodes, aliases and handles. */
	xa_for_each(&st->nodes, id, node)
		vtfs_node_reset_dev(node->parent);
	list_for_each_entry(alias, &st->alias_list, list)
		vtfs_node_reset_dev(alias->parent);
	xa_for_each(&st->files, id, h) {
		vtfs_node_reset_dev(h->node);
		if (h->state != VTFS_HANDLE_STALE)
			WRITE_ONCE(h->state, VTFS_HANDLE_PENDING);
	}
	xa_for_each(&st->dirs, id, h) {
		vtfs_node_reset_dev(h->node);
		if (h->state != VTFS_HANDLE_STALE)
			WRITE_ONCE(h->state, VTFS_HANDLE_PENDING);
	}
	st->root->dev_nlookup = 1;
	if (vtfs_state_bind_dev(st, st->root, FUSE_ROOT_ID))
		st->untracked++;
	st->recovery.handles = 0;
	st->recovery.stale_handles = 0;
	st->recovery.locks = 0;
	st->recovery.lost_locks = 0;
	st->recovery.stale_nodes = 0;
	st->recovery.resolved_nodes = 0;
	mutex_unlock(&st->lock);
}

/**
 * vtfs_state_local_reply() - a request succeeded without the device
 * @st: the state
 * @req: the request
 *
 * Only releases are answered so: of handles whose object is gone, and
 * releases, flushes and unlocks of a session without a device (see
 * vtfs_session_interrupted()).
 *
 * Context: process.
 */
void vtfs_state_local_reply(struct vtfs_state *st, struct fuse_req *req)
{
	switch (req->in.h.opcode) {
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		break;
	default:
		return;
	}
	mutex_lock(&st->lock);
	vtfs_track_release(st, req);
	mutex_unlock(&st->lock);
}

/**
 * vtfs_state_init() - an empty record with the root node
 * @st: the state
 *
 * Context: process.
 * Return: 0 or -ENOMEM.
 */
int vtfs_state_init(struct vtfs_state *st)
{
	struct vtfs_node *root;
	int ret;

	mutex_init(&st->lock);
	xa_init(&st->nodes);
	xa_init(&st->dev_nodes);
	xa_init(&st->files);
	xa_init(&st->dirs);
	xa_init(&st->ctimes);
	INIT_LIST_HEAD(&st->alias_list);
	hash_init(st->locks);
	ret = rhashtable_init(&st->names, &vtfs_names_params);
	if (ret)
		return ret;
	ret = rhashtable_init(&st->aliases, &vtfs_aliases_params);
	if (ret)
		goto destroy_names;

	mutex_lock(&st->lock);
	root = vtfs_node_create(st, FUSE_ROOT_ID, 0, S_IFDIR);
	if (root) {
		root->flags |= VTFS_NODE_ROOT;
		root->nlookup = 1;
		root->dev_nlookup = 1;
		st->root = root;
	}
	mutex_unlock(&st->lock);
	if (root)
		return 0;
	ret = -ENOMEM;
	rhashtable_destroy(&st->aliases);
destroy_names:
	rhashtable_destroy(&st->names);
	return ret;
}

/**
 * vtfs_state_destroy() - free every record
 * @st: the state; nothing uses it any more
 *
 * Context: process.
 */
void vtfs_state_destroy(struct vtfs_state *st)
{
	struct vtfs_alias *alias, *anext;
	struct vtfs_lockrec *rec;
	struct vtfs_handle *h;
	struct vtfs_node *node;
	struct hlist_node *next;
	struct fuse_forget_link *link;
	unsigned int bkt;
	unsigned long id;

	mutex_lock(&st->lock);
	hash_for_each_safe(st->locks, bkt, next, rec, hnode)
		vtfs_lockrec_free(st, rec);
	xa_for_each(&st->files, id, h)
		vtfs_handle_remove(st, false, id);
	xa_for_each(&st->dirs, id, h)
		vtfs_handle_remove(st, true, id);
	list_for_each_entry_safe(alias, anext, &st->alias_list, list)
		vtfs_alias_free(st, alias);
	/* The fuse core is gone: every lookup it held is dropped. */
	st->epoch = 0;
	xa_for_each(&st->nodes, id, node) {
		if (node->flags & VTFS_NODE_ROOT)
			continue;
		node->nlookup = 0;
		vtfs_node_release(st, node);
	}
	while ((link = st->dev_forgets)) {
		st->dev_forgets = link->next;
		kfree(link);
	}
	if (st->root) {
		xa_erase(&st->nodes, FUSE_ROOT_ID);
		kmem_cache_free(vtfs_node_cache, st->root);
		st->nr_nodes--;
	}
	WARN_ON(st->nr_nodes || st->nr_handles || st->nr_lockrecs);
	mutex_unlock(&st->lock);
	xa_destroy(&st->nodes);
	xa_destroy(&st->dev_nodes);
	xa_destroy(&st->files);
	xa_destroy(&st->dirs);
	xa_destroy(&st->ctimes);
	rhashtable_destroy(&st->names);
	rhashtable_destroy(&st->aliases);
}

/**
 * vtfs_state_show() - the state's counters, for debugfs
 * @m: the seq_file
 * @st: the state
 *
 * Context: process.
 */
void vtfs_state_show(struct seq_file *m, struct vtfs_state *st)
{
	struct vtfs_recovery_stats *r = &st->recovery;

	mutex_lock(&st->lock);
	seq_printf(m, "epoch %u\n", st->epoch);
	seq_printf(m, "nodes %llu\n", st->nr_nodes);
	seq_printf(m, "name_bytes %llu\n", st->nr_names);
	seq_printf(m, "aliases %llu\n", st->nr_aliases);
	seq_printf(m, "handles %llu\n", st->nr_handles);
	seq_printf(m, "lock_owners %llu\n", st->nr_lockrecs);
	seq_printf(m, "lock_ranges %llu\n", st->nr_ranges);
	seq_printf(m, "untracked %llu\n", st->untracked);
	seq_printf(m, "node_bytes %zu\n", sizeof(struct vtfs_node));
	seq_printf(m, "recoveries %llu\n", r->count);
	seq_printf(m, "last_recovery_us %llu\n", r->duration_us);
	seq_printf(m, "last_recovery_outcome %d\n", r->outcome);
	seq_printf(m, "last_recovery_handles %llu\n", r->handles);
	seq_printf(m, "last_recovery_stale_handles %llu\n", r->stale_handles);
	seq_printf(m, "last_recovery_locks %llu\n", r->locks);
	seq_printf(m, "last_recovery_lost_locks %llu\n", r->lost_locks);
	seq_printf(m, "stale_nodes %llu\n", r->stale_nodes);
	seq_printf(m, "resolved_nodes %llu\n", r->resolved_nodes);
	mutex_unlock(&st->lock);
}

/**
 * vtfs_state_module_init() - create the node cache
 *
 * Context: module init.
 * Return: 0 or -ENOMEM.
 */
int vtfs_state_module_init(void)
{
	vtfs_node_cache = kmem_cache_create("vtfs_node",
					    sizeof(struct vtfs_node), 0,
					    SLAB_TYPESAFE_BY_RCU |
					    SLAB_RECLAIM_ACCOUNT, NULL);
	return vtfs_node_cache ? 0 : -ENOMEM;
}

/**
 * vtfs_state_module_exit() - destroy it
 *
 * Context: module exit.
 */
void vtfs_state_module_exit(void)
{
	kmem_cache_destroy(vtfs_node_cache);
}
