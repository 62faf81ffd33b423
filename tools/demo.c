// SPDX-License-Identifier: MIT
/*
 * mapletree-demo: a GPU VA space under a sparse-residency workload.
 *
 * A 128 TiB (2^47) VA space holds sparse "textures" made of 64 KiB pages,
 * each texture backed by several buffer objects (BOs), plus a few static
 * mappings that never change. Three threads share it:
 *
 *  - the application thread (main) submits bind jobs of a few hundred
 *    random map/unmap requests each to a bind queue in immediate mode,
 *    keeping several jobs in flight: job i waits for the out-fence of job
 *    i - K before it is submitted and names job i - 1's out-fence as its
 *    in-fence;
 *  - the queue's worker runs the jobs, changing the VA space inside
 *    fence-signalling sections, where nothing may allocate;
 *  - a "fault handler" looks up random addresses lock-free all along and
 *    checks every answer.
 *
 * Every request is also applied, in submission order, to a reference model
 * (one entry per 64 KiB page: the BO and offset it maps, or nothing). At
 * the end the VA space must equal the model mapping for mapping. The
 * report gives rates, what the jobs reserved against what they used, the
 * allocations attempted inside signalling sections (must be 0) and the
 * tree's memory. Exit status 0 on PASS, 1 on FAIL, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include <mapletree/gpuvm.h>

#define PAGE_SHIFT	16
#define PAGE_SIZE	(1ULL << PAGE_SHIFT)		/* 64 KiB */
#define VA_BITS		47
#define VA_SIZE		(1ULL << VA_BITS)

/* Textures: texture t occupies [tex_base(t), + tex_pages pages). */
#define NR_TEX		16
#define TEX_STRIDE	(1ULL << 42)			/* 4 TiB apart */
#define BOS_PER_TEX	8
#define NR_BOS		(NR_TEX * BOS_PER_TEX)		/* texture BOs */
#define STATIC_BO	NR_BOS				/* index of the static BO */

/* Static mappings (think command buffers), never touched by a job. */
#define NR_STATIC	32
#define STATIC_BASE	(1ULL << 32)
#define STATIC_SIZE	(2ULL << 20)
#define STATIC_STRIDE	(4ULL << 20)

/* The kernel's reserved region at the top of the space. */
#define RESERVE_RANGE	(1ULL << 32)
#define RESERVE_START	(VA_SIZE - RESERVE_RANGE)

/* Reference model: per page, 0 = unmapped, 1..NR_BOS = BO index + 1. */
#define MODEL_SPARSE	0xff				/* a NULL (sparse) mapping */

#define MAX_LEN		16	/* pages per map request, at most */
#define SETUP_JOB	4096	/* requests per job while populating */
#define IDLE_SECONDS	0.5	/* lookups measured with no bind running */
#define MAX_REPORTS	8	/* failures described in detail */
#define SVG_MAX_RECTS	100000

enum phase { PH_SETUP, PH_BUSY, PH_IDLE, PH_STOP, NR_PHASES };

struct options {
	double seconds;
	unsigned long mappings;
	unsigned int inflight;
	unsigned int per_job;
	uint64_t seed;
	const char *svg;
	uint64_t win_start, win_len;
	bool have_window;
	bool progress;
};

struct demo {
	struct options opt;
	struct gpuvm vm;
	struct gpuvm_bind_queue *queue;
	struct gpuvm_bo_handle bos[NR_BOS + 1];
	struct gpuva *statics[NR_STATIC];
	uint64_t tex_pages, bo_pages, total_pages;
	uint64_t rnd;

	/* The reference model, one entry per texture page. */
	uint32_t *id;		/* request that mapped it; 0: unmapped */
	uint32_t *off;		/* page offset into the BO */
	uint8_t *bo;		/* 0, BO index + 1, or MODEL_SPARSE */
	uint32_t next_id;
	unsigned long model_mappings;
	uint64_t model_pages;	/* pages mapped */

	/* Jobs in flight: the out-fences of the last K jobs. */
	struct gpuvm_fence **ring;
	unsigned long jobs;	/* submitted, all phases */

	/* Worker side, read after the worker stopped. */
	unsigned long ops[3];	/* MAP, REMAP, UNMAP applied */
	unsigned long sections;
	double section_begin, section_total, section_max;

	/* Fault handler. */
	_Atomic int phase;
	unsigned long lookups[NR_PHASES], hits[NR_PHASES];
	double lookup_seconds[NR_PHASES];

	/* Progress line. */
	bool show_progress;
	double next_progress, t_start;
};

static atomic_ulong failures;
static atomic_long gpuvas_live;

/* ---- Small helpers ------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*; the state must not be 0. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rand_below(uint64_t *s, uint64_t n)
{
	return next_rand(s) % n;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&failures, 1);
	va_list ap;

	if (n >= MAX_REPORTS) {
		if (n == MAX_REPORTS)
			fprintf(stderr, "FAIL: further failures not shown\n");
		return;
	}
	fflush(stdout);
	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *human(char *buf, size_t size, double bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (bytes >= 1024.0 && u < 4) {
		bytes /= 1024.0;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

static uint64_t tex_base(unsigned int t)
{
	return (uint64_t)(t + 1) * TEX_STRIDE;
}

/* The texture @addr falls in, or -1. */
static int tex_of(const struct demo *d, uint64_t addr)
{
	uint64_t t = addr / TEX_STRIDE;

	if (t < 1 || t > NR_TEX || addr - tex_base((unsigned int)t - 1) >=
	    d->tex_pages * PAGE_SIZE)
		return -1;
	return (int)(t - 1);
}

static int bo_index(const struct demo *d, const struct gpuvm_bo_handle *bo)
{
	if (bo < d->bos || bo > &d->bos[NR_BOS])
		return -1;
	return (int)(bo - d->bos);
}

/* ---- The VA space's hooks ------------------------------------------------- */

static struct gpuva *demo_va_alloc(void)
{
	struct gpuva *va = calloc(1, sizeof(*va));

	if (va)
		atomic_fetch_add(&gpuvas_live, 1);
	return va;
}

static void demo_va_free(struct gpuva *va)
{
	atomic_fetch_sub(&gpuvas_live, 1);
	free(va);
}

static const struct gpuvm_ops vm_ops = {
	.va_alloc = demo_va_alloc,
	.va_free = demo_va_free,
};

/* The page-table update: here only counted. Runs in a signalling section. */
static int run_op(void *priv, const struct gpuva_op *op)
{
	struct demo *d = priv;

	if (op->op <= GPUVA_OP_UNMAP)
		d->ops[op->op]++;
	return 0;
}

