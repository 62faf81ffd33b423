/* SPDX-License-Identifier: MIT */
/*
 * mapletree-gpuvm: GPU virtual address spaces on the maple tree.
 *
 * The semantics follow the Linux kernel's DRM GPUVM without the drm_
 * prefix, GEM or dma-resv: a VA space (struct gpuvm) holds mappings
 * (struct gpuva) of buffer objects (struct gpuvm_bo_handle, embedded in the
 * driver's own BO) at u64 addresses; struct gpuvm_bo is the unique (VA
 * space, BO) pair that lists a BO's mappings in one space. Map and unmap
 * requests are split and merged into ordered MAP/REMAP/UNMAP operations,
 * either handed to callbacks or returned as a list.
 *
 * The mappings live in a maple tree in RCU mode, so lookups (a GPU fault
 * handler, a debugger) run lock-free beside the writer.
 *
 * Contexts used in the comments below:
 *  - "VM lock": the caller holds gpuvm_lock(); every change to a VA
 *    space's mappings needs it, and the library checks (the call aborts
 *    with a message if the lock is not held by the calling thread).
 *  - "RCU": the caller is inside an RCU read-side section of the flavour
 *    given to mt_set_rcu_flavor() (mt_rcu_read_lock()), or holds the VM
 *    lock. Mappings found are valid until the section ends, because removed
 *    mappings are freed after a grace period (gpuva_free_rcu()). A reader
 *    without the VM lock may read a mapping's va, bo and bo_offset, and
 *    gpuva_invalidated(); its links (vm_bo, bo_entry) belong to the
 *    writer.
 *  - "May allocate": the call may call the system allocator (and counts
 *    as an allocation for mt_fault_inject() and forbidden sections).
 *
 * Addresses: a range is [addr, addr + range); ranges of size 0 and ranges
 * whose end overflows 64 bits are invalid everywhere. 64-bit hosts only.
 * Errors are negative errno values.
 */
#ifndef MAPLETREE_GPUVM_H
#define MAPLETREE_GPUVM_H

#include <stdbool.h>
#include <stdint.h>
#include <urcu/list.h>
#include <mapletree/maple_tree.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct gpuvm;
struct gpuvm_bo;
struct gpuva;
struct gpuva_op;

/* Space for an RCU callback head inside the library's objects. */
struct gpuvm_rcu_head {
	void *private_[2];
};

/* ---- Buffer objects ----------------------------------------------------- */

/*
 * A buffer object as the VA manager sees it. Embed it in the driver's BO
 * and initialise it with gpuvm_bo_handle_init(); the library owns no GPU
 * memory. Fields are read-only for the driver.
 */
struct gpuvm_bo_handle {
	uint64_t size;			/* 0: mappings are not bounds-checked */
	struct gpuvm *private_vm;	/* the only VA space it may map into,
					 * or NULL: an external (shared) BO */
	pthread_mutex_t lock;		/* guards vm_bos */
	struct cds_list_head vm_bos;	/* its struct gpuvm_bo, one per space */
};

/*
 * gpuvm_bo_handle_init() - Initialise @obj for a BO of @size bytes (0: no
 * bounds checks), private to @private_vm or external (NULL). A private BO
 * is never put on its VA space's external-object list, and mapping it into
 * another space is -EINVAL. Context: any; no allocation.
 */
void gpuvm_bo_handle_init(struct gpuvm_bo_handle *obj, uint64_t size,
			  struct gpuvm *private_vm);

/*
 * gpuvm_bo_handle_fini() - Release @obj's resources before the driver frees
 * the BO. Return: 0, or -EBUSY (nothing done) while a struct gpuvm_bo for
 * it still exists.
 */
int gpuvm_bo_handle_fini(struct gpuvm_bo_handle *obj);

/* ---- Mappings ----------------------------------------------------------- */

#define GPUVA_INVALIDATED	(1u << 0)	/* backing was evicted */
#define GPUVA_SPARSE		(1u << 1)	/* a sparse (NULL) mapping */
#define GPUVA_USERBITS		(1u << 2)	/* first bit free for drivers */

/*
 * One mapping: [va.addr, va.addr + va.range) maps @bo at @bo_offset (or
 * nothing, for a NULL/sparse mapping with @bo NULL). Embeddable in the
 * driver's own struct. Once inserted, addr, range, bo and bo_offset never
 * change: a split replaces the mapping with new ones (REMAP), so a reader
 * that found a mapping may read them without a lock.
 */
struct gpuva {
	struct gpuvm *vm;		/* set by gpuva_insert() */
	struct gpuvm_bo *vm_bo;		/* set by gpuva_link() */
	uint32_t flags;			/* GPUVA_*; see gpuva_invalidate() */
	struct {
		uint64_t addr;
		uint64_t range;
	} va;
	struct gpuvm_bo_handle *bo;
	uint64_t bo_offset;
	struct cds_list_head bo_entry;	/* in vm_bo's list; VM lock */
	struct gpuvm_rcu_head rcu;	/* private: deferred free */
};

