/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lockcheck.h: a reference model of one owner's POSIX lock ranges, and the
 * checker that runs the tracker (locks.c) and the model side by side.
 * Shared by the fuzzer (fuzz_locks.c) and the unit test (test_locks.c).
 *
 * The model is the naive definition: a step function over all of
 * [0, 2^64 - 1] giving each byte "unlocked", "read" or "write". It is kept
 * canonical (pieces sorted, consecutive pieces of different values), so
 * the tracker's ranges must be exactly its locked pieces: same count, same
 * bounds, same types. Setting [s, e] to a value cuts the pieces at s and
 * e + 1; nothing else. It is updated in place (binary search, memmove) so
 * that requests on thousands of ranges stay cheap; test_locks.c checks it
 * against a copy-everything version and against an array of bytes.
 *
 * Every failed expectation prints what differed and aborts.
 */
#ifndef _VTFS_LOCKCHECK_H
#define _VTFS_LOCKCHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"

#define LM_NONE (-1)
#define LM_OFFSET_MAX 0x7fffffffffffffffULL
#define LM_U64_MAX 0xffffffffffffffffULL
/* Pieces: at most two per range plus one; room for a plan's two more. */
#define LM_CAP (2 * VTFS_MAX_RANGES + 16)

struct lm {
	unsigned int n;		/* pieces; pt[0] == 0 */
	unsigned int nranges;	/* pieces that are locked */
	u64 pt[LM_CAP];		/* first byte of each piece, ascending */
	signed char val[LM_CAP];	/* LM_NONE, VTFS_RDLCK or VTFS_WRLCK */
};

static void lm_init(struct lm *m)
{
	m->n = 1;
	m->nranges = 0;
	m->pt[0] = 0;
	m->val[0] = LM_NONE;
}

