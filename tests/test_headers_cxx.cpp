// SPDX-License-Identifier: MIT
// The public headers, alone, in C++: they must compile and work.
#include <mapletree/maple_tree.h>
#include <cstdio>

int main()
{
	struct maple_tree t;

	mt_init(&t);
	MA_STATE(mas, &t, 10, 20);
	mtree_lock(&t);
	bool ok = mas_store_gfp(&mas, xa_mk_value(2), GFP_KERNEL) == 0;
	mtree_unlock(&t);
	ok = ok && mtree_load(&t, 12) == xa_mk_value(2);
	mtree_destroy(&t);
	std::printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
	return ok ? 0 : 1;
}
