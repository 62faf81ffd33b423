// SPDX-License-Identifier: MIT
/*
 * Split and merge in <mapletree/gpuvm.h>.
 *
 *  - every row of the split/merge table (docs: spec "Split and merge"), for
 *    map requests with and without keep, NULL-BO mappings, through the list
 *    form and the callback form (recording, and applying as the ops come),
 *    and for unmap, madvise and prefetch requests over the same layouts;
 *  - the worked cases of the spec, literally;
 *  - requests over many mappings with holes, and a seeded random comparison
 *    with a model of the table;
 *  - gpuva_op_remap_to_unmap_range(), gpuvm_bo_unmap_ops_create();
 *  - validation (-EINVAL, nothing changed, nothing called);
 *  - allocation failures in every ops creation and in the apply steps;
 *  - callback errors; iteration that removes; the find functions.
 *
 * Set GPUVM_SM_ITERS to scale the random part (default 1500).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "gpuvm_test.h"

/* ---- Hooks (gpuvm_test.h counts) ----------------------------------------- */

static int cb_map(struct gpuva_op *op, void *priv);
static int cb_remap(struct gpuva_op *op, void *priv);
static int cb_unmap(struct gpuva_op *op, void *priv);

/* Every hook. */
static const struct gpuvm_ops full_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
	.op_alloc = gt_hook_op_alloc,
	.op_free = gt_hook_op_free,
	.vm_bo_alloc = gt_hook_vm_bo_alloc,
	.vm_bo_free = gt_hook_vm_bo_free,
	.sm_step_map = cb_map,
	.sm_step_remap = cb_remap,
	.sm_step_unmap = cb_unmap,
};

/* The library's own allocations for ops and vm_bos. */
static const struct gpuvm_ops plain_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
	.sm_step_map = cb_map,
	.sm_step_remap = cb_remap,
	.sm_step_unmap = cb_unmap,
};

/* No sm_step_map. */
static const struct gpuvm_ops nomap_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
	.sm_step_remap = cb_remap,
	.sm_step_unmap = cb_unmap,
};

/* No step callback at all. */
static const struct gpuvm_ops nostep_ops = {
	.vm_free = gt_hook_vm_free,
	.va_free = gt_hook_va_free,
};

static struct gpuvm_bo_handle bo_a, bo_b, bo_c, bo_x;

static const char *bo_name(const struct gpuvm_bo_handle *bo)
{
	if (!bo)
		return "NULL";
	if (bo == &bo_a)
		return "a";
	if (bo == &bo_b)
		return "b";
	if (bo == &bo_c)
		return "c";
	if (bo == &bo_x)
		return "x";
	return "?";
}

/* ---- Mappings ------------------------------------------------------------ */

static unsigned int cur_vm_flags;

/* A space on the heap with cur_vm_flags, returned locked. */
static struct gpuvm *vm_new_ex(uint64_t start, uint64_t range, uint64_t rs,
			       uint64_t rr, const struct gpuvm_ops *ops)
{
	struct gpuvm *vm = gt_vm_new("sm", cur_vm_flags, start, range, rs, rr,
				     ops);

	gpuvm_lock(vm);
	return vm;
}

static struct gpuvm *vm_new(void)
{
	return vm_new_ex(0, 1ull << 32, 0, 0, &full_ops);
}

/* Removes every mapping, keeping the space. */
static void vm_clear(struct gpuvm *vm)
{
	struct gpuva *va;

	gpuvm_for_each_va(va, vm)
		gt_del(va);
	CHECK_EQ(gpuvm_mapping_count(vm), 0);
	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
}

/* Spaces reused by run_case() (a teardown waits for RCU callbacks). */
static struct gpuvm *pool[2];

static struct gpuvm *vm_get(void)
{
	int i = cur_vm_flags ? 1 : 0;

	if (!pool[i])
		pool[i] = vm_new_ex(0, 1ull << 32, 0, 0, &full_ops);
	CHECK_EQ(gpuvm_mapping_count(pool[i]), 0);
	return pool[i];
}

/* Removes every mapping, unlocks and drops the last reference. */
static void vm_done(struct gpuvm *vm)
{
	vm_clear(vm);
	gpuvm_unlock(vm);
	gt_vm_put_last(vm);
}

static void link_bo(struct gpuvm *vm, struct gpuva *va,
		    struct gpuvm_bo_handle *bo)
{
	struct gpuvm_bo *vm_bo = NULL;
	int ret = gpuvm_bo_obtain(vm, bo, &vm_bo);

	CHECK_EQ(ret, 0);
	if (ret)
		return;
	gpuva_link(va, vm_bo);
	gpuvm_bo_put(vm_bo);
}

/* A mapping inserted and linked to its BO's vm_bo. */
static struct gpuva *add(struct gpuvm *vm, uint64_t addr, uint64_t range,
			 struct gpuvm_bo_handle *bo, uint64_t off)
{
	struct gpuva *va = gt_insert(vm, addr, range, bo, off);

	if (!va)
		return NULL;
	CHECK(va->vm == vm);
	if (bo)
		link_bo(vm, va, bo);
	return va;
}

/* ---- Applying ops, as a driver does (gt_apply_op()) ---------------------- */

static void apply_ops(struct gpuvm *vm, struct gpuva_ops *ops)
{
	struct gpuva_op *op;

	if (!ops)
		return;
	gpuva_for_each_op(op, ops)
		CHECK_EQ(gt_apply_op(vm, op, NULL, NULL), 0);
}

/* ---- Recorded ops -------------------------------------------------------- */

struct rec_map {
	uint64_t addr, range;
	struct gpuvm_bo_handle *bo;
	uint64_t off;
	uint32_t flags;
};

struct rec {
	enum gpuva_op_type type;
	bool has_prev, has_next;
	struct rec_map map, prev, next;
	struct gpuva *va;	/* UNMAP, REMAP's unmap, PREFETCH */
	int vidx;		/* in expectations: index in the layout */
	bool keep;
};

#define MAX_OPS 64

struct seq {
	int n;
	struct rec r[MAX_OPS];
};

static struct rec_map rec_map_of(const struct gpuva_op_map *m)
{
	struct rec_map r = {
		.addr = m->va.addr,
		.range = m->va.range,
		.bo = m->bo,
		.off = m->bo_offset,
		.flags = m->flags,
	};
	return r;
}

static unsigned long remap_ptr_errors;

static struct rec rec_of(const struct gpuva_op *op)
{
	struct rec r;

	memset(&r, 0, sizeof(r));
	r.type = op->op;
	r.vidx = -1;
	switch (op->op) {
	case GPUVA_OP_MAP:
		r.map = rec_map_of(&op->map);
		break;
	case GPUVA_OP_REMAP: {
		const struct gpuva_op_unmap *u = op->remap.unmap;

		/* The pointers use the op's own storage. */
		if (u != &op->remap.unmap_op ||
		    (op->remap.prev && op->remap.prev != &op->remap.prev_map) ||
		    (op->remap.next && op->remap.next != &op->remap.next_map) ||
		    (!op->remap.prev && !op->remap.next))
			remap_ptr_errors++;
		if (!u)
			u = &op->remap.unmap_op;
		r.va = u->va;
		r.keep = u->keep;
		if (op->remap.prev) {
			r.has_prev = true;
			r.prev = rec_map_of(op->remap.prev);
		}
		if (op->remap.next) {
			r.has_next = true;
			r.next = rec_map_of(op->remap.next);
		}
		break;
	}
	case GPUVA_OP_UNMAP:
		r.va = op->unmap.va;
		r.keep = op->unmap.keep;
		break;
	case GPUVA_OP_PREFETCH:
		r.va = op->prefetch.va;
		break;
	}
	return r;
}

static int seq_from_ops(struct gpuva_ops *ops, struct seq *s)
{
	struct gpuva_op *op;

	s->n = 0;
	if (!ops)
		return 0;
	gpuva_for_each_op(op, ops) {
		if (s->n < MAX_OPS)
			s->r[s->n] = rec_of(op);
		s->n++;
	}
	return s->n;
}

static void map_print(const char *what, const struct rec_map *m)
{
	fprintf(stderr, " %s=[%#llx,+%#llx) %s@%#llx f%#x", what,
		(unsigned long long)m->addr, (unsigned long long)m->range,
		bo_name(m->bo), (unsigned long long)m->off, m->flags);
}

static void seq_print(const char *title, const struct seq *s)
{
	fprintf(stderr, "  %s (%d ops):\n", title, s->n);
	for (int i = 0; i < s->n && i < MAX_OPS; i++) {
		const struct rec *r = &s->r[i];

		switch (r->type) {
		case GPUVA_OP_MAP:
			fprintf(stderr, "    MAP");
			map_print("map", &r->map);
			break;
		case GPUVA_OP_REMAP:
			fprintf(stderr, "    REMAP va=%p keep=%d", (void *)r->va,
				r->keep);
			if (r->has_prev)
				map_print("prev", &r->prev);
			if (r->has_next)
				map_print("next", &r->next);
			break;
		case GPUVA_OP_UNMAP:
			fprintf(stderr, "    UNMAP va=%p keep=%d", (void *)r->va,
				r->keep);
			break;
		case GPUVA_OP_PREFETCH:
			fprintf(stderr, "    PREFETCH va=%p", (void *)r->va);
			break;
		default:
			fprintf(stderr, "    type %d?", (int)r->type);
		}
		if (r->va)
			fprintf(stderr, " ([%#llx,+%#llx) %s@%#llx)",
				(unsigned long long)r->va->va.addr,
				(unsigned long long)r->va->va.range,
				bo_name(r->va->bo),
				(unsigned long long)r->va->bo_offset);
		fprintf(stderr, "\n");
	}
}

static bool map_eq(const struct rec_map *a, const struct rec_map *b,
		   bool flags)
{
	return a->addr == b->addr && a->range == b->range && a->bo == b->bo &&
	       a->off == b->off && (!flags || a->flags == b->flags);
}

static bool rec_eq(const struct rec *a, const struct rec *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case GPUVA_OP_MAP:
		return map_eq(&a->map, &b->map, true);
	case GPUVA_OP_REMAP:
		return a->va == b->va && a->keep == b->keep &&
		       a->has_prev == b->has_prev &&
		       a->has_next == b->has_next &&
		       (!a->has_prev || map_eq(&a->prev, &b->prev, false)) &&
		       (!a->has_next || map_eq(&a->next, &b->next, false));
	case GPUVA_OP_UNMAP:
		return a->va == b->va && a->keep == b->keep;
	case GPUVA_OP_PREFETCH:
		return a->va == b->va;
	}
	return false;
}

/* One check per comparison; both lists printed when they differ. */
static bool seq_check(const char *name, const char *form,
		      const struct seq *got, const struct seq *exp)
{
	bool ok = got->n == exp->n && got->n <= MAX_OPS;

	for (int i = 0; ok && i < got->n; i++)
		ok = rec_eq(&got->r[i], &exp->r[i]);
	CHECK(ok);
	if (!ok) {
		fprintf(stderr, "  case \"%s\" (%s): op lists differ\n", name,
			form);
		seq_print("got", got);
		seq_print("expected", exp);
	}
	return ok;
}

/* ---- The callback form ---------------------------------------------------- */

struct recorder {
	struct seq s;
	struct gpuvm *vm;
	bool apply;
	int fail_at, fail_err;
	int calls;
	int wrong_type;
};

static void recorder_init(struct recorder *r, struct gpuvm *vm, bool apply)
{
	memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->apply = apply;
	r->fail_at = -1;
}

static int step(struct gpuva_op *op, void *priv, enum gpuva_op_type want)
{
	struct recorder *r = priv;
	int i = r->calls++;

	if (op->op != want)
		r->wrong_type++;
	if (r->s.n < MAX_OPS)
		r->s.r[r->s.n] = rec_of(op);
	r->s.n++;
	if (i == r->fail_at)
		return r->fail_err;
	if (r->apply)
		return gt_apply_op(r->vm, op, NULL, NULL);
	return 0;
}

static int cb_map(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_MAP);
}

static int cb_remap(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_REMAP);
}

static int cb_unmap(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_UNMAP);
}

/* ---- Layouts and snapshots ------------------------------------------------ */

struct mdesc {
	uint64_t addr, range;
	struct gpuvm_bo_handle *bo;
	uint64_t off;
	uint32_t flags;
};

#define LMAX 48

