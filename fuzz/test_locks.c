// SPDX-License-Identifier: GPL-2.0
/*
 * test_locks: a deterministic test of the lock-range tracker (locks.c),
 * without libFuzzer (built with gcc and the sanitizers).
 *
 *   test_locks [-n OPS] [-s SEED]
 *
 * 1. Named cases with their expected ranges written out.
 * 2. A property test: OPS random requests (default 100000, in sequences of
 *    1..64 on a fresh tracker) from a fixed seed, each checked against the
 *    reference model of lockcheck.h (result, invariants, exact ranges) and,
 *    inside a window of LT_WINDOW bytes, against a plain array of bytes;
 *    the model's in-place update is checked against its copying
 *    definition, and both against the array of bytes.
 * 3. Random byte strings through the fuzzer's decoder (lt_run), which adds
 *    bursts of ranges and failed allocations.
 * 4. Trackers filled close to VTFS_MAX_RANGES, then random requests that
 *    split and merge there (-ENOSPC, nothing changed).
 *
 * Prints one line per part and exits non-zero at the first failure (the
 * checker aborts with the details).
 */
#include <getopt.h>

#include "lockcheck.h"

static u64 rng_state;

static u64 rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
	return rnd() % n;
}

/* ------------------------------------------------------------ named cases */

struct want {
	u64 s, e;
	u32 type;
};

static int cases_failed;

static void expect(struct lt *t, const char *name, const struct want *w,
		   unsigned int n)
{
	unsigned int i;

	lt_check(t);
	if (t->rs.nr != n)
		goto bad;
	for (i = 0; i < n; i++)
		if (t->rs.r[i].start != w[i].s || t->rs.r[i].end != w[i].e ||
		    t->rs.r[i].type != w[i].type)
			goto bad;
	return;
bad:
	fprintf(stderr, "test_locks: case \"%s\": unexpected ranges\n", name);
	lm_dump(t->m, &t->rs);
	cases_failed++;
}

#define RD VTFS_RDLCK
#define WR VTFS_WRLCK
#define UN VTFS_UNLCK
#define OMAX LM_OFFSET_MAX
#define UMAX LM_U64_MAX
#define EXPECT(t, name, ...)						\
	do {								\
		static const struct want w_[] = { __VA_ARGS__ };	\
		expect(t, name, w_, sizeof(w_) / sizeof(w_[0]));	\
	} while (0)
#define EXPECT_NONE(t, name) expect(t, name, NULL, 0)

