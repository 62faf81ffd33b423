/* SPDX-License-Identifier: MIT */
/*
 * The gap workloads (maple only): allocation trees (MT_FLAGS_ALLOC_RANGE,
 * in RCU mode like maple-rcu) handing out spans with mtree_alloc_range()
 * and mtree_alloc_range_aligned(), and mtree_dup() against rebuilding a
 * tree entry by entry.
 *
 *   alloc_random   fill n spans of 1..64, erase every third, allocate as
 *                  many again (first fit into the holes)
 *   alloc_scaling  ns per allocation at 10k and at n live spans (and, for
 *                  reference, ns per load in the same trees)
 *   alloc_aligned  4 KiB..64 KiB spans aligned to 4 KiB, 64 KiB, 2 MiB, and
 *                  within 4 GiB blocks, among 100k live spans with holes
 *   dup            mtree_dup() of n gapped ranges vs storing them one by one
 *
 * Every figure is the median of the runs; ratios are taken within a run.
 * Every allocation is checked (placement, and a walk of the whole tree).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <mapletree/maple_tree.h>

#include "bench.h"

#define GAP_FLAGS	(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU)
#define WINDOW_MAX	((1UL << 40) - 1)
#define DEAD		ULONG_MAX	/* start[] of an id not stored */
#define KIB		1024UL
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)

#define SCALE_SMALL	10000UL		/* live spans, small tree */
#define SCALE_PAIRS	10000UL		/* timed erase+alloc pairs */
#define ALIGNED_LIVE	100000UL
#define ALIGNED_BATCH	1000UL		/* allocated, then erased */
#define ALIGNED_ROUNDS	5UL		/* batches at most, and ... */
#define ALIGNED_BUDGET_NS 1000000000ULL	/* no new batch past 1 s */

/* ---- Figures ------------------------------------------------------------ */

enum figure_id {
	F_FILL, F_ERASE, F_REALLOC,
	F_SCALE_SMALL, F_SCALE_LARGE, F_SCALE_RATIO,
	F_SCALE_LOAD_SMALL, F_SCALE_LOAD_LARGE, F_SCALE_LOAD_RATIO,
	F_ALIGN_4K, F_ALIGN_64K, F_ALIGN_2M, F_BOUND_4G,
	F_DUP, F_REINSERT, F_DUP_RATIO,
	F_DUP_ALLOC, F_REINSERT_ALLOC, F_DUP_ALLOC_RATIO,
	NR_FIGURES
};

struct figure {
	const char *workload;	/* the result line's key */
	const char *label;	/* the table's */
	bool ratio;		/* a ratio, not ns per operation */
	unsigned long n;	/* the size it was measured at */
	double *v;		/* one value per run */
	unsigned int nv;
};

#define FIG(workload, label, ratio) { workload, label, ratio, 0, NULL, 0 }

static struct figure fig[NR_FIGURES] = {
	[F_FILL] = FIG("alloc_random_fill", "fill, ns/alloc", false),
	[F_ERASE] = FIG("alloc_random_erase",
		"erase every 3rd, ns/erase", false),
	[F_REALLOC] = FIG("alloc_random_realloc",
		"realloc into holes, ns/alloc", false),
	[F_SCALE_SMALL] = FIG("alloc_scaling_small",
		"ns/alloc, n live spans", false),
	[F_SCALE_LARGE] = FIG("alloc_scaling_large",
		"ns/alloc, n live spans", false),
	[F_SCALE_RATIO] = FIG("alloc_scaling_ratio",
		"large/small (target <= 2)", true),
	[F_SCALE_LOAD_SMALL] = FIG("alloc_scaling_load_small",
		"reference: ns/load", false),
	[F_SCALE_LOAD_LARGE] = FIG("alloc_scaling_load_large",
		"reference: ns/load", false),
	[F_SCALE_LOAD_RATIO] = FIG("alloc_scaling_load_ratio",
		"reference: load large/small", true),
	[F_ALIGN_4K] = FIG("alloc_aligned_4k", "align 4 KiB, ns/alloc", false),
	[F_ALIGN_64K] = FIG("alloc_aligned_64k",
		"align 64 KiB, ns/alloc", false),
	[F_ALIGN_2M] = FIG("alloc_aligned_2m", "align 2 MiB, ns/alloc", false),
	[F_BOUND_4G] = FIG("alloc_aligned_bound_4g",
		"4 KiB, 4 GiB boundary", false),
	[F_DUP] = FIG("dup_rcu", "mtree_dup, ns/entry", false),
	[F_REINSERT] = FIG("dup_rcu_reinsert", "re-insert, ns/entry", false),
	[F_DUP_RATIO] = FIG("dup_rcu_speedup", "speed-up (target >= 5)", true),
	[F_DUP_ALLOC] = FIG("dup_alloc", "mtree_dup, ns/entry", false),
	[F_REINSERT_ALLOC] = FIG("dup_alloc_reinsert",
		"re-insert, ns/entry", false),
	[F_DUP_ALLOC_RATIO] = FIG("dup_alloc_speedup",
		"speed-up (target >= 5)", true),
};

