// SPDX-License-Identifier: MIT
/*
 * Allocation trees: gap searches (mas_empty_area and friends), the
 * allocators built on them (mtree_alloc_range/rrange, the aligned
 * extension, cyclic ids) and XA_ZERO_ENTRY reservations.
 *
 * Every search runs on the four kinds of tree: with gap tracking
 * (MT_FLAGS_ALLOC_RANGE) and without (scanned), each also in RCU mode.
 * Answers are checked against hand-worked cases and against references kept
 * by the test: a per-index brute force over a small model array, and a
 * sorted interval list for a 2^40 space (itself checked against the brute
 * force first). mt_validate() runs after every mutation: in allocation
 * trees it also checks the recorded gaps. Last, searches under the RCU
 * read lock alone race a writer (checked for form, and by the sanitizers).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "harness.h"

#define MAX ULONG_MAX
#define KiB (1UL << 10)
#define MiB (1UL << 20)
#define GiB (1UL << 30)

#define CHECK_PTR(a, b) CHECK_EQ((uintptr_t)(a), (uintptr_t)(b))

#define FWD false
#define REV true

static uint64_t rng;

/* Distinct, plain (4-byte aligned) pointers to store. */
static int objs[16];
#define OBJ(n) ((void *)&objs[(n)])

/* A number in [0, n); n > 0. */
static unsigned long rnd(unsigned long n)
{
	return (unsigned long)(harness_rand(&rng) % n);
}

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

/* The four kinds of tree every search check runs on. */
struct kind {
	unsigned int flags;
	const char *name;
};

static const struct kind kinds[] = {
	{ MT_FLAGS_ALLOC_RANGE, "alloc" },
	{ 0, "plain" },
	{ MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU, "alloc+rcu" },
	{ MT_FLAGS_USE_RCU, "plain+rcu" },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static bool is_alloc(unsigned int flags)
{
	return flags & MT_FLAGS_ALLOC_RANGE;
}

/* Count a mismatch in a long loop, printing only the first few. */
static void note_bad(unsigned long *bad, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_bad(unsigned long *bad, const char *fmt, ...)
{
	va_list ap;

	if (*bad < 5) {
		va_start(ap, fmt);
		fputs("  mismatch: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	++*bad;
}

/* mt_validate() after a mutation; a loop adds one CHECK for all of them. */
static void validate(struct maple_tree *mt, unsigned long *bad,
		     const char *what, unsigned long at)
{
	if (mt_validate(mt) != 0)
		note_bad(bad, "mt_validate after %s (%lu)", what, at);
}

/* ---- Queries and the references ------------------------------------------ */

struct query {
	bool rev;
	unsigned long min, max, size, align, boundary;
};

static bool pow2(unsigned long x)
{
	return x && !(x & (x - 1));
}

/* The -EINVAL cases, as the header lists them. */
static int bad_query(const struct query *q)
{
	if (q->min > q->max || q->size == 0 || q->max - q->min < q->size - 1)
		return -EINVAL;
	if (!pow2(q->align))
		return -EINVAL;
	if (q->boundary && (!pow2(q->boundary) || q->boundary < q->size))
		return -EINVAL;
	return 0;
}

/* Does [s, s + size - 1] cross a multiple of @b (0: no boundary)? */
static bool crosses(unsigned long s, unsigned long size, unsigned long b)
{
	return b && (s & ~(b - 1)) != ((s + size - 1) & ~(b - 1));
}

/*
 * Brute force over a model array (0 = free): every start in order, lowest
 * first (or highest), checked index by index. @m covers [base, base + n).
 */
static int array_ref(const uint32_t *m, unsigned long n, unsigned long base,
		     const struct query *q, unsigned long *start)
{
	static unsigned long *fl;	/* free run length from x to q->max */
	static unsigned long fl_n;
	unsigned long x0, x1, x;
	int err = bad_query(q);

	if (err)
		return err;
	if (fl_n < n + 1) {
		free(fl);
		fl = malloc((n + 1) * sizeof(*fl));
		if (!fl)
			abort();
		fl_n = n + 1;
	}
	x0 = q->min - base;
	x1 = q->max - base;
	fl[x1 + 1] = 0;
	for (x = x1 + 1; x-- > x0;)
		fl[x] = m[x] ? 0 : fl[x + 1] + 1;
#define FITS(x) (fl[x] >= q->size && !((base + (x)) & (q->align - 1)) && \
		 !crosses(base + (x), q->size, q->boundary))
	if (!q->rev) {
		for (x = x0; x <= x1; x++)
			if (FITS(x)) {
				*start = base + x;
				return 0;
			}
	} else {
		for (x = x1 + 1; x-- > x0;)
			if (FITS(x)) {
				*start = base + x;
				return 0;
			}
	}
#undef FITS
	return -EBUSY;
}

/* Round @x up to a multiple of @a (a power of two); false on overflow. */
static bool round_up_to(unsigned long x, unsigned long a, unsigned long *out)
{
	unsigned long r = x & ~(a - 1);

	if (r != x) {
		r += a;
		if (!r)
			return false;
	}
	*out = r;
	return true;
}

/* The lowest start for @q inside the free run [lo, hi]. */
static bool fit_fwd(unsigned long lo, unsigned long hi, const struct query *q,
		    unsigned long *start)
{
	unsigned long s;

	if (!round_up_to(lo, q->align, &s))
		return false;
	for (;;) {
		if (s > hi || hi - s < q->size - 1)
			return false;
		if (!crosses(s, q->size, q->boundary))
			break;
		/* the block holding the end starts after s: go there */
		if (!round_up_to((s + q->size - 1) & ~(q->boundary - 1),
				 q->align, &s))
			return false;
	}
	*start = s;
	return true;
}

/* The highest start for @q inside the free run [lo, hi]. */
static bool fit_rev(unsigned long lo, unsigned long hi, const struct query *q,
		    unsigned long *start)
{
	unsigned long s, blk;

	if (hi - lo < q->size - 1)
		return false;
	s = (hi - q->size + 1) & ~(q->align - 1);
	for (;;) {
		if (s < lo)
			return false;
		if (!crosses(s, q->size, q->boundary))
			break;
		/* end before the block the span ran into */
		blk = (s + q->size - 1) & ~(q->boundary - 1);
		if (blk < q->size)
			return false;
		s = (blk - q->size) & ~(q->align - 1);
	}
	*start = s;
	return true;
}

/* A sorted list of occupied intervals: the model of a large space. */
struct ival {
	unsigned long first, last;
	void *entry;
};

struct imodel {
	struct ival *v;
	size_t n, cap;
};

/* The first interval with last >= @index (m->n if none). */
static size_t im_lower(const struct imodel *m, unsigned long index)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].last < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool im_free(const struct imodel *m, unsigned long a, unsigned long b)
{
	size_t i = im_lower(m, a);

	return i == m->n || m->v[i].first > b;
}

static void im_reserve(struct imodel *m, size_t n)
{
	if (n <= m->cap)
		return;
	m->cap = m->cap ? 2 * m->cap : 1024;
	if (m->cap < n)
		m->cap = n;
	m->v = realloc(m->v, m->cap * sizeof(*m->v));
	if (!m->v)
		abort();
}

/* Add [a, b] (known free). */
static void im_add(struct imodel *m, unsigned long a, unsigned long b,
		   void *entry)
{
	size_t i = im_lower(m, a);

	im_reserve(m, m->n + 1);
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = (struct ival){ a, b, entry };
	m->n++;
}

static void im_del(struct imodel *m, size_t i)
{
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

/* Empty [a, b], trimming or splitting what overlaps it. */
static void im_clear(struct imodel *m, unsigned long a, unsigned long b)
{
	size_t i = im_lower(m, a);

	while (i < m->n && m->v[i].first <= b) {
		struct ival *v = &m->v[i];

		if (v->first < a && v->last > b) {
			struct ival right = { b + 1, v->last, v->entry };

			v->last = a - 1;
			im_reserve(m, m->n + 1);
			memmove(&m->v[i + 2], &m->v[i + 1],
				(m->n - i - 1) * sizeof(*m->v));
			m->v[i + 1] = right;
			m->n++;
			return;
		}
		if (v->first < a) {
			v->last = a - 1;
			i++;
		} else if (v->last > b) {
			v->first = b + 1;
			return;
		} else {
			im_del(m, i);
		}
	}
}

/* The maximal free run holding the free index @x. */
static void im_run(const struct imodel *m, unsigned long x, unsigned long *lo,
		   unsigned long *hi)
{
	size_t i = im_lower(m, x);

	*hi = i == m->n ? MAX : m->v[i].first - 1;
	*lo = i == 0 ? 0 : m->v[i - 1].last + 1;
}

/* The reference over the interval model: each free run in the window. */
static int im_search(const struct imodel *m, const struct query *q,
		     unsigned long *start)
{
	static struct ival *runs;
	static size_t cap;
	size_t i, n = 0;
	unsigned long cur = q->min;
	bool done = false;
	int err = bad_query(q);

	if (err)
		return err;
	for (i = im_lower(m, q->min); i < m->n && m->v[i].first <= q->max;
	     i++) {
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 1024;
			runs = realloc(runs, cap * sizeof(*runs));
			if (!runs)
				abort();
		}
		if (m->v[i].first > cur)
			runs[n++] = (struct ival){ cur, m->v[i].first - 1, NULL };
		if (m->v[i].last >= q->max) {
			done = true;
			break;
		}
		cur = m->v[i].last + 1;
	}
	if (!done) {
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 1024;
			runs = realloc(runs, cap * sizeof(*runs));
			if (!runs)
				abort();
		}
		runs[n++] = (struct ival){ cur, q->max, NULL };
	}
	if (!q->rev) {
		for (i = 0; i < n; i++)
			if (fit_fwd(runs[i].first, runs[i].last, q, start))
				return 0;
	} else {
		for (i = n; i-- > 0;)
			if (fit_rev(runs[i].first, runs[i].last, q, start))
				return 0;
	}
	return -EBUSY;
}

/* Walk the tree and compare every range with the interval model. */
static unsigned long im_compare(struct maple_tree *mt, const struct imodel *m)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long bad = 0;
	size_t i = 0;
	void *e;

	mtree_lock(mt);
	while ((e = mas_find(&mas, MAX)) != NULL) {
		if (i >= m->n || m->v[i].first != mas.index ||
		    m->v[i].last != mas.last || m->v[i].entry != e) {
			note_bad(&bad, "tree range [%#lx, %#lx] %p vs model #%zu",
				 mas.index, mas.last, e, i);
			break;
		}
		i++;
		if (mas.last == MAX)
			break;
	}
	mtree_unlock(mt);
	if (!bad && i != m->n)
		note_bad(&bad, "tree has %zu ranges, model %zu", i, m->n);
	return bad;
}

/* ---- Calls under test ----------------------------------------------------- */

/*
 * One gap search on a fresh cursor: the plain call (only when align is 1 and
 * boundary 0) or the aligned one; under the lock, or under the RCU read lock
 * alone (RCU trees), which is exact while no writer runs.
 */
static int search(struct maple_tree *mt, const struct query *q,
		  bool aligned_call, bool rcu_only, unsigned long *index,
		  unsigned long *last)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (rcu_only)
		mt_rcu_read_lock();
	else
		mtree_lock(mt);
	if (!aligned_call)
		ret = q->rev ? mas_empty_area_rev(&mas, q->min, q->max, q->size) :
			       mas_empty_area(&mas, q->min, q->max, q->size);
	else if (q->rev)
		ret = mas_empty_area_rev_aligned(&mas, q->min, q->max, q->size,
						 q->align, q->boundary);
	else
		ret = mas_empty_area_aligned(&mas, q->min, q->max, q->size,
					     q->align, q->boundary);
	if (rcu_only)
		mt_rcu_read_unlock();
	else
		mtree_unlock(mt);
	*index = mas.index;
	*last = mas.last;
	return ret;
}

/*
 * Allocate a span as the tree allows: the mtree_alloc_*() calls on
 * gap-tracking trees; elsewhere a search, then mas_store_gfp() through the
 * same cursor (the header says the next store fills the span found).
 * -ERANGE (never returned by the library) marks a search whose last was
 * not index + size - 1.
 */
static int tree_alloc(struct maple_tree *mt, unsigned int flags,
		      const struct query *q, void *entry, unsigned long *start)
{
	MA_STATE(mas, mt, 0, 0);
	bool plain = q->align == 1 && q->boundary == 0 && rnd(2);
	int ret;

	if (is_alloc(flags)) {
		if (plain)
			return q->rev ?
				mtree_alloc_rrange(mt, start, entry, q->size,
						   q->min, q->max, GFP_KERNEL) :
				mtree_alloc_range(mt, start, entry, q->size,
						  q->min, q->max, GFP_KERNEL);
		return q->rev ?
			mtree_alloc_rrange_aligned(mt, start, entry, q->size,
						   q->align, q->boundary,
						   q->min, q->max, GFP_KERNEL) :
			mtree_alloc_range_aligned(mt, start, entry, q->size,
						  q->align, q->boundary,
						  q->min, q->max, GFP_KERNEL);
	}
	mtree_lock(mt);
	if (plain)
		ret = q->rev ? mas_empty_area_rev(&mas, q->min, q->max, q->size) :
			       mas_empty_area(&mas, q->min, q->max, q->size);
	else if (q->rev)
		ret = mas_empty_area_rev_aligned(&mas, q->min, q->max, q->size,
						 q->align, q->boundary);
	else
		ret = mas_empty_area_aligned(&mas, q->min, q->max, q->size,
					     q->align, q->boundary);
	if (!ret) {
		*start = mas.index;
		if (mas.last != mas.index + q->size - 1)
			ret = -ERANGE;
		else
			ret = mas_store_gfp(&mas, entry, GFP_KERNEL);
	}
	mtree_unlock(mt);
	return ret;
}

