// SPDX-License-Identifier: MIT
/*
 * prealloc.c: the Advanced API. Reserve the nodes a store needs, then store
 * where allocating is not allowed; walk with a cursor.
 * cc -std=gnu11 prealloc.c $(pkg-config --cflags --libs mapletree)
 */
#include <stdio.h>

#include <mapletree/maple_tree.h>

int main(void)
{
	DEFINE_MTREE(tree);
	MA_STATE(mas, &tree, 0, 0);
	unsigned long i, seen = 0;
	void *entry;
	int err;

	for (i = 0; i < 1000; i++)
		if (mtree_store_range(&tree, i * 10, i * 10 + 4,
				      xa_mk_value(i), GFP_KERNEL))
			return 1;

	mas_lock(&mas);
	mas_set_range(&mas, 2000, 2999);
	/* May allocate: do it before entering the section that must not. */
	err = mas_preallocate(&mas, xa_mk_value(9999), GFP_KERNEL);
	if (!err) {
		mt_alloc_forbid_begin();
		mas_store_prealloc(&mas, xa_mk_value(9999));	/* cannot fail */
		mt_alloc_forbid_end();
	}
	mas_unlock(&mas);
	if (err)
		return 1;

	/* Iterate under the lock (or RCU) with a cursor, from the start. */
	mas_lock(&mas);
	mas_set(&mas, 0);
	mas_for_each(&mas, entry, ULONG_MAX)
		seen++;
	mas_unlock(&mas);

	err = mt_validate(&tree);
	mtree_destroy(&tree);
	/* 1000 ranges, less the 100 in [2000, 2999], plus the new one. */
	printf("%lu ranges, mt_validate: %d\n", seen, err);
	return seen == 901 && !err ? 0 : 1;
}
