// SPDX-License-Identifier: MIT
/*
 * The ma_state transition table: every line of "Cursor states" in the spec,
 * plus its "Further fixed points", tested through the public API only.
 *
 * Each case builds its starting state explicitly (start, pause, none, root
 * or active), checks that state, makes one call and checks the returned
 * entry, status, index and last.
 *
 * Two fixtures:
 *  - a root-pointer tree: a single entry at index 0 and no nodes;
 *  - a tree with nodes: V1 over [10,19], V3 over [30,39], V5 over [50,59],
 *    so the NULL ranges are [0,9], [20,29], [40,49] and [60,ULONG_MAX].
 *
 * Advanced API reads happen under mtree_lock(); the lock is dropped before
 * any Normal API write.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

#define MAX ULONG_MAX

static int root_object;			/* its address is the root entry */
#define RP ((void *)&root_object)	/* low bits 00: a plain pointer */

#define V1 xa_mk_value(1)
#define V3 xa_mk_value(3)
#define V5 xa_mk_value(5)

/* Check entry, status, index and last after a call, in one line. */
#define CHECK_MAS(mas, got, want, st, idx, lst) do {			\
	CHECK_EQ((uintptr_t)(got), (uintptr_t)(want));			\
	CHECK_EQ((mas).status, (st));					\
	CHECK_EQ((mas).index, (idx));					\
	CHECK_EQ((mas).last, (lst));					\
} while (0)

/* Entry and range only, for lines that leave the resulting status open. */
#define CHECK_RANGE(mas, got, want, idx, lst) do {			\
	CHECK_EQ((uintptr_t)(got), (uintptr_t)(want));			\
	CHECK_EQ((mas).index, (idx));					\
	CHECK_EQ((mas).last, (lst));					\
} while (0)

/* ---- Fixtures ------------------------------------------------------------ */

static void build_root_tree(struct maple_tree *mt)
{
	mt_init(mt);
	CHECK_EQ(mtree_store(mt, 0, RP, GFP_KERNEL), 0);
	CHECK_EQ(mt_height(mt), 0);
	CHECK(!mtree_empty(mt));
}

static void populate_nodes(struct maple_tree *mt)
{
	CHECK_EQ(mtree_store_range(mt, 10, 19, V1, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, 30, 39, V3, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, 50, 59, V5, GFP_KERNEL), 0);
	CHECK(mt_height(mt) >= 1);
	CHECK_EQ(mt_validate(mt), 0);
}

static void build_nodes_tree(struct maple_tree *mt)
{
	mt_init(mt);
	populate_nodes(mt);
}

/*
 * Root-pointer tree: bring @mas into state none with index == 0 (mas_prev
 * from index 0 gives NULL, none, [0, 0]).
 */
static void root_none_at_zero(struct ma_state *mas)
{
	void *e;

	mas_set(mas, 0);
	e = mas_prev(mas, 0);
	CHECK_MAS(*mas, e, NULL, ma_none, 0, 0);
}

/*
 * Root-pointer tree: bring @mas into state none with index > 0 (mas_next
 * finds nothing after index 0: NULL, none, [1, ULONG_MAX]).
 */
static void root_none_above_zero(struct ma_state *mas)
{
	void *e;

	mas_set(mas, 0);
	e = mas_next(mas, MAX);
	CHECK_MAS(*mas, e, NULL, ma_none, 1, MAX);
}

/* Root-pointer tree: state root with index 0 (walk at 0). */
static void root_root_at_zero(struct ma_state *mas)
{
	void *e;

	mas_set(mas, 0);
	e = mas_walk(mas);
	CHECK_MAS(*mas, e, RP, ma_root, 0, 0);
}

/* Root-pointer tree: state root with index > 0 (walk at 10). */
static void root_root_above_zero(struct ma_state *mas)
{
	void *e;

	mas_set(mas, 10);
	e = mas_walk(mas);
	CHECK_MAS(*mas, e, NULL, ma_root, 1, MAX);
}

/* Root-pointer tree: paused after a walk at @index. */
static void root_pause(struct ma_state *mas, unsigned long index)
{
	mas_set(mas, index);
	(void)mas_walk(mas);
	mas_pause(mas);
	CHECK_EQ(mas->status, ma_pause);
}