/* Cyclic allocation, through the Normal API or under the lock. */
static int cyclic(struct maple_tree *mt, bool via_mas, unsigned long *start,
		  void *entry, unsigned long lo, unsigned long hi,
		  unsigned long *next)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (!via_mas)
		return mtree_alloc_cyclic(mt, start, entry, lo, hi, next,
					  GFP_KERNEL);
	mtree_lock(mt);
	ret = mas_alloc_cyclic(&mas, start, entry, lo, hi, next, GFP_KERNEL);
	mtree_unlock(mt);
	/* the cursor is left on the allocated index */
	if (ret >= 0 && (mas.index != *start || mas.last != *start))
		return -ERANGE;
	return ret;
}

/* Entries mt_for_each() visits over the whole tree. */
static unsigned long count_entries(struct maple_tree *mt)
{
	unsigned long index = 0, n = 0;
	void *e;

	mt_for_each(mt, e, index, MAX) {
		if (++n > 10000000)
			break;
	}
	return n;
}

/* ---- Hand-worked window edges ----------------------------------------------- */

static const char *cur_kind = "";
static unsigned int cur_flags;

/*
 * One search case, through every variant that must agree: the plain and
 * the aligned call (align 1, boundary 0 is the plain search), and on RCU
 * trees each again under the RCU read lock alone.
 */
static void area_case(struct maple_tree *mt, int line, bool rev,
		      unsigned long min, unsigned long max, unsigned long size,
		      unsigned long align, unsigned long boundary, int want,
		      unsigned long start)
{
	struct query q = { rev, min, max, size, align, boundary };
	int v;

	for (v = 0; v < 4; v++) {
		bool aligned_call = v & 1, rcu_only = v & 2;
		unsigned long i = 0, l = 0;
		bool ok;
		int ret;

		if (!aligned_call && (align != 1 || boundary != 0))
			continue;
		if (rcu_only && !(cur_flags & MT_FLAGS_USE_RCU))
			continue;
		ret = search(mt, &q, aligned_call, rcu_only, &i, &l);
		ok = want ? ret == want :
			    ret == 0 && i == start && l == start + size - 1;
		if (!ok)
			fprintf(stderr, "%s:%d: %s tree: %s%s%s [%#lx, %#lx] "
				"size %#lx align %#lx boundary %#lx: got %d "
				"[%#lx, %#lx], want %d start %#lx\n",
				__FILE__, line, cur_kind, rev ? "rev" : "fwd",
				aligned_call ? " aligned" : "",
				rcu_only ? " (rcu read lock)" : "", min, max,
				size, align, boundary, ret, i, l, want, start);
		CHECK(ok);
	}
}

#define AT(rev, min, max, size, start)					\
	area_case(mt, __LINE__, rev, min, max, size, 1, 0, 0, start)
#define ERR(rev, min, max, size, err)					\
	area_case(mt, __LINE__, rev, min, max, size, 1, 0, err, 0)
#define AAT(rev, min, max, size, al, bd, start)				\
	area_case(mt, __LINE__, rev, min, max, size, al, bd, 0, start)
#define AERR(rev, min, max, size, al, bd, err)				\
	area_case(mt, __LINE__, rev, min, max, size, al, bd, err, 0)

/* Bad arguments give -EINVAL whatever the tree holds. */
static void edge_errors(struct maple_tree *mt)
{
	int d;

	for (d = 0; d < 2; d++) {
		bool rev = d;

		ERR(rev, 5, 3, 1, -EINVAL);		/* min > max */
		ERR(rev, MAX, 0, 1, -EINVAL);
		ERR(rev, 0, MAX, 0, -EINVAL);		/* size 0 */
		ERR(rev, 11, 10, 0, -EINVAL);
		ERR(rev, MAX, MAX, 2, -EINVAL);		/* window too small */
		ERR(rev, 0, 0, 2, -EINVAL);
		ERR(rev, 100, 199, 101, -EINVAL);
		AERR(rev, 0, MAX, 1, 0, 0, -EINVAL);	/* align 0 */
		AERR(rev, 0, MAX, 1, 3, 0, -EINVAL);	/* align 3 */
		AERR(rev, 0, MAX, 4, 12, 0, -EINVAL);
		AERR(rev, 0, MAX, 1, 1, 3, -EINVAL);	/* boundary 3 */
		AERR(rev, 0, MAX, 16, 1, 8, -EINVAL);	/* boundary < size */
		AERR(rev, 0, MAX, 16, 16, 12, -EINVAL);
		AERR(rev, 0, MAX, 0, 4096, 0, -EINVAL);
		AERR(rev, 9, 8, 1, 1, 0, -EINVAL);
		AERR(rev, 0, 10, 12, 1, 0, -EINVAL);
	}
}

/*
 * A: [10,19] B: [30,39] C: 45 D: [100,199] E: [MAX-9, MAX-5], and with
 * @fill, that many contiguous 3-index entries from 1000 (no gap between
 * them), which makes the tree several levels high.
 * Free: [0,9] [20,29] [40,44] [46,99] [200, MAX-10] (or [200,999] and
 * [1000+3*fill, MAX-10]) [MAX-4, MAX].
 */