static void put(enum figure_id f, unsigned long n, double value)
{
	fig[f].n = n;
	fig[f].v[fig[f].nv++] = value;
}

/* ---- Trees -------------------------------------------------------------- */

/*
 * Free the tree's nodes and give the cache back to the system, so the next
 * timed phase starts from the same state whatever came before.
 */
static void tree_release(struct maple_tree *mt)
{
	mtree_destroy(mt);
	mt_rcu_barrier(mt);
	mt_cache_shrink();
}

/* Free the tree's nodes into the node cache, keeping them there. */
static void tree_drop(struct maple_tree *mt)
{
	mtree_destroy(mt);
	mt_rcu_barrier(mt);
}

/*
 * The tree must hold exactly @expect ranges, each a live id's
 * [start[id], start[id] + size[id] - 1] inside the window.
 */
static void check_spans(struct maple_tree *mt, const unsigned long *start,
			const uint32_t *size, unsigned long ids,
			unsigned long expect, const char *who)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long count = 0;
	void *entry;

	mtree_lock(mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		unsigned long id = entry_val(entry);

		if (id >= ids || start[id] == DEAD ||
		    mas.index != start[id] ||
		    mas.last != start[id] + size[id] - 1 ||
		    mas.last > WINDOW_MAX)
			bench_fail("%s: range [%lu, %lu] holds id %lu, "
				   "expected [%lu, +%u)", who, mas.index,
				   mas.last, id, id < ids ? start[id] : 0,
				   id < ids ? size[id] : 0);
		count++;
	}
	mtree_unlock(mt);
	if (count != expect)
		bench_fail("%s: %lu ranges in the tree, expected %lu", who,
			   count, expect);
	if (mt_validate(mt))
		bench_fail("%s: mt_validate failed", who);
}

/* ---- alloc_random ------------------------------------------------------- */

/*
 * The first-fit reference for the realloc phase: the holes in address
 * order under a max-tree of their lengths, so the lowest hole that fits is
 * found in O(log n), plus the free space past the last span.
 */
struct holes {
	unsigned long leaves;	/* a power of two */
	unsigned long *max;	/* max[leaves + i]: length of hole i */
	unsigned long *first;	/* per hole */
	unsigned long end;	/* the free space above every span */
};

static unsigned long holes_take(struct holes *h, unsigned long size)
{
	unsigned long i = 1, at;

	if (h->max[1] < size) {
		at = h->end;
		h->end += size;
		return at;
	}
	while (i < h->leaves)
		i = h->max[2 * i] >= size ? 2 * i : 2 * i + 1;
	at = h->first[i - h->leaves];
	h->first[i - h->leaves] += size;
	h->max[i] -= size;
	for (i /= 2; i; i /= 2)
		h->max[i] = h->max[2 * i] > h->max[2 * i + 1] ?
			    h->max[2 * i] : h->max[2 * i + 1];
	return at;
}

