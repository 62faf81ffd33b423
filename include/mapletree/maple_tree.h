/* SPDX-License-Identifier: MIT */
/*
 * mapletree: an RCU-safe B-tree of non-overlapping ranges.
 *
 * The tree maps closed ranges [first, last] of unsigned long indices to
 * pointer-sized entries; every index not covered by a range reads as NULL.
 * Names, argument orders, return values and error codes follow the Linux
 * kernel's maple tree, so code written against <linux/maple_tree.h> compiles
 * and behaves the same against this header.
 *
 * Contexts used in the comments below:
 *  - "Takes the lock": the function takes the tree's writer lock itself
 *    (internal lock) or checks that the caller holds it (external lock).
 *  - "Takes RCU": the function enters an RCU read-side section itself, using
 *    the RCU flavour set with mt_set_rcu_flavor(); the calling thread must be
 *    registered with that flavour if the flavour requires it.
 *  - "Caller holds the lock": Advanced API writes. Reads in the Advanced API
 *    need the lock or an RCU read-side section (RCU mode trees only).
 *  - "May allocate": the function may take nodes from the node cache, which
 *    may call the system allocator if the gfp flags allow it.
 *
 * Errors are negative errno values.
 */
#ifndef MAPLETREE_MAPLE_TREE_H
#define MAPLETREE_MAPLE_TREE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <mapletree/node_alloc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; what is declared here is its API. */
#pragma GCC visibility push(default)

/* ---- Entries ------------------------------------------------------------ */

/*
 * Entries are pointer-sized values. Values whose low two bits are 10 and that
 * are below 4096 are internal to the tree; the only one a caller may store is
 * XA_ZERO_ENTRY. Small integers are stored with xa_mk_value().
 */
static inline void *xa_mk_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

static inline bool xa_is_value(const void *entry)
{
	return (unsigned long)entry & 1;
}

static inline void *xa_mk_internal(unsigned long v)
{
	return (void *)((v << 2) | 2);
}

static inline unsigned long xa_to_internal(const void *entry)
{
	return (unsigned long)entry >> 2;
}

static inline bool xa_is_internal(const void *entry)
{
	return ((unsigned long)entry & 3) == 2;
}

/* The reservation marker: reads as NULL, occupies its range. */
#define XA_ZERO_ENTRY		xa_mk_internal(257)

static inline bool xa_is_zero(const void *entry)
{
	return entry == XA_ZERO_ENTRY;
}

/* True for an encoded error, as left in ma_state.node by a failed call. */
static inline bool xa_is_err(const void *entry)
{
	return xa_is_internal(entry) &&
	       (unsigned long)entry >= (unsigned long)xa_mk_internal(-4095L);
}

/* The negative errno an encoded error carries, or 0 for anything else. */
static inline int xa_err(const void *entry)
{
	if (xa_is_err(entry))
		return (int)((long)entry >> 2);
	return 0;
}

/*
 * True for the internal values a caller may not store (everything internal
 * below 4096 except XA_ZERO_ENTRY).
 */
static inline bool mt_entry_reserved(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry < 4096 &&
	       entry != XA_ZERO_ENTRY;
}

/* ---- The tree ----------------------------------------------------------- */

#define MT_FLAGS_ALLOC_RANGE	0x01	/* track gaps; fixed at init */
#define MT_FLAGS_USE_RCU	0x02	/* readers may run beside the writer */
#define MT_FLAGS_HEIGHT_OFFSET	0x02
#define MT_FLAGS_HEIGHT_MASK	0x7C
#define MT_FLAGS_LOCK_MASK	0x300
#define MT_FLAGS_LOCK_IRQ	0x100	/* accepted; meaningless in userspace */
#define MT_FLAGS_LOCK_BH	0x200	/* accepted; meaningless in userspace */
#define MT_FLAGS_LOCK_EXTERN	0x300	/* writers hold a lock of their own */
#define MT_FLAGS_ALLOC_WRAPPED	0x80 	/* internal: cyclic allocation wrapped */
#define MAPLE_HEIGHT_MAX	31

/* Answers whether the calling thread holds an external lock. */
typedef bool (*mt_lock_held_fn)(void *arg);