static void edges_t1(struct maple_tree *mt, unsigned long fill)
{
	unsigned long big_lo = fill ? 1000 + 3 * fill : 200;
	unsigned long big = (MAX - 10) - big_lo + 1;	/* its length */
	unsigned long fe = 1000 + 3 * fill;		/* end of fill + 1 */
	unsigned long i;

	CHECK_EQ(mtree_store_range(mt, 10, 19, OBJ(1), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, 30, 39, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, 45, 45, OBJ(3), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, 100, 199, OBJ(4), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store_range(mt, MAX - 9, MAX - 5, OBJ(5), GFP_KERNEL), 0);
	for (i = 0; i < fill; i++)
		if (mtree_store_range(mt, 1000 + 3 * i, 1002 + 3 * i,
				      xa_mk_value(i), GFP_KERNEL))
			break;
	CHECK_EQ(i, fill);
	CHECK_EQ(mt_validate(mt), 0);
	if (fill)
		CHECK(mt_height(mt) >= 3);

	/* forward: the lowest fit */
	AT(FWD, 0, 9, 10, 0);		/* gap is the window, min 0 */
	ERR(FWD, 0, 9, 11, -EINVAL);
	AT(FWD, 0, 10, 10, 0);
	ERR(FWD, 1, 10, 10, -EBUSY);
	AT(FWD, 0, MAX, 1, 0);
	AT(FWD, 0, MAX, 10, 0);
	AT(FWD, 0, MAX, 11, 46);	/* [20,29] and [40,44] too small */
	AT(FWD, 20, 29, 10, 20);	/* gap is the window */
	AT(FWD, 15, 35, 10, 20);	/* window overhangs both sides */
	ERR(FWD, 15, 28, 10, -EBUSY);
	AT(FWD, 22, 60, 8, 22);		/* window starts inside a gap */
	AT(FWD, 22, 60, 9, 46);
	AT(FWD, 40, 44, 5, 40);		/* gap touches max */
	AT(FWD, 41, 44, 4, 41);
	ERR(FWD, 41, 44, 5, -EINVAL);
	AT(FWD, 40, 99, 5, 40);		/* gap touches min */
	AT(FWD, 46, 99, 54, 46);	/* size is the whole window */
	ERR(FWD, 46, 99, 55, -EINVAL);
	AT(FWD, 45, 99, 54, 46);
	ERR(FWD, 45, 99, 55, -EBUSY);
	AT(FWD, 50, 60, 3, 50);		/* window inside one gap */
	ERR(FWD, 101, 150, 1, -EBUSY);	/* window inside one entry */
	ERR(FWD, 100, 199, 1, -EBUSY);
	ERR(FWD, 99, 200, 2, -EBUSY);
	AT(FWD, 99, 200, 1, 99);
	AT(FWD, 0, 5000, 800, 200);
	AT(FWD, MAX - 4, MAX, 5, MAX - 4);	/* window ends at MAX */
	ERR(FWD, MAX - 4, MAX, 6, -EINVAL);
	AT(FWD, MAX - 20, MAX, 5, MAX - 20);
	AT(FWD, MAX - 20, MAX, 11, MAX - 20);
	ERR(FWD, MAX - 20, MAX, 12, -EBUSY);
	ERR(FWD, MAX - 9, MAX - 5, 1, -EBUSY);
	ERR(FWD, MAX - 10, MAX - 4, 2, -EBUSY);
	AT(FWD, MAX - 10, MAX - 4, 1, MAX - 10);
	AT(FWD, MAX, MAX, 1, MAX);
	AT(FWD, 0, 0, 1, 0);
	ERR(FWD, 10, 10, 1, -EBUSY);
	AT(FWD, 9, 9, 1, 9);
	AT(FWD, 19, 20, 1, 20);
	ERR(FWD, 19, 20, 2, -EBUSY);
	AT(FWD, 44, 46, 1, 44);
	AT(FWD, 45, 46, 1, 46);
	ERR(FWD, 45, 45, 1, -EBUSY);
	ERR(FWD, 0, MAX, MAX, -EBUSY);
	AT(FWD, 0, MAX, big, big_lo);	/* the largest gap, exactly */
	ERR(FWD, 0, MAX, big + 1, -EBUSY);
	AT(FWD, big_lo, MAX - 10, big, big_lo);
	AT(FWD, big_lo - 1, MAX - 9, big, big_lo);
	ERR(FWD, big_lo - 1, MAX - 9, big + 1, -EBUSY);

	/* reverse: the highest fit */
	AT(REV, 0, MAX, 1, MAX);
	AT(REV, 0, MAX, 5, MAX - 4);
	AT(REV, 0, MAX, 6, MAX - 15);
	AT(REV, 0, 99, 54, 46);
	ERR(REV, 0, 99, 55, -EBUSY);
	AT(REV, 0, 99, 10, 90);
	AT(REV, 0, 50, 3, 48);
	AT(REV, 0, 44, 5, 40);
	AT(REV, 0, 44, 6, 24);
	AT(REV, 0, 9, 10, 0);
	AT(REV, 0, 12, 3, 7);
	AT(REV, 0, 10, 10, 0);
	ERR(REV, 1, 10, 10, -EBUSY);
	AT(REV, MAX - 4, MAX, 5, MAX - 4);
	AT(REV, MAX - 20, MAX - 5, 5, MAX - 14);
	AT(REV, 50, 60, 3, 58);
	AT(REV, 20, 29, 10, 20);
	AT(REV, 15, 35, 10, 20);
	ERR(REV, 15, 28, 10, -EBUSY);
	AT(REV, 0, MAX, big, big_lo);
	ERR(REV, 0, MAX, big + 1, -EBUSY);
	AT(REV, MAX, MAX, 1, MAX);
	AT(REV, 0, 0, 1, 0);
	ERR(REV, 45, 45, 1, -EBUSY);
	AT(REV, 44, 46, 1, 46);
	AT(REV, 44, 45, 1, 44);
	AT(REV, 0, 199, 30, 70);
	ERR(REV, 100, 199, 1, -EBUSY);
	AT(REV, 99, 200, 1, 200);
	ERR(REV, 0, MAX, MAX, -EBUSY);

	if (fill) {
		/* searches over the packed middle: no gap anywhere in it */
		ERR(FWD, 1000, fe - 1, 1, -EBUSY);
		ERR(REV, 1000, fe - 1, 1, -EBUSY);
		ERR(FWD, 999, fe, 2, -EBUSY);
		AT(FWD, 999, fe, 1, 999);
		AT(REV, 999, fe, 1, fe);
		AT(FWD, 1001, fe + 5, 3, fe);
		AT(REV, 0, fe - 1, 1, 999);
		AT(REV, 0, fe + 2, 3, fe);
		AT(REV, 200, fe - 1, 800, 200);
		ERR(REV, 200, fe - 1, 801, -EBUSY);
		AT(FWD, 201, MAX, 800, fe);
	}

	/* aligned and bounded */
	AAT(FWD, 0, MAX, 16, 16, 0, 48);
	AAT(REV, 0, 199, 16, 16, 0, 80);
	AAT(FWD, 0, MAX, 4, 8, 0, 0);
	AAT(FWD, 1, MAX, 4, 8, 0, 24);
	AAT(FWD, 1, MAX, 4, 8, 32, 24);
	AAT(FWD, 26, MAX, 4, 2, 32, 26);
	AAT(FWD, 27, MAX, 4, 1, 32, 40);
	AAT(FWD, 20, MAX, 10, 1, 16, 20);
	AAT(FWD, 40, MAX, 5, 1, 8, 40);
	AAT(FWD, 41, MAX, 4, 1, 8, 41);
	AAT(FWD, 40, MAX, 5, 4, 8, 40);
	AAT(FWD, 41, MAX, 4, 4, 8, 48);
	AAT(REV, 0, 44, 4, 4, 8, 40);
	AAT(REV, 0, 39, 4, 4, 0, 24);
	AAT(REV, 0, 39, 6, 4, 8, 24);
	AAT(REV, 0, 29, 7, 1, 8, 1);	/* [23,29] and [3,9] cross 24, 8 */
	AAT(FWD, 0, 29, 7, 1, 8, 0);
	AERR(FWD, 2, 29, 7, 1, 8, -EBUSY);
	AERR(FWD, 20, MAX, 10, 2, 8, -EINVAL);
	/* aligning down would go below the gap (to 0, or 16 < 20) */
	AERR(REV, 20, 29, 2, 64, 0, -EBUSY);
	AERR(REV, 20, 29, 2, 16, 0, -EBUSY);
	AAT(REV, 0, 29, 4, 32, 0, 0);
	/* [MAX-4, MAX] is too small; the big gap ends at MAX - 10 */
	AAT(REV, 0, MAX, 4096, 4096, 0, MAX - 8191);

	edge_errors(mt);
}

static void edges_empty(struct maple_tree *mt)
{
	AT(FWD, 0, MAX, 1, 0);
	AT(FWD, 5, MAX, 1, 5);
	AT(FWD, 0, MAX, MAX, 0);
	AT(FWD, 1, MAX, MAX, 1);
	AT(FWD, 0, MAX - 1, MAX, 0);
	ERR(FWD, 2, MAX, MAX, -EINVAL);
	AT(FWD, 7, 100, 10, 7);
	AT(FWD, 7, 100, 94, 7);
	ERR(FWD, 7, 100, 95, -EINVAL);
	AT(FWD, MAX, MAX, 1, MAX);
	AT(REV, 0, MAX, 1, MAX);
	AT(REV, 0, MAX, MAX, 1);
	AT(REV, 0, MAX - 1, MAX, 0);
	AT(REV, 1, MAX, MAX, 1);
	AT(REV, 7, 100, 10, 91);
	AT(REV, 7, 100, 94, 7);
	AT(REV, 0, 0, 1, 0);

	AAT(FWD, 1, MAX, 1, 4096, 0, 4096);
	AAT(REV, 0, MAX, 1, 4096, 0, MAX - 4095);
	AAT(FWD, 1, MAX, 4096, 4096, 4096, 4096);
	AAT(REV, 0, MAX, 4096, 4096, 4096, MAX - 4095);
	AAT(FWD, 4000, MAX, 200, 1, 4096, 4096);
	AAT(REV, 0, 4195, 200, 1, 4096, 3896);
	AAT(FWD, 4000, MAX, 96, 1, 4096, 4000);
	AAT(REV, 0, 4195, 100, 1, 4096, 4096);
	AERR(FWD, 1, 4096, 4096, 4096, 0, -EBUSY);	/* fits, not aligned */
	AAT(FWD, 0, 4095, 4096, 4096, 0, 0);
	AAT(FWD, 1, MAX, 1, 1UL << 63, 0, 1UL << 63);
	AAT(REV, 0, MAX, 1, 1UL << 63, 0, 1UL << 63);
	AAT(REV, 1, MAX, 1, 1UL << 63, 0, 1UL << 63);
	AERR(FWD, 1, (1UL << 63) - 1, 1, 1UL << 63, 0, -EBUSY);
	AAT(REV, 0, (1UL << 63) - 1, 1, 1UL << 63, 0, 0);
	AAT(FWD, MAX - 4095, MAX, 4096, 4096, 0, MAX - 4095);
	AERR(FWD, MAX - 4094, MAX, 4095, 4096, 0, -EBUSY);
	AAT(FWD, (1UL << 63) - 1, MAX, 2, 1, 1UL << 63, 1UL << 63);
	AAT(REV, 0, 1UL << 63, 2, 1, 1UL << 63, (1UL << 63) - 2);
	AAT(REV, 0, MAX, 2, 1, 2, MAX - 1);
	AAT(REV, 0, MAX - 1, 2, 1, 2, MAX - 3);
	AAT(FWD, 1, MAX, 2, 1, 2, 2);
	AAT(FWD, 3, 100, 8, 1, 8, 8);		/* boundary == size */
	AAT(FWD, 1, MAX, 16, 1, 16, 16);
	AAT(FWD, 1, 100, 3, 2, 8, 2);
	AAT(FWD, 6, 100, 3, 2, 8, 8);
	AAT(REV, 0, 9, 3, 2, 8, 4);
	AAT(FWD, 0, MAX, 1UL << 62, 1UL << 62, 1UL << 63, 0);
	AAT(REV, 0, MAX, 1UL << 62, 1UL << 62, 1UL << 63, 3UL << 62);
	edge_errors(mt);
}

/* Index 0 alone holds @entry. */
static void edges_root(struct maple_tree *mt)
{
	AT(FWD, 0, MAX, 1, 1);
	ERR(FWD, 0, 0, 1, -EBUSY);
	ERR(FWD, 0, 5, 6, -EBUSY);
	AT(FWD, 0, 5, 5, 1);
	AT(FWD, 1, 1, 1, 1);
	AT(FWD, 0, MAX, MAX, 1);
	AT(FWD, 1, MAX, MAX, 1);
	AT(FWD, 3, 10, 2, 3);
	AT(REV, 0, MAX, 1, MAX);
	AT(REV, 0, 3, 3, 1);
	ERR(REV, 0, 3, 4, -EBUSY);
	ERR(REV, 0, 0, 1, -EBUSY);
	AT(REV, 0, MAX, MAX, 1);
	AT(REV, 0, 1, 1, 1);
	ERR(REV, 0, 1, 2, -EBUSY);
	AT(REV, 5, 9, 5, 5);
	AAT(FWD, 0, MAX, 1, 2, 0, 2);
	AAT(FWD, 0, MAX, 2, 1, 2, 2);
	AAT(REV, 0, 3, 2, 2, 0, 2);
	AAT(REV, 0, 3, 2, 1, 2, 2);
	AERR(REV, 0, 2, 2, 1, 2, -EBUSY);
	/* the only aligned start below the window's top is the taken 0 */
	AERR(REV, 0, 60, 2, 64, 0, -EBUSY);
	AAT(REV, 0, 63, 2, 1, 64, 62);
	edge_errors(mt);
}

static void test_window_edges(void)
{
	struct maple_tree tree, *mt = &tree;
	void *roots[] = { OBJ(1), xa_mk_value(7), XA_ZERO_ENTRY };
	size_t k, r;

	for (k = 0; k < NKINDS; k++) {
		cur_flags = kinds[k].flags;
		cur_kind = kinds[k].name;

		mt_init_flags(mt, cur_flags);
		edges_empty(mt);
		mtree_destroy(mt);

		mt_init_flags(mt, cur_flags);
		edges_t1(mt, 0);
		mtree_destroy(mt);
		mt_init_flags(mt, cur_flags);
		edges_t1(mt, 3000);
		mtree_destroy(mt);

		for (r = 0; r < 3; r++) {
			mt_init_flags(mt, cur_flags);
			CHECK_EQ(mtree_store(mt, 0, roots[r], GFP_KERNEL), 0);
			CHECK_EQ(mt_validate(mt), 0);
			edges_root(mt);
			mtree_destroy(mt);
		}

		/* only ULONG_MAX is taken */
		mt_init_flags(mt, cur_flags);
		CHECK_EQ(mtree_store(mt, MAX, OBJ(1), GFP_KERNEL), 0);
		CHECK_EQ(mt_validate(mt), 0);
		AT(FWD, 0, MAX, 1, 0);
		AT(FWD, 0, MAX, MAX, 0);
		ERR(FWD, 1, MAX, MAX, -EBUSY);
		ERR(FWD, MAX, MAX, 1, -EBUSY);
		AT(FWD, MAX - 1, MAX, 1, MAX - 1);
		ERR(FWD, MAX - 1, MAX, 2, -EBUSY);
		AT(REV, 0, MAX, 1, MAX - 1);
		AT(REV, 0, MAX, MAX, 0);
		ERR(REV, MAX - 1, MAX, 2, -EBUSY);
		AT(REV, MAX - 5, MAX, 5, MAX - 5);
		AAT(REV, 0, MAX, 1, 2, 0, MAX - 1);
		AAT(REV, 0, MAX, 2, 2, 0, MAX - 3);
		mtree_destroy(mt);

		/* everything taken; everything but both ends */
		mt_init_flags(mt, cur_flags);
		CHECK_EQ(mtree_store_range(mt, 0, MAX, OBJ(2), GFP_KERNEL), 0);
		ERR(FWD, 0, MAX, 1, -EBUSY);
		ERR(REV, 0, MAX, 1, -EBUSY);
		ERR(FWD, 5, 5, 1, -EBUSY);
		CHECK_EQ(mtree_store_range(mt, 0, 0, NULL, GFP_KERNEL), 0);
		CHECK_EQ(mtree_store_range(mt, MAX, MAX, NULL, GFP_KERNEL), 0);
		CHECK_EQ(mt_validate(mt), 0);
		AT(FWD, 0, MAX, 1, 0);
		AT(REV, 0, MAX, 1, MAX);
		ERR(FWD, 0, MAX, 2, -EBUSY);
		ERR(REV, 0, MAX, 2, -EBUSY);
		AT(FWD, 1, MAX, 1, MAX);
		AT(REV, 1, MAX, 1, MAX);
		AT(FWD, 0, MAX - 1, 1, 0);
		AT(REV, 0, MAX - 1, 1, 0);
		mtree_destroy(mt);
	}
	cur_kind = "";
	cur_flags = 0;
}

/* ---- The references agree with each other ------------------------------------ */

/*
 * The interval-model reference (used for the 2^40 space, where brute force
 * cannot go) against the per-index brute force on small random layouts.
 */
static void test_reference_self_check(void)
{
	static const unsigned long aligns[] = { 1, 1, 2, 4, 8, 16, 32 };
	static const unsigned long bounds[] = { 0, 0, 8, 16, 32, 64, 128 };
	enum { N = 256 };
	uint32_t m[N];
	struct imodel im = { 0 };
	unsigned long bad = 0, round, i, nq;

	for (round = 0; round < 300; round++) {
		memset(m, 0, sizeof(m));
		im.n = 0;
		for (i = 0; i < 40; i++) {
			unsigned long a = rnd(N), b = a + rnd(12);

			if (b >= N || !im_free(&im, a, b))
				continue;
			im_add(&im, a, b, NULL);
			memset(&m[a], 1, (b - a + 1) * sizeof(m[0]));
		}
		for (nq = 0; nq < 30; nq++) {
			struct query q;
			unsigned long s1 = 0, s2 = 0;
			int r1, r2;

			q.rev = rnd(2);
			q.min = rnd(N);
			q.max = q.min + rnd(N - q.min);
			q.size = 1 + rnd(40);
			q.align = aligns[rnd(7)];
			q.boundary = bounds[rnd(7)];
			r1 = array_ref(m, N, 0, &q, &s1);
			r2 = im_search(&im, &q, &s2);
			if (r1 != r2 || (!r1 && s1 != s2))
				note_bad(&bad, "reference: %d %lu vs %d %lu",
					 r1, s1, r2, s2);
		}
	}
	CHECK_EQ(bad, 0);
	free(im.v);
}

/* ---- Gaps that combine across nodes ------------------------------------------ */

#define CG_N	3000UL
#define CG_BASE	1000UL

static void check_run(struct maple_tree *mt, const struct imodel *m,
		      unsigned long lo, unsigned long hi, unsigned long *bad)
{
	unsigned long g = hi - lo + 1, wlo = CG_BASE,
		      whi = CG_BASE + 16 * CG_N - 7;
	struct query q;
	unsigned long i, l, want = 0, s;
	int d, ret, ref;

	for (d = 0; d < 2; d++) {
		bool rev = d;

		/* the run itself as the window */
		q = (struct query){ rev, lo, hi, g, 1, 0 };
		ret = search(mt, &q, rnd(2), false, &i, &l);
		if (ret || i != lo || l != hi)
			note_bad(bad, "run [%#lx, %#lx] exact: %d [%#lx, %#lx]",
				 lo, hi, ret, i, l);
		q.size = g + 1;
		ret = search(mt, &q, rnd(2), false, &i, &l);
		if (ret != -EINVAL)
			note_bad(bad, "run [%#lx, %#lx] size + 1: %d", lo, hi,
				 ret);
		if (g > 1) {
			q = (struct query){ rev, lo + 1, hi, g - 1, 1, 0 };
			ret = search(mt, &q, rnd(2), false, &i, &l);
			if (ret || i != lo + 1)
				note_bad(bad, "run [%#lx, %#lx] less one: %d %#lx",
					 lo, hi, ret, i);
		}
		/* one more index each side: both occupied */
		if (lo > 0 && hi < MAX) {
			q = (struct query){ rev, lo - 1, hi + 1, g, 1, 0 };
			ret = search(mt, &q, rnd(2), false, &i, &l);
			if (ret || i != lo)
				note_bad(bad, "run [%#lx, %#lx] wider: %d %#lx",
					 lo, hi, ret, i);
			q.size = g + 1;
			ret = search(mt, &q, rnd(2), false, &i, &l);
			if (ret != -EBUSY)
				note_bad(bad, "run [%#lx, %#lx] wider + 1: %d",
					 lo, hi, ret);
		}
		/* the whole populated span: the reference decides */
		for (s = g; s <= g + 1; s++) {
			q = (struct query){ rev, wlo, whi, s, 1, 0 };
			ref = im_search(m, &q, &want);
			ret = search(mt, &q, rnd(2), false, &i, &l);
			if (ret != ref || (!ret && (i != want ||
						    l != want + s - 1)))
				note_bad(bad, "%s size %#lx: got %d %#lx, want %d %#lx",
					 rev ? "rev" : "fwd", s, ret, i, ref,
					 want);
		}
	}
}

static void test_combined_gaps(void)
{
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		unsigned int flags = kinds[k].flags;
		struct maple_tree t;
		struct imodel m = { 0 };
		unsigned long i, round, vbad = 0, bad = 0, idx = 0;
		MA_STATE(mas, &t, 0, 0);

		mt_init_flags(&t, flags);
		for (i = 0; i < CG_N; i++) {
			unsigned long a = CG_BASE + 16 * i;

			if (mtree_store_range(&t, a, a + 9, xa_mk_value(i),
					      GFP_KERNEL))
				note_bad(&bad, "store %lu", i);
			im_add(&m, a, a + 9, xa_mk_value(i));
			validate(&t, &vbad, "build", i);
		}
		CHECK(mt_height(&t) >= 3);

		for (round = 0; round < 40; round++) {
			unsigned long n = 2 + rnd(60);
			unsigned long j = 1 + rnd(CG_N - n - 1);
			unsigned long a = CG_BASE + 16 * j;
			unsigned long b = CG_BASE + 16 * (j + n - 1) + 9;
			unsigned long lo, hi, how = round % 3;
			size_t x;

			if (how == 1) {
				/* one store of NULL across many leaves */
				if (mtree_store_range(&t, a, b, NULL, GFP_KERNEL))
					note_bad(&bad, "NULL store [%#lx, %#lx]",
						 a, b);
				im_clear(&m, a, b);
				validate(&t, &vbad, "NULL store", round);
			} else {
				/* entry by entry, Normal or Advanced API */
				if (how == 2)
					mtree_lock(&t);
				while ((x = im_lower(&m, a)) < m.n &&
				       m.v[x].first <= b) {
					struct ival v = m.v[x];
					void *e;

					if (how == 0) {
						e = mtree_erase(&t, v.first +
							rnd(v.last - v.first + 1));
					} else {
						mas_set(&mas, v.last);
						e = mas_erase(&mas);
					}
					if (e != v.entry)
						note_bad(&bad, "erase %#lx: %p, want %p",
							 v.first, e, v.entry);
					im_del(&m, x);
					validate(&t, &vbad, "erase", v.first);
				}
				if (how == 2)
					mtree_unlock(&t);
			}
			im_run(&m, a, &lo, &hi);
			check_run(&t, &m, lo, hi, &bad);

			/* refill the front or the back of the run */
			if (rnd(2) && hi != MAX) {
				struct query q = { rnd(2), lo, hi,
						   1 + rnd(hi - lo + 1), 1, 0 };
				unsigned long s = 0, want;
				void *e = xa_mk_value(100000 + idx++);
				int ret = tree_alloc(&t, flags, &q, e, &s);

				want = q.rev ? hi - q.size + 1 : lo;
				if (ret || s != want)
					note_bad(&bad, "refill: %d %#lx, want %#lx",
						 ret, s, want);
				if (!ret)
					im_add(&m, s, s + q.size - 1, e);
				validate(&t, &vbad, "refill", round);
			}
		}
		CHECK_EQ(im_compare(&t, &m), 0);
		CHECK_EQ(bad, 0);

		/* empty it with one store; then everything is free */
		CHECK_EQ(mtree_store_range(&t, CG_BASE, CG_BASE + 16 * CG_N,
					   NULL, GFP_KERNEL), 0);
		validate(&t, &vbad, "clear", 0);
		CHECK(mtree_empty(&t));
		{
			struct maple_tree *mt = &t;

			cur_flags = flags;
			cur_kind = kinds[k].name;
			AT(FWD, 0, MAX, MAX, 0);
			AT(REV, 0, MAX, MAX, 1);
			cur_kind = "";
		}
		CHECK_EQ(vbad, 0);
		mtree_destroy(&t);
		free(m.v);
	}
}

