/* SPDX-License-Identifier: MIT */
/*
 * The bind queue's workloads (libmapletree-gpuvm, gpuvm_bind_*): a VA
 * space of 2^47 bytes whose populated area is a row of 64 KiB slots in 8
 * clusters 8 TiB apart, one slot in 9 left free, n of them mapped at the
 * start (n and n/5), of 1024 private BOs (slot j maps BO j % 1024 at
 * offset (j / 1024) * 64 KiB). Built with gpuva_insert() + gpuva_link().
 *
 * Requests are 64 KiB, on slot boundaries, in a fixed rotation: unmap a
 * mapped slot, map a free slot, map over a mapped slot (a random BO at a
 * random 64 KiB offset), so the space stays at n mappings (within 1). A
 * job is 256 requests. A reference model replays every request (per slot:
 * BO and offset, or free), and the space is checked against it after the
 * bind phases of each size.
 *
 *   throughput    up to 400 jobs (none started 1 s after the first 10)
 *                 through a fresh queue in each mode (staged and
 *                 immediate), K = 8 jobs in flight: the submitter waits
 *                 for the out-fence of job i - 8 before it submits job i.
 *                 run_op is a no-op that counts the ops. Figures, per
 *                 request: requests/s from the first submit to the last
 *                 out-fence; wall and CPU time inside
 *                 gpuvm_bind_submit() (the wall time includes waiting for
 *                 the VM lock, which the worker holds while it runs and
 *                 cleans up a job); wall time of the run steps
 *                 (run_begin to run_end hooks: the fence-signalling
 *                 section, VM lock wait included) and the worker's CPU
 *                 time in them; the worker thread's CPU time from its
 *                 first run step to its last (run steps plus the cleanup
 *                 after each job), over the jobs between. A job's
 *                 requests are generated just before its submit, outside
 *                 the submit's timing (a few us per job, so about 1% of
 *                 the end-to-end figure). The two modes take turns going
 *                 first.
 *   memory        immediate mode, the worker stopped, K = 8 jobs submitted
 *                 (2048 requests pending). Per pending request: the
 *                 queue's reserved_bytes (= reserved_peak here: gpuvas,
 *                 the job's copy of its requests and its arrays, as the
 *                 library counts them); the heap those submits took
 *                 (mallinfo2(), less the node cache's slab growth); the
 *                 tree nodes the pre-split added (mt_cache_stats()
 *                 nodes_live after - before, * 256 bytes: nodes the tree
 *                 and the boundary tree consume, not a reservation), for
 *                 these slot-aligned requests and for requests of 16 KiB
 *                 inside mappings (4 KiB aligned, so both ends split a
 *                 mapping; those 8 jobs are cancelled by destroying the
 *                 queue, which must leave the space unchanged). For
 *                 comparison, what mt_reserve() would hold instead:
 *                 3 stores per request with max_entries = twice the
 *                 mapping count (mt_reservation_nodes() * 256, for one
 *                 job, released at once). Then the worker runs the 8
 *                 jobs; used / reserved gpuvas is reported. The sum of
 *                 the reservation and the nodes of requests inside
 *                 mappings is held to the target too.
 *   latency       a "fault handler" thread looks up random addresses of
 *                 the populated area (gpuvm_lookup(), one
 *                 mt_rcu_read_lock() section per lookup, timed per batch
 *                 of 1000; hits checked to cover the address), while the
 *                 main thread alternates idle and busy phases of 100 ms,
 *                 6 of each, immediate mode. Busy, first form: the main
 *                 thread submits jobs with K = 8 in flight while the
 *                 worker runs them: 3 threads on the machine's cores.
 *                 Busy, second form: the worker stopped, the main thread
 *                 pre-submits enough jobs for about 100 ms (calibrated
 *                 phase by phase), then starts the worker and sleeps on
 *                 the last fence: only the worker and the reader run.
 *                 Only batches that start and end inside one phase count.
 *                 Figures: median ns per lookup idle and busy, and
 *                 busy / idle of the medians and of the 90th percentiles.
 *                 Before each idle phase an mt_rcu_barrier() lets the
 *                 previous phase's deferred frees finish.
 *   forbidden     mt_cache_stats() forbidden_allocs gained over a size's
 *                 whole work: allocations tried inside fence-signalling
 *                 sections, which must be 0.
 *
 * Every figure is the median of the per-run figures; ratios are taken
 * within a run; min and max are the runs'. Everything is freed at the end
 * (queues destroyed, every mapping removed, every vm_bo put, gpuvm_put(),
 * gpuvm_bo_handle_fini()), and the node cache must be back to the live
 * nodes it had before the space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include <mapletree/gpuvm.h>
#include <mapletree/maple_tree.h>
#include <mapletree/node_alloc.h>

#include "bench.h"

#define KIB		1024ULL
#define VA_SPACE	(1ULL << 47)
#define MAP_SIZE	(64 * KIB)
#define NR_BOS		1024UL
#define NR_CLUSTERS	8UL
#define CLUSTER_BASE	(1ULL << 32)
#define CLUSTER_STRIDE	(1ULL << 43)	/* 8 TiB */
#define HOLE_EVERY	9UL		/* slot 9k + 8 starts free */
#define JOB_REQS	256U
#define INFLIGHT	8U		/* K: jobs in flight */
#define THR_JOBS	400UL		/* jobs per throughput run, at most; */
#define THR_MIN_JOBS	(INFLIGHT + 2)	/* at least these, */
#define THR_BUDGET_NS	1000000000ULL	/* none started after 1 s past */
#define INSIDE_LEN	(16 * KIB)	/* requests inside a mapping */
#define INSIDE_STEP	(4 * KIB)
#define LOOKUP_BATCH	1000UL
#define PHASES		6U		/* idle and busy phases per form */
#define PHASE_NS	100000000ULL	/* 100 ms */
#define PRESUBMIT_FIRST	64UL		/* pre-submitted jobs, first */
#define PRESUBMIT_MAX	1024UL
#define LAT_CAP		65536UL		/* batches kept per kind */
#define NODE_BYTES	256.0		/* the node cache's node size */
#define MIN_N		1000UL
#define SMALL_DIV	5UL		/* the second size is n / 5 */

#define TARGET_RESERVED	1024.0		/* bytes per request */
#define TARGET_LATENCY	1.3		/* busy / idle */

/* ---- Figures ------------------------------------------------------------ */

enum size_id { SZ_LARGE, SZ_SMALL, NR_SIZES };

enum unit { U_NS, U_BYTES, U_RATIO, U_RATE, U_COUNT };

enum target_kind { T_NONE, T_BELOW, T_ZERO };