static void run_begin(void *priv)
{
	struct demo *d = priv;

	d->section_begin = now();
}

static void run_end(void *priv)
{
	struct demo *d = priv;
	double dt = now() - d->section_begin;

	d->sections++;
	d->section_total += dt;
	if (dt > d->section_max)
		d->section_max = dt;
}

static const struct gpuvm_bind_ops bind_ops = {
	.run_op = run_op,
	.run_begin = run_begin,
	.run_end = run_end,
};

/* ---- The reference model ------------------------------------------------- */

/* Pages in [lo, hi) that start a mapping: a run of pages with one id. */
static unsigned long run_starts(const struct demo *d, uint64_t lo, uint64_t hi)
{
	unsigned long n = 0;

	for (uint64_t g = lo; g < hi; g++)
		n += d->id[g] && (g == 0 || d->id[g - 1] != d->id[g]);
	return n;
}

/* Apply one request, as the VA space will: a map is one new mapping. */
static void model_apply(struct demo *d, const struct gpuvm_bind_req *req)
{
	int t = tex_of(d, req->addr);
	uint64_t g0 = (uint64_t)t * d->tex_pages +
		      (req->addr - tex_base((unsigned int)t)) / PAGE_SIZE;
	uint64_t g1 = g0 + req->range / PAGE_SIZE;
	uint64_t hi = g1 < d->total_pages ? g1 + 1 : g1;
	unsigned long before = run_starts(d, g0, hi);
	bool map = req->op == GPUVM_BIND_MAP;
	uint32_t id = map ? ++d->next_id : 0;
	uint8_t bo = !map ? 0 : req->bo ? (uint8_t)(bo_index(d, req->bo) + 1) :
				      MODEL_SPARSE;
	uint32_t off = (uint32_t)(req->bo_offset / PAGE_SIZE);

	for (uint64_t g = g0; g < g1; g++) {
		d->model_pages -= d->id[g] != 0;
		d->id[g] = id;
		d->bo[g] = bo;
		d->off[g] = map ? off + (uint32_t)(g - g0) : 0;
		d->model_pages += map;
	}
	d->model_mappings += run_starts(d, g0, hi);
	d->model_mappings -= before;
}

/* ---- Requests ------------------------------------------------------------ */

/* Mostly single pages, some short runs, a few longer ones. */
static uint64_t rand_len(uint64_t *s)
{
	uint64_t r = rand_below(s, 100);

	if (r < 60)
		return 1;
	if (r < 90)
		return 2 + rand_below(s, 3);
	return 5 + rand_below(s, MAX_LEN - 4);
}

static void make_map(struct demo *d, struct gpuvm_bind_req *req,
		     unsigned int t, uint64_t page, uint64_t len)
{
	*req = (struct gpuvm_bind_req){
		.op = GPUVM_BIND_MAP,
		.addr = tex_base(t) + page * PAGE_SIZE,
		.range = len * PAGE_SIZE,
	};
	if (rand_below(&d->rnd, 100) < 5) {
		req->flags = GPUVA_SPARSE;	/* bound to nothing */
		return;
	}
	req->bo = &d->bos[t * BOS_PER_TEX + rand_below(&d->rnd, BOS_PER_TEX)];
	req->bo_offset = rand_below(&d->rnd, d->bo_pages - len + 1) * PAGE_SIZE;
}

/* A random request; maps are likelier while there are too few mappings. */
static void make_random(struct demo *d, struct gpuvm_bind_req *req,
			double p_map)
{
	unsigned int t = (unsigned int)rand_below(&d->rnd, NR_TEX);
	bool map = (double)rand_below(&d->rnd, 1000000) < p_map * 1e6;
	/* Unmaps twice as long: they must remove whole mappings, not only
	 * split them, for the count to hold steady. */
	uint64_t len = rand_len(&d->rnd) * (map ? 1 : 2);
	uint64_t page = rand_below(&d->rnd, d->tex_pages - len + 1);

	if (map) {
		make_map(d, req, t, page, len);
		return;
	}
	*req = (struct gpuvm_bind_req){
		.op = GPUVM_BIND_UNMAP,
		.addr = tex_base(t) + page * PAGE_SIZE,
		.range = len * PAGE_SIZE,
	};
}

static double map_probability(const struct demo *d)
{
	double target = (double)d->opt.mappings;
	double p = 0.5 + 8.0 * (target - (double)d->model_mappings) / target;

	return p < 0.1 ? 0.1 : p > 0.9 ? 0.9 : p;
}

/* ---- Jobs ---------------------------------------------------------------- */

static void progress(struct demo *d, const char *what, bool force)
{
	struct gpuvm_bind_stats st;
	double t = now();

	if (!d->show_progress || (!force && t < d->next_progress))
		return;
	d->next_progress = t + 0.2;
	gpuvm_bind_queue_stats(d->queue, &st);
	fprintf(stderr, "\r%-6s %5.1f s  jobs %lu/%lu  requests %lu  mappings %lu  lookups %lu   ",
		what, t - d->t_start, st.jobs_done, st.jobs_submitted,
		st.requests, gpuvm_mapping_count(&d->vm),
		__atomic_load_n(&d->lookups[PH_SETUP], __ATOMIC_RELAXED) +
		__atomic_load_n(&d->lookups[PH_BUSY], __ATOMIC_RELAXED));
	fflush(stderr);
}

static void progress_clear(struct demo *d)
{
	if (d->show_progress)
		fprintf(stderr, "\r%90s\r", "");
}

static void wait_fence(struct gpuvm_fence *f)
{
	int status;

	gpuvm_fence_wait(f, -1);
	status = gpuvm_fence_status(f);
	if (status != 1)
		fail("a bind job failed: %s", status < 0 ? strerror(-status) :
		     "fence not signalled");
}

/*
 * Submit a job: first wait for the job K places back (its slot in the
 * ring), then queue this one behind the previous job's out-fence.
 */
static int submit(struct demo *d, const struct gpuvm_bind_req *reqs,
		  unsigned int n, bool model)
{
	unsigned int k = d->opt.inflight;
	unsigned int slot = (unsigned int)(d->jobs % k);
	struct gpuvm_fence *prev = d->jobs ? d->ring[(d->jobs - 1) % k] : NULL;
	struct gpuvm_fence *out;
	int ret;

	if (d->ring[slot])
		wait_fence(d->ring[slot]);
	ret = gpuvm_bind_submit(d->queue, reqs, n, prev ? &prev : NULL,
				prev ? 1 : 0, &out);
	if (ret) {
		fail("gpuvm_bind_submit() of job %lu: %s", d->jobs,
		     strerror(-ret));
		return ret;
	}
	gpuvm_fence_put(d->ring[slot]);
	d->ring[slot] = out;
	d->jobs++;
	for (unsigned int i = 0; model && i < n; i++)
		model_apply(d, &reqs[i]);
	return 0;
}

