// SPDX-License-Identifier: GPL-2.0
/*
 * Data operations on region ranges: read, write, set, find and compare with
 * user memory, and copy, move and compare between regions.
 *
 * Callers have checked the ranges and hold the regions in use
 * (softmem_handle_begin()), so pages cannot go away underneath.  Ranges are
 * walked one page-bounded piece at a time; never-written pages read as the
 * zero page and are only allocated when written.
 */
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "softmem.h"

/* Long operations yield, and stop for a dying task. */
static int softmem_access_yield(void)
{
	if (fatal_signal_pending(current))
		return -EINTR;
	cond_resched();
	return 0;
}

/* Bytes from @offset to the end of its page, at most @length. */
static unsigned int softmem_piece(u64 offset, u64 length)
{
	return min_t(u64, length, PAGE_SIZE - offset_in_page(offset));
}

int softmem_access_read(struct softmem_region *r, u64 offset, u64 length,
			void __user *buf)
{
	while (length) {
		unsigned int n = softmem_piece(offset, length);
		struct page *page;
		unsigned long left;
		void *vaddr;

		page = softmem_page_lookup_or_zero(r, offset >> PAGE_SHIFT);
		vaddr = kmap_local_page(page);
		left = copy_to_user(buf, vaddr + offset_in_page(offset), n);
		kunmap_local(vaddr);
		if (left)
			return -EFAULT;
		buf += n;
		offset += n;
		length -= n;
		if (softmem_access_yield())
			return -EINTR;
	}
	return 0;
}

/*
 * The caller has checked the buffer with access_ok().  __copy_from_user(),
 * unlike copy_from_user(), leaves what it could not copy alone instead of
 * zeroing it: a write that fails with EFAULT leaves each byte of its range
 * old or new, never zeroed.
 */
int softmem_access_write(struct softmem_region *r, u64 offset, u64 length,
			 const void __user *buf)
{
	int ret;

	ret = softmem_pages_populate(r, offset, length);
	if (ret)
		return ret;

	while (length) {
		unsigned int n = softmem_piece(offset, length);
		unsigned long left;
		void *vaddr;

		vaddr = kmap_local_page(softmem_page_lookup(r, offset >> PAGE_SHIFT));
		left = __copy_from_user(vaddr + offset_in_page(offset), buf, n);
		kunmap_local(vaddr);
		if (left)
			return -EFAULT;
		buf += n;
		offset += n;
		length -= n;
		if (softmem_access_yield())
			return -EINTR;
	}
	return 0;
}

int softmem_access_set(struct softmem_region *r, u64 offset, u64 length,
		       u8 value)
{
	int ret;

	/* Zeros need no page: a missing page already reads as zeros. */
	if (value) {
		ret = softmem_pages_populate(r, offset, length);
		if (ret)
			return ret;
	}

	while (length) {
		unsigned int n = softmem_piece(offset, length);
		struct page *page;

		page = softmem_page_lookup(r, offset >> PAGE_SHIFT);
		if (page)
			memset_page(page, offset_in_page(offset), value, n);
		offset += n;
		length -= n;
		if (softmem_access_yield())
			return -EINTR;
	}
	return 0;
}

int softmem_access_find(struct softmem_region *r, u64 offset, u64 length,
			u8 value, s64 *position)
{
	*position = -1;
	while (length) {
		unsigned int n = softmem_piece(offset, length);
		struct page *page;
		void *vaddr, *hit;

		page = softmem_page_lookup_or_zero(r, offset >> PAGE_SHIFT);
		vaddr = kmap_local_page(page);
		hit = memchr(vaddr + offset_in_page(offset), value, n);
		if (hit)
			*position = (offset & PAGE_MASK) + (hit - vaddr);
		kunmap_local(vaddr);
		if (hit)
			return 0;
		offset += n;
		length -= n;
		if (softmem_access_yield())
			return -EINTR;
	}
	return 0;
}

/* memcmp() reduced to -1, 0 or 1. */
static int softmem_memcmp(const void *a, const void *b, size_t n)
{
	int diff = memcmp(a, b, n);

	return (diff > 0) - (diff < 0);
}

