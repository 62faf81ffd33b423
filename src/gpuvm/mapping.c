// SPDX-License-Identifier: MIT
/*
 * Writing mappings into the tree: insert, remove, and the stores that
 * apply MAP, REMAP and UNMAP.
 *
 * Each mapping is one slot of the tree (or, while bind jobs that split it
 * are pending, a run of slots: see bind_queue.c). Two kinds of store keep the
 * writes cheap and failures simple:
 *  - A store over exactly one slot that changes no boundary is written in
 *    place (the tree's exact-fit path): it needs no node and cannot fail.
 *  - A removed mapping's slot becomes NULL in place if both neighbours
 *    are mappings; else XA_ZERO_ENTRY in place (a placeholder: lookups
 *    read it as unmapped, walks skip it). Turning that into NULL merges
 *    it with free neighbours, which may need a node; that
 *    waits until gpuvm_unlock() (or a gap search), so the removals of one
 *    request merge in one store, and a MAP over the same range simply
 *    overwrites them. The ranges to clear are kept in the VA space, a
 *    few of them; when there are more, the two closest merge: tidying
 *    looks only for what it can merge (never the reserved region, never
 *    across a boundary a pending bind needs) inside them.
 */
#include "gpuvm/gpuvm_internal.h"

void gpuvm_count_mappings(struct gpuvm *vm, long delta)
{
	__atomic_store_n(&vm->nr_mappings, vm->nr_mappings + delta,
			 __ATOMIC_RELAXED);
}

/* Store @entry over [addr, addr + range); the range is valid. */
static int tree_store(struct gpuvm *vm, uint64_t addr, uint64_t range,
		      void *entry, gfp_t gfp)
{
	MA_STATE(mas, &vm->mt, addr, addr + range - 1);

	return mas_store_gfp(&mas, entry, gfp);
}

int gpuvm_replace_slots(struct gpuvm *vm, uint64_t addr, uint64_t range,
			void *entry)
{
	uint64_t pos = addr, last = addr + range - 1;

	for (;;) {
		MA_STATE(mas, &vm->mt, pos, pos);

		mas_walk(&mas);
		if (mas.index != pos || mas.last > last ||
		    mas_store_exact(&mas, entry))
			return -EFAULT;
		if (mas.last == last)
			return 0;
		pos = mas.last + 1;
	}
}

/* Make one slot free space in place; -EBUSY if that needs a merge. */
static int free_in_place(struct gpuvm *vm, uint64_t addr, uint64_t range)
{
	MA_STATE(mas, &vm->mt, addr, addr + range - 1);

	return mas_store_exact(&mas, NULL);
}

/*
 * Store @entry over [addr, addr + range), which is one slot or, while
 * binds are pending, a few whose boundaries they need: in place, no node.
 */
static void tree_replace(struct gpuvm *vm, uint64_t addr, uint64_t range,
			 void *entry)
{
	MA_STATE(mas, &vm->mt, addr, addr + range - 1);

	if (mas_store_exact(&mas, entry) &&
	    gpuvm_replace_slots(vm, addr, range, entry))
		gpuvm_bug("internal error: an exact-fit store failed");
}

/* ---- Placeholders for removed mappings ---------------------------------- */

/* Merge the two pending ranges whose union leaves the least in between. */
static void pending_merge_closest(struct gpuvm *vm)
{
	struct gpuvm_range *p = vm->pending;
	unsigned int i, j, bi = 0, bj = 1;
	uint64_t best = UINT64_MAX;

	for (i = 0; i < vm->nr_pending; i++)
		for (j = i + 1; j < vm->nr_pending; j++) {
			uint64_t lo = p[i].start < p[j].start ? p[i].start :
								p[j].start;
			uint64_t hi = p[i].end > p[j].end ? p[i].end : p[j].end;
			uint64_t waste = (hi - lo) - (p[i].end - p[i].start) -
					 (p[j].end - p[j].start);

			if (waste < best) {
				best = waste;
				bi = i;
				bj = j;
			}
		}
	if (p[bj].start < p[bi].start)
		p[bi].start = p[bj].start;
	if (p[bj].end > p[bi].end)
		p[bi].end = p[bj].end;
	p[bj] = p[--vm->nr_pending];
}