/*
 * gpuva_init() - Fill in a mapping before it is inserted: the range, the
 * BO (or NULL) and the offset into it; flags and links cleared.
 * Context: any; no allocation.
 */
void gpuva_init(struct gpuva *va, uint64_t addr, uint64_t range,
		struct gpuvm_bo_handle *bo, uint64_t bo_offset);

/*
 * gpuva_insert() - Insert @va (filled in by gpuva_init()) into @vm.
 * Context: VM lock; may allocate.
 * Return: 0; -EINVAL if the range is empty, overflows, leaves the VA space
 * or touches its reserved region, or the BO is private to another space or
 * too small for bo_offset + range; -EEXIST if a mapping overlaps it;
 * -ENOMEM. On error nothing changed.
 */
int gpuva_insert(struct gpuvm *vm, struct gpuva *va);

/*
 * gpuva_remove() - Take @va out of its VA space. It stays linked to its
 * vm_bo (see gpuva_unlink()) and must be freed only after a grace period
 * (gpuva_free_rcu()), since lock-free readers may still hold it.
 * The range reads as unmapped at once. Between two mappings it becomes
 * free space in place; next to free space it joins it when the VM lock is
 * released (see gpuvm_unlock()). Never fails.
 * Context: VM lock; no allocation.
 */
void gpuva_remove(struct gpuva *va);

/*
 * gpuva_link() - Add @va to @vm_bo's mappings and take a reference on
 * @vm_bo; @va->bo must be @vm_bo's BO. NULL-BO mappings are never linked.
 * Context: VM lock; no allocation.
 */
void gpuva_link(struct gpuva *va, struct gpuvm_bo *vm_bo);

/*
 * gpuva_unlink() - Remove @va from its vm_bo's mappings and drop the
 * reference gpuva_link() took (which may free the vm_bo). No-op for an
 * unlinked mapping. Context: VM lock; no allocation.
 */
void gpuva_unlink(struct gpuva *va);

/*
 * gpuva_invalidate() - Set or clear GPUVA_INVALIDATED. Readers may test
 * the flag with gpuva_invalidated() at any time. Context: VM lock.
 */
void gpuva_invalidate(struct gpuva *va, bool invalidate);

/* gpuva_invalidated() - True if GPUVA_INVALIDATED is set. Context: any. */
bool gpuva_invalidated(const struct gpuva *va);

/*
 * gpuva_free_rcu() - Free @va with its VA space's ops->va_free (free() if
 * NULL) once every RCU reader that may have found it is done. @va must be
 * removed and unlinked. Under the VM lock the frees are batched and the
 * grace period starts at gpuvm_unlock(). The VA space must stay alive
 * until the callback has run; its final gpuvm_put() waits for that.
 * Context: any; no allocation.
 */
void gpuva_free_rcu(struct gpuva *va);

/*
 * gpuva_find() - The mapping that is exactly [@addr, @addr + @range), or
 * NULL. Context: VM lock or RCU; no allocation.
 */
struct gpuva *gpuva_find(struct gpuvm *vm, uint64_t addr, uint64_t range);

/*
 * gpuva_find_first() - The lowest mapping that overlaps [@addr, @addr +
 * @range), or NULL (also for an invalid range). Context: VM lock or RCU.
 */
struct gpuva *gpuva_find_first(struct gpuvm *vm, uint64_t addr,
			       uint64_t range);

/*
 * gpuva_find_prev() - The mapping that ends exactly at @start (covers
 * @start - 1), or NULL. Context: VM lock or RCU.
 */
struct gpuva *gpuva_find_prev(struct gpuvm *vm, uint64_t start);

/*
 * gpuva_find_next() - The mapping that starts exactly at @end, or NULL.
 * Context: VM lock or RCU.
 */
struct gpuva *gpuva_find_next(struct gpuvm *vm, uint64_t end);

/*
 * gpuvm_lookup() - The mapping covering @addr, or NULL: what a GPU fault
 * handler asks. Lock-free. Context: RCU (the result is valid until the
 * read-side section ends) or VM lock; no allocation.
 */
struct gpuva *gpuvm_lookup(struct gpuvm *vm, uint64_t addr);

/*
 * gpuvm_iter_next() - Iteration step: the lowest mapping that overlaps
 * [*@next, @end), after which *@next is set to that mapping's end; NULL
 * when there is none. Because the position is an address, the visited
 * mapping may be removed (or replaced) before the next step.
 * Context: VM lock or RCU.
 */
struct gpuva *gpuvm_iter_next(struct gpuvm *vm, uint64_t *next, uint64_t end);

/*
 * gpuvm_for_each_va_range() - Visit, in ascending order, every mapping
 * that overlaps [@start, @end). The body may remove the visited mapping.
 * gpuvm_for_each_va() - The same over the whole VA space.
 */
#define gpuvm_for_each_va_range(va__, vm__, start__, end__)		\
	for (uint64_t gpuvm_pos__ = (start__);				\
	     ((va__) = gpuvm_iter_next((vm__), &gpuvm_pos__, (end__))) != NULL;)

#define gpuvm_for_each_va(va__, vm__)					\
	gpuvm_for_each_va_range(va__, vm__, 0, UINT64_MAX)