static void alloc_random(unsigned long n, uint64_t seed)
{
	unsigned long nfree = (n + 2) / 3;	/* ids 0, 3, 6, ... */
	unsigned long ids = n + nfree, bad = 0, nholes = 0;
	unsigned long *start = bench_xcalloc(ids, sizeof(*start));
	uint32_t *size = bench_xcalloc(ids, sizeof(*size));
	struct maple_tree mt;
	struct holes h;
	uint64_t t0, t1;
	struct rng r;
	int ret;

	rng_seed(&r, seed);
	for (unsigned long id = 0; id < ids; id++)
		size[id] = 1 + (uint32_t)rng_below(&r, 64);
	mt_init_flags(&mt, GAP_FLAGS);

	t0 = now_ns();
	for (unsigned long id = 0; id < n; id++) {
		ret = mtree_alloc_range(&mt, &start[id], val_entry(id),
					size[id], 0, WINDOW_MAX, GFP_KERNEL);
		if (ret)
			bench_fail("alloc_random: fill #%lu (size %u) returned "
				   "%d", id, size[id], ret);
	}
	t1 = now_ns();
	put(F_FILL, n, (double)(t1 - t0) / (double)n);
	/* From an empty tree, first fit packs the spans back to back. */
	for (unsigned long id = 0, at = 0; id < n; at += size[id++])
		if (start[id] != at)
			bench_fail("alloc_random: fill #%lu at %lu, expected "
				   "%lu", id, start[id], at);

	t0 = now_ns();
	for (unsigned long id = 0; id < n; id += 3)
		bad += mtree_erase(&mt, start[id]) != val_entry(id);
	t1 = now_ns();
	if (bad)
		bench_fail("alloc_random: %lu erases returned the wrong entry",
			   bad);
	put(F_ERASE, nfree, (double)(t1 - t0) / (double)nfree);

	/* The reference placement, before start[] of the freed ids is lost. */
	for (h.leaves = 1; h.leaves < nfree; h.leaves *= 2)
		;
	h.max = bench_xcalloc(2 * h.leaves, sizeof(*h.max));
	h.first = bench_xcalloc(h.leaves, sizeof(*h.first));
	h.end = start[n - 1] + size[n - 1];
	for (unsigned long id = 0; id < n; id += 3) {
		if (id == n - 1) {
			/* The last span's hole joins the space above. */
			h.end = start[id];
		} else {
			h.first[nholes] = start[id];
			h.max[h.leaves + nholes++] = size[id];
		}
		start[id] = DEAD;
	}
	for (unsigned long i = h.leaves - 1; i; i--)
		h.max[i] = h.max[2 * i] > h.max[2 * i + 1] ?
			   h.max[2 * i] : h.max[2 * i + 1];

	t0 = now_ns();
	for (unsigned long id = n; id < ids; id++) {
		ret = mtree_alloc_range(&mt, &start[id], val_entry(id),
					size[id], 0, WINDOW_MAX, GFP_KERNEL);
		if (ret)
			bench_fail("alloc_random: realloc #%lu (size %u) "
				   "returned %d", id - n, size[id], ret);
	}
	t1 = now_ns();
	put(F_REALLOC, nfree, (double)(t1 - t0) / (double)nfree);

	for (unsigned long id = n; id < ids; id++) {
		unsigned long want = holes_take(&h, size[id]);

		if (start[id] != want)
			bench_fail("alloc_random: realloc #%lu (size %u) at "
				   "%lu, the lowest fit is %lu", id - n,
				   size[id], start[id], want);
	}
	check_spans(&mt, start, size, ids, n, "alloc_random");
	tree_release(&mt);
	free(h.max);
	free(h.first);
	free(start);
	free(size);
}

/* ---- alloc_scaling ------------------------------------------------------ */

/*
 * Fill to @live spans, then keep the count there with pairs of "erase a
 * random live span, allocate a new one": an untimed batch first, so the
 * tree has holes as a long-lived allocator's has, then a timed one. Chunks
 * of pairs keep the victim picking and the bookkeeping off the clock. Each
 * timed chunk also times as many loads of random live spans: a pure
 * descent, showing what the tree's size alone (depth, cache misses) costs.
 * *alloc_ns and *load_ns: ns per operation, the median over the chunks, as
 * the batch at 10k lasts ~10 ms and one preemption would swamp a mean.
 */
