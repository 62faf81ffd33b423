/* SPDX-License-Identifier: MIT */
/*
 * The node cache behind every maple tree: 256-byte nodes carved from slabs.
 * Included by <mapletree/maple_tree.h>.
 */
#ifndef MAPLETREE_NODE_ALLOC_H
#define MAPLETREE_NODE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct maple_tree;
struct ma_state;

/* ---- Allocation contexts ----------------------------------------------- */

/*
 * gfp_t says what an operation that needs memory may do to get it.
 * GFP_KERNEL may call the system allocator and block, and tops up the
 * emergency reserve. GFP_NOWAIT and GFP_ATOMIC never call the system
 * allocator: GFP_NOWAIT takes only free nodes the cache already holds,
 * GFP_ATOMIC may also draw on the emergency reserve (mt_cache_reserve()).
 */
typedef unsigned int gfp_t;
#define __GFP_DIRECT_RECLAIM	0x1u	/* may call the system allocator */
#define __GFP_HIGH		0x2u	/* may use the emergency reserve */
#define __GFP_NOWARN		0x4u	/* accepted, ignored */
#define GFP_KERNEL		(__GFP_DIRECT_RECLAIM)
#define GFP_NOWAIT		(0u)
#define GFP_ATOMIC		(__GFP_HIGH)

/* The library is built with hidden visibility; what is declared here is its API. */
#pragma GCC visibility push(default)

/* What the node cache holds, all trees together. */
struct mt_cache_stats {
	size_t nodes_live;	/* nodes in trees or reservations */
	size_t nodes_free;	/* cached, ready for reuse */
	size_t nodes_rcu;	/* waiting for a grace period */
	size_t slabs;		/* slabs held from the system */
	size_t bytes_held;	/* memory held from the system */
	unsigned long forbidden_allocs;	/* allocations tried in a forbid section */
	size_t nodes_emergency;	/* in the emergency reserve (part of free) */
};

/*
 * mt_cache_stats() - Fill @st with a snapshot of the cache. Context: any
 * thread; takes the cache lock briefly. Counts are exact when no tree is
 * being written.
 */
void mt_cache_stats(struct mt_cache_stats *st);

/*
 * mt_cache_shrink() - Give every slab with no live node back to the system.
 * Context: any thread; takes the cache lock. Return: bytes returned.
 */
size_t mt_cache_shrink(void);

/* ---- Compaction ---------------------------------------------------------- */

/*
 * mt_cache_compact() - Empty the sparsest slabs by moving the tree nodes
 * in them to fuller slabs, and give the emptied slabs back to the system.
 *
 * Each tree that has nodes is visited under its writer lock, taken with a
 * try: the internal mutex, or an external lock through the callbacks given
 * to mt_set_external_lock_ops(). A tree whose lock is busy, or whose
 * external lock has no callbacks, is skipped and counted (see
 * mt_compact_stats()). A moved node is published the way a store publishes
 * a replacement, and the old one is retired after a grace period, so RCU
 * readers run on undisturbed; the call waits for that grace period before
 * it frees the slabs. Nodes that are not in a tree (in reservations, in
 * other threads' small per-thread caches) are not moved: their slabs stay
 * until they come back.
 *
 * Every tree that holds nodes must be destroyed before its memory is freed
 * or reused (as it must be anyway, or its nodes leak): compaction visits
 * trees through a list of those with nodes.
 *
 * Context: any thread holding no tree lock and outside any RCU read-side
 * section; blocks; allocates (GFP_KERNEL). Calls are serialised.
 * Return: bytes returned to the system.
 */
size_t mt_cache_compact(void);

/* What compaction has done since the process started. */
struct mt_compact_stats {
	unsigned long runs;		/* mt_cache_compact() calls */
	unsigned long nodes_moved;
	unsigned long trees_skipped_busy;	/* trylock failed */
	unsigned long trees_skipped_no_ops;	/* external lock, no callbacks */
	unsigned long nodes_left;	/* in slabs chosen to empty but still
					 * used after the run: skipped trees,
					 * reservations, per-thread caches */
	unsigned long slabs_released;
	unsigned long bytes_released;
};

/*
 * mt_compact_stats() - Fill @st with the totals. Context: any thread;
 * waits while a compaction runs. No allocation.
 */
void mt_compact_stats(struct mt_compact_stats *st);

/*
 * mt_compactor_start() - Start a thread that wakes every @interval_ms and
 * compacts when the cache holds more than @percent percent of what its
 * live nodes need (for example 150: compact above 1.5 times). No thread
 * runs unless the application starts one.
 * Context: any thread. Return: 0; -EALREADY if one runs; -EINVAL if
 * @percent < 100 or @interval_ms is 0; or an error from pthread_create().
 */
int mt_compactor_start(unsigned int percent, unsigned int interval_ms);

