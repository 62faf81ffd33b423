/* SPDX-License-Identifier: MIT */
/*
 * Node layout and pointer encodings. Internal to the library.
 *
 * A node is 256 bytes and 256-byte aligned, so a pointer to it has eight
 * free low bits. Slot i of a node covers (pivot[i-1], pivot[i]]; slot 0
 * starts at the node's minimum and the last used slot ends at its maximum,
 * both of which come from the parent. Unused pivots hold the node's
 * maximum, as does the last used one unless every slot is used, so pivots
 * never decrease: the slot for an index and the data end are both found by
 * the same branch-free search, without metadata.
 *
 * Encoded node pointers ("enodes", as stored in the root and in the slots
 * of internal nodes): address | type << 3 | 2. The 2 makes them internal
 * entries above 4096, which a caller's entry never is in the root pointer
 * (such entries are stored in a leaf instead), so a root value tells by
 * itself whether it is a node.
 *
 * In RCU mode a writer changes a reachable node in place in two ways only:
 * it replaces a slot's pointer (same pivots), or it appends to a leaf:
 * it fills slots past the end (which are NULL until then), then lowers the
 * pivots of the new slots from the highest down and the old last slot's
 * pivot last. A reader's binary search reads pivots in any order, so after
 * reading a leaf slot it reads the slot's bounds again
 * (mt_leaf_slot_covers()) and searches again if they no longer hold its
 * index: what it read is then the leaf before or after the append.
 *
 * Parent word of a live node: parent address | slot << 2 for a node whose
 * parent is a node, or tree address | MT_PARENT_ROOT for the root. A dead
 * node (replaced, waiting for a grace period) has MT_PARENT_DEAD set; its
 * other bytes may then be reused for RCU bookkeeping, so a reader checks
 * the parent word after reading anything else and restarts if it is dead.
 */
#ifndef MAPLETREE_NODE_H
#define MAPLETREE_NODE_H

#include <mapletree/maple_tree.h>
#include <stdint.h>

#define MAPLE_NODE_SIZE		256
#define MAPLE_NODE_SLOTS	16
#define MAPLE_NODE_PIVOTS	15
/* Fewest slots a node other than the root or a rightmost node may use. */
#define MAPLE_NODE_MIN		7

/*
 * Internal nodes of allocation-range trees give their last eight slots to
 * the largest gap under each of the first eight. Their pivots are where
 * every node keeps them, and unused ones still hold the node's maximum, so
 * readers search and descend them exactly like range nodes, never looking
 * past slot 7. (The kernel's layout has 10 slots; 8 keeps one search for
 * every node.)
 */
#define MAPLE_ARANGE_SLOTS	8
#define MAPLE_ARANGE_MIN	4

enum maple_type {
	maple_leaf_64 = 1,
	maple_range_64 = 2,
	maple_arange_64 = 3,
};

struct maple_node {
	unsigned long parent;
	unsigned long pivot[MAPLE_NODE_PIVOTS];
	union {
		void *slot[MAPLE_NODE_SLOTS];
		struct {
			void *arange_slot[MAPLE_ARANGE_SLOTS];
			unsigned long gap[MAPLE_ARANGE_SLOTS];
		};
	};
};

_Static_assert(sizeof(struct maple_node) == MAPLE_NODE_SIZE,
	       "a node is 256 bytes");

#define MT_ENODE_MARK		2UL
#define MT_ENODE_TYPE_SHIFT	3
#define MT_NODE_MASK		(~(unsigned long)(MAPLE_NODE_SIZE - 1))

#define MT_PARENT_DEAD		1UL
#define MT_PARENT_ROOT		2UL
#define MT_PARENT_SLOT_SHIFT	2

#if defined(__SANITIZE_THREAD__)
#define MT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MT_TSAN 1
#endif
#endif
#ifdef MT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/*
 * Accesses to fields a concurrent reader may load. A reader follows the
 * pointers a writer published with release, so dependency ordering makes
 * relaxed loads enough on every CPU; ThreadSanitizer does not model that,
 * nor standalone fences, so its builds use acquire loads and no fences.
 */
