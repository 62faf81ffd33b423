// SPDX-License-Identifier: MIT
/*
 * Lock-free lookups in a VA space beside a writer that binds.
 *
 * One writer thread applies random map and unmap requests (through op lists
 * or the step callbacks) under gpuvm_lock() over a VA space of NR_PAGES
 * pages, most of them splitting existing mappings (REMAP). Reader threads
 * look addresses up with gpuvm_lookup(), iterate windows with
 * gpuvm_for_each_va_range() and call gpuva_find_first(), all inside
 * mt_rcu_read_lock() sections, and check every mapping they get:
 *
 *  - it covers the address (or overlaps the window);
 *  - its fields are the ones it was created with: each mapping carries a
 *    unique id and a checksum of (id, addr, range, bo, bo_offset) set
 *    before it is inserted, and an append-only log written before the
 *    insert records each id's range, BO and offset;
 *  - it was in the space at some moment during the read: the writer counts
 *    an epoch, odd while an op is being applied and even between ops; the
 *    log records the epoch each mapping was inserted in and the epoch after
 *    the op that removed it. A mapping found between epochs e0 (read before
 *    the lookup) and e1 (after) must have been inserted at an epoch <= e1
 *    and not removed at an epoch <= e0;
 *  - it is not freed yet (the driver's va_free poisons a magic word, and
 *    ASan sees a use after free).
 *
 * "Guard" pages (every 8th page of a fixed region mapped at start) are never
 * inside a request: requests split the mappings that cover them, so a guard
 * is always in a REMAP's kept piece and must never read as unmapped
 * (gpuva_remap() promises no hole there); a window iteration must visit a
 * mapping covering every guard in the window. The reserved region and the
 * addresses outside the space must always read as unmapped.
 *
 * MT_GPUVM_RCU_SECONDS sets the duration (default 2), MT_GPUVM_RCU_READERS
 * the number of readers (default 3), MT_SEED replays the writer's requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include "gpuvm_test.h"

#define NR_PAGES	4096u
#define PAGE		0x1000ull
#define VA_BASE		0x100000000ull
#define VA_END		(VA_BASE + NR_PAGES * PAGE)
#define RES_A		(NR_PAGES - 64)	/* reserved pages [RES_A, NR_PAGES) */
#define FIX_A		1024u		/* the fixed region [FIX_A, FIX_E) */
#define FIX_E		1536u
#define GUARD_STEP	8u		/* its pages p with p % GUARD_STEP == 0 */
#define NR_BOS		3
#define FIXED_BO	NR_BOS		/* bos[FIXED_BO] maps the fixed region */
#define MAX_READERS	16
#define WINDOW_MAX	1100u

#define LOG_CHUNK	(1u << 14)
#define LOG_CHUNKS	256u		/* the writer stops after 4M mappings */
#define LOG_CAP		((uint64_t)LOG_CHUNK * LOG_CHUNKS)

static inline uint64_t p2a(uint64_t p)
{
	return VA_BASE + p * PAGE;
}

static inline bool is_guard(uint64_t p)
{
	return p >= FIX_A && p < FIX_E && p % GUARD_STEP == 0;
}

/* ---- Mappings and the log ---------------------------------------------- */

/* A tagged mapping (gpuvm_test.h: magic word, id) with a checksum. */
struct rva {
	struct gt_tva t;
	uint64_t check;
};

static inline struct rva *to_rva(struct gpuva *va)
{
	return (struct rva *)gt_to_tva(va);
}

struct log_ent {
	uint64_t addr, range, off;		/* written before the insert */
	const struct gpuvm_bo_handle *bo;
	atomic_ulong ins;			/* epoch of the insert */
	atomic_ulong rem;			/* epoch after the removal */
};

static struct log_ent *_Atomic log_chunks[LOG_CHUNKS];
static uint64_t next_id = 1;			/* writer only */
static atomic_ulong epoch;

