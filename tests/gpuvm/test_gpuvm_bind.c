// SPDX-License-Identifier: MIT
/*
 * The bind queue, in both modes (staged and immediate):
 *
 *  1. in-fences: a job waiting on an unsignalled fence does not run (nor,
 *     in immediate mode, change the VA space) until it is signalled; jobs
 *     run in submission order; dependencies across two queues on two VA
 *     spaces and on one VA space;
 *  2./3. many jobs pending at once over overlapping ranges, submitted with
 *     the worker stopped and then run with every allocation failing during
 *     run steps (mt_fault_inject_all() in run_begin/run_end): the final VA
 *     space equals a page-granular model replaying every request (ranges,
 *     BOs, offsets, flags, vm_bo lists, mapping count), the ops handed to
 *     run_op are exactly the model's, no allocation was tried inside a
 *     signalling section, the tree is valid and tidy (no placeholder left
 *     outside the reserved region, one slot per mapping); and the same
 *     with the worker running while jobs are submitted;
 *  4. a submit failing at every allocation in turn (mt_fault_inject(k))
 *     leaves the VA space exactly as it was, and leaks nothing, with the
 *     jobs before it run or still pending;
 *  5. a failing run step poisons the VA space;
 *  6. an in-fence signalled with an error fails its job;
 *  7. teardown with jobs pending (never started, or waiting for an
 *     in-fence); stop and start;
 *  8. readers looking addresses up lock-free while jobs run;
 *  9. reservation accounting;
 * and small cases of overlapping pending jobs that must leave the tree
 * tidy, and submits with bad arguments.
 * Mappings are allocated by the driver hooks (va_alloc/va_free), which
 * count them and keep a magic word, so leaks and use after free show.
 *
 * Requests carry their id in the mapping flags (GPUVA_USERBITS times id + 1)
 * so that any mapping found, or any piece of one, names the request that
 * made it.
 *
 * A job's out-fence is signalled before the worker cleans up after it
 * (drops its reservation, tidies the tree): checks of tidiness and of
 * reservations stop the worker first (a stop waits for the cleanup).
 *
 * Environment: MT_SEED replays; MT_BIND_JOBS (jobs of the random workloads,
 * default 150), MT_BIND_REQS (most requests per job, default 12),
 * MT_BIND_READERS (reader threads, default 2), MT_BIND_SWEEPS (jobs swept
 * with fault injection per mode and variant, default 3), MT_BIND_ONLY
 * (run only the scenarios whose name contains it: bad, in-fences, cross,
 * stop, tidy, workload, concurrent, sweep, run-failure, in-error, destroy,
 * reservation).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include <mapletree/gpuvm.h>

#include "harness.h"

#define PG		0x1000ull
#define VA_BASE		0x100000000ull
#define NR_PAGES	512u
#define RES_A		300u		/* reserved pages [RES_A, RES_E) */
#define RES_E		308u
#define NR_BOS		6
#define BO_PAGES	(NR_PAGES + 64)
#define MAX_OFF_PAGES	64u

static const char *mode_name(enum gpuvm_bind_mode m)
{
	return m == GPUVM_BIND_IMMEDIATE ? "immediate" : "staged";
}

static uint64_t p2a(uint64_t p)
{
	return VA_BASE + p * PG;
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);
	long v = s && *s ? strtol(s, NULL, 0) : def;

	return v > 0 ? v : def;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static uint64_t rnd(uint64_t *rng, uint64_t n)
{
	return n ? harness_rand(rng) % n : 0;
}

/* ---- Driver hooks that count -------------------------------------------- */

#define TVA_LIVE	0x6c6976652d766121ul
#define TVA_DEAD	0xdeadbeefdeadbeeful

/* A mapping as the driver allocates it: a magic word before the gpuva. */
struct tva {
	unsigned long magic;
	struct gpuva va;
};

static atomic_long va_allocs, va_frees, va_bad_frees;
static atomic_long vm_bo_allocs, vm_bo_frees, vm_frees;

static struct tva *to_tva(const struct gpuva *va)
{
	return (struct tva *)((char *)va - offsetof(struct tva, va));
}

static bool va_alive(const struct gpuva *va)
{
	return to_tva(va)->magic == TVA_LIVE;
}

static struct gpuva *hook_va_alloc(void)
{
	struct tva *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->magic = TVA_LIVE;
	atomic_fetch_add(&va_allocs, 1);
	return &t->va;
}

static void hook_va_free(struct gpuva *va)
{
	struct tva *t = to_tva(va);

	if (t->magic != TVA_LIVE)
		atomic_fetch_add(&va_bad_frees, 1);
	t->magic = TVA_DEAD;
	free(t);
	atomic_fetch_add(&va_frees, 1);
}

static struct gpuvm_bo *hook_vm_bo_alloc(void)
{
	struct gpuvm_bo *vm_bo = calloc(1, sizeof(*vm_bo));

	if (vm_bo)
		atomic_fetch_add(&vm_bo_allocs, 1);
	return vm_bo;
}

static void hook_vm_bo_free(struct gpuvm_bo *vm_bo)
{
	atomic_fetch_add(&vm_bo_frees, 1);
	free(vm_bo);
}

static void hook_vm_free(struct gpuvm *vm)
{
	atomic_fetch_add(&vm_frees, 1);
	free(vm);
}

static const struct gpuvm_ops vm_ops = {
	.vm_free = hook_vm_free,
	.va_free = hook_va_free,
	.vm_bo_alloc = hook_vm_bo_alloc,
	.vm_bo_free = hook_vm_bo_free,
	.va_alloc = hook_va_alloc,
};

static long va_live(void)
{
	return atomic_load(&va_allocs) - atomic_load(&va_frees);
}

static long vm_bo_live(void)
{
	return atomic_load(&vm_bo_allocs) - atomic_load(&vm_bo_frees);
}

static void rcu_wait_frees(void)
{
	mt_rcu_flavor()->barrier();
}

static unsigned long forbidden_allocs(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.forbidden_allocs;
}

static size_t nodes_settled(void)
{
	struct mt_cache_stats st;

	rcu_wait_frees();
	mt_rcu_barrier(NULL);
	mt_cache_stats(&st);
	return st.nodes_live;
}

/* ---- VA spaces and BOs --------------------------------------------------- */

struct bos {
	struct gpuvm_bo_handle h[NR_BOS];
};

static struct gpuvm *vm_new(const char *name)
{
	struct gpuvm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		exit(2);
	ret = gpuvm_init(vm, name, 0, VA_BASE, NR_PAGES * PG, p2a(RES_A),
			 (RES_E - RES_A) * PG, &vm_ops);
	CHECK_EQ(ret, 0);
	if (ret)
		exit(2);
	return vm;
}

/* bos->h[0] is private to @vm (NULL: all external), the others shared. */
static void bos_init(struct bos *b, struct gpuvm *vm)
{
	int i;

	for (i = 0; i < NR_BOS; i++)
		gpuvm_bo_handle_init(&b->h[i], i & 1 ? 0 : BO_PAGES * PG,
				     i == 0 ? vm : NULL);
}

static void bos_fini(struct bos *b)
{
	int i;

	for (i = 0; i < NR_BOS; i++)
		CHECK_EQ(gpuvm_bo_handle_fini(&b->h[i]), 0);
}

/* Remove every mapping, as a driver tearing down does. */
static void unmap_all(struct gpuvm *vm)
{
	struct gpuva *va;

	gpuvm_lock(vm);
	gpuvm_for_each_va(va, vm) {
		gpuva_remove(va);
		gpuva_unlink(va);
		gpuva_free_rcu(va);
	}
	gpuvm_unlock(vm);
}

/* Drop the last reference of a space from vm_new(): it must be freed. */
static void vm_put_last(struct gpuvm *vm)
{
	long before = atomic_load(&vm_frees);

	gpuvm_put(vm);
	rcu_wait_frees();
	CHECK_EQ(atomic_load(&vm_frees), before + 1);
}

/*
 * The tree is valid and tidy: no placeholder outside the reserved region,
 * every mapping in exactly one slot (no pieces left from pre-splits).
 * Caller: VM lock. Counts one check each.
 */
static void check_tidy(struct gpuvm *vm, const char *what)
{
	MA_STATE(mas, gpuvm_tree(vm), 0, 0);
	long zeros = 0, pieces = 0;
	void *entry;

	CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (xa_is_zero(entry)) {
			if (mas.index < p2a(RES_A) || mas.last >= p2a(RES_E)) {
				if (zeros < 3)
					fprintf(stderr, "  %s: placeholder at "
						"[%#lx, %#lx]\n", what,
						mas.index, mas.last);
				zeros++;
			}
			continue;
		}
		{
			struct gpuva *va = entry;

			if (mas.index != va->va.addr ||
			    mas.last != va->va.addr + va->va.range - 1) {
				if (pieces < 3)
					fprintf(stderr, "  %s: mapping [%#" PRIx64
						", +%#" PRIx64 ") in slot [%#lx, "
						"%#lx]\n", what, va->va.addr,
						va->va.range, mas.index,
						mas.last);
				pieces++;
			}
		}
	}
	CHECK_EQ(zeros, 0);
	CHECK_EQ(pieces, 0);
}

/*
 * Consistency without a model: every mapping alive, counted, linked to the
 * vm_bo of its BO (or to none for NULL BOs), every linked mapping of each
 * vm_bo in the tree. Caller: VM lock.
 */
