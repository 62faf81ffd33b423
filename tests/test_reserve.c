// SPDX-License-Identifier: MIT
/*
 * Reservations that survive change. A reservation for K stores is taken on
 * a tree whose keys stay below MAX_ENTRIES (so it never holds more entries
 * than that); then, K times, another thread reshapes the tree at will and
 * this thread performs one store of any kind from the reservation, inside
 * a forbidden-allocation section with every allocation failing. Each must
 * succeed and be right.
 */
#include <errno.h>
#include <pthread.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

#define MAX_ENTRIES	3000UL
#define NR_STORES	12

static struct maple_tree tree;
static uint64_t rng;
static void *model[MAX_ENTRIES];

static void model_store(unsigned long first, unsigned long last, void *entry)
{
	for (unsigned long i = first; i <= last; i++)
		model[i] = entry;
}

/* A store of any kind within the key space. */
static void pick(uint64_t *r, unsigned long *first, unsigned long *last,
		 void **entry, unsigned long serial)
{
	unsigned long len;

	switch (harness_rand(r) % 4) {
	case 0:
		len = harness_rand(r) % 4;
		break;
	case 1:
		len = harness_rand(r) % 40;
		break;
	default:
		len = harness_rand(r) % MAX_ENTRIES;
		break;
	}
	*first = harness_rand(r) % MAX_ENTRIES;
	*last = *first + len < MAX_ENTRIES ? *first + len : MAX_ENTRIES - 1;
	*entry = harness_rand(r) % 3 ? xa_mk_value(serial) : NULL;
}

static void *reshape(void *arg)
{
	uint64_t r = (uint64_t)(uintptr_t)arg;
	unsigned long n = 200 + harness_rand(&r) % 2000, i;

	urcu_memb_register_thread();
	for (i = 0; i < n; i++) {
		unsigned long first, last;
		void *entry;

		/* Mostly short stores: they grow the tree, wide ones shrink it. */
		pick(&r, &first, &last, &entry, 1000000 + i);
		if (harness_rand(&r) % 8)
			last = first + (last - first) % 3;
		mtree_store_range(&tree, first, last, entry, GFP_KERNEL);
		model_store(first, last, entry);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static unsigned long check_model(void)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < MAX_ENTRIES; i++)
		bad += mtree_load(&tree, i) != model[i];
	return bad;
}

static void round_of_stores(unsigned int flags, unsigned long serial)
{
	struct mt_reservation res;
	unsigned long before;
	int k;

	mt_init_flags(&tree, flags);
	for (unsigned long i = 0; i < MAX_ENTRIES; i++)
		model[i] = NULL;
	CHECK_EQ(mt_reserve(&tree, &res, NR_STORES, MAX_ENTRIES, GFP_KERNEL), 0);
	before = mt_reservation_nodes(&res);
	for (k = 0; k < NR_STORES; k++) {
		MA_STATE(mas, &tree, 0, 0);
		unsigned long first, last;
		pthread_t other;
		void *entry;

		pthread_create(&other, NULL, reshape,
			       (void *)(uintptr_t)harness_rand(&rng));
		pthread_join(other, NULL);

		pick(&rng, &first, &last, &entry, serial + (unsigned long)k);
		mas_set_range(&mas, first, last);
		mas_use_reservation(&mas, &res);
		mtree_lock(&tree);
		mt_fault_inject_all(true);
		mt_alloc_forbid_begin();
		mas_store(&mas, entry);
		mt_alloc_forbid_end();
		mt_fault_inject_all(false);
		CHECK(!mas_is_err(&mas));
		mtree_unlock(&tree);
		model_store(first, last, entry);
	}
	CHECK(mt_reservation_nodes(&res) <= before);
	CHECK_EQ(check_model(), 0);
	CHECK_EQ(mt_validate(&tree), 0);
	mt_reserve_release(&res);
	CHECK_EQ(mt_reservation_nodes(&res), 0);
	mtree_destroy(&tree);
}

