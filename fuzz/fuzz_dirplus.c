// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_dirplus: READDIRPLUS parsing and id translation (vtfs_walk_dirplus)
 * and READDIR checking (vtfs_check_dirents), reply.c.
 *
 * Input: one control byte, then the reply's entries as the device wrote
 * them. Control bits 0-3: the callback fails (-EXDEV) at that entry (1..15;
 * 0: never).
 *
 * The entries are copied into a buffer of exactly their length (malloc:
 * 8-byte aligned like the kernel's page, and AddressSanitizer catches any
 * read past the end), then walked with a callback that does what state.c
 * does: it maps device ids to core ids (here: xor with a constant; 0 stays
 * 0) and clears the id of "." and "..". Checked:
 *   - each entry handed to the callback lies whole inside the buffer,
 *     right after the previous one, and has 1..1024 name bytes without
 *     '/' or NUL;
 *   - the walk's verdict and the entries it visits agree with an
 *     independent parser (written here from the protocol, not from
 *     reply.c), and a failing callback stops the walk with its error;
 *   - the walk wrote nothing but the callback's nodeids;
 *   - after a successful walk a second one visits the same entries and
 *     sees the mapped ids.
 * vtfs_check_dirents() runs on the same bytes (another exact copy) and must
 * agree with the independent parser for READDIR entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_dirplus: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define MAP_KEY 0x5a5a00000000a5a5ULL
#define MAX_ENTRIES 65536

static u64 map_id(u64 id)
{
	return id == MAP_KEY ? id : id ^ MAP_KEY;	/* 0 stays 0 */
}

/* ------------------------------------------------------------ reference */

static u32 get_u32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int name_ok(const u8 *name, u64 len)
{
	u64 i;

	if (len < 1 || len > 1024)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == 0)
			return 0;
	return 1;
}

/*
 * Entries of @len bytes whose names start @name_off bytes into each entry
 * and whose name length is the u32 at @namelen_off: each record is the
 * name's end rounded up to 8 bytes and must fit whole. Returns 1 when all
 * are valid; *@nvalid gets the number of valid entries before the first
 * bad one (or all of them) and @offs their offsets.
 */
static int ref_parse(const u8 *buf, u64 len, u64 name_off, u64 namelen_off,
		     u32 *offs, u32 *nvalid)
{
	u64 off = 0, namelen, rec;

	*nvalid = 0;
	while (off < len) {
		if (len - off < name_off)
			return 0;
		namelen = get_u32(buf + off + namelen_off);
		rec = (name_off + namelen + 7) & ~7ULL;
		if (off + rec > len || !name_ok(buf + off + name_off, namelen))
			return 0;
		if (offs && *nvalid < MAX_ENTRIES)
			offs[*nvalid] = (u32)off;
		(*nvalid)++;
		off += rec;
	}
	return 1;
}

/* ------------------------------------------------------------ callbacks */

struct seen {
	u32 off, namelen;
	u64 id;		/* the device's id (walk 1), or the mapped one */
};

struct walk {
	u8 *buf;
	u32 len;
	u32 next_off;		/* where the next entry must start */
	unsigned int n;		/* entries visited */
	unsigned int fail_at;	/* fail at this entry (1-based), 0: never */
	int second;		/* the second walk: check, do not map */
	struct seen *seen;
};

static int is_dot(const char *name, u32 len)
{
	return (len == 1 && name[0] == '.') ||
	       (len == 2 && name[0] == '.' && name[1] == '.');
}