static void check_consistent(struct gpuvm *vm, struct bos *b)
{
	struct gpuva *va;
	long n = 0, bad = 0, linked = 0, listed = 0;
	int i;

	gpuvm_for_each_va(va, vm) {
		n++;
		bad += !va_alive(va) || va->vm != vm;
		if (va->bo) {
			linked++;
			bad += !va->vm_bo || va->vm_bo->obj != va->bo;
		} else {
			bad += va->vm_bo != NULL;
		}
	}
	for (i = 0; i < NR_BOS; i++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(vm, &b->h[i]);

		if (!vm_bo)
			continue;
		gpuvm_bo_for_each_va(va, vm_bo) {
			listed++;
			bad += va->bo != &b->h[i] || va->vm_bo != vm_bo ||
			       gpuva_find(vm, va->va.addr, va->va.range) != va;
		}
		gpuvm_bo_put(vm_bo);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(n, gpuvm_mapping_count(vm));
	CHECK_EQ(listed, linked);
}

/* ---- The model ----------------------------------------------------------- */

/* What run_op was handed, or what the model expects it to be. */
struct oprec {
	int type;
	uint64_t addr, range;		/* MAP: the new one; else the old */
	const struct gpuvm_bo_handle *bo;
	uint64_t bo_offset;
	uint32_t flags;
	bool has_prev, has_next, keep;
	uint64_t prev_range, next_addr;
};

static uint32_t req_flags(uint32_t id, bool null_bo)
{
	return (id + 1) * GPUVA_USERBITS | (null_bo ? GPUVA_SPARSE : 0);
}

static long flags_req(uint32_t flags)
{
	return (long)(flags / GPUVA_USERBITS) - 1;
}

/*
 * Page p holds id + 1 of the request that mapped it (0: unmapped). A
 * mapping is a maximal run of pages with the same id: pieces of one
 * mapping that a request split never touch again.
 */
struct model {
	uint32_t page[NR_PAGES];
	const struct gpuvm_bind_req *reqs;
};

static uint64_t model_off(const struct model *m, uint32_t p)
{
	const struct gpuvm_bind_req *r = &m->reqs[m->page[p] - 1];

	return r->bo_offset + (p2a(p) - r->addr);
}

/* As the split/merge walk's keeps(): same BO at contiguous offsets. */
static bool model_keeps(const struct model *m, uint32_t s,
			const struct gpuvm_bind_req *req)
{
	const struct gpuvm_bind_req *v = &m->reqs[m->page[s] - 1];
	uint64_t a = p2a(s), off = model_off(m, s);

	if (req->op != GPUVM_BIND_MAP || !v->bo || v->bo != req->bo)
		return false;
	if (a < req->addr)
		return off + (req->addr - a) == req->bo_offset;
	return off == req->bo_offset + (a - req->addr);
}

/*
 * Apply request @id: append the ops split/merge must produce to @exp (if
 * not NULL) and count the mappings they create in *@made.
 */
static void model_apply(struct model *m, uint32_t id, struct oprec *exp,
			long *nexp, long *made)
{
	const struct gpuvm_bind_req *r = &m->reqs[id];
	uint32_t a = (r->addr - VA_BASE) / PG, e = a + r->range / PG, p = a;

	while (p < e) {
		uint32_t g = m->page[p], s = p, t = p;
		struct oprec o;

		if (!g) {
			p++;
			continue;
		}
		while (s > 0 && m->page[s - 1] == g)
			s--;
		while (t < NR_PAGES && m->page[t] == g)
			t++;
		o = (struct oprec){
			.type = s < a || t > e ? GPUVA_OP_REMAP : GPUVA_OP_UNMAP,
			.addr = p2a(s), .range = (t - s) * PG,
			.bo = m->reqs[g - 1].bo, .bo_offset = model_off(m, s),
			.flags = m->reqs[g - 1].flags,
			.has_prev = s < a, .has_next = t > e,
			.keep = model_keeps(m, s, r),
			.prev_range = s < a ? (a - s) * PG : 0,
			.next_addr = t > e ? p2a(e) : 0,
		};
		*made += (s < a) + (t > e);
		if (exp)
			exp[(*nexp)++] = o;
		p = t;
	}
	if (r->op == GPUVM_BIND_MAP) {
		if (exp)
			exp[(*nexp)++] = (struct oprec){
				.type = GPUVA_OP_MAP, .addr = r->addr,
				.range = r->range, .bo = r->bo,
				.bo_offset = r->bo_offset, .flags = r->flags,
			};
		(*made)++;
	}
	for (p = a; p < e; p++)
		m->page[p] = r->op == GPUVM_BIND_MAP ? id + 1 : 0;
}

static long model_count(const struct model *m)
{
	long n = 0;
	uint32_t p;

	for (p = 0; p < NR_PAGES; p++)
		n += m->page[p] && (p == 0 || m->page[p - 1] != m->page[p]);
	return n;
}

/*
 * The VA space equals the model: the same mappings (range, BO, offset,
 * flags), alive; the count; each BO's vm_bo lists exactly its mappings
 * (@settled: and a BO without mappings has no vm_bo). Caller: VM lock.
 * Returns the number of differences (also counted as failed checks).
 */
static long check_model(struct gpuvm *vm, const struct model *m,
			struct bos *b, bool settled, const char *what)
{
	long bad = 0, n = 0, per_bo[NR_BOS] = { 0 };
	struct gpuva *va;
	uint32_t p = 0;
	int i;

	gpuvm_for_each_va(va, vm) {
		uint32_t s, t;

		while (p < NR_PAGES && !m->page[p])
			p++;
		if (p >= NR_PAGES) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: extra mapping [%#" PRIx64
					", +%#" PRIx64 ")\n", what,
					va->va.addr, va->va.range);
			continue;
		}
		s = t = p;
		while (t < NR_PAGES && m->page[t] == m->page[s])
			t++;
		p = t;
		n++;
		if (va->va.addr != p2a(s) || va->va.range != (t - s) * PG ||
		    va->bo != m->reqs[m->page[s] - 1].bo ||
		    va->bo_offset != model_off(m, s) ||
		    (va->flags & ~GPUVA_INVALIDATED) !=
		    m->reqs[m->page[s] - 1].flags || !va_alive(va)) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: mapping [%#" PRIx64 ", +%#"
					PRIx64 ") bo %p off %#" PRIx64 " flags %#x;"
					" model [%#" PRIx64 ", +%#" PRIx64 ") bo %p "
					"off %#" PRIx64 " flags %#x\n", what,
					va->va.addr, va->va.range,
					(void *)va->bo, va->bo_offset, va->flags,
					p2a(s), (uint64_t)((t - s) * PG),
					(void *)m->reqs[m->page[s] - 1].bo,
					model_off(m, s),
					m->reqs[m->page[s] - 1].flags);
		}
		for (i = 0; i < NR_BOS; i++)
			per_bo[i] += va->bo == &b->h[i];
	}
	while (p < NR_PAGES && !m->page[p])
		p++;
	if (p < NR_PAGES && bad++ < 3)
		fprintf(stderr, "  %s: model mapping at page %u missing\n",
			what, p);
	CHECK_EQ(n, model_count(m));
	CHECK_EQ(gpuvm_mapping_count(vm), model_count(m));

	for (i = 0; i < NR_BOS; i++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(vm, &b->h[i]);
		long listed = 0, wrong = 0;

		if (!vm_bo) {
			if (per_bo[i]) {
				bad++;
				fprintf(stderr, "  %s: bo %d has %ld mappings, "
					"no vm_bo\n", what, i, per_bo[i]);
			}
			continue;
		}
		gpuvm_bo_for_each_va(va, vm_bo) {
			listed++;
			wrong += va->bo != &b->h[i] || va->vm_bo != vm_bo ||
				 gpuva_find(vm, va->va.addr, va->va.range) != va;
		}
		if (listed != per_bo[i] || wrong || (settled && !per_bo[i])) {
			bad++;
			fprintf(stderr, "  %s: bo %d: vm_bo lists %ld (%ld "
				"wrong), the space has %ld\n", what, i, listed,
				wrong, per_bo[i]);
		}
		gpuvm_bo_put(vm_bo);
	}
	CHECK_EQ(bad, 0);
	return bad;
}

/* ---- The driver's side of the queue ------------------------------------- */

static atomic_long global_seq;

struct drv {
	struct gpuvm *vm;
	bool check_shows;		/* immediate: the space shows each op */
	atomic_bool inject;		/* every allocation fails in run steps */
	long fail_at;			/* run_op call (1-based) failing -EIO */
	atomic_long ops;		/* run_op calls */
	atomic_long begins, ends, bad_nesting;
	atomic_long shows_bad, leaving_bad;
	atomic_long first_seq, last_seq;
	struct oprec *log;
	long log_max;
};

static void drv_init(struct drv *d, struct gpuvm *vm, enum gpuvm_bind_mode m,
		     struct oprec *log, long log_max)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->check_shows = m == GPUVM_BIND_IMMEDIATE;
	d->log = log;
	d->log_max = log_max;
	atomic_store(&d->first_seq, -1);
}

static void drv_run_begin(void *priv)
{
	struct drv *d = priv;

	if (atomic_load(&d->begins) != atomic_load(&d->ends))
		atomic_fetch_add(&d->bad_nesting, 1);
	atomic_fetch_add(&d->begins, 1);
	if (atomic_load(&d->inject))
		mt_fault_inject_all(true);
}

static void drv_run_end(void *priv)
{
	struct drv *d = priv;

	if (atomic_load(&d->inject))
		mt_fault_inject_all(false);
	atomic_fetch_add(&d->ends, 1);
	if (atomic_load(&d->begins) != atomic_load(&d->ends))
		atomic_fetch_add(&d->bad_nesting, 1);
}

/* [addr, addr + range) is exactly one mapping with these fields. */
static bool shows(struct gpuvm *vm, const struct gpuva_op_map *m)
{
	struct gpuva *va = gpuvm_lookup(vm, m->va.addr);

	return va && va_alive(va) && va->va.addr == m->va.addr &&
	       va->va.range == m->va.range && va->bo == m->bo &&
	       va->bo_offset == m->bo_offset && va->flags == m->flags &&
	       gpuvm_lookup(vm, m->va.addr + m->va.range - 1) == va;
}

/* The VA space already shows @op (immediate mode), under RCU. */
static bool op_shown(struct gpuvm *vm, const struct gpuva_op *op)
{
	uint64_t hole, hole_range;
	bool ok = true;

	mt_rcu_read_lock();
	switch (op->op) {
	case GPUVA_OP_MAP:
		ok = shows(vm, &op->map);
		break;
	case GPUVA_OP_REMAP:
		if (op->remap.prev)
			ok = ok && shows(vm, op->remap.prev);
		if (op->remap.next)
			ok = ok && shows(vm, op->remap.next);
		gpuva_op_remap_to_unmap_range(&op->remap, &hole, &hole_range);
		ok = ok && !gpuvm_lookup(vm, hole) &&
		     !gpuvm_lookup(vm, hole + hole_range - 1);
		break;
	default:
		ok = !gpuvm_lookup(vm, op->unmap.va->va.addr) &&
		     gpuvm_lookup(vm, op->unmap.va->va.addr +
				  op->unmap.va->va.range - 1) == NULL;
		break;
	}
	mt_rcu_read_unlock();
	return ok;
}

static int drv_run_op(void *priv, const struct gpuva_op *op)
{
	struct drv *d = priv;
	long n = atomic_fetch_add(&d->ops, 1);
	long seq = atomic_fetch_add(&global_seq, 1);
	const struct gpuva *old = NULL;
	struct oprec r = { .type = op->op };

	if (atomic_load(&d->first_seq) < 0)
		atomic_store(&d->first_seq, seq);
	atomic_store(&d->last_seq, seq);
	switch (op->op) {
	case GPUVA_OP_MAP:
		r.addr = op->map.va.addr;
		r.range = op->map.va.range;
		r.bo = op->map.bo;
		r.bo_offset = op->map.bo_offset;
		r.flags = op->map.flags;
		break;
	case GPUVA_OP_REMAP:
		old = op->remap.unmap->va;
		r.keep = op->remap.unmap->keep;
		r.has_prev = op->remap.prev != NULL;
		r.has_next = op->remap.next != NULL;
		r.prev_range = r.has_prev ? op->remap.prev->va.range : 0;
		r.next_addr = r.has_next ? op->remap.next->va.addr : 0;
		break;
	default:
		old = op->unmap.va;
		r.keep = op->unmap.keep;
		break;
	}
	if (old) {
		/* The mapping leaving is still valid. */
		if (!va_alive(old))
			atomic_fetch_add(&d->leaving_bad, 1);
		r.addr = old->va.addr;
		r.range = old->va.range;
		r.bo = old->bo;
		r.bo_offset = old->bo_offset;
		r.flags = old->flags;
	}
	if (d->log && n < d->log_max)
		d->log[n] = r;
	if (d->check_shows && !op_shown(d->vm, op))
		atomic_fetch_add(&d->shows_bad, 1);
	if (d->fail_at && n + 1 == d->fail_at)
		return -EIO;
	return 0;
}

static const struct gpuvm_bind_ops drv_ops = {
	.run_op = drv_run_op,
	.run_begin = drv_run_begin,
	.run_end = drv_run_end,
};

