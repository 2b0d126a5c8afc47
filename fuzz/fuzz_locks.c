// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_locks: the lock-range tracker (locks.c) against a reference model.
 *
 * The input is a sequence of lock, unlock and invalid requests on one
 * owner's ranges (see lt_run() in lockcheck.h for the encoding). After
 * each request: the result is the one the model predicts (0, -EINVAL,
 * -ENOSPC past VTFS_MAX_RANGES, -ENOMEM when the allocation was made to
 * fail), nothing changed on error, vtfs_ranges_check() passes and the
 * tracker holds exactly the model's ranges. The ranges are freed at the
 * end: LeakSanitizer reports anything left.
 */
#include "lockcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt *t = lt_new();

	lt_run(t, data, size);
	lt_free(t);
	return 0;
}
