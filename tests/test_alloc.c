// SPDX-License-Identifier: MIT
/*
 * The allocation contexts: forbidden sections, preallocated stores that
 * never allocate, GFP_NOWAIT and GFP_ATOMIC against an empty cache and the
 * emergency reserve.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* A store kind over a tree of @n ranges [16i, 16i+9], as (first, last, entry). */
static void store_kind(int kind, unsigned long n, unsigned long *first,
		       unsigned long *last, void **entry)
{
	unsigned long k = n / 2, wide = n / 3 < 3000 ? n / 3 : 3000;

	*entry = xa_mk_value(7);
	switch (kind) {
	case 0:	/* exact fit */
		*first = 16 * k; *last = 16 * k + 9; break;
	case 1:	/* inside one entry: splits it in three */
		*first = 16 * k + 2; *last = 16 * k + 4; break;
	case 2:	/* append */
		*first = 16 * n; *last = 16 * n + 9; break;
	case 3:	/* into a gap */
		*first = 16 * k + 11; *last = 16 * k + 13; break;
	case 4:	/* erase one entry */
		*first = 16 * k; *last = 16 * k + 9; *entry = NULL; break;
	case 5:	/* NULL over many leaves: rebalance, shrink */
		*first = 16 * k; *last = 16 * (k + wide); *entry = NULL; break;
	case 6:	/* spanning store, trimming both ends */
		*first = 16 * k + 5; *last = 16 * (k + wide) + 5; break;
	case 7:	/* reserve a range */
		*first = 16 * k + 3; *last = 16 * k + 12;
		*entry = XA_ZERO_ENTRY; break;
	default: /* everything: a new root */
		*first = 0; *last = ULONG_MAX; break;
	}
}

#define NR_KINDS	9

/*
 * Every store kind at every height from 1 to 5, in both modes: the store
 * takes no more than mas_preallocate() reserved (which, the writer's plan
 * run dry, should be exactly what it takes) and no more than 3h + 1.
 */
static void test_prealloc_per_kind(unsigned int flags)
{
	double worst_ratio = 1.0;
	unsigned long most = 0;

	for (unsigned int h = 1; h <= 5; h++) {
		for (int kind = 0; kind < NR_KINDS; kind++) {
			struct maple_tree t;
			unsigned long n = 0, first, last, reserved, used;
			void *entry;

			mt_init_flags(&t, flags);
			do {
				mtree_store_range(&t, 16 * n, 16 * n + 9,
						  xa_mk_value(n), GFP_KERNEL);
				n++;
			} while (mt_height(&t) < h || n < 4);
			CHECK_EQ(mt_height(&t), h);
			store_kind(kind, n, &first, &last, &entry);
			MA_STATE(mas, &t, first, last);
			mtree_lock(&t);
			CHECK_EQ(mas_preallocate(&mas, entry, GFP_KERNEL), 0);
			reserved = mas_allocated(&mas);
			mt_fault_inject_all(true);
			mas_store(&mas, entry);
			mt_fault_inject_all(false);
			CHECK(!mas_is_err(&mas));
			used = reserved - mas_allocated(&mas);
			mas_destroy(&mas);
			mtree_unlock(&t);
			CHECK(used <= reserved);
			CHECK(used <= 3 * h + 1);
			if (used && (double)reserved / used > worst_ratio)
				worst_ratio = (double)reserved / used;
			if (used > most)
				most = used;
			CHECK(mtree_load(&t, first) ==
			      (xa_is_zero(entry) ? NULL : entry));
			CHECK_EQ(mt_validate(&t), 0);
			mtree_destroy(&t);
		}
	}
	printf("test_alloc: %s: most nodes one store used %lu, worst "
	       "reserved/used %.2f\n", flags ? "rcu" : "plain", most,
	       worst_ratio);
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
	/* Refilled, the reserve serves atomic stores again. */
	for (i++; stats().nodes_emergency == 48; i++)
		CHECK_EQ(mtree_insert_range(&t, 16 * i, 16 * i + 9,
					    xa_mk_value(i), GFP_ATOMIC), 0);
	CHECK(mtree_load(&t, 16 * (i - 1)) == xa_mk_value(i - 1));
	mtree_destroy(&t);
	CHECK_EQ(mt_cache_reserve(64), 0);
}