static long compare_ops(const struct oprec *got, long ngot,
			const struct oprec *exp, long nexp, const char *what)
{
	long i, bad = 0;

	if (ngot != nexp) {
		fprintf(stderr, "  %s: run_op called %ld times, expected %ld\n",
			what, ngot, nexp);
		bad++;
	}
	for (i = 0; i < ngot && i < nexp; i++) {
		const struct oprec *g = &got[i], *e = &exp[i];

		if (g->type == e->type && g->addr == e->addr &&
		    g->range == e->range && g->bo == e->bo &&
		    g->bo_offset == e->bo_offset && g->flags == e->flags &&
		    g->has_prev == e->has_prev && g->has_next == e->has_next &&
		    g->keep == e->keep && g->prev_range == e->prev_range &&
		    g->next_addr == e->next_addr)
			continue;
		if (bad++ < 3)
			fprintf(stderr, "  %s: op %ld: got type %d [%#" PRIx64
				", +%#" PRIx64 ") prev %d/%#" PRIx64 " next %d/%#"
				PRIx64 " keep %d; expected type %d [%#" PRIx64
				", +%#" PRIx64 ") prev %d/%#" PRIx64 " next %d/%#"
				PRIx64 " keep %d\n", what, i, g->type, g->addr,
				g->range, g->has_prev, g->prev_range, g->has_next,
				g->next_addr, g->keep, e->type, e->addr, e->range,
				e->has_prev, e->prev_range, e->has_next,
				e->next_addr, e->keep);
	}
	CHECK_EQ(bad, 0);
	return bad;
}

static struct gpuvm_bind_queue *queue_new(struct gpuvm *vm,
					  enum gpuvm_bind_mode mode,
					  struct drv *d)
{
	struct gpuvm_bind_queue *q = NULL;

	CHECK_EQ(gpuvm_bind_queue_create(vm, mode, &drv_ops, d, &q), 0);
	if (!q)
		exit(2);
	return q;
}

static struct gpuvm_fence *submit(struct gpuvm_bind_queue *q,
				  const struct gpuvm_bind_req *reqs,
				  unsigned int n, struct gpuvm_fence *const *in,
				  unsigned int nr_in)
{
	struct gpuvm_fence *out = NULL;
	int ret = gpuvm_bind_submit(q, reqs, n, in, nr_in, &out);

	CHECK_EQ(ret, 0);
	if (ret) {
		fprintf(stderr, "  submit of %u requests: %d\n", n, ret);
		return NULL;
	}
	return out;
}

static struct gpuvm_bind_req map_req(uint64_t p, uint64_t np,
				     struct gpuvm_bo_handle *bo, uint64_t offp,
				     uint32_t flags)
{
	return (struct gpuvm_bind_req){
		.op = GPUVM_BIND_MAP, .addr = p2a(p), .range = np * PG,
		.bo = bo, .bo_offset = offp * PG, .flags = flags,
	};
}

static struct gpuvm_bind_req unmap_req(uint64_t p, uint64_t np)
{
	return (struct gpuvm_bind_req){
		.op = GPUVM_BIND_UNMAP, .addr = p2a(p), .range = np * PG,
	};
}

/* Wait for @f (10 s at most) and return its status. */
static int wait_status(struct gpuvm_fence *f)
{
	if (!f)
		return -999;
	if (gpuvm_fence_wait(f, 10 * 1000000000LL)) {
		fprintf(stderr, "  a fence was not signalled within 10 s\n");
		return -998;
	}
	return gpuvm_fence_status(f);
}

/* The end of every scenario: no mapping, vm_bo or space left. */
struct leak_base {
	long va, vm_bo;
	size_t nodes;
};

static struct leak_base leak_base(void)
{
	struct leak_base b;

	b.nodes = nodes_settled();
	b.va = va_live();
	b.vm_bo = vm_bo_live();
	return b;
}

static void check_no_leak(const struct leak_base *b, const char *what)
{
	size_t nodes = nodes_settled();

	CHECK_EQ(va_live(), b->va);
	CHECK_EQ(vm_bo_live(), b->vm_bo);
	CHECK_EQ(nodes, b->nodes);
	CHECK_EQ(atomic_load(&va_bad_frees), 0);
	if (va_live() != b->va || vm_bo_live() != b->vm_bo ||
	    nodes != b->nodes)
		fprintf(stderr, "  %s: leak: mappings %ld, vm_bos %ld, nodes "
			"%ld\n", what, va_live() - b->va,
			vm_bo_live() - b->vm_bo,
			(long)nodes - (long)b->nodes);
}

/* ---- 1. Dependencies through in-fences ------------------------------------ */

static bool mapped_at(struct gpuvm *vm, uint64_t p)
{
	bool ret;

	gpuvm_lock(vm);
	ret = gpuvm_lookup(vm, p2a(p)) != NULL;
	gpuvm_unlock(vm);
	return ret;
}

static void test_in_fences(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("deps");
	struct bos b;
	struct drv d;
	struct oprec log[64];
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *user[3], *j1, *j2, *j3;
	struct gpuvm_bind_req r1[2], r2, r3;
	int i;

	bos_init(&b, vm);
	drv_init(&d, vm, mode, log, 64);
	q = queue_new(vm, mode, &d);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(gpuvm_bind_queue_start(q), -EALREADY);
	for (i = 0; i < 3; i++)
		user[i] = gpuvm_fence_create();

	/* J1 waits for three user fences; J2 and J3 come after it. */
	r1[0] = map_req(10, 4, &b.h[1], 0, req_flags(0, false));
	r1[1] = map_req(20, 4, NULL, 0, req_flags(1, true));
	r2 = map_req(12, 4, &b.h[2], 3, req_flags(2, false));
	r3 = unmap_req(21, 1);
	j1 = submit(q, r1, 2, user, 3);
	j2 = submit(q, &r2, 1, NULL, 0);
	j3 = submit(q, &r3, 1, &j2, 1);
	CHECK_EQ(gpuvm_fence_wait(j1, 30 * 1000000), -ETIMEDOUT);
	CHECK_EQ(gpuvm_fence_status(j2), 0);	/* behind J1 */
	CHECK_EQ(gpuvm_fence_status(j3), 0);
	CHECK_EQ(atomic_load(&d.begins), 0);
	CHECK_EQ(atomic_load(&d.ops), 0);
	/* Immediate: nothing applied; staged: applied at submit. */
	CHECK_EQ(mapped_at(vm, 10), mode == GPUVM_BIND_STAGED);
	CHECK_EQ(mapped_at(vm, 15), mode == GPUVM_BIND_STAGED);

	/* Signalled in reverse order: J1 waits for the last one. */
	gpuvm_fence_signal(user[2], 0);
	gpuvm_fence_signal(user[1], 0);
	CHECK_EQ(gpuvm_fence_wait(j1, 30 * 1000000), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&d.begins), 0);
	gpuvm_fence_signal(user[0], 0);
	CHECK_EQ(wait_status(j3), 1);
	CHECK_EQ(gpuvm_fence_status(j1), 1);
	CHECK_EQ(gpuvm_fence_status(j2), 1);
	CHECK_EQ(atomic_load(&d.begins), 3);
	CHECK_EQ(atomic_load(&d.bad_nesting), 0);
	/* run_op in submission order: J1 (MAP, MAP), J2 (REMAP of J1's
	 * first mapping, MAP), J3 (REMAP of J1's NULL mapping). */
	CHECK_EQ(atomic_load(&d.ops), 5);
	CHECK(log[0].type == GPUVA_OP_MAP && log[0].addr == p2a(10));
	CHECK(log[1].type == GPUVA_OP_MAP && log[1].addr == p2a(20));
	CHECK(log[2].type == GPUVA_OP_REMAP && log[2].addr == p2a(10) &&
	      log[2].has_prev && !log[2].has_next);
	CHECK(log[3].type == GPUVA_OP_MAP && log[3].addr == p2a(12));
	CHECK(log[4].type == GPUVA_OP_REMAP && log[4].addr == p2a(20) &&
	      log[4].has_prev && log[4].has_next);
	CHECK_EQ(atomic_load(&d.shows_bad), 0);
	CHECK_EQ(atomic_load(&d.leaving_bad), 0);

	/* The worker cleans up after a job once it has signalled its
	 * fence: a stop waits for that. */
	gpuvm_bind_queue_stop(q);
	gpuvm_lock(vm);
	CHECK(gpuva_find(vm, p2a(10), 2 * PG) != NULL);
	CHECK(gpuva_find(vm, p2a(12), 4 * PG) != NULL);
	CHECK(gpuva_find(vm, p2a(20), PG) != NULL);
	CHECK(gpuva_find(vm, p2a(22), 2 * PG) != NULL);
	CHECK_EQ(gpuvm_mapping_count(vm), 4);
	check_tidy(vm, "in-fences");
	check_consistent(vm, &b);
	gpuvm_unlock(vm);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);

	/* An in-fence already signalled: the job runs at once. */
	{
		struct gpuvm_bind_req r = unmap_req(0, NR_PAGES / 2);
		struct gpuvm_fence *j4 = submit(q, &r, 1, user, 1);

		CHECK_EQ(wait_status(j4), 1);
		CHECK_EQ(gpuvm_mapping_count(vm), 0);
		gpuvm_fence_put(j4);
	}

	gpuvm_bind_queue_destroy(q);
	for (i = 0; i < 3; i++)
		gpuvm_fence_put(user[i]);
	gpuvm_fence_put(j1);
	gpuvm_fence_put(j2);
	gpuvm_fence_put(j3);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, "in-fences");
}

/* Queue B's job depends on queue A's, whose job waits for a user fence. */
static void test_cross_queue(enum gpuvm_bind_mode mode, bool one_space)
{
	struct leak_base lb = leak_base();
	struct gpuvm *va = vm_new("cross-a");
	struct gpuvm *vb = one_space ? va : vm_new("cross-b");
	struct bos b;
	struct drv da, db;
	struct gpuvm_bind_queue *qa, *qb;
	struct gpuvm_fence *user = gpuvm_fence_create(), *ja, *jb;
	struct gpuvm_bind_req ra[2], rb[2];
	const char *what = one_space ? "cross-queue, one space" :
				       "cross-queue, two spaces";

	bos_init(&b, NULL);
	drv_init(&da, va, mode, NULL, 0);
	drv_init(&db, vb, mode, NULL, 0);
	qa = queue_new(va, mode, &da);
	qb = queue_new(vb, mode, &db);
	CHECK_EQ(gpuvm_bind_queue_start(qa), 0);
	CHECK_EQ(gpuvm_bind_queue_start(qb), 0);

	/* On one space, B's requests overlap A's: the dependency decides. */
	ra[0] = map_req(100, 16, &b.h[1], 0, req_flags(0, false));
	ra[1] = map_req(40, 8, &b.h[3], 8, req_flags(1, false));
	rb[0] = map_req(108, 16, &b.h[2], 0, req_flags(2, false));
	rb[1] = unmap_req(44, 2);
	ja = submit(qa, ra, 2, &user, 1);
	jb = submit(qb, rb, 2, &ja, 1);
	CHECK_EQ(gpuvm_fence_wait(jb, 30 * 1000000), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&da.begins) + atomic_load(&db.begins), 0);
	gpuvm_fence_signal(user, 0);
	CHECK_EQ(wait_status(jb), 1);
	CHECK_EQ(gpuvm_fence_status(ja), 1);
	CHECK_EQ(atomic_load(&da.ops), 2);
	/* One space: A's mappings are split by B; two: B finds nothing. */
	CHECK_EQ(atomic_load(&db.ops), one_space ? 3 : 1);
	CHECK(atomic_load(&da.last_seq) < atomic_load(&db.first_seq));
	CHECK_EQ(atomic_load(&da.shows_bad) + atomic_load(&db.shows_bad), 0);

	gpuvm_bind_queue_stop(qa);
	gpuvm_bind_queue_stop(qb);
	gpuvm_lock(va);
	if (one_space) {
		CHECK(gpuva_find(va, p2a(100), 8 * PG) != NULL);
		CHECK(gpuva_find(va, p2a(108), 16 * PG) != NULL);
		CHECK(gpuva_find(va, p2a(40), 4 * PG) != NULL);
		CHECK(gpuva_find(va, p2a(46), 2 * PG) != NULL);
		CHECK_EQ(gpuvm_mapping_count(va), 4);
	} else {
		CHECK(gpuva_find(va, p2a(100), 16 * PG) != NULL);
		CHECK(gpuva_find(va, p2a(40), 8 * PG) != NULL);
		CHECK_EQ(gpuvm_mapping_count(va), 2);
	}
	check_tidy(va, what);
	check_consistent(va, &b);
	gpuvm_unlock(va);
	if (!one_space) {
		gpuvm_lock(vb);
		CHECK(gpuva_find(vb, p2a(108), 16 * PG) != NULL);
		CHECK_EQ(gpuvm_mapping_count(vb), 1);
		check_tidy(vb, what);
		check_consistent(vb, &b);
		gpuvm_unlock(vb);
	}

	gpuvm_bind_queue_destroy(qb);
	gpuvm_bind_queue_destroy(qa);
	gpuvm_fence_put(user);
	gpuvm_fence_put(ja);
	gpuvm_fence_put(jb);
	unmap_all(va);
	vm_put_last(va);
	if (!one_space) {
		unmap_all(vb);
		vm_put_last(vb);
	}
	bos_fini(&b);
	check_no_leak(&lb, what);
}

