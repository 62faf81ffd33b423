// SPDX-License-Identifier: MIT
/*
 * A randomized differential test of the VA manager against a reference
 * model.
 *
 * The model is an array over a small VA space of NR_UNITS units: each unit
 * records which mapping covers it (an id), the BO, the BO offset at that
 * unit and the flags; a mapping is a maximal run of units with one id. A
 * map request [A, E) gives [A, E) a fresh id; pieces of old mappings kept
 * outside it get fresh ids of their own (a REMAP makes new mappings), and
 * adjacent mappings are never merged.
 *
 * Random map and unmap requests go to the model and to a real VA space,
 * through the op lists (gpuvm_sm_*_ops_create(), applied op by op) or the
 * callbacks (gpuvm_sm_map()/gpuvm_sm_unmap() applying each op as it comes).
 * The ops the library emits must be the ones the split/merge table predicts
 * from the model (types, order, keep flags, pieces); after every applied op
 * the VA space must hold exactly the model's mappings, each one the very
 * gpuva this test allocated for it; the vm_bo lists, lookups, finds and
 * range iteration must agree with the model. Invalid requests must fail
 * with -EINVAL and change nothing. A last phase injects allocation
 * failures: a failed ops creation changes nothing, and a failed apply
 * leaves the space as the ops applied so far made it (the model follows).
 * At the end everything is torn down and counted back.
 *
 * MT_SEED replays a run; MT_GPUVM_OPS sets the number of requests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "gpuvm_test.h"

#define NR_UNITS	512u
#define UNIT		0x1000ull
#define VA_BASE		0x7f000000000ull
#define VA_END		(VA_BASE + NR_UNITS * UNIT)
#define RES_A		448u		/* reserved units [RES_A, RES_E) */
#define RES_E		452u
#define NR_BOS		4
#define BO_FOREIGN	NR_BOS		/* private to another VA space */
#define BO_NONE		(-1)
#define MAX_POPS	(NR_UNITS + 2)
#define DEFAULT_OPS	80000

static inline uint64_t u2a(int64_t u)
{
	return VA_BASE + (uint64_t)u * UNIT;
}

/* ---- The driver side: hooks (gpuvm_test.h) ----------------------------- */

/* Mappings are tagged (struct gt_tva): their id is the model's id. */
static struct gpuvm vm, vm_other;
static struct gpuvm_bo_handle bos[NR_BOS + 1];
static const uint64_t bo_size[NR_BOS + 1] = {
	0,				/* no bounds check */
	(NR_UNITS + 64) * UNIT,
	2 * NR_UNITS * UNIT,		/* private to vm */
	NR_UNITS * UNIT,
	NR_UNITS * UNIT,		/* private to vm_other */
};

static atomic_ulong leftovers, leftovers_with_bo;

/* The mappings teardown reported, to see each is reported once. */
static struct gpuva *leftover_seen[NR_UNITS + 1];
static atomic_ulong leftovers_twice;

static void hook_leftover(struct gpuvm *v, struct gpuva *va)
{
	unsigned long n = atomic_fetch_add(&leftovers, 1);

	(void)v;
	for (unsigned long i = 0; i < n && i <= NR_UNITS; i++)
		if (leftover_seen[i] == va)
			atomic_fetch_add(&leftovers_twice, 1);
	if (n <= NR_UNITS)
		leftover_seen[n] = va;
	if (va->bo)
		atomic_fetch_add(&leftovers_with_bo, 1);
}

static int step_map(struct gpuva_op *op, void *priv);
static int step_remap(struct gpuva_op *op, void *priv);
static int step_unmap(struct gpuva_op *op, void *priv);

/* Only vm has hooks (vm_other none), so vm_free counts vm's teardown. */
static const struct gpuvm_ops test_ops = {
	.vm_free = gt_hook_vm_free_count,
	.va_free = gt_hook_tva_free,
	.op_alloc = gt_hook_op_alloc,
	.op_free = gt_hook_op_free,
	.vm_bo_alloc = gt_hook_vm_bo_alloc,
	.vm_bo_free = gt_hook_vm_bo_free,
	.sm_step_map = step_map,
	.sm_step_remap = step_remap,
	.sm_step_unmap = step_unmap,
	.va_leftover = hook_leftover,
};

static struct gpuvm_bo_handle *bo_handle(int bo)
{
	return bo == BO_NONE ? NULL : &bos[bo];
}

static const char *bo_name(const struct gpuvm_bo_handle *h)
{
	static const char *names[] = { "bo0", "bo1", "bo2", "bo3", "foreign" };

	if (!h)
		return "null";
	if (h >= bos && h < bos + NR_BOS + 1)
		return names[h - bos];
	return "???";
}

/* ---- The model --------------------------------------------------------- */

struct unit {
	unsigned long id;		/* 0: unmapped */
	int bo;
	uint64_t off;			/* BO offset at this unit */
	uint32_t flags;
};

static struct unit model[NR_UNITS];
static unsigned long next_id = 1;

struct run {
	unsigned int a, e;
	unsigned long id;
	int bo;
	uint64_t off;
	uint32_t flags;
};

static unsigned int model_runs(struct run *out)
{
	unsigned int n = 0, i = 0;

	while (i < NR_UNITS) {
		unsigned int j = i;

		if (!model[i].id) {
			i++;
			continue;
		}
		while (j < NR_UNITS && model[j].id == model[i].id)
			j++;
		out[n].a = i;
		out[n].e = j;
		out[n].id = model[i].id;
		out[n].bo = model[i].bo;
		out[n].off = model[i].off;
		out[n].flags = model[i].flags;
		n++;
		i = j;
	}
	return n;
}

/* A predicted operation. */
struct pop {
	enum gpuva_op_type type;
	unsigned int a, e;		/* the old mapping; MAP: the request */
	unsigned long id;		/* the old mapping's id */
	int bo;				/* the old mapping's BO; MAP: the request's */
	uint64_t off;			/* its offset at a */
	uint32_t flags;
	bool keep, prev, next;
	unsigned int A, E;		/* the request */
};