/* Try to take an external lock without waiting; and release it. */
typedef bool (*mt_lock_try_fn)(void *lock);
typedef void (*mt_lock_release_fn)(void *lock);

/*
 * A tree. Initialise with mt_init()/mt_init_flags(), DEFINE_MTREE() or
 * MTREE_INIT(); the fields are private.
 */
struct maple_tree {
	pthread_mutex_t ma_lock;	/* internal writer lock */
	void *ma_external_lock;		/* MT_FLAGS_LOCK_EXTERN: the lock */
	mt_lock_held_fn ma_lock_held;	/* ... and how to ask if it is held */
	void *ma_lock_arg;
	pthread_t ma_owner;		/* holder of ma_lock, for checks */
	bool ma_owned;
	unsigned int ma_flags;
	void *ma_root;
	void *ma_retired;		/* nodes waiting to be handed to RCU */
	mt_lock_try_fn ma_trylock;	/* external lock, for compaction */
	mt_lock_release_fn ma_unlock;
	struct maple_tree *ma_next_tree, *ma_prev_tree;	/* trees with nodes */
};

#define MTREE_INIT(name, __flags) {					\
	.ma_lock = PTHREAD_MUTEX_INITIALIZER,				\
	.ma_flags = (__flags),						\
}

#define MTREE_INIT_EXT(name, __flags, __lock) {				\
	.ma_lock = PTHREAD_MUTEX_INITIALIZER,				\
	.ma_external_lock = (void *)(__lock),				\
	.ma_flags = (__flags),						\
}

#define DEFINE_MTREE(name)						\
	struct maple_tree name = MTREE_INIT(name, 0)

/*
 * mt_init_flags() - Initialise an empty tree with @flags (MT_FLAGS_*).
 * A tree that holds nodes must be destroyed (mtree_destroy()) before it is
 * initialised again or its memory freed: the library keeps a list of trees
 * with nodes, for compaction.
 * Context: any; the tree must not be in use. No allocation.
 */
void mt_init_flags(struct maple_tree *mt, unsigned int flags);

/* mt_init() - mt_init_flags(mt, 0). */
void mt_init(struct maple_tree *mt);

/*
 * mtree_destroy() - Free every node of the tree (not the entries) and leave
 * it empty and reusable. In RCU mode the nodes are freed after a grace
 * period, so readers still walking them are safe.
 * Context: takes the lock.
 */
void mtree_destroy(struct maple_tree *mt);

/* __mt_destroy() - mtree_destroy() for a caller that holds the lock. */
void __mt_destroy(struct maple_tree *mt);

/* mtree_empty() - True if no index maps to an entry. Context: any. */
bool mtree_empty(const struct maple_tree *mt);

/*
 * mt_height() - Levels of nodes: 0 for an empty tree or a tree holding a
 * single entry at index 0 in its root pointer, 1 for a single leaf.
 */
unsigned int mt_height(const struct maple_tree *mt);

/* mt_in_rcu() - True if the tree is in RCU mode. */
bool mt_in_rcu(const struct maple_tree *mt);

/*
 * mt_set_in_rcu() / mt_clear_in_rcu() - Switch RCU mode. In RCU mode the
 * writer never changes what a reader may be looking at in place and frees
 * nodes only after a grace period. Context: takes the lock.
 */
void mt_set_in_rcu(struct maple_tree *mt);
void mt_clear_in_rcu(struct maple_tree *mt);

/* ---- Locks -------------------------------------------------------------- */

/*
 * mtree_lock() / mtree_unlock() - Take and release the internal writer lock.
 * Not for trees with MT_FLAGS_LOCK_EXTERN (the call fails loudly).
 */
void mtree_lock(struct maple_tree *mt);
void mtree_unlock(struct maple_tree *mt);

/*
 * mt_set_external_lock() - Record @lock as the lock that guards writes to a
 * tree initialised with MT_FLAGS_LOCK_EXTERN. The tree cannot tell by itself
 * whether a lock is held: register a check with mt_set_external_lock_check()
 * or every write fails loudly. Context: before the tree is used.
 */
void mt_set_external_lock(struct maple_tree *mt, void *lock);

/*
 * mt_set_external_lock_check() - Register @held, called with @arg, which
 * answers whether the calling thread holds the external lock. Write paths
 * call it in debug builds and abort if it answers false.
 */