/* ---- Root-pointer tree ----------------------------------------------------- */

static void test_root_next(void)
{
	struct maple_tree mt;
	void *e;

	build_root_tree(&mt);
	mtree_lock(&mt);
	{
		/* start, index 0, fresh MA_STATE */
		MA_STATE(mas, &mt, 0, 0);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);
	}
	{
		/* start, index > 0, fresh MA_STATE */
		MA_STATE(mas, &mt, 10, 10);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* start via mas_set */
		mas_set(&mas, 0);
		CHECK_EQ(mas.status, ma_start);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		mas_set(&mas, 7);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		/* pause (after a walk at 0, and after a walk beyond 0) */
		root_pause(&mas, 0);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		root_pause(&mas, 10);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		/* root */
		root_root_at_zero(&mas);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		root_root_above_zero(&mas);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);

		/* none with index == 0: the entry */
		root_none_at_zero(&mas);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		/* none with index > 0: nothing */
		root_none_above_zero(&mas);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);
		/* and again: still nothing */
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, MAX);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

static void test_root_prev(void)
{
	struct maple_tree mt;
	void *e;

	build_root_tree(&mt);
	mtree_lock(&mt);
	{
		/* index > 0, start, fresh MA_STATE */
		MA_STATE(mas, &mt, 10, 10);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	{
		/* index == 0, start, fresh MA_STATE */
		MA_STATE(mas, &mt, 0, 0);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* index > 0 */
		mas_set(&mas, 10);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		mas_set(&mas, MAX);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_pause(&mas, 10);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_none_above_zero(&mas);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		/* index == 0 */
		mas_set(&mas, 0);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_pause(&mas, 0);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_none_at_zero(&mas);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_root_at_zero(&mas);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

static void test_root_find(void)
{
	struct maple_tree mt;
	void *e;

	build_root_tree(&mt);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 10, 10);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* index > 0: start, pause, root -> NULL, none, [0, 0] */
		mas_set(&mas, 10);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_pause(&mas, 10);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_root_above_zero(&mas);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		/* index > 0 from none: NULL, none, [1, 1] */
		root_none_above_zero(&mas);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_none, 1, 1);

		/* index == 0: start, pause, none -> the entry */
		mas_set(&mas, 0);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_pause(&mas, 0);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_none_at_zero(&mas);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

static void test_root_find_rev(void)
{
	struct maple_tree mt;
	void *e;

	build_root_tree(&mt);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 10, 10);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* index > 0: start, pause, none -> the entry */
		mas_set(&mas, 10);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_pause(&mas, 10);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_none_above_zero(&mas);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		/* index == 0: start, pause, none, root -> NULL, none, [0, 0] */
		mas_set(&mas, 0);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_pause(&mas, 0);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_none_at_zero(&mas);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);

		root_root_at_zero(&mas);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
		/* that none (index 0) stays none */
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

static void test_root_walk(void)
{
	struct maple_tree mt;
	void *e;

	build_root_tree(&mt);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 10, 10);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);
	}
	{
		MA_STATE(mas, &mt, 0, 0);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* index > 0 from start, pause, none, root: NULL, root, [1, MAX] */
		mas_set(&mas, 10);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		mas_set(&mas, MAX);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		root_pause(&mas, 10);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		root_none_above_zero(&mas);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		root_root_above_zero(&mas);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		root_root_at_zero(&mas);
		__mas_set_range(&mas, 5, 5);
		CHECK_EQ(mas.status, ma_root);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_root, 1, MAX);

		/* index == 0 from every state: the entry, root, [0, 0] */
		mas_set(&mas, 0);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_pause(&mas, 0);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_none_at_zero(&mas);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_root_at_zero(&mas);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_root_above_zero(&mas);
		__mas_set_range(&mas, 0, 0);
		CHECK_EQ(mas.status, ma_root);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);

		root_none_above_zero(&mas);
		__mas_set_range(&mas, 0, 0);
		CHECK_EQ(mas.status, ma_none);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, RP, ma_root, 0, 0);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

