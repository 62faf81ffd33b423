// SPDX-License-Identifier: MIT
/*
 * The reader's descent from the root to a leaf. It takes no lock: in RCU
 * mode a writer changes a reachable node only by single pointer stores, and
 * a node it replaced is marked dead before its bytes are reused, so the
 * walk reads a node, then checks that it is not dead, and starts over from
 * the root if it is.
 */
#include "maple/node.h"

void *mas_descend(struct ma_state *mas, unsigned long index)
{
	void *enode;

restart:
	enode = mt_root(mas->tree);
	if (!mt_is_node(enode)) {
		mas->node = NULL;
		mas->status = enode ? ma_root : ma_none;
		return enode;
	}
	mas->min = 0;
	mas->max = ULONG_MAX;
	for (;;) {
		struct maple_node *node = mte_to_node(enode);
		unsigned char off, end = 0;
		unsigned long min, max;
		void *slot;

		mt_prefetch_slots(node);
		off = mt_node_find(node, index);
		if (mte_is_leaf(enode)) {
			end = mt_node_end(node, mas->max);
			if (!mt_leaf_read_slot(node, off, mas->min, mas->max,
					       &min, &max, &slot) ||
			    index < min || index > max)
				goto restart;
		} else {
			slot = mt_read(node->slot[off]);
			min = mt_slot_min(node, off, mas->min);
			max = mt_slot_max(node, off, mas->max);
		}
		if (mt_node_dead(node))
			goto restart;
		if (mte_is_leaf(enode)) {
			mas->node = enode;
			mas->offset = off;
			mas->end = end;
			mas->index = min;
			mas->last = max;
			mas->status = ma_active;
			return slot;
		}
		enode = slot;
		mas->min = min;
		mas->max = max;
	}
}

/* mas_descend() without the range bookkeeping: the hot lookup path. */
static void *mt_lookup(struct maple_tree *mt, unsigned long index)
{
	void *enode, *slot;

restart:
	enode = mt_root(mt);
	if (!mt_is_node(enode))
		return index ? NULL : enode;
	for (;;) {
		struct maple_node *node = mte_to_node(enode);

		unsigned char off;

		mt_prefetch_slots(node);
		off = mt_node_find(node, index);
		slot = mt_read(node->slot[off]);
		if (mte_is_leaf(enode) && !mt_leaf_slot_covers(node, off, index))
			goto restart;
		if (mt_node_dead(node))
			goto restart;
		if (mte_is_leaf(enode))
			return slot;
		enode = slot;
	}
}

void *mtree_load(struct maple_tree *mt, unsigned long index)
{
	void *entry;

	if (!mt)
		return NULL;
	mt_rcu_read_lock();
	entry = mt_lookup(mt, index);
	mt_rcu_read_unlock();
	return xa_is_zero(entry) ? NULL : entry;
}
