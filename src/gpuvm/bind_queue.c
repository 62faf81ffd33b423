// SPDX-License-Identifier: MIT
/*
 * The bind queue: jobs of map and unmap requests, run in order by a worker
 * thread once their in-fences are signalled, each signalling its out-fence.
 *
 * A job's run step runs inside a fence-signalling section and must not
 * allocate. In staged mode that is easy: the VA space changed at submit,
 * and the run step only hands the recorded ops to the driver. In
 * immediate mode the run step changes the VA space against whatever it
 * holds by then, and the submit made that allocation-free:
 *  - it allocated the mappings the run step may create (3 per map, 2 per
 *    unmap: the request's own and the pieces kept on either side) and
 *    took references on the vm_bos they will link to;
 *  - it pre-split the tree at both ends of each request (storing a
 *    range's own entry over the part past the end, and a placeholder over
 *    free space inside the request) and registered those addresses in
 *    vm->boundaries, so no tidying merges them away while the job waits.
 * With every end a slot boundary, each store of the run step replaces
 * whole slots in place (gpuvm_replace_slots()): no node, no failure. The
 * mappings it removes are chained through their rcu head and freed, like
 * the unused reservations, after the job, outside the section, where the
 * boundaries are released and the slots around them tidied.
 */
#include <string.h>
#include <urcu/urcu-memb.h>
#include <urcu/flavor.h>

#include "gpuvm/gpuvm_internal.h"

struct bind_job {
	struct cds_list_head entry;		/* queue->jobs */
	struct gpuvm_fence *out;
	struct gpuvm_fence **in;
	unsigned int nr_in;
	struct gpuvm_bind_req *reqs;
	unsigned int nr_reqs;
	struct gpuvm_bo **vm_bos;		/* per request (immediate) */
	struct gpuva_ops **ops;			/* per request (staged) */
	struct gpuva **pool;			/* reserved mappings (immediate) */
	unsigned int nr_pool, pool_used;
	struct gpuva *removed;			/* chained through rcu (immediate) */
	size_t reserved_bytes;
};

struct gpuvm_bind_queue {
	struct gpuvm *vm;
	enum gpuvm_bind_mode mode;
	const struct gpuvm_bind_ops *ops;
	void *priv;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct cds_list_head jobs;		/* submitted, not yet run */
	pthread_t worker;
	bool running, stopping;
	struct gpuvm_bind_stats stats;		/* under lock */
};

/* ---- Reserved mappings -------------------------------------------------- */

static struct gpuva *va_new(struct gpuvm *vm)
{
	if (mt_alloc_check())
		return NULL;
	return vm->ops->va_alloc ? vm->ops->va_alloc() :
				   calloc(1, sizeof(struct gpuva));
}

static struct gpuva *pool_take(struct bind_job *job)
{
	return job->pool_used < job->nr_pool ? job->pool[job->pool_used++] :
					       NULL;
}

/* ---- Slot boundaries pending jobs need ---------------------------------- */

static int boundary_get(struct gpuvm *vm, uint64_t addr)
{
	void *n = mtree_load(&vm->boundaries, addr);

	return mtree_store(&vm->boundaries, addr,
			   xa_mk_value(n ? xa_to_value(n) + 1 : 1), GFP_KERNEL);
}

static void boundary_put(struct gpuvm *vm, uint64_t addr)
{
	unsigned long n = xa_to_value(mtree_load(&vm->boundaries, addr));

	if (n > 1)
		mtree_store(&vm->boundaries, addr, xa_mk_value(n - 1),
			    GFP_KERNEL);
	else
		mtree_erase(&vm->boundaries, addr);
}

/* Make @b a slot boundary without changing what any address reads. */
static int split_at(struct gpuvm *vm, uint64_t b)
{
	MA_STATE(mas, &vm->mt, b, b);
	void *entry = mas_walk(&mas);

	if (mas.index == b || !entry)
		return 0;
	mas_set_range(&mas, b, mas.last);
	return mas_store_gfp(&mas, entry, GFP_KERNEL);
}

