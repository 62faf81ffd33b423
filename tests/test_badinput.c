// SPDX-License-Identifier: MIT
/*
 * Bad input, function by function. Every public call is given each kind of
 * invalid argument it can take: inverted ranges, reserved internal entries,
 * NULL pointers, sizes of 0 or larger than the window, bad alignments and
 * boundaries, windows with min > max, the wrong tree flags, a cursor in the
 * wrong state, no memory to be had. Each must return its documented error
 * and change nothing: the tree reads the same range by range, validates,
 * and the node cache holds as many live nodes as before. The valid edges
 * (index 0, ULONG_MAX, a window exactly the size) must work.
 *
 * Most of it is tables: a row names a function, a fixture, the arguments
 * and the expected result, so a new case is a new row. Rows marked
 * "(undoc)" pin down what the header leaves open (NULL trees, mostly) to
 * the error value the function uses for everything else.
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"
#include "harness_child.h"

#define MAX ULONG_MAX
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CHECK_PTR(a, b) CHECK_EQ((uintptr_t)(a), (uintptr_t)(b))

/* Distinct, plain (4-byte aligned) pointers to store. */
static int objs[8];
#define OBJ(n) ((void *)&objs[(n)])

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

/* ---- External locks --------------------------------------------------------- */

/* What the external lock check answers; the tests decide who "holds" it. */
static bool ext_held;
static pthread_mutex_t ext_mutex = PTHREAD_MUTEX_INITIALIZER;

static bool ext_check(void *arg)
{
	(void)arg;
	return ext_held;
}