struct req {
	bool map;
	uint64_t addr, range;
	int bo;
	uint64_t off;
	uint32_t flags;
	bool range_ok, valid;
	unsigned int A, E;		/* in units, when valid */
};

static bool model_range_valid(uint64_t addr, uint64_t range)
{
	uint64_t end = addr + range;

	if (!range || end < addr)
		return false;
	if (addr < VA_BASE || end > VA_END)
		return false;
	if (addr < u2a(RES_E) && end > u2a(RES_A))
		return false;
	return true;
}

static void req_classify(struct req *r)
{
	r->range_ok = model_range_valid(r->addr, r->range);
	r->valid = r->range_ok;
	if (r->map && r->bo == BO_FOREIGN)
		r->valid = false;
	if (r->map && r->bo != BO_NONE && bo_size[r->bo]) {
		uint64_t end = r->off + r->range;

		if (end < r->off || end > bo_size[r->bo])
			r->valid = false;
	}
	if (r->valid) {
		r->A = (unsigned int)((r->addr - VA_BASE) / UNIT);
		r->E = (unsigned int)((r->addr + r->range - VA_BASE) / UNIT);
	}
}

static struct run runs_before[NR_UNITS];

/* What the split/merge table says for @r on the model as it is. */
static unsigned int predict(const struct req *r, struct pop *p)
{
	unsigned int nr = model_runs(runs_before), n = 0;

	for (unsigned int k = 0; k < nr; k++) {
		const struct run *v = &runs_before[k];
		struct pop *o;

		if (v->e <= r->A || v->a >= r->E)
			continue;
		o = &p[n++];
		memset(o, 0, sizeof(*o));
		o->a = v->a;
		o->e = v->e;
		o->id = v->id;
		o->bo = v->bo;
		o->off = v->off;
		o->flags = v->flags;
		o->A = r->A;
		o->E = r->E;
		o->prev = v->a < r->A;
		o->next = v->e > r->E;
		o->type = (o->prev || o->next) ? GPUVA_OP_REMAP : GPUVA_OP_UNMAP;
		o->keep = r->map && v->bo != BO_NONE && v->bo == r->bo &&
			  v->off == r->off + (uint64_t)((int64_t)v->a -
						       (int64_t)r->A) * UNIT;
	}
	if (r->map) {
		struct pop *o = &p[n++];

		memset(o, 0, sizeof(*o));
		o->type = GPUVA_OP_MAP;
		o->a = o->A = r->A;
		o->e = o->E = r->E;
		o->bo = r->bo;
		o->off = r->off;
		o->flags = r->flags;
	}
	return n;
}

static void model_apply(const struct pop *o)
{
	unsigned int i;

	switch (o->type) {
	case GPUVA_OP_UNMAP:
		for (i = o->a; i < o->e; i++)
			memset(&model[i], 0, sizeof(model[i]));
		break;
	case GPUVA_OP_REMAP: {
		unsigned long pid = o->prev ? next_id++ : 0;
		unsigned long nid = o->next ? next_id++ : 0;

		for (i = o->a; i < o->e; i++) {
			if (i < o->A)
				model[i].id = pid;
			else if (i >= o->E)
				model[i].id = nid;
			else
				memset(&model[i], 0, sizeof(model[i]));
		}
		break;
	}
	case GPUVA_OP_MAP: {
		unsigned long id = next_id++;

		for (i = o->A; i < o->E; i++) {
			model[i].id = id;
			model[i].bo = o->bo;
			model[i].off = o->off + (uint64_t)(i - o->A) * UNIT;
			model[i].flags = o->flags;
		}
		break;
	}
	default:
		break;
	}
}

/* ---- Comparison -------------------------------------------------------- */

static unsigned long req_no;
static bool diverged;
static unsigned long mismatches_printed;