/*
 * mt_compactor_stop() - Stop that thread and wait for it (and for a
 * compaction it is running). No-op if none runs. Context: any thread but
 * the compactor's own; blocks.
 */
void mt_compactor_stop(void);

/*
 * Nodes set aside for a number of future stores on one tree, enough
 * whatever other writers do to the tree in between, as long as it never
 * holds more than the max_entries given to mt_reserve(). Caller-owned: it
 * may live on the stack or in a job. The fields are private.
 */
struct mt_reservation {
	void *nodes;			/* free nodes, linked */
	unsigned long nr;		/* how many */
	unsigned long per_store;	/* the bound for one store */
};

/*
 * mt_reserve() - Reserve in @res the nodes that @nr_stores stores of any
 * kind need on a tree (@mt) that will never hold more than @max_entries
 * entries, whatever else changes it meanwhile.
 *
 * The bound: a tree of E entries has at most 2E + 1 ranges (entries and
 * the gaps between them), and every node other than the root and the last
 * of its level holds at least 7 of its 16 slots, so its height is at most
 * h = 1 + floor(log7(2E + 1)). One store builds at most 3 nodes per level
 * (a level's new content is at most 33 slots: what is kept on either side
 * of the change plus what the level below built) and may add a root:
 * 3h + 1 nodes. For a million entries h is 8: 25 nodes (6.25 KiB) per
 * store, where the kernel preallocates 94 (24 KiB) for MAPLE_HEIGHT_MAX.
 * Internal nodes of allocation-range trees have 8 slots and keep at least
 * 4, so there h is at most 2 + floor(log4((2E + 1) / 7)): 11 for a
 * million entries, 34 nodes per store.
 *
 * Context: any thread; does not take the tree's lock; may allocate as
 * @gfp allows. Return: 0; -EINVAL (no tree or no reservation); -ENOMEM
 * (nothing is kept).
 */
int mt_reserve(struct maple_tree *mt, struct mt_reservation *res,
	       unsigned int nr_stores, unsigned long max_entries, gfp_t gfp);

/*
 * mas_use_reservation() - Make every later store through @mas take its
 * nodes from @res only: such a store never calls the allocator, so it may
 * run where allocating is forbidden, and never fails for lack of memory
 * while the reservation's promise holds. @res may be shared by several
 * cursors of the same tree, under the tree's lock.
 */
void mas_use_reservation(struct ma_state *mas, struct mt_reservation *res);

/* mt_reserve_release() - Give the nodes still in @res back to the cache. */
void mt_reserve_release(struct mt_reservation *res);

/* mt_reservation_nodes() - How many nodes @res still holds. */
unsigned long mt_reservation_nodes(const struct mt_reservation *res);

/*
 * mt_cache_reserve() - Keep @nodes nodes in the emergency reserve and fill
 * it now. Allocations that may not block (GFP_ATOMIC) draw on it when the
 * cache has no free node; GFP_KERNEL allocations top it up again; GFP_NOWAIT
 * never touches it. The reserve starts at 64 nodes; 0 disables it.
 * Context: any thread, outside critical sections: may call the system
 * allocator. Return: 0, or -ENOMEM with the reserve partly filled.
 */
int mt_cache_reserve(size_t nodes);

/*
 * mt_alloc_forbid_begin() / mt_alloc_forbid_end() - Mark a section of the
 * calling thread in which the tree must not allocate nodes (a fence-
 * signalling section, say): stores there must use nodes reserved before.
 * Sections nest. An allocation attempted inside one is counted in
 * mt_cache_stats().forbidden_allocs and, in debug builds (NDEBUG
 * undefined), aborts after printing the call chain and the address where
 * the outermost section was opened (resolve with addr2line; link with
 * -rdynamic for names). Context: any thread.
 */
void mt_alloc_forbid_begin(void);
void mt_alloc_forbid_end(void);

/*
 * mt_alloc_check() - For libraries layered on the tree (the VA manager):
 * account for one allocation of their own, made outside the node cache,
 * as the cache accounts for its nodes. Inside a forbidden section it is
 * counted in forbidden_allocs and, in debug builds, aborts as a node
 * allocation would; fault injection (mt_fault_inject()) counts it.
 * Return: 0, or -ENOMEM if fault injection fails this allocation (the
 * caller must then not allocate and must fail cleanly). Context: any.
 */
int mt_alloc_check(void);

/*
 * mt_fault_inject() - Make the @nth node allocation from now fail, once
 * (1 = the next one; mt_alloc_check() calls count too); 0 turns it off. Process-wide, for tests: a store
 * that meets the failure returns -ENOMEM (or, through the Normal API,
 * retries with mas_nomem()) and must leave the tree as it was.
 * Context: any thread.
 */
void mt_fault_inject(long nth);

/*
 * mt_fault_inject_all() - While @on, every node allocation fails.
 * Process-wide, for tests. Context: any thread.
 */
void mt_fault_inject_all(bool on);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MAPLETREE_NODE_ALLOC_H */
