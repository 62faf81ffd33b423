// SPDX-License-Identifier: MIT
/*
 * mtree_dup() and __mt_dup(). A copy must hold the same ranges (NULL ones
 * included) in the same shape (height, and as many nodes as the original),
 * validate, answer gap searches and allocations as the original does, and
 * share nothing with it. Mismatched flags or a non-empty target give
 * -EINVAL and change neither tree. A failing node allocation, wherever it
 * falls, gives -ENOMEM with the target left empty and no node leaked.
 *
 * Fixed trees first (empty, root pointer, one leaf, several levels,
 * reservations and values, ULONG_MAX, gap tracking, RCU mode, external
 * locks, errors, fault sweeps), then 1000 random trees.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

#define MAX	ULONG_MAX
#define ALLOC	MT_FLAGS_ALLOC_RANGE
#define RCU	MT_FLAGS_USE_RCU

#define CHECK_PTR(a, b) CHECK_EQ((uintptr_t)(a), (uintptr_t)(b))

static uint64_t rng;

/* Names the tree under test in mismatch messages. */
static char ctx[96] = "";

/* Mismatch messages left to print, so a broken loop does not flood. */
static int diff_budget = 40;

/* Distinct plain pointers to store. */
static int objs[64];
#define OBJ(n) ((void *)&objs[(n)])

/* A random number below @n; any 64-bit value if @n is 0. */
static unsigned long rnd(uint64_t *st, unsigned long n)
{
	return n ? harness_rand(st) % n : harness_rand(st);
}

/* @first + @len, clamped to ULONG_MAX. */
static unsigned long end_of(unsigned long first, unsigned long len)
{
	return first > MAX - len ? MAX : first + len;
}

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

/* ---- Locks ---------------------------------------------------------------- */

/*
 * Take @mt's internal lock unless this thread holds its lock already: the
 * tests hold external locks themselves for the whole time they use such a
 * tree, so the helpers below work on both kinds.
 */
static bool lock_tree(struct maple_tree *mt)
{
	if (mt_lock_is_held(mt))
		return false;
	mtree_lock(mt);
	return true;
}

static void unlock_tree(struct maple_tree *mt, bool taken)
{
	if (taken)
		mtree_unlock(mt);
}

struct ext_lock {
	pthread_mutex_t mutex;
	pthread_t owner;
	bool held;
};

static bool ext_held(void *arg)
{
	struct ext_lock *l = arg;

	return l->held && pthread_equal(l->owner, pthread_self());
}

static void ext_init(struct maple_tree *mt, struct ext_lock *l)
{
	pthread_mutex_init(&l->mutex, NULL);
	l->held = false;
	mt_init_flags(mt, MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(mt, &l->mutex);
	mt_set_external_lock_check(mt, ext_held, l);
}

static void ext_take(struct ext_lock *l)
{
	pthread_mutex_lock(&l->mutex);
	l->owner = pthread_self();
	l->held = true;
}

static void ext_drop(struct ext_lock *l)
{
	l->held = false;
	pthread_mutex_unlock(&l->mutex);
}

/* ---- Snapshots: every range of a tree, NULL ones included ---------------- */

struct range {
	unsigned long first, last;
	void *entry;
};

struct snapshot {
	struct range *r;
	size_t n, cap;
	bool broken;	/* the walk did not tile [0, ULONG_MAX] */
};

static struct snapshot s_orig, s_copy, s_keep, s_mut, s_tmp;

static void snap_push(struct snapshot *s, unsigned long first,
		      unsigned long last, void *entry)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r)
			abort();
	}
	s->r[s->n++] = (struct range){ first, last, entry };
}

/* Walk @mt with mas_find_range() from 0 to ULONG_MAX. */
static void snap(struct maple_tree *mt, struct snapshot *s)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long expect = 0;
	bool taken = lock_tree(mt);

	s->n = 0;
	s->broken = false;
	for (;;) {
		void *entry = mas_find_range(&mas, MAX);

		/* Stop at a hole, an overlap or a runaway walk. */
		if (mas.index != expect || mas.last < mas.index ||
		    s->n > (1u << 22)) {
			s->broken = true;
			break;
		}
		snap_push(s, mas.index, mas.last, entry);
		if (mas.last == MAX)
			break;
		expect = mas.last + 1;
	}
	unlock_tree(mt, taken);
}

/* True if @got holds exactly the ranges of @want; reports the first diff. */
static bool snap_same(const struct snapshot *want, const struct snapshot *got,
		      const char *what)
{
	size_t i;

	if (want->broken || got->broken) {
		if (diff_budget-- > 0)
			fprintf(stderr, "  %s: %s: a walk does not tile the "
				"index space (want %d, got %d)\n",
				ctx, what, want->broken, got->broken);
		return false;
	}
	for (i = 0; i < want->n && i < got->n; i++) {
		const struct range *w = &want->r[i], *g = &got->r[i];

		if (w->first == g->first && w->last == g->last &&
		    w->entry == g->entry)
			continue;
		if (diff_budget-- > 0)
			fprintf(stderr, "  %s: %s: range %zu is [%#lx, %#lx] "
				"%p, want [%#lx, %#lx] %p\n", ctx, what, i,
				g->first, g->last, g->entry, w->first, w->last,
				w->entry);
		return false;
	}
	if (want->n != got->n) {
		if (diff_budget-- > 0)
			fprintf(stderr, "  %s: %s: %zu ranges, want %zu\n",
				ctx, what, got->n, want->n);
		return false;
	}
	return true;
}

/* True if @s is the snapshot of an empty tree. */
static bool snap_empty(const struct snapshot *s)
{
	return !s->broken && s->n == 1 && s->r[0].first == 0 &&
	       s->r[0].last == MAX && s->r[0].entry == NULL;
}

/* mas_walk() at @index: the entry and the range around it. */
static void *walk_at(struct maple_tree *mt, unsigned long index,
		     unsigned long *first, unsigned long *last)
{
	MA_STATE(mas, mt, index, index);
	bool taken = lock_tree(mt);
	void *entry = mas_walk(&mas);

	unlock_tree(mt, taken);
	*first = mas.index;
	*last = mas.last;
	return entry;
}

#define CHECK_WALK(mt, idx, want, f, l) do {				\
	unsigned long __f, __l;						\
	void *__e = walk_at((mt), (idx), &__f, &__l);			\
	CHECK_PTR(__e, (want));						\
	CHECK_EQ(__f, (f));						\
	CHECK_EQ(__l, (l));						\
} while (0)