static uint64_t mix(uint64_t id, uint64_t addr, uint64_t range, uint64_t off,
		    const void *bo)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull;

	h ^= addr + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	h ^= range + 0x85ebca6bull + (h << 6) + (h >> 2);
	h ^= off + 0xc2b2ae35ull + (h << 6) + (h >> 2);
	h ^= (uint64_t)(uintptr_t)bo + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static struct log_ent *log_get(uint64_t id)
{
	struct log_ent *chunk;

	if (!id || id >= LOG_CAP)
		return NULL;
	chunk = atomic_load_explicit(&log_chunks[id / LOG_CHUNK],
				     memory_order_acquire);
	return chunk ? &chunk[id % LOG_CHUNK] : NULL;
}

/* ---- The VA space ------------------------------------------------------ */

static struct gpuvm vm;
static struct gpuvm_bo_handle bos[NR_BOS + 1];

/* The checksum goes too: a reader of a freed mapping sees it wrong. */
static void hook_va_free(struct gpuva *va)
{
	to_rva(va)->check = 0;
	gt_hook_tva_free(va);
}

static int step_any(struct gpuva_op *op, void *priv);

static const struct gpuvm_ops test_ops = {
	.vm_free = gt_hook_vm_free_count,
	.va_free = hook_va_free,
	.vm_bo_alloc = gt_hook_vm_bo_alloc,
	.vm_bo_free = gt_hook_vm_bo_free,
	.sm_step_map = step_any,
	.sm_step_remap = step_any,
	.sm_step_unmap = step_any,
};

/* ---- The writer -------------------------------------------------------- */

static atomic_bool stop_writer, stop_readers, writer_failed;
static unsigned long w_requests, w_ops[4], w_remap_both, w_keeps, w_invalid,
	w_invalidates, w_sum_mappings, w_max_mappings;

/* A new mapping for @m: logged, inserted at epoch @e by the caller. */
static struct rva *rva_new(const struct gpuva_op_map *m, unsigned long e)
{
	uint64_t id = next_id++;
	struct rva *r = (struct rva *)gt_tva_alloc(sizeof(*r), id);
	struct log_ent *ent;

	if (!log_chunks[id / LOG_CHUNK]) {
		struct log_ent *chunk = calloc(LOG_CHUNK, sizeof(*chunk));

		if (!chunk) {
			fprintf(stderr, "out of memory\n");
			exit(2);
		}
		atomic_store_explicit(&log_chunks[id / LOG_CHUNK], chunk,
				      memory_order_release);
	}
	ent = log_get(id);
	ent->addr = m->va.addr;
	ent->range = m->va.range;
	ent->off = m->bo_offset;
	ent->bo = m->bo;
	atomic_store_explicit(&ent->ins, e, memory_order_relaxed);
	r->check = mix(id, m->va.addr, m->va.range, m->bo_offset, m->bo);
	return r;
}

static void writer_fail(const char *what, int err)
{
	fprintf(stderr, "writer: %s failed: %d\n", what, err);
	atomic_store(&writer_failed, true);
}

/* The driver hooks of gt_apply_op(); @priv is the op's epoch. */
static struct gpuva *drv_va_alloc(const struct gpuva_op_map *m, void *priv)
{
	return &rva_new(m, *(unsigned long *)priv)->t.va;
}

static void drv_va_discard(struct gpuva *va, void *priv)
{
	(void)priv;
	gt_tva_discard(gt_to_tva(va));
}

/* Removed during the op at epoch e: gone from epoch e + 1 on. */
static void drv_removed(struct gpuva *va, void *priv)
{
	struct log_ent *ent = log_get(to_rva(va)->t.id);

	if (ent)
		atomic_store_explicit(&ent->rem, *(unsigned long *)priv + 1,
				      memory_order_relaxed);
}

static void drv_failed(const char *what, int err, void *priv)
{
	(void)priv;
	writer_fail(what, err);
}

static const struct gt_driver rcu_driver = {
	.va_alloc = drv_va_alloc,
	.va_discard = drv_va_discard,
	.removed = drv_removed,
	.failed = drv_failed,
};

