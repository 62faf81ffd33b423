/* SPDX-License-Identifier: MIT */
/*
 * The VA manager's workloads (libmapletree-gpuvm): a VA space of 2^47
 * bytes holding n mappings of 64 KiB, packed back to back in 8 clusters
 * 8 TiB apart, of 1024 private BOs (mapping i maps BO i % 1024 at offset
 * (i / 1024) * 64 KiB, so every BO is mapped once, in order). The space is
 * built with gpuva_insert() + gpuva_link() in address order (timed, as a
 * rate). Then, each figure the median over many operations:
 *
 *   lookup        gpuvm_lookup() of a random address inside a random
 *                 mapping, one mt_rcu_read_lock() section per lookup, and
 *                 one section per batch of 1000 (timed per batch of 1000);
 *                 each result is checked to cover the address. For
 *                 reference: lookups among 64 neighbouring mappings (the
 *                 nodes stay in the cache), and mtree_load() on the same
 *                 tree (the walk alone, no read of the struct gpuva)
 *   split         a map request of 16 KiB (another BO) strictly inside one
 *                 mapping: gpuvm_sm_map_ops_create() + apply (REMAP with
 *                 prev and next, then MAP) + gpuva_ops_free(); also the
 *                 three phases timed apart, and the callback form
 *                 (gpuvm_sm_map() whose steps apply each op)
 *   cover16       a map request of 1 MiB (another BO) covering 16 mappings
 *                 exactly: 16 UNMAP + MAP, created, applied, freed (also
 *                 given per op, / 17)
 *   unmap_mid     gpuvm_sm_unmap_ops_create() of 16 KiB in the middle of
 *                 one mapping (REMAP with prev and next), applied, freed
 *   reference     one random memory access (a pointer chase through
 *                 128 MiB), to read the lookups against: a lookup at 1M
 *                 mappings misses the cache on its last levels and on the
 *                 struct gpuva
 *   memory        bytes per mapping: tree nodes (mt_cache_stats()
 *                 nodes_live * 256, after the build and after the timed
 *                 mutations), struct gpuva, the vm_bo share
 *
 * Every mutation is timed alone with clock_gettime() (its own cost, printed,
 * is not subtracted), under the VM lock, and ends with gpuvm_unlock() +
 * gpuvm_lock() inside the timing: a driver releases the lock after a bind,
 * and the unlock merges the ranges the request unmapped. The
 * five kinds (split, split by phases, split by callbacks, cover16,
 * unmap_mid) take turns, as the four lookup forms do batch by batch, so
 * that the machine's noise falls on all alike. Each request picks a random
 * mapping. After it, the ops it produced and the result are checked and
 * the range is put back as it was (unmap the range, re-insert the original
 * mappings), untimed, so the space stays at n mappings of the same layout
 * throughout (though not in the same tree nodes: see "tree nodes after
 * mutations"). The same runs at n/10 mappings give the scaling ratios, and
 * a space made with GPUVM_NO_VA_ALLOCATOR (a tree without gap tracking)
 * gives the lookups without the allocator.
 *
 * Every figure is the median of the per-run medians; ratios are taken
 * within a run. Everything is freed at the end (every mapping removed,
 * every vm_bo put, gpuvm_put(), gpuvm_bo_handle_fini()), and the node
 * cache must be back to the live nodes it had before the space.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mapletree/gpuvm.h>
#include <mapletree/maple_tree.h>

#include "bench.h"

#define KIB		1024ULL
#define VA_SPACE	(1ULL << 47)
#define MAP_SIZE	(64 * KIB)
#define NR_BOS		1024UL
#define NR_CLUSTERS	8UL
#define CLUSTER_BASE	(1ULL << 32)
#define CLUSTER_STRIDE	(1ULL << 43)	/* 8 TiB */
#define SPLIT_OFF	(24 * KIB)	/* split and unmap_mid: 16 KiB here */
#define SPLIT_LEN	(16 * KIB)
#define GROUP		16UL		/* mappings cover16 replaces */
#define MUT_OPS		20000UL		/* timed requests per case per run */
#define LOOKUP_BATCH	1000UL
#define LOOKUP_BATCHES	300UL
#define LOCAL_WINDOW	64UL		/* mappings the local lookups hit */
#define CLOCK_SAMPLES	10000UL
#define NODE_BYTES	256.0		/* the node cache's node size */
#define MIN_N		1000UL

#define TARGET_MUT_NS	2000.0
#define TARGET_LOOKUP_NS 150.0

/* ---- Figures ------------------------------------------------------------ */

enum space_id { SP_LARGE, SP_SMALL, SP_NOVA, NR_SPACES };

static const char *const space_label[NR_SPACES] = {
	"default", "default", "no_va_alloc",
};
static const char *const space_structure[NR_SPACES] = {
	"gpuvm", "gpuvm", "gpuvm-no-va-alloc",
};

enum unit { U_NS, U_BYTES, U_RATIO };

enum sfig {
	SF_BUILD, SF_LOOKUP, SF_LOOKUP_BATCH, SF_LOOKUP_LOCAL, SF_LOOKUP_TREE,
	SF_SPLIT, SF_SPLIT_CREATE, SF_SPLIT_APPLY, SF_SPLIT_FREE, SF_SPLIT_CB,
	SF_COVER16, SF_COVER16_PER_OP, SF_UNMAP_MID, SF_TEARDOWN,
	SF_MEM_TREE, SF_MEM_TREE_AFTER, SF_MEM_GPUVA, SF_MEM_VMBO,
	SF_MEM_TOTAL,
	NR_SF
};

struct fig_desc {
	const char *key;	/* the result line's */
	const char *label;	/* the table's */
	enum unit unit;
	double target;		/* upper bound at the large n, or 0 */
};