/* Wait for every job in flight. */
static void drain(struct demo *d)
{
	for (unsigned long j = 0; j < d->opt.inflight; j++) {
		struct gpuvm_fence **f = &d->ring[(d->jobs + j) % d->opt.inflight];

		if (*f) {
			wait_fence(*f);
			gpuvm_fence_put(*f);
			*f = NULL;
		}
	}
}

/* ---- The fault handler --------------------------------------------------- */

/* What is wrong with @va as the answer for @addr in texture @t, or NULL. */
static const char *check_tex_va(const struct demo *d, const struct gpuva *va,
				uint64_t addr, int t)
{
	uint64_t base = tex_base((unsigned int)t);
	int b;

	if (addr < va->va.addr || addr - va->va.addr >= va->va.range)
		return "mapping does not cover the address";
	if ((va->va.addr | va->va.range | va->bo_offset) & (PAGE_SIZE - 1))
		return "mapping not page aligned";
	if (va->va.addr < base ||
	    va->va.addr + va->va.range > base + d->tex_pages * PAGE_SIZE)
		return "mapping leaves its texture";
	if (!va->bo)
		return va->flags & GPUVA_SPARSE ? NULL :
		       "NULL-BO mapping without GPUVA_SPARSE";
	b = bo_index(d, va->bo);
	if (b < 0 || b / BOS_PER_TEX != t)
		return "mapping of another texture's BO";
	if (va->bo_offset + va->va.range > d->bo_pages * PAGE_SIZE)
		return "mapping past the end of its BO";
	return NULL;
}

/* An address no request ever maps: between textures, statics, reserved. */
static uint64_t rand_unmapped(const struct demo *d, uint64_t *s)
{
	uint64_t tex_bytes = d->tex_pages * PAGE_SIZE;

	switch (rand_below(s, 4)) {
	case 0:
		return tex_base((unsigned int)rand_below(s, NR_TEX)) +
		       tex_bytes + rand_below(s, TEX_STRIDE - tex_bytes);
	case 1:
		return RESERVE_START + rand_below(s, RESERVE_RANGE);
	case 2:
		return rand_below(s, STATIC_BASE);
	default:
		return STATIC_BASE + rand_below(s, NR_STATIC) * STATIC_STRIDE +
		       STATIC_SIZE + rand_below(s, STATIC_STRIDE - STATIC_SIZE);
	}
}

/* One lookup; returns true if it found a mapping. */
static bool fault_one(struct demo *d, uint64_t *s)
{
	uint64_t kind = rand_below(s, 100), addr;
	const char *why = NULL;
	struct gpuva *va;
	unsigned int i = 0;
	int t = -1;

	if (kind < 90) {
		t = (int)rand_below(s, NR_TEX);
		addr = tex_base((unsigned int)t) +
		       rand_below(s, d->tex_pages * PAGE_SIZE);
	} else if (kind < 95) {
		i = (unsigned int)rand_below(s, NR_STATIC);
		addr = d->statics[i]->va.addr + rand_below(s, STATIC_SIZE);
	} else {
		addr = rand_unmapped(d, s);
	}

	mt_rcu_read_lock();
	va = gpuvm_lookup(&d->vm, addr);
	if (kind < 90) {
		if (va)
			why = check_tex_va(d, va, addr, t);
	} else if (kind < 95) {
		if (va != d->statics[i])
			why = "static mapping not found";
	} else if (va) {
		why = "mapping where nothing was ever mapped";
	}
	if (why)
		fail("fault handler: address 0x%" PRIx64 ": %s (got [0x%" PRIx64
		     ", +0x%" PRIx64 "))", addr, why, va ? va->va.addr : 0,
		     va ? va->va.range : 0);
	mt_rcu_read_unlock();
	return va != NULL;
}

static void *fault_handler(void *arg)
{
	struct demo *d = arg;
	uint64_t s = d->opt.seed ^ 0x9E3779B97F4A7C15ULL;
	int phase = atomic_load(&d->phase);
	double t0 = now();

	if (!s)
		s = 1;
	urcu_memb_register_thread();
	for (;;) {
		int p = atomic_load_explicit(&d->phase, memory_order_acquire);
		unsigned long hits = 0;

		if (p != phase) {
			double t = now();

			d->lookup_seconds[phase] += t - t0;
			t0 = t;
			phase = p;
			if (phase == PH_STOP)
				break;
		}
		for (int k = 0; k < 64; k++)
			hits += fault_one(d, &s);
		/* Plain stores: the progress line may read a stale count. */
		__atomic_store_n(&d->lookups[phase], d->lookups[phase] + 64,
				 __ATOMIC_RELAXED);
		d->hits[phase] += hits;
	}
	urcu_memb_unregister_thread();
	return NULL;
}

static void set_phase(struct demo *d, enum phase p)
{
	atomic_store_explicit(&d->phase, p, memory_order_release);
}

/* ---- Setup --------------------------------------------------------------- */

static int setup_statics(struct demo *d)
{
	struct gpuvm_bo *vm_bo;
	int ret;

	ret = gpuvm_bo_obtain(&d->vm, &d->bos[STATIC_BO], &vm_bo);
	if (ret)
		return ret;
	gpuvm_lock(&d->vm);
	for (unsigned int i = 0; i < NR_STATIC && !ret; i++) {
		struct gpuva *va = demo_va_alloc();

		if (!va) {
			ret = -ENOMEM;
			break;
		}
		gpuva_init(va, STATIC_BASE + i * STATIC_STRIDE, STATIC_SIZE,
			   &d->bos[STATIC_BO], i * STATIC_SIZE);
		ret = gpuva_insert(&d->vm, va);
		if (ret) {
			demo_va_free(va);
			break;
		}
		gpuva_link(va, vm_bo);
		d->statics[i] = va;
	}
	gpuvm_unlock(&d->vm);
	gpuvm_bo_put(vm_bo);
	return ret;
}