void mt_set_external_lock_check(struct maple_tree *mt, mt_lock_held_fn held,
				void *arg);

/*
 * mt_set_external_lock_ops() - Let mt_cache_compact() move this tree's
 * nodes: it calls @trylock with the external lock (never waiting for it)
 * and, if that returned true, @unlock when done. Without them the tree's
 * nodes are never moved and compaction counts the tree as skipped.
 * Context: before the tree is used, or with the external lock held. No
 * allocation.
 */
void mt_set_external_lock_ops(struct maple_tree *mt, mt_lock_try_fn trylock,
			      mt_lock_release_fn unlock);

/* mt_external_lock() - The lock given to mt_set_external_lock(), or NULL. */
void *mt_external_lock(const struct maple_tree *mt);

/*
 * mt_lock_is_held() - True if the caller holds the tree's writer lock: the
 * internal lock held by this thread, or the external check's answer.
 */
bool mt_lock_is_held(const struct maple_tree *mt);

/* ---- RCU ---------------------------------------------------------------- */

struct rcu_flavor_struct;

/*
 * mt_set_rcu_flavor() - Use the application's liburcu flavour (for example
 * &urcu_qsbr_flavor, &urcu_memb_flavor from <urcu/urcu-qsbr.h> and friends)
 * for the read-side sections the Normal API takes and for deferred frees.
 * The default is the memb flavour (urcu-memb): reader threads register with
 * urcu_memb_register_thread(). With qsbr, readers must also announce
 * quiescent states. Set it once, before any tree is used.
 */
void mt_set_rcu_flavor(const struct rcu_flavor_struct *flavor);

/* mt_rcu_flavor() - The flavour in use. */
const struct rcu_flavor_struct *mt_rcu_flavor(void);

/* mt_rcu_read_lock() / mt_rcu_read_unlock() - That flavour's read lock. */
void mt_rcu_read_lock(void);
void mt_rcu_read_unlock(void);

struct rcu_head;

/*
 * mt_call_rcu() - Run @fn(@head) after a grace period of the flavour in
 * use: the way to free an object that RCU readers of a tree may still hold
 * (the VA manager frees mappings so). @head is liburcu's struct rcu_head,
 * embedded in the object. Context: any; no allocation.
 */
void mt_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *head));

/*
 * mt_rcu_barrier() - Wait until every node retired so far by any tree has
 * gone back to the node cache. Pending batches of @mt (may be NULL) are
 * handed to RCU first, under its lock: the call takes an internal lock
 * itself, and the caller must hold an external one. Context: must not be
 * called inside a read-side section; may block.
 */
void mt_rcu_barrier(struct maple_tree *mt);

/* ---- Normal API --------------------------------------------------------- */

/*
 * mtree_load() - The entry covering @index, or NULL. XA_ZERO_ENTRY reads as
 * NULL. Context: takes RCU.
 */
void *mtree_load(struct maple_tree *mt, unsigned long index);

/*
 * mtree_store_range() - Store @entry over [@first, @last], overwriting and
 * trimming whatever was there. A NULL @entry erases the span.
 * Context: takes the lock; may allocate as @gfp allows.
 * Return: 0; -EINVAL if @first > @last or @entry is a reserved internal
 * value; -ENOMEM (the tree is unchanged).
 */
int mtree_store_range(struct maple_tree *mt, unsigned long first,
		      unsigned long last, void *entry, gfp_t gfp);

/* mtree_store() - mtree_store_range(mt, index, index, entry, gfp). */
int mtree_store(struct maple_tree *mt, unsigned long index, void *entry,
		gfp_t gfp);

/*
 * mtree_insert_range() - Store @entry over [@first, @last] only if the whole
 * span is empty (a reserved XA_ZERO_ENTRY range counts as occupied).
 * Context: takes the lock; may allocate as @gfp allows.
 * Return: 0; -EEXIST; -EINVAL (bad range, NULL or reserved @entry);
 * -ENOMEM (the tree is unchanged).
 */
int mtree_insert_range(struct maple_tree *mt, unsigned long first,
		       unsigned long last, void *entry, gfp_t gfp);

/* mtree_insert() - mtree_insert_range(mt, index, index, entry, gfp). */
int mtree_insert(struct maple_tree *mt, unsigned long index, void *entry,
		 gfp_t gfp);