static void scaling_at(unsigned long live, uint64_t seed, double *alloc_ns,
		       double *load_ns)
{
	const unsigned long chunk = live < 100 ? live : 100;
	const unsigned long chunks = SCALE_PAIRS / chunk;
	unsigned long ids = live + 2 * chunks * chunk, next = live;
	unsigned long *start = bench_xcalloc(ids, sizeof(*start));
	uint32_t *size = bench_xcalloc(ids, sizeof(*size));
	unsigned long *live_id = bench_xcalloc(live, sizeof(*live_id));
	double *a_ns = bench_xcalloc(chunks, sizeof(*a_ns));
	double *l_ns = bench_xcalloc(chunks, sizeof(*l_ns));
	unsigned long victim[100], at[100];
	uint32_t want[100];
	uint64_t t0, t1;
	struct maple_tree mt;
	struct rng r;
	int ret;

	rng_seed(&r, seed);
	mt_init_flags(&mt, GAP_FLAGS);
	for (unsigned long id = 0; id < live; id++) {
		size[id] = 1 + (uint32_t)rng_below(&r, 64);
		ret = mtree_alloc_range(&mt, &start[id], val_entry(id),
					size[id], 0, WINDOW_MAX, GFP_KERNEL);
		if (ret)
			bench_fail("alloc_scaling: fill #%lu returned %d", id,
				   ret);
		live_id[id] = id;
	}
	for (int timed = 0; timed < 2; timed++) {
		for (unsigned long c = 0; c < chunks; c++) {
			unsigned long nlive = live, bad = 0;

			for (unsigned long j = 0; j < chunk; j++) {
				unsigned long k = rng_below(&r, nlive);

				victim[j] = live_id[k];
				live_id[k] = live_id[--nlive];
				want[j] = 1 + (uint32_t)rng_below(&r, 64);
			}
			for (unsigned long j = 0; j < chunk; j++)
				bad += mtree_erase(&mt, start[victim[j]]) !=
				       val_entry(victim[j]);
			if (bad)
				bench_fail("alloc_scaling: %lu erases returned "
					   "the wrong entry", bad);
			t0 = now_ns();
			for (unsigned long j = 0; j < chunk; j++) {
				ret = mtree_alloc_range(&mt, &at[j],
						val_entry(next + j), want[j],
						0, WINDOW_MAX, GFP_KERNEL);
				if (ret)
					bench_fail("alloc_scaling: alloc "
						   "returned %d", ret);
			}
			t1 = now_ns();
			if (timed)
				a_ns[c] = (double)(t1 - t0) / (double)chunk;
			for (unsigned long j = 0; j < chunk; j++) {
				start[victim[j]] = DEAD;
				start[next] = at[j];
				size[next] = want[j];
				live_id[nlive++] = next++;
			}
			if (!timed)
				continue;
			/* victim[] now names the spans to load. */
			for (unsigned long j = 0; j < chunk; j++)
				victim[j] = live_id[rng_below(&r, live)];
			t0 = now_ns();
			for (unsigned long j = 0; j < chunk; j++)
				bad += mtree_load(&mt, start[victim[j]]) !=
				       val_entry(victim[j]);
			t1 = now_ns();
			if (bad)
				bench_fail("alloc_scaling: %lu loads returned "
					   "the wrong entry", bad);
			l_ns[c] = (double)(t1 - t0) / (double)chunk;
		}
	}
	check_spans(&mt, start, size, ids, live, "alloc_scaling");
	tree_release(&mt);
	*alloc_ns = bench_median(a_ns, chunks);
	*load_ns = bench_median(l_ns, chunks);
	free(start);
	free(size);
	free(live_id);
	free(a_ns);
	free(l_ns);
}

