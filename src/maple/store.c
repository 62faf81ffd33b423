// SPDX-License-Identifier: MIT
/*
 * The writer: every store, erase and NULL store goes through one algorithm.
 *
 * A store of [first, last] replaces, at the leaf level, the run of leaves
 * from the one holding @first to the one holding @last by the content
 * "entries before first, the new entry, entries after last" (NULL pieces
 * coalesced). That content is cut into as few nodes as fit, and the new
 * nodes replace the run in the level above, whose own run (the parents of
 * the first and last nodes) is rebuilt the same way, and so on up. A run
 * whose content falls below MAPLE_NODE_MIN absorbs a neighbour at its level
 * (sibling or cousin); one that overflows pushes into a left sibling with
 * room before splitting. The walk stops at the first level where a single
 * node keeps its pivots and only changes slots: those slot stores are the
 * one point where the new structure becomes visible, so readers in RCU mode
 * see the old tree or the new one, never a mixture. Replacing the root is
 * the same single store into the tree's root pointer.
 *
 * Each store type of the kernel's vocabulary is a case of this: exact fit
 * (same pivots in the leaf: slot store in place), slot store (one node
 * rebuilt: in place outside RCU mode, a copy swapped into the parent in
 * it), append (in place in both modes; see node.h for the RCU protocol),
 * split (two or more nodes), rebalance (a neighbour absorbed), spanning
 * store (first and last in different leaves), new root and height changes
 * at the top.
 *
 * All nodes are taken before anything visible changes. If one cannot be
 * had, the walk goes on counting what it would need (for mas_nomem()), the
 * nodes taken are handed back and the tree is untouched. The same counting
 * walk, run on purpose, is mas_preallocate(): its count is exact.
 */
#include <errno.h>
#include <string.h>

#include "maple/node.h"

#define MT_BIG_SLOTS		64
#define MT_MAX_NEW		(4 * MAPLE_HEIGHT_MAX + 2)

/*
 * Content being distributed into nodes at one level. Internal levels of
 * allocation-range trees carry each child's largest gap too.
 */
struct mt_big {
	unsigned long pivot[MT_BIG_SLOTS];
	void *slot[MT_BIG_SLOTS];
	unsigned long gap[MT_BIG_SLOTS];
	unsigned int n;
	bool gaps;
};

/*
 * One level of a path from the root: a node and where the walk went. The
 * data end is found when first asked for: most levels never need it.
 */
struct mt_level {
	struct maple_node *node;
	unsigned long min, max;
	unsigned char off, end;
};

#define MT_END_UNKNOWN		0xff

static unsigned char level_end(struct mt_level *l)
{
	if (l->end == MT_END_UNKNOWN)
		l->end = mt_node_end(l->node, l->max);
	return l->end;
}

struct mt_new {
	struct maple_node *node;
	unsigned char level, count;
};

enum mt_plan {
	plan_slots,	/* same pivots: store changed slots in place */
	plan_child,	/* one new node replaces its old self in the parent */
	plan_append,	/* new slots after a leaf's end, in place (RCU mode) */
	plan_rewrite,	/* rewrite the top node in place (not RCU mode) */
	plan_root,	/* publish new_root */
};

struct mt_wr {
	struct ma_state *mas;
	struct maple_tree *mt;
	unsigned long first, last;
	void *entry;
	gfp_t gfp;
	bool alloc;			/* the tree tracks gaps */
	unsigned int height;		/* levels, the virtual leaf counting */
	bool counting;			/* an allocation failed (or dry run) */
	unsigned int needed;		/* nodes the store needs in all */
	unsigned int nr_new;
	struct mt_new new[MT_MAX_NEW];
	struct mt_level left[MAPLE_HEIGHT_MAX + 1];
	struct mt_level right[MAPLE_HEIGHT_MAX + 1];
	unsigned long run_min[MAPLE_HEIGHT_MAX + 1];
	unsigned long run_max[MAPLE_HEIGHT_MAX + 1];
	/* The plan, carried out by wr_commit(). */
	enum mt_plan plan;
	unsigned int top;		/* level of the last run handled */
	void *new_root;
	unsigned long new_gap;		/* plan_child: the new node's gap */
	unsigned int new_height;
	struct mt_big top_content;
	/* A tree without nodes is treated as one leaf held here. */
	struct maple_node vnode;
	struct maple_node scratch;
};

/* ---- Nodes reserved in an ma_state -------------------------------------- */

static unsigned int mas_alloc_count(const struct ma_state *mas)
{
	const struct maple_node *node = mas->alloc;
	unsigned int n = 0;

	for (; node; node = node->slot[0])
		n++;
	return n;
}

void mas_release_alloc(struct ma_state *mas)
{
	struct maple_node *node;

	while ((node = mt_list_pop(&mas->alloc)))
		mt_node_free(node);
}