/* ---- Small space, every operation, brute-force reference ---------------------- */

#define SN	3000UL
#define ZBIT	0x80000000u	/* model id of an XA_ZERO_ENTRY range */

static uint32_t small_m[SN];
static uint32_t small_id;

static void *entry_of(uint32_t id)
{
	return (id & ZBIT) ? XA_ZERO_ENTRY : xa_mk_value(id);
}

/* The free run of the model at or after @x; false if none. */
static bool small_run(unsigned long x, unsigned long *lo, unsigned long *hi)
{
	while (x < SN && small_m[x])
		x++;
	if (x == SN)
		return false;
	*lo = *hi = x;
	while (*lo > 0 && !small_m[*lo - 1])
		(*lo)--;
	while (*hi + 1 < SN && !small_m[*hi + 1])
		(*hi)++;
	return true;
}

/* A random query inside [base, base + SN), biased toward edges of gaps. */
static void small_query(struct query *q, unsigned long base)
{
	static const unsigned long aligns[] = { 2, 4, 8, 16, 32, 64, 2, 4, 0, 3 };
	static const unsigned long bounds[] = { 8, 16, 32, 64, 128, 256, 24 };
	unsigned long a, b, lo = 0, hi = 0, len, r = rnd(100);
	bool have_run = false;

	if (r < 35) {
		a = rnd(SN);
		b = a + rnd(SN - a);
	} else if (r < 50) {
		a = 0;
		b = SN - 1;
	} else if (r < 80 && (have_run = small_run(rnd(SN), &lo, &hi))) {
		a = lo;
		b = hi;
		if (rnd(2)) {
			a -= a < 3 ? a : rnd(3);
			b += SN - 1 - b < 3 ? SN - 1 - b : rnd(3);
		}
	} else if (r < 92) {
		a = rnd(SN);
		b = a + rnd(3);
		if (b >= SN)
			b = SN - 1;
	} else {
		a = rnd(SN);	/* may be above b */
		b = rnd(SN);
	}
	q->rev = rnd(2);
	q->min = base + a;
	q->max = base + b;
	len = b >= a ? b - a + 1 : 1;
	r = rnd(100);
	if (r < 50)
		q->size = 1 + rnd(8);
	else if (r < 65)
		q->size = len;
	else if (r < 72)
		q->size = len + 1;
	else if (r < 85)
		q->size = have_run ? hi - lo + 1 : 1 + rnd(16);
	else if (r < 89)
		q->size = 0;
	else
		q->size = 1 + rnd(200);
	q->align = rnd(100) < 65 ? 1 : aligns[rnd(10)];
	q->boundary = 0;
	if (rnd(100) < 25) {
		q->boundary = bounds[rnd(7)];
		if (rnd(4) == 0 && q->size)	/* the smallest legal one */
			for (q->boundary = 1; q->boundary < q->size;)
				q->boundary <<= 1;
	}
}

static void small_set(unsigned long a, unsigned long b, uint32_t id)
{
	unsigned long x;

	for (x = a; x <= b; x++)
		small_m[x] = id;
}

/* Compare a tree with the model array, range by range. */
static unsigned long small_compare(struct maple_tree *mt, unsigned long base)
{
	MA_STATE(mas, mt, base, base);
	unsigned long covered = 0, want = 0, bad = 0, x;
	void *e;

	for (x = 0; x < SN; x++)
		want += small_m[x] != 0;
	mtree_lock(mt);
	while ((e = mas_find(&mas, MAX)) != NULL) {
		unsigned long a = mas.index - base, b = mas.last - base;
		uint32_t id;

		if (mas.index < base || b >= SN || a > b) {
			note_bad(&bad, "range [%#lx, %#lx] outside the model",
				 mas.index, mas.last);
			break;
		}
		id = small_m[a];
		if (!id || entry_of(id) != e || (a > 0 && small_m[a - 1] == id) ||
		    (b + 1 < SN && small_m[b + 1] == id))
			note_bad(&bad, "range [%#lx, %#lx] %p vs model id %#x",
				 mas.index, mas.last, e, id);
		for (x = a; x <= b; x++)
			if (small_m[x] != id) {
				note_bad(&bad, "range [%#lx, %#lx] vs model at %#lx",
					 mas.index, mas.last, base + x);
				break;
			}
		covered += b - a + 1;
		if (mas.last == MAX)
			break;
	}
	mtree_unlock(mt);
	if (covered != want)
		note_bad(&bad, "tree covers %lu indices, model %lu", covered,
			 want);
	return bad;
}

static void test_random_small(unsigned long base, unsigned long ops)
{
	struct maple_tree t[NKINDS];
	unsigned long op, bad = 0, vbad = 0, cmp_bad = 0, x;
	unsigned int maxh = 0;
	size_t k;

	memset(small_m, 0, sizeof(small_m));
	for (k = 0; k < NKINDS; k++)
		mt_init_flags(&t[k], kinds[k].flags);

	for (op = 0; op < ops; op++) {
		unsigned long r = rnd(100), a, b, s = 0, ref_s = 0, i, l;
		struct query q;
		bool mutated = true;
		uint32_t id;
		int ref, ret;

		if (op < 700 || r < 22) {
			/* overwrite */
			a = rnd(SN);
			b = a + rnd(6);
			b = b >= SN ? SN - 1 : b;
			id = ++small_id;
			for (k = 0; k < NKINDS; k++)
				if (mtree_store_range(&t[k], base + a, base + b,
						      xa_mk_value(id), GFP_KERNEL))
					note_bad(&bad, "store op %lu", op);
			small_set(a, b, id);
		} else if (r < 32) {
			/* NULL store */
			a = rnd(SN);
			b = a + rnd(60);
			b = b >= SN ? SN - 1 : b;
			for (k = 0; k < NKINDS; k++)
				if (mtree_store_range(&t[k], base + a, base + b,
						      NULL, GFP_KERNEL))
					note_bad(&bad, "NULL store op %lu", op);
			small_set(a, b, 0);
		} else if (r < 40) {
			/* erase the range holding an index */
			x = rnd(SN);
			id = small_m[x];
			for (k = 0; k < NKINDS; k++) {
				void *e = mtree_erase(&t[k], base + x);

				if (!(id & ZBIT) && e != (id ? entry_of(id) : NULL))
					note_bad(&bad, "%s: erase %#lx op %lu: %p",
						 kinds[k].name, base + x, op, e);
			}
			if (id) {
				for (a = x; a > 0 && small_m[a - 1] == id;)
					a--;
				for (b = x; b + 1 < SN && small_m[b + 1] == id;)
					b++;
				small_set(a, b, 0);
			}
		} else if (r < 45) {
			/* reservation */
			a = rnd(SN);
			b = a + rnd(4);
			b = b >= SN ? SN - 1 : b;
			id = ZBIT | ++small_id;
			for (k = 0; k < NKINDS; k++)
				if (mtree_store_range(&t[k], base + a, base + b,
						      XA_ZERO_ENTRY, GFP_KERNEL))
					note_bad(&bad, "zero store op %lu", op);
			small_set(a, b, id);
		} else if (r < 75) {
			/* allocate */
			small_query(&q, base);
			ref = array_ref(small_m, SN, base, &q, &ref_s);
			id = ++small_id;
			for (k = 0; k < NKINDS; k++) {
				ret = tree_alloc(&t[k], kinds[k].flags, &q,
						 xa_mk_value(id), &s);
				if (ret != ref || (!ret && s != ref_s))
					note_bad(&bad, "%s: op %lu alloc %s [%#lx, %#lx] size %lu align %lu boundary %lu: %d %#lx, want %d %#lx",
						 kinds[k].name, op,
						 q.rev ? "rev" : "fwd", q.min,
						 q.max, q.size, q.align,
						 q.boundary, ret, s, ref, ref_s);
				if (!is_alloc(kinds[k].flags) && !rnd(8) &&
				    mtree_alloc_range(&t[k], &s, OBJ(1), 1, 0,
						      MAX, GFP_KERNEL) != -EINVAL)
					note_bad(&bad, "%s: alloc_range not -EINVAL",
						 kinds[k].name);
			}
			if (!ref)
				small_set(ref_s - base, ref_s - base + q.size - 1,
					  id);
			mutated = !ref;
		} else {
			/* search only */
			small_query(&q, base);
			ref = array_ref(small_m, SN, base, &q, &ref_s);
			for (k = 0; k < NKINDS; k++) {
				bool aligned = q.align != 1 || q.boundary || rnd(2);
				bool rcu = (kinds[k].flags & MT_FLAGS_USE_RCU) &&
					   rnd(2);

				ret = search(&t[k], &q, aligned, rcu, &i, &l);
				if (ret != ref || (!ret && (i != ref_s ||
							    l != ref_s + q.size - 1)))
					note_bad(&bad, "%s: op %lu search%s %s [%#lx, %#lx] size %lu align %lu boundary %lu: %d [%#lx, %#lx], want %d %#lx",
						 kinds[k].name, op,
						 aligned ? " aligned" : "",
						 q.rev ? "rev" : "fwd", q.min,
						 q.max, q.size, q.align,
						 q.boundary, ret, i, l, ref,
						 ref_s);
			}
			mutated = false;
		}
		if (mutated)
			for (k = 0; k < NKINDS; k++)
				validate(&t[k], &vbad, kinds[k].name, op);
		if (mt_height(&t[0]) > maxh)
			maxh = mt_height(&t[0]);
		if (op % 500 == 499 || op == ops - 1)
			for (k = 0; k < NKINDS; k++)
				cmp_bad += small_compare(&t[k], base);
	}
	CHECK(maxh >= 3);
	CHECK_EQ(bad, 0);
	CHECK_EQ(vbad, 0);
	CHECK_EQ(cmp_bad, 0);
	for (k = 0; k < NKINDS; k++)
		mtree_destroy(&t[k]);
}