/* ---- What a copy must share with its original ---------------------------- */

/* An index near the tree's content (a range edge or inside one), or any. */
static unsigned long some_index(const struct snapshot *s, uint64_t *st)
{
	const struct range *r;

	if (!s->n || !rnd(st, 8))
		return rnd(st, 0);
	r = &s->r[rnd(st, s->n)];
	switch (rnd(st, 3)) {
	case 0:
		return r->first;
	case 1:
		return r->last;
	default:
		/* 0 when r spans everything: rnd() then takes any value */
		return r->first + rnd(st, r->last - r->first + 1);
	}
}

static void order(unsigned long *lo, unsigned long *hi)
{
	unsigned long t = *lo;

	if (*lo > *hi) {
		*lo = *hi;
		*hi = t;
	}
}

static int empty_area(struct maple_tree *mt, bool rev, unsigned long min,
		      unsigned long max, unsigned long size,
		      unsigned long *start)
{
	MA_STATE(mas, mt, 0, 0);
	bool taken = lock_tree(mt);
	int ret = rev ? mas_empty_area_rev(&mas, min, max, size) :
			mas_empty_area(&mas, min, max, size);

	unlock_tree(mt, taken);
	*start = ret ? 0 : mas.index;
	return ret;
}

/*
 * Gap searches over random windows give the same answers in both trees:
 * in gap-tracking trees this reads the copied gap values.
 */
static void check_gaps(struct maple_tree *orig, struct maple_tree *copy,
		       const struct snapshot *s, uint64_t *st, int rounds)
{
	unsigned long bad = 0;
	int i;

	for (i = 0; i < rounds; i++) {
		unsigned long size = 1 + rnd(st, 1UL << rnd(st, 20));
		unsigned long min = 0, max = MAX, a, b;
		bool rev = i & 1;
		int ra, rb;

		switch (rnd(st, 4)) {
		case 0:
			break;
		case 1:
			min = some_index(s, st);
			break;
		case 2:
			max = some_index(s, st);
			break;
		default:
			min = some_index(s, st);
			max = some_index(s, st);
			order(&min, &max);
			break;
		}
		ra = empty_area(orig, rev, min, max, size, &a);
		rb = empty_area(copy, rev, min, max, size, &b);
		if (ra != rb || a != b) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: empty_area%s(%#lx, %#lx,"
					" %lu): copy %d/%#lx, original %d/%#lx\n",
					ctx, rev ? "_rev" : "", min, max, size,
					rb, b, ra, a);
		}
	}
	CHECK_EQ(bad, 0);
}

/* @copy is a faithful copy of @orig. */
static void check_copy(struct maple_tree *orig, struct maple_tree *copy,
		       uint64_t *st)
{
	unsigned long bad = 0;
	size_t i, step;

	snap(orig, &s_orig);
	snap(copy, &s_copy);
	CHECK(!s_orig.broken);
	CHECK(snap_same(&s_orig, &s_copy, "copy"));
	CHECK_EQ(mt_height(copy), mt_height(orig));
	CHECK_EQ(mtree_empty(copy), mtree_empty(orig));
	CHECK_EQ(mt_in_rcu(copy), mt_in_rcu(orig));
	CHECK_EQ(mt_validate(copy), 0);
	/* Loads descend under RCU, not through the cursor: sample both. */
	step = s_orig.n / 64 + 1;
	for (i = 0; i < s_orig.n; i += step) {
		const struct range *r = &s_orig.r[i];
		void *want = xa_is_zero(r->entry) ? NULL : r->entry;

		if (mtree_load(copy, r->first) != want ||
		    mtree_load(copy, r->last) != want) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: load in [%#lx, %#lx] "
					"of the copy is not %p\n", ctx,
					r->first, r->last, want);
		}
	}
	CHECK_EQ(bad, 0);
	check_gaps(orig, copy, &s_orig, st, 8);
}

/* mtree_dup(), or __mt_dup() with both locks taken as asked (new's first). */
static int dup(struct maple_tree *orig, struct maple_tree *copy, bool locked)
{
	bool tc, to;
	int ret;

	if (!locked)
		return mtree_dup(orig, copy, GFP_KERNEL);
	tc = lock_tree(copy);
	to = lock_tree(orig);
	ret = __mt_dup(orig, copy, GFP_KERNEL);
	unlock_tree(orig, to);
	unlock_tree(copy, tc);
	return ret;
}

/*
 * Dup @orig, which holds @nodes nodes, into the empty @copy and check the
 * copy. Node by node means exactly as many nodes again, no more, no less.
 */
static void dup_check(struct maple_tree *orig, struct maple_tree *copy,
		      size_t nodes, bool locked, uint64_t *st)
{
	size_t live = nodes_live();
	int ret = dup(orig, copy, locked);

	CHECK_EQ(ret, 0);
	if (ret)
		return;
	CHECK_EQ(nodes_live() - live, nodes);
	check_copy(orig, copy, st);
}

/*
 * Writes to @a leave @b as it was: exact overwrites of existing ranges
 * (done in place outside RCU mode, so a leaf both trees shared would show
 * them), stores across several ranges, and erases.
 */