enum bfig {
	BF_STAGED_RATE, BF_STAGED_SUBMIT, BF_STAGED_SUBMIT_CPU, BF_STAGED_RUN,
	BF_STAGED_RUN_CPU, BF_STAGED_WORKER,
	BF_IMM_RATE, BF_IMM_SUBMIT, BF_IMM_SUBMIT_CPU, BF_IMM_RUN,
	BF_IMM_RUN_CPU, BF_IMM_WORKER,
	BF_MEM_RESERVED, BF_MEM_HEAP, BF_MEM_NODES, BF_MEM_NODES_INSIDE,
	BF_MEM_TOTAL_INSIDE, BF_MEM_MT_RESERVE, BF_MEM_VS_RESERVE,
	BF_MEM_VAS_USED,
	BF_LAT_IDLE3, BF_LAT_BUSY3, BF_LAT_RATIO3, BF_LAT_P90_3, BF_RATE3,
	BF_LAT_IDLE2, BF_LAT_BUSY2, BF_LAT_RATIO2, BF_LAT_P90_2, BF_RATE2,
	BF_FORBIDDEN,
	NR_BF
};

struct fig_desc {
	const char *key;	/* the result line's */
	const char *mode;	/* the result line's structure, the table's */
	const char *label;	/* the table's */
	enum unit unit;
	enum target_kind tk;
	double target;
};

#define STG	"staged"
#define IMM	"immediate"

static const struct fig_desc bfig_desc[NR_BF] = {
	[BF_STAGED_RATE] = { "rate", STG, "requests/s, submit to last fence",
		U_RATE, T_NONE, 0 },
	[BF_STAGED_SUBMIT] = { "submit", STG,
		"in gpuvm_bind_submit (wall), ns/req", U_NS, T_NONE, 0 },
	[BF_STAGED_SUBMIT_CPU] = { "submit_cpu", STG,
		"in gpuvm_bind_submit (CPU), ns/req", U_NS, T_NONE, 0 },
	[BF_STAGED_RUN] = { "run", STG, "in run steps (wall), ns/req", U_NS,
		T_NONE, 0 },
	[BF_STAGED_RUN_CPU] = { "run_cpu", STG,
		"in run steps (worker CPU), ns/req", U_NS, T_NONE, 0 },
	[BF_STAGED_WORKER] = { "worker_cpu", STG,
		"worker CPU (run+cleanup), ns/req", U_NS, T_NONE, 0 },
	[BF_IMM_RATE] = { "rate", IMM, "requests/s, submit to last fence",
		U_RATE, T_NONE, 0 },
	[BF_IMM_SUBMIT] = { "submit", IMM,
		"in gpuvm_bind_submit (wall), ns/req", U_NS, T_NONE, 0 },
	[BF_IMM_SUBMIT_CPU] = { "submit_cpu", IMM,
		"in gpuvm_bind_submit (CPU), ns/req", U_NS, T_NONE, 0 },
	[BF_IMM_RUN] = { "run", IMM, "in run steps (wall), ns/req", U_NS,
		T_NONE, 0 },
	[BF_IMM_RUN_CPU] = { "run_cpu", IMM,
		"in run steps (worker CPU), ns/req", U_NS, T_NONE, 0 },
	[BF_IMM_WORKER] = { "worker_cpu", IMM,
		"worker CPU (run+cleanup), ns/req", U_NS, T_NONE, 0 },
	[BF_MEM_RESERVED] = { "mem_reserved", IMM,
		"reserved_bytes / pending request", U_BYTES, T_BELOW,
		TARGET_RESERVED },
	[BF_MEM_HEAP] = { "mem_heap", IMM,
		"heap taken by submits / request", U_BYTES, T_NONE, 0 },
	[BF_MEM_NODES] = { "mem_presplit_nodes", IMM,
		"pre-split tree nodes / request", U_BYTES, T_NONE, 0 },
	[BF_MEM_NODES_INSIDE] = { "mem_presplit_nodes_inside", IMM,
		"the same, 16 KiB inside mappings", U_BYTES, T_NONE, 0 },
	[BF_MEM_TOTAL_INSIDE] = { "mem_total_inside", IMM,
		"reserved + nodes, inside mappings", U_BYTES, T_BELOW,
		TARGET_RESERVED },
	[BF_MEM_MT_RESERVE] = { "mem_mt_reserve", IMM,
		"alternative: mt_reserve 3 stores/req", U_BYTES, T_NONE, 0 },
	[BF_MEM_VS_RESERVE] = { "mem_mt_reserve_ratio", IMM,
		"mt_reserve / (reserved + nodes)", U_RATIO, T_NONE, 0 },
	[BF_MEM_VAS_USED] = { "vas_used", IMM,
		"gpuvas used / reserved", U_RATIO, T_NONE, 0 },
	[BF_LAT_IDLE3] = { "lookup_idle", IMM,
		"lookup idle, ns (3-thread form)", U_NS, T_NONE, 0 },
	[BF_LAT_BUSY3] = { "lookup_busy", IMM,
		"lookup, submitter+worker busy, ns", U_NS, T_NONE, 0 },
	[BF_LAT_RATIO3] = { "lookup_busy_ratio", IMM,
		"busy / idle, medians (3 threads)", U_RATIO, T_BELOW,
		TARGET_LATENCY },
	[BF_LAT_P90_3] = { "lookup_busy_ratio_p90", IMM,
		"busy / idle, 90th percentiles", U_RATIO, T_NONE, 0 },
	[BF_RATE3] = { "rate_beside_reader", IMM,
		"requests/s beside the reader", U_RATE, T_NONE, 0 },
	[BF_LAT_IDLE2] = { "lookup_idle_presubmitted", IMM,
		"lookup idle, ns (2-thread form)", U_NS, T_NONE, 0 },
	[BF_LAT_BUSY2] = { "lookup_busy_presubmitted", IMM,
		"lookup, worker alone busy, ns", U_NS, T_NONE, 0 },
	[BF_LAT_RATIO2] = { "lookup_busy_ratio_presubmitted", IMM,
		"busy / idle, medians (2 threads)", U_RATIO, T_BELOW,
		TARGET_LATENCY },
	[BF_LAT_P90_2] = { "lookup_busy_ratio_presubmitted_p90", IMM,
		"busy / idle, 90th percentiles", U_RATIO, T_NONE, 0 },
	[BF_RATE2] = { "rate_worker_beside_reader", IMM,
		"worker requests/s beside the reader", U_RATE, T_NONE, 0 },
	[BF_FORBIDDEN] = { "forbidden_allocs", "both",
		"allocations in signalling sections", U_COUNT, T_ZERO, 0 },
};

struct figure {
	unsigned long n;
	double *v;		/* one value per run; sorted when printed */
	unsigned int nv;
	double med;		/* set when printed */
};

static struct figure bfig[NR_SIZES][NR_BF];