/* Free space inside [start, end) becomes placeholders: slots to replace. */
static int fill_free(struct gpuvm *vm, uint64_t start, uint64_t end)
{
	uint64_t pos = start;

	while (pos < end) {
		MA_STATE(mas, &vm->mt, pos, pos);
		void *entry = mas_walk(&mas);
		uint64_t last = mas.last < end - 1 ? mas.last : end - 1;
		int ret;

		if (!entry) {
			mas_set_range(&mas, pos, last);
			ret = mas_store_gfp(&mas, XA_ZERO_ENTRY, GFP_KERNEL);
			if (ret)
				return ret;
		}
		if (last == end - 1)
			return 0;
		pos = last + 1;
	}
	return 0;
}

/* Make [start, end) a run of whole slots and keep it so. */
static int presplit(struct gpuvm *vm, uint64_t start, uint64_t end)
{
	int ret = split_at(vm, start);

	if (!ret)
		ret = split_at(vm, end);
	if (!ret)
		ret = fill_free(vm, start, end);
	if (!ret)
		ret = boundary_get(vm, start);
	if (!ret && (ret = boundary_get(vm, end)))
		boundary_put(vm, start);
	return ret;
}

/* ---- Jobs --------------------------------------------------------------- */

static void job_free(struct gpuvm *vm, struct bind_job *job)
{
	unsigned int i;

	for (i = job->pool_used; i < job->nr_pool; i++)
		gpuvm_va_free(vm, job->pool[i]);
	for (i = 0; job->vm_bos && i < job->nr_reqs; i++)
		gpuvm_bo_put(job->vm_bos[i]);
	for (i = 0; job->ops && i < job->nr_reqs; i++)
		gpuva_ops_free(vm, job->ops[i]);
	for (i = 0; i < job->nr_in; i++)
		gpuvm_fence_put(job->in[i]);
	gpuvm_fence_put(job->out);
	free(job->in);
	free(job->reqs);
	free(job->vm_bos);
	free(job->ops);
	free(job->pool);
	free(job);
}

static struct gpuva_op_map req_map(const struct gpuvm_bind_req *req)
{
	return (struct gpuva_op_map){
		.va = { .addr = req->addr, .range = req->range },
		.bo = req->op == GPUVM_BIND_MAP ? req->bo : NULL,
		.bo_offset = req->op == GPUVM_BIND_MAP ? req->bo_offset : 0,
		.flags = req->flags,
	};
}

static int check_reqs(struct gpuvm *vm, const struct gpuvm_bind_req *reqs,
		      unsigned int nr)
{
	unsigned int i;

	if (!reqs || !nr)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		struct gpuva_op_map map = req_map(&reqs[i]);

		if ((reqs[i].op != GPUVM_BIND_MAP &&
		     reqs[i].op != GPUVM_BIND_UNMAP) ||
		    gpuvm_check_map(vm, &map))
			return -EINVAL;
	}
	return 0;
}

/* The job's own storage, its fences, and (immediate) its mappings. */
static struct bind_job *job_alloc(struct gpuvm_bind_queue *queue,
				  const struct gpuvm_bind_req *reqs,
				  unsigned int nr_reqs,
				  struct gpuvm_fence *const *in,
				  unsigned int nr_in)
{
	bool immediate = queue->mode == GPUVM_BIND_IMMEDIATE;
	struct bind_job *job = gpuvm_zalloc(sizeof(*job));
	unsigned int i, nr_pool = 0;

	if (!job)
		return NULL;
	for (i = 0; immediate && i < nr_reqs; i++)
		nr_pool += reqs[i].op == GPUVM_BIND_MAP ? 3 : 2;
	job->nr_reqs = nr_reqs;
	job->reqs = gpuvm_zalloc(nr_reqs * sizeof(*reqs));
	job->in = nr_in ? gpuvm_zalloc(nr_in * sizeof(*in)) : NULL;
	job->out = gpuvm_fence_create();
	if (immediate) {
		job->vm_bos = gpuvm_zalloc(nr_reqs * sizeof(*job->vm_bos));
		job->pool = gpuvm_zalloc(nr_pool * sizeof(*job->pool));
	} else {
		job->ops = gpuvm_zalloc(nr_reqs * sizeof(*job->ops));
	}
	if (!job->reqs || (nr_in && !job->in) || !job->out ||
	    (immediate && (!job->vm_bos || !job->pool)) ||
	    (!immediate && !job->ops))
		goto fail;
	memcpy(job->reqs, reqs, nr_reqs * sizeof(*reqs));
	for (; job->nr_in < nr_in; job->nr_in++)
		job->in[job->nr_in] = gpuvm_fence_get(in[job->nr_in]);
	for (; job->nr_pool < nr_pool; job->nr_pool++)
		if (!(job->pool[job->nr_pool] = va_new(queue->vm)))
			goto fail;
	job->reserved_bytes = sizeof(*job) + nr_reqs * (sizeof(*reqs) +
		sizeof(void *)) + nr_pool * (sizeof(struct gpuva) +
		sizeof(void *));
	return job;
fail:
	job_free(queue->vm, job);
	return NULL;
}