#ifdef MT_TSAN
#define mt_read(p)		__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define mt_fence_acquire()	do { } while (0)
#define mt_fence_release()	do { } while (0)
#else
#define mt_read(p)		__atomic_load_n(&(p), __ATOMIC_RELAXED)
#define mt_fence_acquire()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define mt_fence_release()	__atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#define mt_write(p, v)		__atomic_store_n(&(p), (v), __ATOMIC_RELAXED)
/* Publication: everything written before is visible to whoever loads it. */
#define mt_publish(p, v)	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define mt_acquire(p)		__atomic_load_n(&(p), __ATOMIC_ACQUIRE)

static inline bool mt_is_node(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry > 4096;
}

static inline struct maple_node *mte_to_node(const void *enode)
{
	return (struct maple_node *)((unsigned long)enode & MT_NODE_MASK);
}

static inline enum maple_type mte_type(const void *enode)
{
	return (enum maple_type)(((unsigned long)enode >> MT_ENODE_TYPE_SHIFT) & 3);
}

static inline bool mte_is_leaf(const void *enode)
{
	return mte_type(enode) == maple_leaf_64;
}

static inline void *mt_mk_enode(struct maple_node *node, enum maple_type type)
{
	return (void *)((unsigned long)node |
			((unsigned long)type << MT_ENODE_TYPE_SHIFT) |
			MT_ENODE_MARK);
}

static inline unsigned long mt_parent_word(struct maple_node *parent,
					   unsigned int slot)
{
	return (unsigned long)parent | ((unsigned long)slot << MT_PARENT_SLOT_SHIFT);
}

static inline unsigned long mt_root_parent_word(const struct maple_tree *mt)
{
	return (unsigned long)mt | MT_PARENT_ROOT;
}

static inline bool mt_node_dead(struct maple_node *node)
{
	mt_fence_acquire();
	return mt_read(node->parent) & MT_PARENT_DEAD;
}

/*
 * The first pivot >= @key, or MAPLE_NODE_PIVOTS if none is: a lower bound
 * over the 15 pivots with a virtual 16th of infinity, in four steps.
 */
static inline unsigned char mt_pivot_search(struct maple_node *node,
					    unsigned long key)
{
	unsigned int i = 0;

	i += mt_read(node->pivot[i + 7]) < key ? 8 : 0;
	i += mt_read(node->pivot[i + 3]) < key ? 4 : 0;
	i += mt_read(node->pivot[i + 1]) < key ? 2 : 0;
	i += mt_read(node->pivot[i]) < key ? 1 : 0;
	return (unsigned char)i;
}

/* Index of the last used slot of a node whose maximum is @max. */
static inline unsigned char mt_node_end(struct maple_node *node,
					unsigned long max)
{
	return mt_pivot_search(node, max);
}

/* Upper bound of slot @off of a node whose maximum is @max. */
static inline unsigned long mt_slot_max(struct maple_node *node,
					unsigned char off, unsigned long max)
{
	return off < MAPLE_NODE_PIVOTS ? mt_read(node->pivot[off]) : max;
}

/* Lower bound of slot @off of a node whose minimum is @min. */
static inline unsigned long mt_slot_min(struct maple_node *node,
					unsigned char off, unsigned long min)
{
	return off ? mt_read(node->pivot[off - 1]) + 1 : min;
}

/*
 * Start loading a node's slots while its pivots are searched: the two
 * misses of a level then overlap instead of following each other.
 */
static inline void mt_prefetch_slots(const struct maple_node *node)
{
	__builtin_prefetch(&node->slot[0]);
	__builtin_prefetch(&node->slot[8]);
}

/* The slot of a node that covers @index (which lies within the node). */
static inline unsigned char mt_node_find(struct maple_node *node,
					 unsigned long index)
{
	return mt_pivot_search(node, index);
}

/*
 * After reading slot @off of a leaf, do its bounds still hold @index (which
 * lies within the leaf)? False only if a writer appended to the leaf in
 * place meanwhile.
 */