static void test_empty_walk(void)
{
	struct maple_tree mt;
	void *e;

	mt_init(&mt);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 0, 0);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_none, 0, MAX);
	}
	{
		MA_STATE(mas, &mt, 12345, 12345);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_none, 0, MAX);
		mas_set(&mas, MAX);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_none, 0, MAX);
	}
	mtree_unlock(&mt);

	/* A tree emptied by a NULL store over everything walks the same. */
	build_nodes_tree(&mt);
	CHECK_EQ(mtree_store_range(&mt, 0, MAX, NULL, GFP_KERNEL), 0);
	CHECK(mtree_empty(&mt));
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 35, 35);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_none, 0, MAX);
	}
	mtree_unlock(&mt);
	mtree_destroy(&mt);
}

/* ---- Tree with nodes --------------------------------------------------------- */

/*
 * A cursor in state none on a tree with nodes: walk an empty tree (none,
 * [0, ULONG_MAX]), then let the tree grow. The cursor points at no node, so
 * it stays valid. __mas_set_range() then places it without changing state.
 */
struct none_fixture {
	struct maple_tree mt;
	struct ma_state mas;
};

static void none_fixture_init(struct none_fixture *f)
{
	void *e;

	mt_init(&f->mt);
	f->mas = (struct ma_state){
		.tree = &f->mt, .index = 0, .last = 0, .node = NULL,
		.min = 0, .max = MAX, .alloc = NULL, .reservation = NULL,
		.status = ma_start,
	};
	mtree_lock(&f->mt);
	e = mas_walk(&f->mas);
	CHECK_MAS(f->mas, e, NULL, ma_none, 0, MAX);
	mtree_unlock(&f->mt);
	populate_nodes(&f->mt);
}

/* Place the none cursor at [index, last] (status stays none). */
static void none_at(struct none_fixture *f, unsigned long index,
		    unsigned long last)
{
	__mas_set_range(&f->mas, index, last);
	CHECK_EQ(f->mas.status, ma_none);
	CHECK_EQ(f->mas.index, index);
	CHECK_EQ(f->mas.last, last);
}

static void none_fixture_fini(struct none_fixture *f)
{
	CHECK_EQ(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
}

/* Nodes tree: walk to @index and check the state is active. */
static void *walk_active(struct ma_state *mas, unsigned long index)
{
	void *e;

	mas_set(mas, index);
	e = mas_walk(mas);
	CHECK_EQ(mas->status, ma_active);
	return e;
}

/* Nodes tree: paused after a walk at @index. */
static void pause_at(struct ma_state *mas, unsigned long index)
{
	(void)walk_active(mas, index);
	mas_pause(mas);
	CHECK_EQ(mas->status, ma_pause);
}

static void test_nodes_next(void)
{
	struct maple_tree mt;
	struct none_fixture nf;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/* found from start (fresh MA_STATE) */
		MA_STATE(mas, &mt, 0, 0);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* found from start (mas_set), in a NULL range and on an entry */
		mas_set(&mas, 25);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		mas_set(&mas, 15);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		/* found from pause: resumes after last */
		pause_at(&mas, 15);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		pause_at(&mas, 45);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* found from active */
		e = walk_active(&mas, 15);
		CHECK_EQ((uintptr_t)e, (uintptr_t)V1);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		e = walk_active(&mas, 5);	/* on the NULL range [0,9] */
		CHECK(e == NULL);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		/* found within a limit that the entry's start respects */
		(void)walk_active(&mas, 15);
		e = mas_next(&mas, 30);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		/* not found: NULL, on the last range looked at */
		mas_set(&mas, 55);
		e = mas_next(&mas, MAX);
		CHECK_RANGE(mas, e, NULL, 60, MAX);

		mas_set(&mas, 65);
		e = mas_next(&mas, MAX);
		CHECK(e == NULL);

		pause_at(&mas, 55);
		e = mas_next(&mas, MAX);
		CHECK_RANGE(mas, e, NULL, 60, MAX);

		/* not found from active, past the last entry: overflow */
		(void)walk_active(&mas, 55);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_overflow, 60, MAX);

		/* beyond the limit: NULL, overflow, the last range looked at */
		(void)walk_active(&mas, 35);
		e = mas_next(&mas, 45);
		CHECK_MAS(mas, e, NULL, ma_overflow, 40, 49);

		(void)walk_active(&mas, 15);
		e = mas_next(&mas, 25);
		CHECK_MAS(mas, e, NULL, ma_overflow, 20, 29);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* found from none */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 25, 25);
	e = mas_next(&nf.mas, MAX);
	CHECK_MAS(nf.mas, e, V3, ma_active, 30, 39);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 0, 0);
	e = mas_next(&nf.mas, MAX);
	CHECK_MAS(nf.mas, e, V1, ma_active, 10, 19);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);
}

