// SPDX-License-Identifier: MIT
/*
 * The allocation contexts: forbidden sections, preallocated stores that
 * never allocate, GFP_NOWAIT and GFP_ATOMIC against an empty cache and the
 * emergency reserve.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

static uint64_t rng;

static struct mt_cache_stats stats(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st;
}

/* Run @fn in a child; true if it was killed by SIGABRT. */
static bool aborts(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void store_in_forbidden_section(void)
{
	struct maple_tree t;

	mt_init_flags(&t, MT_FLAGS_USE_RCU);
	mtree_store_range(&t, 0, 100, xa_mk_value(1), GFP_KERNEL);
	mt_alloc_forbid_begin();
	mtree_store_range(&t, 10, 20, xa_mk_value(2), GFP_KERNEL);
	mt_alloc_forbid_end();
}

static void store_in_nested_section(void)
{
	struct maple_tree t;

	mt_init(&t);
	mt_alloc_forbid_begin();
	mt_alloc_forbid_begin();
	mt_alloc_forbid_end();
	mtree_store_range(&t, 10, 20, xa_mk_value(2), GFP_KERNEL);
}

static void test_forbid(void)
{
	CHECK(aborts(store_in_forbidden_section));
	CHECK(aborts(store_in_nested_section));
}

static int compare_trees(struct maple_tree *a, struct maple_tree *b)
{
	MA_STATE(ma, a, 0, 0);
	MA_STATE(mb, b, 0, 0);
	void *ea, *eb;
	int diff = 0;

	mt_rcu_read_lock();
	do {
		ea = mas_find(&ma, ULONG_MAX);
		eb = mas_find(&mb, ULONG_MAX);
		if (ea != eb || (ea && (ma.index != mb.index ||
					 ma.last != mb.last)))
			diff++;
	} while (ea && eb);
	mt_rcu_read_unlock();
	return diff;
}

/*
 * mas_preallocate() then mas_store_prealloc(), the store inside a forbidden
 * section with every allocation failing: it must neither try to allocate
 * nor fail, and must do what an ordinary store does.
 */
static void test_prealloc_never_allocates(unsigned int flags)
{
	struct maple_tree a, b;
	unsigned long before = stats().forbidden_allocs;
	unsigned long i, span = 30000;

	mt_init_flags(&a, flags);
	mt_init_flags(&b, flags);
	for (i = 0; i < 4000; i++) {
		unsigned long first = harness_rand(&rng) % span;
		unsigned long len = harness_rand(&rng) % 4 ? harness_rand(&rng) % 12 :
				    harness_rand(&rng) % 3000;
		void *entry = harness_rand(&rng) % 3 ? xa_mk_value(i) : NULL;
		MA_STATE(mas, &a, first, first + len);

		mtree_lock(&a);
		CHECK_EQ(mas_preallocate(&mas, entry, GFP_KERNEL), 0);
		mt_fault_inject_all(true);
		mt_alloc_forbid_begin();
		mas_store_prealloc(&mas, entry);
		mt_alloc_forbid_end();
		mt_fault_inject_all(false);
		mtree_unlock(&a);
		CHECK_EQ(mtree_store_range(&b, first, first + len, entry,
					   GFP_KERNEL), 0);
	}
	CHECK_EQ(compare_trees(&a, &b), 0);
	CHECK_EQ(mt_validate(&a), 0);
	CHECK_EQ(stats().forbidden_allocs, before);
	mtree_destroy(&a);
	mtree_destroy(&b);
}

/*
 * Empty the cache of free nodes with GFP_NOWAIT stores, then GFP_ATOMIC
 * lives on the emergency reserve until that is gone too, and GFP_KERNEL
 * refills it.
 */
static void test_contexts(void)
{
	struct maple_tree t;
	size_t reserve;
	unsigned long i = 0;
	int ret;

	CHECK_EQ(mt_cache_reserve(48), 0);
	CHECK_EQ(stats().nodes_emergency, 48);
	mt_init(&t);
	/* Appends split a leaf every few inserts: each split takes nodes. */
	do {
		ret = mtree_insert_range(&t, 16 * i, 16 * i + 9, xa_mk_value(i),
					 GFP_NOWAIT);
		i++;
	} while (!ret && i < 10000000);
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(stats().nodes_emergency, 48);
	CHECK(mtree_load(&t, 16 * (i - 1)) == NULL);

	reserve = stats().nodes_emergency;
	do {
		ret = mtree_insert_range(&t, 16 * i, 16 * i + 9, xa_mk_value(i),
					 GFP_ATOMIC);
		i++;
	} while (!ret);
	CHECK_EQ(ret, -ENOMEM);
	CHECK(stats().nodes_emergency < reserve);
	CHECK(mtree_load(&t, 16 * (i - 1)) == NULL);
	CHECK_EQ(mt_validate(&t), 0);

	CHECK_EQ(mtree_insert_range(&t, 16 * i, 16 * i + 9, xa_mk_value(i),
				    GFP_KERNEL), 0);
	CHECK_EQ(stats().nodes_emergency, 48);
	CHECK(mtree_load(&t, 16 * i) == xa_mk_value(i));
	mtree_destroy(&t);
	CHECK_EQ(mt_cache_reserve(64), 0);
}

int main(void)
{
	size_t live;

	urcu_memb_register_thread();
	rng = harness_seed("test_alloc");
	live = stats().nodes_live;
	test_forbid();
	test_prealloc_never_allocates(0);
	test_prealloc_never_allocates(MT_FLAGS_USE_RCU);
	test_contexts();
	mt_rcu_barrier(NULL);
	CHECK_EQ(stats().nodes_live, live);
	CHECK_EQ(stats().nodes_rcu, 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
