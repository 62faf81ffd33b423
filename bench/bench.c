/* SPDX-License-Identifier: MIT */
/*
 * mapletree-bench: the maple tree against a red-black tree, JudyL and a
 * sorted array, on one million ranges laid out with gaps ([16i, 16i+9]) and
 * back to back ([10i, 10i+9]).
 *
 * Workloads (ns per operation unless noted):
 *   seq_insert   insert every range in increasing order
 *   rand_insert  insert every range in a random order
 *   load_hit     load a random index inside a random range
 *   load_miss    load an index in a gap (gapped) or past the end (adjacent)
 *   iterate      walk every range once with mt_for_each (ns per range)
 *   iterate_cursor  the same with a cursor (mas_for_each; maple only)
 *   rand_erase   erase every range in a random order
 *   rand_store   overwrite short random spans [a, a+L], L in 0..63
 *   memory       bytes per entry after the sequential and random builds
 *   readers      1 writer / N readers (Mops/s), maple-rcu vs rbtree+rwlock
 *   alloc        nodes reserved vs used per store kind, the node cache's
 *                fast path, the cost of a reservation (maple only)
 *   gap          allocation trees: mtree_alloc_range (random, scaling,
 *                aligned) and mtree_dup vs re-inserting (maple only)
 *   compact      mt_cache_compact() after erasing 90% of a tree, and readers
 *                beside a compacting main thread (maple only)
 *   gpuvm        the VA manager (libmapletree-gpuvm): split/merge requests
 *                applied, lookups, memory per mapping, at n and n/10
 *   bind         the VA manager's bind queues: requests/s in both modes,
 *                memory per pending request, lookups beside binds, at n
 *                and n/5
 *
 * Each figure is the median of --runs runs. Every workload checks what it
 * did and aborts on the first wrong answer. --sizes repeats the
 * per-structure workloads for several n; --plot DIR charts the figures
 * (plot.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "bench.h"

#define RANGE_LEN	10UL
#define EMPTY_ID	UINT32_MAX
#define SPOT_CHECKS	100000UL

/* ---- Configuration ------------------------------------------------------ */

enum layout { L_GAPPED, L_ADJACENT, NR_LAYOUTS };

static const char *const layout_name[NR_LAYOUTS] = { "gapped", "adjacent" };
static const unsigned long layout_stride[NR_LAYOUTS] = { 16, 10 };

enum workload {
	W_SEQ_INSERT,
	W_RAND_INSERT,
	W_LOAD_HIT,
	W_LOAD_MISS,
	W_ITERATE,
	W_ITERATE_CURSOR,
	W_RAND_ERASE,
	W_RAND_STORE,
	W_MEMORY,
	W_READERS,
	W_ALLOC,
	W_GAP,
	W_COMPACT,
	W_GPUVM,
	W_BIND,
	NR_WORKLOADS
};

static const char *const workload_name[NR_WORKLOADS] = {
	"seq_insert", "rand_insert", "load_hit", "load_miss", "iterate",
	"iterate_cursor", "rand_erase", "rand_store", "memory", "readers",
	"alloc", "gap", "compact", "gpuvm", "bind",
};

static const struct bench_ops *const structures[] = {
	&maple_rcu_ops, &maple_plain_ops, &rbtree_ops, &judyl_ops,
	&sortedarray_ops,
};
#define NR_STRUCTURES	(sizeof(structures) / sizeof(structures[0]))
#define S_MAPLE_RCU	0	/* the reference column of the ratios */

static const unsigned int reader_counts[] = { 1, 2, 4 };
#define NR_READER_COUNTS (sizeof(reader_counts) / sizeof(reader_counts[0]))

#define MAX_SIZES	16

struct config {
	/* The size being run or reported; results are keyed by it. */
	unsigned long n;
	unsigned long stores;
	bool stores_set;
	/* --sizes, ascending; one entry (--n) by default. */
	unsigned long sizes[MAX_SIZES];
	unsigned int nr_sizes;
	const char *plot_dir;
	unsigned int runs;
	unsigned int duration_ms;
	uint64_t seed;
	bool workload[NR_WORKLOADS];
	bool layout[NR_LAYOUTS];
	bool structure[NR_STRUCTURES];
};

static struct config cfg;

void bench_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "verification failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(seed %" PRIu64 ", n %lu)\n", cfg.seed, cfg.n);
	abort();
}

/* ---- Results ------------------------------------------------------------ */

enum metric { M_NS, M_BYTES, M_HELD, M_SHRUNK, M_MOPS, M_WRITER_MOPS };

struct result {
	enum workload workload;
	const char *variant;	/* memory: "seq"/"rand"; readers: "alone"... */
	unsigned long n;
	int layout;
	int structure;
	unsigned int readers;
	enum metric metric;
	double *v;
	unsigned int nv;
};

static struct result *results;
static size_t nr_results, cap_results;

static struct result *result_get(enum workload w, const char *variant,
				 int layout, int structure,
				 unsigned int readers, enum metric m)
{
	struct result *r;

	for (size_t k = 0; k < nr_results; k++) {
		r = &results[k];
		if (r->workload == w && r->n == cfg.n && r->layout == layout &&
		    r->structure == structure && r->readers == readers &&
		    r->metric == m &&
		    (r->variant == variant ||
		     (r->variant && variant && !strcmp(r->variant, variant))))
			return r;
	}
	if (nr_results == cap_results) {
		cap_results = cap_results ? cap_results * 2 : 64;
		results = realloc(results, cap_results * sizeof(*results));
		if (!results)
			bench_fail("out of memory for results");
	}
	r = &results[nr_results++];
	memset(r, 0, sizeof(*r));
	r->workload = w;
	r->variant = variant;
	r->n = cfg.n;
	r->layout = layout;
	r->structure = structure;
	r->readers = readers;
	r->metric = m;
	r->v = calloc(cfg.runs, sizeof(*r->v));
	if (!r->v)
		bench_fail("out of memory for results");
	return r;
}

