// SPDX-License-Identifier: MIT
/*
 * Buffer objects and (VA space, BO) pairs.
 *
 * Locks, outermost first: the BO's lock (its list of vm_bos, one per VA
 * space), then a VA space's extobj or evict lock. A vm_bo's list of
 * mappings is guarded by its VA space's lock. A vm_bo whose count reached
 * zero may still sit on the BO's list until its last put takes it off, so
 * lookups take a reference only from a non-zero count.
 */
#include "gpuvm/gpuvm_internal.h"

void gpuvm_bo_handle_init(struct gpuvm_bo_handle *obj, uint64_t size,
			  struct gpuvm *private_vm)
{
	obj->size = size;
	obj->private_vm = private_vm;
	pthread_mutex_init(&obj->lock, NULL);
	CDS_INIT_LIST_HEAD(&obj->vm_bos);
}

int gpuvm_bo_handle_fini(struct gpuvm_bo_handle *obj)
{
	bool busy;

	pthread_mutex_lock(&obj->lock);
	busy = !cds_list_empty(&obj->vm_bos);
	pthread_mutex_unlock(&obj->lock);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&obj->lock);
	return 0;
}

static bool is_extobj(const struct gpuvm_bo *vm_bo)
{
	return !vm_bo->obj->private_vm;
}

struct gpuvm_bo *gpuvm_bo_create(struct gpuvm *vm, struct gpuvm_bo_handle *obj)
{
	struct gpuvm_bo *vm_bo;

	if (!vm || !obj || (obj->private_vm && obj->private_vm != vm))
		return NULL;
	if (mt_alloc_check())
		return NULL;
	vm_bo = vm->ops->vm_bo_alloc ? vm->ops->vm_bo_alloc() :
				       calloc(1, sizeof(*vm_bo));
	if (!vm_bo)
		return NULL;
	vm_bo->vm = gpuvm_get(vm);
	vm_bo->obj = obj;
	vm_bo->refcount = 1;
	vm_bo->evicted = false;
	CDS_INIT_LIST_HEAD(&vm_bo->gpuvas);
	CDS_INIT_LIST_HEAD(&vm_bo->obj_entry);
	CDS_INIT_LIST_HEAD(&vm_bo->extobj_entry);
	CDS_INIT_LIST_HEAD(&vm_bo->evict_entry);
	return vm_bo;
}

