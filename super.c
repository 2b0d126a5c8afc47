// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: the "virtiofs" filesystem type.
 *
 * `mount -t virtiofs TAG DIR` finds the device with that tag, creates a fuse
 * connection whose input queue is a session of this driver, and lets the
 * fuse core do the rest. The mount options are those of the in-tree driver.
 */

#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "fuse_virtio.h"

/* The fuse core's mount context and this driver's own options. */
struct vtfs_fs_context {
	struct fuse_fs_context fuse;
	int pm_policy;
	int reattach_timeout;
};

static struct vtfs_fs_context *vtfs_fsc(struct fs_context *fsc)
{
	return container_of(fsc->fs_private, struct vtfs_fs_context, fuse);
}

enum {
	OPT_DAX,
	OPT_DAX_MODE,
	OPT_PM,
	OPT_REATTACH_TIMEOUT,
};

static const struct constant_table vtfs_dax_modes[] = {
	{ "always", FUSE_DAX_ALWAYS },
	{ "never", FUSE_DAX_NEVER },
	{ "inode", FUSE_DAX_INODE_USER },
	{}
};

static const struct constant_table vtfs_pm_policies[] = {
	{ "restore", VTFS_PM_RESTORE },
	{ "refuse", VTFS_PM_REFUSE },
	{}
};

static const struct fs_parameter_spec vtfs_fs_params[] = {
	fsparam_flag("dax", OPT_DAX),
	fsparam_enum("dax", OPT_DAX_MODE, vtfs_dax_modes),
	fsparam_enum("pm", OPT_PM, vtfs_pm_policies),
	fsparam_u32("reattach_timeout", OPT_REATTACH_TIMEOUT),
	{}
};

static int vtfs_parse_param(struct fs_context *fsc, struct fs_parameter *param)
{
	struct vtfs_fs_context *ctx = vtfs_fsc(fsc);
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fsc, vtfs_fs_params, param, &result);
	if (opt == OPT_DAX)
		ctx->fuse.dax_mode = FUSE_DAX_ALWAYS;
	else if (opt == OPT_DAX_MODE)
		ctx->fuse.dax_mode = result.uint_32;
	else if (opt == OPT_PM)
		ctx->pm_policy = result.uint_32;
	else if (opt == OPT_REATTACH_TIMEOUT && result.uint_32 > VTFS_REATTACH_MAX_S)
		return invalfc(fsc, "reattach_timeout is at most %u seconds",
			       VTFS_REATTACH_MAX_S);
	else if (opt == OPT_REATTACH_TIMEOUT)
		ctx->reattach_timeout = result.uint_32;
	return opt < 0 ? opt : 0;
}

static void vtfs_free_fsc(struct fs_context *fsc)
{
	if (fsc->fs_private)
		kfree(vtfs_fsc(fsc));
}

static struct vtfs_session *vtfs_fm_session(struct fuse_mount *fm)
{
	return fm->fc->iq.priv;
}

/* Superblocks are shared per device: a second mount of a tag reuses it. */
static int vtfs_test_super(struct super_block *sb, struct fs_context *fsc)
{
	struct vtfs_session *mine = vtfs_fm_session(fsc->s_fs_info);
	struct vtfs_session *theirs = vtfs_fm_session(get_fuse_mount_super(sb));

	return rcu_access_pointer(mine->dev) == rcu_access_pointer(theirs->dev);
}

/*
 * Fill in the new superblock and attach its session to the device. The
 * connection settings are what virtio-fs has always used: the host checks
 * permissions too, every user may access the mount, DESTROY on unmount.
 */
static int vtfs_fill_super(struct super_block *sb, struct fs_context *fsc)
{
	struct fuse_fs_context *ctx = fsc->fs_private;
	struct fuse_mount *fm = get_fuse_mount_super(sb);
	struct vtfs_session *sess = vtfs_fm_session(fm);
	struct vtfs_device *dev = rcu_dereference_protected(sess->dev, true);
	int err;

	if (ctx->dax_mode == FUSE_DAX_ALWAYS) {
		pr_err("%s: tag %s: dax is not supported by this driver\n",
		       VTFS_NAME, dev->tag);
		return -EINVAL;
	}
	ctx->dax_dev = NULL;
	ctx->fudptr = NULL;
	ctx->rootmode = S_IFDIR;
	ctx->default_permissions = true;
	ctx->allow_other = true;
	ctx->max_read = UINT_MAX;
	ctx->blksize = 512;
	ctx->destroy = true;
	ctx->no_control = true;
	ctx->no_force_umount = true;

	mutex_lock(&dev->lock);
	if (!dev->vdev || rcu_access_pointer(dev->session)) {
		mutex_unlock(&dev->lock);
		pr_err("%s: tag %s: the device is %s\n", VTFS_NAME, dev->tag,
		       dev->vdev ? "busy" : "gone");
		return dev->vdev ? -EBUSY : -ENOENT;
	}
	err = fuse_fill_super_common(sb, ctx);
	if (!err) {
		sess->fm = fm;
		vtfs_session_attach(sess);
	}
	mutex_unlock(&dev->lock);
	if (err)
		return err;

	fuse_send_init(fm);
	return 0;
}

/* A fuse connection whose input queue is a new session on @dev. */
static struct fuse_mount *vtfs_new_connection(struct fs_context *fsc,
					      struct vtfs_device *dev)
{
	struct vtfs_session *sess;
	struct fuse_conn *fc;
	struct fuse_mount *fm;