/*
 * Overlapping jobs pending at once leave the tree tidy once they are done,
 * whatever order their boundaries are released in: J1 maps [0, 8), J2
 * [4, 12), J3 unmaps [0, 2); all submitted before the worker starts. Also
 * with a reserved region next to the requests.
 */
static void test_tidy_overlapping(enum gpuvm_bind_mode mode, bool destroy)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("tidy");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *f[5];
	struct gpuvm_bind_req r[5];
	struct gpuvm_va_alloc_req all = { .size = (NR_PAGES - RES_E) * PG,
					  .start = p2a(RES_E),
					  .end = p2a(NR_PAGES) };
	uint64_t addr = 0;
	char what[64];
	int i;

	snprintf(what, sizeof(what), "tidy %s%s", mode_name(mode),
		 destroy ? " (destroyed)" : "");
	bos_init(&b, vm);
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	r[0] = map_req(0, 8, NULL, 0, req_flags(0, true));
	r[1] = map_req(4, 8, NULL, 0, req_flags(1, true));
	r[2] = unmap_req(0, 2);
	/* the same at the reserved region's end, then unmapped */
	r[3] = map_req(RES_E, 4, &b.h[1], 0, req_flags(3, false));
	r[4] = unmap_req(RES_E, 8);
	for (i = 0; i < 5; i++)
		f[i] = submit(q, &r[i], 1, NULL, 0);
	if (destroy) {
		gpuvm_bind_queue_destroy(q);
	} else {
		CHECK_EQ(gpuvm_bind_queue_start(q), 0);
		CHECK_EQ(wait_status(f[4]), 1);
		gpuvm_bind_queue_stop(q);
	}
	gpuvm_lock(vm);
	check_tidy(vm, what);
	check_consistent(vm, &b);
	if (!destroy || mode == GPUVM_BIND_STAGED) {
		CHECK(gpuva_find(vm, p2a(2), 2 * PG) != NULL);
		CHECK(gpuva_find(vm, p2a(4), 8 * PG) != NULL);
		CHECK_EQ(gpuvm_mapping_count(vm), 2);
	} else {
		CHECK_EQ(gpuvm_mapping_count(vm), 0);
	}
	/* Everything above the reserved region is free again. */
	CHECK_EQ(gpuvm_va_find_free(vm, &all, &addr), 0);
	CHECK_EQ(addr, p2a(RES_E));
	gpuvm_unlock(vm);
	if (!destroy)
		gpuvm_bind_queue_destroy(q);
	for (i = 0; i < 5; i++)
		gpuvm_fence_put(f[i]);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, what);
}

/*
 * The smallest case found: three unmap jobs on an empty space, pending
 * at once, [11, 16), [10, 11), [12, 16). Nothing is ever mapped, so the
 * tree must end as it began: no placeholder.
 */
static void test_tidy_unmaps(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("tidy-unmaps");
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_bind_req r[3] = {
		unmap_req(11, 5), unmap_req(10, 1), unmap_req(12, 4),
	};
	struct gpuvm_fence *f[3];
	char what[64];
	int i;

	snprintf(what, sizeof(what), "tidy unmaps %s", mode_name(mode));
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	for (i = 0; i < 3; i++)
		f[i] = submit(q, &r[i], 1, NULL, 0);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(wait_status(f[2]), 1);
	gpuvm_bind_queue_stop(q);
	CHECK_EQ(atomic_load(&d.ops), 0);
	gpuvm_lock(vm);
	check_tidy(vm, what);
	gpuvm_unlock(vm);
	gpuvm_bind_queue_destroy(q);
	for (i = 0; i < 3; i++)
		gpuvm_fence_put(f[i]);
	vm_put_last(vm);
	check_no_leak(&lb, what);
}

/* Stop keeps jobs queued; a new start runs them. */
static void test_stop_start(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("stop-start");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_bind_req r = map_req(5, 3, NULL, 0, req_flags(0, true));
	struct gpuvm_fence *f;

	bos_init(&b, vm);
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	gpuvm_bind_queue_stop(q);		/* not running: no-op */
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	gpuvm_bind_queue_stop(q);
	f = submit(q, &r, 1, NULL, 0);
	CHECK_EQ(gpuvm_fence_wait(f, 30 * 1000000), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&d.begins), 0);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(wait_status(f), 1);
	gpuvm_fence_put(f);
	gpuvm_bind_queue_destroy(q);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, "stop/start");
}

/* ---- Random workloads (2, 3, 8, 9) ------------------------------------------ */

/* A random request that stays clear of the reserved region. */
static struct gpuvm_bind_req random_req(uint64_t *rng, struct bos *b,
					uint32_t id, unsigned int max_len)
{
	bool low = rnd(rng, NR_PAGES) < RES_A;
	uint32_t lo = low ? 0 : RES_E, hi = low ? RES_A : NR_PAGES;
	uint32_t p = lo + rnd(rng, hi - lo);
	uint32_t len = rnd(rng, 8) ? 1 + rnd(rng, 8) : 1 + rnd(rng, max_len);
	struct gpuvm_bo_handle *bo;

	if (len > hi - p)
		len = hi - p;
	if (rnd(rng, 3) == 0)
		return unmap_req(p, len);
	bo = rnd(rng, 5) ? &b->h[rnd(rng, NR_BOS)] : NULL;
	/* Same-BO offsets that line up sometimes, so keep is seen too. */
	return map_req(p, len, bo, bo ? (rnd(rng, 2) ? p % MAX_OFF_PAGES :
					 rnd(rng, MAX_OFF_PAGES)) : 0,
		       req_flags(id, !bo));
}

struct workload {
	struct gpuvm_bind_req *reqs;
	uint32_t nr_reqs, nr_jobs;
	uint32_t *first, *count;	/* per job */
	int *dep;			/* per job: an earlier job, or -1 */
	struct oprec *exp;		/* expected ops, all jobs */
	long nexp;
	long *exp_end;			/* per job: ops so far */
	long made;			/* mappings the ops create */
	long maps, unmaps;
	struct model after0, final;	/* after job 0; after all */
};

/* Jobs of 1 to @max_reqs requests (@fixed: all of @max_reqs); job 0 maps
 * only, @max_reqs of them. */
static void workload_gen(struct workload *w, uint64_t seed, struct bos *b,
			 uint32_t nr_jobs, uint32_t max_reqs, bool fixed)
{
	uint64_t rng = seed;
	uint32_t j, i, id = 0;
	struct model *m = &w->final;

	memset(w, 0, sizeof(*w));
	w->nr_jobs = nr_jobs;
	w->reqs = calloc((size_t)nr_jobs * max_reqs, sizeof(*w->reqs));
	w->first = calloc(nr_jobs, sizeof(*w->first));
	w->count = calloc(nr_jobs, sizeof(*w->count));
	w->dep = calloc(nr_jobs, sizeof(*w->dep));
	w->exp_end = calloc(nr_jobs, sizeof(*w->exp_end));
	/* each request: at most one op per mapping it overlaps, plus MAP */
	w->exp = calloc((size_t)nr_jobs * max_reqs * (NR_PAGES / 2 + 2),
			sizeof(*w->exp));
	if (!w->reqs || !w->first || !w->count || !w->dep || !w->exp_end ||
	    !w->exp)
		exit(2);
	m->reqs = w->reqs;
	for (j = 0; j < nr_jobs; j++) {
		/* job 0 is larger: it populates the space */
		uint32_t n = j == 0 || fixed ? max_reqs :
			     1 + rnd(&rng, max_reqs);

		w->first[j] = id;
		w->count[j] = n;
		w->dep[j] = j > 1 && rnd(&rng, 4) == 0 ?
			    (int)(1 + rnd(&rng, j - 1)) : -1;
		for (i = 0; i < n; i++, id++) {
			w->reqs[id] = random_req(&rng, b, id,
						 j == 0 ? 64 : 48);
			if (j == 0 && w->reqs[id].op == GPUVM_BIND_UNMAP)
				w->reqs[id] = map_req((w->reqs[id].addr -
						       VA_BASE) / PG,
						      w->reqs[id].range / PG,
						      NULL, 0,
						      req_flags(id, true));
			if (w->reqs[id].op == GPUVM_BIND_MAP)
				w->maps++;
			else
				w->unmaps++;
			model_apply(m, id, w->exp, &w->nexp, &w->made);
		}
		w->exp_end[j] = w->nexp;
		if (j == 0)
			w->after0 = *m;
	}
	w->nr_reqs = id;
}

static void workload_free(struct workload *w)
{
	free(w->reqs);
	free(w->first);
	free(w->count);
	free(w->dep);
	free(w->exp_end);
	free(w->exp);
}

/* 8. Readers looking addresses up while jobs run. */
struct reader {
	struct gpuvm *vm;
	const struct workload *w;
	atomic_bool *stop;
	uint64_t seed;
	long lookups, hits, bad, reserved_bad;
};

