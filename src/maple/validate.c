// SPDX-License-Identifier: MIT
/* mt_validate(): check every structural invariant, report the first break. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "maple/node.h"

struct mt_check {
	const struct maple_tree *mt;
	unsigned int height;
	int err;
	bool leaf_seen;		/* a leaf was visited before this one */
	bool leaf_ends_null;	/* ... and its last slot is NULL */
};

static bool mt_fail(struct mt_check *c, const struct maple_node *node,
		    const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return false;
	c->err = -EUCLEAN;
	fprintf(stderr, "mt_validate: tree %p node %p: ", (void *)c->mt,
		(void *)node);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

static bool mt_check_pivots(struct mt_check *c, struct maple_node *node,
			    unsigned char end, unsigned long min,
			    unsigned long max)
{
	unsigned long lo = min;
	unsigned char i;

	for (i = 0; i < end; i++) {
		if (node->pivot[i] < lo || node->pivot[i] >= max)
			return mt_fail(c, node, "pivot[%u]=%lu outside [%lu, %lu)",
				       i, node->pivot[i], lo, max);
		lo = node->pivot[i] + 1;
	}
	for (i = end; i < MAPLE_NODE_PIVOTS; i++)
		if (node->pivot[i] != max)
			return mt_fail(c, node, "pivot[%u]=%lu past the end %u, "
				       "not the maximum %lu", i, node->pivot[i],
				       end, max);
	return true;
}

static enum maple_type mt_expected_type(const struct mt_check *c,
					unsigned int level)
{
	if (!level)
		return maple_leaf_64;
	return mt_alloc_tree(c->mt) ? maple_arange_64 : maple_range_64;
}

/*
 * Check the subtree at @enode, which covers [min, max] at @level; set
 * *@gap to the largest gap in it.
 */
static bool mt_check_node(struct mt_check *c, void *enode, unsigned int level,
			  unsigned long min, unsigned long max,
			  unsigned long parent, unsigned long *gap)
{
	struct maple_node *node = mte_to_node(enode);
	bool root = parent & MT_PARENT_ROOT;
	bool arange = mte_type(enode) == maple_arange_64;
	unsigned int slots = arange ? MAPLE_ARANGE_SLOTS : MAPLE_NODE_SLOTS;
	unsigned int least = arange ? MAPLE_ARANGE_MIN : MAPLE_NODE_MIN;
	unsigned char end, i;

	if (mte_type(enode) != mt_expected_type(c, level))
		return mt_fail(c, node, "type %d at level %u", mte_type(enode),
			       level);
	if (node->parent != parent)
		return mt_fail(c, node, "parent word %#lx, expected %#lx",
			       node->parent, parent);
	end = mt_node_end(node, max);
	if (!mt_check_pivots(c, node, end, min, max))
		return false;
	if (end >= slots)
		return mt_fail(c, node, "%u slots, more than %u", end + 1,
			       slots);
	if (!root && max != ULONG_MAX && end + 1U < least)
		return mt_fail(c, node, "%u slots, fewer than %u", end + 1,
			       least);
	if (level && root && end < 1)
		return mt_fail(c, node, "internal root with one child");
	if (!level) {
		if (c->leaf_seen && c->leaf_ends_null && !node->slot[0])
			return mt_fail(c, node, "starts with NULL after a leaf "
				       "that ends with NULL");
		c->leaf_seen = true;
		c->leaf_ends_null = !node->slot[end];
		*gap = mt_slots_gap(node->pivot, node->slot, end + 1U, min, max);
	} else {
		*gap = 0;
	}
	for (i = 0; i <= end; i++) {
		unsigned long smin = mt_slot_min(node, i, min);
		unsigned long smax = mt_slot_max(node, i, max);
		unsigned long child_gap;

		if (!level) {
			if (i && !node->slot[i] && !node->slot[i - 1])
				return mt_fail(c, node, "NULL slots %u and %u adjacent",
					       i - 1, i);
			continue;
		}
		if (!mt_is_node(node->slot[i]))
			return mt_fail(c, node, "slot %u is not a node", i);
		if (!mt_check_node(c, node->slot[i], level - 1, smin, smax,
				   mt_parent_word(node, i), &child_gap))
			return false;
		if (arange && node->gap[i] != child_gap)
			return mt_fail(c, node, "gap[%u]=%lu, the child's largest "
				       "gap is %lu", i, node->gap[i], child_gap);
		if (child_gap > *gap)
			*gap = child_gap;
	}
	return true;
}

int mt_validate(struct maple_tree *mt)
{
	struct mt_check c = { .mt = mt };
	unsigned long gap;
	void *root;

	if (!mt)
		return -EINVAL;
	c.height = mt_tree_height(mt);
	root = mt->ma_root;
	if (!mt_is_node(root)) {
		if (c.height)
			mt_fail(&c, NULL, "height %u without nodes", c.height);
		return c.err;
	}
	if (!c.height || c.height > MAPLE_HEIGHT_MAX)
		mt_fail(&c, NULL, "height %u with a root node", c.height);
	else
		mt_check_node(&c, root, c.height - 1, 0, ULONG_MAX,
			      mt_root_parent_word(mt), &gap);
	return c.err;
}