struct layout {
	int n;
	struct mdesc m[LMAX];
};

#define SNAPMAX 512

struct snap {
	int n;
	struct mdesc m[SNAPMAX];
	struct gpuva *va[SNAPMAX];
};

static void snap_take(struct gpuvm *vm, struct snap *s)
{
	struct gpuva *va;

	s->n = 0;
	gpuvm_for_each_va(va, vm) {
		if (s->n == SNAPMAX)
			abort();
		s->m[s->n] = (struct mdesc){ va->va.addr, va->va.range, va->bo,
					     va->bo_offset, va->flags };
		s->va[s->n] = va;
		s->n++;
	}
	CHECK_EQ(gpuvm_mapping_count(vm), s->n);
}

static bool snap_same(const struct snap *a, const struct snap *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		const struct mdesc *x = &a->m[i], *y = &b->m[i];

		if (a->va[i] != b->va[i] || x->addr != y->addr ||
		    x->range != y->range || x->bo != y->bo ||
		    x->off != y->off || x->flags != y->flags)
			return false;
	}
	return true;
}

static void layout_print(const char *title, const struct mdesc *m, int n)
{
	fprintf(stderr, "  %s (%d mappings):", title, n);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " [%#llx,+%#llx)%s@%#llx", (unsigned long long)m[i].addr,
			(unsigned long long)m[i].range, bo_name(m[i].bo),
			(unsigned long long)m[i].off);
	fprintf(stderr, "\n");
}

/* The space holds exactly @exp (flags compared on GPUVA_USERBITS only). */
static bool layout_is(struct gpuvm *vm, const struct layout *exp,
		      const char *name, const char *form)
{
	static struct snap s;
	bool ok;

	snap_take(vm, &s);
	ok = s.n == exp->n;
	for (int i = 0; ok && i < s.n; i++) {
		const struct mdesc *x = &s.m[i], *y = &exp->m[i];

		ok = x->addr == y->addr && x->range == y->range &&
		     x->bo == y->bo && x->off == y->off &&
		     (x->flags & GPUVA_USERBITS) == (y->flags & GPUVA_USERBITS);
	}
	CHECK(ok);
	if (!ok) {
		fprintf(stderr, "  case \"%s\" (%s): mappings differ\n", name,
			form);
		layout_print("got", s.m, s.n);
		layout_print("expected", exp->m, exp->n);
	}
	return ok;
}

static struct gpuvm_bo_handle *const all_bos[] = { &bo_a, &bo_b, &bo_c, &bo_x };

/* Every BO mapping is linked to its vm_bo, and each vm_bo lists exactly them. */
static void check_links(struct gpuvm *vm)
{
	static struct snap s;
	bool ok = true;

	snap_take(vm, &s);
	for (int i = 0; i < s.n; i++) {
		struct gpuva *va = s.va[i];

		if (va->bo)
			ok &= va->vm_bo && va->vm_bo->obj == va->bo &&
			      va->vm_bo->vm == vm;
		else
			ok &= va->vm_bo == NULL;
	}
	CHECK(ok);
	for (size_t b = 0; b < sizeof(all_bos) / sizeof(all_bos[0]); b++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(vm, all_bos[b]);
		int want = 0, listed = 0, linked_here = 0;
		struct gpuva *va;

		for (int i = 0; i < s.n; i++)
			want += s.m[i].bo == all_bos[b];
		if (!want) {
			CHECK(vm_bo == NULL);
			if (vm_bo)
				gpuvm_bo_put(vm_bo);
			continue;
		}
		CHECK(vm_bo != NULL);
		if (!vm_bo)
			continue;
		gpuvm_bo_for_each_va(va, vm_bo) {
			listed++;
			linked_here += va->vm_bo == vm_bo &&
				       gpuvm_lookup(vm, va->va.addr) == va;
		}
		CHECK_EQ(listed, want);
		CHECK_EQ(linked_here, want);
		gpuvm_bo_put(vm_bo);
	}
}

static void build(struct gpuvm *vm, const struct layout *L, struct gpuva **vas)
{
	for (int i = 0; i < L->n; i++)
		vas[i] = add(vm, L->m[i].addr, L->m[i].range, L->m[i].bo,
			     L->m[i].off);
}

/* ---- Cases ---------------------------------------------------------------- */

enum kind { K_MAP, K_UNMAP, K_MADVISE, K_PREFETCH };

static const char *const kind_name[] = { "map", "unmap", "madvise",
					 "prefetch" };

struct kase {
	char name[160];
	enum kind kind;
	struct layout before, after;
	struct gpuvm_map_req req;
	struct seq exp;
};

static struct kase K;

static void k_begin(enum kind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void k_begin(enum kind kind, const char *fmt, ...)
{
	va_list ap;

	memset(&K, 0, sizeof(K));
	K.kind = kind;
	va_start(ap, fmt);
	vsnprintf(K.name, sizeof(K.name), fmt, ap);
	va_end(ap);
}

/* An existing mapping; returns its index. */
static int k_old(uint64_t addr, uint64_t range, struct gpuvm_bo_handle *bo,
		 uint64_t off)
{
	K.before.m[K.before.n] = (struct mdesc){ addr, range, bo, off, 0 };
	return K.before.n++;
}

static void k_req(uint64_t addr, uint64_t range, struct gpuvm_bo_handle *bo,
		  uint64_t off, uint32_t flags)
{
	K.req.map.va.addr = addr;
	K.req.map.va.range = range;
	K.req.map.bo = bo;
	K.req.map.bo_offset = off;
	K.req.map.flags = flags;
}

static struct rec *e_push(enum gpuva_op_type type)
{
	struct rec *r = &K.exp.r[K.exp.n++];

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->vidx = -1;
	return r;
}

static void e_map(uint64_t addr, uint64_t range, struct gpuvm_bo_handle *bo,
		  uint64_t off, uint32_t flags)
{
	e_push(GPUVA_OP_MAP)->map = (struct rec_map){ addr, range, bo, off,
						      flags };
}

/* The MAP of the request, last. */
static void e_map_req(void)
{
	e_map(K.req.map.va.addr, K.req.map.va.range, K.req.map.bo,
	      K.req.map.bo_offset, K.req.map.flags);
}

static void e_unmap(int vidx, bool keep)
{
	struct rec *r = e_push(GPUVA_OP_UNMAP);

	r->vidx = vidx;
	r->keep = keep;
}

struct piece {
	bool has;
	uint64_t addr, range, off;
};

#define P(a, r, o)	((struct piece){ true, (a), (r), (o) })
#define NONE		((struct piece){ false, 0, 0, 0 })

static void e_remap(int vidx, bool keep, struct piece prev, struct piece next)
{
	struct rec *r = e_push(GPUVA_OP_REMAP);
	struct gpuvm_bo_handle *bo = K.before.m[vidx].bo;

	r->vidx = vidx;
	r->keep = keep;
	r->has_prev = prev.has;
	r->prev = (struct rec_map){ prev.addr, prev.range, bo, prev.off, 0 };
	r->has_next = next.has;
	r->next = (struct rec_map){ next.addr, next.range, bo, next.off, 0 };
}

static void e_prefetch(int vidx)
{
	e_push(GPUVA_OP_PREFETCH)->vidx = vidx;
}

static void a_mapf(uint64_t addr, uint64_t range, struct gpuvm_bo_handle *bo,
		   uint64_t off, uint32_t flags)
{
	K.after.m[K.after.n++] = (struct mdesc){ addr, range, bo, off, flags };
}

static void a_map(uint64_t addr, uint64_t range, struct gpuvm_bo_handle *bo,
		  uint64_t off)
{
	a_mapf(addr, range, bo, off, 0);
}

/* The space is unchanged after a request: the "after" layout is "before". */
static void a_same(void)
{
	K.after = K.before;
}

static int create(struct gpuvm *vm, enum kind kind,
		  const struct gpuvm_map_req *req, struct gpuva_ops **out)
{
	switch (kind) {
	case K_MAP:
		return gpuvm_sm_map_ops_create(vm, req, out);
	case K_UNMAP:
		return gpuvm_sm_unmap_ops_create(vm, req->map.va.addr,
						 req->map.va.range, out);
	case K_MADVISE:
		return gpuvm_madvise_ops_create(vm, req, out);
	case K_PREFETCH:
		return gpuvm_prefetch_ops_create(vm, req->map.va.addr,
						 req->map.va.range, out);
	}
	return -1;
}

static int sm_call(struct gpuvm *vm, enum kind kind,
		   const struct gpuvm_map_req *req, struct recorder *r)
{
	if (kind == K_MAP)
		return gpuvm_sm_map(vm, r, req);
	return gpuvm_sm_unmap(vm, r, req->map.va.addr, req->map.va.range);
}

static void resolve(struct seq *s, struct gpuva **vas)
{
	for (int i = 0; i < s->n; i++)
		if (s->r[i].vidx >= 0)
			s->r[i].va = vas[s->r[i].vidx];
}

static unsigned long cases_run;

/*
 * Runs K: the list form on a fresh space (checked against K.exp, the tree
 * untouched), the callback form recording only (the same list), the list
 * applied (K.after); then the callback form applying as it goes on another
 * fresh space (K.after again).
 */
static void run_case(void)
{
	static struct snap s0, s1;
	struct gpuva *vas[LMAX];
	struct gpuva_ops *ops = NULL;
	struct recorder *r = malloc(sizeof(*r));
	struct seq *got = malloc(sizeof(*got)), exp;
	struct gpuvm *vm;
	size_t live;
	int ret;

	if (!r || !got)
		abort();
	cases_run++;
	vm = vm_get();
	build(vm, &K.before, vas);
	exp = K.exp;
	resolve(&exp, vas);
	snap_take(vm, &s0);
	live = gt_nodes_live();

	ret = create(vm, K.kind, &K.req, &ops);
	CHECK_EQ(ret, 0);
	seq_from_ops(ops, got);
	seq_check(K.name, "list", got, &exp);
	if (K.kind == K_MAP) {
		/* Exactly one MAP, last, equal to the request. */
		int maps = 0;

		for (int i = 0; i < got->n && i < MAX_OPS; i++)
			maps += got->r[i].type == GPUVA_OP_MAP;
		CHECK_EQ(maps, 1);
		CHECK(got->n >= 1 && got->n <= MAX_OPS &&
		      got->r[got->n - 1].type == GPUVA_OP_MAP &&
		      got->r[got->n - 1].map.addr == K.req.map.va.addr &&
		      got->r[got->n - 1].map.range == K.req.map.va.range &&
		      got->r[got->n - 1].map.bo == K.req.map.bo &&
		      got->r[got->n - 1].map.off == K.req.map.bo_offset &&
		      got->r[got->n - 1].map.flags == K.req.map.flags);
	} else if (K.kind == K_UNMAP) {
		for (int i = 0; i < got->n && i < MAX_OPS; i++)
			CHECK(got->r[i].type != GPUVA_OP_MAP &&
			      !got->r[i].keep);
	}
	snap_take(vm, &s1);
	CHECK(snap_same(&s0, &s1));
	CHECK_EQ(gt_nodes_live(), live);
	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);

	if (K.kind == K_MAP || K.kind == K_UNMAP) {
		recorder_init(r, vm, false);
		ret = sm_call(vm, K.kind, &K.req, r);
		CHECK_EQ(ret, 0);
		CHECK_EQ(r->wrong_type, 0);
		seq_check(K.name, "callbacks vs list", &r->s, got);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
	}
	if (K.kind != K_PREFETCH) {
		apply_ops(vm, ops);
		layout_is(vm, &K.after, K.name, "list applied");
		check_links(vm);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
	}
	gpuva_ops_free(vm, ops);
	vm_clear(vm);

	if (K.kind == K_MAP || K.kind == K_UNMAP) {
		build(vm, &K.before, vas);
		exp = K.exp;
		resolve(&exp, vas);
		recorder_init(r, vm, true);
		ret = sm_call(vm, K.kind, &K.req, r);
		CHECK_EQ(ret, 0);
		CHECK_EQ(r->wrong_type, 0);
		seq_check(K.name, "callbacks applying", &r->s, &exp);
		layout_is(vm, &K.after, K.name, "callbacks applied");
		check_links(vm);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
		vm_clear(vm);
	}
	free(r);
	free(got);
}

/* ---- 1. The nine rows ------------------------------------------------------ */

