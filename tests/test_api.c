// SPDX-License-Identifier: MIT
/*
 * The Normal and Advanced API and general behaviour of the tree, one topic
 * per function: initialisation and destruction, stores that overwrite and
 * trim, inserts, erases, bad input, ULONG_MAX, root-pointer trees, trees of
 * many entries, spanning stores, next/prev/find, Advanced API writes and
 * iteration, RCU mode, locks (including the loud failures of unlocked
 * writes), validation and dumps, and finally that no node leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"
#include "harness_child.h"

#define MAX ULONG_MAX

#define CHECK_PTR(a, b) CHECK_EQ((uintptr_t)(a), (uintptr_t)(b))

static uint64_t rng;
static size_t live_at_start;

/* Distinct, plain (4-byte aligned) pointers to store. */
static int objs[16];
#define OBJ(n) ((void *)&objs[(n)])

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

static size_t nodes_rcu(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_rcu;
}

/*
 * Count a mismatch found in a long loop, printing only the first few, so a
 * loop adds one CHECK rather than one per element.
 */
static unsigned long note_bad(unsigned long *bad, const char *what,
			      unsigned long at, uintptr_t got, uintptr_t want)
{
	if (*bad < 5)
		fprintf(stderr, "  mismatch (%s) at %lu: got %#lx, want %#lx\n",
			what, at, (unsigned long)got, (unsigned long)want);
	return ++*bad;
}

/* mas_walk() at @index under the tree lock (internal-lock trees). */
static void *walk_at(struct maple_tree *mt, unsigned long index,
		     unsigned long *first, unsigned long *last)
{
	MA_STATE(mas, mt, index, index);
	void *e;

	mtree_lock(mt);
	e = mas_walk(&mas);
	mtree_unlock(mt);
	*first = mas.index;
	*last = mas.last;
	return e;
}

#define CHECK_WALK(mt, idx, want, f, l) do {				\
	unsigned long __f, __l;						\
	void *__e = walk_at((mt), (idx), &__f, &__l);			\
	CHECK_PTR(__e, (want));						\
	CHECK_EQ(__f, (f));						\
	CHECK_EQ(__l, (l));						\
} while (0)

/* Entries mt_for_each() visits over the whole tree. */
static unsigned long count_entries(struct maple_tree *mt)
{
	unsigned long index = 0, n = 0;
	void *e;

	mt_for_each(mt, e, index, MAX) {
		n++;
		if (n > 10000000)
			break;
	}
	return n;
}

static void shuffle(unsigned long *a, unsigned long n)
{
	unsigned long i;

	for (i = n - 1; i > 0; i--) {
		unsigned long j = harness_rand(&rng) % (i + 1);
		unsigned long t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

/* ---- Initialisation and destruction --------------------------------------- */

static void check_fresh(struct maple_tree *mt)
{
	unsigned long f, l;

	CHECK(mtree_empty(mt));
	CHECK_EQ(mt_height(mt), 0);
	CHECK(mtree_load(mt, 0) == NULL);
	CHECK(mtree_load(mt, 12345) == NULL);
	CHECK(mtree_load(mt, MAX) == NULL);
	CHECK(walk_at(mt, 77, &f, &l) == NULL);
	CHECK_EQ(f, 0);
	CHECK_EQ(l, MAX);
	CHECK_EQ(count_entries(mt), 0);
	CHECK_EQ(mt_validate(mt), 0);
}

static void test_init(void)
{
	DEFINE_MTREE(defined);
	struct maple_tree static_rcu = MTREE_INIT(static_rcu, MT_FLAGS_USE_RCU);
	struct maple_tree t, alloc, irq, bh;
	size_t live0 = nodes_live();
	unsigned long i;
	int round;

	check_fresh(&defined);
	CHECK(!mt_in_rcu(&defined));
	CHECK(mt_external_lock(&defined) == NULL);
	check_fresh(&static_rcu);
	CHECK(mt_in_rcu(&static_rcu));

	mt_init(&t);
	check_fresh(&t);
	CHECK(!mt_in_rcu(&t));

	mt_init_flags(&alloc, MT_FLAGS_ALLOC_RANGE);
	check_fresh(&alloc);
	mt_init_flags(&irq, MT_FLAGS_LOCK_IRQ);
	check_fresh(&irq);
	mt_init_flags(&bh, MT_FLAGS_LOCK_BH | MT_FLAGS_USE_RCU);
	check_fresh(&bh);
	CHECK(mt_in_rcu(&bh));

	/* A store makes a leaf; destroy empties; the tree is reusable. */
	CHECK_EQ(mtree_store_range(&defined, 5, 9, OBJ(1), GFP_KERNEL), 0);
	CHECK(!mtree_empty(&defined));
	CHECK_EQ(mt_height(&defined), 1);
	CHECK_PTR(mtree_load(&defined, 7), OBJ(1));
	mtree_destroy(&defined);
	check_fresh(&defined);
	CHECK_EQ(mtree_store_range(&defined, 50, 90, OBJ(2), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&defined, 50), OBJ(2));
	CHECK(mtree_load(&defined, 7) == NULL);
	CHECK_EQ(mt_validate(&defined), 0);
	mtree_destroy(&defined);
	check_fresh(&defined);
	mtree_destroy(&defined);	/* destroying an empty tree is fine */
	check_fresh(&defined);

	/* Every flavour of tree stores and loads. */
	CHECK_EQ(mtree_store_range(&alloc, 1, 2, OBJ(3), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&irq, 1, 2, OBJ(3), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&bh, 1, 2, OBJ(3), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&static_rcu, 1, 2, OBJ(3), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&alloc, 2), OBJ(3));
	CHECK_PTR(mtree_load(&irq, 2), OBJ(3));
	CHECK_PTR(mtree_load(&bh, 2), OBJ(3));
	CHECK_PTR(mtree_load(&static_rcu, 1), OBJ(3));
	CHECK_EQ(mt_validate(&alloc), 0);
	CHECK_EQ(mt_validate(&irq), 0);
	mtree_destroy(&alloc);
	mtree_destroy(&irq);
	mtree_destroy(&bh);
	mtree_destroy(&static_rcu);
	check_fresh(&alloc);
	check_fresh(&static_rcu);

	/* Grow and destroy a few times: nodes go back each time. */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 5000; i++)
			if (mtree_store_range(&t, 3 * i, 3 * i + 1,
					      xa_mk_value(i), GFP_KERNEL))
				break;
		CHECK_EQ(i, 5000);
		CHECK(mt_height(&t) > 1);
		CHECK(nodes_live() > live0);
		CHECK_EQ(mt_validate(&t), 0);
		if (round == 1) {
			mtree_lock(&t);
			__mt_destroy(&t);
			mtree_unlock(&t);
		} else {
			mtree_destroy(&t);
		}
		check_fresh(&t);
	}
	mt_rcu_barrier(&static_rcu);
	mt_rcu_barrier(&bh);
	mt_rcu_barrier(NULL);
	CHECK_EQ(nodes_live(), live0);
}

/* ---- Stores: overwrite, trim, split, NULL ----------------------------------- */

static void test_store_overwrite(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *C = OBJ(3), *D = OBJ(4), *E = OBJ(5);
	void *F = OBJ(6), *G = OBJ(7);

	mt_init(&t);
	CHECK_EQ(mtree_store_range(&t, 10, 20, A, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 9) == NULL);
	CHECK_PTR(mtree_load(&t, 10), A);
	CHECK_PTR(mtree_load(&t, 20), A);
	CHECK(mtree_load(&t, 21) == NULL);
	CHECK_WALK(&t, 15, A, 10, 20);
	CHECK_WALK(&t, 3, NULL, 0, 9);
	CHECK_WALK(&t, 21, NULL, 21, MAX);

	/* inside: split in three */
	CHECK_EQ(mtree_store_range(&t, 14, 16, B, GFP_KERNEL), 0);
	CHECK_WALK(&t, 10, A, 10, 13);
	CHECK_WALK(&t, 15, B, 14, 16);
	CHECK_WALK(&t, 17, A, 17, 20);
	CHECK_PTR(mtree_load(&t, 13), A);
	CHECK_PTR(mtree_load(&t, 14), B);
	CHECK_PTR(mtree_load(&t, 16), B);
	CHECK_PTR(mtree_load(&t, 17), A);
	CHECK_EQ(mt_validate(&t), 0);

	/* over the left edge: the neighbour is trimmed */
	CHECK_EQ(mtree_store_range(&t, 5, 11, C, GFP_KERNEL), 0);
	CHECK_WALK(&t, 4, NULL, 0, 4);
	CHECK_WALK(&t, 5, C, 5, 11);
	CHECK_WALK(&t, 12, A, 12, 13);
	CHECK_WALK(&t, 14, B, 14, 16);

	/* over the right edge */
	CHECK_EQ(mtree_store_range(&t, 19, 25, D, GFP_KERNEL), 0);
	CHECK_WALK(&t, 17, A, 17, 18);
	CHECK_WALK(&t, 19, D, 19, 25);
	CHECK_WALK(&t, 26, NULL, 26, MAX);
	CHECK_EQ(mt_validate(&t), 0);

	/* over several ranges: pieces of A, all of B, part of D */
	CHECK_EQ(mtree_store_range(&t, 12, 19, E, GFP_KERNEL), 0);
	CHECK_WALK(&t, 11, C, 5, 11);
	CHECK_WALK(&t, 12, E, 12, 19);
	CHECK_WALK(&t, 16, E, 12, 19);
	CHECK_WALK(&t, 20, D, 20, 25);
	CHECK_EQ(count_entries(&t), 3);
	CHECK_EQ(mt_validate(&t), 0);

	/* NULL store erases the span and trims both sides */
	CHECK_EQ(mtree_store_range(&t, 8, 22, NULL, GFP_KERNEL), 0);
	CHECK_WALK(&t, 7, C, 5, 7);
	CHECK_WALK(&t, 8, NULL, 8, 22);
	CHECK_WALK(&t, 15, NULL, 8, 22);
	CHECK_WALK(&t, 23, D, 23, 25);
	CHECK_EQ(count_entries(&t), 2);

	/* NULL over NULL and part of C: the NULL ranges join */
	CHECK_EQ(mtree_store_range(&t, 0, 6, NULL, GFP_KERNEL), 0);
	CHECK_WALK(&t, 3, NULL, 0, 6);
	CHECK_WALK(&t, 7, C, 7, 7);
	CHECK_EQ(mtree_store(&t, 7, NULL, GFP_KERNEL), 0);
	CHECK_WALK(&t, 0, NULL, 0, 22);
	CHECK_WALK(&t, 22, NULL, 0, 22);
	CHECK_WALK(&t, 23, D, 23, 25);
	CHECK_EQ(mt_validate(&t), 0);

	/* single index stores */
	CHECK_EQ(mtree_store(&t, 100, F, GFP_KERNEL), 0);
	CHECK_WALK(&t, 100, F, 100, 100);
	CHECK_WALK(&t, 99, NULL, 26, 99);
	CHECK_WALK(&t, 101, NULL, 101, MAX);

	/* exact overwrite */
	CHECK_EQ(mtree_store_range(&t, 23, 25, G, GFP_KERNEL), 0);
	CHECK_WALK(&t, 24, G, 23, 25);
	CHECK_EQ(count_entries(&t), 2);

	/* an overwrite with the same pointer changes nothing visible */
	CHECK_EQ(mtree_store_range(&t, 23, 25, G, GFP_KERNEL), 0);
	CHECK_WALK(&t, 23, G, 23, 25);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* Adjacent equal pointers are not merged. */
	mt_init(&t);
	CHECK_EQ(mtree_store_range(&t, 100, 199, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 200, 299, A, GFP_KERNEL), 0);
	CHECK_WALK(&t, 150, A, 100, 199);
	CHECK_WALK(&t, 250, A, 200, 299);
	{
		unsigned long index = 0;

		CHECK_PTR(mt_find(&t, &index, MAX), A);
		CHECK_EQ(index, 200);
		CHECK_PTR(mt_find(&t, &index, MAX), A);
		CHECK_EQ(index, 300);
		CHECK(mt_find(&t, &index, MAX) == NULL);
	}
	CHECK_EQ(count_entries(&t), 2);
	CHECK_EQ(mtree_store_range(&t, 300, 399, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 150, 349, A, GFP_KERNEL), 0);
	CHECK_WALK(&t, 120, A, 100, 149);
	CHECK_WALK(&t, 200, A, 150, 349);
	CHECK_WALK(&t, 360, A, 350, 399);
	CHECK_EQ(count_entries(&t), 3);
	/* the same pointer at index i and i + 1 */
	CHECK_EQ(mtree_store(&t, 1000, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&t, 1001, A, GFP_KERNEL), 0);
	CHECK_WALK(&t, 1000, A, 1000, 1000);
	CHECK_WALK(&t, 1001, A, 1001, 1001);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* Adjacent NULL ranges coalesce as neighbours are erased. */
	mt_init(&t);
	CHECK_EQ(mtree_store_range(&t, 10, 19, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 20, 29, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 30, 39, C, GFP_KERNEL), 0);
	CHECK_PTR(mtree_erase(&t, 25), B);
	CHECK_WALK(&t, 25, NULL, 20, 29);
	CHECK_PTR(mtree_erase(&t, 15), A);
	CHECK_WALK(&t, 25, NULL, 0, 29);
	CHECK_WALK(&t, 5, NULL, 0, 29);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_erase(&t, 39), C);
	CHECK_WALK(&t, 25, NULL, 0, MAX);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_validate(&t), 0);

	/* ... and when a NULL store meets NULL neighbours */
	CHECK_EQ(mtree_store_range(&t, 10, 19, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 40, 49, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 5, 12, NULL, GFP_KERNEL), 0);
	CHECK_WALK(&t, 5, NULL, 0, 12);
	CHECK_WALK(&t, 13, A, 13, 19);
	CHECK_EQ(mtree_store_range(&t, 13, 19, NULL, GFP_KERNEL), 0);
	CHECK_WALK(&t, 30, NULL, 0, 39);
	CHECK_WALK(&t, 50, NULL, 50, MAX);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- Insert ---------------------------------------------------------------- */

