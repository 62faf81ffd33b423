// SPDX-License-Identifier: MIT
/*
 * Gap search and range allocation.
 *
 * A search is a depth-first walk over the nodes that overlap the window,
 * in index order (or reverse), that stops at the first NULL range where a
 * span fits. In allocation-range trees a child whose largest gap is
 * smaller than the size is skipped whole, so only the two paths along the
 * window's edges can be walked in vain: O(log n). Other trees have no gap
 * values and every leaf in the window may be read.
 *
 * Under the RCU read lock alone a node may die while it is searched; the
 * search then starts again, as a reader's walk does.
 */
#include <errno.h>

#include "maple/node.h"

struct gap_request {
	unsigned long min, max;		/* the window */
	unsigned long size;
	unsigned long align;		/* a power of two */
	unsigned long boundary;		/* 0, or a power of two >= size */
	bool rev;			/* the highest span, not the lowest */
};

struct gap_search {
	struct gap_request req;
	unsigned long start;		/* the answer */
};

static bool gap_crosses(const struct gap_request *req, unsigned long start)
{
	return req->boundary &&
	       (start ^ (start + req->size - 1)) & ~(req->boundary - 1);
}

/* Lowest start in the free range [lo, hi] that meets every constraint. */
static bool gap_fit_low(const struct gap_request *req, unsigned long lo,
			unsigned long hi, unsigned long *startp)
{
	unsigned long start = (lo + req->align - 1) & ~(req->align - 1);

	if (start < lo || start > hi || hi - start < req->size - 1)
		return false;
	if (gap_crosses(req, start)) {
		/* Only when align < boundary: the next multiple is aligned. */
		start = (start | (req->boundary - 1)) + 1;
		if (!start || start > hi || hi - start < req->size - 1)
			return false;
	}
	*startp = start;
	return true;
}

/* Highest start in the free range [lo, hi] that meets every constraint. */
static bool gap_fit_high(const struct gap_request *req, unsigned long lo,
			 unsigned long hi, unsigned long *startp)
{
	unsigned long start, cut;

	if (hi - lo < req->size - 1)
		return false;
	start = (hi - (req->size - 1)) & ~(req->align - 1);
	if (start < lo)
		return false;
	if (gap_crosses(req, start)) {
		/* End just below the boundary crossed; no other is then. */
		cut = (start + req->size - 1) & ~(req->boundary - 1);
		start = (cut - req->size) & ~(req->align - 1);
		if (start < lo)
			return false;
	}
	*startp = start;
	return true;
}

/* Try the free range [lo, hi], clipped to the window; set *@startp. */
static bool gap_fit(const struct gap_request *req, unsigned long lo,
		    unsigned long hi, unsigned long *startp)
{
	if (lo < req->min)
		lo = req->min;
	if (hi > req->max)
		hi = req->max;
	if (lo > hi)
		return false;
	if (req->rev)
		return gap_fit_high(req, lo, hi, startp);
	return gap_fit_low(req, lo, hi, startp);
}

/*
 * Could child @i of @node, covering [lo, hi], hold the span? Not if its
 * largest gap (where the node records gaps) is too small. An aligned span
 * fits only where the child's whole range would hold it: with a large
 * alignment that passes over most leaves unread.
 */
static bool gap_may_fit(const struct gap_request *req, void *enode,
			unsigned char i, unsigned long lo, unsigned long hi)
{
	unsigned long start;

	if (mte_type(enode) == maple_arange_64 &&
	    mt_read(mte_to_node(enode)->gap[i]) < req->size)
		return false;
	if (req->align == 1 && !req->boundary)
		return true;
	return gap_fit(req, lo, hi, &start);
}

/*
 * Search the subtree at @enode, which covers [min, max]. Return 1 if a span
 * was found, 0 if none fits, -EAGAIN if a node died under the search.
 */