struct row {
	const char *name;
	uint64_t a, e;		/* the old mapping; the request is [10, 20) */
	bool unmap;		/* UNMAP, else REMAP with: */
	bool prev, next;
};

static const struct row rows[9] = {
	{ "a==A,e==E", 10, 20, true, false, false },
	{ "a==A,e<E", 10, 15, true, false, false },
	{ "a==A,e>E", 10, 25, false, false, true },
	{ "a<A,e==E", 5, 20, false, true, false },
	{ "a<A,e<E", 5, 15, false, true, false },
	{ "a<A,e>E", 5, 25, false, true, true },
	{ "a>A,e==E", 12, 20, true, false, false },
	{ "a>A,e<E", 12, 18, true, false, false },
	{ "a>A,e>E", 12, 25, false, false, true },
};

enum variant { V_KEEP, V_MISALIGNED, V_OTHER_BO, V_NULL_OLD, V_NULL_BOTH,
	       V_NR };

static const char *const variant_name[V_NR] = {
	"same BO, aligned offset (keep)", "same BO, misaligned offset",
	"other BO", "NULL-BO old mapping", "NULL old, NULL request",
};

static void test_rows(void)
{
	const uint64_t A = 10, E = 20, OFF = 1000;

	for (int ri = 0; ri < 9; ri++) {
		const struct row *w = &rows[ri];
		uint64_t a = w->a, e = w->e;
		uint64_t left = (a < A ? a : A) - 3, right = e > E ? e : E;
		/* voff such that voff + (A - a) == OFF */
		uint64_t aligned = OFF + a - A;

		for (int v = 0; v < V_NR; v++) {
			struct gpuvm_bo_handle *obo = &bo_a, *rbo = &bo_a;
			uint64_t voff = aligned;
			uint32_t flags = 0;
			bool keep = v == V_KEEP;
			int i;

			if (v == V_MISALIGNED)
				voff = aligned + 1;
			if (v == V_OTHER_BO)
				obo = &bo_b;
			if (v == V_NULL_OLD)
				obo = NULL;
			if (v == V_NULL_BOTH) {
				obo = rbo = NULL;
				flags = GPUVA_USERBITS;
			}

			k_begin(K_MAP, "row %s, map, %s", w->name,
				variant_name[v]);
			k_old(left, 3, &bo_c, 7);
			i = k_old(a, e - a, obo, voff);
			k_old(right, 3, &bo_c, 9);
			k_req(A, E - A, rbo, OFF, flags);
			if (w->unmap)
				e_unmap(i, keep);
			else
				e_remap(i, keep,
					w->prev ? P(a, A - a, voff) : NONE,
					w->next ? P(E, e - E, voff + (E - a)) :
						  NONE);
			e_map_req();
			a_map(left, 3, &bo_c, 7);
			if (w->prev)
				a_map(a, A - a, obo, voff);
			a_mapf(A, E - A, rbo, OFF, flags);
			if (w->next)
				a_map(E, e - E, obo, voff + (E - a));
			a_map(right, 3, &bo_c, 9);
			run_case();
		}

		/* The same shapes as an unmap request: never keep, no MAP. */
		for (int v = 0; v < 2; v++) {
			struct gpuvm_bo_handle *obo = v ? NULL : &bo_a;
			uint64_t voff = aligned;
			int i;

			k_begin(K_UNMAP, "row %s, unmap, old %s", w->name,
				bo_name(obo));
			k_old(left, 3, &bo_c, 7);
			i = k_old(a, e - a, obo, voff);
			k_old(right, 3, &bo_c, 9);
			k_req(A, E - A, NULL, 0, 0);
			if (w->unmap)
				e_unmap(i, false);
			else
				e_remap(i, false,
					w->prev ? P(a, A - a, voff) : NONE,
					w->next ? P(E, e - E, voff + (E - a)) :
						  NONE);
			a_map(left, 3, &bo_c, 7);
			if (w->prev)
				a_map(a, A - a, obo, voff);
			if (w->next)
				a_map(E, e - E, obo, voff + (E - a));
			a_map(right, 3, &bo_c, 9);
			run_case();
		}

		/* madvise: a NULL mapping crossing an edge is split; a BO one
		 * is skipped; a covered one gets nothing. */
		for (int v = 0; v < 2; v++) {
			struct gpuvm_bo_handle *obo = v ? &bo_a : NULL;
			uint64_t voff = 50;
			uint64_t ca = a > A ? a : A, ce = e < E ? e : E;
			int i;

			k_begin(K_MADVISE, "row %s, madvise, old %s", w->name,
				bo_name(obo));
			k_old(left, 3, NULL, 7);
			i = k_old(a, e - a, obo, voff);
			k_old(right, 3, NULL, 9);
			k_req(A, E - A, NULL, 0, GPUVA_USERBITS);
			a_map(left, 3, NULL, 7);
			if (!obo && !w->unmap) {
				e_remap(i, false,
					w->prev ? P(a, A - a, voff) : NONE,
					w->next ? P(E, e - E, voff + (E - a)) :
						  NONE);
				e_map(ca, ce - ca, NULL, 0, GPUVA_USERBITS);
				if (w->prev)
					a_map(a, A - a, NULL, voff);
				a_mapf(ca, ce - ca, NULL, 0, GPUVA_USERBITS);
				if (w->next)
					a_map(E, e - E, NULL, voff + (E - a));
			} else {
				a_map(a, e - a, obo, voff);
			}
			a_map(right, 3, NULL, 9);
			run_case();
		}

		/* prefetch: the one overlapping mapping, not the neighbours. */
		k_begin(K_PREFETCH, "row %s, prefetch", w->name);
		k_old(left, 3, &bo_c, 7);
		e_prefetch(k_old(a, e - a, &bo_a, aligned));
		k_old(right, 3, NULL, 9);
		k_req(A, E - A, NULL, 0, 0);
		a_same();
		run_case();
	}
}

/* ---- 2. The worked cases ---------------------------------------------------- */

static void test_worked_cases(void)
{
	const uint64_t n = 0x100, m = 0x200;
	int i, j, l;

	k_begin(K_MAP, "a[0,1)@n, request a[0,1)@n");
	i = k_old(0, 1, &bo_a, n);
	k_req(0, 1, &bo_a, n, 0);
	e_unmap(i, true);
	e_map_req();
	a_map(0, 1, &bo_a, n);
	run_case();

	k_begin(K_MAP, "a[0,1)@n, request a[0,1)@m");
	i = k_old(0, 1, &bo_a, n);
	k_req(0, 1, &bo_a, m, 0);
	e_unmap(i, false);
	e_map_req();
	a_map(0, 1, &bo_a, m);
	run_case();

	k_begin(K_MAP, "a[0,1)@n, request b[0,1)@n");
	i = k_old(0, 1, &bo_a, n);
	k_req(0, 1, &bo_b, n, 0);
	e_unmap(i, false);
	e_map_req();
	a_map(0, 1, &bo_b, n);
	run_case();

	k_begin(K_MAP, "a[0,2)@n, request b[0,1)");
	i = k_old(0, 2, &bo_a, n);
	k_req(0, 1, &bo_b, 0, 0);
	e_remap(i, false, NONE, P(1, 1, n + 1));
	e_map_req();
	a_map(0, 1, &bo_b, 0);
	a_map(1, 1, &bo_a, n + 1);
	run_case();

	k_begin(K_MAP, "a[0,2)@n, request a[1,2)@n+1");
	i = k_old(0, 2, &bo_a, n);
	k_req(1, 1, &bo_a, n + 1, 0);
	e_remap(i, true, P(0, 1, n), NONE);
	e_map_req();
	a_map(0, 1, &bo_a, n);
	a_map(1, 1, &bo_a, n + 1);
	run_case();

	k_begin(K_MAP, "a[0,3)@n, request b[1,2)");
	i = k_old(0, 3, &bo_a, n);
	k_req(1, 1, &bo_b, 0, 0);
	e_remap(i, false, P(0, 1, n), P(2, 1, n + 2));
	e_map_req();
	a_map(0, 1, &bo_a, n);
	a_map(1, 1, &bo_b, 0);
	a_map(2, 1, &bo_a, n + 2);
	run_case();

	k_begin(K_MAP, "a[1,3)@n, request b[0,2)");
	i = k_old(1, 2, &bo_a, n);
	k_req(0, 2, &bo_b, 0, 0);
	e_remap(i, false, NONE, P(2, 1, n + 1));
	e_map_req();
	a_map(0, 2, &bo_b, 0);
	a_map(2, 1, &bo_a, n + 1);
	run_case();

	k_begin(K_MAP, "a[0,2) b[2,4) c[4,6), request x[1,5)");
	i = k_old(0, 2, &bo_a, 0x10);
	j = k_old(2, 2, &bo_b, 0x20);
	l = k_old(4, 2, &bo_c, 0x30);
	k_req(1, 4, &bo_x, 0x40, 0);
	e_remap(i, false, P(0, 1, 0x10), NONE);
	e_unmap(j, false);
	e_remap(l, false, NONE, P(5, 1, 0x31));
	e_map_req();
	a_map(0, 1, &bo_a, 0x10);
	a_map(1, 4, &bo_x, 0x40);
	a_map(5, 1, &bo_c, 0x31);
	run_case();

	k_begin(K_UNMAP, "unmap [1,2) of a[0,3)");
	i = k_old(0, 3, &bo_a, n);
	k_req(1, 1, NULL, 0, 0);
	e_remap(i, false, P(0, 1, n), P(2, 1, n + 2));
	a_map(0, 1, &bo_a, n);
	a_map(2, 1, &bo_a, n + 2);
	run_case();

	k_begin(K_UNMAP, "unmap [1,3) over a[0,2) b[2,4)");
	i = k_old(0, 2, &bo_a, n);
	j = k_old(2, 2, &bo_b, m);
	k_req(1, 2, NULL, 0, 0);
	e_remap(i, false, P(0, 1, n), NONE);
	e_remap(j, false, NONE, P(3, 1, m + 1));
	a_map(0, 1, &bo_a, n);
	a_map(3, 1, &bo_b, m + 1);
	run_case();
}

/* ---- 3. Unmap requests beyond the rows ---------------------------------- */

static void test_unmap_requests(void)
{
	struct gpuva_ops *ops = NULL;
	struct recorder r;
	struct gpuvm *vm;
	int i, j;

	/* A range holding no mapping: nothing, and success. */
	vm = vm_new();
	add(vm, 0x10, 0x10, &bo_a, 0);
	add(vm, 0x30, 0x10, NULL, 0);
	CHECK_EQ(gpuvm_sm_unmap_ops_create(vm, 0x20, 0x10, &ops), 0);
	CHECK(ops == NULL || cds_list_empty(&ops->list));
	gpuva_ops_free(vm, ops);
	recorder_init(&r, vm, false);
	CHECK_EQ(gpuvm_sm_unmap(vm, &r, 0x20, 0x10), 0);
	CHECK_EQ(r.calls, 0);
	CHECK_EQ(gpuvm_sm_unmap(vm, &r, 0x1000, 0x10000), 0);
	CHECK_EQ(r.calls, 0);
	CHECK_EQ(gpuvm_mapping_count(vm), 2);
	vm_done(vm);

	/* Wholly covered mappings of the same BO: UNMAP, keep false. */
	k_begin(K_UNMAP, "unmap the exact mapping");
	i = k_old(0x10, 0x10, &bo_a, 0x10);
	k_req(0x10, 0x10, NULL, 0, 0);
	e_unmap(i, false);
	run_case();

	k_begin(K_UNMAP, "unmap a covering range, NULL and BO mappings");
	i = k_old(0x10, 0x10, &bo_a, 0x10);
	j = k_old(0x20, 0x10, NULL, 0);
	k_old(0x40, 0x10, &bo_b, 0);
	k_req(0x8, 0x30, NULL, 0, 0);
	e_unmap(i, false);
	e_unmap(j, false);
	a_map(0x40, 0x10, &bo_b, 0);
	run_case();

	k_begin(K_UNMAP, "unmap the middle of a NULL mapping");
	i = k_old(0x10, 0x30, NULL, 0x500);
	k_req(0x20, 0x8, NULL, 0, 0);
	e_remap(i, false, P(0x10, 0x10, 0x500), P(0x28, 0x18, 0x518));
	a_map(0x10, 0x10, NULL, 0x500);
	a_map(0x28, 0x18, NULL, 0x518);
	run_case();
}