static void ext_init(struct maple_tree *mt, unsigned int flags)
{
	mt_init_flags(mt, flags | MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(mt, &ext_mutex);
	mt_set_external_lock_check(mt, ext_check, NULL);
}

/*
 * The writer lock of an internal-lock tree; for an external-lock tree the
 * tests say through ext_held whether it is held, so there is nothing to take.
 */
static void tree_lock(struct maple_tree *mt)
{
	if (!mt_external_lock(mt))
		mtree_lock(mt);
}

static void tree_unlock(struct maple_tree *mt)
{
	if (!mt_external_lock(mt))
		mtree_unlock(mt);
}

/* ---- Snapshots ---------------------------------------------------------------- */

/* Every range of a tree in order, NULL ranges and XA_ZERO_ENTRY included. */
struct range {
	unsigned long first, last;
	void *entry;
};

struct snap {
	struct range *r;
	size_t n;
	unsigned int height;
};

static void snap_take(struct maple_tree *mt, struct snap *s)
{
	MA_STATE(mas, mt, 0, 0);
	size_t cap = 64;
	unsigned long index = 0;

	s->r = malloc(cap * sizeof(*s->r));
	s->n = 0;
	tree_lock(mt);
	for (;;) {
		void *e;

		mas_set(&mas, index);
		e = mas_walk(&mas);
		if (s->n == cap) {
			cap *= 2;
			s->r = realloc(s->r, cap * sizeof(*s->r));
		}
		s->r[s->n++] = (struct range){ mas.index, mas.last, e };
		/* A walk that does not cover index would loop: stop there. */
		if (mas.last == MAX || mas.last < index || mas.index > index)
			break;
		index = mas.last + 1;
	}
	tree_unlock(mt);
	s->height = mt_height(mt);
}

static void snap_free(struct snap *s)
{
	free(s->r);
	s->r = NULL;
}

static bool snap_equal(const struct snap *a, const struct snap *b)
{
	size_t i;

	if (a->height != b->height) {
		fprintf(stderr, "  height %u, was %u\n", b->height, a->height);
		return false;
	}
	for (i = 0; i < a->n && i < b->n; i++) {
		if (a->r[i].first != b->r[i].first ||
		    a->r[i].last != b->r[i].last ||
		    a->r[i].entry != b->r[i].entry) {
			fprintf(stderr, "  range %zu: [%lu, %lu] %p, was [%lu, %lu] %p\n",
				i, b->r[i].first, b->r[i].last, b->r[i].entry,
				a->r[i].first, a->r[i].last, a->r[i].entry);
			return false;
		}
	}
	if (a->n != b->n) {
		fprintf(stderr, "  %zu ranges, was %zu\n", b->n, a->n);
		return false;
	}
	return true;
}

/* Does @mt still read as @before, range by range? */
static bool snap_same(struct maple_tree *mt, const struct snap *before)
{
	struct snap now;
	bool same;

	snap_take(mt, &now);
	same = snap_equal(before, &now);
	snap_free(&now);
	return same;
}

/* ---- Fixtures --------------------------------------------------------------- */

/*
 * A populated fixture: a root-sized entry at 0, FX_N five-index ranges
 * [10i + 10, 10i + 14] with five-index gaps between them, a reservation
 * (XA_ZERO_ENTRY) over [ZERO_FIRST, ZERO_LAST], and an entry at the top of
 * the space. Three levels or more, full leaves, both ends of the space used.
 */
#define FX_N		300
#define ZERO_FIRST	5000UL
#define ZERO_LAST	5009UL
#define TOP_FIRST	(MAX - 9)

enum fx {
	FX_PLAIN,		/* populated */
	FX_ALLOC,		/* populated, MT_FLAGS_ALLOC_RANGE */
	FX_PLAIN_RCU,		/* populated, RCU mode */
	FX_ALLOC_RCU,
	FX_EMPTY,
	FX_EMPTY_ALLOC,
	FX_COUNT
};

static unsigned int fx_flags(enum fx fx)
{
	switch (fx) {
	case FX_ALLOC:
	case FX_EMPTY_ALLOC:
		return MT_FLAGS_ALLOC_RANGE;
	case FX_PLAIN_RCU:
		return MT_FLAGS_USE_RCU;
	case FX_ALLOC_RCU:
		return MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU;
	default:
		return 0;
	}
}

static void fx_fill(struct maple_tree *mt)
{
	unsigned long i, bad = 0;

	bad += !!mtree_store(mt, 0, OBJ(0), GFP_KERNEL);
	for (i = 0; i < FX_N; i++)
		bad += !!mtree_store_range(mt, 10 * i + 10, 10 * i + 14,
					   xa_mk_value(i), GFP_KERNEL);
	bad += !!mtree_store_range(mt, ZERO_FIRST, ZERO_LAST, XA_ZERO_ENTRY,
				   GFP_KERNEL);
	bad += !!mtree_store_range(mt, TOP_FIRST, MAX, OBJ(1), GFP_KERNEL);
	CHECK_EQ(bad, 0);
}

static void fx_build(struct maple_tree *mt, enum fx fx)
{
	mt_init_flags(mt, fx_flags(fx));
	if (fx != FX_EMPTY && fx != FX_EMPTY_ALLOC)
		fx_fill(mt);
}

/* ---- Calls ------------------------------------------------------------------ */

enum fn {
	F_LOAD, F_STORE_RANGE, F_STORE, F_INSERT_RANGE, F_INSERT, F_ERASE,
	F_FIND, F_FIND_AFTER, F_NEXT, F_PREV,
	F_ALLOC_RANGE, F_ALLOC_RRANGE, F_ALLOC_ALIGNED, F_ALLOC_RALIGNED,
	F_ALLOC_CYCLIC, F_DUP, F_VALIDATE, F_EMPTY, F_HEIGHT, F_IN_RCU,
	F_DESTROY, F_RESERVE, F_RES_NODES,
	/* The Advanced API: the harness holds the tree's lock around these. */
	F_MAS_WALK, F_MAS_FIND, F_MAS_FIND_REV, F_MAS_NEXT, F_MAS_PREV,
	F_MAS_STORE, F_MAS_STORE_GFP, F_MAS_PREALLOCATE, F_MAS_ERASE,
	F_MAS_NOMEM, F_EMPTY_AREA, F_EMPTY_AREA_REV, F_EMPTY_ALIGNED,
	F_EMPTY_REV_ALIGNED, F_MAS_ALLOC_CYCLIC,
};

static const char *const fn_name[] = {
	[F_LOAD] = "mtree_load",
	[F_STORE_RANGE] = "mtree_store_range",
	[F_STORE] = "mtree_store",
	[F_INSERT_RANGE] = "mtree_insert_range",
	[F_INSERT] = "mtree_insert",
	[F_ERASE] = "mtree_erase",
	[F_FIND] = "mt_find",
	[F_FIND_AFTER] = "mt_find_after",
	[F_NEXT] = "mt_next",
	[F_PREV] = "mt_prev",
	[F_ALLOC_RANGE] = "mtree_alloc_range",
	[F_ALLOC_RRANGE] = "mtree_alloc_rrange",
	[F_ALLOC_ALIGNED] = "mtree_alloc_range_aligned",
	[F_ALLOC_RALIGNED] = "mtree_alloc_rrange_aligned",
	[F_ALLOC_CYCLIC] = "mtree_alloc_cyclic",
	[F_DUP] = "mtree_dup",
	[F_VALIDATE] = "mt_validate",
	[F_EMPTY] = "mtree_empty",
	[F_HEIGHT] = "mt_height",
	[F_IN_RCU] = "mt_in_rcu",
	[F_DESTROY] = "mtree_destroy",
	[F_RESERVE] = "mt_reserve",
	[F_RES_NODES] = "mt_reservation_nodes",
	[F_MAS_WALK] = "mas_walk",
	[F_MAS_FIND] = "mas_find",
	[F_MAS_FIND_REV] = "mas_find_rev",
	[F_MAS_NEXT] = "mas_next",
	[F_MAS_PREV] = "mas_prev",
	[F_MAS_STORE] = "mas_store",
	[F_MAS_STORE_GFP] = "mas_store_gfp",
	[F_MAS_PREALLOCATE] = "mas_preallocate",
	[F_MAS_ERASE] = "mas_erase",
	[F_MAS_NOMEM] = "mas_store + mas_nomem",
	[F_EMPTY_AREA] = "mas_empty_area",
	[F_EMPTY_AREA_REV] = "mas_empty_area_rev",
	[F_EMPTY_ALIGNED] = "mas_empty_area_aligned",
	[F_EMPTY_REV_ALIGNED] = "mas_empty_area_rev_aligned",
	[F_MAS_ALLOC_CYCLIC] = "mas_alloc_cyclic",
};

/* Arguments; each function reads the fields its signature has. */
struct args {
	unsigned long first, last;	/* span; an index is first */
	unsigned long size, align, boundary;
	unsigned long min, max;		/* window; cyclic range_lo/hi */
	unsigned long next;		/* cyclic *next before the call */
	unsigned int nr_stores;		/* mt_reserve */
	unsigned long max_entries;
	void *entry;
	unsigned int opt;
};

#define O_NULL_TREE	0x01
#define O_NULL_START	0x02	/* startp */
#define O_NULL_NEXT	0x04	/* cyclic next */
#define O_NULL_INDEX	0x08	/* mt_find's index */
#define O_NULL_RES	0x10	/* mt_reserve's reservation */
#define O_NOWAIT	0x20	/* GFP_NOWAIT instead of GFP_KERNEL */

/* What a call left behind besides its return value. */
struct out {
	long ret;
	unsigned long held;	/* nodes a cursor or reservation still held */
	unsigned long start, next, index;	/* out-parameters */
	bool dst_empty;		/* mtree_dup's target afterwards */
};

#define START_UNSET	0x5a5a5a5aUL

static long P(const void *p)
{
	return (long)(uintptr_t)p;
}

/*
 * Make one call on @mt (a fixture with @flags), allocating as @gfp says.
 * Every cursor and reservation is released before returning; what they
 * still held is reported in o->held.
 */
static void call(enum fn fn, struct maple_tree *mt, unsigned int flags,
		 const struct args *a, gfp_t gfp, struct out *o)
{
	struct maple_tree *t = a->opt & O_NULL_TREE ? NULL : mt;
	unsigned long *sp = a->opt & O_NULL_START ? NULL : &o->start;
	unsigned long *np = a->opt & O_NULL_NEXT ? NULL : &o->next;
	unsigned long *ip = a->opt & O_NULL_INDEX ? NULL : &o->index;
	bool locked = fn >= F_MAS_WALK && t && !mt_external_lock(t);
	MA_STATE(mas, t, a->first, a->last);

	o->ret = 0;
	o->held = 0;
	o->start = START_UNSET;
	o->next = a->next;
	o->index = a->first;
	o->dst_empty = true;
	if (locked)
		mtree_lock(t);
	switch (fn) {
	case F_LOAD:
		o->ret = P(mtree_load(t, a->first));
		break;
	case F_STORE_RANGE:
		o->ret = mtree_store_range(t, a->first, a->last, a->entry, gfp);
		break;
	case F_STORE:
		o->ret = mtree_store(t, a->first, a->entry, gfp);
		break;
	case F_INSERT_RANGE:
		o->ret = mtree_insert_range(t, a->first, a->last, a->entry, gfp);
		break;
	case F_INSERT:
		o->ret = mtree_insert(t, a->first, a->entry, gfp);
		break;
	case F_ERASE:
		o->ret = P(mtree_erase(t, a->first));
		break;
	case F_FIND:
		o->ret = P(mt_find(t, ip, a->max));
		break;
	case F_FIND_AFTER:
		o->ret = P(mt_find_after(t, ip, a->max));
		break;
	case F_NEXT:
		o->ret = P(mt_next(t, a->first, a->max));
		break;
	case F_PREV:
		o->ret = P(mt_prev(t, a->first, a->min));
		break;
	case F_ALLOC_RANGE:
		o->ret = mtree_alloc_range(t, sp, a->entry, a->size, a->min,
					   a->max, gfp);
		break;
	case F_ALLOC_RRANGE:
		o->ret = mtree_alloc_rrange(t, sp, a->entry, a->size, a->min,
					    a->max, gfp);
		break;
	case F_ALLOC_ALIGNED:
		o->ret = mtree_alloc_range_aligned(t, sp, a->entry, a->size,
						   a->align, a->boundary,
						   a->min, a->max, gfp);
		break;
	case F_ALLOC_RALIGNED:
		o->ret = mtree_alloc_rrange_aligned(t, sp, a->entry, a->size,
						    a->align, a->boundary,
						    a->min, a->max, gfp);
		break;
	case F_ALLOC_CYCLIC:
		o->ret = mtree_alloc_cyclic(t, sp, a->entry, a->min, a->max,
					    np, gfp);
		break;
	case F_DUP: {
		struct maple_tree dst;

		mt_init_flags(&dst, flags);
		o->ret = mtree_dup(t, &dst, gfp);
		o->dst_empty = mtree_empty(&dst);
		mtree_destroy(&dst);
		break;
	}
	case F_VALIDATE:
		o->ret = mt_validate(t);
		break;
	case F_EMPTY:
		o->ret = mtree_empty(t);
		break;
	case F_HEIGHT:
		o->ret = mt_height(t);
		break;
	case F_IN_RCU:
		o->ret = mt_in_rcu(t);
		break;
	case F_DESTROY:
		mtree_destroy(t);
		break;
	case F_RESERVE: {
		struct mt_reservation res = { NULL, 0, 0 };

		o->ret = mt_reserve(t, a->opt & O_NULL_RES ? NULL : &res,
				    a->nr_stores, a->max_entries, gfp);
		o->held = mt_reservation_nodes(&res);
		mt_reserve_release(&res);
		break;
	}
	case F_RES_NODES:
		o->ret = (long)mt_reservation_nodes(NULL);
		break;
	case F_MAS_WALK:
		o->ret = P(mas_walk(&mas));
		break;
	case F_MAS_FIND:
		o->ret = P(mas_find(&mas, a->max));
		break;
	case F_MAS_FIND_REV:
		o->ret = P(mas_find_rev(&mas, a->min));
		break;
	case F_MAS_NEXT:
		o->ret = P(mas_next(&mas, a->max));
		break;
	case F_MAS_PREV:
		o->ret = P(mas_prev(&mas, a->min));
		break;
	case F_MAS_STORE:
		/* The error, if any, is in the cursor. */
		(void)mas_store(&mas, a->entry);
		o->ret = mas_is_err(&mas) ? xa_err(mas.node) : 0;
		break;
	case F_MAS_STORE_GFP:
		o->ret = mas_store_gfp(&mas, a->entry, gfp);
		break;
	case F_MAS_PREALLOCATE:
		o->ret = mas_preallocate(&mas, a->entry, gfp);
		break;
	case F_MAS_ERASE:
		o->ret = P(mas_erase(&mas));
		break;
	case F_MAS_NOMEM:
		/* -1 if the store did not fail with -ENOMEM; else mas_nomem(). */
		(void)mas_store(&mas, a->entry);
		o->ret = mas_is_err(&mas) && xa_err(mas.node) == -ENOMEM ?
			 mas_nomem(&mas, gfp) : -1;
		break;
	case F_EMPTY_AREA:
		o->ret = mas_empty_area(&mas, a->min, a->max, a->size);
		break;
	case F_EMPTY_AREA_REV:
		o->ret = mas_empty_area_rev(&mas, a->min, a->max, a->size);
		break;
	case F_EMPTY_ALIGNED:
		o->ret = mas_empty_area_aligned(&mas, a->min, a->max, a->size,
						a->align, a->boundary);
		break;
	case F_EMPTY_REV_ALIGNED:
		o->ret = mas_empty_area_rev_aligned(&mas, a->min, a->max,
						    a->size, a->align,
						    a->boundary);
		break;
	case F_MAS_ALLOC_CYCLIC:
		o->ret = mas_alloc_cyclic(&mas, sp, a->entry, a->min, a->max,
					  np, gfp);
		break;
	}
	o->held += mas_allocated(&mas);
	mas_destroy(&mas);
	if (locked)
		mtree_unlock(t);
}

static bool fn_allocates_index(enum fn fn)
{
	return (fn >= F_ALLOC_RANGE && fn <= F_ALLOC_CYCLIC) ||
	       fn == F_MAS_ALLOC_CYCLIC;
}

/*
 * Out-parameters after a failed call: untouched. On a mismatch *got and
 * *want say which value was found and which expected.
 */
static bool outs_unchanged(enum fn fn, const struct args *a,
			   const struct out *o, long *got, long *want)
{
	*got = *want = 0;
	if (fn_allocates_index(fn) && o->ret < 0) {
		*got = (long)(o->start != START_UNSET ? o->start : o->next);
		*want = (long)(o->start != START_UNSET ? START_UNSET : a->next);
		return o->start == START_UNSET && o->next == a->next;
	}
	if ((fn == F_FIND || fn == F_FIND_AFTER) && !o->ret) {
		*got = (long)o->index;
		*want = (long)a->first;
		return o->index == a->first;
	}
	if (fn == F_DUP) {
		*got = o->dst_empty;
		*want = 1;
		return o->dst_empty;
	}
	return true;
}

/* ---- Rows ------------------------------------------------------------------- */

enum want {
	W_EQ,	/* exactly want */
	W_NEG,	/* some error: the header names none for this input */
	W_ANY,	/* the header says nothing; only "changes nothing" is checked */
};

struct row {
	const char *what;
	enum fn fn;
	enum fx fx;
	struct args a;
	enum want wk;
	long want;
};

#define ROW(fn_, fx_, what_, want_, ...) \
	{ what_, fn_, fx_, { __VA_ARGS__ }, W_EQ, want_ }
#define ROW_NEG(fn_, fx_, what_, ...) \
	{ what_, fn_, fx_, { __VA_ARGS__ }, W_NEG, 0 }
#define ROW_ANY(fn_, fx_, what_, ...) \
	{ what_, fn_, fx_, { __VA_ARGS__ }, W_ANY, 0 }

/*
 * Entry placeholders a row may use: the call is then made once with each
 * reserved internal value (everything internal below 4096), without or
 * with XA_ZERO_ENTRY.
 */
static char sweep_tag[2];
#define RESERVED	((void *)&sweep_tag[0])
#define RESERVED_Z	((void *)&sweep_tag[1])

static void *reserved_vals[1024], *reserved_z_vals[1024];
static size_t nr_reserved, nr_reserved_z;

static void sweep_init(void)
{
	unsigned long v;

	for (v = 0; (unsigned long)xa_mk_internal(v) < 4096; v++) {
		void *e = xa_mk_internal(v);

		reserved_z_vals[nr_reserved_z++] = e;
		if (!xa_is_zero(e))
			reserved_vals[nr_reserved++] = e;
	}
}

/* The first of possibly many failures of one check, and how many. */
struct tally {
	unsigned long bad;
	long got, want;
	const void *entry;
};

static void tally(struct tally *t, bool ok, long got, long want,
		  const void *entry)
{
	if (ok)
		return;
	if (!t->bad++) {
		t->got = got;
		t->want = want;
		t->entry = entry;
	}
}

static void report(const struct tally *t, const char *name, const char *check)
{
	if (!t->bad) {
		harness_passed++;
		return;
	}
	harness_failed++;
	fprintf(stderr, "FAIL [%s] %s: got %ld (%#lx), want %ld (entry %p",
		name, check, t->got, (unsigned long)t->got, t->want, t->entry);
	if (t->bad > 1)
		fprintf(stderr, "; %lu calls failed", t->bad);
	fprintf(stderr, ")\n");
}

static bool want_ok(const struct row *r, long got)
{
	switch (r->wk) {
	case W_EQ:
		return got == r->want;
	case W_NEG:
		return got < 0;
	default:
		return true;
	}
}

/*
 * Run row @r on @mt (built with @flags) with @gfp, once per entry it
 * sweeps, all allocations failing if @fault. Checks: the return value,
 * no node gained or lost, none held by a cursor or reservation, the
 * out-parameters untouched, and after all calls the tree reading and
 * validating as before.
 */
static void run_row(const struct row *r, const char *mode,
		    struct maple_tree *mt, unsigned int flags, gfp_t gfp,
		    bool fault)
{
	struct tally ret = { 0 }, live = { 0 }, held = { 0 }, outs = { 0 };
	struct tally valid = { 0 };
	void *single = r->a.entry, **vals = &single;
	size_t nvals = 1, i;
	struct snap before;
	char name[200];
	int err;

	snprintf(name, sizeof(name), "%s: %s%s%s", fn_name[r->fn], r->what,
		 mode ? ", " : "", mode ? mode : "");
	if (r->a.entry == RESERVED) {
		vals = reserved_vals;
		nvals = nr_reserved;
	} else if (r->a.entry == RESERVED_Z) {
		vals = reserved_z_vals;
		nvals = nr_reserved_z;
	}
	snap_take(mt, &before);
	for (i = 0; i < nvals; i++) {
		struct args a = r->a;
		struct out o;
		size_t live0;
		long got, want;
		bool same;

		a.entry = vals[i];
		live0 = nodes_live();
		if (fault)
			mt_fault_inject_all(true);
		call(r->fn, mt, flags, &a, a.opt & O_NOWAIT ? GFP_NOWAIT : gfp,
		     &o);
		if (fault)
			mt_fault_inject_all(false);
		tally(&ret, want_ok(r, o.ret), o.ret, r->want, a.entry);
		tally(&live, nodes_live() == live0, (long)nodes_live(),
		      (long)live0, a.entry);
		tally(&held, !o.held, (long)o.held, 0, a.entry);
		same = outs_unchanged(r->fn, &a, &o, &got, &want);
		tally(&outs, same, got, want, a.entry);
	}
	report(&ret, name, "return value");
	report(&live, name, "nodes_live unchanged");
	report(&held, name, "no nodes kept in the cursor/reservation");
	report(&outs, name, "out-parameters untouched");
	/* After the reports above: a difference is printed first, then FAIL. */
	if (snap_same(mt, &before)) {
		harness_passed++;
	} else {
		harness_failed++;
		fprintf(stderr, "FAIL [%s] tree unchanged (first difference above)\n",
			name);
	}
	err = mt_validate(mt);
	tally(&valid, !err, err, 0, NULL);
	report(&valid, name, "mt_validate");
	snap_free(&before);
}

/* Run each row on a fixture of its own. */
static void run_rows(const struct row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct maple_tree mt;

		fx_build(&mt, rows[i].fx);
		run_row(&rows[i], NULL, &mt, fx_flags(rows[i].fx), GFP_KERNEL,
			false);
		mtree_destroy(&mt);
	}
}

