/* SPDX-License-Identifier: MIT */
/*
 * mapletree-bench: shared declarations.
 *
 * Every structure under test is reached through struct bench_ops, so the
 * workload code in bench.c is the same for the maple tree and its peers.
 */
#ifndef MAPLETREE_BENCH_H
#define MAPLETREE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Totals gathered by a full iteration, checked against the expected sums. */
struct iter_sum {
	unsigned long count;
	unsigned long sum_value;	/* sum of xa_to_value(entry) */
	unsigned long sum_last;		/* sum of the ranges' last indices */
};

/* Called once per stored range, in ascending order. */
typedef void (*visit_fn)(void *arg, unsigned long first, unsigned long last,
			 void *entry);

/* What a structure reports about its memory after a build. */
struct mem_report {
	double bytes_per_entry;		/* the structure's own figure */
	double held_per_entry;		/* memory held from the system; <0: n/a */
	double shrunk_per_entry;	/* held after giving back free slabs */
};

struct bench_ops {
	const char *name;
	/* Supports random insert, erase and overwriting stores. */
	bool writable;
	/* Supports concurrent readers beside a writer without a lock. */
	bool rcu_readers;

	void *(*create)(void);
	void (*destroy)(void *s);
	/* Store only if [first, last] is empty: 0, or a negative errno. */
	int (*insert_range)(void *s, unsigned long first, unsigned long last,
			    void *entry);
	/* Overwrite [first, last], trimming and splitting neighbours. */
	int (*store_range)(void *s, unsigned long first, unsigned long last,
			   void *entry);
	/* The entry covering index, or NULL. */
	void *(*load)(void *s, unsigned long index);
	/* Remove the whole range covering index; return its entry or NULL. */
	void *(*erase)(void *s, unsigned long index);
	/* Walk every range in order, filling *sum. */
	void (*iterate)(void *s, struct iter_sum *sum);
	/* The same walk with a cursor (maple's mas_for_each); may be NULL. */
	void (*iterate_cursor)(void *s, struct iter_sum *sum);
	/* Walk every range in order with its bounds (verification only). */
	void (*visit)(void *s, visit_fn fn, void *arg);
	bool (*empty)(void *s);
	/* Structural self-check (may be NULL): 0 or a negative errno. */
	int (*validate)(void *s);
	/* Let deferred frees finish before measuring memory (may be NULL). */
	void (*settle)(void *s);
	void (*memory)(void *s, size_t entries, struct mem_report *out);
};

extern const struct bench_ops maple_rcu_ops;
extern const struct bench_ops maple_plain_ops;
extern const struct bench_ops rbtree_ops;
extern const struct bench_ops judyl_ops;
extern const struct bench_ops sortedarray_ops;

/* alloc.c: the allocation workload. */
void run_alloc(unsigned long n, uint64_t seed);
/* gap.c: allocation trees and mtree_dup (maple only). */
void run_gap(unsigned long n, unsigned int runs, uint64_t seed);
/* compact.c: mt_cache_compact() and readers beside it (maple only). */
void run_compact(unsigned long n, unsigned int runs, unsigned int duration_ms,
		 uint64_t seed);
/* gpuvm.c: the VA manager's split/merge, lookups and memory. */
void run_gpuvm(unsigned long n, unsigned int runs, uint64_t seed);
/* bind.c: the bind queues: throughput, reservations, lookups beside binds. */
void run_bind(unsigned long n, unsigned int runs, uint64_t seed);

/* ---- Charts (plot.c) ---------------------------------------------------- */

/* One figure of the run: the median of the runs and their spread. */
struct plot_figure {
	const char *workload;	/* "load_hit", ..., "readers" */
	const char *variant;	/* readers: "alone" or "writer"; else NULL */
	const char *layout;
	const char *structure;
	unsigned long n;
	unsigned int readers;	/* readers only, else 0 */
	double median, min, max; /* ns/op; readers: reader Mops/s */
};

/*
 * Write gnuplot data files and scripts for the figures into dir (created if
 * missing), then render them with gnuplot to SVG (and PNG when gnuplot has
 * pngcairo). Returns 0, or -1 after saying on stderr what failed; the data
 * files stay written when only gnuplot is missing or fails.
 */
int plot_write(const char *dir, const struct plot_figure *f, size_t count);

/* Prints "verification failed: ..." on stderr and aborts. */
/* The median of @v (sorted in place). */
double bench_median(double *v, size_t nv);

/* malloc() and calloc() that end the run with a message when out of memory. */
void *bench_xmalloc(size_t size);
void *bench_xcalloc(size_t count, size_t size);

void bench_fail(const char *fmt, ...)
	__attribute__((__format__(__printf__, 1, 2), __noreturn__));

/* ---- Randomness: xorshift64* ------------------------------------------- */

struct rng {
	uint64_t x;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
	/* Scramble the seed (splitmix64 finaliser) and keep the state non-zero. */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	r->x = z ? z : 0x2545f4914f6cdd1dULL;
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t x = r->x;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->x = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* A value in [0, bound), bound <= 2^32, without a division. */
static inline uint64_t rng_below(struct rng *r, uint64_t bound)
{
	return ((rng_next(r) >> 32) * bound) >> 32;
}

/* ---- Time --------------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- Entries ------------------------------------------------------------ */

/* The entry stored for value id v (an xa value: never NULL, never internal). */
static inline void *val_entry(unsigned long v)
{
	return (void *)((v << 1) | 1UL);
}

static inline unsigned long entry_val(const void *entry)
{
	return (unsigned long)entry >> 1;
}

/* ---- The 1-writer/N-reader run (concurrent.c) --------------------------- */

struct conc_result {
	double reader_mops;	/* all readers together */
	double writer_mops;	/* 0 when run without the writer */
};

/*
 * Build a tree of n ranges with the given stride, run @readers reader
 * threads doing random hit loads for @duration_ms alone (*alone), then the
 * same readers beside one writer doing overwriting stores (*with_writer).
 * Structures without rcu_readers are wrapped in a pthread rwlock.
 */
void conc_run(const struct bench_ops *ops, unsigned long n,
	      unsigned long stride, unsigned int readers,
	      unsigned int duration_ms, uint64_t seed,
	      struct conc_result *alone, struct conc_result *with_writer);

#endif /* MAPLETREE_BENCH_H */