static void put(struct figure *f, unsigned long n, double value)
{
	f->n = n;
	f->v[f->nv++] = value;
}

static double last(const struct figure *f)
{
	return f->v[f->nv - 1];
}

/* The 90th percentile of @v, already sorted. */
static double p90(const double *v, size_t nv)
{
	return v[(size_t)(0.9 * (double)(nv - 1))];
}

static size_t nodes_live(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.nodes_live;
}

static unsigned long forbidden_allocs(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.forbidden_allocs;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	while (nanosleep(&ts, &ts))
		;
}

/* ---- The VA space and its model ----------------------------------------- */

struct bench_bo {
	struct gpuvm_bo_handle h;
	struct gpuvm_bo *vm_bo;	/* the bench's own reference */
};

struct space {
	struct gpuvm vm;
	unsigned long n;		/* mappings at the start */
	unsigned long slots;		/* populated area, 64 KiB slots */
	unsigned long per_cluster;
	unsigned long bo_slots;		/* every BO's size, in slots */
	struct bench_bo *bo;		/* NR_BOS */
	/*
	 * The model: what the space holds once every job submitted so far
	 * has run. m_bo is the BO index + 1, or 0 for a free slot; m_off the
	 * offset in slots. list holds the mapped slots in [0, nr_mapped) and
	 * the free ones after; pos[slot] is the slot's index in list.
	 */
	uint16_t *m_bo;
	uint32_t *m_off;
	uint32_t *list;
	uint32_t *pos;
	unsigned long nr_mapped;
	unsigned long seq;		/* the request rotation */
	size_t live0;			/* nodes_live before gpuvm_init */
};

static uint64_t slot_addr(const struct space *s, unsigned long j)
{
	return CLUSTER_BASE + (uint64_t)(j / s->per_cluster) * CLUSTER_STRIDE +
	       (uint64_t)(j % s->per_cluster) * MAP_SIZE;
}

/* The slot at @addr, which must start one; ULONG_MAX if it does not. */
static unsigned long addr_slot(const struct space *s, uint64_t addr)
{
	uint64_t c, w, j;

	if (addr < CLUSTER_BASE)
		return ULONG_MAX;
	c = (addr - CLUSTER_BASE) / CLUSTER_STRIDE;
	w = (addr - CLUSTER_BASE) % CLUSTER_STRIDE;
	if (w % MAP_SIZE || w / MAP_SIZE >= s->per_cluster)
		return ULONG_MAX;
	j = c * s->per_cluster + w / MAP_SIZE;
	return j < s->slots ? (unsigned long)j : ULONG_MAX;
}

static void list_swap(struct space *s, unsigned long a, unsigned long b)
{
	uint32_t x = s->list[a], y = s->list[b];

	s->list[a] = y;
	s->list[b] = x;
	s->pos[y] = (uint32_t)a;
	s->pos[x] = (uint32_t)b;
}

static void model_map(struct space *s, unsigned long j, unsigned long bo,
		      unsigned long off)
{
	if (!s->m_bo[j])
		list_swap(s, s->pos[j], s->nr_mapped++);
	s->m_bo[j] = (uint16_t)(bo + 1);
	s->m_off[j] = (uint32_t)off;
}

static void model_unmap(struct space *s, unsigned long j)
{
	if (s->m_bo[j])
		list_swap(s, s->pos[j], --s->nr_mapped);
	s->m_bo[j] = 0;
}

/* The next request of the rotation, applied to the model. */
static void gen_req(struct space *s, struct rng *r, struct gpuvm_bind_req *req)
{
	unsigned long kind = s->seq++ % 3, holes = s->slots - s->nr_mapped;
	unsigned long j, bo, off;

	if (kind == 1 && !holes)
		kind = 2;
	if (kind != 1 && !s->nr_mapped)
		kind = 1;
	if (kind == 1)
		j = s->list[s->nr_mapped + rng_below(r, holes)];
	else
		j = s->list[rng_below(r, s->nr_mapped)];
	memset(req, 0, sizeof(*req));
	req->addr = slot_addr(s, j);
	req->range = MAP_SIZE;
	if (kind == 0) {
		req->op = GPUVM_BIND_UNMAP;
		model_unmap(s, j);
		return;
	}
	bo = rng_below(r, NR_BOS);
	off = rng_below(r, s->bo_slots);
	req->op = GPUVM_BIND_MAP;
	req->bo = &s->bo[bo].h;
	req->bo_offset = (uint64_t)off * MAP_SIZE;
	model_map(s, j, bo, off);
}

static void gen_job(struct space *s, struct rng *r, struct gpuvm_bind_req *reqs)
{
	for (unsigned int k = 0; k < JOB_REQS; k++)
		gen_req(s, r, &reqs[k]);
}

static void space_free(struct gpuvm *vm)
{
	free((struct space *)((char *)vm - offsetof(struct space, vm)));
}

static const struct gpuvm_ops bench_vm_ops = {
	.vm_free = space_free,
};

static struct space *space_create(unsigned long n)
{
	struct space *s = bench_xcalloc(1, sizeof(*s));
	unsigned long mapped = 0, k = 0;
	int ret;

	s->n = n;
	s->slots = n + (n + 7) / 8;
	s->per_cluster = (s->slots + NR_CLUSTERS - 1) / NR_CLUSTERS;
	s->bo_slots = (s->slots + NR_BOS - 1) / NR_BOS;
	s->m_bo = bench_xcalloc(s->slots, sizeof(*s->m_bo));
	s->m_off = bench_xcalloc(s->slots, sizeof(*s->m_off));
	s->list = bench_xcalloc(s->slots, sizeof(*s->list));
	s->pos = bench_xcalloc(s->slots, sizeof(*s->pos));

	mt_rcu_barrier(NULL);
	s->live0 = nodes_live();
	ret = gpuvm_init(&s->vm, "bench-bind", 0, 0, VA_SPACE, 0, 0,
			 &bench_vm_ops);
	if (ret)
		bench_fail("bind: gpuvm_init returned %d", ret);
	s->bo = bench_xcalloc(NR_BOS, sizeof(*s->bo));
	for (unsigned long b = 0; b < NR_BOS; b++) {
		gpuvm_bo_handle_init(&s->bo[b].h, s->bo_slots * MAP_SIZE,
				     &s->vm);
		ret = gpuvm_bo_obtain(&s->vm, &s->bo[b].h, &s->bo[b].vm_bo);
		if (ret)
			bench_fail("bind: gpuvm_bo_obtain returned %d", ret);
	}