/*
 * mtree_erase() - Erase the whole range containing @index.
 * Context: takes the lock; may allocate (GFP_KERNEL); if no memory can be
 * had the entry is left in place and NULL returned.
 * Return: the entry that was there, or NULL.
 */
void *mtree_erase(struct maple_tree *mt, unsigned long index);

/*
 * mt_find() - The first entry at or after *@index and at most @max,
 * skipping NULL and XA_ZERO_ENTRY. On a hit *@index is set to one past the
 * entry's last index (0 after ULONG_MAX). Context: takes RCU.
 * Return: the entry or NULL.
 */
void *mt_find(struct maple_tree *mt, unsigned long *index, unsigned long max);

/*
 * mt_find_after() - NULL if *@index is 0 (the previous hit ended at
 * ULONG_MAX), else mt_find(). Context: takes RCU.
 */
void *mt_find_after(struct maple_tree *mt, unsigned long *index,
		    unsigned long max);

/* mt_for_each() - Loop over each entry from @__index to @__max. */
#define mt_for_each(__tree, __entry, __index, __max)			\
	for (__entry = mt_find(__tree, &(__index), __max);		\
	     __entry; __entry = mt_find_after(__tree, &(__index), __max))

/*
 * mt_next() - The first entry after @index, up to @max, or NULL.
 * mt_prev() - The last entry before @index, down to @min, or NULL.
 * Context: take RCU.
 */
void *mt_next(struct maple_tree *mt, unsigned long index, unsigned long max);
void *mt_prev(struct maple_tree *mt, unsigned long index, unsigned long min);

/* ---- Allocation trees (MT_FLAGS_ALLOC_RANGE) ---------------------------- */

/*
 * mtree_alloc_range() - Find the lowest free span of @size indices inside
 * [@min, @max] and store @entry over it. A span is free when every index in
 * it is NULL (an XA_ZERO_ENTRY reservation is not free).
 * Context: takes the lock; may allocate as @gfp allows (dropping the lock
 * to wait for memory, then searching again).
 * Return: 0 with *@startp set to the span's first index; -EBUSY if no span
 * fits; -EINVAL if @mt does not track gaps, @size is 0, @entry is a
 * reserved internal value (XA_ZERO_ENTRY included), @min > @max or the
 * window is smaller than @size; -ENOMEM (the tree is unchanged).
 */
int mtree_alloc_range(struct maple_tree *mt, unsigned long *startp,
		      void *entry, unsigned long size, unsigned long min,
		      unsigned long max, gfp_t gfp);

/*
 * mtree_alloc_rrange() - As mtree_alloc_range(), but the highest free span
 * inside [@min, @max].
 */
int mtree_alloc_rrange(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long size, unsigned long min,
		       unsigned long max, gfp_t gfp);

/*
 * mtree_alloc_range_aligned() - As mtree_alloc_range(), with constraints a
 * GPU virtual-address allocator needs (an extension; the kernel's tree has
 * no such call): the span's first index is a multiple of @align, and if
 * @boundary is not 0 the span does not cross a multiple of @boundary (it
 * lies within one naturally aligned block of @boundary indices, as a 4 GiB
 * limit on a shader heap asks).
 * Context: as mtree_alloc_range().
 * Return: as mtree_alloc_range(); also -EINVAL if @align is not a power of
 * two, or @boundary is neither 0 nor a power of two at least @size.
 */
int mtree_alloc_range_aligned(struct maple_tree *mt, unsigned long *startp,
			      void *entry, unsigned long size,
			      unsigned long align, unsigned long boundary,
			      unsigned long min, unsigned long max, gfp_t gfp);

/*
 * mtree_alloc_rrange_aligned() - As mtree_alloc_range_aligned(), but the
 * highest span that satisfies the constraints.
 */
int mtree_alloc_rrange_aligned(struct maple_tree *mt, unsigned long *startp,
			       void *entry, unsigned long size,
			       unsigned long align, unsigned long boundary,
			       unsigned long min, unsigned long max, gfp_t gfp);

