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
 * undefined), aborts with a message. Context: any thread.
 */
void mt_alloc_forbid_begin(void);
void mt_alloc_forbid_end(void);

/*
 * mt_fault_inject() - Make the @nth node allocation from now fail, once
 * (1 = the next one); 0 turns it off. Process-wide, for tests: a store
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
