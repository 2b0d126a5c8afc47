// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_fs.ko: byte-range lock tracking (see locks.h).
 */

#ifdef VTFS_USERSPACE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define vtfs_realloc_array(p, n, size) reallocarray(p, n, size)
#define vtfs_free(p) free(p)
#else
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/string.h>
#define vtfs_realloc_array(p, n, size) krealloc_array(p, n, size, GFP_NOIO)
#define vtfs_free(p) kfree(p)
#endif

#include "locks.h"

static int vtfs_ranges_reserve(struct vtfs_ranges *rs, unsigned int nr)
{
	struct vtfs_range *r;
	unsigned int cap;

	if (nr <= rs->cap)
		return 0;
	if (nr > VTFS_MAX_RANGES)
		return -ENOSPC;
	cap = rs->cap ? rs->cap * 2 : 4;
	if (cap < nr)
		cap = nr;
	r = vtfs_realloc_array(rs->r, cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rs->r = r;
	rs->cap = cap;
	return 0;
}

/* Whether @b starts right after @a ends, or overlaps it. */
static int vtfs_touches(const struct vtfs_range *a, const struct vtfs_range *b)
{
	return a->end == (u64)-1 || b->start <= a->end + 1;
}

/**
 * vtfs_ranges_apply() - record a lock or unlock request that succeeded
 * @rs: the owner's ranges
 * @start: first byte of the request
 * @end: last byte of the request (inclusive)
 * @type: VTFS_RDLCK, VTFS_WRLCK or VTFS_UNLCK
 *
 * Context: process; may allocate.
 * Return: 0, -EINVAL for a bad range or type, -ENOMEM or -ENOSPC; on error
 * @rs is unchanged.
 */
int vtfs_ranges_apply(struct vtfs_ranges *rs, u64 start, u64 end, u32 type)
{
	struct vtfs_range *r = rs->r;
	unsigned int first, last, i, nr, keep_left, keep_right, insert;
	struct vtfs_range left, right;
	int ret;

	if (start > end || type > VTFS_UNLCK)
		return -EINVAL;

	/* [first, last) are the ranges that touch or overlap [start, end]. */
	for (first = 0; first < rs->nr; first++) {
		if (r[first].end >= start ||
		    (r[first].end + 1 == start && r[first].type == type))
			break;
	}
	for (last = first; last < rs->nr; last++) {
		if (r[last].start > end &&
		    !(r[last].start == end + 1 && r[last].type == type &&
		      end != (u64)-1))
			break;
	}

	insert = type != VTFS_UNLCK;
	keep_left = 0;
	keep_right = 0;
	if (first < last) {
		left = r[first];
		right = r[last - 1];
		if (insert && left.type == type && left.start < start)
			start = left.start;
		else if (left.start < start)
			keep_left = 1;
		if (insert && right.type == type && right.end > end)
			end = right.end;
		else if (right.end > end)
			keep_right = 1;
		if (keep_left)
			left.end = start - 1;
		if (keep_right)
			right.start = end + 1;
	}

	nr = rs->nr - (last - first) + keep_left + insert + keep_right;
	ret = vtfs_ranges_reserve(rs, nr);
	if (ret)
		return ret;
	r = rs->r;

	/* Nothing held and nothing to hold: done (r may be NULL). */
	if (!nr && !rs->nr)
		return 0;
	/* Move the ranges after the touched ones, then write the middle. */
	i = first + keep_left + insert + keep_right;
	if (rs->nr > last)
		memmove(&r[i], &r[last], (rs->nr - last) * sizeof(*r));
	i = first;
	if (keep_left)
		r[i++] = left;
	if (insert) {
		r[i].start = start;
		r[i].end = end;
		r[i].type = type;
		i++;
	}
	if (keep_right)
		r[i++] = right;
	rs->nr = nr;
	return 0;
}

/**
 * vtfs_ranges_free() - forget every range
 * @rs: the owner's ranges
 *
 * Context: any.
 */
void vtfs_ranges_free(struct vtfs_ranges *rs)
{
	vtfs_free(rs->r);
	rs->r = NULL;
	rs->nr = 0;
	rs->cap = 0;
}

/**
 * vtfs_ranges_check() - verify the invariants (for tests and fuzzing)
 * @rs: the owner's ranges
 *
 * Return: 0 when sorted, disjoint, not mergeable and well-formed, else -1.
 */
int vtfs_ranges_check(const struct vtfs_ranges *rs)
{
	unsigned int i;

	if (rs->nr > rs->cap)
		return -1;
	for (i = 0; i < rs->nr; i++) {
		const struct vtfs_range *a = &rs->r[i];

		if (a->start > a->end || a->type > VTFS_WRLCK)
			return -1;
		if (i + 1 < rs->nr) {
			const struct vtfs_range *b = &rs->r[i + 1];

			if (b->start <= a->end)
				return -1;
			if (a->type == b->type && vtfs_touches(a, b))
				return -1;
		}
	}
	return 0;
}