static const struct fig_desc sfig_desc[NR_SF] = {
	[SF_BUILD] = { "build", "build: insert+link, ns/mapping", U_NS, 0 },
	[SF_LOOKUP] = { "lookup", "lookup, 1 RCU section each",
		U_NS, TARGET_LOOKUP_NS },
	[SF_LOOKUP_BATCH] = { "lookup_batch", "lookup, 1 section per 1000",
		U_NS, TARGET_LOOKUP_NS },
	[SF_LOOKUP_LOCAL] = { "lookup_local", "lookup in 64 mappings, 1 each",
		U_NS, 0 },
	[SF_LOOKUP_TREE] = { "lookup_tree", "reference: mtree_load, no gpuva",
		U_NS, 0 },
	[SF_SPLIT] = { "split", "split: create+apply+free",
		U_NS, TARGET_MUT_NS },
	[SF_SPLIT_CREATE] = { "split_create", "split: ops creation alone",
		U_NS, 0 },
	[SF_SPLIT_APPLY] = { "split_apply", "split: apply alone", U_NS, 0 },
	[SF_SPLIT_FREE] = { "split_free", "split: gpuva_ops_free alone",
		U_NS, 0 },
	[SF_SPLIT_CB] = { "split_callback", "split: gpuvm_sm_map, steps apply",
		U_NS, TARGET_MUT_NS },
	[SF_COVER16] = { "cover16", "cover16: create+apply+free",
		U_NS, TARGET_MUT_NS },
	[SF_COVER16_PER_OP] = { "cover16_per_op", "cover16: the same / 17 ops",
		U_NS, 0 },
	[SF_UNMAP_MID] = { "unmap_mid", "unmap_mid: create+apply+free",
		U_NS, TARGET_MUT_NS },
	[SF_TEARDOWN] = { "teardown", "teardown: remove+unlink, ns/mapping",
		U_NS, 0 },
	[SF_MEM_TREE] = { "mem_tree", "tree nodes, bytes/mapping",
		U_BYTES, 0 },
	[SF_MEM_TREE_AFTER] = { "mem_tree_after", "tree nodes after mutations",
		U_BYTES, 0 },
	[SF_MEM_GPUVA] = { "mem_gpuva", "struct gpuva, bytes/mapping",
		U_BYTES, 0 },
	[SF_MEM_VMBO] = { "mem_vm_bo", "struct gpuvm_bo share, bytes/mapping",
		U_BYTES, 0 },
	[SF_MEM_TOTAL] = { "mem_total", "total (tree+gpuva+vm_bo), bytes",
		U_BYTES, 0 },
};

enum rfig {
	RF_SCALE_LOOKUP, RF_SCALE_LOOKUP_BATCH, RF_SCALE_SPLIT,
	RF_SCALE_COVER16, RF_SCALE_UNMAP_MID, RF_SECTION_COST,
	RF_NOVA_LOOKUP, RF_NOVA_LOOKUP_BATCH, RF_NOVA_MEM_TREE,
	RF_LOOKUP_MISSES,
	NR_RF
};

static const struct fig_desc rfig_desc[NR_RF] = {
	[RF_SCALE_LOOKUP] = { "scaling_lookup", "lookup n / (n/10)",
		U_RATIO, 0 },
	[RF_SCALE_LOOKUP_BATCH] = { "scaling_lookup_batch",
		"lookup (batch section) n / (n/10)", U_RATIO, 0 },
	[RF_SCALE_SPLIT] = { "scaling_split", "split n / (n/10)", U_RATIO, 0 },
	[RF_SCALE_COVER16] = { "scaling_cover16", "cover16 n / (n/10)",
		U_RATIO, 0 },
	[RF_SCALE_UNMAP_MID] = { "scaling_unmap_mid", "unmap_mid n / (n/10)",
		U_RATIO, 0 },
	[RF_SECTION_COST] = { "section_per_lookup",
		"lookup: 1 section each / batch", U_RATIO, 0 },
	[RF_NOVA_LOOKUP] = { "no_va_alloc_lookup",
		"lookup: no_va_alloc / default", U_RATIO, 0 },
	[RF_NOVA_LOOKUP_BATCH] = { "no_va_alloc_lookup_batch",
		"lookup batch: no_va_alloc / default", U_RATIO, 0 },
	[RF_NOVA_MEM_TREE] = { "no_va_alloc_mem_tree",
		"tree bytes: no_va_alloc / default", U_RATIO, 0 },
	[RF_LOOKUP_MISSES] = { "lookup_per_memory_access",
		"lookup / one random memory access", U_RATIO, 0 },
};

struct figure {
	unsigned long n;
	double *v;		/* one value per run; sorted when printed */
	unsigned int nv;
	double med;		/* set when printed */
};

static struct figure sfig[NR_SPACES][NR_SF];
static struct figure rfig[NR_RF];
static struct figure clock_fig, memory_fig;

static void put(struct figure *f, unsigned long n, double value)
{
	f->n = n;
	f->v[f->nv++] = value;
}

/* The value of this run (the last one put). */
static double last(const struct figure *f)
{
	return f->v[f->nv - 1];
}

/* ---- The VA space ------------------------------------------------------- */

struct bench_bo {
	struct gpuvm_bo_handle h;
	struct gpuvm_bo *vm_bo;	/* the bench's own reference */
};

/* The ops applied since the counts were cleared, to check each request. */
struct op_count {
	unsigned long map, remap, remap_prev, remap_next, unmap, unmap_keep;
};

struct space {
	struct gpuvm vm;
	unsigned long n;
	unsigned long per_cluster;	/* a multiple of GROUP */
	struct bench_bo *bo;		/* NR_BOS */
	struct op_count cnt;
	size_t live0;			/* nodes_live before gpuvm_init() */
};

static uint64_t map_addr(const struct space *s, unsigned long i)
{
	return CLUSTER_BASE + (uint64_t)(i / s->per_cluster) * CLUSTER_STRIDE +
	       (uint64_t)(i % s->per_cluster) * MAP_SIZE;
}

static struct bench_bo *bo_of(struct space *s, unsigned long i)
{
	return &s->bo[i % NR_BOS];
}

static uint64_t off_of(unsigned long i)
{
	return (uint64_t)(i / NR_BOS) * MAP_SIZE;
}

/* The BO a split request maps over mapping i: the next one. */
static struct bench_bo *other_bo(struct space *s, unsigned long i)
{
	return &s->bo[(i + 1) % NR_BOS];
}

