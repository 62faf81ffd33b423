// SPDX-License-Identifier: MIT
/*
 * VA spaces: the tree [addr, addr + range - 1] -> struct gpuva, its lock,
 * the space's life cycle and the lookups.
 *
 * The tree is in RCU mode under an external lock (the VM lock) so that a
 * store never drops the lock to wait for memory: an operation made of
 * several stores stays atomic for every other writer. Readers walk it
 * lock-free. Ranges the tree must keep but no mapping owns (the reserved
 * region, and removed mappings until gpuvm_unlock(): see mapping.c) hold
 * XA_ZERO_ENTRY: lookups read them as unmapped, gap searches as taken.
 */
#include <stdio.h>
#include <urcu/urcu-memb.h>
#include <urcu/call-rcu.h>

#include "gpuvm/gpuvm_internal.h"

_Static_assert(sizeof(struct rcu_head) <= sizeof(struct gpuvm_rcu_head),
	       "struct gpuvm_rcu_head has room for an rcu_head");

/* ---- Freeing mappings after readers are done ---------------------------- */

void gpuvm_va_free(struct gpuvm *vm, struct gpuva *va)
{
	if (vm && vm->ops->va_free)
		vm->ops->va_free(va);
	else
		free(va);
}

/*
 * Mappings freed under the VM lock wait in a batch, chained through
 * bo_entry.next (free once they are unlinked), and go to RCU in one
 * callback when the lock is released: one call_rcu() per bind, not one
 * per mapping.
 */
static void va_free_batch_cb(struct rcu_head *head)
{
	struct gpuva *va = gpuvm_rcu_owner(head, struct gpuva, rcu);

	while (va) {
		struct gpuva *next = (struct gpuva *)va->bo_entry.next;

		gpuvm_va_free(va->vm, va);
		va = next;
	}
}

void gpuva_free_rcu(struct gpuva *va)
{
	struct gpuvm *vm = va->vm;

	if (vm && gpuvm_is_locked(vm)) {
		va->bo_entry.next = (struct cds_list_head *)vm->free_batch;
		vm->free_batch = va;
		return;
	}
	va->bo_entry.next = NULL;
	gpuvm_call_rcu(&va->rcu, va_free_batch_cb);
}

static void flush_frees(struct gpuvm *vm)
{
	if (vm->free_batch)
		gpuvm_call_rcu(&vm->free_batch->rcu, va_free_batch_cb);
	vm->free_batch = NULL;
}

/* ---- The VM lock: the tree's external lock ------------------------------ */

static struct gpuvm *lock_vm(void *lock)
{
	return caa_container_of(lock, struct gpuvm, lock);
}

static void note_owner(struct gpuvm *vm)
{
	__atomic_store_n(&vm->lock_owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&vm->lock_owned, true, __ATOMIC_RELAXED);
}

void gpuvm_lock(struct gpuvm *vm)
{
	pthread_mutex_lock(&vm->lock);
	note_owner(vm);
}

static void unlock(struct gpuvm *vm)
{
	__atomic_store_n(&vm->lock_owned, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vm->lock);
}

void gpuvm_unlock(struct gpuvm *vm)
{
	gpuvm_assert_locked(vm, __func__);
	gpuvm_clear_placeholders(vm);
	flush_frees(vm);
	unlock(vm);
}

void gpuvm_unlock_untidy(struct gpuvm *vm)
{
	gpuvm_assert_locked(vm, __func__);
	flush_frees(vm);
	unlock(vm);
}

bool gpuvm_is_locked(struct gpuvm *vm)
{
	/* Only the owner can see its own true, so the race is harmless. */
	return __atomic_load_n(&vm->lock_owned, __ATOMIC_RELAXED) &&
	       pthread_equal(__atomic_load_n(&vm->lock_owner, __ATOMIC_RELAXED),
			     pthread_self());
}

void gpuvm_assert_locked(struct gpuvm *vm, const char *func)
{
	if (gpuvm_is_locked(vm))
		return;
	fprintf(stderr, "mapletree-gpuvm: %s on VA space '%s': the VM lock "
		"is not held (gpuvm_lock())\n", func,
		vm->name ? vm->name : "");
	abort();
}