/* ---- VA spaces ---------------------------------------------------------- */

/*
 * Driver hooks. Every member may be NULL: allocation hooks then use
 * malloc()/free(); the split/merge step callbacks are needed only by
 * gpuvm_sm_map()/gpuvm_sm_unmap(), and vm_bo_validate only by
 * gpuvm_validate(). va_free runs from an RCU callback and vm_bo_free from
 * gpuvm_bo_put(); neither may take the VM lock (the final gpuvm_put()
 * waits for pending frees while holding it).
 */
struct gpuvm_ops {
	/* Called by the final gpuvm_put(), after teardown. */
	void (*vm_free)(struct gpuvm *vm);
	/* Frees a mapping (gpuva_free_rcu(), teardown). */
	void (*va_free)(struct gpuva *va);
	/* Allocate and free operations (to embed them in a driver struct). */
	struct gpuva_op *(*op_alloc)(void);
	void (*op_free)(struct gpuva_op *op);
	/* Allocate and free struct gpuvm_bo (to embed it). */
	struct gpuvm_bo *(*vm_bo_alloc)(void);
	void (*vm_bo_free)(struct gpuvm_bo *vm_bo);
	/* Make an evicted BO resident again; 0 or a negative errno. */
	int (*vm_bo_validate)(struct gpuvm_bo *vm_bo, void *priv);
	/* Split/merge steps: 0 to go on, or an error that aborts the walk. */
	int (*sm_step_map)(struct gpuva_op *op, void *priv);
	int (*sm_step_remap)(struct gpuva_op *op, void *priv);
	int (*sm_step_unmap)(struct gpuva_op *op, void *priv);
	/* Told of each mapping still present at teardown, before it is freed. */
	void (*va_leftover)(struct gpuvm *vm, struct gpuva *va);
	/* Allocates the mappings a bind queue makes (with va_free: embed). */
	struct gpuva *(*va_alloc)(void);
};

#define GPUVM_NO_VA_ALLOCATOR	(1u << 0)	/* no gap tracking: gpuvm_va_alloc()
						 * scans, lookups are a level shorter */

/* Private: a span [start, end) of a VA space. */
struct gpuvm_range {
	uint64_t start, end;
};

#define GPUVM_PENDING_MAX	32

/*
 * A VA space [mm_start, mm_start + mm_range), with an optional reserved
 * region no request may touch. Embeddable; initialise with gpuvm_init().
 * The fields are private except name, mm_start, mm_range, reserve_start,
 * reserve_range and ops, which are read-only.
 */
struct gpuvm {
	const char *name;
	unsigned int flags;
	uint64_t mm_start, mm_range;
	uint64_t reserve_start, reserve_range;
	const struct gpuvm_ops *ops;
	long refcount;			/* atomic */
	unsigned long nr_mappings;	/* VM lock */
	struct maple_tree mt;		/* [addr, addr + range - 1] -> gpuva */
	pthread_mutex_t lock;
	pthread_t lock_owner;
	bool lock_owned;
	struct {
		pthread_mutex_t lock;
		struct cds_list_head list;
	} extobj, evict;
	/* Removed mappings not yet merged into free space; VM lock. */
	struct gpuvm_range pending[GPUVM_PENDING_MAX];
	unsigned int nr_pending;
	struct gpuva *free_batch;	/* freed under the VM lock; VM lock */
	struct maple_tree boundaries;	/* addresses pending binds split at */
	int unusable;			/* atomic: a bind failed to run */
};

/*
 * gpuvm_init() - Initialise @vm as the VA space [@start, @start + @range)
 * with a reserved region [@reserve_start, @reserve_start + @reserve_range)
 * (@reserve_range 0: none), flags GPUVM_*, and @ops (may be NULL). @name
 * is kept, not copied. The reference count starts at 1.
 * Context: any; may allocate.
 * Return: 0; -EINVAL if @range is 0, the space overflows 64 bits, the
 * reserved region is not inside it or @flags has unknown bits; -ENOMEM.
 */
int gpuvm_init(struct gpuvm *vm, const char *name, unsigned int flags,
	       uint64_t start, uint64_t range, uint64_t reserve_start,
	       uint64_t reserve_range, const struct gpuvm_ops *ops);

/* gpuvm_get() - Take a reference; returns @vm. Context: any. */
struct gpuvm *gpuvm_get(struct gpuvm *vm);

/*
 * gpuvm_put() - Drop a reference. The last one tears the space down: every
 * mapping still in it is reported (ops->va_leftover, or one line on stderr
 * giving the count) and freed with ops->va_free; it then waits for pending
 * RCU frees and calls ops->vm_free. Every struct gpuvm_bo holds a
 * reference, and every linked mapping holds its vm_bo: unlink or unmap
 * them first. Context: not inside an RCU read-side section or an RCU
 * callback, and not with the VM lock held, for the final put.
 */
void gpuvm_put(struct gpuvm *vm);

