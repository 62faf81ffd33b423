// SPDX-License-Identifier: MIT
/*
 * Choosing addresses: the free space of a VA space is where no mapping is,
 * so the allocator is a gap search in the mappings' own tree (with gap
 * tracking unless the space was made with GPUVM_NO_VA_ALLOCATOR). The
 * reserved region is an XA_ZERO_ENTRY range, which searches treat as taken.
 */
#include "gpuvm/gpuvm_internal.h"

static bool power_of_two(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * The window [*min, *max] the request may use. Return: 0; -EINVAL for a
 * malformed request; -ENOSPC when the window cannot hold the size.
 */
static int alloc_window(const struct gpuvm *vm,
			const struct gpuvm_va_alloc_req *req,
			uint64_t *min, uint64_t *max)
{
	uint64_t space_end = vm->mm_start + vm->mm_range;
	uint64_t start = req->start, end = req->end;

	if (!req->size || (req->align > 1 && !power_of_two(req->align)) ||
	    (req->boundary && (!power_of_two(req->boundary) ||
			       req->boundary < req->size)) ||
	    (req->flags & ~GPUVM_ALLOC_TOP))
		return -EINVAL;
	if (!start && !end) {
		start = vm->mm_start;
		end = space_end;
	}
	if (start >= end || start < vm->mm_start || end > space_end)
		return -EINVAL;
	if (req->size > end - start)
		return -ENOSPC;
	*min = start;
	*max = end - 1;
	return 0;
}

int gpuvm_va_find_free(struct gpuvm *vm, const struct gpuvm_va_alloc_req *req,
		       uint64_t *addr)
{
	uint64_t align = req && req->align > 1 ? req->align : 1;
	MA_STATE(mas, &vm->mt, 0, 0);
	uint64_t min, max;
	int ret;

	gpuvm_assert_locked(vm, __func__);
	if (!req || !addr)
		return -EINVAL;
	/* Placeholders of removed mappings would read as taken. */
	gpuvm_clear_placeholders(vm);
	ret = alloc_window(vm, req, &min, &max);
	if (ret)
		return ret;
	if (req->flags & GPUVM_ALLOC_TOP)
		ret = mas_empty_area_rev_aligned(&mas, min, max, req->size,
						 align, req->boundary);
	else
		ret = mas_empty_area_aligned(&mas, min, max, req->size, align,
					     req->boundary);
	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	*addr = mas.index;
	return 0;
}

int gpuvm_va_alloc(struct gpuvm *vm, struct gpuva *va,
		   const struct gpuvm_va_alloc_req *req)
{
	uint64_t addr;
	int ret;

	ret = gpuvm_va_find_free(vm, req, &addr);
	if (ret)
		return ret;
	va->va.addr = addr;
	va->va.range = req->size;
	return gpuva_insert(vm, va);
}
