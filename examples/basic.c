// SPDX-License-Identifier: MIT
/*
 * basic.c: store ranges, look them up, iterate, erase (the Normal API).
 * cc -std=gnu11 basic.c $(pkg-config --cflags --libs mapletree)
 */
#include <errno.h>
#include <stdio.h>

#include <mapletree/maple_tree.h>

int main(void)
{
	DEFINE_MTREE(tree);
	unsigned long index = 0;
	int err, count = 0;
	void *entry;

	/* Values are encoded so the tree never mistakes them for pointers. */
	if (mtree_store_range(&tree, 10, 19, xa_mk_value(1), GFP_KERNEL) ||
	    mtree_store_range(&tree, 30, 39, xa_mk_value(2), GFP_KERNEL))
		return 1;
	/* An insert fails if any index in the range is taken. */
	if (mtree_insert_range(&tree, 15, 25, xa_mk_value(3), GFP_KERNEL) !=
	    -EEXIST)
		return 1;

	if (xa_to_value(mtree_load(&tree, 12)) != 1 || mtree_load(&tree, 20))
		return 1;

	/* A store over part of a range trims it: [10, 14] keeps value 1. */
	err = mtree_store_range(&tree, 15, 19, xa_mk_value(4), GFP_KERNEL);
	if (err)
		return 1;

	mt_for_each(&tree, entry, index, ULONG_MAX) {
		printf("entry %lu ends before %lu\n", xa_to_value(entry), index);
		count++;
	}

	/* Erase removes the whole range holding the index. */
	if (xa_to_value(mtree_erase(&tree, 33)) != 2 || mtree_load(&tree, 30))
		return 1;

	err = mt_validate(&tree);
	mtree_destroy(&tree);
	printf("%d ranges, mt_validate: %d\n", count, err);
	return count == 3 && !err ? 0 : 1;
}