/* ---- Filling a window, reuse of freed spans ------------------------------------ */

static void test_fill(void)
{
	static const unsigned int fl[] = {
		MT_FLAGS_ALLOC_RANGE, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU,
	};
	size_t f;

	for (f = 0; f < 2; f++) {
		struct maple_tree t;
		unsigned long s, i, vbad = 0, bad = 0;
		enum { MANY = 3000, FREED = 300 };
		static unsigned long freed[FREED];
		static bool taken[MANY];
		const unsigned long mb = 1UL << 20;

		mt_init_flags(&t, fl[f]);

		/* upward: 100, 110, ... 190, then full */
		for (i = 0; i < 10; i++) {
			s = 0;
			CHECK_EQ(mtree_alloc_range(&t, &s, xa_mk_value(i), 10,
						   100, 199, GFP_KERNEL), 0);
			CHECK_EQ(s, 100 + 10 * i);
			CHECK_PTR(mtree_load(&t, s), xa_mk_value(i));
			CHECK_PTR(mtree_load(&t, s + 9), xa_mk_value(i));
			validate(&t, &vbad, "fill up", i);
		}
		CHECK(mtree_load(&t, 99) == NULL);
		CHECK(mtree_load(&t, 200) == NULL);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 10, 100, 199,
					   GFP_KERNEL), -EBUSY);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 1, 100, 199,
					   GFP_KERNEL), -EBUSY);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 1, 100, 199,
					    GFP_KERNEL), -EBUSY);
		/* freed spans come back, lowest first */
		CHECK_PTR(mtree_erase(&t, 155), xa_mk_value(5));
		CHECK_PTR(mtree_erase(&t, 120), xa_mk_value(2));
		validate(&t, &vbad, "erase", 0);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(2), 10, 100, 199,
					   GFP_KERNEL), 0);
		CHECK_EQ(s, 120);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(3), 10, 100, 199,
					   GFP_KERNEL), 0);
		CHECK_EQ(s, 150);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(3), 10, 100, 199,
					   GFP_KERNEL), -EBUSY);
		validate(&t, &vbad, "refill", 0);

		/* downward: 1090, 1080, ... 1000, then full */
		for (i = 0; i < 10; i++) {
			s = 0;
			CHECK_EQ(mtree_alloc_rrange(&t, &s, xa_mk_value(i), 10,
						    1000, 1099, GFP_KERNEL), 0);
			CHECK_EQ(s, 1090 - 10 * i);
			validate(&t, &vbad, "fill down", i);
		}
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 1, 1000, 1099,
					    GFP_KERNEL), -EBUSY);
		CHECK_PTR(mtree_erase(&t, 1050), xa_mk_value(4));
		CHECK_PTR(mtree_erase(&t, 1029), xa_mk_value(7));
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(4), 10, 1000, 1099,
					    GFP_KERNEL), 0);
		CHECK_EQ(s, 1050);
		CHECK_PTR(mtree_erase(&t, 1050), OBJ(4));
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(4), 10, 1000, 1099,
					   GFP_KERNEL), 0);
		CHECK_EQ(s, 1020);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(5), 10, 1000, 1099,
					    GFP_KERNEL), 0);
		CHECK_EQ(s, 1050);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(5), 10, 1000, 1099,
					    GFP_KERNEL), -EBUSY);
		validate(&t, &vbad, "fill down", 99);

		/* a window that is not a multiple of the size */
		for (i = 0; i < 5; i++) {
			CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(6), 10, 2000,
						   2055, GFP_KERNEL), 0);
			CHECK_EQ(s, 2000 + 10 * i);
		}
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(6), 10, 2000, 2055,
					   GFP_KERNEL), -EBUSY);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(7), 6, 2000, 2055,
					   GFP_KERNEL), 0);
		CHECK_EQ(s, 2050);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(7), 1, 2000, 2055,
					   GFP_KERNEL), -EBUSY);
		validate(&t, &vbad, "partial", 0);

		/* up to ULONG_MAX, one index at a time */
		for (i = 0; i < 16; i++) {
			CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(8), 1, MAX - 15,
						   MAX, GFP_KERNEL), 0);
			CHECK_EQ(s, MAX - 15 + i);
			validate(&t, &vbad, "top", i);
		}
		CHECK_PTR(mtree_load(&t, MAX), OBJ(8));
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(8), 1, MAX - 15, MAX,
					   GFP_KERNEL), -EBUSY);
		for (i = 0; i < 8; i++) {
			CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(9), 4, MAX - 47,
						    MAX - 16, GFP_KERNEL), 0);
			CHECK_EQ(s, MAX - 19 - 4 * i);
			validate(&t, &vbad, "top down", i);
		}
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(9), 1, MAX - 47, MAX,
					    GFP_KERNEL), -EBUSY);

		/* many single ids: a tree of several levels */
		for (i = 0; i < MANY; i++) {
			if (mtree_alloc_range(&t, &s, xa_mk_value(i), 1, mb,
					      mb + MANY - 1, GFP_KERNEL) ||
			    s != mb + i)
				note_bad(&bad, "many: %lu got %#lx", i, s);
			validate(&t, &vbad, "many", i);
		}
		CHECK(mt_height(&t) >= 3);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 1, mb, mb + MANY - 1,
					   GFP_KERNEL), -EBUSY);
		/* free a random set: upward reuse takes them in order */
		memset(taken, 1, sizeof(taken));
		for (i = 0; i < FREED;) {
			unsigned long x = rnd(MANY);

			if (!taken[x])
				continue;
			taken[x] = false;
			if (mtree_erase(&t, mb + x) != xa_mk_value(x))
				note_bad(&bad, "erase %lu", x);
			validate(&t, &vbad, "free", x);
			i++;
		}
		for (i = 0, s = 0; i < MANY; i++)
			if (!taken[i])
				freed[s++] = i;
		for (i = 0; i < FREED; i++) {
			if (mtree_alloc_range(&t, &s, xa_mk_value(freed[i]), 1,
					      mb, mb + MANY - 1, GFP_KERNEL) ||
			    s != mb + freed[i])
				note_bad(&bad, "reuse up %lu: %#lx, want %#lx",
					 i, s, mb + freed[i]);
			validate(&t, &vbad, "reuse up", i);
		}
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 1, mb, mb + MANY - 1,
					   GFP_KERNEL), -EBUSY);
		/* the same set again: downward reuse, highest first */
		for (i = 0; i < FREED; i++)
			if (mtree_erase(&t, mb + freed[i]) != xa_mk_value(freed[i]))
				note_bad(&bad, "erase again %lu", freed[i]);
		validate(&t, &vbad, "free again", 0);
		for (i = FREED; i-- > 0;) {
			if (mtree_alloc_rrange(&t, &s, xa_mk_value(freed[i]), 1,
					       mb, mb + MANY - 1, GFP_KERNEL) ||
			    s != mb + freed[i])
				note_bad(&bad, "reuse down %lu: %#lx, want %#lx",
					 i, s, mb + freed[i]);
			validate(&t, &vbad, "reuse down", i);
		}
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 1, mb,
					    mb + MANY - 1, GFP_KERNEL), -EBUSY);
		/* three freed runs of 50 across leaves */
		{
			unsigned long runs[3] = { 200, 1400, 2600 }, r, x;

			for (r = 0; r < 3; r++)
				CHECK_EQ(mtree_store_range(&t, mb + runs[r],
							   mb + runs[r] + 49, NULL,
							   GFP_KERNEL), 0);
			validate(&t, &vbad, "runs", 0);
			CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 51, mb,
						   mb + MANY - 1, GFP_KERNEL),
				 -EBUSY);
			CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 50, mb,
						   mb + MANY - 1, GFP_KERNEL), 0);
			CHECK_EQ(s, mb + 200);
			CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(2), 50, mb,
						    mb + MANY - 1, GFP_KERNEL), 0);
			CHECK_EQ(s, mb + 2600);
			CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(3), 50, mb,
						    mb + MANY - 1, GFP_KERNEL), 0);
			CHECK_EQ(s, mb + 1400);
			CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(3), 1, mb,
						   mb + MANY - 1, GFP_KERNEL),
				 -EBUSY);
			validate(&t, &vbad, "runs", 1);
			for (x = 0; x < 50; x++)
				if (mtree_load(&t, mb + 1400 + x) != OBJ(3))
					note_bad(&bad, "run entry %lu", x);
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(vbad, 0);
		mtree_destroy(&t);
	}
}

/* ---- Bad arguments to the allocators ---------------------------------------------- */

static void test_alloc_errors(void)
{
	struct maple_tree t;
	unsigned long s, next = 0;
	size_t k;

	/* no gap tracking: every allocator refuses */
	for (k = 0; k < NKINDS; k++) {
		if (is_alloc(kinds[k].flags))
			continue;
		mt_init_flags(&t, kinds[k].flags);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 1, 0, MAX, GFP_KERNEL),
			 -EINVAL);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 1, 0, MAX,
					    GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_alloc_range_aligned(&t, &s, OBJ(1), 1, 1, 0, 0,
						   MAX, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_alloc_rrange_aligned(&t, &s, OBJ(1), 1, 1, 0, 0,
						    MAX, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, OBJ(1), 0, MAX, &next,
					    GFP_KERNEL), -EINVAL);
		CHECK_EQ(next, 0);
		CHECK(mtree_empty(&t));
		CHECK_EQ(mtree_store_range(&t, 5, 9, OBJ(2), GFP_KERNEL), 0);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 1, 0, MAX, GFP_KERNEL),
			 -EINVAL);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 1, 0, MAX,
					    GFP_KERNEL), -EINVAL);
		CHECK_EQ(count_entries(&t), 1);
		CHECK_EQ(mt_validate(&t), 0);
		mtree_destroy(&t);
	}

	for (k = 0; k < NKINDS; k++) {
		void *bad_entries[] = { XA_ZERO_ENTRY, xa_mk_internal(5) };
		int rev, e;

		if (!is_alloc(kinds[k].flags))
			continue;
		mt_init_flags(&t, kinds[k].flags);
		CHECK_EQ(mtree_store_range(&t, 20, 29, OBJ(1), GFP_KERNEL), 0);
		for (rev = 0; rev < 2; rev++) {
			int (*al)(struct maple_tree *, unsigned long *, void *,
				  unsigned long, unsigned long, unsigned long,
				  gfp_t) = rev ? mtree_alloc_rrange :
						 mtree_alloc_range;
			int (*aa)(struct maple_tree *, unsigned long *, void *,
				  unsigned long, unsigned long, unsigned long,
				  unsigned long, unsigned long, gfp_t) =
				rev ? mtree_alloc_rrange_aligned :
				      mtree_alloc_range_aligned;

			CHECK_EQ(al(&t, &s, OBJ(2), 0, 0, MAX, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 0, 1, 0, 0, MAX, GFP_KERNEL),
				 -EINVAL);
			for (e = 0; e < 2; e++) {
				CHECK_EQ(al(&t, &s, bad_entries[e], 1, 0, MAX,
					    GFP_KERNEL), -EINVAL);
				CHECK_EQ(aa(&t, &s, bad_entries[e], 1, 1, 0, 0,
					    MAX, GFP_KERNEL), -EINVAL);
			}
			CHECK_EQ(al(&t, &s, OBJ(2), 1, 10, 9, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(al(&t, &s, OBJ(2), 1, MAX, 0, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 1, 1, 0, 10, 9, GFP_KERNEL),
				 -EINVAL);
			/* window smaller than the size; free or not */
			CHECK_EQ(al(&t, &s, OBJ(2), 6, 10, 14, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(al(&t, &s, OBJ(2), 11, 20, 29, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(al(&t, &s, OBJ(2), 2, MAX, MAX, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 6, 1, 0, 10, 14, GFP_KERNEL),
				 -EINVAL);
			/* alignment and boundary */
			CHECK_EQ(aa(&t, &s, OBJ(2), 1, 0, 0, 0, MAX, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 1, 3, 0, 0, MAX, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 1, 1, 3, 0, MAX, GFP_KERNEL),
				 -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 16, 1, 8, 0, MAX,
				    GFP_KERNEL), -EINVAL);
			CHECK_EQ(aa(&t, &s, OBJ(2), 16, 16, 24, 0, MAX,
				    GFP_KERNEL), -EINVAL);
			/* occupied window */
			CHECK_EQ(al(&t, &s, OBJ(2), 1, 20, 29, GFP_KERNEL),
				 -EBUSY);
			CHECK_EQ(al(&t, &s, OBJ(2), 5, 18, 33, GFP_KERNEL),
				 -EBUSY);
			CHECK_EQ(aa(&t, &s, OBJ(2), 4, 4, 0, 17, 33, GFP_KERNEL),
				 -EBUSY);
		}
		/* none of that changed the tree */
		CHECK_EQ(count_entries(&t), 1);
		CHECK_PTR(mtree_load(&t, 20), OBJ(1));
		CHECK(mtree_load(&t, 19) == NULL);
		CHECK(mtree_load(&t, 30) == NULL);
		CHECK_EQ(mt_validate(&t), 0);
		/* the window exactly the size and free: fine */
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(3), 5, 10, 14, GFP_KERNEL),
			 0);
		CHECK_EQ(s, 10);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(3), 5, 30, 34,
					    GFP_KERNEL), 0);
		CHECK_EQ(s, 30);
		CHECK_EQ(mtree_alloc_range_aligned(&t, &s, OBJ(4), 4, 4, 4, 0,
						   MAX, GFP_KERNEL), 0);
		CHECK_EQ(s, 0);
		CHECK_EQ(mtree_alloc_rrange_aligned(&t, &s, OBJ(4), 4, 4, 4, 0,
						    MAX, GFP_KERNEL), 0);
		CHECK_EQ(s, MAX - 3);
		CHECK_EQ(mt_validate(&t), 0);
		/* cyclic: reserved entries, lo > hi */
		next = 7;
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, XA_ZERO_ENTRY, 0, MAX, &next,
					    GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, xa_mk_internal(5), 0, MAX,
					    &next, GFP_KERNEL), -EINVAL);
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, OBJ(5), 10, 9, &next,
					    GFP_KERNEL), -EINVAL);
		CHECK_EQ(next, 7);
		CHECK_EQ(count_entries(&t), 5);
		mtree_destroy(&t);
	}
}

