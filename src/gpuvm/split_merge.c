// SPDX-License-Identifier: MIT
/*
 * Split and merge: turning a map, unmap or madvise request into the ordered
 * operations that bring the VA space to the requested state.
 *
 * One walk serves every request kind and both forms. It visits the
 * mappings that overlap the request in ascending order, by address rather
 * than through a cursor, so a callback may apply each operation (and so
 * change the tree) before the walk moves on; it stops by itself at the
 * first mapping that reaches the request's end. Each operation is built on
 * the stack and handed to an emitter: the driver's step callbacks, or a
 * list that copies it.
 */
#include "gpuvm/gpuvm_internal.h"

enum sm_kind {
	SM_MAP,
	SM_UNMAP,
	SM_MADVISE,
};

struct sm_emitter {
	int (*emit)(struct sm_emitter *em, struct gpuva_op *op);
	struct gpuvm *vm;
	void *priv;			/* callbacks: the driver's */
	struct gpuva_ops *ops;		/* lists: where ops go */
};

/*
 * The mappings overlapping [pos, end), in order. Callbacks may change the
 * tree, so each step then walks from the root to the last end seen; while
 * a list is made the tree stays as it is and one cursor moves on (a
 * mapping may span consecutive slots, hence @last).
 */
struct sm_cursor {
	struct gpuvm *vm;
	struct ma_state mas;
	uint64_t pos, end;
	struct gpuva *last;
	bool rewalk;
};

static void sm_cursor_init(struct sm_cursor *c, struct gpuvm *vm,
			   uint64_t start, uint64_t end, bool rewalk)
{
	MA_STATE(mas, &vm->mt, start, start);

	*c = (struct sm_cursor){
		.vm = vm, .mas = mas, .pos = start, .end = end,
		.rewalk = rewalk,
	};
}

static struct gpuva *sm_next(struct sm_cursor *c)
{
	void *entry;

	if (c->rewalk)
		return gpuvm_iter_next(c->vm, &c->pos, c->end);
	while ((entry = mas_find(&c->mas, c->end - 1))) {
		struct gpuva *va = gpuvm_entry_va(entry);

		if (va && va != c->last)
			return c->last = va;
	}
	return NULL;
}

/* The request maps the same BO over @v at the offsets @v already has. */
static bool keeps(const struct gpuva *v, const struct gpuva_op_map *req)
{
	uint64_t a = v->va.addr, A = req->va.addr;

	if (!v->bo || v->bo != req->bo)
		return false;
	if (a < A)
		return v->bo_offset + (A - a) == req->bo_offset;
	return v->bo_offset == req->bo_offset + (a - A);
}

/* The piece of @v over [start, end), as a new mapping of the same BO. */
static void piece_of(struct gpuva_op_map *piece, const struct gpuva *v,
		     uint64_t start, uint64_t end)
{
	*piece = (struct gpuva_op_map){
		.va = { .addr = start, .range = end - start },
		.bo = v->bo,
		.bo_offset = v->bo_offset + (start - v->va.addr),
		.flags = v->flags,
	};
}

static int emit_unmap(struct sm_emitter *em, struct gpuva *v, bool keep)
{
	struct gpuva_op op = {
		.op = GPUVA_OP_UNMAP,
		.unmap = { .va = v, .keep = keep },
	};

	return em->emit(em, &op);
}

static int emit_remap(struct sm_emitter *em, struct gpuva *v, bool keep,
		      uint64_t A, uint64_t E)
{
	struct gpuva_op op = { .op = GPUVA_OP_REMAP };
	struct gpuva_op_remap *r = &op.remap;

	if (v->va.addr < A) {
		piece_of(&r->prev_map, v, v->va.addr, A);
		r->prev = &r->prev_map;
	}
	if (va_end(v) > E) {
		piece_of(&r->next_map, v, E, va_end(v));
		r->next = &r->next_map;
	}
	r->unmap_op = (struct gpuva_op_unmap){ .va = v, .keep = keep };
	r->unmap = &r->unmap_op;
	return em->emit(em, &op);
}

static int emit_map(struct sm_emitter *em, const struct gpuva_op_map *map)
{
	struct gpuva_op op = { .op = GPUVA_OP_MAP, .map = *map };

	return em->emit(em, &op);
}

/* madvise: the covered piece of a split NULL-BO mapping, with @req's flags. */
static int emit_madvise_map(struct sm_emitter *em, const struct gpuva *v,
			    const struct gpuva_op_map *req)
{
	uint64_t A = req->va.addr, E = A + req->va.range;
	uint64_t start = v->va.addr > A ? v->va.addr : A;
	uint64_t end = va_end(v) < E ? va_end(v) : E;
	const struct gpuva_op_map map = {
		.va = { .addr = start, .range = end - start },
		.flags = req->flags,
	};

	return emit_map(em, &map);
}

