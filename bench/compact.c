/* SPDX-License-Identifier: MIT */
/*
 * The compaction workloads (maple only), on an RCU tree of the bench's
 * gapped layout (range i is [16i, 16i+9] holding val_entry(i)) from which
 * a random 90% has been erased:
 *
 *   shrink   what the node cache holds before and after mt_cache_compact(),
 *            against what the live nodes need, and what the call costs
 *   readers  R reader threads (R = 1, 2) doing random hit loads on the
 *            surviving ranges: alone, then while the main thread churns a
 *            second tree (fill a window of it, erase a random 90% of the
 *            window) and compacts after every round, then (reference) the
 *            same churn without compacting, which tells the cost of
 *            compaction itself from that of a busy writer beside the
 *            readers. Before the compacting phase the readers' leaves
 *            are spread among the second tree's nodes (spread_leaves()),
 *            so that compaction moves them under the readers.
 *
 * Every figure is the median of the runs; ratios are taken within a run.
 * Every erase and every reader's load is checked, and the tree is checked
 * whole (every surviving range, nothing else, mt_validate()) after the
 * compaction and after the reader phases.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include <mapletree/maple_tree.h>

#include "bench.h"

#define STRIDE		16UL
#define RANGE_LEN	10UL
#define KEEP_ONE_IN	10	/* 1 range in 10 survives the erase */
#define NODE_BYTES	256.0	/* the node cache's node size */
#define MIB		(1024.0 * 1024.0)
#define READER_BATCH	64
#define CLOCK_EVERY	256	/* churn operations between deadline checks */

static const unsigned int reader_counts[] = { 1, 2 };
#define NR_RC	(sizeof(reader_counts) / sizeof(reader_counts[0]))

/* ---- Figures ------------------------------------------------------------ */

enum shrink_fig {
	S_HELD_BEFORE, S_LIVE, S_HELD_AFTER, S_RATIO_BEFORE, S_RATIO_AFTER,
	S_MS, S_CPU_MS, S_MOVED, S_BARRIER_MS, NR_SHRINK
};

enum reader_fig {
	R_ALONE, R_COMPACTING, R_KEPT, R_CHURN, R_CHURN_KEPT,
	R_COMPACTIONS, R_MOVED, R_LEAVES_MOVED, R_COMPACT_SHARE,
	R_COMPACT_CPU_SHARE, NR_READER
};

struct figure {
	const char *workload;	/* the result line's key */
	const char *key;	/* its value's name */
	const char *label;	/* the table's */
	double scale;		/* table value = value / scale */
	double *v;		/* one value per run */
	unsigned int nv;
};

static struct figure sfig[NR_SHRINK] = {
	[S_HELD_BEFORE] = { "shrink_held_before", "bytes",
		"held before compaction, MiB", MIB, NULL, 0 },
	[S_LIVE] = { "shrink_live", "bytes",
		"live nodes * 256, MiB", MIB, NULL, 0 },
	[S_HELD_AFTER] = { "shrink_held_after", "bytes",
		"held after compaction, MiB", MIB, NULL, 0 },
	[S_RATIO_BEFORE] = { "shrink_ratio_before", "ratio",
		"held/live before", 1, NULL, 0 },
	[S_RATIO_AFTER] = { "shrink_ratio_after", "ratio",
		"held/live after", 1, NULL, 0 },
	[S_MS] = { "shrink_time", "ms",
		"mt_cache_compact(), ms", 1, NULL, 0 },
	[S_CPU_MS] = { "shrink_cpu_time", "ms",
		"of which on the CPU, ms", 1, NULL, 0 },
	[S_MOVED] = { "shrink_nodes_moved", "nodes",
		"nodes moved", 1, NULL, 0 },
	[S_BARRIER_MS] = { "shrink_barrier_time", "ms",
		"reference: mt_rcu_barrier, ms", 1, NULL, 0 },
};

static struct figure rfig[NR_RC][NR_READER];