/* ---- 4. Requests over many mappings ---------------------------------------- */

static void test_multi(void)
{
	int m0, m1, m2, m3, m4, m5;

	k_begin(K_MAP, "x over six mappings with holes");
	k_old(0x0, 0x8, &bo_b, 0);		/* untouched */
	m0 = k_old(0x10, 0x10, &bo_a, 0x110);	/* left part kept, keep */
	m1 = k_old(0x28, 0x8, NULL, 0);		/* covered */
	m2 = k_old(0x30, 0x10, &bo_b, 0x200);	/* covered, adjacent */
	m3 = k_old(0x48, 0x8, &bo_a, 0x148);	/* covered, keep */
	m4 = k_old(0x60, 0x10, &bo_c, 0x300);	/* covered */
	m5 = k_old(0x78, 0x10, &bo_a, 0x378);	/* e == E: covered */
	k_old(0x88, 0x8, &bo_c, 0);		/* adjacent to E: untouched */
	k_req(0x18, 0x70, &bo_a, 0x118, 0);	/* [0x18, 0x88) */
	e_remap(m0, true, P(0x10, 0x8, 0x110), NONE);
	e_unmap(m1, false);
	e_unmap(m2, false);
	e_unmap(m3, true);
	e_unmap(m4, false);
	e_unmap(m5, false);
	e_map_req();
	a_map(0x0, 0x8, &bo_b, 0);
	a_map(0x10, 0x8, &bo_a, 0x110);
	a_map(0x18, 0x70, &bo_a, 0x118);
	a_map(0x88, 0x8, &bo_c, 0);
	run_case();

	k_begin(K_MAP, "x over five mappings, split at both ends");
	m0 = k_old(0x10, 0x10, &bo_a, 0x100);
	m1 = k_old(0x20, 0x10, &bo_a, 0x110);	/* adjacent, covered */
	m2 = k_old(0x40, 0x10, NULL, 0);
	m3 = k_old(0x60, 0x10, &bo_b, 0x300);
	m4 = k_old(0x80, 0x20, NULL, 0x400);
	k_req(0x14, 0x7c, &bo_x, 0, 0);	/* [0x14, 0x90) */
	e_remap(m0, false, P(0x10, 0x4, 0x100), NONE);
	e_unmap(m1, false);
	e_unmap(m2, false);
	e_unmap(m3, false);
	e_remap(m4, false, NONE, P(0x90, 0x10, 0x410));
	e_map_req();
	a_map(0x10, 0x4, &bo_a, 0x100);
	a_map(0x14, 0x7c, &bo_x, 0);
	a_map(0x90, 0x10, NULL, 0x410);
	run_case();

	k_begin(K_UNMAP, "unmap over five mappings, split at both ends");
	m0 = k_old(0x10, 0x10, &bo_a, 0x100);
	m1 = k_old(0x20, 0x10, &bo_a, 0x110);
	m2 = k_old(0x40, 0x10, NULL, 0);
	m3 = k_old(0x60, 0x10, &bo_b, 0x300);
	m4 = k_old(0x80, 0x20, NULL, 0x400);
	k_req(0x14, 0x7c, NULL, 0, 0);
	e_remap(m0, false, P(0x10, 0x4, 0x100), NONE);
	e_unmap(m1, false);
	e_unmap(m2, false);
	e_unmap(m3, false);
	e_remap(m4, false, NONE, P(0x90, 0x10, 0x410));
	a_map(0x10, 0x4, &bo_a, 0x100);
	a_map(0x90, 0x10, NULL, 0x410);
	run_case();

	k_begin(K_MAP, "request over holes only");
	k_old(0x10, 0x10, &bo_a, 0);
	k_old(0x40, 0x10, &bo_a, 0);
	k_req(0x20, 0x20, &bo_b, 0, 0);
	e_map_req();
	a_map(0x10, 0x10, &bo_a, 0);
	a_map(0x20, 0x20, &bo_b, 0);
	a_map(0x40, 0x10, &bo_a, 0);
	run_case();

	k_begin(K_PREFETCH, "prefetch over many");
	k_old(0x0, 0x10, &bo_a, 0);
	m0 = k_old(0x10, 0x10, &bo_a, 0);
	m1 = k_old(0x28, 0x10, NULL, 0);
	m2 = k_old(0x40, 0x10, &bo_b, 0);
	k_old(0x50, 0x10, &bo_b, 0);
	k_req(0x18, 0x38, NULL, 0, 0);
	e_prefetch(m0);
	e_prefetch(m1);
	e_prefetch(m2);
	a_same();
	run_case();

	k_begin(K_PREFETCH, "prefetch over a hole");
	k_old(0x0, 0x10, &bo_a, 0);
	k_req(0x10, 0x38, NULL, 0, 0);
	a_same();
	run_case();
}

/* ---- 5. madvise ------------------------------------------------------------ */

static void test_madvise(void)
{
	int i, j;

	k_begin(K_MADVISE, "madvise: both edges, BO and covered NULL in between");
	i = k_old(0x0, 0x10, NULL, 0x100);
	k_old(0x10, 0x4, &bo_a, 0);
	k_old(0x14, 0x2, NULL, 0x200);
	j = k_old(0x16, 0xa, NULL, 0x300);
	k_old(0x20, 0x10, &bo_b, 0);
	k_req(0x8, 0x10, NULL, 0, GPUVA_USERBITS);	/* [0x8, 0x18) */
	e_remap(i, false, P(0x0, 0x8, 0x100), NONE);
	e_map(0x8, 0x8, NULL, 0, GPUVA_USERBITS);
	e_remap(j, false, NONE, P(0x18, 0x8, 0x302));
	e_map(0x16, 0x2, NULL, 0, GPUVA_USERBITS);
	a_map(0x0, 0x8, NULL, 0x100);
	a_mapf(0x8, 0x8, NULL, 0, GPUVA_USERBITS);
	a_map(0x10, 0x4, &bo_a, 0);
	a_map(0x14, 0x2, NULL, 0x200);
	a_mapf(0x16, 0x2, NULL, 0, GPUVA_USERBITS);
	a_map(0x18, 0x8, NULL, 0x302);
	a_map(0x20, 0x10, &bo_b, 0);
	run_case();

	k_begin(K_MADVISE, "madvise inside one NULL mapping");
	i = k_old(0x0, 0x20, NULL, 0);
	k_req(0x8, 0x10, &bo_a, 0x55, GPUVA_USERBITS | GPUVA_SPARSE);
	e_remap(i, false, P(0x0, 0x8, 0), P(0x18, 0x8, 0x18));
	e_map(0x8, 0x10, NULL, 0, GPUVA_USERBITS | GPUVA_SPARSE);
	a_map(0x0, 0x8, NULL, 0);
	a_mapf(0x8, 0x10, NULL, 0, GPUVA_USERBITS);
	a_map(0x18, 0x8, NULL, 0x18);
	run_case();

	k_begin(K_MADVISE, "madvise over BO mappings only");
	k_old(0x0, 0x20, &bo_a, 0);
	k_old(0x20, 0x20, &bo_b, 0);
	k_req(0x8, 0x20, NULL, 0, GPUVA_USERBITS);
	a_same();
	run_case();

	k_begin(K_MADVISE, "madvise over an empty range");
	k_old(0x0, 0x8, NULL, 0);
	k_req(0x8, 0x20, NULL, 0, GPUVA_USERBITS);
	a_same();
	run_case();

	k_begin(K_MADVISE, "madvise over exact and covered NULL mappings");
	k_old(0x8, 0x8, NULL, 0);
	k_old(0x10, 0x10, NULL, 0);
	k_req(0x8, 0x18, NULL, 0, GPUVA_USERBITS);
	a_same();
	run_case();
}

/* ---- Random requests against a model of the table ------------------------ */

static void model_ops(const struct layout *L, enum kind kind,
		      const struct gpuvm_map_req *req)
{
	uint64_t A = req->map.va.addr, E = A + req->map.va.range;
	uint64_t off = req->map.bo_offset;

	K.exp.n = 0;
	for (int i = 0; i < L->n; i++) {
		const struct mdesc *m = &L->m[i];
		uint64_t a = m->addr, e = a + m->range;
		bool hp = a < A, hn = e > E, keep = false;
		struct piece p = hp ? P(a, A - a, m->off) : NONE;
		struct piece n = hn ? P(E, e - E, m->off + (E - a)) : NONE;

		if (e <= A || a >= E)
			continue;
		if (kind == K_PREFETCH) {
			e_prefetch(i);
			continue;
		}
		if (kind == K_MADVISE) {
			uint64_t ca = hp ? A : a, ce = hn ? E : e;

			if (m->bo || (!hp && !hn))
				continue;
			e_remap(i, false, p, n);
			e_map(ca, ce - ca, NULL, 0, req->map.flags);
			continue;
		}
		if (kind == K_MAP && m->bo && m->bo == req->map.bo)
			keep = a >= A ? m->off == off + (a - A) :
					m->off + (A - a) == off;
		if (hp || hn)
			e_remap(i, keep, p, n);
		else
			e_unmap(i, keep);
	}
	if (kind == K_MAP)
		e_map_req();
}

static int mdesc_cmp(const void *x, const void *y)
{
	const struct mdesc *a = x, *b = y;

	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static void model_apply(void)
{
	bool gone[LMAX] = { false };

	K.after.n = 0;
	for (int i = 0; i < K.exp.n; i++) {
		const struct rec *r = &K.exp.r[i];

		if (r->type == GPUVA_OP_MAP) {
			a_mapf(r->map.addr, r->map.range, r->map.bo,
			       r->map.off, r->map.flags);
		} else if (r->type == GPUVA_OP_UNMAP) {
			gone[r->vidx] = true;
		} else if (r->type == GPUVA_OP_REMAP) {
			gone[r->vidx] = true;
			if (r->has_prev)
				a_map(r->prev.addr, r->prev.range, r->prev.bo,
				      r->prev.off);
			if (r->has_next)
				a_map(r->next.addr, r->next.range, r->next.bo,
				      r->next.off);
		}
	}
	for (int i = 0; i < K.before.n; i++)
		if (!gone[i])
			K.after.m[K.after.n++] = K.before.m[i];
	qsort(K.after.m, K.after.n, sizeof(K.after.m[0]), mdesc_cmp);
}

static void test_random(uint64_t *rng, long iters)
{
	static struct gpuvm_bo_handle *const pick[] = { &bo_a, &bo_b, &bo_c,
							NULL };

	for (long it = 0; it < iters; it++) {
		enum kind kind = (enum kind)(harness_rand(rng) % 4);
		uint64_t base = harness_rand(rng) % 2 ? 0 : 0x100;
		uint64_t pos = harness_rand(rng) % 4, A, len, roff;
		uint32_t rflags;
		struct gpuvm_bo_handle *rbo;

		cur_vm_flags = it % 2 ? GPUVM_NO_VA_ALLOCATOR : 0;
		k_begin(kind, "random %ld (%s)", it, kind_name[kind]);
		while (K.before.n < 12 && pos < 96) {
			uint64_t r = 1 + harness_rand(rng) % 10;
			struct gpuvm_bo_handle *bo = pick[harness_rand(rng) % 4];
			uint64_t off = harness_rand(rng) % 3 ?
				base + pos : harness_rand(rng) % 512;

			k_old(pos, r, bo, off);
			pos += r + (harness_rand(rng) % 3 ?
				    0 : harness_rand(rng) % 6);
		}
		A = harness_rand(rng) % 100;
		len = 1 + harness_rand(rng) % 40;
		rbo = pick[harness_rand(rng) % 4];
		/* One draw per statement: argument order is unspecified. */
		roff = harness_rand(rng) % 3 ? base + A :
					       harness_rand(rng) % 512;
		rflags = harness_rand(rng) % 2 ? GPUVA_USERBITS : 0;
		k_req(A, len, kind == K_MADVISE ? NULL : rbo, roff, rflags);
		model_ops(&K.before, kind, &K.req);
		if (kind == K_PREFETCH)
			a_same();
		else
			model_apply();
		run_case();
	}
	cur_vm_flags = 0;
}

/* ---- 6. gpuva_op_remap_to_unmap_range -------------------------------------- */

static void test_remap_to_unmap_range(void)
{
	static const struct {
		uint64_t addr, range, hole_start, hole_range;
	} t[] = {
		{ 0x20, 0x10, 0x20, 0x10 },	/* prev and next */
		{ 0x10, 0x20, 0x10, 0x20 },	/* next only, same start */
		{ 0x00, 0x30, 0x10, 0x20 },	/* next only, from before */
		{ 0x20, 0x20, 0x20, 0x20 },	/* prev only, same end */
		{ 0x20, 0x30, 0x20, 0x20 },	/* prev only, past the end */
	};
	struct gpuvm *vm = vm_new();
	struct gpuva *old = add(vm, 0x10, 0x30, &bo_a, 0);	/* [0x10,0x40) */

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct gpuvm_map_req req = { .map = { .va = { t[i].addr,
							      t[i].range },
						      .bo = &bo_b } };
		struct gpuva_ops *ops = NULL;
		struct gpuva_op *op;
		uint64_t s = 0, r = 0;

		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
		if (!ops)
			continue;
		op = cds_list_first_entry(&ops->list, struct gpuva_op, entry);
		CHECK_EQ(op->op, GPUVA_OP_REMAP);
		if (op->op == GPUVA_OP_REMAP) {
			CHECK(op->remap.unmap->va == old);
			gpuva_op_remap_to_unmap_range(&op->remap, &s, &r);
			CHECK_EQ(s, t[i].hole_start);
			CHECK_EQ(r, t[i].hole_range);
		}
		gpuva_ops_free(vm, ops);
	}

	/* Built by hand, as a driver might. */
	{
		struct gpuva_op_remap rm;
		uint64_t s = 0, r = 0;

		memset(&rm, 0, sizeof(rm));
		rm.unmap_op.va = old;
		rm.unmap = &rm.unmap_op;
		rm.prev_map.va.addr = 0x10;
		rm.prev_map.va.range = 0x8;
		rm.prev = &rm.prev_map;
		rm.next_map.va.addr = 0x30;
		rm.next_map.va.range = 0x10;
		rm.next = &rm.next_map;
		gpuva_op_remap_to_unmap_range(&rm, &s, &r);
		CHECK_EQ(s, 0x18);
		CHECK_EQ(r, 0x18);
		rm.prev = NULL;
		gpuva_op_remap_to_unmap_range(&rm, &s, &r);
		CHECK_EQ(s, 0x10);
		CHECK_EQ(r, 0x20);
		rm.prev = &rm.prev_map;
		rm.next = NULL;
		gpuva_op_remap_to_unmap_range(&rm, &s, &r);
		CHECK_EQ(s, 0x18);
		CHECK_EQ(r, 0x28);
	}
	vm_done(vm);
}