/* ---- The catalogue ---------------------------------------------------------- */

/* Every function but the gap searches and mtree_dup (tables of their own). */
static void test_catalogue(void)
{
	const struct row rows[] = {
	/* Stores: inverted ranges, reserved entries, NULL trees. */
	ROW(F_STORE_RANGE, FX_PLAIN, "first > last", -EINVAL,
	    .first = 11, .last = 10, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_PLAIN, "first = ULONG_MAX > last = 0", -EINVAL,
	    .first = MAX, .last = 0, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_PLAIN, "first > last, NULL entry", -EINVAL,
	    .first = 12, .last = 11),
	ROW(F_STORE_RANGE, FX_EMPTY, "first 1 > last 0, empty tree", -EINVAL,
	    .first = 1, .last = 0, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_PLAIN, "reserved entry", -EINVAL,
	    .first = 100, .last = 200, .entry = RESERVED),
	ROW(F_STORE_RANGE, FX_PLAIN, "reserved entry over [0, ULONG_MAX]",
	    -EINVAL, .first = 0, .last = MAX, .entry = RESERVED),
	ROW(F_STORE_RANGE, FX_EMPTY, "reserved entry at 0 (root pointer)",
	    -EINVAL, .first = 0, .last = 0, .entry = RESERVED),
	ROW(F_STORE_RANGE, FX_PLAIN, "reserved entry and first > last",
	    -EINVAL, .first = 9, .last = 1, .entry = RESERVED),
	ROW(F_STORE_RANGE, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .first = 1, .last = 2, .entry = OBJ(2), .opt = O_NULL_TREE),
	ROW(F_STORE, FX_PLAIN, "reserved entry at ULONG_MAX", -EINVAL,
	    .first = MAX, .entry = RESERVED),
	ROW(F_STORE, FX_EMPTY, "reserved entry at 0", -EINVAL,
	    .first = 0, .entry = RESERVED),
	ROW(F_STORE, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .first = 3, .entry = OBJ(2), .opt = O_NULL_TREE),

	/* Inserts: the same, plus a NULL entry and occupied spans. */
	ROW(F_INSERT_RANGE, FX_PLAIN, "first > last", -EINVAL,
	    .first = 7, .last = 6, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "first > last across entries", -EINVAL,
	    .first = 30, .last = 10, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "NULL entry", -EINVAL,
	    .first = 5, .last = 9),
	ROW(F_INSERT_RANGE, FX_EMPTY, "NULL entry at 0", -EINVAL,
	    .first = 0, .last = 0),
	ROW(F_INSERT_RANGE, FX_PLAIN, "reserved entry", -EINVAL,
	    .first = 5, .last = 9, .entry = RESERVED),
	ROW(F_INSERT_RANGE, FX_EMPTY, "reserved entry at 0", -EINVAL,
	    .first = 0, .last = 0, .entry = RESERVED),
	ROW(F_INSERT_RANGE, FX_PLAIN, "span holds an entry", -EEXIST,
	    .first = 12, .last = 12, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "span partly occupied", -EEXIST,
	    .first = 15, .last = 25, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "span ends on an entry", -EEXIST,
	    .first = 5, .last = 10, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "span inside XA_ZERO_ENTRY", -EEXIST,
	    .first = ZERO_FIRST + 3, .last = ZERO_FIRST + 4, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "span reaches XA_ZERO_ENTRY", -EEXIST,
	    .first = ZERO_FIRST - 10, .last = ZERO_FIRST, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "the whole space", -EEXIST,
	    .first = 0, .last = MAX, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "at ULONG_MAX, occupied", -EEXIST,
	    .first = MAX, .last = MAX, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "at 0, occupied", -EEXIST,
	    .first = 0, .last = 0, .entry = OBJ(2)),
	ROW(F_INSERT_RANGE, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .first = 5, .last = 9, .entry = OBJ(2), .opt = O_NULL_TREE),
	ROW(F_INSERT, FX_PLAIN, "NULL entry", -EINVAL, .first = 7),
	ROW(F_INSERT, FX_PLAIN, "reserved entry", -EINVAL,
	    .first = 7, .entry = RESERVED),
	ROW(F_INSERT, FX_PLAIN, "XA_ZERO_ENTRY over an entry", -EEXIST,
	    .first = 12, .entry = XA_ZERO_ENTRY),
	ROW(F_INSERT, FX_PLAIN, "index inside XA_ZERO_ENTRY", -EEXIST,
	    .first = ZERO_FIRST + 5, .entry = OBJ(2)),
	ROW(F_INSERT, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .first = 7, .entry = OBJ(2), .opt = O_NULL_TREE),

	/* Erase and the Normal API's reads. */
	ROW(F_ERASE, FX_PLAIN, "index in a NULL range", 0, .first = 7),
	ROW(F_ERASE, FX_EMPTY, "empty tree, index 0", 0, .first = 0),
	ROW(F_ERASE, FX_EMPTY, "empty tree, index ULONG_MAX", 0, .first = MAX),
	ROW(F_ERASE, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = 12, .opt = O_NULL_TREE),
	ROW(F_LOAD, FX_PLAIN, "inside XA_ZERO_ENTRY reads NULL", 0,
	    .first = ZERO_FIRST + 1),
	ROW(F_LOAD, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = 12, .opt = O_NULL_TREE),
	ROW(F_FIND, FX_PLAIN, "*index > max", 0, .first = 100, .max = 99),
	ROW(F_FIND, FX_PLAIN, "*index = ULONG_MAX > max = 0", 0,
	    .first = MAX, .max = 0),
	ROW(F_FIND, FX_PLAIN, "only XA_ZERO_ENTRY in [*index, max]", 0,
	    .first = ZERO_FIRST - 5, .max = ZERO_LAST + 5),
	ROW(F_FIND, FX_PLAIN, "NULL index (undoc)", 0,
	    .max = MAX, .opt = O_NULL_INDEX),
	ROW(F_FIND, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = 0, .max = MAX, .opt = O_NULL_TREE),
	ROW(F_FIND_AFTER, FX_PLAIN, "*index 0: the last hit ended at ULONG_MAX",
	    0, .first = 0, .max = MAX),
	ROW(F_FIND_AFTER, FX_PLAIN, "*index > max", 0, .first = 100, .max = 99),
	ROW(F_FIND_AFTER, FX_PLAIN, "NULL index (undoc)", 0,
	    .max = MAX, .opt = O_NULL_INDEX),
	ROW(F_NEXT, FX_PLAIN, "max < index", 0, .first = 100, .max = 50),
	ROW(F_NEXT, FX_PLAIN, "after ULONG_MAX", 0, .first = MAX, .max = MAX),
	ROW(F_NEXT, FX_PLAIN, "only XA_ZERO_ENTRY up to max", 0,
	    .first = ZERO_FIRST - 100, .max = ZERO_LAST + 100),
	ROW(F_NEXT, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = 0, .max = MAX, .opt = O_NULL_TREE),
	ROW(F_PREV, FX_PLAIN, "min > index", 0, .first = 100, .min = 150),
	ROW(F_PREV, FX_PLAIN, "before 0", 0, .first = 0, .min = 0),
	ROW(F_PREV, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = MAX, .min = 0, .opt = O_NULL_TREE),

	/* Whole-tree calls given no tree. */
	ROW(F_VALIDATE, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .opt = O_NULL_TREE),
	ROW(F_EMPTY, FX_PLAIN, "NULL tree (undoc)", 1, .opt = O_NULL_TREE),
	ROW(F_HEIGHT, FX_PLAIN, "NULL tree (undoc)", 0, .opt = O_NULL_TREE),
	ROW(F_IN_RCU, FX_PLAIN, "NULL tree (undoc)", 0, .opt = O_NULL_TREE),
	ROW(F_DESTROY, FX_PLAIN, "NULL tree (undoc)", 0, .opt = O_NULL_TREE),

	/* Cyclic allocation. */
	ROW(F_ALLOC_CYCLIC, FX_PLAIN, "no MT_FLAGS_ALLOC_RANGE", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_EMPTY, "no MT_FLAGS_ALLOC_RANGE, empty tree",
	    -EINVAL, .min = 0, .max = MAX, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "reserved entry, XA_ZERO_ENTRY included",
	    -EINVAL, .min = 0, .max = MAX, .entry = RESERVED_Z),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "range_lo > range_hi", -EINVAL,
	    .min = 100, .max = 99, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "range_lo ULONG_MAX > range_hi 0",
	    -EINVAL, .min = MAX, .max = 0, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "every index taken", -EBUSY,
	    .min = 10, .max = 14, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "every index taken, *next inside",
	    -EBUSY, .min = 10, .max = 14, .next = 12, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "every index taken, *next past range_hi",
	    -EBUSY, .min = 10, .max = 14, .next = 100, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "range reserved by XA_ZERO_ENTRY", -EBUSY,
	    .min = ZERO_FIRST, .max = ZERO_LAST, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "only ULONG_MAX, taken", -EBUSY,
	    .min = MAX, .max = MAX, .next = MAX, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "NULL tree (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_TREE),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "NULL startp (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_START),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "NULL next (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_NEXT),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "reserved entry, XA_ZERO_ENTRY included",
	    -EINVAL, .min = 0, .max = MAX, .entry = RESERVED_Z),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "range_lo > range_hi", -EINVAL,
	    .min = 100, .max = 99, .entry = OBJ(2)),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "every index taken", -EBUSY,
	    .min = 10, .max = 14, .next = 12, .entry = OBJ(2)),
	ROW(F_MAS_ALLOC_CYCLIC, FX_PLAIN, "every index taken, no gap tracking",
	    -EBUSY, .min = 10, .max = 14, .next = 12, .entry = OBJ(2)),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "range reserved by XA_ZERO_ENTRY",
	    -EBUSY, .min = ZERO_FIRST, .max = ZERO_LAST, .entry = OBJ(2)),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "NULL tree (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_TREE),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "NULL startp (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_START),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "NULL next (undoc)", -EINVAL,
	    .min = 0, .max = MAX, .entry = OBJ(2), .opt = O_NULL_NEXT),

	/* Advanced API writes. */
	ROW(F_MAS_STORE_GFP, FX_PLAIN, "index > last", -EINVAL,
	    .first = 11, .last = 10, .entry = OBJ(2)),
	ROW(F_MAS_STORE_GFP, FX_PLAIN, "index ULONG_MAX > last 0", -EINVAL,
	    .first = MAX, .last = 0, .entry = OBJ(2)),
	ROW(F_MAS_STORE_GFP, FX_PLAIN, "reserved entry", -EINVAL,
	    .first = 100, .last = 200, .entry = RESERVED),
	ROW(F_MAS_STORE_GFP, FX_EMPTY, "reserved entry at 0", -EINVAL,
	    .first = 0, .last = 0, .entry = RESERVED),
	ROW(F_MAS_STORE_GFP, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .first = 1, .last = 2, .entry = OBJ(2), .opt = O_NULL_TREE),
	/* mas_store documents -ENOMEM only: nothing to check but the tree. */
	ROW_ANY(F_MAS_STORE, FX_PLAIN, "index > last",
		.first = 11, .last = 10, .entry = OBJ(2)),
	ROW_ANY(F_MAS_STORE, FX_PLAIN, "reserved entry",
		.first = 100, .last = 200, .entry = RESERVED),
	ROW_ANY(F_MAS_STORE, FX_EMPTY, "reserved entry at 0",
		.first = 0, .last = 0, .entry = RESERVED),
	/* mas_preallocate documents 0 or -ENOMEM: it must fail somehow. */
	ROW_NEG(F_MAS_PREALLOCATE, FX_PLAIN, "index > last",
		.first = 11, .last = 10, .entry = OBJ(2)),
	ROW_NEG(F_MAS_PREALLOCATE, FX_PLAIN, "reserved entry",
		.first = 100, .last = 200, .entry = RESERVED),
	ROW_NEG(F_MAS_PREALLOCATE, FX_PLAIN, "NULL tree (undoc)",
		.first = 1, .last = 2, .entry = OBJ(2), .opt = O_NULL_TREE),
	ROW(F_MAS_ERASE, FX_PLAIN, "index in a NULL range", 0, .first = 7),
	ROW(F_MAS_ERASE, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = 12, .opt = O_NULL_TREE),

	/* Advanced API reads: inverted limits and no tree. */
	ROW(F_MAS_FIND, FX_PLAIN, "index > max", 0, .first = 100, .max = 99),
	ROW(F_MAS_FIND_REV, FX_PLAIN, "index < min", 0, .first = 100, .min = 101),
	ROW(F_MAS_NEXT, FX_PLAIN, "max < index", 0, .first = 100, .max = 50),
	ROW(F_MAS_PREV, FX_PLAIN, "min > index", 0, .first = 100, .min = 150),
	ROW(F_MAS_WALK, FX_PLAIN, "NULL tree (undoc)", 0, .opt = O_NULL_TREE),
	ROW(F_MAS_FIND, FX_PLAIN, "NULL tree (undoc)", 0,
	    .max = MAX, .opt = O_NULL_TREE),
	ROW(F_MAS_FIND_REV, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = MAX, .opt = O_NULL_TREE),
	ROW(F_MAS_NEXT, FX_PLAIN, "NULL tree (undoc)", 0,
	    .max = MAX, .opt = O_NULL_TREE),
	ROW(F_MAS_PREV, FX_PLAIN, "NULL tree (undoc)", 0,
	    .first = MAX, .opt = O_NULL_TREE),
	ROW(F_EMPTY_AREA, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .size = 1, .max = MAX, .opt = O_NULL_TREE),
	ROW(F_EMPTY_AREA_REV, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .size = 1, .max = MAX, .opt = O_NULL_TREE),
	ROW(F_EMPTY_ALIGNED, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .size = 1, .align = 1, .max = MAX, .opt = O_NULL_TREE),
	ROW(F_EMPTY_REV_ALIGNED, FX_PLAIN, "NULL tree (undoc)", -EINVAL,
	    .size = 1, .align = 1, .max = MAX, .opt = O_NULL_TREE),

	/* Reservations. */
	ROW(F_RESERVE, FX_PLAIN, "NULL tree", -EINVAL,
	    .nr_stores = 1, .max_entries = 100, .opt = O_NULL_TREE),
	ROW(F_RESERVE, FX_PLAIN, "NULL reservation", -EINVAL,
	    .nr_stores = 1, .max_entries = 100, .opt = O_NULL_RES),
	ROW(F_RESERVE, FX_PLAIN, "NULL tree and reservation", -EINVAL,
	    .nr_stores = 1, .max_entries = 100,
	    .opt = O_NULL_TREE | O_NULL_RES),
	ROW(F_RESERVE, FX_ALLOC, "NULL reservation, allocation tree", -EINVAL,
	    .nr_stores = 1, .max_entries = 100, .opt = O_NULL_RES),
	ROW(F_RESERVE, FX_PLAIN, "zero stores: nothing reserved", 0,
	    .nr_stores = 0, .max_entries = MAX),
	ROW(F_RESERVE, FX_PLAIN, "more than the cache holds, GFP_NOWAIT",
	    -ENOMEM, .nr_stores = UINT_MAX, .max_entries = MAX,
	    .opt = O_NOWAIT),
	ROW(F_RES_NODES, FX_PLAIN, "NULL reservation (undoc)", 0,
	    .opt = O_NULL_RES),
	};
	/* The same checks for each range allocator. */
	static const enum fn allocs[] = {
		F_ALLOC_RANGE, F_ALLOC_RRANGE, F_ALLOC_ALIGNED, F_ALLOC_RALIGNED,
	};
	size_t i;

	run_rows(rows, ARRAY_SIZE(rows));
	for (i = 0; i < ARRAY_SIZE(allocs); i++) {
		const struct row per_alloc[] = {
		ROW(allocs[i], FX_PLAIN, "no MT_FLAGS_ALLOC_RANGE", -EINVAL,
		    .size = 1, .align = 1, .max = MAX, .entry = OBJ(2)),
		ROW(allocs[i], FX_EMPTY, "no MT_FLAGS_ALLOC_RANGE, empty tree",
		    -EINVAL, .size = 1, .align = 1, .max = MAX, .entry = OBJ(2)),
		ROW(allocs[i], FX_ALLOC, "reserved entry, XA_ZERO_ENTRY included",
		    -EINVAL, .size = 1, .align = 1, .max = MAX,
		    .entry = RESERVED_Z),
		ROW(allocs[i], FX_EMPTY_ALLOC, "XA_ZERO_ENTRY, empty tree",
		    -EINVAL, .size = 1, .align = 1, .max = MAX,
		    .entry = XA_ZERO_ENTRY),
		ROW(allocs[i], FX_ALLOC, "NULL tree (undoc)", -EINVAL,
		    .size = 1, .align = 1, .max = MAX, .entry = OBJ(2),
		    .opt = O_NULL_TREE),
		ROW(allocs[i], FX_ALLOC, "NULL startp (undoc)", -EINVAL,
		    .size = 1, .align = 1, .max = MAX, .entry = OBJ(2),
		    .opt = O_NULL_START),
		};

		run_rows(per_alloc, ARRAY_SIZE(per_alloc));
	}
}