/* ---- Mappings that leave the VA space ----------------------------------- */

/* Off its vm_bo's list, keeping the vm_bo reference for undo or release. */
static void detach(struct gpuva *va)
{
	if (va->vm_bo)
		cds_list_del_init(&va->bo_entry);
}

static void reattach(struct gpuva *va)
{
	if (va->vm_bo)
		cds_list_add_tail(&va->bo_entry, &va->vm_bo->gpuvas);
}

/* After the job: drop the vm_bo reference and free after readers. */
static void release(struct gpuva *va)
{
	struct gpuvm_bo *vm_bo = va->vm_bo;

	va->vm_bo = NULL;
	gpuvm_bo_put(vm_bo);
	gpuva_free_rcu(va);
}

/* A mapping this job published, found again by its exact range. */
static void unpublish(struct gpuvm *vm, const struct gpuva_op_map *map)
{
	struct gpuva *va = gpuva_find(vm, map->va.addr, map->va.range);

	gpuva_remove(va);
	gpuva_unlink(va);
	gpuva_free_rcu(va);
}

static void poison(struct gpuvm *vm, int error)
{
	int none = 0;

	__atomic_compare_exchange_n(&vm->unusable, &none, error, false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

/* ---- Staged mode: the VA space changes at submit ------------------------ */

static int staged_map(struct gpuvm *vm, const struct gpuva_op_map *map)
{
	struct gpuvm_bo *vm_bo = NULL;
	struct gpuva *va = va_new(vm);
	int ret = va ? 0 : -ENOMEM;

	if (!ret && map->bo)
		ret = gpuvm_bo_obtain(vm, map->bo, &vm_bo);
	if (!ret)
		ret = gpuva_map(vm, va, map);
	if (ret) {
		gpuvm_bo_put(vm_bo);
		if (va)
			gpuvm_va_free(vm, va);
		return ret;
	}
	if (vm_bo) {
		gpuva_link(va, vm_bo);
		gpuvm_bo_put(vm_bo);
	}
	return 0;
}

static int staged_remap(struct gpuvm *vm, const struct gpuva_op_remap *remap)
{
	struct gpuva *old = remap->unmap->va;
	struct gpuva *prev = remap->prev ? va_new(vm) : NULL;
	struct gpuva *next = remap->next ? va_new(vm) : NULL;
	int ret = (remap->prev && !prev) || (remap->next && !next) ? -ENOMEM :
		  gpuva_remap(prev, next, remap);

	if (ret) {
		if (prev)
			gpuvm_va_free(vm, prev);
		if (next)
			gpuvm_va_free(vm, next);
		return ret;
	}
	if (old->vm_bo) {
		if (prev)
			gpuva_link(prev, old->vm_bo);
		if (next)
			gpuva_link(next, old->vm_bo);
	}
	detach(old);
	return 0;
}

static int staged_apply(struct gpuvm *vm, struct gpuva_op *op)
{
	switch (op->op) {
	case GPUVA_OP_MAP:
		return staged_map(vm, &op->map);
	case GPUVA_OP_REMAP:
		return staged_remap(vm, &op->remap);
	default:
		gpuva_unmap(&op->unmap);
		detach(op->unmap.va);
		return 0;
	}
}

/* Undo one applied op; put back what it took out. */
static void staged_undo(struct gpuvm *vm, struct gpuva_op *op)
{
	struct gpuva *old = NULL;

	if (op->op == GPUVA_OP_MAP) {
		unpublish(vm, &op->map);
		return;
	}
	if (op->op == GPUVA_OP_REMAP) {
		old = op->remap.unmap->va;
		if (op->remap.prev)
			unpublish(vm, op->remap.prev);
		if (op->remap.next)
			unpublish(vm, op->remap.next);
	} else {
		old = op->unmap.va;
	}
	/* Placeholders hold its range; only memory can make this fail. */
	if (gpuva_insert(vm, old))
		poison(vm, -ENOMEM);
	reattach(old);
}

/* Undo, newest first, the first @nr_ops ops of request @req and all of the
 * requests before it, and free their lists. */
static void staged_unwind(struct gpuvm *vm, struct bind_job *job,
			  unsigned int req, unsigned int nr_ops)
{
	for (;;) {
		struct gpuva_op *op;
		unsigned int total = 0, i = 0;

		if (job->ops[req]) {
			gpuva_for_each_op(op, job->ops[req])
				total++;
			gpuva_for_each_op_reverse(op, job->ops[req])
				if (total - i++ <= nr_ops)
					staged_undo(vm, op);
		}
		gpuva_ops_free(vm, job->ops[req]);
		job->ops[req] = NULL;
		if (!req--)
			return;
		nr_ops = ~0u;
	}
}

static int staged_submit(struct gpuvm *vm, struct bind_job *job)
{
	unsigned int i, applied = 0;
	int ret = 0;

	gpuvm_lock(vm);
	for (i = 0; i < job->nr_reqs; i++) {
		const struct gpuvm_map_req map = { req_map(&job->reqs[i]) };
		struct gpuva_op *op;

		ret = job->reqs[i].op == GPUVM_BIND_MAP ?
		      gpuvm_sm_map_ops_create(vm, &map, &job->ops[i]) :
		      gpuvm_sm_unmap_ops_create(vm, map.map.va.addr,
						map.map.va.range, &job->ops[i]);
		applied = 0;
		if (!ret)
			gpuva_for_each_op(op, job->ops[i]) {
				ret = staged_apply(vm, op);
				if (ret)
					break;
				applied++;
			}
		if (ret) {
			staged_unwind(vm, job, i, applied);
			break;
		}
		/* Merge what this request freed while it is still local. */
		gpuvm_clear_placeholders(vm);
	}
	gpuvm_unlock(vm);
	return ret;
}

static int staged_run(struct gpuvm_bind_queue *queue, struct bind_job *job)
{
	struct gpuva_op *op;
	unsigned int i;
	int ret;

	if (!queue->ops || !queue->ops->run_op)
		return 0;
	for (i = 0; i < job->nr_reqs; i++)
		gpuva_for_each_op(op, job->ops[i]) {
			ret = queue->ops->run_op(queue->priv, op);
			if (ret)
				return ret;
		}
	return 0;
}

static void staged_cleanup(struct bind_job *job)
{
	struct gpuva_op *op;
	unsigned int i;

	for (i = 0; i < job->nr_reqs; i++)
		gpuva_for_each_op(op, job->ops[i]) {
			if (op->op == GPUVA_OP_REMAP)
				release(op->remap.unmap->va);
			else if (op->op == GPUVA_OP_UNMAP)
				release(op->unmap.va);
		}
}

/* ---- Immediate mode: the VA space changes in the run step --------------- */

static void immediate_release_bounds(struct gpuvm *vm, struct bind_job *job,
				     unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		uint64_t start = job->reqs[i].addr;
		uint64_t end = start + job->reqs[i].range;

		boundary_put(vm, start);
		boundary_put(vm, end);
	}
	/* Placeholders and split mappings the requests left may merge now. */
	for (i = 0; i < nr; i++)
		gpuvm_tidy(vm, job->reqs[i].addr,
			   job->reqs[i].addr + job->reqs[i].range);
}

static int immediate_submit(struct gpuvm *vm, struct bind_job *job)
{
	unsigned int i;
	int ret = 0;

	gpuvm_lock(vm);
	for (i = 0; i < job->nr_reqs && !ret; i++) {
		const struct gpuvm_bind_req *req = &job->reqs[i];

		if (req->op == GPUVM_BIND_MAP && req->bo)
			ret = gpuvm_bo_obtain(vm, req->bo, &job->vm_bos[i]);
		if (!ret)
			ret = presplit(vm, req->addr, req->addr + req->range);
	}
	if (ret) {
		/* The failed request registered no boundary; tidy it too. */
		immediate_release_bounds(vm, job, i - 1);
		gpuvm_tidy(vm, job->reqs[i - 1].addr,
			   job->reqs[i - 1].addr + job->reqs[i - 1].range);
	}
	gpuvm_unlock(vm);
	return ret;
}

struct immediate_run {
	struct gpuvm_bind_queue *queue;
	struct bind_job *job;
	unsigned int req;
};

/*
 * A new mapping from the reservation, filled in before it is stored so
 * readers see it whole, over whole slots. NULL if the reservation or the
 * pre-split fell short, which cannot happen unless something is broken.
 */
static struct gpuva *run_new(struct bind_job *job, struct gpuvm *vm,
			     const struct gpuva_op_map *map)
{
	struct gpuva *va = pool_take(job);

	if (!va)
		return NULL;
	gpuvm_va_from_op(va, vm, map);
	if (gpuvm_replace_slots(vm, map->va.addr, map->va.range, va))
		return NULL;
	return va;
}

/* @va leaves: its slots in [start, +range) become placeholders. */
static int run_remove(struct bind_job *job, struct gpuvm *vm,
		      struct gpuva *va, uint64_t start, uint64_t range)
{
	if (range && gpuvm_replace_slots(vm, start, range, XA_ZERO_ENTRY))
		return -EFAULT;
	detach(va);
	va->rcu.private_[0] = job->removed;
	job->removed = va;
	return 0;
}

static int run_remap(struct bind_job *job, struct gpuvm *vm,
		     const struct gpuva_op_remap *remap)
{
	struct gpuva *old = remap->unmap->va, *prev = NULL, *next = NULL;
	uint64_t hole, hole_range;

	if (remap->prev && !(prev = run_new(job, vm, remap->prev)))
		return -EFAULT;
	if (remap->next && !(next = run_new(job, vm, remap->next)))
		return -EFAULT;
	if (old->vm_bo) {
		if (prev)
			gpuva_link(prev, old->vm_bo);
		if (next)
			gpuva_link(next, old->vm_bo);
	}
	gpuva_op_remap_to_unmap_range(remap, &hole, &hole_range);
	gpuvm_count_mappings(vm, !!prev + !!next - 1);
	return run_remove(job, vm, old, hole, hole_range);
}

/* One op of the run step, applied in place with reserved mappings. */
static int immediate_op(void *priv, struct gpuva_op *op)
{
	struct immediate_run *run = priv;
	struct gpuvm_bind_queue *queue = run->queue;
	struct bind_job *job = run->job;
	struct gpuvm *vm = queue->vm;
	struct gpuva *va;
	int ret;

	switch (op->op) {
	case GPUVA_OP_MAP:
		va = run_new(job, vm, &op->map);
		ret = va ? 0 : -EFAULT;
		if (va) {
			gpuvm_count_mappings(vm, 1);
			if (job->vm_bos[run->req])
				gpuva_link(va, job->vm_bos[run->req]);
		}
		break;
	case GPUVA_OP_REMAP:
		ret = run_remap(job, vm, &op->remap);
		break;
	default:
		va = op->unmap.va;
		gpuvm_count_mappings(vm, -1);
		ret = run_remove(job, vm, va, va->va.addr, va->va.range);
		break;
	}
	if (!ret && queue->ops && queue->ops->run_op)
		ret = queue->ops->run_op(queue->priv, op);
	return ret;
}

static int immediate_run(struct gpuvm_bind_queue *queue, struct bind_job *job)
{
	struct immediate_run run = { .queue = queue, .job = job };
	struct gpuvm *vm = queue->vm;
	int ret = 0;

	gpuvm_lock(vm);
	for (; run.req < job->nr_reqs && !ret; run.req++) {
		const struct gpuva_op_map map = req_map(&job->reqs[run.req]);

		ret = gpuvm_sm_walk(vm, job->reqs[run.req].op ==
				    GPUVM_BIND_UNMAP, &map, immediate_op, &run);
	}
	gpuvm_unlock_untidy(vm);
	return ret;
}

static void immediate_cleanup(struct gpuvm *vm, struct bind_job *job)
{
	struct gpuva *va = job->removed;

	while (va) {
		struct gpuva *next = va->rcu.private_[0];

		release(va);
		va = next;
	}
	job->removed = NULL;
	immediate_release_bounds(vm, job, job->nr_reqs);
}

/* ---- Running jobs ------------------------------------------------------- */

#define IN_FENCE_POLL_NS	(10 * 1000 * 1000)

static bool stopping(struct gpuvm_bind_queue *queue)
{
	bool stop;

	pthread_mutex_lock(&queue->lock);
	stop = queue->stopping;
	pthread_mutex_unlock(&queue->lock);
	return stop;
}

/*
 * Wait for every in-fence, looking up now and then for a stop request.
 * Return: the first error among them, 0, or -EINTR if the queue is
 * stopping (the job has not started).
 */
static int wait_in_fences(struct gpuvm_bind_queue *queue, struct bind_job *job)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < job->nr_in; i++) {
		int status;

		while (gpuvm_fence_wait(job->in[i], IN_FENCE_POLL_NS))
			if (stopping(queue))
				return -EINTR;
		status = gpuvm_fence_status(job->in[i]);
		if (status < 0 && !err)
			err = status;
	}
	return err;
}