/* ---- 5. gpuvm_bo_unmap_ops_create ---------------------------------------- */

static void test_bo_unmap_ops(void)
{
	struct gpuvm *vm = vm_new();
	struct gpuva *a0 = add(vm, 0x10, 0x10, &bo_a, 0);
	struct gpuva *a1 = add(vm, 0x40, 0x10, &bo_a, 0x30);
	struct gpuva *a2 = add(vm, 0x80, 0x8, &bo_a, 0x70);
	struct gpuvm_bo *vm_bo;
	struct gpuva_ops *ops = NULL;
	struct gpuva_op *op;
	int seen[3] = { 0 }, n = 0, bad = 0;

	add(vm, 0x20, 0x10, &bo_b, 0);
	add(vm, 0x60, 0x10, NULL, 0);
	vm_bo = gpuvm_bo_find(vm, &bo_a);
	CHECK(vm_bo != NULL);
	if (!vm_bo) {
		vm_done(vm);
		return;
	}
	CHECK_EQ(gpuvm_bo_unmap_ops_create(vm_bo, &ops), 0);
	gpuvm_bo_put(vm_bo);
	if (ops) {
		gpuva_for_each_op(op, ops) {
			n++;
			if (op->op != GPUVA_OP_UNMAP || op->unmap.keep) {
				bad++;
				continue;
			}
			seen[0] += op->unmap.va == a0;
			seen[1] += op->unmap.va == a1;
			seen[2] += op->unmap.va == a2;
		}
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(bad, 0);
	CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	CHECK_EQ(gpuvm_mapping_count(vm), 5);
	apply_ops(vm, ops);
	gpuva_ops_free(vm, ops);
	CHECK_EQ(gpuvm_mapping_count(vm), 2);
	CHECK(gpuvm_bo_find(vm, &bo_a) == NULL);
	check_links(vm);

	/* A vm_bo with no mapping: an empty list. */
	CHECK_EQ(gpuvm_bo_obtain(vm, &bo_c, &vm_bo), 0);
	ops = NULL;
	CHECK_EQ(gpuvm_bo_unmap_ops_create(vm_bo, &ops), 0);
	CHECK(ops == NULL || cds_list_empty(&ops->list));
	gpuva_ops_free(vm, ops);
	gpuvm_bo_put(vm_bo);
	vm_done(vm);
}

/* ---- 7. Validation ------------------------------------------------------------- */

static void expect_einval_everywhere(struct gpuvm *vm,
				     const struct gpuvm_map_req *req,
				     const char *why, bool range_bad)
{
	static struct snap s0, s1;
	struct gpuva_ops *sentinel = (struct gpuva_ops *)&s0, *ops;
	long ops_before = atomic_load(&gt.op_alloc);
	uint64_t addr = req->map.va.addr, range = req->map.va.range;
	struct recorder r;
	struct gpuva *va;
	bool ok = true;
	int ret;

	snap_take(vm, &s0);
	if (range_bad)
		CHECK(!gpuvm_range_valid(vm, addr, range));

	recorder_init(&r, vm, false);
	ret = gpuvm_sm_map(vm, &r, req);
	ok &= ret == -EINVAL && r.calls == 0;
	if (ret != -EINVAL)
		fprintf(stderr, "  %s: gpuvm_sm_map gave %d\n", why, ret);
	for (int k = 0; k < 3; k++) {
		ops = sentinel;
		ret = create(vm, k, req, &ops);
		if (ret == 0)
			gpuva_ops_free(vm, ops);
		if (ret != -EINVAL || (ops != sentinel && ops != NULL)) {
			ok = false;
			fprintf(stderr, "  %s: %s ops_create gave %d\n", why,
				kind_name[k], ret);
		}
	}
	if (range_bad) {
		recorder_init(&r, vm, false);
		ret = gpuvm_sm_unmap(vm, &r, addr, range);
		ok &= ret == -EINVAL && r.calls == 0;
		if (ret != -EINVAL)
			fprintf(stderr, "  %s: gpuvm_sm_unmap gave %d\n", why,
				ret);
		ops = sentinel;
		ret = create(vm, K_PREFETCH, req, &ops);
		if (ret == 0)
			gpuva_ops_free(vm, ops);
		if (ret != -EINVAL || (ops != sentinel && ops != NULL)) {
			ok = false;
			fprintf(stderr, "  %s: prefetch ops_create gave %d\n",
				why, ret);
		}
	}
	CHECK_EQ(atomic_load(&gt.op_alloc), ops_before);

	va = gt_va_new();
	gpuva_init(va, addr, range, req->map.bo, req->map.bo_offset);
	ret = gpuva_insert(vm, va);
	if (ret == 0)
		gt_del(va);
	else
		gt_va_discard(va);
	if (ret != -EINVAL) {
		ok = false;
		fprintf(stderr, "  %s: gpuva_insert gave %d\n", why, ret);
	}
	va = gt_va_new();
	ret = gpuva_map(vm, va, &req->map);
	if (ret == 0)
		gt_del(va);
	else
		gt_va_discard(va);
	if (ret != -EINVAL) {
		ok = false;
		fprintf(stderr, "  %s: gpuva_map gave %d\n", why, ret);
	}

	CHECK(ok);
	if (!ok)
		fprintf(stderr, "  (case: %s, [%#llx, +%#llx))\n", why,
			(unsigned long long)addr, (unsigned long long)range);
	snap_take(vm, &s1);
	CHECK(snap_same(&s0, &s1));
	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
}

static void test_validation(void)
{
	static const struct {
		uint64_t addr, range;
		const char *why;
	} bad[] = {
		{ 0x2000, 0, "zero range" },
		{ 0x1000, 0, "zero range at the start" },
		{ UINT64_MAX - 0xff, 0x200, "end wraps" },
		{ 0x2000, UINT64_MAX, "huge range wraps" },
		{ UINT64_MAX, 1, "end is 2^64" },
		{ 0x0, 0x800, "below the space" },
		{ 0xfff, 1, "the byte before the space" },
		{ 0x800, 0x1000, "crosses the start" },
		{ 0x10800, 0x1000, "crosses the end" },
		{ 0x11000, 1, "the byte after the space" },
		{ 0x20000, 0x1000, "above the space" },
		{ 0x7f00, 0x101, "overlaps the reserve's first byte" },
		{ 0x8fff, 0x10, "overlaps the reserve's last byte" },
		{ 0x7000, 0x3000, "contains the reserve" },
		{ 0x8100, 0x100, "inside the reserve" },
		{ 0x8000, 0x1000, "is the reserve" },
		{ 0x8000, 1, "the reserve's first byte" },
		{ 0x8fff, 1, "the reserve's last byte" },
		{ 0x1000, 0x10000, "the whole space" },
	};
	static const struct {
		uint64_t addr, range;
	} good[] = {
		{ 0x7000, 0x1000 },	/* ends where the reserve starts */
		{ 0x9000, 0x1000 },	/* starts where it ends */
		{ 0x1000, 0x1 },	/* first byte */
		{ 0x10fff, 0x1 },	/* last byte */
		{ 0x1000, 0x7000 },	/* everything below the reserve */
		{ 0x9000, 0x8000 },	/* everything above */
	};
	struct gpuvm *vm, *vm2;
	struct gpuvm_bo_handle small, priv_other, priv_own;
	struct gpuvm_map_req req;
	struct gpuvm_bo *vm_bo = NULL;
	struct recorder r;
	struct gpuva_ops *ops;

	/* Space [0x1000, 0x11000), reserve [0x8000, 0x9000). */
	vm = vm_new_ex(0x1000, 0x10000, 0x8000, 0x1000, &full_ops);
	add(vm, 0x2000, 0x1000, &bo_a, 0);
	add(vm, 0x9800, 0x100, NULL, 0);
	add(vm, 0x10000, 0x1000, &bo_b, 0);
	add(vm, 0x7f00, 0x100, &bo_a, 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.map.va.addr = bad[i].addr;
		req.map.va.range = bad[i].range;
		req.map.bo = &bo_a;
		expect_einval_everywhere(vm, &req, bad[i].why, true);
		req.map.bo = NULL;
		expect_einval_everywhere(vm, &req, bad[i].why, true);
	}
	CHECK(gpuva_find_first(vm, 0x2000, 0) == NULL);
	CHECK(gpuva_find_first(vm, 0x2000, UINT64_MAX) == NULL);
	CHECK(gpuva_find(vm, 0x2000, 0) == NULL);

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct gpuva *va = gt_va_new();
		int ret;

		CHECK(gpuvm_range_valid(vm, good[i].addr, good[i].range));
		memset(&req, 0, sizeof(req));
		req.map.va.addr = good[i].addr;
		req.map.va.range = good[i].range;
		ops = NULL;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
		gpuva_ops_free(vm, ops);
		ops = NULL;
		CHECK_EQ(gpuvm_sm_unmap_ops_create(vm, good[i].addr,
						   good[i].range, &ops), 0);
		gpuva_ops_free(vm, ops);
		/* Into an empty space of the same shape: insert works. */
		{
			struct gpuvm *e = vm_new_ex(0x1000, 0x10000, 0x8000,
						    0x1000, &full_ops);

			gpuva_init(va, good[i].addr, good[i].range, NULL, 0);
			ret = gpuva_insert(e, va);
			CHECK_EQ(ret, 0);
			if (ret)
				gt_va_discard(va);
			vm_done(e);
		}
	}

	/* A BO with a size: bo_offset + range must fit. */
	gpuvm_bo_handle_init(&small, 0x100, NULL);
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 0x3000;
	req.map.va.range = 0x100;
	req.map.bo = &small;
	req.map.bo_offset = 0x80;
	{
		static struct snap s0, s1;
		struct gpuva *va;

		snap_take(vm, &s0);
		recorder_init(&r, vm, false);
		CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -EINVAL);
		CHECK_EQ(r.calls, 0);
		ops = NULL;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), -EINVAL);
		va = gt_va_new();
		CHECK_EQ(gpuva_map(vm, va, &req.map), -EINVAL);
		gt_va_discard(va);
		va = gt_va_new();
		gpuva_init(va, 0x3000, 0x100, &small, 0x80);
		CHECK_EQ(gpuva_insert(vm, va), -EINVAL);
		gt_va_discard(va);
		va = gt_va_new();
		gpuva_init(va, 0x3000, 0x1, &small, 0x100);
		CHECK_EQ(gpuva_insert(vm, va), -EINVAL);
		gt_va_discard(va);
		va = gt_va_new();
		gpuva_init(va, 0x3000, 0x2, &small, UINT64_MAX);
		CHECK_EQ(gpuva_insert(vm, va), -EINVAL);
		gt_va_discard(va);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));

		/* The whole BO fits. */
		req.map.bo_offset = 0;
		ops = NULL;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
		gpuva_ops_free(vm, ops);
		va = gt_va_new();
		gpuva_init(va, 0x3000, 0x100, &small, 0);
		CHECK_EQ(gpuva_insert(vm, va), 0);
		if (va->vm == vm)
			gt_del(va);
		else
			gt_va_discard(va);
	}
	CHECK_EQ(gpuvm_bo_handle_fini(&small), 0);

	/* A BO private to another space. */
	vm2 = vm_new_ex(0x1000, 0x10000, 0, 0, &full_ops);
	gpuvm_bo_handle_init(&priv_other, 0, vm2);
	gpuvm_bo_handle_init(&priv_own, 0, vm);
	{
		static struct snap s0, s1;
		struct gpuva *va;
		long vmbos = atomic_load(&gt.vm_bo_alloc);

		snap_take(vm, &s0);
		memset(&req, 0, sizeof(req));
		req.map.va.addr = 0x3000;
		req.map.va.range = 0x100;
		req.map.bo = &priv_other;
		recorder_init(&r, vm, false);
		CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -EINVAL);
		CHECK_EQ(r.calls, 0);
		ops = NULL;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), -EINVAL);
		va = gt_va_new();
		gpuva_init(va, 0x3000, 0x100, &priv_other, 0);
		CHECK_EQ(gpuva_insert(vm, va), -EINVAL);
		gt_va_discard(va);
		va = gt_va_new();
		CHECK_EQ(gpuva_map(vm, va, &req.map), -EINVAL);
		gt_va_discard(va);
		CHECK_EQ(gpuvm_bo_obtain(vm, &priv_other, &vm_bo), -EINVAL);
		CHECK(gpuvm_bo_create(vm, &priv_other) == NULL);
		CHECK(gpuvm_bo_find(vm, &priv_other) == NULL);
		CHECK_EQ(atomic_load(&gt.vm_bo_alloc), vmbos);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));

		/* Its own space, and private BOs in their own space: fine. */
		req.map.bo = &priv_own;
		ops = NULL;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
		gpuva_ops_free(vm, ops);
		va = add(vm, 0x3000, 0x100, &priv_own, 0);
		if (va)
			gt_del(va);
		va = add(vm2, 0x3000, 0x100, &priv_other, 0);
		if (va)
			gt_del(va);
	}
	vm_done(vm2);
	vm_done(vm);
	CHECK_EQ(gpuvm_bo_handle_fini(&priv_other), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&priv_own), 0);

	/* Missing step callbacks: -EINVAL, nothing called. */
	vm = vm_new_ex(0, 0x10000, 0, 0, &nomap_ops);
	add(vm, 0x100, 0x100, &bo_a, 0);
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 0x80;
	req.map.va.range = 0x100;
	recorder_init(&r, vm, false);
	CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -EINVAL);
	CHECK_EQ(r.calls, 0);
	CHECK_EQ(gpuvm_mapping_count(vm), 1);
	vm_done(vm);
	vm = vm_new_ex(0, 0x10000, 0, 0, &nostep_ops);
	add(vm, 0x100, 0x100, &bo_a, 0);
	recorder_init(&r, vm, false);
	CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -EINVAL);
	CHECK_EQ(gpuvm_sm_unmap(vm, &r, 0x80, 0x100), -EINVAL);
	CHECK_EQ(r.calls, 0);
	/* The list forms need no callback. */
	ops = NULL;
	CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
	gpuva_ops_free(vm, ops);
	CHECK_EQ(gpuvm_mapping_count(vm), 1);
	vm_done(vm);

	/* Overlap: -EEXIST, nothing changed. */
	vm = vm_new();
	add(vm, 0x100, 0x100, &bo_a, 0);
	{
		struct gpuva *va = gt_va_new();

		gpuva_init(va, 0x1ff, 0x10, NULL, 0);
		CHECK_EQ(gpuva_insert(vm, va), -EEXIST);
		gpuva_init(va, 0x80, 0x81, NULL, 0);
		CHECK_EQ(gpuva_insert(vm, va), -EEXIST);
		gpuva_init(va, 0x0, 0x1000, NULL, 0);
		CHECK_EQ(gpuva_insert(vm, va), -EEXIST);
		gt_va_discard(va);
		CHECK_EQ(gpuvm_mapping_count(vm), 1);
	}
	vm_done(vm);
}