static inline bool mt_leaf_slot_covers(struct maple_node *node,
				       unsigned char off, unsigned long index)
{
	mt_fence_acquire();
	if (off && mt_read(node->pivot[off - 1]) >= index)
		return false;
	return off == MAPLE_NODE_PIVOTS || index <= mt_read(node->pivot[off]);
}

/*
 * Read slot @off of a leaf with its bounds [*first, *last], so that the
 * three belong together even while a writer appends in place: the bounds
 * are read before and after the entry and must agree and be ordered. The
 * leaf covers [@min, @max]. False if they did not; the caller walks again.
 */
static inline bool mt_leaf_read_slot(struct maple_node *node,
				     unsigned char off, unsigned long min,
				     unsigned long max, unsigned long *first,
				     unsigned long *last, void **entry)
{
	unsigned long lo = off ? mt_read(node->pivot[off - 1]) : 0;
	unsigned long hi = mt_slot_max(node, off, max);

	*entry = mt_read(node->slot[off]);
	mt_fence_acquire();
	if ((off && (mt_read(node->pivot[off - 1]) != lo || lo >= hi)) ||
	    mt_slot_max(node, off, max) != hi)
		return false;
	*first = off ? lo + 1 : min;
	*last = hi;
	return true;
}

/*
 * Gaps. A NULL range [lo, hi] has a gap of hi - lo + 1; the whole space
 * would overflow that and counts as ULONG_MAX, which any size still fits.
 */
static inline unsigned long mt_range_gap(unsigned long lo, unsigned long hi)
{
	return hi - lo == ULONG_MAX ? ULONG_MAX : hi - lo + 1;
}

/* The largest NULL range among @n leaf slots that cover [min, max]. */
static inline unsigned long mt_slots_gap(const unsigned long *pivot,
					 void *const *slot, unsigned int n,
					 unsigned long min, unsigned long max)
{
	unsigned long lo = min, gap = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		unsigned long hi = i + 1 == n ? max : pivot[i];

		if (!slot[i] && mt_range_gap(lo, hi) > gap)
			gap = mt_range_gap(lo, hi);
		lo = hi + 1;
	}
	return gap;
}

static inline unsigned long mt_gaps_max(const unsigned long *gap,
					unsigned int n)
{
	unsigned long max = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (gap[i] > max)
			max = gap[i];
	return max;
}

/* Internal values a range allocation may not store (XA_ZERO_ENTRY too). */
static inline bool mt_is_reserved(const void *entry)
{
	return xa_is_internal(entry) && (unsigned long)entry < 4096;
}

/* Writers hold an external lock (read atomically: see mt_flags_update()). */
static inline bool mt_external_locked(const struct maple_tree *mt)
{
	return (mt_read(((struct maple_tree *)mt)->ma_flags) &
		MT_FLAGS_LOCK_MASK) == MT_FLAGS_LOCK_EXTERN;
}

static inline bool mt_alloc_tree(const struct maple_tree *mt)
{
	return mt->ma_flags & MT_FLAGS_ALLOC_RANGE;
}

static inline unsigned int mt_tree_height(const struct maple_tree *mt)
{
	return (mt->ma_flags & MT_FLAGS_HEIGHT_MASK) >> MT_FLAGS_HEIGHT_OFFSET;
}

/*
 * The writer changes ma_flags under the tree's lock; compaction reads the
 * lock kind without it, so the word is written whole, atomically.
 */
static inline void mt_flags_update(struct maple_tree *mt, unsigned int clear,
				   unsigned int set)
{
	mt_write(mt->ma_flags, (mt->ma_flags & ~clear) | set);
}

static inline void mt_set_height(struct maple_tree *mt, unsigned int height)
{
	mt_flags_update(mt, MT_FLAGS_HEIGHT_MASK,
			height << MT_FLAGS_HEIGHT_OFFSET);
}

static inline bool mt_rcu_mode(const struct maple_tree *mt)
{
	return mt->ma_flags & MT_FLAGS_USE_RCU;
}

/* ---- Shared between the files of src/maple ------------------------------ */