/* @va, found at @addr, covers it and is (a piece of) a request's mapping. */
static bool va_plausible(const struct workload *w, const struct gpuva *va,
			 uint64_t addr)
{
	long id = flags_req(va->flags);
	const struct gpuvm_bind_req *r;

	if (!va_alive(va) || addr < va->va.addr ||
	    addr - va->va.addr >= va->va.range || id < 0 ||
	    id >= (long)w->nr_reqs)
		return false;
	r = &w->reqs[id];
	return r->op == GPUVM_BIND_MAP && va->bo == r->bo &&
	       va->va.addr >= r->addr && va->va.range <= r->range &&
	       va->va.addr - r->addr <= r->range - va->va.range &&
	       va->bo_offset == r->bo_offset + (va->va.addr - r->addr) &&
	       (va->flags & ~GPUVA_INVALIDATED) == r->flags;
}

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;
	uint64_t rng = rd->seed;

	urcu_memb_register_thread();
	while (!atomic_load(rd->stop)) {
		int i;

		mt_rcu_read_lock();
		for (i = 0; i < 64; i++) {
			uint64_t p = rnd(&rng, NR_PAGES);
			uint64_t addr = p2a(p) + rnd(&rng, PG);
			struct gpuva *va = gpuvm_lookup(rd->vm, addr);

			rd->lookups++;
			if (!va)
				continue;
			rd->hits++;
			if (p >= RES_A && p < RES_E)
				rd->reserved_bad++;
			if (!va_plausible(rd->w, va, addr))
				rd->bad++;
		}
		mt_rcu_read_unlock();
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/*
 * Run a workload on a fresh space. @concurrent: the worker runs while the
 * jobs are submitted, readers look up throughout (no fault injection then:
 * it is process-wide). Otherwise job 0 runs first, the rest are submitted
 * with the worker stopped and run with every allocation failing in run
 * steps.
 */
static void run_workload(enum gpuvm_bind_mode mode, uint64_t seed,
			 bool concurrent)
{
	uint32_t nr_jobs = env_long("MT_BIND_JOBS", 150);
	uint32_t max_reqs = env_long("MT_BIND_REQS", 12);
	long nreaders = env_long("MT_BIND_READERS", 2);
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("workload");
	struct workload w;
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence **out, *user = gpuvm_fence_create();
	struct gpuvm_bind_stats st;
	struct reader *rd = calloc(nreaders + 1, sizeof(*rd));
	pthread_t *th = calloc(nreaders + 1, sizeof(*th));
	atomic_bool stop = false;
	unsigned long forbidden0 = forbidden_allocs();
	char what[96];
	double t0 = now_s();
	long i, bad_status = 0, lookups = 0, hits = 0;
	uint32_t j;

	snprintf(what, sizeof(what), "workload %s%s seed %" PRIu64,
		 mode_name(mode), concurrent ? " concurrent" : "", seed);
	bos_init(&b, vm);
	workload_gen(&w, seed, &b, nr_jobs, max_reqs, false);
	out = calloc(nr_jobs, sizeof(*out));
	if (!out || !rd || !th)
		exit(2);
	drv_init(&d, vm, mode, calloc(w.nexp + 16, sizeof(struct oprec)),
		 w.nexp + 16);
	if (!d.log)
		exit(2);
	q = queue_new(vm, mode, &d);
	gpuvm_fence_signal(user, 0);

	for (i = 0; i < nreaders; i++) {
		rd[i] = (struct reader){ .vm = vm, .w = &w, .stop = &stop,
					 .seed = seed + 77 * (i + 1) };
		pthread_create(&th[i], NULL, reader_thread, &rd[i]);
	}

	/* Job 0 populates the space and completes. */
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	out[0] = submit(q, w.reqs, w.count[0], NULL, 0);
	CHECK_EQ(wait_status(out[0]), 1);
	if (!concurrent)
		gpuvm_bind_queue_stop(q);
	/* Running, the worker may not have dropped job 0's vm_bo
	 * references yet: its fence is signalled before it cleans up. */
	gpuvm_lock(vm);
	check_model(vm, &w.after0, &b, !concurrent, what);
	gpuvm_unlock(vm);

	for (j = 1; j < nr_jobs; j++) {
		struct gpuvm_fence *in[2];
		unsigned int nr_in = 0;

		if (w.dep[j] >= 0 && out[w.dep[j]])
			in[nr_in++] = out[w.dep[j]];
		if (j % 5 == 0)
			in[nr_in++] = user;
		out[j] = submit(q, &w.reqs[w.first[j]], w.count[j], in, nr_in);
	}

	if (!concurrent) {
		long reserved_vas = 0;

		/* Everything pending: the reservation, and the VA space
		 * before (immediate) or after (staged) all of it. */
		for (i = w.count[0]; i < (long)w.nr_reqs; i++)
			reserved_vas += w.reqs[i].op == GPUVM_BIND_MAP ? 3 : 2;
		gpuvm_bind_queue_stats(q, &st);
		CHECK_EQ(st.jobs_submitted, nr_jobs);
		CHECK_EQ(st.jobs_done, 1);
		CHECK_EQ(st.requests, w.nr_reqs);
		if (mode == GPUVM_BIND_IMMEDIATE) {
			CHECK_EQ(st.reserved_vas, reserved_vas +
				 (w.count[0] * 3));
			CHECK(st.reserved_bytes > 0);
			CHECK(st.reserved_bytes <
			      1024 * (w.nr_reqs - w.count[0]));
			printf("  %s: %zu bytes reserved for %u pending "
			       "requests (%zu per request)\n", what,
			       st.reserved_bytes, w.nr_reqs - w.count[0],
			       st.reserved_bytes / (w.nr_reqs - w.count[0]));
		}
		CHECK(st.reserved_peak >= st.reserved_bytes);
		gpuvm_lock(vm);
		check_model(vm, mode == GPUVM_BIND_IMMEDIATE ? &w.after0 :
			    &w.final, &b, false, what);
		CHECK_EQ(mt_validate(gpuvm_tree(vm)), 0);
		gpuvm_unlock(vm);
		CHECK_EQ(atomic_load(&d.begins), 1);

		atomic_store(&d.inject, true);
		CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	}
	for (j = 0; j < nr_jobs; j++)
		bad_status += wait_status(out[j]) != 1;
	CHECK_EQ(bad_status, 0);
	atomic_store(&stop, true);
	for (i = 0; i < nreaders; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(rd[i].bad, 0);
		CHECK_EQ(rd[i].reserved_bad, 0);
		lookups += rd[i].lookups;
		hits += rd[i].hits;
	}
	atomic_store(&d.inject, false);

	CHECK_EQ(forbidden_allocs(), forbidden0);
	CHECK_EQ(atomic_load(&d.begins), nr_jobs);
	CHECK_EQ(atomic_load(&d.ends), nr_jobs);
	CHECK_EQ(atomic_load(&d.bad_nesting), 0);
	CHECK_EQ(atomic_load(&d.shows_bad), 0);
	CHECK_EQ(atomic_load(&d.leaving_bad), 0);
	compare_ops(d.log, atomic_load(&d.ops), w.exp, w.nexp, what);
	CHECK_EQ(gpuvm_unusable(vm), 0);

	/* The worker signals a job's fence before it cleans up after it:
	 * stop it so that the last job's cleanup is done. */
	gpuvm_bind_queue_stop(q);
	gpuvm_bind_queue_stats(q, &st);
	CHECK_EQ(st.jobs_done, nr_jobs);
	CHECK_EQ(st.jobs_failed, 0);
	CHECK_EQ(st.reserved_bytes, 0);
	if (mode == GPUVM_BIND_IMMEDIATE) {
		CHECK_EQ(st.reserved_vas, 3 * w.maps + 2 * w.unmaps);
		CHECK_EQ(st.used_vas, w.made);
	}

	gpuvm_lock(vm);
	if (check_model(vm, &w.final, &b, true, what))
		fprintf(stderr, "  replay: MT_SEED=%" PRIu64 "\n", seed);
	check_tidy(vm, what);
	gpuvm_unlock(vm);
	rcu_wait_frees();
	CHECK_EQ(va_live() - lb.va, model_count(&w.final));

	printf("  %s: %u jobs, %u requests, %ld ops, %.2f s", what, nr_jobs,
	       w.nr_reqs, w.nexp, now_s() - t0);
	if (nreaders)
		printf(", %ld lookups (%ld hits)", lookups, hits);
	printf("\n");

	gpuvm_bind_queue_destroy(q);
	for (j = 0; j < nr_jobs; j++)
		gpuvm_fence_put(out[j]);
	gpuvm_fence_put(user);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, what);
	free(d.log);
	free(out);
	free(rd);
	free(th);
	workload_free(&w);
}

/* ---- 4. A submit failing at each allocation in turn ----------------------- */

struct snap_va {
	const struct gpuva *va;
	uint64_t addr, range, off;
	const void *bo, *vm_bo;
	uint32_t flags;
};

struct snap_slot {
	unsigned long index, last;
	const void *entry;
};

struct snap {
	long n;
	struct snap_va *v;
	long nslots;
	struct snap_slot *slots;	/* the tree's ranges, placeholders too */
	unsigned long count;
	const struct gpuvm_bo *vm_bo[NR_BOS];
	long nlisted[NR_BOS];
	const struct gpuva **listed[NR_BOS];	/* in list order */
	long va_live, vm_bo_live;
	size_t nodes;
	bool settled;			/* va_live and nodes taken */
};

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(const void *const *)a;
	uintptr_t y = (uintptr_t)*(const void *const *)b;

	return x < y ? -1 : x > y;
}

/* Outside the VM lock. @settle: wait for RCU frees and count mappings and
 * tree nodes too (slow: a grace period or two). */
static void snap_take(struct snap *s, struct gpuvm *vm, struct bos *b,
		      bool settle)
{
	struct gpuva *va;
	int i;

	memset(s, 0, sizeof(*s));
	if (settle) {
		s->nodes = nodes_settled();
		s->va_live = va_live();
		s->settled = true;
	}
	s->vm_bo_live = vm_bo_live();
	gpuvm_lock(vm);
	s->count = gpuvm_mapping_count(vm);
	s->v = calloc(s->count + 1, sizeof(*s->v));
	gpuvm_for_each_va(va, vm) {
		if (s->n < (long)s->count)
			s->v[s->n] = (struct snap_va){
				va, va->va.addr, va->va.range, va->bo_offset,
				va->bo, va->vm_bo, va->flags,
			};
		s->n++;
	}
	{
		MA_STATE(mas, gpuvm_tree(vm), 0, 0);
		void *entry;
		long n = 0;

		mas_for_each(&mas, entry, ULONG_MAX)
			n++;
		s->slots = calloc(n + 1, sizeof(*s->slots));
		mas_set(&mas, 0);
		mas_for_each(&mas, entry, ULONG_MAX)
			if (s->nslots < n)
				s->slots[s->nslots++] = (struct snap_slot){
					mas.index, mas.last, entry };
	}
	for (i = 0; i < NR_BOS; i++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(vm, &b->h[i]);
		long n = 0;

		s->vm_bo[i] = vm_bo;
		if (!vm_bo)
			continue;
		gpuvm_bo_for_each_va(va, vm_bo)
			n++;
		s->listed[i] = calloc(n + 1, sizeof(*s->listed[i]));
		gpuvm_bo_for_each_va(va, vm_bo)
			s->listed[i][s->nlisted[i]++] = va;
		gpuvm_bo_put(vm_bo);
	}
	gpuvm_unlock(vm);
}

static void snap_free(struct snap *s)
{
	int i;

	free(s->v);
	free(s->slots);
	for (i = 0; i < NR_BOS; i++)
		free(s->listed[i]);
}

/*
 * @s and @t are the same: mappings (pointers and fields), counts, vm_bo
 * lists (as sets; a different order is reported in *@reordered), the
 * mappings and vm_bos allocated. (Tree nodes are compared by the caller:
 * undoing a store need not give back the same tree shape.)
 */
/* The mappings' ranges only (placeholders read as free), adjacent ranges
 * of the same mapping merged; in place. */