static int sm_walk(struct sm_emitter *em, enum sm_kind kind,
		   const struct gpuva_op_map *req)
{
	uint64_t A = req->va.addr, E = A + req->va.range;
	struct sm_cursor cursor;
	struct gpuva *v;
	int ret;

	sm_cursor_init(&cursor, em->vm, A, E, !em->ops);
	while ((v = sm_next(&cursor))) {
		bool split = v->va.addr < A || va_end(v) > E;
		bool keep = kind == SM_MAP && keeps(v, req);

		if (kind == SM_MADVISE && (v->bo || !split))
			continue;
		if (!split)
			ret = emit_unmap(em, v, keep);
		else
			ret = emit_remap(em, v, keep, A, E);
		if (!ret && kind == SM_MADVISE)
			ret = emit_madvise_map(em, v, req);
		if (ret)
			return ret;
	}
	return kind == SM_MAP ? emit_map(em, req) : 0;
}

/* ---- Callback form ------------------------------------------------------ */

struct fn_emitter {
	struct sm_emitter em;
	int (*fn)(void *priv, struct gpuva_op *op);
	void *priv;
};

static int emit_fn(struct sm_emitter *em, struct gpuva_op *op)
{
	struct fn_emitter *f = caa_container_of(em, struct fn_emitter, em);

	return f->fn(f->priv, op);
}

int gpuvm_sm_walk(struct gpuvm *vm, bool unmap, const struct gpuva_op_map *req,
		  int (*fn)(void *priv, struct gpuva_op *op), void *priv)
{
	struct fn_emitter f = {
		.em = { .emit = emit_fn, .vm = vm },
		.fn = fn,
		.priv = priv,
	};

	return sm_walk(&f.em, unmap ? SM_UNMAP : SM_MAP, req);
}


static int emit_step(struct sm_emitter *em, struct gpuva_op *op)
{
	const struct gpuvm_ops *ops = em->vm->ops;

	switch (op->op) {
	case GPUVA_OP_MAP:
		return ops->sm_step_map(op, em->priv);
	case GPUVA_OP_REMAP:
		return ops->sm_step_remap(op, em->priv);
	default:
		return ops->sm_step_unmap(op, em->priv);
	}
}

int gpuvm_sm_map(struct gpuvm *vm, void *priv, const struct gpuvm_map_req *req)
{
	struct sm_emitter em = { .emit = emit_step, .vm = vm, .priv = priv };
	const struct gpuvm_ops *ops = vm->ops;

	gpuvm_assert_locked(vm, __func__);
	if (!req || gpuvm_check_map(vm, &req->map) || !ops->sm_step_map ||
	    !ops->sm_step_remap || !ops->sm_step_unmap)
		return -EINVAL;
	return sm_walk(&em, SM_MAP, &req->map);
}

int gpuvm_sm_unmap(struct gpuvm *vm, void *priv, uint64_t addr,
		   uint64_t range)
{
	struct sm_emitter em = { .emit = emit_step, .vm = vm, .priv = priv };
	const struct gpuva_op_map req = { .va = { addr, range } };
	const struct gpuvm_ops *ops = vm->ops;

	gpuvm_assert_locked(vm, __func__);
	if (!gpuvm_range_valid(vm, addr, range) || !ops->sm_step_remap ||
	    !ops->sm_step_unmap)
		return -EINVAL;
	return sm_walk(&em, SM_UNMAP, &req);
}

/* ---- List form ---------------------------------------------------------- */

static struct gpuva_op *op_alloc(struct gpuvm *vm)
{
	if (mt_alloc_check())
		return NULL;
	return vm->ops->op_alloc ? vm->ops->op_alloc() :
				   calloc(1, sizeof(struct gpuva_op));
}

static void op_free(struct gpuvm *vm, struct gpuva_op *op)
{
	if (vm->ops->op_free)
		vm->ops->op_free(op);
	else
		free(op);
}

