// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: fault injection knobs (see fault.h). Only in builds with
 * VTFS_FAULT_INJECTION.
 */

#include <linux/atomic.h>
#include <linux/debugfs.h>

#include "fuse_virtio.h"
#include "fault.h"

static atomic_t ring_full = ATOMIC_INIT(0);
static atomic_t alloc_fail = ATOMIC_INIT(0);
static u32 hold_opcode;
static u32 call_fail_opcode;
static u32 call_fail_errno;
static atomic_t call_fail_count = ATOMIC_INIT(0);

/* Take one from a countdown; false once it is at zero. */
static bool vtfs_fault_take(atomic_t *count)
{
	return atomic_add_unless(count, -1, 0);
}

/**
 * vtfs_fault_ring_full() - make this attempt to add a buffer fail
 *
 * Context: any.
 * Return: true to pretend the ring is full.
 */
bool vtfs_fault_ring_full(void)
{
	return vtfs_fault_take(&ring_full);
}

/**
 * vtfs_fault_alloc() - make this request allocation fail
 *
 * Context: any.
 * Return: true to pretend memory ran out.
 */
bool vtfs_fault_alloc(void)
{
	return vtfs_fault_take(&alloc_fail);
}

/**
 * vtfs_fault_hold() - whether completions of @opcode are held back
 * @opcode: FUSE opcode of a completed request
 *
 * Context: any.
 * Return: true to keep the completion from the fuse core for now.
 */
bool vtfs_fault_hold(u32 opcode)
{
	u32 held = READ_ONCE(hold_opcode);

	return held && held == opcode;
}

/**
 * vtfs_fault_call() - whether a request of the driver's own fails
 * @opcode: its FUSE opcode
 *
 * Context: process.
 * Return: 0, or the negative errno to fail it with.
 */
int vtfs_fault_call(u32 opcode)
{
	int err = READ_ONCE(call_fail_errno);

	if (!err || READ_ONCE(call_fail_opcode) != opcode)
		return 0;
	/* A count of zero means every time. */
	if (atomic_read(&call_fail_count) &&
	    !vtfs_fault_take(&call_fail_count))
		return 0;
	pr_info("%s: fault injection: opcode %u fails with %d\n", VTFS_NAME,
		opcode, -err);
	return -err;
}

/* Let every queue of @dev look at its completions again. */
static void vtfs_fault_kick(struct vtfs_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->nr_queues; i++)
		queue_work(vtfs_wq, &dev->queues[i].done_work);
}

/* As the virtio ring does when a device breaks the protocol. */
static void vtfs_fault_break(struct vtfs_device *dev)
{
	virtio_break_device(dev->vdev);
	vtfs_fault_kick(dev);
}

/* As if @dev reported VIRTIO_CONFIG_S_NEEDS_RESET: QEMU's never do. */
static void vtfs_fault_needs_reset(struct vtfs_device *dev)
{
	queue_work(system_freezable_wq, &dev->reset_work);
}

static int vtfs_hold_set(void *data, u64 val)
{
	WRITE_ONCE(hold_opcode, val);
	/* Completions held so far go out when their opcode is let go. */
	if (!val)
		vtfs_visit_devices(vtfs_fault_kick);
	return 0;
}

static int vtfs_hold_get(void *data, u64 *val)
{
	*val = READ_ONCE(hold_opcode);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vtfs_hold_fops, vtfs_hold_get, vtfs_hold_set,
			 "%llu\n");

static int vtfs_break_set(void *data, u64 val)
{
	if (val)
		vtfs_visit_devices(vtfs_fault_break);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vtfs_break_fops, NULL, vtfs_break_set, "%llu\n");

static int vtfs_needs_reset_set(void *data, u64 val)
{
	if (val)
		vtfs_visit_devices(vtfs_fault_needs_reset);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vtfs_needs_reset_fops, NULL, vtfs_needs_reset_set,
			 "%llu\n");

static int vtfs_atomic_set(void *data, u64 val)
{
	atomic_set(data, val);
	return 0;
}

static int vtfs_atomic_get(void *data, u64 *val)
{
	*val = atomic_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vtfs_atomic_fops, vtfs_atomic_get, vtfs_atomic_set,
			 "%llu\n");

/**
 * vtfs_fault_init() - create the knobs
 * @root: the driver's debugfs directory
 *
 * Context: module init.
 */
void vtfs_fault_init(struct dentry *root)
{
	struct dentry *dir = debugfs_create_dir("fault", root);

	debugfs_create_file_unsafe("ring_full", 0600, dir, &ring_full,
				   &vtfs_atomic_fops);
	debugfs_create_file_unsafe("alloc_fail", 0600, dir, &alloc_fail,
				   &vtfs_atomic_fops);
	debugfs_create_file_unsafe("hold_opcode", 0600, dir, NULL,
				   &vtfs_hold_fops);
	debugfs_create_u32("call_fail_opcode", 0600, dir, &call_fail_opcode);
	debugfs_create_u32("call_fail_errno", 0600, dir, &call_fail_errno);
	debugfs_create_file_unsafe("call_fail_count", 0600, dir,
				   &call_fail_count, &vtfs_atomic_fops);
	debugfs_create_file_unsafe("break_device", 0200, dir, NULL,
				   &vtfs_break_fops);
	debugfs_create_file_unsafe("needs_reset", 0200, dir, NULL,
				   &vtfs_needs_reset_fops);
	pr_warn("%s: built with fault injection (debugfs %s/fault); not for production\n",
		VTFS_NAME, VTFS_NAME);
}
