// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_reply: the checks of a reply's header and payload size (reply.c).
 *
 * The input gives a reply header as the device would write it, the used
 * length it reports, the request's id and its reply arguments (sizes, and
 * whether the last one may come shorter). Beyond "no crash" this checks
 * what the two functions promise, both ways (what they accept is valid,
 * what is valid they accept), and then does what queue.c does with an
 * accepted reply: copy the payload out of a device buffer of exactly the
 * header plus the arguments' size into the arguments, and shorten the last
 * one. AddressSanitizer catches a copy past either.
 *
 * Input layout (missing bytes read as 0):
 *   u8  flags     bit 0: the reply answers this request (unique matches)
 *                 bit 1: used = oh.len, bit 2: oh.len = header + payload
 *                 bit 3: the last argument may come shorter (argvar)
 *                 bits 4-5: number of arguments - 1 (1..3; 4 -> 3)
 *   u32 oh.len, s32 oh.error, u64 oh.unique, u64 unique, u32 used
 *   u16 size of each argument (up to 3)
 *   u16 payload   (with flag 2: the payload's length)
 *   then the payload's bytes, as the device wrote them
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

#define OH_SIZE ((u32)sizeof(struct fuse_out_header))

struct in {
	const u8 *p;
	size_t n;
};

static u64 rd(struct in *in, int bytes)
{
	u64 v = 0;
	int i;

	for (i = 0; i < bytes; i++) {
		if (in->n) {
			v |= (u64)*in->p << (8 * i);
			in->p++;
			in->n--;
		}
	}
	return v;
}

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_reply: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void check_header(const struct fuse_out_header *oh, u64 unique,
			 u32 used)
{
	struct fuse_out_header copy = *oh;
	int lengths_ok = used >= OH_SIZE && oh->len >= OH_SIZE &&
			 oh->len <= used;
	int error_ok = oh->error <= 0 && oh->error >= -4095 &&
		       (!oh->error || oh->len == OH_SIZE);
	int ret = vtfs_check_reply_header(oh, unique, used);

	CHECK(!memcmp(&copy, oh, sizeof(copy)));	/* read only */
	CHECK(ret == 0 || ret == -ESRCH || ret == -EBADMSG);
	if (!ret) {
		CHECK(used >= oh->len);
		CHECK(oh->len >= OH_SIZE);
		CHECK(oh->unique == unique);
		CHECK(oh->error <= 0 && oh->error >= -4095);
		CHECK(!oh->error || oh->len == OH_SIZE);	/* no payload */
	}
	if (ret == -ESRCH)
		CHECK(oh->unique != unique && lengths_ok);
	if (ret == -EBADMSG)
		CHECK(!lengths_ok || !error_ok);
	/* What is valid is accepted. */
	if (lengths_ok && error_ok && oh->unique == unique)
		CHECK(ret == 0);
}

static void check_size(u32 payload, u32 capacity, u32 last_size, bool argvar)
{
	int ret = vtfs_check_reply_size(payload, capacity, last_size, argvar);
	int ok = payload == capacity ||
		 (argvar && payload < capacity &&
		  capacity - payload <= last_size);

	CHECK(ret == 0 || ret == -EBADMSG);
	if (!ret) {
		CHECK(payload <= capacity);
		if (!argvar)
			CHECK(payload == capacity);
		else
			CHECK(capacity - payload <= last_size);
	}
	CHECK((ret == 0) == (ok != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct fuse_out_header oh;
	u32 used, arg[3], capacity = 0, payload, i, nargs, reply_len;
	u64 unique;
	u8 flags, *dev, *out[3], *p;
	bool argvar;

	flags = rd(&in, 1);
	oh.len = rd(&in, 4);
	oh.error = (int32_t)rd(&in, 4);
	oh.unique = rd(&in, 8);
	unique = rd(&in, 8);
	used = rd(&in, 4);
	nargs = 1 + ((flags >> 4) & 3);
	if (nargs > 3)
		nargs = 3;
	argvar = flags & 8;
	for (i = 0; i < nargs; i++) {
		arg[i] = rd(&in, 2);
		capacity += arg[i];
	}
	payload = rd(&in, 2);
	if (flags & 1)
		unique = oh.unique;
	if (flags & 4)
		oh.len = OH_SIZE + payload;
	if (flags & 2)
		used = oh.len;

	/* The functions alone, on any values. */
	check_header(&oh, unique, used);
	check_size(oh.len - OH_SIZE, capacity, arg[nargs - 1], argvar);
	check_size(payload, capacity, arg[nargs - 1], argvar);
	check_size(oh.len, oh.error, used, flags & 8);

	/* As queue.c uses them, on a buffer of exactly the reply's room. */
	if (vtfs_check_reply_header(&oh, unique, used) || oh.error)
		return 0;
	if (vtfs_check_reply_size(oh.len - OH_SIZE, capacity, arg[nargs - 1],
				  argvar))
		return 0;
	CHECK(oh.len - OH_SIZE <= capacity);
	reply_len = OH_SIZE + capacity;
	dev = malloc(reply_len);
	CHECK(dev);
	memcpy(dev, &oh, OH_SIZE);
	memset(dev + OH_SIZE, 0, capacity);
	memcpy(dev + OH_SIZE, in.p, in.n < capacity ? in.n : capacity);
	payload = oh.len - OH_SIZE;
	p = dev + OH_SIZE;
	for (i = 0; i < nargs; i++) {
		u32 n = arg[i] < payload ? arg[i] : payload;

		out[i] = malloc(arg[i] ? arg[i] : 1);
		CHECK(out[i]);
		memcpy(out[i], p, n);
		p += n;
		payload -= n;
	}
	CHECK(payload == 0);
	CHECK(p <= dev + reply_len);
	if (argvar) {
		u32 shortfall = capacity - (oh.len - OH_SIZE);

		CHECK(shortfall <= arg[nargs - 1]);
		arg[nargs - 1] -= shortfall;
	} else {
		CHECK(oh.len - OH_SIZE == capacity);
	}
	for (i = 0; i < nargs; i++)
		free(out[i]);
	free(dev);
	return 0;
}