static void record(enum workload w, const char *variant, int layout,
		   int structure, unsigned int readers, enum metric m,
		   double value)
{
	struct result *r = result_get(w, variant, layout, structure, readers,
				      m);

	if (r->nv < cfg.runs)
		r->v[r->nv++] = value;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t nv)
{
	qsort(v, nv, sizeof(*v), cmp_double);
	return nv % 2 ? v[nv / 2] : (v[nv / 2 - 1] + v[nv / 2]) / 2;
}

void *bench_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		bench_fail("out of memory (%zu bytes)", size);
	return p;
}

void *bench_xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size);

	if (!p)
		bench_fail("out of memory (%zu x %zu bytes)", count, size);
	return p;
}

struct stats {
	double median, min, max;
	bool valid;
};

static struct stats result_stats(const struct result *r)
{
	struct stats st = { 0, 0, 0, false };
	double tmp[r ? r->nv + 1 : 1];

	if (!r || !r->nv)
		return st;
	memcpy(tmp, r->v, r->nv * sizeof(*tmp));
	qsort(tmp, r->nv, sizeof(*tmp), cmp_double);
	st.min = tmp[0];
	st.max = tmp[r->nv - 1];
	st.median = r->nv % 2 ? tmp[r->nv / 2] :
		(tmp[r->nv / 2 - 1] + tmp[r->nv / 2]) / 2;
	st.valid = true;
	return st;
}

static const struct result *result_find(enum workload w, const char *variant,
					int layout, int structure,
					unsigned int readers, enum metric m)
{
	for (size_t k = 0; k < nr_results; k++) {
		const struct result *r = &results[k];

		if (r->workload == w && r->n == cfg.n && r->layout == layout &&
		    r->structure == structure && r->readers == readers &&
		    r->metric == m &&
		    (r->variant == variant ||
		     (r->variant && variant && !strcmp(r->variant, variant))))
			return r;
	}
	return NULL;
}

static void print_ns_results(int layout)
{
	for (int w = 0; w < W_MEMORY; w++) {
		for (size_t s = 0; s < NR_STRUCTURES; s++) {
			struct stats st = result_stats(result_find(w, NULL,
					layout, (int)s, 0, M_NS));

			if (!st.valid)
				continue;
			printf("result workload=%s layout=%s structure=%s "
			       "n=%lu ns_per_op=%.2f min=%.2f max=%.2f\n",
			       workload_name[w], layout_name[layout],
			       structures[s]->name, cfg.n, st.median, st.min,
			       st.max);
		}
	}
	for (int b = 0; b < 2; b++) {
		const char *variant = b ? "rand" : "seq";

		for (size_t s = 0; s < NR_STRUCTURES; s++) {
			struct stats st = result_stats(result_find(W_MEMORY,
					variant, layout, (int)s, 0, M_BYTES));
			struct stats held = result_stats(result_find(W_MEMORY,
					variant, layout, (int)s, 0, M_HELD));
			struct stats shrunk = result_stats(result_find(
					W_MEMORY, variant, layout, (int)s, 0,
					M_SHRUNK));

			if (!st.valid)
				continue;
			printf("result workload=memory_%s layout=%s "
			       "structure=%s n=%lu bytes_per_entry=%.2f",
			       variant, layout_name[layout],
			       structures[s]->name, cfg.n, st.median);
			if (held.valid)
				printf(" held_bytes_per_entry=%.2f",
				       held.median);
			if (shrunk.valid)
				printf(" shrunk_bytes_per_entry=%.2f",
				       shrunk.median);
			printf("\n");
		}
	}
	fflush(stdout);
}

/* ---- Per-run workload data --------------------------------------------- */

struct run_data {
	unsigned long stride;
	unsigned long span;		/* n * stride */
	uint32_t *insert_order;		/* a permutation of 0..n-1 */
	unsigned long *hit_index;
	uint32_t *hit_id;
	unsigned long *miss_index;
	unsigned long *erase_index;
	uint32_t *erase_id;
	unsigned long *store_first;
	uint8_t *store_len;
	uint32_t *model;		/* id per key after the stores */
	unsigned long model_size;
	uint64_t seed;
};

