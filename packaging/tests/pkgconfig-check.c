// SPDX-License-Identifier: GPL-2.0
/*
 * pkgconfig-check: what a program built against the installed packages
 * sees (cc $(pkg-config --cflags --libs softmem)).  One region keeps its
 * data across suspend and resume; another, suspended when the pool's limit
 * drops to one region, is discarded to meet it, reports its loss on resume
 * and reads back as zeros.  Needs the module loaded; exits 0 when all of
 * that holds.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <softmem.h>

#define LENGTH	(64 * 1024)

static int fail(const char *what, int err)
{
	fprintf(stderr, "pkgconfig-check: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(void)
{
	static char data[LENGTH], out[LENGTH], zeros[LENGTH];
	uint64_t kept, dropped;
	bool lost;
	int pool, ret;

	memset(data, 0x5a, sizeof(data));
	pool = softmem_open();
	if (pool < 0)
		return fail("softmem_open", pool);
	ret = softmem_alloc(pool, LENGTH, &kept);
	if (!ret)
		ret = softmem_alloc(pool, LENGTH, &dropped);
	if (!ret)
		ret = softmem_write(pool, kept, 0, data, LENGTH);
	if (!ret)
		ret = softmem_write(pool, dropped, 0, data, LENGTH);
	if (ret)
		return fail("alloc and write", ret);

	ret = softmem_suspend(pool, dropped);
	if (!ret)
		ret = softmem_set_limit(pool, LENGTH);
	if (!ret)
		ret = softmem_resume(pool, dropped, &lost);
	if (ret)
		return fail("suspend, limit, resume", ret);
	if (!lost || softmem_read(pool, dropped, 0, out, LENGTH) ||
	    memcmp(out, zeros, LENGTH)) {
		fprintf(stderr, "pkgconfig-check: a discard went unreported\n");
		return 1;
	}

	ret = softmem_suspend(pool, kept);
	if (!ret)
		ret = softmem_resume(pool, kept, &lost);
	if (ret)
		return fail("suspend and resume", ret);
	if (lost || softmem_read(pool, kept, 0, out, LENGTH) ||
	    memcmp(out, data, LENGTH)) {
		fprintf(stderr, "pkgconfig-check: an intact region lost its data\n");
		return 1;
	}
	softmem_close(pool);
	printf("pkgconfig-check: a discard reported, intact data kept\n");
	return 0;
}