/*
 * mtree_alloc_cyclic() - Allocate a single index for @entry, the lowest
 * free one at or above max(@range_lo, *@next) and at most @range_hi; if
 * there is none, the lowest free one from @range_lo (the search wrapped).
 * On success *@next is set to *@startp + 1; after handing out ULONG_MAX
 * it is 0 and the next successful call reports the wrap.
 * Context: takes the lock; may allocate as @gfp allows.
 * Return: 0; 1 if the allocation wrapped; -EBUSY if every index in
 * [@range_lo, @range_hi] is taken; -EINVAL if @mt does not track gaps,
 * @entry is reserved or @range_lo > @range_hi; -ENOMEM.
 */
int mtree_alloc_cyclic(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long range_lo,
		       unsigned long range_hi, unsigned long *next, gfp_t gfp);

/*
 * mtree_dup() - Make @new_mt, an empty tree, a copy of @mt: node by node, not
 * by storing entry after entry, so the copy has the same shape. The
 * entries themselves are copied as pointers.
 * Context: takes both trees' locks (@new_mt's first); may allocate as @gfp
 * allows. Readers of @mt may run meanwhile.
 * Return: 0; -EINVAL if the trees' flags (gap tracking, RCU mode, lock
 * kind) differ, @new_mt is not empty, or both are the same tree; -ENOMEM (@new_mt is left empty and
 * nothing is leaked).
 */
int mtree_dup(struct maple_tree *mt, struct maple_tree *new_mt, gfp_t gfp);

/*
 * __mt_dup() - mtree_dup() for a caller that holds both trees' writer
 * locks already. Same returns.
 */
int __mt_dup(struct maple_tree *mt, struct maple_tree *new_mt, gfp_t gfp);

/* ---- Advanced API ------------------------------------------------------- */

enum maple_status {
	ma_active,	/* pointing at a node */
	ma_start,	/* will walk from the root */
	ma_root,	/* the tree is a single entry in its root pointer */
	ma_none,	/* nothing found or the tree is empty */
	ma_pause,	/* parked; resumes after last */
	ma_overflow,	/* went past the upper limit */
	ma_underflow,	/* went below the lower limit */
	ma_error,	/* node holds the error (xa_err()) */
};

struct maple_enode;
struct mt_reservation;

/*
 * The cursor of the Advanced API. index/last hold the range found by the
 * last call (NULL ranges too); the other fields are private.
 */
struct ma_state {
	struct maple_tree *tree;
	unsigned long index;
	unsigned long last;
	struct maple_enode *node;	/* current leaf, or an encoded error */
	unsigned long min;		/* range of node */
	unsigned long max;
	void *alloc;			/* preallocated nodes */
	struct mt_reservation *reservation;
	enum maple_status status;
	unsigned char depth;
	unsigned char offset;
	unsigned char mas_flags;
	unsigned char end;
};

#define MA_STATE(name, mt, __first, __last)				\
	struct ma_state name = {					\
		.tree = (mt),						\
		.index = (__first),					\
		.last = (__last),					\
		.node = NULL,						\
		.min = 0,						\
		.max = ULONG_MAX,					\
		.alloc = NULL,						\
		.reservation = NULL,					\
		.status = ma_start,					\
		.depth = 0,						\
		.offset = 0,						\
		.mas_flags = 0,						\
		.end = 0,						\
	}

/* mas_lock() / mas_unlock() - mtree_lock()/mtree_unlock() of mas->tree. */
void mas_lock(struct ma_state *mas);
void mas_unlock(struct ma_state *mas);

/*
 * mas_is_err() - True if the last call left an error in @mas (read it with
 * xa_err(mas->node)). Context: any; no allocation.
 */
bool mas_is_err(const struct ma_state *mas);

/* mas_reset() - Walk from the root next time; index/last are kept. */
void mas_reset(struct ma_state *mas);

/* __mas_set_range() - Set index/last without resetting the walk state. */
void __mas_set_range(struct ma_state *mas, unsigned long start,
		     unsigned long last);

/* mas_set_range() - Set index/last to [@start, @last] and reset. */
void mas_set_range(struct ma_state *mas, unsigned long start,
		   unsigned long last);

/* mas_set() - mas_set_range(mas, index, index). */
void mas_set(struct ma_state *mas, unsigned long index);

/*
 * mas_pause() - Park the cursor so the lock (or RCU section) may be dropped;
 * the next find or next resumes after last.
 */