__attribute__((format(printf, 1, 2)))
static void failf(const char *fmt, ...)
{
	va_list ap;

	if (mismatches_printed++ < 20) {
		fprintf(stderr, "request %lu: ", req_no);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

static void dump_state(void)
{
	struct run runs[NR_UNITS];
	unsigned int nr = model_runs(runs);
	struct gpuva *va;

	if (mismatches_printed > 20)
		return;
	fprintf(stderr, "  model:");
	for (unsigned int k = 0; k < nr; k++)
		fprintf(stderr, " [%u,%u)#%lu:%s@%#llx", runs[k].a, runs[k].e,
			runs[k].id, bo_name(bo_handle(runs[k].bo)),
			(unsigned long long)runs[k].off);
	fprintf(stderr, "\n  vm:   ");
	gpuvm_for_each_va(va, &vm) {
		fprintf(stderr, " [%lld,%lld)#%lu:%s@%#llx",
			(long long)(va->va.addr - VA_BASE) / (long long)UNIT,
			(long long)(va->va.addr + va->va.range - VA_BASE) /
				(long long)UNIT,
			gt_to_tva(va)->id, bo_name(va->bo),
			(unsigned long long)va->bo_offset);
	}
	fprintf(stderr, "\n");
}

/* Does the VA space hold exactly the model's mappings? */
static bool compare_tree(const char *where)
{
	struct run runs[NR_UNITS];
	unsigned int nr = model_runs(runs), k = 0;
	struct gpuva *va;
	bool ok = true;

	gpuvm_for_each_va(va, &vm) {
		const struct run *m = &runs[k];
		struct gt_tva *t = gt_to_tva(va);

		if (k >= nr) {
			failf("%s: extra mapping at %#llx", where,
			      (unsigned long long)va->va.addr);
			ok = false;
			break;
		}
		if (t->magic != GT_TVA_MAGIC || t->id != m->id ||
		    va->va.addr != u2a(m->a) ||
		    va->va.range != (uint64_t)(m->e - m->a) * UNIT ||
		    va->bo != bo_handle(m->bo) || va->bo_offset != m->off ||
		    va->flags != m->flags || va->vm != &vm ||
		    (m->bo == BO_NONE && va->vm_bo) ||
		    (m->bo != BO_NONE &&
		     (!va->vm_bo || va->vm_bo->obj != va->bo))) {
			failf("%s: mapping %u differs (model id %lu)", where,
			      k, m->id);
			ok = false;
			break;
		}
		k++;
	}
	if (ok && k != nr) {
		failf("%s: %u mappings, model has %u", where, k, nr);
		ok = false;
	}
	if (ok && gpuvm_mapping_count(&vm) != nr) {
		failf("%s: gpuvm_mapping_count %lu, model %u", where,
		      gpuvm_mapping_count(&vm), nr);
		ok = false;
	}
	CHECK(ok);
	if (!ok) {
		dump_state();
		diverged = true;
	}
	return ok;
}

/* The vm_bo mapping lists against the model. */
static void check_bo_lists(void)
{
	struct run runs[NR_UNITS];
	unsigned int nr = model_runs(runs);

	for (int b = 0; b < NR_BOS; b++) {
		unsigned long want = 0, got = 0;
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(&vm, &bos[b]);
		struct gpuva *va;
		bool ok = true;

		for (unsigned int k = 0; k < nr; k++)
			want += runs[k].bo == b;
		if (!want) {
			if (vm_bo) {
				failf("%s: vm_bo still there with no mapping",
				      bo_name(&bos[b]));
				gpuvm_bo_put(vm_bo);
				ok = false;
			}
			CHECK(ok);
			continue;
		}
		if (!vm_bo) {
			failf("%s: no vm_bo but %lu mappings",
			      bo_name(&bos[b]), want);
			CHECK(0);
			continue;
		}
		gpuvm_bo_for_each_va(va, vm_bo) {
			struct gpuva *found = gpuva_find(&vm, va->va.addr,
							 va->va.range);

			got++;
			if (found != va || va->bo != &bos[b] ||
			    va->vm_bo != vm_bo ||
			    model[(va->va.addr - VA_BASE) / UNIT].bo != b) {
				ok = false;
				break;
			}
		}
		if (!ok)
			failf("%s: a listed mapping is not the model's",
			      bo_name(&bos[b]));
		if (ok && got != want) {
			failf("%s: vm_bo lists %lu mappings, model %lu",
			      bo_name(&bos[b]), got, want);
			ok = false;
		}
		if (ok && (vm_bo->obj != &bos[b] || vm_bo->vm != &vm ||
			   __atomic_load_n(&vm_bo->refcount, __ATOMIC_RELAXED) !=
				   (long)want + 1)) {
			failf("%s: vm_bo refcount %ld, want %lu",
			      bo_name(&bos[b]), vm_bo->refcount, want + 1);
			ok = false;
		}
		CHECK(ok);
		if (!ok)
			diverged = true;
		gpuvm_bo_put(vm_bo);
	}
}

static bool va_is_run(struct gpuva *va, const struct run *m)
{
	return va && gt_to_tva(va)->id == m->id && va->va.addr == u2a(m->a) &&
	       va->va.range == (uint64_t)(m->e - m->a) * UNIT;
}

/* Lookups, finds and range iteration against the model. */
static void check_queries(uint64_t *rng)
{
	struct run runs[NR_UNITS];
	unsigned int nr = model_runs(runs);
	bool ok = true;

	/* gpuvm_lookup() anywhere in a unit, and around the space. */
	for (int i = 0; i < 8; i++) {
		int64_t u = (int64_t)(harness_rand(rng) % (NR_UNITS + 8)) - 4;
		uint64_t addr = u2a(u) + harness_rand(rng) % UNIT;
		struct gpuva *va = gpuvm_lookup(&vm, addr);

		if (u < 0 || u >= NR_UNITS || !model[u].id) {
			if (va) {
				failf("lookup %#llx: got a mapping",
				      (unsigned long long)addr);
				ok = false;
			}
		} else if (!va || gt_to_tva(va)->id != model[u].id ||
			   va->va.addr > addr ||
			   addr - va->va.addr >= va->va.range) {
			failf("lookup %#llx: not unit %lld's mapping",
			      (unsigned long long)addr, (long long)u);
			ok = false;
		}
	}
	if (gpuvm_lookup(&vm, 0) || gpuvm_lookup(&vm, UINT64_MAX) ||
	    gpuvm_lookup(&vm, VA_END)) {
		failf("lookup outside the space found a mapping");
		ok = false;
	}

	/* gpuva_find_first() and gpuvm_for_each_va_range() over a window. */
	for (int i = 0; i < 2; i++) {
		unsigned int s = harness_rand(rng) % NR_UNITS;
		unsigned int e = s + 1 + harness_rand(rng) % (NR_UNITS - s);
		const struct run *first = NULL;
		struct gpuva *va;
		unsigned int k, seen = 0;

		if (harness_rand(rng) % 4 == 0) {
			e = s + 1 + (unsigned int)(harness_rand(rng) % 4);
			if (e > NR_UNITS)
				e = NR_UNITS;
		}
		for (k = 0; k < nr; k++)
			if (runs[k].e > s && runs[k].a < e) {
				first = &runs[k];
				break;
			}
		va = gpuva_find_first(&vm, u2a(s), (uint64_t)(e - s) * UNIT);
		if (first ? !va_is_run(va, first) : va != NULL) {
			failf("find_first [%u,%u)", s, e);
			ok = false;
		}
		gpuvm_for_each_va_range(va, &vm, u2a(s), u2a(e)) {
			while (k < nr && !(runs[k].e > s && runs[k].a < e))
				k++;
			if (k >= nr || !va_is_run(va, &runs[k])) {
				failf("for_each_va_range [%u,%u)", s, e);
				ok = false;
				break;
			}
			k++;
			seen++;
		}
		for (; k < nr; k++)
			if (runs[k].e > s && runs[k].a < e) {
				failf("for_each_va_range [%u,%u): missed one",
				      s, e);
				ok = false;
				break;
			}
		(void)seen;
	}

	/* gpuva_find_prev() / gpuva_find_next() at a unit boundary. */
	for (int i = 0; i < 4; i++) {
		unsigned int u = harness_rand(rng) % (NR_UNITS + 1);
		const struct run *prev = NULL, *next = NULL;
		struct gpuva *va;

		if (nr && i < 2) {
			const struct run *m = &runs[harness_rand(rng) % nr];

			u = i == 0 ? m->a : m->e;
		}
		for (unsigned int k = 0; k < nr; k++) {
			if (runs[k].e == u)
				prev = &runs[k];
			if (runs[k].a == u)
				next = &runs[k];
		}
		va = gpuva_find_prev(&vm, u2a(u));
		if (prev ? !va_is_run(va, prev) : va != NULL) {
			failf("find_prev(unit %u)", u);
			ok = false;
		}
		va = gpuva_find_next(&vm, u2a(u));
		if (next ? !va_is_run(va, next) : va != NULL) {
			failf("find_next(unit %u)", u);
			ok = false;
		}
	}

	/* gpuva_find(): exact only. */
	if (nr) {
		const struct run *m = &runs[harness_rand(rng) % nr];
		uint64_t range = (uint64_t)(m->e - m->a) * UNIT;

		if (!va_is_run(gpuva_find(&vm, u2a(m->a), range), m) ||
		    gpuva_find(&vm, u2a(m->a), range + UNIT) ||
		    (range > UNIT &&
		     (gpuva_find(&vm, u2a(m->a), range - UNIT) ||
		      gpuva_find(&vm, u2a(m->a + 1), range - UNIT)))) {
			failf("gpuva_find on [%u,%u)", m->a, m->e);
			ok = false;
		}
	}
	CHECK(ok);
	if (!ok)
		diverged = true;
}

/* ---- Applying ops ------------------------------------------------------ */

static bool fault_mode;
/* Ids of mappings a gpuva_remap() failed on: teardown keeps them. */
#define MAX_REMAP_FAILED 4096
static unsigned long remap_failed[MAX_REMAP_FAILED];
static unsigned int nr_remap_failed;

static bool remap_failed_on(unsigned long id)
{
	for (unsigned int i = 0; i < nr_remap_failed; i++)
		if (remap_failed[i] == id)
			return true;
	return false;
}
static unsigned long stat_ops[4], stat_keep, stat_invalid, stat_create_enomem,
	stat_apply_enomem, stat_cb_form, stat_list_form, stat_remap_both,
	stat_remap_failures;

static bool map_matches(const struct gpuva_op_map *m, unsigned int a,
			unsigned int e, int bo, uint64_t off)
{
	return m->va.addr == u2a(a) &&
	       m->va.range == (uint64_t)(e - a) * UNIT &&
	       m->bo == bo_handle(bo) && m->bo_offset == off;
}

static bool old_matches(const struct gpuva *va, const struct pop *o)
{
	return va && gt_to_tva(va)->magic == GT_TVA_MAGIC &&
	       gt_to_tva(va)->id == o->id &&
	       va->va.addr == u2a(o->a) &&
	       va->va.range == (uint64_t)(o->e - o->a) * UNIT;
}

static const char *op_name(enum gpuva_op_type t)
{
	switch (t) {
	case GPUVA_OP_MAP: return "MAP";
	case GPUVA_OP_REMAP: return "REMAP";
	case GPUVA_OP_UNMAP: return "UNMAP";
	case GPUVA_OP_PREFETCH: return "PREFETCH";
	}
	return "?";
}

static void print_req(const struct req *r)
{
	if (mismatches_printed > 20)
		return;
	fprintf(stderr, "  request %lu: %s addr %#llx range %#llx", req_no,
		r->map ? "map" : "unmap", (unsigned long long)r->addr,
		(unsigned long long)r->range);
	if (r->valid)
		fprintf(stderr, " (units [%u,%u))", r->A, r->E);
	if (r->map)
		fprintf(stderr, " %s@%#llx", bo_name(bo_handle(r->bo)),
			(unsigned long long)r->off);
	fprintf(stderr, "\n");
}

static void print_pop(const struct pop *o)
{
	if (mismatches_printed > 20)
		return;
	fprintf(stderr, "  expected %s of [%u,%u)#%lu keep %d prev %d next %d\n",
		op_name(o->type), o->a, o->e, o->id, o->keep, o->prev, o->next);
}

/* Is @op the predicted @o? */
static bool check_op(const struct gpuva_op *op, const struct pop *o,
		     const struct req *r)
{
	bool ok = op->op == o->type;

	if (ok) {
		switch (o->type) {
		case GPUVA_OP_MAP:
			ok = map_matches(&op->map, o->A, o->E, o->bo, o->off) &&
			     op->map.flags == o->flags;
			break;
		case GPUVA_OP_UNMAP:
			ok = old_matches(op->unmap.va, o) &&
			     op->unmap.keep == o->keep;
			break;
		case GPUVA_OP_REMAP: {
			const struct gpuva_op_remap *rm = &op->remap;
			uint64_t hs = 0, hr = 0;
			unsigned int ha = o->a > o->A ? o->a : o->A;
			unsigned int he = o->e < o->E ? o->e : o->E;

			ok = rm->unmap && old_matches(rm->unmap->va, o) &&
			     rm->unmap->keep == o->keep &&
			     !!rm->prev == o->prev && !!rm->next == o->next;
			if (ok && o->prev)
				ok = map_matches(rm->prev, o->a, o->A, o->bo,
						 o->off) &&
				     rm->prev->flags == o->flags;
			if (ok && o->next)
				ok = map_matches(rm->next, o->E, o->e, o->bo,
						 o->off + (uint64_t)(o->E - o->a) *
							 UNIT) &&
				     rm->next->flags == o->flags;
			if (ok) {
				gpuva_op_remap_to_unmap_range(rm, &hs, &hr);
				ok = hs == u2a(ha) &&
				     hr == (uint64_t)(he - ha) * UNIT;
			}
			break;
		}
		default:
			ok = false;
		}
	}
	CHECK(ok);
	if (!ok) {
		if (mismatches_printed++ < 20) {
			fprintf(stderr, "request %lu: op differs from the table: got %s\n",
				req_no, op_name(op->op));
			print_req(r);
			print_pop(o);
		}
		dump_state();
		diverged = true;
	}
	return ok;
}

/* What gt_apply_op() tells the model's driver hooks. */
struct apply_ctx {
	unsigned long id;		/* the next new mapping's id */
	struct gpuva *mapped;		/* a MAP's new mapping */
	struct gpuvm_bo *vm_bo;		/* and the pair it was linked to */
};

/* New mappings take the ids model_apply() will give them, in order. */
static struct gpuva *drv_va_alloc(const struct gpuva_op_map *m, void *priv)
{
	struct apply_ctx *c = priv;

	(void)m;
	return &gt_tva_new(c->id++)->va;
}

static void drv_va_discard(struct gpuva *va, void *priv)
{
	(void)priv;
	gt_tva_discard(gt_to_tva(va));
}

/* A MAP's mapping is the op's, and not linked before gpuva_link(). */
static void drv_mapped(struct gpuva *va, const struct gpuva_op_map *m,
		       struct gpuvm_bo *vm_bo, void *priv)
{
	struct apply_ctx *c = priv;

	CHECK(va->vm == &vm && va->va.addr == m->va.addr &&
	      va->va.range == m->va.range && va->bo == m->bo &&
	      va->bo_offset == m->bo_offset && va->flags == m->flags &&
	      !va->vm_bo);
	c->mapped = va;
	c->vm_bo = vm_bo;
}

static const struct gt_driver model_driver = {
	.va_alloc = drv_va_alloc,
	.va_discard = drv_va_discard,
	.mapped = drv_mapped,
};

/* Apply @op (checked to be @o) as a driver does, and the model with it. */
static int apply_op(struct gpuva_op *op, const struct pop *o)
{
	struct apply_ctx c = { .id = next_id };
	int ret;

	ret = gt_apply_op(&vm, op, &model_driver, &c);
	if (ret) {
		if (op->op == GPUVA_OP_REMAP &&
		    nr_remap_failed < MAX_REMAP_FAILED)
			remap_failed[nr_remap_failed++] =
				gt_to_tva(op->remap.unmap->va)->id;
		if (ret == -ENOMEM && fault_mode) {
			stat_apply_enomem++;
		} else {
			failf("applying %s: error %d", op_name(op->op), ret);
			CHECK(0);
			diverged = true;
		}
		return ret;
	}
	if (c.vm_bo)
		CHECK(c.mapped->vm_bo == c.vm_bo);
	model_apply(o);
	stat_ops[op->op]++;
	if ((op->op == GPUVA_OP_UNMAP && op->unmap.keep) ||
	    (op->op == GPUVA_OP_REMAP && op->remap.unmap->keep))
		stat_keep++;
	if (op->op == GPUVA_OP_REMAP && o->prev && o->next)
		stat_remap_both++;
	compare_tree(op_name(op->op));
	return 0;
}

struct cb_ctx {
	const struct req *r;
	const struct pop *pops;
	unsigned int n, idx;
};

static int step(struct gpuva_op *op, void *priv, enum gpuva_op_type type)
{
	struct cb_ctx *c = priv;
	int ret;

	if (diverged)
		return -ECANCELED;
	CHECK_EQ(op->op, type);
	if (c->idx >= c->n) {
		failf("callback: more ops than the table's %u", c->n);
		print_req(c->r);
		CHECK(0);
		diverged = true;
		return -ECANCELED;
	}
	if (!check_op(op, &c->pops[c->idx], c->r))
		return -ECANCELED;
	ret = apply_op(op, &c->pops[c->idx]);
	if (ret)
		return ret;
	c->idx++;
	return 0;
}

static int step_map(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_MAP);
}

static int step_remap(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_REMAP);
}