/* Apply one op as a driver does, bracketed by the epoch. */
static int apply_op(struct gpuva_op *op)
{
	unsigned long e = atomic_load_explicit(&epoch, memory_order_relaxed) + 1;
	int ret;

	atomic_store_explicit(&epoch, e, memory_order_release);
	ret = gt_apply_op(&vm, op, &rcu_driver, &e);
	if (!ret) {
		w_ops[op->op]++;
		if (op->op == GPUVA_OP_REMAP && op->remap.prev &&
		    op->remap.next)
			w_remap_both++;
		if ((op->op == GPUVA_OP_REMAP && op->remap.unmap->keep) ||
		    (op->op == GPUVA_OP_UNMAP && op->unmap.keep))
			w_keeps++;
	}
	atomic_store_explicit(&epoch, e + 1, memory_order_release);
	return ret;
}

static int step_any(struct gpuva_op *op, void *priv)
{
	(void)priv;
	return apply_op(op);
}

static uint64_t rnd(uint64_t *rng, uint64_t n)
{
	return n ? harness_rand(rng) % n : 0;
}

/* One random request; never covers a guard page. */
static void writer_request(uint64_t *rng)
{
	struct gpuvm_map_req req;
	uint64_t A, E, len;
	bool map = rnd(rng, 100) < 60, invalid = rnd(rng, 64) == 0;
	int ret;

	memset(&req, 0, sizeof(req));
	/* Mostly short, so the space holds hundreds of mappings. */
	switch (rnd(rng, 64)) {
	case 0:
		len = 1 + rnd(rng, RES_A);
		break;
	case 1: case 2: case 3:
		len = 1 + rnd(rng, 512);
		break;
	case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11:
		len = 1 + rnd(rng, 64);
		break;
	default:
		len = 1 + rnd(rng, 8);
		break;
	}
	/* A third of the requests go to the fixed region. */
	if (rnd(rng, 3) == 0)
		A = FIX_A + rnd(rng, FIX_E - FIX_A);
	else
		A = rnd(rng, RES_A);
	if (is_guard(A))
		A++;
	E = A + len > RES_A ? RES_A : A + len;
	for (uint64_t p = A; p < E; p++)
		if (is_guard(p)) {
			E = p;
			break;
		}
	if (invalid) {
		/* Into the reserved region, or out of the space. */
		A = rnd(rng, 2) ? RES_A - 1 - rnd(rng, 4) : NR_PAGES - 1;
		E = (A < RES_A ? RES_A : A) + 1 + rnd(rng, 8);
		w_invalid++;
	}
	req.map.va.addr = p2a(A);
	req.map.va.range = (E - A) * PAGE;
	if (map) {
		int b = (int)rnd(rng, NR_BOS + 2);

		if (b <= FIXED_BO)
			req.map.bo = &bos[b];
		/* Mostly each BO at one fixed place: in-place remaps, keeps. */
		req.map.bo_offset = rnd(rng, 4) ? A * PAGE : rnd(rng, 1u << 20) * PAGE;
		if (A >= FIX_A && A < FIX_E && rnd(rng, 2)) {
			req.map.bo = &bos[FIXED_BO];
			req.map.bo_offset = A * PAGE;
		}
		if (!req.map.bo)
			req.map.flags = GPUVA_SPARSE;
	}

	gpuvm_lock(&vm);
	if (rnd(rng, 3) == 0) {
		ret = map ? gpuvm_sm_map(&vm, NULL, &req) :
			    gpuvm_sm_unmap(&vm, NULL, req.map.va.addr,
					   req.map.va.range);
	} else {
		struct gpuva_ops *ops = NULL;
		struct gpuva_op *op;

		ret = map ? gpuvm_sm_map_ops_create(&vm, &req, &ops) :
			    gpuvm_sm_unmap_ops_create(&vm, req.map.va.addr,
						      req.map.va.range, &ops);
		if (!ret) {
			gpuva_for_each_op(op, ops)
				if ((ret = apply_op(op)) != 0)
					break;
			gpuva_ops_free(&vm, ops);
		}
	}
	if (invalid) {
		if (ret != -EINVAL) {
			fprintf(stderr, "writer: %s [%#llx, +%#llx) gave %d\n",
				map ? "map" : "unmap",
				(unsigned long long)req.map.va.addr,
				(unsigned long long)req.map.va.range, ret);
			writer_fail("an invalid request", ret);
		}
	} else if (ret) {
		writer_fail(map ? "a map request" : "an unmap request", ret);
	}

	/* Now and then flip a mapping's INVALIDATED flag. */
	if (rnd(rng, 4) == 0) {
		struct gpuva *va = gpuvm_lookup(&vm, p2a(rnd(rng, RES_A)));

		if (va) {
			gpuva_invalidate(va, !gpuva_invalidated(va));
			w_invalidates++;
		}
	}
	if (w_requests % 512 == 0 && mt_validate(gpuvm_tree(&vm)))
		writer_fail("mt_validate", -EUCLEAN);
	w_sum_mappings += gpuvm_mapping_count(&vm);
	if (gpuvm_mapping_count(&vm) > w_max_mappings)
		w_max_mappings = gpuvm_mapping_count(&vm);
	gpuvm_unlock(&vm);
	w_requests++;
}