	gpuvm_lock(&s->vm);
	for (unsigned long j = 0; j < s->slots; j++) {
		struct bench_bo *bo = &s->bo[j % NR_BOS];
		struct gpuva *va;

		if (j % HOLE_EVERY == HOLE_EVERY - 1 || mapped == n)
			continue;
		va = bench_xcalloc(1, sizeof(*va));
		gpuva_init(va, slot_addr(s, j), MAP_SIZE, &bo->h,
			   (uint64_t)(j / NR_BOS) * MAP_SIZE);
		ret = gpuva_insert(&s->vm, va);
		if (ret)
			bench_fail("bind: inserting slot %lu returned %d", j,
				   ret);
		gpuva_link(va, bo->vm_bo);
		s->m_bo[j] = (uint16_t)(j % NR_BOS + 1);
		s->m_off[j] = (uint32_t)(j / NR_BOS);
		mapped++;
	}
	mt_rcu_barrier(gpuvm_tree(&s->vm));
	gpuvm_unlock(&s->vm);
	if (mapped != n || gpuvm_mapping_count(&s->vm) != n)
		bench_fail("bind: %lu mappings after the build, expected %lu",
			   gpuvm_mapping_count(&s->vm), n);
	/* Mapped slots first, then the free ones. */
	for (unsigned long j = 0; j < s->slots; j++)
		if (s->m_bo[j]) {
			s->pos[j] = (uint32_t)k;
			s->list[k++] = (uint32_t)j;
		}
	for (unsigned long j = 0; j < s->slots; j++)
		if (!s->m_bo[j]) {
			s->pos[j] = (uint32_t)k;
			s->list[k++] = (uint32_t)j;
		}
	s->nr_mapped = n;
	return s;
}

/* The space must hold exactly what the model says. */
static void verify(struct space *s, const char *who)
{
	unsigned long seen = 0;
	struct gpuva *va;

	gpuvm_lock(&s->vm);
	gpuvm_for_each_va(va, &s->vm) {
		unsigned long j = addr_slot(s, va->va.addr);
		ptrdiff_t b = va->bo ? (struct bench_bo *)(void *)va->bo -
				       s->bo : -1;

		if (j == ULONG_MAX || va->va.range != MAP_SIZE)
			bench_fail("%s: a mapping [%#" PRIx64 ", +%#" PRIx64
				   ") is not one slot", who, va->va.addr,
				   va->va.range);
		if (!s->m_bo[j] || b != s->m_bo[j] - 1 ||
		    va->bo_offset != (uint64_t)s->m_off[j] * MAP_SIZE ||
		    !va->vm_bo || va->vm_bo->obj != va->bo)
			bench_fail("%s: slot %lu at %#" PRIx64 " maps BO %td "
				   "at %#" PRIx64 ", the model has %s%d at "
				   "%#" PRIx64, who, j, va->va.addr, b,
				   va->bo_offset, s->m_bo[j] ? "BO " : "free ",
				   s->m_bo[j] - 1,
				   (uint64_t)(s->m_off[j] * MAP_SIZE));
		seen++;
	}
	if (seen != s->nr_mapped || gpuvm_mapping_count(&s->vm) != seen)
		bench_fail("%s: %lu mappings found, mapping count %lu, the "
			   "model has %lu", who, seen,
			   gpuvm_mapping_count(&s->vm), s->nr_mapped);
	if (mt_validate(gpuvm_tree(&s->vm)))
		bench_fail("%s: mt_validate failed", who);
	gpuvm_unlock(&s->vm);
}

/* Remove every mapping, drop every reference, free the model. */
static void space_destroy(struct space *s)
{
	struct bench_bo *bos = s->bo;
	size_t live0 = s->live0;
	unsigned long seen = 0, want = s->nr_mapped;
	struct gpuva *va;
	int ret;

	gpuvm_lock(&s->vm);
	gpuvm_for_each_va(va, &s->vm) {
		gpuva_remove(va);
		gpuva_unlink(va);
		gpuva_free_rcu(va);
		seen++;
	}
	if (seen != want || gpuvm_mapping_count(&s->vm))
		bench_fail("bind: teardown removed %lu mappings of %lu, %lu "
			   "left", seen, want, gpuvm_mapping_count(&s->vm));
	gpuvm_unlock(&s->vm);
	free(s->m_bo);
	free(s->m_off);
	free(s->list);
	free(s->pos);
	for (unsigned long b = 0; b < NR_BOS; b++)
		gpuvm_bo_put(bos[b].vm_bo);
	gpuvm_put(&s->vm);	/* frees s */
	for (unsigned long b = 0; b < NR_BOS; b++) {
		ret = gpuvm_bo_handle_fini(&bos[b].h);
		if (ret)
			bench_fail("bind: gpuvm_bo_handle_fini of BO %lu "
				   "returned %d", b, ret);
	}
	free(bos);
	mt_rcu_barrier(NULL);
	if (nodes_live() != live0)
		bench_fail("bind: %zu tree nodes live after the teardown, "
			   "%zu before the space", nodes_live(), live0);
	mt_cache_shrink();
}

/* ---- The queue ---------------------------------------------------------- */

/* Written by the worker's hooks; read once its last fence is signalled. */
struct run_ctx {
	unsigned long jobs;		/* run steps begun */
	unsigned long ops;		/* run_op calls */
	uint64_t run_ns;		/* wall time inside run steps */
	uint64_t run_cpu;		/* the worker's CPU time in them */
	uint64_t t_begin, cpu_begin;
	uint64_t cpu_first, cpu_last;	/* at the first and last begin */
};

static int run_op(void *priv, const struct gpuva_op *op)
{
	struct run_ctx *c = priv;

	(void)op;
	c->ops++;
	return 0;
}

static void run_begin(void *priv)
{
	struct run_ctx *c = priv;
	uint64_t cpu = thread_cpu_ns();

	if (!c->jobs++)
		c->cpu_first = cpu;
	c->cpu_last = cpu;
	c->cpu_begin = cpu;
	c->t_begin = now_ns();
}

static void run_end(void *priv)
{
	struct run_ctx *c = priv;

	c->run_ns += now_ns() - c->t_begin;
	c->run_cpu += thread_cpu_ns() - c->cpu_begin;
}

static const struct gpuvm_bind_ops bench_bind_ops = {
	.run_op = run_op,
	.run_begin = run_begin,
	.run_end = run_end,
};

static const char *mode_name(enum gpuvm_bind_mode mode)
{
	return mode == GPUVM_BIND_STAGED ? STG : IMM;
}

static struct gpuvm_bind_queue *queue_create(struct space *s,
					     enum gpuvm_bind_mode mode,
					     struct run_ctx *ctx, bool start)
{
	struct gpuvm_bind_queue *q;
	int ret = gpuvm_bind_queue_create(&s->vm, mode, &bench_bind_ops, ctx,
					  &q);

	if (ret)
		bench_fail("bind: gpuvm_bind_queue_create (%s) returned %d",
			   mode_name(mode), ret);
	if (start && (ret = gpuvm_bind_queue_start(q)))
		bench_fail("bind: gpuvm_bind_queue_start returned %d", ret);
	return q;
}

