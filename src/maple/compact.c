// SPDX-License-Identifier: MIT
/*
 * Compaction: emptying sparse slabs while readers run.
 *
 * The node cache chooses the slabs to empty and stops allocating from
 * them. Then every tree that has nodes is walked under its writer lock
 * (tried, never waited for), and each node found in one of those slabs is
 * copied into a fuller one. A copy is published exactly as a store
 * publishes a replacement node: its children are told their new parent,
 * the parent slot (or the root pointer) is switched with release ordering,
 * and the old node is retired, so a reader standing on it finishes there or
 * sees it dead and walks again. Once the grace period has passed the old
 * nodes are back in their slabs and the empty slabs go back to the system.
 *
 * A node's owner is known from its parent word: parent node and slot, or
 * the tree for a root. The walk reaches each node from its owner, so
 * nothing is added to the read path; trees with nodes are kept on a list,
 * updated only when a root turns from an entry into a node or back.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "maple/node.h"

static pthread_mutex_t trees_lock = PTHREAD_MUTEX_INITIALIZER;
static struct maple_tree *trees;	/* every tree that has nodes */

void mt_tree_root_changed(struct maple_tree *mt, const void *old_root)
{
	bool had = mt_is_node(old_root), has = mt_is_node(mt->ma_root);

	if (had == has)
		return;
	pthread_mutex_lock(&trees_lock);
	if (has) {
		mt->ma_prev_tree = NULL;
		mt->ma_next_tree = trees;
		if (trees)
			trees->ma_prev_tree = mt;
		trees = mt;
	} else {
		if (mt->ma_prev_tree)
			mt->ma_prev_tree->ma_next_tree = mt->ma_next_tree;
		else
			trees = mt->ma_next_tree;
		if (mt->ma_next_tree)
			mt->ma_next_tree->ma_prev_tree = mt->ma_prev_tree;
	}
	pthread_mutex_unlock(&trees_lock);
}

/* ---- Moving nodes ------------------------------------------------------- */

static pthread_mutex_t compact_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mt_compact_stats totals;	/* compact_lock */

static bool compact_trylock(struct maple_tree *mt)
{
	if (!mt_external_locked(mt)) {
		if (!mtree_trylock(mt)) {
			totals.trees_skipped_busy++;
			return false;
		}
		return true;
	}
	if (!mt->ma_trylock || !mt->ma_unlock) {
		totals.trees_skipped_no_ops++;
		return false;
	}
	if (!mt->ma_trylock(mt->ma_external_lock)) {
		totals.trees_skipped_busy++;
		return false;
	}
	return true;
}

static void compact_unlock(struct maple_tree *mt)
{
	if (!mt_external_locked(mt))
		mtree_unlock(mt);
	else
		mt->ma_unlock(mt->ma_external_lock);
}

/*
 * Copy the node stored at *@where (a parent's slot or the root pointer)
 * into a fuller slab and publish the copy there. Return the node now in
 * place: the copy, or the old node if no memory could be had.
 */
static struct maple_node *compact_move(struct maple_tree *mt, void **where,
				       unsigned long max)
{
	void *enode = *where;
	struct maple_node *old = mte_to_node(enode);
	struct maple_node *copy = mt_node_alloc_dense();
	unsigned char end, i;

	if (!copy)
		return old;
	memcpy(copy, old, sizeof(*copy));
	if (!mte_is_leaf(enode)) {
		end = mt_node_end(old, max);
		for (i = 0; i <= end; i++)
			mt_write(mte_to_node(old->slot[i])->parent,
				 mt_parent_word(copy, i));
	}
	mt_publish(*where, mt_mk_enode(copy, mte_type(enode)));
	mt_node_retire(mt, old);
	totals.nodes_moved++;
	return copy;
}

