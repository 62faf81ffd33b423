// SPDX-License-Identifier: MIT
// Each public header, alone, in C++: it must compile and work. Built once
// per header, chosen as in test_headers_c99.c.
#if defined(MT_HEADER_NODE_ALLOC)
#include <mapletree/node_alloc.h>
#elif defined(MT_HEADER_GPUVM)
#include <mapletree/gpuvm.h>
#else
#include <mapletree/maple_tree.h>
#endif
#include <cstdio>

#if defined(MT_HEADER_NODE_ALLOC)
static bool check()
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return mt_cache_reserve(64) == 0 && st.bytes_held >= st.slabs;
}
#elif defined(MT_HEADER_GPUVM)
static bool check()
{
	struct gpuvm vm;
	struct gpuva va;
	struct gpuva_ops *ops = nullptr;

	if (gpuvm_init(&vm, "c++", 0, 4096, 1 << 20, 0, 0, nullptr))
		return false;
	gpuva_init(&va, 8192, 4096, nullptr, 0);
	gpuvm_lock(&vm);
	bool ok = gpuva_insert(&vm, &va) == 0 &&
		  gpuvm_sm_unmap_ops_create(&vm, 8192, 4096, &ops) == 0;
	struct gpuva_op *op = nullptr;
	int n = 0;
	if (ok)
		gpuva_for_each_op(op, ops)
			n += op->op == GPUVA_OP_UNMAP && op->unmap.va == &va;
	gpuva_ops_free(&vm, ops);
	gpuva_remove(&va);
	gpuvm_unlock(&vm);
	gpuvm_put(&vm);
	return ok && n == 1;
}
#else
static bool check()
{
	struct maple_tree t;

	mt_init(&t);
	MA_STATE(mas, &t, 10, 20);
	mtree_lock(&t);
	bool ok = mas_store_gfp(&mas, xa_mk_value(2), GFP_KERNEL) == 0;
	mtree_unlock(&t);
	ok = ok && mtree_load(&t, 12) == xa_mk_value(2);
	mtree_destroy(&t);
	return ok;
}
#endif

int main()
{
	bool ok = check();

	std::printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
	return ok ? 0 : 1;
}