static struct gpuvm_fence *submit(struct gpuvm_bind_queue *q,
				  const struct gpuvm_bind_req *reqs)
{
	struct gpuvm_fence *f = NULL;
	int ret = gpuvm_bind_submit(q, reqs, JOB_REQS, NULL, 0, &f);

	if (ret)
		bench_fail("bind: gpuvm_bind_submit returned %d", ret);
	return f;
}

/* Wait for a job's out-fence, which must report success, and drop it. */
static void fence_done(struct gpuvm_fence *f, const char *who)
{
	int ret = gpuvm_fence_wait(f, -1), status;

	if (ret)
		bench_fail("%s: gpuvm_fence_wait returned %d", who, ret);
	status = gpuvm_fence_status(f);
	if (status != 1)
		bench_fail("%s: a job's out-fence has status %d", who, status);
	gpuvm_fence_put(f);
}

/* The jobs the queue ran, none failed. */
static void expect_jobs(struct gpuvm_bind_queue *q, unsigned long jobs,
			const char *who)
{
	struct gpuvm_bind_stats st;

	gpuvm_bind_queue_stats(q, &st);
	if (st.jobs_submitted != jobs || st.jobs_done != jobs ||
	    st.jobs_failed || st.requests != jobs * JOB_REQS)
		bench_fail("%s: %lu jobs submitted, %lu done, %lu failed, "
			   "%lu requests; expected %lu jobs", who,
			   st.jobs_submitted, st.jobs_done, st.jobs_failed,
			   st.requests, jobs);
}

/* ---- Throughput --------------------------------------------------------- */

enum thr_fig {
	TH_RATE, TH_SUBMIT, TH_SUBMIT_CPU, TH_RUN, TH_RUN_CPU, TH_WORKER,
	NR_TH
};

/*
 * Up to THR_JOBS jobs through a fresh queue in @mode, K in flight; returns
 * the number of jobs. Each job's requests are generated just before it is
 * submitted, outside the submit's timing (a few us per job, inside the
 * end-to-end figure).
 */
static unsigned long throughput(struct space *s, struct rng *r,
				enum gpuvm_bind_mode mode, double out[NR_TH])
{
	struct gpuvm_bind_req *reqs = bench_xcalloc(JOB_REQS, sizeof(*reqs));
	struct gpuvm_fence *ring[INFLIGHT] = { NULL };
	struct run_ctx ctx = { 0 };
	struct gpuvm_bind_queue *q;
	uint64_t t0, t1, in_submit = 0, cpu_submit = 0;
	unsigned long jobs, total;

	q = queue_create(s, mode, &ctx, true);
	t0 = now_ns();
	for (jobs = 0; jobs < THR_JOBS; jobs++) {
		struct gpuvm_fence **slot = &ring[jobs % INFLIGHT];
		uint64_t a, b, ca, cb;

		if (jobs >= THR_MIN_JOBS && now_ns() - t0 > THR_BUDGET_NS)
			break;
		if (*slot)
			fence_done(*slot, "bind: throughput");
		gen_job(s, r, reqs);
		ca = thread_cpu_ns();
		a = now_ns();
		*slot = submit(q, reqs);
		b = now_ns();
		cb = thread_cpu_ns();
		in_submit += b - a;
		cpu_submit += cb - ca;
	}
	for (unsigned long j = jobs; j < jobs + INFLIGHT; j++) {
		struct gpuvm_fence **slot = &ring[j % INFLIGHT];

		if (*slot)
			fence_done(*slot, "bind: throughput");
		*slot = NULL;
	}
	t1 = now_ns();
	expect_jobs(q, jobs, "bind: throughput");
	gpuvm_bind_queue_destroy(q);
	free(reqs);
	total = jobs * JOB_REQS;
	if (ctx.jobs != jobs || ctx.ops < total)
		bench_fail("bind: throughput (%s): %lu run steps, %lu ops for "
			   "%lu requests", mode_name(mode), ctx.jobs, ctx.ops,
			   total);
	out[TH_RATE] = (double)total * 1e9 / (double)(t1 - t0);
	out[TH_SUBMIT] = (double)in_submit / (double)total;
	out[TH_SUBMIT_CPU] = (double)cpu_submit / (double)total;
	out[TH_RUN] = (double)ctx.run_ns / (double)total;
	out[TH_RUN_CPU] = (double)ctx.run_cpu / (double)total;
	out[TH_WORKER] = (double)(ctx.cpu_last - ctx.cpu_first) /
			 (double)((jobs - 1) * JOB_REQS);
	return jobs;
}

/* ---- Memory ------------------------------------------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t cache_held(void)
{
	struct mt_cache_stats st;

	mt_cache_stats(&st);
	return st.bytes_held;
}

enum mem_fig {
	MF_RESERVED, MF_HEAP, MF_NODES, MF_NODES_INSIDE, MF_MT_RESERVE,
	MF_VAS_USED, NR_MF
};

/*
 * A request of INSIDE_LEN strictly inside a random mapped slot, 4 KiB
 * aligned: both its ends split a mapping. Not applied to the model: these
 * jobs never run.
 */
static void gen_inside(struct space *s, struct rng *r, unsigned int k,
		       struct gpuvm_bind_req *req)
{
	unsigned long j = s->list[rng_below(r, s->nr_mapped)];
	uint64_t steps = (MAP_SIZE - INSIDE_LEN) / INSIDE_STEP - 1;

	memset(req, 0, sizeof(*req));
	req->addr = slot_addr(s, j) + (1 + rng_below(r, steps)) * INSIDE_STEP;
	req->range = INSIDE_LEN;
	if (k % 2) {
		req->op = GPUVM_BIND_UNMAP;
		return;
	}
	req->op = GPUVM_BIND_MAP;
	req->bo = &s->bo[rng_below(r, NR_BOS)].h;
	req->bo_offset = rng_below(r, s->bo_slots) * MAP_SIZE;
}