/*
 * The BO cover16 maps over mappings i..i+15: one none of them maps, so no
 * UNMAP gets keep (with BO i + 1 at offset 0, mapping i + 1 would line up
 * when it sits at offset 64 KiB).
 */
static struct bench_bo *cover_bo(struct space *s, unsigned long i)
{
	return &s->bo[(i + GROUP) % NR_BOS];
}

static struct gpuva *new_va(void)
{
	return bench_xmalloc(sizeof(struct gpuva));
}

/* Apply one op as a driver does (callback or list form). */
static void apply_op(struct space *s, struct gpuva_op *op)
{
	struct gpuvm *vm = &s->vm;
	struct gpuvm_bo *vm_bo;
	struct gpuva *va, *prev, *next;
	int ret;

	switch (op->op) {
	case GPUVA_OP_MAP:
		va = new_va();
		ret = gpuva_map(vm, va, &op->map);
		if (ret)
			bench_fail("gpuvm: gpuva_map [%#" PRIx64 ", +%#" PRIx64
				   ") returned %d", op->map.va.addr,
				   op->map.va.range, ret);
		if (op->map.bo) {
			ret = gpuvm_bo_obtain(vm, op->map.bo, &vm_bo);
			if (ret)
				bench_fail("gpuvm: gpuvm_bo_obtain returned "
					   "%d", ret);
			gpuva_link(va, vm_bo);
			gpuvm_bo_put(vm_bo);
		}
		s->cnt.map++;
		break;
	case GPUVA_OP_REMAP:
		va = op->remap.unmap->va;
		prev = op->remap.prev ? new_va() : NULL;
		next = op->remap.next ? new_va() : NULL;
		ret = gpuva_remap(prev, next, &op->remap);
		if (ret)
			bench_fail("gpuvm: gpuva_remap of [%#" PRIx64 ", +%#"
				   PRIx64 ") returned %d", va->va.addr,
				   va->va.range, ret);
		if (va->vm_bo) {
			if (prev)
				gpuva_link(prev, va->vm_bo);
			if (next)
				gpuva_link(next, va->vm_bo);
		}
		gpuva_unlink(va);
		gpuva_free_rcu(va);
		s->cnt.remap++;
		s->cnt.remap_prev += prev != NULL;
		s->cnt.remap_next += next != NULL;
		break;
	case GPUVA_OP_UNMAP:
		va = op->unmap.va;
		s->cnt.unmap_keep += op->unmap.keep;
		gpuva_unmap(&op->unmap);
		gpuva_unlink(va);
		gpuva_free_rcu(va);
		s->cnt.unmap++;
		break;
	default:
		bench_fail("gpuvm: unexpected op type %d", (int)op->op);
	}
}

static void apply_ops(struct space *s, struct gpuva_ops *ops)
{
	struct gpuva_op *op;

	gpuva_for_each_op(op, ops)
		apply_op(s, op);
}

static int sm_step(struct gpuva_op *op, void *priv)
{
	apply_op(priv, op);
	return 0;
}

static void space_free(struct gpuvm *vm)
{
	free((struct space *)((char *)vm - offsetof(struct space, vm)));
}

static const struct gpuvm_ops bench_vm_ops = {
	.vm_free = space_free,
	.sm_step_map = sm_step,
	.sm_step_remap = sm_step,
	.sm_step_unmap = sm_step,
};

/* Insert mapping i as the build made it. VM lock. */
static void insert_original(struct space *s, unsigned long i)
{
	struct bench_bo *bo = bo_of(s, i);
	struct gpuva *va = new_va();
	int ret;

	gpuva_init(va, map_addr(s, i), MAP_SIZE, &bo->h, off_of(i));
	ret = gpuva_insert(&s->vm, va);
	if (ret)
		bench_fail("gpuvm: inserting mapping #%lu at %#" PRIx64
			   " returned %d", i, map_addr(s, i), ret);
	gpuva_link(va, bo->vm_bo);
}

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

/* Create a space of @n mappings; puts the build and memory figures. */
static struct space *space_create(enum space_id sp, unsigned long n,
				  unsigned int flags)
{
	struct figure *f = sfig[sp];
	struct space *s = bench_xcalloc(1, sizeof(*s));
	unsigned long per = (n + NR_CLUSTERS - 1) / NR_CLUSTERS;
	uint64_t bo_size, t0, t1;
	size_t live0;
	double tree, vmbo;
	int ret;

	s->n = n;
	s->per_cluster = (per + GROUP - 1) / GROUP * GROUP;
	/* Every BO at least 1 MiB, for cover16's request at offset 0. */
	bo_size = ((n + NR_BOS - 1) / NR_BOS) * MAP_SIZE;
	if (bo_size < GROUP * MAP_SIZE)
		bo_size = GROUP * MAP_SIZE;

	mt_rcu_barrier(NULL);
	live0 = s->live0 = nodes_live();
	ret = gpuvm_init(&s->vm, "bench", flags, 0, VA_SPACE, 0, 0,
			 &bench_vm_ops);
	if (ret)
		bench_fail("gpuvm: gpuvm_init returned %d", ret);
	s->bo = bench_xcalloc(NR_BOS, sizeof(*s->bo));
	for (unsigned long b = 0; b < NR_BOS; b++) {
		gpuvm_bo_handle_init(&s->bo[b].h, bo_size, &s->vm);
		ret = gpuvm_bo_obtain(&s->vm, &s->bo[b].h, &s->bo[b].vm_bo);
		if (ret)
			bench_fail("gpuvm: gpuvm_bo_obtain returned %d", ret);
	}

	gpuvm_lock(&s->vm);
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		insert_original(s, i);
	t1 = now_ns();
	if (gpuvm_mapping_count(&s->vm) != n)
		bench_fail("gpuvm: %lu mappings after the build, expected %lu",
			   gpuvm_mapping_count(&s->vm), n);
	/* The tree's lock is the VM lock: the barrier flushes under it. */
	mt_rcu_barrier(gpuvm_tree(&s->vm));
	gpuvm_unlock(&s->vm);
	put(&f[SF_BUILD], n, (double)(t1 - t0) / (double)n);

	tree = (double)(nodes_live() - live0) * NODE_BYTES / (double)n;
	vmbo = (double)(NR_BOS * sizeof(struct gpuvm_bo)) / (double)n;
	put(&f[SF_MEM_TREE], n, tree);
	put(&f[SF_MEM_GPUVA], n, (double)sizeof(struct gpuva));
	put(&f[SF_MEM_VMBO], n, vmbo);
	put(&f[SF_MEM_TOTAL], n, tree + (double)sizeof(struct gpuva) + vmbo);
	return s;
}