static void check_independent(struct maple_tree *a, struct maple_tree *b,
			      uint64_t *st, int ops)
{
	unsigned long bad = 0;
	int i;

	snap(b, &s_keep);
	snap(a, &s_mut);
	for (i = 0; i < ops; i++) {
		unsigned long first = rnd(st, 1000), last = first;
		void *entry = xa_mk_value(0x5000000 + i);

		if (s_mut.n && !s_mut.broken) {
			const struct range *r = &s_mut.r[rnd(st, s_mut.n)];

			first = r->first;
			last = r->last;
		}
		switch (i % 4) {
		case 0:
		case 1:
			break;
		case 2:
			last = end_of(first, rnd(st, 1000));
			break;
		default:
			(void)mtree_erase(a, first);
			if (mtree_load(a, first) != NULL)
				bad++;
			continue;
		}
		if (mtree_store_range(a, first, last, entry, GFP_KERNEL) ||
		    mtree_load(a, first) != entry ||
		    mtree_load(a, last) != entry)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(mt_validate(a), 0);
	CHECK_EQ(mt_validate(b), 0);
	snap(b, &s_tmp);
	CHECK(snap_same(&s_keep, &s_tmp, "tree after writes to its twin"));
}

/*
 * Destroying @a leaves @b whole: no node of @b was @a's. Refilling @a
 * right away hands @a's freed nodes out again, so a shared one would be
 * overwritten.
 */
static void check_destroy_one(struct maple_tree *a, struct maple_tree *b)
{
	unsigned long i;

	snap(b, &s_keep);
	mtree_destroy(a);
	CHECK(mtree_empty(a));
	CHECK_EQ(mt_height(a), 0);
	for (i = 0; i < 200; i++)
		(void)mtree_store_range(a, 3 * i, 3 * i + 1,
					xa_mk_value(0x6000000 + i), GFP_KERNEL);
	snap(b, &s_tmp);
	CHECK(snap_same(&s_keep, &s_tmp, "tree after its twin was destroyed"));
	CHECK_EQ(mt_validate(b), 0);
	mtree_destroy(a);
}

/*
 * Same allocations in both trees give the same answers, and leave the
 * trees alike. Returns how many allocations succeeded.
 */
static unsigned long check_alloc_same(struct maple_tree *orig,
				      struct maple_tree *copy,
				      const struct snapshot *s, uint64_t *st,
				      int rounds)
{
	unsigned long bad = 0, ok = 0;
	int i;

	for (i = 0; i < rounds; i++) {
		unsigned long size = 1 + rnd(st, 1UL << rnd(st, 16));
		unsigned long min = 0, max = MAX, a = 0, b = 0;
		void *entry = xa_mk_value(0x7000000 + i);
		int ra, rb;

		if (rnd(st, 2)) {
			min = some_index(s, st);
			max = some_index(s, st);
			order(&min, &max);
		}
		if (i & 1) {
			ra = mtree_alloc_rrange(orig, &a, entry, size, min, max,
						GFP_KERNEL);
			rb = mtree_alloc_rrange(copy, &b, entry, size, min, max,
						GFP_KERNEL);
		} else {
			ra = mtree_alloc_range(orig, &a, entry, size, min, max,
					       GFP_KERNEL);
			rb = mtree_alloc_range(copy, &b, entry, size, min, max,
					       GFP_KERNEL);
		}
		if (ra != rb || (!ra && a != b)) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: alloc_%s(%lu in [%#lx, "
					"%#lx]): copy %d/%#lx, original "
					"%d/%#lx\n", ctx, i & 1 ? "rrange" :
					"range", size, min, max, rb, b, ra, a);
		}
		ok += !ra;
	}
	CHECK_EQ(bad, 0);
	snap(orig, &s_orig);
	snap(copy, &s_copy);
	CHECK(snap_same(&s_orig, &s_copy, "copy after the same allocations"));
	CHECK_EQ(mt_validate(copy), 0);
	return ok;
}

/* ---- Builders --------------------------------------------------------------- */

/*
 * Fill @mt with [10i, 10i + 5] until it is @height levels tall, then punch
 * NULL gaps and reservations into it. Returns the nodes it holds.
 */
static size_t build_tall(struct maple_tree *mt, unsigned int height)
{
	size_t live = nodes_live();
	unsigned long i, j;

	for (i = 0; mt_height(mt) < height && i < 2000000; i++)
		(void)mtree_store_range(mt, 10 * i, 10 * i + 5, xa_mk_value(i),
					GFP_KERNEL);
	for (j = 0; j < i; j += 7)
		(void)mtree_erase(mt, 10 * j);
	for (j = 3; j < i; j += 11)
		(void)mtree_store_range(mt, 10 * j + 6, 10 * j + 9,
					XA_ZERO_ENTRY, GFP_KERNEL);
	CHECK(mt_height(mt) >= height);		/* the setup did its job */
	return nodes_live() - live;
}

/* A tree of @n ranges with gaps; returns the nodes it holds. */
static size_t build_spaced(struct maple_tree *mt, unsigned long n)
{
	size_t live = nodes_live();
	unsigned long i;

	for (i = 0; i < n; i++)
		(void)mtree_store_range(mt, 100 * i + 1, 100 * i + 1 + i % 40,
					i % 9 ? xa_mk_value(i) : XA_ZERO_ENTRY,
					GFP_KERNEL);
	return nodes_live() - live;
}

/* ---- Fixed trees -------------------------------------------------------------- */

static void test_empty(void)
{
	static const unsigned int flags[] = {
		0, ALLOC, RCU, ALLOC | RCU, MT_FLAGS_LOCK_BH,
	};
	struct maple_tree orig, copy;
	unsigned long i;
	size_t f, nodes, live;

	for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		snprintf(ctx, sizeof(ctx), "empty tree, flags %#x", flags[f]);
		mt_init_flags(&orig, flags[f]);
		mt_init_flags(&copy, flags[f]);
		live = nodes_live();
		CHECK_EQ(dup(&orig, &copy, f & 1), 0);
		CHECK_EQ(nodes_live(), live);	/* nothing to copy */
		check_copy(&orig, &copy, &rng);
		CHECK(mtree_empty(&copy));
		CHECK_EQ(mt_height(&copy), 0);
		/* The copy is a working tree of its own. */
		CHECK_EQ(mtree_store_range(&copy, 5, 9, OBJ(1), GFP_KERNEL), 0);
		CHECK_PTR(mtree_load(&copy, 7), OBJ(1));
		CHECK(mtree_empty(&orig));
		mtree_destroy(&copy);
		mtree_destroy(&orig);
	}

	/* Emptied by erasing: whatever is left, the copy matches it. */
	snprintf(ctx, sizeof(ctx), "tree emptied by erases");
	mt_init(&orig);
	live = nodes_live();
	for (i = 0; i < 300; i++)
		CHECK_EQ(mtree_store_range(&orig, 4 * i, 4 * i + 2,
					   xa_mk_value(i), GFP_KERNEL), 0);
	for (i = 0; i < 300; i++)
		CHECK_PTR(mtree_erase(&orig, 4 * i + 1), xa_mk_value(i));
	nodes = nodes_live() - live;
	CHECK(mtree_empty(&orig));
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, false, &rng);
	CHECK(mtree_empty(&copy));
	mtree_destroy(&copy);
	mtree_destroy(&orig);
}