static void memory(struct space *s, struct rng *r, double out[NR_MF])
{
	const unsigned long pending = INFLIGHT * JOB_REQS;
	struct gpuvm_bind_req *reqs = bench_xcalloc(pending, sizeof(*reqs));
	struct gpuvm_fence *f[INFLIGHT];
	struct gpuvm_bind_stats st;
	struct mt_reservation res;
	struct run_ctx ctx = { 0 };
	struct gpuvm_bind_queue *q;
	size_t live0, heap0, held0;
	long heap;
	int ret;

	/* Slot-aligned requests, as the throughput run makes them. */
	for (unsigned int j = 0; j < INFLIGHT; j++)
		gen_job(s, r, reqs + j * JOB_REQS);
	q = queue_create(s, GPUVM_BIND_IMMEDIATE, &ctx, false);
	live0 = nodes_live();
	held0 = cache_held();
	heap0 = heap_in_use();
	for (unsigned int j = 0; j < INFLIGHT; j++)
		f[j] = submit(q, reqs + j * JOB_REQS);
	heap = (long)heap_in_use() - (long)heap0 -
	       ((long)cache_held() - (long)held0);
	gpuvm_bind_queue_stats(q, &st);
	out[MF_NODES] = ((double)nodes_live() - (double)live0) * NODE_BYTES /
			(double)pending;
	if (st.reserved_bytes != st.reserved_peak)
		bench_fail("bind: memory: reserved_bytes %zu, reserved_peak "
			   "%zu with no job run yet", st.reserved_bytes,
			   st.reserved_peak);
	out[MF_RESERVED] = (double)st.reserved_bytes / (double)pending;
	out[MF_HEAP] = heap > 0 ? (double)heap / (double)pending : 0;

	/* The alternative: a reservation for one job, 3 stores a request. */
	ret = mt_reserve(gpuvm_tree(&s->vm), &res, 3 * JOB_REQS,
			 2 * gpuvm_mapping_count(&s->vm), GFP_KERNEL);
	if (ret)
		bench_fail("bind: mt_reserve returned %d", ret);
	out[MF_MT_RESERVE] = (double)mt_reservation_nodes(&res) * NODE_BYTES /
			     (double)JOB_REQS;
	mt_reserve_release(&res);

	if ((ret = gpuvm_bind_queue_start(q)))
		bench_fail("bind: gpuvm_bind_queue_start returned %d", ret);
	for (unsigned int j = 0; j < INFLIGHT; j++)
		fence_done(f[j], "bind: memory");
	gpuvm_bind_queue_stop(q);	/* the last job's cleanup is done */
	expect_jobs(q, INFLIGHT, "bind: memory");
	gpuvm_bind_queue_stats(q, &st);
	if (st.reserved_bytes || st.used_vas > st.reserved_vas)
		bench_fail("bind: memory: %zu bytes still reserved, %lu of "
			   "%lu gpuvas used", st.reserved_bytes, st.used_vas,
			   st.reserved_vas);
	out[MF_VAS_USED] = (double)st.used_vas / (double)st.reserved_vas;
	gpuvm_bind_queue_destroy(q);

	/* Requests inside mappings: every end splits one. Cancelled. */
	for (unsigned long k = 0; k < pending; k++)
		gen_inside(s, r, (unsigned int)k, &reqs[k]);
	q = queue_create(s, GPUVM_BIND_IMMEDIATE, &ctx, false);
	live0 = nodes_live();
	for (unsigned int j = 0; j < INFLIGHT; j++)
		f[j] = submit(q, reqs + j * JOB_REQS);
	out[MF_NODES_INSIDE] = ((double)nodes_live() - (double)live0) *
			       NODE_BYTES / (double)pending;
	gpuvm_bind_queue_destroy(q);
	for (unsigned int j = 0; j < INFLIGHT; j++) {
		int status = gpuvm_fence_status(f[j]);

		if (status != -ECANCELED)
			bench_fail("bind: a job cancelled by "
				   "gpuvm_bind_queue_destroy has status %d",
				   status);
		gpuvm_fence_put(f[j]);
	}
	free(reqs);
	verify(s, "bind: after cancelled jobs");
}

/* ---- Latency ------------------------------------------------------------ */

enum lat_kind { LK_IGNORE, LK_IDLE3, LK_BUSY3, LK_IDLE2, LK_BUSY2, NR_LKK };

/* The main thread's phase, as the reader sees it: generation << 3 | kind. */
struct lat_shared {
	struct space *s;
	uint64_t seed;
	unsigned long word;		/* atomic */
	bool stop;			/* atomic */
	double *ns[NR_LKK];		/* ns per lookup, per batch */
	unsigned long nr[NR_LKK];
	unsigned long batches, hits, bad;
};

static void set_phase(struct lat_shared *sh, enum lat_kind kind)
{
	unsigned long w = __atomic_load_n(&sh->word, __ATOMIC_RELAXED);

	__atomic_store_n(&sh->word, ((w >> 3) + 1) << 3 | kind,
			 __ATOMIC_RELEASE);
}

static void *reader(void *arg)
{
	struct lat_shared *sh = arg;
	uint64_t addr[LOOKUP_BATCH];
	struct space *s = sh->s;
	struct gpuvm *vm = &s->vm;
	struct rng r;

	urcu_memb_register_thread();
	rng_seed(&r, sh->seed);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		unsigned long w0 = __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE);
		unsigned long w1, kind = w0 & 7;
		uint64_t t0, t1;

		for (unsigned long k = 0; k < LOOKUP_BATCH; k++)
			addr[k] = slot_addr(s, rng_below(&r, s->slots)) +
				  rng_below(&r, MAP_SIZE);
		t0 = now_ns();
		for (unsigned long k = 0; k < LOOKUP_BATCH; k++) {
			struct gpuva *va;

			mt_rcu_read_lock();
			va = gpuvm_lookup(vm, addr[k]);
			if (va) {
				sh->hits++;
				sh->bad += addr[k] - va->va.addr >=
					   va->va.range;
			}
			mt_rcu_read_unlock();
		}
		t1 = now_ns();
		w1 = __atomic_load_n(&sh->word, __ATOMIC_ACQUIRE);
		sh->batches++;
		if (w0 == w1 && kind != LK_IGNORE && sh->nr[kind] < LAT_CAP)
			sh->ns[kind][sh->nr[kind]++] = (double)(t1 - t0) /
						       (double)LOOKUP_BATCH;
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void idle_phase(struct lat_shared *sh, enum lat_kind kind)
{
	mt_rcu_barrier(NULL);
	set_phase(sh, kind);
	sleep_ns(PHASE_NS);
	set_phase(sh, LK_IGNORE);
}

/* Submit jobs, K in flight, for a phase; returns the requests. */
static unsigned long busy_submitting(struct lat_shared *sh, struct space *s,
				     struct rng *r, struct gpuvm_bind_queue *q,
				     struct gpuvm_bind_req *reqs,
				     uint64_t *ns)
{
	struct gpuvm_fence *ring[INFLIGHT] = { NULL };
	uint64_t t0, end;
	unsigned long j = 0;

	set_phase(sh, LK_BUSY3);
	t0 = now_ns();
	end = t0 + PHASE_NS;
	while (now_ns() < end) {
		struct gpuvm_fence **slot = &ring[j % INFLIGHT];

		if (*slot)
			fence_done(*slot, "bind: latency");
		gen_job(s, r, reqs);
		*slot = submit(q, reqs);
		j++;
	}
	set_phase(sh, LK_IGNORE);
	for (unsigned long k = j; k < j + INFLIGHT; k++)
		if (ring[k % INFLIGHT])
			fence_done(ring[k % INFLIGHT], "bind: latency");
	*ns = now_ns() - t0;
	return j * JOB_REQS;
}

