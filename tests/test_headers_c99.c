/* SPDX-License-Identifier: MIT */
/*
 * Each public header, alone, in strict C99 (and, built again, C11): it
 * must compile and work. Built once per header, chosen by
 * MT_HEADER_NODE_ALLOC, MT_HEADER_GPUVM or neither (maple_tree.h).
 */
#if defined(MT_HEADER_NODE_ALLOC)
#include <mapletree/node_alloc.h>
#elif defined(MT_HEADER_GPUVM)
#include <mapletree/gpuvm.h>
#else
#include <mapletree/maple_tree.h>
#endif
#include <stdio.h>

#if defined(MT_HEADER_NODE_ALLOC)
static int check(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return mt_cache_reserve(64) == 0 && st.bytes_held >= st.slabs;
}
#elif defined(MT_HEADER_GPUVM)
static int check(void)
{
	struct gpuvm vm;
	struct gpuva va, *found, *it;
	int ok, n = 0;

	if (gpuvm_init(&vm, "c99", 0, 4096, 1 << 20, 0, 0, NULL))
		return 0;
	gpuva_init(&va, 8192, 4096, NULL, 0);
	gpuvm_lock(&vm);
	ok = gpuva_insert(&vm, &va) == 0;
	found = gpuvm_lookup(&vm, 9000);
	gpuvm_for_each_va(it, &vm)
		n++;
	gpuva_remove(&va);
	gpuvm_unlock(&vm);
	gpuvm_put(&vm);
	return ok && found == &va && n == 1;
}
#else
static int check(void)
{
	struct maple_tree t;
	int ok;

	mt_init(&t);
	ok = mtree_store_range(&t, 10, 20, xa_mk_value(1), GFP_KERNEL) == 0 &&
	     mtree_load(&t, 15) == xa_mk_value(1);
	mtree_destroy(&t);
	return ok;
}
#endif

int main(void)
{
	int ok = check();

	printf("%d passed, %d failed\n", ok, !ok);
	return !ok;
}