/*
 * Free nodes (in a slab, the emergency reserve, a cursor's preallocation or
 * a reservation) are kept on lists linked through slot[0].
 */
static inline void mt_list_push(void **head, struct maple_node *node)
{
	node->slot[0] = *head;
	*head = node;
}

static inline struct maple_node *mt_list_pop(void **head)
{
	struct maple_node *node = *head;

	if (node)
		*head = node->slot[0];
	return node;
}

/* Leave @err (a negative errno) in @mas: ma_error, xa_err(mas->node). */
static inline void mas_set_err(struct ma_state *mas, int err)
{
	mas->node = (struct maple_enode *)xa_mk_internal((unsigned long)(long)err);
	mas->status = ma_error;
}

/* Node allocation (src/alloc). The node's contents are undefined. */
struct maple_node *mt_node_alloc(gfp_t gfp);
void mt_node_free(struct maple_node *node);
void mt_node_account_rcu(void);

/*
 * Nodes retired together: the first dead node of a batch is reused to hold
 * the others' addresses (its bytes may be reused once it is marked dead),
 * so no other dead node is written, and after the grace period the cache
 * takes the whole batch by reading one array instead of chasing pointers
 * through cold nodes.
 */
#define MT_BATCH_NODES	28

struct maple_batch {
	unsigned long parent;		/* the dead mark */
	unsigned long rcu[2];		/* struct rcu_head; then the cache's link */
	unsigned long count;		/* entries used in node[] */
	struct maple_node *node[MT_BATCH_NODES];
};

_Static_assert(sizeof(struct maple_batch) == MAPLE_NODE_SIZE,
	       "a batch fills its first node");

/* Compaction (node_cache.c): slabs being emptied, dense allocation. */
unsigned int mt_cache_drain_begin(void);
bool mt_node_draining(const struct maple_node *node);
struct maple_node *mt_node_alloc_dense(void);
size_t mt_cache_drain_end(unsigned long *left, unsigned long *released);

/* compact.c: the list of trees that have nodes (writer lock held). */
void mt_tree_root_changed(struct maple_tree *mt, const void *old_root);

/* A batch whose grace period has ended: its nodes are free. */
void mt_node_free_batch(struct maple_batch *batch);

/* Start fetching the node the next allocation will return, for writing. */
void mt_node_prefetch(void);

/* rcu.c: retire a replaced node (RCU mode) or free it at once. */
void mt_node_retire(struct maple_tree *mt, struct maple_node *node);
void mt_retired_flush(struct maple_tree *mt);

/* lock.c: abort unless the caller holds the writer lock (debug builds). */
void mt_assert_locked(const struct maple_tree *mt, const char *func);
/* lock.c: take the internal lock if it is free (for compaction). */
bool mtree_trylock(struct maple_tree *mt);

/* tree.c: the Normal API's writer lock (checked for external locks). */
void mt_normal_lock(struct maple_tree *mt);
void mt_normal_unlock(struct maple_tree *mt);

/* walk.c: the reader's descent. */
void *mt_root(const struct maple_tree *mt);
void *mas_descend(struct ma_state *mas, unsigned long index);

/* reserve.c: nodes in and out of a reservation (tree lock held). */
struct maple_node *mt_reservation_take(struct mt_reservation *res);
void mt_reservation_give(struct mt_reservation *res, struct maple_node *node);

/* store.c */
#define MT_STORE_INSERT		1	/* only into an empty span */
#define MT_STORE_DRY		2	/* count the nodes needed, change nothing */
#define MT_STORE_ERASE		4	/* the whole range holding first */
#define MT_STORE_EXACT		8	/* only in place over one slot */
int mt_store_range(struct ma_state *mas, unsigned long first,
		   unsigned long last, void *entry, gfp_t gfp, unsigned int flags,
		   void **found);

/* normal.c: anything (XA_ZERO_ENTRY included) in [first, last]? */
bool mt_find_any(struct maple_tree *mt, unsigned long first,
		 unsigned long last);
void mas_release_alloc(struct ma_state *mas);

#endif /* MAPLETREE_NODE_H */