void gpuvm_bug(const char *what)
{
	fprintf(stderr, "mapletree-gpuvm: %s\n", what);
	abort();
}

static bool tree_lock_held(void *arg)
{
	return gpuvm_is_locked(arg);
}

/* For mt_cache_compact(), which must never wait for a lock. */
static bool tree_trylock(void *lock)
{
	if (pthread_mutex_trylock(lock))
		return false;
	note_owner(lock_vm(lock));
	return true;
}

/* Compaction only moves nodes: nothing to finish before unlocking. */
static void tree_unlock(void *lock)
{
	unlock(lock_vm(lock));
}

/* ---- VA spaces ---------------------------------------------------------- */

static uint64_t space_end(const struct gpuvm *vm)
{
	return vm->mm_start + vm->mm_range;
}

bool gpuvm_range_valid(const struct gpuvm *vm, uint64_t addr, uint64_t range)
{
	uint64_t end = addr + range;

	if (!range || end < addr)
		return false;
	if (addr < vm->mm_start || end > space_end(vm))
		return false;
	return !vm->reserve_range || end <= vm->reserve_start ||
	       addr >= vm->reserve_start + vm->reserve_range;
}

int gpuvm_check_map(const struct gpuvm *vm, const struct gpuva_op_map *map)
{
	const struct gpuvm_bo_handle *bo = map->bo;

	if (!gpuvm_range_valid(vm, map->va.addr, map->va.range))
		return -EINVAL;
	if (!bo)
		return 0;
	if (bo->private_vm && bo->private_vm != vm)
		return -EINVAL;
	if (bo->size && (map->bo_offset > bo->size ||
			 map->va.range > bo->size - map->bo_offset))
		return -EINVAL;
	return 0;
}

static int reserve_region(struct gpuvm *vm)
{
	MA_STATE(mas, &vm->mt, vm->reserve_start,
		 vm->reserve_start + vm->reserve_range - 1);
	int ret;

	if (!vm->reserve_range)
		return 0;
	gpuvm_lock(vm);
	ret = mas_store_gfp(&mas, XA_ZERO_ENTRY, GFP_KERNEL);
	gpuvm_unlock(vm);
	return ret;
}

int gpuvm_init(struct gpuvm *vm, const char *name, unsigned int flags,
	       uint64_t start, uint64_t range, uint64_t reserve_start,
	       uint64_t reserve_range, const struct gpuvm_ops *ops)
{
	static const struct gpuvm_ops no_ops;
	unsigned int tree_flags = MT_FLAGS_USE_RCU | MT_FLAGS_LOCK_EXTERN;
	uint64_t reserve_end = reserve_start + reserve_range;
	int ret;

	if (!vm || !range || start + range < start ||
	    (flags & ~GPUVM_NO_VA_ALLOCATOR))
		return -EINVAL;
	if (reserve_range && (reserve_end < reserve_start ||
			      reserve_start < start ||
			      reserve_end > start + range))
		return -EINVAL;
	*vm = (struct gpuvm){
		.name = name,
		.flags = flags,
		.mm_start = start,
		.mm_range = range,
		.reserve_start = reserve_range ? reserve_start : 0,
		.reserve_range = reserve_range,
		.ops = ops ? ops : &no_ops,
		.refcount = 1,
	};
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->extobj.lock, NULL);
	pthread_mutex_init(&vm->evict.lock, NULL);
	CDS_INIT_LIST_HEAD(&vm->extobj.list);
	CDS_INIT_LIST_HEAD(&vm->evict.list);
	if (!(flags & GPUVM_NO_VA_ALLOCATOR))
		tree_flags |= MT_FLAGS_ALLOC_RANGE;
	mt_init_flags(&vm->mt, tree_flags);
	mt_init(&vm->boundaries);
	mt_set_external_lock(&vm->mt, &vm->lock);
	mt_set_external_lock_check(&vm->mt, tree_lock_held, vm);
	mt_set_external_lock_ops(&vm->mt, tree_trylock, tree_unlock);
	ret = reserve_region(vm);
	if (ret) {
		mtree_destroy(&vm->boundaries);
		pthread_mutex_destroy(&vm->lock);
		pthread_mutex_destroy(&vm->extobj.lock);
		pthread_mutex_destroy(&vm->evict.lock);
	}
	return ret;
}