/* ---- 8. Allocation failures ----------------------------------------------- */

typedef int (*create_fn)(struct gpuvm *vm, void *arg, struct gpuva_ops **out);

struct fault_ctx {
	const struct gpuvm_map_req *req;
	struct gpuvm_bo *vm_bo;
	enum kind kind;
};

static int create_kind(struct gpuvm *vm, void *arg, struct gpuva_ops **out)
{
	struct fault_ctx *c = arg;

	return create(vm, c->kind, c->req, out);
}

static int create_bo_unmap(struct gpuvm *vm, void *arg, struct gpuva_ops **out)
{
	struct fault_ctx *c = arg;

	(void)vm;
	return gpuvm_bo_unmap_ops_create(c->vm_bo, out);
}

/*
 * Fails the k-th allocation of @fn for k = 1, 2, ... until it succeeds;
 * every failure must leave nothing behind. Returns the ops of the success.
 */
static struct gpuva_ops *fault_loop(const char *name, struct gpuvm *vm,
				    create_fn fn, void *arg, int min_failures)
{
	static struct snap s0, s1;
	struct gpuva_ops *sentinel = (struct gpuva_ops *)&s0, *out = NULL;
	int failures = 0, ret = -ENOMEM;

	snap_take(vm, &s0);
	for (long k = 1; k < 10000; k++) {
		size_t live = gt_nodes_live();
		long oa = atomic_load(&gt.op_alloc);
		long of = atomic_load(&gt.op_free);

		out = sentinel;
		mt_fault_inject(k);
		ret = fn(vm, arg, &out);
		mt_fault_inject(0);
		if (ret != -ENOMEM)
			break;
		failures++;
		CHECK(out == sentinel || out == NULL);
		CHECK_EQ(atomic_load(&gt.op_alloc) - oa,
			 atomic_load(&gt.op_free) - of);
		CHECK_EQ(gt_nodes_live(), live);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
	}
	CHECK_EQ(ret, 0);
	CHECK(failures >= min_failures);
	if (failures < min_failures || ret)
		fprintf(stderr, "  %s: %d failure points (want >= %d), ret %d\n",
			name, failures, min_failures, ret);
	if (ret)
		return NULL;
	return out;
}

static void fault_creates(const struct gpuvm_ops *ops_tbl, bool strict)
{
	struct gpuvm *vm = vm_new_ex(0, 1ull << 32, 0, 0, ops_tbl);
	struct gpuva_ops *ops;
	struct fault_ctx c = { 0 };
	struct gpuvm_map_req req;
	struct seq got;
	struct gpuva *v[6];

	/* a[0,2) b[2,4) NULL[5,6) c[6,8), request x[1,7): 5 ops. */
	v[0] = add(vm, 0, 2, &bo_a, 0);
	v[1] = add(vm, 2, 2, &bo_b, 0);
	v[2] = add(vm, 5, 1, NULL, 0);
	v[3] = add(vm, 6, 2, &bo_c, 0);
	v[4] = add(vm, 0x10, 4, &bo_a, 0x10);
	v[5] = add(vm, 0x20, 4, &bo_a, 0x20);
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 1;
	req.map.va.range = 6;
	req.map.bo = &bo_x;
	c.req = &req;

	c.kind = K_MAP;
	ops = fault_loop("sm_map_ops_create", vm, create_kind, &c,
			 strict ? 5 : 1);
	CHECK_EQ(seq_from_ops(ops, &got), 5);
	gpuva_ops_free(vm, ops);

	c.kind = K_UNMAP;
	ops = fault_loop("sm_unmap_ops_create", vm, create_kind, &c,
			 strict ? 4 : 1);
	CHECK_EQ(seq_from_ops(ops, &got), 4);
	gpuva_ops_free(vm, ops);

	c.kind = K_PREFETCH;
	ops = fault_loop("prefetch_ops_create", vm, create_kind, &c,
			 strict ? 4 : 1);
	CHECK_EQ(seq_from_ops(ops, &got), 4);
	if (got.n == 4)
		CHECK(got.r[0].va == v[0] && got.r[1].va == v[1] &&
		      got.r[2].va == v[2] && got.r[3].va == v[3]);
	gpuva_ops_free(vm, ops);

	c.vm_bo = gpuvm_bo_find(vm, &bo_a);
	CHECK(c.vm_bo != NULL);
	if (c.vm_bo) {
		ops = fault_loop("bo_unmap_ops_create", vm, create_bo_unmap,
				 &c, strict ? 3 : 1);
		CHECK_EQ(seq_from_ops(ops, &got), 3);
		gpuva_ops_free(vm, ops);
		gpuvm_bo_put(c.vm_bo);
	}
	vm_done(vm);

	/* madvise: NULL[0,2) NULL[6,8), request [1,7): REMAP MAP REMAP MAP. */
	vm = vm_new_ex(0, 1ull << 32, 0, 0, ops_tbl);
	add(vm, 0, 2, NULL, 0);
	add(vm, 3, 1, NULL, 0);
	add(vm, 6, 2, NULL, 0);
	req.map.bo = NULL;
	req.map.flags = GPUVA_USERBITS;
	c.kind = K_MADVISE;
	ops = fault_loop("madvise_ops_create", vm, create_kind, &c,
			 strict ? 4 : 1);
	CHECK_EQ(seq_from_ops(ops, &got), 4);
	gpuva_ops_free(vm, ops);
	vm_done(vm);
}

/* The driver's op_alloc hook returning NULL is -ENOMEM too. */
static void hook_failure(void)
{
	struct gpuvm *vm = vm_new();
	struct gpuvm_map_req req;

	add(vm, 0, 2, &bo_a, 0);
	add(vm, 2, 2, &bo_b, 0);
	add(vm, 4, 2, &bo_c, 0);
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 1;
	req.map.va.range = 4;
	req.map.bo = &bo_x;
	for (long k = 1; k <= 4; k++) {
		struct gpuva_ops *ops = NULL;
		long oa = atomic_load(&gt.op_alloc);
		long of = atomic_load(&gt.op_free);
		int ret;

		gt_op_alloc_fail_in = k;
		ret = gpuvm_sm_map_ops_create(vm, &req, &ops);
		gt_op_alloc_fail_in = 0;
		CHECK_EQ(ret, -ENOMEM);
		if (!ret)
			gpuva_ops_free(vm, ops);
		CHECK_EQ(atomic_load(&gt.op_alloc) - oa,
			 atomic_load(&gt.op_free) - of);
		CHECK_EQ(gpuvm_mapping_count(vm), 3);
	}
	vm_done(vm);
}

static struct gpuva_op *first_op(struct gpuva_ops *ops, enum gpuva_op_type t)
{
	struct gpuva_op *op;

	if (!ops)
		return NULL;
	gpuva_for_each_op(op, ops)
		if (op->op == t)
			return op;
	return NULL;
}

/*
 * With every allocation failing, a store that needs memory must give
 * -ENOMEM and change nothing, whatever retries it makes. (A single failure
 * may be retried away: the tree's Normal API retries with mas_nomem().)
 */
enum all_fail_kind { AF_INSERT, AF_MAP, AF_REMAP };