static void named_cases(void)
{
	struct lt *t;
	unsigned int i;

	t = lt_new();
	lt_step(t, 10, 19, RD, 0, 1);
	lt_step(t, 20, 29, RD, 0, 1);
	EXPECT(t, "adjacent read locks merge", { 10, 29, RD });
	lt_step(t, 15, 24, WR, 0, 1);
	EXPECT(t, "a write lock inside splits", { 10, 14, RD }, { 15, 24, WR },
	       { 25, 29, RD });
	lt_step(t, 15, 24, RD, 0, 1);
	EXPECT(t, "the same bytes back to read merge all", { 10, 29, RD });
	lt_step(t, 12, 12, UN, 0, 1);
	EXPECT(t, "an unlock punches a hole", { 10, 11, RD }, { 13, 29, RD });
	lt_step(t, 0, UMAX, UN, 0, 1);
	EXPECT_NONE(t, "unlock everything");
	lt_free(t);

	t = lt_new();
	lt_step(t, 0, 4, RD, 0, 1);
	lt_step(t, 5, 9, WR, 0, 1);
	EXPECT(t, "adjacent, different types stay apart", { 0, 4, RD },
	       { 5, 9, WR });
	lt_step(t, 5, 7, RD, 0, 1);
	EXPECT(t, "read over the start of a write", { 0, 7, RD },
	       { 8, 9, WR });
	lt_free(t);

	t = lt_new();
	lt_step(t, 100, OMAX, WR, 0, 1);
	EXPECT(t, "to OFFSET_MAX", { 100, OMAX, WR });
	lt_step(t, OMAX + 1, UMAX, WR, 0, 1);
	EXPECT(t, "past OFFSET_MAX merges", { 100, UMAX, WR });
	lt_step(t, OMAX, OMAX, UN, 0, 1);
	EXPECT(t, "a hole at OFFSET_MAX", { 100, OMAX - 1, WR },
	       { OMAX + 1, UMAX, WR });
	lt_step(t, UMAX, UMAX, RD, 0, 1);
	EXPECT(t, "the last byte", { 100, OMAX - 1, WR },
	       { OMAX + 1, UMAX - 1, WR }, { UMAX, UMAX, RD });
	lt_step(t, 0, UMAX, RD, 0, 1);
	EXPECT(t, "all bytes", { 0, UMAX, RD });
	lt_step(t, 0, 0, UN, 0, 1);
	lt_step(t, UMAX, UMAX, UN, 0, 1);
	EXPECT(t, "all but the first and last", { 1, UMAX - 1, RD });
	lt_free(t);

	t = lt_new();
	if (lt_step(t, 5, 4, RD, 0, 1) != -EINVAL ||
	    lt_step(t, 0, 1, 3, 0, 1) != -EINVAL ||
	    lt_step(t, UMAX, 0, UN, 0, 1) != -EINVAL)
		cases_failed++;
	EXPECT_NONE(t, "invalid requests change nothing");
	if (lt_step(t, 0, 9, WR, 1, 1) != -ENOMEM)
		cases_failed++;
	EXPECT_NONE(t, "a failed allocation changes nothing");
	lt_free(t);

	/*
	 * The limit: VTFS_MAX_RANGES ranges (single bytes of alternate types,
	 * then a wide one), then -ENOSPC for one more or for a split.
	 */
	t = lt_new();
	for (i = 0; i < VTFS_MAX_RANGES - 1; i++)
		lt_step(t, 2 * i, 2 * i, i & 1, 0, 0);
	lt_step(t, 2 * i, 2 * i + 10, RD, 0, 1);
	if (t->rs.nr != VTFS_MAX_RANGES ||
	    lt_step(t, 2 * i + 100, 2 * i + 100, RD, 0, 1) != -ENOSPC ||
	    lt_step(t, 2 * i + 5, 2 * i + 5, UN, 0, 1) != -ENOSPC ||
	    lt_step(t, 2 * i + 5, 2 * i + 5, WR, 0, 1) != -ENOSPC ||
	    lt_step(t, 0, 0, UN, 0, 1) != 0 ||
	    lt_step(t, 2 * i + 5, 2 * i + 5, UN, 0, 1) != 0 ||
	    t->rs.nr != VTFS_MAX_RANGES ||
	    lt_step(t, 2 * i + 5, 2 * i + 5, RD, 0, 1) != 0 ||
	    lt_step(t, 0, UMAX, WR, 0, 1) != 0 || t->rs.nr != 1) {
		fprintf(stderr, "test_locks: case \"limit\" failed\n");
		cases_failed++;
	}
	lt_free(t);

	/* Once a bug (fuzz/crashes/README): memmove(NULL) when nothing held. */
	t = lt_new();
	lt_step(t, 0, 9, UN, 0, 1);
	EXPECT_NONE(t, "an unlock on ranges that never held one");
	lt_free(t);

	printf("# named cases: %s\n", cases_failed ? "FAILED" : "ok");
}

/* ------------------------------------------------------------ properties */

static int lm_value_at(const struct lm *m, u64 x)
{
	return m->val[lm_upper(m, x) - 1];
}

/*
 * The model by its definition, copying everything: @out = @in with every
 * byte of [s, e] set to @val (s <= e). lockcheck.h's in-place update must
 * give the same pieces.
 */
static void ref_push(struct lm *m, u64 pt, int val)
{
	if (m->n && m->val[m->n - 1] == val)
		return;			/* same value: not a new piece */
	if (m->n >= LM_CAP)
		abort();
	m->pt[m->n] = pt;
	m->val[m->n] = (signed char)val;
	m->n++;
	m->nranges += val != LM_NONE;
}

static void ref_set(const struct lm *in, struct lm *out, u64 s, u64 e,
		    int val)
{
	int after = e == LM_U64_MAX ? LM_NONE : lm_value_at(in, e + 1);
	unsigned int i;

	out->n = 0;
	out->nranges = 0;
	for (i = 0; i < in->n && in->pt[i] < s; i++)
		ref_push(out, in->pt[i], in->val[i]);
	ref_push(out, s, val);
	if (e == LM_U64_MAX)
		return;
	ref_push(out, e + 1, after);
	for (; i < in->n; i++)
		if (in->pt[i] > e + 1)
			ref_push(out, in->pt[i], in->val[i]);
}

static void ref_compare(const struct lm *ref, const struct lm *m)
{
	unsigned int i;

	if (ref->n != m->n || ref->nranges != m->nranges || m->pt[0] != 0)
		goto bad;
	for (i = 0; i < m->n; i++) {
		if (ref->pt[i] != m->pt[i] || ref->val[i] != m->val[i])
			goto bad;
		if (i && (m->pt[i - 1] >= m->pt[i] ||
			  m->val[i - 1] == m->val[i]))
			goto bad;
	}
	return;
bad:
	fprintf(stderr, "test_locks: the in-place model differs from its definition\n");
	abort();
}

static u64 rnd_offset(void)
{
	static const u64 huge[] = { OMAX - 1, OMAX, OMAX + 1, UMAX - 1, UMAX };

	switch (rnd_below(16)) {
	case 0:
		return huge[rnd_below(5)];
	case 1:
		return rnd();
	default:
		return rnd_below(LT_WINDOW + 8);	/* across the edge */
	}
}