void gpuvm_tidy_later(struct gpuvm *vm, uint64_t start, uint64_t end)
{
	struct gpuvm_range *last;

	if (vm->nr_pending) {
		last = &vm->pending[vm->nr_pending - 1];
		if (last->end == start) {
			last->end = end;
			return;
		}
		if (last->start == end) {
			last->start = start;
			return;
		}
	}
	/* Full: two ranges become one; tidying only ever looks for what it
	 * can merge, so a wider range costs a longer scan, nothing else. */
	if (vm->nr_pending == GPUVM_PENDING_MAX)
		pending_merge_closest(vm);
	vm->pending[vm->nr_pending++] = (struct gpuvm_range){ start, end };
}

static bool in_reserve(const struct gpuvm *vm, uint64_t addr)
{
	return vm->reserve_range && addr >= vm->reserve_start &&
	       addr - vm->reserve_start < vm->reserve_range;
}

/* A slot boundary at @addr that must stay: a pending bind's, the reserve's. */
static bool boundary_needed(struct gpuvm *vm, uint64_t addr)
{
	if (vm->reserve_range && (addr == vm->reserve_start ||
				  addr == vm->reserve_start + vm->reserve_range))
		return true;
	return !mtree_empty(&vm->boundaries) &&
	       mtree_load(&vm->boundaries, addr) != NULL;
}

/*
 * Freeing a run that ends at boundary @addr keeps the boundary if it is
 * not needed, or if the slot across it (holding @across) is not free.
 */
static bool keeps_boundary(struct gpuvm *vm, uint64_t addr, uint64_t across)
{
	MA_STATE(mas, &vm->mt, across, across);

	if (!addr || !boundary_needed(vm, addr))
		return true;
	return mas_walk(&mas) != NULL;
}

/* May the slots on both sides of @addr merge? */
static bool mergeable_at(struct gpuvm *vm, uint64_t addr)
{
	return addr && !boundary_needed(vm, addr);
}

/*
 * The first slot of the run of slots holding what @pos holds, joined by
 * boundaries tidying may remove: a run left whole earlier because a
 * boundary was needed then is taken again from its start.
 */
static uint64_t run_first(struct gpuvm *vm, uint64_t pos)
{
	MA_STATE(mas, &vm->mt, pos, pos);
	void *entry = mas_walk(&mas);
	uint64_t first = mas.index;

	while (entry && mergeable_at(vm, first) &&
	       mas_prev_range(&mas, 0) == entry)
		first = mas.index;
	return first;
}

/*
 * Tidy the run of slots that starts with the one @mas is on: adjacent
 * slots holding the same mapping (or placeholders) merge into one, and a
 * run of placeholders becomes free space (merging with free neighbours),
 * except across the boundaries pending binds need. Leaves *@last at the run's end.
 * Return: 0, or -ENOMEM (the run is left as it was).
 */
static int tidy_run(struct gpuvm *vm, struct ma_state *mas, void *entry,
		    uint64_t *last)
{
	uint64_t first = mas->index;
	bool merged = false;

	*last = mas->last;
	if (!entry || in_reserve(vm, first))
		return 0;
	while (*last != ULONG_MAX && mas_next_range(mas, ULONG_MAX) == entry &&
	       mergeable_at(vm, mas->index)) {
		*last = mas->last;
		merged = true;
	}
	/* Placeholders that must stay (a boundary needs them) still merge. */
	if (xa_is_zero(entry) && keeps_boundary(vm, first, first - 1) &&
	    (*last == ULONG_MAX || keeps_boundary(vm, *last + 1, *last + 1)))
		entry = NULL;
	else if (!merged)
		return 0;
	return tree_store(vm, first, *last - first + 1, entry, GFP_KERNEL);
}