static int step_unmap(struct gpuva_op *op, void *priv)
{
	return step(op, priv, GPUVA_OP_UNMAP);
}

static struct pop pops[MAX_POPS];
static long apply_fault;	/* list form: inject after creation */

static void list_form(const struct req *r, unsigned int n, long fault)
{
	struct gpuvm_map_req mr;
	struct gpuva_ops *ops = NULL;
	struct gpuva_op *op;
	unsigned int k = 0;
	int ret;

	memset(&mr, 0, sizeof(mr));
	mr.map.va.addr = r->addr;
	mr.map.va.range = r->range;
	mr.map.bo = bo_handle(r->bo);
	mr.map.bo_offset = r->off;
	mr.map.flags = r->flags;
	if (fault && !apply_fault)
		mt_fault_inject(fault);
	ret = r->map ? gpuvm_sm_map_ops_create(&vm, &mr, &ops) :
		       gpuvm_sm_unmap_ops_create(&vm, r->addr, r->range, &ops);
	if (!r->valid) {
		mt_fault_inject(0);
		CHECK_EQ(ret, -EINVAL);
		if (ret == 0)
			gpuva_ops_free(&vm, ops);
		CHECK_EQ(atomic_load(&gt.op_alloc), atomic_load(&gt.op_free));
		compare_tree("invalid request");
		return;
	}
	if (ret == -ENOMEM && fault) {
		mt_fault_inject(0);
		stat_create_enomem++;
		CHECK_EQ(atomic_load(&gt.op_alloc), atomic_load(&gt.op_free));
		compare_tree("failed ops creation");
		return;
	}
	CHECK_EQ(ret, 0);
	if (ret) {
		mt_fault_inject(0);
		print_req(r);
		diverged = true;
		return;
	}
	CHECK(ops != NULL);
	if (!ops) {
		mt_fault_inject(0);
		diverged = true;
		return;
	}
	/* The ops must be exactly the predicted ones before any is applied. */
	gpuva_for_each_op(op, ops)
		k++;
	if (k != n) {
		failf("ops list has %u ops, the table %u", k, n);
		print_req(r);
		gpuva_for_each_op(op, ops)
			if (mismatches_printed < 20)
				fprintf(stderr, "  got %s\n", op_name(op->op));
		for (unsigned int i = 0; i < n; i++)
			print_pop(&pops[i]);
		CHECK(0);
		diverged = true;
	} else {
		k = 0;
		gpuva_for_each_op(op, ops)
			if (!check_op(op, &pops[k++], r))
				break;
	}
	if (!diverged) {
		k = 0;
		if (apply_fault)
			mt_fault_inject(apply_fault);
		gpuva_for_each_op(op, ops)
			if (apply_op(op, &pops[k++]))
				break;
	}
	mt_fault_inject(0);
	gpuva_ops_free(&vm, ops);
	CHECK_EQ(atomic_load(&gt.op_alloc), atomic_load(&gt.op_free));
}