void mas_pause(struct ma_state *mas);

/*
 * mas_walk() - The entry at mas->index (XA_ZERO_ENTRY included) and set
 * index/last to the range it covers, NULL ranges too. On an empty tree:
 * NULL, [0, ULONG_MAX], ma_none. Context: lock or RCU.
 */
void *mas_walk(struct ma_state *mas);

/*
 * mas_find() - First call (or after a reset or pause): the first entry at or
 * after index, at most @max; later calls: the next entry. May return
 * XA_ZERO_ENTRY. Context: lock or RCU.
 * Return: the entry, or NULL when there is none up to @max.
 */
void *mas_find(struct ma_state *mas, unsigned long max);

/* mas_find_rev() - mas_find() downward, at least @min. */
void *mas_find_rev(struct ma_state *mas, unsigned long min);

/* mas_find_range() / mas_find_range_rev() - as find, NULL ranges too. */
void *mas_find_range(struct ma_state *mas, unsigned long max);
void *mas_find_range_rev(struct ma_state *mas, unsigned long min);

/*
 * mas_next() - The next entry after the current one, at most @max. Past the
 * limit: NULL and ma_overflow. Context: lock or RCU.
 */
void *mas_next(struct ma_state *mas, unsigned long max);

/* mas_prev() - The previous entry, at least @min; below it ma_underflow. */
void *mas_prev(struct ma_state *mas, unsigned long min);

/* mas_next_range() / mas_prev_range() - as next/prev, NULL ranges too. */
void *mas_next_range(struct ma_state *mas, unsigned long max);
void *mas_prev_range(struct ma_state *mas, unsigned long min);

/* mas_for_each() / mas_for_each_rev() - Loop with mas_find()/_rev(). */
#define mas_for_each(__mas, __entry, __max)				\
	while (((__entry) = mas_find((__mas), (__max))) != NULL)

#define mas_for_each_rev(__mas, __entry, __min)				\
	while (((__entry) = mas_find_rev((__mas), (__min))) != NULL)

/*
 * mas_store() - Store @entry over [index, last] and return the first entry
 * that was overwritten. Uses nodes reserved by mas_preallocate() first; if
 * more are needed and cannot be had without blocking, it fails: mas_is_err()
 * is true and xa_err(mas->node) is -ENOMEM, the tree unchanged.
 * Context: caller holds the lock; may allocate (GFP_NOWAIT).
 */
void *mas_store(struct ma_state *mas, void *entry);

/*
 * mas_store_gfp() - Store @entry over [index, last], allocating as @gfp
 * allows. Context: caller holds the lock. Return: 0, -EINVAL, -ENOMEM (the
 * tree unchanged).
 */
int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp);

/*
 * mas_store_exact() - Store @entry over [index, last] only if that span
 * is exactly one range the tree holds now and replacing it moves no
 * boundary (a NULL @entry needs non-NULL neighbours in the same leaf,
 * else it would merge with them): the entry is then replaced in place, in
 * RCU mode too, so the store needs no node and cannot fail for lack of
 * memory. An extension: the kernel has no such call. Pre-splitting a
 * range (storing its entry over a part of it) makes the part exact.
 * Context: caller holds the lock; no allocation.
 * Return: 0; -EBUSY (not one range, or it would merge: nothing changed);
 * -EINVAL (index > last, or a reserved internal @entry).
 */
int mas_store_exact(struct ma_state *mas, void *entry);

/*
 * mas_preallocate() - Reserve in @mas every node that storing @entry over
 * [index, last] needs on the tree as it is now.
 * Context: caller holds the lock; may allocate as @gfp allows.
 * Return: 0; -EINVAL if index > last or @entry is a reserved internal
 * value; -ENOMEM (nothing is kept).
 */
int mas_preallocate(struct ma_state *mas, void *entry, gfp_t gfp);

/*
 * mas_store_prealloc() - Complete a store prepared by mas_preallocate() on
 * the unchanged tree: it then never allocates and never fails. Releases
 * what is left. Without that preparation it stores as mas_store() does,
 * and may fail the same way (-ENOMEM in @mas, the tree unchanged).
 * Context: caller holds the lock.
 */
void mas_store_prealloc(struct ma_state *mas, void *entry);