static const struct figure rfig_proto[NR_READER] = {
	[R_ALONE] = { "readers_alone", "mops", "alone", 1, NULL, 0 },
	[R_COMPACTING] = { "readers_compacting", "mops", "compacting", 1,
		NULL, 0 },
	[R_KEPT] = { "readers_kept", "ratio", "kept", 1, NULL, 0 },
	[R_CHURN] = { "readers_churn_only", "mops", "churn only", 1, NULL, 0 },
	[R_CHURN_KEPT] = { "readers_churn_only_kept", "ratio", "kept", 1,
		NULL, 0 },
	[R_COMPACTIONS] = { "compactions", "count", "compactions", 1, NULL, 0 },
	[R_MOVED] = { "compacting_nodes_moved", "nodes", "nodes moved", 1,
		NULL, 0 },
	[R_LEAVES_MOVED] = { "compacting_reader_leaves_moved", "leaves",
		"their leaves moved", 1, NULL, 0 },
	[R_COMPACT_SHARE] = { "compacting_time_share", "ratio",
		"in compact", 1, NULL, 0 },
	[R_COMPACT_CPU_SHARE] = { "compacting_cpu_share", "ratio",
		"on the CPU", 1, NULL, 0 },
};

/*
 * The calling thread's CPU time: compaction sleeps while it waits for a
 * grace period, so its wall time alone would not say what it costs.
 */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- The fragmented tree ------------------------------------------------ */

struct survivors {
	struct maple_tree mt;
	uint32_t *id;		/* the surviving ranges, in random order */
	unsigned long nr;
	unsigned long n;	/* ranges built */
};

