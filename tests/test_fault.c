// SPDX-License-Identifier: MIT
/*
 * Every allocation point of every store type fails in turn.
 *
 * Two trees are built alike. On tree A each store runs with the Nth node
 * allocation failing, for N = 1, 2, ... until the store succeeds. Every
 * failure must return -ENOMEM and leave A exactly as it was, valid, with
 * not one node more or less in use. The success must leave A equal to
 * tree B, on which the same store ran without faults.
 */
#include <errno.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

struct range {
	unsigned long first, last;
	void *entry;
};

struct snapshot {
	struct range *r;
	size_t n, cap;
};

static uint64_t rng;
static unsigned long failures_seen, stores_done;

static void snap(struct maple_tree *mt, struct snapshot *s)
{
	MA_STATE(mas, mt, 0, 0);
	void *entry;

	s->n = 0;
	mt_rcu_read_lock();
	while ((entry = mas_find(&mas, ULONG_MAX)) != NULL) {
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 1024;
			s->r = realloc(s->r, s->cap * sizeof(*s->r));
			if (!s->r)
				abort();
		}
		s->r[s->n++] = (struct range){ mas.index, mas.last, entry };
	}
	mt_rcu_read_unlock();
}

static bool same(const struct snapshot *a, const struct snapshot *b)
{
	return a->n == b->n && !memcmp(a->r, b->r, a->n * sizeof(*a->r));
}

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

static int store(struct maple_tree *mt, unsigned long first,
		 unsigned long last, void *entry)
{
	MA_STATE(mas, mt, first, last);
	int ret;

	mtree_lock(mt);
	ret = mas_store_gfp(&mas, entry, GFP_KERNEL);
	mtree_unlock(mt);
	return ret;
}

/* Sweep one store over every allocation it makes. */
static void sweep_store(struct maple_tree *a, struct maple_tree *b,
			unsigned long first, unsigned long last, void *entry)
{
	static struct snapshot before, after, want;
	long nth;
	int ret;

	snap(a, &before);
	for (nth = 1; nth < 1000; nth++) {
		size_t live = nodes_live();

		mt_fault_inject(nth);
		ret = store(a, first, last, entry);
		mt_fault_inject(0);
		if (ret != -ENOMEM)
			break;
		failures_seen++;
		snap(a, &after);
		if (!same(&before, &after) || mt_validate(a) ||
		    nodes_live() != live) {
			fprintf(stderr, "store [%#lx, %#lx] failing allocation "
				"%ld changed the tree or leaked (%zu -> %zu)\n",
				first, last, nth, live, nodes_live());
			CHECK(false);
			return;
		}
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(store(b, first, last, entry), 0);
	snap(a, &after);
	snap(b, &want);
	CHECK(same(&after, &want));
	CHECK_EQ(mt_validate(a), 0);
	stores_done++;
}

/* A store of each kind the writer knows, on a tree of @span indices. */
static void random_store(struct maple_tree *a, struct maple_tree *b,
			 unsigned long span, unsigned long serial)
{
	unsigned long first = harness_rand(&rng) % span;
	unsigned long len;
	void *entry = xa_mk_value(serial);

	switch (harness_rand(&rng) % 6) {
	case 0:		/* short store: slot store, split */
		len = harness_rand(&rng) % 8;
		break;
	case 1:		/* spanning store */
		len = harness_rand(&rng) % (span / 4);
		break;
	case 2:		/* NULL store over a wide span: rebalance, shrink */
		len = harness_rand(&rng) % (span / 8);
		entry = NULL;
		break;
	case 3:		/* erase-like NULL store of a short range */
		len = harness_rand(&rng) % 4;
		entry = NULL;
		break;
	case 4:		/* append past the end */
		first = span + serial * 4;
		len = 1;
		break;
	default:	/* a reserved range */
		len = harness_rand(&rng) % 16;
		entry = XA_ZERO_ENTRY;
		break;
	}
	sweep_store(a, b, first, first + len, entry);
}

static void test_mode(unsigned int flags)
{
	struct maple_tree a, b;
	unsigned long i, span = 20000;

	mt_init_flags(&a, flags);
	mt_init_flags(&b, flags);
	for (i = 0; i < 3000; i++) {
		unsigned long first = harness_rand(&rng) % span;

		store(&a, first, first + harness_rand(&rng) % 6, xa_mk_value(i));
	}
	/* Copy a into b, so both start alike. */
	{
		MA_STATE(mas, &a, 0, 0);
		void *entry;

		mt_rcu_read_lock();
		while ((entry = mas_find(&mas, ULONG_MAX)) != NULL)
			CHECK_EQ(store(&b, mas.index, mas.last, entry), 0);
		mt_rcu_read_unlock();
	}
	for (i = 0; i < 400; i++)
		random_store(&a, &b, span, 10000 + i);
	/* The whole space at once: a new root, then nothing at all. */
	sweep_store(&a, &b, 0, ULONG_MAX, xa_mk_value(1));
	sweep_store(&a, &b, 0, ULONG_MAX, NULL);
	CHECK(mtree_empty(&a));
	mtree_destroy(&a);
	mtree_destroy(&b);
}

/*
 * The Normal API retries through mas_nomem(); with no memory at all it
 * fails clean. The tree is in RCU mode and each call below must allocate:
 * a spanning store, and an erase that changes a leaf's pivots (only
 * appends and exact fits happen in place in RCU mode).
 */
static void test_normal_api(void)
{
	struct maple_tree t;
	struct snapshot before = { 0 }, after = { 0 };
	size_t live;
	unsigned long i;

	mt_init_flags(&t, MT_FLAGS_USE_RCU);
	for (i = 0; i < 2000; i++)
		CHECK_EQ(mtree_store_range(&t, 10 * i, 10 * i + 5, xa_mk_value(i),
					   GFP_KERNEL), 0);
	mt_fault_inject(1);
	CHECK_EQ(mtree_store_range(&t, 3, 17000, xa_mk_value(1), GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 9000) == xa_mk_value(1));

	snap(&t, &before);
	live = nodes_live();
	mt_fault_inject_all(true);
	CHECK_EQ(mtree_store_range(&t, 17005, 19000, NULL, GFP_KERNEL), -ENOMEM);
	CHECK(mtree_erase(&t, 18003) == NULL);
	CHECK(mtree_load(&t, 18003) == xa_mk_value(1800));
	{
		MA_STATE(mas, &t, 30000, 30100);

		mtree_lock(&t);
		CHECK_EQ(mas_preallocate(&mas, xa_mk_value(3), GFP_KERNEL),
			 -ENOMEM);
		mas_destroy(&mas);
		mtree_unlock(&t);
	}
	mt_fault_inject_all(false);
	snap(&t, &after);
	CHECK(same(&before, &after));
	CHECK_EQ(nodes_live(), live);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
	free(before.r);
	free(after.r);
}

int main(void)
{
	struct mt_cache_stats st;
	size_t live;

	urcu_memb_register_thread();
	rng = harness_seed("test_fault");
	live = nodes_live();
	test_mode(0);
	test_mode(MT_FLAGS_USE_RCU);
	test_normal_api();
	printf("test_fault: %lu stores swept, %lu injected failures\n",
	       stores_done, failures_seen);
	CHECK(failures_seen > 100);	/* the failure paths did run */
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, live);
	CHECK_EQ(st.nodes_rcu, 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