/* Allocation failure: the allocators report -ENOMEM and change nothing. */
static void test_enomem(void)
{
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		struct maple_tree t;
		unsigned long s = 0, next = 50;
		size_t live;

		if (!is_alloc(kinds[k].flags))
			continue;
		mt_init_flags(&t, kinds[k].flags);
		live = nodes_live();
		/* an empty tree needs a leaf for an entry away from index 0 */
		mt_fault_inject_all(true);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 5, 10, 100,
					   GFP_KERNEL), -ENOMEM);
		CHECK_EQ(mtree_alloc_rrange(&t, &s, OBJ(1), 5, 10, 100,
					    GFP_KERNEL), -ENOMEM);
		CHECK_EQ(mtree_alloc_range_aligned(&t, &s, OBJ(1), 5, 8, 0, 10,
						   100, GFP_KERNEL), -ENOMEM);
		CHECK_EQ(mtree_alloc_rrange_aligned(&t, &s, OBJ(1), 5, 8, 0, 10,
						    100, GFP_KERNEL), -ENOMEM);
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, OBJ(1), 10, 100, &next,
					    GFP_KERNEL), -ENOMEM);
		mt_fault_inject_all(false);
		CHECK_EQ(next, 50);
		CHECK(mtree_empty(&t));
		CHECK_EQ(mt_validate(&t), 0);
		CHECK_EQ(nodes_live(), live);
		CHECK_EQ(mtree_alloc_range(&t, &s, OBJ(1), 5, 10, 100,
					   GFP_KERNEL), 0);
		CHECK_EQ(s, 10);
		CHECK_EQ(mtree_alloc_cyclic(&t, &s, OBJ(2), 10, 100, &next,
					    GFP_KERNEL), 0);
		CHECK_EQ(s, 50);
		CHECK_EQ(next, 51);
		CHECK_EQ(mt_validate(&t), 0);
		mtree_destroy(&t);
	}
}

/* ---- The aligned extension in a 2^40 space ---------------------------------------- */

#if ULONG_MAX > 0xffffffffUL
#define BIG (1UL << 40)

/* @q against the reference on every kind of tree; allocate if asked. */
static void big_op(struct maple_tree *t, struct imodel *m,
		   const struct query *q, bool alloc, unsigned long *idx,
		   unsigned long *bad, unsigned long *vbad, const char *what)
{
	unsigned long ref_s = 0, s = 0, i, l;
	int ref = im_search(m, q, &ref_s), ret;
	void *e = xa_mk_value((*idx)++);
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		if (alloc) {
			ret = tree_alloc(&t[k], kinds[k].flags, q, e, &s);
			l = s + q->size - 1;
			validate(&t[k], vbad, what, s);
		} else {
			ret = search(&t[k], q, true, (kinds[k].flags &
				     MT_FLAGS_USE_RCU) && rnd(2), &s, &l);
		}
		i = s;
		if (ret != ref || (!ret && (i != ref_s ||
					    l != ref_s + q->size - 1)))
			note_bad(bad, "%s %s: %s %s [%#lx, %#lx] size %#lx align %#lx boundary %#lx: %d %#lx, want %d %#lx",
				 kinds[k].name, what, alloc ? "alloc" : "search",
				 q->rev ? "rev" : "fwd", q->min, q->max,
				 q->size, q->align, q->boundary, ret, i, ref,
				 ref_s);
	}
	if (alloc && !ref)
		im_add(m, ref_s, ref_s + q->size - 1, e);
}

static void big_trees(struct maple_tree *t)
{
	size_t k;

	for (k = 0; k < NKINDS; k++)
		mt_init_flags(&t[k], kinds[k].flags);
}

static void big_store(struct maple_tree *t, struct imodel *m, unsigned long a,
		      unsigned long b, void *e, unsigned long *bad,
		      unsigned long *vbad)
{
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		if (mtree_store_range(&t[k], a, b, e, GFP_KERNEL))
			note_bad(bad, "store [%#lx, %#lx]", a, b);
		validate(&t[k], vbad, "store", a);
	}
	im_add(m, a, b, e);
}

/*
 * Hand-worked layouts. (1) A thousand gaps of 1.5 MiB that hold 1 MiB but
 * not 2 MiB-aligned, and one aligned hole of 1 MiB: the aligned searches
 * pass over all of them. (2) Holes around 4 GiB multiples.
 */