static void test_nodes_prev(void)
{
	struct maple_tree mt;
	struct none_fixture nf;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/* found from start (fresh MA_STATE) */
		MA_STATE(mas, &mt, 45, 45);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* found from start, on an entry and in a NULL range */
		mas_set(&mas, 35);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		mas_set(&mas, MAX);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* found from pause */
		pause_at(&mas, 35);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		pause_at(&mas, 65);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* found from active */
		(void)walk_active(&mas, 55);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		(void)walk_active(&mas, 45);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		/* not found from start, pause: NULL, index/last set to min */
		mas_set(&mas, 5);
		e = mas_prev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 0);

		pause_at(&mas, 5);
		e = mas_prev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 0);

		/* not found from active: the last range looked at */
		(void)walk_active(&mas, 5);
		CHECK_EQ(mas.index, 0);
		CHECK_EQ(mas.last, 9);
		e = mas_prev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 9);

		/* below the limit: NULL, underflow, the last range looked at */
		(void)walk_active(&mas, 35);
		e = mas_prev(&mas, 25);
		CHECK_MAS(mas, e, NULL, ma_underflow, 20, 29);

		(void)walk_active(&mas, 35);
		e = mas_prev(&mas, 30);
		CHECK_MAS(mas, e, NULL, ma_underflow, 30, 39);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* found from none */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 45, 45);
	e = mas_prev(&nf.mas, 0);
	CHECK_MAS(nf.mas, e, V3, ma_active, 30, 39);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, MAX, MAX);
	e = mas_prev(&nf.mas, 0);
	CHECK_MAS(nf.mas, e, V5, ma_active, 50, 59);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	/* not found from none: stays none, set to min */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 5, 5);
	e = mas_prev(&nf.mas, 0);
	CHECK_MAS(nf.mas, e, NULL, ma_none, 0, 0);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	/*
	 * From root, whatever is there: NULL, none, [0, 0]. The cursor was
	 * left in state root by a walk while the tree was a root pointer; the
	 * tree then grew nodes.
	 */
	{
		MA_STATE(mas, &mt, 0, 0);

		build_root_tree(&mt);
		mtree_lock(&mt);
		root_root_at_zero(&mas);
		mtree_unlock(&mt);
		populate_nodes(&mt);
		mtree_lock(&mt);
		CHECK_EQ(mas.status, ma_root);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
		mtree_unlock(&mt);
		CHECK_EQ(mt_validate(&mt), 0);
		mtree_destroy(&mt);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		build_root_tree(&mt);
		mtree_lock(&mt);
		root_root_above_zero(&mas);
		mtree_unlock(&mt);
		populate_nodes(&mt);
		mtree_lock(&mt);
		CHECK_EQ(mas.status, ma_root);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_none, 0, 0);
		mtree_unlock(&mt);
		mtree_destroy(&mt);
	}
}

