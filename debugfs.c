// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: debugfs, /sys/kernel/debug/virtio_fs/<index>/.
 *
 *   tag      the device's tag
 *   queues   one line per virtqueue with its counters
 *   opcodes  requests sent per FUSE opcode
 *   session  the mounted session: state, what is tracked, last recovery
 *
 * and /sys/kernel/debug/virtio_fs/detached: mounts whose device was removed,
 * waiting for a new device with their tag (reattach.c).
 *
 * See Documentation/virtio_fs.rst for the meaning of each counter.
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "fault.h"
#include "fuse_virtio.h"

static struct dentry *vtfs_debugfs_root;

static int vtfs_tag_show(struct seq_file *m, void *unused)
{
	struct vtfs_device *dev = m->private;

	seq_printf(m, "%s\n", dev->tag);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtfs_tag);

static int vtfs_queues_show(struct seq_file *m, void *unused)
{
	struct vtfs_device *dev = m->private;
	struct vtfs_queue_stats st;
	unsigned int i, in_flight, waiting, size;
	bool running;

	seq_puts(m, "queue size running in_flight waiting sent completed ring_full waited max_waiting backoff_fired bad_replies unmatched\n");
	for (i = 0; i < dev->nr_queues; i++) {
		struct vtfs_queue *q = &dev->queues[i];

		spin_lock(&q->lock);
		st = q->stats;
		in_flight = q->in_flight;
		waiting = q->nr_waiting;
		running = q->running;
		size = q->vq ? virtqueue_get_vring_size(q->vq) : 0;
		spin_unlock(&q->lock);
		seq_printf(m, "%s %u %d %u %u %llu %llu %llu %llu %llu %llu %llu %llu\n",
			   q->name, size, running, in_flight, waiting, st.sent,
			   st.completed, st.ring_full, st.waited,
			   st.max_waiting, st.backoff_fired, st.bad_replies,
			   st.unmatched);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtfs_queues);

static int vtfs_opcodes_show(struct seq_file *m, void *unused)
{
	struct vtfs_device *dev = m->private;
	unsigned int op;
	s64 n;

	for (op = 0; op < VTFS_MAX_OPCODE; op++) {
		n = atomic64_read(&dev->op_count[op]);
		if (n)
			seq_printf(m, "%u %lld\n", op, n);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtfs_opcodes);

static int vtfs_session_show(struct seq_file *m, void *unused)
{
	struct vtfs_device *dev = m->private;
	struct vtfs_session *sess;

	mutex_lock(&dev->lock);
	sess = rcu_dereference_protected(dev->session,
					 lockdep_is_held(&dev->lock));
	if (sess) {
		spin_lock(&sess->lock);
		seq_printf(m, "state %s\n", sess->state == VTFS_LIVE ? "live" :
			   sess->state == VTFS_HELD ? "held" : "dead");
		seq_printf(m, "frozen %d\n", sess->frozen);
		spin_unlock(&sess->lock);
		seq_printf(m, "reattaches %u\n", sess->reattaches);
		vtfs_state_show(m, &sess->st);
	} else {
		seq_puts(m, "state unmounted\n");
	}
	mutex_unlock(&dev->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtfs_session);

static int vtfs_detached_show(struct seq_file *m, void *unused)
{
	vtfs_reattach_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtfs_detached);

/**
 * vtfs_debugfs_add_device() - create a device's debugfs directory
 * @dev: the device
 *
 * Context: process.
 */
void vtfs_debugfs_add_device(struct vtfs_device *dev)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", dev->index);
	dev->debugfs = debugfs_create_dir(name, vtfs_debugfs_root);
	debugfs_create_file("tag", 0444, dev->debugfs, dev, &vtfs_tag_fops);
	debugfs_create_file("queues", 0444, dev->debugfs, dev,
			    &vtfs_queues_fops);
	debugfs_create_file("opcodes", 0444, dev->debugfs, dev,
			    &vtfs_opcodes_fops);
	debugfs_create_file("session", 0444, dev->debugfs, dev,
			    &vtfs_session_fops);
}

/**
 * vtfs_debugfs_remove_device() - remove it; waits for readers to finish
 * @dev: the device
 *
 * Context: process.
 */
void vtfs_debugfs_remove_device(struct vtfs_device *dev)
{
	debugfs_remove(dev->debugfs);
	dev->debugfs = NULL;
}

/**
 * vtfs_debugfs_init() - create /sys/kernel/debug/virtio_fs
 *
 * Context: module init.
 */
void vtfs_debugfs_init(void)
{
	vtfs_debugfs_root = debugfs_create_dir(VTFS_NAME, NULL);
	debugfs_create_file("detached", 0444, vtfs_debugfs_root, NULL,
			    &vtfs_detached_fops);
	vtfs_fault_init(vtfs_debugfs_root);
}

/**
 * vtfs_debugfs_exit() - remove it
 *
 * Context: module exit.
 */
void vtfs_debugfs_exit(void)
{
	debugfs_remove(vtfs_debugfs_root);
}