/* ---- Gap-search arguments ----------------------------------------------------- */

/*
 * Size, alignment, boundary and window, for the four range allocators and
 * the four mas_empty_area variants alike. aligned_only rows are given
 * only to the calls that take an alignment and a boundary.
 */
struct gap_row {
	const char *what;
	unsigned long size, align, boundary, min, max;
	long want;
	bool aligned_only;
};

static void test_gap_args(void)
{
	static const struct gap_row gaps[] = {
	{ "size 0", 0, 1, 0, 0, MAX, -EINVAL, false },
	{ "size 0 in a free window", 0, 1, 0, 1, 9, -EINVAL, false },
	{ "min > max", 1, 1, 0, 100, 99, -EINVAL, false },
	{ "min ULONG_MAX > max 0", 1, 1, 0, MAX, 0, -EINVAL, false },
	{ "window of 10 < size 11", 11, 1, 0, 100, 109, -EINVAL, false },
	{ "window [0, 0] < size 2", 2, 1, 0, 0, 0, -EINVAL, false },
	{ "window [ULONG_MAX, ULONG_MAX] < size 2", 2, 1, 0, MAX, MAX,
	  -EINVAL, false },
	{ "size ULONG_MAX > window [1, ULONG_MAX - 1]", MAX, 1, 0, 1, MAX - 1,
	  -EINVAL, false },
	{ "size ULONG_MAX fits the space, not the tree", MAX, 1, 0, 0, MAX,
	  -EBUSY, false },
	{ "window fully occupied", 1, 1, 0, 10, 14, -EBUSY, false },
	{ "window reserved by XA_ZERO_ENTRY", 1, 1, 0, ZERO_FIRST, ZERO_LAST,
	  -EBUSY, false },
	{ "every gap smaller than size", 6, 1, 0, 15, 29, -EBUSY, false },
	{ "align 0", 1, 0, 0, 0, MAX, -EINVAL, true },
	{ "align 3", 1, 3, 0, 0, MAX, -EINVAL, true },
	{ "align 12", 4, 12, 0, 0, MAX, -EINVAL, true },
	{ "align ULONG_MAX", 1, MAX, 0, 0, MAX, -EINVAL, true },
	{ "align 2^63 + 1", 1, (1UL << 63) + 1, 0, 0, MAX, -EINVAL, true },
	{ "align 0, min > max", 1, 0, 0, 9, 1, -EINVAL, true },
	{ "boundary 3", 1, 1, 3, 0, MAX, -EINVAL, true },
	{ "boundary 24", 4, 1, 24, 0, MAX, -EINVAL, true },
	{ "boundary ULONG_MAX", 1, 1, MAX, 0, MAX, -EINVAL, true },
	{ "boundary 8 < size 16", 16, 1, 8, 0, MAX, -EINVAL, true },
	{ "boundary 1 < size 2", 2, 1, 1, 0, MAX, -EINVAL, true },
	{ "boundary 2^62 < size 2^63", 1UL << 63, 1, 1UL << 62, 0, MAX,
	  -EINVAL, true },
	{ "no aligned start in the gap", 4, 8, 0, 1, 9, -EBUSY, true },
	{ "every span crosses a boundary", 4, 1, 4, 5, 9, -EBUSY, true },
	{ "align 2^63: only 0 in the window, taken", 1, 1UL << 63, 0, 0, 1000,
	  -EBUSY, true },
	};
	static const struct {
		enum fn fn;
		enum fx fx;
		bool aligned;
	} targets[] = {
		{ F_ALLOC_RANGE, FX_ALLOC, false },
		{ F_ALLOC_RRANGE, FX_ALLOC, false },
		{ F_ALLOC_ALIGNED, FX_ALLOC, true },
		{ F_ALLOC_RALIGNED, FX_ALLOC, true },
		{ F_EMPTY_AREA, FX_ALLOC, false },
		{ F_EMPTY_AREA_REV, FX_ALLOC, false },
		{ F_EMPTY_ALIGNED, FX_ALLOC, true },
		{ F_EMPTY_REV_ALIGNED, FX_ALLOC, true },
		/* Trees without gap tracking are searched by scanning. */
		{ F_EMPTY_AREA, FX_PLAIN, false },
		{ F_EMPTY_AREA_REV, FX_PLAIN, false },
		{ F_EMPTY_ALIGNED, FX_PLAIN, true },
		{ F_EMPTY_REV_ALIGNED, FX_PLAIN, true },
	};
	struct maple_tree fx[FX_COUNT];
	size_t g, t;

	/* Nothing changes the fixtures; build each once. */
	fx_build(&fx[FX_ALLOC], FX_ALLOC);
	fx_build(&fx[FX_PLAIN], FX_PLAIN);
	for (g = 0; g < ARRAY_SIZE(gaps); g++) {
		for (t = 0; t < ARRAY_SIZE(targets); t++) {
			const struct gap_row *gr = &gaps[g];
			char what[120];
			struct row r = {
				.what = what, .fn = targets[t].fn,
				.fx = targets[t].fx, .wk = W_EQ,
				.want = gr->want,
				.a = { .size = gr->size, .align = gr->align,
				       .boundary = gr->boundary,
				       .min = gr->min, .max = gr->max,
				       .entry = OBJ(2) },
			};

			if (gr->aligned_only && !targets[t].aligned)
				continue;
			snprintf(what, sizeof(what), "%s%s", gr->what,
				 targets[t].fx == FX_PLAIN ? " (no gap tracking)" :
				 "");
			run_row(&r, NULL, &fx[r.fx], fx_flags(r.fx), GFP_KERNEL,
				false);
		}
	}
	mtree_destroy(&fx[FX_ALLOC]);
	mtree_destroy(&fx[FX_PLAIN]);
}

