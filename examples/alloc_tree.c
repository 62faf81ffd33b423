// SPDX-License-Identifier: MIT
/*
 * alloc_tree.c: an allocation tree as an address-space allocator: lowest
 * and highest fit, alignment, a 4 GiB boundary, cyclic ids, reservations.
 * cc -std=gnu11 alloc_tree.c $(pkg-config --cflags --libs mapletree)
 */
#include <stdio.h>

#include <mapletree/maple_tree.h>

#define VA_END		((1UL << 40) - 1)

int main(void)
{
	struct maple_tree va, ids;
	unsigned long addr, low, high, id, next = 0;
	int err, wrapped = 0;

	mt_init_flags(&va, MT_FLAGS_ALLOC_RANGE);
	/* Keep the first 64 KiB unmapped: reads see NULL, allocations skip it. */
	if (mtree_store_range(&va, 0, 0xffff, XA_ZERO_ENTRY, GFP_KERNEL))
		return 1;
	/* 4 KiB at the lowest and at the highest free address. */
	if (mtree_alloc_range(&va, &low, xa_mk_value(1), 0x1000, 0, VA_END,
			      GFP_KERNEL) ||
	    mtree_alloc_rrange(&va, &high, xa_mk_value(2), 0x1000, 0, VA_END,
			       GFP_KERNEL))
		return 1;
	/* 64 KiB, 64 KiB aligned, not crossing a 4 GiB line. */
	if (mtree_alloc_range_aligned(&va, &addr, xa_mk_value(3), 0x10000,
				      0x10000, 1UL << 32, 0, VA_END,
				      GFP_KERNEL))
		return 1;
	printf("low %#lx high %#lx aligned %#lx\n", low, high, addr);
	if (low != 0x10000 || high != VA_END - 0xfff || addr != 0x20000)
		return 1;

	/* Freed space is found again. */
	mtree_erase(&va, low);
	err = mtree_alloc_range(&va, &addr, xa_mk_value(4), 0x1000, 0, VA_END,
				GFP_KERNEL);
	if (err || addr != low)
		return 1;

	/* Cyclic ids in [1, 3]: the fourth wraps and reuses a freed one. */
	mt_init_flags(&ids, MT_FLAGS_ALLOC_RANGE);
	for (int i = 0; i < 3; i++)
		if (mtree_alloc_cyclic(&ids, &id, xa_mk_value(i), 1, 3, &next,
				       GFP_KERNEL))
			return 1;
	mtree_erase(&ids, 2);
	wrapped = mtree_alloc_cyclic(&ids, &id, xa_mk_value(9), 1, 3, &next,
				     GFP_KERNEL);
	printf("id %lu (wrapped: %d)\n", id, wrapped);
	if (wrapped != 1 || id != 2)
		return 1;

	err = mt_validate(&va) || mt_validate(&ids);
	mtree_destroy(&va);
	mtree_destroy(&ids);
	return err;
}