/* A copy of @src: a REMAP's pointers must point into the copy. */
static void op_copy(struct gpuva_op *dst, const struct gpuva_op *src)
{
	dst->op = src->op;
	switch (src->op) {
	case GPUVA_OP_MAP:
		dst->map = src->map;
		break;
	case GPUVA_OP_REMAP:
		dst->remap = src->remap;
		dst->remap.prev = src->remap.prev ? &dst->remap.prev_map : NULL;
		dst->remap.next = src->remap.next ? &dst->remap.next_map : NULL;
		dst->remap.unmap = &dst->remap.unmap_op;
		break;
	case GPUVA_OP_UNMAP:
		dst->unmap = src->unmap;
		break;
	case GPUVA_OP_PREFETCH:
		dst->prefetch = src->prefetch;
		break;
	}
}

static int emit_to_list(struct sm_emitter *em, struct gpuva_op *op)
{
	struct gpuva_op *copy = op_alloc(em->vm);

	if (!copy)
		return -ENOMEM;
	op_copy(copy, op);
	cds_list_add_tail(&copy->entry, &em->ops->list);
	return 0;
}

void gpuva_ops_free(struct gpuvm *vm, struct gpuva_ops *ops)
{
	struct gpuva_op *op, *next;

	if (!ops)
		return;
	gpuva_for_each_op_safe(op, next, ops)
		op_free(vm, op);
	free(ops);
}

static int list_begin(struct sm_emitter *em, struct gpuvm *vm)
{
	*em = (struct sm_emitter){ .emit = emit_to_list, .vm = vm };
	em->ops = gpuvm_zalloc(sizeof(*em->ops));
	if (!em->ops)
		return -ENOMEM;
	CDS_INIT_LIST_HEAD(&em->ops->list);
	return 0;
}

/* Hand the list over, or free it all on error. */
static int list_end(struct sm_emitter *em, int ret, struct gpuva_ops **out)
{
	if (ret) {
		gpuva_ops_free(em->vm, em->ops);
		return ret;
	}
	*out = em->ops;
	return 0;
}

static int ops_create(struct gpuvm *vm, enum sm_kind kind,
		      const struct gpuva_op_map *req, struct gpuva_ops **out)
{
	struct sm_emitter em;
	int ret;

	gpuvm_assert_locked(vm, __func__);
	if (!out)
		return -EINVAL;
	ret = list_begin(&em, vm);
	if (ret)
		return ret;
	return list_end(&em, sm_walk(&em, kind, req), out);
}

int gpuvm_sm_map_ops_create(struct gpuvm *vm, const struct gpuvm_map_req *req,
			    struct gpuva_ops **out)
{
	if (!req || gpuvm_check_map(vm, &req->map))
		return -EINVAL;
	return ops_create(vm, SM_MAP, &req->map, out);
}

int gpuvm_sm_unmap_ops_create(struct gpuvm *vm, uint64_t addr, uint64_t range,
			      struct gpuva_ops **out)
{
	const struct gpuva_op_map req = { .va = { addr, range } };

	if (!gpuvm_range_valid(vm, addr, range))
		return -EINVAL;
	return ops_create(vm, SM_UNMAP, &req, out);
}

int gpuvm_madvise_ops_create(struct gpuvm *vm, const struct gpuvm_map_req *req,
			     struct gpuva_ops **out)
{
	if (!req || !gpuvm_range_valid(vm, req->map.va.addr, req->map.va.range))
		return -EINVAL;
	return ops_create(vm, SM_MADVISE, &req->map, out);
}

int gpuvm_prefetch_ops_create(struct gpuvm *vm, uint64_t addr, uint64_t range,
			      struct gpuva_ops **out)
{
	struct sm_cursor cursor;
	struct sm_emitter em;
	struct gpuva *va;
	int ret;

	gpuvm_assert_locked(vm, __func__);
	if (!out || !gpuvm_range_valid(vm, addr, range))
		return -EINVAL;
	ret = list_begin(&em, vm);
	if (ret)
		return ret;
	sm_cursor_init(&cursor, vm, addr, addr + range, false);
	while ((va = sm_next(&cursor))) {
		struct gpuva_op op = {
			.op = GPUVA_OP_PREFETCH,
			.prefetch = { .va = va },
		};

		ret = em.emit(&em, &op);
		if (ret)
			break;
	}
	return list_end(&em, ret, out);
}

int gpuvm_bo_unmap_ops_create(struct gpuvm_bo *vm_bo, struct gpuva_ops **out)
{
	struct sm_emitter em;
	struct gpuva *va;
	int ret;

	gpuvm_assert_locked(vm_bo->vm, __func__);
	if (!out)
		return -EINVAL;
	ret = list_begin(&em, vm_bo->vm);
	if (ret)
		return ret;
	gpuvm_bo_for_each_va(va, vm_bo) {
		ret = emit_unmap(&em, va, false);
		if (ret)
			break;
	}
	return list_end(&em, ret, out);
}