/* After the run step, outside the signalling section: free and tidy. */
static void job_cleanup(struct gpuvm_bind_queue *queue, struct bind_job *job)
{
	struct gpuvm *vm = queue->vm;

	gpuvm_lock(vm);
	if (queue->mode == GPUVM_BIND_IMMEDIATE)
		immediate_cleanup(vm, job);
	else
		staged_cleanup(job);
	gpuvm_unlock(vm);
	pthread_mutex_lock(&queue->lock);
	queue->stats.reserved_bytes -= job->reserved_bytes;
	queue->stats.used_vas += job->pool_used;
	pthread_mutex_unlock(&queue->lock);
	job_free(vm, job);
}

/*
 * A job whose in-fence failed, or that comes after the VA space became
 * unusable, does not run. A staged job had changed the VA space already,
 * so the page tables and the VA space now disagree: that makes it
 * unusable too.
 */
static void run_job(struct gpuvm_bind_queue *queue, struct bind_job *job)
{
	struct gpuvm *vm = queue->vm;
	int err = wait_in_fences(queue, job);
	bool ran = false, cookie;

	if (err == -EINTR) {
		/* Stopped while waiting: the job stays first in line. */
		pthread_mutex_lock(&queue->lock);
		cds_list_add(&job->entry, &queue->jobs);
		pthread_mutex_unlock(&queue->lock);
		return;
	}
	if (!err && gpuvm_unusable(vm))
		err = -ENODEV;
	cookie = gpuvm_fence_begin_signalling();
	if (!err) {
		ran = true;
		if (queue->ops && queue->ops->run_begin)
			queue->ops->run_begin(queue->priv);
		err = queue->mode == GPUVM_BIND_IMMEDIATE ?
		      immediate_run(queue, job) : staged_run(queue, job);
		if (queue->ops && queue->ops->run_end)
			queue->ops->run_end(queue->priv);
	}
	if (err && err != -ENODEV &&
	    (ran || queue->mode == GPUVM_BIND_STAGED))
		poison(vm, err);
	pthread_mutex_lock(&queue->lock);
	queue->stats.jobs_done++;
	queue->stats.jobs_failed += err != 0;
	pthread_mutex_unlock(&queue->lock);
	gpuvm_fence_signal(job->out, err);
	gpuvm_fence_end_signalling(cookie);
	job_cleanup(queue, job);
}