/*
 * mas_nomem() drops the internal lock to allocate: a writer that gets in
 * meanwhile must not confuse the retried store. The first allocation of
 * every main-thread store fails, so every one of them goes through
 * mas_nomem() while another thread writes as fast as it can.
 */
static struct maple_tree racing_tree;
static atomic_bool racing_stop;

static void *racing_writer(void *arg)
{
	uint64_t r = (uint64_t)(uintptr_t)arg;
	unsigned long i = 0;

	urcu_memb_register_thread();
	while (!atomic_load(&racing_stop)) {
		unsigned long first = 100000 + harness_rand(&r) % 50000;

		mtree_store_range(&racing_tree, first,
				  first + harness_rand(&r) % 40,
				  harness_rand(&r) % 3 ? xa_mk_value(i) : NULL,
				  GFP_KERNEL);
		i++;
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void test_nomem_race(void)
{
	static void *model[50000];
	unsigned long i, bad = 0;
	pthread_t other;

	mt_init_flags(&racing_tree, MT_FLAGS_USE_RCU);
	atomic_store(&racing_stop, false);
	pthread_create(&other, NULL, racing_writer,
		       (void *)(uintptr_t)harness_rand(&rng));
	for (i = 0; i < 20000; i++) {
		unsigned long first = harness_rand(&rng) % 49000;
		unsigned long last = first + harness_rand(&rng) % 900;
		void *entry = harness_rand(&rng) % 4 ? xa_mk_value(i) : NULL;

		mt_fault_inject(1);
		CHECK_EQ(mtree_store_range(&racing_tree, first, last, entry,
					   GFP_KERNEL), 0);
		for (unsigned long j = first; j <= last; j++)
			model[j] = entry;
	}
	mt_fault_inject(0);
	atomic_store(&racing_stop, true);
	pthread_join(other, NULL);
	for (i = 0; i < 50000; i++)
		bad += mtree_load(&racing_tree, i) != model[i];
	CHECK_EQ(bad, 0);
	CHECK_EQ(mt_validate(&racing_tree), 0);
	mtree_destroy(&racing_tree);
}

/* With an external lock, mas_nomem() allocates without dropping it. */
static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t ext_owner;
static bool ext_held;

static bool ext_is_held(void *arg)
{
	(void)arg;
	return ext_held && pthread_equal(ext_owner, pthread_self());
}

static void test_nomem_external_lock(void)
{
	struct maple_tree t;

	mt_init_flags(&t, MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU);
	mt_set_external_lock(&t, &ext_lock);
	mt_set_external_lock_check(&t, ext_is_held, NULL);
	pthread_mutex_lock(&ext_lock);
	ext_owner = pthread_self();
	ext_held = true;
	for (unsigned long i = 0; i < 100; i++)
		CHECK_EQ(mtree_store_range(&t, 10 * i, 10 * i + 5,
					   xa_mk_value(i), GFP_KERNEL), 0);
	{
		MA_STATE(mas, &t, 3, 400);

		mt_fault_inject(1);
		mas_store(&mas, xa_mk_value(1000));
		CHECK(mas_is_err(&mas));
		CHECK(mas_nomem(&mas, GFP_KERNEL));
		/* Still ours: the tree never touched the external lock. */
		CHECK(pthread_mutex_trylock(&ext_lock) != 0);
		CHECK(mt_lock_is_held(&t));
		mas_set_range(&mas, 3, 400);
		mas_store(&mas, xa_mk_value(1000));
		CHECK(!mas_is_err(&mas));
		mas_destroy(&mas);
	}
	CHECK(mtree_load(&t, 200) == xa_mk_value(1000));
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
	ext_held = false;
	pthread_mutex_unlock(&ext_lock);
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
	test_prealloc_per_kind(0);
	test_prealloc_per_kind(MT_FLAGS_USE_RCU);
	test_contexts();
	test_nomem_race();
	test_nomem_external_lock();
	mt_rcu_barrier(NULL);
	CHECK_EQ(stats().nodes_live, live);
	CHECK_EQ(stats().nodes_rcu, 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