static void test_root(void)
{
	/* Values (low bits 01) and internal-looking ones (10) too. */
	void *entries[] = {
		OBJ(3), xa_mk_value(7), XA_ZERO_ENTRY, xa_mk_value(0),
		(void *)(uintptr_t)0x10002,
	};
	struct maple_tree orig, copy;
	size_t i, nodes, live;
	unsigned int height;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		void *e = entries[i];
		void *seen = xa_is_zero(e) ? NULL : e;

		snprintf(ctx, sizeof(ctx), "root pointer %p", e);
		mt_init(&orig);
		live = nodes_live();
		CHECK_EQ(mtree_store(&orig, 0, e, GFP_KERNEL), 0);
		nodes = nodes_live() - live;
		mt_init(&copy);
		dup_check(&orig, &copy, nodes, i & 1, &rng);
		CHECK_WALK(&copy, 0, e, 0, 0);
		CHECK_WALK(&copy, 1, NULL, 1, MAX);
		CHECK_WALK(&copy, MAX, NULL, 1, MAX);
		CHECK_PTR(mtree_load(&copy, 0), seen);
		CHECK(!mtree_empty(&copy));

		/* Rewriting the copy's root leaves the original's alone. */
		height = mt_height(&orig);
		CHECK_EQ(mtree_store(&copy, 0, OBJ(9), GFP_KERNEL), 0);
		CHECK_WALK(&orig, 0, e, 0, 0);
		CHECK_EQ(mtree_store(&copy, 5, OBJ(8), GFP_KERNEL), 0);
		CHECK_WALK(&orig, 5, NULL, 1, MAX);
		CHECK_EQ(mt_height(&orig), height);
		CHECK_EQ(mt_height(&copy), 1);
		/* ... and the other way round. */
		(void)mtree_erase(&orig, 0);
		CHECK(mtree_empty(&orig));
		CHECK_PTR(mtree_load(&copy, 0), OBJ(9));
		CHECK_PTR(mtree_load(&copy, 5), OBJ(8));
		CHECK_EQ(mt_validate(&copy), 0);
		mtree_destroy(&copy);
		mtree_destroy(&orig);
	}
}