/* Top up the reserve of @mas to @want nodes. Return false if out of memory. */
static bool mas_alloc_fill(struct ma_state *mas, unsigned int want, gfp_t gfp)
{
	unsigned int have = mas_alloc_count(mas);

	for (; have < want; have++) {
		struct maple_node *node = mt_node_alloc(gfp);

		if (!node)
			return false;
		mt_list_push(&mas->alloc, node);
	}
	return true;
}

static struct maple_node *wr_alloc(struct mt_wr *wr, unsigned int level,
				   unsigned int count)
{
	struct maple_node *node = NULL;

	wr->needed++;
	if (wr->counting)
		return &wr->scratch;
	/* A reservation is all a store may use; else preallocated, then new. */
	if (wr->mas->reservation) {
		node = mt_reservation_take(wr->mas->reservation);
	} else {
		node = mt_list_pop(&wr->mas->alloc);
		if (!node)
			node = mt_node_alloc(wr->gfp);
	}
	if (!node) {
		wr->counting = true;
		return &wr->scratch;
	}
	wr->new[wr->nr_new++] = (struct mt_new){ node, level, count };
	return node;
}

/* ---- Paths -------------------------------------------------------------- */

/* Walk from the root for @index, filling @path from the root to @stop. */
static void wr_walk(struct mt_wr *wr, struct mt_level *path,
		    unsigned long index, unsigned int stop)
{
	void *enode = wr->mt->ma_root;
	unsigned long min = 0, max = ULONG_MAX;
	int level;

	for (level = (int)wr->height - 1; level >= (int)stop; level--) {
		struct maple_node *node = mte_to_node(enode);
		unsigned char off;

		mt_prefetch_slots(node);
		off = mt_node_find(node, index);

		path[level] = (struct mt_level){
			node, min, max, off, MT_END_UNKNOWN
		};
		min = mt_slot_min(node, off, min);
		max = mt_slot_max(node, off, max);
		enode = node->slot[off];
	}
}

/* A tree with no nodes becomes a virtual leaf: [0,0] root entry, NULL. */
static void wr_virtual_leaf(struct mt_wr *wr, void *root)
{
	struct maple_node *v = &wr->vnode;
	unsigned char end = 0;

	memset(v, 0, sizeof(*v));
	if (root) {
		v->slot[0] = root;
		end = 1;
	}
	for (unsigned int i = end; i < MAPLE_NODE_PIVOTS; i++)
		v->pivot[i] = ULONG_MAX;
	wr->height = 1;
	wr->left[0] = (struct mt_level){ v, 0, ULONG_MAX, 0, end };
	wr->left[0].off = mt_node_find(v, wr->first);
	wr->right[0] = wr->left[0];
	wr->right[0].off = mt_node_find(v, wr->last);
}

/*
 * A NULL store takes in the NULL ranges it touches in neighbouring leaves,
 * so that empty space never ends one leaf and starts the next: a walk then
 * always reports the whole empty range. Within a leaf, coalescing the
 * content does the same.
 */
static bool wr_widen_null(struct mt_wr *wr)
{
	const struct mt_level *l = &wr->left[0];
	struct mt_level *r = &wr->right[0];
	bool widened = false;

	if (!l->off && l->min == wr->first && l->min) {
		struct mt_level prev[MAPLE_HEIGHT_MAX + 1];

		wr_walk(wr, prev, l->min - 1, 0);
		if (!prev[0].node->slot[prev[0].off]) {
			wr->first = mt_slot_min(prev[0].node, prev[0].off,
						prev[0].min);
			widened = true;
		}
	}
	if (r->max == wr->last && r->max != ULONG_MAX && r->off == level_end(r)) {
		struct mt_level next[MAPLE_HEIGHT_MAX + 1];

		wr_walk(wr, next, r->max + 1, 0);
		if (!next[0].node->slot[next[0].off]) {
			wr->last = mt_slot_max(next[0].node, next[0].off,
					       next[0].max);
			widened = true;
		}
	}
	return widened;
}

/* Walk both paths; a NULL store then widens over neighbouring NULLs. */
static void wr_init_paths(struct mt_wr *wr, bool widen)
{
	void *root = wr->mt->ma_root;

	if (!mt_is_node(root)) {
		wr_virtual_leaf(wr, root);
		return;
	}
	wr->height = mt_tree_height(wr->mt);
	wr_walk(wr, wr->left, wr->first, 0);
	if (wr->last <= wr->left[0].max) {
		memcpy(wr->right, wr->left, sizeof(wr->left[0]) * wr->height);
		wr->right[0].off = mt_node_find(wr->left[0].node, wr->last);
	} else {
		wr_walk(wr, wr->right, wr->last, 0);
	}
	if (widen && !wr->entry && wr_widen_null(wr))
		wr_init_paths(wr, true);
}