/* Lay out the initial mappings, a texture at a time, with small gaps. */
static int populate(struct demo *d)
{
	struct gpuvm_bind_req *reqs = calloc(SETUP_JOB, sizeof(*reqs));
	unsigned int n = 0;
	int ret = 0;

	if (!reqs)
		return -ENOMEM;
	for (unsigned int t = 0; t < NR_TEX && !ret; t++) {
		unsigned long want = d->opt.mappings / NR_TEX +
				     (t < d->opt.mappings % NR_TEX);
		uint64_t pos = 0;

		for (unsigned long k = 0; k < want && !ret; k++) {
			uint64_t gap = rand_below(&d->rnd, 5);
			uint64_t len = rand_len(&d->rnd);

			if (pos + gap + len > d->tex_pages)
				break;
			make_map(d, &reqs[n++], t, pos + gap, len);
			pos += gap + len;
			if (n == SETUP_JOB) {
				ret = submit(d, reqs, n, true);
				n = 0;
				progress(d, "setup", false);
			}
		}
	}
	if (n && !ret)
		ret = submit(d, reqs, n, true);
	free(reqs);
	return ret;
}

/* ---- The run ------------------------------------------------------------- */

/*
 * Let the nodes the tree retired go back to the cache, so that nodes_live
 * counts only what the tree holds. The tree's own pending batch is handed
 * over too, which needs its writer lock: the VM lock.
 */
static void rcu_barrier_locked(struct demo *d)
{
	gpuvm_lock(&d->vm);
	mt_rcu_barrier(gpuvm_tree(&d->vm));
	gpuvm_unlock(&d->vm);
}

struct run_result {
	unsigned long jobs, requests, maps;
	double seconds;
	size_t job_bytes;		/* reserved by the first K jobs */
	long node_bytes;		/* tree nodes their pre-splits added */
	unsigned long measured_reqs;	/* requests in those jobs */
};

/*
 * Submit random jobs for the configured time. The worker is stopped for
 * the first K jobs, so what they reserve can be measured with all of them
 * pending; then it starts.
 */
static int run(struct demo *d, struct run_result *res)
{
	unsigned int per_job = d->opt.per_job;
	struct gpuvm_bind_req *reqs = calloc(per_job, sizeof(*reqs));
	struct mt_cache_stats before, after;
	struct gpuvm_bind_stats st;
	bool started = false;
	double t0, t_end;
	int ret = 0;

	if (!reqs)
		return -ENOMEM;
	rcu_barrier_locked(d);
	mt_cache_stats(&before);
	t0 = now();
	t_end = t0 + d->opt.seconds;
	for (;;) {
		if (!started && (res->jobs == d->opt.inflight ||
				 (res->jobs && now() >= t_end))) {
			mt_cache_stats(&after);
			gpuvm_bind_queue_stats(d->queue, &st);
			res->job_bytes = st.reserved_bytes;
			res->node_bytes = ((long)after.nodes_live -
					   (long)before.nodes_live) * 256;
			res->measured_reqs = res->requests;
			ret = gpuvm_bind_queue_start(d->queue);
			if (ret) {
				/* Its jobs would never run: give up. */
				fprintf(stderr, "gpuvm_bind_queue_start(): %s\n",
					strerror(-ret));
				exit(1);
			}
			started = true;
		}
		if (res->jobs && now() >= t_end)
			break;
		for (unsigned int i = 0; i < per_job; i++) {
			make_random(d, &reqs[i], map_probability(d));
			res->maps += reqs[i].op == GPUVM_BIND_MAP;
		}
		ret = submit(d, reqs, per_job, true);
		if (ret)
			break;
		res->jobs++;
		res->requests += per_job;
		progress(d, "run", false);
	}
	if (!started && gpuvm_bind_queue_start(d->queue)) {
		fprintf(stderr, "gpuvm_bind_queue_start() failed\n");
		exit(1);
	}
	drain(d);
	res->seconds = now() - t0;
	free(reqs);
	return ret;
}

/* ---- Verification -------------------------------------------------------- */

/* Check one texture mapping against the model; count what it covers. */
static void verify_tex_va(struct demo *d, const struct gpuva *va, int t,
			  uint64_t *pages)
{
	uint64_t first = (uint64_t)t * d->tex_pages +
			 (va->va.addr - tex_base((unsigned int)t)) / PAGE_SIZE;
	uint64_t n = va->va.range / PAGE_SIZE, last = first + n - 1;
	uint64_t tex_first = (uint64_t)t * d->tex_pages;
	uint8_t bo = va->bo ? (uint8_t)(bo_index(d, va->bo) + 1) : MODEL_SPARSE;
	uint32_t id = d->id[first];
	const char *why = check_tex_va(d, va, va->va.addr, t);

	if (why) {
		fail("mapping [0x%" PRIx64 ", +0x%" PRIx64 "): %s",
		     va->va.addr, va->va.range, why);
		return;
	}
	*pages += n;
	if (!id)
		why = "the model has nothing mapped there";
	else if (first > tex_first && d->id[first - 1] == id)
		why = "the model's mapping starts earlier";
	else if (last + 1 < tex_first + d->tex_pages && d->id[last + 1] == id)
		why = "the model's mapping goes on";
	for (uint64_t g = first; g <= last && !why; g++) {
		if (d->id[g] != id)
			why = "the model has several mappings there";
		else if (d->bo[g] != bo)
			why = "the model maps another BO";
		else if (va->bo && d->off[g] !=
			 va->bo_offset / PAGE_SIZE + (g - first))
			why = "the model maps another BO offset";
	}
	if (why)
		fail("mapping [0x%" PRIx64 ", +0x%" PRIx64 ") of BO %d +0x%"
		     PRIx64 ": %s", va->va.addr, va->va.range,
		     va->bo ? bo_index(d, va->bo) : -1, va->bo_offset, why);
}

struct verify_result {
	unsigned long mappings;
	unsigned long mismatches;	/* checks against the model that failed */
	unsigned long slots, placeholders, mapping_slots;
	uint64_t pages;
	int valid;
};