static void test_leaf(void)
{
	struct maple_tree orig, copy, copy2;
	size_t nodes, live;

	snprintf(ctx, sizeof(ctx), "one leaf");
	mt_init(&orig);
	live = nodes_live();
	CHECK_EQ(mtree_store_range(&orig, 10, 19, OBJ(1), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&orig, 30, xa_mk_value(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&orig, 40, 49, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	CHECK_EQ(mt_height(&orig), 1);		/* the setup is one leaf */

	mt_init(&copy);
	mt_init(&copy2);
	dup_check(&orig, &copy, nodes, false, &rng);
	dup_check(&orig, &copy2, nodes, true, &rng);
	CHECK_WALK(&copy, 0, NULL, 0, 9);
	CHECK_WALK(&copy, 15, OBJ(1), 10, 19);
	CHECK_WALK(&copy, 25, NULL, 20, 29);
	CHECK_WALK(&copy, 30, xa_mk_value(2), 30, 30);
	CHECK_WALK(&copy, 45, XA_ZERO_ENTRY, 40, 49);
	CHECK_WALK(&copy, 50, NULL, 50, MAX);
	CHECK(mtree_load(&copy, 45) == NULL);
	CHECK_EQ(mtree_insert(&copy, 45, OBJ(2), GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&copy, 25, OBJ(2), GFP_KERNEL), 0);
	CHECK(mtree_load(&orig, 25) == NULL);

	/* An in-place overwrite of the copy's leaf. */
	CHECK_EQ(mtree_store_range(&copy2, 10, 19, OBJ(5), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&orig, 15), OBJ(1));
	CHECK_PTR(mtree_load(&copy, 15), OBJ(1));
	check_independent(&copy2, &orig, &rng, 12);
	check_independent(&orig, &copy, &rng, 12);
	check_destroy_one(&copy2, &copy);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/* One entry away from index 0, and one over the whole space. */
	snprintf(ctx, sizeof(ctx), "single entry at 5");
	mt_init(&orig);
	live = nodes_live();
	CHECK_EQ(mtree_store(&orig, 5, OBJ(2), GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, false, &rng);
	CHECK_WALK(&copy, 5, OBJ(2), 5, 5);
	CHECK_WALK(&copy, 4, NULL, 0, 4);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	snprintf(ctx, sizeof(ctx), "one range over everything");
	mt_init(&orig);
	live = nodes_live();
	CHECK_EQ(mtree_store_range(&orig, 0, MAX, xa_mk_value(3), GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, true, &rng);
	CHECK_WALK(&copy, 12345, xa_mk_value(3), 0, MAX);
	check_independent(&copy, &orig, &rng, 8);
	mtree_destroy(&copy);
	mtree_destroy(&orig);
}

static void test_special(void)
{
	struct maple_tree orig, copy;
	unsigned long i, index;
	size_t nodes, live;
	void *e;
	int n_orig, n_copy;

	/* Values, reservations, and both ends of the index space. */
	snprintf(ctx, sizeof(ctx), "values, reservations, ULONG_MAX");
	mt_init(&orig);
	live = nodes_live();
	CHECK_EQ(mtree_store(&orig, 0, xa_mk_value(0), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&orig, 1, 99, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	for (i = 0; i < 400; i++)
		CHECK_EQ(mtree_store_range(&orig, 1000 + 8 * i, 1003 + 8 * i,
					   i % 5 ? xa_mk_value(i) : XA_ZERO_ENTRY,
					   GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(&orig, MAX - 100, MAX - 1, XA_ZERO_ENTRY,
				   GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(&orig, MAX, OBJ(5), GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	CHECK(mt_height(&orig) >= 2);
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, false, &rng);
	CHECK_WALK(&copy, 0, xa_mk_value(0), 0, 0);
	CHECK_WALK(&copy, 50, XA_ZERO_ENTRY, 1, 99);
	CHECK_WALK(&copy, MAX, OBJ(5), MAX, MAX);
	CHECK_WALK(&copy, MAX - 1, XA_ZERO_ENTRY, MAX - 100, MAX - 1);
	CHECK_WALK(&copy, MAX - 101, NULL, 1000 + 8 * 399 + 4, MAX - 101);
	CHECK(mtree_load(&copy, MAX - 50) == NULL);
	CHECK_EQ(mtree_insert(&copy, MAX - 50, OBJ(1), GFP_KERNEL), -EEXIST);
	CHECK_EQ(mtree_insert(&copy, 1000, OBJ(1), GFP_KERNEL), -EEXIST);
	/* mt_find skips reservations in the copy as in the original. */
	index = MAX - 200;
	CHECK_PTR(mt_find(&copy, &index, MAX), OBJ(5));
	CHECK_EQ(index, 0);
	n_orig = n_copy = 0;
	index = 0;
	mt_for_each(&orig, e, index, MAX)
		n_orig++;
	index = 0;
	mt_for_each(&copy, e, index, MAX)
		n_copy++;
	CHECK_EQ(n_copy, n_orig);
	CHECK_EQ(n_orig, 1 + 320 + 1);
	/* Erasing at ULONG_MAX in the copy only. */
	CHECK_PTR(mtree_erase(&copy, MAX), OBJ(5));
	CHECK_PTR(mtree_load(&orig, MAX), OBJ(5));
	check_independent(&orig, &copy, &rng, 20);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/* Only ULONG_MAX. */
	snprintf(ctx, sizeof(ctx), "only ULONG_MAX");
	mt_init(&orig);
	live = nodes_live();
	CHECK_EQ(mtree_store(&orig, MAX, xa_mk_value(9), GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, true, &rng);
	CHECK_WALK(&copy, MAX, xa_mk_value(9), MAX, MAX);
	CHECK_WALK(&copy, 0, NULL, 0, MAX - 1);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/* Reservations only, over many nodes. */
	snprintf(ctx, sizeof(ctx), "reservations only");
	mt_init(&orig);
	live = nodes_live();
	for (i = 0; i < 2000; i++)
		CHECK_EQ(mtree_store_range(&orig, 3 * i, 3 * i + 1,
					   XA_ZERO_ENTRY, GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	mt_init(&copy);
	dup_check(&orig, &copy, nodes, false, &rng);
	index = 0;
	CHECK(mt_find(&copy, &index, MAX) == NULL);
	CHECK(!mtree_empty(&copy));
	mtree_destroy(&copy);
	mtree_destroy(&orig);
}

static void test_multilevel(void)
{
	static const struct { unsigned int height, flags; } cases[] = {
		{ 2, 0 }, { 2, ALLOC | RCU }, { 3, 0 }, { 3, RCU },
		{ 3, ALLOC }, { 4, 0 }, { 4, ALLOC }, { 5, ALLOC },
	};
	struct maple_tree orig, copy, copy2;
	size_t c, nodes;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		snprintf(ctx, sizeof(ctx), "height %u, flags %#x",
			 cases[c].height, cases[c].flags);
		mt_init_flags(&orig, cases[c].flags);
		nodes = build_tall(&orig, cases[c].height);
		mt_init_flags(&copy, cases[c].flags);
		mt_init_flags(&copy2, cases[c].flags);
		dup_check(&orig, &copy, nodes, c & 1, &rng);
		/* A copy of the copy is a copy of the original. */
		dup_check(&copy, &copy2, nodes, !(c & 1), &rng);
		check_copy(&orig, &copy2, &rng);
		check_independent(&copy, &orig, &rng, 40);
		check_independent(&orig, &copy2, &rng, 40);
		check_destroy_one(&copy, &copy2);
		mtree_destroy(&copy2);
		mtree_destroy(&orig);
	}
}

static void test_alloc(void)
{
	struct maple_tree orig, copy;
	unsigned long i, a, b, na, nb, ok;
	size_t nodes, live;
	int ra, rb;

	snprintf(ctx, sizeof(ctx), "gap-tracking tree");
	mt_init_flags(&orig, ALLOC);
	nodes = build_spaced(&orig, 600);
	CHECK(mt_height(&orig) >= 2);
	mt_init_flags(&copy, ALLOC);
	dup_check(&orig, &copy, nodes, false, &rng);

	/* Fixed requests first: the first fit, a reservation's neighbour. */
	for (i = 1; i <= 80; i++) {
		ra = mtree_alloc_range(&orig, &a, OBJ(i % 64), i, 0, MAX,
				       GFP_KERNEL);
		rb = mtree_alloc_range(&copy, &b, OBJ(i % 64), i, 0, MAX,
				       GFP_KERNEL);
		CHECK_EQ(ra, 0);
		CHECK_EQ(rb, ra);
		CHECK_EQ(b, a);
		/* gaps between ranges are under 100: the highest fitting one */
		ra = mtree_alloc_rrange(&orig, &a, OBJ(i % 64), i % 30 + 1, 0,
					59000, GFP_KERNEL);
		rb = mtree_alloc_rrange(&copy, &b, OBJ(i % 64), i % 30 + 1, 0,
					59000, GFP_KERNEL);
		CHECK_EQ(ra, 0);
		CHECK_EQ(rb, ra);
		CHECK_EQ(b, a);
	}
	/* A window holding only a reservation: -EBUSY in both. */
	ra = mtree_alloc_range(&orig, &a, OBJ(1), 1, 901, 910, GFP_KERNEL);
	rb = mtree_alloc_range(&copy, &b, OBJ(1), 1, 901, 910, GFP_KERNEL);
	CHECK_EQ(ra, -EBUSY);
	CHECK_EQ(rb, ra);
	/* Aligned allocations read the same gaps. */
	ra = mtree_alloc_range_aligned(&orig, &a, OBJ(2), 50, 64, 4096, 0,
				       MAX, GFP_KERNEL);
	rb = mtree_alloc_range_aligned(&copy, &b, OBJ(2), 50, 64, 4096, 0,
				       MAX, GFP_KERNEL);
	CHECK_EQ(ra, 0);
	CHECK_EQ(rb, ra);
	CHECK_EQ(b, a);
	snap(&orig, &s_orig);
	ok = check_alloc_same(&orig, &copy, &s_orig, &rng, 200);
	CHECK(ok > 100);
	check_independent(&copy, &orig, &rng, 30);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/* Gap values of a tree shrunk by erases. */
	snprintf(ctx, sizeof(ctx), "gap-tracking tree after erases");
	mt_init_flags(&orig, ALLOC | RCU);
	live = nodes_live();
	for (i = 0; i < 3000; i++)
		CHECK_EQ(mtree_store_range(&orig, 5 * i, 5 * i + 3,
					   xa_mk_value(i), GFP_KERNEL), 0);
	for (i = 0; i < 3000; i += 1 + i % 7)
		(void)mtree_erase(&orig, 5 * i);
	CHECK_EQ(mtree_store_range(&orig, 2000, 9000, NULL, GFP_KERNEL), 0);
	nodes = nodes_live() - live;
	mt_init_flags(&copy, ALLOC | RCU);
	dup_check(&orig, &copy, nodes, true, &rng);
	snap(&orig, &s_orig);
	CHECK(check_alloc_same(&orig, &copy, &s_orig, &rng, 200) > 100);
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/*
	 * A cyclic allocator that just handed out ULONG_MAX reports the wrap
	 * on its next call; a copy taken in between is the same allocator.
	 */
	snprintf(ctx, sizeof(ctx), "cyclic allocator at the wrap");
	mt_init_flags(&orig, ALLOC);
	na = MAX - 1;
	CHECK_EQ(mtree_alloc_cyclic(&orig, &a, OBJ(1), 0, MAX, &na,
				    GFP_KERNEL), 0);
	CHECK_EQ(mtree_alloc_cyclic(&orig, &a, OBJ(2), 0, MAX, &na,
				    GFP_KERNEL), 0);
	CHECK_EQ(a, MAX);
	CHECK_EQ(na, 0);
	mt_init_flags(&copy, ALLOC);
	CHECK_EQ(dup(&orig, &copy, false), 0);
	check_copy(&orig, &copy, &rng);
	nb = na;
	ra = mtree_alloc_cyclic(&orig, &a, OBJ(3), 0, MAX, &na, GFP_KERNEL);
	rb = mtree_alloc_cyclic(&copy, &b, OBJ(3), 0, MAX, &nb, GFP_KERNEL);
	CHECK_EQ(ra, 1);
	CHECK_EQ(rb, ra);
	CHECK_EQ(b, a);
	CHECK_EQ(nb, na);
	mtree_destroy(&copy);
	mtree_destroy(&orig);
}

static void test_rcu(void)
{
	struct maple_tree orig, copy;
	size_t nodes, live;

	/* RCU mode from init and switched on later are the same mode. */
	snprintf(ctx, sizeof(ctx), "RCU mode set at run time");
	mt_init(&orig);
	nodes = build_tall(&orig, 3);
	mt_set_in_rcu(&orig);
	mt_init_flags(&copy, RCU);
	dup_check(&orig, &copy, nodes, false, &rng);
	CHECK(mt_in_rcu(&copy));
	/* Writes to an RCU copy retire its nodes, not the original's. */
	check_independent(&copy, &orig, &rng, 60);
	mt_rcu_barrier(&copy);
	check_independent(&orig, &copy, &rng, 60);
	mt_rcu_barrier(&orig);
	snap(&orig, &s_keep);
	mtree_destroy(&copy);
	mt_rcu_barrier(&copy);	/* the copy's nodes back in the cache */
	snap(&orig, &s_tmp);
	CHECK(snap_same(&s_keep, &s_tmp,
			"original after the copy's nodes were freed"));
	CHECK_EQ(mt_validate(&orig), 0);

	/*
	 * Switched off again: a plain target fits. The original was written
	 * since it was built, so count its nodes as it goes: the copy's must
	 * match.
	 */
	snprintf(ctx, sizeof(ctx), "RCU mode cleared");
	mt_clear_in_rcu(&orig);
	mt_init(&copy);
	live = nodes_live();
	CHECK_EQ(dup(&orig, &copy, true), 0);
	nodes = nodes_live() - live;
	CHECK(!mt_in_rcu(&copy));
	check_copy(&orig, &copy, &rng);
	mtree_destroy(&copy);
	live = nodes_live();
	mtree_destroy(&orig);
	CHECK_EQ(live - nodes_live(), nodes);
	mt_rcu_barrier(NULL);
}

static void test_external_lock(void)
{
	static struct ext_lock lo, lc, lc2, lt;
	struct maple_tree orig, copy, copy2, plain, target;
	size_t nodes, live;

	snprintf(ctx, sizeof(ctx), "external locks");
	ext_init(&orig, &lo);
	ext_init(&copy, &lc);
	ext_init(&copy2, &lc2);
	ext_take(&lo);
	nodes = build_spaced(&orig, 500);
	ext_take(&lc);
	ext_take(&lc2);
	dup_check(&orig, &copy, nodes, false, &rng);
	dup_check(&orig, &copy2, nodes, true, &rng);
	check_independent(&copy, &orig, &rng, 20);
	check_independent(&orig, &copy2, &rng, 20);

	/* The lock kind differs: refused both ways, nothing touched. */
	mt_init(&plain);
	live = nodes_live();
	CHECK_EQ(dup(&orig, &plain, false), -EINVAL);
	CHECK_EQ(dup(&orig, &plain, true), -EINVAL);
	CHECK(mtree_empty(&plain));
	CHECK_EQ(nodes_live(), live);
	CHECK_EQ(mtree_store_range(&plain, 1, 5, OBJ(1), GFP_KERNEL), 0);
	ext_init(&target, &lt);
	ext_take(&lt);
	live = nodes_live();
	CHECK_EQ(dup(&plain, &target, false), -EINVAL);
	CHECK_EQ(dup(&plain, &target, true), -EINVAL);
	CHECK(mtree_empty(&target));
	CHECK_EQ(mt_height(&target), 0);
	CHECK_EQ(nodes_live(), live);
	CHECK_PTR(mtree_load(&plain, 3), OBJ(1));

	mtree_destroy(&plain);
	mtree_destroy(&target);
	mtree_destroy(&copy2);
	mtree_destroy(&copy);
	mtree_destroy(&orig);
	ext_drop(&lt);
	ext_drop(&lc2);
	ext_drop(&lc);
	ext_drop(&lo);
}

static void test_einval(void)
{
	static const unsigned int flags[] = {
		0, ALLOC, RCU, ALLOC | RCU, MT_FLAGS_LOCK_IRQ,
		MT_FLAGS_LOCK_BH, ALLOC | MT_FLAGS_LOCK_BH,
	};
	const size_t nf = sizeof(flags) / sizeof(flags[0]);
	struct maple_tree orig, copy;
	size_t i, j, live;
	unsigned long k;
	int full, ret;

	for (i = 0; i < nf; i++) {
		for (j = 0; j < nf; j++) {
			/* No exception for an empty original: flags differ. */
			for (full = 0; full < 2; full++) {
				snprintf(ctx, sizeof(ctx), "flags %#x into %#x"
					 "%s", flags[i], flags[j],
					 full ? "" : ", empty");
				mt_init_flags(&orig, flags[i]);
				if (full)
					for (k = 0; k < 40; k++)
						(void)mtree_store_range(&orig,
							7 * k, 7 * k + 3,
							xa_mk_value(k),
							GFP_KERNEL);
				mt_init_flags(&copy, flags[j]);
				snap(&orig, &s_keep);
				live = nodes_live();
				ret = dup(&orig, &copy, (i + j + full) & 1);
				if (i == j) {
					CHECK_EQ(ret, 0);
					check_copy(&orig, &copy, &rng);
				} else {
					CHECK_EQ(ret, -EINVAL);
					CHECK(mtree_empty(&copy));
					CHECK_EQ(mt_height(&copy), 0);
					CHECK_EQ(nodes_live(), live);
				}
				snap(&orig, &s_tmp);
				CHECK(snap_same(&s_keep, &s_tmp, "original"));
				mtree_destroy(&copy);
				mtree_destroy(&orig);
			}
		}
	}

	/* RCU mode switched at run time is the flag that is compared. */
	snprintf(ctx, sizeof(ctx), "RCU mode switched at run time");
	mt_init(&orig);
	(void)build_spaced(&orig, 100);
	mt_set_in_rcu(&orig);
	mt_init(&copy);
	CHECK_EQ(dup(&orig, &copy, false), -EINVAL);
	CHECK(mtree_empty(&copy));
	mt_set_in_rcu(&copy);
	CHECK_EQ(dup(&orig, &copy, false), 0);
	mtree_destroy(&copy);
	mt_init_flags(&copy, RCU);
	mt_clear_in_rcu(&copy);
	CHECK_EQ(dup(&orig, &copy, true), -EINVAL);
	CHECK(mtree_empty(&copy));
	mtree_destroy(&copy);
	mtree_destroy(&orig);

	/* Non-empty targets are refused and left as they were. */
	for (i = 0; i < 5; i++) {
		unsigned int tf = i == 4 ? ALLOC : 0;

		snprintf(ctx, sizeof(ctx), "non-empty target %zu", i);
		mt_init_flags(&orig, tf);
		if (i != 3)		/* case 3: empty original */
			(void)build_spaced(&orig, 50);
		mt_init_flags(&copy, tf);
		switch (i) {
		case 0:		/* a root pointer */
			CHECK_EQ(mtree_store(&copy, 0, OBJ(4), GFP_KERNEL), 0);
			break;
		case 1:		/* one reservation */
			CHECK_EQ(mtree_store_range(&copy, 5, 9, XA_ZERO_ENTRY,
						   GFP_KERNEL), 0);
			break;
		default:	/* several levels */
			(void)build_tall(&copy, 2);
			break;
		}
		snap(&orig, &s_keep);
		snap(&copy, &s_mut);
		live = nodes_live();
		CHECK_EQ(dup(&orig, &copy, i & 1), -EINVAL);
		CHECK_EQ(dup(&orig, &copy, !(i & 1)), -EINVAL);
		CHECK_EQ(nodes_live(), live);
		snap(&copy, &s_tmp);
		CHECK(snap_same(&s_mut, &s_tmp, "refused target"));
		CHECK_EQ(mt_validate(&copy), 0);
		snap(&orig, &s_tmp);
		CHECK(snap_same(&s_keep, &s_tmp, "original"));
		/* Differing flags and content: still -EINVAL, still intact. */
		mtree_destroy(&orig);
		mt_init_flags(&orig, tf ^ ALLOC);
		(void)build_spaced(&orig, 20);
		CHECK_EQ(dup(&orig, &copy, false), -EINVAL);
		snap(&copy, &s_tmp);
		CHECK(snap_same(&s_mut, &s_tmp, "refused target"));
		mtree_destroy(&copy);
		mtree_destroy(&orig);
	}
}

/* ---- Allocation failures -------------------------------------------------------- */

static unsigned long sweep_failures;

/*
 * Fail the k-th node allocation of a dup of @orig (which holds @nodes
 * nodes) for k = 1, 2, ... until the dup succeeds. Each failure: -ENOMEM,
 * the target empty, the original untouched, not one node more or less in
 * use; the next attempt reuses the same target. Every node of the copy is
 * one allocation, so at least @nodes attempts must fail.
 */
static void sweep(struct maple_tree *orig, unsigned int flags, size_t nodes,
		  bool locked)
{
	struct maple_tree copy;
	unsigned long failures = 0, bad = 0;
	long k;
	int ret = -ENOMEM;

	mt_init_flags(&copy, flags);
	snap(orig, &s_keep);
	for (k = 1; k < 10000000; k++) {
		size_t live = nodes_live(), now;

		mt_fault_inject(k);
		ret = dup(orig, &copy, locked);
		mt_fault_inject(0);
		if (ret != -ENOMEM)
			break;
		failures++;
		now = nodes_live();
		snap(&copy, &s_tmp);
		snap(orig, &s_mut);
		if (!mtree_empty(&copy) || mt_height(&copy) != 0 ||
		    !snap_empty(&s_tmp) || mt_validate(&copy) || now != live ||
		    !snap_same(&s_keep, &s_mut, "original after a failed dup") ||
		    mt_validate(orig)) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: dup failing allocation "
					"%ld: copy empty %d, height %u, %zu "
					"ranges; nodes live %zu -> %zu\n", ctx,
					k, mtree_empty(&copy), mt_height(&copy),
					s_tmp.n, live, now);
		}
	}
	CHECK_EQ(ret, 0);
	CHECK_EQ(bad, 0);
	if (failures < nodes)
		fprintf(stderr, "  %s: %lu failed dups, want at least %zu\n",
			ctx, failures, nodes);
	CHECK(failures >= nodes);
	sweep_failures += failures;
	check_copy(orig, &copy, &rng);
	mtree_destroy(&copy);
}

static void test_enomem(void)
{
	static const struct { unsigned int height, flags; } cases[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 0 }, { 2, RCU },
		{ 3, RCU }, { 3, ALLOC }, { 2, ALLOC | RCU },
	};
	struct maple_tree orig, copy;
	size_t c, nodes, live;
	int locked;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (locked = 0; locked < 2; locked++) {
			snprintf(ctx, sizeof(ctx), "fault sweep, height %u, "
				 "flags %#x, %s", cases[c].height,
				 cases[c].flags, locked ? "__mt_dup" :
				 "mtree_dup");
			mt_init_flags(&orig, cases[c].flags);
			live = nodes_live();
			if (cases[c].height == 0)
				(void)mtree_store(&orig, 0, OBJ(1), GFP_KERNEL);
			else if (cases[c].height == 1)
				(void)build_spaced(&orig, 8);
			else
				(void)build_tall(&orig, cases[c].height);
			nodes = nodes_live() - live;
			sweep(&orig, cases[c].flags, nodes, locked);
			mtree_destroy(&orig);
		}
	}

	/* No memory at all: refused cleanly, and fine once memory is back. */
	snprintf(ctx, sizeof(ctx), "every allocation failing");
	mt_init_flags(&orig, ALLOC);
	nodes = build_tall(&orig, 3);
	mt_init_flags(&copy, ALLOC);
	snap(&orig, &s_keep);
	live = nodes_live();
	mt_fault_inject_all(true);
	CHECK_EQ(dup(&orig, &copy, false), -ENOMEM);
	CHECK_EQ(dup(&orig, &copy, true), -ENOMEM);
	mt_fault_inject_all(false);
	CHECK(mtree_empty(&copy));
	CHECK_EQ(mt_height(&copy), 0);
	CHECK_EQ(nodes_live(), live);
	snap(&orig, &s_tmp);
	CHECK(snap_same(&s_keep, &s_tmp, "original after failed dups"));
	dup_check(&orig, &copy, nodes, false, &rng);
	mtree_destroy(&copy);
	mtree_destroy(&orig);
	mt_rcu_barrier(NULL);
}

/* ---- Random trees ------------------------------------------------------------------ */

static void *rand_entry(uint64_t *st, unsigned long serial)
{
	switch (rnd(st, 16)) {
	case 0:
		return XA_ZERO_ENTRY;
	case 1:
	case 2:
		return OBJ(rnd(st, 64));
	default:
		return xa_mk_value(serial);
	}
}

/* One random write in [base, base + span): mostly stores, some erases. */
static bool rand_op(struct maple_tree *mt, uint64_t *st, unsigned long base,
		    unsigned long span, unsigned long serial)
{
	unsigned long first = base + rnd(st, span), len;
	unsigned int kind = rnd(st, 20);

	if (kind < 2) {
		(void)mtree_erase(mt, first);
		return mtree_load(mt, first) == NULL;
	}
	len = kind < 12 ? rnd(st, 4) : kind < 17 ? rnd(st, 64) :
	      rnd(st, span / 8 + 1);
	return !mtree_store_range(mt, first, end_of(first, len),
				  kind == 19 ? NULL : rand_entry(st, serial),
				  GFP_KERNEL);
}

static unsigned long random_allocs;

static void random_tree(unsigned long nr, uint64_t seed)
{
	static const unsigned int kinds[] = { 0, ALLOC, RCU, ALLOC | RCU };
	uint64_t st = seed;
	unsigned int flags = kinds[rnd(&st, 4)];
	bool late_rcu = (flags & RCU) && !rnd(&st, 4);
	unsigned long r = rnd(&st, 100), ops, span, base = 0, i, bad = 0;
	struct maple_tree orig, copy, third;
	size_t live, nodes;

	if (!rnd(&st, 16))
		flags |= MT_FLAGS_LOCK_BH;
	ops = r < 3 ? 0 : r < 25 ? 1 + rnd(&st, 16) :
	      r < 55 ? 1 + rnd(&st, 300) : 300 + rnd(&st, 2700);
	/* From dense to sparse, at the bottom, the top or anywhere. */
	span = (ops + 1) << rnd(&st, 7);
	switch (rnd(&st, 5)) {
	case 0:
		span = 0;	/* the whole index space */
		break;
	case 1:
		base = MAX - span + 1;
		break;
	case 2:
		base = rnd(&st, MAX - span);
		break;
	default:
		break;
	}
	snprintf(ctx, sizeof(ctx), "random tree %lu (flags %#x%s, %lu ops, "
		 "span %#lx at %#lx)", nr, flags, late_rcu ? " late" : "",
		 ops, span, base);

	mt_init_flags(&orig, late_rcu ? flags & ~RCU : flags);
	live = nodes_live();
	if (r >= 3 && r < 6) {
		ops = 0;	/* a root pointer */
		bad += !!mtree_store(&orig, 0, rand_entry(&st, 1), GFP_KERNEL);
	}
	for (i = 0; i < ops; i++)
		bad += !rand_op(&orig, &st, base, span, i);
	if (ops && !rnd(&st, 4))
		bad += !!mtree_store_range(&orig, MAX - rnd(&st, 4), MAX,
					   rand_entry(&st, 2), GFP_KERNEL);
	if (ops && !rnd(&st, 4))
		bad += !!mtree_store_range(&orig, 0, rnd(&st, 4),
					   rand_entry(&st, 3), GFP_KERNEL);
	if (ops && !rnd(&st, 8))	/* collapse the middle */
		bad += !!mtree_store_range(&orig, base + span / 4,
					   end_of(base + span / 4, span / 2),
					   NULL, GFP_KERNEL);
	nodes = nodes_live() - live;
	CHECK_EQ(bad, 0);
	if (late_rcu)
		mt_set_in_rcu(&orig);

	mt_init_flags(&copy, flags);
	if (!rnd(&st, 5)) {
		/* A destroyed tree is an empty, reusable target. */
		for (i = 0; i < 50; i++)
			(void)mtree_store(&copy, 3 * i, OBJ(i % 64), GFP_KERNEL);
		mtree_destroy(&copy);
	}
	dup_check(&orig, &copy, nodes, nr & 1, &st);
	if (!rnd(&st, 8)) {
		/* A copy of the copy, before either changes. */
		mt_init_flags(&third, flags);
		live = nodes_live();
		CHECK_EQ(dup(&copy, &third, !(nr & 1)), 0);
		CHECK_EQ(nodes_live() - live, nodes);
		check_copy(&orig, &third, &st);
		mtree_destroy(&third);
	}
	if (flags & ALLOC)
		random_allocs += check_alloc_same(&orig, &copy, &s_orig, &st,
						  4);
	check_independent(&copy, &orig, &st, 16);
	check_independent(&orig, &copy, &st, 16);
	check_destroy_one(&copy, &orig);
	mtree_destroy(&orig);
}

static void test_random(void)
{
	unsigned long nr, failing = 0;

	for (nr = 0; nr < 1000; nr++) {
		unsigned long failed = harness_failed;

		random_tree(nr, rng ^ (0x9E3779B97F4A7C15ULL * (nr + 1)));
		if (harness_failed != failed && failing++ < 5)
			fprintf(stderr, "  ^ in %s\n", ctx);
	}
	mt_rcu_barrier(NULL);
	CHECK(random_allocs > 100);	/* the allocation checks did run */
}

int main(void)
{
	size_t live;

	urcu_memb_register_thread();
	rng = harness_seed("test_dup");
	live = nodes_live();
	test_empty();
	test_root();
	test_leaf();
	test_special();
	test_multilevel();
	test_alloc();
	test_rcu();
	test_external_lock();
	test_einval();
	test_enomem();
	test_random();
	printf("test_dup: %lu injected failures\n", sweep_failures);
	mt_rcu_barrier(NULL);
	CHECK_EQ(nodes_live(), live);
	CHECK_EQ(nodes_rcu(), 0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
