// SPDX-License-Identifier: MIT
/*
 * Tree duplication: every node is copied as it stands and only the links
 * (parent words, child pointers) are rewritten, so the copy has the same
 * shape and costs a copy per node instead of a store per entry. All nodes
 * are allocated before the first copy, so running out of memory leaves the
 * target untouched and nothing to undo.
 */
#include <errno.h>
#include <string.h>

#include "maple/node.h"

/* The flags a copy must share with its original. */
#define MT_DUP_ATTRS	(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU | \
			 MT_FLAGS_LOCK_MASK)

static unsigned long dup_count(void *enode, unsigned long max)
{
	struct maple_node *node = mte_to_node(enode);
	unsigned char end, i;
	unsigned long n = 1;

	if (mte_is_leaf(enode))
		return 1;
	end = mt_node_end(node, max);
	if (mte_is_leaf(node->slot[0]))
		return n + end + 1;
	for (i = 0; i <= end; i++)
		n += dup_count(node->slot[i], mt_slot_max(node, i, max));
	return n;
}

/* Copy the subtree at @enode, covering up to @max, from nodes in @free. */
static void *dup_copy(void *enode, unsigned long max, unsigned long parent,
		      void **free)
{
	struct maple_node *node = mt_list_pop(free);
	const struct maple_node *old = mte_to_node(enode);
	unsigned char end, i;

	memcpy(node, old, sizeof(*node));
	node->parent = parent;
	if (!mte_is_leaf(enode)) {
		end = mt_node_end(node, max);
		for (i = 0; i <= end; i++)
			node->slot[i] = dup_copy(old->slot[i],
						 mt_slot_max(node, i, max),
						 mt_parent_word(node, i), free);
	}
	return mt_mk_enode(node, mte_type(enode));
}

int __mt_dup(struct maple_tree *mt, struct maple_tree *new_mt, gfp_t gfp)
{
	void *root, *free = NULL;
	unsigned long n, i;
	unsigned int height;

	if (!mt || !new_mt || mt == new_mt ||
	    (mt->ma_flags ^ new_mt->ma_flags) & MT_DUP_ATTRS || new_mt->ma_root)
		return -EINVAL;
	mt_assert_locked(mt, __func__);
	mt_assert_locked(new_mt, __func__);
	root = mt->ma_root;
	height = mt_tree_height(mt);
	if (mt_is_node(root)) {
		n = dup_count(root, ULONG_MAX);
		for (i = 0; i < n; i++) {
			struct maple_node *node = mt_node_alloc(gfp);

			if (!node) {
				while ((node = mt_list_pop(&free)))
					mt_node_free(node);
				return -ENOMEM;
			}
			mt_list_push(&free, node);
		}
		root = dup_copy(root, ULONG_MAX, mt_root_parent_word(new_mt),
				&free);
	}
	mt_flags_update(new_mt, MT_FLAGS_ALLOC_WRAPPED,
			mt->ma_flags & MT_FLAGS_ALLOC_WRAPPED);
	mt_set_height(new_mt, height);
	mt_publish(new_mt->ma_root, root);
	mt_tree_root_changed(new_mt, NULL);
	return 0;
}

int mtree_dup(struct maple_tree *mt, struct maple_tree *new_mt, gfp_t gfp)
{
	int ret;

	if (!mt || !new_mt || mt == new_mt)
		return -EINVAL;
	mt_normal_lock(new_mt);
	mt_normal_lock(mt);
	ret = __mt_dup(mt, new_mt, gfp);
	mt_normal_unlock(mt);
	mt_normal_unlock(new_mt);
	return ret;
}