/* Remove every mapping, drop every reference; puts the teardown figure. */
static void space_destroy(enum space_id sp, struct space *s)
{
	struct bench_bo *bos = s->bo;
	size_t live0 = s->live0;
	unsigned long n = s->n, seen = 0;
	struct gpuva *va;
	uint64_t t0, t1;
	int ret;

	gpuvm_lock(&s->vm);
	t0 = now_ns();
	gpuvm_for_each_va(va, &s->vm) {
		gpuva_remove(va);
		gpuva_unlink(va);
		gpuva_free_rcu(va);
		seen++;
	}
	t1 = now_ns();
	if (seen != n || gpuvm_mapping_count(&s->vm))
		bench_fail("gpuvm: teardown removed %lu mappings of %lu, %lu "
			   "left", seen, n, gpuvm_mapping_count(&s->vm));
	gpuvm_unlock(&s->vm);
	put(&sfig[sp][SF_TEARDOWN], n, (double)(t1 - t0) / (double)n);

	for (unsigned long b = 0; b < NR_BOS; b++)
		gpuvm_bo_put(bos[b].vm_bo);
	gpuvm_put(&s->vm);	/* frees s */
	for (unsigned long b = 0; b < NR_BOS; b++) {
		ret = gpuvm_bo_handle_fini(&bos[b].h);
		if (ret)
			bench_fail("gpuvm: gpuvm_bo_handle_fini of BO %lu "
				   "returned %d", b, ret);
	}
	free(bos);
	mt_rcu_barrier(NULL);
	if (nodes_live() != live0)
		bench_fail("gpuvm: %zu tree nodes live after the teardown, "
			   "%zu before the space", nodes_live(), live0);
	mt_cache_shrink();
}

/* ---- Checks ------------------------------------------------------------- */

/* The mapping covering @addr must be [start, start + range) of bo@off. */
static void expect_va(struct space *s, uint64_t addr, uint64_t start,
		      uint64_t range, struct bench_bo *bo, uint64_t off,
		      const char *who)
{
	struct gpuva *va = gpuvm_lookup(&s->vm, addr);

	if (!va || va->va.addr != start || va->va.range != range ||
	    va->bo != &bo->h || va->bo_offset != off || !va->vm_bo ||
	    va->vm_bo->obj != &bo->h)
		bench_fail("%s: at %#" PRIx64 " expected [%#" PRIx64 ", +%#"
			   PRIx64 ") of BO %td at %#" PRIx64 ", found %s"
			   "[%#" PRIx64 ", +%#" PRIx64 ") at %#" PRIx64, who,
			   addr, start, range, bo - s->bo, off,
			   va ? "" : "nothing ", va ? va->va.addr : 0,
			   va ? va->va.range : 0, va ? va->bo_offset : 0);
}

static void expect_hole(struct space *s, uint64_t addr, const char *who)
{
	struct gpuva *va = gpuvm_lookup(&s->vm, addr);

	if (va)
		bench_fail("%s: %#" PRIx64 " should be unmapped, found [%#"
			   PRIx64 ", +%#" PRIx64 ")", who, addr, va->va.addr,
			   va->va.range);
}

static void expect_count(struct space *s, unsigned long want,
			 const char *who)
{
	if (gpuvm_mapping_count(&s->vm) != want)
		bench_fail("%s: %lu mappings, expected %lu", who,
			   gpuvm_mapping_count(&s->vm), want);
}

static void expect_ops(const struct space *s, unsigned long map,
		       unsigned long remap, unsigned long unmap,
		       const char *who)
{
	const struct op_count *c = &s->cnt;

	if (c->map != map || c->remap != remap || c->remap_prev != remap ||
	    c->remap_next != remap || c->unmap != unmap || c->unmap_keep)
		bench_fail("%s: ops MAP %lu REMAP %lu (prev %lu next %lu) "
			   "UNMAP %lu (keep %lu); expected MAP %lu, REMAP %lu "
			   "with prev and next, UNMAP %lu without keep", who,
			   c->map, c->remap, c->remap_prev, c->remap_next,
			   c->unmap, c->unmap_keep, map, remap, unmap);
}

/*
 * Put [mapping first, mapping first + count) back as the build made it:
 * unmap the range, re-insert the originals. Untimed. VM lock.
 */
static void restore(struct space *s, unsigned long first, unsigned long count)
{
	struct gpuva_ops *ops;
	int ret;

	ret = gpuvm_sm_unmap_ops_create(&s->vm, map_addr(s, first),
					count * MAP_SIZE, &ops);
	if (ret)
		bench_fail("gpuvm: restore: gpuvm_sm_unmap_ops_create "
			   "returned %d", ret);
	apply_ops(s, ops);
	gpuva_ops_free(&s->vm, ops);
	for (unsigned long k = 0; k < count; k++)
		insert_original(s, first + k);
	for (unsigned long k = 0; k < count; k++)
		expect_va(s, map_addr(s, first + k) + MAP_SIZE - 1,
			  map_addr(s, first + k), MAP_SIZE,
			  bo_of(s, first + k), off_of(first + k),
			  "gpuvm: restore");
	expect_count(s, s->n, "gpuvm: restore");
}

/* ---- Lookups ------------------------------------------------------------ */

enum lookup_form {
	LK_SECTION,	/* one read-side section per lookup */
	LK_BATCH,	/* one section per batch */
	LK_LOCAL,	/* per lookup, in a window of LOCAL_WINDOW mappings */
	LK_TREE,	/* reference: mtree_load(), no gpuva read */
	NR_LK
};