static void test_aligned_layouts(void)
{
	struct maple_tree t[NKINDS];
	struct imodel m = { 0 };
	unsigned long bad = 0, vbad = 0, idx = 0, kk, a;
	const unsigned long H = 1500 * 2 * MiB, G4 = 4 * GiB;
	struct {
		bool rev;
		unsigned long size, align, boundary;
		int err;
		unsigned long start;
	} c1[] = {
		{ FWD, MiB, 2 * MiB, 0, 0, H },
		{ REV, MiB, 2 * MiB, 0, 0, H },
		{ FWD, MiB, 1, 0, 0, 512 * KiB },
		{ REV, MiB, 1, 0, 0, H },
		{ REV, MiB + 1, 1, 0, 0, 2000 * MiB - MiB - 1 },
		{ FWD, MiB, 4 * KiB, MiB, 0, MiB },
		{ REV, MiB, 4 * KiB, MiB, 0, H },
		{ FWD, MiB, 2 * MiB, 2 * MiB, 0, H },
		{ FWD, MiB, MiB, 0, 0, MiB },
		{ FWD, MiB + 1, MiB, 0, -EBUSY, 0 },
		{ REV, MiB + 1, MiB, 0, -EBUSY, 0 },
		{ FWD, 2 * MiB, 4 * KiB, 0, -EBUSY, 0 },
	}, c2[] = {
		{ FWD, 4 * MiB, MiB, G4, 0, 3 * G4 },
		{ FWD, 4 * MiB, MiB, 0, 0, G4 - 3 * MiB },
		{ REV, 4 * MiB, MiB, G4, 0, 3 * G4 + MiB },
		{ REV, 4 * MiB, MiB, 0, 0, 3 * G4 + MiB },
		{ REV, 5 * MiB, MiB, G4, 0, 3 * G4 },
		{ FWD, 5 * MiB, MiB, G4, 0, 3 * G4 },
		{ FWD, 6 * MiB, MiB, G4, -EBUSY, 0 },
		{ FWD, 6 * MiB, MiB, 0, 0, G4 - 3 * MiB },
		{ REV, 6 * MiB, MiB, 0, 0, 3 * G4 - MiB },
		{ REV, 6 * MiB, MiB, G4, -EBUSY, 0 },
		{ FWD, 2 * MiB, 2 * MiB, G4, 0, G4 - 2 * MiB },
		{ REV, 2 * MiB, 2 * MiB, G4, 0, 3 * G4 + 2 * MiB },
		{ REV, 3 * MiB, 2 * MiB, G4, 0, 3 * G4 + 2 * MiB },
		{ FWD, 3 * MiB, 2 * MiB, G4, 0, G4 },
	};
	size_t i, k;

	/* (1) */
	big_trees(t);
	for (kk = 0; kk < 1000; kk++)
		big_store(t, &m, kk * 2 * MiB, kk * 2 * MiB + 512 * KiB - 1,
			  xa_mk_value(idx++), &bad, &vbad);
	big_store(t, &m, 2000 * MiB, H - 1, xa_mk_value(idx++), &bad, &vbad);
	big_store(t, &m, H + MiB, BIG - 1, xa_mk_value(idx++), &bad, &vbad);
	CHECK(mt_height(&t[0]) >= 3);
	for (i = 0; i < sizeof(c1) / sizeof(c1[0]); i++) {
		struct query q = { c1[i].rev, 0, BIG - 1, c1[i].size,
				   c1[i].align, c1[i].boundary };

		for (k = 0; k < NKINDS; k++) {
			unsigned long s = 0, l = 0;
			int ret = search(&t[k], &q, true, false, &s, &l);

			if (ret != c1[i].err ||
			    (!ret && (s != c1[i].start ||
				      l != c1[i].start + q.size - 1)))
				note_bad(&bad, "layout 1 case %zu %s: %d %#lx",
					 i, kinds[k].name, ret, s);
		}
	}
	/* past the window's end everything is free */
	{
		struct query q = { FWD, 0, MAX, MiB + 1, MiB, 0 };

		for (k = 0; k < NKINDS; k++) {
			unsigned long s = 0, l = 0;
			int ret = search(&t[k], &q, true, false, &s, &l);

			if (ret || s != BIG)
				note_bad(&bad, "layout 1 beyond %s: %d %#lx",
					 kinds[k].name, ret, s);
		}
	}
	/* allocating takes them in turn */
	{
		struct query q1 = { FWD, 0, BIG - 1, MiB, 2 * MiB, 0 };
		struct query q2 = { REV, 0, BIG - 1, MiB, 4 * KiB, MiB };
		struct query q3 = { FWD, 0, BIG - 1, MiB, 4 * KiB, MiB };
		unsigned long want[] = { H, 999 * 2 * MiB + MiB, MiB,
					 2 * MiB + MiB };
		const struct query *qs[] = { &q1, &q2, &q3, &q3 };

		for (i = 0; i < 4; i++) {
			for (k = 0; k < NKINDS; k++) {
				unsigned long s = 0;
				int ret = tree_alloc(&t[k], kinds[k].flags,
						     qs[i], OBJ(i), &s);

				if (ret || s != want[i])
					note_bad(&bad, "layout 1 alloc %zu %s: %d %#lx",
						 i, kinds[k].name, ret, s);
				validate(&t[k], &vbad, "layout 1 alloc", i);
			}
		}
		for (k = 0; k < NKINDS; k++) {
			unsigned long s = 0;

			if (tree_alloc(&t[k], kinds[k].flags, &q1, OBJ(1), &s) !=
			    -EBUSY)
				note_bad(&bad, "layout 1 full %s", kinds[k].name);
		}
	}
	for (k = 0; k < NKINDS; k++)
		mtree_destroy(&t[k]);
	m.n = 0;

	/* (2): packed 2 MiB entries below the first hole */
	big_trees(t);
	for (a = 0; a < G4 - 3 * MiB; a += 2 * MiB) {
		unsigned long b = a + 2 * MiB - 1;

		if (b > G4 - 3 * MiB - 1)
			b = G4 - 3 * MiB - 1;
		big_store(t, &m, a, b, xa_mk_value(idx++), &bad, &vbad);
	}
	big_store(t, &m, G4 + 3 * MiB, 3 * G4 - MiB - 1, xa_mk_value(idx++),
		  &bad, &vbad);
	big_store(t, &m, 3 * G4 + 5 * MiB, BIG - 1, xa_mk_value(idx++), &bad,
		  &vbad);
	CHECK(mt_height(&t[0]) >= 3);
	for (i = 0; i < sizeof(c2) / sizeof(c2[0]); i++) {
		struct query q = { c2[i].rev, 0, BIG - 1, c2[i].size,
				   c2[i].align, c2[i].boundary };

		for (k = 0; k < NKINDS; k++) {
			unsigned long s = 0, l = 0;
			int ret = search(&t[k], &q, true, false, &s, &l);

			if (ret != c2[i].err ||
			    (!ret && (s != c2[i].start ||
				      l != c2[i].start + q.size - 1)))
				note_bad(&bad, "layout 2 case %zu %s: %d %#lx",
					 i, kinds[k].name, ret, s);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(vbad, 0);
	for (k = 0; k < NKINDS; k++)
		mtree_destroy(&t[k]);
	free(m.v);
}

static unsigned long big_size(void)
{
	unsigned long r = rnd(100);

	if (r < 20)
		return 1 + rnd(4 * KiB);
	if (r < 50)
		return 4 * KiB * (1 + rnd(512));
	if (r < 60)
		return 2 * MiB;
	if (r < 75)
		return MiB * (1 + rnd(64));
	if (r < 85)
		return 256 * MiB + rnd(3 * GiB);
	return (4 * KiB) << rnd(10);
}

/* Random searches and allocations against the interval reference. */
static void test_aligned_random(unsigned long ops)
{
	static const unsigned long aligns[] = {
		1, 4 * KiB, 8 * KiB, 64 * KiB, 1 * MiB, 2 * MiB, 4 * KiB,
		2 * MiB,
	};
	struct maple_tree t[NKINDS];
	struct imodel m = { 0 };
	unsigned long bad = 0, vbad = 0, idx = 1, i, op;
	size_t k;

	big_trees(t);
	/* random occupied spans, half of them packed in the first GiB */
	for (i = 0; i < 1500; i++) {
		unsigned long len = rnd(4) ? 1 + rnd(4 * MiB) : 4 * KiB *
				    (1 + rnd(256));
		unsigned long a = rnd(2) ? rnd(GiB) : rnd(BIG), b = a + len - 1;
		bool free_span;
		void *e = xa_mk_value(idx++);

		if (rnd(2))
			a &= ~(4 * KiB - 1);
		b = a + len - 1;
		if (b >= BIG)
			continue;
		free_span = im_free(&m, a, b);
		for (k = 0; k < NKINDS; k++) {
			int ret = mtree_insert_range(&t[k], a, b, e, GFP_KERNEL);

			if (ret != (free_span ? 0 : -EEXIST))
				note_bad(&bad, "%s insert [%#lx, %#lx]: %d",
					 kinds[k].name, a, b, ret);
			if (!ret)
				validate(&t[k], &vbad, "insert", a);
		}
		if (free_span)
			im_add(&m, a, b, e);
	}
	CHECK(mt_height(&t[0]) >= 3);

	for (op = 0; op < ops; op++) {
		unsigned long r = rnd(100);
		struct query q;

		if (r < 12 && m.n) {
			/* free a random span */
			size_t x = rnd(m.n);
			struct ival v = m.v[x];

			for (k = 0; k < NKINDS; k++) {
				void *e = mtree_erase(&t[k], v.first +
						      rnd(v.last - v.first + 1));

				if (e != v.entry)
					note_bad(&bad, "%s erase %#lx: %p",
						 kinds[k].name, v.first, e);
				validate(&t[k], &vbad, "erase", v.first);
			}
			im_del(&m, x);
			continue;
		}
		q.rev = rnd(2);
		q.size = big_size();
		q.align = aligns[rnd(8)];
		r = rnd(100);
		q.boundary = r < 45 ? 0 : r < 80 ? 4 * GiB : r < 90 ? 2 * MiB :
			     r < 95 ? BIG : 3 * GiB;
		if (rnd(50) == 0)
			q.align = rnd(2) ? 0 : 3 * KiB;
		if (rnd(4)) {
			q.min = 0;
			q.max = BIG - 1;
		} else {
			q.min = rnd(BIG);
			q.max = q.min + rnd(BIG - q.min);
		}
		big_op(t, &m, &q, rnd(100) < 50, &idx, &bad, &vbad, "random");
	}
	for (k = 0; k < NKINDS; k++) {
		unsigned long c = im_compare(&t[k], &m);

		if (c)
			fprintf(stderr, "  (%s tree differs from the model)\n",
				kinds[k].name);
		CHECK_EQ(c, 0);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(vbad, 0);
	for (k = 0; k < NKINDS; k++)
		mtree_destroy(&t[k]);
	free(m.v);
}
#endif

/* ---- Cyclic ids ---------------------------------------------------------------- */

#define CYC(want_ret, want_start, want_next) do {			\
	unsigned long __s = 0xdeadUL;					\
	int __r = cyclic(mt, via_mas, &__s, entry, lo, hi, &next);	\
	CHECK_EQ(__r, (want_ret));					\
	if (__r >= 0) {							\
		CHECK_EQ(__s, (want_start));				\
		CHECK_PTR(mtree_load(mt, __s), entry);			\
	}								\
	CHECK_EQ(next, (want_next));					\
	CHECK_EQ(mt_validate(mt), 0);					\
} while (0)

static void cyclic_sequences(struct maple_tree *mt, bool via_mas)
{
	void *entry = OBJ(1);
	unsigned long lo = 10, hi = 20, next = 0, i;

	/* neighbours just outside the range must stay untouched */
	CHECK_EQ(mtree_store(mt, 5, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(mt, 9, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(mt, 21, OBJ(2), GFP_KERNEL), 0);
	CHECK_EQ(mtree_store(mt, 25, OBJ(2), GFP_KERNEL), 0);
	for (i = lo; i <= hi; i++)
		CYC(0, i, i + 1);
	CYC(-EBUSY, 0, 21);
	CHECK_PTR(mtree_erase(mt, 15), entry);
	CHECK_PTR(mtree_erase(mt, 12), entry);
	CYC(1, 12, 13);		/* nothing at or above 21: wrapped */
	CYC(0, 15, 16);
	CYC(-EBUSY, 0, 16);
	next = 5;		/* below lo: start at lo, no wrap */
	CHECK_PTR(mtree_erase(mt, 18), entry);
	CYC(0, 18, 19);
	next = 100;		/* above hi: wraps */
	CHECK_PTR(mtree_erase(mt, 11), entry);
	CYC(1, 11, 12);
	next = 17;
	CHECK_PTR(mtree_erase(mt, 13), entry);
	CHECK_PTR(mtree_erase(mt, 19), entry);
	CYC(0, 19, 20);
	CYC(1, 13, 14);
	CHECK_PTR(mtree_load(mt, 5), OBJ(2));
	CHECK_PTR(mtree_load(mt, 9), OBJ(2));
	CHECK_PTR(mtree_load(mt, 21), OBJ(2));
	CHECK_PTR(mtree_load(mt, 25), OBJ(2));
	CHECK_EQ(count_entries(mt), 4 + 11);

	/* a range of one */
	lo = hi = 30;
	next = 0;
	CYC(0, 30, 31);
	CYC(-EBUSY, 0, 31);
	CHECK_PTR(mtree_erase(mt, 30), entry);
	CYC(1, 30, 31);

	/* the top of the space: next goes to 0, the next success wraps */
	lo = MAX - 2;
	hi = MAX;
	next = MAX - 1;
	CYC(0, MAX - 1, MAX);
	CYC(0, MAX, 0);
	CYC(1, MAX - 2, MAX - 1);
	CYC(-EBUSY, 0, MAX - 1);
	CHECK_PTR(mtree_erase(mt, MAX - 1), entry);
	CYC(0, MAX - 1, MAX);	/* the wrap was reported once only */
	CHECK_PTR(mtree_erase(mt, MAX), entry);
	CYC(0, MAX, 0);
	CYC(-EBUSY, 0, 0);	/* a failure does not consume the wrap */
	CHECK_PTR(mtree_erase(mt, MAX - 2), entry);
	CYC(1, MAX - 2, MAX - 1);
	CHECK_PTR(mtree_erase(mt, MAX - 1), entry);
	CYC(0, MAX - 1, MAX);

	/* the whole space */
	CHECK_PTR(mtree_erase(mt, MAX), entry);
	lo = 0;
	hi = MAX;
	next = MAX;
	CYC(0, MAX, 0);
	CYC(1, 0, 1);
	CYC(0, 1, 2);
	next = MAX;		/* taken: wraps to the lowest free, 2 */
	CYC(1, 2, 3);
	next = 3;
	CYC(0, 3, 4);
	next = 4;
	CYC(0, 4, 5);

	/* lo > hi */
	{
		unsigned long s;

		next = 0;
		CHECK_EQ(cyclic(mt, via_mas, &s, entry, 9, 8, &next), -EINVAL);
		CHECK_EQ(next, 0);
	}
}

/* Random allocate/free against a model of the range, wrap flag included. */
static void cyclic_random(unsigned long lo, unsigned long ops)
{
	enum { CN = 200 };
	unsigned long hi = lo + CN - 1, next[NKINDS], model_next = 0, op;
	unsigned long bad = 0, vbad = 0;
	struct maple_tree t[NKINDS];
	bool used[CN], wrapped = false;
	size_t k;

	memset(used, 0, sizeof(used));
	for (k = 0; k < NKINDS; k++) {
		mt_init_flags(&t[k], kinds[k].flags);
		next[k] = 0;
		if (lo > 0)
			CHECK_EQ(mtree_store(&t[k], lo - 1, OBJ(2), GFP_KERNEL), 0);
		if (hi < MAX)
			CHECK_EQ(mtree_store(&t[k], hi + 1, OBJ(2), GFP_KERNEL), 0);
	}
	for (op = 0; op < ops; op++) {
		unsigned long r = rnd(100), x, s = 0, want_s = 0, from;
		int want = -EBUSY, ret;

		if (r < 30) {
			x = rnd(CN);
			if (!used[x])
				continue;
			for (k = 0; k < NKINDS; k++) {
				if (mtree_erase(&t[k], lo + x) != xa_mk_value(x))
					note_bad(&bad, "%s erase %lu",
						 kinds[k].name, x);
				validate(&t[k], &vbad, "erase", x);
			}
			used[x] = false;
			continue;
		}
		if (r < 35 && !wrapped) {
			/* move next anywhere near the range */
			x = rnd(CN + 6);
			model_next = x < 3 ? (lo >= 3 - x ? lo - (3 - x) : 0) :
				     lo + (x - 3);
			if (x >= CN + 3 && hi == MAX)
				model_next = 0;
			for (k = 0; k < NKINDS; k++)
				next[k] = model_next;
			continue;
		}
		/* the reference */
		from = model_next > lo ? model_next : lo;
		for (x = from - lo; from <= hi && x < CN; x++)
			if (!used[x]) {
				want = wrapped ? 1 : 0;
				want_s = lo + x;
				break;
			}
		if (want < 0 && from > lo)
			for (x = 0; x < CN; x++)
				if (!used[x]) {
					want = 1;
					want_s = lo + x;
					break;
				}
		for (k = 0; k < NKINDS; k++) {
			bool via_mas = !is_alloc(kinds[k].flags) || rnd(2);

			ret = cyclic(&t[k], via_mas, &s,
				     xa_mk_value(want < 0 ? 0 : want_s - lo), lo,
				     hi, &next[k]);
			if (ret != want || (ret >= 0 && s != want_s) ||
			    next[k] != (want < 0 ? model_next : want_s + 1))
				note_bad(&bad, "%s op %lu: %d %#lx next %#lx, want %d %#lx",
					 kinds[k].name, op, ret, s, next[k],
					 want, want_s);
			if (ret >= 0)
				validate(&t[k], &vbad, "cyclic", s);
			next[k] = want < 0 ? model_next : want_s + 1;
		}
		if (want >= 0) {
			used[want_s - lo] = true;
			model_next = want_s + 1;
			wrapped = model_next == 0;
		}
	}
	for (k = 0; k < NKINDS; k++) {
		unsigned long n = 0, x;

		for (x = 0; x < CN; x++)
			if (mtree_load(&t[k], lo + x) !=
			    (used[x] ? xa_mk_value(x) : NULL))
				n++;
		if (lo > 0 && mtree_load(&t[k], lo - 1) != OBJ(2))
			n++;
		if (hi < MAX && mtree_load(&t[k], hi + 1) != OBJ(2))
			n++;
		CHECK_EQ(n, 0);
		mtree_destroy(&t[k]);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(vbad, 0);
}

static void test_cyclic(void)
{
	size_t k;
	int via;

	for (k = 0; k < NKINDS; k++) {
		for (via = 0; via < 2; via++) {
			struct maple_tree tree, *mt = &tree;

			/* the Normal API needs gap tracking; mas_ does not */
			if (!via && !is_alloc(kinds[k].flags))
				continue;
			mt_init_flags(mt, kinds[k].flags);
			cyclic_sequences(mt, via);
			mtree_destroy(mt);

			/* a root-pointer tree: index 0 taken */
			mt_init_flags(mt, kinds[k].flags);
			CHECK_EQ(mtree_store(mt, 0, OBJ(3), GFP_KERNEL), 0);
			{
				unsigned long s = 0, next = 0;

				CHECK_EQ(cyclic(mt, via, &s, OBJ(1), 0, 10,
						&next), 0);
				CHECK_EQ(s, 1);
				CHECK_EQ(next, 2);
				CHECK_PTR(mtree_load(mt, 0), OBJ(3));
				CHECK_EQ(mt_validate(mt), 0);
			}
			mtree_destroy(mt);
		}
	}
	cyclic_random(100, 6000);
	cyclic_random(MAX - 199, 6000);
	cyclic_random(0, 3000);
}

/* ---- XA_ZERO_ENTRY reservations ----------------------------------------------- */

#define ZN 3000UL

static void test_zero_entries(void)
{
	size_t k;

	for (k = 0; k < NKINDS; k++) {
		unsigned int flags = kinds[k].flags;
		struct maple_tree tree, *mt = &tree;
		static bool present[ZN];
		unsigned long i, n, round, vbad = 0, total = ZN;
		size_t live;

		cur_flags = flags;
		cur_kind = kinds[k].name;
		mt_init_flags(mt, flags);
		/* entry i at [10i, 10i + 7]; free [10i + 8, 10i + 9] */
		for (i = 0; i < ZN; i++) {
			CHECK_EQ(mtree_store_range(mt, 10 * i, 10 * i + 7,
						   xa_mk_value(i), GFP_KERNEL), 0);
			present[i] = true;
		}
		CHECK_EQ(mt_validate(mt), 0);
		CHECK(mt_height(mt) >= 3);

		for (round = 0; round < 14; round++) {
			unsigned long j = round == 0 ? 0 : round == 1 ? ZN - 4 :
					  1 + rnd(ZN - 6);
			unsigned long span = round % 2 ? 4 : 1;
			unsigned long a = 10 * j, b = 10 * (j + span - 1) + 7;
			unsigned long after = j + span, idx;
			void *e;
			MA_STATE(mas, mt, 0, 0);

			/* skip spans an earlier round already took */
			for (i = j; i < j + span; i++)
				if (!present[i])
					break;
			if (i < j + span || (after < ZN && !present[after]))
				continue;

			/* reserve over one entry, or over four and their gaps */
			CHECK_EQ(mtree_store_range(mt, a, b, XA_ZERO_ENTRY,
						   GFP_KERNEL), 0);
			validate(mt, &vbad, "reserve", a);
			for (i = j; i < j + span; i++)
				present[i] = false;
			total -= span;

			/* the Normal API sees nothing there */
			CHECK(mtree_load(mt, a) == NULL);
			CHECK(mtree_load(mt, b) == NULL);
			CHECK(mtree_load(mt, (a + b) / 2) == NULL);
			idx = a;
			e = mt_find(mt, &idx, MAX);
			if (after < ZN) {
				CHECK_PTR(e, xa_mk_value(after));
				CHECK_EQ(idx, 10 * after + 8);
			} else {
				CHECK(e == NULL);
			}
			idx = a;
			CHECK(mt_find(mt, &idx, b) == NULL);
			CHECK_EQ(count_entries(mt), total);

			/* the Advanced API returns the reservation */
			mtree_lock(mt);
			mas_set(&mas, (a + b) / 2);
			CHECK_PTR(mas_walk(&mas), XA_ZERO_ENTRY);
			CHECK_EQ(mas.index, a);
			CHECK_EQ(mas.last, b);
			mas_set(&mas, a ? a - 1 : 0);
			CHECK_PTR(mas_find(&mas, MAX), XA_ZERO_ENTRY);
			CHECK_EQ(mas.index, a);
			CHECK_EQ(mas.last, b);
			mas_set(&mas, b + 1);
			CHECK_PTR(mas_find_rev(&mas, 0), XA_ZERO_ENTRY);
			CHECK_EQ(mas.index, a);
			CHECK_EQ(mas.last, b);
			mtree_unlock(mt);

			/* it is occupied for inserts and gap searches */
			CHECK_EQ(mtree_insert_range(mt, a, b, OBJ(1), GFP_KERNEL),
				 -EEXIST);
			CHECK_EQ(mtree_insert(mt, b, OBJ(1), GFP_KERNEL), -EEXIST);
			CHECK_EQ(mtree_insert_range(mt, b, b + 1, OBJ(1),
						    GFP_KERNEL), -EEXIST);
			ERR(FWD, a, b, 1, -EBUSY);
			ERR(REV, a, b, 1, -EBUSY);
			ERR(FWD, a, b + 2, 3, -EBUSY);
			AT(FWD, a, b + 2, 2, b + 1);
			if (a) {
				AT(FWD, a - 2, b + 2, 1, a - 2);
				AT(REV, a - 2, b + 2, 1, b + 2);
				ERR(REV, a - 2, b + 1, 3, -EBUSY);
			}
			if (is_alloc(flags)) {
				unsigned long s;

				CHECK_EQ(mtree_alloc_range(mt, &s, OBJ(1), 1, a,
							   b, GFP_KERNEL), -EBUSY);
				CHECK_EQ(mtree_alloc_rrange(mt, &s, OBJ(1), 1, a,
							    b, GFP_KERNEL), -EBUSY);
			}
			CHECK_EQ(count_entries(mt), total);

			/*
			 * Replacing exactly the reserved range is a slot
			 * write: it needs no node, even in RCU mode.
			 */
			live = nodes_live();
			mt_fault_inject_all(true);
			CHECK_EQ(mtree_store_range(mt, a, b, OBJ(2), GFP_KERNEL),
				 0);
			mt_fault_inject_all(false);
			CHECK_EQ(nodes_live(), live);
			validate(mt, &vbad, "replace", a);
			CHECK_PTR(mtree_load(mt, a), OBJ(2));
			CHECK_PTR(mtree_load(mt, b), OBJ(2));
			CHECK_EQ(count_entries(mt), total + 1);

			/* back to a reservation, then erased: a gap again */
			CHECK_EQ(mtree_store_range(mt, a, b, XA_ZERO_ENTRY,
						   GFP_KERNEL), 0);
			validate(mt, &vbad, "reserve again", a);
			CHECK_EQ(mtree_store_range(mt, a, b, NULL, GFP_KERNEL),
				 0);
			validate(mt, &vbad, "unreserve", a);
			n = b - a + 1 + (a ? 2 : 0);
			AT(FWD, a ? a - 2 : 0, b + 2, n + 2, a ? a - 2 : 0);
			AT(REV, 0, b + 2, n + 2, a ? a - 2 : 0);
			if (a)
				ERR(REV, 0, b + 2, n + 3, -EBUSY);
			CHECK_EQ(count_entries(mt), total);
			/* restore the entries for later rounds */
			for (i = j; i < j + span; i++) {
				CHECK_EQ(mtree_store_range(mt, 10 * i, 10 * i + 7,
							   xa_mk_value(i),
							   GFP_KERNEL), 0);
				present[i] = true;
			}
			total += span;
			validate(mt, &vbad, "restore", a);
		}

		/* a reservation that ends at ULONG_MAX */
		CHECK_EQ(mtree_store_range(mt, MAX - 5, MAX, OBJ(3), GFP_KERNEL),
			 0);
		CHECK_EQ(mtree_store_range(mt, MAX - 5, MAX, XA_ZERO_ENTRY,
					   GFP_KERNEL), 0);
		validate(mt, &vbad, "reserve top", 0);
		CHECK(mtree_load(mt, MAX) == NULL);
		ERR(FWD, MAX - 5, MAX, 1, -EBUSY);
		AT(REV, 0, MAX, 1, MAX - 6);
		live = nodes_live();
		mt_fault_inject_all(true);
		CHECK_EQ(mtree_store_range(mt, MAX - 5, MAX, OBJ(4), GFP_KERNEL),
			 0);
		mt_fault_inject_all(false);
		CHECK_EQ(nodes_live(), live);
		CHECK_PTR(mtree_load(mt, MAX), OBJ(4));
		validate(mt, &vbad, "replace top", 0);

		CHECK_EQ(vbad, 0);
		mtree_destroy(mt);
	}
	cur_kind = "";
	cur_flags = 0;
}

/* ---- Searches under the RCU read lock beside a writer --------------------------- */

struct race {
	struct maple_tree *mt;
	atomic_bool stop;
	atomic_ulong reads, bad;
	uint64_t seed;
};

/*
 * A search under the RCU read lock alone is only a hint while a writer
 * runs, so only its form is checked: a legal return, and a span inside
 * the window that meets the alignment and the boundary. Under ASan this
 * also shows the search never touches a freed node.
 */
static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint64_t st = r->seed;

	urcu_memb_register_thread();
	while (!atomic_load(&r->stop)) {
		struct query q;
		unsigned long i, l;
		int ret, want;

		q.rev = harness_rand(&st) & 1;
		q.min = harness_rand(&st) % (1UL << 20);
		q.max = q.min + harness_rand(&st) % ((1UL << 20) - q.min);
		q.size = 1 + harness_rand(&st) % 64;
		q.align = 1UL << (harness_rand(&st) % 5);
		q.boundary = harness_rand(&st) & 1 ? 0 : 1UL << 10;
		want = bad_query(&q);
		ret = search(r->mt, &q, true, true, &i, &l);
		if (want ? ret != want :
		    ret == 0 ? i < q.min || l > q.max || l != i + q.size - 1 ||
			       (i & (q.align - 1)) ||
			       crosses(i, q.size, q.boundary) :
		    ret != -EBUSY)
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->reads, 1);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void test_rcu_readers(void)
{
	static const unsigned int fl[] = {
		MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU, MT_FLAGS_USE_RCU,
	};
	size_t f;

	for (f = 0; f < 2; f++) {
		struct maple_tree t;
		struct race r;
		pthread_t th[2];
		unsigned long i, vbad = 0, wbad = 0, s;
		int n;

		mt_init_flags(&t, fl[f]);
		for (i = 0; i < 4000; i++)
			if (mtree_store_range(&t, 256 * i, 256 * i + rnd(200),
					      xa_mk_value(i), GFP_KERNEL))
				note_bad(&wbad, "build %lu", i);
		r.mt = &t;
		r.seed = harness_rand(&rng) | 1;
		atomic_init(&r.stop, false);
		atomic_init(&r.reads, 0);
		atomic_init(&r.bad, 0);
		for (n = 0; n < 2; n++) {
			r.seed += 2;
			if (pthread_create(&th[n], NULL, race_reader, &r))
				abort();
		}
		for (i = 0; i < 6000; i++) {
			unsigned long a = rnd(1UL << 20), len = 1 + rnd(300);
			int ret = 0;

			switch (rnd(3)) {
			case 0:
				ret = mtree_store_range(&t, a, a + len, NULL,
							GFP_KERNEL);
				break;
			case 1:
				ret = mtree_store_range(&t, a, a + rnd(20),
							xa_mk_value(i),
							GFP_KERNEL);
				break;
			default:
				if (is_alloc(fl[f])) {
					ret = (rnd(2) ? mtree_alloc_range :
						       mtree_alloc_rrange)(&t, &s,
						xa_mk_value(i), 1 + rnd(64),
						/* a window that holds 64 */
						a < (1UL << 20) - 64 ? a : 0,
						(1UL << 20) - 1, GFP_KERNEL);
					ret = ret == -EBUSY ? 0 : ret;
				}
				break;
			}
			if (ret)
				note_bad(&wbad, "writer op %lu: %d", i, ret);
			validate(&t, &vbad, "racing write", i);
		}
		atomic_store(&r.stop, true);
		for (n = 0; n < 2; n++)
			pthread_join(th[n], NULL);
		CHECK(atomic_load(&r.reads) > 0);
		CHECK_EQ(atomic_load(&r.bad), 0);
		CHECK_EQ(wbad, 0);
		CHECK_EQ(vbad, 0);
		mtree_destroy(&t);
	}
}

int main(void)
{
	struct mt_cache_stats st;
	size_t live_at_start;

	urcu_memb_register_thread();
	rng = harness_seed("test_gap");
	mt_cache_stats(&st);
	live_at_start = st.nodes_live;

	test_reference_self_check();
	test_window_edges();
	test_alloc_errors();
	test_enomem();
	test_fill();
	test_combined_gaps();
	test_random_small(0, 12000);
	test_random_small(MAX - SN + 1, 12000);
#if ULONG_MAX > 0xffffffffUL
	test_aligned_layouts();
	test_aligned_random(8000);
#endif
	test_cyclic();
	test_zero_entries();
	test_rcu_readers();

	/* nothing leaked */
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	CHECK_EQ(st.nodes_live, live_at_start);
	CHECK_EQ(st.nodes_rcu, 0);

	urcu_memb_unregister_thread();
	return harness_finish();
}