/*
 * gpuvm_lock() / gpuvm_unlock() - Take and release the VM lock, which
 * serialises every change to the space's mappings and to its vm_bos'
 * mapping lists. Not recursive. Before releasing it, gpuvm_unlock() merges
 * the ranges of mappings removed under it into the free space around them
 * (one tree store per run of adjacent ranges), so it may allocate; if it
 * cannot, they stay unmapped and merge at a later unlock.
 * Context: any thread.
 */
void gpuvm_lock(struct gpuvm *vm);
void gpuvm_unlock(struct gpuvm *vm);

/* gpuvm_is_locked() - True if the calling thread holds the VM lock. */
bool gpuvm_is_locked(struct gpuvm *vm);

/*
 * gpuvm_range_valid() - True if [@addr, @addr + @range) is a non-empty
 * range that does not overflow, lies inside the VA space and does not
 * touch the reserved region. Context: any.
 */
bool gpuvm_range_valid(const struct gpuvm *vm, uint64_t addr, uint64_t range);

/* gpuvm_mapping_count() - Mappings in the space. Context: VM lock or any
 * (then a snapshot). */
unsigned long gpuvm_mapping_count(const struct gpuvm *vm);

/* gpuvm_tree() - The maple tree that holds the mappings, for mt_dump(),
 * mt_validate() and statistics. Do not change it directly. */
struct maple_tree *gpuvm_tree(struct gpuvm *vm);

/* ---- VM-BO pairs -------------------------------------------------------- */

/*
 * The unique (VA space, BO) pair. Reference counted; holds a reference on
 * its VA space. @gpuvas lists the BO's mappings in the space (VM lock).
 * Embeddable through ops->vm_bo_alloc; the fields are read-only.
 */
struct gpuvm_bo {
	struct gpuvm *vm;
	struct gpuvm_bo_handle *obj;
	long refcount;			/* atomic */
	bool evicted;			/* evict lock */
	unsigned long evictions;	/* evict lock; private */
	struct cds_list_head gpuvas;	/* struct gpuva.bo_entry; VM lock */
	struct cds_list_head obj_entry;	/* in obj->vm_bos; obj lock */
	struct cds_list_head extobj_entry;
	struct cds_list_head evict_entry;
};

/*
 * gpuvm_bo_create() - Allocate a vm_bo for (@vm, @obj) with one reference,
 * not yet known to either: pass it to gpuvm_bo_obtain_prealloc(). For
 * callers that must not allocate later. Context: any; may allocate.
 * Return: the vm_bo, or NULL (out of memory, or @obj is private to another
 * VA space).
 */
struct gpuvm_bo *gpuvm_bo_create(struct gpuvm *vm,
				 struct gpuvm_bo_handle *obj);

/*
 * gpuvm_bo_obtain() - Find the vm_bo of (@vm, @obj) and take a reference,
 * or create it (external BOs then join the space's external-object list).
 * Context: any thread; takes the BO's lock; may allocate.
 * Return: 0 with *@out set; -EINVAL (@obj private to another space);
 * -ENOMEM.
 */
int gpuvm_bo_obtain(struct gpuvm *vm, struct gpuvm_bo_handle *obj,
		    struct gpuvm_bo **out);

/*
 * gpuvm_bo_obtain_prealloc() - gpuvm_bo_obtain() with a vm_bo made by
 * gpuvm_bo_create(): returns the existing pair with a new reference (and
 * frees @prealloc) or installs @prealloc. Context: any thread; takes the
 * BO's lock; no allocation.
 */
struct gpuvm_bo *gpuvm_bo_obtain_prealloc(struct gpuvm_bo *prealloc);

/*
 * gpuvm_bo_find() - The vm_bo of (@vm, @obj) with a new reference, or
 * NULL. Context: any thread; takes the BO's lock; no allocation.
 */
struct gpuvm_bo *gpuvm_bo_find(struct gpuvm *vm, struct gpuvm_bo_handle *obj);

/* gpuvm_bo_get() - Take a reference; returns @vm_bo. Context: any. */
struct gpuvm_bo *gpuvm_bo_get(struct gpuvm_bo *vm_bo);

/*
 * gpuvm_bo_put() - Drop a reference. The last one takes the vm_bo off the
 * BO's list and the space's external-object and evicted lists, frees it
 * (ops->vm_bo_free, or free()) and drops its reference on the VA space,
 * which may be the space's last (see gpuvm_put()). Return: true if it was
 * the last. Context: any thread not holding the BO's lock or the space's
 * list locks; no allocation.
 */
bool gpuvm_bo_put(struct gpuvm_bo *vm_bo);

/*
 * gpuvm_bo_evict() - Mark @vm_bo evicted (it joins its VA space's evicted
 * list) or resident again (it leaves it). Marking the mappings
 * GPUVA_INVALIDATED is the driver's business.
 * gpuvm_bo_handle_evict() - The same for the vm_bo of every VA space @obj
 * is in. Context: any thread; the VM lock is not needed; no allocation.
 */
void gpuvm_bo_evict(struct gpuvm_bo *vm_bo, bool evict);
void gpuvm_bo_handle_evict(struct gpuvm_bo_handle *obj, bool evict);