static void callback_form(const struct req *r, unsigned int n, long fault)
{
	struct gpuvm_map_req mr;
	struct cb_ctx c = { .r = r, .pops = pops, .n = n, .idx = 0 };
	int ret;

	memset(&mr, 0, sizeof(mr));
	mr.map.va.addr = r->addr;
	mr.map.va.range = r->range;
	mr.map.bo = bo_handle(r->bo);
	mr.map.bo_offset = r->off;
	mr.map.flags = r->flags;
	if (fault)
		mt_fault_inject(fault);
	ret = r->map ? gpuvm_sm_map(&vm, &c, &mr) :
		       gpuvm_sm_unmap(&vm, &c, r->addr, r->range);
	mt_fault_inject(0);
	if (!r->valid) {
		CHECK_EQ(ret, -EINVAL);
		CHECK_EQ(c.idx, 0);
		compare_tree("invalid request (callbacks)");
		return;
	}
	if (diverged)
		return;
	if (ret == -ENOMEM && fault) {
		CHECK(c.idx < n);
		return;
	}
	CHECK_EQ(ret, 0);
	if (c.idx != n) {
		failf("callbacks: %u ops, the table %u", c.idx, n);
		print_req(r);
		for (unsigned int i = 0; i < n; i++)
			print_pop(&pops[i]);
		CHECK(0);
		diverged = true;
	}
}