/* Build n gapped ranges in order, then erase all but a random tenth. */
static void build_fragmented(struct survivors *a, unsigned long n,
			     uint64_t seed)
{
	uint32_t *perm = bench_xcalloc(n, sizeof(*perm));
	unsigned long nerase = n - n / KEEP_ONE_IN, bad = 0;
	struct rng r;

	rng_seed(&r, seed);
	for (unsigned long i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (unsigned long i = n; i > 1; i--) {
		unsigned long j = (unsigned long)rng_below(&r, i);
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	mt_init_flags(&a->mt, MT_FLAGS_USE_RCU);
	for (unsigned long i = 0; i < n; i++)
		if (mtree_insert_range(&a->mt, STRIDE * i,
				       STRIDE * i + RANGE_LEN - 1,
				       val_entry(i), GFP_KERNEL))
			bench_fail("compact: building range %lu failed", i);
	for (unsigned long k = 0; k < nerase; k++)
		bad += mtree_erase(&a->mt, STRIDE * perm[k] + k % RANGE_LEN) !=
		       val_entry(perm[k]);
	if (bad)
		bench_fail("compact: %lu erases returned the wrong entry", bad);
	/* The tail of the permutation is what survives. */
	a->nr = n - nerase;
	a->id = bench_xcalloc(a->nr, sizeof(*a->id));
	memcpy(a->id, perm + nerase, a->nr * sizeof(*a->id));
	a->n = n;
	free(perm);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * The tree must hold exactly the survivors: every one loads at both ends,
 * and a walk meets them and nothing else, in order.
 */
static void check_survivors(struct survivors *a, const char *who)
{
	uint32_t *sorted = bench_xcalloc(a->nr, sizeof(*sorted));
	MA_STATE(mas, &a->mt, 0, 0);
	unsigned long k = 0, bad = 0;
	void *entry;

	for (unsigned long j = 0; j < a->nr; j++) {
		unsigned long first = STRIDE * a->id[j];

		bad += mtree_load(&a->mt, first) != val_entry(a->id[j]);
		bad += mtree_load(&a->mt, first + RANGE_LEN - 1) !=
		       val_entry(a->id[j]);
	}
	if (bad)
		bench_fail("%s: %lu loads of surviving ranges returned the "
			   "wrong entry", who, bad);
	memcpy(sorted, a->id, a->nr * sizeof(*sorted));
	qsort(sorted, a->nr, sizeof(*sorted), cmp_u32);
	mtree_lock(&a->mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		unsigned long id = k < a->nr ? sorted[k] : 0;

		if (k >= a->nr || mas.index != STRIDE * id ||
		    mas.last != STRIDE * id + RANGE_LEN - 1 ||
		    entry != val_entry(id))
			bench_fail("%s: range #%lu is [%lu, %lu] -> %p", who,
				   k, mas.index, mas.last, entry);
		k++;
	}
	mtree_unlock(&a->mt);
	if (k != a->nr)
		bench_fail("%s: %lu ranges, expected %lu", who, k, a->nr);
	if (mt_validate(&a->mt))
		bench_fail("%s: mt_validate failed", who);
	free(sorted);
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

/*
 * The tree's leaves, sorted. The cursor's node field is only compared, as
 * an identity: a leaf that compaction moved has a new address.
 */
static void **leaf_set(struct maple_tree *mt, unsigned long *nr)
{
	unsigned long cap = 1024, k = 0;
	void **leaf = bench_xcalloc(cap, sizeof(*leaf));
	MA_STATE(mas, mt, 0, 0);
	void *entry;

	mtree_lock(mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (k && leaf[k - 1] == (void *)mas.node)
			continue;
		if (k == cap) {
			cap *= 2;
			leaf = realloc(leaf, cap * sizeof(*leaf));
			if (!leaf)
				bench_fail("out of memory for leaves");
		}
		leaf[k++] = mas.node;
	}
	mtree_unlock(mt);
	qsort(leaf, k, sizeof(*leaf), cmp_ptr);
	*nr = k;
	return leaf;
}

/*
 * How many leaves of @after (sorted) are not in @before (sorted): a lower
 * bound on the leaves moved, as a released slab's addresses may come back.
 */
static unsigned long leaves_moved(void **before, unsigned long nb,
				  void **after, unsigned long na)
{
	unsigned long moved = 0;

	for (unsigned long k = 0; k < na; k++)
		moved += !bsearch(&after[k], before, nb, sizeof(*before),
				  cmp_ptr);
	return moved;
}

/* ---- The second tree, churned by the main thread ------------------------ */

struct churn {
	struct maple_tree mt;
	unsigned long m;	/* key space: ranges 0..m-1 */
	unsigned long win;	/* ranges per round */
	unsigned long next;	/* the next round's first range */
	bool *present;
	unsigned long nr;	/* present */
	struct rng r;
};

static void churn_init(struct churn *b, unsigned long m, uint64_t seed)
{
	mt_init_flags(&b->mt, MT_FLAGS_USE_RCU);
	b->m = m;
	/* Small rounds, so the loop compacts many times per phase. */
	b->win = m / 10 ? m / 10 : 1;
	b->next = 0;
	b->present = bench_xcalloc(m, sizeof(*b->present));
	b->nr = 0;
	rng_seed(&b->r, seed);
}

static void churn_insert(struct churn *b, unsigned long id)
{
	if (mtree_insert_range(&b->mt, STRIDE * id, STRIDE * id + RANGE_LEN - 1,
			       val_entry(id), GFP_KERNEL))
		bench_fail("compact: churn insert of range %lu failed", id);
	b->present[id] = true;
	b->nr++;
}

static void churn_erase(struct churn *b, unsigned long id)
{
	if (mtree_erase(&b->mt, STRIDE * id) != val_entry(id))
		bench_fail("compact: churn erase of range %lu returned the "
			   "wrong entry", id);
	b->present[id] = false;
	b->nr--;
}

/*
 * One round on the next window of the key space: fill it, then erase a
 * random 90% of it, which leaves the new nodes' slabs sparse again. False
 * if @deadline passed in between.
 */
static bool churn_round(struct churn *b, uint64_t deadline)
{
	unsigned long first = b->next, end = first + b->win, ops = 0;

	if (end > b->m)
		end = b->m;
	b->next = end < b->m ? end : 0;
	for (unsigned long id = first; id < end; id++) {
		if (b->present[id])
			continue;
		churn_insert(b, id);
		if (++ops % CLOCK_EVERY == 0 && now_ns() >= deadline)
			return false;
	}
	for (unsigned long id = first; id < end; id++) {
		if (!b->present[id] || !rng_below(&b->r, KEEP_ONE_IN))
			continue;
		churn_erase(b, id);
		if (++ops % CLOCK_EVERY == 0 && now_ns() >= deadline)
			return false;
	}
	return true;
}

/*
 * Before the compacting phase (untimed, no reader running): copy every
 * leaf of the readers' tree to a new node, with the same content and about
 * the same shape (the first pass merges ~2% of sparse leaves), interleaved
 * with filling the second tree, then erase a random 90% of the second
 * tree. The readers' leaves then share sparse slabs with it, as a tree's
 * nodes do in a long-lived process, so compaction moves them while the
 * readers run; a tree left packed by the last compaction sits in full
 * slabs, which compaction never empties. An exact-fit store is done in
 * place, so each range is shrunk by its last index and stored whole again:
 * both stores change the leaf's pivots, so both copy it.
 */
static void spread_leaves(struct survivors *a, struct churn *b)
{
	unsigned long id;

	/* The second tree's key space is as large as the survivors. */
	for (unsigned long k = 0; k < a->nr; k++) {
		unsigned long first = STRIDE * a->id[k];

		if (mtree_store_range(&a->mt, first + RANGE_LEN - 1,
				      first + RANGE_LEN - 1, NULL,
				      GFP_KERNEL) ||
		    mtree_store_range(&a->mt, first, first + RANGE_LEN - 1,
				      val_entry(a->id[k]), GFP_KERNEL))
			bench_fail("compact: re-storing range %" PRIu32
				   " failed", a->id[k]);
		if (!b->present[k])
			churn_insert(b, k);
	}
	for (id = 0; id < b->m; id++)
		if (b->present[id] && rng_below(&b->r, KEEP_ONE_IN))
			churn_erase(b, id);
	b->next = 0;
	mt_rcu_barrier(NULL);
	mt_cache_shrink();
}

static void churn_check(struct churn *b)
{
	MA_STATE(mas, &b->mt, 0, 0);
	unsigned long k = 0;
	void *entry;

	mtree_lock(&b->mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		unsigned long id = entry_val(entry);

		if (id >= b->m || !b->present[id] ||
		    mas.index != STRIDE * id ||
		    mas.last != STRIDE * id + RANGE_LEN - 1)
			bench_fail("compact: churned tree has [%lu, %lu] -> "
				   "%p", mas.index, mas.last, entry);
		k++;
	}
	mtree_unlock(&b->mt);
	if (k != b->nr)
		bench_fail("compact: churned tree has %lu ranges, expected "
			   "%lu", k, b->nr);
	if (mt_validate(&b->mt))
		bench_fail("compact: churned tree: mt_validate failed");
}

static void churn_destroy(struct churn *b)
{
	mtree_destroy(&b->mt);
	free(b->present);
}

/* ---- Readers ------------------------------------------------------------ */

struct rd_shared {
	struct survivors *a;
	pthread_barrier_t start;
	atomic_bool stop;
};

struct rd_thread {
	struct rd_shared *sh;
	pthread_t tid;
	uint64_t seed;
	uint64_t ops;
	/* Keep each thread's counter on its own cache line. */
	char pad[64];
};

static void *reader_main(void *arg)
{
	struct rd_thread *t = arg;
	struct survivors *a = t->sh->a;
	uint64_t done = 0;
	struct rng r;

	rng_seed(&r, t->seed);
	urcu_memb_register_thread();
	pthread_barrier_wait(&t->sh->start);
	while (!atomic_load_explicit(&t->sh->stop, memory_order_relaxed)) {
		for (int k = 0; k < READER_BATCH; k++) {
			uint32_t id = a->id[rng_below(&r, a->nr)];
			unsigned long index = STRIDE * id +
				(unsigned long)rng_below(&r, RANGE_LEN);
			void *got = mtree_load(&a->mt, index);

			if (got != val_entry(id))
				bench_fail("compact reader: index %lu (range "
					   "%" PRIu32 ") returned %p", index,
					   id, got);
		}
		done += READER_BATCH;
	}
	urcu_memb_unregister_thread();
	t->ops = done;
	return NULL;
}

enum phase_mode { P_ALONE, P_COMPACTING, P_CHURN };

struct phase_out {
	double mops;			/* all readers together */
	unsigned long compactions;
	unsigned long moved;		/* nodes, all trees */
	double compact_share;		/* of the phase, in mt_cache_compact() */
	double compact_cpu_share;	/* the same, on the CPU */
};

/*
 * @readers readers for @duration_ms while the main thread sleeps
 * (P_ALONE), churns @b and compacts after every round (P_COMPACTING), or
 * only churns @b (P_CHURN).
 */
static void phase(struct rd_shared *sh, struct churn *b, unsigned int readers,
		  enum phase_mode mode, unsigned int duration_ms,
		  uint64_t seed, struct phase_out *out)
{
	struct rd_thread *th = bench_xcalloc(readers, sizeof(*th));
	struct timespec nap = {
		.tv_sec = duration_ms / 1000,
		.tv_nsec = (long)(duration_ms % 1000) * 1000000L,
	};
	struct mt_compact_stats c0, c1;
	uint64_t t0, t1, deadline, in_compact = 0, cpu_compact = 0, rops = 0;

	memset(out, 0, sizeof(*out));
	atomic_store(&sh->stop, false);
	if (pthread_barrier_init(&sh->start, NULL, readers + 1))
		bench_fail("pthread_barrier_init failed");
	for (unsigned int k = 0; k < readers; k++) {
		th[k].sh = sh;
		th[k].seed = seed + 0x1000 * (k + 1) + mode;
		if (pthread_create(&th[k].tid, NULL, reader_main, &th[k]))
			bench_fail("pthread_create failed");
	}
	mt_compact_stats(&c0);
	pthread_barrier_wait(&sh->start);
	t0 = now_ns();
	deadline = t0 + (uint64_t)duration_ms * 1000000ULL;
	if (mode == P_ALONE) {
		while (nanosleep(&nap, &nap) && errno == EINTR)
			;
	} else {
		while (now_ns() < deadline && churn_round(b, deadline)) {
			uint64_t tc, cc;

			if (mode != P_COMPACTING)
				continue;
			tc = now_ns();
			cc = cpu_ns();
			mt_cache_compact();
			cpu_compact += cpu_ns() - cc;
			in_compact += now_ns() - tc;
			out->compactions++;
		}
	}
	atomic_store(&sh->stop, true);
	t1 = now_ns();
	for (unsigned int k = 0; k < readers; k++) {
		pthread_join(th[k].tid, NULL);
		rops += th[k].ops;
	}
	pthread_barrier_destroy(&sh->start);
	mt_compact_stats(&c1);
	out->mops = (double)rops * 1000.0 / (double)(t1 - t0);
	out->moved = c1.nodes_moved - c0.nodes_moved;
	out->compact_share = (double)in_compact / (double)(t1 - t0);
	out->compact_cpu_share = (double)cpu_compact / (double)(t1 - t0);
	free(th);
}

/* ---- Workloads ---------------------------------------------------------- */

static unsigned long reader_leaves;	/* the readers' tree, for the table */

static void put(struct figure *f, double value)
{
	f->v[f->nv++] = value;
}

static void shrink_run(struct survivors *a, unsigned long n, uint64_t seed)
{
	struct mt_cache_stats before, after;
	struct mt_compact_stats c0, c1;
	double live;
	uint64_t t0, t1, c0_ns, c1_ns, tb;

	build_fragmented(a, n, seed);
	mt_rcu_barrier(NULL);
	mt_cache_shrink();
	/*
	 * Compaction waits for a grace period and the callbacks before it
	 * (mt_rcu_barrier()); with nothing queued, this is what that costs.
	 */
	tb = now_ns();
	mt_rcu_barrier(NULL);
	tb = now_ns() - tb;
	mt_cache_stats(&before);
	mt_compact_stats(&c0);
	t0 = now_ns();
	c0_ns = cpu_ns();
	mt_cache_compact();
	c1_ns = cpu_ns();
	t1 = now_ns();
	mt_compact_stats(&c1);
	mt_cache_stats(&after);
	check_survivors(a, "compact: after mt_cache_compact()");
	/* A move replaces a node: the tree needs as many as before. */
	if (after.nodes_live != before.nodes_live)
		bench_fail("compact: %zu live nodes before compaction, %zu "
			   "after", before.nodes_live, after.nodes_live);

	live = (double)before.nodes_live * NODE_BYTES;
	put(&sfig[S_HELD_BEFORE], (double)before.bytes_held);
	put(&sfig[S_LIVE], live);
	put(&sfig[S_HELD_AFTER], (double)after.bytes_held);
	put(&sfig[S_RATIO_BEFORE], (double)before.bytes_held / live);
	put(&sfig[S_RATIO_AFTER], (double)after.bytes_held / live);
	put(&sfig[S_MS], (double)(t1 - t0) / 1e6);
	put(&sfig[S_CPU_MS], (double)(c1_ns - c0_ns) / 1e6);
	put(&sfig[S_MOVED], (double)(c1.nodes_moved - c0.nodes_moved));
	put(&sfig[S_BARRIER_MS], (double)tb / 1e6);
}

static void readers_run(struct survivors *a, unsigned int rc,
			unsigned int duration_ms, uint64_t seed)
{
	unsigned int readers = reader_counts[rc];
	struct figure *f = rfig[rc];
	struct rd_shared sh = { .a = a };
	struct phase_out alone, comp, churn;
	unsigned long nb, na;
	void **before, **after;
	struct churn b;

	/* As large as the readers' tree: churning it fragments as much. */
	churn_init(&b, a->nr, seed ^ 0x5eedULL);
	/* The shrunk tree, packed by the last compaction. */
	phase(&sh, &b, readers, P_ALONE, duration_ms, seed, &alone);
	spread_leaves(a, &b);
	before = leaf_set(&a->mt, &nb);
	/* The first compactions pack the readers' leaves again. */
	phase(&sh, &b, readers, P_COMPACTING, duration_ms, seed, &comp);
	after = leaf_set(&a->mt, &na);
	phase(&sh, &b, readers, P_CHURN, duration_ms, seed, &churn);
	check_survivors(a, "compact: after the reader phases");
	churn_check(&b);
	churn_destroy(&b);
	/* Back to a packed cache, so the next reader count starts alike. */
	mt_rcu_barrier(NULL);
	mt_cache_compact();

	reader_leaves = nb;
	put(&f[R_ALONE], alone.mops);
	put(&f[R_COMPACTING], comp.mops);
	put(&f[R_KEPT], comp.mops / alone.mops);
	put(&f[R_CHURN], churn.mops);
	put(&f[R_CHURN_KEPT], churn.mops / alone.mops);
	put(&f[R_COMPACTIONS], (double)comp.compactions);
	put(&f[R_MOVED], (double)comp.moved);
	put(&f[R_LEAVES_MOVED], (double)leaves_moved(before, nb, after, na));
	put(&f[R_COMPACT_SHARE], comp.compact_share);
	put(&f[R_COMPACT_CPU_SHARE], comp.compact_cpu_share);
	free(before);
	free(after);
}

/* ---- Driver ------------------------------------------------------------- */

static int prec_of(const struct figure *f)
{
	if (!strcmp(f->key, "ratio") || !strcmp(f->key, "mops"))
		return 3;
	return !strcmp(f->key, "ms") ? 2 : 0;
}

/* The result line; sorts f->v, so v[0] is the min from here on. */
static double print_figure(struct figure *f, unsigned long n,
			   unsigned int readers)
{
	double med = bench_median(f->v, f->nv);
	int p = prec_of(f);

	printf("result workload=compact_%s structure=maple-rcu n=%lu",
	       f->workload, n);
	if (readers)
		printf(" readers=%u", readers);
	printf(" %s=%.*f min=%.*f max=%.*f\n", f->key, p, med, p, f->v[0],
	       p, f->v[f->nv - 1]);
	return med;
}

static void print_results(unsigned long n, unsigned long survivors,
			  unsigned int runs, unsigned int duration_ms,
			  uint64_t seed)
{
	double smed[NR_SHRINK], med[NR_RC][NR_READER];

	for (int k = 0; k < NR_SHRINK; k++)
		smed[k] = print_figure(&sfig[k], n, 0);
	for (size_t rc = 0; rc < NR_RC; rc++)
		for (int k = 0; k < NR_READER; k++)
			med[rc][k] = print_figure(&rfig[rc][k], n,
						  reader_counts[rc]);

	printf("\ncompact: an RCU tree of n=%lu gapped ranges, a random 90%% "
	       "erased, mt_rcu_barrier + mt_cache_shrink,\nthen "
	       "mt_cache_compact(); median over %u run(s), seed=%" PRIu64
	       "\n", n, runs, seed);
	printf("%-30s %12s %12s %12s\n", "shrink", "median", "min", "max");
	for (int k = 0; k < NR_SHRINK; k++) {
		const struct figure *f = &sfig[k];
		int p = f->scale > 1 ? 2 : prec_of(f);

		printf("%-30s %12.*f %12.*f %12.*f\n", f->label, p,
		       smed[k] / f->scale, p, f->v[0] / f->scale, p,
		       f->v[f->nv - 1] / f->scale);
	}
	printf("\nreaders: random hit loads on the %lu surviving ranges, "
	       "Mops/s of all readers, %u ms per phase;\nthe main thread "
	       "sleeps (alone), churns a second tree of %lu ranges and "
	       "compacts after\nevery round (compacting), or only churns it "
	       "(churn only); kept = / alone (target >= 0.80\nwhile "
	       "compacting); their leaves moved: of the readers' tree's %lu "
	       "leaves\n", survivors, duration_ms, survivors, reader_leaves);
	printf("%7s %9s %11s %6s %11s %6s %12s %12s %12s %10s %10s\n",
	       "readers", "alone", "compacting", "kept", "churn only", "kept",
	       "compactions", "nodes moved", "leaves moved", "in compact",
	       "on the CPU");
	for (size_t rc = 0; rc < NR_RC; rc++)
		printf("%7u %9.3f %11.3f %6.2f %11.3f %6.2f %12.0f %12.0f "
		       "%12.0f %9.0f%% %9.0f%%\n", reader_counts[rc],
		       med[rc][R_ALONE], med[rc][R_COMPACTING],
		       med[rc][R_KEPT], med[rc][R_CHURN],
		       med[rc][R_CHURN_KEPT], med[rc][R_COMPACTIONS],
		       med[rc][R_MOVED], med[rc][R_LEAVES_MOVED],
		       100 * med[rc][R_COMPACT_SHARE],
		       100 * med[rc][R_COMPACT_CPU_SHARE]);
	printf("(per phase; in compact: share of the phase the main thread "
	       "spent in mt_cache_compact(),\non the CPU: the part of it "
	       "not asleep; kept is taken within each run, then the "
	       "median)\n");
	fflush(stdout);
}

void run_compact(unsigned long n, unsigned int runs, unsigned int duration_ms,
		 uint64_t seed)
{
	struct survivors a;

	for (int k = 0; k < NR_SHRINK; k++) {
		sfig[k].v = bench_xcalloc(runs, sizeof(double));
		sfig[k].nv = 0;
	}
	for (size_t rc = 0; rc < NR_RC; rc++) {
		for (int k = 0; k < NR_READER; k++) {
			rfig[rc][k] = rfig_proto[k];
			rfig[rc][k].v = bench_xcalloc(runs, sizeof(double));
		}
	}
	for (unsigned int run = 0; run < runs; run++) {
		uint64_t s = seed + 0x100000001ULL * run + 0xc0ULL;

		fprintf(stderr, "# compact run %u/%u: shrink\n", run + 1,
			runs);
		shrink_run(&a, n, s);
		for (size_t rc = 0; rc < NR_RC; rc++) {
			fprintf(stderr, "# compact run %u/%u: %u reader(s)\n",
				run + 1, runs, reader_counts[rc]);
			readers_run(&a, (unsigned int)rc, duration_ms,
				    s + 1 + rc);
		}
		/* Per-run figures, to tell a noisy run from a steady one. */
		fprintf(stderr, "# compact run %u/%u: held/live %.2f -> %.2f, "
			"readers kept", run + 1, runs,
			sfig[S_RATIO_BEFORE].v[run],
			sfig[S_RATIO_AFTER].v[run]);
		for (size_t rc = 0; rc < NR_RC; rc++)
			fprintf(stderr, " %.2f (R=%u)", rfig[rc][R_KEPT].v[run],
				reader_counts[rc]);
		fprintf(stderr, "\n");
		mtree_destroy(&a.mt);
		mt_rcu_barrier(NULL);
		mt_cache_shrink();
		free(a.id);
	}
	print_results(n, n / KEEP_ONE_IN, runs, duration_ms, seed);
	for (int k = 0; k < NR_SHRINK; k++)
		free(sfig[k].v);
	for (size_t rc = 0; rc < NR_RC; rc++)
		for (int k = 0; k < NR_READER; k++)
			free(rfig[rc][k].v);
}