static void *writer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	urcu_memb_register_thread();
	while (!atomic_load(&stop_writer) && !atomic_load(&writer_failed)) {
		/* A request makes at most three mappings. */
		if (next_id + 3 >= LOG_CAP) {
			printf("test_gpuvm_rcu: the log is full; the writer stops\n");
			break;
		}
		writer_request(&rng);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* ---- The readers ------------------------------------------------------- */

static atomic_ulong reader_errors, r_lookups, r_found, r_guard_lookups,
	r_windows, r_window_mappings, r_stable_windows, r_invalidated_seen;

static void reader_error(const char *what, uint64_t addr, struct gpuva *va)
{
	if (atomic_fetch_add(&reader_errors, 1) < 10) {
		if (va)
			fprintf(stderr, "reader: %s at %#llx: mapping [%#llx, +%#llx) bo %p @%#llx\n",
				what, (unsigned long long)addr,
				(unsigned long long)va->va.addr,
				(unsigned long long)va->va.range,
				(void *)va->bo,
				(unsigned long long)va->bo_offset);
		else
			fprintf(stderr, "reader: %s at %#llx\n", what,
				(unsigned long long)addr);
	}
}

/*
 * Is @va a mapping the writer made, unchanged, and present at some moment
 * between epochs @e0 and @e1? NULL if so, else what is wrong.
 */
static const char *verify_va(struct gpuva *va, unsigned long e0,
			     unsigned long e1)
{
	struct rva *r = to_rva(va);
	struct log_ent *ent;
	unsigned long ins, rem;

	if (r->t.magic != GT_TVA_MAGIC)
		return "a freed mapping";
	if (r->check != mix(r->t.id, va->va.addr, va->va.range, va->bo_offset,
			    va->bo))
		return "fields not the ones it was made with";
	ent = log_get(r->t.id);
	if (!ent)
		return "an id the writer never logged";
	if (ent->addr != va->va.addr || ent->range != va->va.range ||
	    ent->off != va->bo_offset || ent->bo != va->bo)
		return "fields not the logged ones";
	ins = atomic_load_explicit(&ent->ins, memory_order_relaxed);
	rem = atomic_load_explicit(&ent->rem, memory_order_relaxed);
	if (!ins || ins > e1)
		return "inserted after the read ended";
	if (rem && rem <= e0)
		return "removed before the read began";
	if (gpuva_invalidated(va))
		atomic_fetch_add(&r_invalidated_seen, 1);
	return NULL;
}

static void read_lookup(uint64_t *rng)
{
	uint64_t p, addr;
	unsigned long e0, e1;
	struct gpuva *va;
	const char *why;
	bool must_be_null, guard;

	switch (rnd(rng, 16)) {
	case 0:			/* the reserved region */
		p = RES_A + rnd(rng, NR_PAGES - RES_A);
		break;
	case 1:			/* outside the space */
		p = rnd(rng, 2) ? NR_PAGES + rnd(rng, 64) :
				  (uint64_t)-1 - rnd(rng, 64);
		break;
	case 2: case 3: case 4: case 5:	/* a guard */
		p = FIX_A + GUARD_STEP * rnd(rng, (FIX_E - FIX_A) / GUARD_STEP);
		break;
	default:
		p = rnd(rng, RES_A);
		break;
	}
	addr = p2a(p) + rnd(rng, PAGE);
	guard = is_guard(p);
	must_be_null = p >= RES_A;
	if (p >= NR_PAGES && p < (uint64_t)-64)
		addr = VA_END + (p - NR_PAGES) * PAGE + rnd(rng, PAGE);
	else if (p >= NR_PAGES)
		addr = VA_BASE - ((uint64_t)-p) * PAGE + rnd(rng, PAGE);

	mt_rcu_read_lock();
	e0 = atomic_load_explicit(&epoch, memory_order_acquire);
	va = gpuvm_lookup(&vm, addr);
	e1 = atomic_load_explicit(&epoch, memory_order_acquire);
	atomic_fetch_add_explicit(&r_lookups, 1, memory_order_relaxed);
	if (guard)
		atomic_fetch_add_explicit(&r_guard_lookups, 1,
					  memory_order_relaxed);
	if (!va) {
		if (guard)
			reader_error("a guard page read as unmapped", addr, NULL);
	} else if (must_be_null) {
		reader_error("a mapping outside the space or in the reserved region",
			     addr, va);
	} else if (va->va.addr > addr || addr - va->va.addr >= va->va.range) {
		reader_error("the mapping does not cover the address", addr, va);
	} else if ((why = verify_va(va, e0, e1)) != NULL) {
		reader_error(why, addr, va);
	} else if (guard && (va->bo != &bos[FIXED_BO] ||
			     va->bo_offset != va->va.addr - VA_BASE)) {
		reader_error("a guard page not in the fixed BO at its place",
			     addr, va);
	} else {
		atomic_fetch_add_explicit(&r_found, 1, memory_order_relaxed);
	}
	mt_rcu_read_unlock();
}

static void read_window(uint64_t *rng)
{
	struct gpuva *found[WINDOW_MAX];
	uint64_t s = rnd(rng, NR_PAGES), len, e, start, end, prev_end, g;
	unsigned long e0, e1, n = 0;
	struct gpuva *va;
	bool stable, bad = false;

	len = rnd(rng, 8) ? 1 + rnd(rng, 64) : 1 + rnd(rng, WINDOW_MAX - 64);
	e = s + len;
	start = p2a(s) + (rnd(rng, 4) ? 0 : rnd(rng, PAGE));
	end = p2a(e);

	mt_rcu_read_lock();
	e0 = atomic_load_explicit(&epoch, memory_order_acquire);
	gpuvm_for_each_va_range(va, &vm, start, end) {
		if (n == WINDOW_MAX) {
			reader_error("more mappings than pages in a window",
				     start, va);
			bad = true;
			break;
		}
		found[n++] = va;
	}
	e1 = atomic_load_explicit(&epoch, memory_order_acquire);
	/* No op ran during the walk: the space held still. */
	stable = e0 == e1 && !(e0 & 1);
	prev_end = 0;
	g = s;
	while (g < e && !is_guard(g))
		g++;
	for (unsigned long i = 0; i < n; i++) {
		const char *why;
		uint64_t vend;

		va = found[i];
		vend = va->va.addr + va->va.range;
		if ((why = verify_va(va, e0, e1)) != NULL)
			reader_error(why, start, va);
		else if (va->va.addr >= end || vend <= start)
			reader_error("a window mapping outside the window",
				     start, va);
		/* Each step starts at the previous mapping's end. */
		else if (i && vend <= prev_end)
			reader_error("window mappings not ascending", start, va);
		/* Without a concurrent op they cannot overlap either. */
		else if (i && stable && va->va.addr < prev_end)
			reader_error("window mappings overlap", start, va);
		/* A guard is always mapped: the walk cannot step over one. */
		else if (g < e && p2a(g) < va->va.addr)
			reader_error("the walk skipped a guard page", p2a(g), va);
		else
			why = "";
		if (!why || *why) {
			bad = true;
			break;
		}
		while (g < e && p2a(g) < vend) {
			g++;
			while (g < e && !is_guard(g))
				g++;
		}
		prev_end = vend;
	}
	if (g < e && !bad)
		reader_error("the walk missed a guard page at the end", p2a(g),
			     NULL);
	mt_rcu_read_unlock();
	atomic_fetch_add_explicit(&r_windows, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r_window_mappings, n, memory_order_relaxed);
	if (stable)
		atomic_fetch_add_explicit(&r_stable_windows, 1,
					  memory_order_relaxed);
}

/* gpuva_find_first() over a window that holds a guard page. */
static void read_find_first(uint64_t *rng)
{
	uint64_t g = FIX_A + GUARD_STEP * rnd(rng, (FIX_E - FIX_A) / GUARD_STEP);
	uint64_t before = rnd(rng, 16), after = rnd(rng, 16);
	uint64_t start = p2a(g - before), range = (before + 1 + after) * PAGE;
	unsigned long e0, e1;
	struct gpuva *va;
	const char *why;

	mt_rcu_read_lock();
	e0 = atomic_load_explicit(&epoch, memory_order_acquire);
	va = gpuva_find_first(&vm, start, range);
	e1 = atomic_load_explicit(&epoch, memory_order_acquire);
	if (!va)
		reader_error("gpuva_find_first found nothing over a guard",
			     start, NULL);
	else if (va->va.addr > p2a(g) || va->va.addr + va->va.range <= start)
		reader_error("gpuva_find_first: not the lowest over the window",
			     start, va);
	else if ((why = verify_va(va, e0, e1)) != NULL)
		reader_error(why, start, va);
	mt_rcu_read_unlock();
}

static void *reader(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	urcu_memb_register_thread();
	while (!atomic_load(&stop_readers)) {
		unsigned int k = (unsigned int)rnd(&rng, 16);

		if (k < 12)
			read_lookup(&rng);
		else if (k < 15)
			read_window(&rng);
		else
			read_find_first(&rng);
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* ---- Main -------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Unmap [@A, @E) through an op list, from the main thread. */
static void unmap_all(uint64_t A, uint64_t E)
{
	struct gpuva_ops *ops = NULL;
	struct gpuva_op *op;
	int ret;

	ret = gpuvm_sm_unmap_ops_create(&vm, p2a(A), (E - A) * PAGE, &ops);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	gpuva_for_each_op(op, ops)
		CHECK_EQ(apply_op(op), 0);
	gpuva_ops_free(&vm, ops);
}

int main(void)
{
	uint64_t seed = harness_seed("test_gpuvm_rcu");
	const char *env = getenv("MT_GPUVM_RCU_SECONDS");
	double seconds = env && *env ? atof(env) : 2.0;
	long readers_env = gt_env_long("MT_GPUVM_RCU_READERS", 3);
	unsigned int nr_readers = readers_env < 1 ? 1 :
				  readers_env > MAX_READERS ? MAX_READERS :
				  (unsigned int)readers_env;
	pthread_t wthread, rthreads[MAX_READERS];
	struct gpuva_op op;
	size_t live_before;
	double t0;

	urcu_memb_register_thread();
	live_before = gt_nodes_live_settled();

	CHECK_EQ(gpuvm_init(&vm, "rcu", 0, VA_BASE, NR_PAGES * PAGE,
			    p2a(RES_A), (NR_PAGES - RES_A) * PAGE, &test_ops), 0);
	for (int b = 0; b <= NR_BOS; b++)
		gpuvm_bo_handle_init(&bos[b], 0, b == 0 ? &vm : NULL);

	/* The fixed region, one mapping to start with. */
	memset(&op, 0, sizeof(op));
	op.op = GPUVA_OP_MAP;
	op.map.va.addr = p2a(FIX_A);
	op.map.va.range = (FIX_E - FIX_A) * PAGE;
	op.map.bo = &bos[FIXED_BO];
	op.map.bo_offset = FIX_A * PAGE;
	gpuvm_lock(&vm);
	CHECK_EQ(apply_op(&op), 0);
	gpuvm_unlock(&vm);

	for (unsigned int t = 0; t < nr_readers; t++)
		pthread_create(&rthreads[t], NULL, reader,
			       (void *)(uintptr_t)(seed * 31 + t + 1));
	pthread_create(&wthread, NULL, writer, (void *)(uintptr_t)seed);
	t0 = now_seconds();
	while (now_seconds() - t0 < seconds && !atomic_load(&writer_failed) &&
	       atomic_load(&reader_errors) == 0) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&stop_writer, true);
	pthread_join(wthread, NULL);
	atomic_store(&stop_readers, true);
	for (unsigned int t = 0; t < nr_readers; t++)
		pthread_join(rthreads[t], NULL);

	printf("test_gpuvm_rcu: %u readers, %.1f s: %lu requests (%lu invalid): "
	       "%lu MAP, %lu REMAP (%lu with both pieces), %lu UNMAP, %lu keep, "
	       "%lu invalidate flips, %lu mappings on average, %lu at most; "
	       "readers: %lu lookups (%lu on guards, %lu found), "
	       "%lu windows (%lu held still, %lu mappings), %lu invalidated seen\n",
	       nr_readers, now_seconds() - t0, w_requests, w_invalid,
	       w_ops[GPUVA_OP_MAP], w_ops[GPUVA_OP_REMAP], w_remap_both,
	       w_ops[GPUVA_OP_UNMAP], w_keeps, w_invalidates,
	       w_requests ? w_sum_mappings / w_requests : 0, w_max_mappings,
	       atomic_load(&r_lookups), atomic_load(&r_guard_lookups),
	       atomic_load(&r_found), atomic_load(&r_windows),
	       atomic_load(&r_stable_windows), atomic_load(&r_window_mappings),
	       atomic_load(&r_invalidated_seen));
	CHECK(!atomic_load(&writer_failed));
	CHECK_EQ(atomic_load(&reader_errors), 0);
	CHECK(w_requests > 0);
	CHECK(w_ops[GPUVA_OP_REMAP] > 0);
	CHECK(atomic_load(&r_guard_lookups) > 0);
	CHECK(atomic_load(&r_windows) > 0);

	/* Everything still mapped is in the space, and goes. */
	gpuvm_lock(&vm);
	CHECK_EQ(mt_validate(gpuvm_tree(&vm)), 0);
	for (uint64_t p = FIX_A; p < FIX_E; p += GUARD_STEP) {
		struct gpuva *va = gpuvm_lookup(&vm, p2a(p));

		CHECK(va && va->bo == &bos[FIXED_BO]);
	}
	unmap_all(0, RES_A);
	CHECK_EQ(gpuvm_mapping_count(&vm), 0);
	CHECK(gpuva_find_first(&vm, VA_BASE, VA_END - VA_BASE) == NULL);
	CHECK_EQ(mt_validate(gpuvm_tree(&vm)), 0);
	for (int b = 0; b <= NR_BOS; b++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(&vm, &bos[b]);

		CHECK(vm_bo == NULL);
		if (vm_bo)
			gpuvm_bo_put(vm_bo);
	}
	gpuvm_unlock(&vm);

	gpuvm_put(&vm);
	CHECK_EQ(atomic_load(&gt.vm_free), 1);
	CHECK_EQ(atomic_load(&gt.va_free), atomic_load(&gt.va_alloc));
	CHECK_EQ(atomic_load(&gt.va_bad_free), 0);
	CHECK_EQ(atomic_load(&gt.vm_bo_free), atomic_load(&gt.vm_bo_alloc));
	for (int b = 0; b <= NR_BOS; b++)
		CHECK_EQ(gpuvm_bo_handle_fini(&bos[b]), 0);
	for (unsigned int c = 0; c < LOG_CHUNKS; c++)
		free(atomic_load(&log_chunks[c]));

	CHECK_EQ(gt_nodes_live_settled(), live_before);
	urcu_memb_unregister_thread();
	return harness_finish();
}