/* ---- Content ------------------------------------------------------------ */

static void big_push(struct mt_big *b, unsigned long pivot, void *slot,
		     unsigned long gap)
{
	/* Leaves only: internal slots are never NULL. */
	if (b->n && !slot && !b->slot[b->n - 1]) {
		b->pivot[b->n - 1] = pivot;
		return;
	}
	b->pivot[b->n] = pivot;
	b->slot[b->n] = slot;
	b->gap[b->n] = gap;
	b->n++;
}

/*
 * Append slots [from, to) of the node at @l. Within a node no two NULLs
 * touch, so only the seam with what @b holds may need coalescing.
 */
static void big_copy(struct mt_big *b, const struct mt_level *l,
		     unsigned int from, unsigned int to)
{
	const struct maple_node *node = l->node;
	unsigned int n, pivots;

	if (from >= to)
		return;
	if (b->n && !node->slot[from] && !b->slot[b->n - 1]) {
		b->pivot[b->n - 1] = mt_slot_max(l->node, from, l->max);
		if (++from == to)
			return;
	}
	n = to - from;
	pivots = to > MAPLE_NODE_PIVOTS ? MAPLE_NODE_PIVOTS - from : n;
	memcpy(&b->slot[b->n], &node->slot[from], n * sizeof(b->slot[0]));
	memcpy(&b->pivot[b->n], &node->pivot[from], pivots * sizeof(b->pivot[0]));
	if (b->gaps)
		memcpy(&b->gap[b->n], &node->gap[from], n * sizeof(b->gap[0]));
	if (pivots < n)
		b->pivot[b->n + n - 1] = l->max;
	b->n += n;
}

static void big_prepend_node(struct mt_big *b, struct mt_level *l)
{
	struct mt_big tmp;
	unsigned int i;

	tmp.n = 0;
	tmp.gaps = b->gaps;
	big_copy(&tmp, l, 0, level_end(l) + 1U);
	/* Pushed one by one so NULLs meeting at the seam coalesce. */
	for (i = 0; i < b->n; i++)
		big_push(&tmp, b->pivot[i], b->slot[i], b->gap[i]);
	*b = tmp;
}

static void wr_leaf_content(struct mt_wr *wr, struct mt_big *b)
{
	const struct mt_level *l = &wr->left[0];
	struct mt_level *r = &wr->right[0];

	big_copy(b, l, 0, l->off);
	if (mt_slot_min(l->node, l->off, l->min) < wr->first)
		big_push(b, wr->first - 1, l->node->slot[l->off], 0);
	big_push(b, wr->last, wr->entry, 0);
	if (mt_slot_max(r->node, r->off, r->max) > wr->last)
		big_push(b, mt_slot_max(r->node, r->off, r->max),
			 r->node->slot[r->off], 0);
	big_copy(b, r, r->off + 1U, level_end(r) + 1U);
}

static void wr_internal_content(struct mt_wr *wr, unsigned int level,
				const struct mt_big *below, struct mt_big *b)
{
	const struct mt_level *l = &wr->left[level];
	struct mt_level *r = &wr->right[level];
	unsigned int i;

	big_copy(b, l, 0, l->off);
	for (i = 0; i < below->n; i++)
		big_push(b, below->pivot[i], below->slot[i], below->gap[i]);
	big_copy(b, r, r->off + 1U, level_end(r) + 1U);
}

/* ---- Decisions ---------------------------------------------------------- */

/* The most slots a node at @level holds, and the fewest it may keep. */
static unsigned int wr_slots(const struct mt_wr *wr, unsigned int level)
{
	return level && wr->alloc ? MAPLE_ARANGE_SLOTS : MAPLE_NODE_SLOTS;
}

static unsigned int wr_min(const struct mt_wr *wr, unsigned int level)
{
	return level && wr->alloc ? MAPLE_ARANGE_MIN : MAPLE_NODE_MIN;
}

static bool wr_single(const struct mt_wr *wr, unsigned int level)
{
	return wr->left[level].node == wr->right[level].node;
}

static bool wr_whole(const struct mt_wr *wr, unsigned int level)
{
	return wr->left[level].min == 0 && wr->right[level].max == ULONG_MAX;
}

/*
 * Does @b only add slots after the leaf's end, the old last slot keeping
 * its entry with a lower bound? Then readers may watch it happen in place.
 */
static bool wr_appends(struct mt_level *l, const struct mt_big *b)
{
	unsigned int end = level_end(l), i;

	if (b->n <= end + 1 || b->n > MAPLE_NODE_SLOTS ||
	    b->slot[end] != l->node->slot[end])
		return false;
	for (i = 0; i < end; i++)
		if (b->pivot[i] != l->node->pivot[i] ||
		    b->slot[i] != l->node->slot[i])
			return false;
	return true;
}