static void test_nodes_find(void)
{
	struct maple_tree mt;
	struct none_fixture nf;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/* found from start: at index or after */
		MA_STATE(mas, &mt, 15, 15);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		mas_set(&mas, 0);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		mas_set(&mas, 25);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		mas_set(&mas, 39);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		mas_set(&mas, 41);
		e = mas_find(&mas, 50);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* not found from active: the last range looked at */
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 60, MAX);

		mas_set(&mas, 0);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		/* not found from active: the last range looked at */
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 60, MAX);

		(void)walk_active(&mas, 15);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		(void)walk_active(&mas, 35);
		e = mas_find(&mas, 45);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);

		/* found from pause: resumes after last */
		pause_at(&mas, 15);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		pause_at(&mas, 25);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		/* not found from start: index/last set to max */
		mas_set(&mas, 65);
		e = mas_find(&mas, MAX);
		CHECK_RANGE(mas, e, NULL, MAX, MAX);

		mas_set(&mas, 41);
		e = mas_find(&mas, 45);
		CHECK_RANGE(mas, e, NULL, 45, 45);

		/* not found from pause: index/last set to max */
		pause_at(&mas, 55);
		e = mas_find(&mas, MAX);
		CHECK_RANGE(mas, e, NULL, MAX, MAX);

		pause_at(&mas, 35);
		e = mas_find(&mas, 45);
		CHECK_RANGE(mas, e, NULL, 45, 45);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* found from none: searching from last */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 5, 25);
	e = mas_find(&nf.mas, MAX);
	CHECK_MAS(nf.mas, e, V3, ma_active, 30, 39);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 0, 0);
	e = mas_find(&nf.mas, MAX);
	CHECK_MAS(nf.mas, e, V1, ma_active, 10, 19);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);
}

static void test_nodes_find_rev(void)
{
	struct maple_tree mt;
	struct none_fixture nf;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/* found from start: at index or before */
		MA_STATE(mas, &mt, 35, 35);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		mas_set(&mas, 45);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		mas_set(&mas, MAX);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		mas_set(&mas, 10);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		/* found from active: the entry before */
		(void)walk_active(&mas, 55);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		/* not found from active: the last range looked at */
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 0, 9);

		(void)walk_active(&mas, 35);
		e = mas_find_rev(&mas, 25);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);

		/* found from pause: resumes before index */
		pause_at(&mas, 35);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		pause_at(&mas, 45);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);

		/* not found from start: set to min */
		mas_set(&mas, 5);
		e = mas_find_rev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 0);

		mas_set(&mas, 25);
		e = mas_find_rev(&mas, 22);
		CHECK_RANGE(mas, e, NULL, 22, 22);

		/* not found from pause: set to min */
		pause_at(&mas, 15);
		e = mas_find_rev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 0);

		pause_at(&mas, 35);
		e = mas_find_rev(&mas, 25);
		CHECK_RANGE(mas, e, NULL, 25, 25);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* found from none: searching from index */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 25, 55);
	e = mas_find_rev(&nf.mas, 0);
	CHECK_MAS(nf.mas, e, V1, ma_active, 10, 19);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, MAX, MAX);
	e = mas_find_rev(&nf.mas, 0);
	CHECK_MAS(nf.mas, e, V5, ma_active, 50, 59);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);
}

static void test_nodes_walk(void)
{
	struct maple_tree mt;
	struct none_fixture nf;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 15, 15);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
	}
	{
		MA_STATE(mas, &mt, 25, 25);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		/* from start */
		mas_set(&mas, 30);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		mas_set(&mas, 0);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 0, 9);
		mas_set(&mas, MAX);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 60, MAX);
		mas_set(&mas, 59);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* from pause */
		pause_at(&mas, 15);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		pause_at(&mas, 15);
		__mas_set_range(&mas, 45, 45);
		CHECK_EQ(mas.status, ma_pause);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);

		pause_at(&mas, 45);
		__mas_set_range(&mas, 52, 52);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		/* from active: within the current range, then elsewhere */
		(void)walk_active(&mas, 15);
		__mas_set_range(&mas, 12, 12);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);

		(void)walk_active(&mas, 25);
		__mas_set_range(&mas, 22, 22);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);

		(void)walk_active(&mas, 15);
		mas.index = mas.last = 55;
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);

		mas.index = mas.last = 41;
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* from none */
	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 15, 15);
	e = mas_walk(&nf.mas);
	CHECK_MAS(nf.mas, e, V1, ma_active, 10, 19);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	none_fixture_init(&nf);
	mtree_lock(&nf.mt);
	none_at(&nf, 25, 25);
	e = mas_walk(&nf.mas);
	CHECK_MAS(nf.mas, e, NULL, ma_active, 20, 29);
	mtree_unlock(&nf.mt);
	none_fixture_fini(&nf);

	/* from root: the tree grew nodes after the walk that set root */
	{
		MA_STATE(mas, &mt, 0, 0);

		build_root_tree(&mt);
		mtree_lock(&mt);
		root_root_at_zero(&mas);
		mtree_unlock(&mt);
		populate_nodes(&mt);
		mtree_lock(&mt);
		__mas_set_range(&mas, 15, 15);
		CHECK_EQ(mas.status, ma_root);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		mtree_unlock(&mt);
		mtree_destroy(&mt);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		build_root_tree(&mt);
		mtree_lock(&mt);
		root_root_at_zero(&mas);
		mtree_unlock(&mt);
		populate_nodes(&mt);
		mtree_lock(&mt);
		CHECK_EQ(mas.status, ma_root);
		e = mas_walk(&mas);		/* index 0: RP, now in a node */
		CHECK_MAS(mas, e, RP, ma_active, 0, 0);
		mtree_unlock(&mt);
		mtree_destroy(&mt);
	}
	{
		MA_STATE(mas, &mt, 0, 0);

		build_root_tree(&mt);
		mtree_lock(&mt);
		root_root_at_zero(&mas);
		mtree_unlock(&mt);
		populate_nodes(&mt);
		mtree_lock(&mt);
		__mas_set_range(&mas, 25, 25);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
		mtree_unlock(&mt);
		mtree_destroy(&mt);
	}
}