static void shuffle(uint32_t *a, unsigned long n, struct rng *r)
{
	for (unsigned long i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	for (unsigned long i = n; i > 1; i--) {
		unsigned long j = (unsigned long)rng_below(r, i);
		uint32_t t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void run_data_init(struct run_data *d, int layout, uint64_t seed)
{
	unsigned long n = cfg.n;
	struct rng r;
	uint32_t *perm;

	memset(d, 0, sizeof(*d));
	d->seed = seed;
	d->stride = layout_stride[layout];
	d->span = n * d->stride;
	rng_seed(&r, seed);

	d->insert_order = bench_xmalloc(n * sizeof(*d->insert_order));
	shuffle(d->insert_order, n, &r);

	d->hit_index = bench_xmalloc(n * sizeof(*d->hit_index));
	d->hit_id = bench_xmalloc(n * sizeof(*d->hit_id));
	d->miss_index = bench_xmalloc(n * sizeof(*d->miss_index));
	for (unsigned long k = 0; k < n; k++) {
		unsigned long i = (unsigned long)rng_below(&r, n);

		d->hit_id[k] = (uint32_t)i;
		d->hit_index[k] = i * d->stride +
				  (unsigned long)rng_below(&r, RANGE_LEN);
	}
	for (unsigned long k = 0; k < n; k++) {
		if (layout == L_GAPPED) {
			unsigned long i = (unsigned long)rng_below(&r, n);
			unsigned long gap = d->stride - RANGE_LEN;

			d->miss_index[k] = i * d->stride + RANGE_LEN +
					   (unsigned long)rng_below(&r, gap);
		} else {
			d->miss_index[k] = d->span +
				(unsigned long)rng_below(&r, d->span);
		}
	}

	perm = bench_xmalloc(n * sizeof(*perm));
	shuffle(perm, n, &r);
	d->erase_index = bench_xmalloc(n * sizeof(*d->erase_index));
	d->erase_id = perm;
	for (unsigned long k = 0; k < n; k++)
		d->erase_index[k] = perm[k] * d->stride +
				    (unsigned long)rng_below(&r, RANGE_LEN);

	d->store_first = bench_xmalloc(cfg.stores * sizeof(*d->store_first));
	d->store_len = bench_xmalloc(cfg.stores * sizeof(*d->store_len));
	for (unsigned long k = 0; k < cfg.stores; k++) {
		d->store_first[k] = (unsigned long)rng_below(&r, d->span);
		d->store_len[k] = (uint8_t)rng_below(&r, 64);
	}
}

/* The reference result of the overwriting stores: one id per key. */
static void run_data_model(struct run_data *d)
{
	unsigned long n = cfg.n;

	if (d->model)
		return;
	d->model_size = d->span + 64;
	d->model = bench_xmalloc(d->model_size * sizeof(*d->model));
	for (unsigned long key = 0; key < d->model_size; key++)
		d->model[key] = EMPTY_ID;
	for (unsigned long i = 0; i < n; i++)
		for (unsigned long o = 0; o < RANGE_LEN; o++)
			d->model[i * d->stride + o] = (uint32_t)i;
	for (unsigned long k = 0; k < cfg.stores; k++) {
		unsigned long a = d->store_first[k];

		for (unsigned long o = 0; o <= d->store_len[k]; o++)
			d->model[a + o] = (uint32_t)(n + k);
	}
}

static void run_data_free(struct run_data *d)
{
	free(d->insert_order);
	free(d->hit_index);
	free(d->hit_id);
	free(d->miss_index);
	free(d->erase_index);
	free(d->erase_id);
	free(d->store_first);
	free(d->store_len);
	free(d->model);
	memset(d, 0, sizeof(*d));
}

/* ---- Verification helpers ---------------------------------------------- */

/* Checks a freshly built structure holds exactly ranges 0..n-1. */
struct build_check {
	const char *who;
	unsigned long stride;
	unsigned long next;
};

static void build_check_fn(void *arg, unsigned long first,
			   unsigned long last, void *entry)
{
	struct build_check *c = arg;
	unsigned long i = c->next++;

	if (i >= cfg.n)
		bench_fail("%s: extra range [%lu, %lu] after %lu ranges",
			   c->who, first, last, cfg.n);
	if (first != i * c->stride || last != first + RANGE_LEN - 1 ||
	    entry != val_entry(i))
		bench_fail("%s: range #%lu is [%lu, %lu] -> %p, expected "
			   "[%lu, %lu] -> %p", c->who, i, first, last, entry,
			   i * c->stride, i * c->stride + RANGE_LEN - 1,
			   val_entry(i));
}

static void check_build(const struct bench_ops *ops, void *s,
			const struct run_data *d, const char *how)
{
	char who[96];
	struct build_check c = { who, d->stride, 0 };

	snprintf(who, sizeof(who), "%s after %s", ops->name, how);
	if (ops->validate) {
		int ret = ops->validate(s);

		if (ret)
			bench_fail("%s: validate returned %d", who, ret);
	}
	ops->visit(s, build_check_fn, &c);
	if (c.next != cfg.n)
		bench_fail("%s: holds %lu ranges, expected %lu", who, c.next,
			   cfg.n);
}

/* Walks the model's ranges in step with the structure's. */
struct model_check {
	const char *who;
	const struct run_data *d;
	unsigned long pos;	/* next key of the model to look at */
	unsigned long ranges;
};

static bool model_next(struct model_check *c, unsigned long *first,
		       unsigned long *last, uint32_t *id)
{
	const uint32_t *m = c->d->model;
	unsigned long size = c->d->model_size, k = c->pos;

	while (k < size && m[k] == EMPTY_ID)
		k++;
	if (k == size) {
		c->pos = k;
		return false;
	}
	*first = k;
	*id = m[k];
	while (k < size && m[k] == *id)
		k++;
	*last = k - 1;
	c->pos = k;
	return true;
}

static void model_check_fn(void *arg, unsigned long first,
			   unsigned long last, void *entry)
{
	struct model_check *c = arg;
	unsigned long ef, el;
	uint32_t id;

	c->ranges++;
	if (!model_next(c, &ef, &el, &id))
		bench_fail("%s: extra range [%lu, %lu] -> %p after the "
			   "model's last range", c->who, first, last, entry);
	if (first != ef || last != el || entry != val_entry(id))
		bench_fail("%s: range #%lu is [%lu, %lu] -> %p, expected "
			   "[%lu, %lu] -> %p", c->who, c->ranges - 1, first,
			   last, entry, ef, el, val_entry(id));
}

static void check_stores(const struct bench_ops *ops, void *s,
			 struct run_data *d)
{
	char who[96];
	struct model_check c = { who, d, 0, 0 };
	unsigned long ef, el;
	uint32_t id;
	struct rng r;

	snprintf(who, sizeof(who), "%s after rand_store", ops->name);
	if (ops->validate) {
		int ret = ops->validate(s);

		if (ret)
			bench_fail("%s: validate returned %d", who, ret);
	}
	/* Spot-check loads at random keys against the intended value. */
	rng_seed(&r, d->seed ^ 0x5107c4ec);
	for (unsigned long k = 0; k < SPOT_CHECKS; k++) {
		unsigned long key = (unsigned long)rng_below(&r,
							     d->model_size);
		void *want = d->model[key] == EMPTY_ID ? NULL :
			     val_entry(d->model[key]);
		void *got = ops->load(s, key);

		if (got != want)
			bench_fail("%s: load(%lu) returned %p, expected %p",
				   who, key, got, want);
	}
	/* Then every range, bounds included. */
	ops->visit(s, model_check_fn, &c);
	if (model_next(&c, &ef, &el, &id))
		bench_fail("%s: missing range [%lu, %lu] -> %p (after %lu "
			   "ranges)", who, ef, el, val_entry(id), c.ranges);
}

/* ---- Workloads ---------------------------------------------------------- */

static bool want(enum workload w)
{
	return cfg.workload[w];
}

static double per_op(uint64_t t0, uint64_t t1, unsigned long ops)
{
	return (double)(t1 - t0) / (double)(ops ? ops : 1);
}

static void build_sequential(const struct bench_ops *ops, void *s,
			     const struct run_data *d, uint64_t *t0,
			     uint64_t *t1)
{
	unsigned long n = cfg.n, stride = d->stride;

	*t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		int ret = ops->insert_range(s, i * stride,
					    i * stride + RANGE_LEN - 1,
					    val_entry(i));
		if (ret)
			bench_fail("%s: sequential insert of [%lu, %lu] "
				   "returned %d", ops->name, i * stride,
				   i * stride + RANGE_LEN - 1, ret);
	}
	*t1 = now_ns();
}

static void do_loads(const struct bench_ops *ops, void *s,
		     const unsigned long *index, const uint32_t *id,
		     int layout, int sidx, enum workload w)
{
	unsigned long n = cfg.n, bad = 0;
	uint64_t t0, t1;

	t0 = now_ns();
	if (id) {
		for (unsigned long k = 0; k < n; k++)
			bad += ops->load(s, index[k]) != val_entry(id[k]);
	} else {
		for (unsigned long k = 0; k < n; k++)
			bad += ops->load(s, index[k]) != NULL;
	}
	t1 = now_ns();
	if (bad) {
		for (unsigned long k = 0; k < n; k++) {
			void *want_entry = id ? val_entry(id[k]) : NULL;
			void *got = ops->load(s, index[k]);

			if (got != want_entry)
				bench_fail("%s %s %s: load(%lu) returned %p, "
					   "expected %p (%lu wrong)",
					   ops->name, workload_name[w],
					   layout_name[layout], index[k], got,
					   want_entry, bad);
		}
		bench_fail("%s %s: %lu wrong loads that were right when "
			   "repeated", ops->name, workload_name[w], bad);
	}
	record(w, NULL, layout, sidx, 0, M_NS, per_op(t0, t1, n));
}

static void do_iterate(const struct bench_ops *ops, void *s,
		       const struct run_data *d, int layout, int sidx,
		       enum workload w,
		       void (*iterate)(void *s, struct iter_sum *sum))
{
	unsigned long n = cfg.n, tri = n * (n - 1) / 2;
	unsigned long lasts = d->stride * tri + (RANGE_LEN - 1) * n;
	struct iter_sum sum;
	uint64_t t0, t1;

	t0 = now_ns();
	iterate(s, &sum);
	t1 = now_ns();
	if (sum.count != n || sum.sum_value != tri || sum.sum_last != lasts)
		bench_fail("%s %s %s: count %lu sum %lu lasts %lu, expected "
			   "%lu, %lu, %lu", ops->name, workload_name[w],
			   layout_name[layout], sum.count, sum.sum_value,
			   sum.sum_last, n, tri, lasts);
	record(w, NULL, layout, sidx, 0, M_NS, per_op(t0, t1, n));
}

static void record_memory(const struct bench_ops *ops, void *s, int layout,
			  int sidx, const char *variant)
{
	struct mem_report m;

	if (ops->settle)
		ops->settle(s);
	ops->memory(s, cfg.n, &m);
	record(W_MEMORY, variant, layout, sidx, 0, M_BYTES,
	       m.bytes_per_entry);
	if (m.held_per_entry >= 0)
		record(W_MEMORY, variant, layout, sidx, 0, M_HELD,
		       m.held_per_entry);
	if (m.shrunk_per_entry >= 0)
		record(W_MEMORY, variant, layout, sidx, 0, M_SHRUNK,
		       m.shrunk_per_entry);
}

/* Phase A: sequential build, memory, loads, iteration. */
static void phase_sequential(const struct bench_ops *ops, int sidx,
			     int layout, const struct run_data *d)
{
	unsigned long n = cfg.n;
	uint64_t t0, t1;
	void *s;

	if (!want(W_SEQ_INSERT) && !want(W_LOAD_HIT) && !want(W_LOAD_MISS) &&
	    !want(W_ITERATE) && !want(W_ITERATE_CURSOR) && !want(W_MEMORY))
		return;
	s = ops->create();
	build_sequential(ops, s, d, &t0, &t1);
	if (ops->writable && want(W_SEQ_INSERT))
		record(W_SEQ_INSERT, NULL, layout, sidx, 0, M_NS,
		       per_op(t0, t1, n));
	check_build(ops, s, d, "seq_insert");
	if (want(W_MEMORY))
		record_memory(ops, s, layout, sidx, "seq");
	if (want(W_LOAD_HIT))
		do_loads(ops, s, d->hit_index, d->hit_id, layout, sidx,
			 W_LOAD_HIT);
	if (want(W_LOAD_MISS))
		do_loads(ops, s, d->miss_index, NULL, layout, sidx,
			 W_LOAD_MISS);
	if (want(W_ITERATE) && ops->iterate)
		do_iterate(ops, s, d, layout, sidx, W_ITERATE, ops->iterate);
	if (want(W_ITERATE_CURSOR) && ops->iterate_cursor)
		do_iterate(ops, s, d, layout, sidx, W_ITERATE_CURSOR,
			   ops->iterate_cursor);
	ops->destroy(s);
}

/* Phase B: random-order build, memory, random erase until empty. */
static void phase_random(const struct bench_ops *ops, int sidx, int layout,
			 const struct run_data *d)
{
	unsigned long n = cfg.n, stride = d->stride;
	uint64_t t0, t1;
	void *s;

	if (!ops->writable ||
	    (!want(W_RAND_INSERT) && !want(W_RAND_ERASE) && !want(W_MEMORY)))
		return;
	s = ops->create();
	t0 = now_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned long i = d->insert_order[k];
		int ret = ops->insert_range(s, i * stride,
					    i * stride + RANGE_LEN - 1,
					    val_entry(i));
		if (ret)
			bench_fail("%s: random insert #%lu of [%lu, %lu] "
				   "returned %d", ops->name, k, i * stride,
				   i * stride + RANGE_LEN - 1, ret);
	}
	t1 = now_ns();
	if (want(W_RAND_INSERT))
		record(W_RAND_INSERT, NULL, layout, sidx, 0, M_NS,
		       per_op(t0, t1, n));
	check_build(ops, s, d, "rand_insert");
	if (want(W_MEMORY))
		record_memory(ops, s, layout, sidx, "rand");
	if (want(W_RAND_ERASE)) {
		unsigned long bad = 0;

		t0 = now_ns();
		for (unsigned long k = 0; k < n; k++)
			bad += ops->erase(s, d->erase_index[k]) !=
			       val_entry(d->erase_id[k]);
		t1 = now_ns();
		if (bad)
			bench_fail("%s rand_erase %s: %lu erases returned the "
				   "wrong entry", ops->name,
				   layout_name[layout], bad);
		if (!ops->empty(s))
			bench_fail("%s rand_erase %s: not empty after erasing "
				   "every range", ops->name,
				   layout_name[layout]);
		if (ops->validate && ops->validate(s))
			bench_fail("%s rand_erase %s: validate failed on the "
				   "emptied structure", ops->name,
				   layout_name[layout]);
		record(W_RAND_ERASE, NULL, layout, sidx, 0, M_NS,
		       per_op(t0, t1, n));
	}
	ops->destroy(s);
}

/* Phase C: overwriting stores of short random spans. */
static void phase_store(const struct bench_ops *ops, int sidx, int layout,
			struct run_data *d)
{
	unsigned long n = cfg.n;
	uint64_t t0, t1;
	void *s;

	if (!ops->writable || !want(W_RAND_STORE))
		return;
	run_data_model(d);
	s = ops->create();
	build_sequential(ops, s, d, &t0, &t1);
	t0 = now_ns();
	for (unsigned long k = 0; k < cfg.stores; k++) {
		unsigned long a = d->store_first[k];
		int ret = ops->store_range(s, a, a + d->store_len[k],
					   val_entry(n + k));
		if (ret)
			bench_fail("%s: store #%lu of [%lu, %lu] returned %d",
				   ops->name, k, a, a + d->store_len[k], ret);
	}
	t1 = now_ns();
	check_stores(ops, s, d);
	record(W_RAND_STORE, NULL, layout, sidx, 0, M_NS,
	       per_op(t0, t1, cfg.stores));
	ops->destroy(s);
}

static void run_layout(int layout)
{
	bool any = false;

	for (int w = 0; w < W_READERS; w++)
		any |= want(w);
	if (!any)
		return;
	for (unsigned int run = 0; run < cfg.runs; run++) {
		struct run_data d;
		uint64_t seed = cfg.seed + 0x100000001ULL * run +
				(uint64_t)layout * 0x9e37ULL;

		run_data_init(&d, layout, seed);
		for (size_t s = 0; s < NR_STRUCTURES; s++) {
			const struct bench_ops *ops = structures[s];

			if (!cfg.structure[s])
				continue;
			fprintf(stderr, "# %s run %u/%u: %s\n",
				layout_name[layout], run + 1, cfg.runs,
				ops->name);
			phase_sequential(ops, (int)s, layout, &d);
			phase_random(ops, (int)s, layout, &d);
			phase_store(ops, (int)s, layout, &d);
		}
		run_data_free(&d);
	}
	print_ns_results(layout);
}

static void run_readers(int layout)
{
	for (size_t s = 0; s < NR_STRUCTURES; s++) {
		const struct bench_ops *ops = structures[s];

		/* maple in RCU mode (lock-free readers) and rbtree+rwlock. */
		if (!cfg.structure[s] ||
		    (ops != &maple_rcu_ops && ops != &rbtree_ops))
			continue;
		for (size_t rc = 0; rc < NR_READER_COUNTS; rc++) {
			unsigned int nr = reader_counts[rc];

			for (unsigned int run = 0; run < cfg.runs; run++) {
				struct conc_result alone, busy;

				fprintf(stderr, "# readers %s run %u/%u: %s, "
					"%u readers\n", layout_name[layout],
					run + 1, cfg.runs, ops->name, nr);
				conc_run(ops, cfg.n, layout_stride[layout], nr,
					 cfg.duration_ms,
					 cfg.seed + 31 * run + nr, &alone,
					 &busy);
				record(W_READERS, "alone", layout, (int)s, nr,
				       M_MOPS, alone.reader_mops);
				record(W_READERS, "writer", layout, (int)s, nr,
				       M_MOPS, busy.reader_mops);
				record(W_READERS, "writer", layout, (int)s, nr,
				       M_WRITER_MOPS, busy.writer_mops);
			}
			for (int b = 0; b < 2; b++) {
				const char *v = b ? "writer" : "alone";
				struct stats st = result_stats(result_find(
					W_READERS, v, layout, (int)s, nr,
					M_MOPS));

				printf("result workload=readers layout=%s "
				       "structure=%s n=%lu readers=%u "
				       "writer=%s mops=%.3f min=%.3f max=%.3f",
				       layout_name[layout], ops->name, cfg.n,
				       nr, b ? "yes" : "no", st.median,
				       st.min, st.max);
				if (b) {
					struct stats w = result_stats(
						result_find(W_READERS, v,
							    layout, (int)s, nr,
							    M_WRITER_MOPS));

					printf(" writer_mops=%.3f", w.median);
				}
				printf("\n");
			}
			fflush(stdout);
		}
	}
}

/* ---- Summary ------------------------------------------------------------ */

static double median_of(enum workload w, const char *variant, int layout,
			int structure, unsigned int readers, enum metric m)
{
	struct stats st = result_stats(result_find(w, variant, layout,
						   structure, readers, m));

	return st.valid ? st.median : -1;
}

static void print_cell(double v, int width, int prec)
{
	if (v < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*.*f", width, prec, v);
}

/* Make size k current: the workloads and the result lookups use cfg.n. */
static void set_size(unsigned int k)
{
	cfg.n = cfg.sizes[k];
	if (!cfg.stores_set)
		cfg.stores = cfg.n;
}

/* One row of the ns/op table for workload w at the current size. */
static void print_ns_row(int layout, int w)
{
	double base = median_of(w, NULL, layout, S_MAPLE_RCU, 0, M_NS);
	bool any = false;

	for (size_t s = 0; s < NR_STRUCTURES; s++)
		any |= median_of(w, NULL, layout, (int)s, 0, M_NS) >= 0;
	if (!any)
		return;
	printf("%-14s %-9s %9lu", workload_name[w], layout_name[layout],
	       cfg.n);
	for (size_t s = 0; s < NR_STRUCTURES; s++)
		print_cell(median_of(w, NULL, layout, (int)s, 0, M_NS), 11, 2);
	printf(" |");
	for (size_t s = 0; s < NR_STRUCTURES; s++) {
		double v;

		if (s == S_MAPLE_RCU)
			continue;
		v = median_of(w, NULL, layout, (int)s, 0, M_NS);
		if (v >= 0 && base > 0)
			printf(" %10.2fx", v / base);
		else
			printf(" %11s", "-");
	}
	printf("\n");
}

/* One row of the memory table (v: "seq" or "rand") at the current size. */
static void print_memory_row(int layout, const char *v)
{
	if (median_of(W_MEMORY, v, layout, S_MAPLE_RCU, 0, M_BYTES) < 0 &&
	    median_of(W_MEMORY, v, layout, 2, 0, M_BYTES) < 0)
		return;
	printf("%-14s %-9s %9lu", !strcmp(v, "rand") ? "rand_insert" :
	       "seq_insert", layout_name[layout], cfg.n);
	for (size_t s = 0; s < NR_STRUCTURES; s++)
		print_cell(median_of(W_MEMORY, v, layout, (int)s, 0, M_BYTES),
			   11, 2);
	for (int ms = 0; ms < 2; ms++) {
		print_cell(median_of(W_MEMORY, v, layout, ms, 0, M_HELD), 11,
			   2);
		print_cell(median_of(W_MEMORY, v, layout, ms, 0, M_SHRUNK), 11,
			   2);
	}
	printf("\n");
}

static void print_summary(void)
{
	printf("\nsummary: median ns/op over %u run(s), n=", cfg.runs);
	for (unsigned int k = 0; k < cfg.nr_sizes; k++)
		printf("%s%lu", k ? "," : "", cfg.sizes[k]);
	printf(", seed=%" PRIu64 "\n", cfg.seed);
	printf("ratio columns: other structure's ns / maple-rcu ns "
	       "(>1 means maple-rcu is faster)\n");
	printf("%-14s %-9s %9s", "workload", "layout", "n");
	for (size_t s = 0; s < NR_STRUCTURES; s++)
		printf(" %11s", structures[s]->name);
	printf(" |");
	for (size_t s = 0; s < NR_STRUCTURES; s++)
		if (s != S_MAPLE_RCU)
			printf(" %11s", structures[s]->name);
	printf("\n");
	/* The sizes of one workload next to each other: that is the scaling. */
	for (int layout = 0; layout < NR_LAYOUTS; layout++)
		for (int w = 0; w < W_MEMORY; w++)
			for (unsigned int k = 0; k < cfg.nr_sizes; k++) {
				set_size(k);
				print_ns_row(layout, w);
			}

	if (want(W_MEMORY)) {
		printf("\nmemory: bytes per entry (maple: live nodes * 256 / "
		       "entries; held = bytes the node cache holds from the "
		       "system / entries;\nshrunk = held after "
		       "mt_cache_shrink())\n");
		printf("%-14s %-9s %9s", "build", "layout", "n");
		for (size_t s = 0; s < NR_STRUCTURES; s++)
			printf(" %11s", structures[s]->name);
		printf(" %11s %11s %11s %11s\n", "rcu-held", "rcu-shrunk",
		       "maple-held", "maple-shrunk");
		for (int layout = 0; layout < NR_LAYOUTS; layout++)
			for (int b = 0; b < 2; b++)
				for (unsigned int k = 0; k < cfg.nr_sizes;
				     k++) {
					set_size(k);
					print_memory_row(layout,
							 b ? "rand" : "seq");
				}
	}
	/* readers, alloc, gap, compact, gpuvm and bind: the largest size. */
	set_size(cfg.nr_sizes - 1);

	if (want(W_READERS)) {
		bool header = false;

		for (int layout = 0; layout < NR_LAYOUTS; layout++) {
			for (size_t rc = 0; rc < NR_READER_COUNTS; rc++) {
				unsigned int nr = reader_counts[rc];
				double ma = median_of(W_READERS, "alone",
						      layout, 0, nr, M_MOPS);
				double mw = median_of(W_READERS, "writer",
						      layout, 0, nr, M_MOPS);
				double mwr = median_of(W_READERS, "writer",
						       layout, 0, nr,
						       M_WRITER_MOPS);
				double ra = median_of(W_READERS, "alone",
						      layout, 2, nr, M_MOPS);
				double rw = median_of(W_READERS, "writer",
						      layout, 2, nr, M_MOPS);
				double rwr = median_of(W_READERS, "writer",
						       layout, 2, nr,
						       M_WRITER_MOPS);

				if (ma < 0 && ra < 0)
					continue;
				if (!header) {
					printf("\nreaders: total reader Mops/s"
					       " (n=%lu, %u ms each); kept = "
					       "with writer / alone\n", cfg.n,
					       cfg.duration_ms);
					printf("%-9s %7s | %10s %10s %6s %9s "
					       "| %10s %10s %6s %9s | %9s\n",
					       "layout", "readers",
					       "maple-rcu", "+writer", "kept",
					       "writer", "rbtree+rw",
					       "+writer", "kept", "writer",
					       "rcu/rb");
					header = true;
				}
				printf("%-9s %7u |", layout_name[layout], nr);
				print_cell(ma, 10, 3);
				print_cell(mw, 10, 3);
				print_cell(ma > 0 && mw >= 0 ? mw / ma : -1,
					   6, 2);
				print_cell(mwr, 9, 3);
				printf(" |");
				print_cell(ra, 10, 3);
				print_cell(rw, 10, 3);
				print_cell(ra > 0 && rw >= 0 ? rw / ra : -1,
					   6, 2);
				print_cell(rwr, 9, 3);
				printf(" |");
				print_cell(rw > 0 && mw >= 0 ? mw / rw : -1,
					   9, 2);
				printf("\n");
			}
		}
		if (header)
			printf("(writer = writer Mops/s; rcu/rb = maple-rcu "
			       "readers with writer / rbtree readers with "
			       "writer)\n");
	}
	fflush(stdout);
}

/* ---- Options ------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
"usage: mapletree-bench [options]\n"
"  --n N             ranges per structure (default 1000000)\n"
"  --sizes LIST      comma-separated n values, run one after the other in\n"
"                    this process (replaces --n); readers, alloc, gap,\n"
"                    compact, gpuvm and bind use the largest\n"
"  --runs N          runs per figure; the median is reported (default 3)\n"
"  --quick           n=100000, runs=1, 200 ms reader phases (CI smoke test)\n"
"  --only LIST       comma-separated workloads: seq_insert, rand_insert,\n"
"                    load_hit, load_miss, iterate, iterate_cursor,\n"
"                    rand_erase, rand_store,\n"
"                    memory, readers, alloc, gap, compact, gpuvm, bind\n"
"                    (default: all)\n"
"  --layout L        gapped, adjacent or both (default both)\n"
"  --structures LIST comma-separated: maple-rcu, maple, rbtree, judyl,\n"
"                    sortedarray (default: all)\n"
"  --stores N        overwriting stores in rand_store (default n)\n"
"  --duration-ms MS  length of each reader phase (default 1000)\n"
"  --seed S          random seed (default 42; printed)\n"
"  --plot DIR        after the run, write gnuplot data and scripts to DIR\n"
"                    and render SVG (and PNG) charts with gnuplot\n");
}

static unsigned long parse_ulong(const char *opt, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: not a number: '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static void parse_list(const char *opt, const char *list, bool *flags,
		       const char *const *names, size_t count,
		       const char *extra_name, bool *extra)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (!copy)
		bench_fail("out of memory");
	for (size_t k = 0; k < count; k++)
		flags[k] = false;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t k;

		for (k = 0; k < count; k++)
			if (!strcmp(tok, names[k]))
				break;
		if (k < count) {
			flags[k] = true;
		} else if (extra_name && !strcmp(tok, extra_name)) {
			*extra = true;
		} else {
			fprintf(stderr, "%s: unknown name '%s'\n", opt, tok);
			exit(2);
		}
	}
	free(copy);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/* --sizes: sorted and without repeats, so the charts' x axis is monotonic. */
static void parse_sizes(const char *opt, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;
	unsigned int k = 0;

	if (!copy)
		bench_fail("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (k == MAX_SIZES) {
			fprintf(stderr, "%s: at most %d sizes\n", opt,
				MAX_SIZES);
			exit(2);
		}
		cfg.sizes[k++] = parse_ulong(opt, tok);
	}
	free(copy);
	if (!k) {
		fprintf(stderr, "%s: empty list\n", opt);
		exit(2);
	}
	qsort(cfg.sizes, k, sizeof(cfg.sizes[0]), cmp_ulong);
	cfg.nr_sizes = 1;
	for (unsigned int j = 1; j < k; j++)
		if (cfg.sizes[j] != cfg.sizes[cfg.nr_sizes - 1])
			cfg.sizes[cfg.nr_sizes++] = cfg.sizes[j];
}

static void parse_args(int argc, char **argv)
{
	bool n_set = false, runs_set = false, dur_set = false, quick = false;
	const char *snames[NR_STRUCTURES];

	cfg.n = 1000000;
	cfg.runs = 3;
	cfg.duration_ms = 1000;
	cfg.seed = 42;
	cfg.stores = 0;
	cfg.nr_sizes = 0;
	cfg.plot_dir = NULL;
	for (int w = 0; w < NR_WORKLOADS; w++)
		cfg.workload[w] = true;
	for (int l = 0; l < NR_LAYOUTS; l++)
		cfg.layout[l] = true;
	for (size_t s = 0; s < NR_STRUCTURES; s++) {
		cfg.structure[s] = true;
		snames[s] = structures[s]->name;
	}

	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		const char *v = k + 1 < argc ? argv[k + 1] : NULL;
		bool takes = true;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--quick")) {
			quick = true;
			takes = false;
		} else if (!v) {
			fprintf(stderr, "unknown option or missing value: "
				"%s\n", a);
			usage(stderr);
			exit(2);
		} else if (!strcmp(a, "--n")) {
			cfg.n = parse_ulong(a, v);
			n_set = true;
		} else if (!strcmp(a, "--sizes")) {
			parse_sizes(a, v);
		} else if (!strcmp(a, "--plot")) {
			cfg.plot_dir = v;
		} else if (!strcmp(a, "--runs")) {
			cfg.runs = (unsigned int)parse_ulong(a, v);
			runs_set = true;
		} else if (!strcmp(a, "--seed")) {
			cfg.seed = strtoull(v, NULL, 0);
		} else if (!strcmp(a, "--stores")) {
			cfg.stores = parse_ulong(a, v);
			cfg.stores_set = cfg.stores != 0;
		} else if (!strcmp(a, "--duration-ms")) {
			cfg.duration_ms = (unsigned int)parse_ulong(a, v);
			dur_set = true;
		} else if (!strcmp(a, "--only")) {
			parse_list(a, v, cfg.workload, workload_name,
				   NR_WORKLOADS, NULL, NULL);
		} else if (!strcmp(a, "--structures")) {
			parse_list(a, v, cfg.structure, snames, NR_STRUCTURES,
				   NULL, NULL);
		} else if (!strcmp(a, "--layout")) {
			bool both = false;

			parse_list(a, v, cfg.layout, layout_name, NR_LAYOUTS,
				   "both", &both);
			if (both)
				cfg.layout[L_GAPPED] = cfg.layout[L_ADJACENT] =
					true;
		} else {
			fprintf(stderr, "unknown option: %s\n", a);
			usage(stderr);
			exit(2);
		}
		if (takes)
			k++;
	}
	if (quick) {
		if (!n_set)
			cfg.n = 100000;
		if (!runs_set)
			cfg.runs = 1;
		if (!dur_set)
			cfg.duration_ms = 200;
	}
	if (!cfg.nr_sizes) {
		cfg.sizes[0] = cfg.n;
		cfg.nr_sizes = 1;
	}
	for (unsigned int k = 0; k < cfg.nr_sizes; k++) {
		if (cfg.sizes[k] < 2 || cfg.sizes[k] > 100000000UL) {
			fprintf(stderr, "--n and --sizes must be in "
				"2..100000000\n");
			exit(2);
		}
	}
	/* Until the size loop starts, cfg.n is the largest size. */
	cfg.n = cfg.sizes[cfg.nr_sizes - 1];
	if (cfg.runs < 1 || cfg.runs > 99) {
		fprintf(stderr, "--runs must be in 1..99\n");
		exit(2);
	}
	if (!cfg.stores)
		cfg.stores = cfg.n;
	if (cfg.stores > 100000000UL) {
		fprintf(stderr, "--stores must be at most 100000000\n");
		exit(2);
	}
	if (!cfg.duration_ms)
		cfg.duration_ms = 1;
}