static bool wr_same_pivots(struct mt_level *l, const struct mt_big *b)
{
	unsigned int i;

	if (b->n != level_end(l) + 1U)
		return false;
	for (i = 0; i + 1 < b->n; i++)
		if (b->pivot[i] != l->node->pivot[i])
			return false;
	return true;
}

/*
 * Bring a run that is too small up to size by absorbing a neighbour, or let
 * one that is too big push into its left sibling instead of splitting. The
 * rightmost node of a level may stay small: appends then fill nodes fully.
 */
static void wr_balance(struct mt_wr *wr, unsigned int level, struct mt_big *b)
{
	struct mt_level *l = &wr->left[level], *r = &wr->right[level];
	const struct mt_level *lp = &wr->left[level + 1];
	struct mt_level *rp = &wr->right[level + 1];
	unsigned int slots = wr_slots(wr, level);

	if (b->n < wr_min(wr, level) && r->max != ULONG_MAX) {
		if (lp->off > 0 || (rp->off == level_end(rp) && l->min > 0)) {
			wr_walk(wr, wr->left, l->min - 1, level);
			big_prepend_node(b, l);
		} else {
			wr_walk(wr, wr->right, r->max + 1, level);
			big_copy(b, r, 0, level_end(r) + 1U);
		}
	} else if (b->n > slots && lp->off > 0) {
		struct mt_level sib;

		sib.node = mte_to_node(lp->node->slot[lp->off - 1]);
		sib.max = l->min - 1;
		sib.end = mt_node_end(sib.node, sib.max);
		if (sib.end + 1U + b->n <= 2 * slots) {
			wr_walk(wr, wr->left, l->min - 1, level);
			big_prepend_node(b, l);
		}
	}
}

/* Cut @n slots into nodes of at most @slots; return how many nodes. */
static unsigned int wr_split(unsigned int n, unsigned int slots,
			     bool right_edge, unsigned int *sizes)
{
	unsigned int k, i;

	if (n <= slots) {
		sizes[0] = n;
		return 1;
	}
	if (right_edge) {
		for (k = 0; n > slots; n -= slots)
			sizes[k++] = slots;
		sizes[k++] = n;
		return k;
	}
	k = (n + slots - 1) / slots;
	for (i = 0; i < k; i++)
		sizes[i] = n / k + (i < n % k);
	return k;
}

static void node_fill(struct maple_node *node, const struct mt_big *b,
		      unsigned int from, unsigned int count)
{
	unsigned int j, pivots = count < MAPLE_NODE_PIVOTS ? count :
				 MAPLE_NODE_PIVOTS;

	memcpy(node->slot, &b->slot[from], count * sizeof(node->slot[0]));
	memset(&node->slot[count], 0,
	       (MAPLE_NODE_SLOTS - count) * sizeof(node->slot[0]));
	memcpy(node->pivot, &b->pivot[from], pivots * sizeof(node->pivot[0]));
	for (j = pivots; j < MAPLE_NODE_PIVOTS; j++)
		node->pivot[j] = b->pivot[from + count - 1];
	if (b->gaps)
		memcpy(node->gap, &b->gap[from], count * sizeof(node->gap[0]));
}

/* The largest gap under the node that slots [from, from + count) make. */
static unsigned long big_gap(const struct mt_big *b, unsigned int from,
			     unsigned int count, unsigned long min)
{
	if (b->gaps)
		return mt_gaps_max(&b->gap[from], count);
	return mt_slots_gap(&b->pivot[from], &b->slot[from], count, min,
			    b->pivot[from + count - 1]);
}

/* Build nodes at @level from @b; describe them in @out for the level up. */
static void wr_build(struct mt_wr *wr, unsigned int level,
		     const struct mt_big *b, const unsigned int *sizes,
		     unsigned int k, struct mt_big *out)
{
	enum maple_type type = !level ? maple_leaf_64 :
			       wr->alloc ? maple_arange_64 : maple_range_64;
	unsigned long min = level ? 0 : wr->run_min[0];
	unsigned int i, from = 0;

	out->n = 0;
	out->gaps = wr->alloc;
	for (i = 0; i < k; i++) {
		struct maple_node *node = wr_alloc(wr, level, sizes[i]);

		node_fill(node, b, from, sizes[i]);
		if (wr->alloc)
			out->gap[out->n] = big_gap(b, from, sizes[i], min);
		from += sizes[i];
		out->pivot[out->n] = b->pivot[from - 1];
		out->slot[out->n++] = mt_mk_enode(node, type);
		min = b->pivot[from - 1] + 1;
	}
}

static void wr_record_run(struct mt_wr *wr, unsigned int level)
{
	wr->run_min[level] = wr->left[level].min;
	wr->run_max[level] = wr->right[level].max;
}

/*
 * Can the run at @level, one real node whose new content @b fits it, be
 * changed where it stands? Outside RCU mode always; in RCU mode only an
 * append to a leaf (see node.h).
 */
