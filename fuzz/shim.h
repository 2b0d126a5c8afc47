/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim.h: what reply.c and locks.c need from the kernel, in userspace.
 *
 * Included first (-include fuzz/shim.h) with -DVTFS_USERSPACE. The driver's
 * files then include libc's errno.h, string.h and stdlib.h themselves;
 * this only adds the kernel's fixed-width types, bool and offsetof (which
 * <linux/fuse.h>'s FUSE_NAME_OFFSET macros use).
 *
 * VTFS_FUZZ_FAILALLOC: the allocation of locks.c (reallocarray) goes
 * through vtfs_fuzz_reallocarray(), which the test defines, so a test can
 * make one allocation fail and check that the tracker is left unchanged.
 */
#ifndef _VTFS_FUZZ_SHIM_H
#define _VTFS_FUZZ_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
typedef int64_t s64;
typedef int32_t s32;

#ifdef VTFS_FUZZ_FAILALLOC
void *vtfs_fuzz_reallocarray(void *p, size_t n, size_t size);
#define reallocarray(p, n, size) vtfs_fuzz_reallocarray(p, n, size)
#endif

#endif /* _VTFS_FUZZ_SHIM_H */