int softmem_access_compare_user(struct softmem_region *r, u64 offset,
				u64 length, const void __user *buf,
				int *result)
{
	void *bounce;
	int ret = 0;

	*result = 0;
	bounce = kmalloc(PAGE_SIZE, SOFTMEM_GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (length && !*result) {
		unsigned int n = softmem_piece(offset, length);
		struct page *page;
		void *vaddr;

		if (copy_from_user(bounce, buf, n)) {
			ret = -EFAULT;
			break;
		}
		page = softmem_page_lookup_or_zero(r, offset >> PAGE_SHIFT);
		vaddr = kmap_local_page(page);
		*result = softmem_memcmp(vaddr + offset_in_page(offset), bounce, n);
		kunmap_local(vaddr);
		buf += n;
		offset += n;
		length -= n;
		ret = softmem_access_yield();
		if (ret)
			break;
	}
	kfree(bounce);
	return ret;
}

/*
 * Walks two ranges of equal @length in pieces that cross no page boundary in
 * either, front to back or, for a memmove() to a higher offset in the same
 * region, back to front.  Each call yields the next piece's offsets in
 * @a and @b and returns its length.
 */
struct softmem_span {
	u64 a, b, length;
	bool backward;
};

static unsigned int softmem_span_next(struct softmem_span *span, u64 *a, u64 *b)
{
	unsigned int n;

	if (!span->backward) {
		n = min(softmem_piece(span->a, span->length),
			softmem_piece(span->b, span->length));
		*a = span->a;
		*b = span->b;
		span->a += n;
		span->b += n;
	} else {
		u64 a_end = span->a + span->length;
		u64 b_end = span->b + span->length;

		n = min3(span->length, (u64)offset_in_page(a_end - 1) + 1,
			 (u64)offset_in_page(b_end - 1) + 1);
		*a = a_end - n;
		*b = b_end - n;
	}
	span->length -= n;
	return n;
}

int softmem_access_copy(struct softmem_region *dst, u64 dst_offset,
			struct softmem_region *src, u64 src_offset,
			u64 length)
{
	struct softmem_span span = {
		.a = dst_offset, .b = src_offset, .length = length,
		.backward = dst == src && dst_offset > src_offset,
	};
	int ret;

	ret = softmem_pages_populate(dst, dst_offset, length);
	if (ret)
		return ret;

	while (span.length) {
		void *dst_vaddr, *src_vaddr;
		u64 d, s;
		unsigned int n = softmem_span_next(&span, &d, &s);

		dst_vaddr = kmap_local_page(softmem_page_lookup(dst, d >> PAGE_SHIFT));
		src_vaddr = kmap_local_page(softmem_page_lookup_or_zero(src, s >> PAGE_SHIFT));
		memmove(dst_vaddr + offset_in_page(d),
			src_vaddr + offset_in_page(s), n);
		kunmap_local(src_vaddr);
		kunmap_local(dst_vaddr);
		ret = softmem_access_yield();
		if (ret)
			return ret;
	}
	return 0;
}

int softmem_access_compare(struct softmem_region *a, u64 a_offset,
			   struct softmem_region *b, u64 b_offset, u64 length,
			   int *result)
{
	struct softmem_span span = {
		.a = a_offset, .b = b_offset, .length = length,
	};
	int ret;

	*result = 0;
	while (span.length && !*result) {
		void *a_vaddr, *b_vaddr;
		u64 x, y;
		unsigned int n = softmem_span_next(&span, &x, &y);

		a_vaddr = kmap_local_page(softmem_page_lookup_or_zero(a, x >> PAGE_SHIFT));
		b_vaddr = kmap_local_page(softmem_page_lookup_or_zero(b, y >> PAGE_SHIFT));
		*result = softmem_memcmp(a_vaddr + offset_in_page(x),
					 b_vaddr + offset_in_page(y), n);
		kunmap_local(b_vaddr);
		kunmap_local(a_vaddr);
		ret = softmem_access_yield();
		if (ret)
			return ret;
	}
	return 0;
}