/* One batch of lookups in the given form; returns ns per lookup. */
static double lookup_batch(struct space *s, struct rng *r,
			   enum lookup_form form)
{
	static uint64_t addr[LOOKUP_BATCH];
	struct maple_tree *mt = gpuvm_tree(&s->vm);
	struct gpuvm *vm = &s->vm;
	unsigned long w = rng_below(r, s->n - LOCAL_WINDOW + 1), bad = 0;
	uint64_t t0, t1;

	for (unsigned long k = 0; k < LOOKUP_BATCH; k++) {
		unsigned long i = form == LK_LOCAL ?
				  w + rng_below(r, LOCAL_WINDOW) :
				  rng_below(r, s->n);

		addr[k] = map_addr(s, i) + rng_below(r, MAP_SIZE);
	}
	t0 = now_ns();
	switch (form) {
	case LK_SECTION:
	case LK_LOCAL:
		for (unsigned long k = 0; k < LOOKUP_BATCH; k++) {
			struct gpuva *va;

			mt_rcu_read_lock();
			va = gpuvm_lookup(vm, addr[k]);
			bad += !va || addr[k] - va->va.addr >= va->va.range;
			mt_rcu_read_unlock();
		}
		break;
	case LK_BATCH:
		mt_rcu_read_lock();
		for (unsigned long k = 0; k < LOOKUP_BATCH; k++) {
			struct gpuva *va = gpuvm_lookup(vm, addr[k]);

			bad += !va || addr[k] - va->va.addr >= va->va.range;
		}
		mt_rcu_read_unlock();
		break;
	default:
		/* mtree_load() takes its own read-side section. */
		for (unsigned long k = 0; k < LOOKUP_BATCH; k++)
			bad += !mtree_load(mt, addr[k]);
		break;
	}
	t1 = now_ns();
	if (bad)
		bench_fail("gpuvm: %lu lookups (form %d) did not find the "
			   "mapping covering the address", bad, (int)form);
	return (double)(t1 - t0) / (double)LOOKUP_BATCH;
}

/*
 * LOOKUP_BATCHES batches of each form, the forms taking turns (in a
 * rotating order) so that none runs in calmer conditions than another;
 * ns per lookup, the median over each form's batches, in @med.
 */
static void lookups(struct space *s, struct rng *r, double med[NR_LK])
{
	double *ns = bench_xcalloc(NR_LK * LOOKUP_BATCHES, sizeof(*ns));

	for (unsigned long b = 0; b < LOOKUP_BATCHES; b++)
		for (unsigned int k = 0; k < NR_LK; k++) {
			unsigned int form = (unsigned int)((b + k) % NR_LK);

			ns[form * LOOKUP_BATCHES + b] =
				lookup_batch(s, r, (enum lookup_form)form);
		}
	for (unsigned int form = 0; form < NR_LK; form++)
		med[form] = bench_median(ns + form * LOOKUP_BATCHES, LOOKUP_BATCHES);
	free(ns);
}

/* ---- Mutations ---------------------------------------------------------- */

/* The timed requests; they take turns, one of each kind in a row. */
enum mut_kind {
	MK_SPLIT,		/* list form: create, apply, free */
	MK_SPLIT_PHASES,	/* the same, each phase timed */
	MK_SPLIT_CB,		/* callback form */
	MK_COVER16,
	MK_UNMAP_MID,
	NR_MK
};

/*
 * The end of a request, timed with it: a driver drops the VM lock after
 * each bind, and the unlock merges the ranges the request unmapped.
 */
static void request_done(struct space *s)
{
	gpuvm_unlock(&s->vm);
	gpuvm_lock(&s->vm);
}

static struct gpuvm_map_req split_req(struct space *s, unsigned long i)
{
	struct gpuvm_map_req req;

	memset(&req, 0, sizeof(req));
	req.map.va.addr = map_addr(s, i) + SPLIT_OFF;
	req.map.va.range = SPLIT_LEN;
	req.map.bo = &other_bo(s, i)->h;
	req.map.bo_offset = off_of(i) + SPLIT_OFF;
	return req;
}

/* Mapping i after split: its two ends of bo_of(i), the request between. */
static void check_split(struct space *s, unsigned long i)
{
	uint64_t a = map_addr(s, i), o = off_of(i);
	uint64_t end = SPLIT_OFF + SPLIT_LEN;

	expect_ops(s, 1, 1, 0, "gpuvm: split");
	expect_va(s, a, a, SPLIT_OFF, bo_of(s, i), o, "gpuvm: split");
	expect_va(s, a + SPLIT_OFF, a + SPLIT_OFF, SPLIT_LEN, other_bo(s, i),
		  o + SPLIT_OFF, "gpuvm: split");
	expect_va(s, a + MAP_SIZE - 1, a + end, MAP_SIZE - end, bo_of(s, i),
		  o + end, "gpuvm: split");
	expect_count(s, s->n + 2, "gpuvm: split");
}

/*
 * Split mapping i in the given form; ns[0] gets the whole request's time,
 * or for MK_SPLIT_PHASES creation, apply and free in ns[0..2].
 */
static void split_one(struct space *s, unsigned long i, enum mut_kind kind,
		      double ns[3])
{
	struct gpuvm_map_req req = split_req(s, i);
	struct gpuva_ops *ops;
	uint64_t t0, t1, t2, t3;
	int ret;

	if (kind == MK_SPLIT_CB) {
		t0 = now_ns();
		ret = gpuvm_sm_map(&s->vm, s, &req);
		request_done(s);
		t1 = now_ns();
		if (ret)
			bench_fail("gpuvm: gpuvm_sm_map splitting mapping "
				   "#%lu returned %d", i, ret);
		ns[0] = (double)(t1 - t0);
	} else if (kind == MK_SPLIT_PHASES) {
		t0 = now_ns();
		ret = gpuvm_sm_map_ops_create(&s->vm, &req, &ops);
		t1 = now_ns();
		if (ret)
			bench_fail("gpuvm: split of mapping #%lu returned %d",
				   i, ret);
		apply_ops(s, ops);
		request_done(s);
		t2 = now_ns();
		gpuva_ops_free(&s->vm, ops);
		t3 = now_ns();
		ns[0] = (double)(t1 - t0);
		ns[1] = (double)(t2 - t1);
		ns[2] = (double)(t3 - t2);
	} else {
		t0 = now_ns();
		ret = gpuvm_sm_map_ops_create(&s->vm, &req, &ops);
		if (!ret) {
			apply_ops(s, ops);
			gpuva_ops_free(&s->vm, ops);
		}
		request_done(s);
		t1 = now_ns();
		if (ret)
			bench_fail("gpuvm: split of mapping #%lu returned %d",
				   i, ret);
		ns[0] = (double)(t1 - t0);
	}
	check_split(s, i);
}

