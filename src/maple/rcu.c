// SPDX-License-Identifier: MIT
/*
 * RCU glue: the liburcu flavour the library uses, and the deferred freeing
 * of nodes replaced in RCU mode.
 *
 * A replaced node is marked dead; readers that reach it after that start
 * their walk again, so its other bytes may be reused. The first dead node
 * of a batch becomes the batch (struct maple_batch) and records the next
 * MT_BATCH_NODES; a full batch goes to call_rcu() as one callback, which
 * hands it to the node cache whole.
 */
#include <stddef.h>
#include <stdlib.h>
#include <urcu/urcu-memb.h>
#include <urcu/call-rcu.h>
#include <urcu/flavor.h>

#include "maple/node.h"

_Static_assert(sizeof(struct rcu_head) == sizeof(((struct maple_batch *)0)->rcu),
	       "the batch has room for an rcu_head");

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
/* ... and that a callback happens before mt_rcu_barrier() returns. */
static char mt_tsan_barrier;
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
	struct maple_batch *batch = (struct maple_batch *)
		((char *)head - offsetof(struct maple_batch, rcu));

#ifdef MT_TSAN
	__tsan_acquire(batch);
	__tsan_acquire(&mt_tsan_grace_period);
#endif
	mt_node_free_batch(batch);
#ifdef MT_TSAN
	__tsan_release(&mt_tsan_barrier);
#endif
}

#ifdef MT_TSAN
/*
 * TSan cannot see liburcu's grace periods: a callback must acquire what
 * readers released when they left their sections before it runs. The
 * callback head has no room for that step, so TSan builds wrap it.
 */
struct mt_tsan_call {
	struct rcu_head rcu;
	struct rcu_head *head;
	void (*fn)(struct rcu_head *head);
};

static void mt_tsan_call_run(struct rcu_head *rcu)
{
	struct mt_tsan_call *call = (struct mt_tsan_call *)rcu;

	__tsan_acquire(call);
	__tsan_acquire(&mt_tsan_grace_period);
	call->fn(call->head);
	free(call);
	__tsan_release(&mt_tsan_barrier);
}
#endif

void mt_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head))
{
#ifdef MT_TSAN
	struct mt_tsan_call *call = malloc(sizeof(*call));

	if (call) {
		call->head = head;
		call->fn = fn;
		__tsan_release(call);
		mt_flavor->update_call_rcu(&call->rcu, mt_tsan_call_run);
		return;
	}
#endif
	mt_flavor->update_call_rcu(head, fn);
}

void mt_retired_flush(struct maple_tree *mt)
{
	struct maple_batch *batch = mt->ma_retired;

	if (!batch)
		return;
	mt->ma_retired = NULL;
#ifdef MT_TSAN
	__tsan_release(batch);
#endif
	mt_flavor->update_call_rcu((struct rcu_head *)batch->rcu, mt_free_batch);
}

void mt_node_retire(struct maple_tree *mt, struct maple_node *node)
{
	struct maple_batch *batch = mt->ma_retired;

	if (!mt_rcu_mode(mt)) {
		mt_node_free(node);
		return;
	}
	mt_write(node->parent, (unsigned long)node | MT_PARENT_DEAD);
	mt_node_account_rcu();
	/* A reader that sees what follows also sees the dead mark. */
	mt_fence_release();
	if (!batch) {
		batch = (struct maple_batch *)node;
		mt_write(batch->count, 0);
		mt->ma_retired = batch;
		return;
	}
	mt_write(batch->node[batch->count], node);
	mt_write(batch->count, batch->count + 1);
	if (batch->count == MT_BATCH_NODES)
		mt_retired_flush(mt);
}

void mt_rcu_barrier(struct maple_tree *mt)
{
	if (mt) {
		bool internal = !mt_external_locked(mt);

		if (internal)
			mtree_lock(mt);
		else
			mt_assert_locked(mt, __func__);
		mt_retired_flush(mt);
		if (internal)
			mtree_unlock(mt);
	}
	mt_flavor->barrier();
#ifdef MT_TSAN
	__tsan_acquire(&mt_tsan_barrier);
#endif
}