/* The first piece that starts after @x (1..n, as pt[0] == 0). */
static unsigned int lm_upper(const struct lm *m, u64 x)
{
	unsigned int lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->pt[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Setting [s, e] to a value: pieces [i, j) go, at most two new ones come
 * (s, value) and (e + 1, what was at e + 1), each only when it differs
 * from the piece before it; piece j goes too when it no longer differs.
 * Planned first, so that a refused request leaves the model as it was.
 */
struct lm_plan {
	unsigned int i, j, nmid, nranges;
	u64 pt[2];
	signed char val[2];
};

static void lm_plan(const struct lm *m, struct lm_plan *p, u64 s, u64 e,
		    int val)
{
	int last = -2;		/* differs from every value */
	unsigned int k;

	p->i = s ? lm_upper(m, s - 1) : 0;
	p->j = e == LM_U64_MAX ? m->n : lm_upper(m, e + 1);
	p->nmid = 0;
	if (p->i)
		last = m->val[p->i - 1];
	if (val != last) {
		p->pt[p->nmid] = s;
		p->val[p->nmid++] = (signed char)val;
		last = val;
	}
	if (e != LM_U64_MAX && m->val[p->j - 1] != last) {
		last = m->val[p->j - 1];	/* what was at e + 1 */
		p->pt[p->nmid] = e + 1;
		p->val[p->nmid++] = (signed char)last;
	}
	if (p->j < m->n && m->val[p->j] == last)
		p->j++;
	p->nranges = m->nranges;
	for (k = p->i; k < p->j; k++)
		p->nranges -= m->val[k] != LM_NONE;
	for (k = 0; k < p->nmid; k++)
		p->nranges += p->val[k] != LM_NONE;
}

static void lm_commit(struct lm *m, const struct lm_plan *p)
{
	unsigned int n = m->n - (p->j - p->i) + p->nmid;

	if (n > LM_CAP) {
		fprintf(stderr, "lockcheck: model overflow\n");
		abort();
	}
	memmove(&m->pt[p->i + p->nmid], &m->pt[p->j],
		(m->n - p->j) * sizeof(m->pt[0]));
	memmove(&m->val[p->i + p->nmid], &m->val[p->j],
		(m->n - p->j) * sizeof(m->val[0]));
	memcpy(&m->pt[p->i], p->pt, p->nmid * sizeof(p->pt[0]));
	memcpy(&m->val[p->i], p->val, p->nmid * sizeof(p->val[0]));
	m->n = n;
	m->nranges = p->nranges;
}

static void lm_dump(const struct lm *m, const struct vtfs_ranges *rs)
{
	unsigned int i;

	fprintf(stderr, "model (%u pieces):\n", m->n);
	for (i = 0; i < m->n && i < 64; i++)
		fprintf(stderr, "  from %#" PRIx64 ": %d\n", m->pt[i], m->val[i]);
	fprintf(stderr, "tracker (%u ranges, cap %u):\n", rs->nr, rs->cap);
	for (i = 0; i < rs->nr && i < 64; i++)
		fprintf(stderr, "  [%#" PRIx64 ", %#" PRIx64 "] %u\n",
			rs->r[i].start, rs->r[i].end, rs->r[i].type);
}

/* 0 when the tracker holds exactly the model's locked pieces. */
static int lm_compare(const struct lm *m, const struct vtfs_ranges *rs)
{
	unsigned int i, j = 0;

	for (i = 0; i < m->n; i++) {
		u64 end = i + 1 < m->n ? m->pt[i + 1] - 1 : LM_U64_MAX;

		if (m->val[i] == LM_NONE)
			continue;
		if (j >= rs->nr || rs->r[j].start != m->pt[i] ||
		    rs->r[j].end != end || rs->r[j].type != (u32)m->val[i])
			return -1;
		j++;
	}
	return j == rs->nr ? 0 : -1;
}

/* ------------------------------------------------------------ checker */

/* Allocation failure injection (shim.h, VTFS_FUZZ_FAILALLOC). */
static int lt_fail_next;	/* fail the next allocation */
static int lt_alloc_failed;	/* ... and it did */

#undef reallocarray
void *vtfs_fuzz_reallocarray(void *p, size_t n, size_t size)
{
	if (lt_fail_next) {
		lt_fail_next = 0;
		lt_alloc_failed = 1;
		return NULL;
	}
	return reallocarray(p, n, size);
}

struct lt {
	struct vtfs_ranges rs;
	struct lm *m;		/* what the tracker must hold */
	unsigned long steps;
	u64 last_s, last_e;	/* the previous request, for the decoders */
};

static struct lt *lt_new(void)
{
	struct lt *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->m = malloc(sizeof(*t->m));
	if (!t->m)
		abort();
	lm_init(t->m);
	return t;
}

static void lt_free(struct lt *t)
{
	vtfs_ranges_free(&t->rs);
	if (t->rs.r || t->rs.nr || t->rs.cap)
		abort();
	free(t->m);
	free(t);
}

static void lt_fail(struct lt *t, const char *what, u64 s, u64 e, u32 type,
		    int ret, int want)
{
	fprintf(stderr,
		"lockcheck: step %lu: apply [%#" PRIx64 ", %#" PRIx64
		"] type %u returned %d (want %d): %s\n",
		t->steps, s, e, type, ret, want, what);
	lm_dump(t->m, &t->rs);
	abort();
}

/*
 * One request: apply it to the tracker and the model, check the result,
 * the invariants and (when @compare) that both hold the same ranges.
 * @fail_alloc: make the tracker's allocation fail, if it allocates.
 */
static int lt_step(struct lt *t, u64 s, u64 e, u32 type, int fail_alloc,
		   int compare)
{
	struct vtfs_range *old_r = t->rs.r;
	unsigned int old_nr = t->rs.nr, old_cap = t->rs.cap;
	struct lm_plan plan;
	int ret, want;

	t->steps++;
	if (s <= e) {
		t->last_s = s;
		t->last_e = e;
	}
	lt_fail_next = fail_alloc;
	lt_alloc_failed = 0;
	ret = vtfs_ranges_apply(&t->rs, s, e, type);
	lt_fail_next = 0;

	if (s > e || type > VTFS_UNLCK) {
		want = -EINVAL;
	} else {
		lm_plan(t->m, &plan, s, e,
			type == VTFS_UNLCK ? LM_NONE : (int)type);
		if (plan.nranges > VTFS_MAX_RANGES)
			want = -ENOSPC;
		else if (lt_alloc_failed)
			want = -ENOMEM;
		else
			want = 0;
	}
	if (ret != want)
		lt_fail(t, "unexpected result", s, e, type, ret, want);
	if (lt_alloc_failed && want != -ENOMEM)
		lt_fail(t, "allocated when it had no need", s, e, type, ret,
			want);
	if (ret) {
		/* On error the ranges are unchanged, to the pointer. */
		if (t->rs.r != old_r || t->rs.nr != old_nr ||
		    t->rs.cap != old_cap)
			lt_fail(t, "changed on error", s, e, type, ret, want);
	} else {
		lm_commit(t->m, &plan);
	}
	if (t->rs.cap > VTFS_MAX_RANGES || t->rs.nr > t->rs.cap)
		lt_fail(t, "capacity out of bounds", s, e, type, ret, want);
	if (compare && vtfs_ranges_check(&t->rs))
		lt_fail(t, "vtfs_ranges_check() failed", s, e, type, ret,
			want);
	if (compare && lm_compare(t->m, &t->rs))
		lt_fail(t, "tracker and model differ", s, e, type, ret, want);
	return ret;
}

static void lt_check(struct lt *t)
{
	if (vtfs_ranges_check(&t->rs))
		lt_fail(t, "vtfs_ranges_check() failed", 0, 0, 0, 0, 0);
	if (lm_compare(t->m, &t->rs))
		lt_fail(t, "tracker and model differ", 0, 0, 0, 0, 0);
}

/* ------------------------------------------------------------ decoder */

/*
 * The fuzzer's input as requests. One opcode byte, then its operands:
 *   bits 0-1  type: 0 read, 1 write, 2 unlock, 3 invalid (one more byte)
 *   bits 2-6  how start and end are chosen (a small window, the huge
 *             offsets OFFSET_MAX and 2^64 - 1, raw 64-bit values, next
 *             to the previous request, or a burst of up to 64 ranges)
 *   bit 7     make the tracker's allocation fail, if it allocates
 * Missing bytes read as 0.
 */
struct lt_in {
	const u8 *p;
	size_t n;
};

static u8 lt_u8(struct lt_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static u64 lt_u64(struct lt_in *in)
{
	u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (u64)lt_u8(in) << (8 * i);
	return v;
}

static const u64 lt_special[] = {
	0, 1, 2, 63, 64, 4095, 4096,
	LM_OFFSET_MAX - 1, LM_OFFSET_MAX, LM_OFFSET_MAX + 1,
	LM_U64_MAX - 2, LM_U64_MAX - 1, LM_U64_MAX,
};

#define LT_NSPECIAL (sizeof(lt_special) / sizeof(*lt_special))

/* Window of the "small" requests; the unit test's byte model covers it. */
#define LT_WINDOW 64

/* Run one input. Returns the number of requests applied. */
static unsigned long lt_run(struct lt *t, const u8 *data, size_t size)
{
	struct lt_in in = { data, size };
	unsigned long n = 0;

	while (in.n) {
		u8 c = lt_u8(&in);
		unsigned int kind = (c >> 2) & 31;
		int fail = c >> 7;
		u32 type = c & 3;
		u64 s, e;

		if (type == 3) {
			u8 b = lt_u8(&in);	/* an invalid type */

			type = b == 255 ? 0xffffffffu : 3u + b;
		}
		if (kind < 12) {
			s = lt_u8(&in) % LT_WINDOW;
			e = s + lt_u8(&in) % 16;
		} else if (kind < 14) {
			s = lt_u8(&in) % LT_WINDOW;	/* either order */
			e = lt_u8(&in) % LT_WINDOW;
		} else if (kind < 16) {
			s = lt_u8(&in) % LT_WINDOW;
			e = LM_OFFSET_MAX;
		} else if (kind < 18) {
			s = lt_u8(&in) % LT_WINDOW;
			e = LM_U64_MAX;
		} else if (kind == 18) {
			u8 b = lt_u8(&in);

			s = LM_OFFSET_MAX - 2 + b % 5;
			if (((b >> 3) & 3) == 0)
				e = LM_OFFSET_MAX;
			else if (((b >> 3) & 3) == 1)
				e = LM_U64_MAX;
			else
				e = s + (b >> 5);
		} else if (kind == 19) {
			s = LM_U64_MAX - lt_u8(&in) % 4;
			e = LM_U64_MAX - lt_u8(&in) % 4;
		} else if (kind == 20) {
			s = lt_special[lt_u8(&in) % LT_NSPECIAL];
			e = lt_special[lt_u8(&in) % LT_NSPECIAL];
		} else if (kind == 21) {
			s = lt_u64(&in);
			e = lt_u64(&in);
		} else if (kind == 22) {
			s = lt_u64(&in);
			e = s + lt_u8(&in);	/* may wrap: then s > e */
		} else if (kind == 23) {
			/*
			 * A burst: up to 64 separate ranges, from the top down
			 * (the tracker scans its ranges from the lowest, so
			 * requests below the others cost it least). Bursts are
			 * kept small because each request costs the tracker a
			 * scan of its ranges and the fuzzer is quick to pile
			 * up bursts; the unit test takes the tracker to
			 * VTFS_MAX_RANGES.
			 */
			u64 base = (u64)lt_u8(&in) * 64;
			unsigned int count = 1 + lt_u8(&in) % 64;
			unsigned int stride = 2 + lt_u8(&in) % 3, i;

			for (i = count; i-- > 0;) {
				u32 ty = type;

				if (type > VTFS_UNLCK)
					ty = i & 1;
				s = base + (u64)i * stride;
				lt_step(t, s, s + stride - 2, ty, 0, 0);
				n++;
			}
			lt_check(t);
			continue;
		} else if (kind < 28) {
			/* Right after the previous request. */
			s = t->last_e == LM_U64_MAX ? t->last_e : t->last_e + 1;
			e = s + lt_u8(&in) % 8;
			if (e < s)
				e = LM_U64_MAX;
		} else if (kind < 30) {
			/* Right before it. */
			u64 d = lt_u8(&in) % 8;

			e = t->last_s ? t->last_s - 1 : 0;
			s = e - (d > e ? e : d);
		} else {
			/* The same bytes again (another type, or unlock). */
			s = t->last_s;
			e = t->last_e;
		}
		lt_step(t, s, e, type, fail, 1);
		n++;
	}
	lt_check(t);
	return n;
}

#endif /* _VTFS_LOCKCHECK_H */