/* A map request over the 16 mappings from i (a multiple of 16), 1 MiB. */
static double cover16_one(struct space *s, unsigned long i)
{
	uint64_t a = map_addr(s, i), t0, t1;
	struct gpuvm_map_req req;
	struct gpuva_ops *ops;
	int ret;

	memset(&req, 0, sizeof(req));
	req.map.va.addr = a;
	req.map.va.range = GROUP * MAP_SIZE;
	req.map.bo = &cover_bo(s, i)->h;
	req.map.bo_offset = 0;
	t0 = now_ns();
	ret = gpuvm_sm_map_ops_create(&s->vm, &req, &ops);
	if (!ret) {
		apply_ops(s, ops);
		gpuva_ops_free(&s->vm, ops);
	}
	request_done(s);
	t1 = now_ns();
	if (ret)
		bench_fail("gpuvm: cover16 at mapping #%lu returned %d", i,
			   ret);
	expect_ops(s, 1, 0, GROUP, "gpuvm: cover16");
	expect_va(s, a, a, GROUP * MAP_SIZE, cover_bo(s, i), 0,
		  "gpuvm: cover16");
	expect_va(s, a + GROUP * MAP_SIZE - 1, a, GROUP * MAP_SIZE,
		  cover_bo(s, i), 0, "gpuvm: cover16");
	expect_count(s, s->n - GROUP + 1, "gpuvm: cover16");
	return (double)(t1 - t0);
}

/* An unmap request of the 16 KiB in the middle of mapping i. */
static double unmap_mid_one(struct space *s, unsigned long i)
{
	uint64_t a = map_addr(s, i), o = off_of(i), t0, t1;
	uint64_t end = SPLIT_OFF + SPLIT_LEN;
	struct gpuva_ops *ops;
	int ret;

	t0 = now_ns();
	ret = gpuvm_sm_unmap_ops_create(&s->vm, a + SPLIT_OFF, SPLIT_LEN,
					&ops);
	if (!ret) {
		apply_ops(s, ops);
		gpuva_ops_free(&s->vm, ops);
	}
	request_done(s);
	t1 = now_ns();
	if (ret)
		bench_fail("gpuvm: unmap_mid of mapping #%lu returned %d", i,
			   ret);
	expect_ops(s, 0, 1, 0, "gpuvm: unmap_mid");
	expect_va(s, a, a, SPLIT_OFF, bo_of(s, i), o, "gpuvm: unmap_mid");
	expect_hole(s, a + SPLIT_OFF, "gpuvm: unmap_mid");
	expect_hole(s, a + end - 1, "gpuvm: unmap_mid");
	expect_va(s, a + MAP_SIZE - 1, a + end, MAP_SIZE - end, bo_of(s, i),
		  o + end, "gpuvm: unmap_mid");
	expect_count(s, s->n + 1, "gpuvm: unmap_mid");
	return (double)(t1 - t0);
}

/*
 * MUT_OPS requests of each kind on random mappings, the kinds taking turns
 * (so that none runs in calmer conditions than another), each timed alone,
 * checked and undone; puts the medians.
 */
static void mutations(enum space_id sp, struct space *s, struct rng *r)
{
	double *ns = bench_xcalloc((NR_MK + 2) * MUT_OPS, sizeof(*ns));
	struct figure *f = sfig[sp];
	double t[3];

	gpuvm_lock(&s->vm);
	for (unsigned long j = 0; j < MUT_OPS; j++) {
		for (unsigned int k = 0; k < NR_MK; k++) {
			enum mut_kind kind = (enum mut_kind)k;
			unsigned long i = kind == MK_COVER16 ?
				GROUP * rng_below(r, s->n / GROUP) :
				rng_below(r, s->n);

			memset(&s->cnt, 0, sizeof(s->cnt));
			switch (kind) {
			case MK_COVER16:
				ns[k * MUT_OPS + j] = cover16_one(s, i);
				restore(s, i, GROUP);
				break;
			case MK_UNMAP_MID:
				ns[k * MUT_OPS + j] = unmap_mid_one(s, i);
				restore(s, i, 1);
				break;
			default:
				split_one(s, i, kind, t);
				ns[k * MUT_OPS + j] = t[0];
				if (kind == MK_SPLIT_PHASES) {
					/* Apply and free after the kinds. */
					ns[NR_MK * MUT_OPS + j] = t[1];
					ns[(NR_MK + 1) * MUT_OPS + j] = t[2];
				}
				restore(s, i, 1);
				break;
			}
		}
	}
	if (mt_validate(gpuvm_tree(&s->vm)))
		bench_fail("gpuvm: mt_validate failed after the mutations");
	gpuvm_unlock(&s->vm);
	put(&f[SF_SPLIT], s->n, bench_median(ns + MK_SPLIT * MUT_OPS, MUT_OPS));
	put(&f[SF_SPLIT_CREATE], s->n,
	    bench_median(ns + MK_SPLIT_PHASES * MUT_OPS, MUT_OPS));
	put(&f[SF_SPLIT_APPLY], s->n, bench_median(ns + NR_MK * MUT_OPS, MUT_OPS));
	put(&f[SF_SPLIT_FREE], s->n,
	    bench_median(ns + (NR_MK + 1) * MUT_OPS, MUT_OPS));
	put(&f[SF_SPLIT_CB], s->n, bench_median(ns + MK_SPLIT_CB * MUT_OPS, MUT_OPS));
	put(&f[SF_COVER16], s->n, bench_median(ns + MK_COVER16 * MUT_OPS, MUT_OPS));
	put(&f[SF_COVER16_PER_OP], s->n,
	    last(&f[SF_COVER16]) / (double)(GROUP + 1));
	put(&f[SF_UNMAP_MID], s->n,
	    bench_median(ns + MK_UNMAP_MID * MUT_OPS, MUT_OPS));
	free(ns);
}