/*
 * Tidy the slots that touch [start, end), and the runs they belong to,
 * one store per run. Return: 0, or -ENOMEM with some left as they were.
 */
static int tidy_range(struct gpuvm *vm, uint64_t start, uint64_t end)
{
	uint64_t pos = run_first(vm, start ? start - 1 : 0), last;

	for (;;) {
		MA_STATE(mas, &vm->mt, pos, pos);
		void *entry = mas_walk(&mas);

		if (tidy_run(vm, &mas, entry, &last))
			return -ENOMEM;
		if (last >= end || last == ULONG_MAX)
			return 0;
		pos = last + 1;
	}
}

void gpuvm_tidy(struct gpuvm *vm, uint64_t start, uint64_t end)
{
	if (tidy_range(vm, start, end))
		gpuvm_tidy_later(vm, start, end);
}

void gpuvm_clear_placeholders(struct gpuvm *vm)
{
	unsigned int i, kept = 0;

	for (i = 0; i < vm->nr_pending; i++)
		if (tidy_range(vm, vm->pending[i].start, vm->pending[i].end))
			vm->pending[kept++] = vm->pending[i];
	vm->nr_pending = kept;
}

/* ---- Mappings ----------------------------------------------------------- */

void gpuva_init(struct gpuva *va, uint64_t addr, uint64_t range,
		struct gpuvm_bo_handle *bo, uint64_t bo_offset)
{
	*va = (struct gpuva){
		.va = { .addr = addr, .range = range },
		.bo = bo,
		.bo_offset = bo_offset,
	};
	CDS_INIT_LIST_HEAD(&va->bo_entry);
}

void gpuva_invalidate(struct gpuva *va, bool invalidate)
{
	if (va->vm)
		gpuvm_assert_locked(va->vm, __func__);
	if (invalidate)
		__atomic_fetch_or(&va->flags, GPUVA_INVALIDATED,
				  __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&va->flags, ~GPUVA_INVALIDATED,
				   __ATOMIC_RELAXED);
}

bool gpuva_invalidated(const struct gpuva *va)
{
	return __atomic_load_n(&va->flags, __ATOMIC_RELAXED) &
	       GPUVA_INVALIDATED;
}

int gpuva_insert(struct gpuvm *vm, struct gpuva *va)
{
	const struct gpuva_op_map map = {
		.va = { .addr = va->va.addr, .range = va->va.range },
		.bo = va->bo,
		.bo_offset = va->bo_offset,
	};
	int ret;

	gpuvm_assert_locked(vm, __func__);
	ret = gpuvm_check_map(vm, &map);
	if (ret)
		return ret;
	va->vm = vm;
	/* One walk checks and stores; only placeholders make it refuse. */
	ret = mtree_insert_range(&vm->mt, va->va.addr, va_end(va) - 1, va,
				 GFP_KERNEL);
	if (ret == -EEXIST && !gpuva_find_first(vm, va->va.addr, va->va.range))
		ret = tree_store(vm, va->va.addr, va->va.range, va, GFP_KERNEL);
	if (ret)
		return ret;
	gpuvm_count_mappings(vm, 1);
	return 0;
}

void gpuva_remove(struct gpuva *va)
{
	struct gpuvm *vm = va->vm;

	gpuvm_assert_locked(vm, __func__);
#ifndef NDEBUG
	/* Clearing a stale range could wipe whoever mapped it since. */
	if (gpuvm_lookup(vm, va->va.addr) != va)
		gpuvm_bug("gpuva_remove() of a mapping that is not inserted");
#endif
	/* Between two mappings the range frees in place; else it waits. */
	if (free_in_place(vm, va->va.addr, va->va.range)) {
		tree_replace(vm, va->va.addr, va->va.range, XA_ZERO_ENTRY);
		gpuvm_tidy_later(vm, va->va.addr, va_end(va));
	}
	gpuvm_count_mappings(vm, -1);
}

