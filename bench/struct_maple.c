/* SPDX-License-Identifier: MIT */
/*
 * The structure under test: a maple tree, in RCU mode or not.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include <mapletree/maple_tree.h>

#include "bench.h"

static void *maple_create_flags(unsigned int flags)
{
	struct maple_tree *mt = malloc(sizeof(*mt));

	if (!mt)
		bench_fail("out of memory creating a maple tree");
	mt_init_flags(mt, flags);
	return mt;
}

static void *maple_create_rcu(void)
{
	return maple_create_flags(MT_FLAGS_USE_RCU);
}

static void *maple_create_plain(void)
{
	return maple_create_flags(0);
}

static void maple_destroy(void *s)
{
	struct maple_tree *mt = s;

	mtree_destroy(mt);
	/* RCU mode frees after a grace period: wait so memory is comparable. */
	mt_rcu_barrier(mt);
	free(mt);
	/* Start the next build from an empty cache, so bytes_held is its own. */
	mt_cache_shrink();
}

static int maple_insert_range(void *s, unsigned long first,
			      unsigned long last, void *entry)
{
	return mtree_insert_range(s, first, last, entry, GFP_KERNEL);
}

static int maple_store_range(void *s, unsigned long first, unsigned long last,
			     void *entry)
{
	return mtree_store_range(s, first, last, entry, GFP_KERNEL);
}

static void *maple_load(void *s, unsigned long index)
{
	return mtree_load(s, index);
}

static void *maple_erase(void *s, unsigned long index)
{
	return mtree_erase(s, index);
}

static void maple_iterate(void *s, struct iter_sum *sum)
{
	struct maple_tree *mt = s;
	unsigned long index = 0;
	unsigned long count = 0, sum_value = 0, sum_last = 0;
	void *entry;

	mt_for_each(mt, entry, index, ULONG_MAX) {
		count++;
		sum_value += entry_val(entry);
		/* After a hit index is one past the entry's last index. */
		sum_last += index - 1;
	}
	sum->count = count;
	sum->sum_value = sum_value;
	sum->sum_last = sum_last;
}

static void maple_iterate_cursor(void *s, struct iter_sum *sum)
{
	struct maple_tree *mt = s;
	MA_STATE(mas, mt, 0, 0);
	unsigned long count = 0, sum_value = 0, sum_last = 0;
	bool rcu = mt_in_rcu(mt);
	void *entry;

	/* Advanced API reads: RCU in RCU mode, else the writer lock. */
	if (rcu)
		mt_rcu_read_lock();
	else
		mtree_lock(mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		count++;
		sum_value += entry_val(entry);
		sum_last += mas.last;
	}
	if (rcu)
		mt_rcu_read_unlock();
	else
		mtree_unlock(mt);
	sum->count = count;
	sum->sum_value = sum_value;
	sum->sum_last = sum_last;
}

static void maple_visit(void *s, visit_fn fn, void *arg)
{
	struct maple_tree *mt = s;
	MA_STATE(mas, mt, 0, 0);
	void *entry;

	/* Single-threaded here: the writer lock is valid in either mode. */
	mtree_lock(mt);
	mas_for_each(&mas, entry, ULONG_MAX)
		fn(arg, mas.index, mas.last, entry);
	mtree_unlock(mt);
}

static bool maple_empty(void *s)
{
	return mtree_empty(s);
}

static int maple_validate(void *s)
{
	struct maple_tree *mt = s;
	int ret;

	mtree_lock(mt);
	ret = mt_validate(mt);
	mtree_unlock(mt);
	return ret;
}

static void maple_settle(void *s)
{
	mt_rcu_barrier(s);
}

static void maple_memory(void *s, size_t entries, struct mem_report *out)
{
	struct mt_cache_stats st;

	mt_rcu_barrier(s);
	mt_cache_stats(&st);
	out->bytes_per_entry = (double)st.nodes_live * 256.0 / (double)entries;
	out->held_per_entry = (double)st.bytes_held / (double)entries;
	/* What is still held once slabs without a live node are returned. */
	mt_cache_shrink();
	mt_cache_stats(&st);
	out->shrunk_per_entry = (double)st.bytes_held / (double)entries;
}

#define MAPLE_OPS_COMMON						\
	.writable = true,						\
	.destroy = maple_destroy,					\
	.insert_range = maple_insert_range,				\
	.store_range = maple_store_range,				\
	.load = maple_load,						\
	.erase = maple_erase,						\
	.iterate = maple_iterate,					\
	.iterate_cursor = maple_iterate_cursor,				\
	.visit = maple_visit,						\
	.empty = maple_empty,						\
	.validate = maple_validate,					\
	.settle = maple_settle,						\
	.memory = maple_memory

const struct bench_ops maple_rcu_ops = {
	.name = "maple-rcu",
	.rcu_readers = true,
	.create = maple_create_rcu,
	MAPLE_OPS_COMMON,
};

const struct bench_ops maple_plain_ops = {
	.name = "maple",
	.rcu_readers = false,
	.create = maple_create_plain,
	MAPLE_OPS_COMMON,
};