/* ---- Driver ------------------------------------------------------------- */

/* The cost of one now_ns(), the median of back-to-back pairs. */
static double clock_cost(void)
{
	double *ns = bench_xcalloc(CLOCK_SAMPLES, sizeof(*ns));
	double med;

	for (unsigned long k = 0; k < CLOCK_SAMPLES; k++) {
		uint64_t t0 = now_ns(), t1 = now_ns();

		ns[k] = (double)(t1 - t0);
	}
	med = bench_median(ns, CLOCK_SAMPLES);
	free(ns);
	return med;
}

#define CHASE_BYTES	(128UL << 20)
#define CHASE_STEPS	2000000UL

/*
 * What one random access to memory costs on this machine: a pointer chase
 * through 128 MiB in one random cycle (each step a dependent load of a new
 * cache line), in ns per step. A lookup at 1M mappings cannot take less
 * than the accesses its walk and its struct gpuva miss in the cache.
 */
static double memory_cost(struct rng *r)
{
	const unsigned long lines = CHASE_BYTES / 64, stride = 64 / sizeof(size_t);
	size_t *cell = bench_xmalloc(CHASE_BYTES), pos = 0;
	uint64_t t0, t1;

	/* Sattolo's shuffle: one cycle through every line. */
	for (unsigned long i = 0; i < lines; i++)
		cell[i * stride] = i;
	for (unsigned long i = lines - 1; i > 0; i--) {
		unsigned long j = rng_below(r, i);
		size_t t = cell[i * stride];

		cell[i * stride] = cell[j * stride];
		cell[j * stride] = t;
	}
	t0 = now_ns();
	for (unsigned long k = 0; k < CHASE_STEPS; k++)
		pos = cell[pos * stride];
	t1 = now_ns();
	if (pos >= lines)
		bench_fail("gpuvm: the pointer chase left its array");
	free(cell);
	return (double)(t1 - t0) / (double)CHASE_STEPS;
}

/* One space: build, lookups, (mutations), memory, teardown. */
static void run_space(enum space_id sp, unsigned long n, uint64_t seed,
		      unsigned int run, unsigned int runs)
{
	const bool mutate = sp != SP_NOVA;
	struct figure *f = sfig[sp];
	double lk[NR_LK];
	struct space *s;
	struct rng r;

	fprintf(stderr, "# gpuvm run %u/%u: %s n=%lu: build\n", run + 1, runs,
		space_label[sp], n);
	rng_seed(&r, seed);
	s = space_create(sp, n, sp == SP_NOVA ? GPUVM_NO_VA_ALLOCATOR : 0);
	fprintf(stderr, "# gpuvm run %u/%u: %s n=%lu: lookups\n", run + 1,
		runs, space_label[sp], n);
	lookups(s, &r, lk);
	put(&f[SF_LOOKUP], n, lk[LK_SECTION]);
	put(&f[SF_LOOKUP_BATCH], n, lk[LK_BATCH]);
	put(&f[SF_LOOKUP_LOCAL], n, lk[LK_LOCAL]);
	put(&f[SF_LOOKUP_TREE], n, lk[LK_TREE]);
	if (mutate) {
		fprintf(stderr, "# gpuvm run %u/%u: %s n=%lu: mutations\n",
			run + 1, runs, space_label[sp], n);
		mutations(sp, s, &r);
		gpuvm_lock(&s->vm);
		mt_rcu_barrier(gpuvm_tree(&s->vm));
		gpuvm_unlock(&s->vm);
		put(&f[SF_MEM_TREE_AFTER], n,
		    (double)(nodes_live() - s->live0) * NODE_BYTES /
		    (double)n);
	}
	space_destroy(sp, s);
}

static const struct fig_desc clock_desc = {
	"clock", "reference: one clock_gettime, ns", U_NS, 0,
};

static const struct fig_desc memory_desc = {
	"memory_access", "reference: random access, 128 MiB", U_NS, 0,
};

/* The result line; sorts f->v, so v[0] is the min from here on. */
static void print_result_line(const char *structure, const struct fig_desc *d,
			      struct figure *f)
{
	static const char *const key[] = {
		[U_NS] = "ns_per_op", [U_BYTES] = "bytes", [U_RATIO] = "ratio",
	};

	f->med = bench_median(f->v, f->nv);
	printf("result workload=gpuvm_%s structure=%s n=%lu %s=%.2f min=%.2f "
	       "max=%.2f\n", d->key, structure, f->n, key[d->unit], f->med,
	       f->v[0], f->v[f->nv - 1]);
}

static void print_row(const char *section, const struct fig_desc *d,
		      const struct figure *f, bool with_target)
{
	const char *x = d->unit == U_RATIO ? "x" : " ";
	char target[32] = "";

	if (with_target && d->target > 0)
		snprintf(target, sizeof(target), "< %.0f %s", d->target,
			 f->med < d->target ? "ok" : "MISSED");
	printf("%-12s %-38s %9lu %10.2f%s %10.2f%s %10.2f%s  %s\n", section,
	       d->label, f->n, f->med, x, f->v[0], x, f->v[f->nv - 1], x,
	       target);
}