/* The whole VA space against the model, then the BOs' mapping lists. */
static void verify(struct demo *d, struct verify_result *res)
{
	unsigned long per_bo[NR_BOS + 1] = { 0 };
	unsigned long failed_before = atomic_load(&failures);
	unsigned int nr_static = 0;
	struct gpuva *va;

	gpuvm_lock(&d->vm);
	gpuvm_for_each_va(va, &d->vm) {
		int t = tex_of(d, va->va.addr);

		res->mappings++;
		if (va->bo && bo_index(d, va->bo) >= 0)
			per_bo[bo_index(d, va->bo)]++;
		if (t >= 0) {
			verify_tex_va(d, va, t, &res->pages);
			continue;
		}
		if (nr_static < NR_STATIC && va == d->statics[nr_static] &&
		    va->va.addr == STATIC_BASE + nr_static * STATIC_STRIDE &&
		    va->va.range == STATIC_SIZE) {
			nr_static++;
			continue;
		}
		fail("unexpected mapping [0x%" PRIx64 ", +0x%" PRIx64 ")",
		     va->va.addr, va->va.range);
	}
	if (nr_static != NR_STATIC)
		fail("%u of %u static mappings found", nr_static, NR_STATIC);
	if (res->pages != d->model_pages)
		fail("mappings cover %" PRIu64 " pages, the model %" PRIu64,
		     res->pages, d->model_pages);
	if (res->mappings != d->model_mappings + NR_STATIC ||
	    gpuvm_mapping_count(&d->vm) != res->mappings)
		fail("%lu mappings found, gpuvm_mapping_count() %lu, model %lu",
		     res->mappings, gpuvm_mapping_count(&d->vm),
		     d->model_mappings + NR_STATIC);

	/* Each BO's list holds exactly its mappings; unmapped BOs have none. */
	for (int b = 0; b <= NR_BOS; b++) {
		struct gpuvm_bo *vm_bo = gpuvm_bo_find(&d->vm, &d->bos[b]);
		unsigned long n = 0;

		if (!vm_bo) {
			if (per_bo[b])
				fail("BO %d: %lu mappings but no vm_bo", b,
				     per_bo[b]);
			continue;
		}
		gpuvm_bo_for_each_va(va, vm_bo) {
			n++;
			if (va->bo != &d->bos[b])
				fail("BO %d lists a mapping of BO %d", b,
				     bo_index(d, va->bo));
		}
		if (n != per_bo[b])
			fail("BO %d lists %lu mappings, has %lu", b, n,
			     per_bo[b]);
		gpuvm_bo_put(vm_bo);
	}

	res->mismatches = atomic_load(&failures) - failed_before;

	/* With no job pending, every slot is a whole mapping or the reserve. */
	{
		MA_STATE(mas, gpuvm_tree(&d->vm), 0, 0);
		void *entry;

		mas_for_each(&mas, entry, ULONG_MAX) {
			res->slots++;
			if (xa_is_zero(entry))
				res->placeholders++;
			else
				res->mapping_slots++;
		}
	}
	res->valid = mt_validate(gpuvm_tree(&d->vm));
	gpuvm_unlock(&d->vm);
	if (res->valid)
		fail("mt_validate() found errors (see stderr)");
	if (res->mapping_slots != res->mappings)
		fail("%lu tree slots for %lu mappings: pieces left unmerged",
		     res->mapping_slots, res->mappings);
	/* Placeholders are free space pending jobs keep split; the reserved
	 * region is the only one that may stay. */
	if (res->placeholders != 1)
		fail("%lu placeholder slots left with no job pending (1 expected: the reserved region)",
		     res->placeholders);
}

/* ---- The picture ---------------------------------------------------------- */

static void svg_color(char *buf, size_t size, const struct gpuva *va,
		      const struct demo *d)
{
	int b = va->bo ? bo_index(d, va->bo) : -1;

	if (b < 0)
		snprintf(buf, size, "#c8c8c8");
	else if (b == STATIC_BO)
		snprintf(buf, size, "#404040");
	else
		snprintf(buf, size, "hsl(%d,65%%,%d%%)",
			 ((b % BOS_PER_TEX) * 360 / BOS_PER_TEX +
			  (b / BOS_PER_TEX) * 17) % 360,
			 42 + (b / BOS_PER_TEX % 3) * 8);
}

static void svg_bo_name(char *buf, size_t size, const struct gpuva *va,
			const struct demo *d)
{
	int b = va->bo ? bo_index(d, va->bo) : -1;

	if (b < 0)
		snprintf(buf, size, "sparse (no BO)");
	else if (b == STATIC_BO)
		snprintf(buf, size, "static BO");
	else
		snprintf(buf, size, "BO %d (texture %d)", b, b / BOS_PER_TEX);
}

/*
 * Draw the mappings in [start, start + len) as rows of rectangles, one
 * colour per BO, the address of each row on the left and the offset into
 * the row on top. Hover a rectangle for its range and BO.
 */
static int write_svg(struct demo *d, const char *path, uint64_t start,
		     uint64_t len, unsigned long *drawn)
{
	const double left = 150, top = 70, width = 1000, row_h = 16, gap = 4;
	uint64_t row_bytes = PAGE_SIZE * 128, rows, end = start + len;
	bool used[NR_BOS + 2] = { false };
	unsigned long rects = 0, nmaps = 0;
	int nr_used = 0;
	double height, legend_y;
	struct gpuva *va;
	char buf[64], col[32];
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	if (len <= row_bytes) {
		row_bytes = len;
	} else if (len / row_bytes >= 128) {
		/* At most ~128 rows: widen them, a whole number of pages. */
		row_bytes = (len / 128 + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	}
	rows = (len + row_bytes - 1) / row_bytes;

	/* First pass: which BOs the legend needs. */
	gpuvm_lock(&d->vm);
	gpuvm_for_each_va_range(va, &d->vm, start, end) {
		int b = va->bo ? bo_index(d, va->bo) : -1;

		nr_used += !used[b < 0 ? NR_BOS + 1 : b];
		used[b < 0 ? NR_BOS + 1 : b] = true;
	}
	gpuvm_unlock(&d->vm);
	legend_y = top + (double)rows * (row_h + gap) + 30;
	height = legend_y + 30 + 18 * ((nr_used + 5) / 6);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"font-family=\"monospace\" font-size=\"11\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		left + width + 30, height);
	fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"15\">mapletree-demo: VA space [0x%"
		PRIx64 ", 0x%" PRIx64 ") (%s), seed %" PRIu64 "</text>\n",
		start, end, human(buf, sizeof(buf), (double)len), d->opt.seed);

	/* Row backgrounds (unmapped space) and addresses. */
	for (uint64_t r = 0; r < rows; r++) {
		uint64_t rs = start + r * row_bytes;
		uint64_t rl = end - rs < row_bytes ? end - rs : row_bytes;
		double y = top + (double)r * (row_h + gap);

		fprintf(f, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"#f2f2f2\"/>\n",
			left, y, width * (double)rl / (double)row_bytes, row_h);
		if (rows <= 64 || r % ((rows + 63) / 64) == 0)
			fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">0x%012"
				PRIx64 "</text>\n", left - 8, y + 12, rs);
	}
	/* The axis: offsets into a row. */
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
		left, top - 8, left + width, top - 8);
	for (int k = 0; k <= 8; k++) {
		double x = left + width * k / 8.0;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"black\"/>\n",
			x, top - 12, x, top - 4);
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">+%s</text>\n",
			x, top - 16,
			human(buf, sizeof(buf), (double)row_bytes * k / 8.0));
	}

	/* The mappings, cut into row segments. */
	gpuvm_lock(&d->vm);
	gpuvm_for_each_va_range(va, &d->vm, start, end) {
		uint64_t a = va->va.addr > start ? va->va.addr : start;
		uint64_t e = va->va.addr + va->va.range < end ?
			     va->va.addr + va->va.range : end;

		nmaps++;
		svg_color(col, sizeof(col), va, d);
		svg_bo_name(buf, sizeof(buf), va, d);
		while (a < e && rects < SVG_MAX_RECTS) {
			uint64_t r = (a - start) / row_bytes;
			uint64_t rend = start + (r + 1) * row_bytes;
			uint64_t se = e < rend ? e : rend;
			double x = left + width * (double)(a - start - r * row_bytes) /
					  (double)row_bytes;
			double w = width * (double)(se - a) / (double)row_bytes;

			/* At least a pixel wide; outlined when wide enough
			 * for neighbours to be told apart. */
			fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" "
				"fill=\"%s\"%s><title>[0x%" PRIx64 ", 0x%" PRIx64
				") %s +0x%" PRIx64 "</title></rect>\n",
				x, top + (double)r * (row_h + gap), w > 1.0 ? w : 1.0,
				row_h, col,
				w >= 3.0 ? " stroke=\"white\" stroke-width=\"0.5\"" : "",
				va->va.addr, va->va.addr + va->va.range,
				buf, va->bo_offset);
			rects++;
			a = se;
		}
	}
	gpuvm_unlock(&d->vm);

	/* Legend: the BOs that appear. */
	fprintf(f, "<text x=\"10\" y=\"%.0f\">%lu mappings; one row = %s (pages of 64 KiB); light grey background = unmapped</text>\n",
		legend_y, nmaps, human(buf, sizeof(buf), (double)row_bytes));
	{
		int k = 0;

		for (int b = 0; b < NR_BOS + 2; b++) {
			struct gpuva fake = { 0 };
			double x, y;

			if (!used[b])
				continue;
			fake.bo = b <= NR_BOS ? &d->bos[b] : NULL;
			svg_color(col, sizeof(col), &fake, d);
			svg_bo_name(buf, sizeof(buf), &fake, d);
			x = 10 + (k % 6) * 190.0;
			y = legend_y + 18 + (k / 6) * 18.0;
			fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
				"<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
				x, y, col, x + 16, y + 10, buf);
			k++;
		}
	}
	if (rects >= SVG_MAX_RECTS)
		fprintf(f, "<text x=\"10\" y=\"44\" fill=\"red\">truncated at %d rectangles</text>\n",
			SVG_MAX_RECTS);
	fprintf(f, "</svg>\n");
	*drawn = nmaps;
	if (fclose(f))
		return -errno;
	return 0;
}