/* ---- Further fixed points ----------------------------------------------------- */

static void test_fixed_points(void)
{
	struct maple_tree mt;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/*
		 * mas_next past the last entry: NULL, overflow, the trailing
		 * NULL range; then mas_prev returns the last entry.
		 */
		MA_STATE(mas, &mt, 0, 0);

		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_overflow, 60, MAX);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
	}
	{
		/* the same after a next that overflowed twice */
		MA_STATE(mas, &mt, 52, 52);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_overflow, 60, MAX);
		e = mas_next(&mas, MAX);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_overflow);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
	}
	{
		/*
		 * mas_prev at the first entry: underflow, index/last unchanged;
		 * mas_find from underflow returns the current entry.
		 */
		MA_STATE(mas, &mt, 15, 15);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_prev(&mas, 10);
		CHECK_MAS(mas, e, NULL, ma_underflow, 10, 19);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		/* and on from there */
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
	}
	{
		/* the same reached by iterating backwards */
		MA_STATE(mas, &mt, MAX, MAX);

		e = mas_find_rev(&mas, 10);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_prev(&mas, 10);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_prev(&mas, 10);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_prev(&mas, 10);
		CHECK_MAS(mas, e, NULL, ma_underflow, 10, 19);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
	}
	{
		/*
		 * After mas_next returned E and then overflowed (the limit
		 * falls inside E), mas_prev returns E again ...
		 */
		MA_STATE(mas, &mt, 15, 15);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_next(&mas, 35);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_overflow);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
	}
	{
		/* ... while mas_find_rev returns the entry before E. */
		MA_STATE(mas, &mt, 15, 15);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_next(&mas, 35);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_overflow);
		e = mas_find_rev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* mas_prev at a first entry that starts at index 0 */
	mt_init(&mt);
	CHECK_EQ(mtree_store_range(&mt, 0, 4, V1, GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&mt, 8, 9, V3, GFP_KERNEL), 0);
	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 2, 2);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 0, 4);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_underflow, 0, 4);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 0, 4);
		e = mas_find(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 8, 9);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

/* ---- Range iteration (NULL ranges included) ---------------------------------- */