static void *worker(void *arg)
{
	struct gpuvm_bind_queue *queue = arg;
	const struct rcu_flavor_struct *flavor = mt_rcu_flavor();

	flavor->register_thread();
	pthread_mutex_lock(&queue->lock);
	for (;;) {
		struct bind_job *job;

		while (!queue->stopping && cds_list_empty(&queue->jobs))
			pthread_cond_wait(&queue->wake, &queue->lock);
		if (queue->stopping)
			break;
		job = cds_list_first_entry(&queue->jobs, struct bind_job,
					   entry);
		cds_list_del(&job->entry);
		pthread_mutex_unlock(&queue->lock);
		run_job(queue, job);
		pthread_mutex_lock(&queue->lock);
	}
	pthread_mutex_unlock(&queue->lock);
	flavor->unregister_thread();
	return NULL;
}

/* ---- The queue ---------------------------------------------------------- */

int gpuvm_bind_queue_create(struct gpuvm *vm, enum gpuvm_bind_mode mode,
			    const struct gpuvm_bind_ops *ops, void *priv,
			    struct gpuvm_bind_queue **out)
{
	struct gpuvm_bind_queue *queue;

	if (!vm || !out || (mode != GPUVM_BIND_STAGED &&
			    mode != GPUVM_BIND_IMMEDIATE))
		return -EINVAL;
	queue = gpuvm_zalloc(sizeof(*queue));
	if (!queue)
		return -ENOMEM;
	queue->vm = gpuvm_get(vm);
	queue->mode = mode;
	queue->ops = ops;
	queue->priv = priv;
	pthread_mutex_init(&queue->lock, NULL);
	pthread_cond_init(&queue->wake, NULL);
	CDS_INIT_LIST_HEAD(&queue->jobs);
	*out = queue;
	return 0;
}