/*
 * gpuvm_validate() - Call ops->vm_bo_validate(vm_bo, @priv) for each
 * evicted vm_bo of @vm and take it off the evicted list when that returns
 * 0. Stops at the first error. The callback may evict BOs.
 * Return: 0; the callback's error; -EINVAL if evicted BOs exist and there
 * is no callback. Context: any thread.
 */
int gpuvm_validate(struct gpuvm *vm, void *priv);

/*
 * gpuvm_extobj_for_each() / gpuvm_evicted_for_each() - Call @fn for each
 * vm_bo on the space's external-object (evicted) list, stopping at the
 * first non-zero return, which is returned. @fn runs under the list's lock
 * and must not obtain, put or evict vm_bos of this space.
 */
int gpuvm_extobj_for_each(struct gpuvm *vm,
			  int (*fn)(struct gpuvm_bo *vm_bo, void *priv),
			  void *priv);
int gpuvm_evicted_for_each(struct gpuvm *vm,
			   int (*fn)(struct gpuvm_bo *vm_bo, void *priv),
			   void *priv);

/* gpuvm_bo_for_each_va() - Visit every mapping of @vm_bo (VM lock). */
#define gpuvm_bo_for_each_va(va__, vm_bo__)				\
	cds_list_for_each_entry(va__, &(vm_bo__)->gpuvas, bo_entry)

/* ---- Split and merge ---------------------------------------------------- */

enum gpuva_op_type {
	GPUVA_OP_MAP,
	GPUVA_OP_REMAP,
	GPUVA_OP_UNMAP,
	GPUVA_OP_PREFETCH,
};

/* A mapping to create: a MAP op, or a piece a REMAP keeps. */
struct gpuva_op_map {
	struct {
		uint64_t addr;
		uint64_t range;
	} va;
	struct gpuvm_bo_handle *bo;
	uint64_t bo_offset;
	uint32_t flags;			/* GPUVA_* for the new mapping */
};

/*
 * Remove @va. @keep: the request maps the same BO at the same offsets over
 * it, so the driver may keep its page-table entries.
 */
struct gpuva_op_unmap {
	struct gpuva *va;
	bool keep;
};

/*
 * Remove unmap->va but keep the pieces before (@prev) and after (@next)
 * the request, each a new mapping of the same BO (either may be NULL).
 * prev_map, next_map and unmap_op are the storage the pointers use.
 */
struct gpuva_op_remap {
	struct gpuva_op_map *prev;
	struct gpuva_op_map *next;
	struct gpuva_op_unmap *unmap;
	struct gpuva_op_map prev_map, next_map;
	struct gpuva_op_unmap unmap_op;
};

struct gpuva_op_prefetch {
	struct gpuva *va;
};

struct gpuva_op {
	struct cds_list_head entry;	/* in struct gpuva_ops */
	enum gpuva_op_type op;
	__extension__ union {
		struct gpuva_op_map map;
		struct gpuva_op_remap remap;
		struct gpuva_op_unmap unmap;
		struct gpuva_op_prefetch prefetch;
	};
};

/* An ordered list of operations, from a gpuvm_*_ops_create() call. */
struct gpuva_ops {
	struct cds_list_head list;
};

#define gpuva_for_each_op(op__, ops__)					\
	cds_list_for_each_entry(op__, &(ops__)->list, entry)
#define gpuva_for_each_op_safe(op__, next__, ops__)			\
	cds_list_for_each_entry_safe(op__, next__, &(ops__)->list, entry)
#define gpuva_for_each_op_reverse(op__, ops__)				\
	cds_list_for_each_entry_reverse(op__, &(ops__)->list, entry)

/* A map request: map bo at bo_offset over [va.addr, va.addr + va.range). */
struct gpuvm_map_req {
	struct gpuva_op_map map;
};

/*
 * gpuvm_sm_map() - Split and merge a map request against the mappings of
 * @vm and hand each operation, in order, to ops->sm_step_unmap/_remap/_map
 * with @priv: for each existing mapping overlapping the request, in
 * ascending order, an UNMAP (wholly covered) or a REMAP (partly covered:
 * the pieces outside are kept), then one MAP of the request. The table in
 * docs/gpuvm.md ("Split and merge") gives every case. The callbacks may
 * apply each operation (gpuva_unmap(), gpuva_remap(), gpuva_map()) as it
 * comes. The op handed to a callback lives only during the call.
 * Context: VM lock; allocates nothing itself.
 * Return: 0; -EINVAL for an invalid request (see gpuva_insert()) or a
 * missing step callback, nothing called; the first callback error.
 */
int gpuvm_sm_map(struct gpuvm *vm, void *priv,
		 const struct gpuvm_map_req *req);

/*
 * gpuvm_sm_unmap() - The same for an unmap request [@addr, @addr +
 * @range): REMAP (keep = false) for mappings partly inside, UNMAP (keep =
 * false) for those wholly inside, no MAP. A range holding no mapping calls
 * nothing and succeeds. Context: VM lock. Return: as gpuvm_sm_map().
 */
int gpuvm_sm_unmap(struct gpuvm *vm, void *priv, uint64_t addr,
		   uint64_t range);