static bool wr_plan_in_place(struct mt_wr *wr, unsigned int level,
			     const struct mt_big *b, unsigned int k)
{
	struct mt_level *l = &wr->left[level];

	if (k != 1 || !wr_single(wr, level) || l->node == &wr->vnode)
		return false;
	if (!mt_rcu_mode(wr->mt))
		wr->plan = plan_rewrite;
	else if (!level && wr_appends(l, b))
		wr->plan = plan_append;
	else
		return false;
	return true;
}

/*
 * Decide, level by level, what the store does; allocate the new nodes but
 * change nothing visible.
 */
static void wr_plan(struct mt_wr *wr)
{
	struct mt_big *b = &wr->top_content;
	struct mt_big below;
	unsigned int sizes[MT_BIG_SLOTS];
	unsigned int level, k;

	below.n = 0;
	for (level = 0;; level++) {
		bool whole;

		b->n = 0;
		b->gaps = level && wr->alloc;
		if (level)
			wr_internal_content(wr, level, &below, b);
		else
			wr_leaf_content(wr, b);
		wr->top = level;
		if (!wr_whole(wr, level))
			wr_balance(wr, level, b);
		wr_record_run(wr, level);
		whole = wr_whole(wr, level);
		if (whole && b->n == 1 && (level || !b->slot[0])) {
			/* The level shrank to one slot: drop a level. */
			wr->plan = plan_root;
			wr->new_root = level ? b->slot[0] : NULL;
			wr->new_height = level;
			break;
		}
		if (wr_single(wr, level) && wr->left[level].node != &wr->vnode &&
		    wr_same_pivots(&wr->left[level], b)) {
			wr->plan = plan_slots;
			return;
		}
		k = wr_split(b->n, wr_slots(wr, level),
			     wr->right[level].max == ULONG_MAX, sizes);
		if (wr_plan_in_place(wr, level, b, k))
			return;
		wr_build(wr, level, b, sizes, k, &below);
		if (k == 1 && wr_single(wr, level) && !whole) {
			/* Same range as the node it replaces: swap the pointer. */
			wr->plan = plan_child;
			wr->new_root = below.slot[0];
			wr->new_gap = wr->alloc ? below.gap[0] : 0;
			return;
		}
		if (whole) {
			if (k > 1) {
				/* The root split: grow a level. */
				struct mt_big children = below;

				wr_build(wr, level + 1, &children, &children.n, 1,
					 &below);
				level++;
			}
			wr->plan = plan_root;
			wr->new_root = below.slot[0];
			wr->new_height = level + 1;
			break;
		}
	}
	/* Every level above a whole-level run is replaced too. */
	for (level = wr->top + 1; level < wr->height; level++) {
		wr->run_min[level] = 0;
		wr->run_max[level] = ULONG_MAX;
	}
	wr->top = wr->height - 1;
}

/* ---- Commit ------------------------------------------------------------- */

static void wr_adopt(struct maple_node *node, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		mt_write(mte_to_node(node->slot[i])->parent,
			 mt_parent_word(node, i));
}

/* Does the node at @level covering [min, max] belong to that level's run? */
static bool wr_in_run(const struct mt_wr *wr, unsigned int level,
		      unsigned long min, unsigned long max)
{
	return min >= wr->run_min[level] && max <= wr->run_max[level];
}

/* Free the run below (and with) @node, as recorded per level. */
static void wr_free_run(struct mt_wr *wr, struct maple_node *node,
			unsigned int level, unsigned long min, unsigned long max)
{
	if (node == &wr->vnode)
		return;
	if (level) {
		unsigned char end = mt_node_end(node, max);
		unsigned char i;

		for (i = 0; i <= end; i++) {
			unsigned long cmin = mt_slot_min(node, i, min);
			unsigned long cmax = mt_slot_max(node, i, max);

			if (wr_in_run(wr, level - 1, cmin, cmax))
				wr_free_run(wr, mte_to_node(node->slot[i]),
					    level - 1, cmin, cmax);
		}
	}
	mt_node_retire(wr->mt, node);
}

/* Old children of the top node that the plan replaces (for freeing). */
struct mt_old {
	struct maple_node *node[MAPLE_NODE_SLOTS];
	unsigned long min[MAPLE_NODE_SLOTS], max[MAPLE_NODE_SLOTS];
	unsigned int n;
};

static void wr_old_children(struct mt_wr *wr, struct mt_old *old)
{
	const struct mt_level *t = &wr->left[wr->top];
	unsigned int i;

	old->n = 0;
	if (!wr->top)
		return;
	for (i = t->off; i <= wr->right[wr->top].off; i++) {
		unsigned long min = mt_slot_min(t->node, i, t->min);
		unsigned long max = mt_slot_max(t->node, i, t->max);

		if (!wr_in_run(wr, wr->top - 1, min, max))
			continue;
		old->node[old->n] = mte_to_node(t->node->slot[i]);
		old->min[old->n] = min;
		old->max[old->n++] = max;
	}
}

