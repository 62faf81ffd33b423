/* bind_queue.c: asynchronous binds that never allocate where they signal.
 * cc -std=gnu11 bind_queue.c $(pkg-config --cflags --libs mapletree-gpuvm) */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu/urcu-memb.h>
#include <mapletree/gpuvm.h>

#define KiB	((uint64_t)1024)
#define MiB	(1024 * KiB)

/*
 * The driver's page-table step. It runs on the queue's worker inside a
 * fence-signalling section: it may write page tables, not allocate.
 */
static int write_page_tables(void *priv, const struct gpuva_op *op)
{
	unsigned long *ops = priv;

	(*ops)++;
	if (op->op == GPUVA_OP_MAP)
		printf("  worker: map   [%#" PRIx64 ", +%" PRIu64 " KiB)\n",
		       op->map.va.addr, op->map.va.range / KiB);
	else if (op->op == GPUVA_OP_REMAP)
		printf("  worker: remap [%#" PRIx64 ", +%" PRIu64 " KiB)\n",
		       op->remap.unmap->va->va.addr,
		       op->remap.unmap->va->va.range / KiB);
	else
		printf("  worker: unmap [%#" PRIx64 ", +%" PRIu64 " KiB)\n",
		       op->unmap.va->va.addr, op->unmap.va->va.range / KiB);
	return 0;
}

int main(void)
{
	static const struct gpuvm_bind_ops ops = { .run_op = write_page_tables };
	struct gpuvm_bo_handle texture;
	struct gpuvm_fence *upload, *first, *second;
	struct gpuvm_bind_queue *queue;
	struct gpuvm_bind_stats stats;
	struct mt_cache_stats cache;
	unsigned long nr_ops = 0;
	struct gpuva *hit;
	bool sparse;
	struct gpuvm vm;
	int status;

	/* A sparse texture: 1 MiB of VA, bound 64 KiB page by page. */
	const struct gpuvm_bind_req bind[] = {
		{ GPUVM_BIND_MAP, 1 * MiB, 1 * MiB, NULL, 0, GPUVA_SPARSE },
		{ GPUVM_BIND_MAP, 1 * MiB + 128 * KiB, 64 * KiB, &texture, 0, 0 },
		{ GPUVM_BIND_MAP, 1 * MiB + 512 * KiB, 64 * KiB, &texture,
		  64 * KiB, 0 },
	};
	/* Evicting a page of a sparse texture binds it to nothing again. */
	const struct gpuvm_bind_req evict[] = {
		{ GPUVM_BIND_MAP, 1 * MiB + 128 * KiB, 64 * KiB, NULL, 0,
		  GPUVA_SPARSE },
	};

	urcu_memb_register_thread();
	if (gpuvm_init(&vm, "bind example", 0, 0, 1ull << 32, 0, 0, NULL))
		return 1;
	gpuvm_bo_handle_init(&texture, 128 * KiB, NULL);
	if (gpuvm_bind_queue_create(&vm, GPUVM_BIND_IMMEDIATE, &ops, &nr_ops,
				    &queue) || gpuvm_bind_queue_start(queue))
		return 1;

	/* The first job waits for the texture's upload; the second for it. */
	upload = gpuvm_fence_create();
	if (!upload ||
	    gpuvm_bind_submit(queue, bind, 3, &upload, 1, &first) ||
	    gpuvm_bind_submit(queue, evict, 1, &first, 1, &second))
		return 1;
	gpuvm_bind_queue_stats(queue, &stats);
	printf("submitted 2 jobs; %zu bytes reserved for them, nothing "
	       "ran yet (%lu ops)\n", stats.reserved_bytes, nr_ops);

	printf("upload done:\n");
	gpuvm_fence_signal(upload, 0);
	gpuvm_fence_wait(second, -1);
	status = gpuvm_fence_status(second);
	printf("second job's fence: %s\n", status == 1 ? "signalled, ok" :
	       "failed");

	/* A fault handler's view: the evicted page reads as sparse again. */
	mt_rcu_read_lock();
	hit = gpuvm_lookup(&vm, 1 * MiB + 128 * KiB);
	sparse = hit && !hit->bo;
	printf("fault at +128 KiB: %s\n", !hit ? "unmapped" :
	       hit->bo ? "texture" : "sparse");
	mt_rcu_read_unlock();

	mt_cache_stats(&cache);
	printf("allocations inside signalling sections: %lu\n",
	       cache.forbidden_allocs);

	gpuvm_fence_put(upload);
	gpuvm_fence_put(first);
	gpuvm_fence_put(second);
	gpuvm_bind_queue_destroy(queue);
	gpuvm_lock(&vm);
	{	/* Unmap what is left, then let the VA space go. */
		struct gpuva *va;

		gpuvm_for_each_va(va, &vm) {
			gpuva_remove(va);
			gpuva_unlink(va);
			gpuva_free_rcu(va);
		}
	}
	gpuvm_unlock(&vm);
	gpuvm_put(&vm);
	urcu_memb_unregister_thread();
	return !(status == 1 && sparse && !cache.forbidden_allocs &&
		 gpuvm_bo_handle_fini(&texture) == 0);
}