static int gap_search_node(struct gap_search *s, void *enode,
			   unsigned long min, unsigned long max)
{
	const struct gap_request *req = &s->req;
	struct maple_node *node = mte_to_node(enode);
	bool leaf = mte_is_leaf(enode);
	unsigned char first = 0, last, i;
	int ret;

	/* Slots and gaps are read right after the pivots: overlap the misses. */
	mt_prefetch_slots(node);
	if (min < req->min)
		first = mt_node_find(node, req->min);
	if (max > req->max)
		last = mt_node_find(node, req->max);
	else
		last = mt_node_end(node, max);
	/* Downward, i wraps past 0 to 255 and leaves the loop. */
	for (i = req->rev ? last : first; i >= first && i <= last;
	     i = req->rev ? i - 1 : i + 1) {
		unsigned long lo = mt_slot_min(node, i, min);
		unsigned long hi = mt_slot_max(node, i, max);
		void *slot = mt_read(node->slot[i]);

		if (leaf) {
			if (!slot && gap_fit(req, lo, hi, &s->start))
				return mt_node_dead(node) ? -EAGAIN : 1;
			continue;
		}
		if (!gap_may_fit(req, enode, i, lo, hi))
			continue;
		if (mt_node_dead(node))
			return -EAGAIN;
		ret = gap_search_node(s, slot, lo, hi);
		if (ret)
			return ret;
	}
	return mt_node_dead(node) ? -EAGAIN : 0;
}

static int gap_search_tree(struct maple_tree *mt, struct gap_search *s)
{
	void *root;
	int ret;

	do {
		root = mt_root(mt);
		if (!mt_is_node(root)) {
			/* Everything is free, or all but the entry at 0. */
			return gap_fit(&s->req, root ? 1 : 0, ULONG_MAX,
				       &s->start);
		}
		ret = gap_search_node(s, root, 0, ULONG_MAX);
	} while (ret == -EAGAIN);
	return ret;
}

/* Check the request, search, and leave the span found in @mas. */
static int mas_gap_search(struct ma_state *mas, const struct gap_request *req)
{
	struct gap_search s = { .req = *req };

	if (!mas->tree || req->min > req->max || !req->size ||
	    req->max - req->min < req->size - 1 || !req->align ||
	    (req->align & (req->align - 1)) ||
	    (req->boundary && ((req->boundary & (req->boundary - 1)) ||
			       req->boundary < req->size)))
		return -EINVAL;
	if (!gap_search_tree(mas->tree, &s))
		return -EBUSY;
	/* The next store through @mas fills the span; it walks afresh. */
	mas->index = s.start;
	mas->last = s.start + req->size - 1;
	mas->node = NULL;
	mas->status = ma_active;
	return 0;
}

int mas_empty_area(struct ma_state *mas, unsigned long min, unsigned long max,
		   unsigned long size)
{
	struct gap_request req = { min, max, size, 1, 0, false };

	return mas_gap_search(mas, &req);
}

int mas_empty_area_rev(struct ma_state *mas, unsigned long min,
		       unsigned long max, unsigned long size)
{
	struct gap_request req = { min, max, size, 1, 0, true };

	return mas_gap_search(mas, &req);
}

int mas_empty_area_aligned(struct ma_state *mas, unsigned long min,
			   unsigned long max, unsigned long size,
			   unsigned long align, unsigned long boundary)
{
	struct gap_request req = { min, max, size, align, boundary, false };

	return mas_gap_search(mas, &req);
}

int mas_empty_area_rev_aligned(struct ma_state *mas, unsigned long min,
			       unsigned long max, unsigned long size,
			       unsigned long align, unsigned long boundary)
{
	struct gap_request req = { min, max, size, align, boundary, true };

	return mas_gap_search(mas, &req);
}

/* ---- Allocation ---------------------------------------------------------- */

/*
 * With the lock held: search, then store @entry over the span found. If the
 * store needs memory, mas_nomem() may drop the lock to get it, so the
 * search runs again before the next try.
 */
