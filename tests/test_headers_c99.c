/* SPDX-License-Identifier: MIT */
/* The public headers, alone, in strict C99: they must compile and work. */
#include <mapletree/maple_tree.h>
#include <stdio.h>

int main(void)
{
	struct maple_tree t;
	int ok;

	mt_init(&t);
	ok = mtree_store_range(&t, 10, 20, xa_mk_value(1), GFP_KERNEL) == 0 &&
	     mtree_load(&t, 15) == xa_mk_value(1);
	mtree_destroy(&t);
	printf("%d passed, %d failed\n", ok, !ok);
	return !ok;
}
