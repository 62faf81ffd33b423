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

static bool mt_check_node(struct mt_check *c, void *enode, unsigned int level,
			  unsigned long min, unsigned long max,
			  unsigned long parent)
{
	struct maple_node *node = mte_to_node(enode);
	bool root = parent & MT_PARENT_ROOT;
	unsigned char end, i;

	if (mte_is_leaf(enode) != (level == 0) ||
	    (!mte_is_leaf(enode) && mte_type(enode) != maple_range_64))
		return mt_fail(c, node, "type %d at level %u", mte_type(enode),
			       level);
	if (node->parent != parent)
		return mt_fail(c, node, "parent word %#lx, expected %#lx",
			       node->parent, parent);
	end = mt_node_end(node, max);
	if (!mt_check_pivots(c, node, end, min, max))
		return false;
	if (!root && max != ULONG_MAX && end + 1 < MAPLE_NODE_MIN)
		return mt_fail(c, node, "%u slots, fewer than %u", end + 1,
			       MAPLE_NODE_MIN);
	if (level && root && end < 1)
		return mt_fail(c, node, "internal root with one child");
	if (!level) {
		if (c->leaf_seen && c->leaf_ends_null && !node->slot[0])
			return mt_fail(c, node, "starts with NULL after a leaf "
				       "that ends with NULL");
		c->leaf_seen = true;
		c->leaf_ends_null = !node->slot[end];
	}
	for (i = 0; i <= end; i++) {
		unsigned long smin = mt_slot_min(node, i, min);
		unsigned long smax = mt_slot_max(node, i, max);

		if (!level) {
			if (i && !node->slot[i] && !node->slot[i - 1])
				return mt_fail(c, node, "NULL slots %u and %u adjacent",
					       i - 1, i);
			continue;
		}
		if (!mt_is_node(node->slot[i]))
			return mt_fail(c, node, "slot %u is not a node", i);
		if (!mt_check_node(c, node->slot[i], level - 1, smin, smax,
				   mt_parent_word(node, i)))
			return false;
	}
	return true;
}

int mt_validate(struct maple_tree *mt)
{
	struct mt_check c = { .mt = mt };
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
			      mt_root_parent_word(mt));
	return c.err;
}