/*
 * The medians for --plot: every ns/op figure and the readers' Mops/s, in
 * workload, size and structure order (plot.c keeps the order it meets).
 */
static struct plot_figure *collect_figures(size_t *count)
{
	struct plot_figure *f = bench_xmalloc(nr_results * sizeof(*f));
	size_t nf = 0;

	for (int w = 0; w < NR_WORKLOADS; w++) {
		for (size_t k = 0; k < nr_results; k++) {
			const struct result *r = &results[k];
			struct stats st = result_stats(r);

			if ((int)r->workload != w || !st.valid ||
			    (r->metric != M_NS && r->metric != M_MOPS))
				continue;
			f[nf++] = (struct plot_figure){
				.workload = workload_name[w],
				.variant = r->variant,
				.layout = layout_name[r->layout],
				.structure = structures[r->structure]->name,
				.n = r->n,
				.readers = r->readers,
				.median = st.median,
				.min = st.min,
				.max = st.max,
			};
		}
	}
	*count = nf;
	return f;
}

int main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	int status = 0;

	parse_args(argc, argv);
	urcu_memb_register_thread();

	printf("mapletree-bench n=");
	for (unsigned int k = 0; k < cfg.nr_sizes; k++)
		printf("%s%lu", k ? "," : "", cfg.sizes[k]);
	/* Without --stores each size does n stores. */
	if (cfg.stores_set || cfg.nr_sizes == 1)
		printf(" runs=%u stores=%lu", cfg.runs, cfg.stores);
	else
		printf(" runs=%u stores=n", cfg.runs);
	printf(" seed=%" PRIu64 " reader_ms=%u\n", cfg.seed, cfg.duration_ms);
	fflush(stdout);

	for (unsigned int k = 0; k < cfg.nr_sizes; k++) {
		set_size(k);
		for (int layout = 0; layout < NR_LAYOUTS; layout++)
			if (cfg.layout[layout])
				run_layout(layout);
	}
	set_size(cfg.nr_sizes - 1);
	if (want(W_READERS)) {
		/* One layout is enough for the concurrency run. */
		int layout = cfg.layout[L_GAPPED] ? L_GAPPED : L_ADJACENT;

		run_readers(layout);
	}
	print_summary();
	if (want(W_ALLOC))
		run_alloc(cfg.n, cfg.seed);
	if (want(W_GAP))
		run_gap(cfg.n, cfg.runs, cfg.seed);
	if (want(W_COMPACT))
		run_compact(cfg.n, cfg.runs, cfg.duration_ms, cfg.seed);
	if (want(W_GPUVM))
		run_gpuvm(cfg.n, cfg.runs, cfg.seed);
	if (want(W_BIND))
		run_bind(cfg.n, cfg.runs, cfg.seed);
	printf("total time %.1f s\n", (double)(now_ns() - t0) / 1e9);
	if (cfg.plot_dir) {
		size_t nf;
		struct plot_figure *f = collect_figures(&nf);

		fflush(stdout);
		status = plot_write(cfg.plot_dir, f, nf) ? 1 : 0;
		free(f);
	}

	urcu_memb_unregister_thread();
	for (size_t k = 0; k < nr_results; k++)
		free(results[k].v);
	free(results);
	return status;
}