/* ---- Teardown ------------------------------------------------------------ */

/* One last job unmaps everything; then every object is released. */
static void teardown(struct demo *d, unsigned long *left, size_t *nodes)
{
	struct gpuvm_bind_req reqs[NR_TEX + 1];
	struct mt_cache_stats st;

	for (unsigned int t = 0; t < NR_TEX; t++)
		reqs[t] = (struct gpuvm_bind_req){
			.op = GPUVM_BIND_UNMAP,
			.addr = tex_base(t),
			.range = d->tex_pages * PAGE_SIZE,
		};
	reqs[NR_TEX] = (struct gpuvm_bind_req){
		.op = GPUVM_BIND_UNMAP,
		.addr = STATIC_BASE,
		.range = NR_STATIC * STATIC_STRIDE,
	};
	if (gpuvm_bind_queue_start(d->queue) == 0) {
		submit(d, reqs, NR_TEX + 1, false);
		drain(d);
	}
	gpuvm_bind_queue_destroy(d->queue);
	d->queue = NULL;
	*left = gpuvm_mapping_count(&d->vm);

	/* Whatever is left (only after a failure) goes the plain way. */
	if (*left) {
		struct gpuva *va;

		gpuvm_lock(&d->vm);
		gpuvm_for_each_va(va, &d->vm) {
			gpuva_remove(va);
			gpuva_unlink(va);
			gpuva_free_rcu(va);
		}
		gpuvm_unlock(&d->vm);
	}
	gpuvm_put(&d->vm);
	for (int b = 0; b <= NR_BOS; b++)
		if (gpuvm_bo_handle_fini(&d->bos[b]))
			fail("BO %d still has a vm_bo at teardown", b);
	mt_cache_stats(&st);
	*nodes = st.nodes_live;
}

/* ---- Options ------------------------------------------------------------- */

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
"usage: %s [options] [mappings [seconds]]\n"
"\n"
"Simulates a GPU driver's sparse-residency binds on a 2^47-byte VA space of\n"
"64 KiB pages: an application thread submits bind jobs of random map/unmap\n"
"requests (immediate mode, several jobs in flight), the bind queue's worker\n"
"runs them in fence-signalling sections, and a fault-handler thread looks up\n"
"random addresses lock-free. At the end the VA space is checked against a\n"
"reference model of every request.\n"
"\n"
"  --seconds S            how long to submit random jobs (default 10)\n"
"  --mappings N           mappings to start with and to hover around\n"
"                         (default 200000)\n"
"  --jobs-in-flight K     jobs pending at once: job i waits for job i-K\n"
"                         (default 8)\n"
"  --requests-per-job R   requests per job (default 256)\n"
"  --seed X               seed of the request stream (default: from the clock)\n"
"  --svg FILE             write the final VA space in the window as SVG\n"
"  --window START:LEN     the window, bytes; K/M/G/T suffixes accepted\n"
"                         (default: the first 32 MiB of texture 0)\n"
"  --progress             progress line on stderr even if it is not a tty\n"
"  --help                 this text\n"
"\n"
"Exit status: 0 if every check passed, 1 if one failed, 2 on bad usage.\n",
		prog);
}

