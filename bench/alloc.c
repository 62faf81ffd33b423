/* SPDX-License-Identifier: MIT */
/*
 * The allocation workload: what stores reserve against what they use, the
 * node cache's fast path, and what a reservation that survives change
 * costs, on a tree of cfg.n ranges [16i, 16i+9] in RCU mode.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <mapletree/maple_tree.h>

#include "bench.h"

/* One store of each kind the writer has, placed around range @k. */
static void kind_range(int kind, unsigned long k, unsigned long n,
		       unsigned long *first, unsigned long *last, void **entry)
{
	*entry = val_entry(k);
	switch (kind) {
	case 0:	/* exact fit */
		*first = 16 * k; *last = 16 * k + 9; break;
	case 1:	/* inside one entry */
		*first = 16 * k + 2; *last = 16 * k + 4; break;
	case 2:	/* into a gap */
		*first = 16 * k + 11; *last = 16 * k + 13; break;
	case 3:	/* erase */
		*first = 16 * k; *last = 16 * k + 9; *entry = NULL; break;
	case 4:	/* spanning NULL store over ~200 ranges */
		*first = 16 * k; *last = 16 * (k + 200); *entry = NULL; break;
	case 5:	/* spanning store, trimming both ends */
		*first = 16 * k + 5; *last = 16 * (k + 200) + 5; break;
	default: /* append */
		*first = 16 * (n + k); *last = 16 * (n + k) + 9; break;
	}
}

static const char *const kind_name[] = {
	"exact_fit", "inside_entry", "into_gap", "erase", "span_null",
	"span_store", "append",
};
#define NR_KINDS	(sizeof(kind_name) / sizeof(kind_name[0]))

static void reserved_vs_used(struct maple_tree *mt, unsigned long n,
			     struct rng *r, unsigned long per_store)
{
	printf("\nallocation: nodes per store at n=%lu, height %u (RCU mode); "
	       "reservation bound %lu\n", n, mt_height(mt), per_store);
	printf("%-14s %10s %10s %10s\n", "store", "prealloc", "used",
	       "max used");
	for (size_t kind = 0; kind < NR_KINDS; kind++) {
		unsigned long total_used = 0, total_res = 0, most = 0;
		const unsigned int samples = 2000;

		for (unsigned int i = 0; i < samples; i++) {
			unsigned long k = rng_below(r, n - 400), first, last;
			unsigned long reserved, used;
			void *entry;

			kind_range((int)kind, kind == 6 ? i : k, n, &first,
				   &last, &entry);
			MA_STATE(mas, mt, first, last);
			mtree_lock(mt);
			if (mas_preallocate(&mas, entry, GFP_KERNEL))
				bench_fail("mas_preallocate failed");
			reserved = mas_allocated(&mas);
			mas_store(&mas, entry);
			if (mas_is_err(&mas))
				bench_fail("preallocated store failed");
			used = reserved - mas_allocated(&mas);
			mas_destroy(&mas);
			mtree_unlock(mt);
			if (used > reserved || used > per_store)
				bench_fail("%s used %lu nodes, reserved %lu, "
					   "bound %lu", kind_name[kind], used,
					   reserved, per_store);
			total_used += used;
			total_res += reserved;
			if (used > most)
				most = used;
			/* Put the tree back the way it was around k. */
			if (kind != 6)
				for (unsigned long j = first / 16;
				     j <= last / 16 && j < n; j++)
					mtree_store_range(mt, 16 * j, 16 * j + 9,
							  val_entry(j),
							  GFP_KERNEL);
		}
		printf("%-14s %10.2f %10.2f %10lu\n", kind_name[kind],
		       (double)total_res / samples, (double)total_used / samples,
		       most);
		printf("result workload=alloc_%s structure=maple-rcu n=%lu "
		       "reserved_mean=%.3f used_mean=%.3f used_max=%lu "
		       "bound=%lu\n", kind_name[kind], n,
		       (double)total_res / samples, (double)total_used / samples,
		       most, per_store);
	}
}

/* Node allocation and free through the cache's fast path, per node. */
static void fast_path(struct maple_tree *mt)
{
	const unsigned int rounds = 200000;
	struct mt_reservation res;
	uint64_t t0, t1;
	unsigned long nodes = 0;

	/* A reservation for one store on an empty tree: 4 nodes. */
	t0 = now_ns();
	for (unsigned int i = 0; i < rounds; i++) {
		if (mt_reserve(mt, &res, 1, 0, GFP_KERNEL))
			bench_fail("mt_reserve failed");
		nodes += mt_reservation_nodes(&res);
		mt_reserve_release(&res);
	}
	t1 = now_ns();
	printf("node alloc+free fast path: %.1f ns per node\n",
	       (double)(t1 - t0) / (double)nodes);
	printf("result workload=alloc_fast_path structure=maple n=%lu "
	       "ns_per_node=%.2f\n", nodes, (double)(t1 - t0) / (double)nodes);
}

static void reservation_cost(struct maple_tree *mt, unsigned long n)
{
	struct mt_reservation res;
	struct mt_cache_stats st;
	double per_store;
	uint64_t t0, t1;

	t0 = now_ns();
	if (mt_reserve(mt, &res, 1000, n, GFP_KERNEL))
		bench_fail("mt_reserve for 1000 stores failed");
	t1 = now_ns();
	per_store = (double)mt_reservation_nodes(&res) * 256 / 1000;
	mt_cache_stats(&st);
	printf("reservation for 1000 stores at max_entries=%lu: %lu nodes, "
	       "%.0f bytes (%.2f KiB) per store, taken in %.2f ms "
	       "(kernel: 94 nodes = 24 KiB per store)\n", n,
	       mt_reservation_nodes(&res), per_store, per_store / 1024,
	       (double)(t1 - t0) / 1e6);
	printf("result workload=alloc_reservation structure=maple n=%lu "
	       "stores=1000 nodes=%lu bytes_per_store=%.0f\n", n,
	       mt_reservation_nodes(&res), per_store);
	mt_reserve_release(&res);
}

void run_alloc(unsigned long n, uint64_t seed)
{
	struct maple_tree mt;
	struct mt_reservation probe;
	struct rng r;

	rng_seed(&r, seed);
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	for (unsigned long i = 0; i < n; i++)
		if (mtree_insert_range(&mt, 16 * i, 16 * i + 9, val_entry(i),
				       GFP_KERNEL))
			bench_fail("building the allocation tree failed");
	if (mt_reserve(&mt, &probe, 1, n + 1000, GFP_KERNEL))
		bench_fail("mt_reserve failed");
	reserved_vs_used(&mt, n, &r, mt_reservation_nodes(&probe));
	mt_reserve_release(&probe);
	fast_path(&mt);
	reservation_cost(&mt, n);
	if (mt_validate(&mt))
		bench_fail("tree invalid after the allocation workload");
	mtree_destroy(&mt);
	mt_rcu_barrier(NULL);
}