/*
 * Stop the worker, pre-submit *@jobs jobs, start it and wait: only the
 * worker runs beside the reader. Adjusts *@jobs towards a phase of
 * PHASE_NS; returns the requests run, their time in *@ns.
 */
static unsigned long busy_presubmitted(struct lat_shared *sh, struct space *s,
				       struct rng *r,
				       struct gpuvm_bind_queue *q,
				       struct gpuvm_bind_req *reqs,
				       struct gpuvm_fence **f,
				       unsigned long *jobs, uint64_t *ns)
{
	unsigned long m = *jobs;
	uint64_t t0, t1;
	double next;
	int ret;

	gpuvm_bind_queue_stop(q);
	for (unsigned long j = 0; j < m; j++) {
		gen_job(s, r, reqs);
		f[j] = submit(q, reqs);
	}
	set_phase(sh, LK_BUSY2);
	t0 = now_ns();
	if ((ret = gpuvm_bind_queue_start(q)))
		bench_fail("bind: gpuvm_bind_queue_start returned %d", ret);
	/* In order: the last one signalled means every job has run. */
	for (unsigned long j = 0; j < m; j++)
		fence_done(f[j], "bind: latency");
	t1 = now_ns();
	set_phase(sh, LK_IGNORE);
	*ns = t1 - t0;
	next = (double)m * (double)PHASE_NS / (double)(t1 - t0 ? t1 - t0 : 1);
	*jobs = next < 8 ? 8 : next > PRESUBMIT_MAX ? PRESUBMIT_MAX :
		(unsigned long)next;
	return m * JOB_REQS;
}

enum lat_fig {
	LF_IDLE3, LF_BUSY3, LF_RATIO3, LF_P90_3, LF_RATE3,
	LF_IDLE2, LF_BUSY2, LF_RATIO2, LF_P90_2, LF_RATE2,
	NR_LF
};