/* The bound: 3 nodes per level of the height max_entries allows, plus 1. */
static void test_bound(void)
{
	struct maple_tree t;
	struct mt_reservation res;

	mt_init(&t);
	CHECK_EQ(mt_reserve(&t, &res, 1, 0, GFP_KERNEL), 0);
	CHECK_EQ(mt_reservation_nodes(&res), 4);		/* height 1 */
	mt_reserve_release(&res);
	CHECK_EQ(mt_reserve(&t, &res, 2, 1000000, GFP_KERNEL), 0);
	CHECK_EQ(mt_reservation_nodes(&res), 2 * 25);	/* height 8 */
	mt_reserve_release(&res);
	/* Internal nodes of 8 slots, at least 4 used: height 11. */
	mt_init_flags(&t, MT_FLAGS_ALLOC_RANGE);
	CHECK_EQ(mt_reserve(&t, &res, 1, 1000000, GFP_KERNEL), 0);
	CHECK_EQ(mt_reservation_nodes(&res), 34);
	mt_reserve_release(&res);
	CHECK_EQ(mt_reserve(NULL, &res, 1, 10, GFP_KERNEL), -EINVAL);
	mt_fault_inject_all(true);
	CHECK_EQ(mt_reserve(&t, &res, 1, 10, GFP_KERNEL), -ENOMEM);
	mt_fault_inject_all(false);
	CHECK_EQ(mt_reservation_nodes(&res), 0);
}

/*
 * What one store takes never exceeds 3 nodes per level of the tree it
 * runs on, plus 1: checked for thousands of stores of every kind.
 */
static void test_per_store_bound(unsigned int flags)
{
	unsigned long i, worst = 0, over = 0;
	struct mt_reservation res;

	const unsigned long span = 1UL << 20;

	mt_init_flags(&tree, flags);
	for (i = 0; i < 60000; i++) {
		unsigned long first = harness_rand(&rng) % span;

		mtree_store_range(&tree, first, first + harness_rand(&rng) % 8,
				  xa_mk_value(i), GFP_KERNEL);
	}
	CHECK_EQ(mt_reserve(&tree, &res, 1, ULONG_MAX / 4, GFP_KERNEL), 0);
	for (i = 0; i < 20000; i++) {
		MA_STATE(mas, &tree, 0, 0);
		unsigned long first = harness_rand(&rng) % span, last, height;
		unsigned long before, used, kind = harness_rand(&rng) % 16;
		void *entry = kind % 3 ? xa_mk_value(i) : NULL;

		/* Short stores split and trim; wide ones span many levels. */
		last = first + (kind < 12 ? harness_rand(&rng) % 8 :
				harness_rand(&rng) % (span / 16));
		height = mt_height(&tree) ? mt_height(&tree) : 1;
		before = mt_reservation_nodes(&res);
		mas_set_range(&mas, first, last);
		mas_use_reservation(&mas, &res);
		mtree_lock(&tree);
		mas_store(&mas, entry);
		CHECK(!mas_is_err(&mas));
		mtree_unlock(&tree);
		used = before - mt_reservation_nodes(&res);
		if (used > worst)
			worst = used;
		over += used > 3 * height + 1;
		/* Top up for the next store. */
		mt_reserve_release(&res);
		CHECK_EQ(mt_reserve(&tree, &res, 1, ULONG_MAX / 4, GFP_KERNEL), 0);
	}
	printf("test_reserve: most nodes one store took: %lu (height %u)\n",
	       worst, mt_height(&tree));
	CHECK_EQ(over, 0);
	mt_reserve_release(&res);
	mtree_destroy(&tree);
}

int main(void)
{
	struct mt_cache_stats st;
	size_t live;
	const char *env = getenv("MT_RESERVE_ROUNDS");
	int round, rounds = env ? atoi(env) : 1000;

	urcu_memb_register_thread();
	rng = harness_seed("test_reserve");
	mt_cache_stats(&st);
	live = st.nodes_live;
	test_bound();
	test_per_store_bound(0);
	test_per_store_bound(MT_FLAGS_USE_RCU);
	test_per_store_bound(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	for (round = 0; round < rounds; round++) {
		round_of_stores(0, 100u * (unsigned long)round);
		round_of_stores(MT_FLAGS_USE_RCU, 100u * (unsigned long)round);
		if (round % 4 == 0)
			round_of_stores(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU,
					100u * (unsigned long)round);
	}
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, live);
	CHECK_EQ(st.forbidden_allocs, 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