/* ---- Forked children -------------------------------------------------------- */

static bool child_aborted(int st)
{
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static bool child_exited_cleanly(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void child_verdict(bool ok, const char *what, int st)
{
	if (ok) {
		harness_passed++;
		return;
	}
	harness_failed++;
	fprintf(stderr, "FAIL [%s]: child status %#x (%s %d)\n", what, st,
		st != -1 && WIFSIGNALED(st) ? "signal" : "exit",
		st != -1 && WIFSIGNALED(st) ? WTERMSIG(st) :
		st != -1 ? WEXITSTATUS(st) : -1);
}

/* ---- mtree_dup / __mt_dup ----------------------------------------------------- */

enum dst_kind { DST_EMPTY, DST_ROOT, DST_FULL };

struct dup_row {
	const char *what;
	unsigned int src_flags, dst_flags;
	bool src_full;
	enum dst_kind dst;
	unsigned int nul;	/* DUP_NULL_*: pass NULL instead */
	long want;
};

#define DUP_NULL_SRC	1
#define DUP_NULL_DST	2

static void dup_tree(struct maple_tree *mt, unsigned int flags, bool full)
{
	if ((flags & MT_FLAGS_LOCK_MASK) == MT_FLAGS_LOCK_EXTERN)
		ext_init(mt, flags & ~MT_FLAGS_LOCK_MASK);
	else
		mt_init_flags(mt, flags);
	if (full)
		fx_fill(mt);
}

/* __mt_dup with both trees' writer locks held. */
static int locked_dup(struct maple_tree *src, struct maple_tree *dst)
{
	int ret;

	if (dst)
		tree_lock(dst);
	if (src && src != dst)
		tree_lock(src);
	ret = __mt_dup(src, dst, GFP_KERNEL);
	if (src && src != dst)
		tree_unlock(src);
	if (dst)
		tree_unlock(dst);
	return ret;
}

static struct maple_tree self_tree;
static struct snap self_snap;

/* mtree_dup()/__mt_dup() of a tree onto itself; exit 1: wrong return, 2: changed. */
static void child_self_dup(void *arg)
{
	bool locked = arg != NULL;
	bool empty = mtree_empty(&self_tree);
	int ret = locked ? locked_dup(&self_tree, &self_tree) :
			   mtree_dup(&self_tree, &self_tree, GFP_KERNEL);

	/* Non-empty: the target is not empty (-EINVAL). Empty: nothing to do. */
	if (empty ? ret != 0 && ret != -EINVAL : ret != -EINVAL)
		_exit(1);
	if (!snap_same(&self_tree, &self_snap) || mt_validate(&self_tree))
		_exit(2);
	_exit(0);
}

static void test_dup_args(void)
{
	const struct dup_row rows[] = {
	{ "gap tracking differs", MT_FLAGS_ALLOC_RANGE, 0, true, DST_EMPTY, 0,
	  -EINVAL },
	{ "gap tracking differs (target)", 0, MT_FLAGS_ALLOC_RANGE, true,
	  DST_EMPTY, 0, -EINVAL },
	{ "gap tracking differs, empty source", MT_FLAGS_ALLOC_RANGE, 0, false,
	  DST_EMPTY, 0, -EINVAL },
	{ "RCU mode differs", MT_FLAGS_USE_RCU, 0, true, DST_EMPTY, 0, -EINVAL },
	{ "RCU mode differs (target)", 0, MT_FLAGS_USE_RCU, true, DST_EMPTY, 0,
	  -EINVAL },
	{ "lock kind differs: IRQ and none", MT_FLAGS_LOCK_IRQ, 0, true,
	  DST_EMPTY, 0, -EINVAL },
	{ "lock kind differs: BH and IRQ", MT_FLAGS_LOCK_BH, MT_FLAGS_LOCK_IRQ,
	  true, DST_EMPTY, 0, -EINVAL },
	{ "lock kind differs: external and internal", MT_FLAGS_LOCK_EXTERN, 0,
	  true, DST_EMPTY, 0, -EINVAL },
	{ "lock kind differs: internal and external", 0, MT_FLAGS_LOCK_EXTERN,
	  true, DST_EMPTY, 0, -EINVAL },
	{ "target not empty", 0, 0, true, DST_FULL, 0, -EINVAL },
	{ "target not empty, empty source", 0, 0, false, DST_FULL, 0, -EINVAL },
	{ "target holds a root entry", 0, 0, true, DST_ROOT, 0, -EINVAL },
	{ "target not empty, allocation trees", MT_FLAGS_ALLOC_RANGE,
	  MT_FLAGS_ALLOC_RANGE, true, DST_FULL, 0, -EINVAL },
	{ "target not empty, external locks", MT_FLAGS_LOCK_EXTERN,
	  MT_FLAGS_LOCK_EXTERN, true, DST_ROOT, 0, -EINVAL },
	{ "flags and target both wrong", MT_FLAGS_USE_RCU, 0, true, DST_FULL, 0,
	  -EINVAL },
	{ "NULL source (undoc)", 0, 0, true, DST_EMPTY, DUP_NULL_SRC, -EINVAL },
	{ "NULL target (undoc)", 0, 0, true, DST_EMPTY, DUP_NULL_DST, -EINVAL },
	/* Controls: what a good call does, so the failures above mean something. */
	{ "control: same flags, empty target", 0, 0, true, DST_EMPTY, 0, 0 },
	{ "control: allocation trees", MT_FLAGS_ALLOC_RANGE,
	  MT_FLAGS_ALLOC_RANGE, true, DST_EMPTY, 0, 0 },
	{ "control: external locks", MT_FLAGS_LOCK_EXTERN,
	  MT_FLAGS_LOCK_EXTERN, true, DST_EMPTY, 0, 0 },
	};
	size_t i;
	int locked, st;

	ext_held = true;	/* the external-lock trees' lock is "held" here */
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		for (locked = 0; locked < 2; locked++) {
			const struct dup_row *r = &rows[i];
			struct maple_tree src, dst;
			struct maple_tree *s = r->nul & DUP_NULL_SRC ? NULL : &src;
			struct maple_tree *d = r->nul & DUP_NULL_DST ? NULL : &dst;
			struct snap ssnap, dsnap;
			size_t live;
			char name[160];
			int ret;

			snprintf(name, sizeof(name), "%s: %s",
				 locked ? "__mt_dup" : "mtree_dup", r->what);
			dup_tree(&src, r->src_flags, r->src_full);
			dup_tree(&dst, r->dst_flags, r->dst == DST_FULL);
			if (r->dst == DST_ROOT)
				CHECK_EQ(mtree_store(&dst, 0, OBJ(3), GFP_KERNEL), 0);
			snap_take(&src, &ssnap);
			snap_take(&dst, &dsnap);
			live = nodes_live();
			ret = locked ? locked_dup(s, d) : mtree_dup(s, d, GFP_KERNEL);
			if (ret != r->want) {
				fprintf(stderr, "FAIL [%s]: returned %d, want %ld\n",
					name, ret, r->want);
				harness_failed++;
			} else {
				harness_passed++;
			}
			CHECK(snap_same(&src, &ssnap));
			/* A failed dup leaves the target as it was; a good one copies. */
			CHECK(snap_same(&dst, r->want ? &dsnap : &ssnap));
			CHECK_EQ(mt_validate(&src), 0);
			CHECK_EQ(mt_validate(&dst), 0);
			if (r->want)
				CHECK_EQ(nodes_live(), live);
			snap_free(&ssnap);
			snap_free(&dsnap);
			mtree_destroy(&src);
			mtree_destroy(&dst);
		}
	}
	ext_held = false;

	/* A tree onto itself, in a child: taking its lock twice would hang. */
	mt_rcu_barrier(NULL);
	for (i = 0; i < 2; i++) {
		for (locked = 0; locked < 2; locked++) {
			char name[80];

			mt_init(&self_tree);
			if (i)
				fx_fill(&self_tree);
			snap_take(&self_tree, &self_snap);
			snprintf(name, sizeof(name), "%s onto itself, %s tree",
				 locked ? "__mt_dup" : "mtree_dup",
				 i ? "populated" : "empty");
			st = harness_run_child(child_self_dup, locked ? &self_tree : NULL);
			child_verdict(child_exited_cleanly(st), name, st);
			snap_free(&self_snap);
			mtree_destroy(&self_tree);
		}
	}
}

/* ---- No memory to be had ------------------------------------------------------ */

/*
 * Every free node of the cache, taken with GFP_NOWAIT so the cache never
 * grows while draining: big reservations first, halving the size, then
 * single nodes preallocated in cursors for the last few.
 */
static struct {
	struct maple_tree tree;
	struct mt_reservation res[64];
	unsigned int nr_res;
	struct ma_state single[16];
	unsigned int nr_single;
} hoard;

static void drain(void)
{
	unsigned int k = 1u << 20;

	while (k && hoard.nr_res < ARRAY_SIZE(hoard.res)) {
		if (!mt_reserve(&hoard.tree, &hoard.res[hoard.nr_res], k, 0,
				GFP_NOWAIT))
			hoard.nr_res++;
		else
			k /= 2;
	}
	mtree_lock(&hoard.tree);
	while (hoard.nr_single < ARRAY_SIZE(hoard.single)) {
		MA_STATE(mas, &hoard.tree, 10, 20);

		if (mas_preallocate(&mas, OBJ(0), GFP_NOWAIT))
			break;
		hoard.single[hoard.nr_single++] = mas;
	}
	mtree_unlock(&hoard.tree);
}

static void undrain(void)
{
	while (hoard.nr_res)
		mt_reserve_release(&hoard.res[--hoard.nr_res]);
	while (hoard.nr_single)
		mas_destroy(&hoard.single[--hoard.nr_single]);
}

/* Can one node be had with @gfp right now? (Given back at once.) */
static bool node_available(gfp_t gfp)
{
	MA_STATE(mas, &hoard.tree, 10, 20);
	bool ok;

	mtree_lock(&hoard.tree);
	ok = !mas_preallocate(&mas, OBJ(0), gfp);
	mas_destroy(&mas);
	mtree_unlock(&hoard.tree);
	return ok;
}

static void test_no_memory(void)
{
	/*
	 * Calls that need nodes: the "every allocation failing" mode proves
	 * it, as they must fail there too.
	 */
	const struct row rows[] = {
	ROW(F_STORE_RANGE, FX_PLAIN, "spanning store", -ENOMEM,
	    .first = 95, .last = 1005, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_PLAIN, "split a range", -ENOMEM,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_PLAIN, "NULL over the middle of a range", -ENOMEM,
	    .first = 21, .last = 22),
	ROW(F_STORE_RANGE, FX_PLAIN_RCU, "split a range, RCU mode", -ENOMEM,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	ROW(F_STORE_RANGE, FX_EMPTY, "first store of a range", -ENOMEM,
	    .first = 5, .last = 9, .entry = OBJ(2)),
	ROW(F_STORE, FX_PLAIN, "index in a gap", -ENOMEM,
	    .first = 17, .entry = OBJ(2)),
	ROW(F_STORE, FX_PLAIN, "XA_ZERO_ENTRY in a gap", -ENOMEM,
	    .first = 27, .entry = XA_ZERO_ENTRY),
	ROW(F_INSERT_RANGE, FX_PLAIN, "into a gap", -ENOMEM,
	    .first = 16, .last = 18, .entry = OBJ(2)),
	ROW(F_INSERT, FX_PLAIN, "into a gap", -ENOMEM,
	    .first = 37, .entry = OBJ(2)),
	ROW(F_ALLOC_RANGE, FX_ALLOC, "lowest span", -ENOMEM,
	    .size = 2, .min = 0, .max = MAX, .entry = OBJ(2)),
	ROW(F_ALLOC_RRANGE, FX_ALLOC, "highest span below 2000", -ENOMEM,
	    .size = 2, .min = 0, .max = 2000, .entry = OBJ(2)),
	ROW(F_ALLOC_ALIGNED, FX_ALLOC, "aligned span", -ENOMEM,
	    .size = 2, .align = 4, .min = 0, .max = MAX, .entry = OBJ(2)),
	ROW(F_ALLOC_RALIGNED, FX_ALLOC, "aligned span, highest below 2000",
	    -ENOMEM, .size = 2, .align = 4, .boundary = 8, .min = 0,
	    .max = 2000, .entry = OBJ(2)),
	ROW(F_ALLOC_CYCLIC, FX_ALLOC, "next free after 100", -ENOMEM,
	    .min = 0, .max = 3000, .next = 100, .entry = OBJ(2)),
	ROW(F_ALLOC_RANGE, FX_ALLOC_RCU, "lowest span, RCU mode", -ENOMEM,
	    .size = 2, .min = 0, .max = MAX, .entry = OBJ(2)),
	ROW(F_DUP, FX_PLAIN, "populated tree", -ENOMEM, .entry = NULL),
	ROW(F_DUP, FX_ALLOC, "populated allocation tree", -ENOMEM,
	    .entry = NULL),
	ROW(F_RESERVE, FX_PLAIN, "one store", -ENOMEM,
	    .nr_stores = 1, .max_entries = 1000),
	ROW(F_MAS_STORE, FX_PLAIN, "split a range", -ENOMEM,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	ROW(F_MAS_STORE_GFP, FX_PLAIN, "split a range", -ENOMEM,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	ROW(F_MAS_PREALLOCATE, FX_PLAIN, "split a range", -ENOMEM,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	/* mas_nomem cannot get nodes either: no retry. */
	ROW(F_MAS_NOMEM, FX_PLAIN, "after a failed split", 0,
	    .first = 11, .last = 12, .entry = OBJ(2)),
	ROW(F_MAS_ALLOC_CYCLIC, FX_ALLOC, "next free after 100", -ENOMEM,
	    .min = 0, .max = 3000, .next = 100, .entry = OBJ(2)),
	};
	/* Erases allocate with GFP_KERNEL whatever the caller wants. */
	const struct row erase_rows[] = {
	/* "if no memory can be had the entry is left in place and NULL returned" */
	ROW(F_ERASE, FX_PLAIN_RCU, "entry inside a leaf, RCU mode", 0,
	    .first = 52),
	ROW_ANY(F_MAS_ERASE, FX_PLAIN_RCU, "entry inside a leaf, RCU mode",
		.first = 52, .last = 52),
	};
	static const struct {
		const char *name;
		gfp_t gfp;
		bool fault, drained;
	} modes[] = {
		{ "every allocation failing", GFP_KERNEL, true, false },
		{ "cache drained, GFP_NOWAIT", GFP_NOWAIT, false, true },
		{ "cache drained, GFP_ATOMIC, no emergency reserve", GFP_ATOMIC,
		  false, true },
	};
	struct maple_tree fx[FX_COUNT];
	size_t m, i;
	int f;

	mt_init(&hoard.tree);
	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		for (f = 0; f < FX_COUNT; f++) {
			fx_build(&fx[f], (enum fx)f);
			mt_rcu_barrier(&fx[f]);
		}
		if (modes[m].drained) {
			mt_rcu_barrier(NULL);	/* nothing to come back later */
			CHECK_EQ(mt_cache_reserve(0), 0);
			drain();
			CHECK(!node_available(GFP_NOWAIT));
			CHECK(!node_available(GFP_ATOMIC));
		}
		for (i = 0; i < ARRAY_SIZE(rows); i++) {
			if (modes[m].drained)
				drain();	/* take back what a call gave up */
			run_row(&rows[i], modes[m].name, &fx[rows[i].fx],
				fx_flags(rows[i].fx), modes[m].gfp,
				modes[m].fault);
		}
		if (modes[m].fault) {
			for (i = 0; i < ARRAY_SIZE(erase_rows); i++)
				run_row(&erase_rows[i], modes[m].name,
					&fx[erase_rows[i].fx],
					fx_flags(erase_rows[i].fx), GFP_KERNEL,
					true);
		}
		if (modes[m].drained) {
			undrain();
			CHECK_EQ(mt_cache_reserve(64), 0);	/* the default */
		}
		for (f = 0; f < FX_COUNT; f++)
			mtree_destroy(&fx[f]);
	}
	mtree_destroy(&hoard.tree);
	/* A good call afterwards: the cache works again. */
	CHECK(node_available(GFP_NOWAIT));
}

/* ---- A cursor in the wrong state ---------------------------------------------- */

static struct maple_tree err_tree;
static struct snap err_snap;
static struct ma_state err_mas;	/* left in ma_error by a failed store */

enum err_read {
	RD_WALK, RD_FIND, RD_FIND_REV, RD_FIND_RANGE, RD_FIND_RANGE_REV,
	RD_NEXT, RD_PREV, RD_NEXT_RANGE, RD_PREV_RANGE, RD_PAUSE,
	RD_EMPTY_AREA, RD_EMPTY_AREA_REV, RD_COUNT
};

static const char *const err_read_name[] = {
	"mas_walk", "mas_find", "mas_find_rev", "mas_find_range",
	"mas_find_range_rev", "mas_next", "mas_prev", "mas_next_range",
	"mas_prev_range", "mas_pause", "mas_empty_area", "mas_empty_area_rev",
};

/* One read through a cursor in ma_error: no crash, tree unchanged (exit 2). */
static void child_err_read(void *arg)
{
	struct ma_state mas = err_mas;

	mtree_lock(&err_tree);
	switch ((enum err_read)(intptr_t)arg) {
	case RD_WALK: (void)mas_walk(&mas); break;
	case RD_FIND: (void)mas_find(&mas, MAX); break;
	case RD_FIND_REV: (void)mas_find_rev(&mas, 0); break;
	case RD_FIND_RANGE: (void)mas_find_range(&mas, MAX); break;
	case RD_FIND_RANGE_REV: (void)mas_find_range_rev(&mas, 0); break;
	case RD_NEXT: (void)mas_next(&mas, MAX); break;
	case RD_PREV: (void)mas_prev(&mas, 0); break;
	case RD_NEXT_RANGE: (void)mas_next_range(&mas, MAX); break;
	case RD_PREV_RANGE: (void)mas_prev_range(&mas, 0); break;
	case RD_PAUSE: mas_pause(&mas); (void)mas_find(&mas, MAX); break;
	case RD_EMPTY_AREA: (void)mas_empty_area(&mas, 0, MAX, 1); break;
	case RD_EMPTY_AREA_REV: (void)mas_empty_area_rev(&mas, 0, MAX, 1); break;
	case RD_COUNT: break;
	}
	mtree_unlock(&err_tree);
	if (!snap_same(&err_tree, &err_snap) || mt_validate(&err_tree))
		_exit(2);
	_exit(0);
}

static void test_cursor_state(void)
{
	MA_STATE(mas, &err_tree, 11, 12);
	size_t live;
	int r, st;

	fx_build(&err_tree, FX_PLAIN);
	snap_take(&err_tree, &err_snap);
	live = nodes_live();

	/* mas_nomem with no -ENOMEM behind it: nothing to retry, nothing taken. */
	mtree_lock(&err_tree);
	CHECK(!mas_nomem(&mas, GFP_KERNEL));		/* fresh cursor */
	CHECK_EQ(mas_allocated(&mas), 0);
	CHECK_PTR(mas_walk(&mas), xa_mk_value(0));	/* active, [10, 14] */
	CHECK(!mas_nomem(&mas, GFP_KERNEL));
	CHECK_EQ(mas_allocated(&mas), 0);
	mas_set_range(&mas, 100, 200);
	(void)mas_store(&mas, xa_mk_internal(5));	/* rejected somehow */
	CHECK(!mas_nomem(&mas, GFP_KERNEL));
	CHECK_EQ(mas_allocated(&mas), 0);
	mtree_unlock(&err_tree);
	CHECK_EQ(nodes_live(), live);
	CHECK(snap_same(&err_tree, &err_snap));

	/* A store that fails for memory leaves ma_error and -ENOMEM. */
	mas_set_range(&mas, 11, 12);
	mtree_lock(&err_tree);
	mt_fault_inject_all(true);
	CHECK(mas_store(&mas, OBJ(2)) == NULL);
	CHECK(mas_is_err(&mas));
	CHECK_EQ(xa_err(mas.node), -ENOMEM);
	/* ... and mas_nomem cannot help while memory is still short. */
	CHECK(!mas_nomem(&mas, GFP_KERNEL));
	CHECK_EQ(mas_allocated(&mas), 0);
	mt_fault_inject_all(false);
	mtree_unlock(&err_tree);
	CHECK_EQ(nodes_live(), live);
	CHECK(snap_same(&err_tree, &err_snap));
	CHECK_EQ(mt_validate(&err_tree), 0);

	/* Reads through the errored cursor must not dereference the error. */
	err_mas = mas;
	mt_rcu_barrier(NULL);
	for (r = 0; r < RD_COUNT; r++) {
		char name[80];

		snprintf(name, sizeof(name), "%s from ma_error", err_read_name[r]);
		st = harness_run_child(child_err_read, (void *)(intptr_t)r);
		child_verdict(child_exited_cleanly(st), name, st);
	}

	/* mas_reset/mas_set bring an errored cursor back to work. */
	{
		MA_STATE(other, &err_tree, 0, 0);

		other = mas;
		mas_set(&other, 13);
		mtree_lock(&err_tree);
		CHECK_PTR(mas_walk(&other), xa_mk_value(0));
		CHECK_EQ(other.index, 10);
		CHECK_EQ(other.last, 14);
		mtree_unlock(&err_tree);
	}

	/* The documented recovery: mas_nomem then the same store again. */
	mtree_lock(&err_tree);
	CHECK(mas_nomem(&mas, GFP_KERNEL));
	CHECK(mas_allocated(&mas) > 0);
	(void)mas_store(&mas, OBJ(2));
	CHECK(!mas_is_err(&mas));
	mas_destroy(&mas);
	mtree_unlock(&err_tree);
	CHECK_PTR(mtree_load(&err_tree, 11), OBJ(2));
	CHECK_PTR(mtree_load(&err_tree, 12), OBJ(2));
	CHECK_PTR(mtree_load(&err_tree, 13), xa_mk_value(0));
	CHECK_EQ(mt_validate(&err_tree), 0);
	snap_free(&err_snap);
	mtree_destroy(&err_tree);

	/* Releasing what was never taken, or twice, changes nothing. */
	{
		struct maple_tree t = MTREE_INIT(t, 0);
		MA_STATE(fresh, &t, 5, 9);
		struct mt_reservation res;

		live = nodes_live();
		mas_destroy(&fresh);
		mas_destroy(&fresh);
		CHECK_EQ(nodes_live(), live);
		CHECK_EQ(mt_reserve(&t, &res, 2, 1000, GFP_KERNEL), 0);
		CHECK(mt_reservation_nodes(&res) > 0);
		mt_reserve_release(&res);
		CHECK_EQ(mt_reservation_nodes(&res), 0);
		mt_reserve_release(&res);
		CHECK_EQ(mt_reservation_nodes(&res), 0);
		CHECK_EQ(nodes_live(), live);
		/* A preallocation never used goes back with mas_destroy. */
		mtree_lock(&t);
		CHECK_EQ(mas_preallocate(&fresh, OBJ(2), GFP_KERNEL), 0);
		mas_destroy(&fresh);
		CHECK_EQ(mas_allocated(&fresh), 0);
		mtree_unlock(&t);
		CHECK_EQ(nodes_live(), live);
		CHECK(mtree_empty(&t));
		mtree_destroy(&t);
	}
}

/* ---- Loud failures ------------------------------------------------------------ */

/*
 * Writes without the writer lock abort in debug builds. test_api covers
 * mas_store, mas_store_gfp, mas_erase, mtree_store_range, mtree_erase and
 * mtree_lock; these are the other write paths.
 */
static struct maple_tree lf_int, lf_alloc, lf_empty, lf_ext, lf_ext_alloc,
			 lf_ext_empty;

static void child_store_prealloc_unlocked(void *arg)
{
	MA_STATE(mas, &lf_int, 11, 12);

	(void)arg;
	mtree_lock(&lf_int);
	if (mas_preallocate(&mas, OBJ(2), GFP_KERNEL))
		_exit(3);
	mtree_unlock(&lf_int);
	mas_store_prealloc(&mas, OBJ(2));
}

static void child_mas_alloc_cyclic_unlocked(void *arg)
{
	MA_STATE(mas, &lf_alloc, 0, 0);
	unsigned long start, next = 0;

	(void)arg;
	(void)mas_alloc_cyclic(&mas, &start, OBJ(2), 0, MAX, &next, GFP_KERNEL);
}

static void child_dup_unlocked(void *arg)
{
	(void)arg;
	(void)__mt_dup(&lf_int, &lf_empty, GFP_KERNEL);
}

static void child_dup_source_unlocked(void *arg)
{
	(void)arg;
	mtree_lock(&lf_empty);
	(void)__mt_dup(&lf_int, &lf_empty, GFP_KERNEL);
}

static void child_destroy_unlocked(void *arg)
{
	(void)arg;
	__mt_destroy(&lf_int);
}

/* External-lock trees; arg non-NULL: the check answers "held". */
static void child_ext_alloc_range(void *arg)
{
	unsigned long start;

	ext_held = arg != NULL;
	if (mtree_alloc_range(&lf_ext_alloc, &start, OBJ(2), 1, 0, MAX,
			      GFP_KERNEL))
		_exit(3);
}

static void child_ext_alloc_cyclic(void *arg)
{
	unsigned long start, next = 0;

	ext_held = arg != NULL;
	if (mtree_alloc_cyclic(&lf_ext_alloc, &start, OBJ(2), 0, MAX, &next,
			       GFP_KERNEL) < 0)
		_exit(3);
}

static void child_ext_insert(void *arg)
{
	ext_held = arg != NULL;
	if (mtree_insert_range(&lf_ext, 5, 9, OBJ(2), GFP_KERNEL))
		_exit(3);
}

static void child_ext_dup(void *arg)
{
	ext_held = arg != NULL;
	if (mtree_dup(&lf_ext, &lf_ext_empty, GFP_KERNEL))
		_exit(3);
}

static void child_ext_set_rcu(void *arg)
{
	ext_held = arg != NULL;
	mt_set_in_rcu(&lf_ext);
	mt_clear_in_rcu(&lf_ext);
}

static void child_ext_destroy(void *arg)
{
	ext_held = arg != NULL;
	mtree_destroy(&lf_ext);
}

static void child_ext_mas_store_gfp(void *arg)
{
	MA_STATE(mas, &lf_ext, 5, 9);

	ext_held = arg != NULL;
	if (mas_store_gfp(&mas, OBJ(2), GFP_KERNEL))
		_exit(3);
}

static void child_ext_mas_alloc_cyclic(void *arg)
{
	MA_STATE(mas, &lf_ext_alloc, 0, 0);
	unsigned long start, next = 0;

	ext_held = arg != NULL;
	if (mas_alloc_cyclic(&mas, &start, OBJ(2), 0, MAX, &next,
			     GFP_KERNEL) < 0)
		_exit(3);
}

static void child_ext_store_prealloc(void *arg)
{
	MA_STATE(mas, &lf_ext, 11, 12);

	ext_held = true;
	if (mas_preallocate(&mas, OBJ(2), GFP_KERNEL))
		_exit(3);
	ext_held = arg != NULL;
	mas_store_prealloc(&mas, OBJ(2));
}

/* mtree_unlock()/mas_lock()/mas_unlock() on an external-lock tree, lock held. */
static void child_ext_mtree_unlock(void *arg)
{
	(void)arg;
	ext_held = true;
	mtree_unlock(&lf_ext);
}

static void child_ext_mas_lock(void *arg)
{
	MA_STATE(mas, &lf_ext, 0, 0);

	(void)arg;
	ext_held = true;
	mas_lock(&mas);
	mas_unlock(&mas);
}

static void child_ext_mas_unlock(void *arg)
{
	MA_STATE(mas, &lf_ext, 0, 0);

	(void)arg;
	ext_held = true;
	mas_unlock(&mas);
}

static void test_loud(void)
{
	static const struct {
		const char *what;
		void (*fn)(void *);
		bool debug_only, has_control;
	} cases[] = {
		{ "mas_store_prealloc without the lock",
		  child_store_prealloc_unlocked, true, false },
		{ "mas_alloc_cyclic without the lock",
		  child_mas_alloc_cyclic_unlocked, true, false },
		{ "__mt_dup without either lock", child_dup_unlocked, true, false },
		{ "__mt_dup without the source's lock", child_dup_source_unlocked,
		  true, false },
		{ "__mt_destroy without the lock", child_destroy_unlocked, true,
		  false },
		{ "mtree_alloc_range, external lock not held",
		  child_ext_alloc_range, true, true },
		{ "mtree_alloc_cyclic, external lock not held",
		  child_ext_alloc_cyclic, true, true },
		{ "mtree_insert_range, external lock not held", child_ext_insert,
		  true, true },
		{ "mtree_dup, external locks not held", child_ext_dup, true, true },
		{ "mt_set_in_rcu, external lock not held", child_ext_set_rcu, true,
		  true },
		{ "mtree_destroy, external lock not held", child_ext_destroy, true,
		  true },
		{ "mas_store_gfp, external lock not held", child_ext_mas_store_gfp,
		  true, true },
		{ "mas_alloc_cyclic, external lock not held",
		  child_ext_mas_alloc_cyclic, true, true },
		{ "mas_store_prealloc, external lock not held",
		  child_ext_store_prealloc, true, true },
		/* "Not for trees with MT_FLAGS_LOCK_EXTERN (the call fails loudly)" */
		{ "mtree_unlock on an external-lock tree", child_ext_mtree_unlock,
		  false, false },
		{ "mas_lock on an external-lock tree", child_ext_mas_lock, false,
		  false },
		{ "mas_unlock on an external-lock tree", child_ext_mas_unlock,
		  false, false },
	};
	size_t i;
	int st;

	fx_build(&lf_int, FX_PLAIN);
	fx_build(&lf_alloc, FX_ALLOC);
	mt_init(&lf_empty);
	ext_held = true;
	ext_init(&lf_ext, 0);
	fx_fill(&lf_ext);
	ext_init(&lf_ext_alloc, MT_FLAGS_ALLOC_RANGE);
	fx_fill(&lf_ext_alloc);
	ext_init(&lf_ext_empty, 0);
	ext_held = false;
	mt_rcu_barrier(NULL);	/* no deferred work running across fork() */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
#ifdef NDEBUG
		if (cases[i].debug_only)
			continue;
#endif
		st = harness_run_child(cases[i].fn, NULL);
		child_verdict(child_aborted(st), cases[i].what, st);
		/* The same call with the lock held goes through. */
		if (cases[i].has_control) {
			char name[120];

			snprintf(name, sizeof(name), "control: %s",
				 cases[i].what);
			st = harness_run_child(cases[i].fn, &ext_held);
			child_verdict(child_exited_cleanly(st), name, st);
		}
	}
	ext_held = true;
	mtree_destroy(&lf_ext);
	mtree_destroy(&lf_ext_alloc);
	mtree_destroy(&lf_ext_empty);
	ext_held = false;
	mtree_destroy(&lf_int);
	mtree_destroy(&lf_alloc);
	mtree_destroy(&lf_empty);
}

/* ---- Valid edges -------------------------------------------------------------- */

/* 0 and ULONG_MAX as indices, windows as large as the space: all valid. */
static void test_edges(void)
{
	struct maple_tree mt;
	struct mt_reservation res;
	unsigned long start, next, index;
	size_t live = nodes_live();

	mt_init(&mt);
	CHECK_EQ(mtree_store(&mt, 0, OBJ(2), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&mt, 0), OBJ(2));
	CHECK(mtree_load(&mt, 1) == NULL);
	CHECK_EQ(mtree_store(&mt, MAX, OBJ(3), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&mt, MAX), OBJ(3));
	CHECK(mtree_load(&mt, MAX - 1) == NULL);
	CHECK_EQ(mtree_insert(&mt, MAX, OBJ(4), GFP_KERNEL), -EEXIST);
	CHECK_PTR(mtree_erase(&mt, MAX), OBJ(3));
	CHECK_EQ(mtree_insert(&mt, MAX, OBJ(4), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&mt, MAX), OBJ(4));
	/* A hit ending at ULONG_MAX wraps *index to 0; mt_find_after stops. */
	index = MAX;
	CHECK_PTR(mt_find(&mt, &index, MAX), OBJ(4));
	CHECK_EQ(index, 0);
	CHECK(mt_find_after(&mt, &index, MAX) == NULL);
	index = 1;
	CHECK_PTR(mt_find(&mt, &index, MAX), OBJ(4));
	CHECK_EQ(index, 0);
	CHECK_PTR(mt_next(&mt, 0, MAX), OBJ(4));
	CHECK_PTR(mt_prev(&mt, MAX, 0), OBJ(2));
	CHECK(mt_next(&mt, MAX, MAX) == NULL);
	CHECK(mt_prev(&mt, 0, 0) == NULL);
	CHECK_EQ(mtree_store_range(&mt, 0, MAX, OBJ(5), GFP_KERNEL), 0);
	CHECK_PTR(mtree_load(&mt, 0), OBJ(5));
	CHECK_PTR(mtree_load(&mt, 123456), OBJ(5));
	CHECK_PTR(mtree_load(&mt, MAX), OBJ(5));
	CHECK_PTR(mtree_erase(&mt, 77), OBJ(5));
	CHECK(mtree_empty(&mt));
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* Allocations over the whole space and at its ends. */
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	CHECK_EQ(mtree_alloc_range(&mt, &start, OBJ(2), MAX, 0, MAX,
				   GFP_KERNEL), 0);
	CHECK_EQ(start, 0);
	CHECK_PTR(mtree_load(&mt, MAX - 1), OBJ(2));
	CHECK_EQ(mtree_alloc_range(&mt, &start, OBJ(3), 1, 0, MAX, GFP_KERNEL), 0);
	CHECK_EQ(start, MAX);
	CHECK_EQ(mtree_alloc_range(&mt, &start, OBJ(3), 1, 0, MAX, GFP_KERNEL),
		 -EBUSY);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);
	CHECK_EQ(mtree_alloc_rrange(&mt, &start, OBJ(2), MAX, 0, MAX,
				    GFP_KERNEL), 0);
	CHECK_EQ(start, 1);
	CHECK_EQ(mtree_alloc_rrange(&mt, &start, OBJ(3), 1, 0, MAX, GFP_KERNEL), 0);
	CHECK_EQ(start, 0);
	CHECK_PTR(mtree_load(&mt, 0), OBJ(3));
	mtree_destroy(&mt);
	/* A window exactly the size. */
	CHECK_EQ(mtree_alloc_range(&mt, &start, OBJ(2), 10, 100, 109,
				   GFP_KERNEL), 0);
	CHECK_EQ(start, 100);
	CHECK_EQ(mtree_alloc_rrange(&mt, &start, OBJ(2), 10, 100, 109,
				    GFP_KERNEL), -EBUSY);
	CHECK_EQ(mtree_alloc_rrange(&mt, &start, OBJ(2), 10, 110, 119,
				    GFP_KERNEL), 0);
	CHECK_EQ(start, 110);
	mtree_destroy(&mt);
	/* The largest alignment and boundary. */
	CHECK_EQ(mtree_alloc_range_aligned(&mt, &start, OBJ(2), 1, 1UL << 63, 0,
					   1, MAX, GFP_KERNEL), 0);
	CHECK_EQ(start, 1UL << 63);
	CHECK_EQ(mtree_alloc_rrange_aligned(&mt, &start, OBJ(2), 1, 1UL << 63,
					    0, 1, MAX, GFP_KERNEL), -EBUSY);
	mtree_destroy(&mt);
	CHECK_EQ(mtree_alloc_rrange_aligned(&mt, &start, OBJ(2), 1UL << 63, 1,
					    1UL << 63, 0, MAX, GFP_KERNEL), 0);
	CHECK_EQ(start, 1UL << 63);
	CHECK_EQ(mtree_alloc_range_aligned(&mt, &start, OBJ(3), 1UL << 63, 1,
					   1UL << 63, 0, MAX, GFP_KERNEL), 0);
	CHECK_EQ(start, 0);
	CHECK_EQ(mt_validate(&mt), 0);
	mtree_destroy(&mt);

	/* Cyclic allocation at the top of the space, and the wrap it reports. */
	next = MAX - 1;
	CHECK_EQ(mtree_alloc_cyclic(&mt, &start, OBJ(2), MAX - 1, MAX, &next,
				    GFP_KERNEL), 0);
	CHECK_EQ(start, MAX - 1);
	CHECK_EQ(next, MAX);
	CHECK_EQ(mtree_alloc_cyclic(&mt, &start, OBJ(3), MAX - 1, MAX, &next,
				    GFP_KERNEL), 0);
	CHECK_EQ(start, MAX);
	CHECK_EQ(next, 0);
	start = START_UNSET;
	CHECK_EQ(mtree_alloc_cyclic(&mt, &start, OBJ(4), MAX - 1, MAX, &next,
				    GFP_KERNEL), -EBUSY);
	CHECK_EQ(start, START_UNSET);
	CHECK_EQ(next, 0);
	CHECK_PTR(mtree_erase(&mt, MAX - 1), OBJ(2));
	CHECK_EQ(mtree_alloc_cyclic(&mt, &start, OBJ(4), MAX - 1, MAX, &next,
				    GFP_KERNEL), 1);
	CHECK_EQ(start, MAX - 1);
	CHECK_EQ(next, MAX);
	mtree_destroy(&mt);

	/* Gap search over the whole space of an empty plain tree. */
	mt_init(&mt);
	{
		MA_STATE(mas, &mt, 0, 0);

		mtree_lock(&mt);
		CHECK_EQ(mas_empty_area(&mas, 0, MAX, MAX), 0);
		CHECK_EQ(mas.index, 0);
		CHECK_EQ(mas.last, MAX - 1);
		CHECK_EQ(mas_empty_area_rev(&mas, 0, MAX, MAX), 0);
		CHECK_EQ(mas.index, 1);
		CHECK_EQ(mas.last, MAX);
		CHECK_EQ(mas_empty_area_aligned(&mas, 0, MAX, 1UL << 63,
						1UL << 63, 1UL << 63), 0);
		CHECK_EQ(mas.index, 0);
		mtree_unlock(&mt);
	}
	/* A reservation for the largest tree there can be. */
	CHECK_EQ(mt_reserve(&mt, &res, 1, MAX, GFP_KERNEL), 0);
	CHECK(mt_reservation_nodes(&res) > 0);
	mt_reserve_release(&res);
	CHECK_EQ(mt_reservation_nodes(&res), 0);
	mtree_destroy(&mt);
	CHECK_EQ(nodes_live(), live);
}

/* ---- mt_dump_dot ---------------------------------------------------------------- */

static void test_dump(void)
{
	struct maple_tree mt;
	struct snap s;
	FILE *f;

	fx_build(&mt, FX_PLAIN);
	snap_take(&mt, &s);
	/* A stream that cannot be written. */
	f = fopen("/dev/null", "r");
	if (f) {
		CHECK_EQ(mt_dump_dot(&mt, f), -EIO);
		fclose(f);
	}
	/* A device that is always full, unbuffered so every write fails. */
	f = fopen("/dev/full", "w");
	if (f) {
		setvbuf(f, NULL, _IONBF, 0);
		CHECK_EQ(mt_dump_dot(&mt, f), -EIO);
		fclose(f);
	}
	CHECK(snap_same(&mt, &s));
	snap_free(&s);
	mtree_destroy(&mt);
}

int main(void)
{
	size_t live;

	urcu_memb_register_thread();
	sweep_init();
	live = nodes_live();
	test_catalogue();
	test_gap_args();
	test_dup_args();
	test_cursor_state();
	test_no_memory();
	test_loud();
	test_edges();
	test_dump();
	mt_rcu_barrier(NULL);
	CHECK_EQ(nodes_live(), live);
	urcu_memb_unregister_thread();
	return harness_finish();
}
