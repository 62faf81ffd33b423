/* gpuvm_ops.c: a VA space, map and unmap requests split into operations.
 * cc -std=gnu11 gpuvm_ops.c $(pkg-config --cflags --libs mapletree-gpuvm) */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu/urcu-memb.h>
#include <mapletree/gpuvm.h>

#define KiB	((uint64_t)1024)
#define MiB	(1024 * KiB)

/* A driver's buffer object embeds the VA manager's handle. */
struct my_bo {
	const char *name;
	struct gpuvm_bo_handle handle;
};

static const char *bo_name(const struct gpuvm_bo_handle *h)
{
	if (!h)
		return "(sparse)";
	return ((const struct my_bo *)((const char *)h -
				       offsetof(struct my_bo, handle)))->name;
}

static struct gpuva *new_va(void)
{
	struct gpuva *va = malloc(sizeof(*va));

	if (!va)
		abort();
	return va;
}

/* Link a new mapping to its (VA space, BO) pair, as drivers do. */
static void link_va(struct gpuvm *vm, struct gpuva *va)
{
	struct gpuvm_bo *vm_bo;

	if (!va->bo)
		return;
	if (gpuvm_bo_obtain(vm, va->bo, &vm_bo))
		abort();
	gpuva_link(va, vm_bo);
	gpuvm_bo_put(vm_bo);	/* the link holds its own reference */
}

/* Apply each operation; a driver would also write its page tables here. */
static void apply(struct gpuvm *vm, struct gpuva_ops *ops)
{
	struct gpuva_op *op;

	gpuva_for_each_op(op, ops) {
		if (op->op == GPUVA_OP_MAP) {
			struct gpuva *va = new_va();

			printf("  MAP    [%#" PRIx64 ", +%" PRIu64 " KiB) %s\n",
			       op->map.va.addr, op->map.va.range / KiB,
			       bo_name(op->map.bo));
			if (gpuva_map(vm, va, &op->map))
				abort();
			link_va(vm, va);
		} else if (op->op == GPUVA_OP_REMAP) {
			struct gpuva *old = op->remap.unmap->va;
			struct gpuva *prev = op->remap.prev ? new_va() : NULL;
			struct gpuva *next = op->remap.next ? new_va() : NULL;
			uint64_t start, range;

			gpuva_op_remap_to_unmap_range(&op->remap, &start, &range);
			printf("  REMAP  %s: unmap [%#" PRIx64 ", +%" PRIu64
			       " KiB), keeping%s%s\n", bo_name(old->bo), start,
			       range / KiB, prev ? " prev" : "",
			       next ? " next" : "");
			if (gpuva_remap(prev, next, &op->remap))
				abort();
			if (prev)
				link_va(vm, prev);
			if (next)
				link_va(vm, next);
			gpuva_unlink(old);
			gpuva_free_rcu(old);	/* lock-free readers may hold it */
		} else if (op->op == GPUVA_OP_UNMAP) {
			struct gpuva *va = op->unmap.va;

			printf("  UNMAP  [%#" PRIx64 ", +%" PRIu64 " KiB) %s%s\n",
			       va->va.addr, va->va.range / KiB,
			       bo_name(va->bo), op->unmap.keep ? " (keep)" : "");
			gpuva_unmap(&op->unmap);
			gpuva_unlink(va);
			gpuva_free_rcu(va);
		}
	}
}

static void map(struct gpuvm *vm, uint64_t addr, uint64_t range,
		struct my_bo *bo, uint64_t offset)
{
	struct gpuvm_map_req req = {
		.map = {
			.va = { .addr = addr, .range = range },
			.bo = bo ? &bo->handle : NULL,
			.bo_offset = offset,
			.flags = bo ? 0 : GPUVA_SPARSE,
		},
	};
	struct gpuva_ops *ops;

	printf("map %s at %#" PRIx64 ", %" PRIu64 " KiB:\n",
	       bo ? bo->name : "(sparse)", addr, range / KiB);
	if (gpuvm_sm_map_ops_create(vm, &req, &ops))
		abort();
	apply(vm, ops);
	gpuva_ops_free(vm, ops);
}

static void unmap(struct gpuvm *vm, uint64_t addr, uint64_t range)
{
	struct gpuva_ops *ops;

	printf("unmap %#" PRIx64 ", %" PRIu64 " KiB:\n", addr, range / KiB);
	if (gpuvm_sm_unmap_ops_create(vm, addr, range, &ops))
		abort();
	apply(vm, ops);
	gpuva_ops_free(vm, ops);
}

int main(void)
{
	struct my_bo color = { .name = "color" }, depth = { .name = "depth" };
	struct gpuvm_map_req bad = { .map = { .va = { 0, 64 * KiB } } };
	struct gpuvm_va_alloc_req where = { .size = 2 * MiB, .align = 2 * MiB };
	struct gpuva_ops *ops;
	struct gpuva *va, *hit;
	struct gpuvm vm;
	uint64_t addr;

	/* 1 GiB of VA from 1 MiB up; the first 64 KiB are the kernel's. */
	if (gpuvm_init(&vm, "example", 0, 1 * MiB, 1024 * MiB, 1 * MiB,
		       64 * KiB, NULL))
		return 1;
	gpuvm_bo_handle_init(&color.handle, 2 * MiB, NULL);
	gpuvm_bo_handle_init(&depth.handle, 1 * MiB, NULL);

	gpuvm_lock(&vm);
	/* Let the VA space choose a 2 MiB-aligned home for the color buffer. */
	if (gpuvm_va_find_free(&vm, &where, &addr))
		return 1;
	map(&vm, addr, 2 * MiB, &color, 0);
	/* Bind depth over the middle: color is split around it (REMAP). */
	map(&vm, addr + 512 * KiB, 256 * KiB, &depth, 0);
	/* Rebind color where it was: the same pages, so keep is set. */
	map(&vm, addr, 512 * KiB, &color, 0);
	/* Unmap across two mappings, leaving pieces on both sides. */
	unmap(&vm, addr + 384 * KiB, 256 * KiB);
	/* A sparse (NULL) binding fills the hole. */
	map(&vm, addr + 384 * KiB, 256 * KiB, NULL, 0);
	/* Requests that touch the kernel's region are refused whole. */
	bad.map.va.addr = 1 * MiB + 32 * KiB;
	printf("map over the reserved region: %d (-EINVAL)\n",
	       gpuvm_sm_map_ops_create(&vm, &bad, &ops));
	gpuvm_unlock(&vm);

	/* What a GPU fault handler does: a lock-free lookup. */
	mt_rcu_read_lock();
	hit = gpuvm_lookup(&vm, addr + 400 * KiB);
	printf("fault at +400 KiB: %s\n", hit ? bo_name(hit->bo) : "unmapped");
	mt_rcu_read_unlock();

	printf("final layout:\n");
	gpuvm_lock(&vm);
	gpuvm_for_each_va(va, &vm)
		printf("  [%#" PRIx64 ", +%4" PRIu64 " KiB) %-8s offset %"
		       PRIu64 " KiB\n", va->va.addr, va->va.range / KiB,
		       bo_name(va->bo), va->bo_offset / KiB);
	unmap(&vm, vm.mm_start + 64 * KiB, vm.mm_range - 64 * KiB);
	gpuvm_unlock(&vm);

	gpuvm_put(&vm);		/* waits for the deferred frees */
	return gpuvm_bo_handle_fini(&color.handle) ||
	       gpuvm_bo_handle_fini(&depth.handle);
}