	sess = vtfs_session_create(dev);
	fc = kzalloc(sizeof(*fc), GFP_KERNEL);
	fm = kzalloc(sizeof(*fm), GFP_KERNEL);
	if (!sess || !fc || !fm) {
		kfree(fm);
		kfree(fc);
		if (sess)
			vtfs_session_put(sess);
		return NULL;
	}

	sess->pm_policy = vtfs_fsc(fsc)->pm_policy;
	sess->reattach_timeout = vtfs_fsc(fsc)->reattach_timeout;
	/* From here on the connection owns the session reference. */
	fuse_conn_init(fc, fm, fsc->user_ns, &vtfs_fiq_ops, sess);
	fc->release = fuse_free_conn;
	fc->delete_stale = true;
	fc->auto_submounts = true;
	fc->sync_fs = true;
	fc->max_pages_limit = min(fc->max_pages_limit, dev->max_pages);
	sess->fc = fc;
	return fm;
}

static int vtfs_get_tree(struct fs_context *fsc)
{
	struct vtfs_device *dev;
	struct super_block *sb;
	struct fuse_mount *fm;
	int err;

	if (!fsc->source)
		return invalf(fsc, "virtiofs: the tag to mount is missing");

	dev = vtfs_device_get_by_tag(fsc->source);
	if (!dev) {
		pr_err("%s: no virtio-fs device has the tag %s\n", VTFS_NAME,
		       fsc->source);
		return -ENOENT;
	}
	if (!dev->max_pages) {
		pr_err("%s: tag %s: the virtqueue is too small for any request\n",
		       VTFS_NAME, dev->tag);
		vtfs_device_put(dev);
		return -EINVAL;
	}
	fm = vtfs_new_connection(fsc, dev);
	vtfs_device_put(dev);
	if (!fm)
		return -ENOMEM;

	fsc->s_fs_info = fm;
	sb = sget_fc(fsc, vtfs_test_super, set_anon_super_fc);
	/* sget_fc() clears s_fs_info when it used our connection. */
	if (fsc->s_fs_info)
		fuse_mount_destroy(fm);
	if (IS_ERR(sb))
		return PTR_ERR(sb);

	if (!sb->s_root) {
		err = vtfs_fill_super(sb, fsc);
		if (err) {
			deactivate_locked_super(sb);
			return err;
		}
		sb->s_flags |= SB_ACTIVE;
	}
	fsc->root = dget(sb->s_root);
	return 0;
}

/*
 * The last mount of a connection is going: a detached session stops waiting
 * for a device; tell the device (DESTROY), wait for every request of the
 * connection to end, then part the session from the device.
 */
static void vtfs_close_connection(struct fuse_mount *fm)
{
	struct vtfs_session *sess = vtfs_fm_session(fm);
	struct vtfs_device *dev;

	vtfs_reattach_forget(sess);
	fuse_conn_destroy(fm);

	rcu_read_lock();
	dev = rcu_dereference(sess->dev);
	if (dev)
		kref_get(&dev->ref);
	rcu_read_unlock();
	if (!dev) {
		/* Parted from its device earlier: let its work finish. */
		cancel_delayed_work_sync(&sess->forget_work);
		flush_work(&sess->end_work);
		return;
	}
	mutex_lock(&dev->lock);
	vtfs_session_detach(sess);
	mutex_unlock(&dev->lock);
	vtfs_device_put(dev);
}

static void vtfs_kill_sb(struct super_block *sb)
{
	struct fuse_mount *fm = get_fuse_mount_super(sb);

	/* A superblock whose fill_super failed has no root and no session. */
	if (sb->s_root && fuse_mount_remove(fm))
		vtfs_close_connection(fm);
	kill_anon_super(sb);
	fuse_mount_destroy(fm);
}

static const struct fs_context_operations vtfs_context_ops = {
	.free = vtfs_free_fsc,
	.parse_param = vtfs_parse_param,
	.get_tree = vtfs_get_tree,
};

static int vtfs_init_fs_context(struct fs_context *fsc)
{
	struct vtfs_fs_context *ctx;

	if (fsc->purpose == FS_CONTEXT_FOR_SUBMOUNT)
		return fuse_init_fs_context_submount(fsc);

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->pm_policy = VTFS_PM_DEFAULT;
	ctx->reattach_timeout = -1;
	fsc->fs_private = &ctx->fuse;
	fsc->ops = &vtfs_context_ops;
	return 0;
}

static struct file_system_type vtfs_fs_type = {
	.owner = THIS_MODULE,
	.name = "virtiofs",
	.init_fs_context = vtfs_init_fs_context,
	.kill_sb = vtfs_kill_sb,
};

/**
 * vtfs_register_fs() - register the "virtiofs" filesystem type
 *
 * Context: module init.
 * Return: 0, or -EBUSY when another driver (the in-tree virtiofs.ko)
 * registered it first.
 */
int vtfs_register_fs(void)
{
	int ret = register_filesystem(&vtfs_fs_type);

	if (ret == -EBUSY)
		pr_err("%s: the virtiofs filesystem type is taken; unload the in-tree virtiofs module first\n",
		       VTFS_NAME);
	return ret;
}

/**
 * vtfs_unregister_fs() - unregister the filesystem type
 *
 * Context: module exit.
 */
void vtfs_unregister_fs(void)
{
	unregister_filesystem(&vtfs_fs_type);
}