/*
 * gpuvm_sm_map_ops_create() / gpuvm_sm_unmap_ops_create() - The operations
 * gpuvm_sm_map()/gpuvm_sm_unmap() would hand to the callbacks, as a list
 * in *@out. The tree is not changed. Apply the ops in list order.
 * Context: VM lock (the list describes the space as it is under it); may
 * allocate. Return: 0; -EINVAL (invalid request, nothing allocated);
 * -ENOMEM (everything made is freed).
 */
int gpuvm_sm_map_ops_create(struct gpuvm *vm, const struct gpuvm_map_req *req,
			    struct gpuva_ops **out);
int gpuvm_sm_unmap_ops_create(struct gpuvm *vm, uint64_t addr, uint64_t range,
			      struct gpuva_ops **out);

/*
 * gpuvm_madvise_ops_create() - The splits an attribute change over the
 * request's range needs: mappings with a BO are skipped; a NULL-BO mapping
 * crossing an edge of the request gets a REMAP keeping its outside piece
 * and a MAP of its covered piece carrying only the request's flags (no BO);
 * wholly covered mappings get nothing. No UNMAP; at most 2 REMAP + 2 MAP,
 * in address order. The request's bo and bo_offset are not used (a flag
 * such as GPUVA_SPARSE must be in its flags to reach the MAP ops).
 * Context: VM lock; may allocate. Return: 0; -EINVAL (the range is not
 * valid in the space, or @out is NULL); -ENOMEM (everything made is
 * freed).
 */
int gpuvm_madvise_ops_create(struct gpuvm *vm, const struct gpuvm_map_req *req,
			     struct gpuva_ops **out);

/*
 * gpuvm_prefetch_ops_create() - A PREFETCH op for each mapping overlapping
 * [@addr, @addr + @range), in address order. Context, return: as
 * gpuvm_sm_map_ops_create().
 */
int gpuvm_prefetch_ops_create(struct gpuvm *vm, uint64_t addr, uint64_t range,
			      struct gpuva_ops **out);

/*
 * gpuvm_bo_unmap_ops_create() - An UNMAP op (keep = false) for each mapping
 * of @vm_bo. Context: VM lock; may allocate. Return: 0; -EINVAL (@out is
 * NULL); -ENOMEM (everything made is freed).
 */
int gpuvm_bo_unmap_ops_create(struct gpuvm_bo *vm_bo, struct gpuva_ops **out);

/* gpuva_ops_free() - Free a list and its ops (ops->op_free). NULL is ok. */
void gpuva_ops_free(struct gpuvm *vm, struct gpuva_ops *ops);

/*
 * gpuva_map() - Apply a MAP: fill in @va from @op and insert it.
 * Context: VM lock; may allocate. Return: as gpuva_insert().
 */
int gpuva_map(struct gpuvm *vm, struct gpuva *va,
	      const struct gpuva_op_map *op);

/*
 * gpuva_remap() - Apply a REMAP: @prev and @next (NULL exactly when the op
 * has no such piece) are filled in from the op and take over their pieces
 * of op->unmap->va, which leaves the tree. Readers looking up an address
 * in a kept piece see the old mapping or the new piece, never a hole.
 * Links are left to the caller (link the pieces to the old vm_bo, then
 * unlink the old mapping). Only the first of its tree stores may need
 * memory; the others replace slots in place. Context: VM lock; may
 * allocate. Return: 0; -EINVAL (@prev/@next do not match the op);
 * -ENOMEM. On error nothing changed.
 */
int gpuva_remap(struct gpuva *prev, struct gpuva *next,
		const struct gpuva_op_remap *op);

/*
 * gpuva_unmap() - Apply an UNMAP: gpuva_remove(op->va). Context: VM lock;
 * no allocation.
 */
void gpuva_unmap(const struct gpuva_op_unmap *op);

/*
 * gpuva_op_remap_to_unmap_range() - The hole a REMAP leaves: the part of
 * the old mapping between the kept pieces, in *@start and *@range.
 */
void gpuva_op_remap_to_unmap_range(const struct gpuva_op_remap *op,
				   uint64_t *start, uint64_t *range);

/* ---- Choosing addresses ------------------------------------------------- */

#define GPUVM_ALLOC_TOP		(1u << 0)	/* highest fit instead of lowest */

/*
 * Where gpuvm_va_alloc() may place @size bytes: inside [@start, @end) of
 * the VA space (both 0: anywhere), at a multiple of @align (a power of
 * two; 0 or 1: any), not crossing a multiple of @boundary (0: no limit; or
 * a power of two at least @size, e.g. 1 << 32 for "within one 4 GiB
 * window"), lowest first or with GPUVM_ALLOC_TOP highest first.
 */
struct gpuvm_va_alloc_req {
	uint64_t size;
	uint64_t align;
	uint64_t boundary;
	uint64_t start, end;
	unsigned int flags;
};