static void test_insert(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *X = OBJ(9);

	mt_init(&t);
	CHECK_EQ(mtree_insert_range(&t, 10, 20, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert_range(&t, 15, 25, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 0, 10, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 20, 20, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 0, MAX, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 12, 13, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&t, 10, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&t, 20, X, GFP_KERNEL), -EEXIST);
	CHECK_WALK(&t, 10, A, 10, 20);
	CHECK_EQ(count_entries(&t), 1);

	CHECK_EQ(mtree_insert_range(&t, 21, 30, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert_range(&t, 5, 9, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 9, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&t, 100, X, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 100, A, GFP_KERNEL), -EEXIST);
	CHECK_PTR(mtree_load(&t, 100), X);
	CHECK_EQ(mtree_insert(&t, 99, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 101, A, GFP_KERNEL), 0);
	CHECK_WALK(&t, 99, A, 99, 99);
	CHECK_WALK(&t, 100, X, 100, 100);
	CHECK_WALK(&t, 101, A, 101, 101);
	CHECK_EQ(mtree_insert_range(&t, 31, 98, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert_range(&t, 0, 4, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 0, A, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mt_validate(&t), 0);

	/* A reserved range counts as occupied. */
	CHECK_EQ(mtree_store_range(&t, 200, 209, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 205) == NULL);
	CHECK_EQ(mtree_insert(&t, 205, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&t, 200, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&t, 209, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 195, 200, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 209, 215, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 150, 250, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 210, 215, X, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert_range(&t, 190, 199, X, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 200) == NULL);
	CHECK_PTR(mtree_load(&t, 199), X);
	CHECK_PTR(mtree_load(&t, 210), X);

	/* Bad arguments. */
	CHECK_EQ(mtree_insert_range(&t, 1000, 999, X, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert_range(&t, MAX, 0, X, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert_range(&t, 1000, 1010, NULL, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert(&t, 1000, NULL, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert(&t, 1000, xa_mk_internal(5), GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert_range(&t, 1000, 1010, xa_mk_internal(256),
				    GFP_KERNEL), -EINVAL);
	CHECK(mtree_load(&t, 1000) == NULL);
	CHECK_WALK(&t, 1005, NULL, 216, MAX);
	CHECK_EQ(mt_validate(&t), 0);

	/* Inserting a reservation marker into an empty span works. */
	CHECK_EQ(mtree_insert_range(&t, 300, 310, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 305) == NULL);
	CHECK_EQ(mtree_insert(&t, 305, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* Insert into an empty tree at index 0 and elsewhere. */
	mt_init(&t);
	CHECK_EQ(mtree_insert(&t, 0, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 0, B, GFP_KERNEL), -EEXIST);
	CHECK_PTR(mtree_load(&t, 0), A);
	CHECK_EQ(mtree_insert_range(&t, 0, 5, B, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, 1, 5, B, GFP_KERNEL), 0);
	CHECK_WALK(&t, 3, B, 1, 5);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- Erase ----------------------------------------------------------------- */

static void test_erase(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *C = OBJ(3);
	unsigned long f, l;

	mt_init(&t);
	CHECK(mtree_erase(&t, 5) == NULL);	/* empty tree */
	CHECK(mtree_empty(&t));

	CHECK_EQ(mtree_store_range(&t, 10, 20, A, GFP_KERNEL), 0);
	CHECK(mtree_erase(&t, 9) == NULL);
	CHECK(mtree_erase(&t, 21) == NULL);
	CHECK(mtree_erase(&t, MAX) == NULL);
	CHECK_PTR(mtree_load(&t, 10), A);
	CHECK_PTR(mtree_erase(&t, 15), A);	/* the whole range goes */
	CHECK(mtree_load(&t, 10) == NULL);
	CHECK(mtree_load(&t, 15) == NULL);
	CHECK(mtree_load(&t, 20) == NULL);
	CHECK(mtree_erase(&t, 15) == NULL);
	CHECK(mtree_empty(&t));

	CHECK_EQ(mtree_store_range(&t, 10, 20, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 21, 30, C, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 31, 40, A, GFP_KERNEL), 0);
	CHECK_PTR(mtree_erase(&t, 21), C);
	CHECK_PTR(mtree_load(&t, 20), B);
	CHECK_PTR(mtree_load(&t, 31), A);
	CHECK_WALK(&t, 25, NULL, 21, 30);
	CHECK_PTR(mtree_erase(&t, 40), A);
	CHECK_WALK(&t, 25, NULL, 21, MAX);
	CHECK_PTR(mtree_erase(&t, 10), B);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_validate(&t), 0);

	/* Erasing a reservation frees its span for inserts. */
	CHECK_EQ(mtree_store_range(&t, 40, 49, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&t, 45, A, GFP_KERNEL), -EEXIST);
	(void)mtree_erase(&t, 45);
	CHECK(walk_at(&t, 45, &f, &l) == NULL);
	CHECK_EQ(mtree_insert(&t, 45, A, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 45), A);

	/* Erase at index 0 (a root-pointer entry). */
	mtree_destroy(&t);
	CHECK_EQ(mtree_store(&t, 0, C, GFP_KERNEL), 0);
	CHECK_PTR(mtree_erase(&t, 0), C);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	CHECK(mtree_erase(&t, 0) == NULL);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- Bad input, reserved entries, XA_ZERO_ENTRY ------------------------------ */

static void check_bad_tree_unchanged(struct maple_tree *t, void *A, void *B)
{
	CHECK_WALK(t, 15, A, 10, 19);
	CHECK_WALK(t, 35, B, 30, 39);
	CHECK_WALK(t, 25, NULL, 20, 29);
	CHECK_WALK(t, 55, NULL, 40, MAX);
	CHECK_EQ(count_entries(t), 2);
	CHECK_EQ(mt_validate(t), 0);
}

static void test_bad_input(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *X = OBJ(9);
	void *reserved[] = {
		xa_mk_internal(0), xa_mk_internal(1), xa_mk_internal(5),
		xa_mk_internal(256), xa_mk_internal(258), xa_mk_internal(1023),
	};
	unsigned int i;

	mt_init(&t);
	CHECK_EQ(mtree_store_range(&t, 10, 19, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 30, 39, B, GFP_KERNEL), 0);

	/* first > last */
	CHECK_EQ(mtree_store_range(&t, 20, 15, X, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_store_range(&t, MAX, 0, X, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_store_range(&t, 19, 10, NULL, GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_insert_range(&t, 39, 30, X, GFP_KERNEL), -EINVAL);
	check_bad_tree_unchanged(&t, A, B);

	/* reserved internal entries */
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		void *r = reserved[i];

		CHECK(mt_entry_reserved(r));
		CHECK_EQ(mtree_store_range(&t, 50, 59, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_store_range(&t, 10, 19, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_store_range(&t, 0, MAX, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_store(&t, 15, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_store(&t, 0, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_insert_range(&t, 50, 59, r, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_insert(&t, 55, r, GFP_KERNEL), -EINVAL);
		{
			MA_STATE(mas, &t, 50, 59);

			mtree_lock(&t);
			CHECK_EQ(mas_store_gfp(&mas, r, GFP_KERNEL), -EINVAL);
			mas_set_range(&mas, 12, 33);
			CHECK_EQ(mas_store_gfp(&mas, r, GFP_KERNEL), -EINVAL);
			mtree_unlock(&t);
		}
	}
	check_bad_tree_unchanged(&t, A, B);
	CHECK(!mt_entry_reserved(XA_ZERO_ENTRY));
	CHECK(!mt_entry_reserved(xa_mk_internal(1024)));
	CHECK(!mt_entry_reserved(xa_mk_value(5)));

	/* a reserved entry into an empty tree leaves it empty */
	mtree_destroy(&t);
	CHECK_EQ(mtree_store(&t, 0, xa_mk_internal(5), GFP_KERNEL), -EINVAL);
	CHECK_EQ(mtree_store_range(&t, 3, 4, xa_mk_internal(256), GFP_KERNEL),
		 -EINVAL);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);

	/* XA_ZERO_ENTRY: accepted, reads as NULL, seen by the Advanced API */
	CHECK_EQ(mtree_store_range(&t, 10, 19, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 20, 25, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 30, 39, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 50, 59, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 20) == NULL);
	CHECK(mtree_load(&t, 25) == NULL);
	CHECK(mtree_load(&t, 55) == NULL);
	CHECK_WALK(&t, 22, XA_ZERO_ENTRY, 20, 25);
	CHECK_WALK(&t, 55, XA_ZERO_ENTRY, 50, 59);
	CHECK_WALK(&t, 27, NULL, 26, 29);
	{
		unsigned long index = 11;

		CHECK_PTR(mt_find(&t, &index, MAX), A);
		CHECK_EQ(index, 20);
		CHECK_PTR(mt_find(&t, &index, MAX), B);	/* skips the zero */
		CHECK_EQ(index, 40);
		CHECK(mt_find(&t, &index, MAX) == NULL);
		index = 40;
		CHECK(mt_find(&t, &index, MAX) == NULL);
		index = 20;
		CHECK(mt_find(&t, &index, 29) == NULL);
	}
	CHECK_EQ(count_entries(&t), 2);
	{
		MA_STATE(mas, &t, 40, 40);
		unsigned long n = 0;
		void *e;

		mtree_lock(&t);
		e = mas_find(&mas, MAX);
		CHECK_PTR(e, XA_ZERO_ENTRY);
		CHECK_EQ(mas.index, 50);
		CHECK_EQ(mas.last, 59);
		mas_set(&mas, 0);
		mas_for_each(&mas, e, MAX) {
			n++;
			if (n == 2) {
				CHECK_PTR(e, XA_ZERO_ENTRY);
				CHECK_EQ(mas.index, 20);
			}
			if (n > 10)
				break;
		}
		CHECK_EQ(n, 4);
		mtree_unlock(&t);
	}
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* XA_ZERO_ENTRY alone at index 0 */
	CHECK_EQ(mtree_store(&t, 0, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	CHECK(mtree_load(&t, 0) == NULL);
	CHECK_WALK(&t, 0, XA_ZERO_ENTRY, 0, 0);
	CHECK_EQ(mtree_insert(&t, 0, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(count_entries(&t), 0);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- ULONG_MAX ---------------------------------------------------------------- */

static void test_ulong_max(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *C = OBJ(3), *D = OBJ(4);
	unsigned long index, n;
	void *e;

	mt_init(&t);
	CHECK_EQ(mtree_store_range(&t, MAX, MAX, A, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, MAX), A);
	CHECK(mtree_load(&t, MAX - 1) == NULL);
	CHECK(mtree_load(&t, 0) == NULL);
	CHECK_WALK(&t, MAX, A, MAX, MAX);
	CHECK_WALK(&t, MAX - 1, NULL, 0, MAX - 1);
	CHECK_EQ(mtree_insert(&t, MAX, B, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert_range(&t, MAX - 3, MAX, B, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mt_validate(&t), 0);

	index = 0;
	CHECK_PTR(mt_find(&t, &index, MAX), A);
	CHECK_EQ(index, 0);			/* wrapped */
	CHECK(mt_find_after(&t, &index, MAX) == NULL);

	CHECK_PTR(mtree_erase(&t, MAX), A);
	CHECK(mtree_load(&t, MAX) == NULL);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mtree_insert(&t, MAX, B, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, MAX), B);

	/* a range ending at ULONG_MAX */
	CHECK_EQ(mtree_store_range(&t, MAX - 10, MAX, C, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, MAX - 10), C);
	CHECK_PTR(mtree_load(&t, MAX), C);
	CHECK(mtree_load(&t, MAX - 11) == NULL);
	CHECK_WALK(&t, MAX - 5, C, MAX - 10, MAX);
	CHECK_EQ(mtree_insert_range(&t, MAX - 20, MAX - 11, D, GFP_KERNEL), 0);
	CHECK_WALK(&t, MAX - 11, D, MAX - 20, MAX - 11);
	CHECK_EQ(mtree_store(&t, 5, A, GFP_KERNEL), 0);
	CHECK_EQ(mt_validate(&t), 0);

	/* mt_for_each ends after the hit at ULONG_MAX */
	index = 0;
	n = 0;
	mt_for_each(&t, e, index, MAX) {
		n++;
		if (n == 3) {
			CHECK_PTR(e, C);
			CHECK_EQ(index, 0);
		}
		if (n > 10)
			break;
	}
	CHECK_EQ(n, 3);
	index = MAX - 3;
	CHECK_PTR(mt_find(&t, &index, MAX), C);
	CHECK_EQ(index, 0);
	index = MAX;
	CHECK_PTR(mt_find(&t, &index, MAX), C);
	CHECK_EQ(index, 0);

	/* the Advanced API iteration ends too */
	{
		MA_STATE(mas, &t, 0, 0);

		n = 0;
		mtree_lock(&t);
		mas_for_each(&mas, e, MAX) {
			n++;
			if (n > 10)
				break;
		}
		CHECK_EQ(n, 3);
		CHECK(mas_find(&mas, MAX) == NULL);
		mas_set(&mas, MAX);
		n = 0;
		mas_for_each_rev(&mas, e, 0) {
			n++;
			if (n == 1) {
				CHECK_PTR(e, C);
				CHECK_EQ(mas.last, MAX);
			}
			if (n > 10)
				break;
		}
		CHECK_EQ(n, 3);
		mtree_unlock(&t);
	}

	CHECK_PTR(mt_next(&t, MAX - 11, MAX), C);
	CHECK_PTR(mt_next(&t, 5, MAX), D);
	CHECK(mt_next(&t, MAX, MAX) == NULL);
	CHECK_PTR(mt_prev(&t, MAX - 10, 0), D);
	CHECK_PTR(mt_prev(&t, MAX - 20, 0), A);
	CHECK_PTR(mtree_erase(&t, MAX - 3), C);
	CHECK_WALK(&t, MAX, NULL, MAX - 10, MAX);
	CHECK_PTR(mtree_erase(&t, MAX - 20), D);
	CHECK_WALK(&t, MAX, NULL, 6, MAX);
	CHECK_EQ(mt_validate(&t), 0);

	/* one entry over the whole space */
	CHECK_EQ(mtree_store_range(&t, 0, MAX, D, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), D);
	CHECK_PTR(mtree_load(&t, 12345), D);
	CHECK_PTR(mtree_load(&t, MAX), D);
	CHECK_WALK(&t, 777, D, 0, MAX);
	CHECK_EQ(mtree_insert(&t, MAX, A, GFP_KERNEL), -EEXIST);
	index = 0;
	CHECK_PTR(mt_find(&t, &index, MAX), D);
	CHECK_EQ(index, 0);
	CHECK_EQ(count_entries(&t), 1);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_erase(&t, 7), D);
	CHECK(mtree_empty(&t));

	/* split the whole-space entry at both ends */
	CHECK_EQ(mtree_store_range(&t, 0, MAX, D, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&t, MAX, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&t, 0, B, GFP_KERNEL), 0);
	CHECK_WALK(&t, 0, B, 0, 0);
	CHECK_WALK(&t, 1, D, 1, MAX - 1);
	CHECK_WALK(&t, MAX, A, MAX, MAX);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* many entries near the top of the space */
	for (n = 0; n < 3000; n++)
		if (mtree_insert_range(&t, MAX - 3 * n - 1, MAX - 3 * n,
				       xa_mk_value(n), GFP_KERNEL))
			break;
	CHECK_EQ(n, 3000);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_load(&t, MAX), xa_mk_value(0));
	CHECK_PTR(mtree_load(&t, MAX - 2), NULL);
	CHECK_PTR(mtree_load(&t, MAX - 8998), xa_mk_value(2999));
	CHECK(mtree_load(&t, MAX - 8999) == NULL);
	CHECK_EQ(count_entries(&t), 3000);
	CHECK_PTR(mtree_erase(&t, MAX), xa_mk_value(0));
	CHECK_EQ(count_entries(&t), 2999);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- Root-pointer trees ------------------------------------------------------ */

static void root_entry_cycle(void *e, void *other)
{
	struct maple_tree t;
	unsigned long index;
	void *X = OBJ(9);

	mt_init(&t);
	CHECK(!mt_entry_reserved(e));
	CHECK_EQ(mtree_store(&t, 0, e, GFP_KERNEL), 0);
	CHECK(!mtree_empty(&t));
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK(mtree_load(&t, 1) == NULL);
	CHECK(mtree_load(&t, MAX) == NULL);
	CHECK_WALK(&t, 0, e, 0, 0);
	index = 0;
	CHECK_PTR(mt_find(&t, &index, MAX), e);
	CHECK_EQ(index, 1);
	CHECK_EQ(count_entries(&t), 1);
	CHECK_EQ(mtree_insert(&t, 0, X, GFP_KERNEL), -EEXIST);
	CHECK_EQ(mt_validate(&t), 0);

	/* a second entry, then remove it again */
	CHECK_EQ(mtree_store(&t, 5, X, GFP_KERNEL), 0);
	CHECK(mt_height(&t) >= 1);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK_PTR(mtree_load(&t, 5), X);
	CHECK(mtree_load(&t, 3) == NULL);
	CHECK_WALK(&t, 0, e, 0, 0);
	CHECK_WALK(&t, 3, NULL, 1, 4);
	CHECK_EQ(count_entries(&t), 2);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_erase(&t, 5), X);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK(mtree_load(&t, 5) == NULL);
	CHECK_WALK(&t, 0, e, 0, 0);
	CHECK_WALK(&t, 5, NULL, 1, MAX);
	CHECK_EQ(count_entries(&t), 1);
	CHECK_EQ(mt_validate(&t), 0);

	/* a neighbour range [1, N] and back */
	CHECK_EQ(mtree_store_range(&t, 1, 100, X, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK_PTR(mtree_load(&t, 1), X);
	CHECK_EQ(mtree_store_range(&t, 1, 100, NULL, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK(mtree_load(&t, 1) == NULL);
	CHECK_EQ(mt_validate(&t), 0);

	/* overwrite, erase */
	CHECK_EQ(mtree_store(&t, 0, other, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), other);
	CHECK_EQ(mtree_store(&t, 0, e, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK_PTR(mtree_erase(&t, 0), e);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	CHECK(mtree_load(&t, 0) == NULL);

	/* stored at 0 into a tree that already has nodes */
	CHECK_EQ(mtree_store(&t, 9, X, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&t, 0, e, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK_PTR(mtree_load(&t, 9), X);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* inserted at 0 */
	CHECK_EQ(mtree_insert(&t, 0, e, GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&t, 0), e);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

static void test_root_pointer(void)
{
	struct maple_tree t;
	void *P = OBJ(1), *X = OBJ(9);
	void *odd[] = {
		(void *)0x1001UL,	/* low bits 01 */
		(void *)0x2002UL,	/* low bits 10, >= 4096 */
		(void *)0x10002UL,
		(void *)0x1000aUL,
		(void *)0x10012UL,
		(void *)0x1001eUL,
		(void *)0x1003UL,	/* low bits 11 */
		xa_mk_value(0),
		xa_mk_value(123456),
	};
	unsigned int i;

	mt_init(&t);
	CHECK_EQ(mtree_store(&t, 0, P, GFP_KERNEL), 0);
	CHECK_EQ(mt_height(&t), 0);
	CHECK(!mtree_empty(&t));
	CHECK_PTR(mtree_load(&t, 0), P);
	CHECK(mtree_load(&t, 1) == NULL);
	CHECK_WALK(&t, 0, P, 0, 0);
	CHECK_WALK(&t, 7, NULL, 1, MAX);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_EQ(mtree_insert(&t, 1, X, GFP_KERNEL), 0);
	CHECK_EQ(mt_height(&t), 1);
	CHECK_PTR(mtree_load(&t, 0), P);
	CHECK_PTR(mtree_load(&t, 1), X);
	CHECK_PTR(mtree_erase(&t, 1), X);
	CHECK_PTR(mtree_load(&t, 0), P);
	CHECK(mtree_load(&t, 1) == NULL);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_erase(&t, 0), P);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);

	/* the root pointer replaced by a range at 0 and back */
	CHECK_EQ(mtree_store(&t, 0, P, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 0, 3, X, GFP_KERNEL), 0);
	CHECK_WALK(&t, 2, X, 0, 3);
	CHECK_EQ(mtree_store(&t, 0, P, GFP_KERNEL), 0);
	CHECK_WALK(&t, 0, P, 0, 0);
	CHECK_WALK(&t, 1, X, 1, 3);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		root_entry_cycle(odd[i], odd[(i + 1) % (sizeof(odd) /
							sizeof(odd[0]))]);
	root_entry_cycle(P, X);
	root_entry_cycle(P, (void *)0x2002UL);
}

/* ---- Many entries ------------------------------------------------------------ */

#define MANY 100000UL

static void *many_val(unsigned long i)
{
	return xa_mk_value(i);
}

/* Every range [10i, 10i+5] holds its value; the gaps read NULL. */
static void verify_many(struct maple_tree *t, const bool *present)
{
	unsigned long i, bad = 0;

	for (i = 0; i < MANY; i++) {
		void *want = (!present || present[i]) ? many_val(i) : NULL;
		void *e;

		e = mtree_load(t, 10 * i);
		if (e != want)
			note_bad(&bad, "load 10i", i, (uintptr_t)e,
				 (uintptr_t)want);
		e = mtree_load(t, 10 * i + 5);
		if (e != want)
			note_bad(&bad, "load 10i+5", i, (uintptr_t)e,
				 (uintptr_t)want);
		e = mtree_load(t, 10 * i + 6);
		if (e)
			note_bad(&bad, "load 10i+6", i, (uintptr_t)e, 0);
		e = mtree_load(t, 10 * i + 9);
		if (e)
			note_bad(&bad, "load 10i+9", i, (uintptr_t)e, 0);
	}
	CHECK_EQ(bad, 0);
	CHECK(mtree_load(t, 10 * MANY) == NULL);
	CHECK(mtree_load(t, MAX) == NULL);
}

static void iterate_many(struct maple_tree *t)
{
	unsigned long index = 0, n = 0, bad = 0;
	void *e;

	/* mt_for_each */
	mt_for_each(t, e, index, MAX) {
		if (e != many_val(n))
			note_bad(&bad, "mt_for_each entry", n, (uintptr_t)e,
				 (uintptr_t)many_val(n));
		if (index != 10 * n + 6)
			note_bad(&bad, "mt_for_each index", n, index,
				 10 * n + 6);
		n++;
		if (n > MANY)
			break;
	}
	CHECK_EQ(n, MANY);
	CHECK_EQ(bad, 0);

	/* mas_for_each and mas_for_each_rev, under the lock */
	{
		MA_STATE(mas, t, 0, 0);

		n = 0;
		bad = 0;
		mtree_lock(t);
		mas_for_each(&mas, e, MAX) {
			if (e != many_val(n) || mas.index != 10 * n ||
			    mas.last != 10 * n + 5)
				note_bad(&bad, "mas_for_each", n, mas.index,
					 10 * n);
			n++;
			if (n > MANY)
				break;
		}
		mtree_unlock(t);
		CHECK_EQ(n, MANY);
		CHECK_EQ(bad, 0);

		mtree_lock(t);
		mas_set(&mas, MAX);
		n = MANY;
		bad = 0;
		mas_for_each_rev(&mas, e, 0) {
			if (n == 0)
				break;
			n--;
			if (e != many_val(n) || mas.index != 10 * n)
				note_bad(&bad, "mas_for_each_rev", n,
					 mas.index, 10 * n);
		}
		mtree_unlock(t);
		CHECK_EQ(n, 0);
		CHECK_EQ(bad, 0);

		/* a window in the middle */
		mtree_lock(t);
		mas_set(&mas, 10 * 5000 + 3);
		n = 0;
		mas_for_each(&mas, e, 10 * 6000) {
			if (e != many_val(5000 + n))
				note_bad(&bad, "window", n, (uintptr_t)e,
					 (uintptr_t)many_val(5000 + n));
			n++;
			if (n > MANY)
				break;
		}
		mtree_unlock(t);
		CHECK_EQ(n, 1001);
		CHECK_EQ(bad, 0);
	}
}

static void build_many(struct maple_tree *t, const unsigned long *order)
{
	unsigned long i, bad = 0;

	mt_init(t);
	for (i = 0; i < MANY; i++) {
		unsigned long k = order ? order[i] : i;
		int ret = mtree_insert_range(t, 10 * k, 10 * k + 5,
					     many_val(k), GFP_KERNEL);

		if (ret)
			note_bad(&bad, "insert", k, (uintptr_t)ret, 0);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(mt_validate(t), 0);
	CHECK(mt_height(t) > 1);
	CHECK(!mtree_empty(t));
}

static void test_many(void)
{
	struct maple_tree t;
	unsigned long *order = malloc(MANY * sizeof(*order));
	bool *present = malloc(MANY * sizeof(*present));
	size_t live0 = nodes_live();
	unsigned long i, bad;
	unsigned int h0;

	if (!order || !present) {
		CHECK(order && present);
		free(order);
		free(present);
		return;
	}

	/* in order; erase right to left */
	build_many(&t, NULL);
	CHECK(nodes_live() > live0);
	verify_many(&t, NULL);
	iterate_many(&t);

	/* NULL ranges coalesce across leaves */
	for (i = 100; i < 300; i++)
		CHECK_PTR(mtree_erase(&t, 10 * i + 1), many_val(i));
	CHECK_WALK(&t, 1500, NULL, 996, 2999);
	CHECK_WALK(&t, 996, NULL, 996, 2999);
	CHECK_WALK(&t, 2999, NULL, 996, 2999);
	CHECK_WALK(&t, 995, many_val(99), 990, 995);
	CHECK_WALK(&t, 3000, many_val(300), 3000, 3005);
	CHECK_EQ(mt_validate(&t), 0);
	bad = 0;
	for (i = 100; i < 300; i++)
		if (mtree_insert_range(&t, 10 * i, 10 * i + 5, many_val(i),
				       GFP_KERNEL))
			note_bad(&bad, "reinsert", i, 0, 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(mt_validate(&t), 0);
	verify_many(&t, NULL);

	h0 = mt_height(&t);
	bad = 0;
	for (i = MANY; i-- > 0;) {
		void *e = mtree_erase(&t, 10 * i + 3);

		if (e != many_val(i))
			note_bad(&bad, "erase r-l", i, (uintptr_t)e,
				 (uintptr_t)many_val(i));
		if (i % 10000 == 0) {
			CHECK_EQ(mt_validate(&t), 0);
			CHECK(mt_height(&t) <= h0);
			CHECK(mtree_load(&t, 10 * i) == NULL);
			if (i)
				CHECK_PTR(mtree_load(&t, 10 * i - 5),
					  many_val(i - 1));
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
	CHECK_EQ(nodes_live(), live0);

	/* in order; erase left to right */
	build_many(&t, NULL);
	verify_many(&t, NULL);
	h0 = mt_height(&t);
	bad = 0;
	for (i = 0; i < MANY; i++) {
		void *e = mtree_erase(&t, 10 * i);

		if (e != many_val(i))
			note_bad(&bad, "erase l-r", i, (uintptr_t)e,
				 (uintptr_t)many_val(i));
		if (i % 10000 == 0) {
			CHECK_EQ(mt_validate(&t), 0);
			CHECK(mt_height(&t) <= h0);
			CHECK_PTR(mtree_load(&t, 10 * i + 15), many_val(i + 1));
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	mtree_destroy(&t);
	CHECK_EQ(nodes_live(), live0);

	/* shuffled; erase in another random order */
	for (i = 0; i < MANY; i++)
		order[i] = i;
	shuffle(order, MANY);
	build_many(&t, order);
	verify_many(&t, NULL);
	iterate_many(&t);
	h0 = mt_height(&t);
	shuffle(order, MANY);
	for (i = 0; i < MANY; i++)
		present[i] = true;
	bad = 0;
	for (i = 0; i < MANY; i++) {
		unsigned long k = order[i];
		void *e = mtree_erase(&t, 10 * k + (i % 6));

		present[k] = false;
		if (e != many_val(k))
			note_bad(&bad, "erase random", k, (uintptr_t)e,
				 (uintptr_t)many_val(k));
		if (i % 20000 == 0) {
			CHECK_EQ(mt_validate(&t), 0);
			CHECK(mt_height(&t) <= h0);
		}
		if (i == MANY / 2)
			verify_many(&t, present);
	}
	CHECK_EQ(bad, 0);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
	CHECK_EQ(nodes_live(), live0);

	free(order);
	free(present);
}

/* ---- Stores spanning nodes and levels ------------------------------------- */

#define SPAN_N 100000UL
#define SPAN_M 130000UL		/* the model covers [0, SPAN_M) */

/*
 * Compare the tree with the model: every maximal run of one value in the
 * model must be exactly one range in the tree (stored values are unique, so
 * two runs of one pointer can never touch), NULL runs included. Above the
 * model the tree must be NULL.
 */
static void verify_model(struct maple_tree *t, const uintptr_t *model)
{
	MA_STATE(mas, t, 0, 0);
	unsigned long start = 0, bad = 0;

	mtree_lock(t);
	while (start < SPAN_M) {
		unsigned long end = start;
		void *e;

		while (end + 1 < SPAN_M && model[end + 1] == model[start])
			end++;
		mas_set(&mas, start);
		e = mas_walk(&mas);
		if ((uintptr_t)e != model[start])
			note_bad(&bad, "model entry", start, (uintptr_t)e,
				 model[start]);
		if (mas.index != start)
			note_bad(&bad, "model range start", start, mas.index,
				 start);
		if (end + 1 < SPAN_M || model[start])
			if (mas.last != end)
				note_bad(&bad, "model range end", start,
					 mas.last, end);
		if (bad > 20)
			break;
		start = end + 1;
	}
	mas_set(&mas, SPAN_M);
	if (mas_walk(&mas) != NULL || mas.last != MAX)
		note_bad(&bad, "above model", SPAN_M, mas.last, MAX);
	mtree_unlock(t);
	CHECK_EQ(bad, 0);
}

static void test_spanning(void)
{
	struct maple_tree t;
	uintptr_t *model = calloc(SPAN_M, sizeof(*model));
	void *E = OBJ(5);
	unsigned long i, bad = 0, index;
	int op;

	if (!model) {
		CHECK(model != NULL);
		return;
	}

	mt_init(&t);
	for (i = 0; i < SPAN_N; i++)
		if (mtree_store(&t, i, xa_mk_value(i), GFP_KERNEL))
			note_bad(&bad, "fill", i, 0, 0);
	CHECK_EQ(bad, 0);
	CHECK(mt_height(&t) > 1);
	CHECK_EQ(mt_validate(&t), 0);

	/* one entry over [1000, 90000], spanning most of the tree */
	CHECK_EQ(mtree_store_range(&t, 1000, 90000, E, GFP_KERNEL), 0);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_load(&t, 999), xa_mk_value(999));
	CHECK_PTR(mtree_load(&t, 1000), E);
	CHECK_PTR(mtree_load(&t, 50000), E);
	CHECK_PTR(mtree_load(&t, 90000), E);
	CHECK_PTR(mtree_load(&t, 90001), xa_mk_value(90001));
	CHECK_PTR(mtree_load(&t, 0), xa_mk_value(0));
	CHECK_PTR(mtree_load(&t, 99999), xa_mk_value(99999));
	CHECK_WALK(&t, 50000, E, 1000, 90000);
	CHECK_WALK(&t, 999, xa_mk_value(999), 999, 999);
	CHECK_WALK(&t, 90001, xa_mk_value(90001), 90001, 90001);
	CHECK_EQ(count_entries(&t), 1000 + 1 + (SPAN_N - 1 - 90000));
	index = 998;
	CHECK_PTR(mt_find(&t, &index, MAX), xa_mk_value(998));
	CHECK_PTR(mt_find(&t, &index, MAX), xa_mk_value(999));
	CHECK_PTR(mt_find(&t, &index, MAX), E);
	CHECK_EQ(index, 90001);
	CHECK_PTR(mt_find(&t, &index, MAX), xa_mk_value(90001));

	/* NULL over a wide span */
	CHECK_EQ(mtree_store_range(&t, 500, 95000, NULL, GFP_KERNEL), 0);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_PTR(mtree_load(&t, 499), xa_mk_value(499));
	CHECK(mtree_load(&t, 500) == NULL);
	CHECK(mtree_load(&t, 1000) == NULL);
	CHECK(mtree_load(&t, 95000) == NULL);
	CHECK_PTR(mtree_load(&t, 95001), xa_mk_value(95001));
	CHECK_WALK(&t, 600, NULL, 500, 95000);
	CHECK_EQ(count_entries(&t), 500 + (SPAN_N - 1 - 95000));

	/* NULL over everything: empty */
	CHECK_EQ(mtree_store_range(&t, 0, MAX, NULL, GFP_KERNEL), 0);
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_height(&t), 0);
	CHECK(mtree_load(&t, 0) == NULL);
	CHECK(mtree_load(&t, 99999) == NULL);
	CHECK_WALK(&t, 5, NULL, 0, MAX);
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);

	/* an entry over everything replaces a tall tree */
	for (i = 0; i < SPAN_N; i += 2)
		(void)mtree_store(&t, i, xa_mk_value(i), GFP_KERNEL);
	CHECK_EQ(mtree_store_range(&t, 0, MAX, E, GFP_KERNEL), 0);
	CHECK_WALK(&t, 12345, E, 0, MAX);
	CHECK_EQ(mt_validate(&t), 0);
	CHECK_EQ(count_entries(&t), 1);
	mtree_destroy(&t);

	/* random spanning stores against a model */
	for (i = 0; i < SPAN_N; i++) {
		model[i] = (uintptr_t)xa_mk_value(i);
		(void)mtree_store(&t, i, xa_mk_value(i), GFP_KERNEL);
	}
	verify_model(&t, model);
	for (op = 0; op < 300; op++) {
		unsigned long first = harness_rand(&rng) % SPAN_M;
		unsigned long len, last, k;
		unsigned int kind = harness_rand(&rng) % 8;
		void *v = kind < 2 ? NULL : xa_mk_value(SPAN_M + op);

		if (kind % 4 == 3)
			len = harness_rand(&rng) % 60000;
		else if (kind % 4 == 2)
			len = harness_rand(&rng) % 2000;
		else
			len = harness_rand(&rng) % 40;
		last = first + len < SPAN_M ? first + len : SPAN_M - 1;
		if (mtree_store_range(&t, first, last, v, GFP_KERNEL)) {
			note_bad(&bad, "random store", first, last, 0);
			continue;
		}
		for (k = first; k <= last; k++)
			model[k] = (uintptr_t)v;
		if (mt_validate(&t)) {
			note_bad(&bad, "validate after store", first, last, 0);
			break;
		}
		if (op % 10 == 9)
			verify_model(&t, model);
	}
	CHECK_EQ(bad, 0);
	verify_model(&t, model);
	CHECK_EQ(mtree_store_range(&t, 0, MAX, NULL, GFP_KERNEL), 0);
	CHECK(mtree_empty(&t));
	mtree_destroy(&t);
	free(model);
}

/* ---- mt_next, mt_prev, mt_find ------------------------------------------------ */

static void test_next_prev_find(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *C = OBJ(3);
	unsigned long index, n;
	void *e;

	mt_init(&t);
	CHECK(mt_next(&t, 0, MAX) == NULL);
	CHECK(mt_prev(&t, MAX, 0) == NULL);
	index = 0;
	CHECK(mt_find(&t, &index, MAX) == NULL);

	CHECK_EQ(mtree_store_range(&t, 10, 19, A, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 30, 39, B, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&t, 50, 59, C, GFP_KERNEL), 0);

	CHECK_PTR(mt_next(&t, 0, MAX), A);
	CHECK_PTR(mt_next(&t, 9, MAX), A);
	CHECK_PTR(mt_next(&t, 19, MAX), B);
	CHECK_PTR(mt_next(&t, 25, MAX), B);
	CHECK_PTR(mt_next(&t, 40, MAX), C);
	CHECK(mt_next(&t, 59, MAX) == NULL);
	CHECK(mt_next(&t, 70, MAX) == NULL);
	CHECK(mt_next(&t, 25, 29) == NULL);
	CHECK_PTR(mt_next(&t, 25, 30), B);
	CHECK_PTR(mt_next(&t, 19, 35), B);

	CHECK_PTR(mt_prev(&t, MAX, 0), C);
	CHECK_PTR(mt_prev(&t, 60, 0), C);
	CHECK_PTR(mt_prev(&t, 50, 0), B);
	CHECK_PTR(mt_prev(&t, 45, 0), B);
	CHECK_PTR(mt_prev(&t, 30, 0), A);
	CHECK(mt_prev(&t, 10, 0) == NULL);
	CHECK(mt_prev(&t, 5, 0) == NULL);
	CHECK(mt_prev(&t, 0, 0) == NULL);
	CHECK(mt_prev(&t, 45, 40) == NULL);
	CHECK_PTR(mt_prev(&t, 45, 39), B);

	index = 0;
	CHECK_PTR(mt_find(&t, &index, MAX), A);
	CHECK_EQ(index, 20);
	CHECK_PTR(mt_find(&t, &index, MAX), B);
	CHECK_EQ(index, 40);
	CHECK_PTR(mt_find(&t, &index, MAX), C);
	CHECK_EQ(index, 60);
	CHECK(mt_find(&t, &index, MAX) == NULL);
	index = 15;
	CHECK_PTR(mt_find(&t, &index, MAX), A);
	CHECK_EQ(index, 20);
	index = 20;
	CHECK(mt_find(&t, &index, 29) == NULL);
	index = 20;
	CHECK_PTR(mt_find(&t, &index, 30), B);
	CHECK_EQ(index, 40);
	index = 59;
	CHECK_PTR(mt_find(&t, &index, 59), C);
	CHECK_EQ(index, 60);
	index = 60;
	CHECK(mt_find(&t, &index, MAX) == NULL);

	/* mt_find_after: NULL at index 0 (the wrap guard) */
	index = 0;
	CHECK(mt_find_after(&t, &index, MAX) == NULL);
	index = 5;
	CHECK_PTR(mt_find_after(&t, &index, MAX), A);
	CHECK_EQ(index, 20);

	/* mt_for_each with limits */
	index = 0;
	n = 0;
	mt_for_each(&t, e, index, 45) {
		n++;
		if (n > 10)
			break;
	}
	CHECK_EQ(n, 2);
	index = 0;
	n = 0;
	mt_for_each(&t, e, index, 30) {
		n++;
		if (n > 10)
			break;
	}
	CHECK_EQ(n, 2);
	index = 0;
	n = 0;
	mt_for_each(&t, e, index, 29) {
		n++;
		if (n > 10)
			break;
	}
	CHECK_EQ(n, 1);
	index = 35;
	n = 0;
	mt_for_each(&t, e, index, MAX) {
		if (n == 0)
			CHECK_PTR(e, B);
		n++;
		if (n > 10)
			break;
	}
	CHECK_EQ(n, 2);
	mtree_destroy(&t);
}

/* ---- Advanced API writes ------------------------------------------------------ */

static void test_advanced_writes(void)
{
	struct maple_tree t;
	void *A = OBJ(1), *B = OBJ(2), *C = OBJ(3), *D = OBJ(4), *E = OBJ(5);
	size_t live;
	void *e;

	mt_init(&t);
	{
		MA_STATE(mas, &t, 10, 19);

		mtree_lock(&t);
		CHECK(mt_lock_is_held(&t));
		e = mas_store(&mas, A);
		CHECK(e == NULL);
		CHECK(!mas_is_err(&mas));
		mtree_unlock(&t);
		CHECK_PTR(mtree_load(&t, 15), A);

		mtree_lock(&t);
		mas_set_range(&mas, 15, 25);
		CHECK_PTR(mas_store(&mas, B), A);
		mas_set_range(&mas, 10, 30);
		CHECK_PTR(mas_store(&mas, C), A);	/* first overwritten */
		mas_set_range(&mas, 40, 49);
		CHECK_EQ(mas_store_gfp(&mas, D, GFP_KERNEL), 0);
		mas_set_range(&mas, 45, 45);
		CHECK_EQ(mas_store_gfp(&mas, E, GFP_KERNEL), 0);
		mtree_unlock(&t);
		CHECK_WALK(&t, 20, C, 10, 30);
		CHECK_WALK(&t, 44, D, 40, 44);
		CHECK_WALK(&t, 45, E, 45, 45);
		CHECK_WALK(&t, 46, D, 46, 49);

		/* mas_erase: the whole range, old entry returned */
		mtree_lock(&t);
		mas_set(&mas, 12);
		CHECK_PTR(mas_erase(&mas), C);
		mas_set(&mas, 12);
		CHECK(mas_erase(&mas) == NULL);
		mas_set(&mas, 45);
		CHECK_PTR(mas_erase(&mas), E);
		mtree_unlock(&t);
		CHECK(mtree_load(&t, 10) == NULL);
		CHECK(mtree_load(&t, 30) == NULL);
		CHECK_WALK(&t, 45, NULL, 45, 45);
		CHECK_EQ(mt_validate(&t), 0);

		/* mas_lock/mas_unlock take the tree lock */
		mas_lock(&mas);
		CHECK(mt_lock_is_held(&t));
		mas_set_range(&mas, 100, 109);
		CHECK(mas_store(&mas, A) == NULL);
		mas_unlock(&mas);
		CHECK(!mt_lock_is_held(&t));
		CHECK_PTR(mtree_load(&t, 105), A);
	}

	/* preallocate + store_prealloc; preallocate + destroy */
	{
		MA_STATE(mas, &t, 60, 69);

		mtree_lock(&t);
		CHECK_EQ(mas_preallocate(&mas, E, GFP_KERNEL), 0);
		mas_store_prealloc(&mas, E);
		mas_destroy(&mas);
		mtree_unlock(&t);
		CHECK_WALK(&t, 65, E, 60, 69);
		CHECK_EQ(mt_validate(&t), 0);

		mt_rcu_barrier(NULL);
		live = nodes_live();
		mtree_lock(&t);
		mas_set_range(&mas, 70, 79);
		CHECK_EQ(mas_preallocate(&mas, A, GFP_KERNEL), 0);
		mas_destroy(&mas);
		mtree_unlock(&t);
		mt_rcu_barrier(NULL);
		CHECK_EQ(nodes_live(), live);
		CHECK(mtree_load(&t, 75) == NULL);
	}
	mtree_destroy(&t);

	/* preallocated spanning store on a taller tree */
	{
		MA_STATE(mas, &t, 100, 9000);
		unsigned long i;

		for (i = 0; i < 2000; i++)
			(void)mtree_store_range(&t, 10 * i, 10 * i + 5,
						xa_mk_value(i), GFP_KERNEL);
		CHECK(mt_height(&t) > 1);
		mtree_lock(&t);
		CHECK_EQ(mas_preallocate(&mas, B, GFP_KERNEL), 0);
		mas_store_prealloc(&mas, B);
		mas_destroy(&mas);
		/* and a preallocated NULL store that joins NULL ranges */
		mas_set_range(&mas, 9001, 15000);
		CHECK_EQ(mas_preallocate(&mas, NULL, GFP_KERNEL), 0);
		mas_store_prealloc(&mas, NULL);
		mas_destroy(&mas);
		/* and a preallocated split of a range */
		mas_set_range(&mas, 500, 600);
		CHECK_EQ(mas_preallocate(&mas, C, GFP_KERNEL), 0);
		mas_store_prealloc(&mas, C);
		mas_destroy(&mas);
		mtree_unlock(&t);
		CHECK_EQ(mt_validate(&t), 0);
		CHECK_PTR(mtree_load(&t, 95), xa_mk_value(9));
		CHECK(mtree_load(&t, 99) == NULL);
		CHECK_WALK(&t, 100, B, 100, 499);
		CHECK_WALK(&t, 550, C, 500, 600);
		CHECK_WALK(&t, 601, B, 601, 9000);
		CHECK_WALK(&t, 9001, NULL, 9001, 15000);
		CHECK_WALK(&t, 15003, xa_mk_value(1500), 15001, 15005);
		CHECK_PTR(mtree_load(&t, 15010), xa_mk_value(1501));
		mtree_destroy(&t);
	}
	mt_rcu_barrier(NULL);
}

/* Overwriting the current entry during mas_for_each visits each once. */
static void test_iterate_overwrite(void)
{
	struct maple_tree t;
	const unsigned long n = 3000;
	unsigned long i, seen, bad = 0;
	void *e;

	mt_init(&t);
	for (i = 0; i < n; i++)
		(void)mtree_store_range(&t, 10 * i, 10 * i + 5, xa_mk_value(i),
					GFP_KERNEL);
	{
		MA_STATE(mas, &t, 0, 0);

		seen = 0;
		mtree_lock(&t);
		mas_for_each(&mas, e, MAX) {
			void *old;

			if (e != xa_mk_value(seen) || mas.index != 10 * seen ||
			    mas.last != 10 * seen + 5)
				note_bad(&bad, "overwrite visit", seen,
					 (uintptr_t)e,
					 (uintptr_t)xa_mk_value(seen));
			old = mas_store(&mas, xa_mk_value(seen + n));
			if (old != e || mas_is_err(&mas))
				note_bad(&bad, "overwrite store", seen,
					 (uintptr_t)old, (uintptr_t)e);
			seen++;
			if (seen > 2 * n)
				break;
		}
		mtree_unlock(&t);
		CHECK_EQ(seen, n);
		CHECK_EQ(bad, 0);
	}
	CHECK_EQ(mt_validate(&t), 0);
	for (i = 0; i < n; i++)
		if (mtree_load(&t, 10 * i + 2) != xa_mk_value(i + n))
			note_bad(&bad, "overwritten value", i, 0, 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(count_entries(&t), n);

	/* storing NULL over each entry as it is visited empties the tree */
	{
		MA_STATE(mas, &t, 0, 0);

		seen = 0;
		mtree_lock(&t);
		mas_for_each(&mas, e, MAX) {
			if (e != xa_mk_value(seen + n))
				note_bad(&bad, "erase visit", seen,
					 (uintptr_t)e,
					 (uintptr_t)xa_mk_value(seen + n));
			(void)mas_store(&mas, NULL);
			if (mas_is_err(&mas))
				note_bad(&bad, "erase store", seen, 0, 0);
			seen++;
			if (seen > 2 * n)
				break;
		}
		mtree_unlock(&t);
		CHECK_EQ(seen, n);
		CHECK_EQ(bad, 0);
	}
	CHECK(mtree_empty(&t));
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* mas_pause: drop the lock, let the tree change, resume after last. */
static void test_pause(void)
{
	struct maple_tree t;
	const unsigned long n = 1000;
	unsigned long i, seen = 0, bad = 0;
	void *X = OBJ(9), *Y = OBJ(10), *e;

	mt_init(&t);
	for (i = 0; i < n; i++)
		(void)mtree_store_range(&t, 10 * i, 10 * i + 5, xa_mk_value(i),
					GFP_KERNEL);
	{
		MA_STATE(mas, &t, 0, 0);
		unsigned long expect = 0;
		bool extra_seen = false;

		mtree_lock(&t);
		mas_for_each(&mas, e, MAX) {
			if (e == X) {
				/* the entry stored just after the pause point */
				if (extra_seen || mas.index != 4996)
					note_bad(&bad, "pause extra", mas.index,
						 0, 0);
				extra_seen = true;
				seen++;
				continue;
			}
			if (expect == 500)	/* erased during the pause */
				expect++;
			if (e != xa_mk_value(expect) ||
			    mas.index != 10 * expect)
				note_bad(&bad, "pause visit", expect,
					 (uintptr_t)e,
					 (uintptr_t)xa_mk_value(expect));
			expect++;
			seen++;
			if (seen % 10 == 0) {
				mas_pause(&mas);
				mtree_unlock(&t);
				if (seen == 500) {
					/* we are at [4990, 4995] */
					CHECK_PTR(mtree_erase(&t, 5000),
						  xa_mk_value(500));
					CHECK_EQ(mtree_store_range(&t, 4996,
						4997, X, GFP_KERNEL), 0);
					CHECK_EQ(mtree_store_range(&t, 7, 8,
						Y, GFP_KERNEL), 0);
				}
				mtree_lock(&t);
			}
			if (seen > 2 * n)
				break;
		}
		mtree_unlock(&t);
		CHECK(extra_seen);
		CHECK_EQ(seen, n);
		CHECK_EQ(expect, n);
		CHECK_EQ(bad, 0);
	}
	/* pause at every step, dropping the lock each time */
	{
		MA_STATE(mas, &t, 0, 0);

		seen = 0;
		mtree_lock(&t);
		while ((e = mas_find(&mas, MAX)) != NULL) {
			seen++;
			mas_pause(&mas);
			mtree_unlock(&t);
			mtree_lock(&t);
			if (seen > 2 * n)
				break;
		}
		mtree_unlock(&t);
		CHECK_EQ(seen, n + 1);	/* + X + Y - entry 500 */
	}
	CHECK_EQ(mt_validate(&t), 0);
	mtree_destroy(&t);
}

/* ---- RCU mode ------------------------------------------------------------------ */

#define RCU_M 250000UL

static void test_rcu_mode(void)
{
	struct maple_tree t, u;
	uintptr_t *model = calloc(RCU_M, sizeof(*model));
	size_t live0;
	unsigned long i, bad = 0;

	if (!model) {
		CHECK(model != NULL);
		return;
	}
	mt_rcu_barrier(NULL);
	live0 = nodes_live();

	mt_init_flags(&t, MT_FLAGS_USE_RCU);
	CHECK(mt_in_rcu(&t));
	mt_clear_in_rcu(&t);
	CHECK(!mt_in_rcu(&t));
	mt_set_in_rcu(&t);
	CHECK(mt_in_rcu(&t));

	/* inserts, exact overwrites, a spanning store, erases, NULL span */
	for (i = 0; i < 20000; i++) {
		if (mtree_insert_range(&t, 10 * i, 10 * i + 5, xa_mk_value(i),
				       GFP_KERNEL))
			note_bad(&bad, "rcu insert", i, 0, 0);
		{
			unsigned long k;

			for (k = 10 * i; k <= 10 * i + 5; k++)
				model[k] = (uintptr_t)xa_mk_value(i);
		}
	}
	CHECK(nodes_live() > live0);
	for (i = 0; i < 20000; i += 3) {
		unsigned long k;

		(void)mtree_store_range(&t, 10 * i, 10 * i + 5,
					xa_mk_value(i + 1000000), GFP_KERNEL);
		for (k = 10 * i; k <= 10 * i + 5; k++)
			model[k] = (uintptr_t)xa_mk_value(i + 1000000);
	}
	CHECK_EQ(mtree_store_range(&t, 1003, 50007, OBJ(1), GFP_KERNEL), 0);
	for (i = 1003; i <= 50007; i++)
		model[i] = (uintptr_t)OBJ(1);
	for (i = 5100; i < 20000; i += 7) {
		unsigned long k;

		(void)mtree_erase(&t, 10 * i);
		for (k = 10 * i; k <= 10 * i + 5; k++)
			model[k] = 0;
	}
	CHECK_EQ(mtree_store_range(&t, 100000, 150000, NULL, GFP_KERNEL), 0);
	for (i = 100000; i <= 150000; i++)
		model[i] = 0;
	{
		/* Advanced API writes in RCU mode */
		MA_STATE(mas, &t, 210000, 219999);

		void *old;

		mtree_lock(&t);
		old = mas_store(&mas, OBJ(2));
		if (mas_is_err(&mas)) {
			/* mas_store() may only use reserves; retry */
			CHECK_EQ(xa_err(mas.node), -ENOMEM);
			mas_set_range(&mas, 210000, 219999);
			CHECK_EQ(mas_store_gfp(&mas, OBJ(2), GFP_KERNEL), 0);
		} else {
			CHECK(old == NULL);
		}
		mas_set_range(&mas, 199990, 210004);
		CHECK_EQ(mas_store_gfp(&mas, OBJ(3), GFP_KERNEL), 0);
		mtree_unlock(&t);
		for (i = 199990; i <= 210004; i++)
			model[i] = (uintptr_t)OBJ(3);
		for (i = 210005; i <= 219999; i++)
			model[i] = (uintptr_t)OBJ(2);
	}
	CHECK_EQ(mt_validate(&t), 0);
	for (i = 0; i < RCU_M; i++) {
		void *e = mtree_load(&t, i);

		if ((uintptr_t)e != model[i])
			note_bad(&bad, "rcu load", i, (uintptr_t)e, model[i]);
	}
	CHECK_EQ(bad, 0);
	{
		/* reads under the RCU read lock */
		MA_STATE(mas, &t, 1500, 1500);
		void *e;

		mt_rcu_read_lock();
		e = mas_walk(&mas);
		CHECK_PTR(e, OBJ(1));
		CHECK_EQ(mas.index, 1003);
		CHECK_EQ(mas.last, 50007);
		mt_rcu_read_unlock();
	}

	mt_rcu_barrier(&t);
	CHECK_EQ(nodes_rcu(), 0);
	CHECK(nodes_live() > live0);

	/* switching RCU mode on and off on a live tree */
	mt_init(&u);
	for (i = 0; i < 5000; i++)
		(void)mtree_store_range(&u, 4 * i, 4 * i + 1, xa_mk_value(i),
					GFP_KERNEL);
	mt_set_in_rcu(&u);
	CHECK(mt_in_rcu(&u));
	for (i = 0; i < 5000; i += 2)
		(void)mtree_erase(&u, 4 * i);
	CHECK_EQ(mtree_store_range(&u, 1000, 9000, OBJ(4), GFP_KERNEL), 0);
	CHECK_EQ(mt_validate(&u), 0);
	mt_clear_in_rcu(&u);
	CHECK(!mt_in_rcu(&u));
	for (i = 1; i < 5000; i += 2)
		(void)mtree_erase(&u, 4 * i);
	CHECK_PTR(mtree_load(&u, 5000), NULL);
	CHECK(mtree_empty(&u));
	CHECK_EQ(mt_validate(&u), 0);

	mtree_destroy(&t);
	mtree_destroy(&u);
	mt_rcu_barrier(&t);
	mt_rcu_barrier(&u);
	mt_rcu_barrier(NULL);
	CHECK_EQ(nodes_rcu(), 0);
	CHECK_EQ(nodes_live(), live0);
	free(model);
}

/* ---- Locks ------------------------------------------------------------------- */

struct ext_lock {
	pthread_mutex_t mutex;
	pthread_t owner;
	bool held;
};

static bool ext_lock_held(void *arg)
{
	struct ext_lock *l = arg;

	return __atomic_load_n(&l->held, __ATOMIC_ACQUIRE) &&
	       pthread_equal(l->owner, pthread_self());
}

static void ext_lock_take(struct ext_lock *l)
{
	pthread_mutex_lock(&l->mutex);
	l->owner = pthread_self();
	__atomic_store_n(&l->held, true, __ATOMIC_RELEASE);
}

static void ext_lock_drop(struct ext_lock *l)
{
	__atomic_store_n(&l->held, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&l->mutex);
}

static void *is_held_thread(void *arg)
{
	return mt_lock_is_held(arg) ? arg : NULL;
}

/* mt_lock_is_held() asked from another thread. */
static bool held_elsewhere(struct maple_tree *mt)
{
	pthread_t th;
	void *ret = NULL;

	if (pthread_create(&th, NULL, is_held_thread, mt))
		return true;	/* make the caller's check fail */
	pthread_join(th, &ret);
	return ret != NULL;
}

#define CHECK_ABORTS(fn, arg) do {					\
	int __st = harness_run_child((fn), (arg));				\
	CHECK(__st != -1 && WIFSIGNALED(__st));			\
	CHECK_EQ(__st != -1 && WIFSIGNALED(__st) ? WTERMSIG(__st) : -1,	\
		 SIGABRT);						\
} while (0)

#define CHECK_EXITS_CLEANLY(fn, arg) do {				\
	int __st = harness_run_child((fn), (arg));				\
	CHECK(__st != -1 && WIFEXITED(__st) && WEXITSTATUS(__st) == 0);	\
} while (0)

static struct maple_tree lk_int, lk_ext, lk_nocheck;
static struct ext_lock lk_ext_lock, lk_nocheck_lock;

static void child_int_mas_store(void *arg)
{
	MA_STATE(mas, &lk_int, 500, 510);

	(void)arg;
	(void)mas_store(&mas, OBJ(1));
}

static void child_int_mas_store_gfp(void *arg)
{
	MA_STATE(mas, &lk_int, 500, 510);

	(void)arg;
	(void)mas_store_gfp(&mas, OBJ(1), GFP_KERNEL);
}

static void child_int_mas_erase(void *arg)
{
	MA_STATE(mas, &lk_int, 15, 15);

	(void)arg;
	(void)mas_erase(&mas);
}

static void child_int_locked_store(void *arg)
{
	MA_STATE(mas, &lk_int, 500, 510);

	(void)arg;
	mtree_lock(&lk_int);
	(void)mas_store(&mas, OBJ(1));
	mtree_unlock(&lk_int);
	if (mtree_load(&lk_int, 505) != OBJ(1))
		_exit(3);
}

static void child_ext_store_range(void *arg)
{
	(void)arg;
	(void)mtree_store_range(&lk_ext, 500, 510, OBJ(1), GFP_KERNEL);
}

static void child_ext_mas_store(void *arg)
{
	MA_STATE(mas, &lk_ext, 500, 510);

	(void)arg;
	(void)mas_store(&mas, OBJ(1));
}

static void child_ext_erase(void *arg)
{
	(void)arg;
	(void)mtree_erase(&lk_ext, 15);
}

static void child_ext_locked_store(void *arg)
{
	MA_STATE(mas, &lk_ext, 520, 530);

	(void)arg;
	ext_lock_take(&lk_ext_lock);
	if (mtree_store_range(&lk_ext, 500, 510, OBJ(1), GFP_KERNEL))
		_exit(2);
	(void)mas_store(&mas, OBJ(2));
	ext_lock_drop(&lk_ext_lock);
	if (mtree_load(&lk_ext, 505) != OBJ(1) ||
	    mtree_load(&lk_ext, 525) != OBJ(2))
		_exit(3);
}

static void child_ext_mtree_lock(void *arg)
{
	(void)arg;
	mtree_lock(&lk_ext);
	mtree_unlock(&lk_ext);
}

static void child_nocheck_store_range(void *arg)
{
	(void)arg;
	ext_lock_take(&lk_nocheck_lock);	/* held, but nobody can tell */
	(void)mtree_store_range(&lk_nocheck, 500, 510, OBJ(1), GFP_KERNEL);
	ext_lock_drop(&lk_nocheck_lock);
}

static void child_nocheck_mas_store(void *arg)
{
	MA_STATE(mas, &lk_nocheck, 500, 510);

	(void)arg;
	ext_lock_take(&lk_nocheck_lock);
	(void)mas_store(&mas, OBJ(1));
	ext_lock_drop(&lk_nocheck_lock);
}

static void test_locks(void)
{
	struct maple_tree t;
	pthread_mutex_t other = PTHREAD_MUTEX_INITIALIZER;
	struct maple_tree static_ext = MTREE_INIT_EXT(static_ext,
						      MT_FLAGS_LOCK_EXTERN,
						      &other);

	/* internal lock */
	mt_init(&t);
	CHECK(!mt_lock_is_held(&t));
	CHECK(mt_external_lock(&t) == NULL);
	mtree_lock(&t);
	CHECK(mt_lock_is_held(&t));
	CHECK(!held_elsewhere(&t));
	{
		MA_STATE(mas, &t, 1, 2);

		CHECK(mas_store(&mas, OBJ(1)) == NULL);
		CHECK(!mas_is_err(&mas));
	}
	mtree_unlock(&t);
	CHECK(!mt_lock_is_held(&t));
	CHECK_PTR(mtree_load(&t, 2), OBJ(1));
	mtree_destroy(&t);

	CHECK(mt_external_lock(&static_ext) == &other);

	/* external lock with a check */
	pthread_mutex_init(&lk_ext_lock.mutex, NULL);
	mt_init_flags(&lk_ext, MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&lk_ext, &lk_ext_lock.mutex);
	mt_set_external_lock_check(&lk_ext, ext_lock_held, &lk_ext_lock);
	CHECK(mt_external_lock(&lk_ext) == &lk_ext_lock.mutex);
	CHECK(!mt_lock_is_held(&lk_ext));
	ext_lock_take(&lk_ext_lock);
	CHECK(mt_lock_is_held(&lk_ext));
	CHECK(!held_elsewhere(&lk_ext));
	CHECK_EQ(mtree_store_range(&lk_ext, 10, 19, OBJ(1), GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&lk_ext, 30, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_insert(&lk_ext, 30, OBJ(3), GFP_KERNEL), -EEXIST);
	{
		MA_STATE(mas, &lk_ext, 40, 49);

		CHECK(mas_store(&mas, OBJ(3)) == NULL);
		mas_set_range(&mas, 50, 59);
		CHECK_EQ(mas_store_gfp(&mas, OBJ(4), GFP_KERNEL), 0);
		mas_set(&mas, 55);
		CHECK_PTR(mas_erase(&mas), OBJ(4));
		mas_set(&mas, 45);
		CHECK_PTR(mas_walk(&mas), OBJ(3));
		CHECK_EQ(mas.index, 40);
		CHECK_EQ(mas.last, 49);
	}
	CHECK_PTR(mtree_erase(&lk_ext, 30), OBJ(2));
	CHECK_EQ(mt_validate(&lk_ext), 0);
	ext_lock_drop(&lk_ext_lock);
	CHECK(!mt_lock_is_held(&lk_ext));
	CHECK_PTR(mtree_load(&lk_ext, 15), OBJ(1));	/* loads need no lock */
	CHECK_PTR(mtree_load(&lk_ext, 45), OBJ(3));
	CHECK(mtree_load(&lk_ext, 30) == NULL);

	/* external lock, no check registered */
	pthread_mutex_init(&lk_nocheck_lock.mutex, NULL);
	mt_init_flags(&lk_nocheck, MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(&lk_nocheck, &lk_nocheck_lock.mutex);

	/* an internal-lock tree with content for the children */
	mt_init(&lk_int);
	CHECK_EQ(mtree_store_range(&lk_int, 10, 19, OBJ(1), GFP_KERNEL), 0);

	/* Loud failures: writes without the lock abort. */
	mt_rcu_barrier(NULL);	/* no deferred work running across fork() */
	CHECK_ABORTS(child_int_mas_store, NULL);
	CHECK_ABORTS(child_int_mas_store_gfp, NULL);
	CHECK_ABORTS(child_int_mas_erase, NULL);
	CHECK_ABORTS(child_ext_store_range, NULL);
	CHECK_ABORTS(child_ext_mas_store, NULL);
	CHECK_ABORTS(child_ext_erase, NULL);
	CHECK_ABORTS(child_ext_mtree_lock, NULL);
	CHECK_ABORTS(child_nocheck_store_range, NULL);
	CHECK_ABORTS(child_nocheck_mas_store, NULL);
	/* ... and the same writes with the lock held succeed */
	CHECK_EXITS_CLEANLY(child_int_locked_store, NULL);
	CHECK_EXITS_CLEANLY(child_ext_locked_store, NULL);

	/* the parent's trees are untouched by the children */
	CHECK(mtree_load(&lk_int, 505) == NULL);
	CHECK(mtree_load(&lk_ext, 505) == NULL);
	CHECK_PTR(mtree_load(&lk_int, 15), OBJ(1));
	CHECK_PTR(mtree_load(&lk_ext, 15), OBJ(1));

	mtree_destroy(&lk_int);
	ext_lock_take(&lk_ext_lock);
	mtree_destroy(&lk_ext);
	CHECK(mtree_empty(&lk_ext));
	ext_lock_drop(&lk_ext_lock);
	/* lk_nocheck never held nodes: nothing to destroy */
	CHECK(mtree_empty(&lk_nocheck));
}

/* ---- Validation and dumps --------------------------------------------------- */

static char *read_all(FILE *f, size_t *len)
{
	char *buf;
	long size;

	fflush(f);
	if (fseek(f, 0, SEEK_END) != 0)
		return NULL;
	size = ftell(f);
	if (size < 0)
		return NULL;
	rewind(f);
	buf = calloc(1, (size_t)size + 1);
	if (!buf)
		return NULL;
	*len = fread(buf, 1, (size_t)size, f);
	return buf;
}

static bool starts_with_digraph(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return strncmp(s, "digraph", 7) == 0;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* mt_dump() into a buffer, by pointing stderr at a temporary file. */
static char *capture_dump(struct maple_tree *mt, enum mt_dump_format fmt)
{
	FILE *tmp = tmpfile();
	char *out = NULL;
	size_t len = 0;
	int saved;

	if (!tmp)
		return NULL;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (saved < 0) {
		fclose(tmp);
		return NULL;
	}
	dup2(fileno(tmp), STDERR_FILENO);
	mt_dump(mt, fmt);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	out = read_all(tmp, &len);
	fclose(tmp);
	return out;
}

static void test_dump(void)
{
	struct maple_tree t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	unsigned long i;

	/* empty tree */
	mt_init(&t);
	f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), 0);
		fclose(f);
		CHECK(buf && starts_with_digraph(buf));
		free(buf);
		buf = NULL;
	}
	free(capture_dump(&t, mt_dump_dec));

	/* root pointer */
	CHECK_EQ(mtree_store(&t, 0, OBJ(1), GFP_KERNEL), 0);
	f = open_memstream(&buf, &len);
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), 0);
		fclose(f);
		CHECK(buf && starts_with_digraph(buf));
		free(buf);
		buf = NULL;
	}
	free(capture_dump(&t, mt_dump_hex));
	mtree_destroy(&t);

	/* a small tree with known ranges */
	CHECK_EQ(mtree_store_range(&t, 1000, 1999, xa_mk_value(1), GFP_KERNEL),
		 0);
	CHECK_EQ(mtree_store_range(&t, 3000, 3999, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mt_validate(&t), 0);
	f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), 0);
		fclose(f);
		CHECK(buf != NULL && len > 0);
		if (buf) {
			CHECK(starts_with_digraph(buf));
			CHECK(strstr(buf, "1999") || contains_ci(buf, "7cf"));
			CHECK(strstr(buf, "3999") || contains_ci(buf, "f9f"));
			CHECK(strchr(buf, '}') != NULL);
		}
		free(buf);
		buf = NULL;
	}
	f = tmpfile();
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), 0);
		buf = read_all(f, &len);
		CHECK(buf && starts_with_digraph(buf));
		free(buf);
		buf = NULL;
		fclose(f);
	}
	buf = capture_dump(&t, mt_dump_hex);
	CHECK(buf != NULL && buf[0] != '\0');
	if (buf)
		CHECK(contains_ci(buf, "7cf"));
	free(buf);
	buf = capture_dump(&t, mt_dump_dec);
	CHECK(buf != NULL && buf[0] != '\0');
	if (buf)
		CHECK(strstr(buf, "1999") != NULL);
	free(buf);
	buf = NULL;

	/* a write error is reported */
	f = fopen("/dev/null", "r");
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), -EIO);
		fclose(f);
	}

	/* a tree of several levels */
	for (i = 0; i < 3000; i++)
		(void)mtree_store_range(&t, 10 * i, 10 * i + 3, xa_mk_value(i),
					GFP_KERNEL);
	CHECK(mt_height(&t) > 1);
	CHECK_EQ(mt_validate(&t), 0);
	f = open_memstream(&buf, &len);
	if (f) {
		CHECK_EQ(mt_dump_dot(&t, f), 0);
		fclose(f);
		CHECK(buf && starts_with_digraph(buf));
		CHECK(buf && strstr(buf, "->") != NULL);
		free(buf);
		buf = NULL;
	}
	free(capture_dump(&t, mt_dump_dec));
	mtree_destroy(&t);
}

/* NULL trees and cursors without a tree: error codes, never a crash. */
static void test_null_inputs(void)
{
	struct ma_state mas = { .tree = NULL, .status = ma_start };
	unsigned long index = 5;

	CHECK(mtree_load(NULL, 0) == NULL);
	CHECK_EQ(mtree_store_range(NULL, 0, 1, xa_mk_value(1), GFP_KERNEL),
		 (unsigned long)(long)-EINVAL);
	CHECK_EQ(mtree_insert(NULL, 0, xa_mk_value(1), GFP_KERNEL),
		 (unsigned long)(long)-EINVAL);
	CHECK(mtree_erase(NULL, 0) == NULL);
	CHECK(mt_find(NULL, &index, ULONG_MAX) == NULL);
	CHECK_EQ(index, 5);
	CHECK(mt_next(NULL, 0, ULONG_MAX) == NULL);
	CHECK(mt_prev(NULL, 9, 0) == NULL);
	CHECK(mtree_empty(NULL));
	CHECK_EQ(mt_height(NULL), 0);
	CHECK_EQ(mt_validate(NULL), (unsigned long)(long)-EINVAL);
	mtree_destroy(NULL);

	CHECK(mas_walk(&mas) == NULL);
	CHECK(mas_is_err(&mas));
	CHECK_EQ(xa_err(mas.node), (unsigned long)(long)-EINVAL);
	mas.status = ma_start;
	CHECK(mas_find(&mas, ULONG_MAX) == NULL);
	CHECK(mas_is_err(&mas));
	mas.status = ma_start;
	CHECK(mas_next(&mas, ULONG_MAX) == NULL && mas_is_err(&mas));
	mas.status = ma_start;
	CHECK(mas_prev(&mas, 0) == NULL && mas_is_err(&mas));
	mas.status = ma_start;
	CHECK(mas_store(&mas, xa_mk_value(1)) == NULL && mas_is_err(&mas));
	CHECK_EQ(mas_store_gfp(&mas, xa_mk_value(1), GFP_KERNEL),
		 (unsigned long)(long)-EINVAL);
	CHECK_EQ(mas_preallocate(&mas, xa_mk_value(1), GFP_KERNEL),
		 (unsigned long)(long)-EINVAL);
}

/*
 * mas_store_exact(): in place over exactly one range, in every kind of
 * tree, with every allocation failing; -EBUSY (nothing changed) for a
 * span that is not one range or a NULL that would merge; a pre-split
 * makes a part of a range exact.
 */
static void test_store_exact(void)
{
	static const unsigned int kinds[] = {
		0, MT_FLAGS_USE_RCU, MT_FLAGS_ALLOC_RANGE,
		MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE,
	};

	for (unsigned int k = 0; k < 4; k++) {
		struct maple_tree mt;
		unsigned long i;

		mt_init_flags(&mt, kinds[k]);
		for (i = 0; i < 200; i++)
			CHECK_EQ(mtree_store_range(&mt, i * 10, i * 10 + 4,
						   xa_mk_value(i), GFP_KERNEL), 0);
		mtree_lock(&mt);
		mt_fault_inject_all(true);
		for (i = 0; i < 200; i += 7) {
			MA_STATE(mas, &mt, i * 10, i * 10 + 4);

			CHECK_EQ(mas_store_exact(&mas, xa_mk_value(i + 1000)), 0);
		}
		{	/* NULL between two entries: in place. */
			MA_STATE(fill, &mt, 55, 59);
			MA_STATE(mas, &mt, 50, 54);

			mt_fault_inject_all(false);
			CHECK_EQ(mas_store_gfp(&fill, xa_mk_value(3), GFP_KERNEL), 0);
			mas_set_range(&fill, 45, 49);
			CHECK_EQ(mas_store_gfp(&fill, xa_mk_value(3), GFP_KERNEL), 0);
			mt_fault_inject_all(true);
			CHECK_EQ(mas_store_exact(&mas, NULL), 0);
		}
		{	/* NULL next to a NULL would merge: refused. */
			MA_STATE(mas, &mt, 60, 64);

			CHECK_EQ(mas_store_exact(&mas, NULL), -EBUSY);
			CHECK(mtree_load(&mt, 62) == xa_mk_value(6));
		}
		{	/* Part of a range, two ranges, a gap's part: refused. */
			MA_STATE(a, &mt, 70, 73);
			MA_STATE(b, &mt, 70, 84);
			MA_STATE(c, &mt, 75, 78);

			CHECK_EQ(mas_store_exact(&a, xa_mk_value(1)), -EBUSY);
			CHECK_EQ(mas_store_exact(&b, xa_mk_value(1)), -EBUSY);
			CHECK_EQ(mas_store_exact(&c, xa_mk_value(1)), -EBUSY);
		}
		{	/* A gap exactly: in place; XA_ZERO_ENTRY too. */
			MA_STATE(a, &mt, 85, 89);
			MA_STATE(b, &mt, 95, 99);

			CHECK_EQ(mas_store_exact(&a, xa_mk_value(2)), 0);
			CHECK_EQ(mas_store_exact(&b, XA_ZERO_ENTRY), 0);
		}
		mt_fault_inject_all(false);
		for (i = 0; i < 200; i++) {
			void *want = i % 7 ? xa_mk_value(i) : xa_mk_value(i + 1000);

			if (i == 5)
				want = NULL;
			CHECK(mtree_load(&mt, i * 10 + 2) == want);
		}
		CHECK(mtree_load(&mt, 87) == xa_mk_value(2));
		CHECK(mtree_load(&mt, 97) == NULL);
		{	/* Pre-split: the entry stored over a part makes it exact. */
			MA_STATE(split, &mt, 72, 74);
			MA_STATE(part, &mt, 72, 74);

			CHECK_EQ(mas_store_exact(&part, xa_mk_value(8)), -EBUSY);
			CHECK_EQ(mas_store_gfp(&split, xa_mk_value(1007), GFP_KERNEL), 0);
			mt_fault_inject_all(true);
			CHECK_EQ(mas_store_exact(&part, xa_mk_value(8)), 0);
			mt_fault_inject_all(false);
			CHECK(mtree_load(&mt, 71) == xa_mk_value(1007));
			CHECK(mtree_load(&mt, 73) == xa_mk_value(8));
		}
		{
			MA_STATE(bad, &mt, 10, 5);

			CHECK_EQ(mas_store_exact(&bad, xa_mk_value(1)), -EINVAL);
		}
		mtree_unlock(&mt);
		CHECK_EQ(mt_validate(&mt), 0);
		mtree_destroy(&mt);
	}
}

int main(void)
{
	struct mt_cache_stats st;

	urcu_memb_register_thread();
	rng = harness_seed("test_api");
	mt_cache_stats(&st);
	live_at_start = st.nodes_live;

	test_init();
	test_store_overwrite();
	test_insert();
	test_erase();
	test_bad_input();
	test_ulong_max();
	test_root_pointer();
	test_many();
	test_spanning();
	test_next_prev_find();
	test_advanced_writes();
	test_iterate_overwrite();
	test_pause();
	test_rcu_mode();
	test_locks();
	test_dump();
	test_null_inputs();
	test_store_exact();

	/* Nothing leaked. */
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, live_at_start);
	CHECK_EQ(st.nodes_rcu, 0);

	urcu_memb_unregister_thread();
	return harness_finish();
}