static void alloc_scaling(unsigned long n, uint64_t seed)
{
	unsigned long small = n < SCALE_SMALL ? n : SCALE_SMALL;
	double as, al, ls, ll;

	scaling_at(small, seed, &as, &ls);
	scaling_at(n, seed + 1, &al, &ll);
	put(F_SCALE_SMALL, small, as);
	put(F_SCALE_LARGE, n, al);
	put(F_SCALE_RATIO, n, al / as);
	put(F_SCALE_LOAD_SMALL, small, ls);
	put(F_SCALE_LOAD_LARGE, n, ll);
	put(F_SCALE_LOAD_RATIO, n, ll / ls);
}

/* ---- alloc_aligned ------------------------------------------------------ */

static const struct {
	enum figure_id fig;
	unsigned long align, boundary;
} aligned_cfg[] = {
	{ F_ALIGN_4K, 4 * KIB, 0 },
	{ F_ALIGN_64K, 64 * KIB, 0 },
	{ F_ALIGN_2M, 2 * MIB, 0 },
	{ F_BOUND_4G, 4 * KIB, 4 * GIB },
};
#define NR_ALIGNED_CFG	(sizeof(aligned_cfg) / sizeof(aligned_cfg[0]))

/*
 * Allocate twice ALIGNED_LIVE spans of 4..64 KiB (whole pages) from
 * [0, 2^40), erase a random half, so the live spans have holes of the same
 * sizes between them. Then each constraint gets rounds of a batch of
 * allocations, erased again after each round so every batch sees the same
 * free space.
 */