/*
 * gpuvm_va_find_free() - An address where @req fits, in *@addr: free of
 * mappings and outside the reserved region. Changes no mapping; merges
 * the ranges of removed mappings into free space first, as gpuvm_unlock()
 * does. Context: VM lock; may allocate.
 * Return: 0; -EINVAL (zero size, bad alignment or boundary, unknown flags,
 * a window that leaves the space); -ENOSPC (no fit).
 */
int gpuvm_va_find_free(struct gpuvm *vm, const struct gpuvm_va_alloc_req *req,
		       uint64_t *addr);

/*
 * gpuvm_va_alloc() - Choose an address for @va as gpuvm_va_find_free()
 * does and insert it there: @va's bo, bo_offset and flags are the
 * caller's (gpuva_init() with any address), its va.addr and va.range are
 * set. Removing the mapping frees the space again. Context: VM lock; may
 * allocate. Return: as gpuvm_va_find_free(), gpuva_insert().
 */
int gpuvm_va_alloc(struct gpuvm *vm, struct gpuva *va,
		   const struct gpuvm_va_alloc_req *req);

/* ---- Fences ------------------------------------------------------------- */

/*
 * A fence: a one-shot event that is signalled once, with an error or
 * without, that threads can wait for and that runs callbacks when it is
 * signalled. Reference counted; opaque.
 */
struct gpuvm_fence;
struct gpuvm_fence_cb;

typedef void (*gpuvm_fence_func_t)(struct gpuvm_fence *fence,
				   struct gpuvm_fence_cb *cb);

/* A callback on a fence. The caller owns the storage (embed it). */
struct gpuvm_fence_cb {
	struct cds_list_head node;
	gpuvm_fence_func_t func;
};

/*
 * gpuvm_fence_create() - A new unsignalled fence with one reference.
 * Context: any; may allocate. Return: the fence, or NULL (out of memory).
 */
struct gpuvm_fence *gpuvm_fence_create(void);

/* gpuvm_fence_get() - Take a reference; returns @fence. Context: any. */
struct gpuvm_fence *gpuvm_fence_get(struct gpuvm_fence *fence);

/* gpuvm_fence_put() - Drop a reference; the last frees it. NULL is ok. */
void gpuvm_fence_put(struct gpuvm_fence *fence);

/*
 * gpuvm_fence_signal() - Signal @fence with @error (0, or a negative
 * errno), wake its waiters and run its callbacks, in the calling thread,
 * in the order they were added, with no lock held.
 * Context: any, fence-signalling sections included; no allocation.
 * Return: 0; -EINVAL if @error is positive or the fence was signalled.
 */
int gpuvm_fence_signal(struct gpuvm_fence *fence, int error);

/*
 * gpuvm_fence_status() - 0 while unsignalled, 1 once signalled without an
 * error, the (negative) error once signalled with one. Context: any.
 */
int gpuvm_fence_status(struct gpuvm_fence *fence);

/*
 * gpuvm_fence_wait() - Wait until @fence is signalled, at most
 * @timeout_ns nanoseconds (negative: without limit; 0: just test).
 * Context: a thread that may block, not in a fence-signalling section.
 * Return: 0 once signalled (see gpuvm_fence_status() for its error);
 * -ETIMEDOUT.
 */
int gpuvm_fence_wait(struct gpuvm_fence *fence, int64_t timeout_ns);

/*
 * gpuvm_fence_add_callback() - Have @func(@fence, @cb) called when
 * @fence is signalled. Context: any; no allocation. Return: 0; -ENOENT if
 * the fence is already signalled (@func is not called).
 */
int gpuvm_fence_add_callback(struct gpuvm_fence *fence,
			     struct gpuvm_fence_cb *cb, gpuvm_fence_func_t func);

/*
 * gpuvm_fence_remove_callback() - Take @cb off @fence. Return: true if it
 * was still waiting; false if the fence was signalled (the callback has
 * run or is running).
 */
bool gpuvm_fence_remove_callback(struct gpuvm_fence *fence,
				 struct gpuvm_fence_cb *cb);

/*
 * gpuvm_fence_begin_signalling() / gpuvm_fence_end_signalling() - Mark a
 * fence-signalling critical section of the calling thread: code that
 * other threads' fences wait on, which therefore must not wait for memory.
 * Any allocation by the tree or the VA manager inside one is a bug: it is
 * counted in mt_cache_stats().forbidden_allocs and, in debug builds,
 * aborts with the call chain (see mt_alloc_forbid_begin()). Sections nest;
 * pass end() the cookie begin() returned. Context: any thread.
 */
bool gpuvm_fence_begin_signalling(void);
void gpuvm_fence_end_signalling(bool cookie);

/* ---- Binding asynchronously --------------------------------------------- */

/*
 * How a bind queue applies a job:
 *  - GPUVM_BIND_STAGED: the job's requests change the VA space at submit
 *    (which may allocate); its run step only hands the operations to the
 *    driver's page-table callback. A submit that fails undoes what it did.
 *  - GPUVM_BIND_IMMEDIATE: the run step changes the VA space, against
 *    whatever it holds by then (jobs submitted earlier may still be
 *    pending at submit). The submit reserves everything the run step can
 *    need (mappings, vm_bo references, and the tree's slot boundaries at
 *    the requests' ends), so the run step allocates nothing.
 */