int gpuvm_bind_queue_start(struct gpuvm_bind_queue *queue)
{
	int ret = 0;

	pthread_mutex_lock(&queue->lock);
	if (queue->running)
		ret = -EALREADY;
	else if (pthread_create(&queue->worker, NULL, worker, queue))
		ret = -EAGAIN;
	else
		queue->running = true;
	pthread_mutex_unlock(&queue->lock);
	return ret;
}

void gpuvm_bind_queue_stop(struct gpuvm_bind_queue *queue)
{
	pthread_mutex_lock(&queue->lock);
	if (!queue->running) {
		pthread_mutex_unlock(&queue->lock);
		return;
	}
	queue->stopping = true;
	pthread_cond_broadcast(&queue->wake);
	pthread_mutex_unlock(&queue->lock);
	pthread_join(queue->worker, NULL);
	pthread_mutex_lock(&queue->lock);
	queue->stopping = false;
	queue->running = false;
	pthread_mutex_unlock(&queue->lock);
}

void gpuvm_bind_queue_destroy(struct gpuvm_bind_queue *queue)
{
	struct bind_job *job, *next;

	if (!queue)
		return;
	gpuvm_bind_queue_stop(queue);
	cds_list_for_each_entry_safe(job, next, &queue->jobs, entry) {
		cds_list_del(&job->entry);
		gpuvm_fence_signal(job->out, -ECANCELED);
		job_cleanup(queue, job);
	}
	pthread_cond_destroy(&queue->wake);
	pthread_mutex_destroy(&queue->lock);
	gpuvm_put(queue->vm);
	free(queue);
}