struct gpuvm *gpuvm_get(struct gpuvm *vm)
{
	__atomic_fetch_add(&vm->refcount, 1, __ATOMIC_RELAXED);
	return vm;
}

/* The last reference is gone: free what is left, then the space. */
static void gpuvm_teardown(struct gpuvm *vm)
{
	MA_STATE(mas, &vm->mt, 0, 0);
	unsigned long left = 0;
	void *entry;

	if (gpuvm_is_locked(vm))
		gpuvm_bug("the last gpuvm_put() came with the VM lock held "
			  "(hold a reference of your own while you hold it)");
	gpuvm_lock(vm);
	mas_for_each(&mas, entry, ULONG_MAX) {
		struct gpuva *va = gpuvm_entry_va(entry);

		/* A mapping may span slots; count it at its first. */
		if (!va || mas.index != va->va.addr)
			continue;
		left++;
		if (vm->ops->va_leftover)
			vm->ops->va_leftover(vm, va);
		gpuva_free_rcu(va);
	}
	__mt_destroy(&vm->mt);
	mtree_destroy(&vm->boundaries);
	flush_frees(vm);
	/* The frees above, and any earlier ones, read vm->ops. */
	mt_rcu_barrier(&vm->mt);
	gpuvm_unlock(vm);
	if (left && !vm->ops->va_leftover)
		fprintf(stderr, "mapletree-gpuvm: VA space '%s' torn down with "
			"%lu mappings left in it; freed them\n",
			vm->name ? vm->name : "", left);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->extobj.lock);
	pthread_mutex_destroy(&vm->evict.lock);
	if (vm->ops->vm_free)
		vm->ops->vm_free(vm);
}

void gpuvm_put(struct gpuvm *vm)
{
	if (vm && __atomic_sub_fetch(&vm->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		gpuvm_teardown(vm);
}

int gpuvm_unusable(const struct gpuvm *vm)
{
	return __atomic_load_n(&vm->unusable, __ATOMIC_ACQUIRE);
}

unsigned long gpuvm_mapping_count(const struct gpuvm *vm)
{
	return __atomic_load_n(&vm->nr_mappings, __ATOMIC_RELAXED);
}

struct maple_tree *gpuvm_tree(struct gpuvm *vm)
{
	return &vm->mt;
}

/* ---- Lookups ------------------------------------------------------------ */

struct gpuva *gpuvm_lookup(struct gpuvm *vm, uint64_t addr)
{
	MA_STATE(mas, &vm->mt, addr, addr);

	return gpuvm_entry_va(mas_walk(&mas));
}

struct gpuva *gpuva_find_first(struct gpuvm *vm, uint64_t addr,
			       uint64_t range)
{
	uint64_t last = addr + range - 1;
	MA_STATE(mas, &vm->mt, addr, addr);
	void *entry;

	if (!range || last < addr)
		return NULL;
	mas_for_each(&mas, entry, last) {
		if (!xa_is_zero(entry))
			return entry;
	}
	return NULL;
}

struct gpuva *gpuva_find(struct gpuvm *vm, uint64_t addr, uint64_t range)
{
	struct gpuva *va = gpuvm_lookup(vm, addr);

	return va && va->va.addr == addr && va->va.range == range ? va : NULL;
}

struct gpuva *gpuva_find_prev(struct gpuvm *vm, uint64_t start)
{
	struct gpuva *va = start ? gpuvm_lookup(vm, start - 1) : NULL;

	return va && va_end(va) == start ? va : NULL;
}

struct gpuva *gpuva_find_next(struct gpuvm *vm, uint64_t end)
{
	struct gpuva *va = gpuvm_lookup(vm, end);

	return va && va->va.addr == end ? va : NULL;
}

struct gpuva *gpuvm_iter_next(struct gpuvm *vm, uint64_t *next, uint64_t end)
{
	struct gpuva *va;

	if (*next >= end)
		return NULL;
	va = gpuva_find_first(vm, *next, end - *next);
	if (va)
		*next = va_end(va);
	return va;
}