/*
 * The node below the one at @level of the left path now has @gap as its
 * largest gap: record it there and in the ancestors it changes. Readers
 * under RCU take gaps only as hints, so they are updated in place.
 */
static void wr_gap_up(struct mt_wr *wr, unsigned int level, unsigned long gap)
{
	for (; level < wr->height; level++) {
		struct mt_level *p = &wr->left[level];

		if (p->node->gap[p->off] == gap)
			return;
		mt_write(p->node->gap[p->off], gap);
		gap = mt_gaps_max(p->node->gap, level_end(p) + 1U);
	}
}

/* After an in-place plan at @top: its node's largest gap, passed up. */
static void wr_gap_in_place(struct mt_wr *wr, unsigned int top)
{
	struct mt_level *t = &wr->left[top];
	unsigned int n = wr->top_content.n;
	unsigned long gap;

	if (top)
		gap = mt_gaps_max(t->node->gap, n);
	else
		gap = mt_slots_gap(t->node->pivot, t->node->slot, n, t->min,
				   t->max);
	wr_gap_up(wr, top + 1, gap);
}

static void wr_commit(struct mt_wr *wr)
{
	struct maple_tree *mt = wr->mt;
	struct mt_level *t = &wr->left[wr->top];
	struct mt_big *b = &wr->top_content;
	struct mt_old old;
	unsigned int i;

	for (i = 0; i < wr->nr_new; i++)
		if (wr->new[i].level)
			wr_adopt(wr->new[i].node, wr->new[i].count);

	switch (wr->plan) {
	case plan_child: {
		const struct mt_level *p = &wr->left[wr->top + 1];

		old.n = 1;
		old.node[0] = t->node;
		old.min[0] = t->min;
		old.max[0] = t->max;
		mt_write(mte_to_node(wr->new_root)->parent,
			 mt_parent_word(p->node, p->off));
		mt_publish(p->node->slot[p->off], wr->new_root);
		wr->top++;
		if (wr->alloc)
			wr_gap_up(wr, wr->top, wr->new_gap);
		break;
	}
	case plan_append: {
		unsigned int end = level_end(t);

		old.n = 0;
		for (i = end + 1; i < b->n; i++)
			mt_write(t->node->slot[i], b->slot[i]);
		/* Highest first: a reader that sees a bound sees those above. */
		for (i = b->n - 1; i-- > end;)
			mt_publish(t->node->pivot[i], b->pivot[i]);
		if (wr->alloc)
			wr_gap_in_place(wr, wr->top);
		break;
	}
	case plan_slots:
		wr_old_children(wr, &old);
		for (i = 0; i < b->n; i++) {
			if (t->node->slot[i] == b->slot[i])
				continue;
			if (wr->top)
				mt_write(mte_to_node(b->slot[i])->parent,
					 mt_parent_word(t->node, i));
			mt_publish(t->node->slot[i], b->slot[i]);
		}
		if (wr->alloc) {
			for (i = 0; b->gaps && i < b->n; i++)
				mt_write(t->node->gap[i], b->gap[i]);
			wr_gap_in_place(wr, wr->top);
		}
		break;
	case plan_rewrite:
		wr_old_children(wr, &old);
		node_fill(t->node, b, 0, b->n);
		if (wr->top)
			wr_adopt(t->node, b->n);
		if (wr->alloc)
			wr_gap_in_place(wr, wr->top);
		break;
	default: {
		void *old_root = mt->ma_root;

		old.n = 1;
		old.node[0] = wr->left[wr->height - 1].node;
		old.min[0] = 0;
		old.max[0] = ULONG_MAX;
		if (mt_is_node(wr->new_root))
			mt_write(mte_to_node(wr->new_root)->parent,
				 mt_root_parent_word(mt));
		mt_publish(mt->ma_root, wr->new_root);
		mt_tree_root_changed(mt, old_root);
		mt_set_height(mt, wr->new_height);
		/* The old root's level is freed whole; so is the top. */
		wr->top = wr->height;
		break;
	}
	}
	for (i = 0; i < old.n; i++)
		wr_free_run(wr, old.node[i], wr->top - 1, old.min[i], old.max[i]);
}

/* Hand back the nodes a store that could not finish had taken. */
static void wr_rollback(struct mt_wr *wr)
{
	unsigned int i;

	for (i = 0; i < wr->nr_new; i++) {
		if (wr->mas->reservation)
			mt_reservation_give(wr->mas->reservation,
					    wr->new[i].node);
		else
			mt_list_push(&wr->mas->alloc, wr->new[i].node);
	}
	wr->nr_new = 0;
}