static void alloc_aligned(uint64_t seed)
{
	unsigned long ids = 2 * ALIGNED_LIVE + ALIGNED_BATCH;
	unsigned long *start = bench_xcalloc(ids, sizeof(*start));
	uint32_t *size = bench_xcalloc(ids, sizeof(*size));
	unsigned long *order = bench_xcalloc(2 * ALIGNED_LIVE, sizeof(*order));
	const unsigned long base = 2 * ALIGNED_LIVE;	/* batch ids */
	struct maple_tree mt;
	struct rng r;
	int ret;

	rng_seed(&r, seed);
	mt_init_flags(&mt, GAP_FLAGS);
	for (unsigned long id = 0; id < base; id++) {
		size[id] = (uint32_t)((1 + rng_below(&r, 16)) * 4 * KIB);
		ret = mtree_alloc_range(&mt, &start[id], val_entry(id),
					size[id], 0, WINDOW_MAX, GFP_KERNEL);
		if (ret)
			bench_fail("alloc_aligned: fill #%lu returned %d", id,
				   ret);
		order[id] = id;
	}
	for (unsigned long i = base; i > 1; i--) {
		unsigned long j = rng_below(&r, i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (unsigned long i = 0; i < base - ALIGNED_LIVE; i++) {
		unsigned long id = order[i];

		if (mtree_erase(&mt, start[id]) != val_entry(id))
			bench_fail("alloc_aligned: erase of id %lu returned "
				   "the wrong entry", id);
		start[id] = DEAD;
	}

	for (size_t c = 0; c < NR_ALIGNED_CFG; c++) {
		unsigned long align = aligned_cfg[c].align;
		unsigned long boundary = aligned_cfg[c].boundary;
		uint64_t ns = 0, t0, t1;
		unsigned long round;

		/* 2 MiB scans every hole (~1 ms each): cap the time spent. */
		for (round = 0; round < ALIGNED_ROUNDS &&
		     ns < ALIGNED_BUDGET_NS; round++) {
			for (unsigned long j = 0; j < ALIGNED_BATCH; j++)
				size[base + j] = (uint32_t)
					((1 + rng_below(&r, 16)) * 4 * KIB);
			t0 = now_ns();
			for (unsigned long j = 0; j < ALIGNED_BATCH; j++) {
				unsigned long id = base + j;

				ret = mtree_alloc_range_aligned(&mt,
						&start[id], val_entry(id),
						size[id], align, boundary, 0,
						WINDOW_MAX, GFP_KERNEL);
				if (ret)
					bench_fail("alloc_aligned: align %lu "
						   "boundary %lu returned %d",
						   align, boundary, ret);
			}
			t1 = now_ns();
			ns += t1 - t0;
			for (unsigned long j = 0; j < ALIGNED_BATCH; j++) {
				unsigned long id = base + j, a = start[id];
				unsigned long z = a + size[id] - 1;

				if (a % align || z > WINDOW_MAX ||
				    (boundary && a / boundary != z / boundary))
					bench_fail("alloc_aligned: [%lu, %lu] "
						   "breaks align %lu boundary "
						   "%lu", a, z, align,
						   boundary);
				if (mtree_load(&mt, a) != val_entry(id) ||
				    mtree_load(&mt, z) != val_entry(id) ||
				    (a && mtree_load(&mt, a - 1) ==
				     val_entry(id)) ||
				    mtree_load(&mt, z + 1) == val_entry(id))
					bench_fail("alloc_aligned: [%lu, %lu] "
						   "not stored as allocated",
						   a, z);
			}
			for (unsigned long j = 0; j < ALIGNED_BATCH; j++) {
				unsigned long id = base + j;

				if (mtree_erase(&mt, start[id]) !=
				    val_entry(id))
					bench_fail("alloc_aligned: erase of "
						   "an aligned span failed");
				start[id] = DEAD;
			}
		}
		put(aligned_cfg[c].fig, ALIGNED_LIVE,
		    (double)ns / (double)(round * ALIGNED_BATCH));
	}
	check_spans(&mt, start, size, ids, ALIGNED_LIVE, "alloc_aligned");
	tree_release(&mt);
	free(start);
	free(size);
	free(order);
}

/* ---- dup ---------------------------------------------------------------- */

/* The bench's gapped layout: range i is [16i, 16i+9] holding val_entry(i). */
static void check_layout(struct maple_tree *mt, unsigned long n,
			 const char *who)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long i = 0;
	void *entry;

	mtree_lock(mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (i >= n || mas.index != 16 * i ||
		    mas.last != 16 * i + 9 || entry != val_entry(i))
			bench_fail("%s: range #%lu is [%lu, %lu] -> %p", who,
				   i, mas.index, mas.last, entry);
		i++;
	}
	mtree_unlock(mt);
	if (i != n)
		bench_fail("%s: %lu ranges, expected %lu", who, i, n);
	if (mt_validate(mt))
		bench_fail("%s: mt_validate failed", who);
}

static void dup_one(unsigned long n, unsigned int flags, enum figure_id fd,
		    enum figure_id fr, enum figure_id fx)
{
	struct maple_tree old, copy;
	uint64_t t0, t1;
	double dup_ns, re_ns;
	void *entry;
	int ret;

	mt_init_flags(&old, flags);
	for (unsigned long i = 0; i < n; i++)
		if (mtree_insert_range(&old, 16 * i, 16 * i + 9, val_entry(i),
				       GFP_KERNEL))
			bench_fail("dup: building the source tree failed");

	/*
	 * An untimed copy first, dropped into the node cache: both timed
	 * copies then take nodes from the cache rather than first-touch
	 * pages from the system, which only the first run in a process pays.
	 */
	for (int timed = 0; timed < 2; timed++) {
		mt_init_flags(&copy, flags);
		mt_rcu_barrier(&old);
		t0 = now_ns();
		ret = mtree_dup(&old, &copy, GFP_KERNEL);
		t1 = now_ns();
		if (ret)
			bench_fail("dup: mtree_dup returned %d", ret);
		dup_ns = (double)(t1 - t0) / (double)n;
		check_layout(&copy, n, "dup: the copy");
		tree_drop(&copy);
	}

	/* The rebuild a caller without mtree_dup() would write. */
	mt_init_flags(&copy, flags);
	mt_rcu_barrier(&old);
	t0 = now_ns();
	{
		MA_STATE(mas, &old, 0, 0);

		mtree_lock(&old);
		mas_for_each(&mas, entry, ULONG_MAX)
			if (mtree_store_range(&copy, mas.index, mas.last,
					      entry, GFP_KERNEL))
				bench_fail("dup: re-inserting [%lu, %lu] "
					   "failed", mas.index, mas.last);
		mtree_unlock(&old);
	}
	t1 = now_ns();
	re_ns = (double)(t1 - t0) / (double)n;
	check_layout(&copy, n, "dup: the re-inserted copy");
	tree_drop(&copy);

	check_layout(&old, n, "dup: the source after copying");
	tree_release(&old);
	put(fd, n, dup_ns);
	put(fr, n, re_ns);
	put(fx, n, re_ns / dup_ns);
}

/* ---- Driver ------------------------------------------------------------- */

static void print_results(unsigned int runs, uint64_t seed)
{
	static const char *const section[NR_FIGURES] = {
		[F_FILL] = "alloc_random", [F_SCALE_SMALL] = "alloc_scaling",
		[F_ALIGN_4K] = "alloc_aligned", [F_DUP] = "dup (rcu)",
		[F_DUP_ALLOC] = "dup (rcu+alloc)",
	};
	double med[NR_FIGURES];

	for (int f = 0; f < NR_FIGURES; f++) {
		/* Sorted from here on: v[0] is the min. */
		med[f] = bench_median(fig[f].v, fig[f].nv);
		printf("result workload=gap_%s structure=maple-rcu n=%lu "
		       "%s=%.2f min=%.2f max=%.2f\n", fig[f].workload,
		       fig[f].n, fig[f].ratio ? "ratio" : "ns_per_op", med[f],
		       fig[f].v[0], fig[f].v[fig[f].nv - 1]);
	}
	printf("\ngap: allocation trees (MT_FLAGS_ALLOC_RANGE) and mtree_dup,"
	       " RCU mode; median over %u run(s), seed=%" PRIu64 "\n", runs,
	       seed);
	printf("(ratios are taken within each run, then the median)\n");
	printf("%-16s %-30s %10s %12s %12s %12s\n", "workload", "measure",
	       "n", "median", "min", "max");
	for (int f = 0; f < NR_FIGURES; f++)
		printf("%-16s %-30s %10lu %11.2f%s %11.2f%s %11.2f%s\n",
		       section[f] ? section[f] : "", fig[f].label, fig[f].n,
		       med[f], fig[f].ratio ? "x" : " ", fig[f].v[0],
		       fig[f].ratio ? "x" : " ", fig[f].v[fig[f].nv - 1],
		       fig[f].ratio ? "x" : " ");
	fflush(stdout);
}

void run_gap(unsigned long n, unsigned int runs, uint64_t seed)
{
	for (int f = 0; f < NR_FIGURES; f++) {
		fig[f].v = bench_xcalloc(runs, sizeof(*fig[f].v));
		fig[f].nv = 0;
	}
	for (unsigned int run = 0; run < runs; run++) {
		uint64_t s = seed + 0x100000001ULL * run + 0x6a9ULL;

		fprintf(stderr, "# gap run %u/%u: alloc_random\n", run + 1,
			runs);
		alloc_random(n, s);
		fprintf(stderr, "# gap run %u/%u: alloc_scaling\n", run + 1,
			runs);
		alloc_scaling(n, s + 1);
		fprintf(stderr, "# gap run %u/%u: alloc_aligned\n", run + 1,
			runs);
		alloc_aligned(s + 3);
		fprintf(stderr, "# gap run %u/%u: dup\n", run + 1, runs);
		dup_one(n, MT_FLAGS_USE_RCU, F_DUP, F_REINSERT, F_DUP_RATIO);
		dup_one(n, GAP_FLAGS, F_DUP_ALLOC, F_REINSERT_ALLOC,
			F_DUP_ALLOC_RATIO);
		/* Per-run ratios, to tell a noisy run from a steady one. */
		fprintf(stderr, "# gap run %u/%u: scaling %.2fx (loads "
			"%.2fx), dup speed-up %.2fx (rcu) %.2fx (rcu+alloc)\n",
			run + 1, runs, fig[F_SCALE_RATIO].v[run],
			fig[F_SCALE_LOAD_RATIO].v[run], fig[F_DUP_RATIO].v[run],
			fig[F_DUP_ALLOC_RATIO].v[run]);
	}
	print_results(runs, seed);
	for (int f = 0; f < NR_FIGURES; f++)
		free(fig[f].v);
}
