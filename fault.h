/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_fs.ko: fault injection, for the paths a real device cannot be made
 * to take. Built only with `make FAULT_INJECTION=1` (VTFS_FAULT_INJECTION);
 * otherwise every hook is a constant the compiler removes.
 *
 * Knobs, in /sys/kernel/debug/virtio_fs/fault/:
 *
 *   ring_full        the next N buffers find the ring full (-ENOSPC)
 *   alloc_fail       the next N request allocations fail (-ENOMEM)
 *   hold_opcode      completions of this FUSE opcode are held back, as if
 *                    lost, until the knob is set to 0 again
 *   call_fail_opcode requests of the driver's own (recovery) with this
 *   call_fail_errno  opcode fail with this errno instead of reaching the
 *   call_fail_count  device, call_fail_count times (0: every time)
 *   break_device     writing 1 marks every device broken, as the virtio
 *                    ring does when a device breaks the protocol
 *   needs_reset      writing 1 makes every device act as if it had set
 *                    VIRTIO_CONFIG_S_NEEDS_RESET
 */
#ifndef _VTFS_FAULT_H
#define _VTFS_FAULT_H

#include <linux/types.h>

struct dentry;

#ifdef VTFS_FAULT_INJECTION
bool vtfs_fault_ring_full(void);
bool vtfs_fault_alloc(void);
bool vtfs_fault_hold(u32 opcode);
int vtfs_fault_call(u32 opcode);
void vtfs_fault_init(struct dentry *root);
#else
static inline bool vtfs_fault_ring_full(void)
{
	return false;
}

static inline bool vtfs_fault_alloc(void)
{
	return false;
}

static inline bool vtfs_fault_hold(u32 opcode)
{
	return false;
}

static inline int vtfs_fault_call(u32 opcode)
{
	return 0;
}

static inline void vtfs_fault_init(struct dentry *root)
{
}
#endif

#endif /* _VTFS_FAULT_H */
