// SPDX-License-Identifier: MIT
/* Tree life cycle and mode flags. */
#include <string.h>

#include "maple/node.h"

void mt_init_flags(struct maple_tree *mt, unsigned int flags)
{
	memset(mt, 0, sizeof(*mt));
	pthread_mutex_init(&mt->ma_lock, NULL);
	mt->ma_flags = flags & ~MT_FLAGS_HEIGHT_MASK;
}

void mt_init(struct maple_tree *mt)
{
	mt_init_flags(mt, 0);
}

void *mt_root(const struct maple_tree *mt)
{
	return mt_acquire(((struct maple_tree *)mt)->ma_root);
}

bool mtree_empty(const struct maple_tree *mt)
{
	return !mt || mt_root(mt) == NULL;
}

unsigned int mt_height(const struct maple_tree *mt)
{
	return mt ? mt_tree_height(mt) : 0;
}

bool mt_in_rcu(const struct maple_tree *mt)
{
	return mt && mt_rcu_mode(mt);
}

/*
 * The Normal API's lock: the internal mutex, or for an external-lock tree a
 * check that the caller holds that lock.
 */
void mt_normal_lock(struct maple_tree *mt)
{
	if (mt_external_locked(mt))
		mt_assert_locked(mt, "mapletree write");
	else
		mtree_lock(mt);
}

void mt_normal_unlock(struct maple_tree *mt)
{
	if (!mt_external_locked(mt))
		mtree_unlock(mt);
}

void mt_set_in_rcu(struct maple_tree *mt)
{
	mt_normal_lock(mt);
	mt_flags_update(mt, 0, MT_FLAGS_USE_RCU);
	mt_normal_unlock(mt);
}

void mt_clear_in_rcu(struct maple_tree *mt)
{
	mt_normal_lock(mt);
	/* Nodes already retired still wait for their grace period. */
	mt_retired_flush(mt);
	mt_flags_update(mt, MT_FLAGS_USE_RCU, 0);
	mt_normal_unlock(mt);
}

static void mt_free_subtree(struct maple_tree *mt, void *enode,
			    unsigned long max)
{
	struct maple_node *node = mte_to_node(enode);

	if (!mte_is_leaf(enode)) {
		unsigned char end = mt_node_end(node, max);
		unsigned char i;

		for (i = 0; i <= end; i++)
			mt_free_subtree(mt, node->slot[i],
					mt_slot_max(node, i, max));
	}
	mt_node_retire(mt, node);
}

void __mt_destroy(struct maple_tree *mt)
{
	void *root = mt->ma_root;

	mt_assert_locked(mt, __func__);
	mt_publish(mt->ma_root, NULL);
	mt_tree_root_changed(mt, root);
	if (mt_is_node(root))
		mt_free_subtree(mt, root, ULONG_MAX);
	mt_set_height(mt, 0);
	mt_retired_flush(mt);
}

void mtree_destroy(struct maple_tree *mt)
{
	if (!mt)
		return;
	mt_normal_lock(mt);
	__mt_destroy(mt);
	mt_normal_unlock(mt);
}