/* Move every node of the subtree at *@where that sits in a draining slab. */
static void compact_subtree(struct maple_tree *mt, void **where,
			    unsigned long max)
{
	struct maple_node *node = mte_to_node(*where);
	unsigned char end, i;

	if (mt_node_draining(node))
		node = compact_move(mt, where, max);
	if (mte_is_leaf(*where))
		return;
	end = mt_node_end(node, max);
	for (i = 0; i <= end; i++)
		compact_subtree(mt, &node->slot[i], mt_slot_max(node, i, max));
}

size_t mt_cache_compact(void)
{
	unsigned long left = 0, released = 0;
	struct maple_tree *mt;
	size_t freed;

	pthread_mutex_lock(&compact_lock);
	totals.runs++;
	/* Nodes already waiting for a grace period are free once it ends. */
	mt_rcu_barrier(NULL);
	if (!mt_cache_drain_begin()) {
		pthread_mutex_unlock(&compact_lock);
		return 0;
	}
	pthread_mutex_lock(&trees_lock);
	for (mt = trees; mt; mt = mt->ma_next_tree) {
		if (!compact_trylock(mt))
			continue;
		if (mt_is_node(mt->ma_root))
			compact_subtree(mt, &mt->ma_root, ULONG_MAX);
		/* Old nodes, and any the tree retired before, to RCU now. */
		mt_retired_flush(mt);
		compact_unlock(mt);
	}
	pthread_mutex_unlock(&trees_lock);
	mt_rcu_barrier(NULL);
	freed = mt_cache_drain_end(&left, &released);
	totals.nodes_left += left;
	totals.slabs_released += released;
	totals.bytes_released += freed;
	pthread_mutex_unlock(&compact_lock);
	return freed;
}

void mt_compact_stats(struct mt_compact_stats *st)
{
	pthread_mutex_lock(&compact_lock);
	*st = totals;
	pthread_mutex_unlock(&compact_lock);
}

/* ---- The optional background thread ------------------------------------ */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stop;
	unsigned int percent, interval_ms;
} compactor = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* Does the cache hold more than @percent of what its nodes need? */
static bool compact_wanted(unsigned int percent)
{
	struct mt_cache_stats st;
	size_t need;

	mt_cache_stats(&st);
	need = (st.nodes_live + st.nodes_rcu) * MAPLE_NODE_SIZE;
	return st.bytes_held / percent > need / 100;
}

static void *compactor_main(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&compactor.lock);
	while (!compactor.stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += compactor.interval_ms / 1000;
		until.tv_nsec += (long)(compactor.interval_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&compactor.wake, &compactor.lock,
				       &until);
		if (compactor.stop || !compact_wanted(compactor.percent))
			continue;
		pthread_mutex_unlock(&compactor.lock);
		mt_cache_compact();
		pthread_mutex_lock(&compactor.lock);
	}
	pthread_mutex_unlock(&compactor.lock);
	return NULL;
}

int mt_compactor_start(unsigned int percent, unsigned int interval_ms)
{
	int ret = 0;

	if (percent < 100 || !interval_ms)
		return -EINVAL;
	pthread_mutex_lock(&compactor.lock);
	if (compactor.running) {
		ret = -EALREADY;
	} else {
		compactor.percent = percent;
		compactor.interval_ms = interval_ms;
		compactor.stop = false;
		ret = -pthread_create(&compactor.thread, NULL, compactor_main,
				      NULL);
		compactor.running = !ret;
	}
	pthread_mutex_unlock(&compactor.lock);
	return ret;
}

void mt_compactor_stop(void)
{
	pthread_t thread;

	pthread_mutex_lock(&compactor.lock);
	if (!compactor.running) {
		pthread_mutex_unlock(&compactor.lock);
		return;
	}
	compactor.stop = true;
	compactor.running = false;
	thread = compactor.thread;
	pthread_cond_signal(&compactor.wake);
	pthread_mutex_unlock(&compactor.lock);
	pthread_join(thread, NULL);
}