static void all_fail(struct gpuvm *vm, enum all_fail_kind kind,
		     const struct gpuva_op_map *m,
		     const struct gpuva_op_remap *rm)
{
	static struct snap s0, s1;
	struct gpuva *va = gt_va_new(), *p = gt_va_new(), *n = gt_va_new();
	size_t live;
	int ret = 0;

	snap_take(vm, &s0);
	live = gt_nodes_live();
	mt_fault_inject_all(true);
	switch (kind) {
	case AF_INSERT:
		gpuva_init(va, m->va.addr, m->va.range, m->bo, m->bo_offset);
		ret = gpuva_insert(vm, va);
		break;
	case AF_MAP:
		ret = gpuva_map(vm, va, m);
		break;
	case AF_REMAP:
		ret = gpuva_remap(rm->prev ? p : NULL, rm->next ? n : NULL, rm);
		break;
	}
	mt_fault_inject_all(false);
	CHECK_EQ(ret, -ENOMEM);
	if (ret) {
		gt_va_discard(va);
		gt_va_discard(p);
		gt_va_discard(n);
	} else {
		fprintf(stderr, "  all_fail %d: a store with every allocation failing succeeded\n",
			(int)kind);
		abort();	/* the tree changed: nothing below is meaningful */
	}
	snap_take(vm, &s1);
	CHECK(snap_same(&s0, &s1));
	CHECK_EQ(gt_nodes_live(), live);
	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
}

/* gpuva_remap / gpuva_map / gpuva_insert / gpuvm_bo_obtain under faults. */
static void fault_apply(void)
{
	static struct snap s0, s1;
	struct gpuvm *vm = vm_new();
	struct gpuvm_map_req req;
	struct gpuva_ops *ops = NULL;
	struct gpuva_op *op;
	struct gpuva *old;
	int ret = -ENOMEM, failures;

	for (uint64_t i = 0; i < 40; i++)
		add(vm, i * 0x100, 0x80, i % 3 ? &bo_a : NULL, i * 0x100);
	old = add(vm, 0x10000, 0x300, &bo_a, 0x5000);

	/* Split [0x10000, 0x10300) in three. */
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 0x10100;
	req.map.va.range = 0x100;
	req.map.bo = &bo_b;
	CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
	op = first_op(ops, GPUVA_OP_REMAP);
	CHECK(op != NULL);
	if (!op) {
		gpuva_ops_free(vm, ops);
		vm_done(vm);
		return;
	}
	CHECK(op->remap.unmap->va == old);

	/* prev/next not matching the op: -EINVAL, nothing changed. */
	{
		struct gpuva *p = gt_va_new(), *n = gt_va_new();

		snap_take(vm, &s0);
		CHECK_EQ(gpuva_remap(NULL, n, &op->remap), -EINVAL);
		CHECK_EQ(gpuva_remap(p, NULL, &op->remap), -EINVAL);
		CHECK_EQ(gpuva_remap(NULL, NULL, &op->remap), -EINVAL);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
		gt_va_discard(p);
		gt_va_discard(n);
	}

	all_fail(vm, AF_REMAP, NULL, &op->remap);
	CHECK(gpuvm_lookup(vm, 0x10150) == old);
	failures = 0;
	snap_take(vm, &s0);
	for (long k = 1; k < 10000; k++) {
		struct gpuva *p = gt_va_new(), *n = gt_va_new();
		size_t live = gt_nodes_live();

		mt_fault_inject(k);
		ret = gpuva_remap(p, n, &op->remap);
		mt_fault_inject(0);
		if (ret == 0) {
			gpuva_link(p, old->vm_bo);
			gpuva_link(n, old->vm_bo);
			gpuva_unlink(old);
			gpuva_free_rcu(old);
			break;
		}
		CHECK_EQ(ret, -ENOMEM);
		failures++;
		gt_va_discard(p);
		gt_va_discard(n);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
		CHECK_EQ(gt_nodes_live(), live);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
		CHECK(gpuvm_lookup(vm, 0x10000) == old);
		CHECK(gpuvm_lookup(vm, 0x102ff) == old);
		if (ret != -ENOMEM)
			break;
	}
	CHECK_EQ(ret, 0);
	CHECK(failures >= 1);	/* (not the Normal API: no retry) */
	CHECK(gpuvm_lookup(vm, 0x10000) != NULL &&
	      gpuvm_lookup(vm, 0x10000)->va.range == 0x100);
	CHECK(gpuvm_lookup(vm, 0x10100) == NULL);
	CHECK(gpuvm_lookup(vm, 0x10200) != NULL &&
	      gpuvm_lookup(vm, 0x10200)->bo_offset == 0x5200);

	/* The MAP into the hole. */
	op = first_op(ops, GPUVA_OP_MAP);
	CHECK(op != NULL);
	failures = 0;
	snap_take(vm, &s0);
	for (long k = 1; op && k < 10000; k++) {
		struct gpuva *va = gt_va_new();
		size_t live = gt_nodes_live();

		mt_fault_inject(k);
		ret = gpuva_map(vm, va, &op->map);
		mt_fault_inject(0);
		if (ret == 0) {
			link_bo(vm, va, op->map.bo);
			break;
		}
		CHECK_EQ(ret, -ENOMEM);
		failures++;
		gt_va_discard(va);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
		CHECK_EQ(gt_nodes_live(), live);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
		if (ret != -ENOMEM)
			break;
	}
	CHECK_EQ(ret, 0);
	/* (The hole the REMAP left may take the MAP without a new node.) */
	gpuva_ops_free(vm, ops);
	CHECK(gpuvm_lookup(vm, 0x10180) != NULL &&
	      gpuvm_lookup(vm, 0x10180)->bo == &bo_b);
	check_links(vm);

	/* A MAP into a gap mid-tree (an append could be done in place). */
	{
		struct gpuva_op_map m = { .va = { 0x1680, 0x40 }, .bo = &bo_c,
					  .bo_offset = 0x40,
					  .flags = GPUVA_USERBITS };

		all_fail(vm, AF_MAP, &m, NULL);
		snap_take(vm, &s0);
		for (long k = 1; k < 10000; k++) {
			struct gpuva *va = gt_va_new();
			size_t live = gt_nodes_live();

			mt_fault_inject(k);
			ret = gpuva_map(vm, va, &m);
			mt_fault_inject(0);
			if (ret == 0) {
				link_bo(vm, va, m.bo);
				CHECK(va->va.addr == 0x1680 &&
				      va->va.range == 0x40 &&
				      va->bo == &bo_c && va->bo_offset == 0x40 &&
				      (va->flags & GPUVA_USERBITS));
				break;
			}
			CHECK_EQ(ret, -ENOMEM);
			gt_va_discard(va);
			snap_take(vm, &s1);
			CHECK(snap_same(&s0, &s1));
			CHECK_EQ(gt_nodes_live(), live);
			CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
			if (ret != -ENOMEM)
				break;
		}
		CHECK_EQ(ret, 0);
	}

	/* gpuva_insert into holes between many mappings. */
	for (uint64_t hole = 0; hole < 40; hole += 7) {
		struct gpuva_op_map m = { .va = { hole * 0x100 + 0x80, 0x40 } };

		all_fail(vm, AF_INSERT, &m, NULL);
		snap_take(vm, &s0);
		for (long k = 1; k < 10000; k++) {
			struct gpuva *va = gt_va_new();
			size_t live = gt_nodes_live();

			gpuva_init(va, hole * 0x100 + 0x80, 0x40, NULL, 0);
			mt_fault_inject(k);
			ret = gpuva_insert(vm, va);
			mt_fault_inject(0);
			if (ret == 0)
				break;
			CHECK_EQ(ret, -ENOMEM);
			gt_va_discard(va);
			snap_take(vm, &s1);
			CHECK(snap_same(&s0, &s1));
			CHECK_EQ(gt_nodes_live(), live);
			CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
			if (ret != -ENOMEM)
				break;
		}
		CHECK_EQ(ret, 0);
	}

	/* gpuvm_bo_obtain for a BO new to the space. */
	{
		struct gpuvm_bo *vm_bo = NULL;
		long refs = vm->refcount;

		failures = 0;
		for (long k = 1; k < 100; k++) {
			long va0 = atomic_load(&gt.vm_bo_alloc);
			long vf0 = atomic_load(&gt.vm_bo_free);

			vm_bo = NULL;
			mt_fault_inject(k);
			ret = gpuvm_bo_obtain(vm, &bo_x, &vm_bo);
			mt_fault_inject(0);
			if (ret == 0)
				break;
			CHECK_EQ(ret, -ENOMEM);
			failures++;
			gt_rcu_wait_frees();
			CHECK_EQ(atomic_load(&gt.vm_bo_alloc) - va0,
				 atomic_load(&gt.vm_bo_free) - vf0);
			CHECK(gpuvm_bo_find(vm, &bo_x) == NULL);
			CHECK_EQ(vm->refcount, refs);
			if (ret != -ENOMEM)
				break;
		}
		CHECK_EQ(ret, 0);
		CHECK(failures >= 1);
		if (!ret) {
			CHECK(vm_bo && vm_bo->obj == &bo_x && vm_bo->vm == vm);
			CHECK(gpuvm_bo_find(vm, &bo_x) == vm_bo);
			CHECK_EQ(vm_bo->refcount, 2);
			gpuvm_bo_put(vm_bo);
			gpuvm_bo_put(vm_bo);
		}
		CHECK(gpuvm_bo_find(vm, &bo_x) == NULL);
	}

	/* gpuva_remove never fails: with every allocation failing the
	 * mapping is gone, and the range reads as unmapped and is reusable. */
	{
		struct gpuva *va = gpuvm_lookup(vm, 0x1400);
		struct gpuva *nva;

		CHECK(va != NULL);
		if (va) {
			mt_fault_inject_all(true);
			gpuva_remove(va);
			mt_fault_inject_all(false);
			gpuva_unlink(va);
			gpuva_free_rcu(va);
			CHECK(gpuvm_lookup(vm, 0x1400) == NULL);
			CHECK(gpuva_find_first(vm, 0x1400, 0x80) == NULL);
			CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
			nva = add(vm, 0x1400, 0x80, NULL, 0);
			CHECK(nva && gpuvm_lookup(vm, 0x1420) == nva);
		}
	}
	vm_done(vm);
}

/* gpuvm_sm_map()/gpuvm_sm_unmap() allocate nothing themselves. */
static void no_alloc_callbacks(void)
{
	struct gpuvm *vm = vm_new();
	struct gpuvm_map_req req;
	struct recorder r;

	add(vm, 0, 2, &bo_a, 0);
	add(vm, 2, 2, &bo_b, 0);
	add(vm, 4, 2, &bo_c, 0);
	memset(&req, 0, sizeof(req));
	req.map.va.addr = 1;
	req.map.va.range = 4;
	req.map.bo = &bo_x;
	recorder_init(&r, vm, false);
	mt_fault_inject_all(true);
	CHECK_EQ(gpuvm_sm_map(vm, &r, &req), 0);
	CHECK_EQ(gpuvm_sm_unmap(vm, &r, 1, 4), 0);
	CHECK(gpuvm_lookup(vm, 3) != NULL);
	mt_fault_inject_all(false);
	CHECK_EQ(r.calls, 4 + 3);
	vm_done(vm);
}

/* ---- 9. Callback errors ------------------------------------------------------ */

static void test_callback_errors(void)
{
	static struct snap s0, s1;
	struct gpuvm_map_req req;

	memset(&req, 0, sizeof(req));
	req.map.va.addr = 1;
	req.map.va.range = 4;
	req.map.bo = &bo_x;
	for (int f = 0; f < 4; f++) {
		struct gpuvm *vm = vm_new();
		struct recorder r;

		add(vm, 0, 2, &bo_a, 0);
		add(vm, 2, 2, &bo_b, 0);
		add(vm, 4, 2, &bo_c, 0);
		snap_take(vm, &s0);
		recorder_init(&r, vm, false);
		r.fail_at = f;
		r.fail_err = -100 - f;
		CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -100 - f);
		CHECK_EQ(r.calls, f + 1);
		snap_take(vm, &s1);
		CHECK(snap_same(&s0, &s1));
		if (f < 3) {
			recorder_init(&r, vm, false);
			r.fail_at = f;
			r.fail_err = -200 - f;
			CHECK_EQ(gpuvm_sm_unmap(vm, &r, 1, 4), -200 - f);
			CHECK_EQ(r.calls, f + 1);
		}
		/* Applying as it goes, then failing: what was applied stays,
		 * the rest is untouched, the tree is sound. */
		recorder_init(&r, vm, true);
		r.fail_at = f;
		r.fail_err = -ENOSPC;
		CHECK_EQ(gpuvm_sm_map(vm, &r, &req), -ENOSPC);
		CHECK_EQ(r.calls, f + 1);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
		CHECK_EQ(gpuvm_mapping_count(vm), (unsigned long)
			 (f == 0 ? 3 : f == 1 ? 3 : f == 2 ? 2 : 2));
		check_links(vm);
		vm_done(vm);
	}
}