/*
 * mas_allocated() - How many nodes @mas holds in reserve (from
 * mas_preallocate() or mas_nomem()), not counting a reservation.
 */
unsigned long mas_allocated(const struct ma_state *mas);

/* mas_destroy() - Release nodes still reserved in @mas. */
void mas_destroy(struct ma_state *mas);

/*
 * mas_erase() - Erase the range containing index, return the old entry.
 * Context: caller holds the lock; may allocate (GFP_KERNEL, dropping and
 * retaking the internal lock if it must).
 */
void *mas_erase(struct ma_state *mas);

/*
 * mas_nomem() - After a store failed with -ENOMEM, get the nodes it asked
 * for as @gfp allows (dropping the internal lock while doing so if @gfp may
 * block; an external lock is never dropped).
 * Return: true if the caller should retry the store.
 */
bool mas_nomem(struct ma_state *mas, gfp_t gfp);

/*
 * mas_empty_area() - Find the lowest span of @size free indices inside
 * [@min, @max] and set index/last to it; the next mas_store() or
 * mas_insert-style store then fills it. Trees with MT_FLAGS_ALLOC_RANGE
 * skip subtrees whose largest gap is too small; other trees are scanned.
 * Context: caller holds the lock. Under the RCU read lock alone the answer
 * is a hint that a writer may already have invalidated. No allocation.
 * Return: 0; -EBUSY if no span fits; -EINVAL if @min > @max, @size is 0 or
 * the window [@min, @max] holds fewer than @size indices.
 */
int mas_empty_area(struct ma_state *mas, unsigned long min, unsigned long max,
		   unsigned long size);

/* mas_empty_area_rev() - As mas_empty_area(), the highest span. */
int mas_empty_area_rev(struct ma_state *mas, unsigned long min,
		       unsigned long max, unsigned long size);

/*
 * mas_empty_area_aligned() - As mas_empty_area(), and the span starts at a
 * multiple of @align (a power of two; 1 for none) and, if @boundary is not
 * 0, does not cross a multiple of @boundary (a power of two, at least
 * @size). Gaps large enough for @size but not once aligned are passed over,
 * so many such gaps cost a scan of them.
 * Return: as mas_empty_area(); also -EINVAL for a bad @align or @boundary.
 */
int mas_empty_area_aligned(struct ma_state *mas, unsigned long min,
			   unsigned long max, unsigned long size,
			   unsigned long align, unsigned long boundary);

/* mas_empty_area_rev_aligned() - The highest such span. */
int mas_empty_area_rev_aligned(struct ma_state *mas, unsigned long min,
			       unsigned long max, unsigned long size,
			       unsigned long align, unsigned long boundary);

/*
 * mas_alloc_cyclic() - mtree_alloc_cyclic() for a caller that holds the
 * lock. Like mas_nomem(), it may drop and retake an internal lock to wait
 * for memory; it then searches again, so the index it returns is free.
 * Works on trees without gap tracking too (by scanning).
 * Return: as mtree_alloc_cyclic(); @mas is left at the allocated index.
 */
int mas_alloc_cyclic(struct ma_state *mas, unsigned long *startp, void *entry,
		     unsigned long range_lo, unsigned long range_hi,
		     unsigned long *next, gfp_t gfp);

/* ---- Debugging ---------------------------------------------------------- */

/*
 * mt_validate() - Check every structural invariant: pivots ascending within
 * each node's bounds, node ranges matching their parent's pivots, parent
 * pointers and slots, uniform leaf depth equal to the height, no two
 * adjacent NULL slots, node occupancy, and in allocation-range trees every
 * recorded largest gap. Context: lock or no concurrent writer.
 * Return: 0, or -EUCLEAN after printing the first violation to stderr.
 */
int mt_validate(struct maple_tree *mt);

enum mt_dump_format {
	mt_dump_dec,
	mt_dump_hex,
};

/* mt_dump() - Print the tree as indented text on stderr. */
void mt_dump(const struct maple_tree *mt, enum mt_dump_format format);

/*
 * mt_dump_dot() - Write the tree as a Graphviz digraph to @out.
 * Return: 0 or -EIO.
 */
int mt_dump_dot(const struct maple_tree *mt, FILE *out);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MAPLETREE_MAPLE_TREE_H */