static void test_ranges(void)
{
	struct maple_tree mt;
	void *e;

	build_nodes_tree(&mt);
	mtree_lock(&mt);
	{
		/* mas_find_range upward from an entry */
		MA_STATE(mas, &mt, 15, 15);

		e = mas_find_range(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_find_range(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
		e = mas_find_range(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_find_range(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);
		e = mas_find_range(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_find_range(&mas, MAX);
		CHECK_RANGE(mas, e, NULL, 60, MAX);
	}
	{
		/* mas_next_range after a walk */
		MA_STATE(mas, &mt, 5, 5);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 0, 9);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_next_range(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_active, 60, MAX);
		/* past the limit */
		e = mas_next_range(&mas, MAX);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_overflow);
	}
	{
		/* mas_next_range stops at its limit */
		MA_STATE(mas, &mt, 15, 15);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_next_range(&mas, 25);
		CHECK_RANGE(mas, e, NULL, 20, 29);
		e = mas_next_range(&mas, 25);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_overflow);
	}
	{
		/* mas_prev_range after a walk */
		MA_STATE(mas, &mt, MAX, MAX);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, NULL, ma_active, 60, MAX);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_prev_range(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 0, 9);
		/* below the limit */
		e = mas_prev_range(&mas, 0);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_underflow);
	}
	{
		/* mas_prev_range stops at its limit */
		MA_STATE(mas, &mt, 55, 55);

		e = mas_walk(&mas);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_prev_range(&mas, 45);
		CHECK_RANGE(mas, e, NULL, 40, 49);
		e = mas_prev_range(&mas, 45);
		CHECK(e == NULL);
		CHECK_EQ(mas.status, ma_underflow);
	}
	{
		/* mas_find_range_rev downward from an entry */
		MA_STATE(mas, &mt, 55, 55);

		e = mas_find_range_rev(&mas, 0);
		CHECK_MAS(mas, e, V5, ma_active, 50, 59);
		e = mas_find_range_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 40, 49);
		e = mas_find_range_rev(&mas, 0);
		CHECK_MAS(mas, e, V3, ma_active, 30, 39);
		e = mas_find_range_rev(&mas, 0);
		CHECK_MAS(mas, e, NULL, ma_active, 20, 29);
		e = mas_find_range_rev(&mas, 0);
		CHECK_MAS(mas, e, V1, ma_active, 10, 19);
		e = mas_find_range_rev(&mas, 0);
		CHECK_RANGE(mas, e, NULL, 0, 9);
	}
	{
		/* Every range exactly once, from an entry to the end. */
		MA_STATE(mas, &mt, 10, 10);
		unsigned long expect_first = 10;
		unsigned int ranges = 0, entries = 0;

		for (;;) {
			e = mas_find_range(&mas, MAX);
			CHECK_EQ(mas.index, expect_first);
			if (mas.index != expect_first)
				break;
			ranges++;
			if (e)
				entries++;
			if (mas.last == MAX)
				break;
			expect_first = mas.last + 1;
		}
		CHECK_EQ(ranges, 6);
		CHECK_EQ(entries, 3);
	}
	mtree_unlock(&mt);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

/*
 * The same transitions on a taller tree: entries span several leaves, so the
 * cursor moves between nodes (and through parents) on next/prev.
 */