static void print_results(unsigned long n, unsigned long small,
			  unsigned int runs, uint64_t seed)
{
	static const enum space_id order[NR_SPACES] = {
		SP_LARGE, SP_NOVA, SP_SMALL,
	};

	for (int k = 0; k < NR_SPACES; k++)
		for (int j = 0; j < NR_SF; j++)
			if (sfig[k][j].nv)
				print_result_line(space_structure[k],
						  &sfig_desc[j], &sfig[k][j]);
	for (int j = 0; j < NR_RF; j++)
		print_result_line("gpuvm", &rfig_desc[j], &rfig[j]);
	print_result_line("gpuvm", &clock_desc, &clock_fig);
	print_result_line("gpuvm", &memory_desc, &memory_fig);

	printf("\ngpuvm: a VA space of 2^47 bytes, n mappings of 64 KiB in "
	       "%lu clusters, %lu private BOs,\nbuilt with gpuva_insert + "
	       "gpuva_link; n=%lu and n/10=%lu; median over %u run(s), "
	       "seed=%" PRIu64 "\n", NR_CLUSTERS, NR_BOS, n, small, runs,
	       seed);
	printf("(mutations: %lu requests per case per run, each timed alone "
	       "with clock_gettime, VM lock held\naround the phase, each "
	       "undone untimed before the next, so the space stays at n "
	       "mappings;\nlookups: timed per batch of %lu, %lu batches; "
	       "per-run medians, then the median of the runs;\nmin and max "
	       "are the runs'; targets apply at n; ratios are taken within "
	       "each run)\n", MUT_OPS, LOOKUP_BATCH, LOOKUP_BATCHES);
	printf("%-12s %-38s %9s %11s %11s %11s  %s\n", "space", "measure", "n",
	       "median", "min", "max", "target");
	for (int k = 0; k < NR_SPACES; k++) {
		enum space_id sp = order[k];

		for (int j = 0; j < NR_SF; j++)
			if (sfig[sp][j].nv)
				print_row(space_label[sp], &sfig_desc[j],
					  &sfig[sp][j], sp != SP_SMALL);
	}
	for (int j = 0; j < NR_RF; j++)
		print_row("ratio", &rfig_desc[j], &rfig[j], false);
	print_row("clock", &clock_desc, &clock_fig, false);
	print_row("memory", &memory_desc, &memory_fig, false);
	fflush(stdout);
}

void run_gpuvm(unsigned long n, unsigned int runs, uint64_t seed)
{
	unsigned long small;

	if (n < MIN_N) {
		fprintf(stderr, "# gpuvm: n raised to %lu\n", MIN_N);
		n = MIN_N;
	}
	small = n / 10 < MIN_N ? MIN_N : n / 10;
	for (int k = 0; k < NR_SPACES; k++)
		for (int j = 0; j < NR_SF; j++) {
			sfig[k][j].v = bench_xcalloc(runs, sizeof(double));
			sfig[k][j].nv = 0;
		}
	for (int j = 0; j < NR_RF; j++) {
		rfig[j].v = bench_xcalloc(runs, sizeof(double));
		rfig[j].nv = 0;
	}
	clock_fig.v = bench_xcalloc(runs, sizeof(double));
	clock_fig.nv = 0;
	memory_fig.v = bench_xcalloc(runs, sizeof(double));
	memory_fig.nv = 0;

	for (unsigned int run = 0; run < runs; run++) {
		uint64_t s = seed + 0x100000001ULL * run + 0x69aULL;
		struct figure (*L)[NR_SF] = &sfig[SP_LARGE];
		struct figure (*S)[NR_SF] = &sfig[SP_SMALL];
		struct figure (*N)[NR_SF] = &sfig[SP_NOVA];

		struct rng chase;

		rng_seed(&chase, s);
		put(&clock_fig, 0, clock_cost());
		put(&memory_fig, 0, memory_cost(&chase));
		run_space(SP_LARGE, n, s, run, runs);
		run_space(SP_NOVA, n, s + 1, run, runs);
		run_space(SP_SMALL, small, s + 2, run, runs);

		put(&rfig[RF_SCALE_LOOKUP], n, last(&(*L)[SF_LOOKUP]) /
		    last(&(*S)[SF_LOOKUP]));
		put(&rfig[RF_SCALE_LOOKUP_BATCH], n,
		    last(&(*L)[SF_LOOKUP_BATCH]) /
		    last(&(*S)[SF_LOOKUP_BATCH]));
		put(&rfig[RF_SCALE_SPLIT], n, last(&(*L)[SF_SPLIT]) /
		    last(&(*S)[SF_SPLIT]));
		put(&rfig[RF_SCALE_COVER16], n, last(&(*L)[SF_COVER16]) /
		    last(&(*S)[SF_COVER16]));
		put(&rfig[RF_SCALE_UNMAP_MID], n, last(&(*L)[SF_UNMAP_MID]) /
		    last(&(*S)[SF_UNMAP_MID]));
		put(&rfig[RF_SECTION_COST], n, last(&(*L)[SF_LOOKUP]) /
		    last(&(*L)[SF_LOOKUP_BATCH]));
		put(&rfig[RF_NOVA_LOOKUP], n, last(&(*N)[SF_LOOKUP]) /
		    last(&(*L)[SF_LOOKUP]));
		put(&rfig[RF_NOVA_LOOKUP_BATCH], n,
		    last(&(*N)[SF_LOOKUP_BATCH]) /
		    last(&(*L)[SF_LOOKUP_BATCH]));
		put(&rfig[RF_NOVA_MEM_TREE], n, last(&(*N)[SF_MEM_TREE]) /
		    last(&(*L)[SF_MEM_TREE]));
		put(&rfig[RF_LOOKUP_MISSES], n, last(&(*L)[SF_LOOKUP]) /
		    last(&memory_fig));
		/* Per-run figures, to tell a noisy run from a steady one. */
		fprintf(stderr, "# gpuvm run %u/%u: split %.0f ns, cover16 "
			"%.0f ns, unmap_mid %.0f ns, lookup %.1f ns "
			"(no_va_alloc %.1f ns)\n", run + 1, runs,
			last(&(*L)[SF_SPLIT]), last(&(*L)[SF_COVER16]),
			last(&(*L)[SF_UNMAP_MID]), last(&(*L)[SF_LOOKUP]),
			last(&(*N)[SF_LOOKUP]));
	}
	print_results(n, small, runs, seed);
	for (int k = 0; k < NR_SPACES; k++)
		for (int j = 0; j < NR_SF; j++)
			free(sfig[k][j].v);
	for (int j = 0; j < NR_RF; j++)
		free(rfig[j].v);
	free(clock_fig.v);
	free(memory_fig.v);
}