/* ---- Entry points ------------------------------------------------------- */

/*
 * A tree without nodes that stores a single entry at index 0 keeps it in
 * the root pointer, unless the entry looks like a node pointer.
 */
static bool wr_root_entry(struct mt_wr *wr, bool dry_run)
{
	struct maple_tree *mt = wr->mt;

	if (mt_is_node(mt->ma_root) || wr->first || wr->last ||
	    !wr->entry || mt_is_node(wr->entry))
		return false;
	if (!dry_run)
		mt_publish(mt->ma_root, wr->entry);
	return true;
}

/*
 * For an insert: true if [first, last] holds anything, a reserved range
 * included. The leaf slot under @first answers at once unless it is a NULL
 * range ending before @last.
 */
static bool wr_occupied(struct mt_wr *wr)
{
	const struct mt_level *l = &wr->left[0];

	if (l->node->slot[l->off])
		return true;
	if (mt_slot_max(l->node, l->off, l->max) >= wr->last)
		return false;
	return mt_find_any(wr->mt, wr->first, wr->last);
}

/*
 * The store covers exactly one slot of a real leaf and leaves every pivot
 * as it is, so the slot is written in place, in RCU mode too: a reader
 * sees the old entry or the new. A NULL must have non-NULL neighbours in
 * the same leaf; one next to a NULL, or at a leaf's edge, has to merge and
 * takes the general path. Needs no node. Return: true if done (or, on a
 * dry run, if it could be).
 */
static bool wr_exact_fit(struct mt_wr *wr, bool dry_run)
{
	struct mt_level *l = &wr->left[0];
	struct maple_node *node = l->node;
	unsigned char off = l->off;
	void *old;

	if (node == &wr->vnode || wr->right[0].node != node ||
	    wr->right[0].off != off ||
	    mt_slot_min(node, off, l->min) != wr->first ||
	    mt_slot_max(node, off, l->max) != wr->last)
		return false;
	if (!wr->entry && (!off || off == level_end(l) ||
			   !node->slot[off - 1] || !node->slot[off + 1]))
		return false;
	if (dry_run)
		return true;
	old = node->slot[off];
	mt_publish(node->slot[off], wr->entry);
	if (wr->alloc && !old != !wr->entry)
		wr_gap_up(wr, 1, mt_slots_gap(node->pivot, node->slot,
					      level_end(l) + 1U, l->min,
					      l->max));
	return true;
}

/* With MT_STORE_ERASE: the store covers exactly the range under @first. */
static bool wr_erase_range(struct mt_wr *wr)
{
	const struct mt_level *l = &wr->left[0];

	if (!l->node->slot[l->off])
		return false;
	wr->first = mt_slot_min(l->node, l->off, l->min);
	wr->last = mt_slot_max(l->node, l->off, l->max);
	/* One slot: the path to first is the path to last. */
	memcpy(wr->right, wr->left, sizeof(wr->left[0]) * wr->height);
	if (wr_widen_null(wr))
		wr_init_paths(wr, true);
	return true;
}

/*
 * Store @entry over [first, last] through @mas; with MT_STORE_INSERT only
 * if the span is empty; with MT_STORE_ERASE over the whole range holding
 * @first instead (nothing if it is empty); with MT_STORE_DRY only count the
 * nodes needed; with MT_STORE_EXACT only in place over exactly one slot.
 * *@found is set to what was stored at @first before.
 * Return 0, -EEXIST, -EBUSY (not exact), or -ENOMEM (tree unchanged;
 * *@needed then says how many nodes the store needs).
 */
static int mt_store(struct ma_state *mas, unsigned long first,
		    unsigned long last, void *entry, gfp_t gfp,
		    unsigned int flags, unsigned int *needed, void **found)
{
	bool dry_run = flags & MT_STORE_DRY;
	struct mt_wr *wr, stack_wr;

	wr = &stack_wr;
	wr->mas = mas;
	wr->mt = mas->tree;
	wr->first = first;
	wr->last = last;
	wr->entry = entry;
	wr->gfp = gfp;
	wr->alloc = mt_alloc_tree(wr->mt);
	wr->counting = dry_run;
	wr->needed = 0;
	wr->nr_new = 0;
	wr->new_root = NULL;
	if (needed)
		*needed = 0;
	*found = mt_is_node(wr->mt->ma_root) || first ? NULL : wr->mt->ma_root;
	if ((flags & MT_STORE_INSERT) && *found)
		return -EEXIST;
	if ((flags & MT_STORE_EXACT) && !mt_is_node(wr->mt->ma_root))
		return -EBUSY;
	if (wr_root_entry(wr, dry_run))
		return 0;
	if (!dry_run && mt_rcu_mode(wr->mt))
		mt_node_prefetch();	/* the copy below will write it */
	wr_init_paths(wr, false);
	*found = wr->left[0].node->slot[wr->left[0].off];
	if ((flags & MT_STORE_INSERT) && wr_occupied(wr))
		return -EEXIST;
	if (!(flags & MT_STORE_ERASE) && wr_exact_fit(wr, dry_run))
		return 0;
	if (flags & MT_STORE_EXACT)
		return -EBUSY;
	if (flags & MT_STORE_ERASE) {
		if (!wr_erase_range(wr))
			return 0;
	} else if (!entry && wr_widen_null(wr)) {
		wr_init_paths(wr, true);
	}
	wr_plan(wr);
	if (needed)
		*needed = wr->needed;
	if (wr->counting) {
		wr_rollback(wr);
		return dry_run ? 0 : -ENOMEM;
	}
	wr_commit(wr);
	return 0;
}