static void test_multi_node(void)
{
	struct maple_tree mt;
	const unsigned long n = 2000;
	unsigned long i, count;
	void *e;

	mt_init(&mt);
	for (i = 1; i <= n; i++)
		CHECK_EQ(mtree_store_range(&mt, 10 * i, 10 * i + 4,
					   xa_mk_value(i), GFP_KERNEL), 0);
	CHECK(mt_height(&mt) > 1);
	CHECK_EQ(mt_validate(&mt), 0);

	mtree_lock(&mt);
	{
		MA_STATE(mas, &mt, 0, 0);

		/* next through every leaf */
		count = 0;
		while ((e = mas_next(&mas, MAX)) != NULL) {
			count++;
			CHECK_EQ((uintptr_t)e, (uintptr_t)xa_mk_value(count));
			CHECK_EQ(mas.index, 10 * count);
			CHECK_EQ(mas.last, 10 * count + 4);
			CHECK_EQ(mas.status, ma_active);
			if (count > n)
				break;
		}
		CHECK_EQ(count, n);
		CHECK_EQ(mas.status, ma_overflow);
		CHECK_EQ(mas.index, 10 * n + 5);
		CHECK_EQ(mas.last, MAX);

		/* prev through every leaf, from overflow */
		count = n;
		while ((e = mas_prev(&mas, 0)) != NULL) {
			CHECK_EQ((uintptr_t)e, (uintptr_t)xa_mk_value(count));
			CHECK_EQ(mas.index, 10 * count);
			CHECK_EQ(mas.last, 10 * count + 4);
			if (count == 0)
				break;
			count--;
		}
		CHECK_EQ(count, 0);
		CHECK(e == NULL);

		/* next_range and prev_range alternate NULL and entries */
		mas_set(&mas, 10);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, xa_mk_value(1), ma_active, 10, 14);
		for (i = 1; i < n; i++) {
			e = mas_next_range(&mas, MAX);
			CHECK_RANGE(mas, e, NULL, 10 * i + 5, 10 * i + 9);
			e = mas_next_range(&mas, MAX);
			CHECK_RANGE(mas, e, xa_mk_value(i + 1), 10 * (i + 1),
				    10 * (i + 1) + 4);
		}
		for (i = n; i > 1; i--) {
			e = mas_prev_range(&mas, 0);
			CHECK_RANGE(mas, e, NULL, 10 * (i - 1) + 5,
				    10 * (i - 1) + 9);
			e = mas_prev_range(&mas, 0);
			CHECK_RANGE(mas, e, xa_mk_value(i - 1), 10 * (i - 1),
				    10 * (i - 1) + 4);
		}

		/* walk a NULL range at every leaf boundary */
		for (i = 1; i < n; i += 37) {
			mas_set(&mas, 10 * i + 7);
			e = mas_walk(&mas);
			CHECK_MAS(mas, e, NULL, ma_active, 10 * i + 5,
				  10 * i + 9);
		}

		/* pause and resume across leaves */
		mas_set(&mas, 0);
		count = 0;
		while ((e = mas_find(&mas, MAX)) != NULL) {
			count++;
			CHECK_EQ((uintptr_t)e, (uintptr_t)xa_mk_value(count));
			mas_pause(&mas);
			if (count > n)
				break;
		}
		CHECK_EQ(count, n);

		/* reverse find with pauses */
		mas_set(&mas, MAX);
		count = n;
		while ((e = mas_find_rev(&mas, 0)) != NULL) {
			CHECK_EQ((uintptr_t)e, (uintptr_t)xa_mk_value(count));
			mas_pause(&mas);
			if (count == 0)
				break;
			count--;
		}
		CHECK_EQ(count, 0);

		/* fixed point across a node boundary: overflow then prev */
		mas_set(&mas, 10 * n);
		e = mas_walk(&mas);
		CHECK_MAS(mas, e, xa_mk_value(n), ma_active, 10 * n, 10 * n + 4);
		e = mas_next(&mas, MAX);
		CHECK_MAS(mas, e, NULL, ma_overflow, 10 * n + 5, MAX);
		e = mas_prev(&mas, 0);
		CHECK_MAS(mas, e, xa_mk_value(n), ma_active, 10 * n,
			  10 * n + 4);
	}
	mtree_unlock(&mt);
	mtree_destroy(&mt);
}

/*
 * A cursor that walked an empty tree is none over [0, ULONG_MAX]. If the
 * tree then gains a root entry, mas_next must not go back to index 0.
 */
static void test_empty_walk_then_root_entry(void)
{
	struct maple_tree t;
	void *e;

	mt_init(&t);
	MA_STATE(mas, &t, 0, 0);
	CHECK(mas_walk(&mas) == NULL);
	CHECK_EQ(mas.status, ma_none);
	CHECK_EQ(mas.last, ULONG_MAX);
	CHECK_EQ(mtree_store(&t, 0, xa_mk_value(7), GFP_KERNEL), 0);
	e = mas_next(&mas, ULONG_MAX);
	CHECK(e == NULL);
	CHECK_EQ(mas.status, ma_none);
	CHECK_EQ(mas.index, 1);
	CHECK_EQ(mas.last, ULONG_MAX);
	mtree_destroy(&t);
}

int main(void)
{
	urcu_memb_register_thread();

	test_root_next();
	test_root_prev();
	test_root_find();
	test_root_find_rev();
	test_root_walk();
	test_empty_walk();
	test_nodes_next();
	test_nodes_prev();
	test_nodes_find();
	test_nodes_find_rev();
	test_nodes_walk();
	test_fixed_points();
	test_ranges();
	test_multi_node();
	test_empty_walk_then_root_entry();

	mt_rcu_barrier(NULL);
	urcu_memb_unregister_thread();
	return harness_finish();
}