static bool get_unless_zero(long *refcount)
{
	long n = __atomic_load_n(refcount, __ATOMIC_RELAXED);

	while (n)
		if (__atomic_compare_exchange_n(refcount, &n, n + 1, true,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

/* The live vm_bo of (@vm, @obj) with a new reference. Caller: obj lock. */
static struct gpuvm_bo *find_locked(struct gpuvm *vm,
				    struct gpuvm_bo_handle *obj)
{
	struct gpuvm_bo *vm_bo;

	cds_list_for_each_entry(vm_bo, &obj->vm_bos, obj_entry)
		if (vm_bo->vm == vm && get_unless_zero(&vm_bo->refcount))
			return vm_bo;
	return NULL;
}

struct gpuvm_bo *gpuvm_bo_find(struct gpuvm *vm, struct gpuvm_bo_handle *obj)
{
	struct gpuvm_bo *vm_bo;

	pthread_mutex_lock(&obj->lock);
	vm_bo = find_locked(vm, obj);
	pthread_mutex_unlock(&obj->lock);
	return vm_bo;
}

static void free_vm_bo(struct gpuvm_bo *vm_bo)
{
	struct gpuvm *vm = vm_bo->vm;

	if (vm->ops->vm_bo_free)
		vm->ops->vm_bo_free(vm_bo);
	else
		free(vm_bo);
}

/* Drop the pair made by gpuvm_bo_create() that was never installed. */
static void discard_vm_bo(struct gpuvm_bo *vm_bo)
{
	struct gpuvm *vm = vm_bo->vm;

	free_vm_bo(vm_bo);
	gpuvm_put(vm);
}

struct gpuvm_bo *gpuvm_bo_obtain_prealloc(struct gpuvm_bo *prealloc)
{
	struct gpuvm_bo_handle *obj = prealloc->obj;
	struct gpuvm *vm = prealloc->vm;
	struct gpuvm_bo *vm_bo;

	pthread_mutex_lock(&obj->lock);
	vm_bo = find_locked(vm, obj);
	if (!vm_bo) {
		vm_bo = prealloc;
		cds_list_add_tail(&vm_bo->obj_entry, &obj->vm_bos);
		if (is_extobj(vm_bo)) {
			pthread_mutex_lock(&vm->extobj.lock);
			cds_list_add_tail(&vm_bo->extobj_entry,
					  &vm->extobj.list);
			pthread_mutex_unlock(&vm->extobj.lock);
		}
	}
	pthread_mutex_unlock(&obj->lock);
	if (vm_bo != prealloc)
		discard_vm_bo(prealloc);
	return vm_bo;
}

int gpuvm_bo_obtain(struct gpuvm *vm, struct gpuvm_bo_handle *obj,
		    struct gpuvm_bo **out)
{
	struct gpuvm_bo *vm_bo;

	if (!vm || !obj || !out || (obj->private_vm && obj->private_vm != vm))
		return -EINVAL;
	vm_bo = gpuvm_bo_find(vm, obj);
	if (!vm_bo) {
		vm_bo = gpuvm_bo_create(vm, obj);
		if (!vm_bo)
			return -ENOMEM;
		vm_bo = gpuvm_bo_obtain_prealloc(vm_bo);
	}
	*out = vm_bo;
	return 0;
}

struct gpuvm_bo *gpuvm_bo_get(struct gpuvm_bo *vm_bo)
{
	__atomic_fetch_add(&vm_bo->refcount, 1, __ATOMIC_RELAXED);
	return vm_bo;
}

/* Off every list, under the locks that guard them. */
static void unlist_vm_bo(struct gpuvm_bo *vm_bo)
{
	struct gpuvm_bo_handle *obj = vm_bo->obj;
	struct gpuvm *vm = vm_bo->vm;

	pthread_mutex_lock(&obj->lock);
	cds_list_del(&vm_bo->obj_entry);
	pthread_mutex_lock(&vm->extobj.lock);
	if (!cds_list_empty(&vm_bo->extobj_entry))
		cds_list_del_init(&vm_bo->extobj_entry);
	pthread_mutex_unlock(&vm->extobj.lock);
	pthread_mutex_lock(&vm->evict.lock);
	if (!cds_list_empty(&vm_bo->evict_entry))
		cds_list_del_init(&vm_bo->evict_entry);
	pthread_mutex_unlock(&vm->evict.lock);
	pthread_mutex_unlock(&obj->lock);
}

bool gpuvm_bo_put(struct gpuvm_bo *vm_bo)
{
	struct gpuvm *vm;

	if (!vm_bo ||
	    __atomic_sub_fetch(&vm_bo->refcount, 1, __ATOMIC_ACQ_REL))
		return false;
	vm = vm_bo->vm;
	unlist_vm_bo(vm_bo);
	/* Lock-free readers never follow a mapping's vm_bo: free it now. */
	free_vm_bo(vm_bo);
	gpuvm_put(vm);
	return true;
}

/* ---- Mappings of a BO --------------------------------------------------- */

void gpuva_link(struct gpuva *va, struct gpuvm_bo *vm_bo)
{
	if (!va->bo || va->vm_bo)
		return;
	gpuvm_assert_locked(vm_bo->vm, __func__);
	if (va->bo != vm_bo->obj)
		gpuvm_bug("gpuva_link() of a mapping to another BO's vm_bo");
	va->vm_bo = gpuvm_bo_get(vm_bo);
	cds_list_add_tail(&va->bo_entry, &vm_bo->gpuvas);
}

void gpuva_unlink(struct gpuva *va)
{
	struct gpuvm_bo *vm_bo = va->vm_bo;

	if (!vm_bo)
		return;
	gpuvm_assert_locked(vm_bo->vm, __func__);
	cds_list_del_init(&va->bo_entry);
	va->vm_bo = NULL;
	gpuvm_bo_put(vm_bo);
}

/* ---- Eviction ----------------------------------------------------------- */

void gpuvm_bo_evict(struct gpuvm_bo *vm_bo, bool evict)
{
	struct gpuvm *vm = vm_bo->vm;

	pthread_mutex_lock(&vm->evict.lock);
	vm_bo->evicted = evict;
	vm_bo->evictions += evict;
	if (evict && cds_list_empty(&vm_bo->evict_entry))
		cds_list_add_tail(&vm_bo->evict_entry, &vm->evict.list);
	else if (!evict && !cds_list_empty(&vm_bo->evict_entry))
		cds_list_del_init(&vm_bo->evict_entry);
	pthread_mutex_unlock(&vm->evict.lock);
}

void gpuvm_bo_handle_evict(struct gpuvm_bo_handle *obj, bool evict)
{
	struct gpuvm_bo *vm_bo;

	pthread_mutex_lock(&obj->lock);
	cds_list_for_each_entry(vm_bo, &obj->vm_bos, obj_entry)
		gpuvm_bo_evict(vm_bo, evict);
	pthread_mutex_unlock(&obj->lock);
}

/*
 * The first evicted vm_bo, with a reference, and how many evictions it had
 * seen; NULL if none.
 */
static struct gpuvm_bo *first_evicted(struct gpuvm *vm,
				      unsigned long *evictions)
{
	struct gpuvm_bo *vm_bo;

	pthread_mutex_lock(&vm->evict.lock);
	cds_list_for_each_entry(vm_bo, &vm->evict.list, evict_entry)
		if (get_unless_zero(&vm_bo->refcount)) {
			*evictions = vm_bo->evictions;
			goto out;
		}
	vm_bo = NULL;
out:
	pthread_mutex_unlock(&vm->evict.lock);
	return vm_bo;
}

/* Resident again, unless it was evicted again while being validated. */
static void validated(struct gpuvm_bo *vm_bo, unsigned long evictions)
{
	struct gpuvm *vm = vm_bo->vm;

	pthread_mutex_lock(&vm->evict.lock);
	if (vm_bo->evictions == evictions) {
		vm_bo->evicted = false;
		cds_list_del_init(&vm_bo->evict_entry);
	}
	pthread_mutex_unlock(&vm->evict.lock);
}

/*
 * The callback runs without the list lock (it may evict), so the walk
 * restarts from the head each time: validated BOs leave the list.
 */
int gpuvm_validate(struct gpuvm *vm, void *priv)
{
	unsigned long evictions;
	struct gpuvm_bo *vm_bo;
	int ret = 0;

	while ((vm_bo = first_evicted(vm, &evictions))) {
		ret = vm->ops->vm_bo_validate ?
		      vm->ops->vm_bo_validate(vm_bo, priv) : -EINVAL;
		if (!ret)
			validated(vm_bo, evictions);
		gpuvm_bo_put(vm_bo);
		if (ret)
			break;
	}
	return ret;
}

static int for_each_listed(pthread_mutex_t *lock, struct cds_list_head *list,
			   size_t entry_offset,
			   int (*fn)(struct gpuvm_bo *vm_bo, void *priv),
			   void *priv)
{
	struct cds_list_head *pos;
	int ret = 0;

	pthread_mutex_lock(lock);
	cds_list_for_each(pos, list) {
		ret = fn((struct gpuvm_bo *)((char *)pos - entry_offset), priv);
		if (ret)
			break;
	}
	pthread_mutex_unlock(lock);
	return ret;
}

int gpuvm_extobj_for_each(struct gpuvm *vm,
			  int (*fn)(struct gpuvm_bo *vm_bo, void *priv),
			  void *priv)
{
	return for_each_listed(&vm->extobj.lock, &vm->extobj.list,
			       offsetof(struct gpuvm_bo, extobj_entry), fn,
			       priv);
}

int gpuvm_evicted_for_each(struct gpuvm *vm,
			   int (*fn)(struct gpuvm_bo *vm_bo, void *priv),
			   void *priv)
{
	return for_each_listed(&vm->evict.lock, &vm->evict.list,
			       offsetof(struct gpuvm_bo, evict_entry), fn,
			       priv);
}