int gpuvm_bind_submit(struct gpuvm_bind_queue *queue,
		      const struct gpuvm_bind_req *reqs, unsigned int nr_reqs,
		      struct gpuvm_fence *const *in_fences, unsigned int nr_in,
		      struct gpuvm_fence **out_fence)
{
	struct gpuvm *vm = queue->vm;
	struct bind_job *job;
	int ret;

	if (!out_fence || (nr_in && !in_fences) ||
	    check_reqs(vm, reqs, nr_reqs))
		return -EINVAL;
	if (gpuvm_unusable(vm))
		return -ENODEV;
	job = job_alloc(queue, reqs, nr_reqs, in_fences, nr_in);
	if (!job)
		return -ENOMEM;
	ret = queue->mode == GPUVM_BIND_IMMEDIATE ? immediate_submit(vm, job) :
						    staged_submit(vm, job);
	if (ret) {
		job_free(vm, job);
		return ret;
	}
	*out_fence = gpuvm_fence_get(job->out);
	pthread_mutex_lock(&queue->lock);
	queue->stats.jobs_submitted++;
	queue->stats.requests += nr_reqs;
	queue->stats.reserved_vas += job->nr_pool;
	queue->stats.reserved_bytes += job->reserved_bytes;
	if (queue->stats.reserved_bytes > queue->stats.reserved_peak)
		queue->stats.reserved_peak = queue->stats.reserved_bytes;
	cds_list_add_tail(&job->entry, &queue->jobs);
	pthread_cond_signal(&queue->wake);
	pthread_mutex_unlock(&queue->lock);
	return 0;
}

void gpuvm_bind_queue_stats(struct gpuvm_bind_queue *queue,
			    struct gpuvm_bind_stats *stats)
{
	pthread_mutex_lock(&queue->lock);
	*stats = queue->stats;
	pthread_mutex_unlock(&queue->lock);
}