static void latency(struct space *s, struct rng *r, uint64_t seed,
		    double out[NR_LF])
{
	struct gpuvm_fence **f = bench_xcalloc(PRESUBMIT_MAX, sizeof(*f));
	struct gpuvm_bind_req *reqs = bench_xcalloc(JOB_REQS, sizeof(*reqs));
	struct lat_shared sh = { .s = s, .seed = seed };
	unsigned long jobs = PRESUBMIT_FIRST, reqs3 = 0, reqs2 = 0;
	uint64_t ns3 = 0, ns2 = 0, ns;
	struct run_ctx ctx = { 0 };
	struct gpuvm_bind_queue *q;
	double med[NR_LKK], hi[NR_LKK];
	pthread_t th;

	for (int k = 0; k < NR_LKK; k++)
		sh.ns[k] = bench_xcalloc(LAT_CAP, sizeof(double));
	q = queue_create(s, GPUVM_BIND_IMMEDIATE, &ctx, true);
	if (pthread_create(&th, NULL, reader, &sh))
		bench_fail("bind: cannot create the reader thread");
	sleep_ns(PHASE_NS / 5);		/* the reader warms up */
	for (unsigned int p = 0; p < PHASES; p++) {
		idle_phase(&sh, LK_IDLE3);
		reqs3 += busy_submitting(&sh, s, r, q, reqs, &ns);
		ns3 += ns;
	}
	for (unsigned int p = 0; p < PHASES; p++) {
		idle_phase(&sh, LK_IDLE2);
		reqs2 += busy_presubmitted(&sh, s, r, q, reqs, f, &jobs, &ns);
		ns2 += ns;
	}
	__atomic_store_n(&sh.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	gpuvm_bind_queue_destroy(q);
	if (sh.bad || !sh.hits)
		bench_fail("bind: %lu lookups returned a mapping that does not "
			   "cover the address, %lu of %lu found one", sh.bad,
			   sh.hits, sh.batches * LOOKUP_BATCH);
	for (int k = LK_IDLE3; k < NR_LKK; k++) {
		if (!sh.nr[k])
			bench_fail("bind: no lookup batch fit in a phase of "
				   "kind %d", k);
		med[k] = bench_median(sh.ns[k], sh.nr[k]);
		hi[k] = p90(sh.ns[k], sh.nr[k]);
	}
	out[LF_IDLE3] = med[LK_IDLE3];
	out[LF_BUSY3] = med[LK_BUSY3];
	out[LF_RATIO3] = med[LK_BUSY3] / med[LK_IDLE3];
	out[LF_P90_3] = hi[LK_BUSY3] / hi[LK_IDLE3];
	out[LF_RATE3] = (double)reqs3 * 1e9 / (double)ns3;
	out[LF_IDLE2] = med[LK_IDLE2];
	out[LF_BUSY2] = med[LK_BUSY2];
	out[LF_RATIO2] = med[LK_BUSY2] / med[LK_IDLE2];
	out[LF_P90_2] = hi[LK_BUSY2] / hi[LK_IDLE2];
	out[LF_RATE2] = (double)reqs2 * 1e9 / (double)ns2;
	for (int k = 0; k < NR_LKK; k++)
		free(sh.ns[k]);
	free(reqs);
	free(f);
}

/* ---- Driver ------------------------------------------------------------- */

static void run_size(enum size_id sz, unsigned long n, uint64_t seed,
		     unsigned int run, unsigned int runs)
{
	static const enum bfig thr_first[2] = { BF_STAGED_RATE, BF_IMM_RATE };
	static const enum gpuvm_bind_mode modes[2] = {
		GPUVM_BIND_STAGED, GPUVM_BIND_IMMEDIATE,
	};
	struct figure *f = bfig[sz];
	unsigned long forbidden0 = forbidden_allocs();
	double th[NR_TH], mem[NR_MF], lat[NR_LF];
	struct space *s;
	struct rng r;

	fprintf(stderr, "# bind run %u/%u: n=%lu: build\n", run + 1, runs, n);
	rng_seed(&r, seed);
	s = space_create(n);
	/* The modes take turns going first. */
	for (unsigned int k = 0; k < 2; k++) {
		unsigned int m = (k + run) % 2;

		unsigned long jobs;

		fprintf(stderr, "# bind run %u/%u: n=%lu: throughput, %s\n",
			run + 1, runs, n, mode_name(modes[m]));
		jobs = throughput(s, &r, modes[m], th);
		fprintf(stderr, "# bind run %u/%u: n=%lu: %s: %lu jobs, %.0f "
			"requests/s\n", run + 1, runs, n, mode_name(modes[m]),
			jobs, th[TH_RATE]);
		for (unsigned int t = 0; t < NR_TH; t++)
			put(&f[thr_first[m] + t], n, th[t]);
	}
	verify(s, "bind: after the throughput runs");

	fprintf(stderr, "# bind run %u/%u: n=%lu: memory\n", run + 1, runs, n);
	memory(s, &r, mem);
	put(&f[BF_MEM_RESERVED], n, mem[MF_RESERVED]);
	put(&f[BF_MEM_HEAP], n, mem[MF_HEAP]);
	put(&f[BF_MEM_NODES], n, mem[MF_NODES]);
	put(&f[BF_MEM_NODES_INSIDE], n, mem[MF_NODES_INSIDE]);
	put(&f[BF_MEM_TOTAL_INSIDE], n, mem[MF_RESERVED] +
	    (mem[MF_NODES_INSIDE] > 0 ? mem[MF_NODES_INSIDE] : 0));
	put(&f[BF_MEM_MT_RESERVE], n, mem[MF_MT_RESERVE]);
	put(&f[BF_MEM_VS_RESERVE], n, mem[MF_MT_RESERVE] /
	    (mem[MF_RESERVED] + (mem[MF_NODES] > 0 ? mem[MF_NODES] : 0)));
	put(&f[BF_MEM_VAS_USED], n, mem[MF_VAS_USED]);

	fprintf(stderr, "# bind run %u/%u: n=%lu: latency\n", run + 1, runs,
		n);
	latency(s, &r, seed ^ 0x1a7e5c4ULL, lat);
	for (unsigned int k = 0; k < NR_LF; k++)
		put(&f[BF_LAT_IDLE3 + k], n, lat[k]);
	verify(s, "bind: after the latency phases");
	space_destroy(s);
	put(&f[BF_FORBIDDEN], n, (double)(forbidden_allocs() - forbidden0));

	fprintf(stderr, "# bind run %u/%u: n=%lu: %.0f (staged) and %.0f "
		"(immediate) requests/s, reserved %.0f B/request, lookups "
		"busy/idle %.2fx (3 threads) %.2fx (2 threads)\n", run + 1,
		runs, n, last(&f[BF_STAGED_RATE]), last(&f[BF_IMM_RATE]),
		last(&f[BF_MEM_RESERVED]), last(&f[BF_LAT_RATIO3]),
		last(&f[BF_LAT_RATIO2]));
}

/* The result line; sorts f->v, so v[0] is the min from here on. */
static void print_result_line(const struct fig_desc *d, struct figure *f)
{
	static const char *const key[] = {
		[U_NS] = "ns_per_op", [U_BYTES] = "bytes", [U_RATIO] = "ratio",
		[U_RATE] = "req_per_s", [U_COUNT] = "count",
	};

	f->med = bench_median(f->v, f->nv);
	printf("result workload=bind_%s structure=gpuvm-%s n=%lu %s=%.2f "
	       "min=%.2f max=%.2f\n", d->key, d->mode, f->n, key[d->unit],
	       f->med, f->v[0], f->v[f->nv - 1]);
}

static void print_row(const struct fig_desc *d, const struct figure *f)
{
	const char *x = d->unit == U_RATIO ? "x" : " ";
	char target[32] = "";

	if (d->tk == T_BELOW)
		snprintf(target, sizeof(target), "< %g %s", d->target,
			 f->med < d->target ? "ok" : "MISSED");
	else if (d->tk == T_ZERO)
		snprintf(target, sizeof(target), "= 0 %s",
			 f->v[f->nv - 1] == 0 ? "ok" : "MISSED");
	printf("%-10s %-38s %8lu %11.2f%s %11.2f%s %11.2f%s  %s\n", d->mode,
	       d->label, f->n, f->med, x, f->v[0], x, f->v[f->nv - 1], x,
	       target);
}

static void print_results(unsigned long n, unsigned long small,
			  unsigned int runs, uint64_t seed)
{
	for (int j = 0; j < NR_BF; j++)
		for (int k = 0; k < NR_SIZES; k++)
			print_result_line(&bfig_desc[j], &bfig[k][j]);

	printf("\nbind: bind queues on a VA space of 2^47 bytes, n mappings "
	       "of 64 KiB (one slot in 9 free,\n%lu clusters, %lu private "
	       "BOs); jobs of %u requests of 64 KiB (unmap, map a free "
	       "slot,\nmap over a mapping, in turn), %u jobs in flight; "
	       "n=%lu and n/%lu=%lu; median over %u run(s),\nseed=%" PRIu64
	       "\n", NR_CLUSTERS, NR_BOS, JOB_REQS, INFLIGHT, n, SMALL_DIV,
	       small, runs, seed);
	printf("(throughput: up to %lu jobs per mode and size, none started "
	       "%.0f s after the first %u;\nmemory: %u jobs pending, worker "
	       "stopped; pre-split tree nodes are nodes the tree consumed,\n"
	       "not a reservation; latency: lookups timed per batch of %lu, "
	       "%u idle and %u busy phases\nof %llu ms per form; the first "
	       "form runs 3 threads (submitter, worker, reader), the second\n"
	       "2 (worker, reader), on %ld CPU(s) here; min and max are the "
	       "runs'; ratios are taken\nwithin each run)\n", THR_JOBS,
	       (double)THR_BUDGET_NS / 1e9, THR_MIN_JOBS, INFLIGHT,
	       LOOKUP_BATCH, PHASES, PHASES, PHASE_NS / 1000000ULL,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-10s %-38s %8s %12s %12s %12s  %s\n", "mode", "measure", "n",
	       "median", "min", "max", "target");
	for (int j = 0; j < NR_BF; j++)
		for (int k = 0; k < NR_SIZES; k++)
			print_row(&bfig_desc[j], &bfig[k][j]);
	fflush(stdout);
}

void run_bind(unsigned long n, unsigned int runs, uint64_t seed)
{
	unsigned long small;

	if (n < MIN_N) {
		fprintf(stderr, "# bind: n raised to %lu\n", MIN_N);
		n = MIN_N;
	}
	small = n / SMALL_DIV < MIN_N ? MIN_N : n / SMALL_DIV;
	for (int k = 0; k < NR_SIZES; k++)
		for (int j = 0; j < NR_BF; j++) {
			bfig[k][j].v = bench_xcalloc(runs, sizeof(double));
			bfig[k][j].nv = 0;
		}
	for (unsigned int run = 0; run < runs; run++) {
		uint64_t s = seed + 0x100000001ULL * run + 0xb1dULL;

		run_size(SZ_LARGE, n, s, run, runs);
		run_size(SZ_SMALL, small, s + 1, run, runs);
	}
	print_results(n, small, runs, seed);
	for (int k = 0; k < NR_SIZES; k++)
		for (int j = 0; j < NR_BF; j++)
			free(bfig[k][j].v);
}