static long slots_merged(struct snap_slot *v, long n)
{
	long i, m = 0;

	for (i = 0; i < n; i++) {
		if (xa_is_zero(v[i].entry))
			continue;
		if (m && v[m - 1].entry == v[i].entry &&
		    v[m - 1].last + 1 == v[i].index)
			v[m - 1].last = v[i].last;
		else
			v[m++] = v[i];
	}
	return m;
}

static long snap_compare(struct snap *s, struct snap *t, const char *what,
			 long *reordered, bool exact_slots)
{
	long bad = 0, i;
	int k;

	if (!exact_slots) {
		s->nslots = slots_merged(s->slots, s->nslots);
		t->nslots = slots_merged(t->slots, t->nslots);
	}

	if (s->n != t->n || s->count != t->count) {
		fprintf(stderr, "  %s: %ld mappings (count %lu), before %ld "
			"(count %lu)\n", what, t->n, t->count, s->n, s->count);
		bad++;
	}
	for (i = 0; i < s->n && i < t->n && i < (long)s->count &&
		    i < (long)t->count; i++)
		if (memcmp(&s->v[i], &t->v[i], sizeof(s->v[i]))) {
			if (bad++ < 3)
				fprintf(stderr, "  %s: mapping %ld: %p [%#"
					PRIx64 ", +%#" PRIx64 ") now %p [%#"
					PRIx64 ", +%#" PRIx64 ")\n", what, i,
					(void *)s->v[i].va, s->v[i].addr,
					s->v[i].range, (void *)t->v[i].va,
					t->v[i].addr, t->v[i].range);
		}
	/* The tree's ranges too: pre-splits undone, boundaries of other
	 * pending jobs kept. Without @exact_slots, placeholders do not
	 * count, nor a mapping's range split into several. */
	if (s->nslots != t->nslots ||
	    memcmp(s->slots, t->slots, s->nslots * sizeof(*s->slots))) {
		for (i = 0; i < s->nslots && i < t->nslots; i++)
			if (memcmp(&s->slots[i], &t->slots[i],
				   sizeof(s->slots[i])))
				break;
		fprintf(stderr, "  %s: %ld tree ranges, before %ld; first "
			"difference at range %ld: [%#lx, %#lx] %p, before "
			"[%#lx, %#lx] %p\n", what, t->nslots, s->nslots, i,
			i < t->nslots ? t->slots[i].index : 0,
			i < t->nslots ? t->slots[i].last : 0,
			i < t->nslots ? t->slots[i].entry : NULL,
			i < s->nslots ? s->slots[i].index : 0,
			i < s->nslots ? s->slots[i].last : 0,
			i < s->nslots ? s->slots[i].entry : NULL);
		bad++;
	}
	for (k = 0; k < NR_BOS; k++) {
		if (s->vm_bo[k] != t->vm_bo[k] ||
		    s->nlisted[k] != t->nlisted[k]) {
			fprintf(stderr, "  %s: bo %d: vm_bo %p with %ld, before "
				"%p with %ld\n", what, k, (void *)t->vm_bo[k],
				t->nlisted[k], (void *)s->vm_bo[k],
				s->nlisted[k]);
			bad++;
			continue;
		}
		if (!s->nlisted[k])
			continue;
		if (memcmp(s->listed[k], t->listed[k],
			   s->nlisted[k] * sizeof(void *))) {
			size_t sz = s->nlisted[k] * sizeof(void *);
			const void **x = malloc(sz), **y = malloc(sz);

			if (!x || !y)
				exit(2);
			(*reordered)++;
			memcpy(x, s->listed[k], sz);
			memcpy(y, t->listed[k], sz);
			qsort(x, s->nlisted[k], sizeof(void *), cmp_ptr);
			qsort(y, s->nlisted[k], sizeof(void *), cmp_ptr);
			if (memcmp(x, y, sz)) {
				fprintf(stderr, "  %s: bo %d: other mappings "
					"listed\n", what, k);
				bad++;
			}
			free(x);
			free(y);
		}
	}
	if ((s->settled && t->settled && s->va_live != t->va_live) ||
	    s->vm_bo_live != t->vm_bo_live) {
		fprintf(stderr, "  %s: mappings %+ld, vm_bos %+ld after a "
			"failed submit\n", what, t->va_live - s->va_live,
			t->vm_bo_live - s->vm_bo_live);
		bad++;
	}
	CHECK_EQ(bad, 0);
	return bad;
}

/*
 * The sweep's VA space: job 0 run, then jobs 1 .. j - 1 run one by one or
 * (@pending) left queued with the worker stopped.
 */
struct sweep_env {
	enum gpuvm_bind_mode mode;
	bool pending;
	const struct workload *w;
	struct gpuvm *vm;
	struct bos *b;			/* external BOs, shared by the spaces */
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *outs[64];
	uint32_t nr_out;
	const char *what;
};

/* Run job @j (worker started and stopped again): it must succeed. */
static void sweep_run(struct sweep_env *e, struct gpuvm_fence *f)
{
	CHECK_EQ(gpuvm_bind_queue_start(e->q), 0);
	CHECK_EQ(wait_status(f), 1);
	gpuvm_fence_put(f);
	gpuvm_bind_queue_stop(e->q);
}

static void sweep_build(struct sweep_env *e, uint32_t j)
{
	uint32_t i;

	e->vm = vm_new("sweep");
	drv_init(&e->d, e->vm, e->mode, NULL, 0);
	e->q = queue_new(e->vm, e->mode, &e->d);
	e->nr_out = 0;
	for (i = 0; i < j; i++) {
		struct gpuvm_fence *f = submit(e->q, &e->w->reqs[e->w->first[i]],
					       e->w->count[i], NULL, 0);

		if (!f)
			exit(2);
		if (i && e->pending)
			e->outs[e->nr_out++] = f;
		else
			sweep_run(e, f);
	}
}

/*
 * Run what is pending and check the space against @m (the model after
 * every job submitted), then tear it down.
 */
static void sweep_teardown(struct sweep_env *e, const struct model *m)
{
	uint32_t i;

	CHECK_EQ(gpuvm_bind_queue_start(e->q), 0);
	for (i = 0; i < e->nr_out; i++) {
		CHECK_EQ(wait_status(e->outs[i]), 1);
		gpuvm_fence_put(e->outs[i]);
	}
	gpuvm_bind_queue_destroy(e->q);
	gpuvm_lock(e->vm);
	check_model(e->vm, m, e->b, true, e->what);
	check_tidy(e->vm, e->what);
	gpuvm_unlock(e->vm);
	unmap_all(e->vm);
	vm_put_last(e->vm);
}

/*
 * After a submit that succeeded with mt_fault_inject(@k) armed: true if
 * the injected failure is still to come (the submit made fewer than @k
 * allocations), false if the submit met it and went on (a failure it may
 * tolerate, such as tidying). Disarms the injection.
 */
static bool injection_left(long k)
{
	long p;

	for (p = 0; p <= k; p++) {
		struct gpuvm_fence *probe = gpuvm_fence_create();

		if (!probe)
			break;
		gpuvm_fence_put(probe);
	}
	mt_fault_inject(0);
	return p <= k;
}

/*
 * 4. Submit job j with its k-th allocation failing, for k = 1, 2, ...
 * until the submit makes fewer than k allocations. Each failed submit must
 * leave everything as it was: the mappings (pointers and fields), the
 * tree's ranges, vm_bo lists, counts, allocations. A submit that meets
 * the failure and still succeeds (it may tolerate failures, e.g. when
 * tidying) must have done its job: its space is checked after running
 * everything, and the sweep goes on on a space rebuilt as it was.
 * @pending: the swept jobs stay queued (the worker stopped) and run at the
 * end, so each failing submit unwinds next to pending jobs' pre-splits
 * (immediate) or changes (staged). Otherwise each job runs after its sweep.
 */
static void test_submit_fault_sweep(enum gpuvm_bind_mode mode, uint64_t seed,
				    bool pending)
{
	long sweeps = env_long("MT_BIND_SWEEPS", 3);
	struct leak_base lb = leak_base();
	struct workload w;
	struct bos b;
	struct sweep_env e;
	struct model before, after;
	uint32_t nr_reqs = 8, j, i;
	long total_points = 0, reordered = 0, reshaped = 0, tolerated = 0;
	/* tree nodes a failed submit may leave over (a different shape;
	 * more where it tidies next to pending pre-splits) */
	size_t slack = pending && mode == GPUVM_BIND_IMMEDIATE ? 8 : 4;
	char what[96];

	if (sweeps > 60)
		sweeps = 60;
	snprintf(what, sizeof(what), "submit sweep %s%s seed %" PRIu64,
		 mode_name(mode), pending ? " pending" : "", seed);
	bos_init(&b, NULL);
	workload_gen(&w, seed, &b, sweeps + 1, nr_reqs, true);
	e = (struct sweep_env){ .mode = mode, .pending = pending, .w = &w,
				.b = &b, .what = what };

	sweep_build(&e, 1);
	for (j = 1; j <= sweeps; j++) {
		struct gpuvm_fence *f = NULL;
		struct snap s;
		long k;
		int ret = -ENOMEM;

		/* The models before and after job j, as the space shows it
		 * while jobs before it may be pending. */
		before = w.after0;
		for (i = w.count[0]; i < w.first[j]; i++) {
			long made = 0, n = 0;

			model_apply(&before, i, NULL, &n, &made);
		}
		after = before;
		for (i = w.first[j]; i < w.first[j] + w.count[j]; i++) {
			long made = 0, n = 0;

			model_apply(&after, i, NULL, &n, &made);
		}
		snap_take(&s, e.vm, &b, true);
		for (k = 1; k < 100000; k++) {
			struct model shown = pending &&
				mode == GPUVM_BIND_IMMEDIATE ? w.after0 : before;
			long reordered_before = reordered;
			struct snap t;
			char at[128];

			f = (struct gpuvm_fence *)&f;	/* untouched on error */
			mt_fault_inject(k);
			ret = gpuvm_bind_submit(e.q, &w.reqs[w.first[j]],
						w.count[j], NULL, 0, &f);
			if (ret == 0) {
				if (injection_left(k))
					break;		/* done with job j */
				/* It met the failure and went on: check
				 * its work, then go on from the start. */
				tolerated++;
				if (pending)
					e.outs[e.nr_out++] = f;
				else
					sweep_run(&e, f);
				sweep_teardown(&e, &after);
				snap_free(&s);
				sweep_build(&e, j);
				snap_take(&s, e.vm, &b, true);
				continue;
			}
			mt_fault_inject(0);
			total_points++;
			snprintf(at, sizeof(at), "%s job %u, allocation %ld",
				 what, j, k);
			CHECK_EQ(ret, -ENOMEM);
			CHECK(f == (struct gpuvm_fence *)&f);
			CHECK_EQ(gpuvm_unusable(e.vm), 0);
			/* Memory is counted at every 8th failure: a leak
			 * would grow from one failure to the next. */
			snap_take(&t, e.vm, &b, total_points % 8 == 0);
			/* Nodes: no more than a different shape costs. */
			if (t.settled) {
				reshaped += t.nodes != s.nodes;
				CHECK(t.nodes <= s.nodes + slack);
			}
			/* Immediate jobs pending: a failed submit may leave
			 * a pending job's placeholder split where it
			 * pre-split, or turn some into free space (tidied
			 * when that job is done). */
			if (snap_compare(&s, &t, at, &reordered,
					 !pending || mode == GPUVM_BIND_STAGED) ||
			    (t.settled && t.nodes > s.nodes + slack))
				fprintf(stderr, "  replay: MT_SEED=%" PRIu64
					" (job %u, mt_fault_inject(%ld)); "
					"nodes %zu, before %zu\n", seed, j,
					k, t.nodes, s.nodes);
			gpuvm_lock(e.vm);
			if (!pending || mode == GPUVM_BIND_STAGED)
				check_tidy(e.vm, at);
			check_model(e.vm, &shown, &b, !pending, at);
			gpuvm_unlock(e.vm);
			if (reordered != reordered_before) {
				/* compare later failures with this order */
				t.va_live = s.va_live;
				t.nodes = s.nodes;
				t.settled = s.settled;
				snap_free(&s);
				s = t;
			} else {
				snap_free(&t);
			}
		}
		snap_free(&s);
		CHECK_EQ(ret, 0);
		if (ret)
			break;
		if (pending) {
			e.outs[e.nr_out++] = f;
		} else {
			sweep_run(&e, f);
			gpuvm_lock(e.vm);
			check_model(e.vm, &after, &b, true, what);
			check_tidy(e.vm, what);
			gpuvm_unlock(e.vm);
		}
	}
	sweep_teardown(&e, &after);
	printf("  %s: %u jobs swept over %ld failing allocations, %ld met "
	       "and tolerated", what, (unsigned int)sweeps, total_points,
	       tolerated);
	if (reordered)
		printf(" (a vm_bo's list order changed %ld times)", reordered);
	if (reshaped)
		printf(" (the tree's node count changed %ld times)", reshaped);
	printf("\n");
	CHECK(total_points >= sweeps * nr_reqs);
	bos_fini(&b);
	check_no_leak(&lb, what);
	workload_free(&w);
}

