// SPDX-License-Identifier: MIT
/*
 * RCU glue: the liburcu flavour the library uses, and the deferred freeing
 * of nodes replaced in RCU mode.
 *
 * A replaced node is marked dead, then chained on its tree's retired list;
 * every MT_RETIRE_BATCH nodes the chain is handed to call_rcu() as one
 * callback, whose rcu_head lives in the newest dead node. Readers may still
 * load a dead node's bytes (that is why its parent word is checked after
 * every read), so the bookkeeping is written only after the dead mark and
 * with atomic stores.
 */
#include <stddef.h>
#include <urcu/urcu-memb.h>
#include <urcu/call-rcu.h>
#include <urcu/flavor.h>

#include "maple/node.h"

#define MT_RETIRE_BATCH		64

struct maple_dead {
	unsigned long parent;
	struct rcu_head rcu;
	struct maple_node *next;
};

_Static_assert(sizeof(struct maple_dead) <= sizeof(struct maple_node),
	       "dead-node bookkeeping fits in a node");

static const struct rcu_flavor_struct *mt_flavor = &urcu_memb_flavor;

void mt_set_rcu_flavor(const struct rcu_flavor_struct *flavor)
{
	mt_flavor = flavor ? flavor : &urcu_memb_flavor;
}

const struct rcu_flavor_struct *mt_rcu_flavor(void)
{
	return mt_flavor;
}

void mt_rcu_read_lock(void)
{
	mt_flavor->read_lock();
}

#ifdef MT_TSAN
/*
 * Tells TSan that what a reader did before leaving its read-side section
 * happens before the grace period ends (readers using the flavour's own
 * unlock are not seen).
 */
static char mt_tsan_grace_period;
#endif

void mt_rcu_read_unlock(void)
{
#ifdef MT_TSAN
	__tsan_release(&mt_tsan_grace_period);
#endif
	mt_flavor->read_unlock();
}

static void mt_free_batch(struct rcu_head *head)
{
	struct maple_dead *dead = caa_container_of(head, struct maple_dead, rcu);
	struct maple_node *node = (struct maple_node *)dead;

#ifdef MT_TSAN
	__tsan_acquire(dead);
	__tsan_acquire(&mt_tsan_grace_period);
#endif
	while (node) {
		struct maple_node *next = ((struct maple_dead *)node)->next;

		mt_node_free_rcu(node);
		node = next;
	}
}

void mt_retired_flush(struct maple_tree *mt)
{
	struct maple_dead *head = mt->ma_retired;

	if (!head)
		return;
	mt->ma_retired = NULL;
	mt->ma_nr_retired = 0;
#ifdef MT_TSAN
	__tsan_release(head);
#endif
	mt_flavor->update_call_rcu(&head->rcu, mt_free_batch);
}

void mt_node_retire(struct maple_tree *mt, struct maple_node *node)
{
	struct maple_dead *dead = (struct maple_dead *)node;

	if (!mt_rcu_mode(mt)) {
		mt_node_free(node);
		return;
	}
	mt_write(node->parent, (unsigned long)node | MT_PARENT_DEAD);
	/* A reader that sees what follows also sees the dead mark. */
	mt_fence_release();
	mt_write(dead->next, (struct maple_node *)mt->ma_retired);
	mt->ma_retired = dead;
	mt_node_account_rcu();
	if (++mt->ma_nr_retired >= MT_RETIRE_BATCH)
		mt_retired_flush(mt);
}

void mt_rcu_barrier(struct maple_tree *mt)
{
	if (mt) {
		bool internal = (mt->ma_flags & MT_FLAGS_LOCK_MASK) !=
				MT_FLAGS_LOCK_EXTERN;

		if (internal)
			mtree_lock(mt);
		else
			mt_assert_locked(mt, __func__);
		mt_retired_flush(mt);
		if (internal)
			mtree_unlock(mt);
	}
	mt_flavor->barrier();
}