static void do_request(const struct req *r, bool callbacks, long fault)
{
	unsigned int n = 0;

	fault_mode = fault != 0;
	if (!r->valid)
		stat_invalid++;
	CHECK_EQ(gpuvm_range_valid(&vm, r->addr, r->range), r->range_ok);
	if (r->valid)
		n = predict(r, pops);
	if (callbacks) {
		stat_cb_form++;
		callback_form(r, n, fault);
	} else {
		stat_list_form++;
		list_form(r, n, fault);
	}
	fault_mode = false;
	if (!diverged)
		compare_tree("after the request");
}

/* ---- Request generation ------------------------------------------------ */

static uint64_t rnd(uint64_t *rng, uint64_t n)
{
	return n ? harness_rand(rng) % n : 0;
}

static void gen_valid_range(uint64_t *rng, bool map, unsigned int *A,
			    unsigned int *E)
{
	struct run runs[NR_UNITS];
	unsigned int s0 = 0, s1 = RES_A, seg, len, r = (unsigned int)rnd(rng, 256);
	unsigned int nr;

	if (rnd(rng, 8) == 0) {
		s0 = RES_E;
		s1 = NR_UNITS;
	}
	seg = s1 - s0;
	nr = model_runs(runs);
	if (nr && rnd(rng, 4) == 0) {
		/* Snap to an existing mapping's edges. */
		const struct run *m = &runs[rnd(rng, nr)];
		unsigned int lo = m->a < RES_A ? 0 : RES_E;
		unsigned int hi = m->a < RES_A ? RES_A : NR_UNITS;

		len = 1 + (unsigned int)rnd(rng, 6);
		switch (rnd(rng, 5)) {
		case 0:		/* the same range */
			*A = m->a;
			*E = m->e;
			break;
		case 1:		/* same start */
			*A = m->a;
			*E = m->a + len > hi ? hi : m->a + len;
			break;
		case 2:		/* same end */
			*E = m->e;
			*A = m->e < lo + len ? lo : m->e - len;
			break;
		case 3:		/* from inside to outside */
			*A = m->a + (unsigned int)rnd(rng, m->e - m->a);
			*E = m->e + len > hi ? hi : m->e + len;
			break;
		default:	/* strictly inside, if it can be */
			*A = m->a + (m->e - m->a > 2 ? 1 : 0);
			*E = m->e - (m->e - m->a > 2 ? 1 : 0);
			break;
		}
		return;
	}
	/*
	 * Mostly short requests, so that the space holds tens of mappings;
	 * now and then one over most or all of a side of the reserved
	 * region (fewer unmaps, which leave it empty).
	 */
	if (r < 160)
		len = 1 + (unsigned int)rnd(rng, 4);
	else if (r < 220)
		len = 1 + (unsigned int)rnd(rng, 24);
	else if (r < 248)
		len = 1 + (unsigned int)rnd(rng, map ? 128 : 48);
	else if (r < 252 || (!map && r < 255)) {
		len = 1 + (unsigned int)rnd(rng, 6);
	} else if (r < 254) {
		*A = s0 + (unsigned int)rnd(rng, 4);
		*E = s1 - (unsigned int)rnd(rng, 4);
		return;
	} else {
		*A = s0;
		*E = s1;
		return;
	}
	if (len > seg)
		len = seg;
	*A = s0 + (unsigned int)rnd(rng, seg - len + 1);
	*E = *A + len;
}