/* ---- 5. A failing run step ------------------------------------------------- */

static void test_run_failure(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("poison");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_bind_req r1[2], r2[3], r3, r4;
	struct gpuvm_fence *f1, *f2, *f3, *f4, *f5 = NULL, *f6;
	struct gpuvm_bind_stats st;
	char what[64];

	snprintf(what, sizeof(what), "run failure %s", mode_name(mode));
	bos_init(&b, vm);
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);

	r1[0] = map_req(0, 32, &b.h[1], 0, req_flags(0, false));
	r1[1] = map_req(64, 32, &b.h[2], 0, req_flags(1, false));
	/* J2: REMAP (op 3), MAP (op 4, fails), then more. */
	r2[0] = map_req(8, 4, &b.h[3], 0, req_flags(2, false));
	r2[1] = unmap_req(70, 4);
	r2[2] = map_req(200, 4, NULL, 0, req_flags(4, true));
	r3 = map_req(100, 4, &b.h[4], 0, req_flags(5, false));
	r4 = unmap_req(0, 16);
	d.fail_at = 4;
	f1 = submit(q, r1, 2, NULL, 0);
	f2 = submit(q, r2, 3, NULL, 0);
	f3 = submit(q, &r3, 1, NULL, 0);
	f4 = submit(q, &r4, 1, NULL, 0);
	f6 = submit(q, &r3, 1, &f2, 1);	/* waits for the failed job */
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(wait_status(f1), 1);
	CHECK_EQ(wait_status(f2), -EIO);
	CHECK_EQ(wait_status(f3), -ENODEV);
	CHECK_EQ(wait_status(f4), -ENODEV);
	/* Both its in-fence's error and -ENODEV describe it. */
	CHECK(wait_status(f6) == -ENODEV || gpuvm_fence_status(f6) == -EIO);
	CHECK_EQ(gpuvm_unusable(vm), -EIO);
	CHECK_EQ(atomic_load(&d.ops), 4);	/* J3, J4 never ran */
	CHECK_EQ(atomic_load(&d.begins), 2);
	CHECK_EQ(gpuvm_bind_submit(q, &r3, 1, NULL, 0, &f5), -ENODEV);
	CHECK(f5 == NULL);
	gpuvm_bind_queue_stop(q);
	gpuvm_bind_queue_stats(q, &st);
	CHECK_EQ(st.jobs_done, 5);
	CHECK_EQ(st.jobs_failed, 4);
	CHECK_EQ(st.reserved_bytes, 0);
	gpuvm_lock(vm);
	check_consistent(vm, &b);
	check_tidy(vm, what);
	/* J1 ran whole. */
	CHECK(gpuvm_lookup(vm, p2a(20)) != NULL);
	CHECK(gpuvm_lookup(vm, p2a(90)) != NULL);
	/* J4 did not run: its range is still mapped (staged: applied at
	 * submit). */
	CHECK_EQ(gpuvm_lookup(vm, p2a(2)) != NULL,
		 mode == GPUVM_BIND_IMMEDIATE);
	/* Immediate: J3 never touched the space. Staged: it was applied at
	 * submit, before the failure. */
	CHECK_EQ(gpuvm_lookup(vm, p2a(100)) != NULL, mode == GPUVM_BIND_STAGED);
	gpuvm_unlock(vm);

	gpuvm_bind_queue_destroy(q);
	gpuvm_fence_put(f1);
	gpuvm_fence_put(f2);
	gpuvm_fence_put(f3);
	gpuvm_fence_put(f4);
	gpuvm_fence_put(f6);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, what);
}

/* ---- 6. An in-fence signalled with an error ---------------------------- */

static void test_in_fence_error(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("in-error");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *user = gpuvm_fence_create(), *f0, *f1, *f2, *f3;
	struct gpuvm_bind_req r0 = map_req(0, 64, &b.h[1], 0,
					   req_flags(0, false));
	struct gpuvm_bind_req r1[3], r2, r3;
	char what[64];

	snprintf(what, sizeof(what), "in-fence error %s", mode_name(mode));
	bos_init(&b, vm);
	r0.bo = &b.h[1];
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	f0 = submit(q, &r0, 1, NULL, 0);
	CHECK_EQ(wait_status(f0), 1);

	/* J1 waits for the user fence: splits the mapping in three ways. */
	r1[0] = map_req(10, 4, &b.h[2], 0, req_flags(1, false));
	r1[1] = unmap_req(30, 10);
	r1[2] = map_req(100, 8, NULL, 0, req_flags(3, true));
	r2 = map_req(200, 4, &b.h[3], 0, req_flags(4, false));
	r3 = map_req(50, 2, &b.h[2], 0, req_flags(5, false));
	f1 = submit(q, r1, 3, &user, 1);
	f2 = submit(q, &r2, 1, NULL, 0);
	gpuvm_fence_signal(user, -EPIPE);
	CHECK_EQ(wait_status(f1), -EPIPE);
	if (mode == GPUVM_BIND_IMMEDIATE) {
		/* J1 unrun: the VA space is as J0 left it, and usable. */
		CHECK_EQ(wait_status(f2), 1);
		CHECK_EQ(gpuvm_unusable(vm), 0);
		gpuvm_bind_queue_stop(q);	/* J2's cleanup done */
		gpuvm_lock(vm);
		CHECK(gpuva_find(vm, p2a(0), 64 * PG) != NULL);
		CHECK(gpuvm_lookup(vm, p2a(100)) == NULL);
		CHECK(gpuva_find(vm, p2a(200), 4 * PG) != NULL);
		CHECK_EQ(gpuvm_mapping_count(vm), 2);
		check_tidy(vm, what);
		check_consistent(vm, &b);
		gpuvm_unlock(vm);
		CHECK_EQ(gpuvm_bind_queue_start(q), 0);
		f3 = submit(q, &r3, 1, NULL, 0);
		CHECK_EQ(wait_status(f3), 1);
		CHECK_EQ(atomic_load(&d.ops), 1 + 1 + 2);
	} else {
		/* Staged: the space had changed at submit; it is unusable. */
		CHECK_EQ(wait_status(f2), -ENODEV);
		CHECK_EQ(gpuvm_unusable(vm), -EPIPE);
		f3 = NULL;
		CHECK_EQ(gpuvm_bind_submit(q, &r3, 1, NULL, 0, &f3), -ENODEV);
		CHECK_EQ(atomic_load(&d.ops), 1);
		gpuvm_bind_queue_stop(q);
		gpuvm_lock(vm);
		check_tidy(vm, what);
		check_consistent(vm, &b);
		gpuvm_unlock(vm);
	}
	gpuvm_bind_queue_destroy(q);
	gpuvm_fence_put(user);
	gpuvm_fence_put(f0);
	gpuvm_fence_put(f1);
	gpuvm_fence_put(f2);
	gpuvm_fence_put(f3);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, what);
}

/* ---- 7. Teardown with jobs pending -------------------------------------------- */

static void test_destroy_pending(enum gpuvm_bind_mode mode, uint64_t seed)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("destroy");
	struct workload w;
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *f, *out[20];
	uint32_t j, nr_jobs = 20;
	long bad = 0;
	char what[96];

	snprintf(what, sizeof(what), "destroy pending %s seed %" PRIu64,
		 mode_name(mode), seed);
	bos_init(&b, vm);
	workload_gen(&w, seed, &b, nr_jobs, 10, false);
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	f = submit(q, w.reqs, w.count[0], NULL, 0);
	CHECK_EQ(wait_status(f), 1);
	gpuvm_fence_put(f);
	gpuvm_bind_queue_stop(q);

	for (j = 1; j < nr_jobs; j++)
		out[j] = submit(q, &w.reqs[w.first[j]], w.count[j],
				j > 1 ? &out[j - 1] : NULL, j > 1);
	gpuvm_bind_queue_destroy(q);
	for (j = 1; j < nr_jobs; j++) {
		bad += gpuvm_fence_wait(out[j], 0) != 0 ||
		       gpuvm_fence_status(out[j]) != -ECANCELED;
		gpuvm_fence_put(out[j]);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(atomic_load(&d.begins), 1);
	CHECK_EQ(gpuvm_unusable(vm), 0);
	gpuvm_lock(vm);
	/* Immediate: as job 0 left it (pre-splits released). Staged: the
	 * changes made at submit stay. */
	check_model(vm, mode == GPUVM_BIND_IMMEDIATE ? &w.after0 : &w.final,
		    &b, true, what);
	check_tidy(vm, what);
	gpuvm_unlock(vm);
	rcu_wait_frees();
	CHECK_EQ(va_live() - lb.va, gpuvm_mapping_count(vm));
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, what);
	workload_free(&w);
}

struct destroyer {
	struct gpuvm_bind_queue *q;
	atomic_bool done;
};

static void *destroy_thread(void *arg)
{
	struct destroyer *x = arg;

	gpuvm_bind_queue_destroy(x->q);
	atomic_store(&x->done, true);
	return NULL;
}

/*
 * Destroy while the worker waits for the in-fence of the job it took: the
 * stop interrupts the wait (the job has not started), so every job is
 * cancelled. Run in a thread, so that a destroy that would wait for the
 * fence shows as a failure rather than a hang.
 */