/* ---- 10. Iteration and lookups --------------------------------------------- */

static void test_iteration(void)
{
	struct gpuvm *vm = vm_new();
	struct gpuva *m[10], *va;
	uint64_t want[] = { 1, 2, 3, 4 };
	int n = 0;

	for (int i = 0; i < 10; i++)
		m[i] = add(vm, 0x10 * (uint64_t)i + 0x10, 0x10 - (i % 2) * 4,
			   i % 3 ? &bo_a : NULL, 0x10 * (uint64_t)i);
	/* m1 [0x20,0x2c) m2 [0x30,0x40) m3 [0x40,0x4c) m4 [0x50,0x60) */
	gpuvm_for_each_va_range(va, vm, 0x28, 0x51) {
		if (n < 4)
			CHECK(va == m[want[n]]);
		n++;
		gt_del(va);
	}
	CHECK_EQ(n, 4);
	CHECK_EQ(gpuvm_mapping_count(vm), 6);
	CHECK(gpuvm_lookup(vm, 0x10) == m[0]);
	CHECK(gpuvm_lookup(vm, 0x60) == m[5]);
	CHECK(gpuvm_lookup(vm, 0x28) == NULL);

	/* End exclusive, start inclusive; nothing in a hole. */
	n = 0;
	gpuvm_for_each_va_range(va, vm, 0x60, 0x70) {
		CHECK(va == m[5]);
		n++;
	}
	CHECK_EQ(n, 1);
	n = 0;
	gpuvm_for_each_va_range(va, vm, 0x20, 0x60)
		n++;
	CHECK_EQ(n, 0);

	/* Remove everything while walking it all. */
	n = 0;
	gpuvm_for_each_va(va, vm) {
		n++;
		gt_del(va);
	}
	CHECK_EQ(n, 6);
	CHECK_EQ(gpuvm_mapping_count(vm), 0);

	/* Replace the visited mapping by two halves: the walk goes on after
	 * the old end, so it sees neither half. */
	for (int i = 0; i < 4; i++)
		m[i] = add(vm, 0x100 * (uint64_t)i, 0x100, NULL, 0);
	n = 0;
	gpuvm_for_each_va(va, vm) {
		uint64_t a = va->va.addr;

		CHECK_EQ(a, 0x100 * (uint64_t)n);
		n++;
		gt_del(va);
		add(vm, a, 0x80, NULL, 0);
		add(vm, a + 0x80, 0x80, NULL, 0);
	}
	CHECK_EQ(n, 4);
	CHECK_EQ(gpuvm_mapping_count(vm), 8);
	vm_done(vm);
}

static void test_find(void)
{
	struct gpuvm *vm = vm_new_ex(0, 0x1000, 0, 0, &full_ops);
	struct gpuva *m0, *m1, *m2, *m3, *ml;

	m0 = add(vm, 0x0, 0x8, &bo_a, 0);
	m1 = add(vm, 0x10, 0x10, &bo_a, 0);
	m2 = add(vm, 0x20, 0x10, NULL, 0);
	m3 = add(vm, 0x40, 0x10, &bo_b, 0);
	ml = add(vm, 0xff0, 0x10, &bo_c, 0);

	CHECK(gpuva_find(vm, 0x10, 0x10) == m1);
	CHECK(gpuva_find(vm, 0x0, 0x8) == m0);
	CHECK(gpuva_find(vm, 0xff0, 0x10) == ml);
	CHECK(gpuva_find(vm, 0x10, 0x8) == NULL);
	CHECK(gpuva_find(vm, 0x18, 0x8) == NULL);
	CHECK(gpuva_find(vm, 0x10, 0x20) == NULL);
	CHECK(gpuva_find(vm, 0x8, 0x8) == NULL);
	CHECK(gpuva_find(vm, 0xf, 0x11) == NULL);

	CHECK(gpuva_find_first(vm, 0x0, 0x1000) == m0);
	CHECK(gpuva_find_first(vm, 0x8, 0x8) == NULL);
	CHECK(gpuva_find_first(vm, 0x8, 0x9) == m1);
	CHECK(gpuva_find_first(vm, 0x7, 0x100) == m0);
	CHECK(gpuva_find_first(vm, 0x1f, 0x1) == m1);
	CHECK(gpuva_find_first(vm, 0x1f, 0x2) == m1);
	CHECK(gpuva_find_first(vm, 0x20, 0x1) == m2);
	CHECK(gpuva_find_first(vm, 0x30, 0x10) == NULL);
	CHECK(gpuva_find_first(vm, 0x30, 0x11) == m3);
	CHECK(gpuva_find_first(vm, 0x50, 0xfb0) == ml);
	CHECK(gpuva_find_first(vm, 0x50, 0xfa1) == ml);
	CHECK(gpuva_find_first(vm, 0x50, 0xfa0) == NULL);
	CHECK(gpuva_find_first(vm, 0x30, 0) == NULL);
	CHECK(gpuva_find_first(vm, 0x30, UINT64_MAX) == NULL);

	CHECK(gpuva_find_prev(vm, 0x8) == m0);
	CHECK(gpuva_find_prev(vm, 0x10) == NULL);
	CHECK(gpuva_find_prev(vm, 0x20) == m1);
	CHECK(gpuva_find_prev(vm, 0x30) == m2);
	CHECK(gpuva_find_prev(vm, 0x40) == NULL);
	CHECK(gpuva_find_prev(vm, 0x50) == m3);
	CHECK(gpuva_find_prev(vm, 0x1000) == ml);
	CHECK(gpuva_find_prev(vm, 0x0) == NULL);
	CHECK(gpuva_find_prev(vm, 0x18) == NULL);	/* inside m1 */
	CHECK(gpuva_find_prev(vm, 0x2000) == NULL);

	CHECK(gpuva_find_next(vm, 0x0) == m0);
	CHECK(gpuva_find_next(vm, 0x8) == NULL);
	CHECK(gpuva_find_next(vm, 0x10) == m1);
	CHECK(gpuva_find_next(vm, 0x20) == m2);
	CHECK(gpuva_find_next(vm, 0x30) == NULL);
	CHECK(gpuva_find_next(vm, 0x18) == NULL);	/* inside m1 */
	CHECK(gpuva_find_next(vm, 0xff0) == ml);
	CHECK(gpuva_find_next(vm, 0x1000) == NULL);
	CHECK(gpuva_find_next(vm, UINT64_MAX) == NULL);

	CHECK(gpuvm_lookup(vm, 0x0) == m0);
	CHECK(gpuvm_lookup(vm, 0x7) == m0);
	CHECK(gpuvm_lookup(vm, 0x8) == NULL);
	CHECK(gpuvm_lookup(vm, 0xf) == NULL);
	CHECK(gpuvm_lookup(vm, 0x10) == m1);
	CHECK(gpuvm_lookup(vm, 0x1f) == m1);
	CHECK(gpuvm_lookup(vm, 0x20) == m2);
	CHECK(gpuvm_lookup(vm, 0x2f) == m2);
	CHECK(gpuvm_lookup(vm, 0x30) == NULL);
	CHECK(gpuvm_lookup(vm, 0x4f) == m3);
	CHECK(gpuvm_lookup(vm, 0xfff) == ml);
	CHECK(gpuvm_lookup(vm, 0x1000) == NULL);
	CHECK(gpuvm_lookup(vm, UINT64_MAX) == NULL);
	vm_done(vm);

	/* The top of a 64-bit space [0, 2^64 - 1). */
	vm = vm_new_ex(0, UINT64_MAX, 0, 0, &full_ops);
	ml = add(vm, UINT64_MAX - 0x10, 0x10, NULL, 0);
	m0 = add(vm, 0, 0x10, NULL, 0);
	CHECK(gpuvm_lookup(vm, UINT64_MAX - 1) == ml);
	CHECK(gpuvm_lookup(vm, UINT64_MAX - 0x10) == ml);
	CHECK(gpuvm_lookup(vm, UINT64_MAX - 0x11) == NULL);
	CHECK(gpuvm_lookup(vm, UINT64_MAX) == NULL);
	CHECK(gpuva_find(vm, UINT64_MAX - 0x10, 0x10) == ml);
	CHECK(gpuva_find_prev(vm, UINT64_MAX) == ml);
	CHECK(gpuva_find_next(vm, UINT64_MAX - 0x10) == ml);
	CHECK(gpuva_find_first(vm, 0x10, UINT64_MAX - 0x10) == ml);
	CHECK(gpuva_find_first(vm, 0x10, UINT64_MAX - 0x20) == NULL);
	CHECK(gpuva_find_prev(vm, 0x10) == m0);
	{
		struct gpuva *va = gt_va_new();
		struct gpuvm_map_req req;
		struct gpuva_ops *ops = NULL;

		CHECK(gpuvm_range_valid(vm, UINT64_MAX - 1, 1));
		CHECK(!gpuvm_range_valid(vm, UINT64_MAX - 1, 2));
		CHECK(!gpuvm_range_valid(vm, UINT64_MAX, 1));
		gpuva_init(va, UINT64_MAX, 1, NULL, 0);
		CHECK_EQ(gpuva_insert(vm, va), -EINVAL);
		gt_va_discard(va);
		memset(&req, 0, sizeof(req));
		req.map.va.addr = UINT64_MAX - 0x8;
		req.map.va.range = 0x8;
		CHECK_EQ(gpuvm_sm_map_ops_create(vm, &req, &ops), 0);
		if (ops) {
			struct seq s;

			seq_from_ops(ops, &s);
			CHECK(s.n == 2 && s.r[0].type == GPUVA_OP_REMAP &&
			      s.r[0].has_prev && !s.r[0].has_next &&
			      s.r[0].prev.range == 0x8);
			apply_ops(vm, ops);
			gpuva_ops_free(vm, ops);
		}
		CHECK(gpuvm_lookup(vm, UINT64_MAX - 1) != NULL &&
		      gpuvm_lookup(vm, UINT64_MAX - 1)->va.addr ==
			      UINT64_MAX - 0x8);
	}
	vm_done(vm);
}

int main(void)
{
	uint64_t rng = harness_seed("test_gpuvm_sm");
	long iters = gt_env_long("GPUVM_SM_ITERS", 1500);

	urcu_memb_register_thread();
	gpuvm_bo_handle_init(&bo_a, 0, NULL);
	gpuvm_bo_handle_init(&bo_b, 0, NULL);
	gpuvm_bo_handle_init(&bo_c, 0, NULL);
	gpuvm_bo_handle_init(&bo_x, 0, NULL);

	test_rows();
	test_worked_cases();
	test_unmap_requests();
	test_multi();
	test_madvise();
	test_remap_to_unmap_range();
	test_bo_unmap_ops();
	test_validation();
	fault_creates(&plain_ops, true);
	fault_creates(&full_ops, false);
	hook_failure();
	fault_apply();
	no_alloc_callbacks();
	test_callback_errors();
	test_iteration();
	test_find();
	test_random(&rng, iters);

	for (int i = 0; i < 2; i++)
		if (pool[i])
			vm_done(pool[i]);
	CHECK_EQ(remap_ptr_errors, 0);
	gt_rcu_wait_frees();
	CHECK_EQ(atomic_load(&gt.va_alloc), atomic_load(&gt.va_free));
	CHECK_EQ(atomic_load(&gt.op_alloc), atomic_load(&gt.op_free));
	CHECK_EQ(atomic_load(&gt.vm_bo_alloc), atomic_load(&gt.vm_bo_free));
	CHECK_EQ(gpuvm_bo_handle_fini(&bo_a), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&bo_b), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&bo_c), 0);
	CHECK_EQ(gpuvm_bo_handle_fini(&bo_x), 0);
	printf("%lu cases run\n", cases_run);
	urcu_memb_unregister_thread();
	return harness_finish();
}