/* A number with an optional binary suffix (K, M, G, T). */
static bool parse_size(const char *s, const char **end, uint64_t *out)
{
	char *e;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &e, 0);
	if (errno || e == s || *s == '-')
		return false;
	switch (*e) {
	case 'K': case 'k': shift = 10; e++; break;
	case 'M': case 'm': shift = 20; e++; break;
	case 'G': case 'g': shift = 30; e++; break;
	case 'T': case 't': shift = 40; e++; break;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	*end = e;
	return true;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *out)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 0);
	if (errno || e == s || *e || *s == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_seconds(const char *s, double *out)
{
	char *e;
	double v = strtod(s, &e);

	if (e == s || *e || !(v > 0) || v > 86400)
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "mappings", required_argument, NULL, 'm' },
		{ "jobs-in-flight", required_argument, NULL, 'k' },
		{ "requests-per-job", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 'x' },
		{ "svg", required_argument, NULL, 'g' },
		{ "window", required_argument, NULL, 'w' },
		{ "progress", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	unsigned long v;
	int c;

	*o = (struct options){
		.seconds = 10.0,
		.mappings = 200000,
		.inflight = 8,
		.per_job = 256,
	};
	int idx = -1;

	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		const char *e;
		bool ok = true;

		switch (c) {
		case 's':
			ok = parse_seconds(optarg, &o->seconds);
			break;
		case 'm':
			ok = parse_ulong(optarg, 1, 10000000, &o->mappings);
			break;
		case 'k':
			ok = parse_ulong(optarg, 1, 1024, &v);
			o->inflight = (unsigned int)v;
			break;
		case 'r':
			ok = parse_ulong(optarg, 1, 65536, &v);
			o->per_job = (unsigned int)v;
			break;
		case 'x':
			ok = parse_size(optarg, &e, &o->seed) && !*e;
			seeded = true;
			break;
		case 'g':
			o->svg = optarg;
			break;
		case 'w':
			ok = parse_size(optarg, &e, &o->win_start) && *e == ':' &&
			     parse_size(e + 1, &e, &o->win_len) && !*e &&
			     o->win_len && o->win_start + o->win_len > o->win_start &&
			     o->win_start + o->win_len <= VA_SIZE;
			o->have_window = true;
			break;
		case 'p':
			o->progress = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		default:
			ok = false;
			break;
		}
		if (!ok) {
			if (c != '?' && idx >= 0)
				fprintf(stderr, "%s: bad value for --%s: %s\n",
					argv[0], longopts[idx].name, optarg);
			goto bad;
		}
	}
	/* The old positional form: [mappings [seconds]]. */
	if (optind < argc && !parse_ulong(argv[optind++], 1, 10000000,
					  &o->mappings))
		goto bad;
	if (optind < argc && !parse_seconds(argv[optind++], &o->seconds))
		goto bad;
	if (optind < argc)
		goto bad;
	if (!seeded)
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	return 0;
bad:
	fprintf(stderr, "usage: %s [options] [mappings [seconds]] (--help: the options)\n",
		argv[0]);
	return -1;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct demo *d = calloc(1, sizeof(*d));
	struct run_result rr = { 0 };
	struct verify_result vr = { 0 };
	struct gpuvm_bind_stats bst;
	struct mt_cache_stats cst;
	unsigned long setup_jobs, setup_reqs, left = 0;
	size_t nodes_left = 0;
	double t_setup, busy_rate, idle_rate;
	pthread_t fault_thread;
	char b1[32], b2[32], b3[32], b4[32];
	int ret;

	if (!d || parse_options(argc, argv, &d->opt))
		return 2;
	d->show_progress = d->opt.progress || isatty(STDERR_FILENO);
	d->rnd = d->opt.seed ? d->opt.seed : 1;
	/* Room for the mappings with gaps and for the steady state's churn. */
	d->tex_pages = (d->opt.mappings / NR_TEX + 1) * 6 + 4 * MAX_LEN;
	d->bo_pages = d->tex_pages / 4 > MAX_LEN ? d->tex_pages / 4 : MAX_LEN;
	d->total_pages = d->tex_pages * NR_TEX;
	d->id = calloc(d->total_pages, sizeof(*d->id));
	d->off = calloc(d->total_pages, sizeof(*d->off));
	d->bo = calloc(d->total_pages, sizeof(*d->bo));
	d->ring = calloc(d->opt.inflight, sizeof(*d->ring));
	if (!d->id || !d->off || !d->bo || !d->ring) {
		fprintf(stderr, "out of memory for the reference model\n");
		return 2;
	}
	if (d->opt.svg && !d->opt.have_window) {
		d->opt.win_start = tex_base(0);
		d->opt.win_len = 512 * PAGE_SIZE;
	}

	urcu_memb_register_thread();
	ret = gpuvm_init(&d->vm, "demo", 0, 0, VA_SIZE, RESERVE_START,
			 RESERVE_RANGE, &vm_ops);
	if (ret) {
		fprintf(stderr, "gpuvm_init(): %s\n", strerror(-ret));
		return 1;
	}
	for (int b = 0; b < NR_BOS; b++)
		gpuvm_bo_handle_init(&d->bos[b], d->bo_pages * PAGE_SIZE,
				     &d->vm);
	gpuvm_bo_handle_init(&d->bos[STATIC_BO], NR_STATIC * STATIC_SIZE,
			     &d->vm);
	ret = gpuvm_bind_queue_create(&d->vm, GPUVM_BIND_IMMEDIATE, &bind_ops,
				      d, &d->queue);
	if (ret) {
		fprintf(stderr, "gpuvm_bind_queue_create(): %s\n",
			strerror(-ret));
		return 1;
	}

	printf("mapletree-demo: a GPU VA space under sparse-residency binds (seed %" PRIu64 ")\n",
	       d->opt.seed);
	printf("VA space:  %s, 64 KiB pages: %d sparse textures of %s, each backed by %d BOs of %s;\n"
	       "           %d static mappings; reserved region [0x%" PRIx64 ", +%s)\n",
	       human(b1, sizeof(b1), (double)VA_SIZE), NR_TEX,
	       human(b2, sizeof(b2), (double)(d->tex_pages * PAGE_SIZE)),
	       BOS_PER_TEX, human(b3, sizeof(b3), (double)(d->bo_pages * PAGE_SIZE)),
	       NR_STATIC, (uint64_t)RESERVE_START,
	       human(b4, sizeof(b4), (double)RESERVE_RANGE));
	fflush(stdout);

	/* Setup: static mappings, then the textures through the queue. */
	d->t_start = now();
	ret = setup_statics(d);
	if (ret) {
		fprintf(stderr, "static mappings: %s\n", strerror(-ret));
		return 1;
	}
	atomic_store(&d->phase, PH_SETUP);
	ret = pthread_create(&fault_thread, NULL, fault_handler, d);
	if (ret) {
		fprintf(stderr, "pthread_create: %s\n", strerror(ret));
		return 1;
	}
	ret = gpuvm_bind_queue_start(d->queue);
	if (!ret)
		ret = populate(d);
	drain(d);
	gpuvm_bind_queue_stop(d->queue);
	t_setup = now() - d->t_start;
	gpuvm_bind_queue_stats(d->queue, &bst);
	setup_jobs = bst.jobs_submitted;
	setup_reqs = bst.requests;
	progress_clear(d);
	printf("setup:     %lu mappings from %lu requests in %lu jobs, %.2f s (%.0f requests/s)\n",
	       gpuvm_mapping_count(&d->vm), setup_reqs, setup_jobs, t_setup,
	       (double)setup_reqs / t_setup);
	printf("run:       %.1f s of jobs of %u random requests (maps of 1-%d pages, unmaps of 2-%d),\n"
	       "           %u jobs in flight, each behind the previous job's out-fence; immediate mode\n",
	       d->opt.seconds, d->opt.per_job, MAX_LEN, 2 * MAX_LEN,
	       d->opt.inflight);
	fflush(stdout);

	/* The run, then a short idle spell for the lookup rate. The worker
	 * is stopped: its counters can start again from zero. */
	memset(d->ops, 0, sizeof(d->ops));
	d->sections = 0;
	d->section_total = d->section_max = 0;
	set_phase(d, PH_BUSY);
	if (!ret)
		ret = run(d, &rr);
	progress_clear(d);
	set_phase(d, PH_IDLE);
	usleep((useconds_t)(IDLE_SECONDS * 1e6));
	set_phase(d, PH_STOP);
	pthread_join(fault_thread, NULL);
	gpuvm_bind_queue_stop(d->queue);	/* the last job's cleanup is done */
	gpuvm_bind_queue_stats(d->queue, &bst);

	busy_rate = d->lookup_seconds[PH_BUSY] > 0 ?
		    (double)d->lookups[PH_BUSY] / d->lookup_seconds[PH_BUSY] : 0;
	idle_rate = d->lookup_seconds[PH_IDLE] > 0 ?
		    (double)d->lookups[PH_IDLE] / d->lookup_seconds[PH_IDLE] : 0;
	printf("jobs:      %lu jobs, %lu requests (%.0f%% maps) in %.2f s: %.0f requests/s; %lu failed\n",
	       rr.jobs, rr.requests,
	       rr.requests ? 100.0 * (double)rr.maps / (double)rr.requests : 0.0,
	       rr.seconds, (double)rr.requests / rr.seconds, bst.jobs_failed);
	printf("ops:       %lu MAP, %lu REMAP, %lu UNMAP applied by the worker\n",
	       d->ops[GPUVA_OP_MAP], d->ops[GPUVA_OP_REMAP], d->ops[GPUVA_OP_UNMAP]);
	mt_cache_stats(&cst);
	printf("signalling: %lu run steps, %.0f us mean, %.0f us longest; %lu allocations inside (must be 0)\n",
	       d->sections,
	       d->sections ? d->section_total * 1e6 / (double)d->sections : 0.0,
	       d->section_max * 1e6, cst.forbidden_allocs);
	if (cst.forbidden_allocs)
		fail("%lu allocations inside fence-signalling sections",
		     cst.forbidden_allocs);
	printf("lookups:   %lu while binding, %.2f M/s (%.0f%% found a mapping); %.2f M/s idle\n"
	       "           (3 busy threads on %ld CPUs while binding: application, worker, fault handler)\n",
	       d->lookups[PH_BUSY], busy_rate * 1e-6,
	       d->lookups[PH_BUSY] ? 100.0 * (double)d->hits[PH_BUSY] /
				     (double)d->lookups[PH_BUSY] : 0.0,
	       idle_rate * 1e-6, sysconf(_SC_NPROCESSORS_ONLN));
	printf("reserved:  %s per pending request (%s of job storage and mappings + %s of tree nodes),\n"
	       "           measured with %lu requests pending; peak %s; %lu mappings reserved, %lu used (%.0f%%)\n",
	       human(b1, sizeof(b1), rr.measured_reqs ?
		     ((double)rr.job_bytes + (double)rr.node_bytes) /
		     (double)rr.measured_reqs : 0.0),
	       human(b2, sizeof(b2), rr.measured_reqs ?
		     (double)rr.job_bytes / (double)rr.measured_reqs : 0.0),
	       human(b3, sizeof(b3), rr.measured_reqs ?
		     (double)rr.node_bytes / (double)rr.measured_reqs : 0.0),
	       rr.measured_reqs, human(b4, sizeof(b4), (double)bst.reserved_peak),
	       bst.reserved_vas, bst.used_vas,
	       bst.reserved_vas ? 100.0 * (double)bst.used_vas /
				  (double)bst.reserved_vas : 0.0);
	if (bst.reserved_bytes)
		fail("%zu bytes still reserved with no job pending",
		     bst.reserved_bytes);

	verify(d, &vr);
	rcu_barrier_locked(d);
	mt_cache_stats(&cst);
	printf("memory:    tree %s (%zu nodes of 256 B, height %u) = %.1f B per mapping; mappings %zu B each\n",
	       human(b1, sizeof(b1), (double)cst.nodes_live * 256.0),
	       cst.nodes_live, mt_height(gpuvm_tree(&d->vm)),
	       (double)cst.nodes_live * 256.0 / (double)(vr.mappings ? vr.mappings : 1),
	       sizeof(struct gpuva));
	printf("verify:    %lu mappings (%" PRIu64 " pages) against a model that replayed all %lu requests: %s;\n"
	       "           tree %s, %lu slots, %lu of them placeholders\n",
	       vr.mappings, vr.pages, setup_reqs + rr.requests,
	       vr.mismatches ? "MISMATCH" : "equal",
	       vr.valid ? "INVALID" : "valid", vr.slots, vr.placeholders);

	if (d->opt.svg) {
		unsigned long drawn = 0;

		ret = write_svg(d, d->opt.svg, d->opt.win_start,
				d->opt.win_len, &drawn);
		if (ret)
			fail("writing %s: %s", d->opt.svg, strerror(-ret));
		else
			printf("picture:   %s: %lu mappings in [0x%" PRIx64 ", +%s)\n",
			       d->opt.svg, drawn, d->opt.win_start,
			       human(b1, sizeof(b1), (double)d->opt.win_len));
	}

	teardown(d, &left, &nodes_left);
	printf("teardown:  one job unmapped everything: %lu mappings left, %zu tree nodes and %ld mappings live\n",
	       left, nodes_left, atomic_load(&gpuvas_live));
	if (left || nodes_left || atomic_load(&gpuvas_live))
		fail("teardown left %lu mappings, %zu nodes, %ld gpuvas",
		     left, nodes_left, atomic_load(&gpuvas_live));

	urcu_memb_unregister_thread();
	for (unsigned int i = 0; i < d->opt.inflight; i++)
		gpuvm_fence_put(d->ring[i]);
	free(d->ring);
	free(d->id);
	free(d->off);
	free(d->bo);
	free(d);

	unsigned long nr_failed = atomic_load(&failures);

	printf("result:    %s (%lu failed checks)\n", nr_failed ? "FAIL" : "PASS",
	       nr_failed);
	return nr_failed ? 1 : 0;
}