static void gen_offset(uint64_t *rng, struct req *r)
{
	unsigned int len = r->E - r->A;

	if (r->bo == BO_NONE) {
		r->off = rnd(rng, 4) ? 0 : rnd(rng, 1000) * UNIT;
		r->flags = rnd(rng, 2) ? GPUVA_SPARSE : 0;
		return;
	}
	r->flags = rnd(rng, 4) ? 0 : GPUVA_USERBITS;
	switch (rnd(rng, 4)) {
	case 0:		/* each BO at one fixed place: keeps galore */
		r->off = (uint64_t)r->A * UNIT;
		return;
	case 1: {	/* line up with the mapping under A, taking its BO */
		const struct unit *u = &model[r->A];

		if (u->id && u->bo != BO_NONE) {
			r->bo = u->bo;
			r->off = u->off;
			if (bo_size[r->bo] && (r->off + (uint64_t)len * UNIT >
					       bo_size[r->bo]))
				r->off = (uint64_t)r->A * UNIT;
			return;
		}
		r->off = (uint64_t)r->A * UNIT;
		return;
	}
	default: {
		uint64_t room = bo_size[r->bo] ?
			bo_size[r->bo] / UNIT - len : 2 * NR_UNITS;

		r->off = rnd(rng, room + 1) * UNIT;
		return;
	}
	}
}

static void gen_invalid(uint64_t *rng, struct req *r)
{
	unsigned int k = (unsigned int)rnd(rng, r->map ? 9 : 7);
	unsigned int len = 1 + (unsigned int)rnd(rng, 8);

	r->bo = r->map ? (int)rnd(rng, NR_BOS) : BO_NONE;
	r->off = 0;
	r->flags = 0;
	switch (k) {
	case 0:		/* empty */
		r->addr = u2a(rnd(rng, RES_A));
		r->range = 0;
		break;
	case 1:		/* starts below the space */
		r->addr = VA_BASE - (1 + rnd(rng, 3)) * UNIT;
		r->range = (VA_BASE - r->addr) + len * UNIT;
		break;
	case 2:		/* ends above it */
		r->addr = VA_END - (1 + rnd(rng, 3)) * UNIT;
		r->range = (VA_END - r->addr) + len * UNIT;
		break;
	case 3:		/* touches the reserved region */
		r->addr = u2a(RES_A - 2 + (unsigned int)rnd(rng, RES_E - RES_A + 3));
		r->range = len * UNIT;
		if (r->addr + r->range <= u2a(RES_A))
			r->range = u2a(RES_A) - r->addr + UNIT;
		break;
	case 4:		/* overflows */
		r->addr = UINT64_MAX - rnd(rng, 4) * UNIT;
		r->range = len * UNIT;
		break;
	case 5:		/* in the space, range overflows */
		r->addr = u2a(rnd(rng, RES_A));
		r->range = UINT64_MAX - rnd(rng, 2);
		break;
	case 6:		/* wholly outside */
		r->addr = rnd(rng, 2) ? rnd(rng, 4) * UNIT : VA_END + rnd(rng, 4) * UNIT;
		r->range = len * UNIT;
		break;
	case 7:		/* BO too small */
		r->bo = 3;
		r->addr = u2a(rnd(rng, RES_A - len));
		r->range = len * UNIT;
		r->off = bo_size[3] - r->range + (1 + rnd(rng, 3)) * UNIT;
		break;
	default:	/* BO private to another space */
		r->bo = BO_FOREIGN;
		r->addr = u2a(rnd(rng, RES_A - len));
		r->range = len * UNIT;
		break;
	}
}

static void gen_req(uint64_t *rng, struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->map = rnd(rng, 100) < 58;
	if (rnd(rng, 16) == 0) {
		gen_invalid(rng, r);
	} else {
		gen_valid_range(rng, r->map, &r->A, &r->E);
		r->addr = u2a(r->A);
		r->range = (uint64_t)(r->E - r->A) * UNIT;
		r->bo = BO_NONE;
		if (r->map) {
			if (rnd(rng, 6))
				r->bo = (int)rnd(rng, NR_BOS);
			gen_offset(rng, r);
		}
	}
	req_classify(r);
}

/* ---- Main -------------------------------------------------------------- */