/* ---- Applying operations ------------------------------------------------ */

void gpuvm_va_from_op(struct gpuva *va, struct gpuvm *vm,
		      const struct gpuva_op_map *op)
{
	gpuva_init(va, op->va.addr, op->va.range, op->bo, op->bo_offset);
	va->flags = op->flags;
	va->vm = vm;
}

int gpuva_map(struct gpuvm *vm, struct gpuva *va,
	      const struct gpuva_op_map *op)
{
	gpuvm_va_from_op(va, NULL, op);
	return gpuva_insert(vm, va);
}

void gpuva_unmap(const struct gpuva_op_unmap *op)
{
	gpuva_remove(op->va);
}

void gpuva_op_remap_to_unmap_range(const struct gpuva_op_remap *op,
				   uint64_t *start, uint64_t *range)
{
	const struct gpuva *va = op->unmap->va;
	uint64_t first = op->prev ? op->prev->va.addr + op->prev->va.range :
				    va->va.addr;
	uint64_t end = op->next ? op->next->va.addr : va_end(va);

	*start = first;
	*range = end - first;
}

static uint64_t map_end(const struct gpuva_op_map *map)
{
	return map->va.addr + map->va.range;
}

/*
 * The op's pieces lie at the old mapping's ends and leave a hole between
 * them, and the caller passes a mapping for each piece it has.
 */
static bool remap_valid(const struct gpuva *prev, const struct gpuva *next,
			const struct gpuva_op_remap *op)
{
	const struct gpuva *va = op->unmap ? op->unmap->va : NULL;
	uint64_t hole_start, hole_range;

	if (!va || !va->vm || !!prev != !!op->prev || !!next != !!op->next)
		return false;
	if (op->prev && (op->prev->va.addr != va->va.addr ||
			 !op->prev->va.range ||
			 op->prev->va.range >= va->va.range))
		return false;
	if (op->next && (map_end(op->next) != va_end(va) ||
			 op->next->va.addr <= va->va.addr))
		return false;
	gpuva_op_remap_to_unmap_range(op, &hole_start, &hole_range);
	return hole_start >= va->va.addr && hole_range &&
	       hole_start + hole_range <= va_end(va);
}

/*
 * One store that may need memory comes first and changes nothing a reader
 * cares about in the kept pieces: the hole becomes a placeholder, which
 * splits the old mapping's slot around it. The pieces then take over their
 * slots in place, so a reader looking up an address in a kept piece finds
 * the old mapping or the new piece, never nothing.
 */
int gpuva_remap(struct gpuva *prev, struct gpuva *next,
		const struct gpuva_op_remap *op)
{
	uint64_t hole_start, hole_range;
	struct gpuva *va;
	struct gpuvm *vm;
	int ret;

	if (!op || !remap_valid(prev, next, op))
		return -EINVAL;
	va = op->unmap->va;
	vm = va->vm;
	gpuvm_assert_locked(vm, __func__);
	gpuva_op_remap_to_unmap_range(op, &hole_start, &hole_range);
	ret = tree_store(vm, hole_start, hole_range, XA_ZERO_ENTRY, GFP_KERNEL);
	if (ret)
		return ret;
	if (prev) {
		gpuvm_va_from_op(prev, vm, op->prev);
		tree_replace(vm, prev->va.addr, prev->va.range, prev);
	}
	if (next) {
		gpuvm_va_from_op(next, vm, op->next);
		tree_replace(vm, next->va.addr, next->va.range, next);
	}
	/* Between two pieces in one leaf the hole frees in place; else
	 * merging waits for the unlock. */
	if (!prev || !next || free_in_place(vm, hole_start, hole_range))
		gpuvm_tidy_later(vm, hole_start, hole_start + hole_range);
	gpuvm_count_mappings(vm, !!prev + !!next - 1);
	return 0;
}