enum gpuvm_bind_mode {
	GPUVM_BIND_STAGED,
	GPUVM_BIND_IMMEDIATE,
};

enum gpuvm_bind_op {
	GPUVM_BIND_MAP,
	GPUVM_BIND_UNMAP,
};

/*
 * One request of a job: map @bo (NULL: a sparse mapping) at @bo_offset
 * over [addr, addr + range) with GPUVA_* @flags, or unmap that range.
 * Requests of a job apply in order.
 */
struct gpuvm_bind_req {
	enum gpuvm_bind_op op;
	uint64_t addr, range;
	struct gpuvm_bo_handle *bo;
	uint64_t bo_offset;
	uint32_t flags;
};

struct gpuvm_bind_ops {
	/*
	 * Update the page tables for one operation of the job being run,
	 * in order, inside a fence-signalling section (no allocation): the
	 * VA space already shows it; for REMAP and UNMAP the mapping
	 * leaving is still valid. 0, or an error that fails the job and
	 * makes the VA space unusable. May be NULL.
	 */
	int (*run_op)(void *priv, const struct gpuva_op *op);
	/*
	 * Called when a run step starts and when it ends, inside its
	 * fence-signalling section (a test can make every allocation fail
	 * there). May be NULL.
	 */
	void (*run_begin)(void *priv);
	void (*run_end)(void *priv);
};

/* Counters of a bind queue, for reports. */
struct gpuvm_bind_stats {
	unsigned long jobs_submitted, jobs_done, jobs_failed;
	unsigned long requests;			/* submitted */
	size_t reserved_bytes;			/* held by pending jobs now */
	size_t reserved_peak;			/* the most held at once */
	unsigned long reserved_vas, used_vas;	/* mappings reserved, used */
};

struct gpuvm_bind_queue;

/*
 * gpuvm_bind_queue_create() - A queue of bind jobs on @vm in @mode, with
 * @ops (may be NULL) called with @priv. It holds a reference on @vm. Its
 * worker does not run until gpuvm_bind_queue_start(). Context: any; may
 * allocate. Return: 0 with *@out set; -EINVAL; -ENOMEM.
 */
int gpuvm_bind_queue_create(struct gpuvm *vm, enum gpuvm_bind_mode mode,
			    const struct gpuvm_bind_ops *ops, void *priv,
			    struct gpuvm_bind_queue **out);

/*
 * gpuvm_bind_queue_start() - Start the worker thread, which runs the jobs
 * one at a time in submission order, each once its in-fences are
 * signalled. Return: 0; -EALREADY; -EAGAIN (no thread).
 */
int gpuvm_bind_queue_start(struct gpuvm_bind_queue *queue);

/*
 * gpuvm_bind_queue_stop() - Stop the worker after the job it is running
 * (a job still waiting for its in-fences has not started: it stays
 * queued); later jobs stay queued until the next start. Context: not the
 * worker; waits for the worker to exit.
 */
void gpuvm_bind_queue_stop(struct gpuvm_bind_queue *queue);

/*
 * gpuvm_bind_queue_destroy() - Stop the worker and free the queue. Jobs
 * still queued never run: their out-fences are signalled with
 * -ECANCELED and their reservations released (a staged job's changes to
 * the VA space, made at submit, stay). Drops the queue's reference on the
 * VA space. Context: not the worker; may block.
 */
void gpuvm_bind_queue_destroy(struct gpuvm_bind_queue *queue);

/*
 * gpuvm_bind_submit() - Queue a job of @nr_reqs requests that runs after
 * every fence of @in_fences (@nr_in of them) is signalled, and return its
 * out-fence, signalled when its run step is done (with its error if it
 * failed), in *@out_fence: the caller owns that reference. The job's
 * cleanup (freeing what left the VA space and what it did not use,
 * tidying the tree) follows on the worker; gpuvm_bind_queue_stop() waits
 * for it. A failed in-fence fails the job with its error, unrun (that
 * error wins over -ENODEV). In staged mode the VA space changes now.
 * Context: any thread except the worker; takes the VM lock; may allocate.
 * Return: 0; -EINVAL (an invalid request, as gpuva_insert() defines, or
 * no request); -ENOMEM; -ENODEV (the VA space is unusable). On error
 * nothing changed.
 */
int gpuvm_bind_submit(struct gpuvm_bind_queue *queue,
		      const struct gpuvm_bind_req *reqs, unsigned int nr_reqs,
		      struct gpuvm_fence *const *in_fences, unsigned int nr_in,
		      struct gpuvm_fence **out_fence);

/* gpuvm_bind_queue_stats() - A snapshot of @queue's counters. */
void gpuvm_bind_queue_stats(struct gpuvm_bind_queue *queue,
			    struct gpuvm_bind_stats *stats);

/*
 * gpuvm_unusable() - The error that made @vm unusable (a bind job's run
 * step failed, like a lost device), or 0. Later jobs fail with -ENODEV.
 * Context: any.
 */
int gpuvm_unusable(const struct gpuvm *vm);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MAPLETREE_GPUVM_H */