static int mas_alloc_span(struct ma_state *mas, const struct gap_request *req,
			  void *entry, gfp_t gfp)
{
	int ret;

	do {
		ret = mas_gap_search(mas, req);
		if (ret)
			break;
		ret = mt_store_range(mas, mas->index, mas->last, entry, gfp, 0,
				     NULL);
	} while (ret == -ENOMEM && mas_nomem(mas, gfp));
	mas_release_alloc(mas);
	return ret;
}

static int mt_alloc_span(struct maple_tree *mt, unsigned long *startp,
			 void *entry, const struct gap_request *req, gfp_t gfp)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (!mt || !startp || !mt_alloc_tree(mt) || mt_is_reserved(entry))
		return -EINVAL;
	mt_normal_lock(mt);
	ret = mas_alloc_span(&mas, req, entry, gfp);
	mt_normal_unlock(mt);
	if (!ret)
		*startp = mas.index;
	return ret;
}

int mtree_alloc_range(struct maple_tree *mt, unsigned long *startp,
		      void *entry, unsigned long size, unsigned long min,
		      unsigned long max, gfp_t gfp)
{
	struct gap_request req = { min, max, size, 1, 0, false };

	return mt_alloc_span(mt, startp, entry, &req, gfp);
}

int mtree_alloc_rrange(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long size, unsigned long min,
		       unsigned long max, gfp_t gfp)
{
	struct gap_request req = { min, max, size, 1, 0, true };

	return mt_alloc_span(mt, startp, entry, &req, gfp);
}

int mtree_alloc_range_aligned(struct maple_tree *mt, unsigned long *startp,
			      void *entry, unsigned long size,
			      unsigned long align, unsigned long boundary,
			      unsigned long min, unsigned long max, gfp_t gfp)
{
	struct gap_request req = { min, max, size, align, boundary, false };

	return mt_alloc_span(mt, startp, entry, &req, gfp);
}

int mtree_alloc_rrange_aligned(struct maple_tree *mt, unsigned long *startp,
			       void *entry, unsigned long size,
			       unsigned long align, unsigned long boundary,
			       unsigned long min, unsigned long max, gfp_t gfp)
{
	struct gap_request req = { min, max, size, align, boundary, true };

	return mt_alloc_span(mt, startp, entry, &req, gfp);
}

int mas_alloc_cyclic(struct ma_state *mas, unsigned long *startp, void *entry,
		     unsigned long range_lo, unsigned long range_hi,
		     unsigned long *next, gfp_t gfp)
{
	struct gap_request req = { range_lo, range_hi, 1, 1, 0, false };
	struct maple_tree *mt = mas->tree;
	int wrapped, ret = -EBUSY;

	if (!mt || !startp || !next || mt_is_reserved(entry) ||
	    range_lo > range_hi)
		return -EINVAL;
	/* Handing out ULONG_MAX left *next at 0: that was a wrap too. */
	wrapped = mt->ma_flags & MT_FLAGS_ALLOC_WRAPPED ? 1 : 0;
	if (*next > range_lo)
		req.min = *next;
	if (req.min <= range_hi)
		ret = mas_alloc_span(mas, &req, entry, gfp);
	if (ret == -EBUSY && req.min > range_lo) {
		req.min = range_lo;
		ret = mas_alloc_span(mas, &req, entry, gfp);
		wrapped = 1;
	}
	if (ret)
		return ret;
	*startp = mas->index;
	*next = *startp + 1;
	mt_flags_update(mt, MT_FLAGS_ALLOC_WRAPPED,
			*next ? 0 : MT_FLAGS_ALLOC_WRAPPED);
	return wrapped;
}

int mtree_alloc_cyclic(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long range_lo,
		       unsigned long range_hi, unsigned long *next, gfp_t gfp)
{
	MA_STATE(mas, mt, 0, 0);
	int ret;

	if (!mt || !mt_alloc_tree(mt))
		return -EINVAL;
	mt_normal_lock(mt);
	ret = mas_alloc_cyclic(&mas, startp, entry, range_lo, range_hi, next,
			       gfp);
	mt_normal_unlock(mt);
	return ret;
}