int mt_store_range(struct ma_state *mas, unsigned long first,
		   unsigned long last, void *entry, gfp_t gfp, unsigned int flags,
		   void **found)
{
	unsigned int needed;
	void *ignored;
	int ret;

	if (!mas->tree || first > last || mt_entry_reserved(entry))
		return -EINVAL;
	mt_assert_locked(mas->tree, __func__);
	ret = mt_store(mas, first, last, entry, gfp, flags, &needed,
		       found ? found : &ignored);
	if (ret == -EEXIST || ret == -EBUSY)
		return ret;
	if (ret == -ENOMEM) {
		mas_set_err(mas, ret);
		mas->depth = (unsigned char)(needed > 255 ? 255 : needed);
		return ret;
	}
	/* Active at the stored range; the next move walks from the root. */
	mas->index = first;
	mas->last = last;
	mas->node = NULL;
	mas->status = ma_active;
	return 0;
}

int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp)
{
	int ret = mt_store_range(mas, mas->index, mas->last, entry, gfp, 0,
				 NULL);

	mas_release_alloc(mas);
	return ret;
}

int mas_store_exact(struct ma_state *mas, void *entry)
{
	return mt_store_range(mas, mas->index, mas->last, entry, GFP_NOWAIT,
			      MT_STORE_EXACT, NULL);
}

void *mas_store(struct ma_state *mas, void *entry)
{
	unsigned long first = mas->index, last = mas->last;
	void *old;

	if (!mas->tree || first > last || mt_entry_reserved(entry)) {
		mas_set_err(mas, -EINVAL);
		return NULL;
	}
	if (mt_store_range(mas, first, last, entry, GFP_NOWAIT, 0, &old))
		return NULL;
	return old;
}

int mas_preallocate(struct ma_state *mas, void *entry, gfp_t gfp)
{
	unsigned int needed;

	if (!mas->tree || mas->index > mas->last || mt_entry_reserved(entry))
		return -EINVAL;
	void *ignored;

	mt_store(mas, mas->index, mas->last, entry, gfp, MT_STORE_DRY, &needed,
		 &ignored);
	if (!mas_alloc_fill(mas, needed, gfp)) {
		mas_release_alloc(mas);
		mas_set_err(mas, -ENOMEM);
		return -ENOMEM;
	}
	return 0;
}

void mas_store_prealloc(struct ma_state *mas, void *entry)
{
	mt_store_range(mas, mas->index, mas->last, entry, GFP_NOWAIT, 0, NULL);
	mas_release_alloc(mas);
}

unsigned long mas_allocated(const struct ma_state *mas)
{
	return mas_alloc_count(mas);
}

void mas_destroy(struct ma_state *mas)
{
	mas_release_alloc(mas);
}

bool mas_nomem(struct ma_state *mas, gfp_t gfp)
{
	struct maple_tree *mt = mas->tree;
	bool unlock;
	bool ok;

	/* A reservation is all a store may use: there is no more to get. */
	if (mas->status != ma_error || xa_err(mas->node) != -ENOMEM ||
	    mas->reservation)
		return false;
	unlock = (gfp & __GFP_DIRECT_RECLAIM) &&
		 !mt_external_locked(mt);
	if (unlock)
		mtree_unlock(mt);
	ok = mas_alloc_fill(mas, mas->depth, gfp);
	if (unlock)
		mtree_lock(mt);
	if (!ok)
		return false;
	/* The tree may have changed while unlocked: walk again. */
	mas->node = NULL;
	mas->status = ma_start;
	return true;
}

void *mas_erase(struct ma_state *mas)
{
	unsigned long index = mas->index;
	void *entry = NULL;
	int ret;

	do {
		ret = mt_store_range(mas, index, index, NULL, GFP_KERNEL,
				     MT_STORE_ERASE, &entry);
	} while (ret == -ENOMEM && mas_nomem(mas, GFP_KERNEL));
	mas_release_alloc(mas);
	if (ret)
		return NULL;
	mas->index = index;
	mas->last = index;
	mas->status = ma_start;
	return entry;
}