static void test_destroy_blocked(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("destroy-blocked");
	struct bos b;
	struct drv d;
	struct destroyer x;
	struct gpuvm_fence *user = gpuvm_fence_create(), *f1, *f2, *f3;
	struct gpuvm_bind_req r1 = map_req(0, 8, NULL, 0, req_flags(0, true));
	struct gpuvm_bind_req r2 = map_req(4, 8, NULL, 0, req_flags(1, true));
	struct gpuvm_bind_req r3 = unmap_req(0, 2);
	pthread_t th;
	bool returned_alone;
	long i;

	bos_init(&b, vm);
	drv_init(&d, vm, mode, NULL, 0);
	x.q = queue_new(vm, mode, &d);
	atomic_store(&x.done, false);
	CHECK_EQ(gpuvm_bind_queue_start(x.q), 0);
	f1 = submit(x.q, &r1, 1, &user, 1);
	f2 = submit(x.q, &r2, 1, NULL, 0);
	f3 = submit(x.q, &r3, 1, NULL, 0);
	sleep_ms(20);			/* the worker takes J1 and waits */
	pthread_create(&th, NULL, destroy_thread, &x);
	for (i = 0; i < 500 && !atomic_load(&x.done); i++)
		sleep_ms(4);
	returned_alone = atomic_load(&x.done);
	CHECK(returned_alone);
	if (!returned_alone)
		fprintf(stderr, "  destroy (%s) waited for the in-fence of the "
			"job the worker had taken\n", mode_name(mode));
	gpuvm_fence_signal(user, 0);
	pthread_join(th, NULL);
	if (returned_alone)
		CHECK_EQ(gpuvm_fence_status(f1), -ECANCELED);
	CHECK_EQ(gpuvm_fence_status(f2), -ECANCELED);
	CHECK_EQ(gpuvm_fence_status(f3), -ECANCELED);
	CHECK_EQ(atomic_load(&d.begins), !returned_alone);
	gpuvm_lock(vm);
	check_tidy(vm, "destroy blocked");
	check_consistent(vm, &b);
	if (mode == GPUVM_BIND_IMMEDIATE)
		CHECK_EQ(gpuvm_mapping_count(vm), !returned_alone);
	else		/* staged: all three applied at submit */
		CHECK_EQ(gpuvm_mapping_count(vm), 2);
	gpuvm_unlock(vm);
	gpuvm_fence_put(user);
	gpuvm_fence_put(f1);
	gpuvm_fence_put(f2);
	gpuvm_fence_put(f3);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, "destroy blocked");
}

/* A stop interrupts a job waiting for its in-fences; it stays queued, and
 * runs after the next start once the fence is signalled. */
static void test_stop_while_waiting(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("stop-waiting");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *user = gpuvm_fence_create(), *f1, *f2;
	struct gpuvm_bind_req r1 = map_req(0, 8, NULL, 0, req_flags(0, true));
	struct gpuvm_bind_req r2 = map_req(4, 8, NULL, 0, req_flags(1, true));
	double t0;

	bos_init(&b, vm);
	drv_init(&d, vm, mode, NULL, 0);
	q = queue_new(vm, mode, &d);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	f1 = submit(q, &r1, 1, &user, 1);
	f2 = submit(q, &r2, 1, NULL, 0);
	sleep_ms(20);
	t0 = now_s();
	gpuvm_bind_queue_stop(q);
	CHECK(now_s() - t0 < 5);
	CHECK_EQ(gpuvm_fence_status(f1), 0);
	CHECK_EQ(gpuvm_fence_status(f2), 0);
	gpuvm_fence_signal(user, 0);
	CHECK_EQ(gpuvm_fence_wait(f1, 30 * 1000000), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&d.begins), 0);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(wait_status(f2), 1);
	CHECK_EQ(gpuvm_fence_status(f1), 1);
	CHECK_EQ(atomic_load(&d.begins), 2);
	gpuvm_bind_queue_stop(q);
	gpuvm_lock(vm);
	CHECK(gpuva_find(vm, p2a(0), 4 * PG) != NULL);
	CHECK(gpuva_find(vm, p2a(4), 8 * PG) != NULL);
	check_tidy(vm, "stop while waiting");
	gpuvm_unlock(vm);
	gpuvm_bind_queue_destroy(q);
	gpuvm_fence_put(user);
	gpuvm_fence_put(f1);
	gpuvm_fence_put(f2);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, "stop while waiting");
}

/* ---- 9. Reservation accounting ------------------------------------------------ */

static void test_reservation(void)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("reserve");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_bind_req r[5];
	struct gpuvm_bind_stats st, st1;
	struct gpuvm_fence *f1, *f2;

	bos_init(&b, vm);
	drv_init(&d, vm, GPUVM_BIND_IMMEDIATE, NULL, 0);
	q = queue_new(vm, GPUVM_BIND_IMMEDIATE, &d);
	gpuvm_bind_queue_stats(q, &st);
	CHECK_EQ(st.reserved_bytes, 0);
	CHECK_EQ(st.reserved_vas, 0);
	r[0] = map_req(0, 16, &b.h[1], 0, req_flags(0, false));
	r[1] = map_req(32, 16, &b.h[2], 0, req_flags(1, false));
	r[2] = unmap_req(4, 2);
	r[3] = unmap_req(40, 20);
	r[4] = unmap_req(100, 1);
	f1 = submit(q, r, 5, NULL, 0);
	gpuvm_bind_queue_stats(q, &st1);
	CHECK_EQ(st1.reserved_vas, 2 * 3 + 3 * 2);
	CHECK(st1.reserved_bytes > 0);
	CHECK(st1.reserved_bytes < 5 * 1024);
	CHECK_EQ(st1.reserved_peak, st1.reserved_bytes);
	f2 = submit(q, r, 1, NULL, 0);
	gpuvm_bind_queue_stats(q, &st);
	CHECK_EQ(st.reserved_vas, 2 * 3 + 3 * 2 + 3);
	CHECK(st.reserved_bytes > st1.reserved_bytes);
	CHECK_EQ(st.reserved_peak, st.reserved_bytes);
	CHECK_EQ(gpuvm_bind_queue_start(q), 0);
	CHECK_EQ(wait_status(f2), 1);
	CHECK_EQ(wait_status(f1), 1);
	gpuvm_bind_queue_stop(q);
	gpuvm_bind_queue_stats(q, &st1);
	CHECK_EQ(st1.reserved_bytes, 0);
	CHECK_EQ(st1.reserved_peak, st.reserved_bytes);
	CHECK_EQ(st1.reserved_vas, 15);
	/* Mappings made: J1 MAP, MAP, REMAP keeping 2 pieces, REMAP keeping
	 * 1; J2 UNMAP, UNMAP (of the two pieces of [0, 16)), MAP. */
	CHECK_EQ(st1.used_vas, (1 + 1 + 2 + 1) + 1);
	CHECK_EQ(st1.jobs_done, 2);
	gpuvm_lock(vm);
	CHECK_EQ(gpuvm_mapping_count(vm), 2);
	check_tidy(vm, "reservation");
	gpuvm_unlock(vm);
	gpuvm_bind_queue_destroy(q);
	gpuvm_fence_put(f1);
	gpuvm_fence_put(f2);
	unmap_all(vm);
	vm_put_last(vm);
	bos_fini(&b);
	check_no_leak(&lb, "reservation");
}

/* ---- Bad arguments ---------------------------------------------------------- */

static void test_bad_submits(enum gpuvm_bind_mode mode)
{
	struct leak_base lb = leak_base();
	struct gpuvm *vm = vm_new("bad");
	struct gpuvm *other = vm_new("other");
	struct bos b;
	struct drv d;
	struct gpuvm_bind_queue *q;
	struct gpuvm_fence *f = NULL;
	struct gpuvm_bind_req ok = map_req(0, 1, NULL, 0, 0), bad[2];
	struct gpuvm_bo_handle priv_other;

	bos_init(&b, vm);
	gpuvm_bo_handle_init(&priv_other, 0, other);
	drv_init(&d, vm, mode, NULL, 0);
	CHECK_EQ(gpuvm_bind_queue_create(vm, (enum gpuvm_bind_mode)7, &drv_ops,
					 &d, &q), -EINVAL);
	q = queue_new(vm, mode, &d);
	CHECK_EQ(gpuvm_bind_submit(q, NULL, 1, NULL, 0, &f), -EINVAL);
	CHECK_EQ(gpuvm_bind_submit(q, &ok, 0, NULL, 0, &f), -EINVAL);
	CHECK_EQ(gpuvm_bind_submit(q, &ok, 1, NULL, 1, &f), -EINVAL);
	CHECK_EQ(gpuvm_bind_submit(q, &ok, 1, NULL, 0, NULL), -EINVAL);
	bad[0] = ok;
	bad[1] = map_req(RES_A - 1, 2, NULL, 0, 0);	/* into the reserve */
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	bad[1] = map_req(NR_PAGES - 1, 2, NULL, 0, 0);	/* off the end */
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	bad[1] = unmap_req(3, 0);
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	bad[1] = map_req(3, 1, &priv_other, 0, 0);	/* private elsewhere */
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	bad[1] = map_req(3, 4, &b.h[0], BO_PAGES - 2, 0); /* BO too small */
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	bad[1] = ok;
	bad[1].op = (enum gpuvm_bind_op)9;
	CHECK_EQ(gpuvm_bind_submit(q, bad, 2, NULL, 0, &f), -EINVAL);
	CHECK(f == NULL);
	gpuvm_lock(vm);
	CHECK_EQ(gpuvm_mapping_count(vm), 0);
	check_tidy(vm, "bad submits");
	gpuvm_unlock(vm);
	gpuvm_bind_queue_destroy(q);
	CHECK_EQ(gpuvm_bo_handle_fini(&priv_other), 0);
	unmap_all(vm);
	vm_put_last(vm);
	vm_put_last(other);
	bos_fini(&b);
	check_no_leak(&lb, "bad submits");
}

/* MT_BIND_ONLY=word runs only the scenarios whose name contains it. */
static bool want(const char *name)
{
	const char *only = getenv("MT_BIND_ONLY");

	return !only || !*only || strstr(name, only);
}

int main(void)
{
	static const enum gpuvm_bind_mode modes[2] = {
		GPUVM_BIND_IMMEDIATE, GPUVM_BIND_STAGED,
	};
	uint64_t seed;
	double t0 = now_s();
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	seed = harness_seed("test_gpuvm_bind");
	urcu_memb_register_thread();
	for (i = 0; i < 2; i++) {
		enum gpuvm_bind_mode m = modes[i];

		if (want("bad"))
			test_bad_submits(m);
		if (want("in-fences"))
			test_in_fences(m);
		if (want("cross"))
			test_cross_queue(m, false);
		if (want("cross"))
			test_cross_queue(m, true);
		if (want("stop"))
			test_stop_start(m);
		if (want("tidy")) {
			test_tidy_overlapping(m, false);
			test_tidy_overlapping(m, true);
			test_tidy_unmaps(m);
		}
		if (want("workload"))
			run_workload(m, seed + i, false);
		if (want("concurrent"))
			run_workload(m, seed + 10 + i, true);
		if (want("sweep")) {
			test_submit_fault_sweep(m, seed + 20 + i, false);
			test_submit_fault_sweep(m, seed + 40 + i, true);
		}
		if (want("run-failure"))
			test_run_failure(m);
		if (want("in-error"))
			test_in_fence_error(m);
		if (want("destroy"))
			test_destroy_pending(m, seed + 30 + i);
		if (want("destroy"))
			test_destroy_blocked(m);
		if (want("stop"))
			test_stop_while_waiting(m);
	}
	if (want("reservation"))
		test_reservation();
	printf("  total %.2f s\n", now_s() - t0);
	urcu_memb_unregister_thread();
	return harness_finish();
}