static int byte_type_of(const struct vtfs_ranges *rs, u64 x)
{
	unsigned int i;

	for (i = 0; i < rs->nr; i++)
		if (rs->r[i].start <= x && x <= rs->r[i].end)
			return (int)rs->r[i].type;
	return LM_NONE;
}

static void properties(unsigned long ops)
{
	signed char bytes[LT_WINDOW];
	unsigned long done = 0, seqs = 0, errors = 0;
	u64 x;

	struct lm *ref = malloc(sizeof(*ref)), *tmp = malloc(sizeof(*tmp));

	if (!ref || !tmp)
		abort();
	while (done < ops) {
		struct lt *t = lt_new();
		unsigned int n = 1 + rnd_below(64), i;

		memset(bytes, LM_NONE, sizeof(bytes));
		lm_init(ref);
		for (i = 0; i < n; i++, done++) {
			u64 s = rnd_offset(), e;
			u32 type = rnd_below(3);
			int ret;

			switch (rnd_below(4)) {
			case 0:
				e = rnd_offset();	/* either order */
				break;
			case 1:
				e = rnd_below(2) ? OMAX : UMAX;
				break;
			default:
				e = s + rnd_below(16);
				if (e < s)
					e = UMAX;
				break;
			}
			if (!rnd_below(64))
				type = 3 + rnd_below(100);
			ret = lt_step(t, s, e, type, !rnd_below(32), 1);
			errors += ret != 0;
			if (!ret && s <= e && type <= UN) {
				struct lm *x = ref;

				ref_set(ref, tmp, s, e,
					type == UN ? LM_NONE : (int)type);
				ref = tmp;
				tmp = x;
			}
			ref_compare(ref, t->m);
			if (!ret && s < LT_WINDOW) {
				for (x = s; x < LT_WINDOW && x <= e; x++)
					bytes[x] = type == UN ? LM_NONE :
						   (signed char)type;
			}
			for (x = 0; x < LT_WINDOW; x++) {
				if (byte_type_of(&t->rs, x) != bytes[x] ||
				    lm_value_at(t->m, x) != bytes[x]) {
					fprintf(stderr,
						"test_locks: byte %" PRIu64
						" differs from the byte model\n",
						x);
					lm_dump(t->m, &t->rs);
					abort();
				}
			}
		}
		lt_free(t);
		seqs++;
	}
	free(ref);
	free(tmp);
	printf("# properties: %lu requests in %lu sequences (%lu refused) ok\n",
	       done, seqs, errors);
}

/* ------------------------------------------------------------ decoder */

static void random_inputs(unsigned long inputs)
{
	u8 buf[512];
	unsigned long i, reqs = 0;
	size_t n, j;

	for (i = 0; i < inputs; i++) {
		struct lt *t = lt_new();

		n = rnd_below(sizeof(buf));
		for (j = 0; j < n; j++)
			buf[j] = (u8)rnd();
		reqs += lt_run(t, buf, n);
		lt_free(t);
	}
	printf("# decoder: %lu inputs, %lu requests ok\n", inputs, reqs);
}

/* ------------------------------------------------------------ the limit */

/*
 * Trackers filled close to VTFS_MAX_RANGES (3 bytes of alternate types
 * every 5 bytes, from the top down, which is cheap for the tracker), then
 * random requests over the filled bytes: splits and merges near the
 * limit, some refused with -ENOSPC.
 */
static void near_limit(unsigned int sequences, unsigned int ops)
{
	unsigned long refused = 0;
	unsigned int k, i, fill;

	for (k = 0; k < sequences; k++) {
		struct lt *t = lt_new();

		fill = VTFS_MAX_RANGES - rnd_below(8);
		for (i = fill; i-- > 0;)
			lt_step(t, 5 * i, 5 * i + 2, i & 1, 0, 0);
		lt_check(t);
		for (i = 0; i < ops; i++) {
			u64 s = rnd_below(5 * fill + 16);
			u64 e = s + (rnd_below(16) ? rnd_below(2) : rnd_below(16));
			u32 type = rnd_below(8) ? rnd_below(2) : UN;

			refused += lt_step(t, s, e, type, !rnd_below(32), 1) ==
				   -ENOSPC;
		}
		lt_free(t);
	}
	printf("# near the limit: %u sequences of %u requests (%lu refused with ENOSPC) ok\n",
	       sequences, ops, refused);
}

int main(int argc, char **argv)
{
	unsigned long ops = 100000;
	u64 seed = 0x76746673;	/* "vtfs" */
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		switch (c) {
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n OPS] [-s SEED]\n",
				argv[0]);
			return 2;
		}
	}
	rng_state = seed ? seed : 1;
	printf("# test_locks: seed %#" PRIx64 "\n", seed);
	named_cases();
	properties(ops);
	random_inputs(ops / 50);
	near_limit(20, ops / 500);
	if (cases_failed) {
		printf("test_locks: FAILED\n");
		return 1;
	}
	printf("test_locks: ok\n");
	return 0;
}