static int cb(void *ctx, struct fuse_direntplus *dp)
{
	struct walk *w = ctx;
	const u8 *p = (const u8 *)dp;
	u64 off, namelen = dp->dirent.namelen;
	u64 rec = FUSE_DIRENTPLUS_SIZE(dp);
	u32 i;

	/* Whole inside the buffer, right after the previous entry. */
	CHECK(p >= w->buf && p < w->buf + w->len);
	off = (u64)(p - w->buf);
	CHECK(off == w->next_off);
	CHECK(off % 8 == 0);
	CHECK(off + FUSE_NAME_OFFSET_DIRENTPLUS + namelen <= w->len);
	CHECK(off + rec <= w->len);
	/* A name the fuse core may use. */
	CHECK(namelen >= 1 && namelen <= VTFS_NAME_MAX);
	for (i = 0; i < namelen; i++)
		CHECK(dp->dirent.name[i] != '/' && dp->dirent.name[i] != '\0');
	CHECK(w->n < MAX_ENTRIES);

	if (w->second) {
		CHECK(w->seen[w->n].off == off);
		CHECK(w->seen[w->n].namelen == namelen);
		CHECK(dp->entry_out.nodeid == w->seen[w->n].id);
	} else {
		u64 id = dp->entry_out.nodeid;

		w->seen[w->n].off = (u32)off;
		w->seen[w->n].namelen = (u32)namelen;
		if (is_dot(dp->dirent.name, dp->dirent.namelen))
			dp->entry_out.nodeid = 0;
		else
			dp->entry_out.nodeid = map_id(id);
		w->seen[w->n].id = dp->entry_out.nodeid;
	}
	w->n++;
	w->next_off = (u32)(off + rec);
	if (w->fail_at && w->n == w->fail_at)
		return -EXDEV;
	return 0;
}

/* ------------------------------------------------------------ target */

static void fuzz_dirplus(const u8 *data, u32 len, unsigned int fail_at,
			 struct seen *seen, u32 *offs)
{
	struct walk w = { 0 };
	u32 nvalid, i;
	int ok, ret;
	u8 *buf = malloc(len);
	u8 *want = malloc(len);

	CHECK(buf && want);
	memcpy(buf, data, len);
	ok = ref_parse(data, len, FUSE_NAME_OFFSET_DIRENTPLUS,
		       offsetof(struct fuse_direntplus, dirent.namelen),
		       offs, &nvalid);

	/* Without a callback: only the verdict. */
	ret = vtfs_walk_dirplus(buf, len, NULL, NULL);
	CHECK(ret == (ok ? 0 : -EBADMSG));
	CHECK(!memcmp(buf, data, len));

	w.buf = buf;
	w.len = len;
	w.fail_at = fail_at;
	w.seen = seen;
	ret = vtfs_walk_dirplus(buf, len, cb, &w);
	if (fail_at && fail_at <= nvalid) {
		CHECK(ret == -EXDEV);
		CHECK(w.n == fail_at);
	} else if (ok) {
		CHECK(ret == 0);
		CHECK(w.n == nvalid);
		CHECK(w.next_off == len);	/* no bytes left over */
	} else {
		CHECK(ret == -EBADMSG);
		CHECK(w.n == nvalid);
	}
	for (i = 0; i < w.n && i < MAX_ENTRIES; i++)
		CHECK(seen[i].off == offs[i]);

	/* Nothing written but the visited entries' nodeids. */
	memcpy(want, data, len);
	for (i = 0; i < w.n; i++)
		memcpy(want + seen[i].off +
		       offsetof(struct fuse_direntplus, entry_out.nodeid),
		       &seen[i].id, sizeof(u64));
	CHECK(!memcmp(buf, want, len));

	if (!ret) {
		unsigned int n = w.n;

		w.n = 0;
		w.next_off = 0;
		w.fail_at = 0;
		w.second = 1;
		CHECK(vtfs_walk_dirplus(buf, len, cb, &w) == 0);
		CHECK(w.n == n);
		CHECK(!memcmp(buf, want, len));
	}
	free(want);
	free(buf);
}

static void fuzz_dirents(const u8 *data, u32 len)
{
	u32 nvalid;
	u8 *buf = malloc(len);
	int ok, ret;

	CHECK(buf);
	memcpy(buf, data, len);
	ok = ref_parse(data, len, FUSE_NAME_OFFSET,
		       offsetof(struct fuse_dirent, namelen), NULL, &nvalid);
	ret = vtfs_check_dirents(buf, len);
	CHECK(ret == (ok ? 0 : -EBADMSG));
	CHECK(!memcmp(buf, data, len));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen seen[MAX_ENTRIES];
	static u32 offs[MAX_ENTRIES];
	u32 len;

	if (!size || size > 1u << 20)
		return 0;
	len = (u32)(size - 1);
	fuzz_dirplus(data + 1, len, data[0] & 15, seen, offs);
	fuzz_dirents(data + 1, len);
	return 0;
}