int main(void)
{
	uint64_t rng = harness_seed("test_gpuvm_model");
	unsigned long nr_reqs = (unsigned long)gt_env_long("MT_GPUVM_OPS",
							 DEFAULT_OPS);
	unsigned long fault_from = nr_reqs - nr_reqs / 4;
	unsigned long left = 0, left_bo = 0, sum_mappings = 0, max_mappings = 0;
	size_t live_before;
	struct gpuva *va;
	int b;

	urcu_memb_register_thread();
	live_before = gt_nodes_live_settled();

	CHECK_EQ(gpuvm_init(&vm, "model", 0, VA_BASE, NR_UNITS * UNIT,
			    u2a(RES_A), (RES_E - RES_A) * UNIT, &test_ops), 0);
	CHECK_EQ(gpuvm_init(&vm_other, "other", 0, VA_BASE, NR_UNITS * UNIT,
			    0, 0, NULL), 0);
	for (b = 0; b <= NR_BOS; b++)
		gpuvm_bo_handle_init(&bos[b], bo_size[b],
				     b == 2 ? &vm : b == BO_FOREIGN ? &vm_other : NULL);

	for (req_no = 0; req_no < nr_reqs && !diverged; req_no++) {
		struct req r;
		bool callbacks = rnd(&rng, 3) == 0;
		long fault = 0;

		gen_req(&rng, &r);
		if (req_no >= fault_from && rnd(&rng, 2))
			fault = 1 + (long)rnd(&rng, 8);
		gpuvm_lock(&vm);
		do_request(&r, callbacks, fault);
		if (!diverged) {
			check_bo_lists();
			check_queries(&rng);
		}
		sum_mappings += gpuvm_mapping_count(&vm);
		if (gpuvm_mapping_count(&vm) > max_mappings)
			max_mappings = gpuvm_mapping_count(&vm);
		if (req_no % 64 == 0 || req_no + 1 == nr_reqs)
			CHECK_EQ(mt_validate(gpuvm_tree(&vm)), 0);
		gpuvm_unlock(&vm);
	}
	printf("%lu requests (%lu invalid; %lu as lists, %lu through callbacks): "
	       "%lu MAP, %lu REMAP (%lu with both pieces), %lu UNMAP, %lu keep; "
	       "%lu failed creations, %lu failed applies; %lu mappings on average, "
	       "%lu at most\n",
	       req_no, stat_invalid, stat_list_form, stat_cb_form,
	       stat_ops[GPUVA_OP_MAP], stat_ops[GPUVA_OP_REMAP], stat_remap_both,
	       stat_ops[GPUVA_OP_UNMAP], stat_keep, stat_create_enomem,
	       stat_apply_enomem, req_no ? sum_mappings / req_no : 0,
	       max_mappings);
	if (nr_reqs >= 4000 && !diverged) {
		/* The run exercised what it is meant to. */
		CHECK(stat_invalid > 0);
		CHECK(stat_keep > 0);
		CHECK(stat_remap_both > 0);
		CHECK(stat_ops[GPUVA_OP_UNMAP] > 0);
		CHECK(stat_create_enomem > 0);
		CHECK(stat_apply_enomem > 0);
	}

	/*
	 * Failures inside gpuva_remap() itself: split mappings at their
	 * middle with the fault armed only once the ops exist, so some
	 * REMAPs fail after storing one piece and undo it. Nothing may
	 * show, then or at teardown.
	 */
	for (unsigned int i = 0; 10 * i + 6 <= RES_A && !diverged; i++) {
		struct req r;

		/* Fresh mappings to split first: [10i, 10i + 6). */
		memset(&r, 0, sizeof(r));
		r.map = true;
		r.A = 10 * i;
		r.E = r.A + 6;
		r.addr = u2a(r.A);
		r.range = 6 * UNIT;
		r.bo = rnd(&rng, 4) ? (int)rnd(&rng, NR_BOS) : BO_NONE;
		gen_offset(&rng, &r);
		req_classify(&r);
		gpuvm_lock(&vm);
		do_request(&r, false, 0);
		gpuvm_unlock(&vm);
		req_no++;
	}
	for (unsigned int i = 0, tries = 0; i < 24 && tries < 1000 && !diverged;
	     tries++) {
		struct run runs[NR_UNITS];
		unsigned int nr = model_runs(runs);
		const struct run *m = nr ? &runs[rnd(&rng, nr)] : NULL;
		unsigned long failed_before = stat_apply_enomem;
		struct req r;

		if (!m || m->e - m->a < 3)
			continue;
		memset(&r, 0, sizeof(r));
		r.map = false;
		r.addr = u2a(m->a + 1 + (unsigned int)rnd(&rng, m->e - m->a - 2));
		r.range = UNIT;
		req_classify(&r);
		apply_fault = 1 + (long)(i % 6);
		gpuvm_lock(&vm);
		do_request(&r, false, apply_fault);
		if (!diverged) {
			check_bo_lists();
			check_queries(&rng);
		}
		gpuvm_unlock(&vm);
		apply_fault = 0;
		stat_remap_failures += stat_apply_enomem != failed_before;
		i++;
		req_no++;
	}
	printf("%lu of 24 split requests failed in gpuva_remap()\n",
	       stat_remap_failures);
	if (!diverged)
		CHECK(stat_remap_failures > 0);

	/*
	 * Unlink every mapping (so the vm_bos go) and remove about half,
	 * keeping those a gpuva_remap() failed on; teardown must report and
	 * free the others, each once.
	 */
	gpuvm_lock(&vm);
	CHECK_EQ(mt_validate(gpuvm_tree(&vm)), 0);
	gpuvm_for_each_va(va, &vm) {
		gpuva_unlink(va);
		CHECK(va->vm_bo == NULL);
		if (rnd(&rng, 2) || remap_failed_on(gt_to_tva(va)->id)) {
			left++;
			left_bo += va->bo != NULL;
			continue;
		}
		gpuva_remove(va);
		gpuva_free_rcu(va);
	}
	CHECK_EQ(gpuvm_mapping_count(&vm), left);
	for (b = 0; b < NR_BOS; b++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(&vm, &bos[b]);

		CHECK(vm_bo == NULL);
		if (vm_bo)
			gpuvm_bo_put(vm_bo);
	}
	CHECK_EQ(mt_validate(gpuvm_tree(&vm)), 0);
	gpuvm_unlock(&vm);

	gpuvm_put(&vm);
	CHECK_EQ(atomic_load(&gt.vm_free), 1);
	CHECK_EQ(atomic_load(&leftovers), left);
	CHECK_EQ(atomic_load(&leftovers_twice), 0);
	CHECK_EQ(atomic_load(&leftovers_with_bo), left_bo);
	CHECK_EQ(atomic_load(&gt.va_free), atomic_load(&gt.va_alloc));
	CHECK_EQ(atomic_load(&gt.va_bad_free), 0);
	CHECK_EQ(atomic_load(&gt.op_free), atomic_load(&gt.op_alloc));
	CHECK_EQ(atomic_load(&gt.vm_bo_free), atomic_load(&gt.vm_bo_alloc));
	for (b = 0; b <= NR_BOS; b++)
		CHECK_EQ(gpuvm_bo_handle_fini(&bos[b]), 0);
	gpuvm_put(&vm_other);

	CHECK_EQ(gt_nodes_live_settled(), live_before);
	urcu_memb_unregister_thread();
	return harness_finish();
}
